/* gimp-diffusion core: Philox4x32-10 counter-based generator.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include <math.h>

#include "tensor/base.h"
#include "tensor/rng.h"

typedef struct { uint32_t v[4]; } Philox4;

/* The Philox4x32 round function applied 10 times (Salmon et al. 2011, §4),
 * key = (low, high) 32 bits of the seed. */
static Philox4 philox4x32_10(Philox4 counter, uint64_t seed) {
  const uint32_t mul0 = 0xD2511F53u, mul1 = 0xCD9E8D57u;
  const uint32_t weyl0 = 0x9E3779B9u, weyl1 = 0xBB67AE85u;
  uint32_t key0 = (uint32_t)seed, key1 = (uint32_t)(seed >> 32);
  for (int round = 0; round < 10; round++) {
    uint64_t p0 = (uint64_t)mul0 * counter.v[0];
    uint64_t p1 = (uint64_t)mul1 * counter.v[2];
    Philox4 next = {{(uint32_t)(p1 >> 32) ^ counter.v[1] ^ key0, (uint32_t)p1,
                     (uint32_t)(p0 >> 32) ^ counter.v[3] ^ key1,
                     (uint32_t)p0}};
    counter = next;
    key0 += weyl0;
    key1 += weyl1;
  }
  return counter;
}

void dm_philox4x32_10(uint32_t out[4], const uint32_t counter[4],
                      uint64_t seed) {
  Philox4 block = {{counter[0], counter[1], counter[2], counter[3]}};
  block = philox4x32_10(block, seed);
  for (int i = 0; i < 4; i++) out[i] = block.v[i];
}

/* Four 32-bit words for block `block` (four elements per block). */
static Philox4 random_block(uint64_t seed, uint64_t stream, uint64_t block) {
  Philox4 counter = {{(uint32_t)block, (uint32_t)(block >> 32),
                      (uint32_t)stream, (uint32_t)(stream >> 32)}};
  return philox4x32_10(counter, seed);
}

/* A uniform in the open interval (0, 1) from 32 random bits. */
static double unit_open(uint32_t bits) {
  return ((double)bits + 0.5) * (1.0 / 4294967296.0);
}

/* Blocks per batch of uniform_batch. */
#define BATCH 16

/* out (4 BATCH) = the uniforms of blocks first .. first + BATCH - 1: the
 * same rounds as philox4x32_10, on BATCH counters side by side so that the
 * loops vectorise. */
DM_VECTOR_CLONES
static void uniform_batch(float *out, double low, double span, uint64_t seed,
                          uint64_t stream, uint64_t first) {
  const uint32_t mul0 = 0xD2511F53u, mul1 = 0xCD9E8D57u;
  uint32_t c0[BATCH], c1[BATCH], c2[BATCH], c3[BATCH];
  for (int b = 0; b < BATCH; b++) {
    c0[b] = (uint32_t)(first + (uint64_t)b);
    c1[b] = (uint32_t)((first + (uint64_t)b) >> 32);
    c2[b] = (uint32_t)stream;
    c3[b] = (uint32_t)(stream >> 32);
  }
  uint32_t key0 = (uint32_t)seed, key1 = (uint32_t)(seed >> 32);
  for (int round = 0; round < 10; round++) {
    for (int b = 0; b < BATCH; b++) {
      const uint64_t p0 = (uint64_t)mul0 * c0[b];
      const uint64_t p1 = (uint64_t)mul1 * c2[b];
      c0[b] = (uint32_t)(p1 >> 32) ^ c1[b] ^ key0;
      c1[b] = (uint32_t)p1;
      c2[b] = (uint32_t)(p0 >> 32) ^ c3[b] ^ key1;
      c3[b] = (uint32_t)p0;
    }
    key0 += 0x9E3779B9u;
    key1 += 0xBB67AE85u;
  }
  const uint32_t *words[4] = {c0, c1, c2, c3};
  for (int w = 0; w < 4; w++)
    for (int b = 0; b < BATCH; b++)
      out[4 * b + w] = (float)(low + span * unit_open(words[w][b]));
}

void dm_rng_uniform_fill(float *out, size_t count, float low, float high,
                         uint64_t seed, uint64_t stream, uint64_t offset) {
  /* One Philox block gives the four elements that share it; whole batches
   * of blocks where they fit. */
  for (size_t i = 0; i < count;) {
    const uint64_t index = offset + i;
    if ((index & 3) == 0 && count - i >= 4 * BATCH) {
      uniform_batch(out + i, low, (double)(high - low), seed, stream,
                    index >> 2);
      i += 4 * BATCH;
      continue;
    }
    const Philox4 bits = random_block(seed, stream, index >> 2);
    for (uint64_t word = index & 3; word < 4 && i < count; word++, i++)
      out[i] = (float)(low + (high - low) * unit_open(bits.v[word]));
  }
}

/* Elements 2k and 2k+1 share Philox block k, taking words (0, 1) and (2, 3):
 * every element owns two words, so no deviate depends on another's use. */
void dm_rng_normal_fill(float *out, size_t count, uint64_t seed,
                        uint64_t stream, uint64_t offset) {
  for (size_t i = 0; i < count; i++) {
    uint64_t index = offset + i;
    Philox4 bits = random_block(seed, stream, index >> 1);
    uint32_t word_radius = bits.v[(index & 1) * 2];
    uint32_t word_angle = bits.v[(index & 1) * 2 + 1];
    /* Box-Muller: sqrt(-2 ln u1) cos(2 pi u2) is N(0, 1). */
    double radius = sqrt(-2.0 * log(unit_open(word_radius)));
    out[i] = (float)(radius * cos(2.0 * M_PI * unit_open(word_angle)));
  }
}
