/*
 * storage_contract.h - behaviour every implementation of the storage seam
 * must share (run against the POSIX one and the simulated one).
 */
#ifndef NATSIM_TESTS_STORAGE_CONTRACT_H
#define NATSIM_TESTS_STORAGE_CONTRACT_H

#include "broker/storage.h"

void storage_contract_run(BrokerStorage *storage);

#endif
