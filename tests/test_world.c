/*
 * test_world.c - the virtual clock, node-owned events, crash and restart,
 * seed derivation, and the ASSERT crash report.
 */
#include <glib.h>
#include <jansson.h>

#include "proto/assert.h"
#include "sim/world.h"

static SimWorld *
world_new(uint64_t seed)
{
	return sim_world_create(&(SimWorldConfig){ .seed = seed, .link = sim_link_config_default() });
}

typedef struct Log {
	SimWorld *world;
	GArray *times;
	GArray *args;
} Log;

static void
log_event(void *ctx, uint64_t arg)
{
	Log *log = ctx;
	int64_t now = sim_world_now_ns(log->world);
	g_array_append_val(log->times, now);
	g_array_append_val(log->args, arg);
}

static Log *
log_new(SimWorld *world)
{
	Log *log = g_new0(Log, 1);
	log->world = world;
	log->times = g_array_new(FALSE, FALSE, sizeof(int64_t));
	log->args = g_array_new(FALSE, FALSE, sizeof(uint64_t));
	return log;
}

static void
log_free(Log *log)
{
	g_array_free(log->times, TRUE);
	g_array_free(log->args, TRUE);
	g_free(log);
}

/* Time only moves forward; run(until) stops at until with later events
 * still queued, and a later run continues from there. */
static void
test_clock_monotonic(void)
{
	SimWorld *world = world_new(1);
	Log *log = log_new(world);
	sim_world_at(world, 50, log_event, log, 1);
	sim_world_at(world, 30, log_event, log, 2);
	sim_world_at(world, 90, log_event, log, 3);
	sim_world_at(world, 30, log_event, log, 4);
	g_assert_cmpint(sim_world_run(world, 60), ==, SIM_RUN_UNTIL);
	g_assert_cmpint(sim_world_now_ns(world), ==, 60);
	g_assert_cmpuint(log->times->len, ==, 3);
	g_assert_cmpint(sim_world_run(world, INT64_MAX), ==, SIM_RUN_IDLE);
	g_assert_cmpuint(log->times->len, ==, 4);
	for (guint k = 1; k < log->times->len; k++)
		g_assert_cmpint(g_array_index(log->times, int64_t, k - 1), <=, g_array_index(log->times, int64_t, k));
	g_assert_cmpuint(g_array_index(log->args, uint64_t, 0), ==, 2);
	g_assert_cmpuint(g_array_index(log->args, uint64_t, 1), ==, 4);
	log_free(log);
	sim_world_destroy(world);
}

/* Scheduling into the past is a programmer error: the kernel asserts. */
static void
test_past_event_asserts(void)
{
	if (g_test_subprocess()) {
		SimWorld *world = world_new(1);
		Log *log = log_new(world);
		sim_world_at(world, 100, log_event, log, 1);
		sim_world_run(world, INT64_MAX);
		sim_world_at(world, 99, log_event, log, 2);
		return;
	}
	g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
	g_test_trap_assert_failed();
	g_test_trap_assert_stderr("*ASSERT failed: at_ns >= world->now_ns*seed=1 t=0.000000100s*");
}

/* An ASSERT in code the simulator drives names the seed and virtual time. */
static void
assert_later(void *ctx, uint64_t arg)
{
	(void)ctx;
	ASSERT(arg == 0);
}

static void
test_assert_reports_seed_and_time(void)
{
	if (g_test_subprocess()) {
		SimWorld *world = world_new(42);
		sim_world_at(world, 1500 * SIM_NS_PER_MS, assert_later, NULL, 7);
		sim_world_run(world, INT64_MAX);
		return;
	}
	g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
	g_test_trap_assert_failed();
	g_test_trap_assert_stderr("*ASSERT failed: arg == 0 at *test_world.c:*(seed=42 t=1.500000000s)*");
}

typedef struct Owned {
	SimNode *node;
	Log *log;
} Owned;

static void
owned_start(SimNode *node, void *ctx)
{
	Owned *o = ctx;
	o->node = node;
	/* Each incarnation schedules one event 10 ms after it starts. */
	sim_node_at(node, sim_world_now_ns(sim_node_world(node)) + 10 * SIM_NS_PER_MS, log_event, o->log,
	    sim_node_incarnation(node));
}

static const SimNodeOps owned_ops = { owned_start, NULL };

static void
crash_event(void *ctx, uint64_t arg)
{
	(void)arg;
	sim_node_crash(ctx);
}

static void
restart_event(void *ctx, uint64_t arg)
{
	(void)arg;
	sim_node_restart(ctx);
}

/* A crash drops every event the node scheduled; the restarted node's own
 * events run. */
static void
test_node_events_dropped_on_crash(void)
{
	SimWorld *world = world_new(1);
	Owned o = { .log = log_new(world) };
	SimNode *node = sim_node_create(world, "n", &owned_ops, &o);
	sim_world_at(world, 5 * SIM_NS_PER_MS, crash_event, node, 0);
	sim_world_at(world, 7 * SIM_NS_PER_MS, restart_event, node, 0);
	sim_world_run(world, INT64_MAX);
	g_assert_cmpuint(o.log->args->len, ==, 1);
	g_assert_cmpuint(g_array_index(o.log->args, uint64_t, 0), ==, 1); /* incarnation 1 */
	g_assert_cmpint(g_array_index(o.log->times, int64_t, 0), ==, 17 * SIM_NS_PER_MS);
	log_free(o.log);
	sim_world_destroy(world);
}

/* A node's seed depends on the master seed, its name and its incarnation,
 * not on which other nodes exist. */
static void
test_streams_independent(void)
{
	SimWorld *w1 = world_new(9);
	SimNode *a1 = sim_node_create(w1, "a", NULL, NULL);
	uint64_t seed_a = sim_node_seed(a1);
	sim_world_destroy(w1);

	SimWorld *w2 = world_new(9);
	sim_node_create(w2, "z", NULL, NULL);
	SimNode *a2 = sim_node_create(w2, "a", NULL, NULL);
	g_assert_cmpuint(sim_node_seed(a2), ==, seed_a);
	sim_node_crash(a2);
	sim_node_restart(a2);
	g_assert_cmpuint(sim_node_seed(a2), !=, seed_a);
	sim_world_destroy(w2);

	SimWorld *w3 = world_new(10);
	SimNode *a3 = sim_node_create(w3, "a", NULL, NULL);
	g_assert_cmpuint(sim_node_seed(a3), !=, seed_a);
	sim_world_destroy(w3);
}

static void
noop(void *ctx, uint64_t arg)
{
	(void)ctx;
	(void)arg;
}

/* Nodes see epoch + virtual time + their skew; jumps only go forward. */
static void
test_node_clock(void)
{
	SimWorld *world = world_new(1);
	SimNode *a = sim_node_create(world, "a", NULL, NULL);
	SimNode *b = sim_node_create(world, "b", NULL, NULL);
	g_assert_cmpint(sim_world_run(world, 3 * SIM_NS_PER_S), ==, SIM_RUN_IDLE);
	g_assert_cmpint(sim_node_clock_ns(a), ==, SIM_EPOCH_UNIX_NS);
	sim_world_at(world, 3 * SIM_NS_PER_S, noop, NULL, 0);
	sim_world_run(world, INT64_MAX);
	g_assert_cmpint(sim_node_clock_ns(a), ==, SIM_EPOCH_UNIX_NS + 3 * SIM_NS_PER_S);
	sim_node_clock_jump(b, 60 * SIM_NS_PER_S);
	g_assert_cmpint(sim_node_clock_ns(b), ==, SIM_EPOCH_UNIX_NS + 63 * SIM_NS_PER_S);
	g_assert_cmpint(sim_node_clock_ns(a), ==, SIM_EPOCH_UNIX_NS + 3 * SIM_NS_PER_S);
	sim_world_destroy(world);
}

static void
forever(void *ctx, uint64_t arg)
{
	SimWorld *world = ctx;
	sim_world_at(world, sim_world_now_ns(world) + 1, forever, world, arg);
}

/* A run that never goes idle stops at the event limit. */
static void
test_event_limit(void)
{
	SimWorld *world = sim_world_create(&(SimWorldConfig){ .seed = 1, .event_limit = 1000 });
	sim_world_at(world, 0, forever, world, 0);
	g_assert_cmpint(sim_world_run(world, INT64_MAX), ==, SIM_RUN_LIMIT);
	g_assert_cmpuint(sim_world_events_run(world), ==, 1000);
	sim_world_destroy(world);
}

int
main(int argc, char **argv)
{
	json_object_seed(1);
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/sim/world/clock-monotonic", test_clock_monotonic);
	g_test_add_func("/sim/world/past-event-asserts", test_past_event_asserts);
	g_test_add_func("/sim/world/assert-reports-seed-and-time", test_assert_reports_seed_and_time);
	g_test_add_func("/sim/world/node-events-dropped-on-crash", test_node_events_dropped_on_crash);
	g_test_add_func("/sim/world/streams-independent", test_streams_independent);
	g_test_add_func("/sim/world/node-clock", test_node_clock);
	g_test_add_func("/sim/world/event-limit", test_event_limit);
	return g_test_run();
}
