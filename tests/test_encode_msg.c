/*
 * test_encode_msg.c - the server-side encoder (proto_encode_msg): MSG and
 * HMSG lines byte for byte against a reference built with printf, over
 * every length of each piece the encoder copies by a different path (none,
 * 1-3, 4-7, 8-16 and longer bytes) and sizes of one, two and more digits,
 * appended one after another into one buffer as a connection's output is.
 */
#include <glib.h>
#include <string.h>

#include "proto/encode.h"

static char *
piece(char c, size_t len)
{
	char *s = g_malloc(len + 1);
	memset(s, c, len);
	s[len] = '\0';
	return s;
}

static void
test_encode_msg(void)
{
	static const size_t lens[] = { 0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 99, 100, 1000 };
	ProtoBuf out;
	proto_buf_init(&out);
	GString *want = g_string_new(NULL);
	uint64_t ops = 0;
	for (size_t a = 1; a < G_N_ELEMENTS(lens); a++) {         /* subject */
		for (size_t b = 1; b < G_N_ELEMENTS(lens) - 3; b++) { /* sid */
			for (size_t r = 0; r < G_N_ELEMENTS(lens); r += 3) { /* reply */
				for (size_t p = 0; p < G_N_ELEMENTS(lens); p++) { /* payload */
					for (int with_headers = 0; with_headers < 2; with_headers++) {
						g_autofree char *subject = piece('s', lens[a]);
						g_autofree char *sid = piece('i', lens[b]);
						g_autofree char *reply = piece('r', lens[r]);
						g_autofree char *payload = piece('p', lens[p]);
						const char *hdr = "NATS/1.0\r\nK: v\r\n\r\n";
						size_t hdr_len = with_headers ? strlen(hdr) : 0;
						proto_encode_msg(&out, subject, lens[a], sid, lens[b], reply, lens[r],
						    with_headers ? hdr : NULL, hdr_len, payload, lens[p]);
						g_string_append_printf(want, "%s %s %s ", with_headers ? "HMSG" : "MSG",
						    subject, sid);
						if (lens[r] > 0)
							g_string_append_printf(want, "%s ", reply);
						if (with_headers)
							g_string_append_printf(want, "%zu ", hdr_len);
						g_string_append_printf(want, "%zu\r\n%s%s\r\n", hdr_len + lens[p],
						    with_headers ? hdr : "", payload);
						ops++;
					}
				}
			}
		}
	}
	g_assert_cmpuint(ops, >, 10000);
	g_assert_cmpuint(proto_buf_pending(&out), ==, want->len);
	g_assert_cmpmem(proto_buf_peek(&out), proto_buf_pending(&out), want->str, want->len);
	g_string_free(want, TRUE);
	proto_buf_deinit(&out);
}

/* Sizes of every digit count, including the largest payload size. */
static void
test_encode_msg_sizes(void)
{
	static const size_t sizes[] = { 0, 9, 10, 99, 100, 999, 1000, 65535, 1048576 };
	for (size_t k = 0; k < G_N_ELEMENTS(sizes); k++) {
		ProtoBuf out;
		proto_buf_init(&out);
		g_autofree char *payload = piece('x', sizes[k]);
		proto_encode_msg(&out, "a", 1, "1", 1, NULL, 0, NULL, 0, payload, sizes[k]);
		g_autofree char *line = g_strdup_printf("MSG a 1 %zu\r\n", sizes[k]);
		g_assert_cmpuint(proto_buf_pending(&out), ==, strlen(line) + sizes[k] + 2);
		g_assert_cmpmem(proto_buf_peek(&out), strlen(line), line, strlen(line));
		proto_buf_deinit(&out);
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/proto/encode/msg", test_encode_msg);
	g_test_add_func("/proto/encode/msg-sizes", test_encode_msg_sizes);
	return g_test_run();
}
