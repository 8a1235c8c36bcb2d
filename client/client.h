/*
 * client.h - the NATS client core: a sans-I/O, single-threaded state machine.
 *
 * Who calls it: a driver. client/tcp.c runs it over a real socket on an I/O
 * thread; sim/client_node.c runs it as a simulated node over the virtual
 * network. The core never touches a socket, a clock, a file, a thread or
 * the system's randomness (tests/lint_determinism.py enforces it):
 *
 *   driver -> core   client_conn_transport_open / _closed  (socket events)
 *                    client_conn_recv(bytes, now_ns)         (any split)
 *                    client_conn_on_timeout(now_ns)          (deadline reached)
 *   core -> driver   client_conn_transport_want()            (open / close a socket)
 *                    client_conn_send_peek / _consume        (bytes to write)
 *                    client_conn_next_deadline_ns()          (when to call back)
 *                    callbacks.wake                          (something changed)
 *
 * Time is int64 nanoseconds from any fixed origin, never decreasing. The
 * driver seeds the core's PRNG; it draws inbox ids (stream "ids") and
 * reconnect jitter (stream "jitter"), each stream seeded from the driver's
 * seed by its own splitmix64 step, so the jitter schedule of a seed does not
 * depend on how many inboxes were made (see client_backoff_ns).
 *
 * Operating errors (bad input, peer gone, limits) come back as ClientStatus
 * codes; programmer errors (a broken invariant inside the core) ASSERT.
 * API misuse - NULL pointers, bad subjects, oversize payloads - is an
 * operating error: it returns CLIENT_ERR_INVALID_ARG and friends.
 *
 * Callbacks run inside the core call that caused them (recv, on_timeout,
 * transport_closed). They may call any client_* function on the same
 * connection except client_conn_destroy. Message views (ClientMsg) are valid
 * only during the callback; client_msg_copy makes an owned copy.
 *
 * Ownership: every const char * / const void * argument is borrowed and
 * copied when the core keeps it. No globals: any number of connections live
 * in one process.
 */
#ifndef NATSIM_CLIENT_CLIENT_H
#define NATSIM_CLIENT_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CLIENT_LANG "C"
#define CLIENT_NS_PER_MS INT64_C(1000000)
#define CLIENT_NS_PER_S INT64_C(1000000000)

/* The one status enum of the client component. */
typedef enum ClientStatus {
	CLIENT_OK = 0,
	CLIENT_ERR_INVALID_ARG,      /* NULL, empty or malformed argument (API misuse) */
	CLIENT_ERR_INVALID_SUBJECT,  /* subject/queue/reply fails the NATS subject rules */
	CLIENT_ERR_MAX_PAYLOAD,      /* headers + payload exceed the server's max_payload */
	CLIENT_ERR_NO_SERVER_SUPPORT,/* headers used but the server has none (INFO headers:false) */
	CLIENT_ERR_CLOSED,           /* the connection is closed (terminal) */
	CLIENT_ERR_DRAINING,         /* the connection (or sub) is draining: no new work */
	CLIENT_ERR_BUFFER_FULL,      /* send or reconnect buffer limit reached; try later */
	CLIENT_ERR_LIMIT,            /* a count limit: subscriptions, requests, async pub window */
	CLIENT_ERR_NOT_FOUND,        /* unknown sid / request / fetch id */
	CLIENT_ERR_TIMEOUT,          /* a deadline passed (request, flush, fetch, connect) */
	CLIENT_ERR_NO_RESPONDERS,    /* a request met no subscriber (503 status) */
	CLIENT_ERR_CONNECTION_LOST,  /* the transport went away (a reconnect may follow) */
	CLIENT_ERR_PROTOCOL,         /* the server sent bytes that do not parse */
	CLIENT_ERR_SERVER,           /* the server sent a -ERR that closes the connection */
	CLIENT_ERR_PERMISSION,       /* -ERR 'Permissions Violation ...' (connection kept) */
	CLIENT_ERR_AUTH,             /* -ERR 'Authorization Violation' and alike */
	CLIENT_ERR_STALE,            /* no PONG for pings_out_max pings, or -ERR 'Stale Connection' */
	CLIENT_ERR_SLOW_CONSUMER,    /* a subscription's pending limit dropped messages */
	CLIENT_ERR_JS,               /* the JetStream API answered with an error object */
	CLIENT_ERR_BAD_RESPONSE,     /* a JetStream response that does not parse */
	CLIENT_ERR_NO_MESSAGES,      /* pull: 404 No Messages */
	CLIENT_ERR_JS_STATUS,        /* pull/push: a 409 (or other) status ended the fetch */
	CLIENT_ERR_MISSED_HEARTBEAT, /* JetStream idle heartbeats stopped coming */
	CLIENT_ERR_WOULD_DEADLOCK,   /* a blocking call from the driver's own I/O thread */
	CLIENT_ERR_IO,               /* the driver's socket layer failed (resolve, connect) */
} ClientStatus;

const char *client_status_str(ClientStatus status);

typedef struct ClientConn ClientConn;

/* A message as delivered. subject and reply are NUL-terminated. status is
 * the header status code (100, 404, 408, 409, 503 ...) or 0. A view is
 * valid during the callback only; a copy from client_msg_copy is owned by
 * the caller (client_msg_free). */
typedef struct ClientMsg {
	const char *subject;
	size_t subject_len;
	const char *reply; /* NULL when none */
	size_t reply_len;
	const uint8_t *headers; /* the whole NATS/1.0 block, NULL when none */
	size_t headers_len;
	const uint8_t *data;
	size_t data_len;
	uint64_t sid;
	int status;
	const char *status_text; /* description after the status, NUL-terminated; "" when none */
} ClientMsg;

ClientMsg *client_msg_copy(const ClientMsg *msg);
void client_msg_free(ClientMsg *msg);
/* First value of a header key (exact match), NUL-terminated into buf;
 * false when absent or the value does not fit. */
bool client_msg_header(const ClientMsg *msg, const char *key, char *buf, size_t buf_size);

typedef enum ClientEventKind {
	CLIENT_EVENT_CONNECTED = 1,   /* first handshake done */
	CLIENT_EVENT_DISCONNECTED,    /* the transport went away; status says why */
	CLIENT_EVENT_RECONNECTED,     /* a later handshake done, subscriptions restored */
	CLIENT_EVENT_CLOSED,          /* terminal; status says why (CLIENT_OK: by request) */
	CLIENT_EVENT_ERROR,           /* an error that did not (by itself) close: status, text */
	CLIENT_EVENT_SLOW_CONSUMER,   /* sid dropped messages (once per episode) */
	CLIENT_EVENT_SERVER_INFO,     /* an INFO arrived after the handshake */
} ClientEventKind;

typedef struct ClientEvent {
	ClientEventKind kind;
	ClientStatus status;
	const char *text; /* detail, e.g. the -ERR text; "" when none */
	uint64_t sid;     /* SLOW_CONSUMER, MISSED_HEARTBEAT errors */
} ClientEvent;

typedef enum ClientState {
	CLIENT_STATE_DISCONNECTED = 1, /* waiting for the reconnect timer */
	CLIENT_STATE_CONNECTING,       /* the driver is opening a transport */
	CLIENT_STATE_HANDSHAKE,        /* transport open; INFO / CONNECT / PING / PONG */
	CLIENT_STATE_CONNECTED,
	CLIENT_STATE_DRAINING,         /* connected, draining subscriptions then publishes */
	CLIENT_STATE_CLOSING,          /* waiting for the driver to close the transport */
	CLIENT_STATE_CLOSED,           /* terminal */
} ClientState;

const char *client_state_str(ClientState state);

/* What the core wants the driver to do with the transport. */
typedef enum ClientTransportWant {
	CLIENT_WANT_NOTHING = 0,
	CLIENT_WANT_OPEN,  /* open a transport now, then client_conn_transport_open */
	CLIENT_WANT_CLOSE, /* write what send_peek shows (best effort), close, then transport_closed */
} ClientTransportWant;

typedef struct ClientCallbacks {
	/* Connection events. May be NULL. */
	void (*event)(void *ctx, ClientConn *conn, const ClientEvent *event);
	/* The core has new output, a new transport wish or an earlier deadline.
	 * Called from inside API calls (from any core entry point); a threaded
	 * driver uses it to wake its I/O thread. Must not call into the core. */
	void (*wake)(void *ctx, ClientConn *conn);
} ClientCallbacks;

/* Options. Start from client_options_default() and change fields; zero
 * then means zero. Strings are copied at create. */
typedef struct ClientOptions {
	const char *name;     /* CONNECT name; NULL: none */
	const char *user;     /* user/password auth when set */
	const char *password;
	const char *token;    /* token auth when set */
	bool echo;            /* receive own publishes (default true) */
	const char *inbox_prefix;   /* default "_INBOX" */
	const char *js_api_prefix;  /* default "$JS.API" */
	int64_t connect_timeout_ns; /* transport open + handshake; default 2 s */
	int64_t ping_interval_ns;   /* client PINGs; default 2 min; 0 = none */
	uint32_t pings_out_max;     /* unanswered pings before stale; default 2 */
	bool reconnect;             /* default true */
	bool retry_on_failed_connect; /* keep trying when the very first connect fails; default false */
	int32_t reconnect_attempts_max; /* consecutive failed attempts before closing; -1 = forever; default 60 */
	int64_t reconnect_wait_ns;      /* first backoff step; default 2 s */
	int64_t reconnect_wait_max_ns;  /* backoff ceiling; default 2 s (no growth, as nats.c) */
	int64_t reconnect_jitter_ns;    /* plus uniform [0, jitter]; default 100 ms */
	size_t reconnect_buf_bytes_max; /* publishes kept while disconnected; default 8 MiB; 0 = none */
	size_t send_buf_bytes_max;      /* unsent bytes while connected; default 64 MiB */
	uint32_t subs_max;              /* subscriptions; default 65536 */
	uint32_t requests_max;          /* outstanding requests (incl. JetStream calls); default 65536 */
	uint32_t pending_msgs_max;      /* per queued subscription; default 65536 */
	size_t pending_bytes_max;       /* per queued subscription; default 64 MiB */
	size_t control_line_bytes_max;  /* longest server control line (INFO); default 64 KiB */
	int64_t msg_bytes_max;          /* largest MSG/HMSG accepted; default 64 MiB */
	uint32_t js_pub_pending_max;    /* outstanding async JetStream publishes; default 4000 */
	int64_t drain_timeout_ns;       /* default 30 s */
	const char *version;            /* CONNECT version; default NATSIM_VERSION */
} ClientOptions;

ClientOptions client_options_default(void);

typedef struct ClientStats {
	uint64_t in_msgs, in_bytes;   /* delivered payload bytes */
	uint64_t out_msgs, out_bytes; /* published payload bytes */
	uint64_t reconnects;
	uint64_t dropped_msgs;        /* slow-consumer drops */
	uint64_t lost_bytes;          /* unsent output dropped at a disconnect */
	uint64_t pings_sent, pongs_received;
} ClientStats;

/* Creates a connection in state CONNECTING (it wants a transport at
 * once). seed feeds the PRNG. On success *out is owned by the caller. */
ClientStatus client_conn_create(ClientConn **out, const ClientOptions *options, const ClientCallbacks *callbacks,
    void *callbacks_ctx, uint64_t seed, int64_t now_ns);
/* Frees everything, NULL-safe. No callbacks run. Not from a callback. */
void client_conn_destroy(ClientConn *conn);

/* ---- driver side ---- */
ClientTransportWant client_conn_transport_want(const ClientConn *conn);
void client_conn_transport_open(ClientConn *conn, int64_t now_ns);
/* The transport is gone (EOF, reset, refused, or closed on our wish).
 * status says why from the driver's view (CLIENT_ERR_CONNECTION_LOST,
 * CLIENT_ERR_IO); the core keeps its own reason when it chose to close. */
void client_conn_transport_closed(ClientConn *conn, ClientStatus status, int64_t now_ns);
/* Bytes from the server. Returns CLIENT_OK, or the error that made the
 * core give up the transport (it then wants CLOSE). */
ClientStatus client_conn_recv(ClientConn *conn, const uint8_t *data, size_t len, int64_t now_ns);
size_t client_conn_send_peek(const ClientConn *conn, const uint8_t **data);
void client_conn_send_consume(ClientConn *conn, size_t len, int64_t now_ns);
int64_t client_conn_next_deadline_ns(const ClientConn *conn); /* INT64_MAX: none */
void client_conn_on_timeout(ClientConn *conn, int64_t now_ns);

/* ---- state ---- */
ClientState client_conn_state(const ClientConn *conn);
ClientStats client_conn_stats(const ClientConn *conn);
/* Why the connection closed / last went down (CLIENT_OK while fine). */
ClientStatus client_conn_last_error(const ClientConn *conn, const char **text);
/* From the last INFO; NULL / -1 before the first. */
const char *client_conn_server_id(const ClientConn *conn);
const char *client_conn_server_version(const ClientConn *conn);
int64_t client_conn_max_payload(const ClientConn *conn);
bool client_conn_server_headers(const ClientConn *conn);
bool client_conn_server_jetstream(const ClientConn *conn);
/* Bytes waiting in the send buffer and the reconnect buffer. */
size_t client_conn_buffered_bytes(const ClientConn *conn);
/* The consecutive failed connection attempts so far (reset on success). */
uint32_t client_conn_reconnect_attempt(const ClientConn *conn);
/* The backoff before attempt n >= 1: min(wait * 2^(n-1), wait_max) plus a
 * jitter draw in [0, jitter] from the "jitter" stream. Exposed so tests and
 * scenario checkers can predict the schedule of a seed. */
int64_t client_backoff_ns(const ClientOptions *options, uint32_t attempt, uint64_t jitter_draw);

/* Close now: pending requests fail with CLIENT_ERR_CLOSED, the core wants
 * the transport closed, then CLOSED (status CLIENT_OK). */
void client_conn_close(ClientConn *conn, int64_t now_ns);
/* Drain: unsubscribe everything, let in-flight messages arrive, flush
 * publishes, then close (CLOSED with CLIENT_OK, or CLIENT_ERR_TIMEOUT). */
ClientStatus client_conn_drain(ClientConn *conn, int64_t timeout_ns, int64_t now_ns);

/* ---- publish ---- */
/* headers: a whole NATS/1.0 block (see client_headers_*), or NULL. */
ClientStatus client_publish(ClientConn *conn, const char *subject, const char *reply, const void *headers,
    size_t headers_len, const void *data, size_t data_len, int64_t now_ns);

/* Building a header block: a growable buffer owned by the caller. */
typedef struct ClientHeaders {
	uint8_t *data;
	size_t len;
	size_t cap;
} ClientHeaders;
void client_headers_init(ClientHeaders *h);
/* CLIENT_ERR_INVALID_ARG for NULLs, an empty key, a key with ':' or
 * blanks, or CR/LF anywhere. */
ClientStatus client_headers_add(ClientHeaders *h, const char *key, const char *value);
/* The finished block (valid until the next add or clear). */
const uint8_t *client_headers_block(ClientHeaders *h, size_t *len);
void client_headers_clear(ClientHeaders *h);

/* ---- subscribe ---- */
typedef void (*ClientMsgFn)(void *ctx, ClientConn *conn, const ClientMsg *msg);

/* With cb: each message is handed to cb during recv (no queue). With cb
 * NULL: messages are copied into the subscription's queue, bounded by the
 * pending limits (over them: dropped, CLIENT_EVENT_SLOW_CONSUMER once per
 * episode), and taken with client_sub_next_msg. queue may be NULL. */
ClientStatus client_subscribe(ClientConn *conn, const char *subject, const char *queue, ClientMsgFn cb, void *ctx,
    uint64_t *sid_out, int64_t now_ns);
/* max 0: now; else after max messages in total. */
ClientStatus client_unsubscribe(ClientConn *conn, uint64_t sid, uint64_t max_msgs, int64_t now_ns);
/* UNSUB, then PING; the sub goes away at the PONG (messages already on
 * the way are still delivered). */
ClientStatus client_sub_drain(ClientConn *conn, uint64_t sid, int64_t now_ns);
ClientStatus client_sub_set_pending_limits(ClientConn *conn, uint64_t sid, uint32_t msgs_max, size_t bytes_max);
/* Queued subscriptions: the oldest message (owned by the caller), or NULL
 * with CLIENT_ERR_NOT_FOUND (no such sid) / CLIENT_OK (empty). */
ClientStatus client_sub_next_msg(ClientConn *conn, uint64_t sid, ClientMsg **out);
typedef struct ClientSubStats {
	uint32_t pending_msgs;
	size_t pending_bytes;
	uint64_t delivered;
	uint64_t dropped;
} ClientSubStats;
ClientStatus client_sub_stats(const ClientConn *conn, uint64_t sid, ClientSubStats *out);
bool client_sub_exists(const ClientConn *conn, uint64_t sid);
uint32_t client_conn_sub_count(const ClientConn *conn);

/* ---- request / reply, over one multiplexed inbox ---- */
/* status CLIENT_OK with msg, or CLIENT_ERR_NO_RESPONDERS / TIMEOUT /
 * CLOSED / CONNECTION_LOST with msg NULL. Called exactly once. */
typedef void (*ClientReplyFn)(void *ctx, ClientConn *conn, ClientStatus status, const ClientMsg *msg);
ClientStatus client_request(ClientConn *conn, const char *subject, const void *headers, size_t headers_len,
    const void *data, size_t data_len, int64_t timeout_ns, ClientReplyFn cb, void *ctx, uint64_t *request_id_out,
    int64_t now_ns);
/* Forget a request; its callback will not run. */
ClientStatus client_request_cancel(ClientConn *conn, uint64_t request_id);
/* A fresh unique inbox subject ("<prefix>.<22 chars>"), g_free'd by the caller. */
char *client_inbox_new(ClientConn *conn);

/* ---- flush ---- */
typedef void (*ClientFlushFn)(void *ctx, ClientConn *conn, ClientStatus status);
/* PING; cb(CLIENT_OK) at the matching PONG, or TIMEOUT / CLOSED. While
 * disconnected the PING goes out after the reconnect. */
ClientStatus client_flush(ClientConn *conn, int64_t timeout_ns, ClientFlushFn cb, void *ctx, int64_t now_ns);

/* ---- small pure helpers (client/util.c) ---- */
typedef struct ClientUrl {
	char *host;     /* g_free'd by client_url_clear */
	uint16_t port;  /* default 4222 */
	char *user;     /* NULL when absent */
	char *password; /* NULL when absent */
	char *token;    /* user info without a password */
} ClientUrl;
/* "nats://[user[:pass]@]host[:port]", "host:port", "host". */
ClientStatus client_url_parse(const char *url, ClientUrl *out);
void client_url_clear(ClientUrl *url);
/* Go-style durations: "1.5s", "500ms", "2m30s", "100us", "10ns", "1h"; a
 * bare number is seconds. */
ClientStatus client_duration_parse(const char *text, int64_t *out_ns);

#endif
