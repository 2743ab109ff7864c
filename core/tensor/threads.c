/* gimp-diffusion core: thread count for OpenBLAS and our OpenMP loops.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include <cblas.h>
#include <omp.h>

#include "tensor/base.h"

void dm_set_num_threads(int32_t n) {
  if (n <= 0) n = (int32_t)g_get_num_processors();
  /* OpenBLAS's own thread pool would compete with ours for the cores (on
   * two cores, measured: most of the time went to spinning and sched_yield).
   * Each of our threads calls sgemm on its own tile instead. */
  openblas_set_num_threads(1);
  omp_set_num_threads(n);
}

void dm_threads_init(void) {
  static gsize done = 0;
  if (g_once_init_enter(&done)) {
    openblas_set_num_threads(1);
    g_once_init_leave(&done, 1);
  }
}

int32_t dm_get_num_threads(void) { return (int32_t)omp_get_max_threads(); }
