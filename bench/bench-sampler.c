/* Inpainting speed and memory through the image API, tiny64 random weights.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 *   bench-sampler [--steps N] [SAMPLER...]
 *        a 256x256 box hole in a 512x512 image, N steps (default 50), each
 *        sampler in a fresh process: seconds, network evaluations, network
 *        seconds vs the rest (sampler, replacement, noise, tiling), peak RSS
 *   bench-sampler --tiles
 *        one tiny64 forward per tile size: ms per megapixel and peak RSS
 *        (the evidence behind DM_DEFAULT_TILE_SIZE)
 *   bench-sampler --seam [--steps N]
 *        a 1024x1024 hole in a 1152x1152 image on default tiles (N DDIM
 *        steps, default 4): the mean step between neighbouring pixels across
 *        tile borders vs inside tiles, and peak RSS
 * Timings share the machine with whatever else runs: compare figures from
 * one run only. */
#include <math.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench-common.h"
#include "tensor/tiles.h"

static int32_t steps = 0; /* 0: the mode's default */

/* image (3, size, size) with a smooth pattern; mask (size, size) = 1 in the
 * centred box of side `hole`. */
static void make_inputs(float *image, float *mask, int32_t size,
                        int32_t hole) {
  const size_t plane = (size_t)size * size;
  const int32_t from = (size - hole) / 2;
  for (size_t p = 0; p < plane; p++) {
    const int32_t y = (int32_t)(p / size), x = (int32_t)(p % size);
    for (int c = 0; c < 3; c++)
      image[c * plane + p] = 0.6f * sinf(0.05f * x + 0.07f * y + c);
    mask[p] = y >= from && y < from + hole && x >= from && x < from + hole;
  }
}

/* Inpaints with `options`; prints seconds and the network's share. */
static int inpaint_run(const char *sampler_name, int32_t size, int32_t hole,
                       float **result) {
  DmSampleOptions options;
  dm_sample_options_default(&options);
  options.steps = steps;
  if (!dm_sampler_from_name(sampler_name, &options.sampler)) {
    fprintf(stderr, "bench-sampler: unknown sampler %s\n", sampler_name);
    return 2;
  }
  DmAreaOptions area;
  dm_area_options_default(&area);
  DmModel *model = bench_make_model(&layouts[0]);
  float *image = g_new(float, 3 * (size_t)size * size);
  float *mask = g_new(float, (size_t)size * size);
  make_inputs(image, mask, size, hole);
  GError *error = NULL;
  const double start = now_seconds();
  if (!dm_model_inpaint(model, image, mask, size, size, &options, &area, NULL,
                        NULL, &error)) {
    fprintf(stderr, "bench-sampler: %s\n", error->message);
    return 1;
  }
  const double total = now_seconds() - start;
  double network, pixels;
  dm_model_network_time(model, &network, &pixels);
  DmRect bounds;
  dm_mask_bounds(mask, size, size, &bounds, NULL);
  const DmRect work = dm_model_work_area(model, &area, bounds, size, size);
  printf("%-9s %5d %9.1f %10.1f %9.2f %7.2f%% %5d %9.1f\n", sampler_name,
         dm_sample_evaluations(&options), total, network, total - network,
         100.0 * (total - network) / total,
         dm_area_tiles(work.width, work.height, &area, NULL), peak_rss_mib());
  fflush(stdout);
  dm_model_free(model);
  g_free(mask);
  if (result) *result = image;
  else g_free(image);
  return 0;
}

/* Runs `argv` (this program in a child mode) in a fresh process. */
static void run_child(char **argv) {
  fflush(stdout);
  pid_t child = fork();
  if (child == 0) {
    execv(argv[0], argv);
    _exit(127);
  }
  int status = 0;
  waitpid(child, &status, 0);
}

static void sampler_table(const char *self, char **names, int count) {
  static const char *all[] = {"ddpm", "ddim", "sde", "pc", "ode", "langevin"};
  if (count == 0) names = (char **)all, count = G_N_ELEMENTS(all);
  printf("tiny64, 256x256 hole in 512x512, %d steps, work area %s\n", steps,
         "= hole + receptive radius");
  printf("%-9s %5s %9s %10s %9s %8s %5s %9s\n", "sampler", "evals", "total s",
         "network s", "other s", "other", "tiles", "peak MiB");
  char steps_text[16];
  snprintf(steps_text, sizeof steps_text, "%d", steps);
  for (int i = 0; i < count; i++)
    run_child((char *[]){(char *)self, "--one", steps_text, names[i], NULL});
}

/* One forward of tiny64 on a size x size tile. */
static int tile_run(int32_t size) {
  DmModel *model = bench_make_model(&layouts[0]);
  GError *error = NULL;
  DmTensor *x = dm_tensor_new(1, 3, size, size, &error);
  DmTensor *out = dm_tensor_new(1, 3, size, size, &error);
  const float t = 500.0f;
  const double start = now_seconds();
  if (!dm_model_forward(model, out, x, &t, &error)) {
    fprintf(stderr, "bench-sampler: %s\n", error->message);
    return 1;
  }
  const double seconds = now_seconds() - start;
  printf("%5d %9.1f %12.1f %9.1f\n", size, seconds * 1e3,
         seconds * 1e3 / ((double)size * size / 1e6), peak_rss_mib());
  dm_tensor_free(x);
  dm_tensor_free(out);
  dm_model_free(model);
  return 0;
}

static void tile_table(const char *self) {
  const char *sizes[] = {"128", "192", "256", "384", "512"};
  printf("tiny64, one forward per process\n%5s %9s %12s %9s\n", "tile", "ms",
         "ms per MPix", "peak MiB");
  for (size_t i = 0; i < G_N_ELEMENTS(sizes); i++)
    run_child((char *[]){(char *)self, "--tile", (char *)sizes[i], NULL});
}

static int seam_run(void) {
  enum { SIZE = 1152, HOLE = 1024 };
  float *image = NULL;
  printf("tiny64, 1024x1024 hole in 1152x1152, ddim %d steps\n", steps);
  printf("%-9s %5s %9s %10s %9s %8s %5s %9s\n", "sampler", "evals", "total s",
         "network s", "other s", "other", "tiles", "peak MiB");
  const int status = inpaint_run("ddim", SIZE, HOLE, &image);
  if (status != 0) return status;
  /* the work area is the whole image here, tiled the same way on both
   * axes: a tile's first and one-past-last column (and row) are borders */
  DmAreaOptions area;
  dm_area_options_default(&area);
  const int32_t count = dm_area_tiles(SIZE, SIZE, &area, NULL);
  DmRect *tiles = g_new(DmRect, count);
  dm_area_tiles(SIZE, SIZE, &area, tiles);
  bool border[SIZE] = {false};
  for (int32_t i = 0; i < count; i++) {
    if (tiles[i].x > 0) border[tiles[i].x] = true;
    if (tiles[i].x + tiles[i].width < SIZE)
      border[tiles[i].x + tiles[i].width] = true;
  }
  g_free(tiles);
  double across, inside;
  const int32_t from = (SIZE - HOLE) / 2;
  const DmRect hole = {from, from, HOLE, HOLE};
  dm_tile_seam_steps(image, 3, SIZE, SIZE, &hole, border, border, &across,
                     &inside);
  printf("mean |step| across tile borders %.4f, inside tiles %.4f, ratio "
         "%.3f\n", across, inside, across / inside);
  g_free(image);
  return 0;
}

int main(int argc, char **argv) {
  dm_set_num_threads(0);
  if (argc == 4 && strcmp(argv[1], "--one") == 0) {
    steps = atoi(argv[2]);
    return inpaint_run(argv[3], 512, 256, NULL);
  }
  if (argc == 3 && strcmp(argv[1], "--tile") == 0) return tile_run(atoi(argv[2]));
  bool seam = false, tiles = false;
  int first_name = argc;
  for (int i = 1; i < argc && first_name == argc; i++) {
    if (strcmp(argv[i], "--steps") == 0 && i + 1 < argc) {
      steps = atoi(argv[++i]);
    } else if (strcmp(argv[i], "--seam") == 0) {
      seam = true;
    } else if (strcmp(argv[i], "--tiles") == 0) {
      tiles = true;
    } else if (argv[i][0] == '-') {
      fprintf(stderr, "usage: bench-sampler [--steps N] [--seam | --tiles] "
                      "[SAMPLER...]\n");
      return 2;
    } else {
      first_name = i;
    }
  }
  if (steps < 1 || steps > 1000) steps = seam ? 4 : 50;
  if (tiles) tile_table(argv[0]);
  else if (seam) return seam_run();
  else sampler_table(argv[0], argv + first_name, argc - first_name);
  return 0;
}
