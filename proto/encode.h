/*
 * encode.h - writing NATS protocol operations into a ProtoBuf, for both
 * sides. Each function appends one complete operation, CRLF included.
 * Callers pass well-formed arguments (the broker and the client validate
 * first); the encoder asserts the framing invariants.
 */
#ifndef NATSIM_PROTO_ENCODE_H
#define NATSIM_PROTO_ENCODE_H

#include <stddef.h>
#include <stdint.h>

#include "proto/buf.h"

/* Server side. */
void proto_encode_msg(ProtoBuf *out, const void *subject, size_t subject_len, const void *sid, size_t sid_len,
    const void *reply, size_t reply_len, const void *headers, size_t headers_len, const void *payload,
    size_t payload_len);
void proto_encode_info(ProtoBuf *out, const char *json);  /* "INFO <json> \r\n", as nats-server */
void proto_encode_err(ProtoBuf *out, const char *text);   /* "-ERR '<text>'\r\n" */

/* Client side. headers NULL: PUB; else HPUB with the header block. */
void proto_encode_pub(ProtoBuf *out, const char *subject, const char *reply, const void *headers,
    size_t headers_len, const void *payload, size_t payload_len);
void proto_encode_sub(ProtoBuf *out, const char *subject, const char *queue, uint64_t sid);
/* max 0: unsubscribe now. */
void proto_encode_unsub(ProtoBuf *out, uint64_t sid, uint64_t max);
void proto_encode_connect(ProtoBuf *out, const char *json);

#define PROTO_PING "PING\r\n"
#define PROTO_PONG "PONG\r\n"
#define PROTO_OK "+OK\r\n"

#endif
