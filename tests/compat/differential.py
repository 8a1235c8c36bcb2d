#!/usr/bin/env python3
"""differential.py - raw-protocol differential tests: natsim-server against
nats-server, byte for byte.

For each case file (tests/compat/cases/*.case) it starts two servers on fresh
loopback ports with the same flags and config file: the reference
(nats-server) and the server under test. It plays the case's byte script
against each over real TCP connections, records everything each server sent
(framed into protocol units: one line, or one MSG/HMSG with its payload),
whether and when it closed each connection, masks what legitimately differs
(see INFO_MASKED), and compares the two transcripts exactly. A mismatch
prints a unified diff. Only the Python standard library is used.

  differential.py --under-test SERVER [--reference NATS_SERVER] [options] [CASE...]
  differential.py --self-check [options] [CASE...]     reference on both sides

  --self-check     use the reference as the server under test: every case
                   must pass, which proves the masking is right and the case
                   is deterministic (run with --repeat N to be sure)
  --repeat N       play every case N times
  -j N             run N cases at once (default 4)
  --show           print each case's reference transcript
  --list           list the cases and exit
  CASE             case names (file stems) or substrings to select

Exit status: 0 all cases agree, 1 a mismatch or an error, 2 usage, 77 (skip)
when the reference nats-server is not installed.

Case file format (one step per line; full-line '#' comments; the file must
cite the NATS-SPEC clause it checks in a comment):

  config                   the lines up to 'end' are written to a
    max_payload: 1024      nats-server config file passed with -c
  end
  flags --user a --pass b  extra command-line flags for both servers
  open C                   open TCP connection C (any name)
  send C "BYTES" [xN] [bytewise]
                           send a Python bytes literal (escapes \\r \\n \\t
                           \\xNN), repeated N times, in one write; or one
                           byte per write, 2 ms apart (at most 400 bytes)
  publish C SUBJ N         send N PUBs to SUBJ with payloads "0".."N-1"
  recv C N [OPTS]          read N units
  until C "BYTES" [OPTS]   read units up to and including one equal to BYTES
  quiet C [MS] [OPTS]      read until nothing arrives for MS ms (default 200)
  eof C [S] [OPTS]         read until the server closes C (wait at most S
                           seconds, default 3); records <closed> or a timeout
  tally C:SID... min=N     queue-group check; reads every named connection
                           up to its next PONG (send PING first) and records
                           derived facts, not the raw, random member choice:
                           whether each member C:SID got at least N MSGs, how
                           many times each (subject, payload) was delivered
                           over all members, and all other units verbatim
  sleep MS                 pause
  close C                  close C from the client side
  OPTS: 'unordered'        compare the units of this read as a multiset
        'at=A..B'          the read must finish A..B seconds after C opened
                           (a read starts when its step is reached: put it
                           right after the step that starts the wait)

Every read is bounded (default 2 s; recv/until accept 'timeout=S'). At the
end of a case each connection still open is drained for 100 ms and its state
(open or closed) is recorded, so a missing close is a mismatch too.
"""
import argparse
import ast
import concurrent.futures
import difflib
import json
import os
import re
import select
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CASES_DIR = os.path.join(HERE, "cases")
REFERENCE_CANDIDATES = ["/usr/sbin/nats-server", "/usr/bin/nats-server"]

# INFO keys whose values differ between servers and runs; the key stays in the
# transcript (so the key set and order are still compared), its value becomes
# "<masked>".
INFO_MASKED = {
    "server_id", "server_name", "version", "go", "host", "port", "client_id",
    "client_ip", "nonce", "connect_urls", "ws_connect_urls", "ip", "cluster",
    "domain",
}
# INFO keys whose presence depends on the build or the release line, not on
# behaviour: the Debian 2.9.10 binary has no git_commit, official builds do;
# 2.10 adds xkey. Removed, key and value, from both sides.
INFO_VERSION_DEPENDENT = {"git_commit", "xkey"}

READ_TIMEOUT_S = 2.0
QUIET_DEFAULT_MS = 200
FINAL_DRAIN_MS = 100
SERVER_START_TIMEOUT_S = 10.0
BYTEWISE_PAUSE_S = 0.002
BYTEWISE_MAX = 400


class CaseError(Exception):
    """A malformed case file."""


# --------------------------------------------------------------------------
# Case files


def parse_bytes_token(tok, where):
    if not (len(tok) >= 2 and tok[0] == '"' and tok[-1] == '"'):
        raise CaseError(f"{where}: expected a quoted bytes literal, got {tok!r}")
    try:
        return ast.literal_eval("b" + tok)
    except (SyntaxError, ValueError) as e:
        raise CaseError(f"{where}: bad bytes literal {tok}: {e}") from e


def tokenize(line, where):
    """Split on whitespace; a token starting with '"' runs to the closing
    quote (backslash escapes are skipped over, not interpreted)."""
    toks, i, n = [], 0, len(line)
    while i < n:
        if line[i].isspace():
            i += 1
            continue
        if line[i] == '"':
            j = i + 1
            while j < n and line[j] != '"':
                j += 2 if line[j] == "\\" else 1
            if j >= n:
                raise CaseError(f"{where}: unterminated string")
            toks.append(line[i:j + 1])
            i = j + 1
        else:
            j = i
            while j < n and not line[j].isspace():
                j += 1
            toks.append(line[i:j])
            i = j
    return toks


def parse_read_opts(toks, where):
    opts = {"unordered": False, "at": None, "timeout": None}
    for t in toks:
        if t == "unordered":
            opts["unordered"] = True
        elif t.startswith("at="):
            m = re.fullmatch(r"at=([0-9.]+)\.\.([0-9.]+)", t)
            if not m:
                raise CaseError(f"{where}: bad time bound {t!r} (at=A..B seconds)")
            opts["at"] = (float(m.group(1)), float(m.group(2)))
        elif t.startswith("timeout="):
            opts["timeout"] = float(t[len("timeout="):])
        else:
            raise CaseError(f"{where}: unknown option {t!r}")
    return opts


def parse_case(path):
    """Return {'name', 'path', 'doc', 'config', 'flags', 'steps'}."""
    name = os.path.splitext(os.path.basename(path))[0]
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    doc, config, flags, steps, conns = [], None, [], [], set()
    i = 0
    while i < len(lines):
        raw = lines[i]
        where = f"{os.path.basename(path)}:{i + 1}"
        i += 1
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            doc.append(line.lstrip("#").strip())
            continue
        toks = tokenize(line, where)
        op, args = toks[0], toks[1:]

        def need_conn(c, opening=False):
            if opening:
                conns.add(c)
            elif c not in conns:
                raise CaseError(f"{where}: connection {c!r} was never opened")
            return c

        if op == "config":
            body = []
            while i < len(lines) and lines[i].strip() != "end":
                body.append(lines[i].strip())
                i += 1
            if i >= len(lines):
                raise CaseError(f"{where}: config without end")
            i += 1
            config = "\n".join(body) + "\n"
        elif op == "flags":
            flags += shlex.split(line[len("flags"):])
        elif op == "open" and len(args) == 1:
            steps.append(("open", need_conn(args[0], True)))
        elif op == "close" and len(args) == 1:
            steps.append(("close", need_conn(args[0])))
        elif op == "send" and len(args) >= 2:
            data = parse_bytes_token(args[1], where)
            count, bytewise = 1, False
            for a in args[2:]:
                m = re.fullmatch(r"x(\d+)", a)
                if m:
                    count = int(m.group(1))
                elif a == "bytewise":
                    bytewise = True
                else:
                    raise CaseError(f"{where}: send takes xN and 'bytewise', got {a!r}")
            if bytewise and len(data) * count > BYTEWISE_MAX:
                raise CaseError(f"{where}: bytewise sends at most {BYTEWISE_MAX} bytes")
            steps.append(("send", need_conn(args[0]), data, count, bytewise))
        elif op == "publish" and len(args) == 3:
            steps.append(("publish", need_conn(args[0]), args[1], int(args[2])))
        elif op == "recv" and len(args) >= 2:
            steps.append(("recv", need_conn(args[0]), int(args[1]), parse_read_opts(args[2:], where)))
        elif op == "until" and len(args) >= 2:
            steps.append(("until", need_conn(args[0]), parse_bytes_token(args[1], where),
                          parse_read_opts(args[2:], where)))
        elif op == "quiet" and len(args) >= 1:
            rest = args[1:]
            ms = QUIET_DEFAULT_MS
            if rest and rest[0].isdigit():
                ms = int(rest[0])
                rest = rest[1:]
            steps.append(("quiet", need_conn(args[0]), ms, parse_read_opts(rest, where)))
        elif op == "eof" and len(args) >= 1:
            rest = args[1:]
            secs = 3.0
            if rest and re.fullmatch(r"[0-9.]+", rest[0]):
                secs = float(rest[0])
                rest = rest[1:]
            steps.append(("eof", need_conn(args[0]), secs, parse_read_opts(rest, where)))
        elif op == "tally" and len(args) >= 2:
            members, minimum = [], None
            for a in args:
                if a.startswith("min="):
                    minimum = int(a[4:])
                else:
                    c, _, sid = a.partition(":")
                    if not sid:
                        raise CaseError(f"{where}: tally member is CONN:SID, got {a!r}")
                    members.append((need_conn(c), sid))
            if minimum is None or not members:
                raise CaseError(f"{where}: tally needs members and min=N")
            steps.append(("tally", members, minimum))
        elif op == "sleep" and len(args) == 1:
            steps.append(("sleep", int(args[0])))
        else:
            raise CaseError(f"{where}: cannot parse {line!r}")
    if not any("NATS-SPEC" in d for d in doc):
        raise CaseError(f"{path}: the case must cite the NATS-SPEC clause it checks in a comment")
    if not steps:
        raise CaseError(f"{path}: no steps")
    return {"name": name, "path": path, "doc": doc, "config": config, "flags": flags, "steps": steps}


# --------------------------------------------------------------------------
# Rendering and masking


def esc(data):
    """Printable, one-line form of bytes: \\r \\n \\t \\\\ and \\xNN escaped."""
    out = []
    for b in data:
        c = chr(b)
        if c == "\\":
            out.append("\\\\")
        elif c == "\r":
            out.append("\\r")
        elif c == "\n":
            out.append("\\n")
        elif c == "\t":
            out.append("\\t")
        elif 0x20 <= b < 0x7F:
            out.append(c)
        else:
            out.append(f"\\x{b:02x}")
    return "".join(out)


def mask_info_json(text):
    """Mask INFO_MASKED values and drop INFO_VERSION_DEPENDENT pairs in the
    raw JSON text, keeping every other byte (whitespace, order) as sent.
    Returns None if the text is not a flat JSON object."""
    dec = json.JSONDecoder()
    ws = re.compile(r"[ \t\r\n]*")
    if not text.startswith("{"):
        return None
    i = ws.match(text, 1).end()
    out, first = [text[:i]], True
    if text.startswith("}", i):
        return text if i + 1 == len(text) else None
    pending_sep = ""
    while True:
        k0 = i
        try:
            key, i = dec.raw_decode(text, i)
        except ValueError:
            return None
        if not isinstance(key, str):
            return None
        i = ws.match(text, i).end()
        if not text.startswith(":", i):
            return None
        i = ws.match(text, i + 1).end()
        v0 = i
        try:
            _, i = dec.raw_decode(text, i)
        except ValueError:
            return None
        pair = text[k0:v0] + ('"<masked>"' if key in INFO_MASKED else text[v0:i])
        j = ws.match(text, i).end()
        if key not in INFO_VERSION_DEPENDENT:
            out.append(("" if first else pending_sep) + pair)
            first = False
        if text.startswith(",", j):
            sep_end = ws.match(text, j + 1).end()
            pending_sep = text[i:sep_end]
            i = sep_end
        elif text.startswith("}", j) and j + 1 == len(text):
            out.append(text[i:j + 1])
            return "".join(out)
        else:
            return None


INFO_RE = re.compile(rb"^(INFO[ \t]+)(.*?)([ \t]*\r?\n)$", re.S)


def render_unit(unit):
    m = INFO_RE.match(unit)
    if m:
        masked = mask_info_json(m.group(2).decode("latin-1"))
        if masked is not None:
            return esc(m.group(1)) + masked + esc(m.group(3))
    return esc(unit)


# --------------------------------------------------------------------------
# Framing of the server-to-client stream


def split_units(buf):
    """Split buf into complete protocol units; return (units, rest)."""
    units, pos = [], 0
    while True:
        nl = buf.find(b"\n", pos)
        if nl < 0:
            break
        line = buf[pos:nl + 1]
        if line.startswith(b"MSG ") or line.startswith(b"HMSG "):
            args = line.split()
            try:
                size = int(args[-1])
            except ValueError:
                size = -1
            if size >= 0:
                end = nl + 1 + size + 2
                if end > len(buf):
                    break
                units.append(buf[pos:end])
                pos = end
                continue
        units.append(line)
        pos = nl + 1
    return units, buf[pos:]


class Conn:
    """One client TCP connection to a server, with a framed read buffer."""

    def __init__(self, name, port, log):
        self.name, self.log = name, log
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        # One write, one segment: 'bytewise' and split writes must reach the
        # server as separate reads, not coalesced by Nagle's algorithm.
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setblocking(False)
        self.opened = time.monotonic()
        self.buf = b""
        self.units = []
        self.closed = False  # the server closed it (EOF or reset)

    def _fill(self, deadline):
        """Wait for data until deadline; return False on timeout."""
        if self.closed:
            return False
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        r, _, _ = select.select([self.sock], [], [], left)
        if not r:
            return False
        try:
            data = self.sock.recv(1 << 20)
        except (ConnectionResetError, ConnectionAbortedError):
            data = b""
        except BlockingIOError:
            return True
        if not data:
            self.closed = True
            return True
        self.buf += data
        units, self.buf = split_units(self.buf)
        self.units += units
        return True

    def take(self, n):
        got, self.units = self.units[:n], self.units[n:]
        return got

    def leftovers(self):
        """After EOF: units plus any partial unit, which will never finish."""
        got = self.units + ([self.buf] if self.buf else [])
        self.units, self.buf = [], b""
        return got

    def send(self, data):
        try:
            self.sock.setblocking(True)
            self.sock.settimeout(5)
            self.sock.sendall(data)
            return None
        except OSError as e:
            return type(e).__name__
        finally:
            self.sock.setblocking(False)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


# --------------------------------------------------------------------------
# Servers


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def listening(port):
    """True when something listens on 127.0.0.1:port. Reads /proc/net/tcp so
    that no probe connection is made (a probe would use up a slot of a
    max_connections: 1 server and race with the case's first connection)."""
    want = f"0100007F:{port:04X}"
    try:
        with open("/proc/net/tcp") as f:
            for line in f:
                parts = line.split()
                if len(parts) > 3 and parts[1] == want and parts[3] == "0A":
                    return True
        return False
    except OSError:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            time.sleep(0.1)
            return True
        except OSError:
            return False


# Every server process still running, so that an interrupted run (Ctrl-C,
# meson's timeout) stops them by PID on its way out.
LIVE_SERVERS = set()
LIVE_LOCK = threading.Lock()


def stop_live_servers(signum=None, frame=None):
    with LIVE_LOCK:
        procs = list(LIVE_SERVERS)
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if signum is not None:
        print(f"differential.py: interrupted by signal {signum}; servers stopped", file=sys.stderr)
        os._exit(1)


class Server:
    def __init__(self, binary, case, workdir, label):
        self.binary, self.case, self.workdir, self.label = binary, case, workdir, label
        self.proc = None
        self.logpath = os.path.join(workdir, f"{label}.log")

    def start(self):
        conf = None
        if self.case["config"] is not None:
            conf = os.path.join(self.workdir, f"{self.label}.conf")
            with open(conf, "w") as f:
                f.write(self.case["config"])
        last = "no attempt"
        for _attempt in range(3):
            self.port = free_port()
            cmd = [self.binary, "-a", "127.0.0.1", "-p", str(self.port)]
            if conf:
                cmd += ["-c", conf]
            cmd += self.case["flags"]
            self.log = open(self.logpath, "ab")
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.log,
                                         stderr=subprocess.STDOUT)
            with LIVE_LOCK:
                LIVE_SERVERS.add(self.proc)
            deadline = time.monotonic() + SERVER_START_TIMEOUT_S
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    last = f"exited with status {self.proc.returncode}"
                    break
                if listening(self.port):
                    return
                time.sleep(0.01)
            else:
                last = "did not listen within the start timeout"
            self.stop()
        raise RuntimeError(f"{self.label} server {' '.join(cmd)}: {last}; log {self.logpath}")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        """Stop by PID: SIGTERM, then SIGKILL if it lingers."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        with LIVE_LOCK:
            LIVE_SERVERS.discard(self.proc)
        self.log.close()

    def log_tail(self, n=30):
        try:
            with open(self.logpath, "rb") as f:
                return b"\n".join(f.read().splitlines()[-n:]).decode("utf-8", "replace")
        except OSError:
            return ""


# --------------------------------------------------------------------------
# Playing a case


def play(case, server):
    """Run the case's steps against a started server; return (transcript
    lines, timing violations)."""
    out, violations, conns = [], [], {}

    def rec(c, text):
        out.append(f"[{c}] {text}")

    def finish_read(c, conn, got, opts, note, done, note_close):
        """Record a read. A close is recorded only by reads that stop at it
        (eof, quiet, or a recv/until cut short), never as a side effect of a
        read that was satisfied first: whether the FIN came in the same
        segment as the last unit is timing, not behaviour."""
        units = [render_unit(u) for u in got]
        if opts.get("unordered"):
            units.sort()
        for u in units:
            rec(c, "<< " + u)
        if note:
            rec(c, note)
        if note_close and conn.closed and not conn.units and not conn.buf:
            rec(c, "<< <closed>")
            conn.close_recorded = True
        if opts.get("at") and done:
            lo, hi = opts["at"]
            t = time.monotonic() - conn.opened
            if lo <= t <= hi:
                rec(c, f"(finished within {lo}..{hi} s of open)")
            else:
                rec(c, f"(finished at {t:.2f} s, outside {lo}..{hi} s of open)")
                violations.append(f"[{c}] finished at {t:.2f} s, outside {lo}..{hi} s")

    for step in case["steps"]:
        op = step[0]
        if op == "open":
            c = step[1]
            conns[c] = Conn(c, server.port, out)
            rec(c, "open")
        elif op == "close":
            c = step[1]
            conns[c].close()
            conns[c].closed = conns[c].close_recorded = True
            rec(c, "client closed")
        elif op == "send":
            _, c, data, count, bytewise = step
            if bytewise:
                err = None
                for k in range(len(data) * count):
                    err = err or conns[c].send((data * count)[k:k + 1])
                    time.sleep(BYTEWISE_PAUSE_S)
            else:
                err = conns[c].send(data * count)
            rec(c, ">> " + esc(data) + (f" x{count}" if count > 1 else "")
                + (" (byte by byte)" if bytewise else "") + (f" ({err})" if err else ""))
        elif op == "publish":
            _, c, subj, count = step
            data = b"".join(b"PUB %s %d\r\n%d\r\n" % (subj.encode(), len(str(k)), k) for k in range(count))
            err = conns[c].send(data)
            rec(c, f">> {count} x PUB {subj} <n>: payloads 0..{count - 1}" + (f" ({err})" if err else ""))
        elif op == "sleep":
            time.sleep(step[1] / 1000.0)
        elif op == "recv":
            _, c, n, opts = step
            conn = conns[c]
            deadline = time.monotonic() + (opts["timeout"] or READ_TIMEOUT_S)
            while len(conn.units) < n and not conn.closed and conn._fill(deadline):
                pass
            if len(conn.units) >= n:
                finish_read(c, conn, conn.take(n), opts, None, True, False)
            else:
                got = conn.leftovers() if conn.closed else conn.take(n)
                why = "closed" if conn.closed else "timed out"
                finish_read(c, conn, got, opts, f"-- recv {n}: {why} after {len(got)} unit(s)", False, True)
        elif op == "until":
            _, c, token, opts = step
            conn = conns[c]
            deadline = time.monotonic() + (opts["timeout"] or READ_TIMEOUT_S)
            while token not in conn.units and not conn.closed and conn._fill(deadline):
                pass
            if token in conn.units:
                finish_read(c, conn, conn.take(conn.units.index(token) + 1), opts, None, True, False)
            else:
                got = conn.leftovers() if conn.closed else conn.take(len(conn.units))
                why = "closed" if conn.closed else "timed out"
                finish_read(c, conn, got, opts, f"-- until {esc(token)}: {why} first", False, True)
        elif op == "quiet":
            _, c, ms, opts = step
            conn = conns[c]
            hard = time.monotonic() + 5.0
            while not conn.closed and time.monotonic() < hard:
                if not conn._fill(min(hard, time.monotonic() + ms / 1000.0)):
                    break
            finish_read(c, conn, conn.leftovers() if conn.closed else conn.take(len(conn.units)),
                        opts, None, True, True)
        elif op == "eof":
            _, c, secs, opts = step
            conn = conns[c]
            deadline = time.monotonic() + secs
            while not conn.closed and conn._fill(deadline):
                pass
            if conn.closed:
                finish_read(c, conn, conn.leftovers(), opts, None, True, True)
            else:
                finish_read(c, conn, conn.take(len(conn.units)), opts,
                            f"-- eof: still open after {secs} s", False, False)
        elif op == "tally":
            _, members, minimum = step
            play_tally(members, minimum, conns, rec)
        else:
            raise AssertionError(op)

    # Final drain: what each connection still sends, and whether it is open.
    for c, conn in conns.items():
        if getattr(conn, "close_recorded", False):
            continue
        deadline = time.monotonic() + FINAL_DRAIN_MS / 1000.0
        while not conn.closed and conn._fill(deadline):
            pass
        for u in conn.leftovers():
            rec(c, "<< " + render_unit(u))
        rec(c, "end: " + ("closed by server" if conn.closed else "open"))
    for conn in conns.values():
        conn.close()
    out.append("server: " + ("running" if server.alive() else f"exited ({server.proc.returncode})"))
    return out, violations


MSG_RE = re.compile(rb"^MSG[ \t]+(\S+)[ \t]+(\S+)[ \t]+(?:\S+[ \t]+)?(\d+)\r\n(.*)\r\n$", re.S)


def play_tally(members, minimum, conns, rec):
    """Queue-group facts that do not depend on the (random) member choice."""
    label = " ".join(f"{c}:{s}" for c, s in members)
    counts = {m: 0 for m in members}
    deliveries = {}
    for c in dict.fromkeys(c for c, _ in members):
        conn = conns[c]
        deadline = time.monotonic() + 5.0
        while b"PONG\r\n" not in conn.units and not conn.closed and conn._fill(deadline):
            pass
        if b"PONG\r\n" in conn.units:
            got = conn.take(conn.units.index(b"PONG\r\n") + 1)
        else:
            got = conn.leftovers()
            rec(c, "-- tally: no PONG before " + ("close" if conn.closed else "timeout"))
        for u in got:
            m = MSG_RE.match(u)
            if m and (c, m.group(2).decode()) in counts:
                counts[(c, m.group(2).decode())] += 1
                key = (m.group(1), m.group(4))
                deliveries[key] = deliveries.get(key, 0) + 1
            else:
                rec(c, "<< " + render_unit(u))
    for (c, s), n in counts.items():
        rec("tally", f"member {c}:{s} got at least {minimum} MSGs: {'yes' if n >= minimum else 'no'}")
    by_times = {}
    for key, times in deliveries.items():
        by_times.setdefault(times, []).append(key)
    rec("tally", f"{label}: {len(deliveries)} distinct (subject, payload) delivered")
    for times in sorted(by_times):
        keys = sorted(by_times[times])
        shown = ", ".join(esc(s) + " " + esc(p) for s, p in keys[:5]) + (" ..." if len(keys) > 5 else "")
        rec("tally", f"{len(keys)} of them delivered {times} time(s) over the members: {shown}")


def run_case(case, reference, under_test):
    """Play the case against both servers at once; return a result dict."""
    workdir = tempfile.mkdtemp(prefix=f"natsim-diff-{case['name']}-")
    servers = [Server(reference, case, workdir, "reference"), Server(under_test, case, workdir, "under-test")]
    result = {"case": case, "error": None}
    try:
        for s in servers:
            s.start()
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as ex:
            futs = [ex.submit(play, case, s) for s in servers]
            (ref_t, ref_v), (ut_t, ut_v) = [f.result() for f in futs]
        result.update(ref=ref_t, ut=ut_t, ref_violations=ref_v, ut_violations=ut_v,
                      ut_log=servers[1].log_tail())
    except Exception as e:  # noqa: BLE001 - reported per case
        result["error"] = f"{type(e).__name__}: {e}"
    finally:
        for s in servers:
            s.stop()
    if result["error"] is None:
        shutil.rmtree(workdir, ignore_errors=True)
    return result


def find_reference(explicit):
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    for p in REFERENCE_CANDIDATES:
        if os.access(p, os.X_OK):
            return p
    return shutil.which("nats-server")


def main(argv):
    ap = argparse.ArgumentParser(description="natsim-server vs nats-server, raw protocol")
    ap.add_argument("--under-test")
    ap.add_argument("--reference")
    ap.add_argument("--self-check", action="store_true")
    ap.add_argument("--cases", default=CASES_DIR)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("-j", type=int, default=4)
    ap.add_argument("--show", action="store_true")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("select", nargs="*")
    a = ap.parse_args(argv[1:])

    try:
        paths = sorted(os.path.join(a.cases, f) for f in os.listdir(a.cases) if f.endswith(".case"))
        cases = [parse_case(p) for p in paths]
    except (OSError, CaseError) as e:
        print(f"differential.py: {e}", file=sys.stderr)
        return 1
    if a.select:
        cases = [c for c in cases if any(s == c["name"] or s in c["name"] for s in a.select)]
        if not cases:
            print("differential.py: no case matches the selection", file=sys.stderr)
            return 2
    if a.list:
        for c in cases:
            print(f"{c['name']}: {c['doc'][0] if c['doc'] else ''}")
        return 0

    reference = find_reference(a.reference)
    if reference is None:
        print("SKIP: the reference nats-server is not installed "
              "(apt-get install nats-server); nothing to compare against")
        return 77
    under_test = reference if a.self_check else a.under_test
    if not under_test:
        print("differential.py: give --under-test SERVER or --self-check", file=sys.stderr)
        return 2
    if not os.access(under_test, os.X_OK):
        print(f"differential.py: {under_test}: not an executable", file=sys.stderr)
        return 1

    signal.signal(signal.SIGTERM, stop_live_servers)
    signal.signal(signal.SIGINT, stop_live_servers)
    print(f"reference: {reference}\nunder test: {under_test}\n{len(cases)} case(s) x {a.repeat}")
    jobs = [c for _ in range(a.repeat) for c in cases]
    failures = 0
    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, a.j)) as ex:
        for r in ex.map(lambda c: run_case(c, reference, under_test), jobs):
            name = r["case"]["name"]
            if r["error"]:
                failures += 1
                print(f"ERROR {name}: {r['error']}")
                continue
            bad = r["ref"] != r["ut"] or r["ref_violations"] or r["ut_violations"]
            print(f"{'FAIL ' if bad else 'ok   '} {name}")
            if a.show:
                print("\n".join("      " + line for line in r["ref"]))
            if not bad:
                continue
            failures += 1
            for v in r["ref_violations"]:
                print(f"      reference broke a time bound (the case is flaky?): {v}")
            for v in r["ut_violations"]:
                print(f"      under test broke a time bound: {v}")
            if r["ref"] != r["ut"]:
                print(f"      {r['case']['doc'][0] if r['case']['doc'] else ''}")
                diff = difflib.unified_diff(r["ref"], r["ut"], "reference", "under-test", lineterm="")
                print("\n".join("      " + line for line in diff))
                if r["ut_log"]:
                    print("      --- server under test, last log lines:")
                    print("\n".join("      | " + line for line in r["ut_log"].splitlines()))
    print(f"{len(jobs) - failures} of {len(jobs)} passed in {time.monotonic() - t0:.1f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
