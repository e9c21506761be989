"""`panelsim send --image` into `panelsim serve`: the recorded frame equals the PNG sent,
pixel for pixel.

Unsynchronised and Art-Net-synchronised cases run on 127.0.0.1; sACN with --sync runs
inside a network namespace of the test's own, in case the sender multicasts the sync
packet.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest

import harness
import pattern

SETTLE = 0.5


def _random_rgb(path: Path, w: int, h: int, seed: int):
    rnd = random.Random(seed)
    rows = [[rnd.randrange(256) for _ in range(3 * w)] for _ in range(h)]
    harness.write_png(path, w, h, rows, rgb=True)
    return rows


def _loop(tmp_path, protocol, size, pixel, cpu, image, expected_rgb_rows, *, start=None,
          sync=False, listen="127.0.0.1:0", extra_serve=(), prefix=()):
    common = ["--size", size, "--pixel", pixel, "--channels-per-universe", str(cpu)]
    if start is not None:
        common += ["--start-universe", str(start)]
    serve_args = ["--protocol", protocol, "--listen", listen, *common, *extra_serve]
    with harness.Serve(serve_args, tmp_path / "serve", prefix=prefix) as serve:
        port = serve.port(protocol)
        harness.run_panelsim(["send", "--protocol", protocol, "--to", f"127.0.0.1:{port}",
                              "--image", str(image), *common, "--fps", "20", "--frames", "3",
                              *(["--sync"] if sync else [])], prefix=prefix, timeout=30)
        time.sleep(SETTLE)
        code = serve.stop()
        assert code == 0, f"serve did not stop cleanly\n{serve.diagnostics()}"
        rec = harness.read_recording(serve.record, protocol)
    written = rec.written()
    assert written, f"no frame recorded: {rec.frames}\n{serve.diagnostics()}"
    assert not [f for f in rec.frames if f["torn"]], rec.frames
    for f in written:
        got = harness.read_rgb_png(rec.folder / f["file"])
        w, h, _, _ = harness.read_png(rec.folder / f["file"])
        assert f"{w}x{h}" == size, f"{f['file']} is {w}x{h}, expected {size}"
        if got != expected_rgb_rows:
            bad = next((y, x) for y in range(len(got)) for x in range(len(got[y]))
                       if got[y][x] != expected_rgb_rows[y][x])
            pytest.fail(f"{f['file']} differs from the image sent, first at row {bad[0]} byte {bad[1]}")


def _gray_to_rgb(rows):
    return [[v for g in r for v in (g, g, g)] for r in rows]


@pytest.mark.parametrize("protocol", ["artnet", "sacn"])
def test_rgb_170x3(panelsim, tmp_path, protocol):
    img = tmp_path / "in.png"
    rows = _random_rgb(img, 170, 3, seed=170 + len(protocol))
    _loop(tmp_path, protocol, "170x3", "rgb", 510, img, rows)


def test_artnet_sync_rgb_170x3(panelsim, tmp_path):
    img = tmp_path / "in.png"
    rows = _random_rgb(img, 170, 3, seed=3)
    _loop(tmp_path, "artnet", "170x3", "rgb", 510, img, rows, sync=True)


def test_artnet_gray_512x4_start_universe(panelsim, tmp_path):
    img = tmp_path / "in.png"
    gray = pattern.frame_rows(11, 4)
    harness.write_png(img, 512, 4, gray, rgb=False)
    _loop(tmp_path, "artnet", "512x4", "gray", 512, img, _gray_to_rgb(gray), start=16)


def test_sacn_sync_in_namespace(panelsim, netns, tmp_path):
    img = tmp_path / "in.png"
    rows = _random_rgb(img, 170, 3, seed=4)
    _loop(tmp_path, "sacn", "170x3", "rgb", 510, img, rows, sync=True, listen="0.0.0.0:5568",
          extra_serve=["--interface", "lo"], prefix=netns.prefix())
