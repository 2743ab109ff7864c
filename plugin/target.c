/* gimp-diffusion plug-in: what a run works on, and the part of it the model
 * reads.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include <glib/gi18n-lib.h>

#include "target.h"

gboolean dm_plug_target_init(DmPlugTarget *target, GimpImage *image,
                             GimpDrawable *drawable, gboolean inpaint,
                             GError **error) {
  *target = (DmPlugTarget){.image = image,
                           .drawable = drawable,
                           .inpaint = inpaint,
                           .drawable_width = gimp_drawable_get_width(drawable),
                           .drawable_height =
                               gimp_drawable_get_height(drawable)};
  if (inpaint && gimp_selection_is_empty(image)) {
    g_set_error_literal(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                        _("Nothing is selected: select the part of the layer "
                          "to heal"));
    return FALSE;
  }
  GeglRectangle *rect = &target->selected;
  if (!gimp_drawable_mask_intersect(drawable, &rect->x, &rect->y,
                                    &rect->width, &rect->height)) {
    g_set_error_literal(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                        _("The selection does not touch the active layer"));
    return FALSE;
  }
  return TRUE;
}

GeglRectangle dm_plug_target_work_area(const DmPlugTarget *target,
                                       const DmAreaOptions *area,
                                       const DmModel *model) {
  if (!target->inpaint) return target->selected;
  const GeglRectangle *selected = &target->selected;
  const gint margin = area->context_margin < 0
                          ? dm_model_receptive_radius(model)
                          : area->context_margin;
  const GeglRectangle drawable = {0, 0, target->drawable_width,
                                  target->drawable_height};
  GeglRectangle grown = {selected->x - margin, selected->y - margin,
                         selected->width + 2 * margin,
                         selected->height + 2 * margin};
  gegl_rectangle_intersect(&grown, &grown, &drawable);
  return grown;
}
