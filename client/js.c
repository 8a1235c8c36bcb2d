/*
 * js.c - JetStream on the client core (see js.h): API calls, PubAck
 * publishing with a bounded window, pull fetch, push subscriptions, acks,
 * ack-subject metadata, advisories.
 *
 * Who calls it: users and drivers through js.h; sub.c hands it the
 * messages of fetch and push subscriptions.
 *
 * Invariants: conn->js_pub_pending counts publishes whose PubAck callback
 * has not run; a ClientFetch is in conn->fetches exactly while its
 * subscription exists, and both go away together in fetch_finish, before
 * on_done runs. Status messages (100/404/408/409, empty payload) never
 * reach a user's message callback.
 */
#include <stdlib.h>
#include <string.h>

#include "client/internal.h"
#include "proto/assert.h"
#include "proto/encode.h"
#include "proto/headers.h"
#include "proto/subject.h"

#define JS_DEFAULT_FETCH_TIMEOUT_NS (5 * CLIENT_NS_PER_S)
#define JS_FETCH_GRACE_NS CLIENT_NS_PER_S
#define JS_SUBJECT_BYTES_MAX 1024

static bool
name_ok(const char *s)
{
	if (s == NULL || s[0] == '\0' || strlen(s) > 255)
		return false;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == '.' || *p == '*' || *p == '>' || *p == '/' || *p == '\\' ||
		    *p == 0x7f)
			return false;
	return true;
}

static bool
closed_p(const ClientConn *conn)
{
	return conn->state == CLIENT_STATE_CLOSED || conn->state == CLIENT_STATE_CLOSING || conn->close_requested;
}

/* ---- generic API call ---- */

typedef struct JsCall {
	ClientJsFn cb;
	void *ctx;
} JsCall;

static void
fill_error(json_t *e, ClientJsError *err)
{
	*err = (ClientJsError){ 0 };
	err->code = (int)json_integer_value(json_object_get(e, "code"));
	err->err_code = (int)json_integer_value(json_object_get(e, "err_code"));
	const char *d = json_string_value(json_object_get(e, "description"));
	g_strlcpy(err->description, d ? d : "", sizeof(err->description));
}

static void
js_api_reply(void *ctx, ClientConn *conn, ClientStatus status, const ClientMsg *msg)
{
	JsCall *call = ctx;
	if (status != CLIENT_OK) {
		call->cb(call->ctx, conn, status, NULL, NULL);
		g_free(call);
		return;
	}
	json_error_t jerr;
	json_t *resp = json_loadb((const char *)msg->data, msg->data_len, 0, &jerr);
	if (resp == NULL || !json_is_object(resp)) {
		json_decref(resp);
		call->cb(call->ctx, conn, CLIENT_ERR_BAD_RESPONSE, NULL, NULL);
		g_free(call);
		return;
	}
	json_t *e = json_object_get(resp, "error");
	if (json_is_object(e)) {
		ClientJsError err;
		fill_error(e, &err);
		call->cb(call->ctx, conn, CLIENT_ERR_JS, &err, resp);
	} else {
		call->cb(call->ctx, conn, CLIENT_OK, NULL, resp);
	}
	json_decref(resp);
	g_free(call);
}

ClientStatus
client_js_api(ClientConn *conn, const char *api, const json_t *body, int64_t timeout_ns, ClientJsFn cb, void *ctx,
    int64_t now_ns)
{
	if (conn == NULL || api == NULL || api[0] == '\0' || cb == NULL || timeout_ns <= 0)
		return CLIENT_ERR_INVALID_ARG;
	char subject[JS_SUBJECT_BYTES_MAX];
	int n = g_snprintf(subject, sizeof(subject), "%s.%s", conn->opts.js_api_prefix, api);
	if (n <= 0 || (size_t)n >= sizeof(subject))
		return CLIENT_ERR_INVALID_ARG;
	char *text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
	JsCall *call = g_new0(JsCall, 1);
	call->cb = cb;
	call->ctx = ctx;
	uint64_t id = 0;
	ClientStatus st = client_request(conn, subject, NULL, 0, text, text ? strlen(text) : 0, timeout_ns,
	    js_api_reply, call, &id, now_ns);
	free(text);
	if (st != CLIENT_OK)
		g_free(call);
	else
		client_request_own_ctx(conn, id, g_free);
	return st;
}

/* ---- configs ---- */

static void
merge_extra(json_t *obj, const json_t *extra)
{
	if (extra != NULL && json_is_object(extra))
		json_object_update(obj, (json_t *)extra);
}

json_t *
client_stream_config_json(const ClientStreamConfig *c)
{
	static const char *const retention[] = { "limits", "interest", "workqueue" };
	json_t *o = json_object();
	json_object_set_new(o, "name", json_string(c->name));
	if (c->subjects_count > 0) {
		json_t *arr = json_array();
		for (size_t k = 0; k < c->subjects_count; k++)
			json_array_append_new(arr, json_string(c->subjects[k]));
		json_object_set_new(o, "subjects", arr);
	}
	json_object_set_new(o, "retention", json_string(retention[c->retention]));
	json_object_set_new(o, "storage", json_string(c->storage == CLIENT_JS_MEMORY ? "memory" : "file"));
	json_object_set_new(o, "max_msgs", json_integer(c->max_msgs > 0 ? c->max_msgs : -1));
	json_object_set_new(o, "max_bytes", json_integer(c->max_bytes > 0 ? c->max_bytes : -1));
	json_object_set_new(o, "max_age", json_integer(c->max_age_ns > 0 ? c->max_age_ns : 0));
	json_object_set_new(o, "max_msgs_per_subject",
	    json_integer(c->max_msgs_per_subject > 0 ? c->max_msgs_per_subject : -1));
	json_object_set_new(o, "max_msg_size", json_integer(c->max_msg_size > 0 ? c->max_msg_size : -1));
	json_object_set_new(o, "discard", json_string(c->discard_new ? "new" : "old"));
	json_object_set_new(o, "num_replicas", json_integer(1));
	if (c->duplicate_window_ns > 0)
		json_object_set_new(o, "duplicate_window", json_integer(c->duplicate_window_ns));
	merge_extra(o, c->extra);
	return o;
}

json_t *
client_consumer_config_json(const ClientConsumerConfig *c)
{
	static const char *const ack[] = { "explicit", "none", "all" };
	static const char *const deliver[] = { "all", "last", "new", "by_start_sequence", "last_per_subject" };
	json_t *o = json_object();
	if (c->durable_name != NULL)
		json_object_set_new(o, "durable_name", json_string(c->durable_name));
	if (c->deliver_subject != NULL)
		json_object_set_new(o, "deliver_subject", json_string(c->deliver_subject));
	if (c->deliver_group != NULL)
		json_object_set_new(o, "deliver_group", json_string(c->deliver_group));
	json_object_set_new(o, "deliver_policy", json_string(deliver[c->deliver_policy]));
	if (c->opt_start_seq > 0)
		json_object_set_new(o, "opt_start_seq", json_integer((json_int_t)c->opt_start_seq));
	json_object_set_new(o, "ack_policy", json_string(ack[c->ack_policy]));
	if (c->ack_wait_ns > 0)
		json_object_set_new(o, "ack_wait", json_integer(c->ack_wait_ns));
	if (c->max_deliver != 0)
		json_object_set_new(o, "max_deliver", json_integer(c->max_deliver));
	if (c->filter_subject != NULL)
		json_object_set_new(o, "filter_subject", json_string(c->filter_subject));
	json_object_set_new(o, "replay_policy", json_string("instant"));
	if (c->max_ack_pending != 0)
		json_object_set_new(o, "max_ack_pending", json_integer(c->max_ack_pending));
	if (c->max_waiting != 0)
		json_object_set_new(o, "max_waiting", json_integer(c->max_waiting));
	if (c->idle_heartbeat_ns > 0)
		json_object_set_new(o, "idle_heartbeat", json_integer(c->idle_heartbeat_ns));
	if (c->flow_control)
		json_object_set_new(o, "flow_control", json_true());
	if (c->inactive_threshold_ns > 0)
		json_object_set_new(o, "inactive_threshold", json_integer(c->inactive_threshold_ns));
	if (c->backoff_count > 0) {
		json_t *arr = json_array();
		for (size_t k = 0; k < c->backoff_count; k++)
			json_array_append_new(arr, json_integer(c->backoff_ns[k]));
		json_object_set_new(o, "backoff", arr);
	}
	merge_extra(o, c->extra);
	return o;
}

/* ---- API wrappers ---- */

static ClientStatus
api_simple(ClientConn *conn, const char *api, json_t *body_owned, int64_t timeout_ns, ClientJsFn cb, void *ctx,
    int64_t now_ns)
{
	ClientStatus st = client_js_api(conn, api, body_owned, timeout_ns, cb, ctx, now_ns);
	json_decref(body_owned);
	return st;
}

static ClientStatus
api_named(ClientConn *conn, const char *fmt_api, const char *a, const char *b, json_t *body_owned,
    int64_t timeout_ns, ClientJsFn cb, void *ctx, int64_t now_ns)
{
	if (conn == NULL || !name_ok(a) || (b != NULL && !name_ok(b)) || (strstr(fmt_api, "%s.%s") && b == NULL)) {
		json_decref(body_owned);
		return CLIENT_ERR_INVALID_ARG;
	}
	char api[JS_SUBJECT_BYTES_MAX];
	if (b != NULL)
		g_snprintf(api, sizeof(api), fmt_api, a, b);
	else
		g_snprintf(api, sizeof(api), fmt_api, a);
	return api_simple(conn, api, body_owned, timeout_ns, cb, ctx, now_ns);
}

ClientStatus
client_js_account_info(ClientConn *conn, int64_t timeout_ns, ClientJsFn cb, void *ctx, int64_t now_ns)
{
	return client_js_api(conn, "INFO", NULL, timeout_ns, cb, ctx, now_ns);
}

static ClientStatus
stream_write(ClientConn *conn, const char *verb, const ClientStreamConfig *config, int64_t timeout_ns,
    ClientJsFn cb, void *ctx, int64_t now_ns)
{
	if (conn == NULL || config == NULL || !name_ok(config->name) || config->retention > CLIENT_JS_WORKQUEUE ||
	    config->storage > CLIENT_JS_MEMORY)
		return CLIENT_ERR_INVALID_ARG;
	for (size_t k = 0; k < config->subjects_count; k++)
		if (config->subjects == NULL || config->subjects[k] == NULL ||
		    !proto_subject_valid(config->subjects[k], strlen(config->subjects[k])))
			return CLIENT_ERR_INVALID_SUBJECT;
	char api[JS_SUBJECT_BYTES_MAX];
	g_snprintf(api, sizeof(api), "STREAM.%s.%s", verb, config->name);
	return api_simple(conn, api, client_stream_config_json(config), timeout_ns, cb, ctx, now_ns);
}

ClientStatus
client_js_stream_add(ClientConn *conn, const ClientStreamConfig *config, int64_t timeout_ns, ClientJsFn cb,
    void *ctx, int64_t now_ns)
{
	return stream_write(conn, "CREATE", config, timeout_ns, cb, ctx, now_ns);
}

ClientStatus
client_js_stream_update(ClientConn *conn, const ClientStreamConfig *config, int64_t timeout_ns, ClientJsFn cb,
    void *ctx, int64_t now_ns)
{
	return stream_write(conn, "UPDATE", config, timeout_ns, cb, ctx, now_ns);
}

ClientStatus
client_js_stream_info(ClientConn *conn, const char *stream, int64_t timeout_ns, ClientJsFn cb, void *ctx,
    int64_t now_ns)
{
	return api_named(conn, "STREAM.INFO.%s", stream, NULL, NULL, timeout_ns, cb, ctx, now_ns);
}

ClientStatus
client_js_stream_delete(ClientConn *conn, const char *stream, int64_t timeout_ns, ClientJsFn cb, void *ctx,
    int64_t now_ns)
{
	return api_named(conn, "STREAM.DELETE.%s", stream, NULL, NULL, timeout_ns, cb, ctx, now_ns);
}

ClientStatus
client_js_stream_purge(ClientConn *conn, const char *stream, const char *filter, uint64_t seq, uint64_t keep,
    int64_t timeout_ns, ClientJsFn cb, void *ctx, int64_t now_ns)
{
	if (filter != NULL && !proto_subject_valid(filter, strlen(filter)))
		return CLIENT_ERR_INVALID_SUBJECT;
	json_t *body = NULL;
	if (filter != NULL || seq > 0 || keep > 0) {
		body = json_object();
		if (filter != NULL)
			json_object_set_new(body, "filter", json_string(filter));
		if (seq > 0)
			json_object_set_new(body, "seq", json_integer((json_int_t)seq));
		if (keep > 0)
			json_object_set_new(body, "keep", json_integer((json_int_t)keep));
	}
	return api_named(conn, "STREAM.PURGE.%s", stream, NULL, body, timeout_ns, cb, ctx, now_ns);
}

static json_t *
paged_body(const char *subject, uint64_t offset)
{
	json_t *body = json_object();
	json_object_set_new(body, "offset", json_integer((json_int_t)offset));
	if (subject != NULL)
		json_object_set_new(body, "subject", json_string(subject));
	return body;
}

ClientStatus
client_js_stream_names(ClientConn *conn, const char *subject, uint64_t offset, int64_t timeout_ns, ClientJsFn cb,
    void *ctx, int64_t now_ns)
{
	if (subject != NULL && !proto_subject_valid(subject, strlen(subject)))
		return CLIENT_ERR_INVALID_SUBJECT;
	return api_simple(conn, "STREAM.NAMES", paged_body(subject, offset), timeout_ns, cb, ctx, now_ns);
}

ClientStatus
client_js_stream_list(ClientConn *conn, const char *subject, uint64_t offset, int64_t timeout_ns, ClientJsFn cb,
    void *ctx, int64_t now_ns)
{
	if (subject != NULL && !proto_subject_valid(subject, strlen(subject)))
		return CLIENT_ERR_INVALID_SUBJECT;
	return api_simple(conn, "STREAM.LIST", paged_body(subject, offset), timeout_ns, cb, ctx, now_ns);
}

ClientStatus
client_js_msg_get(ClientConn *conn, const char *stream, uint64_t seq, const char *last_by_subject,
    int64_t timeout_ns, ClientJsFn cb, void *ctx, int64_t now_ns)
{
	if (seq == 0 && (last_by_subject == NULL || !proto_subject_valid(last_by_subject, strlen(last_by_subject))))
		return CLIENT_ERR_INVALID_ARG;
	json_t *body = json_object();
	if (seq > 0)
		json_object_set_new(body, "seq", json_integer((json_int_t)seq));
	else
		json_object_set_new(body, "last_by_subj", json_string(last_by_subject));
	return api_named(conn, "STREAM.MSG.GET.%s", stream, NULL, body, timeout_ns, cb, ctx, now_ns);
}

ClientStatus
client_js_msg_delete(ClientConn *conn, const char *stream, uint64_t seq, bool no_erase, int64_t timeout_ns,
    ClientJsFn cb, void *ctx, int64_t now_ns)
{
	if (seq == 0)
		return CLIENT_ERR_INVALID_ARG;
	json_t *body = json_object();
	json_object_set_new(body, "seq", json_integer((json_int_t)seq));
	if (no_erase)
		json_object_set_new(body, "no_erase", json_true());
	return api_named(conn, "STREAM.MSG.DELETE.%s", stream, NULL, body, timeout_ns, cb, ctx, now_ns);
}

ClientStatus
client_js_consumer_add(ClientConn *conn, const char *stream, const ClientConsumerConfig *config, int64_t timeout_ns,
    ClientJsFn cb, void *ctx, int64_t now_ns)
{
	if (conn == NULL || config == NULL || !name_ok(stream) ||
	    (config->durable_name != NULL && !name_ok(config->durable_name)) ||
	    config->ack_policy > CLIENT_JS_ACK_ALL || config->deliver_policy > CLIENT_JS_DELIVER_LAST_PER_SUBJECT)
		return CLIENT_ERR_INVALID_ARG;
	if ((config->deliver_subject != NULL &&
	        !proto_subject_valid(config->deliver_subject, strlen(config->deliver_subject))) ||
	    (config->filter_subject != NULL &&
	        !proto_subject_valid(config->filter_subject, strlen(config->filter_subject))))
		return CLIENT_ERR_INVALID_SUBJECT;
	json_t *body = json_object();
	json_object_set_new(body, "stream_name", json_string(stream));
	json_object_set_new(body, "config", client_consumer_config_json(config));
	/* Durable: CONSUMER.CREATE.<s>.<c> (2.9+); ephemeral: the legacy
	 * CONSUMER.CREATE.<s>, which every 2.x server knows. */
	if (config->durable_name != NULL)
		return api_named(conn, "CONSUMER.CREATE.%s.%s", stream, config->durable_name, body, timeout_ns, cb, ctx,
		    now_ns);
	return api_named(conn, "CONSUMER.CREATE.%s", stream, NULL, body, timeout_ns, cb, ctx, now_ns);
}

ClientStatus
client_js_consumer_info(ClientConn *conn, const char *stream, const char *consumer, int64_t timeout_ns,
    ClientJsFn cb, void *ctx, int64_t now_ns)
{
	if (consumer == NULL)
		return CLIENT_ERR_INVALID_ARG;
	return api_named(conn, "CONSUMER.INFO.%s.%s", stream, consumer, NULL, timeout_ns, cb, ctx, now_ns);
}

ClientStatus
client_js_consumer_delete(ClientConn *conn, const char *stream, const char *consumer, int64_t timeout_ns,
    ClientJsFn cb, void *ctx, int64_t now_ns)
{
	if (consumer == NULL)
		return CLIENT_ERR_INVALID_ARG;
	return api_named(conn, "CONSUMER.DELETE.%s.%s", stream, consumer, NULL, timeout_ns, cb, ctx, now_ns);
}

ClientStatus
client_js_consumer_names(ClientConn *conn, const char *stream, uint64_t offset, int64_t timeout_ns, ClientJsFn cb,
    void *ctx, int64_t now_ns)
{
	return api_named(conn, "CONSUMER.NAMES.%s", stream, NULL, paged_body(NULL, offset), timeout_ns, cb, ctx,
	    now_ns);
}

ClientStatus
client_js_consumer_list(ClientConn *conn, const char *stream, uint64_t offset, int64_t timeout_ns, ClientJsFn cb,
    void *ctx, int64_t now_ns)
{
	return api_named(conn, "CONSUMER.LIST.%s", stream, NULL, paged_body(NULL, offset), timeout_ns, cb, ctx,
	    now_ns);
}

/* ---- publish with PubAck ---- */

ClientStatus
client_js_pub_ack_parse(const uint8_t *data, size_t len, ClientPubAck *ack, ClientJsError *err)
{
	*ack = (ClientPubAck){ 0 };
	*err = (ClientJsError){ 0 };
	json_error_t jerr;
	json_t *o = json_loadb((const char *)data, len, 0, &jerr);
	if (o == NULL || !json_is_object(o)) {
		json_decref(o);
		return CLIENT_ERR_BAD_RESPONSE;
	}
	json_t *e = json_object_get(o, "error");
	if (json_is_object(e)) {
		fill_error(e, err);
		json_decref(o);
		return CLIENT_ERR_JS;
	}
	const char *stream = json_string_value(json_object_get(o, "stream"));
	json_t *seq = json_object_get(o, "seq");
	if (stream == NULL || !json_is_integer(seq) || json_integer_value(seq) < 0) {
		json_decref(o);
		return CLIENT_ERR_BAD_RESPONSE;
	}
	g_strlcpy(ack->stream, stream, sizeof(ack->stream));
	ack->seq = (uint64_t)json_integer_value(seq);
	ack->duplicate = json_is_true(json_object_get(o, "duplicate"));
	const char *domain = json_string_value(json_object_get(o, "domain"));
	if (domain != NULL)
		g_strlcpy(ack->domain, domain, sizeof(ack->domain));
	json_decref(o);
	return CLIENT_OK;
}

typedef struct JsPub {
	ClientPubAckFn cb;
	void *ctx;
} JsPub;

static void
js_pub_reply(void *ctx, ClientConn *conn, ClientStatus status, const ClientMsg *msg)
{
	JsPub *p = ctx;
	ASSERT(conn->js_pub_pending > 0);
	conn->js_pub_pending--;
	ClientPubAck ack = { 0 };
	ClientJsError err = { 0 };
	if (status == CLIENT_OK)
		status = client_js_pub_ack_parse(msg->data, msg->data_len, &ack, &err);
	if (p->cb != NULL)
		p->cb(p->ctx, conn, status, status == CLIENT_OK ? &ack : NULL, status == CLIENT_ERR_JS ? &err : NULL);
	g_free(p);
}

static ClientStatus
add_header(ClientHeaders *h, const char *key, const char *value)
{
	return client_headers_add(h, key, value);
}

ClientStatus
client_js_publish(ClientConn *conn, const char *subject, const void *data, size_t data_len,
    const ClientJsPubOptions *o, int64_t timeout_ns, ClientPubAckFn cb, void *ctx, int64_t now_ns)
{
	if (conn == NULL || subject == NULL || timeout_ns <= 0 || (data == NULL && data_len > 0))
		return CLIENT_ERR_INVALID_ARG;
	if (closed_p(conn))
		return CLIENT_ERR_CLOSED;
	if (conn->js_pub_pending >= conn->opts.js_pub_pending_max)
		return CLIENT_ERR_LIMIT;
	ClientHeaders h;
	client_headers_init(&h);
	ClientStatus st = CLIENT_OK;
	if (o != NULL) {
		if (o->headers != NULL && o->headers_len > 0) {
			/* Take the caller's block without its closing empty line. */
			const uint8_t *b = o->headers;
			size_t n = o->headers_len;
			if (n < 12 || memcmp(b, "NATS/1.0", 8) != 0 || memcmp(b + n - 4, "\r\n\r\n", 4) != 0) {
				client_headers_clear(&h);
				return CLIENT_ERR_INVALID_ARG;
			}
			const uint8_t *eol = memchr(b, '\n', n);
			size_t first = (size_t)(eol - b) + 1;
			client_headers_put_raw(&h, "NATS/1.0\r\n", 10);
			if (n - 2 > first)
				client_headers_put_raw(&h, b + first, n - 2 - first);
		}
		char num[32];
		if (st == CLIENT_OK && o->msg_id != NULL)
			st = add_header(&h, "Nats-Msg-Id", o->msg_id);
		if (st == CLIENT_OK && o->expected_stream != NULL)
			st = add_header(&h, "Nats-Expected-Stream", o->expected_stream);
		if (st == CLIENT_OK && o->expected_last_seq >= 0) {
			g_snprintf(num, sizeof(num), "%" G_GINT64_FORMAT, o->expected_last_seq);
			st = add_header(&h, "Nats-Expected-Last-Sequence", num);
		}
		if (st == CLIENT_OK && o->expected_last_subject_seq >= 0) {
			g_snprintf(num, sizeof(num), "%" G_GINT64_FORMAT, o->expected_last_subject_seq);
			st = add_header(&h, "Nats-Expected-Last-Subject-Sequence", num);
		}
		if (st == CLIENT_OK && o->expected_last_msg_id != NULL)
			st = add_header(&h, "Nats-Expected-Last-Msg-Id", o->expected_last_msg_id);
	}
	if (st != CLIENT_OK) {
		client_headers_clear(&h);
		return st;
	}
	size_t hlen = 0;
	const uint8_t *hb = client_headers_block(&h, &hlen);
	JsPub *p = g_new0(JsPub, 1);
	p->cb = cb;
	p->ctx = ctx;
	uint64_t id = 0;
	st = client_request(conn, subject, hb, hlen, data, data_len, timeout_ns, js_pub_reply, p, &id, now_ns);
	client_headers_clear(&h);
	if (st != CLIENT_OK) {
		g_free(p);
		return st;
	}
	client_request_own_ctx(conn, id, g_free);
	conn->js_pub_pending++;
	return CLIENT_OK;
}

uint32_t
client_js_publish_pending(const ClientConn *conn)
{
	return conn ? conn->js_pub_pending : 0;
}

/* ---- pull fetch ---- */

static void
fetch_finish(ClientConn *conn, ClientFetch *f, ClientStatus status, int code, const char *text)
{
	g_hash_table_remove(conn->fetches, &f->id);
	client_timer_cancel(conn, &f->deadline);
	client_timer_cancel(conn, &f->hb_timer);
	ClientSub *s = client_sub_lookup(conn, f->sid);
	if (s != NULL) {
		if (client_conn_live(conn))
			proto_encode_unsub(&conn->out, s->sid, 0);
		client_sub_remove(conn, s);
		client_sub_free(conn, s);
	}
	if (f->on_done != NULL)
		f->on_done(f->ctx, conn, status, f->received, code, text ? text : "");
	g_free(f);
	client_wake(conn);
}

static void
fetch_deadline_fire(ClientConn *conn, ClientTimer *t, int64_t now_ns)
{
	(void)now_ns;
	ClientFetch *f = (ClientFetch *)((char *)t - offsetof(ClientFetch, deadline));
	fetch_finish(conn, f, CLIENT_ERR_TIMEOUT, 0, "client deadline");
}

static void
fetch_hb_fire(ClientConn *conn, ClientTimer *t, int64_t now_ns)
{
	(void)now_ns;
	ClientFetch *f = (ClientFetch *)((char *)t - offsetof(ClientFetch, hb_timer));
	fetch_finish(conn, f, CLIENT_ERR_MISSED_HEARTBEAT, 0, "missed idle heartbeats");
}

void
client_fetch_on_msg(ClientConn *conn, ClientSub *sub, const ClientMsg *msg, int64_t now_ns)
{
	ClientFetch *f = sub->fetch;
	uint64_t id = f->id;
	if (f->hb_ns > 0)
		client_timer_arm(conn, &f->hb_timer, now_ns + 2 * f->hb_ns);
	if (msg->status != 0 && msg->data_len == 0) {
		switch (msg->status) {
		case 100:
			return; /* idle heartbeat */
		case 404:
			fetch_finish(conn, f, CLIENT_ERR_NO_MESSAGES, 404, msg->status_text);
			return;
		case 408:
			fetch_finish(conn, f, CLIENT_ERR_TIMEOUT, 408, msg->status_text);
			return;
		default:
			fetch_finish(conn, f, CLIENT_ERR_JS_STATUS, msg->status, msg->status_text);
			return;
		}
	}
	f->received++;
	if (f->on_msg != NULL)
		f->on_msg(f->ctx, conn, msg);
	/* The callback may have closed the connection (and ended the fetch). */
	f = g_hash_table_lookup(conn->fetches, &id);
	if (f != NULL && f->received >= f->batch)
		fetch_finish(conn, f, CLIENT_OK, 0, "");
}

static gint
fetch_cmp(gconstpointer a, gconstpointer b)
{
	const ClientFetch *x = *(ClientFetch *const *)a, *y = *(ClientFetch *const *)b;
	return x->id < y->id ? -1 : x->id > y->id;
}

void
client_fetches_fail_all(ClientConn *conn, ClientStatus status)
{
	if (g_hash_table_size(conn->fetches) == 0)
		return;
	GPtrArray *all = g_ptr_array_new();
	GHashTableIter it;
	gpointer v;
	g_hash_table_iter_init(&it, conn->fetches);
	while (g_hash_table_iter_next(&it, NULL, &v))
		g_ptr_array_add(all, v);
	g_ptr_array_sort(all, fetch_cmp);
	for (guint k = 0; k < all->len; k++) {
		ClientFetch *f = g_ptr_array_index(all, k);
		if (g_hash_table_lookup(conn->fetches, &f->id) == f)
			fetch_finish(conn, f, status, 0, client_status_str(status));
	}
	g_ptr_array_free(all, TRUE);
}

ClientStatus
client_js_fetch(ClientConn *conn, const char *stream, const char *consumer, const ClientFetchOptions *o,
    ClientFetchMsgFn on_msg, ClientFetchDoneFn on_done, void *ctx, uint64_t *fetch_id_out, int64_t now_ns)
{
	if (conn == NULL || o == NULL || !name_ok(stream) || !name_ok(consumer) || o->batch == 0 ||
	    o->expires_ns < 0 || o->max_bytes < 0 || o->idle_heartbeat_ns < 0 || o->timeout_ns < 0)
		return CLIENT_ERR_INVALID_ARG;
	if (o->idle_heartbeat_ns > 0 && o->expires_ns < 2 * o->idle_heartbeat_ns)
		return CLIENT_ERR_INVALID_ARG; /* the server answers 400: heartbeat value too large */
	if (closed_p(conn))
		return CLIENT_ERR_CLOSED;
	if (g_hash_table_size(conn->requests) + g_hash_table_size(conn->fetches) >= conn->opts.requests_max)
		return CLIENT_ERR_LIMIT;
	char subject[JS_SUBJECT_BYTES_MAX];
	g_snprintf(subject, sizeof(subject), "%s.CONSUMER.MSG.NEXT.%s.%s", conn->opts.js_api_prefix, stream, consumer);
	bool no_wait = o->no_wait || o->expires_ns == 0;
	json_t *body = json_object();
	json_object_set_new(body, "batch", json_integer(o->batch));
	if (o->expires_ns > 0)
		json_object_set_new(body, "expires", json_integer(o->expires_ns));
	if (no_wait)
		json_object_set_new(body, "no_wait", json_true());
	if (o->max_bytes > 0)
		json_object_set_new(body, "max_bytes", json_integer(o->max_bytes));
	if (o->idle_heartbeat_ns > 0)
		json_object_set_new(body, "idle_heartbeat", json_integer(o->idle_heartbeat_ns));
	char *text = json_dumps(body, JSON_COMPACT);
	json_decref(body);

	char *inbox = client_inbox_new(conn);
	ClientSub *s;
	ClientStatus st = client_sub_add(conn, inbox, NULL, NULL, NULL, true, &s, now_ns);
	if (st == CLIENT_OK)
		st = client_publish(conn, subject, inbox, NULL, 0, text, strlen(text), now_ns);
	free(text);
	g_free(inbox);
	if (st != CLIENT_OK) {
		if (client_sub_lookup(conn, s->sid) == s) {
			if (client_conn_live(conn))
				proto_encode_unsub(&conn->out, s->sid, 0);
			client_sub_remove(conn, s);
			client_sub_free(conn, s);
		}
		return st;
	}
	ClientFetch *f = g_new0(ClientFetch, 1);
	f->id = conn->next_fetch_id++;
	f->sid = s->sid;
	f->batch = o->batch;
	f->hb_ns = o->idle_heartbeat_ns;
	f->on_msg = on_msg;
	f->on_done = on_done;
	f->ctx = ctx;
	f->deadline.fire = fetch_deadline_fire;
	f->hb_timer.fire = fetch_hb_fire;
	s->fetch = f;
	g_hash_table_insert(conn->fetches, &f->id, f);
	int64_t timeout = o->timeout_ns > 0 ? o->timeout_ns
	    : o->expires_ns > 0 ? o->expires_ns + JS_FETCH_GRACE_NS : JS_DEFAULT_FETCH_TIMEOUT_NS;
	client_timer_arm(conn, &f->deadline, now_ns + timeout);
	if (f->hb_ns > 0)
		client_timer_arm(conn, &f->hb_timer, now_ns + 2 * f->hb_ns);
	if (fetch_id_out != NULL)
		*fetch_id_out = f->id;
	return CLIENT_OK;
}

/* ---- push ---- */

static void
push_hb_fire(ClientConn *conn, ClientTimer *t, int64_t now_ns)
{
	ClientSub *s = (ClientSub *)((char *)t - offsetof(ClientSub, hb_timer));
	client_timer_arm(conn, &s->hb_timer, now_ns + 2 * s->hb_ns);
	client_emit(conn, CLIENT_EVENT_ERROR, CLIENT_ERR_MISSED_HEARTBEAT, "missed idle heartbeats", s->sid);
}

void
client_sub_hb_arm(ClientConn *conn, ClientSub *s, int64_t now_ns)
{
	if (s->hb_ns > 0)
		client_timer_arm(conn, &s->hb_timer, now_ns + 2 * s->hb_ns);
}

void
client_js_push_on_msg(ClientConn *conn, ClientSub *s, const ClientMsg *msg, int64_t now_ns)
{
	client_sub_hb_arm(conn, s, now_ns);
	if (msg->status != 0 && msg->data_len == 0) {
		if (msg->status == 100) {
			/* Flow control request: answer on its reply. A heartbeat of a
			 * stalled consumer names the FC subject to answer. */
			char stalled[256];
			if (msg->reply != NULL)
				client_publish_raw(conn, msg->reply, NULL, NULL, 0, NULL, 0);
			else if (client_msg_header(msg, "Nats-Consumer-Stalled", stalled, sizeof(stalled)) &&
			    proto_subject_valid(stalled, strlen(stalled)))
				client_publish_raw(conn, stalled, NULL, NULL, 0, NULL, 0);
			client_wake(conn);
			return;
		}
		client_emit(conn, CLIENT_EVENT_ERROR, CLIENT_ERR_JS_STATUS, msg->status_text, s->sid);
		return;
	}
	if (s->cb != NULL) {
		s->cb(s->ctx, conn, msg);
		return;
	}
	/* queued push subscription */
	ClientMsg *copy = client_msg_copy(msg);
	size_t bytes = msg->data_len + msg->headers_len;
	if (s->pending_msgs + 1 > s->pending_msgs_max || s->pending_bytes + bytes > s->pending_bytes_max) {
		client_msg_free(copy);
		s->dropped++;
		conn->stats.dropped_msgs++;
		if (!s->slow) {
			s->slow = true;
			client_emit(conn, CLIENT_EVENT_SLOW_CONSUMER, CLIENT_ERR_SLOW_CONSUMER, "slow consumer", s->sid);
		}
		return;
	}
	g_queue_push_tail(&s->queue_msgs, copy);
	s->pending_msgs++;
	s->pending_bytes += bytes;
}

ClientStatus
client_js_push_subscribe(ClientConn *conn, const char *deliver_subject, const char *queue, int64_t idle_heartbeat_ns,
    ClientMsgFn cb, void *ctx, uint64_t *sid_out, int64_t now_ns)
{
	if (idle_heartbeat_ns < 0)
		return CLIENT_ERR_INVALID_ARG;
	uint64_t sid = 0;
	ClientStatus st = client_subscribe(conn, deliver_subject, queue, cb, ctx, &sid, now_ns);
	if (st != CLIENT_OK)
		return st;
	ClientSub *s = client_sub_lookup(conn, sid);
	s->js_push = true;
	s->hb_ns = idle_heartbeat_ns;
	s->hb_timer.fire = push_hb_fire;
	client_sub_hb_arm(conn, s, now_ns);
	if (sid_out != NULL)
		*sid_out = sid;
	return CLIENT_OK;
}

/* ---- acks ---- */

const char *
client_ack_kind_str(ClientAckKind kind)
{
	switch (kind) {
	case CLIENT_ACK_ACK: return "+ACK";
	case CLIENT_ACK_NAK: return "-NAK";
	case CLIENT_ACK_TERM: return "+TERM";
	case CLIENT_ACK_PROGRESS: return "+WPI";
	}
	return "?";
}

static ClientStatus
ack_body(ClientAckKind kind, int64_t delay_ns, char *buf, size_t size)
{
	if (kind < CLIENT_ACK_ACK || kind > CLIENT_ACK_PROGRESS || delay_ns < 0 ||
	    (delay_ns > 0 && kind != CLIENT_ACK_NAK))
		return CLIENT_ERR_INVALID_ARG;
	if (kind == CLIENT_ACK_NAK && delay_ns > 0)
		g_snprintf(buf, size, "-NAK {\"delay\":%" G_GINT64_FORMAT "}", delay_ns);
	else
		g_strlcpy(buf, client_ack_kind_str(kind), size);
	return CLIENT_OK;
}

static bool
ack_reply_ok(const char *reply)
{
	return reply != NULL && g_str_has_prefix(reply, "$JS.ACK.") && proto_subject_valid(reply, strlen(reply)) &&
	    !proto_subject_has_wildcard(reply, strlen(reply));
}

ClientStatus
client_js_ack(ClientConn *conn, const char *reply, ClientAckKind kind, int64_t delay_ns, int64_t now_ns)
{
	if (conn == NULL || !ack_reply_ok(reply))
		return CLIENT_ERR_INVALID_ARG;
	char body[64];
	ClientStatus st = ack_body(kind, delay_ns, body, sizeof(body));
	if (st != CLIENT_OK)
		return st;
	return client_publish(conn, reply, NULL, NULL, 0, body, strlen(body), now_ns);
}

typedef struct AckSync {
	ClientFlushFn cb;
	void *ctx;
} AckSync;

static void
ack_sync_reply(void *ctx, ClientConn *conn, ClientStatus status, const ClientMsg *msg)
{
	(void)msg;
	AckSync *a = ctx;
	if (a->cb != NULL)
		a->cb(a->ctx, conn, status);
	g_free(a);
}

ClientStatus
client_js_ack_sync(ClientConn *conn, const char *reply, ClientAckKind kind, int64_t delay_ns, int64_t timeout_ns,
    ClientFlushFn cb, void *ctx, int64_t now_ns)
{
	if (conn == NULL || !ack_reply_ok(reply))
		return CLIENT_ERR_INVALID_ARG;
	char body[64];
	ClientStatus st = ack_body(kind, delay_ns, body, sizeof(body));
	if (st != CLIENT_OK)
		return st;
	AckSync *a = g_new0(AckSync, 1);
	a->cb = cb;
	a->ctx = ctx;
	uint64_t id = 0;
	st = client_request(conn, reply, NULL, 0, body, strlen(body), timeout_ns, ack_sync_reply, a, &id, now_ns);
	if (st != CLIENT_OK)
		g_free(a);
	else
		client_request_own_ctx(conn, id, g_free);
	return st;
}

/* ---- metadata ---- */

static bool
parse_u64(const char *s, size_t len, uint64_t *out)
{
	if (len == 0 || len > 20)
		return false;
	uint64_t v = 0;
	for (size_t k = 0; k < len; k++) {
		if (s[k] < '0' || s[k] > '9')
			return false;
		uint64_t d = (uint64_t)(s[k] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

#define META_TOKENS_MAX 16

ClientStatus
client_js_meta_parse(const char *reply, ClientJsMeta *out)
{
	if (reply == NULL || out == NULL)
		return CLIENT_ERR_INVALID_ARG;
	*out = (ClientJsMeta){ 0 };
	const char *tok[META_TOKENS_MAX];
	size_t len[META_TOKENS_MAX];
	size_t n = 0;
	const char *p = reply;
	for (;;) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);
		if (n == META_TOKENS_MAX || l == 0)
			return CLIENT_ERR_INVALID_ARG;
		tok[n] = p;
		len[n] = l;
		n++;
		if (dot == NULL)
			break;
		p = dot + 1;
	}
	if (n < 9 || len[0] != 3 || memcmp(tok[0], "$JS", 3) != 0 || len[1] != 3 || memcmp(tok[1], "ACK", 3) != 0)
		return CLIENT_ERR_INVALID_ARG;
	size_t b; /* index of the stream token */
	if (n == 9) {
		b = 2;
	} else if (n >= 11) {
		b = 4;
		if (!(len[2] == 1 && tok[2][0] == '_')) {
			if (len[2] >= sizeof(out->domain))
				return CLIENT_ERR_INVALID_ARG;
			memcpy(out->domain, tok[2], len[2]);
		}
	} else {
		return CLIENT_ERR_INVALID_ARG;
	}
	if (len[b] >= sizeof(out->stream) || len[b + 1] >= sizeof(out->consumer))
		return CLIENT_ERR_INVALID_ARG;
	memcpy(out->stream, tok[b], len[b]);
	memcpy(out->consumer, tok[b + 1], len[b + 1]);
	uint64_t ts;
	if (!parse_u64(tok[b + 2], len[b + 2], &out->delivered) || !parse_u64(tok[b + 3], len[b + 3], &out->stream_seq) ||
	    !parse_u64(tok[b + 4], len[b + 4], &out->consumer_seq) || !parse_u64(tok[b + 5], len[b + 5], &ts) ||
	    !parse_u64(tok[b + 6], len[b + 6], &out->pending) || ts > INT64_MAX) {
		*out = (ClientJsMeta){ 0 };
		return CLIENT_ERR_INVALID_ARG;
	}
	out->timestamp_ns = (int64_t)ts;
	return CLIENT_OK;
}

/* ---- advisories ---- */

ClientStatus
client_js_advisories_subscribe(ClientConn *conn, const char *filter, ClientMsgFn cb, void *ctx, uint64_t *sid_out,
    int64_t now_ns)
{
	char subject[JS_SUBJECT_BYTES_MAX];
	int n = g_snprintf(subject, sizeof(subject), "$JS.EVENT.ADVISORY.%s", filter ? filter : ">");
	if (n <= 0 || (size_t)n >= sizeof(subject))
		return CLIENT_ERR_INVALID_ARG;
	return client_subscribe(conn, subject, NULL, cb, ctx, sid_out, now_ns);
}
