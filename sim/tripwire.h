/*
 * tripwire.h - aborts on any direct call to the clock, the system's
 * randomness or thread creation while a simulation is running.
 *
 * Every program linked with the simulator defines time(), clock_gettime(),
 * gettimeofday(), rand(), random(), getrandom(), pthread_create() and the
 * opening of /dev/urandom itself, and exports them (sim/tripwire.dynlist),
 * so the dynamic linker binds calls from shared libraries - glib, jansson -
 * to them as well as calls from our own code. While armed (a SimWorld
 * exists), each aborts with a message naming the call; while disarmed, each
 * forwards to the C library.
 */
#ifndef NATSIM_SIM_TRIPWIRE_H
#define NATSIM_SIM_TRIPWIRE_H

#include <stdbool.h>
#include <stdint.h>

void sim_tripwire_arm(void);
void sim_tripwire_disarm(void);
bool sim_tripwire_armed(void);

/* The one sanctioned look at the wall clock (CLOCK_MONOTONIC, ns), for
 * reporting how long runs took. Its value must never reach a simulation. */
int64_t sim_tripwire_wall_ns(void);

#endif
