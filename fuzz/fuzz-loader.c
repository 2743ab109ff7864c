/* libFuzzer target for everything that reads untrusted model files:
 * the safetensors parser, the dtype conversions, config.json and
 * scheduler_config.json and a VAE's config.json parsing, and building a
 * model from a single-file model and a VAE from a file's tensors (names
 * and shapes against the parameter tables).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * Build: meson setup -Dfuzz=true with CC=clang (see scripts/fuzz-loader).
 * Besides "no crash, no leak, no undefined behaviour, no GLib critical" it
 * checks two properties and aborts when they fail: a config that parses
 * writes a config.json that parses back to the same text, and a model built
 * from a file holds exactly the file's parameter count. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-glib.h"
#include "model/model.h"
#include "model/model-files.h"
#include "model/safetensors.h"
#include "model/vae-files.h"
#include "fuzz-vae.h"

/* Reads every tensor: sizes come from the input, so they are bounded. */
static void convert_all(const DmSafetensors *st) {
  for (int32_t i = 0; i < dm_safetensors_count(st); i++) {
    const DmStEntry *entry = dm_safetensors_entry(st, i);
    float *values = g_new(float, entry->numel > 0 ? entry->numel : 1);
    dm_safetensors_read_f32(entry, values);
    g_free(values);
  }
}

/* to_json(from_json(text)) must parse back to itself. */
static void check_config_round_trip(const DmUnetConfig *config) {
  char *text = dm_unet_config_to_json(config);
  DmUnetConfig again;
  GError *error = NULL;
  if (!dm_unet_config_from_json(&again, text, &error)) {
    fprintf(stderr, "written config does not parse: %s\n%s\n",
            error->message, text);
    abort();
  }
  char *text_again = dm_unet_config_to_json(&again);
  if (strcmp(text, text_again) != 0) {
    fprintf(stderr, "config round trip differs:\n%s\n%s\n", text, text_again);
    abort();
  }
  g_free(text_again);
  g_free(text);
}

/* The tensors as the weights of a small VAE. */
static void fuzz_vae_tensors(const DmSafetensors *st) {
  DmVaeConfig config;
  fuzz_vae_config(&config);
  DmVae vae;
  GError *error = NULL;
  if (dm_vae_from_safetensors(&vae, &config, st, "fuzz", &error))
    dm_vae_clear(&vae);
  g_clear_error(&error);
}

static void fuzz_single_file(const uint8_t *data, size_t size) {
  GError *error = NULL;
  DmSafetensors *st = dm_safetensors_parse(data, size, "fuzz", &error);
  if (!st) {
    g_clear_error(&error);
    return;
  }
  convert_all(st);
  fuzz_vae_tensors(st);
  DmModel *model = dm_model_from_safetensors(st, "fuzz", &error);
  if (model) {
    int64_t file_floats = 0;
    for (int32_t i = 0; i < dm_safetensors_count(st); i++)
      file_floats += (int64_t)dm_safetensors_entry(st, i)->numel;
    if (dm_model_param_count(model) != file_floats) abort();
    check_config_round_trip(dm_model_config(model));
    dm_model_free(model);
  }
  g_clear_error(&error);
  dm_safetensors_free(st);
}

/* The input as a config.json and a scheduler_config.json text. */
static void fuzz_json(const uint8_t *data, size_t size) {
  char *text = g_strndup((const char *)data, size);
  GError *error = NULL;
  DmUnetConfig config;
  if (dm_unet_config_from_json(&config, text, &error))
    check_config_round_trip(&config);
  g_clear_error(&error);
  DmScheduleConfig schedule;
  dm_schedule_config_default(&schedule);
  if (dm_schedule_config_from_json(&schedule, text, &error))
    g_free(dm_schedule_config_to_json(&schedule));
  g_clear_error(&error);
  DmVaeConfig vae_config;
  dm_vae_config_from_json(&vae_config, text, "fuzz", &error);
  g_clear_error(&error);
  g_free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  dm_fuzz_abort_on_glib_warnings();
  return 0;
}

/* Both readers see every input: each refuses the other's format quickly. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_single_file(data, size);
  fuzz_json(data, size);
  return 0;
}
