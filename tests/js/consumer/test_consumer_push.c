/*
 * test_consumer_push.c - push consumers (NATS-SPEC §3.1, §3.8, §3.11):
 * the delivered message's shape, headers_only, activation on exact
 * interest and deliver groups, idle heartbeats, flow control, the
 * inactive threshold, deliver policies, the no-interest delivery quirk.
 */
#include <glib.h>
#include <string.h>

#include "cfx.h"

#define STREAM "{\"name\":\"S\",\"subjects\":[\"s.>\"],\"storage\":\"memory\"}"

static CfxMsg *
at(GPtrArray *a, guint k)
{
	g_assert_cmpuint(k, <, a->len);
	return a->pdata[k];
}

/* §3.1: the stream subject, the deliver subscription's sid, the ack
 * reply; headers as stored (HMSG), none -> MSG; headers_only drops the
 * payload and adds Nats-Msg-Size. */
static void
test_message_shape(void)
{
	Cfx *fx = cfx_new(NULL);
	CfxClient *c = cfx_client(fx);
	cfx_stream(fx, c, STREAM);
	cfx_pub(fx, c, "s.plain", NULL, NULL, "hello");
	cfx_pub(fx, c, "s.hdr", NULL, "NATS/1.0\r\nFoo: bar\r\n\r\n", "hello");
	cfx_sub(fx, c, "d.full", NULL, 1);
	cfx_sub(fx, c, "d.ho", NULL, 2);
	json_decref(cfx_consumer(fx, c, "S", "F", "{\"durable_name\":\"F\",\"deliver_subject\":\"d.full\",\"ack_policy\":\"explicit\"}"));
	GPtrArray *m = cfx_take_prefix(fx, c, "s.");
	g_assert_cmpuint(m->len, ==, 2);
	g_assert_cmpstr(at(m, 0)->subject, ==, "s.plain");
	g_assert_cmpstr(at(m, 0)->sid, ==, "1");
	g_assert_null(at(m, 0)->hdr);
	g_assert_cmpstr(at(m, 0)->data->str, ==, "hello");
	g_assert_true(g_str_has_prefix(at(m, 0)->reply, "$JS.ACK.S.F.1.1.1."));
	g_assert_cmpstr(at(m, 1)->subject, ==, "s.hdr");
	g_assert_cmpstr(at(m, 1)->hdr->str, ==, "NATS/1.0\r\nFoo: bar\r\n\r\n");
	g_assert_cmpstr(at(m, 1)->data->str, ==, "hello");
	g_ptr_array_free(m, TRUE);
	json_decref(cfx_consumer(fx, c, "S", "H",
	    "{\"durable_name\":\"H\",\"deliver_subject\":\"d.ho\",\"ack_policy\":\"none\",\"headers_only\":true}"));
	m = cfx_take_prefix(fx, c, "s.");
	g_assert_cmpuint(m->len, ==, 2);
	g_assert_cmpstr(at(m, 0)->sid, ==, "2");
	g_assert_cmpstr(at(m, 0)->hdr->str, ==, "NATS/1.0\r\nNats-Msg-Size: 5\r\n\r\n");
	g_assert_cmpuint(at(m, 0)->data->len, ==, 0);
	g_assert_cmpstr(at(m, 1)->hdr->str, ==, "NATS/1.0\r\nFoo: bar\r\nNats-Msg-Size: 5\r\n\r\n");
	g_assert_cmpuint(at(m, 1)->data->len, ==, 0);
	g_assert_nonnull(at(m, 1)->reply); /* ack none still has the ack subject */
	g_ptr_array_free(m, TRUE);
	cfx_free(fx);
}

/* §3.11: a wildcard subscription that existed before does not make the
 * consumer deliver (registerNotification compares subjects); an exact one
 * does, and then the wildcard one gets copies too. */
static void
test_activation_exact_interest(void)
{
	Cfx *fx = cfx_new(NULL);
	CfxClient *c = cfx_client(fx);
	cfx_stream(fx, c, STREAM);
	cfx_pub_n(fx, c, "s.a", 2);
	cfx_sub(fx, c, "d.>", NULL, 1);
	json_t *r = cfx_consumer(fx, c, "S", "W", "{\"durable_name\":\"W\",\"deliver_subject\":\"d.W\",\"ack_policy\":\"explicit\"}");
	g_assert_null(json_object_get(r, "push_bound"));
	json_decref(r);
	cfx_advance(fx, SEC);
	GPtrArray *m = cfx_take_prefix(fx, c, "s.");
	g_assert_cmpuint(m->len, ==, 0);
	g_ptr_array_free(m, TRUE);
	cfx_sub(fx, c, "d.W", NULL, 2);
	m = cfx_take_prefix(fx, c, "s.");
	g_assert_cmpuint(m->len, ==, 4);
	g_ptr_array_free(m, TRUE);
	json_t *i = cfx_info(fx, c, "S", "W");
	g_assert_true(json_is_true(json_object_get(i, "push_bound")));
	json_decref(i);
	/* exact interest gone: inactive again, the wildcard alone does not deliver */
	cfx_unsub(fx, c, 2);
	cfx_pub(fx, c, "s.a", NULL, NULL, "x");
	m = cfx_take_prefix(fx, c, "s.");
	g_assert_cmpuint(m->len, ==, 0);
	g_ptr_array_free(m, TRUE);
	cfx_free(fx);
}

/* deliver_group: only a queue subscription of that group activates it;
 * delivery then goes through normal queue selection (one member). */
static void
test_deliver_group(void)
{
	Cfx *fx = cfx_new(NULL);
	CfxClient *c = cfx_client(fx);
	cfx_stream(fx, c, STREAM);
	cfx_sub(fx, c, "d.G", NULL, 1);
	json_decref(cfx_consumer(fx, c, "S", "G",
	    "{\"durable_name\":\"G\",\"deliver_subject\":\"d.G\",\"deliver_group\":\"g\",\"ack_policy\":\"explicit\"}"));
	cfx_pub(fx, c, "s.a", NULL, NULL, "x");
	GPtrArray *m = cfx_take_prefix(fx, c, "s.");
	g_assert_cmpuint(m->len, ==, 0);
	g_ptr_array_free(m, TRUE);
	cfx_sub(fx, c, "d.G", "g", 2);
	cfx_sub(fx, c, "d.G", "g", 3);
	m = cfx_take_prefix(fx, c, "s.");
	/* one queue member plus the plain subscriber */
	g_assert_cmpuint(m->len, ==, 2);
	g_ptr_array_free(m, TRUE);
	cfx_free(fx);
}

/* TestJetStreamPushConsumerIdleHeartbeats: heartbeats every idle_heartbeat
 * after the last delivery, with Nats-Last-Consumer/Stream; none while
 * inactive. */
static void
test_push_heartbeats(void)
{
	Cfx *fx = cfx_new(NULL);
	CfxClient *c = cfx_client(fx);
	cfx_stream(fx, c, STREAM);
	cfx_sub(fx, c, "d.H", NULL, 1);
	json_decref(cfx_consumer(fx, c, "S", "H",
	    "{\"durable_name\":\"H\",\"deliver_subject\":\"d.H\",\"ack_policy\":\"explicit\",\"idle_heartbeat\":1000000000}"));
	cfx_advance(fx, 200 * MS);
	cfx_pub_n(fx, c, "s.a", 3);
	cfx_discard(fx, c);
	cfx_advance(fx, 3 * SEC + 100 * MS);
	GPtrArray *m = cfx_take_prefix(fx, c, "d.H");
	g_assert_cmpuint(m->len, ==, 3);
	for (guint k = 0; k < 3; k++) {
		g_assert_cmpstr(at(m, k)->hdr->str, ==,
		    "NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: 3\r\nNats-Last-Stream: 3\r\n\r\n");
		g_assert_cmpint(at(m, k)->at_ns - CFX_EPOCH_NS, ==, 200 * MS + (int64_t)(k + 1) * SEC);
		g_assert_null(at(m, k)->reply);
		g_assert_cmpuint(at(m, k)->data->len, ==, 0);
	}
	g_ptr_array_free(m, TRUE);
	cfx_unsub(fx, c, 1);
	cfx_sub(fx, c, "d.>", NULL, 2); /* sees heartbeats if any were sent */
	cfx_advance(fx, 5 * SEC);
	m = cfx_take_prefix(fx, c, "d.H");
	g_assert_cmpuint(m->len, ==, 0);
	g_ptr_array_free(m, TRUE);
	cfx_free(fx);
}

/* TestJetStreamPushConsumerFlowControl: the window starts at 2 MiB; a FC
 * request (100, reply $JS.FC.<s>.<c>.xxxx) goes when delivered bytes pass
 * half of it, deliveries stop once they pass all of it, heartbeats then
 * say Nats-Consumer-Stalled, and answering the request resumes them. */
static void
test_flow_control(void)
{
	Cfx *fx = cfx_new(NULL);
	CfxClient *c = cfx_client(fx);
	cfx_stream(fx, c, STREAM);
	cfx_sub(fx, c, "d.F", NULL, 1);
	json_decref(cfx_consumer(fx, c, "S", "F",
	    "{\"durable_name\":\"F\",\"deliver_subject\":\"d.F\",\"ack_policy\":\"none\",\"flow_control\":true,"
	    "\"idle_heartbeat\":1000000000}"));
	char *payload = g_malloc(65537);
	memset(payload, 'x', 65536);
	payload[65536] = '\0';
	for (int k = 0; k < 40; k++)
		cfx_pub(fx, c, "s.a", NULL, NULL, payload);
	g_free(payload);
	GPtrArray *m = cfx_take_prefix(fx, c, "");
	int64_t bytes = 0;
	int delivered = 0, fc_after = -1;
	char *fc = NULL;
	for (guint k = 0; k < m->len; k++) {
		CfxMsg *x = at(m, k);
		if (strcmp(x->subject, "s.a") == 0) {
			bytes += 3 + (int64_t)strlen(x->reply) + 65536;
			delivered++;
		} else if (strcmp(x->subject, "d.F") == 0 && cfx_status(x) == 100) {
			g_assert_cmpstr(x->hdr->str, ==, "NATS/1.0 100 FlowControl Request\r\n\r\n");
			g_assert_true(g_str_has_prefix(x->reply, "$JS.FC.S.F."));
			g_assert_cmpuint(strlen(x->reply), ==, strlen("$JS.FC.S.F.") + 4);
			fc_after = delivered;
			g_assert_cmpint(bytes, >, 1024 * 1024);
			g_assert_cmpint(bytes - (3 + 50 + 65536), <=, 1024 * 1024);
			fc = g_strdup(x->reply);
		}
	}
	g_assert_nonnull(fc);
	g_assert_cmpint(fc_after, >, 0);
	g_assert_cmpint(bytes, >, 2 * 1024 * 1024);
	g_assert_cmpint(delivered, <, 40);
	g_ptr_array_free(m, TRUE);
	/* stalled: the heartbeat says so */
	cfx_advance(fx, 1100 * MS);
	m = cfx_take_prefix(fx, c, "d.F");
	g_assert_cmpuint(m->len, ==, 1);
	char *stalled = cfx_header(at(m, 0), "Nats-Consumer-Stalled");
	g_assert_cmpstr(stalled, ==, fc);
	g_free(stalled);
	g_ptr_array_free(m, TRUE);
	cfx_pub(fx, c, fc, NULL, NULL, "");
	m = cfx_take_prefix(fx, c, "s.a");
	g_assert_cmpuint(m->len, ==, (guint)(40 - delivered));
	g_ptr_array_free(m, TRUE);
	g_assert_cmpuint(broker_probe_count(fx->broker, BROKER_PROBE_JS_FLOW_CONTROL), ==, 1);
	g_free(fc);
	cfx_free(fx);
}

/* An ephemeral push consumer without interest goes after its threshold
 * (5 s + 100 ms + jitter below 900 ms); interest stops the countdown, and
 * losing it starts it again. */
static void
test_push_inactive_threshold(void)
{
	Cfx *fx = cfx_new(NULL);
	CfxClient *c = cfx_client(fx);
	cfx_sub(fx, c, "$JS.EVENT.ADVISORY.CONSUMER.DELETED.>", NULL, 7);
	cfx_stream(fx, c, STREAM);
	json_t *r = cfx_consumer(fx, c, "S", NULL, "{\"deliver_subject\":\"d.E\",\"ack_policy\":\"explicit\"}");
	char *name = g_strdup(json_string_value(json_object_get(r, "name")));
	json_decref(r);
	cfx_advance(fx, 3 * SEC);
	cfx_sub(fx, c, "d.E", NULL, 1);
	cfx_advance(fx, 30 * SEC);
	json_t *i = cfx_info(fx, c, "S", name);
	g_assert_null(json_object_get(i, "error"));
	json_decref(i);
	cfx_unsub(fx, c, 1);
	int64_t t_lost = cfx_t(fx);
	int64_t gone = -1;
	for (int step = 0; step < 800 && gone < 0; step++) {
		cfx_advance(fx, 10 * MS);
		GPtrArray *adv = cfx_take_prefix(fx, c, "$JS.EVENT.ADVISORY.CONSUMER.DELETED.S.");
		if (adv->len > 0)
			gone = cfx_t(fx) - t_lost;
		g_ptr_array_free(adv, TRUE);
	}
	g_assert_cmpint(gone, >=, 5100 * MS);
	g_assert_cmpint(gone, <=, 6000 * MS);
	g_free(name);
	/* a durable push consumer without a threshold stays */
	json_decref(cfx_consumer(fx, c, "S", "DUR", "{\"durable_name\":\"DUR\",\"deliver_subject\":\"d.D\"}"));
	cfx_advance(fx, 60 * SEC);
	g_assert_cmpint(cfx_info_int(fx, c, "S", "DUR", "num_pending"), ==, 0);
	cfx_free(fx);
}

/* nats-server's didNotDeliver quirk, modelled: a delivery that found no
 * subscriber (interest went in the same instant) counts its delivery down
 * from zero, which wraps the uint64 count. With max_deliver unlimited the
 * ack-wait redelivery then wraps it back: it comes again with delivery
 * count 1 (and stays in num_redelivered until acked). With a limit the
 * wrapped count is "past max_deliver" at the ack-wait scan: the message
 * leaves pending silently (no advisory: the count is not equal to the
 * limit) and never comes back. */
static void
test_no_interest_wrap_quirk(void)
{
	for (int limited = 0; limited < 2; limited++) {
		Cfx *fx = cfx_new(NULL);
		CfxClient *c = cfx_client(fx);
		cfx_sub(fx, c, "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.>", NULL, 7);
		cfx_stream(fx, c, STREAM);
		cfx_sub(fx, c, "d.Q", NULL, 1);
		json_decref(cfx_consumer(fx, c, "S", "Q",
		    limited ? "{\"durable_name\":\"Q\",\"deliver_subject\":\"d.Q\",\"ack_policy\":\"explicit\",\"ack_wait\":1000000000,\"max_deliver\":5}"
			    : "{\"durable_name\":\"Q\",\"deliver_subject\":\"d.Q\",\"ack_policy\":\"explicit\",\"ack_wait\":1000000000}"));
		cfx_send(fx, c, "UNSUB 1\r\nPUB s.a 1\r\nx\r\n");
		g_assert_cmpuint(broker_probe_count(fx->broker, BROKER_PROBE_JS_PUSH_NO_INTEREST), ==, 1);
		g_assert_cmpint(cfx_info_int(fx, c, "S", "Q", "num_ack_pending"), ==, 1);
		g_assert_cmpint(cfx_info_int(fx, c, "S", "Q", "num_redelivered"), ==, 1);
		cfx_sub(fx, c, "d.Q", NULL, 2);
		cfx_advance(fx, 5 * SEC);
		GPtrArray *m = cfx_take_prefix(fx, c, "s.");
		GPtrArray *adv = cfx_take_prefix(fx, c, "$JS.EVENT.");
		g_assert_cmpuint(adv->len, ==, 0);
		g_ptr_array_free(adv, TRUE);
		if (limited) {
			g_assert_cmpuint(m->len, ==, 0);
			g_assert_cmpint(cfx_info_int(fx, c, "S", "Q", "num_ack_pending"), ==, 0);
		} else {
			/* redelivered at 1.001 s, 2.002 s, ... each with dc 1, 2, ... */
			g_assert_cmpuint(m->len, >=, 1);
			CfxMsg *x = at(m, 0);
			g_assert_cmpint(x->at_ns - CFX_EPOCH_NS, ==, 1001 * MS);
			g_assert_cmpuint(cfx_ack_parse(x->reply).dc, ==, 1);
			cfx_pub(fx, c, x->reply, NULL, NULL, "");
			g_assert_cmpint(cfx_info_int(fx, c, "S", "Q", "num_redelivered"), ==, 0);
		}
		g_ptr_array_free(m, TRUE);
		cfx_free(fx);
	}
}

/* Starting positions (§3.8): the first delivered seq and the reported
 * delivered.stream_seq for each deliver policy; the ack floor of a fresh
 * consumer is 0/start-1. */
static void
test_deliver_policies(void)
{
	Cfx *fx = cfx_new(NULL);
	CfxClient *c = cfx_client(fx);
	cfx_stream(fx, c, STREAM);
	const char *subjects[] = { "s.a", "s.b", "s.a", "s.c", "s.b" };
	for (int k = 0; k < 5; k++) {
		cfx_pub(fx, c, subjects[k], NULL, NULL, "x");
		cfx_advance(fx, SEC);
	}
	struct {
		const char *cfg;
		uint64_t first;
		int count;
		int64_t delivered_stream;
	} cases[] = {
		{ "\"deliver_policy\":\"all\"", 1, 5, 0 },
		{ "\"deliver_policy\":\"last\"", 5, 1, 4 },
		{ "\"deliver_policy\":\"last\",\"filter_subject\":\"s.a\"", 3, 1, 2 },
		{ "\"deliver_policy\":\"new\"", 0, 0, 5 },
		{ "\"deliver_policy\":\"by_start_sequence\",\"opt_start_seq\":4", 4, 2, 3 },
		/* v2.14.5 keeps an opt_start_seq past the end as given */
		{ "\"deliver_policy\":\"by_start_sequence\",\"opt_start_seq\":99", 0, 0, 98 },
		{ "\"deliver_policy\":\"by_start_time\",\"opt_start_time\":\"2023-11-14T22:13:21.5Z\"", 3, 3, 2 },
		{ "\"deliver_policy\":\"last_per_subject\",\"filter_subject\":\"s.*\"", 3, 3, 2 },
	};
	for (guint k = 0; k < G_N_ELEMENTS(cases); k++) {
		char name[16], dsubj[16], *cfg;
		snprintf(name, sizeof(name), "P%u", k);
		snprintf(dsubj, sizeof(dsubj), "d.%u", k);
		cfg = g_strdup_printf("{\"durable_name\":\"%s\",\"deliver_subject\":\"%s\",\"ack_policy\":\"explicit\",%s}", name,
		    dsubj, cases[k].cfg);
		json_t *r = cfx_consumer(fx, c, "S", name, cfg);
		g_free(cfg);
		g_assert_cmpint(json_integer_value(json_object_get(json_object_get(r, "delivered"), "stream_seq")), ==,
		    cases[k].delivered_stream);
		/* the floor starts just below the start (v2.14; 2.10 showed 0) */
		g_assert_cmpint(json_integer_value(json_object_get(json_object_get(r, "ack_floor"), "stream_seq")), ==,
		    cases[k].delivered_stream);
		json_decref(r);
		cfx_sub(fx, c, dsubj, NULL, (int)k + 10);
		GPtrArray *m = cfx_take_prefix(fx, c, "s.");
		if ((int)m->len != cases[k].count)
			g_error("case %u: %u messages, want %d", k, m->len, cases[k].count);
		if (cases[k].count > 0)
			g_assert_cmpuint(cfx_ack_parse(at(m, 0)->reply).sseq, ==, cases[k].first);
		if (k == G_N_ELEMENTS(cases) - 1) {
			/* last per subject: s.a@3, s.c@4, s.b@5 in seq order */
			g_assert_cmpuint(cfx_ack_parse(at(m, 1)->reply).sseq, ==, 4);
			g_assert_cmpuint(cfx_ack_parse(at(m, 2)->reply).sseq, ==, 5);
		}
		g_ptr_array_free(m, TRUE);
	}
	/* new messages reach all but the one starting at 99 */
	cfx_pub(fx, c, "s.a", NULL, NULL, "y");
	GPtrArray *m = cfx_take_prefix(fx, c, "s.");
	g_assert_cmpuint(m->len, ==, G_N_ELEMENTS(cases) - 1);
	g_ptr_array_free(m, TRUE);
	cfx_free(fx);
}

/* TestJetStreamPushConsumersPullError: a pull request to a push consumer
 * gets 409; a redelivery to a push consumer happens as soon as it is due
 * (no request needed). */
static void
test_push_pull_error(void)
{
	Cfx *fx = cfx_new(NULL);
	CfxClient *c = cfx_client(fx);
	cfx_stream(fx, c, STREAM);
	cfx_sub(fx, c, "d.P", NULL, 1);
	json_decref(cfx_consumer(fx, c, "S", "P", "{\"durable_name\":\"P\",\"deliver_subject\":\"d.P\",\"ack_policy\":\"explicit\"}"));
	cfx_pull(fx, c, "S", "P", "_R.in.1", "{\"batch\":1}");
	GPtrArray *m = cfx_take_prefix(fx, c, "_R.in.1");
	g_assert_cmpuint(m->len, ==, 1);
	g_assert_cmpstr(at(m, 0)->hdr->str, ==, "NATS/1.0 409 Consumer is push based\r\n\r\n");
	g_ptr_array_free(m, TRUE);
	cfx_free(fx);
}

/* replay_policy original keeps the stored spacing: messages stored at
 * 0, 0.5 and 1.5 s come 0.5 and 1.0 s apart to a consumer made later;
 * once caught up, new messages come at once. */
static void
test_replay_original(void)
{
	Cfx *fx = cfx_new(NULL);
	CfxClient *c = cfx_client(fx);
	cfx_stream(fx, c, STREAM);
	cfx_pub(fx, c, "s.a", NULL, NULL, "1");
	cfx_advance(fx, 500 * MS);
	cfx_pub(fx, c, "s.a", NULL, NULL, "2");
	cfx_advance(fx, SEC);
	cfx_pub(fx, c, "s.a", NULL, NULL, "3");
	cfx_advance_to(fx, CFX_EPOCH_NS + 10 * SEC);
	cfx_sub(fx, c, "d.R", NULL, 1);
	json_decref(cfx_consumer(fx, c, "S", "R",
	    "{\"durable_name\":\"R\",\"deliver_subject\":\"d.R\",\"ack_policy\":\"none\",\"replay_policy\":\"original\"}"));
	cfx_advance(fx, 3 * SEC);
	GPtrArray *m = cfx_take_prefix(fx, c, "s.");
	g_assert_cmpuint(m->len, ==, 3);
	g_assert_cmpint(at(m, 0)->at_ns - CFX_EPOCH_NS, ==, 10 * SEC);
	g_assert_cmpint(at(m, 1)->at_ns - CFX_EPOCH_NS, ==, 10500 * MS);
	g_assert_cmpint(at(m, 2)->at_ns - CFX_EPOCH_NS, ==, 11500 * MS);
	g_assert_cmpstr(at(m, 2)->data->str, ==, "3");
	g_ptr_array_free(m, TRUE);
	int64_t t = fx->now_ns;
	cfx_pub(fx, c, "s.a", NULL, NULL, "4");
	m = cfx_take_prefix(fx, c, "s.");
	g_assert_cmpuint(m->len, ==, 1);
	g_assert_cmpint(at(m, 0)->at_ns, ==, t);
	g_ptr_array_free(m, TRUE);
	cfx_free(fx);
}

/* rate_limit_bps: a token bucket (bytes = bps / 8 per second, burst the
 * stream's max_msg_size): once the burst is used, deliveries are spaced
 * by size / rate. */
static void
test_rate_limit(void)
{
	Cfx *fx = cfx_new(NULL);
	CfxClient *c = cfx_client(fx);
	cfx_stream(fx, c, "{\"name\":\"S\",\"subjects\":[\"s.>\"],\"storage\":\"memory\",\"max_msg_size\":100}");
	cfx_pub_n(fx, c, "s.a", 5);
	cfx_sub(fx, c, "d.L", NULL, 1);
	json_decref(cfx_consumer(fx, c, "S", "L",
	    "{\"durable_name\":\"L\",\"deliver_subject\":\"d.L\",\"ack_policy\":\"none\",\"rate_limit_bps\":8000}"));
	cfx_advance(fx, 2 * SEC);
	GPtrArray *m = cfx_take_prefix(fx, c, "s.");
	g_assert_cmpuint(m->len, ==, 5);
	int64_t sz = 3 + (int64_t)strlen(at(m, 1)->reply) + 2; /* 1000 bytes per second */
	g_assert_cmpint(at(m, 0)->at_ns - CFX_EPOCH_NS, ==, 0);
	g_assert_cmpint(at(m, 4)->at_ns - at(m, 3)->at_ns, ==, sz * SEC / 1000);
	g_ptr_array_free(m, TRUE);
	cfx_free(fx);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/js/consumer/push/message-shape", test_message_shape);
	g_test_add_func("/js/consumer/push/activation-exact-interest", test_activation_exact_interest);
	g_test_add_func("/js/consumer/push/deliver-group", test_deliver_group);
	g_test_add_func("/js/consumer/push/heartbeats", test_push_heartbeats);
	g_test_add_func("/js/consumer/push/flow-control", test_flow_control);
	g_test_add_func("/js/consumer/push/inactive-threshold", test_push_inactive_threshold);
	g_test_add_func("/js/consumer/push/no-interest-wrap-quirk", test_no_interest_wrap_quirk);
	g_test_add_func("/js/consumer/push/deliver-policies", test_deliver_policies);
	g_test_add_func("/js/consumer/push/pull-error", test_push_pull_error);
	g_test_add_func("/js/consumer/push/replay-original", test_replay_original);
	g_test_add_func("/js/consumer/push/rate-limit", test_rate_limit);
	return g_test_run();
}
