/*
 * test_libnats_js.c - the official C client's JetStream API (libnats 3.4.1)
 * against a server started with -js -sd <fresh dir>.
 *
 * The compatibility proof for JetStream: what passes against nats-server is
 * the contract natsim-server must meet, with the official client unchanged.
 * Streams and consumers (create, info, delete, the error codes 10014, 10058,
 * 10059), publish with dedupe, pull fetch with ack / NAK / TERM and their
 * advisories, push subscribe, durability across a restart, and the timer
 * behaviours: ack_wait redelivery, NAK delay, +WPI, max_deliver advisories,
 * max_age expiry, the ephemeral inactive threshold (NATS-SPEC §2-3).
 *
 * Usage: test_libnats_js [GTEST OPTIONS] [--speed=N [--clock-tool=T]] SERVER
 * (or NATSIM_COMPAT_SERVER=...). With --speed=N the server runs with its
 * clock N times faster than real time, through T: "libfaketime" (LD_PRELOAD
 * of libfaketime with FAKETIME="+<offset> xN"; for C programs such as
 * natsim-server) or the path of tests/compat/faketime_js (a ptrace clock
 * dilator, the only way found to speed up a Go program such as nats-server,
 * which reads the clock through the vDSO; see README.md). Without --speed
 * the server runs at real speed and the timer tests use short settings.
 *
 * Durations: every duration the server sees (ack_wait, max_age, pull expires,
 * NAK delay) is server time, `*_ns` or `*_server_ms`; the client and this
 * program run at real speed, so a real wait is server time / speed
 * (`*_real_ms`). The timer tests pick their server-time settings as
 * "<real target> × speed", so they take the same real time at every speed:
 * at ×100, ack_wait is 20 s of server time and 0.2 s of real time, max_age
 * one minute and 0.6 s.
 *
 * Each case runs in a subprocess of its own (a failure is one "not ok" and
 * the run goes on), starts its own server on 127.0.0.1 and a fresh port, with
 * the store in a fresh temporary directory (server.log beside it), and stops
 * it by its PID (SIGTERM, then SIGKILL after 5 s). A failed assertion leaves
 * the directory behind for the log; PR_SET_PDEATHSIG stops the server.
 * Some cases cap the speed (restart: ×1, inactive threshold: ×10); their
 * comments say why.
 *
 * Where nats-server 2.9.10 and the 2.10.22+ behaviour natsim models differ
 * (NATS-SPEC §3.3 "+TERM <reason>", §3.6 max_deliver 1 at ack_wait expiry), a
 * test reads the version from the server's INFO and checks what that version
 * does; README.md lists these checks.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <jansson.h>
#include <nats/nats.h>

/* Real-time bounds on waits that do not depend on the server's clock. */
#define API_WAIT_MS 5000
#define MSG_WAIT_MS 5000
#define SILENCE_WAIT_MS 100
#define SERVER_START_WAIT_MS 10000
#define SERVER_STOP_WAIT_MS 5000
#define POLL_STEP_MS 5

/* The real-time targets of the timer tests (see the header comment). */
#define ACK_WAIT_REAL_MS 200
#define MAX_AGE_REAL_MS 600
/* Before a restart: nats-server's consumer state writer runs at most every
 * 100 ms (test_restart_durable). */
#define RESTART_SETTLE_REAL_MS 250
/* nats-server's default inactive threshold for ephemerals, and the jitter it
 * adds: 0.1-1.0 s (NATS-SPEC §2.5). */
#define INACTIVE_THRESHOLD_DEFAULT_NS G_GINT64_CONSTANT(5000000000)
#define INACTIVE_JITTER_MAX_NS G_GINT64_CONSTANT(1000000000)
#define LIBFAKETIME_PATH "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"

#define NS_PER_MS G_GINT64_CONSTANT(1000000)

/* Set once in main, before any test runs. */
static const char *server_binary;
static int clock_speed = 1;    /* server seconds per real second */
static const char *clock_tool; /* NULL, "libfaketime" or faketime_js's path */

/* A note in the TAP output (a "# " line). In a case's subprocess, whose
 * g_test_message() output GLib does not pass on, it goes straight to the
 * inherited stdout. */
static void G_GNUC_PRINTF(1, 2)
note(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *text = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	if (g_test_subprocess()) {
		printf("# %s\n", text);
		fflush(stdout);
	} else {
		g_test_message("%s", text);
	}
	g_free(text);
}

/* -------------------------------------------------------------------------
 * A server process on a fresh loopback port, with JetStream on a store dir.
 */

typedef struct CompatServer {
	GPid pid;
	int port;
	char url[64];
	int version[3]; /* from INFO: major, minor, patch */
} CompatServer;

typedef struct Fixture {
	CompatServer srv;
	char *tmp_dir;
	char *store_dir;
	char *log_path;
	int speed;              /* this case's server clock speed: clock_speed, capped */
	gint64 clock_origin_us; /* real time of the first start: the server clock's zero */
	natsConnection *nc;
	jsCtx *js;
} Fixture;

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

/* Connects to the port; returns the socket or -1. */
static int
port_connect(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	g_assert_cmpint(fd, >=, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Reads the INFO line on a fresh connection and keeps its "version". */
static void
server_read_version(CompatServer *srv)
{
	int fd = port_connect(srv->port);
	g_assert_cmpint(fd, >=, 0);
	struct timeval tv = { .tv_sec = MSG_WAIT_MS / 1000 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	char buf[4096];
	size_t len = 0;
	while (len < sizeof buf - 1 && memchr(buf, '\n', len) == NULL) {
		ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	g_assert_true(g_str_has_prefix(buf, "INFO "));
	json_error_t jerr;
	json_t *info = json_loads(buf + 5, JSON_DISABLE_EOF_CHECK, &jerr);
	g_assert_nonnull(info);
	const char *version = json_string_value(json_object_get(info, "version"));
	g_assert_nonnull(version);
	memset(srv->version, 0, sizeof srv->version);
	g_assert_cmpint(sscanf(version, "%d.%d.%d", &srv->version[0], &srv->version[1],
		&srv->version[2]), >=, 2);
	json_decref(info);
}

static gboolean
server_version_at_least(const CompatServer *srv, int major, int minor, int patch)
{
	int want[3] = { major, minor, patch };
	for (int k = 0; k < 3; k++)
		if (srv->version[k] != want[k])
			return srv->version[k] > want[k];
	return TRUE;
}

static gboolean
server_exited(CompatServer *srv)
{
	int status;
	pid_t r = waitpid(srv->pid, &status, WNOHANG);
	return r == srv->pid || (r < 0 && errno == ECHILD);
}

/* SIGTERM to the PID, up to SERVER_STOP_WAIT_MS for it to exit, then SIGKILL. */
static void
server_stop(CompatServer *srv)
{
	if (srv->pid <= 0)
		return;
	if (!server_exited(srv)) {
		kill(srv->pid, SIGTERM);
		gboolean gone = FALSE;
		for (int k = 0; k < SERVER_STOP_WAIT_MS / POLL_STEP_MS && !gone; k++) {
			gone = server_exited(srv);
			if (!gone)
				g_usleep(POLL_STEP_MS * 1000);
		}
		if (!gone) {
			note("server %d ignored SIGTERM for %d ms: SIGKILL", srv->pid,
				SERVER_STOP_WAIT_MS);
			kill(srv->pid, SIGKILL);
			waitpid(srv->pid, NULL, 0);
		}
	}
	g_spawn_close_pid(srv->pid);
	srv->pid = 0;
}

/* In the child before exec: die with the test process. */
static void
server_child_setup(gpointer parent_pid)
{
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != (pid_t)GPOINTER_TO_INT(parent_pid))
		_exit(1);
}

/* The FAKETIME spec for a start now: the server's clock is
 * origin + (real - origin) × speed across restarts, so that a restarted
 * server does not see the times it stored in the past run lie in its future. */
static char *
clock_faketime_spec(const Fixture *f)
{
	gint64 since_origin_us = g_get_real_time() - f->clock_origin_us;
	gint64 offset_s = (since_origin_us * (f->speed - 1) + 500000) / 1000000;
	return g_strdup_printf("+%" G_GINT64_FORMAT " x%d", offset_s, f->speed);
}

/* Starts the server (through the clock tool, if any) with -a 127.0.0.1
 * -p <fresh port> -js -sd <store dir>; waits until it accepts and reads its
 * version. Retries on a port lost to a race. */
static void
server_start(Fixture *f)
{
	CompatServer *srv = &f->srv;
	for (int attempt = 0; attempt < 3; attempt++) {
		srv->port = free_port();
		g_snprintf(srv->url, sizeof srv->url, "nats://127.0.0.1:%d", srv->port);
		char *spec = clock_faketime_spec(f);
		GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);
		char **envp = g_get_environ();
		if (f->speed != 1 && g_strcmp0(clock_tool, "libfaketime") == 0) {
			envp = g_environ_setenv(envp, "LD_PRELOAD", LIBFAKETIME_PATH, TRUE);
			envp = g_environ_setenv(envp, "FAKETIME", spec, TRUE);
		} else if (f->speed != 1) {
			g_ptr_array_add(argv, g_strdup(clock_tool));
			g_ptr_array_add(argv, g_strdup("-f"));
			g_ptr_array_add(argv, g_strdup(spec));
		}
		g_ptr_array_add(argv, g_strdup(server_binary));
		g_ptr_array_add(argv, g_strdup("-a"));
		g_ptr_array_add(argv, g_strdup("127.0.0.1"));
		g_ptr_array_add(argv, g_strdup("-p"));
		g_ptr_array_add(argv, g_strdup_printf("%d", srv->port));
		g_ptr_array_add(argv, g_strdup("-js"));
		g_ptr_array_add(argv, g_strdup("-sd"));
		g_ptr_array_add(argv, g_strdup(f->store_dir));
		g_ptr_array_add(argv, NULL);
		int log_fd = open(f->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		g_assert_cmpint(log_fd, >=, 0);
		char *line = g_strdup_printf("=== start: FAKETIME=\"%s\" tool=%s port %d\n", spec,
			f->speed != 1 ? clock_tool : "none", srv->port);
		g_assert_cmpint(write(log_fd, line, strlen(line)), ==, (gssize)strlen(line));
		g_free(line);
		GError *err = NULL;
		gboolean spawned = g_spawn_async_with_pipes_and_fds(NULL,
			(const char *const *)argv->pdata, (const char *const *)envp,
			G_SPAWN_DO_NOT_REAP_CHILD, server_child_setup, GINT_TO_POINTER(getpid()),
			-1, log_fd, log_fd, NULL, NULL, 0, &srv->pid, NULL, NULL, NULL, &err);
		close(log_fd);
		g_ptr_array_unref(argv);
		g_strfreev(envp);
		g_free(spec);
		g_assert_no_error(err);
		g_assert_true(spawned);
		for (int k = 0; k < SERVER_START_WAIT_MS / POLL_STEP_MS; k++) {
			int fd = port_connect(srv->port);
			if (fd >= 0) {
				close(fd);
				server_read_version(srv);
				return;
			}
			if (server_exited(srv))
				break;
			g_usleep(POLL_STEP_MS * 1000);
		}
		server_stop(srv);
	}
	g_error("server %s did not start listening on 127.0.0.1 (log: %s)", server_binary,
		f->log_path);
}

/* Removes a directory tree (the test's own temporary directory). */
static void
remove_tree(const char *path)
{
	GDir *dir = g_dir_open(path, 0, NULL);
	if (dir != NULL) {
		const char *name;
		while ((name = g_dir_read_name(dir)) != NULL) {
			char *child = g_build_filename(path, name, NULL);
			if (g_file_test(child, G_FILE_TEST_IS_DIR) &&
			    !g_file_test(child, G_FILE_TEST_IS_SYMLINK))
				remove_tree(child);
			else
				g_unlink(child);
			g_free(child);
		}
		g_dir_close(dir);
	}
	g_rmdir(path);
}

/* -------------------------------------------------------------------------
 * Connection and JetStream context.
 */

/* Connects f->nc and f->js. A sped-up server sends its first PING 2 s of
 * its time after accepting (NATS-SPEC §6.6), 20 ms of real time at ×100; if
 * the connect handshake is slower than that on a loaded machine, libnats
 * reads that PING where it expects its PONG and fails with a protocol
 * error. That says nothing about JetStream, so it is retried (3 attempts). */
static void
fixture_connect(Fixture *f)
{
	natsOptions *opts = NULL;
	g_assert_cmpint(natsOptions_Create(&opts), ==, NATS_OK);
	g_assert_cmpint(natsOptions_SetURL(opts, f->srv.url), ==, NATS_OK);
	g_assert_cmpint(natsOptions_SetAllowReconnect(opts, false), ==, NATS_OK);
	g_assert_cmpint(natsOptions_SetTimeout(opts, API_WAIT_MS), ==, NATS_OK);
	natsStatus s = NATS_ERR;
	for (int attempt = 1; attempt <= 3; attempt++) {
		f->nc = NULL;
		s = natsConnection_Connect(&f->nc, opts);
		if (s != NATS_PROTOCOL_ERROR || f->speed == 1)
			break;
		note("connect attempt %d: %s (the server's first PING came first)",
			attempt, natsStatus_GetText(s));
		natsConnection_Destroy(f->nc);
		f->nc = NULL;
	}
	natsOptions_Destroy(opts);
	if (s != NATS_OK)
		g_error("connect to %s: %s", f->srv.url, natsStatus_GetText(s));
	jsOptions jo;
	g_assert_cmpint(jsOptions_Init(&jo), ==, NATS_OK);
	jo.Wait = API_WAIT_MS;
	g_assert_cmpint(natsConnection_JetStream(&f->js, f->nc, &jo), ==, NATS_OK);
}

static void
fixture_disconnect(Fixture *f)
{
	jsCtx_Destroy(f->js);
	f->js = NULL;
	if (f->nc != NULL) {
		natsConnection_Close(f->nc);
		natsConnection_Destroy(f->nc);
	}
	f->nc = NULL;
}

/* Fixture data: NULL, or a pointer to the highest clock speed the test's
 * server may run at, whatever --speed says. */
static const int speed_max_1 = 1;
static const int speed_max_10 = 10;

static void
fixture_setup(Fixture *f, gconstpointer data)
{
	GError *err = NULL;
	f->speed = data != NULL ? MIN(clock_speed, *(const int *)data) : clock_speed;
	f->tmp_dir = g_dir_make_tmp("natsim-js-XXXXXX", &err);
	g_assert_no_error(err);
	f->store_dir = g_build_filename(f->tmp_dir, "store", NULL);
	f->log_path = g_build_filename(f->tmp_dir, "server.log", NULL);
	f->clock_origin_us = g_get_real_time();
	note("server store and log: %s", f->tmp_dir);
	server_start(f);
	fixture_connect(f);
}

static void
fixture_teardown(Fixture *f, gconstpointer data)
{
	fixture_disconnect(f);
	server_stop(&f->srv);
	remove_tree(f->tmp_dir);
	g_free(f->tmp_dir);
	g_free(f->store_dir);
	g_free(f->log_path);
}

/* -------------------------------------------------------------------------
 * Time: server time and real time.
 */

/* Real milliseconds that `server_ns` of server time take. */
static gint64
real_ms(const Fixture *f, gint64 server_ns)
{
	return server_ns / NS_PER_MS / f->speed;
}

/* A server-time duration that takes `target_real_ms` of real time. */
static gint64
server_ns_for_real_ms(const Fixture *f, gint64 target_real_ms)
{
	return target_real_ms * NS_PER_MS * f->speed;
}

static gint64
now_real_ms(void)
{
	return g_get_monotonic_time() / 1000;
}

/* The expires of a pull that should be answered at once: MSG_WAIT_MS of
 * real time (libnats also waits that value in real time, which is longer). */
static gint64
prompt_expires_server_ms(const Fixture *f)
{
	return (gint64)MSG_WAIT_MS * f->speed;
}

static void
sleep_server_ns(const Fixture *f, gint64 server_ns)
{
	g_usleep((gulong)(real_ms(f, server_ns) * 1000));
}

/* Where a case's subprocess leaves the reason it skipped: GLib's trap API
 * tells the parent only "passed" or not (a skipped child exits with 77).
 * A file named after the parent's pid. */
static char *
case_skip_path(pid_t parent)
{
	return g_strdup_printf("%s/natsim-js-skip-%d", g_get_tmp_dir(), (int)parent);
}

/* In a case: skip it, saying why (each case runs in a subprocess, see
 * case_run). */
static void
case_skip(const char *why)
{
	if (g_test_subprocess()) {
		char *path = case_skip_path(getppid());
		g_file_set_contents(path, why, -1, NULL);
		g_free(path);
	}
	g_test_skip(why);
}

/* -------------------------------------------------------------------------
 * JetStream helpers.
 */

static const char *
status_text(natsStatus s)
{
	return natsStatus_GetText(s);
}

/* Adds a stream; every error is fatal. The caller owns the returned info. */
static jsStreamInfo *
stream_add(Fixture *f, jsStreamConfig *cfg)
{
	jsStreamInfo *si = NULL;
	jsErrCode jerr = 0;
	natsStatus s = js_AddStream(&si, f->js, cfg, NULL, &jerr);
	if (s != NATS_OK)
		g_error("js_AddStream %s: %s, err_code %d (%s)", cfg->Name, status_text(s), (int)jerr,
			nats_GetLastError(NULL));
	g_assert_nonnull(si);
	return si;
}

/* A file-storage stream `name` on one subject (or `name`.> when NULL). */
static void
stream_add_simple(Fixture *f, const char *name, const char *subject)
{
	jsStreamConfig cfg;
	g_assert_cmpint(jsStreamConfig_Init(&cfg), ==, NATS_OK);
	char *wild = g_strdup_printf("%s.>", name);
	const char *subjects[] = { subject != NULL ? subject : wild };
	cfg.Name = name;
	cfg.Subjects = subjects;
	cfg.SubjectsLen = 1;
	cfg.Storage = js_FileStorage;
	jsStreamInfo_Destroy(stream_add(f, &cfg));
	g_free(wild);
}

static jsStreamInfo *
stream_info(Fixture *f, const char *name)
{
	jsStreamInfo *si = NULL;
	jsErrCode jerr = 0;
	natsStatus s = js_GetStreamInfo(&si, f->js, name, NULL, &jerr);
	if (s != NATS_OK)
		g_error("js_GetStreamInfo %s: %s, err_code %d", name, status_text(s), (int)jerr);
	return si;
}

/* Initialises a durable pull consumer config with explicit acks. */
static void
consumer_config_pull(jsConsumerConfig *cc, const char *durable, gint64 ack_wait_ns,
	gint64 max_deliver)
{
	g_assert_cmpint(jsConsumerConfig_Init(cc), ==, NATS_OK);
	cc->Durable = durable;
	cc->AckPolicy = js_AckExplicit;
	cc->AckWait = ack_wait_ns;
	cc->MaxDeliver = max_deliver;
}

static jsConsumerInfo *
consumer_add(Fixture *f, const char *stream, jsConsumerConfig *cc)
{
	jsConsumerInfo *ci = NULL;
	jsErrCode jerr = 0;
	natsStatus s = js_AddConsumer(&ci, f->js, stream, cc, NULL, &jerr);
	if (s != NATS_OK)
		g_error("js_AddConsumer %s: %s, err_code %d (%s)", stream, status_text(s), (int)jerr,
			nats_GetLastError(NULL));
	g_assert_nonnull(ci);
	return ci;
}

static jsConsumerInfo *
consumer_info(Fixture *f, const char *stream, const char *consumer)
{
	jsConsumerInfo *ci = NULL;
	jsErrCode jerr = 0;
	natsStatus s = js_GetConsumerInfo(&ci, f->js, stream, consumer, NULL, &jerr);
	if (s != NATS_OK)
		g_error("js_GetConsumerInfo %s/%s: %s, err_code %d", stream, consumer,
			status_text(s), (int)jerr);
	return ci;
}

/* A pull subscription bound to the existing consumer stream/consumer. */
static natsSubscription *
pull_bind(Fixture *f, const char *stream, const char *consumer)
{
	jsSubOptions so;
	g_assert_cmpint(jsSubOptions_Init(&so), ==, NATS_OK);
	so.Stream = stream;
	so.Consumer = consumer;
	natsSubscription *sub = NULL;
	jsErrCode jerr = 0;
	natsStatus s = js_PullSubscribe(&sub, f->js, NULL, consumer, NULL, &so, &jerr);
	if (s != NATS_OK)
		g_error("js_PullSubscribe bind %s/%s: %s, err_code %d (%s)", stream, consumer,
			status_text(s), (int)jerr, nats_GetLastError(NULL));
	return sub;
}

static void
publish(Fixture *f, const char *subject, const char *payload, uint64_t want_seq)
{
	jsPubAck *pa = NULL;
	jsErrCode jerr = 0;
	natsStatus s = js_Publish(&pa, f->js, subject, payload, (int)strlen(payload), NULL, &jerr);
	if (s != NATS_OK)
		g_error("js_Publish %s: %s, err_code %d", subject, status_text(s), (int)jerr);
	g_assert_cmpuint(pa->Sequence, ==, want_seq);
	g_assert_false(pa->Duplicate);
	jsPubAck_Destroy(pa);
}

/* Fetches up to `batch` messages with a pull request that lives
 * `expires_server_ms` of server time (libnats sends expires = that - 10 ms
 * and also waits that long in real time, whichever ends first). */
static natsStatus
fetch(natsMsgList *list, natsSubscription *sub, int batch, gint64 expires_server_ms)
{
	jsErrCode jerr = 0;
	memset(list, 0, sizeof *list);
	return natsSubscription_Fetch(list, sub, batch, expires_server_ms, &jerr);
}

/* Exactly one message from a fetch of one; the caller owns it. */
static natsMsg *
fetch_one(natsSubscription *sub, gint64 expires_server_ms)
{
	natsMsgList list;
	natsStatus s = fetch(&list, sub, 1, expires_server_ms);
	if (s != NATS_OK)
		g_error("fetch of 1 (expires %" G_GINT64_FORMAT " ms server time): %s",
			expires_server_ms, status_text(s));
	g_assert_cmpint(list.Count, ==, 1);
	natsMsg *msg = list.Msgs[0];
	list.Msgs[0] = NULL;
	natsMsgList_Destroy(&list);
	return msg;
}

/* A fetch of one whose request expires after `expires_server_ms` gets
 * nothing: NATS_TIMEOUT (the server's 408). */
static void
fetch_none(natsSubscription *sub, gint64 expires_server_ms)
{
	natsMsgList list;
	natsStatus s = fetch(&list, sub, 1, expires_server_ms);
	if (s == NATS_OK) {
		jsMsgMetaData *meta = NULL;
		natsMsg_GetMetaData(&meta, list.Msgs[0]);
		g_error("unexpected delivery: stream seq %" G_GUINT64_FORMAT ", delivered %"
			G_GUINT64_FORMAT " times", meta ? meta->Sequence.Stream : 0,
			meta ? meta->NumDelivered : 0);
	}
	g_assert_cmpstr(status_text(s), ==, status_text(NATS_TIMEOUT));
	g_assert_cmpint(list.Count, ==, 0);
}

/* The delivery's metadata (from its $JS.ACK reply subject) is as given. */
static void
assert_meta(natsMsg *msg, const char *stream, const char *consumer, uint64_t stream_seq,
	uint64_t consumer_seq, uint64_t delivered)
{
	jsMsgMetaData *meta = NULL;
	g_assert_cmpint(natsMsg_GetMetaData(&meta, msg), ==, NATS_OK);
	g_assert_cmpstr(meta->Stream, ==, stream);
	g_assert_cmpstr(meta->Consumer, ==, consumer);
	g_assert_cmpuint(meta->Sequence.Stream, ==, stream_seq);
	g_assert_cmpuint(meta->Sequence.Consumer, ==, consumer_seq);
	g_assert_cmpuint(meta->NumDelivered, ==, delivered);
	g_assert_cmpint(meta->Timestamp, >, 0);
	jsMsgMetaData_Destroy(meta);
}

static void
ack_sync(natsMsg *msg)
{
	jsErrCode jerr = 0;
	natsStatus s = natsMsg_AckSync(msg, NULL, &jerr);
	if (s != NATS_OK)
		g_error("AckSync: %s", status_text(s));
}

static natsSubscription *
subscribe_sync(Fixture *f, const char *subject)
{
	natsSubscription *sub = NULL;
	g_assert_cmpint(natsConnection_SubscribeSync(&sub, f->nc, subject), ==, NATS_OK);
	g_assert_cmpint(natsConnection_FlushTimeout(f->nc, API_WAIT_MS), ==, NATS_OK);
	return sub;
}

/* The next message on sub within `wait_real_ms`, parsed as JSON; the caller
 * owns the result. */
static json_t *
next_json(natsSubscription *sub, gint64 wait_real_ms)
{
	natsMsg *msg = NULL;
	natsStatus s = natsSubscription_NextMsg(&msg, sub, wait_real_ms);
	if (s != NATS_OK)
		g_error("no message on %s within %" G_GINT64_FORMAT " ms: %s",
			natsSubscription_GetSubject(sub), wait_real_ms, status_text(s));
	json_error_t jerr;
	json_t *doc = json_loadb(natsMsg_GetData(msg), natsMsg_GetDataLength(msg), 0, &jerr);
	if (doc == NULL)
		g_error("not JSON on %s: %.*s", natsMsg_GetSubject(msg), natsMsg_GetDataLength(msg),
			natsMsg_GetData(msg));
	natsMsg_Destroy(msg);
	return doc;
}

/* Nothing arrives on sub within `wait_real_ms`. */
static void
assert_silent(natsSubscription *sub, gint64 wait_real_ms)
{
	natsMsg *msg = NULL;
	natsStatus s = natsSubscription_NextMsg(&msg, sub, wait_real_ms);
	if (s == NATS_OK)
		g_error("unexpected message on %s: %.*s", natsMsg_GetSubject(msg),
			natsMsg_GetDataLength(msg), natsMsg_GetData(msg));
	g_assert_cmpint(s, ==, NATS_TIMEOUT);
}

static const char *
json_str(json_t *doc, const char *key)
{
	json_t *v = json_object_get(doc, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static gint64
json_int(json_t *doc, const char *key)
{
	json_t *v = json_object_get(doc, key);
	if (!json_is_integer(v))
		g_error("advisory field %s missing or not an integer", key);
	return (gint64)json_integer_value(v);
}

/* An advisory's common fields: type, a non-empty id and an RFC 3339 timestamp,
 * and the stream and consumer it is about. */
static void
assert_advisory(json_t *doc, const char *type, const char *stream, const char *consumer)
{
	g_assert_cmpstr(json_str(doc, "type"), ==, type);
	g_assert_nonnull(json_str(doc, "id"));
	g_assert_cmpuint(strlen(json_str(doc, "id")), >, 0);
	const char *ts = json_str(doc, "timestamp");
	g_assert_nonnull(ts);
	GDateTime *dt = g_date_time_new_from_iso8601(ts, NULL);
	g_assert_nonnull(dt);
	g_date_time_unref(dt);
	g_assert_cmpstr(json_str(doc, "stream"), ==, stream);
	g_assert_cmpstr(json_str(doc, "consumer"), ==, consumer);
}

/* Polls consumer info every POLL_STEP_MS until `ready(ci)`, for at most
 * `wait_real_ms`; returns the info that satisfied it (the caller owns it). */
static jsConsumerInfo *
consumer_info_until(Fixture *f, const char *stream, const char *consumer,
	gboolean (*ready)(const jsConsumerInfo *), gint64 wait_real_ms)
{
	gint64 deadline = now_real_ms() + wait_real_ms;
	for (;;) {
		jsConsumerInfo *ci = consumer_info(f, stream, consumer);
		if (ready(ci))
			return ci;
		if (now_real_ms() > deadline)
			g_error("consumer %s/%s: not ready within %" G_GINT64_FORMAT " ms (ack pending %"
				G_GINT64_FORMAT ", redelivered %" G_GINT64_FORMAT ", floor %" G_GUINT64_FORMAT
				"/%" G_GUINT64_FORMAT ")", stream, consumer, wait_real_ms,
				ci->NumAckPending, ci->NumRedelivered, ci->AckFloor.Consumer,
				ci->AckFloor.Stream);
		jsConsumerInfo_Destroy(ci);
		g_usleep(POLL_STEP_MS * 1000);
	}
}

static gboolean
no_ack_pending(const jsConsumerInfo *ci)
{
	return ci->NumAckPending == 0;
}

/* -------------------------------------------------------------------------
 * Tests: the clock.
 */

/* The server's clock runs at the requested speed: two publishes 100 ms of
 * real time apart are stored (stream first_ts / last_ts) speed × that apart,
 * within a factor of two. A Go server under libfaketime fails here (×1). */
static void
test_clock_speed(Fixture *f, gconstpointer data)
{
	stream_add_simple(f, "CLK", NULL);
	gint64 send_a = g_get_monotonic_time();
	publish(f, "CLK.a", "a", 1);
	gint64 acked_a = g_get_monotonic_time();
	g_usleep(100 * 1000);
	gint64 send_b = g_get_monotonic_time();
	publish(f, "CLK.b", "b", 2);
	gint64 acked_b = g_get_monotonic_time();
	jsStreamInfo *si = stream_info(f, "CLK");
	double server_us = (double)(si->State.LastTime - si->State.FirstTime) / 1000.0;
	double speed_lo = server_us / (double)(acked_b - send_a);
	double speed_hi = server_us / (double)(send_b - acked_a);
	note("server clock speed: x%.1f .. x%.1f (requested x%d via %s)", speed_lo,
		speed_hi, f->speed, f->speed != 1 ? clock_tool : "none");
	if (speed_hi < f->speed / 2.0 || speed_lo > f->speed * 2.0)
		g_error("the server clock runs at x%.1f..x%.1f, not x%d: %s cannot speed up %s "
			"(libfaketime does not reach a Go program's clock; see tests/compat/README.md)",
			speed_lo, speed_hi, f->speed, f->speed != 1 ? clock_tool : "no tool",
			server_binary);
	jsStreamInfo_Destroy(si);
}

/* -------------------------------------------------------------------------
 * Tests: streams and consumers.
 */

/* Stream create / info / delete (NATS-SPEC §2.3): the defaults the server
 * fills in, the state after three publishes (file-storage bytes are
 * len(subject) + len(payload) + 30 each), an identical re-create succeeds,
 * delete, then info and delete say 10059. */
static void
test_stream_create_info_delete(Fixture *f, gconstpointer data)
{
	jsStreamConfig cfg;
	g_assert_cmpint(jsStreamConfig_Init(&cfg), ==, NATS_OK);
	const char *subjects[] = { "orders.*" };
	cfg.Name = "ORDERS";
	cfg.Subjects = subjects;
	cfg.SubjectsLen = 1;
	cfg.Storage = js_FileStorage;
	jsStreamInfo *si = stream_add(f, &cfg);
	g_assert_cmpstr(si->Config->Name, ==, "ORDERS");
	g_assert_cmpint(si->Config->SubjectsLen, ==, 1);
	g_assert_cmpstr(si->Config->Subjects[0], ==, "orders.*");
	g_assert_cmpint(si->Config->Retention, ==, js_LimitsPolicy);
	g_assert_cmpint(si->Config->MaxConsumers, ==, -1);
	g_assert_cmpint(si->Config->MaxMsgs, ==, -1);
	g_assert_cmpint(si->Config->MaxBytes, ==, -1);
	g_assert_cmpint(si->Config->MaxAge, ==, 0);
	g_assert_cmpint(si->Config->MaxMsgsPerSubject, ==, -1);
	g_assert_cmpint(si->Config->MaxMsgSize, ==, -1);
	g_assert_cmpint(si->Config->Discard, ==, js_DiscardOld);
	g_assert_cmpint(si->Config->Storage, ==, js_FileStorage);
	g_assert_cmpint(si->Config->Replicas, ==, 1);
	g_assert_cmpint(si->Config->Duplicates, ==, G_GINT64_CONSTANT(120000000000));
	g_assert_cmpint(si->Created, >, 0);
	g_assert_cmpuint(si->State.Msgs, ==, 0);
	g_assert_cmpuint(si->State.Bytes, ==, 0);
	g_assert_cmpuint(si->State.FirstSeq, ==, 0);
	g_assert_cmpuint(si->State.LastSeq, ==, 0);
	g_assert_cmpint(si->State.Consumers, ==, 0);
	jsStreamInfo_Destroy(si);

	publish(f, "orders.new", "o1", 1);
	publish(f, "orders.new", "o2", 2);
	publish(f, "orders.paid", "o1", 3);
	si = stream_info(f, "ORDERS");
	g_assert_cmpstr(si->Config->Name, ==, "ORDERS");
	g_assert_cmpuint(si->State.Msgs, ==, 3);
	g_assert_cmpuint(si->State.Bytes, ==, (10 + 2 + 30) * 2 + (11 + 2 + 30));
	g_assert_cmpuint(si->State.FirstSeq, ==, 1);
	g_assert_cmpuint(si->State.LastSeq, ==, 3);
	g_assert_cmpint(si->State.FirstTime, >, 0);
	g_assert_cmpint(si->State.LastTime, >=, si->State.FirstTime);
	jsStreamInfo_Destroy(si);

	/* The same config again: accepted, the stream and its messages stay. */
	si = stream_add(f, &cfg);
	g_assert_cmpuint(si->State.Msgs, ==, 3);
	jsStreamInfo_Destroy(si);

	jsErrCode jerr = 0;
	g_assert_cmpint(js_DeleteStream(f->js, "ORDERS", NULL, &jerr), ==, NATS_OK);
	si = NULL;
	natsStatus s = js_GetStreamInfo(&si, f->js, "ORDERS", NULL, &jerr);
	g_assert_cmpstr(status_text(s), ==, status_text(NATS_NOT_FOUND));
	g_assert_cmpint(jerr, ==, 10059);
	g_assert_null(si);
	jerr = 0;
	s = js_DeleteStream(f->js, "ORDERS", NULL, &jerr);
	g_assert_cmpstr(status_text(s), ==, status_text(NATS_NOT_FOUND));
	g_assert_cmpint(jerr, ==, 10059);
}

/* Stream errors (NATS-SPEC §2.3, §2.6): the name in use with a different
 * config is 10058 and leaves the stream as it was; a consumer on a missing
 * stream is 10059. */
static void
test_stream_errors(Fixture *f, gconstpointer data)
{
	stream_add_simple(f, "E", "e.>");
	publish(f, "e.1", "x", 1);

	jsStreamConfig cfg;
	g_assert_cmpint(jsStreamConfig_Init(&cfg), ==, NATS_OK);
	const char *subjects[] = { "e.>" };
	cfg.Name = "E";
	cfg.Subjects = subjects;
	cfg.SubjectsLen = 1;
	cfg.Storage = js_FileStorage;
	cfg.MaxMsgs = 10;
	jsStreamInfo *si = NULL;
	jsErrCode jerr = 0;
	natsStatus s = js_AddStream(&si, f->js, &cfg, NULL, &jerr);
	g_assert_cmpstr(status_text(s), ==, status_text(NATS_ERR));
	g_assert_cmpint(jerr, ==, 10058);
	g_assert_null(si);
	si = stream_info(f, "E");
	g_assert_cmpint(si->Config->MaxMsgs, ==, -1);
	g_assert_cmpuint(si->State.Msgs, ==, 1);
	jsStreamInfo_Destroy(si);

	jsConsumerConfig cc;
	consumer_config_pull(&cc, "D", 0, 0);
	jsConsumerInfo *ci = NULL;
	jerr = 0;
	s = js_AddConsumer(&ci, f->js, "NOPE", &cc, NULL, &jerr);
	g_assert_cmpstr(status_text(s), ==, status_text(NATS_ERR));
	g_assert_cmpint(jerr, ==, 10059);
	g_assert_null(ci);
}

/* Consumer create / info / delete (NATS-SPEC §2.5): the defaults of a durable
 * pull consumer with explicit acks (ack_wait 30 s, max_deliver -1,
 * max_ack_pending 1000, max_waiting 512), the counters before any delivery,
 * the stream's consumer count; an identical re-create is accepted; delete,
 * then info and delete say 10014. */
static void
test_consumer_create_info_delete(Fixture *f, gconstpointer data)
{
	stream_add_simple(f, "C", NULL);
	for (uint64_t k = 1; k <= 3; k++)
		publish(f, "C.x", "m", k);

	jsConsumerConfig cc;
	consumer_config_pull(&cc, "D1", 0, 0);
	jsConsumerInfo *ci = consumer_add(f, "C", &cc);
	g_assert_cmpstr(ci->Stream, ==, "C");
	g_assert_cmpstr(ci->Name, ==, "D1");
	g_assert_cmpint(ci->Created, >, 0);
	g_assert_cmpstr(ci->Config->Durable, ==, "D1");
	g_assert_cmpint(ci->Config->AckPolicy, ==, js_AckExplicit);
	g_assert_cmpint(ci->Config->DeliverPolicy, ==, js_DeliverAll);
	g_assert_cmpint(ci->Config->ReplayPolicy, ==, js_ReplayInstant);
	g_assert_cmpint(ci->Config->AckWait, ==, G_GINT64_CONSTANT(30000000000));
	g_assert_cmpint(ci->Config->MaxDeliver, ==, -1);
	g_assert_cmpint(ci->Config->MaxAckPending, ==, 1000);
	g_assert_cmpint(ci->Config->MaxWaiting, ==, 512);
	g_assert_null(ci->Config->DeliverSubject);
	g_assert_cmpuint(ci->Delivered.Consumer, ==, 0);
	g_assert_cmpuint(ci->Delivered.Stream, ==, 0);
	g_assert_cmpuint(ci->AckFloor.Consumer, ==, 0);
	g_assert_cmpuint(ci->AckFloor.Stream, ==, 0);
	g_assert_cmpint(ci->NumAckPending, ==, 0);
	g_assert_cmpint(ci->NumRedelivered, ==, 0);
	g_assert_cmpint(ci->NumWaiting, ==, 0);
	g_assert_cmpuint(ci->NumPending, ==, 3);
	jsConsumerInfo_Destroy(ci);

	ci = consumer_info(f, "C", "D1");
	g_assert_cmpstr(ci->Name, ==, "D1");
	g_assert_cmpuint(ci->NumPending, ==, 3);
	jsConsumerInfo_Destroy(ci);
	jsStreamInfo *si = stream_info(f, "C");
	g_assert_cmpint(si->State.Consumers, ==, 1);
	jsStreamInfo_Destroy(si);

	ci = consumer_add(f, "C", &cc);
	g_assert_cmpstr(ci->Name, ==, "D1");
	jsConsumerInfo_Destroy(ci);

	jsErrCode jerr = 0;
	g_assert_cmpint(js_DeleteConsumer(f->js, "C", "D1", NULL, &jerr), ==, NATS_OK);
	ci = NULL;
	natsStatus s = js_GetConsumerInfo(&ci, f->js, "C", "D1", NULL, &jerr);
	g_assert_cmpstr(status_text(s), ==, status_text(NATS_NOT_FOUND));
	g_assert_cmpint(jerr, ==, 10014);
	g_assert_null(ci);
	jerr = 0;
	s = js_DeleteConsumer(f->js, "C", "D1", NULL, &jerr);
	g_assert_cmpstr(status_text(s), ==, status_text(NATS_NOT_FOUND));
	g_assert_cmpint(jerr, ==, 10014);
	si = stream_info(f, "C");
	g_assert_cmpint(si->State.Consumers, ==, 0);
	g_assert_cmpuint(si->State.Msgs, ==, 3);
	jsStreamInfo_Destroy(si);
}

/* Re-creating a durable with a changed config (NATS-SPEC §6.13): an editable
 * field (ack_wait) is updated in place; the ack policy cannot change (10012). */
static void
test_consumer_recreate(Fixture *f, gconstpointer data)
{
	stream_add_simple(f, "RC", NULL);
	jsConsumerConfig cc;
	consumer_config_pull(&cc, "D", G_GINT64_CONSTANT(10000000000), 0);
	jsConsumerInfo_Destroy(consumer_add(f, "RC", &cc));

	cc.AckWait = G_GINT64_CONSTANT(20000000000);
	jsConsumerInfo *ci = consumer_add(f, "RC", &cc);
	g_assert_cmpint(ci->Config->AckWait, ==, G_GINT64_CONSTANT(20000000000));
	jsConsumerInfo_Destroy(ci);

	cc.AckPolicy = js_AckAll;
	ci = NULL;
	jsErrCode jerr = 0;
	natsStatus s = js_AddConsumer(&ci, f->js, "RC", &cc, NULL, &jerr);
	g_assert_cmpstr(status_text(s), ==, status_text(NATS_ERR));
	g_assert_cmpint(jerr, ==, 10012);
	g_assert_null(ci);
	ci = consumer_info(f, "RC", "D");
	g_assert_cmpint(ci->Config->AckPolicy, ==, js_AckExplicit);
	g_assert_cmpint(ci->Config->AckWait, ==, G_GINT64_CONSTANT(20000000000));
	jsConsumerInfo_Destroy(ci);
}

/* Publish with a Nats-Msg-Id (NATS-SPEC §2.4): the first is stored, the same
 * id again gets the original seq with the duplicate flag and is not stored,
 * another id gets the next seq. A subject no stream covers: no responders. */
static void
test_publish_dedupe(Fixture *f, gconstpointer data)
{
	stream_add_simple(f, "DD", NULL);
	const char *ids[] = { "a", "a", "b", "a", "b", "c" };
	const uint64_t want_seq[] = { 1, 1, 2, 1, 2, 3 };
	const bool want_dup[] = { false, true, false, true, true, false };
	for (size_t k = 0; k < G_N_ELEMENTS(ids); k++) {
		jsPubOptions po;
		g_assert_cmpint(jsPubOptions_Init(&po), ==, NATS_OK);
		po.MsgId = ids[k];
		jsPubAck *pa = NULL;
		jsErrCode jerr = 0;
		natsStatus s = js_Publish(&pa, f->js, "DD.x", ids[k], 1, &po, &jerr);
		g_assert_cmpstr(status_text(s), ==, status_text(NATS_OK));
		g_assert_cmpstr(pa->Stream, ==, "DD");
		g_assert_cmpuint(pa->Sequence, ==, want_seq[k]);
		g_assert_cmpint(pa->Duplicate, ==, want_dup[k]);
		jsPubAck_Destroy(pa);
	}
	jsStreamInfo *si = stream_info(f, "DD");
	g_assert_cmpuint(si->State.Msgs, ==, 3);
	g_assert_cmpuint(si->State.LastSeq, ==, 3);
	jsStreamInfo_Destroy(si);

	jsPubAck *pa = NULL;
	jsErrCode jerr = 0;
	natsStatus s = js_Publish(&pa, f->js, "nostream.x", "x", 1, NULL, &jerr);
	g_assert_cmpstr(status_text(s), ==, status_text(NATS_NO_RESPONDERS));
	g_assert_null(pa);
}

/* -------------------------------------------------------------------------
 * Tests: delivery.
 */

/* Pull (NATS-SPEC §3.1-3.2, §3.8, §3.10): js_PullSubscribe creates the
 * durable, a fetch of 5 gets the 5 messages in order with their metadata
 * (stream/consumer seq, delivered once, pending counting down), and after
 * acking them all the floor is 5/5 and nothing is pending. */
static void
test_pull_fetch_ack(Fixture *f, gconstpointer data)
{
	stream_add_simple(f, "PF", NULL);
	for (uint64_t k = 1; k <= 5; k++) {
		char body[8];
		g_snprintf(body, sizeof body, "m%" G_GUINT64_FORMAT, k);
		publish(f, "PF.in", body, k);
	}
	jsSubOptions so;
	g_assert_cmpint(jsSubOptions_Init(&so), ==, NATS_OK);
	so.Config.AckPolicy = js_AckExplicit;
	natsSubscription *sub = NULL;
	jsErrCode jerr = 0;
	g_assert_cmpint(js_PullSubscribe(&sub, f->js, "PF.in", "W", NULL, &so, &jerr), ==, NATS_OK);

	natsMsgList list;
	g_assert_cmpint(fetch(&list, sub, 5, prompt_expires_server_ms(f)), ==, NATS_OK);
	g_assert_cmpint(list.Count, ==, 5);
	for (int k = 0; k < 5; k++) {
		char body[8];
		g_snprintf(body, sizeof body, "m%d", k + 1);
		g_assert_cmpstr(natsMsg_GetSubject(list.Msgs[k]), ==, "PF.in");
		g_assert_cmpint(natsMsg_GetDataLength(list.Msgs[k]), ==, 2);
		g_assert_true(memcmp(natsMsg_GetData(list.Msgs[k]), body, 2) == 0);
		assert_meta(list.Msgs[k], "PF", "W", (uint64_t)k + 1, (uint64_t)k + 1, 1);
		jsMsgMetaData *meta = NULL;
		g_assert_cmpint(natsMsg_GetMetaData(&meta, list.Msgs[k]), ==, NATS_OK);
		g_assert_cmpuint(meta->NumPending, ==, (uint64_t)(4 - k));
		jsMsgMetaData_Destroy(meta);
	}
	jsConsumerInfo *ci = consumer_info(f, "PF", "W");
	g_assert_cmpint(ci->NumAckPending, ==, 5);
	g_assert_cmpuint(ci->Delivered.Consumer, ==, 5);
	g_assert_cmpuint(ci->Delivered.Stream, ==, 5);
	g_assert_cmpuint(ci->NumPending, ==, 0);
	jsConsumerInfo_Destroy(ci);
	for (int k = 0; k < 5; k++)
		ack_sync(list.Msgs[k]);
	natsMsgList_Destroy(&list);

	ci = consumer_info(f, "PF", "W");
	g_assert_cmpint(ci->NumAckPending, ==, 0);
	g_assert_cmpint(ci->NumRedelivered, ==, 0);
	g_assert_cmpuint(ci->AckFloor.Consumer, ==, 5);
	g_assert_cmpuint(ci->AckFloor.Stream, ==, 5);
	jsConsumerInfo_Destroy(ci);
	/* Acked messages stay in a limits stream. */
	jsStreamInfo *si = stream_info(f, "PF");
	g_assert_cmpuint(si->State.Msgs, ==, 5);
	jsStreamInfo_Destroy(si);
	natsSubscription_Destroy(sub);
}

/* NAK and TERM (NATS-SPEC §3.3, §3.5, §3.7): a NAK'd message comes back at
 * once, before new ones, with delivered 2 and a new consumer seq, and the
 * MSG_NAKED advisory; a TERM'd one never comes back and sends MSG_TERMINATED
 * (no reason: libnats sends the bare "+TERM"). */
static void
test_pull_nak_term(Fixture *f, gconstpointer data)
{
	stream_add_simple(f, "NT", NULL);
	jsConsumerConfig cc;
	consumer_config_pull(&cc, "D", 0, 0);
	jsConsumerInfo_Destroy(consumer_add(f, "NT", &cc));
	natsSubscription *naked = subscribe_sync(f, "$JS.EVENT.ADVISORY.CONSUMER.MSG_NAKED.>");
	natsSubscription *termed = subscribe_sync(f, "$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.>");
	natsSubscription *sub = pull_bind(f, "NT", "D");
	for (uint64_t k = 1; k <= 3; k++)
		publish(f, "NT.x", "m", k);

	natsMsgList list;
	g_assert_cmpint(fetch(&list, sub, 2, prompt_expires_server_ms(f)), ==, NATS_OK);
	g_assert_cmpint(list.Count, ==, 2);
	assert_meta(list.Msgs[0], "NT", "D", 1, 1, 1);
	assert_meta(list.Msgs[1], "NT", "D", 2, 2, 1);
	g_assert_cmpint(natsMsg_Nak(list.Msgs[0], NULL), ==, NATS_OK);
	g_assert_cmpint(natsMsg_Term(list.Msgs[1], NULL), ==, NATS_OK);

	json_t *adv = next_json(naked, MSG_WAIT_MS);
	assert_advisory(adv, "io.nats.jetstream.advisory.v1.nak", "NT", "D");
	g_assert_cmpint(json_int(adv, "stream_seq"), ==, 1);
	g_assert_cmpint(json_int(adv, "consumer_seq"), ==, 1);
	g_assert_cmpint(json_int(adv, "deliveries"), ==, 1);
	json_decref(adv);
	adv = next_json(termed, MSG_WAIT_MS);
	assert_advisory(adv, "io.nats.jetstream.advisory.v1.terminated", "NT", "D");
	g_assert_cmpint(json_int(adv, "stream_seq"), ==, 2);
	g_assert_cmpint(json_int(adv, "consumer_seq"), ==, 2);
	g_assert_cmpint(json_int(adv, "deliveries"), ==, 1);
	const char *reason = json_str(adv, "reason");
	g_assert_true(reason == NULL || reason[0] == '\0');
	json_decref(adv);
	natsMsgList_Destroy(&list);

	/* The NAK'd #1 first, then #3; #2 never again. */
	g_assert_cmpint(fetch(&list, sub, 3, prompt_expires_server_ms(f)), ==, NATS_OK);
	g_assert_cmpint(list.Count, ==, 2);
	assert_meta(list.Msgs[0], "NT", "D", 1, 3, 2);
	assert_meta(list.Msgs[1], "NT", "D", 3, 4, 1);
	ack_sync(list.Msgs[0]);
	ack_sync(list.Msgs[1]);
	natsMsgList_Destroy(&list);

	jsConsumerInfo *ci = consumer_info(f, "NT", "D");
	g_assert_cmpint(ci->NumAckPending, ==, 0);
	g_assert_cmpint(ci->NumRedelivered, ==, 0);
	g_assert_cmpuint(ci->Delivered.Consumer, ==, 4);
	g_assert_cmpuint(ci->Delivered.Stream, ==, 3);
	g_assert_cmpuint(ci->AckFloor.Consumer, ==, 4);
	g_assert_cmpuint(ci->AckFloor.Stream, ==, 3);
	jsConsumerInfo_Destroy(ci);
	assert_silent(naked, SILENCE_WAIT_MS);
	assert_silent(termed, 0);
	natsSubscription_Destroy(sub);
	natsSubscription_Destroy(naked);
	natsSubscription_Destroy(termed);
}

/* Push deliveries as libnats' callback thread hands them over, with the
 * real time they arrived (the test thread may look at them later). */
typedef struct PushDelivery {
	natsMsg *msg;
	gint64 arrived_real_ms;
} PushDelivery;

typedef struct PushInbox {
	GAsyncQueue *deliveries; /* PushDelivery *, owned by the queue until popped */
} PushInbox;

static void
on_push_msg(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
	PushInbox *in = closure;
	PushDelivery *d = g_new(PushDelivery, 1);
	d->msg = msg;
	d->arrived_real_ms = g_get_monotonic_time() / 1000;
	g_async_queue_push(in->deliveries, d);
}

/* The next delivery within wait_real_ms; the caller owns the message. */
static natsMsg *
push_next(PushInbox *in, gint64 wait_real_ms, gint64 *arrived_real_ms)
{
	PushDelivery *d = g_async_queue_timeout_pop(in->deliveries, (guint64)wait_real_ms * 1000);
	if (d == NULL)
		g_error("no push delivery within %" G_GINT64_FORMAT " ms", wait_real_ms);
	natsMsg *msg = d->msg;
	if (arrived_real_ms != NULL)
		*arrived_real_ms = d->arrived_real_ms;
	g_free(d);
	return msg;
}

static void
push_inbox_drain(PushInbox *in)
{
	PushDelivery *d;
	while ((d = g_async_queue_try_pop(in->deliveries)) != NULL) {
		natsMsg_Destroy(d->msg);
		g_free(d);
	}
	g_async_queue_unref(in->deliveries);
}

/* Push (NATS-SPEC §3.11): js_Subscribe with a callback creates a durable push
 * consumer on an inbox; 5 messages (3 before, 2 after the subscribe) arrive
 * in order with metadata, acks bring the floor to 5/5; unsubscribing deletes
 * the consumer libnats created. */
static void
test_push_subscribe_ack(Fixture *f, gconstpointer data)
{
	stream_add_simple(f, "PS", NULL);
	for (uint64_t k = 1; k <= 3; k++)
		publish(f, "PS.x", "m", k);
	PushInbox in = { .deliveries = g_async_queue_new() };
	jsSubOptions so;
	g_assert_cmpint(jsSubOptions_Init(&so), ==, NATS_OK);
	so.Config.Durable = "PD";
	so.Config.AckPolicy = js_AckExplicit;
	so.ManualAck = true;
	natsSubscription *sub = NULL;
	jsErrCode jerr = 0;
	g_assert_cmpint(js_Subscribe(&sub, f->js, "PS.x", on_push_msg, &in, NULL, &so, &jerr), ==,
		NATS_OK);
	publish(f, "PS.x", "m", 4);
	publish(f, "PS.x", "m", 5);
	for (uint64_t k = 1; k <= 5; k++) {
		natsMsg *msg = push_next(&in, MSG_WAIT_MS, NULL);
		assert_meta(msg, "PS", "PD", k, k, 1);
		ack_sync(msg);
		natsMsg_Destroy(msg);
	}
	jsConsumerInfo *ci = consumer_info(f, "PS", "PD");
	g_assert_nonnull(ci->Config->DeliverSubject);
	g_assert_cmpstr(ci->Config->FilterSubject, ==, "PS.x");
	g_assert_true(ci->PushBound);
	g_assert_cmpint(ci->NumAckPending, ==, 0);
	g_assert_cmpuint(ci->AckFloor.Consumer, ==, 5);
	g_assert_cmpuint(ci->AckFloor.Stream, ==, 5);
	jsConsumerInfo_Destroy(ci);
	g_assert_null(g_async_queue_try_pop(in.deliveries));

	g_assert_cmpint(natsSubscription_Unsubscribe(sub), ==, NATS_OK);
	ci = NULL;
	natsStatus s = js_GetConsumerInfo(&ci, f->js, "PS", "PD", NULL, &jerr);
	g_assert_cmpstr(status_text(s), ==, status_text(NATS_NOT_FOUND));
	g_assert_cmpint(jerr, ==, 10014);
	natsSubscription_Destroy(sub);
	push_inbox_drain(&in);
}

/* Durability (file storage): 5 messages, a durable that got 3 and acked 2;
 * the server stops on SIGTERM and starts again on the same store dir. The
 * stream, its messages and the consumer (delivered 3/3, floor 2/2, one
 * pending, 2 not yet delivered) are back, and the consumer goes on: #4 and #5
 * with the next consumer seqs, #3 redelivered after ack_wait (delivered 2).
 * nats-server 2.9.10 writes a consumer's state from a goroutine, at most
 * every 100 ms, and on SIGTERM waits for that writer for only 100 ms of its
 * own time before exiting: right after the acks, the restart may find an
 * older state, or an empty o.dat when the exit cuts a write short. Hence
 * the server runs at real speed here (registered with speed_max_1; at ×100
 * the 100 ms are 1 ms and about 30 % of restarts under load lost the state)
 * and the test lets RESTART_SETTLE_REAL_MS pass before the SIGTERM (without
 * it, 1 restart in 36 lost the acks at ×1 with 3 suites on 2 cores). Even
 * so, the exit can cut a write that shutdown itself starts (o.dat left
 * empty, seen once in 45 overloaded runs): a server before 2.10 that comes
 * back with a lost state makes the test skip and say so; natsim, which
 * models 2.10, must keep its state every time. */
static void
test_restart_durable(Fixture *f, gconstpointer data)
{
	gint64 ack_wait_ns = server_ns_for_real_ms(f, ACK_WAIT_REAL_MS);
	stream_add_simple(f, "DUR", NULL);
	for (uint64_t k = 1; k <= 5; k++)
		publish(f, "DUR.x", "m", k);
	jsConsumerConfig cc;
	consumer_config_pull(&cc, "DC", ack_wait_ns, 0);
	jsConsumerInfo_Destroy(consumer_add(f, "DUR", &cc));
	natsSubscription *sub = pull_bind(f, "DUR", "DC");
	natsMsgList list;
	g_assert_cmpint(fetch(&list, sub, 3, prompt_expires_server_ms(f)), ==, NATS_OK);
	g_assert_cmpint(list.Count, ==, 3);
	ack_sync(list.Msgs[0]);
	ack_sync(list.Msgs[1]);
	natsMsgList_Destroy(&list);
	natsSubscription_Destroy(sub);

	/* Let the consumer state reach the disk first (see above). */
	g_usleep(RESTART_SETTLE_REAL_MS * 1000);
	fixture_disconnect(f);
	server_stop(&f->srv);
	server_start(f);
	fixture_connect(f);

	jsStreamInfo *si = stream_info(f, "DUR");
	g_assert_cmpint(si->Config->Storage, ==, js_FileStorage);
	g_assert_cmpuint(si->State.Msgs, ==, 5);
	g_assert_cmpuint(si->State.FirstSeq, ==, 1);
	g_assert_cmpuint(si->State.LastSeq, ==, 5);
	g_assert_cmpint(si->State.Consumers, ==, 1);
	jsStreamInfo_Destroy(si);
	jsConsumerInfo *ci = consumer_info(f, "DUR", "DC");
	g_assert_cmpint(ci->Config->AckWait, ==, ack_wait_ns);
	if (!server_version_at_least(&f->srv, 2, 10, 0) &&
	    (ci->Delivered.Consumer != 3 || ci->AckFloor.Consumer != 2)) {
		char *why = g_strdup_printf("nats-server %d.%d.%d lost the consumer state at "
			"SIGTERM (delivered %" G_GUINT64_FORMAT ", ack floor %" G_GUINT64_FORMAT
			" after the restart): its shutdown race, see tests/compat/README.md",
			f->srv.version[0], f->srv.version[1], f->srv.version[2],
			ci->Delivered.Consumer, ci->AckFloor.Consumer);
		case_skip(why);
		g_free(why);
		jsConsumerInfo_Destroy(ci);
		return;
	}
	g_assert_cmpuint(ci->Delivered.Consumer, ==, 3);
	g_assert_cmpuint(ci->Delivered.Stream, ==, 3);
	g_assert_cmpuint(ci->AckFloor.Consumer, ==, 2);
	g_assert_cmpuint(ci->AckFloor.Stream, ==, 2);
	g_assert_cmpint(ci->NumAckPending, ==, 1);
	g_assert_cmpuint(ci->NumPending, ==, 2);
	jsConsumerInfo_Destroy(ci);

	/* #3's redelivery may come before or after #4 and #5 (ack_wait may have
	 * run out during the restart); each comes once, with the next seqs. */
	sub = pull_bind(f, "DUR", "DC");
	gboolean seen[6] = { FALSE };
	uint64_t consumer_seqs = 0;
	for (int got = 0; got < 3;) {
		g_assert_cmpint(fetch(&list, sub, 3 - got, ack_wait_ns * 3 / NS_PER_MS), ==, NATS_OK);
		for (int k = 0; k < list.Count; k++) {
			jsMsgMetaData *meta = NULL;
			g_assert_cmpint(natsMsg_GetMetaData(&meta, list.Msgs[k]), ==, NATS_OK);
			uint64_t seq = meta->Sequence.Stream;
			g_assert_cmpuint(seq, >=, 3);
			g_assert_cmpuint(seq, <=, 5);
			g_assert_false(seen[seq]);
			seen[seq] = TRUE;
			g_assert_cmpuint(meta->NumDelivered, ==, seq == 3 ? 2 : 1);
			g_assert_cmpuint(meta->Sequence.Consumer, >=, 4);
			g_assert_cmpuint(meta->Sequence.Consumer, <=, 6);
			consumer_seqs |= G_GUINT64_CONSTANT(1) << meta->Sequence.Consumer;
			jsMsgMetaData_Destroy(meta);
			ack_sync(list.Msgs[k]);
		}
		got += list.Count;
		natsMsgList_Destroy(&list);
	}
	g_assert_cmphex(consumer_seqs, ==, (1u << 4) | (1u << 5) | (1u << 6));
	ci = consumer_info(f, "DUR", "DC");
	g_assert_cmpint(ci->NumAckPending, ==, 0);
	g_assert_cmpuint(ci->AckFloor.Stream, ==, 5);
	g_assert_cmpuint(ci->AckFloor.Consumer, ==, 6);
	jsConsumerInfo_Destroy(ci);
	natsSubscription_Destroy(sub);
}

/* -------------------------------------------------------------------------
 * Tests: timers, in server time (the faketime cases).
 */

/* ack_wait redelivery (NATS-SPEC §3.4): an unacked delivery comes back after
 * ack_wait (not before), twice, with delivered 2 and 3, the same stream seq
 * and new consumer seqs; after an ack it does not come back again, and the
 * floor is (last consumer seq, 1). */
static void
test_ack_wait_redelivery(Fixture *f, gconstpointer data)
{
	gint64 ack_wait_ns = server_ns_for_real_ms(f, ACK_WAIT_REAL_MS);
	stream_add_simple(f, "AW", NULL);
	jsConsumerConfig cc;
	consumer_config_pull(&cc, "D", ack_wait_ns, 0);
	jsConsumerInfo_Destroy(consumer_add(f, "AW", &cc));
	natsSubscription *sub = pull_bind(f, "AW", "D");
	publish(f, "AW.x", "m", 1);

	natsMsg *msg = fetch_one(sub, prompt_expires_server_ms(f));
	gint64 delivered_at = now_real_ms();
	assert_meta(msg, "AW", "D", 1, 1, 1);
	natsMsg_Destroy(msg);
	for (uint64_t dc = 2; dc <= 3; dc++) {
		msg = fetch_one(sub, ack_wait_ns * 3 / NS_PER_MS);
		gint64 took = now_real_ms() - delivered_at;
		note("redelivery %" G_GUINT64_FORMAT " after %" G_GINT64_FORMAT
			" ms real (ack_wait %" G_GINT64_FORMAT " ms real)", dc, took, real_ms(f, ack_wait_ns));
		g_assert_cmpint(took, >=, real_ms(f, ack_wait_ns) / 2);
		delivered_at = now_real_ms();
		assert_meta(msg, "AW", "D", 1, dc, dc);
		if (dc == 3)
			ack_sync(msg);
		natsMsg_Destroy(msg);
	}
	fetch_none(sub, ack_wait_ns * 3 / 2 / NS_PER_MS);
	jsConsumerInfo *ci = consumer_info(f, "AW", "D");
	g_assert_cmpint(ci->NumAckPending, ==, 0);
	g_assert_cmpint(ci->NumRedelivered, ==, 0);
	g_assert_cmpuint(ci->Delivered.Consumer, ==, 3);
	g_assert_cmpuint(ci->AckFloor.Consumer, ==, 3);
	g_assert_cmpuint(ci->AckFloor.Stream, ==, 1);
	jsConsumerInfo_Destroy(ci);
	natsSubscription_Destroy(sub);
}

/* NAK with a delay (NATS-SPEC §3.3-3.4): NakWithDelay(0.1 s real) brings
 * the message back after about that delay: not at once (a plain NAK), and
 * long before ack_wait (2 s real, a NAK taken as nothing). */
static void
test_nak_delay(Fixture *f, gconstpointer data)
{
	gint64 ack_wait_ns = server_ns_for_real_ms(f, ACK_WAIT_REAL_MS * 10);
	gint64 delay_ns = server_ns_for_real_ms(f, ACK_WAIT_REAL_MS / 2);
	stream_add_simple(f, "ND", NULL);
	jsConsumerConfig cc;
	consumer_config_pull(&cc, "D", ack_wait_ns, 0);
	jsConsumerInfo_Destroy(consumer_add(f, "ND", &cc));
	natsSubscription *sub = pull_bind(f, "ND", "D");
	publish(f, "ND.x", "m", 1);

	natsMsg *msg = fetch_one(sub, prompt_expires_server_ms(f));
	g_assert_cmpint(natsMsg_NakWithDelay(msg, delay_ns / NS_PER_MS, NULL), ==, NATS_OK);
	gint64 nak_at = now_real_ms();
	natsMsg_Destroy(msg);
	msg = fetch_one(sub, ack_wait_ns / NS_PER_MS);
	gint64 took = now_real_ms() - nak_at;
	note("NAK delay %" G_GINT64_FORMAT " ms real: back after %" G_GINT64_FORMAT
		" ms (ack_wait %" G_GINT64_FORMAT " ms)", real_ms(f, delay_ns), took,
		real_ms(f, ack_wait_ns));
	g_assert_cmpint(took, >=, real_ms(f, delay_ns) / 2);
	g_assert_cmpint(took, <, real_ms(f, ack_wait_ns) / 2);
	assert_meta(msg, "ND", "D", 1, 2, 2);
	ack_sync(msg);
	natsMsg_Destroy(msg);
	natsSubscription_Destroy(sub);
}

/* +WPI (NATS-SPEC §3.3-3.4): InProgress every third of ack_wait keeps an
 * unacked message from coming back for two ack_waits (a pull right after
 * gets nothing); once they stop, it comes back a full ack_wait after the last
 * one, delivered twice. */
static void
test_in_progress(Fixture *f, gconstpointer data)
{
	gint64 ack_wait_ns = server_ns_for_real_ms(f, ACK_WAIT_REAL_MS);
	stream_add_simple(f, "IP", NULL);
	jsConsumerConfig cc;
	consumer_config_pull(&cc, "D", ack_wait_ns, 0);
	jsConsumerInfo_Destroy(consumer_add(f, "IP", &cc));
	natsSubscription *sub = pull_bind(f, "IP", "D");
	publish(f, "IP.x", "m", 1);

	natsMsg *msg = fetch_one(sub, prompt_expires_server_ms(f));
	gint64 wpi_at = 0;
	for (int k = 0; k < 6; k++) {
		sleep_server_ns(f, ack_wait_ns / 3);
		g_assert_cmpint(natsMsg_InProgress(msg, NULL), ==, NATS_OK);
		wpi_at = now_real_ms();
	}
	natsMsg_Destroy(msg);
	fetch_none(sub, ack_wait_ns / 4 / NS_PER_MS);
	msg = fetch_one(sub, ack_wait_ns * 3 / NS_PER_MS);
	gint64 took = now_real_ms() - wpi_at;
	note("+WPI: back %" G_GINT64_FORMAT " ms real after the last (ack_wait %"
		G_GINT64_FORMAT " ms)", took, real_ms(f, ack_wait_ns));
	g_assert_cmpint(took, >=, real_ms(f, ack_wait_ns) / 2);
	assert_meta(msg, "IP", "D", 1, 2, 2);
	ack_sync(msg);
	natsMsg_Destroy(msg);
	natsSubscription_Destroy(sub);
}

/* max_deliver on a pull consumer (NATS-SPEC §3.6, max_deliver 2, the same in
 * 2.9.10 and 2.10.22+): two deliveries; with no pull waiting nothing happens
 * after ack_wait (no advisory, still ack pending); the next pull gets nothing
 * and triggers MAX_DELIVERIES {stream, consumer, stream_seq 1, deliveries 2};
 * the message leaves ack pending and stays in the stream. */
static void
test_max_deliver_advisory_pull(Fixture *f, gconstpointer data)
{
	gint64 ack_wait_ns = server_ns_for_real_ms(f, ACK_WAIT_REAL_MS);
	stream_add_simple(f, "MD", NULL);
	jsConsumerConfig cc;
	consumer_config_pull(&cc, "D", ack_wait_ns, 2);
	jsConsumerInfo_Destroy(consumer_add(f, "MD", &cc));
	natsSubscription *adv_sub = subscribe_sync(f, "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.>");
	natsSubscription *sub = pull_bind(f, "MD", "D");
	publish(f, "MD.x", "m", 1);

	natsMsg *msg = fetch_one(sub, prompt_expires_server_ms(f));
	assert_meta(msg, "MD", "D", 1, 1, 1);
	natsMsg_Destroy(msg);
	msg = fetch_one(sub, ack_wait_ns * 3 / NS_PER_MS);
	assert_meta(msg, "MD", "D", 1, 2, 2);
	natsMsg_Destroy(msg);

	/* One and a half ack_waits with no pull request waiting. */
	assert_silent(adv_sub, real_ms(f, ack_wait_ns) * 3 / 2);
	jsConsumerInfo *ci = consumer_info(f, "MD", "D");
	g_assert_cmpint(ci->NumAckPending, ==, 1);
	jsConsumerInfo_Destroy(ci);

	fetch_none(sub, ack_wait_ns / NS_PER_MS);
	json_t *adv = next_json(adv_sub, MSG_WAIT_MS);
	assert_advisory(adv, "io.nats.jetstream.advisory.v1.max_deliver", "MD", "D");
	g_assert_cmpint(json_int(adv, "stream_seq"), ==, 1);
	g_assert_cmpint(json_int(adv, "deliveries"), ==, 2);
	json_decref(adv);
	assert_silent(adv_sub, SILENCE_WAIT_MS);
	ci = consumer_info(f, "MD", "D");
	g_assert_cmpint(ci->NumAckPending, ==, 0);
	g_assert_cmpint(ci->NumRedelivered, ==, 1);
	g_assert_cmpuint(ci->Delivered.Consumer, ==, 2);
	jsConsumerInfo_Destroy(ci);
	jsStreamInfo *si = stream_info(f, "MD");
	g_assert_cmpuint(si->State.Msgs, ==, 1);
	jsStreamInfo_Destroy(si);
	natsSubscription_Destroy(sub);
	natsSubscription_Destroy(adv_sub);
}

/* max_deliver 1 on a pull consumer with no pull waiting (NATS-SPEC §3.6,
 * version-aware): 2.10.22+ (natsim) sends MAX_DELIVERIES at ack_wait expiry
 * and drops the message from ack pending; 2.9.10 sends nothing and keeps it
 * pending until the next pull, which then triggers the advisory. */
static void
test_max_deliver_1_timing(Fixture *f, gconstpointer data)
{
	gint64 ack_wait_ns = server_ns_for_real_ms(f, ACK_WAIT_REAL_MS);
	gboolean at_expiry = server_version_at_least(&f->srv, 2, 10, 22);
	note("server %d.%d.%d: MAX_DELIVERIES for max_deliver 1 expected %s",
		f->srv.version[0], f->srv.version[1], f->srv.version[2],
		at_expiry ? "at ack_wait expiry (2.10.22+)" : "at the next pull (before 2.10.22)");
	stream_add_simple(f, "M1", NULL);
	jsConsumerConfig cc;
	consumer_config_pull(&cc, "D", ack_wait_ns, 1);
	jsConsumerInfo_Destroy(consumer_add(f, "M1", &cc));
	natsSubscription *adv_sub = subscribe_sync(f, "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.>");
	natsSubscription *sub = pull_bind(f, "M1", "D");
	publish(f, "M1.x", "m", 1);
	natsMsg *msg = fetch_one(sub, prompt_expires_server_ms(f));
	gint64 delivered_at = now_real_ms();
	assert_meta(msg, "M1", "D", 1, 1, 1);
	natsMsg_Destroy(msg);

	json_t *adv = NULL;
	if (at_expiry) {
		adv = next_json(adv_sub, real_ms(f, ack_wait_ns) * 3);
		gint64 took = now_real_ms() - delivered_at;
		note("advisory %" G_GINT64_FORMAT " ms real after the delivery", took);
		g_assert_cmpint(took, >=, real_ms(f, ack_wait_ns) / 2);
		jsConsumerInfo *ci = consumer_info_until(f, "M1", "D", no_ack_pending, MSG_WAIT_MS);
		jsConsumerInfo_Destroy(ci);
		fetch_none(sub, ack_wait_ns / NS_PER_MS);
	} else {
		assert_silent(adv_sub, real_ms(f, ack_wait_ns) * 3 / 2);
		jsConsumerInfo *ci = consumer_info(f, "M1", "D");
		g_assert_cmpint(ci->NumAckPending, ==, 1);
		jsConsumerInfo_Destroy(ci);
		fetch_none(sub, ack_wait_ns / NS_PER_MS);
		adv = next_json(adv_sub, MSG_WAIT_MS);
	}
	assert_advisory(adv, "io.nats.jetstream.advisory.v1.max_deliver", "M1", "D");
	g_assert_cmpint(json_int(adv, "stream_seq"), ==, 1);
	g_assert_cmpint(json_int(adv, "deliveries"), ==, 1);
	json_decref(adv);
	assert_silent(adv_sub, SILENCE_WAIT_MS);
	jsConsumerInfo *ci = consumer_info(f, "M1", "D");
	g_assert_cmpint(ci->NumAckPending, ==, 0);
	g_assert_cmpuint(ci->Delivered.Consumer, ==, 1);
	jsConsumerInfo_Destroy(ci);
	natsSubscription_Destroy(sub);
	natsSubscription_Destroy(adv_sub);
}

/* max_deliver on a push consumer (NATS-SPEC §3.5-3.6, the same in both
 * versions): max_deliver 3, never acked → exactly 3 deliveries about
 * ack_wait apart, then MAX_DELIVERIES {stream_seq 1, deliveries 3} about
 * ack_wait after the last, and nothing more. */
static void
test_max_deliver_advisory_push(Fixture *f, gconstpointer data)
{
	gint64 ack_wait_ns = server_ns_for_real_ms(f, ACK_WAIT_REAL_MS);
	stream_add_simple(f, "MP", NULL);
	natsSubscription *adv_sub = subscribe_sync(f, "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.>");
	PushInbox in = { .deliveries = g_async_queue_new() };
	jsSubOptions so;
	g_assert_cmpint(jsSubOptions_Init(&so), ==, NATS_OK);
	so.Config.Durable = "D";
	so.Config.AckPolicy = js_AckExplicit;
	so.Config.AckWait = ack_wait_ns;
	so.Config.MaxDeliver = 3;
	so.ManualAck = true;
	natsSubscription *sub = NULL;
	jsErrCode jerr = 0;
	g_assert_cmpint(js_Subscribe(&sub, f->js, "MP.x", on_push_msg, &in, NULL, &so, &jerr), ==,
		NATS_OK);
	publish(f, "MP.x", "m", 1);
	gint64 prev = 0;
	for (uint64_t dc = 1; dc <= 3; dc++) {
		gint64 at = 0;
		natsMsg *msg = push_next(&in, dc == 1 ? MSG_WAIT_MS : real_ms(f, ack_wait_ns) * 3, &at);
		if (dc > 1) {
			note("push delivery %" G_GUINT64_FORMAT " %" G_GINT64_FORMAT
				" ms real after the previous (ack_wait %" G_GINT64_FORMAT " ms real)", dc,
				at - prev, real_ms(f, ack_wait_ns));
			g_assert_cmpint(at - prev, >=, real_ms(f, ack_wait_ns) / 2);
		}
		prev = at;
		assert_meta(msg, "MP", "D", 1, dc, dc);
		natsMsg_Destroy(msg);
	}
	json_t *adv = next_json(adv_sub, real_ms(f, ack_wait_ns) * 3);
	g_assert_cmpint(now_real_ms() - prev, >=, real_ms(f, ack_wait_ns) / 2);
	assert_advisory(adv, "io.nats.jetstream.advisory.v1.max_deliver", "MP", "D");
	g_assert_cmpint(json_int(adv, "stream_seq"), ==, 1);
	g_assert_cmpint(json_int(adv, "deliveries"), ==, 3);
	json_decref(adv);
	assert_silent(adv_sub, real_ms(f, ack_wait_ns) * 3 / 2);
	g_assert_null(g_async_queue_try_pop(in.deliveries));
	jsConsumerInfo *ci = consumer_info(f, "MP", "D");
	g_assert_cmpint(ci->NumAckPending, ==, 0);
	g_assert_cmpuint(ci->Delivered.Consumer, ==, 3);
	jsConsumerInfo_Destroy(ci);
	natsSubscription_Unsubscribe(sub);
	natsSubscription_Destroy(sub);
	push_inbox_drain(&in);
	natsSubscription_Destroy(adv_sub);
}

/* "+TERM <reason>" sent on the ack subject (NATS-SPEC §3.3, version-aware;
 * libnats 3.4.1 has no API for a reason, so it is published by hand):
 * 2.10+ (natsim) terminates and puts the reason in MSG_TERMINATED, so the
 * message never comes back; 2.9.10 wants the exact bytes "+TERM", ignores the
 * payload, sends no advisory and redelivers after ack_wait. */
static void
test_term_with_reason(Fixture *f, gconstpointer data)
{
	gint64 ack_wait_ns = server_ns_for_real_ms(f, ACK_WAIT_REAL_MS);
	gboolean with_reason = server_version_at_least(&f->srv, 2, 10, 0);
	note("server %d.%d.%d: \"+TERM reason\" expected to %s", f->srv.version[0],
		f->srv.version[1], f->srv.version[2],
		with_reason ? "terminate with the reason (2.10+)" : "be ignored (before 2.10)");
	stream_add_simple(f, "TR", NULL);
	jsConsumerConfig cc;
	consumer_config_pull(&cc, "D", ack_wait_ns, 0);
	jsConsumerInfo_Destroy(consumer_add(f, "TR", &cc));
	natsSubscription *termed = subscribe_sync(f, "$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.>");
	natsSubscription *sub = pull_bind(f, "TR", "D");
	publish(f, "TR.x", "m", 1);
	natsMsg *msg = fetch_one(sub, prompt_expires_server_ms(f));
	g_assert_cmpint(natsConnection_PublishString(f->nc, natsMsg_GetReply(msg),
		"+TERM poison pill"), ==, NATS_OK);
	natsMsg_Destroy(msg);

	if (with_reason) {
		json_t *adv = next_json(termed, MSG_WAIT_MS);
		assert_advisory(adv, "io.nats.jetstream.advisory.v1.terminated", "TR", "D");
		g_assert_cmpint(json_int(adv, "stream_seq"), ==, 1);
		g_assert_cmpint(json_int(adv, "deliveries"), ==, 1);
		g_assert_cmpstr(json_str(adv, "reason"), ==, "poison pill");
		json_decref(adv);
		fetch_none(sub, ack_wait_ns * 3 / 2 / NS_PER_MS);
	} else {
		msg = fetch_one(sub, ack_wait_ns * 3 / NS_PER_MS);
		assert_meta(msg, "TR", "D", 1, 2, 2);
		ack_sync(msg);
		natsMsg_Destroy(msg);
		assert_silent(termed, SILENCE_WAIT_MS);
	}
	jsConsumerInfo *ci = consumer_info_until(f, "TR", "D", no_ack_pending, MSG_WAIT_MS);
	jsConsumerInfo_Destroy(ci);
	natsSubscription_Destroy(sub);
	natsSubscription_Destroy(termed);
}

static gboolean
stream_poll(Fixture *f, const char *name, uint64_t want_msgs, gint64 wait_real_ms)
{
	gint64 deadline = now_real_ms() + wait_real_ms;
	for (;;) {
		jsStreamInfo *si = stream_info(f, name);
		gboolean done = si->State.Msgs == want_msgs;
		jsStreamInfo_Destroy(si);
		if (done)
			return TRUE;
		if (now_real_ms() > deadline)
			return FALSE;
		g_usleep(POLL_STEP_MS * 1000);
	}
}

/* max_age expiry (NATS-SPEC §3.12), max_age 1 min at ×100: 3 messages at t=0
 * and one at t=max_age/2; just before then all 3 are there; the first 3 go
 * at about max_age, the last at about 1.5 × max_age; an emptied stream has
 * first_seq = last_seq + 1. */
static void
test_max_age_expiry(Fixture *f, gconstpointer data)
{
	gint64 max_age_ns = server_ns_for_real_ms(f, MAX_AGE_REAL_MS);
	jsStreamConfig cfg;
	g_assert_cmpint(jsStreamConfig_Init(&cfg), ==, NATS_OK);
	const char *subjects[] = { "AGE.>" };
	cfg.Name = "AGE";
	cfg.Subjects = subjects;
	cfg.SubjectsLen = 1;
	cfg.Storage = js_FileStorage;
	cfg.MaxAge = max_age_ns;
	jsStreamInfo *si = stream_add(f, &cfg);
	g_assert_cmpint(si->Config->MaxAge, ==, max_age_ns);
	/* The dedupe window shrinks to max_age when that is smaller (§2.3). */
	g_assert_cmpint(si->Config->Duplicates, ==, MIN(max_age_ns, G_GINT64_CONSTANT(120000000000)));
	jsStreamInfo_Destroy(si);

	gint64 t0 = now_real_ms();
	for (uint64_t k = 1; k <= 3; k++)
		publish(f, "AGE.x", "m", k);
	gint64 half_left_real_ms = real_ms(f, max_age_ns) / 2 - (now_real_ms() - t0);
	if (half_left_real_ms > 0)
		g_usleep((gulong)half_left_real_ms * 1000);
	si = stream_info(f, "AGE");
	g_assert_cmpuint(si->State.Msgs, ==, 3);
	jsStreamInfo_Destroy(si);
	publish(f, "AGE.x", "m", 4);

	g_assert_true(stream_poll(f, "AGE", 1, real_ms(f, max_age_ns)));
	gint64 took = now_real_ms() - t0;
	note("first 3 expired after %" G_GINT64_FORMAT " ms real (max_age %"
		G_GINT64_FORMAT " ms real)", took, real_ms(f, max_age_ns));
	g_assert_cmpint(took, >=, real_ms(f, max_age_ns) * 8 / 10);
	si = stream_info(f, "AGE");
	g_assert_cmpuint(si->State.FirstSeq, ==, 4);
	g_assert_cmpuint(si->State.LastSeq, ==, 4);
	jsStreamInfo_Destroy(si);

	g_assert_true(stream_poll(f, "AGE", 0, real_ms(f, max_age_ns)));
	si = stream_info(f, "AGE");
	g_assert_cmpuint(si->State.FirstSeq, ==, 5);
	g_assert_cmpuint(si->State.LastSeq, ==, 4);
	g_assert_cmpuint(si->State.Bytes, ==, 0);
	jsStreamInfo_Destroy(si);
}

/* Polls until the consumer is gone (10014); returns the real ms it took from
 * `since_real_ms`, or -1 when it is still there after `wait_real_ms`. */
static gint64
consumer_gone_after(Fixture *f, const char *stream, const char *name, gint64 since_real_ms,
	gint64 wait_real_ms)
{
	gint64 deadline = now_real_ms() + wait_real_ms;
	for (;;) {
		jsConsumerInfo *ci = NULL;
		jsErrCode jerr = 0;
		natsStatus s = js_GetConsumerInfo(&ci, f->js, stream, name, NULL, &jerr);
		if (s == NATS_NOT_FOUND) {
			g_assert_cmpint(jerr, ==, 10014);
			return now_real_ms() - since_real_ms;
		}
		g_assert_cmpint(s, ==, NATS_OK);
		jsConsumerInfo_Destroy(ci);
		if (now_real_ms() > deadline)
			return -1;
		g_usleep(POLL_STEP_MS * 1000);
	}
}

/* The ephemeral inactive threshold (NATS-SPEC §2.5, §3.10-3.11): an ephemeral
 * pull consumer nobody pulls from and an ephemeral push consumer whose
 * deliver subject nobody listens on are deleted after inactive_threshold
 * (the 5 s default, echoed as 5000000000; the server adds up to 1 s of
 * jitter), and are still there at half of it. The server runs at ×10 at most
 * (registered with speed_max_10): at ×100 the 5 s are 50 ms of real time,
 * too little to see the consumers still there on a loaded machine. At a speed
 * below ×5 the default would take over a second, so the test sets
 * 0.5 s × speed instead. */
static void
test_ephemeral_inactive_threshold(Fixture *f, gconstpointer data)
{
	gboolean use_default = f->speed >= 5;
	gint64 threshold_ns = use_default ? INACTIVE_THRESHOLD_DEFAULT_NS : server_ns_for_real_ms(f, 500);
	gint64 jitter_ns = INACTIVE_JITTER_MAX_NS; /* absolute, whatever the threshold */
	if (!use_default)
		note("speed x%d < x5: inactive_threshold set to %" G_GINT64_FORMAT
			" ms instead of the 5 s default", f->speed, threshold_ns / NS_PER_MS);
	stream_add_simple(f, "EPH", NULL);
	publish(f, "EPH.x", "m", 1);

	jsConsumerConfig pull_cc, push_cc;
	g_assert_cmpint(jsConsumerConfig_Init(&pull_cc), ==, NATS_OK);
	pull_cc.AckPolicy = js_AckExplicit;
	g_assert_cmpint(jsConsumerConfig_Init(&push_cc), ==, NATS_OK);
	push_cc.AckPolicy = js_AckExplicit;
	push_cc.DeliverSubject = "nobody.listens.here";
	if (!use_default) {
		pull_cc.InactiveThreshold = threshold_ns;
		push_cc.InactiveThreshold = threshold_ns;
	}
	gint64 created_at = now_real_ms();
	jsConsumerInfo *pull_ci = consumer_add(f, "EPH", &pull_cc);
	jsConsumerInfo *push_ci = consumer_add(f, "EPH", &push_cc);
	g_assert_cmpint(pull_ci->Config->InactiveThreshold, ==, threshold_ns);
	g_assert_cmpint(push_ci->Config->InactiveThreshold, ==, threshold_ns);
	g_assert_null(pull_ci->Config->Durable);
	g_assert_cmpuint(strlen(pull_ci->Name), ==, 8);
	g_assert_cmpuint(strlen(push_ci->Name), ==, 8);
	g_assert_cmpstr(pull_ci->Name, !=, push_ci->Name);

	/* Still there at half the threshold... */
	gint64 early_real_ms = real_ms(f, threshold_ns) / 2 - (now_real_ms() - created_at);
	if (early_real_ms > 0)
		g_usleep((gulong)early_real_ms * 1000);
	jsConsumerInfo_Destroy(consumer_info(f, "EPH", pull_ci->Name));
	jsConsumerInfo_Destroy(consumer_info(f, "EPH", push_ci->Name));
	/* ...and gone by threshold + jitter, with some slack for scheduling. */
	gint64 bound = real_ms(f, threshold_ns + jitter_ns) * 3 / 2 + 50;
	gint64 pull_took = consumer_gone_after(f, "EPH", pull_ci->Name, created_at, bound);
	gint64 push_took = consumer_gone_after(f, "EPH", push_ci->Name, created_at, bound);
	note("ephemerals gone after %" G_GINT64_FORMAT " ms (pull), %" G_GINT64_FORMAT
		" ms (push) real; threshold %" G_GINT64_FORMAT " ms real", pull_took, push_took,
		real_ms(f, threshold_ns));
	g_assert_cmpint(pull_took, >=, 0);
	g_assert_cmpint(push_took, >=, 0);
	/* nats-server drops the consumer from the stream's count a moment after
	 * its info says 10014. */
	gint64 deadline = now_real_ms() + MSG_WAIT_MS;
	jsStreamInfo *si = stream_info(f, "EPH");
	while (si->State.Consumers != 0 && now_real_ms() < deadline) {
		jsStreamInfo_Destroy(si);
		g_usleep(POLL_STEP_MS * 1000);
		si = stream_info(f, "EPH");
	}
	g_assert_cmpint(si->State.Consumers, ==, 0);
	g_assert_cmpuint(si->State.Msgs, ==, 1);
	jsStreamInfo_Destroy(si);
	jsConsumerInfo_Destroy(pull_ci);
	jsConsumerInfo_Destroy(push_ci);
}

/* -------------------------------------------------------------------------
 */

/* Every case runs in a subprocess of its own (g_test_trap_subprocess), so
 * that a failed assertion, which aborts, fails that case only and the run
 * goes on: against a server still being written, each case's result shows.
 * The server the child starts dies with it (PR_SET_PDEATHSIG). */
typedef struct Case {
	const char *path;
	void (*fn)(Fixture *, gconstpointer);
	const int *speed_max; /* NULL, or the highest clock speed for this case */
} Case;

static const Case cases[] = {
	{ "/compat/libnats-js/clock/speed", test_clock_speed, NULL },
	{ "/compat/libnats-js/stream/create-info-delete", test_stream_create_info_delete, NULL },
	{ "/compat/libnats-js/stream/errors", test_stream_errors, NULL },
	{ "/compat/libnats-js/consumer/create-info-delete", test_consumer_create_info_delete, NULL },
	{ "/compat/libnats-js/consumer/recreate", test_consumer_recreate, NULL },
	{ "/compat/libnats-js/publish/dedupe", test_publish_dedupe, NULL },
	{ "/compat/libnats-js/pull/fetch-ack", test_pull_fetch_ack, NULL },
	{ "/compat/libnats-js/pull/nak-term", test_pull_nak_term, NULL },
	{ "/compat/libnats-js/push/subscribe-ack", test_push_subscribe_ack, NULL },
	{ "/compat/libnats-js/restart/durable-file-store", test_restart_durable, &speed_max_1 },
	{ "/compat/libnats-js/faketime/ack-wait-redelivery", test_ack_wait_redelivery, NULL },
	{ "/compat/libnats-js/faketime/nak-delay", test_nak_delay, NULL },
	{ "/compat/libnats-js/faketime/in-progress", test_in_progress, NULL },
	{ "/compat/libnats-js/faketime/max-deliver-advisory-pull", test_max_deliver_advisory_pull,
	  NULL },
	{ "/compat/libnats-js/faketime/max-deliver-1-timing", test_max_deliver_1_timing, NULL },
	{ "/compat/libnats-js/faketime/max-deliver-advisory-push", test_max_deliver_advisory_push,
	  NULL },
	{ "/compat/libnats-js/faketime/term-with-reason", test_term_with_reason, NULL },
	{ "/compat/libnats-js/faketime/max-age-expiry", test_max_age_expiry, NULL },
	{ "/compat/libnats-js/faketime/ephemeral-inactive-threshold",
	  test_ephemeral_inactive_threshold, &speed_max_10 },
};

static void
case_run(gconstpointer data)
{
	const Case *c = data;
	if (g_test_subprocess()) {
		Fixture f = { 0 };
		fixture_setup(&f, c->speed_max);
		c->fn(&f, c->speed_max);
		fixture_teardown(&f, c->speed_max);
		return;
	}
	char *skip_path = case_skip_path(getpid());
	g_unlink(skip_path);
	g_test_trap_subprocess(NULL, 0,
		G_TEST_SUBPROCESS_INHERIT_STDOUT | G_TEST_SUBPROCESS_INHERIT_STDERR);
	/* A child that skipped exits with 77 and has left its reason. */
	char *why = NULL;
	if (g_file_get_contents(skip_path, &why, NULL, NULL)) {
		g_test_skip(why);
		g_free(why);
	} else {
		g_test_trap_assert_passed();
	}
	g_unlink(skip_path);
	g_free(skip_path);
}

static gboolean
parse_speed(const char *text, int *out)
{
	char *end = NULL;
	long v = strtol(text, &end, 10);
	if (end == text || *end != '\0' || v < 1 || v > 1000)
		return FALSE;
	*out = (int)v;
	return TRUE;
}

/* Takes --speed=N and --clock-tool=T out of argv (before g_test_init, which
 * would reject them). Returns FALSE on a bad value. */
static gboolean
parse_own_options(int *argc, char **argv, int *speed, const char **tool)
{
	int out = 1;
	for (int k = 1; k < *argc; k++) {
		if (g_str_has_prefix(argv[k], "--speed=")) {
			if (!parse_speed(argv[k] + 8, speed))
				return FALSE;
		} else if (g_str_has_prefix(argv[k], "--clock-tool=")) {
			*tool = argv[k] + 13;
		} else {
			argv[out++] = argv[k];
		}
	}
	*argc = out;
	argv[out] = NULL;
	return TRUE;
}

static int
usage(const char *argv0)
{
	g_printerr("usage: %s [GTEST OPTIONS] [--speed=N --clock-tool=libfaketime|PATH] "
		"SERVER_BINARY\n  (or NATSIM_COMPAT_SERVER, NATSIM_COMPAT_SPEED, "
		"NATSIM_COMPAT_CLOCK_TOOL)\n", argv0);
	return 2;
}

/* The settings come from the command line, else from the environment; they
 * are put back into the environment for the per-case subprocesses, which
 * GLib starts with its own options only. */
int
main(int argc, char **argv)
{
	gboolean tap = FALSE; /* looked for before g_test_init consumes it */
	for (int k = 1; k < argc; k++)
		tap = tap || g_strcmp0(argv[k], "--tap") == 0;
	int speed = 1;
	const char *env_speed = g_getenv("NATSIM_COMPAT_SPEED");
	if (env_speed != NULL && !parse_speed(env_speed, &speed))
		return usage(argv[0]);
	const char *tool = g_getenv("NATSIM_COMPAT_CLOCK_TOOL");
	if (!parse_own_options(&argc, argv, &speed, &tool))
		return usage(argv[0]);
	g_test_init(&argc, &argv, NULL);
	const char *server = g_getenv("NATSIM_COMPAT_SERVER");
	if (argc > 1 && argv[argc - 1][0] != '-')
		server = argv[argc - 1];
	if (server == NULL || server[0] == '\0' ||
	    (speed != 1 && (tool == NULL || tool[0] == '\0')))
		return usage(argv[0]);
	char *server_copy = g_strdup(server), *tool_copy = g_strdup(tool);
	server_binary = server_copy;
	clock_speed = speed;
	clock_tool = speed != 1 ? tool_copy : NULL;

	const char *missing = NULL;
	if (!g_file_test(server_binary, G_FILE_TEST_IS_EXECUTABLE))
		missing = server_binary;
	else if (clock_speed != 1 && g_strcmp0(clock_tool, "libfaketime") == 0 &&
		 !g_file_test(LIBFAKETIME_PATH, G_FILE_TEST_EXISTS))
		missing = LIBFAKETIME_PATH " (apt-get install libfaketime)";
	else if (clock_speed != 1 && g_strcmp0(clock_tool, "libfaketime") != 0 &&
		 !g_file_test(clock_tool, G_FILE_TEST_IS_EXECUTABLE))
		missing = clock_tool;
	if (missing != NULL) {
		const char *why = "not installed";
		if (tap)
			printf("1..0 # SKIP %s: %s\n", why, missing);
		else
			printf("SKIP: %s: %s\n", why, missing);
		g_free(server_copy);
		g_free(tool_copy);
		return tap ? 0 : 77;
	}
	char speed_text[16];
	g_snprintf(speed_text, sizeof speed_text, "%d", clock_speed);
	g_setenv("NATSIM_COMPAT_SERVER", server_binary, TRUE);
	g_setenv("NATSIM_COMPAT_SPEED", speed_text, TRUE);
	if (clock_tool != NULL)
		g_setenv("NATSIM_COMPAT_CLOCK_TOOL", clock_tool, TRUE);
	else
		g_unsetenv("NATSIM_COMPAT_CLOCK_TOOL");
	signal(SIGPIPE, SIG_IGN);
	if (nats_Open(-1) != NATS_OK)
		g_error("nats_Open failed");

	/* The parent only watches its children: a failed case is reported and
	 * the next one runs (in the children, assertions stay fatal). */
	if (!g_test_subprocess())
		g_test_set_nonfatal_assertions();
	for (size_t k = 0; k < G_N_ELEMENTS(cases); k++)
		g_test_add_data_func(cases[k].path, &cases[k], case_run);

	int rc = g_test_run();
	nats_CloseAndWait(0);
	g_free(server_copy);
	g_free(tool_copy);
	return rc;
}
