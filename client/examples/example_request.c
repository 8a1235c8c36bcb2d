/*
 * example_request.c - request/reply: a responder and a requester on two
 * connections.
 *
 *   example_request [URL]
 *
 * The responder answers on the I/O thread by publishing to the reply
 * subject (a non-blocking call, allowed in callbacks). A request to a
 * subject nobody serves fails at once with "no responders".
 */
#include <stdio.h>
#include <string.h>

#include "client/tcp.h"

static void
on_request(void *ctx, ClientConn *conn, const ClientMsg *msg)
{
	(void)conn;
	ClientTcp *responder = ctx;
	char answer[128];
	int n = snprintf(answer, sizeof(answer), "echo: %.*s", (int)msg->data_len, (const char *)msg->data);
	if (msg->reply != NULL)
		client_tcp_publish(responder, msg->reply, NULL, NULL, 0, answer, (size_t)n);
}

int
main(int argc, char **argv)
{
	ClientTcpOptions o = client_tcp_options_default();
	if (argc > 1)
		o.url = argv[1];
	ClientTcp *responder, *requester;
	if (client_tcp_connect(&responder, &o, 2 * CLIENT_NS_PER_S) != CLIENT_OK ||
	    client_tcp_connect(&requester, &o, 2 * CLIENT_NS_PER_S) != CLIENT_OK) {
		fprintf(stderr, "cannot connect\n");
		return 1;
	}
	client_tcp_subscribe(responder, "svc.echo", "workers", on_request, responder, NULL);
	client_tcp_flush(responder, CLIENT_NS_PER_S);
	ClientMsg *reply = NULL;
	ClientStatus st = client_tcp_request(requester, "svc.echo", NULL, 0, "ping", 4, CLIENT_NS_PER_S, &reply);
	if (st == CLIENT_OK)
		printf("reply: %.*s\n", (int)reply->data_len, (const char *)reply->data);
	client_msg_free(reply);
	ClientStatus none = client_tcp_request(requester, "svc.nobody", NULL, 0, "?", 1, CLIENT_NS_PER_S, &reply);
	printf("unserved subject: %s\n", client_status_str(none));
	client_tcp_destroy(requester);
	client_tcp_destroy(responder);
	return st == CLIENT_OK && none == CLIENT_ERR_NO_RESPONDERS ? 0 : 1;
}
