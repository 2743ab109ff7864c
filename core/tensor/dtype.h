/* gimp-diffusion core: element types of stored tensors (internal).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * Arithmetic is float32 everywhere; weights may be stored in half
 * precision (as checkpoints ship them) and converted where they are used. */
#ifndef DM_TENSOR_DTYPE_H
#define DM_TENSOR_DTYPE_H

#include "tensor/base.h"

typedef enum {
  DM_DTYPE_F32,  /* IEEE binary32 */
  DM_DTYPE_F16,  /* IEEE binary16 */
  DM_DTYPE_BF16, /* bfloat16: binary32's top 16 bits */
  DM_DTYPE_COUNT
} DmDtype;

/* Bytes per element. */
size_t dm_dtype_size(DmDtype dtype);

/* binary16 -> binary32, exact for every input (normals, subnormals,
 * zeros, infinities; NaN payloads are kept in the top mantissa bits). */
float dm_f16_to_f32(uint16_t h);
/* binary32 -> binary16 with round-to-nearest-even; overflow gives inf,
 * tiny values become subnormals or zero, NaN stays a (quiet) NaN. */
uint16_t dm_f32_to_f16(float f);
float dm_bf16_to_f32(uint16_t b);
/* binary32 -> bfloat16, round-to-nearest-even; NaN stays a quiet NaN. */
uint16_t dm_f32_to_bf16(float f);

/* out (count floats) = in (count elements of `dtype`, native byte order). */
void dm_dtype_to_f32(float *out, const void *in, DmDtype dtype, size_t count);
/* out (count elements of `dtype`) = in (count floats), rounded to nearest
 * even. */
void dm_f32_to_dtype(void *out, const float *in, DmDtype dtype, size_t count);

#endif /* DM_TENSOR_DTYPE_H */
