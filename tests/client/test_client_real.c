/*
 * test_client_real.c - the client library over real TCP against a real
 * server: the reference nats-server (default) or natsim-server
 * (--server PATH --kind natsim). Each test starts its own server on a free
 * loopback port (with JetStream in a fresh store directory), stops it by
 * PID with bounded waits, and drives the blocking API of client/tcp.h.
 *
 *   test_client_real [--server PATH] [--kind nats|natsim] [--jetstream]
 *
 * Without nats-server the whole binary skips (TAP "1..0 # SKIP", exit 77).
 * JetStream tests run against nats-server always, against natsim-server
 * only with --jetstream (once its JetStream lands).
 */
#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client/tcp.h"

#define S CLIENT_NS_PER_S
#define MS CLIENT_NS_PER_MS

static const char *server_path = "nats-server";
static const char *server_kind = "nats";
static gboolean jetstream_forced;

typedef struct Server {
	GPid pid;
	uint16_t port;
	char *dir;
	char *url;
} Server;

static uint16_t
free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	g_assert_cmpint(bind(fd, (struct sockaddr *)&a, sizeof(a)), ==, 0);
	socklen_t len = sizeof(a);
	getsockname(fd, (struct sockaddr *)&a, &len);
	close(fd);
	return ntohs(a.sin_port);
}

static bool
port_open(uint16_t port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	bool ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

static void
server_spawn(Server *s)
{
	char port[8];
	g_snprintf(port, sizeof(port), "%u", s->port);
	const char *argv_js[] = { server_path, "-a", "127.0.0.1", "-p", port, "-js", "-sd", s->dir, NULL };
	const char *argv_plain[] = { server_path, "-a", "127.0.0.1", "-p", port, NULL };
	bool js = strcmp(server_kind, "nats") == 0 || jetstream_forced;
	GError *err = NULL;
	gboolean ok = g_spawn_async(NULL, (char **)(js ? argv_js : argv_plain), NULL,
	    G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
	    NULL, NULL, &s->pid, &err);
	g_assert_no_error(err);
	g_assert_true(ok);
	for (int k = 0; k < 500 && !port_open(s->port); k++)
		g_usleep(10000);
	g_assert_true(port_open(s->port));
}

static Server *
server_start(void)
{
	Server *s = g_new0(Server, 1);
	s->port = free_port();
	s->dir = g_dir_make_tmp("natsim-client-real-XXXXXX", NULL);
	s->url = g_strdup_printf("nats://127.0.0.1:%u", s->port);
	server_spawn(s);
	return s;
}

static void
server_kill(Server *s, int sig)
{
	if (s->pid <= 0)
		return;
	kill(s->pid, sig);
	for (int k = 0; k < 500; k++) {
		if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
			s->pid = 0;
			return;
		}
		g_usleep(10000);
	}
	kill(s->pid, SIGKILL);
	waitpid(s->pid, NULL, 0);
	s->pid = 0;
}

static void
rm_rf(const char *path)
{
	GDir *d = g_dir_open(path, 0, NULL);
	if (d != NULL) {
		const char *name;
		while ((name = g_dir_read_name(d)) != NULL) {
			char *p = g_build_filename(path, name, NULL);
			if (g_file_test(p, G_FILE_TEST_IS_DIR))
				rm_rf(p);
			else
				g_unlink(p);
			g_free(p);
		}
		g_dir_close(d);
	}
	g_rmdir(path);
}

static void
server_stop(Server *s)
{
	server_kill(s, SIGTERM);
	rm_rf(s->dir);
	g_free(s->dir);
	g_free(s->url);
	g_free(s);
}

static ClientTcp *
connect_to(const Server *s, ClientOptions *core)
{
	ClientTcpOptions o = client_tcp_options_default();
	o.url = s->url;
	if (core != NULL)
		o.core = *core;
	ClientTcp *tcp = NULL;
	g_assert_cmpint(client_tcp_connect(&tcp, &o, 5 * S), ==, CLIENT_OK);
	return tcp;
}

static bool
js_enabled(void)
{
	if (strcmp(server_kind, "nats") == 0 || jetstream_forced)
		return true;
	g_test_skip("natsim-server JetStream not enabled for this run (--jetstream)");
	return false;
}

/* ---- core NATS ---- */

typedef struct Collect {
	GMutex lock;
	GPtrArray *msgs;
} Collect;

static void
collect_init(Collect *c)
{
	g_mutex_init(&c->lock);
	c->msgs = g_ptr_array_new_with_free_func((GDestroyNotify)client_msg_free);
}

static void
collect_clear(Collect *c)
{
	g_ptr_array_free(c->msgs, TRUE);
	g_mutex_clear(&c->lock);
}

static guint
collect_count(Collect *c)
{
	g_mutex_lock(&c->lock);
	guint n = c->msgs->len;
	g_mutex_unlock(&c->lock);
	return n;
}

static void
on_collect(void *ctx, ClientConn *conn, const ClientMsg *m)
{
	(void)conn;
	Collect *c = ctx;
	g_mutex_lock(&c->lock);
	g_ptr_array_add(c->msgs, client_msg_copy(m));
	g_mutex_unlock(&c->lock);
}

/* Publish 1000 messages, flush: a callback subscription on another
 * connection got all 1000, in order, and a header message arrives with its
 * headers intact. */
static void
test_pubsub(void)
{
	Server *s = server_start();
	ClientTcp *sub = connect_to(s, NULL), *pub = connect_to(s, NULL);
	Collect c;
	collect_init(&c);
	uint64_t sid;
	g_assert_cmpint(client_tcp_subscribe(sub, "t.>", NULL, on_collect, &c, &sid), ==, CLIENT_OK);
	g_assert_cmpint(client_tcp_flush(sub, 2 * S), ==, CLIENT_OK);
	for (int k = 0; k < 1000; k++) {
		char body[16];
		int n = g_snprintf(body, sizeof(body), "%d", k);
		g_assert_cmpint(client_tcp_publish(pub, "t.x", NULL, NULL, 0, body, (size_t)n), ==, CLIENT_OK);
	}
	ClientHeaders h;
	client_headers_init(&h);
	client_headers_add(&h, "Trace-Id", "abc");
	size_t hl;
	const uint8_t *hb = client_headers_block(&h, &hl);
	g_assert_cmpint(client_tcp_publish(pub, "t.h", NULL, hb, hl, "hdr", 3), ==, CLIENT_OK);
	client_headers_clear(&h);
	g_assert_cmpint(client_tcp_flush(pub, 2 * S), ==, CLIENT_OK);
	g_assert_cmpint(client_tcp_flush(sub, 2 * S), ==, CLIENT_OK);
	g_assert_cmpuint(collect_count(&c), ==, 1001);
	for (int k = 0; k < 1000; k++) {
		ClientMsg *m = g_ptr_array_index(c.msgs, k);
		char body[16];
		int n = g_snprintf(body, sizeof(body), "%d", k);
		g_assert_cmpmem(m->data, m->data_len, body, (size_t)n);
	}
	ClientMsg *hm = g_ptr_array_index(c.msgs, 1000);
	char v[16];
	g_assert_true(client_msg_header(hm, "Trace-Id", v, sizeof(v)));
	g_assert_cmpstr(v, ==, "abc");
	client_tcp_destroy(pub);
	client_tcp_destroy(sub);
	collect_clear(&c);
	server_stop(s);
}

/* Queue group: two members on separate connections share 200 messages,
 * each exactly once, both getting some; a plain subscriber gets all. */
static void
test_queue_group(void)
{
	Server *s = server_start();
	ClientTcp *a = connect_to(s, NULL), *b = connect_to(s, NULL), *p = connect_to(s, NULL);
	Collect ca, cb, cp;
	collect_init(&ca);
	collect_init(&cb);
	collect_init(&cp);
	client_tcp_subscribe(a, "jobs", "workers", on_collect, &ca, NULL);
	client_tcp_subscribe(b, "jobs", "workers", on_collect, &cb, NULL);
	client_tcp_subscribe(p, "jobs", NULL, on_collect, &cp, NULL);
	client_tcp_flush(a, 2 * S);
	client_tcp_flush(b, 2 * S);
	client_tcp_flush(p, 2 * S);
	for (int k = 0; k < 200; k++)
		client_tcp_publish(p, "jobs", NULL, NULL, 0, "j", 1);
	client_tcp_flush(p, 2 * S);
	client_tcp_flush(a, 2 * S);
	client_tcp_flush(b, 2 * S);
	g_assert_cmpuint(collect_count(&ca) + collect_count(&cb), ==, 200);
	g_assert_cmpuint(collect_count(&ca), >, 0);
	g_assert_cmpuint(collect_count(&cb), >, 0);
	g_assert_cmpuint(collect_count(&cp), ==, 200);
	client_tcp_destroy(a);
	client_tcp_destroy(b);
	client_tcp_destroy(p);
	collect_clear(&ca);
	collect_clear(&cb);
	collect_clear(&cp);
	server_stop(s);
}

static void
on_echo(void *ctx, ClientConn *conn, const ClientMsg *m)
{
	(void)conn;
	ClientTcp *tcp = ctx;
	if (m->reply != NULL)
		client_tcp_publish(tcp, m->reply, NULL, NULL, 0, m->data, m->data_len);
}

/* Request/reply through the multiplexed inbox; no responders fails at
 * once (well before the timeout); a silent responder times out. */
static void
test_request_reply(void)
{
	Server *s = server_start();
	ClientTcp *rsp = connect_to(s, NULL), *req = connect_to(s, NULL);
	client_tcp_subscribe(rsp, "echo", NULL, on_echo, rsp, NULL);
	client_tcp_subscribe(rsp, "silent", NULL, NULL, NULL, NULL);
	client_tcp_flush(rsp, 2 * S);
	for (int k = 0; k < 50; k++) {
		ClientMsg *r = NULL;
		char body[16];
		int n = g_snprintf(body, sizeof(body), "q%d", k);
		g_assert_cmpint(client_tcp_request(req, "echo", NULL, 0, body, (size_t)n, 2 * S, &r), ==, CLIENT_OK);
		g_assert_cmpmem(r->data, r->data_len, body, (size_t)n);
		client_msg_free(r);
	}
	ClientMsg *r = NULL;
	int64_t t0 = client_tcp_now_ns();
	g_assert_cmpint(client_tcp_request(req, "nobody.home", NULL, 0, "x", 1, 5 * S, &r), ==, CLIENT_ERR_NO_RESPONDERS);
	g_assert_cmpint(client_tcp_now_ns() - t0, <, S);
	g_assert_null(r);
	t0 = client_tcp_now_ns();
	g_assert_cmpint(client_tcp_request(req, "silent", NULL, 0, "x", 1, 300 * MS, &r), ==, CLIENT_ERR_TIMEOUT);
	g_assert_cmpint(client_tcp_now_ns() - t0, >=, 300 * MS);
	client_tcp_destroy(req);
	client_tcp_destroy(rsp);
	server_stop(s);
}

/* Synchronous subscription with auto-unsubscribe after 2: exactly 2
 * messages, then the subscription is gone; max_payload is enforced
 * client-side at the server's 1 MiB. */
static void
test_sync_sub_unsub_max_payload(void)
{
	Server *s = server_start();
	ClientTcp *tcp = connect_to(s, NULL);
	uint64_t sid;
	client_tcp_subscribe(tcp, "m", NULL, NULL, NULL, &sid);
	client_tcp_unsubscribe(tcp, sid, 2);
	for (int k = 0; k < 5; k++)
		client_tcp_publish(tcp, "m", NULL, NULL, 0, "x", 1);
	client_tcp_flush(tcp, 2 * S);
	ClientMsg *m = NULL;
	for (int k = 0; k < 2; k++) {
		g_assert_cmpint(client_tcp_sub_next_msg(tcp, sid, S, &m), ==, CLIENT_OK);
		client_msg_free(m);
	}
	g_assert_cmpint(client_tcp_sub_next_msg(tcp, sid, 100 * MS, &m), ==, CLIENT_ERR_NOT_FOUND);
	char *big = g_malloc0((1 << 20) + 1);
	g_assert_cmpint(client_tcp_publish(tcp, "m", NULL, NULL, 0, big, 1 << 20), ==, CLIENT_OK);
	g_assert_cmpint(client_tcp_publish(tcp, "m", NULL, NULL, 0, big, (1 << 20) + 1), ==, CLIENT_ERR_MAX_PAYLOAD);
	g_free(big);
	g_assert_cmpint(client_tcp_flush(tcp, 2 * S), ==, CLIENT_OK);
	client_tcp_destroy(tcp);
	server_stop(s);
}

typedef struct Events {
	GMutex lock;
	GString *log;
} Events;

static void
on_event(void *ctx, ClientTcp *tcp, const ClientEvent *ev)
{
	(void)tcp;
	Events *e = ctx;
	g_mutex_lock(&e->lock);
	g_string_append_printf(e->log, "%d;", ev->kind);
	g_mutex_unlock(&e->lock);
}

/* Server killed and restarted on the same port: the client reconnects on
 * its own, restores its subscription, and publishes buffered while it was
 * away are delivered. */
static void
test_reconnect(void)
{
	Server *s = server_start();
	Events ev = { .log = g_string_new("") };
	g_mutex_init(&ev.lock);
	ClientTcpOptions o = client_tcp_options_default();
	o.url = s->url;
	o.core.reconnect_wait_ns = 100 * MS;
	o.core.reconnect_jitter_ns = 20 * MS;
	o.core.reconnect_attempts_max = -1;
	o.event = on_event;
	o.event_ctx = &ev;
	ClientTcp *tcp = NULL;
	g_assert_cmpint(client_tcp_connect(&tcp, &o, 5 * S), ==, CLIENT_OK);
	Collect c;
	collect_init(&c);
	client_tcp_subscribe(tcp, "r", NULL, on_collect, &c, NULL);
	client_tcp_flush(tcp, 2 * S);
	server_kill(s, SIGKILL);
	for (int k = 0; k < 200 && client_tcp_state(tcp) == CLIENT_STATE_CONNECTED; k++)
		g_usleep(10000);
	g_assert_cmpint(client_tcp_state(tcp), !=, CLIENT_STATE_CONNECTED);
	g_assert_cmpint(client_tcp_publish(tcp, "r", NULL, NULL, 0, "buffered", 8), ==, CLIENT_OK);
	server_spawn(s);
	g_assert_cmpint(client_tcp_flush(tcp, 10 * S), ==, CLIENT_OK);
	g_assert_cmpint(client_tcp_state(tcp), ==, CLIENT_STATE_CONNECTED);
	client_tcp_publish(tcp, "r", NULL, NULL, 0, "after", 5);
	g_assert_cmpint(client_tcp_flush(tcp, 2 * S), ==, CLIENT_OK);
	g_assert_cmpuint(collect_count(&c), ==, 2);
	g_mutex_lock(&ev.lock);
	g_assert_nonnull(strstr(ev.log->str, "2;3;")); /* DISCONNECTED then RECONNECTED */
	g_mutex_unlock(&ev.lock);
	g_assert_cmpuint(client_tcp_stats(tcp).reconnects, ==, 1);
	client_tcp_destroy(tcp);
	collect_clear(&c);
	g_string_free(ev.log, TRUE);
	g_mutex_clear(&ev.lock);
	server_stop(s);
}

/* Drain: messages in flight reach the subscriber, then the connection
 * closes cleanly. */
static void
test_drain(void)
{
	Server *s = server_start();
	ClientTcp *sub = connect_to(s, NULL), *pub = connect_to(s, NULL);
	Collect c;
	collect_init(&c);
	client_tcp_subscribe(sub, "d", NULL, on_collect, &c, NULL);
	client_tcp_flush(sub, 2 * S);
	for (int k = 0; k < 100; k++)
		client_tcp_publish(pub, "d", NULL, NULL, 0, "x", 1);
	client_tcp_flush(pub, 2 * S);
	g_assert_cmpint(client_tcp_drain(sub, 5 * S), ==, CLIENT_OK);
	g_assert_cmpint(client_tcp_state(sub), ==, CLIENT_STATE_CLOSED);
	g_assert_cmpuint(collect_count(&c), ==, 100);
	client_tcp_destroy(sub);
	client_tcp_destroy(pub);
	collect_clear(&c);
	server_stop(s);
}

/* ---- JetStream ---- */

static json_t *
js_ok(ClientTcp *tcp, const char *api, json_t *body_owned)
{
	json_t *resp = NULL;
	ClientJsError err;
	ClientStatus st = client_tcp_js_api(tcp, api, body_owned, 5 * S, &resp, &err);
	json_decref(body_owned);
	if (st != CLIENT_OK)
		g_error("%s: %s %s", api, client_status_str(st), err.description);
	return resp;
}

static void
add_stream(ClientTcp *tcp, const char *name, const char *subject, ClientJsRetention retention)
{
	const char *subjects[] = { subject };
	ClientStreamConfig sc = { .name = name, .subjects = subjects, .subjects_count = 1, .retention = retention,
		.storage = CLIENT_JS_MEMORY, .duplicate_window_ns = 60 * S };
	ClientJsError err;
	json_t *resp = NULL;
	g_assert_cmpint(client_tcp_stream_add(tcp, &sc, 5 * S, &resp, &err), ==, CLIENT_OK);
	g_assert_cmpstr(json_string_value(json_object_get(json_object_get(resp, "config"), "name")), ==, name);
	json_decref(resp);
}

/* Streams: add, info, names, list, update, purge, delete, account info,
 * message get/delete, and the errors (missing stream 10059). */
static void
test_js_streams(void)
{
	if (!js_enabled())
		return;
	Server *s = server_start();
	ClientTcp *tcp = connect_to(s, NULL);
	add_stream(tcp, "S1", "s1.*", CLIENT_JS_LIMITS);
	add_stream(tcp, "S2", "s2.*", CLIENT_JS_LIMITS);
	ClientPubAck ack;
	ClientJsError err;
	for (int k = 0; k < 3; k++)
		g_assert_cmpint(client_tcp_js_publish(tcp, "s1.a", "v", 1, NULL, 2 * S, &ack, &err), ==, CLIENT_OK);
	json_t *r = js_ok(tcp, "STREAM.INFO.S1", NULL);
	g_assert_cmpint(json_integer_value(json_object_get(json_object_get(r, "state"), "messages")), ==, 3);
	json_decref(r);
	r = js_ok(tcp, "STREAM.NAMES", NULL);
	json_t *names = json_object_get(r, "streams");
	g_assert_cmpuint(json_array_size(names), ==, 2);
	g_assert_cmpstr(json_string_value(json_array_get(names, 0)), ==, "S1");
	json_decref(r);
	r = js_ok(tcp, "STREAM.LIST", NULL);
	g_assert_cmpuint(json_array_size(json_object_get(r, "streams")), ==, 2);
	json_decref(r);
	json_t *get = json_pack("{s:i}", "seq", 2);
	r = js_ok(tcp, "STREAM.MSG.GET.S1", get);
	g_assert_cmpint(json_integer_value(json_object_get(json_object_get(r, "message"), "seq")), ==, 2);
	json_decref(r);
	r = js_ok(tcp, "STREAM.MSG.DELETE.S1", json_pack("{s:i}", "seq", 2));
	json_decref(r);
	const char *subjects[] = { "s1.*", "s1b.*" };
	ClientStreamConfig up = { .name = "S1", .subjects = subjects, .subjects_count = 2, .storage = CLIENT_JS_MEMORY,
		.duplicate_window_ns = 60 * S };
	g_assert_cmpint(client_tcp_js_run(tcp, NULL, NULL, 1, NULL, NULL), ==, CLIENT_ERR_INVALID_ARG);
	ClientConn *conn = client_tcp_lock(tcp);
	g_assert_nonnull(conn);
	client_tcp_unlock(tcp);
	json_t *upj = client_stream_config_json(&up);
	r = js_ok(tcp, "STREAM.UPDATE.S1", upj);
	g_assert_cmpuint(json_array_size(json_object_get(json_object_get(r, "config"), "subjects")), ==, 2);
	json_decref(r);
	r = js_ok(tcp, "STREAM.PURGE.S1", NULL);
	g_assert_cmpint(json_integer_value(json_object_get(r, "purged")), ==, 2);
	json_decref(r);
	r = js_ok(tcp, "INFO", NULL);
	g_assert_cmpint(json_integer_value(json_object_get(r, "streams")), ==, 2);
	json_decref(r);
	r = js_ok(tcp, "STREAM.DELETE.S2", NULL);
	g_assert_true(json_is_true(json_object_get(r, "success")));
	json_decref(r);
	json_t *resp = NULL;
	g_assert_cmpint(client_tcp_js_api(tcp, "STREAM.INFO.S2", NULL, 2 * S, &resp, &err), ==, CLIENT_ERR_JS);
	g_assert_cmpint(err.err_code, ==, 10059);
	g_assert_cmpint(err.code, ==, 404);
	json_decref(resp);
	client_tcp_destroy(tcp);
	server_stop(s);
}

/* Publish with PubAck: sequences, dedupe by Nats-Msg-Id (same seq,
 * duplicate), Nats-Expected-Last-Sequence (10071 on mismatch),
 * Nats-Expected-Stream (10060), no stream (no responders), and async
 * publishing through a window of 16 for 300 messages. */
static void
test_js_publish(void)
{
	if (!js_enabled())
		return;
	Server *s = server_start();
	ClientOptions core = client_options_default();
	core.js_pub_pending_max = 16;
	ClientTcp *tcp = connect_to(s, &core);
	add_stream(tcp, "P", "p.*", CLIENT_JS_LIMITS);
	ClientPubAck ack;
	ClientJsError err;
	ClientJsPubOptions po = CLIENT_JS_PUB_OPTIONS_INIT;
	po.msg_id = "id-1";
	g_assert_cmpint(client_tcp_js_publish(tcp, "p.a", "1", 1, &po, 2 * S, &ack, &err), ==, CLIENT_OK);
	g_assert_cmpstr(ack.stream, ==, "P");
	g_assert_cmpuint(ack.seq, ==, 1);
	g_assert_false(ack.duplicate);
	g_assert_cmpint(client_tcp_js_publish(tcp, "p.a", "1", 1, &po, 2 * S, &ack, &err), ==, CLIENT_OK);
	g_assert_cmpuint(ack.seq, ==, 1);
	g_assert_true(ack.duplicate);
	ClientJsPubOptions exp = CLIENT_JS_PUB_OPTIONS_INIT;
	exp.expected_last_seq = 5;
	g_assert_cmpint(client_tcp_js_publish(tcp, "p.a", "2", 1, &exp, 2 * S, &ack, &err), ==, CLIENT_ERR_JS);
	g_assert_cmpint(err.err_code, ==, 10071);
	exp.expected_last_seq = 1;
	g_assert_cmpint(client_tcp_js_publish(tcp, "p.a", "2", 1, &exp, 2 * S, &ack, &err), ==, CLIENT_OK);
	g_assert_cmpuint(ack.seq, ==, 2);
	ClientJsPubOptions es = CLIENT_JS_PUB_OPTIONS_INIT;
	es.expected_stream = "OTHER";
	g_assert_cmpint(client_tcp_js_publish(tcp, "p.a", "3", 1, &es, 2 * S, &ack, &err), ==, CLIENT_ERR_JS);
	g_assert_cmpint(err.err_code, ==, 10060);
	g_assert_cmpint(client_tcp_js_publish(tcp, "nostream.x", "3", 1, NULL, 2 * S, &ack, &err), ==,
	    CLIENT_ERR_NO_RESPONDERS);
	for (int k = 0; k < 300; k++)
		g_assert_cmpint(client_tcp_js_publish_async(tcp, "p.b", "x", 1, NULL, 5 * S, NULL, NULL), ==, CLIENT_OK);
	g_assert_cmpint(client_tcp_js_publish_async_complete(tcp, 10 * S), ==, CLIENT_OK);
	json_t *r = js_ok(tcp, "STREAM.INFO.P", NULL);
	g_assert_cmpint(json_integer_value(json_object_get(json_object_get(r, "state"), "messages")), ==, 302);
	json_decref(r);
	client_tcp_destroy(tcp);
	server_stop(s);
}

static void
add_pull_consumer(ClientTcp *tcp, const char *stream, const char *name, int64_t ack_wait_ns)
{
	ClientConsumerConfig cc = { .durable_name = name, .ack_policy = CLIENT_JS_ACK_EXPLICIT,
		.ack_wait_ns = ack_wait_ns };
	ClientJsError err;
	json_t *resp = NULL;
	g_assert_cmpint(client_tcp_consumer_add(tcp, stream, &cc, 5 * S, &resp, &err), ==, CLIENT_OK);
	g_assert_cmpstr(json_string_value(json_object_get(resp, "name")), ==, name);
	json_decref(resp);
}

static GPtrArray *
fetch(ClientTcp *tcp, const char *stream, const char *consumer, uint32_t batch, int64_t expires_ns, bool no_wait,
    ClientStatus expect, int expect_code)
{
	ClientFetchOptions fo = { .batch = batch, .expires_ns = expires_ns, .no_wait = no_wait };
	GPtrArray *msgs = NULL;
	int code = -1;
	g_assert_cmpint(client_tcp_js_fetch(tcp, stream, consumer, &fo, &msgs, &code), ==, expect);
	g_assert_cmpint(code, ==, expect_code);
	return msgs;
}

static ClientJsMeta
meta_of(const ClientMsg *m)
{
	ClientJsMeta meta;
	g_assert_cmpint(client_js_meta_parse(m->reply, &meta), ==, CLIENT_OK);
	return meta;
}

/* Pull fetch: a full batch ends silently (ok), a no_wait batch larger than
 * what is there ends with 408 after the partial batch, an empty no_wait
 * with 404, and a fetch on a push consumer with 409; metadata matches. */
static void
test_js_pull_fetch(void)
{
	if (!js_enabled())
		return;
	Server *s = server_start();
	ClientTcp *tcp = connect_to(s, NULL);
	add_stream(tcp, "F", "f.*", CLIENT_JS_LIMITS);
	for (int k = 1; k <= 5; k++) {
		char b[8];
		int n = g_snprintf(b, sizeof(b), "m%d", k);
		ClientPubAck ack;
		client_tcp_js_publish(tcp, "f.x", b, (size_t)n, NULL, 2 * S, &ack, NULL);
	}
	add_pull_consumer(tcp, "F", "w", 30 * S);
	GPtrArray *m = fetch(tcp, "F", "w", 3, 2 * S, false, CLIENT_OK, 0);
	g_assert_cmpuint(m->len, ==, 3);
	ClientJsMeta meta = meta_of(g_ptr_array_index(m, 2));
	g_assert_cmpstr(meta.stream, ==, "F");
	g_assert_cmpstr(meta.consumer, ==, "w");
	g_assert_cmpuint(meta.stream_seq, ==, 3);
	g_assert_cmpuint(meta.consumer_seq, ==, 3);
	g_assert_cmpuint(meta.delivered, ==, 1);
	g_assert_cmpuint(meta.pending, ==, 2);
	g_ptr_array_free(m, TRUE);
	m = fetch(tcp, "F", "w", 5, 2 * S, true, CLIENT_ERR_TIMEOUT, 408);
	g_assert_cmpuint(m->len, ==, 2);
	g_ptr_array_free(m, TRUE);
	m = fetch(tcp, "F", "w", 5, 0, true, CLIENT_ERR_NO_MESSAGES, 404);
	g_assert_cmpuint(m->len, ==, 0);
	g_ptr_array_free(m, TRUE);
	ClientConsumerConfig push = { .durable_name = "pushc", .deliver_subject = "dl.F", .ack_policy = CLIENT_JS_ACK_EXPLICIT };
	client_tcp_consumer_add(tcp, "F", &push, 5 * S, NULL, NULL);
	m = fetch(tcp, "F", "pushc", 1, S, false, CLIENT_ERR_JS_STATUS, 409);
	g_ptr_array_free(m, TRUE);
	json_t *r = js_ok(tcp, "CONSUMER.NAMES.F", NULL);
	g_assert_cmpuint(json_array_size(json_object_get(r, "consumers")), ==, 2);
	json_decref(r);
	r = js_ok(tcp, "CONSUMER.INFO.F.w", NULL);
	g_assert_cmpint(json_integer_value(json_object_get(r, "num_ack_pending")), ==, 5);
	json_decref(r);
	r = js_ok(tcp, "CONSUMER.DELETE.F.pushc", NULL);
	json_decref(r);
	client_tcp_destroy(tcp);
	server_stop(s);
}

/* Ack, NAK, TERM, in-progress and redelivery with a 300 ms ack_wait: a NAK
 * brings the same message back with delivered 2; a NAK with a delay holds
 * it back for that delay; an unacked message comes back after ack_wait;
 * TERM and ACK (confirmed with ack-sync) end it for good. */
static void
test_js_ack_nak_term(void)
{
	if (!js_enabled())
		return;
	Server *s = server_start();
	ClientTcp *tcp = connect_to(s, NULL);
	add_stream(tcp, "A", "a.*", CLIENT_JS_WORKQUEUE);
	ClientPubAck ack;
	client_tcp_js_publish(tcp, "a.1", "one", 3, NULL, 2 * S, &ack, NULL);
	client_tcp_js_publish(tcp, "a.2", "two", 3, NULL, 2 * S, &ack, NULL);
	add_pull_consumer(tcp, "A", "w", 300 * MS);

	GPtrArray *m = fetch(tcp, "A", "w", 1, S, false, CLIENT_OK, 0);
	ClientMsg *first = g_ptr_array_index(m, 0);
	g_assert_cmpuint(meta_of(first).stream_seq, ==, 1);
	/* Acks are handled asynchronously by the server: ack-sync makes the
	 * next pull see the NAK's effect. */
	g_assert_cmpint(client_tcp_js_ack_sync(tcp, first, CLIENT_ACK_NAK, 0, 2 * S), ==, CLIENT_OK);
	g_ptr_array_free(m, TRUE);
	m = fetch(tcp, "A", "w", 1, S, false, CLIENT_OK, 0);
	ClientJsMeta meta = meta_of(g_ptr_array_index(m, 0));
	g_assert_cmpuint(meta.stream_seq, ==, 1);
	g_assert_cmpuint(meta.delivered, ==, 2);
	/* NAK with 600 ms delay: a fetch expiring at 250 ms gets seq 2 only
	 * (seq 1 held back), a later one gets seq 1 again. */
	g_assert_cmpint(client_tcp_js_ack_sync(tcp, g_ptr_array_index(m, 0), CLIENT_ACK_NAK, 600 * MS, 2 * S), ==, CLIENT_OK);
	g_ptr_array_free(m, TRUE);
	m = fetch(tcp, "A", "w", 2, 250 * MS, false, CLIENT_ERR_TIMEOUT, 408);
	g_assert_cmpuint(m->len, ==, 1);
	ClientMsg *second = g_ptr_array_index(m, 0);
	g_assert_cmpuint(meta_of(second).stream_seq, ==, 2);
	g_assert_cmpint(client_tcp_js_ack(tcp, second, CLIENT_ACK_PROGRESS, 0), ==, CLIENT_OK);
	g_assert_cmpint(client_tcp_js_ack_sync(tcp, second, CLIENT_ACK_TERM, 0, 2 * S), ==, CLIENT_OK);
	g_ptr_array_free(m, TRUE);
	m = fetch(tcp, "A", "w", 1, 2 * S, false, CLIENT_OK, 0);
	meta = meta_of(g_ptr_array_index(m, 0));
	g_assert_cmpuint(meta.stream_seq, ==, 1);
	g_assert_cmpuint(meta.delivered, ==, 3);
	g_ptr_array_free(m, TRUE);
	/* Not acked: back after ack_wait with delivered 4. */
	m = fetch(tcp, "A", "w", 1, 2 * S, false, CLIENT_OK, 0);
	meta = meta_of(g_ptr_array_index(m, 0));
	g_assert_cmpuint(meta.stream_seq, ==, 1);
	g_assert_cmpuint(meta.delivered, ==, 4);
	g_assert_cmpint(client_tcp_js_ack_sync(tcp, g_ptr_array_index(m, 0), CLIENT_ACK_ACK, 0, 2 * S), ==, CLIENT_OK);
	g_ptr_array_free(m, TRUE);
	/* Both done: nothing comes back, and the workqueue stream is empty. */
	m = fetch(tcp, "A", "w", 1, 700 * MS, false, CLIENT_ERR_TIMEOUT, 408);
	g_assert_cmpuint(m->len, ==, 0);
	g_ptr_array_free(m, TRUE);
	json_t *r = js_ok(tcp, "STREAM.INFO.A", NULL);
	g_assert_cmpint(json_integer_value(json_object_get(json_object_get(r, "state"), "messages")), ==, 0);
	json_decref(r);
	client_tcp_destroy(tcp);
	server_stop(s);
}

typedef struct PushCtx {
	ClientTcp *tcp;
	Collect c;
} PushCtx;

static void
on_push(void *ctx, ClientConn *conn, const ClientMsg *m)
{
	PushCtx *p = ctx;
	on_collect(&p->c, conn, m);
	client_tcp_js_ack(p->tcp, m, CLIENT_ACK_ACK, 0); /* non-blocking: fine in a callback */
}

/* Push consumer with idle heartbeats and flow control: 20 messages arrive
 * through the callback (status messages filtered out), are acked from the
 * callback, and the consumer ends with nothing pending. */
static void
test_js_push(void)
{
	if (!js_enabled())
		return;
	Server *s = server_start();
	ClientTcp *tcp = connect_to(s, NULL);
	add_stream(tcp, "PU", "pu.*", CLIENT_JS_LIMITS);
	PushCtx p = { .tcp = tcp };
	collect_init(&p.c);
	uint64_t sid;
	g_assert_cmpint(client_tcp_js_push_subscribe(tcp, "deliver.pu", NULL, 200 * MS, on_push, &p, &sid), ==, CLIENT_OK);
	client_tcp_flush(tcp, 2 * S);
	ClientConsumerConfig cc = { .durable_name = "pc", .deliver_subject = "deliver.pu",
		.ack_policy = CLIENT_JS_ACK_EXPLICIT, .idle_heartbeat_ns = 200 * MS, .flow_control = true };
	ClientJsError err;
	g_assert_cmpint(client_tcp_consumer_add(tcp, "PU", &cc, 5 * S, NULL, &err), ==, CLIENT_OK);
	for (int k = 0; k < 20; k++)
		client_tcp_js_publish(tcp, "pu.x", "p", 1, NULL, 2 * S, NULL, NULL);
	for (int k = 0; k < 300 && collect_count(&p.c) < 20; k++)
		g_usleep(10000);
	g_usleep(500000); /* heartbeats arrive meanwhile; none may reach the callback */
	g_assert_cmpuint(collect_count(&p.c), ==, 20);
	client_tcp_flush(tcp, 2 * S);
	json_t *r = js_ok(tcp, "CONSUMER.INFO.PU.pc", NULL);
	g_assert_cmpint(json_integer_value(json_object_get(r, "num_ack_pending")), ==, 0);
	g_assert_cmpint(json_integer_value(json_object_get(json_object_get(r, "delivered"), "stream_seq")), ==, 20);
	json_decref(r);
	client_tcp_destroy(tcp);
	collect_clear(&p.c);
	server_stop(s);
}

static void
skip_all(const char *reason)
{
	printf("1..0 # SKIP %s\n", reason);
	exit(77);
}

int
main(int argc, char **argv)
{
	const char *kind = NULL, *path = NULL;
	GOptionEntry entries[] = {
		{ "server", 0, 0, G_OPTION_ARG_STRING, &path, "server program", "PATH" },
		{ "kind", 0, 0, G_OPTION_ARG_STRING, &kind, "nats or natsim", "KIND" },
		{ "jetstream", 0, 0, G_OPTION_ARG_NONE, &jetstream_forced, "run the JetStream tests on natsim-server", NULL },
		{ NULL },
	};
	GOptionContext *oc = g_option_context_new(NULL);
	g_option_context_add_main_entries(oc, entries, NULL);
	g_option_context_set_ignore_unknown_options(oc, TRUE);
	g_option_context_set_help_enabled(oc, FALSE);
	g_option_context_parse(oc, &argc, &argv, NULL);
	g_option_context_free(oc);
	if (path != NULL)
		server_path = path;
	if (kind != NULL)
		server_kind = kind;
	char *found = g_find_program_in_path(server_path);
	if (found == NULL)
		skip_all("server program not found (apt-get install nats-server)");
	g_free(found);
	signal(SIGPIPE, SIG_IGN);
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/client/real/pubsub", test_pubsub);
	g_test_add_func("/client/real/queue-group", test_queue_group);
	g_test_add_func("/client/real/request-reply", test_request_reply);
	g_test_add_func("/client/real/sync-sub-unsub-max-payload", test_sync_sub_unsub_max_payload);
	g_test_add_func("/client/real/reconnect", test_reconnect);
	g_test_add_func("/client/real/drain", test_drain);
	g_test_add_func("/client/real/js/streams", test_js_streams);
	g_test_add_func("/client/real/js/publish", test_js_publish);
	g_test_add_func("/client/real/js/pull-fetch", test_js_pull_fetch);
	g_test_add_func("/client/real/js/ack-nak-term", test_js_ack_nak_term);
	g_test_add_func("/client/real/js/push", test_js_push);
	return g_test_run();
}
