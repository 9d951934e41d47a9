#!/usr/bin/env python3
"""Two figures of API keys and tenants, against a `calotype serve` this
script starts (release binary by default) with a keys file it writes:

1. What authentication costs a request: keep-alive GET /batches/none (404
   after the key is checked) on a server with keys, beside the same request
   on an open server, rounds interleaved; each server's CPU time per request
   (user + system, all its threads, from /proc/PID/stat: what the machine's
   other work changes least) and wall time per request. The difference of
   the medians is the cost of reading the key, hashing it, comparing it with
   every entry (--keys entries in the file) and counting it.
2. Fair shares: tenant "web" posts single images one after another to
   POST /process (--singles of them) and records each one's latency, alone,
   then while tenant "bulk" has a --batch-item batch of the same photo
   running on /batches; p50 and p99 of each.

    Benchmarks/tenant-figures.py [--binary .build/release/calotype] [--photo Tests/Fixtures/photo.jpg]

Standard library only. Loopback only.
"""
import argparse, hashlib, http.client, json, os, secrets, socket, statistics, subprocess, sys, tempfile, threading, time


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start(binary, folder, environment):
    port = free_port()
    env = dict(os.environ, CALOTYPE_GPU="off", CALOTYPE_RESULTS_DIR=os.path.join(folder, "results"), CALOTYPE_LOG_LEVEL="warning", **environment)
    process = subprocess.Popen([binary, "serve", "--port", str(port), "--env-file", os.path.join(folder, "no.env")],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    line = process.stdout.readline().decode()
    if "listening" not in line:
        raise SystemExit(f"the server did not start: {line}")
    return process, port


def stop(process):
    process.terminate()
    process.wait()


def keys_file(folder, count):
    """`count` keys (the first ones named web, bulk and ops), and the keys themselves."""
    entries, made = [], {}
    for index in range(count):
        name = ["web", "bulk", "ops"][index] if index < 3 else f"tenant{index}"
        key = "cal_" + secrets.token_urlsafe(32)
        made.setdefault(name, key)
        scopes = ["process", "batches", "metrics"]
        entries.append({"name": name, "sha256": hashlib.sha256(key.encode()).hexdigest(), "scopes": scopes})
    path = os.path.join(folder, "keys.json")
    with open(path, "w") as f:
        json.dump({"keys": entries}, f)
    return path, made


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def per_request_seconds(port, headers, count, pid):
    """(wall, server CPU) seconds per request."""
    connection = http.client.HTTPConnection("127.0.0.1", port)
    cpu_before = cpu_seconds(pid)
    start_time = time.perf_counter()
    for _ in range(count):
        connection.request("GET", "/batches/none", headers=headers)
        response = connection.getresponse()
        response.read()
        assert response.status == 404, response.status
    elapsed = time.perf_counter() - start_time
    cpu = cpu_seconds(pid) - cpu_before
    connection.close()
    return elapsed / count, cpu / count


def post_single(port, key, photo):
    connection = http.client.HTTPConnection("127.0.0.1", port)
    start_time = time.perf_counter()
    connection.request("POST", "/process?width=400&format=jpeg", body=photo,
                       headers={"Authorization": f"Bearer {key}", "Content-Type": "image/jpeg"})
    response = connection.getresponse()
    response.read()
    elapsed = time.perf_counter() - start_time
    connection.close()
    assert response.status == 200, response.status
    return elapsed


def post_batch(port, key, photo, items):
    boundary = "tenantfigures" + secrets.token_hex(8)
    parts = []
    for index in range(items):
        parts.append(f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"p{index}.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n".encode() + photo + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    connection = http.client.HTTPConnection("127.0.0.1", port)
    connection.request("POST", "/batches?width=400&format=jpeg", body=body,
                       headers={"Authorization": f"Bearer {key}", "Content-Type": f"multipart/form-data; boundary={boundary}"})
    response = connection.getresponse()
    created = json.loads(response.read())
    connection.close()
    assert response.status == 202, created
    return created["batch_id"]


def batch_status(port, key, batch):
    connection = http.client.HTTPConnection("127.0.0.1", port)
    connection.request("GET", f"/batches/{batch}", headers={"Authorization": f"Bearer {key}"})
    status = json.loads(connection.getresponse().read())
    connection.close()
    return status


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=".build/release/calotype")
    parser.add_argument("--photo", default="Tests/Fixtures/photo.jpg")
    parser.add_argument("--keys", type=int, default=10)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--singles", type=int, default=100)
    parser.add_argument("--batch-items", type=int, default=500)
    arguments = parser.parse_args()
    photo = open(arguments.photo, "rb").read()
    folder = tempfile.mkdtemp(prefix="calotype-tenants-")
    path, made = keys_file(folder, arguments.keys)

    keyed, keyed_port = start(arguments.binary, folder, {"CALOTYPE_API_KEYS_FILE": path, "CALOTYPE_MAX_FILES": str(arguments.batch_items)})
    open_server, open_port = start(arguments.binary, folder, {})
    try:
        with_keys, without = [], []
        for _ in range(arguments.rounds):
            without.append(per_request_seconds(open_port, {}, arguments.requests, open_server.pid))
            with_keys.append(per_request_seconds(keyed_port, {"Authorization": f"Bearer {made['ops']}"}, arguments.requests, keyed.pid))
        print(f"authentication ({arguments.keys} keys in the file, {arguments.rounds} x {arguments.requests} keep-alive GET /batches/none):")
        for label, index in [("server CPU", 1), ("wall", 0)]:
            a, b = [v[index] for v in without], [v[index] for v in with_keys]
            print(f"  {label}: open {statistics.median(a) * 1e6:.1f} us a request ({', '.join(f'{v * 1e6:.1f}' for v in a)}),"
                  f" with a key {statistics.median(b) * 1e6:.1f} us ({', '.join(f'{v * 1e6:.1f}' for v in b)}),"
                  f" difference {(statistics.median(b) - statistics.median(a)) * 1e6:.1f} us")
        stop(open_server)
        if arguments.singles == 0:
            return

        for _ in range(5):
            post_single(keyed_port, made["web"], photo)  # warm
        alone = [post_single(keyed_port, made["web"], photo) for _ in range(arguments.singles)]
        batch = post_batch(keyed_port, made["bulk"], photo, arguments.batch_items)
        beside, completed = [], []
        for _ in range(arguments.singles):
            beside.append(post_single(keyed_port, made["web"], photo))
        completed = batch_status(keyed_port, made["bulk"], batch)
        print(f"fair shares (one node, {os.cpu_count()} cores, {arguments.singles} single images of tenant web, 400 px JPEG):")
        print(f"  alone:                 p50 {percentile(alone, .5) * 1000:.1f} ms, p99 {percentile(alone, .99) * 1000:.1f} ms")
        print(f"  beside bulk's batch:   p50 {percentile(beside, .5) * 1000:.1f} ms, p99 {percentile(beside, .99) * 1000:.1f} ms"
              f" (the batch of {arguments.batch_items} had {completed['completed']} done when the singles ended, status {completed['status']})")
    finally:
        stop(keyed)
        if open_server.poll() is None:
            stop(open_server)


if __name__ == "__main__":
    main()
