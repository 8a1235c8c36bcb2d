/*
 * scenario_parse.c - the scenario language's lexer and parser (the
 * language is scenarios/README.md; the model is scenario.h).
 *
 * Line by line: a line is cut into words and quoted strings, each with its
 * column; the first word says what the line is. Names must be declared
 * before they are used, so every error can point at the word that is
 * wrong. `let` values are drawn while parsing, in file order, from the
 * seed's "scenario" stream.
 */
#include "sim/scenario.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "proto/assert.h"
#include "proto/prng.h"
#include "proto/subject.h"

G_DEFINE_QUARK(natsim-scenario-error-quark, scenario_error)

typedef enum { TOK_WORD = 1, TOK_STRING } TokKind;

typedef struct Tok {
	TokKind kind;
	char *text; /* strings: unescaped */
	size_t len;
	int col;
} Tok;

typedef struct Parser {
	const char *path;
	Scenario *scn;
	Prng prng;
	GHashTable *vars; /* name -> value text (owned) */
	int line;
	GPtrArray *toks; /* Tok* of the current line */
	guint pos;       /* next token */
	GError **error;
	bool failed;
	int64_t prev_at_ns;
	uint32_t action_index;
	GHashTable *streams;   /* names added by `add stream` so far (set) */
	GHashTable *consumers; /* "STREAM/NAME" added by `add consumer` so far (set) */
} Parser;

static const char *const reserved[] = {
	"broker", "client", "link", "run", "let", "at", "expect", "subscribe", "unsubscribe", "publish",
	"request", "reply", "flush", "pause", "disconnect", "close", "partition", "heal", "crash", "restart",
	"reset", "latency", "clock", "each", "of", "never", "receives", "receive", "on", "queue",
	"js-publish", "add", "update", "delete", "purge", "fetch", "consume", "stop", "subscribe-push", "corrupt",
	"disk-fail", "stream", "consumer", "gets", "get", "pubacks", "advisory", "logs",
};

/* ---- errors ---- */

static bool G_GNUC_PRINTF(3, 4)
fail_at(Parser *p, int col, const char *fmt, ...)
{
	if (p->failed)
		return false;
	va_list ap;
	va_start(ap, fmt);
	char *msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error(p->error, SCENARIO_ERROR, 1, "%s:%d:%d: %s", p->path, p->line, col, msg);
	g_free(msg);
	p->failed = true;
	return false;
}

static Tok *
peek(Parser *p)
{
	return p->pos < p->toks->len ? p->toks->pdata[p->pos] : NULL;
}

static Tok *
next(Parser *p)
{
	return p->pos < p->toks->len ? p->toks->pdata[p->pos++] : NULL;
}

/* Column just past the last token, for "expected ... at end of line". */
static int
end_col(Parser *p)
{
	if (p->toks->len == 0)
		return 1;
	Tok *t = p->toks->pdata[p->toks->len - 1];
	return t->col + (int)t->len + (t->kind == TOK_STRING ? 2 : 0);
}

static bool
is_word(const Tok *t, const char *w)
{
	return t != NULL && t->kind == TOK_WORD && strcmp(t->text, w) == 0;
}

static bool
accept_word(Parser *p, const char *w)
{
	if (is_word(peek(p), w)) {
		p->pos++;
		return true;
	}
	return false;
}

static Tok *
expect_any(Parser *p, const char *what)
{
	Tok *t = next(p);
	if (t == NULL)
		fail_at(p, end_col(p), "expected %s at the end of the line", what);
	return t;
}

static bool
expect_word(Parser *p, const char *w)
{
	Tok *t = next(p);
	if (t == NULL)
		return fail_at(p, end_col(p), "expected '%s' at the end of the line", w);
	if (!is_word(t, w))
		return fail_at(p, t->col, "expected '%s', found '%s'", w, t->text);
	return true;
}

static bool
at_end(Parser *p)
{
	Tok *t = peek(p);
	if (t != NULL)
		return fail_at(p, t->col, "unexpected '%s'", t->text);
	return true;
}

/* ---- lexing ---- */

static void
tok_free(Tok *t)
{
	g_free(t->text);
	g_free(t);
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)g_ascii_tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Cuts one logical line (continuations already joined) into tokens. */
static bool
lex_line(Parser *p, const char *line, const int *cols)
{
	size_t n = strlen(line);
	size_t i = 0;
	while (i < n) {
		char c = line[i];
		if (c == ' ' || c == '\t' || c == '\r') {
			i++;
			continue;
		}
		if (c == '#')
			break;
		Tok *t = g_new0(Tok, 1);
		t->col = cols[i];
		if (c == '"') {
			GString *s = g_string_new(NULL);
			i++;
			bool closed = false;
			while (i < n) {
				char d = line[i];
				if (d == '"') {
					closed = true;
					i++;
					break;
				}
				if (d == '\\' && i + 1 < n) {
					char e = line[i + 1];
					i += 2;
					switch (e) {
					case 'n': g_string_append_c(s, '\n'); break;
					case 'r': g_string_append_c(s, '\r'); break;
					case 't': g_string_append_c(s, '\t'); break;
					case '"': g_string_append_c(s, '"'); break;
					case '\\': g_string_append_c(s, '\\'); break;
					case 'x': {
						int hi = i < n ? hexval(line[i]) : -1;
						int lo = i + 1 < n ? hexval(line[i + 1]) : -1;
						if (hi < 0 || lo < 0) {
							g_string_free(s, TRUE);
							tok_free(t);
							return fail_at(p, cols[i - 2], "\\x needs two hex digits");
						}
						g_string_append_c(s, (char)(hi * 16 + lo));
						i += 2;
						break;
					}
					default:
						g_string_free(s, TRUE);
						tok_free(t);
						return fail_at(p, cols[i - 2], "unknown escape '\\%c'", e);
					}
					continue;
				}
				g_string_append_c(s, d);
				i++;
			}
			if (!closed) {
				g_string_free(s, TRUE);
				int col = t->col;
				tok_free(t);
				return fail_at(p, col, "unterminated string");
			}
			t->kind = TOK_STRING;
			t->len = s->len;
			t->text = g_string_free(s, FALSE);
		} else {
			size_t start = i;
			while (i < n && line[i] != ' ' && line[i] != '\t' && line[i] != '\r' && line[i] != '#')
				i++;
			t->kind = TOK_WORD;
			t->text = g_strndup(line + start, i - start);
			t->len = i - start;
		}
		g_ptr_array_add(p->toks, t);
	}
	return true;
}

/* ---- values ---- */

/* A number with a unit into nanoseconds. */
static bool
duration_from(const char *s, int64_t *out)
{
	static const struct {
		const char *unit;
		double ns;
	} units[] = {
		{ "ns", 1 }, { "us", 1e3 }, { "\xc2\xb5s", 1e3 }, { "ms", 1e6 }, { "s", 1e9 },
		{ "m", 60e9 }, { "h", 3600e9 }, { "d", 86400e9 },
	};
	char *end;
	if (!g_ascii_isdigit(s[0]))
		return false;
	double v = g_ascii_strtod(s, &end);
	if (end == s)
		return false;
	for (size_t k = 0; k < G_N_ELEMENTS(units); k++) {
		if (strcmp(end, units[k].unit) == 0) {
			double ns = v * units[k].ns;
			if (!(ns >= 0 && ns < 9.2e18))
				return false;
			*out = (int64_t)llround(ns);
			return true;
		}
	}
	return false;
}

static bool
count_from(const char *s, uint64_t *out)
{
	char *end;
	if (!g_ascii_isdigit(s[0]))
		return false;
	guint64 v = g_ascii_strtoull(s, &end, 10);
	if (*end != '\0')
		return false;
	*out = v;
	return true;
}

/* Resolves "$NAME", "$NAME+DUR" or "$NAME-DUR" to text, or returns the
 * word itself. On a duration offset the result is a duration. */
static bool
resolve(Parser *p, const Tok *t, char **out)
{
	if (t->kind != TOK_WORD || t->text[0] != '$') {
		*out = g_strdup(t->text);
		return true;
	}
	const char *name = t->text + 1;
	size_t len = strcspn(name, "+-");
	char *key = g_strndup(name, len);
	const char *value = g_hash_table_lookup(p->vars, key);
	g_free(key);
	if (value == NULL || len == 0)
		return fail_at(p, t->col, "unknown variable '%.*s'", (int)len + 1, t->text);
	if (name[len] == '\0') {
		*out = g_strdup(value);
		return true;
	}
	int64_t base, delta;
	if (!duration_from(value, &base))
		return fail_at(p, t->col, "'%.*s' is not a duration, so it cannot be offset", (int)len + 1, t->text);
	if (!duration_from(name + len + 1, &delta))
		return fail_at(p, t->col, "'%s' is not a duration", name + len + 1);
	int64_t sum = name[len] == '+' ? base + delta : base - delta;
	if (sum < 0)
		return fail_at(p, t->col, "'%s' is negative", t->text);
	*out = scenario_format_duration(sum);
	return true;
}

static bool
parse_duration(Parser *p, const char *what, int64_t *out)
{
	Tok *t = expect_any(p, what);
	if (t == NULL)
		return false;
	char *text = NULL;
	if (!resolve(p, t, &text))
		return false;
	bool ok = duration_from(text, out);
	g_free(text);
	if (!ok)
		return fail_at(p, t->col, "'%s' is not a duration (a number with a unit: ns us ms s m h d)", t->text);
	return true;
}

static bool
parse_count(Parser *p, const char *what, uint64_t *out)
{
	Tok *t = expect_any(p, what);
	if (t == NULL)
		return false;
	char *text = NULL;
	if (!resolve(p, t, &text))
		return false;
	bool ok = count_from(text, out);
	g_free(text);
	if (!ok)
		return fail_at(p, t->col, "'%s' is not a whole number", t->text);
	return true;
}

static bool
parse_size(Parser *p, const char *what, uint64_t *out)
{
	static const struct {
		const char *unit;
		uint64_t mult;
	} units[] = {
		{ "", 1 }, { "B", 1 }, { "KB", 1000 }, { "KiB", 1024 }, { "MB", 1000000 }, { "MiB", 1048576 },
		{ "GB", 1000000000 }, { "GiB", 1073741824 },
	};
	Tok *t = expect_any(p, what);
	if (t == NULL)
		return false;
	char *text = NULL;
	if (!resolve(p, t, &text))
		return false;
	char *end;
	bool ok = g_ascii_isdigit(text[0]);
	guint64 v = ok ? g_ascii_strtoull(text, &end, 10) : 0;
	ok = false;
	if (g_ascii_isdigit(text[0]))
		for (size_t k = 0; k < G_N_ELEMENTS(units) && !ok; k++)
			if (strcmp(end, units[k].unit) == 0) {
				*out = v * units[k].mult;
				ok = true;
			}
	g_free(text);
	if (!ok)
		return fail_at(p, t->col, "'%s' is not a size (a number, optionally KB KiB MB MiB GB GiB)", t->text);
	return true;
}

static bool
parse_fraction(Parser *p, const char *what, double *out)
{
	Tok *t = expect_any(p, what);
	if (t == NULL)
		return false;
	char *end;
	double v = g_ascii_strtod(t->text, &end);
	if (t->kind != TOK_WORD || end == t->text || *end != '\0' || !(v >= 0 && v <= 1))
		return fail_at(p, t->col, "'%s' is not a number between 0 and 1", t->text);
	*out = v;
	return true;
}

static bool
parse_on_off(Parser *p, const char *what, bool *out)
{
	Tok *t = expect_any(p, what);
	if (t == NULL)
		return false;
	if (is_word(t, "on"))
		*out = true;
	else if (is_word(t, "off"))
		*out = false;
	else
		return fail_at(p, t->col, "expected 'on' or 'off', found '%s'", t->text);
	return true;
}

static bool
parse_text(Parser *p, const char *what, char **out)
{
	Tok *t = expect_any(p, what);
	if (t == NULL)
		return false;
	g_free(*out);
	*out = g_strdup(t->text);
	return true;
}

/* A subject: a word or a string, valid as a subscription subject. */
static bool
parse_subject(Parser *p, const char *what, bool wildcards, char **out)
{
	Tok *t = expect_any(p, what);
	if (t == NULL)
		return false;
	bool ok = wildcards ? proto_subject_valid(t->text, t->len) : proto_subject_valid(t->text, t->len) &&
	    !proto_subject_has_wildcard(t->text, t->len);
	if (!ok)
		return fail_at(p, t->col, "'%s' is not a valid %s subject", t->text, wildcards ? "subscription" : "publish");
	*out = g_strdup(t->text);
	return true;
}

static bool
parse_payload(Parser *p, char **out, size_t *len)
{
	Tok *t = expect_any(p, "a payload");
	if (t == NULL)
		return false;
	*out = g_memdup2(t->text, t->len + 1);
	*len = t->len;
	return true;
}

/* ---- names ---- */

static bool
is_reserved(const char *name)
{
	for (size_t k = 0; k < G_N_ELEMENTS(reserved); k++)
		if (strcmp(name, reserved[k]) == 0)
			return true;
	return false;
}

static ScnBroker *
find_broker(Parser *p, const char *name)
{
	for (guint k = 0; k < p->scn->brokers->len; k++) {
		ScnBroker *b = p->scn->brokers->pdata[k];
		if (strcmp(b->name, name) == 0)
			return b;
	}
	return NULL;
}

static ScnClient *
find_client(Parser *p, const char *name)
{
	for (guint k = 0; k < p->scn->clients->len; k++) {
		ScnClient *c = p->scn->clients->pdata[k];
		if (strcmp(c->name, name) == 0)
			return c;
	}
	return NULL;
}

static bool
valid_name(Parser *p, const Tok *t)
{
	if (t->kind != TOK_WORD)
		return fail_at(p, t->col, "a name is a word, not a string");
	for (size_t k = 0; k < t->len; k++)
		if (!(g_ascii_isalnum(t->text[k]) || t->text[k] == '_' || t->text[k] == '-'))
			return fail_at(p, t->col, "'%s' is not a name (letters, digits, '_' and '-')", t->text);
	if (is_reserved(t->text))
		return fail_at(p, t->col, "'%s' is a keyword and cannot be a name", t->text);
	if (find_broker(p, t->text) != NULL || find_client(p, t->text) != NULL)
		return fail_at(p, t->col, "'%s' is already declared", t->text);
	return true;
}

static bool
expect_client(Parser *p, const Tok *t)
{
	if (find_client(p, t->text) == NULL)
		return fail_at(p, t->col, "unknown client '%s'", t->text);
	return true;
}

static bool
expect_node(Parser *p, const Tok *t)
{
	if (find_client(p, t->text) == NULL && find_broker(p, t->text) == NULL)
		return fail_at(p, t->col, "unknown node '%s'", t->text);
	return true;
}

/* ---- declarations ---- */

static bool
parse_link_option(Parser *p, const Tok *key, ScnLinkOpts *o)
{
	uint64_t v;
	if (is_word(key, "latency")) {
		o->set |= SCN_LINK_LATENCY;
		return parse_duration(p, "a latency", &o->latency_ns);
	}
	if (is_word(key, "jitter")) {
		o->set |= SCN_LINK_JITTER;
		return parse_duration(p, "a jitter", &o->jitter_ns);
	}
	if (is_word(key, "bandwidth")) {
		o->set |= SCN_LINK_BANDWIDTH;
		if (!parse_size(p, "a bandwidth per second", &v))
			return false;
		o->bandwidth_bytes_per_s = v;
		return true;
	}
	if (is_word(key, "segment")) {
		o->set |= SCN_LINK_SEGMENT;
		if (!parse_size(p, "a segment size", &v))
			return false;
		o->segment_bytes_max = (uint32_t)MIN(v, UINT32_MAX);
		return true;
	}
	if (is_word(key, "split")) {
		o->set |= SCN_LINK_SPLIT;
		return parse_fraction(p, "a split chance", &o->split_chance);
	}
	if (is_word(key, "window")) {
		o->set |= SCN_LINK_WINDOW;
		if (!parse_size(p, "a window size", &v))
			return false;
		if (v == 0)
			return fail_at(p, key->col, "the window must be at least 1 byte");
		o->window_bytes = (uint32_t)MIN(v, UINT32_MAX);
		return true;
	}
	if (is_word(key, "partition_reset")) {
		o->set |= SCN_LINK_PARTITION_RESET;
		return parse_duration(p, "a duration", &o->partition_reset_ns);
	}
	return fail_at(p, key->col, "unknown link option '%s'", key->text);
}

static bool
parse_broker(Parser *p)
{
	Tok *name = expect_any(p, "a broker name");
	if (name == NULL || !valid_name(p, name))
		return false;
	ScnBroker *b = g_new0(ScnBroker, 1);
	b->pos = (ScnPos){ p->line, name->col };
	b->name = g_strdup(name->text);
	b->port = 4222;
	g_ptr_array_add(p->scn->brokers, b);
	BrokerConfig *c = &b->config;
	Tok *key;
	while ((key = next(p)) != NULL) {
		uint64_t v;
		bool ok;
		if (is_word(key, "port")) {
			ok = parse_count(p, "a port", &v) && (v > 0 && v < 65536 ? true : fail_at(p, key->col, "a port is 1..65535"));
			b->port = (uint16_t)v;
		} else if (is_word(key, "max_payload")) {
			ok = parse_size(p, "a size", &v) &&
			    (v > 0 && v <= 64 * 1024 * 1024 ? true : fail_at(p, key->col, "max_payload is 1 byte..64MiB"));
			c->payload_max_bytes = (int64_t)v;
		} else if (is_word(key, "max_pending")) {
			ok = parse_size(p, "a size", &v) && (v > 0 ? true : fail_at(p, key->col, "max_pending must be positive"));
			c->pending_bytes_max = (int64_t)v;
		} else if (is_word(key, "max_connections")) {
			ok = parse_count(p, "a number", &v);
			c->connections_max = (uint32_t)MIN(v, UINT32_MAX);
		} else if (is_word(key, "max_subscriptions")) {
			ok = parse_count(p, "a number", &v);
			c->subscriptions_max = (uint32_t)MIN(v, UINT32_MAX);
		} else if (is_word(key, "max_control_line")) {
			ok = parse_size(p, "a size", &v) && (v >= 32 ? true : fail_at(p, key->col, "max_control_line is at least 32"));
			c->control_line_max = (uint32_t)MIN(v, UINT32_MAX);
		} else if (is_word(key, "ping_interval")) {
			ok = parse_duration(p, "a duration", &c->ping_interval_ns) &&
			    (c->ping_interval_ns > 0 ? true : fail_at(p, key->col, "ping_interval must be positive"));
		} else if (is_word(key, "ping_max")) {
			ok = parse_count(p, "a number", &v) && (v > 0 ? true : fail_at(p, key->col, "ping_max must be positive"));
			c->pings_out_max = (uint32_t)MIN(v, UINT32_MAX);
		} else if (is_word(key, "write_deadline")) {
			ok = parse_duration(p, "a duration", &c->write_deadline_ns);
		} else if (is_word(key, "auth_timeout")) {
			ok = parse_duration(p, "a duration", &c->auth_timeout_ns);
		} else if (is_word(key, "user")) {
			ok = parse_text(p, "a user", (char **)&c->user);
		} else if (is_word(key, "password")) {
			ok = parse_text(p, "a password", (char **)&c->password);
		} else if (is_word(key, "token")) {
			ok = parse_text(p, "a token", (char **)&c->token);
		} else if (is_word(key, "jetstream")) {
			c->jetstream = true;
			ok = true;
		} else if (is_word(key, "sync")) {
			if (accept_word(p, "always")) {
				c->js_sync_always = true;
				ok = true;
			} else {
				ok = parse_duration(p, "'always' or an interval", &c->js_sync_interval_ns) &&
				    (c->js_sync_interval_ns > 0 ? true : fail_at(p, key->col, "the sync interval must be positive"));
			}
		} else if (is_word(key, "max_memory") || is_word(key, "max_storage")) {
			ok = parse_size(p, "a size", &v);
			*(is_word(key, "max_memory") ? &c->js_max_memory_bytes : &c->js_max_storage_bytes) = (int64_t)MIN(v, INT64_MAX);
		} else if (is_word(key, "disk")) {
			ok = parse_size(p, "a disk capacity", &b->disk_capacity_bytes) &&
			    (b->disk_capacity_bytes > 0 ? true : fail_at(p, key->col, "a disk holds at least 1 byte"));
		} else if (is_word(key, "torn_writes")) {
			ok = parse_fraction(p, "a chance between 0 and 1", &b->torn_write_chance);
		} else {
			return fail_at(p, key->col, "unknown broker option '%s'", key->text);
		}
		if (!ok)
			return false;
	}
	if (c->user != NULL && c->token != NULL)
		return fail_at(p, name->col, "a broker takes a user or a token, not both");
	if ((c->user == NULL) != (c->password == NULL))
		return fail_at(p, name->col, "user and password go together");
	if (!c->jetstream && (c->js_sync_always || c->js_sync_interval_ns || c->js_max_memory_bytes ||
	    c->js_max_storage_bytes))
		return fail_at(p, name->col, "sync, max_memory and max_storage need 'jetstream'");
	return true;
}

static bool
parse_client(Parser *p)
{
	GPtrArray *names = g_ptr_array_new();
	Tok *t;
	while ((t = next(p)) != NULL && !is_word(t, "->")) {
		if (!valid_name(p, t)) {
			g_ptr_array_free(names, TRUE);
			return false;
		}
		for (guint k = 0; k < names->len; k++)
			if (strcmp(((Tok *)names->pdata[k])->text, t->text) == 0) {
				g_ptr_array_free(names, TRUE);
				return fail_at(p, t->col, "'%s' is named twice", t->text);
			}
		g_ptr_array_add(names, t);
	}
	if (names->len == 0) {
		g_ptr_array_free(names, TRUE);
		return fail_at(p, t ? t->col : end_col(p), "expected a client name");
	}
	if (t == NULL) {
		g_ptr_array_free(names, TRUE);
		return fail_at(p, end_col(p), "expected '-> BROKER' after the client names");
	}
	Tok *broker = expect_any(p, "a broker name");
	if (broker == NULL || find_broker(p, broker->text) == NULL) {
		g_ptr_array_free(names, TRUE);
		return broker ? fail_at(p, broker->col, "unknown broker '%s'", broker->text) : false;
	}
	ScnClient proto = { .echo = true, .reconnect = true };
	proto.broker = broker->text;
	while ((t = next(p)) != NULL) {
		uint64_t v;
		bool ok;
		if (is_word(t, "user"))
			ok = parse_text(p, "a user", &proto.user);
		else if (is_word(t, "password"))
			ok = parse_text(p, "a password", &proto.password);
		else if (is_word(t, "token"))
			ok = parse_text(p, "a token", &proto.token);
		else if (is_word(t, "name"))
			ok = parse_text(p, "a name", &proto.conn_name);
		else if (is_word(t, "echo"))
			ok = parse_on_off(p, "on or off", &proto.echo);
		else if (is_word(t, "reconnect"))
			ok = parse_on_off(p, "on or off", &proto.reconnect);
		else if (is_word(t, "reconnect_wait"))
			ok = parse_duration(p, "a duration", &proto.reconnect_wait_ns);
		else if (is_word(t, "ping_interval"))
			ok = parse_duration(p, "a duration", &proto.ping_interval_ns);
		else if (is_word(t, "ping_max")) {
			ok = parse_count(p, "a number", &v);
			proto.ping_max = (uint32_t)MIN(v, UINT32_MAX);
		} else if (is_word(t, "connect_at"))
			ok = parse_duration(p, "a time", &proto.connect_at_ns);
		else if (is_word(t, "latency") || is_word(t, "jitter") || is_word(t, "bandwidth") || is_word(t, "segment") ||
		    is_word(t, "split") || is_word(t, "window") || is_word(t, "partition_reset"))
			ok = parse_link_option(p, t, &proto.link);
		else
			ok = fail_at(p, t->col, "unknown client option '%s'", t->text);
		if (!ok) {
			g_free(proto.user);
			g_free(proto.password);
			g_free(proto.token);
			g_free(proto.conn_name);
			g_ptr_array_free(names, TRUE);
			return false;
		}
	}
	for (guint k = 0; k < names->len; k++) {
		Tok *n = names->pdata[k];
		ScnClient *c = g_new0(ScnClient, 1);
		*c = proto;
		c->pos = (ScnPos){ p->line, n->col };
		c->name = g_strdup(n->text);
		c->broker = g_strdup(broker->text);
		c->user = g_strdup(proto.user);
		c->password = g_strdup(proto.password);
		c->token = g_strdup(proto.token);
		c->conn_name = g_strdup(proto.conn_name);
		g_ptr_array_add(p->scn->clients, c);
	}
	g_free(proto.user);
	g_free(proto.password);
	g_free(proto.token);
	g_free(proto.conn_name);
	g_ptr_array_free(names, TRUE);
	return true;
}

static bool
parse_link(Parser *p)
{
	Tok *a = expect_any(p, "a node name");
	if (a == NULL || !expect_node(p, a))
		return false;
	Tok *arrow = expect_any(p, "'->' or '<->'");
	if (arrow == NULL)
		return false;
	if (!is_word(arrow, "->") && !is_word(arrow, "<->"))
		return fail_at(p, arrow->col, "expected '->' or '<->', found '%s'", arrow->text);
	Tok *b = expect_any(p, "a node name");
	if (b == NULL || !expect_node(p, b))
		return false;
	ScnLink *l = g_new0(ScnLink, 1);
	l->pos = (ScnPos){ p->line, a->col };
	l->from = g_strdup(a->text);
	l->to = g_strdup(b->text);
	l->both_ways = is_word(arrow, "<->");
	g_ptr_array_add(p->scn->links, l);
	Tok *t;
	if (peek(p) == NULL)
		return fail_at(p, end_col(p), "a link line needs at least one option");
	while ((t = next(p)) != NULL)
		if (!parse_link_option(p, t, &l->opts))
			return false;
	return true;
}

static bool
parse_let(Parser *p)
{
	Tok *name = expect_any(p, "a variable name");
	if (name == NULL)
		return false;
	for (size_t k = 0; k < name->len; k++)
		if (!(g_ascii_isalnum(name->text[k]) || name->text[k] == '_'))
			return fail_at(p, name->col, "'%s' is not a variable name (letters, digits, '_')", name->text);
	if (g_hash_table_contains(p->vars, name->text))
		return fail_at(p, name->col, "variable '%s' is already defined", name->text);
	if (!expect_word(p, "="))
		return false;
	Tok *kind = expect_any(p, "a value, 'uniform A B' or 'choice V...'");
	if (kind == NULL)
		return false;
	char *value = NULL;
	if (is_word(kind, "uniform")) {
		Tok *lo = expect_any(p, "a lower bound");
		Tok *hi = lo ? expect_any(p, "an upper bound") : NULL;
		if (hi == NULL)
			return false;
		int64_t dlo, dhi;
		uint64_t nlo, nhi;
		if (duration_from(lo->text, &dlo) && duration_from(hi->text, &dhi)) {
			if (dhi < dlo)
				return fail_at(p, hi->col, "the upper bound is below the lower bound");
			value = scenario_format_duration(prng_range(&p->prng, dlo, dhi));
		} else if (count_from(lo->text, &nlo) && count_from(hi->text, &nhi)) {
			if (nhi < nlo)
				return fail_at(p, hi->col, "the upper bound is below the lower bound");
			value = g_strdup_printf("%" G_GUINT64_FORMAT, (guint64)prng_range(&p->prng, (int64_t)nlo, (int64_t)nhi));
		} else {
			return fail_at(p, lo->col, "uniform takes two durations or two whole numbers");
		}
	} else if (is_word(kind, "choice")) {
		guint first = p->pos;
		if (first >= p->toks->len)
			return fail_at(p, end_col(p), "choice needs at least one value");
		guint pick = first + (guint)prng_below(&p->prng, p->toks->len - first);
		value = g_strdup(((Tok *)p->toks->pdata[pick])->text);
		p->pos = p->toks->len;
	} else {
		if (!resolve(p, kind, &value))
			return false;
	}
	if (!at_end(p)) {
		g_free(value);
		return false;
	}
	ScnLet *let = g_new0(ScnLet, 1);
	let->pos = (ScnPos){ p->line, name->col };
	let->name = g_strdup(name->text);
	let->value_text = g_strdup(value);
	g_ptr_array_add(p->scn->lets, let);
	g_hash_table_insert(p->vars, g_strdup(name->text), value);
	return true;
}

/* ---- the timeline ---- */

static const struct {
	const char *word;
	ScnActionKind kind;
} client_actions[] = {
	{ "subscribe", SCN_ACT_SUBSCRIBE }, { "unsubscribe", SCN_ACT_UNSUBSCRIBE }, { "publish", SCN_ACT_PUBLISH },
	{ "request", SCN_ACT_REQUEST }, { "reply", SCN_ACT_REPLY }, { "flush", SCN_ACT_FLUSH },
	{ "pause", SCN_ACT_PAUSE }, { "disconnect", SCN_ACT_DISCONNECT }, { "close", SCN_ACT_CLOSE },
	{ "js-publish", SCN_ACT_JS_PUBLISH }, { "add", SCN_ACT_STREAM_ADD }, { "update", SCN_ACT_STREAM_UPDATE },
	{ "delete", SCN_ACT_STREAM_DELETE }, { "purge", SCN_ACT_STREAM_PURGE }, { "fetch", SCN_ACT_FETCH },
	{ "consume", SCN_ACT_CONSUME }, { "stop", SCN_ACT_STOP }, { "subscribe-push", SCN_ACT_SUBSCRIBE_PUSH },
};

static const struct {
	const char *word;
	ScnActionKind kind;
	int nodes; /* how many node names follow */
} fault_actions[] = {
	{ "partition", SCN_ACT_PARTITION, 2 }, { "heal", SCN_ACT_HEAL, 2 }, { "crash", SCN_ACT_CRASH, 1 },
	{ "restart", SCN_ACT_RESTART, 1 }, { "reset", SCN_ACT_RESET, 2 }, { "latency", SCN_ACT_LATENCY, 2 },
	{ "clock", SCN_ACT_CLOCK, 1 }, { "corrupt", SCN_ACT_CORRUPT, 1 }, { "disk-fail", SCN_ACT_DISK_FAIL, 1 },
};

static void
action_free(ScnAction *a)
{
	if (a == NULL)
		return;
	g_ptr_array_free(a->actors, TRUE);
	g_free(a->subject);
	g_free(a->queue);
	g_free(a->payload);
	g_free(a->reply);
	g_free(a->stream);
	g_free(a->consumer);
	g_free(a->acks.reason);
	if (a->config != NULL)
		json_decref(a->config);
	if (a->headers != NULL) {
		for (guint k = 0; k < a->headers->len; k++) {
			ScnHeader *h = &g_array_index(a->headers, ScnHeader, k);
			g_free(h->key);
			g_free(h->value);
		}
		g_array_free(a->headers, TRUE);
	}
	g_free(a);
}

/* ---- JetStream actions ---- */

static bool
parse_err_code(Parser *p, uint32_t *out)
{
	uint64_t v = 0;
	if (!parse_count(p, "an err_code like 10058", &v))
		return false;
	if (v == 0 || v > UINT32_MAX)
		return fail_at(p, end_col(p), "an err_code is a positive number");
	*out = (uint32_t)v;
	return true;
}

/* A stream or consumer name as nats-server accepts it: no blanks, '.',
 * '*', '>', path separators. */
static bool
parse_js_name(Parser *p, const char *what, char **out)
{
	Tok *t = expect_any(p, what);
	if (t == NULL)
		return false;
	if (t->kind != TOK_WORD || t->len == 0 || strpbrk(t->text, ".*>/\\") != NULL)
		return fail_at(p, t->col, "'%s' is not a %s (no '.', '*', '>', '/' or '\\')", t->text, what);
	g_free(*out);
	*out = g_strdup(t->text);
	return true;
}

static bool
parse_known_stream(Parser *p, char **out)
{
	Tok *t = peek(p);
	if (!parse_js_name(p, "stream name", out))
		return false;
	if (!g_hash_table_contains(p->streams, *out))
		return fail_at(p, t->col, "unknown stream '%s' (no earlier 'add stream %s')", *out, *out);
	return true;
}

static bool
parse_known_consumer(Parser *p, const char *stream, char **out)
{
	Tok *t = peek(p);
	if (!parse_js_name(p, "consumer name", out))
		return false;
	char *key = g_strdup_printf("%s/%s", stream, *out);
	bool known = g_hash_table_contains(p->consumers, key);
	g_free(key);
	if (!known)
		return fail_at(p, t->col, "unknown consumer '%s' on stream '%s' (no earlier 'add consumer %s %s')", *out,
		    stream, stream, *out);
	return true;
}

/* "a,b,c" into a JSON array of subjects (or durations when durations). */
static bool
parse_list(Parser *p, const char *what, bool durations, json_t **out)
{
	Tok *t = expect_any(p, what);
	if (t == NULL)
		return false;
	json_t *arr = json_array();
	char **parts = g_strsplit(t->text, ",", -1);
	bool ok = parts[0] != NULL;
	for (int k = 0; parts[k] != NULL && ok; k++) {
		if (durations) {
			int64_t ns;
			ok = duration_from(parts[k], &ns) && ns > 0;
			if (ok)
				json_array_append_new(arr, json_integer(ns));
			else
				fail_at(p, t->col, "'%s' is not a positive duration", parts[k]);
		} else {
			ok = proto_subject_valid(parts[k], strlen(parts[k]));
			if (ok)
				json_array_append_new(arr, json_string(parts[k]));
			else
				fail_at(p, t->col, "'%s' is not a valid subject", parts[k]);
		}
	}
	g_strfreev(parts);
	if (!ok) {
		json_decref(arr);
		return false;
	}
	*out = arr;
	return true;
}

/* One of words (NULL-terminated) as a JSON string. */
static bool
parse_enum(Parser *p, const char *const *words, json_t **out)
{
	Tok *t = expect_any(p, "a value");
	if (t == NULL)
		return false;
	GString *all = g_string_new(NULL);
	for (int k = 0; words[k] != NULL; k++) {
		if (is_word(t, words[k])) {
			g_string_free(all, TRUE);
			*out = json_string(words[k]);
			return true;
		}
		g_string_append_printf(all, "%s%s", k ? ", " : "", words[k]);
	}
	fail_at(p, t->col, "expected one of %s, found '%s'", all->str, t->text);
	g_string_free(all, TRUE);
	return false;
}

typedef enum { OPT_COUNT, OPT_SIZE, OPT_DURATION, OPT_FLAG, OPT_TEXT, OPT_SUBJECTS, OPT_DURATIONS, OPT_ENUM,
	OPT_SUBJECT } OptType;

typedef struct JsOpt {
	const char *word;
	const char *field;
	OptType type;
	const char *const *words; /* OPT_ENUM */
} JsOpt;

static const char *const storage_words[] = { "file", "memory", NULL };
static const char *const retention_words[] = { "limits", "interest", "workqueue", NULL };
static const char *const discard_words[] = { "old", "new", NULL };
static const char *const ack_words[] = { "explicit", "all", "none", NULL };
static const char *const replay_words[] = { "instant", "original", NULL };

static const JsOpt stream_opts[] = {
	{ "subjects", "subjects", OPT_SUBJECTS, NULL },
	{ "storage", "storage", OPT_ENUM, storage_words },
	{ "retention", "retention", OPT_ENUM, retention_words },
	{ "max_msgs", "max_msgs", OPT_COUNT, NULL },
	{ "max_bytes", "max_bytes", OPT_SIZE, NULL },
	{ "max_age", "max_age", OPT_DURATION, NULL },
	{ "max_msgs_per_subject", "max_msgs_per_subject", OPT_COUNT, NULL },
	{ "max_msg_size", "max_msg_size", OPT_SIZE, NULL },
	{ "max_consumers", "max_consumers", OPT_COUNT, NULL },
	{ "discard", "discard", OPT_ENUM, discard_words },
	{ "discard_new_per_subject", "discard_new_per_subject", OPT_FLAG, NULL },
	{ "duplicate_window", "duplicate_window", OPT_DURATION, NULL },
	{ "allow_rollup", "allow_rollup_hdrs", OPT_FLAG, NULL },
	{ "allow_direct", "allow_direct", OPT_FLAG, NULL },
	{ "deny_delete", "deny_delete", OPT_FLAG, NULL },
	{ "deny_purge", "deny_purge", OPT_FLAG, NULL },
	{ "sealed", "sealed", OPT_FLAG, NULL },
	{ "no_ack", "no_ack", OPT_FLAG, NULL },
	{ "description", "description", OPT_TEXT, NULL },
	{ NULL, NULL, 0, NULL },
};

static const JsOpt consumer_opts[] = {
	{ "ack", "ack_policy", OPT_ENUM, ack_words },
	{ "ack_wait", "ack_wait", OPT_DURATION, NULL },
	{ "max_deliver", "max_deliver", OPT_COUNT, NULL },
	{ "backoff", "backoff", OPT_DURATIONS, NULL },
	{ "filter", "filter_subject", OPT_SUBJECT, NULL },
	{ "max_ack_pending", "max_ack_pending", OPT_COUNT, NULL },
	{ "max_waiting", "max_waiting", OPT_COUNT, NULL },
	{ "heartbeat", "idle_heartbeat", OPT_DURATION, NULL },
	{ "flow_control", "flow_control", OPT_FLAG, NULL },
	{ "inactive_threshold", "inactive_threshold", OPT_DURATION, NULL },
	{ "headers_only", "headers_only", OPT_FLAG, NULL },
	{ "max_batch", "max_batch", OPT_COUNT, NULL },
	{ "max_expires", "max_expires", OPT_DURATION, NULL },
	{ "max_bytes", "max_bytes", OPT_SIZE, NULL },
	{ "replay", "replay_policy", OPT_ENUM, replay_words },
	{ "group", "deliver_group", OPT_TEXT, NULL },
	{ "description", "description", OPT_TEXT, NULL },
	{ NULL, NULL, 0, NULL },
};

/* Parses one option of table into config; false (with the error set)
 * when it is not in the table or its value is wrong. */
static bool
parse_js_opt(Parser *p, const Tok *key, const JsOpt *table, json_t *config)
{
	for (const JsOpt *o = table; o->word != NULL; o++) {
		if (!is_word(key, o->word))
			continue;
		uint64_t v = 0;
		int64_t d = 0;
		char *text = NULL;
		json_t *value = NULL;
		switch (o->type) {
		case OPT_COUNT:
			if (!parse_count(p, "a number", &v))
				return false;
			value = json_integer((json_int_t)MIN(v, (uint64_t)INT64_MAX));
			break;
		case OPT_SIZE:
			if (!parse_size(p, "a size", &v))
				return false;
			value = json_integer((json_int_t)MIN(v, (uint64_t)INT64_MAX));
			break;
		case OPT_DURATION:
			if (!parse_duration(p, "a duration", &d))
				return false;
			value = json_integer(d);
			break;
		case OPT_FLAG:
			value = json_true();
			break;
		case OPT_TEXT:
			if (!parse_text(p, "a text", &text))
				return false;
			value = json_string(text);
			g_free(text);
			break;
		case OPT_SUBJECT:
			if (!parse_subject(p, "a subject", true, &text))
				return false;
			value = json_string(text);
			g_free(text);
			break;
		case OPT_SUBJECTS:
			if (!parse_list(p, "subjects like orders.*,audit.>", false, &value))
				return false;
			break;
		case OPT_DURATIONS:
			if (!parse_list(p, "durations like 1s,5s,30s", true, &value))
				return false;
			break;
		case OPT_ENUM:
			if (!parse_enum(p, o->words, &value))
				return false;
			break;
		}
		json_object_set_new(config, o->field, value);
		return true;
	}
	return fail_at(p, key->col, "unknown option '%s'", key->text);
}

/* acks now | never | after DUR | sync | nak [first N] [delay DUR] |
 * term [seq N] [on-delivery K] [reason TEXT] | progress every DUR for DUR */
static bool
parse_acks(Parser *p, ScnAcks *acks)
{
	Tok *t = expect_any(p, "an ack behaviour (now, never, after, sync, nak, term, progress)");
	if (t == NULL)
		return false;
	if (is_word(t, "now")) {
		acks->mode = SCN_ACKS_NOW;
	} else if (is_word(t, "never")) {
		acks->mode = SCN_ACKS_NEVER;
	} else if (is_word(t, "sync")) {
		acks->mode = SCN_ACKS_SYNC;
	} else if (is_word(t, "after")) {
		acks->mode = SCN_ACKS_AFTER;
		return parse_duration(p, "a delay", &acks->delay_ns);
	} else if (is_word(t, "nak")) {
		acks->mode = SCN_ACKS_NAK;
		for (;;) {
			if (accept_word(p, "first")) {
				if (!parse_count(p, "a number of deliveries", &acks->first))
					return false;
			} else if (accept_word(p, "delay")) {
				if (!parse_duration(p, "a delay", &acks->delay_ns))
					return false;
			} else {
				return true;
			}
		}
	} else if (is_word(t, "term")) {
		acks->mode = SCN_ACKS_TERM;
		for (;;) {
			if (accept_word(p, "seq")) {
				if (!parse_count(p, "a stream sequence", &acks->seq))
					return false;
			} else if (accept_word(p, "on-delivery")) {
				if (!parse_count(p, "a delivery count", &acks->on_delivery))
					return false;
				if (acks->on_delivery == 0)
					return fail_at(p, t->col, "deliveries count from 1");
			} else if (accept_word(p, "reason")) {
				if (!parse_text(p, "a reason", &acks->reason))
					return false;
			} else {
				return true;
			}
		}
	} else if (is_word(t, "progress")) {
		acks->mode = SCN_ACKS_PROGRESS;
		if (!expect_word(p, "every") || !parse_duration(p, "an interval", &acks->delay_ns) ||
		    !expect_word(p, "for") || !parse_duration(p, "a duration", &acks->for_ns))
			return false;
		if (acks->delay_ns <= 0)
			return fail_at(p, t->col, "progress needs a positive interval");
	} else {
		return fail_at(p, t->col, "unknown ack behaviour '%s' (now, never, after, sync, nak, term, progress)",
		    t->text);
	}
	return true;
}

/* fetch / consume options into a pull request body (and acks, until). */
static bool
parse_pull(Parser *p, ScnAction *a)
{
	a->config = json_object();
	json_object_set_new(a->config, "batch", json_integer(1));
	Tok *t;
	while ((t = next(p)) != NULL) {
		uint64_t v;
		int64_t d;
		if (is_word(t, "batch")) {
			if (!parse_count(p, "a batch size", &v))
				return false;
			if (v == 0 || v > 1000000)
				return fail_at(p, t->col, "a batch is 1..1000000");
			json_object_set_new(a->config, "batch", json_integer((json_int_t)v));
		} else if (is_word(t, "expires")) {
			if (!parse_duration(p, "a duration", &d))
				return false;
			json_object_set_new(a->config, "expires", json_integer(d));
		} else if (is_word(t, "no_wait")) {
			json_object_set_new(a->config, "no_wait", json_true());
		} else if (is_word(t, "max_bytes")) {
			if (!parse_size(p, "a size", &v))
				return false;
			json_object_set_new(a->config, "max_bytes", json_integer((json_int_t)MIN(v, (uint64_t)INT64_MAX)));
		} else if (is_word(t, "heartbeat")) {
			if (!parse_duration(p, "a duration", &d))
				return false;
			json_object_set_new(a->config, "idle_heartbeat", json_integer(d));
		} else if (is_word(t, "until") && a->kind == SCN_ACT_CONSUME) {
			if (!parse_duration(p, "a time", &a->until_ns))
				return false;
			if (a->until_ns < a->at_ns)
				return fail_at(p, t->col, "'until' is before the line's own time");
		} else if (is_word(t, "acks")) {
			if (!parse_acks(p, &a->acks))
				return false;
		} else {
			return fail_at(p, t->col, "unknown %s option '%s'", a->kind == SCN_ACT_FETCH ? "fetch" : "consume",
			    t->text);
		}
	}
	return true;
}

static bool
parse_js_publish(Parser *p, ScnAction *a)
{
	if (!parse_subject(p, "a subject", false, &a->subject))
		return false;
	a->count = 1;
	Tok *t = peek(p);
	static const char *const keys[] = { "count", "rate", "every", "size", "msg-id", "header", "expect-stream",
		"expect-last-seq", "expect-last-subject-seq", "expect-last-msg-id", "rollup", NULL };
	bool is_key = false;
	for (int k = 0; t != NULL && keys[k] != NULL; k++)
		is_key |= is_word(t, keys[k]);
	if (t != NULL && !is_key && !parse_payload(p, &a->payload, &a->payload_len))
		return false;
	while ((t = next(p)) != NULL) {
		const char *header = NULL;
		char *value = NULL;
		if (is_word(t, "count")) {
			if (!parse_count(p, "a count", &a->count))
				return false;
			if (a->count == 0)
				return fail_at(p, t->col, "count must be at least 1");
			continue;
		} else if (is_word(t, "rate")) {
			Tok *r = expect_any(p, "a rate like 1000/s");
			if (r == NULL)
				return false;
			char *slash = strchr(r->text, '/');
			uint64_t n;
			char *num = slash ? g_strndup(r->text, (gsize)(slash - r->text)) : NULL;
			bool ok = slash && count_from(num, &n) && n > 0 && (strcmp(slash, "/s") == 0 || strcmp(slash, "/m") == 0);
			g_free(num);
			if (!ok)
				return fail_at(p, r->col, "'%s' is not a rate (N/s or N/m)", r->text);
			a->interval_ns = (strcmp(slash, "/s") == 0 ? INT64_C(1000000000) : INT64_C(60000000000)) / (int64_t)n;
			if (a->interval_ns == 0)
				return fail_at(p, r->col, "'%s' is faster than one per nanosecond", r->text);
			continue;
		} else if (is_word(t, "every")) {
			if (!parse_duration(p, "an interval", &a->interval_ns))
				return false;
			continue;
		} else if (is_word(t, "size")) {
			if (!parse_size(p, "a payload size", &a->size))
				return false;
			if (a->size > 64 * 1024 * 1024)
				return fail_at(p, t->col, "a payload is at most 64MiB");
			continue;
		} else if (is_word(t, "header")) {
			ScnHeader h = { NULL, NULL };
			if (!parse_text(p, "a header key", &h.key) || !parse_text(p, "a header value", &h.value)) {
				g_free(h.key);
				return false;
			}
			if (a->headers == NULL)
				a->headers = g_array_new(FALSE, FALSE, sizeof(ScnHeader));
			g_array_append_val(a->headers, h);
			continue;
		} else if (is_word(t, "msg-id")) {
			header = "Nats-Msg-Id";
		} else if (is_word(t, "expect-stream")) {
			header = "Nats-Expected-Stream";
		} else if (is_word(t, "expect-last-seq")) {
			header = "Nats-Expected-Last-Sequence";
		} else if (is_word(t, "expect-last-subject-seq")) {
			header = "Nats-Expected-Last-Subject-Sequence";
		} else if (is_word(t, "expect-last-msg-id")) {
			header = "Nats-Expected-Last-Msg-Id";
		} else if (is_word(t, "rollup")) {
			header = "Nats-Rollup";
		} else {
			return fail_at(p, t->col, "unknown js-publish option '%s'", t->text);
		}
		if (!parse_text(p, "a value", &value))
			return false;
		if (strcmp(header, "Nats-Rollup") == 0 && strcmp(value, "sub") != 0 && strcmp(value, "all") != 0) {
			g_free(value);
			return fail_at(p, t->col, "rollup is 'sub' or 'all'");
		}
		ScnHeader h = { g_strdup(header), value };
		if (a->headers == NULL)
			a->headers = g_array_new(FALSE, FALSE, sizeof(ScnHeader));
		g_array_append_val(a->headers, h);
	}
	return true;
}

static bool
parse_js_action(Parser *p, ScnAction *a, const Tok *verb)
{
	Tok *t;
	switch (a->kind) {
	case SCN_ACT_JS_PUBLISH:
		return parse_js_publish(p, a);
	case SCN_ACT_STREAM_ADD:
	case SCN_ACT_STREAM_UPDATE:
	case SCN_ACT_STREAM_DELETE:
	case SCN_ACT_STREAM_PURGE: {
		bool add = a->kind == SCN_ACT_STREAM_ADD;
		Tok *what = expect_any(p, add || a->kind == SCN_ACT_STREAM_DELETE ? "'stream' or 'consumer'" : "'stream'");
		if (what == NULL)
			return false;
		if (is_word(what, "consumer") && (add || a->kind == SCN_ACT_STREAM_DELETE)) {
			a->kind = add ? SCN_ACT_CONSUMER_ADD : SCN_ACT_CONSUMER_DELETE;
			if (!parse_known_stream(p, &a->stream))
				return false;
			if (!add) {
				if (!parse_known_consumer(p, a->stream, &a->consumer))
					return false;
				if (accept_word(p, "fails") && !parse_err_code(p, &a->fails_code))
					return false;
				return at_end(p);
			}
			if (!parse_js_name(p, "consumer name", &a->consumer))
				return false;
			a->config = json_object();
			bool ephemeral = false, push = false;
			while ((t = next(p)) != NULL) {
				if (is_word(t, "ephemeral")) {
					ephemeral = true;
				} else if (is_word(t, "pull")) {
					push = false;
				} else if (is_word(t, "push")) {
					char *subject = NULL;
					if (!parse_subject(p, "a deliver subject", false, &subject))
						return false;
					json_object_set_new(a->config, "deliver_subject", json_string(subject));
					g_free(subject);
					push = true;
				} else if (is_word(t, "deliver")) {
					Tok *d = expect_any(p, "a deliver policy");
					if (d == NULL)
						return false;
					uint64_t n;
					if (is_word(d, "all") || is_word(d, "last") || is_word(d, "new") ||
					    is_word(d, "last_per_subject")) {
						json_object_set_new(a->config, "deliver_policy", json_string(d->text));
					} else if (is_word(d, "start_seq")) {
						if (!parse_count(p, "a stream sequence", &n))
							return false;
						json_object_set_new(a->config, "deliver_policy", json_string("by_start_sequence"));
						json_object_set_new(a->config, "opt_start_seq", json_integer((json_int_t)n));
					} else {
						return fail_at(p, d->col,
						    "expected all, last, new, last_per_subject or start_seq N, found '%s'", d->text);
					}
				} else if (is_word(t, "fails")) {
					if (!parse_err_code(p, &a->fails_code))
						return false;
				} else if (!parse_js_opt(p, t, consumer_opts, a->config)) {
					return false;
				}
			}
			(void)push;
			json_object_set_new(a->config, ephemeral ? "name" : "durable_name", json_string(a->consumer));
			if (!json_object_get(a->config, "ack_policy"))
				json_object_set_new(a->config, "ack_policy", json_string("explicit"));
			if (a->fails_code == 0)
				g_hash_table_add(p->consumers, g_strdup_printf("%s/%s", a->stream, a->consumer));
			return true;
		}
		if (!is_word(what, "stream"))
			return fail_at(p, what->col, "expected %s, found '%s'",
			    add || a->kind == SCN_ACT_STREAM_DELETE ? "'stream' or 'consumer'" : "'stream'", what->text);
		if (add) {
			if (!parse_js_name(p, "stream name", &a->stream))
				return false;
		} else if (!parse_known_stream(p, &a->stream)) {
			return false;
		}
		a->config = json_object();
		while ((t = next(p)) != NULL) {
			if (is_word(t, "fails")) {
				if (!parse_err_code(p, &a->fails_code))
					return false;
			} else if (a->kind == SCN_ACT_STREAM_PURGE) {
				uint64_t n;
				char *subject = NULL;
				if (is_word(t, "filter")) {
					if (!parse_subject(p, "a subject", true, &subject))
						return false;
					json_object_set_new(a->config, "filter", json_string(subject));
					g_free(subject);
				} else if (is_word(t, "keep") || is_word(t, "seq")) {
					if (!parse_count(p, "a number", &n))
						return false;
					json_object_set_new(a->config, t->text, json_integer((json_int_t)n));
				} else {
					return fail_at(p, t->col, "unknown purge option '%s' (filter, keep, seq, fails)", t->text);
				}
			} else if (a->kind == SCN_ACT_STREAM_DELETE) {
				return fail_at(p, t->col, "unexpected '%s'", t->text);
			} else if (!parse_js_opt(p, t, stream_opts, a->config)) {
				return false;
			}
		}
		if (add || a->kind == SCN_ACT_STREAM_UPDATE)
			json_object_set_new(a->config, "name", json_string(a->stream));
		if (add && a->fails_code == 0)
			g_hash_table_add(p->streams, g_strdup(a->stream));
		return true;
	}
	case SCN_ACT_FETCH:
	case SCN_ACT_CONSUME:
		if (!parse_known_stream(p, &a->stream) || !parse_known_consumer(p, a->stream, &a->consumer))
			return false;
		return parse_pull(p, a);
	case SCN_ACT_STOP:
		if (!parse_known_stream(p, &a->stream) || !parse_known_consumer(p, a->stream, &a->consumer))
			return false;
		return at_end(p);
	case SCN_ACT_SUBSCRIBE_PUSH:
		if (!parse_subject(p, "a deliver subject", false, &a->subject))
			return false;
		while ((t = next(p)) != NULL) {
			if (is_word(t, "queue")) {
				if (!parse_text(p, "a queue name", &a->queue))
					return false;
			} else if (is_word(t, "heartbeat")) {
				if (!parse_duration(p, "a duration", &a->duration_ns))
					return false;
			} else if (is_word(t, "acks")) {
				if (!parse_acks(p, &a->acks))
					return false;
			} else {
				return fail_at(p, t->col, "unknown subscribe-push option '%s'", t->text);
			}
		}
		return true;
	default:
		(void)verb;
		UNREACHABLE();
	}
}

static bool
parse_client_action(Parser *p, ScnAction *a, const Tok *verb)
{
	uint64_t v;
	switch (a->kind) {
	case SCN_ACT_SUBSCRIBE:
		if (!parse_subject(p, "a subject", true, &a->subject))
			return false;
		while (peek(p) != NULL) {
			if (accept_word(p, "queue")) {
				if (!parse_text(p, "a queue name", &a->queue))
					return false;
			} else if (accept_word(p, "max")) {
				if (!parse_count(p, "a number", &a->max))
					return false;
			} else {
				return at_end(p);
			}
		}
		return true;
	case SCN_ACT_UNSUBSCRIBE:
		if (!parse_subject(p, "a subject", true, &a->subject))
			return false;
		if (accept_word(p, "after") && !parse_count(p, "a number", &a->max))
			return false;
		return at_end(p);
	case SCN_ACT_PUBLISH: {
		if (!parse_subject(p, "a subject", false, &a->subject))
			return false;
		a->count = 1;
		Tok *t = peek(p);
		if (t != NULL && (t->kind == TOK_STRING || !(is_word(t, "reply") || is_word(t, "header") ||
		    is_word(t, "count") || is_word(t, "rate") || is_word(t, "every") || is_word(t, "size")))) {
			if (!parse_payload(p, &a->payload, &a->payload_len))
				return false;
		}
		bool timed = false;
		while ((t = next(p)) != NULL) {
			if (is_word(t, "reply")) {
				if (!parse_subject(p, "a reply subject", false, &a->reply))
					return false;
			} else if (is_word(t, "header")) {
				ScnHeader h = { NULL, NULL };
				if (!parse_text(p, "a header key", &h.key) || !parse_text(p, "a header value", &h.value)) {
					g_free(h.key);
					return false;
				}
				if (a->headers == NULL)
					a->headers = g_array_new(FALSE, FALSE, sizeof(ScnHeader));
				g_array_append_val(a->headers, h);
			} else if (is_word(t, "count")) {
				if (!parse_count(p, "a count", &a->count))
					return false;
				if (a->count == 0)
					return fail_at(p, t->col, "count must be at least 1");
			} else if (is_word(t, "rate")) {
				Tok *r = expect_any(p, "a rate like 1000/s");
				if (r == NULL)
					return false;
				char *slash = strchr(r->text, '/');
				uint64_t n;
				char *num = slash ? g_strndup(r->text, (gsize)(slash - r->text)) : NULL;
				bool ok = slash && count_from(num, &n) && n > 0 && (strcmp(slash, "/s") == 0 || strcmp(slash, "/m") == 0);
				g_free(num);
				if (!ok)
					return fail_at(p, r->col, "'%s' is not a rate (N/s or N/m)", r->text);
				a->interval_ns = (strcmp(slash, "/s") == 0 ? INT64_C(1000000000) : INT64_C(60000000000)) / (int64_t)n;
				if (a->interval_ns == 0)
					return fail_at(p, r->col, "'%s' is faster than one per nanosecond", r->text);
				timed = true;
			} else if (is_word(t, "every")) {
				if (!parse_duration(p, "an interval", &a->interval_ns))
					return false;
				timed = true;
			} else if (is_word(t, "size")) {
				if (!parse_size(p, "a payload size", &a->size))
					return false;
				if (a->size > 64 * 1024 * 1024)
					return fail_at(p, t->col, "a payload is at most 64MiB");
			} else {
				return fail_at(p, t->col, "unknown publish option '%s'", t->text);
			}
		}
		(void)timed;
		return true;
	}
	case SCN_ACT_REQUEST:
		if (!parse_subject(p, "a subject", false, &a->subject) || !parse_payload(p, &a->payload, &a->payload_len))
			return false;
		a->duration_ns = INT64_C(1000000000);
		if (accept_word(p, "timeout") && !parse_duration(p, "a timeout", &a->duration_ns))
			return false;
		return at_end(p);
	case SCN_ACT_REPLY:
		if (!parse_subject(p, "a subject", true, &a->subject) || !parse_payload(p, &a->payload, &a->payload_len))
			return false;
		while (peek(p) != NULL) {
			if (accept_word(p, "queue")) {
				if (!parse_text(p, "a queue name", &a->queue))
					return false;
			} else if (accept_word(p, "delay")) {
				if (!parse_duration(p, "a delay", &a->duration_ns))
					return false;
			} else {
				return at_end(p);
			}
		}
		return true;
	case SCN_ACT_PAUSE:
		return parse_duration(p, "a duration", &a->duration_ns) && at_end(p);
	case SCN_ACT_FLUSH:
	case SCN_ACT_DISCONNECT:
	case SCN_ACT_CLOSE:
		(void)v;
		(void)verb;
		return at_end(p);
	default:
		return parse_js_action(p, a, verb);
	}
}

static bool
parse_at(Parser *p)
{
	Tok *t = expect_any(p, "a time");
	if (t == NULL)
		return false;
	int64_t at;
	char *text = NULL;
	if (!resolve(p, t, &text))
		return false;
	bool relative = text[0] == '+';
	bool parsed = duration_from(text + (relative ? 1 : 0), &at);
	g_free(text);
	if (!parsed)
		return fail_at(p, t->col, "'%s' is not a time (like 1.5s, or +200ms after the previous line)", t->text);
	if (relative)
		at += p->prev_at_ns;
	p->prev_at_ns = at;
	ScnAction *a = g_new0(ScnAction, 1);
	a->pos = (ScnPos){ p->line, t->col };
	a->at_ns = at;
	a->actors = g_ptr_array_new_with_free_func(g_free);
	a->index = p->action_index++;
	Tok *w = expect_any(p, "an actor or a fault");
	if (w == NULL) {
		action_free(a);
		return false;
	}
	for (size_t k = 0; k < G_N_ELEMENTS(fault_actions); k++) {
		if (!is_word(w, fault_actions[k].word))
			continue;
		a->kind = fault_actions[k].kind;
		for (int n = 0; n < fault_actions[k].nodes; n++) {
			Tok *node = expect_any(p, "a node name");
			if (node == NULL || !expect_node(p, node)) {
				action_free(a);
				return false;
			}
			g_ptr_array_add(a->actors, g_strdup(node->text));
		}
		bool ok = true;
		if (a->kind == SCN_ACT_PARTITION || a->kind == SCN_ACT_HEAL)
			a->one_way = accept_word(p, "one-way");
		if (a->kind == SCN_ACT_LATENCY) {
			ok = parse_duration(p, "a latency", &a->duration_ns);
			if (ok && accept_word(p, "jitter"))
				ok = parse_duration(p, "a jitter", &a->jitter_ns);
		}
		if (a->kind == SCN_ACT_CLOCK) {
			Tok *j = expect_any(p, "a jump like +30s");
			ok = j != NULL && (j->text[0] == '+' && duration_from(j->text + 1, &a->duration_ns)
			    ? true : fail_at(p, j->col, "a clock jump goes forward: '+DURATION'"));
		}
		if (a->kind == SCN_ACT_CORRUPT || a->kind == SCN_ACT_DISK_FAIL) {
			a->count = 1;
			if (find_broker(p, a->actors->pdata[0]) == NULL)
				ok = fail_at(p, w->col, "'%s' works on a broker's disk", w->text);
			else if (accept_word(p, "count"))
				ok = parse_count(p, "a count", &a->count) &&
				    (a->count > 0 ? true : fail_at(p, w->col, "count must be at least 1"));
		}
		if (a->kind == SCN_ACT_CRASH || a->kind == SCN_ACT_RESTART) {
			if (find_broker(p, a->actors->pdata[0]) == NULL && find_client(p, a->actors->pdata[0]) == NULL)
				ok = fail_at(p, w->col, "unknown node");
		}
		if (!ok || !at_end(p)) {
			action_free(a);
			return false;
		}
		g_ptr_array_add(p->scn->actions, a);
		p->scn->last_time_ns = MAX(p->scn->last_time_ns, at);
		return true;
	}
	/* Client actors, then the action. */
	Tok *verb = w;
	for (;;) {
		bool is_action = false;
		for (size_t k = 0; k < G_N_ELEMENTS(client_actions); k++)
			if (is_word(verb, client_actions[k].word)) {
				a->kind = client_actions[k].kind;
				is_action = true;
			}
		if (is_action)
			break;
		if (!expect_client(p, verb)) {
			action_free(a);
			return false;
		}
		g_ptr_array_add(a->actors, g_strdup(verb->text));
		verb = expect_any(p, "an action");
		if (verb == NULL) {
			action_free(a);
			return false;
		}
	}
	if (a->actors->len == 0) {
		action_free(a);
		return fail_at(p, verb->col, "'%s' needs a client before it", verb->text);
	}
	if (!parse_client_action(p, a, verb)) {
		action_free(a);
		return false;
	}
	g_ptr_array_add(p->scn->actions, a);
	int64_t last = at;
	if (a->kind == SCN_ACT_PUBLISH && a->count > 1)
		last = at + a->interval_ns * (int64_t)(a->count - 1);
	if (a->kind == SCN_ACT_JS_PUBLISH && a->count > 1)
		last = at + a->interval_ns * (int64_t)(a->count - 1);
	if (a->kind == SCN_ACT_PAUSE || a->kind == SCN_ACT_REQUEST)
		last = at + a->duration_ns;
	if (a->kind == SCN_ACT_CONSUME && a->until_ns > 0)
		last = MAX(at, a->until_ns);
	p->scn->last_time_ns = MAX(p->scn->last_time_ns, last);
	return true;
}

/* ---- expectations ---- */

static void
expect_free(ScnExpect *e)
{
	if (e == NULL)
		return;
	g_free(e->text);
	g_ptr_array_free(e->clients, TRUE);
	g_free(e->subject);
	g_free(e->payload);
	g_free(e->node);
	g_free(e->name);
	g_free(e->path);
	g_free(e->value);
	g_free(e->stream);
	g_free(e->consumer);
	g_free(e);
}

static bool
parse_op(Parser *p, ScnOp *op)
{
	static const struct {
		const char *word;
		ScnOp op;
	} ops[] = { { "==", SCN_OP_EQ }, { "!=", SCN_OP_NE }, { "<", SCN_OP_LT }, { "<=", SCN_OP_LE }, { ">", SCN_OP_GT },
		{ ">=", SCN_OP_GE } };
	Tok *t = expect_any(p, "a comparison (== != < <= > >=)");
	if (t == NULL)
		return false;
	for (size_t k = 0; k < G_N_ELEMENTS(ops); k++)
		if (is_word(t, ops[k].word)) {
			*op = ops[k].op;
			return true;
		}
	return fail_at(p, t->col, "expected a comparison (== != < <= > >=), found '%s'", t->text);
}

static bool
parse_on_subject(Parser *p, ScnExpect *e)
{
	if (accept_word(p, "on"))
		return parse_subject(p, "a subject", true, &e->subject);
	return true;
}


/* [at T | before T | after T | between T1 and T2] [times N], in any order. */
static bool
parse_when_times(Parser *p, ScnExpect *e, bool when)
{
	Tok *o;
	while ((o = next(p)) != NULL) {
		if (when && (is_word(o, "at") || is_word(o, "before") || is_word(o, "after"))) {
			e->when = is_word(o, "at") ? SCN_WHEN_AT : is_word(o, "before") ? SCN_WHEN_BEFORE : SCN_WHEN_AFTER;
			if (!parse_duration(p, "a time", &e->t1_ns))
				return false;
		} else if (when && is_word(o, "between")) {
			e->when = SCN_WHEN_BETWEEN;
			if (!parse_duration(p, "a time", &e->t1_ns) || !expect_word(p, "and") ||
			    !parse_duration(p, "a time", &e->t2_ns))
				return false;
			if (e->t2_ns < e->t1_ns)
				return fail_at(p, o->col, "the interval ends before it starts");
		} else if (is_word(o, "times")) {
			e->has_times = true;
			if (!parse_count(p, "a number", &e->times))
				return false;
		} else {
			return fail_at(p, o->col, "unexpected '%s'", o->text);
		}
	}
	return true;
}

/* PATH OP VALUE [at TIME | at end], as for the monitor expectations. */
static bool
parse_path_value(Parser *p, ScnExpect *e)
{
	Tok *path = expect_any(p, "a JSON path like state.messages");
	if (path == NULL || !parse_op(p, &e->op))
		return false;
	e->path = g_strdup(path->text);
	Tok *v = expect_any(p, "a value");
	if (v == NULL)
		return false;
	e->value = g_strdup(v->text);
	char *end;
	e->number = g_ascii_strtod(v->text, &end);
	e->value_is_number = v->kind == TOK_WORD && end != v->text && *end == '\0';
	e->at_end = true;
	if (accept_word(p, "at")) {
		if (!accept_word(p, "end")) {
			e->at_end = false;
			e->when = SCN_WHEN_AT;
			if (!parse_duration(p, "a time or 'end'", &e->t1_ns))
				return false;
		}
	}
	return at_end(p);
}

static const char *const advisory_kinds[] = { "max_deliveries", "msg_terminated", "msg_naked", "consumer_created",
	"consumer_deleted", "stream_created", "stream_deleted", "stream_updated", NULL };

/* After "W gets": STREAM seq N ... | STREAM messages|deliveries|redeliveries
 * N | between A and B | STREAM all exactly once | at least once. */
static bool
parse_gets(Parser *p, ScnExpect *e)
{
	if (!parse_known_stream(p, &e->stream))
		return false;
	Tok *w = expect_any(p, "'seq', 'messages', 'deliveries', 'redeliveries' or 'all'");
	if (w == NULL)
		return false;
	if (is_word(w, "seq")) {
		e->kind = SCN_EXP_JS_GETS_SEQ;
		if (!parse_count(p, "a stream sequence", &e->seq))
			return false;
		if (accept_word(p, "delivery") && !parse_count(p, "a delivery count", &e->delivery))
			return false;
		return parse_when_times(p, e, true);
	}
	if (is_word(w, "messages") || is_word(w, "deliveries") || is_word(w, "redeliveries")) {
		e->kind = SCN_EXP_JS_GETS_COUNT;
		e->name = g_strdup(w->text);
		if (accept_word(p, "between"))
			return parse_count(p, "a number", &e->lo) && expect_word(p, "and") && parse_count(p, "a number", &e->hi) &&
			    at_end(p);
		if (!parse_count(p, "a number", &e->lo))
			return false;
		e->hi = e->lo;
		return at_end(p);
	}
	if (is_word(w, "all")) {
		e->kind = SCN_EXP_JS_ALL;
		if (accept_word(p, "exactly"))
			return expect_word(p, "once") && at_end(p);
		e->at_least_once = true;
		return expect_word(p, "at") && expect_word(p, "least") && expect_word(p, "once") && at_end(p);
	}
	return fail_at(p, w->col, "expected 'seq', 'messages', 'deliveries', 'redeliveries' or 'all', found '%s'",
	    w->text);
}

/* The JetStream expectations of one client, after its name. */
static bool
parse_js_client_expect(Parser *p, ScnExpect *e, Tok *verb)
{
	if (is_word(verb, "gets"))
		return parse_gets(p, e);
	if (is_word(verb, "pubacks")) {
		e->kind = SCN_EXP_JS_PUBACKS;
		if (!parse_count(p, "a number", &e->lo))
			return false;
		if (accept_word(p, "duplicates")) {
			e->has_times = true;
			if (!parse_count(p, "a number", &e->times))
				return false;
		}
		return at_end(p);
	}
	if (is_word(verb, "publish")) {
		e->kind = SCN_EXP_JS_PUBLISH_FAILS;
		return expect_word(p, "fails") && parse_count(p, "an err_code", &e->lo) && parse_when_times(p, e, false);
	}
	if (is_word(verb, "fetch")) {
		e->kind = SCN_EXP_JS_FETCH_STATUS;
		return expect_word(p, "status") && parse_count(p, "a status code like 408", &e->lo) &&
		    parse_when_times(p, e, false);
	}
	/* advisory KIND STREAM [CONSUMER] [seq N] [when] [times N] */
	e->kind = SCN_EXP_JS_ADVISORY;
	Tok *k = expect_any(p, "an advisory kind");
	if (k == NULL)
		return false;
	bool known = false;
	GString *all = g_string_new(NULL);
	for (int i = 0; advisory_kinds[i] != NULL; i++) {
		known |= is_word(k, advisory_kinds[i]);
		g_string_append_printf(all, "%s%s", i ? ", " : "", advisory_kinds[i]);
	}
	if (!known) {
		fail_at(p, k->col, "unknown advisory '%s' (%s)", k->text, all->str);
		g_string_free(all, TRUE);
		return false;
	}
	g_string_free(all, TRUE);
	e->name = g_strdup(k->text);
	if (!parse_known_stream(p, &e->stream))
		return false;
	Tok *c = peek(p);
	if (c != NULL && !is_word(c, "seq") && !is_word(c, "at") && !is_word(c, "before") && !is_word(c, "after") &&
	    !is_word(c, "between") && !is_word(c, "times") && !parse_known_consumer(p, e->stream, &e->consumer))
		return false;
	if (accept_word(p, "seq") && !parse_count(p, "a stream sequence", &e->seq))
		return false;
	return parse_when_times(p, e, true);
}

static bool
parse_expect(Parser *p, const char *raw_line)
{
	ScnExpect *e = g_new0(ScnExpect, 1);
	e->pos = (ScnPos){ p->line, 1 };
	e->text = g_strstrip(g_strdup(raw_line));
	e->clients = g_ptr_array_new_with_free_func(g_free);
	g_ptr_array_add(p->scn->expects, e);
	/* A trailing `when seed N` limits the expectation to that seed. */
	guint len = p->toks->len;
	if (len >= 3 && is_word(p->toks->pdata[len - 3], "when") && is_word(p->toks->pdata[len - 2], "seed")) {
		Tok *n = p->toks->pdata[len - 1];
		if (!count_from(n->text, &e->only_seed))
			return fail_at(p, n->col, "'%s' is not a seed", n->text);
		e->has_seed = true;
		g_ptr_array_remove_range(p->toks, len - 3, 3);
	}
	Tok *t = expect_any(p, "what to expect");
	if (t == NULL)
		return false;
	e->pos.col = t->col;

	if (is_word(t, "each")) {
		if (!expect_word(p, "of"))
			return false;
		Tok *c;
		while ((c = expect_any(p, "a client or 'receives'")) != NULL && !is_word(c, "receives")) {
			if (!expect_client(p, c))
				return false;
			g_ptr_array_add(e->clients, g_strdup(c->text));
		}
		if (c == NULL)
			return false;
		if (e->clients->len == 0)
			return fail_at(p, c->col, "'each of' needs clients");
		e->kind = SCN_EXP_EACH_RECEIVES;
		return expect_word(p, "between") && parse_count(p, "a number", &e->lo) && expect_word(p, "and") &&
		    parse_count(p, "a number", &e->hi) && parse_on_subject(p, e) && at_end(p);
	}
	if (is_word(t, "never")) {
		Tok *c = expect_any(p, "a client");
		if (c == NULL || !expect_client(p, c))
			return false;
		g_ptr_array_add(e->clients, g_strdup(c->text));
		e->kind = SCN_EXP_NEVER_RECEIVES;
		return expect_word(p, "receives") && parse_on_subject(p, e) && at_end(p);
	}
	/* A broker: probe or monitor. */
	if (find_broker(p, t->text) != NULL) {
		e->node = g_strdup(t->text);
		Tok *what = expect_any(p, "'probe', 'varz', 'connz', 'subsz', 'stream', 'consumer' or 'logs'");
		if (what == NULL)
			return false;
		if (is_word(what, "probe")) {
			e->kind = SCN_EXP_PROBE;
			Tok *name = expect_any(p, "a probe name");
			if (name == NULL)
				return false;
			bool known = false;
			for (int k = 0; k < BROKER_PROBE_COUNT && !known; k++)
				known = strcmp(broker_probe_name((BrokerProbe)k), name->text) == 0;
			if (!known)
				return fail_at(p, name->col, "unknown probe '%s'", name->text);
			e->name = g_strdup(name->text);
			uint64_t n;
			if (!parse_op(p, &e->op) || !parse_count(p, "a number", &n))
				return false;
			e->number = (double)n;
			return at_end(p);
		}
		if (is_word(what, "varz") || is_word(what, "connz") || is_word(what, "subsz")) {
			e->kind = SCN_EXP_MONITOR;
			e->name = g_strdup(what->text);
			Tok *path = expect_any(p, "a JSON path like connections.0.name");
			if (path == NULL || !parse_op(p, &e->op))
				return false;
			e->path = g_strdup(path->text);
			Tok *v = expect_any(p, "a value");
			if (v == NULL)
				return false;
			e->value = g_strdup(v->text);
			char *end;
			e->number = g_ascii_strtod(v->text, &end);
			e->value_is_number = v->kind == TOK_WORD && end != v->text && *end == '\0';
			e->at_end = true;
			if (accept_word(p, "at")) {
				if (accept_word(p, "end"))
					e->at_end = true;
				else {
					e->at_end = false;
					e->when = SCN_WHEN_AT;
					if (!parse_duration(p, "a time or 'end'", &e->t1_ns))
						return false;
				}
			}
			return at_end(p);
		}
		if (is_word(what, "stream")) {
			e->kind = SCN_EXP_JS_STREAM_INFO;
			return parse_known_stream(p, &e->stream) && parse_path_value(p, e);
		}
		if (is_word(what, "consumer")) {
			e->kind = SCN_EXP_JS_CONSUMER_INFO;
			return parse_known_stream(p, &e->stream) && parse_known_consumer(p, e->stream, &e->consumer) &&
			    parse_path_value(p, e);
		}
		if (is_word(what, "logs")) {
			e->kind = SCN_EXP_BROKER_LOG;
			return parse_payload(p, &e->payload, &e->payload_len) && parse_when_times(p, e, false);
		}
		return fail_at(p, what->col,
		    "expected 'probe', 'varz', 'connz', 'subsz', 'stream', 'consumer' or 'logs', found '%s'", what->text);
	}
	/* Clients: "W receives ...", "W1 + W2 receive N exactly once each" */
	if (!expect_client(p, t))
		return false;
	g_ptr_array_add(e->clients, g_strdup(t->text));
	if (is_word(peek(p), "+")) {
		while (accept_word(p, "+")) {
			Tok *c = expect_any(p, "a client");
			if (c == NULL || !expect_client(p, c))
				return false;
			g_ptr_array_add(e->clients, g_strdup(c->text));
		}
		if (accept_word(p, "get")) {
			if (!parse_known_stream(p, &e->stream) || !expect_word(p, "all"))
				return false;
			e->kind = SCN_EXP_JS_ALL;
			if (accept_word(p, "exactly"))
				return expect_word(p, "once") && at_end(p);
			e->at_least_once = true;
			return expect_word(p, "at") && expect_word(p, "least") && expect_word(p, "once") && at_end(p);
		}
		e->kind = SCN_EXP_EXACTLY_ONCE;
		if (!expect_word(p, "receive"))
			return false;
		if (accept_word(p, "all"))
			e->all = true;
		else if (!parse_count(p, "a number or 'all'", &e->lo))
			return false;
		return parse_on_subject(p, e) && expect_word(p, "exactly") && expect_word(p, "once") &&
		    expect_word(p, "each") && at_end(p);
	}
	Tok *verb = expect_any(p, "'receives', 'request', 'disconnected', 'reconnected', 'error', 'gets', 'pubacks', "
	    "'publish', 'fetch' or 'advisory'");
	if (verb == NULL)
		return false;
	if (is_word(verb, "gets") || is_word(verb, "pubacks") || is_word(verb, "publish") || is_word(verb, "fetch") ||
	    is_word(verb, "advisory"))
		return parse_js_client_expect(p, e, verb);
	if (is_word(verb, "disconnected") || is_word(verb, "reconnected")) {
		e->kind = is_word(verb, "disconnected") ? SCN_EXP_DISCONNECTED : SCN_EXP_RECONNECTED;
		if (accept_word(p, "times")) {
			e->has_times = true;
			if (!parse_count(p, "a number", &e->times))
				return false;
		}
		return at_end(p);
	}
	if (is_word(verb, "error")) {
		e->kind = SCN_EXP_ERROR;
		return parse_payload(p, &e->payload, &e->payload_len) && at_end(p);
	}
	if (is_word(verb, "request")) {
		if (!parse_subject(p, "a subject", false, &e->subject))
			return false;
		Tok *how = expect_any(p, "'gets' or 'fails'");
		if (how == NULL)
			return false;
		if (is_word(how, "gets")) {
			e->kind = SCN_EXP_REQUEST_GETS;
			return parse_payload(p, &e->payload, &e->payload_len) && at_end(p);
		}
		if (is_word(how, "fails")) {
			e->kind = SCN_EXP_REQUEST_FAILS;
			Tok *why = expect_any(p, "'no-responders' or 'timeout'");
			if (why == NULL)
				return false;
			if (!is_word(why, "no-responders") && !is_word(why, "timeout"))
				return fail_at(p, why->col, "expected 'no-responders' or 'timeout', found '%s'", why->text);
			e->name = g_strdup(why->text);
			return at_end(p);
		}
		return fail_at(p, how->col, "expected 'gets' or 'fails', found '%s'", how->text);
	}
	if (!is_word(verb, "receives"))
		return fail_at(p, verb->col,
		    "expected 'receives', 'request', 'disconnected', 'reconnected', 'error', 'gets', 'pubacks', 'publish', "
		    "'fetch' or 'advisory', found '%s'", verb->text);
	Tok *what = expect_any(p, "a payload, a count, 'between' or 'nothing'");
	if (what == NULL)
		return false;
	if (is_word(what, "nothing")) {
		e->kind = SCN_EXP_RECEIVES_COUNT;
		e->lo = e->hi = 0;
		return parse_on_subject(p, e) && at_end(p);
	}
	if (is_word(what, "between")) {
		e->kind = SCN_EXP_RECEIVES_COUNT;
		return parse_count(p, "a number", &e->lo) && expect_word(p, "and") && parse_count(p, "a number", &e->hi) &&
		    parse_on_subject(p, e) && at_end(p);
	}
	if (what->kind == TOK_WORD) {
		p->pos--;
		e->kind = SCN_EXP_RECEIVES_COUNT;
		if (!parse_count(p, "a count (payloads go in quotes)", &e->lo))
			return false;
		e->hi = e->lo;
		return parse_on_subject(p, e) && at_end(p);
	}
	e->kind = SCN_EXP_RECEIVES_PAYLOAD;
	e->payload = g_memdup2(what->text, what->len + 1);
	e->payload_len = what->len;
	Tok *o;
	while ((o = next(p)) != NULL) {
		if (is_word(o, "on")) {
			if (!parse_subject(p, "a subject", true, &e->subject))
				return false;
		} else if (is_word(o, "at") || is_word(o, "before") || is_word(o, "after")) {
			e->when = is_word(o, "at") ? SCN_WHEN_AT : is_word(o, "before") ? SCN_WHEN_BEFORE : SCN_WHEN_AFTER;
			if (!parse_duration(p, "a time", &e->t1_ns))
				return false;
		} else if (is_word(o, "between")) {
			e->when = SCN_WHEN_BETWEEN;
			if (!parse_duration(p, "a time", &e->t1_ns) || !expect_word(p, "and") ||
			    !parse_duration(p, "a time", &e->t2_ns))
				return false;
			if (e->t2_ns < e->t1_ns)
				return fail_at(p, o->col, "the interval ends before it starts");
		} else if (is_word(o, "times")) {
			e->has_times = true;
			if (!parse_count(p, "a number", &e->times))
				return false;
		} else {
			return fail_at(p, o->col, "unexpected '%s'", o->text);
		}
	}
	return true;
}

/* ---- lines ---- */

static bool
parse_statement(Parser *p, const char *raw)
{
	Tok *first = next(p);
	if (first == NULL)
		return true;
	if (first->kind != TOK_WORD)
		return fail_at(p, first->col, "a line starts with a keyword, not a string");
	if (strcmp(first->text, "broker") == 0)
		return parse_broker(p);
	if (strcmp(first->text, "client") == 0)
		return parse_client(p);
	if (strcmp(first->text, "link") == 0)
		return parse_link(p);
	if (strcmp(first->text, "let") == 0)
		return parse_let(p);
	if (strcmp(first->text, "at") == 0)
		return parse_at(p);
	if (strcmp(first->text, "expect") == 0)
		return parse_expect(p, raw + (first->col - 1) + strlen("expect"));
	if (strcmp(first->text, "run") == 0) {
		if (!expect_word(p, "for") || !parse_duration(p, "a duration", &p->scn->run_for_ns))
			return false;
		if (p->scn->run_for_ns <= 0)
			return fail_at(p, first->col, "the run must last longer than zero");
		return at_end(p);
	}
	return fail_at(p, first->col, "unknown statement '%s' (broker, client, link, let, at, expect, run)", first->text);
}

static gint
action_compare(gconstpointer a, gconstpointer b)
{
	const ScnAction *x = *(ScnAction *const *)a, *y = *(ScnAction *const *)b;
	if (x->at_ns != y->at_ns)
		return x->at_ns < y->at_ns ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

static void
broker_free(ScnBroker *b)
{
	g_free(b->name);
	g_free((char *)b->config.user);
	g_free((char *)b->config.password);
	g_free((char *)b->config.token);
	g_free(b);
}

static void
client_free(ScnClient *c)
{
	g_free(c->name);
	g_free(c->broker);
	g_free(c->user);
	g_free(c->password);
	g_free(c->token);
	g_free(c->conn_name);
	g_free(c);
}

static void
link_free(ScnLink *l)
{
	g_free(l->from);
	g_free(l->to);
	g_free(l);
}

static void
let_free(ScnLet *l)
{
	g_free(l->name);
	g_free(l->value_text);
	g_free(l);
}

void
scenario_free(Scenario *scn)
{
	if (scn == NULL)
		return;
	g_ptr_array_free(scn->brokers, TRUE);
	g_ptr_array_free(scn->clients, TRUE);
	g_ptr_array_free(scn->links, TRUE);
	g_ptr_array_free(scn->actions, TRUE);
	g_ptr_array_free(scn->expects, TRUE);
	g_ptr_array_free(scn->lets, TRUE);
	g_free(scn->path);
	g_free(scn->text);
	g_free(scn);
}

Scenario *
scenario_parse(const char *path, const char *text, uint64_t seed, GError **error)
{
	Scenario *scn = g_new0(Scenario, 1);
	scn->path = g_strdup(path);
	scn->text = g_strdup(text);
	scn->seed = seed;
	scn->brokers = g_ptr_array_new_with_free_func((GDestroyNotify)broker_free);
	scn->clients = g_ptr_array_new_with_free_func((GDestroyNotify)client_free);
	scn->links = g_ptr_array_new_with_free_func((GDestroyNotify)link_free);
	scn->actions = g_ptr_array_new_with_free_func((GDestroyNotify)action_free);
	scn->expects = g_ptr_array_new_with_free_func((GDestroyNotify)expect_free);
	scn->lets = g_ptr_array_new_with_free_func((GDestroyNotify)let_free);
	Parser p = { .path = path, .scn = scn, .error = error };
	prng_seed(&p.prng, XXH3_64bits_withSeed("scenario", 8, seed));
	p.vars = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	p.toks = g_ptr_array_new_with_free_func((GDestroyNotify)tok_free);
	p.streams = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	p.consumers = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

	if (!g_utf8_validate(text, -1, NULL)) {
		g_set_error(error, SCENARIO_ERROR, 1, "%s:1:1: the file is not valid UTF-8", path);
		p.failed = true;
	}
	char **lines = g_strsplit(text, "\n", -1);
	GString *logical = g_string_new(NULL);
	GArray *cols = g_array_new(FALSE, FALSE, sizeof(int));
	int start_line = 1;
	for (int k = 0; lines[k] != NULL && !p.failed; k++) {
		const char *line = lines[k];
		size_t len = strlen(line);
		if (len > 0 && line[len - 1] == '\r')
			len--;
		if (logical->len == 0)
			start_line = k + 1;
		bool cont = len > 0 && line[len - 1] == '\\';
		if (cont)
			len--;
		for (size_t i = 0; i < len; i++) {
			int col = (int)i + 1;
			g_array_append_val(cols, col);
		}
		g_string_append_len(logical, line, (gssize)len);
		if (cont && lines[k + 1] != NULL) {
			g_string_append_c(logical, ' ');
			int col = (int)len + 1;
			g_array_append_val(cols, col);
			continue;
		}
		int sentinel = (int)len + 1;
		g_array_append_val(cols, sentinel);
		p.line = start_line;
		g_ptr_array_set_size(p.toks, 0);
		p.pos = 0;
		if (lex_line(&p, logical->str, (const int *)(void *)cols->data))
			parse_statement(&p, logical->str);
		g_string_truncate(logical, 0);
		g_array_set_size(cols, 0);
	}
	g_strfreev(lines);
	g_string_free(logical, TRUE);
	g_array_free(cols, TRUE);
	if (!p.failed && scn->brokers->len == 0) {
		p.line = 1;
		fail_at(&p, 1, "a scenario needs at least one broker");
	}
	g_ptr_array_free(p.toks, TRUE);
	g_hash_table_destroy(p.vars);
	g_hash_table_destroy(p.streams);
	g_hash_table_destroy(p.consumers);
	if (p.failed) {
		scenario_free(scn);
		return NULL;
	}
	g_ptr_array_sort(scn->actions, action_compare);
	return scn;
}

int64_t
scenario_end_ns(const Scenario *scn)
{
	return scn->run_for_ns > 0 ? scn->run_for_ns : scn->last_time_ns + INT64_C(10000000000);
}

const char *
scn_op_str(ScnOp op)
{
	static const char *const names[] = { "?", "==", "!=", "<", "<=", ">", ">=" };
	return names[op];
}

json_t *
scn_json_path(json_t *root, const char *path)
{
	char **parts = g_strsplit(path, ".", -1);
	json_t *cur = root;
	for (int k = 0; parts[k] != NULL && cur != NULL; k++) {
		char *end;
		guint64 index = g_ascii_strtoull(parts[k], &end, 10);
		if (json_is_array(cur) && *end == '\0' && end != parts[k])
			cur = json_array_get(cur, (size_t)index);
		else
			cur = json_is_object(cur) ? json_object_get(cur, parts[k]) : NULL;
	}
	g_strfreev(parts);
	return cur;
}

char *
scn_expect_value_check(const ScnExpect *e, json_t *v)
{
	if (e->value_is_number && json_is_number(v)) {
		double got = json_number_value(v);
		return scn_op_holds(e->op, got, e->number) ? NULL : g_strdup_printf("%s is %g", e->path, got);
	}
	char *got = json_is_string(v) ? g_strdup(json_string_value(v)) : json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
	int c = strcmp(got, e->value);
	bool ok = e->op == SCN_OP_EQ ? c == 0 : e->op == SCN_OP_NE ? c != 0 : scn_op_holds(e->op, c, 0);
	char *problem = ok ? NULL : g_strdup_printf("%s is %s", e->path, got);
	if (json_is_string(v))
		g_free(got);
	else
		free(got);
	return problem;
}

char *
scenario_format_duration(int64_t ns)
{
	static const struct {
		int64_t unit;
		const char *name;
		int digits;
	} units[] = { { 1000000000, "s", 9 }, { 1000000, "ms", 6 }, { 1000, "us", 3 } };
	for (size_t k = 0; k < G_N_ELEMENTS(units); k++) {
		if (ns >= units[k].unit || (k == 0 && ns == 0)) {
			int64_t whole = ns / units[k].unit, frac = ns % units[k].unit;
			if (frac == 0)
				return g_strdup_printf("%" G_GINT64_FORMAT "%s", whole, units[k].name);
			char digits[16];
			g_snprintf(digits, sizeof(digits), "%0*" G_GINT64_FORMAT, units[k].digits, frac);
			int len = units[k].digits;
			while (len > 0 && digits[len - 1] == '0')
				len--;
			return g_strdup_printf("%" G_GINT64_FORMAT ".%.*s%s", whole, len, digits, units[k].name);
		}
	}
	return g_strdup_printf("%" G_GINT64_FORMAT "ns", ns);
}

char *
scenario_export(const Scenario *scn)
{
	/* Every `let` line becomes `let NAME = VALUE` with the drawn value;
	 * everything else is kept byte for byte. */
	char **lines = g_strsplit(scn->text, "\n", -1);
	for (guint k = 0; k < scn->lets->len; k++) {
		ScnLet *let = scn->lets->pdata[k];
		int index = let->pos.line - 1;
		g_free(lines[index]);
		lines[index] = g_strdup_printf("let %s = %s  # fixed by natsim export (seed %" G_GUINT64_FORMAT ")",
		    let->name, let->value_text, scn->seed);
	}
	char *out = g_strjoinv("\n", lines);
	g_strfreev(lines);
	return out;
}
