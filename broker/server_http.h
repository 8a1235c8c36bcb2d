/*
 * server_http.h - natsim-server's HTTP monitoring port (-m), served by
 * libmicrohttpd inside the server's one epoll loop.
 *
 * Called by server_loop.c. A real-world driver file (sockets). HTTP is
 * parsed by libmicrohttpd, never by hand; this module only hands each GET
 * (and HEAD) to a handler with its decoded path and query arguments, and
 * serves what the handler returns.
 *
 * Integration: libmicrohttpd runs in its external-epoll mode (MHD_USE_EPOLL
 * without an internal thread). Its own epoll descriptor
 * (MHD_DAEMON_INFO_EPOLL_FD) goes into the caller's epoll set; when it is
 * readable, or when server_http_timeout_ms says so, the caller calls
 * server_http_run (MHD_run), which never blocks.
 */
#ifndef NATSIM_BROKER_SERVER_HTTP_H
#define NATSIM_BROKER_SERVER_HTTP_H

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/broker.h"
#include "broker/server_log.h"

enum {
	SERVER_HTTP_ARGS_MAX = 32,          /* query arguments per request */
	SERVER_HTTP_CONNECTIONS_MAX = 256,  /* open monitoring connections */
	SERVER_HTTP_IDLE_TIMEOUT_S = 10,    /* an idle monitoring connection closes */
};

/* Answers one request: returns the body (g_free'd by the module) and sets
 * *http_status and *content_type (a static string). */
typedef char *(*ServerHttpHandler)(void *ctx, const char *path, const BrokerMonitorArg *args, size_t arg_count,
    int *http_status, const char **content_type);

typedef struct ServerHttp ServerHttp;

/* Serves on listen_fd (a listening socket; taken, closed by stop). NULL
 * with *error when libmicrohttpd will not start. */
ServerHttp *server_http_start(int listen_fd, ServerHttpHandler handler, void *handler_ctx, ServerLog *log,
    GError **error);
void server_http_stop(ServerHttp *http); /* NULL-safe */

/* The descriptor to watch for reading in the caller's epoll set. */
int server_http_epoll_fd(const ServerHttp *http);
/* Does all the work that is ready; never blocks. */
void server_http_run(ServerHttp *http);
/* Milliseconds until server_http_run must be called even if nothing is
 * readable; -1 when only readiness matters. */
int64_t server_http_timeout_ms(ServerHttp *http);

#endif
