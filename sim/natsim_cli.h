/*
 * natsim_cli.h - what the natsim command's files share (natsim.c, swarm.c,
 * files.c). Only the command line includes this.
 */
#ifndef NATSIM_SIM_NATSIM_CLI_H
#define NATSIM_SIM_NATSIM_CLI_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "sim/report.h"

#define NATSIM_EXIT_USAGE 2

int natsim_usage_error(const char *command, const char *message);
bool natsim_parse_seeds(const char *text, uint64_t *first, uint64_t *last);

/* Files (files.c). natsim_write_file takes ownership of text. */
char *natsim_read_file(const char *path, GError **error);
bool natsim_write_file(const char *path, char *text);
bool natsim_write_report_dir(const char *dir, ReportSet *reports);

int natsim_cmd_swarm(int argc, char **argv);

/* TEST ONLY: NATSIM_PLANTED_BUG=drop:N plants a broker bug that drops about
 * one delivery in N (to prove swarm and shrink find one). 0 when unset. */
uint32_t natsim_planted_drop(void);

#endif
