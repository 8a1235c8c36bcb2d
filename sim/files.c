/*
 * files.c - the natsim command's file writing (a driver file: it touches
 * the file system, for reports, exports and traces the user asked for).
 */
#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>

#include "sim/natsim_cli.h"

bool
natsim_write_file(const char *path, char *text)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *dir = g_path_get_dirname(path);
	g_mkdir_with_parents(dir, 0755);
	bool ok = g_file_set_contents(path, text, -1, &error);
	if (!ok)
		fprintf(stderr, "natsim: cannot write %s: %s\n", path, error->message);
	g_free(text);
	return ok;
}

bool
natsim_write_report_dir(const char *dir, ReportSet *reports)
{
	if (g_mkdir_with_parents(dir, 0755) != 0) {
		fprintf(stderr, "natsim: cannot create %s: %s\n", dir, g_strerror(errno));
		return false;
	}
	g_autofree char *index = g_build_filename(dir, "index.html", NULL);
	if (!natsim_write_file(index, report_set_html(reports)))
		return false;
	g_autofree char *summary = g_build_filename(dir, "summary.json", NULL);
	if (!natsim_write_file(summary, report_set_json(reports)))
		return false;
	printf("report: %s\n", index);
	return true;
}
