/*
 * internal.h - structures shared by the kernel's files (world.c, net.c,
 * disk.c). Nothing outside sim/ includes this.
 */
#ifndef NATSIM_SIM_INTERNAL_H
#define NATSIM_SIM_INTERNAL_H

#include <glib.h>

#include "sim/disk.h"
#include "sim/net.h"
#include "sim/world.h"

typedef struct SimLinkState {
	SimLinkConfig config;
	bool blocked;
	int64_t busy_until_ns; /* bandwidth serialisation */
} SimLinkState;

typedef struct SimNet {
	GHashTable *links;      /* (from << 32 | to) -> SimLinkState*, never iterated */
	GPtrArray *conns;       /* index id-1 -> SimConn* or NULL once freed */
	GPtrArray *listeners;   /* SimListener*, in creation order */
	Prng prng;              /* jitter and segmentation draws */
} SimNet;

struct SimNode {
	SimWorld *world;
	char *name;
	size_t name_len; /* strlen(name): the trace hashes it with every event */
	uint32_t index;
	uint32_t incarnation;
	bool up;
	int64_t clock_skew_ns;
	const SimNodeOps *ops;
	void *ctx;
	SimDisk *disk;
};

struct SimWorld {
	SimWorldConfig config;
	int64_t now_ns;
	uint64_t events_run;
	bool stop;
	SimQueue queue;
	Prng tie_prng;
	SimTrace trace;
	GPtrArray *nodes; /* SimNode*, index order */
	SimNet net;
};

void sim_net_init(SimWorld *world);
void sim_net_deinit(SimWorld *world);
/* The node crashed: release its ends (peers get RESET), drop its listeners. */
void sim_net_node_crashed(SimWorld *world, SimNode *node);

SimDisk *sim_disk_create(SimNode *node);
void sim_disk_destroy(SimDisk *disk);
/* The node crashed: lose what was not synced (torn writes if enabled). */
void sim_disk_crashed(SimDisk *disk);

#endif
