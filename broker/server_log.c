/*
 * server_log.c - natsim-server's log lines, as nats-server writes them
 * (server/log.go, logger/log.go: "[pid] date time.micro [TAG] message").
 *
 * A real-world driver file: it reads the wall clock and writes to stderr
 * or a file. Called from the one event-loop thread only.
 *
 * Invariants: each line goes out in a single write() (whole lines in an
 * O_APPEND file even with several writers); a line is never dropped for
 * its length; the log itself never allocates per line when the line fits
 * the reused buffer.
 */
#include "broker/server_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proto/assert.h"

struct ServerLog {
	char *path; /* NULL: stderr */
	int fd;
	int pid;
	bool debug;
	bool trace;
	bool timestamps;
	bool utc;
	GString *line; /* reused */
};

static int
open_log_file(const char *path, GError **error)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0)
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "cannot open log file %s: %s", path,
		    g_strerror(errno));
	return fd;
}

ServerLog *
server_log_create(const char *path, GError **error)
{
	int fd = STDERR_FILENO;
	if (path != NULL && (fd = open_log_file(path, error)) < 0)
		return NULL;
	ServerLog *log = g_new0(ServerLog, 1);
	log->path = g_strdup(path);
	log->fd = fd;
	log->pid = (int)getpid();
	log->timestamps = true;
	log->line = g_string_sized_new(512);
	return log;
}

void
server_log_destroy(ServerLog *log)
{
	if (log == NULL)
		return;
	if (log->path != NULL)
		close(log->fd);
	g_free(log->path);
	g_string_free(log->line, TRUE);
	g_free(log);
}

void
server_log_set_levels(ServerLog *log, bool debug, bool trace)
{
	log->debug = debug;
	log->trace = trace;
}

void
server_log_set_time(ServerLog *log, bool timestamps, bool utc)
{
	log->timestamps = timestamps;
	log->utc = utc;
}

bool
server_log_reopen(ServerLog *log, GError **error)
{
	if (log->path == NULL)
		return true;
	int fd = open_log_file(log->path, error);
	if (fd < 0)
		return false;
	close(log->fd);
	log->fd = fd;
	return true;
}

void
server_log_line_format(GString *out, int pid, bool timestamps, bool utc, int64_t unix_ns, const char *tag,
    const char *message)
{
	g_string_truncate(out, 0);
	g_string_append_printf(out, "[%d] ", pid);
	if (timestamps) {
		time_t seconds = (time_t)(unix_ns / 1000000000);
		long micros = (long)(unix_ns % 1000000000 / 1000);
		struct tm tm;
		if (utc)
			gmtime_r(&seconds, &tm);
		else
			localtime_r(&seconds, &tm);
		g_string_append_printf(out, "%04d/%02d/%02d %02d:%02d:%02d.%06ld ", tm.tm_year + 1900, tm.tm_mon + 1,
		    tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, micros);
	}
	g_string_append_printf(out, "[%s] %s\n", tag, message);
}

static void
write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return; /* a log that cannot be written is not worth dying for */
		data += n;
		len -= (size_t)n;
	}
}

static void
emit(ServerLog *log, const char *tag, const char *message)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	int64_t now_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	server_log_line_format(log->line, log->pid, log->timestamps, log->utc, now_ns, tag, message);
	write_all(log->fd, log->line->str, log->line->len);
	/* Keep one huge trace line from pinning memory. */
	if (log->line->allocated_len > 64 * 1024) {
		g_string_free(log->line, TRUE);
		log->line = g_string_sized_new(512);
	}
}

void
server_log_write(ServerLog *log, BrokerLogLevel level, const char *message)
{
	ASSERT(log != NULL && message != NULL);
	static const char *const tags[] = {
		[BROKER_LOG_ERROR] = "ERR", [BROKER_LOG_WARN] = "WRN", [BROKER_LOG_INFO] = "INF",
		[BROKER_LOG_DEBUG] = "DBG", [BROKER_LOG_TRACE] = "TRC",
	};
	ASSERT((size_t)level < G_N_ELEMENTS(tags));
	if ((level == BROKER_LOG_DEBUG && !log->debug) || (level == BROKER_LOG_TRACE && !log->trace))
		return;
	emit(log, tags[level], message);
}

void
server_log_printf(ServerLog *log, BrokerLogLevel level, const char *format, ...)
{
	va_list ap;
	va_start(ap, format);
	g_autofree char *message = g_strdup_vprintf(format, ap);
	va_end(ap);
	server_log_write(log, level, message);
}

void
server_log_fatal(ServerLog *log, const char *format, ...)
{
	va_list ap;
	va_start(ap, format);
	g_autofree char *message = g_strdup_vprintf(format, ap);
	va_end(ap);
	emit(log, "FTL", message);
}
