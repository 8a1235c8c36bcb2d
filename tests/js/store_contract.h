/*
 * store_contract.h - the JetStream store contract (broker/js/store.h) as
 * reusable GTest cases: any JsStore implementation registers them with a
 * factory that makes fresh stores.
 *
 * Callers: tests/js/test_js_memstore.c (the memory store); any other
 * store's test binary can add the same cases with its own factory.
 */
#ifndef NATSIM_TESTS_JS_STORE_CONTRACT_H
#define NATSIM_TESTS_JS_STORE_CONTRACT_H

#include <stddef.h>
#include <stdint.h>

#include "broker/js/store.h"

typedef struct StoreContractFactory {
	/* Test path prefix, e.g. "/js/memstore/contract". */
	const char *prefix;
	/* A fresh, empty store for stream (each test calls it once). */
	JsStore *(*open)(void *ctx, const char *stream);
	/* Optional: closes store (ops->close) and opens the same stream again,
	 * as a restart would; NULL for a store that keeps nothing. */
	JsStore *(*reopen)(void *ctx, JsStore *store, const char *stream);
	/* Optional: called after each test (drop files, reset a disk). */
	void (*cleanup)(void *ctx);
	/* The store's bytes accounting for one message. */
	uint64_t (*msg_bytes)(size_t subject_len, size_t hdr_len, size_t data_len);
	void *ctx;
} StoreContractFactory;

/* Registers every contract case under factory->prefix. factory must live
 * until g_test_run returns. */
void store_contract_add_tests(const StoreContractFactory *factory);

#endif
