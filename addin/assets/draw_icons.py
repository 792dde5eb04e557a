"""Draw Mailgrip's add-in icons (a white padlock on a blue rounded square) as PNG files.

Run it from anywhere: ``python addin/assets/draw_icons.py``. It needs only the standard
library, so the icons can be redrawn without an image package. Outlook asks for 16, 32 and
80 pixel button icons, a 64 pixel IconUrl and a 128 pixel HighResolutionIconUrl.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

SIZES = (16, 32, 64, 80, 128)
SUPERSAMPLING = 4
BLUE = (15, 108, 189)
WHITE = (255, 255, 255)


def _coverage(x: float, y: float) -> tuple[bool, bool]:
    """Return whether the unit-square point is inside the background and inside the padlock."""
    corner = 0.18
    cx = min(max(x, corner), 1 - corner)
    cy = min(max(y, corner), 1 - corner)
    background = (x - cx) ** 2 + (y - cy) ** 2 <= corner**2
    body = 0.24 <= x <= 0.76 and 0.44 <= y <= 0.82
    distance = ((x - 0.5) ** 2 + (y - 0.44) ** 2) ** 0.5
    shackle = y <= 0.46 and 0.15 <= distance <= 0.23
    keyhole = ((x - 0.5) ** 2 + (y - 0.58) ** 2) ** 0.5 <= 0.055 or (
        0.475 <= x <= 0.525 and 0.58 <= y <= 0.7
    )
    return background, (body and not keyhole) or shackle


def draw(size: int) -> bytes:
    """Return a ``size`` by ``size`` RGBA PNG of the icon, anti-aliased by supersampling."""
    rows = []
    samples = SUPERSAMPLING * SUPERSAMPLING
    for row in range(size):
        pixels = bytearray([0])  # filter type 0 (None) for this scanline
        for column in range(size):
            inside = lock = 0
            for sy in range(SUPERSAMPLING):
                for sx in range(SUPERSAMPLING):
                    x = (column + (sx + 0.5) / SUPERSAMPLING) / size
                    y = (row + (sy + 0.5) / SUPERSAMPLING) / size
                    background, padlock = _coverage(x, y)
                    inside += background
                    lock += background and padlock
            share = lock / inside if inside else 0
            color = [round(b + (w - b) * share) for b, w in zip(BLUE, WHITE, strict=True)]
            pixels += bytes([*color, round(255 * inside / samples)])
        rows.append(bytes(pixels))
    return _png(size, b"".join(rows))


def _png(size: int, raw: bytes) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def main() -> None:
    folder = Path(__file__).resolve().parent
    for size in SIZES:
        (folder / f"icon-{size}.png").write_bytes(draw(size))


if __name__ == "__main__":
    main()
