/* gimp-diffusion core: DmTensor allocation, reflection padding, cropping.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "tensor/base.h"

/* ---- large float blocks ----------------------------------------------------
 * Each block starts with a header holding its size, HEADER bytes before
 * the floats. Blocks of LARGE bytes and more are whole huge pages, and when
 * freed go to a pool of at most POOL_BYTES (the largest kept first), from
 * which the next large request of at most their size takes the smallest
 * that fits: a network asks for the same few large scratch sizes at every
 * call, and fresh pages cost a fault and the kernel's zeroing each (about
 * 1.5 s of an SD 1.5 evaluation on one thread, more than its GEGLUs and
 * norms together). */
#define HEADER ((size_t)64)
#define HUGE_PAGE ((size_t)2 << 20)
#define LARGE (2 * HUGE_PAGE)
#define POOL_BYTES ((size_t)512 << 20)
#define POOL_SLOTS 16

typedef struct {
  char *base; /* NULL: a free slot */
  size_t bytes;
} PooledBlock;

static GMutex pool_lock;
static PooledBlock pool[POOL_SLOTS];
static size_t pool_total;

/* The smallest pooled block of at least `bytes`, taken out, or NULL. */
static char *pool_take(size_t bytes, size_t *size) {
  g_mutex_lock(&pool_lock);
  PooledBlock *best = NULL;
  for (int i = 0; i < POOL_SLOTS; i++)
    if (pool[i].base && pool[i].bytes >= bytes &&
        (best == NULL || pool[i].bytes < best->bytes))
      best = &pool[i];
  char *base = best ? best->base : NULL;
  if (best) {
    *size = best->bytes;
    pool_total -= best->bytes;
    best->base = NULL;
  }
  g_mutex_unlock(&pool_lock);
  return base;
}

/* Keeps a freed block, dropping smaller ones to stay within POOL_BYTES;
 * false when it is not kept. */
static bool pool_give(char *base, size_t bytes) {
  bool kept = false;
  g_mutex_lock(&pool_lock);
  for (;;) {
    PooledBlock *free_slot = NULL, *smallest = NULL;
    for (int i = 0; i < POOL_SLOTS; i++) {
      if (!pool[i].base) free_slot = free_slot ? free_slot : &pool[i];
      else if (!smallest || pool[i].bytes < smallest->bytes)
        smallest = &pool[i];
    }
    if (free_slot && pool_total + bytes <= POOL_BYTES) {
      *free_slot = (PooledBlock){base, bytes};
      pool_total += bytes;
      kept = true;
      break;
    }
    if (!smallest || smallest->bytes >= bytes) break;
    pool_total -= smallest->bytes;
    free(smallest->base);
    smallest->base = NULL;
  }
  g_mutex_unlock(&pool_lock);
  return kept;
}

void dm_free_floats_pool(void) {
  g_mutex_lock(&pool_lock);
  for (int i = 0; i < POOL_SLOTS; i++)
    if (pool[i].base) {
      free(pool[i].base);
      pool[i].base = NULL;
    }
  pool_total = 0;
  g_mutex_unlock(&pool_lock);
}

float *dm_alloc_floats(size_t count) {
  size_t bytes;
  if (!dm_mul_size(count, sizeof(float), &bytes) ||
      bytes > SIZE_MAX / 2 - HEADER)
    return NULL;
  bytes = (bytes + HEADER + 63) / 64 * 64;
  char *base = NULL;
  if (bytes < LARGE) {
    base = aligned_alloc(64, bytes);
  } else {
    bytes = (bytes + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
    if ((base = pool_take(bytes, &bytes)) == NULL &&
        (base = aligned_alloc(HUGE_PAGE, bytes)) != NULL) {
#ifdef MADV_HUGEPAGE
      madvise(base, bytes, MADV_HUGEPAGE);
#endif
    }
  }
  if (base == NULL) return NULL;
  memcpy(base, &bytes, sizeof bytes);
  return (float *)(base + HEADER);
}

void dm_free_floats(float *data) {
  if (data == NULL) return;
  char *base = (char *)data - HEADER;
  size_t bytes;
  memcpy(&bytes, base, sizeof bytes);
  if (bytes < LARGE || !pool_give(base, bytes)) free(base);
}

DmTensor *dm_tensor_new(int32_t n, int32_t c, int32_t h, int32_t w,
                        GError **error) {
  if (n <= 0 || c <= 0 || h <= 0 || w <= 0) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                "tensor shape (%d, %d, %d, %d) has a non-positive dimension",
                n, c, h, w);
    return NULL;
  }
  size_t count = 0, bytes = 0;
  if (!dm_mul_size((size_t)n * (size_t)c, (size_t)h * (size_t)w, &count) ||
      !dm_mul_size(count, sizeof(float), &bytes)) {
    g_set_error(error, DM_ERROR, DM_ERROR_NO_MEMORY,
                "tensor shape (%d, %d, %d, %d) is too large", n, c, h, w);
    return NULL;
  }
  float *data = calloc(count, sizeof(float));
  if (data == NULL) {
    g_set_error(error, DM_ERROR, DM_ERROR_NO_MEMORY,
                "out of memory allocating a (%d, %d, %d, %d) tensor "
                "(%zu MiB)", n, c, h, w, bytes >> 20);
    return NULL;
  }
  DmTensor *tensor = g_new(DmTensor, 1);
  *tensor = (DmTensor){.data = data, .n = n, .c = c, .h = h, .w = w};
  return tensor;
}

void dm_tensor_free(DmTensor *tensor) {
  if (tensor == NULL) return;
  free(tensor->data);
  g_free(tensor);
}

size_t dm_tensor_numel(const DmTensor *tensor) {
  return (size_t)tensor->n * tensor->c * tensor->h * tensor->w;
}

/* Index into [0, size) of position `i` reflected about the edges (without
 * repeating the edge pixel), periodic with period 2 * (size - 1). */
static int32_t reflect_index(int64_t i, int32_t size) {
  if (size == 1) return 0;
  int64_t period = 2 * (int64_t)(size - 1);
  int64_t r = i % period;
  if (r < 0) r += period;
  return (int32_t)(r < size ? r : period - r);
}

static int32_t round_up(int32_t value, int32_t multiple) {
  return (int32_t)(((int64_t)value + multiple - 1) / multiple * multiple);
}

DmTensor *dm_tensor_pad_reflect(const DmTensor *in, int32_t multiple,
                                GError **error) {
  if (multiple <= 0) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                "padding multiple %d is not positive", multiple);
    return NULL;
  }
  int32_t h = round_up(in->h, multiple), w = round_up(in->w, multiple);
  DmTensor *out = dm_tensor_new(in->n, in->c, h, w, error);
  if (out == NULL) return NULL;
  size_t planes = (size_t)in->n * in->c;
  for (size_t p = 0; p < planes; p++) {
    const float *src = in->data + p * in->h * in->w;
    float *dst = out->data + p * (size_t)h * w;
    for (int32_t y = 0; y < h; y++) {
      const float *src_row = src + (size_t)reflect_index(y, in->h) * in->w;
      for (int32_t x = 0; x < w; x++)
        dst[(size_t)y * w + x] = src_row[reflect_index(x, in->w)];
    }
  }
  return out;
}

DmTensor *dm_tensor_crop(const DmTensor *in, int32_t h, int32_t w,
                         GError **error) {
  if (h > in->h || w > in->w) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                "crop %dx%d is larger than the tensor's %dx%d", w, h, in->w,
                in->h);
    return NULL;
  }
  DmTensor *out = dm_tensor_new(in->n, in->c, h, w, error);
  if (out == NULL) return NULL;
  size_t planes = (size_t)in->n * in->c;
  for (size_t p = 0; p < planes; p++)
    for (int32_t y = 0; y < h; y++)
      memcpy(out->data + (p * h + y) * w,
             in->data + (p * in->h + y) * in->w, (size_t)w * sizeof(float));
  return out;
}
