/*
 * sublist.h - the subscription trie and its match cache.
 *
 * One level per subject token; literal tokens in a hash table (looked up,
 * never iterated), '*' and '>' in their own slots. Matching walks the trie
 * as nats-server's matchLevel does (at each level: the '>' node, then the
 * '*' branch, then the literal), so results come in the same pattern order:
 * '>' subscriptions first, then literal, then '*'. Within one node,
 * subscriptions come in insertion order (nats-server's order there is a Go
 * map's, i.e. random; clients must not depend on it either way).
 *
 * A result lists plain subscriptions and queue groups (members grouped by
 * queue name across all matching patterns, groups in first-seen order).
 * Results are cached per subject in a direct-mapped table; any insert or
 * remove invalidates the cache (a generation number). Results are
 * reference-counted so a delivery in progress keeps its result alive while
 * deliveries change the trie (auto-unsubscribe, slow consumers).
 */
#ifndef NATSIM_BROKER_SUBLIST_H
#define NATSIM_BROKER_SUBLIST_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct BrokerSub BrokerSub;
typedef struct BrokerConn BrokerConn;
typedef struct Sublist Sublist;
struct BrokerMsgView;

/* A subscription. The trie owns the node links; the connection owns the
 * conn links; the broker frees it (after it left the trie) once no
 * delivery in progress can see it. */
struct BrokerSub {
	BrokerConn *conn;
	char *subject;
	char *queue; /* NULL for a plain subscription */
	char *sid;
	size_t sid_len;     /* strlen(sid), for the encoder (client subscriptions) */
	uint64_t delivered; /* messages delivered so far */
	uint64_t max;       /* auto-unsubscribe limit; 0 = none */
	uint64_t seq;       /* creation order, broker-wide */
	bool closed;        /* removed; deliveries skip it */
	void (*icb)(void *ctx, const struct BrokerMsgView *msg); /* internal subscriptions only */
	void *ictx;
	void *node;         /* SublistNode* while in the trie */
	BrokerSub *node_prev, *node_next;
	BrokerSub *conn_prev, *conn_next;
	BrokerSub *dead_next;
};

typedef struct SublistQueueGroup {
	const char *queue;
	GPtrArray *members; /* BrokerSub* */
} SublistQueueGroup;

typedef struct SublistResult {
	int refs;
	GPtrArray *psubs;  /* BrokerSub*, plain */
	GArray *qgroups;   /* SublistQueueGroup */
} SublistResult;

typedef struct SublistStats {
	uint64_t count;   /* subscriptions in the trie */
	uint64_t inserts;
	uint64_t removes;
	uint64_t matches;
	uint64_t cache_hits;
	uint32_t cache_entries;
	uint32_t fanout_max;
	uint64_t fanout_total; /* sum of result sizes over matches (for the average) */
} SublistStats;

Sublist *sublist_create(void);
void sublist_destroy(Sublist *sl);

/* Inserts sub under sub->subject (plain or in sub->queue). False when the
 * subject is not a valid subscription subject (nothing inserted). */
bool sublist_insert(Sublist *sl, BrokerSub *sub);
/* Removes an inserted sub; empty branches are pruned. */
void sublist_remove(Sublist *sl, BrokerSub *sub);

/* The subscriptions matching a literal subject; release with
 * sublist_result_unref. Never NULL. */
SublistResult *sublist_match(Sublist *sl, const char *subject, size_t len);
void sublist_result_unref(SublistResult *result);

const SublistStats *sublist_stats(const Sublist *sl);

#endif
