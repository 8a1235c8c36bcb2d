/*
 * jetstream.h - JetStream as the broker core sees it.
 *
 * broker.c creates the JetStream server when BrokerConfig.jetstream is
 * set; from then on JetStream takes part in routing only through the
 * internal seam of broker.h (internal subscriptions on $JS.API.>, the
 * stream subjects, ack subjects; internal publishes for replies,
 * deliveries and advisories; a ticker for its timers). monitor.c asks it
 * for the "jetstream" part of /varz and for /jsz.
 */
#ifndef NATSIM_BROKER_JS_JETSTREAM_H
#define NATSIM_BROKER_JS_JETSTREAM_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/broker.h"

typedef struct JsServer JsServer;

/* Starts JetStream on this broker: subscribes to the API, restores the
 * streams (and their consumers) found on config->storage. Problems found
 * while restoring (a corrupt record, an unreadable stream) are logged
 * through the broker's log callback; the server still starts and serves
 * the rest. */
JsServer *js_server_create(Broker *broker, const BrokerConfig *config, int64_t now_ns);
/* Lets go of everything in memory; what is on storage stays (shutdown and
 * crash alike). NULL-safe. */
void js_server_destroy(JsServer *js);

/* An orderly shutdown (not a crash): writes what is only in memory (the
 * consumers' throttled state saves) and syncs every store, so nothing the
 * server acknowledged is lost whatever the sync policy. */
void js_server_shutdown(JsServer *js);

/* The "jetstream" object of /varz: {config{max_memory,max_storage,
 * store_dir}, stats{memory,storage,reserved_memory,reserved_storage,
 * accounts,ha_assets,api{total,errors}}}. */
json_t *js_server_varz(JsServer *js);
/* /jsz with its query arguments (accounts, streams, consumers, config,
 * offset, limit, ...). NULL with *error (g_free) for a bad argument. */
json_t *js_server_jsz(JsServer *js, const BrokerMonitorArg *args, size_t arg_count, int64_t now_ns, char **error);

#endif
