/*
 * deliver.c - routing a published message: match, plain subscribers, one
 * member per queue group, the no-responders status, per-subscription
 * auto-unsubscribe, header stripping, echo.
 *
 * Mirrors nats-server's processInboundClientMsg, processMsgResults and
 * deliverMsg (client.go). Queue members are chosen as nats-server does -
 * a random start index, then a walk past members that cannot take the
 * message - with the broker's seeded PRNG instead of fastrand, so the
 * simulator replays the same choices.
 */
#include "broker/internal.h"

#include <string.h>

#include "proto/assert.h"
#include "proto/encode.h"
#include "proto/subject.h"

/* How long a producer pauses for a backlog of pending bytes. Over half of
 * max_pending, nats-server's stallDuration: 100 ms, growing by 100 ms for
 * every tenth of the upper half the backlog is into it, 1 s at the limit.
 * Below (natsim's earlier gate, which keeps memory small while a consumer
 * is merely slower than its producer) a short pause, so that a consumer
 * that reads nothing holds its producers back only a little more than
 * nats-server does until its backlog reaches the half. */
static int64_t
stall_duration_ns(int64_t pending, int64_t max)
{
	int64_t half = max / 2;
	if (pending <= half)
		return BROKER_STALL_SOFT_NS;
	if (pending >= max)
		return BROKER_STALL_MAX_NS;
	int64_t ttl = BROKER_STALL_MIN_NS;
	if (half >= 10)
		ttl += BROKER_STALL_MIN_NS * ((pending - half) / (half / 10));
	return ttl;
}

/* One delivery; false when this subscription did not take the message. */
static bool
deliver(Broker *b, BrokerConn *pub, BrokerSub *sub, const ProtoOp *op)
{
	BrokerConn *c = sub->conn;
	if (c == pub && !c->echo) {
		broker_probe(b, c, BROKER_PROBE_ECHO_SUPPRESSED);
		return false;
	}
	if (sub->closed || c->closing)
		return false;
	if (b->config.test_drop_one_in != 0 && !c->internal && prng_below(&b->prng, b->config.test_drop_one_in) == 0)
		return true; /* the planted bug: it looks delivered, and is not */
	sub->delivered++;
	if (c->internal) {
		/* The broker's own subscription (JetStream): a call, no bytes.
		 * In-broker services keep subjects as C strings, so a reply with
		 * a NUL byte in it (which a client may send) reads as no reply,
		 * and a subject with one does not reach them at all. */
		if (memchr(op->subject.ptr, 0, op->subject.len) != NULL)
			return false;
		bool reply_ok = op->reply.len > 0 && memchr(op->reply.ptr, 0, op->reply.len) == NULL;
		BrokerMsgView view = {
			.subject = (const char *)op->subject.ptr,
			.subject_len = op->subject.len,
			.reply = reply_ok ? (const char *)op->reply.ptr : NULL,
			.reply_len = reply_ok ? op->reply.len : 0,
			.headers = op->headers.len ? op->headers.ptr : NULL,
			.headers_len = op->headers.len,
			.payload = op->payload.ptr,
			.payload_len = op->payload.len,
			.publisher = pub->internal ? NULL : pub,
		};
		sub->icb(sub->ictx, &view);
		return true;
	}
	bool last = false;
	if (sub->max > 0) {
		if (sub->delivered == sub->max) {
			last = true;
		} else if (sub->delivered > sub->max) {
			conn_sub_remove(c, sub);
			return false;
		}
	}
	bool with_headers = op->headers.len > 0 && c->headers;
	if (op->headers.len > 0 && !c->headers)
		broker_probe(b, c, BROKER_PROBE_HEADERS_STRIPPED);
	size_t size = (with_headers ? op->headers.len : 0) + op->payload.len;
	c->out_msgs++;
	c->out_bytes += size;
	b->out_msgs++;
	b->out_bytes += size;
	/* A request to a client whose RTT is unknown makes the server measure
	 * it (deliverMsg -> sendRTTPingLocked). */
	if (op->reply.len > BROKER_MIN_REPLY_LEN && c->rtt_ns == 0 &&
	    (c->first_pong_sent || b->now_ns - c->start_ns > BROKER_RTT_PING_AFTER_NS))
		conn_send_ping(c);
	size_t before = proto_buf_pending(&c->out);
	proto_encode_msg(&c->out, op->subject.ptr, op->subject.len, sub->sid, sub->sid_len, op->reply.ptr,
	    op->reply.len, with_headers ? op->headers.ptr : NULL, with_headers ? op->headers.len : 0,
	    op->payload.ptr, op->payload.len);
	if (b->config.log_level >= BROKER_LOG_TRACE)
		conn_log(c, BROKER_LOG_TRACE, "->> [%s %.*s %s %zu]", with_headers ? "HMSG" : "MSG",
		    (int)op->subject.len, (const char *)op->subject.ptr, sub->sid, size);
	conn_output_added(c, before);
	/* A client publishing to a connection that is behind is asked to
	 * pause (nats-server's deliverMsg -> stalledWait); the driver stops
	 * reading it for that long or until a gate opens. */
	if (c->stall_gate && !pub->internal)
		pub->stall_ns = MAX(pub->stall_ns,
		    stall_duration_ns((int64_t)proto_buf_pending(&c->out), b->config.pending_bytes_max));
	if (last && !sub->closed) {
		broker_probe(b, c, BROKER_PROBE_AUTO_UNSUBSCRIBED);
		conn_sub_remove(c, sub);
	}
	return true;
}

static void
send_no_responders(Broker *b, BrokerConn *pub, const ProtoOp *op)
{
	/* Only to the publisher's own plain subscription on the reply. */
	SublistResult *r = sublist_match(b->sublist, (const char *)op->reply.ptr, op->reply.len);
	BrokerSub *mine = NULL;
	for (guint k = 0; k < r->psubs->len && mine == NULL; k++) {
		BrokerSub *s = r->psubs->pdata[k];
		if (s->conn == pub && !s->closed)
			mine = s;
	}
	if (mine != NULL) {
		static const char status[] = "NATS/1.0 503\r\n\r\n";
		broker_probe(b, pub, BROKER_PROBE_NO_RESPONDERS);
		size_t before = proto_buf_pending(&pub->out);
		proto_encode_msg(&pub->out, op->reply.ptr, op->reply.len, mine->sid, strlen(mine->sid), NULL, 0, status,
		    sizeof(status) - 1, NULL, 0);
		conn_output_added(pub, before);
	}
	sublist_result_unref(r);
}

uint32_t
broker_route(Broker *b, BrokerConn *pub, const ProtoOp *op)
{
	return broker_route_match(b, pub, op, (const char *)op->subject.ptr, op->subject.len);
}

uint32_t
broker_route_match(Broker *b, BrokerConn *pub, const ProtoOp *op, const char *match, size_t match_len)
{
	size_t size = op->headers.len + op->payload.len;
	pub->in_msgs++;
	pub->in_bytes += size;
	b->in_msgs++;
	b->in_bytes += size;
	if (pub->pedantic && !proto_subject_valid_literal((const char *)op->subject.ptr, op->subject.len)) {
		/* Pedantic: the error goes out, and the message still does. */
		broker_probe(b, pub, BROKER_PROBE_PEDANTIC_SUBJECT);
		conn_send_err(pub, "Invalid Publish Subject");
	}
	if (pub->verbose)
		conn_send_ok(pub);

	SublistResult *r = sublist_match(b->sublist, match, match_len);
	uint32_t delivered = 0;
	for (guint k = 0; k < r->psubs->len; k++)
		delivered += deliver(b, pub, r->psubs->pdata[k], op);
	for (guint g = 0; g < r->qgroups->len; g++) {
		GPtrArray *members = g_array_index(r->qgroups, SublistQueueGroup, g).members;
		uint32_t n = members->len;
		uint32_t start = n > 1 ? (uint32_t)prng_below(&b->prng, n) : 0;
		for (uint32_t i = 0; i < n; i++) {
			if (deliver(b, pub, members->pdata[(start + i) % n], op)) {
				delivered++;
				break;
			}
			broker_probe(b, pub, BROKER_PROBE_QUEUE_MEMBER_SKIPPED);
		}
	}
	sublist_result_unref(r);
	if (delivered == 0 && op->reply.len > 0 && pub->no_responders && !pub->closing)
		send_no_responders(b, pub, op);
	return delivered;
}
