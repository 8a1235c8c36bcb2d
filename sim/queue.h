/*
 * queue.h - the simulator's event queue.
 *
 * A binary min-heap of events ordered by (time, order), where order is the
 * insertion sequence - or, when tie shuffling is on, a draw from a seeded
 * PRNG with the insertion sequence as the final tie-break, so that events
 * due at the same virtual instant run in a seed-determined permutation.
 * Events can be cancelled by id in O(log n). The queue knows nothing of
 * nodes or time semantics; SimWorld (world.h) adds those.
 */
#ifndef NATSIM_SIM_QUEUE_H
#define NATSIM_SIM_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/prng.h"

typedef void (*SimEventFn)(void *ctx, uint64_t arg);

/* 0 is never a valid id. An id stays unique for the life of the queue. */
typedef uint64_t SimEventId;

typedef struct SimEvent {
	int64_t at_ns;
	SimEventFn fn;
	void *ctx;
	uint64_t arg;
	uint64_t tag; /* opaque to the queue; SimWorld stores the owner */
} SimEvent;

typedef struct SimQueueSlot SimQueueSlot;

/* A heap entry: the sort key inline (sifting touches only the heap), and
 * the slot holding the payload. Here so that sim_queue_peek_ns inlines;
 * only queue.c touches it otherwise. */
typedef struct SimQueueEntry {
	int64_t at_ns;
	uint64_t order;
	uint32_t slot;
} SimQueueEntry;

typedef struct SimQueue {
	SimQueueEntry *heap;
	uint32_t heap_count;
	uint32_t heap_capacity;
	SimQueueSlot *slots;
	uint32_t slot_count;
	uint32_t slot_capacity;
	uint32_t free_head; /* UINT32_MAX when empty */
	uint64_t seq;
	Prng *tie_prng; /* not owned; NULL = insertion order */
} SimQueue;

void sim_queue_init(SimQueue *queue, Prng *tie_prng);
void sim_queue_deinit(SimQueue *queue);

SimEventId sim_queue_push(SimQueue *queue, const SimEvent *event);

/* True when the event was still queued (it is then removed). */
bool sim_queue_cancel(SimQueue *queue, SimEventId id);

/* Removes the earliest event into *out; false when empty. */
bool sim_queue_pop(SimQueue *queue, SimEvent *out);

/* Time of the earliest event, or INT64_MAX when empty. */
static inline int64_t
sim_queue_peek_ns(const SimQueue *queue)
{
	return queue->heap_count ? queue->heap[0].at_ns : INT64_MAX;
}

static inline uint32_t
sim_queue_count(const SimQueue *queue)
{
	return queue->heap_count;
}

#endif
