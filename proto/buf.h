/*
 * buf.h - a growable byte buffer with a consumed head: the output queue of
 * a connection (append at the tail, send from the head) and the scratch
 * space of the parser.
 *
 * Appends are inline and amortised O(1); consumed bytes are reclaimed by
 * sliding the rest to the front when the head passes half the buffer, so a
 * connection that keeps up never grows its buffer.
 */
#ifndef NATSIM_PROTO_BUF_H
#define NATSIM_PROTO_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "proto/assert.h"

typedef struct ProtoBuf {
	uint8_t *data;
	size_t head; /* first unconsumed byte */
	size_t len;  /* end of the bytes (head <= len <= cap) */
	size_t cap;
} ProtoBuf;

void proto_buf_init(ProtoBuf *buf);
void proto_buf_deinit(ProtoBuf *buf);

/* The slow half of proto_buf_reserve: reclaims the consumed head or grows. */
uint8_t *proto_buf_reserve_slow(ProtoBuf *buf, size_t extra);

/* Makes room for extra more bytes at the tail; returns where they go. */
static inline uint8_t *
proto_buf_reserve(ProtoBuf *buf, size_t extra)
{
	if (buf->cap - buf->len >= extra)
		return buf->data + buf->len;
	return proto_buf_reserve_slow(buf, extra);
}

/* The slow half of proto_buf_consume: slides the unconsumed bytes to the
 * front once the head has passed half the buffer. */
void proto_buf_slide(ProtoBuf *buf);

/* Drops len bytes from the head. Inline: every send consumes, and most
 * consume everything. */
static inline void
proto_buf_consume(ProtoBuf *buf, size_t len)
{
	ASSERT(len <= buf->len - buf->head);
	buf->head += len;
	if (buf->head == buf->len)
		buf->head = buf->len = 0;
	else if (buf->head > buf->cap / 2)
		proto_buf_slide(buf);
}
/* Drops everything (the allocation is kept). */
void proto_buf_clear(ProtoBuf *buf);
/* Frees the allocation and leaves the buffer as proto_buf_init does. */
void proto_buf_release(ProtoBuf *buf);

/* Frees the allocation when it is larger than keep_bytes and empty. */
static inline void
proto_buf_shrink(ProtoBuf *buf, size_t keep_bytes)
{
	if (buf->len == buf->head && buf->cap > keep_bytes)
		proto_buf_release(buf);
}

static inline size_t
proto_buf_pending(const ProtoBuf *buf)
{
	return buf->len - buf->head;
}

static inline const uint8_t *
proto_buf_peek(const ProtoBuf *buf)
{
	return buf->data + buf->head;
}

static inline void
proto_buf_append(ProtoBuf *buf, const void *src, size_t len)
{
	if (buf->cap - buf->len < len)
		proto_buf_reserve(buf, len);
	if (len > 0)
		memcpy(buf->data + buf->len, src, len);
	buf->len += len;
}

static inline void
proto_buf_append_byte(ProtoBuf *buf, uint8_t byte)
{
	if (buf->cap == buf->len)
		proto_buf_reserve(buf, 1);
	buf->data[buf->len++] = byte;
}

static inline void
proto_buf_append_str(ProtoBuf *buf, const char *s)
{
	proto_buf_append(buf, s, strlen(s));
}

/* Writes the decimal form of value at out (room for 20 bytes); returns
 * the end. */
static inline uint8_t *
proto_put_u64(uint8_t *out, uint64_t value)
{
	/* Count first, then write in place from the end: no scratch copy
	 * (whose byte stores read back as one word stall the CPU). Sizes of
	 * small messages take the short way. */
	if (value < 10) {
		out[0] = (uint8_t)('0' + value);
		return out + 1;
	}
	if (value < 100) {
		out[0] = (uint8_t)('0' + value / 10);
		out[1] = (uint8_t)('0' + value % 10);
		return out + 2;
	}
	size_t n = 1;
	for (uint64_t rest = value; rest >= 10; rest /= 10)
		n++;
	uint8_t *end = out + n;
	do {
		*--end = (uint8_t)('0' + value % 10);
		value /= 10;
	} while (value > 0);
	return out + n;
}

/* Appends the decimal form of value. */
static inline void
proto_buf_append_u64(ProtoBuf *buf, uint64_t value)
{
	uint8_t *out = proto_buf_reserve(buf, 20);
	buf->len += (size_t)(proto_put_u64(out, value) - out);
}

#endif
