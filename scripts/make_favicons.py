#!/usr/bin/env python3
"""Generate the funds app's own icons (not the GOV.UK crown) with the stdlib.

Writes, relative to the repository root:
  static/img/favicon.svg           vector icon (rounded teal square, white "f")
  static/img/favicon.ico           16, 32 and 48 px PNG images in one ICO file
  static/img/apple-touch-icon.png  180x180, opaque square (iOS rounds it)

The PNGs are rasterised from the same geometry as the SVG (32x32 user
units), 4x4 supersampled. Teal #0b5f6e with white gives 7.3:1 contrast.
Run: python3 scripts/make_favicons.py
"""

from __future__ import annotations

import math
import struct
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "static" / "img"

BG = (0x0B, 0x5F, 0x6E)  # dark teal, not GOV.UK blue (#1d70b8)
FG = (0xFF, 0xFF, 0xFF)

SVG = """<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">
  <rect width="32" height="32" rx="6" fill="#0b5f6e"/>
  <path d="M14 27V12a6 6 0 0 1 6-6h4M8 15h14" fill="none" stroke="#fff" stroke-width="4"/>
</svg>
"""


def in_letter(x: float, y: float) -> bool:
    """The white "f", in 32x32 units (same shapes as the SVG path)."""
    if 12 <= x <= 16 and 12 <= y <= 27:  # stem
        return True
    if x <= 20 and y <= 12 and 4 <= math.hypot(x - 20, y - 12) <= 8:  # hook
        return True
    if 20 <= x <= 24 and 4 <= y <= 8:  # terminal
        return True
    return 8 <= x <= 22 and 13 <= y <= 17  # crossbar


def in_rounded_square(x: float, y: float, r: float = 6) -> bool:
    cx = min(max(x, r), 32 - r)
    cy = min(max(y, r), 32 - r)
    return 0 <= x <= 32 and 0 <= y <= 32 and math.hypot(x - cx, y - cy) <= r


def render(size: int, *, rounded: bool, inset: float = 0.0) -> list[bytes]:
    """Return RGBA rows. `inset` shrinks the letter (apple icon padding)."""
    ss = 4
    scale = 32 / size
    rows = []
    for py in range(size):
        row = bytearray()
        for px in range(size):
            bg_hits = fg_hits = 0
            for sy in range(ss):
                for sx in range(ss):
                    x = (px + (sx + 0.5) / ss) * scale
                    y = (py + (sy + 0.5) / ss) * scale
                    if rounded and not in_rounded_square(x, y):
                        continue
                    bg_hits += 1
                    lx = 16 + (x - 16) / (1 - inset)
                    ly = 16 + (y - 16) / (1 - inset)
                    if in_letter(lx, ly):
                        fg_hits += 1
            n = ss * ss
            if bg_hits == 0:
                row += bytes((0, 0, 0, 0))
                continue
            t = fg_hits / bg_hits
            rgb = [round(b + (f - b) * t) for b, f in zip(BG, FG, strict=True)]
            row += bytes((*rgb, round(255 * bg_hits / n)))
        rows.append(bytes(row))
    return rows


def png(rows: list[bytes], size: int, *, opaque: bool = False) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    if opaque:  # RGB, colour type 2
        raw = b"".join(
            b"\x00" + bytes(b for i, b in enumerate(r) if i % 4 != 3) for r in rows
        )
        ihdr = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    else:  # RGBA, colour type 6
        raw = b"".join(b"\x00" + r for r in rows)
        ihdr = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def ico(images: list[tuple[int, bytes]]) -> bytes:
    """ICO container holding PNG-compressed images (supported since Vista)."""
    header = struct.pack("<HHH", 0, 1, len(images))
    offset = 6 + 16 * len(images)
    entries = b""
    for size, data in images:
        entries += struct.pack(
            "<BBBBHHII", size % 256, size % 256, 0, 0, 1, 32, len(data), offset
        )
        offset += len(data)
    return header + entries + b"".join(data for _, data in images)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "favicon.svg").write_text(SVG, encoding="utf-8")
    images = [(s, png(render(s, rounded=True), s)) for s in (16, 32, 48)]
    (OUT / "favicon.ico").write_bytes(ico(images))
    # iOS wants an opaque, square icon and applies its own rounded mask.
    apple = render(180, rounded=False, inset=0.2)
    (OUT / "apple-touch-icon.png").write_bytes(png(apple, 180, opaque=True))
    for name in ("favicon.svg", "favicon.ico", "apple-touch-icon.png"):
        print(OUT / name, (OUT / name).stat().st_size, "bytes")


if __name__ == "__main__":
    main()
