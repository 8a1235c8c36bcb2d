/*
 * bench_filestore.c - natsim-bench-filestore: how fast the JetStream file
 * store stores, syncs and recovers, on a real directory (the POSIX
 * storage seam). A benchmark program, not a test: it prints figures and
 * asserts nothing about them (docs/benchmarks.md keeps the numbers).
 *
 * A real-world driver file (tests/lint_determinism.py lists it): it reads
 * the clock and makes a temporary directory. The store itself still only
 * sees the seam and the times it is handed.
 *
 *   natsim-bench-filestore [--msgs N] [--payload BYTES] [--always N] [--dir PATH]
 *
 * Phases: N stores with INTERVAL sync (the timer run as a broker would,
 * every 100 ms of wall time, plus a final sync); --always stores with
 * ALWAYS sync (one fsync each); a full recovery (close, open) of the N
 * messages; a sequential read of them all (load_next).
 */
#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker/js/store.h"
#include "broker/storage.h"

#define BENCH_SUBJECTS 16
#define BENCH_TIMER_NS INT64_C(100000000)

static int64_t
mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * INT64_C(1000000000) + ts.tv_nsec;
}

static int64_t
wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * INT64_C(1000000000) + ts.tv_nsec;
}

static JsStore *
bench_open(BrokerStorage *st, const char *stream, JsStoreSync sync)
{
	JsStoreConfig config = { .stream = stream, .sync = sync, .sync_interval_ns = 1000000000 };
	JsStoreStatus status;
	char *report = NULL;
	JsStore *s = js_filestore_open(st, &config, wall_ns(), &report, &status);
	if (s == NULL) {
		fprintf(stderr, "bench: open failed: %s\n", js_store_status_str(status));
		exit(1);
	}
	if (report != NULL) {
		fprintf(stderr, "bench: recovery report:\n%s\n", report);
		g_free(report);
	}
	return s;
}

/* Stores n messages; returns the wall time it took (ns). */
static int64_t
bench_store(JsStore *s, uint64_t n, const uint8_t *payload, size_t payload_len, bool run_timer)
{
	char subjects[BENCH_SUBJECTS][24];
	for (int k = 0; k < BENCH_SUBJECTS; k++)
		g_snprintf(subjects[k], sizeof(subjects[k]), "bench.orders.%d", k);
	int64_t start = mono_ns(), next_timer = start + BENCH_TIMER_NS;
	for (uint64_t k = 0; k < n; k++) {
		const char *subject = subjects[k % BENCH_SUBJECTS];
		uint64_t seq;
		JsStoreStatus status =
		    s->ops->store(s, subject, strlen(subject), NULL, 0, payload, payload_len, wall_ns(), &seq);
		if (status != JS_STORE_OK) {
			fprintf(stderr, "bench: store failed: %s\n", js_store_status_str(status));
			exit(1);
		}
		if (run_timer && (k & 1023) == 0) {
			int64_t now = mono_ns();
			if (now >= next_timer) {
				s->ops->on_timer(s, wall_ns());
				next_timer = now + BENCH_TIMER_NS;
			}
		}
	}
	if (s->ops->sync(s) != JS_STORE_OK) {
		fprintf(stderr, "bench: sync failed\n");
		exit(1);
	}
	return mono_ns() - start;
}

static double
per_s(uint64_t n, int64_t ns)
{
	return ns > 0 ? (double)n * 1e9 / (double)ns : 0;
}

static uint64_t
parse_count(const char *flag, const char *value)
{
	char *end = NULL;
	errno = 0;
	unsigned long long v = strtoull(value, &end, 10);
	if (errno != 0 || end == value || *end != '\0') {
		fprintf(stderr, "natsim-bench-filestore: %s wants a number, got '%s'\n", flag, value);
		exit(2);
	}
	return v;
}

int
main(int argc, char **argv)
{
	uint64_t msgs = 1000000, always = 2000, payload_len = 128;
	const char *dir_arg = NULL;
	for (int k = 1; k < argc; k++) {
		if (k + 1 < argc && strcmp(argv[k], "--msgs") == 0)
			msgs = parse_count(argv[k], argv[k + 1]), k++;
		else if (k + 1 < argc && strcmp(argv[k], "--always") == 0)
			always = parse_count(argv[k], argv[k + 1]), k++;
		else if (k + 1 < argc && strcmp(argv[k], "--payload") == 0)
			payload_len = parse_count(argv[k], argv[k + 1]), k++;
		else if (k + 1 < argc && strcmp(argv[k], "--dir") == 0)
			dir_arg = argv[++k];
		else {
			fprintf(stderr, "usage: natsim-bench-filestore [--msgs N] [--payload BYTES] [--always N] [--dir PATH]\n");
			return 2;
		}
	}
	if (payload_len > 1024 * 1024) {
		fprintf(stderr, "natsim-bench-filestore: --payload is at most 1048576\n");
		return 2;
	}
	GError *error = NULL;
	char *dir = dir_arg != NULL ? g_strdup(dir_arg) : g_dir_make_tmp("natsim-bench-filestore-XXXXXX", &error);
	if (dir == NULL) {
		fprintf(stderr, "bench: %s\n", error->message);
		return 1;
	}
	BrokerStorage *st = broker_storage_posix_create(dir, &error);
	if (st == NULL) {
		fprintf(stderr, "bench: %s\n", error->message);
		return 1;
	}
	uint8_t *payload = g_malloc(payload_len + 1);
	for (uint64_t k = 0; k < payload_len; k++)
		payload[k] = (uint8_t)('a' + k % 26);
	printf("file store benchmark in %s: %" PRIu64 "-byte payloads, %d subjects\n", dir, payload_len,
	    BENCH_SUBJECTS);

	JsStore *s = bench_open(st, "BENCH", JS_STORE_SYNC_INTERVAL);
	int64_t ns = bench_store(s, msgs, payload, payload_len, true);
	JsStoreState state;
	s->ops->state(s, &state);
	printf("store, INTERVAL sync:   %10" PRIu64 " msgs in %8.3f s = %10.0f msgs/s, %7.1f MB/s (stored bytes)\n",
	    msgs, (double)ns / 1e9, per_s(msgs, ns), per_s(state.bytes, ns) / 1e6);
	s->ops->close(s);

	int64_t start = mono_ns();
	s = bench_open(st, "BENCH", JS_STORE_SYNC_INTERVAL);
	int64_t recover_ns = mono_ns() - start;
	s->ops->state(s, &state);
	printf("recovery (open):        %10" PRIu64 " msgs in %8.3f s = %10.0f msgs/s\n", state.msgs,
	    (double)recover_ns / 1e9, per_s(state.msgs, recover_ns));

	start = mono_ns();
	uint64_t read = 0;
	JsStoredMsg m;
	for (uint64_t seq = 1; s->ops->load_next(s, NULL, seq, &m) == JS_STORE_OK; seq = m.seq + 1)
		read++;
	ns = mono_ns() - start;
	printf("sequential load_next:   %10" PRIu64 " msgs in %8.3f s = %10.0f msgs/s\n", read, (double)ns / 1e9,
	    per_s(read, ns));
	s->ops->destroy_all(s);

	s = bench_open(st, "BENCH_ALWAYS", JS_STORE_SYNC_ALWAYS);
	ns = bench_store(s, always, payload, payload_len, false);
	printf("store, ALWAYS sync:     %10" PRIu64 " msgs in %8.3f s = %10.0f msgs/s (= fsyncs/s)\n", always,
	    (double)ns / 1e9, per_s(always, ns));
	s->ops->destroy_all(s);

	broker_storage_posix_destroy(st);
	if (dir_arg == NULL)
		g_rmdir(dir);
	g_free(dir);
	g_free(payload);
	return 0;
}
