/* gimp-diffusion CLI: the commands other than info (one file each).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#ifndef DM_CLI_COMMANDS_H
#define DM_CLI_COMMANDS_H

#include <glib.h>

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

/* Prints "gimp-diffusion: error: MESSAGE" on one line, returns `status`. */
int dm_cli_fail(int status, const char *format, ...) G_GNUC_PRINTF(2, 3);

extern const GOptionEntry dm_cli_sample_options[];
int dm_cli_run_sample(int argc, char **argv);

#endif /* DM_CLI_COMMANDS_H */
