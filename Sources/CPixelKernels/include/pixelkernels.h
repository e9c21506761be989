#pragma once
// Byte-shuffling loops that Swift cannot vectorise on the x86-64 baseline (no byte shuffle
// below SSSE3): chosen at run time by what the CPU has, with a plain loop everywhere else.
// Callers check the buffers' sizes; nothing outside the bytes named is read or written.
#include <stddef.h>
#include <stdint.h>

/// A pixel copy, prepared once and run on any number of buffers: pixels of `bpp` bytes (1, 3
/// or 4); source pixel i lands in destination pixel i (`reverse` 0) or pixels - 1 - i
/// (`reverse` 1), and byte k of each destination pixel is byte `order[k]` of its source pixel.
typedef struct {
    uint8_t mask[16];
    uint8_t order[4];
    int bpp;
    int reverse;
} panelsim_pixel_copy;

/// Prepares `copy`. Returns 0, leaving a copy that copies nothing, when `bpp` is not 1, 3 or 4
/// or `order` (`bpp` entries) is not a permutation of 0 ..< bpp; 1 otherwise.
int panelsim_pixel_copy_prepare(panelsim_pixel_copy *copy, int bpp, const uint8_t *order, int reverse);

/// Copies `pixels` pixels as `copy` says from `source` to `destination`, which must not
/// overlap and must hold bpp * `pixels` bytes each.
void panelsim_pixel_copy_run(const panelsim_pixel_copy *copy, const uint8_t *source, uint8_t *destination, size_t pixels);
