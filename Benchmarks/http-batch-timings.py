#!/usr/bin/env python3
"""Time to first result and total time of the three batch endpoints, against a
live `calotype serve`, for one folder of photos, rounds interleaved.

    Benchmarks/http-batch-timings.py [PHOTO_DIR] [--url http://127.0.0.1:8080] [--rounds 5]

Uses only the standard library: the multipart body is built by hand, the
event stream read line by line as it arrives.
"""
import argparse, http.client, os, statistics, time, urllib.parse, uuid

def multipart(paths):
    boundary = uuid.uuid4().hex
    parts = []
    for path in paths:
        with open(path, "rb") as f:
            data = f.read()
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{os.path.basename(path)}"\r\n'
                     f'Content-Type: image/jpeg\r\n\r\n'.encode() + data + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"

def run(url, endpoint, body, content_type, query):
    parsed = urllib.parse.urlparse(url)
    connection = http.client.HTTPConnection(parsed.hostname, parsed.port or 80, timeout=300)
    start = time.perf_counter()
    connection.request("POST", f"{endpoint}?{query}", body=body, headers={"Content-Type": content_type})
    response = connection.getresponse()
    first = None
    if response.getheader("Content-Type", "").startswith("text/event-stream"):
        while True:
            line = response.readline()
            if not line:
                break
            if first is None and line.startswith(b"event: result"):
                first = time.perf_counter() - start
    else:
        response.read()
        first = time.perf_counter() - start  # one answer: the first result comes with the last
    total = time.perf_counter() - start
    connection.close()
    return first, total

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("photos", nargs="?", default="Benchmarks/photos")
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--query", default="width=800&format=jpeg&quality=80")
    args = parser.parse_args()
    paths = sorted(os.path.join(args.photos, name) for name in os.listdir(args.photos) if name.lower().endswith(".jpg"))
    body, content_type = multipart(paths)
    single_body, single_type = multipart(paths[:1])
    endpoints = ["/process-batch", "/process-batch-stream", "/process-batch-fast"]
    samples = {endpoint: [] for endpoint in endpoints}
    singles = []
    run(args.url, "/process-batch-fast", body, content_type, args.query)  # warm-up
    for _ in range(args.rounds):
        singles.append(run(args.url, "/process-batch", single_body, single_type, args.query)[1])
        for endpoint in endpoints:
            samples[endpoint].append(run(args.url, endpoint, body, content_type, args.query))
    print(f"{len(paths)} photos ({sum(os.path.getsize(p) for p in paths) / 1e6:.1f} MB), {args.query}, median of {args.rounds} rounds")
    print(f"one image alone (batch of 1): {statistics.median(singles) * 1000:7.0f} ms")
    for endpoint in endpoints:
        first = statistics.median(s[0] for s in samples[endpoint])
        total = statistics.median(s[1] for s in samples[endpoint])
        print(f"{endpoint:<24} first result {first * 1000:7.0f} ms   total {total * 1000:7.0f} ms   {len(paths) / total:5.1f} images/s")

if __name__ == "__main__":
    main()
