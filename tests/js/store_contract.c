/*
 * store_contract.c - see store_contract.h.
 *
 * Each case starts from a fresh store made by the factory and checks one
 * part of store.h: sequences (store, skip, first/last after removals and
 * purges), loads (by seq, next matching, last of a subject), removal,
 * purge (all, filtered, up to a seq, keep), counts and per-subject
 * listings, consumer blobs, the meta record, and - for persistent stores
 * - that everything comes back after a reopen. Views are copied before
 * the next call, as the contract allows them to die then.
 */
#include "tests/js/store_contract.h"

#include <glib.h>
#include <string.h>

typedef struct Copy {
	uint64_t seq;
	int64_t ts_ns;
	char *subject;
	char *hdr;  /* NUL-terminated copy; NULL when none */
	char *data; /* NUL-terminated copy */
	size_t data_len;
} Copy;

static Copy
copy_of(const JsStoredMsg *m)
{
	Copy c = { m->seq, m->ts_ns, g_strndup(m->subject, m->subject_len), NULL, NULL, m->data_len };
	if (m->hdr != NULL)
		c.hdr = g_strndup((const char *)m->hdr, m->hdr_len);
	c.data = g_strndup((const char *)m->data, m->data_len);
	return c;
}

static void
copy_clear(Copy *c)
{
	g_free(c->subject);
	g_free(c->hdr);
	g_free(c->data);
}

static uint64_t
put(JsStore *s, const char *subject, const char *hdr, const char *data, int64_t ts_ns)
{
	uint64_t seq = 0;
	JsStoreStatus st = s->ops->store(s, subject, strlen(subject), hdr, hdr ? strlen(hdr) : 0, data, strlen(data),
	    ts_ns, &seq);
	g_assert_cmpint(st, ==, JS_STORE_OK);
	return seq;
}

static JsStoreState
state_of(JsStore *s)
{
	JsStoreState st;
	s->ops->state(s, &st);
	return st;
}

/* Loads seq and returns its copy; fails the test when it is not there. */
static Copy
must_load(JsStore *s, uint64_t seq)
{
	JsStoredMsg m;
	g_assert_cmpint(s->ops->load(s, seq, &m), ==, JS_STORE_OK);
	g_assert_cmpuint(m.seq, ==, seq);
	return copy_of(&m);
}

static uint64_t
next_seq(JsStore *s, const char *filter, uint64_t start)
{
	JsStoredMsg m;
	JsStoreStatus st = s->ops->load_next(s, filter, start, &m);
	if (st == JS_STORE_NOT_FOUND)
		return 0;
	g_assert_cmpint(st, ==, JS_STORE_OK);
	return m.seq;
}

static uint64_t
last_seq(JsStore *s, const char *filter)
{
	JsStoredMsg m;
	JsStoreStatus st = s->ops->load_last(s, filter, &m);
	if (st == JS_STORE_NOT_FOUND)
		return 0;
	g_assert_cmpint(st, ==, JS_STORE_OK);
	return m.seq;
}

typedef void (*CaseFn)(const StoreContractFactory *f, JsStore *s);

typedef struct Case {
	const StoreContractFactory *factory;
	CaseFn fn;
} Case;

static void
run_case(gconstpointer data)
{
	const Case *c = data;
	JsStore *s = c->factory->open(c->factory->ctx, "ORDERS");
	g_assert_nonnull(s);
	c->fn(c->factory, s);
	/* A case may have replaced the store (reopen); it hands back the live
	 * one through the factory context only by closing it itself. */
	if (c->factory->cleanup != NULL)
		c->factory->cleanup(c->factory->ctx);
}

/* ---- the cases ---- */

/* A new store is empty: first 0, last 0, nothing to load. */
static void
case_empty(const StoreContractFactory *f, JsStore *s)
{
	(void)f;
	JsStoreState st = state_of(s);
	g_assert_cmpuint(st.msgs, ==, 0);
	g_assert_cmpuint(st.bytes, ==, 0);
	g_assert_cmpuint(st.first_seq, ==, 0);
	g_assert_cmpuint(st.last_seq, ==, 0);
	g_assert_cmpint(st.first_ts_ns, ==, 0);
	g_assert_cmpint(st.last_ts_ns, ==, 0);
	g_assert_cmpuint(st.num_deleted, ==, 0);
	g_assert_cmpuint(st.num_subjects, ==, 0);
	JsStoredMsg m;
	g_assert_cmpint(s->ops->load(s, 1, &m), ==, JS_STORE_NOT_FOUND);
	g_assert_cmpint(s->ops->load(s, 0, &m), ==, JS_STORE_NOT_FOUND);
	g_assert_cmpuint(next_seq(s, NULL, 1), ==, 0);
	g_assert_cmpuint(last_seq(s, NULL), ==, 0);
	g_assert_cmpuint(last_seq(s, "a"), ==, 0);
	g_assert_cmpuint(s->ops->count(s, 1, NULL, false), ==, 0);
	g_assert_cmpuint(s->ops->subject_count(s, "a"), ==, 0);
	g_assert_cmpuint(s->ops->subject_first(s, "a"), ==, 0);
	s->ops->destroy_all(s);
}

/* Stored messages come back byte for byte, with their sequence and time;
 * the state counts them with the store's byte accounting. */
static void
case_store_load(const StoreContractFactory *f, JsStore *s)
{
	g_assert_cmpuint(put(s, "orders.new", NULL, "one", 1000), ==, 1);
	g_assert_cmpuint(put(s, "orders.new", "NATS/1.0\r\nA: b\r\n\r\n", "two", 2000), ==, 2);
	g_assert_cmpuint(put(s, "orders.old", NULL, "", 3000), ==, 3);
	Copy c = must_load(s, 2);
	g_assert_cmpstr(c.subject, ==, "orders.new");
	g_assert_cmpstr(c.hdr, ==, "NATS/1.0\r\nA: b\r\n\r\n");
	g_assert_cmpstr(c.data, ==, "two");
	g_assert_cmpint(c.ts_ns, ==, 2000);
	copy_clear(&c);
	c = must_load(s, 1);
	g_assert_null(c.hdr);
	g_assert_cmpstr(c.data, ==, "one");
	copy_clear(&c);
	c = must_load(s, 3);
	g_assert_cmpuint(c.data_len, ==, 0);
	copy_clear(&c);
	JsStoreState st = state_of(s);
	g_assert_cmpuint(st.msgs, ==, 3);
	g_assert_cmpuint(st.first_seq, ==, 1);
	g_assert_cmpuint(st.last_seq, ==, 3);
	g_assert_cmpint(st.first_ts_ns, ==, 1000);
	g_assert_cmpint(st.last_ts_ns, ==, 3000);
	g_assert_cmpuint(st.num_deleted, ==, 0);
	g_assert_cmpuint(st.num_subjects, ==, 2);
	uint64_t bytes = f->msg_bytes(10, 0, 3) + f->msg_bytes(10, 18, 3) + f->msg_bytes(10, 0, 0);
	g_assert_cmpuint(st.bytes, ==, bytes);
	JsStoredMsg m;
	g_assert_cmpint(s->ops->load(s, 4, &m), ==, JS_STORE_NOT_FOUND);
	s->ops->destroy_all(s);
}

/* skip uses up a sequence: on an empty store first moves past it, in the
 * middle it leaves a gap. */
static void
case_skip(const StoreContractFactory *f, JsStore *s)
{
	(void)f;
	uint64_t seq = 0;
	g_assert_cmpint(s->ops->skip(s, 500, &seq), ==, JS_STORE_OK);
	g_assert_cmpuint(seq, ==, 1);
	JsStoreState st = state_of(s);
	g_assert_cmpuint(st.msgs, ==, 0);
	g_assert_cmpuint(st.first_seq, ==, 2);
	g_assert_cmpuint(st.last_seq, ==, 1);
	g_assert_cmpint(st.last_ts_ns, ==, 500);
	g_assert_cmpuint(put(s, "a", NULL, "x", 600), ==, 2);
	g_assert_cmpint(s->ops->skip(s, 700, &seq), ==, JS_STORE_OK);
	g_assert_cmpuint(seq, ==, 3);
	g_assert_cmpuint(put(s, "a", NULL, "y", 800), ==, 4);
	st = state_of(s);
	g_assert_cmpuint(st.msgs, ==, 2);
	g_assert_cmpuint(st.first_seq, ==, 2);
	g_assert_cmpuint(st.last_seq, ==, 4);
	g_assert_cmpuint(st.num_deleted, ==, 1);
	JsStoredMsg m;
	JsStoreStatus gap = s->ops->load(s, 3, &m);
	g_assert_true(gap == JS_STORE_DELETED || gap == JS_STORE_NOT_FOUND);
	g_assert_cmpuint(next_seq(s, NULL, 3), ==, 4);
	s->ops->destroy_all(s);
}

/* Removing: an interior message leaves a gap (DELETED on load), the first
 * one moves first_seq, the last one empties the store to last+1. */
static void
case_remove(const StoreContractFactory *f, JsStore *s)
{
	for (int k = 0; k < 5; k++)
		put(s, "a", NULL, "m", 100 + k);
	g_assert_cmpint(s->ops->remove(s, 3, false), ==, JS_STORE_OK);
	JsStoredMsg m;
	g_assert_cmpint(s->ops->load(s, 3, &m), ==, JS_STORE_DELETED);
	g_assert_cmpint(s->ops->remove(s, 3, false), ==, JS_STORE_DELETED);
	g_assert_cmpint(s->ops->remove(s, 9, false), ==, JS_STORE_NOT_FOUND);
	JsStoreState st = state_of(s);
	g_assert_cmpuint(st.msgs, ==, 4);
	g_assert_cmpuint(st.num_deleted, ==, 1);
	g_assert_cmpuint(st.bytes, ==, 4 * f->msg_bytes(1, 0, 1));
	g_assert_cmpint(s->ops->remove(s, 1, true), ==, JS_STORE_OK);
	g_assert_cmpint(s->ops->remove(s, 2, false), ==, JS_STORE_OK);
	st = state_of(s);
	g_assert_cmpuint(st.first_seq, ==, 4);
	g_assert_cmpint(st.first_ts_ns, ==, 103);
	g_assert_cmpuint(st.num_deleted, ==, 0);
	g_assert_cmpint(s->ops->remove(s, 5, false), ==, JS_STORE_OK);
	g_assert_cmpint(s->ops->remove(s, 4, false), ==, JS_STORE_OK);
	st = state_of(s);
	g_assert_cmpuint(st.msgs, ==, 0);
	g_assert_cmpuint(st.bytes, ==, 0);
	g_assert_cmpuint(st.first_seq, ==, 6);
	g_assert_cmpuint(st.last_seq, ==, 5);
	g_assert_cmpint(st.first_ts_ns, ==, 0);
	g_assert_cmpuint(st.num_subjects, ==, 0);
	/* the next message continues the sequence */
	g_assert_cmpuint(put(s, "a", NULL, "n", 200), ==, 6);
	g_assert_cmpuint(state_of(s).first_seq, ==, 6);
	s->ops->destroy_all(s);
}

/* load_next: the first match at or after start, by literal subject, by
 * wildcard, or any; load_last: the newest match. */
static void
case_load_next_last(const StoreContractFactory *f, JsStore *s)
{
	(void)f;
	const char *subjects[] = { "o.a", "o.b", "p.a", "o.a", "o.c.x", "p.b", "o.b" };
	for (size_t k = 0; k < G_N_ELEMENTS(subjects); k++)
		put(s, subjects[k], NULL, "d", (int64_t)k);
	g_assert_cmpuint(next_seq(s, NULL, 1), ==, 1);
	g_assert_cmpuint(next_seq(s, ">", 3), ==, 3);
	g_assert_cmpuint(next_seq(s, "o.a", 2), ==, 4);
	g_assert_cmpuint(next_seq(s, "o.a", 5), ==, 0);
	g_assert_cmpuint(next_seq(s, "o.*", 3), ==, 4);
	g_assert_cmpuint(next_seq(s, "o.>", 5), ==, 5);
	g_assert_cmpuint(next_seq(s, "p.*", 4), ==, 6);
	g_assert_cmpuint(next_seq(s, "*.b", 3), ==, 6);
	g_assert_cmpuint(next_seq(s, "q.*", 1), ==, 0);
	g_assert_cmpuint(next_seq(s, NULL, 8), ==, 0);
	g_assert_cmpuint(next_seq(s, NULL, 0), ==, 1);
	g_assert_cmpuint(last_seq(s, "o.a"), ==, 4);
	g_assert_cmpuint(last_seq(s, "o.*"), ==, 7);
	g_assert_cmpuint(last_seq(s, "p.>"), ==, 6);
	g_assert_cmpuint(last_seq(s, NULL), ==, 7);
	g_assert_cmpuint(last_seq(s, "nope"), ==, 0);
	s->ops->remove(s, 4, false);
	s->ops->remove(s, 1, false);
	g_assert_cmpuint(next_seq(s, "o.a", 1), ==, 0);
	g_assert_cmpuint(last_seq(s, "o.a"), ==, 0);
	g_assert_cmpuint(next_seq(s, NULL, 1), ==, 2);
	s->ops->remove(s, 7, false);
	g_assert_cmpuint(last_seq(s, NULL), ==, 6);
	s->ops->destroy_all(s);
}

/* Purge everything: first becomes last+1, sequences continue. */
static void
case_purge_all(const StoreContractFactory *f, JsStore *s)
{
	(void)f;
	for (int k = 0; k < 4; k++)
		put(s, k % 2 ? "a" : "b", NULL, "x", k);
	uint64_t purged = 99;
	g_assert_cmpint(s->ops->purge(s, NULL, 0, 0, &purged), ==, JS_STORE_OK);
	g_assert_cmpuint(purged, ==, 4);
	JsStoreState st = state_of(s);
	g_assert_cmpuint(st.msgs, ==, 0);
	g_assert_cmpuint(st.bytes, ==, 0);
	g_assert_cmpuint(st.first_seq, ==, 5);
	g_assert_cmpuint(st.last_seq, ==, 4);
	g_assert_cmpuint(st.num_subjects, ==, 0);
	g_assert_cmpuint(put(s, "a", NULL, "y", 9), ==, 5);
	g_assert_cmpint(s->ops->purge(s, NULL, 0, 0, &purged), ==, JS_STORE_OK);
	g_assert_cmpuint(purged, ==, 1);
	g_assert_cmpint(s->ops->purge(s, NULL, 0, 0, &purged), ==, JS_STORE_OK);
	g_assert_cmpuint(purged, ==, 0);
	s->ops->destroy_all(s);
}

/* Purge by filter, below a sequence, and keeping the newest n. */
static void
case_purge_partial(const StoreContractFactory *f, JsStore *s)
{
	(void)f;
	/* 1 a, 2 b, 3 a, 4 b, 5 a, 6 c.x, 7 a */
	const char *subjects[] = { "a", "b", "a", "b", "a", "c.x", "a" };
	for (size_t k = 0; k < G_N_ELEMENTS(subjects); k++)
		put(s, subjects[k], NULL, "v", (int64_t)k);
	uint64_t purged = 0;
	g_assert_cmpint(s->ops->purge(s, "a", 0, 1, &purged), ==, JS_STORE_OK);
	g_assert_cmpuint(purged, ==, 3);
	g_assert_cmpuint(s->ops->subject_count(s, "a"), ==, 1);
	g_assert_cmpuint(s->ops->subject_first(s, "a"), ==, 7);
	g_assert_cmpuint(state_of(s).first_seq, ==, 2);
	g_assert_cmpint(s->ops->purge(s, NULL, 4, 0, &purged), ==, JS_STORE_OK);
	g_assert_cmpuint(purged, ==, 1); /* seq 2 */
	g_assert_cmpuint(state_of(s).first_seq, ==, 4);
	g_assert_cmpint(s->ops->purge(s, "*", 0, 0, &purged), ==, JS_STORE_OK);
	g_assert_cmpuint(purged, ==, 2); /* 4 b, 7 a */
	JsStoreState st = state_of(s);
	g_assert_cmpuint(st.msgs, ==, 1);
	g_assert_cmpuint(st.first_seq, ==, 6);
	g_assert_cmpint(s->ops->purge(s, "c.>", 0, 5, &purged), ==, JS_STORE_OK);
	g_assert_cmpuint(purged, ==, 0);
	g_assert_cmpint(s->ops->purge(s, NULL, 0, 1, &purged), ==, JS_STORE_OK);
	g_assert_cmpuint(purged, ==, 0);
	g_assert_cmpuint(state_of(s).msgs, ==, 1);
	s->ops->destroy_all(s);
}

/* count (from a seq, filtered, last per subject), per-subject counts in
 * subject order, and the first seq of a subject. */
static void
case_counts(const StoreContractFactory *f, JsStore *s)
{
	(void)f;
	const char *subjects[] = { "k.b", "k.a", "k.b", "x", "k.a", "k.c" };
	for (size_t k = 0; k < G_N_ELEMENTS(subjects); k++)
		put(s, subjects[k], NULL, "v", (int64_t)k);
	g_assert_cmpuint(s->ops->count(s, 1, NULL, false), ==, 6);
	g_assert_cmpuint(s->ops->count(s, 3, NULL, false), ==, 4);
	g_assert_cmpuint(s->ops->count(s, 7, NULL, false), ==, 0);
	g_assert_cmpuint(s->ops->count(s, 1, "k.*", false), ==, 5);
	g_assert_cmpuint(s->ops->count(s, 2, "k.b", false), ==, 1);
	g_assert_cmpuint(s->ops->count(s, 1, "k.*", true), ==, 3);
	g_assert_cmpuint(s->ops->count(s, 4, "k.*", true), ==, 2);
	g_assert_cmpuint(s->ops->count(s, 1, NULL, true), ==, 4);
	g_assert_cmpuint(s->ops->subject_count(s, "k.b"), ==, 2);
	g_assert_cmpuint(s->ops->subject_count(s, "k.*"), ==, 0);
	g_assert_cmpuint(s->ops->subject_first(s, "k.a"), ==, 2);
	GArray *list = g_array_new(FALSE, FALSE, sizeof(JsSubjectCount));
	s->ops->subjects(s, "k.>", list);
	g_assert_cmpuint(list->len, ==, 3);
	const char *want[] = { "k.a", "k.b", "k.c" };
	const uint64_t counts[] = { 2, 2, 1 };
	for (guint k = 0; k < list->len; k++) {
		JsSubjectCount *sc = &g_array_index(list, JsSubjectCount, k);
		g_assert_cmpstr(sc->subject, ==, want[k]);
		g_assert_cmpuint(sc->count, ==, counts[k]);
		g_free(sc->subject);
	}
	g_array_set_size(list, 0);
	s->ops->subjects(s, NULL, list);
	g_assert_cmpuint(list->len, ==, 4);
	g_assert_cmpstr(g_array_index(list, JsSubjectCount, 3).subject, ==, "x");
	for (guint k = 0; k < list->len; k++)
		g_free(g_array_index(list, JsSubjectCount, k).subject);
	g_array_free(list, TRUE);
	s->ops->destroy_all(s);
}

/* Consumer blobs: saved, replaced, loaded, listed in name order, removed. */
static void
case_consumers(const StoreContractFactory *f, JsStore *s)
{
	(void)f;
	g_assert_cmpint(s->ops->consumer_save(s, "zed", "z1", 2), ==, JS_STORE_OK);
	g_assert_cmpint(s->ops->consumer_save(s, "alpha", "a1", 2), ==, JS_STORE_OK);
	g_assert_cmpint(s->ops->consumer_save(s, "zed", "z22", 3), ==, JS_STORE_OK);
	GByteArray *b = g_byte_array_new();
	g_assert_cmpint(s->ops->consumer_load(s, "zed", b), ==, JS_STORE_OK);
	g_assert_cmpuint(b->len, ==, 3);
	g_assert_cmpint(memcmp(b->data, "z22", 3), ==, 0);
	g_byte_array_set_size(b, 0);
	g_assert_cmpint(s->ops->consumer_load(s, "nope", b), ==, JS_STORE_NOT_FOUND);
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	s->ops->consumer_names(s, names);
	g_assert_cmpuint(names->len, ==, 2);
	g_assert_cmpstr(names->pdata[0], ==, "alpha");
	g_assert_cmpstr(names->pdata[1], ==, "zed");
	g_assert_cmpint(s->ops->consumer_remove(s, "alpha"), ==, JS_STORE_OK);
	g_ptr_array_set_size(names, 0);
	s->ops->consumer_names(s, names);
	g_assert_cmpuint(names->len, ==, 1);
	g_assert_cmpint(s->ops->consumer_remove(s, "alpha"), ==, JS_STORE_NOT_FOUND);
	g_assert_cmpint(s->ops->meta_save(s, "{\"name\":\"ORDERS\"}"), ==, JS_STORE_OK);
	g_ptr_array_free(names, TRUE);
	g_byte_array_free(b, TRUE);
	s->ops->destroy_all(s);
}

/* Many messages: sequences stay dense, removals of every other one keep
 * counts and first/last right. */
static void
case_many(const StoreContractFactory *f, JsStore *s)
{
	(void)f;
	const int n = 5000;
	for (int k = 1; k <= n; k++) {
		char subject[32];
		g_snprintf(subject, sizeof(subject), "s.%d", k % 7);
		g_assert_cmpuint(put(s, subject, NULL, "payload", k), ==, (uint64_t)k);
	}
	for (int k = 1; k <= n; k += 2)
		g_assert_cmpint(s->ops->remove(s, (uint64_t)k, false), ==, JS_STORE_OK);
	JsStoreState st = state_of(s);
	g_assert_cmpuint(st.msgs, ==, (uint64_t)n / 2);
	g_assert_cmpuint(st.first_seq, ==, 2);
	g_assert_cmpuint(st.last_seq, ==, (uint64_t)n);
	g_assert_cmpuint(st.num_deleted, ==, (uint64_t)n / 2 - 1);
	g_assert_cmpuint(s->ops->count(s, 1, "s.*", false), ==, (uint64_t)n / 2);
	g_assert_cmpuint(next_seq(s, "s.3", 2), ==, 10);
	g_assert_cmpuint(s->ops->sync(s), ==, JS_STORE_OK);
	s->ops->destroy_all(s);
}

/* A reopened store (a restart) still has its messages, gaps, consumer
 * blobs; sequences continue after the last one. */
static void
case_reopen(const StoreContractFactory *f, JsStore *s)
{
	if (f->reopen == NULL) {
		s->ops->destroy_all(s);
		g_test_skip("store keeps nothing across a restart");
		return;
	}
	put(s, "a", "NATS/1.0\r\nK: v\r\n\r\n", "one", 10);
	put(s, "b", NULL, "two", 20);
	put(s, "a", NULL, "three", 30);
	s->ops->remove(s, 2, false);
	s->ops->consumer_save(s, "dur", "state", 5);
	s->ops->meta_save(s, "{}");
	g_assert_cmpint(s->ops->sync(s), ==, JS_STORE_OK);
	s = f->reopen(f->ctx, s, "ORDERS");
	g_assert_nonnull(s);
	JsStoreState st = state_of(s);
	g_assert_cmpuint(st.msgs, ==, 2);
	g_assert_cmpuint(st.first_seq, ==, 1);
	g_assert_cmpuint(st.last_seq, ==, 3);
	Copy c = must_load(s, 1);
	g_assert_cmpstr(c.hdr, ==, "NATS/1.0\r\nK: v\r\n\r\n");
	g_assert_cmpstr(c.data, ==, "one");
	g_assert_cmpint(c.ts_ns, ==, 10);
	copy_clear(&c);
	JsStoredMsg m;
	g_assert_cmpint(s->ops->load(s, 2, &m), !=, JS_STORE_OK);
	GByteArray *b = g_byte_array_new();
	g_assert_cmpint(s->ops->consumer_load(s, "dur", b), ==, JS_STORE_OK);
	g_assert_cmpuint(b->len, ==, 5);
	g_byte_array_free(b, TRUE);
	g_assert_cmpuint(put(s, "c", NULL, "four", 40), ==, 4);
	s->ops->destroy_all(s);
}

static const struct {
	const char *name;
	CaseFn fn;
} cases[] = {
	{ "empty", case_empty },
	{ "store-load", case_store_load },
	{ "skip", case_skip },
	{ "remove", case_remove },
	{ "load-next-last", case_load_next_last },
	{ "purge-all", case_purge_all },
	{ "purge-partial", case_purge_partial },
	{ "counts", case_counts },
	{ "consumers", case_consumers },
	{ "many", case_many },
	{ "reopen", case_reopen },
};

void
store_contract_add_tests(const StoreContractFactory *factory)
{
	for (size_t k = 0; k < G_N_ELEMENTS(cases); k++) {
		Case *c = g_new0(Case, 1); /* lives for the whole run */
		c->factory = factory;
		c->fn = cases[k].fn;
		char *path = g_strdup_printf("%s/%s", factory->prefix, cases[k].name);
		g_test_add_data_func_full(path, c, run_case, g_free);
		g_free(path);
	}
}
