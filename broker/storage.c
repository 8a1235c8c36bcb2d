/*
 * storage.c - what every implementation of the storage seam shares.
 */
#include "broker/storage.h"

const char *
broker_storage_status_str(BrokerStorageStatus status)
{
	switch (status) {
	case BROKER_STORAGE_OK:
		return "ok";
	case BROKER_STORAGE_NOT_FOUND:
		return "not found";
	case BROKER_STORAGE_NO_SPACE:
		return "no space left on device";
	case BROKER_STORAGE_IO:
		return "i/o error";
	}
	return "?";
}
