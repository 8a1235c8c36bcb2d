/*
 * fuzz_broker.c - libFuzzer target: the broker core fed arbitrary bytes on
 * three connections, with time moving and output drained (or not). The
 * core must never crash, must keep its invariants (its ASSERTs are on),
 * and must free everything (LeakSanitizer).
 *
 * Inputs starting with 'A' run with auth on; inputs starting with 'J' run
 * with JetStream on (streams in memory), so API requests, publishes into
 * streams, pull requests and acks get fuzzed too.
 *
 * Input format: a sequence of records; each record's first byte picks the
 * connection (low 2 bits), whether to drain output (bit 2), whether to
 * advance time (bit 3, by the next byte in 10 ms units), and the length of
 * the bytes that follow (high 4 bits, times 8, plus one).
 */
#include <glib.h>
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include "broker/broker.h"
#include "proto/assert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_object_seed(1);
	BrokerConfig config = {
		.payload_max_bytes = 2048,
		.pending_bytes_max = 8192,
		.control_line_max = 512,
		.subscriptions_max = 50,
		.ping_interval_ns = 1000000000,
		.auth_timeout_ns = 500000000,
	};
	/* Some inputs run with auth on, some with JetStream. */
	if (size > 0 && data[0] == 'A') {
		config.user = "u";
		config.password = "p";
	}
	config.jetstream = size > 0 && data[0] == 'J';
	int64_t now = 1700000000000000000;
	Broker *b = broker_create(&config, 42, now, NULL, NULL);
	BrokerConn *conns[3];
	bool open[3];
	for (int k = 0; k < 3; k++) {
		conns[k] = broker_conn_open(b, "10.0.0.1", (uint16_t)(1000 + k), now);
		open[k] = true;
	}
	size_t off = config.jetstream ? 1 : 0; /* 'J' only picks the mode */
	while (off < size) {
		uint8_t head = data[off++];
		int k = head & 3;
		if (k == 3)
			k = 2;
		if (head & 8 && off < size) {
			now += (int64_t)data[off++] * 10000000;
			broker_on_timeout(b, now);
		}
		size_t len = (size_t)(head >> 4) * 8 + 1;
		if (len > size - off)
			len = size - off;
		if (open[k] && !broker_conn_closing(conns[k]))
			broker_conn_recv(b, conns[k], data + off, len, now);
		off += len;
		for (int j = 0; j < 3; j++) {
			if (!open[j])
				continue;
			const uint8_t *out;
			size_t n = broker_conn_send_peek(conns[j], &out);
			if (head & 4 || broker_conn_closing(conns[j]))
				broker_conn_send_consume(b, conns[j], n, now);
			if (broker_conn_closing(conns[j])) {
				broker_conn_close(b, conns[j], BROKER_CLOSE_CLIENT, now);
				open[j] = false;
			}
		}
	}
	/* Ask the monitor about what is left: it must cope with any state. */
	int status;
	const char *type;
	BrokerMonitorArg args[] = { { "subs", "detail" }, { "state", "all" } };
	g_free(broker_monitor(b, "/connz", args, 2, NULL, now, &status, &type));
	BrokerMonitorArg sargs[] = { { "subs", "1" } };
	g_free(broker_monitor(b, "/subsz", sargs, 1, NULL, now, &status, &type));
	g_free(broker_monitor(b, "/varz", NULL, 0, NULL, now, &status, &type));
	BrokerMonitorArg jargs[] = { { "accounts", "true" }, { "streams", "true" }, { "consumers", "true" },
		{ "config", "true" } };
	char *jsz = broker_monitor(b, "/jsz", jargs, 4, NULL, now, &status, &type);
	if (g_getenv("FUZZ_SHOW_JSZ") != NULL)
		fprintf(stderr, "%s\n", jsz);
	g_free(jsz);
	broker_destroy(b);
	return 0;
}
