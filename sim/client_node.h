/*
 * client_node.h - a NATS client (the client core, client/client.h) running
 * as a simulated node over the virtual network, in virtual time.
 *
 * Who calls it: simulator tests and the scenario runner. The node connects
 * to a broker node's port with sim_net_connect, feeds the core what
 * arrives, writes what the core has to send (as much as the window
 * takes), schedules the core's next deadline with sim_node_at, and when
 * the core wants a new transport (after a reset, a crash of the broker, a
 * partition that outlasts the patience of the network or of the pings)
 * opens one, following the core's backoff. The core's PRNG is seeded with
 * sim_node_seed, so a run replays from the master seed.
 *
 * Trace events (sim_node_trace; all fields typed and hashed into the
 * fingerprint):
 *   client.connect      attempt                       a transport is being opened
 *   client.connected    -                             handshake done (first time)
 *   client.reconnected  reconnects                    handshake done again
 *   client.disconnected status                        the transport went away
 *   client.closed       status                        terminal
 *   client.error        status, text, sid             -ERR, protocol error, slow consumer...
 *   client.pub          subject, reply, payload       each publish the node makes
 *   client.msg          sid, subject, reply, payload, status
 *                       [+ stream, consumer, delivered, stream_seq, consumer_seq]
 *                                                     each message handed to the node
 *   client.reply        id, status, payload           a request finished
 *   client.flush        id, status
 *   client.puback       id, status, stream, seq, duplicate, err_code
 *   client.js           id, api, status, err_code     a JetStream API call finished
 *   client.fetch.done   id, status, received, code
 *   client.ack          kind, reply, stream, consumer, stream_seq, delivered
 * Payloads are TRACE_BYTES: length + XXH3 of the content.
 *
 * Ids: requests, flushes, PubAcks, API calls and fetches made through this
 * node get a per-node sequence number (1, 2, ...) that the trace carries,
 * so a checker can pair a call with its completion.
 *
 * Ownership: the node's state lives until sim_client_node_destroy, which
 * the caller runs after sim_world_destroy... or before it; both orders
 * work. A crash (sim_node_crash) drops the core and its subscriptions; a
 * restart starts a fresh core (a restarted process), which subscribes to
 * nothing until told to.
 */
#ifndef NATSIM_SIM_CLIENT_NODE_H
#define NATSIM_SIM_CLIENT_NODE_H

#include <jansson.h>

#include "client/client.h"
#include "client/js.h"
#include "sim/world.h"

typedef struct SimClientNode SimClientNode;

/* The kinds and keys of client.pub and client.msg, the two events most of
 * a trace is made of, as the objects the node emits: a listener may compare
 * pointers before it compares strings (the answer is the same; only the
 * speed differs). client.msg's fields come in the order listed above, and
 * client.pub's as subject, reply, payload. */
extern const char SIM_CLIENT_MSG[];         /* "client.msg" */
extern const char SIM_CLIENT_PUB[];         /* "client.pub" */
extern const char SIM_CLIENT_KEY_SID[];     /* "sid" */
extern const char SIM_CLIENT_KEY_SUBJECT[]; /* "subject" */
extern const char SIM_CLIENT_KEY_REPLY[];   /* "reply" */
extern const char SIM_CLIENT_KEY_PAYLOAD[]; /* "payload" */
extern const char SIM_CLIENT_KEY_STATUS[];  /* "status" */

typedef struct SimClientNodeOptions {
	const char *name;   /* the node's name (unique in the world) */
	const char *broker; /* the broker node's name */
	uint16_t port;      /* the broker's port; 0 = 4222 */
	ClientOptions client; /* core options: start from client_options_default() */
	int64_t connect_at_ns; /* virtual time of the first connect attempt (0: at once) */
} SimClientNodeOptions;

/* Defaults: port 4222, the core's defaults with retry_on_failed_connect on
 * (a simulated broker may start later) and unlimited reconnect attempts. */
SimClientNodeOptions sim_client_node_options_default(const char *name, const char *broker);

typedef struct SimClientNodeCallbacks {
	/* Every message delivered to a subscription or fetch made through the
	 * node, after it was traced (status messages of fetches excluded). */
	void (*msg)(void *ctx, SimClientNode *node, const ClientMsg *msg);
	/* Connection events, after they were traced. */
	void (*event)(void *ctx, SimClientNode *node, const ClientEvent *event);
	/* An async call made through the node finished (id as traced). */
	void (*done)(void *ctx, SimClientNode *node, uint64_t id, ClientStatus status);
} SimClientNodeCallbacks;

/* Creates the node (it starts, and begins connecting, at once). options
 * and callbacks are copied; ctx is borrowed. */
SimClientNode *sim_client_node_create(SimWorld *world, const SimClientNodeOptions *options,
    const SimClientNodeCallbacks *callbacks, void *ctx);
void sim_client_node_destroy(SimClientNode *node);

SimNode *sim_client_node_sim(SimClientNode *node);
/* The core (NULL while the node is crashed): for anything not wrapped. */
ClientConn *sim_client_node_conn(SimClientNode *node);
ClientState sim_client_node_state(const SimClientNode *node);

ClientStatus sim_client_node_publish(SimClientNode *node, const char *subject, const char *reply,
    const void *headers, size_t headers_len, const void *data, size_t data_len);
ClientStatus sim_client_node_subscribe(SimClientNode *node, const char *subject, const char *queue,
    uint64_t *sid_out);
ClientStatus sim_client_node_unsubscribe(SimClientNode *node, uint64_t sid, uint64_t max_msgs);
/* The async calls: *id_out (may be NULL) gets the id the trace uses. */
ClientStatus sim_client_node_request(SimClientNode *node, const char *subject, const void *data, size_t data_len,
    int64_t timeout_ns, uint64_t *id_out);
ClientStatus sim_client_node_flush(SimClientNode *node, int64_t timeout_ns, uint64_t *id_out);
ClientStatus sim_client_node_drain(SimClientNode *node, int64_t timeout_ns);
/* Stops reading the connection for duration_ns: arriving bytes stay in the
 * network, the window fills and pushes back on the broker (a slow
 * consumer). Reading resumes by itself. */
ClientStatus sim_client_node_pause_reading(SimClientNode *node, int64_t duration_ns);
void sim_client_node_close(SimClientNode *node);

/* JetStream. */
ClientStatus sim_client_node_js_publish(SimClientNode *node, const char *subject, const void *data, size_t data_len,
    const ClientJsPubOptions *options, int64_t timeout_ns, uint64_t *id_out);
/* Any API call, e.g. api "STREAM.INFO.S" (body borrowed, may be NULL). */
ClientStatus sim_client_node_js_api(SimClientNode *node, const char *api, const json_t *body, int64_t timeout_ns,
    uint64_t *id_out);
ClientStatus sim_client_node_stream_add(SimClientNode *node, const ClientStreamConfig *config, int64_t timeout_ns,
    uint64_t *id_out);
ClientStatus sim_client_node_consumer_add(SimClientNode *node, const char *stream,
    const ClientConsumerConfig *config, int64_t timeout_ns, uint64_t *id_out);
ClientStatus sim_client_node_fetch(SimClientNode *node, const char *stream, const char *consumer,
    const ClientFetchOptions *options, uint64_t *id_out);
ClientStatus sim_client_node_push_subscribe(SimClientNode *node, const char *deliver_subject, const char *queue,
    int64_t idle_heartbeat_ns, uint64_t *sid_out);
ClientStatus sim_client_node_ack(SimClientNode *node, const char *reply, ClientAckKind kind, int64_t delay_ns);
ClientStatus sim_client_node_ack_sync(SimClientNode *node, const char *reply, ClientAckKind kind, int64_t delay_ns,
    int64_t timeout_ns, uint64_t *id_out);

#endif
