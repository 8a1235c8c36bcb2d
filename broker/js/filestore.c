/*
 * filestore.c - the JetStream file store: store.h on the storage seam.
 *
 * Callers: the stream layer (through JsStoreOps), the broker's start-up
 * (js_filestore_open, js_filestore_find_streams). Every byte goes through
 * broker/storage.h, so the same code runs on a real directory and on the
 * simulator's virtual disk. docs/filestore.md is the long version of this
 * comment.
 *
 * Layout under the storage root:
 *   jetstream/<stream>/msgs/<first_seq>.blk  message segments
 *   jetstream/<stream>/obs/<consumer>.state  consumer state (checksummed blob)
 *   jetstream/<stream>/meta.json             stream config (checksummed)
 * Small files are replaced atomically: write "<name>.tmp", sync, rename.
 *
 * Segments (records: filestore_record.h). Segment <F>.blk holds sequences
 * F, F+1, ... one MSG or SKIP record each, in order, until the next
 * segment's first sequence; its first record is a MARK carrying last_seq
 * and last_ts at the time it was started, synced before anything else is
 * written to it, so the newest segment always tells last_seq even when
 * every message is gone. A new segment starts when the newest would grow
 * past block_bytes; the old one is synced first, so stores become durable
 * in sequence order.
 *
 * Removal rewrites the message's own record in place as an ERASED record
 * of the same length: its header and checksum (which for ERASED covers the
 * header only), plus a zeroed body when erase is asked. No tombstone is
 * appended, so no separate record can be damaged and bring a removed
 * message back: a damaged ERASED record is unreadable, and an unreadable
 * record is never served. It needs no new space, so a full disk never
 * stops removals. A purge does the same for each message it removes. A
 * segment other than the newest whose last message goes is removed as a
 * file instead; a purge that empties the newest starts a fresh one and
 * removes the old. (DELETE and PURGE_BELOW records of earlier versions are
 * still honoured at recovery; they are no longer written.)
 *
 * Index: rebuilt at open by scanning every segment (no index file to go
 * stale). Per segment an array of entries, one per sequence (24 bytes:
 * offset, length, subject id, flags, timestamp); per subject (filestore_
 * index.c) the count and first/last sequence. Loads read the record back
 * and check its checksum, so a corrupted record is never served.
 *
 * Recovery: a record failing its checks is reported (file, offset, what
 * was wrong) and skipped; the scan resynchronises at the next offset where
 * a whole valid record starts. When no valid record follows, only bytes
 * cut short by the end of the file (an incomplete header, lengths reaching
 * past the end, a zero fill) are a torn tail and cut off (truncate + sync):
 * a write that never completed, so never acknowledged. Complete records
 * with a bad checksum at the end are damage: reported, never served, their
 * sequences counted as used (last_seq never goes back below a sequence
 * that was acknowledged), and new records go after them.
 *
 * Sync policy (JsStoreConfig.sync): ALWAYS syncs each store, skip, remove,
 * purge and consumer save before returning; INTERVAL syncs on the timer,
 * every sync_interval_ns. Default: INTERVAL every 2 min, nats-server's
 * (server/filestore.go defaultSyncInterval). Writes go to the OS at once
 * (no buffering in the process), so on a real machine a process crash
 * loses nothing and a power loss loses at most one interval; the
 * simulator's node crash is a power loss. Metadata is durable when created
 * under both policies: meta_save, and the first consumer_save of a
 * consumer (nats-server writes meta.inf and a consumer's meta at once);
 * later consumer states wait for the timer under INTERVAL.
 *
 * Orderly shutdown: sync(), then close(). close() never touches the disk
 * (it also runs after a simulated crash); sync() writes the consumer
 * states held only in memory and syncs every dirty segment.
 *
 * Invariants (asserted): segments sorted by first_seq, disjoint; entry k
 * of a segment is sequence first_seq + k; msgs/bytes equal the sums over
 * live entries; end_bytes of a segment is the end of its last good record,
 * and no served record lies beyond it; close() never touches the disk (it
 * also runs after a simulated crash).
 */
#include "broker/js/store.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "broker/js/filestore_index.h"
#include "broker/js/filestore_record.h"
#include "proto/assert.h"

#define FS_BLOCK_BYTES_DEFAULT (8u * 1024u * 1024u)
#define FS_BLOCK_BYTES_MAX (1u << 30)
/* Entry offsets are 32-bit; a segment stays below block_bytes plus one
 * record (removals rewrite records in place). */
#define FS_SEGMENT_BYTES_MAX ((uint64_t)UINT32_MAX)
#define FS_SYNC_INTERVAL_DEFAULT_NS (INT64_C(120) * INT64_C(1000000000))
#define FS_OPEN_SEGMENTS_MAX 32u /* file handles kept open (soft: dirty ones stay) */
#define FS_REPORT_LINES_MAX 100u
#define FS_CONSUMER_STATE_BYTES_MAX (64u * 1024u * 1024u)
#define FS_META_BYTES_MAX (4u * 1024u * 1024u)
#define FS_NAME_BYTES_MAX 255u

#define FS_ENTRY_LIVE 1u
#define FS_ENTRY_HDR 2u

typedef struct FsEntry {
	uint32_t offset;
	uint32_t record_bytes;
	uint32_t subject_id;
	uint32_t flags;
	int64_t ts_ns;
} FsEntry;

typedef struct FsSegment {
	uint64_t first_seq;
	char *path;
	BrokerStorageFile *file; /* NULL while closed */
	uint64_t end_bytes;      /* end of the last good record: where appends go */
	GArray *entries;         /* FsEntry of sequence first_seq + index */
	uint64_t live_msgs;
	uint64_t used_tick;
	bool dirty;        /* written since its last sync */
	bool needs_repair; /* a failed write may have left bytes past end_bytes */
	bool sealed;       /* ends in damaged records: never appended to again */
} FsSegment;

typedef struct FsConsumer {
	char *name;
	GBytes *pending; /* INTERVAL: saved but not yet written */
	bool on_disk;
} FsConsumer;

typedef struct FileStore {
	JsStore base;
	BrokerStorage *storage;
	char *stream;
	char *dir; /* "jetstream/<stream>" */
	JsStoreSync sync;
	int64_t sync_interval_ns;
	uint64_t block_bytes;
	GPtrArray *segments; /* FsSegment*, ascending first_seq */
	FsSubjects *subjects;
	uint64_t msgs;
	uint64_t bytes;
	uint64_t first_seq; /* lowest live sequence when msgs > 0; a lower bound while first_stale */
	bool first_stale;
	uint64_t last_seq;
	int64_t last_ts_ns;
	int64_t clock_ns;     /* the latest time seen (store timestamps, timer calls) */
	int64_t last_sync_ns; /* when the timer last synced */
	bool dirty;           /* a segment or a consumer state awaits the timer */
	uint32_t open_files;
	uint64_t tick;
	GHashTable *consumers; /* name -> FsConsumer* (looked up only; listings sort) */
	GByteArray *write_buf;
	GByteArray *mark_buf;
	GByteArray *read_buf;
	GString *view_subject;
	GArray *seq_buf; /* uint64_t, purge scratch */
	GByteArray *undo_buf; /* purge scratch: the rewritten records' old frames */
} FileStore;

typedef struct FsReport {
	GString *text;
	uint32_t lines;
	uint32_t dropped;
} FsReport;

static const JsStoreOps filestore_ops;

/* ---- small helpers ------------------------------------------------------ */

static FileStore *
fs_from(JsStore *s)
{
	ASSERT(s != NULL && s->ops == &filestore_ops);
	return (FileStore *)s;
}

static JsStoreStatus
fs_status_from(BrokerStorageStatus status)
{
	switch (status) {
	case BROKER_STORAGE_OK:
		return JS_STORE_OK;
	case BROKER_STORAGE_NOT_FOUND:
		return JS_STORE_NOT_FOUND;
	case BROKER_STORAGE_NO_SPACE:
		return JS_STORE_NO_SPACE;
	case BROKER_STORAGE_IO:
		return JS_STORE_IO;
	}
	return JS_STORE_IO;
}

static void G_GNUC_PRINTF(2, 3)
fs_report_add(FsReport *rep, const char *fmt, ...)
{
	if (rep->lines >= FS_REPORT_LINES_MAX) {
		rep->dropped++;
		return;
	}
	va_list ap;
	va_start(ap, fmt);
	if (rep->text->len > 0)
		g_string_append_c(rep->text, '\n');
	g_string_append_vprintf(rep->text, fmt, ap);
	va_end(ap);
	rep->lines++;
}

static bool
fs_name_valid(const char *name)
{
	size_t len = name != NULL ? strlen(name) : 0;
	return len > 0 && len <= FS_NAME_BYTES_MAX && strchr(name, '/') == NULL && strcmp(name, ".") != 0 &&
	    strcmp(name, "..") != 0;
}

uint64_t
js_filestore_msg_bytes(size_t subject_len, size_t hdr_len, size_t data_len)
{
	/* nats-server fileStoreMsgSizeRaw: 22 + slen + mlen + 8, plus 4 + hlen
	 * with headers (NATS-SPEC §2.3). */
	if (hdr_len == 0)
		return (uint64_t)subject_len + data_len + 30;
	return (uint64_t)subject_len + hdr_len + data_len + 34;
}

static uint64_t
fs_entry_msg_bytes(const FsEntry *e)
{
	uint64_t body = e->record_bytes - FS_RECORD_OVERHEAD_BYTES;
	return body + ((e->flags & FS_ENTRY_HDR) ? 34 : 30);
}

/* ---- storage calls ------------------------------------------------------ */

static BrokerStorageStatus
st_open(FileStore *fs, const char *name, unsigned flags, BrokerStorageFile **out)
{
	return fs->storage->ops->open(fs->storage->ctx, name, flags, out);
}

static void
st_close(FileStore *fs, BrokerStorageFile *file)
{
	fs->storage->ops->close(fs->storage->ctx, file);
}

static BrokerStorageStatus
st_remove(BrokerStorage *st, const char *name)
{
	BrokerStorageStatus status = st->ops->remove(st->ctx, name);
	return status == BROKER_STORAGE_NOT_FOUND ? BROKER_STORAGE_OK : status;
}

/* Reads a whole small file into out; NOT_FOUND when missing. */
static BrokerStorageStatus
st_read_all(BrokerStorage *st, const char *name, uint64_t bytes_max, GByteArray *out)
{
	BrokerStorageFile *file;
	BrokerStorageStatus status = st->ops->open(st->ctx, name, 0, &file);
	if (status != BROKER_STORAGE_OK)
		return status;
	uint64_t size = 0;
	status = st->ops->size(st->ctx, file, &size);
	if (status == BROKER_STORAGE_OK && size > bytes_max)
		status = BROKER_STORAGE_IO;
	size_t got = 0;
	if (status == BROKER_STORAGE_OK) {
		g_byte_array_set_size(out, (guint)size);
		status = st->ops->read(st->ctx, file, 0, out->data, size, &got);
		g_byte_array_set_size(out, (guint)got);
	}
	st->ops->close(st->ctx, file);
	return status;
}

/* Replaces name with the given bytes: write name.tmp, sync, rename. */
static BrokerStorageStatus
st_write_atomic(BrokerStorage *st, const char *name, const void *buf, size_t len)
{
	g_autofree char *tmp = g_strconcat(name, ".tmp", NULL);
	BrokerStorageFile *file;
	BrokerStorageStatus status = st->ops->open(st->ctx, tmp, BROKER_STORAGE_CREATE | BROKER_STORAGE_TRUNCATE, &file);
	if (status != BROKER_STORAGE_OK)
		return status;
	status = st->ops->write_at(st->ctx, file, 0, buf, len);
	if (status == BROKER_STORAGE_OK)
		status = st->ops->sync(st->ctx, file);
	st->ops->close(st->ctx, file);
	if (status == BROKER_STORAGE_OK)
		status = st->ops->rename(st->ctx, tmp, name);
	if (status != BROKER_STORAGE_OK)
		st_remove(st, tmp);
	return status;
}

/* ---- segments ----------------------------------------------------------- */

static FsSegment *
fs_segment_new(FileStore *fs, uint64_t first_seq)
{
	ASSERT(first_seq > 0);
	FsSegment *seg = g_new0(FsSegment, 1);
	seg->first_seq = first_seq;
	seg->path = g_strdup_printf("%s/msgs/%" PRIu64 ".blk", fs->dir, first_seq);
	seg->entries = g_array_new(FALSE, FALSE, sizeof(FsEntry));
	return seg;
}

static void
fs_segment_close_file(FileStore *fs, FsSegment *seg)
{
	if (seg->file == NULL)
		return;
	st_close(fs, seg->file);
	seg->file = NULL;
	ASSERT(fs->open_files > 0);
	fs->open_files--;
}

static void
fs_segment_free(FileStore *fs, FsSegment *seg)
{
	fs_segment_close_file(fs, seg);
	g_array_free(seg->entries, TRUE);
	g_free(seg->path);
	g_free(seg);
}

static FsSegment *
fs_last_segment(FileStore *fs)
{
	return fs->segments->len > 0 ? fs->segments->pdata[fs->segments->len - 1] : NULL;
}

/* The index of the last segment with first_seq <= seq, or -1. */
static gint
fs_segment_index_of(FileStore *fs, uint64_t seq)
{
	gint lo = 0, hi = (gint)fs->segments->len - 1, found = -1;
	while (lo <= hi) {
		gint mid = lo + (hi - lo) / 2;
		const FsSegment *seg = fs->segments->pdata[mid];
		if (seg->first_seq <= seq) {
			found = mid;
			lo = mid + 1;
		} else {
			hi = mid - 1;
		}
	}
	return found;
}

static FsEntry *
fs_entry_at(FileStore *fs, uint64_t seq, FsSegment **seg_out)
{
	gint index = fs_segment_index_of(fs, seq);
	if (index < 0)
		return NULL;
	FsSegment *seg = fs->segments->pdata[index];
	uint64_t k = seq - seg->first_seq;
	if (k >= seg->entries->len)
		return NULL;
	*seg_out = seg;
	return &g_array_index(seg->entries, FsEntry, k);
}

/* Closes the least recently used handle (other than keep and the newest
 * segment's) when FS_OPEN_SEGMENTS_MAX are open; a dirty one is synced
 * first, which only makes it durable sooner. */
static JsStoreStatus fs_segment_sync(FileStore *fs, FsSegment *seg);

static void
fs_segment_evict(FileStore *fs, const FsSegment *keep)
{
	if (fs->open_files < FS_OPEN_SEGMENTS_MAX)
		return;
	FsSegment *victim = NULL;
	FsSegment *last = fs_last_segment(fs);
	for (guint k = 0; k < fs->segments->len; k++) {
		FsSegment *seg = fs->segments->pdata[k];
		if (seg == keep || seg == last || seg->file == NULL)
			continue;
		if (victim == NULL || seg->used_tick < victim->used_tick)
			victim = seg;
	}
	if (victim != NULL && fs_segment_sync(fs, victim) == JS_STORE_OK)
		fs_segment_close_file(fs, victim);
}

static JsStoreStatus
fs_segment_file(FileStore *fs, FsSegment *seg, BrokerStorageFile **out)
{
	seg->used_tick = ++fs->tick;
	if (seg->file == NULL) {
		fs_segment_evict(fs, seg);
		BrokerStorageStatus status = st_open(fs, seg->path, 0, &seg->file);
		if (status != BROKER_STORAGE_OK) {
			seg->file = NULL;
			/* A segment file we indexed cannot vanish unless someone else
			 * removed it: an I/O failure either way. */
			return JS_STORE_IO;
		}
		fs->open_files++;
	}
	*out = seg->file;
	return JS_STORE_OK;
}

/* Cuts the segment back to end_bytes after a failed or undone write; if
 * that fails too, the next write repairs it first. */
static void
fs_segment_cut_back(FileStore *fs, FsSegment *seg)
{
	BrokerStorageFile *file;
	if (fs_segment_file(fs, seg, &file) != JS_STORE_OK ||
	    fs->storage->ops->truncate(fs->storage->ctx, file, seg->end_bytes) != BROKER_STORAGE_OK)
		seg->needs_repair = true;
	else
		seg->needs_repair = false;
}

/* Writes len bytes at offset (end_bytes for an append, a record's own
 * offset for a rewrite in place). On failure nothing past end_bytes is
 * left that a later append could strand behind itself. */
static JsStoreStatus
fs_segment_write(FileStore *fs, FsSegment *seg, uint64_t offset, const void *buf, size_t len)
{
	ASSERT(offset <= seg->end_bytes && len > 0);
	ASSERT(offset + len <= FS_SEGMENT_BYTES_MAX);
	BrokerStorageFile *file;
	JsStoreStatus js = fs_segment_file(fs, seg, &file);
	if (js != JS_STORE_OK)
		return js;
	const BrokerStorageOps *ops = fs->storage->ops;
	if (seg->needs_repair) {
		if (ops->truncate(fs->storage->ctx, file, seg->end_bytes) != BROKER_STORAGE_OK)
			return JS_STORE_IO;
		seg->needs_repair = false;
	}
	BrokerStorageStatus status = ops->write_at(fs->storage->ctx, file, offset, buf, len);
	if (status != BROKER_STORAGE_OK) {
		if (offset + len > seg->end_bytes)
			fs_segment_cut_back(fs, seg);
		return fs_status_from(status) == JS_STORE_NO_SPACE ? JS_STORE_NO_SPACE : JS_STORE_IO;
	}
	seg->end_bytes = MAX(seg->end_bytes, offset + len);
	seg->dirty = true;
	fs->dirty = true;
	return JS_STORE_OK;
}

static JsStoreStatus
fs_segment_sync(FileStore *fs, FsSegment *seg)
{
	if (!seg->dirty)
		return JS_STORE_OK;
	BrokerStorageFile *file;
	JsStoreStatus js = fs_segment_file(fs, seg, &file);
	if (js != JS_STORE_OK)
		return js;
	if (fs->storage->ops->sync(fs->storage->ctx, file) != BROKER_STORAGE_OK)
		return JS_STORE_IO;
	seg->dirty = false;
	return JS_STORE_OK;
}

/* Appends a record to a segment and, under ALWAYS, syncs it; on a failed
 * sync the record is cut off again, so a failed call leaves no record. */
static JsStoreStatus
fs_segment_append(FileStore *fs, FsSegment *seg, const GByteArray *buf)
{
	uint64_t old_end = seg->end_bytes;
	JsStoreStatus js = fs_segment_write(fs, seg, old_end, buf->data, buf->len);
	if (js != JS_STORE_OK || fs->sync != JS_STORE_SYNC_ALWAYS)
		return js;
	js = fs_segment_sync(fs, seg);
	if (js != JS_STORE_OK) {
		seg->end_bytes = old_end;
		fs_segment_cut_back(fs, seg);
	}
	return js;
}

/* Forgets a live message in memory (its removal is on disk already). */
static void
fs_index_forget(FileStore *fs, FsSegment *seg, uint64_t seq)
{
	FsEntry *e = &g_array_index(seg->entries, FsEntry, seq - seg->first_seq);
	ASSERT(e->flags & FS_ENTRY_LIVE);
	ASSERT(fs->msgs > 0 && seg->live_msgs > 0);
	fs_subjects_remove(fs->subjects, e->subject_id, seq);
	fs->msgs--;
	fs->bytes -= fs_entry_msg_bytes(e);
	seg->live_msgs--;
	e->flags &= ~FS_ENTRY_LIVE;
	if (seq == fs->first_seq)
		fs->first_stale = true;
}

/* Removes the file of a segment other than the newest, and with it every
 * message the segment still holds (none, or the ones being removed). */
static JsStoreStatus
fs_segment_drop(FileStore *fs, FsSegment *seg)
{
	ASSERT(seg != fs_last_segment(fs));
	fs_segment_close_file(fs, seg);
	BrokerStorageStatus status = st_remove(fs->storage, seg->path);
	if (status != BROKER_STORAGE_OK)
		return fs_status_from(status);
	for (guint k = 0; k < seg->entries->len && seg->live_msgs > 0; k++)
		if (g_array_index(seg->entries, FsEntry, k).flags & FS_ENTRY_LIVE)
			fs_index_forget(fs, seg, seg->first_seq + k);
	ASSERT(seg->live_msgs == 0);
	g_ptr_array_remove(fs->segments, seg);
	fs_segment_free(fs, seg);
	return JS_STORE_OK;
}

/* Starts a new newest segment named last_seq + 1: the previous newest is
 * synced first, the new one gets its MARK record synced before use. */
static JsStoreStatus
fs_segment_start(FileStore *fs)
{
	FsSegment *old = fs_last_segment(fs);
	if (old != NULL) {
		ASSERT(old->entries->len > 0 && fs->last_seq >= old->first_seq);
		JsStoreStatus js = fs_segment_sync(fs, old);
		if (js != JS_STORE_OK)
			return js;
	}
	FsSegment *seg = fs_segment_new(fs, fs->last_seq + 1);
	fs_segment_evict(fs, seg);
	BrokerStorageStatus status =
	    st_open(fs, seg->path, BROKER_STORAGE_CREATE | BROKER_STORAGE_TRUNCATE, &seg->file);
	if (status != BROKER_STORAGE_OK) {
		seg->file = NULL;
		fs_segment_free(fs, seg);
		return fs_status_from(status) == JS_STORE_NO_SPACE ? JS_STORE_NO_SPACE : JS_STORE_IO;
	}
	fs->open_files++;
	g_byte_array_set_size(fs->mark_buf, 0);
	fs_record_encode(fs->mark_buf,
	    &(FsRecord){ .kind = FS_RECORD_MARK, .seq = fs->last_seq, .ts_ns = fs->last_ts_ns });
	JsStoreStatus js = fs_segment_write(fs, seg, 0, fs->mark_buf->data, fs->mark_buf->len);
	if (js == JS_STORE_OK)
		js = fs_segment_sync(fs, seg);
	if (js != JS_STORE_OK) {
		fs_segment_close_file(fs, seg);
		st_remove(fs->storage, seg->path);
		fs_segment_free(fs, seg);
		return js;
	}
	g_ptr_array_add(fs->segments, seg);
	if (old != NULL && old->live_msgs == 0)
		fs_segment_drop(fs, old); /* on failure recovery removes it later */
	return JS_STORE_OK;
}

/* The segment the next record of record_bytes goes to. */
static JsStoreStatus
fs_segment_for_append(FileStore *fs, uint64_t record_bytes, FsSegment **out)
{
	FsSegment *seg = fs_last_segment(fs);
	if (seg == NULL || seg->sealed ||
	    (seg->entries->len > 0 && seg->end_bytes + record_bytes > fs->block_bytes)) {
		JsStoreStatus js = fs_segment_start(fs);
		if (js != JS_STORE_OK)
			return js;
		seg = fs_last_segment(fs);
	} else if (seg->end_bytes == 0) {
		/* Recovered empty (a crash came before its MARK was synced):
		 * give it the MARK now. */
		g_byte_array_set_size(fs->mark_buf, 0);
		fs_record_encode(fs->mark_buf,
		    &(FsRecord){ .kind = FS_RECORD_MARK, .seq = fs->last_seq, .ts_ns = fs->last_ts_ns });
		JsStoreStatus js = fs_segment_write(fs, seg, 0, fs->mark_buf->data, fs->mark_buf->len);
		if (js == JS_STORE_OK)
			js = fs_segment_sync(fs, seg);
		if (js != JS_STORE_OK) {
			seg->end_bytes = 0;
			fs_segment_cut_back(fs, seg);
			return js;
		}
	}
	ASSERT(seg->first_seq + seg->entries->len == fs->last_seq + 1);
	*out = seg;
	return JS_STORE_OK;
}

/* Reads len bytes at offset of a segment; a short read is an I/O error. */
static JsStoreStatus
fs_segment_read(FileStore *fs, FsSegment *seg, uint64_t offset, void *buf, size_t len)
{
	BrokerStorageFile *file;
	JsStoreStatus js = fs_segment_file(fs, seg, &file);
	if (js != JS_STORE_OK)
		return js;
	size_t got = 0;
	BrokerStorageStatus status = fs->storage->ops->read(fs->storage->ctx, file, offset, buf, len, &got);
	return status == BROKER_STORAGE_OK && got == len ? JS_STORE_OK : JS_STORE_IO;
}

/* The frame of a record (header, then checksum) as fs_rewrite_removed
 * without erase overwrites it, saved to undo a removal that failed. */
static JsStoreStatus
fs_frame_save(FileStore *fs, FsSegment *seg, const FsEntry *e, uint8_t saved[FS_RECORD_OVERHEAD_BYTES])
{
	JsStoreStatus js = fs_segment_read(fs, seg, e->offset, saved, FS_RECORD_HEADER_BYTES);
	if (js == JS_STORE_OK)
		js = fs_segment_read(fs, seg, (uint64_t)e->offset + e->record_bytes - FS_RECORD_CHECKSUM_BYTES,
		    saved + FS_RECORD_HEADER_BYTES, FS_RECORD_CHECKSUM_BYTES);
	return js;
}

/* Writes a frame (header, then checksum) over the record of e. */
static JsStoreStatus
fs_frame_write(FileStore *fs, FsSegment *seg, const FsEntry *e, const uint8_t frame[FS_RECORD_OVERHEAD_BYTES])
{
	JsStoreStatus js = fs_segment_write(fs, seg, e->offset, frame, FS_RECORD_HEADER_BYTES);
	if (js == JS_STORE_OK)
		js = fs_segment_write(fs, seg, (uint64_t)e->offset + e->record_bytes - FS_RECORD_CHECKSUM_BYTES,
		    frame + FS_RECORD_HEADER_BYTES, FS_RECORD_CHECKSUM_BYTES);
	return js;
}

/* Rewrites message seq in place as an ERASED record of the same length:
 * with erase the whole record, body zeroed; without, only its header and
 * checksum (44 bytes whatever the message's size; the old body stays,
 * outside the checksum). Any mix of old and new bytes a failed write or a
 * crash may leave fails both the MSG and the ERASED checksum: unreadable,
 * so never served again. */
static JsStoreStatus
fs_rewrite_removed(FileStore *fs, FsSegment *seg, const FsEntry *e, uint64_t seq, bool erase)
{
	const FsSubject *sub = fs_subjects_get(fs->subjects, e->subject_id);
	size_t body = e->record_bytes - FS_RECORD_OVERHEAD_BYTES;
	ASSERT(body >= sub->subject_len && (e->flags & FS_ENTRY_LIVE));
	if (erase) {
		g_byte_array_set_size(fs->write_buf, 0);
		fs_record_encode(fs->write_buf, &(FsRecord){ .kind = FS_RECORD_ERASED, .seq = seq, .ts_ns = e->ts_ns,
							  .subject_len = sub->subject_len, .data_len = body - sub->subject_len });
		ASSERT(fs->write_buf->len == e->record_bytes);
		return fs_segment_write(fs, seg, e->offset, fs->write_buf->data, fs->write_buf->len);
	}
	uint8_t frame[FS_RECORD_OVERHEAD_BYTES];
	fs_record_erased_frame(frame, seq, e->ts_ns, sub->subject_len, body - sub->subject_len);
	return fs_frame_write(fs, seg, e, frame);
}

/* Removes message seq without erase: saves its frame, rewrites it as
 * ERASED and (ALWAYS) syncs. A failure puts the old frame back, so a
 * removal that returns an error leaves the message stored, as a store
 * that returns an error leaves nothing; if even that fails, the record is
 * left unreadable and the first load finds it corrupt. */
static JsStoreStatus
fs_remove_in_place(FileStore *fs, FsSegment *seg, const FsEntry *e, uint64_t seq)
{
	uint8_t saved[FS_RECORD_OVERHEAD_BYTES];
	JsStoreStatus js = fs_frame_save(fs, seg, e, saved);
	if (js != JS_STORE_OK)
		return js;
	js = fs_rewrite_removed(fs, seg, e, seq, false);
	if (js == JS_STORE_OK && fs->sync == JS_STORE_SYNC_ALWAYS)
		js = fs_segment_sync(fs, seg);
	if (js != JS_STORE_OK)
		fs_frame_write(fs, seg, e, saved);
	return js;
}

/* ---- queries over the index ---------------------------------------------- */

typedef struct FsIter {
	FileStore *fs;
	guint seg_index;
	uint64_t seq;     /* the next sequence to look at */
	uint64_t end_seq; /* exclusive */
} FsIter;

static void
fs_iter_init(FsIter *it, FileStore *fs, uint64_t start_seq, uint64_t end_seq)
{
	gint index = fs_segment_index_of(fs, start_seq);
	*it = (FsIter){ fs, index < 0 ? 0 : (guint)index, start_seq, end_seq };
}

/* The next live entry with sequence in [it->seq, end_seq), or NULL. */
static FsEntry *
fs_iter_next(FsIter *it, FsSegment **seg_out, uint64_t *seq_out)
{
	GPtrArray *segments = it->fs->segments;
	while (it->seg_index < segments->len && it->seq < it->end_seq) {
		FsSegment *seg = segments->pdata[it->seg_index];
		if (it->seq < seg->first_seq)
			it->seq = seg->first_seq;
		FsEntry *entries = (FsEntry *)(void *)seg->entries->data;
		uint64_t k = it->seq - seg->first_seq;
		uint64_t k_end = MIN((uint64_t)seg->entries->len, it->end_seq - MIN(it->end_seq, seg->first_seq));
		for (; k < k_end; k++) {
			if (entries[k].flags & FS_ENTRY_LIVE) {
				it->seq = seg->first_seq + k + 1;
				*seg_out = seg;
				*seq_out = seg->first_seq + k;
				return &entries[k];
			}
		}
		it->seq = seg->first_seq + MAX(k, (uint64_t)seg->entries->len);
		it->seg_index++;
	}
	return NULL;
}

static uint64_t
fs_first_seq(FileStore *fs)
{
	if (fs->msgs == 0)
		return fs->last_seq == 0 ? 0 : fs->last_seq + 1;
	if (fs->first_stale) {
		FsIter it;
		FsSegment *seg;
		uint64_t seq = 0;
		fs_iter_init(&it, fs, fs->first_seq, fs->last_seq + 1);
		FsEntry *e = fs_iter_next(&it, &seg, &seq);
		ASSERT(e != NULL);
		fs->first_seq = seq;
		fs->first_stale = false;
	}
	return fs->first_seq;
}

/* Makes the subject's first and last sequences exact. */
static FsSubject *
fs_subject_exact(FileStore *fs, uint32_t id)
{
	FsSubject *sub = fs_subjects_get(fs->subjects, id);
	if (sub->first_stale) {
		FsIter it;
		FsSegment *seg;
		uint64_t seq;
		FsEntry *e;
		fs_iter_init(&it, fs, sub->first_seq, fs->last_seq + 1);
		while ((e = fs_iter_next(&it, &seg, &seq)) != NULL && e->subject_id != id) {
		}
		ASSERT(e != NULL);
		sub->first_seq = seq;
		sub->first_stale = false;
	}
	if (sub->last_stale) {
		uint64_t found = 0;
		for (gint index = fs_segment_index_of(fs, sub->last_seq); index >= 0 && found == 0; index--) {
			const FsSegment *seg = fs->segments->pdata[index];
			uint64_t k = MIN((uint64_t)seg->entries->len, sub->last_seq - seg->first_seq + 1);
			const FsEntry *entries = (const FsEntry *)(const void *)seg->entries->data;
			while (k-- > 0) {
				if ((entries[k].flags & FS_ENTRY_LIVE) && entries[k].subject_id == id) {
					found = seg->first_seq + k;
					break;
				}
			}
		}
		ASSERT(found >= sub->first_seq);
		sub->last_seq = found;
		sub->last_stale = false;
	}
	return sub;
}

/* Reads and checks message seq; a record failing its checks is forgotten
 * (never served) and reported as JS_STORE_CORRUPT. */
static JsStoreStatus
fs_read_msg(FileStore *fs, FsSegment *seg, const FsEntry *e, uint64_t seq, JsStoredMsg *out)
{
	BrokerStorageFile *file;
	JsStoreStatus js = fs_segment_file(fs, seg, &file);
	if (js != JS_STORE_OK)
		return js;
	g_byte_array_set_size(fs->read_buf, e->record_bytes);
	size_t got = 0;
	BrokerStorageStatus status =
	    fs->storage->ops->read(fs->storage->ctx, file, e->offset, fs->read_buf->data, e->record_bytes, &got);
	if (status != BROKER_STORAGE_OK)
		return JS_STORE_IO;
	FsRecord rec;
	if (got != e->record_bytes || fs_record_parse(fs->read_buf->data, got, &rec) != FS_PARSE_OK ||
	    rec.kind != FS_RECORD_MSG || rec.seq != seq || rec.record_bytes != e->record_bytes) {
		fs_index_forget(fs, seg, seq);
		return JS_STORE_CORRUPT;
	}
	g_string_truncate(fs->view_subject, 0);
	g_string_append_len(fs->view_subject, rec.subject, (gssize)rec.subject_len);
	*out = (JsStoredMsg){
		.seq = seq,
		.ts_ns = rec.ts_ns,
		.subject = fs->view_subject->str,
		.subject_len = rec.subject_len,
		.hdr = rec.hdr_len > 0 ? rec.hdr : NULL,
		.hdr_len = rec.hdr_len,
		.data = rec.data,
		.data_len = rec.data_len,
	};
	return JS_STORE_OK;
}

/* ---- store.h operations --------------------------------------------------- */

static JsStoreStatus
fs_append_seq_record(FileStore *fs, FsSegment **seg_out, uint64_t *offset_out)
{
	JsStoreStatus js = fs_segment_for_append(fs, fs->write_buf->len, seg_out);
	if (js != JS_STORE_OK)
		return js;
	*offset_out = (*seg_out)->end_bytes;
	return fs_segment_append(fs, *seg_out, fs->write_buf);
}

static JsStoreStatus
fs_store(JsStore *s, const char *subject, size_t subject_len, const void *hdr, size_t hdr_len, const void *data,
    size_t data_len, int64_t ts_ns, uint64_t *seq_out)
{
	FileStore *fs = fs_from(s);
	ASSERT(subject != NULL && subject_len > 0 && subject_len <= FS_SUBJECT_BYTES_MAX);
	ASSERT(hdr_len + data_len <= FS_PAYLOAD_BYTES_MAX);
	ASSERT((hdr_len == 0 || hdr != NULL) && (data_len == 0 || data != NULL));
	fs->clock_ns = MAX(fs->clock_ns, ts_ns);
	uint64_t seq = fs->last_seq + 1;
	g_byte_array_set_size(fs->write_buf, 0);
	fs_record_encode(fs->write_buf, &(FsRecord){ .kind = FS_RECORD_MSG, .seq = seq, .ts_ns = ts_ns,
						  .subject = subject, .subject_len = subject_len, .hdr = hdr,
						  .hdr_len = hdr_len, .data = data, .data_len = data_len });
	FsSegment *seg;
	uint64_t offset;
	JsStoreStatus js = fs_append_seq_record(fs, &seg, &offset);
	if (js != JS_STORE_OK)
		return js;
	FsEntry e = {
		.offset = (uint32_t)offset,
		.record_bytes = fs->write_buf->len,
		.subject_id = fs_subjects_add(fs->subjects, subject, subject_len, seq),
		.flags = FS_ENTRY_LIVE | (hdr_len > 0 ? FS_ENTRY_HDR : 0),
		.ts_ns = ts_ns,
	};
	g_array_append_val(seg->entries, e);
	seg->live_msgs++;
	if (fs->msgs == 0) {
		fs->first_seq = seq;
		fs->first_stale = false;
	}
	fs->msgs++;
	fs->bytes += js_filestore_msg_bytes(subject_len, hdr_len, data_len);
	ASSERT(fs->bytes >= fs->msgs * 30);
	fs->last_seq = seq;
	fs->last_ts_ns = ts_ns;
	if (seq_out != NULL)
		*seq_out = seq;
	return JS_STORE_OK;
}

static JsStoreStatus
fs_skip(JsStore *s, int64_t ts_ns, uint64_t *seq_out)
{
	FileStore *fs = fs_from(s);
	fs->clock_ns = MAX(fs->clock_ns, ts_ns);
	uint64_t seq = fs->last_seq + 1;
	g_byte_array_set_size(fs->write_buf, 0);
	fs_record_encode(fs->write_buf, &(FsRecord){ .kind = FS_RECORD_SKIP, .seq = seq, .ts_ns = ts_ns });
	FsSegment *seg;
	uint64_t offset;
	JsStoreStatus js = fs_append_seq_record(fs, &seg, &offset);
	if (js != JS_STORE_OK)
		return js;
	FsEntry e = { .ts_ns = ts_ns };
	g_array_append_val(seg->entries, e);
	fs->last_seq = seq;
	fs->last_ts_ns = ts_ns;
	ASSERT(seg->first_seq + seg->entries->len == fs->last_seq + 1);
	if (seq_out != NULL)
		*seq_out = seq;
	return JS_STORE_OK;
}

/* NOT_FOUND for sequences never assigned, DELETED for assigned ones that
 * hold no message (removed, purged or skipped). */
static JsStoreStatus
fs_lookup(FileStore *fs, uint64_t seq, FsSegment **seg, FsEntry **e)
{
	if (seq == 0 || seq > fs->last_seq)
		return JS_STORE_NOT_FOUND;
	*e = fs_entry_at(fs, seq, seg);
	if (*e == NULL || !((*e)->flags & FS_ENTRY_LIVE))
		return JS_STORE_DELETED;
	return JS_STORE_OK;
}

static JsStoreStatus
fs_load(JsStore *s, uint64_t seq, JsStoredMsg *out)
{
	FileStore *fs = fs_from(s);
	FsSegment *seg;
	FsEntry *e;
	JsStoreStatus js = fs_lookup(fs, seq, &seg, &e);
	if (js != JS_STORE_OK)
		return js;
	return fs_read_msg(fs, seg, e, seq, out);
}

static JsStoreStatus
fs_load_next(JsStore *s, const char *filter, uint64_t start, JsStoredMsg *out)
{
	FileStore *fs = fs_from(s);
	if (fs->msgs == 0)
		return JS_STORE_NOT_FOUND;
	FsFilter f;
	fs_filter_init(&f, fs->subjects, filter);
	uint64_t from = MAX(start, fs_first_seq(fs));
	uint64_t end = fs->last_seq + 1;
	if (f.kind == FS_FILTER_LITERAL) {
		if (f.literal_id == FS_SUBJECT_NONE)
			return JS_STORE_NOT_FOUND;
		const FsSubject *sub = fs_subject_exact(fs, f.literal_id);
		if (from > sub->last_seq)
			return JS_STORE_NOT_FOUND;
		from = MAX(from, sub->first_seq);
		end = sub->last_seq + 1;
	}
	FsIter it;
	FsSegment *seg;
	uint64_t seq;
	FsEntry *e;
	fs_iter_init(&it, fs, from, end);
	while ((e = fs_iter_next(&it, &seg, &seq)) != NULL)
		if (fs_filter_matches(&f, fs->subjects, e->subject_id))
			return fs_read_msg(fs, seg, e, seq, out);
	return JS_STORE_NOT_FOUND;
}

static JsStoreStatus
fs_load_last(JsStore *s, const char *filter, JsStoredMsg *out)
{
	FileStore *fs = fs_from(s);
	if (fs->msgs == 0)
		return JS_STORE_NOT_FOUND;
	FsFilter f;
	fs_filter_init(&f, fs->subjects, filter);
	uint64_t best = 0;
	if (f.kind == FS_FILTER_ALL) {
		/* Walk back from the end to the newest live entry. */
		for (gint index = (gint)fs->segments->len - 1; index >= 0 && best == 0; index--) {
			const FsSegment *seg = fs->segments->pdata[index];
			const FsEntry *entries = (const FsEntry *)(const void *)seg->entries->data;
			for (guint k = seg->entries->len; k-- > 0;) {
				if (entries[k].flags & FS_ENTRY_LIVE) {
					best = seg->first_seq + k;
					break;
				}
			}
		}
	} else {
		GArray *ids = g_array_new(FALSE, FALSE, sizeof(uint32_t));
		fs_subjects_matching(fs->subjects, &f, ids);
		for (guint k = 0; k < ids->len; k++)
			best = MAX(best, fs_subject_exact(fs, g_array_index(ids, uint32_t, k))->last_seq);
		g_array_free(ids, TRUE);
	}
	if (best == 0)
		return JS_STORE_NOT_FOUND;
	FsSegment *seg;
	FsEntry *e;
	JsStoreStatus js = fs_lookup(fs, best, &seg, &e);
	ASSERT(js == JS_STORE_OK);
	return fs_read_msg(fs, seg, e, best, out);
}

static JsStoreStatus
fs_remove(JsStore *s, uint64_t seq, bool erase)
{
	FileStore *fs = fs_from(s);
	FsSegment *seg;
	FsEntry *e;
	JsStoreStatus js = fs_lookup(fs, seq, &seg, &e);
	if (js != JS_STORE_OK)
		return js;
	/* Erase overwrites the bytes before anything else, even when the
	 * file goes next. */
	if (erase) {
		js = fs_rewrite_removed(fs, seg, e, seq, true);
		if (js != JS_STORE_OK)
			return js;
	}
	/* The last message of an older segment: remove the file itself. */
	if (seg != fs_last_segment(fs) && seg->live_msgs == 1 && fs_segment_drop(fs, seg) == JS_STORE_OK)
		return JS_STORE_OK;
	if (!erase) {
		js = fs_remove_in_place(fs, seg, e, seq);
		if (js == JS_STORE_OK)
			fs_index_forget(fs, seg, seq);
		return js;
	}
	if (fs->sync == JS_STORE_SYNC_ALWAYS)
		js = fs_segment_sync(fs, seg);
	/* An erased record is gone from disk whatever the sync said (its body
	 * was zeroed: there is nothing to put back); after a failed sync the
	 * removal may or may not survive a crash, like any failed operation. */
	fs_index_forget(fs, seg, seq);
	return js;
}

/* Removes the messages in seqs (ascending, live, all in seg) from disk and
 * index: the whole segment file when they are all it holds, else each
 * record rewritten in place as ERASED (one sync for them all under
 * ALWAYS). A failure puts the old frames back: none of them is removed
 * (as in fs_remove_in_place). *done counts the messages gone. */
static JsStoreStatus
fs_purge_segment(FileStore *fs, FsSegment *seg, const GArray *seqs, bool *dropped, uint64_t *done)
{
	*dropped = false;
	*done = 0;
	ASSERT(seqs->len > 0 && seqs->len <= seg->live_msgs);
	bool all = seqs->len == seg->live_msgs;
	if (all && seg == fs_last_segment(fs))
		fs_segment_start(fs); /* on failure the records below do it */
	if (all && seg != fs_last_segment(fs) && fs_segment_drop(fs, seg) == JS_STORE_OK) {
		*dropped = true;
		*done = seqs->len;
		return JS_STORE_OK;
	}
	JsStoreStatus js = JS_STORE_OK;
	g_byte_array_set_size(fs->undo_buf, seqs->len * FS_RECORD_OVERHEAD_BYTES);
	uint8_t *saved = fs->undo_buf->data;
	guint touched = 0; /* records whose frame was saved and maybe (partly) rewritten */
	for (; touched < seqs->len && js == JS_STORE_OK; touched++) {
		uint64_t seq = g_array_index(seqs, uint64_t, touched);
		const FsEntry *e = &g_array_index(seg->entries, FsEntry, seq - seg->first_seq);
		js = fs_frame_save(fs, seg, e, saved + touched * FS_RECORD_OVERHEAD_BYTES);
		if (js != JS_STORE_OK)
			break;
		js = fs_rewrite_removed(fs, seg, e, seq, false);
	}
	if (js == JS_STORE_OK && fs->sync == JS_STORE_SYNC_ALWAYS)
		js = fs_segment_sync(fs, seg);
	for (guint k = 0; k < touched; k++) {
		uint64_t seq = g_array_index(seqs, uint64_t, k);
		const FsEntry *e = &g_array_index(seg->entries, FsEntry, seq - seg->first_seq);
		if (js != JS_STORE_OK) {
			/* Still stored; a record that cannot be put back reads as
			 * corrupt at its first load, never as the message. */
			fs_frame_write(fs, seg, e, saved + k * FS_RECORD_OVERHEAD_BYTES);
			continue;
		}
		fs_index_forget(fs, seg, seq);
		(*done)++;
	}
	return js;
}

/* The number of messages matching f. */
static uint64_t
fs_matching_msgs(FileStore *fs, FsFilter *f)
{
	if (f->kind == FS_FILTER_ALL)
		return fs->msgs;
	GArray *ids = g_array_new(FALSE, FALSE, sizeof(uint32_t));
	fs_subjects_matching(fs->subjects, f, ids);
	uint64_t n = 0;
	for (guint k = 0; k < ids->len; k++)
		n += fs_subjects_get(fs->subjects, g_array_index(ids, uint32_t, k))->msgs;
	g_array_free(ids, TRUE);
	return n;
}

static JsStoreStatus
fs_purge(JsStore *s, const char *filter, uint64_t upto_seq, uint64_t keep, uint64_t *purged)
{
	FileStore *fs = fs_from(s);
	if (purged != NULL)
		*purged = 0;
	if (fs->msgs == 0)
		return JS_STORE_OK;
	FsFilter f;
	fs_filter_init(&f, fs->subjects, filter);
	/* As the memory store: keep the newest `keep` of all matching
	 * messages, remove the older ones that lie below upto_seq. */
	uint64_t matching = fs_matching_msgs(fs, &f);
	if (matching <= keep)
		return JS_STORE_OK;
	uint64_t quota = matching - keep;
	uint64_t end = upto_seq == 0 ? fs->last_seq + 1 : MIN(upto_seq, fs->last_seq + 1);
	uint64_t from = fs_first_seq(fs);
	if (f.kind == FS_FILTER_LITERAL)
		from = MAX(from, fs_subject_exact(fs, f.literal_id)->first_seq);
	gint found = fs_segment_index_of(fs, from);
	guint index = found < 0 ? 0 : (guint)found;
	uint64_t n = 0;
	JsStoreStatus js = JS_STORE_OK;
	while (index < fs->segments->len && quota > 0 && js == JS_STORE_OK) {
		FsSegment *seg = fs->segments->pdata[index];
		if (seg->first_seq >= end)
			break;
		g_array_set_size(fs->seq_buf, 0);
		const FsEntry *entries = (const FsEntry *)(const void *)seg->entries->data;
		for (uint64_t k = from > seg->first_seq ? from - seg->first_seq : 0; k < seg->entries->len && quota > 0;
		     k++) {
			uint64_t seq = seg->first_seq + k;
			if (seq >= end)
				break;
			if (!(entries[k].flags & FS_ENTRY_LIVE) ||
			    !fs_filter_matches(&f, fs->subjects, entries[k].subject_id))
				continue;
			g_array_append_val(fs->seq_buf, seq);
			quota--;
		}
		if (fs->seq_buf->len == 0) {
			index++;
			continue;
		}
		bool dropped;
		uint64_t done;
		js = fs_purge_segment(fs, seg, fs->seq_buf, &dropped, &done);
		n += done;
		if (!dropped)
			index++;
	}
	if (purged != NULL)
		*purged = n;
	return js;
}

static void
fs_state(JsStore *s, JsStoreState *out)
{
	FileStore *fs = fs_from(s);
	*out = (JsStoreState){
		.msgs = fs->msgs,
		.bytes = fs->bytes,
		.first_seq = fs_first_seq(fs),
		.last_seq = fs->last_seq,
		.last_ts_ns = fs->last_ts_ns,
		.num_subjects = fs_subjects_count(fs->subjects),
	};
	if (fs->msgs > 0) {
		FsSegment *seg;
		const FsEntry *e = fs_entry_at(fs, out->first_seq, &seg);
		ASSERT(e != NULL && (e->flags & FS_ENTRY_LIVE));
		out->first_ts_ns = e->ts_ns;
		out->num_deleted = fs->last_seq - out->first_seq + 1 - fs->msgs;
	}
}

static uint64_t
fs_count(JsStore *s, uint64_t start, const char *filter, bool last_per_subject)
{
	FileStore *fs = fs_from(s);
	if (fs->msgs == 0 || start > fs->last_seq)
		return 0;
	FsFilter f;
	fs_filter_init(&f, fs->subjects, filter);
	uint64_t first = fs_first_seq(fs);
	uint64_t n = 0;
	if (last_per_subject || (start <= first && f.kind != FS_FILTER_LITERAL)) {
		GArray *ids = g_array_new(FALSE, FALSE, sizeof(uint32_t));
		if (f.kind == FS_FILTER_ALL && !last_per_subject) {
			n = fs->msgs;
		} else {
			fs_subjects_matching(fs->subjects, &f, ids);
			for (guint k = 0; k < ids->len; k++) {
				uint32_t id = g_array_index(ids, uint32_t, k);
				if (!last_per_subject)
					n += fs_subjects_get(fs->subjects, id)->msgs;
				else if (fs_subject_exact(fs, id)->last_seq >= start)
					n++;
			}
		}
		g_array_free(ids, TRUE);
		return n;
	}
	uint64_t end = fs->last_seq + 1;
	if (f.kind == FS_FILTER_LITERAL) {
		if (f.literal_id == FS_SUBJECT_NONE)
			return 0;
		const FsSubject *sub = fs_subject_exact(fs, f.literal_id);
		if (start <= sub->first_seq)
			return sub->msgs;
		if (start > sub->last_seq)
			return 0;
		end = sub->last_seq + 1;
	}
	FsIter it;
	FsSegment *seg;
	uint64_t seq;
	const FsEntry *e;
	fs_iter_init(&it, fs, start, end);
	while ((e = fs_iter_next(&it, &seg, &seq)) != NULL)
		n += fs_filter_matches(&f, fs->subjects, e->subject_id);
	return n;
}

static uint64_t
fs_subject_count(JsStore *s, const char *subject)
{
	FileStore *fs = fs_from(s);
	ASSERT(subject != NULL);
	uint32_t id = fs_subjects_find(fs->subjects, subject, strlen(subject));
	return id == FS_SUBJECT_NONE ? 0 : fs_subjects_get(fs->subjects, id)->msgs;
}

static void
fs_subjects_list(JsStore *s, const char *filter, GArray *out)
{
	FileStore *fs = fs_from(s);
	FsFilter f;
	fs_filter_init(&f, fs->subjects, filter);
	GArray *ids = g_array_new(FALSE, FALSE, sizeof(uint32_t));
	fs_subjects_matching(fs->subjects, &f, ids);
	for (guint k = 0; k < ids->len; k++) {
		const FsSubject *sub = fs_subjects_get(fs->subjects, g_array_index(ids, uint32_t, k));
		JsSubjectCount sc = { g_strdup(sub->subject), sub->msgs };
		g_array_append_val(out, sc);
	}
	g_array_free(ids, TRUE);
}

static uint64_t
fs_subject_first(JsStore *s, const char *subject)
{
	FileStore *fs = fs_from(s);
	ASSERT(subject != NULL);
	uint32_t id = fs_subjects_find(fs->subjects, subject, strlen(subject));
	return id == FS_SUBJECT_NONE ? 0 : fs_subject_exact(fs, id)->first_seq;
}

/* ---- consumer state and meta ----------------------------------------------- */

static char *
fs_consumer_path(const FileStore *fs, const char *name)
{
	return g_strdup_printf("%s/obs/%s.state", fs->dir, name);
}

static JsStoreStatus
fs_consumer_write(FileStore *fs, const char *name, const void *blob, size_t len)
{
	g_autofree char *path = fs_consumer_path(fs, name);
	GByteArray *buf = g_byte_array_sized_new((guint)(len + FS_BLOB_OVERHEAD_BYTES));
	fs_blob_encode(buf, blob, len);
	BrokerStorageStatus status = st_write_atomic(fs->storage, path, buf->data, buf->len);
	g_byte_array_free(buf, TRUE);
	return fs_status_from(status) == JS_STORE_NO_SPACE ? JS_STORE_NO_SPACE
	    : status == BROKER_STORAGE_OK                 ? JS_STORE_OK
							  : JS_STORE_IO;
}

static void
fs_consumer_free(gpointer p)
{
	FsConsumer *c = p;
	if (c->pending != NULL)
		g_bytes_unref(c->pending);
	g_free(c->name);
	g_free(c);
}

static FsConsumer *
fs_consumer_add(FileStore *fs, const char *name, bool on_disk)
{
	FsConsumer *c = g_new0(FsConsumer, 1);
	c->name = g_strdup(name);
	c->on_disk = on_disk;
	g_hash_table_insert(fs->consumers, c->name, c);
	return c;
}

static int
fs_compare_strs(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Consumer names, sorted (borrowed strings). */
static GPtrArray *
fs_consumer_names_sorted(FileStore *fs)
{
	GPtrArray *names = g_ptr_array_new();
	GHashTableIter it;
	gpointer key;
	g_hash_table_iter_init(&it, fs->consumers);
	while (g_hash_table_iter_next(&it, &key, NULL))
		g_ptr_array_add(names, key);
	g_ptr_array_sort(names, fs_compare_strs);
	return names;
}

static JsStoreStatus
fs_consumer_save(JsStore *s, const char *consumer, const void *blob, size_t len)
{
	FileStore *fs = fs_from(s);
	ASSERT(fs_name_valid(consumer));
	ASSERT(len <= FS_CONSUMER_STATE_BYTES_MAX && (len == 0 || blob != NULL));
	FsConsumer *c = g_hash_table_lookup(fs->consumers, consumer);
	bool fresh = c == NULL;
	if (fresh)
		c = fs_consumer_add(fs, consumer, false);
	/* Under INTERVAL, updates of a consumer on disk wait for the timer;
	 * its creation does not (nats-server writes a consumer's meta when it
	 * is created): a power loss must not make a consumer vanish. */
	if (fs->sync == JS_STORE_SYNC_INTERVAL && c->on_disk) {
		if (c->pending != NULL)
			g_bytes_unref(c->pending);
		c->pending = g_bytes_new(blob, len);
		fs->dirty = true;
		return JS_STORE_OK;
	}
	ASSERT(c->pending == NULL);
	JsStoreStatus js = fs_consumer_write(fs, consumer, blob, len);
	if (js == JS_STORE_OK) {
		c->on_disk = true;
	} else if (fresh) {
		g_hash_table_remove(fs->consumers, consumer);
	}
	return js;
}

static JsStoreStatus
fs_consumer_load(JsStore *s, const char *consumer, GByteArray *out)
{
	FileStore *fs = fs_from(s);
	ASSERT(fs_name_valid(consumer) && out != NULL);
	FsConsumer *c = g_hash_table_lookup(fs->consumers, consumer);
	if (c == NULL)
		return JS_STORE_NOT_FOUND;
	if (c->pending != NULL) {
		gsize len;
		const guint8 *data = g_bytes_get_data(c->pending, &len);
		g_byte_array_append(out, data, (guint)len);
		return JS_STORE_OK;
	}
	g_autofree char *path = fs_consumer_path(fs, consumer);
	GByteArray *buf = g_byte_array_new();
	BrokerStorageStatus status =
	    st_read_all(fs->storage, path, FS_CONSUMER_STATE_BYTES_MAX + FS_BLOB_OVERHEAD_BYTES, buf);
	JsStoreStatus js = status == BROKER_STORAGE_OK ? JS_STORE_OK
	    : status == BROKER_STORAGE_NOT_FOUND      ? JS_STORE_NOT_FOUND
						       : JS_STORE_IO;
	const uint8_t *blob;
	size_t blob_len;
	if (js == JS_STORE_OK) {
		if (fs_blob_parse(buf->data, buf->len, &blob, &blob_len))
			g_byte_array_append(out, blob, (guint)blob_len);
		else
			js = JS_STORE_CORRUPT;
	}
	g_byte_array_free(buf, TRUE);
	return js;
}

static JsStoreStatus
fs_consumer_remove(JsStore *s, const char *consumer)
{
	FileStore *fs = fs_from(s);
	ASSERT(fs_name_valid(consumer));
	FsConsumer *c = g_hash_table_lookup(fs->consumers, consumer);
	if (c == NULL)
		return JS_STORE_NOT_FOUND;
	if (c->on_disk) {
		g_autofree char *path = fs_consumer_path(fs, consumer);
		BrokerStorageStatus status = st_remove(fs->storage, path);
		if (status != BROKER_STORAGE_OK)
			return JS_STORE_IO;
	}
	g_hash_table_remove(fs->consumers, consumer);
	return JS_STORE_OK;
}

static void
fs_consumer_names(JsStore *s, GPtrArray *out)
{
	FileStore *fs = fs_from(s);
	GPtrArray *names = fs_consumer_names_sorted(fs);
	for (guint k = 0; k < names->len; k++)
		g_ptr_array_add(out, g_strdup(names->pdata[k]));
	g_ptr_array_free(names, TRUE);
}

static JsStoreStatus
fs_meta_save(JsStore *s, const char *json)
{
	FileStore *fs = fs_from(s);
	ASSERT(json != NULL && strlen(json) <= FS_META_BYTES_MAX);
	GString *text = g_string_sized_new(strlen(json) + 64);
	fs_meta_encode(text, json);
	g_autofree char *path = g_strconcat(fs->dir, "/meta.json", NULL);
	BrokerStorageStatus status = st_write_atomic(fs->storage, path, text->str, text->len);
	g_string_free(text, TRUE);
	return status == BROKER_STORAGE_NO_SPACE ? JS_STORE_NO_SPACE
	    : status == BROKER_STORAGE_OK        ? JS_STORE_OK
						 : JS_STORE_IO;
}

/* ---- sync and timer ------------------------------------------------------ */

/* Writes pending consumer states and syncs every dirty segment. */
static JsStoreStatus
fs_sync_all(FileStore *fs)
{
	JsStoreStatus result = JS_STORE_OK;
	bool still_dirty = false;
	GPtrArray *names = fs_consumer_names_sorted(fs);
	for (guint k = 0; k < names->len; k++) {
		FsConsumer *c = g_hash_table_lookup(fs->consumers, names->pdata[k]);
		if (c->pending == NULL)
			continue;
		gsize len;
		const void *blob = g_bytes_get_data(c->pending, &len);
		JsStoreStatus js = fs_consumer_write(fs, c->name, blob, len);
		if (js == JS_STORE_OK) {
			g_bytes_unref(c->pending);
			c->pending = NULL;
			c->on_disk = true;
		} else {
			result = js;
			still_dirty = true;
		}
	}
	g_ptr_array_free(names, TRUE);
	for (guint k = 0; k < fs->segments->len; k++) {
		JsStoreStatus js = fs_segment_sync(fs, fs->segments->pdata[k]);
		if (js != JS_STORE_OK) {
			result = js;
			still_dirty = true;
		}
	}
	fs->dirty = still_dirty;
	return result;
}

static JsStoreStatus
fs_sync(JsStore *s)
{
	FileStore *fs = fs_from(s);
	fs->last_sync_ns = fs->clock_ns;
	return fs_sync_all(fs);
}

static int64_t
fs_next_deadline(JsStore *s)
{
	FileStore *fs = fs_from(s);
	if (fs->sync != JS_STORE_SYNC_INTERVAL || !fs->dirty)
		return INT64_MAX;
	if (fs->last_sync_ns > INT64_MAX - fs->sync_interval_ns)
		return INT64_MAX;
	return fs->last_sync_ns + fs->sync_interval_ns;
}

static void
fs_on_timer(JsStore *s, int64_t now_ns)
{
	FileStore *fs = fs_from(s);
	fs->clock_ns = MAX(fs->clock_ns, now_ns);
	if (now_ns < fs_next_deadline(s))
		return;
	/* A failure stays dirty and is retried one interval later. */
	fs_sync_all(fs);
	fs->last_sync_ns = now_ns;
}

/* ---- lifecycle ------------------------------------------------------------ */

static void
fs_free(FileStore *fs)
{
	for (guint k = 0; k < fs->segments->len; k++)
		fs_segment_free(fs, fs->segments->pdata[k]);
	ASSERT(fs->open_files == 0);
	g_ptr_array_free(fs->segments, TRUE);
	fs_subjects_destroy(fs->subjects);
	g_hash_table_destroy(fs->consumers);
	g_byte_array_free(fs->write_buf, TRUE);
	g_byte_array_free(fs->mark_buf, TRUE);
	g_byte_array_free(fs->read_buf, TRUE);
	g_string_free(fs->view_subject, TRUE);
	g_array_free(fs->seq_buf, TRUE);
	g_byte_array_free(fs->undo_buf, TRUE);
	g_free(fs->stream);
	g_free(fs->dir);
	g_free(fs);
}

static void
fs_close(JsStore *s)
{
	if (s == NULL)
		return;
	fs_free(fs_from(s));
}

/* Removes every file directly in dir (subdirectories are left). */
static void
fs_remove_files_in(BrokerStorage *st, const char *dir)
{
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	if (st->ops->list(st->ctx, dir, names) == BROKER_STORAGE_OK) {
		for (guint k = 0; k < names->len; k++) {
			const char *name = names->pdata[k];
			if (g_str_has_suffix(name, "/"))
				continue;
			g_autofree char *path = g_strconcat(dir, "/", name, NULL);
			st_remove(st, path);
		}
	}
	g_ptr_array_free(names, TRUE);
}

static void
fs_destroy_all(JsStore *s)
{
	FileStore *fs = fs_from(s);
	for (guint k = 0; k < fs->segments->len; k++) {
		FsSegment *seg = fs->segments->pdata[k];
		fs_segment_close_file(fs, seg);
		st_remove(fs->storage, seg->path);
	}
	g_autofree char *msgs = g_strconcat(fs->dir, "/msgs", NULL);
	g_autofree char *obs = g_strconcat(fs->dir, "/obs", NULL);
	fs_remove_files_in(fs->storage, msgs);
	fs_remove_files_in(fs->storage, obs);
	fs_remove_files_in(fs->storage, fs->dir);
	fs_free(fs);
}

static const JsStoreOps filestore_ops = {
	.store = fs_store,
	.skip = fs_skip,
	.load = fs_load,
	.load_next = fs_load_next,
	.load_last = fs_load_last,
	.remove = fs_remove,
	.purge = fs_purge,
	.state = fs_state,
	.count = fs_count,
	.subject_count = fs_subject_count,
	.subjects = fs_subjects_list,
	.subject_first = fs_subject_first,
	.sync = fs_sync,
	.next_deadline = fs_next_deadline,
	.on_timer = fs_on_timer,
	.consumer_save = fs_consumer_save,
	.consumer_load = fs_consumer_load,
	.consumer_remove = fs_consumer_remove,
	.consumer_names = fs_consumer_names,
	.meta_save = fs_meta_save,
	.destroy_all = fs_destroy_all,
	.close = fs_close,
};

/* ---- recovery --------------------------------------------------------------- */

typedef struct FsRecovery {
	FsReport report;
	GByteArray *buf;
	uint64_t best_seq; /* the highest sequence any record names */
	int64_t best_ts_ns;
} FsRecovery;

/* The offset of the next whole valid record after a bad one at bad, or
 * size when there is none (the bad bytes are then a torn tail). */
static uint64_t
fs_resync(const uint8_t *buf, uint64_t size, uint64_t bad)
{
	FsRecord rec;
	for (uint64_t p = bad + 1; p + FS_RECORD_OVERHEAD_BYTES <= size; p++) {
		if (buf[p + 4] != 'F' || buf[p + 5] != 'S')
			continue;
		if (fs_record_parse(buf + p, size - p, &rec) == FS_PARSE_OK)
			return p;
	}
	return size;
}

static void
fs_recover_seen(FsRecovery *rc, uint64_t seq, int64_t ts_ns)
{
	if (seq >= rc->best_seq) {
		rc->best_seq = seq;
		rc->best_ts_ns = ts_ns;
	}
}

/* Applies one good record of seg found at offset; next_first bounds the
 * sequences the segment may hold. */
static void
fs_recover_apply(FileStore *fs, FsRecovery *rc, FsSegment *seg, const FsRecord *rec, uint64_t offset,
    uint64_t next_first, uint64_t file_bytes)
{
	uint64_t expected = seg->first_seq + seg->entries->len;
	switch (rec->kind) {
	case FS_RECORD_MSG:
	case FS_RECORD_SKIP:
	case FS_RECORD_ERASED: {
		/* Every sequence from first_seq on has a record of at least
		 * FS_RECORD_OVERHEAD_BYTES in this file: a sequence beyond that
		 * cannot be genuine. */
		if (rec->seq < expected || rec->seq >= next_first ||
		    rec->seq - seg->first_seq > file_bytes / FS_RECORD_OVERHEAD_BYTES) {
			fs_report_add(&rc->report, "%s: offset %" PRIu64 ": sequence %" PRIu64
			    " out of place (expected %" PRIu64 "); record ignored", seg->path, offset, rec->seq, expected);
			return;
		}
		if (rec->seq > expected)
			fs_report_add(&rc->report, "%s: offset %" PRIu64 ": sequences %" PRIu64 "..%" PRIu64 " missing",
			    seg->path, offset, expected, rec->seq - 1);
		FsEntry gap = { 0 };
		while (seg->first_seq + seg->entries->len < rec->seq)
			g_array_append_val(seg->entries, gap);
		FsEntry e = { .offset = (uint32_t)offset, .record_bytes = rec->record_bytes, .ts_ns = rec->ts_ns };
		if (rec->kind == FS_RECORD_MSG) {
			e.flags = FS_ENTRY_LIVE | (rec->hdr_len > 0 ? FS_ENTRY_HDR : 0);
			e.subject_id = fs_subjects_add(fs->subjects, rec->subject, rec->subject_len, rec->seq);
			seg->live_msgs++;
			fs->msgs++;
			fs->bytes += fs_entry_msg_bytes(&e);
		}
		g_array_append_val(seg->entries, e);
		fs_recover_seen(rc, rec->seq, rec->ts_ns);
		return;
	}
	case FS_RECORD_DELETE:
		if (rec->seq >= seg->first_seq && rec->seq < expected &&
		    (g_array_index(seg->entries, FsEntry, rec->seq - seg->first_seq).flags & FS_ENTRY_LIVE))
			fs_index_forget(fs, seg, rec->seq);
		return;
	case FS_RECORD_PURGE_BELOW:
		for (uint64_t k = 0; k < seg->entries->len && seg->first_seq + k < rec->seq; k++)
			if (g_array_index(seg->entries, FsEntry, k).flags & FS_ENTRY_LIVE)
				fs_index_forget(fs, seg, seg->first_seq + k);
		return;
	case FS_RECORD_MARK:
		fs_recover_seen(rc, rec->seq, rec->ts_ns);
		return;
	case FS_RECORD_KIND_END:
		break;
	}
	UNREACHABLE();
}

static bool
fs_bytes_zero(const uint8_t *buf, uint64_t len)
{
	for (uint64_t k = 0; k < len; k++)
		if (buf[k] != 0)
			return false;
	return true;
}

/* The end of a segment from the bad record at offset on, where no valid
 * record follows (fs_resync found none). Only bytes cut short by the end
 * of the file are a torn tail - fewer than the smallest record, a header
 * whose lengths agree but reach past the end (FS_PARSE_SHORT), or zero
 * bytes (a file system's zero fill after a crash: no record starts with a
 * zero length) - since a write cut short never completed and so was never
 * acknowledged (under ALWAYS everything acknowledged was synced whole).
 * Any other bad bytes are complete records, damaged: their sequences were
 * used, and may have been acknowledged. Counts them: one per record whose
 * header still tells its length, and for bytes whose structure is lost, as
 * many as could fit (each takes FS_RECORD_OVERHEAD_BYTES at least); the
 * first record of a file is its MARK, which holds no sequence. Counting
 * too many only leaves a gap; too few would let a sequence be used twice.
 * *torn_at gets where the torn bytes start (size when there are none). */
static uint64_t
fs_recover_tail_count(const uint8_t *buf, uint64_t offset, uint64_t size, uint64_t *torn_at)
{
	uint64_t p = offset, seqs = 0;
	while (p < size) {
		uint64_t left = size - p;
		FsRecord rec;
		FsParseResult r =
		    left < FS_RECORD_OVERHEAD_BYTES ? FS_PARSE_SHORT : fs_record_parse(buf + p, left, &rec);
		ASSERT(r != FS_PARSE_OK);
		if (r == FS_PARSE_SHORT || fs_bytes_zero(buf + p, left))
			break;
		uint64_t step = p == 0 ? FS_RECORD_OVERHEAD_BYTES : fs_record_damaged_bytes(buf + p, left);
		if (step == 0) {
			seqs += left / FS_RECORD_OVERHEAD_BYTES;
			p = size;
			break;
		}
		seqs += p > 0;
		p += step;
	}
	*torn_at = p;
	return seqs;
}

/* Damaged records at the end of seg, from offset to end (bad bytes that
 * are not a torn tail, holding seqs sequences): reported, kept on disk,
 * their sequences used up - entries that read as deleted, and last_seq at
 * least the last of them. The count is an inference from bytes that may
 * change again, so it is made durable: a segment whose damage used up
 * sequences is sealed, and the open starts a new one named last_seq + 1
 * (fs_recover_segments). A damaged MARK alone uses up none (the name says
 * as much): appends go after it. */
static void
fs_recover_damaged_tail(FsRecovery *rc, FsSegment *seg, uint64_t offset, uint64_t end, uint64_t seqs,
    uint64_t next_first, FsParseResult why)
{
	uint64_t first = seg->first_seq + seg->entries->len;
	uint64_t stop = first + MIN(seqs, next_first - first); /* exclusive */
	ASSERT(end > offset && stop >= first);
	if (stop == first) {
		fs_report_add(&rc->report, "%s: offset %" PRIu64 ": %s; %" PRIu64
		    " bytes damaged at the end of the segment, holding no sequence", seg->path, offset,
		    fs_parse_result_str(why), end - offset);
		return;
	}
	fs_report_add(&rc->report, "%s: offset %" PRIu64 ": %s; %" PRIu64
	    " bytes damaged at the end of the segment; sequences %" PRIu64 "..%" PRIu64
	    " counted as used, never served", seg->path, offset, fs_parse_result_str(why), end - offset, first,
	    stop - 1);
	FsEntry gap = { 0 };
	while (seg->first_seq + seg->entries->len < stop)
		g_array_append_val(seg->entries, gap);
	rc->best_seq = MAX(rc->best_seq, stop - 1);
	seg->sealed = true;
}

/* Scans one segment: indexes its good records, reports and skips bad
 * ones, keeps damaged ones at its end, cuts a torn tail. Only an I/O
 * failure stops the open. */
static JsStoreStatus
fs_recover_segment(FileStore *fs, FsRecovery *rc, FsSegment *seg, uint64_t next_first)
{
	BrokerStorageFile *file;
	JsStoreStatus js = fs_segment_file(fs, seg, &file);
	if (js != JS_STORE_OK)
		return js;
	const BrokerStorageOps *ops = fs->storage->ops;
	uint64_t size = 0;
	if (ops->size(fs->storage->ctx, file, &size) != BROKER_STORAGE_OK)
		return JS_STORE_IO;
	if (size > FS_SEGMENT_BYTES_MAX) {
		fs_report_add(&rc->report, "%s: %" PRIu64 " bytes, more than a segment may hold; only the first %" PRIu64
		    " read", seg->path, size, FS_SEGMENT_BYTES_MAX);
		size = FS_SEGMENT_BYTES_MAX;
	}
	g_byte_array_set_size(rc->buf, (guint)size);
	size_t got = 0;
	if (size > 0 && ops->read(fs->storage->ctx, file, 0, rc->buf->data, size, &got) != BROKER_STORAGE_OK)
		return JS_STORE_IO;
	size = got;
	const uint8_t *buf = rc->buf->data;
	uint64_t offset = 0;
	while (offset < size) {
		FsRecord rec;
		FsParseResult r = fs_record_parse(buf + offset, size - offset, &rec);
		if (r == FS_PARSE_OK) {
			fs_recover_apply(fs, rc, seg, &rec, offset, next_first, size);
			offset += rec.record_bytes;
			continue;
		}
		uint64_t next = fs_resync(buf, size, offset);
		if (next < size) {
			fs_report_add(&rc->report, "%s: offset %" PRIu64 ": %s; %" PRIu64
			    " bytes skipped, resynchronised at offset %" PRIu64, seg->path, offset,
			    fs_parse_result_str(r), next - offset, next);
			offset = next;
			continue;
		}
		uint64_t torn_at = size;
		uint64_t seqs = fs_recover_tail_count(buf, offset, size, &torn_at);
		if (torn_at > offset)
			fs_recover_damaged_tail(rc, seg, offset, torn_at, seqs, next_first, r);
		if (torn_at < size) {
			FsRecord torn;
			const char *why = fs_bytes_zero(buf + torn_at, size - torn_at) ? "zero bytes"
			    : fs_parse_result_str(fs_record_parse(buf + torn_at, size - torn_at, &torn));
			fs_report_add(&rc->report, "%s: offset %" PRIu64 ": %s; torn tail of %" PRIu64 " bytes cut",
			    seg->path, torn_at, why, size - torn_at);
			if (ops->truncate(fs->storage->ctx, file, torn_at) != BROKER_STORAGE_OK ||
			    ops->sync(fs->storage->ctx, file) != BROKER_STORAGE_OK)
				return JS_STORE_IO;
		}
		size = torn_at;
		break;
	}
	seg->end_bytes = size;
	return JS_STORE_OK;
}

/* "<digits>.blk" -> first sequence; 0 when the name is not a segment. */
static uint64_t
fs_segment_name_seq(const char *name)
{
	if (!g_str_has_suffix(name, ".blk") || !g_ascii_isdigit(name[0]))
		return 0;
	char *end = NULL;
	guint64 seq = g_ascii_strtoull(name, &end, 10);
	return end != NULL && strcmp(end, ".blk") == 0 && seq < UINT64_MAX ? seq : 0;
}

static gint
fs_compare_segments(gconstpointer a, gconstpointer b)
{
	const FsSegment *x = *(FsSegment *const *)a, *y = *(FsSegment *const *)b;
	return x->first_seq < y->first_seq ? -1 : x->first_seq > y->first_seq;
}

static JsStoreStatus
fs_recover_segments(FileStore *fs, FsRecovery *rc)
{
	g_autofree char *dir = g_strconcat(fs->dir, "/msgs", NULL);
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	BrokerStorageStatus status = fs->storage->ops->list(fs->storage->ctx, dir, names);
	if (status != BROKER_STORAGE_OK && status != BROKER_STORAGE_NOT_FOUND) {
		g_ptr_array_free(names, TRUE);
		return JS_STORE_IO;
	}
	for (guint k = 0; k < names->len; k++) {
		const char *name = names->pdata[k];
		uint64_t first = fs_segment_name_seq(name);
		if (first == 0) {
			fs_report_add(&rc->report, "%s/%s: not a segment file; ignored", dir, name);
			continue;
		}
		g_ptr_array_add(fs->segments, fs_segment_new(fs, first));
	}
	g_ptr_array_free(names, TRUE);
	g_ptr_array_sort(fs->segments, fs_compare_segments);
	for (guint k = 0; k < fs->segments->len; k++) {
		FsSegment *seg = fs->segments->pdata[k];
		uint64_t next_first =
		    k + 1 < fs->segments->len ? ((FsSegment *)fs->segments->pdata[k + 1])->first_seq : UINT64_MAX;
		JsStoreStatus js = fs_recover_segment(fs, rc, seg, next_first);
		if (js != JS_STORE_OK)
			return js;
	}
	FsSegment *last = fs_last_segment(fs);
	/* The newest segment's name says every sequence below it was used. */
	fs->last_seq = rc->best_seq;
	fs->last_ts_ns = rc->best_ts_ns;
	if (last != NULL && last->first_seq - 1 > fs->last_seq)
		fs->last_seq = last->first_seq - 1;
	if (last != NULL)
		ASSERT(last->first_seq + last->entries->len == fs->last_seq + 1 || last->entries->len == 0);
	/* Older segments with nothing live left go (their sequences are
	 * covered by the newer segments' names). */
	for (guint k = 0; k + 1 < fs->segments->len;) {
		FsSegment *seg = fs->segments->pdata[k];
		if (seg->live_msgs == 0 && fs_segment_drop(fs, seg) == JS_STORE_OK)
			continue;
		k++;
	}
	fs->first_seq = fs->segments->len > 0 ? ((FsSegment *)fs->segments->pdata[0])->first_seq : 1;
	fs->first_stale = true;
	/* Pin the sequences damage used up at the end of the newest segment:
	 * the new segment's name says they were used, whatever becomes of the
	 * damaged bytes. On failure the next append tries again. */
	if (last != NULL && last->sealed)
		fs_segment_start(fs);
	return JS_STORE_OK;
}

static JsStoreStatus
fs_recover_consumers(FileStore *fs, FsRecovery *rc)
{
	g_autofree char *dir = g_strconcat(fs->dir, "/obs", NULL);
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	BrokerStorageStatus status = fs->storage->ops->list(fs->storage->ctx, dir, names);
	if (status != BROKER_STORAGE_OK && status != BROKER_STORAGE_NOT_FOUND) {
		g_ptr_array_free(names, TRUE);
		return JS_STORE_IO;
	}
	for (guint k = 0; k < names->len; k++) {
		const char *name = names->pdata[k];
		g_autofree char *path = g_strconcat(dir, "/", name, NULL);
		if (g_str_has_suffix(name, ".tmp")) {
			st_remove(fs->storage, path); /* an atomic write that never finished */
			continue;
		}
		if (!g_str_has_suffix(name, ".state") || strlen(name) == strlen(".state")) {
			fs_report_add(&rc->report, "%s: not a consumer state file; ignored", path);
			continue;
		}
		g_autofree char *consumer = g_strndup(name, strlen(name) - strlen(".state"));
		fs_consumer_add(fs, consumer, true);
		status = st_read_all(fs->storage, path, FS_CONSUMER_STATE_BYTES_MAX + FS_BLOB_OVERHEAD_BYTES, rc->buf);
		const uint8_t *blob;
		size_t blob_len;
		if (status != BROKER_STORAGE_OK || !fs_blob_parse(rc->buf->data, rc->buf->len, &blob, &blob_len))
			fs_report_add(&rc->report, "%s: %s; consumer state unreadable", path,
			    status != BROKER_STORAGE_OK ? broker_storage_status_str(status) : "checksum mismatch");
	}
	g_ptr_array_free(names, TRUE);
	g_autofree char *meta = g_strconcat(fs->dir, "/meta.json", NULL);
	g_autofree char *meta_tmp = g_strconcat(meta, ".tmp", NULL);
	st_remove(fs->storage, meta_tmp);
	status = st_read_all(fs->storage, meta, FS_META_BYTES_MAX + 64, rc->buf);
	if (status == BROKER_STORAGE_OK) {
		char *json = fs_meta_parse(rc->buf->data, rc->buf->len);
		if (json == NULL)
			fs_report_add(&rc->report, "%s: checksum mismatch; stream config unreadable", meta);
		g_free(json);
	}
	return JS_STORE_OK;
}

JsStore *
js_filestore_open(BrokerStorage *storage, const JsStoreConfig *config, int64_t now_ns, char **report,
    JsStoreStatus *status)
{
	ASSERT(storage != NULL && config != NULL && fs_name_valid(config->stream));
	ASSERT(config->block_bytes <= FS_BLOCK_BYTES_MAX && config->sync_interval_ns >= 0);
	ASSERT(config->sync == 0 || config->sync == JS_STORE_SYNC_ALWAYS || config->sync == JS_STORE_SYNC_INTERVAL);
	FileStore *fs = g_new0(FileStore, 1);
	fs->base.ops = &filestore_ops;
	fs->storage = storage;
	fs->stream = g_strdup(config->stream);
	fs->dir = g_strconcat("jetstream/", config->stream, NULL);
	fs->sync = config->sync != 0 ? config->sync : JS_STORE_SYNC_INTERVAL;
	fs->sync_interval_ns = config->sync_interval_ns > 0 ? config->sync_interval_ns : FS_SYNC_INTERVAL_DEFAULT_NS;
	fs->block_bytes = config->block_bytes > 0 ? config->block_bytes : FS_BLOCK_BYTES_DEFAULT;
	fs->segments = g_ptr_array_new();
	fs->subjects = fs_subjects_create();
	fs->consumers = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, fs_consumer_free);
	fs->write_buf = g_byte_array_new();
	fs->mark_buf = g_byte_array_new();
	fs->read_buf = g_byte_array_new();
	fs->view_subject = g_string_new(NULL);
	fs->seq_buf = g_array_new(FALSE, FALSE, sizeof(uint64_t));
	fs->undo_buf = g_byte_array_new();
	fs->clock_ns = now_ns;
	fs->last_sync_ns = now_ns;
	FsRecovery rc = { .report = { .text = g_string_new(NULL) }, .buf = g_byte_array_new() };
	JsStoreStatus js = fs_recover_segments(fs, &rc);
	if (js == JS_STORE_OK)
		js = fs_recover_consumers(fs, &rc);
	g_byte_array_free(rc.buf, TRUE);
	if (rc.report.dropped > 0)
		g_string_append_printf(rc.report.text, "\n... and %u more", rc.report.dropped);
	if (js == JS_STORE_OK)
		fs_first_seq(fs);
	if (status != NULL)
		*status = js;
	if (report != NULL)
		*report = rc.report.text->len > 0 ? g_strdup(rc.report.text->str) : NULL;
	g_string_free(rc.report.text, TRUE);
	if (js != JS_STORE_OK) {
		fs_free(fs);
		return NULL;
	}
	return &fs->base;
}

void
js_filestore_find_streams(BrokerStorage *storage, GArray *out)
{
	ASSERT(storage != NULL && out != NULL);
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	if (storage->ops->list(storage->ctx, "jetstream", names) == BROKER_STORAGE_OK) {
		GByteArray *buf = g_byte_array_new();
		for (guint k = 0; k < names->len; k++) {
			const char *name = names->pdata[k];
			if (!g_str_has_suffix(name, "/"))
				continue;
			JsFoundStream found = { g_strndup(name, strlen(name) - 1), NULL };
			g_autofree char *meta = g_strconcat("jetstream/", found.name, "/meta.json", NULL);
			if (st_read_all(storage, meta, FS_META_BYTES_MAX + 64, buf) == BROKER_STORAGE_OK)
				found.meta_json = fs_meta_parse(buf->data, buf->len);
			g_array_append_val(out, found);
		}
		g_byte_array_free(buf, TRUE);
	}
	g_ptr_array_free(names, TRUE);
}
