/*
 * server_main.c - natsim-server: the broker core on real TCP, started the
 * way nats-server is started.
 *
 *   natsim-server [-c FILE] [-a HOST] [-p PORT] [-m PORT] [-D] [-V] ...
 *
 * A real-world driver file: it reads the configuration file and the
 * environment, writes the pid file, raises the descriptor limit, and runs
 * the event loop (server_loop.c) until SIGINT or SIGTERM.
 *
 * Exit status: 0 after a clean shutdown (or -h, -v, a valid -t); 1 when
 * the configuration is wrong or the server cannot start (a port in use,
 * an unusable store directory); 2 for a bad command line, with the usage.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "broker/server_config.h"
#include "broker/server_loop.h"
#include "broker/server_net.h"
#include "broker/server_options.h"

#define EXIT_USAGE 2

static bool
read_file(void *ctx, const char *path, char **text, size_t *len, GError **error)
{
	(void)ctx;
	gsize size = 0;
	if (!g_file_get_contents(path, text, &size, error))
		return false;
	*len = size;
	return true;
}

static const char *
get_env(void *ctx, const char *name)
{
	(void)ctx;
	return g_getenv(name);
}

static void
print_lines(const GPtrArray *lines, const char *prefix)
{
	for (guint i = 0; i < lines->len; i++)
		fprintf(stderr, "%s%s\n", prefix, (const char *)lines->pdata[i]);
}

/* Go raises the soft descriptor limit to the hard one at start; so does
 * nats-server, so 65536 clients need no ulimit tuning. */
static void
raise_descriptor_limit(ServerLog *log)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			server_log_printf(log, BROKER_LOG_DEBUG, "cannot raise the descriptor limit: %s", g_strerror(errno));
	}
}

static bool
write_pid_file(const char *path, GError **error)
{
	/* Just the number, no new line, as nats-server's logPid writes it. */
	g_autofree char *text = g_strdup_printf("%d", (int)getpid());
	return g_file_set_contents_full(path, text, -1, G_FILE_SET_CONTENTS_NONE, 0640, error);
}

static const char *
nonempty(const char *s)
{
	return s != NULL && *s != '\0' ? s : NULL;
}

/* Starts, serves until a signal, shuts down. Returns the exit status. */
static int
serve(const ServerOptions *options, const ServerSettings *settings, const BrokerConfig *broker_config)
{
	g_autoptr(GError) error = NULL;
	ServerLog *log = server_log_create(nonempty(settings->log_file), &error);
	if (log == NULL) {
		fprintf(stderr, "natsim-server: %s\n", error->message);
		return 1;
	}
	server_log_set_levels(log, settings->debug, settings->trace);
	server_log_set_time(log, settings->logtime, settings->logtime_utc);
	raise_descriptor_limit(log);

	/* JetStream's disk: the store directory (nats-server's default is
	 * <temp dir>/nats); streams live under <store_dir>/jetstream/. */
	BrokerConfig config = *broker_config;
	BrokerStorage *storage = NULL;
	g_autofree char *default_store = NULL;
	if (config.jetstream) {
		if (config.js_store_dir == NULL)
			config.js_store_dir = default_store = g_build_filename(g_get_tmp_dir(), "nats", NULL);
		storage = broker_storage_posix_create(config.js_store_dir, &error);
		if (storage == NULL) {
			server_log_fatal(log, "Can't start JetStream: %s", error->message);
			server_log_destroy(log);
			return 1;
		}
		config.storage = storage;
	}

	const char *host = config.host;
	ServerLoopConfig loop_config = {
		.broker = config,
		.host = host,
		.port = settings->port < 0 ? 0 : settings->port == 0 ? 4222 : (uint16_t)settings->port,
		.http = settings->http_port != 0,
		.http_host = nonempty(settings->http_host),
		.http_port = settings->http_port < 0 ? 0 : (uint16_t)settings->http_port,
		.log = log,
	};
	if (config.jetstream) {
		server_log_printf(log, BROKER_LOG_INFO, "Starting JetStream");
		server_log_printf(log, BROKER_LOG_INFO, "  Store Directory: \"%s\"", config.js_store_dir);
		if (config.js_sync_always)
			server_log_printf(log, BROKER_LOG_INFO, "  Sync:            always (every write before its ack)");
		else
			server_log_printf(log, BROKER_LOG_INFO, "  Sync interval:   %" G_GINT64_FORMAT " ms",
			    (config.js_sync_interval_ns > 0 ? config.js_sync_interval_ns : INT64_C(120000000000)) / 1000000);
	}
	ServerLoop *loop = server_loop_create(&loop_config, &error);
	if (loop == NULL) {
		server_log_fatal(log, "%s", error->message);
		broker_storage_posix_destroy(storage);
		server_log_destroy(log);
		return 1;
	}
	Broker *broker = server_loop_broker(loop);
	server_log_printf(log, BROKER_LOG_INFO, "Starting nats-server");
	server_log_printf(log, BROKER_LOG_INFO, "  Version:  %s (natsim-server)", NATSIM_VERSION);
	server_log_printf(log, BROKER_LOG_INFO, "  Name:     %s",
	    broker_config->server_name != NULL ? broker_config->server_name : broker_server_id(broker));
	server_log_printf(log, BROKER_LOG_INFO, "  ID:       %s", broker_server_id(broker));
	if (options->config_file != NULL)
		server_log_printf(log, BROKER_LOG_INFO, "Using configuration file: %s", options->config_file);
	int64_t payload = broker_config->payload_max_bytes;
	if (payload > SERVER_PAYLOAD_WARN_BYTES)
		server_log_printf(log, BROKER_LOG_WARN,
		    "Maximum payloads over 8.00 MB are generally discouraged and could lead to poor performance");
	const char *pid_file = nonempty(settings->pid_file);
	if (pid_file != NULL && !write_pid_file(pid_file, &error)) {
		server_log_fatal(log, "Could not write pidfile: %s", error->message);
		server_loop_destroy(loop);
		broker_storage_posix_destroy(storage);
		server_log_destroy(log);
		return 1;
	}
	if (server_loop_http_port(loop) != 0) {
		const char *http_host = loop_config.http_host != NULL ? loop_config.http_host : host;
		g_autofree char *where = server_net_join_host_port(http_host, server_loop_http_port(loop));
		server_log_printf(log, BROKER_LOG_INFO, "Starting http monitor on %s", where);
	}
	g_autofree char *where = server_net_join_host_port(host, server_loop_port(loop));
	server_log_printf(log, BROKER_LOG_INFO, "Listening for client connections on %s", where);
	server_log_printf(log, BROKER_LOG_INFO, "Server is ready");

	server_loop_run(loop);

	server_log_printf(log, BROKER_LOG_INFO, "Initiating Shutdown...");
	server_loop_destroy(loop);
	broker_storage_posix_destroy(storage);
	server_log_printf(log, BROKER_LOG_INFO, "Server Exiting..");
	server_log_destroy(log);
	return 0;
}

/* Configuration file, then the flags over it (as nats-server does), then
 * the checks that need both. */
static int
configure_and_serve(const ServerOptions *options)
{
	ServerSettings settings;
	server_settings_init(&settings);
	GPtrArray *errors = g_ptr_array_new_with_free_func(g_free);
	GPtrArray *warnings = g_ptr_array_new_with_free_func(g_free);
	int status = 1;
	if (options->config_file != NULL) {
		ServerConfigIo io = { .read = read_file, .getenv = get_env };
		bool ok = server_config_load(options->config_file, &io, &settings, errors, warnings);
		print_lines(warnings, "");
		if (!ok) {
			print_lines(errors, "");
			goto done;
		}
	} else if (options->check_config) {
		fprintf(stderr, "natsim-server: must specify [-c, --config] option to check configuration file syntax\n");
		goto done;
	}
	server_settings_merge(&settings, &options->settings);
	BrokerConfig broker_config;
	if (!server_settings_to_broker_config(&settings, &broker_config, errors)) {
		print_lines(errors, "natsim-server: ");
		goto done;
	}
	if (options->check_config) {
		fprintf(stderr, "natsim-server: configuration file %s is valid\n", options->config_file);
		status = 0;
		goto done;
	}
	status = serve(options, &settings, &broker_config);
done:
	g_ptr_array_unref(errors);
	g_ptr_array_unref(warnings);
	server_settings_clear(&settings);
	return status;
}

int
main(int argc, char **argv)
{
	/* A peer gone mid-write is an EPIPE to handle, not a death. */
	signal(SIGPIPE, SIG_IGN);
	ServerOptions options;
	g_autoptr(GError) error = NULL;
	int status;
	if (!server_options_parse(&options, argc, argv, &error)) {
		fprintf(stderr, "natsim-server: %s\n%s", error->message, server_options_usage());
		status = EXIT_USAGE;
	} else if (options.action == SERVER_OPTIONS_HELP) {
		fputs(server_options_usage(), stdout);
		status = 0;
	} else if (options.action == SERVER_OPTIONS_VERSION) {
		printf("natsim-server: v%s\n", NATSIM_VERSION);
		status = 0;
	} else {
		status = configure_and_serve(&options);
	}
	server_options_clear(&options);
	return status;
}
