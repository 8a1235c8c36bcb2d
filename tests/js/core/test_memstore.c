/*
 * test_memstore.c - the memory store beyond the shared contract
 * (tests/js/store_contract.c runs that): its ring of records across
 * growth and wrap-around, tombstones, the per-subject index, and the
 * different paths of count/load_next/load_last/purge.
 */
#include <glib.h>
#include <string.h>

#include "broker/js/store.h"

static JsStore *
mem_new(void)
{
	JsStoreConfig config = { .stream = "T" };
	return js_memstore_create(&config);
}

static uint64_t
put(JsStore *s, const char *subject, const char *data, int64_t ts)
{
	uint64_t seq = 0;
	g_assert_cmpint(s->ops->store(s, subject, strlen(subject), NULL, 0, data, strlen(data), ts, &seq), ==, JS_STORE_OK);
	return seq;
}

static JsStoreState
state(JsStore *s)
{
	JsStoreState st;
	s->ops->state(s, &st);
	return st;
}

/* Many stores with removals from the front wrap the ring many times;
 * every surviving message loads back with its own subject and data. */
static void
test_ring_wraps(void)
{
	JsStore *s = mem_new();
	for (int k = 1; k <= 1000; k++) {
		char subj[16], data[16];
		g_snprintf(subj, sizeof(subj), "s.%d", k % 7);
		g_snprintf(data, sizeof(data), "d%d", k);
		g_assert_cmpuint(put(s, subj, data, k), ==, (uint64_t)k);
		if (k > 50) /* keep a window of 50 */
			g_assert_cmpint(s->ops->remove(s, (uint64_t)k - 50, false), ==, JS_STORE_OK);
	}
	JsStoreState st = state(s);
	g_assert_cmpuint(st.msgs, ==, 50);
	g_assert_cmpuint(st.first_seq, ==, 951);
	g_assert_cmpuint(st.last_seq, ==, 1000);
	g_assert_cmpint(st.first_ts_ns, ==, 951);
	for (uint64_t seq = 951; seq <= 1000; seq++) {
		JsStoredMsg m;
		g_assert_cmpint(s->ops->load(s, seq, &m), ==, JS_STORE_OK);
		char want[16];
		g_snprintf(want, sizeof(want), "d%" G_GUINT64_FORMAT, seq);
		g_assert_cmpmem(m.data, m.data_len, want, strlen(want));
		g_snprintf(want, sizeof(want), "s.%" G_GUINT64_FORMAT, seq % 7);
		g_assert_cmpmem(m.subject, m.subject_len, want, strlen(want));
	}
	JsStoredMsg m;
	g_assert_cmpint(s->ops->load(s, 950, &m), ==, JS_STORE_DELETED);
	g_assert_cmpint(s->ops->load(s, 1001, &m), ==, JS_STORE_NOT_FOUND);
	g_assert_cmpint(s->ops->load(s, 0, &m), ==, JS_STORE_NOT_FOUND);
	s->ops->destroy_all(s);
}

/* Interior removals are tombstones: counted in num_deleted, skipped by
 * load_next and count; when the head goes, first jumps past them. */
static void
test_tombstones(void)
{
	JsStore *s = mem_new();
	for (int k = 1; k <= 10; k++)
		put(s, k % 2 ? "odd" : "even", "x", k);
	for (uint64_t seq = 2; seq <= 6; seq++)
		g_assert_cmpint(s->ops->remove(s, seq, seq == 3), ==, JS_STORE_OK);
	g_assert_cmpint(s->ops->remove(s, 4, false), ==, JS_STORE_DELETED);
	JsStoreState st = state(s);
	g_assert_cmpuint(st.msgs, ==, 5);
	g_assert_cmpuint(st.num_deleted, ==, 5);
	g_assert_cmpuint(st.first_seq, ==, 1);
	JsStoredMsg m;
	g_assert_cmpint(s->ops->load_next(s, NULL, 2, &m), ==, JS_STORE_OK);
	g_assert_cmpuint(m.seq, ==, 7);
	g_assert_cmpint(s->ops->load_next(s, "even", 2, &m), ==, JS_STORE_OK);
	g_assert_cmpuint(m.seq, ==, 8);
	g_assert_cmpint(s->ops->load_next(s, "*", 9, &m), ==, JS_STORE_OK);
	g_assert_cmpuint(m.seq, ==, 9);
	g_assert_cmpuint(s->ops->count(s, 0, NULL, false), ==, 5);
	g_assert_cmpuint(s->ops->count(s, 3, NULL, false), ==, 4);
	g_assert_cmpuint(s->ops->count(s, 9, NULL, false), ==, 2);
	g_assert_cmpuint(s->ops->count(s, 2, "odd", false), ==, 2);
	g_assert_cmpuint(s->ops->count(s, 1, "*", true), ==, 2);
	g_assert_cmpuint(s->ops->count(s, 10, "*", true), ==, 1);
	/* The head goes: first jumps over the tombstones to 7. */
	g_assert_cmpint(s->ops->remove(s, 1, false), ==, JS_STORE_OK);
	st = state(s);
	g_assert_cmpuint(st.first_seq, ==, 7);
	g_assert_cmpuint(st.num_deleted, ==, 0);
	g_assert_cmpint(st.first_ts_ns, ==, 7);
	s->ops->destroy_all(s);
}

/* A wildcard load_next over few subjects and many records takes the
 * per-subject path; it must agree with a plain walk. */
static void
test_load_next_paths(void)
{
	JsStore *s = mem_new();
	for (int k = 1; k <= 300; k++)
		put(s, k % 100 == 0 ? "rare.x" : "common.y", "x", k);
	JsStoredMsg m;
	g_assert_cmpint(s->ops->load_next(s, "rare.*", 1, &m), ==, JS_STORE_OK);
	g_assert_cmpuint(m.seq, ==, 100);
	g_assert_cmpint(s->ops->load_next(s, "rare.*", 101, &m), ==, JS_STORE_OK);
	g_assert_cmpuint(m.seq, ==, 200);
	g_assert_cmpint(s->ops->load_next(s, "rare.>", 301, &m), ==, JS_STORE_NOT_FOUND);
	g_assert_cmpint(s->ops->load_next(s, "none.*", 1, &m), ==, JS_STORE_NOT_FOUND);
	g_assert_cmpint(s->ops->load_last(s, "*.y", &m), ==, JS_STORE_OK);
	g_assert_cmpuint(m.seq, ==, 299);
	g_assert_cmpint(s->ops->load_last(s, "rare.x", &m), ==, JS_STORE_OK);
	g_assert_cmpuint(m.seq, ==, 300);
	g_assert_cmpint(s->ops->load_last(s, NULL, &m), ==, JS_STORE_OK);
	g_assert_cmpuint(m.seq, ==, 300);
	g_assert_cmpuint(s->ops->subject_first(s, "rare.x"), ==, 100);
	g_assert_cmpuint(s->ops->subject_count(s, "common.y"), ==, 297);
	s->ops->destroy_all(s);
}

/* Purge with a filter and keep counts every matching message and removes
 * the oldest; an unfiltered purge below a seq leaves first at that seq. */
static void
test_purge_paths(void)
{
	JsStore *s = mem_new();
	for (int k = 1; k <= 10; k++)
		put(s, k <= 5 ? "a.1" : "a.2", "x", k);
	uint64_t n = 0;
	g_assert_cmpint(s->ops->purge(s, "a.*", 0, 3, &n), ==, JS_STORE_OK);
	g_assert_cmpuint(n, ==, 7);
	JsStoreState st = state(s);
	g_assert_cmpuint(st.first_seq, ==, 8);
	g_assert_cmpuint(st.msgs, ==, 3);
	g_assert_cmpint(s->ops->purge(s, NULL, 9, 0, &n), ==, JS_STORE_OK);
	g_assert_cmpuint(n, ==, 1);
	g_assert_cmpuint(state(s).first_seq, ==, 9);
	/* A filter that matches nothing changes nothing. */
	g_assert_cmpint(s->ops->purge(s, "b", 0, 0, &n), ==, JS_STORE_OK);
	g_assert_cmpuint(n, ==, 0);
	g_assert_cmpuint(state(s).first_seq, ==, 9);
	g_assert_cmpint(s->ops->purge(s, NULL, 0, 0, &n), ==, JS_STORE_OK);
	g_assert_cmpuint(n, ==, 2);
	st = state(s);
	g_assert_cmpuint(st.first_seq, ==, 11);
	g_assert_cmpuint(st.last_seq, ==, 10);
	g_assert_cmpint(st.first_ts_ns, ==, 0);
	g_assert_cmpuint(st.num_subjects, ==, 0);
	g_assert_cmpuint(put(s, "c", "x", 11), ==, 11);
	g_assert_cmpuint(state(s).first_seq, ==, 11);
	s->ops->destroy_all(s);
}

/* A full purge of a fresh store sets first to 1 (nats-server Purge:
 * first = last+1); skip on an empty store moves first past the skip. */
static void
test_fresh_purge_and_skip(void)
{
	JsStore *s = mem_new();
	uint64_t n = 9;
	g_assert_cmpint(s->ops->purge(s, "x", 0, 0, &n), ==, JS_STORE_OK);
	g_assert_cmpuint(state(s).first_seq, ==, 0);
	g_assert_cmpint(s->ops->purge(s, NULL, 0, 0, &n), ==, JS_STORE_OK);
	g_assert_cmpuint(n, ==, 0);
	g_assert_cmpuint(state(s).first_seq, ==, 1);
	uint64_t seq = 0;
	g_assert_cmpint(s->ops->skip(s, 5, &seq), ==, JS_STORE_OK);
	g_assert_cmpuint(seq, ==, 1);
	JsStoreState st = state(s);
	g_assert_cmpuint(st.first_seq, ==, 2);
	g_assert_cmpuint(st.last_seq, ==, 1);
	g_assert_cmpint(st.last_ts_ns, ==, 5);
	put(s, "a", "x", 6);
	s->ops->skip(s, 7, &seq); /* interior: a gap */
	put(s, "a", "x", 8);
	st = state(s);
	g_assert_cmpuint(st.first_seq, ==, 2);
	g_assert_cmpuint(st.num_deleted, ==, 1);
	g_assert_cmpuint(st.msgs, ==, 2);
	s->ops->destroy_all(s);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/js/core/memstore/ring-wraps", test_ring_wraps);
	g_test_add_func("/js/core/memstore/tombstones", test_tombstones);
	g_test_add_func("/js/core/memstore/load-next-paths", test_load_next_paths);
	g_test_add_func("/js/core/memstore/purge-paths", test_purge_paths);
	g_test_add_func("/js/core/memstore/fresh-purge-and-skip", test_fresh_purge_and_skip);
	return g_test_run();
}
