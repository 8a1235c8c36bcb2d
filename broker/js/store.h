/*
 * store.h - the JetStream message store: one per stream, in memory
 * (memstore.c) or on disk through the storage seam (filestore.c).
 *
 * The store keeps messages by sequence and answers the questions streams
 * and consumers ask (load by sequence, next matching a filter, last of a
 * subject, counts). Limits and retention are the stream's business: the
 * stream layer decides what to remove and calls remove/purge. What differs
 * between the two stores is only where bytes live, how `bytes` is counted
 * (nats-server's accounting, NATS-SPEC §2.3: memory len(subj)+len(hdr)+
 * len(msg)+16; file len(subj)+len(msg)+30 without headers, +34 with), and
 * durability.
 *
 * Sequences: store() assigns last_seq+1. skip() uses up a sequence without
 * storing (interest retention with no interest). After removals and
 * purges, first_seq is the lowest stored sequence, or last_seq+1 when the
 * store is empty (NATS-SPEC §2.3: "after a purge or expiry, first_seq =
 * last_seq+1"); an empty never-used store has first_seq 0 and last_seq 0.
 *
 * Views (JsStoredMsg) are valid until the next call into the store.
 * Every function is deterministic: no clock (timestamps come in), no
 * randomness, no iteration order that shows.
 */
#ifndef NATSIM_BROKER_JS_STORE_H
#define NATSIM_BROKER_JS_STORE_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/storage.h"

typedef enum JsStoreStatus {
	JS_STORE_OK = 0,
	JS_STORE_NOT_FOUND,   /* no such message (or none matching) */
	JS_STORE_DELETED,     /* the sequence existed but was removed */
	JS_STORE_NO_SPACE,    /* the disk is full (storage seam NO_SPACE) */
	JS_STORE_IO,          /* a disk operation failed */
	JS_STORE_CORRUPT,     /* a record failed its checksum: never served */
} JsStoreStatus;

const char *js_store_status_str(JsStoreStatus status);

typedef struct JsStoredMsg {
	uint64_t seq;
	int64_t ts_ns; /* when it was stored (Unix ns) */
	const char *subject;
	size_t subject_len;
	const uint8_t *hdr; /* NULL when none */
	size_t hdr_len;
	const uint8_t *data;
	size_t data_len;
} JsStoredMsg;

typedef struct JsStoreState {
	uint64_t msgs;
	uint64_t bytes;
	uint64_t first_seq;
	int64_t first_ts_ns; /* 0 when empty */
	uint64_t last_seq;
	int64_t last_ts_ns;  /* 0 when never used */
	uint64_t num_deleted; /* interior gaps between first and last */
	uint64_t num_subjects;
} JsStoreState;

typedef enum JsStoreSync {
	JS_STORE_SYNC_ALWAYS = 1,  /* fsync each write before it is acknowledged */
	JS_STORE_SYNC_INTERVAL,    /* fsync on a timer (sync_interval_ns) */
} JsStoreSync;

typedef struct JsStoreConfig {
	const char *stream;     /* the stream's name (file store directory) */
	JsStoreSync sync;       /* file store only */
	int64_t sync_interval_ns;
	uint64_t block_bytes;   /* file store segment size; 0 = default */
} JsStoreConfig;

typedef struct JsStore JsStore;

typedef struct JsStoreOps {
	/* Appends a message with sequence last_seq+1. */
	JsStoreStatus (*store)(JsStore *s, const char *subject, size_t subject_len, const void *hdr, size_t hdr_len,
	    const void *data, size_t data_len, int64_t ts_ns, uint64_t *seq_out);
	/* Uses up sequence last_seq+1 without storing anything. */
	JsStoreStatus (*skip)(JsStore *s, int64_t ts_ns, uint64_t *seq_out);
	JsStoreStatus (*load)(JsStore *s, uint64_t seq, JsStoredMsg *out);
	/* The first stored message with sequence >= start whose subject
	 * matches filter (NULL or ">" = any). */
	JsStoreStatus (*load_next)(JsStore *s, const char *filter, uint64_t start, JsStoredMsg *out);
	/* The last stored message on exactly this subject (or matching this
	 * filter when it has wildcards). */
	JsStoreStatus (*load_last)(JsStore *s, const char *filter, JsStoredMsg *out);
	/* Removes one message (erase: overwrite its bytes on disk too). */
	JsStoreStatus (*remove)(JsStore *s, uint64_t seq, bool erase);
	/* Removes messages matching filter (NULL = all) with seq < upto_seq
	 * (0 = no bound), keeping the newest `keep` matching ones (0 = keep
	 * none). *purged gets how many went. */
	JsStoreStatus (*purge)(JsStore *s, const char *filter, uint64_t upto_seq, uint64_t keep, uint64_t *purged);
	void (*state)(JsStore *s, JsStoreState *out);
	/* Stored messages with seq >= start matching filter; with
	 * last_per_subject, only the last of each subject counts. */
	uint64_t (*count)(JsStore *s, uint64_t start, const char *filter, bool last_per_subject);
	/* Messages stored on exactly this subject. */
	uint64_t (*subject_count)(JsStore *s, const char *subject);
	/* Per-subject counts for subjects matching filter, in subject order:
	 * appends (char *subject, uint64_t count) pairs as JsSubjectCount. */
	void (*subjects)(JsStore *s, const char *filter, GArray *out);
	/* The first sequence stored on this exact subject, 0 when none. */
	uint64_t (*subject_first)(JsStore *s, const char *subject);
	/* Makes everything stored so far durable (file store; memory: no-op). */
	JsStoreStatus (*sync)(JsStore *s);
	/* When the store wants its on_timer called (Unix ns), or INT64_MAX. */
	int64_t (*next_deadline)(JsStore *s);
	void (*on_timer)(JsStore *s, int64_t now_ns);

	/* Consumer state, an opaque blob per consumer name, kept with the
	 * stream (file store: durable per the sync policy; memory: kept). */
	JsStoreStatus (*consumer_save)(JsStore *s, const char *consumer, const void *blob, size_t len);
	JsStoreStatus (*consumer_load)(JsStore *s, const char *consumer, GByteArray *out);
	JsStoreStatus (*consumer_remove)(JsStore *s, const char *consumer);
	/* Appends the names of stored consumers, sorted. */
	void (*consumer_names)(JsStore *s, GPtrArray *out);

	/* The stream's config as JSON text, kept with the store so a file
	 * store can bring the stream back at start-up. */
	JsStoreStatus (*meta_save)(JsStore *s, const char *json);

	/* Removes everything (stream deleted) and frees the store. */
	void (*destroy_all)(JsStore *s);
	/* Frees the in-memory side only; touches no disk, since it also runs
	 * after a (simulated) crash. An orderly shutdown calls sync() first
	 * (js_server_shutdown does), so nothing only in memory is lost. */
	void (*close)(JsStore *s);
} JsStoreOps;

struct JsStore {
	const JsStoreOps *ops;
};

typedef struct JsSubjectCount {
	char *subject; /* g_free */
	uint64_t count;
} JsSubjectCount;

/* Stored bytes of one message, as each store counts them. */
uint64_t js_memstore_msg_bytes(size_t subject_len, size_t hdr_len, size_t data_len);
uint64_t js_filestore_msg_bytes(size_t subject_len, size_t hdr_len, size_t data_len);

JsStore *js_memstore_create(const JsStoreConfig *config);

/* Opens (creating when missing) the stream's directory under
 * "jetstream/<stream>/" of the storage, recovering what is there: the
 * index is rebuilt by scanning the segments, records failing their
 * checksum are reported through *report (g_free) and never served, and a
 * torn tail is cut off. */
JsStore *js_filestore_open(BrokerStorage *storage, const JsStoreConfig *config, int64_t now_ns, char **report,
    JsStoreStatus *status);

/* Lists stream directories found under "jetstream/" (sorted) with their
 * saved config JSON, for start-up recovery: appends (name, json) pairs. */
typedef struct JsFoundStream {
	char *name; /* g_free */
	char *meta_json; /* g_free; NULL when unreadable */
} JsFoundStream;
void js_filestore_find_streams(BrokerStorage *storage, GArray *out);

#endif
