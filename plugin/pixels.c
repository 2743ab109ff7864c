/* gimp-diffusion plug-in: a drawable's pixels as the model's planes.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include <string.h>

#include "pixels.h"

static size_t area_pixels(const DmPlugArea *area) {
  return (size_t)area->rect.width * (size_t)area->rect.height;
}

/* Where the image's selection touches `rect` of `drawable`, as (H, W)
 * floats: 1 where selected at all, else 0 (also where the selection
 * channel does not reach). The model fills every selected pixel; GIMP's
 * merge of the shadow buffer then blends a feathered edge with the
 * original by the selection's value (dm_mask_binarize). */
static float *read_mask(GimpDrawable *drawable, const GeglRectangle *rect) {
  GimpImage *image = gimp_item_get_image(GIMP_ITEM(drawable));
  GeglBuffer *selection =
      gimp_drawable_get_buffer(GIMP_DRAWABLE(gimp_image_get_selection(image)));
  gint offset_x, offset_y;
  gimp_drawable_get_offsets(drawable, &offset_x, &offset_y);
  const GeglRectangle in_image = {rect->x + offset_x, rect->y + offset_y,
                                  rect->width, rect->height};
  float *mask = g_new(float, (size_t)rect->width * rect->height);
  gegl_buffer_get(selection, &in_image, 1.0, babl_format("Y float"), mask,
                  GEGL_AUTO_ROWSTRIDE, GEGL_ABYSS_NONE);
  g_object_unref(selection);
  dm_mask_binarize(mask, (size_t)rect->width * rect->height);
  return mask;
}

DmPlugArea *dm_plug_area_read(GimpDrawable *drawable,
                              const GeglRectangle *rect, int32_t channels,
                              gboolean with_mask) {
  DmPlugArea *area = g_new0(DmPlugArea, 1);
  const size_t n = (size_t)rect->width * rect->height;
  area->rect = *rect;
  area->channels = channels;
  area->format = babl_format_with_space(
      channels == 3 ? "R'G'B'A float" : "Y'A float",
      gimp_drawable_get_format(drawable));
  area->pixels = g_new(float, n * (channels + 1));
  area->planes = g_new(float, n * channels);
  const Babl *stored_format = gimp_drawable_get_format(drawable);
  area->stored = g_malloc(n * babl_format_get_bytes_per_pixel(stored_format));
  GeglBuffer *buffer = gimp_drawable_get_buffer(drawable);
  gegl_buffer_get(buffer, rect, 1.0, stored_format, area->stored,
                  GEGL_AUTO_ROWSTRIDE, GEGL_ABYSS_NONE);
  g_object_unref(buffer);
  babl_process(babl_fish(stored_format, area->format), area->stored,
               area->pixels, (long)n);
  dm_pixels_to_planes(area->planes, area->pixels, channels, channels + 1, n);
  if (with_mask) area->mask = read_mask(drawable, rect);
  return area;
}

static gboolean selected(const DmPlugArea *area, size_t p) {
  return area->mask == NULL || area->mask[p] > 0.0f;
}

/* The stored pixels with the selected ones replaced by the result in the
 * drawable's format; the others keep their stored bytes (a round trip
 * through another format, e.g. grey to R'G'B', need not be exact). */
static void pixels_to_stored(DmPlugArea *area, const Babl *stored_format) {
  const size_t n = area_pixels(area);
  const int bytes = babl_format_get_bytes_per_pixel(stored_format);
  guint8 *converted = g_malloc(n * bytes);
  babl_process(babl_fish(area->format, stored_format), area->pixels,
               converted, (long)n);
  for (size_t p = 0; p < n; p++)
    if (selected(area, p))
      memcpy(area->stored + p * bytes, converted + p * bytes, bytes);
  g_free(converted);
}

void dm_plug_area_write(DmPlugArea *area, GimpDrawable *drawable) {
  const Babl *stored_format = gimp_drawable_get_format(drawable);
  dm_planes_to_pixels(area->pixels, area->planes, area->channels,
                      area->channels + 1, area_pixels(area), area->mask);
  pixels_to_stored(area, stored_format);
  GeglBuffer *shadow = gimp_drawable_get_shadow_buffer(drawable);
  gegl_buffer_set(shadow, &area->rect, 0, stored_format, area->stored,
                  GEGL_AUTO_ROWSTRIDE);
  g_object_unref(shadow);
  gimp_drawable_merge_shadow(drawable, TRUE);
  gimp_drawable_update(drawable, area->rect.x, area->rect.y,
                       area->rect.width, area->rect.height);
}

void dm_plug_area_free(DmPlugArea *area) {
  if (area == NULL) return;
  g_free(area->stored);
  g_free(area->pixels);
  g_free(area->planes);
  g_free(area->mask);
  g_free(area);
}
