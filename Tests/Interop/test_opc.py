"""Open Pixel Control over TCP against `panelsim serve --protocol opc`.

- opclib (a third-party OPC client) sends the known pattern: every set-pixels message
  is one recorded frame, equal to the pattern pixel for pixel, in order, none missing;
  its Fadecandy system-exclusive message is counted, and the connection too.
- `panelsim send --protocol opc` into serve, and the same send written as a TCP capture
  (`send --pcap`) replayed offline with a config: the same frames, pixel for pixel.

The pattern's universes are laid end to end as RGB bytes: U = 6 universes of 512
slots are 1024 RGB pixels, a 512x2 panel.
"""

from __future__ import annotations

import time

import harness
import pattern

U = 6
N = 20
FPS = 20
WIDTH = 512
ROWS = U * pattern.CHANNELS // (WIDTH * 3)


def _identify(png) -> int:
    rows = harness.read_rgb_png(png)
    stream = [v for r in rows for v in r]
    chunks = [stream[i:i + pattern.CHANNELS] for i in range(0, len(stream), pattern.CHANNELS)]
    return pattern.identify(chunks)


def _serve_args():
    return ["--protocol", "opc", "--listen", "127.0.0.1:0", "--size", f"{WIDTH}x{ROWS}", "--pixel", "rgb"]


def _stop(serve):
    time.sleep(0.3)
    code = serve.stop()
    assert code == 0, f"serve did not stop cleanly\n{serve.diagnostics()}"


def test_opclib_pattern(tmp_path):
    with harness.Serve(_serve_args(), tmp_path) as serve:
        assert serve.listening[0].transport == "tcp"
        harness.run_client("send_opc.py", ["--port", str(serve.port("opc")), "--universes", str(U),
                                           "--frames", str(N), "--fps", str(FPS)])
        _stop(serve)
        rec = harness.read_recording(serve.record, "opc")
    written = rec.written()
    assert len(rec.frames) == N, f"{len(rec.frames)} frames for {N} messages"
    ks = [_identify(rec.folder / f["file"]) for f in written]
    assert ks == list(range(N)), f"recorded frames are not the pattern 0..{N - 1}: {ks}"
    events = rec.meta["counters"]["events"]
    assert events.get("sysex-0001") == 1, events
    assert events.get("tcp-connections-opened") == 1 and events.get("tcp-connections-closed") == 1, events
    assert not rec.meta["counters"]["malformed"], rec.meta["counters"]


def _pixels(folder, frames):
    return [harness.read_rgb_png(folder / f["file"]) for f in frames if f.get("file")]


def test_panelsim_send_and_its_capture_replayed(tmp_path):
    send = ["send", "--protocol", "opc", "--pattern", "moving-bar", "--size", "16x8", "--frames", "12", "--fps", "50"]
    with harness.Serve(["--protocol", "opc", "--listen", "127.0.0.1:0", "--size", "16x8"], tmp_path / "live") as serve:
        harness.run_panelsim([*send, "--to", f"127.0.0.1:{serve.port('opc')}"])
        _stop(serve)
        live = harness.read_recording(serve.record, "opc")
    assert len(live.frames) == 12, live.frames
    capture = tmp_path / "opc.pcap"
    harness.run_panelsim([*send, "--to", "127.0.0.1:7890", "--pcap", str(capture)])
    config = tmp_path / "opc.yaml"
    config.write_text("controllers:\n  - name: opc\n    protocol: opc\n    transport: { tcp: 127.0.0.1:7890 }\n"
                      "    panel: { width: 16, height: 8, pixel: rgb }\n")
    out = tmp_path / "replay"
    harness.run_panelsim(["replay", str(capture), "--config", str(config), "--out", str(out)])
    replayed = harness.read_recording(out, "opc")
    assert _pixels(replayed.folder, replayed.frames) == _pixels(live.folder, live.frames)
    distinct = {str(p) for p in _pixels(live.folder, live.frames)}
    assert len(distinct) > 1, "the moving bar should move"


def test_send_refused_is_a_clear_error(tmp_path):
    r = harness.run_panelsim(["send", "--protocol", "opc", "--pattern", "bars", "--size", "4x4", "--to", "127.0.0.1:1"],
                             check=False)
    assert r.returncode == 3, r
    assert "cannot connect: connection refused" in r.stderr, r.stderr


def test_serve_pcap_writes_the_tcp_streams_replay_reads_back(tmp_path):
    """`serve --pcap` writes each OPC client's conversation as TCP segments: tshark follows
    the stream, and replaying the capture gives the frames serve recorded."""
    capture = tmp_path / "served.pcap"
    with harness.Serve([*_serve_args(), "--pcap", str(capture)], tmp_path / "live") as serve:
        harness.run_client("send_opc.py", ["--port", str(serve.port("opc")), "--universes", str(U),
                                           "--frames", "5", "--fps", str(FPS)])
        _stop(serve)
        live = harness.read_recording(serve.record, "opc")
    assert len(live.written()) == 5
    convs = harness.tshark_fields(capture, ["tcp.stream"], display_filter="tcp.flags.syn == 1 && tcp.flags.ack == 0")
    assert len(convs) == 1, convs
    config = tmp_path / "opc.yaml"
    config.write_text("controllers:\n  - name: opc\n    protocol: opc\n    transport: { tcp: 127.0.0.1:0 }\n"
                      f"    panel: {{ width: {WIDTH}, height: {ROWS}, pixel: rgb }}\n")
    out = tmp_path / "replay"
    harness.run_panelsim(["replay", str(capture), "--config", str(config), "--out", str(out)])
    replayed = harness.read_recording(out, "opc")
    assert _pixels(replayed.folder, replayed.frames) == _pixels(live.folder, live.frames)
    assert replayed.meta["counters"]["events"].get("sysex-0001") == 1, replayed.meta["counters"]
