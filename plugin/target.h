/* gimp-diffusion plug-in: what a run works on, and the part of it the model
 * reads.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#ifndef DM_PLUG_TARGET_H
#define DM_PLUG_TARGET_H

#include <libgimp/gimp.h>

#include "dm.h"

/* A drawable of an image and the part of it the selection touches, as
 * plain numbers (so that other threads may read them). */
typedef struct {
  GimpImage *image;
  GimpDrawable *drawable;
  gboolean inpaint;
  GeglRectangle selected; /* drawable coordinates; all of it when nothing
                             is selected and not inpainting */
  gint drawable_width, drawable_height;
} DmPlugTarget;

/* Fills `target`. Fails when inpainting has no selection, or when the
 * selection misses the drawable. */
gboolean dm_plug_target_init(DmPlugTarget *target, GimpImage *image,
                             GimpDrawable *drawable, gboolean inpaint,
                             GError **error);
/* The rectangle the model reads, in drawable coordinates: for inpainting
 * the selection's bounds plus the context margin (`area`'s, or the model's
 * receptive radius), clipped to the drawable; else the selected part. */
GeglRectangle dm_plug_target_work_area(const DmPlugTarget *target,
                                       const DmAreaOptions *area,
                                       const DmModel *model);

#endif /* DM_PLUG_TARGET_H */
