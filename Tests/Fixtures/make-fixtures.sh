#!/usr/bin/env bash
# Makes the small test images in this folder with libvips (vips CLI, from
# Debian's libvips-tools) and Python's standard library + numpy. The outputs
# are committed; run this again only to change them.
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# A photo-like picture: smooth gradients, soft shapes, edges and grain (flat
# colour would compress and resize unrealistically).
python3 - "$tmp" <<'PY'
import sys, numpy as np
out = sys.argv[1]
rng = np.random.default_rng(7)
def picture(w, h):
    y, x = np.mgrid[0:h, 0:w].astype(float)
    r = 120 + 100 * np.sin(x / 37.0) * np.cos(y / 23.0)
    g = 40 + 180 * (x / w) * (1 - y / h) + 30 * np.sin((x + y) / 11.0)
    b = 200 - 150 * (y / h) + 20 * np.cos(x / 5.0)
    for cx, cy, rad, col in [(0.3, 0.4, 0.18, (250, 220, 60)), (0.7, 0.6, 0.25, (30, 60, 200)), (0.55, 0.25, 0.1, (240, 40, 40))]:
        m = ((x - cx * w) ** 2 + (y - cy * h) ** 2) < (rad * min(w, h)) ** 2
        r[m], g[m], b[m] = col
    img = np.stack([r, g, b], -1) + rng.normal(0, 6, (h, w, 3))
    return np.clip(img, 0, 255).astype(np.uint8)
picture(320, 240).tofile(f"{out}/photo.raw")
picture(128, 96).tofile(f"{out}/small.raw")
rgba = np.concatenate([picture(128, 96), np.tile(np.linspace(0, 255, 128), (96, 1))[..., None].astype(np.uint8)], -1)
rgba.tofile(f"{out}/alpha.raw")
PY

vips rawload "$tmp/photo.raw" "$tmp/photo.v" 320 240 3
vips copy "$tmp/photo.v" "$tmp/photo2.v" --interpretation srgb
vips copy "$tmp/photo2.v" photo.jpg[Q=90,strip]
vips copy "$tmp/photo2.v" photo.webp[Q=85,strip]
vips rawload "$tmp/small.raw" "$tmp/small.v" 128 96 3
vips copy "$tmp/small.v" "$tmp/small2.v" --interpretation srgb
vips copy "$tmp/small2.v" photo.gif
vips copy "$tmp/small2.v" photo.tif[compression=deflate]
vips colourspace "$tmp/small2.v" deep.png rgb16
# An animation: the small picture, mirrored each way and turned, as four
# frames of one strip (through PNG: the CLI's arrayjoin of .v files crashed).
vips copy "$tmp/small2.v" "$tmp/frame1.png"
vips flip "$tmp/frame1.png" "$tmp/frame2.png" horizontal
vips flip "$tmp/frame1.png" "$tmp/frame3.png" vertical
vips rot "$tmp/frame1.png" "$tmp/frame4.png" d180
vips arrayjoin "$tmp/frame1.png $tmp/frame2.png $tmp/frame3.png $tmp/frame4.png" "$tmp/strip.png" --across 1
vips copy "$tmp/strip.png" "animation.gif[page-height=96]"
# CMYK without an embedded profile (a profile alone is ~1 MB): libvips
# converts it with its built-in CMYK profile.
vips colourspace "$tmp/small2.v" "$tmp/cmyk.v" cmyk
vips copy "$tmp/cmyk.v" cmyk.jpg[Q=90,strip]
vips rawload "$tmp/alpha.raw" "$tmp/alpha.v" 128 96 4
vips copy "$tmp/alpha.v" alpha.png --interpretation srgb

# The same photo stored sideways with EXIF orientation 6 ("rotate 90
# clockwise to view"): displayed, it is 240 wide and 320 high.
vips rot "$tmp/photo2.v" "$tmp/sideways.v" d270
vips copy "$tmp/sideways.v" "$tmp/sideways.jpg[Q=90,strip]"
python3 - "$tmp/sideways.jpg" exif-rotated.jpg <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
# Exif APP1: big-endian TIFF header, one IFD entry: Orientation (0x0112) = 6.
tiff = b"MM\x00*" + struct.pack(">I", 8) + struct.pack(">H", 1) + struct.pack(">HHIHH", 0x0112, 3, 1, 6, 0) + struct.pack(">I", 0)
payload = b"Exif\x00\x00" + tiff
app1 = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
open(sys.argv[2], "wb").write(data[:2] + app1 + data[2:])
PY

# A PNG whose header declares 30000 x 30000 pixels (900 MP) in a few bytes.
python3 - <<'PY'
import struct, zlib
def chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xffffffff)
ihdr = struct.pack(">IIBBBBB", 30000, 30000, 8, 2, 0, 0, 0)
idat = zlib.compress(b"\x00" * 64)
open("huge-header.png", "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
PY

# Formats that must be refused: a PDF and a libvips matrix file.
printf '%%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 10 10] >> endobj\ntrailer << /Root 1 0 R >>\n%%%%EOF\n' > document.pdf
printf '2 2 1 0\n1 2\n3 4\n' > matrix.mat

# A decompression bomb: 79 KB of PNG that declares (and holds) 9000x9000
# pixels, 81 MP, over the default limit of 50; refused from its header.
vips black "$tmp/black.v" 9000 9000
vips copy "$tmp/black.v" bomb.png[compression=9]
ls -l
