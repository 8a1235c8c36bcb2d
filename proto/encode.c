/*
 * encode.c - see encode.h.
 */
#include "proto/encode.h"

#include <string.h>

#include "proto/assert.h"

void
proto_encode_msg(ProtoBuf *out, const void *subject, size_t subject_len, const void *sid, size_t sid_len,
    const void *reply, size_t reply_len, const void *headers, size_t headers_len, const void *payload,
    size_t payload_len)
{
	ASSERT(subject_len > 0 && sid_len > 0);
	/* One reservation for the whole operation keeps this to a single
	 * capacity check on the hot path. */
	size_t total = 5 + subject_len + 1 + sid_len + 1 + reply_len + 1 + 40 + headers_len + payload_len + 2;
	proto_buf_reserve(out, total);
	if (headers != NULL)
		proto_buf_append(out, "HMSG ", 5);
	else
		proto_buf_append(out, "MSG ", 4);
	proto_buf_append(out, subject, subject_len);
	proto_buf_append_byte(out, ' ');
	proto_buf_append(out, sid, sid_len);
	proto_buf_append_byte(out, ' ');
	if (reply_len > 0) {
		proto_buf_append(out, reply, reply_len);
		proto_buf_append_byte(out, ' ');
	}
	if (headers != NULL) {
		proto_buf_append_u64(out, headers_len);
		proto_buf_append_byte(out, ' ');
	}
	proto_buf_append_u64(out, headers_len + payload_len);
	proto_buf_append(out, "\r\n", 2);
	if (headers != NULL)
		proto_buf_append(out, headers, headers_len);
	proto_buf_append(out, payload, payload_len);
	proto_buf_append(out, "\r\n", 2);
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
	proto_buf_append_str(out, headers != NULL ? "HPUB " : "PUB ");
	proto_buf_append_str(out, subject);
	proto_buf_append_byte(out, ' ');
	if (reply != NULL && reply[0] != '\0') {
		proto_buf_append_str(out, reply);
		proto_buf_append_byte(out, ' ');
	}
	if (headers != NULL) {
		proto_buf_append_u64(out, headers_len);
		proto_buf_append_byte(out, ' ');
	}
	proto_buf_append_u64(out, headers_len + payload_len);
	proto_buf_append(out, "\r\n", 2);
	if (headers != NULL)
		proto_buf_append(out, headers, headers_len);
	proto_buf_append(out, payload, payload_len);
	proto_buf_append(out, "\r\n", 2);
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
