#!/usr/bin/env python3
"""bench_smoke.py - natsim-bench runs and prints its figures (a smoke test:
it never asserts speed). Quick mode, once alone and once with the same
build's natsim as the baseline, so both code paths run; a bad flag gets
the usage and exit status 2.

  bench_smoke.py NATSIM_BENCH NATSIM
"""
import re
import subprocess
import sys

ROWS = [
    "idle clients: virtual time / time",
    "idle clients: events / s",
    "fan-out: deliveries / s",
    "queue-balance: seeds / s",
]
NUMBER = r"[0-9]+(\.[0-9]+)?( M|x)?"


def check_table(out, columns):
    """Each row is there with a figure (CPU time, then wall time) in each
    of its `columns` cells."""
    ok = True
    for row in ROWS:
        line = next((l for l in out.splitlines() if l.startswith("| " + row + " |")), None)
        cells = [c.strip() for c in line.strip("|").split("|")] if line else []
        good = len(cells) >= 1 + columns and all(
            re.fullmatch(NUMBER + r" \(" + NUMBER + r"\)", c) for c in cells[1:1 + columns])
        print(f"{'ok  ' if good else 'FAIL'} row '{row}': {line}")
        ok = ok and good
    return ok


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    bench, natsim = argv[1], argv[2]
    ok = True
    p = subprocess.run([bench, "--quick"], capture_output=True, text=True, timeout=600)
    print(p.stdout)
    ok = ok and p.returncode == 0 and check_table(p.stdout, 1) and "ms per seed" in p.stdout
    p = subprocess.run([bench, "--quick", "--baseline", natsim], capture_output=True, text=True, timeout=600)
    print(p.stdout)
    ok = ok and p.returncode == 0 and check_table(p.stdout, 2)
    p = subprocess.run([bench, "--bogus"], capture_output=True, text=True, timeout=60)
    bad_flag = p.returncode == 2 and "Unknown option --bogus" in p.stderr
    print(f"{'ok  ' if bad_flag else 'FAIL'} --bogus -> {p.returncode}")
    ok = ok and bad_flag
    if not ok:
        print("stderr:\n" + p.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
