/* Speed and memory of the U-Net on random-weight models.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 *   bench-unet                 speed table: ms per forward, GFLOP, GFLOP/s and
 *                              the fraction of a 1024^3 cblas_sgemm measured in
 *                              the same run
 *   bench-unet --memory        peak RSS of tiny64 forwards at 256..1024 px
 *   bench-unet --peak LAYOUT SIZE   (internal) one forward, prints VmHWM
 *   bench-unet --train         tiny64 at 64x64 batch 16 and 32x32 batch 32:
 *                              seconds of the inference forward against a
 *                              training step (forward, backward, AdamW),
 *                              images per second, and each one's peak RSS
 *   bench-unet --train-run forward|train SIZE   (internal) one row of --train
 *   bench-unet --train-ops [SIZE]   tiny64 at one --train shape (64: 64x64
 *                              batch 16, the default; 32: 32x32 batch 32), layer
 *                              by layer: each distinct conv, group norm and
 *                              attention of the network timed alone (forward,
 *                              and the backward's input and weight
 *                              gradients), times its count, totals by kind
 *
 * --threads N sets the thread count (default: all cores). Forward and sgemm
 * figures are medians of --repeat runs (default 5) after
 * one warm-up. The machine is a shared VM whose speed drifts: compare only
 * figures from one run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench-common.h"
#include "model/model.h"
#include "dm-train.h"
#include "network/unet-train.h"

static int repeat_count = 5;

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
      const double peak = sgemm_gflops(1024, repeat_count);
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
  char repeats[16], threads[16];
  snprintf(repeats, sizeof repeats, "%d", repeat_count);
  snprintf(threads, sizeof threads, "%d", dm_get_num_threads());
  fflush(stdout);
  pid_t child = fork();
  if (child == 0) {
    execl(self, self, "--threads", threads, "--repeat", repeats, mode, arg_1,
          arg_2, (char *)NULL);
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

/* Median seconds of one training step's forward, backward (from a dout of
 * ones / numel, gradients zeroed first) and AdamW update, after a warm-up:
 * the same parts that bench/torch-train.py times in PyTorch. */
static void time_train_step(DmModel *model, const Batch *b, double seconds[3]) {
  GError *error = NULL;
  const DmTensor *x = b->x;
  const size_t count = model->unet.params.total;
  DmUnetTape *tape = dm_unet_tape_new(&model->unet, x->n, x->h, x->w, &error);
  DmTensor *dout = dm_tensor_new(x->n, 3, x->h, x->w, &error);
  DmAdamWState *adam = dm_adamw_state_new(count, &error);
  float *grads = malloc(count * sizeof(float));
  check(tape && dout && adam && grads, error);
  DmAdamWOptions options;
  dm_adamw_options_default(&options);
  for (size_t i = 0; i < dm_tensor_numel(dout); i++)
    dout->data[i] = 1.0f / (float)dm_tensor_numel(dout);
  double times[3][16];
  for (int r = -1; r < repeat_count; r++) {
    double marks[4];
    marks[0] = now_seconds();
    check(dm_unet_forward_train(&model->unet, tape, b->out, x, b->t, &error), error);
    marks[1] = now_seconds();
    memset(grads, 0, count * sizeof(float));
    check(dm_unet_backward(&model->unet, tape, grads, NULL, dout, &error), error);
    marks[2] = now_seconds();
    dm_adamw_step(adam, model->unet.params.data, grads, 1e-4f, &options);
    marks[3] = now_seconds();
    for (int part = 0; part < 3 && r >= 0; part++)
      times[part][r] = marks[part + 1] - marks[part];
  }
  for (int part = 0; part < 3; part++)
    seconds[part] = median(times[part], repeat_count);
  free(grads);
  dm_adamw_state_free(adam);
  dm_tensor_free(dout);
  dm_unet_tape_free(tape);
}

/* The training shapes of --train: side and batch. */
static const int32_t train_shapes[][2] = {{TRAIN_SIZE, TRAIN_BATCH}, {32, 32}};

/* The batch of the training shape of side `size`, 0 if there is none. */
static int32_t train_batch(int32_t size) {
  for (size_t i = 0; i < G_N_ELEMENTS(train_shapes); i++)
    if (train_shapes[i][0] == size) return train_shapes[i][1];
  return 0;
}

/* One row of --train: "forward" (inference) or "train", at `size` with
 * that shape's batch. */
static int train_run(const char *what, int32_t size) {
  const int32_t batch = train_batch(size);
  if (batch == 0) return 2;
  DmModel *model = bench_make_model(find_layout("tiny64"));
  const double before = peak_rss_mib();
  double seconds[3] = {0.0, 0.0, 0.0}; /* forward, backward, AdamW */
  if (strcmp(what, "forward") == 0) {
    seconds[0] = time_forward(model, batch, size, true);
  } else {
    Batch b = batch_new(batch, size);
    time_train_step(model, &b, seconds);
    batch_free(&b);
  }
  const double total = seconds[0] + seconds[1] + seconds[2];
  char shape[32];
  snprintf(shape, sizeof shape, "%dx%d b%d", size, size, batch);
  printf("%-11s %-9s %8.3f %8.3f %8.3f %8.3f %7.1f %9.1f %9.1f\n", shape,
         seconds[1] > 0.0 ? "train" : "inference", seconds[0], seconds[1],
         seconds[2], total, batch / total, peak_rss_mib(), before);
  dm_model_free(model);
  return 0;
}

static void train_table(const char *self) {
  printf("tiny64, %d threads, medians of %d after a warm-up, one process "
         "per row; cblas_sgemm 1024^3 right before: %.1f GFLOP/s\n",
         dm_get_num_threads(), repeat_count, sgemm_gflops(1024, repeat_count));
  printf("%-11s %-9s %8s %8s %8s %8s %7s %9s %9s\n", "shape", "step",
         "forward", "backward", "AdamW", "total s", "img/s", "peak MiB",
         "before");
  for (size_t i = 0; i < G_N_ELEMENTS(train_shapes); i++) {
    char size[16];
    snprintf(size, sizeof size, "%d", train_shapes[i][0]);
    run_child(self, "--train-run", "forward", size);
    run_child(self, "--train-run", "train", size);
  }
}

/* ---- training, layer by layer ------------------------------------------ */

typedef enum { OP_CONV, OP_NORM, OP_ATTENTION } OpKind;

/* One distinct layer of the network and how often it occurs. */
typedef struct {
  OpKind kind;
  DmConvShape conv;    /* OP_CONV */
  int32_t c, size;     /* OP_NORM, OP_ATTENTION: channels, side */
  const AttentionLayout *attention;
  int count;
} Op;

typedef struct {
  Op items[64];
  int count;
  int32_t size, batch; /* the input's side and the batch of every op */
} OpList;

static void add_op(OpList *list, Op op) {
  for (int i = 0; i < list->count; i++) {
    Op *old = &list->items[i];
    if (old->kind == op.kind && old->c == op.c && old->size == op.size &&
        memcmp(&old->conv, &op.conv, sizeof op.conv) == 0) {
      old->count++;
      return;
    }
  }
  op.count = 1;
  list->items[list->count++] = op;
}

static void add_conv(OpList *list, int32_t c_in, int32_t c_out, int32_t size,
                     int32_t kernel, int32_t stride, int32_t pad) {
  add_op(list, (Op){.kind = OP_CONV,
                    .conv = dm_unet_conv_shape(list->batch, c_in, size, size,
                                               c_out, kernel, stride, pad)});
}

static void add_resnet(OpList *list, const ResnetLayout *r, int32_t size) {
  add_op(list, (Op){.kind = OP_NORM, .c = r->c_in, .size = size});
  add_conv(list, r->c_in, r->c_out, size, 3, 1, 1);
  add_op(list, (Op){.kind = OP_NORM, .c = r->c_out, .size = size});
  add_conv(list, r->c_out, r->c_out, size, 3, 1, 1);
  if (r->has_shortcut) add_conv(list, r->c_in, r->c_out, size, 1, 1, 0);
}

static void add_block(OpList *list, const BlockLayout *block, int32_t size) {
  for (int32_t j = 0; j < block->n_resnets; j++) {
    add_resnet(list, &block->resnets[j], size);
    if (block->has_attention)
      add_op(list, (Op){.kind = OP_ATTENTION, .c = block->attentions[j].channels,
                        .size = size, .attention = &block->attentions[j]});
  }
}

/* Every layer with parameters of `model` at list->size, deduplicated. */
static void list_ops(OpList *list, const DmModel *model) {
  const DmUnetConfig *config = &model->unet.config;
  const DmUnetLayout *layout = model->unet.layout;
  const int32_t levels = config->n_levels, c0 = config->block_out_channels[0];
  add_conv(list, config->in_channels, c0, list->size, 3, 1, 1);
  for (int32_t level = 0; level < levels; level++) {
    const int32_t size = list->size >> level, c = config->block_out_channels[level];
    add_block(list, &layout->down[level], size);
    if (layout->down[level].has_resample)
      add_conv(list, c, c, size, 3, 2, config->downsample_padding);
  }
  const int32_t bottom = list->size >> (levels - 1);
  if (config->has_mid_block) {
    add_resnet(list, &layout->mid_resnets[0], bottom);
    if (layout->mid_has_attention)
      add_op(list, (Op){.kind = OP_ATTENTION, .c = layout->mid_attention.channels,
                        .size = bottom, .attention = &layout->mid_attention});
    add_resnet(list, &layout->mid_resnets[1], bottom);
  }
  for (int32_t i = 0; i < levels; i++) {
    const int32_t level = levels - 1 - i, size = list->size >> level;
    add_block(list, &layout->up[i], size);
    if (layout->up[i].has_resample) {
      const int32_t c = config->block_out_channels[level];
      add_conv(list, c, c, 2 * size, 3, 1, 1);
    }
  }
  add_op(list, (Op){.kind = OP_NORM, .c = c0, .size = list->size});
  add_conv(list, c0, config->out_channels, list->size, 3, 1, 1);
}

static float *random_floats(size_t count) {
  float *data = malloc(count * sizeof(float));
  if (data == NULL) check(false, NULL);
  for (size_t i = 0; i < count; i++)
    data[i] = (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
  return data;
}

/* Seconds of one call of each part of op: [0] forward, [1] backward to the
 * input, [2] backward to the parameters (conv: weight and bias; the norm
 * and attention backwards do both at once, counted in [1]). */
typedef struct {
  double part[3];
} OpTimes;

#define TIME_MEDIAN(result, statement)                          \
  do {                                                          \
    double times_[16];                                          \
    for (int r_ = -1; r_ < repeat_count; r_++) {                \
      const double start_ = now_seconds();                      \
      statement;                                                \
      if (r_ >= 0) times_[r_] = now_seconds() - start_;         \
    }                                                           \
    (result) = median(times_, repeat_count);                    \
  } while (0)

static OpTimes time_conv(const DmConvShape *s) {
  const size_t in_count = (size_t)s->n * s->c_in * s->h_in * s->w_in;
  const size_t out_count = (size_t)s->n * s->c_out * s->h_out * s->w_out;
  const size_t weights = (size_t)s->c_out * s->c_in * s->kernel * s->kernel;
  float *in = random_floats(in_count), *out = random_floats(out_count);
  float *weight = random_floats(weights), *bias = random_floats(s->c_out);
  float *din = calloc(in_count, sizeof(float));
  float *dweight = calloc(weights, sizeof(float));
  float *dbias = calloc(s->c_out, sizeof(float));
  OpTimes t;
  TIME_MEDIAN(t.part[0], check(dm_conv2d_forward(out, in, weight, bias, s, false), NULL));
  TIME_MEDIAN(t.part[1], check(dm_conv2d_backward(din, NULL, NULL, out, in, weight, s), NULL));
  TIME_MEDIAN(t.part[2], check(dm_conv2d_backward(NULL, dweight, dbias, out, in, weight, s), NULL));
  float *buffers[] = {in, out, weight, bias, din, dweight, dbias};
  for (size_t i = 0; i < G_N_ELEMENTS(buffers); i++) free(buffers[i]);
  return t;
}

static OpTimes time_norm(int32_t c, int32_t size, int32_t batch,
                         const DmModel *model) {
  const size_t hw = (size_t)size * size, count = (size_t)batch * c * hw;
  const int32_t groups = model->unet.config.norm_num_groups;
  const float eps = model->unet.config.norm_eps;
  float *in = random_floats(count), *out = random_floats(count);
  float *din = calloc(count, sizeof(float)), *params = random_floats(4 * c);
  OpTimes t = {0};
  TIME_MEDIAN(t.part[0], dm_groupnorm_forward(out, in, params, params + c,
                                              batch, c, hw, groups, eps, true));
  TIME_MEDIAN(t.part[1], check(dm_groupnorm_backward(din, params + 2 * c, params + 3 * c,
                                                     out, in, params, params + c,
                                                     batch, c, hw, groups, eps,
                                                     true), NULL));
  free(in);
  free(out);
  free(din);
  free(params);
  return t;
}

static OpTimes time_attention(const Op *op, int32_t batch,
                              const DmModel *model) {
  const AttentionLayout *a = op->attention;
  const size_t hw = (size_t)op->size * op->size;
  const size_t count = (size_t)batch * op->c * hw;
  float *in = random_floats(count), *out = random_floats(count);
  float *din = calloc(count, sizeof(float));
  float *grads = calloc(model->unet.params.total, sizeof(float));
  const DmAttentionWeights weights = dm_unet_attention_weights(model->unet.params.data, a);
  const DmAttentionGrads dweights = dm_unet_attention_grads(grads, a);
  OpTimes t = {0};
  TIME_MEDIAN(t.part[0], check(dm_attention_forward(out, in, &weights, batch, op->c,
                                                    hw, a->heads, a->groups, a->eps,
                                                    a->rescale), NULL));
  TIME_MEDIAN(t.part[1], check(dm_attention_backward(din, &dweights, out, in, &weights,
                                                     batch, op->c, hw, a->heads,
                                                     a->groups, a->eps, a->rescale),
                               NULL));
  free(in);
  free(out);
  free(din);
  free(grads);
  return t;
}

static const char *const kind_names[] = {"conv", "norm", "attention"};

static int train_ops_table(int32_t size) {
  const int32_t batch = train_batch(size);
  if (batch == 0) return 2;
  DmModel *model = bench_make_model(find_layout("tiny64"));
  OpList *list = calloc(1, sizeof *list);
  list->size = size;
  list->batch = batch;
  list_ops(list, model);
  printf("tiny64, batch %d, %dx%d, %d threads, medians of %d; ms per call "
         "times the count; GFLOP/s of the convs\n", batch, size, size,
         dm_get_num_threads(), repeat_count);
  printf("sgemm 1024^3: %.1f GFLOP/s\n", sgemm_gflops(1024, repeat_count));
  printf("%-9s %-22s %3s %9s %9s %9s %7s %7s %7s\n", "kind", "shape", "n",
         "forward", "dinput", "dweight", "GF/s f", "GF/s di", "GF/s dw");
  double totals[3][3] = {{0}};
  for (int i = 0; i < list->count; i++) {
    const Op *op = &list->items[i];
    char shape[64];
    OpTimes t;
    double flops = 0.0;
    if (op->kind == OP_CONV) {
      const DmConvShape *s = &op->conv;
      snprintf(shape, sizeof shape, "%d>%d k%d s%d %dx%d", s->c_in, s->c_out,
               s->kernel, s->stride, s->w_in, s->h_in);
      t = time_conv(s);
      flops = 2.0 * s->n * s->c_out * s->c_in * s->kernel * s->kernel *
              s->h_out * s->w_out;
    } else {
      snprintf(shape, sizeof shape, "%d %dx%d", op->c, op->size, op->size);
      t = op->kind == OP_NORM ? time_norm(op->c, op->size, batch, model)
                              : time_attention(op, batch, model);
    }
    printf("%-9s %-22s %3d %9.1f %9.1f %9.1f", kind_names[op->kind], shape,
           op->count, op->count * t.part[0] * 1e3, op->count * t.part[1] * 1e3,
           op->count * t.part[2] * 1e3);
    if (flops > 0.0)
      printf(" %7.1f %7.1f %7.1f", flops / t.part[0] / 1e9,
             flops / t.part[1] / 1e9, flops / t.part[2] / 1e9);
    printf("\n");
    fflush(stdout);
    for (int j = 0; j < 3; j++) totals[op->kind][j] += op->count * t.part[j];
  }
  for (int k = 0; k < 3; k++)
    printf("%-9s %-22s %3s %9.1f %9.1f %9.1f\n", kind_names[k], "total", "",
           totals[k][0] * 1e3, totals[k][1] * 1e3, totals[k][2] * 1e3);
  free(list);
  dm_model_free(model);
  return 0;
}

int main(int argc, char **argv) {
  dm_set_num_threads(0);
  bool train = false;
  int32_t train_ops_size = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
      dm_set_num_threads(atoi(argv[++i]));
    } else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) {
      repeat_count = atoi(argv[++i]);
      if (repeat_count < 1 || repeat_count > 16) repeat_count = 5;
    } else if (strcmp(argv[i], "--memory") == 0) {
      memory_table(argv[0]);
      return 0;
    } else if (strcmp(argv[i], "--train") == 0) {
      train = true;
    } else if (strcmp(argv[i], "--train-ops") == 0) {
      train_ops_size = TRAIN_SIZE;
      if (i + 1 < argc && argv[i + 1][0] != '-') train_ops_size = atoi(argv[++i]);
    } else if (strcmp(argv[i], "--peak") == 0 && i + 2 < argc) {
      return peak_mode(argv[i + 1], atoi(argv[i + 2]));
    } else if (strcmp(argv[i], "--train-run") == 0 && i + 2 < argc) {
      return train_run(argv[i + 1], atoi(argv[i + 2]));
    } else {
      fprintf(stderr, "usage: bench-unet [--threads N] [--repeat N] [--memory | --train | --train-ops [SIZE]]\n");
      return 2;
    }
  }
  if (train) {
    train_table(argv[0]);
    return 0;
  }
  if (train_ops_size > 0) return train_ops_table(train_ops_size);
  speed_table();
  return 0;
}
