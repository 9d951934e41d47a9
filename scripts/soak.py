#!/usr/bin/env python3
"""Soak check: a `calotype serve` under minutes of mixed load, with idle gaps.

    scripts/soak.py --binary .build/release/calotype --photos DIR [--minutes 5]

It starts the server on a free loopback port (its own results and save
folders, in a temporary folder), then alternates bursts of load with idle
gaps until the time is up. In a burst, `--clients` threads each pick, by
weight, one of:

  upload      POST /process, multipart, 512x512 inside, JPEG Q80, fast_shrink
              (the traffic that once aborted the server after an idle gap)
  raw         POST /process with a raw image/jpeg body, 800 px wide WebP
  fast        POST /process-batch-fast with 3-6 photos, the SSE stream read to `complete`
  stream      POST /process-batch-stream with 2-4 photos, read likewise
  hostile     POST /process with a damaged file (random bytes, a truncated or
              byte-flipped photo, a PDF header, an empty part): must be a 4xx
  hangup      a client that leaves: half a body then close, or a batch stream
              closed after its first event

With `--stress-idle-exit` the server runs with a preloaded shim that
shortens libvips' idle-thread timeout from 15 s to 1 ms, so that the exit
path that races in libvips 8.13-8.15.3 (see Sources/CVipsFixes) runs
thousands of times a minute instead of once per quiet spell: a binary
without the fix corrupts its heap within seconds. A binary with the fix
ignores the shim (the executable's own definition comes first).

It fails (exit 1) when the server process dies, answers a 5xx other than
503 with Retry-After, answers a good upload with anything but an image, or
when its resident memory keeps growing: RSS is sampled at the end of every
idle gap (the server at rest), and the last sample may exceed the first by
at most `--max-growth-mb` (default 96). It prints a line per phase and a
summary. Traffic goes to 127.0.0.1 only. Standard library only.
"""
import argparse, collections, http.client, os, random, signal, socket, subprocess, sys, tempfile, threading, time, uuid

GOOD_STATUS = {200}


def rss_mb(pid):
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except FileNotFoundError:
        return None
    return None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def multipart(files, field):
    boundary = uuid.uuid4().hex
    chunks = []
    for name, data in files:
        chunks.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{name}"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n".encode())
        chunks.append(data)
        chunks.append(b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


IDLE_EXIT_SHIM = r'''
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
/* libvips' idle workers wait on this with a 15 s timeout, then exit. */
int vips_semaphore_down_timeout(void *semaphore, int64_t timeout) {
    static int (*libvips_own)(void *, int64_t);
    if (!libvips_own) libvips_own = (int (*)(void *, int64_t))dlsym(RTLD_NEXT, "vips_semaphore_down_timeout");
    (void)timeout;
    return libvips_own(semaphore, 1000);  /* 1 ms */
}
'''


def build_idle_exit_shim(folder):
    source = os.path.join(folder, "idle-exit-shim.c")
    library = os.path.join(folder, "idle-exit-shim.so")
    with open(source, "w") as f:
        f.write(IDLE_EXIT_SHIM)
    subprocess.run(["cc", "-shared", "-fPIC", "-O2", "-o", library, source, "-ldl"], check=True)
    return library


def hostile_files(photos, rng):
    """Damaged inputs: each must be refused with a 4xx."""
    photo = rng.choice(photos)[1]
    flipped = bytearray(photo)
    for _ in range(2000):
        flipped[rng.randrange(600, len(flipped))] ^= 0xFF
    return [
        ("random.jpg", bytes(rng.getrandbits(8) for _ in range(4096))),
        ("truncated.jpg", photo[: len(photo) // 3]),
        ("header-only.jpg", photo[:700]),
        ("document.pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"),
        ("empty.jpg", b""),
        # Damaged entropy-coded data with intact headers: libjpeg decodes it
        # with warnings, which refuse it by default (CALOTYPE_FAIL_ON=warning).
        ("flipped.jpg", bytes(flipped)),
    ]



class Soak:
    def __init__(self, args):
        self.args = args
        self.photos = []
        for name in sorted(os.listdir(args.photos)):
            if name.lower().endswith((".jpg", ".jpeg")):
                with open(os.path.join(args.photos, name), "rb") as f:
                    self.photos.append((name, f.read()))
        if not self.photos:
            sys.exit(f"no JPEG photos in {args.photos}")
        self.counts = collections.Counter()
        self.failures = []
        self.lock = threading.Lock()
        self.stop = threading.Event()

    # ---- bookkeeping

    def count(self, key):
        with self.lock:
            self.counts[key] += 1

    def fail(self, message):
        with self.lock:
            if len(self.failures) < 20:
                self.failures.append(message)
        self.stop.set()

    def check_status(self, kind, response, body):
        status = response.status
        self.count(f"{kind} {status}")
        if status >= 500 and not (status == 503 and response.getheader("Retry-After")):
            self.fail(f"{kind}: {status} {body[:200]!r}")
        return status

    # ---- the actions

    def connection(self):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.args.request_timeout)

    def upload(self, rng):
        name, data = rng.choice(self.photos)
        body, content_type = multipart([(name, data)], "file")
        conn = self.connection()
        conn.request("POST", "/process?width=512&height=512&fit=inside&quality=80&format=jpeg&fast_shrink=true",
                     body, {"Content-Type": content_type})
        response = conn.getresponse()
        payload = response.read()
        conn.close()
        if self.check_status("upload", response, payload) == 200 and payload[:2] != b"\xff\xd8":
            self.fail(f"upload of {name}: 200 but not a JPEG")

    def raw(self, rng):
        name, data = rng.choice(self.photos)
        conn = self.connection()
        conn.request("POST", "/process?width=800&format=webp", data, {"Content-Type": "image/jpeg"})
        response = conn.getresponse()
        payload = response.read()
        conn.close()
        if self.check_status("raw", response, payload) == 200 and payload[8:12] != b"WEBP":
            self.fail(f"raw upload of {name}: 200 but not a WebP")

    def batch(self, rng, endpoint, count):
        files = rng.sample(self.photos, min(count, len(self.photos)))
        if rng.random() < 0.3:  # one bad item among good ones fails alone
            files.append(rng.choice(hostile_files(self.photos, rng)))
        body, content_type = multipart(files, "files")
        conn = self.connection()
        conn.request("POST", f"{endpoint}?width=640&format=jpeg", body, {"Content-Type": content_type})
        response = conn.getresponse()
        payload = response.read()
        conn.close()
        kind = endpoint.strip("/")
        if self.check_status(kind, response, payload) == 200:
            results = payload.count(b"event: result")
            errors = payload.count(b"event: error")
            if b"event: complete" not in payload or results + errors != len(files):
                self.fail(f"{kind}: {results} results + {errors} errors for {len(files)} files, or no complete event")

    def hostile(self, rng):
        name, data = rng.choice(hostile_files(self.photos, rng))
        body, content_type = multipart([(name, data)], "file")
        conn = self.connection()
        conn.request("POST", "/process?width=300", body, {"Content-Type": content_type})
        response = conn.getresponse()
        payload = response.read()
        conn.close()
        status = self.check_status("hostile", response, payload)
        if status == 200:
            self.fail(f"hostile {name}: answered 200")

    def hangup(self, rng):
        name, data = rng.choice(self.photos)
        with socket.create_connection(("127.0.0.1", self.port), timeout=self.args.request_timeout) as s:
            if rng.random() < 0.5:
                body, content_type = multipart([(name, data)], "file")
                head = (f"POST /process?width=400 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
                        f"Content-Length: {len(body)}\r\n\r\n").encode()
                s.sendall(head + body[: len(body) // 2])
                self.count("hangup mid-body")
            else:
                files = rng.sample(self.photos, 4)
                body, content_type = multipart(files, "files")
                head = (f"POST /process-batch-fast?width=800 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                        f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n").encode()
                s.sendall(head + body)
                received = b""
                while b"event: result" not in received and b"event: error" not in received:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    received += chunk
                self.count("hangup mid-stream")

    def client(self, seed, until):
        rng = random.Random(seed)
        actions = [
            (self.upload, 50), (self.raw, 12),
            (lambda r: self.batch(r, "/process-batch-fast", r.randint(3, 6)), 8),
            (lambda r: self.batch(r, "/process-batch-stream", r.randint(2, 4)), 5),
            (self.hostile, 15), (self.hangup, 10),
        ]
        functions, weights = zip(*actions)
        while time.monotonic() < until and not self.stop.is_set():
            action = rng.choices(functions, weights)[0]
            try:
                action(rng)
            except (ConnectionError, socket.timeout, http.client.HTTPException, OSError) as error:
                if self.server.poll() is not None:
                    self.fail(f"the server exited with {self.server.returncode}")
                else:
                    self.fail(f"{action.__name__ if hasattr(action, '__name__') else 'batch'}: {type(error).__name__}: {error}")

    # ---- the run

    def run(self):
        args = self.args
        self.port = free_port()
        work = tempfile.mkdtemp(prefix="calotype-soak-")
        environment = dict(os.environ)
        environment.update({
            "CALOTYPE_RESULTS_DIR": os.path.join(work, "results"),
            "CALOTYPE_SAVE_DIR": os.path.join(work, "saved"),
        })
        if args.stress_idle_exit:
            environment["LD_PRELOAD"] = build_idle_exit_shim(work)
        log = open(os.path.join(work, "server.log"), "wb")
        self.server = subprocess.Popen(
            [args.binary, "serve", "--host", "127.0.0.1", "--port", str(self.port), "--env-file", os.path.join(work, "none.env")],
            stdout=log, stderr=subprocess.STDOUT, env=environment)
        deadline = time.monotonic() + 120
        while True:
            try:
                conn = self.connection()
                conn.request("GET", "/health")
                conn.getresponse().read()
                break
            except OSError:
                if self.server.poll() is not None or time.monotonic() > deadline:
                    sys.exit(f"the server did not start; its log is {log.name}")
                time.sleep(0.2)

        started = time.monotonic()
        end = started + args.minutes * 60
        rest_rss = []
        phase = 0
        print(f"soak: pid {self.server.pid}, port {self.port}, {len(self.photos)} photos, {args.clients} clients, "
              f"bursts of {args.burst} s, idle gaps of {args.idle} s, {args.minutes} min; log {log.name}", flush=True)
        peak = 0.0
        while time.monotonic() < end and not self.stop.is_set():
            phase += 1
            until = min(end, time.monotonic() + args.burst)
            threads = [threading.Thread(target=self.client, args=(phase * 1000 + i, until)) for i in range(args.clients)]
            for thread in threads:
                thread.start()
            while any(t.is_alive() for t in threads):
                for t in threads:
                    t.join(timeout=0.5)
                now = rss_mb(self.server.pid) or 0
                peak = max(peak, now)
                if self.server.poll() is not None:
                    self.fail(f"the server exited with {self.server.returncode}")
            if self.stop.is_set() or time.monotonic() >= end:
                break
            # Idle: nothing is sent; the server must still be alive and settle.
            idle_end = min(end, time.monotonic() + args.idle)
            while time.monotonic() < idle_end and self.server.poll() is None:
                time.sleep(0.5)
            if self.server.poll() is not None:
                self.fail(f"the server exited with {self.server.returncode} while idle")
                break
            rest = rss_mb(self.server.pid)
            rest_rss.append(rest)
            elapsed = time.monotonic() - started
            served = sum(v for k, v in self.counts.items())
            print(f"  {elapsed:6.0f} s  phase {phase}: {served} requests so far, at rest {rest:.0f} MB, peak {peak:.0f} MB", flush=True)

        alive = self.server.poll() is None
        elapsed = time.monotonic() - started
        if alive:
            self.server.send_signal(signal.SIGTERM)
            try:
                code = self.server.wait(timeout=90)
            except subprocess.TimeoutExpired:
                self.server.kill()
                code = "killed"
                self.fail("the server did not stop within 90 s of SIGTERM")
            if code not in (0, "killed"):
                self.fail(f"the server exited with {code} after SIGTERM")
        else:
            self.fail(f"the server exited with {self.server.returncode}")
        log.close()

        if len(rest_rss) >= 2 and rest_rss[-1] - rest_rss[0] > args.max_growth_mb:
            self.fail(f"memory at rest grew from {rest_rss[0]:.0f} to {rest_rss[-1]:.0f} MB "
                      f"(more than {args.max_growth_mb} MB): {', '.join(f'{r:.0f}' for r in rest_rss)}")

        print(f"soak: {elapsed:.0f} s, {sum(self.counts.values())} requests, peak RSS {peak:.0f} MB, "
              f"at rest {', '.join(f'{r:.0f}' for r in rest_rss)} MB")
        for key in sorted(self.counts):
            print(f"  {key}: {self.counts[key]}")
        if self.failures:
            print("soak FAILED:")
            for failure in self.failures:
                print(f"  {failure}")
            with open(log.name, "rb") as f:
                tail = f.read()[-4000:].decode(errors="replace")
            print(f"server log (tail of {log.name}):\n{tail}")
            return 1
        print("soak passed: the server stayed up, every answer was as expected, memory at rest did not grow")
        return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=".build/release/calotype")
    parser.add_argument("--photos", required=True, help="a folder of JPEG photos (Benchmarks/make-photo-set.sh)")
    parser.add_argument("--minutes", type=float, default=5)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--burst", type=float, default=45, help="seconds of load per phase")
    parser.add_argument("--idle", type=float, default=40, help="seconds of silence between bursts")
    parser.add_argument("--max-growth-mb", type=float, default=96)
    parser.add_argument("--request-timeout", type=float, default=120)
    parser.add_argument("--stress-idle-exit", action="store_true",
                        help="preload a shim that makes libvips' idle threads exit after 1 ms instead of 15 s")
    sys.exit(Soak(parser.parse_args()).run())


if __name__ == "__main__":
    main()
