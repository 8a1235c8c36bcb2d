/*
 * test_server_config.c - natsim-server's configuration file parser
 * (broker/server_config.c): every value form, sizes, durations, blocks,
 * includes and variables, the limits at limit-1/limit/limit+1, and the
 * exact "FILE:LINE: message" of errors. Files and the environment are
 * in-memory tables handed to the parser through ServerConfigIo.
 */
#include <glib.h>
#include <string.h>

#include "broker/server_config.h"

typedef struct Fixture {
	GHashTable *files; /* path -> text */
	GHashTable *env;   /* name -> value */
	ServerConfigIo io;
	ServerSettings s;
	GPtrArray *errors;
	GPtrArray *warnings;
} Fixture;

static bool
fake_read(void *ctx, const char *path, char **text, size_t *len, GError **error)
{
	Fixture *f = ctx;
	const char *found = g_hash_table_lookup(f->files, path);
	if (found == NULL) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NOENT, "No such file or directory");
		return false;
	}
	*text = g_strdup(found);
	*len = strlen(found);
	return true;
}

static const char *
fake_getenv(void *ctx, const char *name)
{
	Fixture *f = ctx;
	return g_hash_table_lookup(f->env, name);
}

static void
fixture_set_up(Fixture *f, gconstpointer data)
{
	(void)data;
	f->files = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	f->env = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	f->io = (ServerConfigIo){ .read = fake_read, .getenv = fake_getenv, .ctx = f };
	server_settings_init(&f->s);
	f->errors = g_ptr_array_new_with_free_func(g_free);
	f->warnings = g_ptr_array_new_with_free_func(g_free);
}

static void
fixture_tear_down(Fixture *f, gconstpointer data)
{
	(void)data;
	g_hash_table_unref(f->files);
	g_hash_table_unref(f->env);
	server_settings_clear(&f->s);
	g_ptr_array_unref(f->errors);
	g_ptr_array_unref(f->warnings);
}

/* Parses text as "test.conf" into fresh settings. */
static bool
parse(Fixture *f, const char *text)
{
	server_settings_clear(&f->s);
	server_settings_init(&f->s);
	g_ptr_array_set_size(f->errors, 0);
	g_ptr_array_set_size(f->warnings, 0);
	return server_config_parse("test.conf", text, strlen(text), &f->io, &f->s, f->errors, f->warnings);
}

static void
add_file(Fixture *f, const char *path, const char *text)
{
	g_hash_table_replace(f->files, g_strdup(path), g_strdup(text));
}

/* The only error is exactly want. */
static void
assert_error(Fixture *f, const char *text, const char *want)
{
	if (parse(f, text))
		g_error("parsed without error: %s", text);
	g_assert_cmpuint(f->errors->len, ==, 1);
	g_assert_cmpstr(f->errors->pdata[0], ==, want);
}

/* Parses with no error and no warning. */
static void
assert_ok(Fixture *f, const char *text)
{
	bool ok = parse(f, text);
	for (guint i = 0; i < f->errors->len; i++)
		g_printerr("unexpected: %s\n", (char *)f->errors->pdata[i]);
	for (guint i = 0; i < f->warnings->len; i++)
		g_printerr("unexpected warning: %s\n", (char *)f->warnings->pdata[i]);
	g_assert_true(ok);
	g_assert_cmpuint(f->warnings->len, ==, 0);
}

/* key: value, key = value, key value, and ; or , after a value. */
static void
test_separators(Fixture *f, gconstpointer data)
{
	(void)data;
	const char *forms[] = { "port: 4333", "port = 4333", "port 4333", "port:4333;", "port\t=\t4333 ,",
		"port:\t4333\r\n", "\"port\": 4333", "'port' 4333", "PORT: 4333", "port\n4333" };
	for (size_t i = 0; i < G_N_ELEMENTS(forms); i++) {
		assert_ok(f, forms[i]);
		g_assert_cmpint(f->s.port, ==, 4333);
		g_assert_true(f->s.set & SERVER_SET_PORT);
	}
	assert_ok(f, "port: 1; debug: true, trace: true\nhost: h");
	g_assert_cmpint(f->s.port, ==, 1);
	g_assert_true(f->s.debug && f->s.trace);
	g_assert_cmpstr(f->s.host, ==, "h");
}

/* # and // comments, anywhere a line may end. */
static void
test_comments(Fixture *f, gconstpointer data)
{
	(void)data;
	assert_ok(f, "# first\n// second\nport: 1 # after a value\nhost: a // after a string\n"
	             "authorization { # in a block\n  user: u // here too\n  password: p\n}\n# last");
	g_assert_cmpint(f->s.port, ==, 1);
	g_assert_cmpstr(f->s.host, ==, "a");
	g_assert_cmpstr(f->s.user, ==, "u");
	g_assert_cmpstr(f->s.password, ==, "p");
	/* A '#' inside an unquoted string is part of it, as in nats-server. */
	assert_ok(f, "server_name: a#b");
	g_assert_cmpstr(f->s.server_name, ==, "a#b");
}

/* Double-quoted (escapes), single-quoted (raw) and unquoted strings. */
static void
test_strings(Fixture *f, gconstpointer data)
{
	(void)data;
	assert_ok(f, "server_name: \"a\\tb\\x41\\\"\\\\\"");
	g_assert_cmpstr(f->s.server_name, ==, "a\tbA\"\\");
	assert_ok(f, "server_name: 'a\\tb'");
	g_assert_cmpstr(f->s.server_name, ==, "a\\tb");
	assert_ok(f, "server_name: natsim-1.example_x");
	g_assert_cmpstr(f->s.server_name, ==, "natsim-1.example_x");
	assert_ok(f, "authorization { password: \"two\nlines\" }");
	g_assert_cmpstr(f->s.password, ==, "two\nlines");
	assert_ok(f, "server_name: 'true'");
	g_assert_cmpstr(f->s.server_name, ==, "true");
	/* A string may start with digits (1abc), an IP address is a string. */
	assert_ok(f, "host: 127.0.0.1");
	g_assert_cmpstr(f->s.host, ==, "127.0.0.1");
	assert_ok(f, "server_name: 1abc");
	g_assert_cmpstr(f->s.server_name, ==, "1abc");
	assert_ok(f, "pid_file: (\nraw text\n)\n");
	g_assert_cmpstr(f->s.pid_file, ==, "\nraw text\n");
	assert_error(f, "server_name: \"a\\qb\"",
	    "test.conf:1: invalid escape 'q' after '\\'; only \\xHH, \\t, \\n, \\r, \\\" and \\\\ are allowed");
	assert_error(f, "server_name: \"a\\xZZ\"", "test.conf:1: expected two hexadecimal digits after '\\x'");
	assert_error(f, "server_name: \"abc\n\n", "test.conf:3: the string opened on line 1 is not closed");
	assert_error(f, "server_name: 'abc", "test.conf:1: the string opened on line 1 is not closed");
}

/* Size suffixes as nats-server reads them: k = 1000, kb = ki = kib = 1024. */
static void
test_sizes(Fixture *f, gconstpointer data)
{
	(void)data;
	static const struct {
		const char *text;
		int64_t want;
	} cases[] = {
		{ "max_pending: 1k", 1000 }, { "max_pending: 1K", 1000 }, { "max_pending: 1KB", 1024 },
		{ "max_pending: 1kb", 1024 }, { "max_pending: 1Ki", 1024 }, { "max_pending: 1KiB", 1024 },
		{ "max_pending: 2m", 2000000 }, { "max_pending: 2MB", 2097152 }, { "max_pending: 2mib", 2097152 },
		{ "max_pending: 3g", 3000000000 }, { "max_pending: 3GB", INT64_C(3221225472) },
		{ "max_pending: 1t", INT64_C(1000000000000) }, { "max_pending: 1TB", INT64_C(1099511627776) },
		{ "max_pending: 1p", INT64_C(1000000000000000) }, { "max_pending: 1PB", INT64_C(1125899906842624) },
		{ "max_pending: 1e", INT64_C(1000000000000000000) }, { "max_pending: 1EB", INT64_C(1152921504606846976) },
		{ "max_pending: 0", 0 }, { "max_pending: 123456", 123456 },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		assert_ok(f, cases[i].text);
		g_assert_cmpint(f->s.pending_max_bytes, ==, cases[i].want);
	}
	assert_ok(f, "max_payload: 1MB");
	g_assert_cmpint(f->s.payload_max_bytes, ==, 1048576);
	assert_ok(f, "max_payload: 8MB");
	g_assert_cmpint(f->s.payload_max_bytes, ==, 8388608);
	assert_error(f, "max_pending: 1kbb",
	    "test.conf:1: '1kbb': unknown size suffix 'kbb' (use k, kb, ki, kib, m, mb, g, gb, t, tb, p, pb, e or eb)");
	assert_error(f, "max_pending: 8EB", "test.conf:1: integer '8EB' is out of range");
	assert_error(f, "max_pending: 99999999999999999999", "test.conf:1: integer '99999999999999999999' is out of range");
	/* 1kx is not a size: an unquoted string, which max_pending refuses. */
	assert_error(f, "max_pending: 1kx", "test.conf:1: max_pending: expected an integer, got a string (\"1kx\")");
}

/* Durations: Go duration strings, or integers taken as seconds (warned). */
static void
test_durations(Fixture *f, gconstpointer data)
{
	(void)data;
	static const struct {
		const char *text;
		int64_t want_ns;
	} cases[] = {
		{ "ping_interval: \"2m\"", INT64_C(120000000000) }, { "ping_interval: '1s'", INT64_C(1000000000) },
		{ "ping_interval: 1s", INT64_C(1000000000) }, { "ping_interval: 100ms", INT64_C(100000000) },
		{ "ping_interval: \"1h30m\"", INT64_C(5400000000000) }, { "ping_interval: \"1.5s\"", INT64_C(1500000000) },
		{ "ping_interval: \"250us\"", 250000 }, { "ping_interval: \"7ns\"", 7 }, { "ping_interval: \"0\"", 0 },
		{ "write_deadline: \"10s\"", INT64_C(10000000000) },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		assert_ok(f, cases[i].text);
		int64_t got = g_str_has_prefix(cases[i].text, "ping") ? f->s.ping_interval_ns : f->s.write_deadline_ns;
		g_assert_cmpint(got, ==, cases[i].want_ns);
	}
	/* A bare integer is seconds, with a warning. */
	g_assert_true(parse(f, "ping_interval: 30"));
	g_assert_cmpint(f->s.ping_interval_ns, ==, INT64_C(30000000000));
	g_assert_cmpuint(f->warnings->len, ==, 1);
	g_assert_cmpstr(f->warnings->pdata[0], ==,
	    "test.conf:1: warning: ping_interval: a number is taken as seconds; write a duration such as \"30s\"");
	/* nats-server's trap: unquoted 2m is the integer 2000000 (m = million). */
	g_assert_true(parse(f, "ping_interval: 2m"));
	g_assert_cmpint(f->s.ping_interval_ns, ==, INT64_C(2000000) * 1000000000);
	g_assert_cmpuint(f->warnings->len, ==, 1);
	g_assert_cmpstr(f->warnings->pdata[0], ==,
	    "test.conf:1: warning: ping_interval: the unquoted 2m is the number 2000000, taken as seconds; "
	    "quote a duration: \"2m\"");
	assert_error(f, "ping_interval: \"2x\"",
	    "test.conf:1: ping_interval: unknown unit in duration (ns, us, ms, s, m or h) \"2x\"");
	assert_error(f, "ping_interval: \"5\"",
	    "test.conf:1: ping_interval: missing unit in duration (ns, us, ms, s, m or h) \"5\"");
	assert_error(f, "ping_interval: abc", "test.conf:1: ping_interval: invalid duration \"abc\"");
	assert_error(f, "write_deadline: \"-1s\"", "test.conf:1: write_deadline: a duration must not be negative");
	assert_error(f, "ping_interval: true",
	    "test.conf:1: ping_interval: expected a duration (\"2m\", \"500ms\"), got a boolean (true)");
	/* 1.5s unquoted is the float 1.5 followed by 's', as in nats-server. */
	assert_error(f, "ping_interval: 1.5s",
	    "test.conf:1: expected a new line, ';', ',' or a comment after the value of 'ping_interval', found 's'");
}

static void
test_booleans(Fixture *f, gconstpointer data)
{
	(void)data;
	const char *yes[] = { "true", "TRUE", "yes", "Yes", "on", "ON" };
	const char *no[] = { "false", "False", "no", "NO", "off", "Off" };
	for (size_t i = 0; i < G_N_ELEMENTS(yes); i++) {
		g_autofree char *t = g_strdup_printf("debug: %s", yes[i]);
		assert_ok(f, t);
		g_assert_true(f->s.debug);
		g_autofree char *u = g_strdup_printf("debug: %s", no[i]);
		assert_ok(f, u);
		g_assert_false(f->s.debug);
		g_assert_true(f->s.set & SERVER_SET_DEBUG);
	}
	assert_error(f, "debug: \"true\"",
	    "test.conf:1: debug: expected a boolean (true, false, yes, no, on, off), got a string (\"true\")");
	assert_error(f, "trace: 1", "test.conf:1: trace: expected a boolean (true, false, yes, no, on, off), got an integer (1)");
}

/* listen and http take a port or host:port, as nats-server's parseListen. */
static void
test_listen(Fixture *f, gconstpointer data)
{
	(void)data;
	assert_ok(f, "listen: 127.0.0.1:4333");
	g_assert_cmpstr(f->s.host, ==, "127.0.0.1");
	g_assert_cmpint(f->s.port, ==, 4333);
	assert_ok(f, "listen: 4444");
	g_assert_null(f->s.host);
	g_assert_cmpint(f->s.port, ==, 4444);
	assert_ok(f, "listen: localhost:4555");
	g_assert_cmpstr(f->s.host, ==, "localhost");
	assert_ok(f, "listen: \"[::1]:4666\"");
	g_assert_cmpstr(f->s.host, ==, "::1");
	g_assert_cmpint(f->s.port, ==, 4666);
	assert_ok(f, "listen: \":4777\"");
	g_assert_null(f->s.host);
	g_assert_cmpint(f->s.port, ==, 4777);
	assert_ok(f, "net: 10.0.0.1\nport: -1");
	g_assert_cmpstr(f->s.host, ==, "10.0.0.1");
	g_assert_cmpint(f->s.port, ==, -1);
	assert_ok(f, "http: 8222");
	g_assert_cmpint(f->s.http_port, ==, 8222);
	assert_ok(f, "http: \"127.0.0.1:8333\"");
	g_assert_cmpstr(f->s.http_host, ==, "127.0.0.1");
	g_assert_cmpint(f->s.http_port, ==, 8333);
	assert_ok(f, "http_port: 8444");
	g_assert_cmpint(f->s.http_port, ==, 8444);
	assert_ok(f, "monitor_port: -1");
	g_assert_cmpint(f->s.http_port, ==, -1);
	assert_error(f, "listen: nohost",
	    "test.conf:1: listen: could not parse address string \"nohost\": missing port in address");
	assert_error(f, "listen: \"a:b:1\"",
	    "test.conf:1: listen: could not parse address string \"a:b:1\": too many colons in address");
	assert_error(f, "listen: \"h:x\"", "test.conf:1: listen: could not parse address string \"h:x\": could not parse port");
	assert_error(f, "listen: \"h:70000\"",
	    "test.conf:1: listen: could not parse address string \"h:70000\": port out of range");
	assert_error(f, "http: true", "test.conf:1: http: expected a port or host:port, got a boolean (true)");
}

/* Ports: -1 (random) to 65535, tested at the edges. */
static void
test_port_limits(Fixture *f, gconstpointer data)
{
	(void)data;
	assert_ok(f, "port: 65534");
	assert_ok(f, "port: 65535");
	g_assert_cmpint(f->s.port, ==, 65535);
	assert_error(f, "port: 65536", "test.conf:1: port: 65536 is out of range (-1..65535)");
	assert_ok(f, "port: -1");
	assert_error(f, "port: -2", "test.conf:1: port: -2 is out of range (-1..65535)");
	assert_error(f, "http_port: 65536", "test.conf:1: http_port: 65536 is out of range (-1..65535)");
	assert_error(f, "port: \"abc\"", "test.conf:1: port: expected an integer, got a string (\"abc\")");
}

/* max_payload: the broker core takes at most 64 MiB. */
static void
test_payload_limit(Fixture *f, gconstpointer data)
{
	(void)data;
	assert_ok(f, "max_payload: 67108863");
	g_assert_cmpint(f->s.payload_max_bytes, ==, 67108863);
	assert_ok(f, "max_payload: 67108864");
	assert_ok(f, "max_payload: 64MB");
	g_assert_cmpint(f->s.payload_max_bytes, ==, 67108864);
	assert_error(f, "max_payload: 67108865",
	    "test.conf:1: max_payload: 67108865 (67108865) is over natsim-server's ceiling of 64 MiB (67108864)");
	assert_error(f, "max_payload: 65MB",
	    "test.conf:1: max_payload: 65MB (68157440) is over natsim-server's ceiling of 64 MiB (67108864)");
	assert_error(f, "max_payload: -1", "test.conf:1: max_payload: -1 is out of range (0..67108864)");
}

/* The other limits and their edges. */
static void
test_other_limits(Fixture *f, gconstpointer data)
{
	(void)data;
	assert_ok(f, "max_control_line: 2147483646");
	assert_ok(f, "max_control_line: 2147483647");
	g_assert_cmpuint(f->s.control_line_max_bytes, ==, 2147483647u);
	assert_error(f, "max_control_line: 2147483648",
	    "test.conf:1: max_control_line: 2147483648 is out of range (0..2147483647)");
	assert_ok(f, "max_connections: 1");
	g_assert_cmpuint(f->s.connections_max, ==, 1);
	assert_ok(f, "max_conn: 4294967295");
	g_assert_cmpuint(f->s.connections_max, ==, 4294967295u);
	assert_error(f, "max_connections: 4294967296",
	    "test.conf:1: max_connections: 4294967296 is out of range (1..4294967295)");
	assert_error(f, "max_connections: 0",
	    "test.conf:1: max_connections: 0 would refuse every client (as nats-server does); natsim-server needs a "
	    "positive number");
	assert_ok(f, "max_subscriptions: 10");
	g_assert_cmpuint(f->s.subscriptions_max, ==, 10);
	assert_ok(f, "max_subs: -1"); /* unlimited, as in nats-server */
	g_assert_cmpuint(f->s.subscriptions_max, ==, 0);
	assert_ok(f, "ping_max: 5");
	g_assert_cmpuint(f->s.pings_out_max, ==, 5);
	assert_error(f, "ping_max: -1", "test.conf:1: ping_max: -1 is out of range (0..4294967295)");
}

/* The nested authorization block. */
static void
test_authorization(Fixture *f, gconstpointer data)
{
	(void)data;
	assert_ok(f, "authorization {\n  user: alice\n  password: \"s3cret\"\n  timeout: 1.5\n}");
	g_assert_cmpstr(f->s.user, ==, "alice");
	g_assert_cmpstr(f->s.password, ==, "s3cret");
	g_assert_null(f->s.token);
	g_assert_cmpint(f->s.auth_timeout_ns, ==, INT64_C(1500000000));
	assert_ok(f, "authorization: { username = bob, pass = pw, timeout = 3 }");
	g_assert_cmpstr(f->s.user, ==, "bob");
	g_assert_cmpstr(f->s.password, ==, "pw");
	g_assert_cmpint(f->s.auth_timeout_ns, ==, INT64_C(3000000000));
	assert_ok(f, "authorization {\n token: \"t0k\"; timeout: \"500ms\"\n}");
	g_assert_cmpstr(f->s.token, ==, "t0k");
	g_assert_cmpint(f->s.auth_timeout_ns, ==, INT64_C(500000000));
	assert_error(f, "authorization {\n user: a\n password: b\n token: c\n}",
	    "test.conf:4: Cannot have a user/pass and token");
	assert_error(f, "authorization {\n user: a\n colour: red\n}", "test.conf:3: unknown field \"colour\"");
	assert_error(f, "authorization {\n users: [ {user: a, password: b} ]\n}",
	    "test.conf:2: authorization users: not supported by natsim-server (one user/password or one token)");
	assert_error(f, "authorization: secret",
	    "test.conf:1: authorization: expected a block { user, password, token, timeout }, got a string (\"secret\")");
	g_assert_true(parse(f, "authorization { timeout: 90 }"));
	g_assert_cmpuint(f->warnings->len, ==, 1);
	g_assert_true(g_str_has_prefix(f->warnings->pdata[0], "test.conf:1: warning: authorization timeout of 90"));
}

/* include FILE: relative to the including file; keys land where the
 * include is; errors name the included file and its line. */
static void
test_include(Fixture *f, gconstpointer data)
{
	(void)data;
	add_file(f, "conf/auth.conf", "user: inc_user\npassword: inc_pw\n");
	add_file(f, "conf/limits.conf", "max_payload: 2MB\ninclude more/ping.conf\n");
	add_file(f, "conf/more/ping.conf", "ping_interval: \"5s\"\n");
	add_file(f, "conf/bad.conf", "\n\nport: \"x\"\n");
	add_file(f, "conf/broken.conf", "port: 1 2\n");
	const char *main_text = "port: 1\nauthorization {\n  include auth.conf\n}\ninclude 'limits.conf'\n";
	g_assert_true(server_config_parse("conf/main.conf", main_text, strlen(main_text), &f->io, &f->s, f->errors,
	    f->warnings));
	g_assert_cmpstr(f->s.user, ==, "inc_user");
	g_assert_cmpstr(f->s.password, ==, "inc_pw");
	g_assert_cmpint(f->s.payload_max_bytes, ==, 2097152);
	g_assert_cmpint(f->s.ping_interval_ns, ==, INT64_C(5000000000));

	const char *bad = "include \"bad.conf\"\n";
	g_assert_false(server_config_parse("conf/main.conf", bad, strlen(bad), &f->io, &f->s, f->errors, f->warnings));
	g_assert_cmpstr(f->errors->pdata[f->errors->len - 1], ==,
	    "conf/bad.conf:3: port: expected an integer, got a string (\"x\")");
	const char *broken = "# main\ninclude broken.conf\n";
	g_assert_false(
	    server_config_parse("conf/main.conf", broken, strlen(broken), &f->io, &f->s, f->errors, f->warnings));
	g_assert_cmpstr(f->errors->pdata[f->errors->len - 1], ==,
	    "conf/broken.conf:1: expected a new line, ';', ',' or a comment after the value of 'port', found '2'");
	assert_error(f, "\ninclude missing.conf", "test.conf:2: cannot include 'missing.conf': No such file or directory");
	assert_error(f, "include 42", "test.conf:1: expected a file name after include, found '4'");
	/* "include: x" is a key named include, not the directive. */
	assert_error(f, "include: x", "test.conf:1: unknown field \"include\"");
}

/* Includes nest SERVER_CONFIG_INCLUDE_DEPTH_MAX deep, no deeper: a chain
 * of n includes, at limit-1, limit, limit+1; and a file including itself. */
static void
test_include_depth(Fixture *f, gconstpointer data)
{
	(void)data;
	int max = SERVER_CONFIG_INCLUDE_DEPTH_MAX;
	for (int n = max - 1; n <= max + 1; n++) {
		g_hash_table_remove_all(f->files);
		for (int i = 1; i <= n; i++) {
			g_autofree char *name = g_strdup_printf("f%d.conf", i);
			g_autofree char *text = i < n ? g_strdup_printf("include f%d.conf\n", i + 1) : g_strdup("port: 7\n");
			add_file(f, name, text);
		}
		bool ok = parse(f, "include f1.conf\n");
		if (n <= max) {
			g_assert_true(ok);
			g_assert_cmpint(f->s.port, ==, 7);
		} else {
			g_assert_false(ok);
			g_autofree char *want = g_strdup_printf(
			    "f%d.conf:1: includes nest deeper than %d (does a file include itself?)", max, max);
			g_assert_cmpstr(f->errors->pdata[0], ==, want);
		}
	}
	add_file(f, "self.conf", "include self.conf\n");
	g_assert_false(parse(f, "include self.conf"));
	g_assert_true(g_str_has_prefix(f->errors->pdata[0], "self.conf:1: includes nest deeper than"));
}

/* Blocks and arrays nest SERVER_CONFIG_NESTING_MAX deep, no deeper. */
static void
test_nesting_limit(Fixture *f, gconstpointer data)
{
	(void)data;
	int max = SERVER_CONFIG_NESTING_MAX;
	for (int depth = max - 1; depth <= max + 1; depth++) {
		/* jetstream { enabled: false, x { x { ... } } }: depth '{' in all */
		g_autoptr(GString) text = g_string_new("jetstream { enabled: false\n");
		for (int i = 1; i < depth; i++)
			g_string_append(text, "x {");
		for (int i = 1; i < depth; i++)
			g_string_append(text, "}");
		g_string_append(text, "\n}\n");
		bool ok = parse(f, text->str);
		if (depth <= max) {
			g_assert_true(ok);
		} else {
			g_assert_false(ok);
			g_autofree char *want = g_strdup_printf("test.conf:2: blocks and arrays nest deeper than %d", max);
			g_assert_cmpstr(f->errors->pdata[0], ==, want);
		}
	}
}

/* A file of SERVER_CONFIG_BYTES_MAX bytes parses; one byte more does not. */
static void
test_size_limit(Fixture *f, gconstpointer data)
{
	(void)data;
	for (int delta = -1; delta <= 1; delta++) {
		size_t len = (size_t)(SERVER_CONFIG_BYTES_MAX + delta);
		char *text = g_malloc(len + 1);
		memset(text, '#', len);
		memcpy(text, "port: 1\n", 8);
		text[len] = '\0';
		server_settings_clear(&f->s);
		server_settings_init(&f->s);
		g_ptr_array_set_size(f->errors, 0);
		bool ok = server_config_parse("big.conf", text, len, &f->io, &f->s, f->errors, f->warnings);
		g_assert_cmpint(ok, ==, delta <= 0);
		if (!ok)
			g_assert_cmpstr(f->errors->pdata[0], ==, "big.conf:1: the configuration is larger than 1048576 bytes");
		g_free(text);
	}
	const char nul[] = "port: 1\nhost: a\0b\n";
	g_assert_false(server_config_parse("nul.conf", nul, sizeof(nul) - 1, &f->io, &f->s, f->errors, f->warnings));
	g_assert_cmpstr(f->errors->pdata[f->errors->len - 1], ==, "nul.conf:2: the configuration holds a NUL byte");
}

/* $NAME: an earlier key of an enclosing block, else the environment. A key
 * used only as a variable is not an unknown field. */
static void
test_variables(Fixture *f, gconstpointer data)
{
	(void)data;
	assert_ok(f, "TOKEN: abc\nauthorization {\n  token: $TOKEN\n}");
	g_assert_cmpstr(f->s.token, ==, "abc");
	assert_ok(f, "P: 4333\nport: $P\nauthorization { U: inner, user: $U, password: $U }");
	g_assert_cmpint(f->s.port, ==, 4333);
	g_assert_cmpstr(f->s.user, ==, "inner");
	g_hash_table_replace(f->env, g_strdup("NATS_PORT"), g_strdup("4444"));
	g_hash_table_replace(f->env, g_strdup("NATS_NAME"), g_strdup("fromenv"));
	assert_ok(f, "port: $NATS_PORT\nserver_name: $NATS_NAME");
	g_assert_cmpint(f->s.port, ==, 4444);
	g_assert_cmpstr(f->s.server_name, ==, "fromenv");
	/* The value is parsed as a value in the file would be (parse.go parseEnv). */
	g_hash_table_replace(f->env, g_strdup("NATS_NAME"), g_strdup("from env"));
	assert_error(f, "server_name: $NATS_NAME",
	    "test.conf:1: variable reference for 'NATS_NAME' could not be parsed: expected a new line, ';', ',' or a "
	    "comment after the value of 'pk', found 'e'");
	g_hash_table_replace(f->env, g_strdup("NATS_NAME"), g_strdup("\"from env\""));
	assert_error(f, "server_name: $NATS_NAME", "test.conf:1: server name cannot contain spaces");
	assert_error(f, "port: 1\nhost: $NOPE", "test.conf:2: variable reference for 'NOPE' can not be found");
	g_hash_table_replace(f->env, g_strdup("LOOP"), g_strdup("$LOOP"));
	assert_error(f, "host: $LOOP",
	    "test.conf:1: variable reference for 'LOOP' could not be parsed: variable reference cycle for 'LOOP'");
	g_hash_table_replace(f->env, g_strdup("BAD"), g_strdup("\"unclosed"));
	assert_error(f, "host: $BAD",
	    "test.conf:1: variable reference for 'BAD' could not be parsed: the string opened on line 1 is not closed");
	/* A bcrypt hash is a string, not a reference. */
	assert_ok(f, "authorization { user: a, password: $2a$11$abcdefghijkl }");
	g_assert_cmpstr(f->s.password, ==, "$2a$11$abcdefghijkl");
	/* A key not used as a variable is an unknown field. */
	assert_error(f, "UNUSED: 1\nport: 2", "test.conf:1: unknown field \"UNUSED\"");
}

/* JetStream: parsed (enabled/disabled/block, store_dir) so that the server
 * can refuse it with the file and line. */
static void
test_jetstream(Fixture *f, gconstpointer data)
{
	(void)data;
	assert_ok(f, "port: 1\njetstream: enabled");
	g_assert_true(f->s.jetstream);
	g_assert_cmpstr(f->s.jetstream_where, ==, "test.conf:2");
	assert_ok(f, "jetstream { store_dir: \"/data/js\", max_memory_store: 1GB }");
	g_assert_true(f->s.jetstream);
	g_assert_cmpstr(f->s.store_dir, ==, "/data/js");
	assert_ok(f, "jetstream: false");
	g_assert_false(f->s.jetstream);
	g_assert_true(f->s.set & SERVER_SET_JETSTREAM);
	assert_ok(f, "jetstream { enabled: false }");
	g_assert_false(f->s.jetstream);
	assert_ok(f, "store_dir: /tmp/x");
	g_assert_false(f->s.jetstream);
	g_assert_cmpstr(f->s.store_dir, ==, "/tmp/x");
	assert_error(f, "store_dir: /a\njetstream { store: /b }", "test.conf:2: Duplicate 'store_dir' configuration");
	assert_error(f, "jetstream: maybe", "test.conf:1: Expected 'enabled' or 'disabled' for string value, got 'maybe'");
	/* The block's limits and sync policy reach the broker's config. */
	assert_ok(f, "jetstream { sync_interval: always, max_mem: \"2G\", max_file_store: 4096 }");
	g_assert_true(f->s.js_sync_always);
	g_assert_cmpint(f->s.js_max_memory_bytes, ==, INT64_C(2) << 30);
	g_assert_cmpint(f->s.js_max_storage_bytes, ==, 4096);
	assert_ok(f, "jetstream { sync: \"10s\", max_memory_store: 1KB }");
	g_assert_false(f->s.js_sync_always);
	g_assert_cmpint(f->s.js_sync_interval_ns, ==, INT64_C(10000000000));
	g_assert_cmpint(f->s.js_max_memory_bytes, ==, 1024);
	BrokerConfig bc;
	g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func(g_free);
	g_assert_true(server_settings_to_broker_config(&f->s, &bc, errors));
	g_assert_true(bc.jetstream);
	g_assert_false(bc.js_sync_always);
	g_assert_cmpint(bc.js_sync_interval_ns, ==, INT64_C(10000000000));
	g_assert_cmpint(bc.js_max_memory_bytes, ==, 1024);
	assert_error(f, "jetstream { max_mem: \"2X\" }", "test.conf:1: max_mem: sizes defined as strings must end in K, M, G, T");
	assert_error(f, "jetstream { sync_interval: \"0s\" }", "test.conf:1: sync_interval: must be positive or \"always\"");
}

/* Unknown keys are errors (nats-server's "unknown field"); nats-server
 * options natsim-server lacks are errors or ignored with a warning. Every
 * problem is reported, in file order. */
static void
test_unknown_and_unsupported(Fixture *f, gconstpointer data)
{
	(void)data;
	assert_error(f, "port: 1\n\nfoo: 2\n", "test.conf:3: unknown field \"foo\"");
	assert_error(f, "tls {\n  cert_file: x\n}", "test.conf:1: 'tls' is a nats-server option natsim-server does not support");
	assert_error(f, "cluster { port: 6222 }",
	    "test.conf:1: 'cluster' is a nats-server option natsim-server does not support");
	g_assert_true(parse(f, "lame_duck_duration: \"30s\"\nport: 2"));
	g_assert_cmpuint(f->warnings->len, ==, 1);
	g_assert_cmpstr(f->warnings->pdata[0], ==,
	    "test.conf:1: warning: 'lame_duck_duration' is a nats-server option natsim-server does not implement; "
	    "ignored");
	g_assert_false(parse(f, "a: 1\nport: x\nb: 2\nserver_name: \"x y\"\n"));
	g_assert_cmpuint(f->errors->len, ==, 4);
	g_assert_cmpstr(f->errors->pdata[0], ==, "test.conf:1: unknown field \"a\"");
	g_assert_cmpstr(f->errors->pdata[1], ==, "test.conf:2: port: expected an integer, got a string (\"x\")");
	g_assert_cmpstr(f->errors->pdata[2], ==, "test.conf:3: unknown field \"b\"");
	g_assert_cmpstr(f->errors->pdata[3], ==, "test.conf:4: server name cannot contain spaces");
}

/* Syntax errors: the first one stops the parse, at its line. */
static void
test_syntax_errors(Fixture *f, gconstpointer data)
{
	(void)data;
	assert_error(f, "port: 4222 4223",
	    "test.conf:1: expected a new line, ';', ',' or a comment after the value of 'port', found '4'");
	assert_error(f, "debug: true\nport:\n", "test.conf:2: expected a value for 'port', found a new line");
	assert_error(f, "port", "test.conf:1: 'port' has no value");
	assert_error(f, "authorization {\n  user: a\n", "test.conf:3: the block opened on line 1 is not closed");
	assert_error(f, "authorization {\n  user\n}", "test.conf:2: 'user' has no value");
	assert_error(f, ": 1", "test.conf:1: unexpected ':': a key is missing before it");
	assert_error(f, "port: 1\n}", "test.conf:2: unexpected '}' with no block open");
	assert_error(f, "port: .5", "test.conf:1: a number must start with a digit, not '.'");
	assert_error(f, "port: -x", "test.conf:1: expected a digit after '-', found 'x'");
	assert_error(f, "port: 1.x", "test.conf:1: a float needs a digit after the '.', found 'x'");
	assert_error(f, "port: 12-3", "test.conf:1: dates must be in full Zulu form: YYYY-MM-DDTHH:MM:SSZ");
	assert_error(f, "x: 2020-01-0xT00:00:00Z", "test.conf:1: a date is YYYY-MM-DDTHH:MM:SSZ; found 'x'");
	assert_error(f, "server_name: 2020-01-02T03:04:05Z",
	    "test.conf:1: server_name: expected a string, got a date (2020-01-02T03:04:05Z)");
	assert_error(f, "jetstream { enabled: false\n x: [1,,2] }", "test.conf:2: unexpected ',' in an array");
	assert_error(f, "jetstream { enabled: false\n x: [1 2] }",
	    "test.conf:2: expected ',' or ']' after an array value, found '2'");
	assert_error(f, "jetstream { enabled: false\n x: [1, 2", "test.conf:2: the array opened on line 2 is not closed");
	assert_error(f, "pid_file: (\nno end", "test.conf:1: the '(' block has no ')' on a line of its own");
	/* Arrays parse: numbers, strings, blocks, comments, new lines. */
	assert_ok(f, "jetstream { enabled: false\n x: [1, 'a', {b: 2}, # c\n 3\n ]\n}");
}

/* A JSON-shaped file (top-level braces, quoted keys) parses; a key given
 * twice takes the later value. */
static void
test_json_shape_and_duplicates(Fixture *f, gconstpointer data)
{
	(void)data;
	assert_ok(f, "{\n  \"port\": 4333,\n  \"debug\": true,\n  \"authorization\": { \"token\": \"t\" }\n}\n");
	g_assert_cmpint(f->s.port, ==, 4333);
	g_assert_true(f->s.debug);
	g_assert_cmpstr(f->s.token, ==, "t");
	assert_ok(f, "port: 1\nport: 2");
	g_assert_cmpint(f->s.port, ==, 2);
}

/* Every option onto ServerSettings, and ServerSettings onto BrokerConfig
 * with its defaults and cross checks. */
static void
test_broker_config(Fixture *f, gconstpointer data)
{
	(void)data;
	assert_ok(f, "server_name: n1\nhost: 127.0.0.1\nport: 4333\nhttp_port: 8333\nmax_payload: 2MB\n"
	             "max_connections: 10\nmax_subscriptions: 5\nmax_pending: 32MB\nmax_control_line: 1KB\n"
	             "ping_interval: \"20s\"\nping_max: 3\nwrite_deadline: \"2s\"\ndebug: true\n"
	             "logfile: /tmp/l.log\npid_file: /tmp/p.pid\nlogtime: false\nlogtime_utc: true\n"
	             "authorization { user: u, password: p, timeout: 1 }\n");
	BrokerConfig c;
	g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func(g_free);
	g_assert_true(server_settings_to_broker_config(&f->s, &c, errors));
	g_assert_cmpstr(c.server_name, ==, "n1");
	g_assert_cmpstr(c.host, ==, "127.0.0.1");
	g_assert_cmpuint(c.port, ==, 4333);
	g_assert_cmpuint(c.http_port, ==, 8333);
	g_assert_cmpint(c.payload_max_bytes, ==, 2097152);
	g_assert_cmpuint(c.connections_max, ==, 10);
	g_assert_cmpuint(c.subscriptions_max, ==, 5);
	g_assert_cmpint(c.pending_bytes_max, ==, 33554432);
	g_assert_cmpuint(c.control_line_max, ==, 1024);
	g_assert_cmpint(c.ping_interval_ns, ==, INT64_C(20000000000));
	g_assert_cmpuint(c.pings_out_max, ==, 3);
	g_assert_cmpint(c.write_deadline_ns, ==, INT64_C(2000000000));
	g_assert_cmpint(c.auth_timeout_ns, ==, INT64_C(1000000000));
	g_assert_cmpstr(c.user, ==, "u");
	g_assert_cmpstr(c.password, ==, "p");
	g_assert_null(c.token);
	g_assert_cmpint(c.log_level, ==, BROKER_LOG_DEBUG);
	g_assert_cmpstr(f->s.log_file, ==, "/tmp/l.log");
	g_assert_cmpstr(f->s.pid_file, ==, "/tmp/p.pid");
	g_assert_false(f->s.logtime);
	g_assert_true(f->s.logtime_utc);

	/* Defaults: nothing set. */
	ServerSettings empty;
	server_settings_init(&empty);
	g_assert_true(server_settings_to_broker_config(&empty, &c, errors));
	g_assert_cmpstr(c.host, ==, "0.0.0.0");
	g_assert_cmpuint(c.port, ==, 4222);
	g_assert_cmpuint(c.http_port, ==, 0);
	g_assert_null(c.server_name);
	g_assert_null(c.user);
	g_assert_null(c.token);
	g_assert_cmpint(c.log_level, ==, BROKER_LOG_INFO);
	empty.trace = true;
	g_assert_true(server_settings_to_broker_config(&empty, &c, errors));
	g_assert_cmpint(c.log_level, ==, BROKER_LOG_TRACE);
	empty.port = -1;
	g_assert_true(server_settings_to_broker_config(&empty, &c, errors));
	g_assert_cmpuint(c.port, ==, 0); /* random: the loop fills it in */

	/* max_payload above max_pending (nats-server validateOptions). */
	empty.payload_max_bytes = 2 * 1024 * 1024;
	empty.pending_max_bytes = 1024 * 1024;
	g_assert_false(server_settings_to_broker_config(&empty, &c, errors));
	g_assert_cmpstr(errors->pdata[0], ==, "max_payload (2097152) cannot be higher than max_pending (1048576)");
	empty.payload_max_bytes = 0;
	empty.pending_max_bytes = 0;
	g_ptr_array_set_size(errors, 0);
	/* A user and a token from different sources; a password alone. */
	empty.user = g_strdup("u");
	empty.token = g_strdup("t");
	g_assert_false(server_settings_to_broker_config(&empty, &c, errors));
	g_assert_cmpstr(errors->pdata[0], ==,
	    "cannot have a user/password and a token (--user/--pass, --auth, authorization)");
	g_clear_pointer(&empty.user, g_free);
	g_clear_pointer(&empty.token, g_free);
	empty.password = g_strdup("p");
	g_ptr_array_set_size(errors, 0);
	g_assert_false(server_settings_to_broker_config(&empty, &c, errors));
	g_assert_cmpstr(errors->pdata[0], ==, "a password needs a user (--user, or user in authorization)");
	/* A user without a password gets an empty one. */
	g_clear_pointer(&empty.password, g_free);
	empty.user = g_strdup("u");
	g_ptr_array_set_size(errors, 0);
	g_assert_true(server_settings_to_broker_config(&empty, &c, errors));
	g_assert_cmpstr(c.password, ==, "");
	server_settings_clear(&empty);
}

/* The command line overrides the file, field by field. */
static void
test_merge(Fixture *f, gconstpointer data)
{
	(void)data;
	assert_ok(f, "port: 1\nhost: filehost\ndebug: true\nauthorization { token: ftok }");
	ServerSettings flags;
	server_settings_init(&flags);
	flags.port = 2;
	flags.debug = false;
	flags.set = SERVER_SET_PORT | SERVER_SET_DEBUG;
	server_settings_merge(&f->s, &flags);
	g_assert_cmpint(f->s.port, ==, 2);
	g_assert_false(f->s.debug);
	g_assert_cmpstr(f->s.host, ==, "filehost");
	g_assert_cmpstr(f->s.token, ==, "ftok");
	server_settings_clear(&flags);
}

/* server_config_load reads through the io; a missing file says so. */
static void
test_load(Fixture *f, gconstpointer data)
{
	(void)data;
	add_file(f, "/etc/natsim/server.conf", "port: 4999\ninclude extra.conf\n");
	add_file(f, "/etc/natsim/extra.conf", "debug: on\n");
	g_assert_true(server_config_load("/etc/natsim/server.conf", &f->io, &f->s, f->errors, f->warnings));
	g_assert_cmpint(f->s.port, ==, 4999);
	g_assert_true(f->s.debug);
	g_assert_false(server_config_load("/nope.conf", &f->io, &f->s, f->errors, f->warnings));
	g_assert_cmpstr(f->errors->pdata[0], ==, "/nope.conf: cannot read the configuration file: No such file or directory");
	g_assert_true(parse(f, "\n# nothing\n"));
	g_assert_cmpstr(f->warnings->pdata[0], ==, "test.conf:1: warning: the configuration has no values");
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
#define ADD(path, fn) g_test_add("/broker/server-config/" path, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
	ADD("separators", test_separators);
	ADD("comments", test_comments);
	ADD("strings", test_strings);
	ADD("sizes", test_sizes);
	ADD("durations", test_durations);
	ADD("booleans", test_booleans);
	ADD("listen", test_listen);
	ADD("port-limits", test_port_limits);
	ADD("payload-limit", test_payload_limit);
	ADD("other-limits", test_other_limits);
	ADD("authorization", test_authorization);
	ADD("include", test_include);
	ADD("include-depth", test_include_depth);
	ADD("nesting-limit", test_nesting_limit);
	ADD("size-limit", test_size_limit);
	ADD("variables", test_variables);
	ADD("jetstream", test_jetstream);
	ADD("unknown-and-unsupported", test_unknown_and_unsupported);
	ADD("syntax-errors", test_syntax_errors);
	ADD("json-shape-and-duplicates", test_json_shape_and_duplicates);
	ADD("broker-config", test_broker_config);
	ADD("merge", test_merge);
	ADD("load", test_load);
#undef ADD
	return g_test_run();
}
