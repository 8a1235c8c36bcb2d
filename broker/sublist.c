/*
 * sublist.c - see sublist.h.
 *
 * Invariants: a node is in its parent level exactly while it holds a
 * subscription or a non-empty next level; every cached result was computed
 * at the current generation or is ignored; a subscription is in at most
 * one node list.
 */
#include "broker/sublist.h"

#include <string.h>
/* Inlined: the cache lookup hashes every published subject. */
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "proto/assert.h"
#include "proto/subject.h"

#define CACHE_SLOTS 1024 /* nats-server's slCacheMax */

typedef struct SublistLevel SublistLevel;

typedef struct SublistNode {
	SublistLevel *next;
	BrokerSub *phead, *ptail;
	BrokerSub *qhead, *qtail;
	uint32_t pcount, qcount;
} SublistNode;

struct SublistLevel {
	GHashTable *nodes; /* token (owned) -> SublistNode* */
	SublistNode *pwc;
	SublistNode *fwc;
};

typedef struct CacheSlot {
	char *subject;
	size_t len;
	uint64_t generation;
	SublistResult *result;
} CacheSlot;

struct Sublist {
	SublistLevel *root;
	uint64_t generation;
	CacheSlot cache[CACHE_SLOTS];
	SublistStats stats;
};

static SublistLevel *
level_new(void)
{
	SublistLevel *l = g_new0(SublistLevel, 1);
	l->nodes = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	return l;
}

static void level_free(SublistLevel *l);

static void
node_free(SublistNode *n)
{
	if (n == NULL)
		return;
	level_free(n->next);
	g_free(n);
}

static void
level_free(SublistLevel *l)
{
	if (l == NULL)
		return;
	GHashTableIter it;
	gpointer value;
	g_hash_table_iter_init(&it, l->nodes);
	while (g_hash_table_iter_next(&it, NULL, &value))
		node_free(value);
	g_hash_table_destroy(l->nodes);
	node_free(l->pwc);
	node_free(l->fwc);
	g_free(l);
}

static bool
level_empty(const SublistLevel *l)
{
	return l == NULL || (g_hash_table_size(l->nodes) == 0 && l->pwc == NULL && l->fwc == NULL);
}

static bool
node_empty(const SublistNode *n)
{
	return n->pcount == 0 && n->qcount == 0 && level_empty(n->next);
}

Sublist *
sublist_create(void)
{
	Sublist *sl = g_new0(Sublist, 1);
	sl->root = level_new();
	sl->generation = 1;
	return sl;
}

void
sublist_result_unref(SublistResult *r)
{
	if (r == NULL || --r->refs > 0)
		return;
	for (guint k = 0; k < r->qgroups->len; k++)
		g_ptr_array_free(g_array_index(r->qgroups, SublistQueueGroup, k).members, TRUE);
	g_array_free(r->qgroups, TRUE);
	g_ptr_array_free(r->psubs, TRUE);
	g_free(r);
}

static void
cache_slot_clear(CacheSlot *slot)
{
	g_free(slot->subject);
	sublist_result_unref(slot->result);
	*slot = (CacheSlot){ 0 };
}

void
sublist_destroy(Sublist *sl)
{
	if (sl == NULL)
		return;
	for (size_t k = 0; k < CACHE_SLOTS; k++)
		cache_slot_clear(&sl->cache[k]);
	level_free(sl->root);
	g_free(sl);
}

const SublistStats *
sublist_stats(const Sublist *sl)
{
	return &sl->stats;
}

/* Splits a subject into tokens; tokens[] holds offsets. */
typedef struct Tokens {
	const char *s;
	size_t count;
	size_t cap;
	size_t *start;
	size_t *len;
	size_t start_local[32];
	size_t len_local[32];
} Tokens;

static void
tokens_split(Tokens *t, const char *s, size_t len)
{
	t->s = s;
	t->count = 0;
	t->cap = 32;
	t->start = t->start_local;
	t->len = t->len_local;
	size_t begin = 0;
	for (size_t k = 0; k <= len; k++) {
		if (k < len && s[k] != '.')
			continue;
		if (t->count == t->cap) {
			size_t cap = t->cap * 2;
			size_t *ns = g_new(size_t, cap), *nl = g_new(size_t, cap);
			memcpy(ns, t->start, t->count * sizeof(size_t));
			memcpy(nl, t->len, t->count * sizeof(size_t));
			if (t->start != t->start_local) {
				g_free(t->start);
				g_free(t->len);
			}
			t->start = ns;
			t->len = nl;
			t->cap = cap;
		}
		t->start[t->count] = begin;
		t->len[t->count] = k - begin;
		t->count++;
		begin = k + 1;
	}
}

static void
tokens_free(Tokens *t)
{
	if (t->start != t->start_local) {
		g_free(t->start);
		g_free(t->len);
	}
}

static bool
token_is(const Tokens *t, size_t k, char c)
{
	return t->len[k] == 1 && t->s[t->start[k]] == c;
}

/* Looks a literal token up without copying it when it is short. */
static SublistNode *
level_lookup(SublistLevel *l, const char *tok, size_t len)
{
	/* No subscription subject holds a NUL byte, so such a token matches
	 * nothing (and must not be cut short by a C string compare). */
	if (memchr(tok, 0, len) != NULL)
		return NULL;
	char local[128];
	if (len < sizeof(local)) {
		memcpy(local, tok, len);
		local[len] = '\0';
		return g_hash_table_lookup(l->nodes, local);
	}
	char *key = g_strndup(tok, len);
	SublistNode *n = g_hash_table_lookup(l->nodes, key);
	g_free(key);
	return n;
}

static void
invalidate(Sublist *sl)
{
	sl->generation++;
	sl->stats.cache_entries = 0;
}

bool
sublist_insert(Sublist *sl, BrokerSub *sub)
{
	size_t slen = strlen(sub->subject);
	if (!proto_subject_valid_sub(sub->subject, slen))
		return false;
	ASSERT(sub->node == NULL);
	Tokens t;
	tokens_split(&t, sub->subject, slen);
	SublistLevel *l = sl->root;
	SublistNode *n = NULL;
	for (size_t k = 0; k < t.count; k++) {
		SublistNode **slot = NULL;
		if (token_is(&t, k, '*'))
			slot = &l->pwc;
		else if (token_is(&t, k, '>'))
			slot = &l->fwc;
		if (slot != NULL) {
			if (*slot == NULL)
				*slot = g_new0(SublistNode, 1);
			n = *slot;
		} else {
			n = level_lookup(l, t.s + t.start[k], t.len[k]);
			if (n == NULL) {
				n = g_new0(SublistNode, 1);
				g_hash_table_insert(l->nodes, g_strndup(t.s + t.start[k], t.len[k]), n);
			}
		}
		if (k + 1 < t.count) {
			if (n->next == NULL)
				n->next = level_new();
			l = n->next;
		}
	}
	tokens_free(&t);
	ASSERT(n != NULL);
	BrokerSub **head = sub->queue ? &n->qhead : &n->phead;
	BrokerSub **tail = sub->queue ? &n->qtail : &n->ptail;
	sub->node_prev = *tail;
	sub->node_next = NULL;
	if (*tail != NULL)
		(*tail)->node_next = sub;
	else
		*head = sub;
	*tail = sub;
	if (sub->queue)
		n->qcount++;
	else
		n->pcount++;
	sub->node = n;
	sl->stats.count++;
	sl->stats.inserts++;
	invalidate(sl);
	return true;
}

void
sublist_remove(Sublist *sl, BrokerSub *sub)
{
	SublistNode *n = sub->node;
	ASSERT(n != NULL);
	BrokerSub **head = sub->queue ? &n->qhead : &n->phead;
	BrokerSub **tail = sub->queue ? &n->qtail : &n->ptail;
	if (sub->node_prev != NULL)
		sub->node_prev->node_next = sub->node_next;
	else
		*head = sub->node_next;
	if (sub->node_next != NULL)
		sub->node_next->node_prev = sub->node_prev;
	else
		*tail = sub->node_prev;
	if (sub->queue)
		n->qcount--;
	else
		n->pcount--;
	sub->node = NULL;
	sub->node_prev = sub->node_next = NULL;
	sl->stats.count--;
	sl->stats.removes++;
	invalidate(sl);

	/* Prune: walk the path again, then drop empty nodes bottom-up. */
	Tokens t;
	size_t slen = strlen(sub->subject);
	tokens_split(&t, sub->subject, slen);
	SublistLevel **path_level = g_new(SublistLevel *, t.count);
	SublistNode **path_node = g_new(SublistNode *, t.count);
	SublistLevel *l = sl->root;
	for (size_t k = 0; k < t.count; k++) {
		SublistNode *x;
		if (token_is(&t, k, '*'))
			x = l->pwc;
		else if (token_is(&t, k, '>'))
			x = l->fwc;
		else
			x = level_lookup(l, t.s + t.start[k], t.len[k]);
		ASSERT(x != NULL);
		path_level[k] = l;
		path_node[k] = x;
		l = x->next;
	}
	for (size_t k = t.count; k-- > 0;) {
		SublistNode *x = path_node[k];
		if (!node_empty(x))
			break;
		SublistLevel *pl = path_level[k];
		if (pl->pwc == x)
			pl->pwc = NULL;
		else if (pl->fwc == x)
			pl->fwc = NULL;
		else {
			char *key = g_strndup(t.s + t.start[k], t.len[k]);
			gboolean removed = g_hash_table_remove(pl->nodes, key);
			ASSERT(removed);
			g_free(key);
		}
		node_free(x);
	}
	g_free(path_level);
	g_free(path_node);
	tokens_free(&t);
}

static void
add_node(SublistResult *r, SublistNode *n)
{
	for (BrokerSub *s = n->phead; s != NULL; s = s->node_next)
		g_ptr_array_add(r->psubs, s);
	for (BrokerSub *s = n->qhead; s != NULL; s = s->node_next) {
		SublistQueueGroup *group = NULL;
		for (guint k = 0; k < r->qgroups->len && group == NULL; k++) {
			SublistQueueGroup *g = &g_array_index(r->qgroups, SublistQueueGroup, k);
			if (strcmp(g->queue, s->queue) == 0)
				group = g;
		}
		if (group == NULL) {
			SublistQueueGroup g = { s->queue, g_ptr_array_new() };
			g_array_append_val(r->qgroups, g);
			group = &g_array_index(r->qgroups, SublistQueueGroup, r->qgroups->len - 1);
		}
		g_ptr_array_add(group->members, s);
	}
}

/* nats-server's matchLevel, token for token. */
static void
match_level(SublistLevel *l, const Tokens *t, size_t first, SublistResult *r)
{
	SublistNode *pwc = NULL, *n = NULL;
	for (size_t k = first; k < t->count; k++) {
		if (l == NULL)
			return;
		if (l->fwc != NULL)
			add_node(r, l->fwc);
		pwc = l->pwc;
		if (pwc != NULL)
			match_level(pwc->next, t, k + 1, r);
		n = level_lookup(l, t->s + t->start[k], t->len[k]);
		l = n != NULL ? n->next : NULL;
	}
	if (n != NULL)
		add_node(r, n);
	if (pwc != NULL)
		add_node(r, pwc);
}

static SublistResult *
result_new(void)
{
	SublistResult *r = g_new0(SublistResult, 1);
	r->refs = 1;
	r->psubs = g_ptr_array_new();
	r->qgroups = g_array_new(FALSE, FALSE, sizeof(SublistQueueGroup));
	return r;
}

SublistResult *
sublist_match(Sublist *sl, const char *subject, size_t len)
{
	sl->stats.matches++;
	uint64_t hash = XXH3_64bits(subject, len);
	CacheSlot *slot = &sl->cache[hash % CACHE_SLOTS];
	if (slot->result != NULL && slot->generation == sl->generation && slot->len == len &&
	    memcmp(slot->subject, subject, len) == 0) {
		sl->stats.cache_hits++;
		slot->result->refs++;
		return slot->result;
	}
	SublistResult *r = result_new();
	Tokens t;
	tokens_split(&t, subject, len);
	bool empty_token = false;
	for (size_t k = 0; k < t.count; k++)
		empty_token |= t.len[k] == 0;
	if (!empty_token)
		match_level(sl->root, &t, 0, r);
	tokens_free(&t);
	uint32_t fanout = r->psubs->len;
	for (guint k = 0; k < r->qgroups->len; k++)
		fanout += g_array_index(r->qgroups, SublistQueueGroup, k).members->len;
	sl->stats.fanout_max = MAX(sl->stats.fanout_max, fanout);
	sl->stats.fanout_total += fanout;
	if (slot->result == NULL || slot->generation != sl->generation)
		sl->stats.cache_entries++; /* a free or stale slot becomes live */
	cache_slot_clear(slot);
	slot->subject = g_strndup(subject, len);
	slot->len = len;
	slot->generation = sl->generation;
	slot->result = r;
	r->refs++;
	return r;
}
