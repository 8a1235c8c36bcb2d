/*
 * test_server_loop.c - natsim-server's event loop (broker/server_loop.c,
 * server_net.c, server_http.c) over real loopback sockets with the real
 * broker core: INFO/PING at any split, back-pressure through EPOLLOUT,
 * closing after the flush, timers from the broker's deadline, the write
 * deadline of a closing connection, HTTP monitoring, signals, shutdown and
 * port reuse. The test is the clients: non-blocking sockets read between
 * turns of server_loop_run_once, every wait bounded.
 */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "broker/server_loop.h"

#define WAIT_US (10 * G_USEC_PER_SEC) /* every wait gives up after this */

typedef struct Fixture {
	char *dir;
	char *log_path;
	ServerLog *log;
	ServerLoop *loop;
	uint16_t port;
	uint16_t http_port;
} Fixture;

static void
fixture_set_up(Fixture *f, gconstpointer data)
{
	(void)data;
	g_autoptr(GError) error = NULL;
	f->dir = g_dir_make_tmp("natsim-loop-XXXXXX", &error);
	g_assert_no_error(error);
	f->log_path = g_build_filename(f->dir, "server.log", NULL);
	f->log = server_log_create(f->log_path, &error);
	g_assert_no_error(error);
	server_log_set_levels(f->log, true, false);
}

static void
fixture_tear_down(Fixture *f, gconstpointer data)
{
	(void)data;
	server_loop_destroy(f->loop);
	server_log_destroy(f->log);
	g_unlink(f->log_path);
	g_rmdir(f->dir);
	g_free(f->log_path);
	g_free(f->dir);
}

/* Starts a loop on 127.0.0.1, random ports, monitoring on. */
static void
start(Fixture *f, const BrokerConfig *broker)
{
	BrokerConfig defaults = { .log_level = BROKER_LOG_DEBUG };
	ServerLoopConfig config = {
		.broker = broker != NULL ? *broker : defaults,
		.host = "127.0.0.1",
		.port = 0,
		.http = true,
		.log = f->log,
	};
	g_autoptr(GError) error = NULL;
	f->loop = server_loop_create(&config, &error);
	g_assert_no_error(error);
	g_assert_nonnull(f->loop);
	f->port = server_loop_port(f->loop);
	f->http_port = server_loop_http_port(f->loop);
	g_assert_cmpuint(f->port, !=, 0);
	g_assert_cmpuint(f->http_port, !=, 0);
}

static void
turn(Fixture *f)
{
	g_assert_cmpint(server_loop_run_once(f->loop, 5), ==, 0);
}

/* A non-blocking client socket connected to port (rcvbuf 0: default). */
static int
client_connect(uint16_t port, int rcvbuf)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	g_assert_cmpint(fd, >=, 0);
	if (rcvbuf > 0)
		g_assert_cmpint(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)), ==, 0);
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(port) };
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	g_assert_cmpint(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), ==, 0);
	g_assert_cmpint(fcntl(fd, F_SETFL, O_NONBLOCK), ==, 0);
	return fd;
}

/* Sends all of data, turning the loop whenever the socket is full. */
static void
client_send(Fixture *f, int fd, const void *data, size_t len)
{
	gint64 give_up = g_get_monotonic_time() + WAIT_US;
	while (len > 0) {
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
		if (n > 0) {
			data = (const char *)data + n;
			len -= (size_t)n;
			continue;
		}
		g_assert_true(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
		g_assert_cmpint(g_get_monotonic_time(), <, give_up);
		turn(f);
	}
}

static void
client_send_str(Fixture *f, int fd, const char *text)
{
	client_send(f, fd, text, strlen(text));
}

/* Reads what is there into got; true at EOF (or a reset). */
static bool
client_drain(int fd, GString *got)
{
	char buf[65536];
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n > 0) {
			g_string_append_len(got, buf, n);
			continue;
		}
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return true;
		g_assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
		return false;
	}
}

/* Turns the loop until got holds want (after from). */
static void
client_expect(Fixture *f, int fd, GString *got, const char *want)
{
	gint64 give_up = g_get_monotonic_time() + WAIT_US;
	while (strstr(got->str, want) == NULL) {
		if (g_get_monotonic_time() > give_up)
			g_error("waited for \"%s\", got \"%s\"", want, got->str);
		turn(f);
		g_assert_false(client_drain(fd, got) && strstr(got->str, want) == NULL);
	}
}

/* Turns the loop until the server closes fd; returns what came before. */
static void
client_expect_eof(Fixture *f, int fd, GString *got)
{
	gint64 give_up = g_get_monotonic_time() + WAIT_US;
	while (!client_drain(fd, got)) {
		if (g_get_monotonic_time() > give_up)
			g_error("waited for EOF, got \"%s\"", got->str);
		turn(f);
	}
}

static void
turn_until_conns(Fixture *f, size_t count)
{
	gint64 give_up = g_get_monotonic_time() + WAIT_US;
	while (server_loop_conn_count(f->loop) != count) {
		g_assert_cmpint(g_get_monotonic_time(), <, give_up);
		turn(f);
	}
}

/* INFO at once, then PING answered, the PING split over two writes. */
static void
test_info_ping(Fixture *f, gconstpointer data)
{
	(void)data;
	start(f, NULL);
	int fd = client_connect(f->port, 0);
	g_autoptr(GString) got = g_string_new(NULL);
	client_expect(f, fd, got, "} \r\n");
	g_assert_true(g_str_has_prefix(got->str, "INFO {"));
	g_autofree char *port = g_strdup_printf("\"port\":%u", f->port);
	g_assert_nonnull(strstr(got->str, port));
	g_string_truncate(got, 0);
	client_send_str(f, fd, "PING\r\n");
	client_expect(f, fd, got, "PONG\r\n");
	g_string_truncate(got, 0);
	client_send_str(f, fd, "PI");
	turn(f);
	client_send_str(f, fd, "NG\r\n");
	client_expect(f, fd, got, "PONG\r\n");
	g_assert_cmpuint(server_loop_conn_count(f->loop), ==, 1);
	close(fd);
	turn_until_conns(f, 0);
}

/* A subscriber with a tiny receive buffer gets 4 MB it does not read at
 * first: the loop must keep the rest and send it as the socket drains
 * (partial sends, EPOLLOUT), every byte in order. */
static void
test_backpressure(Fixture *f, gconstpointer data)
{
	(void)data;
	start(f, NULL);
	int sub = client_connect(f->port, 4096);
	int pub = client_connect(f->port, 0);
	g_autoptr(GString) got = g_string_new(NULL);
	g_autoptr(GString) pub_got = g_string_new(NULL);
	client_send_str(f, sub, "CONNECT {\"verbose\":false}\r\nSUB big 1\r\nPING\r\n");
	client_expect(f, sub, got, "PONG\r\n");
	g_string_truncate(got, 0);
	enum { COUNT = 64, SIZE = 60000 };
	g_autoptr(GString) msg = g_string_new("PUB big 60000\r\n");
	for (int i = 0; i < SIZE; i++)
		g_string_append_c(msg, (char)('a' + i % 26));
	g_string_append(msg, "\r\n");
	client_send_str(f, pub, "CONNECT {\"verbose\":false}\r\n");
	for (int i = 0; i < COUNT; i++)
		client_send(f, pub, msg->str, msg->len);
	client_send_str(f, pub, "PING\r\n");
	client_expect(f, pub, pub_got, "PONG\r\n");
	/* The publisher is done; the subscriber's bytes wait in the server. */
	const char *header = "MSG big 1 60000\r\n";
	size_t want = COUNT * (strlen(header) + SIZE + 2);
	gint64 give_up = g_get_monotonic_time() + WAIT_US;
	while (got->len < want) {
		g_assert_cmpint(g_get_monotonic_time(), <, give_up);
		g_assert_false(client_drain(sub, got));
		turn(f);
	}
	g_assert_cmpuint(got->len, ==, want);
	for (int i = 0; i < COUNT; i++) {
		const char *at = got->str + (size_t)i * (strlen(header) + SIZE + 2);
		g_assert_cmpint(strncmp(at, header, strlen(header)), ==, 0);
		g_assert_cmpint(memcmp(at + strlen(header), msg->str + strlen("PUB big 60000\r\n"), SIZE + 2), ==, 0);
	}
	close(sub);
	close(pub);
	turn_until_conns(f, 0);
}

/* Over max_connections: INFO, the -ERR, then the server closes, once the
 * output is flushed. */
static void
test_closing_flushes(Fixture *f, gconstpointer data)
{
	(void)data;
	BrokerConfig broker = { .connections_max = 1 };
	start(f, &broker);
	int a = client_connect(f->port, 0);
	g_autoptr(GString) got_a = g_string_new(NULL);
	client_expect(f, a, got_a, "} \r\n");
	int b = client_connect(f->port, 0);
	g_autoptr(GString) got_b = g_string_new(NULL);
	client_expect_eof(f, b, got_b);
	g_assert_true(g_str_has_prefix(got_b->str, "INFO {"));
	g_assert_true(g_str_has_suffix(got_b->str, "} \r\n-ERR 'maximum connections exceeded'\r\n"));
	turn_until_conns(f, 1);
	close(a);
	close(b);
	turn_until_conns(f, 0);
}

/* The broker's deadline wakes the loop: a client that never sends CONNECT
 * to a server with a token gets the Authentication Timeout at 200 ms. */
static void
test_timer(Fixture *f, gconstpointer data)
{
	(void)data;
	BrokerConfig broker = { .token = "secret", .auth_timeout_ns = 200 * 1000 * 1000 };
	start(f, &broker);
	gint64 t0 = g_get_monotonic_time();
	int fd = client_connect(f->port, 0);
	g_autoptr(GString) got = g_string_new(NULL);
	client_expect_eof(f, fd, got);
	gint64 elapsed_us = g_get_monotonic_time() - t0;
	g_assert_nonnull(strstr(got->str, "\"auth_required\":true"));
	g_assert_true(g_str_has_suffix(got->str, "-ERR 'Authentication Timeout'\r\n"));
	g_assert_cmpint(elapsed_us, >=, 200 * 1000);
	g_assert_cmpint(elapsed_us, <, 5 * G_USEC_PER_SEC);
	close(fd);
}

/* A connection the broker closes while its output cannot drain (the client
 * reads nothing) is closed by the loop at the write deadline: 8 MB wait
 * for a subscriber that then breaks the protocol. (The broker's own write
 * deadline stops once it marks the connection closing: the loop's is the
 * one that ends it, not a Slow Consumer close.) */
static void
test_closing_write_deadline(Fixture *f, gconstpointer data)
{
	(void)data;
	BrokerConfig broker = { .write_deadline_ns = INT64_C(2000000000), .log_level = BROKER_LOG_DEBUG };
	start(f, &broker);
	int sub = client_connect(f->port, 4096);
	int pub = client_connect(f->port, 0);
	g_autoptr(GString) got = g_string_new(NULL);
	g_autoptr(GString) pub_got = g_string_new(NULL);
	client_send_str(f, sub, "CONNECT {\"verbose\":false}\r\nSUB s 1\r\nPING\r\n");
	client_expect(f, sub, got, "PONG\r\n");
	g_autoptr(GString) msg = g_string_new("PUB s 100000\r\n");
	for (int i = 0; i < 100000; i++)
		g_string_append_c(msg, 'x');
	g_string_append(msg, "\r\n");
	client_send_str(f, pub, "CONNECT {\"verbose\":false}\r\n");
	for (int i = 0; i < 80; i++)
		client_send(f, pub, msg->str, msg->len);
	client_send_str(f, pub, "PING\r\n");
	client_expect(f, pub, pub_got, "PONG\r\n");
	/* The subscriber breaks the protocol: closing, with output stuck. */
	gint64 t0 = g_get_monotonic_time();
	client_send_str(f, sub, "FOO\r\n");
	turn_until_conns(f, 1);
	gint64 elapsed_us = g_get_monotonic_time() - t0;
	g_autofree char *log = NULL;
	g_assert_true(g_file_get_contents(f->log_path, &log, NULL, NULL));
	g_assert_null(strstr(log, "Slow Consumer"));
	g_assert_cmpint(elapsed_us, >=, 1500 * 1000);
	g_assert_cmpint(elapsed_us, <, 8 * G_USEC_PER_SEC);
	close(sub);
	close(pub);
	turn_until_conns(f, 0);
}

/* A client that goes away is closed and forgotten. */
static void
test_peer_close(Fixture *f, gconstpointer data)
{
	(void)data;
	start(f, NULL);
	int fds[3];
	g_autoptr(GString) got = g_string_new(NULL);
	for (int i = 0; i < 3; i++) {
		fds[i] = client_connect(f->port, 0);
		client_expect(f, fds[i], got, "} \r\n");
		g_string_truncate(got, 0);
	}
	g_assert_cmpuint(server_loop_conn_count(f->loop), ==, 3);
	close(fds[1]);
	turn_until_conns(f, 2);
	/* A reset (SO_LINGER 0) is a close too. */
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	setsockopt(fds[0], SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fds[0]);
	turn_until_conns(f, 1);
	close(fds[2]);
	turn_until_conns(f, 0);
}

/* One HTTP exchange on a fresh connection; returns the whole response. */
static GString *
http_request(Fixture *f, const char *request)
{
	int fd = client_connect(f->http_port, 0);
	client_send_str(f, fd, request);
	GString *got = g_string_new(NULL);
	client_expect_eof(f, fd, got);
	close(fd);
	return got;
}

static json_t *
http_json_body(const GString *response)
{
	const char *body = strstr(response->str, "\r\n\r\n");
	g_assert_nonnull(body);
	json_error_t error;
	json_t *json = json_loads(body + 4, 0, &error);
	if (json == NULL)
		g_error("not JSON (%s): %s", error.text, body + 4);
	return json;
}

/* GET is forwarded to broker_monitor with its query arguments; the
 * status, Content-Type and CORS header come back; other methods get 405. */
static void
test_http(Fixture *f, gconstpointer data)
{
	(void)data;
	start(f, NULL);
	int client = client_connect(f->port, 0);
	g_autoptr(GString) got = g_string_new(NULL);
	client_send_str(f, client, "CONNECT {\"verbose\":false,\"name\":\"c1\"}\r\nSUB a.b 7\r\nPING\r\n");
	client_expect(f, client, got, "PONG\r\n");

	g_autoptr(GString) varz = http_request(f, "GET /varz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	g_assert_true(g_str_has_prefix(varz->str, "HTTP/1.1 200 OK\r\n"));
	g_assert_nonnull(strstr(varz->str, "\r\nContent-Type: application/json\r\n"));
	g_assert_nonnull(strstr(varz->str, "\r\nAccess-Control-Allow-Origin: *\r\n"));
	json_t *v = http_json_body(varz);
	g_assert_cmpint(json_integer_value(json_object_get(v, "port")), ==, f->port);
	g_assert_cmpint(json_integer_value(json_object_get(v, "http_port")), ==, f->http_port);
	g_assert_cmpint(json_integer_value(json_object_get(v, "connections")), ==, 1);
	g_assert_cmpint(json_integer_value(json_object_get(v, "mem")), >, 0);
	json_decref(v);

	g_autoptr(GString) connz =
	    http_request(f, "GET /connz?subs=1&sort=cid HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	g_assert_true(g_str_has_prefix(connz->str, "HTTP/1.1 200 OK\r\n"));
	json_t *c = http_json_body(connz);
	json_t *conns = json_object_get(c, "connections");
	g_assert_cmpuint(json_array_size(conns), ==, 1);
	json_t *c0 = json_array_get(conns, 0);
	g_assert_cmpstr(json_string_value(json_object_get(c0, "name")), ==, "c1");
	json_t *subs = json_object_get(c0, "subscriptions_list");
	g_assert_cmpuint(json_array_size(subs), ==, 1);
	g_assert_cmpstr(json_string_value(json_array_get(subs, 0)), ==, "a.b");
	json_decref(c);

	g_autoptr(GString) head = http_request(f, "HEAD /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	g_assert_true(g_str_has_prefix(head->str, "HTTP/1.1 200 OK\r\n"));
	g_assert_true(g_str_has_suffix(head->str, "\r\n\r\n")); /* no body */

	g_autoptr(GString) post =
	    http_request(f, "POST /varz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
	g_assert_true(g_str_has_prefix(post->str, "HTTP/1.1 405 Method Not Allowed\r\n"));
	g_assert_nonnull(strstr(post->str, "\r\nAllow: GET, HEAD\r\n"));

	/* SERVER_HTTP_ARGS_MAX arguments pass, one more is refused. */
	for (int n = 32; n <= 33; n++) {
		g_autoptr(GString) req = g_string_new("GET /varz?");
		for (int i = 0; i < n; i++)
			g_string_append_printf(req, "%sa%d=%d", i > 0 ? "&" : "", i, i);
		g_string_append(req, " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
		g_autoptr(GString) resp = http_request(f, req->str);
		g_assert_true(g_str_has_prefix(resp->str, n == 32 ? "HTTP/1.1 200 OK\r\n" : "HTTP/1.1 400 Bad Request\r\n"));
	}
	close(client);
	turn_until_conns(f, 0);
}

/* SIGTERM and SIGINT stop the loop; SIGHUP only warns. */
static void
test_signals(Fixture *f, gconstpointer data)
{
	(void)data;
	start(f, NULL);
	raise(SIGHUP);
	for (int i = 0; i < 3; i++)
		turn(f);
	raise(SIGTERM);
	int sig = 0;
	for (int i = 0; i < 100 && sig == 0; i++)
		sig = server_loop_run_once(f->loop, 10);
	g_assert_cmpint(sig, ==, SIGTERM);
	g_autofree char *log = NULL;
	g_assert_true(g_file_get_contents(f->log_path, &log, NULL, NULL));
	g_assert_nonnull(strstr(log, "[INF] Trapped \"hangup\" signal\n"));
	g_assert_nonnull(strstr(log, "[WRN] Configuration reload is not supported by natsim-server"));
	g_assert_nonnull(strstr(log, "[INF] Trapped \"terminated\" signal\n"));
	server_loop_destroy(f->loop);
	f->loop = NULL;
	start(f, NULL);
	raise(SIGINT);
	sig = 0;
	for (int i = 0; i < 100 && sig == 0; i++)
		sig = server_loop_run_once(f->loop, 10);
	g_assert_cmpint(sig, ==, SIGINT);
}

/* Shutdown closes every client; the port is taken again at once (clients
 * were connected, so the server side is in TIME_WAIT); a second server on
 * a port in use fails with nats-server's message. */
static void
test_shutdown_and_reuse(Fixture *f, gconstpointer data)
{
	(void)data;
	start(f, NULL);
	uint16_t port = f->port;
	int fds[2];
	g_autoptr(GString) got = g_string_new(NULL);
	for (int i = 0; i < 2; i++) {
		fds[i] = client_connect(port, 0);
		client_expect(f, fds[i], got, "} \r\n");
	}
	ServerLoopConfig config = { .host = "127.0.0.1", .port = port, .log = f->log };
	g_autoptr(GError) error = NULL;
	g_assert_null(server_loop_create(&config, &error));
	g_autofree char *want = g_strdup_printf(
	    "Error listening on port: 127.0.0.1:%u, \"listen tcp 127.0.0.1:%u: bind: address already in use\"", port, port);
	g_assert_cmpstr(error->message, ==, want);
	g_clear_error(&error);

	server_loop_destroy(f->loop);
	f->loop = NULL;
	for (int i = 0; i < 2; i++) {
		g_string_truncate(got, 0);
		g_assert_true(client_drain(fds[i], got));
		close(fds[i]);
	}
	f->loop = server_loop_create(&config, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(server_loop_port(f->loop), ==, port);
	g_assert_cmpuint(server_loop_http_port(f->loop), ==, 0);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	signal(SIGPIPE, SIG_IGN);
#define ADD(path, fn) g_test_add("/broker/server-loop/" path, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
	ADD("info-ping", test_info_ping);
	ADD("backpressure", test_backpressure);
	ADD("closing-flushes", test_closing_flushes);
	ADD("timer", test_timer);
	ADD("closing-write-deadline", test_closing_write_deadline);
	ADD("peer-close", test_peer_close);
	ADD("http", test_http);
	ADD("signals", test_signals);
	ADD("shutdown-and-reuse", test_shutdown_and_reuse);
#undef ADD
	return g_test_run();
}
