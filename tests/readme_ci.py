#!/usr/bin/env python3
"""readme_ci.py - the README's Quick start and .ci/run cannot drift apart.

The Quick start is exactly two commands (install + build + main job; the
tests); .ci/run takes its commands from the README, and `.ci/run --print`
must print exactly those two.

  readme_ci.py SOURCE_ROOT
"""
import os
import re
import subprocess
import sys


def quick_start(readme):
    m = re.search(r"^## Quick start\s*\n(.*?)^## ", readme, re.S | re.M)
    if not m:
        raise SystemExit("README.md has no '## Quick start' section followed by another section")
    blocks = re.findall(r"```sh\n(.*?)```", m.group(1), re.S)
    if len(blocks) != 1:
        raise SystemExit(f"the Quick start must hold one ```sh block, found {len(blocks)}")
    return [line for line in blocks[0].splitlines() if line.strip()]


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    root = argv[1]
    with open(os.path.join(root, "README.md"), encoding="utf-8") as f:
        commands = quick_start(f.read())
    problems = []
    if len(commands) != 2:
        problems.append(f"the Quick start has {len(commands)} commands, not 2")
    else:
        first, second = commands
        for needle in ("apt-get install", "meson setup build", "meson compile -C build", "build/sim/natsim"):
            if needle not in first:
                problems.append(f"the first command lacks '{needle}'")
        if not second.startswith("meson test -C build"):
            problems.append("the second command is not 'meson test -C build ...'")
    printed = subprocess.run(["bash", os.path.join(root, ".ci", "run"), "--print"], capture_output=True,
                             text=True, cwd=root, timeout=60)
    ci_commands = [line for line in printed.stdout.splitlines() if line.strip()]
    if printed.returncode != 0:
        problems.append(f".ci/run --print exited {printed.returncode}: {printed.stderr}")
    if ci_commands[:2] != commands:
        problems.append(f".ci/run would run {ci_commands[:2]}, the README says {commands}")
    for p in problems:
        print("FAIL: " + p)
    if not problems:
        print("ok: .ci/run runs the README's two Quick start commands:")
        for c in commands:
            print("  " + c)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
