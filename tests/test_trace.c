/*
 * test_trace.c - trace events hash into a chained fingerprint that changes
 * with any part of any event, and render as one JSON object per line.
 */
#include <glib.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "sim/trace.h"

static uint64_t
fingerprint_of(int64_t t, const char *node, const char *kind, const char *key, int64_t value,
    const char *bytes)
{
	SimTrace trace;
	sim_trace_init(&trace);
	sim_trace(&trace, 0, "n", "start", TRACE_INT("x", 1));
	sim_trace(&trace, t, node, kind, TRACE_INT(key, value), TRACE_STR("s", "v"),
	    TRACE_BYTES("b", bytes, strlen(bytes)));
	return trace.fingerprint;
}

/* The same events give the same fingerprint; changing the time, node,
 * kind or any value of an event, or the order of events, changes it. */
static void
test_fingerprint_sensitivity(void)
{
	uint64_t base = fingerprint_of(5, "a", "k", "key", 1, "xyz");
	g_assert_cmpuint(base, ==, fingerprint_of(5, "a", "k", "key", 1, "xyz"));
	g_assert_cmpuint(base, !=, fingerprint_of(6, "a", "k", "key", 1, "xyz"));
	g_assert_cmpuint(base, !=, fingerprint_of(5, "b", "k", "key", 1, "xyz"));
	g_assert_cmpuint(base, !=, fingerprint_of(5, "a", "j", "key", 1, "xyz"));
	/* keys are fixed per event kind in the code and are not hashed */
	g_assert_cmpuint(base, ==, fingerprint_of(5, "a", "k", "kex", 1, "xyz"));
	g_assert_cmpuint(base, !=, fingerprint_of(5, "a", "k", "key", 2, "xyz"));
	g_assert_cmpuint(base, !=, fingerprint_of(5, "a", "k", "key", 1, "xyZ"));

	SimTrace one, two;
	sim_trace_init(&one);
	sim_trace_init(&two);
	sim_trace(&one, 0, "n", "a", TRACE_INT("x", 1));
	sim_trace(&one, 0, "n", "b", TRACE_INT("x", 1));
	sim_trace(&two, 0, "n", "b", TRACE_INT("x", 1));
	sim_trace(&two, 0, "n", "a", TRACE_INT("x", 1));
	g_assert_cmpuint(one.fingerprint, !=, two.fingerprint);
	g_assert_cmpuint(one.count, ==, 2);
}

/* Strings are length-prefixed: moving a character across a field
 * boundary is a different event. */
static void
test_no_ambiguous_concatenation(void)
{
	g_assert_cmpuint(fingerprint_of(1, "ab", "c", "key", 1, ""), !=, fingerprint_of(1, "a", "bc", "key", 1, ""));
}

static uint64_t
fingerprint_of_str(const char *s)
{
	SimTrace trace;
	sim_trace_init(&trace);
	sim_trace(&trace, 0, "n", "k", TRACE_STR("s", s));
	return trace.fingerprint;
}

/* Strings are folded a word at a time, with short and overlapping reads
 * at the end: every byte of every length up to three words counts, and
 * (under valgrind, each string in a block of its exact size) no read goes
 * past the terminator. */
static void
test_string_every_byte(void)
{
	for (size_t len = 0; len <= 24; len++) {
		char *s = g_malloc(len + 1);
		memset(s, 'a', len);
		s[len] = '\0';
		uint64_t base = fingerprint_of_str(s);
		for (size_t i = 0; i < len; i++) {
			s[i] = 'b';
			g_assert_cmpuint(fingerprint_of_str(s), !=, base);
			s[i] = 'a';
		}
		g_assert_cmpuint(fingerprint_of_str(s), ==, base);
		if (len > 0) {
			s[len - 1] = '\0'; /* one shorter */
			g_assert_cmpuint(fingerprint_of_str(s), !=, base);
		}
		g_free(s);
	}
}

/* sim_trace_emit_n (node hash and kind length given) and sim_trace_n hash
 * exactly what sim_trace_emit does. */
static void
test_emit_with_lengths(void)
{
	SimTrace a, b, c;
	sim_trace_init(&a);
	sim_trace_init(&b);
	sim_trace_init(&c);
	const SimTraceField f[] = { TRACE_INT("x", 7), TRACE_STR("s", "subject.one") };
	sim_trace_emit(&a, 3, "node-1", "some.kind", f, 2);
	sim_trace_emit_n(&b, 3, "node-1", sim_trace_name_hash("node-1", 6), "some.kind", sim_trace_name_hash("some.kind", 9), f, 2);
	sim_trace_n(&c, 3, "node-1", sim_trace_name_hash("node-1", 6), "some.kind", TRACE_INT("x", 7), TRACE_STR("s", "subject.one"));
	g_assert_cmpuint(a.fingerprint, ==, b.fingerprint);
	g_assert_cmpuint(a.fingerprint, ==, c.fingerprint);
}

static void
test_format_fingerprint(void)
{
	char buf[17];
	sim_trace_format_fingerprint(0x0123456789abcdefULL, buf);
	g_assert_cmpstr(buf, ==, "0123456789abcdef");
	sim_trace_format_fingerprint(0, buf);
	g_assert_cmpstr(buf, ==, "0000000000000000");
}

typedef struct Captured {
	GPtrArray *lines;
} Captured;

static void
capture(void *ctx, const SimTraceEvent *event)
{
	Captured *c = ctx;
	g_ptr_array_add(c->lines, sim_trace_event_json(event));
}

/* The JSON line carries time, node, kind and each field; byte fields show
 * their length and hash, not their content. */
static void
test_json_line(void)
{
	SimTrace trace;
	sim_trace_init(&trace);
	Captured c = { g_ptr_array_new_with_free_func(free) };
	sim_trace_set_listener(&trace, capture, &c);
	sim_trace(&trace, 1500, "b1", "net.recv", TRACE_INT("conn", 3), TRACE_STR("why", "x\"y"),
	    TRACE_BYTES("data", "abc", 3));
	g_assert_cmpuint(c.lines->len, ==, 1);
	json_error_t err;
	json_t *obj = json_loads(c.lines->pdata[0], 0, &err);
	g_assert_nonnull(obj);
	g_assert_cmpint(json_integer_value(json_object_get(obj, "t")), ==, 1500);
	g_assert_cmpstr(json_string_value(json_object_get(obj, "node")), ==, "b1");
	g_assert_cmpstr(json_string_value(json_object_get(obj, "ev")), ==, "net.recv");
	g_assert_cmpint(json_integer_value(json_object_get(obj, "conn")), ==, 3);
	g_assert_cmpstr(json_string_value(json_object_get(obj, "why")), ==, "x\"y");
	json_t *data = json_object_get(obj, "data");
	g_assert_cmpint(json_integer_value(json_object_get(data, "len")), ==, 3);
	g_assert_cmpuint(strlen(json_string_value(json_object_get(data, "xxh3"))), ==, 16);
	json_decref(obj);
	g_ptr_array_free(c.lines, TRUE);
}

int
main(int argc, char **argv)
{
	json_object_seed(1);
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/sim/trace/fingerprint-sensitivity", test_fingerprint_sensitivity);
	g_test_add_func("/sim/trace/no-ambiguous-concatenation", test_no_ambiguous_concatenation);
	g_test_add_func("/sim/trace/string-every-byte", test_string_every_byte);
	g_test_add_func("/sim/trace/emit-with-lengths", test_emit_with_lengths);
	g_test_add_func("/sim/trace/format-fingerprint", test_format_fingerprint);
	g_test_add_func("/sim/trace/json-line", test_json_line);
	return g_test_run();
}
