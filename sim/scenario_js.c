/*
 * scenario_js.c - JetStream actions, ack behaviours, expectations and
 * always-on checks of the scenario runner (see scenario_js.h; the language
 * is scenarios/README.md, "JetStream").
 */
#include "sim/scenario_js.h"

#include <jansson.h>
#include <stdarg.h>
#include <string.h>

#include <xxhash.h>

#include "client/js.h"
#include "proto/assert.h"
#include "proto/buf.h"
#include "proto/headers.h"
#include "proto/subject.h"
#include "sim/disk.h"
#include "sim/net.h"

#define JS_API_TIMEOUT_NS INT64_C(5000000000)
#define JS_PUB_TIMEOUT_NS INT64_C(5000000000)
#define CONSUME_RETRY_NS INT64_C(100000000)
#define DEFAULT_ACK_WAIT_NS INT64_C(30000000000)

/* A delivery of a JetStream message to a client, from its ack subject. */
typedef struct JsDlv {
	int64_t at_ns;
	uint32_t client;
	const char *stream;   /* interned */
	const char *consumer; /* interned */
	uint64_t sseq, cseq, dc;
	const char *subject;  /* interned */
	uint64_t hash;        /* of the payload */
	uint32_t len;
	bool headers_only;    /* no payload came (Nats-Msg-Size) */
} JsDlv;

typedef struct JsAckRec {
	int64_t at_ns;
	uint32_t client;
	const char *stream, *consumer; /* interned */
	uint64_t sseq, dc;
	ClientAckKind kind;
	int64_t delay_ns;
} JsAckRec;

typedef struct PubRec {
	int64_t at_ns;
	uint32_t client;
	bool ok;
	bool duplicate;
	const char *stream; /* interned; "" when none */
	uint64_t seq;
	int64_t err_code;
	/* what was published (from the publish with the same id) */
	const char *subject; /* interned; "" when unknown */
	uint64_t hash;
	uint32_t len;
} PubRec;

/* A js-publish waiting for its PubAck, by (client, id). */
typedef struct SentPub {
	const char *subject; /* interned */
	uint64_t hash;
	uint32_t len;
} SentPub;

typedef struct AdvRec {
	int64_t at_ns;
	uint32_t client;
	const char *kind;     /* interned, lower case: max_deliveries, msg_terminated, ... */
	const char *stream;   /* interned */
	const char *consumer; /* interned; "" for stream advisories */
	uint64_t sseq;
} AdvRec;

typedef struct FetchEnd {
	int64_t at_ns;
	uint32_t client;
	int64_t code;
} FetchEnd;

typedef struct LogRec {
	int64_t at_ns;
	const char *node; /* interned */
	char *msg;
} LogRec;

typedef struct ApiCall {
	uint32_t client;
	uint64_t id;
	const ScnAction *action;
	bool done;
} ApiCall;

/* An ack behaviour bound to what it applies to. */
typedef struct AckBinding {
	uint32_t client;
	uint64_t sid;              /* push: the subscription; 0 for pull */
	const char *stream, *consumer; /* pull: interned */
	const ScnAcks *acks;
} AckBinding;

/* A consume loop (or a single fetch). */
typedef struct PullJob {
	ScnJs *js;
	const ScnAction *action;
	uint32_t client;
	uint64_t fetch_id; /* the fetch in flight, 0 when none */
	bool active;
	bool repeat;
	uint64_t incarnation_started; /* unused: a crash ends the loop */
} PullJob;

/* One ack (or WPI) to send later, owned by js->ack_jobs. */
typedef struct AckJob {
	ScnJs *js;
	uint32_t client;
	char *reply;
	ClientAckKind kind;
	int64_t delay_ns;   /* NAK delay */
	char *term_reason;  /* +TERM <reason> sent raw */
	bool sync;
	/* progress: WPIs left, then an ACK */
	int64_t every_ns;
	int64_t until_ns;
	const char *stream, *consumer;
	uint64_t sseq, dc;
} AckJob;

typedef struct PubJob {
	ScnJs *js;
	const ScnAction *action;
	uint64_t next;
} PubJob;

typedef struct ConsumerDecl {
	const char *stream, *consumer; /* interned */
	const ScnAction *action;       /* the last successful add */
} ConsumerDecl;

struct ScnJs {
	ScnJsHost host;
	GHashTable *interned;
	GArray *dlvs;      /* JsDlv */
	GArray *acks;      /* JsAckRec */
	GArray *pubs;      /* PubRec */
	GArray *advs;      /* AdvRec */
	GArray *fetches;   /* FetchEnd */
	GArray *logs;      /* LogRec */
	GPtrArray *calls;  /* ApiCall* */
	GPtrArray *bindings; /* AckBinding* */
	GPtrArray *pull_jobs; /* PullJob* */
	GPtrArray *ack_jobs;  /* AckJob* (freed at the end: node events may be dropped) */
	GPtrArray *pub_jobs;  /* PubJob* */
	GPtrArray *consumers; /* ConsumerDecl* */
	GHashTable *sent;     /* (client << 40 | id) -> SentPub*, looked up only */
	GHashTable *info_results; /* expect index + 1 -> char* problem ("" ok) */
	bool broker_crashed;
};

/* ---- helpers ---- */

static const char *
intern(ScnJs *js, const char *s)
{
	if (s == NULL)
		s = "";
	char *v = g_hash_table_lookup(js->interned, s);
	if (v == NULL) {
		v = g_strdup(s);
		g_hash_table_add(js->interned, v);
	}
	return v;
}

static void G_GNUC_PRINTF(5, 6)
jfail(ScnJs *js, ScnPos pos, const char *what, int64_t at_ns, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	js->host.fail(js->host.ctx, pos, what, at_ns, msg);
	g_free(msg);
}

static int64_t
now(ScnJs *js)
{
	return sim_world_now_ns(js->host.world);
}

static SimClientNode *
node_of(ScnJs *js, uint32_t client)
{
	return js->host.client_node(js->host.ctx, client);
}

static const ScnClient *
client_decl(ScnJs *js, uint32_t client)
{
	return js->host.scn->clients->pdata[client];
}

static const char *
client_name(ScnJs *js, uint32_t client)
{
	return client_decl(js, client)->name;
}

static char *
fmt_time(int64_t ns)
{
	return scenario_format_duration(ns);
}

/* "at 1.5s": how a failure names the timeline line it is about. */
static char *
at_what(int64_t ns)
{
	char *d = scenario_format_duration(ns);
	char *w = g_strdup_printf("at %s", d);
	g_free(d);
	return w;
}

static void
action_failed(ScnJs *js, const ScnAction *a, uint32_t client, const char *why)
{
	char *what = at_what(a->at_ns);
	jfail(js, a->pos, what, now(js), "%s could not do it: %s", client_name(js, client), why);
	g_free(what);
}

static const ConsumerDecl *
consumer_decl(ScnJs *js, const char *stream, const char *consumer)
{
	for (guint k = js->consumers->len; k-- > 0;) {
		ConsumerDecl *d = js->consumers->pdata[k];
		if (strcmp(d->stream, stream) == 0 && strcmp(d->consumer, consumer) == 0)
			return d;
	}
	return NULL;
}

static int64_t
cfg_int(const json_t *config, const char *key, int64_t dflt)
{
	json_t *v = config ? json_object_get(config, key) : NULL;
	return json_is_integer(v) ? (int64_t)json_integer_value(v) : dflt;
}

static const char *
cfg_str(const json_t *config, const char *key, const char *dflt)
{
	json_t *v = config ? json_object_get(config, key) : NULL;
	return json_is_string(v) ? json_string_value(v) : dflt;
}

/* ---- actions ---- */

bool
scn_js_handles_action(ScnActionKind kind)
{
	switch (kind) {
	case SCN_ACT_JS_PUBLISH:
	case SCN_ACT_STREAM_ADD:
	case SCN_ACT_STREAM_UPDATE:
	case SCN_ACT_STREAM_DELETE:
	case SCN_ACT_STREAM_PURGE:
	case SCN_ACT_CONSUMER_ADD:
	case SCN_ACT_CONSUMER_DELETE:
	case SCN_ACT_FETCH:
	case SCN_ACT_CONSUME:
	case SCN_ACT_STOP:
	case SCN_ACT_SUBSCRIBE_PUSH:
	case SCN_ACT_CORRUPT:
	case SCN_ACT_DISK_FAIL:
		return true;
	default:
		return false;
	}
}

static void
api_call(ScnJs *js, const ScnAction *a, uint32_t client, const char *api, const json_t *body)
{
	uint64_t id = 0;
	ClientStatus st = sim_client_node_js_api(node_of(js, client), api, body, JS_API_TIMEOUT_NS, &id);
	if (st != CLIENT_OK) {
		action_failed(js, a, client, client_status_str(st));
		return;
	}
	ApiCall *c = g_new0(ApiCall, 1);
	c->client = client;
	c->id = id;
	c->action = a;
	g_ptr_array_add(js->calls, c);
}

/* The payload of publish number i (1-based), as `publish` makes them. */
static char *
payload_of(const ScnAction *a, const char *actor, uint64_t i, size_t *len)
{
	char *payload;
	if (a->payload == NULL) {
		payload = g_strdup_printf("%s-%" G_GUINT64_FORMAT, actor, i);
		*len = strlen(payload);
	} else if (a->count > 1) {
		GString *s = g_string_new_len(a->payload, (gssize)a->payload_len);
		g_string_append_printf(s, "-%" G_GUINT64_FORMAT, i);
		*len = s->len;
		payload = g_string_free(s, FALSE);
	} else {
		payload = g_memdup2(a->payload, a->payload_len + 1);
		*len = a->payload_len;
	}
	if (a->size > *len) {
		payload = g_realloc(payload, a->size + 1);
		memset(payload + *len, '.', a->size - *len);
		payload[a->size] = '\0';
		*len = a->size;
	}
	return payload;
}

/* Header block for publish i: a msg-id of a repeated publish gets "-i". */
static GByteArray *
headers_of(const ScnAction *a, uint64_t i)
{
	if (a->headers == NULL)
		return NULL;
	ProtoBuf buf;
	proto_buf_init(&buf);
	proto_headers_start(&buf, 0, NULL);
	for (guint k = 0; k < a->headers->len; k++) {
		ScnHeader *h = &g_array_index(a->headers, ScnHeader, k);
		if (a->count > 1 && strcmp(h->key, "Nats-Msg-Id") == 0) {
			char *v = g_strdup_printf("%s-%" G_GUINT64_FORMAT, h->value, i);
			proto_headers_add(&buf, h->key, v, strlen(v));
			g_free(v);
		} else {
			proto_headers_add(&buf, h->key, h->value, strlen(h->value));
		}
	}
	proto_headers_finish(&buf);
	GByteArray *out = g_byte_array_new();
	g_byte_array_append(out, proto_buf_peek(&buf), (guint)proto_buf_pending(&buf));
	proto_buf_deinit(&buf);
	return out;
}

static void
js_publish_one(ScnJs *js, const ScnAction *a, uint64_t i)
{
	GByteArray *hdrs = headers_of(a, i);
	for (guint k = 0; k < a->actors->len; k++) {
		const char *name = a->actors->pdata[k];
		uint32_t client = js->host.client_index(js->host.ctx, name);
		SimClientNode *node = node_of(js, client);
		if (!sim_node_up(sim_client_node_sim(node)))
			continue;
		size_t len;
		char *payload = payload_of(a, name, i, &len);
		ClientJsPubOptions o = CLIENT_JS_PUB_OPTIONS_INIT;
		if (hdrs != NULL) {
			o.headers = hdrs->data;
			o.headers_len = hdrs->len;
		}
		uint64_t id = 0;
		ClientStatus st = sim_client_node_js_publish(node, a->subject, payload, len, &o, JS_PUB_TIMEOUT_NS, &id);
		if (st == CLIENT_OK) {
			SentPub *sp = g_new(SentPub, 1);
			*sp = (SentPub){ intern(js, a->subject), XXH3_64bits(payload, len), (uint32_t)len };
			uint64_t *key = g_new(uint64_t, 1);
			*key = (uint64_t)client << 40 | id;
			g_hash_table_replace(js->sent, key, sp);
		}
		if (st == CLIENT_ERR_LIMIT || st == CLIENT_ERR_BUFFER_FULL || st == CLIENT_ERR_CLOSED ||
		    st == CLIENT_ERR_CONNECTION_LOST) {
			/* the broker is away or the PubAck window is full: a publish
			 * that was not acknowledged, as it would be for a real client */
			PubRec r = { now(js), client, false, false, intern(js, ""), 0, 0, intern(js, ""), 0, 0 };
			g_array_append_val(js->pubs, r);
		} else if (st != CLIENT_OK) {
			action_failed(js, a, client, client_status_str(st));
		}
		g_free(payload);
	}
	if (hdrs != NULL)
		g_byte_array_free(hdrs, TRUE);
}

static void
pub_event(void *ctx, uint64_t arg)
{
	(void)arg;
	PubJob *job = ctx;
	js_publish_one(job->js, job->action, job->next);
	if (job->next < job->action->count) {
		job->next++;
		sim_world_at(job->js->host.world, now(job->js) + job->action->interval_ns, pub_event, job, 0);
	}
}

static void start_fetch(PullJob *job);

static void
fetch_retry_event(void *ctx, uint64_t arg)
{
	(void)arg;
	start_fetch(ctx);
}

static void
start_fetch(PullJob *job)
{
	ScnJs *js = job->js;
	const ScnAction *a = job->action;
	if (!job->active)
		return;
	if (a->until_ns > 0 && now(js) >= a->until_ns) {
		job->active = false;
		return;
	}
	SimClientNode *node = node_of(js, job->client);
	if (!sim_node_up(sim_client_node_sim(node))) {
		job->active = false; /* a crashed client stops consuming */
		return;
	}
	ClientFetchOptions o = { 0 };
	o.batch = (uint32_t)cfg_int(a->config, "batch", 1);
	o.expires_ns = cfg_int(a->config, "expires", 0);
	json_t *nw = json_object_get(a->config, "no_wait");
	o.no_wait = nw != NULL && json_is_true(nw);
	o.max_bytes = cfg_int(a->config, "max_bytes", 0);
	o.idle_heartbeat_ns = cfg_int(a->config, "idle_heartbeat", 0);
	ClientStatus st = sim_client_node_fetch(node, a->stream, a->consumer, &o, &job->fetch_id);
	if (st == CLIENT_OK)
		return;
	job->fetch_id = 0;
	if (job->repeat) {
		/* not connected yet, or the connection is being rebuilt: try again */
		sim_node_at(sim_client_node_sim(node), now(js) + CONSUME_RETRY_NS, fetch_retry_event, job, 0);
		return;
	}
	job->active = false;
	action_failed(js, a, job->client, client_status_str(st));
}

static void
bind_acks(ScnJs *js, uint32_t client, uint64_t sid, const char *stream, const char *consumer, const ScnAcks *acks)
{
	/* the newest binding wins: drop an older one for the same target */
	for (guint k = 0; k < js->bindings->len; k++) {
		AckBinding *b = js->bindings->pdata[k];
		if (b->client == client && b->sid == sid && g_strcmp0(b->stream, stream) == 0 &&
		    g_strcmp0(b->consumer, consumer) == 0) {
			b->acks = acks;
			return;
		}
	}
	AckBinding *b = g_new0(AckBinding, 1);
	b->client = client;
	b->sid = sid;
	b->stream = stream;
	b->consumer = consumer;
	b->acks = acks;
	g_ptr_array_add(js->bindings, b);
}

void
scn_js_client_action(ScnJs *js, const ScnAction *a, uint32_t client)
{
	SimClientNode *node = node_of(js, client);
	char *api = NULL;
	switch (a->kind) {
	case SCN_ACT_JS_PUBLISH:
		UNREACHABLE(); /* all actors at once: scn_js_publish */
	case SCN_ACT_STREAM_ADD:
		api = g_strdup_printf("STREAM.CREATE.%s", a->stream);
		api_call(js, a, client, api, a->config);
		break;
	case SCN_ACT_STREAM_UPDATE:
		api = g_strdup_printf("STREAM.UPDATE.%s", a->stream);
		api_call(js, a, client, api, a->config);
		break;
	case SCN_ACT_STREAM_DELETE:
		api = g_strdup_printf("STREAM.DELETE.%s", a->stream);
		api_call(js, a, client, api, NULL);
		break;
	case SCN_ACT_STREAM_PURGE:
		api = g_strdup_printf("STREAM.PURGE.%s", a->stream);
		api_call(js, a, client, api, json_object_size(a->config) ? a->config : NULL);
		break;
	case SCN_ACT_CONSUMER_ADD: {
		api = g_strdup_printf("CONSUMER.CREATE.%s.%s", a->stream, a->consumer);
		json_t *body = json_pack("{s:s,s:O}", "stream_name", a->stream, "config", a->config);
		api_call(js, a, client, api, body);
		json_decref(body);
		break;
	}
	case SCN_ACT_CONSUMER_DELETE:
		api = g_strdup_printf("CONSUMER.DELETE.%s.%s", a->stream, a->consumer);
		api_call(js, a, client, api, NULL);
		break;
	case SCN_ACT_FETCH:
	case SCN_ACT_CONSUME: {
		PullJob *job = g_new0(PullJob, 1);
		job->js = js;
		job->action = a;
		job->client = client;
		job->active = true;
		job->repeat = a->kind == SCN_ACT_CONSUME;
		g_ptr_array_add(js->pull_jobs, job);
		bind_acks(js, client, 0, intern(js, a->stream), intern(js, a->consumer), &a->acks);
		start_fetch(job);
		break;
	}
	case SCN_ACT_STOP:
		for (guint k = 0; k < js->pull_jobs->len; k++) {
			PullJob *job = js->pull_jobs->pdata[k];
			if (job->client == client && strcmp(job->action->stream, a->stream) == 0 &&
			    strcmp(job->action->consumer, a->consumer) == 0)
				job->active = false;
		}
		break;
	case SCN_ACT_SUBSCRIBE_PUSH: {
		uint64_t sid = 0;
		ClientStatus st = sim_client_node_push_subscribe(node, a->subject, a->queue, a->duration_ns, &sid);
		if (st != CLIENT_OK)
			action_failed(js, a, client, client_status_str(st));
		else
			bind_acks(js, client, sid, NULL, NULL, &a->acks);
		break;
	}
	default:
		UNREACHABLE();
	}
	g_free(api);
}

void
scn_js_publish(ScnJs *js, const ScnAction *a)
{
	PubJob *job = g_new0(PubJob, 1);
	job->js = js;
	job->action = a;
	job->next = 1;
	g_ptr_array_add(js->pub_jobs, job);
	pub_event(job, 0);
}

void
scn_js_fault(ScnJs *js, const ScnAction *a)
{
	SimNode *node = sim_world_node(js->host.world, a->actors->pdata[0]);
	ASSERT(node != NULL);
	SimDisk *disk = sim_node_disk(node);
	if (a->kind == SCN_ACT_CORRUPT) {
		for (uint64_t k = 0; k < a->count; k++)
			sim_disk_flip_random(disk);
		sim_node_trace(node, "disk.corrupt", TRACE_INT("bits", (int64_t)a->count));
	} else {
		sim_disk_fail_next(disk, SIM_DISK_OP_WRITE, BROKER_STORAGE_IO, (uint32_t)MIN(a->count, UINT32_MAX));
		sim_node_trace(node, "disk.fail_next", TRACE_INT("writes", (int64_t)a->count));
	}
}

/* ---- ack behaviours ---- */

static void ack_event(void *ctx, uint64_t arg);

static void
record_ack(ScnJs *js, const AckJob *job, ClientAckKind kind)
{
	JsAckRec r = { now(js), job->client, job->stream, job->consumer, job->sseq, job->dc, kind,
		kind == CLIENT_ACK_NAK ? job->delay_ns : 0 };
	g_array_append_val(js->acks, r);
}

static void
send_ack(ScnJs *js, AckJob *job, ClientAckKind kind)
{
	SimClientNode *node = node_of(js, job->client);
	ClientStatus st;
	if (kind == CLIENT_ACK_TERM && job->term_reason != NULL) {
		char *body = g_strdup_printf("+TERM %s", job->term_reason);
		st = sim_client_node_publish(node, job->reply, NULL, NULL, 0, body, strlen(body));
		g_free(body);
	} else if (job->sync) {
		st = sim_client_node_ack_sync(node, job->reply, kind, 0, JS_API_TIMEOUT_NS, NULL);
	} else {
		st = sim_client_node_ack(node, job->reply, kind, kind == CLIENT_ACK_NAK ? job->delay_ns : 0);
	}
	if (st == CLIENT_OK)
		record_ack(js, job, kind);
}

static void
ack_event(void *ctx, uint64_t arg)
{
	AckJob *job = ctx;
	ScnJs *js = job->js;
	if (job->every_ns > 0 && now(js) < job->until_ns) {
		send_ack(js, job, CLIENT_ACK_PROGRESS);
		int64_t next = MIN(now(js) + job->every_ns, job->until_ns);
		sim_node_at(sim_client_node_sim(node_of(js, job->client)), next, ack_event, job, arg);
		return;
	}
	send_ack(js, job, (ClientAckKind)arg);
}

static const ScnAcks *
acks_for(ScnJs *js, uint32_t client, uint64_t sid, const char *stream, const char *consumer)
{
	for (guint k = 0; k < js->bindings->len; k++) {
		AckBinding *b = js->bindings->pdata[k];
		if (b->client == client && b->sid != 0 && b->sid == sid)
			return b->acks;
	}
	for (guint k = 0; k < js->bindings->len; k++) {
		AckBinding *b = js->bindings->pdata[k];
		if (b->client == client && b->sid == 0 && b->stream == stream && b->consumer == consumer)
			return b->acks;
	}
	return NULL;
}

static void
apply_acks(ScnJs *js, uint32_t client, const ClientMsg *msg, const JsDlv *d)
{
	const ScnAcks *acks = acks_for(js, client, msg->sid, d->stream, d->consumer);
	static const ScnAcks deflt = { .mode = SCN_ACKS_NOW };
	if (acks == NULL)
		acks = &deflt;
	ClientAckKind kind = CLIENT_ACK_ACK;
	int64_t at = now(js);
	switch (acks->mode) {
	case SCN_ACKS_NEVER:
		return;
	case SCN_ACKS_NOW:
	case SCN_ACKS_SYNC:
		break;
	case SCN_ACKS_AFTER:
		at += acks->delay_ns;
		break;
	case SCN_ACKS_NAK:
		if (acks->first == 0 || d->dc <= acks->first)
			kind = CLIENT_ACK_NAK;
		break;
	case SCN_ACKS_TERM:
		if (acks->on_delivery > 0) {
			if (d->dc < acks->on_delivery)
				return; /* left to redeliver */
			if (d->dc == acks->on_delivery && (acks->seq == 0 || acks->seq == d->sseq))
				kind = CLIENT_ACK_TERM;
		} else if (acks->seq == 0 || acks->seq == d->sseq) {
			kind = CLIENT_ACK_TERM;
		}
		break;
	case SCN_ACKS_PROGRESS:
		break;
	}
	AckJob *job = g_new0(AckJob, 1);
	job->js = js;
	job->client = client;
	job->reply = g_strndup(msg->reply, msg->reply_len);
	job->kind = kind;
	job->delay_ns = kind == CLIENT_ACK_NAK ? acks->delay_ns : 0;
	job->term_reason = kind == CLIENT_ACK_TERM ? g_strdup(acks->reason) : NULL;
	job->sync = acks->mode == SCN_ACKS_SYNC;
	job->stream = d->stream;
	job->consumer = d->consumer;
	job->sseq = d->sseq;
	job->dc = d->dc;
	if (acks->mode == SCN_ACKS_PROGRESS) {
		job->every_ns = acks->delay_ns;
		job->until_ns = at + acks->for_ns;
		at += MIN(acks->delay_ns, acks->for_ns);
	}
	g_ptr_array_add(js->ack_jobs, job);
	/* never from inside the node's own callback: a new event, even at once */
	sim_node_at(sim_client_node_sim(node_of(js, client)), at, ack_event, job, kind);
}

/* ---- what the clients saw ---- */

void
scn_js_on_msg(ScnJs *js, uint32_t client, const ClientMsg *msg)
{
	if (msg->status != 0)
		return;
	if (msg->reply != NULL && msg->reply_len > 8 && memcmp(msg->reply, "$JS.ACK.", 8) == 0) {
		char *reply = g_strndup(msg->reply, msg->reply_len);
		ClientJsMeta meta;
		if (client_js_meta_parse(reply, &meta) == CLIENT_OK) {
			char subject[256];
			g_snprintf(subject, sizeof(subject), "%.*s", (int)MIN(msg->subject_len, 255), msg->subject);
			char size[32];
			JsDlv d = { now(js), client, intern(js, meta.stream), intern(js, meta.consumer), meta.stream_seq,
				meta.consumer_seq, meta.delivered, intern(js, subject), XXH3_64bits(msg->data, msg->data_len),
				(uint32_t)msg->data_len, client_msg_header(msg, "Nats-Msg-Size", size, sizeof(size)) };
			g_array_append_val(js->dlvs, d);
			apply_acks(js, client, msg, &d);
		}
		g_free(reply);
		return;
	}
	static const char prefix[] = "$JS.EVENT.ADVISORY.";
	if (msg->subject_len > sizeof(prefix) - 1 && memcmp(msg->subject, prefix, sizeof(prefix) - 1) == 0) {
		/* $JS.EVENT.ADVISORY.CONSUMER.<KIND>.<stream>.<consumer> or
		 * $JS.EVENT.ADVISORY.STREAM.<KIND>.<stream> */
		char *subject = g_strndup(msg->subject, msg->subject_len);
		char **t = g_strsplit(subject, ".", -1);
		guint n = g_strv_length(t);
		if (n >= 6 && (strcmp(t[3], "CONSUMER") == 0 || strcmp(t[3], "STREAM") == 0)) {
			char *kind = g_ascii_strdown(t[4], -1);
			bool consumer = strcmp(t[3], "CONSUMER") == 0;
			char *name = !consumer ? g_strconcat("stream_", kind, NULL)
			    : strcmp(kind, "created") == 0 || strcmp(kind, "deleted") == 0 ? g_strconcat("consumer_", kind, NULL)
			    : g_strdup(kind);
			json_t *body = json_loadb((const char *)msg->data, msg->data_len, 0, NULL);
			AdvRec r = { now(js), client, intern(js, name), intern(js, t[5]),
				intern(js, consumer && n >= 7 ? t[6] : ""), (uint64_t)cfg_int(body, "stream_seq", 0) };
			g_free(name);
			g_array_append_val(js->advs, r);
			json_decref(body);
			g_free(kind);
		}
		g_strfreev(t);
		g_free(subject);
	}
}

void
scn_js_on_trace(ScnJs *js, uint32_t client, const SimTraceEvent *ev)
{
	const char *kind = ev->kind;
	if (strcmp(kind, "broker.log") == 0) {
		LogRec r = { ev->t_ns, intern(js, ev->node), g_strdup(sim_trace_event_str(ev, "msg")) };
		g_array_append_val(js->logs, r);
		return;
	}
	if (strcmp(kind, "node.crash") == 0) {
		for (guint k = 0; k < js->host.scn->brokers->len; k++)
			if (strcmp(((ScnBroker *)js->host.scn->brokers->pdata[k])->name, ev->node) == 0)
				js->broker_crashed = true;
		return;
	}
	if (client == UINT32_MAX)
		return;
	if (strcmp(kind, "client.puback") == 0) {
		bool ok = strcmp(sim_trace_event_str(ev, "status"), client_status_str(CLIENT_OK)) == 0;
		uint64_t key = (uint64_t)client << 40 | (uint64_t)sim_trace_event_int(ev, "id");
		const SentPub *sp = g_hash_table_lookup(js->sent, &key);
		PubRec r = { ev->t_ns, client, ok, sim_trace_event_int(ev, "duplicate") != 0,
			intern(js, sim_trace_event_str(ev, "stream")), (uint64_t)sim_trace_event_int(ev, "seq"),
			sim_trace_event_int(ev, "err_code"), sp ? sp->subject : intern(js, ""), sp ? sp->hash : 0,
			sp ? sp->len : 0 };
		g_array_append_val(js->pubs, r);
	} else if (strcmp(kind, "client.js") == 0) {
		uint64_t id = (uint64_t)sim_trace_event_int(ev, "id");
		for (guint k = 0; k < js->calls->len; k++) {
			ApiCall *c = js->calls->pdata[k];
			if (c->client != client || c->id != id || c->done)
				continue;
			c->done = true;
			const ScnAction *a = c->action;
			const char *status = sim_trace_event_str(ev, "status");
			int64_t err_code = sim_trace_event_int(ev, "err_code");
			bool ok = strcmp(status, client_status_str(CLIENT_OK)) == 0;
			char *what = at_what(a->at_ns);
			if (a->fails_code != 0 && err_code != a->fails_code)
				jfail(js, a->pos, what, ev->t_ns, "%s wanted err_code %u, got %s (err_code %" G_GINT64_FORMAT ")",
				    client_name(js, client), a->fails_code, status, err_code);
			else if (a->fails_code == 0 && !ok)
				jfail(js, a->pos, what, ev->t_ns, "%s's API call failed: %s (err_code %" G_GINT64_FORMAT ")",
				    client_name(js, client), status, err_code);
			g_free(what);
			if (ok && a->kind == SCN_ACT_CONSUMER_ADD) {
				ConsumerDecl *d = g_new0(ConsumerDecl, 1);
				d->stream = intern(js, a->stream);
				d->consumer = intern(js, a->consumer);
				d->action = a;
				g_ptr_array_add(js->consumers, d);
			}
		}
	} else if (strcmp(kind, "client.fetch.done") == 0) {
		uint64_t id = (uint64_t)sim_trace_event_int(ev, "id");
		FetchEnd r = { ev->t_ns, client, sim_trace_event_int(ev, "code") };
		g_array_append_val(js->fetches, r);
		for (guint k = 0; k < js->pull_jobs->len; k++) {
			PullJob *job = js->pull_jobs->pdata[k];
			if (job->client != client || job->fetch_id != id)
				continue;
			job->fetch_id = 0;
			if (job->repeat && job->active)
				sim_node_at(sim_client_node_sim(node_of(js, client)), ev->t_ns, fetch_retry_event, job, 0);
			else
				job->active = false;
		}
	}
}

/* ---- expectations ---- */

bool
scn_js_handles_expect(ScnExpectKind kind)
{
	return kind >= SCN_EXP_JS_GETS_SEQ && kind <= SCN_EXP_BROKER_LOG;
}

/* The stream's (or consumer's) entry of /jsz with every detail; NULL with
 * *problem when it is not there. Returns a new reference. */
static json_t *
jsz_entry(ScnJs *js, const ScnExpect *e, char **problem)
{
	Broker *broker = js->host.broker(js->host.ctx, e->node);
	if (broker == NULL) {
		*problem = g_strdup_printf("%s is down", e->node);
		return NULL;
	}
	static const BrokerMonitorArg args[] = { { "accounts", "true" }, { "streams", "true" },
		{ "consumers", "true" }, { "config", "true" } };
	int status;
	const char *type;
	SimNode *node = sim_world_node(js->host.world, e->node);
	char *body = broker_monitor(broker, "/jsz", args, G_N_ELEMENTS(args), NULL, sim_node_clock_ns(node), &status,
	    &type);
	json_t *root = json_loads(body, 0, NULL);
	g_free(body);
	json_t *found = NULL;
	json_t *accounts = json_object_get(root, "account_details");
	size_t i, j, k;
	json_t *acc, *st, *co;
	json_array_foreach(accounts, i, acc) {
		json_array_foreach(json_object_get(acc, "stream_detail"), j, st) {
			if (g_strcmp0(json_string_value(json_object_get(st, "name")), e->stream) != 0)
				continue;
			if (e->kind == SCN_EXP_JS_STREAM_INFO) {
				found = json_incref(st);
				continue;
			}
			json_array_foreach(json_object_get(st, "consumer_detail"), k, co) {
				if (g_strcmp0(json_string_value(json_object_get(co, "name")), e->consumer) == 0)
					found = json_incref(co);
			}
		}
	}
	json_decref(root);
	if (found == NULL)
		*problem = e->kind == SCN_EXP_JS_STREAM_INFO ? g_strdup_printf("there is no stream %s", e->stream)
		                                             : g_strdup_printf("there is no consumer %s on %s", e->consumer,
		                                                   e->stream);
	return found;
}

static char *
info_check(ScnJs *js, const ScnExpect *e)
{
	char *problem = NULL;
	json_t *entry = jsz_entry(js, e, &problem);
	if (entry == NULL)
		return problem;
	json_t *v = scn_json_path(entry, e->path);
	problem = v == NULL ? g_strdup_printf("it has no %s", e->path) : scn_expect_value_check(e, v);
	json_decref(entry);
	return problem;
}

static void
info_event(void *ctx, uint64_t arg)
{
	ScnJs *js = ctx;
	const ScnExpect *e = js->host.scn->expects->pdata[arg];
	char *problem = info_check(js, e);
	g_hash_table_insert(js->info_results, GUINT_TO_POINTER((guint)arg + 1), problem ? problem : g_strdup(""));
}

static uint32_t
expect_client(ScnJs *js, const ScnExpect *e, guint k)
{
	return js->host.client_index(js->host.ctx, e->clients->pdata[k]);
}

static bool
count_ok(const ScnExpect *e, uint64_t n)
{
	return e->has_times ? n == e->times : n > 0;
}

/* Every publish acknowledged into stream (ok, not a duplicate). */
static GHashTable *
acked_seqs(ScnJs *js, const char *stream)
{
	GHashTable *set = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
	for (guint k = 0; k < js->pubs->len; k++) {
		PubRec *p = &g_array_index(js->pubs, PubRec, k);
		if (p->ok && !p->duplicate && strcmp(p->stream, stream) == 0) {
			int64_t *seq = g_new(int64_t, 1);
			*seq = (int64_t)p->seq;
			g_hash_table_add(set, seq);
		}
	}
	return set;
}

static gint
cmp_u64(gconstpointer a, gconstpointer b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

void
scn_js_check_expectation(ScnJs *js, guint index)
{
	const ScnExpect *e = js->host.scn->expects->pdata[index];
	uint32_t c = e->clients->len ? expect_client(js, e, 0) : UINT32_MAX;
	switch (e->kind) {
	case SCN_EXP_JS_GETS_SEQ: {
		uint64_t n = 0;
		GString *seen = g_string_new(NULL);
		for (guint k = 0; k < js->dlvs->len; k++) {
			JsDlv *d = &g_array_index(js->dlvs, JsDlv, k);
			if (d->client != c || strcmp(d->stream, e->stream) != 0 || d->sseq != e->seq)
				continue;
			if (seen->len < 300) {
				char *t = fmt_time(d->at_ns);
				g_string_append_printf(seen, "%sdelivery %" G_GUINT64_FORMAT " at %s", seen->len ? ", " : "", d->dc, t);
				g_free(t);
			}
			n += (e->delivery == 0 || d->dc == e->delivery) && scn_expect_time_ok(e, d->at_ns);
		}
		if (!count_ok(e, n))
			jfail(js, e->pos, e->text, -1, "matched %" G_GUINT64_FORMAT " time(s); %s got seq %" G_GUINT64_FORMAT
			    ": %s", n, client_name(js, c), e->seq, seen->len ? seen->str : "never");
		g_string_free(seen, TRUE);
		break;
	}
	case SCN_EXP_JS_GETS_COUNT: {
		uint64_t n = 0;
		GArray *seqs = g_array_new(FALSE, FALSE, sizeof(uint64_t));
		for (guint k = 0; k < js->dlvs->len; k++) {
			JsDlv *d = &g_array_index(js->dlvs, JsDlv, k);
			if (d->client != c || strcmp(d->stream, e->stream) != 0)
				continue;
			if (strcmp(e->name, "messages") == 0)
				g_array_append_val(seqs, d->sseq);
			else
				n += strcmp(e->name, "deliveries") == 0 || d->dc > 1;
		}
		if (seqs->len > 0) {
			g_array_sort(seqs, cmp_u64);
			for (guint k = 0; k < seqs->len; k++)
				n += k == 0 || g_array_index(seqs, uint64_t, k) != g_array_index(seqs, uint64_t, k - 1);
		}
		g_array_free(seqs, TRUE);
		if (n < e->lo || n > e->hi)
			jfail(js, e->pos, e->text, -1, "%s got %" G_GUINT64_FORMAT " %s of %s", client_name(js, c), n, e->name,
			    e->stream);
		break;
	}
	case SCN_EXP_JS_ALL: {
		GHashTable *acked = acked_seqs(js, e->stream);
		GHashTable *got = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
		for (guint k = 0; k < js->dlvs->len; k++) {
			JsDlv *d = &g_array_index(js->dlvs, JsDlv, k);
			bool mine = false;
			for (guint x = 0; x < e->clients->len && !mine; x++)
				mine = expect_client(js, e, x) == d->client;
			if (!mine || strcmp(d->stream, e->stream) != 0)
				continue;
			int64_t key = (int64_t)d->sseq;
			gpointer v = g_hash_table_lookup(got, &key);
			int64_t *kk = g_new(int64_t, 1);
			*kk = key;
			g_hash_table_replace(got, kk, GSIZE_TO_POINTER(GPOINTER_TO_SIZE(v) + 1));
		}
		uint64_t missing = 0, twice = 0, first_missing = 0, first_twice = 0;
		GList *keys = g_hash_table_get_keys(acked);
		keys = g_list_sort(keys, cmp_u64);
		for (GList *l = keys; l != NULL; l = l->next) {
			size_t n = GPOINTER_TO_SIZE(g_hash_table_lookup(got, l->data));
			uint64_t seq = (uint64_t)*(int64_t *)l->data;
			if (n == 0 && missing++ == 0)
				first_missing = seq;
			if (n > 1 && !e->at_least_once && twice++ == 0)
				first_twice = seq;
		}
		g_list_free(keys);
		if (missing > 0 || twice > 0)
			jfail(js, e->pos, e->text, -1, "%u acknowledged publish(es) to %s: %" G_GUINT64_FORMAT
			    " never delivered (first seq %" G_GUINT64_FORMAT "), %" G_GUINT64_FORMAT
			    " delivered more than once (first seq %" G_GUINT64_FORMAT ")", g_hash_table_size(acked), e->stream,
			    missing, first_missing, twice, first_twice);
		g_hash_table_destroy(acked);
		g_hash_table_destroy(got);
		break;
	}
	case SCN_EXP_JS_PUBACKS: {
		uint64_t ok = 0, dups = 0;
		for (guint k = 0; k < js->pubs->len; k++) {
			PubRec *p = &g_array_index(js->pubs, PubRec, k);
			if (p->client == c && p->ok) {
				ok++;
				dups += p->duplicate;
			}
		}
		if (ok != e->lo || (e->has_times && dups != e->times))
			jfail(js, e->pos, e->text, -1, "%s got %" G_GUINT64_FORMAT " PubAcks, %" G_GUINT64_FORMAT " of them duplicates",
			    client_name(js, c), ok, dups);
		break;
	}
	case SCN_EXP_JS_PUBLISH_FAILS: {
		uint64_t n = 0;
		GString *codes = g_string_new(NULL);
		for (guint k = 0; k < js->pubs->len; k++) {
			PubRec *p = &g_array_index(js->pubs, PubRec, k);
			if (p->client != c || p->ok)
				continue;
			n += (uint64_t)p->err_code == e->lo;
			if (codes->len < 200)
				g_string_append_printf(codes, "%s%" G_GINT64_FORMAT, codes->len ? ", " : "", p->err_code);
		}
		if (!count_ok(e, n))
			jfail(js, e->pos, e->text, -1, "%s's publishes failed with err_codes: %s", client_name(js, c),
			    codes->len ? codes->str : "none");
		g_string_free(codes, TRUE);
		break;
	}
	case SCN_EXP_JS_ADVISORY: {
		uint64_t n = 0, any = 0;
		for (guint k = 0; k < js->advs->len; k++) {
			AdvRec *r = &g_array_index(js->advs, AdvRec, k);
			if (r->client != c || strcmp(r->kind, e->name) != 0 || strcmp(r->stream, e->stream) != 0 ||
			    (e->consumer != NULL && strcmp(r->consumer, e->consumer) != 0))
				continue;
			any++;
			n += (e->seq == 0 || r->sseq == e->seq) && scn_expect_time_ok(e, r->at_ns);
		}
		if (!count_ok(e, n))
			jfail(js, e->pos, e->text, -1, "matched %" G_GUINT64_FORMAT " time(s) (%" G_GUINT64_FORMAT
			    " %s advisories for %s in all)", n, any, e->name, e->stream);
		break;
	}
	case SCN_EXP_JS_FETCH_STATUS: {
		uint64_t n = 0;
		for (guint k = 0; k < js->fetches->len; k++) {
			FetchEnd *f = &g_array_index(js->fetches, FetchEnd, k);
			n += f->client == c && (uint64_t)f->code == e->lo;
		}
		if (!count_ok(e, n))
			jfail(js, e->pos, e->text, -1, "%s's fetches ended with %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT
			    " time(s)", client_name(js, c), e->lo, n);
		break;
	}
	case SCN_EXP_JS_STREAM_INFO:
	case SCN_EXP_JS_CONSUMER_INFO: {
		char *problem = NULL;
		if (e->at_end) {
			problem = info_check(js, e);
		} else {
			const char *snap = g_hash_table_lookup(js->info_results, GUINT_TO_POINTER(index + 1));
			problem = snap == NULL ? g_strdup("the run ended before that time") : snap[0] ? g_strdup(snap) : NULL;
		}
		if (problem != NULL)
			jfail(js, e->pos, e->text, e->at_end ? now(js) : e->t1_ns, "%s (wanted %s %s)", problem, scn_op_str(e->op),
			    e->value);
		g_free(problem);
		break;
	}
	case SCN_EXP_BROKER_LOG: {
		uint64_t n = 0;
		for (guint k = 0; k < js->logs->len; k++) {
			LogRec *r = &g_array_index(js->logs, LogRec, k);
			n += strcmp(r->node, e->node) == 0 && strstr(r->msg, e->payload) != NULL;
		}
		if (!count_ok(e, n))
			jfail(js, e->pos, e->text, -1, "%s logged it %" G_GUINT64_FORMAT " time(s)", e->node, n);
		break;
	}
	default:
		UNREACHABLE();
	}
}

/* ---- always-on checks ---- */

static int
cmp_dlv(gconstpointer a, gconstpointer b)
{
	const JsDlv *x = a, *y = b;
	int c = strcmp(x->stream, y->stream);
	if (c == 0)
		c = strcmp(x->consumer, y->consumer);
	if (c == 0)
		c = x->sseq < y->sseq ? -1 : x->sseq > y->sseq;
	if (c == 0)
		c = x->at_ns < y->at_ns ? -1 : x->at_ns > y->at_ns;
	return c;
}

/* The one-way delay a delivery to client may have had on the way
 * (latency + jitter of the broker -> client link, as it is at the end). */
static int64_t
link_slack(ScnJs *js, uint32_t client)
{
	SimNode *cn = sim_client_node_sim(node_of(js, client));
	SimNode *bn = sim_world_node(js->host.world, client_decl(js, client)->broker);
	SimLinkConfig l = sim_net_link(js->host.world, bn, cn);
	return l.latency_ns + l.jitter_ns;
}

static bool
link_unbounded(ScnJs *js, uint32_t client)
{
	SimNode *cn = sim_client_node_sim(node_of(js, client));
	SimNode *bn = sim_world_node(js->host.world, client_decl(js, client)->broker);
	return sim_net_link(js->host.world, bn, cn).bandwidth_bytes_per_s > 0;
}

/* Redelivery timing (NATS-SPEC §3.4-3.5): a delivery with count k+1 of
 * the same stream seq may come no earlier than the wait after delivery k
 * (ack_wait, or backoff[min(k-1, len-1)]), counted from the later of that
 * delivery and the last +WPI for it; after a -NAK with a delay, no
 * earlier than the delay; after a plain -NAK, at any time. Seen from the
 * client, so the first delivery's one-way delay is allowed as slack;
 * links with a bandwidth limit (unbounded queueing) are not checked. */
static void
check_redelivery(ScnJs *js, const JsDlv *prev, const JsDlv *d, const ConsumerDecl *decl, bool *reported)
{
	const json_t *cfg = decl->action->config;
	const char *ack = cfg_str(cfg, "ack_policy", "explicit");
	if (strcmp(ack, "none") == 0) {
		if (!*reported)
			jfail(js, (ScnPos){ 0, 0 }, "no redelivery under ack none", d->at_ns,
			    "%s/%s redelivered seq %" G_GUINT64_FORMAT " (delivery %" G_GUINT64_FORMAT ")", d->stream, d->consumer,
			    d->sseq, d->dc);
		*reported = true;
		return;
	}
	if (link_unbounded(js, prev->client) || link_unbounded(js, d->client))
		return;
	int64_t base = prev->at_ns;
	int64_t wait = cfg_int(cfg, "ack_wait", DEFAULT_ACK_WAIT_NS);
	json_t *backoff = json_object_get(cfg, "backoff");
	if (json_array_size(backoff) > 0) {
		size_t i = MIN((size_t)(prev->dc - 1), json_array_size(backoff) - 1);
		wait = (int64_t)json_integer_value(json_array_get(backoff, i));
	}
	for (guint k = 0; k < js->acks->len; k++) {
		JsAckRec *a = &g_array_index(js->acks, JsAckRec, k);
		if (a->stream != d->stream || a->consumer != d->consumer || a->sseq != d->sseq || a->at_ns < prev->at_ns ||
		    a->at_ns >= d->at_ns)
			continue;
		if (a->kind == CLIENT_ACK_NAK) {
			if (a->delay_ns == 0)
				return; /* redelivered at once: nothing to check */
			base = a->at_ns;
			wait = a->delay_ns;
		} else if (a->kind == CLIENT_ACK_PROGRESS) {
			base = MAX(base, a->at_ns);
		}
	}
	int64_t slack = link_slack(js, prev->client);
	if (d->at_ns - base < wait - slack && !*reported) {
		char *t0 = fmt_time(base), *w = fmt_time(wait), *gap = fmt_time(d->at_ns - base);
		jfail(js, (ScnPos){ 0, 0 }, "redelivery never before ack_wait", d->at_ns,
		    "%s/%s redelivered seq %" G_GUINT64_FORMAT " (delivery %" G_GUINT64_FORMAT ") to %s only %s after %s; the "
		    "wait was %s", d->stream, d->consumer, d->sseq, d->dc, client_name(js, d->client), gap, t0, w);
		g_free(t0);
		g_free(w);
		g_free(gap);
		*reported = true;
	}
}

/* In-core read of one stream message (MSG.GET), after the run: true when
 * the stream still holds seq. */
typedef struct GetCtx {
	bool answered;
	bool found;     /* a message with that seq */
	bool same;      /* ... and it is the one that was acknowledged */
	const PubRec *want;
} GetCtx;

static void
on_get_reply(void *ctx, const BrokerMsgView *msg)
{
	GetCtx *g = ctx;
	json_t *r = json_loadb((const char *)msg->payload, msg->payload_len, 0, NULL);
	json_t *m = json_object_get(r, "message");
	g->answered = true;
	g->found = m != NULL;
	if (m != NULL) {
		const char *data64 = json_string_value(json_object_get(m, "data"));
		const char *subject = json_string_value(json_object_get(m, "subject"));
		gsize len = 0;
		guchar *data = data64 != NULL && data64[0] != '\0' ? g_base64_decode(data64, &len) : NULL;
		g->same = g->want->subject[0] == '\0' ||
		    (g_strcmp0(subject, g->want->subject) == 0 && len == g->want->len &&
		        XXH3_64bits(data ? data : (const guchar *)"", len) == g->want->hash);
		g_free(data);
	}
	json_decref(r);
}

/* The acknowledged publishes into stream (ok, not duplicates), by seq. */
static GPtrArray *
acked_pubs(ScnJs *js, const char *stream)
{
	GPtrArray *out = g_ptr_array_new();
	for (guint k = 0; k < js->pubs->len; k++) {
		PubRec *p = &g_array_index(js->pubs, PubRec, k);
		if (p->ok && !p->duplicate && strcmp(p->stream, stream) == 0)
			g_ptr_array_add(out, p);
	}
	return out;
}

static void
check_acked_kept(ScnJs *js)
{
	const Scenario *scn = js->host.scn;
	for (guint b = 0; b < scn->brokers->len; b++) {
		const ScnBroker *sb = scn->brokers->pdata[b];
		Broker *broker = js->host.broker(js->host.ctx, sb->name);
		if (!sb->config.jetstream || !sb->config.js_sync_always || broker == NULL)
			continue;
		/* streams created through this broker's clients, file storage, kept whole */
		for (guint k = 0; k < scn->actions->len; k++) {
			const ScnAction *a = scn->actions->pdata[k];
			if (a->kind != SCN_ACT_STREAM_ADD || a->fails_code != 0)
				continue;
			const char *creator = a->actors->pdata[0];
			uint32_t ci = js->host.client_index(js->host.ctx, creator);
			if (strcmp(client_decl(js, ci)->broker, sb->name) != 0 ||
			    strcmp(cfg_str(a->config, "storage", "file"), "file") != 0)
				continue;
			bool limited = cfg_int(a->config, "max_msgs", -1) > 0 || cfg_int(a->config, "max_bytes", -1) > 0 ||
			    cfg_int(a->config, "max_age", 0) > 0 || cfg_int(a->config, "max_msgs_per_subject", -1) > 0;
			bool touched = false;
			for (guint x = 0; x < scn->actions->len; x++) {
				const ScnAction *o = scn->actions->pdata[x];
				touched |= (o->kind == SCN_ACT_STREAM_PURGE || o->kind == SCN_ACT_STREAM_DELETE ||
				    o->kind == SCN_ACT_STREAM_UPDATE || o->kind == SCN_ACT_CORRUPT) &&
				    strcmp(o->kind == SCN_ACT_CORRUPT ? sb->name : o->stream,
				        o->kind == SCN_ACT_CORRUPT ? o->actors->pdata[0] : a->stream) == 0;
			}
			if (limited || touched)
				continue;
			const char *retention = cfg_str(a->config, "retention", "limits");
			bool limits = strcmp(retention, "limits") == 0;
			GPtrArray *acked = acked_pubs(js, intern(js, a->stream));
			GetCtx g = { 0 };
			char *reply = g_strdup("_natsim.check.get");
			BrokerInternalSub *sub = broker_internal_subscribe(broker, reply, NULL, on_get_reply, &g);
			char *api = g_strdup_printf("$JS.API.STREAM.MSG.GET.%s", a->stream);
			uint64_t lost = 0, first_lost = 0, replaced = 0, first_replaced = 0;
			for (guint x = 0; x < acked->len; x++) {
				const PubRec *p = acked->pdata[x];
				uint64_t seq = p->seq;
				if (!limits) {
					/* workqueue / interest: gone only after some consumer acked it */
					bool acked_by_consumer = false;
					for (guint y = 0; y < js->acks->len && !acked_by_consumer; y++) {
						JsAckRec *r = &g_array_index(js->acks, JsAckRec, y);
						acked_by_consumer = strcmp(r->stream, a->stream) == 0 && r->sseq == seq &&
						    (r->kind == CLIENT_ACK_ACK || r->kind == CLIENT_ACK_TERM);
					}
					if (acked_by_consumer)
						continue;
				}
				char body[64];
				g_snprintf(body, sizeof(body), "{\"seq\":%" G_GUINT64_FORMAT "}", seq);
				g = (GetCtx){ .want = p };
				broker_internal_publish(broker, api, reply, NULL, 0, body, strlen(body));
				if (g.answered && !g.found && lost++ == 0)
					first_lost = seq;
				if (g.answered && g.found && !g.same && replaced++ == 0)
					first_replaced = seq;
			}
			broker_internal_unsubscribe(broker, sub);
			if (lost > 0 || replaced > 0)
				jfail(js, (ScnPos){ 0, 0 }, "acknowledged publishes are never lost (sync always)", now(js),
				    "%s lost %" G_GUINT64_FORMAT " acknowledged message(s) of stream %s (first seq %" G_GUINT64_FORMAT
				    ") and holds another message under %" G_GUINT64_FORMAT " acknowledged sequence(s) (first %"
				    G_GUINT64_FORMAT ")", sb->name, lost, a->stream, first_lost, replaced, first_replaced);
			g_free(api);
			g_free(reply);
			g_ptr_array_free(acked, TRUE);
		}
	}
}

void
scn_js_check_invariants(ScnJs *js)
{
	ScnPos none = { 0, 0 };
	/* deliveries per (stream, consumer, seq), in time order */
	GArray *d = g_array_sized_new(FALSE, FALSE, sizeof(JsDlv), js->dlvs->len);
	g_array_append_vals(d, js->dlvs->data, js->dlvs->len);
	g_array_sort(d, cmp_dlv);
	bool reported_max = false, reported_timing = false, reported_cseq = false;
	for (guint k = 0; k < d->len; k++) {
		JsDlv *x = &g_array_index(d, JsDlv, k);
		const ConsumerDecl *decl = consumer_decl(js, x->stream, x->consumer);
		if (decl == NULL)
			continue;
		int64_t max_deliver = cfg_int(decl->action->config, "max_deliver", -1);
		if (max_deliver > 0 && x->dc > (uint64_t)max_deliver && !reported_max) {
			jfail(js, none, "delivered count never above max_deliver", x->at_ns,
			    "%s/%s delivered seq %" G_GUINT64_FORMAT " a %" G_GUINT64_FORMAT "th time; max_deliver is %" G_GINT64_FORMAT,
			    x->stream, x->consumer, x->sseq, x->dc, max_deliver);
			reported_max = true;
		}
		JsDlv *prev = k > 0 ? &g_array_index(d, JsDlv, k - 1) : NULL;
		if (prev != NULL && prev->stream == x->stream && prev->consumer == x->consumer && prev->sseq == x->sseq &&
		    x->dc == prev->dc + 1 && !js->broker_crashed)
			check_redelivery(js, prev, x, decl, &reported_timing);
	}
	/* a delivery of stream seq n carries the message acknowledged as n
	 * (unless a broker syncing on an interval crashed: its store may
	 * legitimately lose what it had not synced and reuse the sequence) */
	bool interval_crash = false;
	for (guint b = 0; b < js->host.scn->brokers->len; b++) {
		const ScnBroker *sb = js->host.scn->brokers->pdata[b];
		interval_crash |= js->broker_crashed && sb->config.jetstream && !sb->config.js_sync_always;
	}
	if (!interval_crash) {
		GHashTable *acked = g_hash_table_new(g_str_hash, g_str_equal);
		GPtrArray *keys = g_ptr_array_new_with_free_func(g_free);
		for (guint k = 0; k < js->pubs->len; k++) {
			PubRec *p = &g_array_index(js->pubs, PubRec, k);
			if (!p->ok || p->duplicate || p->subject[0] == '\0')
				continue;
			char *key = g_strdup_printf("%s/%" G_GUINT64_FORMAT, p->stream, p->seq);
			g_ptr_array_add(keys, key);
			g_hash_table_insert(acked, key, p);
		}
		for (guint k = 0; k < js->dlvs->len; k++) {
			JsDlv *x = &g_array_index(js->dlvs, JsDlv, k);
			char key[320];
			g_snprintf(key, sizeof(key), "%s/%" G_GUINT64_FORMAT, x->stream, x->sseq);
			const PubRec *p = g_hash_table_lookup(acked, key);
			if (p == NULL || x->headers_only)
				continue;
			if (x->subject != p->subject || x->len != p->len || x->hash != p->hash) {
				jfail(js, none, "JetStream delivers what was stored", x->at_ns,
				    "%s got seq %" G_GUINT64_FORMAT " of %s as %s (%u bytes), but the message acknowledged as that "
				    "seq was %s (%u bytes)%s", client_name(js, x->client), x->sseq, x->stream, x->subject, x->len,
				    p->subject, p->len, x->len == p->len && x->subject == p->subject ? " with other content" : "");
				break;
			}
		}
		g_hash_table_destroy(acked);
		g_ptr_array_free(keys, TRUE);
	}
	/* consumer sequences: each used once per consumer (while the broker
	 * ran without a crash: a restored consumer may reuse unsaved ones) */
	if (!js->broker_crashed) {
		GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);
		GPtrArray *keys = g_ptr_array_new_with_free_func(g_free);
		for (guint k = 0; k < js->dlvs->len && !reported_cseq; k++) {
			JsDlv *x = &g_array_index(js->dlvs, JsDlv, k);
			char *key = g_strdup_printf("%s/%s/%" G_GUINT64_FORMAT, x->stream, x->consumer, x->cseq);
			if (g_hash_table_contains(seen, key)) {
				jfail(js, none, "consumer sequences are never reused", x->at_ns,
				    "%s/%s used consumer seq %" G_GUINT64_FORMAT " twice", x->stream, x->consumer, x->cseq);
				reported_cseq = true;
				g_free(key);
			} else {
				g_hash_table_add(seen, key);
				g_ptr_array_add(keys, key);
			}
		}
		g_hash_table_destroy(seen);
		g_ptr_array_free(keys, TRUE);
	}
	/* advisories for one message come once (per subscriber) */
	for (guint k = 0; k < js->advs->len; k++) {
		AdvRec *a = &g_array_index(js->advs, AdvRec, k);
		if (strcmp(a->kind, "max_deliveries") != 0 && strcmp(a->kind, "msg_terminated") != 0)
			continue;
		bool dup = false;
		for (guint j = 0; j < k && !dup; j++) {
			AdvRec *b = &g_array_index(js->advs, AdvRec, j);
			dup = b->client == a->client && b->kind == a->kind && b->stream == a->stream &&
			    b->consumer == a->consumer && b->sseq == a->sseq;
		}
		if (dup && !js->broker_crashed) {
			jfail(js, none, "advisories exactly once", a->at_ns, "%s got the %s advisory of %s/%s seq %" G_GUINT64_FORMAT
			    " more than once", client_name(js, a->client), a->kind, a->stream, a->consumer, a->sseq);
			break;
		}
	}
	g_array_free(d, TRUE);
	/* API calls that never finished */
	for (guint k = 0; k < js->calls->len; k++) {
		ApiCall *c = js->calls->pdata[k];
		if (!c->done) {
			char *what = at_what(c->action->at_ns);
			jfail(js, c->action->pos, what, -1, "%s's API call never got an answer", client_name(js, c->client));
			g_free(what);
		}
	}
	check_acked_kept(js);
}

/* ---- life ---- */

ScnJs *
scn_js_create(const ScnJsHost *host)
{
	ScnJs *js = g_new0(ScnJs, 1);
	js->host = *host;
	js->interned = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	js->dlvs = g_array_new(FALSE, FALSE, sizeof(JsDlv));
	js->acks = g_array_new(FALSE, FALSE, sizeof(JsAckRec));
	js->pubs = g_array_new(FALSE, FALSE, sizeof(PubRec));
	js->advs = g_array_new(FALSE, FALSE, sizeof(AdvRec));
	js->fetches = g_array_new(FALSE, FALSE, sizeof(FetchEnd));
	js->logs = g_array_new(FALSE, FALSE, sizeof(LogRec));
	js->calls = g_ptr_array_new_with_free_func(g_free);
	js->bindings = g_ptr_array_new_with_free_func(g_free);
	js->pull_jobs = g_ptr_array_new_with_free_func(g_free);
	js->pub_jobs = g_ptr_array_new_with_free_func(g_free);
	js->consumers = g_ptr_array_new_with_free_func(g_free);
	js->sent = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
	js->ack_jobs = g_ptr_array_new();
	js->info_results = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
	const Scenario *scn = host->scn;
	for (guint k = 0; k < scn->expects->len; k++) {
		const ScnExpect *e = scn->expects->pdata[k];
		if ((e->kind == SCN_EXP_JS_STREAM_INFO || e->kind == SCN_EXP_JS_CONSUMER_INFO) && !e->at_end)
			sim_world_at(host->world, e->t1_ns, info_event, js, k);
	}
	return js;
}


void
scn_js_free(ScnJs *js)
{
	if (js == NULL)
		return;
	for (guint k = 0; k < js->ack_jobs->len; k++) {
		AckJob *job = js->ack_jobs->pdata[k];
		g_free(job->reply);
		g_free(job->term_reason);
		g_free(job);
	}
	g_ptr_array_free(js->ack_jobs, TRUE);
	for (guint k = 0; k < js->logs->len; k++)
		g_free(g_array_index(js->logs, LogRec, k).msg);
	g_array_free(js->dlvs, TRUE);
	g_array_free(js->acks, TRUE);
	g_array_free(js->pubs, TRUE);
	g_array_free(js->advs, TRUE);
	g_array_free(js->fetches, TRUE);
	g_array_free(js->logs, TRUE);
	g_ptr_array_free(js->calls, TRUE);
	g_ptr_array_free(js->bindings, TRUE);
	g_ptr_array_free(js->pull_jobs, TRUE);
	g_ptr_array_free(js->pub_jobs, TRUE);
	g_ptr_array_free(js->consumers, TRUE);
	g_hash_table_destroy(js->info_results);
	g_hash_table_destroy(js->sent);
	g_hash_table_destroy(js->interned);
	g_free(js);
}
