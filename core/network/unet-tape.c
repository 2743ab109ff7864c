/* gimp-diffusion core: the tape of a U-Net training forward — the layer
 * inputs its backward reads (unet-tape.h).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "network/unet-tape.h"

/* Every training step allocates and frees the same large activations. By
 * default glibc maps each one above its mmap threshold (at most 32 MiB)
 * afresh and returns heap tops above its trim threshold to the kernel, so
 * that every step faulted its pages in again (about 6% of a step, tiny64
 * at batch 16). Training keeps freed memory in the heap for the process's
 * lifetime instead; the peak resident size stays the same. */
static void keep_freed_memory(void) {
#ifdef __GLIBC__
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
}

struct DmUnetTape {
  const DmUnet *unet;
  int32_t n, height, width; /* the batch it records */
  GArray *saved;            /* DmActivation, owned, in the order saved */
};

DmUnetTape *dm_unet_tape_new(const DmUnet *unet, int32_t n, int32_t height,
                             int32_t width, GError **error) {
  const int32_t multiple = dm_unet_size_multiple(&unet->config);
  if (n <= 0 || height <= 0 || width <= 0 || height % multiple ||
      width % multiple) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                "a training batch needs at least one image and sides that "
                "are multiples of %d; got %d images of %dx%d", multiple, n,
                width, height);
    return NULL;
  }
  keep_freed_memory();
  DmUnetTape *tape = g_new0(DmUnetTape, 1);
  tape->unet = unet;
  tape->n = n;
  tape->height = height;
  tape->width = width;
  tape->saved = g_array_new(FALSE, FALSE, sizeof(DmActivation));
  return tape;
}

void dm_unet_tape_free(DmUnetTape *tape) {
  if (tape == NULL) return;
  dm_unet_tape_clear(tape);
  g_array_free(tape->saved, TRUE);
  g_free(tape);
}

void dm_unet_tape_clear(DmUnetTape *tape) {
  for (guint i = 0; i < tape->saved->len; i++)
    free(g_array_index(tape->saved, DmActivation, i).data);
  g_array_set_size(tape->saved, 0);
}

bool dm_unet_tape_fits(const DmUnetTape *tape, const DmUnet *unet,
                       const DmTensor *x, GError **error) {
  if (tape->unet != unet) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                "the tape was made for another network");
    return false;
  }
  if (x->n != tape->n || x->h != tape->height || x->w != tape->width) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                "the tape records batches of %d images of %dx%d; got %d of "
                "%dx%d", tape->n, tape->width, tape->height, x->n, x->w,
                x->h);
    return false;
  }
  return true;
}

void dm_unet_tape_push(DmUnetTape *tape, float *data, int32_t c, int32_t h,
                       int32_t w) {
  g_assert(data != NULL && !dm_unet_tape_holds(tape, data));
  const DmActivation entry = {data, c, h, w};
  g_array_append_val(tape->saved, entry);
}

bool dm_unet_tape_holds(const DmUnetTape *tape, const float *data) {
  for (guint i = 0; i < tape->saved->len; i++)
    if (g_array_index(tape->saved, DmActivation, i).data == data) return true;
  return false;
}

float *dm_unet_tape_pop(DmUnetTape *tape, int32_t c, int32_t h, int32_t w) {
  g_assert(tape->saved->len > 0);
  const DmActivation top =
      g_array_index(tape->saved, DmActivation, tape->saved->len - 1);
  g_assert(top.c == c && top.h == h && top.w == w);
  g_array_set_size(tape->saved, tape->saved->len - 1);
  return top.data;
}

size_t dm_unet_tape_bytes(const DmUnetTape *tape) {
  size_t bytes = 0;
  for (guint i = 0; i < tape->saved->len; i++) {
    const DmActivation *a = &g_array_index(tape->saved, DmActivation, i);
    bytes += sizeof(float) * (size_t)tape->n * a->c * a->h * a->w;
  }
  return bytes;
}

bool dm_unet_tape_recorded(const DmUnetTape *tape, const DmUnet *unet) {
  return tape->unet == unet && tape->saved->len > 0;
}

void dm_unet_tape_batch(const DmUnetTape *tape, int32_t *n, int32_t *height,
                        int32_t *width) {
  *n = tape->n;
  *height = tape->height;
  *width = tape->width;
}
