/*
 * net.c - the virtual network (see net.h for the model).
 *
 * Each direction of a connection keeps one byte buffer with four absolute
 * offsets, read <= delivered <= written, plus a FIFO of segments, each the
 * offset where it ends and the virtual time it arrives. At most one event
 * per direction is queued - for the segment at the head - so tie shuffling
 * can never reorder bytes within a stream. Connection set-up and FIN are
 * zero-length segments in the same FIFO, so partitions and latency treat
 * them exactly like data.
 *
 * Callbacks may close or reset the connection they are called for; a busy
 * count keeps the connection alive until the outermost kernel function
 * returns, and it is freed once both ends are released.
 */
#include "sim/net.h"

#include <string.h>

#include "proto/assert.h"
#include "sim/internal.h"

typedef struct SimConn SimConn;

const char SIM_NET_RECV[] = "net.recv";

enum { SEG_DATA = 0, SEG_SYN, SEG_SYNACK, SEG_FIN };

typedef struct SimSegment {
	uint64_t end_off;
	int64_t arrival_ns;
	uint8_t kind;
} SimSegment;

typedef struct SimDir {
	uint8_t *buf;
	size_t buf_cap;
	uint64_t base_off; /* stream offset of buf[0] */
	uint64_t read_off;
	uint64_t delivered_off;
	uint64_t written_off;
	SimSegment *segs;
	uint32_t seg_head;
	uint32_t seg_count;
	uint32_t seg_cap;
	int64_t last_arrival_ns;
	SimEventId event;       /* delivery of the head segment */
	SimEventId reset_event; /* partition reset timer */
	bool held;              /* the head found the link blocked */
	bool fin_queued;
} SimDir;

struct SimEnd {
	SimConn *conn;
	uint8_t side;
	bool released;  /* the owner let go of the handle */
	bool connected; /* SYN-ACK seen (client) or accepted (server) */
	bool dead;      /* reset or refused */
	bool eof;       /* FIN received */
	bool want_writable;
	SimEventId writable_event;
	SimEventId rst_event;
	SimConnFn fn;
	void *ctx;
};

struct SimConn {
	SimWorld *world;
	uint32_t id;
	uint16_t port;
	SimNode *node[2];
	SimLinkState *link[2]; /* link[d]: node[d] -> node[1-d]; link states live as long as the world */
	SimEnd end[2];
	SimDir dir[2]; /* dir[d]: bytes written at end[d] */
	uint32_t window_bytes;
	SimEventId connect_timeout_event;
	int busy;
};

struct SimListener {
	SimWorld *world;
	SimNode *node;
	uint16_t port;
	SimAcceptFn fn;
	void *ctx;
};

const char *
sim_conn_event_str(SimConnEvent event)
{
	switch (event) {
	case SIM_CONN_CONNECTED:
		return "connected";
	case SIM_CONN_READABLE:
		return "readable";
	case SIM_CONN_WRITABLE:
		return "writable";
	case SIM_CONN_EOF:
		return "eof";
	case SIM_CONN_RESET:
		return "reset";
	case SIM_CONN_REFUSED:
		return "refused";
	}
	return "?";
}

/* ---- links ---- */

static uint64_t
link_key(const SimNode *from, const SimNode *to)
{
	return ((uint64_t)sim_node_index(from) << 32) | sim_node_index(to);
}

static SimLinkState *
link_state(SimWorld *world, SimNode *from, SimNode *to)
{
	uint64_t key = link_key(from, to);
	SimLinkState *link = g_hash_table_lookup(world->net.links, &key);
	if (link == NULL) {
		uint64_t *k = g_new(uint64_t, 1);
		*k = key;
		link = g_new0(SimLinkState, 1);
		link->config = world->config.link;
		g_hash_table_insert(world->net.links, k, link);
	}
	return link;
}

SimLinkConfig
sim_net_link(SimWorld *world, SimNode *from, SimNode *to)
{
	return link_state(world, from, to)->config;
}

void
sim_net_link_set(SimWorld *world, SimNode *from, SimNode *to, const SimLinkConfig *config)
{
	ASSERT(config->latency_ns >= 0 && config->jitter_ns >= 0);
	ASSERT(config->segment_split_chance >= 0.0 && config->segment_split_chance <= 1.0);
	SimLinkState *link = link_state(world, from, to);
	link->config = *config;
	if (link->config.window_bytes == 0)
		link->config.window_bytes = world->config.link.window_bytes;
	sim_trace(&world->head.trace, world->head.now_ns, sim_node_name(from), "net.link",
	    TRACE_STR("to", sim_node_name(to)), TRACE_INT("latency_ns", config->latency_ns),
	    TRACE_INT("jitter_ns", config->jitter_ns));
}

bool
sim_net_blocked(SimWorld *world, SimNode *from, SimNode *to)
{
	return link_state(world, from, to)->blocked;
}

/* ---- connection lifetime ---- */

void
sim_net_init(SimWorld *world)
{
	SimNet *net = &world->net;
	net->links = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
	net->conns = g_ptr_array_new();
	net->listeners = g_ptr_array_new_with_free_func(g_free);
	prng_seed(&net->prng, sim_world_derive_seed(world, "net"));
}

static void
conn_free(SimConn *conn)
{
	SimWorld *world = conn->world;
	for (int d = 0; d < 2; d++) {
		sim_world_cancel(world, conn->dir[d].event);
		sim_world_cancel(world, conn->dir[d].reset_event);
		sim_world_cancel(world, conn->end[d].writable_event);
		sim_world_cancel(world, conn->end[d].rst_event);
		g_free(conn->dir[d].buf);
		g_free(conn->dir[d].segs);
	}
	sim_world_cancel(world, conn->connect_timeout_event);
	world->net.conns->pdata[conn->id - 1] = NULL;
	g_free(conn);
}

void
sim_net_deinit(SimWorld *world)
{
	SimNet *net = &world->net;
	for (guint k = 0; k < net->conns->len; k++)
		if (net->conns->pdata[k] != NULL)
			conn_free(net->conns->pdata[k]);
	g_ptr_array_free(net->conns, TRUE);
	g_ptr_array_free(net->listeners, TRUE);
	g_hash_table_destroy(net->links);
}

static void
conn_maybe_free(SimConn *conn)
{
	if (conn->busy == 0 && conn->end[0].released && conn->end[1].released)
		conn_free(conn);
}

static SimConn *
conn_get(SimWorld *world, uint64_t arg)
{
	uint32_t id = (uint32_t)(arg >> 1);
	ASSERT(id >= 1 && id <= world->net.conns->len);
	return world->net.conns->pdata[id - 1];
}

static uint64_t
conn_arg(const SimConn *conn, int side)
{
	return ((uint64_t)conn->id << 1) | (uint64_t)side;
}

static void
notify(SimConn *conn, int side, SimConnEvent event)
{
	SimEnd *end = &conn->end[side];
	if (end->released || end->fn == NULL)
		return;
	conn->busy++;
	end->fn(end->ctx, end, event);
	conn->busy--;
}

static const char *
node_name(const SimConn *conn, int side)
{
	return sim_node_name(conn->node[side]);
}

/* ---- directions: buffers and segments ---- */

static void
dir_reserve(SimDir *dir, size_t len)
{
	size_t used = (size_t)(dir->written_off - dir->read_off);
	size_t start = (size_t)(dir->read_off - dir->base_off);
	if (start + used + len <= dir->buf_cap)
		return;
	/* Slide the unread bytes to the front, then grow if that is not enough. */
	if (start > 0) {
		memmove(dir->buf, dir->buf + start, used);
		dir->base_off = dir->read_off;
	}
	if (used + len > dir->buf_cap) {
		size_t cap = dir->buf_cap ? dir->buf_cap : 4096;
		while (cap < used + len)
			cap *= 2;
		dir->buf = g_realloc(dir->buf, cap);
		dir->buf_cap = cap;
	}
}

static SimSegment *
dir_head(SimDir *dir)
{
	return dir->seg_count ? &dir->segs[dir->seg_head] : NULL;
}

static void
dir_push_segment(SimDir *dir, SimSegment seg)
{
	if (dir->seg_head + dir->seg_count == dir->seg_cap) {
		if (dir->seg_head > 0) {
			memmove(dir->segs, dir->segs + dir->seg_head, dir->seg_count * sizeof(SimSegment));
			dir->seg_head = 0;
		}
		if (dir->seg_count == dir->seg_cap) {
			dir->seg_cap = dir->seg_cap ? dir->seg_cap * 2 : 16;
			dir->segs = g_renew(SimSegment, dir->segs, dir->seg_cap);
		}
	}
	dir->segs[dir->seg_head + dir->seg_count++] = seg;
}

static void
dir_pop_segment(SimDir *dir)
{
	ASSERT(dir->seg_count > 0);
	dir->seg_head++;
	if (--dir->seg_count == 0)
		dir->seg_head = 0;
}

/* Drops everything in flight and unread in this direction. */
static void
dir_discard(SimWorld *world, SimDir *dir)
{
	sim_world_cancel(world, dir->event);
	sim_world_cancel(world, dir->reset_event);
	dir->event = dir->reset_event = 0;
	dir->seg_count = dir->seg_head = 0;
	dir->held = false;
	dir->delivered_off = dir->read_off = dir->written_off;
}

static void dir_deliver_event(void *ctx, uint64_t arg);
static void partition_reset_event(void *ctx, uint64_t arg);

static void
dir_schedule(SimConn *conn, int d)
{
	SimDir *dir = &conn->dir[d];
	SimSegment *head = dir_head(dir);
	if (head == NULL || dir->event != 0 || dir->held)
		return;
	dir->event = sim_world_at(conn->world, MAX(head->arrival_ns, conn->world->head.now_ns),
	    dir_deliver_event, conn->world, conn_arg(conn, d));
}

static int64_t
jitter_draw(SimWorld *world, const SimLinkConfig *config)
{
	return config->jitter_ns > 0 ? prng_range(&world->net.prng, 0, config->jitter_ns) : 0;
}

/* Queues a segment ending at end_off; its arrival obeys bandwidth, latency,
 * jitter and the order of the stream. */
static void
dir_add_segment(SimConn *conn, int d, uint64_t len, uint8_t kind)
{
	SimWorld *world = conn->world;
	SimDir *dir = &conn->dir[d];
	SimLinkState *link = conn->link[d];
	int64_t depart = world->head.now_ns;
	if (link->config.bandwidth_bytes_per_s != 0 && len > 0) {
		int64_t start = MAX(depart, link->busy_until_ns);
		link->busy_until_ns =
		    start + (int64_t)((len * (uint64_t)SIM_NS_PER_S) / link->config.bandwidth_bytes_per_s);
		depart = link->busy_until_ns;
	}
	int64_t arrival = depart + link->config.latency_ns + jitter_draw(world, &link->config);
	/* Never before the segment ahead; and a nanosecond after a data
	 * segment still in flight, so that every piece of a cut write reaches
	 * the reader on its own. */
	bool after_data = dir->seg_count > 0 && dir->segs[dir->seg_head + dir->seg_count - 1].kind == SEG_DATA;
	arrival = MAX(arrival, dir->last_arrival_ns + (after_data && kind == SEG_DATA ? 1 : 0));
	dir->last_arrival_ns = arrival;
	dir_push_segment(dir, (SimSegment){ dir->written_off, arrival, kind });
	dir_schedule(conn, d);
}

/* ---- resets ---- */

static void rst_event(void *ctx, uint64_t arg);

/* Sends a RST from end[from_side] to the other end, after the latency; a
 * RST cannot cross a blocked link (it is lost, as on a real network). */
static void
send_rst(SimConn *conn, int from_side)
{
	int to = 1 - from_side;
	SimEnd *peer = &conn->end[to];
	if (peer->released || peer->dead || peer->rst_event != 0)
		return;
	SimLinkState *link = conn->link[from_side];
	if (link->blocked)
		return;
	int64_t at = conn->world->head.now_ns + link->config.latency_ns + jitter_draw(conn->world, &link->config);
	peer->rst_event = sim_world_at(conn->world, at, rst_event, conn->world, conn_arg(conn, to));
}

/* Kills end[side] now: no more data either way; tells its owner. */
static void
end_kill(SimConn *conn, int side, const char *why)
{
	SimEnd *end = &conn->end[side];
	if (end->dead)
		return;
	end->dead = true;
	bool was_connected = end->connected;
	dir_discard(conn->world, &conn->dir[side]);
	dir_discard(conn->world, &conn->dir[1 - side]);
	if (!end->released) {
		sim_trace(&conn->world->head.trace, conn->world->head.now_ns, node_name(conn, side),
		    was_connected ? "net.reset" : "net.refused", TRACE_INT("conn", conn->id),
		    TRACE_STR("why", why));
		notify(conn, side, was_connected ? SIM_CONN_RESET : SIM_CONN_REFUSED);
	}
}

static void
rst_event(void *ctx, uint64_t arg)
{
	SimConn *conn = conn_get(ctx, arg);
	if (conn == NULL)
		return;
	int side = (int)(arg & 1);
	conn->end[side].rst_event = 0;
	conn->busy++;
	end_kill(conn, side, conn->end[side].connected ? "rst" : "refused");
	conn->busy--;
	conn_maybe_free(conn);
}

/* ---- delivery ---- */

static void
flush_readable(SimConn *conn, int d, uint64_t from_off)
{
	SimDir *dir = &conn->dir[d];
	int r = 1 - d;
	if (dir->delivered_off == from_off)
		return;
	if (conn->end[r].released) {
		dir->read_off = dir->delivered_off; /* nobody will read it */
		return;
	}
	sim_trace_n(&conn->world->head.trace, conn->world->head.now_ns, node_name(conn, r), sim_node_name_hash(conn->node[r]),
	    SIM_NET_RECV,
	    TRACE_INT("conn", conn->id),
	    TRACE_BYTES("data", dir->buf + (from_off - dir->base_off), dir->delivered_off - from_off));
	notify(conn, r, SIM_CONN_READABLE);
}

static SimListener *
listener_find(SimWorld *world, SimNode *node, uint16_t port)
{
	for (guint k = 0; k < world->net.listeners->len; k++) {
		SimListener *l = world->net.listeners->pdata[k];
		if (l->node == node && l->port == port)
			return l;
	}
	return NULL;
}

static void
deliver_syn(SimConn *conn)
{
	SimWorld *world = conn->world;
	SimEnd *server = &conn->end[1];
	SimListener *listener = sim_node_up(conn->node[1]) ? listener_find(world, conn->node[1], conn->port) : NULL;
	if (listener == NULL) {
		server->released = true;
		server->dead = true;
		sim_trace(&world->head.trace, world->head.now_ns, node_name(conn, 1), "net.no_listener",
		    TRACE_INT("conn", conn->id), TRACE_INT("port", conn->port));
		send_rst(conn, 1);
		return;
	}
	server->connected = true;
	sim_trace(&world->head.trace, world->head.now_ns, node_name(conn, 1), "net.accept", TRACE_INT("conn", conn->id),
	    TRACE_STR("from", node_name(conn, 0)), TRACE_INT("port", conn->port));
	/* The SYN-ACK goes out before the application can write a byte. */
	dir_add_segment(conn, 1, 0, SEG_SYNACK);
	conn->busy++;
	listener->fn(listener->ctx, server);
	conn->busy--;
	ASSERT(server->released || server->fn != NULL);
}

static void
dir_deliver_event(void *ctx, uint64_t arg)
{
	SimWorld *world = ctx;
	SimConn *conn = conn_get(world, arg);
	if (conn == NULL)
		return;
	int d = (int)(arg & 1), r = 1 - d;
	SimDir *dir = &conn->dir[d];
	dir->event = 0;
	SimLinkState *link = conn->link[d];
	if (link->blocked) {
		if (!dir->held)
			sim_trace(&world->head.trace, world->head.now_ns, node_name(conn, d), "net.hold",
			    TRACE_INT("conn", conn->id), TRACE_STR("to", node_name(conn, r)));
		dir->held = true;
		/* Held bytes reset the connection if the partition outlasts
		 * the link's patience (a TCP retransmission timeout). */
		if (link->config.partition_reset_ns > 0 && dir->reset_event == 0)
			dir->reset_event = sim_world_at(world, world->head.now_ns + link->config.partition_reset_ns,
			    partition_reset_event, world, conn_arg(conn, d));
		return;
	}
	conn->busy++;
	uint64_t from_off = dir->delivered_off;
	SimSegment *seg;
	while ((seg = dir_head(dir)) != NULL && seg->arrival_ns <= world->head.now_ns && !conn->end[r].dead) {
		SimSegment s = *seg;
		dir_pop_segment(dir);
		switch (s.kind) {
		case SEG_DATA:
			dir->delivered_off = s.end_off;
			break;
		case SEG_SYN:
			deliver_syn(conn);
			break;
		case SEG_SYNACK:
			if (!conn->end[r].connected && !conn->end[r].dead) {
				conn->end[r].connected = true;
				sim_world_cancel(world, conn->connect_timeout_event);
				conn->connect_timeout_event = 0;
				if (!conn->end[r].released) {
					sim_trace(&world->head.trace, world->head.now_ns, node_name(conn, r),
					    "net.connected", TRACE_INT("conn", conn->id));
					notify(conn, r, SIM_CONN_CONNECTED);
				}
			}
			break;
		case SEG_FIN:
			flush_readable(conn, d, from_off);
			from_off = dir->delivered_off;
			conn->end[r].eof = true;
			if (!conn->end[r].released) {
				sim_trace(&world->head.trace, world->head.now_ns, node_name(conn, r), "net.eof",
				    TRACE_INT("conn", conn->id));
				notify(conn, r, SIM_CONN_EOF);
			}
			break;
		default:
			UNREACHABLE();
		}
	}
	if (!conn->end[r].dead)
		flush_readable(conn, d, from_off);
	dir_schedule(conn, d);
	conn->busy--;
	conn_maybe_free(conn);
}

/* ---- the application's side ---- */

SimListener *
sim_net_listen(SimNode *node, uint16_t port, SimAcceptFn fn, void *ctx)
{
	SimWorld *world = sim_node_world(node);
	ASSERT(sim_node_up(node) && fn != NULL);
	if (listener_find(world, node, port) != NULL)
		return NULL;
	SimListener *listener = g_new(SimListener, 1);
	*listener = (SimListener){ world, node, port, fn, ctx };
	g_ptr_array_add(world->net.listeners, listener);
	sim_node_trace(node, "net.listen", TRACE_INT("port", port));
	return listener;
}

void
sim_listener_close(SimListener *listener)
{
	if (listener == NULL)
		return;
	sim_node_trace(listener->node, "net.unlisten", TRACE_INT("port", listener->port));
	g_ptr_array_remove(listener->world->net.listeners, listener);
}

static void
connect_timeout_event(void *ctx, uint64_t arg)
{
	SimConn *conn = conn_get(ctx, arg);
	if (conn == NULL)
		return;
	conn->connect_timeout_event = 0;
	if (conn->end[0].connected || conn->end[0].dead)
		return;
	conn->busy++;
	/* A half-open server end learns nothing; the client gives up. */
	if (conn->end[1].connected)
		send_rst(conn, 0);
	end_kill(conn, 0, "connect timeout");
	conn->busy--;
	conn_maybe_free(conn);
}

SimEnd *
sim_net_connect(SimNode *from, SimNode *to, uint16_t port, SimConnFn fn, void *ctx)
{
	SimWorld *world = sim_node_world(from);
	ASSERT(sim_node_up(from) && fn != NULL);
	SimConn *conn = g_new0(SimConn, 1);
	conn->world = world;
	g_ptr_array_add(world->net.conns, conn);
	conn->id = world->net.conns->len;
	conn->port = port;
	conn->node[0] = from;
	conn->node[1] = to;
	conn->link[0] = link_state(world, from, to);
	conn->link[1] = link_state(world, to, from);
	SimLinkState *link = conn->link[0];
	conn->window_bytes = link->config.window_bytes;
	for (int k = 0; k < 2; k++) {
		conn->end[k].conn = conn;
		conn->end[k].side = (uint8_t)k;
	}
	conn->end[0].fn = fn;
	conn->end[0].ctx = ctx;
	sim_node_trace(from, "net.connect", TRACE_INT("conn", conn->id), TRACE_STR("to", sim_node_name(to)),
	    TRACE_INT("port", port));
	dir_add_segment(conn, 0, 0, SEG_SYN);
	if (link->config.connect_timeout_ns > 0)
		conn->connect_timeout_event = sim_world_at(world, world->head.now_ns + link->config.connect_timeout_ns,
		    connect_timeout_event, world, conn_arg(conn, 0));
	return &conn->end[0];
}

void
sim_end_set_handler(SimEnd *end, SimConnFn fn, void *ctx)
{
	ASSERT(!end->released && fn != NULL);
	end->fn = fn;
	end->ctx = ctx;
}

static void
writable_event(void *ctx, uint64_t arg)
{
	SimConn *conn = conn_get(ctx, arg);
	if (conn == NULL)
		return;
	int side = (int)(arg & 1);
	SimEnd *end = &conn->end[side];
	end->writable_event = 0;
	if (end->dead || !end->want_writable)
		return;
	end->want_writable = false;
	notify(conn, side, SIM_CONN_WRITABLE);
	conn_maybe_free(conn);
}

static uint64_t
room(const SimConn *conn, const SimDir *dir)
{
	uint64_t used = dir->written_off - dir->read_off;
	return used >= conn->window_bytes ? 0 : conn->window_bytes - used;
}

int64_t
sim_end_write(SimEnd *end, const void *buf, size_t len)
{
	ASSERT(!end->released);
	SimConn *conn = end->conn;
	int d = end->side;
	SimDir *dir = &conn->dir[d];
	if (end->dead || dir->fin_queued)
		return -1;
	if (!end->connected) {
		end->want_writable = true;
		return 0;
	}
	if (conn->end[1 - d].released) {
		/* Writing to a closed peer: the bytes vanish and a RST comes back. */
		send_rst(conn, 1 - d);
		return (int64_t)len;
	}
	size_t n = (size_t)MIN((uint64_t)len, room(conn, dir));
	if (n < len)
		end->want_writable = true;
	if (n == 0)
		return 0;
	dir_reserve(dir, n);
	memcpy(dir->buf + (dir->written_off - dir->base_off), buf, n);
	SimLinkState *link = conn->link[d];
	uint32_t max = link->config.segment_bytes_max;
	size_t left = n;
	while (left > 0) {
		uint64_t piece = max != 0 ? MIN(left, max) : left;
		/* (a chance of 0 draws nothing: skipping the call changes no stream) */
		if (piece > 1 && link->config.segment_split_chance > 0.0 &&
		    prng_chance(&conn->world->net.prng, link->config.segment_split_chance))
			piece = (uint64_t)prng_range(&conn->world->net.prng, 1, (int64_t)piece);
		dir->written_off += piece;
		dir_add_segment(conn, d, piece, SEG_DATA);
		left -= piece;
	}
	return (int64_t)n;
}

size_t
sim_end_peek(SimEnd *end, const uint8_t **data)
{
	ASSERT(!end->released);
	SimDir *dir = &end->conn->dir[1 - end->side];
	*data = dir->buf + (dir->read_off - dir->base_off);
	return (size_t)(dir->delivered_off - dir->read_off);
}

void
sim_end_consume(SimEnd *end, size_t len)
{
	ASSERT(!end->released);
	SimConn *conn = end->conn;
	int w = 1 - end->side;
	SimDir *dir = &conn->dir[w];
	ASSERT(len <= dir->delivered_off - dir->read_off);
	dir->read_off += len;
	SimEnd *writer = &conn->end[w];
	/* Like a socket's send low-water mark: wake the writer once half the
	 * window is free, not for every byte (no silly-window trickle). */
	if (len > 0 && writer->want_writable && writer->writable_event == 0 && !writer->released &&
	    room(conn, dir) >= conn->window_bytes / 2)
		writer->writable_event =
		    sim_world_at(conn->world, conn->world->head.now_ns, writable_event, conn->world, conn_arg(conn, w));
}

size_t
sim_end_read(SimEnd *end, void *buf, size_t cap)
{
	const uint8_t *data;
	size_t n = MIN(sim_end_peek(end, &data), cap);
	memcpy(buf, data, n);
	sim_end_consume(end, n);
	return n;
}

void
sim_end_close(SimEnd *end)
{
	ASSERT(!end->released);
	SimConn *conn = end->conn;
	int s = end->side;
	if (!end->connected && !end->dead) {
		sim_end_reset(end); /* closing a connect in progress aborts it */
		return;
	}
	sim_trace(&conn->world->head.trace, conn->world->head.now_ns, node_name(conn, s), "net.close",
	    TRACE_INT("conn", conn->id));
	end->released = true;
	end->fn = NULL;
	end->want_writable = false;
	SimDir *out = &conn->dir[s];
	if (!end->dead && !out->fin_queued) {
		out->fin_queued = true;
		dir_add_segment(conn, s, 0, SEG_FIN);
	}
	SimDir *in = &conn->dir[1 - s];
	in->read_off = in->delivered_off;
	conn_maybe_free(conn);
}

void
sim_end_reset(SimEnd *end)
{
	ASSERT(!end->released);
	SimConn *conn = end->conn;
	int s = end->side;
	sim_trace(&conn->world->head.trace, conn->world->head.now_ns, node_name(conn, s), "net.abort",
	    TRACE_INT("conn", conn->id));
	end->released = true;
	end->fn = NULL;
	if (!end->dead) {
		end->dead = true;
		dir_discard(conn->world, &conn->dir[s]);
		dir_discard(conn->world, &conn->dir[1 - s]);
		send_rst(conn, s);
	}
	conn_maybe_free(conn);
}

uint32_t
sim_end_conn_id(const SimEnd *end)
{
	return end->conn->id;
}

SimNode *
sim_end_node(const SimEnd *end)
{
	return end->conn->node[end->side];
}

SimNode *
sim_end_peer(const SimEnd *end)
{
	return end->conn->node[1 - end->side];
}

bool
sim_end_is_open(const SimEnd *end)
{
	return end->connected && !end->dead && !end->eof && !end->released;
}

/* ---- faults ---- */

static void
partition_reset_event(void *ctx, uint64_t arg)
{
	SimWorld *world = ctx;
	SimConn *conn = conn_get(world, arg);
	if (conn == NULL)
		return;
	int d = (int)(arg & 1);
	conn->dir[d].reset_event = 0;
	if (!conn->dir[d].held)
		return;
	/* Bytes were held for partition_reset_ns: both TCPs give up. */
	conn->busy++;
	end_kill(conn, 0, "partition timeout");
	end_kill(conn, 1, "partition timeout");
	conn->busy--;
	conn_maybe_free(conn);
}

static void
block_one_way(SimWorld *world, SimNode *from, SimNode *to)
{
	SimLinkState *link = link_state(world, from, to);
	if (link->blocked)
		return;
	link->blocked = true;
	sim_trace(&world->head.trace, world->head.now_ns, sim_node_name(from), "net.partition",
	    TRACE_STR("to", sim_node_name(to)));
}

static void
heal_one_way(SimWorld *world, SimNode *from, SimNode *to)
{
	SimLinkState *link = link_state(world, from, to);
	if (!link->blocked)
		return;
	link->blocked = false;
	sim_trace(&world->head.trace, world->head.now_ns, sim_node_name(from), "net.heal", TRACE_STR("to", sim_node_name(to)));
	for (guint k = 0; k < world->net.conns->len; k++) {
		SimConn *conn = world->net.conns->pdata[k];
		if (conn == NULL)
			continue;
		for (int d = 0; d < 2; d++) {
			SimDir *dir = &conn->dir[d];
			if (conn->node[d] != from || conn->node[1 - d] != to)
				continue;
			sim_world_cancel(world, dir->reset_event);
			dir->reset_event = 0;
			if (!dir->held)
				continue;
			/* Held segments leave again now, in order. */
			dir->held = false;
			int64_t prev = world->head.now_ns;
			for (uint32_t i = 0; i < dir->seg_count; i++) {
				SimSegment *seg = &dir->segs[dir->seg_head + i];
				int64_t at = world->head.now_ns + link->config.latency_ns + jitter_draw(world, &link->config);
				seg->arrival_ns = MAX(MAX(seg->arrival_ns, at), prev);
				prev = seg->arrival_ns;
			}
			dir->last_arrival_ns = MAX(dir->last_arrival_ns, prev);
			dir_schedule(conn, d);
		}
	}
}

void
sim_net_partition(SimWorld *world, SimNode *from, SimNode *to, bool both_ways)
{
	block_one_way(world, from, to);
	if (both_ways)
		block_one_way(world, to, from);
}

void
sim_net_heal(SimWorld *world, SimNode *from, SimNode *to, bool both_ways)
{
	heal_one_way(world, from, to);
	if (both_ways)
		heal_one_way(world, to, from);
}

uint32_t
sim_net_reset_between(SimWorld *world, SimNode *a, SimNode *b)
{
	uint32_t count = 0;
	for (guint k = 0; k < world->net.conns->len; k++) {
		SimConn *conn = world->net.conns->pdata[k];
		if (conn == NULL)
			continue;
		bool match = (conn->node[0] == a && conn->node[1] == b) || (conn->node[0] == b && conn->node[1] == a);
		if (!match || (conn->end[0].dead && conn->end[1].dead))
			continue;
		count++;
		conn->busy++;
		end_kill(conn, 0, "reset fault");
		end_kill(conn, 1, "reset fault");
		conn->busy--;
		conn_maybe_free(conn);
	}
	return count;
}

void
sim_net_node_crashed(SimWorld *world, SimNode *node)
{
	SimNet *net = &world->net;
	for (guint k = net->listeners->len; k-- > 0;) {
		SimListener *l = net->listeners->pdata[k];
		if (l->node == node)
			g_ptr_array_remove_index(net->listeners, k);
	}
	for (guint k = 0; k < net->conns->len; k++) {
		SimConn *conn = net->conns->pdata[k];
		if (conn == NULL)
			continue;
		conn->busy++;
		for (int side = 0; side < 2; side++) {
			SimEnd *end = &conn->end[side];
			if (conn->node[side] != node || end->released)
				continue;
			/* The process is gone: its OS resets the connection. */
			end->released = true;
			end->fn = NULL;
			if (!end->dead) {
				end->dead = true;
				dir_discard(world, &conn->dir[side]);
				dir_discard(world, &conn->dir[1 - side]);
				send_rst(conn, side);
			}
		}
		conn->busy--;
		conn_maybe_free(conn);
	}
}
