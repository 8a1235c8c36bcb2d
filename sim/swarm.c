/*
 * swarm.c - `natsim swarm`: many seeds of one scenario over worker
 * processes (a driver file: it forks, polls pipes and writes files).
 *
 * Seeds first..first+runs-1 are split into shards (--shard K/N keeps the
 * seeds whose offset is K-1 modulo N, so CI jobs or machines can share a
 * campaign) and then over J forked workers. Each worker runs its seeds and
 * reports one line per seed through a pipe; the parent keeps a live
 * progress line, keeps every failing seed as an exported scenario, and
 * writes a JSON summary listing every seed's verdict and fingerprint, which
 * `natsim swarm --merge` combines across shards.
 */
#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <inttypes.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sim/natsim_cli.h"
#include "sim/scenario.h"
#include "sim/scenario_run.h"
#include "sim/trace.h"
#include "sim/tripwire.h"

typedef struct SeedResult {
	uint64_t seed;
	bool ok;
	char fingerprint[17];
	char *failure;
} SeedResult;

/* A worker: runs its seeds, one line each: "SEED ok|fail FP FAILURE". */
static int
worker(const char *path, const char *text, const GArray *seeds, guint index, guint jobs, int fd)
{
	ScnRunOptions options = { .planted_drop_one_in = natsim_planted_drop() };
	FILE *out = fdopen(fd, "w");
	if (out == NULL)
		return 1;
	for (guint k = index; k < seeds->len; k += jobs) {
		uint64_t seed = g_array_index(seeds, uint64_t, k);
		Scenario *scn = scenario_parse(path, text, seed, NULL);
		if (scn == NULL) {
			fprintf(out, "%" PRIu64 " fail 0000000000000000 the scenario does not parse with this seed\n", seed);
			continue;
		}
		ScnResult *r = scenario_run(scn, &options);
		char fp[17];
		sim_trace_format_fingerprint(r->fingerprint, fp);
		char *why = NULL;
		if (!r->ok) {
			why = scn_result_describe(scn, r);
			why[strcspn(why, "\n")] = '\0';
		}
		fprintf(out, "%" PRIu64 " %s %s %s\n", seed, r->ok ? "ok" : "fail", fp, why ? why : "");
		fflush(out);
		g_free(why);
		scn_result_free(r);
		scenario_free(scn);
	}
	fclose(out);
	return 0;
}

static void
parse_line(const char *line, GArray *results)
{
	SeedResult r = { 0 };
	char verdict[8] = "", fp[17] = "";
	int consumed = 0;
	if (sscanf(line, "%" SCNu64 " %7s %16s %n", &r.seed, verdict, fp, &consumed) < 3)
		return;
	r.ok = strcmp(verdict, "ok") == 0;
	g_strlcpy(r.fingerprint, fp, sizeof(r.fingerprint));
	r.failure = r.ok ? NULL : g_strdup(line + consumed);
	g_array_append_val(results, r);
}

/* The live progress line: on a terminal only, at most five times a
 * second (and always at the end). */
static void
progress(guint done, guint total, guint failures, int64_t start_ns)
{
	static int64_t last_ns;
	int64_t now = sim_tripwire_wall_ns();
	if (!isatty(STDERR_FILENO) || (done < total && now - last_ns < 200000000))
		return;
	last_ns = now;
	double secs = (double)(sim_tripwire_wall_ns() - start_ns) / 1e9;
	double rate = secs > 0 ? done / secs : 0;
	double eta = rate > 0 ? (total - done) / rate : 0;
	fprintf(stderr, "\rswarm: %u/%u seeds, %u failed, %.0f seeds/s, ETA %.0fs   ", done, total, failures, rate, eta);
	fflush(stderr);
}

static int
compare_results(gconstpointer a, gconstpointer b)
{
	const SeedResult *x = a, *y = b;
	return x->seed < y->seed ? -1 : x->seed > y->seed;
}

static int
merge(int argc, char **argv)
{
	uint64_t total = 0, failed = 0;
	json_t *all = json_array();
	for (int k = 1; k < argc; k++) {
		g_autofree char *file = g_file_test(argv[k], G_FILE_TEST_IS_DIR) ? g_build_filename(argv[k], "summary.json", NULL)
										  : g_strdup(argv[k]);
		json_error_t err;
		json_t *root = json_load_file(file, 0, &err);
		if (root == NULL) {
			fprintf(stderr, "natsim swarm --merge: %s:%d: %s\n", file, err.line, err.text);
			json_decref(all);
			return NATSIM_EXIT_USAGE;
		}
		json_t *seeds = json_object_get(root, "seeds");
		size_t i;
		json_t *s;
		json_array_foreach(seeds, i, s) {
			total++;
			if (!json_is_true(json_object_get(s, "ok"))) {
				failed++;
				json_array_append(all, s);
			}
		}
		json_decref(root);
	}
	printf("merged: %" PRIu64 " seeds, %" PRIu64 " failed\n", total, failed);
	size_t i;
	json_t *s;
	json_array_foreach(all, i, s)
		printf("  seed %" PRId64 ": %s\n", (int64_t)json_integer_value(json_object_get(s, "seed")),
		    json_string_value(json_object_get(s, "failure")));
	json_decref(all);
	return failed ? 1 : 0;
}

int
natsim_cmd_swarm(int argc, char **argv)
{
	gint64 runs = 0, jobs = 0, first_seed = 1;
	g_autofree char *shard_text = NULL, *out_dir = NULL;
	gboolean do_merge = FALSE;
	GOptionEntry entries[] = {
		{ "runs", 0, 0, G_OPTION_ARG_INT64, &runs, "How many seeds", "N" },
		{ "jobs", 'j', 0, G_OPTION_ARG_INT64, &jobs, "Worker processes (default: the number of cores)", "J" },
		{ "shard", 0, 0, G_OPTION_ARG_STRING, &shard_text, "Run only shard K of N", "K/N" },
		{ "first-seed", 0, 0, G_OPTION_ARG_INT64, &first_seed, "The first seed (default 1)", "S" },
		{ "out", 0, 0, G_OPTION_ARG_FILENAME, &out_dir, "Keep failing seeds and the summary here", "DIR" },
		{ "merge", 0, 0, G_OPTION_ARG_NONE, &do_merge, "Combine the summaries of shards (DIR or JSON files)", NULL },
		{ NULL, 0, 0, 0, NULL, NULL, NULL },
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("FILE - many seeds in parallel");
	g_option_context_add_main_entries(ctx, entries, NULL);
	g_autoptr(GError) error = NULL;
	if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
		fprintf(stderr, "natsim swarm: %s\n", error->message);
		return NATSIM_EXIT_USAGE;
	}
	if (do_merge)
		return argc >= 2 ? merge(argc, argv) : natsim_usage_error("swarm", "--merge needs summaries");
	if (argc != 2)
		return natsim_usage_error("swarm", "swarm takes one scenario file");
	if (runs <= 0)
		return natsim_usage_error("swarm", "--runs N (N >= 1) is required");
	if (first_seed < 0)
		return natsim_usage_error("swarm", "--first-seed must not be negative");
	if (jobs <= 0)
		jobs = (gint64)g_get_num_processors();
	uint64_t shard_k = 1, shard_n = 1;
	if (shard_text != NULL) {
		char *end;
		shard_k = g_ascii_strtoull(shard_text, &end, 10);
		if (*end != '/' || (shard_n = g_ascii_strtoull(end + 1, &end, 10)) == 0 || *end != '\0' || shard_k == 0 ||
		    shard_k > shard_n)
			return natsim_usage_error("swarm", "--shard is K/N with 1 <= K <= N");
	}
	const char *path = argv[1];
	g_autofree char *text = natsim_read_file(path, &error);
	if (text == NULL) {
		fprintf(stderr, "natsim: %s\n", error->message);
		return NATSIM_EXIT_USAGE;
	}
	Scenario *check = scenario_parse(path, text, (uint64_t)first_seed, &error);
	if (check == NULL) {
		fprintf(stderr, "%s\n", error->message);
		return NATSIM_EXIT_USAGE;
	}
	scenario_free(check);
	GArray *seeds = g_array_new(FALSE, FALSE, sizeof(uint64_t));
	for (uint64_t i = 0; i < (uint64_t)runs; i++)
		if (i % shard_n == shard_k - 1) {
			uint64_t seed = (uint64_t)first_seed + i;
			g_array_append_val(seeds, seed);
		}
	guint workers = (guint)MIN((gint64)seeds->len, jobs);
	if (workers == 0)
		workers = 1;
	fflush(stdout);
	fflush(stderr);
	pid_t *pids = g_new0(pid_t, workers);
	struct pollfd *fds = g_new0(struct pollfd, workers);
	GString **partial = g_new0(GString *, workers);
	for (guint w = 0; w < workers; w++) {
		int pipefd[2];
		if (pipe(pipefd) != 0) {
			fprintf(stderr, "natsim swarm: pipe: %s\n", g_strerror(errno));
			return 1;
		}
		pid_t pid = fork();
		if (pid < 0) {
			fprintf(stderr, "natsim swarm: fork: %s\n", g_strerror(errno));
			return 1;
		}
		if (pid == 0) {
			close(pipefd[0]);
			for (guint o = 0; o < w; o++)
				close(fds[o].fd);
			_exit(worker(path, text, seeds, w, workers, pipefd[1]));
		}
		close(pipefd[1]);
		pids[w] = pid;
		fds[w] = (struct pollfd){ .fd = pipefd[0], .events = POLLIN };
		partial[w] = g_string_new(NULL);
	}
	GArray *results = g_array_new(FALSE, FALSE, sizeof(SeedResult));
	int64_t start = sim_tripwire_wall_ns();
	guint open_pipes = workers, failures = 0;
	progress(0, seeds->len, 0, start);
	while (open_pipes > 0) {
		if (poll(fds, workers, 1000) < 0 && errno != EINTR)
			break;
		for (guint w = 0; w < workers; w++) {
			if (fds[w].fd < 0 || !(fds[w].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			char buf[4096];
			ssize_t n = read(fds[w].fd, buf, sizeof(buf));
			if (n <= 0) {
				close(fds[w].fd);
				fds[w].fd = -1;
				open_pipes--;
				continue;
			}
			g_string_append_len(partial[w], buf, n);
			char *nl;
			while ((nl = strchr(partial[w]->str, '\n')) != NULL) {
				*nl = '\0';
				guint before = results->len;
				parse_line(partial[w]->str, results);
				if (results->len > before && !g_array_index(results, SeedResult, results->len - 1).ok)
					failures++;
				g_string_erase(partial[w], 0, (gssize)(nl - partial[w]->str) + 1);
			}
		}
		progress(results->len, seeds->len, failures, start);
	}
	if (isatty(STDERR_FILENO))
		fputc('\n', stderr);
	int worker_failures = 0;
	for (guint w = 0; w < workers; w++) {
		int status = 0;
		waitpid(pids[w], &status, 0);
		worker_failures += !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		g_string_free(partial[w], TRUE);
	}
	g_array_sort(results, compare_results);
	double secs = (double)(sim_tripwire_wall_ns() - start) / 1e9;
	printf("swarm: %s: %u seeds in %.2fs (%.0f seeds/s, %u workers), %u failed\n", path, results->len, secs,
	    secs > 0 ? results->len / secs : 0, workers, failures);
	json_t *summary = json_object();
	json_object_set_new(summary, "file", json_string(path));
	json_object_set_new(summary, "first_seed", json_integer(first_seed));
	json_object_set_new(summary, "runs", json_integer(runs));
	json_object_set_new(summary, "shard", json_string(shard_text ? shard_text : "1/1"));
	json_object_set_new(summary, "done", json_integer(results->len));
	json_object_set_new(summary, "failed", json_integer(failures));
	json_t *list = json_array();
	for (guint k = 0; k < results->len; k++) {
		SeedResult *r = &g_array_index(results, SeedResult, k);
		json_t *o = json_object();
		json_object_set_new(o, "seed", json_integer((json_int_t)r->seed));
		json_object_set_new(o, "ok", json_boolean(r->ok));
		json_object_set_new(o, "fingerprint", json_string(r->fingerprint));
		if (!r->ok) {
			json_object_set_new(o, "failure", json_string(r->failure));
			printf("  FAIL seed=%" PRIu64 ": %s\n  replay: natsim replay %s --seed %" PRIu64 "\n", r->seed, r->failure,
			    path, r->seed);
			if (out_dir != NULL) {
				Scenario *scn = scenario_parse(path, text, r->seed, NULL);
				if (scn != NULL) {
					g_autofree char *base = g_path_get_basename(path);
					char *dot = strrchr(base, '.');
					if (dot)
						*dot = '\0';
					g_autofree char *name = g_strdup_printf("%s-seed%" PRIu64 ".scn", base, r->seed);
					g_autofree char *file = g_build_filename(out_dir, name, NULL);
					g_mkdir_with_parents(out_dir, 0755);
					char *exported = scenario_export(scn);
					char *with_note = g_strdup_printf("# natsim swarm: seed %" PRIu64 " failed: %s\n%s", r->seed,
					    r->failure, exported);
					g_free(exported);
					natsim_write_file(file, with_note);
					scenario_free(scn);
				}
			}
		}
		json_array_append_new(list, o);
		g_free(r->failure);
	}
	json_object_set_new(summary, "seeds", list);
	if (out_dir != NULL) {
		g_mkdir_with_parents(out_dir, 0755);
		g_autofree char *file = g_build_filename(out_dir, "summary.json", NULL);
		if (json_dump_file(summary, file, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0)
			fprintf(stderr, "natsim swarm: cannot write %s\n", file);
		else
			printf("summary: %s\n", file);
	}
	json_decref(summary);
	g_array_free(results, TRUE);
	g_array_free(seeds, TRUE);
	g_free(pids);
	g_free(fds);
	g_free(partial);
	if (worker_failures > 0) {
		fprintf(stderr, "natsim swarm: %d worker(s) died\n", worker_failures);
		return 1;
	}
	return failures ? 1 : 0;
}
