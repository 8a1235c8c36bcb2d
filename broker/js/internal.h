/*
 * internal.h - what the JetStream files share (jetstream.c, api.c,
 * config.c, stream.c, consumer.c, advisory.c, errors.c, gotime.c).
 * Nothing outside broker/js/ includes it.
 *
 * The object tree: JsServer owns JsStreams (sorted by name), a JsStream
 * owns its JsStore and its JsConsumers (sorted by name). Every timer is a
 * JsTimer in the server's one heap, ordered by (due, creation order), so
 * ties fire in a fixed order; the heap feeds the broker's ticker. Work
 * that nats-server does in goroutines (a consumer's delivery loop, woken
 * by signalNewMessages) is queued as a "kick" and run from the ticker at
 * the same instant, after the event that caused it: nothing in
 * JetStream re-enters a consumer from inside its own routing.
 */
#ifndef NATSIM_BROKER_JS_INTERNAL_H
#define NATSIM_BROKER_JS_INTERNAL_H

#include <glib.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "broker/broker.h"
#include "broker/js/jetstream.h"
#include "broker/js/store.h"

#define JS_NS_PER_MS INT64_C(1000000)
#define JS_NS_PER_S INT64_C(1000000000)

/* ---- limits (nats-server's where it has one) ---- */
#define JS_NAME_LEN_MAX 255                 /* JSMaxNameLen */
#define JS_DESCRIPTION_LEN_MAX 4096         /* JSMaxDescriptionLen */
#define JS_METADATA_LEN_MAX (128 * 1024)    /* JSMaxMetadataLen */
#define JS_NAMES_LIMIT 1024                 /* JSApiNamesLimit */
#define JS_LIST_LIMIT 256                   /* JSApiListLimit */
#define JS_SUBJECT_DETAILS_MAX 100000       /* JSMaxSubjectDetails */
#define JS_STREAMS_MAX 10000                /* natsim: streams per server */
#define JS_CONSUMERS_MAX 10000              /* natsim: consumers per stream */
#define JS_STREAM_SUBJECTS_MAX 1024         /* natsim: subjects per stream */
#define JS_BACKOFF_MAX 64                   /* natsim: backoff entries */
#define JS_FILTERS_MAX 256                  /* natsim: filter_subjects entries */
#define JS_WAITING_DEFAULT 512              /* JSWaitQueueDefaultMax */
#define JS_WAITING_MAX 100000               /* natsim: max_waiting ceiling */
#define JS_ACK_WAIT_DEFAULT_NS (30 * JS_NS_PER_S)  /* JsAckWaitDefault */
#define JS_ACK_WAIT_DELAY_NS JS_NS_PER_MS           /* ackWaitDelay */
#define JS_INACTIVE_DEFAULT_NS (5 * JS_NS_PER_S)    /* JsDeleteWaitTimeDefault */
#define JS_MAX_ACK_PENDING_DEFAULT 1000             /* JsDefaultMaxAckPending */
#define JS_FLOW_CONTROL_MAX_PENDING (32 * 1024 * 1024) /* JsFlowControlMaxPending */
#define JS_DUPLICATES_DEFAULT_NS (120 * JS_NS_PER_S)   /* StreamDefaultDuplicatesWindow */
#define JS_DEDUPE_SWEEP_MIN_NS (50 * JS_NS_PER_MS)     /* purgeMsgIds minFire */
#define JS_MIN_AGE_NS (100 * JS_NS_PER_MS)             /* max_age / duplicates floor */
#define JS_HEADER_LEN_MAX 65535                        /* math.MaxUint16 */
#define JS_MAX_MEMORY_DEFAULT (INT64_C(1) << 30)
#define JS_MAX_STORAGE_DEFAULT (INT64_C(1) << 40)
#define JS_RUN_BUDGET 10000      /* deliveries per consumer run before it yields */
#define JS_TICK_BUDGET 100000    /* timers + kicks per ticker call */

/* ---- errors: the API's error identities (nats-server errors.json) ---- */

/* Each value is one nats-server ApiError: its HTTP-like code, its
 * err_code and its description template live in errors.c. JS_OK is no
 * error. */
typedef enum JsErr {
	JS_OK = 0,
	JS_ERR_BAD_REQUEST,                    /* 10003 400 bad request */
	JS_ERR_CONSUMER_CREATE,                /* 10012 500 {err} */
	JS_ERR_CONSUMER_NAME_EXIST,            /* 10013 400 consumer name already in use */
	JS_ERR_CONSUMER_NOT_FOUND,             /* 10014 404 consumer not found */
	JS_ERR_CONSUMER_DURABLE_NOT_IN_SUBJECT, /* 10016 400 */
	JS_ERR_CONSUMER_DURABLE_SUBJECT_MISMATCH, /* 10017 400 */
	JS_ERR_CONSUMER_DURABLE_NOT_SET,       /* 10018 400 */
	JS_ERR_CONSUMER_EPHEMERAL_WITH_DURABLE, /* 10020 400 */
	JS_ERR_INSUFFICIENT_RESOURCES,         /* 10023 503 insufficient resources */
	JS_ERR_INVALID_JSON,                   /* 10025 400 invalid JSON */
	JS_ERR_MAX_CONSUMERS,                  /* 10026 400 maximum consumers limit reached */
	JS_ERR_MAX_STREAMS,                    /* 10027 400 maximum number of streams reached */
	JS_ERR_MEMORY_RESOURCES,               /* 10028 500 insufficient memory resources available */
	JS_ERR_NO_MESSAGE_FOUND,               /* 10037 404 no message found */
	JS_ERR_NOT_EMPTY_REQUEST,              /* 10038 400 expected an empty request payload */
	JS_ERR_SEQUENCE_NOT_FOUND,             /* 10043 400 sequence {seq} not found */
	JS_ERR_STORAGE_RESOURCES,              /* 10047 500 insufficient storage resources available */
	JS_ERR_STREAM_CREATE,                  /* 10049 500 {err} */
	JS_ERR_STREAM_DELETE,                  /* 10050 500 {err} */
	JS_ERR_STREAM_GENERAL,                 /* 10051 500 {err} */
	JS_ERR_STREAM_INVALID_CONFIG,          /* 10052 500 {err} */
	JS_ERR_STREAM_MSG_TOO_BIG,             /* 10054 400 message size exceeds maximum allowed */
	JS_ERR_STREAM_MIRROR_NOT_UPDATABLE,    /* 10055 400 */
	JS_ERR_STREAM_MISMATCH,                /* 10056 400 stream name in subject does not match request */
	JS_ERR_STREAM_MSG_DELETE_FAILED,       /* 10057 500 {err} */
	JS_ERR_STREAM_NAME_EXIST,              /* 10058 400 */
	JS_ERR_STREAM_NOT_FOUND,               /* 10059 404 stream not found */
	JS_ERR_STREAM_NOT_MATCH,               /* 10060 400 expected stream does not match */
	JS_ERR_STREAM_SUBJECT_OVERLAP,         /* 10065 400 subjects overlap with an existing stream */
	JS_ERR_STREAM_UPDATE,                  /* 10069 500 {err} */
	JS_ERR_STREAM_WRONG_LAST_MSG_ID,       /* 10070 400 wrong last msg ID: {id} */
	JS_ERR_STREAM_WRONG_LAST_SEQUENCE,     /* 10071 400 wrong last sequence: {seq} */
	JS_ERR_STREAM_REPLICAS_NOT_SUPPORTED,  /* 10074 500 replicas > 1 not supported in non-clustered mode */
	JS_ERR_STREAM_STORE_FAILED,            /* 10077 503 {err} */
	JS_ERR_CONSUMER_CONFIG_REQUIRED,       /* 10078 400 */
	JS_ERR_CONSUMER_DELIVER_TO_WILDCARDS,  /* 10079 400 */
	JS_ERR_CONSUMER_PUSH_MAX_WAITING,      /* 10080 400 */
	JS_ERR_CONSUMER_DELIVER_CYCLE,         /* 10081 400 */
	JS_ERR_CONSUMER_MAX_PENDING_ACK_POLICY, /* 10082 400 */
	JS_ERR_CONSUMER_SMALL_HEARTBEAT,       /* 10083 400 */
	JS_ERR_CONSUMER_PULL_REQUIRES_ACK,     /* 10084 400 */
	JS_ERR_CONSUMER_PULL_WITH_RATE_LIMIT,  /* 10086 400 */
	JS_ERR_CONSUMER_MAX_WAITING_NEGATIVE,  /* 10087 400 */
	JS_ERR_CONSUMER_HB_REQUIRES_PUSH,      /* 10088 400 */
	JS_ERR_CONSUMER_FC_REQUIRES_PUSH,      /* 10089 400 */
	JS_ERR_CONSUMER_DIRECT_REQUIRES_PUSH,  /* 10090 400 */
	JS_ERR_CONSUMER_DIRECT_REQUIRES_EPHEMERAL, /* 10091 400 */
	JS_ERR_CONSUMER_INVALID_POLICY,        /* 10094 400 {err} */
	JS_ERR_CONSUMER_INVALID_SAMPLING,      /* 10095 400 failed to parse consumer sampling configuration: {err} */
	JS_ERR_STREAM_HEADER_TOO_BIG,          /* 10097 400 */
	JS_ERR_CONSUMER_WQ_REQUIRES_EXPLICIT_ACK, /* 10098 400 */
	JS_ERR_CONSUMER_WQ_MULTIPLE_UNFILTERED, /* 10099 400 */
	JS_ERR_CONSUMER_WQ_NOT_UNIQUE,         /* 10100 400 */
	JS_ERR_CONSUMER_WQ_NOT_DELIVER_ALL,    /* 10101 400 */
	JS_ERR_CONSUMER_NAME_TOO_LONG,         /* 10102 400 consumer name is too long, maximum allowed is {max} */
	JS_ERR_CONSUMER_BAD_DURABLE_NAME,      /* 10103 400 */
	JS_ERR_CONSUMER_DESCRIPTION_TOO_LONG,  /* 10107 400 */
	JS_ERR_CONSUMER_FC_NEEDS_HEARTBEATS,   /* 10108 400 */
	JS_ERR_STREAM_SEALED,                  /* 10109 400 invalid operation on sealed stream */
	JS_ERR_STREAM_PURGE_FAILED,            /* 10110 500 {err} */
	JS_ERR_STREAM_ROLLUP_FAILED,           /* 10111 500 {err} */
	JS_ERR_CONSUMER_INVALID_DELIVER_SUBJECT, /* 10112 400 */
	JS_ERR_CONSUMER_MAX_REQUEST_BATCH_NEGATIVE, /* 10114 400 */
	JS_ERR_CONSUMER_MAX_REQUEST_EXPIRES_TOO_SMALL, /* 10115 400 */
	JS_ERR_CONSUMER_MAX_DELIVER_BACKOFF,   /* 10116 400 */
	JS_ERR_CONSUMER_REPLICAS_EXCEEDS_STREAM, /* 10126 400 */
	JS_ERR_CONSUMER_NAME_PATH_SEPARATORS,  /* 10127 400 */
	JS_ERR_STREAM_NAME_PATH_SEPARATORS,    /* 10128 400 */
	JS_ERR_CONSUMER_FILTER_SUBJECT_MISMATCH, /* 10131 400 */
	JS_ERR_CONSUMER_DURABLE_NAME_MISMATCH, /* 10132 400 */
	JS_ERR_REPLICAS_NEGATIVE,              /* 10133 400 */
	JS_ERR_CONSUMER_METADATA_LENGTH,       /* 10135 400 */
	JS_ERR_CONSUMER_DUPLICATE_FILTER_SUBJECTS, /* 10136 400 */
	JS_ERR_CONSUMER_MULTIPLE_FILTERS_NOT_ALLOWED, /* 10137 400 */
	JS_ERR_CONSUMER_OVERLAPPING_FILTERS,   /* 10138 400 */
	JS_ERR_CONSUMER_EMPTY_FILTER,          /* 10139 400 */
	JS_ERR_CONSUMER_ALREADY_EXISTS,        /* 10148 400 consumer already exists */
	JS_ERR_CONSUMER_DOES_NOT_EXIST,        /* 10149 400 consumer does not exist */
	JS_ERR_COUNT
} JsErr;

/* An error with its description filled in (templates expanded). */
typedef struct JsError {
	JsErr id;
	char description[512];
} JsError;

/* Sets err to id; fmt (may be NULL) gives the {err}/{seq}/... part. */
void js_error_set(JsError *err, JsErr id, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
int js_error_code(JsErr id);
int js_error_err_code(JsErr id);
/* {"code":..,"err_code":..,"description":..} */
json_t *js_error_json(const JsError *err);

/* ---- Go formats (gotime.c) ---- */

/* Go's time.Time JSON: RFC 3339, nanoseconds trimmed, "Z"; 0 is Go's zero
 * time "0001-01-01T00:00:00Z". */
void js_time_format(int64_t unix_ns, char out[64]);
json_t *js_time_json(int64_t unix_ns);
/* RFC 3339 (what time.Time's UnmarshalJSON accepts); false when bad. */
bool js_time_parse(const char *text, int64_t *unix_ns);
/* Go's time.ParseDuration ("1s", "1.5m", "300ms", "-2h45m"). */
bool js_duration_parse(const char *text, int64_t *ns);
/* Go's time.Duration.String(). */
void js_duration_format(int64_t ns, char out[40]);

/* ---- configs (config.c) ---- */

typedef enum JsRetention { JS_RETENTION_LIMITS = 0, JS_RETENTION_INTEREST, JS_RETENTION_WORKQUEUE } JsRetention;
typedef enum JsDiscard { JS_DISCARD_OLD = 0, JS_DISCARD_NEW } JsDiscard;
typedef enum JsStorageType { JS_STORAGE_FILE = 0, JS_STORAGE_MEMORY } JsStorageType;
typedef enum JsAckPolicy { JS_ACK_NONE = 0, JS_ACK_ALL, JS_ACK_EXPLICIT } JsAckPolicy;
typedef enum JsReplayPolicy { JS_REPLAY_INSTANT = 0, JS_REPLAY_ORIGINAL } JsReplayPolicy;
typedef enum JsDeliverPolicy {
	JS_DELIVER_ALL = 0,
	JS_DELIVER_LAST,
	JS_DELIVER_NEW,
	JS_DELIVER_BY_START_SEQUENCE,
	JS_DELIVER_BY_START_TIME,
	JS_DELIVER_LAST_PER_SUBJECT,
} JsDeliverPolicy;
typedef enum JsConsumerAction { JS_ACTION_CREATE_OR_UPDATE = 0, JS_ACTION_UPDATE, JS_ACTION_CREATE } JsConsumerAction;

/* nats-server's StreamConfig (stream.go). Strings are owned (g_free);
 * the JSON members nobody interprets are kept for the echo. */
typedef struct JsStreamConfig {
	char *name;
	char *description;
	char **subjects; /* NULL-terminated; NULL when none */
	JsRetention retention;
	int64_t max_consumers;
	int64_t max_msgs;
	int64_t max_bytes;
	int64_t max_age_ns;
	int64_t max_msgs_per_subject;
	int64_t max_msg_size; /* an int32 in nats-server */
	JsDiscard discard;
	JsStorageType storage;
	int64_t num_replicas;
	bool no_ack;
	char *template_owner;
	int64_t duplicate_window_ns;
	json_t *placement, *mirror, *sources, *republish, *subject_transform, *metadata;
	bool compression_s2;
	uint64_t first_seq;
	bool allow_direct, mirror_direct, discard_new_per_subject, sealed, deny_delete, deny_purge, allow_rollup_hdrs;
	int64_t consumer_limits_inactive_threshold_ns;
	int64_t consumer_limits_max_ack_pending;
} JsStreamConfig;

/* nats-server's ConsumerConfig (consumer.go). */
typedef struct JsConsumerConfig {
	char *durable_name;
	char *name;
	char *description;
	JsDeliverPolicy deliver_policy;
	uint64_t opt_start_seq;
	bool has_opt_start_time;
	int64_t opt_start_time_ns;
	JsAckPolicy ack_policy;
	int64_t ack_wait_ns;
	int64_t max_deliver;
	int64_t *backoff_ns;
	uint32_t backoff_count;
	char *filter_subject;
	char **filter_subjects; /* NULL-terminated; NULL when none */
	JsReplayPolicy replay_policy;
	uint64_t rate_limit_bps;
	char *sample_freq;
	int64_t max_waiting;
	int64_t max_ack_pending;
	int64_t idle_heartbeat_ns;
	bool flow_control;
	bool headers_only;
	int64_t max_batch;
	int64_t max_expires_ns;
	int64_t max_bytes;
	char *deliver_subject;
	char *deliver_group;
	int64_t inactive_threshold_ns;
	int64_t num_replicas;
	bool mem_storage;
	bool direct;
	json_t *metadata;
} JsConsumerConfig;

/* Decoding follows Go's encoding/json: keys match case-insensitively (the
 * last one wins), unknown keys are ignored, null leaves a field alone, a
 * value of the wrong type (a float for an integer, a bad enum string) is
 * an error. out is zeroed first; false means "invalid JSON" (10025). */
bool js_stream_config_parse(const json_t *obj, JsStreamConfig *out);
bool js_consumer_config_parse(const json_t *obj, JsConsumerConfig *out);
/* Encoding in nats-server's field order, omitempty as Go does it. */
json_t *js_stream_config_json(const JsStreamConfig *cfg);
json_t *js_consumer_config_json(const JsConsumerConfig *cfg);
void js_stream_config_clear(JsStreamConfig *cfg);
void js_consumer_config_clear(JsConsumerConfig *cfg);
void js_stream_config_copy(JsStreamConfig *dst, const JsStreamConfig *src);
void js_consumer_config_copy(JsConsumerConfig *dst, const JsConsumerConfig *src);
/* reflect.DeepEqual, through the encoded forms. */
bool js_stream_config_equal(const JsStreamConfig *a, const JsStreamConfig *b);
bool js_consumer_config_equal(const JsConsumerConfig *a, const JsConsumerConfig *b);

const char *js_retention_str(JsRetention r);
const char *js_discard_str(JsDiscard d);
const char *js_storage_str(JsStorageType s);
const char *js_ack_policy_str(JsAckPolicy a);
const char *js_replay_str(JsReplayPolicy r);
const char *js_deliver_str(JsDeliverPolicy d);

/* ---- subjects and names (config.c) ---- */

/* isValidName: non-empty, no space, tab, CR, LF, FF, '.', '*', '>'. */
bool js_name_valid(const char *name);
/* subjectIsSubsetMatch: every subject matching sub also matches of. */
bool js_subject_subset(const char *sub, const char *of);
bool js_subject_overlaps(const char *a, const char *b);
bool js_subject_matches(const char *pattern, const char *subject);
bool js_subject_valid(const char *subject);
bool js_subject_literal(const char *subject);

/* ---- timers (jetstream.c) ---- */

typedef struct JsServer JsServer;
typedef struct JsStream JsStream;
typedef struct JsConsumer JsConsumer;
typedef struct JsTimer JsTimer;
typedef void (*JsTimerFn)(JsTimer *timer, int64_t now_ns);

struct JsTimer {
	JsTimerFn fire;
	void *owner;
	int64_t due_ns;     /* meaningful while armed */
	uint64_t order;     /* creation order: breaks ties */
	uint32_t heap_index; /* UINT32_MAX when not armed */
};

void js_timer_init(JsServer *js, JsTimer *timer, JsTimerFn fire, void *owner);
/* (Re-)arms the timer for due_ns (absolute, broker clock). */
void js_timer_arm(JsServer *js, JsTimer *timer, int64_t due_ns);
void js_timer_stop(JsServer *js, JsTimer *timer);
bool js_timer_armed(const JsTimer *timer);

/* ---- the server (jetstream.c) ---- */

struct JsServer {
	Broker *broker;
	BrokerStorage *storage;
	int64_t max_memory_bytes;
	int64_t max_storage_bytes;
	char *store_dir;
	GTree *streams; /* name (owned by the stream) -> JsStream*, sorted */
	BrokerInternalSub *api_sub;
	JsTimer **heap;
	uint32_t heap_count, heap_cap;
	uint64_t timer_order;
	GQueue kicks;  /* JsConsumer* to run, FIFO */
	GQueue saves;  /* JsConsumer* whose state is to be written */
	bool kicks_busy;
	uint64_t api_total, api_errors;
	bool closing;
};

int64_t js_now(const JsServer *js);
uint64_t js_random(JsServer *js);
void js_probe(JsServer *js, BrokerProbe probe);
JsStream *js_stream_lookup(JsServer *js, const char *name);
/* Bytes held by memory and by file streams. */
void js_usage(JsServer *js, uint64_t *memory_bytes, uint64_t *storage_bytes, uint64_t *reserved_memory,
    uint64_t *reserved_storage);
uint32_t js_consumer_total(JsServer *js);
/* Queue a consumer's delivery loop (signalNewMessages). */
void js_kick(JsServer *js, JsConsumer *o);
/* Forget a consumer that is going away (kick and save queues). */
void js_forget_consumer(JsServer *js, JsConsumer *o);
/* Queue a consumer's state to be written through its store. */
void js_save_later(JsServer *js, JsConsumer *o);

/* ---- advisories (advisory.c) ---- */

/* A 22-character nuid-like id from the broker's PRNG. */
void js_nuid(JsServer *js, char out[23]);
/* {"type":type,"id":..,"timestamp":..}: add fields, then publish. */
json_t *js_advisory_new(JsServer *js, const char *type);
/* Publishes body (stolen) on subject, only when someone listens (as
 * nats-server's sendAdvisory checks interest first). */
void js_advisory_publish(JsServer *js, const char *subject, json_t *body);
void js_advisory_stream_action(JsServer *js, const char *stream, const char *action);
void js_advisory_consumer_action(JsServer *js, const char *stream, const char *consumer, const char *action);
/* MSG_NAKED, MSG_TERMINATED (reason may be NULL), MAX_DELIVERIES. */
void js_advisory_nak(JsServer *js, const char *stream, const char *consumer, uint64_t cseq, uint64_t sseq, uint64_t dc);
void js_advisory_term(JsServer *js, const char *stream, const char *consumer, uint64_t cseq, uint64_t sseq, uint64_t dc,
    const char *reason);
void js_advisory_max_deliveries(JsServer *js, const char *stream, const char *consumer, uint64_t sseq, uint64_t dc);
void js_advisory_ack_metric(JsServer *js, const char *stream, const char *consumer, uint64_t cseq, uint64_t sseq,
    int64_t ack_time_ns, uint64_t dc);
/* $JS.EVENT.ADVISORY.API: one per answered API call. */
void js_advisory_api_audit(JsServer *js, const char *subject, const char *request, size_t request_len,
    const char *response);

/* ---- streams (stream.c) ---- */

typedef struct JsDedupe {
	char *id;
	uint64_t seq;
	int64_t ts_ns;
} JsDedupe;

struct JsStream {
	JsServer *js;
	JsStreamConfig cfg;  /* defaults applied */
	JsStore *store;
	bool file_store;     /* js_filestore_open made it */
	int64_t created_ns;
	GPtrArray *subs;     /* BrokerInternalSub*, one per subject */
	GTree *consumers;    /* name -> JsConsumer*, sorted */
	uint64_t lseq;       /* mset.lseq */
	char *lmsg_id;       /* Msg-Id of the last stored message ("" when none) */
	GHashTable *ddmap;   /* id -> JsDedupe* (entries owned by ddarr) */
	GQueue ddarr;        /* JsDedupe* in store order */
	JsTimer dd_timer;    /* the dedupe sweep */
	JsTimer age_timer;   /* max_age */
	JsTimer store_timer; /* the store's own deadline (file store sync) */
	bool deleting;
};

/* Creates a stream from a checked config (copied). store is NULL for a
 * new stream (opened here) or a recovered one (taken). */
bool js_stream_create(JsServer *js, const JsStreamConfig *cfg, JsStore *store, bool file_store, int64_t created_ns,
    JsStream **out, JsError *err);
/* API delete: consumers go, the store is destroyed, advisory sent. */
void js_stream_delete(JsStream *s);
/* Shutdown: memory freed, store closed. */
void js_stream_free(JsStream *s);
/* checkStreamCfg: defaults applied into out (zeroed first). */
bool js_stream_config_check(JsServer *js, const JsStreamConfig *in, JsStreamConfig *out, JsError *err);
/* configUpdateCheck + update. */
bool js_stream_update(JsStream *s, const JsStreamConfig *in, JsError *err);
/* Purge (filter NULL = all, seq 0 = no bound, keep 0 = none). */
bool js_stream_purge(JsStream *s, const char *filter, uint64_t seq, uint64_t keep, uint64_t *purged, JsError *err);
/* One message out (MSG.DELETE, workqueue/interest acks, limits). */
bool js_stream_remove_msg(JsStream *s, uint64_t seq, bool erase);
/* An ack from consumer o for seq, on an interest or workqueue stream
 * (mset.ackMsg): removes the message when nobody needs it any more. */
bool js_stream_ack_msg(JsStream *s, JsConsumer *o, uint64_t seq);
void js_stream_state(JsStream *s, JsStoreState *out);
json_t *js_stream_info_json(JsStream *s, bool deleted_details, const char *subjects_filter, int64_t offset,
    json_t *response);
json_t *js_stream_state_json(JsStream *s, bool deleted_details);
uint32_t js_stream_consumer_count(JsStream *s);
/* Saves the config (and creation time) with the store. */
void js_stream_save_meta(JsStream *s);
/* Rebuilds the dedupe map and last Msg-Id from stored messages. */
void js_stream_rebuild_dedupe(JsStream *s);

/* ---- consumers (consumer.c) ---- */

typedef struct JsPending {
	uint64_t dseq;  /* the original consumer sequence */
	int64_t ts_ns;  /* last delivery (or WPI, or NAK delay base) */
} JsPending;

typedef struct JsWaitingRequest {
	char *reply;
	int64_t n;           /* batch left */
	int64_t d;           /* delivered */
	int64_t b;           /* max bytes left (0: none) */
	int64_t expires_ns;  /* 0: none */
	int64_t received_ns;
	int64_t hb_ns;
	int64_t hbt_ns;      /* next heartbeat; 0: none */
	bool no_wait;
} JsWaitingRequest;

struct JsConsumer {
	JsServer *js;
	JsStream *stream;
	char *name;
	JsConsumerConfig cfg;
	int64_t created_ns;
	uint64_t sseq;  /* next stream sequence */
	uint64_t dseq;  /* next consumer (delivery) sequence */
	uint64_t adflr; /* ack floor, consumer sequence */
	uint64_t asflr; /* ack floor, stream sequence */
	int64_t npc;    /* num pending (cached) */
	uint64_t npf;   /* num pending valid through this stream seq */
	GTree *pending; /* sseq -> JsPending* */
	GTree *rdc;     /* sseq -> redelivery count (GUINT_TO_POINTER) */
	GArray *rdq;    /* uint64_t: redelivery queue, FIFO */
	GHashTable *rdqi; /* set of sseq on rdq */
	GArray *lss;    /* deliver last_per_subject skip list (uint64_t), or NULL */
	uint64_t lss_resume;
	GQueue waiting; /* JsWaitingRequest* */
	int64_t waiting_last_ns; /* waitQueue.last */
	int64_t lwqic_ns;
	bool active;    /* push: deliver subject has interest */
	uint64_t maxdc;
	int64_t maxp;
	/* flow control */
	int64_t pblimit, maxpb, pbytes, fcsz;
	char *fcid;
	/* timers */
	JsTimer ptmr;     /* the ack_wait scan (checkPending) */
	JsTimer wait_tmr; /* pull: next request expiry or heartbeat */
	JsTimer hb_tmr;   /* push idle heartbeat */
	JsTimer dtmr;     /* inactive threshold */
	JsTimer replay_tmr; /* replay original */
	int64_t dthresh_ns;
	int64_t replay_ready_ns;
	int64_t lts;      /* stream ts of the last delivery (replay) */
	uint64_t replay_lseq;
	bool replay;
	int64_t ldt_ns;   /* last delivery */
	int64_t lat_ns;   /* last ack */
	BrokerInternalSub *ack_sub, *req_sub, *fc_sub;
	char *ack_prefix; /* "$JS.ACK.<stream>.<name>." */
	int sfreq;
	bool kicked;      /* on the kick queue */
	bool save_queued; /* on the save queue */
	bool closed;
};

/* addConsumerWithAction: create, or update an existing one in place.
 * cfg is taken as the request's config (copied). */
JsConsumer *js_consumer_add(JsStream *s, const JsConsumerConfig *cfg, JsConsumerAction action, JsError *err);
/* Brings back a stored consumer (start-up). blob is its saved state. */
JsConsumer *js_consumer_restore(JsStream *s, const char *name, const uint8_t *blob, size_t len);
/* delete(): advisory, subscriptions gone, state removed from the store. */
void js_consumer_delete(JsConsumer *o, bool advisory);
/* Shutdown: memory only. */
void js_consumer_free(JsConsumer *o);
json_t *js_consumer_info_json(JsConsumer *o, json_t *response);
/* The delivery loop (run from a kick). */
void js_consumer_run(JsConsumer *o);
/* Writes the state through the stream's store. */
void js_consumer_save(JsConsumer *o);
/* processStreamSignal: a message was stored. */
void js_consumer_stream_signal(JsConsumer *o, uint64_t seq, const char *subject);
/* decStreamPending: one message left the stream. */
void js_consumer_stream_removed(JsConsumer *o, uint64_t seq, const char *subject);
/* purge(): the stream's first sequence moved to sseq. */
void js_consumer_stream_purged(JsConsumer *o, uint64_t sseq, uint64_t slseq, bool wider);
/* streamNumPending. */
void js_consumer_recount(JsConsumer *o);
/* needAck (interest retention). */
bool js_consumer_needs_ack(JsConsumer *o, uint64_t seq, const char *subject);
/* isFilteredMatch. */
bool js_consumer_filter_matches(const JsConsumer *o, const char *subject);
/* isEqualOrSubsetMatch. */
bool js_consumer_filter_subset(const JsConsumer *o, const char *subject);
bool js_consumer_filtered(const JsConsumer *o);
/* The deliver subject may have gained or lost interest. */
void js_consumer_interest_check(JsConsumer *o);
/* Recount interest after a stream's retention changes etc. */
void js_consumer_check_interest_state(JsConsumer *o);

/* ---- the API (api.c) ---- */

/* The $JS.API.> subscription's callback. */
void js_api_dispatch(void *ctx, const BrokerMsgView *msg);

/* ---- store selection (jetstream.c) ---- */

/* The store a new stream gets: a file store on the broker's storage
 * when the stream wants file storage and there is a storage, else a
 * memory store. */
JsStore *js_store_open(JsServer *js, const JsStreamConfig *cfg, bool *file_store, JsStoreStatus *status);

#endif
