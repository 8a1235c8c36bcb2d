/*
 * disk.h - the virtual disk of a node, behind the broker's storage seam.
 *
 * Durability model (the contract of broker/storage.h, made exact):
 *  - each file has a durable image: its bytes as of its last sync();
 *  - a crash rolls every file back to its durable image. With torn writes
 *    enabled, a file that had an unsynced tail keeps a random prefix of that
 *    tail instead (a write that reached the platter halfway);
 *  - create, rename and remove are durable at once (a journaling file
 *    system with ordered metadata); a file created and never synced
 *    survives a crash empty;
 *  - bit flips change the stored bytes themselves (media corruption), so
 *    they survive crashes;
 *  - the disk can be given a capacity (writes beyond it fail with
 *    NO_SPACE and write nothing) and told to fail its next operations.
 *
 * Syncs are O(1): the durable image is the file's first synced_len bytes
 * plus an undo log of synced bytes overwritten or truncated since.
 */
#ifndef NATSIM_SIM_DISK_H
#define NATSIM_SIM_DISK_H

#include <stdbool.h>
#include <stdint.h>

#include "broker/storage.h"
#include "sim/world.h"

typedef struct SimDiskConfig {
	uint64_t capacity_bytes;  /* 0 = unlimited */
	double torn_write_chance; /* per file with an unsynced tail, at a crash */
} SimDiskConfig;

typedef enum SimDiskOp {
	SIM_DISK_OP_WRITE = 1, /* append, write_at, truncate */
	SIM_DISK_OP_SYNC,
	SIM_DISK_OP_READ,
} SimDiskOp;

void sim_disk_configure(SimDisk *disk, const SimDiskConfig *config);

/* The seam the node's code uses; valid as long as the node exists. */
BrokerStorage *sim_disk_storage(SimDisk *disk);

/* The next count operations of kind op fail with status (nothing done). */
void sim_disk_fail_next(SimDisk *disk, SimDiskOp op, BrokerStorageStatus status, uint32_t count);

/* Flips one bit of a stored file; false when the file or offset is missing. */
bool sim_disk_flip_bit(SimDisk *disk, const char *name, uint64_t offset, unsigned bit);
/* Flips a random bit of a random non-empty file (drawn from the disk's own
 * stream); false when the disk holds no bytes. */
bool sim_disk_flip_random(SimDisk *disk);

/* Inspection, for tests and checkers. size is -1 when the file is missing. */
int64_t sim_disk_file_size(SimDisk *disk, const char *name);
int64_t sim_disk_file_synced_bytes(SimDisk *disk, const char *name);
uint64_t sim_disk_used_bytes(SimDisk *disk);

#endif
