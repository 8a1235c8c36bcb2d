/*
 * broker.h - the broker core: a sans-I/O NATS server.
 *
 * The core never touches sockets, clocks, files or threads. Its driver
 * (natsim-server's event loop over TCP, or the simulator over the virtual
 * network) hands it:
 *   - connections opening and closing (broker_conn_open / broker_conn_close),
 *   - bytes received (broker_conn_recv),
 *   - the time, on every call (now_ns: Unix nanoseconds, never decreasing),
 * and takes from it:
 *   - bytes to send (broker_conn_send_peek / broker_conn_send_consume),
 *   - when to call back (broker_next_deadline_ns / broker_on_timeout),
 *   - whether a connection is to be closed (broker_conn_closing).
 * A wake callback tells the driver that a connection has new output or
 * wants closing, so the driver need not poll every connection.
 *
 * All state hangs off the Broker; any number live in one process.
 */
#ifndef NATSIM_BROKER_BROKER_H
#define NATSIM_BROKER_BROKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/storage.h"

typedef struct Broker Broker;
typedef struct BrokerConn BrokerConn;

typedef enum BrokerLogLevel {
	BROKER_LOG_ERROR = 0,
	BROKER_LOG_WARN,
	BROKER_LOG_INFO,
	BROKER_LOG_DEBUG, /* -D */
	BROKER_LOG_TRACE, /* -V: every protocol operation */
} BrokerLogLevel;

typedef struct BrokerConfig {
	const char *server_name; /* NULL: the server id */
	const char *host;        /* reported in INFO and /varz; default "0.0.0.0" */
	uint16_t port;           /* reported in INFO and /varz; default 4222 */
	uint16_t http_port;      /* reported in /varz; 0 = no monitoring */
	int64_t payload_max_bytes;   /* max_payload; 0 = default 1 MiB; at most 64 MiB */
	uint32_t connections_max;    /* max_connections; 0 = default 65536 */
	uint32_t subscriptions_max;  /* max_subscriptions per connection; 0 = unlimited */
	int64_t pending_bytes_max;   /* max_pending per connection; 0 = default 64 MiB */
	uint32_t control_line_max;   /* max_control_line; 0 = default 4096 */
	int64_t ping_interval_ns;    /* 0 = default 2 min */
	uint32_t pings_out_max;      /* ping_max; 0 = default 2 */
	int64_t write_deadline_ns;   /* 0 = default 10 s */
	int64_t auth_timeout_ns;     /* 0 = default 2 s (used only with auth) */
	const char *user;            /* user/password auth when user is set */
	const char *password;
	const char *token;           /* token auth when set */
	BrokerLogLevel log_level;    /* messages above this level are not produced */
	/* TEST ONLY - a planted bug that proves the simulator's checkers find
	 * one: when set to N, about one delivery in N is silently dropped
	 * (drawn from the broker's PRNG). natsim sets it only from the
	 * NATSIM_PLANTED_BUG environment variable; no configuration file or
	 * flag reaches it. */
	uint32_t test_drop_one_in;
	/* JetStream (broker/js/): on when set; INFO then says "jetstream":true
	 * and $JS.API answers. storage is its disk (borrowed, must outlive the
	 * broker); NULL keeps file-storage streams in memory. Streams found
	 * on the storage are restored at broker_create. */
	bool jetstream;
	BrokerStorage *storage;
	int64_t js_max_memory_bytes;  /* 0 = default 1 GiB (nats-server: 75% of RAM) */
	int64_t js_max_storage_bytes; /* 0 = default 1 TiB (nats-server: disk size) */
	const char *js_store_dir;     /* reported in /varz and /jsz only */
	/* File-store fsync policy: js_sync_always syncs every write before
	 * the publish is acknowledged; otherwise writes are synced every
	 * js_sync_interval_ns (0 = nats-server's default, 2 minutes). */
	bool js_sync_always;
	int64_t js_sync_interval_ns;
} BrokerConfig;

typedef enum BrokerCloseReason {
	BROKER_CLOSE_CLIENT = 1,       /* "Client Closed": EOF or reset from the peer */
	BROKER_CLOSE_SERVER_SHUTDOWN,  /* "Server Shutdown" */
	BROKER_CLOSE_SLOW_CONSUMER_PENDING, /* "Slow Consumer (Pending Bytes)" */
	BROKER_CLOSE_SLOW_CONSUMER_DEADLINE, /* "Slow Consumer (Write Deadline)" */
	BROKER_CLOSE_STALE,            /* "Stale Connection" */
	BROKER_CLOSE_AUTH_TIMEOUT,     /* "Authentication Timeout" */
	BROKER_CLOSE_AUTH_VIOLATION,   /* "Authentication Failure" */
	BROKER_CLOSE_PARSE_ERROR,      /* "Parse Error" */
	BROKER_CLOSE_PROTOCOL,         /* "Protocol Violation" */
	BROKER_CLOSE_BAD_PROTOCOL_VERSION, /* "Bad Client Protocol Version" */
	BROKER_CLOSE_NO_RESPONDERS_HEADERS, /* "No Responders Requires Headers" */
	BROKER_CLOSE_MAX_PAYLOAD,      /* "Maximum Message Payload Exceeded" */
	BROKER_CLOSE_MAX_CONNECTIONS,  /* "Maximum Connections Exceeded" */
	BROKER_CLOSE_MAX_CONTROL_LINE, /* "Maximum Control Line Exceeded" */
	BROKER_CLOSE_WRITE_ERROR,      /* "Write Error": the driver could not send */
	BROKER_CLOSE_READ_ERROR,       /* "Read Error" */
} BrokerCloseReason;

const char *broker_close_reason_str(BrokerCloseReason reason);

/* Named coverage probes: the broker's important branches. Each hit is
 * counted (broker_probe_count) and reported to the probe callback, so the
 * simulator can tell which scenarios reach which branch. */
typedef enum BrokerProbe {
	BROKER_PROBE_CONN_OPENED = 0,
	BROKER_PROBE_CONN_CLOSED,
	BROKER_PROBE_ERR_SENT,
	BROKER_PROBE_SLOW_CONSUMER,
	BROKER_PROBE_WRITE_DEADLINE,
	BROKER_PROBE_STALE_CONNECTION,
	BROKER_PROBE_PING_SENT,
	BROKER_PROBE_PING_SKIPPED,
	BROKER_PROBE_AUTH_TIMEOUT,
	BROKER_PROBE_AUTH_VIOLATION,
	BROKER_PROBE_NO_RESPONDERS,
	BROKER_PROBE_QUEUE_MEMBER_SKIPPED,
	BROKER_PROBE_AUTO_UNSUBSCRIBED,
	BROKER_PROBE_ECHO_SUPPRESSED,
	BROKER_PROBE_HEADERS_STRIPPED,
	BROKER_PROBE_DUPLICATE_SID,
	BROKER_PROBE_INVALID_SUBJECT,
	BROKER_PROBE_PEDANTIC_SUBJECT,
	BROKER_PROBE_MAX_PAYLOAD,
	BROKER_PROBE_MAX_CONNECTIONS,
	BROKER_PROBE_MAX_SUBSCRIPTIONS,
	BROKER_PROBE_MAX_CONTROL_LINE,
	BROKER_PROBE_PARSE_ERROR,
	/* JetStream (broker/js/) */
	BROKER_PROBE_JS_API_ERROR,       /* an API call answered with an error */
	BROKER_PROBE_JS_STORED,          /* a message stored in a stream */
	BROKER_PROBE_JS_DEDUPE,          /* a Nats-Msg-Id duplicate not stored */
	BROKER_PROBE_JS_EXPECTED_FAILED, /* a Nats-Expected-* header rejected a publish */
	BROKER_PROBE_JS_DISCARD_NEW,     /* a discard-new limit rejected a publish */
	BROKER_PROBE_JS_DISCARD_OLD,     /* a limit evicted the oldest message(s) */
	BROKER_PROBE_JS_NO_INTEREST_SKIP,/* interest retention used up a seq nobody wanted */
	BROKER_PROBE_JS_EXPIRED,         /* max_age removed a message */
	BROKER_PROBE_JS_ROLLUP,          /* a Nats-Rollup purge */
	BROKER_PROBE_JS_DELIVERED,       /* a first delivery to a consumer */
	BROKER_PROBE_JS_REDELIVERED,     /* a redelivery (dc > 1) */
	BROKER_PROBE_JS_ACK_WAIT_EXPIRED,/* the ack_wait scan queued a redelivery */
	BROKER_PROBE_JS_MAX_DELIVERIES,  /* max_deliver reached (advisory) */
	BROKER_PROBE_JS_ACK,             /* an ack of a pending message */
	BROKER_PROBE_JS_ACK_FLOOR_MOVED, /* an ack moved the ack floor */
	BROKER_PROBE_JS_NAK,             /* -NAK */
	BROKER_PROBE_JS_TERM,            /* +TERM */
	BROKER_PROBE_JS_WPI,             /* +WPI */
	BROKER_PROBE_JS_NXT,             /* +NXT */
	BROKER_PROBE_JS_MAX_ACK_PENDING, /* new messages stalled on max_ack_pending */
	BROKER_PROBE_JS_PULL_WAITING,    /* a pull request queued */
	BROKER_PROBE_JS_PULL_TIMEOUT,    /* a pull request ended with 408 */
	BROKER_PROBE_JS_PULL_NO_MESSAGES,/* a no_wait pull answered 404 */
	BROKER_PROBE_JS_PULL_REJECTED,   /* a pull request answered 409/400 */
	BROKER_PROBE_JS_PULL_MAX_BYTES,  /* 409 Message Size Exceeds MaxBytes */
	BROKER_PROBE_JS_PUSH_NO_INTEREST,/* a push delivery found no subscriber */
	BROKER_PROBE_JS_HEARTBEAT,       /* an idle heartbeat sent */
	BROKER_PROBE_JS_FLOW_CONTROL,    /* a flow control request sent */
	BROKER_PROBE_JS_INACTIVE_DELETED,/* a consumer deleted by inactive_threshold */
	BROKER_PROBE_JS_PURGE,           /* a stream purge */
	BROKER_PROBE_JS_RESTORED,        /* a stream restored from disk at start-up */
	BROKER_PROBE_JS_STORE_FAILED,    /* the store refused a write (disk full, I/O) */
	BROKER_PROBE_COUNT
} BrokerProbe;

const char *broker_probe_name(BrokerProbe probe);

typedef struct BrokerCallbacks {
	/* conn has output to send or wants closing; called when that first
	 * becomes true after the driver last drained it. Must not call back
	 * into the broker. */
	void (*conn_wake)(void *ctx, BrokerConn *conn);
	/* A log line, without newline (the driver adds time stamps). */
	void (*log)(void *ctx, BrokerLogLevel level, const char *message);
	/* Optional: a probe was hit on conn (NULL when not about one). Must
	 * not call back into the broker. */
	void (*probe)(void *ctx, BrokerConn *conn, BrokerProbe probe);
} BrokerCallbacks;

/* Creates a broker. seed feeds its PRNG (server id, queue member choice,
 * ping jitter). config is copied. */
Broker *broker_create(const BrokerConfig *config, uint64_t seed, int64_t now_ns,
    const BrokerCallbacks *callbacks, void *callbacks_ctx);
/* Frees everything, all connections included (NULL-safe). */
void broker_destroy(Broker *broker);

const char *broker_server_id(const Broker *broker);
uint64_t broker_probe_count(const Broker *broker, BrokerProbe probe);

/* Closes every connection (-ERR nothing; reason "Server Shutdown"): the
 * driver then flushes and closes each, as with broker_conn_closing. */
void broker_shutdown(Broker *broker, int64_t now_ns);

/* A new client connection from ip:port. The INFO line is queued at once
 * (followed by -ERR and a close when max_connections is reached). */
BrokerConn *broker_conn_open(Broker *broker, const char *ip, uint16_t port, int64_t now_ns);

/* Bytes from the client; any split is fine. */
void broker_conn_recv(Broker *broker, BrokerConn *conn, const uint8_t *data, size_t len, int64_t now_ns);

/* The bytes waiting to go out, contiguous, valid until the next call into
 * the broker. */
size_t broker_conn_send_peek(BrokerConn *conn, const uint8_t **data);
/* len of them were sent. */
void broker_conn_send_consume(Broker *broker, BrokerConn *conn, size_t len, int64_t now_ns);

/* Flow control, as nats-server stalls fast producers: after
 * broker_conn_recv, how long the driver should stop reading conn because
 * a connection it delivered to is behind (0: keep reading). The driver
 * may read again sooner once broker_stall_releases has changed (a backlog
 * went down). The simulator need not use either: it is pacing only. */
int64_t broker_conn_stall_ns(const BrokerConn *conn);
uint64_t broker_stall_releases(const Broker *broker);

/* The broker wants this connection closed: the driver sends what
 * send_peek still shows (it may give up after write_deadline), then
 * closes the socket and calls broker_conn_close. */
bool broker_conn_closing(const BrokerConn *conn);

/* The socket is gone (peer EOF/reset, or the driver closed it after
 * broker_conn_closing). Frees conn. The reason is used when the broker
 * did not already choose one. */
void broker_conn_close(Broker *broker, BrokerConn *conn, BrokerCloseReason reason, int64_t now_ns);

uint64_t broker_conn_cid(const BrokerConn *conn);
/* Why the broker is closing conn (meaningful once broker_conn_closing). */
BrokerCloseReason broker_conn_close_reason(const BrokerConn *conn);
/* Driver's own pointer for this connection. */
void broker_conn_set_user(BrokerConn *conn, void *user);
void *broker_conn_user(const BrokerConn *conn);

/* When broker_on_timeout next needs calling (INT64_MAX: never). */
int64_t broker_next_deadline_ns(const Broker *broker);
void broker_on_timeout(Broker *broker, int64_t now_ns);

/* Facts only the driver knows, for /varz. */
typedef struct BrokerHostStats {
	int64_t mem_bytes;
	double cpu_percent;
	int cores;
	int64_t start_unix_ns; /* when the process started */
} BrokerHostStats;

typedef struct BrokerMonitorArg {
	const char *key;
	const char *value;
} BrokerMonitorArg;

/* The monitoring endpoints as nats-server serves them: path is "/varz",
 * "/connz", "/subsz" (or "/subscriptionsz"), "/healthz", "/" and so on;
 * args are the decoded query parameters. Returns the body (g_free) and sets
 * *http_status and *content_type ("application/json" or "text/html"). */
char *broker_monitor(Broker *broker, const char *path, const BrokerMonitorArg *args, size_t arg_count,
    const BrokerHostStats *host, int64_t now_ns, int *http_status, const char **content_type);


/* ---- the internal seam: how JetStream (and other in-broker services)
 * take part in routing, as nats-server's internal clients do ---- */

/* A message as an internal subscription sees it. The slices are valid
 * during the callback only. publisher is NULL when the broker itself
 * published (broker_internal_publish). */
typedef struct BrokerMsgView {
	const char *subject;
	size_t subject_len;
	const char *reply; /* NULL when none */
	size_t reply_len;
	const uint8_t *headers; /* the header block, NULL when none */
	size_t headers_len;
	const uint8_t *payload;
	size_t payload_len;
	BrokerConn *publisher;
} BrokerMsgView;

typedef void (*BrokerInternalFn)(void *ctx, const BrokerMsgView *msg);

typedef struct BrokerInternalSub BrokerInternalSub;

/* Subscribes the broker itself to subject (wildcards allowed; queue may be
 * NULL). fn runs during routing, so it may publish (nested routing is
 * fine) but must not free the broker. NULL when the subject is invalid. */
BrokerInternalSub *broker_internal_subscribe(Broker *broker, const char *subject, const char *queue,
    BrokerInternalFn fn, void *ctx);
void broker_internal_unsubscribe(Broker *broker, BrokerInternalSub *sub);

/* Publishes as the broker. Returns how many subscriptions took it (0: no
 * interest - a push consumer then knows its deliver subject is idle). */
uint32_t broker_internal_publish(Broker *broker, const char *subject, const char *reply, const void *headers,
    size_t headers_len, const void *payload, size_t payload_len);

/* True when a client subscription on exactly this subject exists (the
 * 2.9/2.10 push-consumer activation rule compares subjects literally). */
bool broker_has_exact_interest(Broker *broker, const char *subject);
/* The same for one kind: queue NULL looks at plain subscriptions only,
 * otherwise at queue subscriptions of that group (nats-server's
 * registerNotification compares subject and queue literally). */
bool broker_has_exact_interest_queue(Broker *broker, const char *subject, const char *queue);

/* Publishes as the broker, matched against route_subject but delivered
 * showing subject (nats-server's pa.deliver: a JetStream delivery goes to
 * the deliver subject and carries the stream subject). Returns how many
 * subscriptions took it. */
uint32_t broker_internal_deliver(Broker *broker, const char *route_subject, const char *subject, const char *reply,
    const void *headers, size_t headers_len, const void *payload, size_t payload_len);

/* Told after a client subscription was added or removed (subject and
 * queue, NULL when plain), so push consumers learn that their deliver
 * subject gained or lost interest. Runs inside SUB/UNSUB/close handling:
 * it must only take note, not publish. */
typedef void (*BrokerInterestFn)(void *ctx, const char *subject, const char *queue);
void broker_set_interest_watch(Broker *broker, BrokerInterestFn fn, void *ctx);
/* True when any subscription (plain or queue) matches this subject. */
bool broker_has_interest(Broker *broker, const char *subject);

/* An extra source of deadlines (JetStream's timers). next returns the
 * absolute time it wants on_timeout, or INT64_MAX. */
typedef struct BrokerTicker {
	int64_t (*next)(void *ctx);
	void (*on_timeout)(void *ctx, int64_t now_ns);
	void *ctx;
} BrokerTicker;

void broker_set_ticker(Broker *broker, const BrokerTicker *ticker);

/* The time of the call being handled, and the broker's PRNG (for ids). */
int64_t broker_now_ns(const Broker *broker);
uint64_t broker_random(Broker *broker);
void broker_probe_hit(Broker *broker, BrokerProbe probe);

#endif
