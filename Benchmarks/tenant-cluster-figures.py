#!/usr/bin/env python3
"""Fair shares between two tenants on a cluster of two nodes, measured on
one machine in one run (PostgreSQL, SeaweedFS and the nodes started as
Benchmarks/cluster-figures.py starts them, with a keys file):

  - tenant web's single images (POST /process to node 1, one after
    another): p50 and p99, alone, then while tenant bulk's batch runs;
  - tenant web's small batches (POST /batches of --small photos, followed
    to `complete` on node 2): p50 and p99 of the time to complete, alone,
    then while bulk's batch runs.

    Benchmarks/tenant-cluster-figures.py --binary .build/release/calotype --photos /tmp/photoset

Everything listens on 127.0.0.1 and is removed at the end.
"""
import argparse, glob, hashlib, http.client, importlib.util, json, os, secrets, shutil, tempfile, time

here = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("cluster_figures", os.path.join(here, "cluster-figures.py"))
cluster = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cluster)


def request(port, method, path, key, body=b"", headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    connection.request(method, path, body=body, headers={**bearer(key), **(headers or {})})
    response = connection.getresponse()
    answer = response.read()
    connection.close()
    return response.status, answer


def bearer(key):
    return {"Authorization": f"Bearer {key}"}


def post_batch(port, key, photos, query):
    return cluster.post_batch(port, photos, query, headers=bearer(key))


def follow(port, key, batch):
    return cluster.follow(port, batch, headers=bearer(key))


def single(port, key, photo, query):
    start = time.perf_counter()
    status, _ = request(port, "POST", "/process?" + query, key, photo, {"Content-Type": "image/jpeg"})
    if status != 200:
        raise RuntimeError(f"POST /process: {status}")
    return time.perf_counter() - start


def small_batch(ports, key, photos, query):
    start = time.perf_counter()
    batch = post_batch(ports[0], key, photos, query)
    follow(ports[1], key, batch)
    return time.perf_counter() - start


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def describe(values):
    return f"p50 {percentile(values, .5) * 1000:.0f} ms, p99 {percentile(values, .99) * 1000:.0f} ms (n={len(values)})"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=".build/release/calotype")
    parser.add_argument("--photos", default="Benchmarks/photos")
    parser.add_argument("--recipe", default="width=400&format=jpeg")
    parser.add_argument("--singles", type=int, default=60)
    parser.add_argument("--smalls", type=int, default=15)
    parser.add_argument("--small", type=int, default=3)
    parser.add_argument("--bulk-copies", type=int, default=6, help="each of bulk's batches: each photo this many times (a body under 100 MiB)")
    parser.add_argument("--bulk-batches", type=int, default=6, help="bulk's batches, posted at once")
    arguments = parser.parse_args()
    photos = [open(path, "rb").read() for path in sorted(glob.glob(os.path.join(arguments.photos, "*.jpg")))]
    if not photos:
        raise SystemExit(f"no photos in {arguments.photos}")
    work = tempfile.mkdtemp(prefix="calotype-tenant-cluster-")
    services = cluster.Services(work)
    try:
        pg_port, _, _ = cluster.start_postgres(services)
        s3 = cluster.start_s3(services)
        keys, entries = {}, []
        for name in ["web", "bulk"]:
            key = "cal_" + secrets.token_urlsafe(32)
            keys[name] = key
            entries.append({"name": name, "sha256": hashlib.sha256(key.encode()).hexdigest(), "scopes": ["process", "batches"]})
        keys_file = os.path.join(work, "keys.json")
        with open(keys_file, "w") as f:
            json.dump({"keys": entries}, f)
        extra = dict(s3, CALOTYPE_DATABASE_URL=f"postgres://calotype@127.0.0.1:{pg_port}/calotype?sslmode=disable",
                     CALOTYPE_RESULTS_URL="s3://bench/results/", CALOTYPE_API_KEYS_FILE=keys_file, CALOTYPE_CPU_WORKERS="1")
        nodes = [cluster.start_node(services, os.path.abspath(arguments.binary), f"n{index}", extra) for index in (1, 2)]
        ports = [node["port"] for node in nodes]
        photo = photos[0]

        def measure():
            singles = [single(ports[0], keys["web"], photos[index % len(photos)], arguments.recipe) for index in range(arguments.singles)]
            smalls = [small_batch(ports, keys["web"], photos[:arguments.small], arguments.recipe) for _ in range(arguments.smalls)]
            return singles, smalls

        for _ in range(3):
            single(ports[0], keys["web"], photo, arguments.recipe)  # warm
        alone = measure()
        bulks = [post_batch(ports[1], keys["bulk"], photos * arguments.bulk_copies, arguments.recipe) for _ in range(arguments.bulk_batches)]
        beside = measure()
        statuses = [json.loads(request(ports[1], "GET", f"/batches/{bulk}", keys["bulk"])[1]) for bulk in bulks]
        done = {"total": sum(s["total"] for s in statuses), "completed": sum(s["completed"] for s in statuses),
                "status": ", ".join(sorted({s["status"] for s in statuses}))}
        print(f"two nodes, one CPU worker each, {os.cpu_count()} cores; recipe {arguments.recipe}; photos from {arguments.photos}")
        print(f"  web's single images (POST /process to n1), alone:         {describe(alone[0])}")
        print(f"  web's single images, beside bulk's batch:                {describe(beside[0])}")
        print(f"  web's {arguments.small}-photo batches (posted to n1, followed on n2), alone:  {describe(alone[1])}")
        print(f"  web's {arguments.small}-photo batches, beside bulk's batch:                    {describe(beside[1])}")
        print(f"  bulk's {arguments.bulk_batches} batches, {done['total']} items: {done['completed']} done when web's measurements ended ({done['status']})")
    finally:
        services.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
