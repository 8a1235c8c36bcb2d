/*
 * memstore.c - the JetStream memory store (store.h): nats-server's
 * memStore without the limits (the stream layer enforces those, for both
 * stores alike).
 *
 * Callers: stream.c through JsStoreOps; the store contract tests. This
 * file also holds js_store_status_str and js_memstore_msg_bytes, which
 * store.h declares.
 *
 * Layout, chosen for publish throughput: messages live in a ring of
 * records indexed by sequence (slot = (seq - head_seq) from the head), so
 * storing is an append and removing the oldest is a pop, with no
 * per-message hash table work. A removed or skipped sequence inside the
 * range stays as an empty record (a tombstone) until the head passes it.
 * Each subject has one entry in a hash table (looked up, never iterated
 * where its order shows) holding the ascending sequences it has live; the
 * entry of the last subject stored is cached, so a run of publishes on one
 * subject does no hash lookup at all.
 *
 * Invariants:
 *   - msgs > 0: head_seq == first_seq is live, len == last_seq-head_seq+1,
 *     and every live sequence is in [head_seq, last_seq];
 *   - msgs == 0: len == 0 and first_seq == last_seq+1 (0/0 before any use);
 *   - a record is live exactly when its subj is set, and its sequence is
 *     in that subject's seqs exactly once; a subject entry exists only
 *     while it has live sequences;
 *   - msgs/bytes are the count and the sum of len(subj)+len(hdr)+len(msg)+
 *     16 over live records (nats-server memStoreMsgSize).
 * Listings (subjects) are sorted; sums and minimums over the subject table
 * do not depend on its order.
 */
#include "broker/js/store.h"

#include <stdlib.h>
#include <string.h>

#include "proto/assert.h"
#include "proto/subject.h"

#define MEM_RING_MIN 64

typedef struct MemSubj {
	char *subject; /* owned; also the hash key */
	size_t subject_len;
	uint64_t *seqs; /* live sequences, ascending, in seqs[head .. head+count) */
	size_t head, count, cap;
} MemSubj;

typedef struct MemRec {
	MemSubj *subj; /* NULL: no message (removed, purged or skipped) */
	uint8_t *buf;  /* header block then payload; NULL when both are empty */
	size_t hdr_len;
	size_t data_len;
	int64_t ts_ns;
} MemRec;

typedef struct MemStore {
	JsStore base;
	char *stream;

	MemRec *ring;
	uint64_t cap;      /* a power of two */
	uint64_t head;     /* slot of head_seq */
	uint64_t len;      /* records from head_seq to last_seq, or 0 */
	uint64_t head_seq; /* == first_seq while msgs > 0 */

	uint64_t msgs;
	uint64_t bytes;
	uint64_t first_seq;
	uint64_t last_seq;
	int64_t last_ts_ns;

	GHashTable *subjects; /* subject -> MemSubj* */
	MemSubj *last_subj;   /* cache of the last subject stored; may be NULL */

	GTree *consumers; /* name -> GBytes*, in name order */
	char *meta;
} MemStore;

const char *
js_store_status_str(JsStoreStatus status)
{
	switch (status) {
	case JS_STORE_OK: return "ok";
	case JS_STORE_NOT_FOUND: return "no message found";
	case JS_STORE_DELETED: return "message deleted";
	case JS_STORE_NO_SPACE: return "no space left on device";
	case JS_STORE_IO: return "i/o error";
	case JS_STORE_CORRUPT: return "message corrupt";
	}
	return "unknown store status";
}

uint64_t
js_memstore_msg_bytes(size_t subject_len, size_t hdr_len, size_t data_len)
{
	return (uint64_t)subject_len + hdr_len + data_len + 16;
}

static MemStore *
mem(JsStore *s)
{
	return (MemStore *)s;
}

static bool
filter_is_all(const char *filter)
{
	return filter == NULL || filter[0] == '\0' || strcmp(filter, ">") == 0;
}

/* ---- records ---- */

static MemRec *
rec_at(MemStore *ms, uint64_t seq)
{
	if (ms->len == 0 || seq < ms->head_seq || seq > ms->last_seq)
		return NULL;
	return &ms->ring[(ms->head + (seq - ms->head_seq)) & (ms->cap - 1)];
}

static void
ring_grow(MemStore *ms)
{
	uint64_t cap = ms->cap ? ms->cap * 2 : MEM_RING_MIN;
	MemRec *ring = g_new0(MemRec, cap);
	for (uint64_t k = 0; k < ms->len; k++)
		ring[k] = ms->ring[(ms->head + k) & (ms->cap - 1)];
	g_free(ms->ring);
	ms->ring = ring;
	ms->cap = cap;
	ms->head = 0;
}

/* Appends the record for last_seq+1 (a tombstone when subj is NULL). */
static MemRec *
ring_push(MemStore *ms)
{
	if (ms->len == ms->cap)
		ring_grow(ms);
	MemRec *r = &ms->ring[(ms->head + ms->len) & (ms->cap - 1)];
	ms->len++;
	*r = (MemRec){ 0 };
	return r;
}

static uint64_t
rec_bytes(const MemRec *r)
{
	return js_memstore_msg_bytes(r->subj->subject_len, r->hdr_len, r->data_len);
}

static void
view_of(const MemRec *r, uint64_t seq, JsStoredMsg *out)
{
	*out = (JsStoredMsg){
		.seq = seq,
		.ts_ns = r->ts_ns,
		.subject = r->subj->subject,
		.subject_len = r->subj->subject_len,
		.hdr = r->hdr_len ? r->buf : NULL,
		.hdr_len = r->hdr_len,
		.data = r->buf != NULL ? r->buf + r->hdr_len : (const uint8_t *)"",
		.data_len = r->data_len,
	};
}

/* ---- subjects ---- */

static void
subj_free(gpointer p)
{
	MemSubj *sj = p;
	g_free(sj->subject);
	g_free(sj->seqs);
	g_free(sj);
}

static MemSubj *
subj_get(MemStore *ms, const char *subject, size_t subject_len)
{
	MemSubj *sj = ms->last_subj;
	if (sj != NULL && sj->subject_len == subject_len && memcmp(sj->subject, subject, subject_len) == 0)
		return sj;
	char *key = g_strndup(subject, subject_len);
	sj = g_hash_table_lookup(ms->subjects, key);
	if (sj == NULL) {
		sj = g_new0(MemSubj, 1);
		sj->subject = key;
		sj->subject_len = subject_len;
		g_hash_table_insert(ms->subjects, sj->subject, sj);
	} else {
		g_free(key);
	}
	ms->last_subj = sj;
	return sj;
}

static MemSubj *
subj_find(MemStore *ms, const char *subject)
{
	return g_hash_table_lookup(ms->subjects, subject);
}

static void
subj_append(MemSubj *sj, uint64_t seq)
{
	if (sj->head + sj->count == sj->cap) {
		if (sj->head > 0 && sj->head >= sj->count) {
			/* Room at the front: slide down instead of growing. */
			memmove(sj->seqs, sj->seqs + sj->head, sj->count * sizeof(uint64_t));
			sj->head = 0;
		} else {
			sj->cap = sj->cap ? sj->cap * 2 : 4;
			sj->seqs = g_renew(uint64_t, sj->seqs, sj->cap);
		}
	}
	ASSERT(sj->count == 0 || sj->seqs[sj->head + sj->count - 1] < seq);
	sj->seqs[sj->head + sj->count++] = seq;
}

/* The index (relative to head) of the first live seq >= seq. */
static size_t
subj_lower_bound(const MemSubj *sj, uint64_t seq)
{
	size_t lo = 0, hi = sj->count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (sj->seqs[sj->head + mid] < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static uint64_t
subj_first(const MemSubj *sj)
{
	return sj->seqs[sj->head];
}

static uint64_t
subj_last(const MemSubj *sj)
{
	return sj->seqs[sj->head + sj->count - 1];
}

/* Takes seq out of the subject; frees the entry when it was the last. */
static void
subj_remove_seq(MemStore *ms, MemSubj *sj, uint64_t seq)
{
	ASSERT(sj->count > 0);
	if (subj_first(sj) == seq) {
		sj->head++;
		sj->count--;
	} else {
		size_t k = subj_lower_bound(sj, seq);
		ASSERT(k < sj->count && sj->seqs[sj->head + k] == seq);
		memmove(sj->seqs + sj->head + k, sj->seqs + sj->head + k + 1, (sj->count - k - 1) * sizeof(uint64_t));
		sj->count--;
	}
	if (sj->count == 0) {
		if (ms->last_subj == sj)
			ms->last_subj = NULL;
		g_hash_table_remove(ms->subjects, sj->subject);
	}
}

static gint
subj_cmp(gconstpointer a, gconstpointer b)
{
	const MemSubj *x = *(MemSubj *const *)a, *y = *(MemSubj *const *)b;
	return strcmp(x->subject, y->subject);
}

/* Matching subject entries, sorted by subject (for listings), or in
 * table order when the caller only sums or takes a minimum. */
static GPtrArray *
subjects_matching(MemStore *ms, const char *filter, bool sorted)
{
	GPtrArray *out = g_ptr_array_new();
	if (!filter_is_all(filter) && !proto_subject_has_wildcard(filter, strlen(filter))) {
		MemSubj *sj = subj_find(ms, filter);
		if (sj != NULL)
			g_ptr_array_add(out, sj);
		return out;
	}
	size_t flen = filter_is_all(filter) ? 0 : strlen(filter);
	GHashTableIter it;
	gpointer value;
	g_hash_table_iter_init(&it, ms->subjects);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		MemSubj *sj = value;
		if (flen == 0 || proto_subject_matches(filter, flen, sj->subject, sj->subject_len))
			g_ptr_array_add(out, sj);
	}
	if (sorted)
		g_ptr_array_sort(out, subj_cmp);
	return out;
}

/* ---- removal ---- */

/* After the head record went away: move the head to the next live one. */
static void
advance_head(MemStore *ms)
{
	while (ms->len > 0 && ms->ring[ms->head].subj == NULL) {
		ms->head = (ms->head + 1) & (ms->cap - 1);
		ms->head_seq++;
		ms->len--;
	}
	if (ms->msgs == 0) {
		ASSERT(ms->len == 0);
		ms->first_seq = ms->last_seq + 1;
		ms->head_seq = ms->first_seq;
	} else {
		ASSERT(ms->len > 0);
		ms->first_seq = ms->head_seq;
	}
}

/* Removes a live record; the caller fixes the head afterwards. */
static void
rec_drop(MemStore *ms, MemRec *r, uint64_t seq, bool erase)
{
	ASSERT(r->subj != NULL);
	ms->msgs--;
	ms->bytes -= rec_bytes(r);
	subj_remove_seq(ms, r->subj, seq);
	if (erase && r->buf != NULL)
		memset(r->buf, 0, r->hdr_len + r->data_len);
	g_free(r->buf);
	*r = (MemRec){ 0 };
}

/* ---- JsStoreOps ---- */

static JsStoreStatus
mem_store(JsStore *s, const char *subject, size_t subject_len, const void *hdr, size_t hdr_len, const void *data,
    size_t data_len, int64_t ts_ns, uint64_t *seq_out)
{
	MemStore *ms = mem(s);
	ASSERT(subject != NULL && subject_len > 0);
	uint64_t seq = ms->last_seq + 1;
	if (ms->msgs == 0) {
		ASSERT(ms->len == 0);
		ms->head_seq = seq;
		ms->first_seq = seq;
	}
	MemRec *r = ring_push(ms);
	r->subj = subj_get(ms, subject, subject_len);
	r->hdr_len = hdr != NULL ? hdr_len : 0;
	r->data_len = data_len;
	r->ts_ns = ts_ns;
	if (r->hdr_len + data_len > 0) {
		r->buf = g_malloc(r->hdr_len + data_len);
		if (r->hdr_len)
			memcpy(r->buf, hdr, r->hdr_len);
		if (data_len)
			memcpy(r->buf + r->hdr_len, data, data_len);
	}
	subj_append(r->subj, seq);
	ms->msgs++;
	ms->bytes += rec_bytes(r);
	ms->last_seq = seq;
	ms->last_ts_ns = ts_ns;
	if (seq_out != NULL)
		*seq_out = seq;
	return JS_STORE_OK;
}

static JsStoreStatus
mem_skip(JsStore *s, int64_t ts_ns, uint64_t *seq_out)
{
	MemStore *ms = mem(s);
	uint64_t seq = ms->last_seq + 1;
	if (ms->msgs == 0) {
		ms->first_seq = seq + 1;
		ms->head_seq = seq + 1;
	} else {
		ring_push(ms); /* an interior gap, like nats-server's dmap entry */
	}
	ms->last_seq = seq;
	ms->last_ts_ns = ts_ns;
	if (seq_out != NULL)
		*seq_out = seq;
	return JS_STORE_OK;
}

static JsStoreStatus
mem_load(JsStore *s, uint64_t seq, JsStoredMsg *out)
{
	MemStore *ms = mem(s);
	if (seq == 0 || seq > ms->last_seq)
		return JS_STORE_NOT_FOUND;
	MemRec *r = rec_at(ms, seq);
	if (r == NULL || r->subj == NULL)
		return JS_STORE_DELETED;
	view_of(r, seq, out);
	return JS_STORE_OK;
}

/* The first live seq >= start on this subject, 0 when none. */
static uint64_t
subj_next(const MemSubj *sj, uint64_t start)
{
	size_t k = subj_lower_bound(sj, start);
	return k < sj->count ? sj->seqs[sj->head + k] : 0;
}

static JsStoreStatus
mem_load_next(JsStore *s, const char *filter, uint64_t start, JsStoredMsg *out)
{
	MemStore *ms = mem(s);
	if (ms->msgs == 0 || start > ms->last_seq)
		return JS_STORE_NOT_FOUND;
	if (start < ms->first_seq)
		start = ms->first_seq;
	uint64_t found = 0;
	bool all = filter_is_all(filter);
	size_t flen = all ? 0 : strlen(filter);
	if (!all && !proto_subject_has_wildcard(filter, flen)) {
		MemSubj *sj = subj_find(ms, filter);
		found = sj != NULL ? subj_next(sj, start) : 0;
	} else if (!all && (uint64_t)g_hash_table_size(ms->subjects) < ms->last_seq - start + 1) {
		/* Fewer subjects than records to walk: the minimum over the
		 * matching subjects (order-independent). */
		GPtrArray *subs = subjects_matching(ms, filter, false);
		for (guint k = 0; k < subs->len; k++) {
			uint64_t seq = subj_next(subs->pdata[k], start);
			if (seq != 0 && (found == 0 || seq < found))
				found = seq;
		}
		g_ptr_array_free(subs, TRUE);
	} else {
		for (uint64_t seq = start; seq <= ms->last_seq && found == 0; seq++) {
			MemRec *r = rec_at(ms, seq);
			if (r->subj != NULL &&
			    (all || proto_subject_matches(filter, flen, r->subj->subject, r->subj->subject_len)))
				found = seq;
		}
	}
	if (found == 0)
		return JS_STORE_NOT_FOUND;
	view_of(rec_at(ms, found), found, out);
	return JS_STORE_OK;
}

static JsStoreStatus
mem_load_last(JsStore *s, const char *filter, JsStoredMsg *out)
{
	MemStore *ms = mem(s);
	if (ms->msgs == 0)
		return JS_STORE_NOT_FOUND;
	uint64_t found = 0;
	if (filter_is_all(filter)) {
		found = ms->last_seq;
		while (rec_at(ms, found)->subj == NULL)
			found--;
	} else {
		GPtrArray *subs = subjects_matching(ms, filter, false);
		for (guint k = 0; k < subs->len; k++)
			found = MAX(found, subj_last(subs->pdata[k]));
		g_ptr_array_free(subs, TRUE);
	}
	if (found == 0)
		return JS_STORE_NOT_FOUND;
	view_of(rec_at(ms, found), found, out);
	return JS_STORE_OK;
}

static JsStoreStatus
mem_remove(JsStore *s, uint64_t seq, bool erase)
{
	MemStore *ms = mem(s);
	if (seq == 0 || seq > ms->last_seq)
		return JS_STORE_NOT_FOUND;
	MemRec *r = rec_at(ms, seq);
	if (r == NULL || r->subj == NULL)
		return JS_STORE_DELETED;
	rec_drop(ms, r, seq, erase);
	if (seq == ms->head_seq || ms->msgs == 0)
		advance_head(ms);
	return JS_STORE_OK;
}

static gint
seq_cmp(gconstpointer a, gconstpointer b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static JsStoreStatus
mem_purge(JsStore *s, const char *filter, uint64_t upto_seq, uint64_t keep, uint64_t *purged)
{
	MemStore *ms = mem(s);
	uint64_t n = 0;
	uint64_t end = upto_seq == 0 ? ms->last_seq + 1 : MIN(upto_seq, ms->last_seq + 1); /* exclusive */
	if (filter_is_all(filter)) {
		/* Everything below end, but the newest `keep`. */
		uint64_t below = 0;
		for (uint64_t seq = ms->first_seq; seq < end && ms->msgs > 0; seq++) {
			MemRec *r = rec_at(ms, seq);
			below += r != NULL && r->subj != NULL;
		}
		uint64_t todo = below > keep ? below - keep : 0;
		for (uint64_t seq = ms->first_seq; n < todo; seq++) {
			MemRec *r = rec_at(ms, seq);
			if (r->subj != NULL) {
				rec_drop(ms, r, seq, false);
				n++;
			}
		}
	} else {
		/* Collect the matching sequences below end, oldest first; keep
		 * counts against every matching message, as nats-server's
		 * PurgeEx does. */
		GPtrArray *subs = subjects_matching(ms, filter, false);
		GArray *seqs = g_array_new(FALSE, FALSE, sizeof(uint64_t));
		uint64_t total = 0;
		for (guint k = 0; k < subs->len; k++) {
			const MemSubj *sj = subs->pdata[k];
			total += sj->count;
			for (size_t j = 0; j < sj->count && sj->seqs[sj->head + j] < end; j++)
				g_array_append_val(seqs, sj->seqs[sj->head + j]);
		}
		g_ptr_array_free(subs, TRUE);
		g_array_sort(seqs, seq_cmp);
		uint64_t todo = total > keep ? total - keep : 0;
		for (guint k = 0; k < seqs->len && n < todo; k++) {
			uint64_t seq = g_array_index(seqs, uint64_t, k);
			rec_drop(ms, rec_at(ms, seq), seq, false);
			n++;
		}
		g_array_free(seqs, TRUE);
	}
	bool full = filter_is_all(filter) && upto_seq == 0 && keep == 0;
	if (n > 0 || full) {
		/* A full purge sets first = last+1 even on an empty store, as
		 * nats-server's memStore.Purge does. */
		advance_head(ms);
	}
	if (purged != NULL)
		*purged = n;
	return JS_STORE_OK;
}

static void
mem_state(JsStore *s, JsStoreState *out)
{
	MemStore *ms = mem(s);
	*out = (JsStoreState){
		.msgs = ms->msgs,
		.bytes = ms->bytes,
		.first_seq = ms->first_seq,
		.first_ts_ns = ms->msgs > 0 ? rec_at(ms, ms->first_seq)->ts_ns : 0,
		.last_seq = ms->last_seq,
		.last_ts_ns = ms->last_ts_ns,
		.num_deleted = ms->msgs > 0 ? ms->last_seq - ms->first_seq + 1 - ms->msgs : 0,
		.num_subjects = g_hash_table_size(ms->subjects),
	};
}

/* Live records in [from, to]. */
static uint64_t
live_between(MemStore *ms, uint64_t from, uint64_t to)
{
	uint64_t n = 0;
	for (uint64_t seq = from; seq <= to; seq++)
		n += rec_at(ms, seq)->subj != NULL;
	return n;
}

static uint64_t
mem_count(JsStore *s, uint64_t start, const char *filter, bool last_per_subject)
{
	MemStore *ms = mem(s);
	if (ms->msgs == 0 || start > ms->last_seq)
		return 0;
	if (start < ms->first_seq)
		start = ms->first_seq;
	if (filter_is_all(filter) && !last_per_subject) {
		if (start == ms->first_seq)
			return ms->msgs;
		uint64_t gaps = ms->last_seq - ms->first_seq + 1 - ms->msgs;
		if (gaps == 0)
			return ms->last_seq - start + 1;
		/* Walk the shorter side of start. */
		if (start - ms->first_seq < ms->last_seq - start + 1)
			return ms->msgs - live_between(ms, ms->first_seq, start - 1);
		return live_between(ms, start, ms->last_seq);
	}
	GPtrArray *subs = subjects_matching(ms, filter, false);
	uint64_t n = 0;
	for (guint k = 0; k < subs->len; k++) {
		const MemSubj *sj = subs->pdata[k];
		if (last_per_subject)
			n += subj_last(sj) >= start;
		else
			n += sj->count - subj_lower_bound(sj, start);
	}
	g_ptr_array_free(subs, TRUE);
	return n;
}

static uint64_t
mem_subject_count(JsStore *s, const char *subject)
{
	MemSubj *sj = subj_find(mem(s), subject);
	return sj != NULL ? sj->count : 0;
}

static void
mem_subjects(JsStore *s, const char *filter, GArray *out)
{
	GPtrArray *subs = subjects_matching(mem(s), filter, true);
	for (guint k = 0; k < subs->len; k++) {
		const MemSubj *sj = subs->pdata[k];
		JsSubjectCount sc = { g_strdup(sj->subject), sj->count };
		g_array_append_val(out, sc);
	}
	g_ptr_array_free(subs, TRUE);
}

static uint64_t
mem_subject_first(JsStore *s, const char *subject)
{
	MemSubj *sj = subj_find(mem(s), subject);
	return sj != NULL ? subj_first(sj) : 0;
}

static JsStoreStatus
mem_sync(JsStore *s)
{
	(void)s;
	return JS_STORE_OK;
}

static int64_t
mem_next_deadline(JsStore *s)
{
	(void)s;
	return INT64_MAX;
}

static void
mem_on_timer(JsStore *s, int64_t now_ns)
{
	(void)s;
	(void)now_ns;
}

static JsStoreStatus
mem_consumer_save(JsStore *s, const char *consumer, const void *blob, size_t len)
{
	g_tree_replace(mem(s)->consumers, g_strdup(consumer), g_bytes_new(blob, len));
	return JS_STORE_OK;
}

static JsStoreStatus
mem_consumer_load(JsStore *s, const char *consumer, GByteArray *out)
{
	GBytes *b = g_tree_lookup(mem(s)->consumers, consumer);
	if (b == NULL)
		return JS_STORE_NOT_FOUND;
	gsize len;
	const guint8 *data = g_bytes_get_data(b, &len);
	g_byte_array_append(out, data, (guint)len);
	return JS_STORE_OK;
}

static JsStoreStatus
mem_consumer_remove(JsStore *s, const char *consumer)
{
	return g_tree_remove(mem(s)->consumers, consumer) ? JS_STORE_OK : JS_STORE_NOT_FOUND;
}

static gboolean
append_name(gpointer key, gpointer value, gpointer data)
{
	(void)value;
	g_ptr_array_add(data, g_strdup(key));
	return FALSE;
}

static void
mem_consumer_names(JsStore *s, GPtrArray *out)
{
	g_tree_foreach(mem(s)->consumers, append_name, out);
}

static JsStoreStatus
mem_meta_save(JsStore *s, const char *json)
{
	MemStore *ms = mem(s);
	g_free(ms->meta);
	ms->meta = g_strdup(json);
	return JS_STORE_OK;
}

static void
mem_free(JsStore *s)
{
	MemStore *ms = mem(s);
	for (uint64_t k = 0; k < ms->len; k++)
		g_free(ms->ring[(ms->head + k) & (ms->cap - 1)].buf);
	g_free(ms->ring);
	g_hash_table_destroy(ms->subjects);
	g_tree_destroy(ms->consumers);
	g_free(ms->meta);
	g_free(ms->stream);
	g_free(ms);
}

static const JsStoreOps mem_ops = {
	.store = mem_store,
	.skip = mem_skip,
	.load = mem_load,
	.load_next = mem_load_next,
	.load_last = mem_load_last,
	.remove = mem_remove,
	.purge = mem_purge,
	.state = mem_state,
	.count = mem_count,
	.subject_count = mem_subject_count,
	.subjects = mem_subjects,
	.subject_first = mem_subject_first,
	.sync = mem_sync,
	.next_deadline = mem_next_deadline,
	.on_timer = mem_on_timer,
	.consumer_save = mem_consumer_save,
	.consumer_load = mem_consumer_load,
	.consumer_remove = mem_consumer_remove,
	.consumer_names = mem_consumer_names,
	.meta_save = mem_meta_save,
	.destroy_all = mem_free, /* nothing outlives memory */
	.close = mem_free,
};

static int
name_cmp(gconstpointer a, gconstpointer b, gpointer data)
{
	(void)data;
	return strcmp(a, b);
}

JsStore *
js_memstore_create(const JsStoreConfig *config)
{
	MemStore *ms = g_new0(MemStore, 1);
	ms->base.ops = &mem_ops;
	ms->stream = g_strdup(config != NULL ? config->stream : NULL);
	ms->subjects = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, subj_free);
	ms->consumers = g_tree_new_full(name_cmp, NULL, g_free, (GDestroyNotify)g_bytes_unref);
	return &ms->base;
}
