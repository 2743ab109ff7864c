/* gimp-diffusion core: the tape of a U-Net training forward (internal).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * The training forward pushes the input of every layer with parameters
 * (and the few activations its backward cannot recompute) onto the tape;
 * the backward pops them in the reverse order. The forward and the
 * backward both depend on this file, never on each other's. */
#ifndef DM_NETWORK_UNET_TAPE_H
#define DM_NETWORK_UNET_TAPE_H

#include "network/unet.h"

/* An activation (N, c, h, w) of the current batch. */
typedef struct {
  float *data;
  int32_t c, h, w;
} DmActivation;

/* The saved activations of one training forward, owned. */
typedef struct DmUnetTape DmUnetTape;

/* A tape for batches of n images of height x width for `unet` (sizes
 * checked as dm_unet_forward checks them). With glibc, the first tape also
 * makes the process keep freed memory in its heap (mallopt), so that each
 * step's activations reuse the last step's pages. */
DmUnetTape *dm_unet_tape_new(const DmUnet *unet, int32_t n, int32_t height,
                             int32_t width, GError **error);
void dm_unet_tape_free(DmUnetTape *tape);
/* Frees every recorded activation. */
void dm_unet_tape_clear(DmUnetTape *tape);

/* True when `tape` was made for `unet` and x's batch and size, else
 * DM_ERROR_INVALID_ARGUMENT naming the mismatch. */
bool dm_unet_tape_fits(const DmUnetTape *tape, const DmUnet *unet,
                       const DmTensor *x, GError **error);
/* The batch the tape records: n images of height x width. */
void dm_unet_tape_batch(const DmUnetTape *tape, int32_t *n, int32_t *height,
                        int32_t *width);
/* Bytes of the activations the tape holds. */
size_t dm_unet_tape_bytes(const DmUnetTape *tape);
/* Whether the tape holds a forward of `unet`. */
bool dm_unet_tape_recorded(const DmUnetTape *tape, const DmUnet *unet);

/* The forward's side: `push` records `data` (N, c, h, w) and takes
 * ownership of it; `holds` tells whether the tape owns `data` (the forward
 * then must not free it). */
void dm_unet_tape_push(DmUnetTape *tape, float *data, int32_t c, int32_t h,
                       int32_t w);
bool dm_unet_tape_holds(const DmUnetTape *tape, const float *data);
/* The backward's side: the last saved activation, which must be
 * (N, c, h, w); the caller owns it from now on. A mismatch is a bug: the
 * backward pops in exactly the reverse order of the forward's saves. */
float *dm_unet_tape_pop(DmUnetTape *tape, int32_t c, int32_t h, int32_t w);

#endif /* DM_NETWORK_UNET_TAPE_H */
