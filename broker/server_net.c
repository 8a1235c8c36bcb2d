/*
 * server_net.c - listening sockets and peer names for natsim-server (see
 * server_net.h). A real-world driver file: it makes sockets and resolves
 * host names.
 */
#include "broker/server_net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proto/assert.h"

static GQuark
net_error_quark(void)
{
	return g_quark_from_static_string("natsim-server-net");
}

/* Go's error text is lower case: "address already in use". */
static char *
errno_text(int err)
{
	char *text = g_strdup(g_strerror(err));
	text[0] = g_ascii_tolower(text[0]);
	return text;
}

static int
listen_on(const struct sockaddr *addr, socklen_t addr_len, bool dual_stack, const char **step, int *err)
{
	int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*step = "socket";
		*err = errno;
		return -1;
	}
	int one = 1, zero = 0;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    (dual_stack && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) != 0)) {
		*step = "setsockopt";
		*err = errno;
		close(fd);
		return -1;
	}
	if (bind(fd, addr, addr_len) != 0) {
		*step = "bind";
		*err = errno;
		close(fd);
		return -1;
	}
	/* The kernel caps the backlog at net.core.somaxconn, which is what
	 * Go asks for. */
	if (listen(fd, SOMAXCONN) != 0) {
		*step = "listen";
		*err = errno;
		close(fd);
		return -1;
	}
	return fd;
}

static bool
is_wildcard(const char *host)
{
	return host == NULL || *host == '\0' || strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0 ||
	    strcmp(host, "[::]") == 0;
}

int
server_net_listen(const char *host, uint16_t port, uint16_t *bound_port, GError **error)
{
	const char *step = "listen";
	int err = 0;
	int fd = -1;
	if (is_wildcard(host)) {
		struct sockaddr_in6 any6 = { .sin6_family = AF_INET6, .sin6_port = htons(port), .sin6_addr = in6addr_any };
		fd = listen_on((struct sockaddr *)&any6, sizeof(any6), true, &step, &err);
		if (fd < 0 && (err == EAFNOSUPPORT || err == EADDRNOTAVAIL || err == EINVAL)) {
			/* No IPv6 here: IPv4 alone. */
			struct sockaddr_in any4 = { .sin_family = AF_INET, .sin_port = htons(port) };
			any4.sin_addr.s_addr = htonl(INADDR_ANY);
			fd = listen_on((struct sockaddr *)&any4, sizeof(any4), false, &step, &err);
		}
	} else {
		g_autofree char *name = g_strdup(host);
		size_t len = strlen(name);
		if (len >= 2 && name[0] == '[' && name[len - 1] == ']') {
			memmove(name, name + 1, len - 2);
			name[len - 2] = '\0';
		}
		struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE };
		struct addrinfo *list = NULL;
		int gai = getaddrinfo(name, NULL, &hints, &list);
		if (gai != 0) {
			g_autofree char *where = server_net_join_host_port(host, port);
			g_set_error(error, net_error_quark(), gai, "listen tcp %s: lookup %s: %s", where, name,
			    gai_strerror(gai));
			return -1;
		}
		/* IPv4 addresses first, as Go's listener prefers them. */
		for (int pass = 0; pass < 2 && fd < 0; pass++) {
			for (struct addrinfo *ai = list; ai != NULL && fd < 0; ai = ai->ai_next) {
				if ((pass == 0) != (ai->ai_family == AF_INET))
					continue;
				struct sockaddr_storage addr;
				ASSERT(ai->ai_addrlen <= sizeof(addr));
				memcpy(&addr, ai->ai_addr, ai->ai_addrlen);
				if (ai->ai_family == AF_INET)
					((struct sockaddr_in *)&addr)->sin_port = htons(port);
				else if (ai->ai_family == AF_INET6)
					((struct sockaddr_in6 *)&addr)->sin6_port = htons(port);
				else
					continue;
				fd = listen_on((struct sockaddr *)&addr, ai->ai_addrlen, false, &step, &err);
			}
		}
		freeaddrinfo(list);
	}
	if (fd < 0) {
		g_autofree char *where = server_net_join_host_port(is_wildcard(host) ? "0.0.0.0" : host, port);
		g_autofree char *why = errno_text(err != 0 ? err : EADDRNOTAVAIL);
		g_set_error(error, net_error_quark(), err, "listen tcp %s: %s: %s", where, step, why);
		return -1;
	}
	struct sockaddr_storage bound;
	socklen_t bound_len = sizeof(bound);
	if (getsockname(fd, (struct sockaddr *)&bound, &bound_len) != 0) {
		g_set_error(error, net_error_quark(), errno, "getsockname: %s", g_strerror(errno));
		close(fd);
		return -1;
	}
	char ip[INET6_ADDRSTRLEN];
	server_net_peer_name(&bound, ip, sizeof(ip), bound_port);
	return fd;
}

void
server_net_peer_name(const struct sockaddr_storage *addr, char *ip, size_t ip_cap, uint16_t *port)
{
	ASSERT(ip_cap >= INET6_ADDRSTRLEN);
	if (addr->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)addr;
		inet_ntop(AF_INET, &in->sin_addr, ip, (socklen_t)ip_cap);
		*port = ntohs(in->sin_port);
	} else if (addr->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)addr;
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
			inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], ip, (socklen_t)ip_cap);
		else
			inet_ntop(AF_INET6, &in6->sin6_addr, ip, (socklen_t)ip_cap);
		*port = ntohs(in6->sin6_port);
	} else {
		g_strlcpy(ip, "unknown", ip_cap);
		*port = 0;
	}
}

char *
server_net_join_host_port(const char *host, uint16_t port)
{
	if (host == NULL)
		host = "";
	if (strchr(host, ':') != NULL && host[0] != '[')
		return g_strdup_printf("[%s]:%u", host, (unsigned)port);
	return g_strdup_printf("%s:%u", host, (unsigned)port);
}
