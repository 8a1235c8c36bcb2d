/*
 * sub.c - subscriptions: SUB/UNSUB, auto-unsubscribe after max messages,
 * delivery of MSG/HMSG to callbacks or to a bounded queue (slow-consumer
 * drops reported as events, never a crash), drain of one subscription,
 * and re-subscribing after a reconnect.
 *
 * Who calls it: conn.c (deliver, resend), users through client.h, js.c.
 *
 * Invariants: a sub is in conn->subs from client_sub_add until
 * client_sub_remove; it is removed from the table *before* a callback that
 * may end it runs, so a callback may unsubscribe anything, itself
 * included. Queued messages count against pending_msgs_max and
 * pending_bytes_max; a message over either limit is dropped.
 */
#include <string.h>

#include "client/internal.h"
#include "proto/assert.h"
#include "proto/encode.h"
#include "proto/headers.h"
#include "proto/subject.h"

ClientSub *
client_sub_lookup(const ClientConn *conn, uint64_t sid)
{
	return g_hash_table_lookup(conn->subs, &sid);
}

bool
client_sub_exists(const ClientConn *conn, uint64_t sid)
{
	return conn != NULL && client_sub_lookup(conn, sid) != NULL;
}

uint32_t
client_conn_sub_count(const ClientConn *conn)
{
	return conn ? conn->user_subs : 0;
}

static gint
sid_cmp(gconstpointer a, gconstpointer b)
{
	const ClientSub *x = *(ClientSub *const *)a, *y = *(ClientSub *const *)b;
	return x->sid < y->sid ? -1 : x->sid > y->sid;
}

GPtrArray *
client_subs_sorted(const ClientConn *conn)
{
	GPtrArray *arr = g_ptr_array_sized_new(g_hash_table_size(conn->subs));
	GHashTableIter it;
	gpointer v;
	g_hash_table_iter_init(&it, conn->subs);
	while (g_hash_table_iter_next(&it, NULL, &v))
		g_ptr_array_add(arr, v);
	g_ptr_array_sort(arr, sid_cmp); /* hash order never shows */
	return arr;
}

static void
encode_sub(ClientConn *conn, const ClientSub *s)
{
	proto_encode_sub(&conn->out, s->subject, s->queue, s->sid);
	if (s->max_msgs > 0) {
		ASSERT(s->max_msgs > s->delivered);
		proto_encode_unsub(&conn->out, s->sid, s->max_msgs - s->delivered);
	}
}

void
client_subs_resend(ClientConn *conn)
{
	GPtrArray *subs = client_subs_sorted(conn);
	for (guint k = 0; k < subs->len; k++) {
		ClientSub *s = g_ptr_array_index(subs, k);
		if (!s->draining)
			encode_sub(conn, s);
	}
	g_ptr_array_free(subs, TRUE);
}

ClientStatus
client_sub_add(ClientConn *conn, const char *subject, const char *queue, ClientMsgFn cb, void *ctx, bool internal,
    ClientSub **out, int64_t now_ns)
{
	(void)now_ns;
	if (!internal && conn->user_subs >= conn->opts.subs_max)
		return CLIENT_ERR_LIMIT;
	ClientSub *s = g_new0(ClientSub, 1);
	s->sid = conn->next_sid++;
	s->subject = g_strdup(subject);
	s->queue = queue && queue[0] ? g_strdup(queue) : NULL;
	s->cb = cb;
	s->ctx = ctx;
	s->internal = internal;
	s->pending_msgs_max = conn->opts.pending_msgs_max;
	s->pending_bytes_max = conn->opts.pending_bytes_max;
	g_queue_init(&s->queue_msgs);
	g_hash_table_insert(conn->subs, &s->sid, s);
	if (!internal)
		conn->user_subs++;
	if (client_conn_live(conn)) {
		encode_sub(conn, s);
		client_wake(conn);
	}
	*out = s;
	return CLIENT_OK;
}

void
client_sub_remove(ClientConn *conn, ClientSub *s)
{
	bool removed = g_hash_table_remove(conn->subs, &s->sid);
	ASSERT(removed);
	if (conn->last_delivered_sub == s)
		conn->last_delivered_sub = NULL;
	if (!s->internal)
		conn->user_subs--;
	client_timer_cancel(conn, &s->hb_timer);
}

void
client_sub_free(ClientConn *conn, ClientSub *s)
{
	if (s == NULL)
		return;
	if (conn->destroying)
		client_timer_cancel(conn, &s->hb_timer);
	ASSERT(!s->hb_timer.armed);
	while (!g_queue_is_empty(&s->queue_msgs))
		client_msg_free(g_queue_pop_head(&s->queue_msgs));
	g_free(s->subject);
	g_free(s->queue);
	g_free(s);
}

static bool
closed_p(const ClientConn *conn)
{
	return conn->state == CLIENT_STATE_CLOSED || conn->state == CLIENT_STATE_CLOSING || conn->close_requested;
}

ClientStatus
client_subscribe(ClientConn *conn, const char *subject, const char *queue, ClientMsgFn cb, void *ctx,
    uint64_t *sid_out, int64_t now_ns)
{
	if (conn == NULL || subject == NULL)
		return CLIENT_ERR_INVALID_ARG;
	if (!proto_subject_valid(subject, strlen(subject)))
		return CLIENT_ERR_INVALID_SUBJECT;
	if (queue != NULL && queue[0] != '\0') {
		for (const char *p = queue; *p; p++)
			if ((unsigned char)*p <= ' ' || *p == 0x7f)
				return CLIENT_ERR_INVALID_SUBJECT;
	}
	if (closed_p(conn))
		return CLIENT_ERR_CLOSED;
	if (conn->in_drain)
		return CLIENT_ERR_DRAINING;
	ClientSub *s;
	ClientStatus st = client_sub_add(conn, subject, queue, cb, ctx, false, &s, now_ns);
	if (st == CLIENT_OK && sid_out != NULL)
		*sid_out = s->sid;
	return st;
}

ClientStatus
client_unsubscribe(ClientConn *conn, uint64_t sid, uint64_t max_msgs, int64_t now_ns)
{
	(void)now_ns;
	if (conn == NULL)
		return CLIENT_ERR_INVALID_ARG;
	if (closed_p(conn))
		return CLIENT_ERR_CLOSED;
	ClientSub *s = client_sub_lookup(conn, sid);
	if (s == NULL || s->internal)
		return CLIENT_ERR_NOT_FOUND;
	if (max_msgs > 0 && max_msgs > s->delivered) {
		s->max_msgs = max_msgs;
		if (client_conn_live(conn))
			proto_encode_unsub(&conn->out, sid, max_msgs);
		client_wake(conn);
		return CLIENT_OK;
	}
	if (client_conn_live(conn))
		proto_encode_unsub(&conn->out, sid, 0);
	client_sub_remove(conn, s);
	client_sub_free(conn, s);
	client_wake(conn);
	return CLIENT_OK;
}

ClientStatus
client_sub_drain(ClientConn *conn, uint64_t sid, int64_t now_ns)
{
	(void)now_ns;
	if (conn == NULL)
		return CLIENT_ERR_INVALID_ARG;
	if (closed_p(conn))
		return CLIENT_ERR_CLOSED;
	ClientSub *s = client_sub_lookup(conn, sid);
	if (s == NULL || s->internal)
		return CLIENT_ERR_NOT_FOUND;
	if (s->draining)
		return CLIENT_ERR_DRAINING;
	s->draining = true;
	if (!client_conn_live(conn)) {
		/* Not subscribed at any server right now: gone at once. */
		client_sub_remove(conn, s);
		client_sub_free(conn, s);
		return CLIENT_OK;
	}
	proto_encode_unsub(&conn->out, sid, 0);
	client_send_ping(conn, PONG_DRAIN_SUB, sid, NULL);
	client_wake(conn);
	return CLIENT_OK;
}

void
client_sub_drain_done(ClientConn *conn, uint64_t sid)
{
	ClientSub *s = client_sub_lookup(conn, sid);
	if (s == NULL)
		return;
	client_sub_remove(conn, s);
	client_sub_free(conn, s);
}

ClientStatus
client_sub_set_pending_limits(ClientConn *conn, uint64_t sid, uint32_t msgs_max, size_t bytes_max)
{
	if (conn == NULL || msgs_max == 0 || bytes_max == 0)
		return CLIENT_ERR_INVALID_ARG;
	ClientSub *s = client_sub_lookup(conn, sid);
	if (s == NULL)
		return CLIENT_ERR_NOT_FOUND;
	s->pending_msgs_max = msgs_max;
	s->pending_bytes_max = bytes_max;
	return CLIENT_OK;
}

ClientStatus
client_sub_next_msg(ClientConn *conn, uint64_t sid, ClientMsg **out)
{
	if (conn == NULL || out == NULL)
		return CLIENT_ERR_INVALID_ARG;
	*out = NULL;
	ClientSub *s = client_sub_lookup(conn, sid);
	if (s == NULL)
		return CLIENT_ERR_NOT_FOUND;
	ClientMsg *m = g_queue_pop_head(&s->queue_msgs);
	if (m == NULL)
		return CLIENT_OK;
	ASSERT(s->pending_msgs > 0 && s->pending_bytes >= m->data_len + m->headers_len);
	s->pending_msgs--;
	s->pending_bytes -= m->data_len + m->headers_len;
	/* The episode ends once the queue is back under both limits. */
	if (s->slow && s->pending_msgs < s->pending_msgs_max && s->pending_bytes < s->pending_bytes_max)
		s->slow = false;
	if (s->max_msgs > 0 && s->delivered >= s->max_msgs && s->pending_msgs == 0) {
		client_sub_remove(conn, s); /* its last message is handed out */
		client_sub_free(conn, s);
	}
	*out = m;
	return CLIENT_OK;
}

ClientStatus
client_sub_stats(const ClientConn *conn, uint64_t sid, ClientSubStats *out)
{
	if (conn == NULL || out == NULL)
		return CLIENT_ERR_INVALID_ARG;
	const ClientSub *s = client_sub_lookup(conn, sid);
	if (s == NULL)
		return CLIENT_ERR_NOT_FOUND;
	*out = (ClientSubStats){ s->pending_msgs, s->pending_bytes, s->delivered, s->dropped };
	return CLIENT_OK;
}

static bool
parse_sid(ProtoSlice s, uint64_t *out)
{
	if (s.len == 0 || s.len > 19)
		return false;
	uint64_t v = 0;
	for (size_t k = 0; k < s.len; k++) {
		if (s.ptr[k] < '0' || s.ptr[k] > '9')
			return false;
		v = v * 10 + (uint64_t)(s.ptr[k] - '0');
	}
	*out = v;
	return true;
}

static void
enqueue(ClientConn *conn, ClientSub *s, const ClientMsg *msg)
{
	size_t bytes = msg->data_len + msg->headers_len;
	if (s->pending_msgs + 1 > s->pending_msgs_max || s->pending_bytes + bytes > s->pending_bytes_max) {
		s->dropped++;
		conn->stats.dropped_msgs++;
		if (!s->slow) {
			s->slow = true;
			client_emit(conn, CLIENT_EVENT_SLOW_CONSUMER, CLIENT_ERR_SLOW_CONSUMER, "slow consumer", s->sid);
		}
		return;
	}
	g_queue_push_tail(&s->queue_msgs, client_msg_copy(msg));
	s->pending_msgs++;
	s->pending_bytes += bytes;
}

void
client_deliver(ClientConn *conn, const ProtoOp *op, int64_t now_ns)
{
	uint64_t sid;
	if (!parse_sid(op->sid, &sid))
		return; /* not one of ours: ignored, as nats.c does */
	/* Messages come in runs for one sub: the last one is checked first. */
	ClientSub *s = conn->last_delivered_sub;
	if (s == NULL || s->sid != sid)
		s = conn->last_delivered_sub = client_sub_lookup(conn, sid);
	if (s == NULL)
		return; /* unsubscribed meanwhile */
	if (s->max_msgs > 0 && s->delivered >= s->max_msgs)
		return;

	/* NUL-terminated subject and reply in the scratch buffer. */
	ProtoBuf *sc = &conn->scratch;
	proto_buf_clear(sc);
	proto_buf_reserve(sc, op->subject.len + op->reply.len + 2 + 128);
	proto_buf_append(sc, op->subject.ptr, op->subject.len);
	proto_buf_append_byte(sc, 0);
	size_t reply_off = sc->len;
	if (op->reply.ptr != NULL) {
		proto_buf_append(sc, op->reply.ptr, op->reply.len);
		proto_buf_append_byte(sc, 0);
	}
	char status_text[128];
	ClientMsg msg = {
		.subject = (const char *)sc->data,
		.subject_len = op->subject.len,
		.reply = op->reply.ptr != NULL ? (const char *)sc->data + reply_off : NULL,
		.reply_len = op->reply.len,
		.headers = op->headers.ptr,
		.headers_len = op->headers.ptr ? op->headers.len : 0,
		.data = op->payload.ptr ? op->payload.ptr : (const uint8_t *)"",
		.data_len = op->payload.len,
		.sid = sid,
		.status_text = "",
	};
	if (msg.headers != NULL)
		client_msg_parse_status(&msg, status_text, sizeof(status_text));

	s->delivered++;
	conn->stats.in_msgs++;
	conn->stats.in_bytes += msg.data_len;
	if (s->fetch != NULL) {
		client_fetch_on_msg(conn, s, &msg, now_ns);
		return;
	}
	if (s->sid == conn->mux_sid) {
		client_mux_deliver(conn, &msg);
		return;
	}
	if (s->js_push) {
		client_js_push_on_msg(conn, s, &msg, now_ns);
		return;
	}
	bool last = s->max_msgs > 0 && s->delivered >= s->max_msgs;
	if (s->cb == NULL) {
		enqueue(conn, s, &msg);
		if (last && s->pending_msgs == 0) {
			client_sub_remove(conn, s);
			client_sub_free(conn, s);
		}
		/* A queued sub that reached max stays until its queue is read. */
		return;
	}
	if (last)
		client_sub_remove(conn, s);
	s->cb(s->ctx, conn, &msg);
	if (last)
		client_sub_free(conn, s);
}
