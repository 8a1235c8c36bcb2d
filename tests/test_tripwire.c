/*
 * test_tripwire.c - while a simulation runs, a direct call to the clock,
 * the system's randomness or thread creation aborts with a message naming
 * it - from our code and from inside shared libraries (glib, jansson).
 * Each case runs in a subprocess, since it must abort.
 */
#include <glib.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>

#include "sim/tripwire.h"
#include "sim/world.h"

static SimWorld *
armed_world(void)
{
	SimWorld *world = sim_world_create(&(SimWorldConfig){ .seed = 1 });
	g_assert_true(sim_tripwire_armed());
	return world;
}

static void *
thread_main(void *arg)
{
	return arg;
}

static void
call_time(void)
{
	(void)time(NULL);
}

static void
call_clock_gettime(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
}

static void
call_rand(void)
{
	(void)rand();
}

static void
call_getrandom(void)
{
	char buf[4];
	(void)getrandom(buf, sizeof(buf), 0);
}

static void
call_pthread_create(void)
{
	pthread_t t;
	pthread_create(&t, NULL, thread_main, NULL);
}

/* From inside glib: g_get_monotonic_time() calls clock_gettime(). */
static void
call_glib_clock(void)
{
	(void)g_get_monotonic_time();
}

/* From inside glib: a new GRand seeds itself from /dev/urandom. (The
 * global one behind g_random_int() is seeded by g_test_init() here.) */
static void
call_glib_random(void)
{
	GRand *rand = g_rand_new();
	g_rand_free(rand);
}

/* From inside jansson: a process that never set json_object_seed() makes
 * jansson read /dev/urandom at its first object. */
static void
call_jansson_unseeded(void)
{
	json_t *obj = json_object();
	json_decref(obj);
}

typedef struct Case {
	const char *path;
	void (*call)(void);
	const char *expected;
} Case;

static const Case cases[] = {
	{ "/sim/tripwire/time", call_time, "*natsim tripwire: time() called*" },
	{ "/sim/tripwire/clock_gettime", call_clock_gettime, "*natsim tripwire: clock_gettime() called*" },
	{ "/sim/tripwire/rand", call_rand, "*natsim tripwire: rand() called*" },
	{ "/sim/tripwire/getrandom", call_getrandom, "*natsim tripwire: getrandom() called*" },
	{ "/sim/tripwire/pthread_create", call_pthread_create, "*natsim tripwire: pthread_create() called*" },
	{ "/sim/tripwire/glib-clock", call_glib_clock, "*natsim tripwire: clock_gettime() called*" },
	{ "/sim/tripwire/glib-random", call_glib_random, "*natsim tripwire: *open*(/dev/urandom) called*" },
	{ "/sim/tripwire/jansson-unseeded", call_jansson_unseeded, "*natsim tripwire: open*(/dev/urandom) called*" },
};

static void
run_case(gconstpointer data)
{
	const Case *c = data;
	if (g_test_subprocess()) {
		SimWorld *world = armed_world();
		c->call();
		sim_world_destroy(world);
		return;
	}
	g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
	g_test_trap_assert_failed();
	g_test_trap_assert_stderr(c->expected);
}

/* Disarmed (no world), the same calls reach the C library. */
static void
test_disarmed_passes_through(void)
{
	g_assert_false(sim_tripwire_armed());
	g_assert_cmpint(time(NULL), >, 1700000000);
	struct timespec ts;
	g_assert_cmpint(clock_gettime(CLOCK_REALTIME, &ts), ==, 0);
	pthread_t t;
	g_assert_cmpint(pthread_create(&t, NULL, thread_main, NULL), ==, 0);
	pthread_join(t, NULL);
	SimWorld *world = armed_world();
	sim_world_destroy(world);
	g_assert_false(sim_tripwire_armed());
	g_assert_cmpint(sim_tripwire_wall_ns(), >, 0);
}

int
main(int argc, char **argv)
{
	/* No json_object_seed() here: the jansson case needs jansson unseeded. */
	g_test_init(&argc, &argv, NULL);
	for (gsize k = 0; k < G_N_ELEMENTS(cases); k++)
		g_test_add_data_func(cases[k].path, &cases[k], run_case);
	g_test_add_func("/sim/tripwire/disarmed-passes-through", test_disarmed_passes_through);
	return g_test_run();
}
