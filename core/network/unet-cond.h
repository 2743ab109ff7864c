/* gimp-diffusion core: diffusers' UNet2DConditionModel, the noise
 * predictor of Stable Diffusion 1.x and 2.x (internal).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * The latent diffusion U-Net (Rombach et al. 2022, sec. 3.3 and app. E.2):
 * diffusers' UNet2DModel (network/unet.h) with a Transformer2DModel after
 * every resnet of the cross-attention blocks, attending to text states.
 * conv_in; per level, layers_per_block resnets, each followed in a
 * CrossAttnDownBlock2D by a transformer (not in a DownBlock2D), and a
 * stride-2 downsampler except at the last level; the mid block (resnet,
 * transformer, resnet); per level in reverse, layers_per_block + 1 resnets
 * on [hidden | skip], each followed in a CrossAttnUpBlock2D by a
 * transformer, and nearest x2 + conv except at the last up block;
 * GroupNorm, SiLU, conv_out. Every resnet adds a projection of the time
 * embedding SiLU(linear_2(SiLU(linear_1(sinusoid(t))))).
 *
 * A transformer (Transformer2DModel, continuous input) on x (N, C, H, W):
 *   h = proj_in(GroupNorm(x)) as (N, H W, C) tokens (a 1x1 conv, or a
 *       linear with use_linear_projection: the same map, shaped
 *       (C, C, 1, 1) or (C, C));
 *   per BasicTransformerBlock (Vaswani et al. 2017, pre-norm):
 *   h += attn1(LN1 h)                    self-attention over the pixels
 *   h += attn2(LN2 h, text)              cross-attention to the text
 *   h += ff.net.2(GEGLU(ff.net.0.proj(LN3 h)))   (Shazeer 2020, eq. 6)
 *   out = x + proj_out(h) as (N, C, H, W).
 * attn: to_q, to_k, to_v without bias, heads of C / heads channels,
 * to_out.0 with bias; GroupNorm 1e-6, LayerNorm 1e-5.
 *
 * Parameters carry diffusers' state-dict names ("conv_in.weight",
 * "down_blocks.0.attentions.1.transformer_blocks.0.attn2.to_k.weight",
 * "mid_block.resnets.1.conv2.bias", ...) and live in a DmWeights in the
 * file's precision; arithmetic is float32. */
#ifndef DM_NETWORK_UNET_COND_H
#define DM_NETWORK_UNET_COND_H

#include "network/params.h"

/* Bounds on a config (a network from a file is untrusted). */
#define DM_UNET_COND_MAX_CHANNELS 8192 /* any channel or feature count */
#define DM_UNET_COND_MAX_LAYERS 16     /* layers_per_block */
#define DM_UNET_COND_MAX_TRANSFORMER_LAYERS 64

/* The fields of diffusers' UNet2DConditionModel config that the network
 * uses (model/unet-cond-files.h reads them from config.json). */
typedef struct {
  int32_t in_channels;  /* 4; 9 for inpainting: [latent, mask, masked
                           image's latent] */
  int32_t out_channels; /* 4 */
  bool center_input_sample; /* sample -> 2 sample - 1 before conv_in */
  bool flip_sin_to_cos;     /* sinusoid [cos | sin] instead of [sin | cos] */
  int32_t freq_shift;       /* the sinusoid's downscale_freq_shift */
  int32_t time_embedding_dim; /* the MLP's width: 4 block_out_channels[0] */
  int32_t n_levels;           /* len(block_out_channels) */
  int32_t block_out_channels[DM_MAX_LEVELS];
  bool down_cross_attention[DM_MAX_LEVELS]; /* level i: CrossAttnDownBlock2D,
                                               else DownBlock2D */
  bool up_cross_attention[DM_MAX_LEVELS];   /* up block i (level n-1-i):
                                               CrossAttnUpBlock2D, else
                                               UpBlock2D */
  /* The heads of the transformers at level i (also those of up block
   * n-1-i; the mid block's are the last level's). diffusers passes the
   * config's "attention_head_dim" as the number of heads to these blocks
   * (issue #2011): SD 1.x's 8 is 8 heads (40 to 160 channels each), SD
   * 2.x's [5, 10, 20, 20] heads of 64 channels. */
  int32_t heads[DM_MAX_LEVELS];
  int32_t layers_per_block;
  int32_t transformer_layers_per_block; /* BasicTransformerBlocks */
  int32_t downsample_padding; /* 1; 0 pads right and bottom only */
  float mid_block_scale_factor; /* the mid block's resnets divide by it */
  int32_t norm_num_groups;
  float norm_eps;               /* the resnets' and conv_norm_out's */
  int32_t cross_attention_dim;  /* text width: 768 (SD 1.x), 1024 (2.x) */
  bool use_linear_projection;   /* proj_in/out as linears (SD 2.x) */
} DmUnetCondConfig;

/* diffusers' defaults: SD 1.x's layout (320, 640, 1280, 1280; three
 * CrossAttnDownBlock2D and a DownBlock2D, UpBlock2D and three
 * CrossAttnUpBlock2D; 8 heads; 2 layers per block; 32 groups, eps 1e-5;
 * 4 channels in and out) with cross_attention_dim 1280. */
void dm_unet_cond_config_default(DmUnetCondConfig *config);

/* ---- layout: indices into the weights' table (each bias follows its
 * weight; -1 where a layer is absent) ------------------------------------ */

typedef struct {
  int32_t c_in, c_out;
  float output_scale; /* mid_block_scale_factor in the mid block, else 1 */
  int32_t norm1, conv1, time_emb_proj, norm2, conv2;
  int32_t conv_shortcut; /* 1x1, where c_in != c_out */
} DmUnetCondResnet;

/* One BasicTransformerBlock. An attention is the index of its to_q;
 * to_k, to_v (no bias either) and to_out.0's weight and bias follow. */
typedef struct {
  int32_t norm1, attn1, norm2, attn2, norm3;
  int32_t ff_in, ff_out; /* ff.net.0.proj (8 C, C), ff.net.2 (C, 4 C) */
} DmUnetCondBlock;

typedef struct {
  int32_t channels, heads;
  int32_t norm, proj_in, proj_out;
  /* (transformer_layers_per_block), in DmUnetCond.blocks; NULL where a
   * block has no transformers */
  const DmUnetCondBlock *blocks;
} DmUnetCondTransformer;

/* A resnet and, in a cross-attention block, the transformer after it. */
typedef struct {
  DmUnetCondResnet resnet;
  DmUnetCondTransformer transformer;
} DmUnetCondLayer;

typedef struct {
  int32_t n_layers;
  DmUnetCondLayer layers[DM_UNET_COND_MAX_LAYERS + 1]; /* up blocks: one
                                                          more */
  int32_t resample; /* downsamplers.0.conv / upsamplers.0.conv, or -1 */
} DmUnetCondStage;

typedef struct {
  DmUnetCondConfig config;
  DmWeights weights;
  int32_t conv_in, time_linear_1, time_linear_2, conv_norm_out, conv_out;
  DmUnetCondStage down[DM_MAX_LEVELS], up[DM_MAX_LEVELS];
  DmUnetCondResnet mid_resnets[2];
  DmUnetCondTransformer mid_transformer;
  DmUnetCondBlock *blocks; /* every transformer's blocks, owned */
} DmUnetCond;

/* Builds only the parameter table of `config` (validated here: sizes
 * within the bounds above, heads and groups dividing the channels of the
 * layers that use them): what a loader checks a file against before it
 * allocates anything. */
bool dm_unet_cond_params_describe(DmParams *params,
                                  const DmUnetCondConfig *config,
                                  GError **error);

/* A network for `config` whose weights' table is built and whose data is
 * NULL: fill it with dm_weights_read() from a file (model/unet-cond-files.h;
 * a single-file checkpoint's loader renames its tensors to these names
 * first), or dm_unet_cond_init_random(). Clear with dm_unet_cond_clear(). */
bool dm_unet_cond_init(DmUnetCond *model, const DmUnetCondConfig *config,
                       GError **error);
/* The same with the weights allocated in `dtype` and filled by
 * dm_weights_fill_random(seed): tests and benchmarks. */
bool dm_unet_cond_init_random(DmUnetCond *model,
                              const DmUnetCondConfig *config, DmDtype dtype,
                              uint64_t seed, GError **error);
void dm_unet_cond_clear(DmUnetCond *model);

/* Height and width of a sample must be multiples of this: 2^(n_levels-1). */
int32_t dm_unet_cond_size_multiple(const DmUnetCondConfig *config);

/* Floating-point operations of one image's forward at H x W with
 * `text_length` text tokens (a multiply-add counts 2; convolutions,
 * linears and attention products, not norms or activations). */
double dm_unet_cond_flops(const DmUnetCond *model, int32_t height,
                          int32_t width, int32_t text_length);

/* out (N, out_channels, H, W) = the network's output for sample (N,
 * in_channels, H, W) at timesteps (N) (one per image: classifier-free
 * guidance runs the same step twice), each image attending to its own
 * text states (N, L, cross_attention_dim) (L = 77 for CLIP's padded
 * prompts). H and W multiples of dm_unet_cond_size_multiple(). Activations
 * are freed as soon as they are dead: at the peak, the skip tensors, a
 * layer's input and output and a transformer's token buffers (about five
 * times its (N, H W, C) tokens), plus, for weights not in F32, one layer's
 * weights converted to float32. DM_ERROR_INVALID_ARGUMENT naming a bad
 * size or timestep; DM_ERROR_NO_MEMORY naming what could not be
 * allocated. */
bool dm_unet_cond_forward(const DmUnetCond *model, float *out,
                          const float *sample, int32_t n, int32_t height,
                          int32_t width, const float *timesteps,
                          const float *text, int32_t text_length,
                          GError **error);

#endif /* DM_NETWORK_UNET_COND_H */
