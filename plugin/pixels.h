/* gimp-diffusion plug-in: a drawable's pixels as the model's planes.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#ifndef DM_PLUG_PIXELS_H
#define DM_PLUG_PIXELS_H

#include <libgimp/gimp.h>

#include "dm.h"

/* A rectangle of a drawable, read once and written back once. */
typedef struct {
  GeglRectangle rect; /* in the drawable's coordinates */
  const Babl *format; /* R'G'B'A or Y'A float in the drawable's space */
  int32_t channels;   /* colour channels of the model: 3 or 1 */
  guint8 *stored;     /* (H, W) pixels as stored in the drawable */
  float *pixels;      /* (H, W, channels + 1) as read, alpha last */
  float *planes;      /* (channels, H, W) in the model's [-1, 1] scale */
  float *mask;        /* (H, W) 1 where selected, else 0; or NULL */
} DmPlugArea;

/* Reads `rect` of `drawable` for a model with `channels` (3: R'G'B',
 * 1: Y') colour channels, with where the image's selection is as the mask
 * when `with_mask` (a feathered edge is blended by GIMP when the result is
 * written, not by the model). */
DmPlugArea *dm_plug_area_read(GimpDrawable *drawable,
                              const GeglRectangle *rect, int32_t channels,
                              gboolean with_mask);
/* Writes the planes back into `drawable` (the one read, or a copy) where
 * the mask is above 0 (everywhere without a mask), through the shadow
 * buffer merged under the selection. Alpha, and every pixel not written,
 * keep their values bit for bit. */
void dm_plug_area_write(DmPlugArea *area, GimpDrawable *drawable);
void dm_plug_area_free(DmPlugArea *area);

#endif /* DM_PLUG_PIXELS_H */
