/*
 * selfcheck.c - the echo protocol and fault timeline of the self-check
 * (see selfcheck.h). This is a test protocol for the kernel, so its node
 * code calls the kernel directly instead of going through a sans-I/O core.
 */
#include "sim/selfcheck.h"

#include <string.h>
#include <xxhash.h>

#include "proto/assert.h"
#include "sim/disk.h"
#include "sim/net.h"
#include "sim/world.h"

#define ECHO_PORT 7
#define RUN_NS (30 * SIM_NS_PER_S)
#define SEND_UNTIL_NS (27 * SIM_NS_PER_S)
#define RECORD_BYTES 16
#define SYNC_EVERY 8
#define COUNTER_FILE "echo/counter"

typedef struct Check Check;

/* ---- server: echo everything back, count it durably ---- */

typedef struct Server {
	Check *check;
	SimNode *node;
	SimListener *listener;
	GPtrArray *ends; /* SimEnd*, accepted and open */
	BrokerStorageFile *counter;
	uint64_t echoed;
	uint32_t records;
} Server;

/* ---- client: send patterned bytes, verify the echo ---- */

typedef struct Client {
	Check *check;
	SimNode *node;
	Prng prng;
	SimEnd *end;
	GByteArray *pending; /* sent on this connection, not yet echoed */
	GByteArray *unsent;  /* waiting for window room */
	bool paused;         /* a stopped reader, for a while */
	uint64_t pattern;
} Client;

struct Check {
	SimWorld *world;
	Server server;
	Client client;
	SimSelfcheckResult *result;
	Prng faults;
	uint64_t synced_echoed;    /* truth kept outside the node */
	uint64_t echoed_at_crash;
};

static void
fail(Check *check, const char *message)
{
	if (check->result->ok) {
		check->result->ok = false;
		g_strlcpy(check->result->error, message, sizeof(check->result->error));
		sim_world_stop(check->world);
	}
}

static void
server_record(Server *server)
{
	BrokerStorage *st = sim_disk_storage(sim_node_disk(server->node));
	uint64_t rec[2] = { server->echoed, XXH64(&server->echoed, sizeof(server->echoed), 0) };
	if (st->ops->append(st->ctx, server->counter, rec, sizeof(rec)) != BROKER_STORAGE_OK)
		return;
	if (++server->records % SYNC_EVERY == 0 && st->ops->sync(st->ctx, server->counter) == BROKER_STORAGE_OK)
		server->check->synced_echoed = server->echoed;
}

/* Echo as much as the window takes; what it does not take stays unread, so
 * a slow client slows the server, which slows the sender. */
static void
server_pump(Server *server, SimEnd *end)
{
	const uint8_t *data;
	size_t n = sim_end_peek(end, &data);
	if (n == 0)
		return;
	int64_t w = sim_end_write(end, data, n);
	if (w <= 0)
		return;
	sim_end_consume(end, (size_t)w);
	server->echoed += (uint64_t)w;
	server->check->result->bytes_echoed += (uint64_t)w;
	server_record(server);
}

static void
server_conn_event(void *ctx, SimEnd *end, SimConnEvent event)
{
	Server *server = ctx;
	switch (event) {
	case SIM_CONN_READABLE:
	case SIM_CONN_WRITABLE:
		server_pump(server, end);
		break;
	case SIM_CONN_EOF:
	case SIM_CONN_RESET:
		g_ptr_array_remove(server->ends, end);
		if (event == SIM_CONN_EOF)
			sim_end_close(end);
		else
			sim_end_close(end); /* releasing a dead end */
		break;
	default:
		break;
	}
}

static void
server_accept(void *ctx, SimEnd *end)
{
	Server *server = ctx;
	sim_end_set_handler(end, server_conn_event, server);
	g_ptr_array_add(server->ends, end);
}

static void
server_recover(Server *server)
{
	BrokerStorage *st = sim_disk_storage(sim_node_disk(server->node));
	BrokerStorageStatus status =
	    st->ops->open(st->ctx, COUNTER_FILE, BROKER_STORAGE_CREATE, &server->counter);
	ASSERT(status == BROKER_STORAGE_OK);
	uint64_t size = 0;
	st->ops->size(st->ctx, server->counter, &size);
	uint64_t off = 0, valid = 0;
	server->echoed = 0;
	for (; off + RECORD_BYTES <= size; off += RECORD_BYTES) {
		uint64_t rec[2];
		size_t got;
		st->ops->read(st->ctx, server->counter, off, rec, sizeof(rec), &got);
		if (got != sizeof(rec) || rec[1] != XXH64(&rec[0], sizeof(rec[0]), 0))
			break;
		server->echoed = rec[0];
		valid = off + RECORD_BYTES;
	}
	if (valid < size) {
		/* A torn or damaged tail: detected, reported, cut off. */
		server->check->result->torn_records++;
		st->ops->truncate(st->ctx, server->counter, valid);
		st->ops->sync(st->ctx, server->counter);
	}
	server->records = (uint32_t)(valid / RECORD_BYTES);
	sim_node_trace(server->node, "echo.recovered", TRACE_INT("echoed", (int64_t)server->echoed),
	    TRACE_INT("torn_bytes", (int64_t)(size - valid)));
}

static void
server_start(SimNode *node, void *ctx)
{
	Server *server = ctx;
	server->node = node;
	server->ends = g_ptr_array_new();
	server_recover(server);
	Check *check = server->check;
	if (sim_node_incarnation(node) > 0) {
		check->result->recovered_echoed = server->echoed;
		if (server->echoed < check->synced_echoed || server->echoed > check->echoed_at_crash)
			fail(check, "recovered counter outside [synced, written]");
	}
	server->listener = sim_net_listen(node, ECHO_PORT, server_accept, server);
	ASSERT(server->listener != NULL);
}

static void
server_crash(SimNode *node, void *ctx)
{
	(void)node;
	Server *server = ctx;
	/* The kernel already released our ends and listener; free the rest. */
	g_ptr_array_free(server->ends, TRUE);
	server->ends = NULL;
	server->listener = NULL;
	BrokerStorage *st = sim_disk_storage(sim_node_disk(server->node));
	st->ops->close(st->ctx, server->counter);
	server->counter = NULL;
}

static const SimNodeOps server_ops = { server_start, server_crash };

/* ---- client ---- */

static void client_connect(Client *client);

static void
client_reconnect_event(void *ctx, uint64_t arg)
{
	(void)arg;
	client_connect(ctx);
}

static void
client_drop(Client *client)
{
	if (client->end != NULL)
		sim_end_close(client->end);
	client->end = NULL;
	g_byte_array_set_size(client->pending, 0);
	g_byte_array_set_size(client->unsent, 0);
	int64_t backoff = prng_range(&client->prng, 100, 500) * SIM_NS_PER_MS;
	sim_node_at(client->node, sim_world_now_ns(client->check->world) + backoff, client_reconnect_event,
	    client, 0);
}

static void
client_flush(Client *client)
{
	if (client->end == NULL || client->unsent->len == 0)
		return;
	int64_t n = sim_end_write(client->end, client->unsent->data, client->unsent->len);
	if (n <= 0)
		return;
	g_byte_array_append(client->pending, client->unsent->data, (guint)n);
	g_byte_array_remove_range(client->unsent, 0, (guint)n);
	client->check->result->bytes_sent += (uint64_t)n;
}

static void
client_read(Client *client)
{
	if (client->paused || client->end == NULL)
		return;
	const uint8_t *data;
	size_t n = sim_end_peek(client->end, &data);
	if (n > client->pending->len || memcmp(data, client->pending->data, n) != 0) {
		fail(client->check, "echo differs from what was sent (reordered, lost or corrupted bytes)");
		return;
	}
	g_byte_array_remove_range(client->pending, 0, (guint)n);
	sim_end_consume(client->end, n);
}

static void
client_resume_event(void *ctx, uint64_t arg)
{
	(void)arg;
	Client *client = ctx;
	client->paused = false;
	client_read(client);
}

static void
client_conn_event(void *ctx, SimEnd *end, SimConnEvent event)
{
	Client *client = ctx;
	ASSERT(end == client->end);
	switch (event) {
	case SIM_CONN_CONNECTED:
		client->check->result->connections++;
		client_flush(client);
		break;
	case SIM_CONN_READABLE:
		/* Now and then, stop reading for a while: the window must push back. */
		if (!client->paused && prng_chance(&client->prng, 0.02)) {
			client->paused = true;
			sim_node_at(client->node,
			    sim_world_now_ns(client->check->world) + prng_range(&client->prng, 1, 50) * SIM_NS_PER_MS,
			    client_resume_event, client, 0);
		}
		client_read(client);
		break;
	case SIM_CONN_WRITABLE:
		client_flush(client);
		break;
	case SIM_CONN_EOF:
	case SIM_CONN_RESET:
	case SIM_CONN_REFUSED:
		client->check->result->resets++;
		client_drop(client);
		break;
	}
}

static void
client_connect(Client *client)
{
	SimNode *server = sim_world_node(client->check->world, "server");
	client->end = sim_net_connect(client->node, server, ECHO_PORT, client_conn_event, client);
}

static void
client_send_event(void *ctx, uint64_t arg)
{
	(void)arg;
	Client *client = ctx;
	int64_t now = sim_world_now_ns(client->check->world);
	if (now >= SEND_UNTIL_NS)
		return;
	if (client->end != NULL) {
		uint32_t len = (uint32_t)prng_range(&client->prng, 1, 3000);
		guint at = client->unsent->len;
		g_byte_array_set_size(client->unsent, at + len);
		for (uint32_t k = 0; k < len; k += 8) {
			uint64_t word = prng_splitmix64(&client->pattern);
			memcpy(client->unsent->data + at + k, &word, MIN(8u, len - k));
		}
		client_flush(client);
	}
	sim_node_at(client->node, now + prng_range(&client->prng, 1, 20) * SIM_NS_PER_MS, client_send_event, client, 0);
}

static void
client_start(SimNode *node, void *ctx)
{
	Client *client = ctx;
	client->node = node;
	prng_seed(&client->prng, sim_node_seed(node));
	client->pattern = sim_node_seed(node);
	client->pending = g_byte_array_new();
	client->unsent = g_byte_array_new();
	client_connect(client);
	sim_node_at(node, sim_world_now_ns(client->check->world) + SIM_NS_PER_MS, client_send_event, client, 0);
}

static const SimNodeOps client_ops = { client_start, NULL };

/* ---- faults ---- */

enum { F_PARTITION, F_HEAL, F_RESET, F_CRASH, F_RESTART, F_ONE_WAY, F_ONE_WAY_HEAL, F_LATENCY, F_CLOCK };

static void
fault_event(void *ctx, uint64_t arg)
{
	Check *check = ctx;
	SimWorld *world = check->world;
	SimNode *s = check->server.node, *c = check->client.node;
	switch (arg) {
	case F_PARTITION:
		sim_net_partition(world, c, s, true);
		break;
	case F_HEAL:
		sim_net_heal(world, c, s, true);
		break;
	case F_RESET:
		sim_net_reset_between(world, c, s);
		break;
	case F_CRASH:
		check->echoed_at_crash = check->server.echoed;
		check->result->crashes++;
		sim_node_crash(s);
		break;
	case F_RESTART:
		sim_node_restart(s);
		break;
	case F_ONE_WAY:
		sim_net_partition(world, s, c, false);
		break;
	case F_ONE_WAY_HEAL:
		sim_net_heal(world, s, c, false);
		break;
	case F_LATENCY: {
		SimLinkConfig link = sim_net_link(world, c, s);
		link.latency_ns = 5 * SIM_NS_PER_MS;
		link.jitter_ns = 2 * SIM_NS_PER_MS;
		sim_net_link_set(world, c, s, &link);
		sim_net_link_set(world, s, c, &link);
		break;
	}
	case F_CLOCK:
		sim_node_clock_jump(c, SIM_NS_PER_S);
		break;
	default:
		UNREACHABLE();
	}
}

static int64_t
draw_ms(Check *check, int64_t lo_ms, int64_t hi_ms)
{
	return prng_range(&check->faults, lo_ms, hi_ms) * SIM_NS_PER_MS;
}

static void
schedule_faults(Check *check)
{
	SimWorld *world = check->world;
	int64_t t = draw_ms(check, 2000, 5000);
	sim_world_at(world, t, fault_event, check, F_PARTITION);
	sim_world_at(world, t + draw_ms(check, 500, 3000), fault_event, check, F_HEAL);
	sim_world_at(world, draw_ms(check, 8000, 10000), fault_event, check, F_RESET);
	t = draw_ms(check, 12000, 15000);
	sim_world_at(world, t, fault_event, check, F_CRASH);
	sim_world_at(world, t + draw_ms(check, 100, 2000), fault_event, check, F_RESTART);
	t = draw_ms(check, 18000, 20000);
	sim_world_at(world, t, fault_event, check, F_ONE_WAY);
	sim_world_at(world, t + draw_ms(check, 200, 1000), fault_event, check, F_ONE_WAY_HEAL);
	sim_world_at(world, draw_ms(check, 21000, 23000), fault_event, check, F_LATENCY);
	sim_world_at(world, draw_ms(check, 24000, 26000), fault_event, check, F_CLOCK);
}

void
sim_selfcheck_run(const SimSelfcheckOptions *options, SimSelfcheckResult *result)
{
	*result = (SimSelfcheckResult){ .seed = options->seed, .ok = true };
	SimWorldConfig config = {
		.seed = options->seed,
		.shuffle_ties = options->shuffle_ties,
		.link = sim_link_config_default(),
	};
	config.link.latency_ns = SIM_NS_PER_MS;
	config.link.jitter_ns = 200 * SIM_NS_PER_US;
	config.link.segment_bytes_max = 1460;
	config.link.segment_split_chance = 0.3;
	config.link.window_bytes = 16 * 1024;
	config.link.partition_reset_ns = 1500 * SIM_NS_PER_MS;

	Check *check = g_new0(Check, 1);
	check->result = result;
	check->world = sim_world_create(&config);
	sim_trace_set_sink(sim_world_trace(check->world), options->trace_sink);
	prng_seed(&check->faults, sim_world_derive_seed(check->world, "faults"));
	check->server.check = check;
	check->client.check = check;

	SimNode *server = sim_node_create(check->world, "server", &server_ops, &check->server);
	sim_disk_configure(sim_node_disk(server), &(SimDiskConfig){ .torn_write_chance = 0.5 });
	sim_node_create(check->world, "client", &client_ops, &check->client);
	schedule_faults(check);

	SimRunStatus status = sim_world_run(check->world, RUN_NS);
	if (status == SIM_RUN_LIMIT)
		fail(check, "event limit reached");
	/* After the quiet period every byte still owed on the live connection
	 * must have come back. */
	if (result->ok && check->client.end != NULL && sim_end_is_open(check->client.end) &&
	    (check->client.pending->len > 0 || check->client.unsent->len > 0))
		fail(check, "echo incomplete at the end of the run");
	if (result->ok && result->crashes == 0)
		fail(check, "the fault timeline did not run");

	result->events = sim_world_events_run(check->world);
	result->virtual_ns = sim_world_now_ns(check->world);
	result->fingerprint = sim_world_trace(check->world)->fingerprint;
	result->trace_events = sim_world_trace(check->world)->count;

	if (check->server.ends != NULL)
		g_ptr_array_free(check->server.ends, TRUE);
	BrokerStorage *st = sim_disk_storage(sim_node_disk(server));
	st->ops->close(st->ctx, check->server.counter);
	g_byte_array_free(check->client.pending, TRUE);
	g_byte_array_free(check->client.unsent, TRUE);
	sim_world_destroy(check->world);
	g_free(check);
}
