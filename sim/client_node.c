/*
 * client_node.c - the client core as a simulated node (see client_node.h).
 *
 * The driver loop is service(): do what the core wants with the transport
 * (open one with sim_net_connect, or close it), write what the core has to
 * send as far as the window takes, and keep exactly one node event
 * scheduled for the core's next deadline. The core's wake callback (called
 * from inside core calls) only schedules a service event at the current
 * instant, so the core is never re-entered.
 *
 * Invariants: n->end is the one transport (connecting or connected) or
 * NULL; the core has been told transport_open exactly when n->open; every
 * end is released once (close on EOF/RESET/REFUSED, or by a crash).
 */
#include "sim/client_node.h"

#include <glib.h>
#include <string.h>

#include "proto/assert.h"
#include "sim/net.h"

struct SimClientNode {
	SimWorld *world;
	SimNode *node;
	SimClientNodeOptions opts;
	char *name;
	char *broker;
	ClientOptions client; /* strings point into the owned copies below */
	char *strings[8];
	SimClientNodeCallbacks cb;
	void *ctx;

	ClientConn *conn;
	SimEnd *end;
	bool open;  /* the core was told transport_open on end */
	uint32_t attempts;
	bool service_scheduled;
	bool in_call; /* inside a call that services the node before returning */
	SimEventId deadline_event;
	int64_t deadline_at_ns; /* INT64_MAX: none scheduled */
	uint64_t next_id;
	GHashTable *calls; /* id -> Call*, owned: freed when done, or at crash/destroy */
	int64_t paused_until_ns; /* virtual time; reading is off before it */
	bool eof_pending;        /* EOF arrived while paused */
};

const char SIM_CLIENT_MSG[] = "client.msg";
const char SIM_CLIENT_PUB[] = "client.pub";
const char SIM_CLIENT_KEY_SID[] = "sid";
const char SIM_CLIENT_KEY_SUBJECT[] = "subject";
const char SIM_CLIENT_KEY_REPLY[] = "reply";
const char SIM_CLIENT_KEY_PAYLOAD[] = "payload";
const char SIM_CLIENT_KEY_STATUS[] = "status";

typedef struct Call {
	SimClientNode *n;
	uint64_t id;
	char *api; /* JS API calls */
	uint32_t incarnation;
} Call;

/* The time the core sees: the node's clock (epoch + virtual time +
 * skew), so clock-jump faults reach it, as they reach the broker. */
static int64_t
now(const SimClientNode *n)
{
	return sim_node_clock_ns(n->node);
}

/* Virtual (world) time, for scheduling. */
static int64_t
vnow(const SimClientNode *n)
{
	return sim_world_now_ns(n->world);
}

SimClientNodeOptions
sim_client_node_options_default(const char *name, const char *broker)
{
	SimClientNodeOptions o = { .name = name, .broker = broker, .port = 4222 };
	o.client = client_options_default();
	o.client.retry_on_failed_connect = true;
	o.client.reconnect_attempts_max = -1;
	return o;
}

static void service(SimClientNode *n);

static void
service_event(void *ctx, uint64_t arg)
{
	(void)arg;
	SimClientNode *n = ctx;
	n->service_scheduled = false;
	service(n);
}

static void
deadline_event(void *ctx, uint64_t arg)
{
	(void)arg;
	SimClientNode *n = ctx;
	n->deadline_event = 0;
	n->deadline_at_ns = INT64_MAX;
	if (n->conn != NULL)
		client_conn_on_timeout(n->conn, now(n));
	service(n);
}

static void
schedule_service(SimClientNode *n)
{
	if (n->service_scheduled || !sim_node_up(n->node))
		return;
	n->service_scheduled = true;
	sim_node_at(n->node, vnow(n), service_event, n, 0);
}

static void
core_wake(void *ctx, ClientConn *conn)
{
	(void)conn;
	SimClientNode *n = ctx;
	if (n->in_call)
		return; /* the call services the node before it returns */
	schedule_service(ctx);
}

static void
core_event(void *ctx, ClientConn *conn, const ClientEvent *ev)
{
	SimClientNode *n = ctx;
	switch (ev->kind) {
	case CLIENT_EVENT_CONNECTED:
		sim_node_trace(n->node, "client.connected", TRACE_INT("attempts", n->attempts));
		break;
	case CLIENT_EVENT_RECONNECTED:
		sim_node_trace(n->node, "client.reconnected",
		    TRACE_INT("reconnects", (int64_t)client_conn_stats(conn).reconnects));
		break;
	case CLIENT_EVENT_DISCONNECTED:
		sim_node_trace(n->node, "client.disconnected", TRACE_STR("status", client_status_str(ev->status)));
		break;
	case CLIENT_EVENT_CLOSED:
		sim_node_trace(n->node, "client.closed", TRACE_STR("status", client_status_str(ev->status)));
		break;
	case CLIENT_EVENT_ERROR:
	case CLIENT_EVENT_SLOW_CONSUMER:
		sim_node_trace(n->node, "client.error", TRACE_STR("status", client_status_str(ev->status)),
		    TRACE_STR("text", ev->text), TRACE_INT("sid", (int64_t)ev->sid));
		break;
	case CLIENT_EVENT_SERVER_INFO:
		break;
	}
	if (n->cb.event != NULL)
		n->cb.event(n->ctx, n, ev);
}

/* ---- transport ---- */

static void
end_event(void *ctx, SimEnd *end, SimConnEvent event);

static void
drop_end(SimClientNode *n, ClientStatus status)
{
	SimEnd *end = n->end;
	bool was_open = n->open;
	n->end = NULL;
	n->open = false;
	/* Orderly close of an open transport; a connect still under way is
	 * aborted. Released ends get no more events. */
	if (end != NULL && was_open)
		sim_end_close(end);
	else if (end != NULL)
		sim_end_reset(end);
	client_conn_transport_closed(n->conn, status, now(n));
}

static void
write_out(SimClientNode *n)
{
	if (n->end == NULL || !n->open)
		return;
	const uint8_t *data;
	size_t len = client_conn_send_peek(n->conn, &data);
	while (len > 0) {
		int64_t w = sim_end_write(n->end, data, len);
		if (w <= 0)
			return; /* window full (WRITABLE follows) or dead (an event follows) */
		client_conn_send_consume(n->conn, (size_t)w, now(n));
		len = client_conn_send_peek(n->conn, &data);
	}
}

static void
service(SimClientNode *n)
{
	if (n->conn == NULL || !sim_node_up(n->node))
		return;
	/* Each pass settles one transport wish; a few passes always suffice
	 * (close, then maybe open), the bound only guards the loop. */
	for (int pass = 0; pass < 4; pass++) {
		ClientTransportWant want = client_conn_transport_want(n->conn);
		if (want == CLIENT_WANT_CLOSE) {
			write_out(n); /* best effort: the last publishes */
			drop_end(n, CLIENT_ERR_CONNECTION_LOST);
			continue;
		}
		if (want == CLIENT_WANT_OPEN && n->end == NULL) {
			if (sim_world_now_ns(n->world) < n->opts.connect_at_ns) {
				/* not yet: the scenario starts this client later */
				if (!n->service_scheduled) {
					n->service_scheduled = true;
					sim_node_at(n->node, n->opts.connect_at_ns, service_event, n, 0);
				}
				break;
			}
			SimNode *broker = sim_world_node(n->world, n->broker);
			n->attempts++;
			sim_node_trace(n->node, "client.connect", TRACE_INT("attempt", n->attempts));
			if (broker == NULL) {
				client_conn_transport_closed(n->conn, CLIENT_ERR_IO, now(n));
				continue;
			}
			n->end = sim_net_connect(n->node, broker, n->opts.port, end_event, n);
		}
		break;
	}
	write_out(n);
	int64_t d = client_conn_next_deadline_ns(n->conn);
	if (d != n->deadline_at_ns) {
		if (n->deadline_event != 0)
			sim_world_cancel(n->world, n->deadline_event);
		n->deadline_event = 0;
		n->deadline_at_ns = d;
		if (d != INT64_MAX)
			n->deadline_event = sim_node_at(n->node, d > now(n) ? vnow(n) + (d - now(n)) : vnow(n),
			    deadline_event, n, 0);
	}
}

static void
end_event(void *ctx, SimEnd *end, SimConnEvent event)
{
	SimClientNode *n = ctx;
	ASSERT(end == n->end); /* released ends get no events */
	switch (event) {
	case SIM_CONN_CONNECTED:
		n->open = true;
		client_conn_transport_open(n->conn, now(n));
		break;
	case SIM_CONN_READABLE:
	case SIM_CONN_EOF: {
		if (sim_world_now_ns(n->world) < n->paused_until_ns) {
			/* a paused reader: the bytes wait in the window */
			n->eof_pending |= event == SIM_CONN_EOF;
			break;
		}
		const uint8_t *data;
		size_t len = sim_end_peek(end, &data);
		if (len > 0 && n->open) {
			client_conn_recv(n->conn, data, len, now(n));
			if (n->end == end)
				sim_end_consume(end, len);
		}
		if (event == SIM_CONN_EOF && n->end == end)
			drop_end(n, CLIENT_ERR_CONNECTION_LOST);
		break;
	}
	case SIM_CONN_WRITABLE:
		break;
	case SIM_CONN_RESET:
	case SIM_CONN_REFUSED:
		drop_end(n, event == SIM_CONN_REFUSED ? CLIENT_ERR_IO : CLIENT_ERR_CONNECTION_LOST);
		break;
	}
	service(n);
}

static void
resume_event(void *ctx, uint64_t arg)
{
	(void)arg;
	SimClientNode *n = ctx;
	if (n->end == NULL || sim_world_now_ns(n->world) < n->paused_until_ns)
		return;
	bool eof = n->eof_pending;
	n->eof_pending = false;
	end_event(n, n->end, eof ? SIM_CONN_EOF : SIM_CONN_READABLE);
}

ClientStatus
sim_client_node_pause_reading(SimClientNode *n, int64_t duration_ns)
{
	if (n->conn == NULL || duration_ns < 0)
		return CLIENT_ERR_INVALID_ARG;
	int64_t until = sim_world_now_ns(n->world) + duration_ns;
	n->paused_until_ns = MAX(n->paused_until_ns, until);
	sim_node_trace(n->node, "client.pause", TRACE_INT("until_ns", n->paused_until_ns));
	sim_node_at(n->node, n->paused_until_ns, resume_event, n, 0);
	return CLIENT_OK;
}

/* ---- node life cycle ---- */

static void
call_free(gpointer p)
{
	Call *c = p;
	g_free(c->api);
	g_free(c);
}


static void
node_start(SimNode *node, void *ctx)
{
	SimClientNode *n = ctx;
	n->node = node;
	n->end = NULL;
	n->open = false;
	n->attempts = 0;
	n->service_scheduled = false;
	n->deadline_event = 0;
	n->deadline_at_ns = INT64_MAX;
	n->paused_until_ns = 0;
	n->eof_pending = false;
	ClientCallbacks cbs = { .event = core_event, .wake = core_wake };
	ClientStatus st = client_conn_create(&n->conn, &n->client, &cbs, n, sim_node_seed(node), now(n));
	ASSERT(st == CLIENT_OK); /* options were checked at sim_client_node_create */
	service(n);
}

static void
node_crash(SimNode *node, void *ctx)
{
	(void)node;
	SimClientNode *n = ctx;
	/* The kernel released our end and dropped our events. The process is
	 * gone: no callback of the core runs. */
	n->end = NULL;
	n->open = false;
	client_conn_destroy(n->conn);
	n->conn = NULL;
	g_hash_table_remove_all(n->calls);
}

static const SimNodeOps client_node_ops = { node_start, node_crash };

static const char *
keep(SimClientNode *n, int slot, const char *s)
{
	if (s == NULL)
		return NULL;
	n->strings[slot] = g_strdup(s);
	return n->strings[slot];
}

SimClientNode *
sim_client_node_create(SimWorld *world, const SimClientNodeOptions *options, const SimClientNodeCallbacks *callbacks,
    void *ctx)
{
	ASSERT(world != NULL && options != NULL && options->name != NULL && options->broker != NULL);
	SimClientNode *n = g_new0(SimClientNode, 1);
	n->world = world;
	n->opts = *options;
	n->opts.name = keep(n, 0, options->name);
	n->opts.broker = keep(n, 1, options->broker);
	n->broker = (char *)n->opts.broker;
	if (n->opts.port == 0)
		n->opts.port = 4222;
	n->client = options->client;
	n->client.name = keep(n, 2, options->client.name ? options->client.name : options->name);
	n->client.user = keep(n, 3, options->client.user);
	n->client.password = keep(n, 4, options->client.password);
	n->client.token = keep(n, 5, options->client.token);
	n->client.inbox_prefix = keep(n, 6, options->client.inbox_prefix);
	n->client.js_api_prefix = keep(n, 7, options->client.js_api_prefix);
	if (callbacks != NULL)
		n->cb = *callbacks;
	n->ctx = ctx;
	n->calls = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL, call_free);
	/* Validate the options once, outside the node, so start cannot fail. */
	ClientConn *probe = NULL;
	ClientStatus st = client_conn_create(&probe, &n->client, NULL, NULL, 0, 0);
	ASSERT(st == CLIENT_OK);
	client_conn_destroy(probe);
	sim_node_create(world, n->opts.name, &client_node_ops, n);
	return n;
}

void
sim_client_node_destroy(SimClientNode *n)
{
	if (n == NULL)
		return;
	client_conn_destroy(n->conn);
	g_hash_table_destroy(n->calls);
	for (size_t k = 0; k < G_N_ELEMENTS(n->strings); k++)
		g_free(n->strings[k]);
	g_free(n);
}

SimNode *
sim_client_node_sim(SimClientNode *n)
{
	return n->node;
}

ClientConn *
sim_client_node_conn(SimClientNode *n)
{
	return n->conn;
}

ClientState
sim_client_node_state(const SimClientNode *n)
{
	return n->conn ? client_conn_state(n->conn) : CLIENT_STATE_CLOSED;
}

/* ---- tracing helpers ---- */

static void
trace_msg(SimClientNode *n, const ClientMsg *m)
{
	SimTraceField f[11];
	size_t k = 0;
	f[k++] = TRACE_INT(SIM_CLIENT_KEY_SID, (int64_t)m->sid);
	f[k++] = TRACE_STR(SIM_CLIENT_KEY_SUBJECT, m->subject);
	f[k++] = TRACE_STR(SIM_CLIENT_KEY_REPLY, m->reply ? m->reply : "");
	f[k++] = TRACE_BYTES(SIM_CLIENT_KEY_PAYLOAD, m->data, m->data_len);
	f[k++] = TRACE_INT(SIM_CLIENT_KEY_STATUS, m->status);
	ClientJsMeta meta;
	if (m->reply != NULL && client_js_meta_parse(m->reply, &meta) == CLIENT_OK) {
		f[k++] = TRACE_STR("stream", meta.stream);
		f[k++] = TRACE_STR("consumer", meta.consumer);
		f[k++] = TRACE_INT("delivered", (int64_t)meta.delivered);
		f[k++] = TRACE_INT("stream_seq", (int64_t)meta.stream_seq);
		f[k++] = TRACE_INT("consumer_seq", (int64_t)meta.consumer_seq);
	}
	sim_trace_emit_n(sim_world_trace(n->world), vnow(n), sim_node_name(n->node), sim_node_name_hash(n->node),
	    SIM_CLIENT_MSG, sim_trace_name_hash(SIM_CLIENT_MSG, sizeof(SIM_CLIENT_MSG) - 1), f, k);
}

static void
on_msg(void *ctx, ClientConn *conn, const ClientMsg *m)
{
	(void)conn;
	SimClientNode *n = ctx;
	trace_msg(n, m);
	if (n->cb.msg != NULL)
		n->cb.msg(n->ctx, n, m);
}

static Call *
call_new(SimClientNode *n)
{
	Call *c = g_new0(Call, 1);
	c->n = n;
	c->id = ++n->next_id;
	c->incarnation = sim_node_incarnation(n->node);
	g_hash_table_insert(n->calls, &c->id, c);
	return c;
}

static void
call_done(Call *c, ClientStatus status)
{
	SimClientNode *n = c->n;
	uint64_t id = c->id;
	g_hash_table_remove(n->calls, &id); /* frees c */
	if (n->cb.done != NULL)
		n->cb.done(n->ctx, n, id, status);
}

static ClientStatus
started(SimClientNode *n, Call *c, ClientStatus st, uint64_t *id_out)
{
	if (st != CLIENT_OK) {
		g_hash_table_remove(n->calls, &c->id);
		n->next_id--;
		return st;
	}
	if (id_out != NULL)
		*id_out = c->id;
	service(n);
	return CLIENT_OK;
}

/* ---- operations ---- */

#define NEED_CONN(n)                        \
	do {                                \
		if ((n)->conn == NULL)      \
			return CLIENT_ERR_CLOSED; \
	} while (0)

ClientStatus
sim_client_node_publish(SimClientNode *n, const char *subject, const char *reply, const void *headers,
    size_t headers_len, const void *data, size_t data_len)
{
	NEED_CONN(n);
	n->in_call = true;
	ClientStatus st = client_publish(n->conn, subject, reply, headers, headers_len, data, data_len, now(n));
	n->in_call = false;
	if (st == CLIENT_OK) {
		sim_node_trace(n->node, SIM_CLIENT_PUB, TRACE_STR(SIM_CLIENT_KEY_SUBJECT, subject),
		    TRACE_STR(SIM_CLIENT_KEY_REPLY, reply ? reply : ""), TRACE_BYTES(SIM_CLIENT_KEY_PAYLOAD, data, data_len));
		service(n);
	}
	return st;
}

ClientStatus
sim_client_node_subscribe(SimClientNode *n, const char *subject, const char *queue, uint64_t *sid_out)
{
	NEED_CONN(n);
	ClientStatus st = client_subscribe(n->conn, subject, queue, on_msg, n, sid_out, now(n));
	if (st == CLIENT_OK)
		service(n);
	return st;
}

ClientStatus
sim_client_node_unsubscribe(SimClientNode *n, uint64_t sid, uint64_t max_msgs)
{
	NEED_CONN(n);
	ClientStatus st = client_unsubscribe(n->conn, sid, max_msgs, now(n));
	if (st == CLIENT_OK)
		service(n);
	return st;
}

static void
on_reply(void *ctx, ClientConn *conn, ClientStatus status, const ClientMsg *m)
{
	(void)conn;
	Call *c = ctx;
	sim_node_trace(c->n->node, "client.reply", TRACE_INT("id", (int64_t)c->id),
	    TRACE_STR("status", client_status_str(status)), TRACE_BYTES("payload", m ? m->data : NULL, m ? m->data_len : 0));
	call_done(c, status);
}

ClientStatus
sim_client_node_request(SimClientNode *n, const char *subject, const void *data, size_t data_len, int64_t timeout_ns,
    uint64_t *id_out)
{
	NEED_CONN(n);
	Call *c = call_new(n);
	ClientStatus st = client_request(n->conn, subject, NULL, 0, data, data_len, timeout_ns, on_reply, c, NULL, now(n));
	/* A request is a publish too (on the client's inbox as reply). */
	if (st == CLIENT_OK)
		sim_node_trace(n->node, SIM_CLIENT_PUB, TRACE_STR(SIM_CLIENT_KEY_SUBJECT, subject),
		    TRACE_STR(SIM_CLIENT_KEY_REPLY, "(inbox)"), TRACE_BYTES(SIM_CLIENT_KEY_PAYLOAD, data, data_len));
	return started(n, c, st, id_out);
}

static void
on_flush(void *ctx, ClientConn *conn, ClientStatus status)
{
	(void)conn;
	Call *c = ctx;
	sim_node_trace(c->n->node, "client.flush", TRACE_INT("id", (int64_t)c->id),
	    TRACE_STR("status", client_status_str(status)));
	call_done(c, status);
}

ClientStatus
sim_client_node_flush(SimClientNode *n, int64_t timeout_ns, uint64_t *id_out)
{
	NEED_CONN(n);
	Call *c = call_new(n);
	return started(n, c, client_flush(n->conn, timeout_ns, on_flush, c, now(n)), id_out);
}

ClientStatus
sim_client_node_drain(SimClientNode *n, int64_t timeout_ns)
{
	NEED_CONN(n);
	ClientStatus st = client_conn_drain(n->conn, timeout_ns, now(n));
	service(n);
	return st;
}

void
sim_client_node_close(SimClientNode *n)
{
	if (n->conn == NULL)
		return;
	client_conn_close(n->conn, now(n));
	service(n);
}

static void
on_puback(void *ctx, ClientConn *conn, ClientStatus status, const ClientPubAck *ack, const ClientJsError *err)
{
	(void)conn;
	Call *c = ctx;
	sim_node_trace(c->n->node, "client.puback", TRACE_INT("id", (int64_t)c->id),
	    TRACE_STR("status", client_status_str(status)), TRACE_STR("stream", ack ? ack->stream : ""),
	    TRACE_INT("seq", ack ? (int64_t)ack->seq : 0), TRACE_INT("duplicate", ack ? ack->duplicate : 0),
	    TRACE_INT("err_code", err ? err->err_code : 0));
	call_done(c, status);
}

ClientStatus
sim_client_node_js_publish(SimClientNode *n, const char *subject, const void *data, size_t data_len,
    const ClientJsPubOptions *options, int64_t timeout_ns, uint64_t *id_out)
{
	NEED_CONN(n);
	Call *c = call_new(n);
	ClientStatus st =
	    client_js_publish(n->conn, subject, data, data_len, options, timeout_ns, on_puback, c, now(n));
	if (st == CLIENT_OK)
		sim_node_trace(n->node, SIM_CLIENT_PUB, TRACE_STR(SIM_CLIENT_KEY_SUBJECT, subject),
		    TRACE_STR(SIM_CLIENT_KEY_REPLY, ""), TRACE_BYTES(SIM_CLIENT_KEY_PAYLOAD, data, data_len));
	return started(n, c, st, id_out);
}

static void
on_js(void *ctx, ClientConn *conn, ClientStatus status, const ClientJsError *err, json_t *response)
{
	(void)conn;
	(void)response;
	Call *c = ctx;
	sim_node_trace(c->n->node, "client.js", TRACE_INT("id", (int64_t)c->id), TRACE_STR("api", c->api ? c->api : ""),
	    TRACE_STR("status", client_status_str(status)), TRACE_INT("err_code", err ? err->err_code : 0));
	call_done(c, status);
}

ClientStatus
sim_client_node_js_api(SimClientNode *n, const char *api, const json_t *body, int64_t timeout_ns, uint64_t *id_out)
{
	NEED_CONN(n);
	Call *c = call_new(n);
	c->api = g_strdup(api);
	return started(n, c, client_js_api(n->conn, api, body, timeout_ns, on_js, c, now(n)), id_out);
}

ClientStatus
sim_client_node_stream_add(SimClientNode *n, const ClientStreamConfig *config, int64_t timeout_ns, uint64_t *id_out)
{
	NEED_CONN(n);
	Call *c = call_new(n);
	c->api = g_strdup("STREAM.CREATE");
	return started(n, c, client_js_stream_add(n->conn, config, timeout_ns, on_js, c, now(n)), id_out);
}

ClientStatus
sim_client_node_consumer_add(SimClientNode *n, const char *stream, const ClientConsumerConfig *config,
    int64_t timeout_ns, uint64_t *id_out)
{
	NEED_CONN(n);
	Call *c = call_new(n);
	c->api = g_strdup("CONSUMER.CREATE");
	return started(n, c, client_js_consumer_add(n->conn, stream, config, timeout_ns, on_js, c, now(n)), id_out);
}

static void
on_fetch_msg(void *ctx, ClientConn *conn, const ClientMsg *m)
{
	Call *c = ctx;
	on_msg(c->n, conn, m);
}

static void
on_fetch_done(void *ctx, ClientConn *conn, ClientStatus status, uint32_t received, int code, const char *text)
{
	(void)conn;
	(void)text;
	Call *c = ctx;
	sim_node_trace(c->n->node, "client.fetch.done", TRACE_INT("id", (int64_t)c->id),
	    TRACE_STR("status", client_status_str(status)), TRACE_INT("received", received), TRACE_INT("code", code));
	call_done(c, status);
}

ClientStatus
sim_client_node_fetch(SimClientNode *n, const char *stream, const char *consumer, const ClientFetchOptions *options,
    uint64_t *id_out)
{
	NEED_CONN(n);
	Call *c = call_new(n);
	return started(n, c,
	    client_js_fetch(n->conn, stream, consumer, options, on_fetch_msg, on_fetch_done, c, NULL, now(n)), id_out);
}

ClientStatus
sim_client_node_push_subscribe(SimClientNode *n, const char *deliver_subject, const char *queue,
    int64_t idle_heartbeat_ns, uint64_t *sid_out)
{
	NEED_CONN(n);
	ClientStatus st =
	    client_js_push_subscribe(n->conn, deliver_subject, queue, idle_heartbeat_ns, on_msg, n, sid_out, now(n));
	if (st == CLIENT_OK)
		service(n);
	return st;
}

static void
trace_ack(SimClientNode *n, const char *reply, ClientAckKind kind)
{
	ClientJsMeta meta;
	client_js_meta_parse(reply, &meta); /* zeroed when it does not parse */
	sim_node_trace(n->node, "client.ack", TRACE_STR("kind", client_ack_kind_str(kind)), TRACE_STR("reply", reply),
	    TRACE_STR("stream", meta.stream), TRACE_STR("consumer", meta.consumer),
	    TRACE_INT("stream_seq", (int64_t)meta.stream_seq), TRACE_INT("delivered", (int64_t)meta.delivered));
}

ClientStatus
sim_client_node_ack(SimClientNode *n, const char *reply, ClientAckKind kind, int64_t delay_ns)
{
	NEED_CONN(n);
	ClientStatus st = client_js_ack(n->conn, reply, kind, delay_ns, now(n));
	if (st == CLIENT_OK) {
		trace_ack(n, reply, kind);
		service(n);
	}
	return st;
}

ClientStatus
sim_client_node_ack_sync(SimClientNode *n, const char *reply, ClientAckKind kind, int64_t delay_ns,
    int64_t timeout_ns, uint64_t *id_out)
{
	NEED_CONN(n);
	Call *c = call_new(n);
	ClientStatus st = client_js_ack_sync(n->conn, reply, kind, delay_ns, timeout_ns, on_flush, c, now(n));
	if (st == CLIENT_OK)
		trace_ack(n, reply, kind);
	return started(n, c, st, id_out);
}
