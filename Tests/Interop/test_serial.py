"""Serial controllers against real clients, over a pseudo-terminal `panelsim serve` makes:

- pyenttec (Enttec DMX USB Pro host library) writes its parameters, then label-6 frames;
- `panelsim send --protocol tpm2 --serial PATH` into `serve --protocol tpm2`;
- OLA's Enttec USB Pro plugin (olad as the olad user, in a network namespace of its own
  so its RPC port is private) finds the widget through a `ttyUSB0` symlink to the PTY,
  probes it, and sends the universe patched to it.

Each recorded frame must be a whole pattern frame (pattern.py), in order.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

import harness
import pattern

pytestmark = pytest.mark.skipif(harness.panelsim_missing_reason() is not None,
                                reason=harness.panelsim_missing_reason() or "")

N = 20


def gray_panel(width: int, rows: int) -> list:
    return ["--size", f"{width}x{rows}", "--pixel", "gray", "--channels-per-universe", "512"]


def test_pyenttec_through_pty(tmp_path: Path):
    link = tmp_path / "ttyUSB0"
    with harness.Serve(["--protocol", "enttec-pro", *gray_panel(512, 1), "--serial", "pty", "--link", str(link),
                        "--quiet"], tmp_path) as serve:
        assert os.path.realpath(link) == serve.path("enttec-pro")
        harness.run_client("send_enttec.py", ["--device", str(link), "--frames", str(N), "--fps", "20"])
        time.sleep(0.5)
        assert serve.stop() == 0, serve.diagnostics()
    rec = harness.read_recording(serve.record, "enttec-pro")
    assert harness.pattern_frames(rec, 0, 1) == list(range(N)), serve.diagnostics()
    events = rec.meta["counters"]["events"]
    assert events.get("parameters-set") == 1, events  # pyenttec's 7E 04 05 00 00 00 09 01 28 E7
    assert not rec.meta["counters"]["malformed"], rec.meta["counters"]
    assert not link.exists(), "the symlink is removed at stop"


def test_panelsim_send_tpm2_into_serve(tmp_path: Path):
    rows = 4
    with harness.Serve(["--protocol", "tpm2", *gray_panel(512, rows), "--quiet"], tmp_path) as serve:
        path = serve.path("tpm2")
        for k in range(5):
            png = tmp_path / f"pattern-{k}.png"
            harness.write_png(png, 512, rows, pattern.frame_rows(k, rows), rgb=False)
            harness.run_panelsim(["send", "--protocol", "tpm2", "--serial", path, "--image", str(png),
                                  *gray_panel(512, rows), "--frames", "1"])
        time.sleep(0.3)
        assert serve.stop() == 0, serve.diagnostics()
    rec = harness.read_recording(serve.record, "tpm2")
    ks = [pattern.identify_png(rec.folder / f["file"]) for f in rec.written()]
    assert ks == list(range(5)), serve.diagnostics()


# ---------------------------------------------------------------- OLA's USB Pro plugin

def ola_serial_unavailable_reason():
    if os.geteuid() != 0:
        return "needs root (olad runs as the olad user in a network namespace)"
    for tool in ("olad", "ola_dev_info", "ola_patch", "ola_streaming_client", "setpriv", "ip"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install ola)"
    try:
        pwd.getpwnam("olad")
    except KeyError:
        return "no `olad` user (the Debian ola package creates it)"
    return None


def test_ola_usbpro_plugin(tmp_path: Path):
    reason = ola_serial_unavailable_reason()
    if reason:
        pytest.skip(reason)
    import test_ola  # olad's launcher: plugins off but one, as the olad user

    device_dir = Path(tempfile.mkdtemp(prefix="ps-ola-serial-"))
    os.chmod(device_dir, 0o755)
    link = device_dir / "ttyUSB0"
    try:
        with harness.Serve(["--protocol", "enttec-pro", *gray_panel(512, 1), "--serial", "pty", "--link", str(link),
                            "--option", "serial-number=12345678", "--quiet"], tmp_path) as serve, \
                harness.Netns() as ns:
            pts = serve.path("enttec-pro")
            os.chmod(pts, 0o666)  # olad runs as olad

            class Link:  # what test_ola.Olad runs its tools through: our namespace
                def prefix_a(self):
                    return ns.prefix()

            class SerialOlad(test_ola.Olad):
                def _wait_device(self) -> int:
                    deadline = time.monotonic() + test_ola.OLAD_READY_TIMEOUT
                    devices = {}
                    while time.monotonic() < deadline and not devices:
                        if self.proc.poll() is not None:
                            raise AssertionError(f"olad exited at start\n{self.diagnostics()}")
                        devices = self.devices()
                        time.sleep(0.2)
                    assert len(devices) == 1, f"olad devices {devices}\n{self.diagnostics()}\n{serve.diagnostics()}"
                    name = next(iter(devices.values()))
                    assert re.search(r"usb ?pro|enttec", name, re.IGNORECASE), f"not a USB Pro: {name}"
                    return next(iter(devices))

            with SerialOlad(Link(), "usbserial", {"device_dir": str(device_dir)}, tmp_path / "olad") as olad:
                info = olad.ola("ola_dev_info").stdout
                olad.patch([1])
                client = subprocess.Popen([*ns.prefix(), "ola_streaming_client", "-u", "1"], stdin=subprocess.PIPE,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                time.sleep(0.3)
                for k in range(N):
                    client.stdin.write((",".join(map(str, pattern.universe_data(k, 0))) + "\n").encode())
                    client.stdin.flush()
                    time.sleep(0.1)
                client.stdin.close()
                assert client.wait(10) == 0, client.stderr.read()
                time.sleep(0.5)
                olad.stop()
            assert serve.stop() == 0, serve.diagnostics()
        rec = harness.read_recording(serve.record, "enttec-pro")
        events = rec.meta["counters"]["events"]
        # The probe: labels 77 and 78 unanswered, serial number and parameters answered.
        assert events.get("probe-label-77-unanswered") and events.get("probe-label-78-unanswered"), events
        assert events.get("replies", 0) >= 2, events
        ks = []
        for f in rec.written():
            k = pattern.identify_png(rec.folder / f["file"])
            if k is None:
                rows = pattern.read_gray_png(rec.folder / f["file"])
                assert not ks and not any(rows[0]), f"frame {f['index']} is neither blackout nor a pattern frame"
                continue  # OLA's blackout on patching
            if not ks or ks[-1] != k:
                ks.append(k)
        assert ks == list(range(N)), f"{ks}\n{info}"
    finally:
        shutil.rmtree(device_dir, ignore_errors=True)


def test_pyenttec_capture_replays_to_the_same_frames(tmp_path: Path):
    """What pyenttec wrote, captured by `serve --pcap` (the serial capture FILE-serial.pcap),
    replays offline into the same frames; tshark reads the capture's direction bytes."""
    capture = tmp_path / "session.pcap"
    link = tmp_path / "ttyUSB0"
    with harness.Serve(["--protocol", "enttec-pro", *gray_panel(512, 1), "--serial", "pty", "--link", str(link),
                        "--pcap", str(capture), "--quiet"], tmp_path / "live") as serve:
        harness.run_client("send_enttec.py", ["--device", str(link), "--frames", "6", "--fps", "20"])
        time.sleep(0.5)
        assert serve.stop() == 0, serve.diagnostics()
    live = harness.read_recording(serve.record, "enttec-pro")
    serial = tmp_path / "session-serial.pcap"
    assert serial.is_file(), sorted(p.name for p in tmp_path.iterdir())
    events = harness.tshark_fields(serial, ["rtacser.eventtype"])
    assert {e["rtacser.eventtype"] for e in events} == {"0x02"}, events  # pyenttec never reads: all received
    config = tmp_path / "replay.yaml"
    config.write_text("controllers:\n  - name: enttec-pro\n    protocol: enttec-pro\n    transport: { serial: pty }\n"
                      "    panel: { width: 512, height: 1, pixel: gray }\n    mapping: { channels-per-universe: 512 }\n")
    out = tmp_path / "replay"
    harness.run_panelsim(["replay", str(serial), "--config", str(config), "--out", str(out)])
    replayed = harness.read_recording(out, "enttec-pro")
    assert harness.pattern_frames(replayed, 0, 1) == harness.pattern_frames(live, 0, 1) == list(range(6))
