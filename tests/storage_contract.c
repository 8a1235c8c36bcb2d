/*
 * storage_contract.c - see storage_contract.h. Uses names under "contract/"
 * so it can share a storage with other tests.
 */
#include "tests/storage_contract.h"

#include <string.h>

static BrokerStorageFile *
must_open(BrokerStorage *st, const char *name, unsigned flags)
{
	BrokerStorageFile *f = NULL;
	g_assert_cmpint(st->ops->open(st->ctx, name, flags, &f), ==, BROKER_STORAGE_OK);
	g_assert_nonnull(f);
	return f;
}

static void
assert_content(BrokerStorage *st, BrokerStorageFile *f, const char *expected, size_t len)
{
	uint64_t size;
	g_assert_cmpint(st->ops->size(st->ctx, f, &size), ==, BROKER_STORAGE_OK);
	g_assert_cmpuint(size, ==, len);
	char buf[256];
	size_t got;
	g_assert_cmpint(st->ops->read(st->ctx, f, 0, buf, sizeof(buf), &got), ==, BROKER_STORAGE_OK);
	g_assert_cmpmem(buf, got, expected, len);
}

static void
assert_list(BrokerStorage *st, const char *dir, const char *const *expected)
{
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	g_assert_cmpint(st->ops->list(st->ctx, dir, names), ==, BROKER_STORAGE_OK);
	guint n = 0;
	while (expected[n] != NULL)
		n++;
	g_assert_cmpuint(names->len, ==, n);
	for (guint k = 0; k < n; k++)
		g_assert_cmpstr(names->pdata[k], ==, expected[k]);
	g_ptr_array_free(names, TRUE);
}

void
storage_contract_run(BrokerStorage *st)
{
	BrokerStorageFile *f = NULL;
	g_assert_cmpint(st->ops->open(st->ctx, "contract/missing", 0, &f), ==, BROKER_STORAGE_NOT_FOUND);

	f = must_open(st, "contract/a/data", BROKER_STORAGE_CREATE);
	g_assert_cmpint(st->ops->append(st->ctx, f, "hello", 5), ==, BROKER_STORAGE_OK);
	g_assert_cmpint(st->ops->append(st->ctx, f, " world", 6), ==, BROKER_STORAGE_OK);
	assert_content(st, f, "hello world", 11);
	g_assert_cmpint(st->ops->write_at(st->ctx, f, 0, "J", 1), ==, BROKER_STORAGE_OK);
	assert_content(st, f, "Jello world", 11);
	/* a read past the end returns what there is */
	char buf[8];
	size_t got = 99;
	g_assert_cmpint(st->ops->read(st->ctx, f, 8, buf, sizeof(buf), &got), ==, BROKER_STORAGE_OK);
	g_assert_cmpmem(buf, got, "rld", 3);
	g_assert_cmpint(st->ops->read(st->ctx, f, 100, buf, sizeof(buf), &got), ==, BROKER_STORAGE_OK);
	g_assert_cmpuint(got, ==, 0);
	g_assert_cmpint(st->ops->truncate(st->ctx, f, 5), ==, BROKER_STORAGE_OK);
	assert_content(st, f, "Jello", 5);
	g_assert_cmpint(st->ops->sync(st->ctx, f), ==, BROKER_STORAGE_OK);
	st->ops->close(st->ctx, f);

	/* reopening sees the data; TRUNCATE empties */
	f = must_open(st, "contract/a/data", 0);
	assert_content(st, f, "Jello", 5);
	st->ops->close(st->ctx, f);
	f = must_open(st, "contract/a/other", BROKER_STORAGE_CREATE);
	g_assert_cmpint(st->ops->append(st->ctx, f, "x", 1), ==, BROKER_STORAGE_OK);
	st->ops->close(st->ctx, f);
	f = must_open(st, "contract/a/other", BROKER_STORAGE_TRUNCATE);
	assert_content(st, f, "", 0);
	st->ops->close(st->ctx, f);
	f = must_open(st, "contract/b", BROKER_STORAGE_CREATE);
	st->ops->close(st->ctx, f);

	/* listings are sorted; subdirectories end in '/' */
	assert_list(st, "contract", (const char *const[]){ "a/", "b", NULL });
	assert_list(st, "contract/a", (const char *const[]){ "data", "other", NULL });

	/* rename replaces its target */
	g_assert_cmpint(st->ops->rename(st->ctx, "contract/a/data", "contract/a/other"), ==, BROKER_STORAGE_OK);
	f = must_open(st, "contract/a/other", 0);
	assert_content(st, f, "Jello", 5);
	st->ops->close(st->ctx, f);
	assert_list(st, "contract/a", (const char *const[]){ "other", NULL });
	g_assert_cmpint(st->ops->rename(st->ctx, "contract/nope", "contract/x"), ==, BROKER_STORAGE_NOT_FOUND);

	/* remove */
	g_assert_cmpint(st->ops->remove(st->ctx, "contract/a/other"), ==, BROKER_STORAGE_OK);
	g_assert_cmpint(st->ops->remove(st->ctx, "contract/a/other"), ==, BROKER_STORAGE_NOT_FOUND);
	g_assert_cmpint(st->ops->remove(st->ctx, "contract/b"), ==, BROKER_STORAGE_OK);
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	g_assert_cmpint(st->ops->list(st->ctx, "contract", names), ==, BROKER_STORAGE_NOT_FOUND);
	g_ptr_array_free(names, TRUE);
	st->ops->close(st->ctx, NULL);
}
