/* gimp-diffusion CLI: one-line messages on stderr.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include <stdarg.h>
#include <stdio.h>

#include <glib/gi18n-lib.h>

#include "commands.h"

/* Prints "gimp-diffusion: KIND: MESSAGE" on one line, whatever the message
 * holds; KIND is translated, MESSAGE comes translated. */
static void print_line(const char *kind, const char *format, va_list args) {
  char *message = g_strdup_vprintf(format, args);
  g_strdelimit(message, "\n\r", ' ');
  fprintf(stderr, "gimp-diffusion: %s: %s\n", kind, message);
  g_free(message);
}

int dm_cli_fail(int status, const char *format, ...) {
  va_list args;
  va_start(args, format);
  print_line(_("error"), format, args);
  va_end(args);
  return status;
}

void dm_cli_warn(const char *format, ...) {
  va_list args;
  va_start(args, format);
  print_line(_("warning"), format, args);
  va_end(args);
}
