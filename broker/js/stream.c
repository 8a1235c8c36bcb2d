/*
 * stream.c - JetStream streams: the StreamConfig (parsing, nats-server's
 * defaults and validation, update rules), storing publishes (PubAck,
 * dedupe, Nats-Expected-*, rollup, sizes, limits and discard, retention),
 * the max_age and dedupe timers, purge, message get/delete, direct get,
 * StreamInfo, and the stream API handlers.
 *
 * Callers: jetstream.c (the router, the ticker, restore and shutdown),
 * consumer.c (accessors, consumer add/remove, acks), and the broker's
 * routing, which calls stream_on_publish for every message on a stream
 * subject through the stream's internal subscriptions.
 *
 * It follows nats-server v2.10.29 server/stream.go (processJetStreamMsg,
 * checkStreamCfg, configUpdateCheck, purge) and jetstream_api.go, and the
 * newest release where they differ (docs/jetstream.md lists each case).
 * Limits are enforced here, above the store, so both stores behave alike:
 * the checks of memStore.storeRawMsg / fileStore.storeRawMsg (discard new)
 * run before the store call, and the evictions (per subject, max_msgs,
 * max_bytes) right after it.
 *
 * Invariants: consumers is sorted by name; the dedupe table and queue hold
 * the same entries, the queue in store order; age_at is INT64_MAX exactly
 * when there is no max_age or the store is empty (then the timer starts
 * with the next store); dedupe_at is INT64_MAX exactly when the dedupe
 * table is empty.
 */
#include "broker/js/js.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/internal.h"
#include "proto/assert.h"
#include "proto/headers.h"
#include "proto/subject.h"

#define JS_NAME_LEN_MAX 255          /* JSMaxNameLen */
#define JS_DESCRIPTION_LEN_MAX 4096  /* JSMaxDescriptionLen */
#define JS_METADATA_LEN_MAX (128 * 1024) /* JSMaxMetadataLen */
#define JS_REPLICAS_MAX 5            /* StreamMaxReplicas */
#define JS_DUPLICATES_DEFAULT_NS (2 * 60 * JS_NS_PER_S)
#define JS_MIN_WINDOW_NS (100 * JS_NS_PER_MS)
#define JS_DEDUPE_MIN_FIRE_NS (50 * JS_NS_PER_MS)
#define JS_HDR_LEN_MAX 65535         /* math.MaxUint16 */
#define JS_NAMES_LIMIT 1024          /* JSApiNamesLimit */
#define JS_LIST_LIMIT 256            /* JSApiListLimit */
#define JS_SUBJECT_DETAILS_MAX 100000 /* JSMaxSubjectDetails */
#define JS_FIRST_SEQ_MAX (UINT64_C(1) << 20) /* natsim: first_seq is reached by skips */

/* ---- the config ---- */

typedef struct StreamCfg {
	char *name;
	char *description;
	GPtrArray *subjects; /* char* (owned) */
	JsRetention retention;
	int64_t max_consumers;
	int64_t max_msgs;
	int64_t max_bytes;
	int64_t max_age_ns;
	int64_t max_msgs_per_subject;
	int64_t max_msg_size;
	bool discard_new;
	JsStorageType storage;
	int64_t num_replicas;
	bool no_ack;
	char *template_owner;
	int64_t duplicate_window_ns;
	json_t *placement;
	json_t *mirror;
	json_t *sources;
	bool compression_s2;
	uint64_t first_seq;
	json_t *subject_transform;
	json_t *republish; /* {src, dest, headers_only} after defaults */
	bool allow_direct;
	bool mirror_direct;
	bool discard_new_per_subject;
	bool sealed;
	bool deny_delete;
	bool deny_purge;
	bool allow_rollup_hdrs;
	int64_t limit_inactive_threshold_ns;
	int64_t limit_max_ack_pending;
	json_t *metadata;
} StreamCfg;

typedef struct DedupeEntry {
	char *id; /* owned; also the table key */
	uint64_t seq;
	int64_t ts_ns;
} DedupeEntry;

struct JsStream {
	JsServer *js;
	StreamCfg cfg;
	int64_t created_ns;
	JsStore *store;
	bool store_is_mem; /* bytes counted as the memory store counts them */
	GPtrArray *subs;   /* BrokerInternalSub* on cfg.subjects */
	BrokerInternalSub *direct_sub;
	BrokerInternalSub *direct_last_sub;
	GPtrArray *consumers; /* JsConsumer*, sorted by name */
	char *puback_prefix;  /* {"stream":"NAME", "seq": */

	GHashTable *dedupe;  /* id -> DedupeEntry* (owned) */
	GQueue dedupe_order; /* DedupeEntry*, oldest first */
	int64_t dedupe_at;   /* the sweep; INT64_MAX when none */
	char *last_msg_id;   /* Msg-Id of the last stored message, "" when none */

	int64_t age_at; /* the max_age check; INT64_MAX when none */

	/* Re-entrancy: a PubAck or republish is an internal publish, and one
	 * aimed at $JS.API.STREAM.DELETE.<this stream> deletes the stream
	 * while stream_on_publish is still running. Then the stream is taken
	 * apart at once but its struct lives until that call returns. */
	uint32_t busy;
	bool dead;
	/* Bumped when a consumer is added or removed, so a walk over a
	 * snapshot of consumers notices one that went meanwhile. */
	uint64_t consumers_gen;
};

static void
cfg_clear(StreamCfg *c)
{
	g_free(c->name);
	g_free(c->description);
	if (c->subjects != NULL)
		g_ptr_array_free(c->subjects, TRUE);
	g_free(c->template_owner);
	json_decref(c->placement);
	json_decref(c->mirror);
	json_decref(c->sources);
	json_decref(c->subject_transform);
	json_decref(c->republish);
	json_decref(c->metadata);
	memset(c, 0, sizeof(*c));
}

/* ---- JSON field readers: Go's encoding/json rules. A missing key or null
 * leaves the field alone; a value of the wrong type fails the whole
 * decode (invalid JSON, 10025). ---- */

static bool
rd_string(json_t *o, const char *key, char **out)
{
	json_t *v = json_object_get(o, key);
	if (v == NULL || json_is_null(v))
		return true;
	if (!json_is_string(v))
		return false;
	g_free(*out);
	*out = g_strdup(json_string_value(v));
	return true;
}

static bool
rd_int(json_t *o, const char *key, int64_t min, int64_t max, int64_t *out)
{
	json_t *v = json_object_get(o, key);
	if (v == NULL || json_is_null(v))
		return true;
	if (!json_is_integer(v))
		return false;
	json_int_t x = json_integer_value(v);
	if (x < min || x > max)
		return false;
	*out = x;
	return true;
}

static bool
rd_bool(json_t *o, const char *key, bool *out)
{
	json_t *v = json_object_get(o, key);
	if (v == NULL || json_is_null(v))
		return true;
	if (!json_is_boolean(v))
		return false;
	*out = json_is_true(v);
	return true;
}

/* Keeps an object (or array when want_array) as given. */
static bool
rd_raw(json_t *o, const char *key, bool want_array, json_t **out)
{
	json_t *v = json_object_get(o, key);
	if (v == NULL || json_is_null(v))
		return true;
	if (want_array ? !json_is_array(v) : !json_is_object(v))
		return false;
	json_decref(*out);
	*out = json_deep_copy(v);
	return true;
}

/* An enum: the string must be one of names (exact, or case-insensitive);
 * a null is handed to Go's UnmarshalJSON too, which rejects it. */
static bool
rd_enum(json_t *o, const char *key, const char *const *names, size_t n, bool nocase, int *out)
{
	json_t *v = json_object_get(o, key);
	if (v == NULL)
		return true;
	if (!json_is_string(v))
		return false;
	const char *s = json_string_value(v);
	for (size_t k = 0; k < n; k++) {
		if (nocase ? g_ascii_strcasecmp(s, names[k]) == 0 : strcmp(s, names[k]) == 0) {
			*out = (int)k;
			return true;
		}
	}
	return false;
}

static const char *const retention_names[] = { "limits", "interest", "workqueue" };
static const char *const discard_names[] = { "old", "new" };
static const char *const storage_names[] = { "file", "memory" };
static const char *const compression_names[] = { "none", "s2" };

/* StreamConfig from request JSON, as json.Unmarshal fills it (no defaults
 * yet). False when a field has the wrong type. */
static bool
cfg_parse(json_t *o, StreamCfg *c)
{
	memset(c, 0, sizeof(*c));
	bool ok = rd_string(o, "name", &c->name) && rd_string(o, "description", &c->description);
	json_t *subjects = json_object_get(o, "subjects");
	if (ok && subjects != NULL && !json_is_null(subjects)) {
		if (!json_is_array(subjects)) {
			ok = false;
		} else {
			c->subjects = g_ptr_array_new_with_free_func(g_free);
			size_t k;
			json_t *v;
			json_array_foreach(subjects, k, v)
			{
				if (!json_is_string(v)) {
					ok = false;
					break;
				}
				g_ptr_array_add(c->subjects, g_strdup(json_string_value(v)));
			}
		}
	}
	int retention = JS_RETENTION_LIMITS, discard = 0, storage = -1, compression = 0;
	ok = ok && rd_enum(o, "retention", retention_names, 3, false, &retention) &&
	     rd_int(o, "max_consumers", INT64_MIN, INT64_MAX, &c->max_consumers) &&
	     rd_int(o, "max_msgs", INT64_MIN, INT64_MAX, &c->max_msgs) &&
	     rd_int(o, "max_bytes", INT64_MIN, INT64_MAX, &c->max_bytes) &&
	     rd_int(o, "max_age", INT64_MIN, INT64_MAX, &c->max_age_ns) &&
	     rd_int(o, "max_msgs_per_subject", INT64_MIN, INT64_MAX, &c->max_msgs_per_subject) &&
	     rd_int(o, "max_msg_size", INT32_MIN, INT32_MAX, &c->max_msg_size) &&
	     rd_enum(o, "discard", discard_names, 2, true, &discard) &&
	     rd_enum(o, "storage", storage_names, 2, false, &storage) &&
	     rd_int(o, "num_replicas", INT64_MIN, INT64_MAX, &c->num_replicas) && rd_bool(o, "no_ack", &c->no_ack) &&
	     rd_string(o, "template_owner", &c->template_owner) &&
	     rd_int(o, "duplicate_window", INT64_MIN, INT64_MAX, &c->duplicate_window_ns) &&
	     rd_raw(o, "placement", false, &c->placement) && rd_raw(o, "mirror", false, &c->mirror) &&
	     rd_raw(o, "sources", true, &c->sources) &&
	     rd_enum(o, "compression", compression_names, 2, false, &compression);
	int64_t first_seq = 0;
	ok = ok && rd_int(o, "first_seq", 0, INT64_MAX, &first_seq) &&
	     rd_raw(o, "subject_transform", false, &c->subject_transform) &&
	     rd_raw(o, "republish", false, &c->republish) && rd_bool(o, "allow_direct", &c->allow_direct) &&
	     rd_bool(o, "mirror_direct", &c->mirror_direct) &&
	     rd_bool(o, "discard_new_per_subject", &c->discard_new_per_subject) && rd_bool(o, "sealed", &c->sealed) &&
	     rd_bool(o, "deny_delete", &c->deny_delete) && rd_bool(o, "deny_purge", &c->deny_purge) &&
	     rd_bool(o, "allow_rollup_hdrs", &c->allow_rollup_hdrs) && rd_raw(o, "metadata", false, &c->metadata);
	json_t *limits = json_object_get(o, "consumer_limits");
	if (ok && limits != NULL && !json_is_null(limits)) {
		ok = json_is_object(limits) &&
		     rd_int(limits, "inactive_threshold", INT64_MIN, INT64_MAX, &c->limit_inactive_threshold_ns) &&
		     rd_int(limits, "max_ack_pending", INT64_MIN, INT64_MAX, &c->limit_max_ack_pending);
	}
	if (ok && c->metadata != NULL) {
		const char *k;
		json_t *v;
		json_object_foreach(c->metadata, k, v)
		{
			ok = ok && json_is_string(v);
		}
	}
	if (ok && c->republish != NULL) {
		char *src = NULL, *dest = NULL;
		bool headers_only = false;
		ok = rd_string(c->republish, "src", &src) && rd_string(c->republish, "dest", &dest) &&
		     rd_bool(c->republish, "headers_only", &headers_only);
		g_free(src);
		g_free(dest);
	}
	if (ok && c->subject_transform != NULL) {
		char *src = NULL, *dest = NULL;
		ok = rd_string(c->subject_transform, "src", &src) && rd_string(c->subject_transform, "dest", &dest);
		g_free(src);
		g_free(dest);
	}
	c->retention = (JsRetention)retention;
	c->discard_new = discard == 1;
	c->storage = storage < 0 ? (JsStorageType)-1 : (JsStorageType)storage;
	c->compression_s2 = compression == 1;
	c->first_seq = (uint64_t)first_seq;
	return ok;
}

/* nats-server isValidName: non-empty, no white space, '.', '*' or '>'. */
static bool
valid_name(const char *name)
{
	if (name == NULL || name[0] == '\0')
		return false;
	return strpbrk(name, " \t\r\n\f.*>") == NULL;
}

static bool
overlaps(const char *a, const char *b)
{
	return proto_subject_overlaps(a, strlen(a), b, strlen(b));
}

/* subjectIsSubsetMatch(subject, test): every subject matching `subject`
 * also matches `test`. */
static bool
subset_match(const char *subject, const char *test)
{
	char **s = g_strsplit(subject, ".", -1);
	char **t = g_strsplit(test, ".", -1);
	bool ok = true;
	guint i = 0;
	for (; s[i] != NULL; i++) {
		if (t[i] == NULL) {
			ok = false;
			break;
		}
		if (strcmp(t[i], ">") == 0)
			break;
		if (strcmp(t[i], "*") == 0) {
			if (strcmp(s[i], ">") == 0) {
				ok = false;
				break;
			}
			continue;
		}
		if (strcmp(s[i], t[i]) != 0) {
			ok = false;
			break;
		}
	}
	if (ok && s[i] == NULL && t[i] != NULL && strcmp(t[i], ">") != 0)
		ok = false;
	if (ok && s[i] == NULL && t[i] != NULL && strcmp(t[i], ">") == 0)
		ok = false; /* ">" needs at least one more token */
	g_strfreev(s);
	g_strfreev(t);
	return ok;
}

/* A 10052 "stream invalid config" error with the given text. */
static bool
invalid(uint32_t *err_code, char **detail, const char *text)
{
	*err_code = 10052;
	*detail = g_strdup(text);
	return false;
}

/* nats-server checkStreamCfg: applies the defaults and validates, in the
 * same order (so the first failing rule is the one reported). */
static bool
cfg_check(StreamCfg *c, uint32_t *err_code, char **detail)
{
	if (!valid_name(c->name))
		return invalid(err_code, detail, "stream name is required and can not contain '.', '*', '>'");
	if (strlen(c->name) > JS_NAME_LEN_MAX)
		return invalid(err_code, detail, "stream name is too long, maximum allowed is 255");
	if (c->description != NULL && strlen(c->description) > JS_DESCRIPTION_LEN_MAX)
		return invalid(err_code, detail, "stream description is too long, maximum allowed is 4096");
	if (c->metadata != NULL) {
		size_t len = 0;
		const char *k;
		json_t *v;
		json_object_foreach(c->metadata, k, v)
		{
			len += strlen(k) + strlen(json_string_value(v));
		}
		if (len > JS_METADATA_LEN_MAX)
			return invalid(err_code, detail, "stream metadata exceeds maximum size of 131072 bytes");
	}
	if ((int)c->storage < 0)
		c->storage = JS_STORAGE_FILE;
	if (c->num_replicas == 0)
		c->num_replicas = 1;
	if (c->num_replicas > JS_REPLICAS_MAX)
		return invalid(err_code, detail, "maximum replicas is 5");
	if (c->num_replicas < 0) {
		*err_code = 10133;
		return false;
	}
	if (c->max_msgs == 0)
		c->max_msgs = -1;
	if (c->max_msgs_per_subject == 0)
		c->max_msgs_per_subject = -1;
	if (c->max_bytes == 0)
		c->max_bytes = -1;
	if (c->max_msg_size == 0)
		c->max_msg_size = -1;
	if (c->max_consumers == 0)
		c->max_consumers = -1;
	if (c->duplicate_window_ns == 0 && c->mirror == NULL) {
		if (c->max_age_ns != 0 && c->max_age_ns < JS_DUPLICATES_DEFAULT_NS)
			c->duplicate_window_ns = c->max_age_ns;
		else
			c->duplicate_window_ns = JS_DUPLICATES_DEFAULT_NS;
	}
	if (c->max_age_ns > 0 && c->max_age_ns < JS_MIN_WINDOW_NS)
		return invalid(err_code, detail, "max age needs to be >= 100ms");
	if (c->duplicate_window_ns < 0)
		return invalid(err_code, detail, "duplicates window can not be negative");
	if (c->max_age_ns != 0 && c->duplicate_window_ns > c->max_age_ns)
		return invalid(err_code, detail, "duplicates window can not be larger then max age");
	if (c->duplicate_window_ns > 0 && c->duplicate_window_ns < JS_MIN_WINDOW_NS)
		return invalid(err_code, detail, "duplicates window needs to be >= 100ms");
	if (c->deny_purge && c->allow_rollup_hdrs)
		return invalid(err_code, detail, "roll-ups require the purge permission");
	if (c->discard_new_per_subject) {
		if (!c->discard_new)
			return invalid(err_code, detail, "discard new per subject requires discard new policy to be set");
		if (c->max_msgs_per_subject <= 0)
			return invalid(err_code, detail, "discard new per subject requires max msgs per subject > 0");
	}
	/* natsim has one server and no stream-to-stream replication. */
	if (c->mirror != NULL || (c->sources != NULL && json_array_size(c->sources) > 0))
		return invalid(err_code, detail, "stream mirrors and sources are not supported by natsim");
	if (c->subject_transform != NULL)
		return invalid(err_code, detail, "stream subject transforms are not supported by natsim");
	if (c->subjects == NULL)
		c->subjects = g_ptr_array_new_with_free_func(g_free);
	if (c->subjects->len == 0) {
		g_ptr_array_add(c->subjects, g_strdup(c->name));
	} else {
		for (guint k = 0; k < c->subjects->len; k++) {
			const char *subj = c->subjects->pdata[k];
			if (!proto_subject_valid(subj, strlen(subj)))
				return invalid(err_code, detail, "invalid subject");
			for (guint j = 0; j < k; j++)
				if (strcmp(c->subjects->pdata[j], subj) == 0)
					return invalid(err_code, detail, "duplicate subjects detected");
			if (strcmp(subj, ">") == 0 && !c->no_ack)
				return invalid(err_code, detail, "capturing all subjects requires no-ack to be true");
			if (!c->no_ack) {
				static const char *const api[] = { "$JS.>", "$JSC.>", "$NRG.>" };
				for (size_t a = 0; a < G_N_ELEMENTS(api); a++)
					if (overlaps(subj, api[a]) && !subset_match(subj, "$JS.EVENT.>"))
						return invalid(err_code, detail,
						    "subjects that overlap with jetstream api require no-ack to be true");
				if (overlaps(subj, "$SYS.>") && !subset_match(subj, "$SYS.ACCOUNT.>"))
					return invalid(err_code, detail,
					    "subjects that overlap with system api require no-ack to be true");
			}
		}
	}
	if (c->subjects->len > 1) {
		for (guint k = 0; k < c->subjects->len; k++) {
			for (guint j = 0; j < c->subjects->len; j++) {
				const char *a = c->subjects->pdata[k], *b = c->subjects->pdata[j];
				if (strcmp(a, b) != 0 && overlaps(a, b)) {
					*err_code = 10052;
					*detail = g_strdup_printf("subject \"%s\" overlaps with \"%s\"", a, b);
					return false;
				}
			}
		}
	}
	if (c->republish != NULL) {
		const char *src = json_string_value(json_object_get(c->republish, "src"));
		const char *dest = json_string_value(json_object_get(c->republish, "dest"));
		if (src == NULL || src[0] == '\0') {
			json_object_set_new(c->republish, "src", json_string(">"));
			src = ">";
		}
		for (guint k = 0; dest != NULL && k < c->subjects->len; k++)
			if (overlaps(dest, c->subjects->pdata[k]))
				return invalid(err_code, detail,
				    "stream configuration for republish destination forms a cycle");
		if (dest == NULL || !proto_subject_valid(dest, strlen(dest)) || !proto_subject_valid(src, strlen(src))) {
			*err_code = 10052;
			*detail = g_strdup_printf(
			    "stream configuration for republish with transform from '%s' to '%s' not valid", src,
			    dest != NULL ? dest : "");
			return false;
		}
	}
	return true;
}

/* StreamConfig JSON in nats-server's field order and omitempty rules
 * (v2.10 StreamConfig). */
static json_t *
cfg_json(const StreamCfg *c)
{
	json_t *o = json_object();
	json_object_set_new(o, "name", json_string(c->name));
	if (c->description != NULL && c->description[0] != '\0')
		json_object_set_new(o, "description", json_string(c->description));
	if (c->subjects != NULL && c->subjects->len > 0) {
		json_t *a = json_array();
		for (guint k = 0; k < c->subjects->len; k++)
			json_array_append_new(a, json_string(c->subjects->pdata[k]));
		json_object_set_new(o, "subjects", a);
	}
	json_object_set_new(o, "retention", json_string(retention_names[c->retention]));
	json_object_set_new(o, "max_consumers", json_integer(c->max_consumers));
	json_object_set_new(o, "max_msgs", json_integer(c->max_msgs));
	json_object_set_new(o, "max_bytes", json_integer(c->max_bytes));
	json_object_set_new(o, "max_age", json_integer(c->max_age_ns));
	json_object_set_new(o, "max_msgs_per_subject", json_integer(c->max_msgs_per_subject));
	if (c->max_msg_size != 0)
		json_object_set_new(o, "max_msg_size", json_integer(c->max_msg_size));
	json_object_set_new(o, "discard", json_string(discard_names[c->discard_new]));
	json_object_set_new(o, "storage", json_string(storage_names[c->storage]));
	json_object_set_new(o, "num_replicas", json_integer(c->num_replicas));
	if (c->no_ack)
		json_object_set_new(o, "no_ack", json_true());
	if (c->template_owner != NULL && c->template_owner[0] != '\0')
		json_object_set_new(o, "template_owner", json_string(c->template_owner));
	if (c->duplicate_window_ns != 0)
		json_object_set_new(o, "duplicate_window", json_integer(c->duplicate_window_ns));
	if (c->placement != NULL)
		json_object_set_new(o, "placement", json_deep_copy(c->placement));
	if (c->mirror != NULL)
		json_object_set_new(o, "mirror", json_deep_copy(c->mirror));
	if (c->sources != NULL && json_array_size(c->sources) > 0)
		json_object_set_new(o, "sources", json_deep_copy(c->sources));
	json_object_set_new(o, "compression", json_string(compression_names[c->compression_s2]));
	if (c->first_seq != 0)
		json_object_set_new(o, "first_seq", json_integer((json_int_t)c->first_seq));
	if (c->subject_transform != NULL)
		json_object_set_new(o, "subject_transform", json_deep_copy(c->subject_transform));
	if (c->republish != NULL) {
		json_t *r = json_object();
		const char *src = json_string_value(json_object_get(c->republish, "src"));
		if (src != NULL && src[0] != '\0')
			json_object_set_new(r, "src", json_string(src));
		const char *dest = json_string_value(json_object_get(c->republish, "dest"));
		json_object_set_new(r, "dest", json_string(dest != NULL ? dest : ""));
		if (json_is_true(json_object_get(c->republish, "headers_only")))
			json_object_set_new(r, "headers_only", json_true());
		json_object_set_new(o, "republish", r);
	}
	json_object_set_new(o, "allow_direct", json_boolean(c->allow_direct));
	json_object_set_new(o, "mirror_direct", json_boolean(c->mirror_direct));
	if (c->discard_new_per_subject)
		json_object_set_new(o, "discard_new_per_subject", json_true());
	json_object_set_new(o, "sealed", json_boolean(c->sealed));
	json_object_set_new(o, "deny_delete", json_boolean(c->deny_delete));
	json_object_set_new(o, "deny_purge", json_boolean(c->deny_purge));
	json_object_set_new(o, "allow_rollup_hdrs", json_boolean(c->allow_rollup_hdrs));
	json_t *limits = json_object();
	if (c->limit_inactive_threshold_ns != 0)
		json_object_set_new(limits, "inactive_threshold", json_integer(c->limit_inactive_threshold_ns));
	if (c->limit_max_ack_pending != 0)
		json_object_set_new(limits, "max_ack_pending", json_integer(c->limit_max_ack_pending));
	json_object_set_new(o, "consumer_limits", limits);
	if (c->metadata != NULL && json_object_size(c->metadata) > 0)
		json_object_set_new(o, "metadata", json_deep_copy(c->metadata));
	return o;
}

/* ---- accessors (js.h) ---- */

const char *
js_stream_name(const JsStream *s)
{
	return s->cfg.name;
}

JsRetention
js_stream_retention(const JsStream *s)
{
	return s->cfg.retention;
}

JsStorageType
js_stream_storage(const JsStream *s)
{
	return s->cfg.storage;
}

JsStore *
js_stream_store(JsStream *s)
{
	return s->store;
}

int64_t
js_stream_created_ns(const JsStream *s)
{
	return s->created_ns;
}

json_t *
js_stream_config_json(const JsStream *s)
{
	return cfg_json(&s->cfg);
}

bool
js_stream_filter_valid(const JsStream *s, const char *filter)
{
	if (filter == NULL || filter[0] == '\0')
		return true;
	for (guint k = 0; k < s->cfg.subjects->len; k++)
		if (overlaps(filter, s->cfg.subjects->pdata[k]))
			return true;
	return false;
}

int64_t
js_stream_consumer_limit_inactive_threshold(const JsStream *s)
{
	return s->cfg.limit_inactive_threshold_ns;
}

int64_t
js_stream_consumer_limit_max_ack_pending(const JsStream *s)
{
	return s->cfg.limit_max_ack_pending;
}

int64_t
js_stream_max_consumers(const JsStream *s)
{
	return s->cfg.max_consumers;
}

GPtrArray *
js_stream_consumers(JsStream *s)
{
	return s->consumers;
}

static gint
consumer_name_cmp(gconstpointer a, gconstpointer b)
{
	return strcmp(js_consumer_name(*(JsConsumer *const *)a), js_consumer_name(*(JsConsumer *const *)b));
}

/* The index of the first consumer whose name is >= name. */
static guint
consumer_lower_bound(JsStream *s, const char *name)
{
	guint lo = 0, hi = s->consumers->len;
	while (lo < hi) {
		guint mid = lo + (hi - lo) / 2;
		if (strcmp(js_consumer_name(s->consumers->pdata[mid]), name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

JsConsumer *
js_stream_consumer_find(JsStream *s, const char *name)
{
	guint k = consumer_lower_bound(s, name);
	if (k < s->consumers->len && strcmp(js_consumer_name(s->consumers->pdata[k]), name) == 0)
		return s->consumers->pdata[k];
	return NULL;
}

void
js_stream_consumer_add(JsStream *s, JsConsumer *c)
{
	ASSERT(js_stream_consumer_find(s, js_consumer_name(c)) == NULL);
	guint k = consumer_lower_bound(s, js_consumer_name(c));
	g_ptr_array_insert(s->consumers, (gint)k, c);
	s->consumers_gen++;
	ASSERT(k + 1 == s->consumers->len || consumer_name_cmp(&s->consumers->pdata[k], &s->consumers->pdata[k + 1]) < 0);
}

/* ---- removal and consumer notification ---- */

static JsStoreState
store_state(JsStream *s)
{
	JsStoreState st;
	s->store->ops->state(s->store, &st);
	return st;
}

/* Whether consumer c of a snapshot taken at generation gen is still
 * there (pointers are compared, never dereferenced). */
static bool
consumer_alive(JsStream *s, uint64_t gen, JsConsumer *c)
{
	if (s->dead)
		return false;
	return gen == s->consumers_gen || g_ptr_array_find(s->consumers, c, NULL);
}

/* Tells every consumer that messages below first_seq are gone. */
static void
notify_purged(JsStream *s, uint64_t first_seq)
{
	GPtrArray *snapshot = g_ptr_array_copy(s->consumers, NULL, NULL);
	uint64_t gen = s->consumers_gen;
	for (guint k = 0; k < snapshot->len; k++)
		if (consumer_alive(s, gen, snapshot->pdata[k]))
			js_consumer_on_stream_purged(snapshot->pdata[k], first_seq);
	g_ptr_array_free(snapshot, TRUE);
}

/* Removes one message and tells the consumers (nats-server storeUpdates
 * -> decStreamPending): a pending message a consumer still waited for
 * ends there. Purges go through notify_purged instead. */
static JsStoreStatus
remove_one(JsStream *s, uint64_t seq, bool erase)
{
	char *subject = NULL;
	JsStoredMsg m;
	if (s->consumers->len > 0 && s->store->ops->load(s->store, seq, &m) == JS_STORE_OK)
		subject = g_strndup(m.subject, m.subject_len);
	JsStoreStatus st = s->store->ops->remove(s->store, seq, erase);
	if (st == JS_STORE_OK && subject != NULL) {
		GPtrArray *snapshot = g_ptr_array_copy(s->consumers, NULL, NULL);
		uint64_t gen = s->consumers_gen;
		for (guint k = 0; k < snapshot->len; k++)
			if (consumer_alive(s, gen, snapshot->pdata[k]))
				js_consumer_on_stream_removed(snapshot->pdata[k], seq, subject);
		g_ptr_array_free(snapshot, TRUE);
	}
	g_free(subject);
	return st;
}

/* After removals: notify when the first sequence moved; a store left
 * empty stops the max_age timer. */
static void
after_removal(JsStream *s, uint64_t first_before)
{
	JsStoreState st = store_state(s);
	if (st.msgs == 0)
		s->age_at = INT64_MAX;
	if (st.first_seq != first_before)
		notify_purged(s, st.first_seq);
}

/* Interest retention: true when some consumer other than except still
 * needs seq (stored on subject). */
static bool
interest_in(JsStream *s, JsConsumer *except, uint64_t seq, const char *subject)
{
	for (guint k = 0; k < s->consumers->len; k++) {
		JsConsumer *c = s->consumers->pdata[k];
		if (c != except && js_consumer_needs_ack(c, seq, subject))
			return true;
	}
	return false;
}

void
js_stream_consumer_remove(JsStream *s, JsConsumer *c)
{
	guint k = consumer_lower_bound(s, js_consumer_name(c));
	ASSERT(k < s->consumers->len && s->consumers->pdata[k] == c);
	g_ptr_array_remove_index(s->consumers, k);
	s->consumers_gen++;
	if (s->cfg.retention != JS_RETENTION_INTEREST)
		return;
	/* nats-server cleanupNoInterestMessages: with no consumer left the
	 * stream is purged; otherwise each message nobody else needs goes. */
	uint64_t first_before = store_state(s).first_seq;
	if (s->consumers->len == 0) {
		s->store->ops->purge(s->store, NULL, 0, 0, NULL);
	} else {
		JsStoreState st = store_state(s);
		GArray *gone = g_array_new(FALSE, FALSE, sizeof(uint64_t));
		JsStoredMsg m;
		for (uint64_t seq = st.first_seq; st.msgs > 0 && seq <= st.last_seq; seq = m.seq + 1) {
			if (s->store->ops->load_next(s->store, NULL, seq, &m) != JS_STORE_OK)
				break;
			char *subject = g_strndup(m.subject, m.subject_len);
			if (!interest_in(s, NULL, m.seq, subject))
				g_array_append_val(gone, m.seq);
			g_free(subject);
		}
		for (guint j = 0; j < gone->len; j++)
			remove_one(s, g_array_index(gone, uint64_t, j), false);
		g_array_free(gone, TRUE);
	}
	after_removal(s, first_before);
}

void
js_stream_consumer_acked(JsStream *s, JsConsumer *c, uint64_t seq)
{
	if (s->cfg.retention == JS_RETENTION_LIMITS)
		return;
	JsStoredMsg m;
	if (s->store->ops->load(s->store, seq, &m) != JS_STORE_OK)
		return;
	if (s->cfg.retention == JS_RETENTION_INTEREST) {
		char *subject = g_strndup(m.subject, m.subject_len);
		bool keep = interest_in(s, c, seq, subject);
		g_free(subject);
		if (keep)
			return;
	}
	uint64_t first_before = store_state(s).first_seq;
	remove_one(s, seq, false);
	after_removal(s, first_before);
}

/* ---- dedupe ---- */

static void
dedupe_entry_free(gpointer p)
{
	DedupeEntry *e = p;
	g_free(e->id);
	g_free(e);
}

/* nats-server storeMsgIdLocked: the first id starts the sweep timer a
 * window from now; later ones leave it alone. */
static void
dedupe_store(JsStream *s, const char *id, uint64_t seq, int64_t ts_ns)
{
	DedupeEntry *e = g_new0(DedupeEntry, 1);
	e->id = g_strdup(id);
	e->seq = seq;
	e->ts_ns = ts_ns;
	/* A re-used id (only possible after its entry was swept) replaces the
	 * table entry; the queue keeps the old one until the sweep. */
	DedupeEntry *old = g_hash_table_lookup(s->dedupe, id);
	if (old != NULL) {
		g_hash_table_steal(s->dedupe, id);
		g_queue_remove(&s->dedupe_order, old);
		dedupe_entry_free(old);
	}
	g_hash_table_insert(s->dedupe, e->id, e);
	g_queue_push_tail(&s->dedupe_order, e);
	if (s->dedupe_at == INT64_MAX)
		s->dedupe_at = js_now(s->js) + s->cfg.duplicate_window_ns;
}

/* nats-server purgeMsgIds: drops entries at least a window old, then
 * re-arms for the oldest left, never sooner than 50 ms. */
static void
dedupe_sweep(JsStream *s, int64_t now_ns)
{
	int64_t window = s->cfg.duplicate_window_ns;
	int64_t next = window;
	DedupeEntry *e;
	while ((e = g_queue_peek_head(&s->dedupe_order)) != NULL) {
		if (now_ns - e->ts_ns >= window) {
			g_queue_pop_head(&s->dedupe_order);
			g_hash_table_remove(s->dedupe, e->id);
		} else {
			next = window - (now_ns - e->ts_ns);
			break;
		}
	}
	if (g_hash_table_size(s->dedupe) > 0)
		s->dedupe_at = now_ns + MAX(next, JS_DEDUPE_MIN_FIRE_NS);
	else
		s->dedupe_at = INT64_MAX;
}

/* ---- timers ---- */

int64_t
js_stream_next_deadline(JsStream *s)
{
	int64_t next = MIN(s->age_at, s->dedupe_at);
	return MIN(next, s->store->ops->next_deadline(s->store));
}

/* nats-server expireMsgs: removes the oldest while ts <= now - max_age,
 * then re-arms at the new oldest's ts + max_age (stopped when empty). */
static void
expire(JsStream *s, int64_t now_ns)
{
	int64_t min_ts = now_ns - s->cfg.max_age_ns;
	JsStoreState st = store_state(s);
	uint64_t first_before = st.first_seq;
	uint64_t n = 0;
	while (st.msgs > 0 && st.first_ts_ns <= min_ts) {
		remove_one(s, st.first_seq, false);
		n++;
		st = store_state(s);
	}
	if (n > 0)
		broker_probe_hit(js_broker(s->js), BROKER_PROBE_JS_EXPIRED);
	s->age_at = st.msgs > 0 ? st.first_ts_ns + s->cfg.max_age_ns : INT64_MAX;
	if (st.first_seq != first_before)
		notify_purged(s, st.first_seq);
}

void
js_stream_on_timer(JsStream *s, int64_t now_ns)
{
	if (s->age_at <= now_ns)
		expire(s, now_ns);
	if (s->dedupe_at <= now_ns)
		dedupe_sweep(s, now_ns);
	if (s->store->ops->next_deadline(s->store) <= now_ns)
		s->store->ops->on_timer(s->store, now_ns);
}

/* ---- storing a publish ---- */

static uint64_t
msg_bytes(const JsStream *s, size_t subject_len, size_t hdr_len, size_t data_len)
{
	return s->store_is_mem ? js_memstore_msg_bytes(subject_len, hdr_len, data_len)
			       : js_filestore_msg_bytes(subject_len, hdr_len, data_len);
}

/* The PubAck, byte for byte as nats-server writes it (its pubAck template:
 * {"stream":"S", "seq":N} with a space, and ,"duplicate": true}). */
static void
send_puback(JsStream *s, const char *reply, uint64_t seq, bool duplicate)
{
	char *text = g_strdup_printf("%s%" G_GUINT64_FORMAT "%s", s->puback_prefix, seq,
	    duplicate ? ",\"duplicate\": true}" : "}");
	broker_internal_publish(js_broker(s->js), reply, NULL, NULL, 0, text, strlen(text));
	g_free(text);
}

/* The error form: {"error":{...},"stream":"S","seq":0} (JSPubAckResponse
 * marshalled by encoding/json). */
static void
send_puback_error(JsStream *s, const char *reply, uint32_t err_code, const char *detail)
{
	if (reply == NULL)
		return;
	json_t *r = json_object();
	json_object_set_new(r, "error", js_error_json(err_code, detail));
	json_object_set_new(r, "stream", json_string(s->cfg.name));
	json_object_set_new(r, "seq", json_integer(0));
	char *text = json_dumps(r, JSON_COMPACT | JSON_PRESERVE_ORDER);
	broker_internal_publish(js_broker(s->js), reply, NULL, NULL, 0, text, strlen(text));
	free(text);
	json_decref(r);
}

/* A header value as a NUL-terminated string (g_free), NULL when absent. */
static char *
header(const BrokerMsgView *m, const char *key)
{
	ProtoSlice v;
	if (m->headers == NULL || !proto_headers_get(m->headers, m->headers_len, key, &v))
		return NULL;
	return g_strndup((const char *)v.ptr, v.len);
}

/* Go's parseInt64 on a header value: digits only, else -1 (which, as a
 * uint64, never matches a sequence). */
static uint64_t
header_seq(const char *v)
{
	if (v[0] == '\0')
		return UINT64_MAX;
	uint64_t x = 0;
	for (const char *p = v; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || x > (UINT64_MAX - 9) / 10)
			return UINT64_MAX;
		x = x * 10 + (uint64_t)(*p - '0');
	}
	return x;
}

/* nats-server fileStore/memStore storeRawMsg under discard new (the
 * newest release, v2.14: the new message counts with its stored size and
 * the byte limit is exceeded only when passed). NULL when it may go in,
 * else the store's error text. */
static const char *
discard_new_check(JsStream *s, const char *subject, size_t subject_len, size_t hdr_len, size_t data_len,
    bool rollup)
{
	const StreamCfg *c = &s->cfg;
	JsStoreState st = store_state(s);
	bool at_subject_limit = false;
	if (c->max_msgs_per_subject > 0)
		at_subject_limit = s->store->ops->subject_count(s->store, subject) >= (uint64_t)c->max_msgs_per_subject;
	if (at_subject_limit && c->discard_new_per_subject && !rollup)
		return "maximum messages per subject exceeded";
	if (c->max_msgs > 0 && st.msgs >= (uint64_t)c->max_msgs && !at_subject_limit)
		return "maximum messages exceeded";
	uint64_t size = msg_bytes(s, subject_len, hdr_len, data_len);
	if (c->max_bytes > 0 && st.bytes + size > (uint64_t)c->max_bytes) {
		if (!at_subject_limit)
			return "maximum bytes exceeded";
		/* At the subject limit the subject's oldest message goes: enough
		 * room only if it is at least as big. */
		JsStoredMsg m;
		uint64_t first = s->store->ops->subject_first(s->store, subject);
		if (first == 0 || s->store->ops->load(s->store, first, &m) != JS_STORE_OK ||
		    msg_bytes(s, m.subject_len, m.hdr_len, m.data_len) < size)
			return "maximum bytes exceeded";
	}
	return NULL;
}

/* The evictions after a store (memStore.storeRawMsg, enforce*Limit): the
 * subject's oldest beyond max_msgs_per_subject (any discard policy), then,
 * under discard old only, the stream's oldest beyond max_msgs and
 * max_bytes. True when anything went. */
static bool
enforce_limits(JsStream *s, const char *subject)
{
	const StreamCfg *c = &s->cfg;
	bool evicted = false;
	if (c->max_msgs_per_subject > 0) {
		while (s->store->ops->subject_count(s->store, subject) > (uint64_t)c->max_msgs_per_subject) {
			remove_one(s, s->store->ops->subject_first(s->store, subject), false);
			evicted = true;
		}
	}
	if (!c->discard_new) {
		JsStoreState st = store_state(s);
		while (c->max_msgs > 0 && st.msgs > (uint64_t)c->max_msgs) {
			remove_one(s, st.first_seq, false);
			evicted = true;
			st = store_state(s);
		}
		while (c->max_bytes > 0 && st.bytes > (uint64_t)c->max_bytes && st.msgs > 0) {
			remove_one(s, st.first_seq, false);
			evicted = true;
			st = store_state(s);
		}
	}
	return evicted;
}

static bool
any_consumer_matches(JsStream *s, const char *subject)
{
	for (guint k = 0; k < s->consumers->len; k++)
		if (js_consumer_filter_matches(s->consumers->pdata[k], subject))
			return true;
	return false;
}

static void stream_release(JsStream *s);
static void rollup_purge(JsStream *s, const char *subject, bool all, uint64_t seq);
static void republish(JsStream *s, const char *subject, const BrokerMsgView *m, uint64_t seq, int64_t ts_ns,
    uint64_t subject_last_seq);

/* processJetStreamMsg: every check in nats-server's order, then the store,
 * the evictions, the dedupe entry, the rollup, the republish, the PubAck,
 * and last the consumers. */
static void
stream_on_publish(void *ctx, const BrokerMsgView *m)
{
	JsStream *s = ctx;
	Broker *b = js_broker(s->js);
	const StreamCfg *c = &s->cfg;
	char *reply = NULL;
	ASSERT(!s->dead);
	s->busy++;
	if (!c->no_ack && m->reply != NULL && m->reply_len > 0)
		reply = g_strndup(m->reply, m->reply_len);
	/* The subject as a C string; on the stack when short (the hot path). */
	char subject_buf[256];
	char *subject = subject_buf;
	if (m->subject_len < sizeof(subject_buf)) {
		memcpy(subject_buf, m->subject, m->subject_len);
		subject_buf[m->subject_len] = '\0';
	} else {
		subject = g_strndup(m->subject, m->subject_len);
	}
	char *msg_id = NULL, *v = NULL;
	bool rollup_sub = false, rollup_all = false;

	if (c->sealed) {
		send_puback_error(s, reply, 10109, NULL);
		goto done;
	}
	if (m->headers != NULL) {
		if ((v = header(m, "Nats-Expected-Stream")) != NULL && v[0] != '\0' && strcmp(v, c->name) != 0) {
			broker_probe_hit(b, BROKER_PROBE_JS_EXPECTED_FAILED);
			send_puback_error(s, reply, 10060, NULL);
			goto done;
		}
		g_free(v);
		v = NULL;
		msg_id = header(m, "Nats-Msg-Id");
		if (msg_id != NULL && msg_id[0] == '\0') {
			g_free(msg_id);
			msg_id = NULL;
		}
		if (msg_id != NULL) {
			DedupeEntry *e = g_hash_table_lookup(s->dedupe, msg_id);
			if (e != NULL) {
				broker_probe_hit(b, BROKER_PROBE_JS_DEDUPE);
				if (reply != NULL)
					send_puback(s, reply, e->seq, true);
				goto done;
			}
		}
		if ((v = header(m, "Nats-Expected-Last-Subject-Sequence")) != NULL && v[0] != '\0') {
			uint64_t want = header_seq(v);
			JsStoredMsg last;
			uint64_t have = s->store->ops->load_last(s->store, subject, &last) == JS_STORE_OK ? last.seq : 0;
			if (have != want) {
				char detail[32];
				snprintf(detail, sizeof(detail), "%" G_GUINT64_FORMAT, have);
				broker_probe_hit(b, BROKER_PROBE_JS_EXPECTED_FAILED);
				send_puback_error(s, reply, 10071, detail);
				goto done;
			}
		}
		g_free(v);
		v = NULL;
		if ((v = header(m, "Nats-Expected-Last-Sequence")) != NULL && v[0] != '\0') {
			uint64_t last = store_state(s).last_seq;
			if (header_seq(v) != last) {
				char detail[32];
				snprintf(detail, sizeof(detail), "%" G_GUINT64_FORMAT, last);
				broker_probe_hit(b, BROKER_PROBE_JS_EXPECTED_FAILED);
				send_puback_error(s, reply, 10071, detail);
				goto done;
			}
		}
		g_free(v);
		v = NULL;
		if ((v = header(m, "Nats-Expected-Last-Msg-Id")) != NULL && v[0] != '\0' &&
		    strcmp(v, s->last_msg_id) != 0) {
			broker_probe_hit(b, BROKER_PROBE_JS_EXPECTED_FAILED);
			send_puback_error(s, reply, 10070, s->last_msg_id);
			goto done;
		}
		g_free(v);
		v = NULL;
		if ((v = header(m, "Nats-Rollup")) != NULL && v[0] != '\0') {
			if (!c->allow_rollup_hdrs || c->deny_purge) {
				send_puback_error(s, reply, 10111, "rollup not permitted");
				goto done;
			}
			if (g_ascii_strcasecmp(v, "sub") == 0)
				rollup_sub = true;
			else if (g_ascii_strcasecmp(v, "all") == 0)
				rollup_all = true;
			else
				goto done; /* nats-server drops it without a reply */
		}
	}
	if (c->max_msg_size >= 0 && m->headers_len + m->payload_len > (uint64_t)c->max_msg_size) {
		send_puback_error(s, reply, 10054, NULL);
		goto done;
	}
	if (m->headers_len > JS_HDR_LEN_MAX) {
		send_puback_error(s, reply, 10097, NULL);
		goto done;
	}
	/* The server's resources already used up (jetstream.go
	 * limitsExceeded; the account itself is unlimited, so its
	 * wouldExceedLimits never trips). */
	if (js_server_used_bytes(s->js, c->storage) > (uint64_t)js_server_max_bytes(s->js, c->storage)) {
		send_puback_error(s, reply, 10023, NULL);
		goto done;
	}
	int64_t now = js_now(s->js);
	/* Interest retention: nobody to deliver to, so the sequence is used
	 * up and nothing stored (processJetStreamMsg "Skip msg here"). */
	if (c->retention == JS_RETENTION_INTEREST && !any_consumer_matches(s, subject)) {
		uint64_t seq = 0;
		s->store->ops->skip(s->store, now, &seq);
		g_free(s->last_msg_id);
		s->last_msg_id = g_strdup(msg_id != NULL ? msg_id : "");
		if (msg_id != NULL)
			dedupe_store(s, msg_id, seq, now);
		broker_probe_hit(b, BROKER_PROBE_JS_NO_INTEREST_SKIP);
		if (reply != NULL)
			send_puback(s, reply, seq, false);
		goto done;
	}
	if (c->discard_new) {
		const char *err = discard_new_check(s, subject, m->subject_len, m->headers_len, m->payload_len,
		    rollup_sub || rollup_all);
		if (err != NULL) {
			broker_probe_hit(b, BROKER_PROBE_JS_DISCARD_NEW);
			send_puback_error(s, reply, 10077, err);
			goto done;
		}
	}
	uint64_t subject_last = 0;
	if (c->republish != NULL) {
		JsStoredMsg last;
		if (s->store->ops->load_last(s->store, subject, &last) == JS_STORE_OK)
			subject_last = last.seq;
	}
	/* Evictions and rollups are the only removals here; the state before
	 * is needed only when one can happen. */
	bool may_remove = rollup_sub || rollup_all || c->max_msgs_per_subject > 0 ||
			  (!c->discard_new && (c->max_msgs > 0 || c->max_bytes > 0));
	uint64_t first_before = may_remove ? store_state(s).first_seq : 0;
	uint64_t seq = 0;
	JsStoreStatus st = s->store->ops->store(s->store, subject, m->subject_len, m->headers, m->headers_len,
	    m->payload, m->payload_len, now, &seq);
	if (st != JS_STORE_OK) {
		broker_probe_hit(b, BROKER_PROBE_JS_STORE_FAILED);
		broker_log(b, BROKER_LOG_ERROR, "JetStream failed to store a msg on stream '$G > %s': %s", c->name,
		    js_store_status_str(st));
		send_puback_error(s, reply, 10077, js_store_status_str(st));
		goto done;
	}
	broker_probe_hit(b, BROKER_PROBE_JS_STORED);
	g_free(s->last_msg_id);
	s->last_msg_id = g_strdup(msg_id != NULL ? msg_id : "");
	if (may_remove && enforce_limits(s, subject))
		broker_probe_hit(b, BROKER_PROBE_JS_DISCARD_OLD);
	if (c->max_age_ns > 0 && s->age_at == INT64_MAX)
		s->age_at = now + c->max_age_ns;
	if (msg_id != NULL)
		dedupe_store(s, msg_id, seq, now);
	if (rollup_sub || rollup_all)
		rollup_purge(s, subject, rollup_all, seq);
	if (may_remove)
		after_removal(s, first_before);
	if (c->republish != NULL)
		republish(s, subject, m, seq, now, subject_last);
	if (reply != NULL && !s->dead)
		send_puback(s, reply, seq, false);
	if (s->dead)
		goto done;
	/* Only now the consumers: a stored message they deliver must not
	 * overtake its PubAck. Snapshot: a delivery may change the list. */
	if (s->consumers->len > 0) {
		GPtrArray *snapshot = g_ptr_array_copy(s->consumers, NULL, NULL);
		uint64_t gen = s->consumers_gen;
		for (guint k = 0; k < snapshot->len; k++)
			if (consumer_alive(s, gen, snapshot->pdata[k]))
				js_consumer_on_stored(snapshot->pdata[k], seq, subject);
		g_ptr_array_free(snapshot, TRUE);
	}
done:
	g_free(v);
	g_free(msg_id);
	if (subject != subject_buf)
		g_free(subject);
	g_free(reply);
	if (--s->busy == 0 && s->dead)
		stream_release(s);
}

/* ---- rollup, purge, republish ---- */

/* nats-server mset.purge → store.PurgeEx(subject, seq, keep), with its
 * Compact arithmetic for the unfiltered forms. Returns how many went. */
static uint64_t
purge_ex(JsStream *s, const char *filter, uint64_t seq, uint64_t keep)
{
	JsStore *st = s->store;
	uint64_t purged = 0;
	if (filter == NULL || filter[0] == '\0' || strcmp(filter, ">") == 0) {
		JsStoreState state = store_state(s);
		if (keep == 0 && seq == 0)
			st->ops->purge(st, NULL, 0, 0, &purged);
		else if (seq > 1)
			st->ops->purge(st, NULL, seq, 0, &purged); /* Compact(seq) */
		else if (keep > 0 && keep < state.msgs)
			st->ops->purge(st, NULL, state.last_seq - keep + 1, 0, &purged); /* Compact(last-keep+1) */
		return purged;
	}
	st->ops->purge(st, filter, seq > 1 ? seq : 0, keep, &purged);
	return purged;
}

static void
rollup_purge(JsStream *s, const char *subject, bool all, uint64_t seq)
{
	(void)seq;
	broker_probe_hit(js_broker(s->js), BROKER_PROBE_JS_ROLLUP);
	purge_ex(s, all ? NULL : subject, 0, 1);
}

/* A subject transform as the republish uses it: dest tokens "*" and ">"
 * take the matching wildcard tokens of the source in order, "{{wildcard(n)}}"
 * the n-th (nats-server subject_transform.go, the common forms). NULL when
 * the subject does not match src. */
static char *
transform(const char *src, const char *dest, const char *subject)
{
	if (!proto_subject_matches(src, strlen(src), subject, strlen(subject)))
		return NULL;
	char **st = g_strsplit(src, ".", -1);
	char **sj = g_strsplit(subject, ".", -1);
	char **dt = g_strsplit(dest, ".", -1);
	GPtrArray *wild = g_ptr_array_new_with_free_func(g_free); /* captured tokens */
	for (guint k = 0; st[k] != NULL; k++) {
		if (strcmp(st[k], "*") == 0)
			g_ptr_array_add(wild, g_strdup(sj[k]));
		else if (strcmp(st[k], ">") == 0)
			g_ptr_array_add(wild, g_strjoinv(".", sj + k));
	}
	GString *out = g_string_new(NULL);
	guint next = 0;
	for (guint k = 0; dt[k] != NULL; k++) {
		if (k > 0)
			g_string_append_c(out, '.');
		unsigned n = 0;
		if ((strcmp(dt[k], "*") == 0 || strcmp(dt[k], ">") == 0) && next < wild->len)
			g_string_append(out, wild->pdata[next++]);
		else if (sscanf(dt[k], "{{wildcard(%u)}}", &n) == 1 && n >= 1 && n <= wild->len)
			g_string_append(out, wild->pdata[n - 1]);
		else
			g_string_append(out, dt[k]);
	}
	g_ptr_array_free(wild, TRUE);
	g_strfreev(st);
	g_strfreev(sj);
	g_strfreev(dt);
	return g_string_free(out, FALSE);
}

/* RFC 3339 with nanoseconds, as Go's time.RFC3339Nano writes it. */
static char *
time_text(int64_t ts_ns)
{
	json_t *t = broker_json_time(ts_ns);
	char *text = g_strdup(json_string_value(t));
	json_decref(t);
	return text;
}

/* processJetStreamMsg's republish: the message goes to the transformed
 * subject with Nats-Stream/Subject/Sequence/Time-Stamp/Last-Sequence
 * headers appended (and Nats-Msg-Size instead of the body when
 * headers_only). */
static void
republish(JsStream *s, const char *subject, const BrokerMsgView *m, uint64_t seq, int64_t ts_ns,
    uint64_t subject_last_seq)
{
	const char *src = json_string_value(json_object_get(s->cfg.republish, "src"));
	const char *dest = json_string_value(json_object_get(s->cfg.republish, "dest"));
	bool headers_only = json_is_true(json_object_get(s->cfg.republish, "headers_only"));
	char *to = transform(src != NULL ? src : ">", dest, subject);
	if (to == NULL)
		return;
	GString *h = g_string_new(NULL);
	if (m->headers != NULL && m->headers_len >= 4)
		g_string_append_len(h, (const char *)m->headers, (gssize)m->headers_len - 2); /* drop the last CRLF */
	else
		g_string_append(h, "NATS/1.0\r\n");
	char *ts = time_text(ts_ns);
	g_string_append_printf(h,
	    "Nats-Stream: %s\r\nNats-Subject: %s\r\nNats-Sequence: %" G_GUINT64_FORMAT "\r\nNats-Time-Stamp: %s\r\n"
	    "Nats-Last-Sequence: %" G_GUINT64_FORMAT "\r\n",
	    s->cfg.name, subject, seq, ts, subject_last_seq);
	if (headers_only)
		g_string_append_printf(h, "Nats-Msg-Size: %zu\r\n", m->payload_len);
	g_string_append(h, "\r\n");
	broker_internal_publish(js_broker(s->js), to, NULL, h->str, h->len, headers_only ? NULL : m->payload,
	    headers_only ? 0 : m->payload_len);
	g_free(ts);
	g_string_free(h, TRUE);
	g_free(to);
}

/* ---- StreamInfo ---- */

static json_t *
json_time_or_zero(int64_t ns)
{
	/* Go's zero time.Time marshals as the year 1. */
	return ns == 0 ? json_string("0001-01-01T00:00:00Z") : broker_json_time(ns);
}

/* StreamState (store.go) with nats-server's omitempty rules. subjects:
 * the per-subject counts for a subjects_filter (NULL: none), paged from
 * offset; *total gets how many subjects matched. */
static json_t *
state_json(JsStream *s, const char *subjects_filter, bool deleted_details, int64_t offset, int64_t *total)
{
	JsStoreState st = store_state(s);
	json_t *o = json_object();
	json_object_set_new(o, "messages", json_integer((json_int_t)st.msgs));
	json_object_set_new(o, "bytes", json_integer((json_int_t)st.bytes));
	json_object_set_new(o, "first_seq", json_integer((json_int_t)st.first_seq));
	json_object_set_new(o, "first_ts", json_time_or_zero(st.msgs > 0 ? st.first_ts_ns : 0));
	json_object_set_new(o, "last_seq", json_integer((json_int_t)st.last_seq));
	json_object_set_new(o, "last_ts", json_time_or_zero(st.last_ts_ns));
	if (st.num_subjects > 0)
		json_object_set_new(o, "num_subjects", json_integer((json_int_t)st.num_subjects));
	if (subjects_filter != NULL && subjects_filter[0] != '\0') {
		GArray *counts = g_array_new(FALSE, FALSE, sizeof(JsSubjectCount));
		s->store->ops->subjects(s->store, subjects_filter, counts);
		if (total != NULL)
			*total = counts->len;
		json_t *map = json_object();
		for (guint k = 0; k < counts->len; k++) {
			JsSubjectCount *sc = &g_array_index(counts, JsSubjectCount, k);
			if ((int64_t)k >= offset && (int64_t)k < offset + JS_SUBJECT_DETAILS_MAX)
				json_object_set_new(map, sc->subject, json_integer((json_int_t)sc->count));
			g_free(sc->subject);
		}
		g_array_free(counts, TRUE);
		if (json_object_size(map) > 0)
			json_object_set_new(o, "subjects", map);
		else
			json_decref(map);
	}
	if (st.num_deleted > 0)
		json_object_set_new(o, "num_deleted", json_integer((json_int_t)st.num_deleted));
	if (deleted_details && st.num_deleted > 0) {
		json_t *list = json_array();
		JsStoredMsg m;
		for (uint64_t seq = st.first_seq; seq <= st.last_seq; seq++)
			if (s->store->ops->load(s->store, seq, &m) != JS_STORE_OK)
				json_array_append_new(list, json_integer((json_int_t)seq));
		json_object_set_new(o, "deleted", list);
	}
	json_object_set_new(o, "consumer_count", json_integer(s->consumers->len));
	return o;
}

static json_t *
cluster_json(JsStream *s)
{
	json_t *c = json_object();
	json_object_set_new(c, "leader", json_string(js_server_name(s->js)));
	return c;
}

/* The StreamInfo fields into o: config, created, state, [cluster], ts. */
static void
set_info(JsStream *s, json_t *o, json_t *state, bool cluster)
{
	json_object_set_new(o, "config", cfg_json(&s->cfg));
	json_object_set_new(o, "created", broker_json_time(s->created_ns));
	json_object_set_new(o, "state", state);
	if (cluster)
		json_object_set_new(o, "cluster", cluster_json(s));
	json_object_set_new(o, "ts", broker_json_time(js_now(s->js)));
}

json_t *
js_stream_info_json(JsStream *s, bool with_config)
{
	json_t *o = json_object();
	set_info(s, o, state_json(s, NULL, false, 0, NULL), true);
	if (!with_config)
		json_object_del(o, "config");
	return o;
}

/* ---- create, restore, free, delete ---- */

static void
stream_subscribe(JsStream *s)
{
	Broker *b = js_broker(s->js);
	for (guint k = 0; k < s->cfg.subjects->len; k++) {
		BrokerInternalSub *sub = broker_internal_subscribe(b, s->cfg.subjects->pdata[k], NULL, stream_on_publish, s);
		ASSERT(sub != NULL); /* validated subjects */
		g_ptr_array_add(s->subs, sub);
	}
}

static void
stream_unsubscribe(JsStream *s)
{
	for (guint k = 0; k < s->subs->len; k++)
		broker_internal_unsubscribe(js_broker(s->js), s->subs->pdata[k]);
	g_ptr_array_set_size(s->subs, 0);
}

static void
set_puback_prefix(JsStream *s)
{
	json_t *name = json_string(s->cfg.name);
	char *quoted = json_dumps(name, JSON_ENCODE_ANY | JSON_COMPACT);
	json_decref(name);
	g_free(s->puback_prefix);
	s->puback_prefix = g_strdup_printf("{\"stream\":%s, \"seq\":", quoted);
	free(quoted);
}

/* Saves the config with the store, so a file stream comes back at
 * start-up. */
static void
save_meta(JsStream *s)
{
	json_t *meta = json_object();
	json_object_set_new(meta, "config", cfg_json(&s->cfg));
	json_object_set_new(meta, "created", json_integer(s->created_ns));
	char *text = json_dumps(meta, JSON_COMPACT | JSON_PRESERVE_ORDER);
	JsStoreStatus st = s->store->ops->meta_save(s->store, text);
	if (st != JS_STORE_OK)
		broker_log(js_broker(s->js), BROKER_LOG_ERROR, "JetStream stream '$G > %s': saving its config: %s",
		    s->cfg.name, js_store_status_str(st));
	free(text);
	json_decref(meta);
}

/* Takes cfg (moved) and store. */
static JsStream *
stream_new(JsServer *js, StreamCfg *cfg, JsStore *store, bool store_is_mem, int64_t created_ns)
{
	JsStream *s = g_new0(JsStream, 1);
	s->js = js;
	s->cfg = *cfg;
	memset(cfg, 0, sizeof(*cfg));
	s->created_ns = created_ns;
	s->store = store;
	s->store_is_mem = store_is_mem;
	s->subs = g_ptr_array_new();
	s->consumers = g_ptr_array_new();
	s->dedupe = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, dedupe_entry_free);
	g_queue_init(&s->dedupe_order);
	s->dedupe_at = INT64_MAX;
	s->last_msg_id = g_strdup("");
	s->age_at = INT64_MAX;
	set_puback_prefix(s);
	stream_subscribe(s);
	js_server_stream_add(js, s);
	return s;
}

/* After a restart: the dedupe table from the messages still inside the
 * window (nats-server rebuildDedupe), the max_age timer from the oldest. */
static void
stream_rebuild(JsStream *s)
{
	JsStoreState st = store_state(s);
	if (st.msgs > 0 && s->cfg.max_age_ns > 0)
		s->age_at = st.first_ts_ns + s->cfg.max_age_ns;
	if (st.msgs == 0 || s->cfg.duplicate_window_ns <= 0)
		return;
	int64_t since = js_now(s->js) - s->cfg.duplicate_window_ns;
	JsStoredMsg m;
	for (uint64_t seq = st.first_seq; seq <= st.last_seq; seq = m.seq + 1) {
		if (s->store->ops->load_next(s->store, NULL, seq, &m) != JS_STORE_OK)
			break;
		if (m.ts_ns <= since || m.hdr == NULL)
			continue;
		ProtoSlice id;
		if (proto_headers_get(m.hdr, m.hdr_len, "Nats-Msg-Id", &id) && id.len > 0) {
			char *text = g_strndup((const char *)id.ptr, id.len);
			uint64_t mseq = m.seq;
			int64_t ts = m.ts_ns;
			dedupe_store(s, text, mseq, ts);
			g_free(s->last_msg_id);
			s->last_msg_id = g_strdup(mseq == st.last_seq ? text : "");
			g_free(text);
		}
	}
}

static JsStore *
open_store(JsServer *js, const StreamCfg *cfg, bool *is_mem, JsStoreStatus *status, char **report)
{
	int64_t interval = 0;
	JsStoreConfig sc = { .stream = cfg->name, .sync = js_sync_policy(js, &interval) };
	sc.sync_interval_ns = interval;
	*status = JS_STORE_OK;
	*report = NULL;
	if (cfg->storage == JS_STORAGE_FILE && js_storage(js) != NULL) {
		*is_mem = false;
		return js_filestore_open(js_storage(js), &sc, js_now(js), report, status);
	}
	/* Memory streams, and file streams of a broker without storage. */
	*is_mem = true;
	return js_memstore_create(&sc);
}

JsStream *
js_stream_restore(JsServer *js, const char *name, const char *meta_json, JsStore *store, char **error)
{
	json_t *meta = json_loads(meta_json, 0, NULL);
	json_t *config = meta != NULL ? json_object_get(meta, "config") : NULL;
	StreamCfg cfg;
	uint32_t code = 0;
	char *detail = NULL;
	if (config == NULL || !json_is_object(config) || !cfg_parse(config, &cfg)) {
		if (config != NULL && json_is_object(config))
			cfg_clear(&cfg);
		json_decref(meta);
		store->ops->close(store);
		*error = g_strdup("its saved configuration does not parse");
		return NULL;
	}
	if (!cfg_check(&cfg, &code, &detail) || strcmp(cfg.name, name) != 0 || js_stream_find(js, name) != NULL) {
		*error = g_strdup_printf("its saved configuration is not valid: %s",
		    detail != NULL ? detail : "name mismatch");
		g_free(detail);
		cfg_clear(&cfg);
		json_decref(meta);
		store->ops->close(store);
		return NULL;
	}
	json_t *created = json_object_get(meta, "created");
	int64_t created_ns = json_is_integer(created) ? json_integer_value(created) : js_now(js);
	json_decref(meta);
	JsStream *s = stream_new(js, &cfg, store, false, created_ns);
	stream_rebuild(s);
	if (s->cfg.allow_direct) {
		/* Direct gets are answered through the router. */
	}
	return s;
}

static void
stream_release(JsStream *s)
{
	ASSERT(s->busy == 0 && s->store == NULL);
	g_hash_table_destroy(s->dedupe);
	g_queue_clear(&s->dedupe_order);
	g_ptr_array_free(s->subs, TRUE);
	g_ptr_array_free(s->consumers, TRUE);
	g_free(s->puback_prefix);
	g_free(s->last_msg_id);
	cfg_clear(&s->cfg);
	g_free(s);
}

static void
stream_free_common(JsStream *s, bool delete_all)
{
	ASSERT(!s->dead);
	stream_unsubscribe(s);
	js_server_stream_remove(s->js, s);
	GPtrArray *cs = g_ptr_array_copy(s->consumers, NULL, NULL);
	g_ptr_array_set_size(s->consumers, 0);
	s->consumers_gen++;
	for (guint k = 0; k < cs->len; k++)
		js_consumer_free(cs->pdata[k], delete_all);
	g_ptr_array_free(cs, TRUE);
	if (delete_all)
		s->store->ops->destroy_all(s->store);
	else
		s->store->ops->close(s->store);
	s->store = NULL;
	s->dead = true;
	if (s->busy == 0)
		stream_release(s);
}

void
js_stream_free(JsStream *s)
{
	if (s != NULL)
		stream_free_common(s, false);
}

/* nats-server sendCreate/Delete/UpdateAdvisory: JSStreamActionAdvisory. */
static void
stream_advisory(JsServer *js, const char *name, const char *event, const char *action)
{
	json_t *a = js_advisory_new(js, "io.nats.jetstream.advisory.v1.stream_action");
	json_object_set_new(a, "stream", json_string(name));
	json_object_set_new(a, "action", json_string(action));
	char *subject = g_strdup_printf("$JS.EVENT.ADVISORY.STREAM.%s.%s", event, name);
	js_advisory_publish(js, subject, a);
	g_free(subject);
}

/* ---- API helpers ---- */

static void
respond_error(JsServer *js, const BrokerMsgView *msg, const char *type, uint32_t code, const char *detail)
{
	js_api_respond(js, msg, js_api_error_response(type, code, detail));
}

/* Paged response types carry total/offset/limit even with an error
 * (ApiPaged has no omitempty). */
static void
respond_paged_error(JsServer *js, const BrokerMsgView *msg, const char *type, uint32_t code, const char *extra_key,
    json_t *extra)
{
	json_t *r = js_api_error_response(type, code, NULL);
	json_object_set_new(r, "total", json_integer(0));
	json_object_set_new(r, "offset", json_integer(0));
	json_object_set_new(r, "limit", json_integer(0));
	if (extra_key != NULL)
		json_object_set_new(r, extra_key, extra);
	js_api_respond(js, msg, r);
}

/* An optional request body: NULL with *bad set when it is not empty and
 * not a JSON object. */
static json_t *
optional_body(const BrokerMsgView *msg, bool *bad)
{
	*bad = false;
	if (js_body_empty(msg))
		return NULL;
	json_t *body = js_parse_body(msg);
	*bad = body == NULL;
	return body;
}

/* A JSON request field of Go type uint64/int (absent or null: 0). */
static bool
rd_uint(json_t *o, const char *key, uint64_t *out)
{
	int64_t v = 0;
	if (!rd_int(o, key, 0, INT64_MAX, &v))
		return false;
	*out = (uint64_t)v;
	return true;
}

/* ---- STREAM.CREATE ---- */

/* The reservations of streams with max_bytes (jetstream.go
 * checkBytesLimits against the server's max_memory / max_storage). */
static uint32_t
resources_check(JsServer *js, const StreamCfg *cfg, const JsStream *self)
{
	/* A storage type not given in the request is Go's zero value there,
	 * which checkBytesLimits does not check. */
	if (cfg->max_bytes <= 0 || (int)cfg->storage < 0)
		return 0;
	JsStorageType type = cfg->storage;
	int64_t reserved = 0;
	GPtrArray *all = js_streams(js);
	for (guint k = 0; k < all->len; k++) {
		const JsStream *o = all->pdata[k];
		if (o != self && o->cfg.storage == type && o->cfg.max_bytes > 0)
			reserved += o->cfg.max_bytes;
	}
	if (reserved + cfg->max_bytes > js_server_max_bytes(js, type))
		return type == JS_STORAGE_MEMORY ? 10028 : 10047;
	return 0;
}

/* Some other stream captures one of these subjects (subjectsOverlap). */
static bool
subjects_taken(JsServer *js, const StreamCfg *cfg, const JsStream *self)
{
	GPtrArray *all = js_streams(js);
	for (guint k = 0; k < all->len; k++) {
		const JsStream *o = all->pdata[k];
		if (o == self)
			continue;
		for (guint i = 0; i < cfg->subjects->len; i++)
			for (guint j = 0; j < o->cfg.subjects->len; j++)
				if (overlaps(cfg->subjects->pdata[i], o->cfg.subjects->pdata[j]))
					return true;
	}
	return false;
}

static void
respond_info(JsStream *s, const BrokerMsgView *msg, const char *type, bool did_create)
{
	json_t *r = js_api_response_new(type);
	set_info(s, r, state_json(s, NULL, false, 0, NULL), false);
	if (did_create)
		json_object_set_new(r, "did_create", json_true());
	js_api_respond(s->js, msg, r);
}

void
js_stream_api_create(JsServer *js, const BrokerMsgView *msg, const char *name)
{
	static const char type[] = "stream_create_response";
	json_t *body = js_parse_body(msg);
	StreamCfg cfg;
	if (body == NULL || !cfg_parse(body, &cfg)) {
		if (body != NULL)
			cfg_clear(&cfg);
		json_decref(body);
		respond_error(js, msg, type, 10025, NULL);
		return;
	}
	json_decref(body);
	uint32_t code = 0;
	char *detail = NULL;
	if (cfg.name == NULL || strcmp(cfg.name, name) != 0)
		code = 10056;
	else if (strpbrk(name, "/\\") != NULL)
		code = 10128;
	else if (cfg.sealed)
		code = 10052, detail = g_strdup("stream configuration for create can not be sealed");
	else if (cfg.mirror_direct && cfg.mirror == NULL)
		code = 10052, detail = g_strdup("stream has no mirror but does have mirror direct");
	else if ((code = resources_check(js, &cfg, NULL)) != 0)
		;
	else if (!cfg_check(&cfg, &code, &detail))
		;
	else if (cfg.num_replicas > 1)
		code = 10074;
	if (code != 0) {
		respond_error(js, msg, type, code, detail);
		g_free(detail);
		cfg_clear(&cfg);
		return;
	}
	JsStream *old = js_stream_find(js, name);
	if (old != NULL) {
		/* addStream: the same config again is fine (did_create again). */
		json_t *a = cfg_json(&old->cfg), *b = cfg_json(&cfg);
		bool same = json_equal(a, b);
		json_decref(a);
		json_decref(b);
		cfg_clear(&cfg);
		if (same)
			respond_info(old, msg, type, true);
		else
			respond_error(js, msg, type, 10058, NULL);
		return;
	}
	if (subjects_taken(js, &cfg, NULL)) {
		cfg_clear(&cfg);
		respond_error(js, msg, type, 10065, NULL);
		return;
	}
	if (cfg.first_seq > JS_FIRST_SEQ_MAX) {
		cfg_clear(&cfg);
		respond_error(js, msg, type, 10052, "first_seq above 1048576 is not supported by natsim");
		return;
	}
	bool is_mem = true;
	JsStoreStatus status;
	char *report = NULL;
	JsStore *store = open_store(js, &cfg, &is_mem, &status, &report);
	g_free(report);
	if (store == NULL) {
		broker_probe_hit(js_broker(js), BROKER_PROBE_JS_STORE_FAILED);
		respond_error(js, msg, type, 10049, js_store_status_str(status));
		cfg_clear(&cfg);
		return;
	}
	JsStream *s = stream_new(js, &cfg, store, is_mem, js_now(js));
	for (uint64_t k = 1; k < s->cfg.first_seq; k++)
		store->ops->skip(store, js_now(js), NULL);
	save_meta(s);
	stream_advisory(js, name, "CREATED", "create");
	respond_info(s, msg, type, true);
}

/* ---- STREAM.UPDATE ---- */

/* configUpdateCheck (after checkStreamCfg): what may not change. */
static bool
update_check(JsStream *s, StreamCfg *n, uint32_t *code, char **detail)
{
	const StreamCfg *o = &s->cfg;
	if (!cfg_check(n, code, detail))
		return false;
	if (n->max_consumers != o->max_consumers)
		return invalid(code, detail, "stream configuration update can not change MaxConsumers");
	if (n->storage != o->storage)
		return invalid(code, detail, "stream configuration update can not change storage type");
	if (n->retention != o->retention &&
	    (o->retention == JS_RETENTION_WORKQUEUE || n->retention == JS_RETENTION_WORKQUEUE))
		return invalid(code, detail, "stream configuration update can not change retention policy to/from workqueue");
	if (o->template_owner != NULL && o->template_owner[0] != '\0')
		return invalid(code, detail, "stream configuration update not allowed on template owned stream");
	if (n->template_owner != NULL && n->template_owner[0] != '\0')
		return invalid(code, detail, "stream configuration update can not be owned by a template");
	if (!n->sealed && o->sealed)
		return invalid(code, detail, "stream configuration update can not unseal a sealed stream");
	if (!n->deny_delete && o->deny_delete)
		return invalid(code, detail, "stream configuration update can not cancel deny message deletes");
	if (!n->deny_purge && o->deny_purge)
		return invalid(code, detail, "stream configuration update can not cancel deny purge");
	if (n->sealed) {
		n->max_age_ns = 0;
		n->discard_new = true;
		n->deny_delete = n->deny_purge = true;
		n->allow_rollup_hdrs = false;
	}
	if (n->max_bytes > o->max_bytes && resources_check(s->js, n, s) != 0) {
		*code = resources_check(s->js, n, s);
		return false;
	}
	if (n->num_replicas > 1) {
		*code = 10074;
		return false;
	}
	/* Lower consumer limits must not cut below existing consumers
	 * (updateWithAdvisory); natsim cannot read consumer configs here
	 * beyond their JSON, so it checks through ConsumerInfo. */
	if (n->limit_inactive_threshold_ns != o->limit_inactive_threshold_ns ||
	    n->limit_max_ack_pending != o->limit_max_ack_pending) {
		GString *bad = g_string_new(NULL);
		for (guint k = 0; k < s->consumers->len; k++) {
			json_t *info = js_consumer_info_json(s->consumers->pdata[k], true);
			json_t *cc = json_object_get(info, "config");
			int64_t it = json_integer_value(json_object_get(cc, "inactive_threshold"));
			int64_t map = json_integer_value(json_object_get(cc, "max_ack_pending"));
			if (it > n->limit_inactive_threshold_ns || map > n->limit_max_ack_pending)
				g_string_append_printf(bad, "%s%s", bad->len ? ", " : "", js_consumer_name(s->consumers->pdata[k]));
			json_decref(info);
		}
		if (bad->len > 0) {
			*code = 10069;
			*detail = g_strdup_printf("change to limits violates consumers: %s", bad->str);
			g_string_free(bad, TRUE);
			return false;
		}
		g_string_free(bad, TRUE);
	}
	return true;
}

/* memStore.UpdateConfig: the new limits apply at once (max_msgs and
 * max_bytes under discard old, then a lower per-subject limit), and a new
 * max_age starts its timer from now. */
static void
apply_limits(JsStream *s, int64_t old_max_per_subject)
{
	const StreamCfg *c = &s->cfg;
	uint64_t first_before = store_state(s).first_seq;
	bool evicted = false;
	if (!c->discard_new) {
		JsStoreState st = store_state(s);
		while ((c->max_msgs > 0 && st.msgs > (uint64_t)c->max_msgs) ||
		       (c->max_bytes > 0 && st.bytes > (uint64_t)c->max_bytes && st.msgs > 0)) {
			remove_one(s, st.first_seq, false);
			evicted = true;
			st = store_state(s);
		}
	}
	if (c->max_msgs_per_subject > 0 &&
	    (old_max_per_subject <= 0 || c->max_msgs_per_subject < old_max_per_subject)) {
		GArray *counts = g_array_new(FALSE, FALSE, sizeof(JsSubjectCount));
		s->store->ops->subjects(s->store, NULL, counts);
		for (guint k = 0; k < counts->len; k++) {
			JsSubjectCount *sc = &g_array_index(counts, JsSubjectCount, k);
			for (uint64_t n = sc->count; n > (uint64_t)c->max_msgs_per_subject; n--) {
				remove_one(s, s->store->ops->subject_first(s->store, sc->subject), false);
				evicted = true;
			}
			g_free(sc->subject);
		}
		g_array_free(counts, TRUE);
	}
	if (evicted)
		broker_probe_hit(js_broker(s->js), BROKER_PROBE_JS_DISCARD_OLD);
	if (c->max_age_ns == 0)
		s->age_at = INT64_MAX;
	else if (s->age_at == INT64_MAX && store_state(s).msgs > 0)
		s->age_at = js_now(s->js) + c->max_age_ns;
	after_removal(s, first_before);
}

void
js_stream_api_update(JsServer *js, const BrokerMsgView *msg, const char *name)
{
	static const char type[] = "stream_update_response";
	json_t *body = js_parse_body(msg);
	StreamCfg cfg;
	if (body == NULL || !cfg_parse(body, &cfg)) {
		if (body != NULL)
			cfg_clear(&cfg);
		json_decref(body);
		respond_error(js, msg, type, 10025, NULL);
		return;
	}
	json_decref(body);
	if (cfg.name == NULL || strcmp(cfg.name, name) != 0) {
		cfg_clear(&cfg);
		respond_error(js, msg, type, 10056, NULL);
		return;
	}
	JsStream *s = js_stream_find(js, name);
	if (s == NULL) {
		cfg_clear(&cfg);
		respond_error(js, msg, type, 10059, NULL);
		return;
	}
	uint32_t code = 0;
	char *detail = NULL;
	if (!update_check(s, &cfg, &code, &detail) || (subjects_taken(js, &cfg, s) && (code = 10065) != 0)) {
		respond_error(js, msg, type, code, detail);
		g_free(detail);
		cfg_clear(&cfg);
		return;
	}
	int64_t old_window = s->cfg.duplicate_window_ns;
	int64_t old_max_per = s->cfg.max_msgs_per_subject;
	stream_unsubscribe(s);
	cfg.first_seq = s->cfg.first_seq;
	/* The name string is the registry's key: keep the same one. */
	g_free(cfg.name);
	cfg.name = s->cfg.name;
	s->cfg.name = NULL;
	cfg_clear(&s->cfg);
	s->cfg = cfg;
	stream_subscribe(s);
	if (s->cfg.duplicate_window_ns != old_window && s->dedupe_at != INT64_MAX)
		s->dedupe_at = js_now(js) + 1000; /* ddtmr.Reset(time.Microsecond) */
	apply_limits(s, old_max_per);
	save_meta(s);
	stream_advisory(js, name, "UPDATED", "modify");
	respond_info(s, msg, type, false);
}

/* ---- STREAM.INFO ---- */

void
js_stream_api_info(JsServer *js, const BrokerMsgView *msg, const char *name)
{
	static const char type[] = "stream_info_response";
	bool bad;
	json_t *body = optional_body(msg, &bad);
	bool details = false;
	char *filter = NULL;
	int64_t offset = 0;
	if (bad || (body != NULL && (!rd_bool(body, "deleted_details", &details) ||
					!rd_string(body, "subjects_filter", &filter) ||
					!rd_int(body, "offset", INT64_MIN, INT64_MAX, &offset)))) {
		json_decref(body);
		g_free(filter);
		respond_paged_error(js, msg, type, 10025, NULL, NULL);
		return;
	}
	json_decref(body);
	JsStream *s = js_stream_find(js, name);
	if (s == NULL) {
		g_free(filter);
		respond_paged_error(js, msg, type, 10059, NULL, NULL);
		return;
	}
	json_t *r = js_api_response_new(type);
	int64_t total = 0;
	if (offset < 0)
		offset = 0;
	json_t *state = state_json(s, filter, details, offset, &total);
	bool paged = filter != NULL && filter[0] != '\0' && total > 0;
	json_object_set_new(r, "total", json_integer(paged ? total : 0));
	json_object_set_new(r, "offset", json_integer(paged ? MIN(offset, total) : 0));
	json_object_set_new(r, "limit", json_integer(paged ? JS_SUBJECT_DETAILS_MAX : 0));
	set_info(s, r, state, true);
	g_free(filter);
	js_api_respond(js, msg, r);
}

/* ---- STREAM.DELETE ---- */

void
js_stream_api_delete(JsServer *js, const BrokerMsgView *msg, const char *name)
{
	static const char type[] = "stream_delete_response";
	JsStream *s = js_stream_find(js, name);
	if (s == NULL) {
		respond_error(js, msg, type, 10059, NULL);
		return;
	}
	char *saved = g_strdup(name); /* name may point into the stream */
	stream_free_common(s, true);
	stream_advisory(js, saved, "DELETED", "delete");
	g_free(saved);
	json_t *r = js_api_response_new(type);
	json_object_set_new(r, "success", json_true());
	js_api_respond(js, msg, r);
}

/* ---- STREAM.PURGE ---- */

void
js_stream_api_purge(JsServer *js, const BrokerMsgView *msg, const char *name)
{
	static const char type[] = "stream_purge_response";
	bool bad;
	json_t *body = optional_body(msg, &bad);
	char *filter = NULL;
	uint64_t seq = 0, keep = 0;
	if (bad || (body != NULL && (!rd_string(body, "filter", &filter) || !rd_uint(body, "seq", &seq) ||
					!rd_uint(body, "keep", &keep)))) {
		json_decref(body);
		g_free(filter);
		respond_error(js, msg, type, 10025, NULL);
		return;
	}
	json_decref(body);
	uint32_t code = 0;
	const char *detail = NULL;
	JsStream *s = NULL;
	if (seq > 0 && keep > 0)
		code = 10003;
	else if ((s = js_stream_find(js, name)) == NULL)
		code = 10059;
	else if (s->cfg.sealed)
		code = 10109;
	else if (s->cfg.deny_purge)
		code = 10110, detail = "stream purge not permitted";
	if (code != 0) {
		g_free(filter);
		respond_error(js, msg, type, code, detail);
		return;
	}
	broker_probe_hit(js_broker(js), BROKER_PROBE_JS_PURGE);
	uint64_t purged = purge_ex(s, filter, seq, keep);
	g_free(filter);
	JsStoreState st = store_state(s);
	if (st.msgs == 0)
		s->age_at = INT64_MAX;
	/* mset.purge tells every consumer (o.purge) where the stream now
	 * starts. */
	notify_purged(s, st.first_seq);
	json_t *r = js_api_response_new(type);
	json_object_set_new(r, "success", json_true());
	json_object_set_new(r, "purged", json_integer((json_int_t)purged));
	js_api_respond(js, msg, r);
}

/* ---- STREAM.NAMES and STREAM.LIST ---- */

/* Streams with a subject overlapping filter (all for NULL), name order. */
static GPtrArray *
filtered_streams(JsServer *js, const char *filter)
{
	GPtrArray *all = js_streams(js);
	GPtrArray *out = g_ptr_array_new();
	for (guint k = 0; k < all->len; k++) {
		JsStream *s = all->pdata[k];
		bool take = filter == NULL || filter[0] == '\0';
		for (guint j = 0; !take && j < s->cfg.subjects->len; j++)
			take = overlaps(filter, s->cfg.subjects->pdata[j]);
		if (take)
			g_ptr_array_add(out, s);
	}
	return out;
}

static bool
paging_request(const BrokerMsgView *msg, int64_t *offset, char **subject)
{
	bool bad;
	json_t *body = optional_body(msg, &bad);
	*offset = 0;
	*subject = NULL;
	bool ok = !bad && (body == NULL || (rd_int(body, "offset", INT64_MIN, INT64_MAX, offset) &&
					      rd_string(body, "subject", subject)));
	json_decref(body);
	if (*offset < 0)
		*offset = 0;
	return ok;
}

void
js_stream_api_names(JsServer *js, const BrokerMsgView *msg)
{
	static const char type[] = "stream_names_response";
	int64_t offset;
	char *subject;
	if (!paging_request(msg, &offset, &subject)) {
		g_free(subject);
		respond_paged_error(js, msg, type, 10025, "streams", json_null());
		return;
	}
	GPtrArray *list = filtered_streams(js, subject);
	g_free(subject);
	int64_t total = list->len;
	offset = MIN(offset, total);
	json_t *names = json_array();
	for (int64_t k = offset; k < total && json_array_size(names) < JS_NAMES_LIMIT; k++)
		json_array_append_new(names, json_string(js_stream_name(list->pdata[k])));
	g_ptr_array_free(list, TRUE);
	json_t *r = js_api_response_new(type);
	json_object_set_new(r, "total", json_integer(total));
	json_object_set_new(r, "offset", json_integer(offset));
	json_object_set_new(r, "limit", json_integer(JS_NAMES_LIMIT));
	/* A nil Go slice marshals as null. */
	if (json_array_size(names) > 0) {
		json_object_set_new(r, "streams", names);
	} else {
		json_decref(names);
		json_object_set_new(r, "streams", json_null());
	}
	js_api_respond(js, msg, r);
}

void
js_stream_api_list(JsServer *js, const BrokerMsgView *msg)
{
	static const char type[] = "stream_list_response";
	int64_t offset;
	char *subject;
	if (!paging_request(msg, &offset, &subject)) {
		g_free(subject);
		respond_paged_error(js, msg, type, 10025, "streams", json_array());
		return;
	}
	GPtrArray *list = filtered_streams(js, subject);
	g_free(subject);
	int64_t total = list->len;
	offset = MIN(offset, total);
	json_t *infos = json_array();
	for (int64_t k = offset; k < total && json_array_size(infos) < JS_LIST_LIMIT; k++) {
		JsStream *s = list->pdata[k];
		json_t *info = json_object();
		set_info(s, info, state_json(s, NULL, false, 0, NULL), false);
		json_array_append_new(infos, info);
	}
	g_ptr_array_free(list, TRUE);
	json_t *r = js_api_response_new(type);
	json_object_set_new(r, "total", json_integer(total));
	json_object_set_new(r, "offset", json_integer(offset));
	json_object_set_new(r, "limit", json_integer(JS_LIST_LIMIT));
	json_object_set_new(r, "streams", infos);
	js_api_respond(js, msg, r);
}

/* ---- STREAM.MSG.GET and DIRECT.GET ---- */

typedef struct GetRequest {
	uint64_t seq;
	char *last_by_subj;
	char *next_by_subj;
} GetRequest;

static bool
get_request_parse(json_t *body, GetRequest *g)
{
	memset(g, 0, sizeof(*g));
	return rd_uint(body, "seq", &g->seq) && rd_string(body, "last_by_subj", &g->last_by_subj) &&
	       rd_string(body, "next_by_subj", &g->next_by_subj);
}

static void
get_request_clear(GetRequest *g)
{
	g_free(g->last_by_subj);
	g_free(g->next_by_subj);
}

static bool
str_set(const char *s)
{
	return s != NULL && s[0] != '\0';
}

static JsStoreStatus
get_load(JsStream *s, const GetRequest *g, JsStoredMsg *m)
{
	if (g->seq > 0 && !str_set(g->next_by_subj))
		return s->store->ops->load(s->store, g->seq, m);
	if (str_set(g->next_by_subj))
		return s->store->ops->load_next(s->store, g->next_by_subj, g->seq, m);
	return s->store->ops->load_last(s->store, g->last_by_subj, m);
}

static json_t *
base64_json(const uint8_t *data, size_t len)
{
	char *b64 = g_base64_encode(data, len);
	json_t *j = json_string(b64);
	g_free(b64);
	return j;
}

void
js_stream_api_msg_get(JsServer *js, const BrokerMsgView *msg, const char *name)
{
	static const char type[] = "stream_msg_get_response";
	if (js_body_empty(msg)) {
		respond_error(js, msg, type, 10003, NULL);
		return;
	}
	json_t *body = js_parse_body(msg);
	GetRequest g;
	if (body == NULL || !get_request_parse(body, &g)) {
		if (body != NULL)
			get_request_clear(&g);
		json_decref(body);
		respond_error(js, msg, type, 10025, NULL);
		return;
	}
	json_decref(body);
	bool bad = (g.seq > 0 && str_set(g.last_by_subj)) ||
		   (g.seq == 0 && !str_set(g.last_by_subj) && !str_set(g.next_by_subj)) ||
		   (str_set(g.last_by_subj) && str_set(g.next_by_subj));
	JsStream *s = bad ? NULL : js_stream_find(js, name);
	JsStoredMsg m;
	uint32_t code = bad ? 10003 : s == NULL ? 10059 : get_load(s, &g, &m) != JS_STORE_OK ? 10037 : 0;
	get_request_clear(&g);
	if (code != 0) {
		respond_error(js, msg, type, code, NULL);
		return;
	}
	json_t *r = js_api_response_new(type);
	json_t *message = json_object();
	json_object_set_new(message, "subject", json_stringn(m.subject, m.subject_len));
	json_object_set_new(message, "seq", json_integer((json_int_t)m.seq));
	if (m.hdr_len > 0)
		json_object_set_new(message, "hdrs", base64_json(m.hdr, m.hdr_len));
	if (m.data_len > 0)
		json_object_set_new(message, "data", base64_json(m.data, m.data_len));
	json_object_set_new(message, "time", broker_json_time(m.ts_ns));
	json_object_set_new(r, "message", message);
	/* A found message goes out with sendInternalAccountMsg, not
	 * sendAPIResponse: no api count and no audit advisory. */
	char *text = json_dumps(r, JSON_COMPACT | JSON_PRESERVE_ORDER);
	char *reply = g_strndup(msg->reply, msg->reply_len);
	broker_internal_publish(js_broker(js), reply, NULL, NULL, 0, text, strlen(text));
	g_free(reply);
	free(text);
	json_decref(r);
}

static void
direct_status(JsServer *js, const char *reply, const char *status)
{
	char *hdr = g_strdup_printf("NATS/1.0 %s\r\n\r\n", status);
	broker_internal_publish(js_broker(js), reply, NULL, hdr, strlen(hdr), NULL, 0);
	g_free(hdr);
}

/* stream.go processDirectGetRequest / processDirectGetLastBySubjectRequest
 * and getDirectRequest. Only streams with allow_direct answer; the others
 * (and missing streams) stay silent. */
void
js_stream_api_direct_get(JsServer *js, const BrokerMsgView *msg, const char *name, const char *subject)
{
	JsStream *s = js_stream_find(js, name);
	if (s == NULL || !s->cfg.allow_direct || msg->reply == NULL || msg->reply_len == 0)
		return;
	char *reply = g_strndup(msg->reply, msg->reply_len);
	GetRequest g = { 0 };
	const char *status = NULL;
	if (subject != NULL) {
		if (msg->payload_len != 0)
			status = "408 Bad Request";
		else
			g.last_by_subj = g_strdup(subject);
	} else if (msg->payload_len == 0) {
		status = "408 Empty Request";
	} else {
		json_t *body = js_parse_body(msg);
		if (body == NULL || !get_request_parse(body, &g))
			status = "408 Malformed Request";
		else if (g.seq == 0 && !str_set(g.last_by_subj) && !str_set(g.next_by_subj))
			status = "408 Empty Request";
		else if ((g.seq > 0 && str_set(g.last_by_subj)) || (str_set(g.last_by_subj) && str_set(g.next_by_subj)))
			status = "408 Bad Request";
		json_decref(body);
	}
	JsStoredMsg m;
	if (status == NULL && get_load(s, &g, &m) != JS_STORE_OK)
		status = "404 Message Not Found";
	get_request_clear(&g);
	if (status != NULL) {
		direct_status(js, reply, status);
		g_free(reply);
		return;
	}
	GString *h = g_string_new(NULL);
	if (m.hdr_len >= 4)
		g_string_append_len(h, (const char *)m.hdr, (gssize)m.hdr_len - 2);
	else
		g_string_append(h, "NATS/1.0\r\n");
	char *ts = time_text(m.ts_ns);
	g_string_append_printf(h, "Nats-Stream: %s\r\nNats-Subject: %.*s\r\nNats-Sequence: %" G_GUINT64_FORMAT
				  "\r\nNats-Time-Stamp: %s\r\n\r\n",
	    s->cfg.name, (int)m.subject_len, m.subject, m.seq, ts);
	/* The view lives until the next store call; the publish may store
	 * (a stream capturing the reply), so copy the payload first. */
	GByteArray *data = g_byte_array_sized_new((guint)m.data_len);
	g_byte_array_append(data, m.data, (guint)m.data_len);
	broker_internal_publish(js_broker(js), reply, NULL, h->str, h->len, data->data, data->len);
	g_byte_array_free(data, TRUE);
	g_free(ts);
	g_string_free(h, TRUE);
	g_free(reply);
}

/* ---- STREAM.MSG.DELETE ---- */

void
js_stream_api_msg_delete(JsServer *js, const BrokerMsgView *msg, const char *name)
{
	static const char type[] = "stream_msg_delete_response";
	if (js_body_empty(msg)) {
		respond_error(js, msg, type, 10003, NULL);
		return;
	}
	json_t *body = js_parse_body(msg);
	uint64_t seq = 0;
	bool no_erase = false;
	if (body == NULL || !rd_uint(body, "seq", &seq) || !rd_bool(body, "no_erase", &no_erase)) {
		json_decref(body);
		respond_error(js, msg, type, 10025, NULL);
		return;
	}
	json_decref(body);
	JsStream *s = js_stream_find(js, name);
	if (s == NULL) {
		respond_error(js, msg, type, 10059, NULL);
		return;
	}
	if (s->cfg.sealed) {
		respond_error(js, msg, type, 10109, NULL);
		return;
	}
	if (s->cfg.deny_delete) {
		respond_error(js, msg, type, 10057, "message delete not permitted");
		return;
	}
	uint64_t first_before = store_state(s).first_seq;
	uint64_t last = store_state(s).last_seq;
	JsStoreStatus st = remove_one(s, seq, !no_erase);
	if (st != JS_STORE_OK) {
		/* The memory store reports a missing message as not removed
		 * (10043); the file store as an error (10057). */
		if (s->cfg.storage == JS_STORAGE_MEMORY) {
			char detail[32];
			snprintf(detail, sizeof(detail), "%" G_GUINT64_FORMAT, seq);
			respond_error(js, msg, type, 10043, detail);
		} else {
			respond_error(js, msg, type, 10057, seq > last ? "stream store EOF" : "no message found");
		}
		return;
	}
	after_removal(s, first_before);
	json_t *r = js_api_response_new(type);
	json_object_set_new(r, "success", json_true());
	js_api_respond(js, msg, r);
}
