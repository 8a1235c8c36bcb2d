/*
 * bench_broker_core.c - how fast the broker core routes messages, with no
 * sockets in the way (a benchmark program, not a test: it prints figures
 * and asserts nothing about speed).
 *
 *   natsim-bench-core [--messages N] [--reps N] [--case NAME]
 *
 * One publisher and N subscriber connections on one broker; the publisher's
 * bytes go in as 64 KiB reads (as natsim-server's loop reads them), every
 * subscriber's output is taken out after each read (as the loop flushes at
 * the end of a turn). Prints nanoseconds of CPU per published message for
 * the shapes of the side-by-side cases (pubsub, fanout, queue with 16 and
 * 128 byte payloads, and a request-reply exchange), the best of --reps.
 */
#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "broker/broker.h"
#include "proto/assert.h"

#define READ_BYTES (64 * 1024)

static int64_t
cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
drain(Broker *b, BrokerConn *c, uint64_t *bytes)
{
	const uint8_t *data;
	size_t n;
	while ((n = broker_conn_send_peek(c, &data)) > 0) {
		*bytes += n;
		broker_conn_send_consume(b, c, n, 1);
	}
}

typedef struct Case {
	const char *name;
	int subs;
	bool queue;
	size_t payload;
	bool reply; /* PUB with a reply subject (a request) */
} Case;

/* ns of CPU per published message for one case. */
static double
run_case(const Case *k, uint64_t messages)
{
	BrokerConfig config = { 0 };
	Broker *b = broker_create(&config, 1, 1, NULL, NULL);
	BrokerConn *pub = broker_conn_open(b, "127.0.0.1", 1, 1);
	BrokerConn *subs[16];
	ASSERT(k->subs <= 16);
	uint64_t out_bytes = 0;
	static const char connect[] = "CONNECT {\"verbose\":false,\"pedantic\":false,\"headers\":true}\r\n";
	broker_conn_recv(b, pub, (const uint8_t *)connect, sizeof(connect) - 1, 1);
	for (int i = 0; i < k->subs; i++) {
		subs[i] = broker_conn_open(b, "127.0.0.1", (uint16_t)(2 + i), 1);
		char line[128];
		int n = snprintf(line, sizeof(line), "%sSUB bench.x %s1\r\n", connect, k->queue ? "q " : "");
		broker_conn_recv(b, subs[i], (const uint8_t *)line, (size_t)n, 1);
		drain(b, subs[i], &out_bytes);
	}
	drain(b, pub, &out_bytes);

	/* One read's worth of whole PUB operations. */
	GString *op = g_string_new(NULL);
	g_string_append_printf(op, "PUB bench.x %s%zu\r\n", k->reply ? "_INBOX.abcdefghijklmnopqrstuv.1 " : "",
	    k->payload);
	for (size_t i = 0; i < k->payload; i++)
		g_string_append_c(op, 'x');
	g_string_append(op, "\r\n");
	GString *chunk = g_string_new(NULL);
	uint64_t per_chunk = 0;
	while (chunk->len + op->len <= READ_BYTES) {
		g_string_append_len(chunk, op->str, (gssize)op->len);
		per_chunk++;
	}
	uint64_t chunks = (messages + per_chunk - 1) / per_chunk;
	int64_t t0 = cpu_ns();
	for (uint64_t i = 0; i < chunks; i++) {
		broker_conn_recv(b, pub, (const uint8_t *)chunk->str, chunk->len, 1);
		for (int s = 0; s < k->subs; s++)
			drain(b, subs[s], &out_bytes);
	}
	int64_t spent = cpu_ns() - t0;
	ASSERT(out_bytes > 0);
	g_string_free(op, TRUE);
	g_string_free(chunk, TRUE);
	broker_destroy(b);
	return (double)spent / (double)(chunks * per_chunk);
}

int
main(int argc, char **argv)
{
	gint64 messages = 4000000, reps = 3;
	char *only = NULL;
	GOptionEntry entries[] = {
		{ "case", 0, 0, G_OPTION_ARG_STRING, &only, "run only the case whose name starts with this", "NAME" },
		{ "messages", 0, 0, G_OPTION_ARG_INT64, &messages, "messages per case (default 4000000)", "N" },
		{ "reps", 0, 0, G_OPTION_ARG_INT64, &reps, "repetitions; the best is shown (default 3)", "N" },
		{ NULL },
	};
	GOptionContext *ctx = g_option_context_new("- the broker core's CPU per message");
	g_option_context_add_main_entries(ctx, entries, NULL);
	GError *error = NULL;
	if (!g_option_context_parse(ctx, &argc, &argv, &error) || messages <= 0 || reps <= 0) {
		fprintf(stderr, "natsim-bench-core: %s\n", error ? error->message : "bad arguments");
		return 2;
	}
	g_option_context_free(ctx);
	static const Case cases[] = {
		{ "pubsub16", 1, false, 16, false },
		{ "pubsub128", 1, false, 128, false },
		{ "pubsub1024", 1, false, 1024, false },
		{ "fanout16 (4 subscribers)", 4, false, 16, false },
		{ "queue16 (4 members)", 4, true, 16, false },
		{ "request16 (reply subject)", 1, false, 16, true },
	};
	printf("| case | ns CPU per published message (best of %" G_GINT64_FORMAT ") |\n|---|---|\n", reps);
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		if (only != NULL && !g_str_has_prefix(cases[i].name, only))
			continue;
		double best = 0;
		for (gint64 r = 0; r < reps; r++) {
			double ns = run_case(&cases[i], (uint64_t)messages);
			best = r == 0 || ns < best ? ns : best;
		}
		printf("| %s | %.1f |\n", cases[i].name, best);
	}
	g_free(only);
	return 0;
}
