/*
 * js.h - the contract between the parts of JetStream (broker/js/).
 *
 *   jetstream.c  the server: account, limits, the $JS.API router, replies,
 *                advisories, ids, the ticker, /varz and /jsz, restore at
 *                start-up
 *   errors.c     nats-server's API error table (err_code -> code, text)
 *   stream.c     streams: config (defaults, validation, update rules),
 *                storing publishes (PubAck, dedupe, Nats-Expected-*,
 *                rollup, limits, discard), retention, purge, msg get and
 *                delete, stream info; the stream API handlers
 *   consumer.c   consumers: config, push and pull delivery, acks, the
 *                ack_wait timer model, redelivery, backoff, max_deliver,
 *                NAK/TERM/WPI/+NXT, max_ack_pending, heartbeats, flow
 *                control, inactive threshold, advisories, persisted
 *                state; the consumer API handlers (and MSG.NEXT)
 *   memstore.c   the memory store (store.h)
 *   filestore.c  the file store (store.h) over the storage seam
 *
 * Everything is single-threaded and runs inside broker calls: an internal
 * subscription callback (API request, publish into a stream, ack), the
 * ticker, or an interest notification. Time is broker_now_ns() (Unix ns,
 * the simulator's virtual clock there); randomness is broker_random().
 * Nothing here may iterate a hash table in an order that shows: streams
 * and consumers are kept in name order.
 *
 * Re-entrancy: a delivery, reply or advisory is an internal publish, and
 * an internal publish can land in a stream (a stream may capture
 * "$JS.EVENT.>" or a deliver subject), which stores it and tells that
 * stream's consumers. So js_consumer_on_stored() may be called while the
 * same consumer is inside its own delivery loop or timer: it must only
 * take note (the running loop picks the new message up), never recurse
 * into delivery of the same consumer.
 */
#ifndef NATSIM_BROKER_JS_JS_H
#define NATSIM_BROKER_JS_JS_H

#include <glib.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "broker/broker.h"
#include "broker/js/jetstream.h"
#include "broker/js/store.h"

typedef struct JsStream JsStream;
typedef struct JsConsumer JsConsumer;

typedef enum JsRetention { JS_RETENTION_LIMITS, JS_RETENTION_INTEREST, JS_RETENTION_WORKQUEUE } JsRetention;
typedef enum JsStorageType { JS_STORAGE_FILE, JS_STORAGE_MEMORY } JsStorageType;

#define JS_NS_PER_MS INT64_C(1000000)
#define JS_NS_PER_S INT64_C(1000000000)

/* ------------------------------------------------------------------ */
/* jetstream.c                                                          */
/* ------------------------------------------------------------------ */

Broker *js_broker(JsServer *js);
int64_t js_now(JsServer *js); /* broker_now_ns */
BrokerStorage *js_storage(JsServer *js); /* NULL: file streams live in memory */
/* The sync policy file stores are opened with (natsim-server: "always"
 * unless configured otherwise; see docs/jetstream.md). */
JsStoreSync js_sync_policy(JsServer *js, int64_t *interval_ns);

/* A NUID-like id (22 characters of [0-9A-Za-z]) from broker_random(), for
 * advisory ids; out gets a NUL. */
void js_nuid(JsServer *js, char out[23]);
/* An ephemeral consumer name: 8 characters of [0-9A-Za-z]. */
void js_random_name(JsServer *js, char out[9]);

/* Answers an API request: serialises response compactly (keys in
 * insertion order, as Go marshals structs), publishes it to reply (no-op
 * when reply is NULL or empty), counts it in api.total (and api.errors
 * when it has an "error" member), and sends the $JS.EVENT.ADVISORY.API
 * audit advisory. Steals response. */
void js_api_respond(JsServer *js, const BrokerMsgView *request, json_t *response);

/* {"type":"io.nats.jetstream.api.v1.<type_suffix>"} to start a response. */
json_t *js_api_response_new(const char *type_suffix);
/* A complete error response: {"type":..., "error":{"code","err_code",
 * "description"}}. detail replaces "{err}" (and the like) in the table's
 * text; NULL leaves the plain text. */
json_t *js_api_error_response(const char *type_suffix, uint32_t err_code, const char *detail);
/* Only the {"code","err_code","description"} object. */
json_t *js_error_json(uint32_t err_code, const char *detail);

/* Starts an advisory: {"type":type,"id":<nuid>,"timestamp":<now RFC 3339>}. */
json_t *js_advisory_new(JsServer *js, const char *type);
/* Publishes it (compact JSON) on subject in the user account. Steals body. */
void js_advisory_publish(JsServer *js, const char *subject, json_t *body);

JsStream *js_stream_find(JsServer *js, const char *name);
/* All streams in name order (borrowed; valid until a stream is added or
 * removed). */
GPtrArray *js_streams(JsServer *js);

/* Account limits (nats-server's defaults: unlimited = -1). */
int64_t js_max_ack_pending_limit(JsServer *js); /* -1 = none */

/* Request bodies: true when the body is empty or only white space. */
bool js_body_empty(const BrokerMsgView *msg);
/* Parses a JSON request body; NULL when it is not a JSON object. */
json_t *js_parse_body(const BrokerMsgView *msg);

/* ------------------------------------------------------------------ */
/* errors.c: nats-server's errors.json, the entries natsim uses          */
/* ------------------------------------------------------------------ */

typedef struct JsErrorDef {
	uint32_t err_code;
	int code;                /* HTTP-like */
	const char *description; /* may hold one "{err}"-style placeholder */
} JsErrorDef;

/* NULL for an unknown err_code (a programming error: ASSERT). */
const JsErrorDef *js_error_def(uint32_t err_code);

/* ------------------------------------------------------------------ */
/* stream.c                                                             */
/* ------------------------------------------------------------------ */

const char *js_stream_name(const JsStream *s);
JsRetention js_stream_retention(const JsStream *s);
JsStorageType js_stream_storage(const JsStream *s);
JsStore *js_stream_store(JsStream *s);
int64_t js_stream_created_ns(const JsStream *s);
/* The stream's config as StreamConfig JSON (new reference). */
json_t *js_stream_config_json(const JsStream *s);
/* True when filter (a consumer's filter subject, wildcards allowed) is
 * within or overlaps the stream's subjects, as nats-server requires. */
bool js_stream_filter_valid(const JsStream *s, const char *filter);
/* The stream's consumer_limits (2.10): defaults for new consumers; 0 when
 * unset. */
int64_t js_stream_consumer_limit_inactive_threshold(const JsStream *s);
int64_t js_stream_consumer_limit_max_ack_pending(const JsStream *s);
/* max_consumers: -1 = unlimited. */
int64_t js_stream_max_consumers(const JsStream *s);

/* The stream's consumers, in name order (borrowed; valid until one is
 * added or removed). */
GPtrArray *js_stream_consumers(JsStream *s);
JsConsumer *js_stream_consumer_find(JsStream *s, const char *name);
/* The stream owns its consumers from add until remove. remove does not
 * free the consumer; it re-checks interest retention (messages that only
 * the removed consumer still needed go). */
void js_stream_consumer_add(JsStream *s, JsConsumer *c);
void js_stream_consumer_remove(JsStream *s, JsConsumer *c);

/* A consumer finished with stream seq (an ack, a TERM, or under ack none
 * a delivery). Workqueue: the message goes. Interest: it goes once no
 * consumer needs it any more (js_consumer_needs_ack). Limits: nothing. */
void js_stream_consumer_acked(JsStream *s, JsConsumer *c, uint64_t seq);

/* Stream API handlers, called by the router with the request and the
 * stream name taken from the subject. */
void js_stream_api_create(JsServer *js, const BrokerMsgView *msg, const char *name);
void js_stream_api_update(JsServer *js, const BrokerMsgView *msg, const char *name);
void js_stream_api_info(JsServer *js, const BrokerMsgView *msg, const char *name);
void js_stream_api_delete(JsServer *js, const BrokerMsgView *msg, const char *name);
void js_stream_api_purge(JsServer *js, const BrokerMsgView *msg, const char *name);
void js_stream_api_names(JsServer *js, const BrokerMsgView *msg);
void js_stream_api_list(JsServer *js, const BrokerMsgView *msg);
void js_stream_api_msg_get(JsServer *js, const BrokerMsgView *msg, const char *name);
void js_stream_api_msg_delete(JsServer *js, const BrokerMsgView *msg, const char *name);
void js_stream_api_direct_get(JsServer *js, const BrokerMsgView *msg, const char *name, const char *subject);

/* Timers (max_age, the dedupe window sweep, the store's sync interval). */
int64_t js_stream_next_deadline(JsStream *s); /* INT64_MAX when none */
void js_stream_on_timer(JsStream *s, int64_t now_ns);

/* StreamInfo JSON ({config, created, state, ...}) for the API and /jsz. */
json_t *js_stream_info_json(JsStream *s, bool with_config);

/* ------------------------------------------------------------------ */
/* consumer.c                                                           */
/* ------------------------------------------------------------------ */

const char *js_consumer_name(const JsConsumer *c);
bool js_consumer_is_durable(const JsConsumer *c);
/* True when the consumer's filter(s) match this stream subject (no filter
 * matches everything). */
bool js_consumer_filter_matches(const JsConsumer *c, const char *subject);
/* Interest retention: true while this consumer still has to see or ack
 * stream seq (stored on subject): its filter matches, and the seq is
 * above its ack floor and not acked (under ack none: not yet
 * delivered). */
bool js_consumer_needs_ack(const JsConsumer *c, uint64_t seq, const char *subject);
/* The filter subjects, for overlap checks on workqueue streams (NULL-
 * terminated; an unfiltered consumer gives an empty list). */
const char *const *js_consumer_filters(const JsConsumer *c);

/* A message was stored (seq, subject): a push consumer delivers it when
 * active, a pull consumer serves a waiting request. Only takes note when
 * the consumer is already delivering (see the re-entrancy rule above). */
void js_consumer_on_stored(JsConsumer *c, uint64_t seq, const char *subject);
/* The stream removed messages below first_seq (purge, limits, max_age,
 * workqueue acks of others): move the start and the floor up, drop
 * pending entries below it. */
void js_consumer_on_stream_purged(JsConsumer *c, uint64_t first_seq);
/* The stream removed one message by itself (a message delete, a limit,
 * max_age; not a purge and not this consumer's own ack): a consumer whose
 * filter matches ends it if it was pending. Only takes note while the
 * consumer is busy. */
void js_consumer_on_stream_removed(JsConsumer *c, uint64_t seq, const char *subject);
/* A client subscription was added or removed (broker_set_interest_watch):
 * a push consumer re-checks whether its deliver subject has interest. It
 * must only take note (publish at the next timer; return a deadline of
 * "now" from js_consumer_next_deadline). */
void js_consumer_on_interest(JsConsumer *c, const char *subject, const char *queue);

int64_t js_consumer_next_deadline(JsConsumer *c); /* INT64_MAX when none */
/* May delete this consumer (and only it) through js_stream_consumer_remove
 * and js_consumer_free, for the inactive threshold; callers iterate over
 * a snapshot of the consumer list. */
void js_consumer_on_timer(JsConsumer *c, int64_t now_ns);

/* Writes the consumer's state to its store now if it changed since the
 * last save (saves are otherwise throttled); for an orderly shutdown. */
void js_consumer_flush(JsConsumer *c);

/* ConsumerInfo JSON for the API and /jsz. */
json_t *js_consumer_info_json(JsConsumer *c, bool with_config);

/* Frees the consumer and its internal subscriptions. delete_state also
 * removes its persisted state from the stream's store (consumer or
 * stream deleted), otherwise the state stays (shutdown, crash). Does not
 * take it out of the stream (js_stream_consumer_remove does). */
void js_consumer_free(JsConsumer *c, bool delete_state);

/* Brings a consumer back at start-up from the blob it saved with
 * store->consumer_save; NULL with *error (g_free) when the blob is bad. */
JsConsumer *js_consumer_restore(JsServer *js, JsStream *s, const char *name, const void *blob, size_t len,
    char **error);

/* Consumer API handlers. create: consumer is NULL for the legacy
 * ephemeral subject, filter NULL unless the subject carried one, legacy_
 * durable for $JS.API.CONSUMER.DURABLE.CREATE. msg_next answers nothing
 * when the stream or consumer is missing (nats-server). */
void js_consumer_api_create(JsServer *js, const BrokerMsgView *msg, const char *stream, const char *consumer,
    const char *filter, bool legacy_durable);
void js_consumer_api_info(JsServer *js, const BrokerMsgView *msg, const char *stream, const char *consumer);
void js_consumer_api_delete(JsServer *js, const BrokerMsgView *msg, const char *stream, const char *consumer);
void js_consumer_api_names(JsServer *js, const BrokerMsgView *msg, const char *stream);
void js_consumer_api_list(JsServer *js, const BrokerMsgView *msg, const char *stream);
void js_consumer_api_msg_next(JsServer *js, const BrokerMsgView *msg, const char *stream, const char *consumer);

/* ------------------------------------------------------------------ */
/* added by stream side: between jetstream.c and stream.c               */
/* ------------------------------------------------------------------ */

/* The stream registry (jetstream.c): stream.c adds a stream once it is
 * set up and removes it before freeing it. */
void js_server_stream_add(JsServer *js, JsStream *s);
void js_server_stream_remove(JsServer *js, JsStream *s);
/* The server limit for a storage type (max_memory / max_storage), and
 * what the streams of that type hold now. */
int64_t js_server_max_bytes(JsServer *js, JsStorageType type);
uint64_t js_server_used_bytes(JsServer *js, JsStorageType type);
/* The server's name (config server_name, else its id), as the stream
 * info's cluster.leader and the advisories' server show it. */
const char *js_server_name(JsServer *js);

/* Start-up: brings a stream back from its saved config JSON over an
 * opened store (takes the store, also on failure). NULL with *error
 * (g_free) when the config does not parse or does not validate. */
JsStream *js_stream_restore(JsServer *js, const char *name, const char *meta_json, JsStore *store, char **error);
/* Shutdown: frees the stream, its consumers (their state stays) and its
 * subscriptions, closes the store (what is on storage stays). */
void js_stream_free(JsStream *s);

#endif
