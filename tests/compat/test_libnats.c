/*
 * test_libnats.c - the official C client (libnats 3.4.1) against a server.
 *
 * The server binary comes from NATSIM_COMPAT_SERVER or the first argument
 * left after the GLib test options (the meson suite 'compat' runs this once
 * against nats-server and once against natsim-server). Each test starts its
 * own server on 127.0.0.1 and a fresh free port, and stops it by its PID.
 * What passes against nats-server is the contract natsim-server must meet.
 *
 * libnats runs its own threads (flusher, reader, timers); that is fine here:
 * this is a test of the real-world server, not simulator code. Every libnats
 * object is destroyed and nats_CloseAndWait() joins the library's threads,
 * so the binary stays clean under the valgrind setup.
 *
 * When the server binary does not exist the binary skips: exit 77, or with
 * --tap a TAP "1..0 # SKIP" plan and exit 0 (meson treats any nonzero exit
 * under the TAP protocol as an error).
 */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>
#include <nats/nats.h>

/* Every wait is bounded: a message, a reply, a server start. */
#define MSG_WAIT_MS 5000
#define SILENCE_WAIT_MS 300
#define SERVER_START_WAIT_MS 10000
#define SERVER_STOP_WAIT_MS 5000
#define MAX_PAYLOAD_BYTES (1024 * 1024)

static const char *server_binary;

/* -------------------------------------------------------------------------
 * A server process on a fresh loopback port.
 */

typedef struct CompatServer {
	GPid pid;
	int port;
	char url[64];
} CompatServer;

/* A port that was free a moment ago: bind to port 0 and read it back. */
static int
free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	g_assert_cmpint(fd, >=, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = 0,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof sa), ==, 0);
	socklen_t len = sizeof sa;
	g_assert_cmpint(getsockname(fd, (struct sockaddr *)&sa, &len), ==, 0);
	close(fd);
	return ntohs(sa.sin_port);
}

static gboolean
port_accepts(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	g_assert_cmpint(fd, >=, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	gboolean ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
	close(fd);
	return ok;
}

/* Reaps the child if it has exited; returns TRUE then. */
static gboolean
server_exited(CompatServer *srv)
{
	int status;
	pid_t r = waitpid(srv->pid, &status, WNOHANG);
	return r == srv->pid || (r < 0 && errno == ECHILD);
}

static void
server_stop(CompatServer *srv)
{
	if (srv->pid <= 0)
		return;
	if (!server_exited(srv)) {
		kill(srv->pid, SIGTERM);
		gboolean gone = FALSE;
		for (int k = 0; k < SERVER_STOP_WAIT_MS / 10 && !gone; k++) {
			gone = server_exited(srv);
			if (!gone)
				g_usleep(10 * 1000);
		}
		if (!gone) {
			kill(srv->pid, SIGKILL);
			waitpid(srv->pid, NULL, 0);
		}
	}
	g_spawn_close_pid(srv->pid);
	srv->pid = 0;
}

/* In the child before exec: die with the test process, so that a failed
 * assertion (which aborts the test binary) leaves no server behind. */
static void
server_child_setup(gpointer parent_pid)
{
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != (pid_t)GPOINTER_TO_INT(parent_pid))
		_exit(1);
}

/* Start the server with -a 127.0.0.1 -p <fresh port> and extra_args (NULL
 * terminated); wait until it accepts. Retries on a port lost to a race. */
static void
server_start(CompatServer *srv, const char *const *extra_args)
{
	for (int attempt = 0; attempt < 3; attempt++) {
		srv->port = free_port();
		g_snprintf(srv->url, sizeof srv->url, "nats://127.0.0.1:%d", srv->port);
		GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);
		g_ptr_array_add(argv, g_strdup(server_binary));
		g_ptr_array_add(argv, g_strdup("-a"));
		g_ptr_array_add(argv, g_strdup("127.0.0.1"));
		g_ptr_array_add(argv, g_strdup("-p"));
		g_ptr_array_add(argv, g_strdup_printf("%d", srv->port));
		for (int k = 0; extra_args != NULL && extra_args[k] != NULL; k++)
			g_ptr_array_add(argv, g_strdup(extra_args[k]));
		g_ptr_array_add(argv, NULL);
		GError *err = NULL;
		gboolean spawned = g_spawn_async(NULL, (char **)argv->pdata, NULL,
			G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL |
			G_SPAWN_STDERR_TO_DEV_NULL, server_child_setup, GINT_TO_POINTER(getpid()),
			&srv->pid, &err);
		g_ptr_array_unref(argv);
		g_assert_no_error(err);
		g_assert_true(spawned);
		for (int k = 0; k < SERVER_START_WAIT_MS / 10; k++) {
			if (port_accepts(srv->port))
				return;
			if (server_exited(srv))
				break;
			g_usleep(10 * 1000);
		}
		server_stop(srv);
	}
	g_error("server %s did not start listening on 127.0.0.1", server_binary);
}

/* -------------------------------------------------------------------------
 * Fixture: one server per test; the test makes its own connections.
 */

typedef struct Fixture {
	CompatServer srv;
} Fixture;

static const char *const no_args[] = { NULL };
static const char *const user_pass_args[] = { "--user", "alice", "--pass", "s3cret", NULL };
static const char *const token_args[] = { "--auth", "t0ken", NULL };

static void
fixture_setup(Fixture *f, gconstpointer args)
{
	server_start(&f->srv, args);
}

static void
fixture_teardown(Fixture *f, gconstpointer args)
{
	server_stop(&f->srv);
}

/* Connect with no reconnects (a failure must show, not be retried) and the
 * given credentials (NULL for none). Returns the status; *out is NULL on error. */
static natsStatus
connect_with(Fixture *f, natsConnection **out, const char *user, const char *pass,
	const char *token)
{
	natsOptions *opts = NULL;
	g_assert_cmpint(natsOptions_Create(&opts), ==, NATS_OK);
	g_assert_cmpint(natsOptions_SetURL(opts, f->srv.url), ==, NATS_OK);
	g_assert_cmpint(natsOptions_SetAllowReconnect(opts, false), ==, NATS_OK);
	g_assert_cmpint(natsOptions_SetTimeout(opts, MSG_WAIT_MS), ==, NATS_OK);
	if (user != NULL)
		g_assert_cmpint(natsOptions_SetUserInfo(opts, user, pass), ==, NATS_OK);
	if (token != NULL)
		g_assert_cmpint(natsOptions_SetToken(opts, token), ==, NATS_OK);
	*out = NULL;
	natsStatus s = natsConnection_Connect(out, opts);
	natsOptions_Destroy(opts);
	if (s != NATS_OK) {
		natsConnection_Destroy(*out);
		*out = NULL;
	}
	return s;
}

static natsConnection *
connect_plain(Fixture *f)
{
	natsConnection *nc = NULL;
	natsStatus s = connect_with(f, &nc, NULL, NULL, NULL);
	if (s != NATS_OK)
		g_error("connect to %s: %s", f->srv.url, natsStatus_GetText(s));
	return nc;
}

static void
close_conn(natsConnection *nc)
{
	natsConnection_Close(nc);
	natsConnection_Destroy(nc);
}

/* The next message, which must arrive within MSG_WAIT_MS. */
static natsMsg *
next_msg(natsSubscription *sub)
{
	natsMsg *msg = NULL;
	natsStatus s = natsSubscription_NextMsg(&msg, sub, MSG_WAIT_MS);
	if (s != NATS_OK)
		g_error("NextMsg: %s", natsStatus_GetText(s));
	return msg;
}

/* Nothing more arrives on sub within SILENCE_WAIT_MS. */
static void
assert_no_more(natsSubscription *sub)
{
	natsMsg *msg = NULL;
	natsStatus s = natsSubscription_NextMsg(&msg, sub, SILENCE_WAIT_MS);
	if (s == NATS_OK)
		g_error("unexpected message on %s (%d bytes)", natsMsg_GetSubject(msg),
			natsMsg_GetDataLength(msg));
	g_assert_cmpint(s, ==, NATS_TIMEOUT);
}

static void
assert_payload(natsMsg *msg, const char *subject, const void *data, int len)
{
	g_assert_cmpstr(natsMsg_GetSubject(msg), ==, subject);
	g_assert_cmpint(natsMsg_GetDataLength(msg), ==, len);
	if (len > 0)
		g_assert_true(memcmp(natsMsg_GetData(msg), data, len) == 0);
}

/* -------------------------------------------------------------------------
 * Tests
 */

/* Payloads arrive byte-exact at the edges: 0 bytes, every byte value 0..255,
 * exactly max_payload (1 MiB, which INFO must announce); 1 MiB + 1 is refused by
 * the client itself, and the connection stays usable. */
static void
test_pubsub_exact_payloads(Fixture *f, gconstpointer args)
{
	natsConnection *nc = connect_plain(f);
	g_assert_cmpint(natsConnection_GetMaxPayload(nc), ==, MAX_PAYLOAD_BYTES);
	natsSubscription *sub = NULL;
	g_assert_cmpint(natsConnection_SubscribeSync(&sub, nc, "exact"), ==, NATS_OK);

	guint8 all_bytes[256];
	for (int k = 0; k < 256; k++)
		all_bytes[k] = (guint8)k;
	guint8 *big = g_malloc(MAX_PAYLOAD_BYTES + 1);
	for (int k = 0; k < MAX_PAYLOAD_BYTES + 1; k++)
		big[k] = (guint8)(k * 7 + k / 251);

	g_assert_cmpint(natsConnection_Publish(nc, "exact", NULL, 0), ==, NATS_OK);
	g_assert_cmpint(natsConnection_Publish(nc, "exact", all_bytes, 256), ==, NATS_OK);
	g_assert_cmpint(natsConnection_Publish(nc, "exact", big, MAX_PAYLOAD_BYTES), ==, NATS_OK);
	g_assert_cmpint(natsConnection_Publish(nc, "exact", big, MAX_PAYLOAD_BYTES + 1), ==,
		NATS_MAX_PAYLOAD);
	g_assert_cmpint(natsConnection_FlushTimeout(nc, MSG_WAIT_MS), ==, NATS_OK);

	natsMsg *msg = next_msg(sub);
	assert_payload(msg, "exact", NULL, 0);
	natsMsg_Destroy(msg);
	msg = next_msg(sub);
	assert_payload(msg, "exact", all_bytes, 256);
	natsMsg_Destroy(msg);
	msg = next_msg(sub);
	assert_payload(msg, "exact", big, MAX_PAYLOAD_BYTES);
	natsMsg_Destroy(msg);
	assert_no_more(sub);
	g_assert_true(natsConnection_Status(nc) == NATS_CONN_STATUS_CONNECTED);

	g_free(big);
	natsSubscription_Destroy(sub);
	close_conn(nc);
}

/* '*' matches one token, '>' one or more, a literal only itself: three subs,
 * three publishes, and each sub gets exactly the subjects it matches. */
static void
test_wildcards(Fixture *f, gconstpointer args)
{
	natsConnection *nc = connect_plain(f);
	natsSubscription *star = NULL, *gt = NULL, *lit = NULL;
	g_assert_cmpint(natsConnection_SubscribeSync(&star, nc, "w.*"), ==, NATS_OK);
	g_assert_cmpint(natsConnection_SubscribeSync(&gt, nc, "w.>"), ==, NATS_OK);
	g_assert_cmpint(natsConnection_SubscribeSync(&lit, nc, "w.a"), ==, NATS_OK);
	g_assert_cmpint(natsConnection_PublishString(nc, "w", "0"), ==, NATS_OK);
	g_assert_cmpint(natsConnection_PublishString(nc, "w.a", "1"), ==, NATS_OK);
	g_assert_cmpint(natsConnection_PublishString(nc, "w.a.b", "2"), ==, NATS_OK);
	g_assert_cmpint(natsConnection_PublishString(nc, "x.a", "3"), ==, NATS_OK);
	g_assert_cmpint(natsConnection_FlushTimeout(nc, MSG_WAIT_MS), ==, NATS_OK);

	natsMsg *msg = next_msg(star);
	assert_payload(msg, "w.a", "1", 1);
	natsMsg_Destroy(msg);
	assert_no_more(star);

	msg = next_msg(gt);
	assert_payload(msg, "w.a", "1", 1);
	natsMsg_Destroy(msg);
	msg = next_msg(gt);
	assert_payload(msg, "w.a.b", "2", 1);
	natsMsg_Destroy(msg);
	assert_no_more(gt);

	msg = next_msg(lit);
	assert_payload(msg, "w.a", "1", 1);
	natsMsg_Destroy(msg);
	assert_no_more(lit);

	natsSubscription_Destroy(star);
	natsSubscription_Destroy(gt);
	natsSubscription_Destroy(lit);
	close_conn(nc);
}

#define QUEUE_MSGS 200

/* Queue group: every message goes to exactly one of two members (on two
 * connections), both get some, and a plain subscriber gets all of them.
 * Method: 200 numbered messages; a seen-count per number. */
static void
test_queue_groups(Fixture *f, gconstpointer args)
{
	natsConnection *nc1 = connect_plain(f), *nc2 = connect_plain(f), *pub = connect_plain(f);
	natsSubscription *m1 = NULL, *m2 = NULL, *plain = NULL;
	g_assert_cmpint(natsConnection_QueueSubscribeSync(&m1, nc1, "q", "workers"), ==, NATS_OK);
	g_assert_cmpint(natsConnection_QueueSubscribeSync(&m2, nc2, "q", "workers"), ==, NATS_OK);
	g_assert_cmpint(natsConnection_SubscribeSync(&plain, nc2, "q"), ==, NATS_OK);
	g_assert_cmpint(natsConnection_FlushTimeout(nc1, MSG_WAIT_MS), ==, NATS_OK);
	g_assert_cmpint(natsConnection_FlushTimeout(nc2, MSG_WAIT_MS), ==, NATS_OK);

	for (int k = 0; k < QUEUE_MSGS; k++) {
		char buf[16];
		g_snprintf(buf, sizeof buf, "%d", k);
		g_assert_cmpint(natsConnection_PublishString(pub, "q", buf), ==, NATS_OK);
	}
	g_assert_cmpint(natsConnection_FlushTimeout(pub, MSG_WAIT_MS), ==, NATS_OK);

	int seen[QUEUE_MSGS] = { 0 };
	int got[2] = { 0, 0 };
	natsSubscription *members[2] = { m1, m2 };
	/* Drain both members until each is silent; bounded by the total count. */
	for (int m = 0; m < 2; m++) {
		for (int k = 0; k <= QUEUE_MSGS; k++) {
			natsMsg *msg = NULL;
			natsStatus s = natsSubscription_NextMsg(&msg, members[m], SILENCE_WAIT_MS);
			if (s == NATS_TIMEOUT)
				break;
			g_assert_cmpint(s, ==, NATS_OK);
			int n = atoi(natsMsg_GetData(msg));
			g_assert_cmpint(n, >=, 0);
			g_assert_cmpint(n, <, QUEUE_MSGS);
			seen[n]++;
			got[m]++;
			natsMsg_Destroy(msg);
		}
	}
	for (int k = 0; k < QUEUE_MSGS; k++)
		g_assert_cmpint(seen[k], ==, 1);
	g_assert_cmpint(got[0] + got[1], ==, QUEUE_MSGS);
	g_assert_cmpint(got[0], >, 0);
	g_assert_cmpint(got[1], >, 0);

	for (int k = 0; k < QUEUE_MSGS; k++) {
		natsMsg *msg = next_msg(plain);
		g_assert_cmpint(atoi(natsMsg_GetData(msg)), ==, k);
		natsMsg_Destroy(msg);
	}
	assert_no_more(plain);

	natsSubscription_Destroy(m1);
	natsSubscription_Destroy(m2);
	natsSubscription_Destroy(plain);
	close_conn(nc1);
	close_conn(nc2);
	close_conn(pub);
}

/* The responder callback: answer "re:<request>" on the request's reply. */
static void
on_request(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
	int *answered = closure;
	char *reply = g_strdup_printf("re:%.*s", natsMsg_GetDataLength(msg), natsMsg_GetData(msg));
	if (natsMsg_GetReply(msg) != NULL &&
	    natsConnection_PublishString(nc, natsMsg_GetReply(msg), reply) == NATS_OK)
		g_atomic_int_inc(answered);
	g_free(reply);
	natsMsg_Destroy(msg);
}

/* Request/reply: ten requests from one connection answered by a responder on
 * another; each reply carries its own request's payload. */
static void
test_request_reply(Fixture *f, gconstpointer args)
{
	natsConnection *rsp = connect_plain(f), *req = connect_plain(f);
	int answered = 0;
	natsSubscription *sub = NULL;
	g_assert_cmpint(natsConnection_Subscribe(&sub, rsp, "svc.echo", on_request, &answered),
		==, NATS_OK);
	g_assert_cmpint(natsConnection_FlushTimeout(rsp, MSG_WAIT_MS), ==, NATS_OK);
	for (int k = 0; k < 10; k++) {
		char body[16], want[32];
		g_snprintf(body, sizeof body, "q%d", k);
		g_snprintf(want, sizeof want, "re:q%d", k);
		natsMsg *reply = NULL;
		natsStatus s = natsConnection_Request(&reply, req, "svc.echo", body,
			(int)strlen(body), MSG_WAIT_MS);
		g_assert_cmpstr(natsStatus_GetText(s), ==, natsStatus_GetText(NATS_OK));
		g_assert_cmpint(natsMsg_GetDataLength(reply), ==, (int)strlen(want));
		g_assert_true(memcmp(natsMsg_GetData(reply), want, strlen(want)) == 0);
		natsMsg_Destroy(reply);
	}
	g_assert_cmpint(g_atomic_int_get(&answered), ==, 10);
	natsSubscription_Unsubscribe(sub);
	natsSubscription_Destroy(sub);
	close_conn(req);
	close_conn(rsp);
}

/* No responders: a request to a subject nobody listens on fails at once with
 * NATS_NO_RESPONDERS (the server's 503), well before the 5 s timeout; with a
 * responder present the same subject answers. */
static void
test_no_responders(Fixture *f, gconstpointer args)
{
	natsConnection *nc = connect_plain(f);
	natsMsg *reply = NULL;
	gint64 t0 = g_get_monotonic_time();
	natsStatus s = natsConnection_Request(&reply, nc, "nobody.home", "x", 1, MSG_WAIT_MS);
	gint64 took_ms = (g_get_monotonic_time() - t0) / 1000;
	g_assert_cmpstr(natsStatus_GetText(s), ==, natsStatus_GetText(NATS_NO_RESPONDERS));
	g_assert_null(reply);
	g_assert_cmpint(took_ms, <, MSG_WAIT_MS / 2);

	int answered = 0;
	natsSubscription *sub = NULL;
	g_assert_cmpint(natsConnection_Subscribe(&sub, nc, "nobody.home", on_request, &answered),
		==, NATS_OK);
	s = natsConnection_Request(&reply, nc, "nobody.home", "x", 1, MSG_WAIT_MS);
	g_assert_cmpint(s, ==, NATS_OK);
	assert_payload(reply, natsMsg_GetSubject(reply), "re:x", 4);
	natsMsg_Destroy(reply);
	natsSubscription_Unsubscribe(sub);
	natsSubscription_Destroy(sub);
	close_conn(nc);
}

/* Headers round trip: a set key and a key added three times (order kept)
 * arrive as sent, with the payload and reply; a headers-only message (empty
 * payload) too. (No empty value: libnats 3.4.1 sends "Key: " but cannot parse
 * it back, whatever the server does.) */
static void
test_headers_round_trip(Fixture *f, gconstpointer args)
{
	natsConnection *nc = connect_plain(f);
	natsSubscription *sub = NULL;
	g_assert_cmpint(natsConnection_SubscribeSync(&sub, nc, "hdr"), ==, NATS_OK);

	natsMsg *out = NULL;
	g_assert_cmpint(natsMsg_Create(&out, "hdr", "reply.here", "body", 4), ==, NATS_OK);
	g_assert_cmpint(natsMsgHeader_Set(out, "Single", "one"), ==, NATS_OK);
	g_assert_cmpint(natsMsgHeader_Add(out, "Multi", "a"), ==, NATS_OK);
	g_assert_cmpint(natsMsgHeader_Add(out, "Multi", "b b"), ==, NATS_OK);
	g_assert_cmpint(natsMsgHeader_Add(out, "Multi", "c"), ==, NATS_OK);
	g_assert_cmpint(natsConnection_PublishMsg(nc, out), ==, NATS_OK);
	natsMsg_Destroy(out);
	g_assert_cmpint(natsMsg_Create(&out, "hdr", NULL, NULL, 0), ==, NATS_OK);
	g_assert_cmpint(natsMsgHeader_Set(out, "Only", "headers"), ==, NATS_OK);
	g_assert_cmpint(natsConnection_PublishMsg(nc, out), ==, NATS_OK);
	natsMsg_Destroy(out);

	natsMsg *in = next_msg(sub);
	assert_payload(in, "hdr", "body", 4);
	g_assert_cmpstr(natsMsg_GetReply(in), ==, "reply.here");
	const char *value = NULL;
	g_assert_cmpint(natsMsgHeader_Get(in, "Single", &value), ==, NATS_OK);
	g_assert_cmpstr(value, ==, "one");
	const char **values = NULL;
	int count = 0;
	g_assert_cmpint(natsMsgHeader_Values(in, "Multi", &values, &count), ==, NATS_OK);
	g_assert_cmpint(count, ==, 3);
	g_assert_cmpstr(values[0], ==, "a");
	g_assert_cmpstr(values[1], ==, "b b");
	g_assert_cmpstr(values[2], ==, "c");
	free((void *)values);
	const char **keys = NULL;
	g_assert_cmpint(natsMsgHeader_Keys(in, &keys, &count), ==, NATS_OK);
	g_assert_cmpint(count, ==, 2);
	free((void *)keys);
	g_assert_cmpint(natsMsgHeader_Get(in, "single", &value), ==, NATS_NOT_FOUND);
	natsMsg_Destroy(in);

	in = next_msg(sub);
	assert_payload(in, "hdr", NULL, 0);
	g_assert_cmpint(natsMsgHeader_Get(in, "Only", &value), ==, NATS_OK);
	g_assert_cmpstr(value, ==, "headers");
	natsMsg_Destroy(in);
	assert_no_more(sub);

	natsSubscription_Destroy(sub);
	close_conn(nc);
}

/* A connection that authenticated works end to end: subscribe, publish, get. */
static void
assert_conn_works(natsConnection *nc)
{
	natsSubscription *sub = NULL;
	g_assert_cmpint(natsConnection_SubscribeSync(&sub, nc, "authed"), ==, NATS_OK);
	g_assert_cmpint(natsConnection_PublishString(nc, "authed", "ok"), ==, NATS_OK);
	natsMsg *msg = next_msg(sub);
	assert_payload(msg, "authed", "ok", 2);
	natsMsg_Destroy(msg);
	natsSubscription_Destroy(sub);
}

/* User/password auth (--user/--pass): the right pair connects and works; a
 * wrong password, a wrong user, and no credentials fail with AUTH_FAILED. */
static void
test_auth_user_pass(Fixture *f, gconstpointer args)
{
	natsConnection *nc = NULL;
	g_assert_cmpint(connect_with(f, &nc, "alice", "s3cret", NULL), ==, NATS_OK);
	assert_conn_works(nc);
	close_conn(nc);
	g_assert_cmpint(connect_with(f, &nc, "alice", "wrong", NULL), ==,
		NATS_CONNECTION_AUTH_FAILED);
	g_assert_null(nc);
	g_assert_cmpint(connect_with(f, &nc, "bob", "s3cret", NULL), ==,
		NATS_CONNECTION_AUTH_FAILED);
	g_assert_cmpint(connect_with(f, &nc, NULL, NULL, NULL), ==, NATS_CONNECTION_AUTH_FAILED);
}

/* Token auth (--auth): the right token connects and works; a wrong token and
 * no token fail with AUTH_FAILED. */
static void
test_auth_token(Fixture *f, gconstpointer args)
{
	natsConnection *nc = NULL;
	g_assert_cmpint(connect_with(f, &nc, NULL, NULL, "t0ken"), ==, NATS_OK);
	assert_conn_works(nc);
	close_conn(nc);
	g_assert_cmpint(connect_with(f, &nc, NULL, NULL, "t0ke"), ==,
		NATS_CONNECTION_AUTH_FAILED);
	g_assert_null(nc);
	g_assert_cmpint(connect_with(f, &nc, NULL, NULL, NULL), ==, NATS_CONNECTION_AUTH_FAILED);
}

#define MANY_SUBS 10000

/* 10,000 subscriptions on one connection, then one publish to each subject:
 * every sub gets exactly its own message. */
static void
test_many_subscriptions(Fixture *f, gconstpointer args)
{
	natsConnection *nc = connect_plain(f);
	natsSubscription **subs = g_new0(natsSubscription *, MANY_SUBS);
	char subject[32], body[16];
	for (int k = 0; k < MANY_SUBS; k++) {
		g_snprintf(subject, sizeof subject, "many.%d", k);
		g_assert_cmpint(natsConnection_SubscribeSync(&subs[k], nc, subject), ==, NATS_OK);
	}
	g_assert_cmpint(natsConnection_FlushTimeout(nc, MSG_WAIT_MS), ==, NATS_OK);
	for (int k = 0; k < MANY_SUBS; k++) {
		g_snprintf(subject, sizeof subject, "many.%d", k);
		g_snprintf(body, sizeof body, "%d", k);
		g_assert_cmpint(natsConnection_PublishString(nc, subject, body), ==, NATS_OK);
	}
	g_assert_cmpint(natsConnection_FlushTimeout(nc, MSG_WAIT_MS), ==, NATS_OK);
	for (int k = 0; k < MANY_SUBS; k++) {
		g_snprintf(subject, sizeof subject, "many.%d", k);
		g_snprintf(body, sizeof body, "%d", k);
		natsMsg *msg = next_msg(subs[k]);
		assert_payload(msg, subject, body, (int)strlen(body));
		natsMsg_Destroy(msg);
		int pending = -1;
		g_assert_cmpint(natsSubscription_GetPending(subs[k], &pending, NULL), ==, NATS_OK);
		g_assert_cmpint(pending, ==, 0);
	}
	for (int k = 0; k < MANY_SUBS; k++)
		natsSubscription_Destroy(subs[k]);
	g_free(subs);
	close_conn(nc);
}

#define ORDERED_MSGS 10000

/* 10,000 messages from one publisher arrive in publish order, each once, and
 * no more after them. */
static void
test_ordered_messages(Fixture *f, gconstpointer args)
{
	natsConnection *sub_nc = connect_plain(f), *pub = connect_plain(f);
	natsSubscription *sub = NULL;
	g_assert_cmpint(natsConnection_SubscribeSync(&sub, sub_nc, "ordered"), ==, NATS_OK);
	g_assert_cmpint(natsConnection_FlushTimeout(sub_nc, MSG_WAIT_MS), ==, NATS_OK);
	char body[16];
	for (int k = 0; k < ORDERED_MSGS; k++) {
		g_snprintf(body, sizeof body, "%d", k);
		g_assert_cmpint(natsConnection_PublishString(pub, "ordered", body), ==, NATS_OK);
	}
	g_assert_cmpint(natsConnection_FlushTimeout(pub, MSG_WAIT_MS), ==, NATS_OK);
	for (int k = 0; k < ORDERED_MSGS; k++) {
		g_snprintf(body, sizeof body, "%d", k);
		natsMsg *msg = next_msg(sub);
		assert_payload(msg, "ordered", body, (int)strlen(body));
		natsMsg_Destroy(msg);
	}
	assert_no_more(sub);
	int64_t dropped = -1;
	g_assert_cmpint(natsSubscription_GetDropped(sub, &dropped), ==, NATS_OK);
	g_assert_cmpint(dropped, ==, 0);
	natsSubscription_Destroy(sub);
	close_conn(pub);
	close_conn(sub_nc);
}

/* -------------------------------------------------------------------------
 */

static void
add(const char *path, const char *const *server_args,
	void (*fn)(Fixture *, gconstpointer))
{
	g_test_add(path, Fixture, server_args, fixture_setup, fn, fixture_teardown);
}

int
main(int argc, char **argv)
{
	gboolean tap = FALSE; /* looked for before g_test_init consumes it */
	for (int k = 1; k < argc; k++)
		tap = tap || g_strcmp0(argv[k], "--tap") == 0;
	g_test_init(&argc, &argv, NULL);
	/* g_test_init consumes its own options; what is left is ours. */
	server_binary = g_getenv("NATSIM_COMPAT_SERVER");
	if (argc > 1 && argv[argc - 1][0] != '-')
		server_binary = argv[argc - 1];
	if (server_binary == NULL || server_binary[0] == '\0') {
		g_printerr("usage: %s [GTEST OPTIONS] SERVER_BINARY  (or NATSIM_COMPAT_SERVER=...)\n",
			argv[0]);
		return 2;
	}
	if (!g_file_test(server_binary, G_FILE_TEST_IS_EXECUTABLE)) {
		const char *why = "the server binary is not installed";
		if (tap) {
			printf("1..0 # SKIP %s: %s\n", why, server_binary);
			return 0;
		}
		printf("SKIP: %s: %s\n", why, server_binary);
		return 77;
	}
	signal(SIGPIPE, SIG_IGN);
	if (nats_Open(-1) != NATS_OK)
		g_error("nats_Open failed");

	add("/compat/libnats/pubsub-exact-payloads", no_args, test_pubsub_exact_payloads);
	add("/compat/libnats/wildcards", no_args, test_wildcards);
	add("/compat/libnats/queue-groups", no_args, test_queue_groups);
	add("/compat/libnats/request-reply", no_args, test_request_reply);
	add("/compat/libnats/no-responders", no_args, test_no_responders);
	add("/compat/libnats/headers-round-trip", no_args, test_headers_round_trip);
	add("/compat/libnats/auth-user-pass", user_pass_args, test_auth_user_pass);
	add("/compat/libnats/auth-token", token_args, test_auth_token);
	add("/compat/libnats/many-subscriptions", no_args, test_many_subscriptions);
	add("/compat/libnats/ordered-messages", no_args, test_ordered_messages);

	int rc = g_test_run();
	nats_CloseAndWait(0);
	return rc;
}
