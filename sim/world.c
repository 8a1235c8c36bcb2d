/*
 * world.c - virtual clock, event loop, nodes, crash and restart.
 *
 * Invariants owned here: virtual time never decreases; an event owned by a
 * node runs only if the node is still in the incarnation that scheduled
 * it; every random stream is derived from the master seed and a name.
 */
#include "sim/world.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <xxhash.h>

#include "proto/assert.h"
#include "sim/internal.h"
#include "sim/tripwire.h"

#define EVENT_LIMIT_DEFAULT UINT64_C(10000000000)

SimLinkConfig
sim_link_config_default(void)
{
	return (SimLinkConfig){
		.latency_ns = 100 * SIM_NS_PER_US,
		.window_bytes = 256 * 1024,
		.connect_timeout_ns = 2 * SIM_NS_PER_S,
	};
}

/* Assertion context: the seed and virtual time go into every crash report. */
static void
describe_run(void *ctx, char *buf, unsigned long cap)
{
	const SimWorld *world = ctx;
	snprintf(buf, cap, "(seed=%" PRIu64 " t=%" PRId64 ".%09" PRId64 "s)", world->config.seed,
	    world->head.now_ns / SIM_NS_PER_S, world->head.now_ns % SIM_NS_PER_S);
}

uint64_t
sim_world_derive_seed(const SimWorld *world, const char *name)
{
	return XXH3_64bits_withSeed(name, strlen(name), world->config.seed);
}

SimWorld *
sim_world_create(const SimWorldConfig *config)
{
	sim_tripwire_arm();
	SimWorld *world = g_new0(SimWorld, 1);
	world->config = *config;
	if (world->config.event_limit == 0)
		world->config.event_limit = EVENT_LIMIT_DEFAULT;
	if (world->config.link.window_bytes == 0)
		world->config.link.window_bytes = sim_link_config_default().window_bytes;
	prng_seed(&world->tie_prng, sim_world_derive_seed(world, "ties"));
	sim_queue_init(&world->head.queue, config->shuffle_ties ? &world->tie_prng : NULL);
	sim_trace_init(&world->head.trace);
	world->nodes = g_ptr_array_new();
	sim_net_init(world);
	assert_context_set(describe_run, world);
	return world;
}

static void
node_free(SimNode *node)
{
	sim_disk_destroy(node->disk);
	g_free(node->name);
	g_free(node);
}

void
sim_world_destroy(SimWorld *world)
{
	if (world == NULL)
		return;
	sim_net_deinit(world);
	for (guint k = 0; k < world->nodes->len; k++)
		node_free(world->nodes->pdata[k]);
	g_ptr_array_free(world->nodes, TRUE);
	sim_queue_deinit(&world->head.queue);
	assert_context_set(NULL, NULL);
	g_free(world);
	sim_tripwire_disarm();
}

uint64_t
sim_world_seed(const SimWorld *world)
{
	return world->config.seed;
}

const SimWorldConfig *
sim_world_config(const SimWorld *world)
{
	return &world->config;
}

uint64_t
sim_world_events_run(const SimWorld *world)
{
	return world->events_run;
}

bool
sim_world_cancel(SimWorld *world, SimEventId id)
{
	return sim_queue_cancel(&world->head.queue, id);
}

/* An owned event's tag: node index + 1 in the high half, incarnation low. */
static uint64_t
node_tag(const SimNode *node)
{
	return ((uint64_t)(node->index + 1) << 32) | node->incarnation;
}

static bool
tag_live(const SimWorld *world, uint64_t tag)
{
	if (tag == 0)
		return true;
	const SimNode *node = world->nodes->pdata[(tag >> 32) - 1];
	return node->up && node->incarnation == (uint32_t)tag;
}

SimRunStatus
sim_world_run(SimWorld *world, int64_t until_ns)
{
	world->stop = false;
	for (;;) {
		if (world->stop)
			return SIM_RUN_STOPPED;
		if (world->events_run >= world->config.event_limit)
			return SIM_RUN_LIMIT;
		int64_t next = sim_queue_peek_ns(&world->head.queue);
		if (next == INT64_MAX)
			return SIM_RUN_IDLE;
		if (next > until_ns) {
			if (until_ns > world->head.now_ns)
				world->head.now_ns = until_ns;
			return SIM_RUN_UNTIL;
		}
		SimEvent event;
		bool popped = sim_queue_pop(&world->head.queue, &event);
		ASSERT(popped);
		ASSERT(event.at_ns >= world->head.now_ns);
		world->head.now_ns = event.at_ns;
		if (!tag_live(world, event.tag))
			continue;
		world->events_run++;
		event.fn(event.ctx, event.arg);
	}
}

void
sim_world_stop(SimWorld *world)
{
	world->stop = true;
}

SimNode *
sim_node_create(SimWorld *world, const char *name, const SimNodeOps *ops, void *ctx)
{
	ASSERT(name != NULL && name[0] != '\0');
	ASSERT(sim_world_node(world, name) == NULL);
	SimNode *node = g_new0(SimNode, 1);
	node->world = world;
	node->name = g_strdup(name);
	node->name_hash = sim_trace_name_hash(name, strlen(name));
	node->index = world->nodes->len;
	node->up = true;
	node->ops = ops;
	node->ctx = ctx;
	g_ptr_array_add(world->nodes, node);
	node->disk = sim_disk_create(node);
	sim_node_trace(node, "node.start", TRACE_INT("incarnation", 0));
	if (ops != NULL && ops->start != NULL)
		ops->start(node, ctx);
	return node;
}

SimNode *
sim_world_node(SimWorld *world, const char *name)
{
	for (guint k = 0; k < world->nodes->len; k++) {
		SimNode *node = world->nodes->pdata[k];
		if (strcmp(node->name, name) == 0)
			return node;
	}
	return NULL;
}

uint32_t
sim_world_node_count(const SimWorld *world)
{
	return world->nodes->len;
}

SimNode *
sim_world_node_at(SimWorld *world, uint32_t index)
{
	ASSERT(index < world->nodes->len);
	return world->nodes->pdata[index];
}

void
sim_node_clock_jump(SimNode *node, int64_t jump_ns)
{
	ASSERT(jump_ns >= 0);
	node->clock_skew_ns += jump_ns;
	sim_node_trace(node, "node.clock_jump", TRACE_INT("jump_ns", jump_ns));
}

uint64_t
sim_node_seed(const SimNode *node)
{
	char name[300];
	snprintf(name, sizeof(name), "node:%s:%" PRIu32, node->name, node->incarnation);
	return sim_world_derive_seed(node->world, name);
}

SimEventId
sim_node_at(SimNode *node, int64_t at_ns, SimEventFn fn, void *ctx, uint64_t arg)
{
	ASSERT(node->up);
	ASSERT(at_ns >= node->world->head.now_ns);
	SimEvent event = { .at_ns = at_ns, .fn = fn, .ctx = ctx, .arg = arg, .tag = node_tag(node) };
	return sim_queue_push(&node->world->head.queue, &event);
}

void
sim_node_crash(SimNode *node)
{
	ASSERT(node->up);
	sim_node_trace(node, "node.crash", TRACE_INT("incarnation", node->incarnation));
	node->up = false;
	node->incarnation++; /* every event the node scheduled is now stale */
	sim_net_node_crashed(node->world, node);
	sim_disk_crashed(node->disk);
	if (node->ops != NULL && node->ops->crash != NULL)
		node->ops->crash(node, node->ctx);
}

void
sim_node_restart(SimNode *node)
{
	ASSERT(!node->up);
	node->up = true;
	sim_node_trace(node, "node.start", TRACE_INT("incarnation", node->incarnation));
	if (node->ops != NULL && node->ops->start != NULL)
		node->ops->start(node, node->ctx);
}
