/*
 * report.h - reports of scenario runs: JUnit XML, a JSON summary, and a
 * self-contained HTML page with a summary table and an SVG timeline per
 * run (a lane per node; publishes, deliveries, redeliveries, acks,
 * connection events, errors and faults on the virtual time axis). The
 * functions build text; the command line writes it.
 */
#ifndef NATSIM_SIM_REPORT_H
#define NATSIM_SIM_REPORT_H

#include <stdint.h>

#include "sim/scenario.h"
#include "sim/scenario_run.h"

typedef struct ReportSet ReportSet;

ReportSet *report_set_new(void);
void report_set_free(ReportSet *set);

/* Copies what the report needs of one run. */
void report_set_add(ReportSet *set, const Scenario *scn, const ScnResult *result, int64_t wall_ns);

/* The texts; the caller frees them. */
char *report_set_junit(const ReportSet *set);
char *report_set_json(const ReportSet *set);
char *report_set_html(const ReportSet *set);

#endif
