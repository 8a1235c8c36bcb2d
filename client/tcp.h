/*
 * tcp.h - the real-world client: the client core over a TCP socket, run by
 * one I/O thread, with a thread-safe API and blocking conveniences.
 *
 * Who calls it: applications, natsim-cli, the examples, the real-server
 * tests and the benchmark. Link natsim_client_tcp (client_tcp_dep).
 *
 * Threads: every ClientTcp owns one I/O thread (poll on the socket and an
 * eventfd). All calls are thread-safe: they take the connection's lock,
 * call the core, and wake the I/O thread when there is output. Callbacks
 * (messages, events, async PubAcks) run on the I/O thread with the lock
 * held; the lock is recursive, so a callback may call any non-blocking
 * client_tcp_* function (publish, subscribe, ack...). A blocking call made
 * from a callback returns CLIENT_ERR_WOULD_DEADLOCK. A slow callback holds
 * up reading, so the server sees the slow consumer, as with any
 * single-threaded dispatch.
 *
 * Blocking calls wait for the core's completion, which its own timers
 * bound (each call passes its timeout to the core). Message copies handed
 * out (ClientMsg *) are owned by the caller: client_msg_free.
 *
 * Publishing applies backpressure: while more than
 * CLIENT_TCP_SEND_HIGH_WATER_BYTES wait to be written on a live
 * connection, client_tcp_publish waits for the I/O thread to drain them.
 */
#ifndef NATSIM_CLIENT_TCP_H
#define NATSIM_CLIENT_TCP_H

#include <glib.h>
#include <jansson.h>

#include "client/client.h"
#include "client/js.h"

#define CLIENT_TCP_SEND_HIGH_WATER_BYTES (4u << 20)

typedef struct ClientTcp ClientTcp;

typedef void (*ClientTcpEventFn)(void *ctx, ClientTcp *tcp, const ClientEvent *event);

typedef struct ClientTcpOptions {
	const char *url;      /* "nats://[user:pass@|token@]host[:port]"; default nats://127.0.0.1:4222 */
	ClientOptions core;   /* start from client_options_default(); URL credentials override */
	ClientTcpEventFn event; /* may be NULL; runs on the I/O thread */
	void *event_ctx;
} ClientTcpOptions;

ClientTcpOptions client_tcp_options_default(void);

/* Connects and waits for the handshake (or the first failure, or
 * timeout_ns). On success *out is owned by the caller. */
ClientStatus client_tcp_connect(ClientTcp **out, const ClientTcpOptions *options, int64_t timeout_ns);
/* Closes (pending calls fail with CLIENT_ERR_CLOSED), stops the thread,
 * frees. NULL-safe. Not from a callback. */
void client_tcp_destroy(ClientTcp *tcp);
/* Drains (see client_conn_drain) and waits until closed. */
ClientStatus client_tcp_drain(ClientTcp *tcp, int64_t timeout_ns);

ClientState client_tcp_state(ClientTcp *tcp);
ClientStats client_tcp_stats(ClientTcp *tcp);
/* Monotonic nanoseconds: the clock the core is driven with. */
int64_t client_tcp_now_ns(void);

/* Direct access to the core under the lock, for anything not wrapped
 * (pass client_tcp_now_ns() as now_ns). Pair every lock with an unlock. */
ClientConn *client_tcp_lock(ClientTcp *tcp);
void client_tcp_unlock(ClientTcp *tcp);

ClientStatus client_tcp_publish(ClientTcp *tcp, const char *subject, const char *reply, const void *headers,
    size_t headers_len, const void *data, size_t data_len);
/* Round trip to the server: everything published before has been processed. */
ClientStatus client_tcp_flush(ClientTcp *tcp, int64_t timeout_ns);
/* cb non-NULL: called on the I/O thread; cb NULL: a synchronous
 * subscription read with client_tcp_sub_next_msg. */
ClientStatus client_tcp_subscribe(ClientTcp *tcp, const char *subject, const char *queue, ClientMsgFn cb, void *ctx,
    uint64_t *sid_out);
ClientStatus client_tcp_unsubscribe(ClientTcp *tcp, uint64_t sid, uint64_t max_msgs);
/* CLIENT_ERR_TIMEOUT when nothing came; CLIENT_ERR_NOT_FOUND once the
 * subscription is gone (e.g. its max reached and read out). */
ClientStatus client_tcp_sub_next_msg(ClientTcp *tcp, uint64_t sid, int64_t timeout_ns, ClientMsg **out);
ClientStatus client_tcp_request(ClientTcp *tcp, const char *subject, const void *headers, size_t headers_len,
    const void *data, size_t data_len, int64_t timeout_ns, ClientMsg **reply_out);

/* ---- JetStream, blocking ---- */
/* Runs any asynchronous core JetStream call and waits for it: start calls
 * the core function with the given callback (under the lock). *response
 * (may be NULL) gets a new reference to the answer. */
typedef ClientStatus (*ClientTcpJsStartFn)(ClientConn *conn, void *arg, ClientJsFn cb, void *cb_ctx, int64_t timeout_ns,
    int64_t now_ns);
ClientStatus client_tcp_js_run(ClientTcp *tcp, ClientTcpJsStartFn start, void *arg, int64_t timeout_ns,
    json_t **response, ClientJsError *err);
ClientStatus client_tcp_js_api(ClientTcp *tcp, const char *api, const json_t *body, int64_t timeout_ns,
    json_t **response, ClientJsError *err);
ClientStatus client_tcp_stream_add(ClientTcp *tcp, const ClientStreamConfig *config, int64_t timeout_ns,
    json_t **response, ClientJsError *err);
ClientStatus client_tcp_consumer_add(ClientTcp *tcp, const char *stream, const ClientConsumerConfig *config,
    int64_t timeout_ns, json_t **response, ClientJsError *err);

ClientStatus client_tcp_js_publish(ClientTcp *tcp, const char *subject, const void *data, size_t data_len,
    const ClientJsPubOptions *options, int64_t timeout_ns, ClientPubAck *ack, ClientJsError *err);
/* Asynchronous, with the core's bounded window: waits (up to timeout_ns)
 * for room when js_pub_pending_max acks are outstanding. cb runs on the
 * I/O thread (may be NULL). */
ClientStatus client_tcp_js_publish_async(ClientTcp *tcp, const char *subject, const void *data, size_t data_len,
    const ClientJsPubOptions *options, int64_t timeout_ns, ClientPubAckFn cb, void *ctx);
/* Waits until no async publish is outstanding. */
ClientStatus client_tcp_js_publish_async_complete(ClientTcp *tcp, int64_t timeout_ns);

/* Pull: *msgs (g_ptr_array, owned; elements ClientMsg*, freed with the
 * array) gets what arrived. Returns the end status (see ClientFetchDoneFn):
 * CLIENT_OK for a full batch. */
ClientStatus client_tcp_js_fetch(ClientTcp *tcp, const char *stream, const char *consumer,
    const ClientFetchOptions *options, GPtrArray **msgs, int *status_code);
ClientStatus client_tcp_js_push_subscribe(ClientTcp *tcp, const char *deliver_subject, const char *queue,
    int64_t idle_heartbeat_ns, ClientMsgFn cb, void *ctx, uint64_t *sid_out);
ClientStatus client_tcp_js_ack(ClientTcp *tcp, const ClientMsg *msg, ClientAckKind kind, int64_t delay_ns);
/* Acks and waits for the server's confirmation. */
ClientStatus client_tcp_js_ack_sync(ClientTcp *tcp, const ClientMsg *msg, ClientAckKind kind, int64_t delay_ns,
    int64_t timeout_ns);

#endif
