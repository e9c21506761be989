#include "pixelkernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <tmmintrin.h>
#define PANELSIM_X86 1
#endif

static void reverse_rgb_plain(const uint8_t *s, uint8_t *d, size_t pixels) {
    for (size_t i = 0; i < pixels; i++, s += 3, d += 3) {
        uint8_t a = s[0];
        d[0] = s[2];
        d[1] = s[1];
        d[2] = a;
    }
}

#if PANELSIM_X86
/// Five pixels (15 bytes) per shuffle: a 16-byte load and store, whose 16th byte is the next
/// pixel's first one, unchanged, and written again by the next step. The loop runs while six
/// pixels (18 bytes) remain, so the 16-byte load and store stay inside both buffers and the
/// plain loop finishes at least one pixel, the one that 16th byte belongs to.
__attribute__((target("ssse3")))
static void reverse_rgb_ssse3(const uint8_t *s, uint8_t *d, size_t pixels) {
    const __m128i order = _mm_setr_epi8(2, 1, 0, 5, 4, 3, 8, 7, 6, 11, 10, 9, 14, 13, 12, 15);
    while (pixels >= 11) {
        __m128i a = _mm_loadu_si128((const __m128i *)s);
        __m128i b = _mm_loadu_si128((const __m128i *)(s + 15));
        _mm_storeu_si128((__m128i *)d, _mm_shuffle_epi8(a, order));
        _mm_storeu_si128((__m128i *)(d + 15), _mm_shuffle_epi8(b, order));
        s += 30; d += 30; pixels -= 10;
    }
    while (pixels >= 6) {
        __m128i a = _mm_loadu_si128((const __m128i *)s);
        _mm_storeu_si128((__m128i *)d, _mm_shuffle_epi8(a, order));
        s += 15; d += 15; pixels -= 5;
    }
    reverse_rgb_plain(s, d, pixels);
}

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

void panelsim_reverse_rgb(const uint8_t *source, uint8_t *destination, size_t pixels) {
#if PANELSIM_X86
    if (has_ssse3()) {
        reverse_rgb_ssse3(source, destination, pixels);
        return;
    }
#endif
    reverse_rgb_plain(source, destination, pixels);
}
