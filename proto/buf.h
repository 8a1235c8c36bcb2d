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

typedef struct ProtoBuf {
	uint8_t *data;
	size_t head; /* first unconsumed byte */
	size_t len;  /* end of the bytes (head <= len <= cap) */
	size_t cap;
} ProtoBuf;

void proto_buf_init(ProtoBuf *buf);
void proto_buf_deinit(ProtoBuf *buf);

/* Makes room for extra more bytes at the tail; returns where they go. */
uint8_t *proto_buf_reserve(ProtoBuf *buf, size_t extra);

/* Drops len bytes from the head. */
void proto_buf_consume(ProtoBuf *buf, size_t len);
/* Drops everything (the allocation is kept). */
void proto_buf_clear(ProtoBuf *buf);
/* Frees the allocation when it is larger than keep_bytes and empty. */
void proto_buf_shrink(ProtoBuf *buf, size_t keep_bytes);

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

/* Appends the decimal form of value. */
void proto_buf_append_u64(ProtoBuf *buf, uint64_t value);

#endif
