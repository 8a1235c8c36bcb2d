/*
 * cfx.c - see cfx.h.
 */
#include "cfx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct CfxClient {
	BrokerConn *conn;
	GString *in;
	GPtrArray *msgs;
	uint64_t next_reply;
	bool closed;
};

static void
msg_free(gpointer p)
{
	CfxMsg *m = p;
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
	Cfx *fx = ctx;
	(void)level;
	g_ptr_array_add(fx->logs, g_strdup(message));
}

static void
start_broker(Cfx *fx)
{
	BrokerCallbacks cb = { .log = on_log };
	fx->broker = broker_create(&fx->config, fx->seed++, fx->now_ns, &cb, fx);
}

Cfx *
cfx_new(const BrokerConfig *config)
{
	Cfx *fx = g_new0(Cfx, 1);
	if (config != NULL)
		fx->config = *config;
	fx->config.jetstream = true;
	fx->config.log_level = BROKER_LOG_INFO;
	fx->now_ns = CFX_EPOCH_NS;
	fx->seed = 42;
	fx->clients = g_ptr_array_new();
	fx->logs = g_ptr_array_new_with_free_func(g_free);
	start_broker(fx);
	return fx;
}

static void
clients_free(Cfx *fx)
{
	for (guint k = 0; k < fx->clients->len; k++) {
		CfxClient *c = fx->clients->pdata[k];
		g_string_free(c->in, TRUE);
		g_ptr_array_free(c->msgs, TRUE);
		g_free(c);
	}
	g_ptr_array_set_size(fx->clients, 0);
}

void
cfx_free(Cfx *fx)
{
	broker_destroy(fx->broker);
	clients_free(fx);
	g_ptr_array_free(fx->clients, TRUE);
	g_ptr_array_free(fx->logs, TRUE);
	g_free(fx);
}

void
cfx_restart(Cfx *fx)
{
	broker_destroy(fx->broker);
	clients_free(fx);
	start_broker(fx);
}

static void
parse(Cfx *fx, CfxClient *c)
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
			CfxMsg *m = g_new0(CfxMsg, 1);
			m->subject = g_strdup(t[1]);
			m->sid = g_strdup(t[2]);
			if (n == (h ? 6u : 5u))
				m->reply = g_strdup(t[3]);
			const char *body = c->in->str + line_len + 2;
			if (h)
				m->hdr = g_string_new_len(body, (gssize)hlen);
			m->data = g_string_new_len(body + hlen, (gssize)(total - hlen));
			m->at_ns = fx->now_ns;
			g_ptr_array_add(c->msgs, m);
			g_string_erase(c->in, 0, (gssize)(line_len + 2 + total + 2));
			g_strfreev(t);
		} else {
			g_string_erase(c->in, 0, (gssize)(line_len + 2));
			if (strcmp(line, "PING") == 0 && !c->closed)
				broker_conn_recv(fx->broker, c->conn, (const uint8_t *)"PONG\r\n", 6, fx->now_ns);
		}
		g_free(line);
	}
}

static void
drain(Cfx *fx)
{
	for (guint k = 0; k < fx->clients->len; k++) {
		CfxClient *c = fx->clients->pdata[k];
		if (c->closed)
			continue;
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

/* What a real driver does after each input: deadlines already due run
 * now. */
static void
settle(Cfx *fx)
{
	drain(fx);
	for (int guard = 0; broker_next_deadline_ns(fx->broker) <= fx->now_ns; guard++) {
		if (guard > 100000)
			g_error("cfx: a deadline keeps firing at %" G_GINT64_FORMAT, fx->now_ns);
		broker_on_timeout(fx->broker, fx->now_ns);
		drain(fx);
	}
}

CfxClient *
cfx_client(Cfx *fx)
{
	CfxClient *c = g_new0(CfxClient, 1);
	c->in = g_string_new(NULL);
	c->msgs = g_ptr_array_new_with_free_func(msg_free);
	c->conn = broker_conn_open(fx->broker, "127.0.0.1", (uint16_t)(40000 + fx->clients->len), fx->now_ns);
	g_ptr_array_add(fx->clients, c);
	drain(fx);
	g_string_truncate(c->in, 0); /* INFO */
	cfx_send(fx, c,
	    "CONNECT {\"verbose\":false,\"pedantic\":false,\"headers\":true,\"no_responders\":true,\"protocol\":1}\r\n"
	    "SUB _R.> 999\r\n");
	return c;
}

void
cfx_send(Cfx *fx, CfxClient *c, const char *text)
{
	g_assert_false(c->closed);
	broker_conn_recv(fx->broker, c->conn, (const uint8_t *)text, strlen(text), fx->now_ns);
	settle(fx);
}

void
cfx_pub(Cfx *fx, CfxClient *c, const char *subject, const char *reply, const char *hdr, const char *data)
{
	GString *s = g_string_new(NULL);
	size_t dlen = data ? strlen(data) : 0;
	if (hdr != NULL)
		g_string_append_printf(s, "HPUB %s%s%s %zu %zu\r\n%s%s\r\n", subject, reply ? " " : "", reply ? reply : "",
		    strlen(hdr), strlen(hdr) + dlen, hdr, data ? data : "");
	else
		g_string_append_printf(s, "PUB %s%s%s %zu\r\n%s\r\n", subject, reply ? " " : "", reply ? reply : "", dlen,
		    data ? data : "");
	cfx_send(fx, c, s->str);
	g_string_free(s, TRUE);
}

void
cfx_sub(Cfx *fx, CfxClient *c, const char *subject, const char *queue, int sid)
{
	char *line = g_strdup_printf("SUB %s%s%s %d\r\n", subject, queue ? " " : "", queue ? queue : "", sid);
	cfx_send(fx, c, line);
	g_free(line);
}

void
cfx_unsub(Cfx *fx, CfxClient *c, int sid)
{
	char *line = g_strdup_printf("UNSUB %d\r\n", sid);
	cfx_send(fx, c, line);
	g_free(line);
}

void
cfx_close(Cfx *fx, CfxClient *c)
{
	drain(fx);
	c->closed = true;
	broker_conn_close(fx->broker, c->conn, BROKER_CLOSE_CLIENT, fx->now_ns);
	settle(fx);
}

GPtrArray *
cfx_take(Cfx *fx, CfxClient *c)
{
	drain(fx);
	GPtrArray *out = c->msgs;
	c->msgs = g_ptr_array_new_with_free_func(msg_free);
	return out;
}

GPtrArray *
cfx_take_prefix(Cfx *fx, CfxClient *c, const char *prefix)
{
	GPtrArray *all = cfx_take(fx, c);
	GPtrArray *out = g_ptr_array_new_with_free_func(msg_free);
	for (guint k = 0; k < all->len; k++) {
		CfxMsg *m = all->pdata[k];
		g_ptr_array_add(g_str_has_prefix(m->subject, prefix) ? out : c->msgs, m);
		all->pdata[k] = NULL;
	}
	g_ptr_array_set_free_func(all, NULL);
	g_ptr_array_free(all, TRUE);
	return out;
}

void
cfx_discard(Cfx *fx, CfxClient *c)
{
	g_ptr_array_free(cfx_take(fx, c), TRUE);
}

json_t *
cfx_req(Cfx *fx, CfxClient *c, const char *subject, const char *body)
{
	char *reply = g_strdup_printf("_R.api.%" G_GUINT64_FORMAT, ++c->next_reply);
	cfx_pub(fx, c, subject, reply, NULL, body);
	GPtrArray *got = cfx_take_prefix(fx, c, reply);
	json_t *j = NULL;
	for (guint k = 0; k < got->len && j == NULL; k++) {
		CfxMsg *m = got->pdata[k];
		if (strcmp(m->subject, reply) == 0) {
			json_error_t err;
			j = json_loads(m->data->str, 0, &err);
			if (j == NULL)
				g_error("reply is not JSON: %s (%s)", m->data->str, err.text);
		}
	}
	g_ptr_array_free(got, TRUE);
	g_free(reply);
	return j;
}

char *
cfx_req_error(Cfx *fx, CfxClient *c, const char *subject, const char *body, int err_code, int code)
{
	json_t *r = cfx_req(fx, c, subject, body);
	g_assert_nonnull(r);
	json_t *e = json_object_get(r, "error");
	if (e == NULL) {
		char *text = json_dumps(r, JSON_COMPACT | JSON_PRESERVE_ORDER);
		g_error("expected error %d from %s, got %s", err_code, subject, text);
	}
	if (json_integer_value(json_object_get(e, "err_code")) != err_code) {
		char *text = json_dumps(r, JSON_COMPACT | JSON_PRESERVE_ORDER);
		g_error("expected error %d from %s, got %s", err_code, subject, text);
	}
	g_assert_cmpint(json_integer_value(json_object_get(e, "code")), ==, code);
	char *d = g_strdup(json_string_value(json_object_get(e, "description")));
	json_decref(r);
	return d;
}

void
cfx_advance_to(Cfx *fx, int64_t t_ns)
{
	g_assert_cmpint(t_ns, >=, fx->now_ns);
	for (int guard = 0;; guard++) {
		if (guard > 10000000)
			g_error("cfx_advance_to: a deadline keeps firing at %" G_GINT64_FORMAT, fx->now_ns);
		int64_t d = broker_next_deadline_ns(fx->broker);
		if (d > t_ns)
			break;
		if (d > fx->now_ns)
			fx->now_ns = d;
		broker_on_timeout(fx->broker, fx->now_ns);
		drain(fx);
	}
	fx->now_ns = t_ns;
	settle(fx);
}

void
cfx_advance(Cfx *fx, int64_t d_ns)
{
	cfx_advance_to(fx, fx->now_ns + d_ns);
}

int64_t
cfx_t(const Cfx *fx)
{
	return fx->now_ns - CFX_EPOCH_NS;
}

void
cfx_stream(Cfx *fx, CfxClient *c, const char *config_json)
{
	json_t *cfg = json_loads(config_json, 0, NULL);
	g_assert_nonnull(cfg);
	char *subject = g_strdup_printf("$JS.API.STREAM.CREATE.%s", json_string_value(json_object_get(cfg, "name")));
	json_t *r = cfx_req(fx, c, subject, config_json);
	g_assert_nonnull(r);
	if (json_object_get(r, "error") != NULL)
		g_error("stream create failed: %s", json_dumps(r, JSON_COMPACT));
	json_decref(r);
	json_decref(cfg);
	g_free(subject);
}

json_t *
cfx_consumer(Cfx *fx, CfxClient *c, const char *stream, const char *name, const char *config_json)
{
	char *subject = name != NULL ? g_strdup_printf("$JS.API.CONSUMER.CREATE.%s.%s", stream, name)
				     : g_strdup_printf("$JS.API.CONSUMER.CREATE.%s", stream);
	char *body = g_strdup_printf("{\"stream_name\":\"%s\",\"config\":%s}", stream, config_json);
	json_t *r = cfx_req(fx, c, subject, body);
	g_assert_nonnull(r);
	if (json_object_get(r, "error") != NULL)
		g_error("consumer create failed: %s", json_dumps(r, JSON_COMPACT));
	g_free(subject);
	g_free(body);
	return r;
}

json_t *
cfx_info(Cfx *fx, CfxClient *c, const char *stream, const char *name)
{
	char *subject = g_strdup_printf("$JS.API.CONSUMER.INFO.%s.%s", stream, name);
	json_t *r = cfx_req(fx, c, subject, "");
	g_free(subject);
	return r;
}

int64_t
cfx_info_int(Cfx *fx, CfxClient *c, const char *stream, const char *name, const char *path)
{
	json_t *r = cfx_info(fx, c, stream, name);
	g_assert_nonnull(r);
	json_t *v = r;
	char **parts = g_strsplit(path, ".", -1);
	for (char **p = parts; *p != NULL && v != NULL; p++)
		v = json_object_get(v, *p);
	g_strfreev(parts);
	if (v == NULL)
		g_error("no %s in consumer info", path);
	int64_t x = json_integer_value(v);
	json_decref(r);
	return x;
}

void
cfx_pull(Cfx *fx, CfxClient *c, const char *stream, const char *name, const char *inbox, const char *body)
{
	char *subject = g_strdup_printf("$JS.API.CONSUMER.MSG.NEXT.%s.%s", stream, name);
	cfx_pub(fx, c, subject, inbox, NULL, body);
	g_free(subject);
}

void
cfx_pub_n(Cfx *fx, CfxClient *c, const char *subject, int n)
{
	for (int k = 1; k <= n; k++) {
		char data[32];
		snprintf(data, sizeof(data), "m%d", k);
		cfx_pub(fx, c, subject, NULL, NULL, data);
	}
}

CfxAck
cfx_ack_parse(const char *reply)
{
	CfxAck a = { 0 };
	g_assert_nonnull(reply);
	char **t = g_strsplit(reply, ".", -1);
	g_assert_cmpuint(g_strv_length(t), ==, 9);
	g_assert_cmpstr(t[0], ==, "$JS");
	g_assert_cmpstr(t[1], ==, "ACK");
	a.dc = g_ascii_strtoull(t[4], NULL, 10);
	a.sseq = g_ascii_strtoull(t[5], NULL, 10);
	a.dseq = g_ascii_strtoull(t[6], NULL, 10);
	a.ts = g_ascii_strtoll(t[7], NULL, 10);
	a.pending = g_ascii_strtoull(t[8], NULL, 10);
	g_strfreev(t);
	return a;
}

int
cfx_status(const CfxMsg *m)
{
	if (m->hdr == NULL || !g_str_has_prefix(m->hdr->str, "NATS/1.0 "))
		return 0;
	return atoi(m->hdr->str + 9);
}

char *
cfx_header(const CfxMsg *m, const char *key)
{
	if (m->hdr == NULL)
		return NULL;
	char **lines = g_strsplit(m->hdr->str, "\r\n", -1);
	char *out = NULL;
	size_t klen = strlen(key);
	for (char **l = lines + 1; *l != NULL && out == NULL; l++) {
		if (strncmp(*l, key, klen) == 0 && (*l)[klen] == ':')
			out = g_strstrip(g_strdup(*l + klen + 1));
	}
	g_strfreev(lines);
	return out;
}

int
cfx_log_count(Cfx *fx, const char *needle)
{
	int n = 0;
	for (guint k = 0; k < fx->logs->len; k++)
		n += strstr(fx->logs->pdata[k], needle) != NULL;
	return n;
}
