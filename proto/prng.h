/*
 * prng.h - the small pseudo-random generator every core owns.
 *
 * xoshiro256** 1.0 (Blackman & Vigna, https://prng.di.unimi.it/), seeded by
 * expanding one 64-bit seed with splitmix64, exactly as the authors advise.
 * Both are fixed algorithms written out here, so a run's draws never change
 * with a library version. Cores never seed themselves: their driver hands
 * them a seed (from the OS in the real world, derived from the master seed
 * in the simulator).
 */
#ifndef NATSIM_PROTO_PRNG_H
#define NATSIM_PROTO_PRNG_H

#include <stdint.h>

typedef struct Prng {
	uint64_t s[4];
} Prng;

/* One splitmix64 step: advances *state and returns the next output. */
uint64_t prng_splitmix64(uint64_t *state);

/* Seeds the generator from one 64-bit value (any value, zero included). */
void prng_seed(Prng *prng, uint64_t seed);

/* Next 64 uniformly distributed bits. */
uint64_t prng_next(Prng *prng);

/* Uniform in [0, bound), without modulo bias; bound must be > 0. */
uint64_t prng_below(Prng *prng, uint64_t bound);

/* Uniform in [lo, hi], inclusive; lo <= hi. */
int64_t prng_range(Prng *prng, int64_t lo, int64_t hi);

/* Uniform double in [0, 1) with 53 random bits. */
double prng_unit(Prng *prng);

/* True with probability p (p <= 0 never, p >= 1 always). */
int prng_chance(Prng *prng, double p);

#endif
