/*
 * filestore_index.h - the per-subject side of the file store's in-memory
 * index: interned subjects with their message count and first/last
 * sequence, and a filter matcher that caches its verdict per subject.
 *
 * Callers: broker/js/filestore.c, which owns the per-sequence side (the
 * entries of each segment, each naming its subject by id) and rebuilds
 * both by scanning the segments at open.
 *
 * Invariants: a subject exists exactly while msgs > 0 (its id is then
 * free for reuse, and its match-cache slot is cleared with it); first_seq
 * is exact unless first_stale (then a lower bound), last_seq exact unless
 * last_stale (then an upper bound). The store fixes stale bounds by
 * scanning its entries, only when a query needs them.
 */
#ifndef NATSIM_BROKER_JS_FILESTORE_INDEX_H
#define NATSIM_BROKER_JS_FILESTORE_INDEX_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FS_SUBJECT_NONE UINT32_MAX

typedef struct FsSubject {
	char *subject; /* NUL-terminated, owned */
	size_t subject_len;
	uint64_t msgs;
	uint64_t first_seq;
	uint64_t last_seq;
	bool first_stale;
	bool last_stale;
} FsSubject;

typedef struct FsSubjects FsSubjects;

FsSubjects *fs_subjects_create(void);
void fs_subjects_destroy(FsSubjects *subjects); /* NULL-safe */

/* Counts a message with sequence seq on subject (seq above every sequence
 * the subject holds); returns the subject's id. */
uint32_t fs_subjects_add(FsSubjects *subjects, const char *subject, size_t subject_len, uint64_t seq);
/* Uncounts message seq of subject id; frees the subject at zero. */
void fs_subjects_remove(FsSubjects *subjects, uint32_t id, uint64_t seq);

/* The id of this exact subject, or FS_SUBJECT_NONE. */
uint32_t fs_subjects_find(FsSubjects *subjects, const char *subject, size_t subject_len);
FsSubject *fs_subjects_get(FsSubjects *subjects, uint32_t id);
/* Subjects holding messages. */
uint64_t fs_subjects_count(const FsSubjects *subjects);

typedef enum FsFilterKind {
	FS_FILTER_ALL = 1, /* NULL, "" or ">" */
	FS_FILTER_LITERAL, /* no wildcard: one subject id (or none stored) */
	FS_FILTER_WILDCARD,
} FsFilterKind;

typedef struct FsFilter {
	FsFilterKind kind;
	const char *filter; /* borrowed for the filter's life */
	size_t filter_len;
	uint32_t literal_id; /* FS_FILTER_LITERAL: FS_SUBJECT_NONE when not stored */
} FsFilter;

/* Prepares a filter for matching against the subjects' ids; the borrowed
 * filter string must outlive it. Invalidates the previous filter's cache
 * when the text differs. */
void fs_filter_init(FsFilter *f, FsSubjects *subjects, const char *filter);
bool fs_filter_matches(FsFilter *f, FsSubjects *subjects, uint32_t id);

/* Appends (uint32_t) the ids of subjects matching f, sorted by subject. */
void fs_subjects_matching(FsSubjects *subjects, FsFilter *f, GArray *ids);

#endif
