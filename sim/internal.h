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

struct SimWorld {
	SimWorldHead head; /* first: the inline accessors of world.h read it */
	SimWorldConfig config;
	uint64_t events_run;
	bool stop;
	Prng tie_prng;
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
