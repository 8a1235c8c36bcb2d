/*
 * parser.c - the NATS protocol state machine (see parser.h).
 *
 * States follow nats-server's parser.go one for one, so that every edge
 * (what a stray CR does, when the control-line limit is checked, which
 * byte an error is detected at) matches. Two fast paths keep the common
 * case cheap: an argument line is found with memchr, and a payload that is
 * already in the buffer is pointed at, not copied.
 */
#include "proto/parser.h"

#include <string.h>

#include "proto/assert.h"

enum {
	ST_START = 0,
	ST_P, ST_PU, ST_PUB, ST_PUB_SPC, ST_PUB_ARG,
	ST_PI, ST_PIN, ST_PING,
	ST_PO, ST_PON, ST_PONG,
	ST_H, ST_HP, ST_HPU, ST_HPUB, ST_HPUB_SPC, ST_HPUB_ARG,
	ST_HM, ST_HMS, ST_HMSG, ST_HMSG_SPC, ST_HMSG_ARG,
	ST_S, ST_SU, ST_SUB, ST_SUB_SPC, ST_SUB_ARG,
	ST_U, ST_UN, ST_UNS, ST_UNSU, ST_UNSUB, ST_UNSUB_SPC, ST_UNSUB_ARG,
	ST_C, ST_CO, ST_CON, ST_CONN, ST_CONNE, ST_CONNEC, ST_CONNECT, ST_CONNECT_ARG,
	ST_I, ST_IN, ST_INF, ST_INFO, ST_INFO_ARG,
	ST_M, ST_MS, ST_MSG, ST_MSG_SPC, ST_MSG_ARG,
	ST_PLUS, ST_PLUS_O, ST_PLUS_OK,
	ST_MINUS, ST_MINUS_E, ST_MINUS_ER, ST_MINUS_ERR, ST_MINUS_ERR_SPC, ST_MINUS_ERR_ARG,
	ST_PAYLOAD, ST_END_R, ST_END_N,
	ST_DEAD,
};

#define MAX_ARGS 6

/* Empties an operation field by field: clearing the whole struct (a
 * compound literal, or a copy of an empty one) compiles to "rep stos",
 * whose start-up cost was an eighth of the parser's time on small
 * messages. Each field from the constant, not chained (a = b = none reads
 * b back right after storing it, which stalls store forwarding). */
static inline void
op_clear(ProtoOp *op)
{
	static const ProtoSlice none = { NULL, 0 };
	op->kind = 0;
	op->subject = none;
	op->reply = none;
	op->queue = none;
	op->sid = none;
	op->max_msgs = -1;
	op->headers = none;
	op->payload = none;
	op->text = none;
}

static inline size_t
min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

void
proto_parser_init(ProtoParser *p, ProtoRole role, size_t control_line_max, int64_t payload_max)
{
	*p = (ProtoParser){
		.role = role,
		.state = ST_START,
		.control_line_max = control_line_max,
		.payload_max = payload_max,
	};
	proto_buf_init(&p->arg);
	proto_buf_init(&p->msg);
}

void
proto_parser_deinit(ProtoParser *p)
{
	proto_buf_deinit(&p->arg);
	proto_buf_deinit(&p->msg);
}

void
proto_parser_set_payload_max(ProtoParser *p, int64_t payload_max)
{
	p->payload_max = payload_max;
}

void
proto_parser_set_headers(ProtoParser *p, bool headers)
{
	p->headers = headers;
}

void
proto_parser_set_awaiting_connect(ProtoParser *p, bool awaiting)
{
	p->awaiting_connect = awaiting;
}

ProtoParseError
proto_parser_error(const ProtoParser *p)
{
	return p->error;
}

const char *
proto_parse_error_text(ProtoParseError error)
{
	switch (error) {
	case PROTO_ERR_UNKNOWN_OP:
		return "Unknown Protocol Operation";
	case PROTO_ERR_CONTROL_LINE:
		return "maximum control line exceeded";
	case PROTO_ERR_MAX_PAYLOAD:
		return "Maximum Payload Violation";
	case PROTO_ERR_AUTH:
		return "Authorization Violation";
	case PROTO_ERR_NONE:
	case PROTO_ERR_ARGS:
	case PROTO_ERR_NO_HEADERS:
		return NULL;
	}
	return NULL;
}

const char *
proto_op_name(ProtoOpKind kind)
{
	static const char *const names[] = {
		[PROTO_OP_INFO] = "INFO", [PROTO_OP_CONNECT] = "CONNECT", [PROTO_OP_PUB] = "PUB",
		[PROTO_OP_HPUB] = "HPUB", [PROTO_OP_SUB] = "SUB", [PROTO_OP_UNSUB] = "UNSUB",
		[PROTO_OP_PING] = "PING", [PROTO_OP_PONG] = "PONG", [PROTO_OP_MSG] = "MSG",
		[PROTO_OP_HMSG] = "HMSG", [PROTO_OP_OK] = "+OK", [PROTO_OP_ERR] = "-ERR",
	};
	return kind >= PROTO_OP_INFO && kind <= PROTO_OP_ERR ? names[kind] : "?";
}

int64_t
proto_parse_size(const uint8_t *d, size_t len)
{
	if (len == 0 || len > 9)
		return -1;
	int64_t n = 0;
	for (size_t k = 0; k < len; k++) {
		if (d[k] < '0' || d[k] > '9')
			return -1;
		n = n * 10 + (d[k] - '0');
	}
	return n;
}

static inline bool
is_arg_sep(uint8_t c, bool crlf_separates)
{
	/* Most bytes are above ' ': one compare decides them. */
	return c <= ' ' && (c == ' ' || c == '\t' || (crlf_separates && (c == '\r' || c == '\n')));
}

/* Splits on runs of the given separators, like nats-server's processPub
 * (space, tab) and splitArg (space, tab, CR, LF). Returns the count, which
 * may exceed MAX_ARGS (then only MAX_ARGS are stored). */
/* The end of the argument that starts at k: the first separator at or
 * after k, or len. Eight bytes at a time while eight remain: a byte above
 * ' ' never separates, and (w - 0x21..21) & ~w & 0x80..80 flags exactly
 * the bytes below 0x21 from the lowest one up (a borrow only ever flags
 * bytes above a flagged one), so the lowest flag is the first candidate. */
static inline size_t
arg_end(const uint8_t *arg, size_t k, size_t len, bool crlf_separates)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	while (len - k >= 8) {
		uint64_t w;
		memcpy(&w, arg + k, sizeof(w));
		uint64_t low = (w - UINT64_C(0x2121212121212121)) & ~w & UINT64_C(0x8080808080808080);
		if (low == 0) {
			k += 8;
			continue;
		}
		k += (size_t)__builtin_ctzll(low) / 8;
		if (is_arg_sep(arg[k], crlf_separates))
			return k;
		k++; /* a control byte inside the argument */
	}
#endif
	while (k < len && !is_arg_sep(arg[k], crlf_separates))
		k++;
	return k;
}

static size_t
split_args(const uint8_t *arg, size_t len, bool crlf_separates, ProtoSlice *out)
{
	size_t count = 0;
	size_t k = 0;
	for (;;) {
		while (k < len && is_arg_sep(arg[k], crlf_separates))
			k++;
		if (k == len)
			return count;
		size_t start = k;
		k = arg_end(arg, k, len, crlf_separates);
		if (count < MAX_ARGS)
			out[count] = (ProtoSlice){ arg + start, k - start };
		count++;
	}
}

static ProtoParseStatus
fail(ProtoParser *p, ProtoParseError error)
{
	p->error = error;
	p->state = ST_DEAD;
	return PROTO_PARSE_ERROR;
}

/* A complete argument line for the current op, parsed into *op. Returns
 * PROTO_PARSE_OP for ops without payload, PROTO_PARSE_MORE when a payload
 * follows (state set to ST_PAYLOAD; *op holds the control line's part, and
 * the caller adds the body or keeps it in p->pending), or an error. */
static ProtoParseStatus
finish_arg(ProtoParser *p, int arg_state, const uint8_t *arg, size_t len, ProtoOp *op)
{
	if (len > p->control_line_max)
		return fail(p, PROTO_ERR_CONTROL_LINE);
	ProtoSlice a[MAX_ARGS];
	size_t n;
	op_clear(op);
	switch (arg_state) {
	case ST_PUB_ARG:
		n = split_args(arg, len, false, a);
		if (n < 2 || n > 3)
			return fail(p, PROTO_ERR_ARGS);
		op->kind = PROTO_OP_PUB;
		op->subject = a[0];
		if (n == 3)
			op->reply = a[1];
		p->size = proto_parse_size(a[n - 1].ptr, a[n - 1].len);
		p->hdr_size = 0;
		if (p->size < 0)
			return fail(p, PROTO_ERR_ARGS);
		if (p->payload_max >= 0 && p->size > p->payload_max)
			return fail(p, PROTO_ERR_MAX_PAYLOAD);
		break;
	case ST_HPUB_ARG:
		if (!p->headers)
			return fail(p, PROTO_ERR_NO_HEADERS);
		n = split_args(arg, len, false, a);
		if (n < 3 || n > 4)
			return fail(p, PROTO_ERR_ARGS);
		op->kind = PROTO_OP_HPUB;
		op->subject = a[0];
		if (n == 4)
			op->reply = a[1];
		p->hdr_size = proto_parse_size(a[n - 2].ptr, a[n - 2].len);
		p->size = proto_parse_size(a[n - 1].ptr, a[n - 1].len);
		if (p->hdr_size < 0 || p->size < 0 || p->hdr_size > p->size)
			return fail(p, PROTO_ERR_ARGS);
		if (p->payload_max >= 0 && p->size > p->payload_max)
			return fail(p, PROTO_ERR_MAX_PAYLOAD);
		break;
	case ST_MSG_ARG:
		n = split_args(arg, len, false, a);
		if (n < 3 || n > 4)
			return fail(p, PROTO_ERR_ARGS);
		op->kind = PROTO_OP_MSG;
		op->subject = a[0];
		op->sid = a[1];
		if (n == 4)
			op->reply = a[2];
		p->size = proto_parse_size(a[n - 1].ptr, a[n - 1].len);
		p->hdr_size = 0;
		if (p->size < 0)
			return fail(p, PROTO_ERR_ARGS);
		if (p->payload_max >= 0 && p->size > p->payload_max)
			return fail(p, PROTO_ERR_MAX_PAYLOAD);
		break;
	case ST_HMSG_ARG:
		n = split_args(arg, len, false, a);
		if (n < 4 || n > 5)
			return fail(p, PROTO_ERR_ARGS);
		op->kind = PROTO_OP_HMSG;
		op->subject = a[0];
		op->sid = a[1];
		if (n == 5)
			op->reply = a[2];
		p->hdr_size = proto_parse_size(a[n - 2].ptr, a[n - 2].len);
		p->size = proto_parse_size(a[n - 1].ptr, a[n - 1].len);
		if (p->hdr_size < 0 || p->size < 0 || p->hdr_size > p->size)
			return fail(p, PROTO_ERR_ARGS);
		if (p->payload_max >= 0 && p->size > p->payload_max)
			return fail(p, PROTO_ERR_MAX_PAYLOAD);
		break;
	case ST_SUB_ARG:
		n = split_args(arg, len, true, a);
		if (n < 2 || n > 3)
			return fail(p, PROTO_ERR_ARGS);
		op->kind = PROTO_OP_SUB;
		op->subject = a[0];
		if (n == 3)
			op->queue = a[1];
		op->sid = a[n - 1];
		return PROTO_PARSE_OP;
	case ST_UNSUB_ARG:
		n = split_args(arg, len, true, a);
		if (n < 1 || n > 2)
			return fail(p, PROTO_ERR_ARGS);
		op->kind = PROTO_OP_UNSUB;
		op->sid = a[0];
		if (n == 2)
			op->max_msgs = proto_parse_size(a[1].ptr, a[1].len);
		return PROTO_PARSE_OP;
	case ST_CONNECT_ARG:
		op->kind = PROTO_OP_CONNECT;
		op->text = (ProtoSlice){ arg, len };
		return PROTO_PARSE_OP;
	case ST_INFO_ARG:
		op->kind = PROTO_OP_INFO;
		op->text = (ProtoSlice){ arg, len };
		return PROTO_PARSE_OP;
	case ST_MINUS_ERR_ARG:
		op->kind = PROTO_OP_ERR;
		/* -ERR 'text': hand back the text inside the quotes */
		if (len >= 2 && arg[0] == '\'' && arg[len - 1] == '\'')
			op->text = (ProtoSlice){ arg + 1, len - 2 };
		else
			op->text = (ProtoSlice){ arg, len };
		return PROTO_PARSE_OP;
	default:
		UNREACHABLE();
	}
	p->state = ST_PAYLOAD;
	p->msg_buffered = false;
	return PROTO_PARSE_MORE;
}

/* Completes *op (the control line's part) with its body. */
static void
emit_msg(ProtoParser *p, const uint8_t *body, ProtoOp *op)
{
	op->headers = (ProtoSlice){ body, (size_t)p->hdr_size };
	op->payload = (ProtoSlice){ body + p->hdr_size, (size_t)(p->size - p->hdr_size) };
	if (p->hdr_size == 0 && (op->kind == PROTO_OP_PUB || op->kind == PROTO_OP_MSG))
		op->headers.ptr = NULL;
	p->state = ST_START;
}

static bool
arg_state_p(int s)
{
	return s == ST_PUB_ARG || s == ST_HPUB_ARG || s == ST_MSG_ARG || s == ST_HMSG_ARG || s == ST_SUB_ARG ||
	    s == ST_UNSUB_ARG || s == ST_CONNECT_ARG || s == ST_INFO_ARG || s == ST_MINUS_ERR_ARG;
}

/* Keyword letter: case-insensitive match or Unknown Protocol Operation. */
#define KW(letter, next)                                                       \
	do {                                                                   \
		if ((b & 0xdf) != (letter))                                    \
			goto unknown;                                          \
		p->state = (next);                                             \
	} while (0)

/* After a keyword that needs a separator. */
#define NEED_SPACE(next)                          \
	do {                                      \
		if (b != ' ' && b != '\t')        \
			goto unknown;             \
		p->state = (next);                \
	} while (0)

ProtoParseStatus
proto_parser_feed(ProtoParser *p, const uint8_t *buf, size_t len, size_t *consumed, ProtoOp *op)
{
	ASSERT(p->state != ST_DEAD);
	size_t i = 0;
	size_t as = 0; /* start of the current argument in buf */
	bool server = p->role == PROTO_ROLE_SERVER;
	ProtoParseStatus st;

	while (i < len) {
		uint8_t b = buf[i];
		switch (p->state) {
		case ST_START:
			if (server && p->awaiting_connect && b != 'C' && b != 'c') {
				*consumed = i;
				return fail(p, PROTO_ERR_AUTH);
			}
			p->op_char = b;
			/* The common case, "PUB " (server) or "MSG " (client) whole
			 * in the buffer, in one step; the same states as byte by
			 * byte. */
			if (len - i >= 4 && (buf[i + 3] == ' ' || buf[i + 3] == '\t')) {
				uint8_t b1 = buf[i + 1] & 0xdf, b2 = buf[i + 2] & 0xdf;
				if (server && (b & 0xdf) == 'P' && b1 == 'U' && b2 == 'B') {
					p->state = ST_PUB_SPC;
					i += 4;
					break;
				}
				if (!server && (b & 0xdf) == 'M' && b1 == 'S' && b2 == 'G') {
					p->state = ST_MSG_SPC;
					i += 4;
					break;
				}
			}
			switch (b) {
			case 'P': case 'p': p->state = ST_P; break;
			case 'H': case 'h': p->state = ST_H; break;
			case 'S': case 's': if (!server) goto unknown; p->state = ST_S; break;
			case 'U': case 'u': if (!server) goto unknown; p->state = ST_U; break;
			case 'C': case 'c': if (!server) goto unknown; p->state = ST_C; break;
			case 'M': case 'm': if (server) goto unknown; p->state = ST_M; break;
			case 'I': case 'i': p->state = ST_I; break;
			case '+': p->state = ST_PLUS; break;
			case '-': p->state = ST_MINUS; break;
			default: goto unknown;
			}
			i++;
			break;

		case ST_P:
			switch (b & 0xdf) {
			case 'U': if (!server) goto unknown; p->state = ST_PU; break;
			case 'I': p->state = ST_PI; break;
			case 'O': p->state = ST_PO; break;
			default: goto unknown;
			}
			i++;
			break;
		case ST_PU: KW('B', ST_PUB); i++; break;
		case ST_PUB: NEED_SPACE(ST_PUB_SPC); i++; break;
		case ST_PI: KW('N', ST_PIN); i++; break;
		case ST_PIN: KW('G', ST_PING); i++; break;
		case ST_PO: KW('N', ST_PON); i++; break;
		case ST_PON: KW('G', ST_PONG); i++; break;
		case ST_PING:
		case ST_PONG:
		case ST_PLUS_OK: {
			/* Everything up to the LF is ignored, as nats-server does. */
			const uint8_t *nl = memchr(buf + i, '\n', len - i);
			if (nl == NULL) {
				i = len;
				break;
			}
			op_clear(op);
			op->kind = p->state == ST_PING ? PROTO_OP_PING : p->state == ST_PONG ? PROTO_OP_PONG : PROTO_OP_OK;
			p->state = ST_START;
			*consumed = (size_t)(nl - buf) + 1;
			return PROTO_PARSE_OP;
		}

		case ST_H:
			switch (b & 0xdf) {
			case 'P': if (!server) goto unknown; p->state = ST_HP; break;
			case 'M': if (server) goto unknown; p->state = ST_HM; break;
			default: goto unknown;
			}
			i++;
			break;
		case ST_HP: KW('U', ST_HPU); i++; break;
		case ST_HPU: KW('B', ST_HPUB); i++; break;
		case ST_HPUB: NEED_SPACE(ST_HPUB_SPC); i++; break;
		case ST_HM: KW('S', ST_HMS); i++; break;
		case ST_HMS: KW('G', ST_HMSG); i++; break;
		case ST_HMSG: NEED_SPACE(ST_HMSG_SPC); i++; break;

		case ST_S: KW('U', ST_SU); i++; break;
		case ST_SU: KW('B', ST_SUB); i++; break;
		case ST_SUB: NEED_SPACE(ST_SUB_SPC); i++; break;

		case ST_U: KW('N', ST_UN); i++; break;
		case ST_UN: KW('S', ST_UNS); i++; break;
		case ST_UNS: KW('U', ST_UNSU); i++; break;
		case ST_UNSU: KW('B', ST_UNSUB); i++; break;
		case ST_UNSUB: NEED_SPACE(ST_UNSUB_SPC); i++; break;

		case ST_C: KW('O', ST_CO); i++; break;
		case ST_CO: KW('N', ST_CON); i++; break;
		case ST_CON: KW('N', ST_CONN); i++; break;
		case ST_CONN: KW('E', ST_CONNE); i++; break;
		case ST_CONNE: KW('C', ST_CONNEC); i++; break;
		case ST_CONNEC: KW('T', ST_CONNECT); i++; break;

		case ST_I: KW('N', ST_IN); i++; break;
		case ST_IN: KW('F', ST_INF); i++; break;
		case ST_INF: KW('O', ST_INFO); i++; break;

		case ST_M: KW('S', ST_MS); i++; break;
		case ST_MS: KW('G', ST_MSG); i++; break;
		case ST_MSG: NEED_SPACE(ST_MSG_SPC); i++; break;

		case ST_PLUS: KW('O', ST_PLUS_O); i++; break;
		case ST_PLUS_O: KW('K', ST_PLUS_OK); i++; break;
		case ST_MINUS: KW('E', ST_MINUS_E); i++; break;
		case ST_MINUS_E: KW('R', ST_MINUS_ER); i++; break;
		case ST_MINUS_ER: KW('R', ST_MINUS_ERR); i++; break;
		case ST_MINUS_ERR: NEED_SPACE(ST_MINUS_ERR_SPC); i++; break;

		/* Separators: blanks are skipped; the first other byte, whatever
		 * it is, starts the argument and is not itself interpreted. */
		case ST_PUB_SPC:
		case ST_HPUB_SPC:
		case ST_HMSG_SPC:
		case ST_SUB_SPC:
		case ST_UNSUB_SPC:
		case ST_MSG_SPC:
		case ST_MINUS_ERR_SPC:
		case ST_CONNECT:
		case ST_INFO:
			if (b == ' ' || b == '\t') {
				i++;
				break;
			}
			switch (p->state) {
			case ST_PUB_SPC: p->state = ST_PUB_ARG; break;
			case ST_HPUB_SPC: p->state = ST_HPUB_ARG; break;
			case ST_HMSG_SPC: p->state = ST_HMSG_ARG; break;
			case ST_SUB_SPC: p->state = ST_SUB_ARG; break;
			case ST_UNSUB_SPC: p->state = ST_UNSUB_ARG; break;
			case ST_MSG_SPC: p->state = ST_MSG_ARG; break;
			case ST_MINUS_ERR_SPC: p->state = ST_MINUS_ERR_ARG; break;
			case ST_CONNECT: p->state = ST_CONNECT_ARG; break;
			case ST_INFO: p->state = ST_INFO_ARG; break;
			default: UNREACHABLE();
			}
			p->drop = false;
			p->arg_buffered = false;
			as = i;
			i++;
			break;

		case ST_PUB_ARG:
		case ST_HPUB_ARG:
		case ST_HMSG_ARG:
		case ST_SUB_ARG:
		case ST_UNSUB_ARG:
		case ST_MSG_ARG:
		case ST_MINUS_ERR_ARG:
		case ST_CONNECT_ARG:
		case ST_INFO_ARG: {
			const uint8_t *nl = memchr(buf + i, '\n', len - i);
			size_t end = nl ? (size_t)(nl - buf) : len;
			/* (the CR is nearly always the last byte before the LF) */
			bool cr = (end > i && buf[end - 1] == '\r') || memchr(buf + i, '\r', end - i) != NULL;
			const uint8_t *arg;
			size_t arg_len;
			if (p->arg_buffered) {
				/* Continuation: nats-server appends all but CR and LF. */
				for (size_t k = i; k < end; k++)
					if (buf[k] != '\r')
						proto_buf_append_byte(&p->arg, buf[k]);
				p->drop = p->drop || cr;
				arg = proto_buf_peek(&p->arg);
				arg_len = proto_buf_pending(&p->arg);
			} else {
				p->drop = p->drop || cr;
				arg = buf + as;
				arg_len = end - as - (p->drop ? 1 : 0);
			}
			if (nl == NULL) {
				/* Split: keep what we have (nats-server trims one byte
				 * when a CR was seen, as here) and check the limit. */
				if (!p->arg_buffered) {
					proto_buf_clear(&p->arg);
					proto_buf_append(&p->arg, arg, arg_len);
					p->arg_buffered = true;
				}
				if (proto_buf_pending(&p->arg) > p->control_line_max) {
					*consumed = len;
					return fail(p, PROTO_ERR_CONTROL_LINE);
				}
				i = len;
				break;
			}
			int arg_state = p->state;
			i = end + 1;
			st = finish_arg(p, arg_state, arg, arg_len, op);
			if (st != PROTO_PARSE_MORE) {
				if (st == PROTO_PARSE_OP)
					p->state = ST_START;
				*consumed = st == PROTO_PARSE_ERROR ? end : i;
				return st;
			}
			/* A payload follows. If it is all here, point at it. */
			if (len - i >= (size_t)p->size + 2) {
				const uint8_t *body = buf + i;
				if (body[p->size] != '\r') {
					*consumed = i + (size_t)p->size;
					return fail(p, PROTO_ERR_UNKNOWN_OP);
				}
				if (body[p->size + 1] != '\n') {
					*consumed = i + (size_t)p->size + 1;
					return fail(p, PROTO_ERR_UNKNOWN_OP);
				}
				emit_msg(p, body, op);
				*consumed = i + (size_t)p->size + 2;
				return PROTO_PARSE_OP;
			}
			/* Split payload: the control line waits in p->pending, and
			 * its slices must outlive this buffer, so move them into
			 * p->arg. */
			p->pending = *op;
			if (!p->arg_buffered) {
				proto_buf_clear(&p->arg);
				proto_buf_append(&p->arg, arg, arg_len);
				p->arg_buffered = true;
				ptrdiff_t shift = proto_buf_peek(&p->arg) - arg;
				ProtoSlice *s[] = { &p->pending.subject, &p->pending.reply, &p->pending.sid };
				for (size_t k = 0; k < 3; k++)
					if (s[k]->ptr != NULL)
						s[k]->ptr += shift;
			}
			proto_buf_clear(&p->msg);
			proto_buf_reserve(&p->msg, (size_t)p->size + 2);
			p->msg_buffered = true;
			break;
		}

		case ST_PAYLOAD: {
			size_t have = proto_buf_pending(&p->msg);
			size_t want = (size_t)p->size - have;
			size_t n = min_size(want, len - i);
			proto_buf_append(&p->msg, buf + i, n);
			i += n;
			if (proto_buf_pending(&p->msg) == (size_t)p->size)
				p->state = ST_END_R;
			break;
		}
		case ST_END_R:
			if (b != '\r') {
				*consumed = i;
				return fail(p, PROTO_ERR_UNKNOWN_OP);
			}
			p->state = ST_END_N;
			i++;
			break;
		case ST_END_N:
			if (b != '\n') {
				*consumed = i;
				return fail(p, PROTO_ERR_UNKNOWN_OP);
			}
			*op = p->pending;
			emit_msg(p, proto_buf_peek(&p->msg), op);
			*consumed = i + 1;
			return PROTO_PARSE_OP;

		default:
			UNREACHABLE();
		}
	}
	/* The input ended right after an argument began (its first byte was
	 * taken by the separator state): keep that byte for the next feed. */
	if (!p->arg_buffered && arg_state_p(p->state)) {
		proto_buf_clear(&p->arg);
		proto_buf_append(&p->arg, buf + as, len - as);
		p->arg_buffered = true;
		if (proto_buf_pending(&p->arg) > p->control_line_max) {
			*consumed = len;
			return fail(p, PROTO_ERR_CONTROL_LINE);
		}
	}
	*consumed = len;
	return PROTO_PARSE_MORE;

unknown:
	*consumed = i;
	return fail(p, PROTO_ERR_UNKNOWN_OP);
}
