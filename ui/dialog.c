/* gimp-diffusion plug-in: the procedures' dialog, generated from their
 * arguments (GimpProcedureDialog), plus a "new seed" button and an
 * estimate of the work.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include <glib/gi18n-lib.h>
#include <libgimp/gimpui.h>

#include "dialog.h"
#include "estimate.h"
#include "settings.h"

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
  GtkWidget *button = gtk_button_new_with_mnemonic(_("_New seed"));
  gtk_widget_set_tooltip_text(button, _("Draw a random seed"));
  gtk_box_pack_start(GTK_BOX(box), button, FALSE, FALSE, 0);
  gtk_widget_show(button);
  g_signal_connect(button, "clicked", G_CALLBACK(new_seed), config);
}

/* The settings most runs leave alone, in a closed expander; the two
 * fractional ones as spin scales (their ranges are too short for the
 * default spin button's steps). */
static void add_advanced(GimpProcedureDialog *dialog, gboolean inpaint) {
  gimp_procedure_dialog_get_spin_scale(dialog, "eta", 1.0);
  gimp_procedure_dialog_get_spin_scale(dialog, "snr", 1.0);
  gimp_procedure_dialog_fill_box(dialog, "advanced-box", "eta",
                                 "corrector-steps", "snr", "jump-length",
                                 "jump-repeats",
                                 inpaint ? "context-margin" : NULL, NULL);
  gimp_procedure_dialog_get_label(dialog, "advanced-label",
                                  _("_Advanced settings"), FALSE, TRUE);
  gimp_procedure_dialog_fill_expander(dialog, "advanced", "advanced-label",
                                      FALSE, "advanced-box");
}

gboolean dm_ui_dialog_run(GimpProcedure *procedure,
                          GimpProcedureConfig *config,
                          const DmPlugTarget *target) {
  gimp_ui_init(DM_PLUG_BINARY);
  GtkWidget *dialog = gimp_procedure_dialog_new(
      procedure, config,
      target->inpaint ? _("Heal Selection (Diffusion)")
                      : _("Generate (Diffusion)"));
  GimpProcedureDialog *procedure_dialog = GIMP_PROCEDURE_DIALOG(dialog);
  add_seed_box(procedure_dialog, config);
  add_advanced(procedure_dialog, target->inpaint);
  GtkWidget *label = gimp_procedure_dialog_get_label(
      procedure_dialog, "estimate", "", FALSE, FALSE);
  DmUiEstimate *estimate =
      dm_ui_estimate_new(config, target, GTK_LABEL(label));
  gimp_procedure_dialog_fill(procedure_dialog, "model", "sampler",
                             "steps", "seed-box", "new-layer", "advanced",
                             "estimate", NULL);
  const gboolean run = gimp_procedure_dialog_run(procedure_dialog);
  dm_ui_estimate_free(estimate);
  gtk_widget_destroy(dialog);
  return run;
}
