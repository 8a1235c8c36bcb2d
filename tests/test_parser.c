/*
 * test_parser.c - the protocol parser, both roles. Every case is fed three
 * ways - whole, one byte at a time, and at random split points (many
 * seeds) - and must give the same operations and the same ending each way.
 */
#include <glib.h>
#include <string.h>

#include "proto/encode.h"
#include "proto/parser.h"
#include "proto/prng.h"

typedef struct Case {
	const char *name;
	ProtoRole role;
	const char *input;
	size_t input_len; /* 0: strlen */
	const char *expected; /* ops, one per line, then "END <error>" */
	int64_t payload_max;  /* 0: 1 MiB */
	size_t control_line_max; /* 0: 4096 */
	bool no_headers;
	bool awaiting_connect;
} Case;

static void
append_slice(GString *s, const char *label, ProtoSlice slice)
{
	if (slice.ptr == NULL)
		return;
	g_string_append_printf(s, " %s=", label);
	for (size_t k = 0; k < slice.len; k++) {
		uint8_t c = slice.ptr[k];
		if (c == '\r')
			g_string_append(s, "\\r");
		else if (c == '\n')
			g_string_append(s, "\\n");
		else if (c < 32 || c > 126)
			g_string_append_printf(s, "\\x%02x", c);
		else
			g_string_append_c(s, (char)c);
	}
}

static void
describe(GString *s, const ProtoOp *op)
{
	g_string_append(s, proto_op_name(op->kind));
	append_slice(s, "subject", op->subject);
	append_slice(s, "reply", op->reply);
	append_slice(s, "queue", op->queue);
	append_slice(s, "sid", op->sid);
	if (op->kind == PROTO_OP_UNSUB)
		g_string_append_printf(s, " max=%" G_GINT64_FORMAT, op->max_msgs);
	append_slice(s, "hdr", op->headers);
	if (op->payload.ptr != NULL || op->kind == PROTO_OP_PUB || op->kind == PROTO_OP_HPUB ||
	    op->kind == PROTO_OP_MSG || op->kind == PROTO_OP_HMSG)
		append_slice(s, "payload", op->payload.ptr ? op->payload : (ProtoSlice){ (const uint8_t *)"", 0 });
	append_slice(s, "text", op->text);
	g_string_append_c(s, '\n');
}

static const char *
error_name(ProtoParseError e)
{
	switch (e) {
	case PROTO_ERR_NONE: return "ok";
	case PROTO_ERR_UNKNOWN_OP: return "unknown-op";
	case PROTO_ERR_CONTROL_LINE: return "control-line";
	case PROTO_ERR_MAX_PAYLOAD: return "max-payload";
	case PROTO_ERR_ARGS: return "args";
	case PROTO_ERR_NO_HEADERS: return "no-headers";
	case PROTO_ERR_AUTH: return "auth";
	}
	return "?";
}

/* Feeds the input in the given chunk sizes (0-terminated; the last size
 * repeats), returning the transcript. Checks that a whole-buffer feed
 * hands out slices into the input (zero copy). */
static char *
run(const Case *c, const uint8_t *input, size_t len, const size_t *chunks, gboolean check_zero_copy)
{
	ProtoParser p;
	proto_parser_init(&p, c->role, c->control_line_max ? c->control_line_max : 4096,
	    c->payload_max ? c->payload_max : 1024 * 1024);
	proto_parser_set_headers(&p, !c->no_headers);
	proto_parser_set_awaiting_connect(&p, c->awaiting_connect);
	GString *s = g_string_new(NULL);
	size_t off = 0, chunk_index = 0;
	ProtoParseError err = PROTO_ERR_NONE;
	while (off < len && err == PROTO_ERR_NONE) {
		size_t n = chunks[chunk_index];
		if (chunks[chunk_index + 1] != 0)
			chunk_index++;
		n = MIN(n, len - off);
		size_t pos = 0;
		/* copy the chunk so the parser cannot read past it */
		uint8_t *chunk = g_memdup2(input + off, n);
		while (pos < n) {
			size_t used = 0;
			ProtoOp op;
			ProtoParseStatus st = proto_parser_feed(&p, chunk + pos, n - pos, &used, &op);
			g_assert_cmpuint(used, <=, n - pos);
			if (st == PROTO_PARSE_ERROR) {
				err = proto_parser_error(&p);
				break;
			}
			pos += used;
			if (st == PROTO_PARSE_OP) {
				describe(s, &op);
				if (check_zero_copy && op.payload.ptr != NULL && op.payload.len > 0)
					g_assert_true(op.payload.ptr >= chunk && op.payload.ptr < chunk + n);
			} else {
				g_assert_cmpuint(pos, ==, n);
			}
		}
		g_free(chunk);
		off += n;
	}
	g_string_append_printf(s, "END %s\n", error_name(err));
	proto_parser_deinit(&p);
	return g_string_free(s, FALSE);
}

static void
run_case(gconstpointer data)
{
	const Case *c = data;
	size_t len = c->input_len ? c->input_len : strlen(c->input);
	const uint8_t *input = (const uint8_t *)c->input;
	size_t whole[] = { len ? len : 1, 0 };
	char *a = run(c, input, len, whole, TRUE);
	g_assert_cmpstr(a, ==, c->expected);
	size_t ones[] = { 1, 0 };
	char *b = run(c, input, len, ones, FALSE);
	g_assert_cmpstr(b, ==, c->expected);
	for (uint64_t seed = 1; seed <= 50; seed++) {
		Prng prng;
		prng_seed(&prng, seed);
		size_t chunks[64];
		for (int k = 0; k < 63; k++)
			chunks[k] = (size_t)prng_range(&prng, 1, (int64_t)MAX(len / 3, 1));
		chunks[63] = 0;
		chunks[62] = len; /* then the rest at once */
		char *r = run(c, input, len, chunks, FALSE);
		g_assert_cmpstr(r, ==, c->expected);
		g_free(r);
	}
	g_free(a);
	g_free(b);
}

#define S PROTO_ROLE_SERVER
#define C PROTO_ROLE_CLIENT

static Case cases[] = {
	/* client -> server */
	{ "pub", S, "PUB foo 5\r\nhello\r\n", 0, "PUB subject=foo payload=hello\nEND ok\n" },
	{ "pub-reply-empty", S, "pub foo bar 0\r\n\r\n", 0, "PUB subject=foo reply=bar payload=\nEND ok\n" },
	{ "pub-tabs", S, "PUB\tfoo\t2\r\nhi\r\n", 0, "PUB subject=foo payload=hi\nEND ok\n" },
	{ "pub-many-spaces", S, "PUB foo  bar   2\r\nhi\r\n", 0, "PUB subject=foo reply=bar payload=hi\nEND ok\n" },
	{ "pub-binary", S, "PUB b 4\r\n\0\r\n\xff\r\n", 15, "PUB subject=b payload=\\x00\\r\\n\\xff\nEND ok\n" },
	{ "bare-lf", S, "SUB foo 1\nPING\nPUB foo 1\nx\r\n", 0, "SUB subject=foo sid=1\nPING\nPUB subject=foo payload=x\nEND ok\n" },
	{ "mixed-case-ops", S, "sUb a 1\r\npInG\r\nPoNg\r\nUnSuB 1\r\n", 0,
	    "SUB subject=a sid=1\nPING\nPONG\nUNSUB sid=1 max=-1\nEND ok\n" },
	{ "sub-queue", S, "SUB foo.* workers 7\r\n", 0, "SUB subject=foo.* queue=workers sid=7\nEND ok\n" },
	{ "unsub-max", S, "UNSUB 7 3\r\nUNSUB 7 \r\nUNSUB 7 x\r\n", 0,
	    "UNSUB sid=7 max=3\nUNSUB sid=7 max=-1\nUNSUB sid=7 max=-1\nEND ok\n" },
	{ "hpub", S, "HPUB h r 12 14\r\nNATS/1.0\r\n\r\nhi\r\n", 0,
	    "HPUB subject=h reply=r hdr=NATS/1.0\\r\\n\\r\\n payload=hi\nEND ok\n" },
	{ "connect", S, "CONNECT {\"verbose\":false}\r\n", 0, "CONNECT text={\"verbose\":false}\nEND ok\n" },
	{ "ping-junk-ignored", S, "PING foo bar\r\nPONGxyz\n+OK whatever\r\n", 0, "PING\nPONG\n+OK\nEND ok\n" },
	{ "info-from-client", S, "INFO {}\r\n", 0, "INFO text={}\nEND ok\n" },
	{ "err-from-client", S, "-ERR 'boom'\r\n", 0, "-ERR text=boom\nEND ok\n" },
	/* errors a client can cause */
	{ "unknown-op", S, "FOO\r\n", 0, "END unknown-op\n" },
	{ "msg-from-client", S, "MSG foo 1 1\r\nx\r\n", 0, "END unknown-op\n" },
	{ "pub-no-space", S, "PUBfoo 1\r\n", 0, "END unknown-op\n" },
	{ "pub-missing-size", S, "PUB foo\r\n", 0, "END args\n" },
	{ "pub-too-many-args", S, "PUB a b c 1\r\nx\r\n", 0, "END args\n" },
	{ "pub-bad-size", S, "PUB foo 1x\r\n", 0, "END args\n" },
	{ "pub-ten-digit-size", S, "PUB foo 0000000001\r\nx\r\n", 0, "END args\n" },
	{ "payload-wrong-end", S, "PUB foo 3\r\nhi\r\n", 0, "END unknown-op\n" },
	{ "sub-one-arg", S, "SUB foo\r\n", 0, "END args\n" },
	{ "unsub-no-args", S, "UNSUB\r\n", 0, "END unknown-op\n" },
	{ "unsub-blank", S, "UNSUB \r\n", 0, "END args\n" },
	{ "hpub-hdr-over-total", S, "HPUB h 5 4\r\n", 0, "END args\n" },
	{ "hpub-without-headers", S, "HPUB h 12 14\r\nNATS/1.0\r\n\r\nhi\r\n", 0, "END no-headers\n", .no_headers = true },
	{ "max-payload-limit", S, "PUB a 10\r\n0123456789\r\n", 0, "PUB subject=a payload=0123456789\nEND ok\n", .payload_max = 10 },
	{ "max-payload-over", S, "PUB a 11\r\n01234567890\r\n", 0, "END max-payload\n", .payload_max = 10 },
	{ "auth-needs-connect", S, "PING\r\n", 0, "END auth\n", .awaiting_connect = true },
	{ "auth-connect-first", S, "CONNECT {}\r\n", 0, "CONNECT text={}\nEND ok\n", .awaiting_connect = true },
	/* control line: the limit applies to the arguments (16 here) */
	{ "control-line-at-limit", S, "SUB 0123456789abcd 1\r\n", 0, "SUB subject=0123456789abcd sid=1\nEND ok\n",
	    .control_line_max = 16 },
	{ "control-line-over", S, "SUB 0123456789abcde 1\r\n", 0, "END control-line\n", .control_line_max = 16 },
	{ "control-line-under", S, "SUB 0123456789abc 1\r\n", 0, "SUB subject=0123456789abc sid=1\nEND ok\n",
	    .control_line_max = 16 },
	/* server -> client */
	{ "msg", C, "MSG foo 1 5\r\nhello\r\n", 0, "MSG subject=foo sid=1 payload=hello\nEND ok\n" },
	{ "msg-reply", C, "MSG foo 1 _INBOX.a 0\r\n\r\n", 0, "MSG subject=foo reply=_INBOX.a sid=1 payload=\nEND ok\n" },
	{ "hmsg-status", C, "HMSG _INBOX.x 9 16 16\r\nNATS/1.0 503\r\n\r\n\r\n", 0,
	    "HMSG subject=_INBOX.x sid=9 hdr=NATS/1.0 503\\r\\n\\r\\n payload=\nEND ok\n" },
	{ "info", C, "INFO {\"server_id\":\"x\"} \r\n", 0, "INFO text={\"server_id\":\"x\"} \nEND ok\n" },
	{ "server-err", C, "-ERR 'Stale Connection'\r\n", 0, "-ERR text=Stale Connection\nEND ok\n" },
	{ "server-ping-ok", C, "PING\r\n+OK\r\nPONG\r\n", 0, "PING\n+OK\nPONG\nEND ok\n" },
	{ "sub-from-server", C, "SUB foo 1\r\n", 0, "END unknown-op\n" },
	{ "pub-from-server", C, "PUB foo 1\r\nx\r\n", 0, "END unknown-op\n" },
	{ "msg-bad-args", C, "MSG foo 5\r\nhello\r\n", 0, "END args\n" },
};

static void
test_parse_size(void)
{
	g_assert_cmpint(proto_parse_size((const uint8_t *)"0", 1), ==, 0);
	g_assert_cmpint(proto_parse_size((const uint8_t *)"999999999", 9), ==, 999999999);
	g_assert_cmpint(proto_parse_size((const uint8_t *)"1000000000", 10), ==, -1);
	g_assert_cmpint(proto_parse_size((const uint8_t *)"", 0), ==, -1);
	g_assert_cmpint(proto_parse_size((const uint8_t *)"-1", 2), ==, -1);
}

/* A long stream of mixed ops split randomly gives the same ops as whole. */
static void
test_long_stream(void)
{
	GString *in = g_string_new(NULL);
	GString *expect = g_string_new(NULL);
	for (int k = 0; k < 300; k++) {
		g_string_append_printf(in, "PUB s.%d %d\r\n", k, k % 50);
		g_string_append_printf(expect, "PUB subject=s.%d payload=", k);
		for (int j = 0; j < k % 50; j++) {
			g_string_append_c(in, (char)('a' + j % 26));
			g_string_append_c(expect, (char)('a' + j % 26));
		}
		g_string_append(in, "\r\n");
		g_string_append_c(expect, '\n');
		if (k % 7 == 0) {
			g_string_append(in, "PING\r\n");
			g_string_append(expect, "PING\n");
		}
	}
	g_string_append(expect, "END ok\n");
	Case c = { "long", S, in->str, in->len, expect->str, 0, 0, false, false };
	run_case(&c);
	g_string_free(in, TRUE);
	g_string_free(expect, TRUE);
}

/* The encoder's PUB and HPUB (the client's publish path writes them in one
 * reservation): exact bytes for each shape, then parsed back by the
 * server-role parser, fed three ways, into the same fields. */
static void
test_encode_pub(void)
{
	static const char hdr[] = "NATS/1.0\r\nA: b\r\n\r\n";
	ProtoBuf out;
	proto_buf_init(&out);
	proto_encode_pub(&out, "a.b", NULL, NULL, 0, "hello", 5);
	proto_encode_pub(&out, "a.b", "", NULL, 0, "", 0);
	proto_encode_pub(&out, "a.b", "_INBOX.x", NULL, 0, "0123456789", 10);
	proto_encode_pub(&out, "h", NULL, hdr, strlen(hdr), "pay", 3);
	proto_encode_pub(&out, "h", "r", hdr, strlen(hdr), NULL, 0);
	static const char want[] = "PUB a.b 5\r\nhello\r\n"
				   "PUB a.b 0\r\n\r\n"
				   "PUB a.b _INBOX.x 10\r\n0123456789\r\n"
				   "HPUB h 18 21\r\nNATS/1.0\r\nA: b\r\n\r\npay\r\n"
				   "HPUB h r 18 18\r\nNATS/1.0\r\nA: b\r\n\r\n\r\n";
	g_assert_cmpmem(proto_buf_peek(&out), proto_buf_pending(&out), want, strlen(want));
	Case c = { "encode", S, want, 0,
		"PUB subject=a.b payload=hello\n"
		"PUB subject=a.b payload=\n"
		"PUB subject=a.b reply=_INBOX.x payload=0123456789\n"
		"HPUB subject=h hdr=NATS/1.0\\r\\nA: b\\r\\n\\r\\n payload=pay\n"
		"HPUB subject=h reply=r hdr=NATS/1.0\\r\\nA: b\\r\\n\\r\\n payload=\n"
		"END ok\n",
		0, 0, false, false };
	run_case(&c);
	/* a large payload: a size of more digits, the buffer grown once */
	proto_buf_clear(&out);
	char *big = g_malloc(1234567);
	memset(big, 'z', 1234567);
	proto_encode_pub(&out, "big", NULL, NULL, 0, big, 1234567);
	g_assert_cmpuint(proto_buf_pending(&out), ==, strlen("PUB big 1234567\r\n") + 1234567 + 2);
	g_assert_cmpmem(proto_buf_peek(&out), 17, "PUB big 1234567\r\n", 17);
	g_free(big);
	proto_buf_deinit(&out);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	for (gsize k = 0; k < G_N_ELEMENTS(cases); k++) {
		if (cases[k].name == NULL)
			continue;
		char *path = g_strdup_printf("/proto/parse/%s", cases[k].name);
		g_test_add_data_func_full(path, &cases[k], run_case, NULL);
		g_free(path);
	}
	g_test_add_func("/proto/parse/size", test_parse_size);
	g_test_add_func("/proto/parse/long-stream", test_long_stream);
	g_test_add_func("/proto/encode/pub", test_encode_pub);
	return g_test_run();
}
