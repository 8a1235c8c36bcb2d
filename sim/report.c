/*
 * report.c - JUnit XML, JSON summary and HTML (with SVG timelines) for a
 * set of scenario runs (see report.h). XML and HTML text is escaped with
 * g_markup_escape_text; JSON is built with jansson.
 */
#include "sim/report.h"

#include <glib.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "broker/broker.h"
#include "sim/trace.h"

#define SVG_WIDTH 1100
#define SVG_LANE 26
#define SVG_LEFT 110
#define SVG_RIGHT 20
#define SVG_TOP 24
#define MARKS_PER_LANE_MAX 4000

typedef struct ReportRun {
	char *path;
	uint64_t seed;
	bool ok;
	char *failures; /* described, one per line */
	uint64_t fingerprint;
	int64_t virtual_ns;
	int64_t wall_ns;
	uint64_t events;
	uint64_t publishes, deliveries;
	GPtrArray *nodes;  /* char*, lane order */
	GArray *records;   /* ScnRecord (strings owned) */
	uint64_t probes[BROKER_PROBE_COUNT]; /* hits, summed over the brokers */
} ReportRun;

struct ReportSet {
	GPtrArray *runs; /* ReportRun* */
};

static void
run_free(ReportRun *r)
{
	g_free(r->path);
	g_free(r->failures);
	g_ptr_array_free(r->nodes, TRUE);
	for (guint k = 0; k < r->records->len; k++) {
		ScnRecord *rec = &g_array_index(r->records, ScnRecord, k);
		g_free(rec->node);
		g_free(rec->detail);
	}
	g_array_free(r->records, TRUE);
	g_free(r);
}

ReportSet *
report_set_new(void)
{
	ReportSet *set = g_new0(ReportSet, 1);
	set->runs = g_ptr_array_new_with_free_func((GDestroyNotify)run_free);
	return set;
}

void
report_set_free(ReportSet *set)
{
	if (set == NULL)
		return;
	g_ptr_array_free(set->runs, TRUE);
	g_free(set);
}

void
report_set_add(ReportSet *set, const Scenario *scn, const ScnResult *result, int64_t wall_ns)
{
	ReportRun *r = g_new0(ReportRun, 1);
	r->path = g_strdup(scn->path);
	r->seed = result->seed;
	r->ok = result->ok;
	r->failures = scn_result_describe(scn, result);
	r->fingerprint = result->fingerprint;
	r->virtual_ns = result->virtual_ns;
	r->wall_ns = wall_ns;
	r->events = result->events;
	r->publishes = result->publishes;
	r->deliveries = result->deliveries;
	r->nodes = g_ptr_array_new_with_free_func(g_free);
	for (guint k = 0; k < scn->brokers->len; k++)
		g_ptr_array_add(r->nodes, g_strdup(((ScnBroker *)scn->brokers->pdata[k])->name));
	for (guint k = 0; k < scn->clients->len; k++)
		g_ptr_array_add(r->nodes, g_strdup(((ScnClient *)scn->clients->pdata[k])->name));
	GHashTableIter it;
	gpointer key, value;
	g_hash_table_iter_init(&it, result->probes);
	while (g_hash_table_iter_next(&it, &key, &value)) {
		const char *name = strchr(key, '/');
		for (int p = 0; name != NULL && p < BROKER_PROBE_COUNT; p++)
			if (strcmp(name + 1, broker_probe_name((BrokerProbe)p)) == 0)
				r->probes[p] += *(guint64 *)value; /* a sum: the order of the walk cannot show */
	}
	r->records = g_array_new(FALSE, FALSE, sizeof(ScnRecord));
	for (guint k = 0; k < result->records->len; k++) {
		const ScnRecord *src = &g_array_index(result->records, ScnRecord, k);
		ScnRecord copy = { src->at_ns, src->kind, g_strdup(src->node), g_strdup(src->detail) };
		g_array_append_val(r->records, copy);
	}
	g_ptr_array_add(set->runs, r);
}

static char *
replay_command(const ReportRun *r)
{
	return g_strdup_printf("natsim replay %s --seed %" G_GUINT64_FORMAT, r->path, r->seed);
}

/* ---- JUnit ---- */

char *
report_set_junit(const ReportSet *set)
{
	guint failed = 0;
	double total = 0;
	for (guint k = 0; k < set->runs->len; k++) {
		const ReportRun *r = set->runs->pdata[k];
		failed += !r->ok;
		total += (double)r->wall_ns / 1e9;
	}
	GString *s = g_string_new("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	g_string_append_printf(s, "<testsuites name=\"natsim\" tests=\"%u\" failures=\"%u\" time=\"%.6f\">\n",
	    set->runs->len, failed, total);
	g_string_append_printf(s, "  <testsuite name=\"scenarios\" tests=\"%u\" failures=\"%u\" errors=\"0\" time=\"%.6f\">\n",
	    set->runs->len, failed, total);
	for (guint k = 0; k < set->runs->len; k++) {
		const ReportRun *r = set->runs->pdata[k];
		g_autofree char *cls = g_markup_escape_text(r->path, -1);
		char fp[17];
		sim_trace_format_fingerprint(r->fingerprint, fp);
		g_string_append_printf(s, "    <testcase classname=\"%s\" name=\"seed=%" G_GUINT64_FORMAT "\" time=\"%.6f\">\n",
		    cls, r->seed, (double)r->wall_ns / 1e9);
		if (!r->ok) {
			g_autofree char *replay = replay_command(r);
			g_autofree char *first_line = g_strndup(r->failures, strcspn(r->failures, "\n"));
			g_autofree char *msg = g_markup_escape_text(first_line, -1);
			g_autofree char *body_raw = g_strdup_printf("%sreplay: %s\n", r->failures, replay);
			g_autofree char *body = g_markup_escape_text(body_raw, -1);
			g_string_append_printf(s, "      <failure message=\"%s\" type=\"expectation\">%s</failure>\n", msg, body);
		}
		g_string_append_printf(s, "      <system-out>fingerprint=%s events=%" G_GUINT64_FORMAT "</system-out>\n", fp,
		    r->events);
		g_string_append(s, "    </testcase>\n");
	}
	g_string_append(s, "  </testsuite>\n</testsuites>\n");
	return g_string_free(s, FALSE);
}

/* ---- JSON ---- */

char *
report_set_json(const ReportSet *set)
{
	json_t *root = json_object();
	json_t *runs = json_array();
	guint failed = 0;
	for (guint k = 0; k < set->runs->len; k++) {
		const ReportRun *r = set->runs->pdata[k];
		char fp[17];
		sim_trace_format_fingerprint(r->fingerprint, fp);
		json_t *o = json_object();
		json_object_set_new(o, "file", json_string(r->path));
		json_object_set_new(o, "seed", json_integer((json_int_t)r->seed));
		json_object_set_new(o, "ok", json_boolean(r->ok));
		json_object_set_new(o, "fingerprint", json_string(fp));
		json_object_set_new(o, "virtual_ns", json_integer(r->virtual_ns));
		json_object_set_new(o, "wall_ns", json_integer(r->wall_ns));
		json_object_set_new(o, "events", json_integer((json_int_t)r->events));
		if (!r->ok) {
			json_object_set_new(o, "failures", json_string(r->failures));
			g_autofree char *replay = replay_command(r);
			json_object_set_new(o, "replay", json_string(replay));
		}
		json_array_append_new(runs, o);
		failed += !r->ok;
	}
	json_object_set_new(root, "runs", runs);
	json_t *probes = json_object();
	for (int p = 0; p < BROKER_PROBE_COUNT; p++) {
		json_t *hits = json_array();
		for (guint k = 0; k < set->runs->len; k++) {
			const ReportRun *r = set->runs->pdata[k];
			if (r->probes[p] > 0) {
				g_autofree char *name = g_strdup_printf("%s seed=%" G_GUINT64_FORMAT, r->path, r->seed);
				json_array_append_new(hits, json_string(name));
			}
		}
		json_object_set_new(probes, broker_probe_name((BrokerProbe)p), hits);
	}
	json_object_set_new(root, "probes", probes);
	json_object_set_new(root, "total", json_integer(set->runs->len));
	json_object_set_new(root, "failed", json_integer(failed));
	char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(root);
	char *out = g_strdup(text);
	free(text);
	return out;
}

/* ---- HTML and SVG ---- */

static const struct {
	ScnRecordKind kind;
	const char *name;
	const char *color;
} kinds[] = {
	{ SCN_REC_PUBLISH, "publish", "#2b6cb0" }, { SCN_REC_DELIVER, "delivery", "#2f855a" },
	{ SCN_REC_REDELIVER, "redelivery", "#dd6b20" }, { SCN_REC_ACK, "ack", "#6b46c1" },
	{ SCN_REC_FAULT, "fault", "#c53030" }, { SCN_REC_CONNECT, "connect", "#718096" },
	{ SCN_REC_DISCONNECT, "disconnect", "#9b2c2c" }, { SCN_REC_ERROR, "error", "#e53e3e" },
};

static const char *
kind_color(ScnRecordKind k)
{
	for (size_t i = 0; i < G_N_ELEMENTS(kinds); i++)
		if (kinds[i].kind == k)
			return kinds[i].color;
	return "#000";
}

static const char *
kind_name(ScnRecordKind k)
{
	for (size_t i = 0; i < G_N_ELEMENTS(kinds); i++)
		if (kinds[i].kind == k)
			return kinds[i].name;
	return "event";
}

static void
svg_timeline(GString *s, const ReportRun *r)
{
	guint lanes = r->nodes->len;
	int height = SVG_TOP + (int)lanes * SVG_LANE + 40;
	double span = r->virtual_ns > 0 ? (double)r->virtual_ns : 1;
	double plot = SVG_WIDTH - SVG_LEFT - SVG_RIGHT;
	g_string_append_printf(s, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
	    "viewBox=\"0 0 %d %d\" role=\"img\" font-family=\"sans-serif\" font-size=\"11\">\n", SVG_WIDTH, height,
	    SVG_WIDTH, height);
	for (guint l = 0; l < lanes; l++) {
		int y = SVG_TOP + (int)l * SVG_LANE;
		g_autofree char *name = g_markup_escape_text(r->nodes->pdata[l], -1);
		g_string_append_printf(s, "<rect x=\"%d\" y=\"%d\" width=\"%.0f\" height=\"%d\" fill=\"%s\"/>\n", SVG_LEFT, y,
		    plot, SVG_LANE, l % 2 ? "#f7fafc" : "#edf2f7");
		g_string_append_printf(s, "<text x=\"6\" y=\"%d\">%s</text>\n", y + SVG_LANE / 2 + 4, name);
	}
	/* time axis: ten ticks */
	int axis_y = SVG_TOP + (int)lanes * SVG_LANE + 14;
	for (int k = 0; k <= 10; k++) {
		double x = SVG_LEFT + plot * k / 10.0;
		g_autofree char *t = scenario_format_duration((int64_t)(span * k / 10.0));
		g_string_append_printf(s, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#cbd5e0\"/>\n", x,
		    SVG_TOP, x, axis_y - 10);
		g_string_append_printf(s, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n", x, axis_y + 4, t);
	}
	/* marks, thinned so that one pixel column of a lane shows one mark per kind */
	GHashTable *used = g_hash_table_new(g_direct_hash, g_direct_equal);
	guint *per_lane = g_new0(guint, lanes ? lanes : 1);
	for (guint k = 0; k < r->records->len; k++) {
		const ScnRecord *rec = &g_array_index(r->records, ScnRecord, k);
		guint lane = 0;
		bool found = false;
		for (guint l = 0; l < lanes && !found; l++)
			if (strcmp(r->nodes->pdata[l], rec->node) == 0) {
				lane = l;
				found = true;
			}
		if (!found)
			continue;
		double x = SVG_LEFT + plot * (double)rec->at_ns / span;
		guint key = (lane * 4096u + (guint)x) * 16u + (guint)rec->kind;
		if (!g_hash_table_add(used, GUINT_TO_POINTER(key + 1)) || per_lane[lane]++ > MARKS_PER_LANE_MAX)
			continue;
		int y = SVG_TOP + (int)lane * SVG_LANE;
		g_autofree char *t = scenario_format_duration(rec->at_ns);
		g_autofree char *detail = g_markup_escape_text(rec->detail ? rec->detail : "", -1);
		const char *color = kind_color(rec->kind);
		g_string_append(s, "<g>");
		switch (rec->kind) {
		case SCN_REC_FAULT:
			g_string_append_printf(s, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"%s\" stroke-width=\"2\"/>",
			    x, SVG_TOP, x, SVG_TOP + (int)lanes * SVG_LANE, color);
			break;
		case SCN_REC_PUBLISH:
			g_string_append_printf(s, "<circle cx=\"%.1f\" cy=\"%d\" r=\"3\" fill=\"%s\"/>", x, y + 8, color);
			break;
		case SCN_REC_DELIVER:
		case SCN_REC_REDELIVER:
			g_string_append_printf(s, "<rect x=\"%.1f\" y=\"%d\" width=\"3\" height=\"8\" fill=\"%s\"/>", x - 1, y + 13,
			    color);
			break;
		default:
			g_string_append_printf(s, "<path d=\"M%.1f %d l4 7 l-8 0 z\" fill=\"%s\"/>", x, y + 4, color);
			break;
		}
		g_string_append_printf(s, "<title>%s %s: %s</title></g>\n", t, kind_name(rec->kind), detail);
	}
	g_hash_table_destroy(used);
	g_free(per_lane);
	g_string_append(s, "</svg>\n");
}

char *
report_set_html(const ReportSet *set)
{
	GString *s = g_string_new("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
				  "<title>natsim report</title>\n<style>\n"
				  "body{font-family:sans-serif;margin:24px;color:#1a202c}\n"
				  "table{border-collapse:collapse;margin-bottom:24px}\n"
				  "td,th{border:1px solid #cbd5e0;padding:4px 8px;font-size:13px;text-align:left}\n"
				  ".pass{color:#2f855a;font-weight:bold}.fail{color:#c53030;font-weight:bold}\n"
				  "pre{background:#fff5f5;padding:8px;white-space:pre-wrap}\n"
				  ".legend span{display:inline-block;margin-right:14px;font-size:12px}\n"
				  ".legend i{display:inline-block;width:10px;height:10px;margin-right:4px}\n"
				  "</style>\n</head>\n<body>\n<h1>natsim report</h1>\n");
	guint failed = 0;
	for (guint k = 0; k < set->runs->len; k++)
		failed += !((const ReportRun *)set->runs->pdata[k])->ok;
	g_string_append_printf(s, "<p>%u run(s), %u failed.</p>\n<table>\n<tr><th>scenario</th><th>seed</th>"
	    "<th>verdict</th><th>virtual</th><th>wall</th><th>events</th><th>fingerprint</th></tr>\n",
	    set->runs->len, failed);
	for (guint k = 0; k < set->runs->len; k++) {
		const ReportRun *r = set->runs->pdata[k];
		g_autofree char *path = g_markup_escape_text(r->path, -1);
		g_autofree char *vt = scenario_format_duration(r->virtual_ns);
		char fp[17];
		sim_trace_format_fingerprint(r->fingerprint, fp);
		g_string_append_printf(s, "<tr><td><a href=\"#run%u\">%s</a></td><td>%" G_GUINT64_FORMAT "</td>"
		    "<td class=\"%s\">%s</td><td>%s</td><td>%.3fs</td><td>%" G_GUINT64_FORMAT "</td><td><code>%s</code></td></tr>\n",
		    k, path, r->seed, r->ok ? "pass" : "fail", r->ok ? "PASS" : "FAIL", vt, (double)r->wall_ns / 1e9, r->events, fp);
	}
	g_string_append(s, "</table>\n");
	/* Probe coverage: which runs reach which broker branch. */
	g_string_append(s, "<h2>Broker probes</h2>\n<table>\n<tr><th>probe</th><th>runs that hit it</th></tr>\n");
	GString *never = g_string_new(NULL);
	for (int p = 0; p < BROKER_PROBE_COUNT; p++) {
		GString *hits = g_string_new(NULL);
		for (guint k = 0; k < set->runs->len; k++) {
			const ReportRun *r = set->runs->pdata[k];
			if (r->probes[p] == 0)
				continue;
			g_autofree char *base = g_path_get_basename(r->path);
			g_autofree char *esc = g_markup_escape_text(base, -1);
			g_string_append_printf(hits, "%s%s (%" G_GUINT64_FORMAT ")", hits->len ? ", " : "", esc, r->probes[p]);
		}
		const char *name = broker_probe_name((BrokerProbe)p);
		if (hits->len == 0)
			g_string_append_printf(never, "%s%s", never->len ? ", " : "", name);
		g_string_append_printf(s, "<tr><td><code>%s</code></td><td>%s</td></tr>\n", name,
		    hits->len ? hits->str : "<b>not hit</b>");
		g_string_free(hits, TRUE);
	}
	g_string_append_printf(s, "</table>\n<p>Probes no run hits: %s.</p>\n", never->len ? never->str : "none");
	g_string_free(never, TRUE);
	g_string_append(s, "<div class=\"legend\">");
	for (size_t i = 0; i < G_N_ELEMENTS(kinds); i++)
		g_string_append_printf(s, "<span><i style=\"background:%s\"></i>%s</span>", kinds[i].color, kinds[i].name);
	g_string_append(s, "</div>\n");
	for (guint k = 0; k < set->runs->len; k++) {
		const ReportRun *r = set->runs->pdata[k];
		g_autofree char *path = g_markup_escape_text(r->path, -1);
		g_string_append_printf(s, "<h2 id=\"run%u\">%s, seed %" G_GUINT64_FORMAT " <span class=\"%s\">%s</span></h2>\n", k,
		    path, r->seed, r->ok ? "pass" : "fail", r->ok ? "PASS" : "FAIL");
		g_string_append_printf(s, "<p>%" G_GUINT64_FORMAT " publishes, %" G_GUINT64_FORMAT " deliveries.</p>\n",
		    r->publishes, r->deliveries);
		if (!r->ok) {
			g_autofree char *replay = replay_command(r);
			g_autofree char *text = g_strdup_printf("%sreplay: %s", r->failures, replay);
			g_autofree char *esc = g_markup_escape_text(text, -1);
			g_string_append_printf(s, "<pre>%s</pre>\n", esc);
		}
		svg_timeline(s, r);
	}
	g_string_append(s, "</body>\n</html>\n");
	return g_string_free(s, FALSE);
}
