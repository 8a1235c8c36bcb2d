/*
 * conn.c - one client connection: the protocol operations it sends, the
 * bytes it is owed, its ping and auth timers, and how it ends.
 *
 * Rules mirror nats-server's client.go (processConnect, processSub,
 * processUnsub, processPing, processPingTimer, queueOutbound, closing
 * reasons); NATS-SPEC §1 lists them. A connection that is closing takes no
 * more input, holds no subscriptions and sits in no timer; the driver
 * flushes what it is owed (unless the reason skips the flush) and frees it
 * with broker_conn_close.
 */
#include "broker/internal.h"

#include <jansson.h>
#include <stdarg.h>
#include <string.h>

#include "proto/assert.h"
#include "proto/encode.h"
#include "proto/subject.h"

#define NO_INDEX UINT32_MAX

void
conn_log(BrokerConn *c, BrokerLogLevel level, const char *fmt, ...)
{
	Broker *b = c->broker;
	if (level > b->config.log_level || b->cb.log == NULL)
		return;
	va_list ap;
	va_start(ap, fmt);
	char *msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	broker_log(b, level, "%s:%u - cid:%" G_GUINT64_FORMAT " - %s", c->ip, c->port, c->cid, msg);
	g_free(msg);
}

static void
trace_out(BrokerConn *c, const char *what)
{
	conn_log(c, BROKER_LOG_TRACE, "->> [%s]", what);
}

/* Everything that appends output ends here: the pending limit, the write
 * deadline clock, and waking the driver. */
void
conn_output_added(BrokerConn *c, size_t pending_before)
{
	Broker *b = c->broker;
	size_t pending = proto_buf_pending(&c->out);
	if ((int64_t)pending > b->config.pending_bytes_max && !c->closing) {
		/* nats-server drops the message, counts a slow consumer and
		 * closes without flushing, and without any -ERR. */
		b->slow_consumers++;
		broker_probe(b, c, BROKER_PROBE_SLOW_CONSUMER);
		conn_log(c, BROKER_LOG_INFO, "Slow Consumer Detected: MaxPending of %" G_GINT64_FORMAT " Exceeded",
		    b->config.pending_bytes_max);
		conn_mark_closing(c, BROKER_CLOSE_SLOW_CONSUMER_PENDING);
		return;
	}
	/* nats-server sets the stall gate in queueOutbound; producers that
	 * deliver here are then asked to pause (deliver.c). */
	if (pending > conn_stall_bytes(b) && !c->stall_gate && !c->closing)
		c->stall_gate = true;
	if (pending_before == 0 && pending > 0 && !c->closing) {
		c->stall_since_ns = b->now_ns;
		if (c->stall_since_ns + b->config.write_deadline_ns < c->deadline_ns || c->heap_index == NO_INDEX)
			broker_timer_update(b, c);
	}
	if (!c->wake_pending && pending > 0) {
		c->wake_pending = true;
		if (b->cb.conn_wake != NULL)
			b->cb.conn_wake(b->cb_ctx, c);
	}
}

static void
send_proto(BrokerConn *c, const char *proto)
{
	if (c->closing)
		return;
	size_t before = proto_buf_pending(&c->out);
	proto_buf_append_str(&c->out, proto);
	conn_output_added(c, before);
}

void
conn_send_err(BrokerConn *c, const char *text)
{
	if (c->closing)
		return;
	size_t before = proto_buf_pending(&c->out);
	proto_encode_err(&c->out, text);
	broker_probe(c->broker, c, BROKER_PROBE_ERR_SENT);
	if (c->broker->config.log_level >= BROKER_LOG_TRACE) {
		char *line = g_strdup_printf("-ERR '%s'", text);
		trace_out(c, line);
		g_free(line);
	}
	conn_output_added(c, before);
}

void
conn_send_ok(BrokerConn *c)
{
	trace_out(c, "OK");
	send_proto(c, PROTO_OK);
}

void
conn_send_ping(BrokerConn *c)
{
	c->rtt_start_ns = c->broker->now_ns;
	c->pings_out++;
	broker_probe(c->broker, c, BROKER_PROBE_PING_SENT);
	trace_out(c, "PING");
	send_proto(c, PROTO_PING);
}

static void
send_info(BrokerConn *c)
{
	Broker *b = c->broker;
	json_t *info = json_object();
	json_object_set_new(info, "server_id", json_string(b->server_id));
	json_object_set_new(info, "server_name", json_string(b->config.server_name));
	json_object_set_new(info, "version", json_string(BROKER_VERSION));
	json_object_set_new(info, "proto", json_integer(1));
	json_object_set_new(info, "go", json_string(BROKER_GO));
	json_object_set_new(info, "host", json_string(b->config.host));
	json_object_set_new(info, "port", json_integer(b->config.port));
	json_object_set_new(info, "headers", json_true());
	if (b->config.user != NULL || b->config.token != NULL)
		json_object_set_new(info, "auth_required", json_true());
	json_object_set_new(info, "max_payload", json_integer(b->config.payload_max_bytes));
	if (b->config.jetstream)
		json_object_set_new(info, "jetstream", json_true());
	json_object_set_new(info, "client_id", json_integer((json_int_t)c->cid));
	json_object_set_new(info, "client_ip", json_string(c->ip));
	char *text = json_dumps(info, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(info);
	size_t before = proto_buf_pending(&c->out);
	proto_encode_info(&c->out, text);
	trace_out(c, "INFO");
	free(text);
	conn_output_added(c, before);
}

BrokerConn *
broker_conn_open(Broker *b, const char *ip, uint16_t port, int64_t now_ns)
{
	ASSERT(now_ns >= b->now_ns && ip != NULL);
	b->now_ns = now_ns;
	BrokerConn *c = g_new0(BrokerConn, 1);
	c->broker = b;
	c->cid = ++b->next_cid;
	c->ip = g_strdup(ip);
	c->port = port;
	proto_parser_init(&c->parser, PROTO_ROLE_SERVER, b->config.control_line_max, b->config.payload_max_bytes);
	proto_buf_init(&c->out);
	c->verbose = c->pedantic = c->echo = true;
	c->start_ns = c->last_activity_ns = now_ns;
	c->heap_index = NO_INDEX;
	c->deadline_ns = INT64_MAX;
	c->subs = g_hash_table_new(g_str_hash, g_str_equal);
	c->prev = b->conn_tail;
	if (b->conn_tail != NULL)
		b->conn_tail->next = c;
	else
		b->conn_head = c;
	b->conn_tail = c;
	b->total_conns++;
	broker_probe(b, c, BROKER_PROBE_CONN_OPENED);
	conn_log(c, BROKER_LOG_DEBUG, "Client connection created");

	send_info(c);
	if (b->conn_count >= b->config.connections_max) {
		/* INFO first, then the error, as nats-server does. */
		broker_probe(b, c, BROKER_PROBE_MAX_CONNECTIONS);
		conn_send_err(c, "maximum connections exceeded");
		conn_mark_closing(c, BROKER_CLOSE_MAX_CONNECTIONS);
		return c;
	}
	b->conn_count++;
	c->counted = true;
	if (b->config.user != NULL || b->config.token != NULL) {
		c->awaiting_auth = true;
		c->auth_due_ns = now_ns + b->config.auth_timeout_ns;
		proto_parser_set_awaiting_connect(&c->parser, true);
	}
	c->ping_due_ns = now_ns + b->config.ping_interval_ns;
	broker_timer_update(b, c);
	return c;
}

/* ---- subscriptions ---- */

void
conn_sub_remove(BrokerConn *c, BrokerSub *sub)
{
	Broker *b = c->broker;
	ASSERT(!sub->closed && sub->conn == c);
	sublist_remove(b->sublist, sub);
	g_hash_table_remove(c->subs, sub->sid);
	if (sub->conn_prev != NULL)
		sub->conn_prev->conn_next = sub->conn_next;
	else
		c->sub_head = sub->conn_next;
	if (sub->conn_next != NULL)
		sub->conn_next->conn_prev = sub->conn_prev;
	else
		c->sub_tail = sub->conn_prev;
	c->sub_count--;
	sub->closed = true;
	broker_interest_changed(b, sub);
	broker_sub_free_later(b, sub);
}

static char *
slice_dup(ProtoSlice s)
{
	return s.ptr ? g_strndup((const char *)s.ptr, s.len) : NULL;
}

static void
process_sub(BrokerConn *c, const ProtoOp *op)
{
	Broker *b = c->broker;
	c->activity = true;
	if (b->config.subscriptions_max > 0 && c->sub_count >= b->config.subscriptions_max) {
		broker_probe(b, c, BROKER_PROBE_MAX_SUBSCRIPTIONS);
		conn_log(c, BROKER_LOG_ERROR, "maximum subscriptions exceeded");
		conn_send_err(c, "maximum subscriptions exceeded");
		return;
	}
	/* Subjects, queues and sids are kept as C strings: a NUL byte in one
	 * cannot be represented, so such a SUB is refused as an invalid
	 * subject (nats-server, which has byte strings, would accept it). */
	if (memchr(op->subject.ptr, 0, op->subject.len) != NULL || memchr(op->sid.ptr, 0, op->sid.len) != NULL ||
	    (op->queue.ptr != NULL && memchr(op->queue.ptr, 0, op->queue.len) != NULL)) {
		broker_probe(b, c, BROKER_PROBE_INVALID_SUBJECT);
		conn_send_err(c, "Invalid Subject");
		return;
	}
	char local[64];
	const char *sid_key = local;
	char *sid_heap = NULL;
	if (op->sid.len < sizeof(local)) {
		memcpy(local, op->sid.ptr, op->sid.len);
		local[op->sid.len] = '\0';
	} else {
		sid_key = sid_heap = slice_dup(op->sid);
	}
	bool duplicate = g_hash_table_contains(c->subs, sid_key);
	g_free(sid_heap);
	if (duplicate) {
		/* nats-server keeps the first subscription and still says +OK */
		broker_probe(b, c, BROKER_PROBE_DUPLICATE_SID);
		if (c->verbose)
			conn_send_ok(c);
		return;
	}
	BrokerSub *sub = g_new0(BrokerSub, 1);
	sub->conn = c;
	sub->subject = slice_dup(op->subject);
	sub->queue = slice_dup(op->queue);
	sub->sid = slice_dup(op->sid);
	sub->sid_len = op->sid.len;
	sub->seq = ++b->next_sub_seq;
	if (!sublist_insert(b->sublist, sub)) {
		broker_probe(b, c, BROKER_PROBE_INVALID_SUBJECT);
		g_free(sub->subject);
		g_free(sub->queue);
		g_free(sub->sid);
		g_free(sub);
		conn_send_err(c, "Invalid Subject");
		return;
	}
	g_hash_table_insert(c->subs, sub->sid, sub);
	sub->conn_prev = c->sub_tail;
	if (c->sub_tail != NULL)
		c->sub_tail->conn_next = sub;
	else
		c->sub_head = sub;
	c->sub_tail = sub;
	c->sub_count++;
	broker_interest_changed(b, sub);
	if (c->verbose)
		conn_send_ok(c);
}

static void
process_unsub(BrokerConn *c, const ProtoOp *op)
{
	c->activity = true;
	char *sid = slice_dup(op->sid);
	/* a sid with a NUL byte was never subscribed (see process_sub) */
	BrokerSub *sub = memchr(op->sid.ptr, 0, op->sid.len) ? NULL : g_hash_table_lookup(c->subs, sid);
	g_free(sid);
	bool remove = false;
	if (sub != NULL) {
		if (op->max_msgs > 0 && (uint64_t)op->max_msgs > sub->delivered) {
			sub->max = (uint64_t)op->max_msgs;
		} else {
			sub->max = 0;
			remove = true;
		}
	}
	if (c->verbose)
		conn_send_ok(c);
	if (remove)
		conn_sub_remove(c, sub);
}

/* ---- CONNECT ---- */

typedef enum { F_BOOL, F_STRING, F_INT } FieldType;

/* Reads one CONNECT field the way Go's encoding/json fills a struct: the
 * key matches case-insensitively, null leaves the value alone, a value of
 * the wrong type is an error. */
static bool
read_field(json_t *obj, const char *name, FieldType type, void *out)
{
	const char *key;
	json_t *value;
	json_t *found = NULL;
	json_object_foreach(obj, key, value) {
		if (strcmp(key, name) == 0) {
			found = value;
			break;
		}
		if (found == NULL && g_ascii_strcasecmp(key, name) == 0)
			found = value;
	}
	if (found == NULL || json_is_null(found))
		return true;
	switch (type) {
	case F_BOOL:
		if (!json_is_boolean(found))
			return false;
		*(bool *)out = json_is_true(found);
		return true;
	case F_STRING:
		if (!json_is_string(found))
			return false;
		g_free(*(char **)out);
		*(char **)out = g_strdup(json_string_value(found));
		return true;
	case F_INT:
		if (!json_is_integer(found))
			return false;
		*(int64_t *)out = json_integer_value(found);
		return true;
	}
	return false;
}

static bool
auth_ok(const Broker *b, const char *user, const char *pass, const char *token)
{
	if (b->config.token != NULL)
		return token != NULL && strcmp(token, b->config.token) == 0;
	if (b->config.user != NULL)
		return user != NULL && pass != NULL && strcmp(user, b->config.user) == 0 &&
		    strcmp(pass, b->config.password ? b->config.password : "") == 0;
	return true;
}

static void
auth_violation(BrokerConn *c)
{
	broker_probe(c->broker, c, BROKER_PROBE_AUTH_VIOLATION);
	conn_log(c, BROKER_LOG_ERROR, "authentication error - User \"%s\"", c->user ? c->user : "");
	conn_send_err(c, "Authorization Violation");
	conn_mark_closing(c, BROKER_CLOSE_AUTH_VIOLATION);
}

static void
process_connect(BrokerConn *c, const ProtoOp *op)
{
	Broker *b = c->broker;
	c->awaiting_auth = false;
	c->last_activity_ns = b->now_ns;
	c->rtt_ns = MAX(b->now_ns - c->start_ns, 1);
	/* The first ping comes about 2 s after CONNECT, plus up to 20 %. */
	int64_t first = MIN(b->config.ping_interval_ns, BROKER_FIRST_PING_NS);
	c->ping_due_ns = b->now_ns + first + (int64_t)prng_below(&b->prng, (uint64_t)MAX(first / 5, 1));

	json_error_t jerr;
	json_t *obj = json_loadb((const char *)op->text.ptr, op->text.len, JSON_DECODE_ANY, &jerr);
	if (obj == NULL || !(json_is_object(obj) || json_is_null(obj))) {
		/* A CONNECT that does not parse closes without -ERR. */
		json_decref(obj);
		conn_log(c, BROKER_LOG_ERROR, "Invalid CONNECT: %s", obj == NULL ? jerr.text : "not an object");
		conn_mark_closing(c, BROKER_CLOSE_PROTOCOL);
		return;
	}
	bool headers_wanted = false, new_account = false, tls_required = false;
	char *token = NULL, *pass = NULL, *account = NULL, *nkey = NULL, *jwt = NULL, *sig = NULL;
	bool ok = true;
	if (json_is_object(obj)) {
		ok = read_field(obj, "echo", F_BOOL, &c->echo) && read_field(obj, "verbose", F_BOOL, &c->verbose) &&
		    read_field(obj, "pedantic", F_BOOL, &c->pedantic) &&
		    read_field(obj, "tls_required", F_BOOL, &tls_required) &&
		    read_field(obj, "auth_token", F_STRING, &token) && read_field(obj, "user", F_STRING, &c->user) &&
		    read_field(obj, "pass", F_STRING, &pass) && read_field(obj, "name", F_STRING, &c->name) &&
		    read_field(obj, "lang", F_STRING, &c->lang) && read_field(obj, "version", F_STRING, &c->version) &&
		    read_field(obj, "protocol", F_INT, &c->protocol) &&
		    read_field(obj, "account", F_STRING, &account) &&
		    read_field(obj, "new_account", F_BOOL, &new_account) &&
		    read_field(obj, "headers", F_BOOL, &headers_wanted) &&
		    read_field(obj, "no_responders", F_BOOL, &c->no_responders) &&
		    read_field(obj, "nkey", F_STRING, &nkey) && read_field(obj, "jwt", F_STRING, &jwt) &&
		    read_field(obj, "sig", F_STRING, &sig);
	}
	json_decref(obj);
	c->connect_received = true;
	proto_parser_set_awaiting_connect(&c->parser, false);
	c->headers = headers_wanted;
	proto_parser_set_headers(&c->parser, c->headers);
	bool authorized = ok && auth_ok(b, c->user, pass, token) && account == NULL && !new_account;
	g_free(token);
	g_free(pass);
	g_free(account);
	g_free(nkey);
	g_free(jwt);
	g_free(sig);
	if (!ok) {
		conn_log(c, BROKER_LOG_ERROR, "Invalid CONNECT: a field has the wrong type");
		conn_mark_closing(c, BROKER_CLOSE_PROTOCOL);
		return;
	}
	if (!authorized) {
		auth_violation(c);
		return;
	}
	if (c->protocol < 0 || c->protocol > 1) {
		conn_send_err(c, "invalid client protocol");
		conn_mark_closing(c, BROKER_CLOSE_BAD_PROTOCOL_VERSION);
		return;
	}
	if (c->no_responders && !c->headers) {
		conn_send_err(c, "no responders requires headers support");
		conn_mark_closing(c, BROKER_CLOSE_NO_RESPONDERS_HEADERS);
		return;
	}
	if (c->verbose)
		conn_send_ok(c);
}

static void
process_ping(BrokerConn *c)
{
	trace_out(c, "PONG");
	send_proto(c, PROTO_PONG);
	c->last_in_ns = c->broker->now_ns;
	if (c->connect_received)
		c->first_pong_sent = true;
}

static void
process_pong(BrokerConn *c)
{
	c->pings_out = 0;
	c->rtt_ns = MAX(c->broker->now_ns - c->rtt_start_ns, 1);
}

static void
trace_in(BrokerConn *c, const ProtoOp *op)
{
	if (c->broker->config.log_level < BROKER_LOG_TRACE)
		return;
	const ProtoSlice *parts[] = { &op->subject, &op->reply, &op->queue, &op->sid };
	GString *s = g_string_new(proto_op_name(op->kind));
	for (size_t k = 0; k < G_N_ELEMENTS(parts); k++)
		if (parts[k]->ptr != NULL)
			g_string_append_printf(s, " %.*s", (int)parts[k]->len, (const char *)parts[k]->ptr);
	if (op->kind == PROTO_OP_PUB || op->kind == PROTO_OP_HPUB)
		g_string_append_printf(s, " %zu", op->headers.len + op->payload.len);
	if (op->kind == PROTO_OP_CONNECT)
		g_string_append_printf(s, " %.*s", (int)op->text.len, (const char *)op->text.ptr);
	conn_log(c, BROKER_LOG_TRACE, "<<- [%s]", s->str);
	g_string_free(s, TRUE);
}

static void
handle_op(BrokerConn *c, const ProtoOp *op)
{
	trace_in(c, op);
	switch (op->kind) {
	case PROTO_OP_CONNECT:
		process_connect(c, op);
		break;
	case PROTO_OP_PUB:
	case PROTO_OP_HPUB:
		c->activity = true;
		broker_route(c->broker, c, op);
		break;
	case PROTO_OP_SUB:
		process_sub(c, op);
		break;
	case PROTO_OP_UNSUB:
		process_unsub(c, op);
		break;
	case PROTO_OP_PING:
		process_ping(c);
		break;
	case PROTO_OP_PONG:
		process_pong(c);
		break;
	case PROTO_OP_INFO: {
		/* A client's INFO is ignored, once it is valid JSON. */
		json_t *obj = json_loadb((const char *)op->text.ptr, op->text.len, JSON_DECODE_ANY, NULL);
		if (obj == NULL)
			conn_mark_closing(c, BROKER_CLOSE_PROTOCOL);
		json_decref(obj);
		break;
	}
	case PROTO_OP_OK:
		break;
	case PROTO_OP_ERR:
		conn_log(c, BROKER_LOG_ERROR, "Client Error %.*s", (int)op->text.len, (const char *)op->text.ptr);
		conn_mark_closing(c, BROKER_CLOSE_PARSE_ERROR);
		break;
	case PROTO_OP_MSG:
	case PROTO_OP_HMSG:
		UNREACHABLE(); /* the server-role parser rejects them */
	}
}

static void
handle_parse_error(BrokerConn *c, ProtoParseError error)
{
	Broker *b = c->broker;
	switch (error) {
	case PROTO_ERR_UNKNOWN_OP:
		broker_probe(b, c, BROKER_PROBE_PARSE_ERROR);
		conn_send_err(c, proto_parse_error_text(error));
		conn_mark_closing(c, BROKER_CLOSE_PROTOCOL);
		break;
	case PROTO_ERR_CONTROL_LINE:
		broker_probe(b, c, BROKER_PROBE_MAX_CONTROL_LINE);
		conn_send_err(c, proto_parse_error_text(error));
		conn_mark_closing(c, BROKER_CLOSE_MAX_CONTROL_LINE);
		break;
	case PROTO_ERR_MAX_PAYLOAD:
		broker_probe(b, c, BROKER_PROBE_MAX_PAYLOAD);
		conn_log(c, BROKER_LOG_ERROR, "Maximum Payload Violation");
		conn_send_err(c, proto_parse_error_text(error));
		conn_mark_closing(c, BROKER_CLOSE_MAX_PAYLOAD);
		break;
	case PROTO_ERR_AUTH:
		auth_violation(c);
		break;
	case PROTO_ERR_ARGS:
	case PROTO_ERR_NO_HEADERS:
		broker_probe(b, c, BROKER_PROBE_PARSE_ERROR);
		conn_log(c, BROKER_LOG_ERROR, "Protocol error: bad arguments");
		conn_mark_closing(c, BROKER_CLOSE_PROTOCOL);
		break;
	case PROTO_ERR_NONE:
		UNREACHABLE();
	}
}

void
broker_conn_recv(Broker *b, BrokerConn *c, const uint8_t *data, size_t len, int64_t now_ns)
{
	ASSERT(now_ns >= b->now_ns && c->broker == b);
	b->now_ns = now_ns;
	if (c->closing)
		return;
	c->activity = false;
	c->stall_ns = 0;
	size_t off = 0;
	while (off < len && !c->closing) {
		size_t used = 0;
		ProtoOp op;
		ProtoParseStatus st = proto_parser_feed(&c->parser, data + off, len - off, &used, &op);
		off += used;
		if (st == PROTO_PARSE_OP) {
			handle_op(c, &op);
		} else if (st == PROTO_PARSE_ERROR) {
			handle_parse_error(c, proto_parser_error(&c->parser));
			break;
		}
	}
	/* nats-server counts a read as activity when it carried messages or
	 * subscription changes (readLoop: c.in.msgs > 0 || c.in.subs > 0). */
	if (c->activity && !c->closing)
		c->last_activity_ns = c->last_in_ns = now_ns;
	/* CONNECT moves the ping and auth deadlines. */
	if (!c->closing && conn_deadline(c) != c->deadline_ns)
		broker_timer_update(b, c);
	broker_reap(b);
}

/* ---- output and closing ---- */

/* The backlog over which a connection's producers are asked to pause:
 * nats-server's max_pending / 2, capped so that a consumer that is merely
 * slower than its producer costs a bounded amount of memory (the rest
 * waits in the producer's socket, as TCP flow control would have it). */
size_t
conn_stall_bytes(const Broker *b)
{
	return (size_t)MIN(b->config.pending_bytes_max / 2, BROKER_STALL_BYTES_MAX);
}

/* A stalled gate opens (nats-server's flushOutbound closing out.stc). */
static void
stall_release(BrokerConn *c)
{
	if (!c->stall_gate)
		return;
	c->stall_gate = false;
	c->broker->stall_releases++;
}

int64_t
broker_conn_stall_ns(const BrokerConn *c)
{
	return c->stall_ns;
}

uint64_t
broker_stall_releases(const Broker *b)
{
	return b->stall_releases;
}

size_t
broker_conn_send_peek(BrokerConn *c, const uint8_t **data)
{
	*data = proto_buf_peek(&c->out);
	return proto_buf_pending(&c->out);
}

void
broker_conn_send_consume(Broker *b, BrokerConn *c, size_t len, int64_t now_ns)
{
	ASSERT(now_ns >= b->now_ns);
	b->now_ns = now_ns;
	proto_buf_consume(&c->out, len);
	if (len > 0)
		c->stall_since_ns = now_ns;
	if (c->stall_gate && proto_buf_pending(&c->out) < conn_stall_bytes(b))
		stall_release(c);
	if (proto_buf_pending(&c->out) == 0) {
		c->wake_pending = false;
		/* A busy connection keeps its buffer: freeing it whenever it runs
		 * empty made every turn grow it again (realloc copies, fresh
		 * pages). Only an outsized one goes here; the ping timer returns
		 * the rest once the connection is idle. */
		proto_buf_shrink(&c->out, BROKER_OUT_KEEP_BYTES_MAX);
	}
}

bool
broker_conn_closing(const BrokerConn *c)
{
	return c->closing;
}

void
conn_mark_closing(BrokerConn *c, BrokerCloseReason reason)
{
	Broker *b = c->broker;
	if (c->closing)
		return;
	c->closing = true;
	c->close_reason = reason;
	if (c->counted) {
		b->conn_count--;
		c->counted = false;
	}
	broker_record_closed(b, c);
	while (c->sub_head != NULL)
		conn_sub_remove(c, c->sub_head);
	broker_timer_remove(b, c);
	switch (reason) {
	case BROKER_CLOSE_SLOW_CONSUMER_PENDING:
	case BROKER_CLOSE_SLOW_CONSUMER_DEADLINE:
	case BROKER_CLOSE_WRITE_ERROR:
	case BROKER_CLOSE_READ_ERROR:
		proto_buf_clear(&c->out); /* nats-server skips the flush */
		break;
	default:
		break;
	}
	stall_release(c); /* nobody waits for a closing connection */
	broker_probe(b, c, BROKER_PROBE_CONN_CLOSED);
	conn_log(c, BROKER_LOG_DEBUG, "Client connection closed: %s", broker_close_reason_str(reason));
	c->wake_pending = true;
	if (b->cb.conn_wake != NULL)
		b->cb.conn_wake(b->cb_ctx, c);
}

void
broker_conn_close(Broker *b, BrokerConn *c, BrokerCloseReason reason, int64_t now_ns)
{
	ASSERT(c->broker == b);
	b->now_ns = MAX(b->now_ns, now_ns);
	if (!c->closing)
		conn_mark_closing(c, reason);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		b->conn_head = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	else
		b->conn_tail = c->prev;
	proto_parser_deinit(&c->parser);
	proto_buf_deinit(&c->out);
	g_hash_table_destroy(c->subs);
	g_free(c->ip);
	g_free(c->name);
	g_free(c->lang);
	g_free(c->version);
	g_free(c->user);
	g_free(c);
	broker_reap(b);
}

uint64_t
broker_conn_cid(const BrokerConn *c)
{
	return c->cid;
}

BrokerCloseReason
broker_conn_close_reason(const BrokerConn *c)
{
	return c->close_reason;
}

void
broker_conn_set_user(BrokerConn *c, void *user)
{
	c->user_ptr = user;
}

void *
broker_conn_user(const BrokerConn *c)
{
	return c->user_ptr;
}

/* ---- timers ---- */

int64_t
conn_deadline(const BrokerConn *c)
{
	if (c->closing)
		return INT64_MAX;
	int64_t d = c->ping_due_ns;
	if (c->awaiting_auth)
		d = MIN(d, c->auth_due_ns);
	if (proto_buf_pending(&c->out) > 0)
		d = MIN(d, c->stall_since_ns + c->broker->config.write_deadline_ns);
	return d;
}

void
conn_on_timer(BrokerConn *c, int64_t now_ns)
{
	Broker *b = c->broker;
	if (c->awaiting_auth && now_ns >= c->auth_due_ns) {
		broker_probe(b, c, BROKER_PROBE_AUTH_TIMEOUT);
		conn_send_err(c, "Authentication Timeout");
		conn_mark_closing(c, BROKER_CLOSE_AUTH_TIMEOUT);
		return;
	}
	if (proto_buf_pending(&c->out) > 0 && now_ns >= c->stall_since_ns + b->config.write_deadline_ns) {
		b->slow_consumers++;
		broker_probe(b, c, BROKER_PROBE_SLOW_CONSUMER);
		broker_probe(b, c, BROKER_PROBE_WRITE_DEADLINE);
		conn_log(c, BROKER_LOG_INFO, "Slow Consumer Detected: WriteDeadline of %" G_GINT64_FORMAT "ns Exceeded",
		    b->config.write_deadline_ns);
		conn_mark_closing(c, BROKER_CLOSE_SLOW_CONSUMER_DEADLINE);
		return;
	}
	if (now_ns < c->ping_due_ns)
		return;
	if (proto_buf_pending(&c->out) == 0)
		proto_buf_shrink(&c->out, BROKER_OUT_IDLE_BYTES_MAX);
	/* processPingTimer: skip when the client was active within the
	 * interval, unless an RTT measurement is due. */
	bool need_rtt = c->rtt_ns == 0 || now_ns - c->rtt_start_ns > BROKER_RTT_INTERVAL_NS;
	if (now_ns - c->last_in_ns < b->config.ping_interval_ns && !need_rtt) {
		broker_probe(b, c, BROKER_PROBE_PING_SKIPPED);
	} else if (c->pings_out + 1 > b->config.pings_out_max) {
		broker_probe(b, c, BROKER_PROBE_STALE_CONNECTION);
		conn_log(c, BROKER_LOG_DEBUG, "Stale Client Connection - Closing");
		conn_send_err(c, "Stale Connection");
		conn_mark_closing(c, BROKER_CLOSE_STALE);
		return;
	} else {
		conn_send_ping(c);
	}
	c->ping_due_ns = now_ns + b->config.ping_interval_ns;
}
