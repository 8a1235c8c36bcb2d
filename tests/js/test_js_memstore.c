/*
 * test_js_memstore.c - the memory store against the store contract
 * (store_contract.c), plus what only the memory store promises: its byte
 * accounting and the status strings.
 */
#include <glib.h>

#include "broker/js/store.h"
#include "tests/js/store_contract.h"

static JsStore *
open_mem(void *ctx, const char *stream)
{
	(void)ctx;
	JsStoreConfig config = { .stream = stream };
	return js_memstore_create(&config);
}

/* nats-server's memStoreMsgSize: subject + headers + data + 16. */
static void
test_msg_bytes(void)
{
	g_assert_cmpuint(js_memstore_msg_bytes(3, 0, 5), ==, 24);
	g_assert_cmpuint(js_memstore_msg_bytes(10, 18, 3), ==, 47);
	g_assert_cmpuint(js_memstore_msg_bytes(0, 0, 0), ==, 16);
}

/* Every status has a distinct text. */
static void
test_status_str(void)
{
	const JsStoreStatus all[] = { JS_STORE_OK, JS_STORE_NOT_FOUND, JS_STORE_DELETED, JS_STORE_NO_SPACE, JS_STORE_IO,
		JS_STORE_CORRUPT };
	for (size_t a = 0; a < G_N_ELEMENTS(all); a++)
		for (size_t b = a + 1; b < G_N_ELEMENTS(all); b++)
			g_assert_cmpstr(js_store_status_str(all[a]), !=, js_store_status_str(all[b]));
	g_assert_cmpstr(js_store_status_str((JsStoreStatus)99), ==, "unknown store status");
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	static const StoreContractFactory factory = {
		.prefix = "/js/memstore/contract",
		.open = open_mem,
		.msg_bytes = js_memstore_msg_bytes,
	};
	store_contract_add_tests(&factory);
	g_test_add_func("/js/memstore/msg-bytes", test_msg_bytes);
	g_test_add_func("/js/memstore/status-str", test_status_str);
	return g_test_run();
}
