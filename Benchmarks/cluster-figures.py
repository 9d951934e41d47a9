#!/usr/bin/env python3
"""What cluster mode costs, measured on one machine in one run.

Starts PostgreSQL (every statement's duration logged), SeaweedFS (S3) and
`calotype serve` processes, then, with the same photos and recipe:

  1. one single-node server (results in a folder, the default);
  2. one single-node server with its results in S3 (what a cluster stores);
  3. a cluster of NODES nodes (one CPU worker each unless --workers);

posting ROUNDS batches of the photo set to each (`POST /batches`, followed on
`GET /batches/{id}/events` to `complete`) and reporting images/s and the time
to the first result (medians over the rounds). For the cluster it also
reports the database statements per item and the claim statement's latency
(p50/p99, PostgreSQL's own durations), and the time from a node's death
(SIGKILL while it holds items) to its items running on another node.

  Benchmarks/make-photo-set.sh /tmp/photoset
  swift build -c release --product calotype
  Benchmarks/cluster-figures.py --binary .build/release/calotype --photos /tmp/photoset

Everything listens on 127.0.0.1 and is removed at the end. Needs PostgreSQL,
curl and `weed` (scripts/install-system-packages.sh).
"""
import argparse
import glob
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid


def free_port():
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port < 55535:
            with socket.socket() as twin:
                try:
                    twin.bind(("127.0.0.1", port + 10000))
                    return port
                except OSError:
                    pass
    raise RuntimeError("no free port")


def wait_until(what, check, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            if check():
                return
        except Exception:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not come up")


class Services:
    def __init__(self, work):
        self.work = work
        self.processes = []

    def spawn(self, arguments, log, env=None, as_postgres=False):
        if as_postgres and os.getuid() == 0:
            arguments = ["runuser", "-u", "postgres", "--"] + arguments
        out = open(log, "ab")
        process = subprocess.Popen(arguments, stdout=out, stderr=out, env=env, start_new_session=True)
        self.processes.append(process)
        return process

    def stop(self):
        for process in reversed(self.processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def start_postgres(services):
    binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1]
    data = os.path.join(services.work, "pg")
    if os.getuid() == 0:
        shutil.chown(services.work, "postgres")
    prefix = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []
    subprocess.run(prefix + [f"{binaries}/initdb", "-D", data, "-U", "calotype", "--auth=trust", "-E", "UTF8", "--locale=C"],
                   check=True, stdout=subprocess.DEVNULL)
    port = free_port()
    log = os.path.join(services.work, "postgres.log")
    services.spawn([f"{binaries}/postgres", "-D", data, "-p", str(port), "-k", services.work,
                    "-c", "listen_addresses=127.0.0.1", "-c", "log_min_duration_statement=0",
                    "-c", "log_line_prefix=%m ", "-c", "max_connections=200"], log, as_postgres=True)
    wait_until("PostgreSQL", lambda: subprocess.run([f"{binaries}/pg_isready", "-q", "-h", "127.0.0.1", "-p", str(port)]).returncode == 0)
    subprocess.run([f"{binaries}/createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "calotype", "calotype"], check=True)
    return port, log, binaries


def start_s3(services):
    key, secret = "bench", uuid.uuid4().hex
    config = os.path.join(services.work, "s3.json")
    with open(config, "w") as f:
        json.dump({"identities": [{"name": "bench", "credentials": [{"accessKey": key, "secretKey": secret}],
                                   "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}, f)
    ports = [free_port() for _ in range(4)]
    os.makedirs(os.path.join(services.work, "weed"))
    services.spawn(["weed", "server", f"-dir={services.work}/weed", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
                    f"-master.port={ports[0]}", f"-volume.port={ports[1]}", "-volume.max=100", "-master.volumeSizeLimitMB=1024",
                    "-filer", f"-filer.port={ports[2]}", "-s3", f"-s3.port={ports[3]}", f"-s3.config={config}",
                    "-s3.port.iceberg=0", "-s3.port.lance=0", "-master.telemetry=false"], os.path.join(services.work, "weed.log"))
    endpoint = f"http://127.0.0.1:{ports[3]}"
    wait_until("SeaweedFS", lambda: subprocess.run(
        ["curl", "-sf", "-X", "PUT", "--aws-sigv4", "aws:amz:us-east-1:s3", "--user", f"{key}:{secret}", f"{endpoint}/bench"],
        stdout=subprocess.DEVNULL).returncode == 0)
    return {"AWS_ENDPOINT_URL_S3": endpoint, "AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret}


def start_node(services, binary, name, extra):
    port = free_port()
    env = dict(os.environ, CALOTYPE_PORT=str(port), CALOTYPE_NODE_NAME=name, CALOTYPE_GPU="off", CALOTYPE_MAX_FILES="1000",
               CALOTYPE_RESULTS_DIR=os.path.join(services.work, f"results-{name}"), CALOTYPE_LOG_LEVEL="warning", **extra)
    process = services.spawn([binary, "serve"], os.path.join(services.work, f"{name}.log"), env=env)
    wait_until(name, lambda: get(port, "/health")[0] == 200)
    return {"name": name, "port": port, "process": process}


def get(port, path):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request("GET", path)
    response = connection.getresponse()
    return response.status, response.read()


def post_batch(port, photos, query, headers=None):
    boundary = uuid.uuid4().hex
    body = bytearray()
    for index, photo in enumerate(photos):
        body += f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="p{index}.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'.encode()
        body += photo + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    connection.request("POST", "/batches?" + query, body=bytes(body),
                       headers={"Content-Type": f"multipart/form-data; boundary={boundary}", **(headers or {})})
    response = connection.getresponse()
    answer = response.read()
    if response.status != 202:
        raise RuntimeError(f"POST /batches: {response.status} {answer[:200]}")
    return json.loads(answer)["batch_id"]


def post_references(port, names, options):
    """A batch by reference: the photos as `local:///` sources."""
    body = json.dumps({"sources": [f"local:///{name}" for name in names], "options": options}).encode()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    connection.request("POST", "/batches", body=body, headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    answer = response.read()
    if response.status != 202:
        raise RuntimeError(f"POST /batches: {response.status} {answer[:200]}")
    return json.loads(answer)["batch_id"]


def follow(port, batch, on_event=None, headers=None):
    """Reads the batch's events to `complete`; returns the time of the first result."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    connection.request("GET", f"/batches/{batch}/events", headers=headers or {})
    response = connection.getresponse()
    first_result = None
    name = None
    while True:
        line = response.readline()
        if not line:
            raise RuntimeError("the stream ended before complete")
        line = line.decode().rstrip("\n")
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            if on_event:
                on_event(name, json.loads(line[6:]))
            if name == "result" and first_result is None:
                first_result = time.monotonic()
            if name == "complete":
                return first_result, json.loads(line[6:])


def run_batches(nodes, photos, query, rounds):
    """Posts `rounds` batches one after another (to the nodes in turn);
    returns (images/s, seconds to the first result) per round. `photos`
    are bytes (uploads) or names (sources by reference)."""
    figures = []
    for round in range(rounds):
        node = nodes[round % len(nodes)]
        start = time.monotonic()
        if isinstance(photos[0], str):
            batch = post_references(node["port"], photos, query)
        else:
            batch = post_batch(node["port"], photos, query)
        first, summary = follow(node["port"], batch)
        end = time.monotonic()
        if summary["succeeded"] != len(photos):
            raise RuntimeError(f"round {round}: {summary}")
        figures.append((len(photos) / (end - start), first - start))
    return figures


def cpu_seconds():
    """CPU seconds used so far by the processes of each kind (from /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    totals = {}
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            text = open(stat).read()
        except OSError:
            continue
        name = text[text.index("(") + 1:text.rindex(")")]
        fields = text[text.rindex(")") + 2:].split()
        kind = "calotype" if name.startswith("calotype") else "postgres" if name.startswith("postgres") else "weed" if name.startswith("weed") else None
        if kind:
            totals[kind] = totals.get(kind, 0) + (int(fields[11]) + int(fields[12])) / tick
    return totals


def run_measured(nodes, photos, query, rounds):
    """run_batches after one batch per node that is not counted (the first
    batches warm the caches, the cost model and S3's volumes), with the CPU
    seconds each kind of process used."""
    run_batches(nodes, photos, query, len(nodes))
    before = cpu_seconds()
    figures = run_batches(nodes, photos, query, rounds)
    after = cpu_seconds()
    return figures, {kind: after.get(kind, 0) - before.get(kind, 0) for kind in after}


def median(values):
    return statistics.median(values)


def statements_since(log, offset):
    with open(log, "rb") as f:
        f.seek(offset)
        text = f.read().decode(errors="replace")
    # One line per statement executed (the extended protocol's parse and
    # bind steps are logged too, as lines of their own: not counted).
    return re.findall(r"duration: ([0-9.]+) ms\s+(?:statement|execute [^:]*):\s*(.*)", text)


def psql(binaries, port, sql):
    return subprocess.run([f"{binaries}/psql", "-h", "127.0.0.1", "-p", str(port), "-U", "calotype", "-d", "calotype", "-Atc", sql],
                          check=True, capture_output=True, text=True).stdout.split("\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=".build/release/calotype")
    parser.add_argument("--photos", default="Benchmarks/photos")
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1, help="CPU workers per cluster node")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--copies", type=int, default=2, help="each photo this many times per batch")
    parser.add_argument("--recipe", default="width=800&format=webp")
    parser.add_argument("--lease", type=int, default=10, help="CALOTYPE_LEASE for the death measurement")
    arguments = parser.parse_args()
    binary = os.path.abspath(arguments.binary)
    files = sorted(glob.glob(os.path.join(arguments.photos, "*.jpg")))
    if not files:
        sys.exit(f"no photos in {arguments.photos} (Benchmarks/make-photo-set.sh)")
    photos = [open(f, "rb").read() for f in files] * arguments.copies
    names = [os.path.basename(f) for f in files] * arguments.copies
    sources = {"CALOTYPE_ALLOWED_SOURCES": "local:///", "CALOTYPE_LOCAL_SOURCES_ROOT": os.path.abspath(arguments.photos)}
    print(f"{len(photos)} photos per batch ({len(files)} files, {sum(map(len, photos)) / len(photos) / 1e6:.1f} MB each on average), "
          f"recipe {arguments.recipe}, {arguments.rounds} rounds; {os.cpu_count()} cores")

    work = tempfile.mkdtemp(prefix="calotype-cluster-bench.")
    services = Services(work)
    try:
        pg_port, pg_log, binaries = start_postgres(services)
        s3 = start_s3(services)
        database = {"CALOTYPE_DATABASE_URL": f"postgres://calotype@127.0.0.1:{pg_port}/calotype?sslmode=disable"}
        results = {"CALOTYPE_RESULTS_URL": "s3://bench/results/"}

        rows = []
        single = start_node(services, binary, "single", sources)
        rows.append(("uploads: one node, results in a folder", *run_measured([single], photos, arguments.recipe, arguments.rounds)))
        references = [("by reference: one node, results in a folder", *run_measured([single], names, arguments.recipe, arguments.rounds))]
        services.processes.remove(single["process"]); single["process"].terminate(); single["process"].wait()
        single = start_node(services, binary, "single-s3", {**s3, **results, **sources})
        rows.append(("uploads: one node, results in S3", *run_measured([single], photos, arguments.recipe, arguments.rounds)))
        services.processes.remove(single["process"]); single["process"].terminate(); single["process"].wait()

        workers = {"CALOTYPE_CPU_WORKERS": str(arguments.workers)}
        nodes = [start_node(services, binary, f"node-{n}", {**s3, **results, **database, **workers, **sources})
                 for n in range(1, arguments.nodes + 1)]
        offset = os.path.getsize(pg_log)
        cluster, cluster_cpu = run_measured(nodes, photos, arguments.recipe, arguments.rounds)
        rows.append((f"uploads: cluster of {arguments.nodes} nodes x {arguments.workers} worker(s)", cluster, cluster_cpu))
        references.append((f"by reference: cluster of {arguments.nodes} x {arguments.workers}",
                           *run_measured(nodes, names, arguments.recipe, arguments.rounds)))
        rows += references
        time.sleep(1)  # the last statements reach the log
        statements = statements_since(pg_log, offset)
        # Uploads and references, each with its uncounted first batch per node.
        items = 2 * len(photos) * (arguments.rounds + arguments.nodes)

        print()
        print(f"{'':50} {'images/s':>9} {'first result':>13}   CPU ms per image: calotype, postgres, S3")
        for label, figures, cpu in rows:
            per_image = [cpu.get(kind, 0) * 1000 / (len(photos) * arguments.rounds) for kind in ("calotype", "postgres", "weed")]
            print(f"{label:50} {median([f[0] for f in figures]):9.2f} {median([f[1] for f in figures]) * 1000:10.0f} ms   "
                  + ", ".join(f"{value:.1f}" for value in per_image))
        rate = {label: median([f[0] for f in figures]) for label, figures, _ in rows}
        labels = [label for label, _, _ in rows]
        print(f"cluster / one node, uploads: {rate[labels[2]] / rate[labels[0]]:.3f}; by reference: {rate[labels[4]] / rate[labels[3]]:.3f}")

        kinds = {}
        for _, text in statements:
            kind = " ".join(text.split()[:4])[:60]
            kinds[kind] = kinds.get(kind, 0) + 1
        print()
        print("statements per item, by kind:")
        for kind, count in sorted(kinds.items(), key=lambda pair: -pair[1])[:14]:
            print(f"  {count / items:5.1f}  {kind}")
        claims = sorted(float(d) for d, text in statements if "WITH picked AS" in text)
        print()
        print(f"database statements while the cluster ran: {len(statements)}, {len(statements) / items:.1f} per item "
              f"(all of it: posting, claims, heartbeats, events, finishes, the streams' reads, sampling)")
        if claims:
            print(f"claim statement (PostgreSQL's duration): p50 {claims[len(claims) // 2]:.3f} ms, "
                  f"p99 {claims[min(len(claims) - 1, int(len(claims) * 0.99))]:.3f} ms over {len(claims)} claims")
        for node in nodes:
            node["process"].terminate()
            node["process"].wait()
            services.processes.remove(node["process"])

        # A node's death: the time until the items it held run on another node.
        lease = {"CALOTYPE_LEASE": str(arguments.lease)}
        nodes = [start_node(services, binary, f"death-{n}", {**s3, **results, **database, **workers, **lease}) for n in range(1, 3)]
        batch = post_batch(nodes[1]["port"], photos, "blur=6&format=png")
        victim = nodes[0]
        held = []
        while not held:
            held = [row for row in psql(binaries, pg_port,
                    f"SELECT index FROM calotype_items WHERE batch_id = '{batch}' AND lease_owner = '{victim['name']}' AND state = 'running'") if row]
            time.sleep(0.02)
        os.killpg(victim["process"].pid, signal.SIGKILL)
        killed = time.monotonic()
        indices = ",".join(held)
        while True:
            owners = [row for row in psql(binaries, pg_port,
                      f"SELECT coalesce(lease_owner, state) FROM calotype_items WHERE batch_id = '{batch}' AND index IN ({indices})") if row]
            if all(owner != victim["name"] and owner != "queued" for owner in owners):
                break
            time.sleep(0.05)
        rescued = time.monotonic() - killed
        print()
        print(f"a node killed holding {len(held)} item(s): running again elsewhere after {rescued:.1f} s "
              f"(CALOTYPE_LEASE={arguments.lease}: at most the lease plus a third of it)")
        follow(nodes[1]["port"], batch)
    finally:
        services.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
