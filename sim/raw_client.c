/*
 * raw_client.c - see raw_client.h.
 */
#include "sim/raw_client.h"

#include <string.h>

#include "proto/assert.h"
#include "sim/net.h"

typedef struct Arrival {
	size_t end;  /* received length after this arrival */
	int64_t at_ns;
} Arrival;

struct SimRawClient {
	SimWorld *world;
	SimNode *node;
	SimEnd *end;
	bool connected;
	bool reading;
	int64_t closed_at_ns;
	GString *received;
	GArray *arrivals; /* Arrival */
	GByteArray *unsent;
	GPtrArray *scheduled; /* char* texts owned until sent */
};

static void
flush(SimRawClient *rc)
{
	if (rc->end == NULL || !rc->connected || rc->unsent->len == 0)
		return;
	int64_t n = sim_end_write(rc->end, rc->unsent->data, rc->unsent->len);
	if (n > 0)
		g_byte_array_remove_range(rc->unsent, 0, (guint)n);
}

static void
drain(SimRawClient *rc)
{
	if (!rc->reading || rc->end == NULL)
		return;
	const uint8_t *data;
	size_t n = sim_end_peek(rc->end, &data);
	if (n == 0)
		return;
	g_string_append_len(rc->received, (const char *)data, (gssize)n);
	sim_end_consume(rc->end, n);
	Arrival a = { rc->received->len, sim_world_now_ns(rc->world) };
	g_array_append_val(rc->arrivals, a);
}

static void
on_event(void *ctx, SimEnd *end, SimConnEvent event)
{
	SimRawClient *rc = ctx;
	ASSERT(end == rc->end);
	switch (event) {
	case SIM_CONN_CONNECTED:
		rc->connected = true;
		flush(rc);
		break;
	case SIM_CONN_READABLE:
		drain(rc);
		break;
	case SIM_CONN_WRITABLE:
		flush(rc);
		break;
	case SIM_CONN_EOF:
		drain(rc);
		/* fall through */
	case SIM_CONN_RESET:
	case SIM_CONN_REFUSED:
		rc->closed_at_ns = sim_world_now_ns(rc->world);
		sim_end_close(rc->end);
		rc->end = NULL;
		break;
	}
}

SimRawClient *
sim_raw_client_create(SimWorld *world, const char *name, SimNode *server, uint16_t port)
{
	SimRawClient *rc = g_new0(SimRawClient, 1);
	rc->world = world;
	rc->reading = true;
	rc->closed_at_ns = -1;
	rc->received = g_string_new(NULL);
	rc->arrivals = g_array_new(FALSE, FALSE, sizeof(Arrival));
	rc->unsent = g_byte_array_new();
	rc->scheduled = g_ptr_array_new_with_free_func(g_free);
	rc->node = sim_node_create(world, name, NULL, NULL);
	rc->end = sim_net_connect(rc->node, server, port, on_event, rc);
	return rc;
}

void
sim_raw_client_destroy(SimRawClient *rc)
{
	if (rc == NULL)
		return;
	g_string_free(rc->received, TRUE);
	g_array_free(rc->arrivals, TRUE);
	g_byte_array_free(rc->unsent, TRUE);
	g_ptr_array_free(rc->scheduled, TRUE);
	g_free(rc);
}

void
sim_raw_client_send_bytes(SimRawClient *rc, const void *data, size_t len)
{
	g_byte_array_append(rc->unsent, data, (guint)len);
	flush(rc);
}

void
sim_raw_client_send(SimRawClient *rc, const char *text)
{
	sim_raw_client_send_bytes(rc, text, strlen(text));
}

static void
send_event(void *ctx, uint64_t arg)
{
	SimRawClient *rc = ctx;
	sim_raw_client_send(rc, rc->scheduled->pdata[arg]);
}

void
sim_raw_client_send_at(SimRawClient *rc, int64_t at_ns, const char *text)
{
	g_ptr_array_add(rc->scheduled, g_strdup(text));
	sim_node_at(rc->node, at_ns, send_event, rc, rc->scheduled->len - 1);
}

void
sim_raw_client_set_reading(SimRawClient *rc, bool reading)
{
	rc->reading = reading;
	if (reading)
		drain(rc);
}

void
sim_raw_client_close(SimRawClient *rc)
{
	if (rc->end == NULL)
		return;
	sim_end_close(rc->end);
	rc->end = NULL;
	rc->closed_at_ns = sim_world_now_ns(rc->world);
}

const char *
sim_raw_client_text(SimRawClient *rc)
{
	return rc->received->str;
}

size_t
sim_raw_client_received_bytes(SimRawClient *rc)
{
	return rc->received->len;
}

int64_t
sim_raw_client_time_of(SimRawClient *rc, const char *needle)
{
	const char *hit = strstr(rc->received->str, needle);
	if (hit == NULL)
		return -1;
	size_t end = (size_t)(hit - rc->received->str) + strlen(needle);
	for (guint k = 0; k < rc->arrivals->len; k++) {
		Arrival *a = &g_array_index(rc->arrivals, Arrival, k);
		if (a->end >= end)
			return a->at_ns;
	}
	return -1;
}

int64_t
sim_raw_client_closed_at(SimRawClient *rc)
{
	return rc->closed_at_ns;
}

bool
sim_raw_client_connected(SimRawClient *rc)
{
	return rc->connected && rc->end != NULL;
}

void
sim_raw_client_clear(SimRawClient *rc)
{
	g_string_truncate(rc->received, 0);
	g_array_set_size(rc->arrivals, 0);
}
