/* gimp-diffusion plug-in: the procedures' dialog, generated from their
 * arguments (GimpProcedureDialog), plus a model chooser, a "new seed"
 * button and an estimate of the work.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include <glib/gi18n-lib.h>
#include <libgimp/gimpui.h>

#include "dialog.h"
#include "estimate.h"

/* Lines `label` up with the labels the dialog aligns, by a size group
 * shared with the steps' label (labels in boxes are left out of the
 * dialog's own group). */
static void line_up_label(GimpProcedureDialog *dialog, GtkWidget *label) {
  GtkWidget *steps = gimp_procedure_dialog_get_widget(dialog, "steps",
                                                      G_TYPE_NONE);
  GtkSizeGroup *labels = gtk_size_group_new(GTK_SIZE_GROUP_HORIZONTAL);
  gtk_size_group_add_widget(labels, label);
  gtk_size_group_add_widget(labels,
                            gimp_labeled_get_label(GIMP_LABELED(steps)));
  g_object_unref(labels);
}

/* The file chooser's response for "use the folder shown (or selected)". */
#define RESPONSE_FOLDER 1

/* The model a file chooser's response picks (caller frees): the chosen
 * file, or for RESPONSE_FOLDER the selected folder or else the folder
 * shown; NULL when cancelled. */
static gchar *chosen_model(GtkFileChooser *chooser, gint response) {
  if (response != GTK_RESPONSE_ACCEPT && response != RESPONSE_FOLDER)
    return NULL;
  gchar *path = gtk_file_chooser_get_filename(chooser);
  if (response == RESPONSE_FOLDER &&
      (path == NULL || !g_file_test(path, G_FILE_TEST_IS_DIR))) {
    g_free(path);
    path = gtk_file_chooser_get_current_folder(chooser);
  }
  return path;
}

static void add_filter(GtkFileChooser *chooser, const gchar *name,
                       const gchar *pattern) {
  GtkFileFilter *filter = gtk_file_filter_new();
  gtk_file_filter_set_name(filter, name);
  gtk_file_filter_add_pattern(filter, pattern);
  gtk_file_chooser_add_filter(chooser, filter);
}

/* "Browse…": any model file, or a diffusers folder, as the model. */
static void browse_models(GtkButton *button, GimpProcedureConfig *config) {
  GtkWidget *chooser = gtk_file_chooser_dialog_new(
      _("Choose a Model"),
      GTK_WINDOW(gtk_widget_get_toplevel(GTK_WIDGET(button))),
      GTK_FILE_CHOOSER_ACTION_OPEN, _("_Cancel"), GTK_RESPONSE_CANCEL,
      _("Use This _Folder"), RESPONSE_FOLDER, _("_Open"),
      GTK_RESPONSE_ACCEPT, NULL);
  gtk_widget_set_tooltip_text(
      gtk_dialog_get_widget_for_response(GTK_DIALOG(chooser),
                                         RESPONSE_FOLDER),
      _("Use the selected folder, or else the one shown, as a diffusers "
        "model or pipeline folder"));
  add_filter(GTK_FILE_CHOOSER(chooser), _("Model files (*.safetensors)"),
             "*.safetensors");
  add_filter(GTK_FILE_CHOOSER(chooser), _("All files"), "*");
  gchar *model = NULL;
  g_object_get(config, "model", &model, NULL);
  if (model && g_path_is_absolute(model))
    gtk_file_chooser_set_filename(GTK_FILE_CHOOSER(chooser), model);
  else
    gtk_file_chooser_set_current_folder(GTK_FILE_CHOOSER(chooser),
                                        g_get_home_dir());
  g_free(model);
  const gint response = gtk_dialog_run(GTK_DIALOG(chooser));
  model = chosen_model(GTK_FILE_CHOOSER(chooser), response);
  if (model) g_object_set(config, "model", model, NULL);
  g_free(model);
  gtk_widget_destroy(chooser);
}

/* `preferred` if it is among the installed `names`, else the first name
 * (NULL when none is installed). */
static const gchar *default_model(gchar **names, const gchar *preferred) {
  for (gchar **name = names; *name; name++)
    if (g_strcmp0(*name, preferred) == 0) return *name;
  return names[0];
}

/* An editable combo box of the installed models: each name, and beside
 * it in the list a Stable Diffusion checkpoint's family
 * (dm_model_describe); the entry holds the name. */
static GtkWidget *model_combo(void) {
  GtkListStore *store = gtk_list_store_new(2, G_TYPE_STRING, G_TYPE_STRING);
  gchar **names = dm_models_installed();
  for (gchar **name = names; *name; name++) {
    gchar *family = dm_model_describe(*name);
    gtk_list_store_insert_with_values(store, NULL, -1, 0, *name, 1,
                                      family ? family : "", -1);
    g_free(family);
  }
  g_strfreev(names);
  GtkWidget *combo =
      gtk_combo_box_new_with_model_and_entry(GTK_TREE_MODEL(store));
  g_object_unref(store);
  gtk_combo_box_set_entry_text_column(GTK_COMBO_BOX(combo), 0);
  GtkCellRenderer *family = gtk_cell_renderer_text_new();
  g_object_set(family, "style", PANGO_STYLE_ITALIC, NULL);
  gtk_cell_layout_pack_start(GTK_CELL_LAYOUT(combo), family, FALSE);
  gtk_cell_layout_add_attribute(GTK_CELL_LAYOUT(combo), family, "text", 1);
  return combo;
}

/* The model: an editable combo box offering the installed models by name
 * (`preferred`, else the first one, chosen when the setting is empty), and
 * a "Browse…" button for any other file or folder. */
static void add_model_box(GimpProcedureDialog *dialog,
                          GimpProcedureConfig *config,
                          const gchar *preferred) {
  GParamSpec *pspec =
      g_object_class_find_property(G_OBJECT_GET_CLASS(config), "model");
  GtkWidget *label = gimp_procedure_dialog_get_label(
      dialog, "model-label", g_param_spec_get_nick(pspec), FALSE, TRUE);
  gtk_label_set_xalign(GTK_LABEL(label), 0.0f);
  line_up_label(dialog, label);

  GtkWidget *combo = model_combo();
  gchar **names = dm_models_installed();
  gchar *model = NULL;
  g_object_get(config, "model", &model, NULL);
  if ((model == NULL || *model == '\0') && names[0] != NULL)
    g_object_set(config, "model", default_model(names, preferred), NULL);
  g_free(model);
  g_strfreev(names);
  g_object_bind_property(config, "model", gtk_bin_get_child(GTK_BIN(combo)),
                         "text",
                         G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
  gtk_widget_set_tooltip_text(combo, g_param_spec_get_blurb(pspec));
  gtk_widget_set_hexpand(combo, TRUE);
  gtk_label_set_mnemonic_widget(GTK_LABEL(label), combo);

  GtkWidget *browse = gtk_button_new_with_mnemonic(_("_Browse…"));
  gtk_widget_set_tooltip_text(browse,
                              _("Choose a model file or diffusers folder"));
  g_signal_connect(browse, "clicked", G_CALLBACK(browse_models), config);

  GtkWidget *box =
      gimp_procedure_dialog_fill_box(dialog, "model-box", "model-label", NULL);
  gtk_orientable_set_orientation(GTK_ORIENTABLE(box),
                                 GTK_ORIENTATION_HORIZONTAL);
  gtk_box_set_spacing(GTK_BOX(box), 6);
  gtk_box_pack_start(GTK_BOX(box), combo, TRUE, TRUE, 0);
  gtk_box_pack_start(GTK_BOX(box), browse, FALSE, FALSE, 0);
  gtk_widget_show(combo);
  gtk_widget_show(browse);
}

static void new_seed(GtkButton *button, GimpProcedureConfig *config) {
  (void)button;
  g_object_set(config, "seed", g_random_int_range(0, G_MAXINT), NULL);
}

/* The seed's spin button with a "New seed" button beside it. */
static void add_seed_box(GimpProcedureDialog *dialog,
                         GimpProcedureConfig *config) {
  GtkWidget *box = gimp_procedure_dialog_fill_box(dialog, "seed-box", "seed",
                                                  NULL);
  gtk_orientable_set_orientation(GTK_ORIENTABLE(box),
                                 GTK_ORIENTATION_HORIZONTAL);
  GtkWidget *seed = gimp_procedure_dialog_get_widget(dialog, "seed",
                                                     G_TYPE_NONE);
  line_up_label(dialog, gimp_labeled_get_label(GIMP_LABELED(seed)));
  GtkWidget *button = gtk_button_new_with_mnemonic(_("_New seed"));
  gtk_widget_set_tooltip_text(button, _("Draw a random seed"));
  gtk_box_pack_start(GTK_BOX(box), button, FALSE, FALSE, 0);
  gtk_widget_show(button);
  g_signal_connect(button, "clicked", G_CALLBACK(new_seed), config);
}

/* The widget names of the task's options (core's table) that are (or,
 * with `advanced` FALSE, are not) advanced, in the table's order, the
 * expert ones left out; the seed's box stands for the seed. Free with
 * g_list_free(). */
static GList *option_names(DmTask task, gboolean advanced) {
  GList *names = NULL;
  for (int i = DM_OPTION_COUNT - 1; i >= 0; i--) {
    const DmOptionInfo *info = dm_option_info((DmOption)i);
    if ((info->flags & (1u << task)) && !(info->flags & DM_OPTION_EXPERT) &&
        !(info->flags & DM_OPTION_ADVANCED) == !advanced)
      names = g_list_prepend(names, (gpointer)(i == DM_OPTION_SEED
                                                   ? "seed-box" : info->name));
  }
  return names;
}

/* The fractional options as spin scales (their ranges are too short for
 * the default spin button's steps). */
static void use_spin_scales(GimpProcedureDialog *dialog, DmTask task) {
  for (int i = 0; i < DM_OPTION_COUNT; i++) {
    const DmOptionInfo *info = dm_option_info((DmOption)i);
    if ((info->flags & (1u << task)) && info->type == DM_OPTION_FLOAT)
      gimp_procedure_dialog_get_spin_scale(dialog, info->name, 1.0);
  }
}

/* The settings most runs leave alone, in a closed expander. */
static void add_advanced(GimpProcedureDialog *dialog, DmTask task) {
  GList *names = option_names(task, TRUE);
  gimp_procedure_dialog_fill_box_list(dialog, "advanced-box", names);
  g_list_free(names);
  gimp_procedure_dialog_get_label(dialog, "advanced-label",
                                  _("_Advanced settings"), FALSE, TRUE);
  gimp_procedure_dialog_fill_expander(dialog, "advanced", "advanced-label",
                                      FALSE, "advanced-box");
}

/* The dialog's rows: the model, the prompts, the task's options that are
 * not advanced (the seed with its button), new-layer, the advanced ones,
 * the estimate. */
static void fill_rows(GimpProcedureDialog *dialog, DmTask task) {
  GList *rows = option_names(task, FALSE);
  for (int i = DM_TEXT_OPTION_COUNT - 1; i >= 0; i--)
    rows = g_list_prepend(rows,
                          (gpointer)dm_text_option_info((DmTextOption)i)->name);
  rows = g_list_prepend(rows, "model-box");
  rows = g_list_append(rows, "new-layer");
  rows = g_list_append(rows, "advanced");
  rows = g_list_append(rows, "estimate");
  gimp_procedure_dialog_fill_list(dialog, rows);
  g_list_free(rows);
}

/* The widgets that depend on the model, and the kind of model last
 * shown. */
typedef struct {
  GimpProcedureConfig *config;
  DmTask task;
  DmUiReadFunc read;
  GtkWidget *guidance;
  GtkWidget *prompts[DM_TEXT_OPTION_COUNT];
  int text_model; /* -1: none seen yet, 0: pixel-space, 1: Stable
                   * Diffusion */
} ModelWidgets;

/* Sets the argument of `option` in `config` to `value` as the table
 * counts it. */
static void set_argument(GimpProcedureConfig *config, DmOption option,
                         double value) {
  const DmOptionInfo *info = dm_option_info(option);
  switch (info->type) {
  case DM_OPTION_INT:
    g_object_set(config, info->name, (gint)value, NULL);
    break;
  case DM_OPTION_FLOAT:
    g_object_set(config, info->name, (gdouble)value, NULL);
    break;
  case DM_OPTION_BOOL:
    g_object_set(config, info->name, (gboolean)(value != 0), NULL);
    break;
  case DM_OPTION_CHOICE:
    g_object_set(config, info->name,
                 dm_option_choice_name(option, (int32_t)value), NULL);
    break;
  }
}

/* When the model changes kind, the options with a Stable Diffusion
 * default (DM_OPTION_TEXT_DEFAULT) still at the other kind's default
 * move to this kind's: 20 DPM++ steps with guidance 7.5 for a checkpoint,
 * the table's defaults for pixel-space models; values the user changed
 * stay. */
static void switch_defaults(ModelWidgets *widgets, gboolean text_model) {
  DmSampleOptions sample;
  DmAreaOptions area;
  gchar *model = NULL;
  const gboolean read = widgets->read(widgets->config, widgets->task, &model,
                                      &sample, &area, NULL);
  g_free(model);
  if (!read) return;
  for (int i = 0; i < DM_OPTION_COUNT; i++) {
    const DmOptionInfo *info = dm_option_info((DmOption)i);
    if (!(info->flags & DM_OPTION_TEXT_DEFAULT) ||
        !(info->flags & (1u << widgets->task)))
      continue;
    const double pixel = info->defaults[widgets->task];
    const double text = info->text_defaults[widgets->task];
    const double from = text_model ? pixel : text, to = text_model ? text
                                                                   : pixel;
    if ((float)dm_option_get((DmOption)i, &sample, &area) == (float)from)
      set_argument(widgets->config, (DmOption)i, to);
  }
}

/* DmUiModelFunc: the guidance scale only for the models that read it, the
 * prompts only for Stable Diffusion checkpoints; their defaults with the
 * kind of model. */
static void show_for_model(const DmUiModel *model, gpointer data) {
  ModelWidgets *widgets = data;
  const gboolean text_model = model != NULL && model->sd != NULL;
  if (widgets->guidance)
    gtk_widget_set_visible(widgets->guidance,
                           model && dm_ui_model_guided(model, widgets->task));
  for (int i = 0; i < DM_TEXT_OPTION_COUNT; i++)
    gtk_widget_set_visible(widgets->prompts[i], text_model);
  if (model == NULL || widgets->text_model == text_model) return;
  const gboolean changed = widgets->text_model >= 0 || text_model;
  widgets->text_model = text_model;
  if (changed) switch_defaults(widgets, text_model);
}

gboolean dm_ui_dialog_run(GimpProcedure *procedure,
                          GimpProcedureConfig *config, const DmUiWork *work,
                          DmUiReadFunc read) {
  gimp_ui_init(g_get_prgname());
  const gboolean inpaint = work->task == DM_TASK_INPAINT;
  GtkWidget *dialog = gimp_procedure_dialog_new(
      procedure, config,
      inpaint ? _("Heal Selection (Diffusion)") : _("Generate (Diffusion)"));
  GimpProcedureDialog *procedure_dialog = GIMP_PROCEDURE_DIALOG(dialog);
  /* The bundled models: photo heals, texture generates seamless materials. */
  add_model_box(procedure_dialog, config, inpaint ? "photo" : "texture");
  add_seed_box(procedure_dialog, config);
  use_spin_scales(procedure_dialog, work->task);
  add_advanced(procedure_dialog, work->task);
  GtkWidget *label = gimp_procedure_dialog_get_label(
      procedure_dialog, "estimate", "", FALSE, FALSE);
  fill_rows(procedure_dialog, work->task);
  ModelWidgets widgets = {config, work->task, read, NULL, {NULL}, -1};
  widgets.guidance = gimp_procedure_dialog_get_widget(
      procedure_dialog, "guidance-scale", G_TYPE_NONE);
  for (int i = 0; i < DM_TEXT_OPTION_COUNT; i++)
    widgets.prompts[i] = gimp_procedure_dialog_get_widget(
        procedure_dialog, dm_text_option_info((DmTextOption)i)->name,
        G_TYPE_NONE);
  /* until the model is known */
  gtk_widget_hide(widgets.guidance);
  for (int i = 0; i < DM_TEXT_OPTION_COUNT; i++)
    gtk_widget_hide(widgets.prompts[i]);
  DmUiEstimate *estimate = dm_ui_estimate_new(
      config, work, read, GTK_LABEL(label), show_for_model, &widgets);
  const gboolean run = gimp_procedure_dialog_run(procedure_dialog);
  gtk_widget_hide(dialog); /* while a measurement under way ends */
  dm_ui_estimate_free(estimate);
  gtk_widget_destroy(dialog);
  return run;
}
