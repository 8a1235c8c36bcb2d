/*
 * test_consumer_config.c - ConsumerConfig and the consumer API (NATS-SPEC
 * §2.2, §2.5, §2.6): defaults, every validation error with its exact
 * err_code, code and text (errors.json v2.10.29), the create forms and
 * actions, update rules, INFO/DELETE/NAMES/LIST, advisories.
 */
#include <glib.h>
#include <string.h>

#include "cfx.h"

#define STREAM "{\"name\":\"S\",\"subjects\":[\"s.>\"],\"storage\":\"memory\"}"

static json_t *
cfgof(json_t *r)
{
	json_t *c = json_object_get(r, "config");
	g_assert_nonnull(c);
	return c;
}

static int64_t
cfg_int(json_t *r, const char *key)
{
	json_t *v = json_object_get(cfgof(r), key);
	return v != NULL ? json_integer_value(v) : 0;
}

/* Defaults (setConsumerConfigDefaults) as echoed, in Go's field order. */
static void
test_defaults(void)
{
	Cfx *fx = cfx_new(NULL);
	CfxClient *c = cfx_client(fx);
	cfx_stream(fx, c, STREAM);
	json_t *r = cfx_consumer(fx, c, "S", "D", "{\"durable_name\":\"D\",\"ack_policy\":\"explicit\"}");
	char *text = json_dumps(cfgof(r), JSON_COMPACT | JSON_PRESERVE_ORDER);
	g_assert_cmpstr(text, ==,
	    "{\"durable_name\":\"D\",\"name\":\"D\",\"deliver_policy\":\"all\",\"ack_policy\":\"explicit\",\"ack_wait\":30000000000,"
	    "\"max_deliver\":-1,\"replay_policy\":\"instant\",\"max_waiting\":512,\"max_ack_pending\":1000,\"num_replicas\":0}");
	free(text);
	g_assert_cmpstr(json_string_value(json_object_get(r, "type")), ==, "io.nats.jetstream.api.v1.consumer_create_response");
	g_assert_cmpstr(json_string_value(json_object_get(r, "created")), ==, "2023-11-14T22:13:20Z");
	json_decref(r);
	/* legacy ephemeral: 8 random alphanumerics, no "name" in the echo,
	 * inactive_threshold 5 s; ack none has no ack_wait nor max_ack_pending */
	r = cfx_consumer(fx, c, "S", NULL, "{}");
	const char *name = json_string_value(json_object_get(r, "name"));
	g_assert_cmpuint(strlen(name), ==, 8);
	for (const char *p = name; *p; p++)
		g_assert_true(g_ascii_isalnum(*p));
	text = json_dumps(cfgof(r), JSON_COMPACT | JSON_PRESERVE_ORDER);
	g_assert_cmpstr(text, ==,
	    "{\"deliver_policy\":\"all\",\"ack_policy\":\"none\",\"max_deliver\":-1,\"replay_policy\":\"instant\","
	    "\"max_waiting\":512,\"inactive_threshold\":5000000000,\"num_replicas\":0}");
	free(text);
	json_decref(r);
	/* push: no max_waiting; backoff forces ack_wait to backoff[0] */
	r = cfx_consumer(fx, c, "S", "P",
	    "{\"durable_name\":\"P\",\"deliver_subject\":\"d.P\",\"ack_policy\":\"all\",\"ack_wait\":9000000000,"
	    "\"backoff\":[2000000000,3000000000],\"max_deliver\":5}");
	g_assert_null(json_object_get(cfgof(r), "max_waiting"));
	g_assert_cmpint(cfg_int(r, "ack_wait"), ==, 2 * SEC);
	g_assert_cmpint(cfg_int(r, "max_ack_pending"), ==, 1000);
	json_decref(r);
	/* opt_start_time keeps its zone in the echo, fraction trimmed */
	r = cfx_consumer(fx, c, "S", "T",
	    "{\"durable_name\":\"T\",\"deliver_policy\":\"by_start_time\",\"opt_start_time\":\"2023-11-14T23:13:20.500000000+01:00\"}");
	g_assert_cmpstr(json_string_value(json_object_get(cfgof(r), "opt_start_time")), ==, "2023-11-14T23:13:20.5+01:00");
	json_decref(r);
	/* v2.14.5: negatives become "unset" (no 10087/10114 any more) */
	r = cfx_consumer(fx, c, "S", "NEG",
	    "{\"durable_name\":\"NEG\",\"ack_policy\":\"explicit\",\"max_waiting\":-1,\"max_batch\":-3,\"max_deliver\":-7,"
	    "\"max_ack_pending\":-5,\"max_expires\":-1}");
	g_assert_cmpint(cfg_int(r, "max_waiting"), ==, 512);
	g_assert_cmpint(cfg_int(r, "max_deliver"), ==, -1);
	g_assert_cmpint(cfg_int(r, "max_ack_pending"), ==, -1);
	g_assert_null(json_object_get(cfgof(r), "max_batch"));
	g_assert_null(json_object_get(cfgof(r), "max_expires"));
	json_decref(r);
	/* filters that only collide (neither contains the other) are fine */
	r = cfx_consumer(fx, c, "S", "OV", "{\"durable_name\":\"OV\",\"filter_subjects\":[\"s.*.a\",\"s.b.*\"]}");
	json_decref(r);
	/* DURABLE.CREATE puts the name in the config too */
	r = cfx_req(fx, c, "$JS.API.CONSUMER.DURABLE.CREATE.S.LEG", "{\"stream_name\":\"S\",\"config\":{\"durable_name\":\"LEG\"}}");
	g_assert_cmpstr(json_string_value(json_object_get(cfgof(r), "name")), ==, "LEG");
	json_decref(r);
	/* stream consumer_limits give defaults */
	cfx_stream(fx, c,
	    "{\"name\":\"L\",\"subjects\":[\"l.>\"],\"storage\":\"memory\",\"consumer_limits\":{\"inactive_threshold\":"
	    "7000000000,\"max_ack_pending\":20}}");
	r = cfx_consumer(fx, c, "L", "X", "{\"durable_name\":\"X\",\"ack_policy\":\"explicit\"}");
	g_assert_cmpint(cfg_int(r, "max_ack_pending"), ==, 20);
	g_assert_cmpint(cfg_int(r, "inactive_threshold"), ==, 7 * SEC);
	json_decref(r);
	cfx_free(fx);
}

typedef struct ErrCase {
	const char *subject; /* NULL: $JS.API.CONSUMER.CREATE.S.X */
	const char *body;    /* NULL: {"stream_name":"S","config":<cfg>} */
	const char *cfg;
	int err_code;
	int code;
	const char *description;
} ErrCase;

/* Every validation error of §2.5/§2.6 that a single server can give,
 * with its text. */
static void
test_validation_errors(void)
{
	static const ErrCase cases[] = {
		{ NULL, NULL, "{\"durable_name\":\"X\",\"backoff\":[1000000000,2000000000],\"max_deliver\":1}", 10116, 400,
		    "max deliver is required to be > length of backoff values" },
		{ NULL, NULL, "{\"durable_name\":\"X\",\"deliver_subject\":\"d.*\"}", 10079, 400,
		    "consumer deliver subject has wildcards" },
		{ NULL, NULL, "{\"durable_name\":\"X\",\"deliver_subject\":\"d..x\"}", 10112, 400,
		    "invalid push consumer deliver subject" },
		{ NULL, NULL, "{\"durable_name\":\"X\",\"deliver_subject\":\"s.x\"}", 10081, 400,
		    "consumer deliver subject forms a cycle" },
		{ NULL, NULL, "{\"durable_name\":\"X\",\"deliver_subject\":\"d.x\",\"max_waiting\":5}", 10080, 400,
		    "consumer in push mode can not set max waiting" },
		{ NULL, NULL, "{\"durable_name\":\"X\",\"deliver_subject\":\"d.x\",\"max_ack_pending\":5}", 10082, 400,
		    "consumer requires ack policy for max ack pending" },
		{ NULL, NULL, "{\"durable_name\":\"X\",\"deliver_subject\":\"d.x\",\"idle_heartbeat\":50000000}", 10083, 400,
		    "consumer idle heartbeat needs to be >= 100ms" },
		{ NULL, NULL, "{\"durable_name\":\"X\",\"rate_limit_bps\":1000}", 10086, 400,
		    "consumer in pull mode can not have rate limit set" },

		{ NULL, NULL, "{\"durable_name\":\"X\",\"idle_heartbeat\":1000000000}", 10088, 400,
		    "consumer idle heartbeat requires a push based consumer" },
		{ NULL, NULL, "{\"durable_name\":\"X\",\"flow_control\":true}", 10089, 400,
		    "consumer flow control requires a push based consumer" },
		{ "$JS.API.CONSUMER.CREATE.S", NULL, "{\"name\":\"a b\"}", 10052, 500,
		    "consumer name can not contain '.', '*', '>', '\\', '/'" },
		{ "$JS.API.CONSUMER.CREATE.S", NULL, "{\"name\":\"a/b\"}", 10127, 400,
		    "Consumer name can not contain path separators" },
		{ NULL, NULL, "{\"durable_name\":\"X\",\"max_expires\":1000}", 10115, 400,
		    "consumer max request expires needs to be >= 1ms" },
		{ NULL, NULL, "{\"durable_name\":\"X\",\"deliver_policy\":\"all\",\"opt_start_seq\":3}", 10094, 400,
		    "consumer delivery policy is deliver all, but optional start sequence is also set" },
		{ NULL, NULL, "{\"durable_name\":\"X\",\"deliver_policy\":\"last\",\"opt_start_time\":\"2023-01-01T00:00:00Z\"}", 10094,
		    400, "consumer delivery policy is deliver last, but optional start time is also set" },
		{ NULL, NULL, "{\"durable_name\":\"X\",\"deliver_policy\":\"new\",\"opt_start_seq\":3}", 10094, 400,
		    "consumer delivery policy is deliver new, but optional start sequence is also set" },
		{ NULL, NULL, "{\"durable_name\":\"X\",\"deliver_policy\":\"last_per_subject\"}", 10094, 400,
		    "consumer delivery policy is deliver last per subject, but optional filter subject is not set" },
		{ NULL, NULL, "{\"durable_name\":\"X\",\"deliver_policy\":\"by_start_sequence\"}", 10094, 400,
		    "consumer delivery policy is deliver by start sequence, but optional start sequence is not set" },
		{ NULL, NULL, "{\"durable_name\":\"X\",\"deliver_policy\":\"by_start_time\"}", 10094, 400,
		    "consumer delivery policy is deliver by start time, but optional start time is not set" },
		{ NULL, NULL,
		    "{\"durable_name\":\"X\",\"deliver_policy\":\"by_start_time\",\"opt_start_time\":\"2023-01-01T00:00:00Z\",\"opt_start_seq\":2}",
		    10094, 400, "consumer delivery policy is deliver by start time, but optional start sequence is also set" },
		{ NULL, NULL, "{\"durable_name\":\"X\",\"sample_freq\":\"abc\"}", 10095, 400,
		    "failed to parse consumer sampling configuration: strconv.Atoi: parsing \"abc\": invalid syntax" },
		{ NULL, NULL, "{\"durable_name\":\"X\",\"sample_freq\":\"-5%\"}", 10095, 400,
		    "failed to parse consumer sampling configuration: <nil>" },
		{ NULL, NULL, "{\"durable_name\":\"X\",\"deliver_subject\":\"d.x\",\"flow_control\":true}", 10108, 400,
		    "consumer with flow control also needs heartbeats" },
		{ NULL, NULL, "{\"durable_name\":\"X\",\"filter_subject\":\"s.a\",\"filter_subjects\":[\"s.b\"]}", 10136, 400,
		    "consumer cannot have both FilterSubject and FilterSubjects specified" },
		{ NULL, NULL, "{\"durable_name\":\"X\",\"filter_subjects\":[\"s.b\",\"s.>\"]}", 10138, 400,
		    "consumer subject filters cannot overlap" },
		{ NULL, NULL, "{\"durable_name\":\"X\",\"filter_subjects\":[\"s.a\",\"\"]}", 10139, 400,
		    "consumer filter in FilterSubjects cannot be empty" },
		{ NULL, NULL, "{\"durable_name\":\"X\",\"filter_subject\":\"s..a\"}", 10052, 500, "invalid subject" },
		{ NULL, NULL, "{\"durable_name\":\"X\",\"description\":\"%DESC%\"}", 10107, 400,
		    "consumer description is too long, maximum allowed is 4096" },
		{ NULL, NULL, "{\"durable_name\":\"X\",\"num_replicas\":3}", 10074, 500,
		    "replicas > 1 not supported in non-clustered mode" },
		{ NULL, NULL, "{\"durable_name\":\"X\",\"num_replicas\":-1}", 10133, 400, "replicas count cannot be negative" },
		{ NULL, NULL, "{\"durable_name\":\"X\",\"direct\":true}", 10090, 400,
		    "consumer direct requires a push based consumer" },
		/* request forms */
		{ "$JS.API.CONSUMER.CREATE.S", NULL, "{\"durable_name\":\"X\"}", 10020, 400,
		    "consumer expected to be ephemeral but a durable name was set in request" },
		{ "$JS.API.CONSUMER.CREATE.S.X", NULL, "{\"durable_name\":\"Z\"}", 10017, 400,
		    "consumer name in subject does not match durable name in request" },
		{ "$JS.API.CONSUMER.DURABLE.CREATE.S.X", NULL, "{}", 10018, 400,
		    "consumer expected to be durable but a durable name was not set" },
		{ "$JS.API.CONSUMER.DURABLE.CREATE.S.X", NULL, "{\"durable_name\":\"Z\"}", 10017, 400,
		    "consumer name in subject does not match durable name in request" },
		{ "$JS.API.CONSUMER.CREATE.S.X.s.a", NULL, "{\"filter_subject\":\"s.b\"}", 10131, 400,
		    "Consumer create request did not match filtered subject from create subject" },
		{ "$JS.API.CONSUMER.CREATE.S.X.s.a", NULL, "{\"filter_subjects\":[\"s.a\"]}", 10137, 400,
		    "consumer with multiple subject filters cannot use subject based API" },
		{ "$JS.API.CONSUMER.CREATE.S.X", "{\"stream_name\":\"T\",\"config\":{}}", NULL, 10056, 400,
		    "stream name in subject does not match request" },
		{ "$JS.API.CONSUMER.CREATE.NOPE.X", "{\"stream_name\":\"NOPE\",\"config\":{}}", NULL, 10059, 404,
		    "stream not found" },
		{ "$JS.API.CONSUMER.CREATE.S.X", "", NULL, 10025, 400, "invalid JSON" },
		{ "$JS.API.CONSUMER.CREATE.S.X", "{\"stream_name\":\"S\",\"config\":{\"ack_policy\":\"sometimes\"}}", NULL,
		    10025, 400, "invalid JSON" },
		{ "$JS.API.CONSUMER.CREATE.S.X", "{\"stream_name\":\"S\",\"config\":{\"max_deliver\":\"5\"}}", NULL, 10025, 400,
		    "invalid JSON" },
		{ "$JS.API.CONSUMER.CREATE.S.X", "{\"stream_name\":\"S\",\"config\":{},\"action\":\"upsert\"}", NULL, 10025,
		    400, "invalid JSON" },
		{ "$JS.API.CONSUMER.CREATE.S.X", "{\"stream_name\":\"S\",\"config\":{\"ack_wait\":1.5}}", NULL, 10025, 400,
		    "invalid JSON" },
		{ "$JS.API.CONSUMER.CREATE.S.X", "{\"stream_name\":\"S\",\"config\":{},\"action\":\"update\"}", NULL, 10149,
		    400, "consumer does not exist" },
		{ "$JS.API.CONSUMER.DURABLE.CREATE.S.a\\b", "{\"stream_name\":\"S\",\"config\":{\"durable_name\":\"a\\\\b\"}}",
		    NULL, 10127, 400, "Consumer name can not contain path separators" },
	};
	Cfx *fx = cfx_new(NULL);
	CfxClient *c = cfx_client(fx);
	cfx_stream(fx, c, STREAM);
	for (guint k = 0; k < G_N_ELEMENTS(cases); k++) {
		const ErrCase *e = &cases[k];
		char *cfg = NULL;
		if (e->cfg != NULL && strstr(e->cfg, "%DESC%") != NULL) {
			char *desc = g_strnfill(4097, 'd');
			GString *s = g_string_new(e->cfg);
			g_string_replace(s, "%DESC%", desc, 1);
			cfg = g_string_free(s, FALSE);
			g_free(desc);
		} else {
			cfg = g_strdup(e->cfg);
		}
		char *body = e->body != NULL ? g_strdup(e->body) : g_strdup_printf("{\"stream_name\":\"S\",\"config\":%s}", cfg);
		const char *subject = e->subject != NULL ? e->subject : "$JS.API.CONSUMER.CREATE.S.X";
		char *d = cfx_req_error(fx, c, subject, body, e->err_code, e->code);
		if (strcmp(d, e->description) != 0)
			g_error("case %u: description \"%s\", want \"%s\"", k, d, e->description);
		g_free(d);
		g_free(body);
		g_free(cfg);
	}
	g_assert_cmpuint(broker_probe_count(fx->broker, BROKER_PROBE_JS_API_ERROR), ==, G_N_ELEMENTS(cases));
	cfx_free(fx);
}

/* Workqueue streams: explicit ack only, one unfiltered consumer, no
 * overlapping filters, deliver all; ack none pull -> 10084. Max
 * consumers -> 10026. */
static void
test_workqueue_and_limits(void)
{
	Cfx *fx = cfx_new(NULL);
	CfxClient *c = cfx_client(fx);
	cfx_stream(fx, c, "{\"name\":\"W\",\"subjects\":[\"w.>\"],\"storage\":\"memory\",\"retention\":\"workqueue\"}");
	char *d;
	d = cfx_req_error(fx, c, "$JS.API.CONSUMER.CREATE.W.A", "{\"stream_name\":\"W\",\"config\":{\"ack_policy\":\"none\"}}",
	    10084, 400);
	g_assert_cmpstr(d, ==, "consumer in pull mode requires ack policy");
	g_free(d);
	d = cfx_req_error(fx, c, "$JS.API.CONSUMER.CREATE.W.A",
	    "{\"stream_name\":\"W\",\"config\":{\"ack_policy\":\"all\"}}", 10098, 400);
	g_assert_cmpstr(d, ==, "workqueue stream requires explicit ack");
	g_free(d);
	json_decref(cfx_consumer(fx, c, "W", "A", "{\"ack_policy\":\"explicit\",\"filter_subject\":\"w.a.>\"}"));
	d = cfx_req_error(fx, c, "$JS.API.CONSUMER.CREATE.W.B", "{\"stream_name\":\"W\",\"config\":{\"ack_policy\":\"explicit\"}}",
	    10099, 400);
	g_assert_cmpstr(d, ==, "multiple non-filtered consumers not allowed on workqueue stream");
	g_free(d);
	d = cfx_req_error(fx, c, "$JS.API.CONSUMER.CREATE.W.B",
	    "{\"stream_name\":\"W\",\"config\":{\"ack_policy\":\"explicit\",\"filter_subject\":\"w.*.x\"}}", 10100, 400);
	g_assert_cmpstr(d, ==, "filtered consumer not unique on workqueue stream");
	g_free(d);
	d = cfx_req_error(fx, c, "$JS.API.CONSUMER.CREATE.W.B",
	    "{\"stream_name\":\"W\",\"config\":{\"ack_policy\":\"explicit\",\"filter_subject\":\"w.b\",\"deliver_policy\":\"new\"}}",
	    10101, 400);
	g_assert_cmpstr(d, ==, "consumer must be deliver all on workqueue stream");
	g_free(d);
	/* v2.14.5 checks deliver all before the other consumers */
	d = cfx_req_error(fx, c, "$JS.API.CONSUMER.CREATE.W.B",
	    "{\"stream_name\":\"W\",\"config\":{\"ack_policy\":\"explicit\",\"deliver_policy\":\"last\"}}", 10101, 400);
	g_free(d);
	json_decref(cfx_consumer(fx, c, "W", "B", "{\"ack_policy\":\"explicit\",\"filter_subject\":\"w.b\"}"));
	cfx_stream(fx, c, "{\"name\":\"M\",\"subjects\":[\"m.>\"],\"storage\":\"memory\",\"max_consumers\":1}");
	json_decref(cfx_consumer(fx, c, "M", "ONE", "{}"));
	d = cfx_req_error(fx, c, "$JS.API.CONSUMER.CREATE.M.TWO", "{\"stream_name\":\"M\",\"config\":{}}", 10026, 400);
	g_assert_cmpstr(d, ==, "maximum consumers limit reached");
	g_free(d);
	/* re-creating the existing one is not a new consumer */
	json_decref(cfx_consumer(fx, c, "M", "ONE", "{}"));
	char *long_name = g_strnfill(256, 'n');
	char *subj = g_strdup_printf("$JS.API.CONSUMER.DURABLE.CREATE.S2.%s", long_name);
	char *body = g_strdup_printf("{\"stream_name\":\"S2\",\"config\":{\"durable_name\":\"%s\"}}", long_name);
	cfx_stream(fx, c, "{\"name\":\"S2\",\"subjects\":[\"x.>\"],\"storage\":\"memory\"}");
	d = cfx_req_error(fx, c, subj, body, 10102, 400);
	g_assert_cmpstr(d, ==, "consumer name is too long, maximum allowed is 255");
	g_free(d);
	g_free(subj);
	g_free(body);
	g_free(long_name);
	cfx_free(fx);
}

/* Re-creating a durable with a changed config updates it in place
 * (ack_wait, max_deliver, max_ack_pending, backoff, description...);
 * what may not change gives 10012 (code 500) with nats-server's text. */
static void
test_update_rules(void)
{
	Cfx *fx = cfx_new(NULL);
	CfxClient *c = cfx_client(fx);
	cfx_stream(fx, c, STREAM);
	json_decref(cfx_consumer(fx, c, "S", "D", "{\"durable_name\":\"D\",\"ack_policy\":\"explicit\"}"));
	json_t *r = cfx_consumer(fx, c, "S", "D",
	    "{\"durable_name\":\"D\",\"ack_policy\":\"explicit\",\"max_deliver\":3,\"ack_wait\":5000000000,"
	    "\"max_ack_pending\":7,\"description\":\"new\",\"inactive_threshold\":60000000000}");
	g_assert_cmpint(cfg_int(r, "max_deliver"), ==, 3);
	g_assert_cmpint(cfg_int(r, "ack_wait"), ==, 5 * SEC);
	g_assert_cmpint(cfg_int(r, "max_ack_pending"), ==, 7);
	g_assert_cmpstr(json_string_value(json_object_get(cfgof(r), "description")), ==, "new");
	json_decref(r);
	static const struct {
		const char *cfg;
		const char *text;
	} bad[] = {
		{ "\"ack_policy\":\"all\"", "ack policy can not be updated" },
		{ "\"ack_policy\":\"explicit\",\"deliver_policy\":\"new\"", "deliver policy can not be updated" },
		{ "\"ack_policy\":\"explicit\",\"deliver_policy\":\"by_start_sequence\",\"opt_start_seq\":2",
		    "deliver policy can not be updated" },
		{ "\"ack_policy\":\"explicit\",\"replay_policy\":\"original\"", "replay policy can not be updated" },
		{ "\"ack_policy\":\"explicit\",\"mem_storage\":true", "storage type can not be updated" },
		{ "\"ack_policy\":\"explicit\",\"max_waiting\":10", "max waiting can not be updated" },
		{ "\"ack_policy\":\"explicit\",\"deliver_subject\":\"d.x\",\"max_waiting\":0", "can not update pull consumer to push based" },
	};
	for (guint k = 0; k < G_N_ELEMENTS(bad); k++) {
		char *body = g_strdup_printf("{\"stream_name\":\"S\",\"config\":{\"durable_name\":\"D\",%s}}", bad[k].cfg);
		char *d = cfx_req_error(fx, c, "$JS.API.CONSUMER.CREATE.S.D", body, 10012, 500);
		g_assert_cmpstr(d, ==, bad[k].text);
		g_free(d);
		g_free(body);
	}
	/* push side */
	json_decref(cfx_consumer(fx, c, "S", "P",
	    "{\"durable_name\":\"P\",\"deliver_subject\":\"d.p\",\"ack_policy\":\"explicit\",\"idle_heartbeat\":1000000000}"));
	json_decref(cfx_consumer(fx, c, "S", "P2", "{\"durable_name\":\"P2\",\"deliver_subject\":\"d.p2\"}"));
	char *d = cfx_req_error(fx, c, "$JS.API.CONSUMER.CREATE.S.P2",
	    "{\"stream_name\":\"S\",\"config\":{\"durable_name\":\"P2\"}}", 10012, 500);
	g_assert_cmpstr(d, ==, "can not update push consumer to pull based");
	g_free(d);
	d = cfx_req_error(fx, c, "$JS.API.CONSUMER.CREATE.S.P",
	    "{\"stream_name\":\"S\",\"config\":{\"durable_name\":\"P\",\"deliver_subject\":\"d.p\",\"ack_policy\":\"explicit\","
	    "\"idle_heartbeat\":2000000000}}",
	    10012, 500);
	g_assert_cmpstr(d, ==, "heart beats can not be updated");
	g_free(d);
	/* the deliver subject may change while unbound, not while bound */
	r = cfx_consumer(fx, c, "S", "P",
	    "{\"durable_name\":\"P\",\"deliver_subject\":\"d.q\",\"ack_policy\":\"explicit\",\"idle_heartbeat\":1000000000}");
	g_assert_cmpstr(json_string_value(json_object_get(cfgof(r), "deliver_subject")), ==, "d.q");
	json_decref(r);
	cfx_sub(fx, c, "d.q", NULL, 1);
	d = cfx_req_error(fx, c, "$JS.API.CONSUMER.CREATE.S.P",
	    "{\"stream_name\":\"S\",\"config\":{\"durable_name\":\"P\",\"deliver_subject\":\"d.r\",\"ack_policy\":\"explicit\","
	    "\"idle_heartbeat\":1000000000}}",
	    10013, 400);
	g_assert_cmpstr(d, ==, "consumer name already in use");
	g_free(d);
	d = cfx_req_error(fx, c, "$JS.API.CONSUMER.CREATE.S.D",
	    "{\"stream_name\":\"S\",\"config\":{\"durable_name\":\"D\",\"ack_policy\":\"explicit\",\"backoff\":[1,2,3],"
	    "\"max_deliver\":2}}",
	    10116, 400);
	g_free(d);
	/* 2.10 actions: create with the same config is fine, with another
	 * one 10148; update of an existing one applies */
	json_t *same = cfx_req(fx, c, "$JS.API.CONSUMER.CREATE.S.E",
	    "{\"stream_name\":\"S\",\"config\":{\"durable_name\":\"E\",\"ack_policy\":\"explicit\"},\"action\":\"create\"}");
	g_assert_null(json_object_get(same, "error"));
	json_decref(same);
	same = cfx_req(fx, c, "$JS.API.CONSUMER.CREATE.S.E",
	    "{\"stream_name\":\"S\",\"config\":{\"durable_name\":\"E\",\"ack_policy\":\"explicit\"},\"action\":\"create\"}");
	g_assert_null(json_object_get(same, "error"));
	json_decref(same);
	d = cfx_req_error(fx, c, "$JS.API.CONSUMER.CREATE.S.E",
	    "{\"stream_name\":\"S\",\"config\":{\"durable_name\":\"E\",\"ack_policy\":\"explicit\",\"max_deliver\":4},\"action\":\"create\"}",
	    10148, 400);
	g_assert_cmpstr(d, ==, "consumer already exists");
	g_free(d);
	r = cfx_req(fx, c, "$JS.API.CONSUMER.CREATE.S.E",
	    "{\"stream_name\":\"S\",\"config\":{\"durable_name\":\"E\",\"ack_policy\":\"explicit\",\"max_deliver\":4},\"action\":\"update\"}");
	g_assert_cmpint(cfg_int(r, "max_deliver"), ==, 4);
	json_decref(r);
	/* a named ephemeral got inactive_threshold 5 s stamped in: the same
	 * request again differs from it (reflect.DeepEqual), so "create"
	 * says it exists - as nats-server v2.10.29 does */
	const char *eph = "{\"stream_name\":\"S\",\"config\":{\"name\":\"N\"},\"action\":\"create\"}";
	json_decref(cfx_req(fx, c, "$JS.API.CONSUMER.CREATE.S.N", eph));
	d = cfx_req_error(fx, c, "$JS.API.CONSUMER.CREATE.S.N", eph, 10148, 400);
	g_free(d);
	cfx_free(fx);
}

/* An update takes effect: max_deliver lowered, max_ack_pending raised
 * (a stalled request resumes). */
static void
test_update_effects(void)
{
	Cfx *fx = cfx_new(NULL);
	CfxClient *c = cfx_client(fx);
	cfx_stream(fx, c, STREAM);
	cfx_pub_n(fx, c, "s.a", 3);
	json_decref(cfx_consumer(fx, c, "S", "D", "{\"durable_name\":\"D\",\"ack_policy\":\"explicit\",\"max_ack_pending\":1}"));
	cfx_pull(fx, c, "S", "D", "_R.in.1", "{\"batch\":3,\"expires\":60000000000}");
	GPtrArray *m = cfx_take_prefix(fx, c, "s.");
	g_assert_cmpuint(m->len, ==, 1);
	g_ptr_array_free(m, TRUE);
	json_decref(cfx_consumer(fx, c, "S", "D", "{\"durable_name\":\"D\",\"ack_policy\":\"explicit\",\"max_ack_pending\":5}"));
	m = cfx_take_prefix(fx, c, "s.");
	g_assert_cmpuint(m->len, ==, 2);
	g_ptr_array_free(m, TRUE);
	cfx_free(fx);
}

/* INFO / DELETE / NAMES / LIST: errors, sorted names with offset and
 * paging fields, list of infos, created/deleted advisories. */
static void
test_info_delete_names_list(void)
{
	Cfx *fx = cfx_new(NULL);
	CfxClient *c = cfx_client(fx);
	cfx_sub(fx, c, "$JS.EVENT.ADVISORY.CONSUMER.>", NULL, 7);
	cfx_stream(fx, c, STREAM);
	const char *names[] = { "delta", "alpha", "charlie", "bravo" };
	for (guint k = 0; k < 4; k++) {
		char *cfg = g_strdup_printf("{\"durable_name\":\"%s\"}", names[k]);
		json_decref(cfx_consumer(fx, c, "S", names[k], cfg));
		g_free(cfg);
	}
	GPtrArray *adv = cfx_take_prefix(fx, c, "$JS.EVENT.ADVISORY.CONSUMER.CREATED.S.");
	g_assert_cmpuint(adv->len, ==, 4);
	json_t *a = json_loads(((CfxMsg *)adv->pdata[0])->data->str, 0, NULL);
	g_assert_cmpstr(json_string_value(json_object_get(a, "type")), ==, "io.nats.jetstream.advisory.v1.consumer_action");
	g_assert_cmpstr(json_string_value(json_object_get(a, "stream")), ==, "S");
	g_assert_cmpstr(json_string_value(json_object_get(a, "consumer")), ==, "delta");
	g_assert_cmpstr(json_string_value(json_object_get(a, "action")), ==, "create");
	json_decref(a);
	g_ptr_array_free(adv, TRUE);
	json_t *r = cfx_req(fx, c, "$JS.API.CONSUMER.NAMES.S", "");
	char *text = json_dumps(r, JSON_COMPACT | JSON_PRESERVE_ORDER);
	g_assert_cmpstr(text, ==,
	    "{\"type\":\"io.nats.jetstream.api.v1.consumer_names_response\",\"total\":4,\"offset\":0,\"limit\":1024,"
	    "\"consumers\":[\"alpha\",\"bravo\",\"charlie\",\"delta\"]}");
	free(text);
	json_decref(r);
	r = cfx_req(fx, c, "$JS.API.CONSUMER.NAMES.S", "{\"offset\":3}");
	g_assert_cmpint(json_array_size(json_object_get(r, "consumers")), ==, 1);
	g_assert_cmpint(json_integer_value(json_object_get(r, "offset")), ==, 3);
	json_decref(r);
	r = cfx_req(fx, c, "$JS.API.CONSUMER.LIST.S", "{\"offset\":1}");
	g_assert_cmpint(json_integer_value(json_object_get(r, "total")), ==, 4);
	g_assert_cmpint(json_integer_value(json_object_get(r, "limit")), ==, 256);
	json_t *list = json_object_get(r, "consumers");
	g_assert_cmpint(json_array_size(list), ==, 3);
	g_assert_cmpstr(json_string_value(json_object_get(json_array_get(list, 0), "name")), ==, "bravo");
	g_assert_nonnull(json_object_get(json_array_get(list, 0), "config"));
	json_decref(r);
	r = cfx_req(fx, c, "$JS.API.CONSUMER.NAMES.NOPE", "");
	text = json_dumps(r, JSON_COMPACT | JSON_PRESERVE_ORDER);
	g_assert_cmpstr(text, ==,
	    "{\"type\":\"io.nats.jetstream.api.v1.consumer_names_response\",\"error\":{\"code\":404,\"err_code\":10059,"
	    "\"description\":\"stream not found\"},\"total\":0,\"offset\":0,\"limit\":0,\"consumers\":[]}");
	free(text);
	json_decref(r);
	char *d = cfx_req_error(fx, c, "$JS.API.CONSUMER.NAMES.S", "{\"offset\":", 10025, 400);
	g_free(d);
	d = cfx_req_error(fx, c, "$JS.API.CONSUMER.INFO.S.nope", "", 10014, 404);
	g_assert_cmpstr(d, ==, "consumer not found");
	g_free(d);
	d = cfx_req_error(fx, c, "$JS.API.CONSUMER.INFO.NOPE.alpha", "", 10059, 404);
	g_free(d);
	d = cfx_req_error(fx, c, "$JS.API.CONSUMER.INFO.S.alpha", "{\"x\":1}", 10038, 400);
	g_assert_cmpstr(d, ==, "expected an empty request payload");
	g_free(d);
	r = cfx_req(fx, c, "$JS.API.CONSUMER.INFO.S.alpha", "{}");
	g_assert_cmpstr(json_string_value(json_object_get(r, "type")), ==, "io.nats.jetstream.api.v1.consumer_info_response");
	g_assert_cmpstr(json_string_value(json_object_get(r, "stream_name")), ==, "S");
	json_decref(r);
	r = cfx_req(fx, c, "$JS.API.CONSUMER.DELETE.S.alpha", "");
	text = json_dumps(r, JSON_COMPACT | JSON_PRESERVE_ORDER);
	g_assert_cmpstr(text, ==, "{\"type\":\"io.nats.jetstream.api.v1.consumer_delete_response\",\"success\":true}");
	free(text);
	json_decref(r);
	adv = cfx_take_prefix(fx, c, "$JS.EVENT.ADVISORY.CONSUMER.DELETED.S.alpha");
	g_assert_cmpuint(adv->len, ==, 1);
	g_ptr_array_free(adv, TRUE);
	d = cfx_req_error(fx, c, "$JS.API.CONSUMER.DELETE.S.alpha", "", 10014, 404);
	g_free(d);
	d = cfx_req_error(fx, c, "$JS.API.CONSUMER.DELETE.S.bravo", "x", 10038, 400);
	g_free(d);
	g_assert_cmpint(cfx_info_int(fx, c, "S", "bravo", "num_pending"), ==, 0);
	/* the stream's delete takes its consumers (advisories too) */
	json_decref(cfx_req(fx, c, "$JS.API.STREAM.DELETE.S", ""));
	adv = cfx_take_prefix(fx, c, "$JS.EVENT.ADVISORY.CONSUMER.DELETED.S.");
	g_assert_cmpuint(adv->len, ==, 3);
	g_ptr_array_free(adv, TRUE);
	cfx_free(fx);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/js/consumer/config/defaults", test_defaults);
	g_test_add_func("/js/consumer/config/validation-errors", test_validation_errors);
	g_test_add_func("/js/consumer/config/workqueue-and-limits", test_workqueue_and_limits);
	g_test_add_func("/js/consumer/config/update-rules", test_update_rules);
	g_test_add_func("/js/consumer/config/update-effects", test_update_effects);
	g_test_add_func("/js/consumer/config/info-delete-names-list", test_info_delete_names_list);
	return g_test_run();
}
