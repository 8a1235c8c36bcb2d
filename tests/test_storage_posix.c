/*
 * test_storage_posix.c - the real-world storage seam on a temporary
 * directory keeps the same contract as the virtual disk.
 */
#include <glib.h>
#include <glib/gstdio.h>

#include "broker/storage.h"
#include "tests/storage_contract.h"

static void
test_contract(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *dir = g_dir_make_tmp("natsim-storage-XXXXXX", &error);
	g_assert_no_error(error);
	BrokerStorage *st = broker_storage_posix_create(dir, &error);
	g_assert_no_error(error);
	storage_contract_run(st);
	broker_storage_posix_destroy(st);
	/* the contract removed everything it made, directories included */
	g_assert_cmpint(g_rmdir(dir), ==, 0);
}

static void
test_unusable_root(void)
{
	g_autoptr(GError) error = NULL;
	BrokerStorage *st = broker_storage_posix_create("/proc/natsim-cannot-exist/x", &error);
	g_assert_null(st);
	g_assert_nonnull(error);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/broker/storage-posix/contract", test_contract);
	g_test_add_func("/broker/storage-posix/unusable-root", test_unusable_root);
	return g_test_run();
}
