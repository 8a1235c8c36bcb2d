#!/usr/bin/env python3
"""test_server_corrupt.py - natsim-server with a damaged file store, for real.

Goal (issue 6, "Bad input"): a corrupted store file is detected at
start-up, reported, and the server still starts and serves the rest; a
damaged message is never served. The simulator checks the same over
thousands of seeds (scenarios/jetstream/corrupt-detected.scn); this is the
real binary on a real directory.

Method: natsim-server -js -sd DIR on a free loopback port; natsim-cli
creates a file stream and a pull consumer and publishes ten messages;
SIGTERM; one byte in the middle of the fifth record's payload is flipped
(the segment layout is docs/filestore.md's); the server restarts on the
same directory. Then: its log names the stream and the damaged offset, the
stream reports nine messages, the consumer delivers the other nine
payloads in order and never "msg 5", and new publishes are stored after
the old last sequence.

  test_server_corrupt.py PATH/TO/natsim-server PATH/TO/natsim-cli
"""
import glob
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

SUBJECT = "log.line"
COUNT = 10
DAMAGED = 5  # the sequence whose payload gets a flipped bit


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server:
    def __init__(self, binary, store, port, log):
        self.proc = subprocess.Popen([binary, "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", store, "-l", log],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            if self.proc.poll() is not None:
                raise SystemExit(f"natsim-server exited at start-up ({self.proc.returncode}):\n{open(log).read()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("natsim-server did not listen within 10 s")
                time.sleep(0.05)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=10)
        if rc != 0:
            raise SystemExit(f"natsim-server exited {rc} on SIGTERM")


def cli(cli_bin, url, *args):
    p = subprocess.run([cli_bin, "-s", url, *args], capture_output=True, text=True, timeout=20)
    if p.returncode != 0:
        raise SystemExit(f"natsim-cli {' '.join(args)}: exit {p.returncode}\n{p.stderr}")
    return p.stdout


def flip_payload_byte(store):
    segments = glob.glob(os.path.join(store, "**", "*.blk"), recursive=True)
    if len(segments) != 1:
        raise SystemExit(f"expected one message segment under {store}, found {segments}")
    data = bytearray(open(segments[0], "rb").read())
    # Records: 4 bytes of length, then seq at offset 8 (docs/filestore.md).
    off = 0
    while off + 16 <= len(data):
        length = int.from_bytes(data[off:off + 4], "little")
        seq = int.from_bytes(data[off + 8:off + 16], "little")
        if seq == DAMAGED:
            subject_len = int.from_bytes(data[off + 24:off + 26], "little")
            payload = off + 36 + subject_len  # no headers: the data follows the subject
            data[payload + 1] ^= 0x20
            open(segments[0], "wb").write(bytes(data))
            return segments[0], off
        off += length
    raise SystemExit(f"sequence {DAMAGED} not found in {segments[0]}")


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    server_bin, cli_bin = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory(prefix="natsim-corrupt-") as tmp:
        store = os.path.join(tmp, "store")
        port = free_port()
        url = f"nats://127.0.0.1:{port}"

        log1 = os.path.join(tmp, "first.log")
        srv = Server(server_bin, store, port, log1)
        try:
            cli(cli_bin, url, "stream", "add", "LOG", "--subjects", "log.>", "--storage", "file")
            cli(cli_bin, url, "consumer", "add", "LOG", "reader", "--pull", "--ack", "explicit")
            for i in range(1, COUNT + 1):
                out = cli(cli_bin, url, "js", "pub", SUBJECT, f"msg {i}")
                assert out.startswith(f"Published to stream LOG sequence {i}\n"), out
        finally:
            srv.stop()

        segment, offset = flip_payload_byte(store)

        log2 = os.path.join(tmp, "second.log")
        srv = Server(server_bin, store, port, log2)
        try:
            log = open(log2).read()
            reports = [line for line in log.splitlines() if "LOG" in line and f"offset {offset}" in line]
            assert reports, f"no report of the damage at offset {offset} of {segment}:\n{log}"
            print(f"ok - start-up reports the damage: {reports[0].strip()}")

            info = json.loads(cli(cli_bin, url, "stream", "info", "LOG"))
            state = info["state"]
            assert state["messages"] == COUNT - 1, state
            assert state["last_seq"] == COUNT, state
            print(f"ok - the stream holds the other {COUNT - 1} messages (last_seq {state['last_seq']})")

            got = cli(cli_bin, url, "consumer", "next", "LOG", "reader", "--count", str(COUNT - 1), "--ack",
                      "--raw").splitlines()
            want = [f"msg {i}" for i in range(1, COUNT + 1) if i != DAMAGED]
            assert got == want, f"delivered {got}, want {want}"
            print(f"ok - the consumer delivers {len(got)} messages in order, never msg {DAMAGED}")

            out = cli(cli_bin, url, "js", "pub", SUBJECT, "after")
            assert out.startswith(f"Published to stream LOG sequence {COUNT + 1}\n"), out
            print(f"ok - a new publish is stored as sequence {COUNT + 1}")
        finally:
            srv.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
