/*
 * test_server_stall.c - natsim-server's loop (broker/server_loop.c) pauses
 * reading a publisher while a subscriber it feeds is behind, as
 * nats-server stalls fast producers: a publisher that outruns a slow
 * subscriber does not get that subscriber closed as a slow consumer, and
 * a subscriber that reads nothing holds its publisher back only briefly.
 * Real loopback sockets; the test is both clients, reading and writing
 * between turns of server_loop_run_once, every wait bounded.
 */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "broker/server_loop.h"

#define WAIT_US (20 * G_USEC_PER_SEC) /* every wait gives up after this */

typedef struct Fixture {
	char *dir;
	char *log_path;
	ServerLog *log;
	ServerLoop *loop;
	uint16_t port;
} Fixture;

static void
fixture_set_up(Fixture *f, gconstpointer data)
{
	(void)data;
	g_autoptr(GError) error = NULL;
	f->dir = g_dir_make_tmp("natsim-stall-XXXXXX", &error);
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

static void
start(Fixture *f, int64_t pending_bytes_max)
{
	ServerLoopConfig config = {
		/* no server PING in the middle of the subscriber's bytes */
		.broker = { .pending_bytes_max = pending_bytes_max, .ping_interval_ns = INT64_C(600000000000),
		    .log_level = BROKER_LOG_DEBUG },
		.host = "127.0.0.1",
		.log = f->log,
	};
	g_autoptr(GError) error = NULL;
	f->loop = server_loop_create(&config, &error);
	g_assert_no_error(error);
	f->port = server_loop_port(f->loop);
}

static void
turn(Fixture *f)
{
	g_assert_cmpint(server_loop_run_once(f->loop, 1), ==, 0);
}

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

/* Sends what the socket takes of data + *sent (up to len); returns false
 * once all is sent. */
static bool
client_send_some(int fd, const char *data, size_t len, size_t *sent)
{
	while (*sent < len) {
		ssize_t n = send(fd, data + *sent, len - *sent, MSG_NOSIGNAL);
		if (n > 0) {
			*sent += (size_t)n;
			continue;
		}
		g_assert_true(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
		return true;
	}
	return false;
}

/* Reads at most max bytes into got; true at EOF (or a reset). */
static bool
client_read(int fd, GString *got, size_t max)
{
	char buf[16384];
	size_t total = 0;
	while (total < max) {
		ssize_t n = recv(fd, buf, MIN(sizeof(buf), max - total), 0);
		if (n > 0) {
			g_string_append_len(got, buf, n);
			total += (size_t)n;
			continue;
		}
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return true;
		g_assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
		return false;
	}
	return false;
}

static void
client_expect(Fixture *f, int fd, GString *got, const char *want)
{
	gint64 give_up = g_get_monotonic_time() + WAIT_US;
	while (strstr(got->str, want) == NULL) {
		g_assert_cmpint(g_get_monotonic_time(), <, give_up);
		turn(f);
		g_assert_false(client_read(fd, got, SIZE_MAX) && strstr(got->str, want) == NULL);
	}
}

/* A subscriber on "s" (small receive buffer) and a publisher, both past
 * CONNECT. */
static void
connect_pair(Fixture *f, int *sub, int *pub)
{
	g_autoptr(GString) got = g_string_new(NULL);
	*sub = client_connect(f->port, 16384);
	*pub = client_connect(f->port, 0);
	const char *hello = "CONNECT {\"verbose\":false}\r\nSUB s 1\r\nPING\r\n";
	size_t sent = 0;
	g_assert_false(client_send_some(*sub, hello, strlen(hello), &sent));
	client_expect(f, *sub, got, "PONG\r\n");
	g_string_truncate(got, 0);
	const char *pub_hello = "CONNECT {\"verbose\":false}\r\nPING\r\n";
	sent = 0;
	g_assert_false(client_send_some(*pub, pub_hello, strlen(pub_hello), &sent));
	client_expect(f, *pub, got, "PONG\r\n");
}

/* "PUB s 100000" and its payload, count times. */
static GString *
pub_stream(int count)
{
	GString *s = g_string_new(NULL);
	for (int k = 0; k < count; k++) {
		g_string_append(s, "PUB s 100000\r\n");
		for (int i = 0; i < 100000; i++)
			g_string_append_c(s, (char)('a' + (k + i) % 26));
		g_string_append(s, "\r\n");
	}
	return s;
}

/* 8 MB through a 512 KB max_pending to a subscriber that reads 32 KB per
 * turn: without the pause its backlog would pass max_pending (slow
 * consumer, closed); with it, every message arrives and the server never
 * closes anyone. */
static void
test_stall_slow_subscriber(Fixture *f, gconstpointer data)
{
	(void)data;
	start(f, 512 * 1024);
	int sub, pub;
	connect_pair(f, &sub, &pub);
	enum { COUNT = 80 };
	g_autoptr(GString) stream = pub_stream(COUNT);
	size_t sent = 0;
	size_t want = COUNT * (strlen("MSG s 1 100000\r\n") + 100000 + 2);
	g_autoptr(GString) got = g_string_new(NULL);
	gint64 give_up = g_get_monotonic_time() + WAIT_US;
	while (got->len < want) {
		g_assert_cmpint(g_get_monotonic_time(), <, give_up);
		client_send_some(pub, stream->str, stream->len, &sent);
		turn(f);
		g_assert_false(client_read(sub, got, 32 * 1024));
		g_assert_cmpuint(server_loop_conn_count(f->loop), ==, 2);
	}
	g_assert_cmpuint(got->len, ==, want);
	for (int k = 0; k < COUNT; k++) {
		const char *at = got->str + (size_t)k * (want / COUNT);
		g_assert_cmpint(strncmp(at, "MSG s 1 100000\r\n", 16), ==, 0);
		g_assert_cmpint(at[16], ==, 'a' + k % 26);
	}
	g_autofree char *log = NULL;
	g_assert_true(g_file_get_contents(f->log_path, &log, NULL, NULL));
	g_assert_null(strstr(log, "Slow Consumer"));
	close(sub);
	close(pub);
}

/* A subscriber that reads nothing: with the default max_pending its
 * publisher is only paused briefly (the soft pause) each time, so 8 MB
 * still get through to the server well within a second or two, and the
 * publisher's PING is answered. */
static void
test_stall_stuck_subscriber(Fixture *f, gconstpointer data)
{
	(void)data;
	start(f, 0);
	int sub, pub;
	connect_pair(f, &sub, &pub);
	g_autoptr(GString) stream = pub_stream(80);
	g_string_append(stream, "PING\r\n");
	size_t sent = 0;
	gint64 t0 = g_get_monotonic_time();
	while (client_send_some(pub, stream->str, stream->len, &sent)) {
		g_assert_cmpint(g_get_monotonic_time(), <, t0 + WAIT_US);
		turn(f);
	}
	g_autoptr(GString) got = g_string_new(NULL);
	client_expect(f, pub, got, "PONG\r\n");
	g_assert_cmpint(g_get_monotonic_time() - t0, <, 5 * G_USEC_PER_SEC);
	g_assert_cmpuint(server_loop_conn_count(f->loop), ==, 2);
	close(sub);
	close(pub);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	signal(SIGPIPE, SIG_IGN);
#define ADD(path, fn) g_test_add("/broker/server-stall/" path, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
	ADD("slow-subscriber", test_stall_slow_subscriber);
	ADD("stuck-subscriber", test_stall_stuck_subscriber);
#undef ADD
	return g_test_run();
}
