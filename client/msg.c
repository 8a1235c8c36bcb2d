/*
 * msg.c - message views and owned copies, header lookups, status lines,
 * and the header-block builder.
 *
 * Who calls it: sub.c (status of each delivered message), users, drivers.
 * An owned ClientMsg is one allocation: the struct, then subject, reply,
 * status text, headers and data, so client_msg_free is one g_free.
 */
#include <string.h>

#include "client/internal.h"
#include "proto/assert.h"
#include "proto/headers.h"

ClientMsg *
client_msg_copy(const ClientMsg *m)
{
	if (m == NULL)
		return NULL;
	size_t text_len = m->status_text ? strlen(m->status_text) : 0;
	size_t total = sizeof(ClientMsg) + m->subject_len + 1 + (m->reply ? m->reply_len + 1 : 0) + text_len + 1 +
	    m->headers_len + m->data_len + 1;
	ClientMsg *c = g_malloc(total);
	char *p = (char *)(c + 1);
	*c = *m;
	memcpy(p, m->subject, m->subject_len);
	p[m->subject_len] = '\0';
	c->subject = p;
	p += m->subject_len + 1;
	if (m->reply != NULL) {
		memcpy(p, m->reply, m->reply_len);
		p[m->reply_len] = '\0';
		c->reply = p;
		p += m->reply_len + 1;
	}
	if (text_len > 0)
		memcpy(p, m->status_text, text_len);
	p[text_len] = '\0';
	c->status_text = p;
	p += text_len + 1;
	if (m->headers != NULL) {
		memcpy(p, m->headers, m->headers_len);
		c->headers = (const uint8_t *)p;
		p += m->headers_len;
	}
	if (m->data_len > 0)
		memcpy(p, m->data, m->data_len);
	p[m->data_len] = '\0'; /* a convenience for printing; not counted */
	c->data = (const uint8_t *)p;
	return c;
}

void
client_msg_free(ClientMsg *msg)
{
	g_free(msg);
}

bool
client_msg_header(const ClientMsg *msg, const char *key, char *buf, size_t buf_size)
{
	if (msg == NULL || key == NULL || buf == NULL || buf_size == 0 || msg->headers == NULL)
		return false;
	ProtoSlice v;
	if (!proto_headers_get(msg->headers, msg->headers_len, key, &v) || v.len + 1 > buf_size)
		return false;
	memcpy(buf, v.ptr, v.len);
	buf[v.len] = '\0';
	return true;
}

void
client_msg_parse_status(ClientMsg *msg, char *text_buf, size_t text_buf_size)
{
	ASSERT(text_buf_size > 0);
	int status = 0;
	ProtoSlice desc;
	text_buf[0] = '\0';
	msg->status = 0;
	msg->status_text = text_buf;
	if (!proto_headers_status(msg->headers, msg->headers_len, &status, &desc))
		return;
	msg->status = status;
	if (desc.ptr != NULL) {
		size_t n = desc.len < text_buf_size - 1 ? desc.len : text_buf_size - 1;
		memcpy(text_buf, desc.ptr, n);
		text_buf[n] = '\0';
	}
}

/* ---- header blocks ---- */

void
client_headers_init(ClientHeaders *h)
{
	*h = (ClientHeaders){ 0 };
}

void
client_headers_put_raw(ClientHeaders *h, const void *src, size_t len)
{
	if (h->cap - h->len < len) {
		size_t cap = h->cap ? h->cap : 64;
		while (cap - h->len < len)
			cap *= 2;
		h->data = g_realloc(h->data, cap);
		h->cap = cap;
	}
	memcpy(h->data + h->len, src, len);
	h->len += len;
}

ClientStatus
client_headers_add(ClientHeaders *h, const char *key, const char *value)
{
	if (h == NULL || key == NULL || value == NULL || key[0] == '\0')
		return CLIENT_ERR_INVALID_ARG;
	for (const char *p = key; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == ':' || *p == 0x7f)
			return CLIENT_ERR_INVALID_ARG;
	for (const char *p = value; *p; p++)
		if (*p == '\r' || *p == '\n')
			return CLIENT_ERR_INVALID_ARG;
	if (h->len == 0)
		client_headers_put_raw(h, "NATS/1.0\r\n", 10);
	client_headers_put_raw(h, key, strlen(key));
	client_headers_put_raw(h, ": ", 2);
	client_headers_put_raw(h, value, strlen(value));
	client_headers_put_raw(h, "\r\n", 2);
	return CLIENT_OK;
}

const uint8_t *
client_headers_block(ClientHeaders *h, size_t *len)
{
	if (h->len == 0) {
		*len = 0;
		return NULL;
	}
	/* The closing empty line is added on the way out and taken back at
	 * the next add, so the builder stays appendable. */
	client_headers_put_raw(h, "\r\n", 2);
	h->len -= 2;
	*len = h->len + 2;
	return h->data;
}

void
client_headers_clear(ClientHeaders *h)
{
	g_free(h->data);
	*h = (ClientHeaders){ 0 };
}
