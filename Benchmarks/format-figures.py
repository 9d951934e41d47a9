#!/usr/bin/env python3
"""AVIF, JPEG XL and WebP against JPEG at the same perceived quality, as a
running Calotype writes them: for each photo, `POST /process?width=800` in
each format over a range of qualities; the loss of each answer is its SSIM
(luma, Gaussian window) against the same server's lossless PNG of the same
pipeline. JPEG at quality 80 sets the target: each other format is shown at
the lowest quality whose mean SSIM reaches JPEG's. Time is the server's
`X-Calotype-Duration-Ms` (decode, resize and encode: the same decode and
resize in every format, so the differences are the encoders'), the median
of the photos.

Then the encoders' effort: libvips' own `heifsave` and `jxlsave` (the
commands, the same libraries Calotype calls) on the 800 px PNGs, at the
chosen qualities, each effort's mean encode time (the command's time less
that of `vips copy` of the same file: start and load) and mean size.

Also, with --gif FILE: the throughput of resizing an animated GIF (its
frames kept) to 50% through `POST /process`, one request at a time.

    Benchmarks/format-figures.py PHOTO_DIR --calotype http://127.0.0.1:8080 [--count 24] [--gif anim.gif]

Needs numpy, scipy and the vips CLI.
"""
import argparse, http.client, os, statistics, subprocess, tempfile, time, urllib.parse

import numpy as np
from scipy.ndimage import gaussian_filter

QUALITIES = {
    "jpeg": [80],
    "webp": [60, 65, 70, 75, 80, 85, 90],
    "avif": [35, 40, 45, 50, 55, 60, 65, 70],
    "jxl": [50, 55, 60, 65, 70, 75, 80, 85],
}
EFFORTS = {"avif": [0, 1, 2, 3, 4], "jxl": [3, 4, 5, 7]}


def process(base, photo, recipe):
    url = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
    conn.request("POST", f"/process?{recipe}", body=photo, headers={"Content-Type": "image/jpeg"})
    response = conn.getresponse()
    payload = response.read()
    if response.status != 200:
        raise SystemExit(f"POST /process?{recipe}: {response.status} {payload[:200]!r}")
    return payload, float(response.getheader("X-Calotype-Duration-Ms"))


def luma(encoded, extension, work):
    """The image's luma as floats, decoded by the vips command."""
    source, grey, raw = (os.path.join(work, name) for name in (f"in.{extension}", "grey.v", "grey.raw"))
    open(source, "wb").write(encoded)
    subprocess.run(["vips", "colourspace", source, grey, "b-w"], check=True)
    subprocess.run(["vips", "extract_band", grey, grey + ".v", "0"], check=True)
    subprocess.run(["vips", "rawsave", grey + ".v", raw], check=True)
    width = int(subprocess.run(["vipsheader", "-f", "width", grey + ".v"], check=True, capture_output=True, text=True).stdout)
    return np.fromfile(raw, dtype=np.uint8).astype(np.float64).reshape(-1, width)


def ssim(a, b):
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mu_a, mu_b = gaussian_filter(a, 1.5), gaussian_filter(b, 1.5)
    var_a = gaussian_filter(a * a, 1.5) - mu_a**2
    var_b = gaussian_filter(b * b, 1.5) - mu_b**2
    cov = gaussian_filter(a * b, 1.5) - mu_a * mu_b
    return float(np.mean(((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))))


def timed(command):
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("photos")
    parser.add_argument("--calotype", required=True)
    parser.add_argument("--count", type=int, default=24)
    parser.add_argument("--gif", help="an animated GIF for the throughput figure")
    args = parser.parse_args()
    names = sorted(name for name in os.listdir(args.photos) if name.lower().endswith(".jpg"))[: args.count]
    work = tempfile.mkdtemp(prefix="calotype-formats-")
    extensions = {"jpeg": "jpg", "webp": "webp", "avif": "avif", "jxl": "jxl"}
    # (format, quality) -> lists of sizes, durations, SSIMs
    sizes, times, scores = {}, {}, {}
    pngs = []
    for index, name in enumerate(names):
        photo = open(os.path.join(args.photos, name), "rb").read()
        png, _ = process(args.calotype, photo, "width=800&format=png")
        pngs.append(os.path.join(work, f"reference-{index}.png"))
        open(pngs[-1], "wb").write(png)
        reference = luma(png, "png", work)
        for format_, qualities in QUALITIES.items():
            for quality in qualities:
                encoded, duration = process(args.calotype, photo, f"width=800&format={format_}&quality={quality}")
                key = (format_, quality)
                sizes.setdefault(key, []).append(len(encoded))
                times.setdefault(key, []).append(duration)
                scores.setdefault(key, []).append(ssim(luma(encoded, extensions[format_], work), reference))
    mean = lambda values: sum(values) / len(values)
    target = mean(scores[("jpeg", 80)])
    print(f"{len(names)} photos, 800 px wide; JPEG Q80's mean SSIM {target:.4f} is the target\n")
    print("| format | quality | mean SSIM | mean size | job ms, median (decode + resize + encode) |")
    print("|---|---|---|---|---|")
    chosen = {}
    for format_, qualities in QUALITIES.items():
        reaching = [q for q in qualities if mean(scores[(format_, q)]) >= target]
        quality = reaching[0] if reaching else qualities[-1]
        chosen[format_] = quality
        key = (format_, quality)
        print(f"| {format_} | {quality} | {mean(scores[key]):.4f} | {mean(sizes[key]) / 1024:.1f} KiB | "
              f"{statistics.median(times[key]):.1f} |")
    print("\nEvery quality measured:\n")
    print("| format | quality | mean SSIM | mean size |")
    print("|---|---|---|---|")
    for (format_, quality), values in sorted(scores.items()):
        print(f"| {format_} | {quality} | {mean(values):.4f} | {mean(sizes[(format_, quality)]) / 1024:.1f} KiB |")

    print("\nEffort (the vips commands on the 800 px PNGs, at the qualities above):\n")
    print("| format | effort | mean encode ms | mean size |")
    print("|---|---|---|---|")
    for format_, efforts in EFFORTS.items():
        for effort in efforts:
            spent, written = [], []
            for index, png in enumerate(pngs):
                out = os.path.join(work, f"effort.{extensions[format_]}")
                base = timed(["vips", "copy", png, os.path.join(work, "copy.v")])
                if format_ == "avif":
                    command = ["vips", "heifsave", png, out, "--compression", "av1", "--bitdepth", "8",
                               "--Q", str(chosen[format_]), "--effort", str(effort), "--strip"]
                else:
                    command = ["vips", "jxlsave", png, out, "--Q", str(chosen[format_]), "--effort", str(effort), "--strip"]
                spent.append(max(0.0, timed(command) - base) * 1000)
                written.append(os.path.getsize(out))
            print(f"| {format_} | {effort} | {mean(spent):.1f} | {mean(written) / 1024:.1f} KiB |")

    if args.gif:
        animation = open(args.gif, "rb").read()
        frames = int(subprocess.run(["vipsheader", "-f", "n-pages", args.gif], capture_output=True, text=True).stdout or 1)
        process(args.calotype, animation, "scale=0.5&format=gif")
        rounds, start = 10, time.perf_counter()
        for _ in range(rounds):
            process(args.calotype, animation, "scale=0.5&format=gif")
        elapsed = time.perf_counter() - start
        print(f"\nAnimated GIF ({frames} frames, {len(animation) / 1024:.0f} KiB), resized to 50%, one at a time: "
              f"{rounds / elapsed:.2f} animations/s, {rounds * frames / elapsed:.0f} frames/s")


if __name__ == "__main__":
    main()
