#!/usr/bin/env python3
"""A small HTTP load driver for Benchmarks/compare-thumbor.sh: several targets
(thumbor and Calotype, each at each size) over the same photos, with N
concurrent clients on keep-alive connections, rounds interleaved, requests/s
per round, then the median and spread of each target, and with --ratio A/B
the median and spread of A's rate over B's, round by round.

    Benchmarks/http-load.py PHOTO_DIR --target NAME=KIND:URL_TEMPLATE ... [--clients 2] [--rounds 5]

KIND is `get` (the URL names the photo: `{name}` is replaced by its file name,
as thumbor's file loader wants), `post` (the photo's bytes are the raw
`image/jpeg` body, as Calotype's POST /process takes them), `img` (Calotype's
signed `GET /img`: the URL is `http://host:port/OPTIONS`, the source
`local:///{name}`, signed with CALOTYPE_SIGNING_KEY and CALOTYPE_SIGNING_SALT
from the environment) or `img304` (the same with the `If-None-Match` of an
earlier answer: each request is a revalidation, answered 304). A target's size
check is `fit=WxH` (the output fits the box, one side touching it) or
`width=W` (W wide, the height following the aspect ratio), to within 1 px.

Standard library only. Each round sends every photo once per client
(clients x photos requests), the clients taking photos from one shared queue.
With `--pid` (one per target, in the same order) it also reports the server
process's CPU time per request (user + system, all its threads, from
/proc/PID/stat): less sensitive than requests/s to whatever else the machine
is running, and, per sample, how much CPU the rest of the machine used
meanwhile (all of /proc/stat less the servers and this client), with the
medians of the quiet samples apart.
"""
import argparse, base64, hashlib, hmac, http.client, os, queue, statistics, struct, sys, threading, time, urllib.parse


def jpeg_size(data):
    """(width, height) from a JPEG's first SOF marker, or None."""
    if data[:2] != b"\xff\xd8":
        return None
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            i += 1
            continue
        marker = data[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
            i += 2 if marker != 0xFF else 1
            continue
        length = struct.unpack(">H", data[i + 2:i + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[i + 5:i + 9])
            return width, height
        i += 2 + length
    return None


def expected_size(check, source):
    sw, sh = source
    kind, value = check.split("=", 1)
    if kind == "fit":
        bw, bh = (int(v) for v in value.split("x"))
        scale = min(bw / sw, bh / sh, 1.0)
        return round(sw * scale), round(sh * scale)
    if kind == "width":
        w = int(value)
        return w, round(sh * w / sw)
    raise ValueError(f"unknown check {check}")


class Target:
    def __init__(self, spec, check):
        name, rest = spec.split("=", 1)
        self.kind, self.template = rest.split(":", 1)
        if self.kind not in ("get", "post", "img", "img304"):
            raise SystemExit(f"target {name}: kind must be get, post, img or img304, got {self.kind}")
        self.etags = {}  # img304: each photo's ETag, learnt on its first request
        self.name, self.check = name, check
        parsed = urllib.parse.urlsplit(self.template)
        self.host, self.port = parsed.hostname, parsed.port or 80
        self.samples = []  # requests/s, one per round
        self.cpu = []  # server CPU ms per request, one per round
        self.pid = None
        self.client_cpu = []  # this client's CPU ms per request (sending, reading, checking)
        self.quiet = []  # requests/s of the rounds the rest of the machine left alone
        self.failures = 0

    def signed_path(self, photo):
        """GET /img's path for `photo`, signed as imgproxy signs."""
        options = urllib.parse.urlsplit(self.template).path.strip("/")
        path = f"/{options}/plain/" + urllib.parse.quote(f"local:///{photo}", safe="")
        key = bytes.fromhex(os.environ["CALOTYPE_SIGNING_KEY"])
        salt = bytes.fromhex(os.environ["CALOTYPE_SIGNING_SALT"])
        signature = base64.urlsafe_b64encode(hmac.new(key, salt + path.encode(), hashlib.sha256).digest()).rstrip(b"=").decode()
        return f"/img/{signature}{path}"

    def request(self, connection, photo, body):
        if self.kind in ("img", "img304"):
            headers = {}
            if self.kind == "img304" and photo in self.etags:
                headers["If-None-Match"] = self.etags[photo]
            connection.request("GET", self.signed_path(photo), headers=headers)
            response = connection.getresponse()
            data = response.read()
            if self.kind == "img304" and response.status == 200:
                self.etags[photo] = response.getheader("ETag")
            return response.status, data
        if self.kind == "get":
            path = urllib.parse.urlsplit(self.template.replace("{name}", urllib.parse.quote(photo)))
            connection.request("GET", path.path + (("?" + path.query) if path.query else ""))
        else:
            path = urllib.parse.urlsplit(self.template)
            connection.request("POST", path.path + "?" + path.query, body=body,
                               headers={"Content-Type": "image/jpeg"})
        response = connection.getresponse()
        return response.status, response.read()


def cpu_seconds(pid):
    """User + system CPU time of process `pid` so far, all its threads."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds():
    """CPU time all processes spent so far (every core), from /proc/stat."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def own_seconds():
    times = os.times()
    return times.user + times.system


def run_round(target, photos, data, clients, verify):
    work = queue.Queue()
    for _ in range(clients):
        for photo in photos:
            work.put(photo)
    errors = []
    lock = threading.Lock()

    def client():
        connection = http.client.HTTPConnection(target.host, target.port, timeout=120)
        while True:
            try:
                photo = work.get_nowait()
            except queue.Empty:
                break
            try:
                status, body = target.request(connection, photo, data[photo][0])
            except (OSError, http.client.HTTPException) as error:
                connection.close()
                connection = http.client.HTTPConnection(target.host, target.port, timeout=120)
                with lock:
                    errors.append(f"{photo}: {error!r}")
                continue
            problem = None
            if target.kind == "img304" and status == 304:
                pass  # a revalidation: nothing to check but the status
            elif status != 200:
                problem = f"{photo}: HTTP {status}: {body[:200]!r}"
            elif verify:
                got = jpeg_size(body)
                want = expected_size(target.check, data[photo][1])
                if got is None:
                    problem = f"{photo}: not a JPEG ({body[:16]!r})"
                elif abs(got[0] - want[0]) > 1 or abs(got[1] - want[1]) > 1:
                    problem = f"{photo}: {got[0]}x{got[1]}, expected {want[0]}x{want[1]}"
            if problem:
                with lock:
                    errors.append(problem)
        connection.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    return clients * len(photos), elapsed, errors


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("photos")
    parser.add_argument("--target", action="append", required=True, metavar="NAME=KIND:URL",
                        help="a target; repeat for each")
    parser.add_argument("--check", action="append", required=True, metavar="fit=WxH|width=W",
                        help="the size check of each target, in the same order")
    parser.add_argument("--pid", action="append", default=[], metavar="PID",
                        help="the server process of each target, in the same order (optional)")
    parser.add_argument("--quiet", type=float, default=0.15, metavar="CORES",
                        help="with --pid: a sample is quiet when the rest of the machine used at most this many cores (0.15)")
    parser.add_argument("--ratio", action="append", default=[], metavar="A/B",
                        help="also each round's requests/s of target A over target B, their median and spread")
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1, help="unmeasured rounds first (default 1)")
    args = parser.parse_args()
    if len(args.check) != len(args.target):
        raise SystemExit("give one --check per --target")

    photos = sorted(f for f in os.listdir(args.photos) if f.lower().endswith((".jpg", ".jpeg")))
    if not photos:
        raise SystemExit(f"no JPEG photos in {args.photos}")
    data = {}
    for photo in photos:
        with open(os.path.join(args.photos, photo), "rb") as f:
            body = f.read()
        size = jpeg_size(body)
        if size is None:
            raise SystemExit(f"{photo}: cannot read its JPEG header")
        data[photo] = (body, size)
    megapixels = [w * h / 1e6 for _, (w, h) in data.values()]
    targets = [Target(spec, check) for spec, check in zip(args.target, args.check)]
    if args.pid:
        if len(args.pid) != len(targets):
            raise SystemExit("give one --pid per --target, or none")
        for target, pid in zip(targets, args.pid):
            target.pid = int(pid)
    print(f"{len(photos)} photos ({min(megapixels):.1f}-{max(megapixels):.1f} MP) from {args.photos}; "
          f"{args.clients} concurrent clients, {args.clients * len(photos)} requests per round; "
          f"{args.warmup} warm-up + {args.rounds} measured rounds, targets interleaved", flush=True)

    failed = False
    servers = sorted({t.pid for t in targets if t.pid})

    def foreign_snapshot():
        return (machine_busy_seconds(), own_seconds(), sum(cpu_seconds(pid) for pid in servers), time.perf_counter())

    def foreign_cores(before):
        """Cores the rest of the machine (other users' builds, tests) used
        since `before`: all CPU time less the servers' and this client's."""
        busy, own, srv, now = foreign_snapshot()
        return max((busy - before[0]) - (own - before[1]) - (srv - before[2]), 0) / (now - before[3])

    for round_number in range(-args.warmup + 1, args.rounds + 1):
        line = []
        for target in targets:
            # Every round checks every output's size (it is cheap).
            before = foreign_snapshot() if servers else None
            cpu_before = cpu_seconds(target.pid) if target.pid else 0
            client_before = own_seconds()
            count, elapsed, errors = run_round(target, photos, data, args.clients, verify=True)
            client_cpu = (own_seconds() - client_before) * 1000 / count
            cpu = (cpu_seconds(target.pid) - cpu_before) * 1000 / count if target.pid else None
            others = foreign_cores(before) if servers else None
            if errors:
                failed = True
                target.failures += len(errors)
                print(f"  {target.name}: {len(errors)} failed, first: {errors[0]}", file=sys.stderr, flush=True)
            rate = count / elapsed
            if round_number > 0:
                target.samples.append(rate)
                if cpu is not None:
                    target.cpu.append(cpu)
                target.client_cpu.append(client_cpu)
                if others is not None and others <= args.quiet:
                    target.quiet.append(rate)
            details = [f"{cpu:.1f} ms CPU/req" for _ in [0] if cpu is not None] + \
                      [f"others {others:.2f} cores" for _ in [0] if others is not None]
            line.append(f"{target.name} {rate:6.1f}/s" + (f" ({', '.join(details)})" if details else ""))
        label = f"round {round_number}" if round_number > 0 else "warm-up"
        print(f"{label:>9}: " + "  ".join(line), flush=True)

    print()
    print(f"{'target':<30} {'median req/s':>12}   {'min-max':>13}   {'spread':>7}   {'server CPU ms/req':>17}   {'client CPU ms/req':>17}  checked")
    for target in targets:
        s = sorted(target.samples)
        median = statistics.median(s)
        spread = (s[-1] - s[0]) / median * 100 if median else 0
        status = "sizes ok" if target.failures == 0 else f"{target.failures} FAILED"
        cpu = f"{statistics.median(target.cpu):.1f}" if target.cpu else "-"
        client = statistics.median(target.client_cpu)
        print(f"{target.name:<30} {median:12.1f}   {s[0]:6.1f}-{s[-1]:<6.1f}   {spread:6.1f}%   {cpu:>17}   {client:17.1f}  {status} ({target.check})")
    # Each round's ratio of two targets run back to back: a drift of the
    # machine moves both sides of a round alike, so the ratio's median and
    # spread say more than the ratio of the two medians.
    for pair in args.ratio:
        numerator, denominator = (next((t for t in targets if t.name == name), None) for name in pair.split("/", 1))
        if numerator is None or denominator is None:
            raise SystemExit(f"--ratio {pair}: name two targets, A/B")
        ratios = sorted(a / b for a, b in zip(numerator.samples, denominator.samples) if b)
        median = statistics.median(ratios)
        print(f"ratio {pair}: median {median:.2f}x over {len(ratios)} rounds, {ratios[0]:.2f}-{ratios[-1]:.2f}, "
              f"spread {(ratios[-1] - ratios[0]) / median * 100:.1f}%")
    if servers:
        print(f"\nquiet samples only (the rest of the machine used at most {args.quiet:.2f} cores meanwhile):")
        for target in targets:
            q = sorted(target.quiet)
            if q:
                print(f"{target.name:<30} {statistics.median(q):12.1f}   {q[0]:6.1f}-{q[-1]:<6.1f}   "
                      f"{len(q)} of {len(target.samples)} rounds")
            else:
                print(f"{target.name:<30} {'-':>12}   no quiet round of {len(target.samples)}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
