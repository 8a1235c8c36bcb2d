#!/usr/bin/env python3
"""test_server_cli.py - natsim-server as a program, started the way scripts
start nats-server: its command line (single-dash long forms, -DV, a bad
flag exits 2 with the usage), its configuration file (errors as FILE:LINE:,
exit 1), the log format and pid file, the client and HTTP monitoring ports,
and a prompt clean shutdown on SIGTERM and SIGINT after which the same
port is taken again at once.

Method: real processes on free loopback ports, the standard library only;
every wait is bounded, every server is stopped by its PID.

  test_server_cli.py NATSIM_SERVER [--valgrind]

With --valgrind the full run is repeated under memcheck, which must report
no error and no definite leak after the SIGTERM shutdown.
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

LOG_LINE = re.compile(r"^\[\d+\] \d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}\.\d{6} \[(INF|DBG|TRC|WRN|ERR|FTL)\] ")
FAILURES = []


def check(name, ok, detail=""):
    print(f"{'ok  ' if ok else 'FAIL'} {name}")
    if not ok:
        FAILURES.append(name)
        if detail:
            print("  " + str(detail).replace("\n", "\n  "))
    return ok


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(cmd, timeout=30):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


class Server:
    """A natsim-server process whose log goes to a file."""

    def __init__(self, cmd, log_path, wrapper=(), ready_s=15):
        self.log_path = log_path
        self.stderr = open(log_path + ".stderr", "w+")
        self.proc = subprocess.Popen(list(wrapper) + cmd, stdout=subprocess.DEVNULL, stderr=self.stderr)
        self.ready = self.wait_for("Server is ready", ready_s)

    def log(self):
        text = ""
        for path in (self.log_path, self.log_path + ".stderr"):
            if os.path.exists(path):
                with open(path) as f:
                    text += f.read()
        return text

    def wait_for(self, text, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if text in self.log():
                return True
            if self.proc.poll() is not None:
                return text in self.log()
            time.sleep(0.02)
        return False

    def stop(self, sig=signal.SIGTERM, seconds=15):
        """Signals the server by PID; returns its exit status (None if it
        did not exit in time, after which it is killed)."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
        try:
            status = self.proc.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=seconds)
            status = None
        self.stderr.close()
        return status


def read_line(sock, seconds=5):
    sock.settimeout(seconds)
    data = b""
    while not data.endswith(b"\r\n"):
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.decode()


def connect(port):
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    return sock, read_line(sock)


def http_get(port, path):
    """(status, content type, body) of a GET; HTTP errors are answers too."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
            return r.status, r.headers.get("Content-Type"), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type"), e.read().decode()


def test_command_line(server):
    p = run([server, "-bogus"])
    check("bad flag: exit 2, Go's message, the usage",
          p.returncode == 2 and "flag provided but not defined: -bogus" in p.stderr
          and "Usage: natsim-server" in p.stderr, p)
    p = run([server, "--port"])
    check("missing value: exit 2", p.returncode == 2 and "flag needs an argument: -port" in p.stderr, p)
    p = run([server, "-p", "abc"])
    check("bad integer: exit 2", p.returncode == 2 and 'invalid value "abc" for flag -p: parse error' in p.stderr, p)
    p = run([server, "-D", "extra"])
    check("stray argument: exit 2", p.returncode == 2 and 'unrecognized command: "extra"' in p.stderr, p)
    p = run([server, "--tls"])
    check("unsupported nats-server flag: exit 2",
          p.returncode == 2 and "flag -tls is a nats-server option natsim-server does not support" in p.stderr, p)
    for flag in ("-h", "--help", "help"):
        p = run([server, flag])
        check(f"{flag}: usage on stdout, exit 0", p.returncode == 0 and "Usage: natsim-server" in p.stdout, p)
    for flag in ("-v", "--version", "version"):
        p = run([server, flag])
        check(f"{flag}: version, exit 0", p.returncode == 0 and p.stdout.startswith("natsim-server: v"), p)


def test_config_errors(server, tmp):
    bad = os.path.join(tmp, "bad.conf")
    with open(bad, "w") as f:
        f.write("port: 4222\n\nfoo: 2\nmax_payload: \"big\"\n")
    p = run([server, "-c", bad])
    check("config errors: exit 1, every one as FILE:LINE:",
          p.returncode == 1 and f'{bad}:3: unknown field "foo"' in p.stderr
          and f'{bad}:4: max_payload: expected an integer, got a string ("big")' in p.stderr, p)
    syntax = os.path.join(tmp, "syntax.conf")
    with open(syntax, "w") as f:
        f.write("debug: true\nport:\n")
    p = run([server, "--config", syntax])
    check("config syntax error: exit 1, FILE:LINE:",
          p.returncode == 1 and f"{syntax}:2: expected a value for 'port', found a new line" in p.stderr, p)
    p = run([server, "-c", os.path.join(tmp, "missing.conf")])
    check("missing config file: exit 1", p.returncode == 1 and "cannot read the configuration file" in p.stderr, p)
    good = os.path.join(tmp, "good.conf")
    with open(good, "w") as f:
        f.write("# a valid file\nlisten: 127.0.0.1:4999\nauthorization { token: \"t\" }\n")
    p = run([server, "-c", good, "-t"])
    check("-t on a valid file: exit 0", p.returncode == 0 and "configuration file" in p.stderr
          and "is valid" in p.stderr, p)
    p = run([server, "-t"])
    check("-t without -c: exit 1", p.returncode == 1 and "must specify [-c, --config]" in p.stderr, p)
    p = run([server, "--user", "u", "--auth", "t", "-p", str(free_port())])
    check("user and token together: exit 1", p.returncode == 1 and "cannot have a user/password and a token" in p.stderr, p)


def test_full_run(server, tmp, wrapper=(), ready_s=15, suffix=""):
    """Single-dash long forms, -DV, log file, pid file, clients, HTTP, and
    shutdown by SIGTERM; then the same port again, stopped by SIGINT."""
    port, http_port = free_port(), free_port()
    log = os.path.join(tmp, f"server{suffix}.log")
    pid_file = os.path.join(tmp, f"server{suffix}.pid")
    cmd = [server, "-addr", "127.0.0.1", "-port", str(port), "-http_port", str(http_port), "-user", "alice",
           "-pass", "s3cret", "-log", log, "-pid", pid_file, "-DV"]
    s = Server(cmd, log, wrapper, ready_s)
    if not check(f"full run{suffix}: ready", s.ready, s.log()):
        s.stop(signal.SIGKILL)
        return
    with open(pid_file) as f:
        check(f"full run{suffix}: pid file holds the PID", f.read() == str(s.proc.pid))
    text = s.log()
    check(f"full run{suffix}: banner lines",
          "[INF] Starting nats-server" in text
          and f"[INF] Starting http monitor on 127.0.0.1:{http_port}" in text
          and f"[INF] Listening for client connections on 127.0.0.1:{port}" in text, text)

    sock, info = connect(port)
    ok = info.startswith("INFO {") and info.endswith("} \r\n")
    fields = json.loads(info[5:-3]) if ok else {}
    check(f"full run{suffix}: INFO at once, auth required",
          ok and fields.get("auth_required") is True and fields.get("port") == port, info)
    sock.sendall(b'CONNECT {"verbose":false,"user":"alice","pass":"s3cret"}\r\nPING\r\n')
    check(f"full run{suffix}: user/password accepted", read_line(sock) == "PONG\r\n")
    bad, _ = connect(port)
    bad.sendall(b'CONNECT {"verbose":false,"user":"alice","pass":"wrong"}\r\n')
    check(f"full run{suffix}: wrong password refused", read_line(bad) == "-ERR 'Authorization Violation'\r\n")
    bad.close()

    status, ctype, body = http_get(http_port, "/varz")
    varz = json.loads(body) if status == 200 else {}
    check(f"full run{suffix}: /varz", status == 200 and ctype == "application/json"
          and varz.get("port") == port and varz.get("http_port") == http_port, (status, ctype, body[:300]))
    status, _, body = http_get(http_port, "/connz?subs=1")
    connz = json.loads(body) if status == 200 else {}
    check(f"full run{suffix}: /connz?subs=1", status == 200 and connz.get("num_connections") == 1, body[:300])
    status, _, body = http_get(http_port, "/healthz")
    check(f"full run{suffix}: /healthz", status == 200 and json.loads(body).get("status") == "ok", body)

    status = s.stop(signal.SIGTERM, seconds=30 if wrapper else 10)
    text = s.log()
    check(f"full run{suffix}: SIGTERM exits 0", status == 0, (status, text[-2000:]))
    check(f"full run{suffix}: shutdown logged",
          'Trapped "terminated" signal' in text and "Initiating Shutdown..." in text and "Server Exiting.." in text,
          text[-2000:])
    check(f"full run{suffix}: -DV logs debug and trace", "[DBG] " in text and "[TRC] " in text)
    bad_lines = [line for line in text.splitlines()
                 if line and not LOG_LINE.match(line) and not line.startswith("==")]
    check(f"full run{suffix}: every log line in nats-server's format", not bad_lines, bad_lines[:5])
    check(f"full run{suffix}: the client saw the close", sock.recv(4096) == b"")
    sock.close()
    if wrapper:
        # --error-exitcode makes an error or a definite leak exit 99.
        check(f"full run{suffix}: memcheck clean", status == 0 and "ERROR SUMMARY: 0 errors" in text, text[-3000:])
        return

    # The same port at once: the old server's side of the connection is in
    # TIME_WAIT, which SO_REUSEADDR allows.
    log2 = os.path.join(tmp, "server-again.log")
    s2 = Server([server, "-a", "127.0.0.1", "-p", str(port), "-l", log2], log2)
    check("restart on the same port at once", s2.ready, s2.log())
    if s2.ready:
        sock, info = connect(port)
        check("restart: INFO", info.startswith("INFO {"))
        sock.close()
    status = s2.stop(signal.SIGINT)
    check("SIGINT exits 0", status == 0 and 'Trapped "interrupt" signal' in s2.log(), s2.log()[-1000:])


def test_random_port_and_override(server, tmp):
    log = os.path.join(tmp, "random.log")
    s = Server([server, "-a", "127.0.0.1", "-p", "-1", "-m", "-1", "-l", log], log)
    m = re.search(r"Listening for client connections on 127\.0\.0\.1:(\d+)", s.log())
    h = re.search(r"Starting http monitor on 127\.0\.0\.1:(\d+)", s.log())
    ok = s.ready and m is not None and h is not None
    if ok:
        sock, info = connect(int(m.group(1)))
        ok = info.startswith("INFO {")
        sock.close()
        ok = ok and http_get(int(h.group(1)), "/varz")[0] == 200
    check("-p -1 -m -1: random ports, logged and served", ok, s.log())
    check("-p -1: stops on SIGTERM", s.stop() == 0)

    # The command line overrides the configuration file.
    file_port, flag_port, http_port = free_port(), free_port(), free_port()
    conf = os.path.join(tmp, "override.conf")
    with open(conf, "w") as f:
        f.write(f"listen: 127.0.0.1:{file_port}\nhttp_port: {http_port}\ndebug: true\n")
    log = os.path.join(tmp, "override.log")
    s = Server([server, "-c", conf, "-p", str(flag_port), "-D=false", "-l", log], log)
    text = s.log()
    check("flags override the config file",
          s.ready and f"Listening for client connections on 127.0.0.1:{flag_port}" in text
          and f"Starting http monitor on 127.0.0.1:{http_port}" in text
          and f"Using configuration file: {conf}" in text and "[DBG]" not in text, text)
    s.stop()


def test_port_in_use(server, tmp):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        p = run([server, "-a", "127.0.0.1", "-p", str(port)], timeout=30)
        check("port in use: exit 1 with [FTL]",
              p.returncode == 1 and f"[FTL] Error listening on port: 127.0.0.1:{port}, " in p.stderr
              and "address already in use" in p.stderr, p)


def main(argv):
    if len(argv) not in (2, 3) or (len(argv) == 3 and argv[2] != "--valgrind"):
        print(__doc__, file=sys.stderr)
        return 2
    server = os.path.abspath(argv[1])
    with tempfile.TemporaryDirectory(prefix="natsim-server-cli-") as tmp:
        if len(argv) == 3:
            wrapper = ["valgrind", "--error-exitcode=99", "--leak-check=full",
                       "--errors-for-leak-kinds=definite", "--suppressions=/usr/share/glib-2.0/valgrind/glib.supp"]
            os.environ["G_SLICE"] = "always-malloc"
            os.environ["G_DEBUG"] = "gc-friendly"
            test_full_run(server, tmp, wrapper=wrapper, ready_s=120, suffix=" (valgrind)")
        else:
            test_command_line(server)
            test_config_errors(server, tmp)
            test_full_run(server, tmp)
            test_random_port_and_override(server, tmp)
            test_port_in_use(server, tmp)
    if FAILURES:
        print(f"{len(FAILURES)} check(s) failed")
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
