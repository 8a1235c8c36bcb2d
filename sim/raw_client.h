/*
 * raw_client.h - a scripted raw-protocol client for simulated brokers.
 *
 * It connects, sends exactly the bytes it is told to at the virtual times
 * it is told to, and records every byte it receives with its arrival time,
 * and when the connection ended. Conformance tests use it to check a
 * broker's wire behaviour in virtual time ("Stale Connection at exactly
 * 3 s").
 */
#ifndef NATSIM_SIM_RAW_CLIENT_H
#define NATSIM_SIM_RAW_CLIENT_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "sim/world.h"

typedef struct SimRawClient SimRawClient;

/* A new node called name that connects to server:port at once. */
SimRawClient *sim_raw_client_create(SimWorld *world, const char *name, SimNode *server, uint16_t port);
void sim_raw_client_destroy(SimRawClient *rc);

/* Sends bytes now (or queues them until connected). */
void sim_raw_client_send(SimRawClient *rc, const char *text);
void sim_raw_client_send_bytes(SimRawClient *rc, const void *data, size_t len);
/* Sends bytes at virtual time at_ns. */
void sim_raw_client_send_at(SimRawClient *rc, int64_t at_ns, const char *text);
/* While off, received bytes stay unread in the network (a slow reader). */
void sim_raw_client_set_reading(SimRawClient *rc, bool reading);
/* Closes the connection now (orderly). */
void sim_raw_client_close(SimRawClient *rc);

/* Everything received so far, NUL-terminated. */
const char *sim_raw_client_text(SimRawClient *rc);
size_t sim_raw_client_received_bytes(SimRawClient *rc);
/* Virtual time at which the received text first contained needle, or -1. */
int64_t sim_raw_client_time_of(SimRawClient *rc, const char *needle);
/* Virtual time of EOF or reset, or -1 while open. */
int64_t sim_raw_client_closed_at(SimRawClient *rc);
bool sim_raw_client_connected(SimRawClient *rc);
/* Drops what was received so far (the text restarts empty). */
void sim_raw_client_clear(SimRawClient *rc);

#endif
