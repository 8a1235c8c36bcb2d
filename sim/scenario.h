/*
 * scenario.h - a parsed scenario file (the language is scenarios/README.md).
 *
 * scenario_parse() turns the text into this model, drawing every `let`
 * from the seed's "scenario" stream in file order, so a (file, seed) pair
 * is one fully determined run. Every element remembers its file position
 * for error messages and failure reports. The model owns all its strings.
 */
#ifndef NATSIM_SIM_SCENARIO_H
#define NATSIM_SIM_SCENARIO_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "broker/broker.h"

typedef struct ScnPos {
	int line;
	int col;
} ScnPos;

typedef struct ScnLinkOpts {
	/* each field applies only when its bit is in set */
	unsigned set;
	int64_t latency_ns, jitter_ns, partition_reset_ns;
	uint64_t bandwidth_bytes_per_s;
	uint32_t segment_bytes_max, window_bytes;
	double split_chance;
} ScnLinkOpts;

enum {
	SCN_LINK_LATENCY = 1u << 0,
	SCN_LINK_JITTER = 1u << 1,
	SCN_LINK_BANDWIDTH = 1u << 2,
	SCN_LINK_SEGMENT = 1u << 3,
	SCN_LINK_SPLIT = 1u << 4,
	SCN_LINK_WINDOW = 1u << 5,
	SCN_LINK_PARTITION_RESET = 1u << 6,
};

typedef struct ScnBroker {
	ScnPos pos;
	char *name;
	uint16_t port;
	BrokerConfig config; /* strings owned here */
	uint64_t disk_capacity_bytes; /* 0: unlimited */
	double torn_write_chance;     /* at a crash, per file with an unsynced tail */
} ScnBroker;

typedef struct ScnClient {
	ScnPos pos;
	char *name;
	char *broker;
	char *user, *password, *token, *conn_name;
	bool echo;
	bool reconnect;
	int64_t reconnect_wait_ns; /* 0: the client's default */
	int64_t ping_interval_ns;  /* 0: the client's default */
	uint32_t ping_max;         /* 0: default */
	int64_t connect_at_ns;
	ScnLinkOpts link;          /* applied both ways to the broker link */
} ScnClient;

typedef struct ScnLink {
	ScnPos pos;
	char *from, *to;
	bool both_ways;
	ScnLinkOpts opts;
} ScnLink;

typedef struct ScnHeader {
	char *key;
	char *value;
} ScnHeader;

typedef enum ScnActionKind {
	SCN_ACT_SUBSCRIBE = 1,
	SCN_ACT_UNSUBSCRIBE,
	SCN_ACT_PUBLISH,
	SCN_ACT_REQUEST,
	SCN_ACT_REPLY,
	SCN_ACT_FLUSH,
	SCN_ACT_PAUSE,
	SCN_ACT_DISCONNECT,
	SCN_ACT_CLOSE,
	/* JetStream (client actions) */
	SCN_ACT_JS_PUBLISH,
	SCN_ACT_STREAM_ADD,
	SCN_ACT_STREAM_UPDATE,
	SCN_ACT_STREAM_DELETE,
	SCN_ACT_STREAM_PURGE,
	SCN_ACT_CONSUMER_ADD,
	SCN_ACT_CONSUMER_DELETE,
	SCN_ACT_FETCH,
	SCN_ACT_CONSUME,
	SCN_ACT_STOP,
	SCN_ACT_SUBSCRIBE_PUSH,
	/* faults */
	SCN_ACT_PARTITION,
	SCN_ACT_HEAL,
	SCN_ACT_CRASH,
	SCN_ACT_RESTART,
	SCN_ACT_RESET,
	SCN_ACT_LATENCY,
	SCN_ACT_CLOCK,
	SCN_ACT_CORRUPT, /* flip random bits on a node's disk */
	SCN_ACT_DISK_FAIL, /* the next N disk writes of a node fail */
} ScnActionKind;

/* What a consuming client does with each JetStream message it gets
 * (`acks ...` on fetch, consume and subscribe-push). */
typedef enum ScnAckMode {
	SCN_ACKS_NOW = 0,  /* +ACK at once (the default) */
	SCN_ACKS_NEVER,
	SCN_ACKS_AFTER,    /* +ACK after delay_ns */
	SCN_ACKS_SYNC,     /* +ACK with a reply (double ack) */
	SCN_ACKS_NAK,      /* -NAK [delay] the first `first` deliveries (0: all), then +ACK */
	SCN_ACKS_TERM,     /* +TERM seq `seq` (0: any) or at delivery `on_delivery`; others acked */
	SCN_ACKS_PROGRESS, /* +WPI every delay_ns for for_ns, then +ACK */
} ScnAckMode;

typedef struct ScnAcks {
	ScnAckMode mode;
	int64_t delay_ns;
	int64_t for_ns;
	uint64_t first;
	uint64_t seq;
	uint64_t on_delivery;
	char *reason; /* TERM reason (2.10) */
} ScnAcks;

typedef struct ScnAction {
	ScnPos pos;
	int64_t at_ns;
	ScnActionKind kind;
	GPtrArray *actors;   /* char*: clients for client actions; nodes for faults */
	char *subject;
	char *queue;
	char *payload;       /* NULL: default (publish) */
	size_t payload_len;
	char *reply;
	GArray *headers;     /* ScnHeader */
	uint64_t count;      /* publish: 1 by default */
	uint64_t size;       /* publish: pad each payload to this many bytes (0: no padding) */
	int64_t interval_ns; /* between repeated publishes */
	uint64_t max;        /* subscribe max / unsubscribe after */
	int64_t duration_ns; /* pause; request timeout; reply delay; latency; clock jump */
	int64_t jitter_ns;
	bool one_way;
	uint32_t index;      /* file order, to break time ties */
	/* JetStream */
	char *stream, *consumer;
	json_t *config;      /* stream / consumer config, or purge / fetch body */
	uint32_t fails_code; /* API action: the err_code it must fail with (0: must succeed) */
	ScnAcks acks;
	int64_t until_ns;    /* consume: stop at this time (0: never) */
} ScnAction;

typedef enum ScnExpectKind {
	SCN_EXP_RECEIVES_PAYLOAD = 1, /* W receives PAYLOAD [on S] [time] [times N] */
	SCN_EXP_RECEIVES_COUNT,       /* W receives N | between A and B | nothing */
	SCN_EXP_EACH_RECEIVES,        /* each of W... receives between A and B */
	SCN_EXP_EXACTLY_ONCE,         /* W1 + W2 receive N exactly once each */
	SCN_EXP_REQUEST_GETS,
	SCN_EXP_REQUEST_FAILS,
	SCN_EXP_DISCONNECTED,
	SCN_EXP_RECONNECTED,
	SCN_EXP_ERROR,
	SCN_EXP_PROBE,
	SCN_EXP_MONITOR,
	SCN_EXP_NEVER_RECEIVES,
	/* JetStream */
	SCN_EXP_JS_GETS_SEQ,      /* W gets STREAM seq N [delivery K] [time] [times N] */
	SCN_EXP_JS_GETS_COUNT,    /* W gets STREAM messages|deliveries|redeliveries N | between A and B */
	SCN_EXP_JS_ALL,           /* W1 + W2 get STREAM all exactly once | at least once */
	SCN_EXP_JS_PUBACKS,       /* W pubacks N [duplicates D] */
	SCN_EXP_JS_PUBLISH_FAILS, /* W publish fails CODE [times N] */
	SCN_EXP_JS_ADVISORY,      /* W advisory KIND STREAM [CONSUMER] [seq N] [time] [times N] */
	SCN_EXP_JS_FETCH_STATUS,  /* W fetch status CODE [times N] */
	SCN_EXP_JS_STREAM_INFO,   /* B stream NAME PATH OP VALUE [at TIME] */
	SCN_EXP_JS_CONSUMER_INFO, /* B consumer STREAM NAME PATH OP VALUE [at TIME] */
	SCN_EXP_BROKER_LOG,       /* B logs "TEXT" [times N] (warnings and errors) */
} ScnExpectKind;

typedef enum ScnOp { SCN_OP_EQ = 1, SCN_OP_NE, SCN_OP_LT, SCN_OP_LE, SCN_OP_GT, SCN_OP_GE } ScnOp;

typedef enum ScnWhen {
	SCN_WHEN_ANY = 0, /* at any time */
	SCN_WHEN_AT,
	SCN_WHEN_BEFORE,
	SCN_WHEN_AFTER,
	SCN_WHEN_BETWEEN,
} ScnWhen;

typedef struct ScnExpect {
	ScnPos pos;
	char *text;          /* the line as written, for reports */
	ScnExpectKind kind;
	GPtrArray *clients;  /* char* */
	char *subject;       /* NULL: any */
	char *payload;
	size_t payload_len;
	ScnWhen when;
	int64_t t1_ns, t2_ns;
	bool has_times;
	uint64_t times;
	uint64_t lo, hi;     /* counts */
	bool all;            /* exactly once: as many as were published */
	char *node;          /* probe / monitor broker */
	char *name;          /* probe name; monitor endpoint ("varz"); failure kind */
	char *path;          /* monitor JSON path */
	ScnOp op;
	char *value;         /* monitor value as written */
	double number;       /* probe value, or monitor value when numeric */
	bool value_is_number;
	bool at_end;
	bool has_seed;       /* `when seed N`: checked only in that seed's run */
	uint64_t only_seed;
	/* JetStream */
	char *stream, *consumer;
	uint64_t seq, delivery; /* 0: any */
	bool at_least_once;     /* SCN_EXP_JS_ALL */
} ScnExpect;

typedef struct ScnLet {
	ScnPos pos;
	char *name;
	char *value_text; /* the drawn value as it would be written */
} ScnLet;

typedef struct Scenario {
	char *path;
	char *text;          /* the source, kept for export */
	uint64_t seed;
	GPtrArray *brokers;  /* ScnBroker* */
	GPtrArray *clients;  /* ScnClient* */
	GPtrArray *links;    /* ScnLink* */
	GPtrArray *actions;  /* ScnAction*, sorted by (at_ns, index) */
	GPtrArray *expects;  /* ScnExpect* */
	GPtrArray *lets;     /* ScnLet* */
	int64_t run_for_ns;  /* 0: until 10 s after the last timed line */
	int64_t last_time_ns;
} Scenario;

/* Parses text (from path, used in messages). On error returns NULL and
 * sets *error to "path:line:col: what is wrong". */
Scenario *scenario_parse(const char *path, const char *text, uint64_t seed, GError **error);
void scenario_free(Scenario *scn);

/* The scenario's text with every `let` fixed to its drawn value. */
char *scenario_export(const Scenario *scn);

/* When the run ends. */
int64_t scenario_end_ns(const Scenario *scn);

/* Formats a duration the way the language writes it ("1.5s", "250ms"). */
char *scenario_format_duration(int64_t ns);

/* Whether virtual time t satisfies an expectation's `at`/`before`/
 * `after`/`between` clause (any time when it has none). */
static inline bool
scn_expect_time_ok(const ScnExpect *e, int64_t t)
{
	switch (e->when) {
	case SCN_WHEN_ANY: return true;
	case SCN_WHEN_AT: return t == e->t1_ns;
	case SCN_WHEN_BEFORE: return t < e->t1_ns;
	case SCN_WHEN_AFTER: return t > e->t1_ns;
	case SCN_WHEN_BETWEEN: return t >= e->t1_ns && t <= e->t2_ns;
	}
	return false;
}

/* Whether `a op b` holds. */
static inline bool
scn_op_holds(ScnOp op, double a, double b)
{
	switch (op) {
	case SCN_OP_EQ: return a == b;
	case SCN_OP_NE: return a != b;
	case SCN_OP_LT: return a < b;
	case SCN_OP_LE: return a <= b;
	case SCN_OP_GT: return a > b;
	case SCN_OP_GE: return a >= b;
	}
	return false;
}

/* The operator as the language writes it ("<=", ...). */
const char *scn_op_str(ScnOp op);

/* The value at a dotted path ("streams.0.state.messages": object keys and
 * array indexes) under root, or NULL; borrowed from root. */
json_t *scn_json_path(json_t *root, const char *path);

/* Compares a JSON value with an expectation's `op value` (as a number when
 * both are numbers, else as text); NULL when it holds, else what was found
 * ("PATH is GOT"), to be freed. */
char *scn_expect_value_check(const ScnExpect *e, json_t *v);

#define SCENARIO_ERROR (scenario_error_quark())
GQuark scenario_error_quark(void);

#endif
