/* gimp-diffusion core: diffusion models on the CPU.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * The public API of libdmcore. Conventions:
 *  - Every name is prefixed `dm_` (functions) or `Dm` (types); enums end in a
 *    `_COUNT` member and have `_name()` / `_from_name()` helpers.
 *  - Tensors are float32, row-major, dimension order (N, C, H, W).
 *  - A function that can fail on bad input returns `bool` (or NULL) and sets
 *    `*error` (GLib GError, domain DM_ERROR, may be NULL) with a message that
 *    names the offending file, field or tensor. Nothing here calls exit() or
 *    abort() on bad input.
 *  - Ownership: `_new` / `_load` results belong to the caller, who releases
 *    them with the matching `_free`. Pointers passed in are borrowed for the
 *    duration of the call unless a comment says otherwise.
 *
 * SINGLE-FILE MODEL FORMAT (.safetensors)
 * ---------------------------------------
 * A model is one safetensors file, readable by any safetensors library:
 *   bytes 0..7     u64 little-endian N, the length of the JSON header;
 *   bytes 8..8+N   UTF-8 JSON object (may be padded with trailing spaces):
 *     "<tensor name>": {"dtype": "F32"|"F16"|"BF16",
 *                       "shape": [d0, d1, ...],
 *                       "data_offsets": [begin, end]}   (relative to the
 *                                                        data section)
 *     "__metadata__":  {string: string}, with these keys:
 *        "format"                  "pt"
 *        "dm.config"               UNet2DModel config.json text
 *        "dm.scheduler_config"     scheduler_config.json text (optional)
 *        "dm.model_card"           Markdown text (optional)
 *   bytes 8+N..    the data section: tensors back to back, little-endian.
 * Tensor names and shapes are diffusers' state-dict names for UNet2DModel
 * (conv_in.weight, down_blocks.0.resnets.0.norm1.weight, ...). Every tensor
 * the config implies must be present with exactly its shape; no other tensor
 * may be. The same rules hold for a diffusers folder (config.json +
 * diffusion_pytorch_model.safetensors [+ scheduler_config.json]) and for a
 * pipeline folder (model_index.json, unet/, scheduler/).
 */
#ifndef DM_H
#define DM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>

G_BEGIN_DECLS

#if defined(DM_BUILDING_CORE)
#define DM_API __attribute__((visibility("default")))
#else
#define DM_API
#endif

/* ---- errors ------------------------------------------------------------ */

#define DM_ERROR (dm_error_quark())
typedef enum {
  DM_ERROR_INVALID_ARGUMENT, /* a bad parameter from the caller */
  DM_ERROR_IO,               /* a file could not be read or written */
  DM_ERROR_FORMAT,           /* a file is corrupt or malformed */
  DM_ERROR_UNSUPPORTED,      /* valid, but a feature we do not implement */
  DM_ERROR_NO_MEMORY,        /* an allocation failed */
  DM_ERROR_CANCELLED,        /* a progress callback asked to stop */
} DmErrorCode;
DM_API GQuark dm_error_quark(void);

/* ---- threads ----------------------------------------------------------- */

/* Sets the number of threads for all later calls (OpenBLAS and our own
 * loops). n <= 0 means one per core. Results are bit-identical for a given
 * thread count and agree within float rounding across thread counts. */
DM_API void dm_set_num_threads(int32_t n);
DM_API int32_t dm_get_num_threads(void);

/* ---- tensors ----------------------------------------------------------- */

typedef struct {
  float *data; /* (n, c, h, w), owned by the tensor */
  int32_t n, c, h, w;
} DmTensor;

/* A zero-filled tensor, or NULL with *error set if a dimension is not
 * positive or the allocation fails. Free with dm_tensor_free(). */
DM_API DmTensor *dm_tensor_new(int32_t n, int32_t c, int32_t h, int32_t w,
                               GError **error);
DM_API void dm_tensor_free(DmTensor *tensor);
DM_API size_t dm_tensor_numel(const DmTensor *tensor);

/* Pads `in` on the right and bottom by mirror reflection so that height and
 * width become multiples of `multiple` (works for any pad, even larger than
 * the image). Returns a new tensor (caller frees). */
DM_API DmTensor *dm_tensor_pad_reflect(const DmTensor *in, int32_t multiple,
                                       GError **error);
/* Copies the top-left (h, w) window of `in` into a new tensor. */
DM_API DmTensor *dm_tensor_crop(const DmTensor *in, int32_t h, int32_t w,
                                GError **error);

/* ---- network configuration (diffusers UNet2DModel config.json) --------- */

#define DM_MAX_LEVELS 8

typedef struct {
  int32_t sample_size;
  int32_t in_channels;
  int32_t out_channels;
  bool center_input_sample;     /* x -> 2x - 1 before conv_in */
  int32_t freq_shift;           /* sinusoid "downscale_freq_shift" */
  bool flip_sin_to_cos;         /* [cos | sin] instead of [sin | cos] */
  int32_t n_levels;             /* len(block_out_channels) */
  int32_t block_out_channels[DM_MAX_LEVELS];
  bool down_attention[DM_MAX_LEVELS]; /* AttnDownBlock2D at level i */
  bool up_attention[DM_MAX_LEVELS];   /* AttnUpBlock2D at up block i */
  int32_t layers_per_block;
  float mid_block_scale_factor;
  int32_t downsample_padding;   /* 0: pad right/bottom by one; 1: both */
  int32_t attention_head_dim;   /* 0 = null: one head of all channels */
  int32_t norm_num_groups;
  int32_t attn_norm_num_groups; /* mid-block attention; 0 = null */
  float norm_eps;
  bool has_mid_block;           /* mid_block_type "UNetMidBlock2D" */
  bool add_attention;           /* mid-block attention */
  float dropout;                /* kept for export; unused at inference */
} DmUnetConfig;

/* Fills `config` from a config.json text. Unsupported values (fourier time
 * embedding, class embeddings, other block types, ...) are refused with a
 * DM_ERROR_UNSUPPORTED that names the field and the value. */
DM_API bool dm_unet_config_from_json(DmUnetConfig *config, const char *json,
                                     GError **error);
/* A newly allocated config.json text for `config` (caller g_free()s). */
DM_API char *dm_unet_config_to_json(const DmUnetConfig *config);
/* Named layouts for training from scratch: "tiny", "small", "base" (index
 * 0, 1, 2; NULL past the last). Fills `config` with the layout at
 * sample_size; false for an unknown name. */
DM_API const char *dm_unet_preset_name(int32_t index);
DM_API bool dm_unet_config_preset(const char *name, int32_t sample_size,
                                  DmUnetConfig *config);
/* Checks internal consistency (group counts divide channels, ...). */
DM_API bool dm_unet_config_validate(const DmUnetConfig *config,
                                    GError **error);

/* ---- noise schedule (diffusers DDPMScheduler / DDIMScheduler config) --- */

typedef enum {
  DM_BETA_LINEAR,
  DM_BETA_SCALED_LINEAR,
  DM_BETA_SQUAREDCOS_CAP_V2,
  DM_BETA_SCHEDULE_COUNT
} DmBetaSchedule;

typedef enum {
  DM_PREDICT_EPSILON,
  DM_PREDICT_V,
  DM_PREDICT_SAMPLE,
  DM_PREDICTION_COUNT
} DmPrediction;

typedef enum {
  DM_SPACING_LEADING,
  DM_SPACING_TRAILING,
  DM_SPACING_LINSPACE,
  DM_SPACING_COUNT
} DmSpacing;

typedef enum {
  DM_VARIANCE_FIXED_SMALL,
  DM_VARIANCE_FIXED_LARGE,
  DM_VARIANCE_COUNT
} DmVarianceType;

/* The forward process: variance preserving (Ho et al. 2020; Song et al.
 * 2021 eq. 11) or variance exploding (Song & Ermon 2019; Song et al. 2021
 * eq. 9) with geometric noise levels. */
typedef enum {
  DM_SDE_VP,
  DM_SDE_VE,
  DM_SDE_COUNT
} DmSde;

typedef struct {
  DmSde sde;
  int32_t num_train_timesteps;
  /* VE: noise level sigma_t = sigma_min (sigma_max / sigma_min)^(t / (T-1))
   * at training timestep t = 0 .. T - 1; the network gets the VE variable
   * x + sigma_t z and t (the level's index, as a VP network gets its
   * timestep) and predicts z (epsilon), so its score is -epsilon / sigma_t.
   * Such a schedule is also a VP schedule with alpha_bar_t =
   * 1 / (1 + sigma_t^2) seen through x_vp = x / sqrt(1 + sigma^2), which is
   * how every sampler runs on it. The beta fields are ignored. */
  float sigma_min, sigma_max;
  float beta_start;
  float beta_end;
  DmBetaSchedule beta_schedule;
  DmPrediction prediction_type;
  bool clip_sample;
  float clip_sample_range;
  DmVarianceType variance_type;
  DmSpacing timestep_spacing;
  int32_t steps_offset;
  bool set_alpha_to_one; /* DDIM's final alpha_bar = 1 (else alphas_cumprod[0]) */
} DmScheduleConfig;

DM_API const char *dm_sde_name(DmSde sde); /* "vp", "ve" */
DM_API bool dm_sde_from_name(const char *name, DmSde *out);
DM_API const char *dm_beta_schedule_name(DmBetaSchedule schedule);
DM_API bool dm_beta_schedule_from_name(const char *name, DmBetaSchedule *out);
DM_API const char *dm_prediction_name(DmPrediction prediction);
DM_API bool dm_prediction_from_name(const char *name, DmPrediction *out);
DM_API const char *dm_spacing_name(DmSpacing spacing);
DM_API bool dm_spacing_from_name(const char *name, DmSpacing *out);
DM_API const char *dm_variance_type_name(DmVarianceType type);
DM_API bool dm_variance_type_from_name(const char *name, DmVarianceType *out);

/* DDPMScheduler's defaults (VP, linear 1e-4..0.02 over 1000 steps,
 * epsilon, clip_sample true, fixed_small, leading, offset 0; for VE
 * sigma 0.01 .. 50). */
DM_API void dm_schedule_config_default(DmScheduleConfig *config);
/* Parses a scheduler_config.json text over the defaults. "_class_name":
 * "ScoreSdeVeScheduler" makes it VE (sigma_min, sigma_max read; only
 * epsilon prediction). */
DM_API bool dm_schedule_config_from_json(DmScheduleConfig *config,
                                         const char *json, GError **error);
/* A newly allocated scheduler_config.json text (caller g_free()s). */
DM_API char *dm_schedule_config_to_json(const DmScheduleConfig *config);

/* The discrete schedule's tables, computed in float32 as diffusers does. */
typedef struct {
  int32_t num_train_timesteps;
  float *betas;          /* (T) */
  float *alphas_cumprod; /* (T): alpha_bar_t = prod_{s<=t} (1 - beta_s) */
} DmSchedule;

DM_API DmSchedule *dm_schedule_new(const DmScheduleConfig *config,
                                   GError **error);
DM_API void dm_schedule_free(DmSchedule *schedule);
/* Writes the `num_steps` inference timesteps, descending, as diffusers'
 * set_timesteps(num_steps) does for the config's spacing and offset.
 * `timesteps` must hold num_steps entries. */
DM_API bool dm_schedule_timesteps(const DmScheduleConfig *config,
                                  int32_t num_steps, int32_t *timesteps,
                                  GError **error);

/* ---- samplers ---------------------------------------------------------- */

typedef enum {
  DM_SAMPLER_DDPM,     /* ancestral sampling (Ho et al. 2020, Alg. 2) */
  DM_SAMPLER_DDIM,     /* Song, Meng & Ermon 2020, eq. 12, eta in [0, 1] */
  DM_SAMPLER_SDE,      /* reverse SDE (VP or VE as the model), Euler-Maruyama */
  DM_SAMPLER_PC,       /* predictor-corrector, Langevin corrector (idem) */
  DM_SAMPLER_ODE,      /* probability-flow ODE, Heun's method (idem) */
  DM_SAMPLER_LANGEVIN, /* annealed Langevin dynamics (Song & Ermon 2019) */
  /* The samplers Stable Diffusion users know, as diffusers runs them: */
  DM_SAMPLER_EULER,    /* Euler on the probability-flow ODE in the VE view
                        * (EulerDiscreteScheduler; Karras et al. 2022) */
  DM_SAMPLER_EULER_ANCESTRAL, /* Euler plus fresh noise at each step
                        * (EulerAncestralDiscreteScheduler) */
  DM_SAMPLER_DPMPP_2M_KARRAS, /* DPM-Solver++(2M) (Lu et al. 2022, Alg. 2)
                        * on Karras et al. 2022's noise levels (eq. 5) */
  DM_SAMPLER_LCM,      /* multistep consistency sampling for LCM-distilled
                        * models (Luo et al. 2023), at most 50 steps */
  DM_SAMPLER_COUNT
} DmSampler;

/* Names ("ddpm", "ddim", "sde", "pc", "ode", "langevin", "euler",
 * "euler-ancestral", "dpmpp-2m-karras", "lcm") and one-line descriptions
 * (English; the gettext domain "gimp-diffusion" holds their
 * translations), from one table that the CLI, the plug-in and the docs use.
 * Every sampler but two runs on the schedule's own timesteps (so on any
 * model); dpmpp-2m-karras runs on Karras et al.'s levels between the
 * schedule's smallest and largest noise (the network told the nearest
 * timestep), lcm on the LCM distillation's timesteps (every (50 /
 * steps)-th of t = 20 i - 1 for 1000 training timesteps). sde, pc, ode,
 * langevin, euler and euler-ancestral see the model through the
 * continuous views of Song et al. 2021: VP-SDE with beta from alpha_bar,
 * and the VE variable x / sqrt(alpha_bar) with sigma = sqrt((1 -
 * alpha_bar) / alpha_bar). Every sampler honours the config's
 * clip_sample: ddpm, ddim, euler, euler-ancestral, dpmpp-2m-karras and
 * lcm clip their x0 estimate (as diffusers' DDPM, DDIM and LCM do); the
 * others use the epsilon of the clipped x0 estimate at each network
 * evaluation. */
DM_API const char *dm_sampler_name(DmSampler sampler);
DM_API const char *dm_sampler_description(DmSampler sampler);
DM_API bool dm_sampler_from_name(const char *name, DmSampler *out);

/* Sampling options. Every field's range and default is in the option
 * table (DmOptionInfo, below); dm_sample() checks the fields its sampler
 * reads against it. */
typedef struct {
  DmSampler sampler;
  int32_t steps;  /* at most the schedule's num_train_timesteps (lcm: 50) */
  uint64_t seed;  /* all noise comes from Philox(seed, stream, index); the
                   * table's range is 31 bits, GIMP's integers */
  float eta;      /* DDIM: 0 deterministic .. 1 DDPM-like */
  float snr;      /* pc, langevin: signal-to-noise ratio r of the Langevin
                   * steps (Song et al. 2021, Alg. 4/5) */
  int32_t corrector_steps; /* pc, langevin: Langevin steps per level */
  /* RePaint resampling (Lugmayr et al. 2022, Alg. 1 with jumps): after
   * every `jump_length` steps, noise x forward again by that many steps and
   * sample them once more, until each stretch has been sampled
   * `jump_repeats` times. 0 / 1 = off. */
  int32_t jump_length;
  int32_t jump_repeats;
  /* Mask-conditioned models (DM_CONDITIONING_MASK) only: classifier-free
   * guidance (Ho & Salimans 2022, eq. 6 with w' = w - 1), the network output
   * o = o_u + w (o_c - o_u) from the conditional o_c and the unconditional
   * o_u (dropout mode). w = 1 is o_c alone, one network pass per
   * evaluation; any other w runs the network on two images each time.
   * dm_sample() only checks its range. */
  float guidance_scale;
  /* Where sampling starts (SDEdit, Meng et al. 2022, as diffusers'
   * img2img `strength`): 1 starts from pure noise at the first timestep;
   * s in (0, 1) runs only the last max(1, floor(s * steps)) steps, from
   * the image that x holds on entry noised to the first of them
   * (sqrt(alpha_bar) x + sqrt(1 - alpha_bar) z, Ho et al. 2020 eq. 4).
   * In dm_model_inpaint that image is the known pixels with the hole as
   * DmAreaOptions.hole_start says (by default a smooth fill, so that the
   * fill's tones come from its surroundings). 0 counts as 1, so options
   * set to zero start from noise. */
  float strength;
} DmSampleOptions;

/* The library's defaults (the option table's DM_TASK_GENERATE column):
 * DDIM, 50 steps, seed 0, eta 0, snr 0.16, one corrector step, no
 * resampling, guidance 1, strength 1. */
DM_API void dm_sample_options_default(DmSampleOptions *options);

/* The network seen by a sampler: model_output (C, H, W) = the raw network
 * output (epsilon, v or x0 as the schedule's prediction_type says) for
 * x_t (C, H, W) at training timestep t. Return false with *error set to stop
 * (the sampler then fails with that error). */
typedef bool (*DmDenoiseFunc)(float *model_output, const float *x_t,
                              float t, void *user_data, GError **error);

/* Called after each network evaluation with (done, total); return false to
 * cancel: the sampler then fails with DM_ERROR_CANCELLED and leaves `x`
 * unspecified. */
typedef bool (*DmProgressFunc)(int32_t done, int32_t total, void *user_data);

/* Inpainting by replacement (Song et al. 2021, §5 and App. I.2; Lugmayr et
 * al. 2022, eq. 8): after every step the known part of x is replaced by the
 * known image noised to that step's level, blended by the mask. */
typedef struct {
  const float *known; /* (C, H, W) the image, in the model's [-1, 1] scale */
  const float *mask;  /* (C, H, W) 1 = generate, 0 = keep, between = blend */
} DmInpaint;

/* What x holds: a (channels, height, width) window whose top-left pixel is
 * (origin_x, origin_y) in a larger image. Noise is drawn per absolute pixel
 * (channel, origin_y + y, origin_x + x), so a pixel gets the same noise
 * whatever window, tiling or thread count it is sampled with. channels
 * <= 255; origin + size <= 2^20 on each axis. Any array of values can be
 * described as one channel of one row, or rows of a batch. */
typedef struct {
  int32_t channels, height, width;
  int32_t origin_x, origin_y;
} DmSampleGrid;

/* Draws x (channels, height, width) from the model: pure noise in, a sample
 * out (with options->strength < 1: x's contents, noised, in). With
 * `inpaint`, known values (mask 0) of the result equal `known` exactly.
 * `progress` may be NULL. The number of network evaluations is
 * dm_sample_evaluations(). */
DM_API bool dm_sample(float *x, const DmSampleGrid *grid,
                      const DmScheduleConfig *config,
                      const DmSampleOptions *options, DmDenoiseFunc denoise,
                      void *denoise_data, const DmInpaint *inpaint,
                      DmProgressFunc progress, void *progress_data,
                      GError **error);
/* Network evaluations dm_sample() will make (INT32_MAX if more; dm_sample
 * refuses options that need over 10 million). */
DM_API int32_t dm_sample_evaluations(const DmSampleOptions *options);

/* ---- models ------------------------------------------------------------ */

typedef struct DmModel DmModel;

/* Loads a model from (a) a diffusers model folder, (b) a diffusers pipeline
 * folder, or (c) a single .safetensors file in the format above. The file
 * is treated as untrusted. Returns NULL with *error naming the problem. */
DM_API DmModel *dm_model_load(const char *path, GError **error);
/* dm_model_load() of `model`: a path to a model file or folder, or the
 * name of an installed model (gimp-diffusion/models of the user's data
 * folder, $XDG_DATA_HOME, or of a system data folder, $XDG_DATA_DIRS, where
 * the bundled models are installed), with or without ".safetensors". */
DM_API DmModel *dm_model_load_named(const char *model, GError **error);
/* The path `model` stands for (g_free it): itself when it exists or
 * names a path, else the installed model of that name (as
 * dm_model_load_named finds it, a Stable Diffusion checkpoint too), else
 * itself, so that a loader's error names what was asked for. */
DM_API char *dm_model_find(const char *model);
/* One line on the model `name` stands for (dm_model_find), for model
 * lists: a Stable Diffusion checkpoint's family (dm_sd_family_describe),
 * or NULL for a pixel-space model or one that cannot be told (reads at
 * most headers and configs). g_free() it. */
DM_API char *dm_model_describe(const char *name);
/* The names of the installed models (folders and .safetensors files, the
 * suffix dropped), each once, sorted; free with g_strfreev(). */
DM_API char **dm_models_installed(void);
/* A model with the given layout and random weights (for benchmarks and
 * training from scratch). `schedule` may be NULL for DDPM's defaults. */
DM_API DmModel *dm_model_new_random(const DmUnetConfig *config,
                                    const DmScheduleConfig *schedule,
                                    uint64_t seed, GError **error);
DM_API void dm_model_free(DmModel *model);
/* A mask-conditioned copy (DmConditioning) of an unconditional model, to
 * fine-tune into an inpainting model: the same weights, with conv_in
 * widened to 2 C + 1 input channels whose new weights are zero, so that it
 * computes what `model` computes until it is trained (how Stable
 * Diffusion's inpainting model was started, Rombach et al. 2022). Caller
 * frees; `model` is only read. */
DM_API DmModel *dm_model_new_mask_conditioned(const DmModel *model,
                                              GError **error);

/* Writes a single .safetensors file (path ends in .safetensors) or else a
 * diffusers model folder. Written to a temporary name, then renamed. */
DM_API bool dm_model_save(const DmModel *model, const char *path,
                          GError **error);

/* What the network reads besides x_t, told by its channel counts
 * (C = out_channels, the image's channels): */
typedef enum {
  /* in_channels = C: x_t alone, an unconditional model. */
  DM_CONDITIONING_NONE,
  /* in_channels = 2 C + 1, the layout of diffusers' inpainting U-Nets:
   * channels 0 .. C-1 x_t, channel C the mask (1 = to fill, 0 = known,
   * between for soft edges), channels C+1 .. 2C the known image times
   * (1 - mask) (Palette, Saharia et al. 2022). Its dropout mode, mask all
   * ones and known image all zeros, is the model's unconditional one.
   * Files say so in the metadata "dm.conditioning" = "mask", with the
   * order in "dm.input_channels"; a loader refuses a file whose metadata
   * contradicts its channel counts. */
  DM_CONDITIONING_MASK,
  DM_CONDITIONING_COUNT /* also: the channels fit neither (such a model
                         * runs dm_model_forward but cannot sample) */
} DmConditioning;

DM_API const char *dm_conditioning_name(DmConditioning conditioning);
DM_API bool dm_conditioning_from_name(const char *name, DmConditioning *out);
/* The conditioning that a config's channel counts imply. */
DM_API DmConditioning dm_unet_config_conditioning(const DmUnetConfig *config);

/* Whether the model makes images that dm_model_inpaint/generate and the
 * front ends handle: grey (1) or RGB (3) output channels, and input
 * channels that DmConditioning knows (unconditional or mask-conditioned);
 * else DM_ERROR_UNSUPPORTED naming the channel counts. */
DM_API bool dm_model_check_image(const DmModel *model, GError **error);

/* Borrowed views, valid while the model lives. */
DM_API const DmUnetConfig *dm_model_config(const DmModel *model);
DM_API DmConditioning dm_model_conditioning(const DmModel *model);
DM_API const DmScheduleConfig *dm_model_schedule_config(const DmModel *model);
/* The model card (Markdown) or "" when there is none. */
DM_API const char *dm_model_card(const DmModel *model);
/* Replaces the model card (copied). */
DM_API void dm_model_set_card(DmModel *model, const char *card);

DM_API int64_t dm_model_param_count(const DmModel *model);
/* Multiply-adds times two of one forward pass for a 1-image batch of
 * height x width (convolutions, linears, attention). */
DM_API double dm_model_flops(const DmModel *model, int32_t height,
                             int32_t width);
/* Height and width of the input must be multiples of this. */
DM_API int32_t dm_model_size_multiple(const DmModel *model);
/* How far, in pixels, an input pixel can influence an output pixel through
 * the convolutions (the receptive field's radius; group norms and attention
 * see the whole input and are not counted). */
DM_API int32_t dm_model_receptive_radius(const DmModel *model);

/* Called with the output of each named stage of the forward pass
 * ("time_proj", "time_embedding", "conv_in", "down_blocks.<i>",
 * "mid_block", "up_blocks.<i>", "conv_norm_out"), for tests and debugging.
 * The tensor is borrowed for the duration of the call. */
typedef void (*DmInspectFunc)(const char *stage, const DmTensor *value,
                              void *user_data);
DM_API void dm_model_set_inspect(DmModel *model, DmInspectFunc func,
                                 void *user_data);

/* out (N, out_channels, H, W) = UNet(x (N, in_channels, H, W), t (N)).
 * H and W must be multiples of dm_model_size_multiple(); `out` must be
 * allocated by the caller with the right shape. */
DM_API bool dm_model_forward(DmModel *model, DmTensor *out, const DmTensor *x,
                             const float *timesteps, GError **error);
/* The same for any H and W: pads by reflection, evaluates, crops back. */
DM_API bool dm_model_forward_any_size(DmModel *model, DmTensor *out,
                                      const DmTensor *x,
                                      const float *timesteps, GError **error);

/* ---- Stable Diffusion checkpoints -----------------------------------------
 * Stable Diffusion 1.x and 2.x (text-to-image and inpainting) as users
 * download them: a diffusers pipeline folder (model_index.json, unet/,
 * vae/, text_encoder/, tokenizer/, scheduler/, each component checked by
 * its own loader) or a single .safetensors file in the original layout
 * (model.diffusion_model.*, first_stage_model.*, cond_stage_model.*; the
 * names are documented in core/model/sd-keys.h), in F32, F16 or BF16. The
 * weights stay in the file's dtype. Anything else (SDXL, SD3, Flux and
 * other transformers, LoRAs, textual inversions, ControlNets, a VAE or a
 * text encoder alone, PyTorch pickles) is refused with a
 * DM_ERROR_UNSUPPORTED that names what it is and the tensor that tells.
 *
 * A single file carries no configs: its family comes from its tensors
 * (the text encoder's layout and width, conv_in's input channels), and
 * what the tensors cannot tell, from this rule (diffusers' own for single
 * files): SD 1.x and every inpainting model predict epsilon at 512 x 512;
 * SD 2.x text-to-image predicts v at 768 x 768 (the 768-v models; SD 2.x
 * base, which predicts epsilon at 512, needs the option below or a
 * scheduler config). A scheduler/scheduler_config.json or
 * scheduler_config.json in the file's folder overrides the rule, and
 * DmSdLoadOptions.prediction both. Nor does a single file carry a
 * tokenizer: it comes from a tokenizer/ folder beside the file
 * (vocab.json, merges.txt and their configs), else from the CLIP
 * tokenizer a user installs once as gimp-diffusion/tokenizers/clip
 * (vocab.json and merges.txt) in the user's or a system data folder (as
 * installed models, dm_model_load_named), with the special tokens of the
 * checkpoint's version. */

typedef enum {
  DM_SD_1, /* OpenAI CLIP ViT-L/14 text encoder, 768-wide text states */
  DM_SD_2, /* OpenCLIP ViT-H/14, 1024-wide text states */
  DM_SD_VERSION_COUNT
} DmSdVersion;

typedef enum {
  DM_SD_PIPELINE_FOLDER,
  DM_SD_SINGLE_FILE,
  DM_SD_LAYOUT_COUNT
} DmSdLayout;

/* Where a family's prediction type came from. */
typedef enum {
  DM_SD_FROM_OPTION,    /* DmSdLoadOptions.prediction */
  DM_SD_FROM_SCHEDULER, /* a scheduler_config.json */
  DM_SD_FROM_RULE,      /* a single file's rule (above) */
  DM_SD_SOURCE_COUNT
} DmSdSource;

typedef struct {
  DmSdVersion version;
  bool inpainting;     /* conv_in reads 9 channels: the latent, the mask
                        * and the masked image's latent */
  DmPrediction prediction;
  DmSdSource prediction_source;
  int32_t image_size;  /* the side in pixels it was trained at */
  DmSdLayout layout;
} DmSdFamily;

typedef struct {
  /* DM_PREDICTION_COUNT: the checkpoint's (default); else this one. */
  DmPrediction prediction;
  /* A single file's tokenizer folder (vocab.json and merges.txt, used
   * with the version's special tokens); NULL: search (above). */
  const char *tokenizer;
} DmSdLoadOptions;

DM_API void dm_sd_load_options_default(DmSdLoadOptions *options);
/* "1.x", "2.x". */
DM_API const char *dm_sd_version_name(DmSdVersion version);
/* One line for people: "Stable Diffusion 2.x inpainting, epsilon
 * prediction, 512 x 512". g_free() it. */
DM_API char *dm_sd_family_describe(const DmSdFamily *family);

/* Whether `path` is for the loaders below rather than dm_model_load: a
 * pipeline folder whose model_index.json names no UNet2DModel, or a file
 * that is not a gimp-diffusion single-file model (no "dm.config"
 * metadata; pickles and other files included, so that the loaders below
 * name what they are). Reads at most a safetensors header. */
DM_API bool dm_sd_checkpoint_probe(const char *path);

/* The family of the checkpoint at `path` (options may be NULL) from its
 * configs and tensor names and shapes, reading no weights: a single
 * file's every tensor is checked by name and shape as loading would. */
DM_API bool dm_sd_checkpoint_identify(const char *path,
                                      const DmSdLoadOptions *options,
                                      DmSdFamily *family, GError **error);

typedef struct DmSdModel DmSdModel;

/* Loads the checkpoint at `path` (options may be NULL) with its text
 * encoder, tokenizer, U-Net, VAE, scheduler config and family; untrusted,
 * every tensor checked by name and shape before anything is allocated.
 * Free with dm_sd_model_free(). */
DM_API DmSdModel *dm_sd_model_load(const char *path,
                                   const DmSdLoadOptions *options,
                                   GError **error);
DM_API void dm_sd_model_free(DmSdModel *model);
/* What a front end's model setting names (dm_model_find: a path or an
 * installed name), loaded: a Stable Diffusion checkpoint
 * (dm_sd_checkpoint_probe) into *sd with default load options, else a
 * pixel-space model that makes images (dm_model_check_image) into *pixel;
 * the other is set to NULL. An empty setting is refused as
 * dm_model_load_named refuses it. */
DM_API bool dm_model_load_any(const char *model, DmModel **pixel,
                              DmSdModel **sd, GError **error);
/* Borrowed views, valid while the model lives. */
DM_API const DmSdFamily *dm_sd_model_family(const DmSdModel *model);
DM_API const DmScheduleConfig *dm_sd_model_schedule_config(
    const DmSdModel *model);
/* The folder its tokenizer came from. */
DM_API const char *dm_sd_model_tokenizer_folder(const DmSdModel *model);
/* Parameters of its networks, and the bytes their weights take. */
DM_API int64_t dm_sd_model_param_count(const DmSdModel *model);
DM_API int64_t dm_sd_model_weight_bytes(const DmSdModel *model);

/* ---- whole images: work area and tiles ---------------------------------- */

typedef struct {
  int32_t x, y, width, height;
} DmRect;

/* What the hole holds when dm_model_inpaint starts sampling from an image
 * (strength below 1, DmSampleOptions.strength). */
typedef enum {
  DM_HOLE_START_SMOOTH, /* a smooth fill from its surroundings: the harmonic
                         * fill, Laplace's equation with the known pixels as
                         * boundary values */
  DM_HOLE_START_PIXELS, /* the image's own pixels there, so that a rough
                         * painting in the hole guides the result (SDEdit's
                         * stroke-based editing, Meng et al. 2022) */
  DM_HOLE_START_COUNT
} DmHoleStart;

/* Largest image side dm_model_inpaint/generate accept (GIMP's limit). */
#define DM_MAX_IMAGE_SIDE 524288
/* A seamless image (DmAreaOptions.seamless) runs in one piece up to this
 * many pixels, or the pixel budget when that is larger: 1024 x 1024, about
 * 1 GiB of memory with the tiny layout. */
#define DM_SEAMLESS_MAX_PIXELS (1024 * 1024)

typedef struct {
  /* Context pixels kept around the mask's bounding box; < 0 = the model's
   * receptive radius (default), so every pixel the convolutions could use
   * to fill the hole is in the work area (dm_sd_inpaint: a quarter of the
   * box's larger side, at least 32). */
  int32_t context_margin;
  /* When the work area has more than pixel_budget pixels, the network
   * runs on tile_size x tile_size tiles that share at least tile_overlap
   * pixels (at most tile_size / 2) with each neighbour, blended linearly
   * there. The sampler's state and noise cover the whole area. Ranges and
   * defaults: the option table below. */
  int64_t pixel_budget;
  int32_t tile_size;
  int32_t tile_overlap;
  /* dm_model_generate only: the result tiles the plane without a seam. The
   * network's convolutions pad by wrapping around the image instead of
   * with zeros, so it sees a torus. The image's width and height must be
   * multiples of dm_model_size_multiple() and its area at most
   * DM_SEAMLESS_MAX_PIXELS or pixel_budget (it runs in one piece).
   * dm_model_inpaint ignores it. */
  bool seamless;
  /* dm_model_inpaint only: after sampling, the fill's pixels along the
   * hole's border take the mean of their known neighbours and the rest of
   * the fill is shifted by the harmonic interpolation of those changes, so
   * the fill meets its surroundings without a step in tone while keeping
   * its own texture (Poisson image editing's membrane, Perez et al. 2003).
   * Known pixels are not changed. dm_model_generate ignores it. */
  bool match_edges;
  /* dm_model_inpaint with a strength below 1 only: the image the hole
   * starts from; default DM_HOLE_START_SMOOTH. */
  DmHoleStart hole_start;
  /* Where the image handed to dm_model_inpaint/generate sits in the whole
   * picture: its top-left pixel's position there (default 0, 0). Noise is
   * indexed by position in the whole picture, so a front end that hands
   * over only the part around a hole gets the same pixels as one that
   * hands over everything. Not a user option (not in the table). */
  int32_t image_x, image_y;
} DmAreaOptions;

/* The library's defaults (the option table's DM_TASK_GENERATE column):
 * receptive-radius margin; untiled up to 512 x 512 pixels, else 256-pixel
 * tiles sharing 64. */
DM_API void dm_area_options_default(DmAreaOptions *options);

/* ---- options: one table for every front end ------------------------------
 * Every sampling and area option a user sets, with its name (the CLI's
 * --NAME and the plug-in's argument), label, help, range and defaults, is
 * written once, in this table; the CLI and the plug-in build their options
 * from it, and dm_sample(), dm_model_inpaint() and dm_model_generate()
 * check values against the same ranges. */

typedef enum {
  DM_OPTION_SAMPLER,
  DM_OPTION_STEPS,
  DM_OPTION_SEED,
  DM_OPTION_STRENGTH,
  DM_OPTION_FROM_PIXELS,
  DM_OPTION_GUIDANCE_SCALE,
  DM_OPTION_MATCH_EDGES,
  DM_OPTION_SEAMLESS,
  DM_OPTION_ETA,
  DM_OPTION_CORRECTOR_STEPS,
  DM_OPTION_SNR,
  DM_OPTION_JUMP_LENGTH,
  DM_OPTION_JUMP_REPEATS,
  DM_OPTION_CONTEXT_MARGIN,
  DM_OPTION_PIXEL_BUDGET,
  DM_OPTION_TILE_SIZE,
  DM_OPTION_TILE_OVERLAP,
  DM_OPTION_COUNT
} DmOption;

/* What a front end runs: inpainting (the plug-in's Heal Selection, the
 * CLI's inpaint) or generation (Generate, sample). */
typedef enum { DM_TASK_INPAINT, DM_TASK_GENERATE, DM_TASK_COUNT } DmTask;

typedef enum {
  DM_OPTION_INT,    /* a whole number in [min, max] */
  DM_OPTION_FLOAT,  /* a number in [min, max] */
  DM_OPTION_BOOL,   /* 0 or 1 */
  DM_OPTION_CHOICE, /* one of `choices` names, its index */
} DmOptionType;

/* DmOptionInfo.flags. */
enum {
  DM_OPTION_FOR_INPAINT = 1 << DM_TASK_INPAINT,   /* applies to inpainting */
  DM_OPTION_FOR_GENERATE = 1 << DM_TASK_GENERATE, /* applies to generation */
  DM_OPTION_ADVANCED = 1 << 2, /* most runs leave it alone (dialogs fold
                                * it away) */
  DM_OPTION_EXPERT = 1 << 3,   /* memory and tiling: the CLI and batch mode
                                * take it, dialogs leave it out */
  DM_OPTION_TEXT_DEFAULT = 1 << 4, /* text-conditioned (Stable Diffusion)
                                    * models start from text_defaults */
};

typedef struct {
  const char *name;  /* "guidance-scale" */
  const char *label; /* "Guidance scale (C_FG)": a dialog label, with an
                      * underscore before the mnemonic */
  const char *help;  /* one or two sentences */
  DmOptionType type;
  uint32_t flags;
  double min, max;   /* INT, FLOAT: the inclusive range */
  int32_t choices;   /* CHOICE: how many (dm_option_choice_name) */
  /* The value a task starts from: the CLI's and the plug-in's default.
   * The GENERATE column is also the library's own default
   * (dm_sample_options_default, dm_area_options_default). */
  double defaults[DM_TASK_COUNT];
  /* The samplers that read it: bit (1 << DmSampler) for each; 0 = every
   * sampler (and the area options, which no sampler reads). dm_sample()
   * checks only the options its sampler reads. */
  uint32_t samplers;
  /* With DM_OPTION_TEXT_DEFAULT: the value a task starts from with a
   * Stable Diffusion checkpoint (dm_options_default_text). */
  double text_defaults[DM_TASK_COUNT];
} DmOptionInfo;
/* Labels and help are English; the gettext domain "gimp-diffusion" holds
 * their translations. */

DM_API const DmOptionInfo *dm_option_info(DmOption option);
DM_API bool dm_option_from_name(const char *name, DmOption *out);
/* A CHOICE option's names and one-line descriptions (the sampler's:
 * dm_sampler_name, dm_sampler_description). */
DM_API const char *dm_option_choice_name(DmOption option, int32_t index);
DM_API const char *dm_option_choice_description(DmOption option,
                                                int32_t index);

/* Fills both structs with `task`'s defaults. */
DM_API void dm_options_default(DmTask task, DmSampleOptions *sample,
                               DmAreaOptions *area);
/* Moves the options with DM_OPTION_TEXT_DEFAULT to their text_defaults
 * for `task` (a Stable Diffusion checkpoint's sampler, steps, guidance
 * and strength), leaving alone those whose bit (1 << DmOption) is in
 * `chosen`: the ones the user set. */
DM_API void dm_options_default_text(DmTask task, uint32_t chosen,
                                    DmSampleOptions *sample,
                                    DmAreaOptions *area);
/* The option's value in the structs (a bool as 0 or 1, a choice as its
 * index). */
DM_API double dm_option_get(DmOption option, const DmSampleOptions *sample,
                            const DmAreaOptions *area);
/* Sets the option to `value` after checking it against the table:
 * DM_ERROR_INVALID_ARGUMENT naming the option, the value and the range
 * otherwise. */
DM_API bool dm_option_set(DmOption option, double value,
                          DmSampleOptions *sample, DmAreaOptions *area,
                          GError **error);
/* The same from text: a number, "true"/"false" (or "on"/"off", "yes"/"no",
 * "1"/"0") for a bool, a name for a choice. */
DM_API bool dm_option_set_text(DmOption option, const char *text,
                               DmSampleOptions *sample, DmAreaOptions *area,
                               GError **error);
/* Checks every option of the structs against the table. */
DM_API bool dm_options_check(const DmSampleOptions *sample,
                             const DmAreaOptions *area, GError **error);

/* ---- pixels and the model's scale ----------------------------------------
 * Images hold values in [0, 1] (sRGB-encoded, as GIMP's R'G'B' and image
 * files do); models work on planes in [-1, 1]. */

/* planes (C, count) = 2 * pixels - 1 for the first `channels` values of
 * each of the `count` interleaved pixels (count, stride), the pixels
 * clamped to [0, 1] first (NaN reads as 0). */
DM_API void dm_pixels_to_planes(float *planes, const float *pixels,
                                int32_t channels, int32_t stride,
                                size_t count);
/* The way back: pixels' first `channels` values = (planes + 1) / 2 clamped
 * to [0, 1], for the pixels where mask (count) is above 0, or all when
 * mask is NULL; the other values (alpha, unselected pixels) stay. */
DM_API void dm_planes_to_pixels(float *pixels, const float *planes,
                                int32_t channels, int32_t stride,
                                size_t count, const float *mask);
/* mask (count) = 1 where it is above 0, else 0: a selection the model
 * fills whole, for a front end that blends the soft edge itself (GIMP
 * merges the result by the selection's value; giving the model the soft
 * values too would blend that edge twice). */
DM_API void dm_mask_binarize(float *mask, size_t count);

/* The bounding box of the pixels of mask (H, W) above 0 (a soft edge
 * counts). Fails (DM_ERROR_INVALID_ARGUMENT) when the mask selects
 * nothing. */
DM_API bool dm_mask_bounds(const float *mask, int32_t width, int32_t height,
                           DmRect *bounds, GError **error);
/* The part of a width x height image that inpainting a hole with bounding
 * box `hole` computes: the box grown on every side by the context margin
 * (options->context_margin, or the model's receptive radius when it is
 * negative) and clipped to the image. Front ends that read only this part
 * of a large image get the same result as from the whole image (with
 * image_x, image_y set to its position). */
DM_API DmRect dm_model_work_area(const DmModel *model,
                                 const DmAreaOptions *options, DmRect hole,
                                 int32_t width, int32_t height);
/* The network's tiles for a width x height area: returns how many there
 * are (one per evaluation each) and, when `tiles` is not NULL, writes them
 * there, row by row (caller-allocated, that many entries). */
DM_API int32_t dm_area_tiles(int32_t width, int32_t height,
                             const DmAreaOptions *options, DmRect *tiles);

/* Fills the masked part of image (C, H, W), in the model's [-1, 1] scale
 * with C = the model's out_channels, by replacement-guided sampling (a
 * mask-conditioned model also reads the mask and the known image, see
 * DmConditioning, with options->guidance_scale). mask
 * (H, W): 1 = fill, 0 = keep, between = blend (clamped to [0, 1]; NaN is
 * 0). Only the work area is computed, and only pixels with mask > 0 are
 * written: every other value of `image` stays bit-exact. Noise is indexed
 * by absolute image position. On failure `image` is unchanged. */
DM_API bool dm_model_inpaint(DmModel *model, float *image, const float *mask,
                             int32_t width, int32_t height,
                             const DmSampleOptions *options,
                             const DmAreaOptions *area_options,
                             DmProgressFunc progress, void *progress_data,
                             GError **error);
/* Seconds the network has taken in dm_model_inpaint/generate since the
 * model was made, and the pixels those evaluations covered (tiles counted
 * with their overlaps): the measured speed behind time estimates. */
DM_API void dm_model_network_time(const DmModel *model, double *seconds,
                                  double *pixels);
/* Measures on this machine the seconds one network evaluation of a
 * width x height work area takes in dm_model_inpaint/generate: times one
 * forward pass on a tile of that area (all its tiles have one size,
 * dm_area_tiles) and multiplies by the number of tiles. Takes that one
 * pass's time and memory, first-call costs included (so a small model is
 * overestimated a little); not counted in dm_model_network_time. The model
 * must not be used by another thread meanwhile. */
DM_API bool dm_model_measure_evaluation(DmModel *model, int32_t width,
                                        int32_t height,
                                        const DmAreaOptions *area_options,
                                        double *seconds, GError **error);
/* Images the network runs on at each evaluation of dm_model_inpaint with
 * `options`: 2 for a mask-conditioned model with guidance_scale != 1 (the
 * conditional and the unconditional output), else 1. Such an evaluation
 * takes about that many times dm_model_measure_evaluation's seconds. */
DM_API int32_t dm_model_evaluation_batch(const DmModel *model,
                                         const DmSampleOptions *options);
/* image (C, H, W) = an unconditional sample of the model (a
 * mask-conditioned model in its dropout mode, guidance ignored); refuses
 * a strength below 1, which needs an image to start from. */
DM_API bool dm_model_generate(DmModel *model, float *image, int32_t width,
                              int32_t height, const DmSampleOptions *options,
                              const DmAreaOptions *area_options,
                              DmProgressFunc progress, void *progress_data,
                              GError **error);

/* ---- Stable Diffusion pipelines -------------------------------------------
 * Text-to-image, image-to-image and inpainting with a DmSdModel, on images
 * as dm_model_inpaint/generate take them: planes (3, H, W) in the [-1, 1]
 * scale (dm_pixels_to_planes), masks (H, W) with 1 = fill, 0 = keep and
 * soft values between. Each run:
 *  1. Text: the prompt and the negative prompt through the tokenizer
 *     (longer prompts are cut to 77 ids, bos and eos included, as CLIP's
 *     tokenizer cuts them) and the text encoder's last layer (an SD 2.x
 *     checkpoint's encoder is OpenCLIP's first 23 of 24 layers, so that is
 *     OpenCLIP's penultimate layer, as SD 2 was trained).
 *  2. The work area: the mask's bounding box with context around it
 *     (DmAreaOptions.context_margin pixels; < 0: a quarter of the box's
 *     larger side, at least 32), clipped to the image, or the whole image
 *     for generation, scaled to about work_size x work_size pixels (the
 *     checkpoint's native size) with its aspect kept, each side a multiple
 *     of dm_sd_size_multiple(): a small hole in a large photo is filled at
 *     the checkpoint's full detail, a large one at its native size, so
 *     memory and time stay those of one native image. Shrinking averages
 *     areas, growing interpolates linearly; nothing outside the area is
 *     read or encoded.
 *  3. Latents (Rombach et al. 2022): the VAE's posterior mean times its
 *     scaling factor (diffusers' retrieve_latents in "argmax" mode). The
 *     sampler (any of the table's, dm_sample()) runs on them with the
 *     checkpoint's schedule and prediction (epsilon or v), its noise drawn
 *     per absolute latent position (the area's corner / 8 in the whole
 *     picture, DmSampleGrid), so a seed gives the same image at any thread
 *     count.
 *  4. Classifier-free guidance (Ho & Salimans 2022, eq. 6 with w' = w - 1):
 *     with guidance_scale w != 1 the U-Net runs on a batch of two, the
 *     negative prompt's and the prompt's, o = o_u + w (o_c - o_u); w = 1
 *     runs the prompt's alone.
 *  5. Inpainting: an inpainting checkpoint (9 input channels) reads
 *     [x_t, mask, masked image's latent] as diffusers'
 *     StableDiffusionInpaintPipeline prepares them: the mask binarised at
 *     0.5 (>= 0.5 fills), the masked image = image * (mask < 0.5) encoded,
 *     the mask taken to latent size by nearest sampling (latent pixel
 *     (i, j) reads work pixel (8 i, 8 j)); guidance's negative half reads
 *     the same. A plain checkpoint (4 channels) fills by replacement in
 *     latent space (DmInpaint; RePaint's jumps with jump_length and
 *     jump_repeats): the image's latent, re-noised to each step's level,
 *     replaces the known part, the mask taken to latent size by averaging
 *     (its soft edge kept).
 *  6. strength < 1 (SDEdit, Meng et al. 2022) starts from the latent of
 *     the image, its hole smoothly filled or its own pixels
 *     (DmAreaOptions.hole_start); generation starts from the whole image
 *     (image-to-image).
 *  7. The result is decoded, scaled back to the area, optionally matched at
 *     the hole's edges (DmAreaOptions.match_edges), and blended once with
 *     the original pixels by the soft mask: pixels with mask 0 come back
 *     bit-exact, mask 1 is the decoded image, between is the blend.
 * DmAreaOptions' tiling fields and seamless are not used: the work area is
 * always about one native image. */

/* Prompts and the work size. */
typedef struct {
  const char *prompt;          /* UTF-8; NULL reads as "" */
  const char *negative_prompt; /* UTF-8; NULL reads as "": what guidance
                                * steers away from */
  /* The side of the square whose area the work area is scaled to;
   * 0: the checkpoint's image_size (512 for SD 1.x, 768 for SD 2's v
   * models). At least dm_sd_size_multiple(), at most 2048. */
  int32_t work_size;
} DmSdOptions;

/* No prompts, the checkpoint's size. */
DM_API void dm_sd_options_default(DmSdOptions *options);

/* The text options, for text-conditioned models (Stable Diffusion,
 * DmSdOptions), beside the table: their name (the CLI's --NAME and the
 * plug-in's argument), label and help, written once for every front end.
 * Both apply to both tasks; every value is accepted (UTF-8). */
typedef enum {
  DM_TEXT_OPTION_PROMPT,
  DM_TEXT_OPTION_NEGATIVE_PROMPT,
  DM_TEXT_OPTION_COUNT
} DmTextOption;

typedef struct {
  const char *name;  /* "negative-prompt" */
  const char *label; /* a dialog label, with a mnemonic */
  const char *help;  /* one or two sentences, English (gettext domain
                      * "gimp-diffusion" translates) */
} DmTextOptionInfo;

DM_API const DmTextOptionInfo *dm_text_option_info(DmTextOption option);
/* Points the option's field of `sd` at `text` (borrowed: it must outlive
 * the use of `sd`). */
DM_API void dm_text_option_set(DmTextOption option, const char *text,
                               DmSdOptions *sd);

/* What a run reads and at what size it samples. */
typedef struct {
  DmRect area;           /* the part of the image read and written */
  int32_t width, height; /* the size the area is sampled at, in pixels:
                          * multiples of dm_sd_size_multiple() */
} DmSdWork;

/* Work sizes must be multiples of this: the VAE's scale (8) times the
 * U-Net's size multiple (8 for SD's four levels): 64. */
DM_API int32_t dm_sd_size_multiple(const DmSdModel *model);
/* The work of inpainting a hole with bounding box `hole` (dm_mask_bounds)
 * in a width x height image (item 2 above), or with hole NULL of
 * generating the whole image. A work area whose aspect ratio is over 16
 * fails with DM_ERROR_INVALID_ARGUMENT naming it, as does a bad size.
 * Front ends that read only work->area of a large image (with image_x,
 * image_y set to its position) get the same result as from the whole
 * image. */
DM_API bool dm_sd_work_area(const DmSdModel *model,
                            const DmSdOptions *sd_options,
                            const DmAreaOptions *area_options,
                            const DmRect *hole, int32_t width,
                            int32_t height, DmSdWork *work, GError **error);

/* Fills the masked part of image (3, H, W) as item 5 says (routes by the
 * checkpoint's input channels), with options' sampler, steps, seed,
 * guidance_scale, strength and RePaint jumps and area_options' context,
 * hole start, edge matching and image position. Only the work area is
 * read and computed, and only pixels with mask > 0 are written. On
 * failure (a bad option, an empty mask: DM_ERROR_INVALID_ARGUMENT naming
 * it; cancelled by `progress`: DM_ERROR_CANCELLED) image is unchanged.
 * `progress` (may be NULL) counts U-Net evaluations. */
DM_API bool dm_sd_inpaint(DmSdModel *model, float *image, const float *mask,
                          int32_t width, int32_t height,
                          const DmSdOptions *sd_options,
                          const DmSampleOptions *options,
                          const DmAreaOptions *area_options,
                          DmProgressFunc progress, void *progress_data,
                          GError **error);
/* image (3, H, W) = a sample for the prompt at that size (text-to-image:
 * a front end generating into a rectangle passes that rectangle); with
 * strength below 1 the image it holds is where sampling starts
 * (image-to-image). An inpainting checkpoint sees an all-ones mask and a
 * blank masked image. On failure image is unchanged. */
DM_API bool dm_sd_generate(DmSdModel *model, float *image, int32_t width,
                           int32_t height, const DmSdOptions *sd_options,
                           const DmSampleOptions *options,
                           const DmAreaOptions *area_options,
                           DmProgressFunc progress, void *progress_data,
                           GError **error);

/* Images in each U-Net evaluation: 2 with guidance_scale != 1, else 1. */
DM_API int32_t dm_sd_evaluation_batch(const DmSampleOptions *options);
/* Measures on this machine the seconds one U-Net evaluation of `work`
 * takes with `options`' batch (one forward pass on zeros, first-call
 * costs included): a run takes about dm_sample_evaluations(options) times
 * that, plus the text encoder and one or two VAE passes, so that front
 * ends can announce or refuse long work. The model must not be used by
 * another thread meanwhile. */
DM_API bool dm_sd_measure_evaluation(DmSdModel *model, const DmSdWork *work,
                                     const DmSampleOptions *options,
                                     double *seconds, GError **error);

G_END_DECLS

#endif /* DM_H */
