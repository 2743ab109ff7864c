/* gimp-diffusion plug-in: what a run works on.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include <glib/gi18n-lib.h>

#include "target.h"

gboolean dm_plug_target_init(DmPlugTarget *target, GimpImage *image,
                             GimpDrawable *drawable, DmTask task,
                             GError **error) {
  *target = (DmPlugTarget){
      .image = image, .drawable = drawable,
      .work = {.task = task, .width = gimp_drawable_get_width(drawable),
               .height = gimp_drawable_get_height(drawable)}};
  if (task == DM_TASK_INPAINT && gimp_selection_is_empty(image)) {
    g_set_error_literal(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                        _("Nothing is selected: select the part of the layer "
                          "to heal"));
    return FALSE;
  }
  GeglRectangle *rect = &target->work.selected;
  if (!gimp_drawable_mask_intersect(drawable, &rect->x, &rect->y,
                                    &rect->width, &rect->height)) {
    g_set_error_literal(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                        _("The selection does not touch the active layer"));
    return FALSE;
  }
  return TRUE;
}
