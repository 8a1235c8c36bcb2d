/*
 * scenario_run.c - builds a scenario's world, plays its timeline, and
 * checks it (see scenario_run.h).
 *
 * Everything the checks look at comes from the trace: a listener turns the
 * events of the client and broker nodes into records (publishes,
 * deliveries, request results, connection events, errors, probe hits).
 * Actions are world events; a repeated publish reschedules itself.
 * Behaviours (answering requests) react to deliveries by scheduling their
 * answer as a new event, never from inside the node's own callback.
 */
#include "sim/scenario_run.h"

#include <jansson.h>
#include <string.h>

/* XXH3 compiled in: the checks hash short keys by the hundred thousand. */
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "broker/broker.h"
#include "proto/assert.h"
#include "proto/headers.h"
#include "proto/subject.h"
#include "sim/broker_node.h"
#include "sim/client_node.h"
#include "sim/disk.h"
#include "sim/net.h"
#include "sim/scenario_js.h"

#define REQUEST_FLUSH_TIMEOUT_NS INT64_C(5000000000)
/* The most publishes (and deliveries) reserved before a run. */
#define RECORDS_RESERVE_MAX (1u << 20)

typedef struct RunSub {
	uint64_t sid;
	char *subject;
	char *queue;
	int64_t since_ns;
	bool active;
	bool replies;        /* a `reply` behaviour */
	const ScnAction *reply_action;
	const char *checked_subject; /* check_invariants: the last delivery subject matched (interned) */
	bool checked_ok;             /* ... and the answer */
	bool queue_hashed;           /* check_invariants: queue_hash holds XXH3 of queue */
	uint64_t queue_hash;
} RunSub;

typedef struct RunClient {
	const ScnClient *decl;
	SimClientNode *node;
	uint32_t index;
	GPtrArray *subs;     /* RunSub* */
	uint64_t disconnects, reconnects;
	uint64_t pubs_made;  /* the seq of its last publish */
} RunClient;

typedef struct Pub {
	int64_t at_ns;
	uint32_t client;
	const char *subject; /* interned */
	uint64_t hash;
	uint32_t len;
	uint64_t seq; /* per publisher */
} Pub;

typedef struct Dlv {
	int64_t at_ns;
	uint64_t sid;
	const char *subject; /* interned */
	uint64_t hash;
	uint64_t id; /* msg_id_cached()'s answer (the checks' message identity), once has_id */
	uint32_t client;
	uint32_t len;
	int status;
	bool js;
	bool has_id;
} Dlv;

/* The records of a run, appended one at a time by the trace listener (a
 * GArray costs a call and a copy per append). */
typedef struct PubVec {
	Pub *v;
	guint len, cap;
} PubVec;

typedef struct DlvVec {
	Dlv *v;
	guint len, cap;
} DlvVec;

/* A new last element (uninitialised). */
static inline Pub *
pub_push(PubVec *vec)
{
	if (vec->len == vec->cap) {
		ASSERT(vec->cap < G_MAXUINT / 2);
		vec->cap = vec->cap ? vec->cap * 2 : 256;
		vec->v = g_renew(Pub, vec->v, vec->cap);
	}
	return &vec->v[vec->len++];
}

static inline Dlv *
dlv_push(DlvVec *vec)
{
	if (vec->len == vec->cap) {
		ASSERT(vec->cap < G_MAXUINT / 2);
		vec->cap = vec->cap ? vec->cap * 2 : 256;
		vec->v = g_renew(Dlv, vec->v, vec->cap);
	}
	return &vec->v[vec->len++];
}

typedef struct RequestRec {
	uint64_t id;
	uint32_t client;
	char *subject;
	bool done;
	char *status;
	uint64_t hash;
	uint32_t len;
} RequestRec;

typedef struct ErrorRec {
	int64_t at_ns;
	uint32_t client;
	char *status;
	char *text;
} ErrorRec;

typedef struct Run {
	const Scenario *scn;
	const ScnRunOptions *options;
	SimWorld *world;
	GPtrArray *brokers;    /* SimBrokerNode*, declaration order */
	GPtrArray *clients;    /* RunClient*, declaration order */
	GHashTable *client_by_name; /* looked up only */
	PubVec pubs;
	DlvVec dlvs;
	GPtrArray *requests;   /* RequestRec* */
	GArray *errors;        /* ErrorRec */
	GHashTable *monitor_results; /* expect index -> char* failure (or "" when ok) */
	GHashTable *interned;  /* subject strings, owned */
	const char *last_interned; /* the latest intern() answer: subjects come in runs */
	GString *payload;      /* publish_one's scratch */
	/* In front of client_by_node_name: a small open-addressing cache by
	 * the same pointer, probed linearly from the pointer's home slot (the
	 * answer is the table's; where it sits only decides speed). Two
	 * clients' names sharing a home slot no longer evict each other. */
	struct {
		const char *node;
		RunClient *rc;
	} node_cache[16];
	GHashTable *client_by_node_name; /* the SimNode's name pointer -> RunClient*, looked up only */
	ScnResult *result;
	ScnJs *js;             /* JetStream actions, expectations and checks */
} Run;

/* ---- small helpers ---- */

static uint64_t
payload_hash(const void *data, size_t len)
{
	return XXH3_64bits(data, len);
}

static void
fail(Run *run, ScnPos pos, const char *what, int64_t at_ns, const char *fmt, ...) G_GNUC_PRINTF(5, 6);

static void
fail(Run *run, ScnPos pos, const char *what, int64_t at_ns, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ScnFailure *f = g_new0(ScnFailure, 1);
	f->pos = pos;
	f->what = g_strdup(what);
	f->message = g_strdup_vprintf(fmt, ap);
	f->at_ns = at_ns;
	va_end(ap);
	g_ptr_array_add(run->result->failures, f);
	run->result->ok = false;
}

static void record_line(Run *run, int64_t at_ns, ScnRecordKind kind, const char *node, const char *fmt, ...)
    G_GNUC_PRINTF(5, 6);

/* A line of the story, formatted only when a report wants it (the
 * arguments are not even evaluated otherwise). */
#define record(run, ...)                                      \
	do {                                                  \
		if ((run)->options->keep_records)             \
			record_line((run), __VA_ARGS__);      \
	} while (0)

static void
record_line(Run *run, int64_t at_ns, ScnRecordKind kind, const char *node, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ScnRecord r = { at_ns, kind, g_strdup(node), g_strdup_vprintf(fmt, ap) };
	va_end(ap);
	g_array_append_val(run->result->records, r);
}

/* Subjects repeat: keep one copy of each for the run. */
static const char *
intern(Run *run, const char *s)
{
	if (run->last_interned != NULL && strcmp(run->last_interned, s) == 0)
		return run->last_interned;
	const char *found = g_hash_table_lookup(run->interned, s);
	if (found == NULL) {
		char *copy = g_strdup(s);
		g_hash_table_add(run->interned, copy);
		found = copy;
	}
	run->last_interned = found;
	return found;
}

static const SimTraceField *
field(const SimTraceEvent *ev, const char *key)
{
	for (size_t k = 0; k < ev->field_count; k++)
		if (strcmp(ev->fields[k].key, key) == 0)
			return &ev->fields[k];
	return NULL;
}

static int64_t
field_int(const SimTraceEvent *ev, const char *key)
{
	const SimTraceField *f = field(ev, key);
	return f != NULL && f->type == SIM_TRACE_INT ? f->i : 0;
}

static const char *
field_str(const SimTraceEvent *ev, const char *key)
{
	const SimTraceField *f = field(ev, key);
	return f != NULL && f->type == SIM_TRACE_STR ? f->s : "";
}

static RunClient *
client_named(Run *run, const char *name)
{
	return g_hash_table_lookup(run->client_by_name, name);
}

static char *
fmt_time(int64_t ns)
{
	return scenario_format_duration(ns);
}

/* ---- the trace listener: what happened ---- */

/* The fields of a client.msg or client.pub event (client_node.h), read in
 * one pass: these two events are most of a run's trace. Absent fields
 * read as field() would give them: NULL, 0 or "". */
typedef struct MsgFields {
	const SimTraceField *payload;
	uint64_t payload_hash; /* payload_hash() of its content, when there is a payload */
	const char *subject;
	const char *reply;
	int64_t sid;
	int64_t status;
	int64_t delivered;
	bool js; /* a "stream" field: a JetStream delivery */
} MsgFields;

/* The payload's hash: the trace hashed a byte field's content already. */
static uint64_t
field_payload_hash(const SimTraceEvent *ev, const SimTraceField *f)
{
	return f->type == SIM_TRACE_BYTES ? ev->bytes_hash[f - ev->fields] : payload_hash(f->s, f->len);
}

/* The exact layouts client_node.c emits (client_node.h), recognised by
 * their key objects: every key is then where it is expected and none
 * repeats, so reading by position gives what msg_fields() would. Any other
 * event (a JetStream delivery, keys spelled elsewhere) goes the long way. */
static inline bool
msg_fields_fast(const SimTraceEvent *ev, MsgFields *m)
{
	const SimTraceField *f = ev->fields;
	const SimTraceField *subject, *reply, *payload;
	if (ev->field_count == 5 && f[0].key == SIM_CLIENT_KEY_SID && f[1].key == SIM_CLIENT_KEY_SUBJECT &&
	    f[2].key == SIM_CLIENT_KEY_REPLY && f[3].key == SIM_CLIENT_KEY_PAYLOAD && f[4].key == SIM_CLIENT_KEY_STATUS) {
		subject = &f[1], reply = &f[2], payload = &f[3];
		*m = (MsgFields){
			.sid = f[0].type == SIM_TRACE_INT ? f[0].i : 0,
			.status = f[4].type == SIM_TRACE_INT ? f[4].i : 0,
		};
	} else if (ev->field_count == 3 && f[0].key == SIM_CLIENT_KEY_SUBJECT && f[1].key == SIM_CLIENT_KEY_REPLY &&
	    f[2].key == SIM_CLIENT_KEY_PAYLOAD) {
		subject = &f[0], reply = &f[1], payload = &f[2];
		*m = (MsgFields){ 0 };
	} else {
		return false;
	}
	m->subject = subject->type == SIM_TRACE_STR ? subject->s : "";
	m->reply = reply->type == SIM_TRACE_STR ? reply->s : "";
	m->payload = payload;
	m->payload_hash = field_payload_hash(ev, payload);
	return true;
}

/* One string comparison per field: the first letters pick the only key
 * it can be. */
static inline void
msg_fields(const SimTraceEvent *ev, MsgFields *m)
{
	if (msg_fields_fast(ev, m))
		return;
	*m = (MsgFields){ .subject = "", .reply = "" };
	for (size_t k = ev->field_count; k-- > 0;) { /* backwards: the first of equal keys wins, as in field() */
		const SimTraceField *f = &ev->fields[k];
		const char *key = f->key;
		bool is_int = f->type == SIM_TRACE_INT, is_str = f->type == SIM_TRACE_STR;
		switch (key[0]) {
		case 's':
			if (key[1] == 'i' && strcmp(key, "sid") == 0)
				m->sid = is_int ? f->i : 0;
			else if (key[1] == 'u' && strcmp(key, "subject") == 0)
				m->subject = is_str ? f->s : "";
			else if (key[1] == 't' && strcmp(key, "status") == 0)
				m->status = is_int ? f->i : 0;
			else if (key[1] == 't' && strcmp(key, "stream") == 0)
				m->js = true;
			break;
		case 'r':
			if (strcmp(key, "reply") == 0)
				m->reply = is_str ? f->s : "";
			break;
		case 'p':
			if (strcmp(key, "payload") == 0) {
				m->payload = f;
				m->payload_hash = field_payload_hash(ev, f);
			}
			break;
		case 'd':
			if (strcmp(key, "delivered") == 0)
				m->delivered = is_int ? f->i : 0;
			break;
		default:
			break;
		}
	}
}

static void
on_msg(Run *run, RunClient *rc, const SimTraceEvent *ev, const MsgFields *m)
{
	const SimTraceField *payload = m->payload;
	Dlv d = {
		.at_ns = ev->t_ns,
		.client = rc->index,
		.sid = (uint64_t)m->sid,
		.subject = intern(run, m->subject),
		.hash = payload ? m->payload_hash : 0,
		.len = payload ? (uint32_t)payload->len : 0,
		.status = (int)m->status,
		.js = m->js,
	};
	*dlv_push(&run->dlvs) = d;
	run->result->deliveries++;
	ScnRecordKind kind = d.js && m->delivered > 1 ? SCN_REC_REDELIVER : SCN_REC_DELIVER;
	record(run, ev->t_ns, kind, ev->node, "%s %.*s", d.subject, payload ? (int)MIN(payload->len, 40) : 0,
	    payload ? payload->s : "");
}

typedef struct ReplyJob {
	Run *run;
	RunClient *rc;
	char *reply;
	const ScnAction *action;
} ReplyJob;

static void
reply_event(void *ctx, uint64_t arg)
{
	(void)arg;
	ReplyJob *job = ctx;
	if (sim_node_up(sim_client_node_sim(job->rc->node)))
		sim_client_node_publish(job->rc->node, job->reply, NULL, NULL, 0, job->action->payload,
		    job->action->payload_len);
	g_free(job->reply);
	g_free(job);
}

/* A `reply` behaviour answers every request that reaches its sub. */
static void
maybe_reply(Run *run, RunClient *rc, const SimTraceEvent *ev, const MsgFields *m)
{
	uint64_t sid = (uint64_t)m->sid;
	const char *reply = m->reply;
	if (reply[0] == '\0')
		return;
	for (guint k = 0; k < rc->subs->len; k++) {
		RunSub *s = rc->subs->pdata[k];
		if (s->sid != sid || !s->replies)
			continue;
		ReplyJob *job = g_new0(ReplyJob, 1);
		job->run = run;
		job->rc = rc;
		job->reply = g_strdup(reply);
		job->action = s->reply_action;
		sim_node_at(sim_client_node_sim(rc->node), ev->t_ns + s->reply_action->duration_ns, reply_event, job, 0);
		return;
	}
}

static void
listener(void *ctx, const SimTraceEvent *ev)
{
	Run *run = ctx;
	if (run->options->listener != NULL)
		run->options->listener(run->options->listener_ctx, ev);
	const char *kind = ev->kind;
	/* Bytes arriving are most of what is not a client event, and nothing
	 * here records them. */
	if (kind == SIM_NET_RECV || (kind[0] == 'n' && strcmp(kind, "net.recv") == 0))
		return;
	bool is_msg = kind == SIM_CLIENT_MSG, is_pub = kind == SIM_CLIENT_PUB;
	if (is_msg || is_pub || strncmp(kind, "client.", 7) == 0) {
		/* by the node's name pointer first (looked up, never walked) */
		const size_t cache_size = G_N_ELEMENTS(run->node_cache);
		size_t slot = ((uintptr_t)ev->node >> 4) % cache_size;
		RunClient *rc = NULL;
		for (size_t probe = 0; probe < cache_size; probe++) {
			size_t i = (slot + probe) % cache_size;
			if (run->node_cache[i].node == ev->node) {
				rc = run->node_cache[i].rc;
				slot = i;
				break;
			}
			if (run->node_cache[i].node == NULL) {
				slot = i; /* where it goes when found */
				break;
			}
		}
		if (rc == NULL)
			rc = g_hash_table_lookup(run->client_by_node_name, ev->node);
		if (rc == NULL) {
			rc = client_named(run, ev->node);
			if (rc != NULL)
				g_hash_table_insert(run->client_by_node_name, (gpointer)ev->node, rc);
		}
		if (rc == NULL)
			return;
		run->node_cache[slot].node = ev->node;
		run->node_cache[slot].rc = rc;
		/* msg and pub first: they are most of a trace */
		if (is_msg || (!is_pub && strcmp(kind, "client.msg") == 0)) {
			MsgFields m;
			msg_fields(ev, &m);
			on_msg(run, rc, ev, &m);
			maybe_reply(run, rc, ev, &m);
		} else if (is_pub || strcmp(kind, "client.pub") == 0) {
			MsgFields m;
			msg_fields(ev, &m);
			const SimTraceField *payload = m.payload;
			Pub p = { ev->t_ns, rc->index, intern(run, m.subject),
				payload ? m.payload_hash : 0, payload ? (uint32_t)payload->len : 0,
				++rc->pubs_made };
			*pub_push(&run->pubs) = p;
			run->result->publishes++;
			record(run, ev->t_ns, SCN_REC_PUBLISH, ev->node, "%s", p.subject);
		} else if (strcmp(kind, "client.puback") == 0 || strcmp(kind, "client.js") == 0 ||
		    strcmp(kind, "client.fetch.done") == 0) {
			scn_js_on_trace(run->js, rc->index, ev);
		} else if (strcmp(kind, "client.reply") == 0) {
			uint64_t id = (uint64_t)field_int(ev, "id");
			const SimTraceField *payload = field(ev, "payload");
			for (guint k = 0; k < run->requests->len; k++) {
				RequestRec *r = run->requests->pdata[k];
				if (r->id == id && r->client == rc->index && !r->done) {
					r->done = true;
					r->status = g_strdup(field_str(ev, "status"));
					r->hash = payload ? payload_hash(payload->s, payload->len) : 0;
					r->len = payload ? (uint32_t)payload->len : 0;
				}
			}
		} else if (strcmp(kind, "client.disconnected") == 0) {
			rc->disconnects++;
			record(run, ev->t_ns, SCN_REC_DISCONNECT, ev->node, "%s", field_str(ev, "status"));
		} else if (strcmp(kind, "client.reconnected") == 0) {
			rc->reconnects++;
			record(run, ev->t_ns, SCN_REC_CONNECT, ev->node, "reconnected");
		} else if (strcmp(kind, "client.connected") == 0) {
			record(run, ev->t_ns, SCN_REC_CONNECT, ev->node, "connected");
		} else if (strcmp(kind, "client.error") == 0) {
			ErrorRec e = { ev->t_ns, rc->index, g_strdup(field_str(ev, "status")), g_strdup(field_str(ev, "text")) };
			g_array_append_val(run->errors, e);
			record(run, ev->t_ns, SCN_REC_ERROR, ev->node, "%s", e.text);
		} else if (strcmp(kind, "client.ack") == 0) {
			record(run, ev->t_ns, SCN_REC_ACK, ev->node, "%s", field_str(ev, "kind"));
		}
		return;
	}
	if (strcmp(kind, "broker.probe") == 0) {
		/* the key is built on the stack, and copied only the first time */
		char stack_key[128];
		const char *probe = field_str(ev, "probe");
		int key_len = g_snprintf(stack_key, sizeof(stack_key), "%s/%s", ev->node, probe);
		char *key = key_len < (int)sizeof(stack_key) ? stack_key : g_strdup_printf("%s/%s", ev->node, probe);
		guint64 *n = g_hash_table_lookup(run->result->probes, key);
		if (n == NULL) {
			n = g_new0(guint64, 1);
			g_hash_table_insert(run->result->probes, key == stack_key ? g_strdup(key) : key, n);
		} else if (key != stack_key) {
			g_free(key);
		}
		(*n)++;
		return;
	}
	if (strcmp(kind, "broker.log") == 0 || strcmp(kind, "node.crash") == 0)
		scn_js_on_trace(run->js, UINT32_MAX, ev);
	if (strcmp(kind, "node.crash") == 0 || strcmp(kind, "net.partition") == 0 || strcmp(kind, "net.heal") == 0 ||
	    strcmp(kind, "node.clock_jump") == 0)
		record(run, ev->t_ns, SCN_REC_FAULT, ev->node, "%s", kind);
	else if (strcmp(kind, "node.start") == 0 && field_int(ev, "incarnation") > 0)
		record(run, ev->t_ns, SCN_REC_FAULT, ev->node, "restart");
}

/* ---- actions ---- */

typedef struct PublishJob {
	Run *run;
	const ScnAction *action;
	uint64_t next; /* 1-based index of the next publish */
	RunClient **actors; /* the action's actors, resolved once; owned */
} PublishJob;

static void action_fail(Run *run, const ScnAction *a, const char *actor, ClientStatus st);

static GByteArray *
build_headers(const ScnAction *a)
{
	if (a->headers == NULL)
		return NULL;
	ProtoBuf buf;
	proto_buf_init(&buf);
	proto_headers_start(&buf, 0, NULL);
	for (guint k = 0; k < a->headers->len; k++) {
		ScnHeader *h = &g_array_index(a->headers, ScnHeader, k);
		proto_headers_add(&buf, h->key, h->value, strlen(h->value));
	}
	proto_headers_finish(&buf);
	GByteArray *out = g_byte_array_new();
	g_byte_array_append(out, proto_buf_peek(&buf), (guint)proto_buf_pending(&buf));
	proto_buf_deinit(&buf);
	return out;
}

/* out = "PREFIX-I" (the same bytes as "%s-%" G_GUINT64_FORMAT), with one
 * resize: a run publishes thousands of these. */
static void
set_numbered(GString *out, const char *prefix, size_t prefix_len, uint64_t i)
{
	char digits[20];
	size_t n = 0;
	do {
		digits[sizeof(digits) - 1 - n++] = (char)('0' + i % 10);
		i /= 10;
	} while (i > 0);
	g_string_set_size(out, prefix_len + 1 + n);
	memcpy(out->str, prefix, prefix_len);
	out->str[prefix_len] = '-';
	memcpy(out->str + prefix_len + 1, digits + sizeof(digits) - n, n);
}

/* actors[k]: the client of a->actors[k], resolved when the action began. */
static void
publish_one(Run *run, const ScnAction *a, RunClient *const *actors, uint64_t i)
{
	GByteArray *hdrs = build_headers(a);
	GString *payload = run->payload;
	for (guint k = 0; k < a->actors->len; k++) {
		const char *name = a->actors->pdata[k];
		RunClient *rc = actors[k];
		if (!sim_node_up(sim_client_node_sim(rc->node)))
			continue;
		if (a->payload == NULL) {
			set_numbered(payload, name, strlen(name), i);
		} else if (a->count > 1) {
			set_numbered(payload, a->payload, a->payload_len, i);
		} else {
			g_string_truncate(payload, 0);
			g_string_append_len(payload, a->payload, (gssize)a->payload_len);
		}
		if (a->size > payload->len) {
			/* pad with dots to the requested size */
			size_t len = payload->len;
			g_string_set_size(payload, a->size);
			memset(payload->str + len, '.', a->size - len);
		}
		ClientStatus st = sim_client_node_publish(rc->node, a->subject, a->reply, hdrs ? hdrs->data : NULL,
		    hdrs ? hdrs->len : 0, payload->str, payload->len);
		if (st != CLIENT_OK)
			action_fail(run, a, name, st);
	}
	if (hdrs != NULL)
		g_byte_array_free(hdrs, TRUE);
}

static void
publish_event(void *ctx, uint64_t arg)
{
	(void)arg;
	PublishJob *job = ctx;
	publish_one(job->run, job->action, job->actors, job->next);
	if (job->next < job->action->count) {
		job->next++;
		sim_world_at(job->run->world, sim_world_now_ns(job->run->world) + job->action->interval_ns, publish_event,
		    job, 0);
		return;
	}
	g_free(job->actors);
	g_free(job);
}

static void
action_fail(Run *run, const ScnAction *a, const char *actor, ClientStatus st)
{
	char *what = g_strdup_printf("at %s", scenario_format_duration(a->at_ns));
	fail(run, a->pos, what, sim_world_now_ns(run->world), "%s could not do it: %s", actor, client_status_str(st));
	g_free(what);
}

static SimNode *
node_of(Run *run, const char *name)
{
	SimNode *n = sim_world_node(run->world, name);
	ASSERT(n != NULL); /* names were checked by the parser */
	return n;
}

static RunSub *
active_sub(RunClient *rc, const char *subject)
{
	for (guint k = rc->subs->len; k-- > 0;) {
		RunSub *s = rc->subs->pdata[k];
		if (s->active && strcmp(s->subject, subject) == 0)
			return s;
	}
	return NULL;
}

static void
client_action(Run *run, const ScnAction *a, RunClient *rc)
{
	const char *name = rc->decl->name;
	SimNode *node = sim_client_node_sim(rc->node);
	if (!sim_node_up(node)) {
		fail(run, a->pos, "action", sim_world_now_ns(run->world), "%s is down (crashed)", name);
		return;
	}
	ClientStatus st = CLIENT_OK;
	uint64_t sid = 0, id = 0;
	switch (a->kind) {
	case SCN_ACT_SUBSCRIBE:
	case SCN_ACT_REPLY: {
		st = sim_client_node_subscribe(rc->node, a->subject, a->queue, &sid);
		if (st != CLIENT_OK)
			break;
		RunSub *s = g_new0(RunSub, 1);
		s->sid = sid;
		s->subject = g_strdup(a->subject);
		s->queue = g_strdup(a->queue);
		s->since_ns = sim_world_now_ns(run->world);
		s->active = true;
		s->replies = a->kind == SCN_ACT_REPLY;
		s->reply_action = a;
		g_ptr_array_add(rc->subs, s);
		if (a->kind == SCN_ACT_SUBSCRIBE && a->max > 0)
			st = sim_client_node_unsubscribe(rc->node, sid, a->max);
		break;
	}
	case SCN_ACT_UNSUBSCRIBE: {
		RunSub *s = active_sub(rc, a->subject);
		if (s == NULL) {
			fail(run, a->pos, "unsubscribe", sim_world_now_ns(run->world), "%s has no subscription on %s", name,
			    a->subject);
			return;
		}
		st = sim_client_node_unsubscribe(rc->node, s->sid, a->max);
		if (a->max == 0)
			s->active = false;
		break;
	}
	case SCN_ACT_REQUEST: {
		st = sim_client_node_request(rc->node, a->subject, a->payload, a->payload_len, a->duration_ns, &id);
		if (st == CLIENT_OK) {
			RequestRec *r = g_new0(RequestRec, 1);
			r->id = id;
			r->client = rc->index;
			r->subject = g_strdup(a->subject);
			g_ptr_array_add(run->requests, r);
		}
		break;
	}
	case SCN_ACT_FLUSH:
		st = sim_client_node_flush(rc->node, REQUEST_FLUSH_TIMEOUT_NS, &id);
		break;
	case SCN_ACT_PAUSE:
		st = sim_client_node_pause_reading(rc->node, a->duration_ns);
		break;
	case SCN_ACT_DISCONNECT:
		sim_net_reset_between(run->world, node, node_of(run, rc->decl->broker));
		break;
	case SCN_ACT_CLOSE:
		sim_client_node_close(rc->node);
		break;
	default:
		UNREACHABLE();
	}
	if (st != CLIENT_OK)
		action_fail(run, a, name, st);
}

static void
set_link_latency(Run *run, SimNode *x, SimNode *y, int64_t latency_ns, int64_t jitter_ns)
{
	SimLinkConfig c = sim_net_link(run->world, x, y);
	c.latency_ns = latency_ns;
	c.jitter_ns = jitter_ns;
	sim_net_link_set(run->world, x, y, &c);
}

static void
fault_action(Run *run, const ScnAction *a)
{
	SimNode *x = node_of(run, a->actors->pdata[0]);
	SimNode *y = a->actors->len > 1 ? node_of(run, a->actors->pdata[1]) : NULL;
	switch (a->kind) {
	case SCN_ACT_PARTITION:
		sim_net_partition(run->world, x, y, !a->one_way);
		break;
	case SCN_ACT_HEAL:
		sim_net_heal(run->world, x, y, !a->one_way);
		break;
	case SCN_ACT_CRASH:
		if (sim_node_up(x))
			sim_node_crash(x);
		else
			fail(run, a->pos, "crash", sim_world_now_ns(run->world), "%s is already down", sim_node_name(x));
		break;
	case SCN_ACT_RESTART:
		if (!sim_node_up(x))
			sim_node_restart(x);
		else
			fail(run, a->pos, "restart", sim_world_now_ns(run->world), "%s is not down", sim_node_name(x));
		break;
	case SCN_ACT_RESET:
		sim_net_reset_between(run->world, x, y);
		break;
	case SCN_ACT_LATENCY:
		set_link_latency(run, x, y, a->duration_ns, a->jitter_ns);
		set_link_latency(run, y, x, a->duration_ns, a->jitter_ns);
		break;
	case SCN_ACT_CLOCK:
		sim_node_clock_jump(x, a->duration_ns);
		break;
	default:
		UNREACHABLE();
	}
}

static void
action_event(void *ctx, uint64_t arg)
{
	Run *run = ctx;
	const ScnAction *a = run->scn->actions->pdata[arg];
	if (a->kind == SCN_ACT_PUBLISH) {
		PublishJob *job = g_new0(PublishJob, 1);
		job->run = run;
		job->action = a;
		job->next = 1;
		job->actors = g_new(RunClient *, a->actors->len);
		for (guint k = 0; k < a->actors->len; k++)
			job->actors[k] = client_named(run, a->actors->pdata[k]);
		publish_event(job, 0);
		return;
	}
	if (a->kind == SCN_ACT_JS_PUBLISH) {
		scn_js_publish(run->js, a);
		return;
	}
	if (a->kind == SCN_ACT_CORRUPT || a->kind == SCN_ACT_DISK_FAIL) {
		scn_js_fault(run->js, a);
		return;
	}
	if (a->kind >= SCN_ACT_PARTITION) {
		fault_action(run, a);
		return;
	}
	for (guint k = 0; k < a->actors->len; k++) {
		RunClient *rc = client_named(run, a->actors->pdata[k]);
		if (!scn_js_handles_action(a->kind))
			client_action(run, a, rc);
		else if (sim_node_up(sim_client_node_sim(rc->node)))
			scn_js_client_action(run->js, a, rc->index);
		else
			fail(run, a->pos, "action", sim_world_now_ns(run->world), "%s is down (crashed)", rc->decl->name);
	}
}

/* ---- monitor expectations ---- */

/* Evaluates a monitor expectation now; returns NULL when it holds, else
 * what was found instead. */
static char *
monitor_check(Run *run, const ScnExpect *e)
{
	SimNode *node = sim_world_node(run->world, e->node);
	Broker *broker = NULL;
	for (guint k = 0; k < run->brokers->len; k++)
		if (sim_broker_node_node(run->brokers->pdata[k]) == node)
			broker = sim_broker_node_broker(run->brokers->pdata[k]);
	if (broker == NULL)
		return g_strdup_printf("%s is down", e->node);
	char *path = g_strdup_printf("/%s", e->name);
	BrokerMonitorArg args[] = { { "subs", strcmp(e->name, "connz") == 0 ? "detail" : "1" } };
	int status;
	const char *type;
	char *body = broker_monitor(broker, path, args, strcmp(e->name, "varz") == 0 ? 0 : 1, NULL,
	    sim_node_clock_ns(node), &status, &type);
	g_free(path);
	json_t *root = json_loads(body, 0, NULL);
	g_free(body);
	json_t *v = root ? scn_json_path(root, e->path) : NULL;
	char *problem = v == NULL ? g_strdup_printf("%s has no %s", e->name, e->path) : scn_expect_value_check(e, v);
	json_decref(root);
	return problem;
}

static void
monitor_event(void *ctx, uint64_t arg)
{
	Run *run = ctx;
	const ScnExpect *e = run->scn->expects->pdata[arg];
	char *problem = monitor_check(run, e);
	g_hash_table_insert(run->monitor_results, GUINT_TO_POINTER((guint)arg + 1), problem ? problem : g_strdup(""));
}

/* ---- checking ---- */

/* The checks' 64-bit keys combine their parts by folding each in (a
 * bijection in the state and in the part: xor, multiply by an odd
 * constant, xor-shift) and finishing with murmur3's fmix64: distinct
 * parts collide about as rarely as with any 64-bit hash, for a fraction
 * of an XXH3 call. Keys only pick slots of tables that are never walked. */
static inline uint64_t
key_fold(uint64_t h, uint64_t part)
{
	h = (h ^ part) * UINT64_C(0x9e3779b97f4a7c15);
	return h ^ (h >> 32);
}

static inline uint64_t
key_finish(uint64_t h)
{
	h ^= h >> 33;
	h *= UINT64_C(0xff51afd7ed558ccd);
	h ^= h >> 33;
	h *= UINT64_C(0xc4ceb9fe1a85ec53);
	return h ^ (h >> 33);
}

static uint64_t
id_with(uint64_t id, uint64_t a, uint64_t b)
{
	return key_finish(key_fold(key_fold(key_fold(0, id), a), b));
}

/* The always-on checks count per 64-bit key, over every publish and every
 * delivery of a run: an open-addressing table (linear probing, power-of-two
 * capacity, at most half full) of keys - already hashes - to 64-bit values,
 * with no allocation per key. Keys are never 0 (COUNTS_KEY_ZERO stands in
 * for it: a collision as likely as any other of 64-bit hashes). The table
 * is looked up and updated, never walked: where a key lands cannot show. */
typedef struct Counts {
	uint64_t *keys;
	uint64_t *values;
	size_t mask;
	size_t count;
} Counts;

#define COUNTS_KEY_ZERO UINT64_C(0x9e3779b97f4a7c15)

static void
counts_init(Counts *c, size_t expected)
{
	size_t cap = 16;
	while (cap < expected * 2)
		cap <<= 1;
	c->keys = g_new0(uint64_t, cap);
	c->values = g_new(uint64_t, cap);
	c->mask = cap - 1;
	c->count = 0;
}

static void
counts_deinit(Counts *c)
{
	g_free(c->keys);
	g_free(c->values);
	*c = (Counts){ 0 };
}

static inline size_t
counts_find(const Counts *c, uint64_t key)
{
	size_t i = (size_t)(key ^ (key >> 29)) & c->mask;
	while (c->keys[i] != 0 && c->keys[i] != key)
		i = (i + 1) & c->mask;
	return i;
}

/* The value of key, 0 when absent. */
static uint64_t
counts_get(const Counts *c, uint64_t key)
{
	key = key ? key : COUNTS_KEY_ZERO;
	size_t i = counts_find(c, key);
	return c->keys[i] == key ? c->values[i] : 0;
}

/* Doubles the table (rare: tables are sized for the run up front). */
static void
counts_grow(Counts *c)
{
	Counts bigger;
	counts_init(&bigger, c->mask + 1);
	for (size_t k = 0; k <= c->mask; k++)
		if (c->keys[k] != 0) {
			size_t j = counts_find(&bigger, c->keys[k]);
			bigger.keys[j] = c->keys[k];
			bigger.values[j] = c->values[k];
		}
	bigger.count = c->count;
	counts_deinit(c);
	*c = bigger;
}

/* Where key's value lives (0 when it was absent). The pointer is good
 * until the next counts_slot. */
static inline uint64_t *
counts_slot(Counts *c, uint64_t key)
{
	key = key ? key : COUNTS_KEY_ZERO;
	size_t i = counts_find(c, key);
	if (c->keys[i] == key)
		return &c->values[i];
	if ((c->count + 1) * 2 > c->mask + 1) {
		counts_grow(c);
		i = counts_find(c, key);
	}
	c->keys[i] = key;
	c->values[i] = 0;
	c->count++;
	return &c->values[i];
}

/* What proto_subject_matches(s, s) answers, without the two-sided walk:
 * a string matches itself (a wildcard matches any token, itself too)
 * unless a token before the first '>' is empty. */
static bool
matches_itself(const char *s)
{
	const char *token = s;
	for (const char *p = s;; p++) {
		if (*p != '.' && *p != '\0')
			continue;
		if (p == token)
			return false;
		if (p - token == 1 && token[0] == '>')
			return true;
		if (*p == '\0')
			return true;
		token = p + 1;
	}
}

/* A message's identity for the checks: subject and payload (hash and
 * length) folded into 64 bits; then combined with what it is counted per
 * (a subscription, a queue group, a publisher). The subject's hash is
 * remembered: subjects are interned, and come in runs. */
typedef struct SubjectHash {
	const char *subject;
	uint64_t hash;
} SubjectHash;

static uint64_t
msg_id_cached(SubjectHash *cache, const char *subject, uint64_t hash, uint32_t len)
{
	if (cache->subject != subject) {
		cache->subject = subject;
		cache->hash = XXH3_64bits(subject, strlen(subject));
	}
	return key_finish(key_fold(key_fold(cache->hash, hash), len));
}

/* A delivery's message identity, computed once for all the checks. */
static uint64_t
dlv_msg_id(SubjectHash *cache, Dlv *d)
{
	if (!d->has_id) {
		d->id = msg_id_cached(cache, d->subject, d->hash, d->len);
		d->has_id = true;
	}
	return d->id;
}

static bool
subject_ok(const char *pattern, const char *subject)
{
	if (pattern == NULL)
		return true;
	/* Most checks compare a subject with itself (interned, or a literal
	 * subscription): they end here. */
	if (pattern == subject || strcmp(pattern, subject) == 0)
		return matches_itself(subject);
	return proto_subject_matches(pattern, strlen(pattern), subject, strlen(subject));
}

static uint64_t
count_deliveries(Run *run, uint32_t client, const char *subject)
{
	uint64_t n = 0;
	const char *matched = NULL; /* subjects are interned: match each once in a row */
	bool matched_ok = false;
	for (guint k = 0; k < run->dlvs.len; k++) {
		Dlv *d = &run->dlvs.v[k];
		if (d->client != client || d->status != 0)
			continue;
		if (d->subject != matched) {
			matched = d->subject;
			matched_ok = subject_ok(subject, d->subject);
		}
		n += matched_ok;
	}
	return n;
}

/* What a client got, briefly, for failure messages. */
static char *
describe_received(Run *run, uint32_t client, const char *subject)
{
	GString *s = g_string_new(NULL);
	uint64_t n = 0;
	for (guint k = 0; k < run->dlvs.len; k++) {
		Dlv *d = &run->dlvs.v[k];
		if (d->client != client || !subject_ok(subject, d->subject))
			continue;
		if (n++ < 5) {
			char *t = fmt_time(d->at_ns);
			g_string_append_printf(s, "%s%s (%u bytes) at %s", n > 1 ? ", " : "", d->subject, d->len, t);
			g_free(t);
		}
	}
	if (n == 0)
		g_string_append(s, "nothing");
	else if (n > 5)
		g_string_append_printf(s, " and %" G_GUINT64_FORMAT " more", n - 5);
	return g_string_free(s, FALSE);
}

static void
check_expectation(Run *run, guint index)
{
	const ScnExpect *e = run->scn->expects->pdata[index];
	if (scn_js_handles_expect(e->kind)) {
		scn_js_check_expectation(run->js, index);
		return;
	}
	RunClient *rc = e->clients->len ? client_named(run, e->clients->pdata[0]) : NULL;
	int64_t end = sim_world_now_ns(run->world);
	switch (e->kind) {
	case SCN_EXP_RECEIVES_PAYLOAD: {
		uint64_t hash = payload_hash(e->payload, e->payload_len), n = 0;
		for (guint k = 0; k < run->dlvs.len; k++) {
			Dlv *d = &run->dlvs.v[k];
			n += d->client == rc->index && d->hash == hash && d->len == e->payload_len &&
			    subject_ok(e->subject, d->subject) && scn_expect_time_ok(e, d->at_ns);
		}
		bool ok = e->has_times ? n == e->times : n > 0;
		if (!ok) {
			char *got = describe_received(run, rc->index, e->subject);
			fail(run, e->pos, e->text, -1, "matched %" G_GUINT64_FORMAT " time(s); %s received: %s", n,
			    rc->decl->name, got);
			g_free(got);
		}
		break;
	}
	case SCN_EXP_RECEIVES_COUNT:
	case SCN_EXP_NEVER_RECEIVES: {
		uint64_t n = count_deliveries(run, rc->index, e->subject);
		uint64_t hi = e->kind == SCN_EXP_NEVER_RECEIVES ? 0 : e->hi;
		if (n < (e->kind == SCN_EXP_NEVER_RECEIVES ? 0 : e->lo) || n > hi)
			fail(run, e->pos, e->text, -1, "%s received %" G_GUINT64_FORMAT, rc->decl->name, n);
		break;
	}
	case SCN_EXP_EACH_RECEIVES:
		for (guint c = 0; c < e->clients->len; c++) {
			RunClient *x = client_named(run, e->clients->pdata[c]);
			uint64_t n = count_deliveries(run, x->index, e->subject);
			if (n < e->lo || n > e->hi)
				fail(run, e->pos, e->text, -1, "%s received %" G_GUINT64_FORMAT, x->decl->name, n);
		}
		break;
	case SCN_EXP_EXACTLY_ONCE: {
		bool *mine = g_new0(bool, run->clients->len);
		for (guint c = 0; c < e->clients->len; c++)
			mine[client_named(run, e->clients->pdata[c])->index] = true;
		Counts seen;
		counts_init(&seen, run->dlvs.len);
		SubjectHash subject_hash = { 0 };
		const char *matched = NULL; /* subjects are interned: match each once in a row */
		bool matched_ok = false;
		uint64_t total = 0, dups = 0;
		for (guint k = 0; k < run->dlvs.len; k++) {
			Dlv *d = &run->dlvs.v[k];
			if (!mine[d->client] || d->status != 0)
				continue;
			if (d->subject != matched) {
				matched = d->subject;
				matched_ok = subject_ok(e->subject, d->subject);
			}
			if (!matched_ok)
				continue;
			total++;
			if (++*counts_slot(&seen, dlv_msg_id(&subject_hash, d)) > 1)
				dups++;
		}
		g_free(mine);
		uint64_t want = e->lo;
		if (e->all) {
			/* every publish on a matching subject, by anyone */
			want = 0;
			const char *pub_matched = NULL; /* interned: match each once in a row */
			bool pub_matched_ok = false;
			for (guint k = 0; k < run->pubs.len; k++) {
				const Pub *p = &run->pubs.v[k];
				if (p->subject != pub_matched) {
					pub_matched = p->subject;
					pub_matched_ok = subject_ok(e->subject, p->subject);
				}
				want += pub_matched_ok;
			}
		}
		if (total != want || dups > 0)
			fail(run, e->pos, e->text, -1, "they received %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT
			    " messages, %" G_GUINT64_FORMAT " of them more than once", total, want, dups);
		counts_deinit(&seen);
		break;
	}
	case SCN_EXP_REQUEST_GETS:
	case SCN_EXP_REQUEST_FAILS: {
		bool matched = false;
		GString *got = g_string_new(NULL);
		for (guint k = 0; k < run->requests->len; k++) {
			RequestRec *r = run->requests->pdata[k];
			if (r->client != rc->index || strcmp(r->subject, e->subject) != 0)
				continue;
			const char *status = r->done ? r->status : "no answer";
			g_string_append_printf(got, "%s%s", got->len ? ", " : "", status);
			if (e->kind == SCN_EXP_REQUEST_GETS)
				matched |= r->done && strcmp(r->status, client_status_str(CLIENT_OK)) == 0 &&
				    r->hash == payload_hash(e->payload, e->payload_len) && r->len == e->payload_len;
			else if (strcmp(e->name, "no-responders") == 0)
				matched |= r->done && strcmp(r->status, client_status_str(CLIENT_ERR_NO_RESPONDERS)) == 0;
			else
				matched |= r->done && strcmp(r->status, client_status_str(CLIENT_ERR_TIMEOUT)) == 0;
		}
		if (!matched)
			fail(run, e->pos, e->text, -1, "the requests on %s ended: %s", e->subject, got->len ? got->str : "none made");
		g_string_free(got, TRUE);
		break;
	}
	case SCN_EXP_DISCONNECTED:
	case SCN_EXP_RECONNECTED: {
		uint64_t n = e->kind == SCN_EXP_DISCONNECTED ? rc->disconnects : rc->reconnects;
		if (e->has_times ? n != e->times : n == 0)
			fail(run, e->pos, e->text, -1, "%s %s %" G_GUINT64_FORMAT " time(s)", rc->decl->name,
			    e->kind == SCN_EXP_DISCONNECTED ? "disconnected" : "reconnected", n);
		break;
	}
	case SCN_EXP_ERROR: {
		bool found = false;
		for (guint k = 0; k < run->errors->len && !found; k++) {
			ErrorRec *r = &g_array_index(run->errors, ErrorRec, k);
			found = r->client == rc->index && strcmp(r->text, e->payload) == 0;
		}
		if (!found)
			fail(run, e->pos, e->text, -1, "%s saw no error '%s'", rc->decl->name, e->payload);
		break;
	}
	case SCN_EXP_PROBE: {
		char *key = g_strdup_printf("%s/%s", e->node, e->name);
		guint64 *n = g_hash_table_lookup(run->result->probes, key);
		g_free(key);
		double hits = n ? (double)*n : 0;
		if (!scn_op_holds(e->op, hits, e->number))
			fail(run, e->pos, e->text, -1, "probe %s was hit %g time(s)", e->name, hits);
		break;
	}
	case SCN_EXP_MONITOR: {
		char *problem = NULL;
		if (e->at_end) {
			problem = monitor_check(run, e);
		} else {
			const char *snap = g_hash_table_lookup(run->monitor_results, GUINT_TO_POINTER(index + 1));
			problem = snap == NULL ? g_strdup("the run ended before that time") : snap[0] ? g_strdup(snap) : NULL;
		}
		if (problem != NULL)
			fail(run, e->pos, e->text, e->at_end ? end : e->t1_ns, "%s (wanted %s %s)", problem, scn_op_str(e->op), e->value);
		g_free(problem);
		break;
	}
	default:
		UNREACHABLE(); /* JetStream kinds went to scenario_js.c */
	}
}

/* The always-on invariants (scenarios/README.md, "Always-on checks"). */
static void
check_invariants(Run *run)
{
	ScnPos none = { 0, 0 };
	/* Per message identity: how often it was published (low 32 bits,
	 * saturating) and which publish came first (index + 1, high 32 bits);
	 * a message published once has a known origin. */
	ASSERT(run->pubs.len < UINT32_MAX);
	Counts pubs;
	counts_init(&pubs, run->pubs.len);
	SubjectHash subject_hash = { 0 };
	for (guint k = 0; k < run->pubs.len; k++) {
		Pub *p = &run->pubs.v[k];
		uint64_t *v = counts_slot(&pubs, msg_id_cached(&subject_hash, p->subject, p->hash, p->len));
		if (*v == 0)
			*v = (uint64_t)(k + 1) << 32;
		if ((*v & UINT32_MAX) != UINT32_MAX)
			(*v)++;
	}
	Counts per_sub, per_group, last_seq;
	counts_init(&per_sub, run->dlvs.len);
	/* sized for the run up front: growing a table costs a rehash */
	counts_init(&per_group, run->dlvs.len);
	counts_init(&last_seq, 16);
	bool reported_unknown = false, reported_dup = false, reported_group = false, reported_order = false;
	RunSub *cached_sub = NULL; /* the previous delivery's sub, from client cached_client's list */
	uint32_t cached_client = UINT32_MAX;
	for (guint k = 0; k < run->dlvs.len; k++) {
		Dlv *d = &run->dlvs.v[k];
		/* JetStream deliveries, advisories and API answers come from the
		 * broker itself, not from a publishing client */
		if (d->status != 0 || d->js || (d->subject[0] == '$' && strncmp(d->subject, "$JS.", 4) == 0))
			continue;
		RunClient *rc = run->clients->pdata[d->client];
		/* (a RunSub is in one client's list only: it is in rc's exactly
		 * when it came from rc's) */
		RunSub *sub = cached_sub != NULL && cached_sub->sid == d->sid && cached_client == d->client ? cached_sub
													 : NULL;
		for (guint s = 0; s < rc->subs->len && sub == NULL; s++)
			if (((RunSub *)rc->subs->pdata[s])->sid == d->sid)
				sub = rc->subs->pdata[s];
		cached_sub = sub;
		cached_client = d->client;
		if (sub != NULL && sub->checked_subject != d->subject) {
			/* subjects are interned: one match per sub and subject */
			sub->checked_subject = d->subject;
			sub->checked_ok = subject_ok(sub->subject, d->subject);
		}
		if (sub == NULL || !sub->checked_ok) {
			if (!reported_unknown)
				fail(run, none, "no delivery without a subscription", d->at_ns,
				    "%s received %s on sid %" G_GUINT64_FORMAT ", which it never subscribed to that subject",
				    rc->decl->name, d->subject, d->sid);
			reported_unknown = true;
			continue;
		}
		uint64_t id = dlv_msg_id(&subject_hash, d);
		uint64_t pub = counts_get(&pubs, id);
		uint64_t limit = pub & UINT32_MAX;
		uint64_t got = ++*counts_slot(&per_sub, id_with(id, d->client, d->sid));
		if (got > limit && !reported_dup) {
			fail(run, none, "no phantom or duplicate core messages", d->at_ns,
			    "%s received %s (%u bytes) %" G_GUINT64_FORMAT " time(s) on sid %" G_GUINT64_FORMAT
			    " but it was published %" G_GUINT64_FORMAT " time(s)", rc->decl->name, d->subject, d->len, got,
			    d->sid, limit);
			reported_dup = true;
		}
		if (sub->queue != NULL) {
			if (!sub->queue_hashed) {
				sub->queue_hash = XXH3_64bits(sub->queue, strlen(sub->queue));
				sub->queue_hashed = true;
			}
			uint64_t g = ++*counts_slot(&per_group, id_with(id, sub->queue_hash, 0));
			if (g > limit && !reported_group) {
				fail(run, none, "a queue group gets each message at most once", d->at_ns,
				    "queue group %s got %s (%u bytes) %" G_GUINT64_FORMAT " times", sub->queue, d->subject, d->len, g);
				reported_group = true;
			}
		}
		Pub *origin = limit == 1 ? &run->pubs.v[(pub >> 32) - 1] : NULL;
		if (origin != NULL) {
			uint64_t key = id_with(((uint64_t)d->client << 32) | origin->client, d->sid, 1);
			uint64_t *last = counts_slot(&last_seq, key);
			if (origin->seq < *last && !reported_order) {
				RunClient *pc = run->clients->pdata[origin->client];
				fail(run, none, "each subscriber sees each publisher's messages in order", d->at_ns,
				    "%s got %s's publish #%" G_GUINT64_FORMAT " after #%" G_GUINT64_FORMAT, rc->decl->name,
				    pc->decl->name, origin->seq, *last);
				reported_order = true;
			}
			if (origin->seq > *last)
				*last = origin->seq;
		}
	}
	/* Protocol errors need an expectation naming them; staleness is a
	 * network outcome, not a protocol error. */
	for (guint k = 0; k < run->errors->len; k++) {
		ErrorRec *r = &g_array_index(run->errors, ErrorRec, k);
		if (strcmp(r->status, client_status_str(CLIENT_ERR_STALE)) == 0)
			continue;
		bool expected = false;
		RunClient *rc = run->clients->pdata[r->client];
		for (guint x = 0; x < run->scn->expects->len && !expected; x++) {
			const ScnExpect *e = run->scn->expects->pdata[x];
			expected = e->kind == SCN_EXP_ERROR && strcmp(e->clients->pdata[0], rc->decl->name) == 0 &&
			    strcmp(e->payload, r->text) == 0;
		}
		if (!expected) {
			fail(run, none, "protocol errors only where expected", r->at_ns, "%s got an error: %s (%s)",
			    rc->decl->name, r->text, r->status);
			break;
		}
	}
	counts_deinit(&pubs);
	counts_deinit(&per_sub);
	counts_deinit(&per_group);
	counts_deinit(&last_seq);
}

/* ---- building and running ---- */

/* What scenario_js.c borrows from the run. */
static SimClientNode *
host_client_node(void *ctx, uint32_t client)
{
	Run *run = ctx;
	return ((RunClient *)run->clients->pdata[client])->node;
}

static uint32_t
host_client_index(void *ctx, const char *name)
{
	RunClient *rc = client_named(ctx, name);
	return rc != NULL ? rc->index : UINT32_MAX;
}

static Broker *
host_broker(void *ctx, const char *name)
{
	Run *run = ctx;
	SimNode *node = sim_world_node(run->world, name);
	for (guint k = 0; k < run->brokers->len; k++)
		if (sim_broker_node_node(run->brokers->pdata[k]) == node)
			return sim_broker_node_broker(run->brokers->pdata[k]);
	return NULL;
}

static void
host_fail(void *ctx, ScnPos pos, const char *what, int64_t at_ns, const char *message)
{
	fail(ctx, pos, what, at_ns, "%s", message);
}

/* Messages JetStream cares about: deliveries (to ack them) and advisories. */
static void
node_msg(void *ctx, SimClientNode *node, const ClientMsg *msg)
{
	Run *run = ctx;
	bool js = (msg->reply_len > 8 && memcmp(msg->reply, "$JS.ACK.", 8) == 0) ||
	    (msg->subject_len > 10 && memcmp(msg->subject, "$JS.EVENT.", 10) == 0);
	if (!js)
		return;
	RunClient *rc = g_hash_table_lookup(run->client_by_node_name, sim_node_name(sim_client_node_sim(node)));
	if (rc == NULL)
		rc = client_named(run, sim_node_name(sim_client_node_sim(node)));
	if (rc != NULL)
		scn_js_on_msg(run->js, rc->index, msg);
}

static void
apply_link(SimWorld *world, SimNode *from, SimNode *to, const ScnLinkOpts *o)
{
	SimLinkConfig c = sim_net_link(world, from, to);
	if (o->set & SCN_LINK_LATENCY)
		c.latency_ns = o->latency_ns;
	if (o->set & SCN_LINK_JITTER)
		c.jitter_ns = o->jitter_ns;
	if (o->set & SCN_LINK_BANDWIDTH)
		c.bandwidth_bytes_per_s = o->bandwidth_bytes_per_s;
	if (o->set & SCN_LINK_SEGMENT)
		c.segment_bytes_max = o->segment_bytes_max;
	if (o->set & SCN_LINK_SPLIT)
		c.segment_split_chance = o->split_chance;
	if (o->set & SCN_LINK_WINDOW)
		c.window_bytes = o->window_bytes;
	if (o->set & SCN_LINK_PARTITION_RESET)
		c.partition_reset_ns = o->partition_reset_ns;
	sim_net_link_set(world, from, to, &c);
}

static void
sub_free(RunSub *s)
{
	g_free(s->subject);
	g_free(s->queue);
	g_free(s);
}

static void
request_free(RequestRec *r)
{
	g_free(r->subject);
	g_free(r->status);
	g_free(r);
}

ScnResult *
scenario_run(const Scenario *scn, const ScnRunOptions *options)
{
	static const ScnRunOptions defaults = { 0 };
	if (options == NULL)
		options = &defaults;
	ScnResult *result = g_new0(ScnResult, 1);
	result->ok = true;
	result->seed = scn->seed;
	result->failures = g_ptr_array_new();
	result->records = g_array_new(FALSE, FALSE, sizeof(ScnRecord));
	result->probes = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);

	Run *run = g_new0(Run, 1);
	run->scn = scn;
	run->options = options;
	run->result = result;
	run->brokers = g_ptr_array_new();
	run->clients = g_ptr_array_new();
	run->client_by_name = g_hash_table_new(g_str_hash, g_str_equal);
	run->requests = g_ptr_array_new_with_free_func((GDestroyNotify)request_free);
	run->errors = g_array_new(FALSE, FALSE, sizeof(ErrorRec));
	run->monitor_results = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
	run->interned = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	run->payload = g_string_new(NULL);
	run->client_by_node_name = g_hash_table_new(g_direct_hash, g_direct_equal);
	/* Room for the publishes the timeline makes (and as many deliveries)
	 * up front: growing these arrays copies them. Only a hint. */
	uint64_t planned = 0;
	for (guint k = 0; k < scn->actions->len; k++) {
		const ScnAction *a = scn->actions->pdata[k];
		if (a->kind == SCN_ACT_PUBLISH)
			planned += MAX(a->count, 1) * a->actors->len;
	}
	planned = MIN(planned, RECORDS_RESERVE_MAX);
	run->pubs.cap = run->dlvs.cap = (guint)planned;
	run->pubs.v = g_new(Pub, run->pubs.cap);
	run->dlvs.v = g_new(Dlv, run->dlvs.cap);

	SimWorldConfig wc = { .seed = scn->seed, .shuffle_ties = options->shuffle_ties, .link = sim_link_config_default() };
	run->world = sim_world_create(&wc);
	SimTrace *trace = sim_world_trace(run->world);
	sim_trace_set_sink(trace, options->trace_sink);
	sim_trace_set_listener(trace, listener, run);

	for (guint k = 0; k < scn->brokers->len; k++) {
		const ScnBroker *b = scn->brokers->pdata[k];
		BrokerConfig bc = b->config;
		bc.test_drop_one_in = options->planted_drop_one_in;
		SimBrokerNode *bn = sim_broker_node_create(run->world, b->name, &bc, b->port);
		g_ptr_array_add(run->brokers, bn);
		if (b->disk_capacity_bytes > 0 || b->torn_write_chance > 0) {
			SimDiskConfig dc = { b->disk_capacity_bytes, b->torn_write_chance };
			sim_disk_configure(sim_node_disk(sim_broker_node_node(bn)), &dc);
		}
	}
	for (guint k = 0; k < scn->clients->len; k++) {
		const ScnClient *c = scn->clients->pdata[k];
		RunClient *rc = g_new0(RunClient, 1);
		rc->decl = c;
		rc->index = k;
		rc->subs = g_ptr_array_new_with_free_func((GDestroyNotify)sub_free);
		g_ptr_array_add(run->clients, rc);
		g_hash_table_insert(run->client_by_name, c->name, rc);
		const ScnBroker *b = NULL;
		for (guint j = 0; j < scn->brokers->len; j++)
			if (strcmp(((ScnBroker *)scn->brokers->pdata[j])->name, c->broker) == 0)
				b = scn->brokers->pdata[j];
		ASSERT(b != NULL);
		SimClientNodeOptions o = sim_client_node_options_default(c->name, c->broker);
		o.port = b->port;
		o.client.echo = c->echo;
		o.client.user = c->user;
		o.client.password = c->password;
		o.client.token = c->token;
		if (c->conn_name != NULL)
			o.client.name = c->conn_name;
		o.client.reconnect = c->reconnect;
		if (c->reconnect_wait_ns > 0)
			o.client.reconnect_wait_ns = c->reconnect_wait_ns;
		if (c->ping_interval_ns > 0)
			o.client.ping_interval_ns = c->ping_interval_ns;
		if (c->ping_max > 0)
			o.client.pings_out_max = c->ping_max;
		o.connect_at_ns = c->connect_at_ns;
		static const SimClientNodeCallbacks node_callbacks = { .msg = node_msg };
		rc->node = sim_client_node_create(run->world, &o, &node_callbacks, run);
		SimNode *cn = sim_client_node_sim(rc->node);
		SimNode *bn = sim_world_node(run->world, c->broker);
		apply_link(run->world, cn, bn, &c->link);
		apply_link(run->world, bn, cn, &c->link);
	}
	for (guint k = 0; k < scn->links->len; k++) {
		const ScnLink *l = scn->links->pdata[k];
		SimNode *a = sim_world_node(run->world, l->from), *b = sim_world_node(run->world, l->to);
		apply_link(run->world, a, b, &l->opts);
		if (l->both_ways)
			apply_link(run->world, b, a, &l->opts);
	}
	ScnJsHost host = { run->world, scn, run, host_client_node, host_client_index, host_broker, host_fail };
	run->js = scn_js_create(&host);
	for (guint k = 0; k < scn->actions->len; k++) {
		const ScnAction *a = scn->actions->pdata[k];
		sim_world_at(run->world, a->at_ns, action_event, run, k);
	}
	for (guint k = 0; k < scn->expects->len; k++) {
		const ScnExpect *e = scn->expects->pdata[k];
		if (e->kind == SCN_EXP_MONITOR && !e->at_end)
			sim_world_at(run->world, e->t1_ns, monitor_event, run, k);
	}

	SimRunStatus status = sim_world_run(run->world, scenario_end_ns(scn));
	if (status == SIM_RUN_LIMIT)
		fail(run, (ScnPos){ 0, 0 }, "the run ends", sim_world_now_ns(run->world), "the event limit was reached");
	/* The run's story ends here: checks may read the cores (JetStream's
	 * end-of-run reads go through the broker) without touching it. */
	result->virtual_ns = sim_world_now_ns(run->world);
	result->events = sim_world_events_run(run->world);
	result->fingerprint = trace->fingerprint;
	result->trace_events = trace->count;
	sim_trace_set_listener(trace, NULL, NULL);
	sim_trace_set_sink(trace, NULL);
	for (guint k = 0; k < scn->expects->len; k++) {
		const ScnExpect *e = scn->expects->pdata[k];
		if (!e->has_seed || e->only_seed == scn->seed)
			check_expectation(run, k);
	}
	check_invariants(run);
	scn_js_check_invariants(run->js);

	/* Teardown. */
	for (guint k = 0; k < run->clients->len; k++) {
		RunClient *rc = run->clients->pdata[k];
		sim_client_node_destroy(rc->node);
		g_ptr_array_free(rc->subs, TRUE);
		g_free(rc);
	}
	for (guint k = 0; k < run->brokers->len; k++)
		sim_broker_node_destroy(run->brokers->pdata[k]);
	sim_world_destroy(run->world);
	scn_js_free(run->js);
	for (guint k = 0; k < run->errors->len; k++) {
		g_free(g_array_index(run->errors, ErrorRec, k).status);
		g_free(g_array_index(run->errors, ErrorRec, k).text);
	}
	g_free(run->pubs.v);
	g_free(run->dlvs.v);
	g_array_free(run->errors, TRUE);
	g_ptr_array_free(run->requests, TRUE);
	g_ptr_array_free(run->brokers, TRUE);
	g_ptr_array_free(run->clients, TRUE);
	g_hash_table_destroy(run->client_by_name);
	g_hash_table_destroy(run->monitor_results);
	g_hash_table_destroy(run->interned);
	g_string_free(run->payload, TRUE);
	g_hash_table_destroy(run->client_by_node_name);
	g_free(run);
	return result;
}

void
scn_result_free(ScnResult *result)
{
	if (result == NULL)
		return;
	for (guint k = 0; k < result->failures->len; k++) {
		ScnFailure *f = result->failures->pdata[k];
		g_free(f->what);
		g_free(f->message);
		g_free(f);
	}
	g_ptr_array_free(result->failures, TRUE);
	for (guint k = 0; k < result->records->len; k++) {
		ScnRecord *r = &g_array_index(result->records, ScnRecord, k);
		g_free(r->node);
		g_free(r->detail);
	}
	g_array_free(result->records, TRUE);
	g_hash_table_destroy(result->probes);
	g_free(result);
}

char *
scn_result_describe(const Scenario *scn, const ScnResult *result)
{
	GString *s = g_string_new(NULL);
	for (guint k = 0; k < result->failures->len; k++) {
		const ScnFailure *f = result->failures->pdata[k];
		if (f->pos.line > 0)
			g_string_append_printf(s, "%s:%d: %s: %s", scn->path, f->pos.line, f->what, f->message);
		else
			g_string_append_printf(s, "%s: always-on check \"%s\": %s", scn->path, f->what, f->message);
		if (f->at_ns >= 0) {
			char *t = scenario_format_duration(f->at_ns);
			g_string_append_printf(s, " (at %s)", t);
			g_free(t);
		}
		g_string_append_c(s, '\n');
	}
	return g_string_free(s, FALSE);
}
