#!/usr/bin/env python3
"""How long an ordinary request takes while hostile ones are refused, against
a server with its default settings.

    scripts/hostile-mix.py --binary .build/release/calotype --photo PHOTO.jpg [--seconds 20] [--attackers 2]

It starts `calotype serve` on a free loopback port (settings from the
environment only) and makes, from PHOTO, a progressive JPEG scan bomb (jpegtran
`-scans` with 89 legal scans, the last one repeated to 2,660, as the hostile-
input probe's) and a recipe of 5,000 flips. Then, for --seconds each:

1. one client posts PHOTO (`width=800&format=jpeg`) one request after another:
   the ordinary latency, alone;
2. the same, while --attackers threads each post scan bombs and as many post
   the long recipe, one after another, each on a fresh connection.

It prints p50/p99 of the ordinary requests in both phases and how the hostile
ones were answered (status, p50 time to the refusal), with the server's peak
memory. Exits 1 if an ordinary request is not answered 200, a scan bomb not
413 `image_too_large`, or a long recipe not 400 `invalid_recipe`.
Needs jpegtran (libjpeg-turbo-progs).
"""
import argparse
import http.client
import os
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


def multipart(fields, files):
    boundary = uuid.uuid4().hex
    body = b""
    for name, value in fields:
        body += (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n').encode()
    for name, filename, data in files:
        body += (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                 f"Content-Type: image/jpeg\r\n\r\n").encode() + data + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def scan_bomb(photo, scans=2660):
    """89 legal scans by jpegtran's script, then the last scan repeated."""
    refinements = [(0, 10)] + [(high, high - 1) for high in range(10, 0, -1)]
    bands = [(first, min(first + 4, 63)) for first in range(1, 64, 5)]
    script = "".join(f"0,1,2: 0-0, {high}, {low};\n" for high, low in refinements)
    for high, low in [(0, 1), (1, 0)]:
        for component in range(3):
            script += "".join(f"{component}: {first}-{last}, {high}, {low};\n" for first, last in bands)
    with tempfile.TemporaryDirectory() as folder:
        script_path = os.path.join(folder, "scans.txt")
        with open(script_path, "w") as f:
            f.write(script)
        out = os.path.join(folder, "out.jpg")
        subprocess.run(["jpegtran", "-scans", script_path, "-outfile", out, photo], check=True)
        with open(out, "rb") as f:
            legal = f.read()
    last_scan = legal.rindex(b"\xff\xda")
    end = legal.rindex(b"\xff\xd9")
    return legal[:end] + legal[last_scan:end] * (scans - 89) + b"\xff\xd9"


def post(port, path, body, content_type):
    """(status, seconds, answer) on a connection of its own."""
    start = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        connection.request("POST", path, body=body, headers={"Content-Type": content_type})
        response = connection.getresponse()
        answer = response.read()
        return response.status, time.perf_counter() - start, answer
    finally:
        connection.close()


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


def peak_rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", required=True)
    parser.add_argument("--photo", required=True)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--attackers", type=int, default=2, help="threads per kind of hostile request (default 2)")
    args = parser.parse_args()

    with open(args.photo, "rb") as f:
        photo = f.read()
    bomb = scan_bomb(args.photo)
    flips = ",".join(['{"op":"flip","direction":"horizontal"}'] * 5000)
    ordinary = multipart([], [("file", "photo.jpg", photo)])
    bombed = multipart([], [("file", "bomb.jpg", bomb)])
    long_recipe = multipart([("recipe", '{"ops":[%s]}' % flips)], [("file", "photo.jpg", photo)])
    print(f"photo {len(photo) / 1e6:.1f} MB; scan bomb {len(bomb) / 1e6:.1f} MB of 2,660 scans; "
          f"long recipe {len(long_recipe[0]) / 1e3:.0f} KB of 5,000 operations")

    port = free_port()
    with tempfile.TemporaryDirectory() as scratch:
        server = subprocess.Popen(
            [args.binary, "serve", "--host", "127.0.0.1", "--port", str(port), "--env-file", os.path.join(scratch, "none.env")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.time() + 60
            while True:
                try:
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                    connection.request("GET", "/health")
                    if connection.getresponse().status == 200:
                        break
                except OSError:
                    pass
                if time.time() > deadline or server.poll() is not None:
                    sys.exit("the server did not start")
                time.sleep(0.1)
            return run(args, port, server, ordinary, bombed, long_recipe)
        finally:
            server.terminate()
            server.wait(timeout=30)


def run(args, port, server, ordinary, bombed, long_recipe):
    wrong = []
    lock = threading.Lock()

    def ordinary_phase(seconds):
        latencies = []
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            status, elapsed, answer = post(port, "/process?width=800&format=jpeg", *ordinary)
            if status != 200:
                with lock:
                    wrong.append(f"ordinary: HTTP {status} {answer[:200]!r}")
            latencies.append(elapsed)
        return latencies

    post(port, "/process?width=800&format=jpeg", *ordinary)  # warm-up
    alone = ordinary_phase(args.seconds)

    stop = threading.Event()
    answers = {"scan bomb": [], "long recipe": []}

    def attacker(kind, path, body, expected_status, expected_code):
        while not stop.is_set():
            status, elapsed, answer = post(port, path, *body)
            with lock:
                answers[kind].append((status, elapsed))
                if status != expected_status or expected_code not in answer:
                    wrong.append(f"{kind}: HTTP {status} {answer[:200]!r}")

    threads = []
    for _ in range(args.attackers):
        threads.append(threading.Thread(target=attacker, args=("scan bomb", "/process?width=300", bombed, 413, b'"image_too_large"')))
        threads.append(threading.Thread(target=attacker, args=("long recipe", "/process", long_recipe, 400, b'"invalid_recipe"')))
    for thread in threads:
        thread.start()
    try:
        beside = ordinary_phase(args.seconds)
    finally:
        stop.set()
        for thread in threads:
            thread.join()

    print(f"{'ordinary POST /process (800 wide)':40} {'requests':>8} {'p50 ms':>8} {'p99 ms':>8}")
    for name, latencies in [("alone", alone), (f"beside {2 * args.attackers} hostile clients", beside)]:
        print(f"  {name:38} {len(latencies):8d} {1000 * statistics.median(latencies):8.1f} {1000 * percentile(latencies, 0.99):8.1f}")
    print(f"{'hostile requests':40} {'answers':>8} {'p50 ms':>8} {'statuses'}")
    for kind, results in answers.items():
        statuses = {}
        for status, _ in results:
            statuses[status] = statuses.get(status, 0) + 1
        p50 = 1000 * statistics.median([elapsed for _, elapsed in results]) if results else float("nan")
        print(f"  {kind:38} {len(results):8d} {p50:8.1f} {statuses}")
    print(f"server peak resident memory: {peak_rss_mb(server.pid):.0f} MB; alive: {server.poll() is None}")
    if server.poll() is not None:
        wrong.append("the server died")
    for line in wrong[:10]:
        print("WRONG:", line)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
