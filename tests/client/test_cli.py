#!/usr/bin/env python3
"""test_cli.py - natsim-cli end to end against the reference nats-server.

Goal: every natsim-cli command works against a real server and reports
errors with a non-zero exit. Method: start nats-server (JetStream on, a
fresh store directory) on a free loopback port, run the commands as a user
would, and check their output and exit codes. Exit 77 (skip) when
nats-server is missing.

  test_cli.py PATH/TO/natsim-cli
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

CLI = None
URL = None
FAILS = []


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def run(*args, expect=0, timeout=20):
    p = subprocess.run([CLI, "-s", URL, *args], capture_output=True, text=True, timeout=timeout)
    if p.returncode != expect:
        raise AssertionError(f"{' '.join(args)}: exit {p.returncode}, want {expect}\nstdout={p.stdout}\nstderr={p.stderr}")
    return p


def start_bg(*args):
    p = subprocess.Popen([CLI, "-s", URL, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = p.stderr.readline()  # "Subscribing on ..." / "Listening on ...": the subscription is live
    if not line:
        raise AssertionError(f"{args}: no ready line: {p.stderr.read()}")
    return p


def check(name, fn):
    try:
        fn()
        print(f"ok - {name}")
    except Exception as e:  # noqa: BLE001 - report every failing case
        FAILS.append(name)
        print(f"not ok - {name}\n# " + str(e).replace("\n", "\n# "))


def t_pub_sub():
    sub = start_bg("sub", "cli.t", "--count", "3", "--raw")
    run("pub", "cli.t", "msg {{Count}}", "--count", "3", "-H", "k:v")
    out, _ = sub.communicate(timeout=10)
    assert sub.returncode == 0, sub.returncode
    assert out.splitlines() == ["msg 1", "msg 2", "msg 3"], out


def t_sub_headers_and_queue():
    sub = start_bg("sub", "cli.q", "--queue", "g", "--count", "1")
    run("pub", "cli.q", "body", "-H", "Trace:42")
    out, _ = sub.communicate(timeout=10)
    assert 'Received on "cli.q"' in out and "Trace: 42" in out and "body" in out, out


def t_req_reply():
    rep = start_bg("reply", "cli.svc", "pong {{Count}}", "--count", "2")
    p = run("req", "cli.svc", "ping", "--raw")
    assert p.stdout == "pong 1\n", p.stdout
    p = run("req", "cli.svc", "ping")
    assert "Received with rtt" in p.stdout and "pong 2" in p.stdout, p.stdout
    rep.communicate(timeout=10)
    assert rep.returncode == 0


def t_req_errors():
    p = run("req", "cli.nobody", "x", expect=1)
    assert "no responders" in p.stderr, p.stderr
    p = run("req", "cli.x", expect=2)
    assert "usage" in p.stderr
    p = run("bogus", expect=2)
    p = subprocess.run([CLI, "-s", "nats://127.0.0.1:1", "pub", "x", "y", "--timeout", "1s"], capture_output=True,
                       text=True, timeout=20)
    assert p.returncode == 1 and "cannot connect" in p.stderr, p.stderr


def t_stream_and_consumer():
    p = run("stream", "add", "ORD", "--subjects", "ord.*,ordx.*", "--storage", "memory", "--retention", "limits",
            "--max-msgs", "100", "--max-age", "1h")
    cfg = json.loads(p.stdout)["config"]
    assert cfg["subjects"] == ["ord.*", "ordx.*"] and cfg["storage"] == "memory", cfg
    assert cfg["max_msgs"] == 100 and cfg["max_age"] == 3600 * 10**9, cfg
    assert run("stream", "ls").stdout.split() == ["ORD"]
    for k in range(3):
        p = run("js", "pub", "ord.new", f"o{k}")
        assert p.stdout.strip() == f"Published to stream ORD sequence {k + 1}", p.stdout
    info = json.loads(run("stream", "info", "ORD").stdout)
    assert info["state"]["messages"] == 3, info
    p = run("consumer", "add", "ORD", "work", "--pull", "--ack", "explicit", "--ack-wait", "30s",
            "--max-deliver", "5", "--filter", "ord.new")
    c = json.loads(p.stdout)["config"]
    assert c["ack_policy"] == "explicit" and c["max_deliver"] == 5 and c["ack_wait"] == 30 * 10**9, c
    assert c["filter_subject"] == "ord.new", c
    p = run("consumer", "add", "ORD", "pusher", "--deliver", "dl.ord", "--ack", "none")
    assert json.loads(p.stdout)["config"]["deliver_subject"] == "dl.ord"
    assert run("consumer", "ls", "ORD").stdout.split() == ["pusher", "work"]
    p = run("consumer", "next", "ORD", "work", "--count", "2", "--raw")
    assert p.stdout.splitlines() == ["o0", "o1"], p.stdout
    p = run("consumer", "next", "ORD", "work")
    assert "stream_seq: 3" in p.stdout and "o2" in p.stdout and "Acknowledged" in p.stdout, p.stdout
    ci = json.loads(run("consumer", "info", "ORD", "work").stdout)
    assert ci["num_ack_pending"] == 0 and ci["delivered"]["stream_seq"] == 3, ci
    p = run("consumer", "next", "ORD", "work", "--timeout", "500ms", expect=1)
    assert "no message" in p.stderr, p.stderr
    run("js", "pub", "ord.new", "o3")
    p = run("consumer", "next", "ORD", "work", "--no-ack", "--raw")
    assert p.stdout == "o3\n"
    ci = json.loads(run("consumer", "info", "ORD", "work").stdout)
    assert ci["num_ack_pending"] == 1, ci
    assert "deleted" in run("consumer", "rm", "ORD", "pusher").stdout
    p = run("stream", "purge", "ORD")
    assert p.stdout.strip() == "Purged 4 messages from ORD", p.stdout
    assert "deleted" in run("stream", "rm", "ORD").stdout
    p = run("stream", "info", "ORD", expect=1)
    assert "10059" in p.stderr, p.stderr
    p = run("js", "pub", "nostream.x", "y", expect=1)
    assert "no responders" in p.stderr, p.stderr
    run("stream", "add", "X", expect=2)  # --subjects missing


def main():
    global CLI, URL
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    CLI = sys.argv[1]
    server = shutil.which("nats-server")
    if server is None:
        print("1..0 # SKIP nats-server not installed")
        return 77
    port = free_port()
    URL = f"nats://127.0.0.1:{port}"
    store = tempfile.mkdtemp(prefix="natsim-cli-test-")
    proc = subprocess.Popen([server, "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", store],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        cases = [("pub-sub", t_pub_sub), ("sub-headers-queue", t_sub_headers_and_queue), ("req-reply", t_req_reply),
                 ("errors", t_req_errors), ("stream-consumer", t_stream_and_consumer)]
        print(f"1..{len(cases)}")
        for name, fn in cases:
            check(name, fn)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(store, ignore_errors=True)
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
