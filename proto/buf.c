/*
 * buf.c - see buf.h.
 */
#include "proto/buf.h"

#include <glib.h>

#include "proto/assert.h"

void
proto_buf_init(ProtoBuf *buf)
{
	*buf = (ProtoBuf){ 0 };
}

void
proto_buf_deinit(ProtoBuf *buf)
{
	g_free(buf->data);
	*buf = (ProtoBuf){ 0 };
}

uint8_t *
proto_buf_reserve_slow(ProtoBuf *buf, size_t extra)
{
	if (buf->cap - buf->len >= extra)
		return buf->data + buf->len;
	/* Reclaim the consumed head before growing. */
	if (buf->head > 0) {
		size_t pending = buf->len - buf->head;
		memmove(buf->data, buf->data + buf->head, pending);
		buf->head = 0;
		buf->len = pending;
		if (buf->cap - buf->len >= extra)
			return buf->data + buf->len;
	}
	size_t need = buf->len + extra;
	ASSERT(need >= buf->len); /* no overflow */
	size_t cap = buf->cap ? buf->cap : 256;
	while (cap < need)
		cap *= 2;
	buf->data = g_realloc(buf->data, cap);
	buf->cap = cap;
	return buf->data + buf->len;
}

void
proto_buf_slide(ProtoBuf *buf)
{
	ASSERT(buf->head <= buf->len);
	size_t pending = buf->len - buf->head;
	memmove(buf->data, buf->data + buf->head, pending);
	buf->head = 0;
	buf->len = pending;
}

void
proto_buf_clear(ProtoBuf *buf)
{
	buf->head = buf->len = 0;
}

void
proto_buf_release(ProtoBuf *buf)
{
	g_free(buf->data);
	*buf = (ProtoBuf){ 0 };
}
