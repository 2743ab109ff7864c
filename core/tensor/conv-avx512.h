/* gimp-diffusion core: AVX-512 helpers shared by the convolution kernels
 * (conv-avx512.c, conv-winograd.c; internal, x86-64 GCC/clang only).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#ifndef DM_CONV_AVX512_H
#define DM_CONV_AVX512_H

#include <immintrin.h>

/* r[j][i] = the old r[i][j]: a 16 x 16 transpose in three stages, pairs
 * of floats, then pairs of pairs inside each 128-bit lane, then the lanes. */
static inline __attribute__((always_inline, target("avx512f"))) void
dm_transpose_16x16(__m512 r[16]) {
  __m512 t[16], u[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  /* u[4 g + m], lane L: rows 4 g .. 4 g + 3 of column 4 L + m */
  for (int g = 0; g < 16; g += 4)
    for (int m = 0; m < 2; m++) {
      const __m512d lo = _mm512_castps_pd(t[g + m]);
      const __m512d hi = _mm512_castps_pd(t[g + m + 2]);
      u[g + 2 * m] = _mm512_castpd_ps(_mm512_unpacklo_pd(lo, hi));
      u[g + 2 * m + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(lo, hi));
    }
  for (int m = 0; m < 4; m++) {
    const __m512 a0 = _mm512_shuffle_f32x4(u[m], u[4 + m], 0x88);
    const __m512 a1 = _mm512_shuffle_f32x4(u[m], u[4 + m], 0xDD);
    const __m512 b0 = _mm512_shuffle_f32x4(u[8 + m], u[12 + m], 0x88);
    const __m512 b1 = _mm512_shuffle_f32x4(u[8 + m], u[12 + m], 0xDD);
    r[m] = _mm512_shuffle_f32x4(a0, b0, 0x88);
    r[4 + m] = _mm512_shuffle_f32x4(a1, b1, 0x88);
    r[8 + m] = _mm512_shuffle_f32x4(a0, b0, 0xDD);
    r[12 + m] = _mm512_shuffle_f32x4(a1, b1, 0xDD);
  }
}

#endif /* DM_CONV_AVX512_H */
