/*
 * server_http.c - the monitoring port on libmicrohttpd, external epoll
 * mode (see server_http.h for how it joins the server's loop).
 *
 * A real-world driver file: libmicrohttpd owns the sockets. Called from
 * the loop thread only; libmicrohttpd starts no thread in this mode.
 *
 * What is served mirrors nats-server's monitor handlers
 * (server/monitor.go handleResponse): the handler's status and body, its
 * Content-Type, and "Access-Control-Allow-Origin: *" on JSON. Methods other
 * than GET and HEAD get 405; more than SERVER_HTTP_ARGS_MAX query arguments
 * get 400.
 */
#include "broker/server_http.h"

#include <microhttpd.h>
#include <string.h>
#include <unistd.h>

#include "proto/assert.h"

struct ServerHttp {
	struct MHD_Daemon *daemon;
	ServerHttpHandler handler;
	void *handler_ctx;
	ServerLog *log;
	int epoll_fd;
};

typedef struct ArgCollect {
	BrokerMonitorArg args[SERVER_HTTP_ARGS_MAX];
	size_t count;
	bool overflow;
} ArgCollect;

static enum MHD_Result
collect_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	ArgCollect *c = cls;
	(void)kind;
	if (c->count == SERVER_HTTP_ARGS_MAX) {
		c->overflow = true;
		return MHD_NO;
	}
	/* "?subs" without '=' has a NULL value: an empty one for the broker. */
	c->args[c->count].key = key;
	c->args[c->count].value = value != NULL ? value : "";
	c->count++;
	return MHD_YES;
}

static enum MHD_Result
respond(struct MHD_Connection *connection, unsigned status, char *body, const char *content_type)
{
	struct MHD_Response *response =
	    MHD_create_response_from_buffer_with_free_callback(strlen(body), body, g_free);
	if (response == NULL) {
		g_free(body);
		return MHD_NO;
	}
	MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	if (g_str_has_prefix(content_type, "application/json"))
		MHD_add_response_header(response, MHD_HTTP_HEADER_ACCESS_CONTROL_ALLOW_ORIGIN, "*");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	enum MHD_Result result = MHD_queue_response(connection, status, response);
	MHD_destroy_response(response);
	return result;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *connection, const char *url, const char *method,
    const char *version, const char *upload_data, size_t *upload_data_size, void **request_ctx)
{
	ServerHttp *http = cls;
	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)request_ctx;
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return respond(connection, MHD_HTTP_METHOD_NOT_ALLOWED, g_strdup("method not allowed\n"), "text/plain");
	ArgCollect collect = { .count = 0 };
	MHD_get_connection_values(connection, MHD_GET_ARGUMENT_KIND, collect_arg, &collect);
	if (collect.overflow)
		return respond(connection, MHD_HTTP_BAD_REQUEST,
		    g_strdup_printf("too many query arguments (at most %d)\n", SERVER_HTTP_ARGS_MAX), "text/plain");
	int status = 0;
	const char *content_type = NULL;
	char *body = http->handler(http->handler_ctx, url, collect.args, collect.count, &status, &content_type);
	ASSERT(body != NULL && content_type != NULL && status >= 100 && status <= 599);
	return respond(connection, (unsigned)status, body, content_type);
}

static void
on_mhd_log(void *cls, const char *format, va_list ap)
{
	ServerHttp *http = cls;
	g_autofree char *message = g_strdup_vprintf(format, ap);
	g_strchomp(message);
	server_log_printf(http->log, BROKER_LOG_DEBUG, "monitoring: %s", message);
}

ServerHttp *
server_http_start(int listen_fd, ServerHttpHandler handler, void *handler_ctx, ServerLog *log, GError **error)
{
	ASSERT(listen_fd >= 0 && handler != NULL && log != NULL);
	ServerHttp *http = g_new0(ServerHttp, 1);
	http->handler = handler;
	http->handler_ctx = handler_ctx;
	http->log = log;
	http->epoll_fd = -1;
	/* Port 0 with MHD_OPTION_LISTEN_SOCKET: the socket is ours, bound
	 * already. No MHD_USE_INTERNAL_POLLING_THREAD: MHD_run drives it. */
	http->daemon = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, http,
	    MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, http, /* first, so that it takes every message */
	    MHD_OPTION_LISTEN_SOCKET, (MHD_socket)listen_fd,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)SERVER_HTTP_CONNECTIONS_MAX,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)SERVER_HTTP_IDLE_TIMEOUT_S,
	    MHD_OPTION_END);
	if (http->daemon == NULL) {
		close(listen_fd);
		g_free(http);
		g_set_error_literal(error, g_quark_from_static_string("natsim-server-http"), 1,
		    "libmicrohttpd did not start (external epoll mode)");
		return NULL;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(http->daemon, MHD_DAEMON_INFO_EPOLL_FD);
	ASSERT(info != NULL && info->epoll_fd >= 0);
	http->epoll_fd = info->epoll_fd;
	return http;
}

void
server_http_stop(ServerHttp *http)
{
	if (http == NULL)
		return;
	/* Closes the listening socket, the connections and MHD's epoll fd. */
	MHD_stop_daemon(http->daemon);
	g_free(http);
}

int
server_http_epoll_fd(const ServerHttp *http)
{
	return http->epoll_fd;
}

void
server_http_run(ServerHttp *http)
{
	MHD_run(http->daemon);
}

int64_t
server_http_timeout_ms(ServerHttp *http)
{
	MHD_UNSIGNED_LONG_LONG ms;
	if (MHD_get_timeout(http->daemon, &ms) != MHD_YES)
		return -1;
	return ms > (MHD_UNSIGNED_LONG_LONG)INT64_MAX ? INT64_MAX : (int64_t)ms;
}
