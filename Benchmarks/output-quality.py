#!/usr/bin/env python3
"""What thumbor and Calotype write for the same photo and size, so that a
speed comparison is not a quality comparison: mean output bytes, and each
JPEG encoder's loss (PSNR of the Q80 JPEG against the same server's lossless
PNG of the same pipeline), over the first --count photos. Used by
Benchmarks/compare-thumbor.sh; needs the vips CLI.

    Benchmarks/output-quality.py PHOTO_DIR --thumbor URL --calotype URL [--count 6]
"""
import argparse, http.client, math, os, subprocess, tempfile, urllib.parse

CASES = [
    ("512x512 fit, Q80", "fit-in/512x512/filters:quality(80)", "width=512&height=512&fit=inside&format=jpeg&quality=80"),
    ("800 wide, Q80", "800x0/filters:quality(80)", "width=800&format=jpeg&quality=80"),
]


def request(base, method, path, body=None):
    url = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    conn.request(method, path, body=body, headers={"Content-Type": "image/jpeg"} if body else {})
    response = conn.getresponse()
    payload = response.read()
    if response.status != 200:
        raise SystemExit(f"{method} {base}{path}: {response.status} {payload[:200]!r}")
    return payload


def psnr(lossy, lossless, work):
    a, b, d, s = (os.path.join(work, name) for name in ("a.jpg", "b.png", "d.v", "s.v"))
    open(a, "wb").write(lossy)
    open(b, "wb").write(lossless)
    subprocess.run(["vips", "subtract", a, b, d], check=True)
    subprocess.run(["vips", "multiply", d, d, s], check=True)
    mse = float(subprocess.run(["vips", "avg", s], check=True, capture_output=True, text=True).stdout)
    return math.inf if mse == 0 else 10 * math.log10(255 ** 2 / mse)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("photos")
    parser.add_argument("--thumbor", required=True)
    parser.add_argument("--calotype", required=True)
    parser.add_argument("--count", type=int, default=6)
    args = parser.parse_args()
    names = sorted(name for name in os.listdir(args.photos) if name.lower().endswith(".jpg"))[: args.count]
    work = tempfile.mkdtemp(prefix="calotype-quality-")
    print(f"| case | mean bytes thumbor / Calotype | JPEG loss, PSNR against its own PNG: thumbor / Calotype ({len(names)} photos) |")
    print("|---|---|---|")
    for label, thumbor_path, recipe in CASES:
        sizes = {"thumbor": [], "calotype": []}
        losses = {"thumbor": [], "calotype": []}
        for name in names:
            photo = open(os.path.join(args.photos, name), "rb").read()
            lossy = request(args.thumbor, "GET", f"/unsafe/{thumbor_path}/{name}")
            lossless = request(args.thumbor, "GET", f"/unsafe/{thumbor_path.replace('filters:', 'filters:format(png):')}/{name}")
            sizes["thumbor"].append(len(lossy))
            losses["thumbor"].append(psnr(lossy, lossless, work))
            lossy = request(args.calotype, "POST", f"/process?{recipe}", photo)
            lossless = request(args.calotype, "POST", f"/process?{recipe.replace('format=jpeg', 'format=png')}", photo)
            sizes["calotype"].append(len(lossy))
            losses["calotype"].append(psnr(lossy, lossless, work))
        mean = lambda values: sum(values) / len(values)
        print(f"| {label} | {mean(sizes['thumbor']) / 1024:.1f} / {mean(sizes['calotype']) / 1024:.1f} KiB | "
              f"{mean(losses['thumbor']):.2f} / {mean(losses['calotype']):.2f} dB |")


if __name__ == "__main__":
    main()
