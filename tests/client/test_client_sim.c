/*
 * test_client_sim.c - the client core as a simulated node (sim/client_node)
 * against a scripted fake server node on the virtual network: handshake
 * and message flow over randomly segmented links, no responders, reconnect
 * after a broker crash on the core's backoff schedule with re-subscription,
 * recovery from a partition, drain, and exact replay by seed.
 *
 * The fake server is deliberately tiny: it sends a fixed INFO, parses what
 * the client sends with the proto parser (server role), answers PING with
 * PONG, records SUBs, routes a PUB to the subscriptions of the same
 * connection whose pattern matches, and answers a request nobody serves
 * with the 503 status. That is all these tests need to see the client's
 * behaviour, without the broker (which has its own tests).
 */
#include <glib.h>
#include <jansson.h>
#include <string.h>

#include "client/client.h"
#include "proto/encode.h"
#include "proto/parser.h"
#include "proto/subject.h"
#include "sim/client_node.h"
#include "sim/net.h"
#include "sim/world.h"

#define FAKE_INFO "INFO {\"server_id\":\"FAKE\",\"version\":\"2.9.10\",\"headers\":true,\"max_payload\":1048576} \r\n"

typedef struct FakeSub {
	char *subject;
	char *sid;
} FakeSub;

typedef struct FakeConn {
	SimEnd *end;
	ProtoParser parser;
	GPtrArray *subs; /* FakeSub* */
	ProtoBuf out;
	uint32_t index; /* 1-based, in accept order */
} FakeConn;

typedef struct Fake {
	SimNode *node;
	GPtrArray *conns; /* FakeConn*, live */
	uint32_t accepted;
	GString *log; /* "<conn>:<OP> <args>;" */
} Fake;

static void
fake_sub_free(gpointer p)
{
	FakeSub *s = p;
	g_free(s->subject);
	g_free(s->sid);
	g_free(s);
}

static void
fake_conn_free(FakeConn *c)
{
	proto_parser_deinit(&c->parser);
	proto_buf_deinit(&c->out);
	g_ptr_array_free(c->subs, TRUE);
	g_free(c);
}

static void
fake_flush(FakeConn *c)
{
	while (proto_buf_pending(&c->out) > 0) {
		int64_t w = sim_end_write(c->end, proto_buf_peek(&c->out), proto_buf_pending(&c->out));
		if (w <= 0)
			return;
		proto_buf_consume(&c->out, (size_t)w);
	}
}

static void
fake_op(Fake *f, FakeConn *c, const ProtoOp *op)
{
	g_string_append_printf(f->log, "%u:%s", c->index, proto_op_name(op->kind));
	if (op->subject.ptr)
		g_string_append_printf(f->log, " %.*s", (int)op->subject.len, op->subject.ptr);
	if (op->sid.ptr)
		g_string_append_printf(f->log, " %.*s", (int)op->sid.len, op->sid.ptr);
	g_string_append_c(f->log, ';');
	switch (op->kind) {
	case PROTO_OP_PING:
		proto_buf_append_str(&c->out, "PONG\r\n");
		break;
	case PROTO_OP_SUB: {
		FakeSub *s = g_new0(FakeSub, 1);
		s->subject = g_strndup((const char *)op->subject.ptr, op->subject.len);
		s->sid = g_strndup((const char *)op->sid.ptr, op->sid.len);
		g_ptr_array_add(c->subs, s);
		break;
	}
	case PROTO_OP_PUB: {
		bool delivered = false;
		for (guint k = 0; k < c->subs->len; k++) {
			FakeSub *s = g_ptr_array_index(c->subs, k);
			if (!proto_subject_matches(s->subject, strlen(s->subject), (const char *)op->subject.ptr, op->subject.len))
				continue;
			proto_encode_msg(&c->out, op->subject.ptr, op->subject.len, s->sid, strlen(s->sid), op->reply.ptr,
			    op->reply.len, NULL, 0, op->payload.ptr, op->payload.len);
			delivered = true;
		}
		if (!delivered && op->reply.ptr != NULL) {
			for (guint k = 0; k < c->subs->len; k++) {
				FakeSub *s = g_ptr_array_index(c->subs, k);
				if (!proto_subject_matches(s->subject, strlen(s->subject), (const char *)op->reply.ptr, op->reply.len))
					continue;
				const char *hdr = "NATS/1.0 503\r\n\r\n";
				proto_encode_msg(&c->out, op->reply.ptr, op->reply.len, s->sid, strlen(s->sid), NULL, 0, hdr,
				    strlen(hdr), "", 0);
				break;
			}
		}
		break;
	}
	default:
		break;
	}
}

static void
fake_drop(Fake *f, FakeConn *c)
{
	g_ptr_array_remove(f->conns, c);
	sim_end_close(c->end);
	fake_conn_free(c);
}

static void
fake_event(void *ctx, SimEnd *end, SimConnEvent event)
{
	Fake *f = ctx;
	FakeConn *c = NULL;
	for (guint k = 0; k < f->conns->len; k++)
		if (((FakeConn *)g_ptr_array_index(f->conns, k))->end == end)
			c = g_ptr_array_index(f->conns, k);
	g_assert_nonnull(c);
	if (event == SIM_CONN_READABLE || event == SIM_CONN_EOF) {
		const uint8_t *data;
		size_t len = sim_end_peek(end, &data);
		size_t off = 0;
		while (off < len) {
			size_t used;
			ProtoOp op;
			ProtoParseStatus st = proto_parser_feed(&c->parser, data + off, len - off, &used, &op);
			off += used;
			if (st == PROTO_PARSE_OP)
				fake_op(f, c, &op);
			else if (st == PROTO_PARSE_ERROR)
				g_error("fake server: client sent a malformed stream");
			else
				break;
		}
		sim_end_consume(end, len);
		fake_flush(c);
	}
	if (event == SIM_CONN_WRITABLE)
		fake_flush(c);
	if (event == SIM_CONN_EOF || event == SIM_CONN_RESET)
		fake_drop(f, c);
}

static void
fake_accept(void *ctx, SimEnd *end)
{
	Fake *f = ctx;
	FakeConn *c = g_new0(FakeConn, 1);
	c->end = end;
	c->index = ++f->accepted;
	c->subs = g_ptr_array_new_with_free_func(fake_sub_free);
	proto_parser_init(&c->parser, PROTO_ROLE_SERVER, 4096, 1 << 20);
	proto_parser_set_headers(&c->parser, true);
	proto_buf_init(&c->out);
	g_ptr_array_add(f->conns, c);
	sim_end_set_handler(end, fake_event, f);
	proto_buf_append_str(&c->out, FAKE_INFO);
	fake_flush(c);
}

static void
fake_start(SimNode *node, void *ctx)
{
	Fake *f = ctx;
	f->node = node;
	f->conns = g_ptr_array_new();
	g_assert_nonnull(sim_net_listen(node, 4222, fake_accept, f));
}

static void
fake_crash(SimNode *node, void *ctx)
{
	(void)node;
	Fake *f = ctx;
	/* The kernel released the ends; free the rest. */
	for (guint k = 0; k < f->conns->len; k++)
		fake_conn_free(g_ptr_array_index(f->conns, k));
	g_ptr_array_free(f->conns, TRUE);
	f->conns = NULL;
}

static const SimNodeOps fake_ops = { fake_start, fake_crash };

/* ---- fixture ---- */

typedef struct Fx {
	SimWorld *world;
	Fake fake;
	SimClientNode *client;
	GString *trace;    /* "kind@ms;" for client.* events */
	GArray *connect_ns; /* times of client.connect */
	int msgs;
	GString *payloads;
} Fx;

static void
trace_listener(void *ctx, const SimTraceEvent *ev)
{
	Fx *fx = ctx;
	if (!g_str_has_prefix(ev->kind, "client."))
		return;
	if (strcmp(ev->kind, "client.connect") == 0)
		g_array_append_val(fx->connect_ns, ev->t_ns);
	g_string_append_printf(fx->trace, "%s", ev->kind + 7);
	for (size_t k = 0; k < ev->field_count; k++)
		if (ev->fields[k].type == SIM_TRACE_STR && strcmp(ev->fields[k].key, "status") == 0)
			g_string_append_printf(fx->trace, "(%s)", ev->fields[k].s);
	g_string_append(fx->trace, ";");
}

static void
on_msg(void *ctx, SimClientNode *node, const ClientMsg *m)
{
	(void)node;
	Fx *fx = ctx;
	fx->msgs++;
	g_string_append_printf(fx->payloads, "%.*s,", (int)m->data_len, m->data);
}

static Fx *
fx_new(uint64_t seed, const SimLinkConfig *link, const ClientOptions *copts)
{
	Fx *fx = g_new0(Fx, 1);
	SimWorldConfig wc = { .seed = seed, .link = link ? *link : sim_link_config_default() };
	fx->world = sim_world_create(&wc);
	fx->trace = g_string_new("");
	fx->payloads = g_string_new("");
	fx->connect_ns = g_array_new(FALSE, FALSE, sizeof(int64_t));
	fx->fake.log = g_string_new("");
	sim_trace_set_listener(sim_world_trace(fx->world), trace_listener, fx);
	sim_node_create(fx->world, "b1", &fake_ops, &fx->fake);
	SimClientNodeOptions o = sim_client_node_options_default("c1", "b1");
	if (copts != NULL)
		o.client = *copts;
	SimClientNodeCallbacks cb = { .msg = on_msg };
	fx->client = sim_client_node_create(fx->world, &o, &cb, fx);
	return fx;
}

static void
fx_free(Fx *fx)
{
	if (fx->fake.conns != NULL) {
		for (guint k = 0; k < fx->fake.conns->len; k++)
			fake_conn_free(g_ptr_array_index(fx->fake.conns, k));
		g_ptr_array_free(fx->fake.conns, TRUE);
	}
	sim_world_destroy(fx->world);
	sim_client_node_destroy(fx->client);
	g_string_free(fx->trace, TRUE);
	g_string_free(fx->payloads, TRUE);
	g_string_free(fx->fake.log, TRUE);
	g_array_free(fx->connect_ns, TRUE);
	g_free(fx);
}

static void
ev_publish_burst(void *ctx, uint64_t arg)
{
	Fx *fx = ctx;
	for (uint64_t k = 0; k < arg; k++) {
		char body[16];
		int n = g_snprintf(body, sizeof(body), "m%" G_GUINT64_FORMAT, k);
		g_assert_cmpint(sim_client_node_publish(fx->client, "a", NULL, NULL, 0, body, (size_t)n), ==, CLIENT_OK);
	}
}

/* Handshake and messages over a link that cuts writes into pieces of at
 * most 7 bytes at random points: the subscription made before connecting
 * goes out after the handshake, and 50 published messages all come back,
 * in order. */
static void
test_handshake_and_messages(void)
{
	SimLinkConfig link = sim_link_config_default();
	link.segment_bytes_max = 7;
	link.segment_split_chance = 0.5;
	link.jitter_ns = 50 * SIM_NS_PER_US;
	Fx *fx = fx_new(11, &link, NULL);
	uint64_t sid;
	g_assert_cmpint(sim_client_node_subscribe(fx->client, "a", NULL, &sid), ==, CLIENT_OK);
	sim_world_at(fx->world, 100 * SIM_NS_PER_MS, ev_publish_burst, fx, 50);
	sim_world_run(fx->world, 2 * SIM_NS_PER_S);
	g_assert_cmpint(sim_client_node_state(fx->client), ==, CLIENT_STATE_CONNECTED);
	g_assert_true(g_str_has_prefix(fx->fake.log->str, "1:CONNECT;1:PING;1:SUB a 1;"));
	g_assert_cmpint(fx->msgs, ==, 50);
	GString *want = g_string_new("");
	for (int k = 0; k < 50; k++)
		g_string_append_printf(want, "m%d,", k);
	g_assert_cmpstr(fx->payloads->str, ==, want->str);
	g_string_free(want, TRUE);
	g_assert_true(g_str_has_prefix(fx->trace->str, "connect;connected;"));
	fx_free(fx);
}

static void
ev_request(void *ctx, uint64_t arg)
{
	(void)arg;
	Fx *fx = ctx;
	g_assert_cmpint(sim_client_node_request(fx->client, "nobody", "q", 1, 5 * SIM_NS_PER_S, NULL), ==, CLIENT_OK);
}

/* A request nobody serves completes at once (one round trip, not the
 * 5 s timeout) with "no responders". */
static void
test_request_no_responders(void)
{
	Fx *fx = fx_new(3, NULL, NULL);
	sim_world_at(fx->world, 100 * SIM_NS_PER_MS, ev_request, fx, 0);
	sim_world_run(fx->world, 101 * SIM_NS_PER_MS);
	g_assert_nonnull(strstr(fx->trace->str, "reply(no responders);"));
	fx_free(fx);
}

static void
ev_crash(void *ctx, uint64_t arg)
{
	(void)arg;
	Fx *fx = ctx;
	sim_node_crash(fx->fake.node);
}

static void
ev_restart(void *ctx, uint64_t arg)
{
	(void)arg;
	Fx *fx = ctx;
	sim_node_restart(fx->fake.node);
}

/* Broker crash at 1 s, restart at 4 s: the client sees the reset, tries
 * again on the backoff schedule the core's jitter stream predicts for
 * this node's seed (refused while the broker is down), reconnects once it
 * is back, re-subscribes on the new connection, and messages flow again. */
static void
test_reconnect_after_crash(void)
{
	ClientOptions co = client_options_default();
	co.retry_on_failed_connect = true;
	co.reconnect_attempts_max = -1;
	co.reconnect_wait_ns = 250 * SIM_NS_PER_MS;
	co.reconnect_wait_max_ns = SIM_NS_PER_S;
	co.reconnect_jitter_ns = 100 * SIM_NS_PER_MS;
	Fx *fx = fx_new(21, NULL, &co);
	uint64_t sid;
	sim_client_node_subscribe(fx->client, "a", NULL, &sid);
	sim_world_at(fx->world, SIM_NS_PER_S, ev_crash, fx, 0);
	sim_world_at(fx->world, 4 * SIM_NS_PER_S, ev_restart, fx, 0);
	sim_world_at(fx->world, 8 * SIM_NS_PER_S, ev_publish_burst, fx, 3);
	sim_world_run(fx->world, 9 * SIM_NS_PER_S);

	/* Replay the jitter stream: the second splitmix64 output of the seed. */
	uint64_t sm = sim_node_seed(sim_client_node_sim(fx->client));
	prng_splitmix64(&sm);
	Prng jitter;
	prng_seed(&jitter, prng_splitmix64(&sm));
	/* Disconnect seen one link latency (100 us) after the crash; each
	 * refused attempt fails after one round trip (200 us). */
	int64_t t = SIM_NS_PER_S + 100 * SIM_NS_PER_US;
	g_assert_cmpuint(fx->connect_ns->len, >=, 3);
	for (guint n = 1; n < fx->connect_ns->len; n++) {
		t += client_backoff_ns(&co, n, prng_next(&jitter));
		g_assert_cmpint(g_array_index(fx->connect_ns, int64_t, n), ==, t);
		t += 200 * SIM_NS_PER_US; /* REFUSED after a round trip */
	}
	g_assert_cmpint(g_array_index(fx->connect_ns, int64_t, fx->connect_ns->len - 1), >=, 4 * SIM_NS_PER_S);
	g_assert_nonnull(strstr(fx->trace->str, "disconnected(connection lost);"));
	g_assert_nonnull(strstr(fx->trace->str, "reconnected;"));
	/* The new connection got CONNECT, PING and the SUB again. */
	char *second = g_strdup_printf("%u:CONNECT;%u:PING;%u:SUB a 1;", fx->fake.accepted, fx->fake.accepted,
	    fx->fake.accepted);
	g_assert_nonnull(strstr(fx->fake.log->str, second));
	g_free(second);
	g_assert_cmpint(fx->msgs, ==, 3);
	g_assert_cmpint(sim_client_node_state(fx->client), ==, CLIENT_STATE_CONNECTED);
	fx_free(fx);
}

static void
ev_partition(void *ctx, uint64_t arg)
{
	Fx *fx = ctx;
	SimNode *c = sim_client_node_sim(fx->client);
	if (arg == 1)
		sim_net_partition(fx->world, c, fx->fake.node, true);
	else
		sim_net_heal(fx->world, c, fx->fake.node, true);
}

/* A two-way partition from 1 s to 6 s on a link that resets held
 * connections after 1 s: the client loses the connection, keeps trying
 * (attempts time out while the partition holds the SYNs), reconnects
 * after the heal and gets messages again. */
static void
test_partition_recovery(void)
{
	SimLinkConfig link = sim_link_config_default();
	link.partition_reset_ns = SIM_NS_PER_S;
	ClientOptions co = client_options_default();
	co.retry_on_failed_connect = true;
	co.reconnect_attempts_max = -1;
	co.reconnect_wait_ns = 500 * SIM_NS_PER_MS;
	co.ping_interval_ns = SIM_NS_PER_S;
	Fx *fx = fx_new(5, &link, &co);
	uint64_t sid;
	sim_client_node_subscribe(fx->client, "a", NULL, &sid);
	sim_world_at(fx->world, SIM_NS_PER_S, ev_partition, fx, 1);
	sim_world_at(fx->world, 6 * SIM_NS_PER_S, ev_partition, fx, 0);
	sim_world_at(fx->world, 12 * SIM_NS_PER_S, ev_publish_burst, fx, 2);
	sim_world_run(fx->world, 13 * SIM_NS_PER_S);
	g_assert_nonnull(strstr(fx->trace->str, "disconnected("));
	g_assert_nonnull(strstr(fx->trace->str, "reconnected;"));
	g_assert_cmpint(fx->msgs, ==, 2);
	g_assert_cmpint(sim_client_node_state(fx->client), ==, CLIENT_STATE_CONNECTED);
	fx_free(fx);
}

static void
ev_drain(void *ctx, uint64_t arg)
{
	(void)arg;
	Fx *fx = ctx;
	g_assert_cmpint(sim_client_node_drain(fx->client, SIM_NS_PER_S), ==, CLIENT_OK);
}

/* Drain in virtual time: UNSUB, PING/PONG twice, then closed with ok. */
static void
test_drain(void)
{
	Fx *fx = fx_new(9, NULL, NULL);
	uint64_t sid;
	sim_client_node_subscribe(fx->client, "a", NULL, &sid);
	sim_world_at(fx->world, 100 * SIM_NS_PER_MS, ev_drain, fx, 0);
	sim_world_run(fx->world, SIM_NS_PER_S);
	g_assert_nonnull(strstr(fx->fake.log->str, "1:UNSUB 1;1:PING;1:PING;"));
	g_assert_true(g_str_has_suffix(fx->trace->str, "closed(ok);"));
	g_assert_cmpint(sim_client_node_state(fx->client), ==, CLIENT_STATE_CLOSED);
	fx_free(fx);
}

static uint64_t
crash_run_fingerprint(uint64_t seed, GString *trace_out)
{
	ClientOptions co = client_options_default();
	co.retry_on_failed_connect = true;
	co.reconnect_attempts_max = -1;
	co.reconnect_wait_ns = 250 * SIM_NS_PER_MS;
	SimLinkConfig link = sim_link_config_default();
	link.segment_bytes_max = 13;
	link.segment_split_chance = 0.3;
	link.jitter_ns = 100 * SIM_NS_PER_US;
	Fx *fx = fx_new(seed, &link, &co);
	uint64_t sid;
	sim_client_node_subscribe(fx->client, "a", NULL, &sid);
	sim_world_at(fx->world, 500 * SIM_NS_PER_MS, ev_publish_burst, fx, 10);
	sim_world_at(fx->world, SIM_NS_PER_S, ev_crash, fx, 0);
	sim_world_at(fx->world, 3 * SIM_NS_PER_S, ev_restart, fx, 0);
	sim_world_at(fx->world, 6 * SIM_NS_PER_S, ev_publish_burst, fx, 10);
	sim_world_run(fx->world, 7 * SIM_NS_PER_S);
	uint64_t fp = sim_world_trace(fx->world)->fingerprint;
	g_string_assign(trace_out, fx->trace->str);
	g_assert_cmpint(fx->msgs, ==, 20);
	fx_free(fx);
	return fp;
}

/* Same seed, same run: identical fingerprint and client trace; another
 * seed draws other jitter, so another fingerprint. */
static void
test_replay_by_seed(void)
{
	GString *a = g_string_new(""), *b = g_string_new(""), *c = g_string_new("");
	uint64_t fa = crash_run_fingerprint(77, a);
	uint64_t fb = crash_run_fingerprint(77, b);
	uint64_t fc = crash_run_fingerprint(78, c);
	g_assert_cmpuint(fa, ==, fb);
	g_assert_cmpstr(a->str, ==, b->str);
	g_assert_cmpuint(fa, !=, fc);
	g_string_free(a, TRUE);
	g_string_free(b, TRUE);
	g_string_free(c, TRUE);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	json_object_seed(1);
	g_test_add_func("/client/sim/handshake-and-messages", test_handshake_and_messages);
	g_test_add_func("/client/sim/request-no-responders", test_request_no_responders);
	g_test_add_func("/client/sim/reconnect-after-crash", test_reconnect_after_crash);
	g_test_add_func("/client/sim/partition-recovery", test_partition_recovery);
	g_test_add_func("/client/sim/drain", test_drain);
	g_test_add_func("/client/sim/replay-by-seed", test_replay_by_seed);
	return g_test_run();
}
