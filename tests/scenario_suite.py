#!/usr/bin/env python3
"""scenario_suite.py - the scenario tool as a whole, from the outside.

  scenario_suite.py NATSIM SOURCE_ROOT CHECK

CHECK is one of:
  registered    every .scn under scenarios/ is listed in scenarios/meson.build
  errors        every file in tests/scenario_errors/ fails `natsim check` with
                exactly the `file:line:col: message` its first line names
  twice         the whole suite run twice in one process (--twice) agrees
  parallel      two processes running the suite at once print the same
                fingerprints, and the same as a third run alone
  valgrind      the suite under valgrind prints the same fingerprints (77 if
                valgrind is missing)
  junit         --junit writes XML that parses, one testcase per run
  planted       with a planted broker bug (drop one delivery in 1000), swarm
                finds failing seeds and shrink reduces one to a short scenario
                that still fails; without the bug the same seeds pass
  report        the HTML report renders in headless Chromium with no console
                errors and shows the SVG timelines (77 if chromium is missing)
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

FP = re.compile(r"^(PASS|FAIL) (\S+) seed=(\d+) .* fingerprint=([0-9a-f]{16})$", re.M)


def run(cmd, env=None, timeout=600, ok_codes=(0,)):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    if p.returncode not in ok_codes:
        raise SystemExit(f"{' '.join(cmd)} exited {p.returncode}:\n{p.stdout}\n{p.stderr}")
    return p


def fingerprints(text):
    found = FP.findall(text)
    if not found:
        raise SystemExit(f"no result lines in:\n{text}")
    return [(f[1], f[2], f[3]) for f in found], [f for f in found if f[0] != "PASS"]


def check_registered(natsim, root):
    listed = set(re.findall(r"'([^']+\.scn)'", open(os.path.join(root, "scenarios", "meson.build")).read()))
    present = set()
    for base, _, files in os.walk(os.path.join(root, "scenarios")):
        for f in files:
            if f.endswith(".scn"):
                present.add(os.path.relpath(os.path.join(base, f), os.path.join(root, "scenarios")))
    missing, stale = present - listed, listed - present
    if missing or stale:
        raise SystemExit(f"scenarios/meson.build is out of date: not listed {sorted(missing)}, no such file {sorted(stale)}")
    print(f"ok: all {len(present)} scenario files are registered")


def check_errors(natsim, root):
    folder = os.path.join(root, "tests", "scenario_errors")
    names = sorted(f for f in os.listdir(folder) if f.endswith(".scn"))
    bad = 0
    for name in names:
        path = os.path.join(folder, name)
        with open(path, "rb") as f:
            first = f.readline().decode("utf-8", "replace").strip()
        m = re.match(r"# expect-error: (.*)$", first)
        if not m:
            raise SystemExit(f"{path}: the first line must be '# expect-error: LINE:COL: message'")
        want = f"{path}:{m.group(1)}"
        p = subprocess.run([natsim, "check", path], capture_output=True, text=True, timeout=60)
        got = p.stderr.strip()
        if p.returncode != 2 or got != want:
            bad += 1
            print(f"FAIL {name}: exit {p.returncode}\n  want: {want}\n  got:  {got}")
    if bad:
        raise SystemExit(f"{bad} of {len(names)} error messages differ")
    print(f"ok: {len(names)} broken scenario files each give their exact file:line:col message")


def check_twice(natsim, root):
    p = run([natsim, "run", os.path.join(root, "scenarios"), "--twice"])
    results, failed = fingerprints(p.stdout)
    if failed or "NONDETERMINISTIC" in p.stdout:
        raise SystemExit(p.stdout)
    print(f"ok: {len(results)} runs agree with themselves when run twice")


def check_parallel(natsim, root):
    cmd = [natsim, "run", os.path.join(root, "scenarios"), "--seeds", "1..3"]
    a = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    b = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    out_a, _ = a.communicate(timeout=600)
    out_b, _ = b.communicate(timeout=600)
    alone = run(cmd).stdout
    fa, fb, fc = (fingerprints(x)[0] for x in (out_a, out_b, alone))
    if not fa == fb == fc:
        raise SystemExit("fingerprints differ between processes")
    print(f"ok: {len(fa)} runs give the same fingerprints in parallel processes and alone")


def check_valgrind(natsim, root):
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        print("SKIP: valgrind is not installed")
        return 77
    cmd = [natsim, "run", os.path.join(root, "scenarios")]
    native = fingerprints(run(cmd).stdout)[0]
    env = dict(os.environ, G_SLICE="always-malloc")
    checked = fingerprints(run([valgrind, "-q", "--error-exitcode=1", "--leak-check=full",
                                "--errors-for-leak-kinds=definite",
                                "--suppressions=/usr/share/glib-2.0/valgrind/glib.supp"] + cmd,
                               env=env, timeout=1200).stdout)[0]
    if native != checked:
        raise SystemExit(f"fingerprints changed under valgrind:\n{native}\n{checked}")
    print(f"ok: {len(native)} runs give the same fingerprints under valgrind, with no memory errors")
    return 0


def check_junit(natsim, root):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "junit.xml")
        p = run([natsim, "run", os.path.join(root, "scenarios"), "--seeds", "1..2", "--junit", path])
        runs = len(fingerprints(p.stdout)[0])
        tree = ET.parse(path)
        cases = tree.getroot().findall(".//testcase")
        if len(cases) != runs:
            raise SystemExit(f"{len(cases)} testcases for {runs} runs")
        # A failing run must carry its file:line and the replay command.
        bad = os.path.join(tmp, "bad.scn")
        with open(bad, "w") as f:
            f.write("broker b1\nclient c -> b1\nat 0s c subscribe x\nexpect c receives 1 on x\n")
        bad_xml = os.path.join(tmp, "bad.xml")
        run([natsim, "run", bad, "--junit", bad_xml], ok_codes=(1,))
        failure = ET.parse(bad_xml).getroot().find(".//failure")
        if failure is None or f"{bad}:4:" not in failure.text or "natsim replay" not in failure.text:
            raise SystemExit("the failure text lacks file:line or the replay command")
    print(f"ok: JUnit XML parses, {runs} testcases, failures carry file:line and the replay command")


def check_planted(natsim, root):
    scn = os.path.join(root, "scenarios", "core", "queue-balance.scn")
    env = dict(os.environ, NATSIM_PLANTED_BUG="drop:1000")
    with tempfile.TemporaryDirectory() as tmp:
        p = run([natsim, "swarm", scn, "--runs", "12", "--jobs", "2", "--out", tmp], env=env, ok_codes=(1,))
        seeds = [int(s) for s in re.findall(r"FAIL seed=(\d+)", p.stdout)]
        if not seeds:
            raise SystemExit(f"the swarm found nothing:\n{p.stdout}")
        kept = [f for f in os.listdir(tmp) if f.endswith(".scn")]
        if len(kept) != len(seeds):
            raise SystemExit(f"{len(seeds)} failing seeds but {len(kept)} kept scenarios")
        seed = seeds[0]
        out = os.path.join(tmp, "minimal.scn")
        s = run([natsim, "shrink", scn, "--seed", str(seed), "--out", out], env=env)
        minimal = open(out).read()
        body = [l for l in minimal.splitlines() if l.strip() and not l.startswith("#")]
        if len(body) > 8:
            raise SystemExit(f"shrink left {len(body)} lines:\n{minimal}")
        count = int(re.search(r"count (\d+)", minimal).group(1))
        if count >= 3000:
            raise SystemExit("shrink did not reduce the publish count")
        # The minimal scenario still fails with the bug, and passes without it.
        run([natsim, "run", out, "--seed", str(seed)], env=env, ok_codes=(1,))
        run([natsim, "run", out, "--seed", str(seed)])
        run([natsim, "run", scn, "--seed", str(seed)])
    print(f"ok: swarm found {len(seeds)} failing seeds of 12; shrink cut seed {seed} to {len(body)} lines "
          f"(count {count}); it passes without the bug")


def check_report(natsim, root):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("SKIP: chromium is not installed (apt-get install chromium) - cannot render the HTML report")
        return 77
    with tempfile.TemporaryDirectory() as tmp:
        run([natsim, "run", os.path.join(root, "scenarios"), "--report", tmp])
        index = os.path.join(tmp, "index.html")
        profile = os.path.join(tmp, "profile")
        p = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                            "--no-first-run", "--disable-background-networking", "--disable-component-update",
                            "--disable-sync", f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
                            "--dump-dom", "file://" + index],
                           capture_output=True, text=True, timeout=120)
        dom = p.stdout
        console = [l for l in p.stderr.splitlines() if "CONSOLE" in l or "Uncaught" in l]
        if p.returncode != 0 or "<svg" not in dom or "natsim report" not in dom:
            raise SystemExit(f"chromium did not render the report (exit {p.returncode}):\n{p.stderr[-2000:]}")
        if console:
            raise SystemExit("console messages:\n" + "\n".join(console))
        svgs = dom.count("<svg")
    print(f"ok: the report renders in headless Chromium, {svgs} SVG timelines, no console errors")
    return 0


CHECKS = {
    "registered": check_registered, "errors": check_errors, "twice": check_twice, "parallel": check_parallel,
    "valgrind": check_valgrind, "junit": check_junit, "planted": check_planted, "report": check_report,
}


def main(argv):
    if len(argv) != 4 or argv[3] not in CHECKS:
        print(__doc__, file=sys.stderr)
        return 2
    return CHECKS[argv[3]](argv[1], argv[2]) or 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
