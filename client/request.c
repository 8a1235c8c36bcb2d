/*
 * request.c - request/reply over one multiplexed inbox.
 *
 * The first request subscribes "<inbox_base>.*" (internal, not counted in
 * subs_max); request n publishes with reply "<inbox_base>.<n>" and waits
 * in conn->requests under token n. A reply with status 503 and no payload
 * is the server's "no responders" (NATS-SPEC §1.6) and completes the
 * request at once with CLIENT_ERR_NO_RESPONDERS.
 *
 * Who calls it: users, js.c (every JetStream API call and PubAck).
 * Invariants: each request's callback runs exactly once (reply, timeout,
 * close) unless cancelled; a request leaves the table before its callback
 * runs. Requests survive a reconnect (the mux is re-subscribed) and keep
 * their deadlines.
 */
#include <string.h>

#include "client/internal.h"
#include "proto/assert.h"

static void
request_timeout_fire(ClientConn *conn, ClientTimer *t, int64_t now_ns)
{
	(void)now_ns;
	ClientRequest *r = (ClientRequest *)((char *)t - offsetof(ClientRequest, timer));
	bool removed = g_hash_table_remove(conn->requests, &r->token);
	ASSERT(removed);
	r->cb(r->ctx, conn, CLIENT_ERR_TIMEOUT, NULL);
	g_free(r);
}

static ClientStatus
mux_ensure(ClientConn *conn, int64_t now_ns)
{
	if (conn->mux_sid != 0)
		return CLIENT_OK;
	char *subject = g_strconcat(conn->inbox_base, ".*", NULL);
	ClientSub *s;
	ClientStatus st = client_sub_add(conn, subject, NULL, NULL, NULL, true, &s, now_ns);
	g_free(subject);
	if (st == CLIENT_OK)
		conn->mux_sid = s->sid;
	return st;
}

ClientStatus
client_request(ClientConn *conn, const char *subject, const void *headers, size_t headers_len, const void *data,
    size_t data_len, int64_t timeout_ns, ClientReplyFn cb, void *ctx, uint64_t *request_id_out, int64_t now_ns)
{
	if (conn == NULL || cb == NULL || timeout_ns <= 0)
		return CLIENT_ERR_INVALID_ARG;
	if (conn->state == CLIENT_STATE_CLOSED || conn->state == CLIENT_STATE_CLOSING || conn->close_requested)
		return CLIENT_ERR_CLOSED;
	if (g_hash_table_size(conn->requests) >= conn->opts.requests_max)
		return CLIENT_ERR_LIMIT;
	ClientStatus st = mux_ensure(conn, now_ns);
	if (st != CLIENT_OK)
		return st;
	uint64_t token = conn->next_token;
	char reply[512];
	int n = g_snprintf(reply, sizeof(reply), "%s.%" G_GUINT64_FORMAT, conn->inbox_base, token);
	ASSERT(n > 0 && (size_t)n < sizeof(reply));
	st = client_publish(conn, subject, reply, headers, headers_len, data, data_len, now_ns);
	if (st != CLIENT_OK)
		return st;
	conn->next_token++;
	ClientRequest *r = g_new0(ClientRequest, 1);
	r->token = token;
	r->cb = cb;
	r->ctx = ctx;
	r->timer.fire = request_timeout_fire;
	g_hash_table_insert(conn->requests, &r->token, r);
	client_timer_arm(conn, &r->timer, now_ns + timeout_ns);
	if (request_id_out != NULL)
		*request_id_out = token;
	client_wake(conn);
	return CLIENT_OK;
}

ClientStatus
client_request_cancel(ClientConn *conn, uint64_t request_id)
{
	if (conn == NULL)
		return CLIENT_ERR_INVALID_ARG;
	ClientRequest *r = g_hash_table_lookup(conn->requests, &request_id);
	if (r == NULL)
		return CLIENT_ERR_NOT_FOUND;
	g_hash_table_remove(conn->requests, &request_id);
	client_timer_cancel(conn, &r->timer);
	if (r->ctx_free != NULL)
		r->ctx_free(r->ctx);
	g_free(r);
	return CLIENT_OK;
}

void
client_request_own_ctx(ClientConn *conn, uint64_t request_id, GDestroyNotify ctx_free)
{
	ClientRequest *r = g_hash_table_lookup(conn->requests, &request_id);
	ASSERT(r != NULL);
	r->ctx_free = ctx_free;
}

void
client_mux_deliver(ClientConn *conn, const ClientMsg *msg)
{
	size_t base = strlen(conn->inbox_base);
	if (msg->subject_len <= base + 1 || memcmp(msg->subject, conn->inbox_base, base) != 0 ||
	    msg->subject[base] != '.')
		return;
	const char *tok = msg->subject + base + 1;
	uint64_t token = 0;
	for (const char *p = tok; *p; p++) {
		if (*p < '0' || *p > '9' || p - tok >= 19)
			return; /* not a token of ours */
		token = token * 10 + (uint64_t)(*p - '0');
	}
	ClientRequest *r = g_hash_table_lookup(conn->requests, &token);
	if (r == NULL)
		return; /* late reply after a timeout or cancel */
	g_hash_table_remove(conn->requests, &token);
	client_timer_cancel(conn, &r->timer);
	if (msg->status == 503 && msg->data_len == 0)
		r->cb(r->ctx, conn, CLIENT_ERR_NO_RESPONDERS, NULL);
	else
		r->cb(r->ctx, conn, CLIENT_OK, msg);
	g_free(r);
}

static gint
token_cmp(gconstpointer a, gconstpointer b)
{
	const ClientRequest *x = *(ClientRequest *const *)a, *y = *(ClientRequest *const *)b;
	return x->token < y->token ? -1 : x->token > y->token;
}

void
client_requests_fail_all(ClientConn *conn, ClientStatus status)
{
	GPtrArray *all = g_ptr_array_new();
	GHashTableIter it;
	gpointer v;
	g_hash_table_iter_init(&it, conn->requests);
	while (g_hash_table_iter_next(&it, NULL, &v))
		g_ptr_array_add(all, v);
	g_ptr_array_sort(all, token_cmp); /* callbacks in request order */
	g_hash_table_remove_all(conn->requests);
	for (guint k = 0; k < all->len; k++) {
		ClientRequest *r = g_ptr_array_index(all, k);
		client_timer_cancel(conn, &r->timer);
		r->cb(r->ctx, conn, status, NULL);
		g_free(r);
	}
	g_ptr_array_free(all, TRUE);
}
