/*
 * example_jetstream.c - a stream, publishing with PubAck, a durable pull
 * consumer, fetch and ack.
 *
 *   example_jetstream [URL]      (the server needs JetStream: nats-server -js)
 */
#include <stdio.h>
#include <string.h>

#include "client/tcp.h"

int
main(int argc, char **argv)
{
	ClientTcpOptions o = client_tcp_options_default();
	if (argc > 1)
		o.url = argv[1];
	ClientTcp *tcp;
	if (client_tcp_connect(&tcp, &o, 2 * CLIENT_NS_PER_S) != CLIENT_OK) {
		fprintf(stderr, "cannot connect\n");
		return 1;
	}
	const char *subjects[] = { "example.orders.*" };
	ClientStreamConfig sc = { .name = "EXAMPLE_ORDERS", .subjects = subjects, .subjects_count = 1,
		.storage = CLIENT_JS_MEMORY };
	ClientJsError err;
	ClientStatus st = client_tcp_stream_add(tcp, &sc, 2 * CLIENT_NS_PER_S, NULL, &err);
	if (st != CLIENT_OK) {
		fprintf(stderr, "stream add: %s %s\n", client_status_str(st), err.description);
		client_tcp_destroy(tcp);
		return 1;
	}
	for (int k = 1; k <= 3; k++) {
		char body[16];
		snprintf(body, sizeof(body), "order %d", k);
		ClientPubAck ack;
		st = client_tcp_js_publish(tcp, "example.orders.new", body, strlen(body), NULL, 2 * CLIENT_NS_PER_S, &ack, &err);
		printf("stored in %s as seq %llu\n", ack.stream, (unsigned long long)ack.seq);
	}
	ClientConsumerConfig cc = { .durable_name = "worker", .ack_policy = CLIENT_JS_ACK_EXPLICIT };
	client_tcp_consumer_add(tcp, "EXAMPLE_ORDERS", &cc, 2 * CLIENT_NS_PER_S, NULL, &err);
	ClientFetchOptions fo = { .batch = 3, .expires_ns = CLIENT_NS_PER_S };
	GPtrArray *msgs = NULL;
	st = client_tcp_js_fetch(tcp, "EXAMPLE_ORDERS", "worker", &fo, &msgs, NULL);
	for (guint k = 0; msgs != NULL && k < msgs->len; k++) {
		ClientMsg *m = g_ptr_array_index(msgs, k);
		ClientJsMeta meta;
		client_js_meta_parse(m->reply, &meta);
		printf("%.*s (stream seq %llu, delivered %llu)\n", (int)m->data_len, (const char *)m->data,
		    (unsigned long long)meta.stream_seq, (unsigned long long)meta.delivered);
		client_tcp_js_ack(tcp, m, CLIENT_ACK_ACK, 0);
	}
	bool ok = msgs != NULL && msgs->len == 3;
	if (msgs != NULL)
		g_ptr_array_free(msgs, TRUE);
	client_tcp_js_api(tcp, "STREAM.DELETE.EXAMPLE_ORDERS", NULL, 2 * CLIENT_NS_PER_S, NULL, NULL);
	client_tcp_destroy(tcp);
	return ok ? 0 : 1;
}
