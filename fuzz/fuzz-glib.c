/* What the fuzz targets share (fuzz-glib.h).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include <stdio.h>
#include <stdlib.h>

#include <glib.h>

#include "fuzz-glib.h"

static void abort_on_glib_warning(const char *domain, GLogLevelFlags level,
                                  const char *message, gpointer user_data) {
  (void)user_data;
  if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL |
               G_LOG_LEVEL_WARNING)) {
    fprintf(stderr, "GLib %s: %s\n", domain ? domain : "", message);
    abort();
  }
}

void dm_fuzz_abort_on_glib_warnings(void) {
  g_log_set_default_handler(abort_on_glib_warning, NULL);
}
