/*
 * internal.h - the client core's structures, shared by its files (conn.c,
 * sub.c, request.c, js.c). Nothing outside client/ includes this.
 *
 * Invariants the files share:
 *   - out holds bytes for the current transport only; it is empty unless
 *     the state is HANDSHAKE, CONNECTED, DRAINING or CLOSING.
 *   - pend holds publishes made while not connected (bounded by
 *     reconnect_buf_bytes_max); it is appended to out after a handshake.
 *   - pongs has one entry per PING written on the current transport, in
 *     order; each PONG completes the oldest.
 *   - timers is ordered by (at_ns, seq): no pointer order is observable.
 *   - subs/requests hash tables are looked up, never iterated where the
 *     order shows (resubscribe sorts by sid).
 */
#ifndef NATSIM_CLIENT_INTERNAL_H
#define NATSIM_CLIENT_INTERNAL_H

#include <glib.h>

#include "client/client.h"
#include "client/js.h"
#include "proto/buf.h"
#include "proto/parser.h"
#include "proto/prng.h"

/* The longest subject the publish path remembers as valid (conn.c). */
#define CLIENT_PUB_SUBJECT_CACHE_BYTES 64

typedef struct ClientTimer ClientTimer;
typedef void (*ClientTimerFn)(ClientConn *conn, ClientTimer *timer, int64_t now_ns);

struct ClientTimer {
	int64_t at_ns;
	uint64_t seq;
	bool armed;
	ClientTimerFn fire;
};

typedef struct ClientFetch ClientFetch;

typedef struct ClientSub {
	uint64_t sid;
	char *subject;
	char *queue; /* NULL: none */
	ClientMsgFn cb;
	void *ctx;
	uint64_t delivered;
	uint64_t max_msgs; /* 0: none */
	bool draining;     /* UNSUB sent; removed at the drain PONG */
	bool internal;     /* the request mux or a fetch: not counted in subs_max */
	/* queued mode (cb NULL) */
	GQueue queue_msgs; /* ClientMsg* owned */
	uint32_t pending_msgs;
	size_t pending_bytes;
	uint32_t pending_msgs_max;
	size_t pending_bytes_max;
	bool slow; /* in a slow-consumer episode */
	uint64_t dropped;
	/* JetStream */
	ClientFetch *fetch; /* a fetch's own sub */
	bool js_push;
	int64_t hb_ns;
	ClientTimer hb_timer;
} ClientSub;

typedef struct ClientRequest {
	uint64_t token;
	ClientTimer timer;
	ClientReplyFn cb;
	void *ctx;
	/* Set for the library's own requests (JetStream calls), whose ctx the
	 * library allocated: a request dropped without its callback (destroy,
	 * cancel) frees it with this. */
	GDestroyNotify ctx_free;
} ClientRequest;

/* request.c: marks a request's ctx as the library's own (see ctx_free). */
void client_request_own_ctx(ClientConn *conn, uint64_t request_id, GDestroyNotify ctx_free);

typedef enum PongKind {
	PONG_HANDSHAKE = 1,
	PONG_KEEPALIVE,
	PONG_FLUSH,
	PONG_DRAIN_SUB,  /* arg: sid */
	PONG_DRAIN_SUBS, /* connection drain, phase 1 */
	PONG_DRAIN_PUBS, /* connection drain, phase 2 */
} PongKind;

typedef struct ClientFlush {
	ClientTimer timer;
	ClientFlushFn cb; /* NULL once completed or timed out */
	void *ctx;
	bool done;
} ClientFlush;

typedef struct PongWait {
	PongKind kind;
	uint64_t sid;
	ClientFlush *flush; /* PONG_FLUSH; shared ownership via flush->done */
} PongWait;

struct ClientFetch {
	uint64_t id;
	uint64_t sid;
	uint32_t batch;
	uint32_t received;
	int64_t hb_ns;
	ClientTimer deadline;
	ClientTimer hb_timer;
	ClientFetchMsgFn on_msg;
	ClientFetchDoneFn on_done;
	void *ctx;
};

struct ClientConn {
	ClientOptions opts;
	char *opt_strings[8]; /* owned copies behind opts' strings */
	ClientCallbacks cb;
	void *cb_ctx;
	Prng prng_ids;
	Prng prng_jitter;
	ClientState state;
	bool transport_up; /* between transport_open and transport_closed */
	bool want_close;
	bool close_requested; /* terminal close wanted (user close, drain end, fatal error) */
	ClientStatus error;   /* why it went down / closed */
	char error_text[256];

	ProtoParser parser;
	ProtoBuf out;
	ProtoBuf pend;
	ProtoBuf scratch; /* NUL-terminated subject/reply of the message being delivered */

	/* from INFO */
	char *server_id;
	char *server_version;
	int64_t max_payload; /* -1: unknown */
	bool server_headers;
	bool server_jetstream;
	bool got_info; /* on the current transport */

	bool ever_connected;
	uint32_t attempt;        /* consecutive failed attempts */
	uint32_t auth_failures;  /* consecutive */
	ClientTimer reconnect_timer;
	ClientTimer connect_timer;
	ClientTimer ping_timer;
	ClientTimer drain_timer;
	uint32_t pings_out;
	GQueue pongs;            /* PongWait*, one per PING on this transport */
	GQueue flushes_unsent;   /* ClientFlush*, waiting for a transport */

	uint64_t next_sid;
	GHashTable *subs; /* sid -> ClientSub* (owned) */
	ClientSub *last_delivered_sub; /* the sub of the last message (cleared when it is removed), or NULL */
	uint32_t user_subs;

	char *inbox_base;  /* "<prefix>.<22 chars>" for the request mux */
	uint64_t mux_sid;  /* 0: not yet subscribed */
	uint64_t next_token;
	GHashTable *requests; /* token -> ClientRequest* (owned) */

	GTree *timers; /* ClientTimer* ordered by (at_ns, seq), value unused */
	/* timers' first, or NULL: kept after every change of timers (a handful
	 * a connection), read on every call of next_deadline_ns (one an event) */
	const ClientTimer *timer_first;
	uint64_t timer_seq;

	uint64_t next_fetch_id;
	GHashTable *fetches; /* id -> ClientFetch* (owned; its sub points to it) */
	uint32_t js_pub_pending;

	bool in_drain;
	ClientStats stats;
	bool destroying;

	/* The last subject a publish found valid: drivers publish to a few
	 * subjects over and over, and validating walks every byte. */
	char pub_subject[CLIENT_PUB_SUBJECT_CACHE_BYTES];
	size_t pub_subject_len; /* 0: none */
};

/* conn.c */
void client_timer_arm(ClientConn *conn, ClientTimer *timer, int64_t at_ns);
void client_timer_cancel(ClientConn *conn, ClientTimer *timer);
void client_wake(ClientConn *conn);
void client_emit(ClientConn *conn, ClientEventKind kind, ClientStatus status, const char *text, uint64_t sid);
bool client_conn_live(const ClientConn *conn); /* handshake done, transport up */
/* Appends a PING and its pong record. */
void client_send_ping(ClientConn *conn, PongKind kind, uint64_t sid, ClientFlush *flush);
/* Gives up the transport: error event data recorded, want close. */
void client_fail_transport(ClientConn *conn, ClientStatus status, const char *text, int64_t now_ns);

/* sub.c */
ClientSub *client_sub_lookup(const ClientConn *conn, uint64_t sid);
ClientStatus client_sub_add(ClientConn *conn, const char *subject, const char *queue, ClientMsgFn cb, void *ctx,
    bool internal, ClientSub **out, int64_t now_ns);
void client_sub_remove(ClientConn *conn, ClientSub *sub);
void client_sub_free(ClientConn *conn, ClientSub *sub);
void client_subs_resend(ClientConn *conn);
void client_deliver(ClientConn *conn, const ProtoOp *op, int64_t now_ns);
void client_sub_drain_done(ClientConn *conn, uint64_t sid);
/* Subscriptions in sid order (caller frees the array, not the subs). */
GPtrArray *client_subs_sorted(const ClientConn *conn);

/* request.c */
void client_requests_fail_all(ClientConn *conn, ClientStatus status);
void client_mux_deliver(ClientConn *conn, const ClientMsg *msg);

/* js.c */
void client_js_push_on_msg(ClientConn *conn, ClientSub *sub, const ClientMsg *msg, int64_t now_ns);
void client_fetch_on_msg(ClientConn *conn, ClientSub *sub, const ClientMsg *msg, int64_t now_ns);
void client_fetches_fail_all(ClientConn *conn, ClientStatus status);
void client_sub_hb_arm(ClientConn *conn, ClientSub *sub, int64_t now_ns);

/* tcp.c: takes every byte queued for the transport by swapping the output
 * buffer with *into (which must hold nothing): O(1) under the driver's
 * lock, however much is queued. Returns the bytes taken (0 when there is
 * no transport). Same effect as send_peek + copy + send_consume, except
 * that the buffer handed back is not shrunk: the caller shrinks *into
 * when it is idle (proto_buf_shrink). */
size_t client_conn_send_take(ClientConn *conn, ProtoBuf *into, int64_t now_ns);

/* publish without the max_payload and state checks: internal replies */
ClientStatus client_publish_raw(ClientConn *conn, const char *subject, const char *reply, const void *headers,
    size_t headers_len, const void *data, size_t data_len);

/* msg.c: raw bytes into a header block under construction. */
void client_headers_put_raw(ClientHeaders *h, const void *src, size_t len);
/* msg.c: fills status / status_text from the header block. */
void client_msg_parse_status(ClientMsg *msg, char *text_buf, size_t text_buf_size);

#endif
