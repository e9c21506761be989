#pragma once
// A bare libpng write: what PanelImage's PNGFile.write does, without Swift around it.
#include <stddef.h>
#include <stdint.h>

/// Writes 8-bit RGB `pixels` (rows `stride` bytes apart) to `path` with zlib `level` and the
/// PNG_FILTER_* mask `filters`. Returns 0 on success, 1 on failure.
int bare_png_write_rgb(const char *path, uint32_t width, uint32_t height, const uint8_t *pixels,
                       size_t stride, int level, int filters);

/// PNG_FILTER_SUB (a compound-free macro, but kept here so Swift needs no libpng module).
int bare_png_filter_sub(void);
