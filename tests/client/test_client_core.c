/*
 * test_client_core.c - the client core driven byte by byte, with scripted
 * server bytes and a hand-moved clock: handshake, message parsing at every
 * split, PING/PONG, requests and no responders, flush, keepalive, -ERR
 * reactions, malformed input (and a fuzz loop), API misuse, limits,
 * reconnect backoff, re-subscription, drain, slow consumers, JetStream
 * fetch/push/ack/metadata, and the URL and duration helpers.
 */
#include <glib.h>
#include <jansson.h>
#include <string.h>

#include "client/client.h"
#include "client/js.h"
#include "proto/prng.h"

#define INFO_HDR "INFO {\"server_id\":\"S1\",\"version\":\"2.9.10\",\"headers\":true,\"max_payload\":1048576,\"jetstream\":true} \r\n"
#define INFO_NOHDR "INFO {\"server_id\":\"S1\",\"version\":\"2.9.10\",\"headers\":false,\"max_payload\":1048576} \r\n"

typedef struct H {
	ClientConn *conn;
	int64_t now;
	GString *events;
	GPtrArray *msgs; /* ClientMsg* copies */
	GString *replies;
	int wakes;
} H;

static void
h_event(void *ctx, ClientConn *conn, const ClientEvent *ev)
{
	(void)conn;
	H *h = ctx;
	static const char *const names[] = { "", "CONNECTED", "DISCONNECTED", "RECONNECTED", "CLOSED", "ERROR",
		"SLOW_CONSUMER", "INFO" };
	g_string_append_printf(h->events, "%s(%s", names[ev->kind], client_status_str(ev->status));
	if (ev->sid)
		g_string_append_printf(h->events, " sid=%" G_GUINT64_FORMAT, ev->sid);
	g_string_append(h->events, ");");
}

static void
h_wake(void *ctx, ClientConn *conn)
{
	(void)conn;
	((H *)ctx)->wakes++;
}

static H *
h_new_with(const ClientOptions *o, uint64_t seed)
{
	H *h = g_new0(H, 1);
	h->now = 1000;
	h->events = g_string_new("");
	h->msgs = g_ptr_array_new_with_free_func((GDestroyNotify)client_msg_free);
	h->replies = g_string_new("");
	ClientCallbacks cb = { .event = h_event, .wake = h_wake };
	g_assert_cmpint(client_conn_create(&h->conn, o, &cb, h, seed, h->now), ==, CLIENT_OK);
	return h;
}

static H *
h_new(void)
{
	ClientOptions o = client_options_default();
	return h_new_with(&o, 42);
}

static void
h_free(H *h)
{
	client_conn_destroy(h->conn);
	g_string_free(h->events, TRUE);
	g_string_free(h->replies, TRUE);
	g_ptr_array_free(h->msgs, TRUE);
	g_free(h);
}

/* Everything the core wants to send, as a string; consumed. */
static char *
h_out(H *h)
{
	const uint8_t *d;
	size_t n = client_conn_send_peek(h->conn, &d);
	char *s = g_strndup(d ? (const char *)d : "", n);
	if (n > 0)
		client_conn_send_consume(h->conn, n, h->now);
	return s;
}

static void
h_feed(H *h, const char *bytes)
{
	client_conn_recv(h->conn, (const uint8_t *)bytes, strlen(bytes), h->now);
}

static void
h_advance(H *h, int64_t ns)
{
	h->now += ns;
	while (client_conn_next_deadline_ns(h->conn) <= h->now)
		client_conn_on_timeout(h->conn, h->now);
}

static void
h_connect(H *h, const char *info)
{
	g_assert_cmpint(client_conn_transport_want(h->conn), ==, CLIENT_WANT_OPEN);
	client_conn_transport_open(h->conn, h->now);
	h_feed(h, info);
	g_free(h_out(h));
	h_feed(h, "PONG\r\n");
	g_assert_cmpint(client_conn_state(h->conn), ==, CLIENT_STATE_CONNECTED);
}

static void
on_msg_copy(void *ctx, ClientConn *conn, const ClientMsg *msg)
{
	(void)conn;
	H *h = ctx;
	g_ptr_array_add(h->msgs, client_msg_copy(msg));
}

/* Handshake: INFO then exactly CONNECT {json} CRLF PING CRLF; the JSON has
 * what nats.c sends; PONG makes it CONNECTED (one event). */
static void
test_handshake(void)
{
	ClientOptions o = client_options_default();
	o.name = "me";
	o.user = "u";
	o.password = "p";
	o.echo = false;
	H *h = h_new_with(&o, 1);
	g_assert_cmpint(client_conn_state(h->conn), ==, CLIENT_STATE_CONNECTING);
	g_assert_cmpint(client_conn_transport_want(h->conn), ==, CLIENT_WANT_OPEN);
	client_conn_transport_open(h->conn, h->now);
	char *out = h_out(h);
	g_assert_cmpstr(out, ==, ""); /* nothing before INFO */
	g_free(out);
	h_feed(h, INFO_HDR);
	out = h_out(h);
	g_assert_true(g_str_has_prefix(out, "CONNECT {"));
	g_assert_true(g_str_has_suffix(out, "}\r\nPING\r\n"));
	const char *json = out + 8;
	json_t *c = json_loadb(json, strlen(json) - 8, 0, NULL);
	g_assert_nonnull(c);
	g_assert_true(json_is_false(json_object_get(c, "verbose")));
	g_assert_true(json_is_false(json_object_get(c, "pedantic")));
	g_assert_true(json_is_true(json_object_get(c, "headers")));
	g_assert_true(json_is_true(json_object_get(c, "no_responders")));
	g_assert_true(json_is_false(json_object_get(c, "echo")));
	g_assert_cmpstr(json_string_value(json_object_get(c, "name")), ==, "me");
	g_assert_cmpstr(json_string_value(json_object_get(c, "lang")), ==, "C");
	g_assert_cmpstr(json_string_value(json_object_get(c, "user")), ==, "u");
	g_assert_cmpstr(json_string_value(json_object_get(c, "pass")), ==, "p");
	g_assert_cmpint(json_integer_value(json_object_get(c, "protocol")), ==, 1);
	g_assert_null(json_object_get(c, "auth_token"));
	json_decref(c);
	g_free(out);
	g_assert_cmpint(client_conn_state(h->conn), ==, CLIENT_STATE_HANDSHAKE);
	h_feed(h, "PONG\r\n");
	g_assert_cmpint(client_conn_state(h->conn), ==, CLIENT_STATE_CONNECTED);
	g_assert_cmpstr(h->events->str, ==, "CONNECTED(ok);");
	g_assert_cmpstr(client_conn_server_id(h->conn), ==, "S1");
	g_assert_true(client_conn_server_jetstream(h->conn));
	h_free(h);
}

/* A server without headers: CONNECT says headers and no_responders false,
 * and an HPUB is refused; a token goes out as auth_token. */
static void
test_handshake_no_headers_token(void)
{
	ClientOptions o = client_options_default();
	o.token = "secret";
	H *h = h_new_with(&o, 1);
	client_conn_transport_open(h->conn, h->now);
	h_feed(h, INFO_NOHDR);
	char *out = h_out(h);
	json_t *c = json_loadb(out + 8, strlen(out) - 16, 0, NULL);
	g_assert_nonnull(c);
	g_assert_true(json_is_false(json_object_get(c, "headers")));
	g_assert_true(json_is_false(json_object_get(c, "no_responders")));
	g_assert_cmpstr(json_string_value(json_object_get(c, "auth_token")), ==, "secret");
	json_decref(c);
	g_free(out);
	h_feed(h, "PONG\r\n");
	ClientHeaders hd;
	client_headers_init(&hd);
	client_headers_add(&hd, "A", "b");
	size_t hl;
	const uint8_t *hb = client_headers_block(&hd, &hl);
	g_assert_cmpint(client_publish(h->conn, "x", NULL, hb, hl, "d", 1, h->now), ==, CLIENT_ERR_NO_SERVER_SUPPORT);
	client_headers_clear(&hd);
	h_free(h);
}

/* No INFO within connect_timeout: the core gives the transport up; with
 * retry off on a first connect, that closes the connection. */
static void
test_handshake_timeout(void)
{
	H *h = h_new();
	client_conn_transport_open(h->conn, h->now);
	h_advance(h, 2 * CLIENT_NS_PER_S - 1);
	g_assert_cmpint(client_conn_transport_want(h->conn), ==, CLIENT_WANT_NOTHING);
	h_advance(h, 1);
	g_assert_cmpint(client_conn_transport_want(h->conn), ==, CLIENT_WANT_CLOSE);
	client_conn_transport_closed(h->conn, CLIENT_OK, h->now);
	g_assert_cmpint(client_conn_state(h->conn), ==, CLIENT_STATE_CLOSED);
	g_assert_cmpstr(h->events->str, ==, "CLOSED(timeout);");
	h_free(h);
}

static const char split_stream[] =
    "MSG foo 1 5\r\nhello\r\n"
    "HMSG foo 1 _INBOX.r 18 23\r\nNATS/1.0\r\nA: b\r\n\r\nworld\r\n"
    "PING\r\n"
    "MSG foo.bar 1 0\r\n\r\n"
    "HMSG foo 1 16 16\r\nNATS/1.0 503\r\n\r\n\r\n"
    "msg foo 1 reply.x 3\r\nabc\r\n";

static char *
transcript(H *h)
{
	GString *s = g_string_new("");
	for (guint k = 0; k < h->msgs->len; k++) {
		ClientMsg *m = g_ptr_array_index(h->msgs, k);
		g_string_append_printf(s, "%s|%s|%.*s|%.*s|%d\n", m->subject, m->reply ? m->reply : "-",
		    (int)m->headers_len, m->headers ? (const char *)m->headers : "", (int)m->data_len, m->data, m->status);
	}
	char *out = h_out(h);
	g_string_append_printf(s, "out=%s", out);
	g_free(out);
	return g_string_free(s, FALSE);
}

static H *
h_connected_sub(uint64_t *sid)
{
	H *h = h_new();
	h_connect(h, INFO_HDR);
	g_assert_cmpint(client_subscribe(h->conn, "foo.>", NULL, on_msg_copy, h, sid, h->now), ==, CLIENT_OK);
	g_free(h_out(h));
	return h;
}

/* MSG/HMSG split at every byte: feeding the stream in two pieces at each
 * split point, and one byte at a time, gives the same messages (and the
 * PONG for the PING) as feeding it whole. */
static void
test_msg_split_every_byte(void)
{
	uint64_t sid;
	H *h = h_connected_sub(&sid);
	g_assert_cmpuint(sid, ==, 1);
	h_feed(h, split_stream);
	char *whole = transcript(h);
	g_assert_true(strstr(whole, "foo|-||hello|0\n") != NULL);
	g_assert_true(strstr(whole, "foo|_INBOX.r|NATS/1.0\r\nA: b\r\n\r\n|world|0\n") != NULL);
	g_assert_true(strstr(whole, "foo.bar|-|||0\n") != NULL);
	g_assert_true(strstr(whole, "|503\n") != NULL);
	g_assert_true(strstr(whole, "foo|reply.x||abc|0\n") != NULL);
	g_assert_true(g_str_has_suffix(whole, "out=PONG\r\n"));
	h_free(h);
	size_t len = strlen(split_stream);
	for (size_t i = 0; i <= len; i++) {
		h = h_connected_sub(&sid);
		client_conn_recv(h->conn, (const uint8_t *)split_stream, i, h->now);
		client_conn_recv(h->conn, (const uint8_t *)split_stream + i, len - i, h->now);
		char *t = transcript(h);
		g_assert_cmpstr(t, ==, whole);
		g_free(t);
		h_free(h);
	}
	h = h_connected_sub(&sid);
	for (size_t i = 0; i < len; i++)
		client_conn_recv(h->conn, (const uint8_t *)split_stream + i, 1, h->now);
	char *t = transcript(h);
	g_assert_cmpstr(t, ==, whole);
	g_free(t);
	h_free(h);
	g_free(whole);
}

/* Server PINGs are answered with PONG at once, before and after CONNECT. */
static void
test_ping_answered(void)
{
	H *h = h_new();
	client_conn_transport_open(h->conn, h->now);
	h_feed(h, INFO_HDR);
	g_free(h_out(h));
	h_feed(h, "PING\r\n");
	char *out = h_out(h);
	g_assert_cmpstr(out, ==, "PONG\r\n");
	g_free(out);
	h_feed(h, "PONG\r\nPING\r\n");
	out = h_out(h);
	g_assert_cmpstr(out, ==, "PONG\r\n");
	g_free(out);
	h_free(h);
}

static void
on_reply_log(void *ctx, ClientConn *conn, ClientStatus status, const ClientMsg *msg)
{
	(void)conn;
	H *h = ctx;
	g_string_append_printf(h->replies, "%s:%.*s;", client_status_str(status), msg ? (int)msg->data_len : 0,
	    msg ? (const char *)msg->data : "");
}

/* Requests share one inbox subscription "<inbox>.*" and carry tokens 1, 2,
 * ...; a reply completes its request, a 503 completes it at once as no
 * responders, and silence ends in a timeout at the deadline. */
static void
test_request_reply_and_no_responders(void)
{
	H *h = h_new();
	h_connect(h, INFO_HDR);
	uint64_t id1, id2, id3;
	g_assert_cmpint(client_request(h->conn, "svc", NULL, 0, "q", 1, CLIENT_NS_PER_S, on_reply_log, h, &id1, h->now),
	    ==, CLIENT_OK);
	g_assert_cmpint(client_request(h->conn, "svc", NULL, 0, "q", 1, CLIENT_NS_PER_S, on_reply_log, h, &id2, h->now),
	    ==, CLIENT_OK);
	g_assert_cmpint(client_request(h->conn, "svc", NULL, 0, "q", 1, CLIENT_NS_PER_S, on_reply_log, h, &id3, h->now),
	    ==, CLIENT_OK);
	char *out = h_out(h);
	gchar **lines = g_strsplit(out, "\r\n", -1);
	g_assert_true(g_str_has_prefix(lines[0], "SUB _INBOX."));
	g_assert_true(g_str_has_suffix(lines[0], ".* 1"));
	char *inbox = g_strndup(lines[0] + 4, strlen(lines[0]) - 4 - 4);
	char *pub1 = g_strdup_printf("PUB svc %s.1 1", inbox);
	g_assert_cmpstr(lines[1], ==, pub1);
	g_strfreev(lines);
	g_free(out);
	char *reply = g_strdup_printf("MSG %s.2 1 3\r\nans\r\nHMSG %s.1 1 16 16\r\nNATS/1.0 503\r\n\r\n\r\n", inbox, inbox);
	h_feed(h, reply);
	g_assert_cmpstr(h->replies->str, ==, "ok:ans;no responders:;");
	h_advance(h, CLIENT_NS_PER_S);
	g_assert_cmpstr(h->replies->str, ==, "ok:ans;no responders:;timeout:;");
	/* A late reply to a finished request is dropped quietly. */
	h_feed(h, reply);
	g_assert_cmpstr(h->replies->str, ==, "ok:ans;no responders:;timeout:;");
	g_free(reply);
	g_free(pub1);
	g_free(inbox);
	h_free(h);
}

static void
on_flush_log(void *ctx, ClientConn *conn, ClientStatus status)
{
	(void)conn;
	g_string_append_printf(((H *)ctx)->replies, "flush:%s;", client_status_str(status));
}

/* Flush is a PING; its PONG completes it; a flush without PONG times out,
 * and a later PONG does not complete anything twice. */
static void
test_flush(void)
{
	H *h = h_new();
	h_connect(h, INFO_HDR);
	g_assert_cmpint(client_flush(h->conn, CLIENT_NS_PER_S, on_flush_log, h, h->now), ==, CLIENT_OK);
	char *out = h_out(h);
	g_assert_cmpstr(out, ==, "PING\r\n");
	g_free(out);
	h_feed(h, "PONG\r\n");
	g_assert_cmpint(client_flush(h->conn, CLIENT_NS_PER_S, on_flush_log, h, h->now), ==, CLIENT_OK);
	h_advance(h, CLIENT_NS_PER_S);
	h_feed(h, "PONG\r\n");
	g_assert_cmpstr(h->replies->str, ==, "flush:ok;flush:timeout;");
	h_free(h);
}

/* Keepalive: a PING every ping_interval; with pings_out_max 2 the third
 * unanswered interval declares the connection stale and gives it up; a
 * PONG resets the count. */
static void
test_keepalive_stale(void)
{
	ClientOptions o = client_options_default();
	o.ping_interval_ns = CLIENT_NS_PER_S;
	H *h = h_new_with(&o, 1);
	h_connect(h, INFO_HDR);
	h_advance(h, CLIENT_NS_PER_S);
	char *out = h_out(h);
	g_assert_cmpstr(out, ==, "PING\r\n");
	g_free(out);
	h_feed(h, "PONG\r\n");
	h_advance(h, CLIENT_NS_PER_S);
	h_advance(h, CLIENT_NS_PER_S);
	g_assert_cmpint(client_conn_transport_want(h->conn), ==, CLIENT_WANT_NOTHING);
	h_advance(h, CLIENT_NS_PER_S);
	g_assert_cmpint(client_conn_transport_want(h->conn), ==, CLIENT_WANT_CLOSE);
	client_conn_transport_closed(h->conn, CLIENT_OK, h->now);
	g_assert_cmpstr(h->events->str, ==, "CONNECTED(ok);ERROR(stale connection);DISCONNECTED(stale connection);");
	g_assert_cmpint(client_conn_state(h->conn), ==, CLIENT_STATE_DISCONNECTED);
	h_free(h);
}

/* max_payload from INFO: headers + payload at the limit pass, one more
 * byte is refused before anything is sent. */
static void
test_max_payload(void)
{
	H *h = h_new();
	h_connect(h, "INFO {\"headers\":true,\"max_payload\":10} \r\n");
	char data[16];
	memset(data, 'x', sizeof(data));
	g_assert_cmpint(client_publish(h->conn, "a", NULL, NULL, 0, data, 9, h->now), ==, CLIENT_OK);
	g_assert_cmpint(client_publish(h->conn, "a", NULL, NULL, 0, data, 10, h->now), ==, CLIENT_OK);
	g_assert_cmpint(client_publish(h->conn, "a", NULL, NULL, 0, data, 11, h->now), ==, CLIENT_ERR_MAX_PAYLOAD);
	char *out = h_out(h);
	g_assert_null(strstr(out, "PUB a 11"));
	g_assert_nonnull(strstr(out, "PUB a 10\r\n"));
	g_free(out);
	h_free(h);
}

/* -ERR reactions (NATS-SPEC §1.5, as nats.c): a permissions violation is
 * reported and the connection kept; 'Stale Connection' gives the
 * transport up for a reconnect; any other -ERR closes for good. */
static void
test_err_reactions(void)
{
	H *h = h_new();
	h_connect(h, INFO_HDR);
	h_feed(h, "-ERR 'Permissions Violation for Publish to \"x\"'\r\n");
	g_assert_cmpint(client_conn_transport_want(h->conn), ==, CLIENT_WANT_NOTHING);
	h_feed(h, "-ERR 'Stale Connection'\r\n");
	g_assert_cmpint(client_conn_transport_want(h->conn), ==, CLIENT_WANT_CLOSE);
	client_conn_transport_closed(h->conn, CLIENT_OK, h->now);
	g_assert_cmpint(client_conn_state(h->conn), ==, CLIENT_STATE_DISCONNECTED);
	g_assert_cmpstr(h->events->str, ==,
	    "CONNECTED(ok);ERROR(permissions violation);ERROR(stale connection);DISCONNECTED(stale connection);");
	h_free(h);

	h = h_new();
	h_connect(h, INFO_HDR);
	h_feed(h, "-ERR 'Invalid Subject'\r\n");
	g_assert_cmpint(client_conn_transport_want(h->conn), ==, CLIENT_WANT_CLOSE);
	g_assert_cmpint(client_publish(h->conn, "a", NULL, NULL, 0, "x", 1, h->now), ==, CLIENT_ERR_CLOSED);
	client_conn_transport_closed(h->conn, CLIENT_OK, h->now);
	g_assert_cmpint(client_conn_state(h->conn), ==, CLIENT_STATE_CLOSED);
	g_assert_cmpstr(h->events->str, ==, "CONNECTED(ok);ERROR(server error);CLOSED(server error);");
	h_free(h);

	/* Authorization Violation on a first handshake is final. */
	h = h_new();
	client_conn_transport_open(h->conn, h->now);
	h_feed(h, INFO_HDR "-ERR 'Authorization Violation'\r\n");
	g_assert_cmpint(client_conn_transport_want(h->conn), ==, CLIENT_WANT_CLOSE);
	client_conn_transport_closed(h->conn, CLIENT_OK, h->now);
	g_assert_cmpstr(h->events->str, ==, "ERROR(authorization violation);CLOSED(authorization violation);");
	h_free(h);
}

/* Malformed server bytes: an error event, the transport given up, and -
 * with reconnect off - a closed connection; never a crash. */
static void
test_malformed_input(void)
{
	static const char *const bad[] = {
		"XYZ\r\n",                       /* unknown op */
		"MSG foo 1 3\r\nabcd\r\n",        /* payload not followed by CRLF */
		"MSG foo\r\n",                    /* too few args */
		"HMSG foo 1 9 3\r\nabc\r\n",      /* hdr_len > total */
		"SUB foo 1\r\n",                  /* a client op from the server */
		"INFO {not json} \r\n",           /* bad INFO JSON */
		"MSG foo 1 99999999999\r\n",      /* size over nine digits */
	};
	for (size_t k = 0; k < G_N_ELEMENTS(bad); k++) {
		ClientOptions o = client_options_default();
		o.reconnect = false;
		H *h = h_new_with(&o, 1);
		h_connect(h, INFO_HDR);
		ClientStatus st = client_conn_recv(h->conn, (const uint8_t *)bad[k], strlen(bad[k]), h->now);
		g_assert_cmpint(st, ==, CLIENT_ERR_PROTOCOL);
		g_assert_cmpint(client_conn_transport_want(h->conn), ==, CLIENT_WANT_CLOSE);
		g_assert_nonnull(strstr(h->events->str, "ERROR(protocol error);"));
		client_conn_transport_closed(h->conn, CLIENT_OK, h->now);
		g_assert_cmpint(client_conn_state(h->conn), ==, CLIENT_STATE_CLOSED);
		h_free(h);
	}
	/* Before INFO, a MSG is a protocol error too. */
	H *h = h_new();
	client_conn_transport_open(h->conn, h->now);
	g_assert_cmpint(client_conn_recv(h->conn, (const uint8_t *)"PONG\r\n", 6, h->now), ==, CLIENT_ERR_PROTOCOL);
	h_free(h);
}

/* Fuzz: mutated and random server streams, fed at random splits, never
 * crash the core; whenever recv reports an error the core wants the
 * transport closed, and the closing completes cleanly. */
static void
test_fuzz_server_bytes(void)
{
	Prng prng;
	prng_seed(&prng, 7);
	const char *base = INFO_HDR "PONG\r\n" "MSG foo 1 5\r\nhello\r\nHMSG foo 1 r 18 23\r\nNATS/1.0\r\nA: b\r\n\r\nworld\r\n"
	    "PING\r\n-ERR 'Permissions Violation for x'\r\n+OK\r\nHMSG foo 1 16 16\r\nNATS/1.0 503\r\n\r\n\r\n";
	size_t base_len = strlen(base);
	int iterations = g_test_slow() ? 20000 : 3000;
	for (int it = 0; it < iterations; it++) {
		guint8 *buf = g_malloc(base_len + 64);
		size_t len = base_len;
		memcpy(buf, base, base_len);
		int mutations = 1 + (int)prng_below(&prng, 4);
		for (int m = 0; m < mutations; m++) {
			size_t at = prng_below(&prng, len);
			switch (prng_below(&prng, 3)) {
			case 0: buf[at] = (guint8)prng_below(&prng, 256); break;
			case 1: buf[at] = "0123456789 \r\n.*>"[prng_below(&prng, 16)]; break;
			default: memmove(buf + at, buf + at + 1, len - at - 1); len--; break;
			}
		}
		ClientOptions o = client_options_default();
		o.reconnect = false;
		H *h = h_new_with(&o, (uint64_t)it);
		uint64_t sid;
		client_subscribe(h->conn, "foo", NULL, on_msg_copy, h, &sid, h->now);
		client_conn_transport_open(h->conn, h->now);
		size_t off = 0;
		while (off < len) {
			size_t n = 1 + prng_below(&prng, 40);
			if (n > len - off)
				n = len - off;
			ClientStatus st = client_conn_recv(h->conn, buf + off, n, h->now);
			if (st != CLIENT_OK)
				g_assert_cmpint(client_conn_transport_want(h->conn), ==, CLIENT_WANT_CLOSE);
			off += n;
		}
		if (client_conn_transport_want(h->conn) == CLIENT_WANT_CLOSE)
			client_conn_transport_closed(h->conn, CLIENT_OK, h->now);
		g_free(h_out(h));
		h_free(h);
		g_free(buf);
	}
}

/* API misuse returns codes, never asserts: NULLs, bad subjects, bad
 * headers, unknown sids, bad options. */
static void
test_api_misuse(void)
{
	H *h = h_new();
	h_connect(h, INFO_HDR);
	int64_t t = h->now;
	g_assert_cmpint(client_publish(NULL, "a", NULL, NULL, 0, "x", 1, t), ==, CLIENT_ERR_INVALID_ARG);
	g_assert_cmpint(client_publish(h->conn, NULL, NULL, NULL, 0, "x", 1, t), ==, CLIENT_ERR_INVALID_SUBJECT);
	g_assert_cmpint(client_publish(h->conn, "", NULL, NULL, 0, "x", 1, t), ==, CLIENT_ERR_INVALID_SUBJECT);
	g_assert_cmpint(client_publish(h->conn, "a..b", NULL, NULL, 0, "x", 1, t), ==, CLIENT_ERR_INVALID_SUBJECT);
	g_assert_cmpint(client_publish(h->conn, "a b", NULL, NULL, 0, "x", 1, t), ==, CLIENT_ERR_INVALID_SUBJECT);
	g_assert_cmpint(client_publish(h->conn, "a", "r\r\n", NULL, 0, "x", 1, t), ==, CLIENT_ERR_INVALID_SUBJECT);
	g_assert_cmpint(client_publish(h->conn, "a", NULL, NULL, 0, NULL, 1, t), ==, CLIENT_ERR_INVALID_ARG);
	g_assert_cmpint(client_publish(h->conn, "a", NULL, "junk-header", 11, "x", 1, t), ==, CLIENT_ERR_INVALID_ARG);
	g_assert_cmpint(client_subscribe(h->conn, "a.>.b", NULL, NULL, NULL, NULL, t), ==, CLIENT_ERR_INVALID_SUBJECT);
	g_assert_cmpint(client_subscribe(h->conn, "a", "q q", NULL, NULL, NULL, t), ==, CLIENT_ERR_INVALID_SUBJECT);
	g_assert_cmpint(client_subscribe(NULL, "a", NULL, NULL, NULL, NULL, t), ==, CLIENT_ERR_INVALID_ARG);
	g_assert_cmpint(client_unsubscribe(h->conn, 999, 0, t), ==, CLIENT_ERR_NOT_FOUND);
	g_assert_cmpint(client_request(h->conn, "a", NULL, 0, "", 0, 0, on_reply_log, h, NULL, t), ==,
	    CLIENT_ERR_INVALID_ARG);
	g_assert_cmpint(client_request(h->conn, "a", NULL, 0, "", 0, 1, NULL, h, NULL, t), ==, CLIENT_ERR_INVALID_ARG);
	g_assert_cmpint(client_flush(h->conn, 0, NULL, NULL, t), ==, CLIENT_ERR_INVALID_ARG);
	g_assert_cmpint(client_conn_recv(NULL, NULL, 0, t), ==, CLIENT_ERR_INVALID_ARG);
	ClientHeaders hd;
	client_headers_init(&hd);
	g_assert_cmpint(client_headers_add(&hd, "bad key", "v"), ==, CLIENT_ERR_INVALID_ARG);
	g_assert_cmpint(client_headers_add(&hd, "K", "v\r\nX: y"), ==, CLIENT_ERR_INVALID_ARG);
	g_assert_cmpint(client_headers_add(&hd, NULL, "v"), ==, CLIENT_ERR_INVALID_ARG);
	client_headers_clear(&hd);
	g_assert_cmpint(client_js_ack(h->conn, "not.an.ack", CLIENT_ACK_ACK, 0, t), ==, CLIENT_ERR_INVALID_ARG);
	g_assert_cmpint(client_js_ack(h->conn, "$JS.ACK.S.C.1.1.1.1.0", CLIENT_ACK_TERM, 5, t), ==,
	    CLIENT_ERR_INVALID_ARG);
	ClientStreamConfig sc = { .name = "bad.name" };
	g_assert_cmpint(client_js_stream_add(h->conn, &sc, 1, NULL, NULL, t), ==, CLIENT_ERR_INVALID_ARG);
	ClientFetchOptions fo = { .batch = 0 };
	g_assert_cmpint(client_js_fetch(h->conn, "S", "C", &fo, NULL, NULL, NULL, NULL, t), ==, CLIENT_ERR_INVALID_ARG);
	char *out = h_out(h);
	g_assert_cmpstr(out, ==, ""); /* nothing reached the wire */
	g_free(out);
	ClientOptions o = client_options_default();
	ClientConn *c = NULL;
	o.inbox_prefix = "bad inbox";
	g_assert_cmpint(client_conn_create(&c, &o, NULL, NULL, 1, 0), ==, CLIENT_ERR_INVALID_SUBJECT);
	g_assert_cmpint(client_conn_create(NULL, &o, NULL, NULL, 1, 0), ==, CLIENT_ERR_INVALID_ARG);
	o = client_options_default();
	o.connect_timeout_ns = 0;
	g_assert_cmpint(client_conn_create(&c, &o, NULL, NULL, 1, 0), ==, CLIENT_ERR_INVALID_ARG);
	g_assert_null(c);
	h_free(h);
}

/* Reconnect backoff for a seed: attempt n waits min(wait*2^(n-1), max)
 * plus jitter drawn from the "jitter" stream (the second splitmix64 output
 * of the seed); an independent replay of that stream predicts every
 * deadline exactly, and every delay lies in [base, base + jitter]. */
static void
test_backoff_schedule(void)
{
	ClientOptions o = client_options_default();
	o.reconnect_wait_ns = 100 * CLIENT_NS_PER_MS;
	o.reconnect_wait_max_ns = 800 * CLIENT_NS_PER_MS;
	o.reconnect_jitter_ns = 50 * CLIENT_NS_PER_MS;
	o.reconnect_attempts_max = 8;
	const uint64_t seed = 12345;
	H *h = h_new_with(&o, seed);
	h_connect(h, INFO_HDR);
	uint64_t sm = seed;
	prng_splitmix64(&sm);
	Prng jitter;
	prng_seed(&jitter, prng_splitmix64(&sm));
	static const int64_t base_ms[] = { 100, 200, 400, 800, 800, 800, 800, 800 };
	GString *schedule = g_string_new("");
	client_conn_transport_closed(h->conn, CLIENT_ERR_CONNECTION_LOST, h->now);
	for (uint32_t n = 1; n <= 8; n++) {
		g_assert_cmpint(client_conn_state(h->conn), ==, CLIENT_STATE_DISCONNECTED);
		int64_t delay = client_conn_next_deadline_ns(h->conn) - h->now;
		int64_t expect = base_ms[n - 1] * CLIENT_NS_PER_MS + (int64_t)(prng_next(&jitter) % (50 * CLIENT_NS_PER_MS + 1));
		g_assert_cmpint(delay, ==, expect);
		g_assert_cmpint(delay, >=, base_ms[n - 1] * CLIENT_NS_PER_MS);
		g_assert_cmpint(delay, <=, (base_ms[n - 1] + 50) * CLIENT_NS_PER_MS);
		g_string_append_printf(schedule, "%" G_GINT64_FORMAT " ", delay);
		h_advance(h, delay);
		g_assert_cmpint(client_conn_transport_want(h->conn), ==, CLIENT_WANT_OPEN);
		client_conn_transport_closed(h->conn, CLIENT_ERR_IO, h->now); /* refused */
	}
	/* Attempt 9 is over reconnect_attempts_max: closed. */
	g_assert_cmpint(client_conn_state(h->conn), ==, CLIENT_STATE_CLOSED);
	g_test_message("backoff schedule for seed %" G_GUINT64_FORMAT ": %s", seed, schedule->str);
	g_string_free(schedule, TRUE);
	h_free(h);
}

/* After a reconnect: SUBs again in sid order (with the remaining max as
 * UNSUB), then the publishes buffered while away, then the PING of a flush
 * asked for while away; a reconnect buffer over its limit refuses more. */
static void
test_resubscribe_and_buffer(void)
{
	ClientOptions o = client_options_default();
	o.reconnect_buf_bytes_max = 100;
	H *h = h_new_with(&o, 3);
	h_connect(h, INFO_HDR);
	uint64_t s1, s2, s3;
	client_subscribe(h->conn, "a", NULL, on_msg_copy, h, &s1, h->now);
	client_subscribe(h->conn, "b", "q", on_msg_copy, h, &s2, h->now);
	client_subscribe(h->conn, "c", NULL, on_msg_copy, h, &s3, h->now);
	client_unsubscribe(h->conn, s2, 5, h->now);
	h_feed(h, "MSG b 2 1\r\nx\r\n");
	client_unsubscribe(h->conn, s3, 0, h->now);
	g_free(h_out(h));
	client_conn_transport_closed(h->conn, CLIENT_ERR_CONNECTION_LOST, h->now);
	g_assert_cmpint(client_publish(h->conn, "p", NULL, NULL, 0, "1", 1, h->now), ==, CLIENT_OK);
	g_assert_cmpint(client_flush(h->conn, 10 * CLIENT_NS_PER_S, on_flush_log, h, h->now), ==, CLIENT_OK);
	char big[80] = { 0 };
	g_assert_cmpint(client_publish(h->conn, "p", NULL, NULL, 0, big, sizeof(big), h->now), ==, CLIENT_ERR_BUFFER_FULL);
	h_advance(h, 3 * CLIENT_NS_PER_S);
	client_conn_transport_open(h->conn, h->now);
	h_feed(h, INFO_HDR);
	g_free(h_out(h));
	h_feed(h, "PONG\r\n");
	char *out = h_out(h);
	g_assert_cmpstr(out, ==, "SUB a 1\r\nSUB b q 2\r\nUNSUB 2 4\r\nPUB p 1\r\n1\r\nPING\r\n");
	g_free(out);
	h_feed(h, "PONG\r\n");
	g_assert_cmpstr(h->replies->str, ==, "flush:ok;");
	g_assert_cmpstr(h->events->str, ==, "CONNECTED(ok);DISCONNECTED(connection lost);RECONNECTED(ok);");
	g_assert_cmpuint(client_conn_stats(h->conn).reconnects, ==, 1);
	h_free(h);
}

/* Drain: UNSUB for every subscription and a PING; messages before the PONG
 * are still delivered; then a second PING flushes publishes (new ones are
 * refused) and its PONG closes with status ok. */
static void
test_drain(void)
{
	H *h = h_new();
	h_connect(h, INFO_HDR);
	uint64_t s1, s2;
	client_subscribe(h->conn, "a", NULL, on_msg_copy, h, &s1, h->now);
	client_subscribe(h->conn, "b", NULL, on_msg_copy, h, &s2, h->now);
	g_free(h_out(h));
	g_assert_cmpint(client_conn_drain(h->conn, 5 * CLIENT_NS_PER_S, h->now), ==, CLIENT_OK);
	char *out = h_out(h);
	g_assert_cmpstr(out, ==, "UNSUB 1\r\nUNSUB 2\r\nPING\r\n");
	g_free(out);
	g_assert_cmpint(client_subscribe(h->conn, "c", NULL, NULL, NULL, NULL, h->now), ==, CLIENT_ERR_DRAINING);
	g_assert_cmpint(client_publish(h->conn, "z", NULL, NULL, 0, "1", 1, h->now), ==, CLIENT_OK);
	h_feed(h, "MSG a 1 2\r\nhi\r\nPONG\r\n");
	g_assert_cmpuint(h->msgs->len, ==, 1);
	out = h_out(h);
	g_assert_cmpstr(out, ==, "PUB z 1\r\n1\r\nPING\r\n");
	g_free(out);
	g_assert_cmpint(client_publish(h->conn, "z", NULL, NULL, 0, "1", 1, h->now), ==, CLIENT_ERR_DRAINING);
	h_feed(h, "PONG\r\n");
	g_assert_cmpint(client_conn_transport_want(h->conn), ==, CLIENT_WANT_CLOSE);
	client_conn_transport_closed(h->conn, CLIENT_OK, h->now);
	g_assert_cmpint(client_conn_state(h->conn), ==, CLIENT_STATE_CLOSED);
	g_assert_cmpstr(h->events->str, ==, "CONNECTED(ok);CLOSED(ok);");
	h_free(h);

	/* A drain that gets no PONG in time closes with a timeout. */
	h = h_new();
	h_connect(h, INFO_HDR);
	client_conn_drain(h->conn, CLIENT_NS_PER_S, h->now);
	h_advance(h, CLIENT_NS_PER_S);
	client_conn_transport_closed(h->conn, CLIENT_OK, h->now);
	g_assert_cmpstr(h->events->str, ==, "CONNECTED(ok);CLOSED(timeout);");
	h_free(h);
}

/* Subscription drain and auto-unsubscribe: UNSUB sid max goes out, the sub
 * ends after max deliveries; a drained sub takes messages until its PONG. */
static void
test_unsub_max_and_sub_drain(void)
{
	H *h = h_new();
	h_connect(h, INFO_HDR);
	uint64_t s1, s2;
	client_subscribe(h->conn, "a", NULL, on_msg_copy, h, &s1, h->now);
	client_unsubscribe(h->conn, s1, 2, h->now);
	client_subscribe(h->conn, "b", NULL, on_msg_copy, h, &s2, h->now);
	char *out = h_out(h);
	g_assert_cmpstr(out, ==, "SUB a 1\r\nUNSUB 1 2\r\nSUB b 2\r\n");
	g_free(out);
	h_feed(h, "MSG a 1 1\r\n1\r\nMSG a 1 1\r\n2\r\n");
	g_assert_false(client_sub_exists(h->conn, s1));
	h_feed(h, "MSG a 1 1\r\n3\r\n");
	g_assert_cmpuint(h->msgs->len, ==, 2);
	g_assert_cmpint(client_sub_drain(h->conn, s2, h->now), ==, CLIENT_OK);
	out = h_out(h);
	g_assert_cmpstr(out, ==, "UNSUB 2\r\nPING\r\n");
	g_free(out);
	h_feed(h, "MSG b 2 1\r\n4\r\n");
	g_assert_true(client_sub_exists(h->conn, s2));
	h_feed(h, "PONG\r\n");
	g_assert_false(client_sub_exists(h->conn, s2));
	g_assert_cmpuint(h->msgs->len, ==, 3);
	h_free(h);
}

/* Pending limits of a queued subscription at limit-1, limit, limit+1:
 * the message over the limit is dropped and reported once per episode;
 * reading the queue ends the episode. */
static void
test_slow_consumer(void)
{
	H *h = h_new();
	h_connect(h, INFO_HDR);
	uint64_t sid;
	client_subscribe(h->conn, "a", NULL, NULL, NULL, &sid, h->now);
	client_sub_set_pending_limits(h->conn, sid, 3, 1 << 20);
	h_feed(h, "MSG a 1 1\r\n1\r\nMSG a 1 1\r\n2\r\n"); /* limit-1 */
	g_assert_cmpstr(h->events->str, ==, "CONNECTED(ok);");
	h_feed(h, "MSG a 1 1\r\n3\r\n"); /* limit */
	g_assert_cmpstr(h->events->str, ==, "CONNECTED(ok);");
	h_feed(h, "MSG a 1 1\r\n4\r\nMSG a 1 1\r\n5\r\n"); /* limit+1, +2 */
	g_assert_cmpstr(h->events->str, ==, "CONNECTED(ok);SLOW_CONSUMER(slow consumer sid=1);");
	ClientSubStats st;
	client_sub_stats(h->conn, sid, &st);
	g_assert_cmpuint(st.pending_msgs, ==, 3);
	g_assert_cmpuint(st.dropped, ==, 2);
	ClientMsg *m;
	client_sub_next_msg(h->conn, sid, &m);
	g_assert_cmpmem(m->data, m->data_len, "1", 1);
	client_msg_free(m);
	h_feed(h, "MSG a 1 1\r\n6\r\nMSG a 1 1\r\n7\r\n");
	g_assert_cmpstr(h->events->str, ==,
	    "CONNECTED(ok);SLOW_CONSUMER(slow consumer sid=1);SLOW_CONSUMER(slow consumer sid=1);");
	g_assert_cmpuint(client_conn_stats(h->conn).dropped_msgs, ==, 3);
	h_free(h);
}

typedef struct FetchLog {
	GString *s;
} FetchLog;

static void
fetch_msg(void *ctx, ClientConn *conn, const ClientMsg *m)
{
	(void)conn;
	FetchLog *f = ctx;
	g_string_append_printf(f->s, "msg:%.*s;", (int)m->data_len, m->data);
}

static void
fetch_done(void *ctx, ClientConn *conn, ClientStatus status, uint32_t received, int code, const char *text)
{
	(void)conn;
	FetchLog *f = ctx;
	g_string_append_printf(f->s, "done:%s:%u:%d:%s;", client_status_str(status), received, code, text);
}

static char *
fetch_inbox(const char *out)
{
	const char *pub = strstr(out, "PUB $JS.API.CONSUMER.MSG.NEXT.S.C ");
	g_assert_nonnull(pub);
	pub += strlen("PUB $JS.API.CONSUMER.MSG.NEXT.S.C ");
	return g_strndup(pub, (size_t)(strchr(pub, ' ') - pub));
}

/* Pull fetch: the request JSON, messages until the batch fills (silent
 * end), heartbeats ignored, and 404 / 408 / 409 ending the fetch with their
 * own status; the fetch's subscription goes away with it. */
static void
test_fetch_statuses(void)
{
	static const struct {
		const char *server;
		const char *expect;
	} cases[] = {
		{ "MSG o 1 $JS.ACK.S.C.1.1.1.1.1 1\r\na\r\nMSG o 1 $JS.ACK.S.C.1.2.2.1.0 1\r\nb\r\n",
		    "msg:a;msg:b;done:ok:2:0:;" },
		{ "HMSG i 1 28 28\r\nNATS/1.0 404 No Messages\r\n\r\n\r\n", "done:no messages:0:404:No Messages;" },
		{ "HMSG i 1 31 31\r\nNATS/1.0 100 Idle Heartbeat\r\n\r\n\r\nMSG o 1 $JS.ACK.S.C.1.1.1.1.1 1\r\na\r\n"
		  "HMSG i 1 32 32\r\nNATS/1.0 408 Request Timeout\r\n\r\n\r\n",
		    "msg:a;done:timeout:1:408:Request Timeout;" },
		{ "HMSG i 1 39 39\r\nNATS/1.0 409 Consumer is push based\r\n\r\n\r\n",
		    "done:jetstream status:0:409:Consumer is push based;" },
	};
	for (size_t k = 0; k < G_N_ELEMENTS(cases); k++) {
		H *h = h_new();
		h_connect(h, INFO_HDR);
		FetchLog log = { g_string_new("") };
		ClientFetchOptions fo = { .batch = 2, .expires_ns = 5 * CLIENT_NS_PER_S, .idle_heartbeat_ns = CLIENT_NS_PER_S };
		g_assert_cmpint(client_js_fetch(h->conn, "S", "C", &fo, fetch_msg, fetch_done, &log, NULL, h->now), ==,
		    CLIENT_OK);
		char *out = h_out(h);
		g_assert_nonnull(strstr(out, "{\"batch\":2,\"expires\":5000000000,\"idle_heartbeat\":1000000000}"));
		char *inbox = fetch_inbox(out);
		g_assert_true(g_str_has_prefix(out, "SUB "));
		g_free(out);
		/* Rewrite the sid placeholders: the fetch sub is sid 1. */
		char *server = g_strdup(cases[k].server);
		h_feed(h, server);
		g_assert_cmpstr(log.s->str, ==, cases[k].expect);
		out = h_out(h);
		g_assert_nonnull(strstr(out, "UNSUB 1\r\n"));
		g_free(out);
		g_assert_false(client_sub_exists(h->conn, 1));
		g_free(server);
		g_free(inbox);
		g_string_free(log.s, TRUE);
		h_free(h);
	}
	/* No heartbeat for 2 intervals: missed heartbeat ends the fetch. */
	H *h = h_new();
	h_connect(h, INFO_HDR);
	FetchLog log = { g_string_new("") };
	ClientFetchOptions fo = { .batch = 1, .expires_ns = 10 * CLIENT_NS_PER_S, .idle_heartbeat_ns = CLIENT_NS_PER_S };
	client_js_fetch(h->conn, "S", "C", &fo, fetch_msg, fetch_done, &log, NULL, h->now);
	h_advance(h, 2 * CLIENT_NS_PER_S);
	g_assert_cmpstr(log.s->str, ==, "done:missed heartbeat:0:0:missed idle heartbeats;");
	g_string_free(log.s, TRUE);
	h_free(h);
}

/* Push: a flow-control request is answered with an empty message on its
 * reply, a stalled heartbeat on the subject it names, and neither reaches
 * the callback; data messages do. */
static void
test_push_flow_control(void)
{
	H *h = h_new();
	h_connect(h, INFO_HDR);
	uint64_t sid;
	client_js_push_subscribe(h->conn, "dlv", NULL, 0, on_msg_copy, h, &sid, h->now);
	g_free(h_out(h));
	h_feed(h, "HMSG dlv 1 $JS.FC.S.C.ab12 36 36\r\nNATS/1.0 100 FlowControl Request\r\n\r\n\r\n"
	          "HMSG dlv 1 71 71\r\nNATS/1.0 100 Idle Heartbeat\r\nNats-Consumer-Stalled: $JS.FC.S.C.cd34\r\n\r\n\r\n"
	          "MSG orders.1 1 $JS.ACK.S.C.1.1.1.1.0 2\r\nok\r\n");
	char *out = h_out(h);
	g_assert_cmpstr(out, ==, "PUB $JS.FC.S.C.ab12 0\r\n\r\nPUB $JS.FC.S.C.cd34 0\r\n\r\n");
	g_free(out);
	g_assert_cmpuint(h->msgs->len, ==, 1);
	h_free(h);
}

static void
on_puback(void *ctx, ClientConn *conn, ClientStatus status, const ClientPubAck *ack, const ClientJsError *err)
{
	(void)conn;
	H *h = ctx;
	g_string_append_printf(h->replies, "%s:%s:%" G_GUINT64_FORMAT ":%d:%d;", client_status_str(status),
	    ack ? ack->stream : "", ack ? ack->seq : 0, ack ? ack->duplicate : 0, err ? err->err_code : 0);
}

/* JetStream publish: the headers go out as HPUB with Nats-Msg-Id and the
 * expectations; PubAcks (new, duplicate, error) and a 503 parse right; the
 * async window refuses the publish past js_pub_pending_max. */
static void
test_js_publish(void)
{
	ClientOptions o = client_options_default();
	o.js_pub_pending_max = 3;
	H *h = h_new_with(&o, 5);
	h_connect(h, INFO_HDR);
	ClientJsPubOptions po = CLIENT_JS_PUB_OPTIONS_INIT;
	po.msg_id = "m1";
	po.expected_stream = "ORD";
	po.expected_last_seq = 0;
	for (int k = 0; k < 3; k++)
		g_assert_cmpint(client_js_publish(h->conn, "orders.1", "x", 1, &po, CLIENT_NS_PER_S, on_puback, h, h->now), ==,
		    CLIENT_OK);
	g_assert_cmpint(client_js_publish(h->conn, "orders.1", "x", 1, &po, CLIENT_NS_PER_S, on_puback, h, h->now), ==,
	    CLIENT_ERR_LIMIT);
	char *out = h_out(h);
	const char *hdr = "NATS/1.0\r\nNats-Msg-Id: m1\r\nNats-Expected-Stream: ORD\r\nNats-Expected-Last-Sequence: 0\r\n\r\n";
	char *want = g_strdup_printf(" %zu %zu\r\n%sx\r\n", strlen(hdr), strlen(hdr) + 1, hdr);
	g_assert_nonnull(strstr(out, want));
	g_assert_nonnull(strstr(out, "HPUB orders.1 _INBOX."));
	const char *p = strstr(out, "HPUB orders.1 ") + strlen("HPUB orders.1 ");
	const char *sp = strchr(p, ' ');
	char *reply1 = g_strndup(p, (size_t)(sp - p)); /* <inbox>.1 */
	reply1[strlen(reply1) - 2] = '\0';
	static const char *const answers[] = {
		"{\"stream\":\"ORD\", \"seq\":1}",
		"{\"stream\":\"ORD\", \"seq\":1,\"duplicate\": true}",
		"{\"error\":{\"code\":400,\"err_code\":10071,\"description\":\"wrong last sequence: 1\"},\"stream\":\"ORD\",\"seq\":0}",
	};
	GString *srv = g_string_new("");
	for (int k = 0; k < 3; k++)
		g_string_append_printf(srv, "MSG %s.%d 1 %zu\r\n%s\r\n", reply1, k + 1, strlen(answers[k]), answers[k]);
	char *server = g_string_free(srv, FALSE);
	h_feed(h, server);
	g_assert_cmpstr(h->replies->str, ==, "ok:ORD:1:0:0;ok:ORD:1:1:0;jetstream error::0:0:10071;");
	g_assert_cmpuint(client_js_publish_pending(h->conn), ==, 0);
	g_free(server);
	g_free(reply1);
	g_free(want);
	g_free(out);
	h_free(h);
}

/* Metadata from ack subjects: the 9-token v1 form, the 11-token v2 form
 * with domain "_" (none) or a real domain, 12 tokens (a trailing token),
 * and malformed ones rejected. */
static void
test_js_meta(void)
{
	ClientJsMeta m;
	g_assert_cmpint(client_js_meta_parse("$JS.ACK.ORD.work.3.17.42.1700000000000000000.5", &m), ==, CLIENT_OK);
	g_assert_cmpstr(m.stream, ==, "ORD");
	g_assert_cmpstr(m.consumer, ==, "work");
	g_assert_cmpstr(m.domain, ==, "");
	g_assert_cmpuint(m.delivered, ==, 3);
	g_assert_cmpuint(m.stream_seq, ==, 17);
	g_assert_cmpuint(m.consumer_seq, ==, 42);
	g_assert_cmpint(m.timestamp_ns, ==, 1700000000000000000);
	g_assert_cmpuint(m.pending, ==, 5);
	g_assert_cmpint(client_js_meta_parse("$JS.ACK._.ACCHASH.ORD.work.1.2.3.4.5", &m), ==, CLIENT_OK);
	g_assert_cmpstr(m.domain, ==, "");
	g_assert_cmpstr(m.stream, ==, "ORD");
	g_assert_cmpuint(m.consumer_seq, ==, 3);
	g_assert_cmpint(client_js_meta_parse("$JS.ACK.hub.ACCHASH.ORD.work.1.2.3.4.5.rnd", &m), ==, CLIENT_OK);
	g_assert_cmpstr(m.domain, ==, "hub");
	g_assert_cmpuint(m.pending, ==, 5);
	static const char *const bad[] = { "$JS.ACK.ORD.work.1.2.3.4", "$JS.ACK.a.b.c.1.2.3.4.5", "$JS.ACK.ORD.w.x.2.3.4.5",
		"$JS.NAK.ORD.work.1.2.3.4.5", "", "$JS.ACK.ORD..1.2.3.4.5", "$JS.ACK.S.C.1.2.3.99999999999999999999.5" };
	for (size_t k = 0; k < G_N_ELEMENTS(bad); k++)
		g_assert_cmpint(client_js_meta_parse(bad[k], &m), ==, CLIENT_ERR_INVALID_ARG);
	g_assert_cmpint(client_js_meta_parse(NULL, &m), ==, CLIENT_ERR_INVALID_ARG);
}

/* Ack bodies: +ACK, -NAK, -NAK with delay JSON, +TERM, +WPI on the ack
 * subject; ack-sync carries a reply and completes on the empty answer. */
static void
test_js_acks(void)
{
	H *h = h_new();
	h_connect(h, INFO_HDR);
	const char *r = "$JS.ACK.S.C.1.1.1.1.0";
	client_js_ack(h->conn, r, CLIENT_ACK_ACK, 0, h->now);
	client_js_ack(h->conn, r, CLIENT_ACK_NAK, 0, h->now);
	client_js_ack(h->conn, r, CLIENT_ACK_NAK, 500 * CLIENT_NS_PER_MS, h->now);
	client_js_ack(h->conn, r, CLIENT_ACK_TERM, 0, h->now);
	client_js_ack(h->conn, r, CLIENT_ACK_PROGRESS, 0, h->now);
	char *out = h_out(h);
	g_assert_cmpstr(out, ==,
	    "PUB $JS.ACK.S.C.1.1.1.1.0 4\r\n+ACK\r\nPUB $JS.ACK.S.C.1.1.1.1.0 4\r\n-NAK\r\n"
	    "PUB $JS.ACK.S.C.1.1.1.1.0 24\r\n-NAK {\"delay\":500000000}\r\nPUB $JS.ACK.S.C.1.1.1.1.0 5\r\n+TERM\r\n"
	    "PUB $JS.ACK.S.C.1.1.1.1.0 4\r\n+WPI\r\n");
	g_free(out);
	g_assert_cmpint(client_js_ack_sync(h->conn, r, CLIENT_ACK_ACK, 0, CLIENT_NS_PER_S, on_flush_log, h, h->now), ==,
	    CLIENT_OK);
	out = h_out(h);
	const char *p = strstr(out, "PUB $JS.ACK.S.C.1.1.1.1.0 ") + strlen("PUB $JS.ACK.S.C.1.1.1.1.0 ");
	char *reply = g_strndup(p, (size_t)(strchr(p, ' ') - p));
	char *ans = g_strdup_printf("MSG %s 1 0\r\n\r\n", reply);
	h_feed(h, ans);
	g_assert_cmpstr(h->replies->str, ==, "flush:ok;");
	g_free(ans);
	g_free(reply);
	g_free(out);
	h_free(h);
}

/* URLs and durations, including the malformed ones. */
static void
test_url_and_duration(void)
{
	ClientUrl u;
	g_assert_cmpint(client_url_parse("nats://alice:s3cr%40t@127.0.0.1:4333", &u), ==, CLIENT_OK);
	g_assert_cmpstr(u.host, ==, "127.0.0.1");
	g_assert_cmpuint(u.port, ==, 4333);
	g_assert_cmpstr(u.user, ==, "alice");
	g_assert_cmpstr(u.password, ==, "s3cr@t");
	client_url_clear(&u);
	g_assert_cmpint(client_url_parse("tok@localhost", &u), ==, CLIENT_OK);
	g_assert_cmpstr(u.token, ==, "tok");
	g_assert_cmpuint(u.port, ==, 4222);
	client_url_clear(&u);
	g_assert_cmpint(client_url_parse("[::1]:5000", &u), ==, CLIENT_OK);
	g_assert_cmpstr(u.host, ==, "::1");
	client_url_clear(&u);
	g_assert_cmpint(client_url_parse("http://x:1", &u), ==, CLIENT_ERR_INVALID_ARG);
	g_assert_cmpint(client_url_parse("x:99999", &u), ==, CLIENT_ERR_INVALID_ARG);
	g_assert_cmpint(client_url_parse("x:", &u), ==, CLIENT_ERR_INVALID_ARG);
	g_assert_cmpint(client_url_parse("", &u), ==, CLIENT_ERR_INVALID_ARG);
	int64_t ns;
	g_assert_cmpint(client_duration_parse("1.5s", &ns), ==, CLIENT_OK);
	g_assert_cmpint(ns, ==, 1500 * CLIENT_NS_PER_MS);
	g_assert_cmpint(client_duration_parse("2m30s", &ns), ==, CLIENT_OK);
	g_assert_cmpint(ns, ==, 150 * CLIENT_NS_PER_S);
	g_assert_cmpint(client_duration_parse("250ms", &ns), ==, CLIENT_OK);
	g_assert_cmpint(ns, ==, 250 * CLIENT_NS_PER_MS);
	g_assert_cmpint(client_duration_parse("3", &ns), ==, CLIENT_OK);
	g_assert_cmpint(ns, ==, 3 * CLIENT_NS_PER_S);
	g_assert_cmpint(client_duration_parse("1h", &ns), ==, CLIENT_OK);
	g_assert_cmpint(ns, ==, 3600 * CLIENT_NS_PER_S);
	g_assert_cmpint(client_duration_parse("5x", &ns), ==, CLIENT_ERR_INVALID_ARG);
	g_assert_cmpint(client_duration_parse("-1s", &ns), ==, CLIENT_ERR_INVALID_ARG);
	g_assert_cmpint(client_duration_parse("s", &ns), ==, CLIENT_ERR_INVALID_ARG);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	json_object_seed(1);
	g_test_add_func("/client/core/handshake", test_handshake);
	g_test_add_func("/client/core/handshake-no-headers-token", test_handshake_no_headers_token);
	g_test_add_func("/client/core/handshake-timeout", test_handshake_timeout);
	g_test_add_func("/client/core/msg-split-every-byte", test_msg_split_every_byte);
	g_test_add_func("/client/core/ping-answered", test_ping_answered);
	g_test_add_func("/client/core/request-no-responders", test_request_reply_and_no_responders);
	g_test_add_func("/client/core/flush", test_flush);
	g_test_add_func("/client/core/keepalive-stale", test_keepalive_stale);
	g_test_add_func("/client/core/max-payload", test_max_payload);
	g_test_add_func("/client/core/err-reactions", test_err_reactions);
	g_test_add_func("/client/core/malformed-input", test_malformed_input);
	g_test_add_func("/client/core/fuzz-server-bytes", test_fuzz_server_bytes);
	g_test_add_func("/client/core/api-misuse", test_api_misuse);
	g_test_add_func("/client/core/backoff-schedule", test_backoff_schedule);
	g_test_add_func("/client/core/resubscribe-and-buffer", test_resubscribe_and_buffer);
	g_test_add_func("/client/core/drain", test_drain);
	g_test_add_func("/client/core/unsub-max-and-sub-drain", test_unsub_max_and_sub_drain);
	g_test_add_func("/client/core/slow-consumer", test_slow_consumer);
	g_test_add_func("/client/js/fetch-statuses", test_fetch_statuses);
	g_test_add_func("/client/js/push-flow-control", test_push_flow_control);
	g_test_add_func("/client/js/publish-puback", test_js_publish);
	g_test_add_func("/client/js/meta", test_js_meta);
	g_test_add_func("/client/js/acks", test_js_acks);
	g_test_add_func("/client/util/url-duration", test_url_and_duration);
	return g_test_run();
}
