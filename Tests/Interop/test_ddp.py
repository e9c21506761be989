"""DDP and TPM2.net end to end on 127.0.0.1.

- python-led-ddp (a third-party DDP sender) into `panelsim serve --protocol ddp`: every
  recorded frame is a whole pattern frame, in order, ending with the last one sent;
- `panelsim send --protocol tpm2net` of pattern PNGs into `serve --protocol tpm2net`:
  the recorded frames equal the PNGs sent, pixel for pixel;
- `panelsim send --protocol ddp --pcap` then `panelsim replay` with a config: the same frames.

The panel is gray 512 x U, so chain order is the pattern's rows one after the other.
tshark 4.0 has no DDP dissector (its `ddp` is AppleTalk's Datagram Delivery Protocol), so
there is no tshark oracle here.
"""

from __future__ import annotations

import time

import pytest

import harness
import pattern

U = 4
N = 30
FPS = 20
SETTLE = 0.5


def _serve_args(protocol: str, extra=()):
    return ["--protocol", protocol, "--listen", "127.0.0.1:0", "--size", f"512x{U}", "--pixel", "gray",
            "--channels-per-universe", "512", *extra]


def _pattern_ks(rec: harness.Recording):
    ks = []
    for f in rec.written():
        k = pattern.identify_png(rec.folder / f["file"])
        assert k is not None, f"frame {f['index']} ({f['file']}) is not a whole pattern frame"
        assert f["universes"] == [], f
        assert f["sources"], f
        ks.append(k)
    return ks


def _stop(serve: harness.Serve, controller: str) -> harness.Recording:
    time.sleep(SETTLE)
    code = serve.stop()
    assert code == 0, f"serve did not stop cleanly\n{serve.diagnostics()}"
    return harness.read_recording(serve.record, controller)


def _pattern_pngs(tmp_path, ks):
    paths = []
    for k in ks:
        p = tmp_path / f"pattern-{k}.png"
        harness.write_png(p, 512, U, pattern.frame_rows(k, U), rgb=False)
        paths.append(p)
    return paths


def test_python_led_ddp(panelsim, tmp_path):
    pytest.importorskip("ddp")
    with harness.Serve(_serve_args("ddp"), tmp_path) as serve:
        harness.run_client("send_ddp.py", ["--host", "127.0.0.1", "--port", str(serve.port("ddp")),
                                           "--universes", str(U), "--frames", str(N), "--fps", str(FPS)])
        rec = _stop(serve, "ddp")
    assert not [f for f in rec.frames if f["torn"]], rec.frames[:3]
    ks = _pattern_ks(rec)
    assert len(set(ks)) >= N // 2, ks
    assert all(a <= b for a, b in zip(ks, ks[1:])), ks
    assert ks[-1] == N - 1, ks
    assert all(f.get("sync") for f in rec.frames), rec.frames[:3]
    events = rec.meta["counters"]["events"]
    # 2048 bytes per frame: 1440 + 608, python-led-ddp's data type 0x0D.
    assert events.get("data-type.0x0D") == 2 * N, events
    assert events.get("push") == N, events
    assert events.get("sequence-gap", 0) == 0, events


def test_tpm2net_send_into_serve(panelsim, tmp_path):
    ks = [0, 1, 2, 37]
    pngs = _pattern_pngs(tmp_path, ks)
    with harness.Serve(_serve_args("tpm2net"), tmp_path / "serve") as serve:
        for p in pngs:
            harness.run_panelsim(["send", "--protocol", "tpm2net", "--to", f"127.0.0.1:{serve.port('tpm2net')}",
                                  "--image", str(p), "--pixel", "gray", "--channels-per-universe", "512", "--frames", "1"])
            time.sleep(0.05)
        rec = _stop(serve, "tpm2net")
    assert [f["torn"] for f in rec.frames] == [False] * len(ks), rec.frames
    assert _pattern_ks(rec) == ks
    assert rec.meta["counters"]["packets"] == 2 * len(ks)  # 2048 bytes: 2 x 1024


def test_ddp_send_pcap_replay(panelsim, tmp_path):
    ks = [5, 6, 200]
    pngs = _pattern_pngs(tmp_path, ks)
    got = []  # one capture per image (send writes one image per run), each replayed
    for i, p in enumerate(pngs):
        cap = tmp_path / f"ddp-{i}.pcap"
        harness.run_panelsim(["send", "--protocol", "ddp", "--to", "127.0.0.1", "--image", str(p), "--pixel", "gray",
                              "--channels-per-universe", "512", "--frames", "2", "--pcap", str(cap)])
        config = tmp_path / f"replay-{i}.yaml"
        config.write_text(
            "controllers:\n"
            "  - name: wall\n"
            "    protocol: ddp\n"
            "    transport: { udp: 127.0.0.1:4048 }\n"
            f"    panel: {{ width: 512, height: {U}, pixel: gray }}\n"
            "    mapping: { channels-per-universe: 512 }\n")
        out = tmp_path / f"out-{i}"
        harness.run_panelsim(["replay", str(cap), "--config", str(config), "--out", str(out)])
        rec = harness.read_recording(out, "wall")
        assert [f["torn"] for f in rec.frames] == [False, False], rec.frames
        got += _pattern_ks(rec)
    assert got == [5, 5, 6, 6, 200, 200]


@pytest.mark.parametrize("protocol,port", [("ddp", 4048), ("tpm2net", 65506)])
def test_replay_without_config_shows_the_raw_channels(panelsim, tmp_path, protocol, port):
    """Without a config, a protocol without universes is shown as its channels in rows of 170
    RGB pixels: for a 170-pixel-wide panel that is the panel itself, so the frames equal those
    of a replay with the panel's config."""
    cap = tmp_path / "sent.pcap"
    harness.run_panelsim(["send", "--protocol", protocol, "--to", "127.0.0.1", "--pattern", "counter", "--size", "170x10",
                          "--frames", "4", "--fps", "20", "--pcap", str(cap)])
    config = tmp_path / "replay.yaml"
    config.write_text(f"controllers:\n  - name: wall\n    protocol: {protocol}\n    transport: {{ udp: 127.0.0.1:{port} }}\n"
                      "    panel: { width: 170, height: 10, pixel: rgb }\n")
    harness.run_panelsim(["replay", str(cap), "--config", str(config), "--out", str(tmp_path / "panel")])
    harness.run_panelsim(["replay", str(cap), "--out", str(tmp_path / "raw")])
    panel = harness.read_recording(tmp_path / "panel", "wall")
    raw = harness.read_recording(tmp_path / "raw", f"{protocol}-127.0.0.1-{port}")
    assert len(panel.written()) == 4 and len(raw.written()) == 4
    for a, b in zip(panel.written(), raw.written()):
        assert harness.read_png(panel.folder / a["file"]) == harness.read_png(raw.folder / b["file"])


def test_python_led_ddp_capture_replays_to_the_same_frames(panelsim, tmp_path):
    """python-led-ddp's traffic as `serve --pcap` captured it replays offline into the frames
    serve recorded, pixel for pixel."""
    pytest.importorskip("ddp")
    capture = tmp_path / "served.pcap"
    with harness.Serve(_serve_args("ddp", ["--pcap", str(capture)]), tmp_path / "live") as serve:
        harness.run_client("send_ddp.py", ["--host", "127.0.0.1", "--port", str(serve.port("ddp")),
                                           "--universes", str(U), "--frames", "8", "--fps", str(FPS)])
        live = _stop(serve, "ddp")
    config = tmp_path / "replay.yaml"
    config.write_text("controllers:\n  - name: wall\n    protocol: ddp\n    transport: { udp: 127.0.0.1:0 }\n"
                      f"    panel: {{ width: 512, height: {U}, pixel: gray }}\n    mapping: {{ channels-per-universe: 512 }}\n")
    out = tmp_path / "replay"
    harness.run_panelsim(["replay", str(capture), "--config", str(config), "--out", str(out)])
    replayed = harness.read_recording(out, "wall")
    assert len(replayed.written()) == len(live.written()) > 0
    for a, b in zip(live.written(), replayed.written()):
        assert harness.read_png(live.folder / a["file"]) == harness.read_png(replayed.folder / b["file"])
