/* gimp-diffusion plug-in: the procedures' arguments, made from core's
 * option table, and read back into core's options.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include <glib/gi18n-lib.h>

#include "settings.h"

/* The choices of a CHOICE option (the sampler): one per core value,
 * labelled with its name and translated one-line description. */
static GimpChoice *option_choice(DmOption option) {
  GimpChoice *choice = gimp_choice_new();
  for (int32_t i = 0; i < dm_option_info(option)->choices; i++) {
    const gchar *name = dm_option_choice_name(option, i);
    const gchar *description = _(dm_option_choice_description(option, i));
    gchar *label = g_strdup_printf("%s: %s", name, description);
    gimp_choice_add(choice, name, i, label, description);
    g_free(label);
  }
  return choice;
}

/* The procedure argument of `option`, with `task`'s default. */
static void add_option(GimpProcedure *procedure, DmOption option,
                       DmTask task) {
  const DmOptionInfo *info = dm_option_info(option);
  const gchar *label = _(info->label), *help = _(info->help);
  const double value = info->defaults[task];
  switch (info->type) {
  case DM_OPTION_INT:
    gimp_procedure_add_int_argument(procedure, info->name, label, help,
                                    (gint)info->min, (gint)info->max,
                                    (gint)value, G_PARAM_READWRITE);
    break;
  case DM_OPTION_FLOAT:
    gimp_procedure_add_double_argument(procedure, info->name, label, help,
                                       info->min, info->max, value,
                                       G_PARAM_READWRITE);
    break;
  case DM_OPTION_BOOL:
    gimp_procedure_add_boolean_argument(procedure, info->name, label, help,
                                        value != 0, G_PARAM_READWRITE);
    break;
  case DM_OPTION_CHOICE:
    gimp_procedure_add_choice_argument(
        procedure, info->name, label, help, option_choice(option),
        dm_option_choice_name(option, (int32_t)value), G_PARAM_READWRITE);
    break;
  }
}

void dm_plug_add_arguments(GimpProcedure *procedure, DmTask task) {
  gimp_procedure_add_string_argument(procedure, "model", _("_Model"),
      _("A model file or diffusers folder, or the name of a model installed "
        "in gimp-diffusion/models of the user's or the system's data folder"),
      "", G_PARAM_READWRITE);
  for (int i = 0; i < DM_TEXT_OPTION_COUNT; i++) {
    const DmTextOptionInfo *info = dm_text_option_info((DmTextOption)i);
    gimp_procedure_add_string_argument(procedure, info->name, _(info->label),
                                       _(info->help), "", G_PARAM_READWRITE);
  }
  for (int i = 0; i < DM_OPTION_COUNT; i++)
    if (dm_option_info((DmOption)i)->flags & (1u << task))
      add_option(procedure, (DmOption)i, task);
  gimp_procedure_add_boolean_argument(procedure, "new-layer",
      _("Output to a ne_w layer"),
      _("Put the result in a new layer above the source (else change the "
        "layer itself)"), TRUE, G_PARAM_READWRITE);
}

/* The value of `option`'s argument in `config`, as the table counts it. */
static double argument_value(GimpProcedureConfig *config, DmOption option) {
  const DmOptionInfo *info = dm_option_info(option);
  gint whole = 0;
  gdouble number = 0;
  gboolean truth = FALSE; /* gboolean, not bool */
  double value = 0;
  switch (info->type) {
  case DM_OPTION_INT:
    g_object_get(config, info->name, &whole, NULL);
    value = whole;
    break;
  case DM_OPTION_FLOAT:
    g_object_get(config, info->name, &number, NULL);
    value = number;
    break;
  case DM_OPTION_BOOL:
    g_object_get(config, info->name, &truth, NULL);
    value = truth != FALSE;
    break;
  case DM_OPTION_CHOICE: /* the choices' ids are the table's indices */
    value = gimp_procedure_config_get_choice_id(config, info->name);
    break;
  }
  return value;
}

gboolean dm_plug_read_options(GimpProcedureConfig *config, DmTask task,
                              gchar **model, DmSampleOptions *sample,
                              DmAreaOptions *area, GError **error) {
  dm_options_default(task, sample, area);
  g_object_get(config, "model", model, NULL);
  for (int i = 0; i < DM_OPTION_COUNT; i++)
    if (dm_option_info((DmOption)i)->flags & (1u << task) &&
        !dm_option_set((DmOption)i, argument_value(config, (DmOption)i),
                       sample, area, error))
      return FALSE;
  return TRUE;
}

gboolean dm_plug_settings_read(GimpProcedureConfig *config, DmTask task,
                               DmPlugSettings *settings, GError **error) {
  g_object_get(config, "new-layer", &settings->new_layer, NULL);
  for (int i = 0; i < DM_TEXT_OPTION_COUNT; i++)
    g_object_get(config, dm_text_option_info((DmTextOption)i)->name,
                 &settings->prompts[i], NULL);
  return dm_plug_read_options(config, task, &settings->model,
                              &settings->sample, &settings->area, error);
}

void dm_plug_settings_clear(DmPlugSettings *settings) {
  g_clear_pointer(&settings->model, g_free);
  for (int i = 0; i < DM_TEXT_OPTION_COUNT; i++)
    g_clear_pointer(&settings->prompts[i], g_free);
}
