/*
 * js_fixture.h - a broker with JetStream driven in-process, for the
 * JetStream core tests: raw protocol bytes in, parsed MSG/HMSG frames out,
 * and a clock the test moves by hand (every deadline in between fires at
 * its own time, so timer tests see exact times).
 */
#ifndef NATSIM_TESTS_JS_FIXTURE_H
#define NATSIM_TESTS_JS_FIXTURE_H

#include <glib.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "broker/broker.h"

#define FX_MS INT64_C(1000000)
#define FX_S INT64_C(1000000000)
/* 2023-11-14T22:13:20Z: a fixed start, so time stamps are exact. */
#define FX_EPOCH_NS (INT64_C(1700000000) * FX_S)

typedef struct FxMsg {
	char *subject;
	char *sid;
	char *reply; /* NULL when none */
	GString *hdr; /* NULL for MSG */
	GString *data;
} FxMsg;

typedef struct FxClient FxClient;

typedef struct Fx {
	Broker *broker;
	int64_t now_ns;
	GPtrArray *clients;
	BrokerConfig config;
	GPtrArray *logs; /* char*, every log line of the broker */
} Fx;

/* A JetStream broker (config may be NULL: defaults, jetstream on). */
Fx *fx_new(const BrokerConfig *config);
void fx_free(Fx *fx);

/* A connected client (CONNECT with headers and no_responders, quiet), with
 * a subscription on "_R.>" for replies. */
FxClient *fx_client(Fx *fx);
void fx_send(Fx *fx, FxClient *c, const char *text);
void fx_send_len(Fx *fx, FxClient *c, const void *data, size_t len);
/* PUB / HPUB (hdr NULL: PUB); reply may be NULL. */
void fx_pub(Fx *fx, FxClient *c, const char *subject, const char *reply, const char *hdr, const char *data);

/* Frames received since the last take (FxMsg*, owned by the array). */
GPtrArray *fx_take(Fx *fx, FxClient *c);
/* Drops what was received so far. */
void fx_discard(Fx *fx, FxClient *c);

/* A request: PUB (or HPUB) with a fresh reply subject; the payload of the
 * first reply as a string (g_free), or NULL when none came. */
char *fx_request(Fx *fx, FxClient *c, const char *subject, const char *body);
char *fx_request_hdr(Fx *fx, FxClient *c, const char *subject, const char *hdr, const char *body);
/* The same, parsed as JSON (json_decref); NULL when no reply. */
json_t *fx_api(Fx *fx, FxClient *c, const char *subject, const char *body);
/* An API call that must fail: checks err_code and returns the error
 * object's description (g_free). */
char *fx_api_error(Fx *fx, FxClient *c, const char *subject, const char *body, int err_code, int code);

/* Moves the clock to t (absolute), firing every deadline on the way at
 * its own time. Answers server PINGs. */
void fx_advance_to(Fx *fx, int64_t t_ns);
void fx_advance(Fx *fx, int64_t d_ns);

/* A field of a stream's state (STREAM.INFO). */
int64_t fx_state_int(Fx *fx, FxClient *c, const char *stream, const char *key);

/* Compact JSON with keys in order (g_free / free). */
char *fx_dump(const json_t *j);

#endif
