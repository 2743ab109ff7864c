/* gimp-diffusion plug-in: what a run works on.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#ifndef DM_PLUG_TARGET_H
#define DM_PLUG_TARGET_H

#include <libgimp/gimp.h>

#include "work.h"

/* A drawable of an image, and the part of it the selection touches as
 * plain numbers (which other threads may read). */
typedef struct {
  GimpImage *image;
  GimpDrawable *drawable;
  DmUiWork work;
} DmPlugTarget;

/* Fills `target`. Fails when inpainting has no selection, or when the
 * selection misses the drawable. */
gboolean dm_plug_target_init(DmPlugTarget *target, GimpImage *image,
                             GimpDrawable *drawable, DmTask task,
                             GError **error);

#endif /* DM_PLUG_TARGET_H */
