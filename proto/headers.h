/*
 * headers.h - NATS header blocks (ADR-4): "NATS/1.0[ status[ description]]"
 * CRLF, then "Key: Value" CRLF lines, then an empty CRLF line.
 *
 * Keys keep their case and may repeat; lookups match a key exactly, as
 * nats-server's sliceHeader does (it finds "Nats-Msg-Id", not
 * "nats-msg-id"), and trim the spaces after the colon.
 */
#ifndef NATSIM_PROTO_HEADERS_H
#define NATSIM_PROTO_HEADERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/buf.h"
#include "proto/parser.h"

typedef struct ProtoHeaderIter {
	const uint8_t *pos;
	const uint8_t *end;
} ProtoHeaderIter;

/* Reads the first line. *status is the 3-digit code or 0 when none;
 * description is the rest of the line, trimmed. False when the block does
 * not start with "NATS/1.0". */
bool proto_headers_status(const uint8_t *block, size_t len, int *status, ProtoSlice *description);

/* Iterates "Key: Value" lines after the first line. */
void proto_headers_iter_init(ProtoHeaderIter *it, const uint8_t *block, size_t len);
bool proto_headers_next(ProtoHeaderIter *it, ProtoSlice *key, ProtoSlice *value);

/* The first value of key (exact match); false when absent. */
bool proto_headers_get(const uint8_t *block, size_t len, const char *key, ProtoSlice *value);

/* Building a block: start, add lines, finish (the closing empty line). */
void proto_headers_start(ProtoBuf *out, int status, const char *description);
void proto_headers_add(ProtoBuf *out, const char *key, const void *value, size_t value_len);
void proto_headers_finish(ProtoBuf *out);

#endif
