/*
 * bench_kernel.c - how fast the simulator kernel runs (a benchmark program,
 * not a test: it prints figures and asserts nothing about speed).
 *
 *   natsim-bench-kernel [--events N] [--megabytes N]
 *
 * Prints timer events per wall second through the world's event loop (and
 * through the bare queue), and bytes per wall second through one virtual
 * connection, with and without random segmentation.
 */
#include <glib.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "proto/assert.h"
#include "sim/net.h"
#include "sim/tripwire.h"
#include "sim/world.h"

#define TIMERS 1024

typedef struct TimerBench {
	SimWorld *world;
	Prng prng;
	uint64_t fired;
	uint64_t target;
} TimerBench;

static void
timer_fire(void *ctx, uint64_t arg)
{
	TimerBench *tb = ctx;
	if (++tb->fired >= tb->target) {
		sim_world_stop(tb->world);
		return;
	}
	int64_t delay = (int64_t)(prng_next(&tb->prng) & 0xfffff) + 1; /* up to ~1 ms */
	sim_world_at(tb->world, sim_world_now_ns(tb->world) + delay, timer_fire, tb, arg);
}

static double
bench_world_timers(uint64_t events)
{
	TimerBench tb = { .target = events };
	tb.world = sim_world_create(&(SimWorldConfig){ .seed = 1, .link = sim_link_config_default() });
	prng_seed(&tb.prng, 1);
	for (uint64_t k = 0; k < TIMERS; k++)
		sim_world_at(tb.world, (int64_t)k, timer_fire, &tb, k);
	int64_t t0 = sim_tripwire_wall_ns();
	sim_world_run(tb.world, INT64_MAX);
	int64_t wall = sim_tripwire_wall_ns() - t0;
	ASSERT(tb.fired == events);
	sim_world_destroy(tb.world);
	return (double)events / ((double)wall / 1e9);
}

static void
noop(void *ctx, uint64_t arg)
{
	(void)ctx;
	(void)arg;
}

static double
bench_queue(uint64_t events)
{
	SimQueue queue;
	Prng prng;
	prng_seed(&prng, 2);
	sim_queue_init(&queue, NULL);
	int64_t now = 0;
	for (uint64_t k = 0; k < TIMERS; k++)
		sim_queue_push(&queue, &(SimEvent){ .at_ns = (int64_t)k, .fn = noop });
	int64_t t0 = sim_tripwire_wall_ns();
	for (uint64_t k = 0; k < events; k++) {
		SimEvent e;
		sim_queue_pop(&queue, &e);
		now = e.at_ns;
		e.at_ns = now + (int64_t)(prng_next(&prng) & 0xfffff) + 1;
		sim_queue_push(&queue, &e);
	}
	int64_t wall = sim_tripwire_wall_ns() - t0;
	sim_queue_deinit(&queue);
	return (double)events / ((double)wall / 1e9);
}

typedef struct Pipe {
	SimWorld *world;
	SimEnd *writer;
	SimEnd *reader;
	uint8_t chunk[65536];
	uint64_t to_write;
	uint64_t read;
	uint64_t total;
} Pipe;

static void
pipe_write_some(Pipe *p)
{
	while (p->to_write > 0) {
		size_t len = (size_t)MIN(p->to_write, sizeof(p->chunk));
		int64_t n = sim_end_write(p->writer, p->chunk, len);
		if (n <= 0)
			return;
		p->to_write -= (uint64_t)n;
	}
}

static void
writer_event(void *ctx, SimEnd *end, SimConnEvent event)
{
	(void)end;
	if (event == SIM_CONN_CONNECTED || event == SIM_CONN_WRITABLE)
		pipe_write_some(ctx);
}

static void
reader_event(void *ctx, SimEnd *end, SimConnEvent event)
{
	Pipe *p = ctx;
	if (event != SIM_CONN_READABLE)
		return;
	const uint8_t *data;
	size_t n = sim_end_peek(end, &data);
	sim_end_consume(end, n);
	p->read += n;
	if (p->read == p->total)
		sim_world_stop(p->world);
}

static void
pipe_accept(void *ctx, SimEnd *end)
{
	Pipe *p = ctx;
	p->reader = end;
	sim_end_set_handler(end, reader_event, p);
}

static double
bench_pipe(uint64_t bytes, bool segmented)
{
	SimWorldConfig config = { .seed = 1, .link = sim_link_config_default() };
	config.link.window_bytes = 1024 * 1024;
	if (segmented) {
		config.link.segment_bytes_max = 1460;
		config.link.segment_split_chance = 0.3;
		config.link.jitter_ns = 50 * SIM_NS_PER_US;
	}
	Pipe *p = g_new0(Pipe, 1);
	p->world = sim_world_create(&config);
	p->to_write = p->total = bytes;
	memset(p->chunk, 0x5a, sizeof(p->chunk));
	SimNode *a = sim_node_create(p->world, "a", NULL, NULL);
	SimNode *b = sim_node_create(p->world, "b", NULL, NULL);
	sim_net_listen(b, 1, pipe_accept, p);
	p->writer = sim_net_connect(a, b, 1, writer_event, p);
	int64_t t0 = sim_tripwire_wall_ns();
	sim_world_run(p->world, INT64_MAX);
	int64_t wall = sim_tripwire_wall_ns() - t0;
	ASSERT(p->read == bytes);
	sim_world_destroy(p->world);
	g_free(p);
	return (double)bytes / ((double)wall / 1e9);
}

int
main(int argc, char **argv)
{
	json_object_seed(1);
	gint64 events = 20000000, megabytes = 2048;
	GOptionEntry entries[] = {
		{ "events", 0, 0, G_OPTION_ARG_INT64, &events, "Timer events to run (default 2e7)", "N" },
		{ "megabytes", 0, 0, G_OPTION_ARG_INT64, &megabytes, "MiB through the network (default 2048)", "N" },
		{ NULL, 0, 0, 0, NULL, NULL, NULL },
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("- simulator kernel benchmark");
	g_option_context_add_main_entries(ctx, entries, NULL);
	g_autoptr(GError) error = NULL;
	if (!g_option_context_parse(ctx, &argc, &argv, &error) || argc > 1 || events <= 0 || megabytes <= 0) {
		fprintf(stderr, "natsim-bench-kernel: %s\n", error ? error->message : "bad arguments");
		g_autofree char *help = g_option_context_get_help(ctx, TRUE, NULL);
		fputs(help, stderr);
		return 2;
	}
	uint64_t bytes = (uint64_t)megabytes << 20;
	printf("natsim kernel benchmark (one core, wall-clock rates)\n");
	printf("| case | rate |\n|---|---|\n");
	printf("| timer events, world loop, %d timers | %.2f M events/s |\n", TIMERS,
	    bench_world_timers((uint64_t)events) / 1e6);
	printf("| timer events, bare queue, %d pending | %.2f M events/s |\n", TIMERS,
	    bench_queue((uint64_t)events) / 1e6);
	printf("| one connection, 64 KiB writes, whole segments | %.0f MB/s |\n", bench_pipe(bytes, false) / 1e6);
	printf("| one connection, 1460 B segments, random splits, jitter | %.0f MB/s |\n",
	    bench_pipe(bytes / 4, true) / 1e6);
	return 0;
}
