#include "pixelkernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <tmmintrin.h>
#define PANELSIM_X86 1
#endif

#if PANELSIM_X86
/// 0: not asked yet, 1: SSSE3, 2: no SSSE3. Every thread that asks finds the same answer.
static int ssse3_state;

static int has_ssse3(void) {
    int state = __atomic_load_n(&ssse3_state, __ATOMIC_RELAXED);
    if (state == 0) {
        unsigned int eax = 0, ebx = 0, ecx = 0, edx = 0;
        int yes = __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_SSSE3);
        state = yes ? 1 : 2;
        __atomic_store_n(&ssse3_state, state, __ATOMIC_RELAXED);
    }
    return state == 1;
}
#endif

static void copy_pixels_plain(const uint8_t *s, uint8_t *d, size_t pixels, int bpp, const uint8_t *order, int reverse) {
    // Whole pixels only: pixels * bpp bytes on each side.
    for (size_t i = 0; i < pixels; i++) {
        const uint8_t *p = s + i * (size_t)bpp;
        uint8_t *q = d + (reverse ? pixels - 1 - i : i) * (size_t)bpp;
        for (int k = 0; k < bpp; k++) q[k] = p[order[k]];
    }
}

#if PANELSIM_X86
/// Shuffles `per` whole pixels of `bpp` bytes (5 of 3, 4 of 4, 16 of 1) per 16-byte load and
/// store, `pixels - keep` at most, and returns how many it did: the plain loop does the rest.
/// Forward, a 3-byte block's 16th byte lands on the next pixel, written again after it.
/// Reversed 3-byte pixels sit one byte up in the store (its byte 0 lands on the pixel below
/// the block, written again after it), so 3-byte blocks keep one more pixel for the plain loop.
/// Every load and store stays inside the pixels given.
#define PANELSIM_SHUFFLE_LOOP(BPP, PER, KEEP)                                                     \
    do {                                                                                         \
        if (!reverse) {                                                                          \
            while (pixels - i >= (KEEP) + (PER)) {                                               \
                __m128i a = _mm_loadu_si128((const __m128i *)(s + i * (BPP)));                  \
                __m128i b = _mm_loadu_si128((const __m128i *)(s + (i + (PER)) * (BPP)));        \
                _mm_storeu_si128((__m128i *)(d + i * (BPP)), _mm_shuffle_epi8(a, mask));         \
                _mm_storeu_si128((__m128i *)(d + (i + (PER)) * (BPP)), _mm_shuffle_epi8(b, mask)); \
                i += 2 * (PER);                                                                  \
            }                                                                                    \
            while (pixels - i >= (KEEP)) {                                                       \
                __m128i a = _mm_loadu_si128((const __m128i *)(s + i * (BPP)));                  \
                _mm_storeu_si128((__m128i *)(d + i * (BPP)), _mm_shuffle_epi8(a, mask));         \
                i += (PER);                                                                      \
            }                                                                                    \
        } else {                                                                                 \
            while (pixels - i >= (KEEP)) {                                                       \
                __m128i a = _mm_loadu_si128((const __m128i *)(s + i * (BPP)));                  \
                uint8_t *at = d + (pixels - i - (PER)) * (BPP) - ((BPP) == 3 ? 1 : 0);           \
                _mm_storeu_si128((__m128i *)at, _mm_shuffle_epi8(a, mask));                      \
                i += (PER);                                                                      \
            }                                                                                    \
        }                                                                                        \
    } while (0)

__attribute__((target("ssse3")))
static void copy_pixels_ssse3(const panelsim_pixel_copy *copy, const uint8_t *s, uint8_t *d, size_t pixels) {
    const __m128i mask = _mm_loadu_si128((const __m128i *)copy->mask);
    const int reverse = copy->reverse;
    size_t i = 0;
    switch (copy->bpp) {
    case 3: PANELSIM_SHUFFLE_LOOP(3, 5, 6); break;
    case 4: PANELSIM_SHUFFLE_LOOP(4, 4, 4); break;
    default: PANELSIM_SHUFFLE_LOOP(1, 16, 16); break;
    }
    if (i < pixels) {
        const size_t bpp = (size_t)copy->bpp;
        copy_pixels_plain(s + i * bpp, reverse ? d : d + i * bpp, pixels - i, copy->bpp, copy->order, reverse);
    }
}
#endif

int panelsim_pixel_copy_prepare(panelsim_pixel_copy *copy, int bpp, const uint8_t *order, int reverse) {
    copy->bpp = 0;
    copy->reverse = reverse ? 1 : 0;
    if (bpp != 1 && bpp != 3 && bpp != 4) return 0;
    int seen = 0;
    for (int k = 0; k < bpp; k++) {
        if (order[k] >= bpp || (seen & (1 << order[k]))) return 0;
        seen |= 1 << order[k];
        copy->order[k] = order[k];
    }
    // The shuffle of one 16-byte block (see PANELSIM_SHUFFLE_LOOP); 0x80 gives a zero byte,
    // written again or outside the block.
    const size_t per = bpp == 3 ? 5 : bpp == 4 ? 4 : 16;
    const size_t shift = (bpp == 3 && reverse) ? 1 : 0;
    for (int j = 0; j < 16; j++) copy->mask[j] = 0x80;
    for (size_t q = 0; q < per; q++) {
        size_t from = reverse ? per - 1 - q : q;
        for (int k = 0; k < bpp; k++) copy->mask[shift + q * (size_t)bpp + (size_t)k] = (uint8_t)(from * (size_t)bpp + order[k]);
    }
    copy->bpp = bpp;
    return 1;
}

void panelsim_pixel_copy_run(const panelsim_pixel_copy *copy, const uint8_t *source, uint8_t *destination, size_t pixels) {
    if (copy->bpp == 0) return;
#if PANELSIM_X86
    if (has_ssse3()) {
        copy_pixels_ssse3(copy, source, destination, pixels);
        return;
    }
#endif
    copy_pixels_plain(source, destination, pixels, copy->bpp, copy->order, copy->reverse);
}
