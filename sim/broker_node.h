/*
 * broker_node.h - the broker core running as a simulated node.
 *
 * The simulator's driver for broker/broker.h: it listens on a port of the
 * virtual network, feeds the core what arrives, sends what the core owes
 * (honouring the window: a stalled connection waits for WRITABLE), closes
 * what the core closes, and keeps one timer at the core's next deadline.
 * A crash destroys the core (the kernel has already reset the node's
 * connections); a restart builds a new one, seeded for the new
 * incarnation. Connection opens and closes and every probe hit go into the
 * trace.
 */
#ifndef NATSIM_SIM_BROKER_NODE_H
#define NATSIM_SIM_BROKER_NODE_H

#include <stdint.h>

#include "broker/broker.h"
#include "sim/world.h"

typedef struct SimBrokerNode SimBrokerNode;

/* Creates node name running a broker on port (4222 when 0). config is
 * copied; its host/port fields are filled in. */
SimBrokerNode *sim_broker_node_create(SimWorld *world, const char *name, const BrokerConfig *config, uint16_t port);
/* Frees the broker and this driver; call before sim_world_destroy. */
void sim_broker_node_destroy(SimBrokerNode *bn);

SimNode *sim_broker_node_node(SimBrokerNode *bn);
/* The running core, or NULL while the node is down. */
Broker *sim_broker_node_broker(SimBrokerNode *bn);
uint16_t sim_broker_node_port(const SimBrokerNode *bn);

#endif
