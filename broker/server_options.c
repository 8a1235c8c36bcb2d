/*
 * server_options.c - natsim-server's command line: Go flag package rules
 * over nats-server's flag names (see server_options.h).
 *
 * Called by server_main.c. Pure: no output, no exit; a bad flag comes back
 * as a GError whose text is Go's ("flag provided but not defined: -x").
 *
 * Invariants: every flag of the table sets its ServerSettings bit when
 * given; a later flag overrides an earlier one; nats-server flags that
 * natsim-server does not implement are refused by name, never ignored.
 */
#include "broker/server_options.h"

#include <string.h>

#include "proto/assert.h"

typedef enum FlagKind {
	FLAG_BOOL,
	FLAG_INT,
	FLAG_STRING,
} FlagKind;

typedef enum FlagId {
	FLAG_HOST,
	FLAG_PORT,
	FLAG_SERVER_NAME,
	FLAG_HTTP_PORT,
	FLAG_USER,
	FLAG_PASS,
	FLAG_AUTH,
	FLAG_DEBUG,
	FLAG_TRACE,
	FLAG_DEBUG_TRACE,  /* -DV */
	FLAG_VERBOSE_TRACE, /* -VV: trace (natsim has no system account to trace) */
	FLAG_DEBUG_VERBOSE_TRACE, /* -DVV */
	FLAG_LOGTIME,
	FLAG_LOGTIME_UTC,
	FLAG_LOG_FILE,
	FLAG_PID_FILE,
	FLAG_CONFIG,
	FLAG_CHECK_CONFIG,
	FLAG_HELP,
	FLAG_VERSION,
	FLAG_JETSTREAM,
	FLAG_STORE_DIR,
} FlagId;

/* Names as nats-server's ConfigureOptions declares them. */
static const struct {
	const char *name;
	FlagKind kind;
	FlagId id;
} flags[] = {
	{ "a", FLAG_STRING, FLAG_HOST }, { "addr", FLAG_STRING, FLAG_HOST }, { "net", FLAG_STRING, FLAG_HOST },
	{ "p", FLAG_INT, FLAG_PORT }, { "port", FLAG_INT, FLAG_PORT },
	{ "n", FLAG_STRING, FLAG_SERVER_NAME }, { "name", FLAG_STRING, FLAG_SERVER_NAME },
	{ "server_name", FLAG_STRING, FLAG_SERVER_NAME },
	{ "m", FLAG_INT, FLAG_HTTP_PORT }, { "http_port", FLAG_INT, FLAG_HTTP_PORT },
	{ "user", FLAG_STRING, FLAG_USER }, { "pass", FLAG_STRING, FLAG_PASS }, { "auth", FLAG_STRING, FLAG_AUTH },
	{ "D", FLAG_BOOL, FLAG_DEBUG }, { "debug", FLAG_BOOL, FLAG_DEBUG },
	{ "V", FLAG_BOOL, FLAG_TRACE }, { "trace", FLAG_BOOL, FLAG_TRACE },
	{ "DV", FLAG_BOOL, FLAG_DEBUG_TRACE }, { "VV", FLAG_BOOL, FLAG_VERBOSE_TRACE },
	{ "DVV", FLAG_BOOL, FLAG_DEBUG_VERBOSE_TRACE },
	{ "T", FLAG_BOOL, FLAG_LOGTIME }, { "logtime", FLAG_BOOL, FLAG_LOGTIME },
	{ "logtime_utc", FLAG_BOOL, FLAG_LOGTIME_UTC },
	{ "l", FLAG_STRING, FLAG_LOG_FILE }, { "log", FLAG_STRING, FLAG_LOG_FILE },
	{ "P", FLAG_STRING, FLAG_PID_FILE }, { "pid", FLAG_STRING, FLAG_PID_FILE },
	{ "c", FLAG_STRING, FLAG_CONFIG }, { "config", FLAG_STRING, FLAG_CONFIG },
	{ "t", FLAG_BOOL, FLAG_CHECK_CONFIG },
	{ "h", FLAG_BOOL, FLAG_HELP }, { "help", FLAG_BOOL, FLAG_HELP },
	{ "v", FLAG_BOOL, FLAG_VERSION }, { "version", FLAG_BOOL, FLAG_VERSION },
	{ "js", FLAG_BOOL, FLAG_JETSTREAM }, { "jetstream", FLAG_BOOL, FLAG_JETSTREAM },
	{ "sd", FLAG_STRING, FLAG_STORE_DIR }, { "store_dir", FLAG_STRING, FLAG_STORE_DIR },
};

/* nats-server flags natsim-server does not implement (TLS, clustering,
 * syslog, profiling, signals to a running server...). */
static const char *const unsupported_flags[] = {
	"ms", "https_port", "sl", "signal", "client_advertise", "ports_file_dir", "s", "syslog", "r",
	"remote_syslog", "log_size_limit", "max_traced_msg_len", "profile", "routes", "cluster", "cluster_listen",
	"cluster_advertise", "no_advertise", "connect_retries", "cluster_name", "help_tls", "tls", "tlsverify",
	"tlscert", "tlskey", "tlscacert", NULL,
};

static const char usage_text[] =
    "\n"
    "Usage: natsim-server [options]\n"
    "\n"
    "Server Options:\n"
    "    -a, --addr, --net <host>         Bind to host address (default: 0.0.0.0)\n"
    "    -p, --port <port>                Use port for clients (default: 4222; -1: random)\n"
    "    -n, --name\n"
    "        --server_name <server_name>  Server name (default: auto)\n"
    "    -P, --pid <file>                 File to store PID\n"
    "    -m, --http_port <port>           Use port for http monitoring (-1: random)\n"
    "    -c, --config <file>              Configuration file\n"
    "    -t                               Test configuration and exit\n"
    "\n"
    "Logging Options:\n"
    "    -l, --log <file>                 File to redirect log output\n"
    "    -T, --logtime                    Timestamp log entries (default: true)\n"
    "        --logtime_utc                Timestamps in UTC instead of local time\n"
    "    -D, --debug                      Enable debugging output\n"
    "    -V, --trace                      Trace the raw protocol\n"
    "    -VV                              Verbose trace (the same as -V here)\n"
    "    -DV                              Debug and trace\n"
    "    -DVV                             Debug and verbose trace\n"
    "\n"
    "JetStream Options:\n"
    "    -js, --jetstream                 Enable JetStream functionality\n"
    "    -sd, --store_dir <dir>           Set the storage directory\n"
    "\n"
    "Authorization Options:\n"
    "        --user <user>                User required for connections\n"
    "        --pass <password>            Password required for connections\n"
    "        --auth <token>               Authorization token required for connections\n"
    "\n"
    "Common Options:\n"
    "    -h, --help                       Show this message\n"
    "    -v, --version                    Show version\n"
    "\n"
    "Flags may start with - or --; values follow as '-p 4222' or '-p=4222'.\n";

const char *
server_options_usage(void)
{
	return usage_text;
}

static GQuark
options_error_quark(void)
{
	return g_quark_from_static_string("natsim-server-options");
}

static bool G_GNUC_PRINTF(2, 3)
options_fail(GError **error, const char *format, ...)
{
	va_list ap;
	va_start(ap, format);
	g_autofree char *message = g_strdup_vprintf(format, ap);
	va_end(ap);
	g_set_error_literal(error, options_error_quark(), 1, message);
	return false;
}

/* strconv.ParseBool. */
static bool
parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "1", "t", "T", "TRUE", "true", "True" };
	static const char *const no[] = { "0", "f", "F", "FALSE", "false", "False" };
	for (size_t i = 0; i < G_N_ELEMENTS(yes); i++) {
		if (strcmp(s, yes[i]) == 0) {
			*out = true;
			return true;
		}
		if (strcmp(s, no[i]) == 0) {
			*out = false;
			return true;
		}
	}
	return false;
}

/* strconv.ParseInt(s, 0, 64): a sign, then 0x/0o/0b/0 prefixes, '_'
 * between digits. Returns NULL, or Go's reason. */
static const char *
parse_int(const char *s, int64_t *out)
{
	bool negative = false;
	if (*s == '+' || *s == '-')
		negative = *s++ == '-';
	int base = 10;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	} else if (s[0] == '0' && (s[1] == 'b' || s[1] == 'B')) {
		base = 2;
		s += 2;
	} else if (s[0] == '0' && (s[1] == 'o' || s[1] == 'O')) {
		base = 8;
		s += 2;
	} else if (s[0] == '0' && s[1] != '\0') {
		base = 8;
		s += 1;
	}
	if (*s == '\0' || *s == '_')
		return "parse error";
	uint64_t value = 0;
	bool overflow = false;
	for (const char *c = s; *c != '\0'; c++) {
		if (*c == '_') {
			if (c[1] == '\0' || c[1] == '_')
				return "parse error";
			continue;
		}
		int digit = g_ascii_xdigit_value(*c);
		if (digit < 0 || digit >= base)
			return "parse error";
		if (value > (UINT64_MAX - (uint64_t)digit) / (uint64_t)base)
			overflow = true;
		else
			value = value * (uint64_t)base + (uint64_t)digit;
	}
	if (overflow || value > (uint64_t)INT64_MAX + (negative ? 1u : 0u))
		return "value out of range";
	*out = negative ? (int64_t)(0 - value) : (int64_t)value;
	return NULL;
}

static void
set_string(char **field, const char *value)
{
	g_free(*field);
	*field = g_strdup(value);
}

/* One flag with its value (text NULL for a bare boolean). */
static bool
apply_flag(ServerOptions *o, size_t index, const char *typed, const char *text, GError **error)
{
	ServerSettings *s = &o->settings;
	const char *name = flags[index].name;
	bool b = true;
	int64_t n = 0;
	switch (flags[index].kind) {
	case FLAG_BOOL:
		if (text != NULL && !parse_bool(text, &b))
			return options_fail(error, "invalid boolean value \"%s\" for -%s: parse error", text, name);
		break;
	case FLAG_INT: {
		const char *why = parse_int(text, &n);
		if (why != NULL)
			return options_fail(error, "invalid value \"%s\" for flag -%s: %s", text, name, why);
		break;
	}
	case FLAG_STRING:
		break;
	}
	switch (flags[index].id) {
	case FLAG_HOST:
		set_string(&s->host, text);
		s->set |= SERVER_SET_HOST;
		break;
	case FLAG_PORT:
	case FLAG_HTTP_PORT:
		if (n < -1 || n > 65535)
			return options_fail(error, "invalid value \"%s\" for flag -%s: a port is -1 (random) or 0..65535",
			    text, name);
		if (flags[index].id == FLAG_PORT) {
			s->port = (int32_t)n;
			s->set |= SERVER_SET_PORT;
		} else {
			s->http_port = (int32_t)n;
			s->set |= SERVER_SET_HTTP_PORT;
		}
		break;
	case FLAG_SERVER_NAME:
		set_string(&s->server_name, text);
		s->set |= SERVER_SET_SERVER_NAME;
		break;
	case FLAG_USER:
		set_string(&s->user, text);
		s->set |= SERVER_SET_USER;
		break;
	case FLAG_PASS:
		set_string(&s->password, text);
		s->set |= SERVER_SET_PASSWORD;
		break;
	case FLAG_AUTH:
		set_string(&s->token, text);
		s->set |= SERVER_SET_TOKEN;
		break;
	case FLAG_DEBUG:
		s->debug = b;
		s->set |= SERVER_SET_DEBUG;
		break;
	case FLAG_TRACE:
	case FLAG_VERBOSE_TRACE:
		s->trace = b;
		s->set |= SERVER_SET_TRACE;
		break;
	case FLAG_DEBUG_TRACE:
	case FLAG_DEBUG_VERBOSE_TRACE:
		s->debug = s->trace = b;
		s->set |= SERVER_SET_DEBUG | SERVER_SET_TRACE;
		break;
	case FLAG_LOGTIME:
		s->logtime = b;
		s->set |= SERVER_SET_LOGTIME;
		break;
	case FLAG_LOGTIME_UTC:
		s->logtime_utc = b;
		s->set |= SERVER_SET_LOGTIME_UTC;
		break;
	case FLAG_LOG_FILE:
		set_string(&s->log_file, text);
		s->set |= SERVER_SET_LOG_FILE;
		break;
	case FLAG_PID_FILE:
		set_string(&s->pid_file, text);
		s->set |= SERVER_SET_PID_FILE;
		break;
	case FLAG_CONFIG:
		set_string(&o->config_file, text);
		break;
	case FLAG_CHECK_CONFIG:
		o->check_config = b;
		break;
	case FLAG_HELP:
		if (b)
			o->action = SERVER_OPTIONS_HELP;
		break;
	case FLAG_VERSION:
		if (b && o->action != SERVER_OPTIONS_HELP)
			o->action = SERVER_OPTIONS_VERSION;
		break;
	case FLAG_JETSTREAM:
		s->jetstream = b;
		set_string(&s->jetstream_where, typed);
		s->set |= SERVER_SET_JETSTREAM;
		break;
	case FLAG_STORE_DIR:
		set_string(&s->store_dir, text);
		s->set |= SERVER_SET_STORE_DIR;
		break;
	}
	return true;
}

/* Go's FlagSet.parseOne. Returns 1 when a flag was taken, 0 at the end of
 * the flags, -1 on an error. */
static int
parse_one(ServerOptions *o, int argc, char *const *argv, int *at, GError **error)
{
	const char *arg = argv[*at];
	if (strlen(arg) < 2 || arg[0] != '-')
		return 0;
	int dashes = 1;
	if (arg[1] == '-') {
		dashes = 2;
		if (arg[2] == '\0') { /* "--" ends the flags */
			(*at)++;
			return 0;
		}
	}
	const char *name = arg + dashes;
	if (name[0] == '-' || name[0] == '=') {
		options_fail(error, "bad flag syntax: %s", arg);
		return -1;
	}
	(*at)++;
	const char *eq = strchr(name, '=');
	g_autofree char *flag = eq != NULL ? g_strndup(name, (gsize)(eq - name)) : g_strdup(name);
	const char *value = eq != NULL ? eq + 1 : NULL;
	g_autofree char *typed = g_strndup(arg, (gsize)(dashes + strlen(flag)));
	size_t index = G_N_ELEMENTS(flags);
	for (size_t i = 0; i < G_N_ELEMENTS(flags); i++) {
		if (strcmp(flags[i].name, flag) == 0)
			index = i;
	}
	if (index == G_N_ELEMENTS(flags)) {
		for (const char *const *u = unsupported_flags; *u != NULL; u++) {
			if (strcmp(*u, flag) == 0) {
				options_fail(error, "flag -%s is a nats-server option natsim-server does not support", flag);
				return -1;
			}
		}
		options_fail(error, "flag provided but not defined: -%s", flag);
		return -1;
	}
	if (flags[index].kind != FLAG_BOOL && value == NULL) {
		/* The value is the next argument, whatever it looks like (-p -1). */
		if (*at >= argc) {
			options_fail(error, "flag needs an argument: -%s", flag);
			return -1;
		}
		value = argv[(*at)++];
	}
	return apply_flag(o, index, typed, value, error) ? 1 : -1;
}

bool
server_options_parse(ServerOptions *o, int argc, char *const *argv, GError **error)
{
	ASSERT(o != NULL && argc >= 0 && (argc == 0 || argv != NULL));
	memset(o, 0, sizeof(*o));
	server_settings_init(&o->settings);
	int at = 1;
	int status;
	while (at < argc && (status = parse_one(o, argc, argv, &at, error)) != 0) {
		if (status < 0)
			return false;
	}
	/* After the flags, nats-server takes only "version" and "help"
	 * (ProcessCommandLineArgs). */
	for (; at < argc; at++) {
		if (strcmp(argv[at], "version") == 0) {
			if (o->action != SERVER_OPTIONS_HELP)
				o->action = SERVER_OPTIONS_VERSION;
		} else if (strcmp(argv[at], "help") == 0) {
			o->action = SERVER_OPTIONS_HELP;
		} else {
			return options_fail(error, "unrecognized command: \"%s\"", argv[at]);
		}
	}
	return true;
}

void
server_options_clear(ServerOptions *o)
{
	if (o == NULL)
		return;
	g_free(o->config_file);
	server_settings_clear(&o->settings);
	memset(o, 0, sizeof(*o));
}
