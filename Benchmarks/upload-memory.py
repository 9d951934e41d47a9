#!/usr/bin/env python3
"""What one large upload costs the server in memory: its peak resident size
over its idle size, against the body's own size.

    Benchmarks/upload-memory.py --binary .build/release/calotype [--megabytes 60] [--rounds 3]
                                [--binary-b OTHER]

The upload is a small JPEG (Tests/Fixtures/photo.jpg, 320x240) padded with
zeros after its end to --megabytes: a valid image whose decode and answer
cost next to nothing, so that what the server holds is the body and what
it makes of it. For each way of sending it (a multipart part named `file`,
and a raw `image/jpeg` body) a fresh `calotype serve` (settings from the
environment only, CALOTYPE_GPU=off) answers 3 small uploads, then its
resident size is read (VmRSS, idle), then it is sent the upload --rounds
times one after another (`/process?width=100`), and its peak (VmHWM) is
read. Printed: peak minus idle, in MiB and as a multiple of the body.
With --binary-b, the same for a second build, beside it (e.g. the commit
before a change).
"""
import argparse
import http.client
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid

FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "photo.jpg")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def memory(pid, field):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def multipart(data):
    boundary = uuid.uuid4().hex
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.jpg\"\r\n"
            "Content-Type: image/jpeg\r\n\r\n").encode()
    return head + data + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def post(port, body, content_type):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.request("POST", "/process?width=100", body=body, headers={"Content-Type": content_type})
    response = conn.getresponse()
    answer = response.read()
    conn.close()
    if response.status != 200:
        sys.exit(f"POST /process: {response.status} {answer[:300]!r}")


def measure(binary, way, upload, small, rounds):
    work = tempfile.mkdtemp(prefix="calotype-upload-memory-")
    port = free_port()
    environment = dict(os.environ, CALOTYPE_GPU="off", CALOTYPE_RESULTS_DIR=os.path.join(work, "results"))
    log = open(os.path.join(work, "server.log"), "w")
    server = subprocess.Popen([binary, "serve", "--host", "127.0.0.1", "--port", str(port), "--env-file", os.path.join(work, "none.env")],
                              stdout=log, stderr=subprocess.STDOUT, env=environment)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/health")
                conn.getresponse().read()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    sys.exit(f"the server did not start; its log is {log.name}")
                time.sleep(0.1)
        send = (lambda data: post(port, *multipart(data))) if way == "multipart" else (lambda data: post(port, data, "image/jpeg"))
        for _ in range(3):
            send(small)
        idle = memory(server.pid, "VmRSS")
        for _ in range(rounds):
            send(upload)
        return idle, memory(server.pid, "VmHWM")
    finally:
        server.terminate()
        server.wait(timeout=60)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", required=True)
    parser.add_argument("--binary-b")
    parser.add_argument("--megabytes", type=float, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    small = open(FIXTURE, "rb").read()
    size = int(args.megabytes * 2**20)
    upload = small + bytes(max(0, size - len(small)))
    print(f"one upload of {len(upload) / 2**20:.1f} MiB (a 320x240 JPEG padded), {args.rounds} in a row, /process?width=100")
    print("| build | body | idle MiB | peak MiB | peak - idle MiB | x body |")
    print("|---|---|---|---|---|---|")
    for label, binary in [("a", args.binary), ("b", args.binary_b)]:
        if not binary:
            continue
        for way in ["multipart", "raw"]:
            idle, peak = measure(binary, way, upload, small, args.rounds)
            extra = (peak - idle) / 2**20
            print(f"| {label}: {binary} | {way} | {idle / 2**20:.0f} | {peak / 2**20:.0f} | {extra:.0f} | {extra * 2**20 / len(upload):.2f} |",
                  flush=True)


if __name__ == "__main__":
    main()
