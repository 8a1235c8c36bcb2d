/*
 * disk.c - the virtual disk (see disk.h for the durability model).
 *
 * Files live in a hash table keyed by name, which is only looked up, never
 * iterated where order shows: listings and random choices sort the names
 * first. Handles carry the crash generation they were opened in; after a
 * crash, a stale handle's operations fail with BROKER_STORAGE_IO and change
 * nothing, so code tearing itself down after a crash cannot write to the
 * recovered disk.
 */
#include "sim/disk.h"

#include <string.h>

#include "proto/assert.h"
#include "sim/internal.h"

typedef struct SimUndo {
	uint64_t offset;
	GBytes *old; /* the synced bytes that were at offset */
} SimUndo;

typedef struct SimFile {
	char *name;
	GByteArray *data;
	uint64_t synced_len;
	GArray *undo; /* SimUndo, oldest first */
	int refs;
	bool linked;
} SimFile;

struct BrokerStorageFile {
	SimFile *file;
	uint32_t generation;
};

struct SimDisk {
	SimNode *node;
	SimDiskConfig config;
	GHashTable *files; /* name -> SimFile* (the table holds one ref) */
	uint64_t used_bytes;
	uint32_t generation;
	SimDiskOp fail_op;
	BrokerStorageStatus fail_status;
	uint32_t fail_count;
	Prng prng;
	BrokerStorage storage;
};

static void
undo_clear(GArray *undo)
{
	for (guint k = 0; k < undo->len; k++)
		g_bytes_unref(g_array_index(undo, SimUndo, k).old);
	g_array_set_size(undo, 0);
}

static void
file_unref(SimFile *file)
{
	if (file == NULL || --file->refs > 0)
		return;
	undo_clear(file->undo);
	g_array_free(file->undo, TRUE);
	g_byte_array_free(file->data, TRUE);
	g_free(file->name);
	g_free(file);
}

static SimFile *
file_new(const char *name)
{
	SimFile *file = g_new0(SimFile, 1);
	file->name = g_strdup(name);
	file->data = g_byte_array_new();
	file->undo = g_array_new(FALSE, FALSE, sizeof(SimUndo));
	file->refs = 1;
	file->linked = true;
	return file;
}

/* Saves the synced bytes in [offset, offset+len) before they change. */
static void
undo_save(SimFile *file, uint64_t offset, uint64_t len)
{
	if (offset >= file->synced_len)
		return;
	uint64_t end = MIN(offset + len, MIN(file->synced_len, (uint64_t)file->data->len));
	if (end <= offset)
		return;
	SimUndo undo = { offset, g_bytes_new(file->data->data + offset, end - offset) };
	g_array_append_val(file->undo, undo);
}

static bool
fail_injected(SimDisk *disk, SimDiskOp op, BrokerStorageStatus *status)
{
	if (disk->fail_count == 0 || disk->fail_op != op)
		return false;
	disk->fail_count--;
	*status = disk->fail_status;
	sim_node_trace(disk->node, "disk.fault", TRACE_INT("op", op), TRACE_INT("status", *status));
	return true;
}

static bool
handle_live(SimDisk *disk, BrokerStorageFile *handle)
{
	return handle != NULL && handle->generation == disk->generation;
}

static BrokerStorageStatus
disk_open(void *ctx, const char *name, unsigned flags, BrokerStorageFile **out)
{
	SimDisk *disk = ctx;
	ASSERT(name != NULL && name[0] != '\0' && name[strlen(name) - 1] != '/');
	SimFile *file = g_hash_table_lookup(disk->files, name);
	if (file == NULL) {
		if (!(flags & BROKER_STORAGE_CREATE))
			return BROKER_STORAGE_NOT_FOUND;
		file = file_new(name);
		g_hash_table_insert(disk->files, file->name, file);
	} else if (flags & BROKER_STORAGE_TRUNCATE) {
		undo_save(file, 0, file->data->len);
		disk->used_bytes -= file->data->len;
		g_byte_array_set_size(file->data, 0);
	}
	file->refs++;
	BrokerStorageFile *handle = g_new(BrokerStorageFile, 1);
	*handle = (BrokerStorageFile){ file, disk->generation };
	*out = handle;
	return BROKER_STORAGE_OK;
}

static void
disk_close(void *ctx, BrokerStorageFile *handle)
{
	(void)ctx;
	if (handle == NULL)
		return;
	file_unref(handle->file);
	g_free(handle);
}

static BrokerStorageStatus
disk_size(void *ctx, BrokerStorageFile *handle, uint64_t *out)
{
	SimDisk *disk = ctx;
	if (!handle_live(disk, handle))
		return BROKER_STORAGE_IO;
	*out = handle->file->data->len;
	return BROKER_STORAGE_OK;
}

static BrokerStorageStatus
disk_read(void *ctx, BrokerStorageFile *handle, uint64_t offset, void *buf, size_t len, size_t *got)
{
	SimDisk *disk = ctx;
	BrokerStorageStatus status;
	*got = 0;
	if (!handle_live(disk, handle))
		return BROKER_STORAGE_IO;
	if (fail_injected(disk, SIM_DISK_OP_READ, &status))
		return status;
	GByteArray *data = handle->file->data;
	if (offset >= data->len)
		return BROKER_STORAGE_OK;
	size_t n = MIN(len, data->len - offset);
	memcpy(buf, data->data + offset, n);
	*got = n;
	return BROKER_STORAGE_OK;
}

static BrokerStorageStatus
disk_write_at(void *ctx, BrokerStorageFile *handle, uint64_t offset, const void *buf, size_t len)
{
	SimDisk *disk = ctx;
	BrokerStorageStatus status;
	if (!handle_live(disk, handle))
		return BROKER_STORAGE_IO;
	if (fail_injected(disk, SIM_DISK_OP_WRITE, &status))
		return status;
	SimFile *file = handle->file;
	uint64_t old_len = file->data->len;
	uint64_t new_len = MAX(old_len, offset + len);
	if (disk->config.capacity_bytes != 0 &&
	    disk->used_bytes + (new_len - old_len) > disk->config.capacity_bytes) {
		sim_node_trace(disk->node, "disk.full", TRACE_STR("file", file->name),
		    TRACE_INT("len", (int64_t)len));
		return BROKER_STORAGE_NO_SPACE;
	}
	undo_save(file, offset, len);
	if (new_len > old_len) {
		g_byte_array_set_size(file->data, (guint)new_len);
		/* A write past the end leaves a hole of zeros, as on POSIX. */
		if (offset > old_len)
			memset(file->data->data + old_len, 0, offset - old_len);
	}
	memcpy(file->data->data + offset, buf, len);
	disk->used_bytes += new_len - old_len;
	return BROKER_STORAGE_OK;
}

static BrokerStorageStatus
disk_append(void *ctx, BrokerStorageFile *handle, const void *buf, size_t len)
{
	SimDisk *disk = ctx;
	if (!handle_live(disk, handle))
		return BROKER_STORAGE_IO;
	return disk_write_at(ctx, handle, handle->file->data->len, buf, len);
}

static BrokerStorageStatus
disk_truncate(void *ctx, BrokerStorageFile *handle, uint64_t len)
{
	SimDisk *disk = ctx;
	BrokerStorageStatus status;
	if (!handle_live(disk, handle))
		return BROKER_STORAGE_IO;
	if (fail_injected(disk, SIM_DISK_OP_WRITE, &status))
		return status;
	SimFile *file = handle->file;
	uint64_t old_len = file->data->len;
	if (len < old_len) {
		undo_save(file, len, old_len - len);
		disk->used_bytes -= old_len - len;
		g_byte_array_set_size(file->data, (guint)len);
		return BROKER_STORAGE_OK;
	}
	if (len > old_len) {
		uint8_t zero = 0;
		for (uint64_t k = old_len; k < len; k++)
			if (disk_append(ctx, handle, &zero, 1) != BROKER_STORAGE_OK)
				return BROKER_STORAGE_NO_SPACE;
	}
	return BROKER_STORAGE_OK;
}

static BrokerStorageStatus
disk_sync(void *ctx, BrokerStorageFile *handle)
{
	SimDisk *disk = ctx;
	BrokerStorageStatus status;
	if (!handle_live(disk, handle))
		return BROKER_STORAGE_IO;
	if (fail_injected(disk, SIM_DISK_OP_SYNC, &status))
		return status;
	SimFile *file = handle->file;
	file->synced_len = file->data->len;
	undo_clear(file->undo);
	return BROKER_STORAGE_OK;
}

static void
unlink_file(SimDisk *disk, SimFile *file)
{
	disk->used_bytes -= file->data->len;
	file->linked = false;
	g_hash_table_steal(disk->files, file->name);
	file_unref(file);
}

static BrokerStorageStatus
disk_rename(void *ctx, const char *from, const char *to)
{
	SimDisk *disk = ctx;
	SimFile *file = g_hash_table_lookup(disk->files, from);
	if (file == NULL)
		return BROKER_STORAGE_NOT_FOUND;
	if (strcmp(from, to) == 0)
		return BROKER_STORAGE_OK;
	SimFile *target = g_hash_table_lookup(disk->files, to);
	if (target != NULL)
		unlink_file(disk, target);
	g_hash_table_steal(disk->files, file->name);
	g_free(file->name);
	file->name = g_strdup(to);
	g_hash_table_insert(disk->files, file->name, file);
	return BROKER_STORAGE_OK;
}

static BrokerStorageStatus
disk_remove(void *ctx, const char *name)
{
	SimDisk *disk = ctx;
	SimFile *file = g_hash_table_lookup(disk->files, name);
	if (file == NULL)
		return BROKER_STORAGE_NOT_FOUND;
	unlink_file(disk, file);
	return BROKER_STORAGE_OK;
}

static int
compare_names(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* All file names, sorted: the only way the table is ever walked. */
static GPtrArray *
sorted_names(SimDisk *disk)
{
	GPtrArray *names = g_ptr_array_new();
	GHashTableIter it;
	gpointer key;
	g_hash_table_iter_init(&it, disk->files);
	while (g_hash_table_iter_next(&it, &key, NULL))
		g_ptr_array_add(names, key);
	g_ptr_array_sort(names, compare_names);
	return names;
}

static BrokerStorageStatus
disk_list(void *ctx, const char *dir, GPtrArray *out)
{
	SimDisk *disk = ctx;
	g_autofree char *prefix = dir[0] == '\0' || g_str_has_suffix(dir, "/") ? g_strdup(dir)
									     : g_strconcat(dir, "/", NULL);
	size_t prefix_len = strlen(prefix);
	GPtrArray *names = sorted_names(disk);
	const char *last = NULL;
	size_t last_len = 0;
	bool found = prefix_len == 0;
	for (guint k = 0; k < names->len; k++) {
		const char *name = names->pdata[k];
		if (strncmp(name, prefix, prefix_len) != 0)
			continue;
		found = true;
		const char *rest = name + prefix_len;
		const char *slash = strchr(rest, '/');
		size_t len = slash ? (size_t)(slash - rest) + 1 : strlen(rest);
		/* Names are sorted, so entries of one subdirectory are adjacent. */
		if (last != NULL && len == last_len && strncmp(rest, last, len) == 0)
			continue;
		g_ptr_array_add(out, g_strndup(rest, len));
		last = rest;
		last_len = len;
	}
	g_ptr_array_free(names, TRUE);
	return found ? BROKER_STORAGE_OK : BROKER_STORAGE_NOT_FOUND;
}

static const BrokerStorageOps sim_disk_ops = {
	.open = disk_open,
	.close = disk_close,
	.size = disk_size,
	.read = disk_read,
	.append = disk_append,
	.write_at = disk_write_at,
	.truncate = disk_truncate,
	.sync = disk_sync,
	.rename = disk_rename,
	.remove = disk_remove,
	.list = disk_list,
};

SimDisk *
sim_disk_create(SimNode *node)
{
	SimDisk *disk = g_new0(SimDisk, 1);
	disk->node = node;
	disk->files = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)file_unref);
	g_autofree char *stream = g_strconcat("disk:", sim_node_name(node), NULL);
	prng_seed(&disk->prng, sim_world_derive_seed(sim_node_world(node), stream));
	disk->storage = (BrokerStorage){ &sim_disk_ops, disk };
	return disk;
}

void
sim_disk_destroy(SimDisk *disk)
{
	if (disk == NULL)
		return;
	g_hash_table_destroy(disk->files);
	g_free(disk);
}

void
sim_disk_configure(SimDisk *disk, const SimDiskConfig *config)
{
	disk->config = *config;
}

BrokerStorage *
sim_disk_storage(SimDisk *disk)
{
	return &disk->storage;
}

void
sim_disk_fail_next(SimDisk *disk, SimDiskOp op, BrokerStorageStatus status, uint32_t count)
{
	ASSERT(status != BROKER_STORAGE_OK);
	disk->fail_op = op;
	disk->fail_status = status;
	disk->fail_count = count;
}

static void
file_roll_back(SimDisk *disk, SimFile *file, uint64_t *lost, uint64_t *torn)
{
	GByteArray *data = file->data;
	uint64_t len = data->len;
	uint64_t keep_tail = 0;
	if (len > file->synced_len && prng_chance(&disk->prng, disk->config.torn_write_chance))
		keep_tail = prng_below(&disk->prng, len - file->synced_len);
	if (len > file->synced_len)
		*lost += len - file->synced_len - keep_tail;
	*torn += keep_tail;
	/* The durable image: the synced prefix with every overwritten or
	 * truncated synced range restored, newest undo first. */
	GByteArray *image = g_byte_array_sized_new((guint)(file->synced_len + keep_tail));
	g_byte_array_set_size(image, (guint)file->synced_len);
	uint64_t common = MIN(len, file->synced_len);
	memcpy(image->data, data->data, common);
	memset(image->data + common, 0, file->synced_len - common);
	for (guint k = file->undo->len; k-- > 0;) {
		SimUndo *undo = &g_array_index(file->undo, SimUndo, k);
		gsize n;
		const uint8_t *old = g_bytes_get_data(undo->old, &n);
		ASSERT(undo->offset + n <= file->synced_len);
		memcpy(image->data + undo->offset, old, n);
		*lost += n;
	}
	if (keep_tail > 0)
		g_byte_array_append(image, data->data + file->synced_len, (guint)keep_tail);
	undo_clear(file->undo);
	disk->used_bytes -= data->len;
	disk->used_bytes += image->len;
	g_byte_array_free(file->data, TRUE);
	file->data = image;
	file->synced_len = image->len;
}

void
sim_disk_crashed(SimDisk *disk)
{
	uint64_t lost = 0, torn = 0;
	GPtrArray *names = sorted_names(disk);
	for (guint k = 0; k < names->len; k++)
		file_roll_back(disk, g_hash_table_lookup(disk->files, names->pdata[k]), &lost, &torn);
	g_ptr_array_free(names, TRUE);
	disk->generation++;
	disk->fail_count = 0;
	sim_node_trace(disk->node, "disk.crash", TRACE_INT("lost_bytes", (int64_t)lost),
	    TRACE_INT("torn_bytes", (int64_t)torn));
}

bool
sim_disk_flip_bit(SimDisk *disk, const char *name, uint64_t offset, unsigned bit)
{
	ASSERT(bit < 8);
	SimFile *file = g_hash_table_lookup(disk->files, name);
	if (file == NULL || offset >= file->data->len)
		return false;
	file->data->data[offset] ^= (uint8_t)(1u << bit);
	/* Media corruption reaches the durable image too: flip any saved copy. */
	for (guint k = 0; k < file->undo->len; k++) {
		SimUndo *undo = &g_array_index(file->undo, SimUndo, k);
		gsize n;
		const uint8_t *old = g_bytes_get_data(undo->old, &n);
		if (offset >= undo->offset && offset < undo->offset + n) {
			uint8_t *copy = g_memdup2(old, n);
			copy[offset - undo->offset] ^= (uint8_t)(1u << bit);
			g_bytes_unref(undo->old);
			undo->old = g_bytes_new_take(copy, n);
		}
	}
	sim_node_trace(disk->node, "disk.flip", TRACE_STR("file", name), TRACE_INT("offset", (int64_t)offset),
	    TRACE_INT("bit", bit));
	return true;
}

bool
sim_disk_flip_random(SimDisk *disk)
{
	if (disk->used_bytes == 0)
		return false;
	/* A byte drawn uniformly over all stored bytes, in name order. */
	uint64_t target = prng_below(&disk->prng, disk->used_bytes);
	GPtrArray *names = sorted_names(disk);
	bool done = false;
	for (guint k = 0; k < names->len && !done; k++) {
		SimFile *file = g_hash_table_lookup(disk->files, names->pdata[k]);
		if (target < file->data->len) {
			unsigned bit = (unsigned)prng_below(&disk->prng, 8);
			done = sim_disk_flip_bit(disk, file->name, target, bit);
		} else {
			target -= file->data->len;
		}
	}
	g_ptr_array_free(names, TRUE);
	ASSERT(done);
	return done;
}

int64_t
sim_disk_file_size(SimDisk *disk, const char *name)
{
	SimFile *file = g_hash_table_lookup(disk->files, name);
	return file ? (int64_t)file->data->len : -1;
}

int64_t
sim_disk_file_synced_bytes(SimDisk *disk, const char *name)
{
	SimFile *file = g_hash_table_lookup(disk->files, name);
	return file ? (int64_t)file->synced_len : -1;
}

uint64_t
sim_disk_used_bytes(SimDisk *disk)
{
	return disk->used_bytes;
}
