/*
 * world.h - the simulated world: virtual clock, event loop, nodes.
 *
 * A SimWorld owns the event queue, the trace, the virtual network and every
 * node with its virtual disk. Virtual time is int64 nanoseconds since the
 * start of the run and never goes backwards; the time a node's code sees
 * (sim_node_clock_ns) is that plus a fixed epoch (2024-01-01T00:00:00Z, so
 * message timestamps are deterministic and plausible) plus the node's clock
 * skew, which a clock-jump fault can only move forward.
 *
 * Randomness: one master seed. Each consumer of randomness (a node, the
 * network, tie shuffling, a scenario's choices) gets its own stream derived
 * from the master seed and the stream's *name*, so adding a node never
 * perturbs another node's draws.
 *
 * Events scheduled through sim_node_at belong to the node's current
 * incarnation: a crash drops them all in O(1) (the incarnation number
 * changes and stale events are skipped when they come up).
 */
#ifndef NATSIM_SIM_WORLD_H
#define NATSIM_SIM_WORLD_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/assert.h"
#include "proto/prng.h"
#include "sim/queue.h"
#include "sim/trace.h"

#define SIM_EPOCH_UNIX_NS INT64_C(1704067200000000000) /* 2024-01-01T00:00:00Z */
#define SIM_NS_PER_S INT64_C(1000000000)
#define SIM_NS_PER_MS INT64_C(1000000)
#define SIM_NS_PER_US INT64_C(1000)

typedef struct SimWorld SimWorld;
typedef struct SimNode SimNode;
typedef struct SimDisk SimDisk;

/* Link properties of one direction between two nodes (see net.h). */
typedef struct SimLinkConfig {
	int64_t latency_ns;          /* one-way base latency */
	int64_t jitter_ns;           /* plus a uniform draw in [0, jitter_ns] */
	uint64_t bandwidth_bytes_per_s; /* 0 = unlimited */
	uint32_t segment_bytes_max;  /* 0 = a write arrives whole */
	double segment_split_chance; /* chance that a write is cut into pieces */
	uint32_t window_bytes;       /* bytes in flight + unread, like a TCP window */
	int64_t partition_reset_ns;  /* held bytes reset the connection after this; 0 = hold forever */
	int64_t connect_timeout_ns;  /* a connect that cannot get through fails after this */
} SimLinkConfig;

typedef struct SimWorldConfig {
	uint64_t seed;
	bool shuffle_ties;    /* break same-time ties by a seeded draw */
	uint64_t event_limit; /* a run stops after this many events; 0 = 1e10 */
	SimLinkConfig link;   /* the default for every link */
} SimWorldConfig;

typedef struct SimNodeOps {
	/* Boot, and again after each restart: build the node's state from its
	 * disk (the only thing that survives a crash). */
	void (*start)(SimNode *node, void *ctx);
	/* The node crashed: its connections, timers and unsynced disk data are
	 * already gone; free all in-memory state. */
	void (*crash)(SimNode *node, void *ctx);
} SimNodeOps;

typedef enum SimRunStatus {
	SIM_RUN_IDLE = 1,  /* no events left */
	SIM_RUN_UNTIL,     /* reached the requested time */
	SIM_RUN_STOPPED,   /* sim_world_stop was called */
	SIM_RUN_LIMIT,     /* the event limit was reached */
} SimRunStatus;

/* A sensible default link: 100 us latency, no jitter, no segmentation. */
SimLinkConfig sim_link_config_default(void);

/* The head of every SimWorld (internal.h has the rest): what code reads
 * for every event, so sim_world_now_ns, sim_world_trace and sim_world_at
 * inline. Read it only through them. */
typedef struct SimWorldHead {
	int64_t now_ns;
	SimQueue queue;
	SimTrace trace;
} SimWorldHead;

/* A node. Defined here only so the one-line accessors below inline (a
 * message calls them a dozen times); read and write it only through the
 * functions of this header. */
struct SimNode {
	SimWorld *world;
	char *name;
	uint64_t name_hash; /* sim_trace_name_hash of the name: every event folds it */
	uint32_t index;
	uint32_t incarnation;
	bool up;
	int64_t clock_skew_ns;
	const SimNodeOps *ops;
	void *ctx;
	SimDisk *disk;
};

SimWorld *sim_world_create(const SimWorldConfig *config);
void sim_world_destroy(SimWorld *world);

uint64_t sim_world_seed(const SimWorld *world);

static inline int64_t
sim_world_now_ns(const SimWorld *world)
{
	/* A pointer to a struct, converted, points to its first member (C11
	 * 6.7.2.1p15): the head. */
	return ((const SimWorldHead *)(const void *)world)->now_ns;
}

static inline SimTrace *
sim_world_trace(SimWorld *world)
{
	return &((SimWorldHead *)(void *)world)->trace;
}

const SimWorldConfig *sim_world_config(const SimWorld *world);
uint64_t sim_world_events_run(const SimWorld *world);

/* A seed for the stream called name, derived from the master seed. */
uint64_t sim_world_derive_seed(const SimWorld *world, const char *name);

/* World-level events (timelines, faults): never dropped. */
static inline SimEventId
sim_world_at(SimWorld *w, int64_t at_ns, SimEventFn fn, void *ctx, uint64_t arg)
{
	/* named so that a failed assertion reads as it always did */
	SimWorldHead *world = (SimWorldHead *)(void *)w;
	ASSERT(at_ns >= world->now_ns);
	SimEvent event = { .at_ns = at_ns, .fn = fn, .ctx = ctx, .arg = arg, .tag = 0 };
	return sim_queue_push(&world->queue, &event);
}
bool sim_world_cancel(SimWorld *world, SimEventId id);

SimRunStatus sim_world_run(SimWorld *world, int64_t until_ns);
void sim_world_stop(SimWorld *world);

/* Nodes. Names are unique; the node's ops run at once (start). */
SimNode *sim_node_create(SimWorld *world, const char *name, const SimNodeOps *ops, void *ctx);
SimNode *sim_world_node(SimWorld *world, const char *name);
uint32_t sim_world_node_count(const SimWorld *world);
SimNode *sim_world_node_at(SimWorld *world, uint32_t index);

static inline const char *
sim_node_name(const SimNode *node)
{
	return node->name;
}

/* sim_trace_name_hash(name, strlen(name)), for sim_trace_n */
static inline uint64_t
sim_node_name_hash(const SimNode *node)
{
	return node->name_hash;
}

static inline uint32_t
sim_node_index(const SimNode *node)
{
	return node->index;
}

static inline SimWorld *
sim_node_world(SimNode *node)
{
	return node->world;
}

static inline bool
sim_node_up(const SimNode *node)
{
	return node->up;
}

static inline uint32_t
sim_node_incarnation(const SimNode *node)
{
	return node->incarnation;
}

static inline SimDisk *
sim_node_disk(SimNode *node)
{
	return node->disk;
}

static inline void *
sim_node_ctx(SimNode *node)
{
	return node->ctx;
}

/* The time this node's code sees: epoch + virtual time + skew. */
static inline int64_t
sim_node_clock_ns(const SimNode *node)
{
	return SIM_EPOCH_UNIX_NS + sim_world_now_ns(node->world) + node->clock_skew_ns;
}
/* A clock-jump fault: the node's clock moves forward by jump_ns (>= 0). */
void sim_node_clock_jump(SimNode *node, int64_t jump_ns);

/* The seed for this node's core PRNG in its current incarnation. */
uint64_t sim_node_seed(const SimNode *node);

/* An event owned by the node; dropped if the node crashes first. at_ns is
 * virtual (world) time. */
SimEventId sim_node_at(SimNode *node, int64_t at_ns, SimEventFn fn, void *ctx, uint64_t arg);

void sim_node_crash(SimNode *node);
void sim_node_restart(SimNode *node);

#define sim_node_trace(node, kind, ...)                                                 \
	sim_trace_n(sim_world_trace(sim_node_world(node)), sim_world_now_ns(sim_node_world(node)), \
	    sim_node_name(node), sim_node_name_hash(node), (kind), __VA_ARGS__)

#endif
