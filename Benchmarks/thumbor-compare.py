#!/usr/bin/env python3
"""Calotype against thumbor, in one run, on the same photos and sizes.

    Benchmarks/thumbor-compare.py --calotype .build/release/calotype --thumbor VENV/bin/thumbor \
        --photos Benchmarks/photos [--seconds 20] [--connections 2]

Starts both servers on free loopback ports (thumbor 7.8 with its file loader
over --photos, no storage, ENGINE_THREADPOOL_SIZE 2, quality 80; Calotype with
its defaults), then for each case drives each server with `--connections`
keep-alive clients for `--seconds`, in turn: thumbor by GET with its URL
syntax, Calotype by POST /process with the photo as an upload (as the issue's
measurement did), and, once more, Calotype by GET /img when the server has
that endpoint. Reports requests per second, the ratio, mean output bytes, and
the JPEG encoder's loss for each (PSNR of the Q80 JPEG against the same
pipeline's lossless PNG, over the first 6 photos), so that a speed difference
is not a quality difference.
"""
import argparse
import http.client
import math
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid

CASES = [
    # name, thumbor path prefix, Calotype recipe
    ("fit 512x512 Q80", "fit-in/512x512/filters:quality(80)", "width=512&height=512&fit=inside&format=jpeg&quality=80"),
    ("800 px wide Q80", "800x0/filters:quality(80)", "width=800&format=jpeg&quality=80"),
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(port, path, process, log):
    deadline = time.monotonic() + 60
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", path)
            conn.getresponse().read()
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"a server did not start; its log is {log}")
            time.sleep(0.1)


def multipart(name, data):
    boundary = uuid.uuid4().hex
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            f"Content-Type: image/jpeg\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def drive(port, requests, seconds, connections):
    """`requests`: (method, path, body, headers) tuples, taken in turn. Returns (req/s, mean bytes)."""
    lock = threading.Lock()
    done = [0, 0]
    failures = []
    end = time.monotonic() + seconds

    def client(offset):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        index = offset
        while time.monotonic() < end:
            method, path, body, headers = requests[index % len(requests)]
            index += connections
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            payload = response.read()
            if response.status != 200:
                failures.append(f"{method} {path}: {response.status} {payload[:200]!r}")
                return
            with lock:
                done[0] += 1
                done[1] += len(payload)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(connections)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        sys.exit("\n".join(failures[:5]))
    return done[0] / (time.monotonic() - started), done[1] / max(done[0], 1)


def fetch(port, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    payload = response.read()
    if response.status != 200:
        sys.exit(f"{method} {path}: {response.status} {payload[:200]!r}")
    return payload


def psnr(lossy, lossless, work):
    """PSNR of two encoded images of one size, through the vips CLI."""
    a, b = os.path.join(work, "a.jpg"), os.path.join(work, "b.png")
    with open(a, "wb") as f:
        f.write(lossy)
    with open(b, "wb") as f:
        f.write(lossless)
    d, s = os.path.join(work, "d.v"), os.path.join(work, "s.v")
    subprocess.run(["vips", "subtract", a, b, d], check=True)
    subprocess.run(["vips", "multiply", d, d, s], check=True)
    mse = float(subprocess.run(["vips", "avg", s], check=True, capture_output=True, text=True).stdout)
    return math.inf if mse == 0 else 10 * math.log10(255 ** 2 / mse)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calotype", required=True)
    parser.add_argument("--thumbor", required=True, help="the thumbor executable (pip install thumbor==7.8.0)")
    parser.add_argument("--photos", required=True)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--connections", type=int, default=2)
    args = parser.parse_args()
    photos = sorted(name for name in os.listdir(args.photos) if name.lower().endswith(".jpg"))
    data = {name: open(os.path.join(args.photos, name), "rb").read() for name in photos}

    work = tempfile.mkdtemp(prefix="calotype-vs-thumbor-")
    conf = os.path.join(work, "thumbor.conf")
    with open(conf, "w") as f:
        f.write(f"LOADER = 'thumbor.loaders.file_loader'\nFILE_LOADER_ROOT_PATH = '{os.path.abspath(args.photos)}'\n"
                "STORAGE = 'thumbor.storages.no_storage'\nRESULT_STORAGE = None\nENGINE_THREADPOOL_SIZE = 2\n"
                "QUALITY = 80\nALLOW_UNSAFE_URL = True\n")
    thumbor_port, calotype_port = free_port(), free_port()
    thumbor_log, calotype_log = os.path.join(work, "thumbor.log"), os.path.join(work, "calotype.log")
    thumbor = subprocess.Popen([args.thumbor, "--port", str(thumbor_port), "--conf", conf], stdout=open(thumbor_log, "w"), stderr=subprocess.STDOUT)
    environment = dict(os.environ, CALOTYPE_RESULTS_DIR=os.path.join(work, "results"), CALOTYPE_SAVE_DIR=os.path.join(work, "saved"))
    calotype = subprocess.Popen(
        [args.calotype, "serve", "--port", str(calotype_port), "--env-file", os.path.join(work, "none.env")],
        stdout=open(calotype_log, "w"), stderr=subprocess.STDOUT, env=environment)
    try:
        wait_ready(thumbor_port, "/healthcheck", thumbor, thumbor_log)
        wait_ready(calotype_port, "/health", calotype, calotype_log)
        print(f"{len(photos)} photos from {args.photos}; {args.connections} connections, {args.seconds:.0f} s per server and case")
        print("| case | thumbor req/s | Calotype req/s (upload) | ratio | mean bytes thumbor / Calotype | JPEG loss PSNR thumbor / Calotype |")
        print("|---|---|---|---|---|---|")
        for name, thumbor_path, recipe in CASES:
            thumbor_requests = [("GET", f"/unsafe/{thumbor_path}/{photo}", None, {}) for photo in photos]
            calotype_requests = []
            for photo in photos:
                body, content_type = multipart(photo, data[photo])
                calotype_requests.append(("POST", f"/process?{recipe}", body, {"Content-Type": content_type}))
            drive(thumbor_port, thumbor_requests[:4], 2, args.connections)  # warm both
            drive(calotype_port, calotype_requests[:4], 2, args.connections)
            thumbor_rate, thumbor_bytes = drive(thumbor_port, thumbor_requests, args.seconds, args.connections)
            calotype_rate, calotype_bytes = drive(calotype_port, calotype_requests, args.seconds, args.connections)
            thumbor_psnr, calotype_psnr = [], []
            for photo in photos[:6]:
                lossy = fetch(thumbor_port, "GET", f"/unsafe/{thumbor_path}/{photo}")
                lossless = fetch(thumbor_port, "GET", f"/unsafe/{thumbor_path.replace('filters:', 'filters:format(png):')}/{photo}")
                thumbor_psnr.append(psnr(lossy, lossless, work))
                body, content_type = multipart(photo, data[photo])
                lossy = fetch(calotype_port, "POST", f"/process?{recipe}", body, {"Content-Type": content_type})
                lossless = fetch(calotype_port, "POST", f"/process?{recipe.replace('format=jpeg', 'format=png')}", body, {"Content-Type": content_type})
                calotype_psnr.append(psnr(lossy, lossless, work))
            print(f"| {name} | {thumbor_rate:.1f} | {calotype_rate:.1f} | {calotype_rate / thumbor_rate:.2f}x | "
                  f"{thumbor_bytes / 1024:.1f} / {calotype_bytes / 1024:.1f} KiB | "
                  f"{sum(thumbor_psnr) / len(thumbor_psnr):.2f} / {sum(calotype_psnr) / len(calotype_psnr):.2f} dB |")
    finally:
        thumbor.terminate()
        calotype.terminate()
        thumbor.wait()
        calotype.wait()


if __name__ == "__main__":
    main()
