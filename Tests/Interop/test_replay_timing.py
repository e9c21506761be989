"""Captures replayed with their original timing, the way field captures arrive: they start in
the middle of a sender's frame and carry the sender's pauses. The frames recorded must be the
sender's whole frames (after the partial first one, which is not torn: its missing universes
were never heard), for a sender without sync (Art-Net) and one with sync (sACN)."""

from __future__ import annotations

import time

import harness
import pattern
import wire

U = 4
FRAMES = 20
FPS = 30


def _capture(path, protocol: str, skip: int) -> None:
    """FRAMES frames at FPS, each frame's universes back to back, the first `skip` datagrams cut."""
    datagrams = []
    for k in range(FRAMES):
        t = k / FPS
        for u in range(U):
            data = pattern.universe_data(k, u)
            if protocol == "artnet":
                payload = wire.artdmx(u, data, sequence=(k % 255) + 1)
            else:
                payload = wire.e131_data(1 + u, data, sequence=k & 0xFF, sync_address=7000)
            datagrams.append(wire.Datagram(time=t + u * 0.0002, src="127.0.0.1", sport=40000, dst="127.0.0.1",
                                           dport=6454 if protocol == "artnet" else 5568, payload=payload))
        if protocol == "sacn":
            datagrams.append(wire.Datagram(time=t + U * 0.0002, src="127.0.0.1", sport=40000, dst="127.0.0.1",
                                           dport=5568, payload=wire.e131_sync(7000, sequence=k & 0xFF)))
    wire.write_pcap(path, datagrams[skip:])


def _replay(tmp_path, protocol: str, start: int):
    capture = tmp_path / f"{protocol}.pcap"
    _capture(capture, protocol, skip=2)
    args = ["--protocol", protocol, "--listen", "127.0.0.1:0", "--size", f"512x{U}", "--pixel", "gray",
            "--channels-per-universe", "512"]
    with harness.Serve(args, tmp_path / "serve") as serve:
        harness.run_client("replay_pcap.py", ["--pcap", str(capture), "--host", "127.0.0.1",
                                              "--port", str(serve.port(protocol))])
        time.sleep(0.3)
        assert serve.stop() == 0, serve.diagnostics()
    rec = harness.read_recording(serve.record, protocol)
    assert not [f for f in rec.frames if f["torn"]], [f for f in rec.frames if f["torn"]][:2]
    return rec


def test_artnet_capture_joined_mid_frame(panelsim, tmp_path):
    rec = _replay(tmp_path, "artnet", 0)
    first, rest = rec.frames[0], rec.frames[1:]
    assert first["universes"] == [2, 3], first
    ks = [pattern.identify_png(rec.folder / f["file"]) for f in rest]
    assert ks == list(range(1, FRAMES)), f"every later frame is one whole sender frame: {ks}"


def test_sacn_capture_with_sync_joined_mid_frame(panelsim, tmp_path):
    rec = _replay(tmp_path, "sacn", 1)
    ks = [pattern.identify_png(rec.folder / f["file"]) for f in rec.frames[1:]]
    assert ks == list(range(1, FRAMES)), f"every later frame is one whole sender frame: {ks}"
    assert all(f["sync"] for f in rec.frames[1:]), "released by the sync packets"
