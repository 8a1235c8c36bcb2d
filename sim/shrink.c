/*
 * shrink.c - see shrink.h. Works on the scenario's text, line by line, so
 * the result is an ordinary scenario file that checks in as a regression.
 */
#include "sim/shrink.h"

#include <string.h>

#include "sim/scenario.h"
#include "sim/scenario_run.h"

#define RUNS_MAX 2000

typedef struct Shrinker {
	const char *path;
	uint64_t seed;
	char *signature; /* the failure to keep */
	unsigned runs;
	const ScnRunOptions *options;
} Shrinker;

/* The failure a run must keep: the first expectation that failed (by its
 * text, since line numbers move), else the first always-on check. */
static char *
signature_of(const ScnResult *r)
{
	for (guint k = 0; k < r->failures->len; k++) {
		const ScnFailure *f = r->failures->pdata[k];
		if (f->pos.line > 0)
			return g_strdup(f->what);
	}
	const ScnFailure *f = r->failures->pdata[0];
	return g_strdup(f->what);
}

static bool
fails_same(Shrinker *s, const char *text)
{
	if (s->runs >= RUNS_MAX)
		return false;
	Scenario *scn = scenario_parse(s->path, text, s->seed, NULL);
	if (scn == NULL)
		return false;
	s->runs++;
	ScnResult *r = scenario_run(scn, s->options);
	bool same = false;
	for (guint k = 0; k < r->failures->len && !same; k++)
		same = strcmp(((ScnFailure *)r->failures->pdata[k])->what, s->signature) == 0;
	scn_result_free(r);
	scenario_free(scn);
	return same;
}

static char *
join_kept(char **lines, const bool *keep)
{
	GString *s = g_string_new(NULL);
	for (int k = 0; lines[k] != NULL; k++)
		if (keep[k]) {
			g_string_append(s, lines[k]);
			g_string_append_c(s, '\n');
		}
	return g_string_free(s, FALSE);
}

/* ddmin over the candidate lines (indices into lines); keep[] is updated
 * in place to the smallest failing subset found. */
static void
ddmin(Shrinker *s, char **lines, bool *keep, GArray *cands)
{
	guint n = 2;
	while (cands->len >= 1) {
		guint chunk = (cands->len + n - 1) / n;
		bool reduced = false;
		for (guint start = 0; start < cands->len && !reduced; start += chunk) {
			/* try the complement of this chunk */
			guint end = MIN(start + chunk, cands->len);
			for (guint k = start; k < end; k++)
				keep[g_array_index(cands, int, k)] = false;
			char *text = join_kept(lines, keep);
			bool failing = fails_same(s, text);
			g_free(text);
			if (failing) {
				g_array_remove_range(cands, start, end - start);
				n = MAX(n - 1, 2u);
				reduced = true;
			} else {
				for (guint k = start; k < end; k++)
					keep[g_array_index(cands, int, k)] = true;
			}
		}
		if (!reduced) {
			if (n >= cands->len)
				break;
			n = MIN(n * 2, cands->len);
		}
		if (s->runs >= RUNS_MAX)
			break;
	}
}

/* Rewrites timeline times as absolute ones, from the parsed scenario. */
static void
make_times_absolute(const Scenario *scn, char **lines)
{
	for (guint k = 0; k < scn->actions->len; k++) {
		const ScnAction *a = scn->actions->pdata[k];
		char **line = &lines[a->pos.line - 1];
		const char *at = strstr(*line, "at ");
		if (at == NULL)
			continue;
		const char *time = at + 3;
		while (*time == ' ' || *time == '\t')
			time++;
		const char *rest = time + strcspn(time, " \t");
		char *abs = scenario_format_duration(a->at_ns);
		char *fixed = g_strdup_printf("%.*s%s%s", (int)(time - *line), *line, abs, rest);
		g_free(abs);
		g_free(*line);
		*line = fixed;
	}
}

static bool
is_statement(const char *line, const char *word)
{
	while (*line == ' ' || *line == '\t')
		line++;
	size_t n = strlen(word);
	return strncmp(line, word, n) == 0 && (line[n] == ' ' || line[n] == '\t');
}

static char *
with_count(const char *line, const char *num, const char *end, guint64 n)
{
	return g_strdup_printf("%.*s%" G_GUINT64_FORMAT "%s", (int)(num - line), line, n, end);
}

/* Finds, by bisection, the smallest `count N` on each kept publish line
 * that still fails (a drop or a race at the k-th message fails every
 * count from k on, so failing is close to monotone in the count). */
static void
shrink_counts(Shrinker *s, char **lines, bool *keep)
{
	for (int k = 0; lines[k] != NULL; k++) {
		if (!keep[k] || !is_statement(lines[k], "at"))
			continue;
		char *count = strstr(lines[k], " count ");
		if (count == NULL)
			continue;
		char *num = count + 7;
		char *end;
		guint64 hi = g_ascii_strtoull(num, &end, 10), lo = 1;
		if (end == num || hi <= 1)
			continue;
		char *original = lines[k];
		while (lo < hi) {
			guint64 mid = lo + (hi - lo) / 2;
			char *candidate = with_count(original, num, end, mid);
			lines[k] = candidate;
			char *text = join_kept(lines, keep);
			bool failing = fails_same(s, text);
			g_free(text);
			g_free(candidate);
			if (failing)
				hi = mid;
			else
				lo = mid + 1;
		}
		lines[k] = with_count(original, num, end, hi);
		g_free(original);
	}
}

bool
shrink_scenario(const char *path, const char *text, uint64_t seed, const ScnRunOptions *options, ShrinkResult *out,
    GError **error)
{
	*out = (ShrinkResult){ 0 };
	Scenario *scn = scenario_parse(path, text, seed, error);
	if (scn == NULL) {
		if (error && *error)
			(*error)->code = SHRINK_ERROR_PARSE;
		return false;
	}
	char *explicit_text = scenario_export(scn);
	char **lines = g_strsplit(explicit_text, "\n", -1);
	g_free(explicit_text);
	make_times_absolute(scn, lines);
	Shrinker s = { .path = path, .seed = seed, .options = options };
	ScnResult *r = scenario_run(scn, options);
	s.runs = 1;
	scenario_free(scn);
	if (r->ok) {
		scn_result_free(r);
		g_strfreev(lines);
		g_set_error(error, g_quark_from_static_string("natsim-shrink"), SHRINK_ERROR_PASSES,
		    "%s passes with seed %" G_GUINT64_FORMAT ": nothing to shrink", path, seed);
		return false;
	}
	s.signature = signature_of(r);
	scn_result_free(r);

	/* The failing expectation's observers keep their subscriptions: a
	 * run where they never subscribed fails it for another reason. */
	Scenario *parsed = scenario_parse(path, text, seed, NULL);
	GHashTable *protected_lines = g_hash_table_new(g_direct_hash, g_direct_equal);
	for (guint x = 0; parsed != NULL && x < parsed->expects->len; x++) {
		const ScnExpect *e = parsed->expects->pdata[x];
		if (strcmp(e->text, s.signature) != 0)
			continue;
		for (guint a = 0; a < parsed->actions->len; a++) {
			const ScnAction *act = parsed->actions->pdata[a];
			if (act->kind != SCN_ACT_SUBSCRIBE && act->kind != SCN_ACT_REPLY)
				continue;
			for (guint c = 0; c < e->clients->len; c++)
				for (guint w = 0; w < act->actors->len; w++)
					if (strcmp(e->clients->pdata[c], act->actors->pdata[w]) == 0)
						g_hash_table_add(protected_lines, GINT_TO_POINTER(act->pos.line));
		}
	}
	scenario_free(parsed);

	guint count = g_strv_length(lines);
	bool *keep = g_new(bool, count + 1);
	GArray *timeline = g_array_new(FALSE, FALSE, sizeof(int));
	GArray *expects = g_array_new(FALSE, FALSE, sizeof(int));
	for (guint k = 0; k < count; k++) {
		keep[k] = true;
		if (is_statement(lines[k], "at") && !g_hash_table_contains(protected_lines, GINT_TO_POINTER(k + 1)))
			g_array_append_val(timeline, k);
		else if (is_statement(lines[k], "expect") && strstr(lines[k], s.signature) == NULL)
			g_array_append_val(expects, k);
	}
	g_hash_table_destroy(protected_lines);
	out->timeline_lines = 0;
	for (guint k = 0; k < count; k++)
		out->timeline_lines += is_statement(lines[k], "at");
	ddmin(&s, lines, keep, timeline);
	ddmin(&s, lines, keep, expects);
	shrink_counts(&s, lines, keep);
	unsigned kept = 0;
	for (guint k = 0; k < count; k++)
		kept += keep[k] && is_statement(lines[k], "at");
	out->kept_lines = kept;
	GString *result = g_string_new(NULL);
	g_string_append_printf(result, "# minimal scenario from natsim shrink %s --seed %" G_GUINT64_FORMAT "\n", path, seed);
	g_string_append_printf(result, "# still fails: %s\n", s.signature);
	char *body = join_kept(lines, keep);
	g_string_append(result, body);
	g_free(body);
	out->text = g_string_free(result, FALSE);
	out->failure = s.signature;
	out->runs = s.runs;
	g_free(keep);
	g_array_free(timeline, TRUE);
	g_array_free(expects, TRUE);
	g_strfreev(lines);
	return true;
}

void
shrink_result_clear(ShrinkResult *r)
{
	g_free(r->text);
	g_free(r->failure);
	*r = (ShrinkResult){ 0 };
}
