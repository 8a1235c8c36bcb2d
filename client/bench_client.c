/*
 * bench_client.c - libnatsim (client/tcp.h) against libnats (the official
 * C client, Debian libnats-dev) on the same nats-server, in the same run,
 * side by side.
 *
 *   natsim-bench-client [--url URL] [--msgs N] [--size BYTES] [--requests N] [--rounds N]
 *
 * Without --url it starts nats-server itself on a free loopback port and
 * stops it at the end. Cases:
 *   publish   N messages of BYTES to a subject nobody subscribes, then one
 *             flush round trip: msgs/s and MB/s over the whole (best and
 *             median round; and the median of the rounds' own ratios,
 *             since each round runs both back to back), and the
 *             publishing thread's CPU time per message (median round; the
 *             steadier figure on a busy machine, where the best round is
 *             whoever got a quiet moment);
 *   request   N sequential requests to a responder on a second connection
 *             of the same library (answering from its callback): p50, p90,
 *             p99 latency over all rounds. libnats runs with SendAsap (its
 *             low-latency mode; by default its flusher batches writes and a
 *             request costs about 1 ms).
 * Rounds alternate libraries so that machine noise hits both alike.
 * Benchmarks print figures; no test asserts speed.
 *
 * A real-world program (tests/lint_determinism.py DRIVER_FILES): clock,
 * threads, sockets, process spawning.
 */
#include <glib.h>
#include <nats/nats.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client/tcp.h"

static int64_t
now_ns(void)
{
	return client_tcp_now_ns();
}

/* CPU time of the calling thread (the publisher), ns. */
static int64_t
thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A publish round: the wall time of publishing and flushing, and the
 * publishing thread's CPU time for the publish calls alone. */
typedef struct PubRound {
	double wall_ns;
	double cpu_ns;
} PubRound;

/* ---- libnatsim ---- */

static void
natsim_echo(void *ctx, ClientConn *conn, const ClientMsg *m)
{
	(void)conn;
	if (m->reply != NULL)
		client_tcp_publish(ctx, m->reply, NULL, NULL, 0, m->data, m->data_len);
}

static PubRound
natsim_publish(const char *url, int msgs, const char *payload, int size)
{
	ClientTcpOptions o = client_tcp_options_default();
	o.url = url;
	ClientTcp *tcp;
	if (client_tcp_connect(&tcp, &o, 5 * CLIENT_NS_PER_S) != CLIENT_OK)
		return (PubRound){ -1, -1 };
	int64_t t0 = now_ns(), c0 = thread_cpu_ns();
	for (int k = 0; k < msgs; k++)
		client_tcp_publish(tcp, "bench.pub", NULL, NULL, 0, payload, (size_t)size);
	int64_t cpu = thread_cpu_ns() - c0;
	ClientStatus st = client_tcp_flush(tcp, 60 * CLIENT_NS_PER_S);
	int64_t dt = now_ns() - t0;
	client_tcp_destroy(tcp);
	return st == CLIENT_OK ? (PubRound){ (double)dt, (double)cpu } : (PubRound){ -1, -1 };
}

static bool
natsim_requests(const char *url, int n, const char *payload, int size, GArray *lat)
{
	ClientTcpOptions o = client_tcp_options_default();
	o.url = url;
	ClientTcp *rsp, *req;
	if (client_tcp_connect(&rsp, &o, 5 * CLIENT_NS_PER_S) != CLIENT_OK)
		return false;
	if (client_tcp_connect(&req, &o, 5 * CLIENT_NS_PER_S) != CLIENT_OK) {
		client_tcp_destroy(rsp);
		return false;
	}
	client_tcp_subscribe(rsp, "bench.req", NULL, natsim_echo, rsp, NULL);
	client_tcp_flush(rsp, 5 * CLIENT_NS_PER_S);
	bool ok = true;
	for (int k = 0; k < n && ok; k++) {
		ClientMsg *r = NULL;
		int64_t t0 = now_ns();
		ok = client_tcp_request(req, "bench.req", NULL, 0, payload, (size_t)size, 5 * CLIENT_NS_PER_S, &r) == CLIENT_OK;
		int64_t dt = now_ns() - t0;
		g_array_append_val(lat, dt);
		client_msg_free(r);
	}
	client_tcp_destroy(req);
	client_tcp_destroy(rsp);
	return ok;
}

/* ---- libnats ---- */

static void
nats_echo(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
	(void)sub;
	(void)closure;
	const char *reply = natsMsg_GetReply(msg);
	if (reply != NULL)
		natsConnection_Publish(nc, reply, natsMsg_GetData(msg), natsMsg_GetDataLength(msg));
	natsMsg_Destroy(msg);
}

static PubRound
nats_publish(const char *url, int msgs, const char *payload, int size)
{
	natsConnection *nc = NULL;
	if (natsConnection_ConnectTo(&nc, url) != NATS_OK)
		return (PubRound){ -1, -1 };
	int64_t t0 = now_ns(), c0 = thread_cpu_ns();
	for (int k = 0; k < msgs; k++)
		natsConnection_Publish(nc, "bench.pub", payload, size);
	int64_t cpu = thread_cpu_ns() - c0;
	natsStatus st = natsConnection_FlushTimeout(nc, 60000);
	int64_t dt = now_ns() - t0;
	natsConnection_Destroy(nc);
	return st == NATS_OK ? (PubRound){ (double)dt, (double)cpu } : (PubRound){ -1, -1 };
}

static bool
nats_requests(const char *url, int n, const char *payload, int size, GArray *lat)
{
	natsConnection *rsp = NULL, *req = NULL;
	natsSubscription *sub = NULL;
	/* SendAsap: libnats's low-latency mode (without it, its flusher
	 * batches writes and a request takes about 1 ms). */
	natsOptions *o = NULL;
	natsOptions_Create(&o);
	natsOptions_SetURL(o, url);
	natsOptions_SetSendAsap(o, true);
	bool connected = natsConnection_Connect(&rsp, o) == NATS_OK && natsConnection_Connect(&req, o) == NATS_OK;
	natsOptions_Destroy(o);
	if (!connected)
		return false;
	natsConnection_Subscribe(&sub, rsp, "bench.req", nats_echo, NULL);
	natsConnection_FlushTimeout(rsp, 5000);
	bool ok = true;
	for (int k = 0; k < n && ok; k++) {
		natsMsg *r = NULL;
		int64_t t0 = now_ns();
		ok = natsConnection_Request(&r, req, "bench.req", payload, size, 5000) == NATS_OK;
		int64_t dt = now_ns() - t0;
		g_array_append_val(lat, dt);
		natsMsg_Destroy(r);
	}
	natsSubscription_Destroy(sub);
	natsConnection_Destroy(req);
	natsConnection_Destroy(rsp);
	return ok;
}

/* ---- harness ---- */

static gint
cmp_i64(gconstpointer a, gconstpointer b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static gint
cmp_double(gconstpointer a, gconstpointer b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double
median(GArray *values)
{
	g_array_sort(values, cmp_double);
	return g_array_index(values, double, values->len / 2);
}

static double
pct_us(GArray *lat, double p)
{
	g_array_sort(lat, cmp_i64);
	size_t i = (size_t)(p * (double)(lat->len - 1) + 0.5);
	return (double)g_array_index(lat, int64_t, i) / 1e3;
}

static uint16_t
free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	bind(fd, (struct sockaddr *)&a, sizeof(a));
	socklen_t len = sizeof(a);
	getsockname(fd, (struct sockaddr *)&a, &len);
	close(fd);
	return ntohs(a.sin_port);
}

int
main(int argc, char **argv)
{
	const char *url = NULL;
	int msgs = 1000000, size = 16, requests = 20000, rounds = 3;
	GOptionEntry entries[] = {
		{ "url", 0, 0, G_OPTION_ARG_STRING, &url, "server (default: start nats-server)", "URL" },
		{ "msgs", 0, 0, G_OPTION_ARG_INT, &msgs, "messages per publish round", "N" },
		{ "size", 0, 0, G_OPTION_ARG_INT, &size, "payload bytes", "B" },
		{ "requests", 0, 0, G_OPTION_ARG_INT, &requests, "requests per round", "N" },
		{ "rounds", 0, 0, G_OPTION_ARG_INT, &rounds, "rounds per library", "N" },
		{ NULL },
	};
	GOptionContext *oc = g_option_context_new("- libnatsim vs libnats on one nats-server");
	g_option_context_add_main_entries(oc, entries, NULL);
	GError *err = NULL;
	if (!g_option_context_parse(oc, &argc, &argv, &err) || msgs <= 0 || size < 0 || requests <= 0 || rounds <= 0) {
		fprintf(stderr, "natsim-bench-client: %s\n", err ? err->message : "bad arguments");
		return 2;
	}
	g_option_context_free(oc);
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	GPid server = 0;
	char *own_url = NULL;
	if (url == NULL) {
		uint16_t port = free_port();
		char ps[8];
		g_snprintf(ps, sizeof(ps), "%u", port);
		const char *sargv[] = { "nats-server", "-a", "127.0.0.1", "-p", ps, NULL };
		if (!g_spawn_async(NULL, (char **)sargv, NULL,
		        G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
		        NULL, NULL, &server, &err)) {
			fprintf(stderr, "natsim-bench-client: cannot start nats-server: %s\n", err->message);
			return 1;
		}
		own_url = g_strdup_printf("nats://127.0.0.1:%u", port);
		url = own_url;
		g_usleep(300000);
	}
	char *payload = g_malloc(size > 0 ? (size_t)size : 1);
	memset(payload, 'x', size > 0 ? (size_t)size : 1);
	nats_Open(-1);

	double best_natsim = 0, best_nats = 0;
	GArray *rate_natsim = g_array_new(FALSE, FALSE, sizeof(double));
	GArray *rate_nats = g_array_new(FALSE, FALSE, sizeof(double));
	GArray *cpu_natsim = g_array_new(FALSE, FALSE, sizeof(double));
	GArray *cpu_nats = g_array_new(FALSE, FALSE, sizeof(double));
	GArray *round_ratio = g_array_new(FALSE, FALSE, sizeof(double)); /* natsim/nats, round by round */
	GArray *lat_natsim = g_array_new(FALSE, FALSE, sizeof(int64_t));
	GArray *lat_nats = g_array_new(FALSE, FALSE, sizeof(int64_t));
	bool ok = true;
	for (int r = 0; r < rounds && ok; r++) {
		PubRound a = natsim_publish(url, msgs, payload, size);
		PubRound b = nats_publish(url, msgs, payload, size);
		ok = a.wall_ns > 0 && b.wall_ns > 0;
		if (ok) {
			double ra = msgs / (a.wall_ns / 1e9), rb = msgs / (b.wall_ns / 1e9);
			double ca = a.cpu_ns / msgs, cb = b.cpu_ns / msgs;
			best_natsim = ra > best_natsim ? ra : best_natsim;
			best_nats = rb > best_nats ? rb : best_nats;
			g_array_append_val(rate_natsim, ra);
			g_array_append_val(rate_nats, rb);
			g_array_append_val(cpu_natsim, ca);
			g_array_append_val(cpu_nats, cb);
			double ratio = ra / rb;
			g_array_append_val(round_ratio, ratio);
			printf("round %d publish: libnatsim %.0f msgs/s (%.1f ns CPU/msg), libnats %.0f msgs/s (%.1f ns CPU/msg)\n",
			    r + 1, ra, ca, rb, cb);
		}
		ok = ok && natsim_requests(url, requests, payload, size, lat_natsim) &&
		    nats_requests(url, requests, payload, size, lat_nats);
	}
	if (!ok) {
		fprintf(stderr, "natsim-bench-client: a run failed\n");
	} else {
		printf("\nnats-server at %s; %d msgs x %d B per publish round; %d requests per round; %d rounds\n\n", url, msgs,
		    size, requests, rounds);
		printf("| case | libnatsim | libnats | ratio (natsim/nats) |\n|---|---|---|---|\n");
		printf("| publish, msgs/s (best round) | %.0f | %.0f | %.2fx |\n", best_natsim, best_nats,
		    best_natsim / best_nats);
		double ma = median(rate_natsim), mb = median(rate_nats);
		printf("| publish, msgs/s (median round) | %.0f | %.0f | %.2fx |\n", ma, mb, ma / mb);
		printf("| publish, median of the rounds' ratios (each round runs both back to back) | | | %.2fx |\n",
		    median(round_ratio));
		double pa = median(cpu_natsim), pb = median(cpu_nats);
		printf("| publish, publisher CPU ns/msg (median; lower is better) | %.1f | %.1f | %.2fx |\n", pa, pb,
		    pa / pb);
		printf("| publish, MB/s | %.1f | %.1f | |\n", best_natsim * size / 1e6, best_nats * size / 1e6);
		double a50 = pct_us(lat_natsim, 0.5), b50 = pct_us(lat_nats, 0.5);
		printf("| request p50, us | %.1f | %.1f | %.2fx |\n", a50, b50, a50 / b50);
		printf("| request p90, us | %.1f | %.1f | %.2fx |\n", pct_us(lat_natsim, 0.9), pct_us(lat_nats, 0.9),
		    pct_us(lat_natsim, 0.9) / pct_us(lat_nats, 0.9));
		printf("| request p99, us | %.1f | %.1f | %.2fx |\n", pct_us(lat_natsim, 0.99), pct_us(lat_nats, 0.99),
		    pct_us(lat_natsim, 0.99) / pct_us(lat_nats, 0.99));
	}
	nats_Close();
	g_array_free(rate_natsim, TRUE);
	g_array_free(rate_nats, TRUE);
	g_array_free(cpu_natsim, TRUE);
	g_array_free(cpu_nats, TRUE);
	g_array_free(round_ratio, TRUE);
	g_array_free(lat_natsim, TRUE);
	g_array_free(lat_nats, TRUE);
	g_free(payload);
	if (server > 0) {
		kill(server, SIGTERM);
		waitpid(server, NULL, 0);
	}
	g_free(own_url);
	return ok ? 0 : 1;
}
