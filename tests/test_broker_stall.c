/*
 * test_broker_stall.c - the broker core's flow control (broker_conn_stall_ns,
 * broker_stall_releases): a client publishing to a connection whose output
 * backlog is over the stall threshold is asked to pause for nats-server's
 * stallDuration, and the gate opens again when the backlog goes down or the
 * connection closes. Driven directly, no network: bytes in with
 * broker_conn_recv, bytes out (or not) with send_peek / send_consume.
 */
#include <glib.h>
#include <string.h>

#include "broker/broker.h"

#define MS INT64_C(1000000)

typedef struct Fx {
	Broker *b;
	BrokerConn *sub;
	BrokerConn *pub;
	int64_t now;
} Fx;

static void
fx_send(Fx *fx, BrokerConn *c, const char *text)
{
	broker_conn_recv(fx->b, c, (const uint8_t *)text, strlen(text), ++fx->now);
}

static size_t
fx_pending(BrokerConn *c)
{
	const uint8_t *data;
	return broker_conn_send_peek(c, &data);
}

static void
fx_drain(Fx *fx, BrokerConn *c, size_t keep)
{
	size_t n = fx_pending(c);
	broker_conn_send_consume(fx->b, c, n > keep ? n - keep : 0, ++fx->now);
}

/* A broker with max_pending bytes, a subscriber on "s" that reads nothing
 * yet, and a publisher. */
static void
fx_init(Fx *fx, int64_t pending_bytes_max)
{
	memset(fx, 0, sizeof(*fx));
	BrokerConfig config = { .pending_bytes_max = pending_bytes_max };
	fx->b = broker_create(&config, 7, 1, NULL, NULL);
	fx->sub = broker_conn_open(fx->b, "127.0.0.1", 1, ++fx->now);
	fx->pub = broker_conn_open(fx->b, "127.0.0.1", 2, ++fx->now);
	fx_send(fx, fx->sub, "CONNECT {\"verbose\":false}\r\nSUB s 1\r\n");
	fx_send(fx, fx->pub, "CONNECT {\"verbose\":false}\r\n");
	fx_drain(fx, fx->sub, 0);
	fx_drain(fx, fx->pub, 0);
}

/* "PUB s <size>" with a payload of size bytes. */
static char *
pub_op(size_t size)
{
	GString *s = g_string_new(NULL);
	g_string_append_printf(s, "PUB s %zu\r\n", size);
	for (size_t k = 0; k < size; k++)
		g_string_append_c(s, 'x');
	g_string_append(s, "\r\n");
	return g_string_free(s, FALSE);
}

/* Below the threshold nobody pauses; the message that takes the backlog
 * over it (here max_pending / 2) asks its publisher for 100 ms
 * (stallClientMinDuration); the next input starts from zero again. */
static void
test_stall_threshold(void)
{
	Fx fx;
	fx_init(&fx, 1100); /* threshold: max_pending / 2 = 550 bytes */
	g_autofree char *op = pub_op(100); /* "MSG s 1 100\r\n" + 102 = 115 bytes out */
	for (int k = 0; k < 4; k++) {
		fx_send(&fx, fx.pub, op);
		g_assert_cmpint(broker_conn_stall_ns(fx.pub), ==, 0);
	}
	g_assert_cmpuint(fx_pending(fx.sub), ==, 460);
	fx_send(&fx, fx.pub, op); /* 575 > 550, less than a tenth of the upper half over it */
	g_assert_cmpint(broker_conn_stall_ns(fx.pub), ==, 100 * MS);
	g_assert_false(broker_conn_closing(fx.sub));
	fx_send(&fx, fx.pub, "PING\r\n");
	g_assert_cmpint(broker_conn_stall_ns(fx.pub), ==, 0);
	broker_destroy(fx.b);
}

/* Over max_pending / 2 the pause grows by 100 ms per tenth of the upper
 * half, as nats-server's stallDuration. */
static void
test_stall_duration(void)
{
	Fx fx;
	fx_init(&fx, 1000);
	g_autofree char *op = pub_op(100);
	for (int k = 0; k < 7; k++)
		fx_send(&fx, fx.pub, op);
	g_assert_cmpuint(fx_pending(fx.sub), ==, 805);
	/* (805 - 500) / 50 = 6 tenths: 100 + 600 ms */
	g_assert_cmpint(broker_conn_stall_ns(fx.pub), ==, 700 * MS);
	broker_destroy(fx.b);
}

/* The gate opens once the backlog is back under the threshold (not before),
 * and when the connection closes; each opening counts once. */
static void
test_stall_release(void)
{
	Fx fx;
	fx_init(&fx, 1000);
	g_autofree char *op = pub_op(100);
	for (int k = 0; k < 5; k++)
		fx_send(&fx, fx.pub, op);
	uint64_t releases = broker_stall_releases(fx.b);
	fx_drain(&fx, fx.sub, 520);
	g_assert_cmpuint(broker_stall_releases(fx.b), ==, releases);
	fx_drain(&fx, fx.sub, 499);
	g_assert_cmpuint(broker_stall_releases(fx.b), ==, releases + 1);
	fx_drain(&fx, fx.sub, 0);
	g_assert_cmpuint(broker_stall_releases(fx.b), ==, releases + 1);

	for (int k = 0; k < 5; k++)
		fx_send(&fx, fx.pub, op);
	g_assert_cmpint(broker_conn_stall_ns(fx.pub), >, 0);
	broker_conn_close(fx.b, fx.sub, BROKER_CLOSE_CLIENT, ++fx.now);
	g_assert_cmpuint(broker_stall_releases(fx.b), ==, releases + 2);
	broker_destroy(fx.b);
}

/* The backlog limit still wins: the message that takes a connection over
 * max_pending closes it as a slow consumer, and nobody waits for it. */
static void
test_stall_slow_consumer(void)
{
	Fx fx;
	fx_init(&fx, 1000);
	g_autofree char *op = pub_op(100);
	for (int k = 0; k < 8; k++)
		fx_send(&fx, fx.pub, op);
	g_assert_false(broker_conn_closing(fx.sub));
	fx_send(&fx, fx.pub, op); /* 920 + 115 > 1000 */
	g_assert_true(broker_conn_closing(fx.sub));
	g_assert_cmpint(broker_conn_close_reason(fx.sub), ==, BROKER_CLOSE_SLOW_CONSUMER_PENDING);
	g_assert_cmpint(broker_conn_stall_ns(fx.pub), ==, 0);
	broker_destroy(fx.b);
}

/* The cap: with the default max_pending (64 MiB) a backlog of 1 MiB is
 * already enough to pause the publisher, briefly (the soft pause). */
static void
test_stall_cap(void)
{
	Fx fx;
	fx_init(&fx, 0);
	g_autofree char *op = pub_op(64 * 1024);
	int k = 0;
	while (broker_conn_stall_ns(fx.pub) == 0) {
		g_assert_cmpint(++k, <=, 17);
		fx_send(&fx, fx.pub, op);
	}
	g_assert_cmpint(k, ==, 16); /* 16 x (64 KiB + 17) > 1 MiB > 15 x (64 KiB + 17) */
	g_assert_cmpint(broker_conn_stall_ns(fx.pub), ==, 10 * MS);
	broker_destroy(fx.b);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/broker/stall/threshold", test_stall_threshold);
	g_test_add_func("/broker/stall/duration", test_stall_duration);
	g_test_add_func("/broker/stall/release", test_stall_release);
	g_test_add_func("/broker/stall/slow-consumer", test_stall_slow_consumer);
	g_test_add_func("/broker/stall/cap", test_stall_cap);
	return g_test_run();
}
