/*
 * test_broker_sim.c - broker conformance in virtual time: the scenarios of
 * nats-server's own tests (NATS-SPEC §5), driven by scripted raw-protocol
 * clients over the simulated network, with exact bytes and exact times.
 */
#include <glib.h>
#include <jansson.h>
#include <string.h>

#include "broker/broker.h"
#include "sim/broker_node.h"
#include "sim/net.h"
#include "sim/raw_client.h"
#include "sim/world.h"

#define MS SIM_NS_PER_MS
#define S SIM_NS_PER_S

typedef struct Fx {
	SimWorld *world;
	SimBrokerNode *bn;
	GPtrArray *clients;
} Fx;

static Fx *
fx_new(uint64_t seed, const BrokerConfig *config)
{
	Fx *fx = g_new0(Fx, 1);
	SimWorldConfig wc = { .seed = seed, .link = sim_link_config_default() };
	wc.link.latency_ns = MS; /* 1 ms each way */
	fx->world = sim_world_create(&wc);
	BrokerConfig defaults = { 0 };
	fx->bn = sim_broker_node_create(fx->world, "b1", config ? config : &defaults, 4222);
	fx->clients = g_ptr_array_new_with_free_func((GDestroyNotify)sim_raw_client_destroy);
	return fx;
}

static SimRawClient *
fx_client(Fx *fx, const char *name)
{
	SimRawClient *rc = sim_raw_client_create(fx->world, name, sim_broker_node_node(fx->bn), 4222);
	g_ptr_array_add(fx->clients, rc);
	return rc;
}

static void
fx_run(Fx *fx, int64_t until_ns)
{
	sim_world_run(fx->world, until_ns);
}

static void
fx_free(Fx *fx)
{
	sim_broker_node_destroy(fx->bn);
	g_ptr_array_free(fx->clients, TRUE);
	sim_world_destroy(fx->world);
	g_free(fx);
}

static Broker *
fx_broker(Fx *fx)
{
	return sim_broker_node_broker(fx->bn);
}

/* What the client received after the INFO line. */
static const char *
after_info(SimRawClient *rc)
{
	const char *text = sim_raw_client_text(rc);
	g_assert_true(g_str_has_prefix(text, "INFO {"));
	const char *eol = strstr(text, "\r\n");
	g_assert_nonnull(eol);
	return eol + 2;
}

static int
count(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = strstr(hay, needle); p != NULL; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* INFO comes first, at once, with the fields clients read and the space
 * before CRLF. */
static void
test_info_first(void)
{
	Fx *fx = fx_new(1, NULL);
	SimRawClient *rc = fx_client(fx, "c1");
	fx_run(fx, 10 * MS);
	const char *text = sim_raw_client_text(rc);
	g_assert_true(g_str_has_prefix(text, "INFO {\"server_id\":\"N"));
	g_assert_true(g_str_has_suffix(text, "} \r\n"));
	const char *json = text + 5;
	json_t *info = json_loadb(json, strlen(json) - 3, 0, NULL);
	g_assert_nonnull(info);
	g_assert_cmpuint(strlen(json_string_value(json_object_get(info, "server_id"))), ==, 56);
	g_assert_cmpint(json_integer_value(json_object_get(info, "proto")), ==, 1);
	g_assert_true(json_is_true(json_object_get(info, "headers")));
	g_assert_cmpint(json_integer_value(json_object_get(info, "max_payload")), ==, 1048576);
	g_assert_cmpint(json_integer_value(json_object_get(info, "client_id")), ==, 1);
	g_assert_null(json_object_get(info, "auth_required"));
	json_decref(info);
	/* connect at 0: SYN 1 ms, INFO written at accept, SYN-ACK then INFO at 2 ms */
	g_assert_cmpint(sim_raw_client_time_of(rc, "INFO"), ==, 2 * MS);
	fx_free(fx);
}

/* Without CONNECT a client runs with the defaults: verbose (and pedantic)
 * on, so every SUB and PUB gets +OK, and the PUB's +OK comes before the
 * MSG it causes. */
static void
test_defaults_without_connect(void)
{
	Fx *fx = fx_new(1, NULL);
	SimRawClient *rc = fx_client(fx, "c1");
	sim_raw_client_send(rc, "SUB foo 1\r\nPUB foo 2\r\nhi\r\n");
	fx_run(fx, 10 * MS);
	g_assert_cmpstr(after_info(rc), ==, "+OK\r\n+OK\r\nMSG foo 1 2\r\nhi\r\n");
	fx_free(fx);
}

/* TestVerbosePubSub: +OK after CONNECT, SUB, PUB (before its MSG), UNSUB;
 * then PONG. */
static void
test_verbose_ordering(void)
{
	Fx *fx = fx_new(1, NULL);
	SimRawClient *rc = fx_client(fx, "c1");
	sim_raw_client_send(rc, "CONNECT {\"verbose\":true}\r\nSUB a 1\r\nPUB a 1\r\nx\r\nUNSUB 1\r\nPING\r\n");
	fx_run(fx, 10 * MS);
	g_assert_cmpstr(after_info(rc), ==, "+OK\r\n+OK\r\n+OK\r\nMSG a 1 1\r\nx\r\n+OK\r\nPONG\r\n");
	fx_free(fx);
}

#define QUIET "CONNECT {\"verbose\":false,\"pedantic\":false}\r\n"

/* TestUnsubMax: UNSUB 22 2 then 100 PUBs gives exactly 2 MSGs; a later
 * PUB reaches nobody. */
static void
test_unsub_max(void)
{
	Fx *fx = fx_new(1, NULL);
	SimRawClient *rc = fx_client(fx, "c1");
	GString *s = g_string_new(QUIET "SUB foo 22\r\nUNSUB 22 2\r\n");
	for (int k = 0; k < 100; k++)
		g_string_append(s, "PUB foo 2\r\nok\r\n");
	g_string_append(s, "PING\r\n");
	sim_raw_client_send(rc, s->str);
	g_string_free(s, TRUE);
	fx_run(fx, 100 * MS);
	g_assert_cmpstr(after_info(rc), ==, "MSG foo 22 2\r\nok\r\nMSG foo 22 2\r\nok\r\nPONG\r\n");
	g_assert_cmpuint(broker_probe_count(fx_broker(fx), BROKER_PROBE_AUTO_UNSUBSCRIBED), ==, 1);
	fx_free(fx);
}

/* UNSUB with a max not above what was delivered removes the sub at once. */
static void
test_unsub_max_already_reached(void)
{
	Fx *fx = fx_new(1, NULL);
	SimRawClient *rc = fx_client(fx, "c1");
	sim_raw_client_send(rc, QUIET "SUB foo 5\r\nPUB foo 1\r\na\r\nPUB foo 1\r\nb\r\nPUB foo 1\r\nc\r\n"
				    "UNSUB 5 2\r\nPUB foo 1\r\nd\r\nPING\r\n");
	fx_run(fx, 100 * MS);
	g_assert_cmpstr(after_info(rc), ==, "MSG foo 5 1\r\na\r\nMSG foo 5 1\r\nb\r\nMSG foo 5 1\r\nc\r\nPONG\r\n");
	fx_free(fx);
}

/* Duplicate sid: the first subscription stays; overlapping subscriptions
 * each get their own copy. */
static void
test_duplicate_sid_and_overlap(void)
{
	Fx *fx = fx_new(1, NULL);
	SimRawClient *rc = fx_client(fx, "c1");
	sim_raw_client_send(rc, QUIET "SUB foo 1\r\nSUB bar 1\r\nPUB bar 1\r\nx\r\nPUB foo 1\r\ny\r\n"
				    "SUB o.* 2\r\nSUB o.> 3\r\nSUB o.x 4\r\nPUB o.x 1\r\nz\r\nPING\r\n");
	fx_run(fx, 100 * MS);
	const char *out = after_info(rc);
	g_assert_true(g_str_has_prefix(out, "MSG foo 1 1\r\ny\r\n"));
	g_assert_cmpint(count(out, "MSG o.x 2 1\r\nz\r\n"), ==, 1);
	g_assert_cmpint(count(out, "MSG o.x 3 1\r\nz\r\n"), ==, 1);
	g_assert_cmpint(count(out, "MSG o.x 4 1\r\nz\r\n"), ==, 1);
	g_assert_cmpint(count(out, "MSG bar"), ==, 0);
	fx_free(fx);
}

/* Wildcards: '*' one token, '>' one or more, "foo*" literal; invalid
 * subjects get -ERR 'Invalid Subject' and the connection stays open. */
static void
test_wildcards_and_invalid_subjects(void)
{
	Fx *fx = fx_new(1, NULL);
	SimRawClient *rc = fx_client(fx, "c1");
	sim_raw_client_send(rc, QUIET "SUB a.* 1\r\nSUB a.> 2\r\nSUB foo* 3\r\nSUB foo..bar 4\r\nSUB foo.>.x 5\r\n"
				    "PUB a 1\r\n0\r\nPUB a.b 1\r\n1\r\nPUB a.b.c 1\r\n2\r\nPUB foo 1\r\n3\r\n"
				    "PUB foo* 1\r\n4\r\nPING\r\n");
	fx_run(fx, 100 * MS);
	const char *out = after_info(rc);
	g_assert_cmpint(count(out, "-ERR 'Invalid Subject'\r\n"), ==, 2);
	g_assert_cmpint(count(out, "MSG a.b 1 1\r\n1\r\n"), ==, 1);
	g_assert_cmpint(count(out, "MSG a.b 2 1\r\n1\r\n"), ==, 1);
	g_assert_cmpint(count(out, "MSG a.b.c 2 1\r\n2\r\n"), ==, 1);
	g_assert_cmpint(count(out, "MSG foo* 3 1\r\n4\r\n"), ==, 1);
	g_assert_cmpint(count(out, "MSG "), ==, 4);
	g_assert_true(g_str_has_suffix(out, "PONG\r\n"));
	fx_free(fx);
}

/* Counts MSGs per sid in a transcript. */
static int
count_sid(const char *out, const char *subject, const char *sid)
{
	char *needle = g_strdup_printf("MSG %s %s ", subject, sid);
	int n = count(out, needle);
	g_free(needle);
	return n;
}

/* TestQueueSub / TestMultipleQueueSub: one member per group per message,
 * each of 2 members at least 35 of 100, every group gets all 100, plain
 * subscribers get every message too. Over several seeds. */
static void
test_queue_groups(void)
{
	for (uint64_t seed = 1; seed <= 5; seed++) {
		Fx *fx = fx_new(seed, NULL);
		SimRawClient *rc = fx_client(fx, "c1");
		GString *s = g_string_new(QUIET "SUB foo g1 1\r\nSUB foo g1 2\r\nSUB foo g2 3\r\nSUB foo g2 4\r\n"
					  "SUB foo 5\r\n");
		for (int k = 0; k < 100; k++)
			g_string_append(s, "PUB foo 2\r\nok\r\n");
		g_string_append(s, "PING\r\n");
		sim_raw_client_send(rc, s->str);
		g_string_free(s, TRUE);
		fx_run(fx, 200 * MS);
		const char *out = after_info(rc);
		int m1 = count_sid(out, "foo", "1"), m2 = count_sid(out, "foo", "2");
		int m3 = count_sid(out, "foo", "3"), m4 = count_sid(out, "foo", "4");
		g_assert_cmpint(m1 + m2, ==, 100);
		g_assert_cmpint(m3 + m4, ==, 100);
		g_assert_cmpint(count_sid(out, "foo", "5"), ==, 100);
		g_assert_cmpint(MIN(MIN(m1, m2), MIN(m3, m4)), >=, 35);
		fx_free(fx);
	}
}

/* TestClientPubWithQueueSubNoEcho: a publisher with echo=false that is a
 * member of the group is skipped; the other member gets all 20. */
static void
test_queue_echo_false_member(void)
{
	Fx *fx = fx_new(1, NULL);
	SimRawClient *pub = fx_client(fx, "pub");
	SimRawClient *other = fx_client(fx, "other");
	sim_raw_client_send(other, QUIET "SUB foo bar 1\r\nPING\r\n");
	fx_run(fx, 20 * MS);
	GString *s = g_string_new("CONNECT {\"verbose\":false,\"echo\":false}\r\nSUB foo bar 1\r\n");
	for (int k = 0; k < 20; k++)
		g_string_append(s, "PUB foo 2\r\nok\r\n");
	g_string_append(s, "PING\r\n");
	sim_raw_client_send(pub, s->str);
	g_string_free(s, TRUE);
	fx_run(fx, 100 * MS);
	g_assert_cmpint(count(after_info(pub), "MSG"), ==, 0);
	g_assert_cmpint(count(after_info(other), "MSG foo 1 2"), ==, 20);
	fx_free(fx);
}

#define HDRS "CONNECT {\"verbose\":false,\"headers\":true,\"no_responders\":true}\r\n"

/* No responders: a 503 status to the requester's own subscription, only
 * when nobody took the request, the publisher asked for no_responders, and
 * it subscribes to the reply; the echo=false self-responder counts as
 * nobody. */
static void
test_no_responders(void)
{
	Fx *fx = fx_new(1, NULL);
	SimRawClient *a = fx_client(fx, "a");
	SimRawClient *b = fx_client(fx, "b");
	SimRawClient *c = fx_client(fx, "c");
	SimRawClient *d = fx_client(fx, "d");
	sim_raw_client_send(a, HDRS "SUB _INBOX.y.* 9\r\nPUB req _INBOX.y.1 0\r\n\r\nPING\r\n");
	/* b: no subscription on the reply -> nothing */
	sim_raw_client_send(b, HDRS "PUB req _INBOX.z 0\r\n\r\nPING\r\n");
	/* c: without no_responders -> nothing */
	sim_raw_client_send(c, "CONNECT {\"verbose\":false,\"headers\":true}\r\nSUB r 1\r\nPUB req r 0\r\n\r\nPING\r\n");
	/* d: the only responder is itself with echo=false -> 503 */
	sim_raw_client_send(d, "CONNECT {\"verbose\":false,\"headers\":true,\"no_responders\":true,\"echo\":false}\r\n"
			       "SUB svc 1\r\nSUB rep 2\r\nPUB svc rep 0\r\n\r\nPING\r\n");
	fx_run(fx, 100 * MS);
	g_assert_cmpstr(after_info(a), ==, "HMSG _INBOX.y.1 9 16 16\r\nNATS/1.0 503\r\n\r\n\r\nPONG\r\n");
	g_assert_cmpstr(after_info(b), ==, "PONG\r\n");
	g_assert_cmpstr(after_info(c), ==, "PONG\r\n");
	g_assert_cmpstr(after_info(d), ==, "HMSG rep 2 16 16\r\nNATS/1.0 503\r\n\r\n\r\nPONG\r\n");
	fx_free(fx);
}

/* no_responders without headers is refused. */
static void
test_no_responders_needs_headers(void)
{
	Fx *fx = fx_new(1, NULL);
	SimRawClient *a = fx_client(fx, "a");
	sim_raw_client_send(a, "CONNECT {\"verbose\":false,\"no_responders\":true}\r\n");
	fx_run(fx, 100 * MS);
	g_assert_cmpstr(after_info(a), ==, "-ERR 'no responders requires headers support'\r\n");
	g_assert_cmpint(sim_raw_client_closed_at(a), >, 0);
	fx_free(fx);
}

/* TestClientHeaderDeliverStrippedMsg: a subscriber without headers gets a
 * plain MSG with the headers stripped; one with headers gets HMSG. */
static void
test_header_stripping(void)
{
	Fx *fx = fx_new(1, NULL);
	SimRawClient *plain = fx_client(fx, "plain");
	SimRawClient *hdr = fx_client(fx, "hdr");
	SimRawClient *pub = fx_client(fx, "pub");
	sim_raw_client_send(plain, QUIET "SUB foo 1\r\nPING\r\n");
	sim_raw_client_send(hdr, "CONNECT {\"verbose\":false,\"headers\":true}\r\nSUB foo 1\r\nPING\r\n");
	fx_run(fx, 20 * MS);
	sim_raw_client_send(pub, "CONNECT {\"verbose\":false,\"headers\":true}\r\n"
				 "HPUB foo 22 27\r\nNATS/1.0\r\nK: Value\r\n\r\nhello\r\n");
	fx_run(fx, 100 * MS);
	g_assert_cmpstr(after_info(plain), ==, "PONG\r\nMSG foo 1 5\r\nhello\r\n");
	g_assert_cmpstr(after_info(hdr), ==, "PONG\r\nHMSG foo 1 22 27\r\nNATS/1.0\r\nK: Value\r\n\r\nhello\r\n");
	g_assert_cmpuint(broker_probe_count(fx_broker(fx), BROKER_PROBE_HEADERS_STRIPPED), ==, 1);
	fx_free(fx);
}

/* HPUB from a connection without headers closes it silently. */
static void
test_hpub_without_headers(void)
{
	Fx *fx = fx_new(1, NULL);
	SimRawClient *a = fx_client(fx, "a");
	sim_raw_client_send(a, QUIET "HPUB foo 12 12\r\nNATS/1.0\r\n\r\n\r\n");
	fx_run(fx, 100 * MS);
	g_assert_cmpstr(after_info(a), ==, "");
	g_assert_cmpint(sim_raw_client_closed_at(a), >, 0);
	fx_free(fx);
}

/* TestPedanticPub: an invalid publish subject is reported, and the message
 * is still delivered. */
static void
test_pedantic_pub(void)
{
	Fx *fx = fx_new(1, NULL);
	SimRawClient *a = fx_client(fx, "a");
	sim_raw_client_send(a, "CONNECT {\"verbose\":false,\"pedantic\":true}\r\nSUB foo.* 1\r\nPUB foo.* 1\r\nx\r\nPING\r\n");
	fx_run(fx, 100 * MS);
	g_assert_cmpstr(after_info(a), ==, "-ERR 'Invalid Publish Subject'\r\nMSG foo.* 1 1\r\nx\r\nPONG\r\n");
	fx_free(fx);
}

/* TestPingInterval, in exact virtual time: with ping_interval 1 s and
 * ping_max 2 a client that never answers gets PING at 1 s and 2 s after it
 * connected and 'Stale Connection' at 3 s (no CONNECT: no RTT, so the
 * server pings whatever the client does). */
static void
test_stale_connection_exact_times(void)
{
	BrokerConfig config = { .ping_interval_ns = S, .pings_out_max = 2 };
	Fx *fx = fx_new(1, &config);
	SimRawClient *a = fx_client(fx, "a");
	fx_run(fx, 10 * S);
	/* accepted at 1 ms; each byte needs 1 ms more to arrive */
	g_assert_cmpint(sim_raw_client_time_of(a, "PING\r\n"), ==, S + 2 * MS);
	g_assert_cmpint(sim_raw_client_time_of(a, "PING\r\nPING\r\n"), ==, 2 * S + 2 * MS);
	g_assert_cmpint(sim_raw_client_time_of(a, "-ERR 'Stale Connection'\r\n"), ==, 3 * S + 2 * MS);
	g_assert_cmpstr(after_info(a), ==, "PING\r\nPING\r\n-ERR 'Stale Connection'\r\n");
	g_assert_cmpint(sim_raw_client_closed_at(a), ==, 3 * S + 2 * MS);
	fx_free(fx);
}

/* After CONNECT the first ping comes about 2 s later (plus up to 20 %,
 * seeded), or ping_interval when shorter; a client that answers stays. */
static void
test_first_ping_after_connect(void)
{
	Fx *fx = fx_new(3, NULL);
	SimRawClient *a = fx_client(fx, "a");
	sim_raw_client_send(a, QUIET);
	fx_run(fx, 5 * S);
	int64_t first = sim_raw_client_time_of(a, "PING\r\n");
	/* CONNECT arrives at 3 ms (sent at 2 ms, once connected) */
	g_assert_cmpint(first, >=, 3 * MS + 2 * S + MS);
	g_assert_cmpint(first, <=, 3 * MS + 2400 * MS + MS);
	fx_free(fx);
}

/* TestPingSuppresion: a client that keeps publishing is not pinged within
 * the interval - except for the first ping, which measures the RTT and is
 * sent however busy the client is (processPingTimer: needRTT). */
static void
test_ping_suppressed_by_activity(void)
{
	BrokerConfig config = { .ping_interval_ns = S, .pings_out_max = 2 };
	Fx *fx = fx_new(1, &config);
	SimRawClient *a = fx_client(fx, "a");
	sim_raw_client_send(a, QUIET);
	for (int k = 1; k < 40; k++)
		sim_raw_client_send_at(a, k * 100 * MS, "PUB x 0\r\n\r\n");
	fx_run(fx, 4 * S);
	g_assert_cmpint(count(after_info(a), "PING"), ==, 1);
	g_assert_cmpuint(broker_probe_count(fx_broker(fx), BROKER_PROBE_PING_SKIPPED), >=, 2);
	g_assert_cmpint(sim_raw_client_closed_at(a), ==, -1);
	fx_free(fx);
}

/* A partition makes the client silent: the broker finds the connection
 * stale and closes it. */
static void
partition_event(void *ctx, uint64_t arg)
{
	Fx *fx = ctx;
	SimNode *client = sim_world_node(fx->world, "a");
	sim_net_partition(fx->world, client, sim_broker_node_node(fx->bn), true);
	(void)arg;
}

static void
test_partition_leads_to_stale(void)
{
	BrokerConfig config = { .ping_interval_ns = S, .pings_out_max = 2 };
	Fx *fx = fx_new(1, &config);
	SimRawClient *a = fx_client(fx, "a");
	sim_raw_client_send(a, QUIET);
	sim_world_at(fx->world, 100 * MS, partition_event, fx, 0);
	fx_run(fx, 10 * S);
	g_assert_cmpuint(broker_probe_count(fx_broker(fx), BROKER_PROBE_STALE_CONNECTION), ==, 1);
	g_assert_cmpuint(broker_probe_count(fx_broker(fx), BROKER_PROBE_PING_SENT), ==, 2);
	fx_free(fx);
}

/* TestAuthorizationTimeout: no CONNECT within the auth timeout gives
 * 'Authentication Timeout' exactly then, and a close. */
static void
test_auth_timeout(void)
{
	BrokerConfig config = { .user = "u", .password = "p", .auth_timeout_ns = 500 * MS };
	Fx *fx = fx_new(1, &config);
	SimRawClient *a = fx_client(fx, "a");
	fx_run(fx, 5 * S);
	g_assert_true(strstr(sim_raw_client_text(a), "\"auth_required\":true") != NULL);
	g_assert_cmpstr(after_info(a), ==, "-ERR 'Authentication Timeout'\r\n");
	g_assert_cmpint(sim_raw_client_time_of(a, "-ERR"), ==, MS + 500 * MS + MS);
	g_assert_cmpint(sim_raw_client_closed_at(a), ==, 502 * MS);
	fx_free(fx);
}

/* Auth violations: an op before CONNECT, a wrong password, a wrong token;
 * the right credentials work. */
static void
test_auth_violations(void)
{
	BrokerConfig config = { .user = "u", .password = "p" };
	Fx *fx = fx_new(1, &config);
	SimRawClient *early = fx_client(fx, "early");
	SimRawClient *wrong = fx_client(fx, "wrong");
	SimRawClient *right = fx_client(fx, "right");
	sim_raw_client_send(early, "PING\r\n");
	sim_raw_client_send(wrong, "CONNECT {\"verbose\":false,\"user\":\"u\",\"pass\":\"x\"}\r\nPING\r\n");
	sim_raw_client_send(right, "CONNECT {\"verbose\":false,\"user\":\"u\",\"pass\":\"p\"}\r\nPING\r\n");
	fx_run(fx, 100 * MS);
	g_assert_cmpstr(after_info(early), ==, "-ERR 'Authorization Violation'\r\n");
	g_assert_cmpstr(after_info(wrong), ==, "-ERR 'Authorization Violation'\r\n");
	g_assert_cmpstr(after_info(right), ==, "PONG\r\n");
	g_assert_cmpint(sim_raw_client_closed_at(early), >, 0);
	g_assert_cmpint(sim_raw_client_closed_at(wrong), >, 0);
	g_assert_cmpint(sim_raw_client_closed_at(right), ==, -1);
	fx_free(fx);

	BrokerConfig tok = { .token = "s3cret" };
	fx = fx_new(1, &tok);
	SimRawClient *bad = fx_client(fx, "bad");
	SimRawClient *good = fx_client(fx, "good");
	sim_raw_client_send(bad, "CONNECT {\"verbose\":false,\"auth_token\":\"nope\"}\r\n");
	sim_raw_client_send(good, "CONNECT {\"verbose\":false,\"auth_token\":\"s3cret\"}\r\nPING\r\n");
	fx_run(fx, 100 * MS);
	g_assert_cmpstr(after_info(bad), ==, "-ERR 'Authorization Violation'\r\n");
	g_assert_cmpstr(after_info(good), ==, "PONG\r\n");
	fx_free(fx);
}

/* TestMaxPayload: INFO advertises the limit; at the limit is fine, one
 * byte over gets 'Maximum Payload Violation' and a close. */
static void
test_max_payload(void)
{
	BrokerConfig config = { .payload_max_bytes = 1024 };
	Fx *fx = fx_new(1, &config);
	SimRawClient *a = fx_client(fx, "a");
	SimRawClient *b = fx_client(fx, "b");
	GString *ok = g_string_new(QUIET "SUB foo 1\r\nPUB foo 1024\r\n");
	for (int k = 0; k < 1024; k++)
		g_string_append_c(ok, 'x');
	g_string_append(ok, "\r\nPING\r\n");
	sim_raw_client_send(a, ok->str);
	sim_raw_client_send(b, QUIET "PUB foo 1025\r\n");
	g_string_free(ok, TRUE);
	fx_run(fx, 100 * MS);
	g_assert_true(strstr(sim_raw_client_text(a), "\"max_payload\":1024") != NULL);
	g_assert_true(g_str_has_prefix(after_info(a), "MSG foo 1 1024\r\nxxx"));
	g_assert_true(g_str_has_suffix(after_info(a), "PONG\r\n"));
	g_assert_cmpstr(after_info(b), ==, "-ERR 'Maximum Payload Violation'\r\n");
	g_assert_cmpint(sim_raw_client_closed_at(b), >, 0);
	fx_free(fx);
}

/* Protocol garbage, an over-long control line, a PUB with bad arguments:
 * each ends only its own connection, with nats-server's -ERR or silently. */
static void
test_bad_input_closes_only_that_connection(void)
{
	BrokerConfig config = { .control_line_max = 64 };
	Fx *fx = fx_new(1, &config);
	SimRawClient *good = fx_client(fx, "good");
	SimRawClient *garbage = fx_client(fx, "garbage");
	SimRawClient *longline = fx_client(fx, "longline");
	SimRawClient *badargs = fx_client(fx, "badargs");
	SimRawClient *msg = fx_client(fx, "msg");
	sim_raw_client_send(good, QUIET "SUB foo 1\r\n");
	sim_raw_client_send(garbage, "GARBAGE\r\n");
	GString *s = g_string_new("SUB ");
	for (int k = 0; k < 70; k++)
		g_string_append_c(s, 'a');
	g_string_append(s, " 1\r\n");
	sim_raw_client_send(longline, s->str);
	g_string_free(s, TRUE);
	sim_raw_client_send(badargs, "PUB foo\r\n");
	sim_raw_client_send(msg, "MSG foo 1 1\r\nx\r\n");
	sim_raw_client_send_at(good, 50 * MS, "PUB foo 2\r\nok\r\nPING\r\n");
	fx_run(fx, 100 * MS);
	g_assert_cmpstr(after_info(garbage), ==, "-ERR 'Unknown Protocol Operation'\r\n");
	g_assert_cmpstr(after_info(longline), ==, "-ERR 'maximum control line exceeded'\r\n");
	g_assert_cmpstr(after_info(badargs), ==, "");
	g_assert_cmpstr(after_info(msg), ==, "-ERR 'Unknown Protocol Operation'\r\n");
	g_assert_cmpint(sim_raw_client_closed_at(garbage), >, 0);
	g_assert_cmpint(sim_raw_client_closed_at(longline), >, 0);
	g_assert_cmpint(sim_raw_client_closed_at(badargs), >, 0);
	g_assert_cmpint(sim_raw_client_closed_at(msg), >, 0);
	g_assert_cmpstr(after_info(good), ==, "MSG foo 1 2\r\nok\r\nPONG\r\n");
	g_assert_cmpint(sim_raw_client_closed_at(good), ==, -1);
	fx_free(fx);
}

/* NUL bytes: a SUB with one in its subject or sid is refused as an invalid
 * subject, and a published subject with one matches nothing (found by
 * fuzzing: a C string copy used to cut it short). */
static void
test_nul_bytes(void)
{
	Fx *fx = fx_new(1, NULL);
	SimRawClient *a = fx_client(fx, "a");
	static const char script[] = QUIET "SUB foo 1\r\nSUB foo 2\0x\r\nSUB fo\0o 3\r\nPUB foo\0bar 1\r\nx\r\nPUB foo 1\r\ny\r\nPING\r\n";
	sim_raw_client_send_bytes(a, script, sizeof(script) - 1);
	fx_run(fx, 100 * MS);
	g_assert_cmpstr(after_info(a), ==, "-ERR 'Invalid Subject'\r\n-ERR 'Invalid Subject'\r\nMSG foo 1 1\r\ny\r\nPONG\r\n");
	fx_free(fx);
}

/* max_connections: the next client gets INFO, then the error, then a
 * close; max_subscriptions: an error, and the connection stays. */
static void
test_connection_and_subscription_limits(void)
{
	BrokerConfig config = { .connections_max = 1, .subscriptions_max = 2 };
	Fx *fx = fx_new(1, &config);
	SimRawClient *a = fx_client(fx, "a");
	fx_run(fx, 10 * MS);
	SimRawClient *b = fx_client(fx, "b");
	sim_raw_client_send(a, QUIET "SUB x 1\r\nSUB y 2\r\nSUB z 3\r\nPING\r\n");
	fx_run(fx, 100 * MS);
	g_assert_cmpstr(after_info(b), ==, "-ERR 'maximum connections exceeded'\r\n");
	g_assert_cmpint(sim_raw_client_closed_at(b), >, 0);
	g_assert_cmpstr(after_info(a), ==, "-ERR 'maximum subscriptions exceeded'\r\nPONG\r\n");
	fx_free(fx);
}

/* TestClientSlowConsumer: a subscriber that stops reading is cut when its
 * pending bytes pass max_pending; the publisher and another subscriber go
 * on unharmed. */
static void
test_slow_consumer(void)
{
	BrokerConfig config = { .pending_bytes_max = 1024 * 1024 };
	Fx *fx = fx_new(1, &config);
	SimRawClient *slow = fx_client(fx, "slow");
	SimRawClient *fast = fx_client(fx, "fast");
	SimRawClient *pub = fx_client(fx, "pub");
	sim_raw_client_send(slow, QUIET "SUB big 1\r\nPING\r\n");
	sim_raw_client_send(fast, QUIET "SUB big 1\r\nPING\r\n");
	fx_run(fx, 20 * MS);
	sim_raw_client_set_reading(slow, false);
	GString *s = g_string_new(QUIET);
	char body[1025];
	memset(body, 'b', 1024);
	body[1024] = '\0';
	for (int k = 0; k < 3000; k++)
		g_string_append_printf(s, "PUB big 1024\r\n%s\r\n", body);
	g_string_append(s, "PING\r\n");
	sim_raw_client_send(pub, s->str);
	g_string_free(s, TRUE);
	fx_run(fx, 5 * S);
	g_assert_cmpuint(broker_probe_count(fx_broker(fx), BROKER_PROBE_SLOW_CONSUMER), ==, 1);
	g_assert_cmpint(sim_raw_client_closed_at(slow), >, 0);
	g_assert_cmpint(count(after_info(fast), "MSG big 1 1024"), ==, 3000);
	g_assert_true(g_str_has_prefix(after_info(pub), "PONG\r\n"));
	g_assert_cmpint(sim_raw_client_closed_at(pub), ==, -1);
	fx_free(fx);
}

/* Request/reply through the broker: a responder answers on the reply. */
static void
test_request_reply(void)
{
	Fx *fx = fx_new(1, NULL);
	SimRawClient *svc = fx_client(fx, "svc");
	SimRawClient *req = fx_client(fx, "req");
	sim_raw_client_send(svc, QUIET "SUB help 1\r\nPING\r\n");
	sim_raw_client_send(req, QUIET "SUB _INBOX.r.* 1\r\nPING\r\n");
	fx_run(fx, 20 * MS);
	sim_raw_client_send(req, "PUB help _INBOX.r.1 3\r\nhey\r\n");
	fx_run(fx, 40 * MS);
	g_assert_cmpstr(after_info(svc), ==, "PONG\r\nMSG help 1 _INBOX.r.1 3\r\nhey\r\n");
	sim_raw_client_send(svc, "PUB _INBOX.r.1 2\r\nok\r\n");
	fx_run(fx, 60 * MS);
	g_assert_cmpstr(after_info(req), ==, "PONG\r\nMSG _INBOX.r.1 1 2\r\nok\r\n");
	fx_free(fx);
}

/* A broker crash resets its clients; after the restart a new client gets
 * a fresh INFO from a new server id, and nothing of the old state. */
static void
crash_event(void *ctx, uint64_t arg)
{
	(void)arg;
	sim_node_crash(ctx);
}

static void
restart_event(void *ctx, uint64_t arg)
{
	(void)arg;
	sim_node_restart(ctx);
}

static void
test_crash_and_restart(void)
{
	Fx *fx = fx_new(1, NULL);
	SimRawClient *a = fx_client(fx, "a");
	sim_raw_client_send(a, QUIET "SUB foo 1\r\n");
	fx_run(fx, 10 * MS);
	const char *id = broker_server_id(fx_broker(fx));
	char *old_id = g_strdup(id);
	SimNode *node = sim_broker_node_node(fx->bn);
	sim_world_at(fx->world, 20 * MS, crash_event, node, 0);
	sim_world_at(fx->world, 30 * MS, restart_event, node, 0);
	fx_run(fx, 25 * MS);
	g_assert_null(fx_broker(fx));
	g_assert_cmpint(sim_raw_client_closed_at(a), ==, 21 * MS);
	fx_run(fx, 40 * MS);
	SimRawClient *b = fx_client(fx, "b");
	sim_raw_client_send(b, QUIET "PUB foo 1\r\nx\r\nPING\r\n");
	fx_run(fx, 100 * MS);
	g_assert_cmpstr(after_info(b), ==, "PONG\r\n");
	g_assert_cmpstr(broker_server_id(fx_broker(fx)), !=, old_id);
	g_free(old_id);
	fx_free(fx);
}


static json_t *
monitor_json(Fx *fx, const char *path, const BrokerMonitorArg *args, size_t n, int *status)
{
	const char *type;
	char *body = broker_monitor(fx_broker(fx), path, args, n, NULL,
	    sim_node_clock_ns(sim_broker_node_node(fx->bn)), status, &type);
	json_t *j = json_loads(body, 0, NULL);
	g_free(body);
	return j;
}

/* /varz, /connz, /subsz, /healthz answer with nats-server's fields, in
 * virtual time (the epoch is 2024-01-01T00:00:00Z). */
static void
test_monitoring(void)
{
	Fx *fx = fx_new(1, NULL);
	SimRawClient *a = fx_client(fx, "a");
	SimRawClient *b = fx_client(fx, "b");
	sim_raw_client_send(a, "CONNECT {\"verbose\":false,\"name\":\"alpha\",\"lang\":\"c\",\"version\":\"1.0\"}\r\n"
			       "SUB foo 1\r\nSUB bar q 2\r\nPUB foo 2\r\nhi\r\n");
	sim_raw_client_send(b, QUIET "SUB foo.* 7\r\n");
	sim_raw_client_send_at(b, 2 * S, "PUB foo.x 0\r\n\r\n");
	fx_run(fx, 3 * S);
	sim_raw_client_close(b);
	fx_run(fx, 3 * S + 10 * MS);

	int status;
	json_t *v = monitor_json(fx, "/varz", NULL, 0, &status);
	g_assert_cmpint(status, ==, 200);
	g_assert_cmpstr(json_string_value(json_object_get(v, "start")), ==, "2024-01-01T00:00:00Z");
	g_assert_cmpstr(json_string_value(json_object_get(v, "now")), ==, "2024-01-01T00:00:03.01Z");
	g_assert_cmpstr(json_string_value(json_object_get(v, "uptime")), ==, "3s");
	g_assert_cmpint(json_integer_value(json_object_get(v, "connections")), ==, 1);
	g_assert_cmpint(json_integer_value(json_object_get(v, "total_connections")), ==, 2);
	g_assert_cmpint(json_integer_value(json_object_get(v, "in_msgs")), ==, 2);
	g_assert_cmpint(json_integer_value(json_object_get(v, "out_msgs")), ==, 2);
	g_assert_cmpint(json_integer_value(json_object_get(v, "subscriptions")), ==, 2);
	g_assert_cmpint(json_integer_value(json_object_get(v, "max_payload")), ==, 1048576);
	g_assert_cmpint(json_integer_value(json_object_get(v, "ping_interval")), ==, 120000000000);
	json_decref(v);

	BrokerMonitorArg subs[] = { { "subs", "1" } };
	json_t *c = monitor_json(fx, "/connz", subs, 1, &status);
	g_assert_cmpint(json_integer_value(json_object_get(c, "num_connections")), ==, 1);
	json_t *ci = json_array_get(json_object_get(c, "connections"), 0);
	g_assert_cmpint(json_integer_value(json_object_get(ci, "cid")), ==, 1);
	g_assert_cmpstr(json_string_value(json_object_get(ci, "name")), ==, "alpha");
	g_assert_cmpstr(json_string_value(json_object_get(ci, "kind")), ==, "Client");
	/* accepted at 1 ms, CONNECT at 3 ms: the RTT is 2 ms */
	g_assert_cmpstr(json_string_value(json_object_get(ci, "rtt")), ==, "2ms");
	g_assert_cmpint(json_integer_value(json_object_get(ci, "subscriptions")), ==, 2);
	json_t *list = json_object_get(ci, "subscriptions_list");
	g_assert_cmpstr(json_string_value(json_array_get(list, 0)), ==, "foo");
	g_assert_cmpstr(json_string_value(json_array_get(list, 1)), ==, "bar");
	json_decref(c);

	BrokerMonitorArg closed[] = { { "state", "closed" }, { "subs", "detail" } };
	c = monitor_json(fx, "/connz", closed, 2, &status);
	ci = json_array_get(json_object_get(c, "connections"), 0);
	g_assert_cmpint(json_integer_value(json_object_get(ci, "cid")), ==, 2);
	g_assert_cmpstr(json_string_value(json_object_get(ci, "reason")), ==, "Client Closed");
	json_t *detail = json_array_get(json_object_get(ci, "subscriptions_list_detail"), 0);
	g_assert_cmpstr(json_string_value(json_object_get(detail, "subject")), ==, "foo.*");
	g_assert_cmpint(json_integer_value(json_object_get(detail, "msgs")), ==, 1); /* its own PUB foo.x, echoed */
	json_decref(c);

	BrokerMonitorArg test[] = { { "subs", "1" }, { "test", "foo" } };
	json_t *z = monitor_json(fx, "/subsz", test, 2, &status);
	g_assert_cmpint(json_integer_value(json_object_get(z, "num_subscriptions")), ==, 2);
	g_assert_cmpint(json_integer_value(json_object_get(z, "total")), ==, 1);
	json_t *sd = json_array_get(json_object_get(z, "subscriptions_list"), 0);
	g_assert_cmpstr(json_string_value(json_object_get(sd, "subject")), ==, "foo");
	g_assert_cmpint(json_integer_value(json_object_get(sd, "msgs")), ==, 1);
	json_decref(z);

	BrokerMonitorArg bad[] = { { "sort", "sideways" } };
	const char *type;
	char *body = broker_monitor(fx_broker(fx), "/connz", bad, 1, NULL, 0, &status, &type);
	g_assert_cmpint(status, ==, 400);
	g_assert_cmpstr(body, ==, "invalid sorting option: sideways");
	g_free(body);
	body = broker_monitor(fx_broker(fx), "/healthz", NULL, 0, NULL, 0, &status, &type);
	g_assert_cmpstr(body, ==, "{\"status\":\"ok\"}");
	g_free(body);
	body = broker_monitor(fx_broker(fx), "/nope", NULL, 0, NULL, 0, &status, &type);
	g_assert_cmpint(status, ==, 404);
	g_free(body);
	fx_free(fx);
}

typedef struct Echo {
	Broker *broker;
	int calls;
	int ticks;
	int64_t tick_at;
} Echo;

static void
echo_service(void *ctx, const BrokerMsgView *m)
{
	Echo *e = ctx;
	e->calls++;
	g_assert_nonnull(m->publisher);
	char *reply = g_strndup(m->reply, m->reply_len);
	char *subject = g_strndup(m->subject, m->subject_len);
	g_assert_cmpuint(broker_internal_publish(e->broker, reply, NULL, NULL, 0, subject, strlen(subject)), ==, 1);
	g_free(reply);
	g_free(subject);
}

static int64_t
echo_next(void *ctx)
{
	Echo *e = ctx;
	return e->ticks == 0 ? e->tick_at : INT64_MAX;
}

static void
echo_tick(void *ctx, int64_t now)
{
	Echo *e = ctx;
	e->ticks++;
	g_assert_cmpint(now, >=, e->tick_at);
	/* a publish from a timer reaches clients too */
	broker_internal_publish(e->broker, "tick", NULL, NULL, 0, "t", 1);
}

/* The internal seam: a broker-internal subscription answers a client's
 * request by publishing on its reply (nested routing); a ticker's deadline
 * drives a publish from a timer; interest is visible, exactly or not. */
static void
test_internal_seam(void)
{
	Fx *fx = fx_new(1, NULL);
	Broker *b = fx_broker(fx);
	Echo e = { .broker = b, .tick_at = sim_node_clock_ns(sim_broker_node_node(fx->bn)) + 500 * MS };
	BrokerInternalSub *isub = broker_internal_subscribe(b, "svc.>", NULL, echo_service, &e);
	g_assert_nonnull(isub);
	g_assert_null(broker_internal_subscribe(b, "bad..subject", NULL, echo_service, &e));
	broker_set_ticker(b, &(BrokerTicker){ echo_next, echo_tick, &e });
	SimRawClient *a = fx_client(fx, "a");
	sim_raw_client_send(a, QUIET "SUB _R.* 1\r\nSUB tick 2\r\nPUB svc.echo _R.1 0\r\n\r\nPING\r\n");
	fx_run(fx, 100 * MS);
	g_assert_cmpstr(after_info(a), ==, "MSG _R.1 1 8\r\nsvc.echo\r\nPONG\r\n");
	g_assert_true(broker_has_exact_interest(b, "tick"));
	g_assert_false(broker_has_exact_interest(b, "_R.1"));
	g_assert_true(broker_has_interest(b, "_R.1"));
	g_assert_false(broker_has_interest(b, "svc.echo")); /* internal subs are not client interest */
	fx_run(fx, 1 * S);
	g_assert_cmpint(e.ticks, ==, 1);
	g_assert_true(g_str_has_suffix(after_info(a), "MSG tick 2 1\r\nt\r\n"));
	broker_internal_unsubscribe(b, isub);
	sim_raw_client_send(a, "PUB svc.echo _R.2 0\r\n\r\nPING\r\n");
	fx_run(fx, 2 * S);
	g_assert_cmpint(e.calls, ==, 1);
	broker_set_ticker(b, NULL);
	fx_free(fx);
}

int
main(int argc, char **argv)
{
	json_object_seed(1);
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/broker/sim/info-first", test_info_first);
	g_test_add_func("/broker/sim/defaults-without-connect", test_defaults_without_connect);
	g_test_add_func("/broker/sim/verbose-ordering", test_verbose_ordering);
	g_test_add_func("/broker/sim/unsub-max", test_unsub_max);
	g_test_add_func("/broker/sim/unsub-max-already-reached", test_unsub_max_already_reached);
	g_test_add_func("/broker/sim/duplicate-sid-and-overlap", test_duplicate_sid_and_overlap);
	g_test_add_func("/broker/sim/wildcards-and-invalid-subjects", test_wildcards_and_invalid_subjects);
	g_test_add_func("/broker/sim/queue-groups", test_queue_groups);
	g_test_add_func("/broker/sim/queue-echo-false-member", test_queue_echo_false_member);
	g_test_add_func("/broker/sim/no-responders", test_no_responders);
	g_test_add_func("/broker/sim/no-responders-needs-headers", test_no_responders_needs_headers);
	g_test_add_func("/broker/sim/header-stripping", test_header_stripping);
	g_test_add_func("/broker/sim/hpub-without-headers", test_hpub_without_headers);
	g_test_add_func("/broker/sim/pedantic-pub", test_pedantic_pub);
	g_test_add_func("/broker/sim/stale-connection-exact-times", test_stale_connection_exact_times);
	g_test_add_func("/broker/sim/first-ping-after-connect", test_first_ping_after_connect);
	g_test_add_func("/broker/sim/ping-suppressed-by-activity", test_ping_suppressed_by_activity);
	g_test_add_func("/broker/sim/partition-leads-to-stale", test_partition_leads_to_stale);
	g_test_add_func("/broker/sim/auth-timeout", test_auth_timeout);
	g_test_add_func("/broker/sim/auth-violations", test_auth_violations);
	g_test_add_func("/broker/sim/max-payload", test_max_payload);
	g_test_add_func("/broker/sim/bad-input-closes-only-that-connection", test_bad_input_closes_only_that_connection);
	g_test_add_func("/broker/sim/connection-and-subscription-limits", test_connection_and_subscription_limits);
	g_test_add_func("/broker/sim/slow-consumer", test_slow_consumer);
	g_test_add_func("/broker/sim/request-reply", test_request_reply);
	g_test_add_func("/broker/sim/crash-and-restart", test_crash_and_restart);
	g_test_add_func("/broker/sim/monitoring", test_monitoring);
	g_test_add_func("/broker/sim/nul-bytes", test_nul_bytes);
	g_test_add_func("/broker/sim/internal-seam", test_internal_seam);
	return g_test_run();
}
