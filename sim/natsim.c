/*
 * natsim.c - the simulator's command line (a driver: it may open files and
 * read the wall clock, through the tripwire's sanctioned escape hatch, to
 * report how long runs took).
 *
 *   natsim selfcheck [--seed N | --seeds A..B] [--trace FILE] [--shuffle]
 *
 * Exit status: 0 all passed, 1 a run failed, 2 usage error.
 */
#include <glib.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/selfcheck.h"
#include "sim/trace.h"
#include "sim/tripwire.h"

#define EXIT_USAGE 2

static const char usage_text[] =
    "usage: natsim <command> [options]\n"
    "\n"
    "commands:\n"
    "  selfcheck   run the kernel self-check (echo protocol under faults)\n"
    "\n"
    "Run 'natsim <command> --help' for a command's options.\n";

static int
usage_error(const char *message)
{
	if (message != NULL)
		fprintf(stderr, "natsim: %s\n", message);
	fputs(usage_text, stderr);
	return EXIT_USAGE;
}

/* Parses "N" or "A..B" into an inclusive range. */
static bool
parse_seeds(const char *text, uint64_t *first, uint64_t *last)
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

static int
cmd_selfcheck(int argc, char **argv)
{
	g_autofree char *seed_text = NULL;
	g_autofree char *seeds_text = NULL;
	g_autofree char *trace_path = NULL;
	gboolean shuffle = FALSE;
	GOptionEntry entries[] = {
		{ "seed", 0, 0, G_OPTION_ARG_STRING, &seed_text, "Run this seed (default 1)", "N" },
		{ "seeds", 0, 0, G_OPTION_ARG_STRING, &seeds_text, "Run every seed in A..B", "A..B" },
		{ "trace", 0, 0, G_OPTION_ARG_FILENAME, &trace_path, "Write the trace as JSON lines", "FILE" },
		{ "shuffle", 0, 0, G_OPTION_ARG_NONE, &shuffle, "Break same-time ties by a seeded shuffle", NULL },
		{ NULL, 0, 0, 0, NULL, NULL, NULL },
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("- run the kernel self-check");
	g_option_context_add_main_entries(ctx, entries, NULL);
	g_autoptr(GError) error = NULL;
	if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
		fprintf(stderr, "natsim selfcheck: %s\n", error->message);
		g_autofree char *help = g_option_context_get_help(ctx, TRUE, NULL);
		fputs(help, stderr);
		return EXIT_USAGE;
	}
	if (argc > 1)
		return usage_error("selfcheck takes no file arguments");
	if (seed_text != NULL && seeds_text != NULL)
		return usage_error("give --seed or --seeds, not both");
	uint64_t first = 1, last = 1;
	const char *range = seeds_text != NULL ? seeds_text : seed_text;
	if (range != NULL && !parse_seeds(range, &first, &last))
		return usage_error("a seed is a decimal number, a range is A..B");
	if (seed_text != NULL && first != last)
		return usage_error("--seed takes one number; use --seeds A..B for a range");

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
		printf("selfcheck seed=%" PRIu64 " %s virtual=%.3fs wall=%.3fs events=%" PRIu64
		       " sent=%" PRIu64 " echoed=%" PRIu64 " connections=%u resets=%u crashes=%u"
		       " recovered=%" PRIu64 " torn=%u fingerprint=%s\n",
		    seed, result.ok ? "ok" : "FAIL", (double)result.virtual_ns / 1e9, (double)wall_ns / 1e9,
		    result.events, result.bytes_sent, result.bytes_echoed, result.connections, result.resets,
		    result.crashes, result.recovered_echoed, result.torn_records, fp);
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
		return usage_error(NULL);
	const char *command = argv[1];
	if (strcmp(command, "-h") == 0 || strcmp(command, "--help") == 0 || strcmp(command, "help") == 0) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (strcmp(command, "-v") == 0 || strcmp(command, "--version") == 0) {
		printf("natsim %s\n", NATSIM_VERSION);
		return 0;
	}
	if (strcmp(command, "selfcheck") == 0)
		return cmd_selfcheck(argc - 1, argv + 1);
	g_autofree char *message = g_strdup_printf("unknown command '%s'", command);
	return usage_error(message);
}
