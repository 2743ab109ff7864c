/* gimp-diffusion plug-in: the model a run uses and the part of its
 * drawable the model reads.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include "work.h"

gboolean dm_ui_model_load(DmUiModel *model, const gchar *name,
                          GError **error) {
  return dm_model_load_any(name, &model->pixel, &model->sd, error);
}

void dm_ui_model_clear(DmUiModel *model) {
  g_clear_pointer(&model->pixel, dm_model_free);
  g_clear_pointer(&model->sd, dm_sd_model_free);
}

gboolean dm_ui_model_guided(const DmUiModel *model, DmTask task) {
  return model->sd != NULL ||
         (model->pixel && task == DM_TASK_INPAINT &&
          dm_model_conditioning(model->pixel) == DM_CONDITIONING_MASK);
}

static GeglRectangle gegl_rect(DmRect rect) {
  return (GeglRectangle){rect.x, rect.y, rect.width, rect.height};
}

gboolean dm_ui_work_area(const DmUiWork *work, const DmAreaOptions *area,
                         const DmUiModel *model, GeglRectangle *rect,
                         DmSdWork *sd_work, GError **error) {
  const gboolean inpaint = work->task == DM_TASK_INPAINT;
  const DmRect hole = {work->selected.x, work->selected.y,
                       work->selected.width, work->selected.height};
  *rect = work->selected;
  if (model->pixel) {
    if (inpaint)
      *rect = gegl_rect(dm_model_work_area(model->pixel, area, hole,
                                           work->width, work->height));
    return TRUE;
  }
  DmSdWork own;
  DmSdOptions options;
  dm_sd_options_default(&options);
  if (!sd_work) sd_work = &own;
  if (!dm_sd_work_area(model->sd, &options, area, inpaint ? &hole : NULL,
                       inpaint ? work->width : hole.width,
                       inpaint ? work->height : hole.height, sd_work,
                       error))
    return FALSE;
  if (inpaint) *rect = gegl_rect(sd_work->area);
  return TRUE;
}
