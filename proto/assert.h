/*
 * assert.h - the always-on ASSERT for programmer errors.
 *
 * Two kinds of failure are kept apart (STYLE.md): operating errors (bad
 * input, peer gone, disk full) are returned and handled; broken invariants
 * crash here, in every build type, with the file, the line, and - when a
 * simulator is driving the code - the seed and the virtual time, so that the
 * crash can be replayed.
 *
 * The seed/time context is a thread-local diagnostics hook set by the driver
 * (the simulator). It is written by the driver and read only on the way to
 * abort(); no behaviour depends on it, which is why it may be thread-local
 * state rather than an argument threaded through every core call.
 */
#ifndef NATSIM_PROTO_ASSERT_H
#define NATSIM_PROTO_ASSERT_H

#include <stdint.h>

/* Called by the failure path to describe the run; writes at most cap bytes. */
typedef void (*AssertContextFn)(void *ctx, char *buf, unsigned long cap);

_Noreturn void assert_fail(const char *file, int line, const char *expr);

/* Installs (or, with fn NULL, removes) this thread's run description. */
void assert_context_set(AssertContextFn fn, void *ctx);

#define ASSERT(cond)                                                       \
	do {                                                               \
		if (__builtin_expect(!(cond), 0))                          \
			assert_fail(__FILE__, __LINE__, #cond);            \
	} while (0)

#define UNREACHABLE() assert_fail(__FILE__, __LINE__, "unreachable")

#endif
