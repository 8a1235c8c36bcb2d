/*
 * encode.c - see encode.h.
 */
#include "proto/encode.h"

#include <string.h>

#include "proto/assert.h"

/* Copies n bytes to w and returns the end. The pieces of a MSG line are
 * mostly a few bytes long: two overlapping word moves beat a call into
 * memcpy for each. */
static inline uint8_t *
put_bytes(uint8_t *w, const void *src, size_t n)
{
	const uint8_t *s = src;
	if (n >= 8 && n <= 16) {
		uint64_t a, b;
		memcpy(&a, s, 8);
		memcpy(&b, s + n - 8, 8);
		memcpy(w, &a, 8);
		memcpy(w + n - 8, &b, 8);
	} else if (n >= 4 && n < 8) {
		uint32_t a, b;
		memcpy(&a, s, 4);
		memcpy(&b, s + n - 4, 4);
		memcpy(w, &a, 4);
		memcpy(w + n - 4, &b, 4);
	} else if (n > 0 && n < 4) {
		w[0] = s[0];
		w[n / 2] = s[n / 2];
		w[n - 1] = s[n - 1];
	} else if (n > 16) {
		memcpy(w, s, n);
	}
	return w + n;
}

void
proto_encode_msg(ProtoBuf *out, const void *subject, size_t subject_len, const void *sid, size_t sid_len,
    const void *reply, size_t reply_len, const void *headers, size_t headers_len, const void *payload,
    size_t payload_len)
{
	ASSERT(subject_len > 0 && sid_len > 0);
	/* The hot path of every delivery: one reservation for the whole
	 * operation, then plain stores. Counted: keyword, three blanks, two
	 * sizes of up to 20 digits with the blank between, both CRLFs. */
	size_t total = 5 + subject_len + 1 + sid_len + 1 + reply_len + 1 + 20 + 1 + 20 + 2 + headers_len +
	    payload_len + 2;
	uint8_t *start = proto_buf_reserve(out, total);
	uint8_t *w = start;
	if (headers != NULL) {
		memcpy(w, "HMSG ", 5);
		w += 5;
	} else {
		memcpy(w, "MSG ", 4);
		w += 4;
	}
	w = put_bytes(w, subject, subject_len);
	*w++ = ' ';
	w = put_bytes(w, sid, sid_len);
	*w++ = ' ';
	if (reply_len > 0) {
		w = put_bytes(w, reply, reply_len);
		*w++ = ' ';
	}
	if (headers != NULL) {
		w = proto_put_u64(w, headers_len);
		*w++ = ' ';
	}
	w = proto_put_u64(w, headers_len + payload_len);
	*w++ = '\r';
	*w++ = '\n';
	if (headers != NULL)
		w = put_bytes(w, headers, headers_len);
	w = put_bytes(w, payload, payload_len);
	*w++ = '\r';
	*w++ = '\n';
	ASSERT((size_t)(w - start) <= total);
	out->len += (size_t)(w - start);
}

void
proto_encode_info(ProtoBuf *out, const char *json)
{
	proto_buf_append(out, "INFO ", 5);
	proto_buf_append_str(out, json);
	proto_buf_append(out, " \r\n", 3);
}

void
proto_encode_err(ProtoBuf *out, const char *text)
{
	proto_buf_append(out, "-ERR '", 6);
	proto_buf_append_str(out, text);
	proto_buf_append(out, "'\r\n", 3);
}

void
proto_encode_pub(ProtoBuf *out, const char *subject, const char *reply, const void *headers, size_t headers_len,
    const void *payload, size_t payload_len)
{
	ASSERT(subject != NULL && subject[0] != '\0');
	/* The client's hot path, written as proto_encode_msg: one reservation
	 * for the whole operation (52 bytes cover the keyword, the blanks, two
	 * sizes of up to 20 digits and both CRLFs), then plain stores. */
	size_t subject_len = strlen(subject);
	size_t reply_len = reply != NULL ? strlen(reply) : 0;
	size_t total = subject_len + reply_len + headers_len + payload_len + 52;
	uint8_t *start = proto_buf_reserve(out, total);
	uint8_t *w = start;
	if (headers != NULL) {
		memcpy(w, "HPUB ", 5);
		w += 5;
	} else {
		memcpy(w, "PUB ", 4);
		w += 4;
	}
	memcpy(w, subject, subject_len);
	w += subject_len;
	*w++ = ' ';
	if (reply_len > 0) {
		memcpy(w, reply, reply_len);
		w += reply_len;
		*w++ = ' ';
	}
	if (headers != NULL) {
		w = proto_put_u64(w, headers_len);
		*w++ = ' ';
	}
	w = proto_put_u64(w, headers_len + payload_len);
	*w++ = '\r';
	*w++ = '\n';
	if (headers != NULL && headers_len > 0) {
		memcpy(w, headers, headers_len);
		w += headers_len;
	}
	if (payload_len > 0) {
		memcpy(w, payload, payload_len);
		w += payload_len;
	}
	*w++ = '\r';
	*w++ = '\n';
	ASSERT((size_t)(w - start) <= total);
	out->len += (size_t)(w - start);
}

void
proto_encode_sub(ProtoBuf *out, const char *subject, const char *queue, uint64_t sid)
{
	ASSERT(subject != NULL && subject[0] != '\0');
	proto_buf_append(out, "SUB ", 4);
	proto_buf_append_str(out, subject);
	proto_buf_append_byte(out, ' ');
	if (queue != NULL && queue[0] != '\0') {
		proto_buf_append_str(out, queue);
		proto_buf_append_byte(out, ' ');
	}
	proto_buf_append_u64(out, sid);
	proto_buf_append(out, "\r\n", 2);
}

void
proto_encode_unsub(ProtoBuf *out, uint64_t sid, uint64_t max)
{
	proto_buf_append(out, "UNSUB ", 6);
	proto_buf_append_u64(out, sid);
	if (max > 0) {
		proto_buf_append_byte(out, ' ');
		proto_buf_append_u64(out, max);
	}
	proto_buf_append(out, "\r\n", 2);
}

void
proto_encode_connect(ProtoBuf *out, const char *json)
{
	proto_buf_append(out, "CONNECT ", 8);
	proto_buf_append_str(out, json);
	proto_buf_append(out, "\r\n", 2);
}
