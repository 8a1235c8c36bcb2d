/*
 * consumer.c - JetStream consumers: configuration (defaults, validation,
 * update rules), push and pull delivery, acks, the ack_wait timer model,
 * redelivery and backoff, max_deliver, NAK/TERM/WPI/+NXT, max_ack_pending,
 * idle heartbeats, flow control, the inactive threshold, advisories,
 * persisted state, and the consumer API handlers (and MSG.NEXT).
 *
 * Callers: the API router in jetstream.c (js_consumer_api_*), stream.c
 * (js_consumer_on_stored / on_stream_purged / needs_ack / filters, and the
 * consumer list it owns), the ticker (js_consumer_next_deadline /
 * on_timer), the interest watch (js_consumer_on_interest), and the broker's
 * routing for the internal subscriptions made here: the ack subject
 * "$JS.ACK.<stream>.<consumer>.*.*.*.*.*" and the flow control reply
 * "$JS.FC.<stream>.<consumer>.*".
 *
 * The model is nats-server's server/consumer.go: v2.14.5 where releases
 * differ, for the features v2.10 has (v2.10.29 error texts); the
 * "## Consumers" section of docs/jetstream.md lists every choice with the
 * source it follows. nats-server runs a consumer as goroutines woken by
 * channels and Go timers; here one consumer is a state machine whose
 * timers are absolute deadlines (ack-wait scan, inactivity, push idle
 * heartbeat, pull request expiry/heartbeat, deferred work, state save),
 * whose minimum js_consumer_next_deadline() reports in O(1).
 *
 * Invariants this file owns:
 *   - pending: stream seq -> {original consumer seq, timestamp}, kept
 *     sorted by stream seq (scans run in seq order, nothing depends on
 *     hash order); every seq on the redelivery queue is pending;
 *   - the ack floor (adflr, asflr) never passes a pending entry;
 *   - re-entrancy (js.h): while the consumer is inside one of its own
 *     operations (busy > 0) anything that reaches it from outside (a
 *     stored message, a purge, an ack, a pull request) is only noted and
 *     applied when the outermost operation ends; no pointer into pending
 *     is held across a publish;
 *   - time comes from broker_now_ns(), randomness from broker_random().
 */
#include "broker/js/js.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/internal.h"
#include "proto/assert.h"
#include "proto/subject.h"

/* ------------------------------------------------------------------ */
/* constants (nats-server's)                                            */
/* ------------------------------------------------------------------ */

#define ACK_WAIT_DEFAULT_NS (30 * JS_NS_PER_S)        /* JsAckWaitDefault */
#define DELETE_WAIT_DEFAULT_NS (5 * JS_NS_PER_S)      /* JsDeleteWaitTimeDefault */
#define FLOW_CONTROL_MAX_PENDING (32 * 1024 * 1024)   /* JsFlowControlMaxPending */
#define MAX_ACK_PENDING_DEFAULT 1000                   /* JsDefaultMaxAckPending */
#define WAIT_QUEUE_DEFAULT_MAX 512                     /* JSWaitQueueDefaultMax */
#define ACK_WAIT_DELAY_NS JS_NS_PER_MS                 /* ackWaitDelay */
#define NAMES_LIMIT 1024                               /* JSApiNamesLimit */
#define LIST_LIMIT 256                                 /* JSApiListLimit */
#define NAME_LEN_MAX 255                               /* JSMaxNameLen */
#define DESCRIPTION_LEN_MAX 4096                       /* JSMaxDescriptionLen */
#define METADATA_LEN_MAX (128 * 1024)                  /* JSMaxMetadataLen */
#define HEARTBEAT_MIN_NS (100 * JS_NS_PER_MS)
#define MAX_EXPIRES_MIN_NS JS_NS_PER_MS
/* consumerFileStore.flushLoop: "approximately 10 updates per second per
 * consumer under load". */
#define STATE_SAVE_INTERVAL_NS (100 * JS_NS_PER_MS)
/* Deliveries per call before the rest is left to the next tick (deadline
 * "now"), so one call stays bounded. */
#define DELIVER_BUDGET 4096
/* Rounds of deferred work at the end of one outermost operation. */
#define LEAVE_ROUNDS_MAX 64
/* Bytes a rate limiter may burst when the stream has no max_msg_size
 * (nats-server: the account's or the server's max payload). */
#define RATE_BURST_DEFAULT (1024 * 1024)

#define HDR_PENDING_MSGS "Nats-Pending-Messages"
#define HDR_PENDING_BYTES "Nats-Pending-Bytes"
#define REASON_UNACKED_DELETED "Unacknowledged message was deleted"

typedef enum {
	DELIVER_ALL = 0,
	DELIVER_LAST,
	DELIVER_NEW,
	DELIVER_BY_START_SEQ,
	DELIVER_BY_START_TIME,
	DELIVER_LAST_PER_SUBJECT,
} DeliverPolicy;

typedef enum { ACK_NONE = 0, ACK_ALL, ACK_EXPLICIT } AckPolicy;
typedef enum { REPLAY_INSTANT = 0, REPLAY_ORIGINAL } ReplayPolicy;
typedef enum { ACTION_CREATE_OR_UPDATE = 0, ACTION_UPDATE, ACTION_CREATE } ConsumerAction;

static const char *const deliver_names[] = { "all", "last", "new", "by_start_sequence", "by_start_time",
	"last_per_subject" };
static const char *const ack_names[] = { "none", "all", "explicit" };
static const char *const replay_names[] = { "instant", "original" };

/* ------------------------------------------------------------------ */
/* small helpers                                                        */
/* ------------------------------------------------------------------ */

/* Writes v in decimal at out (no NUL); returns the length. */
static size_t
u64_to_dec(uint64_t v, char *out)
{
	char tmp[24];
	size_t n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	for (size_t k = 0; k < n; k++)
		out[k] = tmp[n - 1 - k];
	return n;
}

static size_t
i64_to_dec(int64_t v, char *out)
{
	if (v < 0) {
		out[0] = '-';
		return 1 + u64_to_dec((uint64_t)0 - (uint64_t)v, out + 1);
	}
	return u64_to_dec((uint64_t)v, out);
}

/* nats-server parseAckReplyNum: digits only, else -1 (which the caller
 * reads as uint64: the largest value). */
static uint64_t
ack_num(const char *p, size_t len)
{
	if (len == 0)
		return UINT64_MAX;
	uint64_t n = 0;
	for (size_t k = 0; k < len; k++) {
		if (p[k] < '0' || p[k] > '9')
			return UINT64_MAX;
		n = n * 10 + (uint64_t)(p[k] - '0');
	}
	return n;
}

static bool
is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == '\f' || ch == '\v';
}

/* bytes.TrimSpace */
static void
trim_space(const char **p, size_t *len)
{
	while (*len > 0 && is_space(**p)) {
		(*p)++;
		(*len)--;
	}
	while (*len > 0 && is_space((*p)[*len - 1]))
		(*len)--;
}

/* strconv.Quote, close enough for the error texts that embed it: ASCII
 * escapes, other bytes as they are. */
static void
go_quote(GString *out, const char *s)
{
	g_string_append_c(out, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		switch (*p) {
		case '"': g_string_append(out, "\\\""); break;
		case '\\': g_string_append(out, "\\\\"); break;
		case '\a': g_string_append(out, "\\a"); break;
		case '\b': g_string_append(out, "\\b"); break;
		case '\f': g_string_append(out, "\\f"); break;
		case '\n': g_string_append(out, "\\n"); break;
		case '\r': g_string_append(out, "\\r"); break;
		case '\t': g_string_append(out, "\\t"); break;
		case '\v': g_string_append(out, "\\v"); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				g_string_append_printf(out, "\\x%02x", *p);
			else
				g_string_append_c(out, (char)*p);
		}
	}
	g_string_append_c(out, '"');
}

/* strconv.Atoi: true with *v, or false with the error text in err. */
static bool
go_atoi(const char *s, int64_t *v, GString *err)
{
	const char *p = s;
	bool neg = false;
	if (*p == '+' || *p == '-') {
		neg = *p == '-';
		p++;
	}
	uint64_t n = 0;
	bool range = false;
	if (*p == '\0')
		goto syntax;
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			goto syntax;
		if (n > (UINT64_MAX - 9) / 10)
			range = true;
		else
			n = n * 10 + (uint64_t)(*p - '0');
	}
	if (range || (!neg && n > (uint64_t)INT64_MAX) || (neg && n > (uint64_t)INT64_MAX + 1)) {
		g_string_append(err, "strconv.Atoi: parsing ");
		go_quote(err, s);
		g_string_append(err, ": value out of range");
		return false;
	}
	*v = neg ? (int64_t)(0 - n) : (int64_t)n;
	return true;
syntax:
	g_string_append(err, "strconv.Atoi: parsing ");
	go_quote(err, s);
	g_string_append(err, ": invalid syntax");
	return false;
}

/* time.ParseDuration ("300ms", "1.5h", "2h45m", "-1s", "0"). */
static bool
go_parse_duration(const char *s, size_t len, int64_t *out)
{
	size_t k = 0;
	bool neg = false;
	if (k < len && (s[k] == '-' || s[k] == '+')) {
		neg = s[k] == '-';
		k++;
	}
	if (len - k == 1 && s[k] == '0') {
		*out = 0;
		return true;
	}
	if (k == len)
		return false;
	uint64_t total = 0;
	while (k < len) {
		uint64_t whole = 0;
		bool digits = false, overflow = false;
		while (k < len && s[k] >= '0' && s[k] <= '9') {
			if (whole > (UINT64_MAX - 9) / 10)
				overflow = true;
			whole = whole * 10 + (uint64_t)(s[k] - '0');
			digits = true;
			k++;
		}
		uint64_t frac = 0, scale = 1;
		bool frac_digits = false;
		if (k < len && s[k] == '.') {
			k++;
			while (k < len && s[k] >= '0' && s[k] <= '9') {
				if (scale < UINT64_C(1000000000000000000)) {
					frac = frac * 10 + (uint64_t)(s[k] - '0');
					scale *= 10;
				}
				frac_digits = true;
				k++;
			}
		}
		if ((!digits && !frac_digits) || overflow)
			return false;
		size_t u0 = k;
		while (k < len && s[k] != '.' && (s[k] < '0' || s[k] > '9'))
			k++;
		size_t ulen = k - u0;
		const char *u = s + u0;
		uint64_t unit;
		if (ulen == 2 && memcmp(u, "ns", 2) == 0)
			unit = 1;
		else if ((ulen == 2 && memcmp(u, "us", 2) == 0) || (ulen == 3 && memcmp(u, "\xc2\xb5s", 3) == 0) ||
		    (ulen == 3 && memcmp(u, "\xce\xbcs", 3) == 0))
			unit = 1000;
		else if (ulen == 2 && memcmp(u, "ms", 2) == 0)
			unit = 1000000;
		else if (ulen == 1 && u[0] == 's')
			unit = 1000000000;
		else if (ulen == 1 && u[0] == 'm')
			unit = UINT64_C(60000000000);
		else if (ulen == 1 && u[0] == 'h')
			unit = UINT64_C(3600000000000);
		else
			return false;
		if (whole > (uint64_t)INT64_MAX / unit)
			return false;
		uint64_t v = whole * unit;
		if (frac_digits)
			v += (uint64_t)((double)frac * ((double)unit / (double)scale));
		total += v;
		if (total > (uint64_t)INT64_MAX + (neg ? 1u : 0u))
			return false;
	}
	*out = neg ? (int64_t)(0 - total) : (int64_t)total;
	return true;
}

/* Days since 1970-01-01 of a civil date (proleptic Gregorian). */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void
civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int
digits_at(const char *s, size_t n)
{
	int v = 0;
	for (size_t k = 0; k < n; k++) {
		if (s[k] < '0' || s[k] > '9')
			return -1;
		v = v * 10 + (s[k] - '0');
	}
	return v;
}

/* Go's time.Time JSON (RFC 3339, optional fraction): Unix ns and the
 * zone offset in seconds (kept so the echo shows the same zone). */
static bool
rfc3339_parse(const char *s, int64_t *ns_out, int32_t *offset_out)
{
	size_t len = strlen(s);
	if (len < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':')
		return false;
	int y = digits_at(s, 4), mo = digits_at(s + 5, 2), d = digits_at(s + 8, 2);
	int h = digits_at(s + 11, 2), mi = digits_at(s + 14, 2), se = digits_at(s + 17, 2);
	if (y < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 59)
		return false;
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (d > mdays[mo - 1] + (mo == 2 && leap ? 1 : 0))
		return false;
	size_t k = 19;
	int64_t frac = 0;
	if (k < len && s[k] == '.') {
		k++;
		size_t start = k, nd = 0;
		while (k < len && s[k] >= '0' && s[k] <= '9') {
			if (nd < 9) {
				frac = frac * 10 + (s[k] - '0');
				nd++;
			}
			k++;
		}
		if (k == start)
			return false;
		for (; nd < 9; nd++)
			frac *= 10;
	}
	int32_t off;
	if (k < len && (s[k] == 'Z' || s[k] == 'z') && k + 1 == len) {
		off = 0;
	} else if (k + 6 == len && (s[k] == '+' || s[k] == '-') && s[k + 3] == ':') {
		int oh = digits_at(s + k + 1, 2), om = digits_at(s + k + 4, 2);
		if (oh < 0 || oh > 23 || om < 0 || om > 59)
			return false;
		off = (int32_t)((oh * 60 + om) * 60) * (s[k] == '-' ? -1 : 1);
	} else {
		return false;
	}
	int64_t secs = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + se - off;
	*ns_out = secs * JS_NS_PER_S + frac;
	*offset_out = off;
	return true;
}

/* RFC3339Nano in a fixed zone, as Go marshals a time.Time. */
static json_t *
rfc3339_json(int64_t ns, int32_t offset)
{
	if (offset == 0)
		return broker_json_time(ns);
	int64_t local = ns + (int64_t)offset * JS_NS_PER_S;
	int64_t secs = local >= 0 ? local / JS_NS_PER_S : (local - (JS_NS_PER_S - 1)) / JS_NS_PER_S;
	int64_t frac = local - secs * JS_NS_PER_S;
	int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
	int64_t rem = secs - days * 86400;
	int64_t y;
	unsigned m, d;
	civil_from_days(days, &y, &m, &d);
	char buf[80];
	int n = snprintf(buf, sizeof(buf), "%04" G_GINT64_FORMAT "-%02u-%02uT%02d:%02d:%02d", y, m, d, (int)(rem / 3600),
	    (int)(rem / 60 % 60), (int)(rem % 60));
	if (frac > 0) {
		char digits[24];
		snprintf(digits, sizeof(digits), "%09" G_GINT64_FORMAT, frac);
		int dl = 9;
		while (dl > 0 && digits[dl - 1] == '0')
			dl--;
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, ".%.*s", dl, digits);
	}
	int32_t a = offset < 0 ? -offset : offset;
	snprintf(buf + n, sizeof(buf) - (size_t)n, "%c%02d:%02d", offset < 0 ? '-' : '+', (int)(a / 3600),
	    (int)(a / 60 % 60));
	return json_string(buf);
}

/* A JetStream name (isValidName): not empty, no white space, '.', '*'
 * or '>'. */
static bool
name_valid(const char *name)
{
	if (name == NULL || name[0] == '\0')
		return false;
	for (const char *p = name; *p != '\0'; p++) {
		if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n' || *p == '\f' || *p == '.' || *p == '*' ||
		    *p == '>')
			return false;
	}
	return true;
}

/* ------------------------------------------------------------------ */
/* JSON decoding with encoding/json's rules                             */
/* ------------------------------------------------------------------ */

/*
 * Requests are Go structs decoded by encoding/json, so natsim decodes
 * them the same way: unknown keys are ignored, keys match exactly or else
 * case-insensitively, null leaves a scalar alone (and clears a slice, map
 * or pointer), and a value of the wrong type fails the whole request
 * ("invalid JSON" for the API, "400 Bad Request - json: cannot unmarshal
 * ..." for a pull request). Enum strings fail on anything unknown,
 * null included (their UnmarshalJSON sees "null").
 */
typedef enum {
	K_STR,
	K_INT,
	K_UINT,
	K_BOOL,
	K_DELIVER,
	K_ACK,
	K_REPLAY,
	K_ACTION,
	K_TIME,
	K_INTLIST,
	K_STRLIST,
	K_STRMAP,
} FieldKind;

#define NO_FLAG ((size_t)-1)

typedef struct Field {
	const char *key;
	FieldKind kind;
	size_t off;      /* of the value */
	size_t set_off;  /* of a bool "present" flag, or NO_FLAG */
	const char *go_type;
} Field;

typedef struct ConsCfg {
	char *durable;
	char *name;
	char *description;
	int deliver;
	uint64_t opt_start_seq;
	bool start_time_set;
	int64_t start_time_ns;
	int32_t start_time_offset;
	int ack;
	int64_t ack_wait;
	int64_t max_deliver;
	GArray *backoff; /* int64_t; NULL = nil slice */
	char *filter_subject;
	GPtrArray *filter_subjects; /* char *; NULL = nil slice */
	int replay;
	uint64_t rate_limit;
	char *sample_freq;
	int64_t max_waiting;
	int64_t max_ack_pending;
	int64_t heartbeat;
	bool flow_control;
	bool headers_only;
	int64_t max_batch;
	int64_t max_expires;
	int64_t max_bytes;
	char *deliver_subject;
	char *deliver_group;
	int64_t inactive_threshold;
	int64_t replicas;
	bool mem_storage;
	bool direct;
	json_t *metadata; /* NULL = nil map */
} ConsCfg;

#define CF(key, kind, member, type) { key, kind, offsetof(ConsCfg, member), NO_FLAG, type }

static const Field cfg_fields[] = {
	CF("durable_name", K_STR, durable, "string"),
	CF("name", K_STR, name, "string"),
	CF("description", K_STR, description, "string"),
	CF("deliver_policy", K_DELIVER, deliver, "server.DeliverPolicy"),
	CF("opt_start_seq", K_UINT, opt_start_seq, "uint64"),
	{ "opt_start_time", K_TIME, offsetof(ConsCfg, start_time_ns), offsetof(ConsCfg, start_time_set), "time.Time" },
	CF("ack_policy", K_ACK, ack, "server.AckPolicy"),
	CF("ack_wait", K_INT, ack_wait, "time.Duration"),
	CF("max_deliver", K_INT, max_deliver, "int"),
	CF("backoff", K_INTLIST, backoff, "[]time.Duration"),
	CF("filter_subject", K_STR, filter_subject, "string"),
	CF("filter_subjects", K_STRLIST, filter_subjects, "[]string"),
	CF("replay_policy", K_REPLAY, replay, "server.ReplayPolicy"),
	CF("rate_limit_bps", K_UINT, rate_limit, "uint64"),
	CF("sample_freq", K_STR, sample_freq, "string"),
	CF("max_waiting", K_INT, max_waiting, "int"),
	CF("max_ack_pending", K_INT, max_ack_pending, "int"),
	CF("idle_heartbeat", K_INT, heartbeat, "time.Duration"),
	CF("flow_control", K_BOOL, flow_control, "bool"),
	CF("headers_only", K_BOOL, headers_only, "bool"),
	CF("max_batch", K_INT, max_batch, "int"),
	CF("max_expires", K_INT, max_expires, "time.Duration"),
	CF("max_bytes", K_INT, max_bytes, "int"),
	CF("deliver_subject", K_STR, deliver_subject, "string"),
	CF("deliver_group", K_STR, deliver_group, "string"),
	CF("inactive_threshold", K_INT, inactive_threshold, "time.Duration"),
	CF("num_replicas", K_INT, replicas, "int"),
	CF("mem_storage", K_BOOL, mem_storage, "bool"),
	CF("direct", K_BOOL, direct, "bool"),
	CF("metadata", K_STRMAP, metadata, "map[string]string"),
	{ NULL, 0, 0, 0, NULL },
};

static const char *
json_kind_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "object";
	case JSON_ARRAY: return "array";
	case JSON_STRING: return "string";
	case JSON_TRUE:
	case JSON_FALSE: return "bool";
	default: return "number";
	}
}

static void
type_error(GString *err, const json_t *v, const char *strct, const Field *f)
{
	if (err == NULL || err->len > 0)
		return;
	g_string_append(err, "json: cannot unmarshal ");
	if (json_is_real(v) || json_is_integer(v)) {
		char *lit = json_dumps(v, JSON_ENCODE_ANY);
		g_string_append_printf(err, "number %s", lit != NULL ? lit : "");
		free(lit);
	} else {
		g_string_append(err, json_kind_name(v));
	}
	g_string_append_printf(err, " into Go struct field %s.%s of type %s", strct, f->key, f->go_type);
}

static int
enum_index(const char *s, const char *const *names, int count)
{
	for (int k = 0; k < count; k++) {
		if (strcmp(s, names[k]) == 0)
			return k;
	}
	return -1;
}

static void
set_str(char **slot, const char *v)
{
	g_free(*slot);
	*slot = (v != NULL && v[0] != '\0') ? g_strdup(v) : NULL;
}

static bool
decode_value(void *base, const Field *f, const json_t *v, const char *strct, GString *err)
{
	char *p = (char *)base + f->off;
	bool *flag = f->set_off != NO_FLAG ? (bool *)((char *)base + f->set_off) : NULL;
	if (json_is_null(v)) {
		switch (f->kind) {
		case K_DELIVER:
		case K_ACK:
		case K_REPLAY:
		case K_ACTION:
			return false;
		case K_TIME:
			*flag = false;
			return true;
		case K_INTLIST:
			if (*(GArray **)p != NULL)
				g_array_unref(*(GArray **)p);
			*(GArray **)p = NULL;
			return true;
		case K_STRLIST:
			if (*(GPtrArray **)p != NULL)
				g_ptr_array_unref(*(GPtrArray **)p);
			*(GPtrArray **)p = NULL;
			return true;
		case K_STRMAP:
			json_decref(*(json_t **)p);
			*(json_t **)p = NULL;
			return true;
		default:
			return true;
		}
	}
	switch (f->kind) {
	case K_STR:
		if (!json_is_string(v))
			goto bad;
		set_str((char **)p, json_string_value(v));
		return true;
	case K_INT:
		if (!json_is_integer(v))
			goto bad;
		*(int64_t *)p = json_integer_value(v);
		return true;
	case K_UINT:
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			goto bad;
		*(uint64_t *)p = (uint64_t)json_integer_value(v);
		return true;
	case K_BOOL:
		if (!json_is_boolean(v))
			goto bad;
		*(bool *)p = json_is_true(v);
		return true;
	case K_DELIVER: {
		if (!json_is_string(v))
			goto bad;
		const char *s = json_string_value(v);
		int k = strcmp(s, "undefined") == 0 ? DELIVER_ALL : enum_index(s, deliver_names, 6);
		if (k < 0)
			return false;
		*(int *)p = k;
		return true;
	}
	case K_ACK:
	case K_REPLAY: {
		if (!json_is_string(v))
			goto bad;
		int k = f->kind == K_ACK ? enum_index(json_string_value(v), ack_names, 3)
					 : enum_index(json_string_value(v), replay_names, 2);
		if (k < 0)
			return false;
		*(int *)p = k;
		return true;
	}
	case K_ACTION: {
		if (!json_is_string(v))
			goto bad;
		const char *s = json_string_value(v);
		if (s[0] == '\0')
			*(int *)p = ACTION_CREATE_OR_UPDATE;
		else if (strcmp(s, "create") == 0)
			*(int *)p = ACTION_CREATE;
		else if (strcmp(s, "update") == 0)
			*(int *)p = ACTION_UPDATE;
		else
			return false;
		return true;
	}
	case K_TIME: {
		if (!json_is_string(v))
			goto bad;
		int64_t ns;
		int32_t off;
		if (!rfc3339_parse(json_string_value(v), &ns, &off))
			return false;
		*(int64_t *)p = ns;
		*(int32_t *)(p + sizeof(int64_t)) = off;
		*flag = true;
		return true;
	}
	case K_INTLIST: {
		if (!json_is_array(v))
			goto bad;
		GArray *a = g_array_new(FALSE, FALSE, sizeof(int64_t));
		size_t i;
		json_t *e;
		json_array_foreach(v, i, e) {
			if (!json_is_integer(e)) {
				g_array_unref(a);
				goto bad;
			}
			int64_t x = json_integer_value(e);
			g_array_append_val(a, x);
		}
		if (*(GArray **)p != NULL)
			g_array_unref(*(GArray **)p);
		*(GArray **)p = a;
		return true;
	}
	case K_STRLIST: {
		if (!json_is_array(v))
			goto bad;
		GPtrArray *a = g_ptr_array_new_with_free_func(g_free);
		size_t i;
		json_t *e;
		json_array_foreach(v, i, e) {
			if (json_is_null(e)) {
				g_ptr_array_add(a, g_strdup(""));
				continue;
			}
			if (!json_is_string(e)) {
				g_ptr_array_unref(a);
				goto bad;
			}
			g_ptr_array_add(a, g_strdup(json_string_value(e)));
		}
		if (*(GPtrArray **)p != NULL)
			g_ptr_array_unref(*(GPtrArray **)p);
		*(GPtrArray **)p = a;
		return true;
	}
	case K_STRMAP: {
		if (!json_is_object(v))
			goto bad;
		const char *k;
		json_t *e;
		json_object_foreach((json_t *)v, k, e) {
			if (!json_is_string(e) && !json_is_null(e))
				goto bad;
		}
		json_t *copy = json_object();
		json_object_foreach((json_t *)v, k, e) json_object_set_new(copy, k,
		    json_is_null(e) ? json_string("") : json_string(json_string_value(e)));
		json_decref(*(json_t **)p);
		*(json_t **)p = copy;
		return true;
	}
	}
	return false;
bad:
	type_error(err, v, strct, f);
	return false;
}

/* Decodes a JSON object into base through fields (encoding/json's key
 * matching). false on a type error (text in err when given). */
static bool
decode_object(void *base, const Field *fields, const json_t *obj, const char *strct, GString *err)
{
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)obj, key, v) {
		const Field *f = NULL;
		for (const Field *g = fields; g->key != NULL && f == NULL; g++) {
			if (strcmp(g->key, key) == 0)
				f = g;
		}
		for (const Field *g = fields; g->key != NULL && f == NULL; g++) {
			if (g_ascii_strcasecmp(g->key, key) == 0)
				f = g;
		}
		if (f != NULL && !decode_value(base, f, v, strct, err))
			return false;
	}
	return true;
}

static void
cfg_clear(ConsCfg *cfg)
{
	g_free(cfg->durable);
	g_free(cfg->name);
	g_free(cfg->description);
	g_free(cfg->filter_subject);
	g_free(cfg->sample_freq);
	g_free(cfg->deliver_subject);
	g_free(cfg->deliver_group);
	if (cfg->backoff != NULL)
		g_array_unref(cfg->backoff);
	if (cfg->filter_subjects != NULL)
		g_ptr_array_unref(cfg->filter_subjects);
	json_decref(cfg->metadata);
	memset(cfg, 0, sizeof(*cfg));
}

static guint
backoff_len(const ConsCfg *cfg)
{
	return cfg->backoff != NULL ? cfg->backoff->len : 0;
}

static int64_t
backoff_at(const ConsCfg *cfg, guint k)
{
	return g_array_index(cfg->backoff, int64_t, k);
}

static guint
filters_len(const ConsCfg *cfg)
{
	return cfg->filter_subjects != NULL ? cfg->filter_subjects->len : 0;
}

static bool
str_eq(const char *a, const char *b)
{
	return strcmp(a != NULL ? a : "", b != NULL ? b : "") == 0;
}

/* reflect.DeepEqual of two ConsumerConfigs: nil and empty slices/maps
 * differ, times compare with their zone. */
static bool
cfg_equal(const ConsCfg *a, const ConsCfg *b)
{
	if (!str_eq(a->durable, b->durable) || !str_eq(a->name, b->name) || !str_eq(a->description, b->description) ||
	    a->deliver != b->deliver || a->opt_start_seq != b->opt_start_seq || a->start_time_set != b->start_time_set ||
	    (a->start_time_set && (a->start_time_ns != b->start_time_ns || a->start_time_offset != b->start_time_offset)) ||
	    a->ack != b->ack || a->ack_wait != b->ack_wait || a->max_deliver != b->max_deliver ||
	    !str_eq(a->filter_subject, b->filter_subject) || a->replay != b->replay || a->rate_limit != b->rate_limit ||
	    !str_eq(a->sample_freq, b->sample_freq) || a->max_waiting != b->max_waiting ||
	    a->max_ack_pending != b->max_ack_pending || a->heartbeat != b->heartbeat ||
	    a->flow_control != b->flow_control || a->headers_only != b->headers_only || a->max_batch != b->max_batch ||
	    a->max_expires != b->max_expires || a->max_bytes != b->max_bytes ||
	    !str_eq(a->deliver_subject, b->deliver_subject) || !str_eq(a->deliver_group, b->deliver_group) ||
	    a->inactive_threshold != b->inactive_threshold || a->replicas != b->replicas ||
	    a->mem_storage != b->mem_storage || a->direct != b->direct)
		return false;
	if ((a->backoff == NULL) != (b->backoff == NULL) || backoff_len(a) != backoff_len(b))
		return false;
	for (guint k = 0; k < backoff_len(a); k++) {
		if (backoff_at(a, k) != backoff_at(b, k))
			return false;
	}
	if ((a->filter_subjects == NULL) != (b->filter_subjects == NULL) || filters_len(a) != filters_len(b))
		return false;
	for (guint k = 0; k < filters_len(a); k++) {
		if (strcmp(a->filter_subjects->pdata[k], b->filter_subjects->pdata[k]) != 0)
			return false;
	}
	if ((a->metadata == NULL) != (b->metadata == NULL))
		return false;
	return a->metadata == NULL || json_equal(a->metadata, b->metadata);
}

/* The ConsumerConfig JSON, in Go's field order with its omitempty
 * rules (consumer.go ConsumerConfig). */
static json_t *
cfg_to_json(const ConsCfg *cfg)
{
	json_t *j = json_object();
#define PUT(k, v) json_object_set_new(j, k, v)
	if (cfg->durable != NULL)
		PUT("durable_name", json_string(cfg->durable));
	if (cfg->name != NULL)
		PUT("name", json_string(cfg->name));
	if (cfg->description != NULL)
		PUT("description", json_string(cfg->description));
	PUT("deliver_policy", json_string(deliver_names[cfg->deliver]));
	if (cfg->opt_start_seq != 0)
		PUT("opt_start_seq", json_integer((json_int_t)cfg->opt_start_seq));
	if (cfg->start_time_set)
		PUT("opt_start_time", rfc3339_json(cfg->start_time_ns, cfg->start_time_offset));
	PUT("ack_policy", json_string(ack_names[cfg->ack]));
	if (cfg->ack_wait != 0)
		PUT("ack_wait", json_integer(cfg->ack_wait));
	if (cfg->max_deliver != 0)
		PUT("max_deliver", json_integer(cfg->max_deliver));
	if (backoff_len(cfg) > 0) {
		json_t *a = json_array();
		for (guint k = 0; k < backoff_len(cfg); k++)
			json_array_append_new(a, json_integer(backoff_at(cfg, k)));
		PUT("backoff", a);
	}
	if (cfg->filter_subject != NULL)
		PUT("filter_subject", json_string(cfg->filter_subject));
	if (filters_len(cfg) > 0) {
		json_t *a = json_array();
		for (guint k = 0; k < filters_len(cfg); k++)
			json_array_append_new(a, json_string(cfg->filter_subjects->pdata[k]));
		PUT("filter_subjects", a);
	}
	PUT("replay_policy", json_string(replay_names[cfg->replay]));
	if (cfg->rate_limit != 0)
		PUT("rate_limit_bps", json_integer((json_int_t)cfg->rate_limit));
	if (cfg->sample_freq != NULL)
		PUT("sample_freq", json_string(cfg->sample_freq));
	if (cfg->max_waiting != 0)
		PUT("max_waiting", json_integer(cfg->max_waiting));
	if (cfg->max_ack_pending != 0)
		PUT("max_ack_pending", json_integer(cfg->max_ack_pending));
	if (cfg->heartbeat != 0)
		PUT("idle_heartbeat", json_integer(cfg->heartbeat));
	if (cfg->flow_control)
		PUT("flow_control", json_true());
	if (cfg->headers_only)
		PUT("headers_only", json_true());
	if (cfg->max_batch != 0)
		PUT("max_batch", json_integer(cfg->max_batch));
	if (cfg->max_expires != 0)
		PUT("max_expires", json_integer(cfg->max_expires));
	if (cfg->max_bytes != 0)
		PUT("max_bytes", json_integer(cfg->max_bytes));
	if (cfg->deliver_subject != NULL)
		PUT("deliver_subject", json_string(cfg->deliver_subject));
	if (cfg->deliver_group != NULL)
		PUT("deliver_group", json_string(cfg->deliver_group));
	if (cfg->inactive_threshold != 0)
		PUT("inactive_threshold", json_integer(cfg->inactive_threshold));
	PUT("num_replicas", json_integer(cfg->replicas));
	if (cfg->mem_storage)
		PUT("mem_storage", json_true());
	if (cfg->direct)
		PUT("direct", json_true());
	if (cfg->metadata != NULL && json_object_size(cfg->metadata) > 0)
		PUT("metadata", json_deep_copy(cfg->metadata));
#undef PUT
	return j;
}

/* The consumer's filters: filter_subject or filter_subjects
 * (gatherSubjectFilters). Appends borrowed strings to out. */
static void
cfg_gather_filters(const ConsCfg *cfg, GPtrArray *out)
{
	if (cfg->filter_subject != NULL)
		g_ptr_array_add(out, cfg->filter_subject);
	for (guint k = 0; k < filters_len(cfg); k++)
		g_ptr_array_add(out, cfg->filter_subjects->pdata[k]);
}

/* A failed check: err_code with an optional detail for its placeholder. */
typedef struct ApiErr {
	uint32_t code;
	char *detail; /* g_free */
} ApiErr;

static bool
api_err_set(ApiErr *e, uint32_t code, const char *detail)
{
	e->code = code;
	g_free(e->detail);
	e->detail = g_strdup(detail);
	return false;
}

/* What the checks need to know about the stream. */
typedef struct StreamFacts {
	JsRetention retention;
	int64_t replicas;
	int64_t max_msg_size;
	int64_t max_msgs_per_subject;
	int64_t limit_max_ack_pending;
	int64_t limit_inactive_threshold;
	GPtrArray *subjects; /* char * (g_free) */
} StreamFacts;

static void
stream_facts(JsStream *s, StreamFacts *f)
{
	memset(f, 0, sizeof(*f));
	f->retention = js_stream_retention(s);
	f->subjects = g_ptr_array_new_with_free_func(g_free);
	json_t *cfg = js_stream_config_json(s);
	json_t *r = json_object_get(cfg, "num_replicas");
	f->replicas = json_is_integer(r) && json_integer_value(r) > 0 ? json_integer_value(r) : 1;
	json_t *m = json_object_get(cfg, "max_msg_size");
	f->max_msg_size = json_is_integer(m) ? json_integer_value(m) : -1;
	json_t *mp = json_object_get(cfg, "max_msgs_per_subject");
	f->max_msgs_per_subject = json_is_integer(mp) ? json_integer_value(mp) : -1;
	size_t k;
	json_t *v;
	json_array_foreach(json_object_get(cfg, "subjects"), k, v) {
		if (json_is_string(v))
			g_ptr_array_add(f->subjects, g_strdup(json_string_value(v)));
	}
	json_decref(cfg);
	f->limit_max_ack_pending = js_stream_consumer_limit_max_ack_pending(s);
	f->limit_inactive_threshold = js_stream_consumer_limit_inactive_threshold(s);
}

static void
stream_facts_clear(StreamFacts *f)
{
	g_ptr_array_unref(f->subjects);
}

/* setConsumerConfigDefaults (v2.14.5: out-of-range negatives become the
 * "unset" value instead of failing later checks). */
static void
cfg_set_defaults(ConsCfg *cfg, const StreamFacts *sf, JsServer *js)
{
	if (cfg->max_deliver == 0 || cfg->max_deliver < -1)
		cfg->max_deliver = -1;
	if (cfg->max_waiting < 0)
		cfg->max_waiting = 0;
	if (cfg->max_ack_pending < -1)
		cfg->max_ack_pending = -1;
	if (cfg->max_batch < 0)
		cfg->max_batch = 0;
	if (cfg->max_expires < 0)
		cfg->max_expires = 0;
	if (cfg->max_bytes < 0)
		cfg->max_bytes = 0;
	if (cfg->heartbeat < 0)
		cfg->heartbeat = 0;
	if (cfg->inactive_threshold < 0)
		cfg->inactive_threshold = 0;
	if (cfg->deliver_subject == NULL && cfg->max_waiting == 0)
		cfg->max_waiting = WAIT_QUEUE_DEFAULT_MAX;
	if (cfg->ack_wait == 0 && (cfg->ack == ACK_EXPLICIT || cfg->ack == ACK_ALL))
		cfg->ack_wait = ACK_WAIT_DEFAULT_NS;
	if (backoff_len(cfg) > 0)
		cfg->ack_wait = backoff_at(cfg, 0);
	if (cfg->max_ack_pending == 0)
		cfg->max_ack_pending = sf->limit_max_ack_pending;
	if (cfg->inactive_threshold == 0)
		cfg->inactive_threshold = sf->limit_inactive_threshold;
	if (cfg->max_ack_pending == 0 && cfg->ack != ACK_NONE) {
		int64_t acc = MAX_ACK_PENDING_DEFAULT;
		int64_t lim = js_max_ack_pending_limit(js);
		if (lim > 0 && lim < acc)
			acc = lim;
		cfg->max_ack_pending = acc;
	}
}

static bool
subject_literal(const char *s)
{
	return !proto_subject_has_wildcard(s, strlen(s));
}

static bool
subject_valid(const char *s)
{
	return proto_subject_valid(s, strlen(s));
}

static bool
subjects_collide(const char *a, const char *b)
{
	return proto_subject_overlaps(a, strlen(a), b, strlen(b));
}

/* isValidAssetName */
static bool
asset_name_valid(const char *name)
{
	return name_valid(name) && strchr(name, '/') == NULL && strchr(name, '\\') == NULL;
}

/* True when every subject matching a also matches b (subjectIsSubsetMatch). */
static bool
subject_subset(const char *a, const char *b)
{
	gchar **x = g_strsplit(a, ".", -1), **y = g_strsplit(b, ".", -1);
	bool ok = true;
	guint i = 0;
	for (; x[i] != NULL; i++) {
		if (y[i] == NULL) {
			ok = false;
			break;
		}
		if (strcmp(y[i], ">") == 0)
			break;
		if (strcmp(x[i], ">") == 0 || (strcmp(x[i], "*") == 0 && strcmp(y[i], "*") != 0) ||
		    (strcmp(y[i], "*") != 0 && strcmp(x[i], y[i]) != 0)) {
			ok = false;
			break;
		}
	}
	if (ok && x[i] == NULL && y[i] != NULL)
		ok = false;
	g_strfreev(x);
	g_strfreev(y);
	return ok;
}

/* checkConsumerCfg (v2.14.5 for the v2.10 fields), in its order. */
static bool
cfg_check(const ConsCfg *cfg, const StreamFacts *sf, JsServer *js, ApiErr *e)
{
	if (cfg->name != NULL && !asset_name_valid(cfg->name))
		return api_err_set(e, 10052, "consumer name can not contain '.', '*', '>', '\\', '/'");
	if (cfg->durable != NULL && !asset_name_valid(cfg->durable))
		return api_err_set(e, 10052, "consumer durable name can not contain '.', '*', '>', '\\', '/'");
	if (cfg->replicas > 0 && cfg->replicas > sf->replicas)
		return api_err_set(e, 10126, NULL);
	if (cfg->replicas < 0)
		return api_err_set(e, 10133, NULL);
	if ((sf->retention == JS_RETENTION_INTEREST || sf->retention == JS_RETENTION_WORKQUEUE) &&
	    cfg->replicas != 0 && cfg->replicas != sf->replicas)
		return api_err_set(e, 10134, NULL);
	guint lbo = backoff_len(cfg);
	if (lbo > 0 && cfg->max_deliver != -1 && (int64_t)lbo > cfg->max_deliver)
		return api_err_set(e, 10116, NULL);
	if (cfg->description != NULL && strlen(cfg->description) > DESCRIPTION_LEN_MAX)
		return api_err_set(e, 10107, "4096");
	if (cfg->deliver_subject != NULL) {
		const char *ds = cfg->deliver_subject;
		if (!subject_literal(ds))
			return api_err_set(e, 10079, NULL);
		if (!subject_valid(ds))
			return api_err_set(e, 10112, NULL);
		for (guint k = 0; k < sf->subjects->len; k++) {
			if (subjects_collide(ds, sf->subjects->pdata[k]))
				return api_err_set(e, 10081, NULL);
		}
		if (cfg->max_waiting != 0)
			return api_err_set(e, 10080, NULL);
		if (cfg->max_ack_pending > 0 && cfg->ack == ACK_NONE)
			return api_err_set(e, 10082, NULL);
		if (cfg->heartbeat > 0 && cfg->heartbeat < HEARTBEAT_MIN_NS)
			return api_err_set(e, 10083, NULL);
	} else {
		if (cfg->ack == ACK_NONE && sf->retention == JS_RETENTION_WORKQUEUE)
			return api_err_set(e, 10084, NULL);
		if (cfg->rate_limit > 0)
			return api_err_set(e, 10086, NULL);
		if (cfg->max_waiting < 0)
			return api_err_set(e, 10087, NULL);
		if (cfg->heartbeat > 0)
			return api_err_set(e, 10088, NULL);
		if (cfg->flow_control)
			return api_err_set(e, 10089, NULL);
		if (cfg->max_batch < 0)
			return api_err_set(e, 10114, NULL);
		if (cfg->max_expires != 0 && cfg->max_expires < MAX_EXPIRES_MIN_NS)
			return api_err_set(e, 10115, NULL);
	}
	int64_t acc_lim = js_max_ack_pending_limit(js);
	if (acc_lim > 0 && cfg->max_ack_pending > acc_lim) {
		char buf[32];
		snprintf(buf, sizeof(buf), "%" G_GINT64_FORMAT, acc_lim);
		return api_err_set(e, 10121, buf);
	}
	if (sf->limit_max_ack_pending > 0 && cfg->max_ack_pending > sf->limit_max_ack_pending) {
		char buf[32];
		snprintf(buf, sizeof(buf), "%" G_GINT64_FORMAT, sf->limit_max_ack_pending);
		return api_err_set(e, 10121, buf);
	}
	if (sf->limit_inactive_threshold > 0 && cfg->inactive_threshold > sf->limit_inactive_threshold) {
		char buf[40];
		broker_go_duration(sf->limit_inactive_threshold, buf);
		return api_err_set(e, 10153, buf);
	}
	if (cfg->direct) {
		if (cfg->deliver_subject == NULL)
			return api_err_set(e, 10090, NULL);
		if (cfg->durable != NULL)
			return api_err_set(e, 10091, NULL);
	}
	if (cfg->filter_subject != NULL && filters_len(cfg) > 0)
		return api_err_set(e, 10136, NULL);
	if (cfg->filter_subject != NULL && !subject_valid(cfg->filter_subject))
		return api_err_set(e, 10052, "invalid subject");
	for (guint k = 0; k < filters_len(cfg); k++) {
		if (((const char *)cfg->filter_subjects->pdata[k])[0] == '\0')
			return api_err_set(e, 10139, NULL);
	}
	GPtrArray *filters = g_ptr_array_new();
	cfg_gather_filters(cfg, filters);
	for (guint o = 0; o < filters->len; o++) {
		if (!subject_valid(filters->pdata[o])) {
			g_ptr_array_unref(filters);
			return api_err_set(e, 10052, "invalid subject");
		}
		for (guint i = 0; i < filters->len; i++) {
			if (i != o && subject_subset(filters->pdata[o], filters->pdata[i])) {
				g_ptr_array_unref(filters);
				return api_err_set(e, 10138, NULL);
			}
		}
	}
	g_ptr_array_unref(filters);

	const char *dp = NULL;
	bool seq = cfg->opt_start_seq > 0, tm = cfg->start_time_set;
	char msg[160];
	msg[0] = '\0';
	switch (cfg->deliver) {
	case DELIVER_ALL: dp = "all"; break;
	case DELIVER_LAST: dp = "last"; break;
	case DELIVER_NEW: dp = "new"; break;
	case DELIVER_LAST_PER_SUBJECT: dp = "last per subject"; break;
	default: break;
	}
	if (dp != NULL) {
		if (seq)
			snprintf(msg, sizeof(msg), "consumer delivery policy is deliver %s, but optional start sequence is also set", dp);
		else if (tm)
			snprintf(msg, sizeof(msg), "consumer delivery policy is deliver %s, but optional start time is also set", dp);
		else if (cfg->deliver == DELIVER_LAST_PER_SUBJECT && cfg->filter_subject == NULL && filters_len(cfg) == 0)
			snprintf(msg, sizeof(msg), "consumer delivery policy is deliver last per subject, but optional filter subject is not set");
	} else if (cfg->deliver == DELIVER_BY_START_SEQ) {
		if (!seq)
			snprintf(msg, sizeof(msg), "consumer delivery policy is deliver by start sequence, but optional start sequence is not set");
		else if (tm)
			snprintf(msg, sizeof(msg), "consumer delivery policy is deliver by start sequence, but optional start time is also set");
	} else if (cfg->deliver == DELIVER_BY_START_TIME) {
		if (!tm)
			snprintf(msg, sizeof(msg), "consumer delivery policy is deliver by start time, but optional start time is not set");
		else if (seq)
			snprintf(msg, sizeof(msg), "consumer delivery policy is deliver by start time, but optional start sequence is also set");
	}
	if (msg[0] != '\0')
		return api_err_set(e, 10094, msg);

	if (cfg->sample_freq != NULL) {
		char *s = g_strdup(cfg->sample_freq);
		size_t n = strlen(s);
		if (n > 0 && s[n - 1] == '%')
			s[n - 1] = '\0';
		GString *err = g_string_new(NULL);
		int64_t v = 0;
		bool ok = go_atoi(s, &v, err);
		g_free(s);
		if (!ok || v < 0) {
			/* A negative value has no error to show: Go prints the
			 * nil error as "<nil>". */
			bool r = api_err_set(e, 10095, ok ? "<nil>" : err->str);
			g_string_free(err, TRUE);
			return r;
		}
		g_string_free(err, TRUE);
	}
	if (cfg->flow_control && cfg->heartbeat == 0)
		return api_err_set(e, 10108, NULL);
	if (cfg->durable != NULL && cfg->name != NULL && strcmp(cfg->name, cfg->durable) != 0)
		return api_err_set(e, 10132, NULL);
	if (cfg->metadata != NULL) {
		size_t total = 0;
		const char *k;
		json_t *v;
		json_object_foreach(cfg->metadata, k, v) total += strlen(k) + strlen(json_string_value(v));
		if (total > METADATA_LEN_MAX)
			return api_err_set(e, 10135, "128KB");
	}
	return true;
}

static int64_t
sample_freq_value(const ConsCfg *cfg)
{
	if (cfg->sample_freq == NULL)
		return 0;
	char *s = g_strdup(cfg->sample_freq);
	size_t n = strlen(s);
	if (n > 0 && s[n - 1] == '%')
		s[n - 1] = '\0';
	int64_t v = 0;
	GString *err = g_string_new(NULL);
	if (!go_atoi(s, &v, err))
		v = 0;
	g_string_free(err, TRUE);
	g_free(s);
	return v;
}

G_STATIC_ASSERT(offsetof(ConsCfg, start_time_offset) == offsetof(ConsCfg, start_time_ns) + sizeof(int64_t));

/* ------------------------------------------------------------------ */
/* pending, redelivery counts, redelivery queue                         */
/* ------------------------------------------------------------------ */

/*
 * Pending (nats-server o.pending): an array sorted by stream seq. New
 * deliveries come in seq order, so an insert is almost always an append;
 * an ack marks its entry dead (dseq 0) and the live range shrinks from
 * the front as the oldest entries go, so the common in-order ack is O(1)
 * and a lookup is a bisection. Dead entries are squeezed out when they
 * outnumber the live ones. No allocation per message.
 */
typedef struct PendEntry {
	uint64_t sseq;
	uint64_t dseq; /* the original consumer seq; 0 = dead */
	int64_t ts_ns; /* when delivered (or the WPI/NAK-adjusted time) */
	bool on_rdq;
} PendEntry;

typedef struct PendTable {
	PendEntry *v;
	size_t head, tail, cap;
	size_t live;
} PendTable;

static size_t
pend_lower_bound(const PendTable *t, uint64_t sseq)
{
	size_t lo = t->head, hi = t->tail;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->v[mid].sseq < sseq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static PendEntry *
pend_find(PendTable *t, uint64_t sseq)
{
	if (t->live == 0)
		return NULL;
	size_t k = pend_lower_bound(t, sseq);
	if (k < t->tail && t->v[k].sseq == sseq && t->v[k].dseq != 0)
		return &t->v[k];
	return NULL;
}

static void
pend_compact(PendTable *t)
{
	size_t w = 0;
	for (size_t r = t->head; r < t->tail; r++) {
		if (t->v[r].dseq != 0)
			t->v[w++] = t->v[r];
	}
	t->head = 0;
	t->tail = w;
	ASSERT(w == t->live);
}

static PendEntry *
pend_insert(PendTable *t, uint64_t sseq, uint64_t dseq, int64_t ts_ns)
{
	ASSERT(dseq != 0);
	size_t k = pend_lower_bound(t, sseq);
	if (k < t->tail && t->v[k].sseq == sseq) {
		PendEntry *e = &t->v[k];
		if (e->dseq == 0)
			t->live++;
		*e = (PendEntry){ sseq, dseq, ts_ns, false };
		return e;
	}
	if (t->tail == t->cap) {
		if (t->head > 0 || t->tail - t->head > t->live) {
			pend_compact(t);
			k = pend_lower_bound(t, sseq);
		}
		if (t->tail == t->cap) {
			t->cap = t->cap < 64 ? 64 : t->cap * 2;
			t->v = g_renew(PendEntry, t->v, t->cap);
		}
	}
	if (k < t->tail)
		memmove(&t->v[k + 1], &t->v[k], (t->tail - k) * sizeof(PendEntry));
	t->v[k] = (PendEntry){ sseq, dseq, ts_ns, false };
	t->tail++;
	t->live++;
	return &t->v[k];
}

static void
pend_kill(PendTable *t, PendEntry *e)
{
	ASSERT(e->dseq != 0 && t->live > 0);
	e->dseq = 0;
	e->on_rdq = false;
	t->live--;
	if (t->live == 0) {
		t->head = t->tail = 0;
		return;
	}
	while (t->head < t->tail && t->v[t->head].dseq == 0)
		t->head++;
	while (t->tail > t->head && t->v[t->tail - 1].dseq == 0)
		t->tail--;
	if (t->tail - t->head > 2 * t->live + 64)
		pend_compact(t);
}

/* The first live entry with sseq > after, or NULL. */
static PendEntry *
pend_next_after(PendTable *t, uint64_t after)
{
	if (t->live == 0 || after == UINT64_MAX)
		return NULL;
	for (size_t k = pend_lower_bound(t, after + 1); k < t->tail; k++) {
		if (t->v[k].dseq != 0)
			return &t->v[k];
	}
	return NULL;
}

static void
pend_clear(PendTable *t)
{
	t->head = t->tail = 0;
	t->live = 0;
}

/* Live seqs of pending, in order (for scans that publish in between). */
static GArray *
pend_seqs(const PendTable *t)
{
	GArray *a = g_array_sized_new(FALSE, FALSE, sizeof(uint64_t), (guint)t->live);
	for (size_t k = t->head; k < t->tail; k++) {
		if (t->v[k].dseq != 0)
			g_array_append_val(a, t->v[k].sseq);
	}
	return a;
}

/*
 * Redelivery counts (o.rdc): stream seq -> count of redeliveries, a
 * sorted array. An entry can exist with count 0 or even the wrapped-
 * around value nats-server's uint64 arithmetic gives (decDeliveryCount on
 * a first delivery that found no interest); num_redelivered is the number
 * of entries, as len(o.rdc).
 */
typedef struct RdcEntry {
	uint64_t sseq;
	uint64_t count;
} RdcEntry;

typedef struct RdcTable {
	GArray *v; /* RdcEntry */
} RdcTable;

static guint
rdc_lower_bound(const RdcTable *t, uint64_t sseq)
{
	guint lo = 0, hi = t->v->len;
	while (lo < hi) {
		guint mid = lo + (hi - lo) / 2;
		if (g_array_index(t->v, RdcEntry, mid).sseq < sseq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static RdcEntry *
rdc_find(const RdcTable *t, uint64_t sseq)
{
	if (t->v->len == 0)
		return NULL;
	guint k = rdc_lower_bound(t, sseq);
	if (k < t->v->len && g_array_index(t->v, RdcEntry, k).sseq == sseq)
		return &g_array_index(t->v, RdcEntry, k);
	return NULL;
}

/* The entry for sseq, created with count 0 when missing. */
static RdcEntry *
rdc_get(RdcTable *t, uint64_t sseq)
{
	guint k = rdc_lower_bound(t, sseq);
	if (k < t->v->len && g_array_index(t->v, RdcEntry, k).sseq == sseq)
		return &g_array_index(t->v, RdcEntry, k);
	RdcEntry e = { sseq, 0 };
	g_array_insert_val(t->v, k, e);
	return &g_array_index(t->v, RdcEntry, k);
}

static void
rdc_delete(RdcTable *t, uint64_t sseq)
{
	if (t->v->len == 0)
		return;
	guint k = rdc_lower_bound(t, sseq);
	if (k < t->v->len && g_array_index(t->v, RdcEntry, k).sseq == sseq)
		g_array_remove_index(t->v, k);
}

/* Removes every entry with sseq <= upto. */
static void
rdc_delete_upto(RdcTable *t, uint64_t upto)
{
	guint k = upto == UINT64_MAX ? t->v->len : rdc_lower_bound(t, upto + 1);
	if (k > 0)
		g_array_remove_range(t->v, 0, k);
}

/* The redelivery queue (o.rdq): FIFO of stream seqs, a ring. Membership
 * is the on_rdq flag of the pending entry (every queued seq is pending). */
typedef struct Rdq {
	uint64_t *v;
	size_t head, len, cap;
} Rdq;

static void
rdq_push(Rdq *q, uint64_t sseq)
{
	if (q->len == q->cap) {
		size_t ncap = q->cap < 16 ? 16 : q->cap * 2;
		uint64_t *nv = g_new(uint64_t, ncap);
		for (size_t k = 0; k < q->len; k++)
			nv[k] = q->v[(q->head + k) % q->cap];
		g_free(q->v);
		q->v = nv;
		q->head = 0;
		q->cap = ncap;
	}
	q->v[(q->head + q->len) % q->cap] = sseq;
	q->len++;
}

static uint64_t
rdq_pop(Rdq *q)
{
	ASSERT(q->len > 0);
	uint64_t s = q->v[q->head];
	q->head = (q->head + 1) % q->cap;
	q->len--;
	return s;
}

static void
rdq_remove(Rdq *q, uint64_t sseq)
{
	for (size_t k = 0; k < q->len; k++) {
		if (q->v[(q->head + k) % q->cap] == sseq) {
			for (size_t j = k; j + 1 < q->len; j++)
				q->v[(q->head + j) % q->cap] = q->v[(q->head + j + 1) % q->cap];
			q->len--;
			return;
		}
	}
	UNREACHABLE();
}

/* ------------------------------------------------------------------ */
/* pull requests waiting (o.waiting)                                    */
/* ------------------------------------------------------------------ */

typedef struct WaitReq {
	struct WaitReq *next;
	char *reply;
	int64_t n;          /* batch left (may go to 0 or below) */
	int64_t d;          /* delivered */
	int64_t b;          /* max_bytes left; 0 = none */
	int64_t expires_ns; /* 0 = none */
	int64_t received_ns;
	int64_t hb_ns;
	int64_t hbt_ns;     /* next heartbeat; 0 = none */
	bool no_wait;
} WaitReq;

typedef struct WaitQueue {
	WaitReq *head, *tail;
	int64_t n, max;
	int64_t last_ns; /* last activity (wq.last); 0 = never */
} WaitQueue;

static void
wr_free(WaitReq *wr)
{
	if (wr != NULL) {
		g_free(wr->reply);
		g_free(wr);
	}
}

static bool
wq_add(WaitQueue *wq, WaitReq *wr)
{
	if (wq->n == wq->max)
		return false;
	wr->next = NULL;
	if (wq->head == NULL)
		wq->head = wr;
	else
		wq->tail->next = wr;
	wq->tail = wr;
	wq->last_ns = wr->received_ns;
	wq->n++;
	return true;
}

/* waitQueue.remove: unlinks wr (pre is its predecessor or NULL). */
static void
wq_unlink(WaitQueue *wq, WaitReq *pre, WaitReq *wr)
{
	if (pre != NULL)
		pre->next = wr->next;
	else if (wr == wq->head)
		wq->head = wr->next;
	if (wr == wq->tail)
		wq->tail = wr->next == NULL ? pre : wr->next;
	wq->n--;
	wr->next = NULL;
}

/* waitQueue.pop: one message for the head request; a request with batch
 * left goes to the back (round robin per message). Returns the request;
 * *done when it was taken out (the caller frees it). */
static WaitReq *
wq_pop(WaitQueue *wq, bool *done)
{
	WaitReq *wr = wq->head;
	ASSERT(wr != NULL);
	wr->d++;
	wr->n--;
	*done = false;
	if (wr->n > 0 && wq->n > 1) {
		/* Re-adding stamps wq.last with the request's received time,
		 * as nats-server's pop does (through add). */
		wq_unlink(wq, NULL, wr);
		wq_add(wq, wr);
	} else if (wr->n <= 0) {
		wq_unlink(wq, NULL, wr);
		*done = true;
	}
	return wr;
}

/* ------------------------------------------------------------------ */
/* the consumer                                                         */
/* ------------------------------------------------------------------ */

/* A delivery waiting for replay_policy "original" timing or the rate
 * limit: the message is chosen (and, for pull, its request popped); it
 * goes out when stash_at comes. */
typedef struct Stash {
	bool active;
	uint64_t seq;
	uint64_t dc;
	char *dsubj; /* g_free */
	char *ack;   /* g_free */
	int64_t wrn, wrb;
	int64_t at_ns;
} Stash;

/* An ack or pull request that reached the consumer while it was busy. */
typedef struct Deferred {
	bool is_ack;
	char *subject;
	char *reply;
	GBytes *payload;
} Deferred;

struct JsConsumer {
	JsServer *js;
	Broker *broker;
	JsStream *stream;
	char *name;
	char *stream_name;
	ConsCfg cfg;
	char *cfg_text; /* compact config JSON cached for saves */
	int64_t created_ns;
	JsRetention retention;

	/* delivery state */
	uint64_t sseq;  /* next stream seq */
	uint64_t dseq;  /* next consumer seq */
	uint64_t adflr; /* ack floor, consumer seq */
	uint64_t asflr; /* ack floor, stream seq */
	int64_t npc;    /* num pending (cached) */
	uint64_t npf;   /* the last stream seq npc counted */
	uint64_t maxdc; /* uint64(max_deliver); 0 = none */
	int64_t maxp;   /* max_ack_pending */
	int64_t sfreq;
	GPtrArray *filters; /* char * (g_free); empty = no filter */
	char **filters_nt;  /* NULL-terminated view for js_consumer_filters */
	PendTable pend;
	RdcTable rdc;
	Rdq rdq;
	GArray *lss;          /* last_per_subject skip list (uint64_t), or NULL */
	guint lss_pos;
	uint64_t lss_resume;
	bool replay;          /* replay_policy original, not caught up */
	uint64_t replay_lseq;
	int64_t replay_lts;   /* last timestamp delivered */

	/* pull */
	WaitQueue wq;
	int64_t lwqic_ns;

	/* push */
	char *dsubj;
	bool active;
	bool exact_interest; /* last notified exact interest (registerNotification) */
	bool interest_check; /* an interest change to look at */
	int64_t pblimit, maxpb, pbytes, fcsz;
	char *fcid; /* outstanding flow control reply, or NULL */

	/* rate limit (token bucket, golang.org/x/time/rate) */
	double rl_tokens;
	double rl_rate; /* bytes per second; 0 = none */
	double rl_burst;
	int64_t rl_last_ns;

	/* timers: absolute deadlines, INT64_MAX = off */
	int64_t ptmr_at;  /* the ack-wait scan (ptmr) */
	int64_t dtmr_at;  /* inactivity deletion (dtmr) */
	bool dtmr_set;    /* dtmr != nil (a fired Go timer stays set) */
	int64_t dthresh;
	int64_t hb_at;    /* push idle heartbeat */
	int64_t wexp_at;  /* pull request expiry / heartbeat (wrExp) */
	int64_t kick_at;  /* deferred work */
	int64_t save_at;  /* state save */
	int64_t last_save_ns;
	bool dirty;

	/* activity */
	int64_t ldt_ns; /* last delivery (delivered.last_active) */
	int64_t lat_ns; /* last ack (ack_floor.last_active) */

	/* re-entrancy */
	int busy;
	bool wake;            /* signalNewMessages */
	bool purge_noted;
	uint64_t purge_first_seq;
	GArray *removed_noted; /* uint64_t seqs removed by the stream while busy */
	GQueue deferred;      /* Deferred * */
	bool stopped;         /* advisories and 409s for a deletion sent */
	bool closed;          /* freed while busy: free at the end */
	bool closed_delete_state;

	Stash stash;
	GByteArray *scratch;  /* headers/payload of the message in delivery */
	BrokerInternalSub *ack_sub;
	BrokerInternalSub *fc_sub;
	char *ack_prefix;     /* "$JS.ACK.<stream>.<consumer>." */
	size_t ack_prefix_len;
};

static int64_t
now_ns(const JsConsumer *c)
{
	return broker_now_ns(c->broker);
}

static bool
is_push(const JsConsumer *c)
{
	return c->cfg.deliver_subject != NULL;
}

static bool
is_pull(const JsConsumer *c)
{
	return c->cfg.deliver_subject == NULL;
}

static bool
is_durable(const JsConsumer *c)
{
	return c->cfg.durable != NULL;
}

static JsStore *
store_of(JsConsumer *c)
{
	return js_stream_store(c->stream);
}

static uint64_t
num_pending(const JsConsumer *c)
{
	return c->npc < 0 ? 0 : (uint64_t)c->npc;
}

static void
signal_new(JsConsumer *c)
{
	c->wake = true;
}

/* State changed: save it at most every STATE_SAVE_INTERVAL_NS
 * (nats-server's consumer file store writes about 10 times a second). */
static void
mark_dirty(JsConsumer *c)
{
	if (c->dirty)
		return;
	c->dirty = true;
	int64_t now = now_ns(c);
	int64_t at = c->last_save_ns != 0 ? c->last_save_ns + STATE_SAVE_INTERVAL_NS : now;
	c->save_at = at > now ? at : now;
}

static bool
filter_matches(const JsConsumer *c, const char *subject, size_t len)
{
	if (c->filters->len == 0)
		return true;
	for (guint k = 0; k < c->filters->len; k++) {
		const char *f = c->filters->pdata[k];
		if (proto_subject_matches(f, strlen(f), subject, len))
			return true;
	}
	return false;
}

/* ------------------------------------------------------------------ */
/* status messages, heartbeats, advisories                              */
/* ------------------------------------------------------------------ */

static void process_ack_msg(JsConsumer *c, uint64_t sseq, uint64_t dseq, uint64_t dc, const char *reply, bool sample,
    bool *acked_in_place);
static void process_term(JsConsumer *c, uint64_t sseq, uint64_t dseq, uint64_t dc, const char *reason,
    const char *reply, bool *acked_in_place);

/* A status message: the header block is the whole message. */
static void
send_status_hdr(JsConsumer *c, const char *subject, const char *reply, const char *hdr, size_t len)
{
	broker_internal_publish(c->broker, subject, reply, hdr, len, NULL, 0);
}

static void
send_status(JsConsumer *c, const char *subject, int code, const char *text)
{
	char buf[320];
	int n = snprintf(buf, sizeof(buf), "NATS/1.0 %d %s\r\n\r\n", code, text);
	ASSERT(n > 0 && (size_t)n < sizeof(buf));
	send_status_hdr(c, subject, NULL, buf, (size_t)n);
}

/* "NATS/1.0 <status>" with Nats-Pending-Messages / Nats-Pending-Bytes. */
static void
send_status_pending(JsConsumer *c, const char *subject, const char *status, int64_t n, int64_t b)
{
	char buf[256];
	int len = snprintf(buf, sizeof(buf),
	    "NATS/1.0 %s\r\n" HDR_PENDING_MSGS ": %" G_GINT64_FORMAT "\r\n" HDR_PENDING_BYTES ": %" G_GINT64_FORMAT
	    "\r\n\r\n",
	    status, n, b);
	ASSERT(len > 0 && (size_t)len < sizeof(buf));
	send_status_hdr(c, subject, NULL, buf, (size_t)len);
}

/* sendIdleHeartbeat: the last consumer and stream seqs (next - 1), and
 * the outstanding flow control reply when stalled on it. */
static void
send_idle_heartbeat(JsConsumer *c, const char *subject)
{
	char buf[512];
	int n = snprintf(buf, sizeof(buf),
	    "NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: %" G_GUINT64_FORMAT "\r\nNats-Last-Stream: %" G_GUINT64_FORMAT
	    "\r\n",
	    c->dseq - 1, c->sseq - 1);
	if (c->fcid != NULL)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "Nats-Consumer-Stalled: %s\r\n", c->fcid);
	n += snprintf(buf + n, sizeof(buf) - (size_t)n, "\r\n");
	ASSERT(n > 0 && (size_t)n < sizeof(buf));
	send_status_hdr(c, subject, NULL, buf, (size_t)n);
	broker_probe_hit(c->broker, BROKER_PROBE_JS_HEARTBEAT);
}

static char *
event_subject(const JsConsumer *c, const char *prefix)
{
	return g_strdup_printf("%s.%s.%s", prefix, c->stream_name, c->name);
}

static json_t *
advisory_start(JsConsumer *c, const char *type)
{
	json_t *a = js_advisory_new(c->js, type);
	json_object_set_new(a, "stream", json_string(c->stream_name));
	json_object_set_new(a, "consumer", json_string(c->name));
	return a;
}

static void
advisory_send(JsConsumer *c, const char *prefix, json_t *a)
{
	char *subject = event_subject(c, prefix);
	js_advisory_publish(c->js, subject, a);
	g_free(subject);
}

/* Advisories with uint64 fields, which a json_t cannot hold beyond
 * INT64_MAX (nats-server's uint64 counts can wrap there): the common part
 * through jansson, the numbers appended as text. */
static GString *
advisory_text(JsConsumer *c, const char *type)
{
	json_t *a = advisory_start(c, type);
	char *text = json_dumps(a, JSON_COMPACT | JSON_PRESERVE_ORDER);
	ASSERT(text != NULL && text[strlen(text) - 1] == '}');
	GString *s = g_string_new(text);
	g_string_truncate(s, s->len - 1);
	free(text);
	json_decref(a);
	return s;
}

static void
advisory_text_u64(GString *s, const char *key, uint64_t v)
{
	g_string_append_printf(s, ",\"%s\":%" G_GUINT64_FORMAT, key, v);
}

static void
advisory_text_send(JsConsumer *c, const char *prefix, GString *s)
{
	g_string_append_c(s, '}');
	char *subject = event_subject(c, prefix);
	broker_internal_publish(c->broker, subject, NULL, NULL, 0, s->str, s->len);
	g_free(subject);
	g_string_free(s, TRUE);
}

static void
advisory_action(JsConsumer *c, bool created)
{
	json_t *a = advisory_start(c, "io.nats.jetstream.advisory.v1.consumer_action");
	json_object_set_new(a, "action", json_string(created ? "create" : "delete"));
	advisory_send(c, created ? "$JS.EVENT.ADVISORY.CONSUMER.CREATED" : "$JS.EVENT.ADVISORY.CONSUMER.DELETED", a);
}

/* MSG_NAKED / MSG_TERMINATED (reason only for TERM, omitempty). */
static void
advisory_delivery(JsConsumer *c, bool term, uint64_t dseq, uint64_t sseq, uint64_t dc, const char *reason)
{
	GString *s = advisory_text(c, term ? "io.nats.jetstream.advisory.v1.terminated" : "io.nats.jetstream.advisory.v1.nak");
	advisory_text_u64(s, "consumer_seq", dseq);
	advisory_text_u64(s, "stream_seq", sseq);
	advisory_text_u64(s, "deliveries", dc);
	if (term && reason != NULL && reason[0] != '\0') {
		json_t *r = json_string(reason);
		char *rt = json_dumps(r, JSON_ENCODE_ANY);
		g_string_append_printf(s, ",\"reason\":%s", rt);
		free(rt);
		json_decref(r);
	}
	advisory_text_send(c, term ? "$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED" : "$JS.EVENT.ADVISORY.CONSUMER.MSG_NAKED", s);
}

/* notifyDeliveryExceeded */
static void
advisory_max_deliveries(JsConsumer *c, uint64_t sseq, uint64_t dc)
{
	GString *s = advisory_text(c, "io.nats.jetstream.advisory.v1.max_deliver");
	advisory_text_u64(s, "stream_seq", sseq);
	advisory_text_u64(s, "deliveries", dc);
	advisory_text_send(c, "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES", s);
	broker_probe_hit(c->broker, BROKER_PROBE_JS_MAX_DELIVERIES);
}

/* ------------------------------------------------------------------ */
/* bookkeeping shared by delivery and acks                              */
/* ------------------------------------------------------------------ */

/* updateDelivered: the store learns it (here: a save) and the delivery
 * activity time moves. */
static void
update_delivered(JsConsumer *c)
{
	c->ldt_ns = now_ns(c);
	mark_dirty(c);
}

/* updateAcks: the ack activity time moves; reply (limits retention) is
 * answered here, as nats-server's single-server path does. */
static void
update_acks(JsConsumer *c, const char *reply)
{
	c->lat_ns = now_ns(c);
	mark_dirty(c);
	if (reply != NULL && reply[0] != '\0')
		broker_internal_publish(c->broker, reply, NULL, NULL, 0, NULL, 0);
}

/* resetPtmr */
static void
reset_ptmr(JsConsumer *c, int64_t delay_ns)
{
	c->ptmr_at = now_ns(c) + delay_ns;
}

static void
stop_ptmr(JsConsumer *c)
{
	c->ptmr_at = INT64_MAX;
}

static int64_t
ack_wait_delay(const JsConsumer *c, int64_t next)
{
	return (next > 0 ? next : c->cfg.ack_wait) + ACK_WAIT_DELAY_NS;
}

static void
rdq_add(JsConsumer *c, PendEntry *e)
{
	ASSERT(!e->on_rdq);
	e->on_rdq = true;
	rdq_push(&c->rdq, e->sseq);
}

static bool
rdq_contains(JsConsumer *c, uint64_t sseq)
{
	PendEntry *e = pend_find(&c->pend, sseq);
	return e != NULL && e->on_rdq;
}

static void
rdq_take_out(JsConsumer *c, uint64_t sseq)
{
	PendEntry *e = pend_find(&c->pend, sseq);
	if (e != NULL && e->on_rdq) {
		e->on_rdq = false;
		rdq_remove(&c->rdq, sseq);
	}
}

/* Removes a pending entry (and its place on the redelivery queue). */
static void
pend_drop(JsConsumer *c, PendEntry *e)
{
	if (e->on_rdq)
		rdq_remove(&c->rdq, e->sseq);
	pend_kill(&c->pend, e);
}

static void
rdq_clear(JsConsumer *c)
{
	while (c->rdq.len > 0) {
		uint64_t s = rdq_pop(&c->rdq);
		PendEntry *e = pend_find(&c->pend, s);
		if (e != NULL)
			e->on_rdq = false;
	}
}

/* deliveryCount */
static uint64_t
delivery_count(const JsConsumer *c, uint64_t sseq)
{
	RdcEntry *r = rdc_find(&c->rdc, sseq);
	return r != NULL && r->count >= 1 ? r->count : 1;
}

/* incDeliveryCount: uint64 arithmetic, wrap included. */
static uint64_t
inc_delivery_count(JsConsumer *c, uint64_t sseq)
{
	RdcEntry *r = rdc_get(&c->rdc, sseq);
	r->count += 1;
	return r->count + 1;
}

/* decDeliveryCount: on a missing entry this makes it 0 - 1. */
static void
dec_delivery_count(JsConsumer *c, uint64_t sseq)
{
	RdcEntry *r = rdc_get(&c->rdc, sseq);
	r->count -= 1;
}

/* moveAckFloor: after pending entry (dseq, sseq) went. Nothing pending:
 * the floor is what was delivered; the entry right above the floor: the
 * floor moves to just below the next pending one. */
static void
move_ack_floor(JsConsumer *c, uint64_t dseq, uint64_t sseq)
{
	if (c->pend.live == 0) {
		c->adflr = c->dseq - 1;
		c->asflr = c->sseq - 1;
	} else if (dseq == c->adflr + 1) {
		c->adflr = dseq;
		c->asflr = sseq;
		PendEntry *n = pend_next_after(&c->pend, sseq);
		if (n != NULL && n->sseq < c->sseq) {
			c->adflr = n->dseq - 1;
			c->asflr = n->sseq - 1;
		}
	}
}

/* hasMaxDeliveries (the ack-wait scan's check, v2.10.22+; v2.11+ also
 * moves the ack floor past the entry). */
static bool
has_max_deliveries(JsConsumer *c, uint64_t sseq)
{
	if (c->maxdc == 0)
		return false;
	uint64_t dc = delivery_count(c, sseq);
	if (dc < c->maxdc)
		return false;
	if (dc == c->maxdc)
		advisory_max_deliveries(c, sseq, dc);
	if (c->maxp > 0 && (int64_t)c->pend.live >= c->maxp)
		signal_new(c);
	PendEntry *e = pend_find(&c->pend, sseq);
	if (e != NULL) {
		uint64_t dseq = e->dseq;
		pend_drop(c, e);
		update_delivered(c);
		move_ack_floor(c, dseq, sseq);
	}
	rdc_get(&c->rdc, sseq)->count = dc;
	return true;
}

/* ------------------------------------------------------------------ */
/* starting position and num pending                                    */
/* ------------------------------------------------------------------ */

static uint64_t
store_first_matching(JsConsumer *c, const char *filter, uint64_t start)
{
	JsStore *st = store_of(c);
	JsStoredMsg m;
	return st->ops->load_next(st, filter, start, &m) == JS_STORE_OK ? m.seq : 0;
}

static uint64_t
store_last_matching(JsConsumer *c, const char *filter)
{
	JsStore *st = store_of(c);
	JsStoredMsg m;
	return st->ops->load_last(st, filter, &m) == JS_STORE_OK ? m.seq : 0;
}

static int
u64_cmp(gconstpointer a, gconstpointer b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* MultiLastSeqs: the last seq of every subject matching a filter,
 * ascending. */
static GArray *
multi_last_seqs(JsConsumer *c)
{
	JsStore *st = store_of(c);
	GArray *seqs = g_array_new(FALSE, FALSE, sizeof(uint64_t));
	for (guint k = 0; k < c->filters->len; k++) {
		GArray *subs = g_array_new(FALSE, TRUE, sizeof(JsSubjectCount));
		st->ops->subjects(st, c->filters->pdata[k], subs);
		for (guint j = 0; j < subs->len; j++) {
			JsSubjectCount *sc = &g_array_index(subs, JsSubjectCount, j);
			uint64_t seq = store_last_matching(c, sc->subject);
			if (seq != 0)
				g_array_append_val(seqs, seq);
			g_free(sc->subject);
		}
		g_array_free(subs, TRUE);
	}
	g_array_sort(seqs, u64_cmp);
	return seqs;
}

/* GetSeqFromTime: the first seq stored at or after t (timestamps rise
 * with seqs); last+1 when none. */
static uint64_t
seq_from_time(JsConsumer *c, int64_t t, const JsStoreState *state)
{
	if (state->msgs == 0 || t > state->last_ts_ns)
		return state->last_seq + 1;
	if (t <= state->first_ts_ns)
		return state->first_seq;
	JsStore *st = store_of(c);
	uint64_t lo = state->first_seq, hi = state->last_seq;
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		JsStoredMsg m;
		if (st->ops->load_next(st, NULL, mid, &m) != JS_STORE_OK) {
			hi = mid;
			continue;
		}
		if (m.ts_ns >= t)
			hi = mid;
		else
			lo = m.seq + 1;
	}
	return lo;
}

/*
 * selectStartingSeqNo (v2.14.5): the start for the deliver policy, then
 * into the stream: an empty stream starts at 1 and a start past the end
 * at last+1 (both only without opt_start_seq, which is kept as given), a
 * start below the first seq moves up to it. The ack floor starts just
 * below it (v2.14's SetStarting; nats-server <= 2.10 re-read it as 0/0).
 */
static void
select_start_seq(JsConsumer *c)
{
	JsStore *st = store_of(c);
	JsStoreState state;
	st->ops->state(st, &state);
	const ConsCfg *cfg = &c->cfg;
	c->sseq = 0;
	if (cfg->opt_start_seq == 0) {
		switch (cfg->deliver) {
		case DELIVER_ALL:
			c->sseq = state.first_seq;
			break;
		case DELIVER_LAST:
			if (c->filters->len == 0) {
				c->sseq = state.last_seq;
				break;
			}
			for (guint k = 0; k < c->filters->len; k++) {
				uint64_t last = store_last_matching(c, c->filters->pdata[k]);
				if (last > c->sseq)
					c->sseq = last;
			}
			break;
		case DELIVER_LAST_PER_SUBJECT: {
			StreamFacts sf;
			stream_facts(c->stream, &sf);
			int64_t mmp = sf.max_msgs_per_subject;
			stream_facts_clear(&sf);
			if (mmp == 1) {
				c->sseq = state.first_seq;
				break;
			}
			GArray *seqs = multi_last_seqs(c);
			c->lss_resume = state.last_seq;
			if (seqs->len == 0) {
				c->sseq = state.last_seq;
				g_array_free(seqs, TRUE);
			} else {
				c->sseq = g_array_index(seqs, uint64_t, 0);
				c->lss = seqs;
				c->lss_pos = 0;
			}
			break;
		}
		case DELIVER_BY_START_TIME: {
			c->sseq = seq_from_time(c, cfg->start_time_ns, &state);
			if (c->filters->len > 0) {
				uint64_t nseq = state.last_seq;
				for (guint k = 0; k < c->filters->len; k++) {
					uint64_t first = store_first_matching(c, c->filters->pdata[k], state.first_seq);
					if (first >= c->sseq && first < nseq)
						nseq = first;
				}
				if (nseq > c->sseq && nseq < state.last_seq)
					c->sseq = nseq;
			}
			break;
		}
		default: /* new */
			c->sseq = state.last_seq + 1;
			break;
		}
	} else {
		c->sseq = cfg->opt_start_seq;
	}
	if (state.first_seq == 0 && cfg->opt_start_seq == 0)
		c->sseq = 1;
	else if (c->sseq > state.last_seq && cfg->opt_start_seq == 0)
		c->sseq = state.last_seq + 1;
	else if (c->sseq < state.first_seq)
		c->sseq = state.first_seq;
	if (c->sseq == 0)
		c->sseq = 1;
	c->dseq = 1;
	c->adflr = 0;
	c->asflr = c->sseq - 1;
}

/* calculateNumPending: matching messages at or after the next seq (the
 * filters never overlap, so counts add up). */
static void
stream_num_pending(JsConsumer *c)
{
	JsStore *st = store_of(c);
	JsStoreState state;
	st->ops->state(st, &state);
	bool lps = c->cfg.deliver == DELIVER_LAST_PER_SUBJECT;
	uint64_t n = 0;
	if (c->filters->len == 0) {
		n = st->ops->count(st, c->sseq, NULL, lps);
	} else {
		for (guint k = 0; k < c->filters->len; k++)
			n += st->ops->count(st, c->sseq, c->filters->pdata[k], lps);
	}
	c->npc = (int64_t)n;
	c->npf = state.last_seq;
}

/* ------------------------------------------------------------------ */
/* getting the next message                                             */
/* ------------------------------------------------------------------ */

typedef enum {
	NEXT_OK,
	NEXT_EOF,        /* ErrStoreEOF */
	NEXT_NOT_FOUND,  /* ErrStoreMsgNotFound / errDeletedMsg */
	NEXT_MAX_PENDING,/* errMaxAckPending */
} NextStatus;

/* The message in delivery, copied out of the store (a delivery can
 * reach a stream and so the store) into the consumer's scratch. */
typedef struct CurMsg {
	uint64_t seq;
	int64_t ts_ns;
	const char *subject;
	size_t subject_len;
	const uint8_t *hdr; /* NULL when none */
	size_t hdr_len;
	const uint8_t *data;
	size_t data_len;
} CurMsg;

static void
cur_from_store(JsConsumer *c, const JsStoredMsg *m, CurMsg *out)
{
	GByteArray *s = c->scratch;
	g_byte_array_set_size(s, 0);
	g_byte_array_append(s, (const guint8 *)m->subject, (guint)m->subject_len);
	g_byte_array_append(s, (const guint8 *)"", 1);
	size_t hoff = s->len;
	if (c->cfg.headers_only) {
		/* convertToHeadersOnly: the headers (or a bare NATS/1.0 line)
		 * plus Nats-Msg-Size, no payload. */
		if (m->hdr == NULL || m->hdr_len < 2) {
			g_byte_array_append(s, (const guint8 *)"NATS/1.0\r\n", 10);
		} else {
			g_byte_array_append(s, m->hdr, (guint)(m->hdr_len - 2));
		}
		char line[64];
		int n = snprintf(line, sizeof(line), "Nats-Msg-Size: %zu\r\n\r\n", m->data_len);
		g_byte_array_append(s, (const guint8 *)line, (guint)n);
	} else if (m->hdr != NULL && m->hdr_len > 0) {
		g_byte_array_append(s, m->hdr, (guint)m->hdr_len);
	}
	size_t hlen = s->len - hoff;
	size_t doff = s->len;
	if (!c->cfg.headers_only && m->data_len > 0)
		g_byte_array_append(s, m->data, (guint)m->data_len);
	out->seq = m->seq;
	out->ts_ns = m->ts_ns;
	out->subject = (const char *)s->data;
	out->subject_len = m->subject_len;
	out->hdr = hlen > 0 ? s->data + hoff : NULL;
	out->hdr_len = hlen;
	out->data = s->data + doff;
	out->data_len = s->len - doff;
}

/* The next matching stored message at or after start (the smallest over
 * the filters). */
static JsStoreStatus
load_next_filtered(JsConsumer *c, uint64_t start, JsStoredMsg *out)
{
	JsStore *st = store_of(c);
	if (c->filters->len <= 1)
		return st->ops->load_next(st, c->filters->len == 1 ? c->filters->pdata[0] : NULL, start, out);
	uint64_t best = 0;
	for (guint k = 0; k < c->filters->len; k++) {
		JsStoredMsg m;
		if (st->ops->load_next(st, c->filters->pdata[k], start, &m) == JS_STORE_OK && (best == 0 || m.seq < best))
			best = m.seq;
	}
	if (best == 0)
		return JS_STORE_NOT_FOUND;
	return st->ops->load(st, best, out);
}

/* getNextMsg: the redelivery queue first (FIFO), then, unless stalled on
 * max_ack_pending, the last-per-subject skip list, then the stream. */
static NextStatus
get_next_msg(JsConsumer *c, CurMsg *out, uint64_t *dc_out)
{
	JsStore *st = store_of(c);
	while (c->rdq.len > 0) {
		uint64_t seq = rdq_pop(&c->rdq);
		PendEntry *e = pend_find(&c->pend, seq);
		ASSERT(e != NULL && e->on_rdq);
		e->on_rdq = false;
		uint64_t dc = inc_delivery_count(c, seq);
		if (c->maxdc > 0 && dc > c->maxdc) {
			if (dc == c->maxdc + 1)
				advisory_max_deliveries(c, seq, dc - 1);
			e = pend_find(&c->pend, seq);
			if (e != NULL) {
				uint64_t dseq = e->dseq;
				pend_drop(c, e);
				update_delivered(c);
				move_ack_floor(c, dseq, seq);
			}
			continue;
		}
		JsStoredMsg m;
		JsStoreStatus ls = st->ops->load(st, seq, &m);
		if (ls != JS_STORE_OK) {
			dec_delivery_count(c, seq);
			if (ls == JS_STORE_NOT_FOUND || ls == JS_STORE_DELETED) {
				/* Removed from the stream while queued. nats-server
				 * learns removals one by one (decStreamPending) and
				 * TERMs the pending entry; natsim's stream tells only
				 * about purges, so it does the same here, as v2.11+'s
				 * getNextMsg does. */
				e = pend_find(&c->pend, seq);
				if (e != NULL) {
					bool in_place;
					process_term(c, seq, e->dseq, dc - 1, REASON_UNACKED_DELETED, NULL, &in_place);
				}
				continue;
			}
			return NEXT_NOT_FOUND;
		}
		cur_from_store(c, &m, out);
		*dc_out = dc;
		return NEXT_OK;
	}
	if (c->maxp > 0 && (int64_t)c->pend.live >= c->maxp)
		return NEXT_MAX_PENDING;
	if (c->lss != NULL && c->lss_pos < c->lss->len) {
		uint64_t seq = g_array_index(c->lss, uint64_t, c->lss_pos);
		c->lss_pos++;
		if (c->lss_pos == c->lss->len) {
			c->sseq = c->lss_resume;
			g_array_free(c->lss, TRUE);
			c->lss = NULL;
		} else {
			c->sseq = seq;
		}
		JsStoredMsg m;
		JsStoreStatus ls = st->ops->load(st, seq, &m);
		c->sseq++;
		if (ls != JS_STORE_OK)
			return NEXT_NOT_FOUND;
		cur_from_store(c, &m, out);
		*dc_out = 1;
		return NEXT_OK;
	}
	JsStoredMsg m;
	if (load_next_filtered(c, c->sseq, &m) == JS_STORE_OK) {
		if (m.seq >= c->sseq)
			c->sseq = m.seq + 1;
		cur_from_store(c, &m, out);
		*dc_out = 1;
		return NEXT_OK;
	}
	/* EOF: nats-server's LoadNextMsg reports the last seq, which the
	 * consumer walks past. */
	JsStoreState state;
	st->ops->state(st, &state);
	if (state.last_seq >= c->sseq)
		c->sseq = state.last_seq + 1;
	return NEXT_EOF;
}

/* checkNumPendingOnEOF */
static void
check_num_pending_on_eof(JsConsumer *c)
{
	JsStore *st = store_of(c);
	JsStoreState state;
	st->ops->state(st, &state);
	if (c->sseq > state.last_seq && c->npc != 0) {
		c->npc = 0;
		c->npf = state.last_seq;
	}
}

/* ------------------------------------------------------------------ */
/* tracking what was delivered                                          */
/* ------------------------------------------------------------------ */

/* trackPending: one timer for all pending (armed at ack_wait + 1 ms, or
 * the backoff for this delivery), pulled in when this delivery needs it
 * earlier; a redelivery keeps the original consumer seq. */
static void
track_pending(JsConsumer *c, uint64_t sseq, uint64_t dseq)
{
	int64_t now = now_ns(c);
	int64_t min_delay = ack_wait_delay(c, 0);
	guint l = backoff_len(&c->cfg);
	if (l > 0) {
		RdcEntry *r = rdc_find(&c->rdc, sseq);
		int64_t bi = r != NULL ? (int64_t)r->count : 0; /* int(uint64) */
		if (bi < 0)
			bi = 0;
		else if (bi >= (int64_t)l)
			bi = (int64_t)l - 1;
		min_delay = ack_wait_delay(c, backoff_at(&c->cfg, (guint)bi));
	}
	if (c->ptmr_at == INT64_MAX || c->ptmr_at > now + min_delay)
		reset_ptmr(c, min_delay);
	PendEntry *e = pend_find(&c->pend, sseq);
	if (e != NULL)
		e->ts_ns = now;
	else
		pend_insert(&c->pend, sseq, dseq, now);
}

/* Flow control (needFlowControl / sendFlowControl). */
static bool
need_flow_control(JsConsumer *c, int64_t sz)
{
	if (c->maxpb == 0)
		return false;
	if (c->fcid == NULL && c->pbytes > c->maxpb / 2)
		return true;
	if (c->fcid != NULL && c->pbytes - c->fcsz >= c->maxpb)
		c->fcsz += sz;
	return false;
}

static void
send_flow_control(JsConsumer *c)
{
	if (!is_push(c))
		return;
	static const char digits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	uint64_t rn = broker_random(c->broker) >> 1;
	char tail[5];
	for (int k = 0; k < 4; k++) {
		tail[k] = digits[rn % 62];
		rn /= 62;
	}
	tail[4] = '\0';
	g_free(c->fcid);
	c->fcid = g_strdup_printf("$JS.FC.%s.%s.%s", c->stream_name, c->name, tail);
	c->fcsz = c->pbytes;
	static const char hdr[] = "NATS/1.0 100 FlowControl Request\r\n\r\n";
	send_status_hdr(c, c->cfg.deliver_subject, c->fcid, hdr, sizeof(hdr) - 1);
	broker_probe_hit(c->broker, BROKER_PROBE_JS_FLOW_CONTROL);
}

/* ------------------------------------------------------------------ */
/* pull requests: expiry, interest, heartbeats                          */
/* ------------------------------------------------------------------ */

/*
 * processWaiting: ends expired requests (408), one-shot no_wait requests
 * at the end of the stream once they got something (eos), drops those
 * whose reply lost interest, sends due heartbeats. Returns the batch
 * still asked for; *fexp gets the next expiry or heartbeat (0: none).
 * Deadlines compare with >= where Go has After(): a virtual timer fires
 * exactly at the deadline, a Go timer a little after it.
 */
static int64_t
process_waiting(JsConsumer *c, bool eos, int64_t *fexp)
{
	*fexp = 0;
	WaitQueue *wq = &c->wq;
	if (wq->n == 0)
		return 0;
	int64_t now = now_ns(c);
	c->lwqic_ns = now;
	int64_t brp = 0;
	WaitReq *pre = NULL;
	for (WaitReq *wr = wq->head; wr != NULL;) {
		bool expired = wr->expires_ns != 0 && now >= wr->expires_ns;
		if (expired || (eos && wr->no_wait && (wr->expires_ns == 0 || wr->d > 0))) {
			/* v2.12.3+: a one-shot at the end of the stream ends with
			 * 404 No Messages (it was 408 with the pending counts). */
			if (expired) {
				send_status_pending(c, wr->reply, "408 Request Timeout", wr->n, wr->b);
				broker_probe_hit(c->broker, BROKER_PROBE_JS_PULL_TIMEOUT);
			} else {
				send_status(c, wr->reply, 404, "No Messages");
				broker_probe_hit(c->broker, BROKER_PROBE_JS_PULL_NO_MESSAGES);
			}
			WaitReq *next = wr->next;
			wq_unlink(wq, pre, wr);
			wr_free(wr);
			wr = next;
			continue;
		}
		if (!broker_has_interest(c->broker, wr->reply)) {
			WaitReq *next = wr->next;
			wq_unlink(wq, pre, wr);
			wr_free(wr);
			wr = next;
			continue;
		}
		brp += wr->n;
		if (wr->hbt_ns != 0) {
			if (now >= wr->hbt_ns) {
				send_idle_heartbeat(c, wr->reply);
				wr->hbt_ns = now + wr->hb_ns;
			}
			if (*fexp == 0 || wr->hbt_ns < *fexp)
				*fexp = wr->hbt_ns;
		}
		if (wr->expires_ns != 0 && (*fexp == 0 || wr->expires_ns < *fexp))
			*fexp = wr->expires_ns;
		pre = wr;
		wr = wr->next;
	}
	return brp;
}

/*
 * nextWaiting: the request that gets this message (size sz), popped
 * round robin; *done when its batch is complete (the caller frees it).
 * On the way (v2.14.5 order): an expired request ends with 408, one whose
 * max_bytes cannot take the message with 409, one without interest
 * silently.
 */
static WaitReq *
next_waiting(JsConsumer *c, int64_t sz, bool *done)
{
	WaitQueue *wq = &c->wq;
	int64_t now = now_ns(c);
	while (wq->head != NULL) {
		WaitReq *wr = wq->head;
		if (wr->expires_ns != 0 && now >= wr->expires_ns) {
			send_status_pending(c, wr->reply, "408 Request Timeout", wr->n, wr->b);
			broker_probe_hit(c->broker, BROKER_PROBE_JS_PULL_TIMEOUT);
			wq_unlink(wq, NULL, wr);
			wr_free(wr);
			continue;
		}
		if (wr->b > 0) {
			if (sz <= wr->b) {
				wr->b -= sz;
				if (wr->b == 0)
					wr->n = 1;
			} else {
				send_status_pending(c, wr->reply, "409 Message Size Exceeds MaxBytes", wr->n, wr->b);
				broker_probe_hit(c->broker, BROKER_PROBE_JS_PULL_MAX_BYTES);
				wq_unlink(wq, NULL, wr);
				wr_free(wr);
				continue;
			}
		}
		if (broker_has_interest(c->broker, wr->reply))
			return wq_pop(wq, done);
		wq_unlink(wq, NULL, wr);
		wr_free(wr);
	}
	return NULL;
}

/* Sets the pull request timer from process_waiting's answer. */
static void
arm_wait_timer(JsConsumer *c, int64_t fexp)
{
	if (fexp == 0) {
		c->wexp_at = INT64_MAX;
		return;
	}
	int64_t now = now_ns(c);
	c->wexp_at = fexp > now ? fexp : now + JS_NS_PER_MS;
}

/* ------------------------------------------------------------------ */
/* delivery                                                             */
/* ------------------------------------------------------------------ */

/* The ack reply (v1 form): $JS.ACK.<stream>.<consumer>.<dc>.<sseq>.
 * <dseq>.<stream timestamp>.<pending>. Returns its length. */
static size_t
ack_reply(const JsConsumer *c, char *out, size_t cap, uint64_t dc, uint64_t sseq, uint64_t dseq, int64_t ts,
    uint64_t pending)
{
	ASSERT(cap >= c->ack_prefix_len + 5 * 21);
	memcpy(out, c->ack_prefix, c->ack_prefix_len);
	size_t n = c->ack_prefix_len;
	n += u64_to_dec(dc, out + n);
	out[n++] = '.';
	n += u64_to_dec(sseq, out + n);
	out[n++] = '.';
	n += u64_to_dec(dseq, out + n);
	out[n++] = '.';
	n += i64_to_dec(ts, out + n);
	out[n++] = '.';
	n += u64_to_dec(pending, out + n);
	out[n] = '\0';
	return n;
}

#define ACK_REPLY_CAP (2 * NAME_LEN_MAX + 16 + 5 * 21)

/* updateDeliveryInterest: a push consumer becomes active or inactive;
 * without interest the inactivity timer starts (unless it runs). */
static void
update_delivery_interest(JsConsumer *c, bool interest)
{
	if (is_pull(c))
		return;
	if (interest && !c->active)
		signal_new(c);
	c->active = interest;
	if (c->dtmr_set && c->dthresh > 0 && !interest)
		return;
	c->dtmr_set = false;
	c->dtmr_at = INT64_MAX;
	if (!interest && c->dthresh > 0) {
		c->dtmr_set = true;
		c->dtmr_at = now_ns(c) + c->dthresh;
	}
}

/* didNotDeliver: the delivery matched nobody. Push: inactive until
 * interest shows again (nats-server learns this asynchronously and may
 * push a few more into the void; here it is known at once). Pull: the
 * request gets its message back and the seq is queued for redelivery. */
static void
did_not_deliver(JsConsumer *c, uint64_t seq, const char *dsubj)
{
	dec_delivery_count(c, seq);
	if (is_push(c)) {
		c->active = false;
		broker_probe_hit(c->broker, BROKER_PROBE_JS_PUSH_NO_INTEREST);
		update_delivery_interest(c, broker_has_interest(c->broker, c->cfg.deliver_subject));
		return;
	}
	if (c->pend.live == 0)
		return;
	int64_t fexp;
	process_waiting(c, false, &fexp);
	for (WaitReq *wr = c->wq.head; wr != NULL; wr = wr->next) {
		if (strcmp(wr->reply, dsubj) == 0) {
			wr->n++;
			wr->d--;
			break;
		}
	}
	PendEntry *e = pend_find(&c->pend, seq);
	if (e != NULL && !e->on_rdq) {
		rdq_add(c, e);
		if (c->wq.n > 0)
			signal_new(c);
	}
}

/* deliverMsg */
static void
deliver_msg(JsConsumer *c, const char *dsubj, const char *ack, size_t ack_len, const CurMsg *m, uint64_t dc)
{
	uint64_t dseq = c->dseq++;
	int64_t psz = (int64_t)(strlen(dsubj) + ack_len + m->hdr_len + m->data_len);
	if (c->maxpb > 0)
		c->pbytes += psz;
	update_delivered(c);
	uint32_t taken = broker_internal_deliver(c->broker, dsubj, m->subject, ack, m->hdr, m->hdr_len, m->data,
	    m->data_len);
	broker_probe_hit(c->broker, dc > 1 ? BROKER_PROBE_JS_REDELIVERED : BROKER_PROBE_JS_DELIVERED);
	if (c->cfg.ack == ACK_NONE) {
		c->adflr = dseq;
		c->asflr = m->seq;
	} else {
		track_pending(c, m->seq, dseq);
	}
	if (c->maxpb > 0 && need_flow_control(c, psz))
		send_flow_control(c);
	if (is_pull(c) && c->dthresh > 0)
		c->wq.last_ns = now_ns(c);
	if (c->cfg.ack == ACK_NONE && c->retention != JS_RETENTION_LIMITS)
		js_stream_consumer_acked(c->stream, c, m->seq);
	if (taken == 0)
		did_not_deliver(c, m->seq, dsubj);
}

/* After a delivery: the "409 Batch Completed" note for a request that
 * ended its batch with bytes left, and the push heartbeat restart. */
static void
after_delivery(JsConsumer *c, const char *dsubj, int64_t wrn, int64_t wrb)
{
	if (wrn <= 0 && wrb > 0) {
		char buf[192];
		int n = snprintf(buf, sizeof(buf),
		    "NATS/1.0 409 Batch Completed\r\n" HDR_PENDING_MSGS ": %" G_GINT64_FORMAT "\r\n" HDR_PENDING_BYTES
		    ": %" G_GINT64_FORMAT "\r\n\r\n",
		    wrn, wrb);
		send_status_hdr(c, dsubj, NULL, buf, (size_t)n);
	}
	if (c->cfg.heartbeat > 0 && is_push(c))
		c->hb_at = now_ns(c) + c->cfg.heartbeat;
}

/* Token bucket of golang.org/x/time/rate: the wait before sz bytes may
 * go (the reservation is taken). */
static int64_t
rate_reserve(JsConsumer *c, int64_t sz)
{
	if (c->rl_rate <= 0)
		return 0;
	int64_t now = now_ns(c);
	double elapsed = (double)(now - c->rl_last_ns) / 1e9;
	c->rl_tokens += elapsed * c->rl_rate;
	if (c->rl_tokens > c->rl_burst)
		c->rl_tokens = c->rl_burst;
	c->rl_last_ns = now;
	c->rl_tokens -= (double)sz;
	if (c->rl_tokens >= 0)
		return 0;
	return (int64_t)(-c->rl_tokens / c->rl_rate * 1e9);
}

static void
stash_clear(JsConsumer *c)
{
	g_free(c->stash.dsubj);
	g_free(c->stash.ack);
	memset(&c->stash, 0, sizeof(c->stash));
}

/* Delivers the message held back for replay timing or the rate limit. */
static void
stash_release(JsConsumer *c)
{
	Stash st = c->stash;
	c->stash.active = false;
	c->stash.dsubj = NULL;
	c->stash.ack = NULL;
	JsStore *store = store_of(c);
	JsStoredMsg m;
	if (store->ops->load(store, st.seq, &m) == JS_STORE_OK) {
		CurMsg cur;
		cur_from_store(c, &m, &cur);
		deliver_msg(c, st.dsubj, st.ack, strlen(st.ack), &cur, st.dc);
		after_delivery(c, st.dsubj, st.wrn, st.wrb);
	}
	g_free(st.dsubj);
	g_free(st.ack);
	signal_new(c);
}

/*
 * loopAndGatherMsgs, one pass: deliver while the consumer can (push:
 * active and inside the flow control window; pull: a request waiting),
 * then what the loop does before it sleeps (pull: processWaiting, and
 * the request timer).
 */
static void
run_delivery(JsConsumer *c)
{
	NextStatus st = NEXT_OK;
	unsigned budget = DELIVER_BUDGET;
	char ack[ACK_REPLY_CAP];
	for (;;) {
		if (c->stash.active)
			break;
		if (is_push(c)) {
			if (!c->active || (c->maxpb > 0 && c->pbytes > c->maxpb))
				break;
		} else if (c->wq.n == 0) {
			break;
		}
		if (budget-- == 0) {
			c->kick_at = now_ns(c);
			break;
		}
		CurMsg m;
		uint64_t dc = 1;
		st = get_next_msg(c, &m, &dc);
		if (st != NEXT_OK) {
			if (st == NEXT_EOF)
				check_num_pending_on_eof(c);
			if (st == NEXT_MAX_PENDING)
				broker_probe_hit(c->broker, BROKER_PROBE_JS_MAX_ACK_PENDING);
			break;
		}
		if (dc == 1)
			c->npc--;
		size_t ack_len = ack_reply(c, ack, sizeof(ack), dc, m.seq, c->dseq, m.ts_ns, num_pending(c));
		int64_t sz = (int64_t)(m.subject_len + ack_len + m.hdr_len + m.data_len);
		const char *dsubj;
		WaitReq *done_wr = NULL;
		int64_t wrn = 0, wrb = 0;
		if (is_push(c)) {
			dsubj = c->dsubj;
		} else {
			bool done = false;
			WaitReq *wr = next_waiting(c, sz, &done);
			if (wr == NULL) {
				/* Nobody to take it after all: undo. */
				if (dc == 1 && m.seq == c->sseq - 1) {
					c->sseq--;
					c->npc++;
				} else if (!rdq_contains(c, m.seq)) {
					dec_delivery_count(c, m.seq);
					PendEntry *e = pend_find(&c->pend, m.seq);
					if (e != NULL)
						rdq_add(c, e);
				}
				break;
			}
			wrn = wr->n;
			wrb = wr->b;
			dsubj = wr->reply;
			if (done)
				done_wr = wr;
			else if (wr->hb_ns > 0)
				wr->hbt_ns = now_ns(c) + wr->hb_ns;
		}
		/* replay_policy original: keep the stored spacing. */
		int64_t delay = 0;
		if (c->replay && c->replay_lts > 0 && m.ts_ns - c->replay_lts > JS_NS_PER_MS)
			delay = m.ts_ns - c->replay_lts;
		c->replay_lts = m.ts_ns;
		int64_t rdelay = rate_reserve(c, sz);
		if (rdelay > delay)
			delay = rdelay;
		if (delay > 0) {
			c->stash = (Stash){ .active = true, .seq = m.seq, .dc = dc, .dsubj = g_strdup(dsubj),
				.ack = g_strdup(ack), .wrn = wrn, .wrb = wrb, .at_ns = now_ns(c) + delay };
			wr_free(done_wr);
			break;
		}
		deliver_msg(c, dsubj, ack, ack_len, &m, dc);
		after_delivery(c, dsubj, wrn, wrb);
		wr_free(done_wr);
		if (c->closed)
			return;
	}
	/* waitForMsgs */
	if (c->replay && c->sseq > c->replay_lseq)
		c->replay = false;
	if (is_pull(c)) {
		/* One-shots are not ended while stalled on max_ack_pending. */
		int64_t fexp;
		process_waiting(c, st != NEXT_MAX_PENDING, &fexp);
		arm_wait_timer(c, fexp);
	}
}

/* ------------------------------------------------------------------ */
/* the ack-wait scan                                                    */
/* ------------------------------------------------------------------ */

/*
 * checkPending: one timer per consumer. Every pending entry is looked
 * at (in stream seq order here; nats-server walks its map): entries
 * below the stream's first seq or the ack floor go; an entry whose ack
 * wait (or backoff[min(rdc, len-1)]) has passed goes on the redelivery
 * queue unless it is there already or has reached max_deliver
 * (hasMaxDeliveries, v2.10.22+: only when the stored count already equals
 * it, so at expiry for max_deliver 1 and otherwise at the next attempt).
 * Expired seqs are queued in seq order and their timestamps shifted by
 * the same offset; the timer re-arms for the earliest deadline left (the
 * remaining time exactly, ack_wait + 1 ms after a fresh expiry), or
 * stops when nothing is pending.
 */
static void
check_pending(JsConsumer *c)
{
	if (c->ptmr_at == INT64_MAX)
		return;
	int64_t now = now_ns(c);
	JsStore *store = store_of(c);
	JsStoreState state;
	store->ops->state(store, &state);
	uint64_t fseq = state.first_seq;
	int64_t ttl = c->cfg.ack_wait;
	int64_t next = ack_wait_delay(c, 0);
	guint lbo = backoff_len(&c->cfg);
	if (lbo > 0)
		next = backoff_at(&c->cfg, lbo - 1);
	/* Entries no longer valid first (below the stream's first seq or
	 * the ack floor); the floor follows them. */
	bool changed = false;
	GArray *gone = g_array_new(FALSE, FALSE, sizeof(uint64_t));
	for (size_t k = c->pend.head; k < c->pend.tail; k++) {
		PendEntry *e = &c->pend.v[k];
		if (e->dseq != 0 && (e->sseq < fseq || e->sseq <= c->asflr))
			g_array_append_val(gone, e->sseq);
	}
	for (guint k = 0; k < gone->len; k++) {
		uint64_t s = g_array_index(gone, uint64_t, k);
		PendEntry *e = pend_find(&c->pend, s);
		uint64_t d = e->dseq;
		rdc_delete(&c->rdc, s);
		pend_drop(c, e);
		changed = true;
		if (s > c->asflr)
			c->asflr = s;
		if (d > c->adflr)
			c->adflr = d;
	}
	g_array_free(gone, TRUE);
	GArray *expired = g_array_new(FALSE, FALSE, sizeof(uint64_t));
	GArray *maxed = g_array_new(FALSE, FALSE, sizeof(uint64_t));
	for (size_t k = c->pend.head; k < c->pend.tail; k++) {
		PendEntry *e = &c->pend.v[k];
		if (e->dseq == 0)
			continue;
		int64_t elapsed = now - e->ts_ns, deadline = ttl;
		if (lbo > 0) {
			RdcEntry *r = rdc_find(&c->rdc, e->sseq);
			int64_t dc = r != NULL ? (int64_t)r->count : 0;
			if (dc < 0)
				dc = 0;
			int64_t nbi = dc + 1;
			if (dc + 1 >= (int64_t)lbo) {
				dc = (int64_t)lbo - 1;
				nbi = dc;
			}
			deadline = backoff_at(&c->cfg, (guint)dc);
			int64_t nb = backoff_at(&c->cfg, (guint)nbi);
			if (nb < next)
				next = nb;
		}
		if (elapsed >= deadline) {
			if (!e->on_rdq) {
				bool at_max = c->maxdc > 0 && delivery_count(c, e->sseq) >= c->maxdc;
				g_array_append_val(at_max ? maxed : expired, e->sseq);
			}
		} else if (deadline - elapsed < next) {
			next = deadline - elapsed;
		}
	}
	/* hasMaxDeliveries for those at the limit (advisory, out of pending,
	 * rdc kept). */
	for (guint k = 0; k < maxed->len; k++) {
		bool hit = has_max_deliveries(c, g_array_index(maxed, uint64_t, k));
		ASSERT(hit);
	}
	if (expired->len > 0) {
		broker_probe_hit(c->broker, BROKER_PROBE_JS_ACK_WAIT_EXPIRED);
		PendEntry *first = pend_find(&c->pend, g_array_index(expired, uint64_t, 0));
		int64_t off = first != NULL ? now - first->ts_ns : 0;
		for (guint k = 0; k < expired->len; k++) {
			PendEntry *e = pend_find(&c->pend, g_array_index(expired, uint64_t, k));
			if (e == NULL || e->on_rdq)
				continue;
			rdq_add(c, e);
			e->ts_ns += off;
		}
		signal_new(c);
	}
	g_array_free(expired, TRUE);
	g_array_free(maxed, TRUE);
	if (c->pend.live > 0) {
		reset_ptmr(c, next);
	} else {
		stop_ptmr(c);
		rdq_clear(c);
		pend_clear(&c->pend);
		c->adflr = c->dseq - 1;
		c->asflr = c->sseq - 1;
	}
	if (changed)
		mark_dirty(c);
}

/* forceExpirePending: everything pending goes on the redelivery queue
 * (the deliver subject changed). */
static void
force_expire_pending(JsConsumer *c)
{
	GArray *seqs = pend_seqs(&c->pend);
	GArray *expired = g_array_new(FALSE, FALSE, sizeof(uint64_t));
	for (guint k = 0; k < seqs->len; k++) {
		uint64_t s = g_array_index(seqs, uint64_t, k);
		if (!rdq_contains(c, s) && !has_max_deliveries(c, s))
			g_array_append_val(expired, s);
	}
	if (expired->len > 0) {
		int64_t now = now_ns(c);
		PendEntry *first = pend_find(&c->pend, g_array_index(expired, uint64_t, 0));
		int64_t off = first != NULL ? now - first->ts_ns : 0;
		for (guint k = 0; k < expired->len; k++) {
			PendEntry *e = pend_find(&c->pend, g_array_index(expired, uint64_t, k));
			if (e == NULL || e->on_rdq)
				continue;
			rdq_add(c, e);
			e->ts_ns += off;
		}
		reset_ptmr(c, ack_wait_delay(c, 0));
	}
	g_array_free(expired, TRUE);
	g_array_free(seqs, TRUE);
	signal_new(c);
}

/* ------------------------------------------------------------------ */
/* acks                                                                 */
/* ------------------------------------------------------------------ */

/* sampleAck: the ack metric when sample_freq asks for it. */
static void
sample_ack(JsConsumer *c, uint64_t sseq, uint64_t dseq, uint64_t dc, int64_t delivered_ns)
{
	if (c->sfreq <= 0)
		return;
	if (c->sfreq < 100 && (int64_t)(broker_random(c->broker) % 100) > c->sfreq)
		return;
	json_t *a = advisory_start(c, "io.nats.jetstream.metric.v1.consumer_ack");
	json_object_set_new(a, "consumer_seq", json_integer((json_int_t)dseq));
	json_object_set_new(a, "stream_seq", json_integer((json_int_t)sseq));
	json_object_set_new(a, "ack_time", json_integer(now_ns(c) - delivered_ns));
	json_object_set_new(a, "deliveries", json_integer((json_int_t)dc));
	advisory_send(c, "$JS.EVENT.METRIC.CONSUMER.ACK", a);
}

/* suppressDeletion: ack activity keeps a consumer with an inactive
 * threshold alive. */
static void
suppress_deletion(JsConsumer *c)
{
	if (c->cfg.inactive_threshold <= 0)
		return;
	if (is_push(c) && c->dtmr_set)
		c->dtmr_at = now_ns(c) + c->dthresh;
	else if (is_pull(c))
		c->wq.last_ns = now_ns(c);
}

/*
 * processAckMsg. *caller_replies is what nats-server's return value
 * tells processAck: true when the caller answers the ack's reply (acks
 * processed "in place", i.e. retention interest or workqueue, and the
 * AckAll no-op); on limits retention updateAcks answers it; an ack at or
 * above the next seq is ignored without an answer.
 */
static void
process_ack_msg(JsConsumer *c, uint64_t sseq, uint64_t dseq, uint64_t dc, const char *reply, bool sample,
    bool *caller_replies)
{
	*caller_replies = false;
	/* An ack at or past the next seq is ignored (not for flow-controlled
	 * consumers, v2.14.5). */
	if (sseq >= c->sseq && !c->cfg.flow_control)
		return;
	bool in_place = c->retention != JS_RETENTION_LIMITS;
	bool need_signal = false;
	uint64_t sgap = 0, floor = 0;
	uint64_t old_adflr = c->adflr, old_asflr = c->asflr;
	switch (c->cfg.ack) {
	case ACK_EXPLICIT: {
		PendEntry *e = pend_find(&c->pend, sseq);
		if (e != NULL) {
			if (sample)
				sample_ack(c, sseq, dseq, dc, e->ts_ns);
			e = pend_find(&c->pend, sseq); /* the metric may have re-entered */
		}
		if (e != NULL) {
			if (c->maxp > 0 && (int64_t)c->pend.live >= c->maxp)
				need_signal = true;
			dseq = e->dseq;
			pend_drop(c, e);
			broker_probe_hit(c->broker, BROKER_PROBE_JS_ACK);
			move_ack_floor(c, dseq, sseq);
		}
		rdc_delete(&c->rdc, sseq);
		break;
	}
	case ACK_ALL: {
		if (dseq <= c->adflr || sseq <= c->asflr) {
			*caller_replies = true;
			return;
		}
		if (c->maxp > 0 && (int64_t)c->pend.live >= c->maxp)
			need_signal = true;
		sgap = sseq - c->asflr;
		floor = sseq;
		c->adflr = dseq;
		c->asflr = sseq;
		if (sgap > c->pend.live) {
			GArray *seqs = pend_seqs(&c->pend);
			for (guint k = 0; k < seqs->len; k++) {
				uint64_t s = g_array_index(seqs, uint64_t, k);
				if (s > sseq)
					break;
				pend_drop(c, pend_find(&c->pend, s));
				rdc_delete(&c->rdc, s);
				if (s < floor)
					floor = s;
			}
			g_array_free(seqs, TRUE);
		} else {
			for (uint64_t s = sseq; s > sseq - sgap && c->pend.live > 0; s--) {
				PendEntry *e = pend_find(&c->pend, s);
				if (e != NULL)
					pend_drop(c, e);
				rdc_delete(&c->rdc, s);
				if (s < floor)
					floor = s;
			}
		}
		broker_probe_hit(c->broker, BROKER_PROBE_JS_ACK);
		break;
	}
	default: /* AckNone: no ack subscription, nothing to do */
		*caller_replies = in_place;
		return;
	}
	if (c->adflr != old_adflr || c->asflr != old_asflr)
		broker_probe_hit(c->broker, BROKER_PROBE_JS_ACK_FLOOR_MOVED);
	update_acks(c, in_place ? NULL : reply);
	if (in_place) {
		if (sgap > 1) {
			for (uint64_t s = sseq; s >= floor && s > 0; s--)
				js_stream_consumer_acked(c->stream, c, s);
		} else {
			js_stream_consumer_acked(c->stream, c, sseq);
		}
	}
	if (need_signal)
		signal_new(c);
	*caller_replies = in_place;
}

/* processTerm: an ack that also sends the MSG_TERMINATED advisory
 * (always, even for a seq no longer pending; 2.10 adds the reason). */
static void
process_term(JsConsumer *c, uint64_t sseq, uint64_t dseq, uint64_t dc, const char *reason, const char *reply,
    bool *caller_replies)
{
	process_ack_msg(c, sseq, dseq, dc, reply, false, caller_replies);
	advisory_delivery(c, true, dseq, sseq, dc, reason);
	broker_probe_hit(c->broker, BROKER_PROBE_JS_TERM);
}

/* processNak, with the optional delay: {"delay": ns} or a Go duration. */
static void
process_nak(JsConsumer *c, uint64_t sseq, uint64_t dseq, uint64_t dc, const char *msg, size_t len)
{
	if (dseq <= c->adflr || dseq > c->dseq)
		return;
	if (pend_find(&c->pend, sseq) == NULL)
		return;
	broker_probe_hit(c->broker, BROKER_PROBE_JS_NAK);
	advisory_delivery(c, false, dseq, sseq, dc, NULL);
	if (len > 4) {
		const char *arg = msg + 4;
		size_t alen = len - 4;
		trim_space(&arg, &alen);
		if (alen > 0) {
			int64_t d = 0;
			bool ok;
			if (arg[0] == '{') {
				json_t *j = json_loadb(arg, alen, 0, NULL);
				json_t *v = json_object_get(j, "delay");
				ok = j != NULL && (v == NULL || json_is_null(v) || json_is_integer(v));
				if (ok && json_is_integer(v))
					d = json_integer_value(v);
				json_decref(j);
			} else {
				ok = go_parse_duration(arg, alen, &d);
			}
			if (ok) {
				rdq_take_out(c, sseq);
				PendEntry *e = pend_find(&c->pend, sseq);
				if (e != NULL) {
					e->ts_ns = now_ns(c) - c->cfg.ack_wait + d;
					update_delivered(c);
					if (c->ptmr_at != INT64_MAX)
						reset_ptmr(c, 10 * JS_NS_PER_MS);
				}
				return;
			}
			broker_log(c->broker, BROKER_LOG_WARN, "JetStream consumer '%s > %s > %s' bad NAK delay value: \"%.*s\"",
			    "$G", c->stream_name, c->name, (int)alen, arg);
		}
	}
	PendEntry *e = pend_find(&c->pend, sseq);
	if (e != NULL && !e->on_rdq)
		rdq_add(c, e);
	signal_new(c);
}

/* progressUpdate (+WPI): the ack wait of that message starts again. */
static void
progress_update(JsConsumer *c, uint64_t sseq)
{
	PendEntry *e = pend_find(&c->pend, sseq);
	if (e != NULL) {
		e->ts_ns = now_ns(c);
		update_delivered(c);
	}
	broker_probe_hit(c->broker, BROKER_PROBE_JS_WPI);
}

static void process_next_msg_request(JsConsumer *c, const char *reply, const char *body, size_t len);

static bool
bytes_eq(const char *p, size_t len, const char *lit)
{
	size_t n = strlen(lit);
	return len == n && memcmp(p, lit, n) == 0;
}

static bool
bytes_prefix(const char *p, size_t len, const char *lit)
{
	size_t n = strlen(lit);
	return len >= n && memcmp(p, lit, n) == 0;
}

/* processAck: subject is the ack subject, payload the ack body (headers
 * already apart), reply the ack's own reply or NULL. */
static void
handle_ack(JsConsumer *c, const char *subject, size_t subject_len, const char *reply, const char *msg, size_t len)
{
	/* ackReplyInfo: 9 tokens, $JS.ACK.<stream>.<consumer>.dc.sseq.dseq.ts.pending */
	const char *tok[9];
	size_t tlen[9];
	unsigned nt = 0;
	size_t start = 0;
	for (size_t k = 0; k <= subject_len && nt < 10; k++) {
		if (k == subject_len || subject[k] == '.') {
			if (nt < 9) {
				tok[nt] = subject + start;
				tlen[nt] = k - start;
			}
			nt++;
			start = k + 1;
		}
	}
	uint64_t sseq = 0, dseq = 0, dc = 0;
	if (nt == 9 && bytes_eq(tok[0], tlen[0], "$JS") && bytes_eq(tok[1], tlen[1], "ACK")) {
		dc = ack_num(tok[4], tlen[4]);
		sseq = ack_num(tok[5], tlen[5]);
		dseq = ack_num(tok[6], tlen[6]);
	}
	bool skip_reply = sseq == 0;
	bool caller_replies;
	if (len == 0 || bytes_eq(msg, len, "+ACK") || bytes_eq(msg, len, "+OK")) {
		process_ack_msg(c, sseq, dseq, dc, reply, true, &caller_replies);
		if (!caller_replies)
			skip_reply = true;
	} else if (bytes_prefix(msg, len, "+NXT")) {
		process_ack_msg(c, sseq, dseq, dc, NULL, true, &caller_replies);
		broker_probe_hit(c->broker, BROKER_PROBE_JS_NXT);
		if (reply != NULL && reply[0] != '\0')
			process_next_msg_request(c, reply, msg + 4, len - 4);
		skip_reply = true;
	} else if (bytes_prefix(msg, len, "-NAK")) {
		process_nak(c, sseq, dseq, dc, msg, len);
	} else if (bytes_eq(msg, len, "+WPI")) {
		progress_update(c, sseq);
	} else if (bytes_prefix(msg, len, "+TERM")) {
		const char *r = msg + 5;
		size_t rlen = len - 5;
		trim_space(&r, &rlen);
		char *reason = g_strndup(r, rlen);
		process_term(c, sseq, dseq, dc, reason, reply, &caller_replies);
		g_free(reason);
		if (!caller_replies)
			skip_reply = true;
	}
	if (reply != NULL && reply[0] != '\0' && !skip_reply)
		broker_internal_publish(c->broker, reply, NULL, NULL, 0, NULL, 0);
	suppress_deletion(c);
}

/* ------------------------------------------------------------------ */
/* pull requests                                                        */
/* ------------------------------------------------------------------ */

typedef struct NextReq {
	int64_t expires; /* duration; 0 = none */
	int64_t batch;
	int64_t max_bytes;
	bool no_wait;
	int64_t heartbeat;
} NextReq;

static const Field next_fields[] = {
	{ "expires", K_INT, offsetof(NextReq, expires), NO_FLAG, "time.Duration" },
	{ "batch", K_INT, offsetof(NextReq, batch), NO_FLAG, "int" },
	{ "max_bytes", K_INT, offsetof(NextReq, max_bytes), NO_FLAG, "int" },
	{ "no_wait", K_BOOL, offsetof(NextReq, no_wait), NO_FLAG, "bool" },
	{ "idle_heartbeat", K_INT, offsetof(NextReq, heartbeat), NO_FLAG, "time.Duration" },
	{ NULL, 0, 0, 0, NULL },
};

/* nextReqFromMsg. false with the error text in err. */
static bool
next_req_parse(const char *body, size_t len, NextReq *req, GString *err)
{
	memset(req, 0, sizeof(*req));
	trim_space(&body, &len);
	if (len == 0) {
		req->batch = 1;
		return true;
	}
	if (body[0] == '{') {
		json_error_t jerr;
		json_t *j = json_loadb(body, len, 0, &jerr);
		if (j == NULL) {
			/* Go's decoder words it; natsim approximates the two
			 * common cases. */
			if ((size_t)jerr.position >= len)
				g_string_append(err, "unexpected end of JSON input");
			else
				g_string_append_printf(err, "invalid character '%c' looking for beginning of value",
				    body[jerr.position > 0 ? jerr.position - 1 : 0]);
			return false;
		}
		bool ok = decode_object(req, next_fields, j, "JSApiConsumerGetNextRequest", err);
		json_decref(j);
		if (!ok)
			return false;
		if (req->heartbeat > 0 && req->heartbeat * 2 > req->expires) {
			g_string_append(err, "heartbeat value too large");
			return false;
		}
		return true;
	}
	char *s = g_strndup(body, len);
	int64_t n;
	GString *e = g_string_new(NULL);
	req->batch = go_atoi(s, &n, e) ? n : 1;
	g_string_free(e, TRUE);
	g_free(s);
	return true;
}

/* processNextMsgRequest: the checks in nats-server's order, then the
 * request waits (or is answered 404/408/409 at once). */
static void
process_next_msg_request(JsConsumer *c, const char *reply, const char *body, size_t len)
{
	if (is_push(c)) {
		send_status(c, reply, 409, "Consumer is push based");
		broker_probe_hit(c->broker, BROKER_PROBE_JS_PULL_REJECTED);
		return;
	}
	int64_t now = now_ns(c);
	NextReq req;
	GString *err = g_string_new(NULL);
	bool ok = next_req_parse(body, len, &req, err);
	if (!ok) {
		char *text = g_strdup_printf("Bad Request - %s", err->str);
		send_status(c, reply, 400, text);
		g_free(text);
		g_string_free(err, TRUE);
		broker_probe_hit(c->broker, BROKER_PROBE_JS_PULL_REJECTED);
		return;
	}
	g_string_free(err, TRUE);
	char text[128];
	if (c->cfg.max_batch > 0 && req.batch > c->cfg.max_batch) {
		snprintf(text, sizeof(text), "Exceeded MaxRequestBatch of %" G_GINT64_FORMAT, c->cfg.max_batch);
		send_status(c, reply, 409, text);
		broker_probe_hit(c->broker, BROKER_PROBE_JS_PULL_REJECTED);
		return;
	}
	int64_t expires_at = req.expires != 0 ? now + req.expires : 0;
	if (expires_at != 0 && c->cfg.max_expires > 0 && expires_at > now + c->cfg.max_expires) {
		char d[40];
		broker_go_duration(c->cfg.max_expires, d);
		snprintf(text, sizeof(text), "Exceeded MaxRequestExpires of %s", d);
		send_status(c, reply, 409, text);
		broker_probe_hit(c->broker, BROKER_PROBE_JS_PULL_REJECTED);
		return;
	}
	if (req.max_bytes > 0 && c->cfg.max_bytes > 0 && req.max_bytes > c->cfg.max_bytes) {
		snprintf(text, sizeof(text), "Exceeded MaxRequestMaxBytes of %" G_GINT64_FORMAT, c->cfg.max_bytes);
		send_status(c, reply, 409, text);
		broker_probe_hit(c->broker, BROKER_PROBE_JS_PULL_REJECTED);
		return;
	}
	int64_t fexp;
	if (c->wq.n == c->wq.max && now - c->lwqic_ns > JS_NS_PER_S)
		process_waiting(c, false, &fexp);
	if (req.no_wait) {
		uint64_t msgs_pending = num_pending(c) + c->rdq.len;
		if (msgs_pending == 0 && expires_at == 0) {
			c->wq.last_ns = now;
			send_status(c, reply, 404, "No Messages");
			broker_probe_hit(c->broker, BROKER_PROBE_JS_PULL_NO_MESSAGES);
			return;
		}
		if (msgs_pending > 0) {
			int64_t brp = process_waiting(c, false, &fexp);
			if (msgs_pending < (uint64_t)brp) {
				c->wq.last_ns = now;
				send_status(c, reply, 408, "Requests Pending");
				broker_probe_hit(c->broker, BROKER_PROBE_JS_PULL_TIMEOUT);
				return;
			}
		}
	}
	WaitReq *wr = g_new0(WaitReq, 1);
	wr->reply = g_strdup(reply);
	wr->n = req.batch;
	wr->b = req.max_bytes;
	wr->no_wait = req.no_wait;
	wr->expires_ns = expires_at;
	wr->hb_ns = req.heartbeat;
	wr->hbt_ns = req.heartbeat > 0 ? now + req.heartbeat : 0;
	wr->received_ns = now;
	if (!wq_add(&c->wq, wr)) {
		wr_free(wr);
		/* v2.14.5: not answered when the request has heartbeats (the
		 * client waits for the missing heartbeats instead). */
		if (req.heartbeat == 0)
			send_status(c, reply, 409, "Exceeded MaxWaiting");
		broker_probe_hit(c->broker, BROKER_PROBE_JS_PULL_REJECTED);
		return;
	}
	broker_probe_hit(c->broker, BROKER_PROBE_JS_PULL_WAITING);
	signal_new(c);
}

/* ------------------------------------------------------------------ */
/* re-entrancy: enter / leave                                           */
/* ------------------------------------------------------------------ */

static void consumer_destroy(JsConsumer *c);
static void apply_purge(JsConsumer *c, uint64_t first_seq);

static void
enter(JsConsumer *c)
{
	c->busy++;
}

static void
deferred_free(Deferred *d)
{
	g_free(d->subject);
	g_free(d->reply);
	if (d->payload != NULL)
		g_bytes_unref(d->payload);
	g_free(d);
}

static void
run_deferred(JsConsumer *c, Deferred *d)
{
	gsize len = 0;
	const char *p = d->payload != NULL ? g_bytes_get_data(d->payload, &len) : NULL;
	if (d->is_ack)
		handle_ack(c, d->subject, strlen(d->subject), d->reply, p, len);
	else
		process_next_msg_request(c, d->reply, p, len);
}

static void apply_removed(JsConsumer *c, uint64_t sseq);

/* The end of an operation. The outermost one applies what was noted
 * meanwhile and delivers. Returns true when c was freed (then the caller
 * must not touch it). */
static bool
leave(JsConsumer *c)
{
	ASSERT(c->busy > 0);
	if (c->busy == 1) {
		for (int round = 0; round < LEAVE_ROUNDS_MAX && !c->closed; round++) {
			bool did = false;
			while (!c->closed && !g_queue_is_empty(&c->deferred)) {
				Deferred *d = g_queue_pop_head(&c->deferred);
				run_deferred(c, d);
				deferred_free(d);
				did = true;
			}
			if (!c->closed && c->purge_noted) {
				c->purge_noted = false;
				apply_purge(c, c->purge_first_seq);
				did = true;
			}
			for (guint k = 0; !c->closed && k < c->removed_noted->len; k++) {
				apply_removed(c, g_array_index(c->removed_noted, uint64_t, k));
				did = true;
			}
			if (!c->closed)
				g_array_set_size(c->removed_noted, 0);
			if (!c->closed && c->wake) {
				c->wake = false;
				run_delivery(c);
				did = true;
			}
			if (!did)
				break;
		}
		if (!c->closed && (c->wake || c->purge_noted || c->removed_noted->len > 0 || !g_queue_is_empty(&c->deferred)))
			c->kick_at = now_ns(c);
	}
	c->busy--;
	if (c->busy == 0 && c->closed) {
		consumer_destroy(c);
		return true;
	}
	return false;
}

static void
defer_msg(JsConsumer *c, bool is_ack, const BrokerMsgView *msg)
{
	Deferred *d = g_new0(Deferred, 1);
	d->is_ack = is_ack;
	d->subject = g_strndup(msg->subject, msg->subject_len);
	d->reply = msg->reply != NULL ? g_strndup(msg->reply, msg->reply_len) : NULL;
	d->payload = g_bytes_new(msg->payload, msg->payload_len);
	g_queue_push_tail(&c->deferred, d);
}

/* The ack subscription's callback. */
static void
ack_cb(void *ctx, const BrokerMsgView *msg)
{
	JsConsumer *c = ctx;
	if (c->closed)
		return;
	if (c->busy > 0) {
		defer_msg(c, true, msg);
		return;
	}
	enter(c);
	char small[256];
	char *reply = NULL;
	if (msg->reply != NULL && msg->reply_len > 0) {
		if (msg->reply_len < sizeof(small)) {
			memcpy(small, msg->reply, msg->reply_len);
			small[msg->reply_len] = '\0';
			reply = small;
		} else {
			reply = g_strndup(msg->reply, msg->reply_len);
		}
	}
	handle_ack(c, msg->subject, msg->subject_len, reply, (const char *)msg->payload, msg->payload_len);
	if (reply != small)
		g_free(reply);
	leave(c);
}

/* processFlowControl: the client answered the current FC request. */
static void
fc_cb(void *ctx, const BrokerMsgView *msg)
{
	JsConsumer *c = ctx;
	if (c->closed || c->fcid == NULL || strlen(c->fcid) != msg->subject_len ||
	    memcmp(c->fcid, msg->subject, msg->subject_len) != 0)
		return;
	enter(c);
	if (c->maxpb < c->pblimit) {
		c->maxpb *= 2;
		if (c->maxpb > c->pblimit)
			c->maxpb = c->pblimit;
	}
	c->pbytes -= c->fcsz;
	if (c->pbytes < 0)
		c->pbytes = 0;
	g_free(c->fcid);
	c->fcid = NULL;
	c->fcsz = 0;
	signal_new(c);
	leave(c);
}

/* ------------------------------------------------------------------ */
/* lifecycle                                                            */
/* ------------------------------------------------------------------ */

static void
cfg_refresh(JsConsumer *c)
{
	g_free(c->cfg_text);
	json_t *j = cfg_to_json(&c->cfg);
	char *text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	ASSERT(text != NULL);
	c->cfg_text = g_strdup(text);
	free(text);
	json_decref(j);
}

static void
filters_refresh(JsConsumer *c)
{
	g_ptr_array_set_size(c->filters, 0);
	GPtrArray *f = g_ptr_array_new();
	cfg_gather_filters(&c->cfg, f);
	for (guint k = 0; k < f->len; k++)
		g_ptr_array_add(c->filters, g_strdup(f->pdata[k]));
	g_ptr_array_unref(f);
	g_free(c->filters_nt);
	c->filters_nt = g_new0(char *, c->filters->len + 1);
	for (guint k = 0; k < c->filters->len; k++)
		c->filters_nt[k] = c->filters->pdata[k];
}

/* updateInactiveThreshold: ephemerals always have one (5 s, stamped in
 * the config); the timer adds 100 ms plus a random whole number of ms
 * below 900 for ephemerals and pull consumers (broker_random). */
static void
update_inactive_threshold(JsConsumer *c, ConsCfg *cfg)
{
	int64_t jitter = 100 * JS_NS_PER_MS;
	if (!is_durable(c) && cfg->inactive_threshold <= 0) {
		c->dthresh = DELETE_WAIT_DEFAULT_NS + jitter + (int64_t)(broker_random(c->broker) % 900) * JS_NS_PER_MS;
		cfg->inactive_threshold = DELETE_WAIT_DEFAULT_NS;
	} else if (cfg->inactive_threshold > 0) {
		if (cfg->deliver_subject == NULL)
			c->dthresh = cfg->inactive_threshold + jitter +
			    (int64_t)(broker_random(c->broker) % 900) * JS_NS_PER_MS;
		else
			c->dthresh = cfg->inactive_threshold;
	} else {
		c->dthresh = 0;
	}
}

static void
set_rate_limit(JsConsumer *c)
{
	if (c->cfg.rate_limit == 0) {
		c->rl_rate = 0;
		return;
	}
	StreamFacts sf;
	stream_facts(c->stream, &sf);
	c->rl_rate = (double)(c->cfg.rate_limit / 8);
	c->rl_burst = sf.max_msg_size > 0 ? (double)sf.max_msg_size : RATE_BURST_DEFAULT;
	c->rl_tokens = c->rl_burst;
	c->rl_last_ns = now_ns(c);
	stream_facts_clear(&sf);
}

/* A consumer object with its subscriptions, not yet positioned. Takes
 * cfg. */
static JsConsumer *
consumer_new(JsServer *js, JsStream *s, ConsCfg *cfg, const char *name, int64_t created_ns)
{
	JsConsumer *c = g_new0(JsConsumer, 1);
	c->js = js;
	c->broker = js_broker(js);
	c->stream = s;
	c->name = g_strdup(name);
	c->stream_name = g_strdup(js_stream_name(s));
	c->cfg = *cfg;
	memset(cfg, 0, sizeof(*cfg));
	c->created_ns = created_ns;
	c->retention = js_stream_retention(s);
	c->filters = g_ptr_array_new_with_free_func(g_free);
	filters_refresh(c);
	c->rdc.v = g_array_new(FALSE, FALSE, sizeof(RdcEntry));
	c->wq.max = c->cfg.max_waiting;
	/* v2.14.5: max(max_deliver, 0), so -1 (no limit) is 0 */
	c->maxdc = c->cfg.max_deliver > 0 ? (uint64_t)c->cfg.max_deliver : 0;
	c->maxp = c->cfg.max_ack_pending;
	c->sfreq = sample_freq_value(&c->cfg);
	c->dsubj = g_strdup(c->cfg.deliver_subject);
	c->scratch = g_byte_array_new();
	g_queue_init(&c->deferred);
	c->removed_noted = g_array_new(FALSE, FALSE, sizeof(uint64_t));
	c->ptmr_at = c->dtmr_at = c->hb_at = c->wexp_at = c->kick_at = c->save_at = INT64_MAX;
	c->ack_prefix = g_strdup_printf("$JS.ACK.%s.%s.", c->stream_name, c->name);
	c->ack_prefix_len = strlen(c->ack_prefix);
	if (c->cfg.ack != ACK_NONE) {
		char *subj = g_strdup_printf("%s*.*.*.*.*", c->ack_prefix);
		c->ack_sub = broker_internal_subscribe(c->broker, subj, NULL, ack_cb, c);
		ASSERT(c->ack_sub != NULL);
		g_free(subj);
	}
	if (c->cfg.flow_control) {
		c->pblimit = FLOW_CONTROL_MAX_PENDING;
		c->maxpb = c->pblimit / 16;
		char *subj = g_strdup_printf("$JS.FC.%s.%s.*", c->stream_name, c->name);
		c->fc_sub = broker_internal_subscribe(c->broker, subj, NULL, fc_cb, c);
		ASSERT(c->fc_sub != NULL);
		g_free(subj);
	}
	return c;
}

/* What setLeader starts: interest, timers, replay. */
static void
consumer_start(JsConsumer *c)
{
	int64_t now = now_ns(c);
	set_rate_limit(c);
	if (is_push(c)) {
		c->exact_interest = broker_has_exact_interest_queue(c->broker, c->dsubj, c->cfg.deliver_group);
		c->active = c->exact_interest;
		if (c->cfg.heartbeat > 0)
			c->hb_at = now + c->cfg.heartbeat;
	}
	if (c->dthresh > 0 && (is_pull(c) || !c->active)) {
		c->dtmr_set = true;
		c->dtmr_at = now + c->dthresh;
	}
	if (c->cfg.replay != REPLAY_INSTANT) {
		JsStore *st = store_of(c);
		JsStoreState state;
		st->ops->state(st, &state);
		c->replay = true;
		c->replay_lseq = state.last_seq;
	}
}

/* Stops what a deletion tells the world: the DELETED advisory, then
 * "409 Consumer Deleted" to every waiting pull request. */
static void
consumer_stop_notify(JsConsumer *c)
{
	if (c->stopped)
		return;
	c->stopped = true;
	advisory_action(c, false);
	while (c->wq.head != NULL) {
		WaitReq *wr = c->wq.head;
		wq_unlink(&c->wq, NULL, wr);
		send_status(c, wr->reply, 409, "Consumer Deleted");
		wr_free(wr);
	}
}

static void
consumer_destroy(JsConsumer *c)
{
	ASSERT(c->busy == 0);
	while (c->wq.head != NULL) {
		WaitReq *wr = c->wq.head;
		wq_unlink(&c->wq, NULL, wr);
		wr_free(wr);
	}
	Deferred *d;
	while ((d = g_queue_pop_head(&c->deferred)) != NULL)
		deferred_free(d);
	g_array_free(c->removed_noted, TRUE);
	stash_clear(c);
	cfg_clear(&c->cfg);
	g_free(c->cfg_text);
	g_ptr_array_unref(c->filters);
	g_free(c->filters_nt);
	g_free(c->pend.v);
	g_array_unref(c->rdc.v);
	g_free(c->rdq.v);
	if (c->lss != NULL)
		g_array_free(c->lss, TRUE);
	g_free(c->dsubj);
	g_free(c->fcid);
	g_byte_array_unref(c->scratch);
	g_free(c->ack_prefix);
	g_free(c->name);
	g_free(c->stream_name);
	g_free(c);
}

void
js_consumer_free(JsConsumer *c, bool delete_state)
{
	if (c == NULL || c->closed)
		return;
	/* The notifications publish, and a publish may come back here (a
	 * stream capturing the advisory): busy keeps that to a note. */
	enter(c);
	if (delete_state)
		consumer_stop_notify(c);
	broker_internal_unsubscribe(c->broker, c->ack_sub);
	broker_internal_unsubscribe(c->broker, c->fc_sub);
	c->ack_sub = c->fc_sub = NULL;
	if (delete_state) {
		JsStore *st = store_of(c);
		JsStoreStatus status = st->ops->consumer_remove(st, c->name);
		(void)status; /* NOT_FOUND when never saved */
	}
	/* Shutdown and crash alike: nothing more is written, so what is on
	 * storage is the last save (at most STATE_SAVE_INTERVAL_NS old). The
	 * memory goes when the outermost operation on c ends. */
	c->closed = true;
	leave(c);
}

/* Deletes the consumer (API delete, inactive threshold): advisory and
 * 409s, out of the stream (which re-checks interest retention), state
 * removed. */
static void
consumer_delete(JsConsumer *c)
{
	consumer_stop_notify(c);
	js_stream_consumer_remove(c->stream, c);
	js_consumer_free(c, true);
}

/* ------------------------------------------------------------------ */
/* persisted state                                                      */
/* ------------------------------------------------------------------ */

#define STATE_MAGIC 0x5343534eu /* "NSCS" */
#define STATE_VERSION 1u

static void
put_u32(GByteArray *b, uint32_t v)
{
	uint8_t x[4];
	for (int k = 0; k < 4; k++)
		x[k] = (uint8_t)(v >> (8 * k));
	g_byte_array_append(b, x, 4);
}

static void
put_u64(GByteArray *b, uint64_t v)
{
	uint8_t x[8];
	for (int k = 0; k < 8; k++)
		x[k] = (uint8_t)(v >> (8 * k));
	g_byte_array_append(b, x, 8);
}

typedef struct Reader {
	const uint8_t *p;
	size_t len, pos;
	bool bad;
} Reader;

static uint64_t
get_n(Reader *r, int n)
{
	if (r->bad || r->len - r->pos < (size_t)n) {
		r->bad = true;
		return 0;
	}
	uint64_t v = 0;
	for (int k = 0; k < n; k++)
		v |= (uint64_t)r->p[r->pos + (size_t)k] << (8 * k);
	r->pos += (size_t)n;
	return v;
}

/* The blob: magic, version, created, config JSON, delivered, ack floor,
 * pending (sseq, dseq, ts), redelivery counts; little-endian. */
static GByteArray *
state_encode(JsConsumer *c)
{
	GByteArray *b = g_byte_array_sized_new((guint)(64 + strlen(c->cfg_text) + c->pend.live * 24 + c->rdc.v->len * 16));
	put_u32(b, STATE_MAGIC);
	put_u32(b, STATE_VERSION);
	put_u64(b, (uint64_t)c->created_ns);
	size_t clen = strlen(c->cfg_text);
	put_u32(b, (uint32_t)clen);
	g_byte_array_append(b, (const guint8 *)c->cfg_text, (guint)clen);
	put_u64(b, c->dseq - 1);
	put_u64(b, c->sseq - 1);
	put_u64(b, c->adflr);
	put_u64(b, c->asflr);
	put_u32(b, (uint32_t)c->pend.live);
	for (size_t k = c->pend.head; k < c->pend.tail; k++) {
		const PendEntry *e = &c->pend.v[k];
		if (e->dseq == 0)
			continue;
		put_u64(b, e->sseq);
		put_u64(b, e->dseq);
		put_u64(b, (uint64_t)e->ts_ns);
	}
	put_u32(b, c->rdc.v->len);
	for (guint k = 0; k < c->rdc.v->len; k++) {
		const RdcEntry *r = &g_array_index(c->rdc.v, RdcEntry, k);
		put_u64(b, r->sseq);
		put_u64(b, r->count);
	}
	return b;
}

static void
save_state(JsConsumer *c)
{
	int64_t now = now_ns(c);
	c->dirty = false;
	c->save_at = INT64_MAX;
	c->last_save_ns = now;
	GByteArray *b = state_encode(c);
	JsStore *st = store_of(c);
	JsStoreStatus status = st->ops->consumer_save(st, c->name, b->data, b->len);
	g_byte_array_unref(b);
	if (status != JS_STORE_OK) {
		broker_log(c->broker, BROKER_LOG_ERROR, "JetStream consumer '%s > %s > %s' state not saved: %s", "$G",
		    c->stream_name, c->name, js_store_status_str(status));
		broker_probe_hit(c->broker, BROKER_PROBE_JS_STORE_FAILED);
		c->dirty = true;
		c->save_at = now + STATE_SAVE_INTERVAL_NS;
	}
}

void
js_consumer_flush(JsConsumer *c)
{
	if (c->dirty)
		save_state(c);
}

JsConsumer *
js_consumer_restore(JsServer *js, JsStream *s, const char *name, const void *blob, size_t len, char **error)
{
	ASSERT(js != NULL && s != NULL && name != NULL && error != NULL);
	Reader r = { blob, len, 0, false };
	uint32_t magic = (uint32_t)get_n(&r, 4), version = (uint32_t)get_n(&r, 4);
	if (r.bad || magic != STATE_MAGIC || version != STATE_VERSION) {
		*error = g_strdup("consumer state: unknown format");
		return NULL;
	}
	int64_t created = (int64_t)get_n(&r, 8);
	uint32_t clen = (uint32_t)get_n(&r, 4);
	if (r.bad || r.len - r.pos < clen) {
		*error = g_strdup("consumer state: truncated");
		return NULL;
	}
	json_t *j = json_loadb((const char *)r.p + r.pos, clen, 0, NULL);
	r.pos += clen;
	ConsCfg cfg = { 0 };
	if (j == NULL || !json_is_object(j) || !decode_object(&cfg, cfg_fields, j, "ConsumerConfig", NULL)) {
		json_decref(j);
		cfg_clear(&cfg);
		*error = g_strdup("consumer state: bad configuration");
		return NULL;
	}
	json_decref(j);
	uint64_t dcons = get_n(&r, 8), dstream = get_n(&r, 8), adflr = get_n(&r, 8), asflr = get_n(&r, 8);
	uint32_t np = (uint32_t)get_n(&r, 4);
	if (r.bad || (r.len - r.pos) / 24 < np) {
		cfg_clear(&cfg);
		*error = g_strdup("consumer state: truncated");
		return NULL;
	}
	JsConsumer *c = consumer_new(js, s, &cfg, name, created);
	for (uint32_t k = 0; k < np; k++) {
		uint64_t sseq = get_n(&r, 8), dseq = get_n(&r, 8);
		int64_t ts = (int64_t)get_n(&r, 8);
		if (dseq != 0)
			pend_insert(&c->pend, sseq, dseq, ts);
	}
	uint32_t nr = (uint32_t)get_n(&r, 4);
	for (uint32_t k = 0; k < nr && !r.bad; k++) {
		uint64_t sseq = get_n(&r, 8), count = get_n(&r, 8);
		if (!r.bad)
			rdc_get(&c->rdc, sseq)->count = count;
	}
	if (r.bad || r.pos != r.len) {
		js_consumer_free(c, false);
		*error = g_strdup("consumer state: truncated");
		return NULL;
	}
	/* applyState, then checkRedelivered */
	c->sseq = dstream + 1;
	c->dseq = dcons + 1;
	c->adflr = adflr;
	c->asflr = asflr;
	JsStore *st = store_of(c);
	JsStoreState state;
	st->ops->state(st, &state);
	for (guint k = 0; k < c->rdc.v->len;) {
		RdcEntry *e = &g_array_index(c->rdc.v, RdcEntry, k);
		if (e->sseq <= c->asflr || (state.last_seq > 0 && e->sseq > state.last_seq))
			g_array_remove_index(c->rdc.v, k);
		else
			k++;
	}
	update_inactive_threshold(c, &c->cfg);
	cfg_refresh(c);
	c->last_save_ns = now_ns(c);
	stream_num_pending(c);
	consumer_start(c);
	/* setLeader runs checkPending at once when state came back with
	 * pending messages: here at the first tick. */
	if (c->pend.live > 0)
		c->ptmr_at = now_ns(c);
	return c;
}

/* ------------------------------------------------------------------ */
/* timers                                                               */
/* ------------------------------------------------------------------ */

int64_t
js_consumer_next_deadline(JsConsumer *c)
{
	int64_t d = c->ptmr_at;
	d = MIN(d, c->dtmr_at);
	d = MIN(d, c->hb_at);
	d = MIN(d, c->wexp_at);
	d = MIN(d, c->kick_at);
	d = MIN(d, c->save_at);
	if (c->stash.active)
		d = MIN(d, c->stash.at_ns);
	return d;
}

/* deleteNotActive (v2.14.5). Push: gone unless active. Pull: not before
 * the threshold has passed since the last request (or delivery or ack),
 * not while a request waits with interest, and not before the last
 * pending message's ack wait plus the threshold. Returns true when the
 * consumer went. */
static bool
delete_not_active(JsConsumer *c)
{
	int64_t now = now_ns(c);
	if (is_push(c)) {
		if (c->active)
			return false;
	} else {
		int64_t elapsed = c->wq.last_ns == 0 ? INT64_MAX : now - c->wq.last_ns;
		if (elapsed < c->dthresh) {
			c->dtmr_at = now + (c->dthresh - elapsed);
			return false;
		}
		int64_t fexp;
		process_waiting(c, true, &fexp);
		if (c->wq.n > 0) {
			c->dtmr_at = now + c->dthresh;
			return false;
		}
		int64_t delay = 0;
		guint l = backoff_len(&c->cfg);
		for (size_t k = c->pend.head; k < c->pend.tail; k++) {
			const PendEntry *e = &c->pend.v[k];
			if (e->dseq == 0)
				continue;
			int64_t aw = ack_wait_delay(c, 0);
			if (l > 0) {
				RdcEntry *r = rdc_find(&c->rdc, e->sseq);
				int64_t bi = r != NULL ? (int64_t)r->count : 0;
				if (bi < 0)
					bi = 0;
				else if (bi >= (int64_t)l)
					bi = (int64_t)l - 1;
				aw = ack_wait_delay(c, backoff_at(&c->cfg, (guint)bi));
			}
			int64_t ts = e->ts_ns + aw + c->dthresh;
			if (ts > now && ts - now > delay)
				delay = ts - now;
		}
		if (delay > 0) {
			c->dtmr_at = now + delay;
			return false;
		}
	}
	broker_probe_hit(c->broker, BROKER_PROBE_JS_INACTIVE_DELETED);
	consumer_delete(c);
	return true;
}

void
js_consumer_on_timer(JsConsumer *c, int64_t now)
{
	ASSERT(c != NULL);
	if (c->closed)
		return;
	enter(c);
	if (c->kick_at <= now) {
		c->kick_at = INT64_MAX;
		if (c->interest_check && is_push(c)) {
			c->interest_check = false;
			bool exact = broker_has_exact_interest_queue(c->broker, c->dsubj, c->cfg.deliver_group);
			if (exact != c->exact_interest) {
				c->exact_interest = exact;
				update_delivery_interest(c, exact);
			}
		}
		signal_new(c);
	}
	if (c->stash.active && c->stash.at_ns <= now)
		stash_release(c);
	if (!c->closed && c->ptmr_at <= now)
		check_pending(c);
	if (!c->closed && c->wexp_at <= now) {
		c->wexp_at = INT64_MAX;
		int64_t fexp;
		process_waiting(c, true, &fexp);
		signal_new(c);
	}
	if (!c->closed && c->hb_at <= now) {
		if (c->active)
			send_idle_heartbeat(c, c->cfg.deliver_subject);
		c->hb_at = now + c->cfg.heartbeat;
	}
	if (!c->closed && c->dtmr_at <= now) {
		c->dtmr_at = INT64_MAX;
		if (delete_not_active(c)) {
			leave(c);
			return;
		}
	}
	if (!c->closed && c->save_at <= now)
		save_state(c);
	leave(c);
}

/* ------------------------------------------------------------------ */
/* stream events                                                        */
/* ------------------------------------------------------------------ */

void
js_consumer_on_stored(JsConsumer *c, uint64_t seq, const char *subject)
{
	if (c->closed || !filter_matches(c, subject, strlen(subject)))
		return;
	if (seq > c->npf)
		c->npc++;
	if (seq < c->sseq)
		return;
	if (!((is_push(c) && c->active) || (is_pull(c) && c->wq.n > 0)))
		return;
	signal_new(c);
	if (c->busy > 0)
		return;
	enter(c);
	leave(c);
}

/* purge (nats-server consumer.purge), for what the stream reports: all
 * below first_seq is gone. Only pending entries (and their redelivery
 * slots and counts) below it go; the floor jumps to the delivered
 * position when nothing is pending. */
static void
apply_purge(JsConsumer *c, uint64_t first_seq)
{
	if (first_seq == 0)
		return;
	bool changed = false;
	if (c->sseq < first_seq) {
		c->sseq = first_seq;
		stream_num_pending(c);
		changed = true;
	}
	if (c->asflr < first_seq - 1) {
		c->asflr = first_seq - 1;
		bool dropped = false;
		while (c->pend.live > 0 && c->pend.v[c->pend.head].sseq <= c->asflr) {
			PendEntry *e = &c->pend.v[c->pend.head];
			if (e->dseq > c->adflr) {
				c->adflr = e->dseq;
				if (c->adflr > c->dseq)
					c->dseq = c->adflr;
			}
			pend_drop(c, e);
			dropped = true;
		}
		if (dropped)
			update_acks(c, NULL); /* v2.14.5 counts these as acks */
		rdc_delete_upto(&c->rdc, c->asflr);
		changed = true;
	}
	if (c->pend.live == 0 && (c->adflr != c->dseq - 1 || c->asflr != c->sseq - 1)) {
		c->adflr = c->dseq - 1;
		c->asflr = c->sseq - 1;
		changed = true;
	}
	if (changed)
		mark_dirty(c);
}

void
js_consumer_on_stream_purged(JsConsumer *c, uint64_t first_seq)
{
	if (c->closed)
		return;
	if (c->busy > 0) {
		if (!c->purge_noted || first_seq > c->purge_first_seq)
			c->purge_first_seq = first_seq;
		c->purge_noted = true;
		return;
	}
	enter(c);
	apply_purge(c, first_seq);
	signal_new(c);
	leave(c);
}

/* decStreamPending (v2.14.5): the stream removed sseq by itself (a
 * message delete, a limit, max_age). A pending message ends like a +TERM
 * with the reason "Unacknowledged message was deleted" (out of pending,
 * the MSG_TERMINATED advisory); otherwise its redelivery count goes. */
static void
apply_removed(JsConsumer *c, uint64_t sseq)
{
	PendEntry *e = pend_find(&c->pend, sseq);
	if (e != NULL) {
		bool replies = false;
		process_term(c, sseq, e->dseq, delivery_count(c, sseq), "Unacknowledged message was deleted", NULL,
		    &replies);
	} else if (rdc_find(&c->rdc, sseq) != NULL) {
		rdc_delete(&c->rdc, sseq);
		mark_dirty(c);
	}
}

void
js_consumer_on_stream_removed(JsConsumer *c, uint64_t seq, const char *subject)
{
	if (c->closed || !filter_matches(c, subject, strlen(subject)))
		return;
	if (c->busy > 0) {
		g_array_append_val(c->removed_noted, seq);
		return;
	}
	enter(c);
	apply_removed(c, seq);
	leave(c);
}

void
js_consumer_on_interest(JsConsumer *c, const char *subject, const char *queue)
{
	(void)queue;
	if (c->closed || !is_push(c) || strcmp(subject, c->dsubj) != 0)
		return;
	c->interest_check = true;
	c->kick_at = broker_now_ns(c->broker);
}

/* ------------------------------------------------------------------ */
/* the contract's accessors                                             */
/* ------------------------------------------------------------------ */

const char *
js_consumer_name(const JsConsumer *c)
{
	return c->name;
}

bool
js_consumer_is_durable(const JsConsumer *c)
{
	return is_durable(c);
}

bool
js_consumer_filter_matches(const JsConsumer *c, const char *subject)
{
	return filter_matches(c, subject, strlen(subject));
}

const char *const *
js_consumer_filters(const JsConsumer *c)
{
	return (const char *const *)c->filters_nt;
}

/* needAck */
bool
js_consumer_needs_ack(const JsConsumer *c, uint64_t seq, const char *subject)
{
	if (subject != NULL && !filter_matches(c, subject, strlen(subject)))
		return false;
	bool need = false;
	if (c->cfg.ack == ACK_EXPLICIT) {
		if (seq > c->asflr)
			need = seq >= c->sseq || pend_find((PendTable *)&c->pend, seq) != NULL;
	} else {
		need = seq > c->asflr;
	}
	if (!need)
		need = rdc_find(&c->rdc, seq) != NULL;
	return need;
}

/* ------------------------------------------------------------------ */
/* ConsumerInfo                                                         */
/* ------------------------------------------------------------------ */

static json_t *
seq_info(uint64_t cseq, uint64_t sseq, int64_t last_ns)
{
	json_t *j = json_object();
	json_object_set_new(j, "consumer_seq", json_integer((json_int_t)cseq));
	json_object_set_new(j, "stream_seq", json_integer((json_int_t)sseq));
	if (last_ns != 0)
		json_object_set_new(j, "last_active", broker_json_time(last_ns));
	return j;
}

/* num_waiting after processWaiting(false) would prune: requests neither
 * expired nor without interest. Read-only here (no 408 is sent from an
 * info call); a request that would go makes the timer look at once. */
static int64_t
count_waiting(JsConsumer *c)
{
	int64_t now = now_ns(c), n = 0;
	for (WaitReq *wr = c->wq.head; wr != NULL; wr = wr->next) {
		if ((wr->expires_ns == 0 || now < wr->expires_ns) && broker_has_interest(c->broker, wr->reply))
			n++;
	}
	if (n < c->wq.n)
		c->kick_at = now;
	return n;
}

json_t *
js_consumer_info_json(JsConsumer *c, bool with_config)
{
	ASSERT(c != NULL);
	json_t *j = json_object();
	json_object_set_new(j, "stream_name", json_string(c->stream_name));
	json_object_set_new(j, "name", json_string(c->name));
	json_object_set_new(j, "created", broker_json_time(c->created_ns));
	if (with_config)
		json_object_set_new(j, "config", cfg_to_json(&c->cfg));
	json_object_set_new(j, "delivered", seq_info(c->dseq - 1, c->sseq - 1, c->ldt_ns));
	json_object_set_new(j, "ack_floor", seq_info(c->adflr, c->asflr, c->lat_ns));
	json_object_set_new(j, "num_ack_pending", json_integer((json_int_t)c->pend.live));
	/* v2.11.4+: with max_deliver 1 nothing is redelivered, so nothing is
	 * reported (the counts are still kept) */
	json_object_set_new(j, "num_redelivered", json_integer(c->cfg.max_deliver == 1 ? 0 : (json_int_t)c->rdc.v->len));
	json_object_set_new(j, "num_waiting", json_integer(is_pull(c) ? count_waiting(c) : 0));
	/* nats-server keeps num_pending exact through per-removal
	 * notifications; natsim counts it from the store here. */
	stream_num_pending(c);
	json_object_set_new(j, "num_pending", json_integer((json_int_t)num_pending(c)));
	if (is_push(c) && c->active)
		json_object_set_new(j, "push_bound", json_true());
	json_object_set_new(j, "ts", broker_json_time(now_ns(c)));
	return j;
}

/* ------------------------------------------------------------------ */
/* creating and updating                                                */
/* ------------------------------------------------------------------ */

/* partitionUnique: no other consumer's filter collides with these. */
static bool
partition_unique(JsStream *s, const char *name, GPtrArray *subjects)
{
	GPtrArray *all = js_stream_consumers(s);
	for (guint k = 0; k < subjects->len; k++) {
		for (guint j = 0; j < all->len; j++) {
			JsConsumer *o = all->pdata[j];
			if (name != NULL && strcmp(o->name, name) == 0)
				continue;
			if (o->filters->len == 0)
				return false;
			for (guint f = 0; f < o->filters->len; f++) {
				if (subjects_collide(subjects->pdata[k], o->filters->pdata[f]))
					return false;
			}
		}
	}
	return true;
}

/* checkNewConsumerConfig: what an update may change. */
static bool
check_new_config(JsConsumer *c, const ConsCfg *cur, const ConsCfg *ncfg, ApiErr *e)
{
	if (cfg_equal(cur, ncfg))
		return true;
	const char *why = NULL;
	if (cur->deliver != ncfg->deliver)
		why = "deliver policy can not be updated";
	else if (cur->mem_storage != ncfg->mem_storage)
		why = "storage type can not be updated";
	else if (cur->opt_start_seq != ncfg->opt_start_seq)
		why = "start sequence can not be updated";
	else if (cur->start_time_set != ncfg->start_time_set ||
	    (cur->start_time_set && cur->start_time_ns != ncfg->start_time_ns))
		why = "start time can not be updated";
	else if (cur->ack != ncfg->ack)
		why = "ack policy can not be updated";
	else if (cur->replay != ncfg->replay)
		why = "replay policy can not be updated";
	else if (cur->heartbeat != ncfg->heartbeat)
		why = "heart beats can not be updated";
	else if (cur->flow_control != ncfg->flow_control)
		why = "flow control can not be updated";
	if (why != NULL)
		return api_err_set(e, 10012, why);
	if (!str_eq(cur->deliver_subject, ncfg->deliver_subject)) {
		if (cur->deliver_subject == NULL)
			return api_err_set(e, 10012, "can not update pull consumer to push based");
		if (ncfg->deliver_subject == NULL)
			return api_err_set(e, 10012, "can not update push consumer to pull based");
		if (broker_has_interest(c->broker, cur->deliver_subject))
			return api_err_set(e, 10013, NULL);
	}
	if (cur->max_waiting != ncfg->max_waiting)
		return api_err_set(e, 10012, "max waiting can not be updated");
	guint lbo = backoff_len(ncfg);
	if (lbo > 0 && ncfg->max_deliver != -1 && (int64_t)lbo > ncfg->max_deliver)
		return api_err_set(e, 10116, NULL);
	return true;
}

/* updateConfig: applies an allowed update in place. Takes ncfg. */
static bool
update_config(JsConsumer *c, ConsCfg *ncfg, ApiErr *e)
{
	if (!check_new_config(c, &c->cfg, ncfg, e))
		return false;
	if (!str_eq(ncfg->deliver_subject, c->cfg.deliver_subject) && is_push(c)) {
		/* updateDeliverSubjectLocked: everything pending goes again
		 * to the new subject, whose interest decides activity. */
		if (c->pend.live > 0)
			force_expire_pending(c);
		g_free(c->dsubj);
		c->dsubj = g_strdup(ncfg->deliver_subject);
		set_str(&c->cfg.deliver_subject, ncfg->deliver_subject);
		c->exact_interest = broker_has_exact_interest_queue(c->broker, c->dsubj, ncfg->deliver_group);
		update_delivery_interest(c, c->exact_interest);
	}
	if (ncfg->max_ack_pending != c->cfg.max_ack_pending) {
		c->maxp = ncfg->max_ack_pending;
		signal_new(c);
	}
	if (ncfg->ack_wait != c->cfg.ack_wait && c->ptmr_at != INT64_MAX)
		reset_ptmr(c, 100 * JS_NS_PER_MS);
	bool rate_changed = ncfg->rate_limit != c->cfg.rate_limit;
	if (!str_eq(ncfg->sample_freq, c->cfg.sample_freq))
		c->sfreq = sample_freq_value(ncfg);
	if (ncfg->max_deliver != c->cfg.max_deliver)
		c->maxdc = ncfg->max_deliver > 0 ? (uint64_t)ncfg->max_deliver : 0;
	if (ncfg->inactive_threshold != c->cfg.inactive_threshold) {
		update_inactive_threshold(c, ncfg);
		c->dtmr_set = false;
		c->dtmr_at = INT64_MAX;
		if (c->dthresh > 0) {
			c->dtmr_set = true;
			c->dtmr_at = now_ns(c) + c->dthresh;
		}
	}
	cfg_clear(&c->cfg);
	c->cfg = *ncfg;
	memset(ncfg, 0, sizeof(*ncfg));
	filters_refresh(c);
	if (rate_changed)
		set_rate_limit(c);
	cfg_refresh(c);
	stream_num_pending(c);
	save_state(c);
	return true;
}

static size_t
public_consumer_count(JsStream *s)
{
	GPtrArray *all = js_stream_consumers(s);
	size_t n = 0;
	for (guint k = 0; k < all->len; k++)
		n += !((JsConsumer *)all->pdata[k])->cfg.direct;
	return n;
}

/* addConsumerWithAction. Takes cfg. Returns the new or updated consumer
 * (*created tells which) entered (see leave), or NULL with e set. */
static JsConsumer *
add_consumer(JsServer *js, JsStream *s, ConsCfg *cfg, int action, ApiErr *e, bool *created)
{
	*created = false;
	StreamFacts sf;
	stream_facts(s, &sf);
	cfg_set_defaults(cfg, &sf, js);
	bool ok = cfg_check(cfg, &sf, js, e);
	stream_facts_clear(&sf);
	if (!ok)
		return NULL;
	const char *cname = cfg->durable != NULL ? cfg->durable : cfg->name;
	if (cname != NULL) {
		JsConsumer *eo = js_stream_consumer_find(s, cname);
		if (eo != NULL) {
			if (action == ACTION_CREATE && !cfg_equal(cfg, &eo->cfg)) {
				api_err_set(e, 10148, NULL);
				return NULL;
			}
			if (js_stream_retention(s) == JS_RETENTION_WORKQUEUE) {
				GPtrArray *subjects = g_ptr_array_new();
				cfg_gather_filters(cfg, subjects);
				bool unique = partition_unique(s, cname, subjects);
				g_ptr_array_unref(subjects);
				if (!unique) {
					api_err_set(e, 10100, NULL);
					return NULL;
				}
			}
			/* Returned entered: the caller answers, then leaves. */
			enter(eo);
			if (!update_config(eo, cfg, e)) {
				leave(eo);
				return NULL;
			}
			return eo;
		}
	}
	if (action == ACTION_UPDATE) {
		api_err_set(e, 10149, NULL);
		return NULL;
	}
	int64_t maxc = js_stream_max_consumers(s);
	if (maxc > 0 && (int64_t)public_consumer_count(s) >= maxc) {
		api_err_set(e, 10026, NULL);
		return NULL;
	}
	if (js_stream_retention(s) == JS_RETENTION_WORKQUEUE && !cfg->direct) {
		if (cfg->ack != ACK_EXPLICIT) {
			api_err_set(e, 10098, NULL);
			return NULL;
		}
		if (cfg->deliver != DELIVER_ALL) {
			api_err_set(e, 10101, NULL);
			return NULL;
		}
		if (js_stream_consumers(s)->len > 0) {
			GPtrArray *subjects = g_ptr_array_new();
			cfg_gather_filters(cfg, subjects);
			bool unique = subjects->len > 0 && partition_unique(s, cname, subjects);
			uint32_t code = subjects->len == 0 ? 10099 : 10100;
			g_ptr_array_unref(subjects);
			if (!unique) {
				api_err_set(e, code, NULL);
				return NULL;
			}
		}
	}
	char name_buf[9];
	const char *name;
	if (cfg->durable != NULL) {
		if (strlen(cfg->durable) > NAME_LEN_MAX) {
			api_err_set(e, 10102, "255");
			return NULL;
		}
		name = cfg->durable;
	} else if (cfg->name != NULL) {
		name = cfg->name;
	} else {
		/* Legacy ephemeral: a random name. nats-server writes it into
		 * the request's config after copying that into the consumer,
		 * so the echo shows no "name". */
		do
			js_random_name(js, name_buf);
		while (js_stream_consumer_find(s, name_buf) != NULL);
		name = name_buf;
	}
	if (!name_valid(name)) {
		api_err_set(e, 10103, NULL);
		return NULL;
	}
	char *owned_name = g_strdup(name);
	JsConsumer *c = consumer_new(js, s, cfg, owned_name, broker_now_ns(js_broker(js)));
	g_free(owned_name);
	select_start_seq(c);
	stream_num_pending(c);
	update_inactive_threshold(c, &c->cfg);
	cfg_refresh(c);
	consumer_start(c);
	js_stream_consumer_add(s, c);
	save_state(c);
	advisory_action(c, true);
	*created = true;
	enter(c);
	return c;
}

/* ------------------------------------------------------------------ */
/* the API                                                              */
/* ------------------------------------------------------------------ */

typedef struct CreateReq {
	char *stream_name;
	int action;
} CreateReq;

static const Field create_fields[] = {
	{ "stream_name", K_STR, offsetof(CreateReq, stream_name), NO_FLAG, "string" },
	{ "action", K_ACTION, offsetof(CreateReq, action), NO_FLAG, "server.ConsumerAction" },
	{ NULL, 0, 0, 0, NULL },
};

static void
respond_error(JsServer *js, const BrokerMsgView *msg, const char *type, uint32_t code, const char *detail)
{
	js_api_respond(js, msg, js_api_error_response(type, code, detail));
}

/* Paged responses carry total/offset/limit and the list, errors too. */
static void
respond_paged_error(JsServer *js, const BrokerMsgView *msg, const char *type, uint32_t code)
{
	json_t *r = js_api_error_response(type, code, NULL);
	json_object_set_new(r, "total", json_integer(0));
	json_object_set_new(r, "offset", json_integer(0));
	json_object_set_new(r, "limit", json_integer(0));
	json_object_set_new(r, "consumers", json_array());
	js_api_respond(js, msg, r);
}

static json_t *
info_response(JsConsumer *c, const char *type)
{
	json_t *r = js_api_response_new(type);
	json_t *info = js_consumer_info_json(c, true);
	json_object_update(r, info);
	json_decref(info);
	return r;
}

/* isEmptyRequest: nothing, or an empty JSON object. */
static bool
empty_request(const BrokerMsgView *msg)
{
	if (msg->payload_len == 0)
		return true;
	json_t *j = json_loadb((const char *)msg->payload, msg->payload_len, JSON_DECODE_ANY, NULL);
	bool empty = j != NULL && json_is_object(j) && json_object_size(j) == 0;
	json_decref(j);
	return empty;
}

void
js_consumer_api_create(JsServer *js, const BrokerMsgView *msg, const char *stream, const char *consumer,
    const char *filter, bool legacy_durable)
{
	static const char *T = "consumer_create_response";
	json_t *body = js_parse_body(msg);
	CreateReq req = { 0 };
	ConsCfg cfg = { 0 };
	bool ok = body != NULL && decode_object(&req, create_fields, body, "CreateConsumerRequest", NULL);
	if (ok) {
		/* "config": exact key first, then any case */
		json_t *cj = json_object_get(body, "config");
		if (cj == NULL) {
			const char *k;
			json_t *v;
			json_object_foreach(body, k, v) {
				if (g_ascii_strcasecmp(k, "config") == 0)
					cj = v;
			}
		}
		if (cj != NULL && !json_is_null(cj))
			ok = json_is_object(cj) && decode_object(&cfg, cfg_fields, cj, "ConsumerConfig", NULL);
	}
	json_decref(body);
	/* v2.14.5: the legacy ephemeral form's name is the config's */
	const char *name = consumer != NULL ? consumer : cfg.name;
	uint32_t code = 0;
	if (!ok)
		code = 10025;
	else if (legacy_durable && consumer == NULL)
		code = 10016;
	else if (!str_eq(stream, req.stream_name))
		code = 10056;
	else if (name != NULL && (strchr(name, '/') != NULL || strchr(name, '\\') != NULL))
		code = 10127;
	else if (legacy_durable && cfg.durable == NULL)
		code = 10018;
	else if (legacy_durable && strcmp(consumer, cfg.durable) != 0)
		code = 10017;
	else if (!legacy_durable && consumer != NULL && cfg.durable != NULL && strcmp(consumer, cfg.durable) != 0)
		code = 10017;
	else if (!legacy_durable && consumer == NULL && cfg.durable != NULL)
		code = 10020;
	else if (filter != NULL && filters_len(&cfg) > 0)
		code = 10137;
	else if (filter != NULL && !str_eq(cfg.filter_subject, filter))
		code = 10131;
	else if (cfg.replicas > 1)
		code = 10074;
	JsStream *s = NULL;
	if (code == 0 && (s = js_stream_find(js, stream)) == NULL)
		code = 10059;
	if (code != 0) {
		cfg_clear(&cfg);
		g_free(req.stream_name);
		respond_error(js, msg, T, code, NULL);
		return;
	}
	/* the name from the subject is the config's (v2.14.5: for
	 * DURABLE.CREATE too) */
	if (consumer != NULL)
		set_str(&cfg.name, consumer);
	g_free(req.stream_name);
	ApiErr e = { 0, NULL };
	bool created;
	JsConsumer *c = add_consumer(js, s, &cfg, req.action, &e, &created);
	cfg_clear(&cfg);
	if (c == NULL) {
		respond_error(js, msg, T, e.code, e.detail);
		g_free(e.detail);
		return;
	}
	g_free(e.detail);
	js_api_respond(js, msg, info_response(c, T));
	signal_new(c);
	leave(c);
}

void
js_consumer_api_info(JsServer *js, const BrokerMsgView *msg, const char *stream, const char *consumer)
{
	static const char *T = "consumer_info_response";
	if (!empty_request(msg)) {
		respond_error(js, msg, T, 10038, NULL);
		return;
	}
	JsStream *s = js_stream_find(js, stream);
	if (s == NULL) {
		respond_error(js, msg, T, 10059, NULL);
		return;
	}
	JsConsumer *c = js_stream_consumer_find(s, consumer);
	if (c == NULL || c->closed) {
		respond_error(js, msg, T, 10014, NULL);
		return;
	}
	js_api_respond(js, msg, info_response(c, T));
}

void
js_consumer_api_delete(JsServer *js, const BrokerMsgView *msg, const char *stream, const char *consumer)
{
	static const char *T = "consumer_delete_response";
	if (!empty_request(msg)) {
		respond_error(js, msg, T, 10038, NULL);
		return;
	}
	JsStream *s = js_stream_find(js, stream);
	if (s == NULL) {
		respond_error(js, msg, T, 10059, NULL);
		return;
	}
	JsConsumer *c = js_stream_consumer_find(s, consumer);
	if (c == NULL || c->closed) {
		respond_error(js, msg, T, 10014, NULL);
		return;
	}
	consumer_delete(c);
	json_t *r = js_api_response_new(T);
	json_object_set_new(r, "success", json_true());
	js_api_respond(js, msg, r);
}

/* JSApiConsumersRequest: {"offset": n}. false on bad JSON. */
static bool
paged_offset(const BrokerMsgView *msg, int64_t *offset)
{
	*offset = 0;
	if (empty_request(msg))
		return true;
	json_t *j = js_parse_body(msg);
	static const Field fields[] = { { "offset", K_INT, 0, NO_FLAG, "int" }, { NULL, 0, 0, 0, NULL } };
	bool ok = j != NULL && decode_object(offset, fields, j, "JSApiConsumersRequest", NULL);
	json_decref(j);
	if (*offset < 0)
		*offset = 0;
	return ok;
}

static void
api_names_or_list(JsServer *js, const BrokerMsgView *msg, const char *stream, bool list)
{
	const char *T = list ? "consumer_list_response" : "consumer_names_response";
	int64_t offset;
	if (!paged_offset(msg, &offset)) {
		respond_paged_error(js, msg, T, 10025);
		return;
	}
	JsStream *s = js_stream_find(js, stream);
	if (s == NULL) {
		respond_paged_error(js, msg, T, 10059);
		return;
	}
	GPtrArray *all = js_stream_consumers(s);
	GPtrArray *pub = g_ptr_array_new();
	for (guint k = 0; k < all->len; k++) {
		JsConsumer *c = all->pdata[k];
		if (!c->cfg.direct && !c->closed)
			g_ptr_array_add(pub, c);
	}
	int64_t total = pub->len;
	if (offset > total)
		offset = total;
	int64_t limit = list ? LIST_LIMIT : NAMES_LIMIT;
	json_t *items = json_array();
	for (int64_t k = offset; k < total && (int64_t)json_array_size(items) < limit; k++) {
		JsConsumer *c = pub->pdata[k];
		json_array_append_new(items, list ? js_consumer_info_json(c, true) : json_string(c->name));
	}
	g_ptr_array_unref(pub);
	json_t *r = js_api_response_new(T);
	json_object_set_new(r, "total", json_integer(total));
	json_object_set_new(r, "offset", json_integer(offset));
	json_object_set_new(r, "limit", json_integer(limit));
	json_object_set_new(r, "consumers", items);
	js_api_respond(js, msg, r);
}

void
js_consumer_api_names(JsServer *js, const BrokerMsgView *msg, const char *stream)
{
	api_names_or_list(js, msg, stream, false);
}

void
js_consumer_api_list(JsServer *js, const BrokerMsgView *msg, const char *stream)
{
	api_names_or_list(js, msg, stream, true);
}

void
js_consumer_api_msg_next(JsServer *js, const BrokerMsgView *msg, const char *stream, const char *consumer)
{
	if (msg->reply == NULL || msg->reply_len == 0)
		return;
	JsStream *s = js_stream_find(js, stream);
	JsConsumer *c = s != NULL ? js_stream_consumer_find(s, consumer) : NULL;
	if (c == NULL || c->closed)
		return;
	if (c->busy > 0) {
		defer_msg(c, false, msg);
		return;
	}
	enter(c);
	char *reply = g_strndup(msg->reply, msg->reply_len);
	process_next_msg_request(c, reply, (const char *)msg->payload, msg->payload_len);
	g_free(reply);
	leave(c);
}
