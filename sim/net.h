/*
 * net.h - the virtual network: listeners, stream connections, links,
 * partitions.
 *
 * A connection is two ends and two directions; direction d carries the
 * bytes written at end d to the other end, in order, never lost or
 * duplicated while the connection lives. A write is cut into segments
 * (random segmentation, per link), and each segment arrives after the
 * link's latency plus jitter, serialised by the link's bandwidth, and never
 * before the segment ahead of it. The bytes in flight plus the bytes not yet
 * read are bounded by the window: a reader that stops reading stops its
 * writer (sim_end_write accepts fewer bytes; WRITABLE follows when the
 * reader makes room).
 *
 * A partition blocks one direction of a link (or both): segments due to
 * cross it are held, and released in order when it heals - or, when the
 * link has partition_reset_ns, the connection is reset on both ends after
 * bytes were held that long. Connection set-up (SYN, SYN-ACK) and orderly
 * close (FIN) travel as markers in the byte stream, so they are held, and
 * ordered with the data, alike.
 *
 * Ends are handles owned by the node's code: each is released exactly once,
 * by sim_end_close or sim_end_reset (also after a RESET, REFUSED or EOF
 * event), except that a node crash releases all ends of the node.
 * Callbacks never run inside the call that caused them: they come from
 * events.
 */
#ifndef NATSIM_SIM_NET_H
#define NATSIM_SIM_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/world.h"

typedef struct SimEnd SimEnd;
typedef struct SimListener SimListener;

typedef enum SimConnEvent {
	SIM_CONN_CONNECTED = 1, /* the connect completed (connecting end only) */
	SIM_CONN_READABLE,      /* new bytes arrived (edge-triggered) */
	SIM_CONN_WRITABLE,      /* a short write can now go on */
	SIM_CONN_EOF,           /* the peer closed; the bytes before it are readable */
	SIM_CONN_RESET,         /* the connection was reset; unread bytes are gone */
	SIM_CONN_REFUSED,       /* the connect failed (no listener, or timed out) */
} SimConnEvent;

typedef void (*SimConnFn)(void *ctx, SimEnd *end, SimConnEvent event);
/* A new connection arrived; call sim_end_set_handler on end. */
typedef void (*SimAcceptFn)(void *ctx, SimEnd *end);

const char *sim_conn_event_str(SimConnEvent event);

/* The kind of the trace event for bytes arriving ("net.recv", fields conn
 * and data), as the object the network emits: a listener may compare the
 * pointer before the string. */
extern const char SIM_NET_RECV[];

/* NULL when the port is already taken on that node. */
SimListener *sim_net_listen(SimNode *node, uint16_t port, SimAcceptFn fn, void *ctx);
void sim_listener_close(SimListener *listener);

SimEnd *sim_net_connect(SimNode *from, SimNode *to, uint16_t port, SimConnFn fn, void *ctx);

void sim_end_set_handler(SimEnd *end, SimConnFn fn, void *ctx);

/* Bytes accepted (<= len; fewer when the window is full), or -1 when the
 * connection can no longer carry data. */
int64_t sim_end_write(SimEnd *end, const void *buf, size_t len);
/* The bytes readable now, without consuming them. */
size_t sim_end_peek(SimEnd *end, const uint8_t **data);
void sim_end_consume(SimEnd *end, size_t len);
size_t sim_end_read(SimEnd *end, void *buf, size_t cap);

/* Orderly close: what was written still arrives, then the peer sees EOF. */
void sim_end_close(SimEnd *end);
/* Abortive close: the peer sees RESET after the link latency. */
void sim_end_reset(SimEnd *end);

uint32_t sim_end_conn_id(const SimEnd *end);
SimNode *sim_end_node(const SimEnd *end);
SimNode *sim_end_peer(const SimEnd *end);
bool sim_end_is_open(const SimEnd *end); /* connected, not reset, not at EOF */

SimLinkConfig sim_net_link(SimWorld *world, SimNode *from, SimNode *to);
void sim_net_link_set(SimWorld *world, SimNode *from, SimNode *to, const SimLinkConfig *config);

/* Blocks from -> to (and to -> from when both_ways). */
void sim_net_partition(SimWorld *world, SimNode *from, SimNode *to, bool both_ways);
void sim_net_heal(SimWorld *world, SimNode *from, SimNode *to, bool both_ways);
bool sim_net_blocked(SimWorld *world, SimNode *from, SimNode *to);

/* Resets every live connection between a and b (both ends see RESET). */
uint32_t sim_net_reset_between(SimWorld *world, SimNode *a, SimNode *b);

#endif
