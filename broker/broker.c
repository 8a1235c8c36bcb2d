/*
 * broker.c - the broker object: configuration, identity, the timer heap
 * over connections, probes, logging, and deferred frees.
 *
 * Invariants: a connection is in the timer heap exactly while it is open
 * (not closing); the heap is ordered by (deadline, cid), so ties fire in a
 * deterministic order; subscriptions removed during an operation are freed
 * only when the operation ends (broker_reap), because a delivery in
 * progress may still hold them in a match result.
 */
#include "broker/internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "broker/js/jetstream.h"
#include "proto/assert.h"

#define NO_INDEX UINT32_MAX

static const char *const probe_names[BROKER_PROBE_COUNT] = {
	[BROKER_PROBE_CONN_OPENED] = "conn_opened",
	[BROKER_PROBE_CONN_CLOSED] = "conn_closed",
	[BROKER_PROBE_ERR_SENT] = "err_sent",
	[BROKER_PROBE_SLOW_CONSUMER] = "slow_consumer",
	[BROKER_PROBE_WRITE_DEADLINE] = "write_deadline",
	[BROKER_PROBE_STALE_CONNECTION] = "stale_connection",
	[BROKER_PROBE_PING_SENT] = "ping_sent",
	[BROKER_PROBE_PING_SKIPPED] = "ping_skipped",
	[BROKER_PROBE_AUTH_TIMEOUT] = "auth_timeout",
	[BROKER_PROBE_AUTH_VIOLATION] = "auth_violation",
	[BROKER_PROBE_NO_RESPONDERS] = "no_responders",
	[BROKER_PROBE_QUEUE_MEMBER_SKIPPED] = "queue_member_skipped",
	[BROKER_PROBE_AUTO_UNSUBSCRIBED] = "auto_unsubscribed",
	[BROKER_PROBE_ECHO_SUPPRESSED] = "echo_suppressed",
	[BROKER_PROBE_HEADERS_STRIPPED] = "headers_stripped",
	[BROKER_PROBE_DUPLICATE_SID] = "duplicate_sid",
	[BROKER_PROBE_INVALID_SUBJECT] = "invalid_subject",
	[BROKER_PROBE_PEDANTIC_SUBJECT] = "pedantic_subject",
	[BROKER_PROBE_MAX_PAYLOAD] = "max_payload",
	[BROKER_PROBE_MAX_CONNECTIONS] = "max_connections",
	[BROKER_PROBE_MAX_SUBSCRIPTIONS] = "max_subscriptions",
	[BROKER_PROBE_MAX_CONTROL_LINE] = "max_control_line",
	[BROKER_PROBE_PARSE_ERROR] = "parse_error",
	[BROKER_PROBE_JS_API_ERROR] = "js_api_error",
	[BROKER_PROBE_JS_STORED] = "js_stored",
	[BROKER_PROBE_JS_DEDUPE] = "js_dedupe",
	[BROKER_PROBE_JS_EXPECTED_FAILED] = "js_expected_failed",
	[BROKER_PROBE_JS_DISCARD_NEW] = "js_discard_new",
	[BROKER_PROBE_JS_DISCARD_OLD] = "js_discard_old",
	[BROKER_PROBE_JS_NO_INTEREST_SKIP] = "js_no_interest_skip",
	[BROKER_PROBE_JS_EXPIRED] = "js_expired",
	[BROKER_PROBE_JS_ROLLUP] = "js_rollup",
	[BROKER_PROBE_JS_DELIVERED] = "js_delivered",
	[BROKER_PROBE_JS_REDELIVERED] = "js_redelivered",
	[BROKER_PROBE_JS_ACK_WAIT_EXPIRED] = "js_ack_wait_expired",
	[BROKER_PROBE_JS_MAX_DELIVERIES] = "js_max_deliveries",
	[BROKER_PROBE_JS_ACK] = "js_ack",
	[BROKER_PROBE_JS_ACK_FLOOR_MOVED] = "js_ack_floor_moved",
	[BROKER_PROBE_JS_NAK] = "js_nak",
	[BROKER_PROBE_JS_TERM] = "js_term",
	[BROKER_PROBE_JS_WPI] = "js_wpi",
	[BROKER_PROBE_JS_NXT] = "js_nxt",
	[BROKER_PROBE_JS_MAX_ACK_PENDING] = "js_max_ack_pending",
	[BROKER_PROBE_JS_PULL_WAITING] = "js_pull_waiting",
	[BROKER_PROBE_JS_PULL_TIMEOUT] = "js_pull_timeout",
	[BROKER_PROBE_JS_PULL_NO_MESSAGES] = "js_pull_no_messages",
	[BROKER_PROBE_JS_PULL_REJECTED] = "js_pull_rejected",
	[BROKER_PROBE_JS_PULL_MAX_BYTES] = "js_pull_max_bytes",
	[BROKER_PROBE_JS_PUSH_NO_INTEREST] = "js_push_no_interest",
	[BROKER_PROBE_JS_HEARTBEAT] = "js_heartbeat",
	[BROKER_PROBE_JS_FLOW_CONTROL] = "js_flow_control",
	[BROKER_PROBE_JS_INACTIVE_DELETED] = "js_inactive_deleted",
	[BROKER_PROBE_JS_PURGE] = "js_purge",
	[BROKER_PROBE_JS_RESTORED] = "js_restored",
	[BROKER_PROBE_JS_STORE_FAILED] = "js_store_failed",
};

const char *
broker_probe_name(BrokerProbe probe)
{
	ASSERT(probe < BROKER_PROBE_COUNT);
	return probe_names[probe];
}

const char *
broker_close_reason_str(BrokerCloseReason reason)
{
	switch (reason) {
	case BROKER_CLOSE_CLIENT: return "Client Closed";
	case BROKER_CLOSE_SERVER_SHUTDOWN: return "Server Shutdown";
	case BROKER_CLOSE_SLOW_CONSUMER_PENDING: return "Slow Consumer (Pending Bytes)";
	case BROKER_CLOSE_SLOW_CONSUMER_DEADLINE: return "Slow Consumer (Write Deadline)";
	case BROKER_CLOSE_STALE: return "Stale Connection";
	case BROKER_CLOSE_AUTH_TIMEOUT: return "Authentication Timeout";
	case BROKER_CLOSE_AUTH_VIOLATION: return "Authentication Failure";
	case BROKER_CLOSE_PARSE_ERROR: return "Parse Error";
	case BROKER_CLOSE_PROTOCOL: return "Protocol Violation";
	case BROKER_CLOSE_BAD_PROTOCOL_VERSION: return "Bad Client Protocol Version";
	case BROKER_CLOSE_NO_RESPONDERS_HEADERS: return "No Responders Requires Headers";
	case BROKER_CLOSE_MAX_PAYLOAD: return "Maximum Message Payload Exceeded";
	case BROKER_CLOSE_MAX_CONNECTIONS: return "Maximum Connections Exceeded";
	case BROKER_CLOSE_MAX_CONTROL_LINE: return "Maximum Control Line Exceeded";
	case BROKER_CLOSE_WRITE_ERROR: return "Write Error";
	case BROKER_CLOSE_READ_ERROR: return "Read Error";
	}
	return "Unknown State";
}

void
broker_log(Broker *b, BrokerLogLevel level, const char *fmt, ...)
{
	if (level > b->config.log_level || b->cb.log == NULL)
		return;
	va_list ap;
	va_start(ap, fmt);
	char *msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	b->cb.log(b->cb_ctx, level, msg);
	g_free(msg);
}

void
broker_probe(Broker *b, BrokerConn *c, BrokerProbe probe)
{
	ASSERT(probe < BROKER_PROBE_COUNT);
	b->probes[probe]++;
	if (b->cb.probe != NULL)
		b->cb.probe(b->cb_ctx, c, probe);
}

uint64_t
broker_probe_count(const Broker *b, BrokerProbe probe)
{
	ASSERT(probe < BROKER_PROBE_COUNT);
	return b->probes[probe];
}

/* A server id in nats-server's shape: 'N' and 55 base32 characters. */
static void
make_server_id(Broker *b)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	b->server_id[0] = 'N';
	for (int k = 1; k < 56; k++)
		b->server_id[k] = alphabet[prng_below(&b->prng, 32)];
	b->server_id[56] = '\0';
}

static void
apply_defaults(BrokerConfig *c)
{
	if (c->host == NULL)
		c->host = "0.0.0.0";
	if (c->port == 0)
		c->port = 4222;
	if (c->payload_max_bytes == 0)
		c->payload_max_bytes = 1024 * 1024;
	if (c->connections_max == 0)
		c->connections_max = 65536;
	if (c->pending_bytes_max == 0)
		c->pending_bytes_max = 64 * 1024 * 1024;
	if (c->control_line_max == 0)
		c->control_line_max = 4096;
	if (c->ping_interval_ns == 0)
		c->ping_interval_ns = 120 * INT64_C(1000000000);
	if (c->pings_out_max == 0)
		c->pings_out_max = 2;
	if (c->write_deadline_ns == 0)
		c->write_deadline_ns = 10 * INT64_C(1000000000);
	if (c->auth_timeout_ns == 0)
		c->auth_timeout_ns = 2 * INT64_C(1000000000);
}

Broker *
broker_create(const BrokerConfig *config, uint64_t seed, int64_t now_ns, const BrokerCallbacks *callbacks,
    void *callbacks_ctx)
{
	ASSERT(config != NULL && config->payload_max_bytes >= 0 && config->payload_max_bytes <= 64 * 1024 * 1024);
	Broker *b = g_new0(Broker, 1);
	b->config = *config;
	apply_defaults(&b->config);
	b->config.server_name = g_strdup(config->server_name);
	b->config.host = g_strdup(b->config.host);
	b->config.user = g_strdup(config->user);
	b->config.password = g_strdup(config->password);
	b->config.token = g_strdup(config->token);
	b->config.js_store_dir = g_strdup(config->js_store_dir);
	if (callbacks != NULL)
		b->cb = *callbacks;
	b->cb_ctx = callbacks_ctx;
	prng_seed(&b->prng, seed);
	make_server_id(b);
	if (b->config.server_name == NULL)
		b->config.server_name = g_strdup(b->server_id);
	b->start_ns = b->now_ns = now_ns;
	b->sublist = sublist_create();
	b->http_req_stats = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	proto_buf_init(&b->scratch);
	/* The broker's own connection owns internal subscriptions; it has no
	 * socket, sends nothing, and is not listed in /connz. */
	BrokerConn *sys = g_new0(BrokerConn, 1);
	sys->broker = b;
	sys->internal = true;
	sys->echo = true;
	sys->ip = g_strdup("internal");
	sys->heap_index = UINT32_MAX;
	sys->deadline_ns = INT64_MAX;
	sys->subs = g_hash_table_new(g_str_hash, g_str_equal);
	b->system = sys;
	broker_log(b, BROKER_LOG_INFO, "Server id is %s", b->server_id);
	if (b->config.jetstream)
		b->js = js_server_create(b, &b->config, now_ns);
	return b;
}

const char *
broker_server_id(const Broker *b)
{
	return b->server_id;
}

static void
closed_free(BrokerClosedConn *cc)
{
	g_free(cc->ip);
	g_free(cc->name);
	g_free(cc->lang);
	g_free(cc->version);
	g_free(cc->user);
	if (cc->subs != NULL) {
		for (guint k = 0; k < cc->subs->len; k++) {
			BrokerClosedSub *s = &g_array_index(cc->subs, BrokerClosedSub, k);
			g_free(s->subject);
			g_free(s->queue);
			g_free(s->sid);
		}
		g_array_free(cc->subs, TRUE);
	}
	*cc = (BrokerClosedConn){ 0 };
}

void
broker_destroy(Broker *b)
{
	if (b == NULL)
		return;
	/* JetStream first: it lets go of its internal subscriptions and
	 * stores, and stops watching interest before connections go. */
	js_server_destroy(b->js);
	b->js = NULL;
	while (b->conn_head != NULL)
		broker_conn_close(b, b->conn_head, BROKER_CLOSE_SERVER_SHUTDOWN, b->now_ns);
	while (b->system->sub_head != NULL)
		conn_sub_remove(b->system, b->system->sub_head);
	g_hash_table_destroy(b->system->subs);
	g_free(b->system->ip);
	g_free(b->system);
	broker_reap(b);
	for (uint32_t k = 0; k < b->closed_count; k++)
		closed_free(&b->closed[k]);
	g_free(b->closed);
	g_hash_table_destroy(b->http_req_stats);
	sublist_destroy(b->sublist);
	g_free(b->heap);
	proto_buf_deinit(&b->scratch);
	g_free((char *)b->config.server_name);
	g_free((char *)b->config.host);
	g_free((char *)b->config.user);
	g_free((char *)b->config.password);
	g_free((char *)b->config.token);
	g_free((char *)b->config.js_store_dir);
	g_free(b);
}

/* ---- the timer heap: connections by (deadline, cid) ---- */

static bool
heap_less(const BrokerConn *x, const BrokerConn *y)
{
	if (x->deadline_ns != y->deadline_ns)
		return x->deadline_ns < y->deadline_ns;
	return x->cid < y->cid;
}

static void
heap_set(Broker *b, uint32_t index, BrokerConn *c)
{
	b->heap[index] = c;
	c->heap_index = index;
}

static void
heap_sift_up(Broker *b, uint32_t index)
{
	BrokerConn *c = b->heap[index];
	while (index > 0) {
		uint32_t parent = (index - 1) / 2;
		if (!heap_less(c, b->heap[parent]))
			break;
		heap_set(b, index, b->heap[parent]);
		index = parent;
	}
	heap_set(b, index, c);
}

static void
heap_sift_down(Broker *b, uint32_t index)
{
	BrokerConn *c = b->heap[index];
	for (;;) {
		uint32_t child = 2 * index + 1;
		if (child >= b->heap_count)
			break;
		if (child + 1 < b->heap_count && heap_less(b->heap[child + 1], b->heap[child]))
			child++;
		if (!heap_less(b->heap[child], c))
			break;
		heap_set(b, index, b->heap[child]);
		index = child;
	}
	heap_set(b, index, c);
}

void
broker_timer_remove(Broker *b, BrokerConn *c)
{
	if (c->heap_index == NO_INDEX)
		return;
	uint32_t index = c->heap_index;
	c->heap_index = NO_INDEX;
	uint32_t last = --b->heap_count;
	if (index == last)
		return;
	BrokerConn *moved = b->heap[last];
	heap_set(b, index, moved);
	heap_sift_up(b, index);
	heap_sift_down(b, moved->heap_index);
}

void
broker_timer_update(Broker *b, BrokerConn *c)
{
	int64_t deadline = conn_deadline(c);
	if (c->heap_index == NO_INDEX) {
		if (deadline == INT64_MAX)
			return;
		if (b->heap_count == b->heap_cap) {
			b->heap_cap = b->heap_cap ? b->heap_cap * 2 : 64;
			b->heap = g_renew(BrokerConn *, b->heap, b->heap_cap);
		}
		c->deadline_ns = deadline;
		uint32_t index = b->heap_count++;
		heap_set(b, index, c);
		heap_sift_up(b, index);
		return;
	}
	if (deadline == INT64_MAX) {
		broker_timer_remove(b, c);
		return;
	}
	int64_t old = c->deadline_ns;
	c->deadline_ns = deadline;
	if (deadline < old)
		heap_sift_up(b, c->heap_index);
	else if (deadline > old)
		heap_sift_down(b, c->heap_index);
}

int64_t
broker_next_deadline_ns(const Broker *b)
{
	int64_t d = b->heap_count ? b->heap[0]->deadline_ns : INT64_MAX;
	if (b->ticker.next != NULL)
		d = MIN(d, b->ticker.next(b->ticker.ctx));
	return d;
}

void
broker_on_timeout(Broker *b, int64_t now_ns)
{
	ASSERT(now_ns >= b->now_ns);
	b->now_ns = now_ns;
	/* Bounded: each connection fires at most once per call. */
	uint32_t budget = b->heap_count;
	while (b->heap_count > 0 && b->heap[0]->deadline_ns <= now_ns && budget-- > 0) {
		BrokerConn *c = b->heap[0];
		conn_on_timer(c, now_ns);
		if (!c->closing)
			broker_timer_update(b, c);
	}
	if (b->ticker.on_timeout != NULL && b->ticker.next(b->ticker.ctx) <= now_ns)
		b->ticker.on_timeout(b->ticker.ctx, now_ns);
	broker_reap(b);
}

/* ---- deferred frees ---- */

void
broker_sub_free_later(Broker *b, BrokerSub *sub)
{
	sub->dead_next = b->dead_subs;
	b->dead_subs = sub;
}

void
broker_reap(Broker *b)
{
	while (b->dead_subs != NULL) {
		BrokerSub *sub = b->dead_subs;
		b->dead_subs = sub->dead_next;
		g_free(sub->subject);
		g_free(sub->queue);
		g_free(sub->sid);
		g_free(sub);
	}
}

/* ---- closed connections, for /connz?state=closed ---- */

void
broker_record_closed(Broker *b, BrokerConn *c)
{
	/* The ring grows as connections close, up to its maximum; then the
	 * oldest entry gives way. */
	if (b->closed_count < BROKER_CLOSED_CONNS_MAX && b->closed_count == b->closed_cap) {
		b->closed_cap = MIN(MAX(b->closed_cap * 2, 16u), (uint32_t)BROKER_CLOSED_CONNS_MAX);
		b->closed = g_renew(BrokerClosedConn, b->closed, b->closed_cap);
	}
	BrokerClosedConn *cc = &b->closed[b->closed_next];
	if (b->closed_count == BROKER_CLOSED_CONNS_MAX)
		closed_free(cc);
	else
		b->closed_count++;
	b->closed_next = (b->closed_next + 1) % BROKER_CLOSED_CONNS_MAX;
	*cc = (BrokerClosedConn){
		.cid = c->cid,
		.ip = g_strdup(c->ip),
		.port = c->port,
		.start_ns = c->start_ns,
		.stop_ns = b->now_ns,
		.last_activity_ns = c->last_activity_ns,
		.rtt_ns = c->rtt_ns,
		.name = g_strdup(c->name),
		.lang = g_strdup(c->lang),
		.version = g_strdup(c->version),
		.user = g_strdup(c->user),
		.in_msgs = c->in_msgs,
		.out_msgs = c->out_msgs,
		.in_bytes = c->in_bytes,
		.out_bytes = c->out_bytes,
		.sub_count = c->sub_count,
		.reason = c->close_reason,
	};
	cc->subs = g_array_new(FALSE, FALSE, sizeof(BrokerClosedSub));
	for (BrokerSub *s = c->sub_head; s != NULL; s = s->conn_next) {
		BrokerClosedSub cs = { g_strdup(s->subject), g_strdup(s->queue), g_strdup(s->sid), s->delivered };
		g_array_append_val(cc->subs, cs);
	}
}

void
broker_shutdown(Broker *b, int64_t now_ns)
{
	b->now_ns = MAX(b->now_ns, now_ns);
	js_server_shutdown(b->js);
	for (BrokerConn *c = b->conn_head, *next; c != NULL; c = next) {
		next = c->next;
		conn_mark_closing(c, BROKER_CLOSE_SERVER_SHUTDOWN);
	}
	broker_reap(b);
}

/* ---- the internal seam ---- */

BrokerInternalSub *
broker_internal_subscribe(Broker *b, const char *subject, const char *queue, BrokerInternalFn fn, void *ctx)
{
	ASSERT(fn != NULL && subject != NULL);
	BrokerConn *sys = b->system;
	BrokerSub *sub = g_new0(BrokerSub, 1);
	sub->conn = sys;
	sub->subject = g_strdup(subject);
	sub->queue = g_strdup(queue);
	sub->sid = g_strdup_printf("i%" G_GUINT64_FORMAT, ++b->internal_sids);
	sub->seq = ++b->next_sub_seq;
	sub->icb = fn;
	sub->ictx = ctx;
	if (!sublist_insert(b->sublist, sub)) {
		g_free(sub->subject);
		g_free(sub->queue);
		g_free(sub->sid);
		g_free(sub);
		return NULL;
	}
	g_hash_table_insert(sys->subs, sub->sid, sub);
	sub->conn_prev = sys->sub_tail;
	if (sys->sub_tail != NULL)
		sys->sub_tail->conn_next = sub;
	else
		sys->sub_head = sub;
	sys->sub_tail = sub;
	sys->sub_count++;
	return (BrokerInternalSub *)sub;
}

void
broker_internal_unsubscribe(Broker *b, BrokerInternalSub *isub)
{
	BrokerSub *sub = (BrokerSub *)isub;
	if (sub == NULL || sub->closed)
		return;
	conn_sub_remove(b->system, sub);
}

uint32_t
broker_internal_publish(Broker *b, const char *subject, const char *reply, const void *headers, size_t headers_len,
    const void *payload, size_t payload_len)
{
	ASSERT(subject != NULL && subject[0] != '\0');
	ProtoOp op = { .kind = headers ? PROTO_OP_HPUB : PROTO_OP_PUB, .max_msgs = -1 };
	op.subject = (ProtoSlice){ (const uint8_t *)subject, strlen(subject) };
	if (reply != NULL && reply[0] != '\0')
		op.reply = (ProtoSlice){ (const uint8_t *)reply, strlen(reply) };
	op.headers = (ProtoSlice){ headers, headers ? headers_len : 0 };
	op.payload = (ProtoSlice){ payload ? payload : (const void *)"", payload_len };
	return broker_route(b, b->system, &op);
}

/* kinds: 1 plain subscriptions, 2 queue subscriptions (of group queue
 * when not NULL), 3 both. */
static bool
interest(Broker *b, const char *subject, bool exact, unsigned kinds, const char *queue)
{
	SublistResult *r = sublist_match(b->sublist, subject, strlen(subject));
	bool found = false;
	for (guint k = 0; k < r->psubs->len && !found && (kinds & 1); k++) {
		BrokerSub *s = r->psubs->pdata[k];
		found = !s->conn->internal && !s->conn->closing && (!exact || strcmp(s->subject, subject) == 0);
	}
	for (guint g = 0; g < r->qgroups->len && !found && (kinds & 2); g++) {
		GPtrArray *m = g_array_index(r->qgroups, SublistQueueGroup, g).members;
		for (guint k = 0; k < m->len && !found; k++) {
			BrokerSub *s = m->pdata[k];
			found = !s->conn->internal && !s->conn->closing && (!exact || strcmp(s->subject, subject) == 0) &&
			    (queue == NULL || (s->queue != NULL && strcmp(s->queue, queue) == 0));
		}
	}
	sublist_result_unref(r);
	return found;
}

bool
broker_has_exact_interest(Broker *b, const char *subject)
{
	return interest(b, subject, true, 3, NULL);
}

bool
broker_has_exact_interest_queue(Broker *b, const char *subject, const char *queue)
{
	return queue == NULL ? interest(b, subject, true, 1, NULL) : interest(b, subject, true, 2, queue);
}

bool
broker_has_interest(Broker *b, const char *subject)
{
	return interest(b, subject, false, 3, NULL);
}

uint32_t
broker_internal_deliver(Broker *b, const char *route_subject, const char *subject, const char *reply,
    const void *headers, size_t headers_len, const void *payload, size_t payload_len)
{
	ASSERT(route_subject != NULL && route_subject[0] != '\0' && subject != NULL && subject[0] != '\0');
	ProtoOp op = { .kind = headers ? PROTO_OP_HPUB : PROTO_OP_PUB, .max_msgs = -1 };
	op.subject = (ProtoSlice){ (const uint8_t *)subject, strlen(subject) };
	if (reply != NULL && reply[0] != '\0')
		op.reply = (ProtoSlice){ (const uint8_t *)reply, strlen(reply) };
	op.headers = (ProtoSlice){ headers, headers ? headers_len : 0 };
	op.payload = (ProtoSlice){ payload ? payload : (const void *)"", payload_len };
	return broker_route_match(b, b->system, &op, route_subject, strlen(route_subject));
}

void
broker_set_interest_watch(Broker *b, BrokerInterestFn fn, void *ctx)
{
	b->interest_fn = fn;
	b->interest_ctx = ctx;
}

void
broker_interest_changed(Broker *b, const BrokerSub *sub)
{
	if (b->interest_fn != NULL && !sub->conn->internal)
		b->interest_fn(b->interest_ctx, sub->subject, sub->queue);
}

void
broker_set_ticker(Broker *b, const BrokerTicker *ticker)
{
	b->ticker = ticker ? *ticker : (BrokerTicker){ 0 };
}

int64_t
broker_now_ns(const Broker *b)
{
	return b->now_ns;
}

uint64_t
broker_random(Broker *b)
{
	return prng_next(&b->prng);
}

void
broker_probe_hit(Broker *b, BrokerProbe probe)
{
	broker_probe(b, NULL, probe);
}
