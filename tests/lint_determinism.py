#!/usr/bin/env python3
"""lint_determinism.py - core sources must not reach the clock, randomness,
threads, sockets or files directly.

Every C file under proto/, broker/, client/ and sim/ is a core source except
the real-world driver files named in DRIVER_FILES. A core that calls, say,
time() or g_random_int() breaks exact replay; it must take time, randomness,
network and disk from its driver (DESIGN.md). Comments and string literals
are stripped first, and member calls (st->ops->open(...), x.read(...)) are
not calls of the C library.

  lint_determinism.py SOURCE_ROOT      lint the tree; exit 1 on any finding
  lint_determinism.py --self-test      plant calls in a scratch tree and check
                                       that exactly those are caught
"""
import os
import re
import sys
import tempfile

CORE_DIRS = ["proto", "broker", "client", "sim"]

# Real-world driver files: the only ones allowed to touch the outside world.
DRIVER_FILES = {
    "broker/storage_posix.c",  # the storage seam on a real directory
    "sim/tripwire.c",          # defines the guarded functions themselves
    "sim/natsim.c",            # the simulator's command line: opens trace/report files
    "sim/swarm.c",             # natsim swarm: forks workers, polls their pipes
    "sim/files.c",             # natsim's file writing (reports, exports)
    "sim/bench_kernel.c",      # benchmark program
    "sim/bench_natsim.c",      # benchmark program: wall and CPU clocks, the baseline's processes, temp files
    "broker/js/bench_filestore.c",  # file store benchmark program: clock, temp directory
    "broker/server_main.c",    # natsim-server: config file, environment, pid file, descriptor limit
    "broker/server_loop.c",    # natsim-server's event loop: epoll, sockets, signals, clock, getrandom
    "broker/server_net.c",     # natsim-server's listening sockets and peer names
    "broker/server_http.c",    # natsim-server's monitoring port (libmicrohttpd)
    "broker/server_log.c",     # natsim-server's log: wall clock, pid, stderr or a file
    "client/tcp.c",            # the client's real driver: socket, I/O thread, clock, seed
    "client/bench_client.c",   # client benchmark program: clock, threads, libnats
}

FORBIDDEN_CALLS = [
    # clock
    "time", "clock_gettime", "gettimeofday", "clock", "ftime", "timespec_get",
    "sleep", "usleep", "nanosleep", "alarm",
    "g_get_monotonic_time", "g_get_real_time", "g_get_current_time",
    r"g_date_time_new_now\w*", "g_timer_new", "g_usleep",
    # randomness
    "rand", "rand_r", "random", "srand", "srandom", "drand48", "lrand48", "mrand48",
    "getrandom", "getentropy", r"arc4random\w*", r"g_random_\w+", r"g_rand_new\w*",
    "getpid",
    # threads
    r"pthread_\w+", r"g_thread_\w+", "thrd_create", "fork",
    # sockets and polling
    "socket", "socketpair", "bind", "listen", "accept", "accept4", "connect",
    "send", "sendto", "sendmsg", "recv", "recvfrom", "recvmsg", "getaddrinfo",
    "poll", "ppoll", "select", "pselect", r"epoll_\w+",
    # files
    "open", "openat", "creat", "fopen", "fdopen", "freopen", "opendir", "mkdir",
    "unlink", "rename", "remove", "rmdir", "fsync", "fdatasync", "ftruncate",
    "read", "write", "pread", "pwrite", "readv", "writev", "close",
    r"g_file_\w+", r"g_mkdir\w*", "g_open", "g_fopen", "g_unlink", "g_rename",
]
FORBIDDEN_HEADERS = ["pthread.h", "sys/socket.h", "sys/epoll.h", "netinet/in.h", "sys/random.h", "dirent.h"]

CALL_RE = re.compile(r"(?<![\w.>$])(" + "|".join(FORBIDDEN_CALLS) + r")\s*\(")
HEADER_RE = re.compile(r'#\s*include\s*[<"](' + "|".join(re.escape(h) for h in FORBIDDEN_HEADERS) + r')[>"]')


def strip_comments_and_strings(text):
    """Blank out comments and string/char literals, keeping line numbers."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(c + re.sub(r"[^\n]", " ", text[i + 1:j - 1]) + c)
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def lint_file(path, rel):
    findings = []
    with open(path, encoding="utf-8") as f:
        raw = f.read()
    for number, line in enumerate(raw.splitlines(), 1):
        m = HEADER_RE.search(line)
        if m:
            findings.append(f"{rel}:{number}: includes <{m.group(1)}>")
    code = strip_comments_and_strings(raw)
    for number, line in enumerate(code.splitlines(), 1):
        if line.lstrip().startswith("#"):
            continue  # preprocessor lines (includes are checked above)
        for m in CALL_RE.finditer(line):
            findings.append(f"{rel}:{number}: calls {m.group(1)}()")
    return findings


def lint_tree(root):
    findings = []
    for d in CORE_DIRS:
        base = os.path.join(root, d)
        for dirpath, _, files in os.walk(base):
            for name in sorted(files):
                if not name.endswith((".c", ".h")):
                    continue
                path = os.path.join(dirpath, name)
                rel = os.path.relpath(path, root).replace(os.sep, "/")
                if rel in DRIVER_FILES:
                    continue
                findings.extend(lint_file(path, rel))
    return sorted(findings)


def self_test():
    planted = """/* a core file with planted calls */
#include <pthread.h>
static int f(Storage *st, File *file) {
	int t = time(NULL);               /* planted: line 4 */
	unsigned r = g_random_int();      /* planted: line 5 */
	st->ops->open(st->ctx, "x", 0, &file); /* a member call: fine */
	// time(NULL) in a comment is fine
	const char *s = "rand() in a string is fine";
	return t + (int)r + fsync (3);    /* planted: line 9 */
}
"""
    driver = "int g(void) { return time(NULL); }\n"
    with tempfile.TemporaryDirectory() as root:
        os.makedirs(os.path.join(root, "broker"))
        os.makedirs(os.path.join(root, "sim"))
        with open(os.path.join(root, "broker", "planted.c"), "w") as f:
            f.write(planted)
        with open(os.path.join(root, "sim", "tripwire.c"), "w") as f:
            f.write(driver)  # a listed driver file: exempt
        got = lint_tree(root)
    expected = [
        "broker/planted.c:2: includes <pthread.h>",
        "broker/planted.c:4: calls time()",
        "broker/planted.c:5: calls g_random_int()",
        "broker/planted.c:9: calls fsync()",
    ]
    if got != expected:
        print("self-test FAILED\nexpected:\n  " + "\n  ".join(expected) + "\ngot:\n  " + "\n  ".join(got))
        return 1
    print("self-test ok: the planted calls were caught, and nothing else")
    return 0


def main(argv):
    if len(argv) == 2 and argv[1] == "--self-test":
        return self_test()
    if len(argv) != 2 or argv[1].startswith("-"):
        print(__doc__, file=sys.stderr)
        return 2
    findings = lint_tree(argv[1])
    for line in findings:
        print(line)
    if findings:
        print(f"{len(findings)} direct call(s) to the outside world in core sources; "
              "take them from the driver, or list a real-world driver file in DRIVER_FILES")
        return 1
    print("lint ok: no core source touches the clock, randomness, threads, sockets or files")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
