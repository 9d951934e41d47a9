#!/usr/bin/env python3
"""A crowd of clients posting large photos at once: what the server holds in
memory and how long each waits, with its default settings.

    scripts/crowd.py --binary .build/release/calotype --photos DIR [--clients 48] [--seconds 60]
                     [--ignore-retry-after] [--rest 5]

It starts `calotype serve` on a free loopback port (settings from the
environment only), then `--clients` threads each POST /process a photo from
DIR (multipart, `--recipe`, 800 px wide JPEG by default) as soon as the last
answer came, for `--seconds`. A 503 with Retry-After is waited out as a client
should, or with --ignore-retry-after retried after 0.2 s as an impatient
client does; anything else but 200 is counted as wrong. At the end: answers
by status, p50/p99 latency of the 200s, throughput, and the server's peak
and final resident memory (VmHWM, VmRSS), and its resident memory again
after --rest seconds without load. Exits 1 on a wrong answer, a 503 without
Retry-After, or a dead server.
"""
import argparse
import http.client
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def multipart(name, data):
    boundary = uuid.uuid4().hex
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            f"Content-Type: image/jpeg\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def memory(pid, field):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", required=True)
    parser.add_argument("--photos", required=True)
    parser.add_argument("--clients", type=int, default=48)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--recipe", default="width=800&format=jpeg&quality=80")
    parser.add_argument("--ignore-retry-after", action="store_true", help="retry a 503 after 0.2 s, whatever Retry-After says")
    parser.add_argument("--rest", type=float, default=5, help="seconds without load before the memory at rest is read")
    args = parser.parse_args()

    photos = []
    for name in sorted(os.listdir(args.photos)):
        if name.lower().endswith((".jpg", ".jpeg")):
            with open(os.path.join(args.photos, name), "rb") as f:
                photos.append((name, f.read()))
    if not photos:
        sys.exit(f"no JPEGs in {args.photos}")

    work = tempfile.mkdtemp(prefix="calotype-crowd-")
    port = free_port()
    environment = dict(os.environ, CALOTYPE_RESULTS_DIR=os.path.join(work, "results"), CALOTYPE_SAVE_DIR=os.path.join(work, "saved"))
    log = open(os.path.join(work, "server.log"), "w")
    server = subprocess.Popen(
        [args.binary, "serve", "--host", "127.0.0.1", "--port", str(port), "--env-file", os.path.join(work, "none.env")],
        stdout=log, stderr=subprocess.STDOUT, env=environment)
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
    idle_rss = memory(server.pid, "VmRSS")

    lock = threading.Lock()
    statuses = {}
    latencies = []
    problems = []
    end = time.monotonic() + args.seconds

    def client(number):
        rng = random.Random(number)
        conn = None
        while time.monotonic() < end:
            name, data = rng.choice(photos)
            body, content_type = multipart(name, data)
            started = time.monotonic()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                conn.request("POST", "/process?" + args.recipe, body=body, headers={"Content-Type": content_type})
                response = conn.getresponse()
                response.read()
                status, retry = response.status, response.getheader("Retry-After")
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except OSError as error:
                with lock:
                    problems.append(f"client {number}: {error}")
                conn = None
                continue
            elapsed = time.monotonic() - started
            with lock:
                statuses[status] = statuses.get(status, 0) + 1
                if status == 200:
                    latencies.append(elapsed)
                elif status == 503 and retry is not None:
                    pass
                else:
                    problems.append(f"client {number}: {status} (Retry-After {retry})")
            if status == 503 and retry is not None:
                wait = 0.2 if args.ignore_retry_after else float(retry)
                time.sleep(min(wait, max(0, end - time.monotonic())))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(args.clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    duration = time.monotonic() - started
    alive = server.poll() is None
    peak, final = (memory(server.pid, "VmHWM"), memory(server.pid, "VmRSS")) if alive else (0, 0)
    time.sleep(args.rest)
    alive = alive and server.poll() is None
    rested = memory(server.pid, "VmRSS") if alive else 0
    server.terminate()
    server.wait(timeout=60)

    megapixels = "?"
    print(f"{args.clients} clients, {len(photos)} photos from {args.photos}, {args.seconds:.0f} s, /process?{args.recipe}"
          + (", retrying 503s after 0.2 s" if args.ignore_retry_after else ", honouring Retry-After"))
    print("answers: " + ", ".join(f"{status}: {count}" for status, count in sorted(statuses.items())))
    if latencies:
        latencies.sort()
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        print(f"200s: {len(latencies)} ({len(latencies) / duration:.2f}/s), latency p50 {statistics.median(latencies):.2f} s, p99 {p99:.2f} s")
    print(f"server memory: idle {idle_rss / 2**20:.0f} MB, peak {peak / 2**20:.0f} MB, at the end {final / 2**20:.0f} MB, "
          f"after {args.rest:.0f} s at rest {rested / 2**20:.0f} MB")
    for problem in problems[:10]:
        print("problem:", problem)
    if problems or not alive:
        print("FAILED" + ("" if alive else ": the server died"))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
