/*
 * tripwire.c - the runtime determinism tripwire (see tripwire.h).
 *
 * The arm count is process-wide state by nature: the calls it guards are
 * process-wide. It is not read by any simulation logic, only by the
 * interposed functions below.
 */
/* This file defines open() and open64() side by side, so the large-file
 * renaming of open() to open64() must be off here. */
#undef _FILE_OFFSET_BITS
#include "sim/tripwire.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int armed_count;

/* GLib 2.74's slice allocator stamps its magazine caches with the wall
 * clock (g_get_real_time) as it works. That cannot change a run's results,
 * but it is a clock read inside a simulation all the same. GLib reads its
 * G_SLICE setting in its own constructor, before any of ours runs, so a
 * program linked with the simulator that starts without
 * G_SLICE=always-malloc sets it and executes itself again, once (glibc
 * hands constructors argc, argv and envp). */
__attribute__((constructor)) static void
tripwire_quiet_glib(int argc, char **argv, char **envp)
{
	(void)argc;
	(void)envp;
	const char *slice = getenv("G_SLICE");
	if (slice != NULL && strstr(slice, "always-malloc") != NULL)
		return;
	setenv("G_SLICE", "always-malloc", 1);
	execv("/proc/self/exe", argv);
	/* Should exec fail, run on: the tripwire will name any clock read. */
}

void
sim_tripwire_arm(void)
{
	armed_count++;
}

void
sim_tripwire_disarm(void)
{
	if (armed_count > 0)
		armed_count--;
}

bool
sim_tripwire_armed(void)
{
	return armed_count > 0;
}

_Noreturn static void
trip(const char *call)
{
	fprintf(stderr,
	    "natsim tripwire: %s called during a simulation; simulated code must take time, "
	    "randomness and threads from the simulator\n",
	    call);
	fflush(stderr);
	abort();
}

/* The C library's own functions, looked up once each. dlsym returns an
 * object pointer; memcpy turns it into a function pointer without the
 * cast ISO C forbids. */
enum {
	F_TIME,
	F_CLOCK_GETTIME,
	F_GETTIMEOFDAY,
	F_RAND,
	F_RAND_R,
	F_RANDOM,
	F_SRAND,
	F_SRANDOM,
	F_GETRANDOM,
	F_GETENTROPY,
	F_PTHREAD_CREATE,
	F_OPEN,
	F_OPEN64,
	F_OPENAT,
	F_OPENAT64,
	F_FOPEN,
	F_FOPEN64,
	F_COUNT
};

static const char *const real_names[F_COUNT] = {
	"time", "clock_gettime", "gettimeofday", "rand", "rand_r", "random", "srand", "srandom",
	"getrandom", "getentropy", "pthread_create", "open", "open64", "openat", "openat64", "fopen",
	"fopen64",
};

static void *real_cache[F_COUNT];

static void *
real(int f)
{
	if (real_cache[f] == NULL) {
		real_cache[f] = dlsym(RTLD_NEXT, real_names[f]);
		if (real_cache[f] == NULL) {
			fprintf(stderr, "natsim tripwire: cannot find the C library's %s\n", real_names[f]);
			abort();
		}
	}
	return real_cache[f];
}

#define REAL(var, f)                                     \
	do {                                             \
		void *real_ptr_ = real(f);               \
		memcpy(&(var), &real_ptr_, sizeof(var)); \
	} while (0)

static bool
is_random_device(const char *path)
{
	return path != NULL && (strcmp(path, "/dev/urandom") == 0 || strcmp(path, "/dev/random") == 0);
}

time_t
time(time_t *out)
{
	if (armed_count > 0)
		trip("time()");
	time_t (*fn)(time_t *);
	REAL(fn, F_TIME);
	return fn(out);
}

int
clock_gettime(clockid_t clock, struct timespec *ts)
{
	if (armed_count > 0)
		trip("clock_gettime()");
	int (*fn)(clockid_t, struct timespec *);
	REAL(fn, F_CLOCK_GETTIME);
	return fn(clock, ts);
}

int
gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
	if (armed_count > 0)
		trip("gettimeofday()");
	int (*fn)(struct timeval *, void *);
	REAL(fn, F_GETTIMEOFDAY);
	return fn(tv, tz);
}

int
rand(void)
{
	if (armed_count > 0)
		trip("rand()");
	int (*fn)(void);
	REAL(fn, F_RAND);
	return fn();
}

int
rand_r(unsigned int *seedp)
{
	if (armed_count > 0)
		trip("rand_r()");
	int (*fn)(unsigned int *);
	REAL(fn, F_RAND_R);
	return fn(seedp);
}

long
random(void)
{
	if (armed_count > 0)
		trip("random()");
	long (*fn)(void);
	REAL(fn, F_RANDOM);
	return fn();
}

void
srand(unsigned int seed)
{
	if (armed_count > 0)
		trip("srand()");
	void (*fn)(unsigned int);
	REAL(fn, F_SRAND);
	fn(seed);
}

void
srandom(unsigned int seed)
{
	if (armed_count > 0)
		trip("srandom()");
	void (*fn)(unsigned int);
	REAL(fn, F_SRANDOM);
	fn(seed);
}

ssize_t
getrandom(void *buf, size_t len, unsigned int flags)
{
	if (armed_count > 0)
		trip("getrandom()");
	ssize_t (*fn)(void *, size_t, unsigned int);
	REAL(fn, F_GETRANDOM);
	return fn(buf, len, flags);
}

int
getentropy(void *buf, size_t len)
{
	if (armed_count > 0)
		trip("getentropy()");
	int (*fn)(void *, size_t);
	REAL(fn, F_GETENTROPY);
	return fn(buf, len);
}

int
pthread_create(pthread_t *restrict thread, const pthread_attr_t *restrict attr,
    void *(*start)(void *), void *restrict arg)
{
	if (armed_count > 0)
		trip("pthread_create()");
	int (*fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
	REAL(fn, F_PTHREAD_CREATE);
	return fn(thread, attr, start, arg);
}

/* open() and friends are guarded only for the random devices: a library
 * that reads /dev/urandom is seeding itself behind the simulator's back. */
static mode_t
open_mode(int flags, va_list ap)
{
	return (flags & (O_CREAT | O_TMPFILE)) ? (mode_t)va_arg(ap, int) : 0;
}

int
open(const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t mode = open_mode(flags, ap);
	va_end(ap);
	if (armed_count > 0 && is_random_device(path))
		trip("open(/dev/urandom)");
	int (*fn)(const char *, int, ...);
	REAL(fn, F_OPEN);
	return fn(path, flags, mode);
}

int
open64(const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t mode = open_mode(flags, ap);
	va_end(ap);
	if (armed_count > 0 && is_random_device(path))
		trip("open(/dev/urandom)");
	int (*fn)(const char *, int, ...);
	REAL(fn, F_OPEN64);
	return fn(path, flags, mode);
}

int
openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t mode = open_mode(flags, ap);
	va_end(ap);
	if (armed_count > 0 && is_random_device(path))
		trip("openat(/dev/urandom)");
	int (*fn)(int, const char *, int, ...);
	REAL(fn, F_OPENAT);
	return fn(dirfd, path, flags, mode);
}

int
openat64(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t mode = open_mode(flags, ap);
	va_end(ap);
	if (armed_count > 0 && is_random_device(path))
		trip("openat(/dev/urandom)");
	int (*fn)(int, const char *, int, ...);
	REAL(fn, F_OPENAT64);
	return fn(dirfd, path, flags, mode);
}

FILE *
fopen(const char *restrict path, const char *restrict mode)
{
	if (armed_count > 0 && is_random_device(path))
		trip("fopen(/dev/urandom)");
	FILE * (*fn)(const char *, const char *);
	REAL(fn, F_FOPEN);
	return fn(path, mode);
}

FILE *
fopen64(const char *restrict path, const char *restrict mode)
{
	if (armed_count > 0 && is_random_device(path))
		trip("fopen(/dev/urandom)");
	FILE * (*fn)(const char *, const char *);
	REAL(fn, F_FOPEN64);
	return fn(path, mode);
}

int64_t
sim_tripwire_wall_ns(void)
{
	struct timespec ts;
	int (*fn)(clockid_t, struct timespec *);
	REAL(fn, F_CLOCK_GETTIME);
	fn(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
