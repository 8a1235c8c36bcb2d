/*
 * test_filestore.c - the JetStream file store (broker/js/filestore.c):
 * the store contract on the simulated disk and on a real directory, the
 * record formats, byte accounting, segments, restarts, and the durability
 * promises under faults - crashes over thousands of seeds with ALWAYS and
 * INTERVAL sync, torn tails, bit flips, a full disk, failing operations.
 *
 * Method: a small reference model (every message ever stored, which are
 * live, the consumer blobs) replays the same random workload; after each
 * restart the store must match it exactly (ALWAYS), or lie between the
 * last synced model and the current one (INTERVAL), or - with bits flipped
 * on the disk - keep every removal and never go back below an acknowledged
 * sequence, losing only what it reports.
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <xxhash.h>

#include "broker/js/filestore_record.h"
#include "broker/js/store.h"
#include "proto/prng.h"
#include "proto/subject.h"
#include "sim/disk.h"
#include "sim/world.h"
#include "tests/js/store_contract.h"

#define STREAM "S"
#define SEG1 "jetstream/S/msgs/1.blk"
#define MARK_BYTES FS_RECORD_OVERHEAD_BYTES

/* ---- environment: a simulated world with one node and its disk ---------- */

typedef struct Env {
	SimWorld *world;
	SimNode *node;
	SimDisk *disk;
	BrokerStorage *st;
} Env;

static void
env_init(Env *env, uint64_t seed, double torn_write_chance)
{
	env->world = sim_world_create(&(SimWorldConfig){ .seed = seed });
	env->node = sim_node_create(env->world, "n", NULL, NULL);
	env->disk = sim_node_disk(env->node);
	env->st = sim_disk_storage(env->disk);
	sim_disk_configure(env->disk, &(SimDiskConfig){ .torn_write_chance = torn_write_chance });
}

static void
env_clear(Env *env)
{
	sim_world_destroy(env->world);
	memset(env, 0, sizeof(*env));
}

static JsStore *
open_on(BrokerStorage *st, JsStoreSync sync, uint64_t block_bytes, int64_t now_ns, char **report)
{
	JsStoreConfig config = {
		.stream = STREAM, .sync = sync, .sync_interval_ns = 50 * SIM_NS_PER_MS, .block_bytes = block_bytes
	};
	JsStoreStatus status = JS_STORE_IO;
	char *local = NULL;
	JsStore *s = js_filestore_open(st, &config, now_ns, report != NULL ? report : &local, &status);
	g_assert_cmpint(status, ==, JS_STORE_OK);
	g_assert_nonnull(s);
	if (report == NULL) {
		if (local != NULL)
			g_test_message("unexpected report: %s", local);
		g_assert_null(local);
	}
	return s;
}

/* A power loss: unsynced data goes (torn per the disk's config), the
 * store's memory is dropped without touching the disk, the node boots. */
static void
env_crash(Env *env, JsStore *s)
{
	sim_node_crash(env->node);
	s->ops->close(s);
	sim_node_restart(env->node);
}

static uint64_t
put(JsStore *s, const char *subject, const char *hdr, const char *data, int64_t ts_ns)
{
	uint64_t seq = 0;
	g_assert_cmpint(s->ops->store(s, subject, strlen(subject), hdr, hdr ? strlen(hdr) : 0, data, strlen(data),
			    ts_ns, &seq),
	    ==, JS_STORE_OK);
	return seq;
}

static JsStoreState
state_of(JsStore *s)
{
	JsStoreState st;
	s->ops->state(s, &st);
	return st;
}

static void
assert_msg(JsStore *s, uint64_t seq, const char *subject, const char *hdr, const char *data)
{
	JsStoredMsg m;
	g_assert_cmpint(s->ops->load(s, seq, &m), ==, JS_STORE_OK);
	g_assert_cmpuint(m.seq, ==, seq);
	g_assert_cmpmem(m.subject, m.subject_len, subject, strlen(subject));
	if (hdr == NULL) {
		g_assert_null(m.hdr);
		g_assert_cmpuint(m.hdr_len, ==, 0);
	} else {
		g_assert_cmpmem(m.hdr, m.hdr_len, hdr, strlen(hdr));
	}
	g_assert_cmpmem(m.data, m.data_len, data, strlen(data));
}

static GByteArray *
read_file(BrokerStorage *st, const char *name)
{
	BrokerStorageFile *f;
	if (st->ops->open(st->ctx, name, 0, &f) != BROKER_STORAGE_OK)
		return NULL;
	uint64_t size = 0;
	st->ops->size(st->ctx, f, &size);
	GByteArray *out = g_byte_array_sized_new((guint)size);
	g_byte_array_set_size(out, (guint)size);
	size_t got = 0;
	st->ops->read(st->ctx, f, 0, out->data, size, &got);
	g_assert_cmpuint(got, ==, size);
	st->ops->close(st->ctx, f);
	return out;
}

static GPtrArray *
list_dir(BrokerStorage *st, const char *dir)
{
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	st->ops->list(st->ctx, dir, names);
	return names;
}

/* ---- the reference model ------------------------------------------------ */

typedef struct MMsg {
	char *subject; /* NULL for a skipped sequence */
	GBytes *hdr;   /* NULL when none */
	GBytes *data;
	int64_t ts_ns;
} MMsg;

typedef struct Model {
	GPtrArray *history; /* index = seq: MMsg* as stored (owned) */
	GByteArray *live;   /* index = seq: 1 while stored */
	uint64_t last_seq;
	int64_t last_ts_ns;
	GHashTable *consumers; /* name -> GBytes */
	GHashTable *consumers_removed; /* names removed since the last snapshot */
	GHashTable *consumers_created; /* name -> GBytes: created since the last snapshot, first state */
	GByteArray *uncertain; /* index = seq: a failed removal, either outcome allowed */
	GByteArray *lost;      /* index = seq: lost to damage, not removed (may come back whole) */
} Model;

static void
mmsg_free(gpointer p)
{
	MMsg *m = p;
	if (m == NULL)
		return;
	g_free(m->subject);
	if (m->hdr != NULL)
		g_bytes_unref(m->hdr);
	if (m->data != NULL)
		g_bytes_unref(m->data);
	g_free(m);
}

static void
model_init(Model *m)
{
	m->history = g_ptr_array_new_with_free_func(mmsg_free);
	g_ptr_array_add(m->history, NULL); /* seq 0 */
	m->live = g_byte_array_new();
	g_byte_array_set_size(m->live, 1);
	m->live->data[0] = 0;
	m->last_seq = 0;
	m->last_ts_ns = 0;
	m->consumers = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_bytes_unref);
	m->consumers_removed = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	m->consumers_created = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_bytes_unref);
	m->uncertain = g_byte_array_new();
	m->lost = g_byte_array_new();
}

static void
model_clear(Model *m)
{
	g_ptr_array_free(m->history, TRUE);
	g_byte_array_free(m->live, TRUE);
	g_hash_table_destroy(m->consumers);
	g_hash_table_destroy(m->consumers_removed);
	g_hash_table_destroy(m->consumers_created);
	g_byte_array_free(m->uncertain, TRUE);
	g_byte_array_free(m->lost, TRUE);
}

static GHashTable *
consumers_copy(GHashTable *from)
{
	GHashTable *to = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_bytes_unref);
	GHashTableIter it;
	gpointer k, v;
	g_hash_table_iter_init(&it, from);
	while (g_hash_table_iter_next(&it, &k, &v))
		g_hash_table_insert(to, g_strdup(k), g_bytes_ref(v));
	return to;
}

static bool
mlive(const Model *m, uint64_t seq)
{
	return seq > 0 && seq <= m->last_seq && m->live->data[seq] != 0;
}

static MMsg *
mmsg(const Model *m, uint64_t seq)
{
	return m->history->pdata[seq];
}

static void
model_assign(Model *m, MMsg *msg)
{
	g_ptr_array_add(m->history, msg);
	uint8_t flag = msg->subject != NULL;
	g_byte_array_append(m->live, &flag, 1);
	m->last_seq++;
	m->last_ts_ns = msg->ts_ns;
	g_assert_cmpuint(m->history->len, ==, m->last_seq + 1);
}

static bool
filter_matches(const char *filter, const char *subject)
{
	if (filter == NULL || strcmp(filter, ">") == 0)
		return true;
	return proto_subject_matches(filter, strlen(filter), subject, strlen(subject));
}

/* The memory store's purge semantics: keep the newest `keep` matching,
 * remove older matching ones below upto. */
static uint64_t
model_purge(Model *m, const char *filter, uint64_t upto, uint64_t keep)
{
	uint64_t matching = 0;
	for (uint64_t seq = 1; seq <= m->last_seq; seq++)
		matching += mlive(m, seq) && filter_matches(filter, mmsg(m, seq)->subject);
	if (matching <= keep)
		return 0;
	uint64_t quota = matching - keep, n = 0;
	for (uint64_t seq = 1; seq <= m->last_seq && quota > 0; seq++) {
		if (!mlive(m, seq) || !filter_matches(filter, mmsg(m, seq)->subject))
			continue;
		if (upto > 0 && seq >= upto)
			break;
		m->live->data[seq] = 0;
		quota--;
		n++;
	}
	return n;
}

static uint64_t
model_first_seq(const Model *m)
{
	for (uint64_t seq = 1; seq <= m->last_seq; seq++)
		if (mlive(m, seq))
			return seq;
	return m->last_seq == 0 ? 0 : m->last_seq + 1;
}

static void
assert_stored_equals(const JsStoredMsg *got, const MMsg *want)
{
	g_assert_cmpmem(got->subject, got->subject_len, want->subject, strlen(want->subject));
	gsize n = 0;
	const void *p = want->hdr ? g_bytes_get_data(want->hdr, &n) : NULL;
	if (want->hdr == NULL) {
		g_assert_null(got->hdr);
		g_assert_cmpuint(got->hdr_len, ==, 0);
	} else {
		g_assert_cmpmem(got->hdr, got->hdr_len, p, n);
	}
	p = g_bytes_get_data(want->data, &n);
	g_assert_cmpmem(got->data, got->data_len, p, n);
	g_assert_cmpint(got->ts_ns, ==, want->ts_ns);
}

static const char *const subjects_used[] = { "s.0", "s.1", "s.2", "s.3", "t.a.x", "t.b.x", "u" };
static const char *const filters_used[] = { NULL, ">", "s.*", "s.1", "t.>", "t.*.x", "u", "none", "*" };

/* The store answers every question exactly as the model does (a failed
 * removal counts as whichever outcome the store shows). */
static void
model_check(Model *m, JsStore *s)
{
	for (uint64_t seq = 1; seq < m->uncertain->len; seq++) {
		JsStoredMsg got;
		if (m->uncertain->data[seq] && seq <= m->last_seq)
			m->live->data[seq] = s->ops->load(s, seq, &got) == JS_STORE_OK;
	}
	g_byte_array_set_size(m->uncertain, 0);
	JsStoreState st = state_of(s);
	uint64_t msgs = 0, bytes = 0;
	for (uint64_t seq = 1; seq <= m->last_seq; seq++) {
		if (!mlive(m, seq))
			continue;
		const MMsg *x = mmsg(m, seq);
		msgs++;
		bytes += js_filestore_msg_bytes(strlen(x->subject), x->hdr ? g_bytes_get_size(x->hdr) : 0,
		    g_bytes_get_size(x->data));
	}
	uint64_t first = model_first_seq(m);
	g_assert_cmpuint(st.msgs, ==, msgs);
	g_assert_cmpuint(st.bytes, ==, bytes);
	g_assert_cmpuint(st.first_seq, ==, first);
	g_assert_cmpuint(st.last_seq, ==, m->last_seq);
	g_assert_cmpint(st.last_ts_ns, ==, m->last_ts_ns);
	g_assert_cmpuint(st.num_deleted, ==, msgs > 0 ? m->last_seq - first + 1 - msgs : 0);
	g_assert_cmpint(st.first_ts_ns, ==, msgs > 0 ? mmsg(m, first)->ts_ns : 0);
	for (uint64_t seq = 0; seq <= m->last_seq + 1; seq++) {
		JsStoredMsg got;
		JsStoreStatus status = s->ops->load(s, seq, &got);
		if (mlive(m, seq)) {
			g_assert_cmpint(status, ==, JS_STORE_OK);
			g_assert_cmpuint(got.seq, ==, seq);
			assert_stored_equals(&got, mmsg(m, seq));
		} else {
			g_assert_cmpint(status, ==, seq == 0 || seq > m->last_seq ? JS_STORE_NOT_FOUND : JS_STORE_DELETED);
		}
	}
	uint64_t num_subjects = 0;
	for (size_t k = 0; k < G_N_ELEMENTS(subjects_used); k++) {
		const char *subj = subjects_used[k];
		uint64_t count = 0, sfirst = 0, slast = 0;
		for (uint64_t seq = 1; seq <= m->last_seq; seq++) {
			if (mlive(m, seq) && strcmp(mmsg(m, seq)->subject, subj) == 0) {
				count++;
				sfirst = sfirst ? sfirst : seq;
				slast = seq;
			}
		}
		num_subjects += count > 0;
		g_assert_cmpuint(s->ops->subject_count(s, subj), ==, count);
		g_assert_cmpuint(s->ops->subject_first(s, subj), ==, sfirst);
		JsStoredMsg got;
		JsStoreStatus status = s->ops->load_last(s, subj, &got);
		g_assert_cmpint(status, ==, slast ? JS_STORE_OK : JS_STORE_NOT_FOUND);
		if (slast)
			g_assert_cmpuint(got.seq, ==, slast);
	}
	g_assert_cmpuint(st.num_subjects, ==, num_subjects);
	uint64_t mid = m->last_seq / 2 + 1;
	for (size_t k = 0; k < G_N_ELEMENTS(filters_used); k++) {
		const char *f = filters_used[k];
		uint64_t from_start = 0, from_mid = 0, next_mid = 0, last = 0, per_subject = 0;
		GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);
		for (uint64_t seq = 1; seq <= m->last_seq; seq++) {
			if (!mlive(m, seq) || !filter_matches(f, mmsg(m, seq)->subject))
				continue;
			from_start++;
			if (seq >= mid) {
				from_mid++;
				next_mid = next_mid ? next_mid : seq;
			}
			last = seq;
		}
		for (uint64_t seq = m->last_seq; seq >= mid && seq > 0; seq--) {
			if (!mlive(m, seq) || !filter_matches(f, mmsg(m, seq)->subject))
				continue;
			if (!g_hash_table_contains(seen, mmsg(m, seq)->subject)) {
				g_hash_table_add(seen, mmsg(m, seq)->subject);
				per_subject++;
			}
		}
		g_hash_table_destroy(seen);
		g_assert_cmpuint(s->ops->count(s, 1, f, false), ==, from_start);
		g_assert_cmpuint(s->ops->count(s, mid, f, false), ==, from_mid);
		g_assert_cmpuint(s->ops->count(s, mid, f, true), ==, per_subject);
		JsStoredMsg got;
		JsStoreStatus status = s->ops->load_next(s, f, mid, &got);
		g_assert_cmpint(status, ==, next_mid ? JS_STORE_OK : JS_STORE_NOT_FOUND);
		if (next_mid) {
			g_assert_cmpuint(got.seq, ==, next_mid);
			assert_stored_equals(&got, mmsg(m, next_mid));
		}
		status = s->ops->load_last(s, f, &got);
		g_assert_cmpint(status, ==, last ? JS_STORE_OK : JS_STORE_NOT_FOUND);
		if (last)
			g_assert_cmpuint(got.seq, ==, last);
		GArray *list = g_array_new(FALSE, FALSE, sizeof(JsSubjectCount));
		s->ops->subjects(s, f, list);
		uint64_t listed = 0;
		for (guint j = 0; j < list->len; j++) {
			JsSubjectCount *sc = &g_array_index(list, JsSubjectCount, j);
			if (j > 0)
				g_assert_cmpstr(g_array_index(list, JsSubjectCount, j - 1).subject, <, sc->subject);
			g_assert_true(filter_matches(f, sc->subject));
			g_assert_cmpuint(sc->count, ==, s->ops->subject_count(s, sc->subject));
			listed += sc->count;
		}
		for (guint j = 0; j < list->len; j++)
			g_free(g_array_index(list, JsSubjectCount, j).subject);
		g_assert_cmpuint(listed, ==, from_start);
		g_array_free(list, TRUE);
	}
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	s->ops->consumer_names(s, names);
	g_assert_cmpuint(names->len, ==, g_hash_table_size(m->consumers));
	GByteArray *blob = g_byte_array_new();
	for (guint k = 0; k < names->len; k++) {
		GBytes *want = g_hash_table_lookup(m->consumers, names->pdata[k]);
		g_assert_nonnull(want);
		g_byte_array_set_size(blob, 0);
		g_assert_cmpint(s->ops->consumer_load(s, names->pdata[k], blob), ==, JS_STORE_OK);
		gsize n;
		const void *p = g_bytes_get_data(want, &n);
		g_assert_cmpmem(blob->data, blob->len, p, n);
		if (k > 0)
			g_assert_cmpstr(names->pdata[k - 1], <, names->pdata[k]);
	}
	g_byte_array_free(blob, TRUE);
	g_ptr_array_free(names, TRUE);
}

/* ---- random workloads ----------------------------------------------------- */

static GBytes *
random_bytes(Prng *prng, size_t max_len)
{
	size_t len = (size_t)prng_below(prng, max_len + 1);
	uint8_t *p = g_malloc(len + 1);
	for (size_t k = 0; k < len; k++)
		p[k] = (uint8_t)prng_next(prng);
	return g_bytes_new_take(p, len);
}

/* One random operation on both the store and the model; every operation
 * must succeed (no faults are injected here). */
static void
workload_step(Prng *prng, Model *m, JsStore *s, int64_t now_ns)
{
	uint64_t r = prng_below(prng, 100);
	if (r < 55) {
		MMsg *x = g_new0(MMsg, 1);
		x->subject = g_strdup(subjects_used[prng_below(prng, G_N_ELEMENTS(subjects_used))]);
		if (prng_chance(prng, 0.3))
			x->hdr = random_bytes(prng, 40);
		if (x->hdr != NULL && g_bytes_get_size(x->hdr) == 0) {
			g_bytes_unref(x->hdr);
			x->hdr = NULL;
		}
		x->data = random_bytes(prng, prng_chance(prng, 0.1) ? 600 : 60);
		x->ts_ns = now_ns;
		gsize hn = 0, dn = 0;
		const void *h = x->hdr ? g_bytes_get_data(x->hdr, &hn) : NULL;
		const void *d = g_bytes_get_data(x->data, &dn);
		uint64_t seq = 0;
		g_assert_cmpint(s->ops->store(s, x->subject, strlen(x->subject), h, hn, dn ? d : NULL, dn, now_ns, &seq),
		    ==, JS_STORE_OK);
		model_assign(m, x);
		g_assert_cmpuint(seq, ==, m->last_seq);
	} else if (r < 60) {
		uint64_t seq = 0;
		g_assert_cmpint(s->ops->skip(s, now_ns, &seq), ==, JS_STORE_OK);
		MMsg *x = g_new0(MMsg, 1);
		x->ts_ns = now_ns;
		model_assign(m, x);
		g_assert_cmpuint(seq, ==, m->last_seq);
	} else if (r < 78) {
		if (m->last_seq == 0)
			return;
		uint64_t seq = 1 + prng_below(prng, m->last_seq);
		bool erase = prng_chance(prng, 0.3);
		JsStoreStatus want = mlive(m, seq) ? JS_STORE_OK : JS_STORE_DELETED;
		g_assert_cmpint(s->ops->remove(s, seq, erase), ==, want);
		m->live->data[seq] = 0;
	} else if (r < 82) {
		const char *f = filters_used[prng_below(prng, G_N_ELEMENTS(filters_used))];
		uint64_t upto = prng_chance(prng, 0.5) ? 0 : prng_below(prng, m->last_seq + 2);
		uint64_t keep = prng_chance(prng, 0.5) ? 0 : prng_below(prng, 4);
		uint64_t purged = 99;
		g_assert_cmpint(s->ops->purge(s, f, upto, keep, &purged), ==, JS_STORE_OK);
		g_assert_cmpuint(purged, ==, model_purge(m, f, upto, keep));
	} else if (r < 92) {
		char name[8];
		g_snprintf(name, sizeof(name), "c%u", (unsigned)prng_below(prng, 4));
		GBytes *blob = random_bytes(prng, 50);
		gsize n;
		const void *p = g_bytes_get_data(blob, &n);
		g_assert_cmpint(s->ops->consumer_save(s, name, p, n), ==, JS_STORE_OK);
		if (!g_hash_table_contains(m->consumers, name)) /* a creation: durable at once */
			g_hash_table_replace(m->consumers_created, g_strdup(name), g_bytes_ref(blob));
		g_hash_table_replace(m->consumers, g_strdup(name), blob);
	} else if (r < 95) {
		char name[8];
		g_snprintf(name, sizeof(name), "c%u", (unsigned)prng_below(prng, 4));
		JsStoreStatus want = g_hash_table_contains(m->consumers, name) ? JS_STORE_OK : JS_STORE_NOT_FOUND;
		g_assert_cmpint(s->ops->consumer_remove(s, name), ==, want);
		g_hash_table_remove(m->consumers, name);
		g_hash_table_remove(m->consumers_created, name);
		g_hash_table_add(m->consumers_removed, g_strdup(name));
	} else {
		char json[64];
		g_snprintf(json, sizeof(json), "{\"name\":\"S\",\"n\":%" G_GUINT64_FORMAT "}", m->last_seq);
		g_assert_cmpint(s->ops->meta_save(s, json), ==, JS_STORE_OK);
	}
}

static const uint64_t block_choices[] = { 120, 300, 1000, 0 };

/* ---- the contract, on the simulated disk and on a real directory ---------- */

typedef struct ContractCtx {
	Env env;
	char *dir;
	BrokerStorage *posix;
	JsStoreSync sync;
	uint64_t block_bytes;
} ContractCtx;

static BrokerStorage *
contract_storage(ContractCtx *c)
{
	if (c->posix != NULL)
		return c->posix;
	if (c->dir == NULL && c->env.world == NULL)
		env_init(&c->env, 7, 0);
	return c->env.st;
}

static JsStore *
contract_open(void *ctx, const char *stream)
{
	ContractCtx *c = ctx;
	if (c->dir != NULL && c->posix == NULL) {
		GError *error = NULL;
		c->posix = broker_storage_posix_create(c->dir, &error);
		g_assert_no_error(error);
	}
	JsStoreConfig config = { .stream = stream, .sync = c->sync, .block_bytes = c->block_bytes };
	JsStoreStatus status;
	char *report = NULL;
	JsStore *s = js_filestore_open(contract_storage(c), &config, 0, &report, &status);
	g_assert_null(report);
	g_assert_cmpint(status, ==, JS_STORE_OK);
	return s;
}

static JsStore *
contract_reopen(void *ctx, JsStore *store, const char *stream)
{
	store->ops->close(store);
	return contract_open(ctx, stream);
}

static void
contract_cleanup(void *ctx)
{
	ContractCtx *c = ctx;
	if (c->posix != NULL) {
		/* destroy_all left nothing behind, not even directories */
		GPtrArray *left = list_dir(c->posix, "");
		g_assert_cmpuint(left->len, ==, 0);
		g_ptr_array_free(left, TRUE);
		broker_storage_posix_destroy(c->posix);
		c->posix = NULL;
	}
	if (c->env.world != NULL) {
		g_assert_cmpuint(sim_disk_used_bytes(c->env.disk), ==, 0);
		env_clear(&c->env);
	}
}

/* ---- format and accounting -------------------------------------------------- */

/* NATS-SPEC §2.3 (nats-server fileStoreMsgSizeRaw): len(subj)+len(msg)+30
 * without headers, len(subj)+len(hdr)+len(msg)+34 with; the state's bytes
 * are the sum over stored messages, also after a removal and a restart. */
static void
test_msg_bytes(void)
{
	g_assert_cmpuint(js_filestore_msg_bytes(3, 0, 5), ==, 38);
	g_assert_cmpuint(js_filestore_msg_bytes(3, 10, 5), ==, 52);
	g_assert_cmpuint(js_filestore_msg_bytes(1, 0, 0), ==, 31);
	Env env;
	env_init(&env, 1, 0);
	JsStore *s = open_on(env.st, JS_STORE_SYNC_ALWAYS, 0, 0, NULL);
	put(s, "foo", NULL, "hello", 1);
	put(s, "foo", "NATS/1.0\r\n\r\n", "hello", 2);
	g_assert_cmpuint(state_of(s).bytes, ==, 38 + js_filestore_msg_bytes(3, 12, 5));
	s->ops->remove(s, 1, false);
	g_assert_cmpuint(state_of(s).bytes, ==, js_filestore_msg_bytes(3, 12, 5));
	s->ops->close(s);
	s = open_on(env.st, JS_STORE_SYNC_ALWAYS, 0, 0, NULL);
	g_assert_cmpuint(state_of(s).bytes, ==, js_filestore_msg_bytes(3, 12, 5));
	s->ops->destroy_all(s);
	env_clear(&env);
}

/* Records round-trip; every single flipped bit and every truncation of a
 * record is caught by the parser. */
static void
test_record_format(void)
{
	GByteArray *buf = g_byte_array_new();
	const uint8_t hdr[] = "NATS/1.0\r\nA: b\r\n\r\n";
	fs_record_encode(buf, &(FsRecord){ .kind = FS_RECORD_MSG, .seq = 42, .ts_ns = -7, .subject = "a.b",
				      .subject_len = 3, .hdr = hdr, .hdr_len = sizeof(hdr) - 1, .data = (const uint8_t *)"xyz",
				      .data_len = 3 });
	g_assert_cmpuint(buf->len, ==, fs_record_bytes(3, sizeof(hdr) - 1, 3));
	FsRecord rec;
	g_assert_cmpint(fs_record_parse(buf->data, buf->len, &rec), ==, FS_PARSE_OK);
	g_assert_cmpint(rec.kind, ==, FS_RECORD_MSG);
	g_assert_cmpuint(rec.seq, ==, 42);
	g_assert_cmpint(rec.ts_ns, ==, -7);
	g_assert_cmpmem(rec.subject, rec.subject_len, "a.b", 3);
	g_assert_cmpmem(rec.hdr, rec.hdr_len, hdr, sizeof(hdr) - 1);
	g_assert_cmpmem(rec.data, rec.data_len, "xyz", 3);
	for (size_t bit = 0; bit < buf->len * 8; bit++) {
		buf->data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		g_assert_cmpint(fs_record_parse(buf->data, buf->len, &rec), !=, FS_PARSE_OK);
		buf->data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	for (size_t len = 0; len < buf->len; len++)
		g_assert_cmpint(fs_record_parse(buf->data, len, &rec), ==, FS_PARSE_SHORT);
	/* the other kinds carry no body */
	for (FsRecordKind kind = FS_RECORD_SKIP; kind < FS_RECORD_KIND_END; kind++) {
		if (kind == FS_RECORD_ERASED)
			continue;
		g_byte_array_set_size(buf, 0);
		fs_record_encode(buf, &(FsRecord){ .kind = kind, .seq = 9, .ts_ns = 5 });
		g_assert_cmpuint(buf->len, ==, FS_RECORD_OVERHEAD_BYTES);
		g_assert_cmpint(fs_record_parse(buf->data, buf->len, &rec), ==, FS_PARSE_OK);
		g_assert_cmpint(rec.kind, ==, kind);
		g_assert_cmpuint(rec.seq, ==, 9);
	}
	/* an erased record keeps its length, body zeroed */
	g_byte_array_set_size(buf, 0);
	fs_record_encode(buf, &(FsRecord){ .kind = FS_RECORD_ERASED, .seq = 3, .subject_len = 2, .data_len = 5 });
	g_assert_cmpuint(buf->len, ==, FS_RECORD_OVERHEAD_BYTES + 7);
	g_assert_cmpint(fs_record_parse(buf->data, buf->len, &rec), ==, FS_PARSE_OK);
	for (size_t k = FS_RECORD_HEADER_BYTES; k < FS_RECORD_HEADER_BYTES + 7; k++)
		g_assert_cmpuint(buf->data[k], ==, 0);
	g_byte_array_free(buf, TRUE);
}

/* A MSG rewritten in place as ERASED by its frame alone (header and
 * checksum, the old body left): it parses as ERASED with its lengths; any
 * flipped bit of the header or the checksum makes it unreadable - never a
 * MSG - while its body is outside the checksum; erased_frame and encode
 * agree on a zeroed body. */
static void
test_erased_frame(void)
{
	GByteArray *buf = g_byte_array_new();
	fs_record_encode(buf, &(FsRecord){ .kind = FS_RECORD_MSG, .seq = 7, .ts_ns = 70, .subject = "s.1",
				      .subject_len = 3, .hdr = (const uint8_t *)"HDR", .hdr_len = 3,
				      .data = (const uint8_t *)"payload", .data_len = 7 });
	uint8_t frame[FS_RECORD_OVERHEAD_BYTES];
	fs_record_erased_frame(frame, 7, 70, 3, 10);
	memcpy(buf->data, frame, FS_RECORD_HEADER_BYTES);
	memcpy(buf->data + buf->len - FS_RECORD_CHECKSUM_BYTES, frame + FS_RECORD_HEADER_BYTES,
	    FS_RECORD_CHECKSUM_BYTES);
	FsRecord rec;
	g_assert_cmpint(fs_record_parse(buf->data, buf->len, &rec), ==, FS_PARSE_OK);
	g_assert_cmpint(rec.kind, ==, FS_RECORD_ERASED);
	g_assert_cmpuint(rec.seq, ==, 7);
	g_assert_cmpuint(rec.record_bytes, ==, buf->len);
	for (size_t bit = 0; bit < buf->len * 8; bit++) {
		buf->data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		FsParseResult r = fs_record_parse(buf->data, buf->len, &rec);
		bool body = bit / 8 >= FS_RECORD_HEADER_BYTES && bit / 8 < buf->len - FS_RECORD_CHECKSUM_BYTES;
		if (body) {
			g_assert_cmpint(r, ==, FS_PARSE_OK);
			g_assert_cmpint(rec.kind, ==, FS_RECORD_ERASED);
		} else {
			g_assert_cmpint(r, !=, FS_PARSE_OK);
		}
		buf->data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	GByteArray *zeroed = g_byte_array_new();
	fs_record_encode(zeroed, &(FsRecord){ .kind = FS_RECORD_ERASED, .seq = 7, .ts_ns = 70, .subject_len = 3,
					 .data_len = 10 });
	g_assert_cmpmem(zeroed->data, FS_RECORD_HEADER_BYTES, frame, FS_RECORD_HEADER_BYTES);
	g_assert_cmpmem(zeroed->data + zeroed->len - FS_RECORD_CHECKSUM_BYTES, FS_RECORD_CHECKSUM_BYTES,
	    frame + FS_RECORD_HEADER_BYTES, FS_RECORD_CHECKSUM_BYTES);
	g_byte_array_free(zeroed, TRUE);
	g_byte_array_free(buf, TRUE);
}

/* Recovery counts the sequences of damaged records at a segment's end by
 * their lengths: for every single flipped bit of a record - in its header
 * too, whose check fails and which is repaired - fs_record_damaged_bytes
 * gives the record's true length, also when another record follows (a
 * length flipped to reach the end of the bytes must not swallow it), for
 * MSG and ERASED records; a record cut short is SHORT only with its
 * header whole and checked. */
static void
test_damaged_record_length(void)
{
	for (int erased = 0; erased <= 1; erased++) {
		GByteArray *buf = g_byte_array_new();
		FsRecordKind kind = erased ? FS_RECORD_ERASED : FS_RECORD_MSG;
		fs_record_encode(buf, &(FsRecord){ .kind = kind, .seq = 5, .ts_ns = 9, .subject = "a.b", .subject_len = 3,
					      .data = (const uint8_t *)"0123456789abcdef", .data_len = 16 });
		guint first = buf->len;
		fs_record_encode(buf, &(FsRecord){ .kind = FS_RECORD_SKIP, .seq = 6 });
		for (size_t bit = 0; bit < first * 8; bit++) {
			buf->data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			FsRecord rec;
			FsParseResult r = fs_record_parse(buf->data, buf->len, &rec);
			if (r == FS_PARSE_OK) /* the body of an ERASED record is not checked */
				g_assert_true(erased && bit / 8 >= FS_RECORD_HEADER_BYTES);
			else
				g_assert_cmpint(r, !=, FS_PARSE_SHORT);
			g_assert_cmpuint(fs_record_damaged_bytes(buf->data, buf->len), ==, first);
			g_assert_cmpuint(fs_record_damaged_bytes(buf->data, first), ==, first);
			buf->data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		}
		g_byte_array_free(buf, TRUE);
	}
	/* a torn record: whole checked header, lengths past the end */
	GByteArray *buf = g_byte_array_new();
	fs_record_encode(buf, &(FsRecord){ .kind = FS_RECORD_MSG, .seq = 5, .subject = "a", .subject_len = 1,
				      .data = (const uint8_t *)"xyz", .data_len = 3 });
	FsRecord rec;
	g_assert_cmpint(fs_record_parse(buf->data, buf->len - 1, &rec), ==, FS_PARSE_SHORT);
	buf->data[1] ^= 0x01; /* the length now reaches past the end: the header check says damaged */
	g_assert_cmpint(fs_record_parse(buf->data, buf->len, &rec), ==, FS_PARSE_BAD_HEADER);
	buf->data[33] ^= 0x01; /* data_len too: the lengths agree, reaching past the end; */
	/* without the header check this would pass for a torn write */
	g_assert_cmpint(fs_record_parse(buf->data, buf->len, &rec), ==, FS_PARSE_BAD_HEADER);
	g_byte_array_free(buf, TRUE);
}

/* Turns a freshly encoded record into a version-1 one, as written before
 * the header check: version 1, check field 0, checksum over everything. */
static void
record_make_v1(uint8_t *p, size_t len)
{
	p[6] = 1;
	p[26] = 0;
	p[27] = 0;
	uint64_t sum = GUINT64_TO_LE(XXH3_64bits(p, len - FS_RECORD_CHECKSUM_BYTES));
	memcpy(p + len - FS_RECORD_CHECKSUM_BYTES, &sum, sizeof(sum));
}

/* Segments written by the previous version (version-1 records, DELETE and
 * PURGE_BELOW tombstones, ERASED checksummed whole) are still read: the
 * removals they record hold, and new records follow them. */
static void
test_legacy_records(void)
{
	Env env;
	env_init(&env, 21, 0);
	GByteArray *file = g_byte_array_new();
	const FsRecord recs[] = {
		{ .kind = FS_RECORD_MARK, .seq = 0 },
		{ .kind = FS_RECORD_MSG, .seq = 1, .ts_ns = 1, .subject = "a", .subject_len = 1,
		    .data = (const uint8_t *)"one", .data_len = 3 },
		{ .kind = FS_RECORD_MSG, .seq = 2, .ts_ns = 2, .subject = "a", .subject_len = 1,
		    .data = (const uint8_t *)"two", .data_len = 3 },
		{ .kind = FS_RECORD_ERASED, .seq = 3, .ts_ns = 3, .subject_len = 1, .data_len = 5 },
		{ .kind = FS_RECORD_MSG, .seq = 4, .ts_ns = 4, .subject = "b", .subject_len = 1,
		    .data = (const uint8_t *)"four", .data_len = 4 },
		{ .kind = FS_RECORD_MSG, .seq = 5, .ts_ns = 5, .subject = "b", .subject_len = 1,
		    .data = (const uint8_t *)"five", .data_len = 4 },
		{ .kind = FS_RECORD_MSG, .seq = 6, .ts_ns = 6, .subject = "c", .subject_len = 1,
		    .data = (const uint8_t *)"six", .data_len = 3 },
		{ .kind = FS_RECORD_PURGE_BELOW, .seq = 3 },
		{ .kind = FS_RECORD_DELETE, .seq = 5 },
	};
	for (size_t k = 0; k < G_N_ELEMENTS(recs); k++) {
		guint at = file->len;
		fs_record_encode(file, &recs[k]);
		record_make_v1(file->data + at, file->len - at);
	}
	BrokerStorageFile *f;
	g_assert_cmpint(env.st->ops->open(env.st->ctx, SEG1, BROKER_STORAGE_CREATE, &f), ==, BROKER_STORAGE_OK);
	env.st->ops->append(env.st->ctx, f, file->data, file->len);
	env.st->ops->sync(env.st->ctx, f);
	env.st->ops->close(env.st->ctx, f);
	g_byte_array_free(file, TRUE);
	JsStore *s = open_on(env.st, JS_STORE_SYNC_ALWAYS, 0, 0, NULL);
	JsStoreState st = state_of(s);
	g_assert_cmpuint(st.msgs, ==, 2);
	g_assert_cmpuint(st.first_seq, ==, 4);
	g_assert_cmpuint(st.last_seq, ==, 6);
	JsStoredMsg m;
	for (uint64_t seq = 1; seq <= 5; seq++)
		if (seq != 4)
			g_assert_cmpint(s->ops->load(s, seq, &m), ==, JS_STORE_DELETED);
	assert_msg(s, 4, "b", NULL, "four");
	assert_msg(s, 6, "c", NULL, "six");
	g_assert_cmpuint(put(s, "d", NULL, "seven", 7), ==, 7);
	g_assert_cmpint(s->ops->remove(s, 6, false), ==, JS_STORE_OK);
	s->ops->close(s);
	s = open_on(env.st, JS_STORE_SYNC_ALWAYS, 0, 0, NULL);
	st = state_of(s);
	g_assert_cmpuint(st.msgs, ==, 2);
	g_assert_cmpuint(st.last_seq, ==, 7);
	assert_msg(s, 7, "d", NULL, "seven");
	g_assert_cmpint(s->ops->load(s, 6, &m), ==, JS_STORE_DELETED);
	s->ops->destroy_all(s);
	env_clear(&env);
}

/* Consumer blobs and meta.json: exact round trip, any flip rejected. */
static void
test_small_file_formats(void)
{
	GByteArray *buf = g_byte_array_new();
	fs_blob_encode(buf, "state!", 6);
	const uint8_t *blob;
	size_t len;
	g_assert_true(fs_blob_parse(buf->data, buf->len, &blob, &len));
	g_assert_cmpmem(blob, len, "state!", 6);
	for (size_t bit = 0; bit < buf->len * 8; bit++) {
		buf->data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		g_assert_false(fs_blob_parse(buf->data, buf->len, &blob, &len));
		buf->data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	g_assert_false(fs_blob_parse(buf->data, buf->len - 1, &blob, &len));
	g_byte_array_free(buf, TRUE);
	const char *json = "{\n  \"name\": \"ORDERS\",\n  \"subjects\": [\"o.>\"]\n}";
	GString *text = g_string_new(NULL);
	fs_meta_encode(text, json);
	g_assert_true(g_str_has_prefix(text->str, "{\"xxh3\":\""));
	char *back = fs_meta_parse((const uint8_t *)text->str, text->len);
	g_assert_cmpstr(back, ==, json);
	g_free(back);
	for (size_t k = 0; k < text->len; k++) {
		text->str[k] ^= 0x04;
		back = fs_meta_parse((const uint8_t *)text->str, text->len);
		g_assert_null(back);
		text->str[k] ^= 0x04;
	}
	g_string_free(text, TRUE);
}

/* ---- sequences, segments, restart ---------------------------------------------- */

/* store.h's sequence rules survive restarts: 0/0 when never used, skip on
 * an empty store moves first past it, purge leaves first = last+1, and an
 * emptied store keeps last_seq and last_ts across a restart. */
static void
test_sequences(void)
{
	Env env;
	env_init(&env, 2, 0);
	JsStore *s = open_on(env.st, JS_STORE_SYNC_ALWAYS, 0, 0, NULL);
	JsStoreState st = state_of(s);
	g_assert_cmpuint(st.first_seq, ==, 0);
	g_assert_cmpuint(st.last_seq, ==, 0);
	s->ops->close(s);
	s = open_on(env.st, JS_STORE_SYNC_ALWAYS, 0, 0, NULL);
	g_assert_cmpuint(state_of(s).last_seq, ==, 0);
	uint64_t seq;
	g_assert_cmpint(s->ops->skip(s, 5, &seq), ==, JS_STORE_OK);
	g_assert_cmpuint(seq, ==, 1);
	st = state_of(s);
	g_assert_cmpuint(st.first_seq, ==, 2);
	g_assert_cmpuint(st.last_seq, ==, 1);
	g_assert_cmpint(st.last_ts_ns, ==, 5);
	s->ops->close(s);
	s = open_on(env.st, JS_STORE_SYNC_ALWAYS, 0, 0, NULL);
	st = state_of(s);
	g_assert_cmpuint(st.first_seq, ==, 2);
	g_assert_cmpuint(st.last_seq, ==, 1);
	g_assert_cmpint(st.last_ts_ns, ==, 5);
	g_assert_cmpuint(put(s, "a", NULL, "x", 10), ==, 2);
	g_assert_cmpuint(put(s, "a", NULL, "y", 11), ==, 3);
	g_assert_cmpint(s->ops->skip(s, 12, &seq), ==, JS_STORE_OK);
	st = state_of(s);
	g_assert_cmpuint(st.first_seq, ==, 2);
	g_assert_cmpuint(st.num_deleted, ==, 1); /* the interior skip at 4 */
	uint64_t purged;
	g_assert_cmpint(s->ops->purge(s, NULL, 0, 0, &purged), ==, JS_STORE_OK);
	g_assert_cmpuint(purged, ==, 2);
	st = state_of(s);
	g_assert_cmpuint(st.first_seq, ==, 5);
	g_assert_cmpuint(st.last_seq, ==, 4);
	s->ops->close(s);
	s = open_on(env.st, JS_STORE_SYNC_ALWAYS, 0, 0, NULL);
	st = state_of(s);
	g_assert_cmpuint(st.msgs, ==, 0);
	g_assert_cmpuint(st.first_seq, ==, 5);
	g_assert_cmpuint(st.last_seq, ==, 4);
	g_assert_cmpint(st.last_ts_ns, ==, 12);
	g_assert_cmpint(st.first_ts_ns, ==, 0);
	JsStoredMsg m;
	g_assert_cmpint(s->ops->load(s, 2, &m), ==, JS_STORE_DELETED);
	g_assert_cmpint(s->ops->load(s, 5, &m), ==, JS_STORE_NOT_FOUND);
	g_assert_cmpuint(put(s, "b", NULL, "z", 20), ==, 5);
	s->ops->destroy_all(s);
	env_clear(&env);
}

static uint64_t
segment_count(BrokerStorage *st)
{
	GPtrArray *names = list_dir(st, "jetstream/S/msgs");
	uint64_t n = names->len;
	g_ptr_array_free(names, TRUE);
	return n;
}

/* Segments roll at block_bytes (limit-1, limit, limit+1), are named by
 * their first sequence, go as files when their last message goes, and a
 * purge of everything leaves one fresh segment named last+1. */
static void
test_segments(void)
{
	/* "x" with 1 byte of data: 46-byte records; MARK 44 */
	const uint64_t rec = fs_record_bytes(1, 0, 1);
	const uint64_t limit = MARK_BYTES + 2 * rec; /* exactly two records per segment */
	const uint64_t blocks[] = { limit - 1, limit, limit + 1 };
	const uint64_t per_segment[] = { 1, 2, 2 };
	for (size_t b = 0; b < G_N_ELEMENTS(blocks); b++) {
		Env env;
		env_init(&env, 3, 0);
		JsStore *s = open_on(env.st, JS_STORE_SYNC_ALWAYS, blocks[b], 0, NULL);
		for (int k = 1; k <= 6; k++)
			put(s, "x", NULL, "d", k);
		g_assert_cmpuint(segment_count(env.st), ==, 6 / per_segment[b]);
		s->ops->destroy_all(s);
		env_clear(&env);
	}
	Env env;
	env_init(&env, 3, 0);
	JsStore *s = open_on(env.st, JS_STORE_SYNC_ALWAYS, limit, 0, NULL);
	for (int k = 1; k <= 6; k++)
		put(s, "x", NULL, "d", k);
	GPtrArray *names = list_dir(env.st, "jetstream/S/msgs");
	g_assert_cmpuint(names->len, ==, 3);
	g_assert_cmpstr(names->pdata[0], ==, "1.blk");
	g_assert_cmpstr(names->pdata[1], ==, "3.blk");
	g_assert_cmpstr(names->pdata[2], ==, "5.blk");
	g_ptr_array_free(names, TRUE);
	g_assert_cmpint(sim_disk_file_size(env.disk, "jetstream/S/msgs/3.blk"), ==, (int64_t)limit);
	/* a removal rewrites the message's own record in place (the file
	 * does not grow); when an older segment's last message goes, the file
	 * goes instead */
	g_assert_cmpint(s->ops->remove(s, 3, false), ==, JS_STORE_OK);
	g_assert_cmpint(sim_disk_file_size(env.disk, "jetstream/S/msgs/3.blk"), ==, (int64_t)limit);
	g_assert_cmpint(s->ops->remove(s, 4, false), ==, JS_STORE_OK);
	g_assert_cmpint(sim_disk_file_size(env.disk, "jetstream/S/msgs/3.blk"), ==, -1);
	/* in the newest segment too */
	g_assert_cmpint(s->ops->remove(s, 6, false), ==, JS_STORE_OK);
	g_assert_cmpint(sim_disk_file_size(env.disk, "jetstream/S/msgs/5.blk"), ==, (int64_t)limit);
	GByteArray *file = read_file(env.st, "jetstream/S/msgs/5.blk");
	FsRecord rec6;
	g_assert_cmpint(fs_record_parse(file->data + MARK_BYTES + rec, rec, &rec6), ==, FS_PARSE_OK);
	g_assert_cmpint(rec6.kind, ==, FS_RECORD_ERASED);
	g_assert_cmpuint(rec6.seq, ==, 6);
	g_byte_array_free(file, TRUE);
	s->ops->close(s);
	s = open_on(env.st, JS_STORE_SYNC_ALWAYS, limit, 0, NULL);
	JsStoreState st = state_of(s);
	g_assert_cmpuint(st.msgs, ==, 3);
	g_assert_cmpuint(st.first_seq, ==, 1);
	g_assert_cmpuint(st.last_seq, ==, 6);
	g_assert_cmpuint(st.num_deleted, ==, 3);
	uint64_t purged;
	g_assert_cmpint(s->ops->purge(s, NULL, 0, 0, &purged), ==, JS_STORE_OK);
	g_assert_cmpuint(purged, ==, 3);
	names = list_dir(env.st, "jetstream/S/msgs");
	g_assert_cmpuint(names->len, ==, 1);
	g_assert_cmpstr(names->pdata[0], ==, "7.blk");
	g_ptr_array_free(names, TRUE);
	g_assert_cmpint(sim_disk_file_size(env.disk, "jetstream/S/msgs/7.blk"), ==, MARK_BYTES);
	s->ops->close(s);
	s = open_on(env.st, JS_STORE_SYNC_ALWAYS, limit, 0, NULL);
	st = state_of(s);
	g_assert_cmpuint(st.msgs, ==, 0);
	g_assert_cmpuint(st.first_seq, ==, 7);
	g_assert_cmpuint(st.last_seq, ==, 6);
	g_assert_cmpint(st.last_ts_ns, ==, 6);
	g_assert_cmpuint(put(s, "x", NULL, "d", 7), ==, 7);
	/* purge below a sequence in a multi-segment store: whole files go, the
	 * records below the bound in the segment holding it are rewritten */
	for (int k = 8; k <= 12; k++)
		put(s, "x", NULL, "d", k);
	g_assert_cmpint(s->ops->purge(s, NULL, 10, 0, &purged), ==, JS_STORE_OK);
	g_assert_cmpuint(purged, ==, 3);
	g_assert_cmpint(sim_disk_file_size(env.disk, "jetstream/S/msgs/7.blk"), ==, -1);
	g_assert_cmpint(sim_disk_file_size(env.disk, "jetstream/S/msgs/9.blk"), ==, (int64_t)limit);
	s->ops->close(s);
	s = open_on(env.st, JS_STORE_SYNC_ALWAYS, limit, 0, NULL);
	st = state_of(s);
	g_assert_cmpuint(st.msgs, ==, 3);
	g_assert_cmpuint(st.first_seq, ==, 10);
	s->ops->destroy_all(s);
	g_assert_cmpuint(sim_disk_used_bytes(env.disk), ==, 0);
	env_clear(&env);
}

/* Odd files at open: an empty newest segment (a crash between its
 * creation and its MARK) still says which sequences were used and gets its
 * MARK on first use; a stray file is reported and ignored. */
static void
test_odd_files(void)
{
	Env env;
	env_init(&env, 15, 0);
	JsStore *s = open_on(env.st, JS_STORE_SYNC_ALWAYS, 0, 0, NULL);
	for (int k = 1; k <= 3; k++)
		put(s, "a", NULL, "m", k);
	s->ops->close(s);
	const char *names[] = { "jetstream/S/msgs/10.blk", "jetstream/S/msgs/notes.txt" };
	for (size_t k = 0; k < G_N_ELEMENTS(names); k++) {
		BrokerStorageFile *f;
		g_assert_cmpint(env.st->ops->open(env.st->ctx, names[k], BROKER_STORAGE_CREATE, &f), ==, BROKER_STORAGE_OK);
		env.st->ops->close(env.st->ctx, f);
	}
	char *report = NULL;
	s = open_on(env.st, JS_STORE_SYNC_ALWAYS, 0, 0, &report);
	g_assert_cmpstr(report, ==, "jetstream/S/msgs/notes.txt: not a segment file; ignored");
	g_free(report);
	JsStoreState st = state_of(s);
	g_assert_cmpuint(st.msgs, ==, 3);
	g_assert_cmpuint(st.last_seq, ==, 9);
	g_assert_cmpuint(st.num_deleted, ==, 6);
	g_assert_cmpuint(put(s, "b", NULL, "ten", 10), ==, 10);
	g_assert_cmpint(sim_disk_file_size(env.disk, "jetstream/S/msgs/10.blk"), ==,
	    (int64_t)(MARK_BYTES + fs_record_bytes(1, 0, 3)));
	g_assert_cmpint(env.st->ops->remove(env.st->ctx, names[1]), ==, BROKER_STORAGE_OK);
	env_crash(&env, s);
	s = open_on(env.st, JS_STORE_SYNC_ALWAYS, 0, 0, NULL);
	assert_msg(s, 10, "b", NULL, "ten");
	g_assert_cmpuint(state_of(s).msgs, ==, 4);
	s->ops->destroy_all(s);
	g_assert_cmpuint(sim_disk_used_bytes(env.disk), ==, 0);
	env_clear(&env);
}

/* A record with a valid checksum but a sequence that cannot be there (a
 * duplicate) is reported and ignored; the report stops listing after
 * FS_REPORT_LINES_MAX lines and says how many more there were. */
static void
test_report_details(void)
{
	Env env;
	env_init(&env, 16, 0);
	JsStore *s = open_on(env.st, JS_STORE_SYNC_ALWAYS, 0, 0, NULL);
	for (int k = 1; k <= 3; k++)
		put(s, "a", NULL, "m", k);
	s->ops->close(s);
	GByteArray *rec = g_byte_array_new();
	fs_record_encode(rec, &(FsRecord){ .kind = FS_RECORD_MSG, .seq = 2, .ts_ns = 9, .subject = "evil",
				      .subject_len = 4, .data = (const uint8_t *)"x", .data_len = 1 });
	BrokerStorageFile *f;
	g_assert_cmpint(env.st->ops->open(env.st->ctx, SEG1, 0, &f), ==, BROKER_STORAGE_OK);
	env.st->ops->append(env.st->ctx, f, rec->data, rec->len);
	env.st->ops->sync(env.st->ctx, f);
	env.st->ops->close(env.st->ctx, f);
	g_byte_array_free(rec, TRUE);
	char *report = NULL;
	s = open_on(env.st, JS_STORE_SYNC_ALWAYS, 0, 0, &report);
	g_assert_nonnull(strstr(report, "sequence 2 out of place (expected 4); record ignored"));
	g_free(report);
	assert_msg(s, 2, "a", NULL, "m");
	g_assert_cmpuint(put(s, "a", NULL, "four", 4), ==, 4);
	s->ops->destroy_all(s);
	/* every other record of 300 damaged: 150 damaged, 150 gaps; 100
	 * lines, then a count */
	s = open_on(env.st, JS_STORE_SYNC_ALWAYS, 0, 0, NULL);
	for (int k = 1; k <= 300; k++)
		put(s, "a", NULL, "mmmm", k);
	s->ops->close(s);
	const uint64_t size = fs_record_bytes(1, 0, 4);
	for (uint64_t k = 0; k < 300; k += 2)
		g_assert_true(sim_disk_flip_bit(env.disk, SEG1, MARK_BYTES + k * size + 40, 1));
	s = open_on(env.st, JS_STORE_SYNC_ALWAYS, 0, 0, &report);
	char **lines = g_strsplit(report, "\n", -1);
	g_assert_cmpuint(g_strv_length(lines), ==, 101);
	g_assert_cmpstr(lines[100], ==, "... and 200 more");
	g_strfreev(lines);
	g_free(report);
	JsStoreState st = state_of(s);
	g_assert_cmpuint(st.msgs, ==, 150);
	g_assert_cmpuint(st.first_seq, ==, 2);
	g_assert_cmpuint(st.last_seq, ==, 300);
	s->ops->destroy_all(s);
	env_clear(&env);
}

/* A filtered purge on a full disk: the tombstones do not fit, so the
 * records are rewritten in place; the purge holds across a crash. */
static void
test_purge_on_full_disk(void)
{
	Env env;
	env_init(&env, 17, 0);
	sim_disk_configure(env.disk, &(SimDiskConfig){ .capacity_bytes = 1500 });
	JsStore *s = open_on(env.st, JS_STORE_SYNC_ALWAYS, 0, 0, NULL);
	Model m;
	model_init(&m);
	for (int k = 0; k < 100; k++) {
		const char *subject = k % 2 ? "s.1" : "s.2";
		uint64_t seq;
		if (s->ops->store(s, subject, 3, NULL, 0, "0123456789", 10, k, &seq) != JS_STORE_OK)
			break;
		MMsg *x = g_new0(MMsg, 1);
		x->subject = g_strdup(subject);
		x->data = g_bytes_new("0123456789", 10);
		x->ts_ns = k;
		model_assign(&m, x);
	}
	g_assert_cmpint(s->ops->store(s, "s.1", 3, NULL, 0, "x", 1, 200, NULL), ==, JS_STORE_NO_SPACE);
	uint64_t purged = 0;
	g_assert_cmpint(s->ops->purge(s, "s.1", 0, 1, &purged), ==, JS_STORE_OK);
	g_assert_cmpuint(purged, ==, model_purge(&m, "s.1", 0, 1));
	g_assert_cmpuint(purged, >, 5);
	model_check(&m, s);
	env_crash(&env, s);
	s = open_on(env.st, JS_STORE_SYNC_ALWAYS, 0, 0, NULL);
	model_check(&m, s);
	s->ops->destroy_all(s);
	model_clear(&m);
	env_clear(&env);
}

/* Random workloads, with orderly restarts (sync, close, open) in between,
 * always equal the model; on small segments too. */
static void
test_restart_keeps_everything(void)
{
	for (uint64_t seed = 1; seed <= 60; seed++) {
		Env env;
		env_init(&env, seed, 0);
		Prng prng;
		prng_seed(&prng, seed);
		uint64_t block = block_choices[seed % G_N_ELEMENTS(block_choices)];
		JsStoreSync sync = seed % 2 ? JS_STORE_SYNC_ALWAYS : JS_STORE_SYNC_INTERVAL;
		JsStore *s = open_on(env.st, sync, block, 0, NULL);
		Model m;
		model_init(&m);
		for (int step = 0; step < 300; step++) {
			workload_step(&prng, &m, s, SIM_EPOCH_UNIX_NS + step);
			if (step % 60 == 59) {
				model_check(&m, s);
				/* an orderly shutdown: sync (pending consumer states
				 * are written), then close */
				g_assert_cmpint(s->ops->sync(s), ==, JS_STORE_OK);
				s->ops->close(s);
				s = open_on(env.st, sync, block, 0, NULL);
				model_check(&m, s);
			}
		}
		s->ops->destroy_all(s);
		g_assert_cmpuint(sim_disk_used_bytes(env.disk), ==, 0);
		model_clear(&m);
		env_clear(&env);
	}
}

/* erase overwrites the payload on disk: the bytes are nowhere in the
 * files afterwards, the message is gone, also after a restart. */
static void
test_erase(void)
{
	Env env;
	env_init(&env, 4, 0);
	JsStore *s = open_on(env.st, JS_STORE_SYNC_ALWAYS, 0, 0, NULL);
	put(s, "a", NULL, "keep-me", 1);
	put(s, "secret.subject", "NATS/1.0\r\nX: hidden-header\r\n\r\n", "TOP-SECRET-PAYLOAD", 2);
	put(s, "a", NULL, "keep-me-too", 3);
	g_assert_cmpint(s->ops->remove(s, 2, true), ==, JS_STORE_OK);
	GByteArray *file = read_file(env.st, SEG1);
	g_assert_null(memmem(file->data, file->len, "TOP-SECRET", strlen("TOP-SECRET")));
	g_assert_null(memmem(file->data, file->len, "hidden-header", strlen("hidden-header")));
	g_assert_null(memmem(file->data, file->len, "secret.subject", strlen("secret.subject")));
	g_assert_nonnull(memmem(file->data, file->len, "keep-me-too", strlen("keep-me-too")));
	g_byte_array_free(file, TRUE);
	JsStoredMsg m;
	g_assert_cmpint(s->ops->load(s, 2, &m), ==, JS_STORE_DELETED);
	g_assert_cmpint(s->ops->remove(s, 2, true), ==, JS_STORE_DELETED);
	env_crash(&env, s);
	s = open_on(env.st, JS_STORE_SYNC_ALWAYS, 0, 0, NULL);
	g_assert_cmpint(s->ops->load(s, 2, &m), ==, JS_STORE_DELETED);
	assert_msg(s, 1, "a", NULL, "keep-me");
	assert_msg(s, 3, "a", NULL, "keep-me-too");
	g_assert_cmpuint(state_of(s).msgs, ==, 2);
	g_assert_cmpuint(s->ops->subject_count(s, "secret.subject"), ==, 0);
	s->ops->destroy_all(s);
	env_clear(&env);
}

/* ---- durability under crashes ------------------------------------------------ */

#define ALWAYS_SEEDS 2000
#define INTERVAL_SEEDS 1000

/* ALWAYS: a crash between any two operations loses nothing that was
 * acknowledged, over ALWAYS_SEEDS seeds of small random workloads on a
 * disk that tears unsynced tails (there are none: recovery reports
 * nothing). */
static void
test_crash_always(void)
{
	for (uint64_t seed = 1; seed <= ALWAYS_SEEDS; seed++) {
		Env env;
		env_init(&env, seed, 0.5);
		Prng prng;
		prng_seed(&prng, seed ^ 0xa1a1);
		uint64_t block = block_choices[prng_below(&prng, G_N_ELEMENTS(block_choices))];
		JsStore *s = open_on(env.st, JS_STORE_SYNC_ALWAYS, block, 0, NULL);
		Model m;
		model_init(&m);
		int steps = 20 + (int)prng_below(&prng, 40);
		int64_t now = SIM_EPOCH_UNIX_NS;
		for (int step = 0; step < steps; step++) {
			now += (int64_t)prng_below(&prng, 1000);
			if (prng_chance(&prng, 0.08)) {
				env_crash(&env, s);
				s = open_on(env.st, JS_STORE_SYNC_ALWAYS, block, now, NULL);
				model_check(&m, s);
			} else {
				workload_step(&prng, &m, s, now);
			}
		}
		env_crash(&env, s);
		s = open_on(env.st, JS_STORE_SYNC_ALWAYS, block, now, NULL);
		model_check(&m, s);
		s->ops->destroy_all(s);
		g_assert_cmpuint(sim_disk_used_bytes(env.disk), ==, 0);
		model_clear(&m);
		env_clear(&env);
	}
}

/* After a crash under INTERVAL: every message is either as of the last
 * timer sync (D) or as of the crash (M); messages stored since the sync
 * survive as a prefix; consumer states are D's. The model then takes what
 * the store recovered. */
static void
interval_check_recovered(Model *d, Model *m, JsStore *s, const char *report)
{
	if (report != NULL) {
		char **lines = g_strsplit(report, "\n", -1);
		for (char **l = lines; *l != NULL; l++) {
			if (strstr(*l, "torn tail") == NULL)
				g_test_message("unexpected report line: %s", *l);
			g_assert_nonnull(strstr(*l, "torn tail"));
		}
		g_strfreev(lines);
	}
	JsStoreState st = state_of(s);
	uint64_t lr = st.last_seq;
	g_assert_cmpuint(lr, >=, d->last_seq);
	g_assert_cmpuint(lr, <=, m->last_seq);
	for (uint64_t seq = 1; seq <= lr; seq++) {
		JsStoredMsg got;
		JsStoreStatus status = s->ops->load(s, seq, &got);
		g_assert_true(status == JS_STORE_OK || status == JS_STORE_DELETED);
		bool present = status == JS_STORE_OK;
		if (present) {
			g_assert_nonnull(mmsg(m, seq)->subject);
			assert_stored_equals(&got, mmsg(m, seq));
		}
		if (seq <= d->last_seq) {
			g_assert_true(present == mlive(d, seq) || present == mlive(m, seq));
		} else if (mlive(m, seq)) {
			/* stored after the sync and never removed: a prefix survives */
			g_assert_true(present);
		}
	}
	if (lr > 0)
		g_assert_cmpint(st.last_ts_ns, ==, mmsg(m, lr)->ts_ns);
	/* consumer states: D's, except those removed since (removal is at
	 * once) and those created since (creation is at once, with its first
	 * state; later updates wait for the timer) */
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	s->ops->consumer_names(s, names);
	GByteArray *blob = g_byte_array_new();
	GHashTable *recovered = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_bytes_unref);
	for (guint k = 0; k < names->len; k++) {
		GBytes *want = g_hash_table_lookup(m->consumers_created, names->pdata[k]);
		if (want == NULL)
			want = g_hash_table_lookup(d->consumers, names->pdata[k]);
		g_assert_nonnull(want);
		g_hash_table_insert(recovered, g_strdup(names->pdata[k]), g_bytes_ref(want));
		g_byte_array_set_size(blob, 0);
		g_assert_cmpint(s->ops->consumer_load(s, names->pdata[k], blob), ==, JS_STORE_OK);
		gsize n;
		const void *p = g_bytes_get_data(want, &n);
		g_assert_cmpmem(blob->data, blob->len, p, n);
	}
	GHashTableIter it;
	gpointer key;
	g_hash_table_iter_init(&it, d->consumers);
	while (g_hash_table_iter_next(&it, &key, NULL)) {
		bool present = false;
		for (guint k = 0; k < names->len && !present; k++)
			present = strcmp(names->pdata[k], key) == 0;
		g_assert_true(present || g_hash_table_contains(m->consumers_removed, key));
		if (!present)
			g_hash_table_iter_remove(&it);
	}
	g_hash_table_iter_init(&it, m->consumers_created);
	while (g_hash_table_iter_next(&it, &key, NULL))
		g_assert_true(g_hash_table_contains(recovered, key)); /* no consumer created vanishes */
	g_byte_array_free(blob, TRUE);
	g_ptr_array_free(names, TRUE);
	/* the model becomes what was recovered */
	g_ptr_array_set_size(m->history, (guint)lr + 1);
	g_byte_array_set_size(m->live, (guint)lr + 1);
	for (uint64_t seq = 1; seq <= lr; seq++) {
		JsStoredMsg got;
		m->live->data[seq] = s->ops->load(s, seq, &got) == JS_STORE_OK;
	}
	m->last_seq = lr;
	m->last_ts_ns = lr > 0 ? mmsg(m, lr)->ts_ns : 0;
	g_hash_table_destroy(m->consumers);
	m->consumers = recovered;
	g_hash_table_remove_all(m->consumers_created);
}

static void
snapshot(Model *d, Model *m)
{
	g_byte_array_set_size(d->live, 0);
	g_byte_array_append(d->live, m->live->data, m->live->len);
	d->last_seq = m->last_seq;
	d->last_ts_ns = m->last_ts_ns;
	g_hash_table_destroy(d->consumers);
	d->consumers = consumers_copy(m->consumers);
	g_hash_table_remove_all(m->consumers_removed);
	g_hash_table_remove_all(m->consumers_created);
}

/* INTERVAL: only what the timer had not synced yet is lost in a crash,
 * and torn tails are cut; over INTERVAL_SEEDS seeds. */
static void
test_crash_interval(void)
{
	uint64_t torn_reports = 0, losses = 0;
	for (uint64_t seed = 1; seed <= INTERVAL_SEEDS; seed++) {
		Env env;
		env_init(&env, seed, 0.7);
		Prng prng;
		prng_seed(&prng, seed ^ 0xb2b2);
		uint64_t block = block_choices[prng_below(&prng, G_N_ELEMENTS(block_choices))];
		int64_t now = SIM_EPOCH_UNIX_NS;
		JsStore *s = open_on(env.st, JS_STORE_SYNC_INTERVAL, block, now, NULL);
		Model m, d;
		model_init(&m);
		model_init(&d);
		int steps = 30 + (int)prng_below(&prng, 50);
		for (int step = 0; step < steps; step++) {
			now += (int64_t)prng_below(&prng, 15 * SIM_NS_PER_MS);
			if (s->ops->next_deadline(s) <= now) {
				s->ops->on_timer(s, now);
				g_assert_cmpint(s->ops->next_deadline(s), ==, INT64_MAX);
				snapshot(&d, &m);
			} else {
				s->ops->on_timer(s, now); /* not due: must do nothing */
			}
			if (prng_chance(&prng, 0.1)) {
				uint64_t before = m.last_seq;
				env_crash(&env, s);
				char *report = NULL;
				s = open_on(env.st, JS_STORE_SYNC_INTERVAL, block, now, &report);
				torn_reports += report != NULL;
				interval_check_recovered(&d, &m, s, report);
				losses += m.last_seq < before;
				g_free(report);
				model_check(&m, s);
				snapshot(&d, &m);
			} else if (prng_chance(&prng, 0.03)) {
				g_assert_cmpint(s->ops->sync(s), ==, JS_STORE_OK);
				snapshot(&d, &m);
			} else {
				workload_step(&prng, &m, s, now);
			}
		}
		s->ops->destroy_all(s);
		model_clear(&m);
		model_clear(&d);
		env_clear(&env);
	}
	g_test_message("interval: %" G_GUINT64_FORMAT " crashes lost a suffix, %" G_GUINT64_FORMAT
		       " recoveries cut a torn tail", losses, torn_reports);
	/* the faults really happened */
	g_assert_cmpuint(losses, >, 0);
	g_assert_cmpuint(torn_reports, >, 0);
}

/* A torn tail is reported, cut, and gone for good: the next open is clean,
 * the store continues at the right sequence. */
static void
test_torn_tail(void)
{
	Env env;
	env_init(&env, 5, 1.0);
	JsStore *s = open_on(env.st, JS_STORE_SYNC_INTERVAL, 0, 0, NULL);
	put(s, "a", NULL, "one", 1);
	put(s, "a", NULL, "two", 2);
	g_assert_cmpint(s->ops->sync(s), ==, JS_STORE_OK);
	int64_t synced = sim_disk_file_synced_bytes(env.disk, SEG1);
	put(s, "a", NULL, "three-is-a-longer-message-to-tear", 3);
	env_crash(&env, s);
	int64_t size = sim_disk_file_size(env.disk, SEG1);
	g_assert_cmpint(size, >, synced); /* torn: a strict prefix of the unsynced record stayed */
	char *report = NULL;
	s = open_on(env.st, JS_STORE_SYNC_INTERVAL, 0, 0, &report);
	g_assert_nonnull(report);
	g_test_message("report: %s", report);
	g_assert_nonnull(strstr(report, SEG1));
	g_assert_nonnull(strstr(report, "torn tail"));
	char *offset = g_strdup_printf("offset %" G_GINT64_FORMAT ":", synced);
	g_assert_nonnull(strstr(report, offset));
	g_free(offset);
	g_free(report);
	g_assert_cmpint(sim_disk_file_size(env.disk, SEG1), ==, synced);
	JsStoreState st = state_of(s);
	g_assert_cmpuint(st.msgs, ==, 2);
	g_assert_cmpuint(st.last_seq, ==, 2);
	g_assert_cmpuint(put(s, "a", NULL, "three", 3), ==, 3);
	g_assert_cmpint(s->ops->sync(s), ==, JS_STORE_OK);
	env_crash(&env, s);
	s = open_on(env.st, JS_STORE_SYNC_INTERVAL, 0, 0, NULL);
	assert_msg(s, 3, "a", NULL, "three");
	s->ops->destroy_all(s);
	env_clear(&env);
}

/* ---- corruption --------------------------------------------------------------- */

/* A flipped bit in a message in the middle of a segment: detected at open,
 * reported with file and offset, that message never served, the records
 * after it found again (resynchronised); in a length field too. */
static void
test_bit_flip_detected(void)
{
	const uint64_t rec = fs_record_bytes(1, 0, 4); /* "a", "mmmm" */
	const uint64_t fields[] = { 40, 0, 10 };       /* in the data, the length, the sequence */
	for (size_t f = 0; f < G_N_ELEMENTS(fields); f++) {
		Env env;
		env_init(&env, 6, 0);
		JsStore *s = open_on(env.st, JS_STORE_SYNC_ALWAYS, 0, 0, NULL);
		for (int k = 1; k <= 5; k++)
			put(s, "a", NULL, "mmmm", k);
		s->ops->close(s);
		uint64_t third = MARK_BYTES + 2 * rec;
		g_assert_true(sim_disk_flip_bit(env.disk, SEG1, third + fields[f], 6));
		char *report = NULL;
		s = open_on(env.st, JS_STORE_SYNC_ALWAYS, 0, 0, &report);
		g_assert_nonnull(report);
		g_test_message("report: %s", report);
		char *where = g_strdup_printf("%s: offset %" G_GUINT64_FORMAT ":", SEG1, third);
		g_assert_nonnull(strstr(report, where));
		g_assert_nonnull(strstr(report, "resynchronised"));
		g_free(where);
		g_free(report);
		JsStoredMsg m;
		g_assert_cmpint(s->ops->load(s, 3, &m), ==, JS_STORE_DELETED);
		for (uint64_t seq = 1; seq <= 5; seq++)
			if (seq != 3)
				assert_msg(s, seq, "a", NULL, "mmmm");
		JsStoreState st = state_of(s);
		g_assert_cmpuint(st.msgs, ==, 4);
		g_assert_cmpuint(st.last_seq, ==, 5);
		g_assert_cmpuint(put(s, "a", NULL, "six", 6), ==, 6);
		s->ops->destroy_all(s);
		env_clear(&env);
	}
}

/* A bit flipped in the last record of the newest segment (acknowledged,
 * synced): it is damage, not a torn tail - its length is whole. It is
 * reported, never served, and its sequence stays used: last_seq does not
 * go back and the next store does not reuse sequence 2. Flips in the data,
 * the sequence, the length, the magic and the checksum; after a restart
 * the damaged record is skipped like any in the middle of a segment. */
static void
test_bit_flip_last_record(void)
{
	const uint64_t rec = fs_record_bytes(1, 0, 3); /* "a", "one"/"two" */
	const uint64_t fields[] = { rec - 10, 9, 1, 4, rec - 2 }; /* data, seq, length, magic, checksum */
	for (size_t f = 0; f < G_N_ELEMENTS(fields); f++) {
		Env env;
		env_init(&env, 7, 0);
		JsStore *s = open_on(env.st, JS_STORE_SYNC_ALWAYS, 0, 0, NULL);
		put(s, "a", NULL, "one", 1);
		put(s, "a", NULL, "two", 2);
		s->ops->close(s);
		int64_t size = sim_disk_file_size(env.disk, SEG1);
		uint64_t last = MARK_BYTES + rec;
		g_assert_cmpint(size, ==, (int64_t)(last + rec));
		g_assert_true(sim_disk_flip_bit(env.disk, SEG1, last + fields[f], 0));
		char *report = NULL;
		s = open_on(env.st, JS_STORE_SYNC_ALWAYS, 0, 0, &report);
		g_test_message("report: %s", report);
		g_assert_nonnull(report);
		g_assert_null(strstr(report, "torn tail"));
		g_assert_nonnull(strstr(report, "damaged"));
		g_free(report);
		g_assert_cmpint(sim_disk_file_size(env.disk, SEG1), ==, size); /* nothing cut */
		JsStoreState st = state_of(s);
		g_assert_cmpuint(st.msgs, ==, 1);
		g_assert_cmpuint(st.last_seq, ==, 2);
		JsStoredMsg m;
		g_assert_cmpint(s->ops->load(s, 2, &m), ==, JS_STORE_DELETED);
		g_assert_cmpuint(put(s, "a", NULL, "three", 3), ==, 3);
		s->ops->close(s);
		s = open_on(env.st, JS_STORE_SYNC_ALWAYS, 0, 0, &report);
		g_assert_nonnull(report);
		g_free(report);
		st = state_of(s);
		g_assert_cmpuint(st.msgs, ==, 2);
		g_assert_cmpuint(st.last_seq, ==, 3);
		assert_msg(s, 1, "a", NULL, "one");
		g_assert_cmpint(s->ops->load(s, 2, &m), ==, JS_STORE_DELETED);
		assert_msg(s, 3, "a", NULL, "three");
		s->ops->destroy_all(s);
		env_clear(&env);
	}
}

/* Only a record cut short by the end of the file is a torn tail: a damaged
 * last record followed by a torn one keeps its sequence and loses only the
 * torn bytes, and the open pins the sequence with a new segment named
 * after it; a tail of zero bytes (a file system's zero fill after a crash)
 * is cut like a torn one; a damaged MARK alone loses no sequence. */
static void
test_damage_then_torn_tail(void)
{
	const uint64_t rec = fs_record_bytes(1, 0, 3);
	Env env;
	env_init(&env, 19, 0);
	JsStore *s = open_on(env.st, JS_STORE_SYNC_ALWAYS, 0, 0, NULL);
	put(s, "a", NULL, "one", 1);
	put(s, "a", NULL, "two", 2);
	s->ops->close(s);
	/* half a record after the damaged last one */
	GByteArray *half = g_byte_array_new();
	fs_record_encode(half, &(FsRecord){ .kind = FS_RECORD_MSG, .seq = 3, .ts_ns = 3, .subject = "a",
				       .subject_len = 1, .data = (const uint8_t *)"three", .data_len = 5 });
	BrokerStorageFile *f;
	g_assert_cmpint(env.st->ops->open(env.st->ctx, SEG1, 0, &f), ==, BROKER_STORAGE_OK);
	env.st->ops->append(env.st->ctx, f, half->data, half->len / 2);
	env.st->ops->sync(env.st->ctx, f);
	env.st->ops->close(env.st->ctx, f);
	g_byte_array_free(half, TRUE);
	g_assert_true(sim_disk_flip_bit(env.disk, SEG1, MARK_BYTES + rec + FS_RECORD_HEADER_BYTES, 3));
	char *report = NULL;
	s = open_on(env.st, JS_STORE_SYNC_ALWAYS, 0, 0, &report);
	g_test_message("report: %s", report);
	g_assert_nonnull(strstr(report, "damaged"));
	g_assert_nonnull(strstr(report, "torn tail"));
	g_free(report);
	g_assert_cmpint(sim_disk_file_size(env.disk, SEG1), ==, (int64_t)(MARK_BYTES + 2 * rec));
	g_assert_cmpuint(state_of(s).last_seq, ==, 2);
	g_assert_cmpint(sim_disk_file_synced_bytes(env.disk, "jetstream/S/msgs/3.blk"), ==, MARK_BYTES);
	g_assert_cmpuint(put(s, "a", NULL, "three", 3), ==, 3);
	s->ops->close(s);
	/* zero fill after the last record: cut, nothing counted */
	g_assert_cmpint(env.st->ops->open(env.st->ctx, "jetstream/S/msgs/3.blk", 0, &f), ==, BROKER_STORAGE_OK);
	uint8_t zeros[100] = { 0 };
	env.st->ops->append(env.st->ctx, f, zeros, sizeof(zeros));
	env.st->ops->sync(env.st->ctx, f);
	env.st->ops->close(env.st->ctx, f);
	int64_t before = sim_disk_file_size(env.disk, "jetstream/S/msgs/3.blk");
	s = open_on(env.st, JS_STORE_SYNC_ALWAYS, 0, 0, &report);
	g_test_message("report: %s", report);
	char *want = g_strdup_printf("jetstream/S/msgs/3.blk: offset %" G_GUINT64_FORMAT ": zero bytes; torn tail of 100"
				    " bytes cut", MARK_BYTES + fs_record_bytes(1, 0, 5));
	g_assert_nonnull(strstr(report, want)); /* and 1.blk's damage, again */
	g_free(want);
	g_free(report);
	g_assert_cmpint(sim_disk_file_size(env.disk, "jetstream/S/msgs/3.blk"), ==, before - 100);
	g_assert_cmpuint(state_of(s).last_seq, ==, 3);
	assert_msg(s, 3, "a", NULL, "three");
	s->ops->destroy_all(s);
	/* a newest segment holding only its MARK, damaged: its name still
	 * says which sequences were used */
	s = open_on(env.st, JS_STORE_SYNC_ALWAYS, 0, 0, NULL);
	for (int k = 1; k <= 4; k++)
		put(s, "a", NULL, "m", k);
	uint64_t purged = 0;
	g_assert_cmpint(s->ops->purge(s, NULL, 0, 0, &purged), ==, JS_STORE_OK);
	g_assert_cmpuint(purged, ==, 4);
	s->ops->close(s);
	g_assert_true(sim_disk_flip_bit(env.disk, "jetstream/S/msgs/5.blk", 12, 5));
	s = open_on(env.st, JS_STORE_SYNC_ALWAYS, 0, 0, &report);
	g_assert_nonnull(report);
	g_free(report);
	JsStoreState st = state_of(s);
	g_assert_cmpuint(st.last_seq, ==, 4);
	g_assert_cmpuint(st.msgs, ==, 0);
	g_assert_cmpuint(put(s, "a", NULL, "five", 5), ==, 5);
	s->ops->close(s);
	s = open_on(env.st, JS_STORE_SYNC_ALWAYS, 0, 0, &report);
	g_free(report);
	assert_msg(s, 5, "a", NULL, "five");
	g_assert_cmpuint(state_of(s).last_seq, ==, 5);
	s->ops->destroy_all(s);
	env_clear(&env);
}

/* The removals the next test makes, each on a fresh store holding
 * a/one, b/two, a/three, b/four in one segment. */
typedef enum RemovalKind {
	REMOVAL_MIDDLE,   /* remove(2) */
	REMOVAL_ERASE,    /* remove(2, erase) */
	REMOVAL_LAST,     /* remove(4): the last record of the newest segment */
	REMOVAL_PREFIX,   /* purge below 3 */
	REMOVAL_FILTERED, /* purge subject b: 2 and 4 */
	REMOVAL_KINDS,
} RemovalKind;

static void
removal_apply(JsStore *s, RemovalKind kind, bool removed[5])
{
	uint64_t purged = 0;
	switch (kind) {
	case REMOVAL_MIDDLE:
	case REMOVAL_ERASE:
		g_assert_cmpint(s->ops->remove(s, 2, kind == REMOVAL_ERASE), ==, JS_STORE_OK);
		removed[2] = true;
		return;
	case REMOVAL_LAST:
		g_assert_cmpint(s->ops->remove(s, 4, false), ==, JS_STORE_OK);
		removed[4] = true;
		return;
	case REMOVAL_PREFIX:
		g_assert_cmpint(s->ops->purge(s, NULL, 3, 0, &purged), ==, JS_STORE_OK);
		removed[1] = removed[2] = true;
		break;
	case REMOVAL_FILTERED:
		g_assert_cmpint(s->ops->purge(s, "b", 0, 0, &purged), ==, JS_STORE_OK);
		removed[2] = removed[4] = true;
		break;
	case REMOVAL_KINDS:
		g_assert_not_reached();
	}
	g_assert_cmpuint(purged, ==, 2);
}

/* Nothing removed ever comes back, and no acknowledged sequence is used
 * twice, whichever single bit of the segment flips after a removal or a
 * purge (ALWAYS): each bit of the file in turn, on a fresh store, then a
 * store and a restart. A message that is lost instead must be reported. */
static void
test_removal_survives_bit_flips(void)
{
	static const char *const subjects[] = { NULL, "a", "b", "a", "b" };
	static const char *const datas[] = { NULL, "one", "two", "three", "four" };
	uint64_t opens = 0, reports = 0;
	for (RemovalKind kind = 0; kind < REMOVAL_KINDS; kind++) {
		int64_t size = -1;
		for (uint64_t bit = 0; size < 0 || bit < (uint64_t)size * 8; bit++) {
			Env env;
			env_init(&env, 40 + kind, 0);
			JsStore *s = open_on(env.st, JS_STORE_SYNC_ALWAYS, 0, 0, NULL);
			for (uint64_t k = 1; k <= 4; k++)
				put(s, subjects[k], NULL, datas[k], (int64_t)k);
			bool removed[5] = { false };
			removal_apply(s, kind, removed);
			s->ops->close(s);
			size = sim_disk_file_size(env.disk, SEG1);
			g_assert_true(sim_disk_flip_bit(env.disk, SEG1, bit / 8, (unsigned)(bit % 8)));
			uint64_t fifth = 0;
			for (int round = 0; round < 2; round++) {
				char *report = NULL;
				s = open_on(env.st, JS_STORE_SYNC_ALWAYS, 0, 0, &report);
				opens++;
				reports += report != NULL;
				JsStoreState st = state_of(s);
				g_assert_cmpuint(st.last_seq, >=, MAX(fifth, 4));
				for (uint64_t seq = 1; seq <= 4; seq++) {
					JsStoredMsg m;
					JsStoreStatus status = s->ops->load(s, seq, &m);
					if (removed[seq]) {
						if (status == JS_STORE_OK)
							g_test_message("kind %d bit %" G_GUINT64_FORMAT ": removed %" G_GUINT64_FORMAT
								       " is back; report: %s", kind, bit, seq, report);
						g_assert_cmpint(status, ==, JS_STORE_DELETED);
					} else if (status == JS_STORE_OK) {
						assert_msg(s, seq, subjects[seq], NULL, datas[seq]);
					} else {
						g_assert_cmpint(status, ==, JS_STORE_DELETED);
						g_assert_nonnull(report);
					}
				}
				if (round == 0) {
					fifth = put(s, "c", NULL, "five", 5);
					g_assert_cmpuint(fifth, ==, st.last_seq + 1);
					s->ops->close(s);
				} else {
					assert_msg(s, fifth, "c", NULL, "five");
					g_assert_cmpuint(st.last_seq, ==, fifth);
					s->ops->destroy_all(s);
				}
				g_free(report);
			}
			env_clear(&env);
		}
	}
	g_test_message("%" G_GUINT64_FORMAT " opens, %" G_GUINT64_FORMAT " reported damage", opens, reports);
}

/* A bit flipped while the store is open: the load that meets it returns
 * CORRUPT, never the damaged bytes; the message is then gone. */
static void
test_bit_flip_at_runtime(void)
{
	Env env;
	env_init(&env, 8, 0);
	JsStore *s = open_on(env.st, JS_STORE_SYNC_ALWAYS, 0, 0, NULL);
	put(s, "a", NULL, "one", 1);
	put(s, "a", NULL, "two", 2);
	put(s, "a", NULL, "three", 3);
	uint64_t second = MARK_BYTES + fs_record_bytes(1, 0, 3);
	g_assert_true(sim_disk_flip_bit(env.disk, SEG1, second + FS_RECORD_HEADER_BYTES + 1, 2));
	JsStoredMsg m;
	g_assert_cmpint(s->ops->load_next(s, NULL, 2, &m), ==, JS_STORE_CORRUPT);
	g_assert_cmpint(s->ops->load(s, 2, &m), ==, JS_STORE_DELETED);
	g_assert_cmpint(s->ops->load_next(s, NULL, 2, &m), ==, JS_STORE_OK);
	g_assert_cmpuint(m.seq, ==, 3);
	g_assert_cmpuint(state_of(s).msgs, ==, 2);
	/* consumer state and meta flipped: unreadable, reported at open */
	g_assert_cmpint(s->ops->consumer_save(s, "dur", "blob", 4), ==, JS_STORE_OK);
	g_assert_cmpint(s->ops->meta_save(s, "{\"name\":\"S\"}"), ==, JS_STORE_OK);
	g_assert_true(sim_disk_flip_bit(env.disk, "jetstream/S/obs/dur.state", 17, 1));
	g_assert_true(sim_disk_flip_bit(env.disk, "jetstream/S/meta.json", 30, 1));
	GByteArray *b = g_byte_array_new();
	g_assert_cmpint(s->ops->consumer_load(s, "dur", b), ==, JS_STORE_CORRUPT);
	g_assert_cmpuint(b->len, ==, 0);
	g_byte_array_free(b, TRUE);
	s->ops->close(s);
	char *report = NULL;
	s = open_on(env.st, JS_STORE_SYNC_ALWAYS, 0, 0, &report);
	g_test_message("report: %s", report);
	g_assert_nonnull(strstr(report, "jetstream/S/obs/dur.state: checksum mismatch"));
	g_assert_nonnull(strstr(report, "jetstream/S/meta.json: checksum mismatch"));
	g_assert_nonnull(strstr(report, SEG1));
	g_free(report);
	GArray *found = g_array_new(FALSE, FALSE, sizeof(JsFoundStream));
	js_filestore_find_streams(env.st, found);
	g_assert_cmpuint(found->len, ==, 1);
	g_assert_null(g_array_index(found, JsFoundStream, 0).meta_json);
	g_free(g_array_index(found, JsFoundStream, 0).name);
	g_array_free(found, TRUE);
	s->ops->destroy_all(s);
	env_clear(&env);
}

/* A number from the environment (tests that can run longer on demand). */
static uint64_t
env_count(const char *name, uint64_t fallback)
{
	const char *text = g_getenv(name);
	guint64 n = fallback;
	if (text != NULL && text[0] != '\0')
		g_assert_true(g_ascii_string_to_unsigned(text, 10, 1, G_MAXUINT32, &n, NULL));
	return n;
}

/* After a restart on a disk with flipped bits (ALWAYS: the model holds
 * exactly what was acknowledged): acknowledged sequences never go
 * backwards; a message served is one stored at that sequence and never
 * removed (removed messages stay removed, nothing else appears); every
 * loss is reported. The model then takes what the store recovered:
 * sequences the damage used up become gaps, lost messages are noted as
 * lost (a second flip of the same bit may give one back, byte for byte;
 * a removed one never comes back). */
static void
flip_check_recovered(Model *m, JsStore *s, const char *report, uint64_t *losses)
{
	JsStoreState st = state_of(s);
	g_assert_cmpuint(st.last_seq, >=, m->last_seq);
	bool lost = st.last_seq > m->last_seq;
	while (m->last_seq < st.last_seq) {
		MMsg *gap = g_new0(MMsg, 1);
		gap->ts_ns = st.last_ts_ns;
		model_assign(m, gap);
	}
	if (m->lost->len <= st.last_seq) {
		guint old = m->lost->len;
		g_byte_array_set_size(m->lost, (guint)st.last_seq + 1);
		memset(m->lost->data + old, 0, st.last_seq + 1 - old);
	}
	uint64_t msgs = 0;
	for (uint64_t seq = 1; seq <= st.last_seq; seq++) {
		JsStoredMsg got;
		JsStoreStatus status = s->ops->load(s, seq, &got);
		if (status == JS_STORE_OK) {
			if (!mlive(m, seq) && !m->lost->data[seq])
				g_test_message("sequence %" G_GUINT64_FORMAT " served but %s; report: %s", seq,
				    mmsg(m, seq)->subject != NULL ? "removed" : "never stored", report);
			g_assert_true(mlive(m, seq) || m->lost->data[seq]);
			assert_stored_equals(&got, mmsg(m, seq));
			m->live->data[seq] = 1;
			m->lost->data[seq] = 0;
			msgs++;
		} else {
			g_assert_cmpint(status, ==, JS_STORE_DELETED);
			if (mlive(m, seq)) {
				lost = true;
				m->lost->data[seq] = 1;
			}
			m->live->data[seq] = 0;
		}
	}
	g_assert_cmpuint(st.msgs, ==, msgs);
	/* last_ts is the newest readable record's: a damaged MARK or last
	 * record takes its timestamp along (reported) */
	if (report == NULL)
		g_assert_cmpint(st.last_ts_ns, ==, m->last_ts_ns);
	m->last_ts_ns = st.last_ts_ns;
	/* consumer files are never lost (bit flips change bytes, not names);
	 * a damaged one is listed and unreadable */
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	s->ops->consumer_names(s, names);
	g_assert_cmpuint(names->len, ==, g_hash_table_size(m->consumers));
	GByteArray *blob = g_byte_array_new();
	for (guint k = 0; k < names->len; k++) {
		GBytes *want = g_hash_table_lookup(m->consumers, names->pdata[k]);
		g_assert_nonnull(want);
		g_byte_array_set_size(blob, 0);
		JsStoreStatus status = s->ops->consumer_load(s, names->pdata[k], blob);
		if (status == JS_STORE_OK) {
			gsize n;
			const void *p = g_bytes_get_data(want, &n);
			g_assert_cmpmem(blob->data, blob->len, p, n);
		} else {
			g_assert_cmpint(status, ==, JS_STORE_CORRUPT);
			lost = true;
		}
	}
	g_byte_array_free(blob, TRUE);
	g_ptr_array_free(names, TRUE);
	if (lost)
		g_assert_nonnull(report);
	*losses += lost;
}

#define FLIP_SEEDS 3000
#define FLIP_STEPS 40

/* Random workloads (stores, skips, removals, erasures, purges, consumer
 * states, meta) with ALWAYS sync, interrupted by power losses after which
 * 0-3 random bits of the disk flip (segments, consumer states, meta) before
 * the restart: the store always opens and flip_check_recovered holds every
 * time - the property that catches a removal coming back and a sequence
 * reused. FLIP_SEEDS x FLIP_STEPS by default (a few seconds);
 * NATSIM_FILESTORE_FLIP_SEEDS and NATSIM_FILESTORE_FLIP_STEPS ask for more
 * (1000 x 300 is the reviewer's harness). */
static void
test_bit_flips_random(void)
{
	uint64_t seeds = env_count("NATSIM_FILESTORE_FLIP_SEEDS", FLIP_SEEDS);
	uint64_t steps = env_count("NATSIM_FILESTORE_FLIP_STEPS", FLIP_STEPS);
	uint64_t first = env_count("NATSIM_FILESTORE_FLIP_FIRST_SEED", 1);
	uint64_t reported = 0, opens = 0, losses = 0;
	for (uint64_t seed = first; seed < first + seeds; seed++) {
		Env env;
		env_init(&env, seed, 0.5);
		Prng prng;
		prng_seed(&prng, seed ^ 0xc3c3);
		uint64_t block = block_choices[prng_below(&prng, G_N_ELEMENTS(block_choices))];
		JsStore *s = open_on(env.st, JS_STORE_SYNC_ALWAYS, block, 0, NULL);
		Model m;
		model_init(&m);
		int64_t now = SIM_EPOCH_UNIX_NS;
		for (uint64_t step = 0; step <= steps; step++) {
			now += 1 + (int64_t)prng_below(&prng, 1000);
			if (step < steps && !prng_chance(&prng, 0.1)) {
				workload_step(&prng, &m, s, now);
				continue;
			}
			sim_node_crash(env.node);
			s->ops->close(s);
			int flips = (int)prng_below(&prng, 4);
			for (int k = 0; k < flips; k++)
				sim_disk_flip_random(env.disk);
			sim_node_restart(env.node);
			char *report = NULL;
			s = open_on(env.st, JS_STORE_SYNC_ALWAYS, block, now, &report);
			if (g_test_verbose())
				g_test_message("seed %" G_GUINT64_FORMAT " step %" G_GUINT64_FORMAT ": %d flips; report: %s",
				    seed, step, flips, report);
			opens++;
			reported += report != NULL;
			flip_check_recovered(&m, s, report, &losses);
			g_free(report);
		}
		/* and it keeps going after the last acknowledged sequence */
		g_assert_cmpuint(put(s, "after", NULL, "flip", now + 1), ==, m.last_seq + 1);
		s->ops->destroy_all(s);
		model_clear(&m);
		env_clear(&env);
	}
	g_test_message("bit flips: %" G_GUINT64_FORMAT " seeds x %" G_GUINT64_FORMAT " steps, %" G_GUINT64_FORMAT
		       " opens, %" G_GUINT64_FORMAT " reported damage, %" G_GUINT64_FORMAT " lost something",
	    seeds, steps, opens, reported, losses);
	g_assert_cmpuint(reported, >, 0);
	g_assert_cmpuint(losses, >, 0);
}

/* ---- disk full and failing operations --------------------------------------- */

/* ENOSPC: the store that does not fit is refused with NO_SPACE and leaves
 * nothing; removals still work on a full disk; everything acknowledged
 * survives a crash; with room again, storing resumes at the right seq. */
static void
test_no_space(void)
{
	Env env;
	env_init(&env, 9, 0.5);
	sim_disk_configure(env.disk, &(SimDiskConfig){ .capacity_bytes = 2000, .torn_write_chance = 0.5 });
	JsStore *s = open_on(env.st, JS_STORE_SYNC_ALWAYS, 500, 0, NULL);
	Model m;
	model_init(&m);
	uint64_t refused = 0;
	for (int k = 0; k < 100; k++) {
		uint64_t seq = 0;
		JsStoreStatus status = s->ops->store(s, "s.1", 3, NULL, 0, "0123456789", 10, k, &seq);
		if (status == JS_STORE_OK) {
			MMsg *x = g_new0(MMsg, 1);
			x->subject = g_strdup("s.1");
			x->data = g_bytes_new("0123456789", 10);
			x->ts_ns = k;
			model_assign(&m, x);
			g_assert_cmpuint(seq, ==, m.last_seq);
		} else {
			g_assert_cmpint(status, ==, JS_STORE_NO_SPACE);
			refused++;
		}
		g_assert_cmpuint(sim_disk_used_bytes(env.disk), <=, 2000);
	}
	g_assert_cmpuint(refused, >, 0);
	model_check(&m, s);
	g_assert_cmpint(s->ops->consumer_save(s, "c1", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 50), ==,
	    JS_STORE_NO_SPACE);
	/* removals on a full disk: rewritten in place, no new space needed */
	for (uint64_t seq = m.last_seq; seq > m.last_seq - 5; seq--) {
		g_assert_cmpint(s->ops->remove(s, seq, false), ==, JS_STORE_OK);
		m.live->data[seq] = 0;
	}
	model_check(&m, s);
	env_crash(&env, s);
	s = open_on(env.st, JS_STORE_SYNC_ALWAYS, 500, 0, NULL);
	model_check(&m, s);
	sim_disk_configure(env.disk, &(SimDiskConfig){ .capacity_bytes = 0 });
	g_assert_cmpuint(put(s, "s.2", NULL, "room again", 200), ==, m.last_seq + 1);
	s->ops->destroy_all(s);
	model_clear(&m);
	env_clear(&env);
}

/* Failing writes and syncs leave no record that would be served, and the
 * sequence is not used up; a failing read is an error, not a loss. */
static void
test_io_errors(void)
{
	Env env;
	env_init(&env, 10, 0.5);
	JsStore *s = open_on(env.st, JS_STORE_SYNC_ALWAYS, 0, 0, NULL);
	put(s, "a", NULL, "one", 1);
	uint64_t seq = 0;
	sim_disk_fail_next(env.disk, SIM_DISK_OP_WRITE, BROKER_STORAGE_IO, 1);
	g_assert_cmpint(s->ops->store(s, "a", 1, NULL, 0, "lost", 4, 2, &seq), ==, JS_STORE_IO);
	/* the write and the truncate that repairs it both fail */
	sim_disk_fail_next(env.disk, SIM_DISK_OP_WRITE, BROKER_STORAGE_IO, 2);
	g_assert_cmpint(s->ops->store(s, "a", 1, NULL, 0, "lost", 4, 2, &seq), ==, JS_STORE_IO);
	sim_disk_fail_next(env.disk, SIM_DISK_OP_SYNC, BROKER_STORAGE_IO, 1);
	g_assert_cmpint(s->ops->store(s, "a", 1, NULL, 0, "lost", 4, 2, &seq), ==, JS_STORE_IO);
	g_assert_cmpuint(state_of(s).last_seq, ==, 1);
	g_assert_cmpint(sim_disk_file_size(env.disk, SEG1), ==, MARK_BYTES + fs_record_bytes(1, 0, 3));
	g_assert_cmpuint(put(s, "a", NULL, "two", 3), ==, 2);
	/* removal: a failing sync undoes the tombstone; the message stays */
	sim_disk_fail_next(env.disk, SIM_DISK_OP_SYNC, BROKER_STORAGE_IO, 1);
	g_assert_cmpint(s->ops->remove(s, 1, false), ==, JS_STORE_IO);
	assert_msg(s, 1, "a", NULL, "one");
	/* consumer state: a failing write keeps the old state */
	g_assert_cmpint(s->ops->consumer_save(s, "c", "v1", 2), ==, JS_STORE_OK);
	sim_disk_fail_next(env.disk, SIM_DISK_OP_SYNC, BROKER_STORAGE_IO, 1);
	g_assert_cmpint(s->ops->consumer_save(s, "c", "v2", 2), ==, JS_STORE_IO);
	GByteArray *b = g_byte_array_new();
	g_assert_cmpint(s->ops->consumer_load(s, "c", b), ==, JS_STORE_OK);
	g_assert_cmpmem(b->data, b->len, "v1", 2);
	g_byte_array_free(b, TRUE);
	sim_disk_fail_next(env.disk, SIM_DISK_OP_READ, BROKER_STORAGE_IO, 1);
	JsStoredMsg m;
	g_assert_cmpint(s->ops->load(s, 2, &m), ==, JS_STORE_IO);
	assert_msg(s, 2, "a", NULL, "two");
	env_crash(&env, s);
	s = open_on(env.st, JS_STORE_SYNC_ALWAYS, 0, 0, NULL);
	JsStoreState st = state_of(s);
	g_assert_cmpuint(st.msgs, ==, 2);
	g_assert_cmpuint(st.last_seq, ==, 2);
	assert_msg(s, 1, "a", NULL, "one");
	assert_msg(s, 2, "a", NULL, "two");
	s->ops->close(s);
	/* an open that cannot read fails cleanly */
	sim_disk_fail_next(env.disk, SIM_DISK_OP_READ, BROKER_STORAGE_IO, 1);
	JsStoreConfig config = { .stream = STREAM, .sync = JS_STORE_SYNC_ALWAYS };
	JsStoreStatus status = JS_STORE_OK;
	char *report = NULL;
	g_assert_null(js_filestore_open(env.st, &config, 0, &report, &status));
	g_assert_cmpint(status, ==, JS_STORE_IO);
	g_free(report);
	s = open_on(env.st, JS_STORE_SYNC_ALWAYS, 0, 0, NULL);
	s->ops->destroy_all(s);
	env_clear(&env);
}

/* Random workloads with random injected write/sync failures and crashes:
 * a failed operation may or may not have happened, an acknowledged one
 * always did; nothing stored is ever served altered. */
static void
test_faults_random(void)
{
	for (uint64_t seed = 1; seed <= 300; seed++) {
		Env env;
		env_init(&env, seed, 0.5);
		Prng prng;
		prng_seed(&prng, seed ^ 0xd4d4);
		uint64_t block = block_choices[prng_below(&prng, G_N_ELEMENTS(block_choices))];
		JsStore *s = open_on(env.st, JS_STORE_SYNC_ALWAYS, block, 0, NULL);
		Model m;
		model_init(&m);
		for (int step = 0; step < 60; step++) {
			uint64_t r = prng_below(&prng, 100);
			if (r < 10) {
				SimDiskOp op = prng_chance(&prng, 0.5) ? SIM_DISK_OP_WRITE : SIM_DISK_OP_SYNC;
				BrokerStorageStatus st = prng_chance(&prng, 0.5) ? BROKER_STORAGE_IO : BROKER_STORAGE_NO_SPACE;
				sim_disk_fail_next(env.disk, op, st, 1 + (uint32_t)prng_below(&prng, 2));
				uint64_t seq = 0;
				char data[16];
				g_snprintf(data, sizeof(data), "f%d", step);
				JsStoreStatus status =
				    s->ops->store(s, "s.1", 3, NULL, 0, data, strlen(data), SIM_EPOCH_UNIX_NS + step, &seq);
				if (status == JS_STORE_OK) {
					MMsg *x = g_new0(MMsg, 1);
					x->subject = g_strdup("s.1");
					x->data = g_bytes_new(data, strlen(data));
					x->ts_ns = SIM_EPOCH_UNIX_NS + step;
					model_assign(&m, x);
				} else if (m.last_seq > 0) {
					g_assert_true(status == JS_STORE_IO || status == JS_STORE_NO_SPACE);
					/* a failed removal: either outcome is allowed */
					uint64_t victim = 1 + prng_below(&prng, m.last_seq);
					sim_disk_fail_next(env.disk, op, st, 1);
					status = s->ops->remove(s, victim, prng_chance(&prng, 0.5));
					if (status == JS_STORE_OK) {
						m.live->data[victim] = 0;
					} else {
						if (m.uncertain->len <= victim) {
							guint old = m.uncertain->len;
							g_byte_array_set_size(m.uncertain, (guint)victim + 1);
							memset(m.uncertain->data + old, 0, victim + 1 - old);
						}
						m.uncertain->data[victim] = 1;
						JsStoredMsg got;
						m.live->data[victim] = s->ops->load(s, victim, &got) == JS_STORE_OK;
					}
				}
				sim_disk_fail_next(env.disk, op, st, 0);
			} else if (r < 18) {
				env_crash(&env, s);
				s = open_on(env.st, JS_STORE_SYNC_ALWAYS, block, 0, NULL);
				model_check(&m, s);
			} else {
				workload_step(&prng, &m, s, SIM_EPOCH_UNIX_NS + step);
			}
		}
		model_check(&m, s);
		s->ops->destroy_all(s);
		model_clear(&m);
		env_clear(&env);
	}
}

/* ---- sync policy, consumer state, streams ---------------------------------------- */

/* INTERVAL: nothing is synced until the deadline; the deadline is the last
 * sync plus the interval while something is dirty, INT64_MAX otherwise;
 * consumer state updates wait for it too (a consumer's creation does not).
 * The default policy is INTERVAL with nats-server's 2 minutes. */
static void
test_interval_timer(void)
{
	Env env;
	env_init(&env, 11, 0);
	int64_t t0 = SIM_EPOCH_UNIX_NS;
	JsStore *s = open_on(env.st, JS_STORE_SYNC_INTERVAL, 0, t0, NULL);
	g_assert_cmpint(s->ops->next_deadline(s), ==, INT64_MAX);
	put(s, "a", NULL, "one", t0 + 1);
	g_assert_cmpint(s->ops->next_deadline(s), ==, t0 + 50 * SIM_NS_PER_MS);
	g_assert_cmpint(s->ops->consumer_save(s, "c", "v1", 2), ==, JS_STORE_OK);
	g_assert_cmpint(sim_disk_file_size(env.disk, "jetstream/S/obs/c.state"), ==, 2 + FS_BLOB_OVERHEAD_BYTES);
	g_assert_cmpint(s->ops->consumer_save(s, "c", "v2-longer", 9), ==, JS_STORE_OK);
	g_assert_cmpint(sim_disk_file_size(env.disk, "jetstream/S/obs/c.state"), ==, 2 + FS_BLOB_OVERHEAD_BYTES);
	s->ops->on_timer(s, t0 + 49 * SIM_NS_PER_MS);
	int64_t size = sim_disk_file_size(env.disk, SEG1);
	g_assert_cmpint(sim_disk_file_synced_bytes(env.disk, SEG1), <, size);
	g_assert_cmpint(sim_disk_file_size(env.disk, "jetstream/S/obs/c.state"), ==, 2 + FS_BLOB_OVERHEAD_BYTES);
	s->ops->on_timer(s, t0 + 50 * SIM_NS_PER_MS);
	g_assert_cmpint(sim_disk_file_synced_bytes(env.disk, SEG1), ==, size);
	g_assert_cmpint(sim_disk_file_size(env.disk, "jetstream/S/obs/c.state"), ==, 9 + FS_BLOB_OVERHEAD_BYTES);
	g_assert_cmpint(s->ops->next_deadline(s), ==, INT64_MAX);
	put(s, "a", NULL, "two", t0 + 60 * SIM_NS_PER_MS);
	g_assert_cmpint(s->ops->next_deadline(s), ==, t0 + 100 * SIM_NS_PER_MS);
	s->ops->destroy_all(s);
	/* the default: INTERVAL, 2 minutes */
	JsStoreConfig config = { .stream = STREAM };
	JsStoreStatus status;
	s = js_filestore_open(env.st, &config, t0, NULL, &status);
	g_assert_cmpint(status, ==, JS_STORE_OK);
	put(s, "a", NULL, "one", t0);
	g_assert_cmpint(s->ops->next_deadline(s), ==, t0 + 120 * SIM_NS_PER_S);
	g_assert_cmpint(sim_disk_file_synced_bytes(env.disk, SEG1), ==, MARK_BYTES);
	s->ops->destroy_all(s);
	/* ALWAYS never asks for the timer and syncs before returning */
	s = open_on(env.st, JS_STORE_SYNC_ALWAYS, 0, t0, NULL);
	put(s, "a", NULL, "one", t0);
	g_assert_cmpint(s->ops->next_deadline(s), ==, INT64_MAX);
	g_assert_cmpint(sim_disk_file_synced_bytes(env.disk, SEG1), ==, sim_disk_file_size(env.disk, SEG1));
	s->ops->destroy_all(s);
	env_clear(&env);
}

/* Stream and consumer metadata are durable at creation under INTERVAL too
 * (nats-server writes a stream's meta.inf and a consumer's meta when they
 * are created): a power loss before the first timer tick keeps the
 * stream's config and every consumer created, with its first state; what
 * goes is what the interval promises no more than - the messages and the
 * consumer updates since the last sync. */
static void
test_interval_metadata_at_creation(void)
{
	Env env;
	env_init(&env, 18, 1.0);
	int64_t t0 = SIM_EPOCH_UNIX_NS;
	JsStore *s = open_on(env.st, JS_STORE_SYNC_INTERVAL, 0, t0, NULL);
	const char *meta = "{\"config\":{\"name\":\"S\",\"subjects\":[\"a\"]},\"created\":1}";
	g_assert_cmpint(s->ops->meta_save(s, meta), ==, JS_STORE_OK);
	g_assert_cmpint(s->ops->consumer_save(s, "dur", "created", 7), ==, JS_STORE_OK);
	put(s, "a", NULL, "one", t0 + 1);
	g_assert_cmpint(s->ops->consumer_save(s, "dur", "updated", 7), ==, JS_STORE_OK);
	g_assert_cmpint(s->ops->consumer_save(s, "second", "v1", 2), ==, JS_STORE_OK);
	/* both consumer files are on disk and synced already */
	g_assert_cmpint(sim_disk_file_synced_bytes(env.disk, "jetstream/S/obs/dur.state"), ==,
	    7 + FS_BLOB_OVERHEAD_BYTES);
	g_assert_cmpint(sim_disk_file_synced_bytes(env.disk, "jetstream/S/obs/second.state"), ==,
	    2 + FS_BLOB_OVERHEAD_BYTES);
	g_assert_cmpint(s->ops->next_deadline(s), ==, t0 + 50 * SIM_NS_PER_MS);
	s->ops->on_timer(s, t0 + 20 * SIM_NS_PER_MS); /* not due: nothing synced */
	env_crash(&env, s);
	GArray *found = g_array_new(FALSE, FALSE, sizeof(JsFoundStream));
	js_filestore_find_streams(env.st, found);
	g_assert_cmpuint(found->len, ==, 1);
	g_assert_cmpstr(g_array_index(found, JsFoundStream, 0).name, ==, STREAM);
	g_assert_cmpstr(g_array_index(found, JsFoundStream, 0).meta_json, ==, meta);
	g_free(g_array_index(found, JsFoundStream, 0).name);
	g_free(g_array_index(found, JsFoundStream, 0).meta_json);
	g_array_free(found, TRUE);
	char *report = NULL;
	s = open_on(env.st, JS_STORE_SYNC_INTERVAL, 0, t0 + 2 * SIM_NS_PER_S, &report);
	if (report != NULL)
		g_assert_nonnull(strstr(report, "torn tail")); /* the unsynced message, torn */
	g_free(report);
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	s->ops->consumer_names(s, names);
	g_assert_cmpuint(names->len, ==, 2);
	g_assert_cmpstr(names->pdata[0], ==, "dur");
	g_assert_cmpstr(names->pdata[1], ==, "second");
	g_ptr_array_free(names, TRUE);
	GByteArray *b = g_byte_array_new();
	g_assert_cmpint(s->ops->consumer_load(s, "dur", b), ==, JS_STORE_OK);
	g_assert_cmpmem(b->data, b->len, "created", 7); /* the update was not synced yet */
	g_byte_array_set_size(b, 0);
	g_assert_cmpint(s->ops->consumer_load(s, "second", b), ==, JS_STORE_OK);
	g_assert_cmpmem(b->data, b->len, "v1", 2);
	g_byte_array_free(b, TRUE);
	/* a consumer removed and created again is written at once again */
	g_assert_cmpint(s->ops->consumer_remove(s, "second"), ==, JS_STORE_OK);
	g_assert_cmpint(s->ops->consumer_save(s, "second", "v2", 2), ==, JS_STORE_OK);
	env_crash(&env, s);
	s = open_on(env.st, JS_STORE_SYNC_INTERVAL, 0, t0, NULL);
	b = g_byte_array_new();
	g_assert_cmpint(s->ops->consumer_load(s, "second", b), ==, JS_STORE_OK);
	g_assert_cmpmem(b->data, b->len, "v2", 2);
	g_byte_array_free(b, TRUE);
	/* creation fails cleanly when the disk does: not listed, not pending */
	sim_disk_fail_next(env.disk, SIM_DISK_OP_SYNC, BROKER_STORAGE_IO, 1);
	g_assert_cmpint(s->ops->consumer_save(s, "third", "v1", 2), ==, JS_STORE_IO);
	b = g_byte_array_new();
	g_assert_cmpint(s->ops->consumer_load(s, "third", b), ==, JS_STORE_NOT_FOUND);
	g_byte_array_free(b, TRUE);
	s->ops->destroy_all(s);
	env_clear(&env);
}

/* An orderly shutdown is sync() then close(): under INTERVAL, sync()
 * writes the consumer states held only in memory and syncs every segment,
 * so a power loss right after the shutdown loses nothing; a failing
 * sync() reports the error and keeps the state pending for the next. */
static void
test_orderly_shutdown_sync(void)
{
	Env env;
	env_init(&env, 20, 1.0);
	int64_t t0 = SIM_EPOCH_UNIX_NS;
	JsStore *s = open_on(env.st, JS_STORE_SYNC_INTERVAL, 200, t0, NULL);
	for (int k = 1; k <= 6; k++)
		put(s, "a", NULL, "message", t0 + k);
	g_assert_cmpint(s->ops->remove(s, 2, false), ==, JS_STORE_OK);
	g_assert_cmpint(s->ops->consumer_save(s, "dur", "v1", 2), ==, JS_STORE_OK);
	g_assert_cmpint(s->ops->consumer_save(s, "dur", "v2-in-memory", 12), ==, JS_STORE_OK);
	sim_disk_fail_next(env.disk, SIM_DISK_OP_SYNC, BROKER_STORAGE_IO, 1);
	g_assert_cmpint(s->ops->sync(s), ==, JS_STORE_IO);
	g_assert_cmpint(s->ops->next_deadline(s), !=, INT64_MAX); /* still waiting */
	g_assert_cmpint(s->ops->sync(s), ==, JS_STORE_OK);
	g_assert_cmpint(s->ops->next_deadline(s), ==, INT64_MAX);
	/* the shutdown: close after sync; then the power goes */
	s->ops->close(s);
	sim_node_crash(env.node);
	sim_node_restart(env.node);
	s = open_on(env.st, JS_STORE_SYNC_INTERVAL, 200, t0, NULL);
	JsStoreState st = state_of(s);
	g_assert_cmpuint(st.msgs, ==, 5);
	g_assert_cmpuint(st.last_seq, ==, 6);
	JsStoredMsg m;
	g_assert_cmpint(s->ops->load(s, 2, &m), ==, JS_STORE_DELETED);
	assert_msg(s, 6, "a", NULL, "message");
	GByteArray *b = g_byte_array_new();
	g_assert_cmpint(s->ops->consumer_load(s, "dur", b), ==, JS_STORE_OK);
	g_assert_cmpmem(b->data, b->len, "v2-in-memory", 12);
	g_byte_array_free(b, TRUE);
	s->ops->destroy_all(s);
	env_clear(&env);
}

/* Consumer state files are replaced atomically: no temporary file stays,
 * a leftover one from an interrupted write is removed at open, a crash
 * keeps the last acknowledged state. */
static void
test_consumer_state_atomic(void)
{
	Env env;
	env_init(&env, 12, 1.0);
	JsStore *s = open_on(env.st, JS_STORE_SYNC_ALWAYS, 0, 0, NULL);
	g_assert_cmpint(s->ops->consumer_save(s, "dur", "v1", 2), ==, JS_STORE_OK);
	g_assert_cmpint(s->ops->consumer_save(s, "dur", "version-2", 9), ==, JS_STORE_OK);
	g_assert_cmpint(sim_disk_file_size(env.disk, "jetstream/S/obs/dur.state.tmp"), ==, -1);
	g_assert_cmpint(sim_disk_file_size(env.disk, "jetstream/S/obs/dur.state"), ==, 9 + FS_BLOB_OVERHEAD_BYTES);
	/* an interrupted write left a temporary file */
	BrokerStorageFile *f;
	g_assert_cmpint(env.st->ops->open(env.st->ctx, "jetstream/S/obs/dur.state.tmp", BROKER_STORAGE_CREATE, &f), ==,
	    BROKER_STORAGE_OK);
	env.st->ops->append(env.st->ctx, f, "half", 4);
	env.st->ops->close(env.st->ctx, f);
	env_crash(&env, s);
	s = open_on(env.st, JS_STORE_SYNC_ALWAYS, 0, 0, NULL);
	g_assert_cmpint(sim_disk_file_size(env.disk, "jetstream/S/obs/dur.state.tmp"), ==, -1);
	GByteArray *b = g_byte_array_new();
	g_assert_cmpint(s->ops->consumer_load(s, "dur", b), ==, JS_STORE_OK);
	g_assert_cmpmem(b->data, b->len, "version-2", 9);
	g_byte_array_free(b, TRUE);
	g_assert_cmpint(s->ops->consumer_remove(s, "dur"), ==, JS_STORE_OK);
	env_crash(&env, s);
	s = open_on(env.st, JS_STORE_SYNC_ALWAYS, 0, 0, NULL);
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	s->ops->consumer_names(s, names);
	g_assert_cmpuint(names->len, ==, 0);
	g_ptr_array_free(names, TRUE);
	s->ops->destroy_all(s);
	env_clear(&env);
}

/* find_streams lists stream directories in name order with the config
 * text exactly as saved; a stream without meta comes with NULL. */
static void
test_find_streams(void)
{
	Env env;
	env_init(&env, 13, 0);
	const char *names[] = { "ORDERS", "AUDIT", "EMPTY" };
	const char *metas[] = { "{\"name\":\"ORDERS\",\n \"subjects\":[\"o.>\"]}", "{\"name\":\"AUDIT\"}", NULL };
	for (size_t k = 0; k < G_N_ELEMENTS(names); k++) {
		JsStoreConfig config = { .stream = names[k], .sync = JS_STORE_SYNC_ALWAYS };
		JsStoreStatus status;
		JsStore *s = js_filestore_open(env.st, &config, 0, NULL, &status);
		if (metas[k] != NULL)
			g_assert_cmpint(s->ops->meta_save(s, metas[k]), ==, JS_STORE_OK);
		put(s, "x", NULL, "y", 1);
		s->ops->close(s);
	}
	GArray *found = g_array_new(FALSE, FALSE, sizeof(JsFoundStream));
	js_filestore_find_streams(env.st, found);
	g_assert_cmpuint(found->len, ==, 3);
	JsFoundStream *f = (JsFoundStream *)(void *)found->data;
	g_assert_cmpstr(f[0].name, ==, "AUDIT");
	g_assert_cmpstr(f[0].meta_json, ==, metas[1]);
	g_assert_cmpstr(f[1].name, ==, "EMPTY");
	g_assert_null(f[1].meta_json);
	g_assert_cmpstr(f[2].name, ==, "ORDERS");
	g_assert_cmpstr(f[2].meta_json, ==, metas[0]);
	for (guint k = 0; k < found->len; k++) {
		g_free(f[k].name);
		g_free(f[k].meta_json);
	}
	g_array_free(found, TRUE);
	/* destroy_all of one stream leaves the others */
	JsStoreConfig config = { .stream = "AUDIT", .sync = JS_STORE_SYNC_ALWAYS };
	JsStoreStatus status;
	JsStore *s = js_filestore_open(env.st, &config, 0, NULL, &status);
	s->ops->destroy_all(s);
	found = g_array_new(FALSE, FALSE, sizeof(JsFoundStream));
	js_filestore_find_streams(env.st, found);
	g_assert_cmpuint(found->len, ==, 2);
	for (guint k = 0; k < found->len; k++) {
		g_free(g_array_index(found, JsFoundStream, k).name);
		g_free(g_array_index(found, JsFoundStream, k).meta_json);
	}
	g_array_free(found, TRUE);
	env_clear(&env);
}

/* The largest message the limits allow (a 65535-byte subject) goes in and
 * comes back. */
static void
test_limits(void)
{
	Env env;
	env_init(&env, 14, 0);
	JsStore *s = open_on(env.st, JS_STORE_SYNC_ALWAYS, 1000, 0, NULL);
	char *subject = g_malloc(FS_SUBJECT_BYTES_MAX + 1);
	memset(subject, 'q', FS_SUBJECT_BYTES_MAX);
	subject[FS_SUBJECT_BYTES_MAX] = '\0';
	put(s, subject, "NATS/1.0\r\n\r\n", "big", 1);
	put(s, "small", NULL, "after", 2);
	s->ops->close(s);
	s = open_on(env.st, JS_STORE_SYNC_ALWAYS, 1000, 0, NULL);
	assert_msg(s, 1, subject, "NATS/1.0\r\n\r\n", "big");
	assert_msg(s, 2, "small", NULL, "after");
	g_assert_cmpuint(state_of(s).bytes,
	    ==, js_filestore_msg_bytes(FS_SUBJECT_BYTES_MAX, 12, 3) + js_filestore_msg_bytes(5, 0, 5));
	g_free(subject);
	s->ops->destroy_all(s);
	env_clear(&env);
}

/* The same workload against the memory store: every query answers the
 * same (bytes aside: each store counts its own). */
static void
test_same_as_memstore(void)
{
	for (uint64_t seed = 1; seed <= 40; seed++) {
		Env env;
		env_init(&env, seed, 0);
		Prng prng;
		prng_seed(&prng, seed ^ 0xe5e5);
		JsStore *s = open_on(env.st, JS_STORE_SYNC_INTERVAL, 300, 0, NULL);
		JsStoreConfig config = { .stream = STREAM };
		JsStore *mem = js_memstore_create(&config);
		Model m;
		model_init(&m);
		for (int step = 0; step < 200; step++)
			workload_step(&prng, &m, s, step + 1);
		/* replay the recorded history on the memory store */
		for (uint64_t seq = 1; seq <= m.last_seq; seq++) {
			MMsg *x = mmsg(&m, seq);
			uint64_t got = 0;
			if (x->subject == NULL) {
				mem->ops->skip(mem, x->ts_ns, &got);
			} else {
				gsize hn = 0, dn = 0;
				const void *h = x->hdr ? g_bytes_get_data(x->hdr, &hn) : NULL;
				const void *d = g_bytes_get_data(x->data, &dn);
				mem->ops->store(mem, x->subject, strlen(x->subject), h, hn, d, dn, x->ts_ns, &got);
			}
			g_assert_cmpuint(got, ==, seq);
		}
		for (uint64_t seq = 1; seq <= m.last_seq; seq++)
			if (!mlive(&m, seq) && mmsg(&m, seq)->subject != NULL)
				mem->ops->remove(mem, seq, false);
		JsStoreState a = state_of(s), b = state_of(mem);
		g_assert_cmpuint(a.msgs, ==, b.msgs);
		g_assert_cmpuint(a.first_seq, ==, b.first_seq);
		g_assert_cmpuint(a.last_seq, ==, b.last_seq);
		g_assert_cmpuint(a.num_deleted, ==, b.num_deleted);
		g_assert_cmpuint(a.num_subjects, ==, b.num_subjects);
		g_assert_cmpint(a.first_ts_ns, ==, b.first_ts_ns);
		for (size_t k = 0; k < G_N_ELEMENTS(filters_used); k++) {
			const char *f = filters_used[k];
			for (uint64_t start = 0; start <= m.last_seq + 1; start += 7) {
				g_assert_cmpuint(s->ops->count(s, start, f, false), ==, mem->ops->count(mem, start, f, false));
				g_assert_cmpuint(s->ops->count(s, start, f, true), ==, mem->ops->count(mem, start, f, true));
				JsStoredMsg x, y;
				JsStoreStatus sx = s->ops->load_next(s, f, start, &x);
				uint64_t xs = sx == JS_STORE_OK ? x.seq : 0;
				JsStoreStatus sy = mem->ops->load_next(mem, f, start, &y);
				g_assert_cmpint(sx, ==, sy);
				if (sy == JS_STORE_OK)
					g_assert_cmpuint(xs, ==, y.seq);
			}
			JsStoredMsg x, y;
			JsStoreStatus sx = s->ops->load_last(s, f, &x);
			uint64_t xs = sx == JS_STORE_OK ? x.seq : 0;
			JsStoreStatus sy = mem->ops->load_last(mem, f, &y);
			g_assert_cmpint(sx, ==, sy);
			if (sy == JS_STORE_OK)
				g_assert_cmpuint(xs, ==, y.seq);
			uint64_t p1 = 0, p2 = 0;
			uint64_t keep = seed % 3, upto = (seed % 2) ? 0 : m.last_seq / 2;
			if (k == G_N_ELEMENTS(filters_used) - 1) {
				g_assert_cmpint(s->ops->purge(s, "s.*", upto, keep, &p1), ==, JS_STORE_OK);
				g_assert_cmpint(mem->ops->purge(mem, "s.*", upto, keep, &p2), ==, JS_STORE_OK);
				g_assert_cmpuint(p1, ==, p2);
			}
		}
		g_assert_cmpuint(state_of(s).msgs, ==, state_of(mem).msgs);
		g_assert_cmpuint(state_of(s).first_seq, ==, state_of(mem).first_seq);
		mem->ops->destroy_all(mem);
		s->ops->destroy_all(s);
		model_clear(&m);
		env_clear(&env);
	}
}

/* On a real directory: a restart keeps everything, destroy_all leaves the
 * root empty. */
static void
test_posix_restart(void)
{
	GError *error = NULL;
	char *dir = g_dir_make_tmp("natsim-filestore-XXXXXX", &error);
	g_assert_no_error(error);
	BrokerStorage *st = broker_storage_posix_create(dir, &error);
	g_assert_no_error(error);
	Prng prng;
	prng_seed(&prng, 99);
	Model m;
	model_init(&m);
	JsStore *s = open_on(st, JS_STORE_SYNC_ALWAYS, 400, 0, NULL);
	for (int step = 0; step < 200; step++)
		workload_step(&prng, &m, s, step);
	model_check(&m, s);
	s->ops->close(s);
	s = open_on(st, JS_STORE_SYNC_INTERVAL, 400, 0, NULL);
	model_check(&m, s);
	for (int step = 0; step < 200; step++)
		workload_step(&prng, &m, s, 1000 + step);
	g_assert_cmpint(s->ops->sync(s), ==, JS_STORE_OK);
	s->ops->close(s);
	s = open_on(st, JS_STORE_SYNC_ALWAYS, 400, 0, NULL);
	model_check(&m, s);
	s->ops->destroy_all(s);
	GPtrArray *left = list_dir(st, "");
	g_assert_cmpuint(left->len, ==, 0);
	g_ptr_array_free(left, TRUE);
	broker_storage_posix_destroy(st);
	g_assert_cmpint(g_rmdir(dir), ==, 0);
	g_free(dir);
	model_clear(&m);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);

	static ContractCtx sim_always = { .sync = JS_STORE_SYNC_ALWAYS };
	static ContractCtx sim_small = { .sync = JS_STORE_SYNC_INTERVAL, .block_bytes = 150 };
	static ContractCtx posix_ctx = { .sync = JS_STORE_SYNC_ALWAYS };
	GError *error = NULL;
	posix_ctx.dir = g_dir_make_tmp("natsim-filestore-contract-XXXXXX", &error);
	g_assert_no_error(error);
	static StoreContractFactory factories[3];
	factories[0] = (StoreContractFactory){ "/js/filestore/contract-sim", contract_open, contract_reopen,
		contract_cleanup, js_filestore_msg_bytes, &sim_always };
	factories[1] = (StoreContractFactory){ "/js/filestore/contract-small-segments", contract_open,
		contract_reopen, contract_cleanup, js_filestore_msg_bytes, &sim_small };
	factories[2] = (StoreContractFactory){ "/js/filestore/contract-posix", contract_open, contract_reopen,
		contract_cleanup, js_filestore_msg_bytes, &posix_ctx };
	for (size_t k = 0; k < G_N_ELEMENTS(factories); k++)
		store_contract_add_tests(&factories[k]);

	g_test_add_func("/js/filestore/msg-bytes", test_msg_bytes);
	g_test_add_func("/js/filestore/record-format", test_record_format);
	g_test_add_func("/js/filestore/erased-frame", test_erased_frame);
	g_test_add_func("/js/filestore/damaged-record-length", test_damaged_record_length);
	g_test_add_func("/js/filestore/legacy-records", test_legacy_records);
	g_test_add_func("/js/filestore/small-file-formats", test_small_file_formats);
	g_test_add_func("/js/filestore/sequences", test_sequences);
	g_test_add_func("/js/filestore/segments", test_segments);
	g_test_add_func("/js/filestore/odd-files", test_odd_files);
	g_test_add_func("/js/filestore/report-details", test_report_details);
	g_test_add_func("/js/filestore/purge-on-full-disk", test_purge_on_full_disk);
	g_test_add_func("/js/filestore/restart-keeps-everything", test_restart_keeps_everything);
	g_test_add_func("/js/filestore/erase", test_erase);
	g_test_add_func("/js/filestore/crash-always", test_crash_always);
	g_test_add_func("/js/filestore/crash-interval", test_crash_interval);
	g_test_add_func("/js/filestore/torn-tail", test_torn_tail);
	g_test_add_func("/js/filestore/bit-flip-detected", test_bit_flip_detected);
	g_test_add_func("/js/filestore/bit-flip-last-record", test_bit_flip_last_record);
	g_test_add_func("/js/filestore/damage-then-torn-tail", test_damage_then_torn_tail);
	g_test_add_func("/js/filestore/removal-survives-bit-flips", test_removal_survives_bit_flips);
	g_test_add_func("/js/filestore/bit-flip-at-runtime", test_bit_flip_at_runtime);
	g_test_add_func("/js/filestore/bit-flips-random", test_bit_flips_random);
	g_test_add_func("/js/filestore/no-space", test_no_space);
	g_test_add_func("/js/filestore/io-errors", test_io_errors);
	g_test_add_func("/js/filestore/faults-random", test_faults_random);
	g_test_add_func("/js/filestore/interval-timer", test_interval_timer);
	g_test_add_func("/js/filestore/interval-metadata-at-creation", test_interval_metadata_at_creation);
	g_test_add_func("/js/filestore/orderly-shutdown-sync", test_orderly_shutdown_sync);
	g_test_add_func("/js/filestore/consumer-state-atomic", test_consumer_state_atomic);
	g_test_add_func("/js/filestore/find-streams", test_find_streams);
	g_test_add_func("/js/filestore/limits", test_limits);
	g_test_add_func("/js/filestore/same-as-memstore", test_same_as_memstore);
	g_test_add_func("/js/filestore/posix-restart", test_posix_restart);
	int rc = g_test_run();
	g_rmdir(posix_ctx.dir);
	g_free(posix_ctx.dir);
	return rc;
}
