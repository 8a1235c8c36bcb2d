/*
 * test_consumer_state.c - what consumers do to streams and what they keep
 * (NATS-SPEC §3.8, §3.12): workqueue removal on ack and TERM, interest
 * retention, ack none on interest streams, purges, persisted state across
 * a restart (and its save coalescing), probes, determinism.
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "broker/storage.h"
#include "cfx.h"

static CfxMsg *
at(GPtrArray *a, guint k)
{
	g_assert_cmpuint(k, <, a->len);
	return a->pdata[k];
}

static int64_t
stream_msgs(Cfx *fx, CfxClient *c, const char *stream)
{
	char *subject = g_strdup_printf("$JS.API.STREAM.INFO.%s", stream);
	json_t *r = cfx_req(fx, c, subject, "");
	g_free(subject);
	int64_t n = json_integer_value(json_object_get(json_object_get(r, "state"), "messages"));
	json_decref(r);
	return n;
}

static GPtrArray *
fetch(Cfx *fx, CfxClient *c, const char *stream, const char *name, int n)
{
	char body[64];
	snprintf(body, sizeof(body), "{\"batch\":%d,\"no_wait\":true}", n);
	cfx_pull(fx, c, stream, name, "_R.in.f", body);
	GPtrArray *m = cfx_take_prefix(fx, c, "_R.in.f");
	g_ptr_array_free(m, TRUE); /* status lines */
	GPtrArray *all = cfx_take(fx, c);
	GPtrArray *out = g_ptr_array_new_with_free_func(NULL);
	for (guint k = 0; k < all->len; k++) {
		CfxMsg *x = at(all, k);
		if (x->reply != NULL && g_str_has_prefix(x->reply, "$JS.ACK."))
			g_ptr_array_add(out, x);
	}
	/* out borrows from all: keep all alive through a free func trick */
	g_ptr_array_set_free_func(out, NULL);
	g_ptr_array_add(out, all); /* last element: the owner */
	return out;
}

static void
fetch_free(GPtrArray *m)
{
	g_ptr_array_free(m->pdata[m->len - 1], TRUE);
	g_ptr_array_free(m, TRUE);
}

static guint
fetched(GPtrArray *m)
{
	return m->len - 1;
}

/* TestJetStreamBasicWorkQueue / WorkQueueRetentionStream: an ack removes
 * the message; so does TERM; an unacked one stays. */
static void
test_workqueue_removal(void)
{
	Cfx *fx = cfx_new(NULL);
	CfxClient *c = cfx_client(fx);
	cfx_stream(fx, c, "{\"name\":\"W\",\"subjects\":[\"w.>\"],\"storage\":\"memory\",\"retention\":\"workqueue\"}");
	cfx_pub_n(fx, c, "w.a", 3);
	json_decref(cfx_consumer(fx, c, "W", "D", "{\"durable_name\":\"D\",\"ack_policy\":\"explicit\"}"));
	GPtrArray *m = fetch(fx, c, "W", "D", 3);
	g_assert_cmpuint(fetched(m), ==, 3);
	cfx_pub(fx, c, at(m, 1)->reply, NULL, NULL, "+ACK");
	g_assert_cmpint(stream_msgs(fx, c, "W"), ==, 2);
	cfx_pub(fx, c, at(m, 0)->reply, NULL, NULL, "+TERM");
	g_assert_cmpint(stream_msgs(fx, c, "W"), ==, 1);
	json_t *si = cfx_req(fx, c, "$JS.API.STREAM.INFO.W", "");
	g_assert_cmpint(json_integer_value(json_object_get(json_object_get(si, "state"), "first_seq")), ==, 3);
	json_decref(si);
	g_assert_cmpint(cfx_info_int(fx, c, "W", "D", "num_ack_pending"), ==, 1);
	g_assert_cmpint(cfx_info_int(fx, c, "W", "D", "ack_floor.stream_seq"), ==, 2);
	fetch_free(m);
	cfx_free(fx);
}

/* TestJetStreamInterestRetentionStreamWithFilteredConsumers: a message
 * goes once every consumer whose filter matches has acked it. */
static void
test_interest_retention(void)
{
	Cfx *fx = cfx_new(NULL);
	CfxClient *c = cfx_client(fx);
	cfx_stream(fx, c, "{\"name\":\"I\",\"subjects\":[\"i.>\"],\"storage\":\"memory\",\"retention\":\"interest\"}");
	json_decref(cfx_consumer(fx, c, "I", "C1", "{\"durable_name\":\"C1\",\"ack_policy\":\"explicit\",\"filter_subject\":\"i.a\"}"));
	json_decref(cfx_consumer(fx, c, "I", "C2", "{\"durable_name\":\"C2\",\"ack_policy\":\"explicit\"}"));
	cfx_pub(fx, c, "i.a", NULL, NULL, "a");
	cfx_pub(fx, c, "i.b", NULL, NULL, "b");
	g_assert_cmpint(stream_msgs(fx, c, "I"), ==, 2);
	GPtrArray *m1 = fetch(fx, c, "I", "C1", 5);
	g_assert_cmpuint(fetched(m1), ==, 1);
	GPtrArray *m2 = fetch(fx, c, "I", "C2", 5);
	g_assert_cmpuint(fetched(m2), ==, 2);
	cfx_pub(fx, c, at(m1, 0)->reply, NULL, NULL, "");
	g_assert_cmpint(stream_msgs(fx, c, "I"), ==, 2);
	cfx_pub(fx, c, at(m2, 1)->reply, NULL, NULL, ""); /* i.b: only C2 wants it */
	g_assert_cmpint(stream_msgs(fx, c, "I"), ==, 1);
	cfx_pub(fx, c, at(m2, 0)->reply, NULL, NULL, "");
	g_assert_cmpint(stream_msgs(fx, c, "I"), ==, 0);
	fetch_free(m1);
	fetch_free(m2);
	/* ack none: gone once delivered to the only consumer */
	json_decref(cfx_req(fx, c, "$JS.API.CONSUMER.DELETE.I.C1", ""));
	json_decref(cfx_req(fx, c, "$JS.API.CONSUMER.DELETE.I.C2", ""));
	json_decref(cfx_consumer(fx, c, "I", "N", "{\"durable_name\":\"N\",\"ack_policy\":\"none\"}"));
	cfx_pub(fx, c, "i.a", NULL, NULL, "a");
	g_assert_cmpint(stream_msgs(fx, c, "I"), ==, 1);
	GPtrArray *m = fetch(fx, c, "I", "N", 1);
	g_assert_cmpuint(fetched(m), ==, 1);
	fetch_free(m);
	g_assert_cmpint(stream_msgs(fx, c, "I"), ==, 0);
	g_assert_cmpint(cfx_info_int(fx, c, "I", "N", "ack_floor.stream_seq"), ==, 3);
	cfx_free(fx);
}

/* TestJetStreamStreamPurgeWithConsumer: a purge drops the pending
 * entries below the new first seq, moves the floor, and num_pending
 * follows; acks of purged seqs change nothing. */
static void
test_purge(void)
{
	Cfx *fx = cfx_new(NULL);
	CfxClient *c = cfx_client(fx);
	cfx_stream(fx, c, "{\"name\":\"S\",\"subjects\":[\"s.>\"],\"storage\":\"memory\"}");
	cfx_pub_n(fx, c, "s.a", 10);
	json_decref(cfx_consumer(fx, c, "S", "D", "{\"durable_name\":\"D\",\"ack_policy\":\"explicit\"}"));
	GPtrArray *m = fetch(fx, c, "S", "D", 4);
	cfx_pub(fx, c, at(m, 0)->reply, NULL, NULL, "");
	g_assert_cmpint(cfx_info_int(fx, c, "S", "D", "num_ack_pending"), ==, 3);
	g_assert_cmpint(cfx_info_int(fx, c, "S", "D", "num_pending"), ==, 6);
	json_decref(cfx_req(fx, c, "$JS.API.STREAM.PURGE.S", "{\"seq\":7}"));
	g_assert_cmpint(cfx_info_int(fx, c, "S", "D", "num_ack_pending"), ==, 0);
	g_assert_cmpint(cfx_info_int(fx, c, "S", "D", "ack_floor.stream_seq"), ==, 6);
	g_assert_cmpint(cfx_info_int(fx, c, "S", "D", "num_pending"), ==, 4);
	cfx_pub(fx, c, at(m, 2)->reply, NULL, NULL, "");
	g_assert_cmpint(cfx_info_int(fx, c, "S", "D", "ack_floor.stream_seq"), ==, 6);
	fetch_free(m);
	m = fetch(fx, c, "S", "D", 10);
	g_assert_cmpuint(fetched(m), ==, 4);
	g_assert_cmpuint(cfx_ack_parse(at(m, 0)->reply).sseq, ==, 7);
	fetch_free(m);
	json_decref(cfx_req(fx, c, "$JS.API.STREAM.PURGE.S", "{}"));
	g_assert_cmpint(cfx_info_int(fx, c, "S", "D", "num_ack_pending"), ==, 0);
	g_assert_cmpint(cfx_info_int(fx, c, "S", "D", "ack_floor.stream_seq"), ==, 10);
	cfx_free(fx);
}

typedef struct Disk {
	char *dir;
	BrokerStorage *storage;
} Disk;

static Cfx *
cfx_on_disk(Disk *d)
{
	GError *err = NULL;
	d->dir = g_dir_make_tmp("jscons-XXXXXX", &err);
	g_assert_no_error(err);
	d->storage = broker_storage_posix_create(d->dir, &err);
	g_assert_no_error(err);
	BrokerConfig config = { .storage = d->storage, .js_sync_always = true };
	return cfx_new(&config);
}

static void
rm_rf(const char *path)
{
	GDir *dir = g_dir_open(path, 0, NULL);
	if (dir != NULL) {
		const char *name;
		while ((name = g_dir_read_name(dir)) != NULL) {
			char *p = g_build_filename(path, name, NULL);
			rm_rf(p);
			g_free(p);
		}
		g_dir_close(dir);
		g_rmdir(path);
	} else {
		g_unlink(path);
	}
}

static void
disk_free(Disk *d)
{
	broker_storage_posix_destroy(d->storage);
	rm_rf(d->dir);
	g_free(d->dir);
}

static char *
info_state(Cfx *fx, CfxClient *c, const char *stream, const char *name)
{
	json_t *r = cfx_info(fx, c, stream, name);
	json_object_del(r, "ts");
	json_object_del(r, "type");
	/* activity times live in memory only (nats-server's ldt/lat) */
	json_object_del(json_object_get(r, "delivered"), "last_active");
	json_object_del(json_object_get(r, "ack_floor"), "last_active");
	char *text = json_dumps(r, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(r);
	return text;
}

/* TestJetStreamRedeliveryAfterServerRestart / state round trip: a
 * durable's config, created time, delivered and ack floor, pending (with
 * timestamps) and redelivery counts come back after a restart; redelivery
 * then continues with the right counts at the right time. */
static void
test_state_round_trip(void)
{
	Disk d;
	Cfx *fx = cfx_on_disk(&d);
	CfxClient *c = cfx_client(fx);
	cfx_stream(fx, c, "{\"name\":\"F\",\"subjects\":[\"f.>\"],\"storage\":\"file\"}");
	cfx_pub_n(fx, c, "f.a", 5);
	json_decref(cfx_consumer(fx, c, "F", "D", "{\"durable_name\":\"D\",\"ack_policy\":\"explicit\",\"ack_wait\":10000000000}"));
	GPtrArray *m = fetch(fx, c, "F", "D", 4);
	cfx_pub(fx, c, at(m, 0)->reply, NULL, NULL, "");
	cfx_pub(fx, c, at(m, 1)->reply, NULL, NULL, "");
	cfx_pub(fx, c, at(m, 2)->reply, NULL, NULL, "-NAK");
	fetch_free(m);
	m = fetch(fx, c, "F", "D", 1);
	CfxAck a = cfx_ack_parse(at(m, 0)->reply);
	g_assert_cmpuint(a.sseq, ==, 3);
	g_assert_cmpuint(a.dc, ==, 2);
	fetch_free(m);
	cfx_advance(fx, 500 * MS);
	char *before = info_state(fx, c, "F", "D");
	cfx_restart(fx);
	c = cfx_client(fx);
	char *after = info_state(fx, c, "F", "D");
	g_assert_cmpstr(after, ==, before);
	g_assert_nonnull(strstr(after, "\"delivered\":{\"consumer_seq\":5,\"stream_seq\":4"));
	g_assert_nonnull(strstr(after, "\"ack_floor\":{\"consumer_seq\":2,\"stream_seq\":2"));
	g_assert_nonnull(strstr(after, "\"num_ack_pending\":2,\"num_redelivered\":1"));
	g_free(before);
	g_free(after);
	/* 4 was delivered at 0, 3 again at 0: both due at 10 s (+1 ms for the
	 * first arm before the restart; after it the scan runs at once and
	 * re-arms for the remaining time) */
	cfx_pull(fx, c, "F", "D", "_R.in.x", "{\"batch\":3,\"expires\":60000000000}");
	m = cfx_take_prefix(fx, c, "f.");
	g_assert_cmpuint(m->len, ==, 1); /* 5, never delivered: at once */
	a = cfx_ack_parse(at(m, 0)->reply);
	g_assert_cmpuint(a.sseq, ==, 5);
	g_assert_cmpuint(a.dseq, ==, 6);
	g_ptr_array_free(m, TRUE);
	cfx_advance_to(fx, CFX_EPOCH_NS + 10 * SEC - 1);
	m = cfx_take_prefix(fx, c, "f.");
	g_assert_cmpuint(m->len, ==, 0);
	g_ptr_array_free(m, TRUE);
	cfx_advance_to(fx, CFX_EPOCH_NS + 10 * SEC);
	m = cfx_take_prefix(fx, c, "f.");
	g_assert_cmpuint(m->len, ==, 2);
	CfxAck r0 = cfx_ack_parse(at(m, 0)->reply), r1 = cfx_ack_parse(at(m, 1)->reply);
	g_assert_cmpuint(r0.sseq, ==, 3);
	g_assert_cmpuint(r0.dc, ==, 3);
	g_assert_cmpuint(r0.dseq, ==, 7);
	g_assert_cmpuint(r1.sseq, ==, 4);
	g_assert_cmpuint(r1.dc, ==, 2);
	g_assert_cmpuint(r1.dseq, ==, 8);
	g_ptr_array_free(m, TRUE);
	cfx_free(fx);
	disk_free(&d);
}

/* State saves are coalesced (at most one per 100 ms, as nats-server's
 * consumer file store): the first change after a quiet spell is saved at
 * once, a change 10 ms later only at +100 ms, so a crash in between
 * loses it (the message comes again). A deleted consumer's state goes. */
static void
test_state_save_coalescing(void)
{
	Disk d;
	Cfx *fx = cfx_on_disk(&d);
	CfxClient *c = cfx_client(fx);
	cfx_stream(fx, c, "{\"name\":\"F\",\"subjects\":[\"f.>\"],\"storage\":\"file\"}");
	cfx_pub_n(fx, c, "f.a", 2);
	json_decref(cfx_consumer(fx, c, "F", "D", "{\"durable_name\":\"D\",\"ack_policy\":\"explicit\"}"));
	json_decref(cfx_consumer(fx, c, "F", "GONE", "{\"durable_name\":\"GONE\"}"));
	GPtrArray *m = fetch(fx, c, "F", "D", 2);
	cfx_advance(fx, SEC);
	cfx_pub(fx, c, at(m, 0)->reply, NULL, NULL, ""); /* saved at once */
	cfx_advance(fx, 10 * MS);
	cfx_pub(fx, c, at(m, 1)->reply, NULL, NULL, ""); /* due at +100 ms */
	fetch_free(m);
	cfx_advance(fx, 50 * MS);
	json_decref(cfx_req(fx, c, "$JS.API.CONSUMER.DELETE.F.GONE", ""));
	cfx_restart(fx);
	c = cfx_client(fx);
	g_assert_cmpint(cfx_info_int(fx, c, "F", "D", "num_ack_pending"), ==, 1);
	g_assert_cmpint(cfx_info_int(fx, c, "F", "D", "ack_floor.stream_seq"), ==, 1);
	char *e = cfx_req_error(fx, c, "$JS.API.CONSUMER.INFO.F.GONE", "", 10014, 404);
	g_free(e);
	cfx_free(fx);
	disk_free(&d);
}

/* An ephemeral consumer comes back after a restart too, and goes after
 * its inactive threshold. */
static void
test_ephemeral_restored_then_deleted(void)
{
	Disk d;
	Cfx *fx = cfx_on_disk(&d);
	CfxClient *c = cfx_client(fx);
	cfx_stream(fx, c, "{\"name\":\"F\",\"subjects\":[\"f.>\"],\"storage\":\"file\"}");
	json_t *r = cfx_consumer(fx, c, "F", NULL, "{\"ack_policy\":\"explicit\"}");
	char *name = g_strdup(json_string_value(json_object_get(r, "name")));
	json_decref(r);
	cfx_restart(fx);
	c = cfx_client(fx);
	json_t *i = cfx_info(fx, c, "F", name);
	g_assert_null(json_object_get(i, "error"));
	json_decref(i);
	cfx_advance(fx, 7 * SEC);
	char *subj = g_strdup_printf("$JS.API.CONSUMER.INFO.F.%s", name);
	char *e = cfx_req_error(fx, c, subj, "", 10014, 404);
	g_free(e);
	g_free(subj);
	g_free(name);
	cfx_free(fx);
	disk_free(&d);
}

/* A run's transcript (everything a client got, advisory ids and
 * ephemeral names included) is a function of the seed and the input. */
static char *
transcript(void)
{
	Cfx *fx = cfx_new(NULL);
	CfxClient *c = cfx_client(fx);
	cfx_sub(fx, c, "$JS.EVENT.>", NULL, 7);
	cfx_stream(fx, c, "{\"name\":\"S\",\"subjects\":[\"s.>\"],\"storage\":\"memory\"}");
	cfx_pub_n(fx, c, "s.a", 5);
	json_decref(cfx_consumer(fx, c, "S", NULL, "{\"ack_policy\":\"explicit\",\"ack_wait\":100000000,\"max_deliver\":3}"));
	cfx_sub(fx, c, "d.x", NULL, 1);
	json_decref(cfx_consumer(fx, c, "S", NULL,
	    "{\"deliver_subject\":\"d.x\",\"ack_policy\":\"explicit\",\"ack_wait\":200000000,\"max_deliver\":2,"
	    "\"flow_control\":true,\"idle_heartbeat\":500000000}"));
	cfx_advance(fx, 8 * SEC);
	GPtrArray *all = cfx_take(fx, c);
	GString *s = g_string_new(NULL);
	for (guint k = 0; k < all->len; k++) {
		CfxMsg *m = at(all, k);
		g_string_append_printf(s, "%" G_GINT64_FORMAT " %s %s %s|%s|%s\n", m->at_ns, m->subject, m->sid,
		    m->reply ? m->reply : "-", m->hdr ? m->hdr->str : "", m->data->str);
	}
	g_ptr_array_free(all, TRUE);
	cfx_free(fx);
	return g_string_free(s, FALSE);
}

static void
test_determinism(void)
{
	char *a = transcript(), *b = transcript();
	g_assert_cmpuint(strlen(a), >, 1000);
	g_assert_cmpstr(a, ==, b);
	g_free(a);
	g_free(b);
}

/* The consumer probes count what happened. */
static void
test_probes(void)
{
	Cfx *fx = cfx_new(NULL);
	CfxClient *c = cfx_client(fx);
	cfx_stream(fx, c, "{\"name\":\"S\",\"subjects\":[\"s.>\"],\"storage\":\"memory\"}");
	cfx_pub_n(fx, c, "s.a", 3);
	json_decref(cfx_consumer(fx, c, "S", "D", "{\"durable_name\":\"D\",\"ack_policy\":\"explicit\"}"));
	GPtrArray *m = fetch(fx, c, "S", "D", 3);
	cfx_pub(fx, c, at(m, 1)->reply, NULL, NULL, ""); /* no floor move */
	cfx_pub(fx, c, at(m, 0)->reply, NULL, NULL, ""); /* floor moves */
	cfx_pub(fx, c, at(m, 2)->reply, NULL, NULL, "-NAK");
	fetch_free(m);
	Broker *b = fx->broker;
	g_assert_cmpuint(broker_probe_count(b, BROKER_PROBE_JS_DELIVERED), ==, 3);
	g_assert_cmpuint(broker_probe_count(b, BROKER_PROBE_JS_ACK), ==, 2);
	g_assert_cmpuint(broker_probe_count(b, BROKER_PROBE_JS_ACK_FLOOR_MOVED), ==, 1);
	g_assert_cmpuint(broker_probe_count(b, BROKER_PROBE_JS_NAK), ==, 1);
	g_assert_cmpuint(broker_probe_count(b, BROKER_PROBE_JS_PULL_WAITING), ==, 1);
	cfx_free(fx);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/js/consumer/state/workqueue-removal", test_workqueue_removal);
	g_test_add_func("/js/consumer/state/interest-retention", test_interest_retention);
	g_test_add_func("/js/consumer/state/purge", test_purge);
	g_test_add_func("/js/consumer/state/round-trip", test_state_round_trip);
	g_test_add_func("/js/consumer/state/save-coalescing", test_state_save_coalescing);
	g_test_add_func("/js/consumer/state/ephemeral-restored-then-deleted", test_ephemeral_restored_then_deleted);
	g_test_add_func("/js/consumer/state/determinism", test_determinism);
	g_test_add_func("/js/consumer/state/probes", test_probes);
	return g_test_run();
}
