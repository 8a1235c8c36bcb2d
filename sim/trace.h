/*
 * trace.h - the run's trace: every observable event, and its fingerprint.
 *
 * An event is (virtual time, node, kind, fields). Each event is hashed by
 * folding, a 64-bit word at a time, its time, the hashes of its node's
 * name and of its kind (each name length-prefixed and folded from 0:
 * sim_trace_name_hash), and typed field
 * values (strings length-prefixed; byte fields as length + XXH3-64 of the
 * content; keys are fixed per kind in the code and not hashed), finished
 * with murmur3's fmix64. The run's fingerprint is the chain
 * fp(n) = fmix64(fold(fold(0, fp(n-1)), hash(event n))), starting from 0,
 * each step a bijection of the event's hash for a given chain and of the
 * chain for a given hash (trace.c has the exact fold). Chaining means two
 * runs agree on the fingerprint after n events exactly when they agree on
 * all n events, so the first differing event can be found by comparing
 * chains.
 *
 * Rendering to JSON lines (with jansson) happens only when a sink FILE is
 * set or a listener wants it, so a run that only needs its fingerprint pays
 * for hashing alone.
 */
#ifndef NATSIM_SIM_TRACE_H
#define NATSIM_SIM_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef enum SimTraceType {
	SIM_TRACE_INT = 1,
	SIM_TRACE_STR,
	SIM_TRACE_BYTES, /* recorded as length + XXH3 hash of the content */
} SimTraceType;

typedef struct SimTraceField {
	const char *key;
	SimTraceType type;
	int64_t i;
	const char *s;
	size_t len;
} SimTraceField;

#define TRACE_INT(k, v) ((SimTraceField){ .key = (k), .type = SIM_TRACE_INT, .i = (int64_t)(v) })
#define TRACE_STR(k, v) ((SimTraceField){ .key = (k), .type = SIM_TRACE_STR, .s = (v) })
#define TRACE_BYTES(k, p, n) \
	((SimTraceField){ .key = (k), .type = SIM_TRACE_BYTES, .s = (const char *)(p), .len = (n) })

/* The fold of trace.c (see there): a bijection of h for a fixed word and of
 * the word for a fixed h. Here so that sim_trace_name_hash inlines. */
#define SIM_TRACE_FOLD_PRIME UINT64_C(0x9e3779b97f4a7c15)

static inline uint64_t
sim_trace_fold(uint64_t h, uint64_t word)
{
	h = (h ^ word) * SIM_TRACE_FOLD_PRIME;
	return h ^ (h >> 32);
}

static inline uint64_t
sim_trace_read_le64(const char *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

static inline uint64_t
sim_trace_read_le32(const char *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap32(v);
#endif
	return v;
}

/* Folds a string into h: its length, then its bytes as 64-bit
 * little-endian words, the last one overlapping the one before it (its
 * bytes are fixed by the length and the words before), or, under 8 bytes,
 * as XXH3 reads its short inputs - never a byte outside the string. */
static inline uint64_t
sim_trace_fold_bytes(uint64_t h, const char *s, size_t len)
{
	h = sim_trace_fold(h, len);
	if (len >= 8) {
		size_t k = 0;
		for (; k + 8 < len; k += 8)
			h = sim_trace_fold(h, sim_trace_read_le64(s + k));
		return sim_trace_fold(h, sim_trace_read_le64(s + len - 8));
	}
	if (len >= 4)
		return sim_trace_fold(h, sim_trace_read_le32(s) | (sim_trace_read_le32(s + len - 4) << 32));
	if (len > 0)
		return sim_trace_fold(h, ((uint64_t)(uint8_t)s[0] << 16) | ((uint64_t)(uint8_t)s[len >> 1] << 24) |
		    (uint64_t)(uint8_t)s[len - 1]);
	return h;
}

/* What an event folds for its node and for its kind: the name folded as
 * a string, from 0. Inline, so that for a literal (or a const array the
 * caller's file defines) the compiler computes it; callers that emit many
 * events for one node keep its hash. */
static inline uint64_t
sim_trace_name_hash(const char *name, size_t len)
{
	return sim_trace_fold_bytes(0, name, len);
}

/* The most fields an event has. */
#define SIM_TRACE_FIELDS_MAX 16

typedef struct SimTraceEvent {
	uint64_t index; /* 0-based position in the run */
	int64_t t_ns;   /* virtual time since the run began */
	const char *node;
	const char *kind;
	const SimTraceField *fields;
	size_t field_count;       /* at most SIM_TRACE_FIELDS_MAX */
	const uint64_t *bytes_hash; /* [k]: XXH3-64 of field k's content, for byte fields only;
	                             * good during the listener call, like fields */
	uint64_t hash;        /* this event alone */
	uint64_t fingerprint; /* the chain up to and including it */
} SimTraceEvent;

typedef void (*SimTraceListener)(void *ctx, const SimTraceEvent *event);

/* A field of an event by key: its integer (0 when absent or not an
 * integer) or its string ("" when absent or not a string). */
int64_t sim_trace_event_int(const SimTraceEvent *event, const char *key);
const char *sim_trace_event_str(const SimTraceEvent *event, const char *key);

typedef struct SimTrace {
	uint64_t fingerprint;
	uint64_t count;
	FILE *sink; /* not owned */
	SimTraceListener listener;
	void *listener_ctx;
} SimTrace;

void sim_trace_init(SimTrace *trace);

/* JSON lines go to sink (NULL to stop); the caller opened it and closes it. */
void sim_trace_set_sink(SimTrace *trace, FILE *sink);
void sim_trace_set_listener(SimTrace *trace, SimTraceListener fn, void *ctx);

void sim_trace_emit(SimTrace *trace, int64_t t_ns, const char *node, const char *kind,
    const SimTraceField *fields, size_t field_count);
/* The same as sim_trace_emit, with node_hash = sim_trace_name_hash(node,
 * strlen(node)) and kind_hash = sim_trace_name_hash(kind, strlen(kind))
 * known to the caller (the hashing needs them for every event). */
void sim_trace_emit_n(SimTrace *trace, int64_t t_ns, const char *node, uint64_t node_hash, const char *kind,
    uint64_t kind_hash, const SimTraceField *fields, size_t field_count);

/* One JSON line (no newline) for an event; the caller frees it with free(). */
char *sim_trace_event_json(const SimTraceEvent *event);

/* Writes the 16 lower-case hex digits and a NUL into buf[17]. */
void sim_trace_format_fingerprint(uint64_t fingerprint, char buf[17]);

#define sim_trace(trace, t_ns, node, kind, ...)                                         \
	do {                                                                            \
		const SimTraceField trace_fields_[] = { __VA_ARGS__ };                  \
		sim_trace_emit((trace), (t_ns), (node), (kind), trace_fields_,          \
		    sizeof(trace_fields_) / sizeof(trace_fields_[0]));                  \
	} while (0)

/* sim_trace with the node's hash known; the kind's is taken here, where
 * the compiler computes it for a literal. */
#define sim_trace_n(trace, t_ns, node, node_hash, kind, ...)                            \
	do {                                                                            \
		const SimTraceField trace_fields_[] = { __VA_ARGS__ };                  \
		const char *trace_kind_ = (kind);                                       \
		sim_trace_emit_n((trace), (t_ns), (node), (node_hash), trace_kind_,     \
		    sim_trace_name_hash(trace_kind_, __builtin_strlen(trace_kind_)),    \
		    trace_fields_,                                                      \
		    sizeof(trace_fields_) / sizeof(trace_fields_[0]));                  \
	} while (0)

#endif
