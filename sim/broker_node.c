/*
 * broker_node.c - see broker_node.h.
 *
 * Flushing: the core's wake callback only marks a connection dirty; after
 * every event this driver handles, it flushes the dirty ones. That keeps
 * the core from being re-entered from its own callbacks.
 */
#include "sim/broker_node.h"

#include <glib.h>
#include <string.h>

#include "proto/assert.h"
#include "sim/disk.h"
#include "sim/net.h"

typedef struct NodeConn NodeConn;

struct SimBrokerNode {
	SimWorld *world;
	SimNode *node;
	BrokerConfig config;
	uint16_t port;
	Broker *broker;
	SimListener *listener;
	/* NodeConn* to flush, flushed from the end: a plain array (a push and
	 * a pop a message, cheaper than GPtrArray's calls), kept in the order
	 * GPtrArray kept it (removal moves the last into the hole, like
	 * g_ptr_array_remove_fast), since the flush order shows in the trace */
	NodeConn **dirty;
	uint32_t dirty_count;
	uint32_t dirty_capacity;
	SimEventId timer;
	int64_t timer_at;
	NodeConn *conns; /* every live NodeConn, for the crash path */
};

struct NodeConn {
	SimBrokerNode *bn;
	BrokerConn *bc;
	SimEnd *end;
	bool dirty;
	NodeConn *prev, *next;
};

static void
dirty_push(SimBrokerNode *bn, NodeConn *nc)
{
	if (bn->dirty_count == bn->dirty_capacity) {
		ASSERT(bn->dirty_capacity < UINT32_MAX / 2);
		bn->dirty_capacity = bn->dirty_capacity ? bn->dirty_capacity * 2 : 16;
		bn->dirty = g_renew(NodeConn *, bn->dirty, bn->dirty_capacity);
	}
	bn->dirty[bn->dirty_count++] = nc;
}

/* Removes the first occurrence of nc, if any, moving the last into its place. */
static void
dirty_remove(SimBrokerNode *bn, NodeConn *nc)
{
	for (uint32_t k = 0; k < bn->dirty_count; k++)
		if (bn->dirty[k] == nc) {
			bn->dirty[k] = bn->dirty[--bn->dirty_count];
			return;
		}
}

static int64_t
now_of(SimBrokerNode *bn)
{
	return sim_node_clock_ns(bn->node);
}

static void
conn_wake(void *ctx, BrokerConn *bc)
{
	SimBrokerNode *bn = ctx;
	NodeConn *nc = broker_conn_user(bc);
	if (nc == NULL || nc->dirty)
		return;
	nc->dirty = true;
	dirty_push(bn, nc);
}

static void
probe_hit(void *ctx, BrokerConn *bc, BrokerProbe probe)
{
	SimBrokerNode *bn = ctx;
	sim_node_trace(bn->node, "broker.probe", TRACE_STR("probe", broker_probe_name(probe)),
	    TRACE_INT("cid", bc ? (int64_t)broker_conn_cid(bc) : 0));
}

static void
nc_unlink_free(NodeConn *nc)
{
	SimBrokerNode *bn = nc->bn;
	if (nc->prev != NULL)
		nc->prev->next = nc->next;
	else
		bn->conns = nc->next;
	if (nc->next != NULL)
		nc->next->prev = nc->prev;
	dirty_remove(bn, nc);
	g_free(nc);
}

/* The connection is over: tell the core, release the end, forget it. */
static void
nc_finish(NodeConn *nc, BrokerCloseReason reason)
{
	SimBrokerNode *bn = nc->bn;
	BrokerCloseReason why = broker_conn_closing(nc->bc) ? broker_conn_close_reason(nc->bc) : reason;
	sim_node_trace(bn->node, "broker.conn_close", TRACE_INT("cid", (int64_t)broker_conn_cid(nc->bc)),
	    TRACE_STR("reason", broker_close_reason_str(why)));
	broker_conn_close(bn->broker, nc->bc, reason, now_of(bn));
	sim_end_close(nc->end);
	nc_unlink_free(nc);
}

/* Sends what the core owes, as far as the window allows. Returns false
 * when the connection was finished. */
static bool
nc_flush(NodeConn *nc)
{
	SimBrokerNode *bn = nc->bn;
	const uint8_t *data;
	size_t n = broker_conn_send_peek(nc->bc, &data);
	if (n > 0) {
		int64_t w = sim_end_write(nc->end, data, n);
		if (w < 0) {
			nc_finish(nc, BROKER_CLOSE_WRITE_ERROR);
			return false;
		}
		broker_conn_send_consume(bn->broker, nc->bc, (size_t)w, now_of(bn));
		n -= (size_t)w;
	}
	if (n == 0 && broker_conn_closing(nc->bc)) {
		nc_finish(nc, BROKER_CLOSE_CLIENT);
		return false;
	}
	return true;
}

static void timer_fire(void *ctx, uint64_t arg);

/* Flushes dirty connections, then keeps the timer at the core's deadline. */
static void
settle(SimBrokerNode *bn)
{
	if (bn->broker == NULL)
		return;
	while (bn->dirty_count > 0) {
		NodeConn *nc = bn->dirty[--bn->dirty_count];
		nc->dirty = false;
		nc_flush(nc);
	}
	int64_t deadline = broker_next_deadline_ns(bn->broker);
	int64_t at = INT64_MAX;
	if (deadline != INT64_MAX) {
		/* core time -> virtual time */
		at = deadline - (now_of(bn) - sim_world_now_ns(bn->world));
		at = MAX(at, sim_world_now_ns(bn->world));
	}
	if (at == bn->timer_at)
		return;
	sim_world_cancel(bn->world, bn->timer);
	bn->timer = 0;
	bn->timer_at = at;
	if (at != INT64_MAX)
		bn->timer = sim_node_at(bn->node, at, timer_fire, bn, 0);
}

static void
timer_fire(void *ctx, uint64_t arg)
{
	(void)arg;
	SimBrokerNode *bn = ctx;
	bn->timer = 0;
	bn->timer_at = INT64_MAX;
	broker_on_timeout(bn->broker, now_of(bn));
	settle(bn);
}

static void
end_event(void *ctx, SimEnd *end, SimConnEvent event)
{
	NodeConn *nc = ctx;
	SimBrokerNode *bn = nc->bn;
	ASSERT(nc->end == end);
	switch (event) {
	case SIM_CONN_READABLE: {
		const uint8_t *data;
		size_t n = sim_end_peek(end, &data);
		broker_conn_recv(bn->broker, nc->bc, data, n, now_of(bn));
		sim_end_consume(end, n);
		break;
	}
	case SIM_CONN_WRITABLE:
		nc_flush(nc);
		break;
	case SIM_CONN_EOF:
	case SIM_CONN_RESET:
		nc_finish(nc, BROKER_CLOSE_CLIENT);
		break;
	case SIM_CONN_CONNECTED:
	case SIM_CONN_REFUSED:
		UNREACHABLE(); /* a server end never connects out */
	}
	settle(bn);
}

static void
on_accept(void *ctx, SimEnd *end)
{
	SimBrokerNode *bn = ctx;
	NodeConn *nc = g_new0(NodeConn, 1);
	nc->bn = bn;
	nc->end = end;
	nc->next = bn->conns;
	if (bn->conns != NULL)
		bn->conns->prev = nc;
	bn->conns = nc;
	sim_end_set_handler(end, end_event, nc);
	char ip[64];
	g_snprintf(ip, sizeof(ip), "%s", sim_node_name(sim_end_peer(end)));
	nc->bc = broker_conn_open(bn->broker, ip, (uint16_t)(10000 + sim_end_conn_id(end) % 50000), now_of(bn));
	broker_conn_set_user(nc->bc, nc);
	sim_node_trace(bn->node, "broker.conn_open", TRACE_INT("cid", (int64_t)broker_conn_cid(nc->bc)),
	    TRACE_STR("from", sim_node_name(sim_end_peer(end))));
	conn_wake(bn, nc->bc); /* INFO is waiting */
	settle(bn);
}

/* Warnings and errors (a corrupt store found at start-up, a store that
 * refused a write) go into the trace; the rest is noise there. */
static void
log_line(void *ctx, BrokerLogLevel level, const char *message)
{
	SimBrokerNode *bn = ctx;
	if (level <= BROKER_LOG_WARN)
		sim_node_trace(bn->node, "broker.log", TRACE_STR("level", level == BROKER_LOG_ERROR ? "error" : "warn"),
		    TRACE_STR("msg", message));
}

static const BrokerCallbacks callbacks = {
	.conn_wake = conn_wake,
	.log = log_line,
	.probe = probe_hit,
};

static void
node_start(SimNode *node, void *ctx)
{
	SimBrokerNode *bn = ctx;
	bn->node = node;
	bn->timer = 0;
	bn->timer_at = INT64_MAX;
	/* JetStream keeps its streams on the node's virtual disk, which is
	 * all that survives a crash. */
	if (bn->config.jetstream)
		bn->config.storage = sim_disk_storage(sim_node_disk(node));
	bn->broker = broker_create(&bn->config, sim_node_seed(node), sim_node_clock_ns(node), &callbacks, bn);
	bn->listener = sim_net_listen(node, bn->port, on_accept, bn);
	ASSERT(bn->listener != NULL);
}

/* Drops our side of every connection; the core's own teardown that
 * follows must not reach them (wake finds no NodeConn). */
static void
forget_conns(SimBrokerNode *bn)
{
	while (bn->conns != NULL) {
		NodeConn *nc = bn->conns;
		bn->conns = nc->next;
		broker_conn_set_user(nc->bc, NULL);
		g_free(nc);
	}
	bn->dirty_count = 0;
}

static void
node_crash(SimNode *node, void *ctx)
{
	(void)node;
	SimBrokerNode *bn = ctx;
	/* The kernel released our ends and listener; drop the core. */
	forget_conns(bn);
	broker_destroy(bn->broker);
	bn->broker = NULL;
	bn->listener = NULL;
	bn->timer = 0;
	bn->timer_at = INT64_MAX;
}

static const SimNodeOps node_ops = { node_start, node_crash };

SimBrokerNode *
sim_broker_node_create(SimWorld *world, const char *name, const BrokerConfig *config, uint16_t port)
{
	SimBrokerNode *bn = g_new0(SimBrokerNode, 1);
	bn->world = world;
	bn->config = *config;
	bn->port = port ? port : 4222;
	bn->config.port = bn->port;
	bn->config.host = "0.0.0.0";
	/* warnings too (a corrupt record found at start-up is one): traced */
	if (bn->config.log_level < BROKER_LOG_WARN)
		bn->config.log_level = BROKER_LOG_WARN;
	sim_node_create(world, name, &node_ops, bn);
	return bn;
}

void
sim_broker_node_destroy(SimBrokerNode *bn)
{
	if (bn == NULL)
		return;
	if (bn->broker != NULL) {
		forget_conns(bn);
		broker_destroy(bn->broker);
	}
	sim_world_cancel(bn->world, bn->timer);
	g_free(bn->dirty);
	g_free(bn);
}

SimNode *
sim_broker_node_node(SimBrokerNode *bn)
{
	return bn->node;
}

Broker *
sim_broker_node_broker(SimBrokerNode *bn)
{
	return bn->broker;
}

uint16_t
sim_broker_node_port(const SimBrokerNode *bn)
{
	return bn->port;
}
