/*
 * server_loop.c - natsim-server's event loop (see server_loop.h): epoll
 * over the client sockets, the signalfd and libmicrohttpd, driving the
 * sans-I/O broker core.
 *
 * A real-world driver file: sockets, epoll, signals, the clock,
 * getrandom(), /proc. Called by server_main.c and the loop's tests, from
 * one thread.
 *
 * Invariants:
 *  - every ServerConn is on the "all" list; it is on the "wake" list iff
 *    the broker woke it or its socket became writable since the last flush;
 *    on the "linger" list iff the broker wants it closed and output still
 *    waits (it is closed at the write deadline at the latest);
 *    on the "stall" list iff the broker asked to stop reading it for a while
 *    (a consumer it feeds is behind) and that while has not ended;
 *  - a connection's EPOLLIN interest is dropped once the broker marks it
 *    closing and while it is stalled; EPOLLOUT is held only while output
 *    waits;
 *  - the time handed to the broker never decreases (one monotonic clock,
 *    read at each phase of a turn);
 *  - the hot path allocates nothing per message: one read buffer per loop,
 *    the broker's own output buffers sent in place.
 */
#include "broker/server_loop.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "broker/server_http.h"
#include "broker/server_net.h"
#include "proto/assert.h"

#define NS_PER_MS INT64_C(1000000)
#define ACCEPT_BACKOFF_MIN_NS (10 * NS_PER_MS) /* nats-server ACCEPT_MIN_SLEEP */
#define ACCEPT_BACKOFF_MAX_NS (1000 * NS_PER_MS) /* ACCEPT_MAX_SLEEP */
#define DEFAULT_WRITE_DEADLINE_NS (10 * INT64_C(1000000000))
#define CPU_SAMPLE_MIN_NS (100 * NS_PER_MS)

/* What an epoll event points at. */
typedef enum SourceKind {
	SOURCE_LISTENER,
	SOURCE_SIGNAL,
	SOURCE_HTTP,
	SOURCE_CONN,
} SourceKind;

typedef struct Source {
	SourceKind kind;
} Source;

enum { LIST_ALL, LIST_WAKE, LIST_LINGER, LIST_STALL, LIST_COUNT };

typedef struct ServerConn ServerConn;

typedef struct ConnLink {
	ServerConn *prev;
	ServerConn *next;
	bool on;
} ConnLink;

typedef struct ConnList {
	ServerConn *head;
	ServerConn *tail;
	size_t count;
} ConnList;

struct ServerConn {
	Source source; /* first: epoll's data.ptr */
	int fd;
	uint32_t events;  /* the epoll interest registered */
	BrokerConn *conn;
	int64_t linger_since_ns;
	bool out_blocked;            /* the socket took less than we had */
	int64_t stall_until_ns;      /* on the stall list: read again at the latest then */
	uint64_t stall_releases;     /* broker_stall_releases when it stalled */
	ConnLink links[LIST_COUNT];
};

struct ServerLoop {
	ServerLog *log;
	Broker *broker;
	int64_t write_deadline_ns;
	int epoll_fd;

	Source listener_source;
	int listen_fd;
	uint16_t port;
	bool accept_paused;
	int64_t accept_resume_ns;
	int64_t accept_backoff_ns;

	Source signal_source;
	int signal_fd;
	sigset_t old_mask;
	int stop_signal;

	Source http_source;
	ServerHttp *http;
	uint16_t http_port;

	ConnList lists[LIST_COUNT];
	uint8_t *read_buf;

	int64_t mono_anchor_ns;
	int64_t real_anchor_ns;
	int64_t now_ns;

	/* /varz host facts */
	int64_t start_unix_ns;
	int64_t cpu_sample_cpu_ns;
	int64_t cpu_sample_wall_ns;
	double cpu_percent;
	int cores;
	long page_bytes;
};

/* ---- lists ---- */

static void
list_push(ServerLoop *loop, int which, ServerConn *c)
{
	ConnList *l = &loop->lists[which];
	ConnLink *k = &c->links[which];
	if (k->on)
		return;
	k->on = true;
	k->prev = l->tail;
	k->next = NULL;
	if (l->tail != NULL)
		l->tail->links[which].next = c;
	else
		l->head = c;
	l->tail = c;
	l->count++;
}

static void
list_remove(ServerLoop *loop, int which, ServerConn *c)
{
	ConnList *l = &loop->lists[which];
	ConnLink *k = &c->links[which];
	if (!k->on)
		return;
	if (k->prev != NULL)
		k->prev->links[which].next = k->next;
	else
		l->head = k->next;
	if (k->next != NULL)
		k->next->links[which].prev = k->prev;
	else
		l->tail = k->prev;
	ASSERT(l->count > 0);
	l->count--;
	memset(k, 0, sizeof(*k));
}

/* ---- the clock ---- */

static int64_t
clock_ns(clockid_t id)
{
	struct timespec ts;
	int rc = clock_gettime(id, &ts);
	ASSERT(rc == 0);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Reads the clock: Unix ns that never decrease. */
static int64_t
loop_tick(ServerLoop *loop)
{
	int64_t now = loop->real_anchor_ns + (clock_ns(CLOCK_MONOTONIC) - loop->mono_anchor_ns);
	if (now > loop->now_ns)
		loop->now_ns = now;
	return loop->now_ns;
}

int64_t
server_loop_now_ns(ServerLoop *loop)
{
	return loop_tick(loop);
}

/* ---- host facts for /varz ---- */

static int64_t
resident_bytes(const ServerLoop *loop)
{
	/* /proc/self/statm: size resident shared ... in pages. */
	int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		char buf[128];
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n > 0) {
			buf[n] = '\0';
			char *end;
			g_ascii_strtoll(buf, &end, 10);
			gint64 pages = g_ascii_strtoll(end, NULL, 10);
			if (pages > 0)
				return pages * loop->page_bytes;
		}
	}
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (int64_t)ru.ru_maxrss * 1024; /* the peak: the best left */
}

static int64_t
cpu_time_ns(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000 +
	    ((int64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
}

/* CPU use since the previous sample (at least CPU_SAMPLE_MIN_NS apart),
 * in percent of one core, as nats-server's /varz "cpu" is. */
static void
host_stats(ServerLoop *loop, int64_t now, BrokerHostStats *out)
{
	int64_t wall = now - loop->cpu_sample_wall_ns;
	if (wall >= CPU_SAMPLE_MIN_NS) {
		int64_t cpu = cpu_time_ns();
		loop->cpu_percent = 100.0 * (double)(cpu - loop->cpu_sample_cpu_ns) / (double)wall;
		loop->cpu_sample_cpu_ns = cpu;
		loop->cpu_sample_wall_ns = now;
	}
	out->mem_bytes = resident_bytes(loop);
	out->cpu_percent = loop->cpu_percent;
	out->cores = loop->cores;
	out->start_unix_ns = loop->start_unix_ns;
}

static char *
on_monitor(void *ctx, const char *path, const BrokerMonitorArg *args, size_t arg_count, int *http_status,
    const char **content_type)
{
	ServerLoop *loop = ctx;
	int64_t now = loop_tick(loop);
	BrokerHostStats host;
	host_stats(loop, now, &host);
	return broker_monitor(loop->broker, path, args, arg_count, &host, now, http_status, content_type);
}

/* ---- connections ---- */

static void
on_conn_wake(void *ctx, BrokerConn *conn)
{
	ServerLoop *loop = ctx;
	ServerConn *c = broker_conn_user(conn);
	/* NULL during broker_conn_open: the accept path queues it itself. */
	if (c != NULL)
		list_push(loop, LIST_WAKE, c);
}

static void
on_broker_log(void *ctx, BrokerLogLevel level, const char *message)
{
	ServerLoop *loop = ctx;
	server_log_write(loop->log, level, message);
}

static void
set_events(ServerLoop *loop, ServerConn *c, uint32_t events)
{
	if (c->events == events)
		return;
	struct epoll_event ev = { .events = events, .data.ptr = &c->source };
	int rc = epoll_ctl(loop->epoll_fd, EPOLL_CTL_MOD, c->fd, &ev);
	ASSERT(rc == 0);
	c->events = events;
}

/* EPOLLIN unless closing or stalled, EPOLLOUT while output is blocked. */
static void
update_events(ServerLoop *loop, ServerConn *c)
{
	bool reading = !broker_conn_closing(c->conn) && !c->links[LIST_STALL].on;
	set_events(loop, c, (reading ? (uint32_t)EPOLLIN : 0u) | (c->out_blocked ? (uint32_t)EPOLLOUT : 0u));
}

/* The socket is done: the broker forgets the connection, then we do. */
static void
conn_close(ServerLoop *loop, ServerConn *c, BrokerCloseReason reason)
{
	close(c->fd); /* also leaves the epoll set */
	broker_conn_close(loop->broker, c->conn, reason, loop_tick(loop));
	for (int i = 0; i < LIST_COUNT; i++)
		list_remove(loop, i, c);
	g_free(c);
}

/* Sends what the broker has for c until it is all out or the socket is
 * full, then sets c's epoll interest, or closes c when the broker wants it
 * closed and nothing is left to send. */
static void
conn_flush(ServerLoop *loop, ServerConn *c)
{
	bool blocked = false;
	for (;;) {
		const uint8_t *data;
		size_t len = broker_conn_send_peek(c->conn, &data);
		if (len == 0)
			break;
		ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);
		if (n > 0) {
			broker_conn_send_consume(loop->broker, c->conn, (size_t)n, loop->now_ns);
			if ((size_t)n < len) {
				blocked = true; /* the socket buffer is full */
				break;
			}
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			blocked = true;
			break;
		}
		conn_close(loop, c, BROKER_CLOSE_WRITE_ERROR);
		return;
	}
	bool closing = broker_conn_closing(c->conn);
	if (closing && !blocked) {
		conn_close(loop, c, broker_conn_close_reason(c->conn));
		return;
	}
	if (closing && !c->links[LIST_LINGER].on) {
		c->linger_since_ns = loop->now_ns;
		list_push(loop, LIST_LINGER, c);
	}
	c->out_blocked = blocked;
	update_events(loop, c);
}

/* Stalled connections read again once their pause is over or any
 * consumer's backlog went down (a producer stalled on another consumer
 * then finds it still behind and stalls again). */
static void
resume_stalled(ServerLoop *loop)
{
	uint64_t releases = broker_stall_releases(loop->broker);
	for (ServerConn *c = loop->lists[LIST_STALL].head, *next; c != NULL; c = next) {
		next = c->links[LIST_STALL].next;
		if (loop->now_ns >= c->stall_until_ns || releases != c->stall_releases) {
			list_remove(loop, LIST_STALL, c);
			update_events(loop, c);
		}
	}
}

static void
flush_woken(ServerLoop *loop)
{
	ServerConn *c;
	while ((c = loop->lists[LIST_WAKE].head) != NULL) {
		list_remove(loop, LIST_WAKE, c);
		conn_flush(loop, c);
	}
}

/* Reads what the socket has into the broker. Returns false when c was
 * closed (and freed). */
static bool
conn_readable(ServerLoop *loop, ServerConn *c)
{
	for (int i = 0; i < SERVER_LOOP_READS_PER_WAKE; i++) {
		ssize_t n = recv(c->fd, loop->read_buf, SERVER_LOOP_READ_BYTES, 0);
		if (n > 0) {
			broker_conn_recv(loop->broker, c->conn, loop->read_buf, (size_t)n, loop->now_ns);
			int64_t stall_ns = broker_conn_stall_ns(c->conn);
			if (stall_ns > 0 && !broker_conn_closing(c->conn)) {
				/* A consumer it feeds is behind: stop reading it until a
				 * backlog goes down or the pause ends (nats-server
				 * stalls such a producer's read loop the same way). */
				c->stall_until_ns = loop->now_ns + stall_ns;
				c->stall_releases = broker_stall_releases(loop->broker);
				list_push(loop, LIST_STALL, c);
				update_events(loop, c);
				return true;
			}
			/* A short read emptied the socket; a closing conn reads no more. */
			if (n < SERVER_LOOP_READ_BYTES || broker_conn_closing(c->conn))
				return true;
			continue;
		}
		if (n == 0) {
			conn_close(loop, c, BROKER_CLOSE_CLIENT);
			return false;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return true;
		/* A reset is the client going away (broker.h: "EOF or reset"). */
		conn_close(loop, c, errno == ECONNRESET ? BROKER_CLOSE_CLIENT : BROKER_CLOSE_READ_ERROR);
		return false;
	}
	return true; /* more may wait: level-triggered epoll says so next turn */
}

static void
conn_event(ServerLoop *loop, ServerConn *c, uint32_t events)
{
	/* A stalled connection is read only when its socket failed (the
	 * read finds out how). */
	uint32_t read_on = (uint32_t)(EPOLLHUP | EPOLLERR) | (c->links[LIST_STALL].on ? 0u : (uint32_t)EPOLLIN);
	if (!broker_conn_closing(c->conn) && (events & read_on)) {
		if (!conn_readable(loop, c))
			return;
		if (!(events & EPOLLOUT))
			return;
	}
	/* Writable again, or a closing conn's socket failed: the flush
	 * finds out which. */
	list_push(loop, LIST_WAKE, c);
}

/* ---- the listener ---- */

static void
listener_interest(ServerLoop *loop, bool on)
{
	struct epoll_event ev = { .events = on ? (uint32_t)EPOLLIN : 0u, .data.ptr = &loop->listener_source };
	int rc = epoll_ctl(loop->epoll_fd, EPOLL_CTL_MOD, loop->listen_fd, &ev);
	ASSERT(rc == 0);
}

static void
accept_ready(ServerLoop *loop)
{
	for (int i = 0; i < SERVER_LOOP_ACCEPTS_PER_WAKE; i++) {
		struct sockaddr_storage addr;
		socklen_t addr_len = sizeof(addr);
		int fd = accept4(loop->listen_fd, (struct sockaddr *)&addr, &addr_len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			int err = errno;
			if (err == EINTR || err == ECONNABORTED || err == EPROTO)
				continue;
			if (err == EAGAIN || err == EWOULDBLOCK)
				return;
			/* Out of descriptors or memory: back off as nats-server
			 * does (10 ms doubling to 1 s), listener muted meanwhile. */
			loop->accept_backoff_ns = loop->accept_backoff_ns == 0
			    ? ACCEPT_BACKOFF_MIN_NS
			    : MIN(loop->accept_backoff_ns * 2, ACCEPT_BACKOFF_MAX_NS);
			server_log_printf(loop->log, BROKER_LOG_ERROR, "Temporary Client Accept Error(accept: %s), sleeping %dms",
			    g_strerror(err), (int)(loop->accept_backoff_ns / NS_PER_MS));
			loop->accept_paused = true;
			loop->accept_resume_ns = loop->now_ns + loop->accept_backoff_ns;
			listener_interest(loop, false);
			return;
		}
		loop->accept_backoff_ns = 0;
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		char ip[INET6_ADDRSTRLEN];
		uint16_t port;
		server_net_peer_name(&addr, ip, sizeof(ip), &port);
		ServerConn *c = g_new0(ServerConn, 1);
		c->source.kind = SOURCE_CONN;
		c->fd = fd;
		c->events = EPOLLIN;
		c->conn = broker_conn_open(loop->broker, ip, port, loop_tick(loop));
		broker_conn_set_user(c->conn, c);
		list_push(loop, LIST_ALL, c);
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &c->source };
		if (epoll_ctl(loop->epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0) {
			server_log_printf(loop->log, BROKER_LOG_ERROR, "epoll_ctl for %s:%u: %s", ip, (unsigned)port,
			    g_strerror(errno));
			conn_close(loop, c, BROKER_CLOSE_READ_ERROR);
			continue;
		}
		/* The INFO line is queued; its wake came before set_user. */
		list_push(loop, LIST_WAKE, c);
	}
}

/* ---- signals ---- */

static void
signal_ready(ServerLoop *loop)
{
	struct signalfd_siginfo info;
	while (read(loop->signal_fd, &info, sizeof(info)) == (ssize_t)sizeof(info)) {
		int sig = (int)info.ssi_signo;
		/* Go's names for them, as nats-server logs "Trapped %q signal". */
		const char *name = sig == SIGINT ? "interrupt" : sig == SIGTERM ? "terminated" : sig == SIGHUP ? "hangup"
		    : sig == SIGUSR1 ? "user defined signal 1" : "signal";
		server_log_printf(loop->log, BROKER_LOG_INFO, "Trapped \"%s\" signal", name);
		if (sig == SIGINT || sig == SIGTERM) {
			if (loop->stop_signal == 0)
				loop->stop_signal = sig;
		} else if (sig == SIGHUP) {
			server_log_printf(loop->log, BROKER_LOG_WARN,
			    "Configuration reload is not supported by natsim-server; restart it to apply changes");
		} else if (sig == SIGUSR1) {
			g_autoptr(GError) error = NULL;
			if (!server_log_reopen(loop->log, &error))
				server_log_printf(loop->log, BROKER_LOG_ERROR, "%s", error->message);
		}
	}
}

/* ---- the turn ---- */

static int64_t
earliest_deadline_ns(ServerLoop *loop)
{
	int64_t deadline = broker_next_deadline_ns(loop->broker);
	if (loop->accept_paused)
		deadline = MIN(deadline, loop->accept_resume_ns);
	for (ServerConn *c = loop->lists[LIST_LINGER].head; c != NULL; c = c->links[LIST_LINGER].next)
		deadline = MIN(deadline, c->linger_since_ns + loop->write_deadline_ns);
	for (ServerConn *c = loop->lists[LIST_STALL].head; c != NULL; c = c->links[LIST_STALL].next)
		deadline = MIN(deadline, c->stall_until_ns);
	return deadline;
}

static int
wait_ms(ServerLoop *loop, int max_wait_ms)
{
	if (loop->lists[LIST_WAKE].head != NULL)
		return 0;
	int64_t timeout = max_wait_ms < 0 ? INT64_MAX : max_wait_ms;
	int64_t deadline = earliest_deadline_ns(loop);
	if (deadline != INT64_MAX) {
		int64_t until = deadline - loop_tick(loop);
		/* Round up: waking a little late is fine, early is a spin. */
		timeout = MIN(timeout, until <= 0 ? 0 : (until + NS_PER_MS - 1) / NS_PER_MS);
	}
	if (loop->http != NULL) {
		int64_t http_ms = server_http_timeout_ms(loop->http);
		if (http_ms >= 0)
			timeout = MIN(timeout, http_ms);
	}
	return timeout == INT64_MAX ? -1 : (int)MIN(timeout, INT32_MAX);
}

/* Handles one epoll batch; true when the HTTP server has something. */
static bool
handle_events(ServerLoop *loop, const struct epoll_event *events, int n)
{
	bool http_ready = false;
	for (int i = 0; i < n; i++) {
		Source *source = events[i].data.ptr;
		switch (source->kind) {
		case SOURCE_LISTENER:
			accept_ready(loop);
			break;
		case SOURCE_SIGNAL:
			signal_ready(loop);
			break;
		case SOURCE_HTTP:
			http_ready = true;
			break;
		case SOURCE_CONN:
			/* Each fd is in one event per batch, so c is live here. */
			conn_event(loop, (ServerConn *)source, events[i].events);
			break;
		}
	}
	return http_ready;
}

int
server_loop_run_once(ServerLoop *loop, int max_wait_ms)
{
	struct epoll_event events[SERVER_LOOP_EVENTS_MAX];
	int n = epoll_wait(loop->epoll_fd, events, SERVER_LOOP_EVENTS_MAX, wait_ms(loop, max_wait_ms));
	if (n < 0) {
		ASSERT(errno == EINTR);
		n = 0;
	}
	loop_tick(loop);
	bool http_ready = handle_events(loop, events, n);
	/* Input that is already there is taken before the output goes out:
	 * a client streaming publishes then gets its replies (PubAcks) in
	 * fewer, larger writes, as nats-server's write loop coalesces them,
	 * and an idle client's reply leaves at once (nothing more waits). */
	for (int round = 0; n > 0 && round < SERVER_LOOP_COALESCE_ROUNDS && loop->lists[LIST_WAKE].head != NULL; round++) {
		n = epoll_wait(loop->epoll_fd, events, SERVER_LOOP_EVENTS_MAX, 0);
		if (n <= 0)
			break;
		loop_tick(loop);
		http_ready |= handle_events(loop, events, n);
	}
	int64_t now = loop_tick(loop);
	if (now >= broker_next_deadline_ns(loop->broker))
		broker_on_timeout(loop->broker, now);
	if (loop->http != NULL && (http_ready || server_http_timeout_ms(loop->http) == 0))
		server_http_run(loop->http);
	if (loop->accept_paused && now >= loop->accept_resume_ns) {
		loop->accept_paused = false;
		listener_interest(loop, true);
	}
	for (ServerConn *c = loop->lists[LIST_LINGER].head, *next; c != NULL; c = next) {
		next = c->links[LIST_LINGER].next;
		if (now >= c->linger_since_ns + loop->write_deadline_ns)
			conn_close(loop, c, BROKER_CLOSE_SLOW_CONSUMER_DEADLINE);
	}
	loop_tick(loop);
	flush_woken(loop);
	resume_stalled(loop);
	return loop->stop_signal;
}

int
server_loop_run(ServerLoop *loop)
{
	int sig;
	while ((sig = server_loop_run_once(loop, -1)) == 0)
		;
	return sig;
}

/* ---- life cycle ---- */

static bool G_GNUC_PRINTF(2, 3)
loop_fail(GError **error, const char *format, ...)
{
	va_list ap;
	va_start(ap, format);
	g_autofree char *message = g_strdup_vprintf(format, ap);
	va_end(ap);
	g_set_error_literal(error, g_quark_from_static_string("natsim-server-loop"), 1, message);
	return false;
}

static bool
epoll_add(ServerLoop *loop, int fd, Source *source, GError **error)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = source };
	if (epoll_ctl(loop->epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0)
		return loop_fail(error, "epoll_ctl: %s", g_strerror(errno));
	return true;
}

ServerLoop *
server_loop_create(const ServerLoopConfig *config, GError **error)
{
	ASSERT(config != NULL && config->log != NULL);
	g_autoptr(GError) cause = NULL; /* before any goto: it is cleaned up at return */
	ServerLoop *loop = g_new0(ServerLoop, 1);
	loop->log = config->log;
	loop->listen_fd = loop->signal_fd = -1;
	loop->listener_source.kind = SOURCE_LISTENER;
	loop->signal_source.kind = SOURCE_SIGNAL;
	loop->http_source.kind = SOURCE_HTTP;
	loop->mono_anchor_ns = clock_ns(CLOCK_MONOTONIC);
	loop->real_anchor_ns = clock_ns(CLOCK_REALTIME);
	loop->now_ns = loop->real_anchor_ns;
	loop->start_unix_ns = loop->real_anchor_ns;
	loop->cpu_sample_wall_ns = loop->real_anchor_ns;
	loop->cpu_sample_cpu_ns = cpu_time_ns();
	loop->cores = (int)sysconf(_SC_NPROCESSORS_ONLN);
	loop->page_bytes = sysconf(_SC_PAGESIZE);
	loop->read_buf = g_malloc(SERVER_LOOP_READ_BYTES);
	loop->write_deadline_ns = config->broker.write_deadline_ns > 0 ? config->broker.write_deadline_ns
	                                                                : DEFAULT_WRITE_DEADLINE_NS;
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR1);
	sigprocmask(SIG_BLOCK, &mask, &loop->old_mask);

	loop->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epoll_fd < 0) {
		loop_fail(error, "epoll_create1: %s", g_strerror(errno));
		goto failed;
	}
	loop->signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (loop->signal_fd < 0) {
		loop_fail(error, "signalfd: %s", g_strerror(errno));
		goto failed;
	}
	if (!epoll_add(loop, loop->signal_fd, &loop->signal_source, error))
		goto failed;

	loop->listen_fd = server_net_listen(config->host, config->port, &loop->port, &cause);
	if (loop->listen_fd < 0) {
		/* nats-server's words: Error listening on port: HOST:PORT, "why" */
		g_autofree char *where = server_net_join_host_port(config->host != NULL ? config->host : "0.0.0.0",
		    config->port);
		loop_fail(error, "Error listening on port: %s, \"%s\"", where, cause->message);
		goto failed;
	}
	if (!epoll_add(loop, loop->listen_fd, &loop->listener_source, error))
		goto failed;

	if (config->http) {
		const char *http_host = config->http_host != NULL ? config->http_host : config->host;
		int http_fd = server_net_listen(http_host, config->http_port, &loop->http_port, error);
		if (http_fd < 0) {
			g_prefix_error(error, "Can't listen to the Monitor Port: ");
			goto failed;
		}
		loop->http = server_http_start(http_fd, on_monitor, loop, loop->log, error);
		if (loop->http == NULL ||
		    !epoll_add(loop, server_http_epoll_fd(loop->http), &loop->http_source, error))
			goto failed;
	}

	uint64_t seed;
	if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed)) {
		loop_fail(error, "getrandom: %s", g_strerror(errno));
		goto failed;
	}
	BrokerConfig broker_config = config->broker;
	broker_config.host = config->host != NULL ? config->host : "0.0.0.0";
	broker_config.port = loop->port;
	broker_config.http_port = loop->http_port;
	BrokerCallbacks callbacks = {
		.conn_wake = on_conn_wake,
		.log = on_broker_log,
	};
	loop->broker = broker_create(&broker_config, seed, loop_tick(loop), &callbacks, loop);
	return loop;
failed:
	server_loop_destroy(loop);
	return NULL;
}

void
server_loop_destroy(ServerLoop *loop)
{
	if (loop == NULL)
		return;
	if (loop->listen_fd >= 0)
		close(loop->listen_fd);
	if (loop->broker != NULL) {
		int64_t now = loop_tick(loop);
		broker_shutdown(loop->broker, now);
		/* One try to send what waits (-ERR lines and the like), no
		 * waiting: shutdown is prompt. */
		flush_woken(loop);
		while (loop->lists[LIST_ALL].head != NULL)
			conn_close(loop, loop->lists[LIST_ALL].head, BROKER_CLOSE_SERVER_SHUTDOWN);
	}
	server_http_stop(loop->http);
	broker_destroy(loop->broker);
	if (loop->signal_fd >= 0)
		close(loop->signal_fd);
	if (loop->epoll_fd >= 0)
		close(loop->epoll_fd);
	sigprocmask(SIG_SETMASK, &loop->old_mask, NULL);
	g_free(loop->read_buf);
	g_free(loop);
}

uint16_t
server_loop_port(const ServerLoop *loop)
{
	return loop->port;
}

uint16_t
server_loop_http_port(const ServerLoop *loop)
{
	return loop->http != NULL ? loop->http_port : 0;
}

Broker *
server_loop_broker(ServerLoop *loop)
{
	return loop->broker;
}

size_t
server_loop_conn_count(const ServerLoop *loop)
{
	return loop->lists[LIST_ALL].count;
}
