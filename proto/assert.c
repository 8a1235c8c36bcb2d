/*
 * assert.c - the failure path of ASSERT: print where and in which run, then
 * abort. See assert.h for why the run context is a thread-local hook.
 */
#include "assert.h"

#include <stdio.h>
#include <stdlib.h>

static _Thread_local AssertContextFn context_fn;
static _Thread_local void *context_ctx;

void
assert_context_set(AssertContextFn fn, void *ctx)
{
	context_fn = fn;
	context_ctx = ctx;
}

_Noreturn void
assert_fail(const char *file, int line, const char *expr)
{
	char run[256] = "";
	if (context_fn != NULL)
		context_fn(context_ctx, run, sizeof(run));
	fprintf(stderr, "ASSERT failed: %s at %s:%d%s%s\n", expr, file, line,
	    run[0] != '\0' ? " " : "", run);
	fflush(stderr);
	abort();
}
