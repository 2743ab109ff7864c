/* What the fuzz targets share.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#ifndef DM_FUZZ_GLIB_H
#define DM_FUZZ_GLIB_H

/* Makes every GLib warning or critical (g_return_if_fail in any library)
 * abort, so that libFuzzer reports it as a bug and keeps the input. */
void dm_fuzz_abort_on_glib_warnings(void);

#endif /* DM_FUZZ_GLIB_H */
