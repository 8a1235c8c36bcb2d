/*
 * test_server_log.c - natsim-server's log (broker/server_log.c): the exact
 * nats-server line layout, level filtering (-D, -V, -V without -D), and a
 * file log that survives being moved away and reopened (SIGUSR1).
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "broker/server_log.h"

/* The layout, checked on fixed inputs (UTC, so the zone does not matter). */
static void
test_line_format(void)
{
	g_autoptr(GString) line = g_string_new(NULL);
	/* 2023-11-14 22:13:20 UTC, and 123456 microseconds (the 789 ns drop). */
	server_log_line_format(line, 4242, true, true, INT64_C(1700000000123456789), "INF", "Server is ready");
	g_assert_cmpstr(line->str, ==, "[4242] 2023/11/14 22:13:20.123456 [INF] Server is ready\n");
	server_log_line_format(line, 7, true, true, INT64_C(946684800000000000), "DBG", "x");
	g_assert_cmpstr(line->str, ==, "[7] 2000/01/01 00:00:00.000000 [DBG] x\n");
	server_log_line_format(line, 7, false, true, INT64_C(946684800000000000), "TRC", "no time");
	g_assert_cmpstr(line->str, ==, "[7] [TRC] no time\n");
}

static char *
read_all(const char *path)
{
	g_autoptr(GError) error = NULL;
	char *text = NULL;
	g_assert_true(g_file_get_contents(path, &text, NULL, &error));
	return text;
}

/* Which levels reach the file for -D, -V and both; [FTL] always does. */
static void
test_levels(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *dir = g_dir_make_tmp("natsim-log-XXXXXX", &error);
	g_assert_no_error(error);
	g_autofree char *path = g_build_filename(dir, "server.log", NULL);
	ServerLog *log = server_log_create(path, &error);
	g_assert_no_error(error);
	server_log_set_time(log, false, false);
	server_log_write(log, BROKER_LOG_INFO, "info");
	server_log_write(log, BROKER_LOG_DEBUG, "debug hidden");
	server_log_write(log, BROKER_LOG_TRACE, "trace hidden");
	server_log_set_levels(log, false, true); /* -V alone: trace, not debug */
	server_log_write(log, BROKER_LOG_DEBUG, "debug hidden too");
	server_log_write(log, BROKER_LOG_TRACE, "trace shown");
	server_log_set_levels(log, true, false); /* -D */
	server_log_write(log, BROKER_LOG_DEBUG, "debug shown");
	server_log_write(log, BROKER_LOG_TRACE, "trace hidden again");
	server_log_printf(log, BROKER_LOG_WARN, "warn %d", 1);
	server_log_write(log, BROKER_LOG_ERROR, "error");
	server_log_fatal(log, "fatal %s", "x");
	server_log_destroy(log);
	g_autofree char *text = read_all(path);
	g_autofree char *want = g_strdup_printf("[%d] [INF] info\n[%d] [TRC] trace shown\n[%d] [DBG] debug shown\n"
	                                        "[%d] [WRN] warn 1\n[%d] [ERR] error\n[%d] [FTL] fatal x\n",
	    (int)getpid(), (int)getpid(), (int)getpid(), (int)getpid(), (int)getpid(), (int)getpid());
	g_assert_cmpstr(text, ==, want);
	g_assert_cmpint(g_unlink(path), ==, 0);
	g_assert_cmpint(g_rmdir(dir), ==, 0);
}

/* Time stamps in local time by default: the line matches the layout. */
static void
test_timestamps(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *dir = g_dir_make_tmp("natsim-log-XXXXXX", &error);
	g_autofree char *path = g_build_filename(dir, "server.log", NULL);
	ServerLog *log = server_log_create(path, &error);
	g_assert_no_error(error);
	server_log_write(log, BROKER_LOG_INFO, "Starting nats-server");
	server_log_destroy(log);
	g_autofree char *text = read_all(path);
	g_assert_true(g_regex_match_simple("^\\[[0-9]+\\] [0-9]{4}/[0-9]{2}/[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6} "
	                                   "\\[INF\\] Starting nats-server\n$",
	    text, 0, 0));
	g_unlink(path);
	g_rmdir(dir);
}

/* After the file is moved away (log rotation), reopen starts a new one;
 * lines are appended to an existing file, never truncated. */
static void
test_reopen(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *dir = g_dir_make_tmp("natsim-log-XXXXXX", &error);
	g_autofree char *path = g_build_filename(dir, "server.log", NULL);
	g_autofree char *moved = g_build_filename(dir, "server.log.1", NULL);
	g_assert_true(g_file_set_contents(path, "old\n", -1, &error));
	ServerLog *log = server_log_create(path, &error);
	g_assert_no_error(error);
	server_log_set_time(log, false, false);
	server_log_write(log, BROKER_LOG_INFO, "one");
	g_assert_cmpint(g_rename(path, moved), ==, 0);
	server_log_write(log, BROKER_LOG_INFO, "two");
	g_assert_true(server_log_reopen(log, &error));
	server_log_write(log, BROKER_LOG_INFO, "three");
	server_log_destroy(log);
	g_autofree char *first = read_all(moved);
	g_autofree char *second = read_all(path);
	g_autofree char *want_first = g_strdup_printf("old\n[%d] [INF] one\n[%d] [INF] two\n", (int)getpid(), (int)getpid());
	g_autofree char *want_second = g_strdup_printf("[%d] [INF] three\n", (int)getpid());
	g_assert_cmpstr(first, ==, want_first);
	g_assert_cmpstr(second, ==, want_second);
	g_unlink(path);
	g_unlink(moved);
	g_rmdir(dir);
	/* A log that cannot be opened says why. */
	g_assert_null(server_log_create("/proc/natsim-no/such.log", &error));
	g_assert_nonnull(error);
	g_assert_true(g_str_has_prefix(error->message, "cannot open log file /proc/natsim-no/such.log: "));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/broker/server-log/line-format", test_line_format);
	g_test_add_func("/broker/server-log/levels", test_levels);
	g_test_add_func("/broker/server-log/timestamps", test_timestamps);
	g_test_add_func("/broker/server-log/reopen", test_reopen);
	return g_test_run();
}
