/*
 * prng.c - xoshiro256** and splitmix64, transcribed from the authors'
 * public-domain reference descriptions (see prng.h). Known-answer tests in
 * tests/test_prng.c pin the output.
 */
#include "prng.h"

#include "assert.h"

__extension__ typedef unsigned __int128 u128;

static inline uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t
prng_splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void
prng_seed(Prng *prng, uint64_t seed)
{
	uint64_t sm = seed;
	for (int i = 0; i < 4; i++)
		prng->s[i] = prng_splitmix64(&sm);
	/* splitmix64 is a bijection of its counter, so four outputs are never
	 * all zero, the one state xoshiro cannot leave. */
	ASSERT((prng->s[0] | prng->s[1] | prng->s[2] | prng->s[3]) != 0);
}

uint64_t
prng_next(Prng *prng)
{
	uint64_t *s = prng->s;
	const uint64_t result = rotl(s[1] * 5, 7) * 9;
	const uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

uint64_t
prng_below(Prng *prng, uint64_t bound)
{
	ASSERT(bound > 0);
	/* Lemire's multiply-and-reject: unbiased, one division only on the
	 * rare rejection path. */
	u128 m = (u128)prng_next(prng) * bound;
	uint64_t low = (uint64_t)m;
	if (low < bound) {
		uint64_t threshold = -bound % bound;
		while (low < threshold) {
			m = (u128)prng_next(prng) * bound;
			low = (uint64_t)m;
		}
	}
	return (uint64_t)(m >> 64);
}

int64_t
prng_range(Prng *prng, int64_t lo, int64_t hi)
{
	ASSERT(lo <= hi);
	uint64_t span = (uint64_t)hi - (uint64_t)lo;
	if (span == UINT64_MAX)
		return (int64_t)prng_next(prng);
	return (int64_t)((uint64_t)lo + prng_below(prng, span + 1));
}

double
prng_unit(Prng *prng)
{
	return (double)(prng_next(prng) >> 11) * 0x1.0p-53;
}

int
prng_chance(Prng *prng, double p)
{
	if (p <= 0.0)
		return 0;
	if (p >= 1.0)
		return 1;
	return prng_unit(prng) < p;
}
