/*
 * server_net.h - the listening sockets of natsim-server (clients and HTTP
 * monitoring), bound as nats-server's Go runtime binds them.
 *
 * Called by server_loop.c. A real-world driver file: it makes sockets.
 *
 * A wildcard host ("0.0.0.0", "::", empty) listens on both IPv4 and IPv6
 * (one [::] socket with IPV6_V6ONLY off, falling back to IPv4 alone), as Go
 * does for net.Listen("tcp", "0.0.0.0:port"); a named host listens on its
 * first address, IPv4 preferred. Sockets are non-blocking, close-on-exec,
 * with SO_REUSEADDR so that a restarted server binds its port at once.
 */
#ifndef NATSIM_BROKER_SERVER_NET_H
#define NATSIM_BROKER_SERVER_NET_H

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

struct sockaddr_storage;

/* A listening socket on host:port (port 0: the kernel picks one, reported
 * in *bound_port). -1 with *error ("listen tcp HOST:PORT: bind: address
 * already in use", Go's wording) when it cannot be had. */
int server_net_listen(const char *host, uint16_t port, uint16_t *bound_port, GError **error);

/* The peer's address as text ("127.0.0.1", "::1"; an IPv4-mapped IPv6
 * address is written as IPv4) and port. ip_cap >= INET6_ADDRSTRLEN. */
void server_net_peer_name(const struct sockaddr_storage *addr, char *ip, size_t ip_cap, uint16_t *port);

/* Go's net.JoinHostPort: "host:port", "[v6]:port" (g_free). */
char *server_net_join_host_port(const char *host, uint16_t port);

#endif
