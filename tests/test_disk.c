/*
 * test_disk.c - the virtual disk: the storage contract, and the durability
 * model - a crash loses exactly the unsynced bytes, overwrites and
 * truncations of synced data are undone, torn writes keep a strict prefix,
 * bit flips persist, ENOSPC and injected failures write nothing.
 */
#include <glib.h>
#include <jansson.h>
#include <string.h>

#include "sim/disk.h"
#include "sim/world.h"
#include "tests/storage_contract.h"

typedef struct Fixture {
	SimWorld *world;
	SimNode *node;
	SimDisk *disk;
	BrokerStorage *st;
} Fixture;

static void
fixture_set_up(Fixture *fx, gconstpointer data)
{
	(void)data;
	fx->world = sim_world_create(&(SimWorldConfig){ .seed = 1 });
	fx->node = sim_node_create(fx->world, "n", NULL, NULL);
	fx->disk = sim_node_disk(fx->node);
	fx->st = sim_disk_storage(fx->disk);
}

static void
fixture_tear_down(Fixture *fx, gconstpointer data)
{
	(void)data;
	sim_world_destroy(fx->world);
}

static BrokerStorageFile *
open_create(Fixture *fx, const char *name)
{
	BrokerStorageFile *f;
	g_assert_cmpint(fx->st->ops->open(fx->st->ctx, name, BROKER_STORAGE_CREATE, &f), ==, BROKER_STORAGE_OK);
	return f;
}

static GByteArray *
read_all(Fixture *fx, const char *name)
{
	BrokerStorageFile *f;
	g_assert_cmpint(fx->st->ops->open(fx->st->ctx, name, 0, &f), ==, BROKER_STORAGE_OK);
	uint64_t size;
	fx->st->ops->size(fx->st->ctx, f, &size);
	GByteArray *out = g_byte_array_sized_new((guint)size);
	g_byte_array_set_size(out, (guint)size);
	size_t got;
	fx->st->ops->read(fx->st->ctx, f, 0, out->data, size, &got);
	g_assert_cmpuint(got, ==, size);
	fx->st->ops->close(fx->st->ctx, f);
	return out;
}

static void
crash_and_restart(Fixture *fx)
{
	sim_node_crash(fx->node);
	sim_node_restart(fx->node);
}

static void
test_contract(Fixture *fx, gconstpointer data)
{
	(void)data;
	storage_contract_run(fx->st);
}

/* Appends after the last sync are lost, exactly those bytes. */
static void
test_crash_loses_unsynced(Fixture *fx, gconstpointer data)
{
	(void)data;
	BrokerStorageFile *f = open_create(fx, "log");
	fx->st->ops->append(fx->st->ctx, f, "synced-", 7);
	g_assert_cmpint(fx->st->ops->sync(fx->st->ctx, f), ==, BROKER_STORAGE_OK);
	fx->st->ops->append(fx->st->ctx, f, "unsynced", 8);
	g_assert_cmpint(sim_disk_file_size(fx->disk, "log"), ==, 15);
	g_assert_cmpint(sim_disk_file_synced_bytes(fx->disk, "log"), ==, 7);
	crash_and_restart(fx);
	/* the old handle is stale: it reads and writes nothing */
	size_t got;
	char buf[4];
	g_assert_cmpint(fx->st->ops->read(fx->st->ctx, f, 0, buf, 4, &got), ==, BROKER_STORAGE_IO);
	g_assert_cmpint(fx->st->ops->append(fx->st->ctx, f, "x", 1), ==, BROKER_STORAGE_IO);
	fx->st->ops->close(fx->st->ctx, f);
	GByteArray *content = read_all(fx, "log");
	g_assert_cmpmem(content->data, content->len, "synced-", 7);
	g_byte_array_free(content, TRUE);
	g_assert_cmpuint(sim_disk_used_bytes(fx->disk), ==, 7);
}

/* Overwrites and truncations of synced bytes are undone by a crash;
 * a file created and never synced survives empty. */
static void
test_crash_undoes_overwrite_and_truncate(Fixture *fx, gconstpointer data)
{
	(void)data;
	BrokerStorageFile *f = open_create(fx, "idx");
	fx->st->ops->append(fx->st->ctx, f, "abcdefgh", 8);
	fx->st->ops->sync(fx->st->ctx, f);
	fx->st->ops->write_at(fx->st->ctx, f, 2, "XY", 2);
	fx->st->ops->truncate(fx->st->ctx, f, 3);
	fx->st->ops->append(fx->st->ctx, f, "zz", 2);
	fx->st->ops->write_at(fx->st->ctx, f, 0, "Q", 1);
	fx->st->ops->close(fx->st->ctx, f);
	BrokerStorageFile *g = open_create(fx, "fresh");
	fx->st->ops->append(fx->st->ctx, g, "lost", 4);
	fx->st->ops->close(fx->st->ctx, g);
	crash_and_restart(fx);
	GByteArray *content = read_all(fx, "idx");
	g_assert_cmpmem(content->data, content->len, "abcdefgh", 8);
	g_byte_array_free(content, TRUE);
	g_assert_cmpint(sim_disk_file_size(fx->disk, "fresh"), ==, 0);
}

/* Torn writes: a file with an unsynced tail keeps a strict prefix of it,
 * never more, never reordered; over many trials both outcomes occur. */
static void
test_torn_write_keeps_prefix(Fixture *fx, gconstpointer data)
{
	(void)data;
	sim_disk_configure(fx->disk, &(SimDiskConfig){ .torn_write_chance = 0.5 });
	const char tail[] = "0123456789";
	int torn = 0, clean = 0;
	for (int trial = 0; trial < 40; trial++) {
		BrokerStorageFile *f = open_create(fx, "t");
		fx->st->ops->truncate(fx->st->ctx, f, 0);
		fx->st->ops->append(fx->st->ctx, f, "base", 4);
		fx->st->ops->sync(fx->st->ctx, f);
		fx->st->ops->append(fx->st->ctx, f, tail, 10);
		fx->st->ops->close(fx->st->ctx, f);
		crash_and_restart(fx);
		GByteArray *content = read_all(fx, "t");
		g_assert_cmpuint(content->len, >=, 4);
		g_assert_cmpuint(content->len, <, 14);
		g_assert_cmpmem(content->data, 4, "base", 4);
		g_assert_cmpmem(content->data + 4, content->len - 4, tail, content->len - 4);
		if (content->len > 4)
			torn++;
		else
			clean++;
		g_byte_array_free(content, TRUE);
	}
	g_assert_cmpint(torn, >, 0);
	g_assert_cmpint(clean, >, 0);
}

/* A flipped bit is on the medium: it survives a crash. */
static void
test_bit_flip_persists(Fixture *fx, gconstpointer data)
{
	(void)data;
	BrokerStorageFile *f = open_create(fx, "b");
	fx->st->ops->append(fx->st->ctx, f, "A", 1);
	fx->st->ops->sync(fx->st->ctx, f);
	fx->st->ops->close(fx->st->ctx, f);
	g_assert_true(sim_disk_flip_bit(fx->disk, "b", 0, 0));
	g_assert_false(sim_disk_flip_bit(fx->disk, "b", 1, 0));
	crash_and_restart(fx);
	GByteArray *content = read_all(fx, "b");
	g_assert_cmpmem(content->data, content->len, "@", 1);
	g_byte_array_free(content, TRUE);
	g_assert_true(sim_disk_flip_random(fx->disk));
	content = read_all(fx, "b");
	g_assert_cmpuint(content->len, ==, 1);
	g_assert_cmpint(content->data[0], !=, '@');
	g_byte_array_free(content, TRUE);
}

/* Capacity: a write that does not fit fails with NO_SPACE and writes
 * nothing; at the limit it fits exactly; freeing space lets writes in. */
static void
test_no_space(Fixture *fx, gconstpointer data)
{
	(void)data;
	sim_disk_configure(fx->disk, &(SimDiskConfig){ .capacity_bytes = 10 });
	BrokerStorageFile *f = open_create(fx, "full");
	g_assert_cmpint(fx->st->ops->append(fx->st->ctx, f, "123456789", 9), ==, BROKER_STORAGE_OK);
	g_assert_cmpint(fx->st->ops->append(fx->st->ctx, f, "ab", 2), ==, BROKER_STORAGE_NO_SPACE);
	g_assert_cmpint(sim_disk_file_size(fx->disk, "full"), ==, 9);
	g_assert_cmpint(fx->st->ops->append(fx->st->ctx, f, "a", 1), ==, BROKER_STORAGE_OK);
	g_assert_cmpint(fx->st->ops->truncate(fx->st->ctx, f, 5), ==, BROKER_STORAGE_OK);
	g_assert_cmpint(fx->st->ops->append(fx->st->ctx, f, "abcde", 5), ==, BROKER_STORAGE_OK);
	g_assert_cmpuint(sim_disk_used_bytes(fx->disk), ==, 10);
	fx->st->ops->close(fx->st->ctx, f);
}

/* Injected failures hit exactly the next N operations of that kind. */
static void
test_fail_next(Fixture *fx, gconstpointer data)
{
	(void)data;
	BrokerStorageFile *f = open_create(fx, "f");
	sim_disk_fail_next(fx->disk, SIM_DISK_OP_SYNC, BROKER_STORAGE_IO, 2);
	fx->st->ops->append(fx->st->ctx, f, "x", 1);
	g_assert_cmpint(fx->st->ops->sync(fx->st->ctx, f), ==, BROKER_STORAGE_IO);
	g_assert_cmpint(fx->st->ops->sync(fx->st->ctx, f), ==, BROKER_STORAGE_IO);
	g_assert_cmpint(sim_disk_file_synced_bytes(fx->disk, "f"), ==, 0);
	g_assert_cmpint(fx->st->ops->sync(fx->st->ctx, f), ==, BROKER_STORAGE_OK);
	g_assert_cmpint(sim_disk_file_synced_bytes(fx->disk, "f"), ==, 1);
	sim_disk_fail_next(fx->disk, SIM_DISK_OP_WRITE, BROKER_STORAGE_NO_SPACE, 1);
	g_assert_cmpint(fx->st->ops->append(fx->st->ctx, f, "y", 1), ==, BROKER_STORAGE_NO_SPACE);
	g_assert_cmpint(sim_disk_file_size(fx->disk, "f"), ==, 1);
	fx->st->ops->close(fx->st->ctx, f);
}

/* Rename and remove are durable at once; the renamed file keeps only its
 * synced bytes through a crash. */
static void
test_metadata_durable(Fixture *fx, gconstpointer data)
{
	(void)data;
	BrokerStorageFile *f = open_create(fx, "tmp");
	fx->st->ops->append(fx->st->ctx, f, "new", 3);
	fx->st->ops->sync(fx->st->ctx, f);
	fx->st->ops->append(fx->st->ctx, f, "!", 1);
	fx->st->ops->close(fx->st->ctx, f);
	BrokerStorageFile *g = open_create(fx, "gone");
	fx->st->ops->close(fx->st->ctx, g);
	g_assert_cmpint(fx->st->ops->rename(fx->st->ctx, "tmp", "final"), ==, BROKER_STORAGE_OK);
	g_assert_cmpint(fx->st->ops->remove(fx->st->ctx, "gone"), ==, BROKER_STORAGE_OK);
	crash_and_restart(fx);
	g_assert_cmpint(sim_disk_file_size(fx->disk, "tmp"), ==, -1);
	g_assert_cmpint(sim_disk_file_size(fx->disk, "gone"), ==, -1);
	GByteArray *content = read_all(fx, "final");
	g_assert_cmpmem(content->data, content->len, "new", 3);
	g_byte_array_free(content, TRUE);
}

int
main(int argc, char **argv)
{
	json_object_seed(1);
	g_test_init(&argc, &argv, NULL);
#define ADD(path, fn) g_test_add(path, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
	ADD("/sim/disk/contract", test_contract);
	ADD("/sim/disk/crash-loses-unsynced", test_crash_loses_unsynced);
	ADD("/sim/disk/crash-undoes-overwrite-and-truncate", test_crash_undoes_overwrite_and_truncate);
	ADD("/sim/disk/torn-write-keeps-prefix", test_torn_write_keeps_prefix);
	ADD("/sim/disk/bit-flip-persists", test_bit_flip_persists);
	ADD("/sim/disk/no-space", test_no_space);
	ADD("/sim/disk/fail-next", test_fail_next);
	ADD("/sim/disk/metadata-durable", test_metadata_durable);
#undef ADD
	return g_test_run();
}
