/*
 * util.c - pure helpers for drivers and tools: server URLs and Go-style
 * durations. No I/O.
 *
 * Who calls it: client/tcp.c (URLs), client/cli.c (both), tests.
 */
#include <stdlib.h>
#include <string.h>

#include "client/client.h"

#include <glib.h>

#define URL_BYTES_MAX 1024

void
client_url_clear(ClientUrl *url)
{
	if (url == NULL)
		return;
	g_free(url->host);
	g_free(url->user);
	g_free(url->password);
	g_free(url->token);
	*url = (ClientUrl){ 0 };
}

static bool
parse_port(const char *s, uint16_t *out)
{
	if (*s == '\0' || strlen(s) > 5)
		return false;
	unsigned v = 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		v = v * 10 + (unsigned)(*p - '0');
	}
	if (v == 0 || v > 65535)
		return false;
	*out = (uint16_t)v;
	return true;
}

ClientStatus
client_url_parse(const char *url, ClientUrl *out)
{
	if (url == NULL || out == NULL || url[0] == '\0' || strlen(url) > URL_BYTES_MAX)
		return CLIENT_ERR_INVALID_ARG;
	*out = (ClientUrl){ .port = 4222 };
	const char *p = url;
	const char *scheme = strstr(p, "://");
	if (scheme != NULL) {
		size_t sl = (size_t)(scheme - p);
		if (!(sl == 4 && strncmp(p, "nats", 4) == 0) && !(sl == 3 && strncmp(p, "tcp", 3) == 0))
			return CLIENT_ERR_INVALID_ARG;
		p = scheme + 3;
	}
	char *rest = g_strdup(p);
	char *slash = strchr(rest, '/');
	if (slash != NULL)
		*slash = '\0';
	char *hostport = rest;
	char *at = strrchr(rest, '@');
	if (at != NULL) {
		*at = '\0';
		hostport = at + 1;
		char *colon = strchr(rest, ':');
		if (colon != NULL) {
			*colon = '\0';
			out->user = g_uri_unescape_string(rest, NULL);
			out->password = g_uri_unescape_string(colon + 1, NULL);
		} else {
			out->token = g_uri_unescape_string(rest, NULL);
		}
		if ((out->user == NULL && out->token == NULL) || (out->user != NULL && out->password == NULL)) {
			g_free(rest);
			client_url_clear(out);
			return CLIENT_ERR_INVALID_ARG;
		}
	}
	char *host = hostport;
	char *port = NULL;
	if (host[0] == '[') { /* [v6]:port */
		char *end = strchr(host, ']');
		if (end == NULL) {
			g_free(rest);
			client_url_clear(out);
			return CLIENT_ERR_INVALID_ARG;
		}
		*end = '\0';
		host++;
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != '\0')
			host = NULL;
	} else {
		char *colon = strrchr(host, ':');
		if (colon != NULL) {
			*colon = '\0';
			port = colon + 1;
		}
	}
	bool ok = host != NULL && host[0] != '\0' && (port == NULL || parse_port(port, &out->port));
	if (ok)
		out->host = g_strdup(host);
	g_free(rest);
	if (!ok) {
		client_url_clear(out);
		return CLIENT_ERR_INVALID_ARG;
	}
	return CLIENT_OK;
}

ClientStatus
client_duration_parse(const char *text, int64_t *out_ns)
{
	if (text == NULL || out_ns == NULL || text[0] == '\0' || strlen(text) > 64)
		return CLIENT_ERR_INVALID_ARG;
	static const struct {
		const char *unit;
		double ns;
	} units[] = {
		{ "ns", 1 }, { "us", 1e3 }, { "µs", 1e3 }, { "ms", 1e6 }, { "s", 1e9 }, { "m", 60e9 }, { "h", 3600e9 },
	};
	double total = 0;
	const char *p = text;
	bool any = false;
	while (*p != '\0') {
		char *end;
		double v = g_ascii_strtod(p, &end);
		if (end == p || v < 0)
			return CLIENT_ERR_INVALID_ARG;
		p = end;
		size_t ul = 0;
		while (p[ul] != '\0' && !(p[ul] >= '0' && p[ul] <= '9') && p[ul] != '.')
			ul++;
		double mult = -1;
		if (ul == 0) {
			if (any || *p != '\0')
				return CLIENT_ERR_INVALID_ARG;
			mult = 1e9; /* a bare number is seconds */
		}
		for (size_t k = 0; k < G_N_ELEMENTS(units) && ul > 0; k++)
			if (strlen(units[k].unit) == ul && strncmp(p, units[k].unit, ul) == 0)
				mult = units[k].ns;
		if (mult < 0)
			return CLIENT_ERR_INVALID_ARG;
		total += v * mult;
		p += ul;
		any = true;
	}
	if (total > 9.2e18)
		return CLIENT_ERR_INVALID_ARG;
	*out_ns = (int64_t)(total + 0.5);
	return CLIENT_OK;
}
