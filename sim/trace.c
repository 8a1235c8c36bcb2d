/*
 * trace.c - hashing and rendering of trace events (see trace.h).
 *
 * The binary form hashed per event is: t_ns, node, kind, then each field's
 * key, type and value; strings are length-prefixed so no two different
 * events can serialise alike. Byte fields contribute their length and the
 * XXH3 of their content, never the content, so hashing cost is bounded.
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

/* The event's binary form: time, node, kind, then each field's type and
 * value (strings length-prefixed; byte fields as length + XXH3 of the
 * content). Field keys are not hashed: each event kind has fixed keys in
 * the code, so they carry nothing a run could change. The form is written
 * into a stack buffer that is folded into the hash when it fills. */
typedef struct HashBuf {
	uint8_t buf[256];
	size_t len;
	uint64_t h;
} HashBuf;

static void
hash_flush(HashBuf *hb)
{
	hb->h = XXH3_64bits_withSeed(hb->buf, hb->len, hb->h);
	hb->len = 0;
}

static inline void
hash_u64(HashBuf *hb, uint64_t value)
{
	if (hb->len + sizeof(value) > sizeof(hb->buf))
		hash_flush(hb);
	memcpy(hb->buf + hb->len, &value, sizeof(value));
	hb->len += sizeof(value);
}

static inline void
hash_str(HashBuf *hb, const char *s)
{
	size_t len = strlen(s);
	hash_u64(hb, len);
	if (hb->len + len > sizeof(hb->buf)) {
		hash_flush(hb);
		if (len > sizeof(hb->buf)) {
			hb->h = XXH3_64bits_withSeed(s, len, hb->h);
			return;
		}
	}
	memcpy(hb->buf + hb->len, s, len);
	hb->len += len;
}

/* bytes_hash[k] gets the XXH3 of byte field k: the listener may use it. */
static uint64_t
event_hash(const SimTraceEvent *event, uint64_t *bytes_hash)
{
	HashBuf hb;
	hb.len = 0;
	hb.h = 0;
	hash_u64(&hb, (uint64_t)event->t_ns);
	hash_str(&hb, event->node);
	hash_str(&hb, event->kind);
	for (size_t k = 0; k < event->field_count; k++) {
		const SimTraceField *f = &event->fields[k];
		switch (f->type) {
		case SIM_TRACE_INT:
			hash_u64(&hb, (uint64_t)f->i ^ UINT64_C(0x9e3779b97f4a7c15));
			break;
		case SIM_TRACE_STR:
			hash_str(&hb, f->s);
			break;
		case SIM_TRACE_BYTES:
			bytes_hash[k] = XXH3_64bits(f->s, f->len);
			hash_u64(&hb, f->len);
			hash_u64(&hb, bytes_hash[k]);
			break;
		default:
			UNREACHABLE();
		}
	}
	return XXH3_64bits_withSeed(hb.buf, hb.len, hb.h);
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
	event.hash = event_hash(&event, bytes_hash);
	event.fingerprint = XXH3_64bits_withSeed(&event.hash, sizeof(event.hash), trace->fingerprint);
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
