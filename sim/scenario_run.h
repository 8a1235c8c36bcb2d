/*
 * scenario_run.h - playing a parsed scenario in the simulator and checking
 * it.
 *
 * scenario_run() builds the world the scenario declares (brokers as
 * sim/broker_node, clients as sim/client_node, links), schedules the
 * timeline, runs virtual time to the scenario's end, then checks every
 * expectation and the always-on invariants. What happened is collected from
 * the trace (a listener), so the checks see exactly what the fingerprint
 * covers.
 */
#ifndef NATSIM_SIM_SCENARIO_RUN_H
#define NATSIM_SIM_SCENARIO_RUN_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "sim/scenario.h"
#include "sim/trace.h"

typedef struct ScnFailure {
	ScnPos pos;       /* line 0: an always-on check */
	char *what;       /* the expectation as written, or the check's name */
	char *message;    /* what happened instead */
	int64_t at_ns;    /* when it went wrong, -1 when not at one time */
} ScnFailure;

/* One line of the run's story, for reports (timeline pictures). */
typedef enum ScnRecordKind {
	SCN_REC_PUBLISH = 1,
	SCN_REC_DELIVER,
	SCN_REC_REDELIVER,
	SCN_REC_ACK,
	SCN_REC_FAULT,
	SCN_REC_CONNECT,
	SCN_REC_DISCONNECT,
	SCN_REC_ERROR,
	SCN_REC_PROBE,
} ScnRecordKind;

typedef struct ScnRecord {
	int64_t at_ns;
	ScnRecordKind kind;
	char *node;
	char *detail;
} ScnRecord;

typedef struct ScnResult {
	bool ok;
	uint64_t seed;
	GPtrArray *failures; /* ScnFailure* */
	int64_t virtual_ns;
	uint64_t events;
	uint64_t trace_events;
	uint64_t fingerprint;
	uint64_t publishes;
	uint64_t deliveries;
	GArray *records;     /* ScnRecord, when asked for */
	GHashTable *probes;  /* "node/probe" -> hits (guint64*) */
} ScnResult;

typedef struct ScnRunOptions {
	FILE *trace_sink;        /* JSON lines, or NULL */
	bool keep_records;       /* fill result->records */
	bool shuffle_ties;
	SimTraceListener listener; /* also told every trace event (may be NULL) */
	void *listener_ctx;
	uint32_t planted_drop_one_in; /* TEST ONLY: BrokerConfig.test_drop_one_in */
} ScnRunOptions;

ScnResult *scenario_run(const Scenario *scn, const ScnRunOptions *options);
void scn_result_free(ScnResult *result);

/* "file:line: expectation: message" lines, one per failure. */
char *scn_result_describe(const Scenario *scn, const ScnResult *result);

#endif
