/*
 * tcp.c - the real-world driver (see tcp.h): a socket, an eventfd and an
 * I/O thread around the client core.
 *
 * This is a real-world driver file (listed in tests/lint_determinism.py):
 * it owns the clock (CLOCK_MONOTONIC), the seed (getrandom), the socket
 * and the thread.
 *
 * Invariants: the core is touched only with tcp->lock held; fd >= 0 while
 * the driver holds a transport (connecting when !open); the eventfd is
 * written only when the I/O thread sleeps in poll and no wake is pending
 * (one syscall per batch of publishes, not per publish). Output moves from
 * the core into wbuf under the lock and is written outside it, so
 * publishers never wait for a send() in progress.
 */
#include "client/tcp.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "client/internal.h"
#include "proto/assert.h"
#include "proto/buf.h"

#define READ_CHUNK_BYTES (64u << 10)
#define READS_PER_ROUND_MAX 16
#define WRITE_TAKE_BYTES_MAX (1u << 20)
#define WAIT_SLACK_NS (5 * CLIENT_NS_PER_S)
#define GATHER_BYTES (64u << 10)
#define GATHER_NAP_NS (50 * 1000)
#define GATHER_NAPS_MAX 10
#define LOCK_SPINS 32
#define WBUF_KEEP_BYTES (1u << 20)

struct ClientTcp {
	pthread_mutex_t lock; /* recursive */
	pthread_cond_t cond;  /* CLOCK_MONOTONIC; broadcast on any progress */
	pthread_t thread;
	bool thread_started;
	ClientConn *conn;
	ClientUrl url;
	ClientTcpEventFn event;
	void *event_ctx;
	int fd;
	bool open;
	int wake_fd;
	bool sleeping;
	bool wake_pending;
	bool stop;
	int waiters;
	ProtoBuf wbuf;    /* taken from the core, being written (I/O thread only) */
	int64_t clock_ns; /* the latest clock reading of the I/O thread (under the lock) */
	size_t queued_hint; /* bytes the core holds for the wire; written under the lock, read without (atomics) */
	uint8_t *rbuf;    /* READ_CHUNK_BYTES */
	pthread_t io_self;
};

int64_t
client_tcp_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * CLIENT_NS_PER_S + ts.tv_nsec;
}

/* The lock, after spinning on it a little: the other side holds it for
 * moments (a publish, a buffer swap), and sleeping on it would cost both
 * threads a context switch per collision (a publisher streams through
 * here once per message). */
static void
lock_spin(ClientTcp *tcp)
{
	for (int k = 0; k < LOCK_SPINS; k++) {
		if (pthread_mutex_trylock(&tcp->lock) == 0)
			return;
#if defined(__x86_64__) || defined(__i386__)
		__builtin_ia32_pause();
#endif
	}
	pthread_mutex_lock(&tcp->lock);
}

/* Under the lock: what the I/O thread may read without it. */
static void
publish_hint(ClientTcp *tcp)
{
	__atomic_store_n(&tcp->queued_hint, client_conn_buffered_bytes(tcp->conn), __ATOMIC_RELAXED);
}

static bool
on_io_thread(ClientTcp *tcp)
{
	return tcp->thread_started && pthread_equal(pthread_self(), tcp->io_self);
}

static void
broadcast(ClientTcp *tcp)
{
	if (tcp->waiters > 0)
		pthread_cond_broadcast(&tcp->cond);
}

/* Waits on the condition until deadline (monotonic ns); false at the deadline. */
static bool
wait_until(ClientTcp *tcp, int64_t deadline_ns)
{
	int64_t now = client_tcp_now_ns();
	if (now >= deadline_ns)
		return false;
	struct timespec ts = { .tv_sec = deadline_ns / CLIENT_NS_PER_S, .tv_nsec = deadline_ns % CLIENT_NS_PER_S };
	tcp->waiters++;
	pthread_cond_timedwait(&tcp->cond, &tcp->lock, &ts);
	tcp->waiters--;
	return true;
}

static void
core_wake(void *ctx, ClientConn *conn)
{
	(void)conn;
	ClientTcp *tcp = ctx;
	if (tcp->sleeping && !tcp->wake_pending) {
		uint64_t one = 1;
		tcp->wake_pending = true;
		ssize_t n = write(tcp->wake_fd, &one, sizeof(one));
		(void)n;
	}
	broadcast(tcp);
}

static void
core_event(void *ctx, ClientConn *conn, const ClientEvent *ev)
{
	(void)conn;
	ClientTcp *tcp = ctx;
	if (tcp->event != NULL)
		tcp->event(tcp->event_ctx, tcp, ev);
	broadcast(tcp);
}

ClientConn *
client_tcp_lock(ClientTcp *tcp)
{
	pthread_mutex_lock(&tcp->lock);
	return tcp->conn;
}

void
client_tcp_unlock(ClientTcp *tcp)
{
	pthread_mutex_unlock(&tcp->lock);
}

/* ---- the I/O thread ---- */

static void
transport_drop(ClientTcp *tcp, ClientStatus status)
{
	if (tcp->fd >= 0)
		close(tcp->fd);
	tcp->fd = -1;
	tcp->open = false;
	proto_buf_clear(&tcp->wbuf);
	client_conn_transport_closed(tcp->conn, status, client_tcp_now_ns());
}

static void
transport_start(ClientTcp *tcp)
{
	char port[8];
	g_snprintf(port, sizeof(port), "%u", tcp->url.port);
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res = NULL;
	if (getaddrinfo(tcp->url.host, port, &hints, &res) != 0 || res == NULL) {
		client_conn_transport_closed(tcp->conn, CLIENT_ERR_IO, client_tcp_now_ns());
		return;
	}
	int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		freeaddrinfo(res);
		client_conn_transport_closed(tcp->conn, CLIENT_ERR_IO, client_tcp_now_ns());
		return;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	int rc = connect(fd, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	tcp->fd = fd;
	if (rc == 0) {
		tcp->open = true;
		client_conn_transport_open(tcp->conn, client_tcp_now_ns());
	} else if (errno != EINPROGRESS) {
		transport_drop(tcp, CLIENT_ERR_IO);
	}
}

/* Moves output from the core into wbuf (under the lock). When wbuf is
 * empty the core's buffer is taken whole by a swap, so the lock is held
 * for O(1) however much the publishers queued (they wait for it). */
static void
take_output(ClientTcp *tcp)
{
	if (!tcp->open)
		return;
	if (proto_buf_pending(&tcp->wbuf) == 0) {
		client_conn_send_take(tcp->conn, &tcp->wbuf, client_tcp_now_ns());
		publish_hint(tcp);
		return;
	}
	const uint8_t *data;
	size_t n = client_conn_send_peek(tcp->conn, &data);
	if (n == 0 || proto_buf_pending(&tcp->wbuf) >= WRITE_TAKE_BYTES_MAX)
		return;
	if (n > WRITE_TAKE_BYTES_MAX)
		n = WRITE_TAKE_BYTES_MAX;
	proto_buf_append(&tcp->wbuf, data, n);
	client_conn_send_consume(tcp->conn, n, client_tcp_now_ns());
	publish_hint(tcp);
}

/* Writes wbuf without the lock; returns false when the socket failed. */
static bool
write_out(ClientTcp *tcp)
{
	while (proto_buf_pending(&tcp->wbuf) > 0) {
		ssize_t w = send(tcp->fd, proto_buf_peek(&tcp->wbuf), proto_buf_pending(&tcp->wbuf), MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK;
		}
		proto_buf_consume(&tcp->wbuf, (size_t)w);
	}
	return true;
}

/* Called without the lock, after a batch went out whole. If publishers
 * queued a little more meanwhile, they are streaming: let the output
 * gather a moment rather than take it a few hundred bytes at a time,
 * since every take contends for the lock the publishers take for each
 * message (libnats's flusher naps 1 ms for the same reason). A lone
 * request finds nothing queued after its write and goes out at once; the
 * naps end as soon as the publishers pause. */
static void
gather_output(ClientTcp *tcp)
{
	size_t queued = __atomic_load_n(&tcp->queued_hint, __ATOMIC_RELAXED);
	for (int nap = 0; nap < GATHER_NAPS_MAX && queued > 0 && queued < GATHER_BYTES; nap++) {
		struct timespec ts = { 0, GATHER_NAP_NS };
		nanosleep(&ts, NULL);
		size_t now_queued = __atomic_load_n(&tcp->queued_hint, __ATOMIC_RELAXED);
		if (now_queued == queued)
			return; /* the publishers paused */
		queued = now_queued;
	}
}

static void *
io_main(void *arg)
{
	ClientTcp *tcp = arg;
	pthread_mutex_lock(&tcp->lock);
	tcp->io_self = pthread_self();
	while (!(tcp->stop && client_conn_state(tcp->conn) == CLIENT_STATE_CLOSED)) {
		int64_t now = client_tcp_now_ns();
		tcp->clock_ns = now;
		if (client_conn_next_deadline_ns(tcp->conn) <= now)
			client_conn_on_timeout(tcp->conn, now);
		ClientTransportWant want = client_conn_transport_want(tcp->conn);
		if (want == CLIENT_WANT_CLOSE) {
			if (tcp->open) {
				take_output(tcp);
				write_out(tcp); /* best effort */
			}
			transport_drop(tcp, CLIENT_ERR_CONNECTION_LOST);
			broadcast(tcp);
			continue;
		}
		if (want == CLIENT_WANT_OPEN && tcp->fd < 0) {
			transport_start(tcp);
			broadcast(tcp);
			continue;
		}
		/* Write what is there before sleeping. */
		bool failed = false;
		if (tcp->open) {
			take_output(tcp);
			if (proto_buf_pending(&tcp->wbuf) > 0) {
				pthread_mutex_unlock(&tcp->lock);
				failed = !write_out(tcp);
				if (!failed && proto_buf_pending(&tcp->wbuf) == 0)
					gather_output(tcp);
				lock_spin(tcp);
				take_output(tcp);
				broadcast(tcp);
			}
		}
		if (failed) {
			transport_drop(tcp, CLIENT_ERR_CONNECTION_LOST);
			continue;
		}
		struct pollfd pfd[2] = { { .fd = tcp->wake_fd, .events = POLLIN }, { .fd = tcp->fd } };
		int nfds = 1;
		if (tcp->fd >= 0) {
			nfds = 2;
			pfd[1].events = tcp->open ? POLLIN : POLLOUT;
			if (tcp->open && proto_buf_pending(&tcp->wbuf) > 0)
				pfd[1].events |= POLLOUT;
		}
		int64_t deadline = client_conn_next_deadline_ns(tcp->conn);
		int timeout_ms = -1;
		if (deadline != INT64_MAX) {
			int64_t wait = deadline - client_tcp_now_ns();
			timeout_ms = wait <= 0 ? 0 : (int)((wait + CLIENT_NS_PER_MS - 1) / CLIENT_NS_PER_MS);
			if (wait > INT64_C(3600) * CLIENT_NS_PER_S)
				timeout_ms = 3600 * 1000;
		}
		if (tcp->stop && client_conn_state(tcp->conn) == CLIENT_STATE_CLOSED)
			break;
		if (proto_buf_pending(&tcp->wbuf) == 0)
			proto_buf_shrink(&tcp->wbuf, WBUF_KEEP_BYTES); /* after a burst, give the memory back */
		tcp->sleeping = true;
		pthread_mutex_unlock(&tcp->lock);
		int rc = poll(pfd, (nfds_t)nfds, timeout_ms);
		lock_spin(tcp);
		tcp->sleeping = false;
		tcp->clock_ns = client_tcp_now_ns();
		if (rc < 0)
			continue;
		if (pfd[0].revents & POLLIN) {
			uint64_t v;
			ssize_t n = read(tcp->wake_fd, &v, sizeof(v));
			(void)n;
			tcp->wake_pending = false;
		}
		if (nfds < 2 || tcp->fd != pfd[1].fd || pfd[1].revents == 0)
			continue;
		if (!tcp->open) {
			int err = 0;
			socklen_t el = sizeof(err);
			getsockopt(tcp->fd, SOL_SOCKET, SO_ERROR, &err, &el);
			if (err != 0 || (pfd[1].revents & (POLLERR | POLLHUP))) {
				transport_drop(tcp, CLIENT_ERR_IO);
			} else {
				tcp->open = true;
				client_conn_transport_open(tcp->conn, client_tcp_now_ns());
			}
			broadcast(tcp);
			continue;
		}
		if (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			for (int k = 0; k < READS_PER_ROUND_MAX && tcp->open; k++) {
				ssize_t n = recv(tcp->fd, tcp->rbuf, READ_CHUNK_BYTES, 0);
				if (n > 0) {
					client_conn_recv(tcp->conn, tcp->rbuf, (size_t)n, client_tcp_now_ns());
					if ((size_t)n < READ_CHUNK_BYTES)
						break;
					continue;
				}
				if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
					break;
				transport_drop(tcp, CLIENT_ERR_CONNECTION_LOST); /* EOF or error */
				break;
			}
			broadcast(tcp);
		}
	}
	if (tcp->fd >= 0)
		close(tcp->fd);
	tcp->fd = -1;
	broadcast(tcp);
	pthread_mutex_unlock(&tcp->lock);
	return NULL;
}

/* ---- life cycle ---- */

ClientTcpOptions
client_tcp_options_default(void)
{
	return (ClientTcpOptions){ .url = "nats://127.0.0.1:4222", .core = client_options_default() };
}

static void
tcp_free(ClientTcp *tcp)
{
	client_conn_destroy(tcp->conn);
	client_url_clear(&tcp->url);
	if (tcp->wake_fd >= 0)
		close(tcp->wake_fd);
	proto_buf_deinit(&tcp->wbuf);
	g_free(tcp->rbuf);
	pthread_cond_destroy(&tcp->cond);
	pthread_mutex_destroy(&tcp->lock);
	g_free(tcp);
}

ClientStatus
client_tcp_connect(ClientTcp **out, const ClientTcpOptions *options, int64_t timeout_ns)
{
	if (out == NULL || options == NULL || timeout_ns <= 0)
		return CLIENT_ERR_INVALID_ARG;
	*out = NULL;
	ClientTcp *tcp = g_new0(ClientTcp, 1);
	tcp->fd = -1;
	tcp->wake_fd = -1;
	ClientStatus st = client_url_parse(options->url ? options->url : "nats://127.0.0.1:4222", &tcp->url);
	pthread_mutexattr_t ma;
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&tcp->lock, &ma);
	pthread_mutexattr_destroy(&ma);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&tcp->cond, &ca);
	pthread_condattr_destroy(&ca);
	proto_buf_init(&tcp->wbuf);
	tcp->rbuf = g_malloc(READ_CHUNK_BYTES);
	if (st != CLIENT_OK) {
		tcp_free(tcp);
		return st;
	}
	ClientOptions core = options->core;
	if (tcp->url.user != NULL) {
		core.user = tcp->url.user;
		core.password = tcp->url.password;
	}
	if (tcp->url.token != NULL)
		core.token = tcp->url.token;
	uint64_t seed = 0;
	if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
		seed = (uint64_t)client_tcp_now_ns();
	tcp->event = options->event;
	tcp->event_ctx = options->event_ctx;
	ClientCallbacks cbs = { .event = core_event, .wake = core_wake };
	st = client_conn_create(&tcp->conn, &core, &cbs, tcp, seed, client_tcp_now_ns());
	if (st != CLIENT_OK) {
		tcp_free(tcp);
		return st;
	}
	tcp->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (tcp->wake_fd < 0 || pthread_create(&tcp->thread, NULL, io_main, tcp) != 0) {
		tcp_free(tcp);
		return CLIENT_ERR_IO;
	}
	tcp->thread_started = true;
	pthread_mutex_lock(&tcp->lock);
	int64_t deadline = client_tcp_now_ns() + timeout_ns;
	for (;;) {
		ClientState s = client_conn_state(tcp->conn);
		if (s == CLIENT_STATE_CONNECTED)
			break;
		if (s == CLIENT_STATE_CLOSED) {
			st = client_conn_last_error(tcp->conn, NULL);
			if (st == CLIENT_OK)
				st = CLIENT_ERR_CLOSED;
			break;
		}
		if (!wait_until(tcp, deadline)) {
			st = CLIENT_ERR_TIMEOUT;
			break;
		}
	}
	pthread_mutex_unlock(&tcp->lock);
	if (st != CLIENT_OK) {
		client_tcp_destroy(tcp);
		return st;
	}
	*out = tcp;
	return CLIENT_OK;
}

void
client_tcp_destroy(ClientTcp *tcp)
{
	if (tcp == NULL)
		return;
	pthread_mutex_lock(&tcp->lock);
	ASSERT(!on_io_thread(tcp));
	tcp->event = NULL; /* no user callbacks while tearing down */
	client_conn_close(tcp->conn, client_tcp_now_ns());
	tcp->stop = true;
	core_wake(tcp, tcp->conn);
	pthread_mutex_unlock(&tcp->lock);
	if (tcp->thread_started)
		pthread_join(tcp->thread, NULL);
	tcp_free(tcp);
}

ClientStatus
client_tcp_drain(ClientTcp *tcp, int64_t timeout_ns)
{
	if (tcp == NULL || timeout_ns <= 0)
		return CLIENT_ERR_INVALID_ARG;
	if (on_io_thread(tcp))
		return CLIENT_ERR_WOULD_DEADLOCK;
	pthread_mutex_lock(&tcp->lock);
	ClientStatus st = client_conn_drain(tcp->conn, timeout_ns, client_tcp_now_ns());
	int64_t deadline = client_tcp_now_ns() + timeout_ns + WAIT_SLACK_NS;
	while (st == CLIENT_OK && client_conn_state(tcp->conn) != CLIENT_STATE_CLOSED)
		if (!wait_until(tcp, deadline))
			st = CLIENT_ERR_TIMEOUT;
	if (st == CLIENT_OK)
		st = client_conn_last_error(tcp->conn, NULL);
	pthread_mutex_unlock(&tcp->lock);
	return st;
}

ClientState
client_tcp_state(ClientTcp *tcp)
{
	pthread_mutex_lock(&tcp->lock);
	ClientState s = client_conn_state(tcp->conn);
	pthread_mutex_unlock(&tcp->lock);
	return s;
}

ClientStats
client_tcp_stats(ClientTcp *tcp)
{
	pthread_mutex_lock(&tcp->lock);
	ClientStats s = client_conn_stats(tcp->conn);
	pthread_mutex_unlock(&tcp->lock);
	return s;
}

/* ---- core publish/subscribe ---- */

ClientStatus
client_tcp_publish(ClientTcp *tcp, const char *subject, const char *reply, const void *headers, size_t headers_len,
    const void *data, size_t data_len)
{
	if (tcp == NULL)
		return CLIENT_ERR_INVALID_ARG;
	lock_spin(tcp);
	/* Backpressure: wait for the I/O thread while the send buffer is
	 * over the high-water mark on a live connection. */
	if (!on_io_thread(tcp)) {
		while (client_conn_state(tcp->conn) == CLIENT_STATE_CONNECTED &&
		    client_conn_buffered_bytes(tcp->conn) > CLIENT_TCP_SEND_HIGH_WATER_BYTES)
			wait_until(tcp, client_tcp_now_ns() + 100 * CLIENT_NS_PER_MS);
	}
	/* Publishing arms no timer (conn.c): the I/O thread's latest clock
	 * reading serves, and spares a clock read per message (it was a
	 * seventh of a publish here). */
	ClientStatus st = client_publish(tcp->conn, subject, reply, headers, headers_len, data, data_len, tcp->clock_ns);
	publish_hint(tcp);
	pthread_mutex_unlock(&tcp->lock);
	return st;
}

/* A blocking call's record. Heap-allocated: if the waiting thread gives
 * up first it marks it abandoned and the completion frees it. */
typedef struct Waiter {
	ClientTcp *tcp;
	bool done;
	bool abandoned;
	ClientStatus status;
	ClientMsg *msg;
	json_t *response;
	ClientJsError err;
	bool has_err;
	ClientPubAck ack;
	GPtrArray *msgs;
	int code;
} Waiter;

static Waiter *
waiter_new(ClientTcp *tcp)
{
	Waiter *w = g_new0(Waiter, 1);
	w->tcp = tcp;
	return w;
}

static void
waiter_free(Waiter *w)
{
	client_msg_free(w->msg);
	json_decref(w->response);
	if (w->msgs != NULL)
		g_ptr_array_free(w->msgs, TRUE);
	g_free(w);
}

/* Marks done; returns false (and frees w) when nobody waits any more. */
static bool
waiter_complete(Waiter *w, ClientStatus status)
{
	w->done = true;
	w->status = status;
	if (w->abandoned) {
		waiter_free(w);
		return false;
	}
	pthread_cond_broadcast(&w->tcp->cond);
	return true;
}

/* Waits for w (lock held); on return the caller owns w unless it was
 * abandoned (then NULL is returned). */
static Waiter *
waiter_wait(Waiter *w, int64_t timeout_ns)
{
	ClientTcp *tcp = w->tcp;
	int64_t deadline = client_tcp_now_ns() + timeout_ns + WAIT_SLACK_NS;
	while (!w->done) {
		if (!wait_until(tcp, deadline)) {
			w->abandoned = true;
			return NULL;
		}
	}
	return w;
}

static void
flush_done(void *ctx, ClientConn *conn, ClientStatus status)
{
	(void)conn;
	waiter_complete(ctx, status);
}

ClientStatus
client_tcp_flush(ClientTcp *tcp, int64_t timeout_ns)
{
	if (tcp == NULL || timeout_ns <= 0)
		return CLIENT_ERR_INVALID_ARG;
	if (on_io_thread(tcp))
		return CLIENT_ERR_WOULD_DEADLOCK;
	pthread_mutex_lock(&tcp->lock);
	Waiter *w = waiter_new(tcp);
	ClientStatus st = client_flush(tcp->conn, timeout_ns, flush_done, w, client_tcp_now_ns());
	if (st != CLIENT_OK) {
		waiter_free(w);
	} else if ((w = waiter_wait(w, timeout_ns)) == NULL) {
		st = CLIENT_ERR_TIMEOUT;
	} else {
		st = w->status;
		waiter_free(w);
	}
	pthread_mutex_unlock(&tcp->lock);
	return st;
}

ClientStatus
client_tcp_subscribe(ClientTcp *tcp, const char *subject, const char *queue, ClientMsgFn cb, void *ctx,
    uint64_t *sid_out)
{
	if (tcp == NULL)
		return CLIENT_ERR_INVALID_ARG;
	pthread_mutex_lock(&tcp->lock);
	ClientStatus st = client_subscribe(tcp->conn, subject, queue, cb, ctx, sid_out, client_tcp_now_ns());
	pthread_mutex_unlock(&tcp->lock);
	return st;
}

ClientStatus
client_tcp_unsubscribe(ClientTcp *tcp, uint64_t sid, uint64_t max_msgs)
{
	if (tcp == NULL)
		return CLIENT_ERR_INVALID_ARG;
	pthread_mutex_lock(&tcp->lock);
	ClientStatus st = client_unsubscribe(tcp->conn, sid, max_msgs, client_tcp_now_ns());
	pthread_mutex_unlock(&tcp->lock);
	return st;
}

ClientStatus
client_tcp_sub_next_msg(ClientTcp *tcp, uint64_t sid, int64_t timeout_ns, ClientMsg **out)
{
	if (tcp == NULL || out == NULL || timeout_ns < 0)
		return CLIENT_ERR_INVALID_ARG;
	*out = NULL;
	if (on_io_thread(tcp))
		return CLIENT_ERR_WOULD_DEADLOCK;
	pthread_mutex_lock(&tcp->lock);
	int64_t deadline = client_tcp_now_ns() + timeout_ns;
	ClientStatus st;
	for (;;) {
		st = client_sub_next_msg(tcp->conn, sid, out);
		if (st != CLIENT_OK || *out != NULL)
			break;
		if (client_conn_state(tcp->conn) == CLIENT_STATE_CLOSED) {
			st = CLIENT_ERR_CLOSED;
			break;
		}
		if (!wait_until(tcp, deadline)) {
			st = CLIENT_ERR_TIMEOUT;
			break;
		}
	}
	pthread_mutex_unlock(&tcp->lock);
	return st;
}

static void
request_done(void *ctx, ClientConn *conn, ClientStatus status, const ClientMsg *msg)
{
	(void)conn;
	Waiter *w = ctx;
	if (!w->abandoned && msg != NULL)
		w->msg = client_msg_copy(msg);
	waiter_complete(w, status);
}

ClientStatus
client_tcp_request(ClientTcp *tcp, const char *subject, const void *headers, size_t headers_len, const void *data,
    size_t data_len, int64_t timeout_ns, ClientMsg **reply_out)
{
	if (tcp == NULL || reply_out == NULL)
		return CLIENT_ERR_INVALID_ARG;
	*reply_out = NULL;
	if (on_io_thread(tcp))
		return CLIENT_ERR_WOULD_DEADLOCK;
	pthread_mutex_lock(&tcp->lock);
	Waiter *w = waiter_new(tcp);
	uint64_t id;
	ClientStatus st = client_request(tcp->conn, subject, headers, headers_len, data, data_len, timeout_ns, request_done,
	    w, &id, client_tcp_now_ns());
	if (st != CLIENT_OK) {
		waiter_free(w);
	} else if ((w = waiter_wait(w, timeout_ns)) == NULL) {
		client_request_cancel(tcp->conn, id);
		st = CLIENT_ERR_TIMEOUT;
	} else {
		st = w->status;
		*reply_out = w->msg;
		w->msg = NULL;
		waiter_free(w);
	}
	pthread_mutex_unlock(&tcp->lock);
	return st;
}

/* ---- JetStream ---- */

static void
js_done(void *ctx, ClientConn *conn, ClientStatus status, const ClientJsError *err, json_t *response)
{
	(void)conn;
	Waiter *w = ctx;
	if (err != NULL) {
		w->err = *err;
		w->has_err = true;
	}
	if (response != NULL)
		w->response = json_incref(response);
	waiter_complete(w, status);
}

ClientStatus
client_tcp_js_run(ClientTcp *tcp, ClientTcpJsStartFn start, void *arg, int64_t timeout_ns, json_t **response,
    ClientJsError *err)
{
	if (response != NULL)
		*response = NULL;
	if (err != NULL)
		*err = (ClientJsError){ 0 };
	if (tcp == NULL || start == NULL || timeout_ns <= 0)
		return CLIENT_ERR_INVALID_ARG;
	if (on_io_thread(tcp))
		return CLIENT_ERR_WOULD_DEADLOCK;
	pthread_mutex_lock(&tcp->lock);
	Waiter *w = waiter_new(tcp);
	ClientStatus st = start(tcp->conn, arg, js_done, w, timeout_ns, client_tcp_now_ns());
	if (st != CLIENT_OK) {
		waiter_free(w);
	} else if ((w = waiter_wait(w, timeout_ns)) == NULL) {
		st = CLIENT_ERR_TIMEOUT;
	} else {
		st = w->status;
		if (err != NULL && w->has_err)
			*err = w->err;
		if (response != NULL) {
			*response = w->response;
			w->response = NULL;
		}
		waiter_free(w);
	}
	pthread_mutex_unlock(&tcp->lock);
	return st;
}

typedef struct ApiArg {
	const char *api;
	const json_t *body;
	const char *stream;
	const ClientStreamConfig *stream_config;
	const ClientConsumerConfig *consumer_config;
} ApiArg;

static ClientStatus
start_api(ClientConn *conn, void *arg, ClientJsFn cb, void *ctx, int64_t timeout_ns, int64_t now_ns)
{
	ApiArg *a = arg;
	return client_js_api(conn, a->api, a->body, timeout_ns, cb, ctx, now_ns);
}

static ClientStatus
start_stream_add(ClientConn *conn, void *arg, ClientJsFn cb, void *ctx, int64_t timeout_ns, int64_t now_ns)
{
	ApiArg *a = arg;
	return client_js_stream_add(conn, a->stream_config, timeout_ns, cb, ctx, now_ns);
}

static ClientStatus
start_consumer_add(ClientConn *conn, void *arg, ClientJsFn cb, void *ctx, int64_t timeout_ns, int64_t now_ns)
{
	ApiArg *a = arg;
	return client_js_consumer_add(conn, a->stream, a->consumer_config, timeout_ns, cb, ctx, now_ns);
}

ClientStatus
client_tcp_js_api(ClientTcp *tcp, const char *api, const json_t *body, int64_t timeout_ns, json_t **response,
    ClientJsError *err)
{
	ApiArg a = { .api = api, .body = body };
	return client_tcp_js_run(tcp, start_api, &a, timeout_ns, response, err);
}

ClientStatus
client_tcp_stream_add(ClientTcp *tcp, const ClientStreamConfig *config, int64_t timeout_ns, json_t **response,
    ClientJsError *err)
{
	ApiArg a = { .stream_config = config };
	return client_tcp_js_run(tcp, start_stream_add, &a, timeout_ns, response, err);
}

ClientStatus
client_tcp_consumer_add(ClientTcp *tcp, const char *stream, const ClientConsumerConfig *config, int64_t timeout_ns,
    json_t **response, ClientJsError *err)
{
	ApiArg a = { .stream = stream, .consumer_config = config };
	return client_tcp_js_run(tcp, start_consumer_add, &a, timeout_ns, response, err);
}

static void
puback_done(void *ctx, ClientConn *conn, ClientStatus status, const ClientPubAck *ack, const ClientJsError *err)
{
	(void)conn;
	Waiter *w = ctx;
	if (ack != NULL)
		w->ack = *ack;
	if (err != NULL) {
		w->err = *err;
		w->has_err = true;
	}
	waiter_complete(w, status);
}

ClientStatus
client_tcp_js_publish(ClientTcp *tcp, const char *subject, const void *data, size_t data_len,
    const ClientJsPubOptions *options, int64_t timeout_ns, ClientPubAck *ack, ClientJsError *err)
{
	if (ack != NULL)
		*ack = (ClientPubAck){ 0 };
	if (err != NULL)
		*err = (ClientJsError){ 0 };
	if (tcp == NULL || timeout_ns <= 0)
		return CLIENT_ERR_INVALID_ARG;
	if (on_io_thread(tcp))
		return CLIENT_ERR_WOULD_DEADLOCK;
	pthread_mutex_lock(&tcp->lock);
	Waiter *w = waiter_new(tcp);
	ClientStatus st = client_js_publish(tcp->conn, subject, data, data_len, options, timeout_ns, puback_done, w,
	    client_tcp_now_ns());
	if (st != CLIENT_OK) {
		waiter_free(w);
	} else if ((w = waiter_wait(w, timeout_ns)) == NULL) {
		st = CLIENT_ERR_TIMEOUT;
	} else {
		st = w->status;
		if (ack != NULL)
			*ack = w->ack;
		if (err != NULL && w->has_err)
			*err = w->err;
		waiter_free(w);
	}
	pthread_mutex_unlock(&tcp->lock);
	return st;
}

ClientStatus
client_tcp_js_publish_async(ClientTcp *tcp, const char *subject, const void *data, size_t data_len,
    const ClientJsPubOptions *options, int64_t timeout_ns, ClientPubAckFn cb, void *ctx)
{
	if (tcp == NULL || timeout_ns <= 0)
		return CLIENT_ERR_INVALID_ARG;
	pthread_mutex_lock(&tcp->lock);
	int64_t deadline = client_tcp_now_ns() + timeout_ns;
	ClientStatus st;
	for (;;) {
		st = client_js_publish(tcp->conn, subject, data, data_len, options, timeout_ns, cb, ctx, client_tcp_now_ns());
		if (st != CLIENT_ERR_LIMIT || on_io_thread(tcp))
			break;
		if (!wait_until(tcp, deadline)) {
			st = CLIENT_ERR_TIMEOUT;
			break;
		}
	}
	pthread_mutex_unlock(&tcp->lock);
	return st;
}

ClientStatus
client_tcp_js_publish_async_complete(ClientTcp *tcp, int64_t timeout_ns)
{
	if (tcp == NULL || timeout_ns <= 0)
		return CLIENT_ERR_INVALID_ARG;
	if (on_io_thread(tcp))
		return CLIENT_ERR_WOULD_DEADLOCK;
	pthread_mutex_lock(&tcp->lock);
	int64_t deadline = client_tcp_now_ns() + timeout_ns;
	ClientStatus st = CLIENT_OK;
	while (client_js_publish_pending(tcp->conn) > 0) {
		if (!wait_until(tcp, deadline)) {
			st = CLIENT_ERR_TIMEOUT;
			break;
		}
	}
	pthread_mutex_unlock(&tcp->lock);
	return st;
}

static void
fetch_msg(void *ctx, ClientConn *conn, const ClientMsg *msg)
{
	(void)conn;
	Waiter *w = ctx;
	if (!w->abandoned)
		g_ptr_array_add(w->msgs, client_msg_copy(msg));
}

static void
fetch_done(void *ctx, ClientConn *conn, ClientStatus status, uint32_t received, int code, const char *text)
{
	(void)conn;
	(void)received;
	(void)text;
	Waiter *w = ctx;
	w->code = code;
	waiter_complete(w, status);
}

ClientStatus
client_tcp_js_fetch(ClientTcp *tcp, const char *stream, const char *consumer, const ClientFetchOptions *options,
    GPtrArray **msgs, int *status_code)
{
	if (msgs != NULL)
		*msgs = NULL;
	if (tcp == NULL || msgs == NULL || options == NULL)
		return CLIENT_ERR_INVALID_ARG;
	if (on_io_thread(tcp))
		return CLIENT_ERR_WOULD_DEADLOCK;
	pthread_mutex_lock(&tcp->lock);
	Waiter *w = waiter_new(tcp);
	w->msgs = g_ptr_array_new_with_free_func((GDestroyNotify)client_msg_free);
	ClientStatus st =
	    client_js_fetch(tcp->conn, stream, consumer, options, fetch_msg, fetch_done, w, NULL, client_tcp_now_ns());
	int64_t limit = options->timeout_ns > 0 ? options->timeout_ns : options->expires_ns + 6 * CLIENT_NS_PER_S;
	if (st != CLIENT_OK) {
		waiter_free(w);
	} else if ((w = waiter_wait(w, limit)) == NULL) {
		st = CLIENT_ERR_TIMEOUT;
	} else {
		st = w->status;
		if (status_code != NULL)
			*status_code = w->code;
		*msgs = w->msgs;
		w->msgs = NULL;
		waiter_free(w);
	}
	pthread_mutex_unlock(&tcp->lock);
	return st;
}

ClientStatus
client_tcp_js_push_subscribe(ClientTcp *tcp, const char *deliver_subject, const char *queue,
    int64_t idle_heartbeat_ns, ClientMsgFn cb, void *ctx, uint64_t *sid_out)
{
	if (tcp == NULL)
		return CLIENT_ERR_INVALID_ARG;
	pthread_mutex_lock(&tcp->lock);
	ClientStatus st = client_js_push_subscribe(tcp->conn, deliver_subject, queue, idle_heartbeat_ns, cb, ctx, sid_out,
	    client_tcp_now_ns());
	pthread_mutex_unlock(&tcp->lock);
	return st;
}

ClientStatus
client_tcp_js_ack(ClientTcp *tcp, const ClientMsg *msg, ClientAckKind kind, int64_t delay_ns)
{
	if (tcp == NULL || msg == NULL)
		return CLIENT_ERR_INVALID_ARG;
	pthread_mutex_lock(&tcp->lock);
	ClientStatus st = client_js_ack(tcp->conn, msg->reply, kind, delay_ns, client_tcp_now_ns());
	pthread_mutex_unlock(&tcp->lock);
	return st;
}

ClientStatus
client_tcp_js_ack_sync(ClientTcp *tcp, const ClientMsg *msg, ClientAckKind kind, int64_t delay_ns,
    int64_t timeout_ns)
{
	if (tcp == NULL || msg == NULL || timeout_ns <= 0)
		return CLIENT_ERR_INVALID_ARG;
	if (on_io_thread(tcp))
		return CLIENT_ERR_WOULD_DEADLOCK;
	pthread_mutex_lock(&tcp->lock);
	Waiter *w = waiter_new(tcp);
	ClientStatus st =
	    client_js_ack_sync(tcp->conn, msg->reply, kind, delay_ns, timeout_ns, flush_done, w, client_tcp_now_ns());
	if (st != CLIENT_OK) {
		waiter_free(w);
	} else if ((w = waiter_wait(w, timeout_ns)) == NULL) {
		st = CLIENT_ERR_TIMEOUT;
	} else {
		st = w->status;
		waiter_free(w);
	}
	pthread_mutex_unlock(&tcp->lock);
	return st;
}
