#!/usr/bin/env python3
"""cli.py - every program answers a bad flag or a bad argument with a
clear message, its usage, and exit status 2; --help succeeds.

  cli.py NATSIM BENCH_KERNEL
"""
import subprocess
import sys
import tempfile


def check(cmd, status, want_in_stderr=None, want_in_stdout=None):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    ok = p.returncode == status
    if want_in_stderr is not None:
        ok = ok and want_in_stderr in p.stderr
    if want_in_stdout is not None:
        ok = ok and want_in_stdout in p.stdout
    print(f"{'ok  ' if ok else 'FAIL'} {' '.join(cmd[1:]) or '(no args)'} -> {p.returncode}")
    if not ok:
        print(f"  expected {status}; stdout:\n{p.stdout}\n  stderr:\n{p.stderr}")
    return ok


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    natsim, bench = argv[1], argv[2]
    results = [
        check([natsim], 2, "usage: natsim"),
        check([natsim, "--bogus"], 2, "unknown command '--bogus'"),
        check([natsim, "frobnicate"], 2, "unknown command 'frobnicate'"),
        check([natsim, "--help"], 0, None, "usage: natsim"),
        check([natsim, "--version"], 0, None, "natsim "),
        check([natsim, "selfcheck", "--bogus"], 2, "Unknown option --bogus"),
        check([natsim, "selfcheck", "--seed", "abc"], 2, "a seed is a decimal number"),
        check([natsim, "selfcheck", "--seeds", "5..2"], 2, "a range is A..B"),
        check([natsim, "selfcheck", "--seed", "1", "--seeds", "1..2"], 2, "not both"),
        check([natsim, "selfcheck", "extra"], 2, "takes no file arguments"),
        check([natsim, "selfcheck", "--seed", "1", "--trace", tempfile.gettempdir()], 1, "cannot write"),
        check([natsim, "selfcheck", "--seed", "2"], 0, None, "seed=2 ok"),
        check([bench, "--bogus"], 2, "Unknown option --bogus"),
        check([bench, "--events", "0"], 2, "bad arguments"),
    ]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
