/*
 * filestore_index.c - interned subjects and the cached filter matcher of
 * the file store (see filestore_index.h).
 *
 * The table maps subject text to a dense id so that each message entry
 * names its subject in 4 bytes; ids of subjects that run out of messages
 * go to a free list. The hash table is only looked up, never iterated:
 * listings walk the id array and sort by subject text, so nothing depends
 * on hash order.
 *
 * The match cache holds, per id, (stamp << 1 | verdict). A new filter text
 * bumps the stamp, which invalidates every slot at once; freeing an id
 * clears its slot, so a reused id never inherits a verdict.
 */
#include "broker/js/filestore_index.h"

#include <string.h>

#include "proto/assert.h"
#include "proto/subject.h"

struct FsSubjects {
	GHashTable *by_text; /* char* (owned by the FsSubject) -> id + 1 */
	GPtrArray *by_id;    /* FsSubject* or NULL (free id) */
	GArray *free_ids;    /* uint32_t */
	uint64_t count;
	GString *scratch;    /* NUL-terminated copy of a looked-up subject */
	GArray *match_cache; /* uint32_t per id */
	uint32_t match_stamp;
	char *match_filter;  /* the text the stamp belongs to */
	uint32_t recent_id;  /* the last subject found: consecutive messages often share it */
};

FsSubjects *
fs_subjects_create(void)
{
	FsSubjects *s = g_new0(FsSubjects, 1);
	s->by_text = g_hash_table_new(g_str_hash, g_str_equal);
	s->by_id = g_ptr_array_new();
	s->free_ids = g_array_new(FALSE, FALSE, sizeof(uint32_t));
	s->scratch = g_string_sized_new(64);
	s->match_cache = g_array_new(FALSE, TRUE, sizeof(uint32_t));
	s->match_stamp = 1;
	s->recent_id = FS_SUBJECT_NONE;
	return s;
}

void
fs_subjects_destroy(FsSubjects *s)
{
	if (s == NULL)
		return;
	for (guint k = 0; k < s->by_id->len; k++) {
		FsSubject *sub = s->by_id->pdata[k];
		if (sub != NULL) {
			g_free(sub->subject);
			g_free(sub);
		}
	}
	g_hash_table_destroy(s->by_text);
	g_ptr_array_free(s->by_id, TRUE);
	g_array_free(s->free_ids, TRUE);
	g_string_free(s->scratch, TRUE);
	g_array_free(s->match_cache, TRUE);
	g_free(s->match_filter);
	g_free(s);
}

uint32_t
fs_subjects_find(FsSubjects *s, const char *subject, size_t subject_len)
{
	if (s->recent_id != FS_SUBJECT_NONE) {
		const FsSubject *recent = s->by_id->pdata[s->recent_id];
		if (recent != NULL && recent->subject_len == subject_len &&
		    memcmp(recent->subject, subject, subject_len) == 0)
			return s->recent_id;
	}
	g_string_truncate(s->scratch, 0);
	g_string_append_len(s->scratch, subject, (gssize)subject_len);
	gpointer v = g_hash_table_lookup(s->by_text, s->scratch->str);
	if (v == NULL)
		return FS_SUBJECT_NONE;
	s->recent_id = (uint32_t)(GPOINTER_TO_SIZE(v) - 1);
	return s->recent_id;
}

FsSubject *
fs_subjects_get(FsSubjects *s, uint32_t id)
{
	ASSERT(id < s->by_id->len);
	FsSubject *sub = s->by_id->pdata[id];
	ASSERT(sub != NULL && sub->msgs > 0);
	return sub;
}

uint64_t
fs_subjects_count(const FsSubjects *s)
{
	return s->count;
}

uint32_t
fs_subjects_add(FsSubjects *s, const char *subject, size_t subject_len, uint64_t seq)
{
	ASSERT(subject_len > 0 && seq > 0);
	uint32_t id = fs_subjects_find(s, subject, subject_len);
	if (id != FS_SUBJECT_NONE) {
		FsSubject *sub = s->by_id->pdata[id];
		ASSERT(seq > sub->last_seq || sub->last_stale);
		sub->msgs++;
		sub->last_seq = seq;
		sub->last_stale = false;
		return id;
	}
	FsSubject *sub = g_new0(FsSubject, 1);
	sub->subject = g_strndup(subject, subject_len);
	sub->subject_len = subject_len;
	sub->msgs = 1;
	sub->first_seq = seq;
	sub->last_seq = seq;
	if (s->free_ids->len > 0) {
		id = g_array_index(s->free_ids, uint32_t, s->free_ids->len - 1);
		g_array_set_size(s->free_ids, s->free_ids->len - 1);
		ASSERT(s->by_id->pdata[id] == NULL);
		s->by_id->pdata[id] = sub;
	} else {
		ASSERT(s->by_id->len < FS_SUBJECT_NONE - 1);
		id = s->by_id->len;
		g_ptr_array_add(s->by_id, sub);
	}
	g_hash_table_insert(s->by_text, sub->subject, GSIZE_TO_POINTER((gsize)id + 1));
	s->count++;
	return id;
}

void
fs_subjects_remove(FsSubjects *s, uint32_t id, uint64_t seq)
{
	FsSubject *sub = fs_subjects_get(s, id);
	ASSERT(seq >= sub->first_seq && (seq <= sub->last_seq || sub->last_stale));
	sub->msgs--;
	if (sub->msgs == 0) {
		g_hash_table_remove(s->by_text, sub->subject);
		g_free(sub->subject);
		g_free(sub);
		s->by_id->pdata[id] = NULL;
		g_array_append_val(s->free_ids, id);
		if (id < s->match_cache->len)
			g_array_index(s->match_cache, uint32_t, id) = 0;
		s->count--;
		return;
	}
	if (seq == sub->first_seq)
		sub->first_stale = true;
	if (seq == sub->last_seq)
		sub->last_stale = true;
}

static bool
filter_is_all(const char *filter)
{
	return filter == NULL || filter[0] == '\0' || strcmp(filter, ">") == 0;
}

void
fs_filter_init(FsFilter *f, FsSubjects *s, const char *filter)
{
	if (filter_is_all(filter)) {
		*f = (FsFilter){ .kind = FS_FILTER_ALL };
		return;
	}
	size_t len = strlen(filter);
	if (!proto_subject_has_wildcard(filter, len)) {
		*f = (FsFilter){ FS_FILTER_LITERAL, filter, len, fs_subjects_find(s, filter, len) };
		return;
	}
	*f = (FsFilter){ FS_FILTER_WILDCARD, filter, len, FS_SUBJECT_NONE };
	if (s->match_filter == NULL || strcmp(s->match_filter, filter) != 0) {
		g_free(s->match_filter);
		s->match_filter = g_strdup(filter);
		if (s->match_stamp == UINT32_MAX >> 1) {
			memset(s->match_cache->data, 0, s->match_cache->len * sizeof(uint32_t));
			s->match_stamp = 0;
		}
		s->match_stamp++;
	}
}

bool
fs_filter_matches(FsFilter *f, FsSubjects *s, uint32_t id)
{
	switch (f->kind) {
	case FS_FILTER_ALL:
		return true;
	case FS_FILTER_LITERAL:
		return id == f->literal_id;
	case FS_FILTER_WILDCARD:
		break;
	}
	if (id >= s->match_cache->len)
		g_array_set_size(s->match_cache, MAX(s->by_id->len, id + 1));
	uint32_t *slot = &g_array_index(s->match_cache, uint32_t, id);
	if ((*slot >> 1) == s->match_stamp)
		return (*slot & 1) != 0;
	FsSubject *sub = fs_subjects_get(s, id);
	bool verdict = proto_subject_matches(f->filter, f->filter_len, sub->subject, sub->subject_len);
	*slot = (s->match_stamp << 1) | (verdict ? 1u : 0u);
	return verdict;
}

static int
compare_ids_by_subject(gconstpointer a, gconstpointer b, gpointer data)
{
	FsSubjects *s = data;
	const FsSubject *x = s->by_id->pdata[*(const uint32_t *)a];
	const FsSubject *y = s->by_id->pdata[*(const uint32_t *)b];
	return strcmp(x->subject, y->subject);
}

void
fs_subjects_matching(FsSubjects *s, FsFilter *f, GArray *ids)
{
	guint start = ids->len;
	if (f->kind == FS_FILTER_LITERAL) {
		if (f->literal_id != FS_SUBJECT_NONE)
			g_array_append_val(ids, f->literal_id);
		return;
	}
	for (uint32_t id = 0; id < s->by_id->len; id++)
		if (s->by_id->pdata[id] != NULL && fs_filter_matches(f, s, id))
			g_array_append_val(ids, id);
	g_qsort_with_data(ids->data + start * sizeof(uint32_t), (gint)(ids->len - start), sizeof(uint32_t),
	    compare_ids_by_subject, s);
}
