/*
 * server_config.h - what natsim-server is told (ServerSettings), and the
 * parser of nats-server's configuration file format that fills it in.
 *
 * Called by server_main.c (and server_options.c, which fills the same
 * ServerSettings from the command line). The parser is pure: it parses
 * text, and reaches files (include) and the environment ($VAR) only
 * through the ServerConfigIo the caller hands it; server_main.c hands it
 * the real ones.
 *
 * The format is nats-server's (conf/lex.go, conf/parse.go), option names
 * and meanings as server/opts.go processConfigFileLine has them:
 *   key: value, key = value, key value; # and // comments; { } blocks;
 *   [ ] arrays; "double" (escapes \t \n \r \" \\ \xHH), 'single' (raw) and
 *   unquoted strings; integers with size suffixes (k = 1000, kb/ki/kib =
 *   1024, m, mb, g, gb, t, tb, p, pb, e, eb); floats; booleans
 *   true/false/yes/no/on/off; include FILE (relative to the including
 *   file); $NAME variables (an earlier key of an enclosing block, else the
 *   environment).
 * Quirks kept, because users predict nats-server with natsim: an unquoted
 * 2m is the integer 2000000 (m = million), which a duration option takes
 * as seconds with a warning; quote durations ("2m").
 *
 * Invariants: every error and warning reads "FILE:LINE: what is wrong";
 * a syntax error stops the parse, option errors are all collected, in
 * file order; ServerSettings.set has the bit of every field given.
 */
#ifndef NATSIM_BROKER_SERVER_CONFIG_H
#define NATSIM_BROKER_SERVER_CONFIG_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "broker/broker.h"

enum {
	SERVER_CONFIG_BYTES_MAX = 1024 * 1024,  /* one configuration file */
	SERVER_CONFIG_INCLUDE_DEPTH_MAX = 10,   /* include inside include ... */
	SERVER_CONFIG_NESTING_MAX = 32,         /* { } and [ ] inside each other */
	SERVER_PAYLOAD_MAX_BYTES = 64 * 1024 * 1024, /* the broker core's ceiling */
	SERVER_PAYLOAD_WARN_BYTES = 8 * 1024 * 1024, /* nats-server warns above */
};

/* Bits of ServerSettings.set: which fields were given. */
typedef enum ServerSettingBit {
	SERVER_SET_HOST = 1u << 0,
	SERVER_SET_PORT = 1u << 1,
	SERVER_SET_HTTP_HOST = 1u << 2,
	SERVER_SET_HTTP_PORT = 1u << 3,
	SERVER_SET_SERVER_NAME = 1u << 4,
	SERVER_SET_USER = 1u << 5,
	SERVER_SET_PASSWORD = 1u << 6,
	SERVER_SET_TOKEN = 1u << 7,
	SERVER_SET_AUTH_TIMEOUT = 1u << 8,
	SERVER_SET_PAYLOAD_MAX = 1u << 9,
	SERVER_SET_CONNECTIONS_MAX = 1u << 10,
	SERVER_SET_SUBSCRIPTIONS_MAX = 1u << 11,
	SERVER_SET_PENDING_MAX = 1u << 12,
	SERVER_SET_CONTROL_LINE_MAX = 1u << 13,
	SERVER_SET_PING_INTERVAL = 1u << 14,
	SERVER_SET_PINGS_OUT_MAX = 1u << 15,
	SERVER_SET_WRITE_DEADLINE = 1u << 16,
	SERVER_SET_DEBUG = 1u << 17,
	SERVER_SET_TRACE = 1u << 18,
	SERVER_SET_LOGTIME = 1u << 19,
	SERVER_SET_LOGTIME_UTC = 1u << 20,
	SERVER_SET_LOG_FILE = 1u << 21,
	SERVER_SET_PID_FILE = 1u << 22,
	SERVER_SET_JETSTREAM = 1u << 23,
	SERVER_SET_STORE_DIR = 1u << 24,
	SERVER_SET_JS_LIMITS = 1u << 25,
} ServerSettingBit;

/* Everything natsim-server can be told, by its configuration file or its
 * command line. Strings are owned (g_free). Values are as given; ranges
 * were checked where they were read; server_settings_to_broker_config
 * applies the defaults. */
typedef struct ServerSettings {
	uint32_t set;              /* ServerSettingBit of the fields given */
	char *host;                /* client listen host; NULL: 0.0.0.0 */
	int32_t port;              /* -1: a random port; 0: 4222 */
	char *http_host;           /* monitoring host; NULL: host */
	int32_t http_port;         /* 0: no monitoring; -1: a random port */
	char *server_name;
	char *user;
	char *password;
	char *token;
	int64_t auth_timeout_ns;   /* 0: default */
	int64_t payload_max_bytes; /* 0: default */
	uint32_t connections_max;  /* 0: default */
	uint32_t subscriptions_max; /* 0: unlimited */
	int64_t pending_max_bytes; /* 0: default */
	uint32_t control_line_max_bytes; /* 0: default */
	int64_t ping_interval_ns;  /* 0: default */
	uint32_t pings_out_max;    /* 0: default */
	int64_t write_deadline_ns; /* 0: default */
	bool debug;
	bool trace;
	bool logtime;              /* time stamps on log lines (default true) */
	bool logtime_utc;
	char *log_file;            /* NULL: stderr */
	char *pid_file;
	bool jetstream;
	char *jetstream_where;     /* "FILE:LINE" or the flag that enabled it */
	char *store_dir;
	/* jetstream { sync_interval, max_memory_store, max_file_store } */
	bool js_sync_always;
	int64_t js_sync_interval_ns;  /* 0: default (2 minutes) */
	int64_t js_max_memory_bytes;  /* 0: default */
	int64_t js_max_storage_bytes; /* 0: default */
} ServerSettings;

/* Defaults: everything zero/NULL except logtime. */
void server_settings_init(ServerSettings *settings);
/* Frees the strings; settings can be init'ed again. NULL-safe. */
void server_settings_clear(ServerSettings *settings);
/* Copies into dst every field src has set (command line over config). */
void server_settings_merge(ServerSettings *dst, const ServerSettings *src);

/* Fills a BrokerConfig from the settings; its strings point into settings
 * (keep settings alive while the config is used). Checks what needs all
 * sources together (max_payload against max_pending and the core's
 * ceiling, user/password with a token) and appends a message (g_free'd
 * strings) to errors for each problem; false when there was one. */
bool server_settings_to_broker_config(const ServerSettings *settings, BrokerConfig *config,
    GPtrArray *errors);

/* How the parser reaches files and the environment. */
typedef struct ServerConfigIo {
	/* Reads a whole file; false with *error set when it cannot. */
	bool (*read)(void *ctx, const char *path, char **text, size_t *len, GError **error);
	/* An environment variable's value, or NULL when unset. */
	const char *(*getenv)(void *ctx, const char *name);
	void *ctx;
} ServerConfigIo;

/* Parses configuration text (file_name is for messages, and the base of
 * relative includes) into settings. Errors and warnings are appended to
 * the arrays as g_free'd strings "FILE:LINE: message". Returns false when
 * there was an error; settings may then be partly filled. */
bool server_config_parse(const char *file_name, const char *text, size_t len, const ServerConfigIo *io,
    ServerSettings *settings, GPtrArray *errors, GPtrArray *warnings);

/* Reads path through io, then parses it as server_config_parse does. */
bool server_config_load(const char *path, const ServerConfigIo *io, ServerSettings *settings,
    GPtrArray *errors, GPtrArray *warnings);

#endif
