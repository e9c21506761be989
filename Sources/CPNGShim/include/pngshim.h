#pragma once
// The one C target around libpng: libpng reports errors by longjmp, which Swift cannot
// catch, so every call into libpng happens here under setjmp. No image logic lives here.
//
// All functions return PANELSIM_PNG_OK (0) on success. On failure they return
// PANELSIM_PNG_ERROR or PANELSIM_PNG_TOO_LARGE, and copy libpng's message (or
// strerror) into `err` (always NUL-terminated when errlen > 0).
#include <stddef.h>
#include <stdint.h>

#define PANELSIM_PNG_OK 0
#define PANELSIM_PNG_ERROR 1
/// The image's width or height exceeds `max_dim`; `*w` and `*h` hold its size.
#define PANELSIM_PNG_TOO_LARGE 2

/// Writes an 8-bit PNG to `path`. `channels`: 1 gray, 3 RGB, 4 RGBA. `stride`: bytes per
/// row in `pixels`. `filters`: a PNG_FILTER_* bitmask. On failure the partially written
/// file is removed (if `path` is a regular file; devices and FIFOs are left alone).
int panelsim_png_write_file(const char *path, uint32_t width, uint32_t height, int channels,
                            const uint8_t *pixels, size_t stride, int zlib_level, int filters,
                            char *err, size_t errlen);

/// Like panelsim_png_write_file, into a malloc'd buffer: `*out` / `*out_len` on success
/// (release with panelsim_png_free); `*out` is NULL on failure.
int panelsim_png_encode_memory(uint32_t width, uint32_t height, int channels,
                               const uint8_t *pixels, size_t stride, int zlib_level, int filters,
                               uint8_t **out, size_t *out_len, char *err, size_t errlen);

/// Reads any PNG as 8-bit gray (`*channels` 1, from gray and gray+alpha) or 8-bit RGB
/// (`*channels` 3, from everything else): palette expanded, 16-bit scaled, alpha dropped,
/// interlacing undone. Rows are packed (stride = w * channels). Images wider or taller than
/// `max_dim` are refused before any pixel memory is allocated. Release `*out_pixels` with
/// panelsim_png_free; it is NULL on failure.
int panelsim_png_read_file(const char *path, uint32_t max_dim, uint8_t **out_pixels,
                           uint32_t *w, uint32_t *h, int *channels, char *err, size_t errlen);

/// panelsim_png_read_file for a PNG held in memory.
int panelsim_png_decode_memory(const uint8_t *data, size_t len, uint32_t max_dim,
                               uint8_t **out_pixels, uint32_t *w, uint32_t *h, int *channels,
                               char *err, size_t errlen);

/// Frees a buffer returned by this shim (NULL is fine).
void panelsim_png_free(void *p);
