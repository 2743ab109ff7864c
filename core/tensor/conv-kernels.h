/* gimp-diffusion core: convolution back ends shared by layers.c and the
 * CPU-specific kernels (internal).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#ifndef DM_CONV_KERNELS_H
#define DM_CONV_KERNELS_H

#include "tensor/layers.h"

/* Row `row` = (c, ky, kx) of one image's im2col matrix for output pixels
 * [p_begin, p_end), zeros outside the image, written in panels of `panel`
 * pixels: pixel q (counted from p_begin) goes to
 * dst[(q / panel) * panel_stride + q % panel]. A plain row is one panel. */
void dm_im2col_row(float *dst, size_t panel, size_t panel_stride,
                   const float *in, const DmConvShape *shape, int32_t row,
                   size_t p_begin, size_t p_end);

/* out[c][p_begin .. p_end) = bias[c] for c < channels (planes of hw
 * pixels), or += when accumulating; a NULL bias counts as zeros. */
void dm_conv_fill_bias(float *out, const float *bias, int32_t channels,
                       size_t hw, size_t p_begin, size_t p_end,
                       bool accumulate);

/* Pixels per parallel task: at most `max_pixels`, a multiple of `align`,
 * small enough that n images give every thread work. */
size_t dm_conv_task_pixels(size_t pixels, int32_t images, size_t max_pixels,
                           size_t align);

/* The AVX-512 kernel (conv-avx512.c): same contract as dm_conv2d_forward.
 * Only call when dm_conv2d_avx512_available(). */
bool dm_conv2d_avx512_available(void);
bool dm_conv2d_forward_avx512(float *out, const float *in, const float *weight,
                              const float *bias, const DmConvShape *shape,
                              bool accumulate);

/* True for the 3x3 stride-1 padding-1 convs that keep the size, the ones
 * the weight-gradient and Winograd kernels below take (layers.c). */
bool dm_conv2d_is_same_size_3x3(const DmConvShape *shape);

/* dweight (C_out, C_in, 3, 3) += the weight gradient of the conv from dout
 * and in, as dm_conv2d_backward defines it, for the convs of
 * dm_conv2d_is_same_size_3x3. Only call when dm_conv2d_avx512_available();
 * false when out of memory. */
bool dm_conv2d_weight_grad_avx512(float *dweight, const float *dout,
                                  const float *in, const DmConvShape *shape);

/* The Winograd F(4x4, 3x3) kernels (conv-winograd.c) for the 3x3 stride-1
 * padding-1 convs that keep the size, any channel count and image size;
 * dm_conv2d_winograd_fits says where they beat the direct kernels (enough
 * channels and tiles). Only call when dm_conv2d_avx512_available(). The
 * forward has dm_conv2d_forward's
 * contract; the weight gradient adds to dweight (C_out, C_in, 3, 3) as
 * dm_conv2d_backward defines it. Scratch: the transformed weights or each
 * thread's gradient partial (36 C_in C_out floats, channels padded to 32),
 * and per thread the transforms of a task's tiles (about 1 MiB, at most
 * 128 tiles); false when it cannot be allocated. */
bool dm_conv2d_winograd_fits(const DmConvShape *shape);
bool dm_conv2d_forward_winograd(float *out, const float *in,
                                const float *weight, const float *bias,
                                const DmConvShape *shape, bool accumulate);
bool dm_conv2d_weight_grad_winograd(float *dweight, const float *dout,
                                    const float *in, const DmConvShape *shape);

#endif /* DM_CONV_KERNELS_H */
