/* gimp-diffusion core: diffusers' UNet2DModel, the network (internal).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * The network alone: its config, its parameters and their layout, and the
 * inference forward. A DmModel (model/model.h) is a DmUnet with its noise
 * schedule and card; training's forward and backward are in unet-train.h. */
#ifndef DM_NETWORK_UNET_H
#define DM_NETWORK_UNET_H

#include "network/params.h"

/* Largest layers_per_block accepted (up blocks hold one more). */
#define DM_MAX_LAYERS_PER_BLOCK 15

typedef struct DmUnetLayout DmUnetLayout; /* offsets of each layer */

typedef struct {
  DmUnetConfig config;
  DmParams params;
  DmUnetLayout *layout; /* owned */
  DmInspectFunc inspect;
  void *inspect_data;
} DmUnet;

/* How the 3x3 convolutions pad their input. */
typedef enum {
  DM_PADDING_ZEROS,    /* as diffusers */
  DM_PADDING_CIRCULAR, /* wrapped around the image: the network sees a
                        * torus, and its output tiles the plane (seamless) */
} DmPadding;

/* Ranges and numbers of a config (no layout): what the layout builder
 * needs before it can derive channel counts. */
bool dm_unet_config_check_values(const DmUnetConfig *config, GError **error);

/* A network for `config` (validated here) with zeroed parameters; clear
 * with dm_unet_clear(). */
bool dm_unet_init(DmUnet *unet, const DmUnetConfig *config, GError **error);
void dm_unet_clear(DmUnet *unet);
/* Builds only the parameter table (data stays NULL, total is set): lets a
 * loader check a file against the config before allocating anything. */
bool dm_unet_params_describe(DmParams *params, const DmUnetConfig *config,
                             GError **error);
/* PyTorch's default initialisation, each tensor from its own stream of
 * `seed` (unet.c). */
void dm_unet_randomize(DmUnet *unet, uint64_t seed);

/* Height and width of the input must be multiples of this. */
int32_t dm_unet_size_multiple(const DmUnetConfig *config);
/* How far an input pixel can influence an output pixel through the
 * convolutions (dm.h, dm_model_receptive_radius). */
int32_t dm_unet_receptive_radius(const DmUnetConfig *config);
/* Multiply-adds times two of one forward of a height x width image. */
double dm_unet_flops(const DmUnet *unet, int32_t height, int32_t width);

/* out (N, out_channels, H, W) = UNet(x (N, in_channels, H, W), t (N)),
 * H and W multiples of dm_unet_size_multiple(). */
bool dm_unet_forward(DmUnet *unet, DmTensor *out, const DmTensor *x,
                     const float *timesteps, DmPadding padding,
                     GError **error);

/* Completes the conditioning planes (C + 1, plane) of a mask-conditioned
 * network's input (dm.h, DmConditioning) whose first plane holds the mask:
 * the next C become image (C, plane) times (1 - mask). With image NULL
 * they are the dropout mode's instead, mask 1 and known image 0. */
void dm_fill_condition(float *planes, const float *image, int32_t channels,
                       size_t plane);

#endif /* DM_NETWORK_UNET_H */
