/* gimp-diffusion core: parameter tables and weight blocks (params.h).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "network/params.h"
#include "tensor/rng.h"

void dm_params_clear(DmParams *params) {
  for (int32_t i = 0; i < params->count; i++) g_free(params->info[i].name);
  g_free(params->info);
  free(params->data);
  memset(params, 0, sizeof *params);
}

const DmParamInfo *dm_params_find(const DmParams *params, const char *name) {
  for (int32_t i = 0; i < params->count; i++)
    if (strcmp(params->info[i].name, name) == 0) return &params->info[i];
  return NULL;
}

/* ---- building a table ------------------------------------------------------ */

/* Networks larger than this (16 GiB of float32) are refused. */
#define DM_MAX_PARAMS ((size_t)1 << 32)

void dm_params_builder_fail(DmParamsBuilder *b, const char *format, ...) {
  if (b->error != NULL) return;
  va_list args;
  va_start(args, format);
  char *message = g_strdup_vprintf(format, args);
  va_end(args);
  b->error = g_error_new(DM_ERROR, DM_ERROR_INVALID_ARGUMENT, "%s", message);
  g_free(message);
}

size_t dm_params_add(DmParamsBuilder *b, int32_t rank, const int64_t *shape,
                     const char *format, ...) {
  DmParamInfo info = {.rank = rank, .offset = b->total, .numel = 1};
  va_list args;
  va_start(args, format);
  info.name = g_strdup_vprintf(format, args);
  va_end(args);
  for (int32_t i = 0; i < rank; i++) {
    info.shape[i] = shape[i];
    info.numel *= (size_t)shape[i];
  }
  g_array_append_val(b->infos, info);
  b->total += info.numel;
  return info.offset;
}

DmParamPair dm_params_add_conv(DmParamsBuilder *b, const char *prefix,
                               int32_t c_out, int32_t c_in, int32_t kernel) {
  const int64_t weight_shape[4] = {c_out, c_in, kernel, kernel};
  const int64_t bias_shape[1] = {c_out};
  DmParamPair pair;
  pair.weight = dm_params_add(b, 4, weight_shape, "%s.weight", prefix);
  pair.bias = dm_params_add(b, 1, bias_shape, "%s.bias", prefix);
  return pair;
}

DmParamPair dm_params_add_linear(DmParamsBuilder *b, const char *prefix,
                                 int32_t out_features, int32_t in_features) {
  const int64_t weight_shape[2] = {out_features, in_features};
  const int64_t bias_shape[1] = {out_features};
  DmParamPair pair;
  pair.weight = dm_params_add(b, 2, weight_shape, "%s.weight", prefix);
  pair.bias = dm_params_add(b, 1, bias_shape, "%s.bias", prefix);
  return pair;
}

DmParamPair dm_params_add_norm(DmParamsBuilder *b, const char *prefix,
                               int32_t channels, int32_t groups) {
  if (channels % groups != 0)
    dm_params_builder_fail(b, "%s: %d channels are not divisible into %d "
                           "groups", prefix, channels, groups);
  const int64_t shape[1] = {channels};
  DmParamPair pair;
  pair.weight = dm_params_add(b, 1, shape, "%s.weight", prefix);
  pair.bias = dm_params_add(b, 1, shape, "%s.bias", prefix);
  return pair;
}

void dm_params_builder_init(DmParamsBuilder *b) {
  *b = (DmParamsBuilder){.infos = g_array_new(FALSE, FALSE,
                                              sizeof(DmParamInfo))};
}

bool dm_params_builder_finish(DmParamsBuilder *b, DmParams *params,
                              GError **error) {
  params->count = (int32_t)b->infos->len;
  params->info = (DmParamInfo *)g_array_free(b->infos, FALSE);
  params->total = b->total;
  params->data = NULL;
  if (b->error == NULL && b->total > DM_MAX_PARAMS)
    b->error = g_error_new(DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                           "the network would have %zu parameters "
                           "(limit %zu)", b->total, DM_MAX_PARAMS);
  if (b->error != NULL) {
    g_propagate_error(error, b->error);
    dm_params_clear(params);
    return false;
  }
  return true;
}

/* ---- weight blocks ---------------------------------------------------------- */

bool dm_weights_alloc(DmWeights *weights, DmDtype dtype, GError **error) {
  size_t bytes = 0;
  weights->dtype = dtype;
  weights->data = NULL;
  /* on huge pages where it is large: every forward streams all of it */
  if (dm_mul_size(weights->table.total, dm_dtype_size(dtype), &bytes) &&
      (weights->data = dm_alloc_floats((bytes + 3) / 4)) != NULL)
    memset(weights->data, 0, bytes);
  if (weights->data == NULL)
    g_set_error(error, DM_ERROR, DM_ERROR_NO_MEMORY,
                "out of memory for %zu weights", weights->table.total);
  return weights->data != NULL;
}

void dm_weights_clear(DmWeights *weights) {
  dm_params_clear(&weights->table);
  g_clear_pointer(&weights->data, dm_free_floats);
}

const void *dm_weights_data(const DmWeights *weights, const DmParamInfo *info) {
  return (const char *)weights->data +
         info->offset * dm_dtype_size(weights->dtype);
}

const float *dm_weights_f32(const DmWeights *weights, const DmParamInfo *info,
                            float *scratch) {
  const void *start = dm_weights_data(weights, info);
  if (weights->dtype == DM_DTYPE_F32) return (const float *)start;
  dm_dtype_to_f32(scratch, start, weights->dtype, info->numel);
  return scratch;
}

size_t dm_weights_largest(const DmWeights *weights) {
  size_t largest = 0;
  for (int32_t i = 0; i < weights->table.count; i++)
    largest = MAX(largest, weights->table.info[i].numel);
  return largest;
}

/* ---- random weights by name ------------------------------------------------- */

static uint64_t fnv1a64(const char *text) {
  uint64_t hash = UINT64_C(0xCBF29CE484222325);
  for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
    hash ^= *c;
    hash *= UINT64_C(0x100000001B3);
  }
  return hash;
}

static void weight_range(const DmParamInfo *info, float *low, float *high) {
  if (strstr(info->name, "norm") != NULL && info->rank == 1) {
    const bool weight = g_str_has_suffix(info->name, "weight");
    *low = weight ? 0.5f : -0.5f;
    *high = weight ? 1.5f : 0.5f;
    return;
  }
  if (g_str_has_suffix(info->name, "embedding.weight") && info->rank == 2) {
    *low = -1.0f;
    *high = 1.0f;
    return;
  }
  double fan_in = 1.0;
  for (int32_t d = info->rank > 1 ? 1 : 0; d < info->rank; d++)
    fan_in *= (double)info->shape[d];
  *high = (float)(1.0 / sqrt(fan_in));
  *low = -*high;
}

/* Elements per task of dm_weights_fill_random: large tensors are shared
 * out between the threads. */
#define FILL_CHUNK ((size_t)1 << 16)

void dm_weights_fill_random(DmWeights *weights, uint64_t seed) {
  const DmParams *table = &weights->table;
  const size_t element = dm_dtype_size(weights->dtype);
  /* task k: chunk k - first[i] of tensor i, first[i] <= k < first[i + 1] */
  size_t *first = g_new(size_t, table->count + 1);
  first[0] = 0;
  for (int32_t i = 0; i < table->count; i++)
    first[i + 1] = first[i] + (table->info[i].numel + FILL_CHUNK - 1) /
                                  FILL_CHUNK;
#pragma omp parallel
  {
    float *values = g_new(float, FILL_CHUNK);
    int32_t tensor = 0;
#pragma omp for schedule(static)
    for (size_t task = 0; task < first[table->count]; task++) {
      while (first[tensor + 1] <= task) tensor++;
      const DmParamInfo *info = &table->info[tensor];
      const size_t start = (task - first[tensor]) * FILL_CHUNK;
      const size_t count = MIN(FILL_CHUNK, info->numel - start);
      float low, high;
      weight_range(info, &low, &high);
      dm_rng_uniform_fill(values, count, low, high, seed, fnv1a64(info->name),
                          start);
      dm_f32_to_dtype((char *)weights->data + (info->offset + start) * element,
                      values, weights->dtype, count);
    }
    g_free(values);
  }
  g_free(first);
}
