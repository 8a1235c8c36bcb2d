/*
 * bench_natsim.c - how fast the simulator plays scenarios (a benchmark
 * program, not a test: it prints figures and asserts nothing about speed).
 *
 *   natsim-bench [--rounds N] [--seeds N] [--scenario FILE] [--baseline NATSIM] [--quick]
 *
 * Three cases, each through the scenario runner (sim/scenario_run.h) with
 * its trace, fingerprint and always-on checks, exactly as `natsim run`
 * plays them (issue 5's speed targets):
 *   idle      twenty clients idle for a virtual day: only keep-alive pings,
 *             their timers and a rare message move. Figure: virtual time
 *             per unit of time (target >= 10,000x).
 *   fan-out   one publisher, twenty subscribers of one subject, 20,000
 *             messages. Figure: deliveries per second (>= 1 M/s).
 *   seeds     scenarios/core/queue-balance.scn over seeds 1..N, each seed
 *             parsed and run in turn on one core, as `natsim run --seeds`
 *             does. Figure: seeds per second (>= 500/s/core).
 * Every figure is given per second of CPU time and, in brackets, per second
 * of wall time: on an idle machine they agree (the simulator is one
 * thread); on a busy one the CPU time is the steadier. The idle and
 * fan-out scenarios are embedded below (print them with --print-scenarios).
 * Each figure is the best of --rounds rounds.
 *
 * --baseline NATSIM runs the same three cases with another build's natsim
 * command (say, one built from the previous commit) in the same rounds,
 * alternating with this build, and prints its figures beside ours: the
 * only fair comparison on a shared, noisy machine. Its figures come from
 * the lines `natsim run -v` prints (wall time per run, deliveries, suite
 * time), so they include the same parse and checks as ours.
 *
 * A real-world program (tests/lint_determinism.py DRIVER_FILES): it reads
 * the wall clock (sim_tripwire_wall_ns) and the CPU clock between runs,
 * writes the embedded scenarios to a temporary directory for the baseline
 * and spawns the baseline's processes.
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "proto/assert.h"
#include "sim/scenario.h"
#include "sim/scenario_run.h"
#include "sim/tripwire.h"

#ifndef NATSIM_SOURCE_ROOT
#define NATSIM_SOURCE_ROOT "."
#endif

/* Twenty clients ping every 5 s, the broker every 10 s, for a day; one
 * client publishes a tick an hour. */
static const char IDLE_SCN[] =
    "# natsim-bench idle: clients idle for a virtual day; pings and timers only\n"
    "broker b1 ping_interval 10s\n"
    "client c1 c2 c3 c4 c5 c6 c7 c8 c9 c10 c11 c12 c13 c14 c15 c16 c17 c18 c19 c20 -> b1 ping_interval 5s\n"
    "at 0s   c1 c2 c3 c4 c5 c6 c7 c8 c9 c10 c11 c12 c13 c14 c15 c16 c17 c18 c19 c20 subscribe idle.tick\n"
    "at 1s   c1 publish idle.tick count 24 every 1h\n"
    "run for 24h\n"
    "expect each of c1 c2 c3 c4 c5 c6 c7 c8 c9 c10 c11 c12 c13 c14 c15 c16 c17 c18 c19 c20 receives between 24 and 24 on "
    "idle.tick\n";

static const char FANOUT_SCN[] =
    "# natsim-bench fan-out: each message to twenty subscribers\n"
    "broker b1\n"
    "client pub -> b1\n"
    "client s1 s2 s3 s4 s5 s6 s7 s8 s9 s10 s11 s12 s13 s14 s15 s16 s17 s18 s19 s20 -> b1 latency 1ms\n"
    "at 0s   s1 s2 s3 s4 s5 s6 s7 s8 s9 s10 s11 s12 s13 s14 s15 s16 s17 s18 s19 s20 subscribe fan.out\n"
    "at 1s   pub publish fan.out count 20000 rate 20000/s\n"
    "expect each of s1 s2 s3 s4 s5 s6 s7 s8 s9 s10 s11 s12 s13 s14 s15 s16 s17 s18 s19 s20 receives between 20000 and "
    "20000 on fan.out\n";

/* The quick variants (--quick, the test suite's smoke run): same shapes,
 * a fraction of the work. */
static const char IDLE_SCN_QUICK[] =
    "# natsim-bench idle (quick)\n"
    "broker b1 ping_interval 10s\n"
    "client c1 c2 c3 c4 -> b1 ping_interval 5s\n"
    "at 0s   c1 c2 c3 c4 subscribe idle.tick\n"
    "at 1s   c1 publish idle.tick count 2 every 1h\n"
    "run for 2h\n"
    "expect each of c1 c2 c3 c4 receives between 2 and 2 on idle.tick\n";

static const char FANOUT_SCN_QUICK[] =
    "# natsim-bench fan-out (quick)\n"
    "broker b1\n"
    "client pub -> b1\n"
    "client s1 s2 s3 s4 -> b1 latency 1ms\n"
    "at 0s   s1 s2 s3 s4 subscribe fan.out\n"
    "at 1s   pub publish fan.out count 500 rate 20000/s\n"
    "expect each of s1 s2 s3 s4 receives between 500 and 500 on fan.out\n";

/* Rates per second of wall time and per second of CPU time: on an idle
 * machine the two agree (the simulator runs on one thread); on a shared,
 * busy one the CPU time is the steadier figure. */
typedef struct Rate {
	double wall;
	double cpu;
} Rate;

typedef struct Figures {
	Rate idle_ratio;     /* virtual time per unit of time */
	Rate idle_events;    /* events per second */
	Rate fanout;         /* deliveries per second */
	Rate seeds;          /* seeds per second, one core */
	bool ok;
} Figures;

typedef struct Stopwatch {
	int64_t wall_ns;
	int64_t cpu_ns;
} Stopwatch;

/* This process's CPU time plus its reaped children's. Read only between
 * runs: the tripwire is disarmed then and lets the call through. */
static int64_t
cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	struct rusage ru;
	getrusage(RUSAGE_CHILDREN, &ru);
	int64_t children = ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000 +
	    ((int64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec + children;
}

static Stopwatch
stopwatch_start(void)
{
	return (Stopwatch){ sim_tripwire_wall_ns(), cpu_ns() };
}

/* Time since start. */
static Stopwatch
stopwatch_read(Stopwatch start)
{
	return (Stopwatch){ sim_tripwire_wall_ns() - start.wall_ns, cpu_ns() - start.cpu_ns };
}

/* amount per second of each kind of time */
static Rate
rate(double amount, Stopwatch t)
{
	return (Rate){ amount / ((double)MAX(t.wall_ns, 1) / 1e9), amount / ((double)MAX(t.cpu_ns, 1) / 1e9) };
}

typedef struct Bench {
	const char *idle_text;
	const char *fanout_text;
	char *seeds_path;
	char *seeds_text;
	uint64_t seeds;
	char *baseline;      /* a natsim command, or NULL */
	char *tmp_dir;       /* the embedded scenarios as files, for the baseline */
	char *idle_path;
	char *fanout_path;
	int64_t idle_virtual_ns; /* from our run: the baseline plays the same */
} Bench;

static Scenario *
parse_or_die(const char *path, const char *text, uint64_t seed)
{
	GError *error = NULL;
	Scenario *scn = scenario_parse(path, text, seed, &error);
	if (scn == NULL) {
		fprintf(stderr, "natsim-bench: %s\n", error->message);
		exit(1);
	}
	return scn;
}

/* One parse and run through the runner; false when the run failed (a
 * failing scenario measures nothing). */
static bool
run_once(const char *path, const char *text, uint64_t seed, ScnResult **out)
{
	Scenario *scn = parse_or_die(path, text, seed);
	ScnResult *r = scenario_run(scn, NULL);
	if (!r->ok) {
		g_autofree char *why = scn_result_describe(scn, r);
		fprintf(stderr, "natsim-bench: %s seed %" PRIu64 " failed:\n%s", path, seed, why);
	}
	scenario_free(scn);
	*out = r;
	return r->ok;
}

static void
measure_this(Bench *b, Figures *f)
{
	ScnResult *r;
	Stopwatch t0 = stopwatch_start();
	f->ok = run_once("idle", b->idle_text, 1, &r);
	Stopwatch t = stopwatch_read(t0);
	b->idle_virtual_ns = r->virtual_ns;
	f->idle_ratio = rate((double)r->virtual_ns / 1e9, t);
	f->idle_events = rate((double)r->events, t);
	scn_result_free(r);

	t0 = stopwatch_start();
	f->ok = run_once("fan-out", b->fanout_text, 1, &r) && f->ok;
	t = stopwatch_read(t0);
	f->fanout = rate((double)r->deliveries, t);
	scn_result_free(r);

	t0 = stopwatch_start();
	for (uint64_t seed = 1; seed <= b->seeds && f->ok; seed++) {
		f->ok = run_once(b->seeds_path, b->seeds_text, seed, &r);
		scn_result_free(r);
	}
	f->seeds = rate((double)b->seeds, stopwatch_read(t0));
}

/* ---- the baseline: another build's natsim command ---- */

/* Runs `NATSIM run ARGS...`; its standard output, or NULL. *cpu_ns_out
 * gets the CPU time the process took. */
static char *
natsim_output(const Bench *b, const char *const *args, int64_t *cpu_ns_out)
{
	GPtrArray *argv = g_ptr_array_new();
	g_ptr_array_add(argv, b->baseline);
	g_ptr_array_add(argv, "run");
	for (int k = 0; args[k] != NULL; k++)
		g_ptr_array_add(argv, (char *)args[k]);
	g_ptr_array_add(argv, NULL);
	char *out = NULL;
	int status = 0;
	GError *error = NULL;
	int64_t cpu0 = cpu_ns();
	bool spawned = g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out, NULL,
	    &status, &error);
	g_ptr_array_free(argv, TRUE);
	*cpu_ns_out = cpu_ns() - cpu0;
	if (!spawned) {
		fprintf(stderr, "natsim-bench: cannot run %s: %s\n", b->baseline, error->message);
		g_error_free(error);
		return NULL;
	}
	if (!g_spawn_check_wait_status(status, NULL)) {
		fprintf(stderr, "natsim-bench: %s run failed:\n%s", b->baseline, out);
		g_free(out);
		return NULL;
	}
	return out;
}

/* A number after `key` in text (e.g. "wall=" -> 0.012), or -1. */
static double
number_after(const char *text, const char *key)
{
	const char *p = text ? strstr(text, key) : NULL;
	return p ? g_ascii_strtod(p + strlen(key), NULL) : -1;
}

/* The number before " deliveries" on the -v line, or -1. */
static double
deliveries_in(const char *text)
{
	const char *p = text ? strstr(text, " deliveries") : NULL;
	if (p == NULL)
		return -1;
	const char *start = p;
	while (start > text && start[-1] >= '0' && start[-1] <= '9')
		start--;
	return g_ascii_strtod(start, NULL);
}

/* The baseline's wall time is what it printed (its runs, without process
 * start-up); its CPU time is the whole process's, start-up and parse of
 * the command line included (a few milliseconds: the figures lean a
 * little against the baseline when runs are short). */
static void
measure_baseline(const Bench *b, Figures *f)
{
	f->ok = false;
	int64_t cpu;
	const char *idle_args[] = { b->idle_path, "--seed", "1", NULL };
	g_autofree char *out = natsim_output(b, idle_args, &cpu);
	double wall_s = number_after(out, "wall=");
	double events = number_after(out, "events=");
	if (wall_s <= 0 || events <= 0)
		return;
	Stopwatch t = { (int64_t)(wall_s * 1e9), cpu };
	f->idle_ratio = rate((double)b->idle_virtual_ns / 1e9, t);
	f->idle_events = rate(events, t);

	const char *fan_args[] = { b->fanout_path, "--seed", "1", "-v", NULL };
	g_autofree char *fan = natsim_output(b, fan_args, &cpu);
	wall_s = number_after(fan, "wall=");
	double deliveries = deliveries_in(fan);
	if (wall_s <= 0 || deliveries <= 0)
		return;
	f->fanout = rate(deliveries, (Stopwatch){ (int64_t)(wall_s * 1e9), cpu });

	g_autofree char *range = g_strdup_printf("1..%" PRIu64, b->seeds);
	const char *seed_args[] = { b->seeds_path, "--seeds", range, NULL };
	g_autofree char *seeds = natsim_output(b, seed_args, &cpu);
	const char *last = seeds ? strstr(seeds, " failed, ") : NULL;
	double suite_s = last ? g_ascii_strtod(last + strlen(" failed, "), NULL) : -1;
	if (suite_s <= 0)
		return;
	f->seeds = rate((double)b->seeds, (Stopwatch){ (int64_t)(suite_s * 1e9), cpu });
	f->ok = true;
}

static void
best_rate(Rate *best, Rate r)
{
	best->wall = MAX(best->wall, r.wall);
	best->cpu = MAX(best->cpu, r.cpu);
}

static void
keep_best(Figures *best, const Figures *f)
{
	if (!f->ok)
		return;
	best->ok = true;
	best_rate(&best->idle_ratio, f->idle_ratio);
	best_rate(&best->idle_events, f->idle_events);
	best_rate(&best->fanout, f->fanout);
	best_rate(&best->seeds, f->seeds);
}

static void
write_or_die(const char *path, const char *text)
{
	GError *error = NULL;
	if (!g_file_set_contents(path, text, -1, &error)) {
		fprintf(stderr, "natsim-bench: %s\n", error->message);
		exit(1);
	}
}

/* "CPU-rate (wall-rate)" in the row's format, scaled */
static char *
cell(const Figures *f, Rate r, double scale, const char *fmt)
{
	if (!f->ok)
		return g_strdup("-");
	g_autofree char *cpu = g_strdup_printf(fmt, r.cpu * scale);
	g_autofree char *wall = g_strdup_printf(fmt, r.wall * scale);
	return g_strdup_printf("%s (%s)", cpu, wall);
}

int
main(int argc, char **argv)
{
	json_object_seed(1);
	gint rounds = 3;
	gint64 seeds = 200;
	gboolean quick = FALSE, print_scenarios = FALSE;
	g_autofree char *scenario = NULL, *baseline = NULL;
	GOptionEntry entries[] = {
		{ "rounds", 0, 0, G_OPTION_ARG_INT, &rounds, "Rounds per case; the best counts (default 3)", "N" },
		{ "seeds", 0, 0, G_OPTION_ARG_INT64, &seeds, "Seeds of the seeds case (default 200)", "N" },
		{ "scenario", 0, 0, G_OPTION_ARG_FILENAME, &scenario,
		    "Scenario of the seeds case (default scenarios/core/queue-balance.scn)", "FILE" },
		{ "baseline", 0, 0, G_OPTION_ARG_FILENAME, &baseline,
		    "Another build's natsim command, measured alongside", "NATSIM" },
		{ "quick", 0, 0, G_OPTION_ARG_NONE, &quick, "Tiny runs (a smoke test; the figures mean little)", NULL },
		{ "print-scenarios", 0, 0, G_OPTION_ARG_NONE, &print_scenarios, "Print the embedded scenarios", NULL },
		{ NULL, 0, 0, 0, NULL, NULL, NULL },
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("- how fast the simulator plays scenarios");
	g_option_context_add_main_entries(ctx, entries, NULL);
	g_autoptr(GError) error = NULL;
	if (!g_option_context_parse(ctx, &argc, &argv, &error) || argc > 1 || rounds <= 0 || seeds <= 0) {
		fprintf(stderr, "natsim-bench: %s\n", error ? error->message : "bad arguments");
		g_autofree char *help = g_option_context_get_help(ctx, TRUE, NULL);
		fputs(help, stderr);
		return 2;
	}
	Bench b = {
		.idle_text = quick ? IDLE_SCN_QUICK : IDLE_SCN,
		.fanout_text = quick ? FANOUT_SCN_QUICK : FANOUT_SCN,
		.seeds = quick ? MIN((uint64_t)seeds, 5) : (uint64_t)seeds,
		.baseline = baseline,
	};
	if (print_scenarios) {
		printf("%s\n%s", b.idle_text, b.fanout_text);
		return 0;
	}
	if (quick)
		rounds = 1;
	b.seeds_path = scenario ? g_strdup(scenario) : g_build_filename(NATSIM_SOURCE_ROOT, "scenarios", "core",
	    "queue-balance.scn", NULL);
	if (!g_file_get_contents(b.seeds_path, &b.seeds_text, NULL, &error)) {
		fprintf(stderr, "natsim-bench: %s\n", error->message);
		return 2;
	}
	if (baseline != NULL) {
		b.tmp_dir = g_dir_make_tmp("natsim-bench-XXXXXX", &error);
		if (b.tmp_dir == NULL) {
			fprintf(stderr, "natsim-bench: %s\n", error->message);
			return 1;
		}
		b.idle_path = g_build_filename(b.tmp_dir, "idle.scn", NULL);
		b.fanout_path = g_build_filename(b.tmp_dir, "fanout.scn", NULL);
		write_or_die(b.idle_path, b.idle_text);
		write_or_die(b.fanout_path, b.fanout_text);
	}

	Figures best = { 0 }, best_base = { 0 };
	bool ok = true;
	for (int round = 0; round < rounds; round++) {
		Figures f = { 0 };
		measure_this(&b, &f);
		ok = ok && f.ok;
		keep_best(&best, &f);
		if (baseline != NULL) {
			Figures g = { 0 };
			measure_baseline(&b, &g);
			ok = ok && g.ok;
			keep_best(&best_base, &g);
		}
	}

	printf("natsim simulator benchmark: one core; per second of CPU time (of wall time); best of %d round(s)%s\n",
	    rounds, quick ? "; quick: the figures mean little" : "");
	printf("seeds case: %s, seeds 1..%" PRIu64 "\n\n", b.seeds_path, b.seeds);
	if (baseline != NULL)
		printf("| case | this build | baseline (%s) | target |\n|---|---|---|---|\n", baseline);
	else
		printf("| case | this build | target |\n|---|---|---|\n");
	struct {
		const char *name;
		Rate mine, base;
		double scale;
		const char *fmt;
		const char *target;
	} rows[] = {
		{ "idle clients: virtual time / time", best.idle_ratio, best_base.idle_ratio, 1, "%.0fx", ">= 10000x" },
		{ "idle clients: events / s", best.idle_events, best_base.idle_events, 1e-6, "%.2f M", "" },
		{ "fan-out: deliveries / s", best.fanout, best_base.fanout, 1e-6, "%.2f M", ">= 1 M" },
		{ "queue-balance: seeds / s", best.seeds, best_base.seeds, 1, "%.0f", ">= 500" },
	};
	for (size_t k = 0; k < G_N_ELEMENTS(rows); k++) {
		g_autofree char *mine = cell(&best, rows[k].mine, rows[k].scale, rows[k].fmt);
		g_autofree char *base = cell(&best_base, rows[k].base, rows[k].scale, rows[k].fmt);
		if (baseline != NULL)
			printf("| %s | %s | %s | %s |\n", rows[k].name, mine, base, rows[k].target);
		else
			printf("| %s | %s | %s |\n", rows[k].name, mine, rows[k].target);
	}
	if (best.ok)
		printf("\nms per seed: %.2f (CPU), %.2f (wall)\n", 1e3 / best.seeds.cpu, 1e3 / best.seeds.wall);

	if (b.tmp_dir != NULL) {
		g_unlink(b.idle_path);
		g_unlink(b.fanout_path);
		g_rmdir(b.tmp_dir);
	}
	g_free(b.idle_path);
	g_free(b.fanout_path);
	g_free(b.tmp_dir);
	g_free(b.seeds_path);
	g_free(b.seeds_text);
	if (!ok)
		fprintf(stderr, "natsim-bench: a run failed; its figures are missing\n");
	return ok ? 0 : 1;
}
