/*
 * parser.h - the NATS wire protocol parser, both directions, incremental.
 *
 * One state machine for what clients send (role SERVER: the broker parses
 * CONNECT, PUB, HPUB, SUB, UNSUB, PING, PONG, INFO, +OK, -ERR) and for what
 * servers send (role CLIENT: INFO, MSG, HMSG, PING, PONG, +OK, -ERR). It
 * mirrors nats-server's parser (server/parser.go) rule for rule, quirks
 * included, because a client that works against nats-server must work
 * here: operation names are case-insensitive; arguments are split on runs
 * of spaces and tabs; the CR before LF is optional; PING, PONG and +OK
 * ignore anything up to the LF; the control-line limit applies to the
 * arguments; payload sizes are at most nine decimal digits; a payload must
 * be followed by CRLF exactly.
 *
 * Input may be split at any byte. An operation's slices point into the
 * caller's buffer when the operation arrived whole in one feed (zero copy),
 * or into the parser's own buffers when it was split; either way they stay
 * valid until the next call into the parser.
 */
#ifndef NATSIM_PROTO_PARSER_H
#define NATSIM_PROTO_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/buf.h"

typedef enum ProtoRole {
	PROTO_ROLE_SERVER = 1, /* parse what a client sends */
	PROTO_ROLE_CLIENT,     /* parse what a server sends */
} ProtoRole;

typedef enum ProtoOpKind {
	PROTO_OP_INFO = 1,
	PROTO_OP_CONNECT,
	PROTO_OP_PUB,
	PROTO_OP_HPUB,
	PROTO_OP_SUB,
	PROTO_OP_UNSUB,
	PROTO_OP_PING,
	PROTO_OP_PONG,
	PROTO_OP_MSG,
	PROTO_OP_HMSG,
	PROTO_OP_OK,
	PROTO_OP_ERR,
} ProtoOpKind;

typedef struct ProtoSlice {
	const uint8_t *ptr; /* NULL when absent */
	size_t len;
} ProtoSlice;

typedef struct ProtoOp {
	ProtoOpKind kind;
	ProtoSlice subject; /* PUB HPUB SUB MSG HMSG */
	ProtoSlice reply;   /* PUB HPUB MSG HMSG, when given */
	ProtoSlice queue;   /* SUB, when given */
	ProtoSlice sid;     /* SUB UNSUB MSG HMSG */
	int64_t max_msgs;   /* UNSUB: the max argument, -1 when absent or not a number */
	ProtoSlice headers; /* HPUB HMSG: the header block (hdr_len bytes) */
	ProtoSlice payload; /* PUB HPUB MSG HMSG: the body after the headers */
	ProtoSlice text;    /* INFO CONNECT: the JSON; -ERR: the text, quotes removed */
} ProtoOp;

typedef enum ProtoParseStatus {
	PROTO_PARSE_OP = 1, /* *op holds one operation */
	PROTO_PARSE_MORE,   /* all input consumed; feed more */
	PROTO_PARSE_ERROR,  /* the stream is broken; see proto_parser_error */
} ProtoParseStatus;

typedef enum ProtoParseError {
	PROTO_ERR_NONE = 0,
	PROTO_ERR_UNKNOWN_OP,   /* nats-server: -ERR 'Unknown Protocol Operation', close */
	PROTO_ERR_CONTROL_LINE, /* -ERR 'maximum control line exceeded', close */
	PROTO_ERR_MAX_PAYLOAD,  /* -ERR 'Maximum Payload Violation', close */
	PROTO_ERR_ARGS,         /* wrong argument count or size: close without -ERR */
	PROTO_ERR_NO_HEADERS,   /* HPUB on a connection without headers: close without -ERR */
	PROTO_ERR_AUTH,         /* an op other than CONNECT while awaiting it: -ERR 'Authorization Violation' */
} ProtoParseError;

typedef struct ProtoParser {
	ProtoRole role;
	int state;
	uint8_t op_char;
	bool drop;
	size_t control_line_max;
	int64_t payload_max; /* < 0: no limit */
	bool headers;        /* HPUB allowed (role SERVER) */
	bool awaiting_connect;
	ProtoParseError error;
	/* control-line arguments split across feeds */
	bool arg_buffered;
	ProtoBuf arg;
	/* the parsed control line of PUB/HPUB/MSG/HMSG, waiting for payload */
	ProtoOp pending;
	int64_t size;
	int64_t hdr_size;
	bool msg_buffered;
	ProtoBuf msg;
} ProtoParser;

/* payload_max < 0 means no limit. */
void proto_parser_init(ProtoParser *parser, ProtoRole role, size_t control_line_max, int64_t payload_max);
void proto_parser_deinit(ProtoParser *parser);

void proto_parser_set_payload_max(ProtoParser *parser, int64_t payload_max);
void proto_parser_set_headers(ProtoParser *parser, bool headers);
/* While set, any operation but CONNECT is PROTO_ERR_AUTH. */
void proto_parser_set_awaiting_connect(ProtoParser *parser, bool awaiting);

/* Parses from buf until one operation is complete (PROTO_PARSE_OP), the
 * input runs out (PROTO_PARSE_MORE) or the stream breaks
 * (PROTO_PARSE_ERROR). *consumed says how much of buf was used. After an
 * error the parser must not be fed again. */
ProtoParseStatus proto_parser_feed(ProtoParser *parser, const uint8_t *buf, size_t len, size_t *consumed,
    ProtoOp *op);

ProtoParseError proto_parser_error(const ProtoParser *parser);

/* nats-server's -ERR text for an error, or NULL when it closes silently. */
const char *proto_parse_error_text(ProtoParseError error);

const char *proto_op_name(ProtoOpKind kind);

/* Parses a size as nats-server does: 1 to 9 decimal digits, else -1. */
int64_t proto_parse_size(const uint8_t *digits, size_t len);

#endif
