/*
 * example_pubsub.c - publish and subscribe with the real driver.
 *
 *   example_pubsub [URL]
 *
 * Subscribes to "demo.>" with a callback (run on the I/O thread), publishes
 * three messages, flushes, and prints what arrived. All I/O goes through
 * client/tcp.h.
 */
#include <stdio.h>
#include <string.h>

#include "client/tcp.h"

static void
on_msg(void *ctx, ClientConn *conn, const ClientMsg *msg)
{
	(void)conn;
	int *count = ctx;
	printf("got %s: %.*s\n", msg->subject, (int)msg->data_len, (const char *)msg->data);
	(*count)++;
}

int
main(int argc, char **argv)
{
	ClientTcpOptions o = client_tcp_options_default();
	if (argc > 1)
		o.url = argv[1];
	ClientTcp *tcp;
	ClientStatus st = client_tcp_connect(&tcp, &o, 2 * CLIENT_NS_PER_S);
	if (st != CLIENT_OK) {
		fprintf(stderr, "connect: %s\n", client_status_str(st));
		return 1;
	}
	int count = 0;
	client_tcp_subscribe(tcp, "demo.>", NULL, on_msg, &count, NULL);
	for (int k = 1; k <= 3; k++) {
		char body[32];
		snprintf(body, sizeof(body), "hello %d", k);
		client_tcp_publish(tcp, "demo.greeting", NULL, NULL, 0, body, strlen(body));
	}
	/* One round trip: our messages reached the server, and its MSGs to us
	 * were sent before its PONG. */
	st = client_tcp_flush(tcp, 2 * CLIENT_NS_PER_S);
	client_tcp_destroy(tcp);
	printf("received %d\n", count);
	return st == CLIENT_OK && count == 3 ? 0 : 1;
}
