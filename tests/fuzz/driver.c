/*
 * driver.c - runs a libFuzzer target without libFuzzer: every file of a
 * corpus, then a bounded number of deterministic mutations of them (bit
 * flips, byte changes, insertions, deletions, splices), from a fixed seed.
 * This is the short fuzz run of the ordinary test suite; the real,
 * coverage-guided run needs -Dfuzz=true and clang (see tests/fuzz/README.md).
 *
 *   fuzz-driver CORPUS_DIR ITERATIONS
 */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/prng.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
insert_bytes(GByteArray *a, guint at, const uint8_t *bytes, guint n)
{
	guint old = a->len;
	g_byte_array_set_size(a, old + n);
	memmove(a->data + at + n, a->data + at, old - at);
	memcpy(a->data + at, bytes, n);
}

static GByteArray *
mutate(Prng *prng, const GByteArray *a, const GByteArray *b)
{
	GByteArray *out = g_byte_array_new();
	g_byte_array_append(out, a->data, a->len);
	int edits = 1 + (int)prng_below(prng, 8);
	for (int e = 0; e < edits; e++) {
		uint64_t kind = prng_below(prng, 5);
		if (out->len == 0)
			kind = 2;
		guint at = out->len ? (guint)prng_below(prng, out->len) : 0;
		switch (kind) {
		case 0: /* flip a bit */
			out->data[at] ^= (uint8_t)(1u << prng_below(prng, 8));
			break;
		case 1: { /* a byte that matters to the protocol */
			static const uint8_t special[] = { '\r', '\n', ' ', '\t', '.', '*', '>', '0', '9', '\'', '{', '}', 0 };
			out->data[at] = special[prng_below(prng, sizeof(special))];
			break;
		}
		case 2: { /* insert random bytes */
			uint8_t bytes[8];
			guint n = 1 + (guint)prng_below(prng, 8);
			for (guint k = 0; k < n; k++)
				bytes[k] = (uint8_t)prng_next(prng);
			insert_bytes(out, at, bytes, n);
			break;
		}
		case 3: { /* delete */
			guint n = 1 + (guint)prng_below(prng, 16);
			g_byte_array_remove_range(out, at, MIN(out->len - at, n));
			break;
		}
		case 4: /* splice in part of another input */
			if (b->len > 0) {
				guint from = (guint)prng_below(prng, b->len);
				guint want = 1 + (guint)prng_below(prng, 64);
				guint n = MIN(b->len - from, want);
				insert_bytes(out, at, b->data + from, n);
			}
			break;
		}
	}
	return out;
}

/* g_ptr_array_sort hands the comparator pointers to the elements. */
static int
compare_names(gconstpointer a, gconstpointer b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int
main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s CORPUS_DIR ITERATIONS\n", argv[0]);
		return 2;
	}
	GError *error = NULL;
	GDir *dir = g_dir_open(argv[1], 0, &error);
	if (dir == NULL) {
		fprintf(stderr, "%s\n", error->message);
		return 2;
	}
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	const char *name;
	while ((name = g_dir_read_name(dir)) != NULL)
		g_ptr_array_add(names, g_strdup(name));
	g_dir_close(dir);
	g_ptr_array_sort(names, compare_names);
	GPtrArray *corpus = g_ptr_array_new_with_free_func((GDestroyNotify)g_byte_array_unref);
	for (guint k = 0; k < names->len; k++) {
		char *path = g_build_filename(argv[1], (const char *)names->pdata[k], NULL);
		gchar *contents;
		gsize len;
		if (g_file_get_contents(path, &contents, &len, NULL)) {
			GByteArray *a = g_byte_array_new_take((guint8 *)contents, len);
			LLVMFuzzerTestOneInput(a->data, a->len);
			g_ptr_array_add(corpus, a);
		}
		g_free(path);
	}
	g_ptr_array_free(names, TRUE);
	if (corpus->len == 0) {
		fprintf(stderr, "empty corpus\n");
		return 2;
	}
	long iterations = strtol(argv[2], NULL, 10);
	Prng prng;
	prng_seed(&prng, 20261126);
	for (long i = 0; i < iterations; i++) {
		const GByteArray *a = corpus->pdata[prng_below(&prng, corpus->len)];
		const GByteArray *b = corpus->pdata[prng_below(&prng, corpus->len)];
		GByteArray *m = mutate(&prng, a, b);
		LLVMFuzzerTestOneInput(m->data, m->len);
		g_byte_array_unref(m);
	}
	printf("ok: %u corpus inputs and %ld mutations ran without a crash\n", corpus->len, iterations);
	g_ptr_array_free(corpus, TRUE);
	return 0;
}
