/*
 * test_consumer_pull.c - pull consumers (NATS-SPEC §3.9, §3.10): request
 * forms and their checks with exact status lines, round robin between
 * waiting requests, no_wait, expires, max_bytes, max_waiting, heartbeats
 * at exact times, max_ack_pending stalls, interest loss, inactivity.
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

static void
pull_consumer(Cfx *fx, CfxClient *c, const char *name, const char *extra)
{
	char *cfg = g_strdup_printf("{\"durable_name\":\"%s\",\"ack_policy\":\"explicit\"%s%s}", name, extra[0] ? "," : "",
	    extra);
	json_decref(cfx_consumer(fx, c, "S", name, cfg));
	g_free(cfg);
}

/* One status message on inbox with the exact header block. */
static void
expect_status(Cfx *fx, CfxClient *c, const char *inbox, const char *hdr)
{
	GPtrArray *m = cfx_take_prefix(fx, c, inbox);
	g_assert_cmpuint(m->len, ==, 1);
	g_assert_nonnull(at(m, 0)->hdr);
	g_assert_cmpstr(at(m, 0)->hdr->str, ==, hdr);
	g_assert_cmpuint(at(m, 0)->data->len, ==, 0);
	g_assert_null(at(m, 0)->reply);
	g_ptr_array_free(m, TRUE);
}

/* TestJetStreamConsumerPullConsumerFIFO: ten requests of ten, then a
 * hundred messages: request k gets seqs k, k+10, k+20... (round robin per
 * message), each ending silently. */
static void
test_fifo_round_robin(void)
{
	Cfx *fx = cfx_new(NULL);
	CfxClient *c = cfx_client(fx);
	cfx_stream(fx, c, STREAM);
	pull_consumer(fx, c, "D", "");
	for (int k = 1; k <= 10; k++) {
		char inbox[32];
		snprintf(inbox, sizeof(inbox), "_R.in.%d", k);
		cfx_pull(fx, c, "S", "D", inbox, "{\"batch\":10}");
	}
	g_assert_cmpint(cfx_info_int(fx, c, "S", "D", "num_waiting"), ==, 10);
	cfx_pub_n(fx, c, "s.a", 100);
	GPtrArray *m = cfx_take_prefix(fx, c, "s.");
	g_assert_cmpuint(m->len, ==, 100);
	for (guint k = 0; k < 100; k++) {
		char inbox[32];
		snprintf(inbox, sizeof(inbox), "%u", k % 10);
		CfxAck a = cfx_ack_parse(at(m, k)->reply);
		g_assert_cmpuint(a.sseq, ==, k + 1);
	}
	g_ptr_array_free(m, TRUE);
	/* which inbox got what: look at the sids' routes through a fresh
	 * run with one subscription per inbox */
	cfx_free(fx);

	fx = cfx_new(NULL);
	c = cfx_client(fx);
	cfx_stream(fx, c, STREAM);
	pull_consumer(fx, c, "D", "");
	for (int k = 1; k <= 10; k++) {
		char inbox[32];
		snprintf(inbox, sizeof(inbox), "in.%d", k);
		cfx_sub(fx, c, inbox, NULL, k);
		cfx_pull(fx, c, "S", "D", inbox, "{\"batch\":10}");
	}
	cfx_pub_n(fx, c, "s.a", 100);
	m = cfx_take_prefix(fx, c, "s.");
	g_assert_cmpuint(m->len, ==, 100);
	for (guint k = 0; k < 100; k++) {
		char sid[8];
		snprintf(sid, sizeof(sid), "%u", k % 10 + 1);
		g_assert_cmpstr(at(m, k)->sid, ==, sid);
	}
	g_ptr_array_free(m, TRUE);
	GPtrArray *rest = cfx_take(fx, c);
	g_assert_cmpuint(rest->len, ==, 0); /* full batches end silently */
	g_ptr_array_free(rest, TRUE);
	g_assert_cmpint(cfx_info_int(fx, c, "S", "D", "num_waiting"), ==, 0);
	cfx_free(fx);
}

/* no_wait: 404 when nothing is pending; a partial batch ends at the end
 * of the stream (v2.12.3+: with 404); 408 Requests Pending when the
 * waiting requests already ask for more than is pending. Messages
 * awaiting ack do not count as pending. */
static void
test_no_wait(void)
{
	Cfx *fx = cfx_new(NULL);
	CfxClient *c = cfx_client(fx);
	cfx_stream(fx, c, STREAM);
	pull_consumer(fx, c, "D", "\"max_ack_pending\":1");
	cfx_pull(fx, c, "S", "D", "_R.in.1", "{\"batch\":1,\"no_wait\":true}");
	expect_status(fx, c, "_R.in.1", "NATS/1.0 404 No Messages\r\n\r\n");
	cfx_pub_n(fx, c, "s.a", 2);
	cfx_pull(fx, c, "S", "D", "_R.in.1", "1");
	GPtrArray *m = cfx_take_prefix(fx, c, "s.");
	g_assert_cmpuint(m->len, ==, 1);
	g_ptr_array_free(m, TRUE);
	cfx_pull(fx, c, "S", "D", "_R.in.2", "5"); /* stalls on max_ack_pending */
	cfx_pull(fx, c, "S", "D", "_R.in.3", "{\"batch\":1,\"no_wait\":true}");
	expect_status(fx, c, "_R.in.3", "NATS/1.0 408 Requests Pending\r\n\r\n");
	g_assert_cmpuint(broker_probe_count(fx->broker, BROKER_PROBE_JS_PULL_NO_MESSAGES), ==, 1);
	cfx_free(fx);

	fx = cfx_new(NULL);
	c = cfx_client(fx);
	cfx_stream(fx, c, STREAM);
	pull_consumer(fx, c, "D", "");
	cfx_pub_n(fx, c, "s.a", 3);
	cfx_pull(fx, c, "S", "D", "_R.in.1", "{\"batch\":10,\"no_wait\":true}");
	m = cfx_take_prefix(fx, c, "s.");
	g_assert_cmpuint(m->len, ==, 3);
	g_ptr_array_free(m, TRUE);
	/* v2.12.3+: 404 at the end of the stream (2.9/2.10: 408 with
	 * Nats-Pending-Messages: 7) */
	expect_status(fx, c, "_R.in.1", "NATS/1.0 404 No Messages\r\n\r\n");
	/* with expires the one-shot ends at the end of the stream too once it
	 * got something, but waits (until expiry) while it got nothing */
	cfx_pub_n(fx, c, "s.a", 1);
	cfx_pull(fx, c, "S", "D", "_R.in.2", "{\"batch\":5,\"no_wait\":true,\"expires\":2000000000}");
	m = cfx_take_prefix(fx, c, "s.");
	g_assert_cmpuint(m->len, ==, 1);
	g_ptr_array_free(m, TRUE);
	expect_status(fx, c, "_R.in.2", "NATS/1.0 404 No Messages\r\n\r\n");
	/* all three await ack: nothing pending for a new no_wait */
	cfx_pull(fx, c, "S", "D", "_R.in.1", "{\"batch\":10,\"no_wait\":true}");
	expect_status(fx, c, "_R.in.1", "NATS/1.0 404 No Messages\r\n\r\n");
	cfx_free(fx);
}

/* TestJetStreamPullConsumersOneShotBehavior / TimeoutHeaders: expires
 * ends a request with 408 and the pending counts at exactly its time. */
static void
test_expires_exact(void)
{
	Cfx *fx = cfx_new(NULL);
	CfxClient *c = cfx_client(fx);
	cfx_stream(fx, c, STREAM);
	pull_consumer(fx, c, "D", "");
	cfx_pull(fx, c, "S", "D", "_R.in.1", "{\"batch\":3,\"expires\":4500000000,\"max_bytes\":1000}");
	cfx_advance(fx, 4500 * MS - 1);
	GPtrArray *m = cfx_take_prefix(fx, c, "_R.in.1");
	g_assert_cmpuint(m->len, ==, 0);
	g_ptr_array_free(m, TRUE);
	g_assert_cmpint(cfx_info_int(fx, c, "S", "D", "num_waiting"), ==, 1);
	cfx_advance(fx, 1);
	expect_status(fx, c, "_R.in.1",
	    "NATS/1.0 408 Request Timeout\r\nNats-Pending-Messages: 3\r\nNats-Pending-Bytes: 1000\r\n\r\n");
	g_assert_cmpint(cfx_info_int(fx, c, "S", "D", "num_waiting"), ==, 0);
	/* several requests expiring out of order each end at their own time */
	cfx_pull(fx, c, "S", "D", "_R.in.a", "{\"batch\":1,\"expires\":300000000}");
	cfx_pull(fx, c, "S", "D", "_R.in.b", "{\"batch\":1,\"expires\":100000000}");
	cfx_pull(fx, c, "S", "D", "_R.in.c", "{\"batch\":1,\"expires\":200000000}");
	int64_t t0 = fx->now_ns;
	cfx_advance(fx, SEC);
	m = cfx_take_prefix(fx, c, "_R.in.");
	g_assert_cmpuint(m->len, ==, 3);
	g_assert_cmpstr(at(m, 0)->subject, ==, "_R.in.b");
	g_assert_cmpint(at(m, 0)->at_ns - t0, ==, 100 * MS);
	g_assert_cmpstr(at(m, 1)->subject, ==, "_R.in.c");
	g_assert_cmpint(at(m, 1)->at_ns - t0, ==, 200 * MS);
	g_assert_cmpstr(at(m, 2)->subject, ==, "_R.in.a");
	g_assert_cmpint(at(m, 2)->at_ns - t0, ==, 300 * MS);
	g_ptr_array_free(m, TRUE);
	g_assert_cmpuint(broker_probe_count(fx->broker, BROKER_PROBE_JS_PULL_TIMEOUT), ==, 4);
	cfx_free(fx);
}

/* TestJetStreamPullMaxBytes: a message that does not fit what is left
 * ends the request with 409 Message Size Exceeds MaxBytes; a batch that
 * completes with bytes left gets "409 Batch Completed". Size is subject
 * + ack reply + headers + payload. */
static void
test_max_bytes(void)
{
	Cfx *fx = cfx_new(NULL);
	CfxClient *c = cfx_client(fx);
	cfx_stream(fx, c, STREAM);
	pull_consumer(fx, c, "D", "");
	cfx_pub(fx, c, "s.a", NULL, NULL, "0123456789");
	cfx_pub(fx, c, "s.a", NULL, NULL, "0123456789");
	cfx_pull(fx, c, "S", "D", "_R.in.1", "{\"batch\":5,\"max_bytes\":10}");
	expect_status(fx, c, "_R.in.1",
	    "NATS/1.0 409 Message Size Exceeds MaxBytes\r\nNats-Pending-Messages: 5\r\nNats-Pending-Bytes: 10\r\n\r\n");
	GPtrArray *none = cfx_take_prefix(fx, c, "s.");
	g_assert_cmpuint(none->len, ==, 0);
	g_ptr_array_free(none, TRUE);
	/* one message: 3 + len(ack reply) + 10 */
	cfx_pull(fx, c, "S", "D", "_R.in.2", "{\"batch\":1,\"max_bytes\":1000}");
	GPtrArray *m = cfx_take_prefix(fx, c, "s.");
	g_assert_cmpuint(m->len, ==, 1);
	int64_t sz = 3 + (int64_t)strlen(at(m, 0)->reply) + 10;
	g_ptr_array_free(m, TRUE);
	char *want = g_strdup_printf(
	    "NATS/1.0 409 Batch Completed\r\nNats-Pending-Messages: 0\r\nNats-Pending-Bytes: %" G_GINT64_FORMAT "\r\n\r\n",
	    1000 - sz);
	expect_status(fx, c, "_R.in.2", want);
	g_free(want);
	g_assert_cmpuint(broker_probe_count(fx->broker, BROKER_PROBE_JS_PULL_MAX_BYTES), ==, 1);
	cfx_free(fx);
}

/* The request checks, in nats-server's order, with exact status lines:
 * push consumer, bad JSON, heartbeat too large, max_batch, max_expires,
 * max_bytes, the waiting queue. */
static void
test_request_rejections(void)
{
	Cfx *fx = cfx_new(NULL);
	CfxClient *c = cfx_client(fx);
	cfx_stream(fx, c, STREAM);
	pull_consumer(fx, c, "L", "\"max_batch\":5,\"max_expires\":1000000000,\"max_bytes\":100,\"max_waiting\":1");
	cfx_sub(fx, c, "d.P", NULL, 1);
	json_decref(cfx_consumer(fx, c, "S", "P", "{\"durable_name\":\"P\",\"deliver_subject\":\"d.P\"}"));
	cfx_pull(fx, c, "S", "P", "_R.in.1", "");
	expect_status(fx, c, "_R.in.1", "NATS/1.0 409 Consumer is push based\r\n\r\n");
	cfx_pull(fx, c, "S", "L", "_R.in.1", "{\"batch\":");
	expect_status(fx, c, "_R.in.1", "NATS/1.0 400 Bad Request - unexpected end of JSON input\r\n\r\n");
	cfx_pull(fx, c, "S", "L", "_R.in.1", "{\"batch\":\"x\"}");
	expect_status(fx, c, "_R.in.1",
	    "NATS/1.0 400 Bad Request - json: cannot unmarshal string into Go struct field "
	    "JSApiConsumerGetNextRequest.batch of type int\r\n\r\n");
	cfx_pull(fx, c, "S", "L", "_R.in.1", "{\"batch\":1,\"idle_heartbeat\":600000000,\"expires\":1000000000}");
	expect_status(fx, c, "_R.in.1", "NATS/1.0 400 Bad Request - heartbeat value too large\r\n\r\n");
	cfx_pull(fx, c, "S", "L", "_R.in.1", "{\"batch\":1,\"idle_heartbeat\":100000000}");
	expect_status(fx, c, "_R.in.1", "NATS/1.0 400 Bad Request - heartbeat value too large\r\n\r\n");
	cfx_pull(fx, c, "S", "L", "_R.in.1", "{\"batch\":6}");
	expect_status(fx, c, "_R.in.1", "NATS/1.0 409 Exceeded MaxRequestBatch of 5\r\n\r\n");
	cfx_pull(fx, c, "S", "L", "_R.in.1", "{\"batch\":1,\"expires\":2000000000}");
	expect_status(fx, c, "_R.in.1", "NATS/1.0 409 Exceeded MaxRequestExpires of 1s\r\n\r\n");
	cfx_pull(fx, c, "S", "L", "_R.in.1", "{\"batch\":1,\"max_bytes\":101}");
	expect_status(fx, c, "_R.in.1", "NATS/1.0 409 Exceeded MaxRequestMaxBytes of 100\r\n\r\n");
	cfx_pull(fx, c, "S", "L", "_R.in.1", "{\"batch\":1,\"expires\":1000000000}");
	cfx_pull(fx, c, "S", "L", "_R.in.2", "{\"batch\":1,\"expires\":1000000000}");
	expect_status(fx, c, "_R.in.2", "NATS/1.0 409 Exceeded MaxWaiting\r\n\r\n");
	/* v2.14.5: with heartbeats the overflow is not answered */
	cfx_pull(fx, c, "S", "L", "_R.in.2", "{\"batch\":1,\"expires\":1000000000,\"idle_heartbeat\":100000000}");
	GPtrArray *quiet = cfx_take_prefix(fx, c, "_R.in.2");
	g_assert_cmpuint(quiet->len, ==, 0);
	g_ptr_array_free(quiet, TRUE);
	GPtrArray *m = cfx_take_prefix(fx, c, "_R.in.1");
	g_assert_cmpuint(m->len, ==, 0);
	g_ptr_array_free(m, TRUE);
	g_assert_cmpuint(broker_probe_count(fx->broker, BROKER_PROBE_JS_PULL_REJECTED), ==, 10);
	/* body forms: a bare number is the batch, anything else is 1 */
	cfx_advance(fx, 2 * SEC);
	cfx_unsub(fx, c, 1); /* the push consumer goes quiet */
	cfx_pub_n(fx, c, "s.a", 5);
	cfx_pull(fx, c, "S", "L", "_R.in.3", " 3 ");
	m = cfx_take_prefix(fx, c, "s.");
	g_assert_cmpuint(m->len, ==, 3);
	g_ptr_array_free(m, TRUE);
	cfx_pull(fx, c, "S", "L", "_R.in.3", "many");
	m = cfx_take_prefix(fx, c, "s.");
	g_assert_cmpuint(m->len, ==, 1);
	g_ptr_array_free(m, TRUE);
	cfx_free(fx);
}

/* TestJetStreamPullConsumerHeartBeats: hb 0.5 s, expires 2 s: heartbeats
 * at exactly 0.5, 1.0, 1.5 s carrying the last consumer/stream seqs, then
 * 408 at 2.0; a delivered message restarts the heartbeat clock. */
static void
test_pull_heartbeats(void)
{
	Cfx *fx = cfx_new(NULL);
	CfxClient *c = cfx_client(fx);
	cfx_stream(fx, c, STREAM);
	pull_consumer(fx, c, "D", "");
	cfx_pull(fx, c, "S", "D", "_R.in.1", "{\"batch\":2,\"expires\":2000000000,\"idle_heartbeat\":500000000}");
	cfx_advance(fx, 2 * SEC);
	GPtrArray *m = cfx_take_prefix(fx, c, "_R.in.1");
	g_assert_cmpuint(m->len, ==, 4);
	for (guint k = 0; k < 3; k++) {
		g_assert_cmpstr(at(m, k)->hdr->str, ==,
		    "NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: 0\r\nNats-Last-Stream: 0\r\n\r\n");
		g_assert_cmpint(at(m, k)->at_ns - CFX_EPOCH_NS, ==, (int64_t)(k + 1) * 500 * MS);
	}
	g_assert_cmpint(cfx_status(at(m, 3)), ==, 408);
	g_assert_cmpint(at(m, 3)->at_ns - CFX_EPOCH_NS, ==, 2 * SEC);
	g_ptr_array_free(m, TRUE);
	/* a delivery at +0.3 s moves the next heartbeat to +0.8 s */
	int64_t t0 = fx->now_ns;
	cfx_pull(fx, c, "S", "D", "_R.in.2", "{\"batch\":2,\"expires\":5000000000,\"idle_heartbeat\":500000000}");
	cfx_advance(fx, 300 * MS);
	cfx_pub(fx, c, "s.a", NULL, NULL, "x");
	cfx_advance(fx, SEC);
	m = cfx_take_prefix(fx, c, "_R.in.2");
	g_assert_cmpuint(m->len, ==, 2);
	g_assert_cmpint(at(m, 0)->at_ns - t0, ==, 800 * MS);
	g_assert_cmpint(at(m, 1)->at_ns - t0, ==, 1300 * MS);
	char *lc = cfx_header(at(m, 0), "Nats-Last-Consumer");
	char *ls = cfx_header(at(m, 0), "Nats-Last-Stream");
	g_assert_cmpstr(lc, ==, "1");
	g_assert_cmpstr(ls, ==, "1");
	g_free(lc);
	g_free(ls);
	g_ptr_array_free(m, TRUE);
	g_assert_cmpuint(broker_probe_count(fx->broker, BROKER_PROBE_JS_HEARTBEAT), ==, 5);
	cfx_free(fx);
}

/* TestJetStreamPullConsumerMaxAckPending: batch 5 against max_ack_pending
 * 3 gets 3 and waits; it expires with 408 and 2 unfilled. An ack frees
 * room for a waiting request at once. */
static void
test_max_ack_pending_stall(void)
{
	Cfx *fx = cfx_new(NULL);
	CfxClient *c = cfx_client(fx);
	cfx_stream(fx, c, STREAM);
	pull_consumer(fx, c, "D", "\"max_ack_pending\":3");
	cfx_pub_n(fx, c, "s.a", 6);
	cfx_pull(fx, c, "S", "D", "_R.in.1", "{\"batch\":5,\"expires\":1000000000}");
	GPtrArray *m = cfx_take_prefix(fx, c, "s.");
	g_assert_cmpuint(m->len, ==, 3);
	cfx_advance(fx, SEC);
	expect_status(fx, c, "_R.in.1",
	    "NATS/1.0 408 Request Timeout\r\nNats-Pending-Messages: 2\r\nNats-Pending-Bytes: 0\r\n\r\n");
	g_assert_cmpuint(broker_probe_count(fx->broker, BROKER_PROBE_JS_MAX_ACK_PENDING), >, 0);
	cfx_pull(fx, c, "S", "D", "_R.in.2", "{\"batch\":2,\"expires\":10000000000}");
	GPtrArray *none = cfx_take_prefix(fx, c, "s.");
	g_assert_cmpuint(none->len, ==, 0);
	g_ptr_array_free(none, TRUE);
	cfx_pub(fx, c, at(m, 0)->reply, NULL, NULL, "+ACK");
	GPtrArray *m2 = cfx_take_prefix(fx, c, "s.");
	g_assert_cmpuint(m2->len, ==, 1);
	g_assert_cmpuint(cfx_ack_parse(at(m2, 0)->reply).sseq, ==, 4);
	g_ptr_array_free(m2, TRUE);
	g_ptr_array_free(m, TRUE);
	cfx_free(fx);
}

/* The no_wait quirk (nats-server's loop does not end one-shots while
 * stalled on max_ack_pending): a partial no_wait request stays waiting,
 * with no 404/408, until acks let it finish; at the end of the stream it
 * then ends (404). */
static void
test_no_wait_stall_quirk(void)
{
	Cfx *fx = cfx_new(NULL);
	CfxClient *c = cfx_client(fx);
	cfx_stream(fx, c, STREAM);
	pull_consumer(fx, c, "D", "\"max_ack_pending\":2");
	cfx_pub_n(fx, c, "s.a", 3);
	cfx_pull(fx, c, "S", "D", "_R.in.1", "{\"batch\":5,\"no_wait\":true}");
	GPtrArray *m = cfx_take_prefix(fx, c, "s.");
	g_assert_cmpuint(m->len, ==, 2);
	GPtrArray *st = cfx_take_prefix(fx, c, "_R.in.1");
	g_assert_cmpuint(st->len, ==, 0);
	g_ptr_array_free(st, TRUE);
	g_assert_cmpint(cfx_info_int(fx, c, "S", "D", "num_waiting"), ==, 1);
	cfx_advance(fx, 10 * SEC);
	g_assert_cmpint(cfx_info_int(fx, c, "S", "D", "num_waiting"), ==, 1);
	cfx_pub(fx, c, at(m, 0)->reply, NULL, NULL, "");
	GPtrArray *m2 = cfx_take_prefix(fx, c, "s.");
	g_assert_cmpuint(m2->len, ==, 1);
	g_ptr_array_free(m2, TRUE);
	g_assert_cmpint(cfx_info_int(fx, c, "S", "D", "num_waiting"), ==, 1);
	cfx_pub(fx, c, at(m, 1)->reply, NULL, NULL, "");
	expect_status(fx, c, "_R.in.1", "NATS/1.0 404 No Messages\r\n\r\n");
	g_ptr_array_free(m, TRUE);
	cfx_free(fx);
}

/* TestJetStreamPullConsumerMaxAckPendingRedeliveries: with
 * max_ack_pending 1 each request gets the same message again, dc rising,
 * until it is acked; then the next one. */
static void
test_max_ack_pending_redeliveries(void)
{
	Cfx *fx = cfx_new(NULL);
	CfxClient *c = cfx_client(fx);
	cfx_stream(fx, c, STREAM);
	pull_consumer(fx, c, "D", "\"max_ack_pending\":1,\"ack_wait\":50000000");
	cfx_pub_n(fx, c, "s.a", 3);
	for (uint64_t dc = 1; dc <= 4; dc++) {
		cfx_pull(fx, c, "S", "D", "_R.in.1", "{\"batch\":1,\"expires\":1000000000}");
		GPtrArray *m = cfx_take_prefix(fx, c, "s.");
		g_assert_cmpuint(m->len, ==, 1);
		CfxAck a = cfx_ack_parse(at(m, 0)->reply);
		g_assert_cmpuint(a.sseq, ==, 1);
		g_assert_cmpuint(a.dc, ==, dc);
		if (dc == 4)
			cfx_pub(fx, c, at(m, 0)->reply, NULL, NULL, "");
		g_ptr_array_free(m, TRUE);
		cfx_advance(fx, 100 * MS);
	}
	cfx_pull(fx, c, "S", "D", "_R.in.1", "{\"batch\":1,\"expires\":1000000000}");
	GPtrArray *m = cfx_take_prefix(fx, c, "s.");
	g_assert_cmpuint(cfx_ack_parse(at(m, 0)->reply).sseq, ==, 2);
	g_ptr_array_free(m, TRUE);
	cfx_free(fx);
}

/* TestJetStreamPullConsumerRemoveInterest: a request whose reply subject
 * lost its subscriber is dropped silently; the message stays for the
 * next one. */
static void
test_interest_loss(void)
{
	Cfx *fx = cfx_new(NULL);
	CfxClient *c = cfx_client(fx);
	CfxClient *w = cfx_client(fx);
	cfx_stream(fx, c, STREAM);
	pull_consumer(fx, c, "D", "");
	cfx_sub(fx, w, "inbox.w", NULL, 5);
	cfx_pull(fx, w, "S", "D", "inbox.w", "{\"batch\":1,\"expires\":60000000000}");
	g_assert_cmpint(cfx_info_int(fx, c, "S", "D", "num_waiting"), ==, 1);
	cfx_unsub(fx, w, 5);
	g_assert_cmpint(cfx_info_int(fx, c, "S", "D", "num_waiting"), ==, 0);
	cfx_pub(fx, c, "s.a", NULL, NULL, "x");
	GPtrArray *m = cfx_take_prefix(fx, w, "s.");
	g_assert_cmpuint(m->len, ==, 0);
	g_ptr_array_free(m, TRUE);
	g_assert_cmpint(cfx_info_int(fx, c, "S", "D", "num_pending"), ==, 1);
	g_assert_cmpint(cfx_info_int(fx, c, "S", "D", "num_ack_pending"), ==, 0);
	cfx_pull(fx, c, "S", "D", "_R.in.1", "");
	m = cfx_take_prefix(fx, c, "s.");
	g_assert_cmpuint(m->len, ==, 1);
	g_assert_cmpuint(cfx_ack_parse(at(m, 0)->reply).dseq, ==, 1);
	g_ptr_array_free(m, TRUE);
	cfx_free(fx);
}

/* TestJetStreamEphemeralPullConsumersInactiveThresholdAndNoWait: an
 * ephemeral pull consumer nobody pulls from goes after 5 s plus the
 * timer's jitter (100 ms + [0, 900) ms), with the DELETED advisory;
 * a waiting request with interest keeps one alive. */
static void
test_ephemeral_inactive(void)
{
	Cfx *fx = cfx_new(NULL);
	CfxClient *c = cfx_client(fx);
	cfx_sub(fx, c, "$JS.EVENT.ADVISORY.CONSUMER.DELETED.>", NULL, 7);
	cfx_stream(fx, c, STREAM);
	json_t *r = cfx_consumer(fx, c, "S", NULL, "{\"ack_policy\":\"explicit\"}");
	char *name = g_strdup(json_string_value(json_object_get(r, "name")));
	g_assert_cmpint(json_integer_value(json_object_get(json_object_get(r, "config"), "inactive_threshold")), ==,
	    5 * SEC);
	json_decref(r);
	json_t *r2 = cfx_consumer(fx, c, "S", "KEEP", "{\"name\":\"KEEP\",\"ack_policy\":\"explicit\"}");
	json_decref(r2);
	cfx_pull(fx, c, "S", "KEEP", "_R.in.k", "{\"batch\":1,\"expires\":600000000000}");
	int64_t gone = -1;
	for (int step = 0; step < 800 && gone < 0; step++) {
		cfx_advance(fx, 10 * MS);
		GPtrArray *adv = cfx_take_prefix(fx, c, "$JS.EVENT.ADVISORY.CONSUMER.DELETED.");
		if (adv->len > 0) {
			g_assert_cmpuint(adv->len, ==, 1);
			char *subj = g_strdup_printf("$JS.EVENT.ADVISORY.CONSUMER.DELETED.S.%s", name);
			g_assert_cmpstr(at(adv, 0)->subject, ==, subj);
			g_free(subj);
			gone = cfx_t(fx);
		}
		g_ptr_array_free(adv, TRUE);
	}
	g_assert_cmpint(gone, >=, 5100 * MS);
	g_assert_cmpint(gone, <, 6000 * MS + 10 * MS);
	json_t *i = cfx_info(fx, c, "S", name);
	g_assert_cmpint(json_integer_value(json_object_get(json_object_get(i, "error"), "err_code")), ==, 10014);
	json_decref(i);
	cfx_advance(fx, 20 * SEC);
	g_assert_cmpint(cfx_info_int(fx, c, "S", "KEEP", "num_waiting"), ==, 1);
	g_assert_cmpuint(broker_probe_count(fx->broker, BROKER_PROBE_JS_INACTIVE_DELETED), ==, 1);
	g_free(name);
	cfx_free(fx);
}

/* Deleting a pull consumer answers its waiting requests with 409
 * Consumer Deleted; MSG.NEXT to a missing consumer gets no reply. */
static void
test_delete_releases_requests(void)
{
	Cfx *fx = cfx_new(NULL);
	CfxClient *c = cfx_client(fx);
	cfx_stream(fx, c, STREAM);
	pull_consumer(fx, c, "D", "");
	cfx_pull(fx, c, "S", "D", "_R.in.1", "{\"batch\":1,\"expires\":60000000000}");
	json_t *r = cfx_req(fx, c, "$JS.API.CONSUMER.DELETE.S.D", "");
	g_assert_true(json_is_true(json_object_get(r, "success")));
	json_decref(r);
	expect_status(fx, c, "_R.in.1", "NATS/1.0 409 Consumer Deleted\r\n\r\n");
	cfx_pull(fx, c, "S", "D", "_R.in.1", "");
	cfx_pull(fx, c, "S", "NOPE", "_R.in.1", "");
	cfx_pull(fx, c, "NOPE", "D", "_R.in.1", "");
	GPtrArray *m = cfx_take(fx, c);
	g_assert_cmpuint(m->len, ==, 0);
	g_ptr_array_free(m, TRUE);
	cfx_free(fx);
}

/* num_pending counts matching messages not yet delivered (filtered
 * consumers count only theirs); num_waiting the live requests. */
static void
test_counters(void)
{
	Cfx *fx = cfx_new(NULL);
	CfxClient *c = cfx_client(fx);
	cfx_stream(fx, c, STREAM);
	cfx_pub_n(fx, c, "s.a", 3);
	cfx_pub_n(fx, c, "s.b", 2);
	pull_consumer(fx, c, "A", "\"filter_subject\":\"s.a\"");
	pull_consumer(fx, c, "ALL", "");
	g_assert_cmpint(cfx_info_int(fx, c, "S", "A", "num_pending"), ==, 3);
	g_assert_cmpint(cfx_info_int(fx, c, "S", "ALL", "num_pending"), ==, 5);
	cfx_pull(fx, c, "S", "A", "_R.in.1", "2");
	cfx_discard(fx, c);
	g_assert_cmpint(cfx_info_int(fx, c, "S", "A", "num_pending"), ==, 1);
	g_assert_cmpint(cfx_info_int(fx, c, "S", "A", "num_ack_pending"), ==, 2);
	cfx_pull(fx, c, "S", "A", "_R.in.1", "2");
	cfx_discard(fx, c);
	/* delivered.stream_seq follows the walk past the filtered-out seqs */
	g_assert_cmpint(cfx_info_int(fx, c, "S", "A", "delivered.stream_seq"), ==, 5);
	g_assert_cmpint(cfx_info_int(fx, c, "S", "A", "num_waiting"), ==, 1);
	cfx_pub(fx, c, "s.b", NULL, NULL, "x");
	g_assert_cmpint(cfx_info_int(fx, c, "S", "A", "num_waiting"), ==, 1);
	cfx_pub(fx, c, "s.a", NULL, NULL, "x");
	g_assert_cmpint(cfx_info_int(fx, c, "S", "A", "num_waiting"), ==, 0);
	g_assert_cmpint(cfx_info_int(fx, c, "S", "A", "num_pending"), ==, 0);
	g_assert_cmpint(cfx_info_int(fx, c, "S", "ALL", "num_pending"), ==, 7);
	cfx_free(fx);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/js/consumer/pull/fifo-round-robin", test_fifo_round_robin);
	g_test_add_func("/js/consumer/pull/no-wait", test_no_wait);
	g_test_add_func("/js/consumer/pull/expires-exact", test_expires_exact);
	g_test_add_func("/js/consumer/pull/max-bytes", test_max_bytes);
	g_test_add_func("/js/consumer/pull/request-rejections", test_request_rejections);
	g_test_add_func("/js/consumer/pull/heartbeats", test_pull_heartbeats);
	g_test_add_func("/js/consumer/pull/max-ack-pending-stall", test_max_ack_pending_stall);
	g_test_add_func("/js/consumer/pull/no-wait-stall-quirk", test_no_wait_stall_quirk);
	g_test_add_func("/js/consumer/pull/max-ack-pending-redeliveries", test_max_ack_pending_redeliveries);
	g_test_add_func("/js/consumer/pull/interest-loss", test_interest_loss);
	g_test_add_func("/js/consumer/pull/ephemeral-inactive", test_ephemeral_inactive);
	g_test_add_func("/js/consumer/pull/delete-releases-requests", test_delete_releases_requests);
	g_test_add_func("/js/consumer/pull/counters", test_counters);
	return g_test_run();
}
