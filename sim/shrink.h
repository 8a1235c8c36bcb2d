/*
 * shrink.h - reduces a failing scenario run to a minimal explicit
 * scenario that still fails the same way.
 *
 * The run is first made explicit (every `let` fixed, every relative time
 * made absolute); then delta debugging (ddmin) removes timeline lines,
 * publish counts are halved, and expectations other than the failing one
 * are dropped - each step kept only when the run, with the same seed, still
 * fails the same expectation (or the same always-on check).
 */
#ifndef NATSIM_SIM_SHRINK_H
#define NATSIM_SIM_SHRINK_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "sim/scenario_run.h"

typedef struct ShrinkResult {
	char *text;           /* the minimal scenario */
	char *failure;        /* what it still fails */
	unsigned timeline_lines; /* timeline lines before */
	unsigned kept_lines;     /* timeline lines after */
	unsigned runs;           /* simulation runs spent */
} ShrinkResult;

enum {
	SHRINK_ERROR_PARSE = 1, /* the scenario does not parse */
	SHRINK_ERROR_PASSES,    /* the run passes: nothing to shrink */
};

/* options (may be NULL) are used for every run. */
bool shrink_scenario(const char *path, const char *text, uint64_t seed, const ScnRunOptions *options, ShrinkResult *out,
    GError **error);
void shrink_result_clear(ShrinkResult *result);

#endif
