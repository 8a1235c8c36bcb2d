/*
 * fuzz_client.c - libFuzzer target: the client core fed arbitrary server
 * bytes, with a subscription, a queued subscription, a request, a flush, a
 * JetStream publish, a fetch and a push subscription in flight, time
 * moving, output drained, and the transport lost and reopened. The core
 * must never crash, must keep its invariants (ASSERTs on) and must free
 * everything (LeakSanitizer); malformed bytes end in an error and a
 * closed transport, which the next record reopens.
 *
 * Input format: a sequence of records; each record's first byte picks
 * what happens (low 2 bits: 0 feed the bytes that follow, 1 advance time
 * by the next byte in 100 ms units and run the timers, 2 drain the output,
 * 3 lose the transport and open a new one) and the length of the bytes
 * that follow (high 5 bits, times 4, plus one) for a feed.
 */
#include <glib.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "client/client.h"
#include "client/js.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
on_msg(void *ctx, ClientConn *conn, const ClientMsg *msg)
{
	(void)ctx;
	/* Reading what a message offers must be safe whatever came. */
	char buf[64];
	(void)client_msg_header(msg, "Nats-Msg-Id", buf, sizeof(buf));
	if (msg->reply != NULL && msg->reply_len > 8 && memcmp(msg->reply, "$JS.ACK.", 8) == 0) {
		char *reply = g_strndup(msg->reply, msg->reply_len);
		ClientJsMeta meta;
		if (client_js_meta_parse(reply, &meta) == CLIENT_OK)
			(void)client_js_ack(conn, reply, CLIENT_ACK_ACK, 0, 0);
		g_free(reply);
	}
}

static void
on_reply(void *ctx, ClientConn *conn, ClientStatus status, const ClientMsg *msg)
{
	(void)ctx;
	(void)conn;
	(void)status;
	(void)msg;
}

static void
on_flush(void *ctx, ClientConn *conn, ClientStatus status)
{
	(void)ctx;
	(void)conn;
	(void)status;
}

static void
on_puback(void *ctx, ClientConn *conn, ClientStatus status, const ClientPubAck *ack, const ClientJsError *err)
{
	(void)ctx;
	(void)conn;
	(void)status;
	(void)ack;
	(void)err;
}

static void
on_fetch_done(void *ctx, ClientConn *conn, ClientStatus status, uint32_t received, int code, const char *text)
{
	(void)ctx;
	(void)conn;
	(void)status;
	(void)received;
	(void)code;
	(void)text;
}

static void
start_calls(ClientConn *c, int64_t now)
{
	uint64_t sid;
	(void)client_subscribe(c, "foo.>", NULL, on_msg, NULL, &sid, now);
	(void)client_subscribe(c, "q", "workers", NULL, NULL, &sid, now);
	(void)client_sub_set_pending_limits(c, sid, 4, 256);
	(void)client_request(c, "svc", NULL, 0, "ping", 4, 2000000000, on_reply, NULL, NULL, now);
	(void)client_flush(c, 1000000000, on_flush, NULL, now);
	ClientJsPubOptions po = CLIENT_JS_PUB_OPTIONS_INIT;
	po.msg_id = "m1";
	(void)client_js_publish(c, "orders.new", "x", 1, &po, 1000000000, on_puback, NULL, now);
	ClientFetchOptions fo = { .batch = 3, .expires_ns = 1000000000, .idle_heartbeat_ns = 200000000 };
	(void)client_js_fetch(c, "ORDERS", "worker", &fo, on_msg, on_fetch_done, NULL, NULL, now);
	(void)client_js_push_subscribe(c, "dlv", NULL, 100000000, on_msg, NULL, &sid, now);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_object_seed(1);
	ClientOptions o = client_options_default();
	o.name = "fuzz";
	o.reconnect_wait_ns = 10000000;
	int64_t now = 1700000000000000000;
	ClientConn *c = NULL;
	if (client_conn_create(&c, &o, NULL, NULL, 42, now) != CLIENT_OK)
		return 0;
	bool open = false;
	start_calls(c, now);
	size_t off = 0;
	while (off < size) {
		/* What a driver does: open when asked, close when asked. */
		if (!open && client_conn_transport_want(c) == CLIENT_WANT_OPEN) {
			client_conn_transport_open(c, now);
			open = true;
		}
		uint8_t head = data[off++];
		switch (head & 3) {
		case 0: {
			size_t len = (size_t)(head >> 3) * 4 + 1;
			if (len > size - off)
				len = size - off;
			if (open && client_conn_transport_want(c) != CLIENT_WANT_CLOSE)
				(void)client_conn_recv(c, data + off, len, now);
			off += len;
			break;
		}
		case 1:
			if (off < size)
				now += (int64_t)data[off++] * 100000000;
			if (now >= client_conn_next_deadline_ns(c))
				client_conn_on_timeout(c, now);
			break;
		case 2: {
			const uint8_t *out;
			size_t n = client_conn_send_peek(c, &out);
			if (open && n > 0)
				client_conn_send_consume(c, n, now);
			break;
		}
		case 3:
			if (open) {
				client_conn_transport_closed(c, CLIENT_ERR_CONNECTION_LOST, now);
				open = false;
			}
			break;
		}
		if (open && client_conn_transport_want(c) == CLIENT_WANT_CLOSE) {
			client_conn_transport_closed(c, CLIENT_ERR_CONNECTION_LOST, now);
			open = false;
		}
	}
	if (open) {
		client_conn_close(c, now);
		client_conn_transport_closed(c, CLIENT_ERR_CONNECTION_LOST, now);
	}
	client_conn_destroy(c);
	return 0;
}
