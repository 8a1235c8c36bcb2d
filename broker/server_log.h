/*
 * server_log.h - natsim-server's log, in nats-server's format:
 *
 *   [pid] 2006/01/02 15:04:05.000000 [INF] message
 *
 * to stderr or to a file (-l, logfile), one write() per line. Levels are
 * nats-server's tags: [FTL] [ERR] [WRN] [INF] [DBG] (-D) [TRC] (-V); as in
 * nats-server, -V alone shows trace lines but not debug lines.
 *
 * Called by server_main.c, and by server_loop.c and server_http.c for the
 * broker's log callback and their own messages. A real-world driver file:
 * it reads the wall clock and writes files.
 */
#ifndef NATSIM_BROKER_SERVER_LOG_H
#define NATSIM_BROKER_SERVER_LOG_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/broker.h"

typedef struct ServerLog ServerLog;

/* Opens the log: path NULL means stderr, else the file is opened for
 * appending (created 0640). NULL with *error when it cannot be opened. */
ServerLog *server_log_create(const char *path, GError **error);
void server_log_destroy(ServerLog *log); /* NULL-safe */

/* Which lines to write, and how to stamp them (defaults: info, local time). */
void server_log_set_levels(ServerLog *log, bool debug, bool trace);
void server_log_set_time(ServerLog *log, bool timestamps, bool utc);

/* Reopens the file (SIGUSR1, for log rotation); stderr needs nothing. */
bool server_log_reopen(ServerLog *log, GError **error);

void server_log_write(ServerLog *log, BrokerLogLevel level, const char *message);
void server_log_printf(ServerLog *log, BrokerLogLevel level, const char *format, ...) G_GNUC_PRINTF(3, 4);
/* An [FTL] line (the caller then exits). */
void server_log_fatal(ServerLog *log, const char *format, ...) G_GNUC_PRINTF(2, 3);

/* Formats one line, new line included, into out (pure: the tests' way in).
 * unix_ns is the wall-clock time; tag is "INF", "DBG" and so on. */
void server_log_line_format(GString *out, int pid, bool timestamps, bool utc, int64_t unix_ns, const char *tag,
    const char *message);

#endif
