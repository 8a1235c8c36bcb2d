/*
 * fuzz_parser.c - libFuzzer target: the protocol parser in both roles, fed
 * the input at split points the input itself chooses. The parser must
 * never crash or read out of bounds, must consume what it reports, and
 * must hand out slices inside its input or its own buffers.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "proto/assert.h"
#include "proto/parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
run(ProtoRole role, const uint8_t *data, size_t size, size_t step)
{
	ProtoParser p;
	proto_parser_init(&p, role, 256, 4096);
	proto_parser_set_headers(&p, size > 0 && (data[0] & 1));
	size_t off = 0;
	while (off < size) {
		size_t n = step == 0 ? size - off : (step < size - off ? step : size - off);
		size_t pos = 0;
		while (pos < n) {
			size_t used = 0;
			ProtoOp op;
			ProtoParseStatus st = proto_parser_feed(&p, data + off + pos, n - pos, &used, &op);
			ASSERT(used <= n - pos);
			if (st == PROTO_PARSE_ERROR) {
				proto_parser_deinit(&p);
				return;
			}
			pos += used;
			if (st == PROTO_PARSE_OP) {
				/* touch every byte of every slice: ASan finds strays */
				const ProtoSlice *s[] = { &op.subject, &op.reply, &op.queue, &op.sid, &op.headers,
					&op.payload, &op.text };
				volatile uint8_t sink = 0;
				for (size_t k = 0; k < sizeof(s) / sizeof(s[0]); k++)
					for (size_t j = 0; s[k]->ptr != NULL && j < s[k]->len; j++)
						sink ^= s[k]->ptr[j];
				(void)sink;
			} else {
				ASSERT(pos == n);
			}
		}
		off += n;
	}
	proto_parser_deinit(&p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t step = size > 0 ? (data[size - 1] % 17) : 0;
	run(PROTO_ROLE_SERVER, data, size, 0);
	run(PROTO_ROLE_SERVER, data, size, step + 1);
	run(PROTO_ROLE_CLIENT, data, size, 0);
	run(PROTO_ROLE_CLIENT, data, size, step + 1);
	return 0;
}
