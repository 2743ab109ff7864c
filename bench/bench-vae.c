/* Speed, memory and tile seams of Stable Diffusion's VAE (AutoencoderKL,
 * SD 1.x/2.x config) with random weights (dm_weights_fill_random).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 *   bench-vae decode [LATENT]   one untiled decode of a LATENT x LATENT
 *                               latent (default 64: a 512 x 512 image):
 *                               seconds and peak RSS
 *   bench-vae encode [SIZE]     one untiled encode of a SIZE x SIZE image
 *                               (default 512)
 *   bench-vae seams [LATENT]    tiled against untiled decoding of a smooth
 *                               random LATENT x LATENT latent (default 96):
 *                               max and mean |tiled - untiled|, and the seam
 *                               measure of bench-sampler --seam (mean |step|
 *                               across tile borders / inside tiles) of both
 *   bench-vae photo [IMAGE [SIDE]]  the same for encoding IMAGE (default
 *                               docs/demo/coffee.png) resized to SIDE x SIDE
 *                               (default 768; the moments compared) and
 *                               decoding its latent (the untiled posterior's
 *                               mean)
 * Options (before the mode): --threads N (default all cores), --f16 (F16
 * weights), --tile T and --overlap O (latent pixels; default the library's).
 * Run it under /usr/bin/time -v for the RSS the kernel reports too. Timings
 * share the machine with whatever else runs: compare figures from one run. */
#include <math.h>

#include <gegl.h>

#include "bench-common.h"
#include "image-io.h"
#include "network/vae.h"
#include "tensor/rng.h"
#include "tensor/tiles.h"

#define WEIGHT_SEED 18

static DmDtype weight_dtype = DM_DTYPE_F32;
static DmVaeTiling tiling;

static void check(bool ok, GError *error) {
  if (ok) return;
  fprintf(stderr, "bench-vae: %s\n", error ? error->message : "failed");
  exit(1);
}

static DmTensor *new_tensor(int32_t c, int32_t h, int32_t w) {
  GError *error = NULL;
  DmTensor *tensor = dm_tensor_new(1, c, h, w, &error);
  check(tensor != NULL, error);
  return tensor;
}

static void make_vae(DmVae *vae) {
  DmVaeConfig config;
  dm_vae_config_sd(&config);
  GError *error = NULL;
  check(dm_vae_init(vae, &config, weight_dtype, &error), error);
  dm_weights_fill_random(&vae->weights, WEIGHT_SEED);
}

/* latent (4, size, size): a sum of eight random plane waves per channel,
 * wavelengths 8 .. 32 latent pixels, unit variance. */
static DmTensor *smooth_latent(int32_t size) {
  DmTensor *latent = new_tensor(4, size, size);
  float params[4 * 8 * 3];
  dm_rng_uniform_fill(params, G_N_ELEMENTS(params), 0.0f, 1.0f, 7, 0, 0);
  for (int32_t c = 0; c < 4; c++)
    for (int k = 0; k < 8; k++) {
      const float *p = params + (c * 8 + k) * 3;
      const float angle = 2.0f * (float)G_PI * p[0];
      const float frequency = 2.0f * (float)G_PI / (8.0f + 24.0f * p[1]);
      const float phase = 2.0f * (float)G_PI * p[2];
      for (int32_t y = 0; y < size; y++)
        for (int32_t x = 0; x < size; x++)
          latent->data[((size_t)c * size + y) * size + x] +=
              0.5f * sinf(frequency * (x * cosf(angle) + y * sinf(angle)) +
                          phase);
    }
  return latent;
}

/* IMAGE resized to side x side (bilinear, pixel centres aligned) in
 * [-1, 1]. */
static DmTensor *load_image(const char *path, int32_t side) {
  gegl_init(NULL, NULL);
  GError *error = NULL;
  const DmCliReadOptions read = {.max_pixels = DM_CLI_DEFAULT_MAX_PIXELS};
  DmCliImage *image = dm_cli_image_load(path, &read, &error);
  check(image != NULL, error);
  DmTensor *tensor = new_tensor(3, side, side);
  const float sy = (float)image->height / side, sx = (float)image->width / side;
  for (int32_t y = 0; y < side; y++)
    for (int32_t x = 0; x < side; x++) {
      const float v = CLAMP((y + 0.5f) * sy - 0.5f, 0, image->height - 1);
      const float u = CLAMP((x + 0.5f) * sx - 0.5f, 0, image->width - 1);
      const int32_t y0 = (int32_t)v, x0 = (int32_t)u;
      const int32_t y1 = MIN(y0 + 1, image->height - 1);
      const int32_t x1 = MIN(x0 + 1, image->width - 1);
      const float fy = v - y0, fx = u - x0;
      for (int32_t c = 0; c < 3; c++) {
#define AT(yy, xx) image->rgba[((size_t)(yy) * image->width + (xx)) * 4 + c]
        const float top = AT(y0, x0) * (1 - fx) + AT(y0, x1) * fx;
        const float bottom = AT(y1, x0) * (1 - fx) + AT(y1, x1) * fx;
#undef AT
        tensor->data[((size_t)c * side + y) * side + x] =
            2.0f * (top * (1 - fy) + bottom * fy) - 1.0f;
      }
    }
  dm_cli_image_free(image);
  return tensor;
}

static int decode_run(int32_t size) {
  DmVae vae;
  make_vae(&vae);
  DmTensor *latent = smooth_latent(size);
  DmTensor *image = new_tensor(3, 8 * size, 8 * size);
  GError *error = NULL;
  const double start = now_seconds();
  check(dm_vae_decode(&vae, image, latent, &error), error);
  printf("decode %dx%d -> %dx%d, %s weights, %d threads: %.2f s, peak RSS "
         "%.0f MiB\n", size, size, 8 * size, 8 * size,
         weight_dtype == DM_DTYPE_F16 ? "F16" : "F32", dm_get_num_threads(),
         now_seconds() - start, peak_rss_mib());
  dm_tensor_free(image);
  dm_tensor_free(latent);
  dm_vae_clear(&vae);
  return 0;
}

static int encode_run(int32_t size) {
  DmVae vae;
  make_vae(&vae);
  DmTensor *image = new_tensor(3, size, size);
  dm_rng_uniform_fill(image->data, dm_tensor_numel(image), -1.0f, 1.0f, 5, 0,
                      0);
  DmTensor *moments = new_tensor(8, size / 8, size / 8);
  GError *error = NULL;
  const double start = now_seconds();
  check(dm_vae_encode_moments(&vae, moments, image, &error), error);
  printf("encode %dx%d, %s weights, %d threads: %.2f s, peak RSS %.0f MiB\n",
         size, size, weight_dtype == DM_DTYPE_F16 ? "F16" : "F32",
         dm_get_num_threads(), now_seconds() - start, peak_rss_mib());
  dm_tensor_free(moments);
  dm_tensor_free(image);
  dm_vae_clear(&vae);
  return 0;
}

/* Prints max and mean |tiled - untiled| of two square (channels, side,
 * side) results, side = latent * factor, and the seam measure of both at
 * the borders of the tiles of a latent side seen `factor` times finer. */
static void compare(const char *label, const float *tiled,
                    const float *untiled, int32_t channels, int32_t latent,
                    int32_t factor) {
  const int32_t side = latent * factor;
  const size_t count = (size_t)channels * side * side;
  double max = 0, sum = 0, sum2 = 0;
  for (size_t i = 0; i < count; i++) {
    const double d = fabs((double)tiled[i] - untiled[i]);
    max = MAX(max, d), sum += d, sum2 += (double)untiled[i] * untiled[i];
  }
  DmTileAxis latent_axis, axis;
  dm_tile_axis_init(&latent_axis, latent, tiling.tile_size,
                    tiling.tile_overlap);
  dm_tile_axis_scale(&axis, &latent_axis, factor);
  dm_tile_axis_clear(&latent_axis);
  bool *border = g_new(bool, side);
  dm_tile_axis_borders(&axis, side, border);
  const DmRect all = {0, 0, side, side};
  double across[2], inside[2];
  dm_tile_seam_steps(tiled, channels, side, side, &all, border, border,
                     &across[0], &inside[0]);
  dm_tile_seam_steps(untiled, channels, side, side, &all, border, border,
                     &across[1], &inside[1]);
  printf("%-22s %2d tiles  |tiled - untiled| max %.4f mean %.5f (rms of "
         "untiled %.3f)  seam ratio tiled %.3f, untiled %.3f\n", label,
         axis.count * axis.count, max, sum / count, sqrt(sum2 / count),
         across[0] / inside[0], across[1] / inside[1]);
  g_free(border);
  dm_tile_axis_clear(&axis);
}

static void print_tiling(void) {
  printf("tiles of %d latent pixels sharing %d\n", tiling.tile_size,
         tiling.tile_overlap);
}

static void decode_both(const DmVae *vae, const char *label,
                        const DmTensor *latent) {
  const int32_t size = latent->h;
  DmTensor *untiled = new_tensor(3, 8 * size, 8 * size);
  DmTensor *tiled = new_tensor(3, 8 * size, 8 * size);
  GError *error = NULL;
  double start = now_seconds();
  check(dm_vae_decode(vae, untiled, latent, &error), error);
  const double untiled_seconds = now_seconds() - start;
  start = now_seconds();
  check(dm_vae_decode_tiled(vae, tiled, latent, &tiling, &error), error);
  printf("decode %-15s %dx%d latent: untiled %.1f s, tiled %.1f s\n", label,
         size, size, untiled_seconds, now_seconds() - start);
  compare(label, tiled->data, untiled->data, 3, size, 8);
  dm_tensor_free(tiled);
  dm_tensor_free(untiled);
}

static int seams_run(int32_t size) {
  DmVae vae;
  make_vae(&vae);
  print_tiling();
  DmTensor *latent = smooth_latent(size);
  decode_both(&vae, "smooth latent", latent);
  dm_tensor_free(latent);
  dm_vae_clear(&vae);
  return 0;
}

static int photo_run(const char *path, int32_t side) {
  DmVae vae;
  make_vae(&vae);
  print_tiling();
  DmTensor *image = load_image(path, side);
  const int32_t size = side / 8;
  DmTensor *moments = new_tensor(8, size, size);
  DmTensor *tiled = new_tensor(8, size, size);
  GError *error = NULL;
  check(dm_vae_encode_moments(&vae, moments, image, &error), error);
  check(dm_vae_encode_tiled(&vae, tiled, image, &tiling, &error), error);
  compare("encoded photo", tiled->data, moments->data, 8, size, 1);
  DmTensor *latent = new_tensor(4, size, size);
  dm_vae_posterior(&vae, latent, NULL, moments);
  decode_both(&vae, "photo's latent", latent);
  dm_tensor_free(latent);
  dm_tensor_free(tiled);
  dm_tensor_free(moments);
  dm_tensor_free(image);
  dm_vae_clear(&vae);
  return 0;
}

int main(int argc, char **argv) {
  int32_t threads = 0;
  dm_vae_tiling_default(&tiling);
  int i = 1;
  for (; i + 1 < argc && argv[i][0] == '-'; i++) {
    if (strcmp(argv[i], "--f16") == 0)
      weight_dtype = DM_DTYPE_F16;
    else if (strcmp(argv[i], "--threads") == 0)
      threads = atoi(argv[++i]);
    else if (strcmp(argv[i], "--tile") == 0)
      tiling.tile_size = atoi(argv[++i]);
    else if (strcmp(argv[i], "--overlap") == 0)
      tiling.tile_overlap = atoi(argv[++i]);
  }
  dm_set_num_threads(threads);
  const char *mode = i < argc ? argv[i] : "";
  const char *arg = i + 1 < argc ? argv[i + 1] : NULL;
  if (strcmp(mode, "decode") == 0) return decode_run(arg ? atoi(arg) : 64);
  if (strcmp(mode, "encode") == 0) return encode_run(arg ? atoi(arg) : 512);
  if (strcmp(mode, "seams") == 0) return seams_run(arg ? atoi(arg) : 96);
  if (strcmp(mode, "photo") == 0)
    return photo_run(arg ? arg : "docs/demo/coffee.png",
                     i + 2 < argc ? atoi(argv[i + 2]) : 768);
  fprintf(stderr, "usage: bench-vae [--threads N] [--f16] [--tile T] "
                  "[--overlap O] decode [LATENT] | encode "
                  "[SIZE] | seams [LATENT] | photo [IMAGE [SIDE]]\n");
  return 2;
}
