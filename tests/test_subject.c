/*
 * test_subject.c - subject validity and matching as NATS-SPEC §1.7 states
 * them (nats-server sublist.go), and the header block reader and writer.
 */
#include <glib.h>
#include <string.h>

#include "proto/headers.h"
#include "proto/subject.h"

#define SUBOK(s) proto_subject_valid_sub((s), strlen(s))
#define MATCH(p, s) proto_subject_matches((p), strlen(p), (s), strlen(s))
#define OVERLAP(a, b) proto_subject_overlaps((a), strlen(a), (b), strlen(b))

/* What SUB accepts: wildcards only as whole tokens, no empty tokens,
 * nothing after '>' ([wire]: foo* accepted, the five others rejected). */
static void
test_valid_sub(void)
{
	g_assert_true(SUBOK("foo"));
	g_assert_true(SUBOK("foo.*.bar"));
	g_assert_true(SUBOK("foo.>"));
	g_assert_true(SUBOK(">"));
	g_assert_true(SUBOK("foo*"));
	g_assert_false(SUBOK("foo..bar"));
	g_assert_false(SUBOK(".foo"));
	g_assert_false(SUBOK("foo."));
	g_assert_false(SUBOK("foo.>.bar"));
	g_assert_false(SUBOK(">.foo"));
	g_assert_false(SUBOK(""));
	g_assert_true(proto_subject_valid_literal("a.b", 3));
	g_assert_false(proto_subject_valid_literal("a.*", 3));
	g_assert_false(proto_subject_valid_literal("a.>", 3));
	g_assert_true(proto_subject_valid_literal("a.b*", 4));
	g_assert_false(proto_subject_valid("a b", 3));
	g_assert_true(proto_subject_has_wildcard("a.*", 3));
	g_assert_false(proto_subject_has_wildcard("a.b*", 4));
}

static void
test_matches(void)
{
	g_assert_true(MATCH("foo", "foo"));
	g_assert_false(MATCH("foo", "foo.bar"));
	g_assert_true(MATCH("foo.*", "foo.bar"));
	g_assert_false(MATCH("foo.*", "foo"));
	g_assert_false(MATCH("foo.*", "foo.bar.baz"));
	g_assert_true(MATCH("foo.>", "foo.bar.baz"));
	g_assert_false(MATCH("foo.>", "foo"));
	g_assert_true(MATCH(">", "a"));
	g_assert_true(MATCH("*.b.>", "a.b.c"));
	g_assert_false(MATCH("foo*", "foo"));
	g_assert_true(MATCH("foo*", "foo*"));
	/* a published '*' is a plain token, matched by a wildcard too */
	g_assert_true(MATCH("foo.*", "foo.*"));
	/* an empty token matches nothing */
	g_assert_false(MATCH("foo.*", "foo."));
}

static void
test_overlaps(void)
{
	g_assert_true(OVERLAP("a.*", "a.b"));
	g_assert_true(OVERLAP("a.>", "*.b.c"));
	g_assert_false(OVERLAP("a.b", "a.c"));
	g_assert_false(OVERLAP("a.*", "a.b.c"));
	g_assert_true(OVERLAP(">", "x"));
	g_assert_false(OVERLAP("a", "a.b"));
}

/* Status lines, repeated keys, exact-case lookup, and what the builder
 * writes reads back. */
static void
test_headers(void)
{
	const char *block = "NATS/1.0 408 Request Timeout\r\nNats-Pending-Messages: 7\r\nk: a\r\nk:b \r\n\r\n";
	int status;
	ProtoSlice desc, v;
	g_assert_true(proto_headers_status((const uint8_t *)block, strlen(block), &status, &desc));
	g_assert_cmpint(status, ==, 408);
	g_assert_cmpmem(desc.ptr, desc.len, "Request Timeout", 15);
	g_assert_true(proto_headers_get((const uint8_t *)block, strlen(block), "Nats-Pending-Messages", &v));
	g_assert_cmpmem(v.ptr, v.len, "7", 1);
	g_assert_false(proto_headers_get((const uint8_t *)block, strlen(block), "nats-pending-messages", &v));
	ProtoHeaderIter it;
	ProtoSlice key;
	int count = 0;
	proto_headers_iter_init(&it, (const uint8_t *)block, strlen(block));
	while (proto_headers_next(&it, &key, &v))
		if (key.len == 1 && key.ptr[0] == 'k')
			count++;
	g_assert_cmpint(count, ==, 2);

	const char *plain = "NATS/1.0 503\r\n\r\n";
	g_assert_true(proto_headers_status((const uint8_t *)plain, strlen(plain), &status, &desc));
	g_assert_cmpint(status, ==, 503);
	g_assert_null(desc.ptr);
	g_assert_false(proto_headers_status((const uint8_t *)"HTTP/1.1", 8, &status, &desc));

	ProtoBuf out;
	proto_buf_init(&out);
	proto_headers_start(&out, 100, "Idle Heartbeat");
	proto_headers_add(&out, "Nats-Last-Consumer", "3", 1);
	proto_headers_finish(&out);
	const char *expected = "NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: 3\r\n\r\n";
	g_assert_cmpmem(proto_buf_peek(&out), proto_buf_pending(&out), expected, strlen(expected));
	proto_buf_deinit(&out);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/proto/subject/valid-sub", test_valid_sub);
	g_test_add_func("/proto/subject/matches", test_matches);
	g_test_add_func("/proto/subject/overlaps", test_overlaps);
	g_test_add_func("/proto/headers/read-and-write", test_headers);
	return g_test_run();
}
