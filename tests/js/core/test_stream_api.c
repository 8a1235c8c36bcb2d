/*
 * test_stream_api.c - the stream side of JetStream through the wire: the
 * $JS.API router, stream create/update/info/delete/purge/names/list,
 * message get/delete, direct get, publishing into streams (PubAck bytes,
 * dedupe, Nats-Expected-*, rollup, sizes, limits and discard, max_age,
 * interest retention), the account info, /jsz and /varz.
 *
 * Each case drives a broker in-process with raw protocol bytes
 * (js_fixture.c) and checks exact bytes, error codes and times against
 * nats-server's behaviour (NATS-SPEC §2, §3.12; docs/jetstream.md).
 */
#include <glib.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "broker/broker.h"
#include "js_fixture.h"
#include "sim/disk.h"
#include "sim/world.h"

#define CREATE(name) "$JS.API.STREAM.CREATE." name
#define INFO(name) "$JS.API.STREAM.INFO." name

/* Creates a stream from a config body; the reply must be a success. */
static void
create_ok(Fx *fx, FxClient *c, const char *name, const char *body)
{
	char *subject = g_strdup_printf("$JS.API.STREAM.CREATE.%s", name);
	json_t *r = fx_api(fx, c, subject, body);
	g_free(subject);
	g_assert_nonnull(r);
	if (json_object_get(r, "error") != NULL) {
		char *text = fx_dump(r);
		g_error("create %s failed: %s", name, text);
	}
	json_decref(r);
}

/* Publishes with a reply and returns the PubAck text (g_free). */
static char *
publish(Fx *fx, FxClient *c, const char *subject, const char *hdr, const char *data)
{
	char *ack = fx_request_hdr(fx, c, subject, hdr, data);
	g_assert_nonnull(ack);
	return ack;
}

static void
assert_puback(Fx *fx, FxClient *c, const char *subject, const char *hdr, const char *data, const char *want)
{
	char *ack = publish(fx, c, subject, hdr, data);
	g_assert_cmpstr(ack, ==, want);
	g_free(ack);
}

static char *
member_dump(json_t *r, const char *key)
{
	return fx_dump(json_object_get(r, key));
}

/* ---- create, info, delete ---- */

/* A minimal config comes back with every nats-server default, in
 * nats-server's field order; the state of an empty stream has the Go zero
 * time; did_create is true. */
static void
test_create_defaults(void)
{
	Fx *fx = fx_new(NULL);
	FxClient *c = fx_client(fx);
	json_t *r = fx_api(fx, c, CREATE("S1"), "{\"name\":\"S1\"}");
	g_assert_nonnull(r);
	g_assert_cmpstr(json_string_value(json_object_get(r, "type")), ==,
	    "io.nats.jetstream.api.v1.stream_create_response");
	char *cfg = member_dump(r, "config");
	g_assert_cmpstr(cfg, ==,
	    "{\"name\":\"S1\",\"subjects\":[\"S1\"],\"retention\":\"limits\",\"max_consumers\":-1,\"max_msgs\":-1,"
	    "\"max_bytes\":-1,\"max_age\":0,\"max_msgs_per_subject\":-1,\"max_msg_size\":-1,\"discard\":\"old\","
	    "\"storage\":\"file\",\"num_replicas\":1,\"duplicate_window\":120000000000,\"compression\":\"none\","
	    "\"allow_direct\":false,\"mirror_direct\":false,\"sealed\":false,\"deny_delete\":false,\"deny_purge\":false,"
	    "\"allow_rollup_hdrs\":false,\"consumer_limits\":{}}");
	free(cfg);
	char *state = member_dump(r, "state");
	g_assert_cmpstr(state, ==,
	    "{\"messages\":0,\"bytes\":0,\"first_seq\":0,\"first_ts\":\"0001-01-01T00:00:00Z\",\"last_seq\":0,"
	    "\"last_ts\":\"0001-01-01T00:00:00Z\",\"consumer_count\":0}");
	free(state);
	g_assert_true(json_is_true(json_object_get(r, "did_create")));
	g_assert_cmpstr(json_string_value(json_object_get(r, "created")), ==, "2023-11-14T22:13:20Z");
	json_decref(r);

	/* INFO: the paged fields (zero), then the StreamInfo with cluster. */
	r = fx_api(fx, c, INFO("S1"), "");
	g_assert_cmpstr(json_string_value(json_object_get(r, "type")), ==, "io.nats.jetstream.api.v1.stream_info_response");
	g_assert_cmpint(json_integer_value(json_object_get(r, "total")), ==, 0);
	g_assert_nonnull(json_object_get(r, "config"));
	g_assert_nonnull(json_object_get(json_object_get(r, "cluster"), "leader"));
	g_assert_cmpstr(json_string_value(json_object_get(r, "ts")), ==, "2023-11-14T22:13:20Z");
	json_decref(r);
	fx_free(fx);
}

/* STREAM.DELETE answers success, then the stream is gone (10059). */
static void
test_delete(void)
{
	Fx *fx = fx_new(NULL);
	FxClient *c = fx_client(fx);
	create_ok(fx, c, "D", "{\"name\":\"D\",\"storage\":\"memory\"}");
	char *ack = fx_request(fx, c, "$JS.API.STREAM.DELETE.D", "");
	g_assert_cmpstr(ack, ==, "{\"type\":\"io.nats.jetstream.api.v1.stream_delete_response\",\"success\":true}");
	g_free(ack);
	char *d = fx_api_error(fx, c, INFO("D"), "", 10059, 404);
	g_assert_cmpstr(d, ==, "stream not found");
	g_free(d);
	d = fx_api_error(fx, c, "$JS.API.STREAM.DELETE.D", "", 10059, 404);
	g_free(d);
	/* The subject is free again: no stream takes it, so no PubAck. */
	fx_pub(fx, c, "D", "_R.x", NULL, "x");
	GPtrArray *got = fx_take(fx, c);
	g_assert_cmpuint(got->len, ==, 1);
	FxMsg *m = got->pdata[0];
	g_assert_cmpstr(m->hdr->str, ==, "NATS/1.0 503\r\n\r\n");
	g_ptr_array_free(got, TRUE);
	fx_free(fx);
}

/* ---- publishing ---- */

/* PubAck bytes exactly as nats-server writes them, with the space after
 * the comma; stored bytes per the memory store's accounting. */
static void
test_puback_bytes(void)
{
	Fx *fx = fx_new(NULL);
	FxClient *c = fx_client(fx);
	create_ok(fx, c, "P", "{\"name\":\"P\",\"subjects\":[\"p.>\"],\"storage\":\"memory\"}");
	assert_puback(fx, c, "p.a", NULL, "hello", "{\"stream\":\"P\", \"seq\":1}");
	assert_puback(fx, c, "p.b", "NATS/1.0\r\nX: y\r\n\r\n", "hi", "{\"stream\":\"P\", \"seq\":2}");
	g_assert_cmpint(fx_state_int(fx, c, "P", "messages"), ==, 2);
	/* 3+0+5+16 and 3+18+2+16 */
	g_assert_cmpint(fx_state_int(fx, c, "P", "bytes"), ==, 24 + 39);
	g_assert_cmpint(fx_state_int(fx, c, "P", "num_subjects"), ==, 2);
	/* Without a reply nothing is sent back, and it is stored. */
	fx_pub(fx, c, "p.c", NULL, NULL, "x");
	g_assert_cmpint(fx_state_int(fx, c, "P", "last_seq"), ==, 3);
	g_assert_cmpuint(broker_probe_count(fx->broker, BROKER_PROBE_JS_STORED), ==, 3);
	fx_free(fx);
}

/* Expects an error with err_code/code and exactly this description. */
static void
expect_error(Fx *fx, FxClient *c, const char *subject, const char *body, int err_code, int code, const char *text)
{
	char *d = fx_api_error(fx, c, subject, body, err_code, code);
	g_assert_cmpstr(d, ==, text);
	g_free(d);
}

/* Bad bodies: not JSON, empty, wrong field types, unknown enum values
 * are all 10025; unknown fields are ignored. */
static void
test_create_invalid_json(void)
{
	Fx *fx = fx_new(NULL);
	FxClient *c = fx_client(fx);
	expect_error(fx, c, CREATE("S"), "{", 10025, 400, "invalid JSON");
	expect_error(fx, c, CREATE("S"), "", 10025, 400, "invalid JSON");
	expect_error(fx, c, CREATE("S"), "[1]", 10025, 400, "invalid JSON");
	expect_error(fx, c, CREATE("S"), "{\"name\":\"S\",\"max_msgs\":\"x\"}", 10025, 400, "invalid JSON");
	expect_error(fx, c, CREATE("S"), "{\"name\":\"S\",\"max_msgs\":1.5}", 10025, 400, "invalid JSON");
	expect_error(fx, c, CREATE("S"), "{\"name\":\"S\",\"retention\":\"bogus\"}", 10025, 400, "invalid JSON");
	expect_error(fx, c, CREATE("S"), "{\"name\":\"S\",\"storage\":\"Memory\"}", 10025, 400, "invalid JSON");
	expect_error(fx, c, CREATE("S"), "{\"name\":\"S\",\"subjects\":\"a\"}", 10025, 400, "invalid JSON");
	expect_error(fx, c, CREATE("S"), "{\"name\":\"S\",\"max_msg_size\":4294967296}", 10025, 400, "invalid JSON");
	/* discard is the one enum parsed without case; unknown keys pass. */
	json_t *r = fx_api(fx, c, CREATE("S"), "{\"name\":\"S\",\"discard\":\"NEW\",\"whatever\":1,\"storage\":\"memory\"}");
	g_assert_cmpstr(json_string_value(json_object_get(json_object_get(r, "config"), "discard")), ==, "new");
	json_decref(r);
	g_assert_cmpuint(broker_probe_count(fx->broker, BROKER_PROBE_JS_API_ERROR), ==, 9);
	fx_free(fx);
}

/* checkStreamCfg's rules with their exact texts (10052, code 500), and
 * the API-level checks before it. */
static void
test_create_validation(void)
{
	Fx *fx = fx_new(NULL);
	FxClient *c = fx_client(fx);
	expect_error(fx, c, CREATE("S"), "{\"name\":\"T\"}", 10056, 400, "stream name in subject does not match request");
	expect_error(fx, c, CREATE("S"), "{}", 10056, 400, "stream name in subject does not match request");
	expect_error(fx, c, CREATE("a/b"), "{\"name\":\"a/b\"}", 10128, 400, "Stream name can not contain path separators");
	expect_error(fx, c, CREATE("a*"), "{\"name\":\"a*\"}", 10052, 500,
	    "stream name is required and can not contain '.', '*', '>'");
	expect_error(fx, c, CREATE("S"), "{\"name\":\"S\",\"sealed\":true}", 10052, 500,
	    "stream configuration for create can not be sealed");
	expect_error(fx, c, CREATE("S"), "{\"name\":\"S\",\"max_age\":50000000}", 10052, 500, "max age needs to be >= 100ms");
	expect_error(fx, c, CREATE("S"), "{\"name\":\"S\",\"max_age\":1000000000,\"duplicate_window\":2000000000}", 10052,
	    500, "duplicates window can not be larger then max age");
	expect_error(fx, c, CREATE("S"), "{\"name\":\"S\",\"duplicate_window\":1000}", 10052, 500,
	    "duplicates window needs to be >= 100ms");
	expect_error(fx, c, CREATE("S"), "{\"name\":\"S\",\"deny_purge\":true,\"allow_rollup_hdrs\":true}", 10052, 500,
	    "roll-ups require the purge permission");
	expect_error(fx, c, CREATE("S"), "{\"name\":\"S\",\"discard_new_per_subject\":true}", 10052, 500,
	    "discard new per subject requires discard new policy to be set");
	expect_error(fx, c, CREATE("S"), "{\"name\":\"S\",\"discard\":\"new\",\"discard_new_per_subject\":true}", 10052, 500,
	    "discard new per subject requires max msgs per subject > 0");
	expect_error(fx, c, CREATE("S"), "{\"name\":\"S\",\"subjects\":[\"a..b\"]}", 10052, 500, "invalid subject");
	expect_error(fx, c, CREATE("S"), "{\"name\":\"S\",\"subjects\":[\"a\",\"a\"]}", 10052, 500,
	    "duplicate subjects detected");
	expect_error(fx, c, CREATE("S"), "{\"name\":\"S\",\"subjects\":[\"a.b\",\"a.*\"]}", 10052, 500,
	    "subject \"a.b\" overlaps with \"a.*\"");
	expect_error(fx, c, CREATE("S"), "{\"name\":\"S\",\"subjects\":[\">\"]}", 10052, 500,
	    "capturing all subjects requires no-ack to be true");
	expect_error(fx, c, CREATE("S"), "{\"name\":\"S\",\"subjects\":[\"$JS.API.>\"]}", 10052, 500,
	    "subjects that overlap with jetstream api require no-ack to be true");
	expect_error(fx, c, CREATE("S"), "{\"name\":\"S\",\"subjects\":[\"$SYS.x\"]}", 10052, 500,
	    "subjects that overlap with system api require no-ack to be true");
	expect_error(fx, c, CREATE("S"), "{\"name\":\"S\",\"num_replicas\":3}", 10074, 500,
	    "replicas > 1 not supported in non-clustered mode");
	expect_error(fx, c, CREATE("S"), "{\"name\":\"S\",\"num_replicas\":-1}", 10133, 400,
	    "replicas count cannot be negative");
	/* $JS.EVENT.> may be captured without no_ack. */
	create_ok(fx, c, "EV", "{\"name\":\"EV\",\"subjects\":[\"$JS.EVENT.ADVISORY.STREAM.>\"],\"storage\":\"memory\"}");
	/* max_age below 2 min becomes the duplicate window. */
	json_t *r = fx_api(fx, c, CREATE("AGE"), "{\"name\":\"AGE\",\"max_age\":5000000000}");
	g_assert_cmpint(json_integer_value(json_object_get(json_object_get(r, "config"), "duplicate_window")), ==,
	    5000000000);
	json_decref(r);
	fx_free(fx);
}

/* An identical re-create succeeds again with did_create; a different one
 * is 10058; another stream on overlapping subjects is 10065. */
static void
test_recreate_and_overlap(void)
{
	Fx *fx = fx_new(NULL);
	FxClient *c = fx_client(fx);
	create_ok(fx, c, "A", "{\"name\":\"A\",\"subjects\":[\"a.*\"],\"storage\":\"memory\"}");
	fx_pub(fx, c, "a.1", NULL, NULL, "x");
	json_t *r = fx_api(fx, c, CREATE("A"), "{\"name\":\"A\",\"subjects\":[\"a.*\"],\"storage\":\"memory\",\"max_msgs\":0}");
	g_assert_null(json_object_get(r, "error"));
	g_assert_true(json_is_true(json_object_get(r, "did_create")));
	g_assert_cmpint(json_integer_value(json_object_get(json_object_get(r, "state"), "messages")), ==, 1);
	json_decref(r);
	expect_error(fx, c, CREATE("A"), "{\"name\":\"A\",\"subjects\":[\"a.*\"],\"storage\":\"memory\",\"max_msgs\":5}",
	    10058, 400, "stream name already in use with a different configuration");
	expect_error(fx, c, CREATE("B"), "{\"name\":\"B\",\"subjects\":[\"a.b\"]}", 10065, 400,
	    "subjects overlap with an existing stream");
	expect_error(fx, c, CREATE("C"), "{\"name\":\"C\",\"subjects\":[\">\"],\"no_ack\":true}", 10065, 400,
	    "subjects overlap with an existing stream");
	create_ok(fx, c, "B", "{\"name\":\"B\",\"subjects\":[\"a\"]}"); /* "a" does not match "a.*" */
	fx_free(fx);
}

/* Update: limits, subjects and discard may change; storage, retention
 * to/from workqueue, max_consumers may not; sealed/deny flags only go
 * one way; a missing stream is 10059. */
static void
test_update_rules(void)
{
	Fx *fx = fx_new(NULL);
	FxClient *c = fx_client(fx);
	create_ok(fx, c, "U", "{\"name\":\"U\",\"subjects\":[\"u.*\"],\"storage\":\"memory\",\"deny_delete\":true}");
	const char *up = "$JS.API.STREAM.UPDATE.U";
	expect_error(fx, c, up, "{\"name\":\"U\",\"subjects\":[\"u.*\"],\"storage\":\"file\",\"deny_delete\":true}", 10052,
	    500, "stream configuration update can not change storage type");
	expect_error(fx, c, up,
	    "{\"name\":\"U\",\"subjects\":[\"u.*\"],\"storage\":\"memory\",\"deny_delete\":true,\"retention\":\"workqueue\"}",
	    10052, 500, "stream configuration update can not change retention policy to/from workqueue");
	expect_error(fx, c, up,
	    "{\"name\":\"U\",\"subjects\":[\"u.*\"],\"storage\":\"memory\",\"deny_delete\":true,\"max_consumers\":3}", 10052,
	    500, "stream configuration update can not change MaxConsumers");
	expect_error(fx, c, up, "{\"name\":\"U\",\"subjects\":[\"u.*\"],\"storage\":\"memory\"}", 10052, 500,
	    "stream configuration update can not cancel deny message deletes");
	expect_error(fx, c, "$JS.API.STREAM.UPDATE.NOPE", "{\"name\":\"NOPE\"}", 10059, 404, "stream not found");
	expect_error(fx, c, up, "{\"name\":\"X\"}", 10056, 400, "stream name in subject does not match request");
	expect_error(fx, c, up, "nope", 10025, 400, "invalid JSON");
	/* Allowed: new subjects (the old ones stop capturing), limits. */
	for (int k = 0; k < 5; k++)
		fx_pub(fx, c, "u.a", NULL, NULL, "x");
	json_t *r = fx_api(fx, c, up,
	    "{\"name\":\"U\",\"subjects\":[\"v.*\"],\"storage\":\"memory\",\"deny_delete\":true,\"max_msgs\":2,\"sealed\":false}");
	g_assert_null(json_object_get(r, "error"));
	g_assert_cmpstr(json_string_value(json_object_get(r, "type")), ==, "io.nats.jetstream.api.v1.stream_update_response");
	/* The lower max_msgs applies at once (discard old). */
	g_assert_cmpint(json_integer_value(json_object_get(json_object_get(r, "state"), "messages")), ==, 2);
	g_assert_cmpint(json_integer_value(json_object_get(json_object_get(r, "state"), "first_seq")), ==, 4);
	g_assert_null(json_object_get(r, "did_create"));
	json_decref(r);
	fx_pub(fx, c, "u.a", NULL, NULL, "x");
	fx_pub(fx, c, "v.a", NULL, NULL, "x");
	g_assert_cmpint(fx_state_int(fx, c, "U", "last_seq"), ==, 6);
	/* Sealing: no more messages in, no purge, no delete, no unseal. */
	r = fx_api(fx, c, up, "{\"name\":\"U\",\"subjects\":[\"v.*\"],\"storage\":\"memory\",\"deny_delete\":true,"
			     "\"max_msgs\":2,\"sealed\":true}");
	json_t *cfg = json_object_get(r, "config");
	g_assert_true(json_is_true(json_object_get(cfg, "sealed")));
	g_assert_true(json_is_true(json_object_get(cfg, "deny_purge")));
	g_assert_cmpstr(json_string_value(json_object_get(cfg, "discard")), ==, "new");
	json_decref(r);
	char *ack = publish(fx, c, "v.a", NULL, "x");
	g_assert_cmpstr(ack, ==,
	    "{\"error\":{\"code\":400,\"err_code\":10109,\"description\":\"invalid operation on sealed stream\"},"
	    "\"stream\":\"U\",\"seq\":0}");
	g_free(ack);
	expect_error(fx, c, "$JS.API.STREAM.PURGE.U", "", 10109, 400, "invalid operation on sealed stream");
	expect_error(fx, c, up, "{\"name\":\"U\",\"subjects\":[\"v.*\"],\"storage\":\"memory\",\"deny_delete\":true,"
				"\"deny_purge\":true}",
	    10052, 500, "stream configuration update can not unseal a sealed stream");
	fx_free(fx);
}

/* ---- the router ---- */

/* Subjects no handler takes get no answer (nats-server's apiDispatch:
 * its bad-request branch does not run for requests that come through the
 * $JS.API import); system-level subjects are ignored; a request without a
 * reply is still carried out. */
static void
test_router_unknown_and_no_reply(void)
{
	Fx *fx = fx_new(NULL);
	FxClient *c = fx_client(fx);
	const char *unknown[] = { "$JS.API.STREAM.FOO", "$JS.API.STREAM.CREATE.a.b", "$JS.API.STREAM.CREATE",
		"$JS.API.NOPE", "$JS.API.CONSUMER.FOO.S" };
	for (size_t k = 0; k < G_N_ELEMENTS(unknown); k++) {
		char *text = fx_request(fx, c, unknown[k], "{}");
		g_assert_null(text);
	}
	/* An empty token matches no subscription at all: no responders. */
	char *status = fx_request(fx, c, "$JS.API.STREAM.INFO.", "");
	g_assert_cmpstr(status, ==, "");
	g_free(status);
	char *none = fx_request(fx, c, "$JS.API.META.LEADER.STEPDOWN", "");
	g_assert_null(none);
	none = fx_request(fx, c, "$JS.API.ACCOUNT.PURGE.x", "");
	g_assert_null(none);
	/* No reply: nothing comes back, but the stream is created. */
	fx_pub(fx, c, CREATE("Q"), NULL, NULL, "{\"name\":\"Q\"}");
	GPtrArray *got = fx_take(fx, c);
	g_assert_cmpuint(got->len, ==, 0);
	g_ptr_array_free(got, TRUE);
	g_assert_cmpint(fx_state_int(fx, c, "Q", "messages"), ==, 0);
	fx_free(fx);
}

/* $JS.API.INFO: usage, counts, unlimited account limits, and the api
 * counters (this request not yet counted). */
static void
test_account_info(void)
{
	Fx *fx = fx_new(NULL);
	FxClient *c = fx_client(fx);
	create_ok(fx, c, "M", "{\"name\":\"M\",\"storage\":\"memory\"}");
	create_ok(fx, c, "F", "{\"name\":\"F\"}");
	fx_pub(fx, c, "M", NULL, NULL, "hello");
	char *d = fx_api_error(fx, c, INFO("NOPE"), "", 10059, 404);
	g_free(d);
	char *text = fx_request(fx, c, "$JS.API.INFO", "");
	g_assert_cmpstr(text, ==,
	    "{\"type\":\"io.nats.jetstream.api.v1.account_info_response\",\"memory\":22,\"storage\":0,"
	    "\"reserved_memory\":0,\"reserved_storage\":0,\"streams\":2,\"consumers\":0,\"limits\":{\"max_memory\":-1,"
	    "\"max_storage\":-1,\"max_streams\":-1,\"max_consumers\":-1,\"max_ack_pending\":-1,"
	    "\"memory_max_stream_bytes\":-1,\"storage_max_stream_bytes\":-1,\"max_bytes_required\":false},"
	    "\"api\":{\"total\":3,\"errors\":1}}");
	g_free(text);
	fx_free(fx);
}

#define MSGID(id) "NATS/1.0\r\nNats-Msg-Id: " id "\r\n\r\n"

/* Nats-Msg-Id: a duplicate is not stored and its PubAck carries the
 * original seq with the duplicate flag; the id stays a duplicate until
 * the sweep timer (set a window after the first id was stored) drops it. */
static void
test_dedupe_window(void)
{
	Fx *fx = fx_new(NULL);
	FxClient *c = fx_client(fx);
	int64_t t0 = fx->now_ns;
	create_ok(fx, c, "D", "{\"name\":\"D\",\"storage\":\"memory\",\"duplicate_window\":1000000000}");
	assert_puback(fx, c, "D", MSGID("a"), "1", "{\"stream\":\"D\", \"seq\":1}");
	fx_advance_to(fx, t0 + 500 * FX_MS);
	assert_puback(fx, c, "D", MSGID("b"), "2", "{\"stream\":\"D\", \"seq\":2}");
	assert_puback(fx, c, "D", MSGID("a"), "3", "{\"stream\":\"D\", \"seq\":1,\"duplicate\": true}");
	fx_advance_to(fx, t0 + 999 * FX_MS);
	assert_puback(fx, c, "D", MSGID("a"), "4", "{\"stream\":\"D\", \"seq\":1,\"duplicate\": true}");
	/* The sweep at t0+1s drops "a" (a full window old), keeps "b" and
	 * re-arms for t0+1.5s. */
	fx_advance_to(fx, t0 + 1000 * FX_MS);
	assert_puback(fx, c, "D", MSGID("a"), "5", "{\"stream\":\"D\", \"seq\":3}");
	fx_advance_to(fx, t0 + 1499 * FX_MS);
	assert_puback(fx, c, "D", MSGID("b"), "6", "{\"stream\":\"D\", \"seq\":2,\"duplicate\": true}");
	fx_advance_to(fx, t0 + 1500 * FX_MS);
	assert_puback(fx, c, "D", MSGID("b"), "7", "{\"stream\":\"D\", \"seq\":4}");
	g_assert_cmpint(fx_state_int(fx, c, "D", "messages"), ==, 4);
	g_assert_cmpuint(broker_probe_count(fx->broker, BROKER_PROBE_JS_DEDUPE), ==, 3);
	fx_free(fx);
}

#define HDR1(k, v) "NATS/1.0\r\n" k ": " v "\r\n\r\n"

static void
assert_puback_error(Fx *fx, FxClient *c, const char *subject, const char *hdr, int code, int err_code,
    const char *description, const char *stream)
{
	char *want = g_strdup_printf("{\"error\":{\"code\":%d,\"err_code\":%d,\"description\":\"%s\"},\"stream\":\"%s\","
				     "\"seq\":0}",
	    code, err_code, description, stream);
	assert_puback(fx, c, subject, hdr, "x", want);
	g_free(want);
}

/* Each Nats-Expected-* header, passing and failing, with the error texts
 * carrying the actual value; a message without a Msg-Id resets the last
 * msg id. */
static void
test_expected_headers(void)
{
	Fx *fx = fx_new(NULL);
	FxClient *c = fx_client(fx);
	create_ok(fx, c, "E", "{\"name\":\"E\",\"subjects\":[\"e.*\"],\"storage\":\"memory\"}");
	assert_puback_error(fx, c, "e.a", HDR1("Nats-Expected-Stream", "OTHER"), 400, 10060, "expected stream does not match",
	    "E");
	assert_puback(fx, c, "e.a", HDR1("Nats-Expected-Stream", "E"), "x", "{\"stream\":\"E\", \"seq\":1}");
	/* Last subject sequence: 0 means "none yet". */
	assert_puback(fx, c, "e.b", HDR1("Nats-Expected-Last-Subject-Sequence", "0"), "x", "{\"stream\":\"E\", \"seq\":2}");
	assert_puback_error(fx, c, "e.b", HDR1("Nats-Expected-Last-Subject-Sequence", "0"), 400, 10071,
	    "wrong last sequence: 2", "E");
	assert_puback(fx, c, "e.b", HDR1("Nats-Expected-Last-Subject-Sequence", "2"), "x", "{\"stream\":\"E\", \"seq\":3}");
	assert_puback_error(fx, c, "e.a", HDR1("Nats-Expected-Last-Subject-Sequence", "junk"), 400, 10071,
	    "wrong last sequence: 1", "E");
	/* Last sequence of the stream. */
	assert_puback_error(fx, c, "e.c", HDR1("Nats-Expected-Last-Sequence", "2"), 400, 10071, "wrong last sequence: 3",
	    "E");
	assert_puback(fx, c, "e.c", HDR1("Nats-Expected-Last-Sequence", "3"), "x", "{\"stream\":\"E\", \"seq\":4}");
	/* Last msg id: must be the id of the very last stored message. */
	assert_puback(fx, c, "e.c", MSGID("m1"), "x", "{\"stream\":\"E\", \"seq\":5}");
	assert_puback(fx, c, "e.c", HDR1("Nats-Expected-Last-Msg-Id", "m1"), "x", "{\"stream\":\"E\", \"seq\":6}");
	assert_puback_error(fx, c, "e.c", HDR1("Nats-Expected-Last-Msg-Id", "m1"), 400, 10070, "wrong last msg ID: ", "E");
	assert_puback(fx, c, "e.c", MSGID("m2"), "x", "{\"stream\":\"E\", \"seq\":7}");
	assert_puback_error(fx, c, "e.c", HDR1("Nats-Expected-Last-Msg-Id", "m1"), 400, 10070, "wrong last msg ID: m2",
	    "E");
	g_assert_cmpint(fx_state_int(fx, c, "E", "messages"), ==, 7);
	g_assert_cmpuint(broker_probe_count(fx->broker, BROKER_PROBE_JS_EXPECTED_FAILED), ==, 6);
	fx_free(fx);
}

/* Nats-Rollup needs allow_rollup_hdrs (10111); "sub" keeps only the new
 * message of its subject, "all" only the new message; an unknown value
 * is dropped without a reply. */
static void
test_rollup(void)
{
	Fx *fx = fx_new(NULL);
	FxClient *c = fx_client(fx);
	create_ok(fx, c, "NR", "{\"name\":\"NR\",\"subjects\":[\"nr\"],\"storage\":\"memory\"}");
	assert_puback_error(fx, c, "nr", HDR1("Nats-Rollup", "sub"), 500, 10111, "rollup not permitted", "NR");
	create_ok(fx, c, "R", "{\"name\":\"R\",\"subjects\":[\"r.*\"],\"storage\":\"memory\",\"allow_rollup_hdrs\":true}");
	for (int k = 0; k < 3; k++) {
		fx_pub(fx, c, "r.a", NULL, NULL, "x");
		fx_pub(fx, c, "r.b", NULL, NULL, "x");
	}
	assert_puback(fx, c, "r.a", HDR1("Nats-Rollup", "sub"), "x", "{\"stream\":\"R\", \"seq\":7}");
	g_assert_cmpint(fx_state_int(fx, c, "R", "messages"), ==, 4); /* 3 r.b + the rollup */
	g_assert_cmpint(fx_state_int(fx, c, "R", "first_seq"), ==, 2);
	assert_puback(fx, c, "r.b", HDR1("Nats-Rollup", "ALL"), "x", "{\"stream\":\"R\", \"seq\":8}");
	g_assert_cmpint(fx_state_int(fx, c, "R", "messages"), ==, 1);
	g_assert_cmpint(fx_state_int(fx, c, "R", "first_seq"), ==, 8);
	char *none = fx_request_hdr(fx, c, "r.a", HDR1("Nats-Rollup", "bogus"), "x");
	g_assert_null(none);
	g_assert_cmpint(fx_state_int(fx, c, "R", "last_seq"), ==, 8);
	g_assert_cmpuint(broker_probe_count(fx->broker, BROKER_PROBE_JS_ROLLUP), ==, 2);
	fx_free(fx);
}

/* max_msg_size counts headers and payload (10054); no_ack streams never
 * answer. */
static void
test_sizes_and_no_ack(void)
{
	Fx *fx = fx_new(NULL);
	FxClient *c = fx_client(fx);
	create_ok(fx, c, "Z", "{\"name\":\"Z\",\"storage\":\"memory\",\"max_msg_size\":20}");
	assert_puback(fx, c, "Z", NULL, "12345678901234567890", "{\"stream\":\"Z\", \"seq\":1}");
	char *ack = publish(fx, c, "Z", NULL, "123456789012345678901");
	g_assert_cmpstr(ack, ==,
	    "{\"error\":{\"code\":400,\"err_code\":10054,\"description\":\"message size exceeds maximum allowed\"},"
	    "\"stream\":\"Z\",\"seq\":0}");
	g_free(ack);
	ack = publish(fx, c, "Z", "NATS/1.0\r\nA: b\r\n\r\n", "1234");
	g_assert_true(strstr(ack, "\"err_code\":10054") != NULL);
	g_free(ack);
	create_ok(fx, c, "NA", "{\"name\":\"NA\",\"storage\":\"memory\",\"no_ack\":true}");
	char *none = fx_request(fx, c, "NA", "x");
	g_assert_null(none);
	g_assert_cmpint(fx_state_int(fx, c, "NA", "messages"), ==, 1);
	fx_free(fx);
}

/* Discard old: after each store the oldest go until max_msgs, max_bytes
 * and the per-subject limit hold (NATS-SPEC §3.12: max_msgs 3 → first_seq
 * 3 after 5 publishes). */
static void
test_limits_discard_old(void)
{
	Fx *fx = fx_new(NULL);
	FxClient *c = fx_client(fx);
	create_ok(fx, c, "L", "{\"name\":\"L\",\"subjects\":[\"l.*\"],\"storage\":\"memory\",\"max_msgs\":3}");
	for (int k = 0; k < 5; k++)
		fx_pub(fx, c, "l.a", NULL, NULL, "x");
	g_assert_cmpint(fx_state_int(fx, c, "L", "first_seq"), ==, 3);
	g_assert_cmpint(fx_state_int(fx, c, "L", "messages"), ==, 3);
	g_assert_cmpuint(broker_probe_count(fx->broker, BROKER_PROBE_JS_DISCARD_OLD), ==, 2);
	/* max_bytes: each message is 1+10+16 = 27 bytes; 100 holds 3. */
	create_ok(fx, c, "B", "{\"name\":\"B\",\"subjects\":[\"b\"],\"storage\":\"memory\",\"max_bytes\":100}");
	for (int k = 0; k < 4; k++)
		fx_pub(fx, c, "b", NULL, NULL, "0123456789");
	g_assert_cmpint(fx_state_int(fx, c, "B", "messages"), ==, 3);
	g_assert_cmpint(fx_state_int(fx, c, "B", "bytes"), ==, 81);
	g_assert_cmpint(fx_state_int(fx, c, "B", "first_seq"), ==, 2);
	/* Per subject: the subject's own oldest goes. */
	create_ok(fx, c, "P", "{\"name\":\"P\",\"subjects\":[\"p.*\"],\"storage\":\"memory\",\"max_msgs_per_subject\":2}");
	fx_pub(fx, c, "p.a", NULL, NULL, "1");
	fx_pub(fx, c, "p.b", NULL, NULL, "2");
	fx_pub(fx, c, "p.a", NULL, NULL, "3");
	fx_pub(fx, c, "p.a", NULL, NULL, "4");
	g_assert_cmpint(fx_state_int(fx, c, "P", "messages"), ==, 3);
	g_assert_cmpint(fx_state_int(fx, c, "P", "first_seq"), ==, 2);
	fx_free(fx);
}

/* Discard new rejects with 10077 (code 503) and the store's text; the
 * byte check counts the new message with its stored size and trips only
 * when the limit would be passed (nats-server 2.14); the per-subject
 * limit still evicts under discard new unless discard_new_per_subject. */
static void
test_limits_discard_new(void)
{
	Fx *fx = fx_new(NULL);
	FxClient *c = fx_client(fx);
	create_ok(fx, c, "N", "{\"name\":\"N\",\"subjects\":[\"n.*\"],\"storage\":\"memory\",\"max_msgs\":2,\"discard\":\"new\"}");
	assert_puback(fx, c, "n.a", NULL, "x", "{\"stream\":\"N\", \"seq\":1}");
	assert_puback(fx, c, "n.a", NULL, "x", "{\"stream\":\"N\", \"seq\":2}");
	assert_puback_error(fx, c, "n.a", NULL, 503, 10077, "maximum messages exceeded", "N");
	/* 1+10+16 = 27 bytes each: 81 <= 81 fits, 108 > 81 does not. */
	create_ok(fx, c, "B", "{\"name\":\"B\",\"storage\":\"memory\",\"max_bytes\":81,\"discard\":\"new\"}");
	for (int k = 1; k <= 3; k++) {
		char *want = g_strdup_printf("{\"stream\":\"B\", \"seq\":%d}", k);
		assert_puback(fx, c, "B", NULL, "0123456789", want);
		g_free(want);
	}
	char *ack = publish(fx, c, "B", NULL, "0123456789");
	g_assert_cmpstr(ack, ==,
	    "{\"error\":{\"code\":503,\"err_code\":10077,\"description\":\"maximum bytes exceeded\"},\"stream\":\"B\","
	    "\"seq\":0}");
	g_free(ack);
	g_assert_cmpint(fx_state_int(fx, c, "B", "messages"), ==, 3);
	/* Per subject under discard new: the oldest of the subject goes... */
	create_ok(fx, c, "PS", "{\"name\":\"PS\",\"subjects\":[\"ps.*\"],\"storage\":\"memory\",\"discard\":\"new\","
			       "\"max_msgs_per_subject\":1,\"max_msgs\":2}");
	assert_puback(fx, c, "ps.a", NULL, "x", "{\"stream\":\"PS\", \"seq\":1}");
	assert_puback(fx, c, "ps.b", NULL, "x", "{\"stream\":\"PS\", \"seq\":2}");
	/* ... even at max_msgs, since one is replaced. */
	assert_puback(fx, c, "ps.a", NULL, "x", "{\"stream\":\"PS\", \"seq\":3}");
	g_assert_cmpint(fx_state_int(fx, c, "PS", "first_seq"), ==, 2);
	assert_puback_error(fx, c, "ps.c", NULL, 503, 10077, "maximum messages exceeded", "PS");
	/* ... unless discard_new_per_subject. */
	create_ok(fx, c, "PN", "{\"name\":\"PN\",\"subjects\":[\"pn.*\"],\"storage\":\"memory\",\"discard\":\"new\","
			       "\"max_msgs_per_subject\":1,\"discard_new_per_subject\":true}");
	assert_puback(fx, c, "pn.a", NULL, "x", "{\"stream\":\"PN\", \"seq\":1}");
	assert_puback_error(fx, c, "pn.a", NULL, 503, 10077, "maximum messages per subject exceeded", "PN");
	assert_puback(fx, c, "pn.b", NULL, "x", "{\"stream\":\"PN\", \"seq\":2}");
	g_assert_cmpuint(broker_probe_count(fx->broker, BROKER_PROBE_JS_DISCARD_NEW), ==, 4);
	fx_free(fx);
}

/* max_age: the timer fires at the oldest's time + max_age and removes
 * every message with ts <= now - max_age (NATS-SPEC §3.12: msgs at 0 and
 * 0.5 s → 2 at 0.5, 1 at 1.0, 0 at 1.5), then stops until a new store. */
static void
test_max_age_exact_times(void)
{
	Fx *fx = fx_new(NULL);
	FxClient *c = fx_client(fx);
	int64_t t0 = fx->now_ns;
	create_ok(fx, c, "A", "{\"name\":\"A\",\"storage\":\"memory\",\"max_age\":1000000000}");
	fx_pub(fx, c, "A", NULL, NULL, "1");
	fx_advance_to(fx, t0 + 500 * FX_MS);
	fx_pub(fx, c, "A", NULL, NULL, "2");
	g_assert_cmpint(fx_state_int(fx, c, "A", "messages"), ==, 2);
	fx_advance_to(fx, t0 + 999 * FX_MS);
	g_assert_cmpint(fx_state_int(fx, c, "A", "messages"), ==, 2);
	fx_advance_to(fx, t0 + 1000 * FX_MS);
	g_assert_cmpint(fx_state_int(fx, c, "A", "messages"), ==, 1);
	g_assert_cmpint(fx_state_int(fx, c, "A", "first_seq"), ==, 2);
	fx_advance_to(fx, t0 + 1499 * FX_MS);
	g_assert_cmpint(fx_state_int(fx, c, "A", "messages"), ==, 1);
	fx_advance_to(fx, t0 + 1500 * FX_MS);
	g_assert_cmpint(fx_state_int(fx, c, "A", "messages"), ==, 0);
	g_assert_cmpint(fx_state_int(fx, c, "A", "first_seq"), ==, 3);
	g_assert_cmpint(fx_state_int(fx, c, "A", "last_seq"), ==, 2);
	g_assert_cmpuint(broker_probe_count(fx->broker, BROKER_PROBE_JS_EXPIRED), ==, 2);
	/* Empty: no timer; the next store starts it again from its time. */
	fx_advance_to(fx, t0 + 5 * FX_S);
	fx_pub(fx, c, "A", NULL, NULL, "3");
	fx_advance_to(fx, t0 + 6 * FX_S - 1);
	g_assert_cmpint(fx_state_int(fx, c, "A", "messages"), ==, 1);
	fx_advance_to(fx, t0 + 6 * FX_S);
	g_assert_cmpint(fx_state_int(fx, c, "A", "messages"), ==, 0);
	fx_free(fx);
}

/* Interest retention with no consumer: the publish uses up its sequence,
 * gets a PubAck, and nothing is stored (first 2, last 1, 0 messages). */
static void
test_interest_no_consumer_skips(void)
{
	Fx *fx = fx_new(NULL);
	FxClient *c = fx_client(fx);
	create_ok(fx, c, "I", "{\"name\":\"I\",\"subjects\":[\"i.*\"],\"storage\":\"memory\",\"retention\":\"interest\"}");
	assert_puback(fx, c, "i.a", NULL, "x", "{\"stream\":\"I\", \"seq\":1}");
	g_assert_cmpint(fx_state_int(fx, c, "I", "first_seq"), ==, 2);
	g_assert_cmpint(fx_state_int(fx, c, "I", "last_seq"), ==, 1);
	g_assert_cmpint(fx_state_int(fx, c, "I", "messages"), ==, 0);
	/* A skipped id still dedupes. */
	assert_puback(fx, c, "i.a", MSGID("k"), "x", "{\"stream\":\"I\", \"seq\":2}");
	assert_puback(fx, c, "i.a", MSGID("k"), "x", "{\"stream\":\"I\", \"seq\":2,\"duplicate\": true}");
	g_assert_cmpuint(broker_probe_count(fx->broker, BROKER_PROBE_JS_NO_INTEREST_SKIP), ==, 2);
	fx_free(fx);
}

/* Purge: {} empties (first = last+1); filter; keep; seq; seq with keep
 * is 10003; deny_purge 10110. */
static void
test_purge_variants(void)
{
	Fx *fx = fx_new(NULL);
	FxClient *c = fx_client(fx);
	create_ok(fx, c, "P", "{\"name\":\"P\",\"subjects\":[\"p.*\"],\"storage\":\"memory\"}");
	for (int k = 0; k < 10; k++)
		fx_pub(fx, c, k % 2 ? "p.odd" : "p.even", NULL, NULL, "x");
	const char *purge = "$JS.API.STREAM.PURGE.P";
	expect_error(fx, c, purge, "{\"seq\":3,\"keep\":1}", 10003, 400, "bad request");
	expect_error(fx, c, purge, "{\"seq\":\"x\"}", 10025, 400, "invalid JSON");
	expect_error(fx, c, "$JS.API.STREAM.PURGE.NOPE", "", 10059, 404, "stream not found");
	char *r = fx_request(fx, c, purge, "{\"filter\":\"p.odd\",\"keep\":2}");
	g_assert_cmpstr(r, ==, "{\"type\":\"io.nats.jetstream.api.v1.stream_purge_response\",\"success\":true,\"purged\":3}");
	g_free(r);
	g_assert_cmpint(fx_state_int(fx, c, "P", "messages"), ==, 7);
	r = fx_request(fx, c, purge, "{\"seq\":5}");
	g_assert_cmpstr(r, ==, "{\"type\":\"io.nats.jetstream.api.v1.stream_purge_response\",\"success\":true,\"purged\":2}");
	g_free(r);
	g_assert_cmpint(fx_state_int(fx, c, "P", "first_seq"), ==, 5);
	r = fx_request(fx, c, purge, "{\"keep\":2}");
	g_assert_true(strstr(r, "\"purged\":3") != NULL);
	g_free(r);
	g_assert_cmpint(fx_state_int(fx, c, "P", "first_seq"), ==, 9);
	r = fx_request(fx, c, purge, "");
	g_assert_true(strstr(r, "\"purged\":2") != NULL);
	g_free(r);
	g_assert_cmpint(fx_state_int(fx, c, "P", "first_seq"), ==, 11);
	g_assert_cmpint(fx_state_int(fx, c, "P", "last_seq"), ==, 10);
	g_assert_cmpuint(broker_probe_count(fx->broker, BROKER_PROBE_JS_PURGE), ==, 4);
	create_ok(fx, c, "DP", "{\"name\":\"DP\",\"storage\":\"memory\",\"deny_purge\":true}");
	expect_error(fx, c, "$JS.API.STREAM.PURGE.DP", "", 10110, 500, "stream purge not permitted");
	fx_free(fx);
}

/* MSG.GET by seq, last_by_subj and next_by_subj, with base64 bodies and
 * the stored time; the error cases. */
static void
test_msg_get(void)
{
	Fx *fx = fx_new(NULL);
	FxClient *c = fx_client(fx);
	create_ok(fx, c, "G", "{\"name\":\"G\",\"subjects\":[\"g.*\"],\"storage\":\"memory\"}");
	fx_pub(fx, c, "g.a", NULL, "NATS/1.0\r\nK: v\r\n\r\n", "hello");
	fx_advance(fx, 1500 * FX_MS);
	fx_pub(fx, c, "g.b", NULL, NULL, "");
	fx_pub(fx, c, "g.a", NULL, NULL, "3");
	const char *get = "$JS.API.STREAM.MSG.GET.G";
	char *r = fx_request(fx, c, get, "{\"seq\":1}");
	g_assert_cmpstr(r, ==,
	    "{\"type\":\"io.nats.jetstream.api.v1.stream_msg_get_response\",\"message\":{\"subject\":\"g.a\",\"seq\":1,"
	    "\"hdrs\":\"TkFUUy8xLjANCks6IHYNCg0K\",\"data\":\"aGVsbG8=\",\"time\":\"2023-11-14T22:13:20Z\"}}");
	g_free(r);
	r = fx_request(fx, c, get, "{\"last_by_subj\":\"g.b\"}");
	g_assert_cmpstr(r, ==,
	    "{\"type\":\"io.nats.jetstream.api.v1.stream_msg_get_response\",\"message\":{\"subject\":\"g.b\",\"seq\":2,"
	    "\"time\":\"2023-11-14T22:13:21.5Z\"}}");
	g_free(r);
	json_t *j = fx_api(fx, c, get, "{\"next_by_subj\":\"g.a\",\"seq\":2}");
	g_assert_cmpint(json_integer_value(json_object_get(json_object_get(j, "message"), "seq")), ==, 3);
	json_decref(j);
	j = fx_api(fx, c, get, "{\"last_by_subj\":\"g.*\"}");
	g_assert_cmpint(json_integer_value(json_object_get(json_object_get(j, "message"), "seq")), ==, 3);
	json_decref(j);
	expect_error(fx, c, get, "", 10003, 400, "bad request");
	expect_error(fx, c, get, "{}", 10003, 400, "bad request");
	expect_error(fx, c, get, "{\"seq\":1,\"last_by_subj\":\"g.a\"}", 10003, 400, "bad request");
	expect_error(fx, c, get, "{\"last_by_subj\":\"g.a\",\"next_by_subj\":\"g.a\"}", 10003, 400, "bad request");
	expect_error(fx, c, get, "{\"seq\":9}", 10037, 404, "no message found");
	expect_error(fx, c, get, "{\"seq\":\"1\"}", 10025, 400, "invalid JSON");
	expect_error(fx, c, "$JS.API.STREAM.MSG.GET.NOPE", "{\"seq\":1}", 10059, 404, "stream not found");
	fx_free(fx);
}

/* MSG.DELETE erases or just removes; a missing message is 10043 on a
 * memory stream and 10057 on a file stream; deny_delete is 10057. */
static void
test_msg_delete(void)
{
	Fx *fx = fx_new(NULL);
	FxClient *c = fx_client(fx);
	create_ok(fx, c, "M", "{\"name\":\"M\",\"storage\":\"memory\"}");
	create_ok(fx, c, "F", "{\"name\":\"F\"}"); /* file storage, kept in memory: no storage configured */
	for (int k = 0; k < 3; k++) {
		fx_pub(fx, c, "M", NULL, NULL, "x");
		fx_pub(fx, c, "F", NULL, NULL, "x");
	}
	const char *del = "$JS.API.STREAM.MSG.DELETE.M";
	char *r = fx_request(fx, c, del, "{\"seq\":2}");
	g_assert_cmpstr(r, ==, "{\"type\":\"io.nats.jetstream.api.v1.stream_msg_delete_response\",\"success\":true}");
	g_free(r);
	r = fx_request(fx, c, del, "{\"seq\":1,\"no_erase\":true}");
	g_free(r);
	g_assert_cmpint(fx_state_int(fx, c, "M", "first_seq"), ==, 3);
	expect_error(fx, c, del, "{\"seq\":2}", 10043, 400, "sequence 2 not found");
	expect_error(fx, c, del, "", 10003, 400, "bad request");
	expect_error(fx, c, "$JS.API.STREAM.MSG.DELETE.F", "{\"seq\":9}", 10057, 500, "stream store EOF");
	r = fx_request(fx, c, "$JS.API.STREAM.MSG.DELETE.F", "{\"seq\":2}");
	g_free(r);
	expect_error(fx, c, "$JS.API.STREAM.MSG.DELETE.F", "{\"seq\":2}", 10057, 500, "no message found");
	/* Interior delete: num_deleted and the deleted list. */
	json_t *info = fx_api(fx, c, INFO("F"), "{\"deleted_details\":true}");
	char *state = member_dump(info, "state");
	g_assert_true(strstr(state, "\"num_deleted\":1,\"deleted\":[2]") != NULL);
	free(state);
	json_decref(info);
	create_ok(fx, c, "DD", "{\"name\":\"DD\",\"storage\":\"memory\",\"deny_delete\":true}");
	fx_pub(fx, c, "DD", NULL, NULL, "x");
	expect_error(fx, c, "$JS.API.STREAM.MSG.DELETE.DD", "{\"seq\":1}", 10057, 500, "message delete not permitted");
	fx_free(fx);
}

/* DIRECT.GET answers only with allow_direct: the message with Nats-*
 * headers added, 404 and 408 status messages; no API counting. */
static void
test_direct_get(void)
{
	Fx *fx = fx_new(NULL);
	FxClient *c = fx_client(fx);
	create_ok(fx, c, "KV", "{\"name\":\"KV\",\"subjects\":[\"kv.>\"],\"storage\":\"memory\",\"allow_direct\":true}");
	create_ok(fx, c, "ND", "{\"name\":\"ND\",\"subjects\":[\"nd\"],\"storage\":\"memory\"}");
	fx_pub(fx, c, "kv.a", NULL, NULL, "one");
	fx_pub(fx, c, "kv.b", NULL, "NATS/1.0\r\nX: 1\r\n\r\n", "two");
	fx_pub(fx, c, "nd", NULL, NULL, "x");
	fx_discard(fx, c);
	fx_pub(fx, c, "$JS.API.DIRECT.GET.KV", "_R.d1", NULL, "{\"seq\":1}");
	fx_pub(fx, c, "$JS.API.DIRECT.GET.KV.kv.b", "_R.d2", NULL, NULL);
	fx_pub(fx, c, "$JS.API.DIRECT.GET.KV", "_R.d3", NULL, "{\"seq\":7}");
	fx_pub(fx, c, "$JS.API.DIRECT.GET.KV", "_R.d4", NULL, "");
	fx_pub(fx, c, "$JS.API.DIRECT.GET.KV", "_R.d5", NULL, "{nope");
	fx_pub(fx, c, "$JS.API.DIRECT.GET.ND", "_R.d6", NULL, "{\"seq\":1}");
	GPtrArray *got = fx_take(fx, c);
	g_assert_cmpuint(got->len, ==, 5);
	FxMsg *m = got->pdata[0];
	g_assert_cmpstr(m->subject, ==, "_R.d1");
	g_assert_cmpstr(m->hdr->str, ==,
	    "NATS/1.0\r\nNats-Stream: KV\r\nNats-Subject: kv.a\r\nNats-Sequence: 1\r\nNats-Time-Stamp: "
	    "2023-11-14T22:13:20Z\r\n\r\n");
	g_assert_cmpstr(m->data->str, ==, "one");
	m = got->pdata[1];
	g_assert_cmpstr(m->hdr->str, ==,
	    "NATS/1.0\r\nX: 1\r\nNats-Stream: KV\r\nNats-Subject: kv.b\r\nNats-Sequence: 2\r\nNats-Time-Stamp: "
	    "2023-11-14T22:13:20Z\r\n\r\n");
	g_assert_cmpstr(m->data->str, ==, "two");
	g_assert_cmpstr(((FxMsg *)got->pdata[2])->hdr->str, ==, "NATS/1.0 404 Message Not Found\r\n\r\n");
	g_assert_cmpstr(((FxMsg *)got->pdata[3])->hdr->str, ==, "NATS/1.0 408 Empty Request\r\n\r\n");
	g_assert_cmpstr(((FxMsg *)got->pdata[4])->hdr->str, ==, "NATS/1.0 408 Malformed Request\r\n\r\n");
	g_ptr_array_free(got, TRUE);
	fx_free(fx);
}

/* NAMES and LIST: sorted by name, offset after sorting, subject filter;
 * an empty NAMES list is null, an empty LIST an empty array. */
static void
test_names_and_list(void)
{
	Fx *fx = fx_new(NULL);
	FxClient *c = fx_client(fx);
	char *r = fx_request(fx, c, "$JS.API.STREAM.NAMES", "");
	g_assert_cmpstr(r, ==,
	    "{\"type\":\"io.nats.jetstream.api.v1.stream_names_response\",\"total\":0,\"offset\":0,\"limit\":1024,"
	    "\"streams\":null}");
	g_free(r);
	r = fx_request(fx, c, "$JS.API.STREAM.LIST", "");
	g_assert_cmpstr(r, ==,
	    "{\"type\":\"io.nats.jetstream.api.v1.stream_list_response\",\"total\":0,\"offset\":0,\"limit\":256,"
	    "\"streams\":[]}");
	g_free(r);
	const char *names[] = { "zeta", "alpha", "Mid", "beta" };
	for (size_t k = 0; k < G_N_ELEMENTS(names); k++) {
		char *body = g_strdup_printf("{\"name\":\"%s\",\"subjects\":[\"%s.*\"],\"storage\":\"memory\"}", names[k],
		    names[k]);
		create_ok(fx, c, names[k], body);
		g_free(body);
	}
	r = fx_request(fx, c, "$JS.API.STREAM.NAMES", "");
	g_assert_cmpstr(r, ==,
	    "{\"type\":\"io.nats.jetstream.api.v1.stream_names_response\",\"total\":4,\"offset\":0,\"limit\":1024,"
	    "\"streams\":[\"Mid\",\"alpha\",\"beta\",\"zeta\"]}");
	g_free(r);
	r = fx_request(fx, c, "$JS.API.STREAM.NAMES", "{\"offset\":2}");
	g_assert_true(strstr(r, "\"total\":4,\"offset\":2,\"limit\":1024,\"streams\":[\"beta\",\"zeta\"]") != NULL);
	g_free(r);
	r = fx_request(fx, c, "$JS.API.STREAM.NAMES", "{\"offset\":9}");
	g_assert_true(strstr(r, "\"total\":4,\"offset\":4,\"limit\":1024,\"streams\":null") != NULL);
	g_free(r);
	r = fx_request(fx, c, "$JS.API.STREAM.NAMES", "{\"subject\":\"beta.x\"}");
	g_assert_true(strstr(r, "\"total\":1,\"offset\":0,\"limit\":1024,\"streams\":[\"beta\"]") != NULL);
	g_free(r);
	json_t *j = fx_api(fx, c, "$JS.API.STREAM.LIST", "{\"offset\":1,\"subject\":\">\"}");
	g_assert_cmpint(json_integer_value(json_object_get(j, "total")), ==, 4);
	json_t *list = json_object_get(j, "streams");
	g_assert_cmpuint(json_array_size(list), ==, 3);
	g_assert_cmpstr(json_string_value(json_object_get(json_object_get(json_array_get(list, 0), "config"), "name")), ==,
	    "alpha");
	g_assert_null(json_object_get(json_array_get(list, 0), "cluster"));
	json_decref(j);
	char *d = fx_api_error(fx, c, "$JS.API.STREAM.NAMES", "{\"offset\":\"x\"}", 10025, 400);
	g_free(d);
	fx_free(fx);
}

static json_t *
monitor(Fx *fx, const char *path, const BrokerMonitorArg *args, size_t n, int *status)
{
	const char *type;
	char *body = broker_monitor(fx->broker, path, args, n, NULL, fx->now_ns, status, &type);
	json_t *j = json_loads(body, 0, NULL);
	if (j == NULL)
		j = json_string(body);
	g_free(body);
	return j;
}

/* /jsz: the usage stats first, then server, config and totals; with
 * accounts/streams/consumers/config the account detail and stream
 * details; offset past the only account shows none; bad values are 400. */
static void
test_jsz_and_varz(void)
{
	BrokerConfig config = { .js_max_memory_bytes = 1000000, .js_store_dir = "/data/js" };
	Fx *fx = fx_new(&config);
	FxClient *c = fx_client(fx);
	create_ok(fx, c, "M", "{\"name\":\"M\",\"storage\":\"memory\"}");
	fx_pub(fx, c, "M", NULL, NULL, "hello");
	int status = 0;
	json_t *z = monitor(fx, "/jsz", NULL, 0, &status);
	g_assert_cmpint(status, ==, 200);
	const char *keys[] = { "memory", "storage", "reserved_memory", "reserved_storage", "accounts", "ha_assets", "api",
		"server_id", "now", "config", "streams", "consumers", "messages", "bytes", "total" };
	g_assert_cmpuint(json_object_size(z), ==, G_N_ELEMENTS(keys));
	void *it = json_object_iter(z);
	for (size_t k = 0; k < G_N_ELEMENTS(keys); k++, it = json_object_iter_next(z, it))
		g_assert_cmpstr(json_object_iter_key(it), ==, keys[k]);
	char *cfg = member_dump(z, "config");
	g_assert_cmpstr(cfg, ==, "{\"max_memory\":1000000,\"max_storage\":1099511627776,\"store_dir\":\"/data/js\",\"sync_always\":true,"
			     "\"compress_ok\":true}");
	free(cfg);
	g_assert_cmpint(json_integer_value(json_object_get(z, "memory")), ==, 22);
	g_assert_cmpint(json_integer_value(json_object_get(z, "messages")), ==, 1);
	g_assert_cmpint(json_integer_value(json_object_get(z, "streams")), ==, 1);
	g_assert_null(json_object_get(z, "account_details"));
	json_decref(z);

	BrokerMonitorArg args[] = { { "streams", "1" }, { "config", "true" } };
	z = monitor(fx, "/jsz", args, 2, &status);
	json_t *acc = json_array_get(json_object_get(z, "account_details"), 0);
	g_assert_cmpstr(json_string_value(json_object_get(acc, "name")), ==, "$G");
	json_t *sd = json_array_get(json_object_get(acc, "stream_detail"), 0);
	g_assert_cmpstr(json_string_value(json_object_get(sd, "name")), ==, "M");
	g_assert_nonnull(json_object_get(sd, "config"));
	g_assert_cmpint(json_integer_value(json_object_get(json_object_get(sd, "state"), "messages")), ==, 1);
	g_assert_nonnull(json_object_get(json_object_get(sd, "cluster"), "leader"));
	json_decref(z);

	BrokerMonitorArg past[] = { { "accounts", "1" }, { "offset", "1" } };
	z = monitor(fx, "/jsz", past, 2, &status);
	g_assert_null(json_object_get(z, "account_details"));
	json_decref(z);
	BrokerMonitorArg acc_g[] = { { "acc", "$G" } };
	z = monitor(fx, "/jsz", acc_g, 1, &status);
	g_assert_nonnull(json_object_get(z, "account_details"));
	json_decref(z);
	BrokerMonitorArg bad[] = { { "streams", "maybe" } };
	z = monitor(fx, "/jsz", bad, 1, &status);
	g_assert_cmpint(status, ==, 400);
	json_decref(z);

	z = monitor(fx, "/varz", NULL, 0, &status);
	json_t *js = json_object_get(z, "jetstream");
	char *stats = member_dump(js, "stats");
	g_assert_cmpstr(stats, ==,
	    "{\"memory\":22,\"storage\":0,\"reserved_memory\":0,\"reserved_storage\":0,\"accounts\":1,\"ha_assets\":0,"
	    "\"api\":{\"total\":1,\"errors\":0}}");
	free(stats);
	g_assert_cmpint(json_integer_value(json_object_get(json_object_get(js, "config"), "max_memory")), ==, 1000000);
	json_decref(z);
	fx_free(fx);
}

/* Stream create/update/delete advisories and the API audit advisory for
 * every API response (a stream on $JS.EVENT.> captures them). */
static void
test_advisories(void)
{
	Fx *fx = fx_new(NULL);
	FxClient *c = fx_client(fx);
	fx_send(fx, c, "SUB $JS.EVENT.> 7\r\n");
	create_ok(fx, c, "A", "{\"name\":\"A\",\"storage\":\"memory\"}");
	GPtrArray *got = fx_take(fx, c);
	g_assert_cmpuint(got->len, ==, 2);
	FxMsg *m = got->pdata[0];
	g_assert_cmpstr(m->subject, ==, "$JS.EVENT.ADVISORY.STREAM.CREATED.A");
	json_t *a = json_loads(m->data->str, 0, NULL);
	g_assert_cmpstr(json_string_value(json_object_get(a, "type")), ==, "io.nats.jetstream.advisory.v1.stream_action");
	g_assert_cmpuint(strlen(json_string_value(json_object_get(a, "id"))), ==, 22);
	g_assert_cmpstr(json_string_value(json_object_get(a, "timestamp")), ==, "2023-11-14T22:13:20Z");
	g_assert_cmpstr(json_string_value(json_object_get(a, "stream")), ==, "A");
	g_assert_cmpstr(json_string_value(json_object_get(a, "action")), ==, "create");
	json_decref(a);
	m = got->pdata[1];
	g_assert_cmpstr(m->subject, ==, "$JS.EVENT.ADVISORY.API");
	a = json_loads(m->data->str, 0, NULL);
	g_assert_cmpstr(json_string_value(json_object_get(a, "type")), ==, "io.nats.jetstream.advisory.v1.api_audit");
	g_assert_cmpstr(json_string_value(json_object_get(a, "subject")), ==, "$JS.API.STREAM.CREATE.A");
	g_assert_cmpstr(json_string_value(json_object_get(a, "request")), ==, "{\"name\":\"A\",\"storage\":\"memory\"}");
	g_assert_true(g_str_has_prefix(json_string_value(json_object_get(a, "response")),
	    "{\"type\":\"io.nats.jetstream.api.v1.stream_create_response\""));
	g_assert_cmpstr(json_string_value(json_object_get(json_object_get(a, "client"), "acc")), ==, "$G");
	json_decref(a);
	g_ptr_array_free(got, TRUE);
	char *r = fx_request(fx, c, "$JS.API.STREAM.UPDATE.A", "{\"name\":\"A\",\"storage\":\"memory\",\"max_msgs\":3}");
	g_free(r);
	got = fx_take(fx, c);
	g_assert_cmpuint(got->len, ==, 2);
	g_assert_cmpstr(((FxMsg *)got->pdata[0])->subject, ==, "$JS.EVENT.ADVISORY.STREAM.UPDATED.A");
	g_assert_true(strstr(((FxMsg *)got->pdata[0])->data->str, "\"action\":\"modify\"") != NULL);
	g_ptr_array_free(got, TRUE);
	r = fx_request(fx, c, "$JS.API.STREAM.DELETE.A", "");
	g_free(r);
	got = fx_take(fx, c);
	g_assert_cmpuint(got->len, ==, 2);
	g_assert_cmpstr(((FxMsg *)got->pdata[0])->subject, ==, "$JS.EVENT.ADVISORY.STREAM.DELETED.A");
	g_assert_true(strstr(((FxMsg *)got->pdata[0])->data->str, "\"action\":\"delete\"") != NULL);
	g_assert_cmpstr(((FxMsg *)got->pdata[1])->subject, ==, "$JS.EVENT.ADVISORY.API");
	g_ptr_array_free(got, TRUE);
	fx_free(fx);
}

/* A file stream on storage comes back after a restart: config, created
 * time, messages, and the dedupe window (ids inside it stay duplicates);
 * a stream whose saved config is unreadable is reported and skipped. */
static void
test_restart_restores_file_streams(void)
{
	SimWorldConfig wc = { .seed = 1 };
	SimWorld *world = sim_world_create(&wc);
	SimNode *node = sim_node_create(world, "disk", NULL, NULL);
	BrokerStorage *storage = sim_disk_storage(sim_node_disk(node));
	BrokerConfig config = { .storage = storage };
	Fx *fx = fx_new(&config);
	FxClient *c = fx_client(fx);
	create_ok(fx, c, "F", "{\"name\":\"F\",\"subjects\":[\"f.*\"],\"max_msgs_per_subject\":5}");
	create_ok(fx, c, "M", "{\"name\":\"M\",\"storage\":\"memory\"}");
	assert_puback(fx, c, "f.a", MSGID("one"), "1", "{\"stream\":\"F\", \"seq\":1}");
	assert_puback(fx, c, "f.b", NULL, "2", "{\"stream\":\"F\", \"seq\":2}");
	fx_pub(fx, c, "M", NULL, NULL, "gone");
	int64_t now = fx->now_ns + 10 * FX_S;
	fx_free(fx);

	config.storage = storage;
	Fx *fx2 = fx_new(&config);
	fx2->now_ns = now; /* the clock went on while it was down */
	c = fx_client(fx2);
	g_assert_cmpuint(broker_probe_count(fx2->broker, BROKER_PROBE_JS_RESTORED), ==, 1);
	json_t *r = fx_api(fx2, c, INFO("F"), "");
	g_assert_null(json_object_get(r, "error"));
	g_assert_cmpstr(json_string_value(json_object_get(r, "created")), ==, "2023-11-14T22:13:20Z");
	g_assert_cmpint(json_integer_value(json_object_get(json_object_get(r, "config"), "max_msgs_per_subject")), ==, 5);
	g_assert_cmpint(json_integer_value(json_object_get(json_object_get(r, "state"), "messages")), ==, 2);
	json_decref(r);
	char *d = fx_api_error(fx2, c, INFO("M"), "", 10059, 404); /* memory streams do not survive */
	g_free(d);
	assert_puback(fx2, c, "f.a", MSGID("one"), "1", "{\"stream\":\"F\", \"seq\":1,\"duplicate\": true}");
	assert_puback(fx2, c, "f.a", NULL, "3", "{\"stream\":\"F\", \"seq\":3}");
	fx_free(fx2);
	sim_world_destroy(world);
}

/* A durable pull consumer with explicit acks (and an optional filter). */
static void
pull_consumer(Fx *fx, FxClient *c, const char *stream, const char *name, const char *filter)
{
	char *subject = g_strdup_printf("$JS.API.CONSUMER.CREATE.%s.%s", stream, name);
	char *body = g_strdup_printf("{\"stream_name\":\"%s\",\"config\":{\"durable_name\":\"%s\",\"ack_policy\":\"explicit\""
				     "%s%s%s}}",
	    stream, name, filter ? ",\"filter_subject\":\"" : "", filter ? filter : "", filter ? "\"" : "");
	json_t *r = fx_api(fx, c, subject, body);
	g_assert_nonnull(r);
	if (json_object_get(r, "error") != NULL) {
		char *text = fx_dump(r);
		g_error("consumer create failed: %s", text);
	}
	json_decref(r);
	g_free(body);
	g_free(subject);
}

/* Pulls one message; returns its ack subject (g_free), NULL when none. */
static char *
pull_one(Fx *fx, FxClient *c, const char *stream, const char *consumer)
{
	char *subject = g_strdup_printf("$JS.API.CONSUMER.MSG.NEXT.%s.%s", stream, consumer);
	fx_discard(fx, c);
	fx_pub(fx, c, subject, "_R.pull", NULL, "{\"batch\":1,\"no_wait\":true}");
	g_free(subject);
	GPtrArray *got = fx_take(fx, c);
	char *ack = NULL;
	for (guint k = 0; k < got->len && ack == NULL; k++) {
		FxMsg *m = got->pdata[k];
		if (m->reply != NULL && g_str_has_prefix(m->reply, "$JS.ACK."))
			ack = g_strdup(m->reply);
	}
	g_ptr_array_free(got, TRUE);
	return ack;
}

static void
ack(Fx *fx, FxClient *c, char *ack_subject)
{
	g_assert_nonnull(ack_subject);
	fx_pub(fx, c, ack_subject, NULL, NULL, "+ACK");
	g_free(ack_subject);
}

/* Interest retention: a message goes once every consumer whose filter
 * matches has acked it; a publish only an unmatched filter would see is
 * skipped; deleting the last consumer purges the stream. */
static void
test_interest_retention_removal(void)
{
	Fx *fx = fx_new(NULL);
	FxClient *c = fx_client(fx);
	create_ok(fx, c, "I", "{\"name\":\"I\",\"subjects\":[\"i.*\"],\"storage\":\"memory\",\"retention\":\"interest\"}");
	pull_consumer(fx, c, "I", "C1", "i.a");
	pull_consumer(fx, c, "I", "C2", NULL);
	assert_puback(fx, c, "i.a", NULL, "x", "{\"stream\":\"I\", \"seq\":1}");
	assert_puback(fx, c, "i.b", NULL, "x", "{\"stream\":\"I\", \"seq\":2}");
	g_assert_cmpint(fx_state_int(fx, c, "I", "messages"), ==, 2);
	ack(fx, c, pull_one(fx, c, "I", "C1")); /* C1 acks seq 1; C2 still needs it */
	g_assert_cmpint(fx_state_int(fx, c, "I", "messages"), ==, 2);
	ack(fx, c, pull_one(fx, c, "I", "C2")); /* C2 acks 1: gone */
	g_assert_cmpint(fx_state_int(fx, c, "I", "messages"), ==, 1);
	g_assert_cmpint(fx_state_int(fx, c, "I", "first_seq"), ==, 2);
	ack(fx, c, pull_one(fx, c, "I", "C2")); /* seq 2 only C2 needed */
	g_assert_cmpint(fx_state_int(fx, c, "I", "messages"), ==, 0);
	/* Deleting one consumer removes what only it still needed. */
	assert_puback(fx, c, "i.a", NULL, "x", "{\"stream\":\"I\", \"seq\":3}");
	ack(fx, c, pull_one(fx, c, "I", "C2"));
	g_assert_cmpint(fx_state_int(fx, c, "I", "messages"), ==, 1);
	char *r = fx_request(fx, c, "$JS.API.CONSUMER.DELETE.I.C1", "");
	g_free(r);
	g_assert_cmpint(fx_state_int(fx, c, "I", "messages"), ==, 0);
	/* With the last consumer gone the stream is purged. */
	assert_puback(fx, c, "i.b", NULL, "x", "{\"stream\":\"I\", \"seq\":4}");
	g_assert_cmpint(fx_state_int(fx, c, "I", "messages"), ==, 1);
	r = fx_request(fx, c, "$JS.API.CONSUMER.DELETE.I.C2", "");
	g_free(r);
	g_assert_cmpint(fx_state_int(fx, c, "I", "messages"), ==, 0);
	g_assert_cmpint(fx_state_int(fx, c, "I", "first_seq"), ==, 5);
	fx_free(fx);
}

/* Work queue: the first ack removes the message; others stay. */
static void
test_workqueue_removal_on_ack(void)
{
	Fx *fx = fx_new(NULL);
	FxClient *c = fx_client(fx);
	create_ok(fx, c, "W", "{\"name\":\"W\",\"subjects\":[\"w\"],\"storage\":\"memory\",\"retention\":\"workqueue\"}");
	pull_consumer(fx, c, "W", "P", NULL);
	for (int k = 0; k < 3; k++)
		fx_pub(fx, c, "w", NULL, NULL, "job");
	char *first = pull_one(fx, c, "W", "P");
	char *second = pull_one(fx, c, "W", "P");
	ack(fx, c, second);
	g_assert_cmpint(fx_state_int(fx, c, "W", "messages"), ==, 2);
	g_assert_cmpint(fx_state_int(fx, c, "W", "num_deleted"), ==, 1);
	ack(fx, c, first);
	g_assert_cmpint(fx_state_int(fx, c, "W", "messages"), ==, 1);
	g_assert_cmpint(fx_state_int(fx, c, "W", "first_seq"), ==, 3);
	/* Deleting the stream takes its consumer along. */
	char *r = fx_request(fx, c, "$JS.API.STREAM.DELETE.W", "");
	g_free(r);
	char *d = fx_api_error(fx, c, "$JS.API.CONSUMER.INFO.W.P", "", 10059, 404);
	g_free(d);
	fx_free(fx);
}

/* STREAM.INFO with subjects_filter: per-subject counts (sorted keys) and
 * the paging fields; without a match no subjects and zero paging. */
static void
test_info_subjects_filter(void)
{
	Fx *fx = fx_new(NULL);
	FxClient *c = fx_client(fx);
	create_ok(fx, c, "S", "{\"name\":\"S\",\"subjects\":[\"s.>\"],\"storage\":\"memory\"}");
	fx_pub(fx, c, "s.b", NULL, NULL, "x");
	fx_pub(fx, c, "s.a", NULL, NULL, "x");
	fx_pub(fx, c, "s.b", NULL, NULL, "x");
	fx_pub(fx, c, "s.c.d", NULL, NULL, "x");
	json_t *r = fx_api(fx, c, INFO("S"), "{\"subjects_filter\":\"s.*\"}");
	g_assert_cmpint(json_integer_value(json_object_get(r, "total")), ==, 2);
	g_assert_cmpint(json_integer_value(json_object_get(r, "limit")), ==, 100000);
	char *subjects = fx_dump(json_object_get(json_object_get(r, "state"), "subjects"));
	g_assert_cmpstr(subjects, ==, "{\"s.a\":1,\"s.b\":2}");
	free(subjects);
	g_assert_cmpint(json_integer_value(json_object_get(json_object_get(r, "state"), "num_subjects")), ==, 3);
	json_decref(r);
	r = fx_api(fx, c, INFO("S"), "{\"subjects_filter\":\"x\"}");
	g_assert_null(json_object_get(json_object_get(r, "state"), "subjects"));
	g_assert_cmpint(json_integer_value(json_object_get(r, "limit")), ==, 0);
	json_decref(r);
	char *d = fx_api_error(fx, c, INFO("S"), "{\"deleted_details\":1}", 10025, 400);
	g_free(d);
	/* Paged types keep their paging fields in an error. */
	char *text = fx_request(fx, c, INFO("NOPE"), "");
	g_assert_cmpstr(text, ==,
	    "{\"type\":\"io.nats.jetstream.api.v1.stream_info_response\",\"error\":{\"code\":404,\"err_code\":10059,"
	    "\"description\":\"stream not found\"},\"total\":0,\"offset\":0,\"limit\":0}");
	g_free(text);
	fx_free(fx);
}

/* first_seq (2.10): the stream starts there. republish: a stored message
 * is re-published to the transformed subject with the Nats-* headers. */
static void
test_first_seq_and_republish(void)
{
	Fx *fx = fx_new(NULL);
	FxClient *c = fx_client(fx);
	create_ok(fx, c, "F", "{\"name\":\"F\",\"storage\":\"memory\",\"first_seq\":100}");
	assert_puback(fx, c, "F", NULL, "x", "{\"stream\":\"F\", \"seq\":100}");
	g_assert_cmpint(fx_state_int(fx, c, "F", "first_seq"), ==, 100);
	char *d = fx_api_error(fx, c, CREATE("R"),
	    "{\"name\":\"R\",\"subjects\":[\"r.*\"],\"republish\":{\"src\":\"r.*\",\"dest\":\"r.x\"}}", 10052, 500);
	g_assert_cmpstr(d, ==, "stream configuration for republish destination forms a cycle");
	g_free(d);
	create_ok(fx, c, "R", "{\"name\":\"R\",\"subjects\":[\"r.*\"],\"storage\":\"memory\","
			      "\"republish\":{\"src\":\"r.*\",\"dest\":\"out.{{wildcard(1)}}\"}}");
	fx_send(fx, c, "SUB out.> 5\r\n");
	fx_pub(fx, c, "r.a", NULL, NULL, "one");
	fx_pub(fx, c, "r.a", NULL, "NATS/1.0\r\nK: v\r\n\r\n", "two");
	GPtrArray *got = fx_take(fx, c);
	g_assert_cmpuint(got->len, ==, 2);
	FxMsg *m = got->pdata[0];
	g_assert_cmpstr(m->subject, ==, "out.a");
	g_assert_cmpstr(m->hdr->str, ==,
	    "NATS/1.0\r\nNats-Stream: R\r\nNats-Subject: r.a\r\nNats-Sequence: 1\r\nNats-Time-Stamp: "
	    "2023-11-14T22:13:20Z\r\nNats-Last-Sequence: 0\r\n\r\n");
	g_assert_cmpstr(m->data->str, ==, "one");
	m = got->pdata[1];
	g_assert_cmpstr(m->hdr->str, ==,
	    "NATS/1.0\r\nK: v\r\nNats-Stream: R\r\nNats-Subject: r.a\r\nNats-Sequence: 2\r\nNats-Time-Stamp: "
	    "2023-11-14T22:13:20Z\r\nNats-Last-Sequence: 1\r\n\r\n");
	g_ptr_array_free(got, TRUE);
	fx_free(fx);
}

/* A stream whose saved config fails its checksum is reported and
 * skipped; the others come back and the server serves. */
static void
test_restart_skips_corrupt_stream(void)
{
	SimWorldConfig wc = { .seed = 2 };
	SimWorld *world = sim_world_create(&wc);
	SimNode *node = sim_node_create(world, "disk", NULL, NULL);
	SimDisk *disk = sim_node_disk(node);
	BrokerConfig config = { .storage = sim_disk_storage(disk) };
	Fx *fx = fx_new(&config);
	FxClient *c = fx_client(fx);
	create_ok(fx, c, "BAD", "{\"name\":\"BAD\",\"subjects\":[\"bad\"]}");
	create_ok(fx, c, "GOOD", "{\"name\":\"GOOD\",\"subjects\":[\"good\"]}");
	fx_pub(fx, c, "good", NULL, NULL, "x");
	fx_free(fx);
	g_assert_true(sim_disk_flip_bit(disk, "jetstream/BAD/meta.json", 12, 3));
	fx = fx_new(&config);
	c = fx_client(fx);
	g_assert_cmpuint(broker_probe_count(fx->broker, BROKER_PROBE_JS_RESTORED), ==, 1);
	g_assert_cmpint(fx_state_int(fx, c, "GOOD", "messages"), ==, 1);
	char *d = fx_api_error(fx, c, INFO("BAD"), "", 10059, 404);
	g_free(d);
	bool reported = false;
	for (guint k = 0; k < fx->logs->len; k++)
		reported = reported || (strstr(fx->logs->pdata[k], "'$G > BAD' not restored") != NULL);
	g_assert_true(reported);
	fx_free(fx);
	sim_world_destroy(world);
}

/* A PubAck aimed at the API deletes its own stream while the publish is
 * still being handled: the stream goes, nothing breaks (valgrind checks
 * the memory side). */
static void
test_puback_deletes_own_stream(void)
{
	Fx *fx = fx_new(NULL);
	FxClient *c = fx_client(fx);
	create_ok(fx, c, "S", "{\"name\":\"S\",\"storage\":\"memory\",\"max_msgs\":1}");
	fx_pub(fx, c, "S", NULL, NULL, "a");
	fx_pub(fx, c, "S", "$JS.API.STREAM.DELETE.S", NULL, "b");
	char *d = fx_api_error(fx, c, INFO("S"), "", 10059, 404);
	g_free(d);
	create_ok(fx, c, "S", "{\"name\":\"S\",\"storage\":\"memory\"}");
	assert_puback(fx, c, "S", NULL, "c", "{\"stream\":\"S\", \"seq\":1}");
	fx_free(fx);
}

/* Server resources: a max_bytes reservation beyond max_memory is 10028;
 * once usage is above the limit, publishes get 10023. */
static void
test_server_resources(void)
{
	BrokerConfig config = { .js_max_memory_bytes = 100 };
	Fx *fx = fx_new(&config);
	FxClient *c = fx_client(fx);
	char *d = fx_api_error(fx, c, CREATE("BIG"), "{\"name\":\"BIG\",\"storage\":\"memory\",\"max_bytes\":101}", 10028, 500);
	g_assert_cmpstr(d, ==, "insufficient memory resources available");
	g_free(d);
	create_ok(fx, c, "M", "{\"name\":\"M\",\"storage\":\"memory\"}");
	assert_puback(fx, c, "M", NULL, "0123456789012345678901234567890123456789", "{\"stream\":\"M\", \"seq\":1}");
	assert_puback(fx, c, "M", NULL, "0123456789012345678901234567890123456789", "{\"stream\":\"M\", \"seq\":2}");
	assert_puback_error(fx, c, "M", NULL, 503, 10023, "insufficient resources", "M");
	fx_free(fx);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/js/core/stream/create-defaults", test_create_defaults);
	g_test_add_func("/js/core/stream/delete", test_delete);
	g_test_add_func("/js/core/publish/puback-bytes", test_puback_bytes);
	g_test_add_func("/js/core/stream/create-invalid-json", test_create_invalid_json);
	g_test_add_func("/js/core/stream/create-validation", test_create_validation);
	g_test_add_func("/js/core/stream/recreate-and-overlap", test_recreate_and_overlap);
	g_test_add_func("/js/core/stream/update-rules", test_update_rules);
	g_test_add_func("/js/core/api/unknown-and-no-reply", test_router_unknown_and_no_reply);
	g_test_add_func("/js/core/api/account-info", test_account_info);
	g_test_add_func("/js/core/api/advisories", test_advisories);
	g_test_add_func("/js/core/monitor/jsz-and-varz", test_jsz_and_varz);
	g_test_add_func("/js/core/restart/restores-file-streams", test_restart_restores_file_streams);
	g_test_add_func("/js/core/restart/skips-corrupt-stream", test_restart_skips_corrupt_stream);
	g_test_add_func("/js/core/stream/info-subjects-filter", test_info_subjects_filter);
	g_test_add_func("/js/core/stream/first-seq-and-republish", test_first_seq_and_republish);
	g_test_add_func("/js/core/publish/dedupe-window", test_dedupe_window);
	g_test_add_func("/js/core/publish/expected-headers", test_expected_headers);
	g_test_add_func("/js/core/publish/rollup", test_rollup);
	g_test_add_func("/js/core/publish/sizes-and-no-ack", test_sizes_and_no_ack);
	g_test_add_func("/js/core/publish/puback-deletes-own-stream", test_puback_deletes_own_stream);
	g_test_add_func("/js/core/limits/server-resources", test_server_resources);
	g_test_add_func("/js/core/limits/discard-old", test_limits_discard_old);
	g_test_add_func("/js/core/limits/discard-new", test_limits_discard_new);
	g_test_add_func("/js/core/limits/max-age-exact-times", test_max_age_exact_times);
	g_test_add_func("/js/core/retention/interest-no-consumer-skips", test_interest_no_consumer_skips);
	g_test_add_func("/js/core/retention/interest-removal", test_interest_retention_removal);
	g_test_add_func("/js/core/retention/workqueue-removal-on-ack", test_workqueue_removal_on_ack);
	g_test_add_func("/js/core/stream/purge-variants", test_purge_variants);
	g_test_add_func("/js/core/stream/msg-get", test_msg_get);
	g_test_add_func("/js/core/stream/msg-delete", test_msg_delete);
	g_test_add_func("/js/core/stream/direct-get", test_direct_get);
	g_test_add_func("/js/core/stream/names-and-list", test_names_and_list);
	return g_test_run();
}
