/* Speed and memory of the U-Net on random-weight models.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 *   bench-unet                 speed table: ms per forward, GFLOP, GFLOP/s and
 *                              the fraction of a 1024^3 cblas_sgemm measured in
 *                              the same run
 *   bench-unet --memory        peak RSS of tiny64 forwards at 256..1024 px
 *   bench-unet --peak LAYOUT SIZE   (internal) one forward, prints VmHWM
 *   bench-unet --train         tiny64, batch 16, 64x64: seconds of the
 *                              inference forward against the training
 *                              forward + backward, and each one's peak RSS
 *   bench-unet --train-run forward|train   (internal) one row of --train
 *
 * Forward and sgemm figures are medians of --repeat runs (default 5) after
 * one warm-up. The machine is a shared VM whose speed drifts: compare only
 * figures from one run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cblas.h>

#include "bench-common.h"
#include "dm-private.h"
#include "unet-train.h"

static int repeat_count = 5;

/* GFLOP/s of a square sgemm of side n with OpenBLAS's own threads on all
 * our cores: the machine's attainable peak. */
static double sgemm_gflops(int n) {
  openblas_set_num_threads(dm_get_num_threads());
  float *a = calloc((size_t)n * n, sizeof(float)), *b = calloc((size_t)n * n, sizeof(float)),
        *c = calloc((size_t)n * n, sizeof(float));
  for (size_t i = 0; i < (size_t)n * n; i++) a[i] = b[i] = 1e-3f * (float)(i % 97);
  double times[16];
  for (int r = -1; r < repeat_count; r++) {
    const double start = now_seconds();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n,
                b, n, 0.0f, c, n);
    if (r >= 0) times[r] = now_seconds() - start;
  }
  free(a);
  free(b);
  free(c);
  dm_set_num_threads(dm_get_num_threads()); /* back to our own threading */
  return 2.0 * n * n * (double)n / median(times, repeat_count) / 1e9;
}

/* The layout named `name`, or NULL. */
static const Layout *find_layout(const char *name) {
  for (size_t i = 0; i < G_N_ELEMENTS(layouts); i++)
    if (strcmp(layouts[i].name, name) == 0) return &layouts[i];
  fprintf(stderr, "bench-unet: unknown layout %s\n", name);
  return NULL;
}

static void check(bool ok, GError *error) {
  if (!ok) {
    fprintf(stderr, "bench-unet: %s\n", error ? error->message : "failed");
    exit(1);
  }
}

/* A batch of n size x size inputs (x, out, timesteps t), filled. */
typedef struct {
  DmTensor *x, *out;
  float *t;
} Batch;

static Batch batch_new(int32_t n, int32_t size) {
  GError *error = NULL;
  Batch b = {dm_tensor_new(n, 3, size, size, &error),
             dm_tensor_new(n, 3, size, size, &error), calloc(n, sizeof(float))};
  check(b.x && b.out && b.t, error);
  for (size_t i = 0; i < dm_tensor_numel(b.x); i++)
    b.x->data[i] = (float)(i % 13) / 13.0f - 0.5f;
  for (int32_t i = 0; i < n; i++) b.t[i] = 500.0f;
  return b;
}

static void batch_free(Batch *b) {
  free(b->t);
  dm_tensor_free(b->x);
  dm_tensor_free(b->out);
}

/* Median seconds of one forward at batch n, size x size (after a warm-up
 * run when `warm_up`). */
static double time_forward(DmModel *model, int32_t n, int32_t size,
                           bool warm_up) {
  GError *error = NULL;
  Batch b = batch_new(n, size);
  double times[16];
  for (int r = warm_up ? -1 : 0; r < repeat_count; r++) {
    const double start = now_seconds();
    check(dm_model_forward(model, b.out, b.x, b.t, &error), error);
    if (r >= 0) times[r] = now_seconds() - start;
  }
  batch_free(&b);
  return median(times, repeat_count);
}

/* Each row is compared with an sgemm measured just before it: the shared
 * VM's speed drifts by tens of percent within a run. */
static void speed_table(void) {
  const char *coretype = getenv("OPENBLAS_CORETYPE");
  printf("threads %d, OPENBLAS_CORETYPE=%s, repeats %d (median)\n",
         dm_get_num_threads(), coretype ? coretype : "(auto)", repeat_count);
  printf("sgemm: median cblas_sgemm 1024^3 GFLOP/s (OpenBLAS threads) "
         "measured right before each row\n\n");
  printf("%-8s %5s %4s %10s %10s %9s %7s %8s\n", "layout", "size", "batch",
         "ms/forward", "GFLOP", "GFLOP/s", "sgemm", "/sgemm");
  for (size_t i = 0; i < G_N_ELEMENTS(layouts); i++) {
    DmModel *model = bench_make_model(&layouts[i]);
    const int32_t native = layouts[i].native_size;
    const int32_t runs[3][2] = {{native, 1}, {native, 8}, {256, 1}};
    for (int r = 0; r < 3; r++) {
      const int32_t size = runs[r][0], batch = runs[r][1];
      const double peak = sgemm_gflops(1024);
      const double seconds = time_forward(model, batch, size, true);
      const double gflop = dm_model_flops(model, size, size) * batch / 1e9;
      printf("%-8s %5d %4d %10.1f %10.2f %9.1f %7.1f %8.2f\n",
             layouts[i].name, size, batch, seconds * 1e3, gflop,
             gflop / seconds, peak, gflop / seconds / peak);
      fflush(stdout);
    }
    dm_model_free(model);
  }
}

static int peak_mode(const char *layout_name, int32_t size) {
  const Layout *layout = find_layout(layout_name);
  if (layout == NULL) return 2;
  DmModel *model = bench_make_model(layout);
  const double before = peak_rss_mib();
  repeat_count = 1;
  const double seconds = time_forward(model, 1, size, false);
  printf("%-8s %5d  peak RSS %8.1f MiB (%.1f before the forward)  %.1f s\n",
         layout_name, size, peak_rss_mib(), before, seconds);
  dm_model_free(model);
  return 0;
}

/* Runs this program again with `mode` and its two arguments in a fresh
 * process, so that peaks do not mask each other. */
static void run_child(const char *self, const char *mode, const char *arg_1,
                      const char *arg_2) {
  char repeats[16];
  snprintf(repeats, sizeof repeats, "%d", repeat_count);
  fflush(stdout);
  pid_t child = fork();
  if (child == 0) {
    execl(self, self, "--repeat", repeats, mode, arg_1, arg_2, (char *)NULL);
    _exit(127);
  }
  int status = 0;
  waitpid(child, &status, 0);
}

static void memory_table(const char *self) {
  const char *sizes[] = {"256", "512", "1024"};
  printf("tiny64 forward, batch 1, one run per process\n");
  for (size_t i = 0; i < G_N_ELEMENTS(sizes); i++)
    run_child(self, "--peak", "tiny64", sizes[i]);
}

/* ---- training ---------------------------------------------------------- */

#define TRAIN_BATCH 16
#define TRAIN_SIZE 64

/* Median seconds of the training forward and of the backward (from a
 * dout of ones / numel, gradients zeroed before each), after a warm-up. */
static void time_train_step(DmModel *model, const Batch *b, double *forward,
                            double *backward) {
  GError *error = NULL;
  const DmTensor *x = b->x;
  DmUnetTape *tape = dm_unet_tape_new(model, x->n, x->h, x->w, &error);
  DmTensor *dout = dm_tensor_new(x->n, 3, x->h, x->w, &error);
  float *grads = malloc(model->params.total * sizeof(float));
  check(tape && dout && grads, error);
  for (size_t i = 0; i < dm_tensor_numel(dout); i++)
    dout->data[i] = 1.0f / (float)dm_tensor_numel(dout);
  double forward_times[16], backward_times[16];
  for (int r = -1; r < repeat_count; r++) {
    const double start = now_seconds();
    check(dm_unet_forward_train(model, tape, b->out, x, b->t, &error), error);
    const double middle = now_seconds();
    memset(grads, 0, model->params.total * sizeof(float));
    check(dm_unet_backward(model, tape, grads, NULL, dout, &error), error);
    if (r < 0) continue;
    forward_times[r] = middle - start;
    backward_times[r] = now_seconds() - middle;
  }
  *forward = median(forward_times, repeat_count);
  *backward = median(backward_times, repeat_count);
  free(grads);
  dm_tensor_free(dout);
  dm_unet_tape_free(tape);
}

/* One row of --train: "forward" (inference) or "train". */
static int train_run(const char *what) {
  DmModel *model = bench_make_model(find_layout("tiny64"));
  const double before = peak_rss_mib();
  double forward = 0.0, backward = 0.0;
  if (strcmp(what, "forward") == 0) {
    forward = time_forward(model, TRAIN_BATCH, TRAIN_SIZE, true);
  } else {
    Batch b = batch_new(TRAIN_BATCH, TRAIN_SIZE);
    time_train_step(model, &b, &forward, &backward);
    batch_free(&b);
  }
  printf("%-18s %8.3f %8.3f %8.3f %10.1f %10.1f\n",
         backward > 0.0 ? "forward + backward" : "inference forward",
         forward, backward, forward + backward, peak_rss_mib(), before);
  dm_model_free(model);
  return 0;
}

static void train_table(const char *self) {
  printf("tiny64, batch %d, %dx%d, %d threads, medians of %d after a "
         "warm-up, one process per row\n", TRAIN_BATCH, TRAIN_SIZE,
         TRAIN_SIZE, dm_get_num_threads(), repeat_count);
  printf("%-18s %8s %8s %8s %10s %10s\n", "", "forward", "backward",
         "total s", "peak MiB", "before");
  run_child(self, "--train-run", "forward", NULL);
  run_child(self, "--train-run", "train", NULL);
}

int main(int argc, char **argv) {
  dm_set_num_threads(0);
  bool train = false;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) {
      repeat_count = atoi(argv[++i]);
      if (repeat_count < 1 || repeat_count > 16) repeat_count = 5;
    } else if (strcmp(argv[i], "--memory") == 0) {
      memory_table(argv[0]);
      return 0;
    } else if (strcmp(argv[i], "--train") == 0) {
      train = true;
    } else if (strcmp(argv[i], "--peak") == 0 && i + 2 < argc) {
      return peak_mode(argv[i + 1], atoi(argv[i + 2]));
    } else if (strcmp(argv[i], "--train-run") == 0 && i + 1 < argc) {
      return train_run(argv[++i]);
    } else {
      fprintf(stderr, "usage: bench-unet [--repeat N] [--memory | --train]\n");
      return 2;
    }
  }
  if (train) {
    train_table(argv[0]);
    return 0;
  }
  speed_table();
  return 0;
}
