/*
 * cli.c - natsim-cli, a command-line NATS client in the spirit of the nats
 * CLI, built on the real driver (client/tcp.h).
 *
 *   natsim-cli [-s URL] [--timeout D] COMMAND ...
 *
 * Commands: pub, sub, req, reply, stream add|info|rm|purge|ls,
 * consumer add|info|rm|ls|next, js pub (see usage below). Results go to
 * stdout; errors to stderr with exit status 1 (2 for usage errors).
 * "info" and "add" commands print the server's JSON.
 *
 * It reaches the outside world only through client/tcp.h (the clock for
 * round-trip times is client_tcp_now_ns), so the determinism lint needs
 * no exemption for it.
 */
#include <glib.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/tcp.h"

static const char usage[] =
    "usage: natsim-cli [-s URL] [--timeout D] COMMAND ...\n"
    "  pub SUBJECT [BODY] [--count N] [-H key:value]...   ({{Count}} in BODY is the message number)\n"
    "  sub SUBJECT [--queue Q] [--count N] [--raw]\n"
    "  req SUBJECT BODY [--timeout D] [--raw] [-H key:value]...\n"
    "  reply SUBJECT BODY [--count N] [--queue Q]\n"
    "  stream add NAME --subjects S[,S...] [--storage file|memory] [--retention limits|interest|workqueue]\n"
    "                  [--max-msgs N] [--max-age D]\n"
    "  stream info|rm|purge NAME\n"
    "  stream ls\n"
    "  consumer add STREAM NAME [--pull | --deliver SUBJECT] [--ack none|all|explicit] [--ack-wait D]\n"
    "                           [--max-deliver N] [--filter S]\n"
    "  consumer info|rm STREAM NAME\n"
    "  consumer ls STREAM\n"
    "  consumer next STREAM NAME [--count N] [--ack|--no-ack] [--raw]\n"
    "  js pub SUBJECT BODY [--msg-id ID] [-H key:value]...\n"
    "URL defaults to $NATS_URL or nats://127.0.0.1:4222; D is a duration such as 500ms, 2s, 1m.\n";

typedef struct Args {
	GPtrArray *pos;   /* positional words */
	GHashTable *opts; /* option name -> value ("" for flags) */
	GPtrArray *headers; /* -H values */
} Args;

static const struct {
	const char *name;
	bool value;
} option_specs[] = {
	{ "s", true }, { "server", true }, { "timeout", true }, { "count", true }, { "H", true }, { "header", true },
	{ "queue", true }, { "raw", false }, { "subjects", true }, { "storage", true }, { "retention", true },
	{ "max-msgs", true }, { "max-age", true }, { "pull", false }, { "deliver", true }, { "ack", false },
	{ "no-ack", false }, { "ack-policy", true }, { "ack-wait", true }, { "max-deliver", true }, { "filter", true },
	{ "msg-id", true },
};

static int
fail_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "natsim-cli: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n%s", usage);
	return 2;
}

static int
fail(const char *what, ClientStatus st, const ClientJsError *err)
{
	if (st == CLIENT_ERR_JS && err != NULL)
		fprintf(stderr, "natsim-cli: error: %s: %s (code %d, err_code %d)\n", what, err->description, err->code,
		    err->err_code);
	else
		fprintf(stderr, "natsim-cli: error: %s: %s\n", what, client_status_str(st));
	return 1;
}

/* Parses argv into positionals and options; "--ack" is a flag when no
 * value follows, "--ack explicit" on consumer add is its policy. */
static int
parse_args(int argc, char **argv, Args *a)
{
	a->pos = g_ptr_array_new();
	a->opts = g_hash_table_new(g_str_hash, g_str_equal);
	a->headers = g_ptr_array_new();
	for (int k = 1; k < argc; k++) {
		const char *w = argv[k];
		if (w[0] != '-' || w[1] == '\0') {
			g_ptr_array_add(a->pos, argv[k]);
			continue;
		}
		const char *name = w + (w[1] == '-' ? 2 : 1);
		char *eq = strchr(name, '=');
		char namebuf[64];
		const char *value = NULL;
		if (eq != NULL) {
			g_strlcpy(namebuf, name, MIN(sizeof(namebuf), (size_t)(eq - name) + 1));
			name = namebuf;
			value = eq + 1;
		}
		bool known = false, wants = false;
		for (size_t s = 0; s < G_N_ELEMENTS(option_specs); s++)
			if (strcmp(option_specs[s].name, name) == 0) {
				known = true;
				wants = option_specs[s].value;
			}
		if (!known)
			return fail_usage("unknown option %s", w);
		if (strcmp(name, "ack") == 0 && value == NULL && k + 1 < argc &&
		    (strcmp(argv[k + 1], "none") == 0 || strcmp(argv[k + 1], "all") == 0 ||
		        strcmp(argv[k + 1], "explicit") == 0)) {
			g_hash_table_insert(a->opts, (gpointer) "ack-policy", argv[++k]);
			continue;
		}
		if (wants && value == NULL) {
			if (k + 1 >= argc)
				return fail_usage("option %s needs a value", w);
			value = argv[++k];
		}
		if (!wants && value != NULL)
			return fail_usage("option %s takes no value", w);
		if (strcmp(name, "H") == 0 || strcmp(name, "header") == 0)
			g_ptr_array_add(a->headers, (gpointer)value);
		else if (strcmp(name, "server") == 0)
			g_hash_table_insert(a->opts, (gpointer) "s", (gpointer)value);
		else
			g_hash_table_insert(a->opts, (gpointer)g_intern_string(name), (gpointer)(value ? value : ""));
	}
	return 0;
}

static const char *
opt(const Args *a, const char *name)
{
	return g_hash_table_lookup(a->opts, name);
}

static bool
opt_u64(const Args *a, const char *name, uint64_t def, uint64_t *out)
{
	const char *v = opt(a, name);
	if (v == NULL) {
		*out = def;
		return true;
	}
	char *end;
	guint64 n = g_ascii_strtoull(v, &end, 10);
	if (*v == '\0' || *end != '\0')
		return false;
	*out = n;
	return true;
}

static bool
opt_duration(const Args *a, const char *name, int64_t def, int64_t *out)
{
	const char *v = opt(a, name);
	if (v == NULL) {
		*out = def;
		return true;
	}
	return client_duration_parse(v, out) == CLIENT_OK;
}

static bool
build_headers(const Args *a, ClientHeaders *h)
{
	client_headers_init(h);
	for (guint k = 0; k < a->headers->len; k++) {
		char *kv = g_strdup(g_ptr_array_index(a->headers, k));
		char *colon = strchr(kv, ':');
		bool ok = colon != NULL;
		if (ok) {
			*colon = '\0';
			ok = client_headers_add(h, g_strstrip(kv), g_strstrip(colon + 1)) == CLIENT_OK;
		}
		g_free(kv);
		if (!ok)
			return false;
	}
	return true;
}

static char *
render_body(const char *body, uint64_t count)
{
	char num[24];
	g_snprintf(num, sizeof(num), "%" G_GUINT64_FORMAT, count);
	gchar **parts = g_strsplit(body, "{{Count}}", -1);
	char *out = g_strjoinv(num, parts);
	g_strfreev(parts);
	return out;
}

static void
print_msg(const ClientMsg *m, uint64_t n, bool raw)
{
	if (raw) {
		fwrite(m->data, 1, m->data_len, stdout);
		fputc('\n', stdout);
		fflush(stdout);
		return;
	}
	printf("[#%" G_GUINT64_FORMAT "] Received on \"%s\"", n, m->subject);
	if (m->reply != NULL)
		printf(" with reply \"%s\"", m->reply);
	printf("\n");
	if (m->headers != NULL) {
		/* the header lines after the version line, as they are */
		const char *h = (const char *)m->headers;
		const char *nl = memchr(h, '\n', m->headers_len);
		if (nl != NULL)
			fwrite(nl + 1, 1, m->headers_len - (size_t)(nl + 1 - h) - 2, stdout);
	}
	fwrite(m->data, 1, m->data_len, stdout);
	printf("\n\n");
	fflush(stdout);
}

static void
print_json(json_t *j)
{
	char *text = json_dumps(j, JSON_INDENT(2));
	printf("%s\n", text ? text : "null");
	free(text);
}

/* ---- commands ---- */

static int
cmd_pub(ClientTcp *tcp, const Args *a, int64_t timeout_ns)
{
	if (a->pos->len < 2 || a->pos->len > 3)
		return fail_usage("pub needs SUBJECT [BODY]%s", "");
	const char *subject = g_ptr_array_index(a->pos, 1);
	const char *body = a->pos->len == 3 ? g_ptr_array_index(a->pos, 2) : "";
	uint64_t count;
	if (!opt_u64(a, "count", 1, &count) || count == 0)
		return fail_usage("bad --count %s", opt(a, "count"));
	ClientHeaders h;
	if (!build_headers(a, &h)) {
		client_headers_clear(&h);
		return fail_usage("bad header (want key:value)%s", "");
	}
	size_t hl;
	const uint8_t *hb = client_headers_block(&h, &hl);
	ClientStatus st = CLIENT_OK;
	for (uint64_t k = 1; k <= count && st == CLIENT_OK; k++) {
		char *data = render_body(body, k);
		st = client_tcp_publish(tcp, subject, NULL, hb, hl, data, strlen(data));
		g_free(data);
	}
	client_headers_clear(&h);
	if (st == CLIENT_OK)
		st = client_tcp_flush(tcp, timeout_ns);
	if (st != CLIENT_OK)
		return fail("publish", st, NULL);
	printf("Published %" G_GUINT64_FORMAT " message%s to \"%s\"\n", count, count == 1 ? "" : "s", subject);
	return 0;
}

static int
cmd_sub(ClientTcp *tcp, const Args *a, int64_t timeout_ns)
{
	if (a->pos->len != 2)
		return fail_usage("sub needs SUBJECT%s", "");
	const char *subject = g_ptr_array_index(a->pos, 1);
	uint64_t count;
	if (!opt_u64(a, "count", 0, &count))
		return fail_usage("bad --count %s", opt(a, "count"));
	bool raw = opt(a, "raw") != NULL;
	uint64_t sid;
	ClientStatus st = client_tcp_subscribe(tcp, subject, opt(a, "queue"), NULL, NULL, &sid);
	if (st == CLIENT_OK)
		st = client_tcp_flush(tcp, timeout_ns);
	if (st != CLIENT_OK)
		return fail("subscribe", st, NULL);
	fprintf(stderr, "Subscribing on %s\n", subject);
	fflush(stderr);
	for (uint64_t n = 1; count == 0 || n <= count; n++) {
		ClientMsg *m = NULL;
		do
			st = client_tcp_sub_next_msg(tcp, sid, 3600 * CLIENT_NS_PER_S, &m);
		while (st == CLIENT_ERR_TIMEOUT);
		if (st != CLIENT_OK)
			return fail("subscription", st, NULL);
		print_msg(m, n, raw);
		client_msg_free(m);
	}
	return 0;
}

static int
cmd_req(ClientTcp *tcp, const Args *a, int64_t timeout_ns)
{
	if (a->pos->len != 3)
		return fail_usage("req needs SUBJECT BODY%s", "");
	ClientHeaders h;
	if (!build_headers(a, &h)) {
		client_headers_clear(&h);
		return fail_usage("bad header (want key:value)%s", "");
	}
	size_t hl;
	const uint8_t *hb = client_headers_block(&h, &hl);
	const char *body = g_ptr_array_index(a->pos, 2);
	ClientMsg *reply = NULL;
	int64_t t0 = client_tcp_now_ns();
	ClientStatus st =
	    client_tcp_request(tcp, g_ptr_array_index(a->pos, 1), hb, hl, body, strlen(body), timeout_ns, &reply);
	int64_t rtt = client_tcp_now_ns() - t0;
	client_headers_clear(&h);
	if (st != CLIENT_OK)
		return fail("request", st, NULL);
	if (opt(a, "raw") == NULL)
		printf("Received with rtt %.3fms\n", (double)rtt / 1e6);
	print_msg(reply, 1, true);
	client_msg_free(reply);
	return 0;
}

typedef struct Replier {
	ClientTcp *tcp;
	const char *body;
	uint64_t count;
	uint64_t done;
	GMutex lock;
	GCond cond;
} Replier;

static void
on_request(void *ctx, ClientConn *conn, const ClientMsg *m)
{
	(void)conn;
	Replier *r = ctx;
	if (m->reply == NULL)
		return;
	g_mutex_lock(&r->lock);
	uint64_t n = ++r->done;
	g_mutex_unlock(&r->lock);
	char *data = render_body(r->body, n);
	client_tcp_publish(r->tcp, m->reply, NULL, NULL, 0, data, strlen(data));
	g_free(data);
	g_mutex_lock(&r->lock);
	g_cond_broadcast(&r->cond);
	g_mutex_unlock(&r->lock);
}

static int
cmd_reply(ClientTcp *tcp, const Args *a, int64_t timeout_ns)
{
	if (a->pos->len != 3)
		return fail_usage("reply needs SUBJECT BODY%s", "");
	Replier r = { .tcp = tcp, .body = g_ptr_array_index(a->pos, 2) };
	g_mutex_init(&r.lock);
	g_cond_init(&r.cond);
	if (!opt_u64(a, "count", 0, &r.count))
		return fail_usage("bad --count %s", opt(a, "count"));
	uint64_t sid;
	ClientStatus st = client_tcp_subscribe(tcp, g_ptr_array_index(a->pos, 1), opt(a, "queue"), on_request, &r, &sid);
	if (st == CLIENT_OK)
		st = client_tcp_flush(tcp, timeout_ns);
	if (st != CLIENT_OK)
		return fail("subscribe", st, NULL);
	fprintf(stderr, "Listening on %s\n", (const char *)g_ptr_array_index(a->pos, 1));
	fflush(stderr);
	g_mutex_lock(&r.lock);
	while (r.count == 0 || r.done < r.count)
		g_cond_wait(&r.cond, &r.lock);
	g_mutex_unlock(&r.lock);
	client_tcp_unsubscribe(tcp, sid, 0);
	st = client_tcp_flush(tcp, timeout_ns);
	printf("Answered %" G_GUINT64_FORMAT " request%s\n", r.done, r.done == 1 ? "" : "s");
	return st == CLIENT_OK ? 0 : fail("flush", st, NULL);
}

static bool
name_arg(const Args *a, guint index, const char **out)
{
	if (a->pos->len <= index)
		return false;
	*out = g_ptr_array_index(a->pos, index);
	return true;
}

static int
js_call(ClientTcp *tcp, const char *what, const char *api, json_t *body, int64_t timeout_ns, json_t **resp)
{
	ClientJsError err;
	ClientStatus st = client_tcp_js_api(tcp, api, body, timeout_ns, resp, &err);
	json_decref(body);
	if (st != CLIENT_OK) {
		json_decref(*resp);
		*resp = NULL;
		return fail(what, st, &err);
	}
	return 0;
}

static int
cmd_stream(ClientTcp *tcp, const Args *a, int64_t timeout_ns)
{
	const char *verb = a->pos->len > 1 ? g_ptr_array_index(a->pos, 1) : "";
	const char *name = NULL;
	json_t *resp = NULL;
	char api[512];
	int rc;
	if (strcmp(verb, "add") == 0) {
		if (a->pos->len != 3 || !name_arg(a, 2, &name) || opt(a, "subjects") == NULL)
			return fail_usage("stream add needs NAME --subjects S[,S...]%s", "");
		gchar **subjects = g_strsplit(opt(a, "subjects"), ",", -1);
		ClientStreamConfig c = { .name = name, .subjects = (const char *const *)subjects,
			.subjects_count = g_strv_length(subjects) };
		const char *storage = opt(a, "storage"), *retention = opt(a, "retention");
		bool ok = true;
		if (storage != NULL)
			ok = ok && (strcmp(storage, "file") == 0 || (strcmp(storage, "memory") == 0 && (c.storage = CLIENT_JS_MEMORY)));
		if (retention != NULL) {
			if (strcmp(retention, "interest") == 0)
				c.retention = CLIENT_JS_INTEREST;
			else if (strcmp(retention, "workqueue") == 0)
				c.retention = CLIENT_JS_WORKQUEUE;
			else
				ok = ok && strcmp(retention, "limits") == 0;
		}
		uint64_t max_msgs = 0;
		ok = ok && opt_u64(a, "max-msgs", 0, &max_msgs) && opt_duration(a, "max-age", 0, &c.max_age_ns);
		c.max_msgs = (int64_t)max_msgs;
		if (!ok) {
			g_strfreev(subjects);
			return fail_usage("bad stream option%s", "");
		}
		ClientJsError err;
		ClientStatus st = client_tcp_stream_add(tcp, &c, timeout_ns, &resp, &err);
		g_strfreev(subjects);
		if (st != CLIENT_OK) {
			json_decref(resp);
			return fail("stream add", st, &err);
		}
		print_json(resp);
		json_decref(resp);
		return 0;
	}
	if (strcmp(verb, "ls") == 0) {
		uint64_t offset = 0;
		for (;;) {
			json_t *body = json_object();
			json_object_set_new(body, "offset", json_integer((json_int_t)offset));
			if ((rc = js_call(tcp, "stream ls", "STREAM.NAMES", body, timeout_ns, &resp)) != 0)
				return rc;
			json_t *names = json_object_get(resp, "streams");
			size_t k;
			json_t *v;
			json_array_foreach(names, k, v) printf("%s\n", json_string_value(v));
			offset += json_array_size(names);
			uint64_t total = (uint64_t)json_integer_value(json_object_get(resp, "total"));
			bool more = json_array_size(names) > 0 && offset < total;
			json_decref(resp);
			if (!more)
				return 0;
		}
	}
	if (a->pos->len != 3 || !name_arg(a, 2, &name))
		return fail_usage("stream %s needs NAME", verb);
	if (strcmp(verb, "info") == 0) {
		g_snprintf(api, sizeof(api), "STREAM.INFO.%s", name);
		if ((rc = js_call(tcp, "stream info", api, NULL, timeout_ns, &resp)) != 0)
			return rc;
		print_json(resp);
	} else if (strcmp(verb, "rm") == 0) {
		g_snprintf(api, sizeof(api), "STREAM.DELETE.%s", name);
		if ((rc = js_call(tcp, "stream rm", api, NULL, timeout_ns, &resp)) != 0)
			return rc;
		printf("Stream %s deleted\n", name);
	} else if (strcmp(verb, "purge") == 0) {
		g_snprintf(api, sizeof(api), "STREAM.PURGE.%s", name);
		if ((rc = js_call(tcp, "stream purge", api, NULL, timeout_ns, &resp)) != 0)
			return rc;
		printf("Purged %" JSON_INTEGER_FORMAT " messages from %s\n", json_integer_value(json_object_get(resp, "purged")),
		    name);
	} else {
		return fail_usage("unknown stream command %s", verb);
	}
	json_decref(resp);
	return 0;
}

static int
cmd_consumer_next(ClientTcp *tcp, const Args *a, const char *stream, const char *name, int64_t timeout_ns)
{
	uint64_t count;
	if (!opt_u64(a, "count", 1, &count) || count == 0)
		return fail_usage("bad --count %s", opt(a, "count"));
	bool ack = opt(a, "no-ack") == NULL;
	bool raw = opt(a, "raw") != NULL;
	for (uint64_t n = 1; n <= count; n++) {
		ClientFetchOptions fo = { .batch = 1, .expires_ns = timeout_ns };
		GPtrArray *msgs = NULL;
		int code = 0;
		ClientStatus st = client_tcp_js_fetch(tcp, stream, name, &fo, &msgs, &code);
		if (msgs == NULL || msgs->len == 0) {
			if (msgs != NULL)
				g_ptr_array_free(msgs, TRUE);
			return fail("consumer next: no message received", st == CLIENT_OK ? CLIENT_ERR_TIMEOUT : st, NULL);
		}
		ClientMsg *m = g_ptr_array_index(msgs, 0);
		if (!raw) {
			ClientJsMeta meta;
			if (m->reply != NULL && client_js_meta_parse(m->reply, &meta) == CLIENT_OK)
				printf("[#%" G_GUINT64_FORMAT "] subject: %s stream_seq: %" G_GUINT64_FORMAT
				       " consumer_seq: %" G_GUINT64_FORMAT " delivered: %" G_GUINT64_FORMAT
				       " pending: %" G_GUINT64_FORMAT "\n",
				    n, m->subject, meta.stream_seq, meta.consumer_seq, meta.delivered, meta.pending);
		}
		print_msg(m, n, true);
		if (ack && m->reply != NULL) {
			st = client_tcp_js_ack_sync(tcp, m, CLIENT_ACK_ACK, 0, timeout_ns);
			if (st != CLIENT_OK) {
				g_ptr_array_free(msgs, TRUE);
				return fail("ack", st, NULL);
			}
			if (!raw)
				printf("Acknowledged message\n\n");
		}
		g_ptr_array_free(msgs, TRUE);
	}
	return 0;
}

static int
cmd_consumer(ClientTcp *tcp, const Args *a, int64_t timeout_ns)
{
	const char *verb = a->pos->len > 1 ? g_ptr_array_index(a->pos, 1) : "";
	const char *stream = NULL, *name = NULL;
	json_t *resp = NULL;
	char api[600];
	int rc;
	if (!name_arg(a, 2, &stream))
		return fail_usage("consumer %s needs STREAM", verb);
	if (strcmp(verb, "ls") == 0) {
		if (a->pos->len != 3)
			return fail_usage("consumer ls needs STREAM%s", "");
		uint64_t offset = 0;
		for (;;) {
			json_t *body = json_object();
			json_object_set_new(body, "offset", json_integer((json_int_t)offset));
			g_snprintf(api, sizeof(api), "CONSUMER.NAMES.%s", stream);
			if ((rc = js_call(tcp, "consumer ls", api, body, timeout_ns, &resp)) != 0)
				return rc;
			json_t *names = json_object_get(resp, "consumers");
			size_t k;
			json_t *v;
			json_array_foreach(names, k, v) printf("%s\n", json_string_value(v));
			offset += json_array_size(names);
			uint64_t total = (uint64_t)json_integer_value(json_object_get(resp, "total"));
			bool more = json_array_size(names) > 0 && offset < total;
			json_decref(resp);
			if (!more)
				return 0;
		}
	}
	if (a->pos->len != 4 || !name_arg(a, 3, &name))
		return fail_usage("consumer %s needs STREAM NAME", verb);
	if (strcmp(verb, "add") == 0) {
		ClientConsumerConfig c = { .durable_name = name };
		if (opt(a, "pull") != NULL && opt(a, "deliver") != NULL)
			return fail_usage("--pull and --deliver exclude each other%s", "");
		c.deliver_subject = opt(a, "deliver");
		c.filter_subject = opt(a, "filter");
		const char *policy = opt(a, "ack-policy");
		if (policy != NULL) {
			if (strcmp(policy, "none") == 0)
				c.ack_policy = CLIENT_JS_ACK_NONE;
			else if (strcmp(policy, "all") == 0)
				c.ack_policy = CLIENT_JS_ACK_ALL;
			else if (strcmp(policy, "explicit") != 0)
				return fail_usage("bad --ack %s", policy);
		}
		uint64_t max_deliver = 0;
		if (!opt_duration(a, "ack-wait", 0, &c.ack_wait_ns) || !opt_u64(a, "max-deliver", 0, &max_deliver))
			return fail_usage("bad consumer option%s", "");
		c.max_deliver = (int64_t)max_deliver;
		ClientJsError err;
		ClientStatus st = client_tcp_consumer_add(tcp, stream, &c, timeout_ns, &resp, &err);
		if (st != CLIENT_OK) {
			json_decref(resp);
			return fail("consumer add", st, &err);
		}
		print_json(resp);
	} else if (strcmp(verb, "info") == 0) {
		g_snprintf(api, sizeof(api), "CONSUMER.INFO.%s.%s", stream, name);
		if ((rc = js_call(tcp, "consumer info", api, NULL, timeout_ns, &resp)) != 0)
			return rc;
		print_json(resp);
	} else if (strcmp(verb, "rm") == 0) {
		g_snprintf(api, sizeof(api), "CONSUMER.DELETE.%s.%s", stream, name);
		if ((rc = js_call(tcp, "consumer rm", api, NULL, timeout_ns, &resp)) != 0)
			return rc;
		printf("Consumer %s > %s deleted\n", stream, name);
	} else if (strcmp(verb, "next") == 0) {
		return cmd_consumer_next(tcp, a, stream, name, timeout_ns);
	} else {
		return fail_usage("unknown consumer command %s", verb);
	}
	json_decref(resp);
	return 0;
}

static int
cmd_js(ClientTcp *tcp, const Args *a, int64_t timeout_ns)
{
	if (a->pos->len != 4 || strcmp(g_ptr_array_index(a->pos, 1), "pub") != 0)
		return fail_usage("js pub needs SUBJECT BODY%s", "");
	const char *body = g_ptr_array_index(a->pos, 3);
	ClientHeaders h;
	if (!build_headers(a, &h)) {
		client_headers_clear(&h);
		return fail_usage("bad header (want key:value)%s", "");
	}
	ClientJsPubOptions po = CLIENT_JS_PUB_OPTIONS_INIT;
	po.msg_id = opt(a, "msg-id");
	size_t hl = 0;
	const uint8_t *hb = client_headers_block(&h, &hl);
	po.headers = hb;
	po.headers_len = hl;
	ClientPubAck ack;
	ClientJsError err;
	ClientStatus st =
	    client_tcp_js_publish(tcp, g_ptr_array_index(a->pos, 2), body, strlen(body), &po, timeout_ns, &ack, &err);
	client_headers_clear(&h);
	if (st != CLIENT_OK)
		return fail("js pub", st, &err);
	printf("Published to stream %s sequence %" G_GUINT64_FORMAT "%s\n", ack.stream, ack.seq,
	    ack.duplicate ? " (duplicate)" : "");
	return 0;
}

int
main(int argc, char **argv)
{
	Args a;
	int rc = parse_args(argc, argv, &a);
	if (rc != 0)
		return rc;
	if (a.pos->len == 0)
		return fail_usage("a command is needed%s", "");
	const char *cmd = g_ptr_array_index(a.pos, 0);
	int (*fn)(ClientTcp *, const Args *, int64_t) = NULL;
	if (strcmp(cmd, "pub") == 0)
		fn = cmd_pub;
	else if (strcmp(cmd, "sub") == 0)
		fn = cmd_sub;
	else if (strcmp(cmd, "req") == 0 || strcmp(cmd, "request") == 0)
		fn = cmd_req;
	else if (strcmp(cmd, "reply") == 0)
		fn = cmd_reply;
	else if (strcmp(cmd, "stream") == 0)
		fn = cmd_stream;
	else if (strcmp(cmd, "consumer") == 0)
		fn = cmd_consumer;
	else if (strcmp(cmd, "js") == 0)
		fn = cmd_js;
	else
		return fail_usage("unknown command %s", cmd);
	int64_t timeout_ns;
	if (!opt_duration(&a, "timeout", 5 * CLIENT_NS_PER_S, &timeout_ns) || timeout_ns <= 0)
		return fail_usage("bad --timeout %s", opt(&a, "timeout"));
	ClientTcpOptions o = client_tcp_options_default();
	const char *url = opt(&a, "s");
	if (url == NULL)
		url = g_getenv("NATS_URL");
	if (url != NULL)
		o.url = url;
	o.core.name = "natsim-cli";
	ClientTcp *tcp = NULL;
	ClientStatus st = client_tcp_connect(&tcp, &o, timeout_ns);
	if (st != CLIENT_OK) {
		fprintf(stderr, "natsim-cli: error: cannot connect to %s: %s\n", o.url, client_status_str(st));
		return 1;
	}
	rc = fn(tcp, &a, timeout_ns);
	client_tcp_destroy(tcp);
	g_ptr_array_free(a.pos, TRUE);
	g_ptr_array_free(a.headers, TRUE);
	g_hash_table_destroy(a.opts);
	return rc;
}
