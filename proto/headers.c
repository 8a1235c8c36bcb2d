/*
 * headers.c - see headers.h.
 */
#include "proto/headers.h"

#include <string.h>

#include "proto/assert.h"

#define VERSION_LINE "NATS/1.0"

static const uint8_t *
line_end(const uint8_t *p, const uint8_t *end)
{
	const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
	return nl ? nl : end;
}

static ProtoSlice
trim(const uint8_t *a, const uint8_t *b)
{
	while (a < b && (*a == ' ' || *a == '\t'))
		a++;
	while (b > a && (b[-1] == ' ' || b[-1] == '\t' || b[-1] == '\r'))
		b--;
	return (ProtoSlice){ a, (size_t)(b - a) };
}

bool
proto_headers_status(const uint8_t *block, size_t len, int *status, ProtoSlice *description)
{
	*status = 0;
	*description = (ProtoSlice){ NULL, 0 };
	size_t vl = strlen(VERSION_LINE);
	if (len < vl || memcmp(block, VERSION_LINE, vl) != 0)
		return false;
	const uint8_t *end = line_end(block, block + len);
	ProtoSlice rest = trim(block + vl, end);
	if (rest.len >= 3 && rest.ptr[0] >= '0' && rest.ptr[0] <= '9' && rest.ptr[1] >= '0' && rest.ptr[1] <= '9' &&
	    rest.ptr[2] >= '0' && rest.ptr[2] <= '9') {
		*status = (rest.ptr[0] - '0') * 100 + (rest.ptr[1] - '0') * 10 + (rest.ptr[2] - '0');
		*description = trim(rest.ptr + 3, rest.ptr + rest.len);
		if (description->len == 0)
			description->ptr = NULL;
	}
	return true;
}

void
proto_headers_iter_init(ProtoHeaderIter *it, const uint8_t *block, size_t len)
{
	const uint8_t *end = block + len;
	const uint8_t *first = line_end(block, end);
	it->pos = first < end ? first + 1 : end;
	it->end = end;
}

bool
proto_headers_next(ProtoHeaderIter *it, ProtoSlice *key, ProtoSlice *value)
{
	while (it->pos < it->end) {
		const uint8_t *eol = line_end(it->pos, it->end);
		const uint8_t *line = it->pos;
		it->pos = eol < it->end ? eol + 1 : it->end;
		const uint8_t *colon = memchr(line, ':', (size_t)(eol - line));
		if (colon == NULL)
			continue; /* the closing empty line, or junk */
		*key = (ProtoSlice){ line, (size_t)(colon - line) };
		*value = trim(colon + 1, eol);
		return true;
	}
	return false;
}

bool
proto_headers_get(const uint8_t *block, size_t len, const char *key, ProtoSlice *value)
{
	ProtoHeaderIter it;
	ProtoSlice k, v;
	size_t key_len = strlen(key);
	proto_headers_iter_init(&it, block, len);
	while (proto_headers_next(&it, &k, &v)) {
		if (k.len == key_len && memcmp(k.ptr, key, key_len) == 0) {
			*value = v;
			return true;
		}
	}
	return false;
}

void
proto_headers_start(ProtoBuf *out, int status, const char *description)
{
	proto_buf_append_str(out, VERSION_LINE);
	if (status > 0) {
		ASSERT(status < 1000);
		proto_buf_append_byte(out, ' ');
		proto_buf_append_u64(out, (uint64_t)status);
		if (description != NULL && description[0] != '\0') {
			proto_buf_append_byte(out, ' ');
			proto_buf_append_str(out, description);
		}
	}
	proto_buf_append(out, "\r\n", 2);
}

void
proto_headers_add(ProtoBuf *out, const char *key, const void *value, size_t value_len)
{
	proto_buf_append_str(out, key);
	proto_buf_append(out, ": ", 2);
	proto_buf_append(out, value, value_len);
	proto_buf_append(out, "\r\n", 2);
}

void
proto_headers_finish(ProtoBuf *out)
{
	proto_buf_append(out, "\r\n", 2);
}
