/*
 * faketime_js.c - run a program with its clock sped up, where libfaketime
 * cannot reach: Go programs such as the reference nats-server.
 *
 *   faketime_js -f "+OFFSET xSPEED" PROGRAM [ARGS...]
 *
 * The spec has the same form as libfaketime's FAKETIME "+<seconds> x<speed>":
 * the program sees every clock run SPEED times faster than real time from the
 * moment it starts, and CLOCK_REALTIME shifted by OFFSET seconds on top.
 * Used by tests/compat/test_libnats_js.c (--clock-tool=<this binary>) to run
 * nats-server's JetStream timers (ack_wait, max_age, inactive threshold)
 * at ×100, so the reference passes the same timer tests as natsim-server
 * under libfaketime, in well under a second each.
 *
 * Why libfaketime is not enough: it wraps libc's clock_gettime and friends,
 * but the Go runtime reads the clock by calling the kernel's vDSO directly
 * (and makes its own raw syscalls for timeouts), so a preloaded
 * libfaketime.so is mapped into nats-server and never called. No FAKETIME_*
 * setting changes that (tests/compat/README.md, "Faketime").
 *
 * How this works (x86-64 Linux only):
 * - The child stops itself, installs a seccomp filter whose SECCOMP_RET_TRACE
 *   picks out the time-related syscalls, and execs PROGRAM; this process is
 *   its ptrace tracer and follows every thread (PTRACE_O_TRACECLONE).
 * - At the exec stop, before any code of the new image runs, the auxiliary
 *   vector's AT_SYSINFO_EHDR entry is turned into AT_IGNORE: the program (Go
 *   runtime and ld.so alike) finds no vDSO and falls back to real syscalls,
 *   which the filter hands to us.
 * - clock_gettime / gettimeofday / time are answered here, at the seccomp
 *   stop: this process reads its own clock, writes base + (t - base) × speed
 *   into the program's buffer and skips the syscall (one stop per call, not
 *   two: the Go runtime reads the clock very often).
 * - Timeouts are divided by the speed before the kernel sees them:
 *   epoll_wait/epoll_pwait (milliseconds, rounded up to at least 1),
 *   epoll_pwait2 and relative FUTEX_WAIT (timespec), and absolute
 *   FUTEX_WAIT_BITSET deadlines are mapped back from fake to real time.
 *   These are what the Go runtime's timers sleep in (netpoll, notetsleep).
 * - nanosleep is left alone: the Go runtime uses it only for short real
 *   back-off sleeps (sysmon, spinning); dividing them makes sysmon spin.
 * - Signals are passed on; SIGTERM, SIGINT and SIGHUP sent to this process
 *   are forwarded to the program, and this process exits with its status.
 *   PTRACE_O_EXITKILL and PR_SET_PDEATHSIG take the program down with us.
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>

#if !defined(__x86_64__)
#error "faketime_js supports x86-64 Linux only"
#endif

#ifndef __NR_epoll_pwait2
#define __NR_epoll_pwait2 441
#endif
#define AT_NULL_TAG 0
#define AT_IGNORE_TAG 1
#define AT_SYSINFO_EHDR_TAG 33
#define AUXV_ENTRIES_MAX 64
#define STACK_WORDS_MAX 65536
#define CLOCK_IDS_MAX 16
#define NS_PER_S G_GINT64_CONSTANT(1000000000)

/* The clock transform: fake = base + offset + (real - base) × speed, per
 * clock id; offset only for the wall clocks. */
typedef struct Dilation {
	long double speed;
	gint64 offset_ns;
	gint64 base_ns[CLOCK_IDS_MAX];
	gboolean faked[CLOCK_IDS_MAX];
} Dilation;


static Dilation dilation;
static volatile sig_atomic_t program_pid;

/* ------------------------------------------------------------------------- */

static gint64
clock_real_ns(clockid_t id)
{
	struct timespec ts;
	if (clock_gettime(id, &ts) != 0)
		return 0;
	return (gint64)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static gboolean
clock_is_wall(long id)
{
	return id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE || id == CLOCK_TAI;
}

static void
dilation_init(Dilation *d, long double speed, gint64 offset_ns)
{
	static const clockid_t ids[] = { CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_MONOTONIC_RAW,
		CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE, CLOCK_BOOTTIME, CLOCK_TAI };
	memset(d, 0, sizeof *d);
	d->speed = speed;
	d->offset_ns = offset_ns;
	for (size_t k = 0; k < G_N_ELEMENTS(ids); k++) {
		d->base_ns[ids[k]] = clock_real_ns(ids[k]);
		d->faked[ids[k]] = TRUE;
	}
}

static gint64
dilation_fake_ns(const Dilation *d, long id, gint64 real_ns)
{
	if (id < 0 || id >= CLOCK_IDS_MAX || !d->faked[id])
		return real_ns;
	gint64 base = d->base_ns[id];
	gint64 fake = base + (gint64)((long double)(real_ns - base) * d->speed);
	return clock_is_wall(id) ? fake + d->offset_ns : fake;
}

static gint64
dilation_real_ns(const Dilation *d, long id, gint64 fake_ns)
{
	if (id < 0 || id >= CLOCK_IDS_MAX || !d->faked[id])
		return fake_ns;
	gint64 base = d->base_ns[id];
	if (clock_is_wall(id))
		fake_ns -= d->offset_ns;
	return base + (gint64)((long double)(fake_ns - base) / d->speed);
}

/* A relative duration of fake time in real time, rounded up, at least 1 µs
 * when it was positive (0 would turn a wait into a busy poll). */
static gint64
dilation_scale_ns(const Dilation *d, gint64 ns)
{
	if (ns <= 0)
		return ns;
	gint64 scaled = (gint64)((long double)ns / d->speed + 0.999L);
	return MAX(scaled, 1000);
}

/* ------------------------------------------------------------------------- */

static gboolean
peek_word(pid_t tid, unsigned long long addr, unsigned long long *out)
{
	errno = 0;
	long v = ptrace(PTRACE_PEEKDATA, tid, (void *)addr, NULL);
	if (errno != 0)
		return FALSE;
	*out = (unsigned long long)v;
	return TRUE;
}

static gboolean
poke_word(pid_t tid, unsigned long long addr, unsigned long long value)
{
	return ptrace(PTRACE_POKEDATA, tid, (void *)addr, (void *)value) == 0;
}

static gboolean
read_pair(pid_t tid, unsigned long long addr, gint64 *a, gint64 *b)
{
	unsigned long long x, y;
	if (!peek_word(tid, addr, &x) || !peek_word(tid, addr + 8, &y))
		return FALSE;
	*a = (gint64)x;
	*b = (gint64)y;
	return TRUE;
}

static gboolean
write_pair(pid_t tid, unsigned long long addr, gint64 a, gint64 b)
{
	return poke_word(tid, addr, (unsigned long long)a) &&
	       poke_word(tid, addr + 8, (unsigned long long)b);
}

/* A relative timeout (timespec at addr) of fake time, in real time. */
static void
scale_timespec(pid_t tid, unsigned long long addr)
{
	gint64 sec, nsec;
	if (addr == 0 || !read_pair(tid, addr, &sec, &nsec))
		return;
	gint64 ns = dilation_scale_ns(&dilation, sec * NS_PER_S + nsec);
	write_pair(tid, addr, ns / NS_PER_S, ns % NS_PER_S);
}

/* An absolute deadline on clock id, in fake time, back to real time. */
static void
unfake_deadline(pid_t tid, unsigned long long addr, long id)
{
	gint64 sec, nsec;
	if (addr == 0 || !read_pair(tid, addr, &sec, &nsec))
		return;
	gint64 ns = dilation_real_ns(&dilation, id, sec * NS_PER_S + nsec);
	write_pair(tid, addr, ns / NS_PER_S, ns % NS_PER_S);
}

/* At the exec stop: the stack holds argc, argv[], NULL, envp[], NULL, then
 * the auxiliary vector. AT_SYSINFO_EHDR becomes AT_IGNORE, so the new image
 * finds no vDSO and makes real clock syscalls. */
static void
hide_vdso(pid_t tid)
{
	struct user_regs_struct regs;
	if (ptrace(PTRACE_GETREGS, tid, NULL, &regs) != 0)
		return;
	unsigned long long p = regs.rsp, word = 0;
	if (!peek_word(tid, p, &word))
		return;
	p += 8 * (word + 2); /* argc, argv[argc], NULL */
	int words = 0;
	while (peek_word(tid, p, &word) && word != 0 && words++ < STACK_WORDS_MAX)
		p += 8; /* envp */
	p += 8;
	for (int k = 0; k < AUXV_ENTRIES_MAX; k++, p += 16) {
		if (!peek_word(tid, p, &word) || word == AT_NULL_TAG)
			return;
		if (word == AT_SYSINFO_EHDR_TAG) {
			if (!poke_word(tid, p, AT_IGNORE_TAG))
				g_printerr("faketime_js: cannot hide the vDSO: %s\n", g_strerror(errno));
			return;
		}
	}
}

/* ------------------------------------------------------------------------- */

/* Writes len bytes into the program's memory (its stack or heap). */
static gboolean
write_mem(pid_t tid, unsigned long long addr, const void *buf, size_t len)
{
	struct iovec local = { .iov_base = (void *)buf, .iov_len = len };
	struct iovec remote = { .iov_base = (void *)addr, .iov_len = len };
	return addr != 0 && process_vm_writev(tid, &local, 1, &remote, 1, 0) == (ssize_t)len;
}

/* At a seccomp stop: the syscall does not run and returns `result`. */
static void
skip_syscall(pid_t tid, struct user_regs_struct *regs, long long result)
{
	regs->orig_rax = (unsigned long long)-1;
	regs->rax = (unsigned long long)result;
	ptrace(PTRACE_SETREGS, tid, NULL, regs);
}

/* At a seccomp stop: answer a clock read, or scale a timeout's argument. */
static void
on_syscall_entry(pid_t tid)
{
	struct user_regs_struct regs;
	if (ptrace(PTRACE_GETREGS, tid, NULL, &regs) != 0)
		return;
	switch (regs.orig_rax) {
	case __NR_clock_gettime: {
		long id = (long)regs.rdi;
		if (id < 0 || id >= CLOCK_IDS_MAX || !dilation.faked[id]) {
			/* CPU-time and other clocks: the kernel answers, as is. */
			return;
		}
		gint64 ns = dilation_fake_ns(&dilation, id, clock_real_ns((clockid_t)id));
		struct timespec ts = { .tv_sec = ns / NS_PER_S, .tv_nsec = ns % NS_PER_S };
		skip_syscall(tid, &regs, write_mem(tid, regs.rsi, &ts, sizeof ts) ? 0 : -EFAULT);
		return;
	}
	case __NR_gettimeofday: {
		gint64 ns = dilation_fake_ns(&dilation, CLOCK_REALTIME, clock_real_ns(CLOCK_REALTIME));
		struct timeval tv = { .tv_sec = ns / NS_PER_S, .tv_usec = ns % NS_PER_S / 1000 };
		gboolean ok = regs.rdi == 0 || write_mem(tid, regs.rdi, &tv, sizeof tv);
		skip_syscall(tid, &regs, ok ? 0 : -EFAULT);
		return;
	}
	case __NR_time: {
		gint64 s = dilation_fake_ns(&dilation, CLOCK_REALTIME,
			clock_real_ns(CLOCK_REALTIME)) / NS_PER_S;
		if (regs.rdi != 0)
			write_mem(tid, regs.rdi, &s, sizeof s);
		skip_syscall(tid, &regs, s);
		return;
	}
	case __NR_epoll_wait:
	case __NR_epoll_pwait: {
		int ms = (int)regs.r10;
		if (ms > 0) {
			regs.r10 = (unsigned long long)(dilation_scale_ns(&dilation,
				(gint64)ms * 1000000) + 999999) / 1000000;
			ptrace(PTRACE_SETREGS, tid, NULL, &regs);
		}
		return;
	}
	case __NR_epoll_pwait2:
		scale_timespec(tid, regs.r10);
		return;
	case __NR_futex: {
		int op = (int)regs.rsi;
		int cmd = op & FUTEX_CMD_MASK;
		if (cmd == FUTEX_WAIT)
			scale_timespec(tid, regs.r10);
		else if (cmd == FUTEX_WAIT_BITSET)
			unfake_deadline(tid, regs.r10,
				(op & FUTEX_CLOCK_REALTIME) ? CLOCK_REALTIME : CLOCK_MONOTONIC);
		return;
	}
	default:
		return;
	}
}

/* ------------------------------------------------------------------------- */

#define TRACE_IF_NR(nr) \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), \
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE)

/* The filter: trace the clock reads and the waits with a timeout; futex only
 * for FUTEX_WAIT / FUTEX_WAIT_BITSET with a timeout (the Go runtime's
 * countless wake-ups and untimed waits pass untouched). */
static int
install_filter(void)
{
	struct sock_filter prog[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		TRACE_IF_NR(__NR_clock_gettime),
		TRACE_IF_NR(__NR_gettimeofday),
		TRACE_IF_NR(__NR_time),
		TRACE_IF_NR(__NR_epoll_wait),
		TRACE_IF_NR(__NR_epoll_pwait),
		TRACE_IF_NR(__NR_epoll_pwait2),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_futex, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		/* futex: the op's command... */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1])),
		BPF_STMT(BPF_ALU | BPF_AND | BPF_K, FUTEX_CMD_MASK),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, FUTEX_WAIT, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, FUTEX_WAIT_BITSET, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		/* ...and a non-NULL timeout (either half of args[3]). */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[3])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 2),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[3]) + 4),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog fprog = { .len = G_N_ELEMENTS(prog), .filter = prog };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return -1;
	return (int)syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog);
}

static void
forward_signal(int sig)
{
	if (program_pid > 0)
		kill(program_pid, sig);
}

/* "+OFFSET xSPEED" (OFFSET in seconds, may be negative; SPEED > 0). */
static gboolean
parse_spec(const char *spec, long double *speed, gint64 *offset_ns)
{
	char *end = NULL;
	if (spec[0] != '+' && spec[0] != '-')
		return FALSE;
	double offset_s = g_ascii_strtod(spec, &end);
	if (end == spec)
		return FALSE;
	while (*end == ' ')
		end++;
	*speed = 1.0L;
	if (*end == 'x') {
		const char *s = end + 1;
		double v = g_ascii_strtod(s, &end);
		if (end == s || v <= 0)
			return FALSE;
		*speed = v;
	}
	while (*end == ' ')
		end++;
	*offset_ns = (gint64)(offset_s * 1e9);
	return *end == '\0';
}

static G_NORETURN void
child_exec(char **argv)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) != 0) {
		g_printerr("faketime_js: PTRACE_TRACEME: %s\n", g_strerror(errno));
		_exit(126);
	}
	raise(SIGSTOP);
	if (install_filter() != 0) {
		g_printerr("faketime_js: seccomp filter: %s\n", g_strerror(errno));
		_exit(126);
	}
	execvp(argv[0], argv);
	g_printerr("faketime_js: exec %s: %s\n", argv[0], g_strerror(errno));
	_exit(127);
}

int
main(int argc, char **argv)
{
	long double speed;
	gint64 offset_ns;
	if (argc < 4 || strcmp(argv[1], "-f") != 0 || !parse_spec(argv[2], &speed, &offset_ns)) {
		g_printerr("usage: %s -f \"+OFFSET xSPEED\" PROGRAM [ARGS...]\n", argv[0]);
		return 2;
	}
	dilation_init(&dilation, speed, offset_ns);

	pid_t pid = fork();
	if (pid < 0) {
		g_printerr("faketime_js: fork: %s\n", g_strerror(errno));
		return 126;
	}
	if (pid == 0)
		child_exec(argv + 3);
	program_pid = pid;
	struct sigaction sa = { .sa_handler = forward_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	int status;
	if (waitpid(pid, &status, __WALL) != pid || !WIFSTOPPED(status)) {
		g_printerr("faketime_js: the child did not stop for tracing\n");
		return 126;
	}
	long options = PTRACE_O_EXITKILL | PTRACE_O_TRACESECCOMP | PTRACE_O_TRACECLONE |
		PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACEEXEC | PTRACE_O_TRACESYSGOOD;
	if (ptrace(PTRACE_SETOPTIONS, pid, NULL, (void *)options) != 0) {
		g_printerr("faketime_js: PTRACE_SETOPTIONS: %s\n", g_strerror(errno));
		kill(pid, SIGKILL);
		return 126;
	}
	/* Every traced thread and process we have seen stop: a new one's first
	 * stop is its SIGSTOP. */
	GHashTable *threads = g_hash_table_new(NULL, NULL);
	g_hash_table_add(threads, GINT_TO_POINTER(pid));
	ptrace(PTRACE_CONT, pid, NULL, NULL);

	int exit_status = 0;
	for (;;) {
		pid_t tid = waitpid(-1, &status, __WALL);
		if (tid < 0) {
			if (errno == EINTR)
				continue;
			break; /* ECHILD: every traced thread and process is gone */
		}
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			if (tid == pid)
				exit_status = status;
			g_hash_table_remove(threads, GINT_TO_POINTER(tid));
			continue;
		}
		if (!WIFSTOPPED(status))
			continue;
		int sig = WSTOPSIG(status);
		int event = status >> 16;
		if (!g_hash_table_contains(threads, GINT_TO_POINTER(tid))) {
			g_hash_table_add(threads, GINT_TO_POINTER(tid));
			ptrace(PTRACE_CONT, tid, NULL, sig == SIGSTOP ? NULL : (void *)(long)sig);
			continue;
		}
		int inject = 0;
		if (sig == (SIGTRAP | 0x80)) {
			/* a syscall-exit stop: none is asked for */
		} else if (sig == SIGTRAP && event == PTRACE_EVENT_SECCOMP) {
			on_syscall_entry(tid);
		} else if (sig == SIGTRAP && event == PTRACE_EVENT_EXEC) {
			hide_vdso(tid);
		} else if (sig == SIGTRAP && event != 0) {
			/* clone/fork/vfork events: the new one reports on its own. */
		} else {
			siginfo_t si;
			/* A group-stop has no siginfo: just resume. */
			if (ptrace(PTRACE_GETSIGINFO, tid, NULL, &si) == 0)
				inject = sig;
		}
		ptrace(PTRACE_CONT, tid, NULL, (void *)(long)inject);
	}
	g_hash_table_unref(threads);
	if (WIFSIGNALED(exit_status))
		return 128 + WTERMSIG(exit_status);
	return WEXITSTATUS(exit_status);
}
