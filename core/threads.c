/* gimp-diffusion core: thread count for OpenBLAS and our OpenMP loops.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include <cblas.h>
#include <omp.h>

#include "dm.h"

void dm_set_num_threads(int32_t n) {
  if (n <= 0) n = (int32_t)g_get_num_processors();
  openblas_set_num_threads(n);
  omp_set_num_threads(n);
}

int32_t dm_get_num_threads(void) { return (int32_t)omp_get_max_threads(); }
