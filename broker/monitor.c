/*
 * monitor.c - the monitoring endpoints (/varz, /connz, /subsz, /healthz,
 * /jsz, /accountz, /routez, /gatewayz, /leafz, /) as JSON, in
 * nats-server's field names and order (server/monitor.go), built with
 * jansson. The core builds the bodies so that a simulated broker answers
 * exactly like the real one; natsim-server only carries them over HTTP.
 *
 * Times are the core's clock (Unix ns) in RFC 3339 with nanoseconds, and
 * durations in Go's time.Duration notation, as Go prints them.
 */
#include "broker/internal.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/js/jetstream.h"
#include "proto/assert.h"
#include "proto/subject.h"

#define CONN_LIST_LIMIT_DEFAULT 1024 /* DefaultConnListSize */
#define SUB_LIST_LIMIT_DEFAULT 1024  /* DefaultSubListSize */

/* ---- Go formats ---- */

/* Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm). */
static void
civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t yy = (int64_t)yoe + era * 400;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yy + (*m <= 2);
}

/* Go's time.Time JSON: RFC 3339 with up to 9 fraction digits, trailing
 * zeros dropped, UTC as "Z". */
json_t *
broker_json_time(int64_t unix_ns)
{
	int64_t secs = unix_ns >= 0 ? unix_ns / 1000000000 : (unix_ns - 999999999) / 1000000000;
	int64_t frac = unix_ns - secs * 1000000000;
	int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
	int64_t rem = secs - days * 86400;
	int64_t y;
	unsigned m, d;
	civil_from_days(days, &y, &m, &d);
	char buf[64];
	int n = snprintf(buf, sizeof(buf), "%04" G_GINT64_FORMAT "-%02u-%02uT%02d:%02d:%02d", y, m, d, (int)(rem / 3600),
	    (int)(rem / 60 % 60), (int)(rem % 60));
	if (frac > 0) {
		char digits[24];
		snprintf(digits, sizeof(digits), "%09" G_GINT64_FORMAT, frac);
		int len = 9;
		while (len > 0 && digits[len - 1] == '0')
			len--;
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, ".%.*s", len, digits);
	}
	snprintf(buf + n, sizeof(buf) - (size_t)n, "Z");
	return json_string(buf);
}

/* Go's time.Duration.String(). */
void
broker_go_duration(int64_t d, char out[40])
{
	char buf[40];
	int w = (int)sizeof(buf) - 1;
	buf[w] = '\0';
	uint64_t u = d < 0 ? (uint64_t)(-d) : (uint64_t)d;
	if (u == 0) {
		strcpy(out, "0s");
		return;
	}
	buf[--w] = 's';
	int prec;
	if (u < 1000000000) {
		if (u < 1000) {
			prec = 0;
			buf[--w] = 'n';
		} else if (u < 1000000) {
			prec = 3;
			w -= 2;
			memcpy(buf + w, "\xc2\xb5", 2); /* µ */
		} else {
			prec = 6;
			buf[--w] = 'm';
		}
	} else {
		prec = 9;
	}
	bool print = false;
	for (int i = 0; i < prec; i++) {
		unsigned digit = (unsigned)(u % 10);
		print = print || digit != 0;
		if (print)
			buf[--w] = (char)('0' + digit);
		u /= 10;
	}
	if (print)
		buf[--w] = '.';
	if (prec < 9 || u < 60) {
		do {
			buf[--w] = (char)('0' + u % 10);
			u /= 10;
		} while (u > 0);
	} else {
		uint64_t s = u % 60;
		do {
			buf[--w] = (char)('0' + s % 10);
			s /= 10;
		} while (s > 0);
		u /= 60;
		buf[--w] = 'm';
		uint64_t mins = u % 60;
		do {
			buf[--w] = (char)('0' + mins % 10);
			mins /= 10;
		} while (mins > 0);
		u /= 60;
		if (u > 0) {
			buf[--w] = 'h';
			do {
				buf[--w] = (char)('0' + u % 10);
				u /= 10;
			} while (u > 0);
		}
	}
	if (d < 0)
		buf[--w] = '-';
	strcpy(out, buf + w);
}

/* nats-server's myUptime: whole seconds, with minutes/hours/days/years. */
static void
go_uptime(int64_t d_ns, char out[64])
{
	int64_t s = d_ns / 1000000000, mi = s / 60, h = mi / 60, dd = h / 24, y = dd / 365;
	if (y > 0)
		snprintf(out, 64, "%" G_GINT64_FORMAT "y%" G_GINT64_FORMAT "d%" G_GINT64_FORMAT "h%" G_GINT64_FORMAT
		    "m%" G_GINT64_FORMAT "s", y, dd % 365, h % 24, mi % 60, s % 60);
	else if (dd > 0)
		snprintf(out, 64, "%" G_GINT64_FORMAT "d%" G_GINT64_FORMAT "h%" G_GINT64_FORMAT "m%" G_GINT64_FORMAT "s",
		    dd, h % 24, mi % 60, s % 60);
	else if (h > 0)
		snprintf(out, 64, "%" G_GINT64_FORMAT "h%" G_GINT64_FORMAT "m%" G_GINT64_FORMAT "s", h, mi % 60, s % 60);
	else if (mi > 0)
		snprintf(out, 64, "%" G_GINT64_FORMAT "m%" G_GINT64_FORMAT "s", mi, s % 60);
	else
		snprintf(out, 64, "%" G_GINT64_FORMAT "s", s);
}

/* Go prints an integral float64 without a fraction ("0", "2"). */
static json_t *
json_go_float(double v)
{
	if (v == (double)(int64_t)v && v > -1e15 && v < 1e15)
		return json_integer((json_int_t)v);
	return json_real(v);
}

static void
set(json_t *obj, const char *key, json_t *value)
{
	json_object_set_new(obj, key, value);
}

static void
set_str_nonempty(json_t *obj, const char *key, const char *value)
{
	if (value != NULL && value[0] != '\0')
		set(obj, key, json_string(value));
}

/* ---- arguments ---- */

typedef struct Args {
	const BrokerMonitorArg *items;
	size_t count;
} Args;

static const char *
arg(const Args *a, const char *key)
{
	for (size_t k = 0; k < a->count; k++)
		if (strcmp(a->items[k].key, key) == 0)
			return a->items[k].value;
	return NULL;
}

/* strconv.ParseBool */
static bool
parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "1", "t", "T", "TRUE", "true", "True" };
	static const char *const no[] = { "0", "f", "F", "FALSE", "false", "False" };
	for (size_t k = 0; k < G_N_ELEMENTS(yes); k++)
		if (strcmp(s, yes[k]) == 0)
			return *out = true;
	for (size_t k = 0; k < G_N_ELEMENTS(no); k++)
		if (strcmp(s, no[k]) == 0) {
			*out = false;
			return true;
		}
	return false;
}

static bool
parse_int(const char *s, int64_t *out)
{
	char *end;
	if (s == NULL || s[0] == '\0')
		return false;
	gint64 v = g_ascii_strtoll(s, &end, 10);
	if (*end != '\0')
		return false;
	*out = v;
	return true;
}

/* ---- /varz ---- */

static char *
dump(json_t *obj)
{
	char *text = json_dumps(obj, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(obj);
	char *copy = g_strdup(text);
	free(text);
	return copy;
}

static json_t *
varz(Broker *b, const BrokerHostStats *host, int64_t now)
{
	const BrokerConfig *c = &b->config;
	json_t *v = json_object();
	set(v, "server_id", json_string(b->server_id));
	set(v, "server_name", json_string(c->server_name));
	set(v, "version", json_string(BROKER_VERSION));
	set(v, "proto", json_integer(1));
	set(v, "go", json_string(BROKER_GO));
	set(v, "host", json_string(c->host));
	set(v, "port", json_integer(c->port));
	if (c->user != NULL || c->token != NULL)
		set(v, "auth_required", json_true());
	set(v, "max_connections", json_integer(c->connections_max));
	if (c->subscriptions_max > 0)
		set(v, "max_subscriptions", json_integer(c->subscriptions_max));
	set(v, "ping_interval", json_integer(c->ping_interval_ns));
	set(v, "ping_max", json_integer(c->pings_out_max));
	set(v, "http_host", json_string(c->host));
	set(v, "http_port", json_integer(c->http_port));
	set(v, "http_base_path", json_string(""));
	set(v, "https_port", json_integer(0));
	set(v, "auth_timeout", json_go_float((double)c->auth_timeout_ns / 1e9));
	set(v, "max_control_line", json_integer(c->control_line_max));
	set(v, "max_payload", json_integer(c->payload_max_bytes));
	set(v, "max_pending", json_integer(c->pending_bytes_max));
	set(v, "cluster", json_object());
	set(v, "gateway", json_object());
	set(v, "leaf", json_object());
	set(v, "mqtt", json_object());
	set(v, "websocket", json_object());
	set(v, "jetstream", b->js != NULL ? js_server_varz(b->js) : json_object());
	set(v, "tls_timeout", json_integer(2));
	set(v, "write_deadline", json_integer(c->write_deadline_ns));
	int64_t start = host && host->start_unix_ns ? host->start_unix_ns : b->start_ns;
	set(v, "start", broker_json_time(start));
	set(v, "now", broker_json_time(now));
	char up[64];
	go_uptime(now - start, up);
	set(v, "uptime", json_string(up));
	set(v, "mem", json_integer(host ? host->mem_bytes : 0));
	set(v, "cores", json_integer(host ? host->cores : 1));
	set(v, "gomaxprocs", json_integer(host ? host->cores : 1));
	set(v, "cpu", json_go_float(host ? host->cpu_percent : 0));
	set(v, "connections", json_integer(b->conn_count));
	set(v, "total_connections", json_integer((json_int_t)b->total_conns));
	set(v, "routes", json_integer(0));
	set(v, "remotes", json_integer(0));
	set(v, "leafnodes", json_integer(0));
	set(v, "in_msgs", json_integer((json_int_t)b->in_msgs));
	set(v, "out_msgs", json_integer((json_int_t)b->out_msgs));
	set(v, "in_bytes", json_integer((json_int_t)b->in_bytes));
	set(v, "out_bytes", json_integer((json_int_t)b->out_bytes));
	set(v, "slow_consumers", json_integer((json_int_t)b->slow_consumers));
	set(v, "subscriptions", json_integer((json_int_t)sublist_stats(b->sublist)->count));
	/* http_req_stats, in path order (a hash table is never iterated
	 * where its order would show). */
	json_t *stats = json_object();
	GList *keys = g_list_sort(g_hash_table_get_keys(b->http_req_stats), (GCompareFunc)strcmp);
	for (GList *k = keys; k != NULL; k = k->next)
		set(stats, k->data, json_integer((json_int_t)*(guint64 *)g_hash_table_lookup(b->http_req_stats, k->data)));
	g_list_free(keys);
	set(v, "http_req_stats", stats);
	set(v, "config_load_time", broker_json_time(start));
	return v;
}

/* ---- /connz ---- */

typedef struct ConnRow {
	uint64_t cid;
	const char *ip;
	uint16_t port;
	int64_t start_ns, last_ns, stop_ns, rtt_ns;
	uint64_t in_msgs, out_msgs, in_bytes, out_bytes, pending;
	uint32_t sub_count;
	const char *name, *lang, *version, *user;
	const char *reason; /* NULL when open */
	BrokerConn *open;
	BrokerClosedConn *closed;
} ConnRow;

typedef enum { SORT_CID, SORT_START, SORT_SUBS, SORT_PENDING, SORT_MSGS_TO, SORT_MSGS_FROM, SORT_BYTES_TO,
	SORT_BYTES_FROM, SORT_LAST, SORT_IDLE, SORT_UPTIME, SORT_STOP, SORT_REASON, SORT_RTT } SortBy;

static const struct {
	const char *name;
	SortBy by;
} sort_names[] = {
	{ "cid", SORT_CID }, { "start", SORT_START }, { "subs", SORT_SUBS }, { "pending", SORT_PENDING },
	{ "msgs_to", SORT_MSGS_TO }, { "msgs_from", SORT_MSGS_FROM }, { "bytes_to", SORT_BYTES_TO },
	{ "bytes_from", SORT_BYTES_FROM }, { "last", SORT_LAST }, { "idle", SORT_IDLE }, { "uptime", SORT_UPTIME },
	{ "stop", SORT_STOP }, { "reason", SORT_REASON }, { "rtt", SORT_RTT },
};

typedef struct SortCtx {
	SortBy by;
	int64_t now;
} SortCtx;

#define CMP(a, b) ((a) < (b) ? -1 : (a) > (b))

static int
row_compare(const void *x, const void *y, void *data)
{
	const ConnRow *a = x, *b = y;
	const SortCtx *s = data;
	int r;
	/* Descending for the "most first" sorts, as nats-server reverses them. */
	switch (s->by) {
	case SORT_CID: r = CMP(a->cid, b->cid); break;
	case SORT_START: r = CMP(a->start_ns, b->start_ns); break;
	case SORT_SUBS: r = -CMP(a->sub_count, b->sub_count); break;
	case SORT_PENDING: r = -CMP(a->pending, b->pending); break;
	case SORT_MSGS_TO: r = -CMP(a->out_msgs, b->out_msgs); break;
	case SORT_MSGS_FROM: r = -CMP(a->in_msgs, b->in_msgs); break;
	case SORT_BYTES_TO: r = -CMP(a->out_bytes, b->out_bytes); break;
	case SORT_BYTES_FROM: r = -CMP(a->in_bytes, b->in_bytes); break;
	case SORT_LAST: r = -CMP(a->last_ns, b->last_ns); break;
	case SORT_IDLE: r = -CMP(s->now - a->last_ns, s->now - b->last_ns); break;
	case SORT_UPTIME: r = CMP(a->start_ns, b->start_ns); break;
	case SORT_STOP: r = -CMP(a->stop_ns, b->stop_ns); break;
	case SORT_REASON: r = strcmp(a->reason ? a->reason : "", b->reason ? b->reason : ""); break;
	case SORT_RTT: r = -CMP(a->rtt_ns, b->rtt_ns); break;
	default: UNREACHABLE();
	}
	return r != 0 ? r : CMP(a->cid, b->cid); /* ties: a stable, deterministic order */
}

static json_t *
sub_detail(const char *subject, const char *queue, const char *sid, uint64_t msgs, uint64_t max, uint64_t cid,
    bool with_account)
{
	json_t *d = json_object();
	if (with_account)
		set(d, "account", json_string("$G"));
	set(d, "subject", json_string(subject));
	set_str_nonempty(d, "qgroup", queue);
	set(d, "sid", json_string(sid));
	set(d, "msgs", json_integer((json_int_t)msgs));
	if (max > 0)
		set(d, "max", json_integer((json_int_t)max));
	set(d, "cid", json_integer((json_int_t)cid));
	return d;
}

static json_t *
conn_info(const ConnRow *r, int64_t now, int subs_mode, bool auth)
{
	json_t *ci = json_object();
	char buf[64], dur[40];
	set(ci, "cid", json_integer((json_int_t)r->cid));
	set(ci, "kind", json_string("Client"));
	set(ci, "type", json_string("nats"));
	set(ci, "ip", json_string(r->ip));
	set(ci, "port", json_integer(r->port));
	set(ci, "start", broker_json_time(r->start_ns));
	set(ci, "last_activity", broker_json_time(r->last_ns));
	if (r->reason != NULL) {
		set(ci, "stop", broker_json_time(r->stop_ns));
		set(ci, "reason", json_string(r->reason));
	}
	/* getRTT: whole microseconds under a millisecond */
	int64_t rtt = r->rtt_ns > 1000 && r->rtt_ns < 1000000 ? r->rtt_ns / 1000 * 1000 : r->rtt_ns;
	broker_go_duration(rtt, dur);
	set(ci, "rtt", json_string(dur));
	int64_t end = r->reason != NULL ? r->stop_ns : now;
	go_uptime(end - r->start_ns, buf);
	set(ci, "uptime", json_string(buf));
	go_uptime(end - r->last_ns, buf);
	set(ci, "idle", json_string(buf));
	set(ci, "pending_bytes", json_integer((json_int_t)r->pending));
	set(ci, "in_msgs", json_integer((json_int_t)r->in_msgs));
	set(ci, "out_msgs", json_integer((json_int_t)r->out_msgs));
	set(ci, "in_bytes", json_integer((json_int_t)r->in_bytes));
	set(ci, "out_bytes", json_integer((json_int_t)r->out_bytes));
	set(ci, "subscriptions", json_integer(r->sub_count));
	set_str_nonempty(ci, "name", r->name);
	set_str_nonempty(ci, "lang", r->lang);
	set_str_nonempty(ci, "version", r->version);
	if (auth)
		set_str_nonempty(ci, "authorized_user", r->user);
	if (subs_mode != 0 && r->sub_count > 0) {
		json_t *list = json_array();
		if (r->open != NULL) {
			for (BrokerSub *s = r->open->sub_head; s != NULL; s = s->conn_next)
				json_array_append_new(list, subs_mode == 2 ? sub_detail(s->subject, s->queue, s->sid,
				    s->delivered, s->max, r->cid, false) : json_string(s->subject));
		} else if (r->closed->subs != NULL) {
			for (guint k = 0; k < r->closed->subs->len; k++) {
				BrokerClosedSub *s = &g_array_index(r->closed->subs, BrokerClosedSub, k);
				json_array_append_new(list, subs_mode == 2 ? sub_detail(s->subject, s->queue, s->sid,
				    s->msgs, 0, r->cid, false) : json_string(s->subject));
			}
		}
		set(ci, subs_mode == 2 ? "subscriptions_list_detail" : "subscriptions_list", list);
	}
	return ci;
}

static json_t *
connz(Broker *b, const Args *a, int64_t now, int *status, char **error)
{
	SortBy by = SORT_CID;
	const char *v;
	if ((v = arg(a, "sort")) != NULL && v[0] != '\0') {
		bool found = false;
		for (size_t k = 0; k < G_N_ELEMENTS(sort_names) && !found; k++)
			if (strcmp(v, sort_names[k].name) == 0) {
				by = sort_names[k].by;
				found = true;
			}
		if (!found) {
			*error = g_strdup_printf("invalid sorting option: %s", v);
			return NULL;
		}
	}
	int subs_mode = 0;
	if ((v = arg(a, "subs")) != NULL) {
		bool on;
		if (strcmp(v, "detail") == 0)
			subs_mode = 2;
		else if (parse_bool(v, &on))
			subs_mode = on ? 1 : 0;
		else {
			*error = g_strdup_printf("strconv.ParseBool: parsing \"%s\": invalid syntax", v);
			return NULL;
		}
	}
	bool auth = false;
	if ((v = arg(a, "auth")) != NULL && !parse_bool(v, &auth)) {
		*error = g_strdup_printf("strconv.ParseBool: parsing \"%s\": invalid syntax", v);
		return NULL;
	}
	int64_t offset = 0, limit = CONN_LIST_LIMIT_DEFAULT, cid = 0;
	if ((v = arg(a, "offset")) != NULL && !parse_int(v, &offset)) {
		*error = g_strdup_printf("strconv.Atoi: parsing \"%s\": invalid syntax", v);
		return NULL;
	}
	if ((v = arg(a, "limit")) != NULL && !parse_int(v, &limit)) {
		*error = g_strdup_printf("strconv.Atoi: parsing \"%s\": invalid syntax", v);
		return NULL;
	}
	if ((v = arg(a, "cid")) != NULL && !parse_int(v, &cid)) {
		*error = g_strdup_printf("strconv.ParseUint: parsing \"%s\": invalid syntax", v);
		return NULL;
	}
	offset = MAX(offset, 0);
	if (limit <= 0)
		limit = CONN_LIST_LIMIT_DEFAULT;
	int state = 0; /* 0 open, 1 closed, 2 all */
	if ((v = arg(a, "state")) != NULL && v[0] != '\0') {
		if (g_ascii_strcasecmp(v, "open") == 0)
			state = 0;
		else if (g_ascii_strcasecmp(v, "closed") == 0)
			state = 1;
		else if (g_ascii_strcasecmp(v, "all") == 0 || g_ascii_strcasecmp(v, "any") == 0)
			state = 2;
		else {
			*error = g_strdup_printf("Error decoding state: %s", v);
			return NULL;
		}
	}
	if ((by == SORT_STOP || by == SORT_REASON) && state != 1) {
		*error = g_strdup_printf("sort by %s only valid on closed connections", by == SORT_STOP ? "stop" : "reason");
		return NULL;
	}
	if (cid > 0)
		limit = 1;

	GArray *rows = g_array_new(FALSE, FALSE, sizeof(ConnRow));
	if (state != 1) {
		for (BrokerConn *c = b->conn_head; c != NULL; c = c->next) {
			if (c->closing || (cid > 0 && c->cid != (uint64_t)cid))
				continue;
			ConnRow r = { c->cid, c->ip, c->port, c->start_ns, c->last_activity_ns, 0, c->rtt_ns, c->in_msgs,
				c->out_msgs, c->in_bytes, c->out_bytes, proto_buf_pending(&c->out), c->sub_count, c->name,
				c->lang, c->version, c->user, NULL, c, NULL };
			g_array_append_val(rows, r);
		}
	}
	if (state != 0 && !(cid > 0 && rows->len > 0)) {
		for (uint32_t k = 0; k < b->closed_count; k++) {
			uint32_t index = (b->closed_next + BROKER_CLOSED_CONNS_MAX - b->closed_count + k) %
			    BROKER_CLOSED_CONNS_MAX;
			BrokerClosedConn *cc = &b->closed[index];
			if (cid > 0 && cc->cid != (uint64_t)cid)
				continue;
			ConnRow r = { cc->cid, cc->ip, cc->port, cc->start_ns, cc->last_activity_ns, cc->stop_ns, cc->rtt_ns,
				cc->in_msgs, cc->out_msgs, cc->in_bytes, cc->out_bytes, 0, cc->sub_count, cc->name,
				cc->lang, cc->version, cc->user, broker_close_reason_str(cc->reason), NULL, cc };
			g_array_append_val(rows, r);
		}
	}
	uint64_t total = rows->len;
	if (cid == 0) {
		total = state == 1 ? b->closed_count : state == 2 ? b->conn_count + b->closed_count : b->conn_count;
	}
	SortCtx sc = { by, now };
	g_array_sort_with_data(rows, row_compare, &sc);
	json_t *list = json_array();
	for (int64_t k = offset; k < (int64_t)rows->len && k < offset + limit; k++)
		json_array_append_new(list, conn_info(&g_array_index(rows, ConnRow, k), now, subs_mode, auth));
	g_array_free(rows, TRUE);
	json_t *z = json_object();
	set(z, "server_id", json_string(b->server_id));
	set(z, "now", broker_json_time(now));
	set(z, "num_connections", json_integer((json_int_t)json_array_size(list)));
	set(z, "total", json_integer((json_int_t)total));
	set(z, "offset", json_integer(offset));
	set(z, "limit", json_integer(limit));
	set(z, "connections", list);
	*status = 200;
	return z;
}

/* ---- /subsz ---- */

static json_t *
subsz(Broker *b, const Args *a, int64_t now, char **error)
{
	const SublistStats *st = sublist_stats(b->sublist);
	const char *v;
	bool list = false;
	if ((v = arg(a, "subs")) != NULL && !parse_bool(v, &list)) {
		*error = g_strdup_printf("strconv.ParseBool: parsing \"%s\": invalid syntax", v);
		return NULL;
	}
	int64_t offset = 0, limit = SUB_LIST_LIMIT_DEFAULT;
	if ((v = arg(a, "offset")) != NULL && !parse_int(v, &offset)) {
		*error = g_strdup_printf("strconv.Atoi: parsing \"%s\": invalid syntax", v);
		return NULL;
	}
	if ((v = arg(a, "limit")) != NULL && !parse_int(v, &limit)) {
		*error = g_strdup_printf("strconv.Atoi: parsing \"%s\": invalid syntax", v);
		return NULL;
	}
	offset = MAX(offset, 0);
	if (limit <= 0)
		limit = SUB_LIST_LIMIT_DEFAULT;
	const char *test = arg(a, "test");
	if (test != NULL && test[0] != '\0' && !proto_subject_valid_literal(test, strlen(test))) {
		*error = g_strdup_printf("invalid test subject, must be valid publish subject: %s", test);
		return NULL;
	}
	json_t *z = json_object();
	set(z, "server_id", json_string(b->server_id));
	set(z, "now", broker_json_time(now));
	set(z, "num_subscriptions", json_integer((json_int_t)st->count));
	set(z, "num_cache", json_integer(st->cache_entries));
	set(z, "num_inserts", json_integer((json_int_t)st->inserts));
	set(z, "num_removes", json_integer((json_int_t)st->removes));
	set(z, "num_matches", json_integer((json_int_t)st->matches));
	set(z, "cache_hit_rate", json_go_float(st->matches ? (double)st->cache_hits / (double)st->matches : 0));
	set(z, "max_fanout", json_integer(st->fanout_max));
	uint64_t misses = st->matches - st->cache_hits;
	set(z, "avg_fanout", json_go_float(misses ? (double)st->fanout_total / (double)misses : 0));
	if (list || (test != NULL && test[0] != '\0')) {
		json_t *subs = json_array();
		int64_t index = 0, total = 0;
		for (BrokerConn *c = b->conn_head; c != NULL; c = c->next) {
			for (BrokerSub *s = c->sub_head; s != NULL; s = s->conn_next) {
				if (test != NULL && test[0] != '\0' &&
				    !proto_subject_matches(s->subject, strlen(s->subject), test, strlen(test)))
					continue;
				total++;
				if (index++ >= offset && (int64_t)json_array_size(subs) < limit)
					json_array_append_new(subs,
					    sub_detail(s->subject, s->queue, s->sid, s->delivered, s->max, c->cid, true));
			}
		}
		set(z, "total", json_integer(total));
		set(z, "offset", json_integer(offset));
		set(z, "limit", json_integer(limit));
		if (json_array_size(subs) > 0)
			set(z, "subscriptions_list", subs);
		else
			json_decref(subs);
	} else {
		set(z, "total", json_integer(0));
		set(z, "offset", json_integer(offset));
		set(z, "limit", json_integer(limit));
	}
	return z;
}

/* ---- the rest ---- */

static json_t *
jsz(Broker *b, int64_t now)
{
	json_t *z = json_object();
	set(z, "server_id", json_string(b->server_id));
	set(z, "now", broker_json_time(now));
	set(z, "disabled", json_true());
	json_t *config = json_object();
	set(config, "max_memory", json_integer(0));
	set(config, "max_storage", json_integer(0));
	set(z, "config", config);
	const char *zeros[] = { "memory", "storage", "reserved_memory", "reserved_storage", "accounts", "ha_assets" };
	for (size_t k = 0; k < G_N_ELEMENTS(zeros); k++)
		set(z, zeros[k], json_integer(0));
	json_t *api = json_object();
	set(api, "total", json_integer(0));
	set(api, "errors", json_integer(0));
	set(z, "api", api);
	const char *more[] = { "streams", "consumers", "messages", "bytes" };
	for (size_t k = 0; k < G_N_ELEMENTS(more); k++)
		set(z, more[k], json_integer(0));
	return z;
}

static json_t *
empty_listing(Broker *b, int64_t now, const char *count_key, const char *list_key)
{
	json_t *z = json_object();
	set(z, "server_id", json_string(b->server_id));
	set(z, "now", broker_json_time(now));
	set(z, count_key, json_integer(0));
	set(z, list_key, json_array());
	return z;
}

static char *
root_html(void)
{
	return g_strdup("<html lang=\"en\">\n<head><title>natsim</title></head>\n<body>\n"
			"<h1>natsim " NATSIM_VERSION "</h1>\n"
			"<a href=./varz>General</a><br/>\n<a href=./jsz>JetStream</a><br/>\n"
			"<a href=./connz>Connections</a><br/>\n<a href=./accountz>Accounts</a><br/>\n"
			"<a href=./subsz>Subscriptions</a><br/>\n<a href=./routez>Routes</a><br/>\n"
			"<a href=./leafz>LeafNodes</a><br/>\n<a href=./gatewayz>Gateways</a><br/>\n"
			"<a href=./healthz>Health Probe</a><br/>\n"
			"<a href=https://docs.nats.io/running-a-nats-service/nats_admin/monitoring>Help</a>\n"
			"</body>\n</html>\n");
}

static void
count_request(Broker *b, const char *path)
{
	guint64 *n = g_hash_table_lookup(b->http_req_stats, path);
	if (n == NULL) {
		n = g_new0(guint64, 1);
		g_hash_table_insert(b->http_req_stats, g_strdup(path), n);
	}
	(*n)++;
}

char *
broker_monitor(Broker *b, const char *path, const BrokerMonitorArg *args, size_t arg_count,
    const BrokerHostStats *host, int64_t now_ns, int *http_status, const char **content_type)
{
	Args a = { args, arg_count };
	json_t *body = NULL;
	char *error = NULL;
	*http_status = 200;
	*content_type = "application/json";
	b->now_ns = MAX(b->now_ns, now_ns);
	if (strcmp(path, "/") == 0) {
		count_request(b, "/");
		*content_type = "text/html; charset=utf-8";
		return root_html();
	} else if (strcmp(path, "/varz") == 0) {
		count_request(b, path);
		body = varz(b, host, now_ns);
	} else if (strcmp(path, "/connz") == 0) {
		count_request(b, path);
		body = connz(b, &a, now_ns, http_status, &error);
	} else if (strcmp(path, "/subsz") == 0 || strcmp(path, "/subscriptionsz") == 0) {
		count_request(b, "/subsz");
		body = subsz(b, &a, now_ns, &error);
	} else if (strcmp(path, "/healthz") == 0) {
		count_request(b, path);
		return g_strdup("{\"status\":\"ok\"}");
	} else if (strcmp(path, "/jsz") == 0) {
		count_request(b, path);
		body = b->js != NULL ? js_server_jsz(b->js, args, arg_count, now_ns, &error) : jsz(b, now_ns);
	} else if (strcmp(path, "/accountz") == 0) {
		count_request(b, path);
		body = json_object();
		set(body, "server_id", json_string(b->server_id));
		set(body, "now", broker_json_time(now_ns));
		json_t *accounts = json_array();
		json_array_append_new(accounts, json_string("$G"));
		set(body, "accounts", accounts);
	} else if (strcmp(path, "/routez") == 0) {
		count_request(b, path);
		body = empty_listing(b, now_ns, "num_routes", "routes");
	} else if (strcmp(path, "/leafz") == 0) {
		count_request(b, path);
		body = empty_listing(b, now_ns, "leafnodes", "leafs");
	} else if (strcmp(path, "/gatewayz") == 0) {
		count_request(b, path);
		body = json_object();
		set(body, "server_id", json_string(b->server_id));
		set(body, "now", broker_json_time(now_ns));
		set(body, "outbound_gateways", json_object());
		set(body, "inbound_gateways", json_object());
	} else {
		*http_status = 404;
		*content_type = "text/plain; charset=utf-8";
		return g_strdup("404 page not found\n");
	}
	if (error != NULL) {
		*http_status = 400;
		*content_type = "text/plain; charset=utf-8";
		return error;
	}
	ASSERT(body != NULL);
	return dump(body);
}
