/* gimp-diffusion core: AutoencoderKL's encoder and decoder forward passes.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * Each stage consumes its input activation and returns its output, so at
 * most three activations live at once (a resnet's input, its residual and
 * its hidden state; the nearest-upsampled input and the conv's output):
 * peak memory is a small multiple of the largest activation. Weights are
 * converted to float32 one module at a time when they are stored as F16
 * or BF16. */
#include "network/unet-train.h" /* dm_activation_new, dm_unet_conv_shape */
#include "network/vae-layout.h"

/* Every GroupNorm of diffusers' Encoder and Decoder. */
#define VAE_NORM_EPS 1e-6f

typedef struct {
  const DmVae *vae;
  float *scratch; /* layout->scratch floats, or NULL for F32 weights */
  int32_t n;      /* batch size */
  GError **error;
} Pass;

/* The `count` tensors of module `first` as float32 (views of the weights,
 * or copies in the pass's scratch). */
static void module_tensors(const Pass *pass, VaeModule first, int32_t count,
                           const float **out) {
  const DmWeights *weights = &pass->vae->weights;
  size_t used = 0;
  for (int32_t k = 0; k < count; k++) {
    const DmParamInfo *info = &weights->table.info[first + k];
    out[k] = dm_weights_f32(weights, info,
                            pass->scratch ? pass->scratch + used : NULL);
    used += info->numel;
  }
}

static float *new_activation(Pass *pass, int32_t c, int32_t h, int32_t w) {
  return dm_activation_new(pass->n, c, h, w, false, pass->error);
}

static bool out_of_memory(Pass *pass) {
  if (pass->error && *pass->error == NULL)
    g_set_error(pass->error, DM_ERROR, DM_ERROR_NO_MEMORY,
                "out of memory for convolution scratch space");
  return false;
}

/* out (N, c_out, h / stride, w / stride) (+)= conv(in (N, c_in, h, w)):
 * 1x1, 3x3 padded by one, or 3x3 stride 2 padded right and bottom by one
 * (diffusers' Downsample2D with padding 0). */
static bool conv(Pass *pass, float *out, const float *in, VaeModule module,
                 int32_t c_in, int32_t h, int32_t w, int32_t c_out,
                 int32_t kernel, int32_t stride, bool accumulate) {
  const float *tensors[2];
  module_tensors(pass, module, 2, tensors);
  const int32_t pad = stride == 1 ? kernel / 2 : 0;
  const DmConvShape shape =
      dm_unet_conv_shape(pass->n, c_in, h, w, c_out, kernel, stride, pad);
  return dm_conv2d_forward(out, in, tensors[0], tensors[1], &shape,
                           accumulate) ||
         out_of_memory(pass);
}

/* out (N, c, h, w) = GroupNorm(in) (then SiLU); out may be in. */
static void norm(Pass *pass, float *out, const float *in, VaeModule module,
                 int32_t c, int32_t h, int32_t w, bool with_silu) {
  const float *tensors[2];
  module_tensors(pass, module, 2, tensors);
  dm_groupnorm_forward(out, in, tensors[0], tensors[1], pass->n, c,
                       (size_t)h * w, pass->vae->config.norm_num_groups,
                       VAE_NORM_EPS, with_silu);
}

/* ---- layers -------------------------------------------------------------- */

/* diffusers ResnetBlock2D without time embedding (He et al. 2016 with
 * pre-activation): out = shortcut(x) + conv2(silu(norm2(conv1(silu(norm1(
 * x)))))), shortcut a 1x1 conv when the channel count changes. Consumes
 * x (N, c_in, h, w); returns (N, c_out, h, w), or NULL. */
static float *resnet_forward(Pass *pass, float *x, int32_t h, int32_t w,
                             const VaeResnet *r) {
  float *residual = x, *normed = x, *hidden = NULL;
  bool ok = true;
  if (r->conv_shortcut >= 0) {
    residual = new_activation(pass, r->c_out, h, w);
    ok = residual && conv(pass, residual, x, r->conv_shortcut, r->c_in, h, w,
                          r->c_out, 1, 1, false);
  } else {
    normed = new_activation(pass, r->c_in, h, w);
    ok = normed != NULL;
  }
  if (ok) {
    norm(pass, normed, x, r->norm1, r->c_in, h, w, true);
    hidden = new_activation(pass, r->c_out, h, w);
    ok = hidden && conv(pass, hidden, normed, r->conv1, r->c_in, h, w,
                        r->c_out, 3, 1, false);
  }
  if (normed != residual) free(normed); /* x itself when there is a shortcut */
  if (ok) {
    norm(pass, hidden, hidden, r->norm2, r->c_out, h, w, true);
    ok = conv(pass, residual, hidden, r->conv2, r->c_out, h, w, r->c_out, 3,
              1, true);
  }
  free(hidden);
  if (ok) return residual;
  free(residual);
  return NULL;
}

/* diffusers Attention(heads=1, residual_connection=True) over the h w
 * pixels as tokens. Consumes x (N, c, h, w). */
static float *attention_forward(Pass *pass, float *x, int32_t c, int32_t h,
                                int32_t w, VaeModule module) {
  const float *t[DM_VAE_ATTENTION_TENSORS];
  module_tensors(pass, module, DM_VAE_ATTENTION_TENSORS, t);
  const DmAttentionWeights weights = {t[0], t[1], t[2], t[3], t[4],
                                      t[5], t[6], t[7], t[8], t[9]};
  float *out = new_activation(pass, c, h, w);
  if (out && !dm_attention_forward(out, x, &weights, pass->n, c,
                                   (size_t)h * w, 1,
                                   pass->vae->config.norm_num_groups,
                                   VAE_NORM_EPS, 1.0f)) {
    free(out);
    out = NULL;
    out_of_memory(pass);
  }
  free(x);
  return out;
}

/* The stride-2 conv (encoder) or nearest x2 then conv (decoder) of a
 * block; consumes x (N, c, *h, *w) and updates *h, *w. */
static float *resample_forward(Pass *pass, float *x, int32_t c, int32_t *h,
                               int32_t *w, VaeModule module, bool up) {
  const int32_t h_in = *h, w_in = *w;
  *h = up ? 2 * h_in : h_in / 2;
  *w = up ? 2 * w_in : w_in / 2;
  float *in = x;
  if (up) {
    in = new_activation(pass, c, *h, *w);
    if (in) dm_upsample2x_forward(in, x, pass->n, c, h_in, w_in);
    free(x);
    if (in == NULL) return NULL;
  }
  float *out = new_activation(pass, c, *h, *w);
  const bool ok = out && conv(pass, out, in, module, c, up ? *h : h_in,
                              up ? *w : w_in, c, 3, up ? 1 : 2, false);
  free(in);
  if (ok) return out;
  free(out);
  return NULL;
}

/* Resnet, attention, resnet at the mid_channels. Consumes x. */
static float *mid_forward(Pass *pass, float *x, const VaeCoder *coder,
                          int32_t h, int32_t w) {
  x = resnet_forward(pass, x, h, w, &coder->mid[0]);
  if (x && coder->mid_attention >= 0)
    x = attention_forward(pass, x, coder->mid_channels, h, w,
                          coder->mid_attention);
  return x ? resnet_forward(pass, x, h, w, &coder->mid[1]) : NULL;
}

/* The blocks in order; consumes x (N, c_first, *h, *w). */
static float *blocks_forward(Pass *pass, float *x, const VaeCoder *coder,
                             int32_t *h, int32_t *w) {
  for (int32_t i = 0; x && i < pass->vae->config.n_levels; i++) {
    const VaeBlock *block = &coder->blocks[i];
    for (int32_t j = 0; x && j < block->n_resnets; j++)
      x = resnet_forward(pass, x, *h, *w, &block->resnets[j]);
    if (x && block->resample >= 0)
      x = resample_forward(pass, x, block->resnets[0].c_out, h, w,
                           block->resample, coder->is_decoder);
  }
  return x;
}

/* out (N, c_out, H', W') = conv_out(silu(norm_out(the stages(conv_in(in
 * (N, c_in, H, W)))))), H' = H / scale for the encoder, H * scale for the
 * decoder. */
static bool coder_forward(Pass *pass, float *out, const float *in,
                          const VaeCoder *coder, int32_t h, int32_t w) {
  float *x = new_activation(pass, coder->c_first, h, w);
  if (x && !conv(pass, x, in, coder->conv_in, coder->c_in, h, w,
                 coder->c_first, 3, 1, false))
    g_clear_pointer(&x, free);
  if (x && coder->is_decoder) x = mid_forward(pass, x, coder, h, w);
  if (x) x = blocks_forward(pass, x, coder, &h, &w);
  if (x && !coder->is_decoder) x = mid_forward(pass, x, coder, h, w);
  if (x == NULL) return false;
  norm(pass, x, x, coder->norm_out, coder->c_last, h, w, true);
  const bool ok = conv(pass, out, x, coder->conv_out, coder->c_last, h, w,
                       coder->c_out, 3, 1, false);
  free(x);
  return ok;
}

/* ---- the passes ---------------------------------------------------------- */

static bool check_tensors(const DmTensor *out, const DmTensor *in,
                          int32_t c_out, int32_t c_in, int32_t multiple,
                          int32_t h_out, int32_t w_out, GError **error) {
  if (in->c == c_in && out->c == c_out && out->n == in->n &&
      in->h % multiple == 0 && in->w % multiple == 0 && out->h == h_out &&
      out->w == w_out)
    return true;
  g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
              "the VAE maps (N, %d, H, W) with H and W multiples of %d to "
              "(N, %d, %d, %d); got (%d, %d, %d, %d) to (%d, %d, %d, %d)",
              c_in, multiple, c_out, h_out, w_out, in->n, in->c, in->h,
              in->w, out->n, out->c, out->h, out->w);
  return false;
}

static bool pass_init(Pass *pass, const DmVae *vae, int32_t n,
                      GError **error) {
  *pass = (Pass){.vae = vae, .n = n, .error = error};
  dm_threads_init();
  if (vae->weights.dtype == DM_DTYPE_F32) return true;
  pass->scratch = malloc(vae->layout->scratch * sizeof(float));
  if (pass->scratch == NULL)
    g_set_error(error, DM_ERROR, DM_ERROR_NO_MEMORY,
                "out of memory for %zu weights in float32",
                vae->layout->scratch);
  return pass->scratch != NULL;
}

bool dm_vae_encode_moments(const DmVae *vae, DmTensor *moments,
                           const DmTensor *image, GError **error) {
  const VaeCoder *encoder = &vae->layout->encoder;
  const int32_t scale = dm_vae_scale(&vae->config);
  if (!check_tensors(moments, image, encoder->c_out, encoder->c_in, scale,
                     image->h / scale, image->w / scale, error))
    return false;
  Pass pass;
  if (!pass_init(&pass, vae, image->n, error)) return false;
  const VaeModule quant = vae->layout->quant_conv;
  float *raw = quant < 0 ? moments->data
                         : new_activation(&pass, moments->c, moments->h,
                                          moments->w);
  bool ok = raw && coder_forward(&pass, raw, image->data, encoder, image->h,
                                 image->w);
  if (ok && quant >= 0)
    ok = conv(&pass, moments->data, raw, quant, moments->c, moments->h,
              moments->w, moments->c, 1, 1, false);
  if (raw != moments->data) free(raw);
  free(pass.scratch);
  return ok;
}

bool dm_vae_decode(const DmVae *vae, DmTensor *image, const DmTensor *latent,
                   GError **error) {
  const VaeCoder *decoder = &vae->layout->decoder;
  const int32_t scale = dm_vae_scale(&vae->config);
  if (!check_tensors(image, latent, decoder->c_out, decoder->c_in, 1,
                     latent->h * scale, latent->w * scale, error))
    return false;
  Pass pass;
  if (!pass_init(&pass, vae, latent->n, error)) return false;
  const size_t count = dm_tensor_numel(latent);
  float *z = new_activation(&pass, latent->c, latent->h, latent->w);
  bool ok = z != NULL;
  if (ok) /* back to the autoencoder's own scale */
    for (size_t i = 0; i < count; i++)
      z[i] = latent->data[i] / vae->config.scaling_factor +
             vae->config.shift_factor;
  const VaeModule post_quant = vae->layout->post_quant_conv;
  float *input = z;
  if (ok && post_quant >= 0) {
    input = new_activation(&pass, latent->c, latent->h, latent->w);
    ok = input && conv(&pass, input, z, post_quant, latent->c, latent->h,
                       latent->w, latent->c, 1, 1, false);
  }
  ok = ok && coder_forward(&pass, image->data, input, decoder, latent->h,
                           latent->w);
  if (input != z) free(input);
  free(z);
  free(pass.scratch);
  return ok;
}
