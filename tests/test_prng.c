/*
 * test_prng.c - the PRNG's known answers and basic contracts.
 */
#include <glib.h>

#include "proto/prng.h"

/* splitmix64 from seed 1234567: the published sequence (Rosetta Code,
 * "Pseudo-random numbers/Splitmix64"). */
static void
test_splitmix_known_answers(void)
{
	static const uint64_t expected[] = {
		6457827717110365317ULL, 3203168211198807973ULL, 9817491932198370423ULL,
		4593380528125082431ULL, 16408922859458223821ULL,
	};
	uint64_t state = 1234567;
	for (gsize k = 0; k < G_N_ELEMENTS(expected); k++)
		g_assert_cmpuint(prng_splitmix64(&state), ==, expected[k]);
}

/* xoshiro256** from the state {1, 2, 3, 4}: the reference outputs used by
 * the authors' test vectors (and rand_xoshiro's reference test). */
static void
test_xoshiro_known_answers(void)
{
	static const uint64_t expected[] = {
		11520ULL, 0ULL, 1509978240ULL, 1215971899390074240ULL,
		1216172134540287360ULL, 607988272756665600ULL,
	};
	Prng prng = { { 1, 2, 3, 4 } };
	for (gsize k = 0; k < G_N_ELEMENTS(expected); k++)
		g_assert_cmpuint(prng_next(&prng), ==, expected[k]);
}

/* Seeding is splitmix64 expansion: pin the first outputs for seed 1 so a
 * change to seeding (which would change every run's draws) fails here. */
static void
test_seeded_known_answers(void)
{
	static const uint64_t expected[] = {
		0xb3f2af6d0fc710c5ULL, 0x853b559647364ceaULL, 0x92f89756082a4514ULL,
	};
	Prng prng;
	prng_seed(&prng, 1);
	for (gsize k = 0; k < G_N_ELEMENTS(expected); k++)
		g_assert_cmpuint(prng_next(&prng), ==, expected[k]);
}

/* prng_below stays in range and hits every value of a small range about
 * equally (a loose chi-square bound: this checks the method, not luck). */
static void
test_below_uniform(void)
{
	Prng prng;
	prng_seed(&prng, 7);
	guint counts[10] = { 0 };
	const guint draws = 100000;
	for (guint k = 0; k < draws; k++) {
		uint64_t v = prng_below(&prng, 10);
		g_assert_cmpuint(v, <, 10);
		counts[v]++;
	}
	double chi2 = 0;
	for (guint k = 0; k < 10; k++) {
		double d = (double)counts[k] - draws / 10.0;
		chi2 += d * d / (draws / 10.0);
	}
	g_assert_cmpfloat(chi2, <, 40.0); /* 9 d.o.f.: p < 1e-5 */
	g_assert_cmpuint(prng_below(&prng, 1), ==, 0);
}

static void
test_range_inclusive(void)
{
	Prng prng;
	prng_seed(&prng, 3);
	gboolean seen_lo = FALSE, seen_hi = FALSE;
	for (int k = 0; k < 1000; k++) {
		int64_t v = prng_range(&prng, -2, 2);
		g_assert_cmpint(v, >=, -2);
		g_assert_cmpint(v, <=, 2);
		seen_lo |= v == -2;
		seen_hi |= v == 2;
	}
	g_assert_true(seen_lo && seen_hi);
	g_assert_cmpint(prng_range(&prng, 5, 5), ==, 5);
	double u = prng_unit(&prng);
	g_assert_cmpfloat(u, >=, 0.0);
	g_assert_cmpfloat(u, <, 1.0);
	g_assert_false(prng_chance(&prng, 0.0));
	g_assert_true(prng_chance(&prng, 1.0));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/proto/prng/splitmix-known-answers", test_splitmix_known_answers);
	g_test_add_func("/proto/prng/xoshiro-known-answers", test_xoshiro_known_answers);
	g_test_add_func("/proto/prng/seeded-known-answers", test_seeded_known_answers);
	g_test_add_func("/proto/prng/below-uniform", test_below_uniform);
	g_test_add_func("/proto/prng/range-inclusive", test_range_inclusive);
	return g_test_run();
}
