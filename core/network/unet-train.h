/* gimp-diffusion core: the U-Net's training forward and backward passes
 * (internal, not installed).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * Training is llm.c's scheme: a forward that records what the backward
 * needs, then a backward that adds dL/dparams into a gradient block with
 * the parameters' layout (DmParams: gradients and Adam moments reuse its
 * offsets) and, when asked, dL/dx into the input's gradient.
 *
 *   DmUnetTape *tape = dm_unet_tape_new(unet, n, h, w, &error);
 *   dm_unet_forward_train(unet, tape, out, x, t, &error);
 *   ... dout = dL/dout ...
 *   memset(grads, 0, params.total * sizeof(float));
 *   dm_unet_backward(unet, tape, grads, NULL, dout, &error);
 *
 * The tape holds the input of every layer that has parameters (the
 * resnets' inputs and their inner pre-norm2 state, the attention,
 * resampler and output inputs, the time MLP's activations): about two
 * activations per layer, against the inference forward's few live ones.
 * Group norms, SiLUs and the nearest upsampling are recomputed from them
 * in the backward. Results are bit-identical for a given thread count. */
#ifndef DM_NETWORK_UNET_TRAIN_H
#define DM_NETWORK_UNET_TRAIN_H

#include "network/unet-layout.h"
#include "network/unet-tape.h"
#include "tensor/layers.h"

/* dm_unet_forward (same `out`, bit for bit, zero padding) that also
 * records into `tape`, replacing what it held. x must match the tape's
 * sizes. */
bool dm_unet_forward_train(DmUnet *unet, DmUnetTape *tape, DmTensor *out,
                           const DmTensor *x, const float *timesteps,
                           GError **error);

/* From dout = dL/dout (N, out_channels, H, W) of the recorded forward:
 * grads (params.total floats, DmParams layout) += dL/dparams and, unless
 * dx is NULL, dx (N, in_channels, H, W) += dL/dx. The timesteps are not
 * differentiated. Consumes the recording (the tape is empty afterwards, and
 * its memory is released layer by layer as the backward goes). */
bool dm_unet_backward(DmUnet *unet, DmUnetTape *tape, float *grads,
                      float *dx, const DmTensor *dout, GError **error);

/* ---- shared by the forward and backward passes ------------------------- */

/* A (n, c, h, w) float buffer (zero-filled when `zeroed`), or NULL with
 * DM_ERROR_NO_MEMORY (set only if *error is still unset). */
float *dm_activation_new(int32_t n, int32_t c, int32_t h, int32_t w,
                         bool zeroed, GError **error);

/* The U-Net's convolutions: kernel 1 or 3, padding kernel / 2 (pad_top =
 * pad_left given for the stride-2 downsampler), output = input / stride. */
DmConvShape dm_unet_conv_shape(int32_t n, int32_t c_in, int32_t h_in,
                               int32_t w_in, int32_t c_out, int32_t kernel,
                               int32_t stride, int32_t pad_top);

/* The weights of attention `a` inside a parameter block (DmParams
 * layout), and the gradients at the same offsets of a gradient block. */
DmAttentionWeights dm_unet_attention_weights(const float *params,
                                             const AttentionLayout *a);
DmAttentionGrads dm_unet_attention_grads(float *grads,
                                         const AttentionLayout *a);

#endif /* DM_NETWORK_UNET_TRAIN_H */
