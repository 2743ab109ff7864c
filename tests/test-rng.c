/* The counter-based generator: Random123's known-answer vectors for
 * Philox4x32-10, independence from how a fill is split, and the moments of
 * the normal deviates with tolerances from the sample size.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include "dm-test.h"
#include "tensor/rng.h"

/* Random123 kat_vectors, "philox4x32 10": counter, key (k0, k1), output. */
static void test_known_answers(void) {
  const struct {
    uint32_t counter[4];
    uint32_t key[2];
    uint32_t want[4];
  } cases[] = {
      {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
      {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
       {0xffffffff, 0xffffffff},
       {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
      {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
       {0xa4093822, 0x299f31d0},
       {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    uint32_t got[4];
    const uint64_t seed = (uint64_t)cases[i].key[1] << 32 | cases[i].key[0];
    dm_philox4x32_10(got, cases[i].counter, seed);
    const bool ok = memcmp(got, cases[i].want, sizeof got) == 0;
    DM_CHECK(ok, "philox KAT %zu: got %08x %08x %08x %08x", i, got[0], got[1],
             got[2], got[3]);
    printf("%s philox4x32-10 known-answer vector %zu\n", ok ? "ok  " : "FAIL", i);
  }
}

/* A fill split at any offset equals the whole fill: deviates depend only on
 * (seed, stream, index), never on the order or grouping of the calls. */
static void test_split_invariance(void) {
  enum { N = 1000 };
  float whole[N], parts[N];
  dm_rng_normal_fill(whole, N, 99, 3, 500);
  dm_rng_normal_fill(parts, 333, 99, 3, 500);
  dm_rng_normal_fill(parts + 333, 1, 99, 3, 833);
  dm_rng_normal_fill(parts + 334, N - 334, 99, 3, 834);
  DM_CHECK(memcmp(whole, parts, sizeof whole) == 0,
           "normal fill depends on how it is split");
  /* Uniform fills take four elements per Philox block: splits that cut
   * blocks (offsets 501, 834) must not change them either. */
  dm_rng_uniform_fill(whole, N, -1.0f, 1.0f, 99, 3, 501);
  dm_rng_uniform_fill(parts, 333, -1.0f, 1.0f, 99, 3, 501);
  dm_rng_uniform_fill(parts + 333, 1, -1.0f, 1.0f, 99, 3, 834);
  dm_rng_uniform_fill(parts + 334, N - 334, -1.0f, 1.0f, 99, 3, 835);
  DM_CHECK(memcmp(whole, parts, sizeof whole) == 0,
           "uniform fill depends on how it is split");
  float other_stream[N];
  dm_rng_normal_fill(other_stream, N, 99, 4, 500);
  DM_CHECK(memcmp(whole, other_stream, sizeof whole) != 0,
           "streams must differ");
  printf("ok   fills are independent of splitting; streams differ\n");
}

/* Mean 0, variance 1, third moment 0, fourth 3 for N(0,1); uniform mean and
 * variance. Tolerances: 5 standard errors of each sample moment. */
static void test_moments(void) {
  const size_t n = 1 << 20;
  float *x = g_new(float, n);
  dm_rng_normal_fill(x, n, 2026, 0, 0);
  double m[5] = {0};
  for (size_t i = 0; i < n; i++) {
    const double v = x[i];
    m[1] += v, m[2] += v * v, m[3] += v * v * v, m[4] += v * v * v * v;
  }
  for (int k = 1; k <= 4; k++) m[k] /= (double)n;
  /* standard errors: sqrt(Var[x^k] / n), Var = E[x^2k] - E[x^k]^2:
   * k=1: 1, k=2: 3-1=2, k=3: 15, k=4: 105-9=96 */
  const double se[5] = {0, sqrt(1.0 / n), sqrt(2.0 / n), sqrt(15.0 / n), sqrt(96.0 / n)};
  const double want[5] = {0, 0, 1, 0, 3};
  for (int k = 1; k <= 4; k++) {
    const bool ok = fabs(m[k] - want[k]) <= 5 * se[k];
    DM_CHECK(ok, "normal moment %d = %f, want %f +- %f", k, m[k], want[k], 5 * se[k]);
    printf("%s normal E[x^%d] = %.5f (want %.0f +- %.5f)\n", ok ? "ok  " : "FAIL",
           k, m[k], want[k], 5 * se[k]);
  }
  dm_rng_uniform_fill(x, n, -1.0f, 3.0f, 2026, 1, 0);
  double mean = 0, var = 0;
  for (size_t i = 0; i < n; i++) mean += x[i];
  mean /= (double)n;
  for (size_t i = 0; i < n; i++) var += (x[i] - mean) * (x[i] - mean);
  var /= (double)n;
  /* U(-1, 3): mean 1, variance 16/12; se(mean) = sqrt(4/3 / n),
   * se(var) = sqrt((E[(x-m)^4] - var^2) / n) = sqrt((16/5 - 16/9) / n). */
  DM_CHECK(fabs(mean - 1.0) <= 5 * sqrt(4.0 / 3.0 / n), "uniform mean %f", mean);
  DM_CHECK(fabs(var - 4.0 / 3.0) <= 5 * sqrt((16.0 / 5.0 - 16.0 / 9.0) / n),
           "uniform variance %f", var);
  printf("ok   uniform(-1, 3) mean %.5f variance %.5f\n", mean, var);
  g_free(x);
}

int main(void) {
  test_known_answers();
  test_split_invariance();
  test_moments();
  return dm_test_finish();
}
