/*
 * queue.c - binary heap with stable slots for cancellation.
 *
 * Heap entries carry their sort key inline, so sifting touches only the
 * heap array; each entry points at a slot holding the payload and the
 * entry's current heap index (kept up to date on every move, which is what
 * makes cancel O(log n)). Slot ids carry a generation so a stale id never
 * cancels a later event that reused the slot.
 */
#include "queue.h"

#include <glib.h>

#include "proto/assert.h"

struct SimQueueSlot {
	SimEvent event;
	uint64_t seq;
	uint32_t heap_index; /* UINT32_MAX when free */
	uint32_t generation;
	uint32_t next_free;
};

#define NO_INDEX UINT32_MAX

void
sim_queue_init(SimQueue *queue, Prng *tie_prng)
{
	*queue = (SimQueue){ .free_head = NO_INDEX, .tie_prng = tie_prng };
}

void
sim_queue_deinit(SimQueue *queue)
{
	g_free(queue->heap);
	g_free(queue->slots);
	*queue = (SimQueue){ .free_head = NO_INDEX };
}

static inline bool
entry_less(const SimQueue *queue, const SimQueueEntry *a, const SimQueueEntry *b)
{
	if (a->at_ns != b->at_ns)
		return a->at_ns < b->at_ns;
	if (a->order != b->order)
		return a->order < b->order;
	/* Only reachable with shuffled order: two equal draws. */
	return queue->slots[a->slot].seq < queue->slots[b->slot].seq;
}

static inline void
heap_place(SimQueue *queue, uint32_t index, SimQueueEntry entry)
{
	queue->heap[index] = entry;
	queue->slots[entry.slot].heap_index = index;
}

static void
sift_up(SimQueue *queue, uint32_t index)
{
	SimQueueEntry entry = queue->heap[index];
	while (index > 0) {
		uint32_t parent = (index - 1) / 2;
		if (!entry_less(queue, &entry, &queue->heap[parent]))
			break;
		heap_place(queue, index, queue->heap[parent]);
		index = parent;
	}
	heap_place(queue, index, entry);
}

static void
sift_down(SimQueue *queue, uint32_t index)
{
	SimQueueEntry entry = queue->heap[index];
	uint32_t count = queue->heap_count;
	for (;;) {
		uint32_t child = 2 * index + 1;
		if (child >= count)
			break;
		if (child + 1 < count &&
		    entry_less(queue, &queue->heap[child + 1], &queue->heap[child]))
			child++;
		if (!entry_less(queue, &queue->heap[child], &entry))
			break;
		heap_place(queue, index, queue->heap[child]);
		index = child;
	}
	heap_place(queue, index, entry);
}

static uint32_t
slot_alloc(SimQueue *queue)
{
	if (queue->free_head != NO_INDEX) {
		uint32_t slot = queue->free_head;
		queue->free_head = queue->slots[slot].next_free;
		return slot;
	}
	if (queue->slot_count == queue->slot_capacity) {
		ASSERT(queue->slot_capacity < NO_INDEX / 2);
		queue->slot_capacity = queue->slot_capacity ? queue->slot_capacity * 2 : 64;
		queue->slots = g_renew(SimQueueSlot, queue->slots, queue->slot_capacity);
	}
	uint32_t slot = queue->slot_count++;
	queue->slots[slot].generation = 0;
	return slot;
}

static void
slot_free(SimQueue *queue, uint32_t slot)
{
	SimQueueSlot *s = &queue->slots[slot];
	s->heap_index = NO_INDEX;
	s->generation++;
	s->next_free = queue->free_head;
	queue->free_head = slot;
}

SimEventId
sim_queue_push(SimQueue *queue, const SimEvent *event)
{
	ASSERT(event->fn != NULL);
	if (queue->heap_count == queue->heap_capacity) {
		queue->heap_capacity = queue->heap_capacity ? queue->heap_capacity * 2 : 64;
		queue->heap = g_renew(SimQueueEntry, queue->heap, queue->heap_capacity);
	}
	uint32_t slot = slot_alloc(queue);
	SimQueueSlot *s = &queue->slots[slot];
	s->event = *event;
	s->seq = ++queue->seq;
	uint64_t order = queue->tie_prng ? prng_next(queue->tie_prng) : s->seq;
	/* sift up from a hole at the end: most events go at or near the end */
	SimQueueEntry entry = { event->at_ns, order, slot };
	SimQueueEntry *heap = queue->heap;
	uint32_t index = queue->heap_count++;
	while (index > 0) {
		uint32_t parent = (index - 1) / 2;
		if (!entry_less(queue, &entry, &heap[parent]))
			break;
		heap_place(queue, index, heap[parent]);
		index = parent;
	}
	heap_place(queue, index, entry);
	/* Generation in the high half; slot + 1 in the low half keeps 0 free. */
	return ((uint64_t)s->generation << 32) | (uint64_t)(slot + 1);
}

static void
heap_remove(SimQueue *queue, uint32_t index)
{
	ASSERT(index < queue->heap_count);
	uint32_t last = --queue->heap_count;
	if (index == last)
		return;
	heap_place(queue, index, queue->heap[last]);
	if (index > 0 && entry_less(queue, &queue->heap[index], &queue->heap[(index - 1) / 2]))
		sift_up(queue, index);
	else
		sift_down(queue, index);
}

bool
sim_queue_cancel(SimQueue *queue, SimEventId id)
{
	if (id == 0)
		return false;
	uint32_t slot = (uint32_t)(id & 0xffffffffu) - 1;
	uint32_t generation = (uint32_t)(id >> 32);
	if (slot >= queue->slot_count)
		return false;
	SimQueueSlot *s = &queue->slots[slot];
	if (s->generation != generation || s->heap_index == NO_INDEX)
		return false;
	heap_remove(queue, s->heap_index);
	slot_free(queue, slot);
	return true;
}

/* Removes the root the bottom-up way (Floyd): the hole walks down to a
 * leaf along the earlier child (one comparison a level), then the last
 * entry, which mostly belongs near the bottom anyway, sifts up from there.
 * The layout may differ from a top-down sift's, never the order of pops:
 * (time, order, seq) is a strict total order, so any valid heap pops the
 * same sequence. */
static void
heap_remove_root(SimQueue *queue)
{
	ASSERT(queue->heap_count > 0);
	uint32_t last = --queue->heap_count;
	if (last == 0)
		return;
	SimQueueEntry *heap = queue->heap;
	uint32_t index = 0;
	for (;;) {
		uint32_t child = 2 * index + 1;
		if (child >= last)
			break;
		if (child + 1 < last && entry_less(queue, &heap[child + 1], &heap[child]))
			child++;
		heap_place(queue, index, heap[child]);
		index = child;
	}
	SimQueueEntry moved = heap[last];
	while (index > 0) {
		uint32_t parent = (index - 1) / 2;
		if (!entry_less(queue, &moved, &heap[parent]))
			break;
		heap_place(queue, index, heap[parent]);
		index = parent;
	}
	heap_place(queue, index, moved);
}

bool
sim_queue_pop(SimQueue *queue, SimEvent *out)
{
	if (queue->heap_count == 0)
		return false;
	uint32_t slot = queue->heap[0].slot;
	*out = queue->slots[slot].event;
	heap_remove_root(queue);
	slot_free(queue, slot);
	return true;
}
