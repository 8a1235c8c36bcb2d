/*
 * test_js_sim.c - JetStream delivery in virtual time: the scenarios of
 * nats-server's own JetStream tests (NATS-SPEC §5, "JetStream delivery")
 * and the timings NATS-SPEC §3 gives, driven over the simulated network
 * by scripted raw-protocol clients against a broker node with JetStream
 * on its virtual disk.
 *
 * Method: a world with 1 ms one-way latency and no jitter, so every time
 * is exact; a client's received bytes are cut into frames, each stamped
 * with the virtual time its last byte arrived. Times in assertions are
 * client-side arrival times (server time + 1 ms).
 */
#include <glib.h>
#include <jansson.h>
#include <string.h>

#include "broker/broker.h"
#include "sim/broker_node.h"
#include "sim/net.h"
#include "sim/raw_client.h"
#include "sim/world.h"

#define MS SIM_NS_PER_MS
#define S SIM_NS_PER_S

/* ---- the fixture ---- */

typedef struct Frame {
	char *op;      /* "MSG", "HMSG", or the first word of another line */
	char *subject;
	char *sid;
	char *reply;   /* NULL when none */
	char *hdr;     /* NULL for MSG */
	char *data;
	int64_t at_ns; /* when its last byte arrived */
} Frame;

typedef struct Client {
	SimRawClient *rc;
	size_t parsed; /* bytes of the received text already cut into frames */
	GPtrArray *frames;
	int next_reply;
} Client;

typedef struct Fx {
	SimWorld *world;
	SimBrokerNode *bn;
	GPtrArray *clients;
} Fx;

static void
frame_free(gpointer p)
{
	Frame *f = p;
	g_free(f->op);
	g_free(f->subject);
	g_free(f->sid);
	g_free(f->reply);
	g_free(f->hdr);
	g_free(f->data);
	g_free(f);
}

static void
client_free(gpointer p)
{
	Client *c = p;
	sim_raw_client_destroy(c->rc);
	g_ptr_array_free(c->frames, TRUE);
	g_free(c);
}

static Fx *
fx_new(uint64_t seed)
{
	Fx *fx = g_new0(Fx, 1);
	SimWorldConfig wc = { .seed = seed, .link = sim_link_config_default() };
	wc.link.latency_ns = MS;
	fx->world = sim_world_create(&wc);
	BrokerConfig config = { .jetstream = true };
	fx->bn = sim_broker_node_create(fx->world, "b1", &config, 4222);
	fx->clients = g_ptr_array_new_with_free_func(client_free);
	return fx;
}

static void
fx_free(Fx *fx)
{
	sim_broker_node_destroy(fx->bn);
	g_ptr_array_free(fx->clients, TRUE);
	sim_world_destroy(fx->world);
	g_free(fx);
}

static int64_t
fx_now(Fx *fx)
{
	return sim_world_now_ns(fx->world);
}

static void
fx_run_to(Fx *fx, int64_t t_ns)
{
	if (t_ns > fx_now(fx))
		sim_world_run(fx->world, t_ns);
}

static void
fx_run(Fx *fx, int64_t d_ns)
{
	fx_run_to(fx, fx_now(fx) + d_ns);
}

/* A client connected (quiet, headers, no responders) with a
 * subscription on "_R.>" (sid 1) for replies. */
static Client *
fx_client(Fx *fx, const char *name)
{
	Client *c = g_new0(Client, 1);
	c->rc = sim_raw_client_create(fx->world, name, sim_broker_node_node(fx->bn), 4222);
	c->frames = g_ptr_array_new_with_free_func(frame_free);
	g_ptr_array_add(fx->clients, c);
	sim_raw_client_send(c->rc, "CONNECT {\"verbose\":false,\"pedantic\":false,\"headers\":true,"
				   "\"no_responders\":true,\"protocol\":1}\r\nSUB _R.> 1\r\n");
	fx_run(fx, 5 * MS);
	return c;
}

static void
send_text(Client *c, const char *text)
{
	sim_raw_client_send(c->rc, text);
}

/* PUB or HPUB (hdr NULL: PUB); reply may be NULL. */
static void
pub(Client *c, const char *subject, const char *reply, const char *hdr, const char *data)
{
	char *line;
	size_t dl = strlen(data);
	if (hdr == NULL)
		line = g_strdup_printf("PUB %s %s%s%zu\r\n%s\r\n", subject, reply ? reply : "", reply ? " " : "", dl, data);
	else
		line = g_strdup_printf("HPUB %s %s%s%zu %zu\r\n%s%s\r\n", subject, reply ? reply : "", reply ? " " : "",
		    strlen(hdr), strlen(hdr) + dl, hdr, data);
	send_text(c, line);
	g_free(line);
}

/* Cuts what arrived since the last call into frames. */
static void
poll_frames(Client *c)
{
	const char *text = sim_raw_client_text(c->rc);
	size_t len = strlen(text);
	while (c->parsed < len) {
		const char *p = text + c->parsed;
		const char *eol = strstr(p, "\r\n");
		if (eol == NULL)
			return;
		char *line = g_strndup(p, (gsize)(eol - p));
		char **args = g_strsplit_set(line, " \t", -1);
		guint n = g_strv_length(args);
		size_t used = (size_t)(eol - p) + 2;
		Frame *f = g_new0(Frame, 1);
		f->op = g_strdup(n > 0 ? args[0] : "");
		if (strcmp(f->op, "MSG") == 0 || strcmp(f->op, "HMSG") == 0) {
			bool h = f->op[0] == 'H';
			guint need = h ? 5 : 4;
			size_t hlen = 0, total = 0;
			g_assert_cmpuint(n, >=, need);
			f->subject = g_strdup(args[1]);
			f->sid = g_strdup(args[2]);
			if (n == need + 1)
				f->reply = g_strdup(args[3]);
			total = (size_t)g_ascii_strtoull(args[n - 1], NULL, 10);
			if (h)
				hlen = (size_t)g_ascii_strtoull(args[n - 2], NULL, 10);
			if (len - c->parsed < used + total + 2) {
				frame_free(f);
				g_strfreev(args);
				g_free(line);
				return; /* not all here yet */
			}
			if (h)
				f->hdr = g_strndup(p + used, hlen);
			f->data = g_strndup(p + used + hlen, total - hlen);
			used += total + 2;
		}
		/* the arrival time of the frame's last byte */
		char *prefix = g_strndup(text, c->parsed + used);
		f->at_ns = sim_raw_client_time_of(c->rc, prefix);
		g_free(prefix);
		c->parsed += used;
		if (strcmp(f->op, "PING") == 0)
			send_text(c, "PONG\r\n");
		g_ptr_array_add(c->frames, f);
		g_strfreev(args);
		g_free(line);
	}
}

/* The frames on subject (all when NULL) not yet taken; the caller frees
 * the array (its frames stay owned by the client until then). */
static GPtrArray *
frames_on(Client *c, const char *subject)
{
	poll_frames(c);
	GPtrArray *out = g_ptr_array_new();
	for (guint k = 0; k < c->frames->len; k++) {
		Frame *f = c->frames->pdata[k];
		if (f->subject != NULL && (subject == NULL || strcmp(f->subject, subject) == 0))
			g_ptr_array_add(out, f);
	}
	return out;
}

/* Frames delivered on subscription sid (pull deliveries carry the
 * stream subject, status messages the inbox: the sid tells them apart). */
static GPtrArray *
frames_sid(Client *c, const char *sid)
{
	poll_frames(c);
	GPtrArray *out = g_ptr_array_new();
	for (guint k = 0; k < c->frames->len; k++) {
		Frame *f = c->frames->pdata[k];
		if (f->sid != NULL && strcmp(f->sid, sid) == 0)
			g_ptr_array_add(out, f);
	}
	return out;
}

/* Frames whose reply (ack subject) starts with prefix: JetStream
 * deliveries of one consumer. */
static GPtrArray *
deliveries(Client *c, const char *stream, const char *consumer)
{
	poll_frames(c);
	char *prefix = g_strdup_printf("$JS.ACK.%s.%s.", stream, consumer);
	GPtrArray *out = g_ptr_array_new();
	for (guint k = 0; k < c->frames->len; k++) {
		Frame *f = c->frames->pdata[k];
		if (f->reply != NULL && g_str_has_prefix(f->reply, prefix))
			g_ptr_array_add(out, f);
	}
	g_free(prefix);
	return out;
}

/* Drops every frame received so far. */
static void
forget(Client *c)
{
	poll_frames(c);
	g_ptr_array_set_size(c->frames, 0);
}

/* Token k (0-based) of an ack subject, as a number. */
static uint64_t
ack_token(const Frame *f, int k)
{
	char **t = g_strsplit(f->reply, ".", -1);
	uint64_t v = g_ascii_strtoull(t[k], NULL, 10);
	g_strfreev(t);
	return v;
}

/* One subscription per pull inbox, so the sid tells the requests apart. */
#define INBOX_SUBS                                                                                      \
	"SUB in.1 21\r\nSUB in.2 22\r\nSUB in.3 23\r\nSUB in.4 24\r\nSUB in.ackack 25\r\nSUB in.next 26\r\n"

#define ACK_DC 4
#define ACK_SSEQ 5
#define ACK_DSEQ 6
#define ACK_PENDING 8

/* An API request; waits for the answer (up to 1 s) and returns it parsed
 * (json_decref), or NULL when none came. */
static json_t *
api(Fx *fx, Client *c, const char *subject, const char *body)
{
	char reply[32];
	g_snprintf(reply, sizeof(reply), "_R.%d", ++c->next_reply);
	pub(c, subject, reply, NULL, body ? body : "");
	for (int k = 0; k < 1000; k++) {
		fx_run(fx, MS);
		GPtrArray *got = frames_on(c, reply);
		if (got->len > 0) {
			Frame *f = got->pdata[0];
			json_t *j = json_loads(f->data, 0, NULL);
			g_assert_nonnull(j);
			g_ptr_array_free(got, TRUE);
			return j;
		}
		g_ptr_array_free(got, TRUE);
	}
	return NULL;
}

/* An API call that must succeed. */
static json_t *
api_ok(Fx *fx, Client *c, const char *subject, const char *body)
{
	json_t *j = api(fx, c, subject, body);
	g_assert_nonnull(j);
	if (json_object_get(j, "error") != NULL) {
		char *text = json_dumps(j, 0);
		g_test_message("unexpected error for %s: %s", subject, text);
		free(text);
		g_assert_null(json_object_get(j, "error"));
	}
	return j;
}

static void
api_do(Fx *fx, Client *c, const char *subject, const char *body)
{
	json_decref(api_ok(fx, c, subject, body));
}

/* An API call that must fail with err_code; returns the description. */
static char *
api_err(Fx *fx, Client *c, const char *subject, const char *body, int err_code)
{
	json_t *j = api(fx, c, subject, body);
	g_assert_nonnull(j);
	json_t *e = json_object_get(j, "error");
	if (e == NULL) {
		char *text = json_dumps(j, 0);
		g_test_message("%s %s: expected error %d, got %s", subject, body, err_code, text);
		free(text);
	}
	g_assert_nonnull(e);
	g_assert_cmpint(json_integer_value(json_object_get(e, "err_code")), ==, err_code);
	char *d = g_strdup(json_string_value(json_object_get(e, "description")));
	json_decref(j);
	return d;
}

static int64_t
info_int(json_t *j, const char *a, const char *b)
{
	json_t *v = json_object_get(j, a);
	if (b != NULL)
		v = json_object_get(v, b);
	g_assert_nonnull(v);
	return json_integer_value(v);
}

static json_t *
consumer_info(Fx *fx, Client *c, const char *stream, const char *consumer)
{
	char *subject = g_strdup_printf("$JS.API.CONSUMER.INFO.%s.%s", stream, consumer);
	json_t *j = api_ok(fx, c, subject, "");
	g_free(subject);
	return j;
}

static json_t *
stream_state(Fx *fx, Client *c, const char *stream)
{
	char *subject = g_strdup_printf("$JS.API.STREAM.INFO.%s", stream);
	json_t *j = api_ok(fx, c, subject, "");
	g_free(subject);
	json_t *st = json_incref(json_object_get(j, "state"));
	json_decref(j);
	return st;
}

static void
add_stream(Fx *fx, Client *c, const char *json_config)
{
	json_t *cfg = json_loads(json_config, 0, NULL);
	g_assert_nonnull(cfg);
	char *subject = g_strdup_printf("$JS.API.STREAM.CREATE.%s", json_string_value(json_object_get(cfg, "name")));
	api_do(fx, c, subject, json_config);
	g_free(subject);
	json_decref(cfg);
}

/* CONSUMER.DURABLE.CREATE with config (a JSON object text). */
static void
add_consumer(Fx *fx, Client *c, const char *stream, const char *durable, const char *config)
{
	char *subject = g_strdup_printf("$JS.API.CONSUMER.DURABLE.CREATE.%s.%s", stream, durable);
	char *body = g_strdup_printf("{\"stream_name\":\"%s\",\"config\":%s}", stream, config);
	api_do(fx, c, subject, body);
	g_free(body);
	g_free(subject);
}

/* A pull request on reply inbox (body: "" for one message). */
static void
pull(Client *c, const char *stream, const char *consumer, const char *inbox, const char *body)
{
	char *subject = g_strdup_printf("$JS.API.CONSUMER.MSG.NEXT.%s.%s", stream, consumer);
	pub(c, subject, inbox, NULL, body);
	g_free(subject);
}

static void
ack(Client *c, const Frame *f, const char *payload)
{
	pub(c, f->reply, NULL, NULL, payload);
}

/* ---- the tests ---- */

/* The whole stack answers: a stream, a publish with its PubAck bytes, a
 * pull consumer, one message with its ack subject, the ack. */
static void
test_smoke(void)
{
	Fx *fx = fx_new(1);
	Client *c = fx_client(fx, "c1");
	add_stream(fx, c, "{\"name\":\"S\",\"subjects\":[\"s.>\"],\"storage\":\"memory\"}");
	pub(c, "s.a", "_R.p1", NULL, "hello");
	fx_run(fx, 5 * MS);
	GPtrArray *acks = frames_on(c, "_R.p1");
	g_assert_cmpuint(acks->len, ==, 1);
	g_assert_cmpstr(((Frame *)acks->pdata[0])->data, ==, "{\"stream\":\"S\", \"seq\":1}");
	g_ptr_array_free(acks, TRUE);
	add_consumer(fx, c, "S", "D", "{\"durable_name\":\"D\",\"ack_policy\":\"explicit\"}");
	send_text(c, "SUB in 2\r\n");
	pull(c, "S", "D", "in", "");
	fx_run(fx, 5 * MS);
	GPtrArray *got = deliveries(c, "S", "D");
	g_assert_cmpuint(got->len, ==, 1);
	Frame *f = got->pdata[0];
	g_assert_cmpstr(f->subject, ==, "s.a");
	g_assert_cmpstr(f->data, ==, "hello");
	g_assert_cmpuint(ack_token(f, ACK_DC), ==, 1);
	g_assert_cmpuint(ack_token(f, ACK_SSEQ), ==, 1);
	g_assert_cmpuint(ack_token(f, ACK_DSEQ), ==, 1);
	g_assert_cmpuint(ack_token(f, ACK_PENDING), ==, 0);
	ack(c, f, "");
	g_ptr_array_free(got, TRUE);
	fx_run(fx, 5 * MS);
	json_t *ci = consumer_info(fx, c, "S", "D");
	g_assert_cmpint(info_int(ci, "num_ack_pending", NULL), ==, 0);
	g_assert_cmpint(info_int(ci, "ack_floor", "stream_seq"), ==, 1);
	json_decref(ci);
	fx_free(fx);
}


/* Frames on subject, as a fresh array; asserts how many. */
static GPtrArray *
expect_frames(Client *c, const char *subject, guint n)
{
	GPtrArray *got = frames_on(c, subject);
	if (got->len != n)
		g_test_message("%s: %u frames, expected %u", subject, got->len, n);
	g_assert_cmpuint(got->len, ==, n);
	return got;
}

/* Frames on subscription sid; asserts how many. */
static GPtrArray *
expect_sid(Client *c, const char *sid, guint n)
{
	GPtrArray *got = frames_sid(c, sid);
	if (got->len != n)
		g_test_message("sid %s: %u frames, expected %u", sid, got->len, n);
	g_assert_cmpuint(got->len, ==, n);
	return got;
}

static Frame *
nth(GPtrArray *a, guint k)
{
	return a->pdata[k];
}

/* The status line of a header block ("NATS/1.0 408 Request Timeout"). */
static char *
status_line(const Frame *f)
{
	g_assert_nonnull(f->hdr);
	const char *eol = strstr(f->hdr, "\r\n");
	return g_strndup(f->hdr, (gsize)(eol - f->hdr));
}

static void
assert_status(const Frame *f, const char *line)
{
	char *got = status_line(f);
	g_assert_cmpstr(got, ==, line);
	g_free(got);
}

static bool
has_header(const Frame *f, const char *line)
{
	return f->hdr != NULL && strstr(f->hdr, line) != NULL;
}

/* TestJetStreamConsumerMaxDeliveries, in exact time: push, ack_wait 10 ms,
 * max_deliver 5. The ack_wait scan runs at ack_wait + 1 ms, so copies go
 * out every 11 ms; the 6th attempt (55 ms after the first) sends the
 * MAX_DELIVERIES advisory (deliveries 5) instead, and nothing follows. */
static void
test_max_deliveries_push(void)
{
	Fx *fx = fx_new(2);
	Client *c = fx_client(fx, "c1");
	add_stream(fx, c, "{\"name\":\"M\",\"subjects\":[\"m\"],\"storage\":\"memory\"}");
	pub(c, "m", NULL, NULL, "x");
	send_text(c, "SUB dl 2\r\nSUB $JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.> 3\r\n");
	fx_run(fx, 5 * MS);
	int64_t t0 = fx_now(fx); /* the create request leaves now */
	add_consumer(fx, c, "M", "D",
	    "{\"durable_name\":\"D\",\"deliver_subject\":\"dl\",\"ack_policy\":\"explicit\",\"ack_wait\":10000000,"
	    "\"max_deliver\":5}");
	fx_run(fx, 200 * MS);
	GPtrArray *got = deliveries(c, "M", "D");
	g_assert_cmpuint(got->len, ==, 5);
	for (guint k = 0; k < 5; k++) {
		Frame *f = nth(got, k);
		g_assert_cmpint(f->at_ns, ==, t0 + 2 * MS + (int64_t)k * 11 * MS);
		g_assert_cmpuint(ack_token(f, ACK_DC), ==, k + 1);
		g_assert_cmpuint(ack_token(f, ACK_SSEQ), ==, 1);
		g_assert_cmpuint(ack_token(f, ACK_DSEQ), ==, k + 1);
	}
	g_ptr_array_free(got, TRUE);
	GPtrArray *adv = expect_frames(c, "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.M.D", 1);
	g_assert_cmpint(nth(adv, 0)->at_ns, ==, t0 + 2 * MS + 55 * MS);
	json_t *a = json_loads(nth(adv, 0)->data, 0, NULL);
	g_assert_cmpstr(json_string_value(json_object_get(a, "type")), ==, "io.nats.jetstream.advisory.v1.max_deliver");
	g_assert_cmpint(json_integer_value(json_object_get(a, "stream_seq")), ==, 1);
	g_assert_cmpint(json_integer_value(json_object_get(a, "deliveries")), ==, 5);
	json_decref(a);
	g_ptr_array_free(adv, TRUE);
	/* it left pending but stays counted as redelivered (NATS-SPEC §3.6) */
	json_t *ci = consumer_info(fx, c, "M", "D");
	g_assert_cmpint(info_int(ci, "num_ack_pending", NULL), ==, 0);
	g_assert_cmpint(info_int(ci, "num_redelivered", NULL), ==, 1);
	json_decref(ci);
	fx_free(fx);
}

/* NATS-SPEC §3.5: push, backoff [1 s, 2 s], max_deliver 4 -> deliveries
 * at 0, 1, 3, 5 s (the last backoff value reused) and the advisory at 7 s.
 * Exactly: the first scan runs at backoff[0] + 1 ms; after that the scan
 * re-arms for the next backoff value itself, which lands on each deadline,
 * so every later step is exactly 2 s (and all are 1 ms past the ideal). */
static void
test_backoff_schedule(void)
{
	Fx *fx = fx_new(3);
	Client *c = fx_client(fx, "c1");
	add_stream(fx, c, "{\"name\":\"B\",\"subjects\":[\"b\"],\"storage\":\"memory\"}");
	pub(c, "b", NULL, NULL, "x");
	send_text(c, "SUB dl 2\r\nSUB $JS.EVENT.ADVISORY.> 3\r\n");
	fx_run(fx, 5 * MS);
	int64_t t0 = fx_now(fx) + 2 * MS; /* first delivery at the client */
	add_consumer(fx, c, "B", "D",
	    "{\"durable_name\":\"D\",\"deliver_subject\":\"dl\",\"ack_policy\":\"explicit\",\"backoff\":[1000000000,"
	    "2000000000],\"max_deliver\":4}");
	json_t *ci = consumer_info(fx, c, "B", "D");
	/* with a backoff list, ack_wait is backoff[0] */
	g_assert_cmpint(info_int(ci, "config", "ack_wait"), ==, S);
	json_decref(ci);
	fx_run(fx, 10 * S);
	GPtrArray *got = deliveries(c, "B", "D");
	const int64_t at[] = { 0, S + MS, 3 * S + MS, 5 * S + MS };
	g_assert_cmpuint(got->len, ==, 4);
	for (guint k = 0; k < 4; k++) {
		g_assert_cmpint(nth(got, k)->at_ns, ==, t0 + at[k]);
		g_assert_cmpuint(ack_token(nth(got, k), ACK_DC), ==, k + 1);
	}
	g_ptr_array_free(got, TRUE);
	GPtrArray *adv = expect_frames(c, "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.B.D", 1);
	g_assert_cmpint(nth(adv, 0)->at_ns, ==, t0 + 7 * S + MS);
	g_ptr_array_free(adv, TRUE);
	fx_free(fx);
}

/* TestJetStreamRedeliverCount: pull, NAK ten times: always stream seq 1,
 * the consumer seq and the delivery count rise together. */
static void
test_redeliver_count(void)
{
	Fx *fx = fx_new(4);
	Client *c = fx_client(fx, "c1");
	add_stream(fx, c, "{\"name\":\"R\",\"subjects\":[\"r\"],\"storage\":\"memory\"}");
	add_consumer(fx, c, "R", "D", "{\"durable_name\":\"D\",\"ack_policy\":\"explicit\"}");
	pub(c, "r", NULL, NULL, "x");
	send_text(c, "SUB in 2\r\n");
	fx_run(fx, 5 * MS);
	for (guint i = 1; i <= 10; i++) {
		forget(c);
		pull(c, "R", "D", "in", "");
		fx_run(fx, 5 * MS);
		GPtrArray *got = deliveries(c, "R", "D");
		g_assert_cmpuint(got->len, ==, 1);
		Frame *f = nth(got, 0);
		g_assert_cmpuint(ack_token(f, ACK_SSEQ), ==, 1);
		g_assert_cmpuint(ack_token(f, ACK_DSEQ), ==, i);
		g_assert_cmpuint(ack_token(f, ACK_DC), ==, i);
		ack(c, f, "-NAK");
		g_ptr_array_free(got, TRUE);
		fx_run(fx, 5 * MS);
	}
	fx_free(fx);
}

/* TestJetStreamWorkQueueAckWaitRedelivery: consume everything without
 * acking; after ack_wait all come again, in order, with new consumer seqs
 * and delivery count 2. */
static void
test_wq_ack_wait_redelivery(void)
{
	Fx *fx = fx_new(5);
	Client *c = fx_client(fx, "c1");
	add_stream(fx, c, "{\"name\":\"WQ\",\"subjects\":[\"wq\"],\"retention\":\"workqueue\",\"storage\":\"memory\"}");
	add_consumer(fx, c, "WQ", "D", "{\"durable_name\":\"D\",\"ack_policy\":\"explicit\",\"ack_wait\":100000000}");
	for (int k = 0; k < 10; k++)
		pub(c, "wq", NULL, NULL, "m");
	send_text(c, "SUB in 2\r\n");
	fx_run(fx, 5 * MS);
	pull(c, "WQ", "D", "in", "10");
	fx_run(fx, 5 * MS);
	GPtrArray *got = deliveries(c, "WQ", "D");
	g_assert_cmpuint(got->len, ==, 10);
	g_ptr_array_free(got, TRUE);
	forget(c);
	fx_run(fx, 150 * MS);
	pull(c, "WQ", "D", "in", "10");
	fx_run(fx, 5 * MS);
	got = deliveries(c, "WQ", "D");
	g_assert_cmpuint(got->len, ==, 10);
	for (guint k = 0; k < 10; k++) {
		g_assert_cmpuint(ack_token(nth(got, k), ACK_SSEQ), ==, k + 1);
		g_assert_cmpuint(ack_token(nth(got, k), ACK_DSEQ), ==, k + 11);
		g_assert_cmpuint(ack_token(nth(got, k), ACK_DC), ==, 2);
	}
	for (guint k = 0; k < 10; k++)
		ack(c, nth(got, k), "+ACK");
	g_ptr_array_free(got, TRUE);
	fx_run(fx, 5 * MS);
	/* workqueue: acked messages leave the stream */
	json_t *st = stream_state(fx, c, "WQ");
	g_assert_cmpint(info_int(st, "messages", NULL), ==, 0);
	json_decref(st);
	fx_free(fx);
}

/* TestJetStreamWorkQueueNakRedelivery: NAK of #6 puts it first in line:
 * the next requests get 6 (again), then 7, 8, ... */
static void
test_wq_nak_redelivery(void)
{
	Fx *fx = fx_new(6);
	Client *c = fx_client(fx, "c1");
	add_stream(fx, c, "{\"name\":\"WQ\",\"subjects\":[\"wq\"],\"retention\":\"workqueue\",\"storage\":\"memory\"}");
	add_consumer(fx, c, "WQ", "D", "{\"durable_name\":\"D\",\"ack_policy\":\"explicit\"}");
	for (int k = 0; k < 10; k++)
		pub(c, "wq", NULL, NULL, "m");
	send_text(c, "SUB in 2\r\n");
	fx_run(fx, 5 * MS);
	const uint64_t want[] = { 1, 2, 3, 4, 5, 6, 6, 7, 8, 9, 10 };
	for (guint k = 0; k < G_N_ELEMENTS(want); k++) {
		forget(c);
		pull(c, "WQ", "D", "in", "");
		fx_run(fx, 5 * MS);
		GPtrArray *got = deliveries(c, "WQ", "D");
		g_assert_cmpuint(got->len, ==, 1);
		g_assert_cmpuint(ack_token(nth(got, 0), ACK_SSEQ), ==, want[k]);
		ack(c, nth(got, 0), k == 5 ? "-NAK" : "+ACK");
		g_ptr_array_free(got, TRUE);
		fx_run(fx, 5 * MS);
	}
	fx_free(fx);
}

/* TestJetStreamWorkQueueTerminateDelivery: a TERM after a redelivery ends
 * the message (gone from the workqueue stream), with the MSG_TERMINATED
 * advisory naming stream seq 1, consumer seq 2; nothing comes again. */
static void
test_wq_terminate(void)
{
	Fx *fx = fx_new(7);
	Client *c = fx_client(fx, "c1");
	add_stream(fx, c, "{\"name\":\"WQ\",\"subjects\":[\"wq\"],\"retention\":\"workqueue\",\"storage\":\"memory\"}");
	add_consumer(fx, c, "WQ", "D", "{\"durable_name\":\"D\",\"ack_policy\":\"explicit\",\"ack_wait\":100000000}");
	pub(c, "wq", NULL, NULL, "m");
	send_text(c, "SUB in 2\r\nSUB $JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.> 3\r\n");
	fx_run(fx, 5 * MS);
	pull(c, "WQ", "D", "in", "");
	fx_run(fx, 150 * MS);
	pull(c, "WQ", "D", "in", "");
	fx_run(fx, 5 * MS);
	GPtrArray *got = deliveries(c, "WQ", "D");
	g_assert_cmpuint(got->len, ==, 2);
	g_assert_cmpuint(ack_token(nth(got, 1), ACK_DC), ==, 2);
	ack(c, nth(got, 1), "+TERM");
	g_ptr_array_free(got, TRUE);
	fx_run(fx, 5 * MS);
	GPtrArray *adv = expect_frames(c, "$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.WQ.D", 1);
	json_t *a = json_loads(nth(adv, 0)->data, 0, NULL);
	g_assert_cmpstr(json_string_value(json_object_get(a, "type")), ==, "io.nats.jetstream.advisory.v1.terminated");
	g_assert_cmpint(json_integer_value(json_object_get(a, "stream_seq")), ==, 1);
	g_assert_cmpint(json_integer_value(json_object_get(a, "consumer_seq")), ==, 2);
	g_assert_cmpint(json_integer_value(json_object_get(a, "deliveries")), ==, 2);
	json_decref(a);
	g_ptr_array_free(adv, TRUE);
	json_t *st = stream_state(fx, c, "WQ");
	g_assert_cmpint(info_int(st, "messages", NULL), ==, 0);
	json_decref(st);
	forget(c);
	pull(c, "WQ", "D", "in", "{\"batch\":1,\"expires\":500000000}");
	fx_run(fx, 600 * MS);
	got = deliveries(c, "WQ", "D");
	g_assert_cmpuint(got->len, ==, 0);
	g_ptr_array_free(got, TRUE);
	fx_free(fx);
}

/* NATS-SPEC §3.3: +WPI at 1.5 s with ack_wait 2 s -> redelivered at 3.5 s
 * (the scan that was due at 2 s finds 0.5 s elapsed and waits the rest). */
static void
test_working_indicator(void)
{
	Fx *fx = fx_new(8);
	Client *c = fx_client(fx, "c1");
	add_stream(fx, c, "{\"name\":\"W\",\"subjects\":[\"w\"],\"storage\":\"memory\"}");
	pub(c, "w", NULL, NULL, "x");
	send_text(c, "SUB dl 2\r\n");
	fx_run(fx, 5 * MS);
	add_consumer(fx, c, "W", "D",
	    "{\"durable_name\":\"D\",\"deliver_subject\":\"dl\",\"ack_policy\":\"explicit\",\"ack_wait\":2000000000}");
	GPtrArray *got = deliveries(c, "W", "D");
	g_assert_cmpuint(got->len, ==, 1);
	int64_t t0 = nth(got, 0)->at_ns; /* server delivered at t0 - 1 ms */
	char *reply = g_strdup(nth(got, 0)->reply);
	g_ptr_array_free(got, TRUE);
	fx_run_to(fx, t0 + 1500 * MS - 2 * MS); /* +WPI reaches the server at t0 - 1 ms + 1.5 s */
	pub(c, reply, NULL, NULL, "+WPI");
	g_free(reply);
	fx_run_to(fx, t0 + 5 * S);
	got = deliveries(c, "W", "D");
	g_assert_cmpuint(got->len, ==, 2);
	g_assert_cmpint(nth(got, 1)->at_ns, ==, t0 + 3500 * MS);
	g_assert_cmpuint(ack_token(nth(got, 1), ACK_DC), ==, 2);
	g_ptr_array_free(got, TRUE);
	fx_free(fx);
}

/* NATS-SPEC §3.5: push, ack_wait 2 s, -NAK {"delay":500ms} at 0.3 s ->
 * redelivered at 0.8 s, then (no ack) at 2.8 s. The Go duration form
 * "-NAK 1s" gives 1 s. */
static void
test_nak_delay(void)
{
	Fx *fx = fx_new(9);
	Client *c = fx_client(fx, "c1");
	add_stream(fx, c, "{\"name\":\"N\",\"subjects\":[\"n.*\"],\"storage\":\"memory\"}");
	pub(c, "n.a", NULL, NULL, "x");
	send_text(c, "SUB dl 2\r\nSUB $JS.EVENT.ADVISORY.CONSUMER.MSG_NAKED.> 3\r\n");
	fx_run(fx, 5 * MS);
	add_consumer(fx, c, "N", "D",
	    "{\"durable_name\":\"D\",\"deliver_subject\":\"dl\",\"ack_policy\":\"explicit\",\"ack_wait\":2000000000}");
	GPtrArray *got = deliveries(c, "N", "D");
	g_assert_cmpuint(got->len, ==, 1);
	int64_t t0 = nth(got, 0)->at_ns;
	char *reply = g_strdup(nth(got, 0)->reply);
	g_ptr_array_free(got, TRUE);
	fx_run_to(fx, t0 + 300 * MS - 2 * MS);
	pub(c, reply, NULL, NULL, "-NAK {\"delay\":500000000}");
	g_free(reply);
	fx_run_to(fx, t0 + 3 * S);
	got = deliveries(c, "N", "D");
	g_assert_cmpuint(got->len, ==, 3);
	g_assert_cmpint(nth(got, 1)->at_ns, ==, t0 + 800 * MS);
	g_assert_cmpint(nth(got, 2)->at_ns, ==, t0 + 2800 * MS + MS);
	/* "-NAK 1s" on the third delivery */
	reply = g_strdup(nth(got, 2)->reply);
	g_ptr_array_free(got, TRUE);
	int64_t t2 = fx_now(fx); /* the NAK leaves now, reaches the server 1 ms later */
	pub(c, reply, NULL, NULL, "-NAK 1s");
	g_free(reply);
	fx_run_to(fx, t2 + 1500 * MS);
	got = deliveries(c, "N", "D");
	g_assert_cmpuint(got->len, ==, 4);
	GPtrArray *adv = expect_frames(c, "$JS.EVENT.ADVISORY.CONSUMER.MSG_NAKED.N.D", 2);
	/* the advisory leaves when the NAK is handled: 1 s later, the copy */
	g_assert_cmpint(nth(adv, 1)->at_ns, >=, t2 + 2 * MS);
	g_assert_cmpint(nth(got, 3)->at_ns, ==, nth(adv, 1)->at_ns + S);
	g_ptr_array_free(got, TRUE);
	g_ptr_array_free(adv, TRUE);
	fx_free(fx);
}

/* TestJetStreamAckAllRedelivery: AckAll, 50 ms ack_wait: unacked batches
 * come back in seq order; an ack of the 2nd of 3 moves the floor to 2/2. */
static void
test_ack_all(void)
{
	Fx *fx = fx_new(10);
	Client *c = fx_client(fx, "c1");
	add_stream(fx, c, "{\"name\":\"A\",\"subjects\":[\"a\"],\"storage\":\"memory\"}");
	add_consumer(fx, c, "A", "D", "{\"durable_name\":\"D\",\"ack_policy\":\"all\",\"ack_wait\":50000000}");
	for (int k = 0; k < 3; k++)
		pub(c, "a", NULL, NULL, "m");
	send_text(c, "SUB in 2\r\n");
	fx_run(fx, 5 * MS);
	pull(c, "A", "D", "in", "3");
	fx_run(fx, 5 * MS);
	GPtrArray *got = deliveries(c, "A", "D");
	g_assert_cmpuint(got->len, ==, 3);
	ack(c, nth(got, 1), "+ACK");
	g_ptr_array_free(got, TRUE);
	fx_run(fx, 5 * MS);
	json_t *ci = consumer_info(fx, c, "A", "D");
	g_assert_cmpint(info_int(ci, "ack_floor", "stream_seq"), ==, 2);
	g_assert_cmpint(info_int(ci, "ack_floor", "consumer_seq"), ==, 2);
	g_assert_cmpint(info_int(ci, "num_ack_pending", NULL), ==, 1);
	json_decref(ci);
	forget(c);
	fx_run(fx, 100 * MS);
	pull(c, "A", "D", "in", "3");
	fx_run(fx, 5 * MS);
	got = deliveries(c, "A", "D");
	g_assert_cmpuint(got->len, ==, 1);
	g_assert_cmpuint(ack_token(nth(got, 0), ACK_SSEQ), ==, 3);
	g_assert_cmpuint(ack_token(nth(got, 0), ACK_DC), ==, 2);
	g_ptr_array_free(got, TRUE);
	fx_free(fx);
}

/* TestJetStreamRedeliverAndLateAck: an ack that comes after ack_wait but
 * before the redelivery went out still counts: nothing is redelivered. */
static void
test_late_ack(void)
{
	Fx *fx = fx_new(11);
	Client *c = fx_client(fx, "c1");
	add_stream(fx, c, "{\"name\":\"L\",\"subjects\":[\"l\"],\"storage\":\"memory\"}");
	add_consumer(fx, c, "L", "D", "{\"durable_name\":\"D\",\"ack_policy\":\"explicit\",\"ack_wait\":100000000}");
	pub(c, "l", NULL, NULL, "m");
	send_text(c, "SUB in 2\r\n");
	fx_run(fx, 5 * MS);
	pull(c, "L", "D", "in", "");
	fx_run(fx, 5 * MS);
	GPtrArray *got = deliveries(c, "L", "D");
	g_assert_cmpuint(got->len, ==, 1);
	fx_run(fx, 200 * MS); /* expired, queued for redelivery */
	ack(c, nth(got, 0), "+ACK");
	g_ptr_array_free(got, TRUE);
	fx_run(fx, 5 * MS);
	forget(c);
	pull(c, "L", "D", "in", "{\"batch\":1,\"expires\":300000000}");
	fx_run(fx, 400 * MS);
	got = deliveries(c, "L", "D");
	g_assert_cmpuint(got->len, ==, 0);
	g_ptr_array_free(got, TRUE);
	json_t *ci = consumer_info(fx, c, "L", "D");
	g_assert_cmpint(info_int(ci, "num_ack_pending", NULL), ==, 0);
	g_assert_cmpint(info_int(ci, "num_redelivered", NULL), ==, 0);
	json_decref(ci);
	fx_free(fx);
}

/* TestJetStreamConsumerPullConsumerFIFO: 10 waiting requests of 10 each,
 * then 100 messages: round robin per message, request k gets k, k+10, ... */
static void
test_pull_fifo(void)
{
	Fx *fx = fx_new(12);
	Client *c = fx_client(fx, "c1");
	add_stream(fx, c, "{\"name\":\"F\",\"subjects\":[\"f\"],\"storage\":\"memory\"}");
	add_consumer(fx, c, "F", "D", "{\"durable_name\":\"D\",\"ack_policy\":\"explicit\"}");
	for (int k = 0; k < 10; k++) {
		char line[64], inbox[16];
		g_snprintf(line, sizeof(line), "SUB in.%d %d\r\n", k, 100 + k);
		send_text(c, line);
		g_snprintf(inbox, sizeof(inbox), "in.%d", k);
		pull(c, "F", "D", inbox, "{\"batch\":10,\"expires\":5000000000}");
	}
	fx_run(fx, 5 * MS);
	for (int k = 0; k < 100; k++)
		pub(c, "f", NULL, NULL, "m");
	fx_run(fx, 20 * MS);
	for (int k = 0; k < 10; k++) {
		char sid[16];
		g_snprintf(sid, sizeof(sid), "%d", 100 + k);
		GPtrArray *got = frames_sid(c, sid);
		g_assert_cmpuint(got->len, ==, 10);
		for (guint i = 0; i < got->len; i++)
			g_assert_cmpuint(ack_token(nth(got, i), ACK_SSEQ), ==, (uint64_t)k + 1 + i * 10);
		g_ptr_array_free(got, TRUE);
	}
	fx_free(fx);
}

/* NATS-SPEC §3.10: no_wait with nothing pending -> 404 at once; no_wait
 * with 3 of 10 available -> 3 messages and 408 with 7 pending (404 since
 * nats-server 2.11); expires
 * 400 ms -> 408 at 400 ms; a full batch ends silently. */
static void
test_pull_one_shot(void)
{
	Fx *fx = fx_new(13);
	Client *c = fx_client(fx, "c1");
	add_stream(fx, c, "{\"name\":\"O\",\"subjects\":[\"o\"],\"storage\":\"memory\"}");
	add_consumer(fx, c, "O", "D", "{\"durable_name\":\"D\",\"ack_policy\":\"explicit\"}");
	send_text(c, INBOX_SUBS);
	fx_run(fx, 5 * MS);
	pull(c, "O", "D", "in.1", "{\"batch\":1,\"no_wait\":true}");
	fx_run(fx, 5 * MS);
	GPtrArray *got = expect_sid(c, "21", 1);
	assert_status(nth(got, 0), "NATS/1.0 404 No Messages");
	g_assert_null(nth(got, 0)->reply);
	g_assert_cmpstr(nth(got, 0)->data, ==, "");
	g_ptr_array_free(got, TRUE);
	for (int k = 0; k < 3; k++)
		pub(c, "o", NULL, NULL, "m");
	fx_run(fx, 5 * MS);
	pull(c, "O", "D", "in.2", "{\"batch\":10,\"no_wait\":true}");
	fx_run(fx, 5 * MS);
	got = expect_sid(c, "22", 4);
	/* the end of a partial one-shot: 408 with the unfilled count up to
	 * v2.10 (NATS-SPEC §3.10), 404 No Messages since v2.11 */
	char *end = status_line(nth(got, 3));
	if (strcmp(end, "NATS/1.0 408 Request Timeout") == 0) {
		g_assert_true(has_header(nth(got, 3), "Nats-Pending-Messages: 7\r\n"));
		g_assert_true(has_header(nth(got, 3), "Nats-Pending-Bytes: 0\r\n"));
	} else {
		g_assert_cmpstr(end, ==, "NATS/1.0 404 No Messages");
	}
	g_free(end);
	g_ptr_array_free(got, TRUE);
	int64_t sent = fx_now(fx);
	pull(c, "O", "D", "in.3", "{\"batch\":2,\"expires\":400000000}");
	fx_run(fx, 500 * MS);
	got = expect_sid(c, "23", 1);
	assert_status(nth(got, 0), "NATS/1.0 408 Request Timeout");
	g_assert_true(has_header(nth(got, 0), "Nats-Pending-Messages: 2\r\n"));
	g_assert_cmpint(nth(got, 0)->at_ns, ==, sent + 2 * MS + 400 * MS);
	g_ptr_array_free(got, TRUE);
	for (int k = 0; k < 2; k++)
		pub(c, "o", NULL, NULL, "m");
	pull(c, "O", "D", "in.4", "{\"batch\":2,\"expires\":400000000}");
	fx_run(fx, 500 * MS);
	got = expect_sid(c, "24", 2);
	g_assert_null(nth(got, 1)->hdr); /* no status after a full batch */
	g_ptr_array_free(got, TRUE);
	fx_free(fx);
}

/* TestJetStreamPullMaxBytes: a message that does not fit what is left of
 * max_bytes ends the request with 409 Message Size Exceeds MaxBytes. */
static void
test_pull_max_bytes(void)
{
	Fx *fx = fx_new(14);
	Client *c = fx_client(fx, "c1");
	add_stream(fx, c, "{\"name\":\"X\",\"subjects\":[\"x\"],\"storage\":\"memory\"}");
	add_consumer(fx, c, "X", "D", "{\"durable_name\":\"D\",\"ack_policy\":\"explicit\"}");
	char big[101];
	memset(big, 'b', 100);
	big[100] = '\0';
	pub(c, "x", NULL, NULL, big);
	pub(c, "x", NULL, NULL, big);
	send_text(c, "SUB in 2\r\n");
	fx_run(fx, 5 * MS);
	/* one message is 1 + len(ack reply) + 100 bytes: room for one */
	pull(c, "X", "D", "in", "{\"batch\":10,\"max_bytes\":200,\"expires\":1000000000}");
	fx_run(fx, 5 * MS);
	GPtrArray *got = expect_sid(c, "2", 2);
	g_assert_cmpstr(nth(got, 0)->data, ==, big);
	assert_status(nth(got, 1), "NATS/1.0 409 Message Size Exceeds MaxBytes");
	g_assert_true(has_header(nth(got, 1), "Nats-Pending-Messages: 9\r\n"));
	g_ptr_array_free(got, TRUE);
	fx_free(fx);
}

/* NATS-SPEC §3.10: a request with idle_heartbeat 0.5 s and expires 2 s
 * gets heartbeats at 0.5, 1.0 and 1.5 s, then 408 at 2.0 s. A heartbeat
 * larger than half the expiry is a 400. */
static void
test_pull_heartbeats(void)
{
	Fx *fx = fx_new(15);
	Client *c = fx_client(fx, "c1");
	add_stream(fx, c, "{\"name\":\"H\",\"subjects\":[\"h\"],\"storage\":\"memory\"}");
	add_consumer(fx, c, "H", "D", "{\"durable_name\":\"D\",\"ack_policy\":\"explicit\"}");
	send_text(c, INBOX_SUBS);
	fx_run(fx, 5 * MS);
	int64_t sent = fx_now(fx);
	pull(c, "H", "D", "in.1", "{\"batch\":1,\"expires\":2000000000,\"idle_heartbeat\":500000000}");
	fx_run(fx, 3 * S);
	GPtrArray *got = expect_sid(c, "21", 4);
	for (guint k = 0; k < 3; k++) {
		assert_status(nth(got, k), "NATS/1.0 100 Idle Heartbeat");
		g_assert_cmpint(nth(got, k)->at_ns, ==, sent + 2 * MS + (int64_t)(k + 1) * 500 * MS);
	}
	assert_status(nth(got, 3), "NATS/1.0 408 Request Timeout");
	g_assert_cmpint(nth(got, 3)->at_ns, ==, sent + 2 * MS + 2 * S);
	g_ptr_array_free(got, TRUE);
	pull(c, "H", "D", "in.2", "{\"batch\":1,\"expires\":800000000,\"idle_heartbeat\":500000000}");
	fx_run(fx, 5 * MS);
	got = expect_sid(c, "22", 1);
	assert_status(nth(got, 0), "NATS/1.0 400 Bad Request - heartbeat value too large");
	g_ptr_array_free(got, TRUE);
	fx_free(fx);
}

/* TestJetStreamPushConsumersPullError: a pull request to a push consumer
 * gets 409 Consumer is push based; MSG.NEXT to a missing consumer, or an
 * unknown API subject, gets nothing at all. */
static void
test_pull_errors(void)
{
	Fx *fx = fx_new(16);
	Client *c = fx_client(fx, "c1");
	add_stream(fx, c, "{\"name\":\"P\",\"subjects\":[\"p\"],\"storage\":\"memory\"}");
	add_consumer(fx, c, "P", "D", "{\"durable_name\":\"D\",\"deliver_subject\":\"dl\",\"ack_policy\":\"explicit\"}");
	send_text(c, INBOX_SUBS);
	fx_run(fx, 5 * MS);
	pull(c, "P", "D", "in.1", "");
	pull(c, "P", "nope", "in.2", "");
	pub(c, "$JS.API.STREAM.FOO", "in.3", NULL, "");
	pub(c, "$JS.API.STREAM.CREATE.a.b", "in.4", NULL, "{}");
	fx_run(fx, 50 * MS);
	GPtrArray *got = expect_sid(c, "21", 1);
	assert_status(nth(got, 0), "NATS/1.0 409 Consumer is push based");
	g_ptr_array_free(got, TRUE);
	got = expect_sid(c, "22", 0); /* MSG.NEXT to a missing consumer */
	g_ptr_array_free(got, TRUE);
	/* Unknown API subjects: NATS-SPEC §2.1 (and nats-server's
	 * apiDispatch, whose "bad request" branch needs acc != the system
	 * account, which a request coming through the $JS.API import never
	 * is) send nothing. */
	for (int k = 3; k <= 4; k++) {
		char sid[16];
		g_snprintf(sid, sizeof(sid), "%d", 20 + k);
		got = frames_sid(c, sid);
		for (guint q = 0; q < got->len; q++)
			g_test_message("answered on %s: %s %s", sid, nth(got, q)->subject, nth(got, q)->data);
		g_assert_cmpuint(got->len, ==, 0);
		g_ptr_array_free(got, TRUE);
	}
	fx_free(fx);
}

/* NATS-SPEC §3.9: batch 5 with max_ack_pending 3 -> 3 messages, then (at
 * expiry) 408 with 2 pending; a no_wait request that stalls on the limit
 * stays waiting; with max_ack_pending 1 every request gets the same
 * message again, its delivery count rising, until it is acked. */
static void
test_max_ack_pending_pull(void)
{
	Fx *fx = fx_new(17);
	Client *c = fx_client(fx, "c1");
	add_stream(fx, c, "{\"name\":\"K\",\"subjects\":[\"k\"],\"storage\":\"memory\"}");
	add_consumer(fx, c, "K", "D", "{\"durable_name\":\"D\",\"ack_policy\":\"explicit\",\"max_ack_pending\":3}");
	for (int k = 0; k < 6; k++)
		pub(c, "k", NULL, NULL, "m");
	send_text(c, INBOX_SUBS);
	fx_run(fx, 5 * MS);
	pull(c, "K", "D", "in.1", "{\"batch\":5,\"expires\":300000000}");
	fx_run(fx, 400 * MS);
	GPtrArray *got = expect_sid(c, "21", 4);
	assert_status(nth(got, 3), "NATS/1.0 408 Request Timeout");
	g_assert_true(has_header(nth(got, 3), "Nats-Pending-Messages: 2\r\n"));
	g_ptr_array_free(got, TRUE);
	/* the quirk: no_wait stalled on max_ack_pending keeps waiting */
	pull(c, "K", "D", "in.2", "{\"batch\":2,\"no_wait\":true}");
	fx_run(fx, 100 * MS);
	got = expect_sid(c, "22", 0);
	g_ptr_array_free(got, TRUE);
	json_t *ci = consumer_info(fx, c, "K", "D");
	g_assert_cmpint(info_int(ci, "num_waiting", NULL), ==, 1);
	g_assert_cmpint(info_int(ci, "num_ack_pending", NULL), ==, 3);
	json_decref(ci);
	/* an ack frees room: the stalled request continues */
	GPtrArray *d = deliveries(c, "K", "D");
	ack(c, nth(d, 0), "+ACK");
	g_ptr_array_free(d, TRUE);
	fx_run(fx, 5 * MS);
	got = frames_sid(c, "22");
	g_assert_cmpuint(got->len, >=, 1);
	g_assert_cmpuint(ack_token(nth(got, 0), ACK_SSEQ), ==, 4);
	g_ptr_array_free(got, TRUE);
	fx_free(fx);
}

/* TestJetStreamPullConsumerMaxAckPendingRedeliveries: max_ack_pending 1,
 * ack_wait 100 ms: each later request gets message 1 again with its
 * delivery count rising, never message 2, until 1 is acked. */
static void
test_max_ack_pending_redeliveries(void)
{
	Fx *fx = fx_new(18);
	Client *c = fx_client(fx, "c1");
	add_stream(fx, c, "{\"name\":\"K\",\"subjects\":[\"k\"],\"storage\":\"memory\"}");
	add_consumer(fx, c, "K", "D",
	    "{\"durable_name\":\"D\",\"ack_policy\":\"explicit\",\"max_ack_pending\":1,\"ack_wait\":100000000}");
	pub(c, "k", NULL, NULL, "m1");
	pub(c, "k", NULL, NULL, "m2");
	send_text(c, "SUB in 2\r\n");
	fx_run(fx, 5 * MS);
	for (guint i = 1; i <= 4; i++) {
		forget(c);
		pull(c, "K", "D", "in", "{\"batch\":1,\"expires\":1000000000}");
		fx_run(fx, 150 * MS);
		GPtrArray *got = deliveries(c, "K", "D");
		g_assert_cmpuint(got->len, ==, 1);
		g_assert_cmpuint(ack_token(nth(got, 0), ACK_SSEQ), ==, 1);
		g_assert_cmpuint(ack_token(nth(got, 0), ACK_DC), ==, i);
		if (i == 4)
			ack(c, nth(got, 0), "+ACK");
		g_ptr_array_free(got, TRUE);
	}
	fx_run(fx, 5 * MS);
	forget(c);
	pull(c, "K", "D", "in", "");
	fx_run(fx, 5 * MS);
	GPtrArray *got = deliveries(c, "K", "D");
	g_assert_cmpuint(got->len, ==, 1);
	g_assert_cmpuint(ack_token(nth(got, 0), ACK_SSEQ), ==, 2);
	g_ptr_array_free(got, TRUE);
	fx_free(fx);
}

/* NATS-SPEC §3.6 (2.10.22+): max_deliver 1 -> the advisory at ack_wait
 * expiry without any pull; max_deliver 2 on a pull consumer -> the second
 * expiry leaves it pending, and only the next pull finds it done (the
 * advisory then, deliveries 2). */
static void
test_max_deliver_pull_timing(void)
{
	Fx *fx = fx_new(19);
	Client *c = fx_client(fx, "c1");
	add_stream(fx, c, "{\"name\":\"Q\",\"subjects\":[\"q.*\"],\"storage\":\"memory\"}");
	add_consumer(fx, c, "Q", "ONE",
	    "{\"durable_name\":\"ONE\",\"ack_policy\":\"explicit\",\"max_deliver\":1,\"ack_wait\":1000000000,"
	    "\"filter_subject\":\"q.1\"}");
	add_consumer(fx, c, "Q", "TWO",
	    "{\"durable_name\":\"TWO\",\"ack_policy\":\"explicit\",\"max_deliver\":2,\"ack_wait\":1000000000,"
	    "\"filter_subject\":\"q.2\"}");
	pub(c, "q.1", NULL, NULL, "m");
	pub(c, "q.2", NULL, NULL, "m");
	send_text(c, INBOX_SUBS);
	send_text(c, "SUB $JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.> 3\r\n");
	fx_run(fx, 5 * MS);
	pull(c, "Q", "ONE", "in.1", "");
	pull(c, "Q", "TWO", "in.2", "");
	fx_run(fx, 5 * MS);
	GPtrArray *got = deliveries(c, "Q", "ONE");
	g_assert_cmpuint(got->len, ==, 1);
	int64_t t1 = nth(got, 0)->at_ns;
	g_ptr_array_free(got, TRUE);
	fx_run(fx, 2 * S);
	GPtrArray *adv = expect_frames(c, "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.Q.ONE", 1);
	/* at the scan: delivered at t1 - 1 ms, scanned 1.001 s later */
	g_assert_cmpint(nth(adv, 0)->at_ns, ==, t1 + S + MS);
	g_ptr_array_free(adv, TRUE);
	json_t *ci = consumer_info(fx, c, "Q", "ONE");
	g_assert_cmpint(info_int(ci, "num_ack_pending", NULL), ==, 0);
	/* 2.10.29 counts the expired max_deliver 1 message as redelivered
	 * (1); 2.11+ (nats-server #6877) does not (0): accept either, the
	 * consumer side documents which one it follows. */
	g_assert_cmpint(info_int(ci, "num_redelivered", NULL), <=, 1);
	json_decref(ci);
	/* TWO: the redelivery needs a pull, and so does the end */
	pull(c, "Q", "TWO", "in.2", "");
	fx_run(fx, 3 * S);
	got = deliveries(c, "Q", "TWO");
	g_assert_cmpuint(got->len, ==, 2);
	g_assert_cmpuint(ack_token(nth(got, 1), ACK_DC), ==, 2);
	g_ptr_array_free(got, TRUE);
	adv = expect_frames(c, "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.Q.TWO", 0);
	g_ptr_array_free(adv, TRUE);
	ci = consumer_info(fx, c, "Q", "TWO");
	g_assert_cmpint(info_int(ci, "num_ack_pending", NULL), ==, 1);
	json_decref(ci);
	int64_t sent = fx_now(fx);
	pull(c, "Q", "TWO", "in.2", "{\"batch\":1,\"expires\":500000000}");
	fx_run(fx, 1 * S);
	adv = expect_frames(c, "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.Q.TWO", 1);
	g_assert_cmpint(nth(adv, 0)->at_ns, ==, sent + 2 * MS);
	json_t *a = json_loads(nth(adv, 0)->data, 0, NULL);
	g_assert_cmpint(json_integer_value(json_object_get(a, "deliveries")), ==, 2);
	json_decref(a);
	g_ptr_array_free(adv, TRUE);
	ci = consumer_info(fx, c, "Q", "TWO");
	g_assert_cmpint(info_int(ci, "num_ack_pending", NULL), ==, 0);
	json_decref(ci);
	fx_free(fx);
}

/* Ack with a reply (AckSync): the reply gets an empty message; +NXT acks
 * and delivers the next message to the ack's reply. */
static void
test_ack_reply_and_next(void)
{
	Fx *fx = fx_new(20);
	Client *c = fx_client(fx, "c1");
	add_stream(fx, c, "{\"name\":\"Y\",\"subjects\":[\"y\"],\"storage\":\"memory\"}");
	add_consumer(fx, c, "Y", "D", "{\"durable_name\":\"D\",\"ack_policy\":\"explicit\"}");
	for (int k = 0; k < 3; k++)
		pub(c, "y", NULL, NULL, "m");
	send_text(c, INBOX_SUBS);
	fx_run(fx, 5 * MS);
	pull(c, "Y", "D", "in.1", "");
	fx_run(fx, 5 * MS);
	GPtrArray *got = deliveries(c, "Y", "D");
	pub(c, nth(got, 0)->reply, "in.ackack", NULL, "+ACK");
	g_ptr_array_free(got, TRUE);
	fx_run(fx, 5 * MS);
	GPtrArray *aa = expect_sid(c, "25", 1);
	g_assert_cmpstr(nth(aa, 0)->op, ==, "MSG");
	g_assert_cmpstr(nth(aa, 0)->data, ==, "");
	g_ptr_array_free(aa, TRUE);
	pull(c, "Y", "D", "in.2", "");
	fx_run(fx, 5 * MS);
	got = expect_sid(c, "22", 1);
	pub(c, nth(got, 0)->reply, "in.next", NULL, "+NXT");
	g_ptr_array_free(got, TRUE);
	fx_run(fx, 5 * MS);
	got = expect_sid(c, "26", 1);
	g_assert_cmpuint(ack_token(nth(got, 0), ACK_SSEQ), ==, 3);
	g_ptr_array_free(got, TRUE);
	json_t *ci = consumer_info(fx, c, "Y", "D");
	g_assert_cmpint(info_int(ci, "ack_floor", "stream_seq"), ==, 2);
	json_decref(ci);
	fx_free(fx);
}


/* The PubAck (or error) a publish with a reply gets. */
static char *
publish_ack(Fx *fx, Client *c, const char *subject, const char *hdr, const char *data)
{
	char reply[32];
	g_snprintf(reply, sizeof(reply), "_R.%d", ++c->next_reply);
	pub(c, subject, reply, hdr, data);
	fx_run(fx, 5 * MS);
	GPtrArray *got = frames_on(c, reply);
	char *out = got->len > 0 ? g_strdup(nth(got, 0)->data) : NULL;
	g_ptr_array_free(got, TRUE);
	return out;
}

static void
assert_puback(Fx *fx, Client *c, const char *subject, const char *hdr, const char *data, const char *want)
{
	char *got = publish_ack(fx, c, subject, hdr, data);
	g_assert_cmpstr(got, ==, want);
	g_free(got);
}

/* NATS-SPEC §3.12 interest: with no consumer the publish uses up a seq
 * (PubAck with it) and stores nothing; a stored message goes once every
 * consumer whose filter matches has acked it. */
static void
test_interest_retention(void)
{
	Fx *fx = fx_new(21);
	Client *c = fx_client(fx, "c1");
	add_stream(fx, c, "{\"name\":\"I\",\"subjects\":[\"i.*\"],\"retention\":\"interest\",\"storage\":\"memory\"}");
	assert_puback(fx, c, "i.a", NULL, "x", "{\"stream\":\"I\", \"seq\":1}");
	json_t *st = stream_state(fx, c, "I");
	g_assert_cmpint(info_int(st, "messages", NULL), ==, 0);
	g_assert_cmpint(info_int(st, "first_seq", NULL), ==, 2);
	g_assert_cmpint(info_int(st, "last_seq", NULL), ==, 1);
	json_decref(st);
	add_consumer(fx, c, "I", "C1", "{\"durable_name\":\"C1\",\"ack_policy\":\"explicit\",\"filter_subject\":\"i.a\"}");
	add_consumer(fx, c, "I", "C2", "{\"durable_name\":\"C2\",\"ack_policy\":\"explicit\"}");
	assert_puback(fx, c, "i.a", NULL, "y", "{\"stream\":\"I\", \"seq\":2}");
	assert_puback(fx, c, "i.b", NULL, "z", "{\"stream\":\"I\", \"seq\":3}");
	send_text(c, "SUB in.1 31\r\nSUB in.2 32\r\n");
	fx_run(fx, 5 * MS);
	pull(c, "I", "C1", "in.1", "2");
	pull(c, "I", "C2", "in.2", "2");
	fx_run(fx, 5 * MS);
	GPtrArray *c1 = deliveries(c, "I", "C1"), *c2 = deliveries(c, "I", "C2");
	g_assert_cmpuint(c1->len, ==, 1);
	g_assert_cmpuint(c2->len, ==, 2);
	/* i.b only needs C2's ack; i.a needs both */
	ack(c, nth(c2, 1), "+ACK");
	ack(c, nth(c2, 0), "+ACK");
	fx_run(fx, 5 * MS);
	st = stream_state(fx, c, "I");
	g_assert_cmpint(info_int(st, "messages", NULL), ==, 1);
	json_decref(st);
	ack(c, nth(c1, 0), "+ACK");
	fx_run(fx, 5 * MS);
	st = stream_state(fx, c, "I");
	g_assert_cmpint(info_int(st, "messages", NULL), ==, 0);
	json_decref(st);
	g_ptr_array_free(c1, TRUE);
	g_ptr_array_free(c2, TRUE);
	fx_free(fx);
}

/* NATS-SPEC §2.5: the workqueue rules on consumers. */
static void
test_workqueue_rules(void)
{
	Fx *fx = fx_new(22);
	Client *c = fx_client(fx, "c1");
	add_stream(fx, c, "{\"name\":\"W\",\"subjects\":[\"w.*\"],\"retention\":\"workqueue\",\"storage\":\"memory\"}");
	char *d = api_err(fx, c, "$JS.API.CONSUMER.DURABLE.CREATE.W.A",
	    "{\"stream_name\":\"W\",\"config\":{\"durable_name\":\"A\",\"ack_policy\":\"none\"}}", 10084);
	g_free(d);
	d = api_err(fx, c, "$JS.API.CONSUMER.DURABLE.CREATE.W.A",
	    "{\"stream_name\":\"W\",\"config\":{\"durable_name\":\"A\",\"ack_policy\":\"all\"}}", 10098);
	g_free(d);
	add_consumer(fx, c, "W", "A", "{\"durable_name\":\"A\",\"ack_policy\":\"explicit\",\"filter_subject\":\"w.a\"}");
	d = api_err(fx, c, "$JS.API.CONSUMER.DURABLE.CREATE.W.B",
	    "{\"stream_name\":\"W\",\"config\":{\"durable_name\":\"B\",\"ack_policy\":\"explicit\"}}", 10099);
	g_free(d);
	d = api_err(fx, c, "$JS.API.CONSUMER.DURABLE.CREATE.W.B",
	    "{\"stream_name\":\"W\",\"config\":{\"durable_name\":\"B\",\"ack_policy\":\"explicit\",\"filter_subject\":"
	    "\"w.*\"}}",
	    10100);
	g_free(d);
	d = api_err(fx, c, "$JS.API.CONSUMER.DURABLE.CREATE.W.B",
	    "{\"stream_name\":\"W\",\"config\":{\"durable_name\":\"B\",\"ack_policy\":\"explicit\",\"filter_subject\":"
	    "\"w.b\",\"deliver_policy\":\"last\"}}",
	    10101);
	g_free(d);
	add_consumer(fx, c, "W", "B", "{\"durable_name\":\"B\",\"ack_policy\":\"explicit\",\"filter_subject\":\"w.b\"}");
	fx_free(fx);
}

/* NATS-SPEC §2.4/§3.12 discard new: max_msgs -> 10077 with the store's
 * text in the PubAck error shape; discard_new_per_subject -> "maximum
 * messages per subject exceeded"; without it the subject's oldest goes. */
static void
test_discard_new(void)
{
	Fx *fx = fx_new(23);
	Client *c = fx_client(fx, "c1");
	add_stream(fx, c, "{\"name\":\"DN\",\"subjects\":[\"dn.*\"],\"max_msgs\":2,\"discard\":\"new\",\"storage\":\"memory\"}");
	assert_puback(fx, c, "dn.a", NULL, "1", "{\"stream\":\"DN\", \"seq\":1}");
	assert_puback(fx, c, "dn.a", NULL, "2", "{\"stream\":\"DN\", \"seq\":2}");
	assert_puback(fx, c, "dn.a", NULL, "3",
	    "{\"error\":{\"code\":503,\"err_code\":10077,\"description\":\"maximum messages exceeded\"},\"stream\":\"DN\","
	    "\"seq\":0}");
	add_stream(fx, c, "{\"name\":\"PS\",\"subjects\":[\"ps.*\"],\"max_msgs_per_subject\":1,\"discard\":\"new\","
			  "\"discard_new_per_subject\":true,\"storage\":\"memory\"}");
	assert_puback(fx, c, "ps.a", NULL, "1", "{\"stream\":\"PS\", \"seq\":1}");
	assert_puback(fx, c, "ps.a", NULL, "2",
	    "{\"error\":{\"code\":503,\"err_code\":10077,\"description\":\"maximum messages per subject exceeded\"},"
	    "\"stream\":\"PS\",\"seq\":0}");
	assert_puback(fx, c, "ps.b", NULL, "3", "{\"stream\":\"PS\", \"seq\":2}");
	/* discard new without per subject: the per-subject limit evicts */
	add_stream(fx, c, "{\"name\":\"PE\",\"subjects\":[\"pe.*\"],\"max_msgs_per_subject\":1,\"discard\":\"new\","
			  "\"storage\":\"memory\"}");
	assert_puback(fx, c, "pe.a", NULL, "1", "{\"stream\":\"PE\", \"seq\":1}");
	assert_puback(fx, c, "pe.a", NULL, "2", "{\"stream\":\"PE\", \"seq\":2}");
	json_t *st = stream_state(fx, c, "PE");
	g_assert_cmpint(info_int(st, "messages", NULL), ==, 1);
	g_assert_cmpint(info_int(st, "first_seq", NULL), ==, 2);
	json_decref(st);
	fx_free(fx);
}

/* NATS-SPEC §3.12 discard old: max_msgs 3 -> first_seq 3 after 5
 * publishes; max_msgs_per_subject keeps the newest of each subject. */
static void
test_discard_old_limits(void)
{
	Fx *fx = fx_new(24);
	Client *c = fx_client(fx, "c1");
	add_stream(fx, c, "{\"name\":\"DO\",\"subjects\":[\"do.*\"],\"max_msgs\":3,\"storage\":\"memory\"}");
	for (int k = 0; k < 5; k++)
		pub(c, "do.a", NULL, NULL, "m");
	fx_run(fx, 5 * MS);
	json_t *st = stream_state(fx, c, "DO");
	g_assert_cmpint(info_int(st, "messages", NULL), ==, 3);
	g_assert_cmpint(info_int(st, "first_seq", NULL), ==, 3);
	g_assert_cmpint(info_int(st, "last_seq", NULL), ==, 5);
	json_decref(st);
	add_stream(fx, c, "{\"name\":\"MP\",\"subjects\":[\"mp.*\"],\"max_msgs_per_subject\":2,\"storage\":\"memory\"}");
	const char *subjects[] = { "mp.a", "mp.b", "mp.a", "mp.a", "mp.b", "mp.a" };
	for (size_t k = 0; k < G_N_ELEMENTS(subjects); k++)
		pub(c, subjects[k], NULL, NULL, "m");
	fx_run(fx, 5 * MS);
	st = stream_state(fx, c, "MP");
	g_assert_cmpint(info_int(st, "messages", NULL), ==, 4);
	g_assert_cmpint(info_int(st, "first_seq", NULL), ==, 2);
	g_assert_cmpint(info_int(st, "num_subjects", NULL), ==, 2);
	json_decref(st);
	fx_free(fx);
}

/* NATS-SPEC §3.12 max_age: a timer per store, at the oldest + max_age:
 * max_age 1 s, messages at 0 and 0.5 s -> 2 at 0.5 s, 1 at 1.2 s, 0 at
 * 1.8 s; after expiry first_seq = last_seq + 1. */
static void
test_max_age(void)
{
	Fx *fx = fx_new(25);
	Client *c = fx_client(fx, "c1");
	add_stream(fx, c, "{\"name\":\"AG\",\"subjects\":[\"ag\"],\"max_age\":1000000000,\"storage\":\"memory\"}");
	int64_t t0 = fx_now(fx);
	pub(c, "ag", NULL, NULL, "1");
	fx_run_to(fx, t0 + 500 * MS);
	pub(c, "ag", NULL, NULL, "2");
	fx_run_to(fx, t0 + 500 * MS + 5 * MS);
	json_t *st = stream_state(fx, c, "AG");
	g_assert_cmpint(info_int(st, "messages", NULL), ==, 2);
	json_decref(st);
	fx_run_to(fx, t0 + 1200 * MS);
	st = stream_state(fx, c, "AG");
	g_assert_cmpint(info_int(st, "messages", NULL), ==, 1);
	json_decref(st);
	fx_run_to(fx, t0 + 1800 * MS);
	st = stream_state(fx, c, "AG");
	g_assert_cmpint(info_int(st, "messages", NULL), ==, 0);
	g_assert_cmpint(info_int(st, "first_seq", NULL), ==, 3);
	g_assert_cmpint(info_int(st, "last_seq", NULL), ==, 2);
	json_decref(st);
	fx_free(fx);
}

/* NATS-SPEC §3.12 purge: {} empties (first = last + 1); filter; keep;
 * seq; seq with keep -> 10003. A consumer's start moves with it. */
static void
test_purge(void)
{
	Fx *fx = fx_new(26);
	Client *c = fx_client(fx, "c1");
	add_stream(fx, c, "{\"name\":\"PG\",\"subjects\":[\"pg.*\"],\"storage\":\"memory\"}");
	const char *subjects[] = { "pg.a", "pg.b", "pg.a", "pg.b", "pg.a", "pg.b" };
	for (size_t k = 0; k < G_N_ELEMENTS(subjects); k++)
		pub(c, subjects[k], NULL, NULL, "m");
	fx_run(fx, 5 * MS);
	add_consumer(fx, c, "PG", "D", "{\"durable_name\":\"D\",\"ack_policy\":\"explicit\"}");
	char *e = api_err(fx, c, "$JS.API.STREAM.PURGE.PG", "{\"seq\":3,\"keep\":1}", 10003);
	g_free(e);
	json_t *r = api_ok(fx, c, "$JS.API.STREAM.PURGE.PG", "{\"filter\":\"pg.a\",\"keep\":1}");
	g_assert_cmpint(info_int(r, "purged", NULL), ==, 2);
	g_assert_true(json_is_true(json_object_get(r, "success")));
	json_decref(r);
	r = api_ok(fx, c, "$JS.API.STREAM.PURGE.PG", "{\"seq\":4}");
	g_assert_cmpint(info_int(r, "purged", NULL), ==, 1); /* seq 2 */
	json_decref(r);
	json_t *st = stream_state(fx, c, "PG");
	g_assert_cmpint(info_int(st, "messages", NULL), ==, 3);
	g_assert_cmpint(info_int(st, "first_seq", NULL), ==, 4);
	json_decref(st);
	json_t *ci = consumer_info(fx, c, "PG", "D");
	g_assert_cmpint(info_int(ci, "num_pending", NULL), ==, 3);
	json_decref(ci);
	r = api_ok(fx, c, "$JS.API.STREAM.PURGE.PG", "");
	g_assert_cmpint(info_int(r, "purged", NULL), ==, 3);
	json_decref(r);
	st = stream_state(fx, c, "PG");
	g_assert_cmpint(info_int(st, "messages", NULL), ==, 0);
	g_assert_cmpint(info_int(st, "first_seq", NULL), ==, 7);
	g_assert_cmpint(info_int(st, "last_seq", NULL), ==, 6);
	json_decref(st);
	ci = consumer_info(fx, c, "PG", "D");
	g_assert_cmpint(info_int(ci, "num_pending", NULL), ==, 0);
	g_assert_cmpint(info_int(ci, "ack_floor", "stream_seq"), ==, 6);
	json_decref(ci);
	fx_free(fx);
}

/* TestJetStreamDeliverLastPerSubject: the last message of every matching
 * subject, in stream order, then new ones. */
static void
test_deliver_last_per_subject(void)
{
	Fx *fx = fx_new(27);
	Client *c = fx_client(fx, "c1");
	add_stream(fx, c, "{\"name\":\"LP\",\"subjects\":[\"lp.>\"],\"storage\":\"memory\"}");
	const char *subjects[] = { "lp.a", "lp.b", "lp.a", "lp.c", "lp.b", "lp.x.y" };
	for (size_t k = 0; k < G_N_ELEMENTS(subjects); k++)
		pub(c, subjects[k], NULL, NULL, "m");
	fx_run(fx, 5 * MS);
	add_consumer(fx, c, "LP", "D",
	    "{\"durable_name\":\"D\",\"ack_policy\":\"explicit\",\"deliver_policy\":\"last_per_subject\","
	    "\"filter_subject\":\"lp.*\"}");
	json_t *ci = consumer_info(fx, c, "LP", "D");
	g_assert_cmpint(info_int(ci, "num_pending", NULL), ==, 3);
	json_decref(ci);
	send_text(c, "SUB in 2\r\n");
	pub(c, "lp.d", NULL, NULL, "new");
	fx_run(fx, 5 * MS);
	pull(c, "LP", "D", "in", "10");
	fx_run(fx, 5 * MS);
	GPtrArray *got = deliveries(c, "LP", "D");
	const uint64_t want[] = { 3, 4, 5, 7 };
	g_assert_cmpuint(got->len, ==, G_N_ELEMENTS(want));
	for (guint k = 0; k < got->len; k++)
		g_assert_cmpuint(ack_token(nth(got, k), ACK_SSEQ), ==, want[k]);
	g_ptr_array_free(got, TRUE);
	char *e = api_err(fx, c, "$JS.API.CONSUMER.DURABLE.CREATE.LP.E",
	    "{\"stream_name\":\"LP\",\"config\":{\"durable_name\":\"E\",\"ack_policy\":\"explicit\",\"deliver_policy\":"
	    "\"last_per_subject\"}}",
	    10094);
	g_assert_cmpstr(e, ==, "consumer delivery policy is deliver last per subject, but optional filter subject is not set");
	g_free(e);
	fx_free(fx);
}

/* NATS-SPEC §2.4 dedupe: a repeated Nats-Msg-Id gets the original seq
 * and "duplicate": true, nothing stored; with a 1 s window the id is
 * accepted again at 1.3 s (the sweep ran). */
static void
test_dedupe_window(void)
{
	Fx *fx = fx_new(28);
	Client *c = fx_client(fx, "c1");
	add_stream(fx, c, "{\"name\":\"DD\",\"subjects\":[\"dd\"],\"duplicate_window\":1000000000,\"storage\":\"memory\"}");
	const char *h = "NATS/1.0\r\nNats-Msg-Id: abc\r\n\r\n";
	int64_t t0 = fx_now(fx);
	assert_puback(fx, c, "dd", h, "1", "{\"stream\":\"DD\", \"seq\":1}");
	assert_puback(fx, c, "dd", h, "1", "{\"stream\":\"DD\", \"seq\":1,\"duplicate\": true}");
	json_t *st = stream_state(fx, c, "DD");
	g_assert_cmpint(info_int(st, "messages", NULL), ==, 1);
	json_decref(st);
	fx_run_to(fx, t0 + 1300 * MS);
	assert_puback(fx, c, "dd", h, "1", "{\"stream\":\"DD\", \"seq\":2}");
	fx_free(fx);
}

/* NATS-SPEC §2.4: the Nats-Expected-* headers, each with its error. */
static void
test_expected_headers(void)
{
	Fx *fx = fx_new(29);
	Client *c = fx_client(fx, "c1");
	add_stream(fx, c, "{\"name\":\"EX\",\"subjects\":[\"ex.*\"],\"storage\":\"memory\"}");
	assert_puback(fx, c, "ex.a", "NATS/1.0\r\nNats-Msg-Id: m1\r\n\r\n", "1", "{\"stream\":\"EX\", \"seq\":1}");
	assert_puback(fx, c, "ex.a", "NATS/1.0\r\nNats-Expected-Stream: OTHER\r\n\r\n", "x",
	    "{\"error\":{\"code\":400,\"err_code\":10060,\"description\":\"expected stream does not match\"},\"stream\":"
	    "\"EX\",\"seq\":0}");
	assert_puback(fx, c, "ex.a", "NATS/1.0\r\nNats-Expected-Last-Sequence: 5\r\n\r\n", "x",
	    "{\"error\":{\"code\":400,\"err_code\":10071,\"description\":\"wrong last sequence: 1\"},\"stream\":\"EX\","
	    "\"seq\":0}");
	assert_puback(fx, c, "ex.b", "NATS/1.0\r\nNats-Expected-Last-Subject-Sequence: 1\r\n\r\n", "x",
	    "{\"error\":{\"code\":400,\"err_code\":10071,\"description\":\"wrong last sequence: 0\"},\"stream\":\"EX\","
	    "\"seq\":0}");
	assert_puback(fx, c, "ex.a", "NATS/1.0\r\nNats-Expected-Last-Msg-Id: nope\r\n\r\n", "x",
	    "{\"error\":{\"code\":400,\"err_code\":10070,\"description\":\"wrong last msg ID: m1\"},\"stream\":\"EX\","
	    "\"seq\":0}");
	assert_puback(fx, c, "ex.a", "NATS/1.0\r\nNats-Expected-Last-Sequence: 1\r\n\r\n", "x",
	    "{\"stream\":\"EX\", \"seq\":2}");
	/* a message stored without an id resets the last id */
	assert_puback(fx, c, "ex.a", "NATS/1.0\r\nNats-Expected-Last-Msg-Id: m1\r\n\r\n", "x",
	    "{\"error\":{\"code\":400,\"err_code\":10070,\"description\":\"wrong last msg ID: \"},\"stream\":\"EX\","
	    "\"seq\":0}");
	assert_puback(fx, c, "ex.b", "NATS/1.0\r\nNats-Expected-Last-Subject-Sequence: 0\r\n\r\n", "x",
	    "{\"stream\":\"EX\", \"seq\":3}");
	fx_free(fx);
}

/* NATS-SPEC §3.11: push idle heartbeats every interval with no delivery,
 * carrying the last consumer and stream seqs. */
static void
test_push_idle_heartbeats(void)
{
	Fx *fx = fx_new(30);
	Client *c = fx_client(fx, "c1");
	add_stream(fx, c, "{\"name\":\"HB\",\"subjects\":[\"hb\"],\"storage\":\"memory\"}");
	for (int k = 0; k < 3; k++)
		pub(c, "hb", NULL, NULL, "m");
	send_text(c, "SUB dl 2\r\n");
	fx_run(fx, 5 * MS);
	add_consumer(fx, c, "HB", "D",
	    "{\"durable_name\":\"D\",\"deliver_subject\":\"dl\",\"ack_policy\":\"none\",\"idle_heartbeat\":1000000000}");
	fx_run(fx, 2500 * MS);
	GPtrArray *got = frames_on(c, "dl");
	g_assert_cmpuint(got->len, ==, 2);
	Frame *last = NULL;
	GPtrArray *d = deliveries(c, "HB", "D");
	g_assert_cmpuint(d->len, ==, 3);
	last = nth(d, 2);
	for (guint k = 0; k < got->len; k++) {
		assert_status(nth(got, k), "NATS/1.0 100 Idle Heartbeat");
		g_assert_true(has_header(nth(got, k), "Nats-Last-Consumer: 3\r\n"));
		g_assert_true(has_header(nth(got, k), "Nats-Last-Stream: 3\r\n"));
		g_assert_cmpint(nth(got, k)->at_ns, ==, last->at_ns + (int64_t)(k + 1) * S);
	}
	g_ptr_array_free(d, TRUE);
	g_ptr_array_free(got, TRUE);
	fx_free(fx);
}

/* NATS-SPEC §3.11 flow control: past half of the 2 MiB window a
 * "100 FlowControl Request" with a $JS.FC reply; past the whole window
 * deliveries stop until it is answered. */
static void
test_flow_control(void)
{
	Fx *fx = fx_new(31);
	Client *c = fx_client(fx, "c1");
	add_stream(fx, c, "{\"name\":\"FC\",\"subjects\":[\"fc\"],\"storage\":\"memory\"}");
	char *big = g_malloc(100 * 1024 + 1);
	memset(big, 'z', 100 * 1024);
	big[100 * 1024] = '\0';
	for (int k = 0; k < 30; k++)
		pub(c, "fc", NULL, NULL, big);
	g_free(big);
	send_text(c, "SUB dl 2\r\n");
	fx_run(fx, 50 * MS);
	add_consumer(fx, c, "FC", "D",
	    "{\"durable_name\":\"D\",\"deliver_subject\":\"dl\",\"ack_policy\":\"none\",\"flow_control\":true,"
	    "\"idle_heartbeat\":5000000000}");
	fx_run(fx, 500 * MS);
	GPtrArray *fc = frames_on(c, "dl");
	g_assert_cmpuint(fc->len, ==, 1);
	assert_status(nth(fc, 0), "NATS/1.0 100 FlowControl Request");
	g_assert_true(g_str_has_prefix(nth(fc, 0)->reply, "$JS.FC.FC.D."));
	char *fc_reply = g_strdup(nth(fc, 0)->reply);
	g_ptr_array_free(fc, TRUE);
	GPtrArray *d = deliveries(c, "FC", "D");
	guint before = d->len;
	/* stalled past 2 MiB: about 20 messages of 100 KiB */
	g_assert_cmpuint(before, >, 10);
	g_assert_cmpuint(before, <, 30);
	g_ptr_array_free(d, TRUE);
	pub(c, fc_reply, NULL, NULL, "");
	g_free(fc_reply);
	fx_run(fx, 500 * MS);
	d = deliveries(c, "FC", "D");
	g_assert_cmpuint(d->len, >, before);
	g_ptr_array_free(d, TRUE);
	fx_free(fx);
}

/* NATS-SPEC §2.5/§3.10: an unused ephemeral pull consumer goes after its
 * inactive threshold (5 s, plus 0.1-1.0 s of jitter): the DELETED
 * advisory comes between 5.1 and 6.0 s, and INFO answers 10014. */
static void
test_ephemeral_inactive(void)
{
	Fx *fx = fx_new(32);
	Client *c = fx_client(fx, "c1");
	add_stream(fx, c, "{\"name\":\"EP\",\"subjects\":[\"ep\"],\"storage\":\"memory\"}");
	send_text(c, "SUB $JS.EVENT.ADVISORY.CONSUMER.*.EP.* 2\r\n");
	fx_run(fx, 5 * MS);
	int64_t t0 = fx_now(fx) + MS; /* created at the server */
	json_t *r = api_ok(fx, c, "$JS.API.CONSUMER.CREATE.EP",
	    "{\"stream_name\":\"EP\",\"config\":{\"ack_policy\":\"explicit\"}}");
	const char *name = json_string_value(json_object_get(r, "name"));
	g_assert_cmpuint(strlen(name), ==, 8);
	g_assert_cmpint(info_int(r, "config", "inactive_threshold"), ==, 5 * S);
	char *subject = g_strdup_printf("$JS.API.CONSUMER.INFO.EP.%s", name);
	char *deleted = g_strdup_printf("$JS.EVENT.ADVISORY.CONSUMER.DELETED.EP.%s", name);
	json_decref(r);
	fx_run(fx, 7 * S);
	GPtrArray *adv = expect_frames(c, deleted, 1);
	int64_t gone = nth(adv, 0)->at_ns - MS;
	g_assert_cmpint(gone - t0, >=, 5100 * MS);
	g_assert_cmpint(gone - t0, <=, 6000 * MS);
	g_ptr_array_free(adv, TRUE);
	char *e = api_err(fx, c, subject, "", 10014);
	g_free(e);
	g_free(subject);
	g_free(deleted);
	fx_free(fx);
}

/* NATS-SPEC §3.11 quirk: a wildcard subscription that existed before the
 * push consumer does not make it deliver; an exact one does, and then
 * the wildcard one receives too. */
static void
test_push_exact_interest(void)
{
	Fx *fx = fx_new(33);
	Client *c = fx_client(fx, "c1");
	add_stream(fx, c, "{\"name\":\"PX\",\"subjects\":[\"px\"],\"storage\":\"memory\"}");
	pub(c, "px", NULL, NULL, "m");
	send_text(c, "SUB dl.> 2\r\n");
	fx_run(fx, 5 * MS);
	add_consumer(fx, c, "PX", "D", "{\"durable_name\":\"D\",\"deliver_subject\":\"dl.x\",\"ack_policy\":\"none\"}");
	fx_run(fx, 100 * MS);
	GPtrArray *got = deliveries(c, "PX", "D");
	g_assert_cmpuint(got->len, ==, 0);
	g_ptr_array_free(got, TRUE);
	send_text(c, "SUB dl.x 3\r\n");
	fx_run(fx, 10 * MS);
	got = deliveries(c, "PX", "D");
	g_assert_cmpuint(got->len, ==, 2); /* one copy per matching subscription */
	g_ptr_array_free(got, TRUE);
	fx_free(fx);
}

/* NATS-SPEC §2.3/§2.6: API validation and the error shapes. */
static void
test_api_errors(void)
{
	Fx *fx = fx_new(34);
	Client *c = fx_client(fx, "c1");
	char *e = api_err(fx, c, "$JS.API.STREAM.CREATE.S", "{not json", 10025);
	g_free(e);
	e = api_err(fx, c, "$JS.API.STREAM.CREATE.S", "", 10025);
	g_free(e);
	e = api_err(fx, c, "$JS.API.STREAM.CREATE.S", "{\"name\":\"T\"}", 10056);
	g_free(e);
	e = api_err(fx, c, "$JS.API.STREAM.CREATE.S", "{\"name\":\"S\",\"max_age\":50000000}", 10052);
	g_assert_cmpstr(e, ==, "max age needs to be >= 100ms");
	g_free(e);
	json_t *r = api_ok(fx, c, "$JS.API.STREAM.CREATE.S", "{\"name\":\"S\"}");
	g_assert_true(json_is_true(json_object_get(r, "did_create")));
	json_t *cfg = json_object_get(r, "config");
	g_assert_cmpstr(json_string_value(json_array_get(json_object_get(cfg, "subjects"), 0)), ==, "S");
	g_assert_cmpstr(json_string_value(json_object_get(cfg, "storage")), ==, "file");
	g_assert_cmpint(json_integer_value(json_object_get(cfg, "duplicate_window")), ==, 120 * S);
	g_assert_cmpint(json_integer_value(json_object_get(cfg, "max_msgs")), ==, -1);
	json_decref(r);
	/* identical again: success, did_create again */
	r = api_ok(fx, c, "$JS.API.STREAM.CREATE.S", "{\"name\":\"S\"}");
	g_assert_true(json_is_true(json_object_get(r, "did_create")));
	json_decref(r);
	e = api_err(fx, c, "$JS.API.STREAM.CREATE.S", "{\"name\":\"S\",\"max_msgs\":5}", 10058);
	g_free(e);
	e = api_err(fx, c, "$JS.API.STREAM.CREATE.T", "{\"name\":\"T\",\"subjects\":[\"S\"]}", 10065);
	g_free(e);
	e = api_err(fx, c, "$JS.API.STREAM.UPDATE.S", "{\"name\":\"S\",\"storage\":\"memory\"}", 10052);
	g_assert_cmpstr(e, ==, "stream configuration update can not change storage type");
	g_free(e);
	/* paged error: total/offset/limit 0 */
	r = api(fx, c, "$JS.API.STREAM.INFO.NOPE", "");
	g_assert_cmpint(json_integer_value(json_object_get(json_object_get(r, "error"), "err_code")), ==, 10059);
	g_assert_cmpint(json_integer_value(json_object_get(r, "total")), ==, 0);
	g_assert_cmpint(json_integer_value(json_object_get(r, "limit")), ==, 0);
	json_decref(r);
	e = api_err(fx, c, "$JS.API.CONSUMER.DURABLE.CREATE.S.D",
	    "{\"stream_name\":\"S\",\"config\":{\"durable_name\":\"D\",\"ack_policy\":\"explicit\",\"backoff\":[1000000000,"
	    "2000000000],\"max_deliver\":1}}",
	    10116);
	g_free(e);
	e = api_err(fx, c, "$JS.API.CONSUMER.DURABLE.CREATE.S.D",
	    "{\"stream_name\":\"S\",\"config\":{\"durable_name\":\"X\",\"ack_policy\":\"explicit\"}}", 10017);
	g_free(e);
	e = api_err(fx, c, "$JS.API.CONSUMER.CREATE.S",
	    "{\"stream_name\":\"S\",\"config\":{\"durable_name\":\"X\",\"ack_policy\":\"explicit\"}}", 10020);
	g_free(e);
	e = api_err(fx, c, "$JS.API.CONSUMER.DURABLE.CREATE.S.D",
	    "{\"stream_name\":\"S\",\"config\":{\"durable_name\":\"D\",\"deliver_policy\":\"by_start_sequence\"}}", 10094);
	g_assert_cmpstr(e, ==, "consumer delivery policy is deliver by start sequence, but optional start sequence is not set");
	g_free(e);
	/* a durable re-created with a changed config is updated in place;
	 * a forbidden change is 10012 (code 500) */
	add_consumer(fx, c, "S", "D", "{\"durable_name\":\"D\",\"ack_policy\":\"explicit\"}");
	add_consumer(fx, c, "S", "D", "{\"durable_name\":\"D\",\"ack_policy\":\"explicit\",\"max_deliver\":3}");
	json_t *ci = consumer_info(fx, c, "S", "D");
	g_assert_cmpint(info_int(ci, "config", "max_deliver"), ==, 3);
	json_decref(ci);
	r = api(fx, c, "$JS.API.CONSUMER.DURABLE.CREATE.S.D",
	    "{\"stream_name\":\"S\",\"config\":{\"durable_name\":\"D\",\"ack_policy\":\"all\"}}");
	json_t *err = json_object_get(r, "error");
	g_assert_cmpint(json_integer_value(json_object_get(err, "err_code")), ==, 10012);
	g_assert_cmpint(json_integer_value(json_object_get(err, "code")), ==, 500);
	g_assert_cmpstr(json_string_value(json_object_get(err, "description")), ==, "ack policy can not be updated");
	json_decref(r);
	fx_free(fx);
}

/* A durable consumer on a file stream survives a broker crash and
 * restart once its state reached the disk: messages, ack floor, pending
 * (redelivered after the restart). */
static void
test_restart_durable(void)
{
	Fx *fx = fx_new(35);
	Client *c = fx_client(fx, "c1");
	add_stream(fx, c, "{\"name\":\"RS\",\"subjects\":[\"rs\"],\"storage\":\"file\"}");
	add_consumer(fx, c, "RS", "D", "{\"durable_name\":\"D\",\"ack_policy\":\"explicit\",\"ack_wait\":60000000000}");
	for (int k = 0; k < 4; k++)
		pub(c, "rs", NULL, NULL, "m");
	send_text(c, "SUB in 2\r\n");
	fx_run(fx, 5 * MS);
	pull(c, "RS", "D", "in", "3");
	fx_run(fx, 5 * MS);
	GPtrArray *got = deliveries(c, "RS", "D");
	g_assert_cmpuint(got->len, ==, 3);
	ack(c, nth(got, 0), "+ACK");
	ack(c, nth(got, 1), "+ACK");
	g_ptr_array_free(got, TRUE);
	/* long enough for any sync interval (nats-server's default: 2 min) */
	fx_run(fx, 150 * S);
	SimNode *node = sim_broker_node_node(fx->bn);
	sim_node_crash(node);
	sim_node_restart(node);
	fx_run(fx, 10 * MS);
	Client *c2 = fx_client(fx, "c2");
	json_t *st = stream_state(fx, c2, "RS");
	g_assert_cmpint(info_int(st, "messages", NULL), ==, 4);
	json_decref(st);
	json_t *ci = consumer_info(fx, c2, "RS", "D");
	g_assert_cmpint(info_int(ci, "ack_floor", "stream_seq"), ==, 2);
	g_assert_cmpint(info_int(ci, "num_ack_pending", NULL), ==, 1);
	json_decref(ci);
	send_text(c2, "SUB in 2\r\n");
	fx_run(fx, 2 * S);
	pull(c2, "RS", "D", "in", "5");
	fx_run(fx, 10 * MS);
	got = deliveries(c2, "RS", "D");
	g_assert_cmpuint(got->len, ==, 2);
	g_assert_cmpuint(ack_token(nth(got, 0), ACK_SSEQ), ==, 3);
	g_assert_cmpuint(ack_token(nth(got, 0), ACK_DC), ==, 2);
	g_assert_cmpuint(ack_token(nth(got, 1), ACK_SSEQ), ==, 4);
	g_ptr_array_free(got, TRUE);
	fx_free(fx);
}


/* NATS-SPEC §3.8: the ack floor with 4 delivered: ack #2 -> 0/0, ack #1
 * -> 2/2, ack #4 -> 2/2, ack #3 -> 4/4 (pending empty). */
static void
test_ack_floor(void)
{
	Fx *fx = fx_new(36);
	Client *c = fx_client(fx, "c1");
	add_stream(fx, c, "{\"name\":\"AF\",\"subjects\":[\"af\"],\"storage\":\"memory\"}");
	add_consumer(fx, c, "AF", "D", "{\"durable_name\":\"D\",\"ack_policy\":\"explicit\"}");
	for (int k = 0; k < 4; k++)
		pub(c, "af", NULL, NULL, "m");
	send_text(c, "SUB in 2\r\n");
	fx_run(fx, 5 * MS);
	pull(c, "AF", "D", "in", "4");
	fx_run(fx, 5 * MS);
	GPtrArray *got = deliveries(c, "AF", "D");
	g_assert_cmpuint(got->len, ==, 4);
	const guint order[] = { 1, 0, 3, 2 };
	const int64_t floor[] = { 0, 2, 2, 4 };
	for (guint k = 0; k < 4; k++) {
		ack(c, nth(got, order[k]), "+ACK");
		fx_run(fx, 5 * MS);
		json_t *ci = consumer_info(fx, c, "AF", "D");
		g_assert_cmpint(info_int(ci, "ack_floor", "consumer_seq"), ==, floor[k]);
		g_assert_cmpint(info_int(ci, "ack_floor", "stream_seq"), ==, floor[k]);
		g_assert_cmpint(info_int(ci, "num_ack_pending", NULL), ==, 3 - (int64_t)k);
		/* last_active changes on every ack, moved or not */
		g_assert_nonnull(json_object_get(json_object_get(ci, "ack_floor"), "last_active"));
		json_decref(ci);
	}
	g_ptr_array_free(got, TRUE);
	fx_free(fx);
}

/* TestJetStreamConsumerPendingCountWithRedeliveries: max_deliver 1 - the
 * expired message is dropped from pending at the scan, num_pending stays
 * 0 and the next new message goes out with delivery count 1. */
static void
test_pending_count_max_deliver_one(void)
{
	Fx *fx = fx_new(37);
	Client *c = fx_client(fx, "c1");
	add_stream(fx, c, "{\"name\":\"PC\",\"subjects\":[\"pc\"],\"storage\":\"memory\"}");
	add_consumer(fx, c, "PC", "D",
	    "{\"durable_name\":\"D\",\"ack_policy\":\"explicit\",\"max_deliver\":1,\"ack_wait\":100000000}");
	pub(c, "pc", NULL, NULL, "1");
	send_text(c, "SUB in 2\r\n");
	fx_run(fx, 5 * MS);
	pull(c, "PC", "D", "in", "");
	fx_run(fx, 300 * MS);
	json_t *ci = consumer_info(fx, c, "PC", "D");
	g_assert_cmpint(info_int(ci, "num_pending", NULL), ==, 0);
	g_assert_cmpint(info_int(ci, "num_ack_pending", NULL), ==, 0);
	json_decref(ci);
	pub(c, "pc", NULL, NULL, "2");
	pull(c, "PC", "D", "in", "");
	fx_run(fx, 5 * MS);
	GPtrArray *got = deliveries(c, "PC", "D");
	g_assert_cmpuint(got->len, ==, 2);
	g_assert_cmpuint(ack_token(nth(got, 1), ACK_SSEQ), ==, 2);
	g_assert_cmpuint(ack_token(nth(got, 1), ACK_DC), ==, 1);
	g_ptr_array_free(got, TRUE);
	fx_free(fx);
}

/* NATS-SPEC §3.9/§3.5, push: max_ack_pending 3 stops new messages at 3
 * unacked; an ack lets the next one go; redeliveries come before new
 * messages (m1 again before m5). */
static void
test_max_ack_pending_push(void)
{
	Fx *fx = fx_new(38);
	Client *c = fx_client(fx, "c1");
	add_stream(fx, c, "{\"name\":\"MP\",\"subjects\":[\"mp\"],\"storage\":\"memory\"}");
	for (int k = 0; k < 6; k++)
		pub(c, "mp", NULL, NULL, "m");
	send_text(c, "SUB dl 2\r\n");
	fx_run(fx, 5 * MS);
	add_consumer(fx, c, "MP", "D",
	    "{\"durable_name\":\"D\",\"deliver_subject\":\"dl\",\"ack_policy\":\"explicit\",\"max_ack_pending\":3,"
	    "\"ack_wait\":1000000000}");
	fx_run(fx, 100 * MS);
	GPtrArray *got = deliveries(c, "MP", "D");
	g_assert_cmpuint(got->len, ==, 3);
	ack(c, nth(got, 1), "+ACK");
	g_ptr_array_free(got, TRUE);
	fx_run(fx, 10 * MS);
	got = deliveries(c, "MP", "D");
	g_assert_cmpuint(got->len, ==, 4);
	g_assert_cmpuint(ack_token(nth(got, 3), ACK_SSEQ), ==, 4);
	g_ptr_array_free(got, TRUE);
	/* after ack_wait: 1, 3, 4 come back (in seq order), before 5 */
	fx_run(fx, 1100 * MS);
	got = deliveries(c, "MP", "D");
	g_assert_cmpuint(got->len, ==, 7);
	g_assert_cmpuint(ack_token(nth(got, 4), ACK_SSEQ), ==, 1);
	g_assert_cmpuint(ack_token(nth(got, 5), ACK_SSEQ), ==, 3);
	g_assert_cmpuint(ack_token(nth(got, 6), ACK_SSEQ), ==, 4);
	g_ptr_array_free(got, TRUE);
	fx_free(fx);
}

/* NATS-SPEC §3.8: starting positions. new -> delivered.stream_seq =
 * last; by_start_sequence clamps into [first, last+1] (2.10; 2.14 keeps
 * a future opt_start_seq); last -> the last
 * (of the filter). */
static void
test_deliver_policies(void)
{
	Fx *fx = fx_new(39);
	Client *c = fx_client(fx, "c1");
	add_stream(fx, c, "{\"name\":\"DP\",\"subjects\":[\"dp.*\"],\"storage\":\"memory\"}");
	const char *subjects[] = { "dp.a", "dp.b", "dp.a" };
	for (size_t k = 0; k < G_N_ELEMENTS(subjects); k++)
		pub(c, subjects[k], NULL, NULL, "m");
	fx_run(fx, 5 * MS);
	add_consumer(fx, c, "DP", "NEW", "{\"durable_name\":\"NEW\",\"ack_policy\":\"explicit\",\"deliver_policy\":\"new\"}");
	json_t *ci = consumer_info(fx, c, "DP", "NEW");
	g_assert_cmpint(info_int(ci, "delivered", "stream_seq"), ==, 3);
	/* ConsumerInfo reports the consumer store's state: SetStarting moves
	 * only delivered in 2.10 (ack floor 0), delivered and the ack floor
	 * in 2.14 (3); the consumer side follows one of them. */
	int64_t floor = info_int(ci, "ack_floor", "stream_seq");
	g_assert_true(floor == 0 || floor == 3);
	g_assert_cmpint(info_int(ci, "num_pending", NULL), ==, 0);
	json_decref(ci);
	add_consumer(fx, c, "DP", "SEQ",
	    "{\"durable_name\":\"SEQ\",\"ack_policy\":\"explicit\",\"deliver_policy\":\"by_start_sequence\","
	    "\"opt_start_seq\":2}");
	ci = consumer_info(fx, c, "DP", "SEQ");
	g_assert_cmpint(info_int(ci, "num_pending", NULL), ==, 2);
	g_assert_cmpint(info_int(ci, "delivered", "stream_seq"), ==, 1);
	json_decref(ci);
	add_consumer(fx, c, "DP", "FAR",
	    "{\"durable_name\":\"FAR\",\"ack_policy\":\"explicit\",\"deliver_policy\":\"by_start_sequence\","
	    "\"opt_start_seq\":99}");
	ci = consumer_info(fx, c, "DP", "FAR");
	/* 2.10 clamps a start past the end to last+1 (delivered 3); 2.14
	 * respects a set opt_start_seq (delivered 98) */
	int64_t far = info_int(ci, "delivered", "stream_seq");
	g_assert_true(far == 3 || far == 98);
	json_decref(ci);
	add_consumer(fx, c, "DP", "LAST",
	    "{\"durable_name\":\"LAST\",\"ack_policy\":\"explicit\",\"deliver_policy\":\"last\",\"filter_subject\":"
	    "\"dp.b\"}");
	send_text(c, "SUB in 2\r\n");
	fx_run(fx, 5 * MS);
	pull(c, "DP", "LAST", "in", "5");
	fx_run(fx, 5 * MS);
	GPtrArray *got = deliveries(c, "DP", "LAST");
	g_assert_cmpuint(got->len, ==, 1);
	g_assert_cmpuint(ack_token(nth(got, 0), ACK_SSEQ), ==, 2);
	g_ptr_array_free(got, TRUE);
	fx_free(fx);
}

/* NATS-SPEC §2.4: rollup (sub and all; refused without
 * allow_rollup_hdrs), max_msg_size counting headers, sealed streams. */
static void
test_rollup_size_sealed(void)
{
	Fx *fx = fx_new(40);
	Client *c = fx_client(fx, "c1");
	add_stream(fx, c, "{\"name\":\"RU\",\"subjects\":[\"ru.*\"],\"allow_rollup_hdrs\":true,\"max_msg_size\":40,"
			  "\"storage\":\"memory\"}");
	for (int k = 0; k < 3; k++)
		pub(c, "ru.a", NULL, NULL, "m");
	pub(c, "ru.b", NULL, NULL, "m");
	fx_run(fx, 5 * MS);
	assert_puback(fx, c, "ru.a", "NATS/1.0\r\nNats-Rollup: sub\r\n\r\n", "r", "{\"stream\":\"RU\", \"seq\":5}");
	json_t *st = stream_state(fx, c, "RU");
	g_assert_cmpint(info_int(st, "messages", NULL), ==, 2);
	json_decref(st);
	assert_puback(fx, c, "ru.b", "NATS/1.0\r\nNats-Rollup: all\r\n\r\n", "r", "{\"stream\":\"RU\", \"seq\":6}");
	st = stream_state(fx, c, "RU");
	g_assert_cmpint(info_int(st, "messages", NULL), ==, 1);
	g_assert_cmpint(info_int(st, "first_seq", NULL), ==, 6);
	json_decref(st);
	/* 30 header bytes + 11 payload bytes > 40 */
	assert_puback(fx, c, "ru.a", "NATS/1.0\r\nX-Long-Header: 12\r\n\r\n", "12345678901",
	    "{\"error\":{\"code\":400,\"err_code\":10054,\"description\":\"message size exceeds maximum allowed\"},"
	    "\"stream\":\"RU\",\"seq\":0}");
	add_stream(fx, c, "{\"name\":\"NR\",\"subjects\":[\"nr\"],\"storage\":\"memory\"}");
	assert_puback(fx, c, "nr", "NATS/1.0\r\nNats-Rollup: all\r\n\r\n", "r",
	    "{\"error\":{\"code\":500,\"err_code\":10111,\"description\":\"rollup not permitted\"},\"stream\":\"NR\","
	    "\"seq\":0}");
	/* sealing: allowed by update, then publishes, deletes and purges fail */
	api_do(fx, c, "$JS.API.STREAM.UPDATE.NR", "{\"name\":\"NR\",\"subjects\":[\"nr\"],\"storage\":\"memory\",\"sealed\":true}");
	assert_puback(fx, c, "nr", NULL, "x",
	    "{\"error\":{\"code\":400,\"err_code\":10109,\"description\":\"invalid operation on sealed stream\"},"
	    "\"stream\":\"NR\",\"seq\":0}");
	char *e = api_err(fx, c, "$JS.API.STREAM.PURGE.NR", "", 10109);
	g_free(e);
	e = api_err(fx, c, "$JS.API.STREAM.UPDATE.NR", "{\"name\":\"NR\",\"subjects\":[\"nr\"],\"storage\":\"memory\"}", 10052);
	g_assert_cmpstr(e, ==, "stream configuration update can not unseal a sealed stream");
	g_free(e);
	fx_free(fx);
}

/* MSG.GET by seq, last_by_subj and next_by_subj (base64 data); MSG.DELETE
 * leaves a gap; errors 10003, 10037, 10043. */
static void
test_msg_get_delete(void)
{
	Fx *fx = fx_new(41);
	Client *c = fx_client(fx, "c1");
	add_stream(fx, c, "{\"name\":\"MG\",\"subjects\":[\"mg.*\"],\"storage\":\"memory\"}");
	pub(c, "mg.a", NULL, NULL, "one");
	pub(c, "mg.b", NULL, "NATS/1.0\r\nK: v\r\n\r\n", "two");
	pub(c, "mg.a", NULL, NULL, "three");
	fx_run(fx, 5 * MS);
	json_t *r = api_ok(fx, c, "$JS.API.STREAM.MSG.GET.MG", "{\"seq\":2}");
	json_t *m = json_object_get(r, "message");
	g_assert_cmpstr(json_string_value(json_object_get(m, "subject")), ==, "mg.b");
	g_assert_cmpstr(json_string_value(json_object_get(m, "data")), ==, "dHdv");
	g_assert_cmpstr(json_string_value(json_object_get(m, "hdrs")), ==, "TkFUUy8xLjANCks6IHYNCg0K");
	json_decref(r);
	r = api_ok(fx, c, "$JS.API.STREAM.MSG.GET.MG", "{\"last_by_subj\":\"mg.a\"}");
	g_assert_cmpint(json_integer_value(json_object_get(json_object_get(r, "message"), "seq")), ==, 3);
	json_decref(r);
	r = api_ok(fx, c, "$JS.API.STREAM.MSG.GET.MG", "{\"next_by_subj\":\"mg.a\",\"seq\":2}");
	g_assert_cmpint(json_integer_value(json_object_get(json_object_get(r, "message"), "seq")), ==, 3);
	json_decref(r);
	char *e = api_err(fx, c, "$JS.API.STREAM.MSG.GET.MG", "", 10003);
	g_free(e);
	e = api_err(fx, c, "$JS.API.STREAM.MSG.GET.MG", "{\"seq\":9}", 10037);
	g_free(e);
	r = api_ok(fx, c, "$JS.API.STREAM.MSG.DELETE.MG", "{\"seq\":2}");
	g_assert_true(json_is_true(json_object_get(r, "success")));
	json_decref(r);
	json_t *st = stream_state(fx, c, "MG");
	g_assert_cmpint(info_int(st, "num_deleted", NULL), ==, 1);
	json_decref(st);
	e = api_err(fx, c, "$JS.API.STREAM.MSG.DELETE.MG", "{\"seq\":2}", 10043);
	g_assert_cmpstr(e, ==, "sequence 2 not found");
	g_free(e);
	r = api_ok(fx, c, "$JS.API.STREAM.INFO.MG", "{\"deleted_details\":true,\"subjects_filter\":\">\"}");
	json_t *state = json_object_get(r, "state");
	g_assert_cmpint(json_integer_value(json_array_get(json_object_get(state, "deleted"), 0)), ==, 2);
	g_assert_cmpint(json_integer_value(json_object_get(json_object_get(state, "subjects"), "mg.a")), ==, 2);
	g_assert_cmpint(json_integer_value(json_object_get(r, "total")), ==, 1);
	json_decref(r);
	fx_free(fx);
}

/* Names and lists: sorted, paged by offset; "streams": null when there
 * is nothing to name; account info counts. */
static void
test_names_lists_account(void)
{
	Fx *fx = fx_new(42);
	Client *c = fx_client(fx, "c1");
	char *text;
	json_t *r = api_ok(fx, c, "$JS.API.STREAM.NAMES", "");
	g_assert_true(json_is_null(json_object_get(r, "streams")));
	json_decref(r);
	const char *names[] = { "ZED", "ALPHA", "MID" };
	for (size_t k = 0; k < G_N_ELEMENTS(names); k++) {
		char *cfg = g_strdup_printf("{\"name\":\"%s\",\"storage\":\"memory\"}", names[k]);
		add_stream(fx, c, cfg);
		g_free(cfg);
	}
	r = api_ok(fx, c, "$JS.API.STREAM.NAMES", "{\"offset\":1}");
	text = json_dumps(json_object_get(r, "streams"), JSON_COMPACT);
	g_assert_cmpstr(text, ==, "[\"MID\",\"ZED\"]");
	free(text);
	g_assert_cmpint(info_int(r, "total", NULL), ==, 3);
	g_assert_cmpint(info_int(r, "limit", NULL), ==, 1024);
	json_decref(r);
	r = api_ok(fx, c, "$JS.API.STREAM.LIST", "");
	g_assert_cmpint(info_int(r, "limit", NULL), ==, 256);
	g_assert_cmpstr(json_string_value(json_object_get(json_object_get(json_array_get(json_object_get(r, "streams"), 0),
				"config"),
			    "name")),
	    ==, "ALPHA");
	json_decref(r);
	add_consumer(fx, c, "MID", "b", "{\"durable_name\":\"b\",\"ack_policy\":\"explicit\"}");
	add_consumer(fx, c, "MID", "a", "{\"durable_name\":\"a\",\"ack_policy\":\"explicit\"}");
	r = api_ok(fx, c, "$JS.API.CONSUMER.NAMES.MID", "");
	text = json_dumps(json_object_get(r, "consumers"), JSON_COMPACT);
	g_assert_cmpstr(text, ==, "[\"a\",\"b\"]");
	free(text);
	json_decref(r);
	r = api_ok(fx, c, "$JS.API.INFO", "");
	g_assert_cmpint(info_int(r, "streams", NULL), ==, 3);
	g_assert_cmpint(info_int(r, "consumers", NULL), ==, 2);
	g_assert_cmpint(info_int(r, "limits", "max_streams"), ==, -1);
	g_assert_true(info_int(r, "api", "total") > 0);
	json_decref(r);
	fx_free(fx);
}

/* A deleted pull consumer tells its waiting requests (409 Consumer
 * Deleted); TERM carries its reason (2.10); a NAK of an acked message
 * changes nothing (TestJetStreamCanNotNakAckd); headers_only sends the
 * size instead of the payload. */
static void
test_consumer_misc(void)
{
	Fx *fx = fx_new(43);
	Client *c = fx_client(fx, "c1");
	add_stream(fx, c, "{\"name\":\"CM\",\"subjects\":[\"cm\"],\"storage\":\"memory\"}");
	add_consumer(fx, c, "CM", "D", "{\"durable_name\":\"D\",\"ack_policy\":\"explicit\",\"ack_wait\":200000000}");
	send_text(c, INBOX_SUBS);
	send_text(c, "SUB $JS.EVENT.ADVISORY.CONSUMER.> 3\r\n");
	pub(c, "cm", NULL, NULL, "payload");
	pub(c, "cm", NULL, NULL, "payload");
	fx_run(fx, 5 * MS);
	pull(c, "CM", "D", "in.1", "2");
	fx_run(fx, 5 * MS);
	GPtrArray *got = deliveries(c, "CM", "D");
	g_assert_cmpuint(got->len, ==, 2);
	ack(c, nth(got, 0), "+ACK");
	fx_run(fx, 5 * MS);
	ack(c, nth(got, 0), "-NAK");
	ack(c, nth(got, 1), "+TERM no longer wanted");
	g_ptr_array_free(got, TRUE);
	fx_run(fx, 500 * MS);
	GPtrArray *adv = expect_frames(c, "$JS.EVENT.ADVISORY.CONSUMER.MSG_NAKED.CM.D", 0);
	g_ptr_array_free(adv, TRUE);
	adv = expect_frames(c, "$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.CM.D", 1);
	json_t *a = json_loads(nth(adv, 0)->data, 0, NULL);
	g_assert_cmpstr(json_string_value(json_object_get(a, "reason")), ==, "no longer wanted");
	json_decref(a);
	g_ptr_array_free(adv, TRUE);
	got = deliveries(c, "CM", "D");
	g_assert_cmpuint(got->len, ==, 2); /* nothing redelivered */
	g_ptr_array_free(got, TRUE);
	pull(c, "CM", "D", "in.2", "{\"batch\":1,\"expires\":10000000000}");
	fx_run(fx, 5 * MS);
	api_do(fx, c, "$JS.API.CONSUMER.DELETE.CM.D", "");
	GPtrArray *st = expect_sid(c, "22", 1);
	assert_status(nth(st, 0), "NATS/1.0 409 Consumer Deleted");
	g_ptr_array_free(st, TRUE);
	adv = expect_frames(c, "$JS.EVENT.ADVISORY.CONSUMER.DELETED.CM.D", 1);
	g_ptr_array_free(adv, TRUE);
	add_consumer(fx, c, "CM", "H", "{\"durable_name\":\"H\",\"ack_policy\":\"none\",\"headers_only\":true}");
	pull(c, "CM", "H", "in.3", "");
	fx_run(fx, 5 * MS);
	got = deliveries(c, "CM", "H");
	g_assert_cmpuint(got->len, ==, 1);
	g_assert_cmpstr(nth(got, 0)->data, ==, "");
	g_assert_true(has_header(nth(got, 0), "Nats-Msg-Size: 7\r\n"));
	g_ptr_array_free(got, TRUE);
	fx_free(fx);
}

/* /jsz: the counts of a running JetStream, through the core's monitor. */
static void
test_jsz(void)
{
	Fx *fx = fx_new(44);
	Client *c = fx_client(fx, "c1");
	add_stream(fx, c, "{\"name\":\"JZ\",\"subjects\":[\"jz\"],\"storage\":\"memory\"}");
	add_consumer(fx, c, "JZ", "D", "{\"durable_name\":\"D\",\"ack_policy\":\"explicit\"}");
	for (int k = 0; k < 3; k++)
		pub(c, "jz", NULL, NULL, "m");
	fx_run(fx, 5 * MS);
	Broker *b = sim_broker_node_broker(fx->bn);
	int status;
	const char *type;
	BrokerMonitorArg args[] = { { "streams", "1" } };
	char *body = broker_monitor(b, "/jsz", args, 1, NULL, sim_node_clock_ns(sim_broker_node_node(fx->bn)), &status,
	    &type);
	g_assert_cmpint(status, ==, 200);
	json_t *z = json_loads(body, 0, NULL);
	g_assert_nonnull(z);
	g_assert_cmpint(info_int(z, "streams", NULL), ==, 1);
	g_assert_cmpint(info_int(z, "consumers", NULL), ==, 1);
	g_assert_cmpint(info_int(z, "messages", NULL), ==, 3);
	g_assert_cmpint(info_int(z, "memory", NULL), ==, 3 * (2 + 1 + 16));
	g_assert_null(json_object_get(z, "disabled"));
	json_t *detail = json_array_get(json_object_get(json_array_get(json_object_get(z, "account_details"), 0),
					     "stream_detail"),
	    0);
	g_assert_cmpstr(json_string_value(json_object_get(detail, "name")), ==, "JZ");
	json_decref(z);
	g_free(body);
	body = broker_monitor(b, "/varz", NULL, 0, NULL, sim_node_clock_ns(sim_broker_node_node(fx->bn)), &status, &type);
	z = json_loads(body, 0, NULL);
	g_assert_nonnull(json_object_get(json_object_get(z, "jetstream"), "config"));
	g_assert_nonnull(json_object_get(json_object_get(z, "jetstream"), "stats"));
	json_decref(z);
	g_free(body);
	/* INFO says "jetstream":true after max_payload */
	g_assert_nonnull(strstr(sim_raw_client_text(c->rc), "\"max_payload\":1048576,\"jetstream\":true"));
	fx_free(fx);
}


/* Interest retention and consumer deletion: messages that only the
 * deleted consumer still needed go; with the last consumer gone the
 * stream is emptied (cleanupNoInterestMessages). */
static void
test_interest_consumer_delete(void)
{
	Fx *fx = fx_new(45);
	Client *c = fx_client(fx, "c1");
	add_stream(fx, c, "{\"name\":\"ID\",\"subjects\":[\"id.*\"],\"retention\":\"interest\",\"storage\":\"memory\"}");
	add_consumer(fx, c, "ID", "A", "{\"durable_name\":\"A\",\"ack_policy\":\"explicit\",\"filter_subject\":\"id.a\"}");
	add_consumer(fx, c, "ID", "B", "{\"durable_name\":\"B\",\"ack_policy\":\"explicit\"}");
	pub(c, "id.a", NULL, NULL, "1");
	pub(c, "id.b", NULL, NULL, "2");
	fx_run(fx, 5 * MS);
	api_do(fx, c, "$JS.API.CONSUMER.DELETE.ID.B", "");
	json_t *st = stream_state(fx, c, "ID");
	g_assert_cmpint(info_int(st, "messages", NULL), ==, 1); /* id.b needed only B */
	json_decref(st);
	api_do(fx, c, "$JS.API.CONSUMER.DELETE.ID.A", "");
	st = stream_state(fx, c, "ID");
	g_assert_cmpint(info_int(st, "messages", NULL), ==, 0);
	json_decref(st);
	fx_free(fx);
}

/* A push consumer follows its deliver subject's interest: after UNSUB it
 * stops, after SUB again it resumes; an ephemeral push consumer without
 * interest is deleted after its inactive threshold. */
static void
test_push_interest_changes(void)
{
	Fx *fx = fx_new(46);
	Client *c = fx_client(fx, "c1");
	add_stream(fx, c, "{\"name\":\"PI\",\"subjects\":[\"pi\"],\"storage\":\"memory\"}");
	send_text(c, "SUB dl 2\r\nSUB $JS.EVENT.ADVISORY.CONSUMER.DELETED.> 3\r\n");
	fx_run(fx, 5 * MS);
	add_consumer(fx, c, "PI", "D", "{\"durable_name\":\"D\",\"deliver_subject\":\"dl\",\"ack_policy\":\"none\"}");
	pub(c, "pi", NULL, NULL, "1");
	fx_run(fx, 5 * MS);
	send_text(c, "UNSUB 2\r\n");
	fx_run(fx, 5 * MS);
	pub(c, "pi", NULL, NULL, "2");
	fx_run(fx, 50 * MS);
	GPtrArray *got = deliveries(c, "PI", "D");
	g_assert_cmpuint(got->len, ==, 1);
	g_ptr_array_free(got, TRUE);
	json_t *ci = consumer_info(fx, c, "PI", "D");
	g_assert_null(json_object_get(ci, "push_bound"));
	json_decref(ci);
	send_text(c, "SUB dl 4\r\n");
	fx_run(fx, 10 * MS);
	got = deliveries(c, "PI", "D");
	g_assert_cmpuint(got->len, ==, 2);
	g_assert_cmpuint(ack_token(nth(got, 1), ACK_SSEQ), ==, 2);
	g_ptr_array_free(got, TRUE);
	/* an ephemeral push consumer nobody listens to */
	json_t *r = api_ok(fx, c, "$JS.API.CONSUMER.CREATE.PI",
	    "{\"stream_name\":\"PI\",\"config\":{\"deliver_subject\":\"nobody\",\"ack_policy\":\"none\"}}");
	char *deleted = g_strdup_printf("$JS.EVENT.ADVISORY.CONSUMER.DELETED.PI.%s",
	    json_string_value(json_object_get(r, "name")));
	json_decref(r);
	fx_run(fx, 7 * S);
	GPtrArray *adv = expect_frames(c, deleted, 1);
	g_ptr_array_free(adv, TRUE);
	g_free(deleted);
	fx_free(fx);
}

/* Pull request limits: max_waiting, max_batch, max_expires, max_bytes
 * (409s with nats-server's texts), a requester that went away is
 * dropped, and the wait queue frees up. */
static void
test_pull_limits(void)
{
	Fx *fx = fx_new(47);
	Client *c = fx_client(fx, "c1");
	add_stream(fx, c, "{\"name\":\"PL\",\"subjects\":[\"pl\"],\"storage\":\"memory\"}");
	add_consumer(fx, c, "PL", "D",
	    "{\"durable_name\":\"D\",\"ack_policy\":\"explicit\",\"max_waiting\":1,\"max_batch\":5,"
	    "\"max_expires\":2000000000,\"max_bytes\":1000}");
	send_text(c, INBOX_SUBS);
	fx_run(fx, 5 * MS);
	pull(c, "PL", "D", "in.1", "{\"batch\":1,\"expires\":1000000000}");
	pull(c, "PL", "D", "in.2", "{\"batch\":1,\"expires\":1000000000}");
	pull(c, "PL", "D", "in.3", "{\"batch\":6}");
	pull(c, "PL", "D", "in.4", "{\"batch\":1,\"expires\":3000000000}");
	fx_run(fx, 5 * MS);
	GPtrArray *got = expect_sid(c, "22", 1);
	assert_status(nth(got, 0), "NATS/1.0 409 Exceeded MaxWaiting");
	g_ptr_array_free(got, TRUE);
	got = expect_sid(c, "23", 1);
	assert_status(nth(got, 0), "NATS/1.0 409 Exceeded MaxRequestBatch of 5");
	g_ptr_array_free(got, TRUE);
	got = expect_sid(c, "24", 1);
	assert_status(nth(got, 0), "NATS/1.0 409 Exceeded MaxRequestExpires of 2s");
	g_ptr_array_free(got, TRUE);
	pull(c, "PL", "D", "in.ackack", "{\"batch\":1,\"max_bytes\":2000}");
	fx_run(fx, 5 * MS);
	got = expect_sid(c, "25", 1);
	assert_status(nth(got, 0), "NATS/1.0 409 Exceeded MaxRequestMaxBytes of 1000");
	g_ptr_array_free(got, TRUE);
	/* the requester of in.1 goes away: its request is dropped silently */
	send_text(c, "UNSUB 21\r\n");
	fx_run(fx, 5 * MS);
	pub(c, "pl", NULL, NULL, "m");
	fx_run(fx, 5 * MS);
	json_t *ci = consumer_info(fx, c, "PL", "D");
	g_assert_cmpint(info_int(ci, "num_waiting", NULL), ==, 0);
	g_assert_cmpint(info_int(ci, "num_pending", NULL), ==, 1);
	json_decref(ci);
	pull(c, "PL", "D", "in.next", "");
	fx_run(fx, 5 * MS);
	got = deliveries(c, "PL", "D");
	g_assert_cmpuint(got->len, ==, 1);
	g_ptr_array_free(got, TRUE);
	fx_free(fx);
}

/* A stream deleted under its consumers: consumer DELETED advisories, then
 * the stream's; a waiting pull request hears 409 Consumer Deleted; the
 * subjects are free again. */
static void
test_stream_delete(void)
{
	Fx *fx = fx_new(48);
	Client *c = fx_client(fx, "c1");
	add_stream(fx, c, "{\"name\":\"SD\",\"subjects\":[\"sd\"],\"storage\":\"file\"}");
	add_consumer(fx, c, "SD", "D", "{\"durable_name\":\"D\",\"ack_policy\":\"explicit\"}");
	send_text(c, INBOX_SUBS);
	send_text(c, "SUB $JS.EVENT.ADVISORY.> 3\r\n");
	fx_run(fx, 5 * MS);
	pull(c, "SD", "D", "in.1", "{\"batch\":1,\"expires\":5000000000}");
	fx_run(fx, 5 * MS);
	forget(c);
	api_do(fx, c, "$JS.API.STREAM.DELETE.SD", "");
	GPtrArray *got = expect_sid(c, "21", 1);
	assert_status(nth(got, 0), "NATS/1.0 409 Consumer Deleted");
	g_ptr_array_free(got, TRUE);
	got = expect_frames(c, "$JS.EVENT.ADVISORY.CONSUMER.DELETED.SD.D", 1);
	g_ptr_array_free(got, TRUE);
	got = expect_frames(c, "$JS.EVENT.ADVISORY.STREAM.DELETED.SD", 1);
	g_ptr_array_free(got, TRUE);
	char *e = api_err(fx, c, "$JS.API.CONSUMER.INFO.SD.D", "", 10059);
	g_free(e);
	/* no stream captures sd now: a request gets no responders */
	pub(c, "sd", "in.2", NULL, "x");
	fx_run(fx, 5 * MS);
	got = expect_sid(c, "22", 1);
	assert_status(nth(got, 0), "NATS/1.0 503");
	g_ptr_array_free(got, TRUE);
	add_stream(fx, c, "{\"name\":\"SD2\",\"subjects\":[\"sd\"],\"storage\":\"memory\"}");
	fx_free(fx);
}

/* Without a sync (the file store's default interval has not passed), a
 * crash loses what was written since: the broker comes back with an
 * older but consistent stream and consumer, and carries on. */
static void
test_crash_unsynced(void)
{
	Fx *fx = fx_new(49);
	Client *c = fx_client(fx, "c1");
	add_stream(fx, c, "{\"name\":\"CU\",\"subjects\":[\"cu\"],\"storage\":\"file\"}");
	add_consumer(fx, c, "CU", "D", "{\"durable_name\":\"D\",\"ack_policy\":\"explicit\"}");
	for (int k = 0; k < 5; k++)
		pub(c, "cu", NULL, NULL, "m");
	send_text(c, "SUB in 2\r\n");
	fx_run(fx, 5 * MS);
	pull(c, "CU", "D", "in", "5");
	fx_run(fx, 5 * MS);
	GPtrArray *got = deliveries(c, "CU", "D");
	for (guint k = 0; k < got->len; k++)
		ack(c, nth(got, k), "+ACK");
	g_ptr_array_free(got, TRUE);
	fx_run(fx, 5 * MS);
	SimNode *node = sim_broker_node_node(fx->bn);
	sim_node_crash(node);
	sim_node_restart(node);
	fx_run(fx, 10 * MS);
	Client *c2 = fx_client(fx, "c2");
	json_t *st = stream_state(fx, c2, "CU");
	int64_t msgs = info_int(st, "messages", NULL), last = info_int(st, "last_seq", NULL);
	json_decref(st);
	g_assert_cmpint(msgs, <=, 5);
	g_assert_cmpint(last, <=, 5);
	json_t *r = api(fx, c2, "$JS.API.CONSUMER.INFO.CU.D", "");
	g_assert_nonnull(r);
	if (json_object_get(r, "error") == NULL) {
		/* whatever survived is consistent with the stream */
		g_assert_cmpint(info_int(r, "delivered", "stream_seq"), <=, last);
		g_assert_cmpint(info_int(r, "ack_floor", "stream_seq"), <=, info_int(r, "delivered", "stream_seq"));
	}
	json_decref(r);
	/* and it carries on */
	char *ack = publish_ack(fx, c2, "cu", NULL, "after");
	g_assert_nonnull(ack);
	g_assert_null(strstr(ack, "error"));
	g_free(ack);
	fx_free(fx);
}

/* deliver_group: interest means a queue subscription of that group; the
 * messages go to one member each. */
static void
test_deliver_group(void)
{
	Fx *fx = fx_new(50);
	Client *c = fx_client(fx, "c1");
	add_stream(fx, c, "{\"name\":\"DG\",\"subjects\":[\"dg\"],\"storage\":\"memory\"}");
	for (int k = 0; k < 10; k++)
		pub(c, "dg", NULL, NULL, "m");
	send_text(c, "SUB dl 2\r\n"); /* a plain subscription does not count */
	fx_run(fx, 5 * MS);
	add_consumer(fx, c, "DG", "D",
	    "{\"durable_name\":\"D\",\"deliver_subject\":\"dl\",\"deliver_group\":\"g\",\"ack_policy\":\"none\"}");
	fx_run(fx, 20 * MS);
	GPtrArray *got = deliveries(c, "DG", "D");
	g_assert_cmpuint(got->len, ==, 0);
	g_ptr_array_free(got, TRUE);
	send_text(c, "SUB dl g 3\r\nSUB dl g 4\r\n");
	fx_run(fx, 20 * MS);
	GPtrArray *q3 = frames_sid(c, "3"), *q4 = frames_sid(c, "4"), *p2 = frames_sid(c, "2");
	g_assert_cmpuint(q3->len + q4->len, ==, 10);
	g_assert_cmpuint(p2->len, ==, 10); /* the plain subscriber gets copies too */
	g_ptr_array_free(q3, TRUE);
	g_ptr_array_free(q4, TRUE);
	g_ptr_array_free(p2, TRUE);
	fx_free(fx);
}


/* AckAll on an interest stream removes every acked message up to it;
 * a NAK of the last allowed delivery of a push consumer ends it at once
 * (the advisory on the next attempt, which is immediate for push). */
static void
test_ack_all_interest_and_nak_max(void)
{
	Fx *fx = fx_new(51);
	Client *c = fx_client(fx, "c1");
	add_stream(fx, c, "{\"name\":\"AI\",\"subjects\":[\"ai\"],\"retention\":\"interest\",\"storage\":\"memory\"}");
	add_consumer(fx, c, "AI", "D", "{\"durable_name\":\"D\",\"ack_policy\":\"all\"}");
	for (int k = 0; k < 4; k++)
		pub(c, "ai", NULL, NULL, "m");
	send_text(c, "SUB in 2\r\n");
	fx_run(fx, 5 * MS);
	pull(c, "AI", "D", "in", "4");
	fx_run(fx, 5 * MS);
	GPtrArray *got = deliveries(c, "AI", "D");
	g_assert_cmpuint(got->len, ==, 4);
	ack(c, nth(got, 2), "+ACK");
	g_ptr_array_free(got, TRUE);
	fx_run(fx, 5 * MS);
	json_t *st = stream_state(fx, c, "AI");
	g_assert_cmpint(info_int(st, "messages", NULL), ==, 1);
	g_assert_cmpint(info_int(st, "first_seq", NULL), ==, 4);
	json_decref(st);
	add_stream(fx, c, "{\"name\":\"NM\",\"subjects\":[\"nm\"],\"storage\":\"memory\"}");
	pub(c, "nm", NULL, NULL, "m");
	send_text(c, "SUB dl 3\r\nSUB $JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.> 4\r\n");
	fx_run(fx, 5 * MS);
	add_consumer(fx, c, "NM", "P",
	    "{\"durable_name\":\"P\",\"deliver_subject\":\"dl\",\"ack_policy\":\"explicit\",\"max_deliver\":2}");
	got = deliveries(c, "NM", "P");
	g_assert_cmpuint(got->len, ==, 1);
	ack(c, nth(got, 0), "-NAK");
	g_ptr_array_free(got, TRUE);
	fx_run(fx, 5 * MS);
	got = deliveries(c, "NM", "P");
	g_assert_cmpuint(got->len, ==, 2);
	int64_t sent = fx_now(fx);
	ack(c, nth(got, 1), "-NAK");
	g_ptr_array_free(got, TRUE);
	fx_run(fx, 5 * MS);
	GPtrArray *adv = expect_frames(c, "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.NM.P", 1);
	g_assert_cmpint(nth(adv, 0)->at_ns, ==, sent + 2 * MS);
	g_ptr_array_free(adv, TRUE);
	fx_free(fx);
}

/* NATS-SPEC §3.12 + §3.4: a purge under pending messages: the ack floor
 * jumps past them and nothing purged is redelivered. */
static void
test_purge_with_pending(void)
{
	Fx *fx = fx_new(52);
	Client *c = fx_client(fx, "c1");
	add_stream(fx, c, "{\"name\":\"PP\",\"subjects\":[\"pp\"],\"storage\":\"memory\"}");
	add_consumer(fx, c, "PP", "D", "{\"durable_name\":\"D\",\"ack_policy\":\"explicit\",\"ack_wait\":100000000}");
	for (int k = 0; k < 3; k++)
		pub(c, "pp", NULL, NULL, "m");
	send_text(c, "SUB in 2\r\n");
	fx_run(fx, 5 * MS);
	pull(c, "PP", "D", "in", "2");
	fx_run(fx, 5 * MS);
	api_do(fx, c, "$JS.API.STREAM.PURGE.PP", "");
	json_t *ci = consumer_info(fx, c, "PP", "D");
	g_assert_cmpint(info_int(ci, "num_ack_pending", NULL), ==, 0);
	g_assert_cmpint(info_int(ci, "num_pending", NULL), ==, 0);
	g_assert_cmpint(info_int(ci, "ack_floor", "stream_seq"), ==, 3);
	json_decref(ci);
	forget(c);
	fx_run(fx, 300 * MS);
	pull(c, "PP", "D", "in", "{\"batch\":5,\"expires\":200000000}");
	pub(c, "pp", NULL, NULL, "new");
	fx_run(fx, 300 * MS);
	GPtrArray *got = deliveries(c, "PP", "D");
	/* only the new message, first with dc 1 (then again at its own
	 * ack_wait, unacked); never a purged one */
	g_assert_cmpuint(got->len, >=, 1);
	for (guint q = 0; q < got->len; q++) {
		g_assert_cmpuint(ack_token(nth(got, q), ACK_SSEQ), ==, 4);
		g_assert_cmpuint(ack_token(nth(got, q), ACK_DC), ==, q + 1);
	}
	g_ptr_array_free(got, TRUE);
	fx_free(fx);
}


/* decStreamPending: a pending message deleted from the stream one at a
 * time (MSG.DELETE, here an interior one) ends its delivery as a TERM
 * with reason "Unacknowledged message was deleted": out of
 * num_ack_pending, the MSG_TERMINATED advisory, no redelivery. */
static void
test_pending_message_deleted(void)
{
	Fx *fx = fx_new(53);
	Client *c = fx_client(fx, "c1");
	add_stream(fx, c, "{\"name\":\"PD\",\"subjects\":[\"pd\"],\"storage\":\"memory\"}");
	add_consumer(fx, c, "PD", "D", "{\"durable_name\":\"D\",\"ack_policy\":\"explicit\",\"ack_wait\":100000000}");
	for (int k = 0; k < 3; k++)
		pub(c, "pd", NULL, NULL, "m");
	send_text(c, "SUB in 2\r\nSUB $JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.> 3\r\n");
	fx_run(fx, 5 * MS);
	pull(c, "PD", "D", "in", "3");
	fx_run(fx, 5 * MS);
	api_do(fx, c, "$JS.API.STREAM.MSG.DELETE.PD", "{\"seq\":2}");
	fx_run(fx, 5 * MS);
	json_t *ci = consumer_info(fx, c, "PD", "D");
	int64_t pending = info_int(ci, "num_ack_pending", NULL);
	json_decref(ci);
	GPtrArray *adv = frames_on(c, "$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.PD.D");
	guint advisories = adv->len;
	g_ptr_array_free(adv, TRUE);
	g_test_message("after the delete: num_ack_pending %" G_GINT64_FORMAT ", %u TERM advisories", pending, advisories);
	g_assert_cmpint(pending, ==, 2);
	g_assert_cmpuint(advisories, ==, 1);
	fx_free(fx);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	/* jansson seeds its hash function from /dev/urandom unless told:
	 * the tripwire forbids that inside a simulation. */
	json_object_seed(1);
	g_test_add_func("/js/sim/smoke", test_smoke);
	g_test_add_func("/js/sim/max-deliveries-push", test_max_deliveries_push);
	g_test_add_func("/js/sim/backoff-schedule", test_backoff_schedule);
	g_test_add_func("/js/sim/redeliver-count", test_redeliver_count);
	g_test_add_func("/js/sim/wq-ack-wait-redelivery", test_wq_ack_wait_redelivery);
	g_test_add_func("/js/sim/wq-nak-redelivery", test_wq_nak_redelivery);
	g_test_add_func("/js/sim/wq-terminate", test_wq_terminate);
	g_test_add_func("/js/sim/working-indicator", test_working_indicator);
	g_test_add_func("/js/sim/nak-delay", test_nak_delay);
	g_test_add_func("/js/sim/ack-all", test_ack_all);
	g_test_add_func("/js/sim/late-ack", test_late_ack);
	g_test_add_func("/js/sim/pull-fifo", test_pull_fifo);
	g_test_add_func("/js/sim/pull-one-shot", test_pull_one_shot);
	g_test_add_func("/js/sim/pull-max-bytes", test_pull_max_bytes);
	g_test_add_func("/js/sim/pull-heartbeats", test_pull_heartbeats);
	g_test_add_func("/js/sim/pull-errors", test_pull_errors);
	g_test_add_func("/js/sim/max-ack-pending-pull", test_max_ack_pending_pull);
	g_test_add_func("/js/sim/max-ack-pending-redeliveries", test_max_ack_pending_redeliveries);
	g_test_add_func("/js/sim/max-deliver-pull-timing", test_max_deliver_pull_timing);
	g_test_add_func("/js/sim/ack-reply-and-next", test_ack_reply_and_next);
	g_test_add_func("/js/sim/interest-retention", test_interest_retention);
	g_test_add_func("/js/sim/workqueue-rules", test_workqueue_rules);
	g_test_add_func("/js/sim/discard-new", test_discard_new);
	g_test_add_func("/js/sim/discard-old-limits", test_discard_old_limits);
	g_test_add_func("/js/sim/max-age", test_max_age);
	g_test_add_func("/js/sim/purge", test_purge);
	g_test_add_func("/js/sim/deliver-last-per-subject", test_deliver_last_per_subject);
	g_test_add_func("/js/sim/dedupe-window", test_dedupe_window);
	g_test_add_func("/js/sim/expected-headers", test_expected_headers);
	g_test_add_func("/js/sim/push-idle-heartbeats", test_push_idle_heartbeats);
	g_test_add_func("/js/sim/flow-control", test_flow_control);
	g_test_add_func("/js/sim/ephemeral-inactive", test_ephemeral_inactive);
	g_test_add_func("/js/sim/push-exact-interest", test_push_exact_interest);
	g_test_add_func("/js/sim/api-errors", test_api_errors);
	g_test_add_func("/js/sim/restart-durable", test_restart_durable);
	g_test_add_func("/js/sim/ack-floor", test_ack_floor);
	g_test_add_func("/js/sim/pending-count-max-deliver-one", test_pending_count_max_deliver_one);
	g_test_add_func("/js/sim/max-ack-pending-push", test_max_ack_pending_push);
	g_test_add_func("/js/sim/deliver-policies", test_deliver_policies);
	g_test_add_func("/js/sim/rollup-size-sealed", test_rollup_size_sealed);
	g_test_add_func("/js/sim/msg-get-delete", test_msg_get_delete);
	g_test_add_func("/js/sim/names-lists-account", test_names_lists_account);
	g_test_add_func("/js/sim/consumer-misc", test_consumer_misc);
	g_test_add_func("/js/sim/jsz", test_jsz);
	g_test_add_func("/js/sim/interest-consumer-delete", test_interest_consumer_delete);
	g_test_add_func("/js/sim/push-interest-changes", test_push_interest_changes);
	g_test_add_func("/js/sim/pull-limits", test_pull_limits);
	g_test_add_func("/js/sim/stream-delete", test_stream_delete);
	g_test_add_func("/js/sim/crash-unsynced", test_crash_unsynced);
	g_test_add_func("/js/sim/deliver-group", test_deliver_group);
	g_test_add_func("/js/sim/ack-all-interest-and-nak-max", test_ack_all_interest_and_nak_max);
	g_test_add_func("/js/sim/purge-with-pending", test_purge_with_pending);
	g_test_add_func("/js/sim/pending-message-deleted", test_pending_message_deleted);
	return g_test_run();
}
