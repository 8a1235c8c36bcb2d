/*
 * js_fixture.c - see js_fixture.h.
 */
#include "js_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct FxClient {
	BrokerConn *conn;
	GString *in; /* received bytes not yet parsed */
	GPtrArray *msgs; /* FxMsg* parsed, not yet taken */
	uint64_t next_reply;
};

static void
msg_free(gpointer p)
{
	FxMsg *m = p;
	g_free(m->subject);
	g_free(m->sid);
	g_free(m->reply);
	if (m->hdr != NULL)
		g_string_free(m->hdr, TRUE);
	g_string_free(m->data, TRUE);
	g_free(m);
}

static void
on_log(void *ctx, BrokerLogLevel level, const char *message)
{
	Fx *fx = ctx;
	(void)level;
	g_ptr_array_add(fx->logs, g_strdup(message));
}

Fx *
fx_new(const BrokerConfig *config)
{
	Fx *fx = g_new0(Fx, 1);
	if (config != NULL)
		fx->config = *config;
	fx->config.jetstream = true;
	fx->config.log_level = BROKER_LOG_INFO;
	fx->now_ns = FX_EPOCH_NS;
	fx->clients = g_ptr_array_new();
	fx->logs = g_ptr_array_new_with_free_func(g_free);
	BrokerCallbacks cb = { .log = on_log };
	fx->broker = broker_create(&fx->config, 42, fx->now_ns, &cb, fx);
	return fx;
}

void
fx_free(Fx *fx)
{
	broker_destroy(fx->broker);
	for (guint k = 0; k < fx->clients->len; k++) {
		FxClient *c = fx->clients->pdata[k];
		g_string_free(c->in, TRUE);
		g_ptr_array_free(c->msgs, TRUE);
		g_free(c);
	}
	g_ptr_array_free(fx->clients, TRUE);
	g_ptr_array_free(fx->logs, TRUE);
	g_free(fx);
}

/* Parses complete frames out of c->in. */
static void
parse(Fx *fx, FxClient *c)
{
	for (;;) {
		char *eol = strstr(c->in->str, "\r\n");
		if (eol == NULL)
			return;
		size_t line_len = (size_t)(eol - c->in->str);
		char *line = g_strndup(c->in->str, line_len);
		if (g_str_has_prefix(line, "MSG ") || g_str_has_prefix(line, "HMSG ")) {
			bool h = line[0] == 'H';
			char **t = g_strsplit(line, " ", -1);
			guint n = g_strv_length(t);
			size_t hlen = h ? strtoull(t[n - 2], NULL, 10) : 0;
			size_t total = strtoull(t[n - 1], NULL, 10);
			if (c->in->len < line_len + 2 + total + 2) {
				g_strfreev(t);
				g_free(line);
				return;
			}
			FxMsg *m = g_new0(FxMsg, 1);
			m->subject = g_strdup(t[1]);
			m->sid = g_strdup(t[2]);
			guint args = h ? 6 : 5;
			if (n == args)
				m->reply = g_strdup(t[3]);
			const char *body = c->in->str + line_len + 2;
			if (h)
				m->hdr = g_string_new_len(body, (gssize)hlen);
			m->data = g_string_new_len(body + hlen, (gssize)(total - hlen));
			g_ptr_array_add(c->msgs, m);
			g_string_erase(c->in, 0, (gssize)(line_len + 2 + total + 2));
			g_strfreev(t);
		} else {
			g_string_erase(c->in, 0, (gssize)(line_len + 2));
			if (strcmp(line, "PING") == 0)
				broker_conn_recv(fx->broker, c->conn, (const uint8_t *)"PONG\r\n", 6, fx->now_ns);
		}
		g_free(line);
	}
}

static void
drain(Fx *fx)
{
	for (guint k = 0; k < fx->clients->len; k++) {
		FxClient *c = fx->clients->pdata[k];
		for (;;) {
			const uint8_t *data;
			size_t n = broker_conn_send_peek(c->conn, &data);
			if (n == 0)
				break;
			g_string_append_len(c->in, (const char *)data, (gssize)n);
			broker_conn_send_consume(fx->broker, c->conn, n, fx->now_ns);
		}
		parse(fx, c);
	}
}

FxClient *
fx_client(Fx *fx)
{
	FxClient *c = g_new0(FxClient, 1);
	c->in = g_string_new(NULL);
	c->msgs = g_ptr_array_new_with_free_func(msg_free);
	c->conn = broker_conn_open(fx->broker, "127.0.0.1", (uint16_t)(40000 + fx->clients->len), fx->now_ns);
	g_ptr_array_add(fx->clients, c);
	fx_send(fx, c,
	    "CONNECT {\"verbose\":false,\"pedantic\":false,\"headers\":true,\"no_responders\":true,\"protocol\":1}\r\n"
	    "SUB _R.> 999\r\n");
	drain(fx);
	g_string_truncate(c->in, 0); /* the INFO line */
	return c;
}

void
fx_send_len(Fx *fx, FxClient *c, const void *data, size_t len)
{
	broker_conn_recv(fx->broker, c->conn, data, len, fx->now_ns);
	drain(fx);
}

void
fx_send(Fx *fx, FxClient *c, const char *text)
{
	fx_send_len(fx, c, text, strlen(text));
}

void
fx_pub(Fx *fx, FxClient *c, const char *subject, const char *reply, const char *hdr, const char *data)
{
	GString *s = g_string_new(NULL);
	size_t dlen = data ? strlen(data) : 0;
	if (hdr != NULL)
		g_string_append_printf(s, "HPUB %s%s%s %zu %zu\r\n%s%s\r\n", subject, reply ? " " : "", reply ? reply : "",
		    strlen(hdr), strlen(hdr) + dlen, hdr, data ? data : "");
	else
		g_string_append_printf(s, "PUB %s%s%s %zu\r\n%s\r\n", subject, reply ? " " : "", reply ? reply : "", dlen,
		    data ? data : "");
	fx_send_len(fx, c, s->str, s->len);
	g_string_free(s, TRUE);
}

GPtrArray *
fx_take(Fx *fx, FxClient *c)
{
	drain(fx);
	GPtrArray *out = c->msgs;
	c->msgs = g_ptr_array_new_with_free_func(msg_free);
	return out;
}

void
fx_discard(Fx *fx, FxClient *c)
{
	g_ptr_array_free(fx_take(fx, c), TRUE);
}

char *
fx_request_hdr(Fx *fx, FxClient *c, const char *subject, const char *hdr, const char *body)
{
	fx_discard(fx, c);
	char *reply = g_strdup_printf("_R.%" G_GUINT64_FORMAT, ++c->next_reply);
	fx_pub(fx, c, subject, reply, hdr, body);
	GPtrArray *got = fx_take(fx, c);
	char *out = NULL;
	for (guint k = 0; k < got->len && out == NULL; k++) {
		FxMsg *m = got->pdata[k];
		if (strcmp(m->subject, reply) == 0)
			out = g_strdup(m->data->str);
	}
	/* Put the other frames back for the test to look at. */
	for (guint k = 0; k < got->len; k++) {
		FxMsg *m = got->pdata[k];
		if (strcmp(m->subject, reply) != 0) {
			g_ptr_array_add(c->msgs, m);
			got->pdata[k] = NULL;
		}
	}
	g_ptr_array_set_free_func(got, NULL);
	for (guint k = 0; k < got->len; k++)
		if (got->pdata[k] != NULL)
			msg_free(got->pdata[k]);
	g_ptr_array_free(got, TRUE);
	g_free(reply);
	return out;
}

char *
fx_request(Fx *fx, FxClient *c, const char *subject, const char *body)
{
	return fx_request_hdr(fx, c, subject, NULL, body);
}

json_t *
fx_api(Fx *fx, FxClient *c, const char *subject, const char *body)
{
	char *text = fx_request(fx, c, subject, body);
	if (text == NULL)
		return NULL;
	json_error_t err;
	json_t *j = json_loads(text, 0, &err);
	if (j == NULL)
		g_error("reply is not JSON: %s (%s)", text, err.text);
	g_free(text);
	return j;
}

char *
fx_api_error(Fx *fx, FxClient *c, const char *subject, const char *body, int err_code, int code)
{
	json_t *r = fx_api(fx, c, subject, body);
	g_assert_nonnull(r);
	json_t *e = json_object_get(r, "error");
	if (e == NULL) {
		char *text = fx_dump(r);
		g_error("expected error %d from %s, got %s", err_code, subject, text);
	}
	g_assert_cmpint(json_integer_value(json_object_get(e, "err_code")), ==, err_code);
	g_assert_cmpint(json_integer_value(json_object_get(e, "code")), ==, code);
	char *d = g_strdup(json_string_value(json_object_get(e, "description")));
	json_decref(r);
	return d;
}

void
fx_advance_to(Fx *fx, int64_t t_ns)
{
	g_assert_cmpint(t_ns, >=, fx->now_ns);
	for (int guard = 0;; guard++) {
		if (guard > 1000000)
			g_error("fx_advance_to: a deadline keeps firing at %" G_GINT64_FORMAT, fx->now_ns);
		int64_t d = broker_next_deadline_ns(fx->broker);
		if (d > t_ns)
			break;
		if (d > fx->now_ns)
			fx->now_ns = d;
		broker_on_timeout(fx->broker, fx->now_ns);
		drain(fx);
	}
	fx->now_ns = t_ns;
	broker_on_timeout(fx->broker, fx->now_ns);
	drain(fx);
}

void
fx_advance(Fx *fx, int64_t d_ns)
{
	fx_advance_to(fx, fx->now_ns + d_ns);
}

int64_t
fx_state_int(Fx *fx, FxClient *c, const char *stream, const char *key)
{
	char *subject = g_strdup_printf("$JS.API.STREAM.INFO.%s", stream);
	json_t *r = fx_api(fx, c, subject, "");
	g_free(subject);
	g_assert_nonnull(r);
	json_t *v = json_object_get(json_object_get(r, "state"), key);
	int64_t x = v != NULL ? json_integer_value(v) : 0;
	json_decref(r);
	return x;
}

char *
fx_dump(const json_t *j)
{
	return json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
}
