/*
 * jetstream.c - the JetStream server of one broker: the account, the
 * $JS.API router, API replies and the audit advisory, advisories, ids,
 * the ticker that drives every JetStream timer, interest notifications,
 * /varz and /jsz, and restoring streams from storage at start-up.
 *
 * Callers: broker.c (js_server_create/destroy), monitor.c (varz/jsz), and
 * the other parts of broker/js/ through js.h.
 *
 * Like nats-server's single-server mode there is one account ("$G") with
 * no limits of its own (-1); the server limits max_memory/max_storage come
 * from BrokerConfig. The API is one internal subscription on "$JS.API.>"
 * (nats-server jetstream_api.go apiDispatch); the router picks the handler
 * by tokens. Streams are kept in a GTree by name, so every listing and
 * every timer pass goes in name order; the ticker walks a snapshot of
 * names, since a timer may delete a consumer (inactive threshold).
 *
 * Invariants: streams holds exactly the live streams; stream_list, when
 * not NULL, is the same set in name order; api_errors <= api_total.
 */
#include "broker/js/js.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/internal.h"
#include "proto/assert.h"
#include "proto/headers.h"

#define JS_DEFAULT_MAX_MEMORY (INT64_C(1) << 30) /* 1 GiB */
#define JS_DEFAULT_MAX_STORAGE (INT64_C(1) << 40) /* 1 TiB */
#define JS_API_PREFIX "$JS.API."
#define JS_ACCOUNT_NAME "$G"
#define JS_JSZ_LIMIT_DEFAULT 1024
#define JS_DEFAULT_SYNC_INTERVAL_NS (INT64_C(120) * 1000000000) /* nats-server's defaultSyncInterval */

struct JsServer {
	Broker *broker;
	BrokerStorage *storage;
	int64_t max_memory_bytes;
	int64_t max_storage_bytes;
	char *store_dir;
	char *server_name;
	bool sync_always;
	int64_t sync_interval_ns;
	BrokerInternalSub *api_sub;
	GTree *streams;         /* name -> JsStream* (owned) */
	GPtrArray *stream_list; /* cache of streams in name order; NULL when stale */
	uint64_t api_total;
	uint64_t api_errors;
};

/* ---- small accessors ---- */

Broker *
js_broker(JsServer *js)
{
	return js->broker;
}

int64_t
js_now(JsServer *js)
{
	return broker_now_ns(js->broker);
}

BrokerStorage *
js_storage(JsServer *js)
{
	return js->storage;
}

JsStoreSync
js_sync_policy(JsServer *js, int64_t *interval_ns)
{
	/* BrokerConfig.js_sync_always, else an interval: nats-server's
	 * default of 2 minutes when none is set (docs/jetstream.md). */
	if (interval_ns != NULL)
		*interval_ns = js->sync_always ? 0 : js->sync_interval_ns;
	return js->sync_always ? JS_STORE_SYNC_ALWAYS : JS_STORE_SYNC_INTERVAL;
}

int64_t
js_max_ack_pending_limit(JsServer *js)
{
	(void)js;
	return -1;
}

const char *
js_server_name(JsServer *js)
{
	return js->server_name;
}

int64_t
js_server_max_bytes(JsServer *js, JsStorageType type)
{
	return type == JS_STORAGE_MEMORY ? js->max_memory_bytes : js->max_storage_bytes;
}

uint64_t
js_server_used_bytes(JsServer *js, JsStorageType type)
{
	GPtrArray *all = js_streams(js);
	uint64_t used = 0;
	for (guint k = 0; k < all->len; k++) {
		JsStream *s = all->pdata[k];
		if (js_stream_storage(s) != type)
			continue;
		JsStoreState st;
		JsStore *store = js_stream_store(s);
		store->ops->state(store, &st);
		used += st.bytes;
	}
	return used;
}

/* ---- ids ---- */

static const char base62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static void
random_chars(JsServer *js, char *out, size_t n)
{
	for (size_t k = 0; k < n; k++)
		out[k] = base62[broker_random(js->broker) % 62];
	out[n] = '\0';
}

void
js_nuid(JsServer *js, char out[23])
{
	random_chars(js, out, 22);
}

void
js_random_name(JsServer *js, char out[9])
{
	random_chars(js, out, 8);
}

/* ---- bodies ---- */

bool
js_body_empty(const BrokerMsgView *msg)
{
	for (size_t k = 0; k < msg->payload_len; k++) {
		uint8_t c = msg->payload[k];
		if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
			return false;
	}
	return true;
}

json_t *
js_parse_body(const BrokerMsgView *msg)
{
	json_t *body = json_loadb((const char *)msg->payload, msg->payload_len, JSON_DECODE_ANY, NULL);
	if (body != NULL && !json_is_object(body)) {
		json_decref(body);
		return NULL;
	}
	return body;
}

/* ---- responses and advisories ---- */

json_t *
js_api_response_new(const char *type_suffix)
{
	json_t *r = json_object();
	char *type = g_strconcat("io.nats.jetstream.api.v1.", type_suffix, NULL);
	json_object_set_new(r, "type", json_string(type));
	g_free(type);
	return r;
}

static char *
dump_compact(const json_t *j)
{
	char *text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
	ASSERT(text != NULL);
	return text;
}

json_t *
js_advisory_new(JsServer *js, const char *type)
{
	json_t *a = json_object();
	char id[23];
	js_nuid(js, id);
	json_object_set_new(a, "type", json_string(type));
	json_object_set_new(a, "id", json_string(id));
	json_object_set_new(a, "timestamp", broker_json_time(js_now(js)));
	return a;
}

void
js_advisory_publish(JsServer *js, const char *subject, json_t *body)
{
	char *text = dump_compact(body);
	broker_internal_publish(js->broker, subject, NULL, NULL, 0, text, strlen(text));
	free(text);
	json_decref(body);
}

/* nats-server's JSAPIAudit, sent for every API response
 * (sendJetStreamAPIAuditAdvisory). */
static void
send_audit(JsServer *js, const BrokerMsgView *request, const char *response)
{
	json_t *a = js_advisory_new(js, "io.nats.jetstream.advisory.v1.api_audit");
	json_object_set_new(a, "server", json_string(js->server_name));
	json_t *client = json_object();
	if (request->publisher != NULL)
		json_object_set_new(client, "id", json_integer((json_int_t)broker_conn_cid(request->publisher)));
	json_object_set_new(client, "acc", json_string(JS_ACCOUNT_NAME));
	json_object_set_new(client, "server", json_string(js->server_name));
	json_object_set_new(a, "client", client);
	json_object_set_new(a, "subject", json_stringn(request->subject, request->subject_len));
	if (request->payload_len > 0) {
		json_t *req = json_stringn((const char *)request->payload, request->payload_len);
		if (req != NULL) /* not UTF-8: left out, as an empty request is */
			json_object_set_new(a, "request", req);
	}
	json_object_set_new(a, "response", json_string(response));
	js_advisory_publish(js, "$JS.EVENT.ADVISORY.API", a);
}

void
js_api_respond(JsServer *js, const BrokerMsgView *request, json_t *response)
{
	ASSERT(response != NULL && json_is_object(response));
	char *text = dump_compact(response);
	js->api_total++;
	if (json_object_get(response, "error") != NULL) {
		js->api_errors++;
		broker_probe_hit(js->broker, BROKER_PROBE_JS_API_ERROR);
	}
	json_decref(response);
	if (request->reply != NULL && request->reply_len > 0) {
		char *reply = g_strndup(request->reply, request->reply_len);
		broker_internal_publish(js->broker, reply, NULL, NULL, 0, text, strlen(text));
		g_free(reply);
	}
	send_audit(js, request, text);
	free(text);
}

/* ---- streams registry ---- */

JsStream *
js_stream_find(JsServer *js, const char *name)
{
	return name != NULL ? g_tree_lookup(js->streams, name) : NULL;
}

static gboolean
collect_value(gpointer key, gpointer value, gpointer data)
{
	(void)key;
	g_ptr_array_add(data, value);
	return FALSE;
}

GPtrArray *
js_streams(JsServer *js)
{
	if (js->stream_list == NULL) {
		js->stream_list = g_ptr_array_new();
		g_tree_foreach(js->streams, collect_value, js->stream_list);
	}
	return js->stream_list;
}

void
js_server_stream_add(JsServer *js, JsStream *s)
{
	ASSERT(js_stream_find(js, js_stream_name(s)) == NULL);
	g_tree_insert(js->streams, (gpointer)js_stream_name(s), s);
	if (js->stream_list != NULL)
		g_ptr_array_free(js->stream_list, TRUE);
	js->stream_list = NULL;
}

void
js_server_stream_remove(JsServer *js, JsStream *s)
{
	ASSERT(js_stream_find(js, js_stream_name(s)) == s);
	g_tree_remove(js->streams, js_stream_name(s));
	if (js->stream_list != NULL)
		g_ptr_array_free(js->stream_list, TRUE);
	js->stream_list = NULL;
}

/* ---- $JS.API.INFO ---- */

static uint64_t
consumer_total(JsServer *js)
{
	GPtrArray *all = js_streams(js);
	uint64_t n = 0;
	for (guint k = 0; k < all->len; k++)
		n += js_stream_consumers(all->pdata[k])->len;
	return n;
}

/* JetStreamAccountLimits of the single account: nothing is limited. */
static json_t *
account_limits(void)
{
	json_t *l = json_object();
	json_object_set_new(l, "max_memory", json_integer(-1));
	json_object_set_new(l, "max_storage", json_integer(-1));
	json_object_set_new(l, "max_streams", json_integer(-1));
	json_object_set_new(l, "max_consumers", json_integer(-1));
	json_object_set_new(l, "max_ack_pending", json_integer(-1));
	json_object_set_new(l, "memory_max_stream_bytes", json_integer(-1));
	json_object_set_new(l, "storage_max_stream_bytes", json_integer(-1));
	json_object_set_new(l, "max_bytes_required", json_false());
	return l;
}

static json_t *
api_stats(JsServer *js)
{
	json_t *api = json_object();
	json_object_set_new(api, "total", json_integer((json_int_t)js->api_total));
	json_object_set_new(api, "errors", json_integer((json_int_t)js->api_errors));
	return api;
}

static void
api_account_info(JsServer *js, const BrokerMsgView *msg)
{
	json_t *r = js_api_response_new("account_info_response");
	json_object_set_new(r, "memory", json_integer((json_int_t)js_server_used_bytes(js, JS_STORAGE_MEMORY)));
	json_object_set_new(r, "storage", json_integer((json_int_t)js_server_used_bytes(js, JS_STORAGE_FILE)));
	json_object_set_new(r, "reserved_memory", json_integer(0));
	json_object_set_new(r, "reserved_storage", json_integer(0));
	json_object_set_new(r, "streams", json_integer(js_streams(js)->len));
	json_object_set_new(r, "consumers", json_integer((json_int_t)consumer_total(js)));
	json_object_set_new(r, "limits", account_limits());
	json_object_set_new(r, "api", api_stats(js));
	js_api_respond(js, msg, r);
}

/* ---- the router ---- */

/* A subject under $JS.API that no handler takes gets no answer at all:
 * nats-server's apiDispatch has a "bad request" branch for it (v2.10.29,
 * v2.14.5), but only for a request whose account is not the system
 * account, and a client's request reaches the JetStream API through the
 * $JS.API import from the system account, so it never runs. On the wire
 * (2.9.10) nothing comes back; the client times out (NATS-SPEC §2.1). */
static void
api_unknown(JsServer *js, const BrokerMsgView *msg)
{
	(void)js;
	(void)msg;
}

/* Joins tokens [from, n) with dots (g_free). */
static char *
join_tokens(char **tokens, guint from, guint n)
{
	GString *s = g_string_new(NULL);
	for (guint k = from; k < n; k++) {
		if (k > from)
			g_string_append_c(s, '.');
		g_string_append(s, tokens[k]);
	}
	return g_string_free(s, FALSE);
}

static bool
is(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

/* Routes one request; t are the tokens after "$JS.API.", n of them, none
 * empty. Returns false when no handler takes the subject. */
static bool
route(JsServer *js, const BrokerMsgView *msg, char **t, guint n)
{
	if (n == 1 && is(t[0], "INFO")) {
		api_account_info(js, msg);
		return true;
	}
	if (n >= 2 && is(t[0], "STREAM")) {
		const char *op = t[1];
		if (n == 2 && is(op, "NAMES"))
			js_stream_api_names(js, msg);
		else if (n == 2 && is(op, "LIST"))
			js_stream_api_list(js, msg);
		else if (n == 3 && is(op, "CREATE"))
			js_stream_api_create(js, msg, t[2]);
		else if (n == 3 && is(op, "UPDATE"))
			js_stream_api_update(js, msg, t[2]);
		else if (n == 3 && is(op, "INFO"))
			js_stream_api_info(js, msg, t[2]);
		else if (n == 3 && is(op, "DELETE"))
			js_stream_api_delete(js, msg, t[2]);
		else if (n == 3 && is(op, "PURGE"))
			js_stream_api_purge(js, msg, t[2]);
		else if (n == 4 && is(op, "MSG") && is(t[2], "GET"))
			js_stream_api_msg_get(js, msg, t[3]);
		else if (n == 4 && is(op, "MSG") && is(t[2], "DELETE"))
			js_stream_api_msg_delete(js, msg, t[3]);
		else
			return false;
		return true;
	}
	if (n >= 3 && is(t[0], "DIRECT") && is(t[1], "GET")) {
		/* $JS.API.DIRECT.GET.<stream> and, for the last message of a
		 * subject, $JS.API.DIRECT.GET.<stream>.<subject...>. The
		 * subscriptions exist only while allow_direct is set, so a
		 * stream without it (or a missing one) does not answer. */
		char *subject = n > 3 ? join_tokens(t, 3, n) : NULL;
		js_stream_api_direct_get(js, msg, t[2], subject);
		g_free(subject);
		return true;
	}
	if (n >= 3 && is(t[0], "CONSUMER")) {
		const char *op = t[1];
		if (is(op, "CREATE") && n >= 3) {
			char *filter = n > 4 ? join_tokens(t, 4, n) : NULL;
			js_consumer_api_create(js, msg, t[2], n > 3 ? t[3] : NULL, filter, false);
			g_free(filter);
		} else if (n == 5 && is(op, "DURABLE") && is(t[2], "CREATE")) {
			js_consumer_api_create(js, msg, t[3], t[4], NULL, true);
		} else if (n == 4 && is(op, "INFO")) {
			js_consumer_api_info(js, msg, t[2], t[3]);
		} else if (n == 4 && is(op, "DELETE")) {
			js_consumer_api_delete(js, msg, t[2], t[3]);
		} else if (n == 3 && is(op, "NAMES")) {
			js_consumer_api_names(js, msg, t[2]);
		} else if (n == 3 && is(op, "LIST")) {
			js_consumer_api_list(js, msg, t[2]);
		} else if (n == 5 && is(op, "MSG") && is(t[2], "NEXT")) {
			js_consumer_api_msg_next(js, msg, t[3], t[4]);
		} else {
			return false;
		}
		return true;
	}
	return false;
}

static void
api_dispatch(void *ctx, const BrokerMsgView *msg)
{
	JsServer *js = ctx;
	/* A request without a reply is still handled, as nats-server's
	 * handlers do (none of them checks the reply); only the response is
	 * not sent (js_api_respond). docs/jetstream.md. */
	char *subject = g_strndup(msg->subject, msg->subject_len);
	ASSERT(g_str_has_prefix(subject, JS_API_PREFIX));
	const char *rest = subject + strlen(JS_API_PREFIX);
	/* System-level requests a single server ignores (apiDispatch). */
	if (is(rest, "META.LEADER.STEPDOWN") || is(rest, "SERVER.REMOVE") || g_str_has_prefix(rest, "ACCOUNT.")) {
		g_free(subject);
		return;
	}
	char **tokens = g_strsplit(rest, ".", -1);
	guint n = g_strv_length(tokens);
	bool empty_token = false;
	for (guint k = 0; k < n; k++)
		empty_token = empty_token || tokens[k][0] == '\0';
	/* A subject with an empty token matches no handler's subscription. */
	if (empty_token || !route(js, msg, tokens, n))
		api_unknown(js, msg);
	g_strfreev(tokens);
	g_free(subject);
}

/* ---- timers and interest ---- */

static int64_t
ticker_next(void *ctx)
{
	JsServer *js = ctx;
	GPtrArray *all = js_streams(js);
	int64_t next = INT64_MAX;
	for (guint k = 0; k < all->len; k++) {
		JsStream *s = all->pdata[k];
		next = MIN(next, js_stream_next_deadline(s));
		GPtrArray *cs = js_stream_consumers(s);
		for (guint j = 0; j < cs->len; j++)
			next = MIN(next, js_consumer_next_deadline(cs->pdata[j]));
	}
	return next;
}

static void
ticker_on_timeout(void *ctx, int64_t now_ns)
{
	JsServer *js = ctx;
	/* Names, not pointers: a timer may delete a consumer (and a delivery
	 * may even reach the API), so everything is looked up again. */
	GPtrArray *all = js_streams(js);
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	for (guint k = 0; k < all->len; k++)
		g_ptr_array_add(names, g_strdup(js_stream_name(all->pdata[k])));
	for (guint k = 0; k < names->len; k++) {
		JsStream *s = js_stream_find(js, names->pdata[k]);
		if (s != NULL && js_stream_next_deadline(s) <= now_ns)
			js_stream_on_timer(s, now_ns);
		s = js_stream_find(js, names->pdata[k]);
		if (s == NULL)
			continue;
		GPtrArray *cs = js_stream_consumers(s);
		GPtrArray *cnames = g_ptr_array_new_with_free_func(g_free);
		for (guint j = 0; j < cs->len; j++)
			g_ptr_array_add(cnames, g_strdup(js_consumer_name(cs->pdata[j])));
		for (guint j = 0; j < cnames->len; j++) {
			s = js_stream_find(js, names->pdata[k]);
			JsConsumer *c = s != NULL ? js_stream_consumer_find(s, cnames->pdata[j]) : NULL;
			if (c != NULL && js_consumer_next_deadline(c) <= now_ns)
				js_consumer_on_timer(c, now_ns);
		}
		g_ptr_array_free(cnames, TRUE);
	}
	g_ptr_array_free(names, TRUE);
}

static void
on_interest(void *ctx, const char *subject, const char *queue)
{
	JsServer *js = ctx;
	GPtrArray *all = js_streams(js);
	for (guint k = 0; k < all->len; k++) {
		GPtrArray *cs = js_stream_consumers(all->pdata[k]);
		for (guint j = 0; j < cs->len; j++)
			js_consumer_on_interest(cs->pdata[j], subject, queue);
	}
}

/* ---- restore at start-up ---- */

static void
restore_consumers(JsServer *js, JsStream *s)
{
	JsStore *store = js_stream_store(s);
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	store->ops->consumer_names(store, names);
	for (guint k = 0; k < names->len; k++) {
		const char *name = names->pdata[k];
		GByteArray *blob = g_byte_array_new();
		JsStoreStatus st = store->ops->consumer_load(store, name, blob);
		char *error = NULL;
		JsConsumer *c = NULL;
		if (st == JS_STORE_OK)
			c = js_consumer_restore(js, s, name, blob->data, blob->len, &error);
		else
			error = g_strdup(js_store_status_str(st));
		if (c == NULL) {
			broker_log(js->broker, BROKER_LOG_ERROR, "JetStream consumer '%s > %s > %s' not restored: %s",
			    JS_ACCOUNT_NAME, js_stream_name(s), name, error != NULL ? error : "unknown error");
		} else if (js_stream_consumer_find(s, name) == NULL) {
			js_stream_consumer_add(s, c);
		}
		g_free(error);
		g_byte_array_free(blob, TRUE);
	}
	g_ptr_array_free(names, TRUE);
}

static void
restore_streams(JsServer *js, int64_t now_ns)
{
	if (js->storage == NULL)
		return;
	GArray *found = g_array_new(FALSE, TRUE, sizeof(JsFoundStream));
	js_filestore_find_streams(js->storage, found);
	for (guint k = 0; k < found->len; k++) {
		JsFoundStream *f = &g_array_index(found, JsFoundStream, k);
		if (f->meta_json == NULL) {
			broker_log(js->broker, BROKER_LOG_ERROR,
			    "JetStream stream '%s > %s' not restored: its configuration is unreadable", JS_ACCOUNT_NAME,
			    f->name);
			continue;
		}
		int64_t sync_interval_ns;
		JsStoreConfig sc = {
			.stream = f->name,
			.sync = js_sync_policy(js, &sync_interval_ns),
		};
		sc.sync_interval_ns = sync_interval_ns;
		char *report = NULL;
		JsStoreStatus status = JS_STORE_OK;
		JsStore *store = js_filestore_open(js->storage, &sc, now_ns, &report, &status);
		if (report != NULL) {
			broker_log(js->broker, BROKER_LOG_WARN, "JetStream stream '%s > %s': %s", JS_ACCOUNT_NAME, f->name,
			    report);
			g_free(report);
		}
		if (store == NULL) {
			broker_log(js->broker, BROKER_LOG_ERROR, "JetStream stream '%s > %s' not restored: %s",
			    JS_ACCOUNT_NAME, f->name, js_store_status_str(status));
			continue;
		}
		char *error = NULL;
		JsStream *s = js_stream_restore(js, f->name, f->meta_json, store, &error);
		if (s == NULL) {
			broker_log(js->broker, BROKER_LOG_ERROR, "JetStream stream '%s > %s' not restored: %s",
			    JS_ACCOUNT_NAME, f->name, error != NULL ? error : "unknown error");
			g_free(error);
			continue;
		}
		broker_probe_hit(js->broker, BROKER_PROBE_JS_RESTORED);
		restore_consumers(js, s);
	}
	for (guint k = 0; k < found->len; k++) {
		JsFoundStream *f = &g_array_index(found, JsFoundStream, k);
		g_free(f->name);
		g_free(f->meta_json);
	}
	g_array_free(found, TRUE);
}

/* ---- lifecycle ---- */

static int
name_cmp(gconstpointer a, gconstpointer b, gpointer data)
{
	(void)data;
	return strcmp(a, b);
}

JsServer *
js_server_create(Broker *broker, const BrokerConfig *config, int64_t now_ns)
{
	ASSERT(broker != NULL && config != NULL);
	JsServer *js = g_new0(JsServer, 1);
	js->broker = broker;
	js->storage = config->storage;
	js->max_memory_bytes = config->js_max_memory_bytes > 0 ? config->js_max_memory_bytes : JS_DEFAULT_MAX_MEMORY;
	js->max_storage_bytes =
	    config->js_max_storage_bytes > 0 ? config->js_max_storage_bytes : JS_DEFAULT_MAX_STORAGE;
	js->store_dir = g_strdup(config->js_store_dir);
	js->sync_always = config->js_sync_always;
	js->sync_interval_ns = config->js_sync_interval_ns > 0 ? config->js_sync_interval_ns : JS_DEFAULT_SYNC_INTERVAL_NS;
	js->server_name = g_strdup(config->server_name != NULL ? config->server_name : broker_server_id(broker));
	js->streams = g_tree_new_full(name_cmp, NULL, NULL, NULL);
	js->api_sub = broker_internal_subscribe(broker, "$JS.API.>", NULL, api_dispatch, js);
	ASSERT(js->api_sub != NULL);
	BrokerTicker ticker = { .next = ticker_next, .on_timeout = ticker_on_timeout, .ctx = js };
	broker_set_ticker(broker, &ticker);
	broker_set_interest_watch(broker, on_interest, js);
	restore_streams(js, now_ns);
	broker_log(broker, BROKER_LOG_INFO, "Starting JetStream (max memory %" G_GINT64_FORMAT ", max storage %" G_GINT64_FORMAT ")",
	    js->max_memory_bytes, js->max_storage_bytes);
	return js;
}

void
js_server_shutdown(JsServer *js)
{
	if (js == NULL)
		return;
	GPtrArray *all = js_streams(js);
	for (guint k = 0; k < all->len; k++) {
		JsStream *s = all->pdata[k];
		GPtrArray *cs = js_stream_consumers(s);
		for (guint j = 0; j < cs->len; j++)
			js_consumer_flush(cs->pdata[j]);
		JsStore *store = js_stream_store(s);
		JsStoreStatus st = store->ops->sync(store);
		if (st != JS_STORE_OK)
			broker_log(js->broker, BROKER_LOG_ERROR, "JetStream stream '%s > %s' not synced at shutdown: %s",
			    JS_ACCOUNT_NAME, js_stream_name(s), js_store_status_str(st));
	}
}

void
js_server_destroy(JsServer *js)
{
	if (js == NULL)
		return;
	broker_set_ticker(js->broker, NULL);
	broker_set_interest_watch(js->broker, NULL, NULL);
	broker_internal_unsubscribe(js->broker, js->api_sub);
	GPtrArray *all = g_ptr_array_copy(js_streams(js), NULL, NULL);
	for (guint k = 0; k < all->len; k++)
		js_stream_free(all->pdata[k]);
	g_ptr_array_free(all, TRUE);
	ASSERT(g_tree_nnodes(js->streams) == 0);
	g_tree_destroy(js->streams);
	if (js->stream_list != NULL)
		g_ptr_array_free(js->stream_list, TRUE);
	g_free(js->store_dir);
	g_free(js->server_name);
	g_free(js);
}

/* ---- monitoring ---- */

static json_t *
server_config_json(JsServer *js)
{
	json_t *c = json_object();
	json_object_set_new(c, "max_memory", json_integer(js->max_memory_bytes));
	json_object_set_new(c, "max_storage", json_integer(js->max_storage_bytes));
	if (js->store_dir != NULL && js->store_dir[0] != '\0')
		json_object_set_new(c, "store_dir", json_string(js->store_dir));
	/* nats-server reports sync_always when set; natsim always syncs. It
	 * always sets compress_ok (server.go enableJetStream). */
	json_object_set_new(c, "sync_always", json_true());
	json_object_set_new(c, "compress_ok", json_true());
	return c;
}

/* JetStreamStats: memory, storage, reserved_*, accounts, ha_assets, api. */
static void
set_usage_stats(JsServer *js, json_t *o, int accounts)
{
	json_object_set_new(o, "memory", json_integer((json_int_t)js_server_used_bytes(js, JS_STORAGE_MEMORY)));
	json_object_set_new(o, "storage", json_integer((json_int_t)js_server_used_bytes(js, JS_STORAGE_FILE)));
	json_object_set_new(o, "reserved_memory", json_integer(0));
	json_object_set_new(o, "reserved_storage", json_integer(0));
	json_object_set_new(o, "accounts", json_integer(accounts));
	json_object_set_new(o, "ha_assets", json_integer(0));
	json_object_set_new(o, "api", api_stats(js));
}

json_t *
js_server_varz(JsServer *js)
{
	json_t *v = json_object();
	json_object_set_new(v, "config", server_config_json(js));
	json_t *stats = json_object();
	set_usage_stats(js, stats, 1);
	json_object_set_new(v, "stats", stats);
	return v;
}

static const char *
arg_get(const BrokerMonitorArg *args, size_t n, const char *key)
{
	for (size_t k = 0; k < n; k++)
		if (strcmp(args[k].key, key) == 0)
			return args[k].value;
	return NULL;
}

/* Go's strconv.ParseBool; an absent or empty value is false. */
static bool
arg_bool(const BrokerMonitorArg *args, size_t n, const char *key, bool *out, char **error)
{
	const char *v = arg_get(args, n, key);
	*out = false;
	if (v == NULL || v[0] == '\0')
		return true;
	static const char *const yes[] = { "1", "t", "T", "TRUE", "true", "True" };
	static const char *const no[] = { "0", "f", "F", "FALSE", "false", "False" };
	for (size_t k = 0; k < G_N_ELEMENTS(yes); k++) {
		if (strcmp(v, yes[k]) == 0) {
			*out = true;
			return true;
		}
		if (strcmp(v, no[k]) == 0)
			return true;
	}
	*error = g_strdup_printf("Error decoding boolean for '%s': strconv.ParseBool: parsing \"%s\": invalid syntax",
	    key, v);
	return false;
}

/* Go's strconv.Atoi; an absent or empty value is 0. */
static bool
arg_int(const BrokerMonitorArg *args, size_t n, const char *key, int64_t *out, char **error)
{
	const char *v = arg_get(args, n, key);
	*out = 0;
	if (v == NULL || v[0] == '\0')
		return true;
	char *end = NULL;
	long long x = strtoll(v, &end, 10);
	if (end == v || *end != '\0' || v[0] == ' ') {
		*error = g_strdup_printf("Error decoding int for '%s': strconv.Atoi: parsing \"%s\": invalid syntax", key,
		    v);
		return false;
	}
	*out = x;
	return true;
}

static json_t *
stream_detail(JsStream *s, bool consumers, bool config)
{
	json_t *d = json_object();
	json_object_set_new(d, "name", json_string(js_stream_name(s)));
	json_object_set_new(d, "created", broker_json_time(js_stream_created_ns(s)));
	json_t *info = js_stream_info_json(s, false);
	json_object_set(d, "cluster", json_object_get(info, "cluster"));
	if (config)
		json_object_set_new(d, "config", js_stream_config_json(s));
	json_object_set(d, "state", json_object_get(info, "state"));
	json_decref(info);
	GPtrArray *cs = js_stream_consumers(s);
	if (consumers && cs->len > 0) {
		json_t *list = json_array();
		for (guint k = 0; k < cs->len; k++)
			json_array_append_new(list, js_consumer_info_json(cs->pdata[k], config));
		json_object_set_new(d, "consumer_detail", list);
	}
	return d;
}

json_t *
js_server_jsz(JsServer *js, const BrokerMonitorArg *args, size_t arg_count, int64_t now_ns, char **error)
{
	bool accounts, streams, consumers, config, leader_only;
	int64_t offset, limit;
	if (!arg_bool(args, arg_count, "accounts", &accounts, error) ||
	    !arg_bool(args, arg_count, "streams", &streams, error) ||
	    !arg_bool(args, arg_count, "consumers", &consumers, error) ||
	    !arg_bool(args, arg_count, "config", &config, error) ||
	    !arg_int(args, arg_count, "offset", &offset, error) || !arg_int(args, arg_count, "limit", &limit, error) ||
	    !arg_bool(args, arg_count, "leader-only", &leader_only, error))
		return NULL;
	const char *acc = arg_get(args, arg_count, "acc");
	if (offset < 0)
		offset = 0;
	if (limit == 0)
		limit = JS_JSZ_LIMIT_DEFAULT;
	if (consumers)
		streams = true;
	bool filtered = acc != NULL && acc[0] != '\0';
	if (streams && !filtered)
		accounts = true;

	/* nats-server monitor.go JSInfo: the usage stats first, then the
	 * server, then the totals. */
	json_t *z = json_object();
	set_usage_stats(js, z, 1);
	json_object_set_new(z, "server_id", json_string(broker_server_id(js->broker)));
	json_object_set_new(z, "now", broker_json_time(now_ns));
	json_object_set_new(z, "config", server_config_json(js));
	GPtrArray *all = js_streams(js);
	uint64_t msgs = 0, bytes = 0;
	for (guint k = 0; k < all->len; k++) {
		JsStoreState st;
		JsStore *store = js_stream_store(all->pdata[k]);
		store->ops->state(store, &st);
		msgs += st.msgs;
		bytes += st.bytes;
	}
	json_object_set_new(z, "streams", json_integer(all->len));
	json_object_set_new(z, "consumers", json_integer((json_int_t)consumer_total(js)));
	json_object_set_new(z, "messages", json_integer((json_int_t)msgs));
	json_object_set_new(z, "bytes", json_integer((json_int_t)bytes));
	/* One account: shown when asked for by name, or with accounts=1
	 * inside the offset/limit window. */
	bool show = filtered ? strcmp(acc, JS_ACCOUNT_NAME) == 0 : accounts && limit > 0 && offset < 1;
	if (show) {
		json_t *d = json_object();
		json_object_set_new(d, "name", json_string(JS_ACCOUNT_NAME));
		json_object_set_new(d, "id", json_string(JS_ACCOUNT_NAME));
		json_t *usage = json_object();
		set_usage_stats(js, usage, 0);
		json_object_set_new(d, "memory", json_incref(json_object_get(usage, "memory")));
		json_object_set_new(d, "storage", json_incref(json_object_get(usage, "storage")));
		json_object_set_new(d, "reserved_memory", json_integer(0));
		json_object_set_new(d, "reserved_storage", json_integer(0));
		json_object_set_new(d, "accounts", json_integer(0));
		json_object_set_new(d, "ha_assets", json_integer(0));
		json_object_set_new(d, "api", api_stats(js));
		json_decref(usage);
		if (streams && all->len > 0) {
			json_t *list = json_array();
			for (guint k = 0; k < all->len; k++)
				json_array_append_new(list, stream_detail(all->pdata[k], consumers, config));
			json_object_set_new(d, "stream_detail", list);
		}
		json_t *details = json_array();
		json_array_append_new(details, d);
		json_object_set_new(z, "account_details", details);
	}
	json_object_set_new(z, "total", json_integer(1));
	return z;
}
