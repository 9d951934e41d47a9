#!/usr/bin/env python3
"""Large sources by reference, many at once: what the server holds in memory
while it fetches them, with its default settings.

    scripts/fetch-load.py --binary .build/release/calotype [--mode img|batches] [--clients 32]
                          [--rounds 2] [--megabytes 50] [--rest 5] [--photo FILE]

It makes a 17.9 MP JPEG (5184x3456, `vips gaussnoise`), pads it with zeros
after its end to --megabytes (a valid image that is mostly padding, as an
attacker would send), serves it from an origin on loopback with its
Content-Length, and starts `calotype serve` on another loopback port with
that origin allowed (settings from the environment only, unsigned /img
URLs allowed). Then --clients threads each, --rounds times:

  img:      GET /img/insecure/{--options, w:800}/plain/{source}
  batches:  POST /process-batch {"sources": [the source x 4], "options": "width=800"}

A 503 with Retry-After is waited out and asked again (it does not count
as a round); anything else but 200 (and, for batches, an item other than
ok) is counted as wrong. At the end: answers by status, the time taken,
the server's peak and final resident memory (VmHWM, VmRSS) and its memory
again after --rest seconds without load, and the answers per second and the
server's CPU time per answer. With --photo FILE the origin serves that file as
it is (throughput of ordinary sources). Exits 1 on a wrong answer or a dead
server.
"""
import argparse
import http.client
import http.server
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse


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


def cpu_seconds(pid):
    """User and system CPU time of the process so far (/proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def padded_photo(work, megabytes):
    path = os.path.join(work, "photo.jpg")
    subprocess.run(["vips", "gaussnoise", path + "[Q=85]", "5184", "3456"], check=True)
    with open(path, "rb") as f:
        data = f.read()
    return data + bytes(max(0, megabytes * 1_000_000 - len(data)))


def serve_origin(data):
    class Origin(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # As nginx does on kept-alive connections: without it the body, sent
        # after the head, waits for the client's delayed ACK (40 ms a request
        # once the server reuses its connection to the origin).
        disable_nagle_algorithm = True

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            try:
                self.wfile.write(data)
            except OSError:
                pass

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Origin)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server.server_address[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", required=True)
    parser.add_argument("--mode", choices=["img", "batches"], default="img")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--megabytes", type=int, default=50)
    parser.add_argument("--rest", type=float, default=5, help="seconds without load before the memory at rest is read")
    parser.add_argument("--photo", help="serve this file as it is instead of a padded 17.9 MP JPEG (for throughput)")
    parser.add_argument("--options", default="w:800", help="the /img processing options (default w:800)")
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="calotype-fetch-load-")
    if args.photo:
        with open(args.photo, "rb") as f:
            data = f.read()
    else:
        data = padded_photo(work, args.megabytes)
    origin = serve_origin(data)
    source = f"http://127.0.0.1:{origin}/photo.jpg"

    port = free_port()
    environment = dict(
        os.environ, CALOTYPE_RESULTS_DIR=os.path.join(work, "results"), CALOTYPE_SAVE_DIR=os.path.join(work, "saved"),
        CALOTYPE_ALLOWED_SOURCES=f"http://127.0.0.1:{origin}/", CALOTYPE_ALLOW_LOOPBACK_SOURCES="true",
        CALOTYPE_ALLOW_UNSIGNED="true", CALOTYPE_SOURCE_TIMEOUT="60")
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
    cpu_before = cpu_seconds(server.pid)

    lock = threading.Lock()
    statuses = {}
    problems = []

    def request(conn):
        if args.mode == "img":
            conn.request("GET", f"/img/insecure/{args.options}/plain/" + urllib.parse.quote(source, safe=""))
        else:
            body = json.dumps({"sources": [source] * 4, "options": "width=800"}).encode()
            conn.request("POST", "/process-batch", body=body, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        return response, response.read()

    def client(number):
        conn = None
        done = 0
        while done < args.rounds:
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
                response, body = request(conn)
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except OSError as error:
                with lock:
                    problems.append(f"client {number}: {error}")
                conn = None
                done += 1
                continue
            retry = response.getheader("Retry-After")
            with lock:
                statuses[response.status] = statuses.get(response.status, 0) + 1
                if response.status == 200 and args.mode == "batches":
                    failed = [item.get("error") for item in json.loads(body).get("results", []) if item.get("status") != "ok"]
                    if failed:
                        problems.append(f"client {number}: items failed: {failed[:2]}")
                elif response.status not in (200, 503) or (response.status == 503 and retry is None):
                    problems.append(f"client {number}: {response.status} {body[:200]!r}")
            if response.status == 503 and retry is not None:
                time.sleep(float(retry))
            else:
                done += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(args.clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    duration = time.monotonic() - started
    alive = server.poll() is None
    cpu = cpu_seconds(server.pid) - cpu_before if alive else 0
    peak, final = (memory(server.pid, "VmHWM"), memory(server.pid, "VmRSS")) if alive else (0, 0)
    time.sleep(args.rest)
    alive = alive and server.poll() is None
    rested = memory(server.pid, "VmRSS") if alive else 0
    server.terminate()
    server.wait(timeout=60)

    what = f"GET /img/insecure/{args.options}" if args.mode == "img" else "POST /process-batch of 4 sources"
    source_text = os.path.basename(args.photo) if args.photo else "a 17.9 MP JPEG padded to"
    print(f"{args.clients} clients x {args.rounds} rounds, {what}, {source_text} {len(data) / 1e6:.1f} MB, {duration:.1f} s")
    print("answers: " + ", ".join(f"{status}: {count}" for status, count in sorted(statuses.items())))
    answered = statuses.get(200, 0)
    if answered:
        print(f"throughput: {answered / duration:.1f} answers/s; server CPU {cpu:.1f} s, {1000 * cpu / answered:.1f} ms per answer")
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
