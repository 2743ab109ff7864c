/* gimp-diffusion core: counter-based random numbers (internal).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2,
 * 3", SC 2011). A deviate is a pure function of (seed, stream, index): the
 * key is the 64-bit seed, the 128-bit counter is (index, stream). So the same
 * seed gives the same numbers whatever the thread count or the order in which
 * elements are visited. */
#ifndef DM_RNG_H
#define DM_RNG_H

#include <stddef.h>
#include <stdint.h>

/* The raw generator: out = Philox4x32-10(counter) under the key (seed low
 * word, seed high word), as Random123 defines it (tested on its known-answer
 * vectors). */
void dm_philox4x32_10(uint32_t out[4], const uint32_t counter[4],
                      uint64_t seed);

/* out[i] = uniform in [low, high) for element index (offset + i). */
void dm_rng_uniform_fill(float *out, size_t count, float low, float high,
                         uint64_t seed, uint64_t stream, uint64_t offset);
/* out[i] = standard normal deviate for element index (offset + i). */
void dm_rng_normal_fill(float *out, size_t count, uint64_t seed,
                        uint64_t stream, uint64_t offset);

#endif /* DM_RNG_H */
