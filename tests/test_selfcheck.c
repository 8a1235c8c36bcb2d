/*
 * test_selfcheck.c - determinism of a whole faulty run, in process: the
 * same seed gives the same fingerprint twice (with and without a trace
 * sink, with tie shuffling); different seeds give different fingerprints;
 * every seed of a small range passes its checks.
 */
#include <glib.h>
#include <jansson.h>
#include <stdio.h>

#include "sim/selfcheck.h"

static SimSelfcheckResult
run(uint64_t seed, gboolean shuffle, FILE *sink)
{
	SimSelfcheckResult r;
	sim_selfcheck_run(&(SimSelfcheckOptions){ seed, shuffle, sink }, &r);
	g_assert_true(r.ok);
	return r;
}

static void
test_same_seed_same_fingerprint(void)
{
	SimSelfcheckResult a = run(1, FALSE, NULL);
	SimSelfcheckResult b = run(1, FALSE, NULL);
	g_assert_cmpuint(a.fingerprint, ==, b.fingerprint);
	g_assert_cmpuint(a.trace_events, ==, b.trace_events);
	g_assert_cmpuint(a.bytes_echoed, ==, b.bytes_echoed);
	/* rendering the trace must not change what is hashed */
	FILE *sink = tmpfile();
	SimSelfcheckResult c = run(1, FALSE, sink);
	g_assert_cmpuint(a.fingerprint, ==, c.fingerprint);
	g_assert_cmpint(ftell(sink), >, 0);
	fclose(sink);
	SimSelfcheckResult d = run(1, TRUE, NULL);
	SimSelfcheckResult e = run(1, TRUE, NULL);
	g_assert_cmpuint(d.fingerprint, ==, e.fingerprint);
}

static void
test_seeds_differ_and_pass(void)
{
	GHashTable *seen = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
	guint torn = 0;
	for (uint64_t seed = 1; seed <= 8; seed++) {
		SimSelfcheckResult r = run(seed, FALSE, NULL);
		g_assert_cmpuint(r.crashes, ==, 1);
		g_assert_cmpuint(r.connections, >=, 2);
		torn += r.torn_records;
		gint64 *key = g_new(gint64, 1);
		*key = (gint64)r.fingerprint;
		g_assert_false(g_hash_table_contains(seen, key));
		g_hash_table_add(seen, key);
	}
	/* torn writes are enabled at 50 %: some seed must have met one */
	g_assert_cmpuint(torn, >, 0);
	g_hash_table_destroy(seen);
}

int
main(int argc, char **argv)
{
	json_object_seed(1);
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/sim/selfcheck/same-seed-same-fingerprint", test_same_seed_same_fingerprint);
	g_test_add_func("/sim/selfcheck/seeds-differ-and-pass", test_seeds_differ_and_pass);
	return g_test_run();
}
