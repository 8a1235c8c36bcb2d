/*
 * conn.c - the client connection state machine: transport life cycle,
 * handshake (INFO -> CONNECT + PING -> PONG), the receive loop, PING/PONG
 * keepalive and flush, -ERR reactions, reconnect with backoff and jitter,
 * close and drain, publish, timers, statistics.
 *
 * Who calls it: drivers (client/tcp.c, sim/client_node.c) and users,
 * through client.h. Callbacks run from inside these calls.
 *
 * Invariants owned here: the state machine of ClientState (see client.h);
 * every PING written on a transport has exactly one PongWait queued in
 * conn->pongs; after a transport closes, nothing of it remains (out is
 * cleared, pongs are settled); CLOSED is terminal and every pending
 * callback (request, flush, fetch) has run by the time CLOSED is emitted.
 *
 * -ERR reactions follow nats.c (NATS-SPEC §1.5): 'Stale Connection' is an
 * operational error (reconnect); 'Permissions Violation' is reported and
 * the connection kept; 'Authorization Violation' / 'User Authentication
 * Expired' / 'Authentication Timeout' are auth errors (reconnect, but two
 * in a row on handshakes close for good); any other -ERR closes the
 * connection for good, 'Invalid Subject' included.
 */
#include <jansson.h>
#include <string.h>

#include "client/internal.h"
#include "proto/assert.h"
#include "proto/encode.h"
#include "proto/subject.h"

#ifndef NATSIM_VERSION
#define NATSIM_VERSION "0.0.0"
#endif

#define TIMER_FIRES_PER_CALL_MAX 100000
#define CONNECT_JSON_BYTES_MAX 8192

ClientOptions
client_options_default(void)
{
	return (ClientOptions){
		.echo = true,
		.inbox_prefix = "_INBOX",
		.js_api_prefix = "$JS.API",
		.connect_timeout_ns = 2 * CLIENT_NS_PER_S,
		.ping_interval_ns = 120 * CLIENT_NS_PER_S,
		.pings_out_max = 2,
		.reconnect = true,
		.reconnect_attempts_max = 60,
		.reconnect_wait_ns = 2 * CLIENT_NS_PER_S,
		.reconnect_wait_max_ns = 2 * CLIENT_NS_PER_S,
		.reconnect_jitter_ns = 100 * CLIENT_NS_PER_MS,
		.reconnect_buf_bytes_max = 8u << 20,
		.send_buf_bytes_max = 64u << 20,
		.subs_max = 65536,
		.requests_max = 65536,
		.pending_msgs_max = 65536,
		.pending_bytes_max = 64u << 20,
		.control_line_bytes_max = 64u << 10,
		.msg_bytes_max = INT64_C(64) << 20,
		.js_pub_pending_max = 4000,
		.drain_timeout_ns = 30 * CLIENT_NS_PER_S,
		.version = NATSIM_VERSION,
	};
}

const char *
client_status_str(ClientStatus s)
{
	switch (s) {
	case CLIENT_OK: return "ok";
	case CLIENT_ERR_INVALID_ARG: return "invalid argument";
	case CLIENT_ERR_INVALID_SUBJECT: return "invalid subject";
	case CLIENT_ERR_MAX_PAYLOAD: return "maximum payload exceeded";
	case CLIENT_ERR_NO_SERVER_SUPPORT: return "no server support";
	case CLIENT_ERR_CLOSED: return "connection closed";
	case CLIENT_ERR_DRAINING: return "draining";
	case CLIENT_ERR_BUFFER_FULL: return "buffer full";
	case CLIENT_ERR_LIMIT: return "limit reached";
	case CLIENT_ERR_NOT_FOUND: return "not found";
	case CLIENT_ERR_TIMEOUT: return "timeout";
	case CLIENT_ERR_NO_RESPONDERS: return "no responders";
	case CLIENT_ERR_CONNECTION_LOST: return "connection lost";
	case CLIENT_ERR_PROTOCOL: return "protocol error";
	case CLIENT_ERR_SERVER: return "server error";
	case CLIENT_ERR_PERMISSION: return "permissions violation";
	case CLIENT_ERR_AUTH: return "authorization violation";
	case CLIENT_ERR_STALE: return "stale connection";
	case CLIENT_ERR_SLOW_CONSUMER: return "slow consumer";
	case CLIENT_ERR_JS: return "jetstream error";
	case CLIENT_ERR_BAD_RESPONSE: return "bad response";
	case CLIENT_ERR_NO_MESSAGES: return "no messages";
	case CLIENT_ERR_JS_STATUS: return "jetstream status";
	case CLIENT_ERR_MISSED_HEARTBEAT: return "missed heartbeat";
	case CLIENT_ERR_WOULD_DEADLOCK: return "would deadlock";
	case CLIENT_ERR_IO: return "i/o error";
	}
	return "?";
}

const char *
client_state_str(ClientState s)
{
	switch (s) {
	case CLIENT_STATE_DISCONNECTED: return "disconnected";
	case CLIENT_STATE_CONNECTING: return "connecting";
	case CLIENT_STATE_HANDSHAKE: return "handshake";
	case CLIENT_STATE_CONNECTED: return "connected";
	case CLIENT_STATE_DRAINING: return "draining";
	case CLIENT_STATE_CLOSING: return "closing";
	case CLIENT_STATE_CLOSED: return "closed";
	}
	return "?";
}

/* ---- timers ---- */

static gint
timer_cmp(gconstpointer a, gconstpointer b, gpointer unused)
{
	(void)unused;
	const ClientTimer *x = a, *y = b;
	if (x->at_ns != y->at_ns)
		return x->at_ns < y->at_ns ? -1 : 1;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return 0;
}

/* After every change of conn->timers. */
static void
timers_changed(ClientConn *conn)
{
	GTreeNode *first = g_tree_node_first(conn->timers);
	conn->timer_first = first != NULL ? g_tree_node_key(first) : NULL;
}

void
client_timer_arm(ClientConn *conn, ClientTimer *t, int64_t at_ns)
{
	ASSERT(t->fire != NULL);
	if (t->armed)
		g_tree_remove(conn->timers, t);
	t->at_ns = at_ns;
	t->seq = ++conn->timer_seq;
	t->armed = true;
	g_tree_insert(conn->timers, t, t);
	timers_changed(conn);
}

void
client_timer_cancel(ClientConn *conn, ClientTimer *t)
{
	if (!t->armed)
		return;
	bool removed = g_tree_remove(conn->timers, t);
	ASSERT(removed);
	t->armed = false;
	timers_changed(conn);
}

int64_t
client_conn_next_deadline_ns(const ClientConn *conn)
{
	if (conn == NULL)
		return INT64_MAX;
	return conn->timer_first != NULL ? conn->timer_first->at_ns : INT64_MAX;
}

void
client_conn_on_timeout(ClientConn *conn, int64_t now_ns)
{
	if (conn == NULL)
		return;
	for (int k = 0; k < TIMER_FIRES_PER_CALL_MAX; k++) {
		ClientTimer *t = (ClientTimer *)conn->timer_first;
		if (t == NULL || t->at_ns > now_ns)
			break;
		g_tree_remove(conn->timers, t);
		t->armed = false;
		timers_changed(conn);
		t->fire(conn, t, now_ns);
	}
}

/* ---- small helpers ---- */

void
client_wake(ClientConn *conn)
{
	if (conn->cb.wake != NULL && !conn->destroying)
		conn->cb.wake(conn->cb_ctx, conn);
}

void
client_emit(ClientConn *conn, ClientEventKind kind, ClientStatus status, const char *text, uint64_t sid)
{
	if (conn->cb.event == NULL || conn->destroying)
		return;
	ClientEvent ev = { .kind = kind, .status = status, .text = text ? text : "", .sid = sid };
	conn->cb.event(conn->cb_ctx, conn, &ev);
}

bool
client_conn_live(const ClientConn *conn)
{
	return conn->transport_up && !conn->want_close &&
	    (conn->state == CLIENT_STATE_CONNECTED || conn->state == CLIENT_STATE_DRAINING);
}

static void
set_error(ClientConn *conn, ClientStatus status, const char *text)
{
	conn->error = status;
	g_strlcpy(conn->error_text, text ? text : client_status_str(status), sizeof(conn->error_text));
}

void
client_send_ping(ClientConn *conn, PongKind kind, uint64_t sid, ClientFlush *flush)
{
	ASSERT(conn->transport_up);
	PongWait *w = g_new0(PongWait, 1);
	w->kind = kind;
	w->sid = sid;
	w->flush = flush;
	g_queue_push_tail(&conn->pongs, w);
	proto_buf_append(&conn->out, PROTO_PING, strlen(PROTO_PING));
	conn->stats.pings_sent++;
}

static char *
opt_dup(ClientConn *conn, int slot, const char *s)
{
	ASSERT(slot < (int)G_N_ELEMENTS(conn->opt_strings));
	conn->opt_strings[slot] = g_strdup(s);
	return conn->opt_strings[slot];
}

static void reconnect_fire(ClientConn *conn, ClientTimer *t, int64_t now_ns);
static void connect_timeout_fire(ClientConn *conn, ClientTimer *t, int64_t now_ns);
static void ping_fire(ClientConn *conn, ClientTimer *t, int64_t now_ns);
static void drain_timeout_fire(ClientConn *conn, ClientTimer *t, int64_t now_ns);

ClientStatus
client_conn_create(ClientConn **out, const ClientOptions *options, const ClientCallbacks *callbacks,
    void *callbacks_ctx, uint64_t seed, int64_t now_ns)
{
	if (out == NULL || options == NULL)
		return CLIENT_ERR_INVALID_ARG;
	*out = NULL;
	const char *inbox_prefix = options->inbox_prefix ? options->inbox_prefix : "_INBOX";
	if (!proto_subject_valid(inbox_prefix, strlen(inbox_prefix)) ||
	    proto_subject_has_wildcard(inbox_prefix, strlen(inbox_prefix)))
		return CLIENT_ERR_INVALID_SUBJECT;
	const char *js_prefix = options->js_api_prefix ? options->js_api_prefix : "$JS.API";
	if (!proto_subject_valid(js_prefix, strlen(js_prefix)) || proto_subject_has_wildcard(js_prefix, strlen(js_prefix)))
		return CLIENT_ERR_INVALID_SUBJECT;
	if (options->connect_timeout_ns <= 0 || options->ping_interval_ns < 0 || options->reconnect_wait_ns < 0 ||
	    options->reconnect_jitter_ns < 0 || options->reconnect_wait_max_ns < 0 || options->subs_max == 0 ||
	    options->requests_max == 0 || options->control_line_bytes_max < 64 || options->msg_bytes_max <= 0 ||
	    options->drain_timeout_ns <= 0)
		return CLIENT_ERR_INVALID_ARG;

	ClientConn *conn = g_new0(ClientConn, 1);
	conn->opts = *options;
	conn->opts.name = options->name ? opt_dup(conn, 0, options->name) : NULL;
	conn->opts.user = options->user ? opt_dup(conn, 1, options->user) : NULL;
	conn->opts.password = options->password ? opt_dup(conn, 2, options->password) : NULL;
	conn->opts.token = options->token ? opt_dup(conn, 3, options->token) : NULL;
	conn->opts.inbox_prefix = opt_dup(conn, 4, inbox_prefix);
	conn->opts.js_api_prefix = opt_dup(conn, 5, js_prefix);
	conn->opts.version = opt_dup(conn, 6, options->version ? options->version : NATSIM_VERSION);
	if (callbacks != NULL)
		conn->cb = *callbacks;
	conn->cb_ctx = callbacks_ctx;

	/* Two streams from one seed: ids and jitter never perturb each other. */
	uint64_t sm = seed;
	prng_seed(&conn->prng_ids, prng_splitmix64(&sm));
	prng_seed(&conn->prng_jitter, prng_splitmix64(&sm));

	proto_parser_init(&conn->parser, PROTO_ROLE_CLIENT, options->control_line_bytes_max, options->msg_bytes_max);
	proto_buf_init(&conn->out);
	proto_buf_init(&conn->pend);
	proto_buf_init(&conn->scratch);
	conn->max_payload = -1;
	g_queue_init(&conn->pongs);
	g_queue_init(&conn->flushes_unsent);
	conn->subs = g_hash_table_new(g_int64_hash, g_int64_equal);
	conn->requests = g_hash_table_new(g_int64_hash, g_int64_equal);
	conn->fetches = g_hash_table_new(g_int64_hash, g_int64_equal);
	conn->timers = g_tree_new_full(timer_cmp, NULL, NULL, NULL);
	conn->reconnect_timer.fire = reconnect_fire;
	conn->connect_timer.fire = connect_timeout_fire;
	conn->ping_timer.fire = ping_fire;
	conn->drain_timer.fire = drain_timeout_fire;
	conn->next_sid = 1;
	conn->next_token = 1;
	conn->next_fetch_id = 1;
	conn->inbox_base = client_inbox_new(conn);

	conn->state = CLIENT_STATE_CONNECTING;
	client_timer_arm(conn, &conn->connect_timer, now_ns + conn->opts.connect_timeout_ns);
	*out = conn;
	return CLIENT_OK;
}

void
client_conn_destroy(ClientConn *conn)
{
	if (conn == NULL)
		return;
	conn->destroying = true;
	GPtrArray *subs = client_subs_sorted(conn);
	for (guint k = 0; k < subs->len; k++)
		client_sub_free(conn, g_ptr_array_index(subs, k));
	g_ptr_array_free(subs, TRUE);
	g_hash_table_destroy(conn->subs);
	GHashTableIter it;
	gpointer v;
	g_hash_table_iter_init(&it, conn->requests);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		/* freeing only: no order is observable */
		ClientRequest *r = v;
		if (r->ctx_free != NULL)
			r->ctx_free(r->ctx);
		g_free(r);
	}
	g_hash_table_destroy(conn->requests);
	g_hash_table_iter_init(&it, conn->fetches);
	while (g_hash_table_iter_next(&it, NULL, &v))
		g_free(v);
	g_hash_table_destroy(conn->fetches);
	/* A flush record lives in exactly one container: a PongWait or the
	 * unsent queue (see flush records below). */
	while (!g_queue_is_empty(&conn->pongs)) {
		PongWait *w = g_queue_pop_head(&conn->pongs);
		g_free(w->flush);
		g_free(w);
	}
	while (!g_queue_is_empty(&conn->flushes_unsent))
		g_free(g_queue_pop_head(&conn->flushes_unsent));
	g_tree_destroy(conn->timers);
	proto_parser_deinit(&conn->parser);
	proto_buf_deinit(&conn->out);
	proto_buf_deinit(&conn->pend);
	proto_buf_deinit(&conn->scratch);
	g_free(conn->server_id);
	g_free(conn->server_version);
	g_free(conn->inbox_base);
	for (size_t k = 0; k < G_N_ELEMENTS(conn->opt_strings); k++)
		g_free(conn->opt_strings[k]);
	g_free(conn);
}

/* ---- flush records ----
 * A ClientFlush lives in exactly one place: the unsent queue, or a
 * PongWait. Its timer may fire first: then the callback runs, done is set
 * and the PongWait frees it when its PONG (or the transport's end) comes. */

static void
flush_complete(ClientConn *conn, ClientFlush *f, ClientStatus status)
{
	if (f->done)
		return;
	f->done = true;
	client_timer_cancel(conn, &f->timer);
	if (f->cb != NULL)
		f->cb(f->ctx, conn, status);
}

static void
flush_timeout_fire(ClientConn *conn, ClientTimer *t, int64_t now_ns)
{
	(void)now_ns;
	ClientFlush *f = (ClientFlush *)((char *)t - offsetof(ClientFlush, timer));
	bool unsent = g_queue_remove(&conn->flushes_unsent, f);
	flush_complete(conn, f, CLIENT_ERR_TIMEOUT);
	if (unsent)
		g_free(f);
}

ClientStatus
client_flush(ClientConn *conn, int64_t timeout_ns, ClientFlushFn cb, void *ctx, int64_t now_ns)
{
	if (conn == NULL || timeout_ns <= 0)
		return CLIENT_ERR_INVALID_ARG;
	if (conn->state == CLIENT_STATE_CLOSED || conn->state == CLIENT_STATE_CLOSING || conn->close_requested)
		return CLIENT_ERR_CLOSED;
	ClientFlush *f = g_new0(ClientFlush, 1);
	f->cb = cb;
	f->ctx = ctx;
	f->timer.fire = flush_timeout_fire;
	client_timer_arm(conn, &f->timer, now_ns + timeout_ns);
	if (client_conn_live(conn))
		client_send_ping(conn, PONG_FLUSH, 0, f);
	else
		g_queue_push_tail(&conn->flushes_unsent, f);
	client_wake(conn);
	return CLIENT_OK;
}

/* ---- closing ---- */

static void
finalize_closed(ClientConn *conn)
{
	ASSERT(!conn->transport_up);
	conn->state = CLIENT_STATE_CLOSED;
	client_timer_cancel(conn, &conn->reconnect_timer);
	client_timer_cancel(conn, &conn->connect_timer);
	client_timer_cancel(conn, &conn->ping_timer);
	client_timer_cancel(conn, &conn->drain_timer);
	while (!g_queue_is_empty(&conn->flushes_unsent)) {
		ClientFlush *f = g_queue_pop_head(&conn->flushes_unsent);
		flush_complete(conn, f, CLIENT_ERR_CLOSED);
		g_free(f);
	}
	client_requests_fail_all(conn, CLIENT_ERR_CLOSED);
	client_fetches_fail_all(conn, CLIENT_ERR_CLOSED);
	proto_buf_clear(&conn->pend);
	client_emit(conn, CLIENT_EVENT_CLOSED, conn->error, conn->error_text, 0);
	client_wake(conn);
}

/* Terminal close with a reason. */
static void
close_terminal(ClientConn *conn, ClientStatus status, const char *text)
{
	if (conn->state == CLIENT_STATE_CLOSED)
		return;
	if (!conn->close_requested) {
		conn->close_requested = true;
		set_error(conn, status, status == CLIENT_OK ? "" : text);
	}
	client_timer_cancel(conn, &conn->ping_timer);
	client_timer_cancel(conn, &conn->reconnect_timer);
	client_timer_cancel(conn, &conn->drain_timer);
	if (conn->transport_up || conn->state == CLIENT_STATE_CONNECTING) {
		/* The driver holds (or is opening) a transport: it closes it and
		 * calls transport_closed, which finishes the job. */
		conn->want_close = true;
		conn->state = CLIENT_STATE_CLOSING;
		client_wake(conn);
		return;
	}
	finalize_closed(conn);
}

void
client_conn_close(ClientConn *conn, int64_t now_ns)
{
	(void)now_ns;
	if (conn == NULL)
		return;
	close_terminal(conn, CLIENT_OK, "");
}

void
client_fail_transport(ClientConn *conn, ClientStatus status, const char *text, int64_t now_ns)
{
	(void)now_ns;
	if (!conn->close_requested)
		set_error(conn, status, text);
	conn->want_close = true;
	client_timer_cancel(conn, &conn->ping_timer);
	client_timer_cancel(conn, &conn->connect_timer);
	client_wake(conn);
}

int64_t
client_backoff_ns(const ClientOptions *o, uint32_t attempt, uint64_t jitter_draw)
{
	ASSERT(attempt >= 1);
	int64_t wait = o->reconnect_wait_ns;
	int64_t ceiling = o->reconnect_wait_max_ns > wait ? o->reconnect_wait_max_ns : wait;
	for (uint32_t k = 1; k < attempt && wait < ceiling; k++)
		wait = wait > ceiling / 2 ? ceiling : wait * 2;
	if (wait > ceiling)
		wait = ceiling;
	int64_t jitter = 0;
	if (o->reconnect_jitter_ns > 0)
		jitter = (int64_t)(jitter_draw % ((uint64_t)o->reconnect_jitter_ns + 1));
	return wait + jitter;
}

static void
schedule_reconnect(ClientConn *conn, int64_t now_ns)
{
	conn->attempt++;
	bool allowed = conn->opts.reconnect && (conn->ever_connected || conn->opts.retry_on_failed_connect);
	if (allowed && conn->opts.reconnect_attempts_max >= 0 &&
	    conn->attempt > (uint32_t)conn->opts.reconnect_attempts_max)
		allowed = false;
	if (!allowed) {
		conn->close_requested = true;
		finalize_closed(conn);
		return;
	}
	/* The jitter draw is taken from the jitter stream, one per attempt,
	 * modulo (jitter+1): a test can replay it from the seed. */
	uint64_t draw = prng_next(&conn->prng_jitter);
	int64_t delay = client_backoff_ns(&conn->opts, conn->attempt, draw);
	conn->state = CLIENT_STATE_DISCONNECTED;
	client_timer_arm(conn, &conn->reconnect_timer, now_ns + delay);
}

static void
reconnect_fire(ClientConn *conn, ClientTimer *t, int64_t now_ns)
{
	(void)t;
	ASSERT(conn->state == CLIENT_STATE_DISCONNECTED);
	conn->state = CLIENT_STATE_CONNECTING;
	client_timer_arm(conn, &conn->connect_timer, now_ns + conn->opts.connect_timeout_ns);
	client_wake(conn);
}

static void
connect_timeout_fire(ClientConn *conn, ClientTimer *t, int64_t now_ns)
{
	(void)t;
	if (conn->state == CLIENT_STATE_CONNECTING || conn->state == CLIENT_STATE_HANDSHAKE)
		client_fail_transport(conn, CLIENT_ERR_TIMEOUT, "connect timeout", now_ns);
}

static void
ping_fire(ClientConn *conn, ClientTimer *t, int64_t now_ns)
{
	(void)t;
	if (!client_conn_live(conn))
		return;
	if (conn->pings_out + 1 > conn->opts.pings_out_max) {
		client_emit(conn, CLIENT_EVENT_ERROR, CLIENT_ERR_STALE, "Stale Connection", 0);
		client_fail_transport(conn, CLIENT_ERR_STALE, "Stale Connection", now_ns);
		return;
	}
	conn->pings_out++;
	client_send_ping(conn, PONG_KEEPALIVE, 0, NULL);
	client_timer_arm(conn, &conn->ping_timer, now_ns + conn->opts.ping_interval_ns);
	client_wake(conn);
}

static void
drain_timeout_fire(ClientConn *conn, ClientTimer *t, int64_t now_ns)
{
	(void)t;
	(void)now_ns;
	close_terminal(conn, CLIENT_ERR_TIMEOUT, "drain timeout");
}

/* ---- transport ---- */

ClientTransportWant
client_conn_transport_want(const ClientConn *conn)
{
	if (conn == NULL)
		return CLIENT_WANT_NOTHING;
	if (conn->want_close)
		return CLIENT_WANT_CLOSE;
	if (conn->state == CLIENT_STATE_CONNECTING)
		return CLIENT_WANT_OPEN;
	return CLIENT_WANT_NOTHING;
}

void
client_conn_transport_open(ClientConn *conn, int64_t now_ns)
{
	ASSERT(conn != NULL);
	ASSERT(conn->state == CLIENT_STATE_CONNECTING && !conn->transport_up);
	conn->transport_up = true;
	conn->state = CLIENT_STATE_HANDSHAKE;
	conn->got_info = false;
	conn->pings_out = 0;
	proto_parser_deinit(&conn->parser);
	proto_parser_init(&conn->parser, PROTO_ROLE_CLIENT, conn->opts.control_line_bytes_max,
	    conn->opts.msg_bytes_max);
	proto_buf_clear(&conn->out);
	client_timer_arm(conn, &conn->connect_timer, now_ns + conn->opts.connect_timeout_ns);
}

void
client_conn_transport_closed(ClientConn *conn, ClientStatus status, int64_t now_ns)
{
	ASSERT(conn != NULL);
	if (conn->state == CLIENT_STATE_CLOSED)
		return;
	/* Was this transport past its handshake? */
	bool was_connected = conn->transport_up && conn->state == CLIENT_STATE_CONNECTED;
	if (!conn->want_close && !conn->close_requested)
		set_error(conn, status == CLIENT_OK ? CLIENT_ERR_CONNECTION_LOST : status, NULL);
	conn->transport_up = false;
	conn->want_close = false;
	conn->stats.lost_bytes += proto_buf_pending(&conn->out);
	proto_buf_clear(&conn->out);
	client_timer_cancel(conn, &conn->connect_timer);
	client_timer_cancel(conn, &conn->ping_timer);

	/* Settle this transport's PINGs: flushes wait for the next transport. */
	GQueue requeue = G_QUEUE_INIT;
	bool drain_broken = false;
	while (!g_queue_is_empty(&conn->pongs)) {
		PongWait *w = g_queue_pop_head(&conn->pongs);
		if (w->kind == PONG_FLUSH) {
			if (w->flush->done)
				g_free(w->flush);
			else
				g_queue_push_tail(&requeue, w->flush);
		} else if (w->kind == PONG_DRAIN_SUB) {
			client_sub_drain_done(conn, w->sid);
		} else if (w->kind == PONG_DRAIN_SUBS || w->kind == PONG_DRAIN_PUBS) {
			drain_broken = true;
		}
		g_free(w);
	}
	while (!g_queue_is_empty(&requeue))
		g_queue_push_head(&conn->flushes_unsent, g_queue_pop_tail(&requeue));
	client_fetches_fail_all(conn, CLIENT_ERR_CONNECTION_LOST);

	if (conn->close_requested || drain_broken || conn->in_drain) {
		if (!conn->close_requested) {
			conn->close_requested = true;
			set_error(conn, CLIENT_ERR_CONNECTION_LOST, "connection lost while draining");
		}
		finalize_closed(conn);
		return;
	}
	if (was_connected) {
		client_emit(conn, CLIENT_EVENT_DISCONNECTED, conn->error, conn->error_text, 0);
		if (conn->state == CLIENT_STATE_CLOSED)
			return; /* closed from the callback */
		conn->attempt = 0;
	}
	schedule_reconnect(conn, now_ns);
	client_wake(conn);
}

size_t
client_conn_send_peek(const ClientConn *conn, const uint8_t **data)
{
	if (conn == NULL || !conn->transport_up) {
		*data = NULL;
		return 0;
	}
	*data = proto_buf_peek(&conn->out);
	return proto_buf_pending(&conn->out);
}

void
client_conn_send_consume(ClientConn *conn, size_t len, int64_t now_ns)
{
	(void)now_ns;
	ASSERT(conn != NULL && conn->transport_up);
	ASSERT(len <= proto_buf_pending(&conn->out));
	proto_buf_consume(&conn->out, len);
	if (proto_buf_pending(&conn->out) == 0)
		proto_buf_shrink(&conn->out, 1u << 20);
}

size_t
client_conn_send_take(ClientConn *conn, ProtoBuf *into, int64_t now_ns)
{
	(void)now_ns;
	ASSERT(conn != NULL && into != NULL && proto_buf_pending(into) == 0);
	if (!conn->transport_up || proto_buf_pending(&conn->out) == 0)
		return 0;
	size_t taken = proto_buf_pending(&conn->out);
	ProtoBuf spare = *into;
	proto_buf_clear(&spare);
	*into = conn->out;
	conn->out = spare;
	/* No shrink here (send_consume's only other work): the two buffers
	 * take turns, and freeing the bigger one each turn would make every
	 * burst grow a new one. The driver shrinks its own when idle. */
	ASSERT(proto_buf_pending(into) == taken && proto_buf_pending(&conn->out) == 0);
	return taken;
}

/* ---- receiving ---- */

static char *
json_str_dup(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	return s ? g_strdup(s) : NULL;
}

static ClientStatus
handle_info(ClientConn *conn, const ProtoOp *op, int64_t now_ns)
{
	json_error_t jerr;
	json_t *info = json_loadb((const char *)op->text.ptr, op->text.len, JSON_REJECT_DUPLICATES, &jerr);
	if (info == NULL || !json_is_object(info)) {
		json_decref(info);
		return CLIENT_ERR_PROTOCOL;
	}
	g_free(conn->server_id);
	conn->server_id = json_str_dup(info, "server_id");
	g_free(conn->server_version);
	conn->server_version = json_str_dup(info, "version");
	json_t *mp = json_object_get(info, "max_payload");
	if (json_is_integer(mp) && json_integer_value(mp) > 0)
		conn->max_payload = json_integer_value(mp);
	conn->server_headers = json_is_true(json_object_get(info, "headers"));
	conn->server_jetstream = json_is_true(json_object_get(info, "jetstream"));
	json_decref(info);

	if (conn->state != CLIENT_STATE_HANDSHAKE || conn->got_info) {
		client_emit(conn, CLIENT_EVENT_SERVER_INFO, CLIENT_OK, "", 0);
		return CLIENT_OK;
	}
	conn->got_info = true;
	/* CONNECT as nats.c sends it (NATS-SPEC §1.4): verbose and pedantic
	 * off; headers and no_responders only when the server has headers. */
	json_t *c = json_object();
	json_object_set_new(c, "verbose", json_false());
	json_object_set_new(c, "pedantic", json_false());
	if (conn->opts.user != NULL) {
		json_object_set_new(c, "user", json_string(conn->opts.user));
		json_object_set_new(c, "pass", json_string(conn->opts.password ? conn->opts.password : ""));
	}
	if (conn->opts.token != NULL)
		json_object_set_new(c, "auth_token", json_string(conn->opts.token));
	json_object_set_new(c, "tls_required", json_false());
	if (conn->opts.name != NULL)
		json_object_set_new(c, "name", json_string(conn->opts.name));
	json_object_set_new(c, "lang", json_string(CLIENT_LANG));
	json_object_set_new(c, "version", json_string(conn->opts.version));
	json_object_set_new(c, "protocol", json_integer(1));
	json_object_set_new(c, "echo", json_boolean(conn->opts.echo));
	json_object_set_new(c, "headers", json_boolean(conn->server_headers));
	json_object_set_new(c, "no_responders", json_boolean(conn->server_headers));
	char *text = json_dumps(c, JSON_COMPACT);
	json_decref(c);
	ASSERT(text != NULL && strlen(text) < CONNECT_JSON_BYTES_MAX);
	proto_encode_connect(&conn->out, text);
	free(text);
	client_send_ping(conn, PONG_HANDSHAKE, 0, NULL);
	(void)now_ns;
	return CLIENT_OK;
}

static void
handshake_done(ClientConn *conn, int64_t now_ns)
{
	bool first = !conn->ever_connected;
	conn->ever_connected = true;
	conn->attempt = 0;
	conn->auth_failures = 0;
	conn->state = CLIENT_STATE_CONNECTED;
	conn->error = CLIENT_OK;
	conn->error_text[0] = '\0';
	client_timer_cancel(conn, &conn->connect_timer);
	/* Order: subscriptions, then publishes buffered while away, then the
	 * flushes that wait for a transport (so they cover those publishes). */
	client_subs_resend(conn);
	proto_buf_append(&conn->out, proto_buf_peek(&conn->pend), proto_buf_pending(&conn->pend));
	proto_buf_clear(&conn->pend);
	while (!g_queue_is_empty(&conn->flushes_unsent))
		client_send_ping(conn, PONG_FLUSH, 0, g_queue_pop_head(&conn->flushes_unsent));
	if (conn->opts.ping_interval_ns > 0)
		client_timer_arm(conn, &conn->ping_timer, now_ns + conn->opts.ping_interval_ns);
	if (!first)
		conn->stats.reconnects++;
	client_emit(conn, first ? CLIENT_EVENT_CONNECTED : CLIENT_EVENT_RECONNECTED, CLIENT_OK, "", 0);
	client_wake(conn);
}

static void drain_pubs_phase(ClientConn *conn);

static void
handle_pong(ClientConn *conn, int64_t now_ns)
{
	conn->stats.pongs_received++;
	conn->pings_out = 0;
	PongWait *w = g_queue_pop_head(&conn->pongs);
	if (w == NULL)
		return; /* unsolicited: ignored */
	switch (w->kind) {
	case PONG_HANDSHAKE:
		if (conn->state == CLIENT_STATE_HANDSHAKE)
			handshake_done(conn, now_ns);
		break;
	case PONG_KEEPALIVE:
		break;
	case PONG_FLUSH:
		if (w->flush->done)
			g_free(w->flush);
		else {
			flush_complete(conn, w->flush, CLIENT_OK);
			g_free(w->flush);
		}
		break;
	case PONG_DRAIN_SUB:
		client_sub_drain_done(conn, w->sid);
		break;
	case PONG_DRAIN_SUBS:
		drain_pubs_phase(conn);
		break;
	case PONG_DRAIN_PUBS:
		close_terminal(conn, CLIENT_OK, "");
		break;
	}
	g_free(w);
}

static bool
text_has(const ProtoSlice *t, const char *needle)
{
	size_t n = strlen(needle);
	if (t->len < n)
		return false;
	for (size_t k = 0; k + n <= t->len; k++)
		if (g_ascii_strncasecmp((const char *)t->ptr + k, needle, n) == 0)
			return true;
	return false;
}

static void
handle_err(ClientConn *conn, const ProtoOp *op, int64_t now_ns)
{
	char text[256];
	size_t n = op->text.len < sizeof(text) - 1 ? op->text.len : sizeof(text) - 1;
	memcpy(text, op->text.ptr, n);
	text[n] = '\0';
	if (text_has(&op->text, "Stale Connection")) {
		client_emit(conn, CLIENT_EVENT_ERROR, CLIENT_ERR_STALE, text, 0);
		client_fail_transport(conn, CLIENT_ERR_STALE, text, now_ns);
	} else if (text_has(&op->text, "Permissions Violation")) {
		client_emit(conn, CLIENT_EVENT_ERROR, CLIENT_ERR_PERMISSION, text, 0);
	} else if (text_has(&op->text, "Authorization Violation") ||
	    text_has(&op->text, "User Authentication Expired") || text_has(&op->text, "Authentication Timeout")) {
		client_emit(conn, CLIENT_EVENT_ERROR, CLIENT_ERR_AUTH, text, 0);
		/* nats.c: an auth error twice in a row (or on the very first
		 * connect) is final; once after a good connection, reconnect. */
		bool in_handshake = conn->state == CLIENT_STATE_HANDSHAKE;
		if (in_handshake)
			conn->auth_failures++;
		if ((in_handshake && (!conn->ever_connected || conn->auth_failures >= 2)))
			close_terminal(conn, CLIENT_ERR_AUTH, text);
		else
			client_fail_transport(conn, CLIENT_ERR_AUTH, text, now_ns);
	} else {
		client_emit(conn, CLIENT_EVENT_ERROR, CLIENT_ERR_SERVER, text, 0);
		close_terminal(conn, CLIENT_ERR_SERVER, text);
	}
}

ClientStatus
client_conn_recv(ClientConn *conn, const uint8_t *data, size_t len, int64_t now_ns)
{
	if (conn == NULL || (data == NULL && len > 0))
		return CLIENT_ERR_INVALID_ARG;
	if (!conn->transport_up || conn->want_close)
		return CLIENT_ERR_CONNECTION_LOST; /* bytes after we gave up: ignored */
	size_t off = 0;
	while (off < len && conn->transport_up && !conn->want_close) {
		size_t used = 0;
		ProtoOp op;
		ProtoParseStatus ps = proto_parser_feed(&conn->parser, data + off, len - off, &used, &op);
		off += used;
		if (ps == PROTO_PARSE_MORE)
			break;
		if (ps == PROTO_PARSE_ERROR) {
			ProtoParseError pe = proto_parser_error(&conn->parser);
			const char *t = proto_parse_error_text(pe);
			char text[128];
			g_snprintf(text, sizeof(text), "protocol error from server (%s)",
			    t ? t : (pe == PROTO_ERR_ARGS ? "bad arguments" : "unexpected operation"));
			client_emit(conn, CLIENT_EVENT_ERROR, CLIENT_ERR_PROTOCOL, text, 0);
			client_fail_transport(conn, CLIENT_ERR_PROTOCOL, text, now_ns);
			return CLIENT_ERR_PROTOCOL;
		}
		/* Before INFO, only INFO (or -ERR) is acceptable. */
		if (conn->state == CLIENT_STATE_HANDSHAKE && !conn->got_info && op.kind != PROTO_OP_INFO &&
		    op.kind != PROTO_OP_ERR) {
			client_emit(conn, CLIENT_EVENT_ERROR, CLIENT_ERR_PROTOCOL, "expected INFO first", 0);
			client_fail_transport(conn, CLIENT_ERR_PROTOCOL, "expected INFO first", now_ns);
			return CLIENT_ERR_PROTOCOL;
		}
		switch (op.kind) {
		case PROTO_OP_INFO:
			if (handle_info(conn, &op, now_ns) != CLIENT_OK) {
				client_emit(conn, CLIENT_EVENT_ERROR, CLIENT_ERR_PROTOCOL, "bad INFO JSON", 0);
				client_fail_transport(conn, CLIENT_ERR_PROTOCOL, "bad INFO JSON", now_ns);
				return CLIENT_ERR_PROTOCOL;
			}
			break;
		case PROTO_OP_MSG:
		case PROTO_OP_HMSG:
			client_deliver(conn, &op, now_ns);
			break;
		case PROTO_OP_PING:
			proto_buf_append(&conn->out, PROTO_PONG, strlen(PROTO_PONG));
			client_wake(conn);
			break;
		case PROTO_OP_PONG:
			handle_pong(conn, now_ns);
			break;
		case PROTO_OP_OK:
			break;
		case PROTO_OP_ERR:
			handle_err(conn, &op, now_ns);
			break;
		default:
			UNREACHABLE(); /* the CLIENT role parser yields no other op */
		}
	}
	return conn->want_close && conn->error != CLIENT_OK ? conn->error : CLIENT_OK;
}

/* ---- publish ---- */

static bool
subject_ok(const char *s)
{
	return s != NULL && s[0] != '\0' && proto_subject_valid(s, strlen(s));
}

/* subject_ok for the publish path, for a subject of len bytes: the last
 * subject found valid is remembered, so a stream of publishes to one
 * subject validates it once. */
static bool
pub_subject_ok(ClientConn *conn, const char *s, size_t len)
{
	if (len == 0)
		return false;
	if (len == conn->pub_subject_len && memcmp(s, conn->pub_subject, len) == 0)
		return true;
	if (!proto_subject_valid(s, len))
		return false;
	if (len <= sizeof(conn->pub_subject)) {
		memcpy(conn->pub_subject, s, len);
		conn->pub_subject_len = len;
	}
	return true;
}

/* Queues a PUB or HPUB; subject_len and reply_len are the strings'
 * lengths (reply NULL: reply_len 0). */
static ClientStatus
publish_encode(ClientConn *conn, const char *subject, size_t subject_len, const char *reply, size_t reply_len,
    const void *headers, size_t headers_len, const void *data, size_t data_len)
{
	ProtoBuf *buf;
	size_t limit;
	if (client_conn_live(conn)) {
		buf = &conn->out;
		limit = conn->opts.send_buf_bytes_max;
	} else {
		buf = &conn->pend;
		limit = conn->opts.reconnect_buf_bytes_max;
	}
	size_t need = subject_len + reply_len + headers_len + data_len + 40;
	if (proto_buf_pending(buf) + need > limit)
		return CLIENT_ERR_BUFFER_FULL;
	proto_encode_pub(buf, subject, reply, headers, headers_len, data, data_len);
	conn->stats.out_msgs++;
	conn->stats.out_bytes += data_len;
	return CLIENT_OK;
}

ClientStatus
client_publish_raw(ClientConn *conn, const char *subject, const char *reply, const void *headers,
    size_t headers_len, const void *data, size_t data_len)
{
	return publish_encode(conn, subject, strlen(subject), reply, reply ? strlen(reply) : 0, headers, headers_len,
	    data, data_len);
}

ClientStatus
client_publish(ClientConn *conn, const char *subject, const char *reply, const void *headers, size_t headers_len,
    const void *data, size_t data_len, int64_t now_ns)
{
	/* A publish arms no timer and reads no clock: a driver may pass the
	 * latest time it read (client/tcp.c does, saving a clock read per
	 * message). Keep it so, or make the drivers pass the time. */
	(void)now_ns;
	if (conn == NULL || (data == NULL && data_len > 0) || (headers == NULL && headers_len > 0))
		return CLIENT_ERR_INVALID_ARG;
	if (subject == NULL)
		return CLIENT_ERR_INVALID_SUBJECT;
	size_t subject_len = strlen(subject);
	size_t reply_len = reply != NULL ? strlen(reply) : 0;
	if (!pub_subject_ok(conn, subject, subject_len) || (reply_len > 0 && !subject_ok(reply)))
		return CLIENT_ERR_INVALID_SUBJECT;
	if (conn->state == CLIENT_STATE_CLOSED || conn->state == CLIENT_STATE_CLOSING || conn->close_requested)
		return CLIENT_ERR_CLOSED;
	if (conn->in_drain && conn->state == CLIENT_STATE_DRAINING && g_queue_is_empty(&conn->pongs) == false) {
		/* Publishes are allowed while subscriptions drain, not after. */
		PongWait *last = g_queue_peek_tail(&conn->pongs);
		if (last->kind == PONG_DRAIN_PUBS)
			return CLIENT_ERR_DRAINING;
	}
	if (headers != NULL && headers_len > 0) {
		if (headers_len < 10 || memcmp(headers, "NATS/1.0", 8) != 0)
			return CLIENT_ERR_INVALID_ARG;
		if (conn->max_payload >= 0 && !conn->server_headers)
			return CLIENT_ERR_NO_SERVER_SUPPORT;
	} else {
		headers = NULL;
		headers_len = 0;
	}
	if (conn->max_payload >= 0 && (int64_t)(headers_len + data_len) > conn->max_payload)
		return CLIENT_ERR_MAX_PAYLOAD;
	ClientStatus st = publish_encode(conn, subject, subject_len, reply_len > 0 ? reply : NULL, reply_len, headers,
	    headers_len, data, data_len);
	if (st == CLIENT_OK)
		client_wake(conn);
	return st;
}

/* ---- drain ---- */

static void
drain_pubs_phase(ClientConn *conn)
{
	/* Subscriptions are gone at the server and every message for them has
	 * been delivered: remove them, then flush the publishes. */
	GPtrArray *subs = client_subs_sorted(conn);
	for (guint k = 0; k < subs->len; k++) {
		ClientSub *s = g_ptr_array_index(subs, k);
		if (s->draining) {
			client_sub_remove(conn, s);
			client_sub_free(conn, s);
		}
	}
	g_ptr_array_free(subs, TRUE);
	if (client_conn_live(conn))
		client_send_ping(conn, PONG_DRAIN_PUBS, 0, NULL);
	client_wake(conn);
}

ClientStatus
client_conn_drain(ClientConn *conn, int64_t timeout_ns, int64_t now_ns)
{
	if (conn == NULL || timeout_ns <= 0)
		return CLIENT_ERR_INVALID_ARG;
	if (conn->state == CLIENT_STATE_CLOSED || conn->state == CLIENT_STATE_CLOSING || conn->close_requested)
		return CLIENT_ERR_CLOSED;
	if (conn->in_drain)
		return CLIENT_ERR_DRAINING;
	if (!client_conn_live(conn)) {
		/* Nothing can drain without a server: close. */
		close_terminal(conn, CLIENT_OK, "");
		return CLIENT_OK;
	}
	conn->in_drain = true;
	conn->state = CLIENT_STATE_DRAINING;
	GPtrArray *subs = client_subs_sorted(conn);
	for (guint k = 0; k < subs->len; k++) {
		ClientSub *s = g_ptr_array_index(subs, k);
		if (s->fetch != NULL || s->sid == conn->mux_sid)
			continue; /* in-flight requests and fetches may still finish */
		if (!s->draining) {
			s->draining = true;
			proto_encode_unsub(&conn->out, s->sid, 0);
		}
	}
	g_ptr_array_free(subs, TRUE);
	client_send_ping(conn, PONG_DRAIN_SUBS, 0, NULL);
	client_timer_arm(conn, &conn->drain_timer, now_ns + timeout_ns);
	client_wake(conn);
	return CLIENT_OK;
}

/* ---- state queries ---- */

ClientState
client_conn_state(const ClientConn *conn)
{
	return conn ? conn->state : CLIENT_STATE_CLOSED;
}

ClientStats
client_conn_stats(const ClientConn *conn)
{
	return conn ? conn->stats : (ClientStats){ 0 };
}

ClientStatus
client_conn_last_error(const ClientConn *conn, const char **text)
{
	if (text != NULL)
		*text = conn ? conn->error_text : "";
	return conn ? conn->error : CLIENT_ERR_INVALID_ARG;
}

const char *
client_conn_server_id(const ClientConn *conn)
{
	return conn ? conn->server_id : NULL;
}

const char *
client_conn_server_version(const ClientConn *conn)
{
	return conn ? conn->server_version : NULL;
}

int64_t
client_conn_max_payload(const ClientConn *conn)
{
	return conn ? conn->max_payload : -1;
}

bool
client_conn_server_headers(const ClientConn *conn)
{
	return conn && conn->server_headers;
}

bool
client_conn_server_jetstream(const ClientConn *conn)
{
	return conn && conn->server_jetstream;
}

size_t
client_conn_buffered_bytes(const ClientConn *conn)
{
	return conn ? proto_buf_pending(&conn->out) + proto_buf_pending(&conn->pend) : 0;
}

uint32_t
client_conn_reconnect_attempt(const ClientConn *conn)
{
	return conn ? conn->attempt : 0;
}

/* ---- inbox ---- */

char *
client_inbox_new(ClientConn *conn)
{
	static const char alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	char id[23];
	for (int k = 0; k < 22; k++)
		id[k] = alphabet[prng_below(&conn->prng_ids, 62)];
	id[22] = '\0';
	return g_strconcat(conn->opts.inbox_prefix, ".", id, NULL);
}
