/* gimp-diffusion core: element types of stored tensors and their
 * conversions (dtype.h).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include <math.h>
#include <string.h>

#include "tensor/dtype.h"

static const size_t dtype_sizes[DM_DTYPE_COUNT] = {4, 2, 2};

size_t dm_dtype_size(DmDtype dtype) { return dtype_sizes[dtype]; }

float dm_f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
  uint32_t exponent = (h >> 10) & 0x1fu;
  uint32_t mantissa = h & 0x3ffu;
  uint32_t bits;
  if (exponent == 0x1f) {
    bits = sign | 0x7f800000u | (mantissa << 13); /* inf or NaN */
  } else if (exponent != 0) {
    bits = sign | ((exponent + 112u) << 23) | (mantissa << 13);
  } else {
    /* zero or subnormal: mantissa * 2^-24, exact in float32 */
    float magnitude = ldexpf((float)mantissa, -24);
    return sign ? -magnitude : magnitude;
  }
  float out;
  memcpy(&out, &bits, sizeof out);
  return out;
}

uint16_t dm_f32_to_f16(float f) {
  uint32_t bits;
  memcpy(&bits, &f, sizeof bits);
  uint16_t sign = (uint16_t)((bits >> 16) & 0x8000u);
  uint32_t exponent = (bits >> 23) & 0xffu;
  uint32_t mantissa = bits & 0x7fffffu;
  if (exponent == 0xff) /* inf, or NaN with a quiet bit forced */
    return sign | 0x7c00u | (mantissa ? 0x200u | (mantissa >> 13) : 0u);
  int32_t e = (int32_t)exponent - 127 + 15; /* biased half exponent */
  if (e >= 0x1f) return sign | 0x7c00u;
  if (e <= 0) {
    if (e < -10) return sign; /* below half the smallest subnormal */
    /* subnormal: shift the full 24-bit significand into 10 bits */
    uint32_t significand = mantissa | 0x800000u;
    uint32_t shift = (uint32_t)(14 - e);
    uint32_t half = significand >> shift;
    uint32_t rest = significand & ((1u << shift) - 1u);
    uint32_t halfway = 1u << (shift - 1);
    if (rest > halfway || (rest == halfway && (half & 1u))) half++;
    return sign | (uint16_t)half;
  }
  uint32_t half = ((uint32_t)e << 10) | (mantissa >> 13);
  uint32_t rest = mantissa & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (half & 1u)))
    half++; /* may carry into the exponent, up to inf: still correct */
  return sign | (uint16_t)half;
}

float dm_bf16_to_f32(uint16_t b) {
  uint32_t bits = (uint32_t)b << 16;
  float out;
  memcpy(&out, &bits, sizeof out);
  return out;
}

uint16_t dm_f32_to_bf16(float f) {
  uint32_t bits;
  memcpy(&bits, &f, sizeof bits);
  if ((bits & 0x7fffffffu) > 0x7f800000u)
    return (uint16_t)((bits >> 16) | 0x40u);
  uint32_t rounding = 0x7fffu + ((bits >> 16) & 1u);
  return (uint16_t)((bits + rounding) >> 16);
}

/* out (count) = in (count binary16 values), as dm_f16_to_f32 but without
 * branches, so that the loop vectorises: the exponent rebiased by 127 - 15,
 * infinities and NaNs moved up to 255, and zeros and subnormals (m 2^-24)
 * computed as (1 + m 2^-10) 2^-14 - 2^-14, exact by Sterbenz's lemma. */
DM_VECTOR_CLONES
static void f16_to_f32_array(void *dst, const void *src, size_t count) {
  float *out = dst;
  const uint16_t *in = src;
  const uint32_t exponent_mask = 0x7c00u << 13;
  const float two_to_minus_14 = 0x1p-14f;
  for (size_t i = 0; i < count; i++) {
    const uint32_t magnitude = (uint32_t)(in[i] & 0x7fffu) << 13;
    const uint32_t exponent = magnitude & exponent_mask;
    const uint32_t normal = magnitude + ((127u - 15u) << 23);
    const uint32_t special = normal + ((128u - 16u) << 23);
    const uint32_t tiny_bits = normal + (1u << 23);
    float tiny;
    memcpy(&tiny, &tiny_bits, sizeof tiny);
    tiny -= two_to_minus_14;
    uint32_t tiny_result;
    memcpy(&tiny_result, &tiny, sizeof tiny_result);
    uint32_t bits = exponent == exponent_mask ? special
                    : exponent == 0           ? tiny_result
                                              : normal;
    bits |= (uint32_t)(in[i] & 0x8000u) << 16;
    memcpy(&out[i], &bits, sizeof bits);
  }
}

DM_VECTOR_CLONES
static void bf16_to_f32_array(void *dst, const void *src, size_t count) {
  float *out = dst;
  const uint16_t *in = src;
  for (size_t i = 0; i < count; i++) {
    const uint32_t bits = (uint32_t)in[i] << 16;
    memcpy(&out[i], &bits, sizeof bits);
  }
}

/* Converts one span of `count` elements from `src` into `dst`. */
typedef void (*ConvertSpan)(void *dst, const void *src, size_t count);

static void copy_f32(void *dst, const void *src, size_t count) {
  memcpy(dst, src, count * sizeof(float));
}

/* Elements per task of a conversion: large tensors (a layer's weights)
 * convert on every thread. */
#define CONVERT_CHUNK ((size_t)1 << 16)

/* dst (count elements of dst_size bytes) = convert(src (count elements of
 * src_size bytes)), by chunks. */
static void convert_chunks(void *dst, size_t dst_size, const void *src,
                           size_t src_size, size_t count,
                           ConvertSpan convert) {
  const size_t chunks = (count + CONVERT_CHUNK - 1) / CONVERT_CHUNK;
#pragma omp parallel for schedule(static) if (chunks > 1)
  for (size_t chunk = 0; chunk < chunks; chunk++) {
    const size_t first = chunk * CONVERT_CHUNK;
    convert((char *)dst + first * dst_size,
            (const char *)src + first * src_size,
            MIN(CONVERT_CHUNK, count - first));
  }
}

void dm_dtype_to_f32(float *out, const void *in, DmDtype dtype,
                     size_t count) {
  static const ConvertSpan spans[DM_DTYPE_COUNT] = {
      copy_f32, f16_to_f32_array, bf16_to_f32_array};
  g_assert(dtype >= 0 && dtype < DM_DTYPE_COUNT);
  convert_chunks(out, sizeof(float), in, dm_dtype_size(dtype), count,
                 spans[dtype]);
}

/* out (count binary16) = in (count floats), as dm_f32_to_f16 without
 * branches (Giesen's method): normals rebiased with round-to-nearest-even
 * on the 13 dropped bits (a carry may reach infinity, as it should);
 * magnitudes below 2^-14 added to 0.5, whose ulp is 2^-24, so that the
 * float addition rounds them to a multiple of the smallest subnormal;
 * 2^16 and beyond infinity; NaNs quiet with their top payload bits. */
DM_VECTOR_CLONES
static void f32_to_f16_array(void *dst, const void *src, size_t count) {
  uint16_t *out = dst;
  const float *in = src;
  for (size_t i = 0; i < count; i++) {
    uint32_t bits;
    memcpy(&bits, &in[i], sizeof bits);
    const uint32_t magnitude = bits & 0x7fffffffu;
    const uint32_t normal = (magnitude - ((127u - 15u) << 23) + 0xfffu +
                             ((magnitude >> 13) & 1u)) >> 13;
    float tiny;
    memcpy(&tiny, &magnitude, sizeof tiny);
    tiny += 0.5f;
    uint32_t tiny_bits;
    memcpy(&tiny_bits, &tiny, sizeof tiny_bits);
    const uint32_t subnormal = tiny_bits - 0x3f000000u; /* bits of 0.5 */
    const uint32_t nan = 0x7e00u | ((magnitude >> 13) & 0x3ffu);
    /* selects one by one: a nested ?: stops GCC's vectoriser */
    uint32_t half = magnitude < (113u << 23) ? subnormal : normal;
    half = magnitude >= (143u << 23) ? 0x7c00u : half;
    half = magnitude > 0x7f800000u ? nan : half;
    out[i] = (uint16_t)(half | ((bits >> 16) & 0x8000u));
  }
}

/* out (count bfloat16) = in (count floats), as dm_f32_to_bf16. */
DM_VECTOR_CLONES
static void f32_to_bf16_array(void *dst, const void *src, size_t count) {
  uint16_t *out = dst;
  const float *in = src;
  for (size_t i = 0; i < count; i++) {
    uint32_t bits;
    memcpy(&bits, &in[i], sizeof bits);
    const uint32_t rounded = (bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16;
    const uint32_t nan = (bits >> 16) | 0x40u;
    out[i] = (uint16_t)((bits & 0x7fffffffu) > 0x7f800000u ? nan : rounded);
  }
}

void dm_f32_to_dtype(void *out, const float *in, DmDtype dtype,
                     size_t count) {
  static const ConvertSpan spans[DM_DTYPE_COUNT] = {
      copy_f32, f32_to_f16_array, f32_to_bf16_array};
  g_assert(dtype >= 0 && dtype < DM_DTYPE_COUNT);
  convert_chunks(out, dm_dtype_size(dtype), in, sizeof(float), count,
                 spans[dtype]);
}
