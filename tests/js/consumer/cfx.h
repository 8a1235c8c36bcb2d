/*
 * cfx.h - the consumer tests' fixture: a broker with JetStream driven
 * in-process through raw protocol bytes, a virtual clock the test moves
 * (every deadline in between fires at its own time, and anything due
 * "now" runs after each input, as the real driver does), and helpers for
 * streams, consumers, pulls and acks.
 */
#ifndef NATSIM_TESTS_JS_CONSUMER_CFX_H
#define NATSIM_TESTS_JS_CONSUMER_CFX_H

#include <glib.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "broker/broker.h"

#define MS INT64_C(1000000)
#define SEC INT64_C(1000000000)
/* 2023-11-14T22:13:20Z: a fixed start, so time stamps are exact. */
#define CFX_EPOCH_NS (INT64_C(1700000000) * SEC)

typedef struct CfxMsg {
	char *subject;
	char *sid;
	char *reply; /* NULL when none */
	GString *hdr; /* NULL for MSG */
	GString *data;
	int64_t at_ns; /* when it was drained from the broker */
} CfxMsg;

typedef struct CfxClient CfxClient;

typedef struct Cfx {
	Broker *broker;
	int64_t now_ns;
	GPtrArray *clients;
	BrokerConfig config;
	GPtrArray *logs;
	uint64_t seed;
} Cfx;

Cfx *cfx_new(const BrokerConfig *config);
void cfx_free(Cfx *fx);
/* Destroys the broker (as a crash or shutdown does) and starts a new one
 * on the same configuration (and storage) at the current time. Clients
 * are dropped. */
void cfx_restart(Cfx *fx);

/* A connected client (headers, no_responders, quiet), subscribed to
 * "_R.>" (sid 999) for replies. */
CfxClient *cfx_client(Cfx *fx);
void cfx_send(Cfx *fx, CfxClient *c, const char *text);
void cfx_pub(Cfx *fx, CfxClient *c, const char *subject, const char *reply, const char *hdr, const char *data);
void cfx_sub(Cfx *fx, CfxClient *c, const char *subject, const char *queue, int sid);
void cfx_unsub(Cfx *fx, CfxClient *c, int sid);
/* Closes the client's connection. */
void cfx_close(Cfx *fx, CfxClient *c);

/* Frames received since the last take (CfxMsg*, owned by the array). */
GPtrArray *cfx_take(Cfx *fx, CfxClient *c);
/* Only those whose subject starts with prefix (the rest stay queued). */
GPtrArray *cfx_take_prefix(Cfx *fx, CfxClient *c, const char *prefix);
void cfx_discard(Cfx *fx, CfxClient *c);

/* API request: the reply parsed as JSON (json_decref), NULL when none. */
json_t *cfx_req(Cfx *fx, CfxClient *c, const char *subject, const char *body);
/* API call that must fail with err_code/code: the description (g_free). */
char *cfx_req_error(Cfx *fx, CfxClient *c, const char *subject, const char *body, int err_code, int code);

void cfx_advance_to(Cfx *fx, int64_t t_ns);
void cfx_advance(Cfx *fx, int64_t d_ns);
/* Elapsed since the epoch. */
int64_t cfx_t(const Cfx *fx);

/* Creates a stream from its config JSON; asserts success. */
void cfx_stream(Cfx *fx, CfxClient *c, const char *config_json);
/* Creates a consumer: $JS.API.CONSUMER.CREATE.<stream>[.<name>] with
 * {"stream_name":..,"config":config_json}; asserts success, returns the
 * response (json_decref). */
json_t *cfx_consumer(Cfx *fx, CfxClient *c, const char *stream, const char *name, const char *config_json);
/* The consumer's info (json_decref); NULL when none came. */
json_t *cfx_info(Cfx *fx, CfxClient *c, const char *stream, const char *name);
int64_t cfx_info_int(Cfx *fx, CfxClient *c, const char *stream, const char *name, const char *path);
/* A pull request: MSG.NEXT with reply inbox and body. */
void cfx_pull(Cfx *fx, CfxClient *c, const char *stream, const char *name, const char *inbox, const char *body);
/* Publishes n messages "<prefix><k>" (k from 1) on subject, no reply. */
void cfx_pub_n(Cfx *fx, CfxClient *c, const char *subject, int n);

/* Ack reply tokens: $JS.ACK.<s>.<c>.dc.sseq.dseq.ts.pending. */
typedef struct CfxAck {
	uint64_t dc, sseq, dseq;
	int64_t ts;
	uint64_t pending;
} CfxAck;
CfxAck cfx_ack_parse(const char *reply);
/* The status code of a status message (HMSG with "NATS/1.0 nnn"), 0 if
 * none. */
int cfx_status(const CfxMsg *m);
/* A header value of m (g_free), NULL when absent. */
char *cfx_header(const CfxMsg *m, const char *key);

/* How many log lines contain needle. */
int cfx_log_count(Cfx *fx, const char *needle);

#endif
