/*
 * test_server_options.c - natsim-server's command line
 * (broker/server_options.c) reads nats-server's flags by Go's flag rules:
 * single- and double-dash long names, -DV, "=" values, bad flags with Go's
 * messages. Each case parses an argv built in the test.
 */
#include <glib.h>
#include <string.h>

#include "broker/server_options.h"

/* Parses a NULL-terminated list of arguments after "natsim-server". */
static bool
parse_args(ServerOptions *o, GError **error, const char *first, ...)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_ptr_array_add(argv, (gpointer) "natsim-server");
	va_list ap;
	va_start(ap, first);
	for (const char *a = first; a != NULL; a = va_arg(ap, const char *))
		g_ptr_array_add(argv, (gpointer)a);
	va_end(ap);
	return server_options_parse(o, (int)argv->len, (char *const *)argv->pdata, error);
}

/* Expects a usage error with exactly this message. */
static void
assert_bad(const char *message, const char *first, ...)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_ptr_array_add(argv, (gpointer) "natsim-server");
	va_list ap;
	va_start(ap, first);
	for (const char *a = first; a != NULL; a = va_arg(ap, const char *))
		g_ptr_array_add(argv, (gpointer)a);
	va_end(ap);
	ServerOptions o;
	g_autoptr(GError) error = NULL;
	g_assert_false(server_options_parse(&o, (int)argv->len, (char *const *)argv->pdata, &error));
	g_assert_nonnull(error);
	g_assert_cmpstr(error->message, ==, message);
	server_options_clear(&o);
}

/* No flags: run with nothing set. */
static void
test_none(void)
{
	ServerOptions o;
	g_autoptr(GError) error = NULL;
	g_assert_true(parse_args(&o, &error, NULL));
	g_assert_cmpint(o.action, ==, SERVER_OPTIONS_RUN);
	g_assert_cmpuint(o.settings.set, ==, 0);
	g_assert_null(o.config_file);
	g_assert_false(o.check_config);
	g_assert_true(o.settings.logtime);
	server_options_clear(&o);
}

/* The single-dash long forms existing scripts use (-user, -addr ...),
 * and the same with two dashes. */
static void
test_long_forms(void)
{
	const char *dashes[] = { "-", "--" };
	for (size_t i = 0; i < G_N_ELEMENTS(dashes); i++) {
		const char *d = dashes[i];
		g_autofree char *user = g_strconcat(d, "user", NULL);
		g_autofree char *pass = g_strconcat(d, "pass", NULL);
		g_autofree char *addr = g_strconcat(d, "addr", NULL);
		g_autofree char *port = g_strconcat(d, "port", NULL);
		g_autofree char *http = g_strconcat(d, "http_port", NULL);
		g_autofree char *log = g_strconcat(d, "log", NULL);
		g_autofree char *pid = g_strconcat(d, "pid", NULL);
		g_autofree char *config = g_strconcat(d, "config", NULL);
		g_autofree char *name = g_strconcat(d, "server_name", NULL);
		g_autofree char *debug = g_strconcat(d, "debug", NULL);
		g_autofree char *trace = g_strconcat(d, "trace", NULL);
		ServerOptions o;
		g_autoptr(GError) error = NULL;
		g_assert_true(parse_args(&o, &error, user, "alice", pass, "pw", addr, "127.0.0.1", port, "4333", http,
		    "8333", log, "/tmp/x.log", pid, "/tmp/x.pid", config, "/tmp/x.conf", name, "n1", debug, trace, NULL));
		ServerSettings *s = &o.settings;
		g_assert_cmpstr(s->user, ==, "alice");
		g_assert_cmpstr(s->password, ==, "pw");
		g_assert_cmpstr(s->host, ==, "127.0.0.1");
		g_assert_cmpint(s->port, ==, 4333);
		g_assert_cmpint(s->http_port, ==, 8333);
		g_assert_cmpstr(s->log_file, ==, "/tmp/x.log");
		g_assert_cmpstr(s->pid_file, ==, "/tmp/x.pid");
		g_assert_cmpstr(o.config_file, ==, "/tmp/x.conf");
		g_assert_cmpstr(s->server_name, ==, "n1");
		g_assert_true(s->debug && s->trace);
		uint32_t want = SERVER_SET_USER | SERVER_SET_PASSWORD | SERVER_SET_HOST | SERVER_SET_PORT |
		    SERVER_SET_HTTP_PORT | SERVER_SET_LOG_FILE | SERVER_SET_PID_FILE | SERVER_SET_SERVER_NAME |
		    SERVER_SET_DEBUG | SERVER_SET_TRACE;
		g_assert_cmphex(s->set, ==, want);
		server_options_clear(&o);
	}
	ServerOptions o;
	g_autoptr(GError) error = NULL;
	g_assert_true(parse_args(&o, &error, "-auth", "tok", "-net", "::1", NULL));
	g_assert_cmpstr(o.settings.token, ==, "tok");
	g_assert_cmpstr(o.settings.host, ==, "::1");
	server_options_clear(&o);
}

/* The one-letter names. */
static void
test_short_forms(void)
{
	ServerOptions o;
	g_autoptr(GError) error = NULL;
	g_assert_true(parse_args(&o, &error, "-a", "0.0.0.0", "-p", "4444", "-m", "8444", "-l", "l.log", "-P",
	    "p.pid", "-c", "c.conf", "-n", "name", "-D", "-V", "-T=false", "-t", NULL));
	g_assert_cmpstr(o.settings.host, ==, "0.0.0.0");
	g_assert_cmpint(o.settings.port, ==, 4444);
	g_assert_cmpint(o.settings.http_port, ==, 8444);
	g_assert_cmpstr(o.settings.log_file, ==, "l.log");
	g_assert_cmpstr(o.settings.pid_file, ==, "p.pid");
	g_assert_cmpstr(o.config_file, ==, "c.conf");
	g_assert_cmpstr(o.settings.server_name, ==, "name");
	g_assert_true(o.settings.debug && o.settings.trace);
	g_assert_false(o.settings.logtime);
	g_assert_true(o.check_config);
	server_options_clear(&o);
}

/* -DV is debug and trace; -DV=false turns both off; -VV is trace. */
static void
test_debug_trace(void)
{
	ServerOptions o;
	g_autoptr(GError) error = NULL;
	g_assert_true(parse_args(&o, &error, "-DV", NULL));
	g_assert_true(o.settings.debug && o.settings.trace);
	g_assert_cmphex(o.settings.set, ==, SERVER_SET_DEBUG | SERVER_SET_TRACE);
	server_options_clear(&o);
	g_assert_true(parse_args(&o, &error, "-DV", "-DV=false", NULL));
	g_assert_false(o.settings.debug || o.settings.trace);
	g_assert_cmphex(o.settings.set, ==, SERVER_SET_DEBUG | SERVER_SET_TRACE);
	server_options_clear(&o);
	g_assert_true(parse_args(&o, &error, "-VV", NULL));
	g_assert_true(o.settings.trace);
	g_assert_false(o.settings.debug);
	server_options_clear(&o);
	g_assert_true(parse_args(&o, &error, "--DVV", NULL));
	g_assert_true(o.settings.debug && o.settings.trace);
	server_options_clear(&o);
	g_assert_true(parse_args(&o, &error, "-D=true", "-V=0", "--debug=F", NULL));
	g_assert_false(o.settings.debug || o.settings.trace);
	server_options_clear(&o);
}

/* Values: "-p=N", the next argument even when it starts with '-', Go's
 * integer syntax; a later flag wins. */
static void
test_values(void)
{
	ServerOptions o;
	g_autoptr(GError) error = NULL;
	g_assert_true(parse_args(&o, &error, "-p=4555", "--http_port=-1", NULL));
	g_assert_cmpint(o.settings.port, ==, 4555);
	g_assert_cmpint(o.settings.http_port, ==, -1);
	server_options_clear(&o);
	g_assert_true(parse_args(&o, &error, "-p", "-1", NULL));
	g_assert_cmpint(o.settings.port, ==, -1);
	server_options_clear(&o);
	g_assert_true(parse_args(&o, &error, "-p", "0x10", "-m", "010", NULL));
	g_assert_cmpint(o.settings.port, ==, 16);
	g_assert_cmpint(o.settings.http_port, ==, 8);
	server_options_clear(&o);
	g_assert_true(parse_args(&o, &error, "-p", "4_222", "-p", "+5", NULL));
	g_assert_cmpint(o.settings.port, ==, 5);
	server_options_clear(&o);
	g_assert_true(parse_args(&o, &error, "-p", "1", "-p", "2", "-user", "a", "--user=b", NULL));
	g_assert_cmpint(o.settings.port, ==, 2);
	g_assert_cmpstr(o.settings.user, ==, "b");
	server_options_clear(&o);
	/* Ports at their limits. */
	g_assert_true(parse_args(&o, &error, "-p", "65535", NULL));
	g_assert_cmpint(o.settings.port, ==, 65535);
	server_options_clear(&o);
	assert_bad("invalid value \"65536\" for flag -p: a port is -1 (random) or 0..65535", "-p", "65536", NULL);
	assert_bad("invalid value \"-2\" for flag -m: a port is -1 (random) or 0..65535", "-m", "-2", NULL);
}

/* -js is accepted here (server_main refuses it with exit 1); -sd alone is
 * a directory to warn about. */
static void
test_jetstream(void)
{
	ServerOptions o;
	g_autoptr(GError) error = NULL;
	g_assert_true(parse_args(&o, &error, "-js", NULL));
	g_assert_true(o.settings.jetstream);
	g_assert_cmpstr(o.settings.jetstream_where, ==, "-js");
	server_options_clear(&o);
	g_assert_true(parse_args(&o, &error, "--jetstream", "-sd", "/tmp/js", NULL));
	g_assert_true(o.settings.jetstream);
	g_assert_cmpstr(o.settings.jetstream_where, ==, "--jetstream");
	g_assert_cmpstr(o.settings.store_dir, ==, "/tmp/js");
	server_options_clear(&o);
	g_assert_true(parse_args(&o, &error, "--js=false", "--store_dir=/d", NULL));
	g_assert_false(o.settings.jetstream);
	g_assert_cmpstr(o.settings.store_dir, ==, "/d");
	server_options_clear(&o);
	g_assert_true(parse_args(&o, &error, "--sd", "/e", NULL));
	g_assert_cmpstr(o.settings.store_dir, ==, "/e");
	g_assert_false(o.settings.set & SERVER_SET_JETSTREAM);
	server_options_clear(&o);
}

/* -h, -v and the words help and version after the flags. */
static void
test_help_version(void)
{
	ServerOptions o;
	g_autoptr(GError) error = NULL;
	g_assert_true(parse_args(&o, &error, "-h", NULL));
	g_assert_cmpint(o.action, ==, SERVER_OPTIONS_HELP);
	server_options_clear(&o);
	g_assert_true(parse_args(&o, &error, "--help", "-v", NULL));
	g_assert_cmpint(o.action, ==, SERVER_OPTIONS_HELP);
	server_options_clear(&o);
	g_assert_true(parse_args(&o, &error, "--version", NULL));
	g_assert_cmpint(o.action, ==, SERVER_OPTIONS_VERSION);
	server_options_clear(&o);
	g_assert_true(parse_args(&o, &error, "-p", "1", "version", NULL));
	g_assert_cmpint(o.action, ==, SERVER_OPTIONS_VERSION);
	server_options_clear(&o);
	g_assert_true(parse_args(&o, &error, "--", "help", NULL));
	g_assert_cmpint(o.action, ==, SERVER_OPTIONS_HELP);
	server_options_clear(&o);
	const char *usage = server_options_usage();
	g_assert_true(g_str_has_prefix(usage, "\nUsage: natsim-server [options]\n"));
	g_assert_nonnull(strstr(usage, "-DV"));
	g_assert_nonnull(strstr(usage, "--user <user>"));
	g_assert_true(g_str_has_suffix(usage, "\n"));
}

/* Bad command lines, with Go's flag package messages (the caller prints
 * them with the usage and exits 2). */
static void
test_bad(void)
{
	assert_bad("flag provided but not defined: -bogus", "-bogus", NULL);
	assert_bad("flag provided but not defined: -bogus", "--bogus=1", NULL);
	assert_bad("flag provided but not defined: -u", "-u", "x", NULL);
	assert_bad("bad flag syntax: ---p", "---p", NULL);
	assert_bad("bad flag syntax: -=1", "-=1", NULL);
	assert_bad("flag needs an argument: -p", "-p", NULL);
	assert_bad("flag needs an argument: -user", "-user", NULL);
	assert_bad("invalid value \"abc\" for flag -p: parse error", "-p", "abc", NULL);
	assert_bad("invalid value \"\" for flag -port: parse error", "--port=", NULL);
	assert_bad("invalid value \"99999999999999999999\" for flag -p: value out of range", "-p",
	    "99999999999999999999", NULL);
	assert_bad("invalid boolean value \"maybe\" for -D: parse error", "-D=maybe", NULL);
	assert_bad("invalid boolean value \"\" for -DV: parse error", "-DV=", NULL);
	assert_bad("flag -tls is a nats-server option natsim-server does not support", "--tls", NULL);
	assert_bad("flag -routes is a nats-server option natsim-server does not support", "-routes", "x", NULL);
	assert_bad("unrecognized command: \"foo\"", "-D", "foo", NULL);
	assert_bad("unrecognized command: \"-D\"", "--", "-D", NULL);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/broker/server-options/none", test_none);
	g_test_add_func("/broker/server-options/long-forms", test_long_forms);
	g_test_add_func("/broker/server-options/short-forms", test_short_forms);
	g_test_add_func("/broker/server-options/debug-trace", test_debug_trace);
	g_test_add_func("/broker/server-options/values", test_values);
	g_test_add_func("/broker/server-options/jetstream", test_jetstream);
	g_test_add_func("/broker/server-options/help-version", test_help_version);
	g_test_add_func("/broker/server-options/bad", test_bad);
	return g_test_run();
}
