/* gimp-diffusion core: the network's layers (internal).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * One function per layer, llm.c style: outputs first, then inputs, then
 * weights, then sizes. All tensors are float32 (N, C, H, W) row-major; an
 * image plane has hw = H * W pixels. Loops are parallelised with OpenMP so
 * that each output element is computed by one thread in a fixed order:
 * results do not depend on the thread count except through OpenBLAS.
 * Layers that need scratch memory return false when it cannot be
 * allocated (and leave `out` unspecified). */
#ifndef DM_LAYERS_H
#define DM_LAYERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Geometry of a 2-D convolution. Input pixels outside the image are zero;
 * pad_top/pad_left shift the window, the bottom/right padding is implied by
 * the output size (downsample_padding 0 pads right/bottom only). */
typedef struct {
  int32_t n, c_in, h_in, w_in;
  int32_t c_out, h_out, w_out;
  int32_t kernel, stride, pad_top, pad_left;
} DmConvShape;

/* out (N, C_out, H_out, W_out) = conv(in (N, C_in, H_in, W_in), weight
 * (C_out, C_in, k, k)) + bias (C_out); when `accumulate` the result is added
 * to what `out` holds. im2col + cblas_sgemm, tiled over output pixels so the
 * column buffer stays bounded whatever the image size. */
bool dm_conv2d_forward(float *out, const float *in, const float *weight,
                       const float *bias, const DmConvShape *shape,
                       bool accumulate);

/* out (N, C, hw) = GroupNorm(in) * weight (C) + bias (C), statistics over
 * (C / groups) channels x hw pixels per group, biased variance, eps inside
 * the square root; then SiLU when `with_silu`. `out` may equal `in`. */
void dm_groupnorm_forward(float *out, const float *in, const float *weight,
                          const float *bias, int32_t n, int32_t c, size_t hw,
                          int32_t groups, float eps, bool with_silu);

/* out (count) = in * sigmoid(in). `out` may equal `in`. */
void dm_silu_forward(float *out, const float *in, size_t count);

/* out (N, out_features) = in (N, in_features) weight^T + bias, with weight
 * (out_features, in_features) as torch.nn.Linear stores it. */
void dm_linear_forward(float *out, const float *in, const float *weight,
                       const float *bias, int32_t n, int32_t in_features,
                       int32_t out_features);

/* out (N, C, 2H, 2W) = nearest-neighbour upsampling of in (N, C, H, W). */
void dm_upsample2x_forward(float *out, const float *in, int32_t n, int32_t c,
                           int32_t h, int32_t w);

/* out (N, Ca + Cb, hw) = [a (N, Ca, hw) | b (N, Cb, hw)] along channels. */
void dm_concat_forward(float *out, const float *a, const float *b, int32_t n,
                       int32_t c_a, int32_t c_b, size_t hw);

/* out (N, dim) = the sinusoidal timestep embedding of timesteps (N), as
 * diffusers' get_timestep_embedding computes it in float32 (Vaswani et al.
 * 2017 §3.5 / Ho et al. 2020 App. B): for i < dim/2, with
 * e_i = exp(-ln(10000) * i / (dim/2 - freq_shift)), [sin(t e_i) | cos(t e_i)],
 * or [cos | sin] when flip_sin_to_cos; odd dim gets a zero last column. */
void dm_timestep_embedding_forward(float *out, const float *timesteps,
                                   int32_t n, int32_t dim, bool flip_sin_to_cos,
                                   int32_t freq_shift);

/* Weights of one diffusers Attention block used spatially. */
typedef struct {
  const float *norm_weight, *norm_bias;  /* (C) */
  const float *query_weight, *query_bias; /* (C, C), (C): to_q */
  const float *key_weight, *key_bias;     /* to_k */
  const float *value_weight, *value_bias; /* to_v */
  const float *out_weight, *out_bias;     /* to_out.0 */
} DmAttentionWeights;

/* out (N, C, hw) = (in + to_out(MHA(GroupNorm(in)))) / rescale, multi-head
 * self-attention over the hw pixels as tokens, `heads` heads of C / heads
 * channels, softmax(q k^T / sqrt(d)) v (Vaswani et al. 2017 eq. 1). The
 * hw x hw score matrix is computed in blocks of queries, so memory stays
 * linear in hw. */
bool dm_attention_forward(float *out, const float *in,
                          const DmAttentionWeights *weights, int32_t n,
                          int32_t c, size_t hw, int32_t heads, int32_t groups,
                          float eps, float rescale);

#endif /* DM_LAYERS_H */
