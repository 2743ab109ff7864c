/* gimp-diffusion core: the network's layers (internal).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * One function per layer, llm.c style: outputs first, then inputs, then
 * weights, then sizes. All tensors are float32 (N, C, H, W) row-major; an
 * image plane has hw = H * W pixels. Loops are parallelised with OpenMP so
 * that each output element is computed by one thread in a fixed order:
 * results do not depend on the thread count except through OpenBLAS.
 * Layers that need scratch memory return false when it cannot be
 * allocated (and leave `out` unspecified).
 *
 * Each `_backward` takes the forward's arguments with gradients first:
 * gradients (d<name>, shaped like <name>), the output gradient `dout`, then
 * the forward's inputs, weights and sizes. Gradients are ADDED to what the
 * buffers hold (the caller zeroes them once), and any gradient pointer may be
 * NULL when it is not wanted. Gradient buffers must not alias the inputs.
 * Reductions over images and pixels run in a fixed order for a given thread
 * count (per-thread partials summed in thread order, or one thread per
 * output element): bit-identical results for a given thread count. */
#ifndef DM_LAYERS_H
#define DM_LAYERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tensor/dtype.h"

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
 * to what `out` holds. Tiled over output pixels so that scratch stays
 * bounded whatever the image size. Where the CPU has AVX-512: Winograd
 * F(4x4, 3x3) (conv-winograd.c) for 3x3 stride-1 padding-1 convs that keep
 * the size with at least 16 channels each way, the direct kernel
 * (conv-avx512.c) for the other convs but 1x1; else, and for 1x1 convs,
 * im2col + cblas_sgemm. Convs with more output channels than output pixels
 * in the batch (the deep levels of a latent U-Net, where the weights
 * outweigh the pixels) take the whole batch's im2col matrix once and one
 * sgemm per block of output channels instead, so that each weight is read
 * once. */
bool dm_conv2d_forward(float *out, const float *in, const float *weight,
                       const float *bias, const DmConvShape *shape,
                       bool accumulate);

/* The adjoint of dm_conv2d_forward: din (N, C_in, H_in, W_in) += the
 * transposed convolution of dout (N, C_out, H_out, W_out); dweight (C_out,
 * C_in, k, k) += sum over images and pixels of dout col^T (col: the
 * forward's im2col matrix); dbias (C_out) += sum of dout over images and
 * pixels. dweight: for the 3x3 stride-1 convs that keep the size, where
 * the CPU has AVX-512, Winograd's adjoint (conv-winograd.c; the direct
 * kernel for fewer than 16 channels), else cblas_sgemm on column tiles;
 * each thread sums into a private partial, the partials then added in
 * thread order. din: for 1x1 convs weight^T
 * dout by cblas_sgemm; for other stride-1 convs, the forward conv of dout
 * with the kernel transposed and flipped; for stride 2, col2im of weight^T
 * dout on tiles of whole output rows, even tiles first, then odd ones, as
 * neighbouring tiles overlap (k > stride). Scratch per thread: (C_in k k, tile) column
 * tiles of at most 4 MiB each (more when one output row needs more).
 * Returns false when scratch memory cannot be allocated. */
bool dm_conv2d_backward(float *din, float *dweight, float *dbias,
                        const float *dout, const float *in,
                        const float *weight, const DmConvShape *shape);

/* out (N, C, hw) = GroupNorm(in) * weight (C) + bias (C), statistics over
 * (C / groups) channels x hw pixels per group, biased variance, eps inside
 * the square root; then SiLU when `with_silu`. `out` may equal `in`. */
void dm_groupnorm_forward(float *out, const float *in, const float *weight,
                          const float *bias, int32_t n, int32_t c, size_t hw,
                          int32_t groups, float eps, bool with_silu);

/* The adjoint of dm_groupnorm_forward, from `in` and the parameters alone
 * (mean and rstd recomputed). With xhat = (x - mean) rstd and
 * y = xhat * weight + bias: dy = dout * silu'(y) (or dout), then
 * dbias += sum dy, dweight += sum dy xhat over images and pixels, and per
 * group of M values, with g = dy * weight (batch-norm's gradient, Ioffe and
 * Szegedy 2015 §3, over a group as Wu and He 2018 normalise):
 *   din += rstd (g - mean(g) - xhat mean(g xhat)).
 * `din` must not alias `dout`. Returns false when scratch memory cannot be
 * allocated. */
bool dm_groupnorm_backward(float *din, float *dweight, float *dbias,
                           const float *dout, const float *in,
                           const float *weight, const float *bias, int32_t n,
                           int32_t c, size_t hw, int32_t groups, float eps,
                           bool with_silu);

/* out (count) = in * sigmoid(in). `out` may equal `in`. */
void dm_silu_forward(float *out, const float *in, size_t count);

/* din (count) += dout * silu'(in), silu'(x) = s (1 + x (1 - s)) with
 * s = sigmoid(x). */
void dm_silu_backward(float *din, const float *dout, const float *in,
                      size_t count);

/* out (N, out_features) = in (N, in_features) weight^T + bias, with weight
 * (out_features, in_features) as torch.nn.Linear stores it. */
void dm_linear_forward(float *out, const float *in, const float *weight,
                       const float *bias, int32_t n, int32_t in_features,
                       int32_t out_features);

/* din (N, in_features) += dout (N, out_features) weight; dweight
 * (out_features, in_features) += dout^T in; dbias (out_features) += sum of
 * dout over N. */
void dm_linear_backward(float *din, float *dweight, float *dbias,
                        const float *dout, const float *in,
                        const float *weight, int32_t n, int32_t in_features,
                        int32_t out_features);

/* out (N, C, hw) += shift (N, C) broadcast over the pixels: a resnet's time
 * embedding added to its hidden state. */
void dm_channel_shift_forward(float *out, const float *shift, int32_t n,
                              int32_t c, size_t hw);

/* dshift (N, C) += the sum over pixels of dout (N, C, hw). */
void dm_channel_shift_backward(float *dshift, const float *dout, int32_t n,
                               int32_t c, size_t hw);

/* out (N, C, 2H, 2W) = nearest-neighbour upsampling of in (N, C, H, W). */
void dm_upsample2x_forward(float *out, const float *in, int32_t n, int32_t c,
                           int32_t h, int32_t w);

/* din (N, C, H, W) += the sum of each 2x2 block of dout (N, C, 2H, 2W). */
void dm_upsample2x_backward(float *din, const float *dout, int32_t n,
                            int32_t c, int32_t h, int32_t w);

/* out (N, Ca + Cb, hw) = [a (N, Ca, hw) | b (N, Cb, hw)] along channels. */
void dm_concat_forward(float *out, const float *a, const float *b, int32_t n,
                       int32_t c_a, int32_t c_b, size_t hw);

/* da (N, Ca, hw) += dout's first Ca channels, db (N, Cb, hw) += the rest. */
void dm_concat_backward(float *da, float *db, const float *dout, int32_t n,
                        int32_t c_a, int32_t c_b, size_t hw);

/* out (N, dim) = the sinusoidal timestep embedding of timesteps (N), as
 * diffusers' get_timestep_embedding computes it in float32 (Vaswani et al.
 * 2017 §3.5 / Ho et al. 2020 App. B): for i < dim/2, with
 * e_i = exp(-ln(10000) * i / (dim/2 - freq_shift)), [sin(t e_i) | cos(t e_i)],
 * or [cos | sin] when flip_sin_to_cos; odd dim gets a zero last column. */
void dm_timestep_embedding_forward(float *out, const float *timesteps,
                                   int32_t n, int32_t dim, bool flip_sin_to_cos,
                                   int32_t freq_shift);
/* No backward: the sinusoid has no parameters, and the timesteps are
 * conditioning inputs that training never differentiates. */

/* Weights of one diffusers Attention block used spatially. */
typedef struct {
  const float *norm_weight, *norm_bias;  /* (C) */
  const float *query_weight, *query_bias; /* (C, C), (C): to_q */
  const float *key_weight, *key_bias;     /* to_k */
  const float *value_weight, *value_bias; /* to_v */
  const float *out_weight, *out_bias;     /* to_out.0 */
} DmAttentionWeights;

/* Gradients of the same tensors (shapes as above); any may be NULL. */
typedef struct {
  float *norm_weight, *norm_bias;
  float *query_weight, *query_bias;
  float *key_weight, *key_bias;
  float *value_weight, *value_bias;
  float *out_weight, *out_bias;
} DmAttentionGrads;

/* out (N, C, hw) = (in + to_out(MHA(GroupNorm(in)))) / rescale, multi-head
 * self-attention over the hw pixels as tokens, `heads` heads of C / heads
 * channels, softmax(q k^T / sqrt(d)) v (Vaswani et al. 2017 eq. 1). The
 * hw x hw score matrix is computed in blocks of queries, so memory stays
 * linear in hw. With at least as many images as threads, each thread takes
 * whole images. */
bool dm_attention_forward(float *out, const float *in,
                          const DmAttentionWeights *weights, int32_t n,
                          int32_t c, size_t hw, int32_t heads, int32_t groups,
                          float eps, float rescale);

/* The adjoint of dm_attention_forward (`dweights` NULL: only din):
 * din += dout / rescale through the residual and through the attention.
 * The normalised input, q, k, v and the context C are recomputed per
 * image; with P = softmax(S), S = q^T k / sqrt(d), and C's gradient dC
 * (from to_out's backward):
 *   dP = dC^T v,  D_i = sum_j P_ij dP_ij = dC_i . C_i,
 *   dS = P o (dP - D)          (the softmax Jacobian, row by row),
 *   dq_i = sum_j dS_ij k_j / sqrt(d),  dk_j = sum_i dS_ij q_i / sqrt(d),
 *   dv_j = sum_i P_ij dC_i,
 * With at least as many images as threads, each thread takes whole images
 * (its own gradient block, the blocks summed in thread order), and when a
 * head's P (hw x hw) fits the 4 MiB scratch bound it is kept from the
 * recomputed forward: dq, dk, dv then take four products per head.
 * Otherwise FlashAttention-2's backward (Dao 2023, Alg. 2) without atomics:
 * one pass over blocks of queries gives dq and each row's log-sum-exp, a
 * second pass over blocks of keys recomputes P^T from those and gives dk,
 * dv. Every task writes its own columns, and memory stays linear in hw. */
bool dm_attention_backward(float *din, const DmAttentionGrads *dweights,
                           const float *dout, const float *in,
                           const DmAttentionWeights *weights, int32_t n,
                           int32_t c, size_t hw, int32_t heads,
                           int32_t groups, float eps, float rescale);

/* ---- token sequences ------------------------------------------------------
 * Transformer layers (CLIP's text encoder, the UNet's Transformer2DModel)
 * work on rows of tokens: a sequence is (L, C), a batch (N, L, C), and
 * "rows" counts tokens over the whole batch. dm_linear_forward applies a
 * projection to every row. Forward only. */

/* out (rows, dim) = LayerNorm over each row of in (rows, dim) (Ba et al.
 * 2016, eq. 4: mean and biased variance of the row, eps inside the square
 * root) * weight (dim) + bias (dim). `out` may equal `in`. */
void dm_layernorm_forward(float *out, const float *in, const float *weight,
                          const float *bias, size_t rows, int32_t dim,
                          float eps);

/* out (count) += in (count): a residual connection. */
void dm_add_forward(float *out, const float *in, size_t count);

/* out (N, hw, out_features) = in (N, in_features, hw) with each pixel's
 * channels as a row, times weight^T (weight (out_features, in_features))
 * plus bias (out_features): a linear map (or a 1x1 conv) applied to every
 * pixel of channel-major planes, giving one token row per pixel, as
 * Transformer2DModel's proj_in and its reshape to tokens. */
void dm_linear_from_planes_forward(float *out, const float *in,
                                   const float *weight, const float *bias,
                                   int32_t n, size_t hw, int32_t in_features,
                                   int32_t out_features);

/* out (N, out_features, hw) = (in (N, hw, in_features) weight^T + bias)
 * with each token row back as a pixel's channels, or += when `accumulate`:
 * Transformer2DModel's proj_out and reshape to planes, added to its input
 * in place for the residual. */
void dm_linear_to_planes_forward(float *out, const float *in,
                                 const float *weight, const float *bias,
                                 int32_t n, size_t hw, int32_t in_features,
                                 int32_t out_features, bool accumulate);

/* out (count) = GELU(in) = in Phi(in) = in (1 + erf(in / sqrt 2)) / 2, the
 * exact form (Hendrycks and Gimpel 2016) as torch's gelu, Phi within 7.5e-8
 * (layers.c). `out` may equal `in`. */
void dm_gelu_forward(float *out, const float *in, size_t count);

/* out (count) = in sigmoid(1.702 in): OpenAI CLIP's "quick_gelu", the
 * sigmoid approximation of GELU (Hendrycks and Gimpel 2016, sec. 2).
 * `out` may equal `in`. */
void dm_quick_gelu_forward(float *out, const float *in, size_t count);

/* out (rows, inner) = value * GELU(gate) for in (rows, 2 inner) = [value |
 * gate] along each row: diffusers' GEGLU after its projection to 2 inner
 * features (Shazeer 2020, eq. 6). */
void dm_geglu_forward(float *out, const float *in, size_t rows,
                      int32_t inner);

/* out (count, dim) = table[ids] (or += when `accumulate`), the rows of a
 * (rows, dim) lookup table stored in `dtype`, converted to float32 row by
 * row (a half-precision vocabulary is never converted whole). False, with
 * `out` untouched, when an id lies outside [0, rows). */
bool dm_embedding_forward(float *out, const int32_t *ids, size_t count,
                          const void *table, DmDtype dtype, int32_t rows,
                          int32_t dim, bool accumulate);

/* out (N, Lq, C) = multi-head attention of already projected q (N, Lq, C)
 * over k, v (N, Lk, C): per head h of d = C / heads channels [h d, (h + 1)
 * d), softmax(q_h k_h^T / sqrt(d)) v_h (Vaswani et al. 2017, eq. 1), the
 * heads side by side. With `causal` (Lq == Lk) query i attends to keys
 * j <= i only (GPT-style masking, as CLIP's text encoder): the masked
 * probabilities are exactly zero. Self-attention passes the projections of
 * one sequence; cross-attention k and v projected from a context (N, Lk,
 * C_context) to C. Scores are computed in blocks of queries, memory
 * linear in Lq; `out` must not alias q, k or v. False when scratch memory
 * cannot be allocated. */
bool dm_multihead_attention_forward(float *out, const float *q,
                                    const float *k, const float *v,
                                    int32_t n, size_t lq, size_t lk,
                                    int32_t c, int32_t heads, bool causal);

#endif /* DM_LAYERS_H */
