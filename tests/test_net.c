/*
 * test_net.c - the virtual network: byte streams survive segmentation and
 * jitter intact and in order; partitions hold and heal; resets, closes,
 * refusals and crashes reach the right ends; the window pushes back.
 */
#include <glib.h>
#include <jansson.h>
#include <string.h>

#include "sim/net.h"
#include "sim/world.h"

typedef struct Peer {
	SimWorld *world;
	SimEnd *end;
	GByteArray *got;
	GArray *events;      /* SimConnEvent */
	GArray *event_times; /* int64_t */
	int64_t last_data_ns;
	gboolean reading; /* consume on READABLE */
	gboolean closed;  /* the end was released after EOF/RESET/REFUSED */
	/* optional writer role */
	GByteArray *to_send;
	gsize sent;
	guint writes; /* successful write calls */
} Peer;

static Peer *
peer_new(SimWorld *world)
{
	Peer *p = g_new0(Peer, 1);
	p->world = world;
	p->got = g_byte_array_new();
	p->events = g_array_new(FALSE, FALSE, sizeof(SimConnEvent));
	p->event_times = g_array_new(FALSE, FALSE, sizeof(int64_t));
	p->reading = TRUE;
	p->to_send = g_byte_array_new();
	return p;
}

static void
peer_free(Peer *p)
{
	g_byte_array_free(p->got, TRUE);
	g_byte_array_free(p->to_send, TRUE);
	g_array_free(p->events, TRUE);
	g_array_free(p->event_times, TRUE);
	g_free(p);
}

static void
peer_pump_send(Peer *p)
{
	while (p->end != NULL && p->sent < p->to_send->len) {
		int64_t n = sim_end_write(p->end, p->to_send->data + p->sent, p->to_send->len - p->sent);
		if (n <= 0)
			return;
		p->sent += (gsize)n;
		p->writes++;
	}
}

static void
peer_drain(Peer *p)
{
	const uint8_t *data;
	size_t n = sim_end_peek(p->end, &data);
	if (n == 0)
		return;
	g_byte_array_append(p->got, data, (guint)n);
	sim_end_consume(p->end, n);
	p->last_data_ns = sim_world_now_ns(p->world);
}

static void
peer_event(void *ctx, SimEnd *end, SimConnEvent event)
{
	Peer *p = ctx;
	int64_t now = sim_world_now_ns(p->world);
	g_assert_true(p->end == NULL || p->end == end);
	p->end = end;
	g_array_append_val(p->events, event);
	g_array_append_val(p->event_times, now);
	switch (event) {
	case SIM_CONN_READABLE:
		if (p->reading)
			peer_drain(p);
		break;
	case SIM_CONN_CONNECTED:
	case SIM_CONN_WRITABLE:
		peer_pump_send(p);
		break;
	case SIM_CONN_EOF:
		peer_drain(p);
		break;
	case SIM_CONN_RESET:
	case SIM_CONN_REFUSED:
		break;
	}
}

static void
peer_accept(void *ctx, SimEnd *end)
{
	Peer *p = ctx;
	p->end = end;
	sim_end_set_handler(end, peer_event, p);
	peer_pump_send(p);
}

static int
count_events(const Peer *p, SimConnEvent event)
{
	int n = 0;
	for (guint k = 0; k < p->events->len; k++)
		n += g_array_index(p->events, SimConnEvent, k) == event;
	return n;
}

static int64_t
first_event_ns(const Peer *p, SimConnEvent event)
{
	for (guint k = 0; k < p->events->len; k++)
		if (g_array_index(p->events, SimConnEvent, k) == event)
			return g_array_index(p->event_times, int64_t, k);
	return -1;
}

typedef struct Pair {
	SimWorld *world;
	SimNode *a, *b;
	Peer *client, *server;
} Pair;

static Pair *
pair_new(const SimWorldConfig *config)
{
	Pair *pair = g_new0(Pair, 1);
	pair->world = sim_world_create(config);
	pair->a = sim_node_create(pair->world, "a", NULL, NULL);
	pair->b = sim_node_create(pair->world, "b", NULL, NULL);
	pair->client = peer_new(pair->world);
	pair->server = peer_new(pair->world);
	g_assert_nonnull(sim_net_listen(pair->b, 4222, peer_accept, pair->server));
	pair->client->end = sim_net_connect(pair->a, pair->b, 4222, peer_event, pair->client);
	return pair;
}

static void
pair_free(Pair *pair)
{
	peer_free(pair->client);
	peer_free(pair->server);
	sim_world_destroy(pair->world);
	g_free(pair);
}

static SimWorldConfig
config_with(uint64_t seed, int64_t latency_ns)
{
	SimWorldConfig config = { .seed = seed, .link = sim_link_config_default() };
	config.link.latency_ns = latency_ns;
	return config;
}

static void
fill_random(GByteArray *buf, Prng *prng, guint len)
{
	for (guint k = 0; k < len; k++) {
		uint8_t byte = (uint8_t)prng_next(prng);
		g_byte_array_append(buf, &byte, 1);
	}
}

/* Many writes, cut at random points, with jitter and a small window: the
 * reader gets exactly the bytes written, in order - for several seeds, with
 * and without tie shuffling. Segmentation must really happen: more reads
 * than writes. */
static void
test_segmentation_preserves_bytes(void)
{
	for (uint64_t seed = 1; seed <= 6; seed++) {
		SimWorldConfig config = config_with(seed, SIM_NS_PER_MS);
		config.shuffle_ties = seed % 2 == 0;
		config.link.jitter_ns = seed % 3 == 0 ? 0 : SIM_NS_PER_MS;
		config.link.segment_bytes_max = 97;
		config.link.segment_split_chance = 0.7;
		config.link.window_bytes = 4096;
		Pair *pair = pair_new(&config);
		Prng prng;
		prng_seed(&prng, seed);
		fill_random(pair->client->to_send, &prng, 200000);
		fill_random(pair->server->to_send, &prng, 50000);
		sim_world_run(pair->world, INT64_MAX);
		g_assert_cmpuint(pair->server->got->len, ==, pair->client->to_send->len);
		g_assert_cmpmem(pair->server->got->data, pair->server->got->len, pair->client->to_send->data,
		    pair->client->to_send->len);
		g_assert_cmpmem(pair->client->got->data, pair->client->got->len, pair->server->to_send->data,
		    pair->server->to_send->len);
		/* With jitter, the pieces of one write arrive at different
		 * times: many more reads than writes. */
		if (config.link.jitter_ns > 0)
			g_assert_cmpint(count_events(pair->server, SIM_CONN_READABLE), >, 4 * pair->client->writes);
		pair_free(pair);
	}
}

static void
partition_event(void *ctx, uint64_t both)
{
	Pair *pair = ctx;
	sim_net_partition(pair->world, pair->a, pair->b, both != 0);
}

static void
heal_event(void *ctx, uint64_t both)
{
	Pair *pair = ctx;
	sim_net_heal(pair->world, pair->a, pair->b, both != 0);
}

static void
send_event(void *ctx, uint64_t arg)
{
	(void)arg;
	Peer *p = ctx;
	g_byte_array_append(p->to_send, (const guint8 *)"hello", 5);
	peer_pump_send(p);
}

/* A two-way partition holds bytes written during it; the heal releases
 * them, one latency after the heal. Without the heal they never arrive. */
static void
test_partition_holds_and_heal_releases(void)
{
	Pair *pair = pair_new(&(SimWorldConfig){ .seed = 1, .link = config_with(1, SIM_NS_PER_MS).link });
	sim_world_at(pair->world, 10 * SIM_NS_PER_MS, partition_event, pair, 1);
	sim_world_at(pair->world, 20 * SIM_NS_PER_MS, send_event, pair->client, 0);
	sim_world_at(pair->world, 20 * SIM_NS_PER_MS, send_event, pair->server, 0);
	sim_world_run(pair->world, 500 * SIM_NS_PER_MS);
	g_assert_cmpuint(pair->server->got->len, ==, 0);
	g_assert_cmpuint(pair->client->got->len, ==, 0);
	sim_world_at(pair->world, 500 * SIM_NS_PER_MS, heal_event, pair, 1);
	sim_world_run(pair->world, INT64_MAX);
	g_assert_cmpmem(pair->server->got->data, pair->server->got->len, "hello", 5);
	g_assert_cmpmem(pair->client->got->data, pair->client->got->len, "hello", 5);
	g_assert_cmpint(pair->server->last_data_ns, ==, 501 * SIM_NS_PER_MS);
	g_assert_cmpint(count_events(pair->client, SIM_CONN_RESET), ==, 0);
	pair_free(pair);
}

/* A one-way partition a -> b holds only that direction. */
static void
test_one_way_partition(void)
{
	Pair *pair = pair_new(&(SimWorldConfig){ .seed = 1, .link = config_with(1, SIM_NS_PER_MS).link });
	sim_world_at(pair->world, 10 * SIM_NS_PER_MS, partition_event, pair, 0);
	sim_world_at(pair->world, 20 * SIM_NS_PER_MS, send_event, pair->client, 0);
	sim_world_at(pair->world, 20 * SIM_NS_PER_MS, send_event, pair->server, 0);
	sim_world_run(pair->world, 100 * SIM_NS_PER_MS);
	g_assert_cmpuint(pair->server->got->len, ==, 0);
	g_assert_cmpmem(pair->client->got->data, pair->client->got->len, "hello", 5);
	g_assert_true(sim_net_blocked(pair->world, pair->a, pair->b));
	g_assert_false(sim_net_blocked(pair->world, pair->b, pair->a));
	pair_free(pair);
}

/* With partition_reset_ns, bytes held that long reset both ends, exactly
 * when the timeout expires. */
static void
test_partition_resets_after_timeout(void)
{
	SimWorldConfig config = config_with(1, SIM_NS_PER_MS);
	config.link.partition_reset_ns = 300 * SIM_NS_PER_MS;
	Pair *pair = pair_new(&config);
	sim_world_at(pair->world, 10 * SIM_NS_PER_MS, partition_event, pair, 1);
	sim_world_at(pair->world, 20 * SIM_NS_PER_MS, send_event, pair->client, 0);
	sim_world_run(pair->world, INT64_MAX);
	g_assert_cmpint(count_events(pair->client, SIM_CONN_RESET), ==, 1);
	g_assert_cmpint(count_events(pair->server, SIM_CONN_RESET), ==, 1);
	/* held from 21 ms (arrival time) + 300 ms */
	g_assert_cmpint(first_event_ns(pair->client, SIM_CONN_RESET), ==, 321 * SIM_NS_PER_MS);
	g_assert_cmpuint(pair->server->got->len, ==, 0);
	sim_end_close(pair->client->end);
	sim_end_close(pair->server->end);
	pair_free(pair);
}

static void
reset_client_event(void *ctx, uint64_t arg)
{
	(void)arg;
	Peer *p = ctx;
	sim_end_reset(p->end);
}

/* An abortive close by one end reaches the other after one latency. */
static void
test_reset_reaches_peer(void)
{
	Pair *pair = pair_new(&(SimWorldConfig){ .seed = 1, .link = config_with(1, 2 * SIM_NS_PER_MS).link });
	sim_world_at(pair->world, 50 * SIM_NS_PER_MS, reset_client_event, pair->client, 0);
	sim_world_run(pair->world, INT64_MAX);
	g_assert_cmpint(count_events(pair->server, SIM_CONN_RESET), ==, 1);
	g_assert_cmpint(first_event_ns(pair->server, SIM_CONN_RESET), ==, 52 * SIM_NS_PER_MS);
	g_assert_cmpint(count_events(pair->client, SIM_CONN_RESET), ==, 0);
	sim_end_close(pair->server->end);
	pair_free(pair);
}

static void
reset_fault_event(void *ctx, uint64_t arg)
{
	(void)arg;
	Pair *pair = ctx;
	g_assert_cmpuint(sim_net_reset_between(pair->world, pair->a, pair->b), ==, 1);
}

/* A reset fault is seen by both ends at once. */
static void
test_reset_fault_both_ends(void)
{
	Pair *pair = pair_new(&(SimWorldConfig){ .seed = 1, .link = config_with(1, SIM_NS_PER_MS).link });
	sim_world_at(pair->world, 50 * SIM_NS_PER_MS, reset_fault_event, pair, 0);
	sim_world_run(pair->world, INT64_MAX);
	g_assert_cmpint(first_event_ns(pair->client, SIM_CONN_RESET), ==, 50 * SIM_NS_PER_MS);
	g_assert_cmpint(first_event_ns(pair->server, SIM_CONN_RESET), ==, 50 * SIM_NS_PER_MS);
	g_assert_cmpint(sim_end_write(pair->client->end, "x", 1), ==, -1);
	sim_end_close(pair->client->end);
	sim_end_close(pair->server->end);
	pair_free(pair);
}

static void
write_and_close_event(void *ctx, uint64_t arg)
{
	(void)arg;
	Peer *p = ctx;
	g_assert_cmpint(sim_end_write(p->end, "bye", 3), ==, 3);
	sim_end_close(p->end);
	p->end = NULL;
}

/* An orderly close: the bytes written before it arrive, then EOF. */
static void
test_close_then_eof(void)
{
	SimWorldConfig config = config_with(1, SIM_NS_PER_MS);
	config.link.jitter_ns = 5 * SIM_NS_PER_MS;
	Pair *pair = pair_new(&config);
	sim_world_at(pair->world, 50 * SIM_NS_PER_MS, write_and_close_event, pair->client, 0);
	sim_world_run(pair->world, INT64_MAX);
	g_assert_cmpmem(pair->server->got->data, pair->server->got->len, "bye", 3);
	g_assert_cmpint(count_events(pair->server, SIM_CONN_EOF), ==, 1);
	guint last = pair->server->events->len - 1;
	g_assert_cmpint(g_array_index(pair->server->events, SimConnEvent, last), ==, SIM_CONN_EOF);
	sim_end_close(pair->server->end);
	pair_free(pair);
}

/* No listener: the connect is refused after a round trip. */
static void
test_refused_without_listener(void)
{
	SimWorld *world = sim_world_create(&(SimWorldConfig){ .seed = 1, .link = config_with(1, SIM_NS_PER_MS).link });
	SimNode *a = sim_node_create(world, "a", NULL, NULL);
	SimNode *b = sim_node_create(world, "b", NULL, NULL);
	Peer *p = peer_new(world);
	p->end = sim_net_connect(a, b, 9, peer_event, p);
	sim_world_run(world, INT64_MAX);
	g_assert_cmpint(count_events(p, SIM_CONN_REFUSED), ==, 1);
	g_assert_cmpint(first_event_ns(p, SIM_CONN_REFUSED), ==, 2 * SIM_NS_PER_MS);
	sim_end_close(p->end);
	peer_free(p);
	sim_world_destroy(world);
}

/* A connect across a partition times out (connect_timeout_ns). */
static void
test_connect_timeout_across_partition(void)
{
	SimWorld *world = sim_world_create(&(SimWorldConfig){ .seed = 1, .link = config_with(1, SIM_NS_PER_MS).link });
	SimNode *a = sim_node_create(world, "a", NULL, NULL);
	SimNode *b = sim_node_create(world, "b", NULL, NULL);
	Peer *server = peer_new(world);
	sim_net_listen(b, 9, peer_accept, server);
	sim_net_partition(world, a, b, true);
	Peer *p = peer_new(world);
	p->end = sim_net_connect(a, b, 9, peer_event, p);
	sim_world_run(world, INT64_MAX);
	g_assert_cmpint(count_events(p, SIM_CONN_REFUSED), ==, 1);
	g_assert_cmpint(first_event_ns(p, SIM_CONN_REFUSED), ==, 2 * SIM_NS_PER_S);
	g_assert_null(server->end);
	sim_end_close(p->end);
	peer_free(p);
	peer_free(server);
	sim_world_destroy(world);
}

static void
consume_some_event(void *ctx, uint64_t len)
{
	Peer *p = ctx;
	const uint8_t *data;
	g_assert_cmpuint(sim_end_peek(p->end, &data), >=, len);
	g_byte_array_append(p->got, data, (guint)len);
	sim_end_consume(p->end, len);
}

/* Reads are edge-triggered: bytes already announced are read on demand. */
static void
drain_event(void *ctx, uint64_t arg)
{
	(void)arg;
	peer_drain(ctx);
}

/* A reader that stops reading stops its writer at the window; once half
 * the window is free again WRITABLE comes and the writer goes on. */
static void
test_window_pushback(void)
{
	SimWorldConfig config = config_with(1, SIM_NS_PER_MS);
	config.link.window_bytes = 1000;
	Pair *pair = pair_new(&config);
	pair->server->reading = FALSE;
	Prng prng;
	prng_seed(&prng, 5);
	fill_random(pair->client->to_send, &prng, 5000);
	sim_world_run(pair->world, 100 * SIM_NS_PER_MS);
	g_assert_cmpuint(pair->client->sent, ==, 1000);
	g_assert_cmpint(count_events(pair->client, SIM_CONN_WRITABLE), ==, 0);
	/* 400 bytes free is under half the window: no wake-up yet */
	sim_world_at(pair->world, 100 * SIM_NS_PER_MS, consume_some_event, pair->server, 400);
	sim_world_run(pair->world, 150 * SIM_NS_PER_MS);
	g_assert_cmpint(count_events(pair->client, SIM_CONN_WRITABLE), ==, 0);
	sim_world_at(pair->world, 150 * SIM_NS_PER_MS, consume_some_event, pair->server, 200);
	sim_world_run(pair->world, 200 * SIM_NS_PER_MS);
	g_assert_cmpint(count_events(pair->client, SIM_CONN_WRITABLE), ==, 1);
	g_assert_cmpuint(pair->client->sent, ==, 1600);
	pair->server->reading = TRUE;
	sim_world_at(pair->world, 200 * SIM_NS_PER_MS, drain_event, pair->server, 0);
	sim_world_run(pair->world, INT64_MAX);
	g_assert_cmpuint(pair->client->sent, ==, 5000);
	g_assert_cmpmem(pair->server->got->data, pair->server->got->len, pair->client->to_send->data, 5000);
	pair_free(pair);
}

static void
crash_b_event(void *ctx, uint64_t arg)
{
	(void)arg;
	Pair *pair = ctx;
	sim_node_crash(pair->b);
	pair->server->end = NULL;
}

/* A crashed node's connections are reset towards their peers, its
 * listeners are gone; after a restart it can listen again. */
static void
test_crash_resets_peers(void)
{
	Pair *pair = pair_new(&(SimWorldConfig){ .seed = 1, .link = config_with(1, SIM_NS_PER_MS).link });
	sim_world_at(pair->world, 50 * SIM_NS_PER_MS, crash_b_event, pair, 0);
	sim_world_run(pair->world, INT64_MAX);
	g_assert_cmpint(first_event_ns(pair->client, SIM_CONN_RESET), ==, 51 * SIM_NS_PER_MS);
	sim_end_close(pair->client->end);

	Peer *again = peer_new(pair->world);
	again->end = sim_net_connect(pair->a, pair->b, 4222, peer_event, again);
	sim_world_run(pair->world, INT64_MAX);
	g_assert_cmpint(count_events(again, SIM_CONN_REFUSED), ==, 1);
	sim_end_close(again->end);

	sim_node_restart(pair->b);
	Peer *server2 = peer_new(pair->world);
	g_assert_nonnull(sim_net_listen(pair->b, 4222, peer_accept, server2));
	Peer *third = peer_new(pair->world);
	third->end = sim_net_connect(pair->a, pair->b, 4222, peer_event, third);
	sim_world_run(pair->world, INT64_MAX);
	g_assert_cmpint(count_events(third, SIM_CONN_CONNECTED), ==, 1);
	peer_free(again);
	peer_free(server2);
	peer_free(third);
	pair_free(pair);
}

/* Latency and bandwidth: 10,000 bytes at 1 MB/s over 5 ms latency are all
 * there at 5 + 10 ms after the write. */
static void
test_latency_and_bandwidth(void)
{
	SimWorldConfig config = config_with(1, 5 * SIM_NS_PER_MS);
	config.link.bandwidth_bytes_per_s = 1000000;
	config.link.window_bytes = 1 << 20;
	Pair *pair = pair_new(&config);
	Prng prng;
	prng_seed(&prng, 5);
	fill_random(pair->client->to_send, &prng, 10000);
	sim_world_run(pair->world, INT64_MAX);
	g_assert_cmpuint(pair->server->got->len, ==, 10000);
	/* connected at 10 ms (SYN + SYN-ACK), then 10 ms on the wire + 5 ms */
	g_assert_cmpint(first_event_ns(pair->client, SIM_CONN_CONNECTED), ==, 10 * SIM_NS_PER_MS);
	g_assert_cmpint(pair->server->last_data_ns, ==, 25 * SIM_NS_PER_MS);
	pair_free(pair);
}

int
main(int argc, char **argv)
{
	json_object_seed(1);
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/sim/net/segmentation-preserves-bytes", test_segmentation_preserves_bytes);
	g_test_add_func("/sim/net/partition-holds-and-heal-releases", test_partition_holds_and_heal_releases);
	g_test_add_func("/sim/net/one-way-partition", test_one_way_partition);
	g_test_add_func("/sim/net/partition-resets-after-timeout", test_partition_resets_after_timeout);
	g_test_add_func("/sim/net/reset-reaches-peer", test_reset_reaches_peer);
	g_test_add_func("/sim/net/reset-fault-both-ends", test_reset_fault_both_ends);
	g_test_add_func("/sim/net/close-then-eof", test_close_then_eof);
	g_test_add_func("/sim/net/refused-without-listener", test_refused_without_listener);
	g_test_add_func("/sim/net/connect-timeout-across-partition", test_connect_timeout_across_partition);
	g_test_add_func("/sim/net/window-pushback", test_window_pushback);
	g_test_add_func("/sim/net/crash-resets-peers", test_crash_resets_peers);
	g_test_add_func("/sim/net/latency-and-bandwidth", test_latency_and_bandwidth);
	return g_test_run();
}
