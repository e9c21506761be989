#pragma once
// Byte-shuffling loops that Swift cannot vectorise on the x86-64 baseline (no byte shuffle
// below SSSE3): chosen at run time by what the CPU has, with a plain loop everywhere else.
#include <stddef.h>
#include <stdint.h>

/// Copies `pixels` 3-byte pixels from `source` to `destination`, reversing each pixel's bytes
/// (R, G, B <-> B, G, R). The buffers must not overlap and must hold 3 * `pixels` bytes each;
/// nothing outside them is read or written.
void panelsim_reverse_rgb(const uint8_t *source, uint8_t *destination, size_t pixels);
