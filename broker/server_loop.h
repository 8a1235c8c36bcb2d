/*
 * server_loop.h - natsim-server's event loop: the broker core driven over
 * real TCP with epoll, the real clock and the HTTP monitoring port.
 *
 * Called by server_main.c (and the loop's tests). A real-world driver
 * file: sockets, epoll, signals, the clock, getrandom().
 *
 * One thread, one epoll set holding the client listener, every client
 * socket, a signalfd (SIGINT, SIGTERM, SIGHUP, SIGUSR1) and libmicrohttpd's
 * epoll descriptor. Each turn: wait (until the earliest of the broker's
 * deadline, libmicrohttpd's timeout, an accept back-off and the write
 * deadline of closing connections), read every ready socket into one
 * reused buffer and hand the bytes to broker_conn_recv, run due timers and
 * HTTP, then flush every connection the broker woke: one send() per
 * contiguous run of output, EPOLLOUT interest only while output waits.
 *
 * The clock: CLOCK_MONOTONIC anchored to CLOCK_REALTIME at creation, so
 * now_ns is Unix nanoseconds that never decrease.
 */
#ifndef NATSIM_BROKER_SERVER_LOOP_H
#define NATSIM_BROKER_SERVER_LOOP_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "broker/broker.h"
#include "broker/server_log.h"

enum {
	SERVER_LOOP_READ_BYTES = 64 * 1024,     /* the reused read buffer */
	SERVER_LOOP_COALESCE_ROUNDS = 4,        /* extra zero-wait batches before a flush */
	SERVER_LOOP_EVENTS_MAX = 256,           /* epoll events per turn */
	SERVER_LOOP_READS_PER_WAKE = 4,         /* reads of one socket per turn */
	SERVER_LOOP_ACCEPTS_PER_WAKE = 64,      /* accepts per turn */
};

typedef struct ServerLoopConfig {
	/* The broker's configuration; host, port and http_port are replaced
	 * with what was bound. Its strings are copied by broker_create. */
	BrokerConfig broker;
	const char *host;      /* client listen host; NULL: 0.0.0.0 */
	uint16_t port;         /* 0: a random port */
	bool http;             /* serve monitoring */
	const char *http_host; /* NULL: host */
	uint16_t http_port;    /* 0: a random port */
	ServerLog *log;        /* borrowed; outlives the loop */
} ServerLoopConfig;

typedef struct ServerLoop ServerLoop;

/* Binds the listeners, starts monitoring, seeds and creates the broker,
 * and takes SIGINT/SIGTERM/SIGHUP/SIGUSR1 (blocked, read from a signalfd;
 * the old mask comes back at destroy). NULL with *error (bind failures
 * read as nats-server's). */
ServerLoop *server_loop_create(const ServerLoopConfig *config, GError **error);
/* Shuts down promptly: closes the listener first (the port is free at
 * once), tells the broker (broker_shutdown), sends what can be sent without
 * waiting, closes every connection, stops monitoring, frees all. NULL-safe. */
void server_loop_destroy(ServerLoop *loop);

/* Turns until SIGINT or SIGTERM; returns that signal's number. */
int server_loop_run(ServerLoop *loop);
/* One turn, waiting at most max_wait_ms (-1: as long as the timers allow).
 * Returns the number of a terminating signal once one came, else 0. */
int server_loop_run_once(ServerLoop *loop, int max_wait_ms);

uint16_t server_loop_port(const ServerLoop *loop);
uint16_t server_loop_http_port(const ServerLoop *loop); /* 0: no monitoring */
Broker *server_loop_broker(ServerLoop *loop);
/* The loop's clock (Unix ns, never decreasing). */
int64_t server_loop_now_ns(ServerLoop *loop);
/* Open client connections. */
size_t server_loop_conn_count(const ServerLoop *loop);

#endif
