/* gimp-diffusion plug-in: heal a selection or generate an image with a
 * diffusion model (the sampling is core's; this file is GIMP's side).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include <string.h>

#include <glib/gi18n-lib.h>
#include <libgimp/gimp.h>

#include "dialog.h"
#include "pixels.h"
#include "settings.h"
#include "target.h"

typedef struct {
  GimpPlugIn parent_instance;
} DmPlug;

typedef struct {
  GimpPlugInClass parent_class;
} DmPlugClass;

#define DM_PLUG_TYPE (dm_plug_get_type())
GType dm_plug_get_type(void) G_GNUC_CONST;

G_DEFINE_TYPE(DmPlug, dm_plug, GIMP_TYPE_PLUG_IN)

/* One run: what the procedures share. */
typedef struct {
  DmPlugTarget target;
  DmPlugSettings settings;
  DmUiModel model;
  DmPlugArea *area;
} DmPlugRun;

static GList *dm_plug_query_procedures(GimpPlugIn *plug_in) {
  (void)plug_in;
  return g_list_append(g_list_append(NULL, g_strdup(DM_PLUG_INPAINT_PROC)),
                       g_strdup(DM_PLUG_GENERATE_PROC));
}

/* The strings are in the "gimp-diffusion" gettext domain (po/), shared with
 * the CLI. GIMP binds it to locale/ in the plug-in's folder, which meson
 * install links to the system's locale folder. */
static gboolean dm_plug_set_i18n(GimpPlugIn *plug_in, const gchar *name,
                                 gchar **gettext_domain, gchar **catalog_dir) {
  (void)plug_in, (void)name;
  *gettext_domain = g_strdup(GETTEXT_PACKAGE);
  *catalog_dir = g_strdup("locale");
  return TRUE;
}

/* DmProgressFunc: GIMP's progress bar, "Step i of N". A failed update
 * means GIMP is gone or cancelled us: stop sampling. */
static bool report_progress(int32_t done, int32_t total, void *user_data) {
  (void)user_data;
  gchar *text = g_strdup_printf(_("Step %d of %d"), done, total);
  gboolean ok = gimp_progress_set_text(text) &&
                gimp_progress_update((gdouble)done / total);
  g_free(text);
  return ok;
}

/* Samples into run->area (at `area`'s position in the drawable) with a
 * pixel-space model. */
static gboolean sample_pixels(DmPlugRun *run, const DmAreaOptions *area,
                              GError **error) {
  DmPlugArea *pixels = run->area;
  const DmSampleOptions *options = &run->settings.sample;
  if (pixels->mask == NULL)
    return dm_model_generate(run->model.pixel, pixels->planes,
                             pixels->rect.width, pixels->rect.height,
                             options, area, report_progress, NULL, error);
  return dm_model_inpaint(run->model.pixel, pixels->planes, pixels->mask,
                          pixels->rect.width, pixels->rect.height, options,
                          area, report_progress, NULL, error);
}

/* The same with a Stable Diffusion checkpoint and the prompts. */
static gboolean sample_text(DmPlugRun *run, const DmAreaOptions *area,
                            GError **error) {
  DmPlugArea *pixels = run->area;
  const DmSampleOptions *options = &run->settings.sample;
  DmSdOptions sd;
  dm_sd_options_default(&sd);
  for (int i = 0; i < DM_TEXT_OPTION_COUNT; i++)
    dm_text_option_set((DmTextOption)i, run->settings.prompts[i], &sd);
  if (pixels->mask == NULL)
    return dm_sd_generate(run->model.sd, pixels->planes, pixels->rect.width,
                          pixels->rect.height, &sd, options, area,
                          report_progress, NULL, error);
  return dm_sd_inpaint(run->model.sd, pixels->planes, pixels->mask,
                       pixels->rect.width, pixels->rect.height, &sd, options,
                       area, report_progress, NULL, error);
}

/* Loads the model, reads the pixels of its work area and samples into
 * run->area; the area's position in the drawable places the noise, so the
 * CLI on the whole image gives the same pixels. A pixel-space model
 * leaves the prompts alone (the dialog hides them for it). */
static gboolean sample(DmPlugRun *run, GError **error) {
  const DmPlugTarget *target = &run->target;
  const gboolean inpaint = target->work.task == DM_TASK_INPAINT;
  GeglRectangle rect;
  if (!dm_ui_model_load(&run->model, run->settings.model, error) ||
      !dm_ui_work_area(&target->work, &run->settings.area, &run->model,
                       &rect, NULL, error))
    return FALSE;
  DmAreaOptions area = run->settings.area;
  area.image_x = rect.x;
  area.image_y = rect.y;
  const int32_t channels =
      run->model.sd ? 3 : dm_model_config(run->model.pixel)->out_channels;
  gimp_progress_init(inpaint ? _("Healing the selection") : _("Generating"));
  run->area = dm_plug_area_read(target->drawable, &rect, channels, inpaint);
  return run->model.sd ? sample_text(run, &area, error)
                       : sample_pixels(run, &area, error);
}

/* The name the result layer gets for `model`: its file name without
 * ".safetensors" (caller frees). */
static gchar *model_display_name(const gchar *model) {
  gchar *trimmed = g_strdup(model);
  gsize length = strlen(trimmed);
  while (length > 1 && trimmed[length - 1] == '/') trimmed[--length] = '\0';
  gchar *name = g_path_get_basename(trimmed);
  g_free(trimmed);
  if (g_str_has_suffix(name, ".safetensors") &&
      strlen(name) > strlen(".safetensors"))
    name[strlen(name) - strlen(".safetensors")] = '\0';
  return name;
}

/* A copy of the source layer above it, named after the settings. */
static GimpDrawable *result_layer(const DmPlugRun *run) {
  GimpImage *image = run->target.image;
  GimpLayer *source = GIMP_LAYER(run->target.drawable);
  GimpLayer *layer = gimp_layer_copy(source);
  gchar *model = model_display_name(run->settings.model);
  gchar *name = g_strdup_printf(
      "%s %s %d #%" G_GUINT64_FORMAT, model,
      dm_sampler_name(run->settings.sample.sampler),
      run->settings.sample.steps, run->settings.sample.seed);
  gimp_item_set_name(GIMP_ITEM(layer), name);
  gimp_image_insert_layer(
      image, layer, GIMP_LAYER(gimp_item_get_parent(GIMP_ITEM(source))),
      gimp_image_get_item_position(image, GIMP_ITEM(source)));
  g_free(name);
  g_free(model);
  return GIMP_DRAWABLE(layer);
}

/* Writes the result, in one undo step. The progress ends first: GIMP's
 * cancel stops the plug-in at once, so it may only come while nothing has
 * been written. */
static void write_result(const DmPlugRun *run) {
  GimpImage *image = run->target.image;
  GimpDrawable *source = run->target.drawable;
  gimp_progress_end();
  gimp_image_undo_group_start(image);
  GimpDrawable *target = run->settings.new_layer && GIMP_IS_LAYER(source)
                             ? result_layer(run)
                             : source;
  dm_plug_area_write(run->area, target);
  gimp_image_undo_group_end(image);
}

static GimpPDBStatusType run_procedure(DmPlugRun *run, GError **error) {
  if (!sample(run, error))
    return g_error_matches(*error, DM_ERROR, DM_ERROR_CANCELLED)
               ? GIMP_PDB_CANCEL
               : GIMP_PDB_EXECUTION_ERROR;
  write_result(run);
  return GIMP_PDB_SUCCESS;
}

static GimpValueArray *dm_plug_run(GimpProcedure *procedure,
                                   GimpRunMode run_mode, GimpImage *image,
                                   GimpDrawable **drawables,
                                   GimpProcedureConfig *config,
                                   gpointer run_data) {
  (void)run_data;
  GError *error = NULL;
  DmPlugRun run = {0};
  if (drawables[0] == NULL || drawables[1] != NULL ||
      gimp_item_is_group(GIMP_ITEM(drawables[0]))) {
    g_set_error_literal(&error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                        _("Choose exactly one layer or channel (not a layer "
                          "group)"));
    return gimp_procedure_new_return_values(
        procedure, GIMP_PDB_CALLING_ERROR, error);
  }
  const DmTask task = g_strcmp0(gimp_procedure_get_name(procedure),
                                DM_PLUG_INPAINT_PROC) == 0
                          ? DM_TASK_INPAINT
                          : DM_TASK_GENERATE;
  if (!dm_plug_target_init(&run.target, image, drawables[0], task, &error))
    return gimp_procedure_new_return_values(
        procedure, GIMP_PDB_EXECUTION_ERROR, error);
  if (run_mode == GIMP_RUN_INTERACTIVE &&
      !dm_ui_dialog_run(procedure, config, &run.target.work,
                        dm_plug_read_options))
    return gimp_procedure_new_return_values(procedure, GIMP_PDB_CANCEL, NULL);
  /* GIMP stays usable while the dialog is open: the selection may have
   * changed since. */
  if (run_mode == GIMP_RUN_INTERACTIVE &&
      !dm_plug_target_init(&run.target, image, drawables[0], task, &error))
    return gimp_procedure_new_return_values(
        procedure, GIMP_PDB_EXECUTION_ERROR, error);
  const GimpPDBStatusType status =
      dm_plug_settings_read(config, task, &run.settings, &error)
          ? run_procedure(&run, &error)
          : GIMP_PDB_CALLING_ERROR;
  dm_plug_area_free(run.area);
  dm_ui_model_clear(&run.model);
  dm_plug_settings_clear(&run.settings);
  if (status == GIMP_PDB_SUCCESS && run_mode != GIMP_RUN_NONINTERACTIVE)
    gimp_displays_flush();
  return gimp_procedure_new_return_values(procedure, status, error);
}

static GimpProcedure *dm_plug_create_procedure(GimpPlugIn *plug_in,
                                               const gchar *name) {
  const gboolean inpaint = g_strcmp0(name, DM_PLUG_INPAINT_PROC) == 0;
  if (!inpaint && g_strcmp0(name, DM_PLUG_GENERATE_PROC) != 0) return NULL;
  GimpProcedure *procedure = gimp_image_procedure_new(
      plug_in, name, GIMP_PDB_PROC_TYPE_PLUGIN, dm_plug_run, NULL, NULL);
  gimp_procedure_set_image_types(procedure, "RGB*, GRAY*");
  gimp_procedure_set_sensitivity_mask(procedure,
                                      GIMP_PROCEDURE_SENSITIVE_DRAWABLE);
  gimp_procedure_set_menu_label(procedure,
                                inpaint ? _("_Heal Selection (Diffusion)...")
                                        : _("_Generate (Diffusion)..."));
  gimp_procedure_add_menu_path(procedure, inpaint ? "<Image>/Filters/Enhance"
                                                  : "<Image>/Filters/Render");
  gimp_procedure_set_documentation(
      procedure,
      inpaint ? _("Fill the selection from its surroundings with a diffusion "
                  "model")
              : _("Fill the selection with an image drawn by a diffusion "
                  "model"),
      inpaint ? _("Heals the selected part of the layer: a diffusion model "
                  "samples new pixels that fit the pixels around them. A "
                  "feathered selection blends softly.")
              : _("Fills the selection, or the whole layer when nothing is "
                  "selected, with a sample of a diffusion model: "
                  "unconditional, or for a Stable Diffusion checkpoint what "
                  "the prompt describes."),
      name);
  gimp_procedure_set_attribution(procedure, "the gimp-diffusion authors",
                                 "the gimp-diffusion authors", "2026");
  dm_plug_add_arguments(procedure,
                        inpaint ? DM_TASK_INPAINT : DM_TASK_GENERATE);
  return procedure;
}

static void dm_plug_class_init(DmPlugClass *klass) {
  GimpPlugInClass *plug_in_class = GIMP_PLUG_IN_CLASS(klass);
  plug_in_class->query_procedures = dm_plug_query_procedures;
  plug_in_class->create_procedure = dm_plug_create_procedure;
  plug_in_class->set_i18n = dm_plug_set_i18n;
}

static void dm_plug_init(DmPlug *plug) { (void)plug; }

GIMP_MAIN(DM_PLUG_TYPE)
