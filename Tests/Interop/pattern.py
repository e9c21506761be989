"""The known test pattern the interop clients send and the tests recognise.

A gray panel 512 pixels wide and U rows high, one universe per row, 512 channels per
universe.  Channel c (0..511) of universe offset u (0 = the start universe) in frame k
(0-based) carries

    value(k, u, c) = (k * 7 + u * 31 + c) & 0xFF

Every frame differs from the next in every slot, and every row differs from the
others, so a recorded PNG names exactly one frame k (mod 256), and a frame assembled
from rows of different frames (torn) or shifted rows (wrong universe mapping) names
none.
"""

from __future__ import annotations

from typing import Iterable, Optional, Sequence

CHANNELS = 512
WIDTH = 512
PERIOD = 256  # the pattern repeats after 256 frames


def value(k: int, u: int, c: int) -> int:
    return (k * 7 + u * 31 + c) & 0xFF


def universe_data(k: int, u: int) -> bytes:
    """The 512 slots of universe offset u in frame k."""
    base = k * 7 + u * 31
    return bytes((base + c) & 0xFF for c in range(CHANNELS))


def universe_list(k: int, u: int) -> list:
    return list(universe_data(k, u))


def frame_rows(k: int, universes: int) -> list:
    """The expected picture of frame k: `universes` rows of 512 ints."""
    return [universe_list(k, u) for u in range(universes)]


def identify(rows: Sequence[Sequence[int]]) -> Optional[int]:
    """Return k in 0..255 if every row equals the pattern for that one k, else None.

    rows: a list of U rows of 512 ints (gray), as read from a PNG.
    """
    rows = [list(r) for r in rows]
    if not rows or any(len(r) != CHANNELS for r in rows):
        return None
    # Row 0, slot 0 fixes k: value = 7k mod 256, and 7 is invertible mod 256.
    k = (rows[0][0] * _INV7) & 0xFF
    for u, row in enumerate(rows):
        if any(not 0 <= v <= 255 for v in row):
            return None
        if bytes(row) != universe_data(k, u):
            return None
    return k


# 7 * 183 = 1281 = 5 * 256 + 1
_INV7 = 183
assert (7 * _INV7) & 0xFF == 1


def read_gray_png(path) -> list:
    """Read a PNG with pypng and return its rows as lists of gray ints.

    Accepts 8-bit gray (the recorder's format for --pixel gray); an RGB or
    gray+alpha file is accepted only if every pixel is gray (R = G = B), so a
    recorder that writes RGB for a gray panel still identifies.
    """
    import png  # pypng

    width, height, rows, info = png.Reader(filename=str(path)).asDirect()
    planes = info["planes"]
    bitdepth = info["bitdepth"]
    if bitdepth != 8:
        raise ValueError(f"{path}: bit depth {bitdepth}, expected 8")
    out = []
    for row in rows:
        row = list(row)
        if planes == 1:
            out.append(row)
        elif planes == 2:  # gray + alpha
            out.append(row[0::2])
        elif planes in (3, 4):
            r, g, b = row[0::planes], row[1::planes], row[2::planes]
            if r != g or g != b:
                raise ValueError(f"{path}: RGB pixels that are not gray")
            out.append(r)
        else:
            raise ValueError(f"{path}: {planes} planes")
    return out


def identify_png(path) -> Optional[int]:
    return identify(read_gray_png(path))


def all_frames(universes: int, frames: int) -> Iterable:
    for k in range(frames):
        yield k, [universe_data(k, u) for u in range(universes)]
