"""Says whether a PNG screenshot shows something: its size from IHDR, and not one colour
(the scanlines, once inflated, are not all alike and hold more than a few distinct bytes).

usage: check_png.py FILE.png WIDTH -> "WIDTHxHEIGHT, N distinct scanlines"
"""
import struct
import sys
import zlib

path, want_w = sys.argv[1], int(sys.argv[2])
data = open(path, "rb").read()
if data[:8] != b"\x89PNG\r\n\x1a\n":
    print("not a PNG")
    sys.exit(1)
pos, idat, w = 8, b"", 0
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        w, h, depth, color = struct.unpack(">IIBB", body[:10])
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
raw = zlib.decompress(idat)
bpp = {2: 3, 6: 4, 0: 1, 4: 2}.get(color, 4) * depth // 8
stride = w * bpp + 1
rows = {raw[i:i + stride] for i in range(0, len(raw), stride)}
if w != want_w:
    print(f"{w} px wide, not {want_w}")
    sys.exit(1)
if len(rows) < 100 or len(set(raw)) < 16:
    print(f"blank: {len(rows)} distinct scanlines, {len(set(raw))} distinct bytes")
    sys.exit(1)
print(f"{w}x{h}, not blank")
