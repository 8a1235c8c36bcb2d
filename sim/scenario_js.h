/*
 * scenario_js.h - the JetStream half of the scenario runner.
 *
 * scenario_run.c builds the world and plays the core timeline; it hands
 * every JetStream action, fault and expectation to this module, forwards
 * the trace events and messages JetStream cares about, and asks it for its
 * always-on checks at the end. Everything this module knows comes from
 * what the clients saw (their messages, PubAcks, API answers and fetch
 * ends, as traced) and, for the end-of-run checks, from the broker cores
 * themselves (monitoring, and in-core API reads after the fingerprint is
 * taken).
 *
 * Ack behaviours (`acks ...`) run as events owned by the client's node, so
 * a crashed client stops acking, as a real one would.
 */
#ifndef NATSIM_SIM_SCENARIO_JS_H
#define NATSIM_SIM_SCENARIO_JS_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "broker/broker.h"
#include "client/client.h"
#include "sim/client_node.h"
#include "sim/scenario.h"
#include "sim/trace.h"
#include "sim/world.h"

typedef struct ScnJs ScnJs;

/* What the runner lends the module. */
typedef struct ScnJsHost {
	SimWorld *world;
	const Scenario *scn;
	void *ctx;
	/* Client by declaration index (scn->clients order). */
	SimClientNode *(*client_node)(void *ctx, uint32_t client);
	/* Declaration index of a client by name (UINT32_MAX when unknown). */
	uint32_t (*client_index)(void *ctx, const char *name);
	/* The running core of a broker by name, NULL while it is down. */
	Broker *(*broker)(void *ctx, const char *name);
	void (*fail)(void *ctx, ScnPos pos, const char *what, int64_t at_ns, const char *message);
} ScnJsHost;

ScnJs *scn_js_create(const ScnJsHost *host);
void scn_js_free(ScnJs *js);

/* True for the action kinds and expectation kinds this module plays. */
bool scn_js_handles_action(ScnActionKind kind);
bool scn_js_handles_expect(ScnExpectKind kind);

/* js-publish: all its actors at once, count times (like publish). */
void scn_js_publish(ScnJs *js, const ScnAction *a);
/* Any other JetStream client action, for one of its actors. */
void scn_js_client_action(ScnJs *js, const ScnAction *a, uint32_t client);
/* corrupt / disk-fail. */
void scn_js_fault(ScnJs *js, const ScnAction *a);

/* A message handed to a client (after it was traced). */
void scn_js_on_msg(ScnJs *js, uint32_t client, const ClientMsg *msg);
/* Trace events: client.puback, client.js, client.fetch.done from clients
 * (client = its index), broker.log from brokers (client = UINT32_MAX). */
void scn_js_on_trace(ScnJs *js, uint32_t client, const SimTraceEvent *ev);

/* After the run (the fingerprint is taken by then). */
void scn_js_check_expectation(ScnJs *js, guint index);
void scn_js_check_invariants(ScnJs *js);

#endif
