/* DmTensor allocation, reflection padding and cropping.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include "dm-test.h"

static void test_bad_shapes(void) {
  GError *error = NULL;
  DM_CHECK(dm_tensor_new(1, 0, 4, 4, &error) == NULL && error != NULL,
           "a zero dimension is refused");
  g_clear_error(&error);
  DM_CHECK(dm_tensor_new(1 << 30, 1 << 30, 1 << 30, 1 << 30, &error) == NULL &&
               error != NULL,
           "an overflowing shape is refused, not wrapped");
  g_clear_error(&error);
}

/* Padding 1x3 (values 0 1 2) to width 8 mirrors without repeating edges:
 * 0 1 2 1 0 1 2 1. Height 1 pads by repeating the only row. */
static void test_pad_reflect(void) {
  GError *error = NULL;
  DmTensor *row = dm_tensor_new(1, 1, 1, 3, &error);
  DM_CHECK_OK(row != NULL, error);
  for (int i = 0; i < 3; i++) row->data[i] = (float)i;
  DmTensor *padded = dm_tensor_pad_reflect(row, 8, &error);
  DM_CHECK_OK(padded != NULL, error);
  const float want[8] = {0, 1, 2, 1, 0, 1, 2, 1};
  DM_CHECK(padded->h == 8 && padded->w == 8, "padded to 8x8, got %dx%d",
           padded->w, padded->h);
  for (int y = 0; y < 8; y++)
    for (int x = 0; x < 8; x++)
      DM_CHECK(padded->data[y * 8 + x] == want[x], "pad (%d,%d) = %f", x, y,
               padded->data[y * 8 + x]);
  DmTensor *cropped = dm_tensor_crop(padded, 1, 3, &error);
  DM_CHECK_OK(cropped != NULL, error);
  for (int i = 0; i < 3; i++)
    DM_CHECK(cropped->data[i] == (float)i, "crop restores the original");
  DM_CHECK(dm_tensor_crop(row, 2, 3, &error) == NULL && error != NULL,
           "crop larger than the tensor is refused");
  g_clear_error(&error);
  dm_tensor_free(cropped);
  dm_tensor_free(padded);
  dm_tensor_free(row);
}

/* A tensor already at a multiple is copied unchanged. */
static void test_pad_noop(void) {
  GError *error = NULL;
  DmTensor *t = dm_tensor_new(2, 3, 4, 8, &error);
  DM_CHECK_OK(t != NULL, error);
  for (size_t i = 0; i < dm_tensor_numel(t); i++) t->data[i] = (float)i;
  DmTensor *padded = dm_tensor_pad_reflect(t, 4, &error);
  DM_CHECK_OK(padded != NULL, error);
  DM_CHECK(padded->h == 4 && padded->w == 8 &&
               memcmp(padded->data, t->data, dm_tensor_numel(t) * 4) == 0,
           "no-op padding keeps the data");
  dm_tensor_free(padded);
  dm_tensor_free(t);
}

int main(void) {
  test_bad_shapes();
  test_pad_reflect();
  test_pad_noop();
  return dm_test_finish();
}
