/*
 * storage_posix.c - the storage seam on a real directory (a real-world
 * driver file: it is allowed, and the only broker file allowed, to touch
 * the file system).
 *
 * Durability as storage.h promises: data after fsync(); create, rename and
 * remove made durable by fsync() of the parent directory.
 */
#include "broker/storage.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proto/assert.h"

struct BrokerStorageFile {
	int fd;
};

typedef struct PosixStorage {
	BrokerStorage storage;
	char *root;
} PosixStorage;

static BrokerStorageStatus
from_errno(int err)
{
	switch (err) {
	case ENOENT:
		return BROKER_STORAGE_NOT_FOUND;
	case ENOSPC:
	case EDQUOT:
		return BROKER_STORAGE_NO_SPACE;
	default:
		return BROKER_STORAGE_IO;
	}
}

static char *
full_path(const PosixStorage *ps, const char *name)
{
	ASSERT(name != NULL && strstr(name, "..") == NULL);
	return g_build_filename(ps->root, name, NULL);
}

static void
sync_dir_of(const char *path)
{
	g_autofree char *dir = g_path_get_dirname(path);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

/* Creates the missing directories of dir, each made durable by an
 * fsync() of the directory it was created in (storage.h: create is
 * durable when it returns, and a file is only reachable through its
 * directories). Returns 0, or -1 with errno set. */
static int
make_dirs_durable(const char *dir)
{
	if (g_file_test(dir, G_FILE_TEST_IS_DIR))
		return 0;
	g_autofree char *parent = g_path_get_dirname(dir);
	if (strcmp(parent, dir) != 0 && make_dirs_durable(parent) != 0)
		return -1;
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		return -1;
	sync_dir_of(dir);
	return 0;
}

static BrokerStorageStatus
posix_open(void *ctx, const char *name, unsigned flags, BrokerStorageFile **out)
{
	PosixStorage *ps = ctx;
	g_autofree char *path = full_path(ps, name);
	int oflags = O_RDWR | O_CLOEXEC;
	if (flags & BROKER_STORAGE_CREATE) {
		g_autofree char *dir = g_path_get_dirname(path);
		if (make_dirs_durable(dir) != 0)
			return from_errno(errno);
		oflags |= O_CREAT;
	}
	if (flags & BROKER_STORAGE_TRUNCATE)
		oflags |= O_TRUNC;
	bool existed = access(path, F_OK) == 0;
	int fd = open(path, oflags, 0644);
	if (fd < 0)
		return from_errno(errno);
	if (!existed)
		sync_dir_of(path);
	BrokerStorageFile *file = g_new(BrokerStorageFile, 1);
	file->fd = fd;
	*out = file;
	return BROKER_STORAGE_OK;
}

static void
posix_close(void *ctx, BrokerStorageFile *file)
{
	(void)ctx;
	if (file == NULL)
		return;
	close(file->fd);
	g_free(file);
}

static BrokerStorageStatus
posix_size(void *ctx, BrokerStorageFile *file, uint64_t *out)
{
	(void)ctx;
	struct stat st;
	if (fstat(file->fd, &st) != 0)
		return from_errno(errno);
	*out = (uint64_t)st.st_size;
	return BROKER_STORAGE_OK;
}

static BrokerStorageStatus
posix_read(void *ctx, BrokerStorageFile *file, uint64_t offset, void *buf, size_t len, size_t *got)
{
	(void)ctx;
	size_t done = 0;
	while (done < len) {
		ssize_t n = pread(file->fd, (char *)buf + done, len - done, (off_t)(offset + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*got = done;
			return from_errno(errno);
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	*got = done;
	return BROKER_STORAGE_OK;
}

static BrokerStorageStatus
posix_write_at(void *ctx, BrokerStorageFile *file, uint64_t offset, const void *buf, size_t len)
{
	(void)ctx;
	size_t done = 0;
	while (done < len) {
		ssize_t n = pwrite(file->fd, (const char *)buf + done, len - done, (off_t)(offset + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return from_errno(errno);
		done += (size_t)n;
	}
	return BROKER_STORAGE_OK;
}

static BrokerStorageStatus
posix_append(void *ctx, BrokerStorageFile *file, const void *buf, size_t len)
{
	uint64_t size;
	BrokerStorageStatus status = posix_size(ctx, file, &size);
	if (status != BROKER_STORAGE_OK)
		return status;
	return posix_write_at(ctx, file, size, buf, len);
}

static BrokerStorageStatus
posix_truncate(void *ctx, BrokerStorageFile *file, uint64_t len)
{
	(void)ctx;
	return ftruncate(file->fd, (off_t)len) == 0 ? BROKER_STORAGE_OK : from_errno(errno);
}

static BrokerStorageStatus
posix_sync(void *ctx, BrokerStorageFile *file)
{
	(void)ctx;
	return fdatasync(file->fd) == 0 ? BROKER_STORAGE_OK : from_errno(errno);
}

static BrokerStorageStatus
posix_rename(void *ctx, const char *from, const char *to)
{
	PosixStorage *ps = ctx;
	g_autofree char *a = full_path(ps, from);
	g_autofree char *b = full_path(ps, to);
	g_autofree char *dir = g_path_get_dirname(b);
	if (make_dirs_durable(dir) != 0)
		return from_errno(errno);
	if (rename(a, b) != 0)
		return from_errno(errno);
	sync_dir_of(b);
	sync_dir_of(a);
	return BROKER_STORAGE_OK;
}

static BrokerStorageStatus
posix_remove(void *ctx, const char *name)
{
	PosixStorage *ps = ctx;
	g_autofree char *path = full_path(ps, name);
	if (unlink(path) != 0)
		return from_errno(errno);
	sync_dir_of(path);
	/* Directories exist only to hold files: drop them when emptied. */
	g_autofree char *dir = g_path_get_dirname(path);
	while (strcmp(dir, ps->root) != 0 && g_str_has_prefix(dir, ps->root) && rmdir(dir) == 0) {
		char *up = g_path_get_dirname(dir);
		g_free(dir);
		dir = up;
	}
	return BROKER_STORAGE_OK;
}

static int
compare_names(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static BrokerStorageStatus
posix_list(void *ctx, const char *dir, GPtrArray *out)
{
	PosixStorage *ps = ctx;
	g_autofree char *path = dir[0] == '\0' ? g_strdup(ps->root) : full_path(ps, dir);
	DIR *d = opendir(path);
	if (d == NULL)
		return from_errno(errno);
	guint first = out->len;
	struct dirent *entry;
	while ((entry = readdir(d)) != NULL) {
		if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
			continue;
		g_autofree char *child = g_build_filename(path, entry->d_name, NULL);
		bool is_dir = g_file_test(child, G_FILE_TEST_IS_DIR);
		g_ptr_array_add(out, is_dir ? g_strconcat(entry->d_name, "/", NULL) : g_strdup(entry->d_name));
	}
	closedir(d);
	/* readdir order is the file system's; ours is sorted. */
	qsort(out->pdata + first, out->len - first, sizeof(gpointer), compare_names);
	return BROKER_STORAGE_OK;
}

static const BrokerStorageOps posix_ops = {
	.open = posix_open,
	.close = posix_close,
	.size = posix_size,
	.read = posix_read,
	.append = posix_append,
	.write_at = posix_write_at,
	.truncate = posix_truncate,
	.sync = posix_sync,
	.rename = posix_rename,
	.remove = posix_remove,
	.list = posix_list,
};

BrokerStorage *
broker_storage_posix_create(const char *root_dir, GError **error)
{
	if (g_mkdir_with_parents(root_dir, 0755) != 0) {
		int err = errno;
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(err), "cannot create %s: %s",
		    root_dir, g_strerror(err));
		return NULL;
	}
	PosixStorage *ps = g_new0(PosixStorage, 1);
	ps->root = g_canonicalize_filename(root_dir, NULL);
	ps->storage = (BrokerStorage){ &posix_ops, ps };
	return &ps->storage;
}

void
broker_storage_posix_destroy(BrokerStorage *storage)
{
	if (storage == NULL)
		return;
	PosixStorage *ps = storage->ctx;
	g_free(ps->root);
	g_free(ps);
}
