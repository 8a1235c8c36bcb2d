/*
 * test_consumer_ack.c - acks and the ack_wait timer model (NATS-SPEC
 * §3.2-§3.8): ack floors, redelivery counts and times, NAK (with
 * delays), TERM, WPI, AckAll, late acks, backoff, max_deliver and its
 * advisory, ack replies. Ports of nats-server's jetstream_test.go cases,
 * with exact virtual times.
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

/* Everything the client got on subjects starting with prefix. */
static GPtrArray *
got(Cfx *fx, CfxClient *c, const char *prefix)
{
	return cfx_take_prefix(fx, c, prefix);
}

static void
ack(Cfx *fx, CfxClient *c, const CfxMsg *m, const char *body)
{
	g_assert_nonnull(m->reply);
	cfx_pub(fx, c, m->reply, NULL, NULL, body);
}

/* A push consumer on deliver subject "d.<name>" subscribed by c (sid 1). */
static void
push_consumer(Cfx *fx, CfxClient *c, const char *name, const char *extra)
{
	char *dsubj = g_strdup_printf("d.%s", name);
	cfx_sub(fx, c, dsubj, NULL, 1);
	char *cfg = g_strdup_printf("{\"durable_name\":\"%s\",\"deliver_subject\":\"%s\",\"ack_policy\":\"explicit\"%s%s}",
	    name, dsubj, extra[0] ? "," : "", extra);
	json_decref(cfx_consumer(fx, c, "S", name, cfg));
	g_free(cfg);
	g_free(dsubj);
}

static void
pull_consumer(Cfx *fx, CfxClient *c, const char *name, const char *extra)
{
	char *cfg = g_strdup_printf("{\"durable_name\":\"%s\",\"ack_policy\":\"explicit\"%s%s}", name, extra[0] ? "," : "",
	    extra);
	json_decref(cfx_consumer(fx, c, "S", name, cfg));
	g_free(cfg);
}

/* §3.8: four delivered; ack #2 -> 0/0, #1 -> 2/2, #4 -> 2/2, #3 -> 4/4;
 * ack_floor.last_active moves on every ack. */
static void
test_ack_floor_sequence(void)
{
	Cfx *fx = cfx_new(NULL);
	CfxClient *c = cfx_client(fx);
	cfx_stream(fx, c, STREAM);
	cfx_pub_n(fx, c, "s.a", 4);
	pull_consumer(fx, c, "D", "");
	cfx_pull(fx, c, "S", "D", "_R.in.1", "4");
	GPtrArray *m = got(fx, c, "s.");
	g_assert_cmpuint(m->len, ==, 4);
	static const int order[] = { 1, 0, 3, 2 };
	static const int floor[] = { 0, 2, 2, 4 };
	for (int k = 0; k < 4; k++) {
		cfx_advance(fx, 10 * MS);
		ack(fx, c, at(m, (guint)order[k]), "");
		json_t *i = cfx_info(fx, c, "S", "D");
		json_t *af = json_object_get(i, "ack_floor");
		g_assert_cmpint(json_integer_value(json_object_get(af, "consumer_seq")), ==, floor[k]);
		g_assert_cmpint(json_integer_value(json_object_get(af, "stream_seq")), ==, floor[k]);
		g_assert_cmpint(json_integer_value(json_object_get(i, "num_ack_pending")), ==, 3 - k);
		g_assert_nonnull(json_object_get(af, "last_active"));
		json_decref(i);
	}
	g_ptr_array_free(m, TRUE);
	cfx_free(fx);
}

/* TestJetStreamRedeliverCount: NAK ten times; each pull gets stream seq
 * 1 again with consumer seq and delivery count rising. */
static void
test_redeliver_count(void)
{
	Cfx *fx = cfx_new(NULL);
	CfxClient *c = cfx_client(fx);
	cfx_stream(fx, c, STREAM);
	cfx_pub(fx, c, "s.a", NULL, NULL, "x");
	pull_consumer(fx, c, "D", "");
	for (uint64_t i = 1; i <= 10; i++) {
		cfx_pull(fx, c, "S", "D", "_R.in.1", "");
		GPtrArray *m = got(fx, c, "s.");
		g_assert_cmpuint(m->len, ==, 1);
		CfxAck a = cfx_ack_parse(at(m, 0)->reply);
		g_assert_cmpuint(a.sseq, ==, 1);
		g_assert_cmpuint(a.dseq, ==, i);
		g_assert_cmpuint(a.dc, ==, i);
		ack(fx, c, at(m, 0), "-NAK");
		g_ptr_array_free(m, TRUE);
	}
	g_assert_cmpint(cfx_info_int(fx, c, "S", "D", "num_redelivered"), ==, 1);
	g_assert_cmpint(cfx_info_int(fx, c, "S", "D", "delivered.consumer_seq"), ==, 10);
	cfx_free(fx);
}

/* TestJetStreamWorkQueueAckWaitRedelivery, push with exact times: three
 * messages at 0 with ack_wait 1 s come again together at 1.001 s (ack_wait
 * + 1 ms, one timer), in seq order, with new consumer seqs and dc 2, and
 * again at 2.002 s with dc 3. */
static void
test_ack_wait_redelivery_times(void)
{
	Cfx *fx = cfx_new(NULL);
	CfxClient *c = cfx_client(fx);
	cfx_stream(fx, c, STREAM);
	cfx_pub_n(fx, c, "s.a", 3);
	push_consumer(fx, c, "P", "\"ack_wait\":1000000000");
	GPtrArray *m = got(fx, c, "s.");
	g_assert_cmpuint(m->len, ==, 3);
	g_ptr_array_free(m, TRUE);
	cfx_advance(fx, 1001 * MS - 1);
	g_assert_cmpuint((m = got(fx, c, "s."))->len, ==, 0);
	g_ptr_array_free(m, TRUE);
	cfx_advance(fx, 1);
	m = got(fx, c, "s.");
	g_assert_cmpuint(m->len, ==, 3);
	for (guint k = 0; k < 3; k++) {
		CfxAck a = cfx_ack_parse(at(m, k)->reply);
		g_assert_cmpuint(a.sseq, ==, k + 1);
		g_assert_cmpuint(a.dseq, ==, k + 4);
		g_assert_cmpuint(a.dc, ==, 2);
		g_assert_cmpint(at(m, k)->at_ns - CFX_EPOCH_NS, ==, 1001 * MS);
		g_assert_cmpint(a.ts, ==, CFX_EPOCH_NS); /* stored time, not delivery time */
	}
	g_ptr_array_free(m, TRUE);
	cfx_advance_to(fx, CFX_EPOCH_NS + 2002 * MS - 1);
	g_assert_cmpuint((m = got(fx, c, "s."))->len, ==, 0);
	g_ptr_array_free(m, TRUE);
	cfx_advance(fx, 1);
	m = got(fx, c, "s.");
	g_assert_cmpuint(m->len, ==, 3);
	g_assert_cmpuint(cfx_ack_parse(at(m, 0)->reply).dc, ==, 3);
	g_ptr_array_free(m, TRUE);
	g_assert_cmpint(cfx_info_int(fx, c, "S", "P", "num_redelivered"), ==, 3);
	g_assert_cmpint(cfx_info_int(fx, c, "S", "P", "num_ack_pending"), ==, 3);
	g_assert_cmpuint(broker_probe_count(fx->broker, BROKER_PROBE_JS_REDELIVERED), ==, 6);
	g_assert_cmpuint(broker_probe_count(fx->broker, BROKER_PROBE_JS_ACK_WAIT_EXPIRED), ==, 2);
	cfx_free(fx);
}

/* The scan re-arms for the earliest remaining deadline: a message
 * delivered 300 ms after the first is redelivered exactly ack_wait after
 * its own delivery. */
static void
test_ack_wait_rearm_earliest(void)
{
	Cfx *fx = cfx_new(NULL);
	CfxClient *c = cfx_client(fx);
	cfx_stream(fx, c, STREAM);
	push_consumer(fx, c, "P", "\"ack_wait\":1000000000");
	cfx_pub(fx, c, "s.a", NULL, NULL, "1");
	cfx_advance(fx, 300 * MS);
	cfx_pub(fx, c, "s.a", NULL, NULL, "2");
	cfx_discard(fx, c);
	cfx_advance_to(fx, CFX_EPOCH_NS + 1001 * MS);
	GPtrArray *m = got(fx, c, "s.");
	g_assert_cmpuint(m->len, ==, 1);
	g_assert_cmpstr(at(m, 0)->data->str, ==, "1");
	g_ptr_array_free(m, TRUE);
	cfx_advance_to(fx, CFX_EPOCH_NS + 1300 * MS - 1);
	g_assert_cmpuint((m = got(fx, c, "s."))->len, ==, 0);
	g_ptr_array_free(m, TRUE);
	cfx_advance(fx, 1);
	m = got(fx, c, "s.");
	g_assert_cmpuint(m->len, ==, 1);
	g_assert_cmpstr(at(m, 0)->data->str, ==, "2");
	g_ptr_array_free(m, TRUE);
	cfx_free(fx);
}

/* TestJetStreamWorkQueueNakRedelivery: NAK of #6 puts it first for the
 * next request; then 7, 8 follow. The NAK advisory carries the seqs. */
static void
test_nak_redelivery(void)
{
	Cfx *fx = cfx_new(NULL);
	CfxClient *c = cfx_client(fx);
	cfx_sub(fx, c, "$JS.EVENT.ADVISORY.CONSUMER.MSG_NAKED.>", NULL, 7);
	cfx_stream(fx, c, STREAM);
	cfx_pub_n(fx, c, "s.a", 10);
	pull_consumer(fx, c, "D", "");
	for (int k = 1; k <= 6; k++) {
		cfx_pull(fx, c, "S", "D", "_R.in.1", "");
		GPtrArray *m = got(fx, c, "s.");
		g_assert_cmpuint(cfx_ack_parse(at(m, 0)->reply).sseq, ==, (uint64_t)k);
		ack(fx, c, at(m, 0), k == 6 ? "-NAK" : "+ACK");
		g_ptr_array_free(m, TRUE);
	}
	GPtrArray *adv = got(fx, c, "$JS.EVENT.ADVISORY.CONSUMER.MSG_NAKED.S.D");
	g_assert_cmpuint(adv->len, ==, 1);
	json_t *a = json_loads(at(adv, 0)->data->str, 0, NULL);
	g_assert_cmpstr(json_string_value(json_object_get(a, "type")), ==, "io.nats.jetstream.advisory.v1.nak");
	g_assert_cmpint(json_integer_value(json_object_get(a, "stream_seq")), ==, 6);
	g_assert_cmpint(json_integer_value(json_object_get(a, "consumer_seq")), ==, 6);
	g_assert_cmpint(json_integer_value(json_object_get(a, "deliveries")), ==, 1);
	json_decref(a);
	g_ptr_array_free(adv, TRUE);
	static const uint64_t want[] = { 6, 7, 8 };
	for (int k = 0; k < 3; k++) {
		cfx_pull(fx, c, "S", "D", "_R.in.1", "");
		GPtrArray *m = got(fx, c, "s.");
		CfxAck x = cfx_ack_parse(at(m, 0)->reply);
		g_assert_cmpuint(x.sseq, ==, want[k]);
		g_assert_cmpuint(x.dc, ==, k == 0 ? 2 : 1);
		ack(fx, c, at(m, 0), "");
		g_ptr_array_free(m, TRUE);
	}
	cfx_free(fx);
}

/* NAK with a delay, both forms: a push consumer with ack_wait 2 s NAKed
 * at 0.3 s with 500 ms comes back at 0.8 s exactly (the timestamp becomes
 * now - ack_wait + delay and the scan is poked within 10 ms), then after
 * the ack wait at 2.801 s. "-NAK 1s" comes back 1 s later. */
static void
test_nak_delay(void)
{
	static const char *const forms[] = { "-NAK {\"delay\":500000000}", "-NAK 500ms" };
	for (guint f = 0; f < G_N_ELEMENTS(forms); f++) {
		Cfx *fx = cfx_new(NULL);
		CfxClient *c = cfx_client(fx);
		cfx_stream(fx, c, STREAM);
		push_consumer(fx, c, "P", "\"ack_wait\":2000000000");
		cfx_pub(fx, c, "s.a", NULL, NULL, "x");
		GPtrArray *m = got(fx, c, "s.");
		cfx_advance(fx, 300 * MS);
		ack(fx, c, at(m, 0), forms[f]);
		g_ptr_array_free(m, TRUE);
		cfx_advance_to(fx, CFX_EPOCH_NS + 800 * MS - 1);
		g_assert_cmpuint((m = got(fx, c, "s."))->len, ==, 0);
		g_ptr_array_free(m, TRUE);
		cfx_advance(fx, 1);
		m = got(fx, c, "s.");
		g_assert_cmpuint(m->len, ==, 1);
		g_assert_cmpuint(cfx_ack_parse(at(m, 0)->reply).dc, ==, 2);
		g_ptr_array_free(m, TRUE);
		cfx_advance_to(fx, CFX_EPOCH_NS + 2801 * MS - 1);
		g_assert_cmpuint((m = got(fx, c, "s."))->len, ==, 0);
		g_ptr_array_free(m, TRUE);
		cfx_advance(fx, 1);
		m = got(fx, c, "s.");
		g_assert_cmpuint(m->len, ==, 1);
		g_assert_cmpuint(cfx_ack_parse(at(m, 0)->reply).dc, ==, 3);
		g_ptr_array_free(m, TRUE);
		cfx_free(fx);
	}
	Cfx *fx = cfx_new(NULL);
	CfxClient *c = cfx_client(fx);
	cfx_stream(fx, c, STREAM);
	push_consumer(fx, c, "P", "\"ack_wait\":30000000000");
	cfx_pub(fx, c, "s.a", NULL, NULL, "x");
	GPtrArray *m = got(fx, c, "s.");
	ack(fx, c, at(m, 0), "-NAK 1s");
	g_ptr_array_free(m, TRUE);
	cfx_advance(fx, SEC - 1);
	g_assert_cmpuint((m = got(fx, c, "s."))->len, ==, 0);
	g_ptr_array_free(m, TRUE);
	cfx_advance(fx, 1);
	g_assert_cmpuint((m = got(fx, c, "s."))->len, ==, 1);
	g_ptr_array_free(m, TRUE);
	cfx_free(fx);
}

/* A NAK delay that does not parse is a plain NAK (redelivered at once)
 * and is logged. */
static void
test_nak_bad_delay(void)
{
	Cfx *fx = cfx_new(NULL);
	CfxClient *c = cfx_client(fx);
	cfx_stream(fx, c, STREAM);
	push_consumer(fx, c, "P", "");
	cfx_pub(fx, c, "s.a", NULL, NULL, "x");
	GPtrArray *m = got(fx, c, "s.");
	ack(fx, c, at(m, 0), "-NAK soon");
	g_ptr_array_free(m, TRUE);
	m = got(fx, c, "s.");
	g_assert_cmpuint(m->len, ==, 1);
	g_assert_cmpuint(cfx_ack_parse(at(m, 0)->reply).dc, ==, 2);
	g_ptr_array_free(m, TRUE);
	g_assert_cmpint(cfx_log_count(fx, "bad NAK delay value: \"soon\""), ==, 1);
	cfx_free(fx);
}

/* TestJetStreamWorkQueueTerminateDelivery: after one redelivery, TERM
 * stops it for good and the advisory says stream_seq 1, consumer_seq 2,
 * deliveries 2; 2.10's "+TERM <reason>" puts the reason in it. */
static void
test_term(void)
{
	Cfx *fx = cfx_new(NULL);
	CfxClient *c = cfx_client(fx);
	cfx_sub(fx, c, "$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.>", NULL, 7);
	cfx_stream(fx, c, "{\"name\":\"S\",\"subjects\":[\"s.>\"],\"storage\":\"memory\",\"retention\":\"workqueue\"}");
	cfx_pub_n(fx, c, "s.a", 2);
	pull_consumer(fx, c, "D", "\"ack_wait\":1000000000");
	cfx_pull(fx, c, "S", "D", "_R.in.1", "");
	cfx_discard(fx, c);
	cfx_advance(fx, 2 * SEC);
	cfx_pull(fx, c, "S", "D", "_R.in.1", "");
	GPtrArray *m = got(fx, c, "s.");
	g_assert_cmpuint(m->len, ==, 1);
	CfxAck a = cfx_ack_parse(at(m, 0)->reply);
	g_assert_cmpuint(a.sseq, ==, 1);
	g_assert_cmpuint(a.dseq, ==, 2);
	ack(fx, c, at(m, 0), "+TERM");
	g_ptr_array_free(m, TRUE);
	GPtrArray *adv = got(fx, c, "$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.S.D");
	g_assert_cmpuint(adv->len, ==, 1);
	json_t *j = json_loads(at(adv, 0)->data->str, 0, NULL);
	g_assert_cmpstr(json_string_value(json_object_get(j, "type")), ==, "io.nats.jetstream.advisory.v1.terminated");
	g_assert_cmpint(json_integer_value(json_object_get(j, "stream_seq")), ==, 1);
	g_assert_cmpint(json_integer_value(json_object_get(j, "consumer_seq")), ==, 2);
	g_assert_cmpint(json_integer_value(json_object_get(j, "deliveries")), ==, 2);
	g_assert_null(json_object_get(j, "reason"));
	json_decref(j);
	g_ptr_array_free(adv, TRUE);
	/* workqueue: TERM removed it; no more redelivery of seq 1 */
	cfx_advance(fx, 5 * SEC);
	cfx_pull(fx, c, "S", "D", "_R.in.1", "");
	m = got(fx, c, "s.");
	g_assert_cmpuint(cfx_ack_parse(at(m, 0)->reply).sseq, ==, 2);
	ack(fx, c, at(m, 0), "+TERM poison pill");
	g_ptr_array_free(m, TRUE);
	adv = got(fx, c, "$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.S.D");
	j = json_loads(at(adv, 0)->data->str, 0, NULL);
	g_assert_cmpstr(json_string_value(json_object_get(j, "reason")), ==, "poison pill");
	json_decref(j);
	g_ptr_array_free(adv, TRUE);
	json_t *si = cfx_req(fx, c, "$JS.API.STREAM.INFO.S", "");
	g_assert_cmpint(json_integer_value(json_object_get(json_object_get(si, "state"), "messages")), ==, 0);
	json_decref(si);
	g_assert_cmpint(cfx_info_int(fx, c, "S", "D", "num_ack_pending"), ==, 0);
	g_assert_cmpuint(broker_probe_count(fx->broker, BROKER_PROBE_JS_TERM), ==, 2);
	cfx_free(fx);
}

/* +WPI resets that message's ack timer: with ack_wait 2 s, +WPI at 1.5 s
 * moves the redelivery to 3.5 s. */
static void
test_wpi(void)
{
	Cfx *fx = cfx_new(NULL);
	CfxClient *c = cfx_client(fx);
	cfx_stream(fx, c, STREAM);
	push_consumer(fx, c, "P", "\"ack_wait\":2000000000");
	cfx_pub(fx, c, "s.a", NULL, NULL, "x");
	GPtrArray *m = got(fx, c, "s.");
	cfx_advance(fx, 1500 * MS);
	ack(fx, c, at(m, 0), "+WPI");
	g_ptr_array_free(m, TRUE);
	cfx_advance_to(fx, CFX_EPOCH_NS + 3500 * MS - 1);
	g_assert_cmpuint((m = got(fx, c, "s."))->len, ==, 0);
	g_ptr_array_free(m, TRUE);
	cfx_advance(fx, 1);
	m = got(fx, c, "s.");
	g_assert_cmpuint(m->len, ==, 1);
	g_assert_cmpuint(cfx_ack_parse(at(m, 0)->reply).dc, ==, 2);
	g_ptr_array_free(m, TRUE);
	g_assert_cmpuint(broker_probe_count(fx->broker, BROKER_PROBE_JS_WPI), ==, 1);
	cfx_free(fx);
}

/* AckAll: acking the 2nd of 3 acks 1 and 2 (floor 2/2, one pending); an
 * ack below the floor is a no-op. TestJetStreamAckAllRedelivery: what is
 * left comes back in seq order. */
static void
test_ack_all(void)
{
	Cfx *fx = cfx_new(NULL);
	CfxClient *c = cfx_client(fx);
	cfx_stream(fx, c, STREAM);
	cfx_pub_n(fx, c, "s.a", 5);
	cfx_sub(fx, c, "d.A", NULL, 1);
	json_decref(cfx_consumer(fx, c, "S", "A",
	    "{\"durable_name\":\"A\",\"deliver_subject\":\"d.A\",\"ack_policy\":\"all\",\"ack_wait\":50000000}"));
	GPtrArray *m = got(fx, c, "s.");
	g_assert_cmpuint(m->len, ==, 5);
	ack(fx, c, at(m, 1), "");
	g_assert_cmpint(cfx_info_int(fx, c, "S", "A", "ack_floor.stream_seq"), ==, 2);
	g_assert_cmpint(cfx_info_int(fx, c, "S", "A", "ack_floor.consumer_seq"), ==, 2);
	g_assert_cmpint(cfx_info_int(fx, c, "S", "A", "num_ack_pending"), ==, 3);
	ack(fx, c, at(m, 0), "");
	g_assert_cmpint(cfx_info_int(fx, c, "S", "A", "ack_floor.stream_seq"), ==, 2);
	g_ptr_array_free(m, TRUE);
	cfx_advance(fx, 51 * MS);
	m = got(fx, c, "s.");
	g_assert_cmpuint(m->len, ==, 3);
	for (guint k = 0; k < 3; k++)
		g_assert_cmpuint(cfx_ack_parse(at(m, k)->reply).sseq, ==, k + 3);
	ack(fx, c, at(m, 2), "");
	g_ptr_array_free(m, TRUE);
	g_assert_cmpint(cfx_info_int(fx, c, "S", "A", "num_ack_pending"), ==, 0);
	g_assert_cmpint(cfx_info_int(fx, c, "S", "A", "ack_floor.stream_seq"), ==, 5);
	cfx_free(fx);
}

/* TestJetStreamRedeliverAndLateAck: an ack after ack_wait, before any
 * redelivery happened (no pull waiting), still counts: nothing comes
 * back. */
static void
test_late_ack(void)
{
	Cfx *fx = cfx_new(NULL);
	CfxClient *c = cfx_client(fx);
	cfx_stream(fx, c, STREAM);
	cfx_pub(fx, c, "s.a", NULL, NULL, "x");
	pull_consumer(fx, c, "D", "\"ack_wait\":100000000");
	cfx_pull(fx, c, "S", "D", "_R.in.1", "");
	GPtrArray *m = got(fx, c, "s.");
	cfx_advance(fx, 300 * MS);
	ack(fx, c, at(m, 0), "");
	g_ptr_array_free(m, TRUE);
	cfx_pull(fx, c, "S", "D", "_R.in.1", "{\"batch\":1,\"expires\":500000000}");
	cfx_advance(fx, SEC);
	m = got(fx, c, "s.");
	g_assert_cmpuint(m->len, ==, 0);
	g_ptr_array_free(m, TRUE);
	g_assert_cmpint(cfx_info_int(fx, c, "S", "D", "num_ack_pending"), ==, 0);
	g_assert_cmpint(cfx_info_int(fx, c, "S", "D", "num_redelivered"), ==, 0);
	cfx_free(fx);
}

/* Backoff [1 s, 2 s] with max_deliver 4 on a push consumer: deliveries at
 * 0, 1.001, 3.001, 5.001 s (the last value is reused), and the
 * MAX_DELIVERIES advisory (deliveries 4) at 7.001 s, once. With a backoff
 * ack_wait becomes backoff[0]. */
static void
test_backoff_schedule(void)
{
	Cfx *fx = cfx_new(NULL);
	CfxClient *c = cfx_client(fx);
	cfx_sub(fx, c, "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.>", NULL, 7);
	cfx_stream(fx, c, STREAM);
	cfx_sub(fx, c, "d.B", NULL, 1);
	json_t *r = cfx_consumer(fx, c, "S", "B",
	    "{\"durable_name\":\"B\",\"deliver_subject\":\"d.B\",\"ack_policy\":\"explicit\","
	    "\"backoff\":[1000000000,2000000000],\"max_deliver\":4}");
	g_assert_cmpint(json_integer_value(json_object_get(json_object_get(r, "config"), "ack_wait")), ==, SEC);
	json_decref(r);
	cfx_pub(fx, c, "s.a", NULL, NULL, "x");
	int64_t times[8];
	uint64_t dcs[8];
	guint n = 0;
	for (int step = 0; step < 200 && cfx_t(fx) < 12 * SEC; step++) {
		GPtrArray *m = got(fx, c, "s.");
		for (guint k = 0; k < m->len && n < 8; k++) {
			times[n] = at(m, k)->at_ns - CFX_EPOCH_NS;
			dcs[n++] = cfx_ack_parse(at(m, k)->reply).dc;
		}
		g_ptr_array_free(m, TRUE);
		cfx_advance(fx, 100 * MS);
	}
	g_assert_cmpuint(n, ==, 4);
	static const int64_t want[] = { 0, 1001 * MS, 3001 * MS, 5001 * MS };
	for (guint k = 0; k < 4; k++) {
		g_assert_cmpint(times[k], ==, want[k]);
		g_assert_cmpuint(dcs[k], ==, k + 1);
	}
	GPtrArray *adv = got(fx, c, "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.S.B");
	g_assert_cmpuint(adv->len, ==, 1);
	g_assert_cmpint(at(adv, 0)->at_ns - CFX_EPOCH_NS, ==, 7001 * MS);
	json_t *a = json_loads(at(adv, 0)->data->str, 0, NULL);
	g_assert_cmpstr(json_string_value(json_object_get(a, "type")), ==, "io.nats.jetstream.advisory.v1.max_deliver");
	g_assert_cmpint(json_integer_value(json_object_get(a, "stream_seq")), ==, 1);
	g_assert_cmpint(json_integer_value(json_object_get(a, "deliveries")), ==, 4);
	json_decref(a);
	g_ptr_array_free(adv, TRUE);
	g_assert_cmpint(cfx_info_int(fx, c, "S", "B", "num_ack_pending"), ==, 0);
	g_assert_cmpint(cfx_info_int(fx, c, "S", "B", "num_redelivered"), ==, 1);
	cfx_free(fx);
}

/* TestJetStreamConsumerMaxDeliveries (push, ack_wait 100 ms, max_deliver
 * 5): exactly five copies, nothing more after waiting, one advisory; the
 * message stays in the stream and in num_redelivered. */
static void
test_max_deliver_push(void)
{
	Cfx *fx = cfx_new(NULL);
	CfxClient *c = cfx_client(fx);
	cfx_sub(fx, c, "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.>", NULL, 7);
	cfx_stream(fx, c, "{\"name\":\"S\",\"subjects\":[\"s.>\"],\"storage\":\"memory\",\"retention\":\"workqueue\"}");
	push_consumer(fx, c, "P", "\"ack_wait\":100000000,\"max_deliver\":5");
	cfx_pub(fx, c, "s.a", NULL, NULL, "x");
	cfx_advance(fx, 504 * MS);
	g_assert_cmpint(cfx_info_int(fx, c, "S", "P", "num_ack_pending"), ==, 1);
	g_assert_cmpint(cfx_info_int(fx, c, "S", "P", "ack_floor.stream_seq"), ==, 0);
	cfx_advance(fx, 1 * MS);
	/* out of pending, and (v2.11+ moveAckFloor) the floor passes it at
	 * once: 2.9/2.10 left it until a later scan or ack */
	g_assert_cmpint(cfx_info_int(fx, c, "S", "P", "num_ack_pending"), ==, 0);
	g_assert_cmpint(cfx_info_int(fx, c, "S", "P", "ack_floor.stream_seq"), ==, 1);
	cfx_advance_to(fx, CFX_EPOCH_NS + 2 * SEC);
	GPtrArray *m = got(fx, c, "s.");
	g_assert_cmpuint(m->len, ==, 5);
	for (guint k = 0; k < 5; k++)
		g_assert_cmpint(at(m, k)->at_ns - CFX_EPOCH_NS, ==, (int64_t)k * 101 * MS);
	g_ptr_array_free(m, TRUE);
	GPtrArray *adv = got(fx, c, "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.S.P");
	g_assert_cmpuint(adv->len, ==, 1);
	/* the 5th delivery's expiry finds count 4 (one short), the attempt
	 * right after makes it 6 > 5: both at 5 x 101 ms */
	g_assert_cmpint(at(adv, 0)->at_ns - CFX_EPOCH_NS, ==, 505 * MS);
	g_ptr_array_free(adv, TRUE);
	json_t *si = cfx_req(fx, c, "$JS.API.STREAM.INFO.S", "");
	g_assert_cmpint(json_integer_value(json_object_get(json_object_get(si, "state"), "messages")), ==, 1);
	json_decref(si);
	g_assert_cmpint(cfx_info_int(fx, c, "S", "P", "num_ack_pending"), ==, 0);
	g_assert_cmpint(cfx_info_int(fx, c, "S", "P", "num_redelivered"), ==, 1);
	g_assert_cmpint(cfx_info_int(fx, c, "S", "P", "ack_floor.stream_seq"), ==, 1);
	g_assert_cmpint(cfx_info_int(fx, c, "S", "P", "ack_floor.consumer_seq"), ==, 5);
	cfx_free(fx);
}

/* v2.10.22+ timing for pull consumers. max_deliver 1: the ack-wait scan
 * drops it and sends the advisory at expiry, no pull needed.
 * max_deliver 2: after the 2nd delivery expires it stays ack-pending,
 * no advisory, until the next pull arrives; that pull triggers the
 * advisory (deliveries 2) and gets nothing. */
static void
test_max_deliver_pull_timing(void)
{
	Cfx *fx = cfx_new(NULL);
	CfxClient *c = cfx_client(fx);
	cfx_sub(fx, c, "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.>", NULL, 7);
	cfx_stream(fx, c, STREAM);
	cfx_pub(fx, c, "s.a", NULL, NULL, "x");
	pull_consumer(fx, c, "ONE", "\"ack_wait\":1000000000,\"max_deliver\":1");
	pull_consumer(fx, c, "TWO", "\"ack_wait\":1000000000,\"max_deliver\":2");
	cfx_pull(fx, c, "S", "ONE", "_R.in.1", "");
	cfx_pull(fx, c, "S", "TWO", "_R.in.2", "");
	cfx_discard(fx, c);
	cfx_advance(fx, 1001 * MS);
	GPtrArray *adv = got(fx, c, "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.S.");
	g_assert_cmpuint(adv->len, ==, 1);
	g_assert_cmpstr(at(adv, 0)->subject, ==, "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.S.ONE");
	json_t *a = json_loads(at(adv, 0)->data->str, 0, NULL);
	g_assert_cmpint(json_integer_value(json_object_get(a, "deliveries")), ==, 1);
	json_decref(a);
	g_ptr_array_free(adv, TRUE);
	g_assert_cmpint(cfx_info_int(fx, c, "S", "ONE", "num_ack_pending"), ==, 0);
	/* TWO: redelivered on the next pull (dc 2) */
	cfx_advance(fx, SEC);
	cfx_pull(fx, c, "S", "TWO", "_R.in.2", "");
	GPtrArray *m = got(fx, c, "s.");
	g_assert_cmpuint(m->len, ==, 1);
	g_assert_cmpuint(cfx_ack_parse(at(m, 0)->reply).dc, ==, 2);
	g_ptr_array_free(m, TRUE);
	/* its ack wait passes: still pending, no advisory */
	cfx_advance(fx, 5 * SEC);
	adv = got(fx, c, "$JS.EVENT.");
	g_assert_cmpuint(adv->len, ==, 0);
	g_ptr_array_free(adv, TRUE);
	g_assert_cmpint(cfx_info_int(fx, c, "S", "TWO", "num_ack_pending"), ==, 1);
	/* the next pull: advisory now, deliveries 2, nothing delivered */
	int64_t t_pull = fx->now_ns;
	cfx_pull(fx, c, "S", "TWO", "_R.in.2", "{\"batch\":1,\"no_wait\":true}");
	adv = got(fx, c, "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.S.TWO");
	g_assert_cmpuint(adv->len, ==, 1);
	g_assert_cmpint(at(adv, 0)->at_ns, ==, t_pull);
	a = json_loads(at(adv, 0)->data->str, 0, NULL);
	g_assert_cmpint(json_integer_value(json_object_get(a, "deliveries")), ==, 2);
	json_decref(a);
	g_ptr_array_free(adv, TRUE);
	m = got(fx, c, "s.");
	g_assert_cmpuint(m->len, ==, 0);
	g_ptr_array_free(m, TRUE);
	g_assert_cmpint(cfx_info_int(fx, c, "S", "TWO", "num_ack_pending"), ==, 0);
	cfx_free(fx);
}

/* TestJetStreamCanNotNakAckd: once acked, NAK and TERM change nothing
 * (no redelivery, no NAK advisory); acks above the next seq are ignored. */
static void
test_ack_of_non_pending(void)
{
	Cfx *fx = cfx_new(NULL);
	CfxClient *c = cfx_client(fx);
	cfx_sub(fx, c, "$JS.EVENT.ADVISORY.CONSUMER.MSG_NAKED.>", NULL, 7);
	cfx_stream(fx, c, STREAM);
	cfx_pub_n(fx, c, "s.a", 2);
	push_consumer(fx, c, "P", "\"ack_wait\":100000000");
	GPtrArray *m = got(fx, c, "s.");
	ack(fx, c, at(m, 0), "+ACK");
	ack(fx, c, at(m, 0), "-NAK");
	ack(fx, c, at(m, 0), "+ACK");
	g_ptr_array_free(m, TRUE);
	GPtrArray *none = got(fx, c, "$JS.EVENT.");
	g_assert_cmpuint(none->len, ==, 0);
	g_ptr_array_free(none, TRUE);
	m = got(fx, c, "s.");
	g_assert_cmpuint(m->len, ==, 0);
	g_ptr_array_free(m, TRUE);
	g_assert_cmpint(cfx_info_int(fx, c, "S", "P", "num_ack_pending"), ==, 1);
	/* an ack for a seq not delivered yet: ignored, and not answered */
	cfx_pub(fx, c, "$JS.ACK.S.P.1.9.9.0.0", "_R.ackack", NULL, "");
	m = got(fx, c, "_R.ackack");
	g_assert_cmpuint(m->len, ==, 0);
	g_ptr_array_free(m, TRUE);
	g_assert_cmpint(cfx_info_int(fx, c, "S", "P", "num_ack_pending"), ==, 1);
	cfx_free(fx);
}

/* Acks with a reply are answered with an empty message (every kind but
 * +NXT, which answers with messages); an ack-none consumer has no ack
 * subscription, so an ack with a reply meets no responders (503). */
static void
test_ack_replies(void)
{
	Cfx *fx = cfx_new(NULL);
	CfxClient *c = cfx_client(fx);
	cfx_stream(fx, c, STREAM);
	cfx_pub_n(fx, c, "s.a", 4);
	pull_consumer(fx, c, "D", "");
	cfx_pull(fx, c, "S", "D", "_R.in.1", "3");
	GPtrArray *m = got(fx, c, "s.");
	static const char *const kinds[] = { "+ACK", "-NAK", "+WPI" };
	for (guint k = 0; k < 3; k++) {
		cfx_pub(fx, c, at(m, k)->reply, "_R.ackack", NULL, kinds[k]);
		GPtrArray *r = got(fx, c, "_R.ackack");
		g_assert_cmpuint(r->len, ==, 1);
		g_assert_null(at(r, 0)->hdr);
		g_assert_cmpuint(at(r, 0)->data->len, ==, 0);
		g_ptr_array_free(r, TRUE);
	}
	/* +NXT acks #3 and asks for two more: the NAKed #2 first, then #4 */
	cfx_pub(fx, c, at(m, 2)->reply, "_R.nxt", NULL, "+NXT {\"batch\":2}");
	g_ptr_array_free(m, TRUE);
	m = cfx_take(fx, c);
	g_assert_cmpuint(m->len, ==, 2);
	g_assert_cmpstr(at(m, 0)->sid, ==, "999");
	g_assert_cmpuint(cfx_ack_parse(at(m, 0)->reply).sseq, ==, 2); /* the NAKed one first */
	g_assert_cmpuint(cfx_ack_parse(at(m, 1)->reply).sseq, ==, 4);
	g_ptr_array_free(m, TRUE);
	g_assert_cmpuint(broker_probe_count(fx->broker, BROKER_PROBE_JS_NXT), ==, 1);
	/* ack none */
	pull_consumer(fx, c, "N", "\"ack_policy\":\"none\"");
	cfx_pull(fx, c, "S", "N", "_R.in.2", "");
	m = got(fx, c, "s.");
	g_assert_cmpuint(m->len, ==, 1);
	g_assert_nonnull(at(m, 0)->reply); /* ack none still carries the ack subject */
	cfx_pub(fx, c, at(m, 0)->reply, "_R.none", NULL, "");
	g_ptr_array_free(m, TRUE);
	m = got(fx, c, "_R.none");
	g_assert_cmpuint(m->len, ==, 1);
	g_assert_cmpint(cfx_status(at(m, 0)), ==, 503);
	g_ptr_array_free(m, TRUE);
	cfx_free(fx);
}

/* The ack subject: dc, stream seq, consumer seq (new for every delivery),
 * the stream's timestamp, and pending 4,3,2,1,0. */
static void
test_ack_subject_fields(void)
{
	Cfx *fx = cfx_new(NULL);
	CfxClient *c = cfx_client(fx);
	cfx_stream(fx, c, STREAM);
	for (int k = 0; k < 5; k++) {
		cfx_pub(fx, c, "s.a", NULL, NULL, "x");
		cfx_advance(fx, 7 * MS);
	}
	pull_consumer(fx, c, "D", "");
	cfx_pull(fx, c, "S", "D", "_R.in.1", "5");
	GPtrArray *m = got(fx, c, "s.");
	g_assert_cmpuint(m->len, ==, 5);
	for (guint k = 0; k < 5; k++) {
		g_assert_true(g_str_has_prefix(at(m, k)->reply, "$JS.ACK.S.D.1."));
		CfxAck a = cfx_ack_parse(at(m, k)->reply);
		g_assert_cmpuint(a.sseq, ==, k + 1);
		g_assert_cmpuint(a.dseq, ==, k + 1);
		g_assert_cmpuint(a.pending, ==, 4 - k);
		g_assert_cmpint(a.ts, ==, CFX_EPOCH_NS + (int64_t)k * 7 * MS);
	}
	g_ptr_array_free(m, TRUE);
	cfx_free(fx);
}

/* sample_freq 100%: every ack of a pending message sends the ack metric
 * (consumer_ack) with the time from delivery to ack. */
static void
test_ack_sampling(void)
{
	Cfx *fx = cfx_new(NULL);
	CfxClient *c = cfx_client(fx);
	cfx_sub(fx, c, "$JS.EVENT.METRIC.CONSUMER.ACK.>", NULL, 7);
	cfx_stream(fx, c, STREAM);
	cfx_pub_n(fx, c, "s.a", 2);
	pull_consumer(fx, c, "D", "\"sample_freq\":\"100%\"");
	cfx_pull(fx, c, "S", "D", "_R.in.1", "2");
	GPtrArray *m = got(fx, c, "s.");
	cfx_advance(fx, 250 * MS);
	ack(fx, c, at(m, 1), "");
	ack(fx, c, at(m, 1), ""); /* not pending any more: no metric */
	g_ptr_array_free(m, TRUE);
	GPtrArray *adv = got(fx, c, "$JS.EVENT.METRIC.CONSUMER.ACK.S.D");
	g_assert_cmpuint(adv->len, ==, 1);
	json_t *a = json_loads(at(adv, 0)->data->str, 0, NULL);
	g_assert_cmpstr(json_string_value(json_object_get(a, "type")), ==, "io.nats.jetstream.metric.v1.consumer_ack");
	g_assert_cmpint(json_integer_value(json_object_get(a, "stream_seq")), ==, 2);
	g_assert_cmpint(json_integer_value(json_object_get(a, "consumer_seq")), ==, 2);
	g_assert_cmpint(json_integer_value(json_object_get(a, "ack_time")), ==, 250 * MS);
	g_assert_cmpint(json_integer_value(json_object_get(a, "deliveries")), ==, 1);
	json_decref(a);
	g_ptr_array_free(adv, TRUE);
	cfx_free(fx);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/js/consumer/ack/floor-sequence", test_ack_floor_sequence);
	g_test_add_func("/js/consumer/ack/redeliver-count", test_redeliver_count);
	g_test_add_func("/js/consumer/ack/ack-wait-redelivery-times", test_ack_wait_redelivery_times);
	g_test_add_func("/js/consumer/ack/ack-wait-rearm-earliest", test_ack_wait_rearm_earliest);
	g_test_add_func("/js/consumer/ack/nak-redelivery", test_nak_redelivery);
	g_test_add_func("/js/consumer/ack/nak-delay", test_nak_delay);
	g_test_add_func("/js/consumer/ack/nak-bad-delay", test_nak_bad_delay);
	g_test_add_func("/js/consumer/ack/term", test_term);
	g_test_add_func("/js/consumer/ack/wpi", test_wpi);
	g_test_add_func("/js/consumer/ack/ack-all", test_ack_all);
	g_test_add_func("/js/consumer/ack/late-ack", test_late_ack);
	g_test_add_func("/js/consumer/ack/backoff-schedule", test_backoff_schedule);
	g_test_add_func("/js/consumer/ack/max-deliver-push", test_max_deliver_push);
	g_test_add_func("/js/consumer/ack/max-deliver-pull-timing", test_max_deliver_pull_timing);
	g_test_add_func("/js/consumer/ack/non-pending-noop", test_ack_of_non_pending);
	g_test_add_func("/js/consumer/ack/replies", test_ack_replies);
	g_test_add_func("/js/consumer/ack/subject-fields", test_ack_subject_fields);
	g_test_add_func("/js/consumer/ack/sampling", test_ack_sampling);
	return g_test_run();
}
