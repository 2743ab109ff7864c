/* gimp-diffusion plug-in: the dialog's estimate of the work a run takes.
 * The model is loaded and timed off the main thread, so that the dialog
 * stays responsive while a large model loads or runs its measurement.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include <glib/gi18n-lib.h>

#include "estimate.h"

/* One model's measurement: filled in by the dialog, then by the worker
 * thread, which alone touches it until it is done. */
typedef struct {
  gchar *model_name;       /* the model setting it was made for */
  DmUiModel model;         /* loaded for model_name, or both NULL */
  DmUiWork work;           /* plain numbers, read in the thread */
  DmAreaOptions area;      /* the settings' */
  GeglRectangle work_area; /* measured on, when the model loaded */
  double seconds;          /* of one network evaluation of one image */
  GError *error;           /* why the model did not load or run */
} Measurement;

/* The settings the estimate is made for. */
typedef struct {
  gchar *model;
  DmSampleOptions sample;
  DmAreaOptions area;
} Settings;

struct DmUiEstimate {
  GimpProcedureConfig *config;
  const DmUiWork *work;
  DmUiReadFunc read;
  GtkLabel *label;
  DmUiModelFunc model_func;
  gpointer model_data;
  gulong notify_handler;
  Measurement *last; /* the latest finished measurement, or NULL */
  gboolean busy;     /* a measurement runs in the worker thread */
  gboolean closing;  /* dm_ui_estimate_free waits for it */
};

static void measurement_free(Measurement *measurement) {
  if (measurement == NULL) return;
  g_free(measurement->model_name);
  dm_ui_model_clear(&measurement->model);
  g_clear_error(&measurement->error);
  g_free(measurement);
}

static gboolean loaded(const DmUiModel *model) {
  return model->pixel != NULL || model->sd != NULL;
}

/* Times one evaluation of one image on the work area (a Stable Diffusion
 * checkpoint's without guidance: a batch of two takes about twice). */
static void time_model(Measurement *m) {
  DmSdWork sd_work;
  if (!dm_ui_work_area(&m->work, &m->area, &m->model, &m->work_area,
                       &sd_work, &m->error))
    return;
  if (m->model.pixel) {
    dm_model_measure_evaluation(m->model.pixel, m->work_area.width,
                                m->work_area.height, &m->area, &m->seconds,
                                &m->error);
    return;
  }
  DmSampleOptions unguided;
  dm_sample_options_default(&unguided);
  unguided.guidance_scale = 1;
  dm_sd_measure_evaluation(m->model.sd, &sd_work, &unguided, &m->seconds,
                           &m->error);
}

/* GTaskThreadFunc: loads the model unless given, then times it. */
static void measure(GTask *task, gpointer source, gpointer task_data,
                    GCancellable *cancellable) {
  (void)source, (void)cancellable;
  Measurement *m = task_data;
  if (!loaded(&m->model))
    dm_ui_model_load(&m->model, m->model_name, &m->error);
  if (loaded(&m->model)) time_model(m);
  g_task_return_boolean(task, TRUE);
}

/* Whether `m` was made for these settings: the same model setting and, for
 * a model that loaded, a work area of the same size. */
static gboolean is_current(const Measurement *m, const DmUiWork *work,
                           const Settings *settings) {
  if (m == NULL || g_strcmp0(m->model_name, settings->model) != 0)
    return FALSE;
  if (!loaded(&m->model)) return TRUE;
  GeglRectangle area;
  if (!dm_ui_work_area(work, &settings->area, &m->model, &area, NULL, NULL))
    return m->error != NULL;
  return area.width == m->work_area.width &&
         area.height == m->work_area.height;
}

static void update(DmUiEstimate *estimate);

static void measured(GObject *source, GAsyncResult *result,
                     gpointer user_data) {
  (void)source;
  DmUiEstimate *estimate = user_data;
  measurement_free(estimate->last);
  estimate->last = g_task_get_task_data(G_TASK(result));
  estimate->busy = FALSE;
  if (!estimate->closing) update(estimate);
}

/* Starts measuring for `settings` (taking its model setting), reusing the
 * model already loaded when the setting names the same one. */
static void start(DmUiEstimate *estimate, Settings *settings) {
  Measurement *m = g_new0(Measurement, 1);
  m->model_name = g_steal_pointer(&settings->model);
  m->work = *estimate->work;
  m->area = settings->area;
  if (estimate->last &&
      g_strcmp0(estimate->last->model_name, m->model_name) == 0) {
    m->model = estimate->last->model;
    estimate->last->model = (DmUiModel){NULL, NULL};
  }
  g_clear_pointer(&estimate->last, measurement_free);
  estimate->busy = TRUE;
  GTask *task = g_task_new(NULL, NULL, measured, estimate);
  g_task_set_task_data(task, m, NULL);
  g_task_run_in_thread(task, measure);
  g_object_unref(task);
}

/* "2.5 s", "12 s", "7 min", "1.5 h" (caller frees). */
static gchar *format_duration(double seconds) {
  if (seconds < 10.0) return g_strdup_printf(_("%.1f s"), seconds);
  if (seconds < 120.0) return g_strdup_printf(_("%.0f s"), seconds);
  if (seconds < 7200.0) return g_strdup_printf(_("%.0f min"), seconds / 60);
  return g_strdup_printf(_("%.1f h"), seconds / 3600);
}

/* A Stable Diffusion run's cost besides its U-Net evaluations: the text
 * encoder and one or two VAE passes, about two evaluations of one image
 * at SD 1.5's size (bench-sd-pipeline, docs/performance.md). */
#define SD_OVERHEAD_EVALUATIONS 2

/* The label's text for `evaluations` network evaluations of `batch`
 * images each (plus `overhead` of one image), timed by `m` (NULL while
 * not measured). */
static gchar *estimate_text(int32_t evaluations, int32_t batch,
                            int32_t overhead, const Measurement *m) {
  if (m != NULL && m->error != NULL)
    return g_strdup_printf(
        g_dngettext(GETTEXT_PACKAGE, "≈ %d network evaluation\n%s",
                    "≈ %d network evaluations\n%s", evaluations),
        evaluations, m->error->message);
  gchar *duration = m != NULL
                        ? format_duration((evaluations * batch + overhead) *
                                          m->seconds)
                        : g_strdup("…");
  gchar *text = g_strdup_printf(
      g_dngettext(GETTEXT_PACKAGE, "≈ %d network evaluation, ≈ %s",
                  "≈ %d network evaluations, ≈ %s", evaluations),
      evaluations, duration);
  g_free(duration);
  return text;
}

static void update(DmUiEstimate *estimate) {
  Settings settings = {0};
  GError *error = NULL;
  if (!estimate->read(estimate->config, estimate->work->task,
                      &settings.model, &settings.sample, &settings.area,
                      &error)) {
    gtk_label_set_text(estimate->label, error->message);
    g_error_free(error);
    g_free(settings.model);
    return;
  }
  const int32_t evaluations = dm_sample_evaluations(&settings.sample);
  const Measurement *m =
      is_current(estimate->last, estimate->work, &settings) ? estimate->last
                                                            : NULL;
  const DmUiModel *model = m && loaded(&m->model) ? &m->model : NULL;
  const int32_t batch =
      model && model->sd ? dm_sd_evaluation_batch(&settings.sample)
      : model ? dm_model_evaluation_batch(model->pixel, &settings.sample)
              : 1;
  gchar *text = estimate_text(evaluations, batch,
                              model && model->sd ? SD_OVERHEAD_EVALUATIONS
                                                 : 0, m);
  gtk_label_set_text(estimate->label, text);
  g_free(text);
  if (m && estimate->model_func)
    estimate->model_func(model, estimate->model_data);
  if (m == NULL && !estimate->busy) start(estimate, &settings);
  g_free(settings.model);
}

static void settings_changed(GimpProcedureConfig *config, GParamSpec *pspec,
                             DmUiEstimate *estimate) {
  (void)config, (void)pspec;
  update(estimate);
}

DmUiEstimate *dm_ui_estimate_new(GimpProcedureConfig *config,
                                 const DmUiWork *work, DmUiReadFunc read,
                                 GtkLabel *label, DmUiModelFunc model_func,
                                 gpointer model_data) {
  DmUiEstimate *estimate = g_new0(DmUiEstimate, 1);
  estimate->config = config;
  estimate->work = work;
  estimate->read = read;
  estimate->label = label;
  estimate->model_func = model_func;
  estimate->model_data = model_data;
  gtk_label_set_line_wrap(label, TRUE);
  gtk_label_set_max_width_chars(label, 60);
  gtk_label_set_xalign(label, 0.0f);
  estimate->notify_handler = g_signal_connect(
      config, "notify", G_CALLBACK(settings_changed), estimate);
  update(estimate);
  return estimate;
}

void dm_ui_estimate_free(DmUiEstimate *estimate) {
  g_signal_handler_disconnect(estimate->config, estimate->notify_handler);
  estimate->closing = TRUE;
  while (estimate->busy) g_main_context_iteration(NULL, TRUE);
  measurement_free(estimate->last);
  g_free(estimate);
}
