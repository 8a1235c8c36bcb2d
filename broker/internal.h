/*
 * internal.h - the broker core's shared structures (broker.c, conn.c,
 * deliver.c, monitor.c). Nothing outside broker/ includes this.
 */
#ifndef NATSIM_BROKER_INTERNAL_H
#define NATSIM_BROKER_INTERNAL_H

#include <glib.h>
#include <jansson.h>

#include "broker/broker.h"
#include "broker/sublist.h"
#include "proto/buf.h"
#include "proto/parser.h"
#include "proto/prng.h"

#define BROKER_VERSION "2.10.22"  /* the nats-server behaviour natsim follows */
#define BROKER_GO "natsim " NATSIM_VERSION
#define BROKER_CLOSED_CONNS_MAX 10000 /* nats-server's MaxClosedClients */
#define BROKER_FIRST_PING_NS (2 * INT64_C(1000000000))
#define BROKER_RTT_PING_AFTER_NS (2 * INT64_C(1000000000))
#define BROKER_RTT_INTERVAL_NS (3600 * INT64_C(1000000000))
#define BROKER_MIN_REPLY_LEN 15 /* replies longer than this trigger an RTT ping */
/* Flow control: a connection whose output backlog passes the stall
 * threshold - max_pending / 2 as nats-server, but at most this - asks the
 * producers delivering to it to pause (broker_conn_stall_ns): for
 * nats-server's stallDuration once over max_pending / 2, and below that
 * (natsim's earlier, softer gate) for the soft pause. */
#define BROKER_STALL_BYTES_MAX (1024 * 1024)
#define BROKER_STALL_SOFT_NS (10 * INT64_C(1000000))
#define BROKER_STALL_MIN_NS (100 * INT64_C(1000000))  /* nats-server's stallClientMinDuration */
#define BROKER_STALL_MAX_NS (1000 * INT64_C(1000000)) /* stallClientMaxDuration */
/* An empty output buffer larger than this is freed at once; one larger
 * than the idle size is freed at the next ping timer. */
#define BROKER_OUT_KEEP_BYTES_MAX (4 * BROKER_STALL_BYTES_MAX)
#define BROKER_OUT_IDLE_BYTES_MAX (64 * 1024)

struct BrokerConn {
	Broker *broker;
	uint64_t cid;
	char *ip;
	uint16_t port;
	ProtoParser parser;
	ProtoBuf out;

	/* CONNECT options (defaults: verbose, pedantic and echo on) */
	bool verbose, pedantic, echo, headers, no_responders;
	int64_t protocol;
	char *name, *lang, *version, *user;
	bool connect_received;
	bool awaiting_auth;
	bool first_pong_sent;

	/* lifecycle */
	bool internal; /* the broker's own connection: no socket, no output */
	bool counted; /* in broker->conn_count */
	bool closing;
	BrokerCloseReason close_reason;
	bool wake_pending;
	bool activity; /* a message or subscription change in this recv */

	/* flow control (nats-server's out.stc and stalledWait) */
	bool stall_gate;  /* output backlog over the stall threshold */
	int64_t stall_ns; /* as a producer: the pause its last input asked for */

	/* time */
	int64_t start_ns;
	int64_t last_activity_ns;
	int64_t last_in_ns;
	int64_t rtt_ns;
	int64_t rtt_start_ns;
	uint32_t pings_out;
	int64_t ping_due_ns;
	int64_t auth_due_ns;
	int64_t stall_since_ns; /* output pending without progress since */
	int64_t deadline_ns;    /* key in the broker's timer heap */
	uint32_t heap_index;    /* UINT32_MAX when not in the heap */

	/* subscriptions */
	GHashTable *subs; /* sid (the sub's own string) -> BrokerSub* */
	BrokerSub *sub_head, *sub_tail;
	uint32_t sub_count;

	uint64_t in_msgs, out_msgs, in_bytes, out_bytes;
	void *user_ptr;
	BrokerConn *prev, *next; /* every connection not yet freed, in cid order */
};

/* What /connz?state=closed shows of a closed connection. */
typedef struct BrokerClosedConn {
	uint64_t cid;
	char *ip;
	uint16_t port;
	int64_t start_ns, stop_ns, last_activity_ns, rtt_ns;
	char *name, *lang, *version, *user;
	uint64_t in_msgs, out_msgs, in_bytes, out_bytes;
	uint32_t sub_count;
	GArray *subs; /* BrokerClosedSub, in subscription order */
	BrokerCloseReason reason;
} BrokerClosedConn;

typedef struct BrokerClosedSub {
	char *subject;
	char *queue;
	char *sid;
	uint64_t msgs;
} BrokerClosedSub;

struct Broker {
	BrokerConfig config; /* defaults applied, strings owned */
	BrokerCallbacks cb;
	void *cb_ctx;
	Prng prng;
	char server_id[57];
	int64_t start_ns;
	int64_t now_ns;
	uint64_t next_cid;
	uint64_t next_sub_seq;
	Sublist *sublist;

	BrokerConn *conn_head, *conn_tail; /* all not yet freed (closing ones too) */
	uint32_t conn_count;               /* open ones (not closing) */
	uint64_t total_conns;

	BrokerConn **heap;
	uint32_t heap_count, heap_cap;

	BrokerSub *dead_subs;

	uint64_t in_msgs, out_msgs, in_bytes, out_bytes, slow_consumers;
	uint64_t probes[BROKER_PROBE_COUNT];
	uint64_t stall_releases; /* stall gates opened so far */

	BrokerClosedConn *closed; /* ring of up to BROKER_CLOSED_CONNS_MAX, grown on demand */
	uint32_t closed_count, closed_next, closed_cap;
	GHashTable *http_req_stats; /* path -> count (guint64*) */
	BrokerConn *system;        /* the internal connection that owns internal subscriptions */
	uint64_t internal_sids;
	BrokerTicker ticker;
	ProtoBuf scratch;
	BrokerInterestFn interest_fn; /* broker_set_interest_watch */
	void *interest_ctx;
	struct JsServer *js;          /* JetStream, when config.jetstream */
};

/* broker.c */
void broker_log(Broker *b, BrokerLogLevel level, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
void broker_probe(Broker *b, BrokerConn *c, BrokerProbe probe);
void broker_timer_update(Broker *b, BrokerConn *c);
void broker_timer_remove(Broker *b, BrokerConn *c);
void broker_sub_free_later(Broker *b, BrokerSub *sub);
void broker_reap(Broker *b);
void broker_record_closed(Broker *b, BrokerConn *c);

/* monitor.c: Go's time.Time JSON (RFC 3339, nanoseconds, "Z") and
 * time.Duration.String() ("1m30s", "1.5ms"), shared with JetStream. */
json_t *broker_json_time(int64_t unix_ns);
void broker_go_duration(int64_t d, char out[40]);

/* conn.c */
void conn_log(BrokerConn *c, BrokerLogLevel level, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
void conn_output_added(BrokerConn *c, size_t pending_before);
void conn_send_err(BrokerConn *c, const char *text);
void conn_send_ok(BrokerConn *c);
void conn_send_ping(BrokerConn *c);
void conn_mark_closing(BrokerConn *c, BrokerCloseReason reason);
void conn_sub_remove(BrokerConn *c, BrokerSub *sub);
int64_t conn_deadline(const BrokerConn *c);
void conn_on_timer(BrokerConn *c, int64_t now_ns);
size_t conn_stall_bytes(const Broker *b);

/* deliver.c: returns how many subscriptions took the message */
uint32_t broker_route(Broker *b, BrokerConn *pub, const ProtoOp *op);
/* The same, matched against match (not op->subject, which is what the
 * receivers see): JetStream's deliveries. */
uint32_t broker_route_match(Broker *b, BrokerConn *pub, const ProtoOp *op, const char *match, size_t match_len);
/* conn.c: a client subscription was added or removed */
void broker_interest_changed(Broker *b, const BrokerSub *sub);

#endif
