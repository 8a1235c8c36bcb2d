/*
 * natsim.c - the simulator's command line. A driver: it reads scenario
 * files, writes traces and reports, forks swarm workers, and reads the wall
 * clock (through the tripwire's sanctioned escape hatch) to say how long
 * runs took. Everything it runs is deterministic; none of that reaches a
 * simulation.
 *
 *   natsim run FILE|DIR... [--seed N | --seeds A..B] [--trace F] [--junit F] [--report DIR] [--twice] [-v]
 *   natsim replay FILE --seed N
 *   natsim check FILE...
 *   natsim export FILE --seed N [--out F]
 *   natsim swarm FILE --runs N [--jobs J] [--shard K/N] [--first-seed S] [--out DIR]
 *   natsim shrink FILE --seed N [--out F]
 *   natsim selfcheck [--seed N | --seeds A..B] [--trace F] [--shuffle]
 *
 * Exit status: 0 all passed, 1 a run failed, 2 usage or scenario errors.
 */
#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/natsim_cli.h"
#include "sim/report.h"
#include "sim/scenario.h"
#include "sim/scenario_run.h"
#include "sim/selfcheck.h"
#include "sim/shrink.h"
#include "sim/trace.h"
#include "sim/tripwire.h"

static const char usage_text[] =
    "usage: natsim <command> [options]\n"
    "\n"
    "commands:\n"
    "  run FILE|DIR...   run scenarios (--seed N, --seeds A..B, --trace F, --junit F, --report DIR, --twice, -v)\n"
    "  replay FILE       one run with the full trace (--seed N)\n"
    "  check FILE...     parse and validate only\n"
    "  export FILE       the scenario with every random choice fixed (--seed N, --out F)\n"
    "  swarm FILE        many seeds in parallel processes (--runs N, --jobs J, --shard K/N, --out DIR)\n"
    "  shrink FILE       reduce a failing run to a minimal scenario (--seed N, --out F)\n"
    "  selfcheck         the kernel's self-check (echo protocol under faults)\n"
    "\n"
    "Run 'natsim <command> --help' for a command's options.\n";

int
natsim_usage_error(const char *command, const char *message)
{
	if (message != NULL)
		fprintf(stderr, "natsim%s%s: %s\n", command ? " " : "", command ? command : "", message);
	fputs(usage_text, stderr);
	return NATSIM_EXIT_USAGE;
}

bool
natsim_parse_seeds(const char *text, uint64_t *first, uint64_t *last)
{
	const char *dots = strstr(text, "..");
	char *end;
	if (dots == NULL) {
		if (!g_ascii_isdigit(text[0]))
			return false;
		*first = *last = g_ascii_strtoull(text, &end, 10);
		return *end == '\0';
	}
	g_autofree char *a = g_strndup(text, (gsize)(dots - text));
	if (!g_ascii_isdigit(a[0]) || !g_ascii_isdigit(dots[2]))
		return false;
	*first = g_ascii_strtoull(a, &end, 10);
	if (*end != '\0')
		return false;
	*last = g_ascii_strtoull(dots + 2, &end, 10);
	return *end == '\0' && *first <= *last;
}

/* Parses options; on error prints it with the command's help. */
static bool
parse_options(const char *command, const char *summary, GOptionEntry *entries, int *argc, char ***argv)
{
	g_autoptr(GOptionContext) ctx = g_option_context_new(summary);
	g_option_context_add_main_entries(ctx, entries, NULL);
	g_autoptr(GError) error = NULL;
	if (!g_option_context_parse(ctx, argc, argv, &error)) {
		fprintf(stderr, "natsim %s: %s\n", command, error->message);
		g_autofree char *help = g_option_context_get_help(ctx, TRUE, NULL);
		fputs(help, stderr);
		return false;
	}
	return true;
}

uint32_t
natsim_planted_drop(void)
{
	const char *v = getenv("NATSIM_PLANTED_BUG");
	if (v == NULL || strncmp(v, "drop:", 5) != 0)
		return 0;
	guint64 n = g_ascii_strtoull(v + 5, NULL, 10);
	if (n > 0)
		fprintf(stderr, "natsim: NATSIM_PLANTED_BUG: the broker drops about one delivery in %" G_GUINT64_FORMAT "\n", n);
	return (uint32_t)MIN(n, UINT32_MAX);
}

char *
natsim_read_file(const char *path, GError **error)
{
	char *text = NULL;
	if (!g_file_get_contents(path, &text, NULL, error))
		return NULL;
	return text;
}

/* Files named on the command line; directories give their *.scn files,
 * recursively, sorted. */
/* g_ptr_array_sort hands the comparator pointers to the elements. */
static int
compare_names(gconstpointer a, gconstpointer b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool
collect(const char *path, GPtrArray *out)
{
	if (!g_file_test(path, G_FILE_TEST_IS_DIR)) {
		if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
			fprintf(stderr, "natsim: %s: no such file or directory\n", path);
			return false;
		}
		g_ptr_array_add(out, g_strdup(path));
		return true;
	}
	GDir *dir = g_dir_open(path, 0, NULL);
	if (dir == NULL) {
		fprintf(stderr, "natsim: cannot read directory %s\n", path);
		return false;
	}
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	const char *name;
	while ((name = g_dir_read_name(dir)) != NULL)
		g_ptr_array_add(names, g_strdup(name));
	g_dir_close(dir);
	g_ptr_array_sort(names, compare_names);
	bool ok = true;
	for (guint k = 0; k < names->len && ok; k++) {
		g_autofree char *child = g_build_filename(path, (const char *)names->pdata[k], NULL);
		if (g_file_test(child, G_FILE_TEST_IS_DIR))
			ok = collect(child, out);
		else if (g_str_has_suffix(child, ".scn"))
			g_ptr_array_add(out, g_strdup(child));
	}
	g_ptr_array_free(names, TRUE);
	return ok;
}

static Scenario *
load(const char *path, uint64_t seed)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *text = natsim_read_file(path, &error);
	if (text == NULL) {
		fprintf(stderr, "natsim: %s\n", error->message);
		return NULL;
	}
	Scenario *scn = scenario_parse(path, text, seed, &error);
	if (scn == NULL)
		fprintf(stderr, "%s\n", error->message);
	return scn;
}

/* ---- --twice: the first event where two runs part ---- */

typedef struct Chain {
	GArray *fingerprints; /* uint64_t per event, run 1 */
	uint64_t watch_index;  /* run 3: capture this event */
	char *captured;
	bool capture;
	/* run 2 */
	GArray *expected;
	int64_t first_diff;    /* -1 while equal */
	char *diff_line;
} Chain;

static void
chain_record(void *ctx, const SimTraceEvent *ev)
{
	Chain *c = ctx;
	if (c->capture) {
		if (ev->index == c->watch_index && c->captured == NULL)
			c->captured = sim_trace_event_json(ev);
		return;
	}
	if (c->expected == NULL) {
		g_array_append_val(c->fingerprints, ev->fingerprint);
		return;
	}
	if (c->first_diff >= 0)
		return;
	if (ev->index >= c->expected->len || g_array_index(c->expected, uint64_t, ev->index) != ev->fingerprint) {
		c->first_diff = (int64_t)ev->index;
		c->diff_line = sim_trace_event_json(ev);
	}
}

static void
print_result_line(const char *path, const ScnResult *r, int64_t wall_ns)
{
	char fp[17];
	sim_trace_format_fingerprint(r->fingerprint, fp);
	g_autofree char *vt = scenario_format_duration(r->virtual_ns);
	printf("%s %s seed=%" PRIu64 " virtual=%s wall=%.3fs events=%" PRIu64 " fingerprint=%s\n", r->ok ? "PASS" : "FAIL",
	    path, r->seed, vt, (double)wall_ns / 1e9, r->events, fp);
}

static int
cmd_run(int argc, char **argv)
{
	g_autofree char *seed_text = NULL, *seeds_text = NULL, *trace_path = NULL, *junit_path = NULL,
			*report_dir = NULL;
	gboolean verbose = FALSE, twice = FALSE, shuffle = FALSE;
	GOptionEntry entries[] = {
		{ "seed", 0, 0, G_OPTION_ARG_STRING, &seed_text, "Run this seed (default 1)", "N" },
		{ "seeds", 0, 0, G_OPTION_ARG_STRING, &seeds_text, "Run every seed in A..B", "A..B" },
		{ "trace", 0, 0, G_OPTION_ARG_FILENAME, &trace_path, "Write the trace as JSON lines", "F" },
		{ "junit", 0, 0, G_OPTION_ARG_FILENAME, &junit_path, "Write a JUnit XML report", "F" },
		{ "report", 0, 0, G_OPTION_ARG_FILENAME, &report_dir, "Write an HTML report into DIR", "DIR" },
		{ "twice", 0, 0, G_OPTION_ARG_NONE, &twice, "Run each seed twice and compare fingerprints", NULL },
		{ "shuffle", 0, 0, G_OPTION_ARG_NONE, &shuffle, "Break same-time ties by a seeded shuffle", NULL },
		{ "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "Say more about each run", NULL },
		{ NULL, 0, 0, 0, NULL, NULL, NULL },
	};
	if (!parse_options("run", "FILE|DIR... - run scenarios", entries, &argc, &argv))
		return NATSIM_EXIT_USAGE;
	if (argc < 2)
		return natsim_usage_error("run", "name at least one scenario file or directory");
	if (seed_text != NULL && seeds_text != NULL)
		return natsim_usage_error("run", "give --seed or --seeds, not both");
	uint64_t first = 1, last = 1;
	const char *range = seeds_text ? seeds_text : seed_text;
	if (range != NULL && !natsim_parse_seeds(range, &first, &last))
		return natsim_usage_error("run", "a seed is a decimal number, a range is A..B");
	if (seed_text != NULL && first != last)
		return natsim_usage_error("run", "--seed takes one number; use --seeds A..B for a range");

	GPtrArray *files = g_ptr_array_new_with_free_func(g_free);
	for (int k = 1; k < argc; k++)
		if (!collect(argv[k], files)) {
			g_ptr_array_free(files, TRUE);
			return NATSIM_EXIT_USAGE;
		}
	if (files->len == 0) {
		g_ptr_array_free(files, TRUE);
		return natsim_usage_error("run", "no .scn files found");
	}
	/* Every file must parse before anything runs. */
	for (guint k = 0; k < files->len; k++) {
		Scenario *scn = load(files->pdata[k], first);
		if (scn == NULL) {
			g_ptr_array_free(files, TRUE);
			return NATSIM_EXIT_USAGE;
		}
		scenario_free(scn);
	}
	FILE *trace = NULL;
	if (trace_path != NULL && (trace = fopen(trace_path, "w")) == NULL) {
		fprintf(stderr, "natsim: cannot write %s: %s\n", trace_path, g_strerror(errno));
		g_ptr_array_free(files, TRUE);
		return 1;
	}
	ReportSet *reports = report_set_new();
	uint32_t planted = natsim_planted_drop();
	int failures = 0, runs = 0;
	int64_t suite_wall0 = sim_tripwire_wall_ns();
	for (guint k = 0; k < files->len; k++) {
		const char *path = files->pdata[k];
		for (uint64_t seed = first;; seed++) {
			Scenario *scn = load(path, seed);
			ScnRunOptions opts = { .trace_sink = trace, .keep_records = report_dir != NULL, .shuffle_ties = shuffle,
				.planted_drop_one_in = planted };
			Chain chain = { .first_diff = -1 };
			if (twice) {
				chain.fingerprints = g_array_new(FALSE, FALSE, sizeof(uint64_t));
				opts.listener = chain_record;
				opts.listener_ctx = &chain;
			}
			int64_t wall0 = sim_tripwire_wall_ns();
			ScnResult *r = scenario_run(scn, &opts);
			int64_t wall_ns = sim_tripwire_wall_ns() - wall0;
			runs++;
			if (twice) {
				chain.expected = chain.fingerprints;
				opts.trace_sink = NULL;
				ScnResult *again = scenario_run(scn, &opts);
				if (again->fingerprint != r->fingerprint || chain.first_diff >= 0) {
					int64_t at = chain.first_diff >= 0 ? chain.first_diff : (int64_t)chain.fingerprints->len;
					Chain cap = { .capture = true, .watch_index = (uint64_t)at, .first_diff = -1 };
					opts.listener_ctx = &cap;
					ScnResult *third = scenario_run(scn, &opts);
					scn_result_free(third);
					r->ok = false;
					printf("NONDETERMINISTIC %s seed=%" PRIu64 ": the runs part at trace event %" PRId64 "\n"
					       "  first run:  %s\n  second run: %s\n",
					    path, seed, at, cap.captured ? cap.captured : "(no event: the run ended)",
					    chain.diff_line ? chain.diff_line : "(no event: the run ended)");
					free(cap.captured);
				}
				free(chain.diff_line);
				scn_result_free(again);
				g_array_free(chain.fingerprints, TRUE);
			}
			print_result_line(path, r, wall_ns);
			if (!r->ok) {
				failures++;
				g_autofree char *why = scn_result_describe(scn, r);
				fputs(why, stdout);
				printf("  replay: natsim replay %s --seed %" PRIu64 "\n", path, seed);
			} else if (verbose) {
				printf("  %" PRIu64 " publishes, %" PRIu64 " deliveries, %" PRIu64 " trace events\n", r->publishes,
				    r->deliveries, r->trace_events);
			}
			report_set_add(reports, scn, r, wall_ns);
			scn_result_free(r);
			scenario_free(scn);
			if (seed == last)
				break;
		}
	}
	int64_t suite_wall = sim_tripwire_wall_ns() - suite_wall0;
	if (trace != NULL)
		fclose(trace);
	int status = failures ? 1 : 0;
	if (junit_path != NULL && !natsim_write_file(junit_path, report_set_junit(reports)))
		status = 1;
	if (report_dir != NULL && !natsim_write_report_dir(report_dir, reports))
		status = 1;
	printf("%d run(s), %d failed, %.3fs\n", runs, failures, (double)suite_wall / 1e9);
	report_set_free(reports);
	g_ptr_array_free(files, TRUE);
	return status;
}

/* replay: the trace as readable lines. */
static void
print_event(void *ctx, const SimTraceEvent *ev)
{
	(void)ctx;
	g_autofree char *t = scenario_format_duration(ev->t_ns);
	GString *s = g_string_new(NULL);
	g_string_append_printf(s, "%14s  %-10s %-20s", t, ev->node, ev->kind);
	for (size_t k = 0; k < ev->field_count; k++) {
		const SimTraceField *f = &ev->fields[k];
		switch (f->type) {
		case SIM_TRACE_INT:
			g_string_append_printf(s, " %s=%" PRId64, f->key, f->i);
			break;
		case SIM_TRACE_STR:
			g_string_append_printf(s, " %s=%s", f->key, f->s);
			break;
		case SIM_TRACE_BYTES: {
			bool printable = f->len <= 48;
			for (size_t j = 0; j < f->len && printable; j++)
				printable = g_ascii_isprint(f->s[j]);
			if (printable)
				g_string_append_printf(s, " %s=\"%.*s\"", f->key, (int)f->len, f->s);
			else
				g_string_append_printf(s, " %s=<%zu bytes>", f->key, f->len);
			break;
		}
		}
	}
	puts(s->str);
	g_string_free(s, TRUE);
}

static int
cmd_replay(int argc, char **argv)
{
	g_autofree char *seed_text = NULL;
	gboolean shuffle = FALSE;
	GOptionEntry entries[] = {
		{ "seed", 0, 0, G_OPTION_ARG_STRING, &seed_text, "The seed to replay", "N" },
		{ "shuffle", 0, 0, G_OPTION_ARG_NONE, &shuffle, "Break same-time ties by a seeded shuffle", NULL },
		{ NULL, 0, 0, 0, NULL, NULL, NULL },
	};
	if (!parse_options("replay", "FILE - one run with its full trace", entries, &argc, &argv))
		return NATSIM_EXIT_USAGE;
	uint64_t seed = 1, last;
	if (argc != 2)
		return natsim_usage_error("replay", "replay takes one scenario file");
	if (seed_text != NULL && (!natsim_parse_seeds(seed_text, &seed, &last) || seed != last))
		return natsim_usage_error("replay", "--seed takes one decimal number");
	Scenario *scn = load(argv[1], seed);
	if (scn == NULL)
		return NATSIM_EXIT_USAGE;
	ScnRunOptions opts = { .listener = print_event, .shuffle_ties = shuffle, .planted_drop_one_in = natsim_planted_drop() };
	ScnResult *r = scenario_run(scn, &opts);
	print_result_line(argv[1], r, 0);
	g_autofree char *why = scn_result_describe(scn, r);
	fputs(why, stdout);
	int status = r->ok ? 0 : 1;
	scn_result_free(r);
	scenario_free(scn);
	return status;
}

static int
cmd_check(int argc, char **argv)
{
	GOptionEntry entries[] = { { NULL, 0, 0, 0, NULL, NULL, NULL } };
	if (!parse_options("check", "FILE... - parse and validate scenarios", entries, &argc, &argv))
		return NATSIM_EXIT_USAGE;
	if (argc < 2)
		return natsim_usage_error("check", "name at least one scenario file or directory");
	GPtrArray *files = g_ptr_array_new_with_free_func(g_free);
	bool ok = true;
	for (int k = 1; k < argc && ok; k++)
		ok = collect(argv[k], files);
	for (guint k = 0; k < files->len && ok; k++) {
		Scenario *scn = load(files->pdata[k], 1);
		if (scn == NULL) {
			ok = false;
			break;
		}
		printf("ok %s: %u broker(s), %u client(s), %u timed line(s), %u expectation(s)\n", (char *)files->pdata[k],
		    scn->brokers->len, scn->clients->len, scn->actions->len, scn->expects->len);
		scenario_free(scn);
	}
	g_ptr_array_free(files, TRUE);
	return ok ? 0 : NATSIM_EXIT_USAGE;
}

static int
cmd_export(int argc, char **argv)
{
	g_autofree char *seed_text = NULL, *out = NULL;
	GOptionEntry entries[] = {
		{ "seed", 0, 0, G_OPTION_ARG_STRING, &seed_text, "The seed whose choices to fix", "N" },
		{ "out", 0, 0, G_OPTION_ARG_FILENAME, &out, "Write here instead of standard output", "F" },
		{ NULL, 0, 0, 0, NULL, NULL, NULL },
	};
	if (!parse_options("export", "FILE - fix every random choice of a run", entries, &argc, &argv))
		return NATSIM_EXIT_USAGE;
	uint64_t seed = 1, last;
	if (argc != 2)
		return natsim_usage_error("export", "export takes one scenario file");
	if (seed_text == NULL || !natsim_parse_seeds(seed_text, &seed, &last) || seed != last)
		return natsim_usage_error("export", "--seed N is required");
	Scenario *scn = load(argv[1], seed);
	if (scn == NULL)
		return NATSIM_EXIT_USAGE;
	char *text = scenario_export(scn);
	scenario_free(scn);
	if (out == NULL) {
		fputs(text, stdout);
		g_free(text);
		return 0;
	}
	return natsim_write_file(out, text) ? 0 : 1;
}

static int
cmd_shrink(int argc, char **argv)
{
	g_autofree char *seed_text = NULL, *out = NULL;
	GOptionEntry entries[] = {
		{ "seed", 0, 0, G_OPTION_ARG_STRING, &seed_text, "The failing seed", "N" },
		{ "out", 0, 0, G_OPTION_ARG_FILENAME, &out, "Write the minimal scenario here", "F" },
		{ NULL, 0, 0, 0, NULL, NULL, NULL },
	};
	if (!parse_options("shrink", "FILE - reduce a failing run", entries, &argc, &argv))
		return NATSIM_EXIT_USAGE;
	uint64_t seed = 1, last;
	if (argc != 2)
		return natsim_usage_error("shrink", "shrink takes one scenario file");
	if (seed_text == NULL || !natsim_parse_seeds(seed_text, &seed, &last) || seed != last)
		return natsim_usage_error("shrink", "--seed N is required");
	g_autoptr(GError) error = NULL;
	g_autofree char *text = natsim_read_file(argv[1], &error);
	if (text == NULL) {
		fprintf(stderr, "natsim: %s\n", error->message);
		return NATSIM_EXIT_USAGE;
	}
	ShrinkResult sr;
	ScnRunOptions opts = { .planted_drop_one_in = natsim_planted_drop() };
	if (!shrink_scenario(argv[1], text, seed, &opts, &sr, &error)) {
		fprintf(stderr, "natsim shrink: %s\n", error->message);
		return error->code == SHRINK_ERROR_PASSES ? 1 : NATSIM_EXIT_USAGE;
	}
	printf("shrink: %s seed=%" PRIu64 " keeps failing \"%s\" with %u of %u timeline line(s) after %u run(s)\n",
	    argv[1], seed, sr.failure, sr.kept_lines, sr.timeline_lines, sr.runs);
	int status = 0;
	if (out != NULL) {
		status = natsim_write_file(out, sr.text) ? 0 : 1; /* takes the text */
		sr.text = NULL;
	} else
		fputs(sr.text, stdout);
	shrink_result_clear(&sr);
	return status;
}

static int
cmd_selfcheck(int argc, char **argv)
{
	g_autofree char *seed_text = NULL, *seeds_text = NULL, *trace_path = NULL;
	gboolean shuffle = FALSE;
	GOptionEntry entries[] = {
		{ "seed", 0, 0, G_OPTION_ARG_STRING, &seed_text, "Run this seed (default 1)", "N" },
		{ "seeds", 0, 0, G_OPTION_ARG_STRING, &seeds_text, "Run every seed in A..B", "A..B" },
		{ "trace", 0, 0, G_OPTION_ARG_FILENAME, &trace_path, "Write the trace as JSON lines", "FILE" },
		{ "shuffle", 0, 0, G_OPTION_ARG_NONE, &shuffle, "Break same-time ties by a seeded shuffle", NULL },
		{ NULL, 0, 0, 0, NULL, NULL, NULL },
	};
	if (!parse_options("selfcheck", "- run the kernel self-check", entries, &argc, &argv))
		return NATSIM_EXIT_USAGE;
	if (argc > 1)
		return natsim_usage_error("selfcheck", "selfcheck takes no file arguments");
	if (seed_text != NULL && seeds_text != NULL)
		return natsim_usage_error("selfcheck", "give --seed or --seeds, not both");
	uint64_t first = 1, last = 1;
	const char *range = seeds_text != NULL ? seeds_text : seed_text;
	if (range != NULL && !natsim_parse_seeds(range, &first, &last))
		return natsim_usage_error("selfcheck", "a seed is a decimal number, a range is A..B");
	if (seed_text != NULL && first != last)
		return natsim_usage_error("selfcheck", "--seed takes one number; use --seeds A..B for a range");

	FILE *trace = NULL;
	if (trace_path != NULL) {
		trace = fopen(trace_path, "w");
		if (trace == NULL) {
			fprintf(stderr, "natsim: cannot write %s: %s\n", trace_path, g_strerror(errno));
			return 1;
		}
	}
	int failures = 0;
	for (uint64_t seed = first;; seed++) {
		SimSelfcheckResult result;
		int64_t wall0 = sim_tripwire_wall_ns();
		sim_selfcheck_run(&(SimSelfcheckOptions){ seed, shuffle, trace }, &result);
		int64_t wall_ns = sim_tripwire_wall_ns() - wall0;
		char fp[17];
		sim_trace_format_fingerprint(result.fingerprint, fp);
		printf("selfcheck seed=%" PRIu64 " %s virtual=%.3fs wall=%.3fs events=%" PRIu64 " sent=%" PRIu64
		       " echoed=%" PRIu64 " connections=%u resets=%u crashes=%u recovered=%" PRIu64
		       " torn=%u fingerprint=%s\n",
		    seed, result.ok ? "ok" : "FAIL", (double)result.virtual_ns / 1e9, (double)wall_ns / 1e9, result.events,
		    result.bytes_sent, result.bytes_echoed, result.connections, result.resets, result.crashes,
		    result.recovered_echoed, result.torn_records, fp);
		if (!result.ok) {
			failures++;
			printf("  failed: %s\n  replay: natsim selfcheck --seed %" PRIu64 "%s --trace trace.jsonl\n",
			    result.error, seed, shuffle ? " --shuffle" : "");
		}
		if (seed == last)
			break;
	}
	if (trace != NULL)
		fclose(trace);
	if (first != last)
		printf("selfcheck: %" PRIu64 " seeds, %d failed\n", last - first + 1, failures);
	return failures ? 1 : 0;
}

int
main(int argc, char **argv)
{
	/* jansson seeds its hash function from /dev/urandom unless told a
	 * seed first; a fixed one keeps every run reproducible. */
	json_object_seed(1);
	if (argc < 2)
		return natsim_usage_error(NULL, NULL);
	const char *command = argv[1];
	if (strcmp(command, "-h") == 0 || strcmp(command, "--help") == 0 || strcmp(command, "help") == 0) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (strcmp(command, "-v") == 0 || strcmp(command, "--version") == 0) {
		printf("natsim %s\n", NATSIM_VERSION);
		return 0;
	}
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} commands[] = {
		{ "run", cmd_run }, { "replay", cmd_replay }, { "check", cmd_check }, { "export", cmd_export },
		{ "swarm", natsim_cmd_swarm }, { "shrink", cmd_shrink }, { "selfcheck", cmd_selfcheck },
	};
	for (size_t k = 0; k < G_N_ELEMENTS(commands); k++)
		if (strcmp(command, commands[k].name) == 0)
			return commands[k].fn(argc - 1, argv + 1);
	g_autofree char *message = g_strdup_printf("unknown command '%s'", command);
	return natsim_usage_error(NULL, message);
}
