#!/usr/bin/env python3
"""determinism.py - same seed, same fingerprint: across processes running in
parallel, and under valgrind; different seeds, different fingerprints.

  determinism.py NATSIM [--valgrind]

Without --valgrind: for seeds 1..4 (plain and with tie shuffling), two
processes run each seed at the same time and a third runs it alone; all
three must print the same fingerprint, and the four seeds must differ.
With --valgrind: one seed natively and under valgrind (memcheck, errors
fatal); the fingerprints must match. Exit 77 (skip) if valgrind is missing.
"""
import os
import re
import shutil
import subprocess
import sys

FP = re.compile(r"seed=(\d+) (ok|FAIL) .* fingerprint=([0-9a-f]{16})")


def fingerprint(output):
    m = FP.search(output)
    if not m:
        raise SystemExit(f"no fingerprint in output:\n{output}")
    if m.group(2) != "ok":
        raise SystemExit(f"the run failed:\n{output}")
    return m.group(3)


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {p.returncode}:\n{p.stdout}{p.stderr}")
    return fingerprint(p.stdout)


def parallel(natsim):
    for extra in ([], ["--shuffle"]):
        seen = {}
        for seed in range(1, 5):
            cmd = [natsim, "selfcheck", "--seed", str(seed)] + extra
            a = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
            b = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
            out_a, _ = a.communicate(timeout=600)
            out_b, _ = b.communicate(timeout=600)
            if a.returncode or b.returncode:
                raise SystemExit(f"a parallel run failed: {out_a}{out_b}")
            fa, fb, fc = fingerprint(out_a), fingerprint(out_b), run(cmd)
            print(f"seed {seed}{' shuffled' if extra else ''}: {fa} {fb} {fc}")
            if not fa == fb == fc:
                raise SystemExit(f"seed {seed}: fingerprints differ between processes")
            if fa in seen.values():
                raise SystemExit(f"seed {seed} has the same fingerprint as another seed")
            seen[seed] = fa
    print("ok: each seed gives one fingerprint in parallel processes; seeds differ")


def under_valgrind(natsim):
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        print("SKIP: valgrind is not installed, so the under-valgrind comparison cannot run")
        return 77
    cmd = [natsim, "selfcheck", "--seed", "3"]
    native = run(cmd)
    # As GLib's own valgrind advice says: plain malloc for slices (the
    # simulator would re-exec itself to get it, leaving valgrind behind).
    os.environ["G_SLICE"] = "always-malloc"
    checked = run([valgrind, "--error-exitcode=1", "--leak-check=full", "--errors-for-leak-kinds=definite",
                   "--suppressions=/usr/share/glib-2.0/valgrind/glib.supp", "-q"] + cmd)
    print(f"seed 3: native {native}, valgrind {checked}")
    if native != checked:
        raise SystemExit("the fingerprint changed under valgrind")
    print("ok: the same fingerprint under valgrind")
    return 0


def main(argv):
    if len(argv) == 2:
        parallel(argv[1])
        return 0
    if len(argv) == 3 and argv[2] == "--valgrind":
        return under_valgrind(argv[1])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
