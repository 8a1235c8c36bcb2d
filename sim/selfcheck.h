/*
 * selfcheck.h - the kernel's end-to-end self-check.
 *
 * Two nodes speak a tiny echo protocol over the virtual network while
 * faults strike: segmentation, jitter, a slow reader, partitions (some
 * outlasting the link's patience and resetting), a connection reset, a
 * latency change, a clock jump and a server crash with torn writes. The
 * server keeps a checksummed counter of echoed bytes on its virtual disk and
 * recovers it at restart. Checked: every echoed byte comes back in order and
 * intact on its connection; the recovered counter lies between what was
 * synced and what was written before the crash; torn records are detected.
 */
#ifndef NATSIM_SIM_SELFCHECK_H
#define NATSIM_SIM_SELFCHECK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef struct SimSelfcheckResult {
	uint64_t seed;
	bool ok;
	char error[256];
	uint64_t events;
	int64_t virtual_ns;
	uint64_t fingerprint;
	uint64_t trace_events;
	uint64_t bytes_sent;
	uint64_t bytes_echoed;
	uint32_t connections;
	uint32_t resets;
	uint32_t crashes;
	uint64_t recovered_echoed; /* the server's counter after its restart */
	uint32_t torn_records;     /* records found damaged at recovery */
} SimSelfcheckResult;

typedef struct SimSelfcheckOptions {
	uint64_t seed;
	bool shuffle_ties;
	FILE *trace_sink; /* JSON lines, or NULL */
} SimSelfcheckOptions;

void sim_selfcheck_run(const SimSelfcheckOptions *options, SimSelfcheckResult *result);

#endif
