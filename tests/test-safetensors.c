/* Tests of the safetensors reader and writer: dtype conversions checked
 * against their definitions for every 16-bit pattern, round trips, and a
 * table of corrupt inputs that must each fail with a DM_ERROR.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include <math.h>
#include <string.h>

#include <glib/gstdio.h>

#include "dm-test.h"
#include "model/safetensors.h"

/* ---- building inputs in memory ----------------------------------------- */

/* A safetensors image: 8-byte length of `header`, the header, then
 * `data_size` bytes of `data` (zeros when data is NULL). */
static GByteArray *make_file(const char *header, const void *data,
                             size_t data_size) {
  GByteArray *bytes = g_byte_array_new();
  uint64_t length = strlen(header);
  uint8_t length_le[8];
  for (int b = 0; b < 8; b++) length_le[b] = (uint8_t)(length >> (8 * b));
  g_byte_array_append(bytes, length_le, 8);
  g_byte_array_append(bytes, (const guint8 *)header, (guint)length);
  for (size_t i = 0; i < data_size; i++) {
    uint8_t byte = data ? ((const uint8_t *)data)[i] : 0;
    g_byte_array_append(bytes, &byte, 1);
  }
  return bytes;
}

/* Raw 8-byte prefix with an arbitrary length field, then `tail`. */
static GByteArray *make_raw(uint64_t length, const char *tail) {
  GByteArray *bytes = g_byte_array_new();
  uint8_t length_le[8];
  for (int b = 0; b < 8; b++) length_le[b] = (uint8_t)(length >> (8 * b));
  g_byte_array_append(bytes, length_le, 8);
  g_byte_array_append(bytes, (const guint8 *)tail, (guint)strlen(tail));
  return bytes;
}

static char *temp_folder;

static char *temp_path(const char *name) {
  return g_build_filename(temp_folder, name, NULL);
}

static uint32_t float_bits(float f) {
  uint32_t bits;
  memcpy(&bits, &f, sizeof bits);
  return bits;
}

/* ---- dtype conversions ------------------------------------------------- */

/* binary16 by its definition: (-1)^s 2^(e-15) (1 + m/1024), subnormals
 * 2^-14 (m/1024), e = 31 inf/NaN. */
static float f16_reference(uint16_t h) {
  int sign = h >> 15, e = (h >> 10) & 31, m = h & 1023;
  double value;
  if (e == 31)
    value = m ? NAN : INFINITY;
  else if (e == 0)
    value = ldexp(m / 1024.0, -14);
  else
    value = ldexp(1.0 + m / 1024.0, e - 15);
  return (float)(sign ? -value : value);
}

/* Parses an in-memory file holding one 65536-element tensor of every
 * 16-bit pattern in `dtype` and returns it as float32 (caller frees). */
static float *decode_all_patterns(const char *dtype) {
  uint8_t *data = g_malloc(65536 * 2);
  for (uint32_t i = 0; i < 65536; i++) {
    data[2 * i] = (uint8_t)(i & 0xff);
    data[2 * i + 1] = (uint8_t)(i >> 8);
  }
  char *header = g_strdup_printf(
      "{\"all\":{\"dtype\":\"%s\",\"shape\":[256,256],"
      "\"data_offsets\":[0,131072]}}", dtype);
  GByteArray *file = make_file(header, data, 65536 * 2);
  GError *error = NULL;
  DmSafetensors *st = dm_safetensors_parse(file->data, file->len, dtype,
                                           &error);
  DM_CHECK_OK(st, error);
  const DmStEntry *entry = dm_safetensors_find(st, "all");
  DM_CHECK(entry && entry->numel == 65536 && entry->rank == 2,
           "entry 'all' has the wrong shape");
  float *out = g_new(float, 65536);
  dm_safetensors_read_f32(entry, out);
  dm_safetensors_free(st);
  g_byte_array_unref(file);
  g_free(header);
  g_free(data);
  return out;
}

/* Writes `n` floats as `dtype` and returns the file's data section bytes. */
static uint8_t *write_and_read_raw(const float *values, int64_t n,
                                   DmDtype dtype, size_t *size) {
  char *path = temp_path("raw.safetensors");
  DmStTensor tensor = {"x", 1, &n, values};
  GError *error = NULL;
  DM_CHECK_OK(dm_safetensors_write(path, &tensor, 1, NULL, dtype, &error),
              error);
  gchar *contents;
  gsize length;
  DM_CHECK_OK(g_file_get_contents(path, &contents, &length, &error), error);
  uint64_t header_length = 0;
  for (int b = 0; b < 8; b++)
    header_length |= (uint64_t)(uint8_t)contents[b] << (8 * b);
  DM_CHECK((8 + header_length) % 8 == 0, "data section not 8-byte aligned");
  *size = length - 8 - header_length;
  uint8_t *raw = g_memdup2(contents + 8 + header_length, *size);
  g_free(contents);
  g_unlink(path);
  g_free(path);
  return raw;
}

static void test_f16_all_patterns(void) {
  float *decoded = decode_all_patterns("F16");
  int wrong_decode = 0, wrong_encode = 0;
  for (uint32_t i = 0; i < 65536; i++) {
    float want = f16_reference((uint16_t)i);
    bool same = isnan(want) ? isnan(decoded[i])
                            : float_bits(want) == float_bits(decoded[i]);
    if (!same) wrong_decode++;
  }
  size_t size;
  uint8_t *raw = write_and_read_raw(decoded, 65536, DM_DTYPE_F16, &size);
  DM_CHECK(size == 65536 * 2, "F16 data is %zu bytes", size);
  for (uint32_t i = 0; i < 65536 && size == 65536 * 2; i++) {
    uint16_t bits = (uint16_t)(raw[2 * i] | (raw[2 * i + 1] << 8));
    bool nan_in = ((i >> 10) & 31) == 31 && (i & 1023);
    bool ok = nan_in ? ((bits & 0x7c00) == 0x7c00 && (bits & 1023) &&
                        (bits & 0x8000) == (i & 0x8000))
                     : bits == i;
    if (!ok) wrong_encode++;
  }
  DM_CHECK(wrong_decode == 0, "%d F16 patterns decode wrongly", wrong_decode);
  DM_CHECK(wrong_encode == 0, "%d F16 patterns do not re-encode",
           wrong_encode);
  printf("ok   F16 decode/encode of all 65536 patterns\n");
  g_free(raw);
  g_free(decoded);
}

static void test_bf16_all_patterns(void) {
  float *decoded = decode_all_patterns("BF16");
  int wrong = 0;
  for (uint32_t i = 0; i < 65536; i++)
    if (float_bits(decoded[i]) != i << 16) wrong++;
  size_t size;
  uint8_t *raw = write_and_read_raw(decoded, 65536, DM_DTYPE_BF16, &size);
  for (uint32_t i = 0; i < 65536 && size == 65536 * 2; i++) {
    uint16_t bits = (uint16_t)(raw[2 * i] | (raw[2 * i + 1] << 8));
    bool nan_in = ((i >> 7) & 255) == 255 && (i & 127);
    bool nan_out = ((bits >> 7) & 255) == 255 && (bits & 127);
    if (nan_in ? !nan_out : bits != i) wrong++;
  }
  DM_CHECK(wrong == 0, "%d BF16 patterns decode or re-encode wrongly", wrong);
  printf("ok   BF16 decode/encode of all 65536 patterns\n");
  g_free(raw);
  g_free(decoded);
}

/* Encodes `values` as `dtype` and checks each result's bits. */
static void check_encodings(const char *label, const float *values,
                            const uint16_t *want, int64_t n, DmDtype dtype) {
  size_t size;
  uint8_t *raw = write_and_read_raw(values, n, dtype, &size);
  int wrong = 0;
  for (int64_t i = 0; i < n; i++) {
    uint16_t bits = (uint16_t)(raw[2 * i] | (raw[2 * i + 1] << 8));
    if (bits != want[i]) {
      fprintf(stderr, "  %s: %.9g -> 0x%04x, want 0x%04x\n", label,
              (double)values[i], bits, want[i]);
      wrong++;
    }
  }
  DM_CHECK(wrong == 0, "%s: %d values rounded wrongly", label, wrong);
  printf("%s %s rounding of %d chosen values\n", wrong ? "FAIL" : "ok  ",
         label, (int)n);
  g_free(raw);
}

/* Ties, overflow, subnormals and signed zero, by hand. */
static void test_rounding_cases(void) {
  const float f16_in[] = {
      1.0f / 3.0f, 65519.0f, 65520.0f, ldexpf(1, -25),
      ldexpf(1.0f + ldexpf(1, -23), -25), 3 * ldexpf(1, -25),
      1.0f + ldexpf(1, -11), 1.0f + 3 * ldexpf(1, -11), -0.0f, 1e-40f,
      -INFINITY, ldexpf(1.0f - ldexpf(1, -11), -14), 5.9604645e-8f,
      -65504.0f};
  const uint16_t f16_want[] = {0x3555, 0x7bff, 0x7c00, 0x0000, 0x0001, 0x0002,
                               0x3c00, 0x3c02, 0x8000, 0x0000, 0xfc00, 0x0400,
                               0x0001, 0xfbff};
  check_encodings("F16", f16_in, f16_want, G_N_ELEMENTS(f16_in),
                  DM_DTYPE_F16);
  float max_float;
  uint32_t max_bits = 0x7f7fffffu;
  memcpy(&max_float, &max_bits, sizeof max_float);
  const float bf16_in[] = {1.0f / 3.0f, 1.00390625f, 1.01171875f, max_float,
                           -0.0f, INFINITY, 1e-40f};
  const uint16_t bf16_want[] = {0x3eab, 0x3f80, 0x3f82, 0x7f80,
                                0x8000, 0x7f80, 0x0001};
  check_encodings("BF16", bf16_in, bf16_want, G_N_ELEMENTS(bf16_in),
                  DM_DTYPE_BF16);
}

/* Random floats: each F16 result is at least as near as its neighbours. */
static void test_f16_nearest(void) {
  enum { N = 20000 };
  float *values = g_new(float, N);
  uint64_t state = 12345;
  for (int i = 0; i < N; i++) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    uint32_t r = (uint32_t)(state >> 33);
    /* magnitudes 2^-28 .. 2^17: subnormal to overflow */
    values[i] = ldexpf((float)(r % 1000000) / 1000000.0f + 0.5f,
                       (int)(r % 46) - 28) * ((r & 1) ? -1.0f : 1.0f);
  }
  size_t size;
  uint8_t *raw = write_and_read_raw(values, N, DM_DTYPE_F16, &size);
  int wrong = 0;
  for (int i = 0; i < N; i++) {
    uint16_t bits = (uint16_t)(raw[2 * i] | (raw[2 * i + 1] << 8));
    double x = values[i], got = f16_reference(bits);
    if (isinf(got)) {
      if (fabs(x) < 65520.0) wrong++;
      continue;
    }
    double down = f16_reference((uint16_t)(bits - ((bits & 0x7fff) ? 1 : 0)));
    double up = f16_reference((uint16_t)(bits + 1));
    if (fabs(x - got) > fabs(x - down) ||
        (!isinf(up) && fabs(x - got) > fabs(x - up)))
      wrong++;
  }
  DM_CHECK(wrong == 0, "%d of %d random floats not rounded to nearest F16",
           wrong, N);
  printf("%s F16 nearest rounding of %d random floats\n",
         wrong ? "FAIL" : "ok  ", N);
  g_free(raw);
  g_free(values);
}

/* ---- round trips ------------------------------------------------------- */

static void test_round_trip(DmDtype dtype, const char *dtype_name) {
  const float a[] = {0.0f, -0.0f, 1.0f, -2.5f, 0.5f, 1024.0f, -0.25f, 3.0f,
                     INFINITY, -INFINITY};
  const int64_t a_shape[] = {2, 5}, b_shape[] = {1, 1, 1, 1}, c_shape[] = {0};
  const float b[] = {NAN};
  const DmStTensor tensors[] = {{"layer.\"quoted\".weight", 2, a_shape, a},
                                {"nan", 4, b_shape, b},
                                {"empty", 1, c_shape, NULL},
                                {"scalar", 0, NULL, a + 2}};
  const char *metadata[] = {"format", "pt", "text",
                            "line1\nline2 \"q\" \\ \t é ✓ \x01", NULL};
  char *path = temp_path("round.safetensors");
  GError *error = NULL;
  DM_CHECK_OK(dm_safetensors_write(path, tensors, 4, metadata, dtype, &error),
              error);
  DmSafetensors *st = dm_safetensors_open(path, &error);
  DM_CHECK_OK(st, error);
  DM_CHECK(dm_safetensors_count(st) == 4, "count %d",
           dm_safetensors_count(st));
  for (int i = 0; i < 4; i++) {
    const DmStEntry *entry = dm_safetensors_find(st, tensors[i].name);
    DM_CHECK(entry && entry->rank == tensors[i].rank,
             "%s: tensor %s missing or wrong rank", dtype_name,
             tensors[i].name);
    if (!entry) continue;
    float got[10];
    dm_safetensors_read_f32(entry, got);
    for (size_t k = 0; k < entry->numel; k++) {
      const float want = tensors[i].data[k];
      bool same = isnan(want) ? isnan(got[k])
                              : float_bits(want) == float_bits(got[k]);
      DM_CHECK(same, "%s: %s[%zu] = %g, want %g", dtype_name, tensors[i].name,
               k, (double)got[k], (double)want);
    }
  }
  const char *text = dm_safetensors_metadata(st, "text");
  DM_CHECK(text && strcmp(text, metadata[3]) == 0, "metadata text differs");
  DM_CHECK(dm_safetensors_metadata(st, "absent") == NULL, "absent metadata");
  printf("ok   %s round trip (special values, rank 0/1/2/4, metadata)\n",
         dtype_name);
  dm_safetensors_free(st);
  g_unlink(path);
  g_free(path);
}

/* Only `expected` names are left in the temporary folder. */
static int count_files(void) {
  GDir *dir = g_dir_open(temp_folder, 0, NULL);
  int n = 0;
  while (g_dir_read_name(dir)) n++;
  g_dir_close(dir);
  return n;
}

static void test_write_failures(void) {
  const float a[] = {1, 2};
  const int64_t shape[] = {2}, bad_shape[] = {-1};
  GError *error = NULL;
  char *missing = g_build_filename(temp_folder, "no", "such", "x.safetensors",
                                   NULL);
  DmStTensor tensor = {"a", 1, shape, a};
  DM_CHECK(!dm_safetensors_write(missing, &tensor, 1, NULL, DM_DTYPE_F32,
                                 &error) &&
               g_error_matches(error, DM_ERROR, DM_ERROR_IO),
           "writing into a missing folder must fail with DM_ERROR_IO");
  if (error) printf("ok   missing folder: %s\n", error->message);
  g_clear_error(&error);
  g_free(missing);

  char *path = temp_path("bad.safetensors");
  const DmStTensor duplicate[] = {{"a", 1, shape, a}, {"a", 1, shape, a}};
  DM_CHECK(!dm_safetensors_write(path, duplicate, 2, NULL, DM_DTYPE_F32,
                                 &error) &&
               g_error_matches(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT),
           "duplicate tensor names must be refused");
  g_clear_error(&error);
  const DmStTensor negative[] = {{"a", 1, bad_shape, a}};
  DM_CHECK(!dm_safetensors_write(path, negative, 1, NULL, DM_DTYPE_F32,
                                 &error), "negative shape must be refused");
  g_clear_error(&error);
  const char *bad_metadata[] = {"key", "\xff\xfe", NULL};
  DM_CHECK(!dm_safetensors_write(path, &tensor, 1, bad_metadata, DM_DTYPE_F32,
                                 &error), "non-UTF-8 metadata must be refused");
  g_clear_error(&error);
  DM_CHECK(!g_file_test(path, G_FILE_TEST_EXISTS),
           "a failed write left '%s'", path);
  DM_CHECK(count_files() == 0, "a failed write left %d files", count_files());
  printf("ok   failed writes leave no file\n");
  g_free(path);
}

/* ---- corrupt inputs ---------------------------------------------------- */

typedef struct {
  const char *label;
  GByteArray *(*build)(void);
  int code;           /* expected DmErrorCode */
  const char *needle; /* must occur in the message (or NULL) */
} CorruptCase;

#define HDR(body) make_file(body, NULL, 64)

static GByteArray *c_empty(void) { return g_byte_array_new(); }
static GByteArray *c_truncated(void) {
  GByteArray *b = make_raw(10, "");
  g_byte_array_set_size(b, 5);
  return b;
}
static GByteArray *c_length_beyond(void) { return make_raw(1000, "{}"); }
static GByteArray *c_length_huge(void) {
  return make_raw((uint64_t)1 << 63, "{}");
}
static GByteArray *c_length_max(void) { return make_raw(UINT64_MAX, "{}"); }
static GByteArray *c_not_json(void) { return HDR("this is not json"); }
static GByteArray *c_not_object(void) { return HDR("[1, 2, 3]"); }
static GByteArray *c_blank_header(void) { return HDR("    "); }
static GByteArray *c_truncated_json(void) { return HDR("{\"a\": {\"dtype\""); }
static GByteArray *c_entry_not_object(void) { return HDR("{\"a\": 5}"); }
static GByteArray *c_no_dtype(void) {
  return HDR("{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}");
}
static GByteArray *c_dtype_i64(void) {
  return HDR("{\"a\":{\"dtype\":\"I64\",\"shape\":[1],"
             "\"data_offsets\":[0,8]}}");
}
static GByteArray *c_dtype_number(void) {
  return HDR("{\"a\":{\"dtype\":32,\"shape\":[1],\"data_offsets\":[0,4]}}");
}
static GByteArray *c_shape_negative(void) {
  return HDR("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],"
             "\"data_offsets\":[0,4]}}");
}
static GByteArray *c_shape_float(void) {
  return HDR("{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],"
             "\"data_offsets\":[0,4]}}");
}
static GByteArray *c_shape_rank9(void) {
  return HDR("{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],"
             "\"data_offsets\":[0,4]}}");
}
static GByteArray *c_numel_overflow(void) {
  return HDR("{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],"
             "\"data_offsets\":[0,0]}}");
}
static GByteArray *c_bytes_overflow(void) {
  return HDR("{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904],"
             "\"data_offsets\":[0,0]}}");
}
static GByteArray *c_offsets_beyond(void) {
  return HDR("{\"a\":{\"dtype\":\"F32\",\"shape\":[100],"
             "\"data_offsets\":[0,400]}}");
}
static GByteArray *c_offsets_reversed(void) {
  return HDR("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],"
             "\"data_offsets\":[8,4]}}");
}
static GByteArray *c_offsets_negative(void) {
  return HDR("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],"
             "\"data_offsets\":[-4,0]}}");
}
static GByteArray *c_offsets_huge(void) {
  return HDR("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],"
             "\"data_offsets\":[18446744073709551612,18446744073709551616]}}");
}
static GByteArray *c_offsets_three(void) {
  return HDR("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],"
             "\"data_offsets\":[0,4,8]}}");
}
static GByteArray *c_size_mismatch(void) {
  return HDR("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],"
             "\"data_offsets\":[0,4]}}");
}
static GByteArray *c_overlap(void) {
  return HDR("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
             "\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}");
}
static GByteArray *c_duplicate(void) {
  return HDR("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
             "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}");
}
static GByteArray *c_metadata_number(void) {
  return HDR("{\"__metadata__\":{\"format\":1}}");
}
static GByteArray *c_metadata_array(void) {
  return HDR("{\"__metadata__\":[\"format\",\"pt\"]}");
}
static GByteArray *c_bad_utf8(void) { return HDR("{\"\xff\xfe\":1}"); }
static GByteArray *c_nul_in_header(void) {
  GByteArray *b = make_raw(4, "{\"\"}");
  b->data[10] = 0;
  return b;
}
static GByteArray *c_deep_nesting(void) {
  GString *deep = g_string_new("{\"a\":");
  for (int i = 0; i < 100000; i++) g_string_append_c(deep, '[');
  for (int i = 0; i < 100000; i++) g_string_append_c(deep, ']');
  g_string_append_c(deep, '}');
  GByteArray *b = HDR(deep->str);
  g_string_free(deep, TRUE);
  return b;
}
static GByteArray *c_single_quotes(void) {
  return HDR("{'a':{'dtype':'F32','shape':[1],'data_offsets':[0,4]}}");
}

static const CorruptCase corrupt_cases[] = {
    {"empty file", c_empty, DM_ERROR_FORMAT, "too short"},
    {"truncated length", c_truncated, DM_ERROR_FORMAT, "too short"},
    {"header length beyond file", c_length_beyond, DM_ERROR_FORMAT, "1000"},
    {"header length 2^63", c_length_huge, DM_ERROR_FORMAT, "header length"},
    {"header length 2^64-1", c_length_max, DM_ERROR_FORMAT, "header length"},
    {"not JSON", c_not_json, DM_ERROR_FORMAT, NULL},
    {"JSON array", c_not_object, DM_ERROR_FORMAT, "not an object"},
    {"blank header", c_blank_header, DM_ERROR_FORMAT, "not an object"},
    {"truncated JSON", c_truncated_json, DM_ERROR_FORMAT, NULL},
    {"entry not an object", c_entry_not_object, DM_ERROR_FORMAT, "'a'"},
    {"no dtype", c_no_dtype, DM_ERROR_FORMAT, "'a'"},
    {"dtype I64", c_dtype_i64, DM_ERROR_UNSUPPORTED, "'a' has dtype I64"},
    {"dtype a number", c_dtype_number, DM_ERROR_FORMAT, "'a'"},
    {"negative dimension", c_shape_negative, DM_ERROR_FORMAT, "'a'"},
    {"float dimension", c_shape_float, DM_ERROR_FORMAT, "'a'"},
    {"rank 9", c_shape_rank9, DM_ERROR_FORMAT, "rank 9"},
    {"numel overflow [2^62, 4]", c_numel_overflow, DM_ERROR_FORMAT,
     "overflow"},
    {"bytes overflow [2^62] F32", c_bytes_overflow, DM_ERROR_FORMAT,
     "overflows"},
    {"offsets beyond data", c_offsets_beyond, DM_ERROR_FORMAT, "outside"},
    {"offsets reversed", c_offsets_reversed, DM_ERROR_FORMAT, "outside"},
    {"negative offset", c_offsets_negative, DM_ERROR_FORMAT, "data_offsets"},
    {"offsets >= 2^64", c_offsets_huge, DM_ERROR_FORMAT, "data_offsets"},
    {"three offsets", c_offsets_three, DM_ERROR_FORMAT, "data_offsets"},
    {"size mismatch", c_size_mismatch, DM_ERROR_FORMAT, "do not match"},
    {"overlapping tensors", c_overlap, DM_ERROR_FORMAT, "overlap"},
    {"duplicate name", c_duplicate, DM_ERROR_FORMAT, "duplicate key \"a\""},
    {"metadata value a number", c_metadata_number, DM_ERROR_FORMAT,
     "\"format\""},
    {"metadata an array", c_metadata_array, DM_ERROR_FORMAT, "__metadata__"},
    {"invalid UTF-8", c_bad_utf8, DM_ERROR_FORMAT, "UTF-8"},
    {"NUL in header", c_nul_in_header, DM_ERROR_FORMAT, NULL},
    {"100000 nested arrays", c_deep_nesting, DM_ERROR_FORMAT, "deeper"},
    {"single quotes", c_single_quotes, DM_ERROR_FORMAT, NULL},
};

static void test_corrupt_inputs(void) {
  for (size_t i = 0; i < G_N_ELEMENTS(corrupt_cases); i++) {
    const CorruptCase *c = &corrupt_cases[i];
    GByteArray *bytes = c->build();
    GError *error = NULL;
    DmSafetensors *st = dm_safetensors_parse(bytes->len ? bytes->data
                                                        : (guint8 *)"",
                                             bytes->len, "corrupt.st",
                                             &error);
    bool ok = !st && error && error->domain == DM_ERROR &&
              error->code == c->code && strlen(error->message) > 0 &&
              strstr(error->message, "corrupt.st") &&
              (!c->needle || strstr(error->message, c->needle));
    DM_CHECK(ok, "corrupt case '%s': %s", c->label,
             error ? error->message : "no error");
    printf("%s %-28s -> %s\n", ok ? "ok  " : "FAIL", c->label,
           error ? error->message : "(accepted)");
    dm_safetensors_free(st);
    g_clear_error(&error);
    g_byte_array_unref(bytes);
  }
}

/* The same bytes through a file: open maps it and gives the same errors. */
static void test_open_errors(void) {
  GError *error = NULL;
  char *path = temp_path("does-not-exist.safetensors");
  DM_CHECK(!dm_safetensors_open(path, &error) &&
               g_error_matches(error, DM_ERROR, DM_ERROR_IO) &&
               strstr(error->message, path),
           "opening a missing file must give DM_ERROR_IO naming it");
  g_clear_error(&error);
  DM_CHECK_OK(g_file_set_contents(path, "", 0, &error), error);
  DM_CHECK(!dm_safetensors_open(path, &error) &&
               g_error_matches(error, DM_ERROR, DM_ERROR_FORMAT),
           "an empty file must give DM_ERROR_FORMAT");
  g_clear_error(&error);
  g_unlink(path);
  g_free(path);
  printf("ok   open: missing and empty files\n");
}

/* A valid file with a hole between tensors and trailing header spaces, as
 * other writers may produce: accepted. */
static void test_lenient_valid(void) {
  const float values[4] = {1, 2, 3, 4};
  GByteArray *bytes = make_file(
      "{\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]},"
      "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}   ",
      values, 16);
  GError *error = NULL;
  DmSafetensors *st = dm_safetensors_parse(bytes->data, bytes->len, "ok",
                                           &error);
  DM_CHECK_OK(st, error);
  float got[2];
  dm_safetensors_read_f32(dm_safetensors_find(st, "b"), got);
  DM_CHECK(got[0] == 3 && got[1] == 4, "tensor b read wrongly");
  DM_CHECK(dm_safetensors_entry(st, 2) == NULL, "entry beyond count");
  dm_safetensors_free(st);
  g_byte_array_unref(bytes);
  printf("ok   unsorted offsets, hole and padding accepted\n");
}

/* dm_dtype_to_f32's array conversions (vectorised, split over threads)
 * give the scalar conversions' bits for every pattern, NaN payloads
 * included, at every offset of a vector. */
static void test_array_conversions(void) {
  const size_t count = 65536 * 4 + 5;
  uint16_t *patterns = g_new(uint16_t, count);
  float *out = g_new(float, count);
  for (size_t i = 0; i < count; i++) patterns[i] = (uint16_t)(i * 40503u);
  const DmDtype dtypes[2] = {DM_DTYPE_F16, DM_DTYPE_BF16};
  for (int d = 0; d < 2; d++) {
    dm_dtype_to_f32(out, patterns, dtypes[d], count);
    size_t wrong = 0;
    for (size_t i = 0; i < count; i++) {
      const float want = dtypes[d] == DM_DTYPE_F16
                             ? dm_f16_to_f32(patterns[i])
                             : dm_bf16_to_f32(patterns[i]);
      wrong += float_bits(out[i]) != float_bits(want);
    }
    DM_CHECK(wrong == 0, "%zu %s array conversions differ", wrong,
             d ? "BF16" : "F16");
  }
  printf("ok   F16 and BF16 array conversions of %zu values match the "
         "scalar ones\n", count);
  g_free(patterns);
  g_free(out);
}

/* dm_f32_to_dtype's array conversions round as the scalar ones on every
 * exponent, both signs, with mantissas at and around the halfway points
 * of both formats and random ones; NaNs with payloads, infinities. */
static void test_array_rounding(void) {
  static const uint32_t mantissas[] = {
      0x000000, 0x000001, 0x000fff, 0x001000, 0x001001, 0x002000, 0x003000,
      0x7fe000, 0x7fefff, 0x7ff000, 0x7fffff, 0x400000, 0x007fff, 0x008000,
      0x008001, 0x018000, 0x7f8000};
  const size_t random = 64, per = G_N_ELEMENTS(mantissas) + random;
  const size_t count = 2 * 256 * per;
  uint32_t *bits = g_new(uint32_t, count);
  float *in = g_new(float, count);
  uint16_t *got = g_new(uint16_t, count);
  size_t i = 0;
  for (uint32_t sign = 0; sign < 2; sign++)
    for (uint32_t exponent = 0; exponent < 256; exponent++)
      for (size_t m = 0; m < per; m++, i++) {
        const uint32_t mantissa =
            m < G_N_ELEMENTS(mantissas)
                ? mantissas[m]
                : (uint32_t)(i * 2654435761u) & 0x7fffffu;
        bits[i] = sign << 31 | exponent << 23 | mantissa;
        memcpy(&in[i], &bits[i], sizeof(float));
      }
  const DmDtype dtypes[2] = {DM_DTYPE_F16, DM_DTYPE_BF16};
  for (int d = 0; d < 2; d++) {
    dm_f32_to_dtype(got, in, dtypes[d], count);
    size_t wrong = 0;
    for (size_t j = 0; j < count; j++) {
      const uint16_t want = dtypes[d] == DM_DTYPE_F16 ? dm_f32_to_f16(in[j])
                                                      : dm_f32_to_bf16(in[j]);
      if (got[j] != want && wrong++ < 3)
        fprintf(stderr, "%s of 0x%08x: 0x%04x, want 0x%04x\n",
                d ? "BF16" : "F16", bits[j], got[j], want);
    }
    DM_CHECK(wrong == 0, "%zu %s array roundings differ", wrong,
             d ? "BF16" : "F16");
  }
  printf("ok   F16 and BF16 array roundings of %zu values match the scalar "
         "ones\n", count);
  g_free(bits);
  g_free(in);
  g_free(got);
}

int main(void) {
  GError *error = NULL;
  temp_folder = g_dir_make_tmp("dm-test-safetensors-XXXXXX", &error);
  DM_CHECK_OK(temp_folder, error);
  test_f16_all_patterns();
  test_bf16_all_patterns();
  test_array_conversions();
  test_array_rounding();
  test_rounding_cases();
  test_f16_nearest();
  test_round_trip(DM_DTYPE_F32, "F32");
  test_round_trip(DM_DTYPE_F16, "F16");
  test_round_trip(DM_DTYPE_BF16, "BF16");
  test_write_failures();
  test_corrupt_inputs();
  test_open_errors();
  test_lenient_valid();
  g_rmdir(temp_folder);
  g_free(temp_folder);
  return dm_test_finish();
}
