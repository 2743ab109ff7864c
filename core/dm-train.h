/* gimp-diffusion core: the optimiser side of training.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * Everything here works on flat float32 arrays of `count` values laid out
 * like the model's parameter block: parameters, gradients, Adam moments and
 * the EMA weights all share one layout, so element i of each belongs to the
 * same weight. A training step, in the order a trainer calls them:
 *
 *   lr = dm_lr_at(&schedule, adam->step);          (updates done: 0, 1, ..)
 *   if (!dm_clip_grad_norm(grads, count, max_norm, &norm)) skip the step;
 *   dm_adamw_step(adam, params, grads, lr, &options);   (adam->step += 1)
 *   dm_ema_update(ema, params, count, dm_ema_decay(ema_decay, adam->step));
 *
 * Every loop is OpenMP-parallel over a fixed partition of the array that
 * does not depend on the thread count, so results are bit-identical for
 * any number of threads.
 *
 * Conventions as in dm.h: pointers are borrowed for the call; `_new`
 * results belong to the caller, who releases them with the `_free`.
 */
#ifndef DM_TRAIN_H
#define DM_TRAIN_H

#include "dm.h"

G_BEGIN_DECLS

/* ---- AdamW ------------------------------------------------------------- */

/* Hyper-parameters of AdamW (Loshchilov & Hutter 2019, Alg. 2) apart from
 * the learning rate, which changes every step and is passed to
 * dm_adamw_step() (from dm_lr_at()). */
typedef struct {
  float beta1;        /* decay of the first moment, in [0, 1) */
  float beta2;        /* decay of the second moment, in [0, 1) */
  float eps;          /* added to sqrt(v_hat) in the denominator, > 0 */
  float weight_decay; /* lambda, >= 0: decoupled, each step p *= 1 - lr λ */
} DmAdamWOptions;

/* torch.optim.AdamW's defaults: beta1 0.9, beta2 0.999, eps 1e-8,
 * weight_decay 0.01. */
DM_API void dm_adamw_options_default(DmAdamWOptions *options);
/* false with a DM_ERROR_INVALID_ARGUMENT naming the field when a value is
 * out of its range (or NaN). */
DM_API bool dm_adamw_options_check(const DmAdamWOptions *options,
                                   GError **error);

/* The optimiser's state, plain data so that a checkpoint can store it as
 * is: m and v as two float arrays in the parameter layout, and the step.
 * To restore, create a state of the same count, copy m and v in and set
 * `step`. */
typedef struct {
  size_t count; /* parameters */
  int64_t step; /* updates applied so far (t of the last update); 0 = fresh */
  float *m;     /* (count) first moment m_t, owned */
  float *v;     /* (count) second moment v_t, owned */
} DmAdamWState;

/* A state with m = v = 0 and step 0 for `count` parameters (count >= 1),
 * or NULL with *error set (DM_ERROR_NO_MEMORY when the allocation fails).
 * Free with dm_adamw_state_free(). */
DM_API DmAdamWState *dm_adamw_state_new(size_t count, GError **error);
DM_API void dm_adamw_state_free(DmAdamWState *state);

/* One AdamW update of params (state->count) with grads (state->count) at
 * learning rate lr (finite, >= 0), as torch.optim.AdamW does it
 * (torch/optim/adam.py, _single_tensor_adam with decoupled weight decay),
 * with t = ++state->step:
 *   p <- p (1 - lr λ)                         decoupled decay, first
 *   m <- β1 m + (1 - β1) g
 *   v <- β2 v + (1 - β2) g²
 *   p <- p - lr / (1 - β1^t) · m / (sqrt(v) / sqrt(1 - β2^t) + eps)
 * which is Kingma & Ba 2015, Alg. 1 (p - lr m_hat / (sqrt(v_hat) + eps))
 * plus Loshchilov & Hutter 2019, Alg. 2 line 12 with the schedule
 * multiplier η_t folded into lr (λ is scaled by lr, as in PyTorch). The
 * decay uses the parameter from before the update, as both papers do.
 * `options` must pass dm_adamw_options_check(). Scalars are computed in
 * double, the elements in float. */
DM_API void dm_adamw_step(DmAdamWState *state, float *params,
                          const float *grads, float lr,
                          const DmAdamWOptions *options);

/* ---- learning-rate schedule -------------------------------------------- */

/* After a linear warm-up, the shape of the rest of the run; names are
 * diffusers' --lr_scheduler values. */
typedef enum {
  DM_LR_CONSTANT, /* "constant": lr after warm-up */
  DM_LR_COSINE,   /* "cosine": half a cosine from lr down to lr_min */
  DM_LR_LINEAR,   /* "linear": a straight line from lr down to lr_min */
  DM_LR_SCHEDULE_COUNT
} DmLrScheduleType;

DM_API const char *dm_lr_schedule_name(DmLrScheduleType type);
DM_API bool dm_lr_schedule_from_name(const char *name, DmLrScheduleType *out);

typedef struct {
  DmLrScheduleType type;
  float lr;             /* peak rate, reached at the end of warm-up, >= 0 */
  float lr_min;         /* floor at the end of a decay, 0 <= lr_min <= lr */
  int64_t warmup_steps; /* W >= 0 */
  int64_t total_steps;  /* T >= W: the decay runs over steps W .. T */
} DmLrSchedule;

/* false with a DM_ERROR_INVALID_ARGUMENT naming the field. */
DM_API bool dm_lr_schedule_check(const DmLrSchedule *schedule, GError **error);

/* The learning rate of update number `step` (0 for the first; step >= 0),
 * following diffusers' get_scheduler() (src/diffusers/optimization.py),
 * where the scheduler is stepped after each update:
 *   step < W    lr · step / W               (so the first update has 0)
 *   then, with progress p = min(1, (step - W) / max(1, T - W)):
 *   constant    lr
 *   cosine      lr_min + (lr - lr_min) · (1 + cos(π p)) / 2
 *   linear      lr_min + (lr - lr_min) · (1 - p)
 * With lr_min = 0 and step <= T these are diffusers' values exactly; the
 * floor is that of SGDR (Loshchilov & Hutter 2017, eq. 5), and past T the
 * rate stays at lr_min (diffusers' cosine would rise again).
 * `schedule` must pass dm_lr_schedule_check(). */
DM_API float dm_lr_at(const DmLrSchedule *schedule, int64_t step);

/* ---- gradient clipping ------------------------------------------------- */

/* Global L2 norm of grads (count), summed in double in a fixed order; when
 * it exceeds max_norm > 0, grads are scaled by max_norm / norm (PyTorch's
 * clip_grad_norm_ divides by norm + 1e-6 instead; we do not). max_norm <= 0
 * only measures. *norm (may be NULL) receives the norm before clipping.
 * Returns false, leaving grads untouched, when the norm is not finite (a
 * NaN or infinite gradient): the trainer should then skip the update. */
DM_API bool dm_clip_grad_norm(float *grads, size_t count, float max_norm,
                              double *norm);

/* ---- exponential moving average of the weights ------------------------- */

/* The decay of EMA update number `update` (1 for the first):
 *   min(max_decay, (1 + update) / (10 + update))
 * the warm-up of TensorFlow's ExponentialMovingAverage(num_updates) and of
 * CompVis latent-diffusion's LitEma (ldm/modules/ema.py), which counts the
 * updates from 1: 2/11 for the first, 0.5 at the 8th, 0.9 at the 80th,
 * then max_decay. (diffusers' EMAModel no longer uses this form: without
 * use_ema_warmup it returns 0 once and then max_decay.) max_decay in
 * [0, 1]; update >= 1. */
DM_API float dm_ema_decay(float max_decay, int64_t update);

/* ema (count) <- ema - (1 - decay) (ema - params (count)), the form of
 * LitEma and diffusers' EMAModel.step: an EMA equal to the parameters stays
 * bit-identical. Start with ema a copy of the parameters. */
DM_API void dm_ema_update(float *ema, const float *params, size_t count,
                          float decay);

/* ---- training masks ------------------------------------------------------ */

/* Random holes for training mask-conditioned (inpainting) models: one mask a
 * sample, drawn from a mixture of the selections GIMP users make. A mask is
 * (height, width) floats in [0, 1], 1 = to fill, 0 = known.
 *
 * MIXTURE (s = min(height, width); U[a, b] uniform; {a..b} a uniform
 * integer; shapes live in real coordinates where pixel (y, x) is the square
 * [y, y + 1) x [x, x + 1), covered when its centre is; every size below is
 * at least 1 px). Coverage = the fraction of pixels equal to 1, measured on
 * 4000 masks at 64 x 64 (test-masks) as min .. max, mean:
 *  kind       p     shape                                        coverage
 *  rectangle  0.25  round(U[0.1, 0.6] height) rows by round(U[0.1, 0.6]
 *                   width) columns, placed uniformly inside the crop (GIMP's
 *                   rectangle select)               0.009 .. 0.35, 0.12
 *  ellipse    0.20  axis-aligned, semi-axes U[0.08, 0.35] height and
 *                   U[0.08, 0.35] width, centre uniform where the ellipse
 *                   fits inside (GIMP's ellipse select)
 *                                                    0.02 .. 0.37, 0.14
 *  strokes    0.25  {1..3} strokes, each with its own round brush of radius
 *                   U[0.02, 0.10] s and a random walk of {1..5} segments (a
 *                   segment paints every pixel within the radius of it;
 *                   several widths, like GIMP's paintbrush)
 *                                                   0.007 .. 0.41, 0.15
 *  large      0.15  a large irregular hole: a target T = U[0.30, 0.60];
 *                   until the hole covers >= T of the crop, one component
 *                   at a walking point, each kind with probability 1/3: an
 *                   ellipse (semi-axes U[0.08, 0.20] height and width) or
 *                   a box (round(U[0.12, 0.35] height) by round(U[0.12,
 *                   0.35] width)) centred on the point, or a brush segment
 *                   (radius U[0.06, 0.12] s) from the point to the next
 *                   one. The point starts uniform in the crop and moves
 *                   U[0.05, 0.30] s in a uniform direction each time. A
 *                   component adds at most ~0.13 of the crop: coverage is
 *                   0.30 .. ~0.73                    0.31 .. 0.63, 0.46
 *  thin       0.15  {1..3} lines (wires, cracks, scratches), each {1..3} px
 *                   wide and a random walk of {1..4} segments; a segment is
 *                   a DDA line, 8-connected along its main axis, `width`
 *                   pixels across it              0.003 .. 0.14, 0.04
 * A random walk starts uniform in the crop with a uniform heading; each
 * segment turns the heading by U[-90, 90] degrees (strokes) or U[-45, 45]
 * degrees (thin), then runs U[0.10, 0.35] s (strokes) or U[0.15, 0.50] s
 * (thin). A move (of a walk or of the large hole's point) that would leave
 * the crop goes the opposite way instead, clamped into the crop if it
 * still leaves. Strokes and thin lines start no new segment once they
 * cover half the crop; a segment adds less than the other half. So no mask
 * is empty, none is all ones, and none covers more than 0.75 (sides >= 16;
 * at side 8, where sizes sit at their 1 px floor, a large hole could reach
 * ~0.78 in principle: 0.70 at most in 100000 draws).
 *
 * FEATHERING: with probability 0.25, whatever the kind, the edge is made
 * soft like a GIMP feathered selection: with w = U[2, 8] px, a pixel at
 * distance d from the hard shape (the chamfer distance, weights 1 and
 * sqrt 2, Borgefors 1986) becomes max(0, 1 - d / w). The ramp lies outside
 * the shape, so the pixels equal to 1 are exactly the hard shape, and a
 * feathered mask always has values strictly between 0 and 1.
 *
 * RANDOM NUMBERS (Philox4x32-10 keyed by the seed, core/rng.h): the numbers
 * of mask `index` are the words of the counters (k, index low, index high,
 * 0x6d61736b "mask") for k = 0, 1, 2 ..., taken in order, each as
 * word / 2^32 in [0, 1): the first picks the kind (by the cumulative
 * probabilities above, in enum order), the second whether to feather, the
 * third w, the rest the shape's parameters in the order core/training/masks.c
 * draws them. So the kind and the feathering do not depend on the size.
 * The top word keeps these numbers apart from the samplers' noise (streams
 * below 2^32), the trainer's (top bit set) and the dataset's ("data",
 * "datb").
 *
 * COST: no allocation; ~30 us a 64 x 64 mask on average (large holes ~80
 * us, at most ~0.25 ms), on one core of the 2-core build machine. */
typedef enum {
  DM_MASK_RECTANGLE, /* "rectangle": an axis-aligned box */
  DM_MASK_ELLIPSE,   /* "ellipse": an axis-aligned ellipse */
  DM_MASK_STROKES,   /* "strokes": free-form brush strokes, several widths */
  DM_MASK_LARGE,     /* "large": a large irregular hole, 30 .. ~73% */
  DM_MASK_THIN,      /* "thin": 1 .. 3 px lines (wires, cracks) */
  DM_MASK_KIND_COUNT
} DmMaskKind;

DM_API const char *dm_mask_kind_name(DmMaskKind kind);
DM_API bool dm_mask_kind_from_name(const char *name, DmMaskKind *out);

/* mask (height, width) <- mask number `index` of the run keyed by `seed`,
 * a pure function of (seed, index, height, width); height, width >= 8.
 * Returns the kind drawn (DM_MASK_KIND_COUNT, writing nothing, when mask is
 * NULL or a side is below 8: a programmer error). */
DM_API DmMaskKind dm_mask_draw(float *mask, int32_t height, int32_t width,
                               uint64_t seed, uint64_t index);

/* ---- the trainer --------------------------------------------------------- */

/* What a training run needs besides the model: the objective follows the
 * model's scheduler config (VP: epsilon, v or x0 prediction, Ho et al.
 * 2020 L_simple eq. 14 with uniform timesteps; VE: epsilon on the VE
 * variable, denoising score matching with lambda(sigma) = sigma^2, Song &
 * Ermon 2019 eq. 6). */
typedef struct {
  int32_t batch_size;      /* images per step, 1 .. 4096 */
  uint64_t seed;           /* timesteps and noise of step s: Philox(seed, s) */
  DmAdamWOptions adamw;
  DmLrSchedule lr;
  float max_grad_norm;     /* global gradient-norm clip; 0 = off */
  float ema_decay;         /* EMA's maximum decay in [0, 1); 0 = no EMA */
  float min_snr_gamma;     /* VP: min-SNR-gamma loss weights (Hang et al.
                            * 2023), e.g. 5; 0 = off (uniform) */
  float p_uncond;          /* mask-conditioned models: the probability, per
                            * sample, of the dropout mode (mask 1, known
                            * image 0) instead of a dm_mask_draw() mask;
                            * in [0, 1] */
} DmTrainOptions;

/* Batch 16, seed 0, AdamW (0.9, 0.999, 1e-8, no weight decay), lr 2e-4
 * constant after 200 warm-up steps (of 10000), clip 1, EMA 0.999, no
 * min-SNR weighting, conditioning dropout 0.15. */
DM_API void dm_train_options_default(DmTrainOptions *options);

typedef struct DmTrainer DmTrainer;

/* A trainer of `model`, whose weights it updates in place (borrowed: free
 * the trainer first). The EMA starts as a copy of the weights. Its first
 * step makes the process keep freed memory in its heap (glibc mallopt:
 * mmap and trim thresholds of 1 GiB), so that the step's activations are
 * not faulted in afresh each step. */
DM_API DmTrainer *dm_trainer_new(DmModel *model, const DmTrainOptions *options,
                                 GError **error);
DM_API void dm_trainer_free(DmTrainer *trainer);

/* One step on images (batch_size, C, size, size) in [-1, 1], C the model's
 * out_channels: draws t and noise from (seed, step) (and for a
 * mask-conditioned model each sample's mask, dm_mask_draw(seed,
 * step * batch_size + i), or its dropout), forward and backward pass,
 * clipping, AdamW, EMA. The loss covers the whole image.
 * A step whose gradient is not finite changes no weight (counted by
 * dm_trainer_skipped_steps). *loss (may be NULL) = the batch's mean
 * (weighted) squared error. size must be a multiple of the model's. */
DM_API bool dm_trainer_step(DmTrainer *trainer, const float *images,
                            int32_t size, float *loss, GError **error);
/* A lower bound on the memory dm_trainer_step() takes at `size` (a
 * multiple of the model's), in bytes: weights, gradients, Adam moments and
 * EMA, the batch's buffers and the activations the forward records for the
 * backward. Those are measured by one recording forward of one image at
 * the smallest size the network takes, and scaled by batch_size and the
 * area (they grow with both in proportion); the backward's transient
 * buffers are not counted. For refusing a batch the machine cannot hold
 * before any of it is allocated. */
DM_API bool dm_trainer_memory_bound(DmTrainer *trainer, int32_t size,
                                    double *bytes, GError **error);
/* Steps taken (including skipped ones). */
DM_API int64_t dm_trainer_step_count(const DmTrainer *trainer);
DM_API int64_t dm_trainer_skipped_steps(const DmTrainer *trainer);

/* A new model (caller frees) with the EMA weights (or the raw weights when
 * !ema or the run has no EMA), the same configs and card. */
DM_API DmModel *dm_trainer_export(const DmTrainer *trainer, bool ema,
                                  GError **error);

/* The caller's notes (a JSON text kept in checkpoints: loss history, data
 * summary, ...), "{}" when none; borrowed. set copies. */
DM_API const char *dm_trainer_notes(const DmTrainer *trainer);
DM_API void dm_trainer_set_notes(DmTrainer *trainer, const char *json);

/* Checkpoint file: a single-file model (dm.h) of the current weights whose
 * metadata also holds "dm.checkpoint" (the options as JSON),
 * "dm.adam_step", "dm.skipped_steps" and "dm.train_notes", with the Adam
 * moments and the EMA under "adam_m/<name>", "adam_v/<name>",
 * "ema/<name>". Written to a temporary file, fsynced and renamed: a crash
 * or a full disk leaves the previous checkpoint whole. dm_model_load()
 * reads it as the model of its current weights. */
DM_API bool dm_trainer_save(const DmTrainer *trainer, const char *path,
                            GError **error);
/* Restores a trainer and its model (*model, caller frees after the
 * trainer) from a checkpoint; training on continues exactly as the run
 * that wrote it would have. */
DM_API DmTrainer *dm_trainer_load(const char *path, DmModel **model,
                                  GError **error);

G_END_DECLS

#endif /* DM_TRAIN_H */
