/*
 * storage.h - the disk seam of the broker.
 *
 * The broker core (the JetStream file store) never touches files itself; it
 * calls through this small vtable. broker/storage_posix.c implements it on a
 * real directory for natsim-server; sim/disk.c implements it on a virtual
 * disk with a durability model (unsynced data lost on crash, torn writes,
 * bit flips, ENOSPC).
 *
 * Names are relative paths with '/' separators ("streams/ORDERS/1.blk").
 * Opening with BROKER_STORAGE_CREATE makes missing parent directories.
 *
 * Durability contract, honoured by both implementations:
 *  - appended or written bytes survive a crash only after sync() on that file;
 *  - create, rename and remove are durable when they return (the POSIX
 *    implementation syncs the parent directory to make it so);
 *  - rename replaces the target atomically.
 */
#ifndef NATSIM_BROKER_STORAGE_H
#define NATSIM_BROKER_STORAGE_H

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

typedef enum BrokerStorageStatus {
	BROKER_STORAGE_OK = 0,
	BROKER_STORAGE_NOT_FOUND, /* no such file */
	BROKER_STORAGE_NO_SPACE,  /* the disk is full; nothing was written */
	BROKER_STORAGE_IO,        /* any other failure; the operation may be partial */
} BrokerStorageStatus;

enum {
	BROKER_STORAGE_CREATE = 1u << 0,   /* create when missing */
	BROKER_STORAGE_TRUNCATE = 1u << 1, /* empty it on open */
};

typedef struct BrokerStorageFile BrokerStorageFile;

typedef struct BrokerStorageOps {
	BrokerStorageStatus (*open)(void *ctx, const char *name, unsigned flags, BrokerStorageFile **out);
	void (*close)(void *ctx, BrokerStorageFile *file); /* NULL-safe */
	BrokerStorageStatus (*size)(void *ctx, BrokerStorageFile *file, uint64_t *out);
	/* Reads up to len bytes at offset; *got < len only at end of file. */
	BrokerStorageStatus (*read)(void *ctx, BrokerStorageFile *file, uint64_t offset, void *buf,
	    size_t len, size_t *got);
	BrokerStorageStatus (*append)(void *ctx, BrokerStorageFile *file, const void *buf, size_t len);
	BrokerStorageStatus (*write_at)(void *ctx, BrokerStorageFile *file, uint64_t offset,
	    const void *buf, size_t len);
	BrokerStorageStatus (*truncate)(void *ctx, BrokerStorageFile *file, uint64_t len);
	BrokerStorageStatus (*sync)(void *ctx, BrokerStorageFile *file);
	BrokerStorageStatus (*rename)(void *ctx, const char *from, const char *to);
	BrokerStorageStatus (*remove)(void *ctx, const char *name);
	/* Appends to out (of g_free'd strings) the names directly inside the
	 * directory dir ("" for the root), sorted; subdirectories end in '/'. */
	BrokerStorageStatus (*list)(void *ctx, const char *dir, GPtrArray *out);
} BrokerStorageOps;

typedef struct BrokerStorage {
	const BrokerStorageOps *ops;
	void *ctx;
} BrokerStorage;

const char *broker_storage_status_str(BrokerStorageStatus status);

/* The real-world implementation, rooted at a directory it creates when
 * missing. Returns NULL with *error set when the directory is unusable. */
BrokerStorage *broker_storage_posix_create(const char *root_dir, GError **error);
void broker_storage_posix_destroy(BrokerStorage *storage);

#endif
