/* gimp-diffusion plug-in: the part of a run's drawable the model reads.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include "work.h"

GeglRectangle dm_ui_work_area(const DmUiWork *work, const DmAreaOptions *area,
                              const DmModel *model) {
  if (work->task != DM_TASK_INPAINT) return work->selected;
  const DmRect hole = {work->selected.x, work->selected.y,
                       work->selected.width, work->selected.height};
  const DmRect grown =
      dm_model_work_area(model, area, hole, work->width, work->height);
  return (GeglRectangle){grown.x, grown.y, grown.width, grown.height};
}
