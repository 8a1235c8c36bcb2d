/*
 * server_config.c - natsim-server's configuration file: nats-server's
 * format parsed into a tree, then the tree mapped onto ServerSettings.
 *
 * Called by server_main.c (server_config_load) and the tests
 * (server_config_parse). Pure: files and environment variables come
 * through the caller's ServerConfigIo.
 *
 * Two passes, as nats-server has them (conf/parse.go builds a map,
 * server/opts.go processConfigFileLine reads it):
 *  1. a recursive-descent parser that accepts what conf/lex.go accepts and
 *     builds ConfValue trees; the first syntax error stops it;
 *  2. the mapping of known keys (case-insensitive, as opts.go lowers them)
 *     onto ServerSettings; every problem is collected, in file order.
 * Differences from nats-server, each a deliberate error instead of a
 * silent surprise: an unknown size suffix (1kbb), a key without a value in
 * a block, and a stray '}' at the top level are errors; a number ends at
 * ']' so [1, 2] holds two integers.
 *
 * Invariants: the parser never reads past len; nesting, include depth and
 * file size are bounded (server_config.h); every message carries the file
 * and line of the key it is about.
 */
#include "broker/server_config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "proto/assert.h"

#define END_OF_TEXT (-1)
#define NS_PER_S INT64_C(1000000000)

/* ---- the tree ---- */

typedef enum ConfKind {
	CONF_STRING,
	CONF_INTEGER,
	CONF_FLOAT,
	CONF_BOOL,
	CONF_DATETIME,
	CONF_ARRAY,
	CONF_MAP,
} ConfKind;

typedef struct ConfValue ConfValue;

/* One key of a block, with where it was written. */
typedef struct ConfEntry {
	char *key;
	const char *file; /* interned in ConfLoad.files */
	int line;
	ConfValue *value; /* owned */
} ConfEntry;

struct ConfValue {
	ConfKind kind;
	bool suffixed;    /* an integer written with a size suffix (2m, 1MB) */
	bool used;        /* referenced as a $variable: not an unknown field */
	char *text;       /* strings: the value; other scalars: as written */
	int64_t integer;
	double real;
	bool boolean;
	GPtrArray *items; /* arrays: ConfValue*; maps: ConfEntry*, in file order */
};

static void conf_entry_free(gpointer data);

static void
conf_value_free(ConfValue *v)
{
	if (v == NULL)
		return;
	g_free(v->text);
	if (v->items != NULL)
		g_ptr_array_unref(v->items);
	g_free(v);
}

static void
conf_value_free_cb(gpointer data)
{
	conf_value_free(data);
}

static ConfValue *
conf_value_new(ConfKind kind)
{
	ConfValue *v = g_new0(ConfValue, 1);
	v->kind = kind;
	if (kind == CONF_ARRAY)
		v->items = g_ptr_array_new_with_free_func(conf_value_free_cb);
	else if (kind == CONF_MAP)
		v->items = g_ptr_array_new_with_free_func(conf_entry_free);
	return v;
}

static void
conf_entry_free(gpointer data)
{
	ConfEntry *e = data;
	g_free(e->key);
	conf_value_free(e->value);
	g_free(e);
}

/* A deep copy: a $variable gets its own value, its source stays owned by
 * the block that defined it. */
static ConfValue *
conf_value_copy(const ConfValue *v)
{
	ConfValue *c = conf_value_new(v->kind);
	c->suffixed = v->suffixed;
	c->text = g_strdup(v->text);
	c->integer = v->integer;
	c->real = v->real;
	c->boolean = v->boolean;
	if (v->kind == CONF_ARRAY) {
		for (guint i = 0; i < v->items->len; i++)
			g_ptr_array_add(c->items, conf_value_copy(v->items->pdata[i]));
	} else if (v->kind == CONF_MAP) {
		for (guint i = 0; i < v->items->len; i++) {
			const ConfEntry *e = v->items->pdata[i];
			ConfEntry *ce = g_new0(ConfEntry, 1);
			ce->key = g_strdup(e->key);
			ce->file = e->file;
			ce->line = e->line;
			ce->value = conf_value_copy(e->value);
			g_ptr_array_add(c->items, ce);
		}
	}
	return c;
}

static ConfEntry *
conf_map_find(const ConfValue *map, const char *key)
{
	for (guint i = 0; i < map->items->len; i++) {
		ConfEntry *e = map->items->pdata[i];
		if (strcmp(e->key, key) == 0)
			return e;
	}
	return NULL;
}

/* Sets key (taken) to value (taken). A key given again replaces the value
 * in place, as nats-server's map assignment does. */
static void
conf_map_set(ConfValue *map, char *key, const char *file, int line, ConfValue *value)
{
	ASSERT(map->kind == CONF_MAP && key != NULL && value != NULL);
	ConfEntry *e = conf_map_find(map, key);
	if (e != NULL) {
		g_free(key);
		conf_value_free(e->value);
	} else {
		e = g_new0(ConfEntry, 1);
		e->key = key;
		g_ptr_array_add(map->items, e);
	}
	e->file = file;
	e->line = line;
	e->value = value;
}

static const char *
kind_name(ConfKind kind)
{
	switch (kind) {
	case CONF_STRING: return "a string";
	case CONF_INTEGER: return "an integer";
	case CONF_FLOAT: return "a float";
	case CONF_BOOL: return "a boolean";
	case CONF_DATETIME: return "a date";
	case CONF_ARRAY: return "an array";
	case CONF_MAP: return "a block";
	}
	UNREACHABLE();
}

/* ---- the parser ---- */

/* What a file and the files it includes share. */
typedef struct ConfLoad {
	const ServerConfigIo *io;
	GPtrArray *files;     /* interned file names (owned) */
	GPtrArray *env_stack; /* names of environment variables being expanded */
	char *error_where;    /* "FILE:LINE" of the first syntax error */
	char *error_what;
} ConfLoad;

typedef struct ConfParser {
	ConfLoad *load;
	const char *file; /* interned */
	const char *text;
	size_t len;
	size_t pos;
	int line;
	int nesting;       /* open { and [ */
	int include_depth; /* 0 for the main file */
	GPtrArray *scopes; /* maps being built, outermost first (borrowed) */
} ConfParser;

static const char *
conf_load_intern(ConfLoad *load, const char *name)
{
	for (guint i = 0; i < load->files->len; i++) {
		if (strcmp(load->files->pdata[i], name) == 0)
			return load->files->pdata[i];
	}
	char *copy = g_strdup(name);
	g_ptr_array_add(load->files, copy);
	return copy;
}

static bool G_GNUC_PRINTF(3, 4)
fail(ConfParser *p, int line, const char *format, ...)
{
	if (p->load->error_what != NULL)
		return false;
	va_list ap;
	va_start(ap, format);
	p->load->error_what = g_strdup_vprintf(format, ap);
	va_end(ap);
	p->load->error_where = g_strdup_printf("%s:%d", p->file, line);
	return false;
}

static int
peek_at(const ConfParser *p, size_t ahead)
{
	return p->pos + ahead < p->len ? (unsigned char)p->text[p->pos + ahead] : END_OF_TEXT;
}

static int
peek(const ConfParser *p)
{
	return peek_at(p, 0);
}

static void
advance(ConfParser *p)
{
	ASSERT(p->pos < p->len);
	if (p->text[p->pos] == '\n')
		p->line++;
	p->pos++;
}

/* unicode.IsSpace over ASCII: what conf/lex.go skips between tokens. */
static bool
is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* conf/lex.go isWhitespace: inside a line. */
static bool
is_blank(int c)
{
	return c == ' ' || c == '\t';
}

static bool
is_newline(int c)
{
	return c == '\n' || c == '\r';
}

static bool
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool
at_comment(const ConfParser *p)
{
	return peek(p) == '#' || (peek(p) == '/' && peek_at(p, 1) == '/');
}

/* Skips a comment up to, not over, its new line. */
static void
skip_comment(ConfParser *p)
{
	while (peek(p) != END_OF_TEXT && !is_newline(peek(p)))
		advance(p);
}

static void
skip_space(ConfParser *p)
{
	while (is_space(peek(p)))
		advance(p);
}

/* For messages: 'c', a new line, the end of the file. */
static const char *
describe_char(int c, char buf[8])
{
	if (c == END_OF_TEXT)
		return "the end of the file";
	if (is_newline(c))
		return "a new line";
	if (c > ' ' && c < 0x7f)
		g_snprintf(buf, 8, "'%c'", c);
	else
		g_snprintf(buf, 8, "\\x%02x", (unsigned)c);
	return buf;
}

static bool parse_value(ConfParser *p, ConfValue **out);
static bool parse_map_body(ConfParser *p, ConfValue *map, int open_line);
static bool parse_document(ConfParser *p, ConfValue *map);

static bool
enter(ConfParser *p, int line)
{
	if (p->nesting >= SERVER_CONFIG_NESTING_MAX)
		return fail(p, line, "blocks and arrays nest deeper than %d", SERVER_CONFIG_NESTING_MAX);
	p->nesting++;
	return true;
}

/* After a backslash (lexStringEscape): \t \n \r \" \\ \xHH. */
static bool
parse_escape(ConfParser *p, GString *s)
{
	int c = peek(p);
	char buf[8];
	switch (c) {
	case 't': g_string_append_c(s, '\t'); break;
	case 'n': g_string_append_c(s, '\n'); break;
	case 'r': g_string_append_c(s, '\r'); break;
	case '"': g_string_append_c(s, '"'); break;
	case '\\': g_string_append_c(s, '\\'); break;
	case 'x': {
		int hi = g_ascii_xdigit_value((char)peek_at(p, 1));
		int lo = g_ascii_xdigit_value((char)peek_at(p, 2));
		if (peek_at(p, 1) == END_OF_TEXT || peek_at(p, 2) == END_OF_TEXT || hi < 0 || lo < 0)
			return fail(p, p->line, "expected two hexadecimal digits after '\\x'");
		g_string_append_c(s, (char)(hi * 16 + lo));
		advance(p);
		advance(p);
		break;
	}
	default:
		return fail(p, p->line,
		    "invalid escape %s after '\\'; only \\xHH, \\t, \\n, \\r, \\\" and \\\\ are allowed",
		    describe_char(c, buf));
	}
	advance(p);
	return true;
}

static bool
bool_word(const char *s, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on" };
	static const char *const no[] = { "false", "no", "off" };
	for (size_t i = 0; i < G_N_ELEMENTS(yes); i++) {
		if (g_ascii_strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return true;
		}
		if (g_ascii_strcasecmp(s, no[i]) == 0) {
			*out = false;
			return true;
		}
	}
	return false;
}

/* A $name reference (parse.go lookupVariable): an earlier key of an
 * enclosing block, innermost first, else the environment. */
static bool
resolve_variable(ConfParser *p, const char *name, int line, ConfValue **out)
{
	/* A raw bcrypt hash ($2a$...) is a string, not a reference. */
	if (g_str_has_prefix(name, "2a$")) {
		ConfValue *v = conf_value_new(CONF_STRING);
		v->text = g_strconcat("$", name, NULL);
		*out = v;
		return true;
	}
	for (guint i = p->scopes->len; i-- > 0;) {
		ConfEntry *e = conf_map_find(p->scopes->pdata[i], name);
		if (e != NULL) {
			e->value->used = true;
			*out = conf_value_copy(e->value);
			return true;
		}
	}
	const ServerConfigIo *io = p->load->io;
	const char *env = io != NULL && io->getenv != NULL ? io->getenv(io->ctx, name) : NULL;
	if (env == NULL)
		return fail(p, line, "variable reference for '%s' can not be found", name);
	for (guint i = 0; i < p->load->env_stack->len; i++) {
		if (strcmp(p->load->env_stack->pdata[i], name) == 0)
			return fail(p, line, "variable reference cycle for '%s'", name);
	}
	if (*env == '\0') {
		*out = conf_value_new(CONF_STRING);
		(*out)->text = g_strdup("");
		return true;
	}
	/* The value is parsed as a value would be in the file (parseEnv). */
	g_autofree char *text = g_strconcat("pk=", env, NULL);
	ConfParser sub = {
		.load = p->load,
		.file = p->file,
		.text = text,
		.len = strlen(text),
		.line = line,
		.nesting = p->nesting,
		.include_depth = p->include_depth,
		.scopes = g_ptr_array_new(),
	};
	ConfValue *map = conf_value_new(CONF_MAP);
	g_ptr_array_add(p->load->env_stack, (gpointer)name);
	bool ok = parse_document(&sub, map);
	g_ptr_array_remove_index(p->load->env_stack, p->load->env_stack->len - 1);
	g_ptr_array_unref(sub.scopes);
	if (ok) {
		ConfEntry *e = conf_map_find(map, "pk");
		ASSERT(e != NULL);
		*out = e->value;
		e->value = conf_value_new(CONF_STRING);
	} else {
		/* Say which variable the bad text came from. */
		char *what = p->load->error_what;
		p->load->error_what = g_strdup_printf("variable reference for '%s' could not be parsed: %s", name, what);
		g_free(what);
	}
	conf_value_free(map);
	return ok;
}

/* An unquoted string (lexString); text[start..pos) is already part of it.
 * Unquoted true/false/yes/no/on/off are booleans and $name a variable,
 * unless an escape was used. */
static bool
parse_unquoted(ConfParser *p, size_t start, int line, ConfValue **out)
{
	g_autoptr(GString) s = g_string_new_len(p->text + start, (gssize)(p->pos - start));
	bool escaped = false;
	for (;;) {
		int c = peek(p);
		if (c == END_OF_TEXT || is_newline(c) || is_blank(c) || c == ';' || c == ',' || c == ']' || c == '}')
			break;
		advance(p);
		if (c == '\'')
			break; /* lexString: a quote ends the string and is dropped */
		if (c == '\\') {
			if (!parse_escape(p, s))
				return false;
			escaped = true;
			continue;
		}
		g_string_append_c(s, (char)c);
	}
	bool b;
	if (!escaped && bool_word(s->str, &b)) {
		ConfValue *v = conf_value_new(CONF_BOOL);
		v->boolean = b;
		v->text = g_string_free(g_steal_pointer(&s), FALSE);
		*out = v;
		return true;
	}
	if (!escaped && s->str[0] == '$' && s->len > 1)
		return resolve_variable(p, s->str + 1, line, out);
	ConfValue *v = conf_value_new(CONF_STRING);
	v->text = g_string_free(g_steal_pointer(&s), FALSE);
	*out = v;
	return true;
}

static bool
parse_quoted(ConfParser *p, ConfValue **out)
{
	int line = p->line;
	int quote = peek(p);
	advance(p);
	g_autoptr(GString) s = g_string_new(NULL);
	for (;;) {
		int c = peek(p);
		if (c == END_OF_TEXT)
			return fail(p, p->line, "the string opened on line %d is not closed", line);
		advance(p);
		if (c == quote)
			break;
		if (c == '\\' && quote == '"') {
			if (!parse_escape(p, s))
				return false;
			continue;
		}
		g_string_append_c(s, (char)c);
	}
	ConfValue *v = conf_value_new(CONF_STRING);
	v->text = g_string_free(g_steal_pointer(&s), FALSE);
	*out = v;
	return true;
}

/* ( raw text up to a line holding only ')' (lexBlock). */
static bool
parse_paren_block(ConfParser *p, ConfValue **out)
{
	int line = p->line;
	advance(p);
	size_t start = p->pos;
	for (size_t i = start; i < p->len; i++) {
		if (p->text[i] == ')' && i > start && p->text[i - 1] == '\n' && (i + 1 == p->len || p->text[i + 1] == '\n')) {
			ConfValue *v = conf_value_new(CONF_STRING);
			v->text = g_strndup(p->text + start, i - start);
			while (p->pos <= i)
				advance(p);
			*out = v;
			return true;
		}
	}
	return fail(p, line, "the '(' block has no ')' on a line of its own");
}

static bool
parse_date(ConfParser *p, size_t start, ConfValue **out)
{
	/* YYYY is read; the rest must be -MM-DDTHH:MM:SSZ, '0' for a digit. */
	static const char tail[] = "-00-00T00:00:00Z";
	for (size_t i = 0; tail[i] != '\0'; i++) {
		int c = peek(p);
		bool ok = tail[i] == '0' ? is_digit(c) : c == tail[i];
		if (!ok) {
			char buf[8];
			return fail(p, p->line, "a date is YYYY-MM-DDTHH:MM:SSZ; found %s", describe_char(c, buf));
		}
		advance(p);
	}
	ConfValue *v = conf_value_new(CONF_DATETIME);
	v->text = g_strndup(p->text + start, p->pos - start);
	*out = v;
	return true;
}

static bool
is_number_end(int c)
{
	return c == END_OF_TEXT || is_newline(c) || is_blank(c) || c == '}' || c == ';' || c == ',' || c == ']';
}

static bool
is_size_suffix(int c)
{
	return c != END_OF_TEXT && strchr("kKmMgGtTpPeE", c) != NULL;
}

/* parse.go: k = 1000, kb/ki/kib = 1024, and so on up to e/eb. */
static bool
size_multiplier(const char *suffix, int64_t *out)
{
	static const char letters[] = "kmgtpe";
	if (suffix[0] == '\0') {
		*out = 1;
		return true;
	}
	const char *at = strchr(letters, g_ascii_tolower(suffix[0]));
	if (at == NULL)
		return false;
	int power = (int)(at - letters) + 1;
	const char *rest = suffix + 1;
	int64_t base;
	if (rest[0] == '\0')
		base = 1000;
	else if (g_ascii_strcasecmp(rest, "b") == 0 || g_ascii_strcasecmp(rest, "i") == 0 ||
	    g_ascii_strcasecmp(rest, "ib") == 0)
		base = 1024;
	else
		return false;
	int64_t m = 1;
	for (int i = 0; i < power; i++)
		m *= base;
	*out = m;
	return true;
}

static bool
make_integer(ConfParser *p, size_t start, int line, ConfValue **out)
{
	g_autofree char *text = g_strndup(p->text + start, p->pos - start);
	size_t digits_end = text[0] == '-' ? 1 : 0;
	while (is_digit(text[digits_end]))
		digits_end++;
	const char *suffix = text + digits_end;
	int64_t multiplier;
	if (!size_multiplier(suffix, &multiplier))
		return fail(p, line, "'%s': unknown size suffix '%s' (use k, kb, ki, kib, m, mb, g, gb, t, tb, p, pb, e or eb)",
		    text, suffix);
	g_autofree char *digits = g_strndup(text, digits_end);
	errno = 0;
	gint64 n = g_ascii_strtoll(digits, NULL, 10);
	int64_t value;
	if (errno == ERANGE || __builtin_mul_overflow(n, multiplier, &value))
		return fail(p, line, "integer '%s' is out of range", text);
	ConfValue *v = conf_value_new(CONF_INTEGER);
	v->integer = value;
	v->suffixed = multiplier != 1;
	v->text = g_steal_pointer(&text);
	*out = v;
	return true;
}

/* A number, a date, an IP address, or a string that starts with a digit
 * (lexNumberOrDateOrStringOrIP, lexNegNumber). start is at the first digit,
 * or at the '-' of a negative number. */
static bool
parse_number(ConfParser *p, size_t start, bool negative, ConfValue **out)
{
	int line = p->line;
	while (is_digit(peek(p)))
		advance(p);
	int c = peek(p);
	if (c == '-' && !negative) {
		if (p->pos - start != 4)
			return fail(p, line, "dates must be in full Zulu form: YYYY-MM-DDTHH:MM:SSZ");
		return parse_date(p, start, out);
	}
	if (c == '.') {
		advance(p);
		if (!is_digit(peek(p))) {
			char buf[8];
			return fail(p, line, "a float needs a digit after the '.', found %s", describe_char(peek(p), buf));
		}
		while (is_digit(peek(p)))
			advance(p);
		if (peek(p) == '.') {
			/* A second dot: an IP address such as 127.0.0.1:4222. */
			while (is_digit(peek(p)) || peek(p) == '.' || peek(p) == ':' || peek(p) == '-')
				advance(p);
			ConfValue *v = conf_value_new(CONF_STRING);
			v->text = g_strndup(p->text + start, p->pos - start);
			*out = v;
			return true;
		}
		g_autofree char *text = g_strndup(p->text + start, p->pos - start);
		ConfValue *v = conf_value_new(CONF_FLOAT);
		v->real = g_ascii_strtod(text, NULL);
		v->text = g_steal_pointer(&text);
		*out = v;
		return true;
	}
	if (is_size_suffix(c)) {
		advance(p);
		while (peek(p) != END_OF_TEXT && strchr("bBiI", peek(p)) != NULL)
			advance(p);
		if (is_number_end(peek(p)) || is_digit(peek(p)))
			return make_integer(p, start, line, out);
		return parse_unquoted(p, start, line, out); /* 2ms, 1min: a string */
	}
	if (negative || is_number_end(c))
		return make_integer(p, start, line, out);
	return parse_unquoted(p, start, line, out); /* 1s, 30h: a string */
}

static bool
parse_array(ConfParser *p, ConfValue **out)
{
	int line = p->line;
	if (!enter(p, line))
		return false;
	advance(p);
	ConfValue *array = conf_value_new(CONF_ARRAY);
	char buf[8];
	for (;;) {
		skip_space(p);
		if (at_comment(p)) {
			skip_comment(p);
			continue;
		}
		int c = peek(p);
		if (c == END_OF_TEXT) {
			fail(p, p->line, "the array opened on line %d is not closed", line);
			goto failed;
		}
		if (c == ']') {
			advance(p);
			break;
		}
		if (c == ',') {
			fail(p, p->line, "unexpected ',' in an array");
			goto failed;
		}
		ConfValue *item;
		if (!parse_value(p, &item))
			goto failed;
		g_ptr_array_add(array->items, item);
		while (is_blank(peek(p)))
			advance(p);
		if (at_comment(p)) {
			skip_comment(p);
			continue;
		}
		c = peek(p);
		if (c == ',' || is_newline(c)) {
			advance(p);
			continue;
		}
		if (c == ']') {
			advance(p);
			break;
		}
		if (c == END_OF_TEXT)
			fail(p, p->line, "the array opened on line %d is not closed", line);
		else
			fail(p, p->line, "expected ',' or ']' after an array value, found %s", describe_char(c, buf));
		goto failed;
	}
	p->nesting--;
	*out = array;
	return true;
failed:
	conf_value_free(array);
	return false;
}

static bool
parse_map(ConfParser *p, ConfValue **out)
{
	int line = p->line;
	if (!enter(p, line))
		return false;
	advance(p);
	ConfValue *map = conf_value_new(CONF_MAP);
	g_ptr_array_add(p->scopes, map);
	bool ok = parse_map_body(p, map, line);
	g_ptr_array_remove_index(p->scopes, p->scopes->len - 1);
	if (!ok) {
		conf_value_free(map);
		return false;
	}
	p->nesting--;
	*out = map;
	return true;
}

/* lexValue: what may follow a key. */
static bool
parse_value(ConfParser *p, ConfValue **out)
{
	int line = p->line;
	int c = peek(p);
	size_t start = p->pos;
	char buf[8];
	switch (c) {
	case '[':
		return parse_array(p, out);
	case '{':
		return parse_map(p, out);
	case '"':
	case '\'':
		return parse_quoted(p, out);
	case '(':
		return parse_paren_block(p, out);
	case '-':
		advance(p);
		if (!is_digit(peek(p)))
			return fail(p, line, "expected a digit after '-', found %s", describe_char(peek(p), buf));
		return parse_number(p, start, true, out);
	case '.':
		return fail(p, line, "a number must start with a digit, not '.'");
	case END_OF_TEXT:
		return fail(p, line, "expected a value, found the end of the file");
	default:
		break;
	}
	if (is_newline(c))
		return fail(p, line, "expected a value, found a new line");
	if (is_digit(c))
		return parse_number(p, start, false, out);
	return parse_unquoted(p, start, line, out);
}

/* After a value: blanks, then a comment, a new line, ';' or ',' (or the
 * block's '}', left for the caller). */
static bool
parse_value_end(ConfParser *p, bool in_map, const char *key)
{
	while (is_blank(peek(p)))
		advance(p);
	if (at_comment(p)) {
		skip_comment(p);
		return true;
	}
	int c = peek(p);
	if (c == END_OF_TEXT || (in_map && c == '}'))
		return true;
	if (is_newline(c) || c == ';' || c == ',') {
		advance(p);
		return true;
	}
	char buf[8];
	return fail(p, p->line, "expected a new line, ';', ',' or a comment after the value of '%s', found %s", key,
	    describe_char(c, buf));
}

static const char *
dirname_for(const char *file, char **owned)
{
	*owned = g_path_get_dirname(file);
	return *owned;
}

static bool
do_include(ConfParser *p, ConfValue *map, const char *path, int line)
{
	if (p->include_depth >= SERVER_CONFIG_INCLUDE_DEPTH_MAX)
		return fail(p, line, "includes nest deeper than %d (does a file include itself?)",
		    SERVER_CONFIG_INCLUDE_DEPTH_MAX);
	const ServerConfigIo *io = p->load->io;
	if (io == NULL || io->read == NULL)
		return fail(p, line, "cannot include '%s': no files can be read here", path);
	g_autofree char *dir_owned = NULL;
	const char *dir = dirname_for(p->file, &dir_owned);
	g_autofree char *full = g_path_is_absolute(path) || strcmp(dir, ".") == 0
	    ? g_strdup(path)
	    : g_build_filename(dir, path, NULL);
	g_autofree char *text = NULL;
	size_t len = 0;
	g_autoptr(GError) error = NULL;
	if (!io->read(io->ctx, full, &text, &len, &error))
		return fail(p, line, "cannot include '%s': %s", full, error != NULL ? error->message : "unreadable");
	if (len > SERVER_CONFIG_BYTES_MAX)
		return fail(p, line, "cannot include '%s': it is larger than %d bytes", full, SERVER_CONFIG_BYTES_MAX);
	if (memchr(text, '\0', len) != NULL)
		return fail(p, line, "cannot include '%s': it holds a NUL byte", full);
	/* The included file is a document of its own (its own variables);
	 * its keys land in the block that includes it (parse.go itemInclude). */
	ConfParser sub = {
		.load = p->load,
		.file = conf_load_intern(p->load, full),
		.text = text,
		.len = len,
		.line = 1,
		.include_depth = p->include_depth + 1,
		.scopes = g_ptr_array_new(),
	};
	ConfValue *included = conf_value_new(CONF_MAP);
	bool ok = parse_document(&sub, included);
	g_ptr_array_unref(sub.scopes);
	if (ok) {
		for (guint i = 0; i < included->items->len; i++) {
			ConfEntry *e = included->items->pdata[i];
			conf_map_set(map, g_steal_pointer(&e->key), e->file, e->line, g_steal_pointer(&e->value));
		}
	}
	conf_value_free(included);
	return ok;
}

/* include FILE, include 'FILE', include "FILE" (lexInclude); the word
 * "include" and the blank after it are read. */
static bool
parse_include(ConfParser *p, ConfValue *map, int line, bool in_map)
{
	while (is_blank(peek(p)))
		advance(p);
	int c = peek(p);
	char buf[8];
	g_autofree char *path = NULL;
	if (c == '"' || c == '\'') {
		advance(p);
		size_t start = p->pos;
		while (peek(p) != c) {
			if (peek(p) == END_OF_TEXT)
				return fail(p, line, "the quoted include file name is not closed");
			advance(p);
		}
		path = g_strndup(p->text + start, p->pos - start);
		advance(p);
	} else if (c == END_OF_TEXT || is_newline(c) || strchr("[{(-\\", c) != NULL || is_digit(c)) {
		return fail(p, line, "expected a file name after include, found %s", describe_char(c, buf));
	} else {
		size_t start = p->pos;
		while ((c = peek(p)) != END_OF_TEXT && !is_newline(c) && !is_blank(c) && c != ';' && c != '}' &&
		    c != '\'')
			advance(p);
		path = g_strndup(p->text + start, p->pos - start);
		if (c == '\'')
			advance(p);
	}
	if (!parse_value_end(p, in_map, "include"))
		return false;
	return do_include(p, map, path, line);
}

/* key [=|:] value, or include FILE (lexKeyStart ... lexTopValueEnd, and
 * the lexMap* states inside a block). */
static bool
parse_entry(ConfParser *p, ConfValue *map, bool in_map)
{
	int line = p->line;
	int c = peek(p);
	char buf[8];
	if (c == '=' || c == ':')
		return fail(p, line, "unexpected '%c': a key is missing before it", c);
	char *key;
	if (c == '"' || c == '\'') {
		advance(p);
		size_t start = p->pos;
		while (peek(p) != c) {
			if (peek(p) == END_OF_TEXT)
				return fail(p, line, "the quoted key is not closed");
			advance(p);
		}
		key = g_strndup(p->text + start, p->pos - start);
		advance(p);
	} else {
		size_t start = p->pos;
		while ((c = peek(p)) != END_OF_TEXT && !is_space(c) && c != '=' && c != ':')
			advance(p);
		key = g_strndup(p->text + start, p->pos - start);
		if (g_ascii_strcasecmp(key, "include") == 0 && is_space(peek(p))) {
			g_free(key);
			return parse_include(p, map, line, in_map);
		}
	}
	/* Up to a separator any white space, new lines included; after one,
	 * only blanks at the top level (lexValue), anything inside a block
	 * (lexMapValue). */
	skip_space(p);
	bool separated = peek(p) == '=' || peek(p) == ':';
	if (separated) {
		advance(p);
		if (in_map)
			skip_space(p);
		else
			while (is_blank(peek(p)))
				advance(p);
	}
	c = peek(p);
	if (c == END_OF_TEXT || (in_map && c == '}')) {
		fail(p, line, "'%s' has no value", key);
		g_free(key);
		return false;
	}
	if (in_map && c == ',') {
		fail(p, p->line, "expected a value for '%s', found ','", key);
		g_free(key);
		return false;
	}
	if (is_newline(c)) {
		fail(p, line, "expected a value for '%s', found %s", key, describe_char(c, buf));
		g_free(key);
		return false;
	}
	ConfValue *value;
	if (!parse_value(p, &value)) {
		g_free(key);
		return false;
	}
	if (!parse_value_end(p, in_map, key)) {
		g_free(key);
		conf_value_free(value);
		return false;
	}
	conf_map_set(map, key, p->file, line, value);
	return true;
}

static bool
parse_map_body(ConfParser *p, ConfValue *map, int open_line)
{
	char buf[8];
	for (;;) {
		skip_space(p);
		if (at_comment(p)) {
			skip_comment(p);
			continue;
		}
		int c = peek(p);
		if (c == END_OF_TEXT)
			return fail(p, p->line, "the block opened on line %d is not closed", open_line);
		if (c == '}') {
			advance(p);
			return true;
		}
		if (c == ']' || c == ',' || c == ';')
			return fail(p, p->line, "unexpected %s in a block", describe_char(c, buf));
		if (!parse_entry(p, map, true))
			return false;
	}
}

/* A whole file (lexTop). A '{' at the top level opens keys of the top
 * level itself, so that JSON-shaped files parse. */
static bool
parse_document(ConfParser *p, ConfValue *map)
{
	g_ptr_array_add(p->scopes, map);
	bool ok = true;
	while (ok) {
		skip_space(p);
		if (at_comment(p)) {
			skip_comment(p);
			continue;
		}
		int c = peek(p);
		if (c == END_OF_TEXT)
			break;
		if (c == '{') {
			int line = p->line;
			ok = enter(p, line);
			if (ok) {
				advance(p);
				ok = parse_map_body(p, map, line);
				p->nesting--;
			}
		} else if (c == '}') {
			ok = fail(p, p->line, "unexpected '}' with no block open");
		} else {
			ok = parse_entry(p, map, false);
		}
	}
	g_ptr_array_remove_index(p->scopes, p->scopes->len - 1);
	return ok;
}

/* ---- durations (Go's time.ParseDuration) ---- */

static bool
duration_unit_ns(const char *unit, size_t len, int64_t *out)
{
	static const struct {
		const char *name;
		int64_t ns;
	} units[] = {
		{ "ns", 1 }, { "us", 1000 }, { "\xc2\xb5s", 1000 }, { "\xce\xbcs", 1000 }, { "ms", 1000000 },
		{ "s", NS_PER_S }, { "m", 60 * NS_PER_S }, { "h", 3600 * NS_PER_S },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(units); i++) {
		if (strlen(units[i].name) == len && memcmp(units[i].name, unit, len) == 0) {
			*out = units[i].ns;
			return true;
		}
	}
	return false;
}

/* "1h30m", "1.5s", "100ms", "-2s", "0": sequences of a decimal number and
 * a unit (ns, us, µs, ms, s, m, h). Returns NULL, or why not. */
static const char *
duration_parse(const char *text, int64_t *out_ns)
{
	const char *s = text;
	bool negative = false;
	if (*s == '-' || *s == '+') {
		negative = *s == '-';
		s++;
	}
	if (strcmp(s, "0") == 0) {
		*out_ns = 0;
		return NULL;
	}
	if (*s == '\0')
		return "invalid duration";
	int64_t total = 0;
	while (*s != '\0') {
		int64_t whole = 0;
		int64_t frac = 0, scale = 1;
		bool any = false;
		while (is_digit(*s)) {
			if (__builtin_mul_overflow(whole, 10, &whole) || __builtin_add_overflow(whole, *s - '0', &whole))
				return "invalid duration (out of range)";
			s++;
			any = true;
		}
		if (*s == '.') {
			s++;
			while (is_digit(*s)) {
				if (scale < INT64_C(1000000000000000000)) {
					frac = frac * 10 + (*s - '0');
					scale *= 10;
				}
				s++;
				any = true;
			}
		}
		if (!any)
			return "invalid duration";
		const char *unit = s;
		while (*s != '\0' && *s != '.' && !is_digit(*s))
			s++;
		if (unit == s)
			return "missing unit in duration (ns, us, ms, s, m or h)";
		int64_t unit_ns;
		if (!duration_unit_ns(unit, (size_t)(s - unit), &unit_ns))
			return "unknown unit in duration (ns, us, ms, s, m or h)";
		int64_t part;
		if (__builtin_mul_overflow(whole, unit_ns, &part) ||
		    __builtin_add_overflow(part, (int64_t)((double)frac * (double)unit_ns / (double)scale), &part) ||
		    __builtin_add_overflow(total, part, &total))
			return "invalid duration (out of range)";
	}
	*out_ns = negative ? -total : total;
	return NULL;
}

/* ---- the mapping onto ServerSettings (opts.go processConfigFileLine) ---- */

typedef struct ConfApply {
	ServerSettings *settings;
	GPtrArray *errors;
	GPtrArray *warnings;
} ConfApply;

static void G_GNUC_PRINTF(3, 4)
apply_error(ConfApply *a, const ConfEntry *e, const char *format, ...)
{
	va_list ap;
	va_start(ap, format);
	g_autofree char *what = g_strdup_vprintf(format, ap);
	va_end(ap);
	g_ptr_array_add(a->errors, g_strdup_printf("%s:%d: %s", e->file, e->line, what));
}

static void G_GNUC_PRINTF(3, 4)
apply_warning(ConfApply *a, const ConfEntry *e, const char *format, ...)
{
	va_list ap;
	va_start(ap, format);
	g_autofree char *what = g_strdup_vprintf(format, ap);
	va_end(ap);
	g_ptr_array_add(a->warnings, g_strdup_printf("%s:%d: warning: %s", e->file, e->line, what));
}

static bool
type_error(ConfApply *a, const ConfEntry *e, const char *want)
{
	const ConfValue *v = e->value;
	if (v->kind == CONF_MAP || v->kind == CONF_ARRAY)
		apply_error(a, e, "%s: expected %s, got %s", e->key, want, kind_name(v->kind));
	else if (v->kind == CONF_STRING)
		apply_error(a, e, "%s: expected %s, got %s (\"%s\")", e->key, want, kind_name(v->kind), v->text);
	else
		apply_error(a, e, "%s: expected %s, got %s (%s)", e->key, want, kind_name(v->kind), v->text);
	return false;
}

static bool
get_string(ConfApply *a, const ConfEntry *e, char **out)
{
	if (e->value->kind != CONF_STRING)
		return type_error(a, e, "a string");
	g_free(*out);
	*out = g_strdup(e->value->text);
	return true;
}

static bool
get_bool(ConfApply *a, const ConfEntry *e, bool *out)
{
	if (e->value->kind != CONF_BOOL)
		return type_error(a, e, "a boolean (true, false, yes, no, on, off)");
	*out = e->value->boolean;
	return true;
}

/* An integer in [lo, hi]. */
static bool
get_int(ConfApply *a, const ConfEntry *e, int64_t lo, int64_t hi, int64_t *out)
{
	if (e->value->kind != CONF_INTEGER)
		return type_error(a, e, "an integer");
	int64_t v = e->value->integer;
	if (v < lo || v > hi) {
		apply_error(a, e, "%s: %" G_GINT64_FORMAT " is out of range (%" G_GINT64_FORMAT "..%" G_GINT64_FORMAT ")",
		    e->key, v, lo, hi);
		return false;
	}
	*out = v;
	return true;
}

/* parseDuration: a string is a Go duration; an integer is seconds, with
 * nats-server's warning (and ours about unquoted suffixes: 2m is 2000000). */
static bool
get_duration(ConfApply *a, const ConfEntry *e, int64_t *out_ns)
{
	const ConfValue *v = e->value;
	int64_t ns;
	if (v->kind == CONF_STRING) {
		const char *why = duration_parse(v->text, &ns);
		if (why != NULL) {
			apply_error(a, e, "%s: %s \"%s\"", e->key, why, v->text);
			return false;
		}
	} else if (v->kind == CONF_INTEGER) {
		if (__builtin_mul_overflow(v->integer, NS_PER_S, &ns)) {
			apply_error(a, e, "%s: %" G_GINT64_FORMAT " seconds is out of range", e->key, v->integer);
			return false;
		}
		if (v->suffixed)
			apply_warning(a, e,
			    "%s: the unquoted %s is the number %" G_GINT64_FORMAT ", taken as seconds; "
			    "quote a duration: \"%s\"",
			    e->key, v->text, v->integer, v->text);
		else
			apply_warning(a, e, "%s: a number is taken as seconds; write a duration such as \"%" G_GINT64_FORMAT "s\"",
			    e->key, v->integer);
	} else {
		return type_error(a, e, "a duration (\"2m\", \"500ms\")");
	}
	if (ns < 0) {
		apply_error(a, e, "%s: a duration must not be negative", e->key);
		return false;
	}
	*out_ns = ns;
	return true;
}

/* Go's net.SplitHostPort, then a port number: "host:port", "[v6]:port",
 * ":port". Returns NULL, or why not. */
static const char *
split_host_port(const char *text, char **host, int64_t *port)
{
	const char *colon = strrchr(text, ':');
	if (colon == NULL)
		return "missing port in address";
	const char *host_start = text, *host_end = colon;
	if (text[0] == '[') {
		const char *close = strchr(text, ']');
		if (close == NULL || close + 1 != colon)
			return "missing ']' or port in address";
		host_start = text + 1;
		host_end = close;
	} else if (memchr(text, ':', (size_t)(colon - text)) != NULL) {
		return "too many colons in address";
	}
	const char *p = colon + 1;
	if (*p == '\0')
		return "could not parse port";
	int64_t n = 0;
	for (; *p != '\0'; p++) {
		if (!is_digit(*p) || n > 65535)
			return "could not parse port";
		n = n * 10 + (*p - '0');
	}
	*host = g_strndup(host_start, (gsize)(host_end - host_start));
	*port = n;
	return NULL;
}

/* parseListen: a port, or "host:port". An empty host leaves host NULL. */
static bool
get_listen(ConfApply *a, const ConfEntry *e, char **host, int32_t *port)
{
	const ConfValue *v = e->value;
	if (v->kind == CONF_INTEGER) {
		int64_t n;
		if (!get_int(a, e, -1, 65535, &n))
			return false;
		*port = (int32_t)n;
		return true;
	}
	if (v->kind != CONF_STRING)
		return type_error(a, e, "a port or host:port");
	char *h = NULL;
	int64_t n = 0;
	const char *why = split_host_port(v->text, &h, &n);
	if (why == NULL && n > 65535)
		why = "port out of range";
	if (why != NULL) {
		apply_error(a, e, "%s: could not parse address string \"%s\": %s", e->key, v->text, why);
		g_free(h);
		return false;
	}
	g_free(*host);
	*host = *h != '\0' ? h : NULL;
	if (*h == '\0')
		g_free(h);
	*port = (int32_t)n;
	return true;
}

static bool
key_is(const char *key, const char *const *names)
{
	for (; *names != NULL; names++) {
		if (strcmp(key, *names) == 0)
			return true;
	}
	return false;
}

#define KEYS(...) ((const char *const[]){ __VA_ARGS__, NULL })

static void
apply_authorization(ConfApply *a, const ConfEntry *e)
{
	ServerSettings *s = a->settings;
	if (e->value->kind != CONF_MAP) {
		type_error(a, e, "a block { user, password, token, timeout }");
		return;
	}
	char *user = NULL, *password = NULL, *token = NULL;
	int64_t timeout_ns = 0;
	const ConfEntry *token_entry = NULL;
	for (guint i = 0; i < e->value->items->len; i++) {
		const ConfEntry *ae = e->value->items->pdata[i];
		g_autofree char *k = g_ascii_strdown(ae->key, -1);
		const ConfValue *v = ae->value;
		if (key_is(k, KEYS("user", "username"))) {
			get_string(a, ae, &user);
		} else if (key_is(k, KEYS("pass", "password"))) {
			get_string(a, ae, &password);
		} else if (strcmp(k, "token") == 0) {
			if (get_string(a, ae, &token))
				token_entry = ae;
		} else if (strcmp(k, "timeout") == 0) {
			/* Seconds, possibly fractional, or a duration string. */
			double seconds;
			if (v->kind == CONF_INTEGER) {
				seconds = (double)v->integer;
			} else if (v->kind == CONF_FLOAT) {
				seconds = v->real;
			} else if (v->kind == CONF_STRING) {
				int64_t ns;
				const char *why = duration_parse(v->text, &ns);
				if (why != NULL) {
					apply_error(a, ae, "authorization timeout: %s \"%s\"", why, v->text);
					continue;
				}
				seconds = (double)ns / (double)NS_PER_S;
			} else {
				type_error(a, ae, "seconds or a duration");
				continue;
			}
			if (seconds < 0 || seconds > 9e9) {
				apply_error(a, ae, "authorization timeout: %s is out of range", v->text);
				continue;
			}
			if (seconds > 60)
				apply_warning(a, ae,
				    "authorization timeout of %s (%g seconds) is high, consider keeping it under 60 seconds; "
				    "an unquoted 1m is the number 1000000: write \"1m\"",
				    v->text, seconds);
			timeout_ns = (int64_t)(seconds * (double)NS_PER_S + 0.5);
		} else if (key_is(k, KEYS("users", "permissions", "default_permission", "default_permissions",
		               "auth_callout", "auth_hook", "proxy_required"))) {
			apply_error(a, ae, "authorization %s: not supported by natsim-server (one user/password or one token)",
			    ae->key);
		} else if (!v->used) {
			apply_error(a, ae, "unknown field \"%s\"", ae->key);
		}
	}
	if ((user != NULL || password != NULL) && token != NULL)
		apply_error(a, token_entry != NULL ? token_entry : e, "Cannot have a user/pass and token");
	/* The block replaces the whole of authorization (opts.go). */
	g_free(s->user);
	g_free(s->password);
	g_free(s->token);
	s->user = user;
	s->password = password;
	s->token = token;
	s->auth_timeout_ns = timeout_ns;
	s->set |= SERVER_SET_USER | SERVER_SET_PASSWORD | SERVER_SET_TOKEN | SERVER_SET_AUTH_TIMEOUT;
}

static void
set_store_dir(ConfApply *a, const ConfEntry *e)
{
	ServerSettings *s = a->settings;
	if (s->store_dir != NULL) {
		apply_error(a, e, "Duplicate 'store_dir' configuration");
		return;
	}
	if (get_string(a, e, &s->store_dir))
		s->set |= SERVER_SET_STORE_DIR;
}

/* parseJetStream: true/false, "enabled"/"disabled", or a block (enabled
 * unless it says otherwise). Parsed so that the error can say where. */
/* jetstream.sync_interval: "always" (fsync before every acknowledgement)
 * or a duration between syncs (nats-server's opts.go). */
static void
set_sync_interval(ConfApply *a, const ConfEntry *e)
{
	ServerSettings *s = a->settings;
	if (e->value->kind == CONF_STRING && g_ascii_strcasecmp(e->value->text, "always") == 0) {
		s->js_sync_always = true;
		s->js_sync_interval_ns = 0;
	} else {
		int64_t ns = 0;
		if (!get_duration(a, e, &ns))
			return;
		if (ns <= 0) {
			apply_error(a, e, "%s: must be positive or \"always\"", e->key);
			return;
		}
		s->js_sync_always = false;
		s->js_sync_interval_ns = ns;
	}
	s->set |= SERVER_SET_JS_LIMITS;
}

/* getStorageSize: an integer (bytes, the lexer's size suffixes included)
 * or a string "<n>K|M|G|T" (powers of 1024). */
static void
set_storage_size(ConfApply *a, const ConfEntry *e, int64_t *out)
{
	const ConfValue *v = e->value;
	int64_t n = 0;
	if (v->kind == CONF_INTEGER) {
		n = v->integer;
	} else if (v->kind == CONF_STRING) {
		size_t len = strlen(v->text);
		static const char units[] = "KMGT";
		const char *u = len > 0 ? strchr(units, v->text[len - 1]) : NULL;
		char *end = NULL;
		n = len > 1 ? g_ascii_strtoll(v->text, &end, 10) : 0;
		if (len == 0) {
			n = 0;
		} else if (u == NULL || v->text[len - 1] == '\0') {
			apply_error(a, e, "%s: sizes defined as strings must end in K, M, G, T", e->key);
			return;
		} else if (end != v->text + len - 1 || n < 0 || n > (INT64_MAX >> (10 * (u - units + 1)))) {
			apply_error(a, e, "%s: invalid size \"%s\"", e->key, v->text);
			return;
		} else {
			n <<= 10 * (u - units + 1);
		}
	} else {
		type_error(a, e, "an integer or a size string like \"1G\"");
		return;
	}
	if (n < 0) {
		apply_error(a, e, "%s: must not be negative", e->key);
		return;
	}
	*out = n;
	a->settings->set |= SERVER_SET_JS_LIMITS;
}

static void
apply_jetstream(ConfApply *a, const ConfEntry *e)
{
	ServerSettings *s = a->settings;
	const ConfValue *v = e->value;
	bool enabled = false;
	if (v->kind == CONF_BOOL) {
		enabled = v->boolean;
	} else if (v->kind == CONF_STRING) {
		if (g_ascii_strcasecmp(v->text, "enabled") == 0 || g_ascii_strcasecmp(v->text, "enable") == 0) {
			enabled = true;
		} else if (g_ascii_strcasecmp(v->text, "disabled") == 0 || g_ascii_strcasecmp(v->text, "disable") == 0) {
			enabled = false;
		} else {
			apply_error(a, e, "Expected 'enabled' or 'disabled' for string value, got '%s'", v->text);
			return;
		}
	} else if (v->kind == CONF_MAP) {
		enabled = true;
		for (guint i = 0; i < v->items->len; i++) {
			const ConfEntry *je = v->items->pdata[i];
			g_autofree char *k = g_ascii_strdown(je->key, -1);
			bool b = false;
			if (key_is(k, KEYS("store", "store_dir", "storedir")))
				set_store_dir(a, je);
			else if (key_is(k, KEYS("sync", "sync_interval")))
				set_sync_interval(a, je);
			else if (key_is(k, KEYS("max_memory_store", "max_mem_store", "max_mem")))
				set_storage_size(a, je, &s->js_max_memory_bytes);
			else if (key_is(k, KEYS("max_file_store", "max_file")))
				set_storage_size(a, je, &s->js_max_storage_bytes);
			else if (key_is(k, KEYS("enabled", "enable")) && get_bool(a, je, &b))
				enabled = b;
			else if (key_is(k, KEYS("disabled", "disable")) && get_bool(a, je, &b))
				enabled = !b;
			/* domain, encryption, limits{...}: not modelled (single server, no accounts). */
		}
	} else {
		type_error(a, e, "true, false, \"enabled\", \"disabled\" or a block");
		return;
	}
	s->jetstream = enabled;
	g_free(s->jetstream_where);
	s->jetstream_where = g_strdup_printf("%s:%d", e->file, e->line);
	s->set |= SERVER_SET_JETSTREAM;
}

/* nats-server options natsim-server leaves out. Those that change what
 * clients see or how they are secured are errors; the rest only tune
 * nats-server internals or its logging, and are ignored with a warning. */
static const char *const unsupported_keys[] = {
	"tls", "cluster", "gateway", "leaf", "leafnodes", "accounts", "operator", "operators", "root", "roots",
	"root_operator", "root_operators", "resolver", "account_resolver", "accounts_resolver", "resolver_tls",
	"resolver_preload", "resolver_pinned_accounts", "trusted", "trusted_keys", "websocket", "ws", "mqtt",
	"https", "https_port", "http_base_path", "mappings", "maps", "no_auth_user", "no_header_support",
	"proxy_protocol", "proxies", "ocsp", "allow_non_tls", "default_sentinel", NULL,
};
static const char *const ignored_keys[] = {
	"logfile_size_limit", "log_size_limit", "logfile_max_num", "log_max_num", "max_traced_msg_len",
	"ports_file_dir", "prof_port", "prof_block_rate", "disable_sublist_cache", "no_sublist_cache",
	"lame_duck_duration", "lame_duck_grace_period", "connect_error_reports", "reconnect_error_reports",
	"max_closed_clients", "client_advertise", "syslog", "remote_syslog", "server_tags", "server_metadata",
	"max_sub_tokens", "max_subscription_tokens", "no_fast_producer_stall", "write_timeout",
	"default_js_domain", "ocsp_cache", "system_account", "system", "no_system_account", "no_system",
	"no_sys_acc", "feature_flags", NULL,
};

static void
apply_top(ConfApply *a, const ConfEntry *e)
{
	ServerSettings *s = a->settings;
	g_autofree char *k = g_ascii_strdown(e->key, -1);
	int64_t n = 0;
	if (strcmp(k, "listen") == 0) {
		if (get_listen(a, e, &s->host, &s->port))
			s->set |= SERVER_SET_HOST | SERVER_SET_PORT;
	} else if (strcmp(k, "port") == 0) {
		if (get_int(a, e, -1, 65535, &n)) {
			s->port = (int32_t)n;
			s->set |= SERVER_SET_PORT;
		}
	} else if (key_is(k, KEYS("host", "net"))) {
		if (get_string(a, e, &s->host))
			s->set |= SERVER_SET_HOST;
	} else if (strcmp(k, "http") == 0) {
		if (get_listen(a, e, &s->http_host, &s->http_port))
			s->set |= SERVER_SET_HTTP_HOST | SERVER_SET_HTTP_PORT;
	} else if (key_is(k, KEYS("http_port", "monitor_port"))) {
		if (get_int(a, e, -1, 65535, &n)) {
			s->http_port = (int32_t)n;
			s->set |= SERVER_SET_HTTP_PORT;
		}
	} else if (strcmp(k, "server_name") == 0) {
		if (e->value->kind == CONF_STRING && strchr(e->value->text, ' ') != NULL)
			apply_error(a, e, "server name cannot contain spaces");
		else if (get_string(a, e, &s->server_name))
			s->set |= SERVER_SET_SERVER_NAME;
	} else if (strcmp(k, "authorization") == 0) {
		apply_authorization(a, e);
	} else if (strcmp(k, "max_payload") == 0) {
		if (e->value->kind == CONF_INTEGER && e->value->integer > SERVER_PAYLOAD_MAX_BYTES) {
			apply_error(a, e, "max_payload: %s (%" G_GINT64_FORMAT ") is over natsim-server's ceiling of 64 MiB (%d)",
			    e->value->text, e->value->integer, SERVER_PAYLOAD_MAX_BYTES);
		} else if (get_int(a, e, 0, SERVER_PAYLOAD_MAX_BYTES, &n)) {
			s->payload_max_bytes = n;
			s->set |= SERVER_SET_PAYLOAD_MAX;
		}
	} else if (key_is(k, KEYS("max_connections", "max_conn"))) {
		if (e->value->kind == CONF_INTEGER && e->value->integer <= 0)
			apply_error(a, e,
			    "%s: %" G_GINT64_FORMAT " would refuse every client (as nats-server does); natsim-server "
			    "needs a positive number",
			    e->key, e->value->integer);
		else if (get_int(a, e, 1, UINT32_MAX, &n)) {
			s->connections_max = (uint32_t)n;
			s->set |= SERVER_SET_CONNECTIONS_MAX;
		}
	} else if (key_is(k, KEYS("max_subscriptions", "max_subs"))) {
		/* 0 and below are unlimited, as in nats-server. */
		if (get_int(a, e, INT64_MIN, UINT32_MAX, &n)) {
			s->subscriptions_max = n > 0 ? (uint32_t)n : 0;
			s->set |= SERVER_SET_SUBSCRIPTIONS_MAX;
		}
	} else if (strcmp(k, "max_pending") == 0) {
		if (get_int(a, e, 0, INT64_MAX, &n)) {
			s->pending_max_bytes = n;
			s->set |= SERVER_SET_PENDING_MAX;
		}
	} else if (strcmp(k, "max_control_line") == 0) {
		if (get_int(a, e, 0, INT32_MAX, &n)) {
			s->control_line_max_bytes = (uint32_t)n;
			s->set |= SERVER_SET_CONTROL_LINE_MAX;
		}
	} else if (strcmp(k, "ping_interval") == 0) {
		if (get_duration(a, e, &s->ping_interval_ns))
			s->set |= SERVER_SET_PING_INTERVAL;
	} else if (strcmp(k, "ping_max") == 0) {
		if (get_int(a, e, 0, UINT32_MAX, &n)) {
			s->pings_out_max = (uint32_t)n;
			s->set |= SERVER_SET_PINGS_OUT_MAX;
		}
	} else if (strcmp(k, "write_deadline") == 0) {
		if (get_duration(a, e, &s->write_deadline_ns))
			s->set |= SERVER_SET_WRITE_DEADLINE;
	} else if (strcmp(k, "debug") == 0) {
		if (get_bool(a, e, &s->debug))
			s->set |= SERVER_SET_DEBUG;
	} else if (key_is(k, KEYS("trace", "trace_verbose", "trace_headers"))) {
		if (get_bool(a, e, &s->trace))
			s->set |= SERVER_SET_TRACE;
	} else if (strcmp(k, "logtime") == 0) {
		if (get_bool(a, e, &s->logtime))
			s->set |= SERVER_SET_LOGTIME;
	} else if (strcmp(k, "logtime_utc") == 0) {
		if (get_bool(a, e, &s->logtime_utc))
			s->set |= SERVER_SET_LOGTIME_UTC;
	} else if (key_is(k, KEYS("logfile", "log_file"))) {
		if (get_string(a, e, &s->log_file))
			s->set |= SERVER_SET_LOG_FILE;
	} else if (key_is(k, KEYS("pidfile", "pid_file"))) {
		if (get_string(a, e, &s->pid_file))
			s->set |= SERVER_SET_PID_FILE;
	} else if (strcmp(k, "jetstream") == 0) {
		apply_jetstream(a, e);
	} else if (key_is(k, KEYS("store_dir", "storedir"))) {
		set_store_dir(a, e);
	} else if (key_is(k, unsupported_keys)) {
		apply_error(a, e, "'%s' is a nats-server option natsim-server does not support", e->key);
	} else if (key_is(k, ignored_keys)) {
		apply_warning(a, e, "'%s' is a nats-server option natsim-server does not implement; ignored", e->key);
	} else if (!e->value->used) {
		/* A key only there to be a $variable is fine (opts.go). */
		apply_error(a, e, "unknown field \"%s\"", e->key);
	}
}

/* ---- entry points ---- */

bool
server_config_parse(const char *file_name, const char *text, size_t len, const ServerConfigIo *io,
    ServerSettings *settings, GPtrArray *errors, GPtrArray *warnings)
{
	ASSERT(file_name != NULL && (text != NULL || len == 0) && settings != NULL && errors != NULL);
	guint errors_before = errors->len;
	if (len > SERVER_CONFIG_BYTES_MAX) {
		g_ptr_array_add(errors, g_strdup_printf("%s:1: the configuration is larger than %d bytes", file_name,
		                            SERVER_CONFIG_BYTES_MAX));
		return false;
	}
	const char *nul = memchr(text, '\0', len);
	if (nul != NULL) {
		int line = 1;
		for (const char *c = text; c < nul; c++)
			line += *c == '\n';
		g_ptr_array_add(errors, g_strdup_printf("%s:%d: the configuration holds a NUL byte", file_name, line));
		return false;
	}
	ConfLoad load = {
		.io = io,
		.files = g_ptr_array_new_with_free_func(g_free),
		.env_stack = g_ptr_array_new(),
	};
	ConfParser p = {
		.load = &load,
		.file = conf_load_intern(&load, file_name),
		.text = text,
		.len = len,
		.line = 1,
		.scopes = g_ptr_array_new(),
	};
	ConfValue *root = conf_value_new(CONF_MAP);
	if (!parse_document(&p, root)) {
		ASSERT(load.error_what != NULL);
		g_ptr_array_add(errors, g_strdup_printf("%s: %s", load.error_where, load.error_what));
	} else {
		if (root->items->len == 0)
			g_ptr_array_add(warnings, g_strdup_printf("%s:1: warning: the configuration has no values", file_name));
		ConfApply a = { settings, errors, warnings };
		for (guint i = 0; i < root->items->len; i++)
			apply_top(&a, root->items->pdata[i]);
	}
	conf_value_free(root);
	g_ptr_array_unref(p.scopes);
	g_ptr_array_unref(load.env_stack);
	g_ptr_array_unref(load.files);
	g_free(load.error_where);
	g_free(load.error_what);
	return errors->len == errors_before;
}

bool
server_config_load(const char *path, const ServerConfigIo *io, ServerSettings *settings, GPtrArray *errors,
    GPtrArray *warnings)
{
	ASSERT(path != NULL && io != NULL && io->read != NULL);
	g_autofree char *text = NULL;
	size_t len = 0;
	g_autoptr(GError) error = NULL;
	if (!io->read(io->ctx, path, &text, &len, &error)) {
		g_ptr_array_add(errors, g_strdup_printf("%s: cannot read the configuration file: %s", path,
		                            error != NULL ? error->message : "unreadable"));
		return false;
	}
	return server_config_parse(path, text, len, io, settings, errors, warnings);
}

/* ---- settings ---- */

void
server_settings_init(ServerSettings *settings)
{
	memset(settings, 0, sizeof(*settings));
	settings->logtime = true;
}

void
server_settings_clear(ServerSettings *s)
{
	if (s == NULL)
		return;
	g_free(s->host);
	g_free(s->http_host);
	g_free(s->server_name);
	g_free(s->user);
	g_free(s->password);
	g_free(s->token);
	g_free(s->log_file);
	g_free(s->pid_file);
	g_free(s->jetstream_where);
	g_free(s->store_dir);
	memset(s, 0, sizeof(*s));
}

static void
merge_string(char **dst, const char *src)
{
	g_free(*dst);
	*dst = g_strdup(src);
}

void
server_settings_merge(ServerSettings *dst, const ServerSettings *src)
{
	uint32_t set = src->set;
	if (set & SERVER_SET_HOST)
		merge_string(&dst->host, src->host);
	if (set & SERVER_SET_PORT)
		dst->port = src->port;
	if (set & SERVER_SET_HTTP_HOST)
		merge_string(&dst->http_host, src->http_host);
	if (set & SERVER_SET_HTTP_PORT)
		dst->http_port = src->http_port;
	if (set & SERVER_SET_SERVER_NAME)
		merge_string(&dst->server_name, src->server_name);
	if (set & SERVER_SET_USER)
		merge_string(&dst->user, src->user);
	if (set & SERVER_SET_PASSWORD)
		merge_string(&dst->password, src->password);
	if (set & SERVER_SET_TOKEN)
		merge_string(&dst->token, src->token);
	if (set & SERVER_SET_AUTH_TIMEOUT)
		dst->auth_timeout_ns = src->auth_timeout_ns;
	if (set & SERVER_SET_PAYLOAD_MAX)
		dst->payload_max_bytes = src->payload_max_bytes;
	if (set & SERVER_SET_CONNECTIONS_MAX)
		dst->connections_max = src->connections_max;
	if (set & SERVER_SET_SUBSCRIPTIONS_MAX)
		dst->subscriptions_max = src->subscriptions_max;
	if (set & SERVER_SET_PENDING_MAX)
		dst->pending_max_bytes = src->pending_max_bytes;
	if (set & SERVER_SET_CONTROL_LINE_MAX)
		dst->control_line_max_bytes = src->control_line_max_bytes;
	if (set & SERVER_SET_PING_INTERVAL)
		dst->ping_interval_ns = src->ping_interval_ns;
	if (set & SERVER_SET_PINGS_OUT_MAX)
		dst->pings_out_max = src->pings_out_max;
	if (set & SERVER_SET_WRITE_DEADLINE)
		dst->write_deadline_ns = src->write_deadline_ns;
	if (set & SERVER_SET_DEBUG)
		dst->debug = src->debug;
	if (set & SERVER_SET_TRACE)
		dst->trace = src->trace;
	if (set & SERVER_SET_LOGTIME)
		dst->logtime = src->logtime;
	if (set & SERVER_SET_LOGTIME_UTC)
		dst->logtime_utc = src->logtime_utc;
	if (set & SERVER_SET_LOG_FILE)
		merge_string(&dst->log_file, src->log_file);
	if (set & SERVER_SET_PID_FILE)
		merge_string(&dst->pid_file, src->pid_file);
	if (set & SERVER_SET_JETSTREAM) {
		dst->jetstream = src->jetstream;
		merge_string(&dst->jetstream_where, src->jetstream_where);
	}
	if (set & SERVER_SET_STORE_DIR)
		merge_string(&dst->store_dir, src->store_dir);
	if (set & SERVER_SET_JS_LIMITS) {
		dst->js_sync_always = src->js_sync_always;
		dst->js_sync_interval_ns = src->js_sync_interval_ns;
		dst->js_max_memory_bytes = src->js_max_memory_bytes;
		dst->js_max_storage_bytes = src->js_max_storage_bytes;
	}
	dst->set |= set;
}

static const char *
nonempty(const char *s)
{
	return s != NULL && *s != '\0' ? s : NULL;
}

bool
server_settings_to_broker_config(const ServerSettings *s, BrokerConfig *config, GPtrArray *errors)
{
	guint errors_before = errors->len;
	memset(config, 0, sizeof(*config));
	config->server_name = nonempty(s->server_name);
	config->host = nonempty(s->host) != NULL ? s->host : "0.0.0.0";
	/* A random port (-1) is known once bound; the driver fills it in. */
	config->port = s->port > 0 ? (uint16_t)s->port : s->port == 0 ? 4222 : 0;
	config->http_port = s->http_port > 0 ? (uint16_t)s->http_port : 0;
	int64_t payload = s->payload_max_bytes != 0 ? s->payload_max_bytes : 1024 * 1024;
	int64_t pending = s->pending_max_bytes != 0 ? s->pending_max_bytes : 64 * 1024 * 1024;
	if (payload > SERVER_PAYLOAD_MAX_BYTES)
		g_ptr_array_add(errors, g_strdup_printf("max_payload (%" G_GINT64_FORMAT ") is over natsim-server's "
		                                        "ceiling of 64 MiB (%d)",
		                            payload, SERVER_PAYLOAD_MAX_BYTES));
	else if (payload > pending)
		g_ptr_array_add(errors, g_strdup_printf("max_payload (%" G_GINT64_FORMAT ") cannot be higher than "
		                                        "max_pending (%" G_GINT64_FORMAT ")",
		                            payload, pending));
	config->payload_max_bytes = s->payload_max_bytes;
	config->pending_bytes_max = s->pending_max_bytes;
	config->connections_max = s->connections_max;
	config->subscriptions_max = s->subscriptions_max;
	config->control_line_max = s->control_line_max_bytes;
	config->ping_interval_ns = s->ping_interval_ns;
	config->pings_out_max = s->pings_out_max;
	config->write_deadline_ns = s->write_deadline_ns;
	config->auth_timeout_ns = s->auth_timeout_ns;
	config->jetstream = s->jetstream;
	config->js_store_dir = s->jetstream ? nonempty(s->store_dir) : NULL;
	config->js_sync_always = s->js_sync_always;
	config->js_sync_interval_ns = s->js_sync_interval_ns;
	config->js_max_memory_bytes = s->js_max_memory_bytes;
	config->js_max_storage_bytes = s->js_max_storage_bytes;
	const char *user = nonempty(s->user), *password = s->password, *token = nonempty(s->token);
	if ((user != NULL || nonempty(password) != NULL) && token != NULL)
		g_ptr_array_add(errors, g_strdup("cannot have a user/password and a token (--user/--pass, --auth, "
		                                 "authorization)"));
	else if (user == NULL && nonempty(password) != NULL)
		g_ptr_array_add(errors, g_strdup("a password needs a user (--user, or user in authorization)"));
	config->user = user;
	config->password = user != NULL ? (password != NULL ? password : "") : NULL;
	config->token = token;
	config->log_level = s->trace ? BROKER_LOG_TRACE : s->debug ? BROKER_LOG_DEBUG : BROKER_LOG_INFO;
	return errors->len == errors_before;
}
