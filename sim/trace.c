/*
 * trace.c - hashing and rendering of trace events (see trace.h).
 *
 * Each event is folded word by word (time, node, kind, then each field's
 * value; strings length-prefixed so no two different events fold alike);
 * byte fields contribute their length and the XXH3 of their content, never
 * the content, so hashing cost is bounded. See event_hash().
 */
#include "trace.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* XXH3 compiled into this file: the events are short, and a call into
 * libxxhash (PLT, dispatch) cost more than hashing them. Same algorithm,
 * same values: fingerprints do not change. */
#define XXH_INLINE_ALL
#include <xxhash.h>

#include <glib.h>

#include "proto/assert.h"

void
sim_trace_init(SimTrace *trace)
{
	*trace = (SimTrace){ 0 };
}

void
sim_trace_set_sink(SimTrace *trace, FILE *sink)
{
	trace->sink = sink;
}

void
sim_trace_set_listener(SimTrace *trace, SimTraceListener fn, void *ctx)
{
	trace->listener = fn;
	trace->listener_ctx = ctx;
}

/* The event's hash folds, word by word, its time, the hashes of its node's
 * name and of its kind (sim_trace_name_hash: the name folded as a string,
 * from 0; a node keeps its own, a literal kind's is computed by the
 * compiler), then each field's value: an integer as itself, a string as its length then its
 * bytes (length-prefixed, so no two different events fold alike), a byte
 * field as its length then the XXH3 of its content. Field keys are not
 * hashed: each event kind has fixed keys in the code, so they carry
 * nothing a run could change.
 *
 * Folding a word is a bijection of the state for a fixed word and of the
 * word for a fixed state (xor, multiply by an odd constant, xor-shift), so
 * two events that differ in one word always fold differently; the result
 * goes through the murmur3 finaliser. A string is folded by
 * sim_trace_fold_bytes (trace.h): its length, then its bytes a word at a
 * time, never a byte outside it. This costs a fraction of serialising the
 * event and hashing the buffer. */
static inline uint64_t
fold(uint64_t h, uint64_t word)
{
	return sim_trace_fold(h, word);
}

/* An empty string (most replies) needs no strlen. */
static inline uint64_t
fold_str(uint64_t h, const char *s)
{
	return sim_trace_fold_bytes(h, s, s[0] == '\0' ? 0 : strlen(s));
}

/* murmur3's fmix64 */
static inline uint64_t
finish(uint64_t h)
{
	h ^= h >> 33;
	h *= UINT64_C(0xff51afd7ed558ccd);
	h ^= h >> 33;
	h *= UINT64_C(0xc4ceb9fe1a85ec53);
	return h ^ (h >> 33);
}

/* The next link of the fingerprint chain: a bijection of the event's hash
 * for a given chain so far, and of the chain so far for a given hash. */
static inline uint64_t
chain(uint64_t fingerprint, uint64_t hash)
{
	return finish(fold(fold(0, fingerprint), hash));
}

/* bytes_hash[k] gets the XXH3 of byte field k: the listener may use it. */
static uint64_t
event_hash(const SimTraceEvent *event, uint64_t node_hash, uint64_t kind_hash, uint64_t *bytes_hash)
{
	uint64_t h = fold(0, (uint64_t)event->t_ns);
	h = fold(h, node_hash);
	h = fold(h, kind_hash);
	for (size_t k = 0; k < event->field_count; k++) {
		const SimTraceField *f = &event->fields[k];
		switch (f->type) {
		case SIM_TRACE_INT:
			h = fold(h, (uint64_t)f->i);
			break;
		case SIM_TRACE_STR:
			h = fold_str(h, f->s);
			break;
		case SIM_TRACE_BYTES:
			bytes_hash[k] = XXH3_64bits(f->s, f->len);
			h = fold(fold(h, f->len), bytes_hash[k]);
			break;
		default:
			UNREACHABLE();
		}
	}
	return finish(h);
}

char *
sim_trace_event_json(const SimTraceEvent *event)
{
	json_t *obj = json_object();
	json_object_set_new(obj, "t", json_integer(event->t_ns));
	json_object_set_new(obj, "node", json_string(event->node));
	json_object_set_new(obj, "ev", json_string(event->kind));
	for (size_t k = 0; k < event->field_count; k++) {
		const SimTraceField *f = &event->fields[k];
		switch (f->type) {
		case SIM_TRACE_INT:
			json_object_set_new(obj, f->key, json_integer(f->i));
			break;
		case SIM_TRACE_STR:
			json_object_set_new(obj, f->key, json_string(f->s));
			break;
		case SIM_TRACE_BYTES: {
			char hex[17];
			sim_trace_format_fingerprint(XXH3_64bits(f->s, f->len), hex);
			json_t *b = json_pack("{s:I,s:s}", "len", (json_int_t)f->len, "xxh3", hex);
			json_object_set_new(obj, f->key, b);
			break;
		}
		default:
			UNREACHABLE();
		}
	}
	char *line = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(obj);
	ASSERT(line != NULL);
	return line;
}

void
sim_trace_emit(SimTrace *trace, int64_t t_ns, const char *node, const char *kind,
    const SimTraceField *fields, size_t field_count)
{
	ASSERT(node != NULL && kind != NULL);
	sim_trace_emit_n(trace, t_ns, node, sim_trace_name_hash(node, strlen(node)), kind,
	    sim_trace_name_hash(kind, strlen(kind)), fields, field_count);
}

void
sim_trace_emit_n(SimTrace *trace, int64_t t_ns, const char *node, uint64_t node_hash, const char *kind,
    uint64_t kind_hash, const SimTraceField *fields, size_t field_count)
{
	ASSERT(node != NULL && kind != NULL);
	ASSERT(field_count <= SIM_TRACE_FIELDS_MAX);
	uint64_t bytes_hash[SIM_TRACE_FIELDS_MAX];
	SimTraceEvent event = {
		.index = trace->count,
		.t_ns = t_ns,
		.node = node,
		.kind = kind,
		.fields = fields,
		.field_count = field_count,
		.bytes_hash = bytes_hash,
	};
	event.hash = event_hash(&event, node_hash, kind_hash, bytes_hash);
	event.fingerprint = chain(trace->fingerprint, event.hash);
	trace->fingerprint = event.fingerprint;
	trace->count++;
	if (trace->sink != NULL) {
		char *line = sim_trace_event_json(&event);
		fputs(line, trace->sink);
		fputc('\n', trace->sink);
		free(line);
	}
	if (trace->listener != NULL)
		trace->listener(trace->listener_ctx, &event);
}

void
sim_trace_format_fingerprint(uint64_t fingerprint, char buf[17])
{
	static const char digits[] = "0123456789abcdef";
	for (int k = 15; k >= 0; k--) {
		buf[k] = digits[fingerprint & 0xf];
		fingerprint >>= 4;
	}
	buf[16] = '\0';
}

static const SimTraceField *
event_field(const SimTraceEvent *ev, const char *key)
{
	for (size_t k = 0; k < ev->field_count; k++)
		if (strcmp(ev->fields[k].key, key) == 0)
			return &ev->fields[k];
	return NULL;
}

int64_t
sim_trace_event_int(const SimTraceEvent *ev, const char *key)
{
	const SimTraceField *f = event_field(ev, key);
	return f != NULL && f->type == SIM_TRACE_INT ? f->i : 0;
}

const char *
sim_trace_event_str(const SimTraceEvent *ev, const char *key)
{
	const SimTraceField *f = event_field(ev, key);
	return f != NULL && f->type == SIM_TRACE_STR && f->s != NULL ? f->s : "";
}
