/*
 * js.h - JetStream on the client core (NATS-SPEC §2-3): the API calls,
 * publishing with PubAck, pull fetch, push subscriptions, acks, metadata.
 *
 * Who calls it: drivers and users, like client.h; all calls are
 * asynchronous, completing through a callback that runs exactly once
 * (inside recv, on_timeout or a close). Every API call is a request on
 * "<js_api_prefix>.<...>" over the multiplexed inbox; responses are parsed
 * with jansson. A response JSON handed to a callback is borrowed (valid
 * during the callback; json_incref to keep it).
 *
 * Invariants: at most options.js_pub_pending_max publishes wait for a
 * PubAck; a fetch owns one subscription on its own inbox and removes it
 * when it ends (batch filled, a status, its deadline or missed heartbeats).
 */
#ifndef NATSIM_CLIENT_JS_H
#define NATSIM_CLIENT_JS_H

#include <jansson.h>

#include "client/client.h"

typedef struct ClientJsError {
	int code;         /* HTTP-like code, e.g. 404 */
	int err_code;     /* NATS code, e.g. 10059 */
	char description[256];
} ClientJsError;

/* status: CLIENT_OK with response, CLIENT_ERR_JS with err (response is
 * the whole answer), or a transport error (TIMEOUT, NO_RESPONDERS when
 * JetStream is off, CLOSED, BAD_RESPONSE) with response NULL. */
typedef void (*ClientJsFn)(void *ctx, ClientConn *conn, ClientStatus status, const ClientJsError *err,
    json_t *response);

/* Any API call: subject "<prefix>.<api>", body (borrowed; NULL = empty). */
ClientStatus client_js_api(ClientConn *conn, const char *api, const json_t *body, int64_t timeout_ns, ClientJsFn cb,
    void *ctx, int64_t now_ns);

typedef enum ClientJsRetention { CLIENT_JS_LIMITS = 0, CLIENT_JS_INTEREST, CLIENT_JS_WORKQUEUE } ClientJsRetention;
typedef enum ClientJsStorage { CLIENT_JS_FILE = 0, CLIENT_JS_MEMORY } ClientJsStorage;
typedef enum ClientJsAckPolicy { CLIENT_JS_ACK_EXPLICIT = 0, CLIENT_JS_ACK_NONE, CLIENT_JS_ACK_ALL } ClientJsAckPolicy;
typedef enum ClientJsDeliverPolicy {
	CLIENT_JS_DELIVER_ALL = 0,
	CLIENT_JS_DELIVER_LAST,
	CLIENT_JS_DELIVER_NEW,
	CLIENT_JS_DELIVER_BY_START_SEQUENCE,
	CLIENT_JS_DELIVER_LAST_PER_SUBJECT,
} ClientJsDeliverPolicy;

/* Zero-initialise, set what matters; 0 / NULL fields are left to the
 * server's defaults. extra (borrowed) is merged in last, for any field not
 * listed here. */
typedef struct ClientStreamConfig {
	const char *name;
	const char *const *subjects;
	size_t subjects_count;
	ClientJsRetention retention;
	ClientJsStorage storage;
	int64_t max_msgs;      /* 0: unlimited */
	int64_t max_bytes;     /* 0: unlimited */
	int64_t max_age_ns;    /* 0: unlimited */
	int64_t max_msgs_per_subject;
	int32_t max_msg_size;
	bool discard_new;
	int64_t duplicate_window_ns;
	const json_t *extra;
} ClientStreamConfig;

typedef struct ClientConsumerConfig {
	const char *durable_name; /* NULL: ephemeral */
	const char *deliver_subject; /* NULL: pull */
	const char *deliver_group;
	const char *filter_subject;
	ClientJsAckPolicy ack_policy;
	ClientJsDeliverPolicy deliver_policy;
	uint64_t opt_start_seq;
	int64_t ack_wait_ns;
	int64_t max_deliver;   /* 0: server default (unlimited) */
	int64_t max_ack_pending;
	int64_t max_waiting;
	int64_t idle_heartbeat_ns;
	bool flow_control;
	int64_t inactive_threshold_ns;
	const int64_t *backoff_ns;
	size_t backoff_count;
	const json_t *extra;
} ClientConsumerConfig;

/* Encodes the configs as the API's JSON (new reference). */
json_t *client_stream_config_json(const ClientStreamConfig *config);
json_t *client_consumer_config_json(const ClientConsumerConfig *config);

ClientStatus client_js_account_info(ClientConn *conn, int64_t timeout_ns, ClientJsFn cb, void *ctx, int64_t now_ns);
ClientStatus client_js_stream_add(ClientConn *conn, const ClientStreamConfig *config, int64_t timeout_ns,
    ClientJsFn cb, void *ctx, int64_t now_ns);
ClientStatus client_js_stream_update(ClientConn *conn, const ClientStreamConfig *config, int64_t timeout_ns,
    ClientJsFn cb, void *ctx, int64_t now_ns);
ClientStatus client_js_stream_info(ClientConn *conn, const char *stream, int64_t timeout_ns, ClientJsFn cb,
    void *ctx, int64_t now_ns);
ClientStatus client_js_stream_delete(ClientConn *conn, const char *stream, int64_t timeout_ns, ClientJsFn cb,
    void *ctx, int64_t now_ns);
/* filter NULL: all; seq/keep 0: unused. */
ClientStatus client_js_stream_purge(ClientConn *conn, const char *stream, const char *filter, uint64_t seq,
    uint64_t keep, int64_t timeout_ns, ClientJsFn cb, void *ctx, int64_t now_ns);
/* One page from offset; subject filter may be NULL. */
ClientStatus client_js_stream_names(ClientConn *conn, const char *subject, uint64_t offset, int64_t timeout_ns,
    ClientJsFn cb, void *ctx, int64_t now_ns);
ClientStatus client_js_stream_list(ClientConn *conn, const char *subject, uint64_t offset, int64_t timeout_ns,
    ClientJsFn cb, void *ctx, int64_t now_ns);
/* seq > 0: by sequence; else last_by_subject. */
ClientStatus client_js_msg_get(ClientConn *conn, const char *stream, uint64_t seq, const char *last_by_subject,
    int64_t timeout_ns, ClientJsFn cb, void *ctx, int64_t now_ns);
ClientStatus client_js_msg_delete(ClientConn *conn, const char *stream, uint64_t seq, bool no_erase,
    int64_t timeout_ns, ClientJsFn cb, void *ctx, int64_t now_ns);
ClientStatus client_js_consumer_add(ClientConn *conn, const char *stream, const ClientConsumerConfig *config,
    int64_t timeout_ns, ClientJsFn cb, void *ctx, int64_t now_ns);
ClientStatus client_js_consumer_info(ClientConn *conn, const char *stream, const char *consumer,
    int64_t timeout_ns, ClientJsFn cb, void *ctx, int64_t now_ns);
ClientStatus client_js_consumer_delete(ClientConn *conn, const char *stream, const char *consumer,
    int64_t timeout_ns, ClientJsFn cb, void *ctx, int64_t now_ns);
ClientStatus client_js_consumer_names(ClientConn *conn, const char *stream, uint64_t offset, int64_t timeout_ns,
    ClientJsFn cb, void *ctx, int64_t now_ns);
ClientStatus client_js_consumer_list(ClientConn *conn, const char *stream, uint64_t offset, int64_t timeout_ns,
    ClientJsFn cb, void *ctx, int64_t now_ns);

/* ---- publish with PubAck ---- */
typedef struct ClientJsPubOptions {
	const char *msg_id;               /* Nats-Msg-Id */
	const char *expected_stream;      /* Nats-Expected-Stream */
	int64_t expected_last_seq;        /* Nats-Expected-Last-Sequence; -1 = unset */
	int64_t expected_last_subject_seq;/* Nats-Expected-Last-Subject-Sequence; -1 = unset */
	const char *expected_last_msg_id; /* Nats-Expected-Last-Msg-Id */
	const void *headers;              /* extra header block (NATS/1.0 ...), merged */
	size_t headers_len;
} ClientJsPubOptions;
#define CLIENT_JS_PUB_OPTIONS_INIT { .expected_last_seq = -1, .expected_last_subject_seq = -1 }

typedef struct ClientPubAck {
	char stream[256];
	uint64_t seq;
	bool duplicate;
	char domain[64];
} ClientPubAck;

/* status CLIENT_OK with ack; CLIENT_ERR_JS with err; NO_RESPONDERS (no
 * stream covers the subject), TIMEOUT, CLOSED, BAD_RESPONSE. */
typedef void (*ClientPubAckFn)(void *ctx, ClientConn *conn, ClientStatus status, const ClientPubAck *ack,
    const ClientJsError *err);
/* Asynchronous; CLIENT_ERR_LIMIT when js_pub_pending_max acks are
 * outstanding (the window is full). */
ClientStatus client_js_publish(ClientConn *conn, const char *subject, const void *data, size_t data_len,
    const ClientJsPubOptions *options, int64_t timeout_ns, ClientPubAckFn cb, void *ctx, int64_t now_ns);
uint32_t client_js_publish_pending(const ClientConn *conn);

/* ---- pull ---- */
typedef struct ClientFetchOptions {
	uint32_t batch;            /* >= 1 */
	int64_t expires_ns;        /* server-side expiry; 0 = none (then no_wait is forced on) */
	bool no_wait;
	int64_t max_bytes;         /* 0 = none */
	int64_t idle_heartbeat_ns; /* 0 = none; needs expires >= 2 * hb */
	int64_t timeout_ns;        /* client-side give-up; 0 = expires + 1 s (or 5 s) */
} ClientFetchOptions;

/* Each message (with a $JS.ACK reply) as it arrives. */
typedef void (*ClientFetchMsgFn)(void *ctx, ClientConn *conn, const ClientMsg *msg);
/* The end: CLIENT_OK (batch filled), CLIENT_ERR_NO_MESSAGES (404),
 * CLIENT_ERR_TIMEOUT (408 or the client deadline), CLIENT_ERR_JS_STATUS
 * (409 / 400 / other: status and text given), CLIENT_ERR_MISSED_HEARTBEAT,
 * CLIENT_ERR_CLOSED / CONNECTION_LOST. received = messages delivered. */
typedef void (*ClientFetchDoneFn)(void *ctx, ClientConn *conn, ClientStatus status, uint32_t received, int status_code,
    const char *status_text);
ClientStatus client_js_fetch(ClientConn *conn, const char *stream, const char *consumer,
    const ClientFetchOptions *options, ClientFetchMsgFn on_msg, ClientFetchDoneFn on_done, void *ctx,
    uint64_t *fetch_id_out, int64_t now_ns);

/* ---- push ---- */
/* A subscription on a push consumer's deliver subject: flow-control
 * requests and stalled heartbeats are answered, status messages are not
 * passed on, and with idle_heartbeat_ns > 0 a silence of 2 heartbeats
 * raises CLIENT_EVENT_ERROR / CLIENT_ERR_MISSED_HEARTBEAT (sid set).
 * cb NULL: a queued subscription (client_sub_next_msg). */
ClientStatus client_js_push_subscribe(ClientConn *conn, const char *deliver_subject, const char *queue,
    int64_t idle_heartbeat_ns, ClientMsgFn cb, void *ctx, uint64_t *sid_out, int64_t now_ns);

/* ---- acks ---- */
typedef enum ClientAckKind {
	CLIENT_ACK_ACK = 1, /* +ACK */
	CLIENT_ACK_NAK,     /* -NAK, or -NAK {"delay":ns} */
	CLIENT_ACK_TERM,    /* +TERM */
	CLIENT_ACK_PROGRESS,/* +WPI */
} ClientAckKind;
const char *client_ack_kind_str(ClientAckKind kind);
/* reply: the message's $JS.ACK subject. delay_ns only for NAK (0 = none). */
ClientStatus client_js_ack(ClientConn *conn, const char *reply, ClientAckKind kind, int64_t delay_ns, int64_t now_ns);
/* The same with a reply: cb(CLIENT_OK) once the server confirmed. */
ClientStatus client_js_ack_sync(ClientConn *conn, const char *reply, ClientAckKind kind, int64_t delay_ns,
    int64_t timeout_ns, ClientFlushFn cb, void *ctx, int64_t now_ns);

/* ---- metadata from the ack subject ---- */
typedef struct ClientJsMeta {
	char domain[64];   /* "" when none */
	char stream[256];
	char consumer[256];
	uint64_t delivered; /* delivery count, 1 on the first */
	uint64_t stream_seq;
	uint64_t consumer_seq;
	int64_t timestamp_ns;
	uint64_t pending;
} ClientJsMeta;
/* Parses "$JS.ACK.<stream>.<consumer>.<dc>.<sseq>.<cseq>.<ts>.<pending>"
 * (9 tokens) and "$JS.ACK.<domain>.<acc>.<stream>.<consumer>.<dc>.<sseq>.
 * <cseq>.<ts>.<pending>[.<token>...]" (11 or more). CLIENT_ERR_INVALID_ARG
 * for anything else. */
ClientStatus client_js_meta_parse(const char *reply, ClientJsMeta *out);

/* ---- advisories ---- */
/* Subscribes "$JS.EVENT.ADVISORY.<filter>" (filter NULL: ">"). */
ClientStatus client_js_advisories_subscribe(ClientConn *conn, const char *filter, ClientMsgFn cb, void *ctx,
    uint64_t *sid_out, int64_t now_ns);

/* Parses a PubAck JSON payload (exposed for tests and drivers). */
ClientStatus client_js_pub_ack_parse(const uint8_t *data, size_t len, ClientPubAck *ack, ClientJsError *err);

#endif
