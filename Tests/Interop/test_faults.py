"""Faults `panelsim serve` must survive, each against the real binary:

- a sender vanishing mid-frame: the half frame is recorded torn, then frames resume;
- random bytes injected on a serial line between frames: the framer resynchronises, so at
  most the frame right after the garbage is lost;
- SIGTERM while frames pour in: every PNG frames.jsonl names exists and decodes, every line
  parses, recording.json is whole, and no partial PNG is left behind;
- the disk filling up while recording (a small tmpfs, root only): recording stops with a
  clear message, serving goes on (every frame is still assembled and counted), the frames
  not written are counted in recording.json, and what was written stays valid.
"""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import png
import pytest
import serial

import harness
import pattern
import wire

pytestmark = pytest.mark.skipif(harness.panelsim_missing_reason() is not None,
                                reason=harness.panelsim_missing_reason() or "")

U = 4


def gray_panel(rows: int) -> list:
    return ["--size", f"512x{rows}", "--pixel", "gray", "--channels-per-universe", "512"]


def artnet_serve(workdir: Path, rows: int = U, extra=()) -> harness.Serve:
    return harness.Serve(["--protocol", "artnet", "--listen", "127.0.0.1:0", *gray_panel(rows), "--quiet", *extra], workdir)


def send_universes(sock: socket.socket, port: int, k: int, universes) -> None:
    for u in universes:
        sock.sendto(wire.artdmx(u, pattern.universe_data(k, u), sequence=(k % 255) + 1), ("127.0.0.1", port))


def check_recording_is_valid(rec: harness.Recording) -> None:
    """Every line names an existing PNG that decodes (or says why none was written); no other PNG."""
    named = set()
    for f in rec.frames:
        if f.get("file"):
            path = rec.folder / f["file"]
            assert path.is_file(), f"frames.jsonl names {f['file']}, which is missing"
            w, h, rows, _ = png.Reader(filename=str(path)).read()
            assert len(list(rows)) == h, f"{f['file']} is cut short"
            named.add(f["file"])
        else:
            assert f.get("skipped"), f"frame {f['index']} has neither a file nor a reason: {f}"
    on_disk = {p.name for p in rec.folder.glob("*.png")}
    assert on_disk == named, f"PNGs frames.jsonl does not name: {sorted(on_disk - named)[:5]}"
    assert [f["index"] for f in rec.frames] == list(range(1, len(rec.frames) + 1))


def test_sender_vanishing_mid_frame_gives_a_torn_frame_then_recovers(tmp_path: Path):
    with artnet_serve(tmp_path) as serve, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        port = serve.port("artnet")
        for k in range(3):
            send_universes(s, port, k, range(U))
            time.sleep(0.02)
        send_universes(s, port, 3, [0, 1])  # the sender vanishes half way through frame 3
        time.sleep(0.6)
        for k in range(4, 7):
            send_universes(s, port, k, range(U))
            time.sleep(0.02)
        time.sleep(0.3)
        assert serve.stop() == 0, serve.diagnostics()
    rec = harness.read_recording(serve.record, "artnet")
    assert [f["torn"] for f in rec.frames] == [False, False, False, True, False, False, False], rec.frames
    torn = pattern.read_gray_png(rec.folder / rec.frames[3]["file"])
    assert torn[:2] == pattern.frame_rows(3, 2) and torn[2:] == pattern.frame_rows(2, U)[2:], \
        "the torn frame holds frame 3's universes 0-1 and frame 2's 2-3"
    whole = [f for f in rec.frames if not f["torn"]]
    assert [pattern.identify_png(rec.folder / f["file"]) for f in whole] == [0, 1, 2, 4, 5, 6]
    assert rec.meta["counters"]["torn"] == 1


def enttec_dmx(data: bytes) -> bytes:
    body = b"\x00" + data
    return bytes([0x7E, 0x06, len(body) & 0xFF, len(body) >> 8]) + body + b"\xE7"


def test_random_bytes_on_a_serial_line_cost_at_most_the_next_frame(tmp_path: Path):
    link = tmp_path / "ttyUSB0"
    rng = random.Random(7)
    frames = 60
    garbage_before = {k for k in range(frames) if k % 3 == 0 and k > 0}
    with harness.Serve(["--protocol", "enttec-pro", *gray_panel(1), "--serial", "pty", "--link", str(link), "--quiet"],
                       tmp_path) as serve:
        with serial.Serial(str(link), 115200, timeout=0.1) as line:
            for k in range(frames):
                if k in garbage_before:
                    line.write(rng.randbytes(rng.randint(1, 96)))
                line.write(enttec_dmx(pattern.universe_data(k, 0)))
                line.flush()
                time.sleep(0.01)
        time.sleep(0.5)
        assert serve.stop() == 0, serve.diagnostics()
    rec = harness.read_recording(serve.record, "enttec-pro")
    got = [pattern.identify_png(rec.folder / f["file"]) for f in rec.written()]
    assert None not in got, "a recorded frame is not a whole pattern frame"
    assert got == sorted(got), got
    lost = set(range(frames)) - set(got)
    assert lost <= garbage_before, f"frames lost that no garbage preceded: {sorted(lost - garbage_before)}"
    events = rec.meta["counters"]["events"]
    assert events.get("skipped-bytes", 0) > 0 or rec.meta["counters"]["malformed"], rec.meta["counters"]


def test_sigterm_while_recording_leaves_every_file_valid(tmp_path: Path):
    rows = 8
    with artnet_serve(tmp_path, rows) as serve, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        port = serve.port("artnet")
        deadline = time.monotonic() + 1.0
        k = 0
        while time.monotonic() < deadline:
            send_universes(s, port, k, range(rows))
            k += 1
            time.sleep(0.002)
        # SIGTERM while frames are still arriving: a sender thread keeps going during the stop.
        serve.proc.send_signal(15)
        for j in range(200):
            send_universes(s, port, k + j, range(rows))
        assert serve.proc.wait(15) == 0, serve.diagnostics()
    rec = harness.read_recording(serve.record, "artnet")
    assert len(rec.frames) > 50, len(rec.frames)
    check_recording_is_valid(rec)
    assert rec.meta["counters"]["frames"] == len(rec.frames)


def tmpfs_unavailable_reason():
    if os.geteuid() != 0:
        return "needs root to mount a small tmpfs"
    return None


@pytest.mark.skipif(tmpfs_unavailable_reason() is not None, reason=tmpfs_unavailable_reason() or "")
def test_disk_full_while_recording(tmp_path: Path):
    disk = tmp_path / "small-disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)], check=True)
    try:
        frames = 600  # random pictures: about 2.1 KB of PNG each, far more than 1 MB
        rng = random.Random(3)
        with harness.Serve(["--protocol", "artnet", "--listen", "127.0.0.1:0", *gray_panel(U), "--quiet"], tmp_path,
                           record=disk / "record") as serve, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            port = serve.port("artnet")
            for k in range(frames):
                for u in range(U):
                    s.sendto(wire.artdmx(u, rng.randbytes(512), sequence=(k % 255) + 1), ("127.0.0.1", port))
                time.sleep(0.004)
            time.sleep(0.5)
            code = serve.stop()
        stderr = serve.stderr.read_text()
        assert "recording to" in stderr and "stopped" in stderr and "No space left" in stderr, stderr[-2000:]
        assert code == 3, serve.diagnostics()  # a file could not be written: exit 3 (README)
        rec = harness.read_recording(serve.record, "artnet")
        counters = rec.meta["counters"]
        # Serving went on: every frame was assembled (a busy machine pausing the sender inside a
        # frame may split one in two), and every frame event has its frames.jsonl line.
        assert frames <= counters["frames"] <= frames + 5, counters
        assert len(rec.frames) == counters["frames"], "every frame has its frames.jsonl line"
        written = [f for f in rec.frames if f.get("file")]
        not_written = [f for f in rec.frames if not f.get("file")]
        assert written and not_written, (len(written), len(not_written))
        assert all(f["skipped"] == "error" for f in not_written)
        assert counters["frames-not-written"]["error"] == len(not_written), counters["frames-not-written"]
        check_recording_is_valid(rec)
        assert not (serve.record / "artnet" / ".panelsim-reserve").exists()
    finally:
        subprocess.run(["umount", str(disk)], check=False)
