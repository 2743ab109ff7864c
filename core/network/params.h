/* gimp-diffusion core: a network's parameters in one block (internal).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * llm.c's scheme: a table names and shapes every parameter tensor, in
 * diffusers' state-dict naming, and all of them live in one allocation;
 * gradients and optimiser moments reuse the same offsets. */
#ifndef DM_NETWORK_PARAMS_H
#define DM_NETWORK_PARAMS_H

#include "tensor/dtype.h"

/* One parameter tensor of a network. */
typedef struct {
  char *name;       /* e.g. "down_blocks.0.resnets.0.conv1.weight" */
  int32_t rank;     /* 1, 2 or 4 */
  int64_t shape[4]; /* conv (O, I, kh, kw); linear (out, in); norm (C) */
  size_t offset;    /* index of the first float in DmParams.data */
  size_t numel;
} DmParamInfo;

/* All parameters in one allocation; gradients and optimiser moments reuse
 * the same layout. */
typedef struct {
  DmParamInfo *info; /* (count), in a fixed order */
  int32_t count;
  size_t total;      /* floats in data */
  float *data;       /* (total), owned; NULL for a table only */
} DmParams;

void dm_params_clear(DmParams *params);
/* The entry named `name`, or NULL. */
const DmParamInfo *dm_params_find(const DmParams *params, const char *name);

/* ---- building a table ----------------------------------------------------
 * A network's layout code adds its tensors in diffusers' module order; the
 * first inconsistency it reports (a group count that does not divide the
 * channels, ...) becomes the builder's error. */

typedef struct {
  GArray *infos; /* DmParamInfo */
  size_t total;
  GError *error; /* the first inconsistency found, naming the layer */
} DmParamsBuilder;

/* Offsets of a layer's weight and bias in the table. */
typedef struct {
  size_t weight, bias;
} DmParamPair;

void dm_params_builder_init(DmParamsBuilder *b);
/* Records the first inconsistency (DM_ERROR_INVALID_ARGUMENT). */
void dm_params_builder_fail(DmParamsBuilder *b, const char *format, ...)
    G_GNUC_PRINTF(2, 3);
/* Appends a tensor named by `format`; returns its offset. */
size_t dm_params_add(DmParamsBuilder *b, int32_t rank, const int64_t *shape,
                     const char *format, ...) G_GNUC_PRINTF(4, 5);
/* "<prefix>.weight" (c_out, c_in, k, k) and "<prefix>.bias" (c_out). */
DmParamPair dm_params_add_conv(DmParamsBuilder *b, const char *prefix,
                               int32_t c_out, int32_t c_in, int32_t kernel);
/* "<prefix>.weight" (out, in) and "<prefix>.bias" (out), as torch.nn.Linear. */
DmParamPair dm_params_add_linear(DmParamsBuilder *b, const char *prefix,
                                 int32_t out_features, int32_t in_features);
/* A GroupNorm's (or LayerNorm's) weight and bias (channels); groups must
 * divide channels. */
DmParamPair dm_params_add_norm(DmParamsBuilder *b, const char *prefix,
                               int32_t channels, int32_t groups);
/* Moves the table into *params (data NULL); false with the first recorded
 * error, or when the network would have over 2^32 parameters. */
bool dm_params_builder_finish(DmParamsBuilder *b, DmParams *params,
                              GError **error);

/* ---- weight blocks --------------------------------------------------------- */

/* A network's weights as inference keeps them: the tensors of `table`
 * back to back in one allocation of `dtype` elements (table.data stays
 * NULL; offsets and counts are in elements). F16 and BF16 halve the memory
 * of a checkpoint that ships in them; the arithmetic stays float32. */
typedef struct {
  DmParams table;
  DmDtype dtype;
  void *data; /* (table.total) elements of dtype, owned */
} DmWeights;

/* Allocates weights->data for weights->table in `dtype`, zeroed; false with
 * DM_ERROR_NO_MEMORY naming the size when it cannot. */
bool dm_weights_alloc(DmWeights *weights, DmDtype dtype, GError **error);
/* Frees the data and the table. */
void dm_weights_clear(DmWeights *weights);
/* The elements of tensor `info` (an entry of weights->table), in
 * weights->dtype. */
const void *dm_weights_data(const DmWeights *weights, const DmParamInfo *info);
/* The tensor `info` (an entry of weights->table) as float32: the storage itself when it is F32,
 * else converted into `scratch`, which must hold its numel floats. */
const float *dm_weights_f32(const DmWeights *weights, const DmParamInfo *info,
                            float *scratch);
/* The largest numel of the table's tensors: the scratch dm_weights_f32
 * may need. */
size_t dm_weights_largest(const DmWeights *weights);

/* Fills the weights with the random values tests/refgen/common.py also
 * computes, so that a network's tests and benchmarks need no weight file:
 * element i of the tensor NAME is uniform in weight_range(NAME) from
 * dm_rng_uniform_fill(seed, stream = FNV-1a 64 of NAME, index i), rounded
 * to the storage dtype. Ranges: norm weights [0.5, 1.5], norm biases
 * [-0.5, 0.5], 2-D "...embedding.weight" tables [-1, 1], other tensors +-1/sqrt(fan_in)
 * (PyTorch's default bound; fan_in = the product of all but the first
 * dimension, or the length of a 1-D tensor). */
void dm_weights_fill_random(DmWeights *weights, uint64_t seed);

#endif /* DM_NETWORK_PARAMS_H */
