"""Replay judged by outsiders: tshark's reading of a damaged capture (packets dropped and
duplicated) against PanelSim's per-stream universes and sequence numbers, and a capture written
by `serve --pcap` replayed back to the very frames serve recorded, pixel for pixel."""

from __future__ import annotations

import json
import socket
import struct
import subprocess
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Dict, List

import pytest

import harness

I = harness.to_int


def _records(pcap: Path):
    """(header bytes, record bytes) of a classic little-endian pcap."""
    data = pcap.read_bytes()
    assert struct.unpack_from("<I", data, 0)[0] in (0xA1B2C3D4, 0xA1B23C4D), "not a little-endian pcap"
    head, pos, out = data[:24], 24, []
    while pos + 16 <= len(data):
        incl = struct.unpack_from("<I", data, pos + 8)[0]
        out.append(data[pos:pos + 16 + incl])
        pos += 16 + incl
    return head, out


def _damage(src: Path, dst: Path, drop: set, duplicate: set) -> None:
    head, records = _records(src)
    kept = []
    for n, r in enumerate(records, 1):
        if n in drop:
            continue
        kept.append(r)
        if n in duplicate:
            kept.append(r)
    dst.write_bytes(head + b"".join(kept))


def _expected(per_universe: Dict[int, List[int]], modulus: int):
    """Per universe: packets, missing (sum of forward gaps) and duplicates, from tshark's numbers."""
    out = {}
    for u, seqs in per_universe.items():
        missing = dups = 0
        for a, b in zip(seqs, seqs[1:]):
            if a == b:
                dups += 1
                continue
            d = (b - a) % modulus
            missing += d - 1
        out[u] = {"packets": len(seqs), "missing": missing, "duplicates": dups, "first": seqs[0], "last": seqs[-1]}
    return out


def _tshark_sequences(pcap: Path, protocol: str):
    per = defaultdict(list)
    if protocol == "artnet":
        rows = harness.tshark_fields(pcap, ["artnet.output.universe", "artnet.output.sequence"], display_filter="artnet.header.opcode == 0x5000")
        for r in rows:
            per[I(r["artnet.output.universe"])].append(I(r["artnet.output.sequence"]))
    else:
        rows = harness.tshark_fields(pcap, ["acn.dmx.universe", "acn.dmx.seq_number"], harness.TSHARK_SACN, display_filter="acn.dmx.universe")
        for r in rows:
            per[I(r["acn.dmx.universe"])].append(I(r["acn.dmx.seq_number"]))
    # Both count upwards without wrapping within these few frames (Art-Net from 1, sACN from 0).
    return _expected(per, 256)


def _artnet_config(tmp_path: Path, height: int) -> Path:
    """A replay config with one Art-Net controller named artnet, 170 pixels wide, any port."""
    config = tmp_path / "replay.yaml"
    config.write_text("controllers:\n  - name: artnet\n    protocol: artnet\n    transport: { udp: 127.0.0.1:0 }\n"
                      f"    panel: {{ width: 170, height: {height}, pixel: rgb }}\n")
    return config


def _streams(report) -> Dict[int, dict]:
    return {s["universe"]: s for s in report["streams"]}


@pytest.mark.parametrize("protocol", ["artnet", "sacn"])
def test_tshark_agrees_on_universes_and_sequences(panelsim, tshark, tmp_path, protocol):
    clean = tmp_path / "clean.pcap"
    harness.run_panelsim(["send", "--protocol", protocol, "--to", "10.1.2.3", "--pattern", "moving-bar", "--size", "170x4",
                          "--frames", "40", "--fps", "40", "--pcap", str(clean)])
    damaged = tmp_path / "damaged.pcap"
    # Universe 2 loses three frames in a row (records 6, 10, 14); two more single losses.
    _damage(clean, damaged, drop={6, 10, 14, 50, 101}, duplicate={20, 77})
    before, expected = _tshark_sequences(clean, protocol), _tshark_sequences(damaged, protocol)
    assert len(expected) == 4, expected
    assert sum(e["packets"] for e in expected.values()) == sum(e["packets"] for e in before.values()) - 5 + 2
    assert expected[min(expected) + 1]["missing"] >= 3

    out = tmp_path / "out"
    harness.run_panelsim(["replay", str(damaged), "--out", str(out), "--no-png"])
    report = json.loads((out / "report.json").read_text())
    got = _streams(report)
    assert set(got) == set(expected), (sorted(got), sorted(expected))
    for u, e in expected.items():
        s = got[u]["sequence"]
        assert (got[u]["packets"], s["missing"], s["duplicates"], s["first"], s["last"]) == \
               (e["packets"], e["missing"], e["duplicates"], e["first"], e["last"]), (u, got[u], e)
    assert any("(largest: 3 in a row)" in f for f in report["findings"]), report["findings"]


def test_serve_pcap_replays_to_the_same_frames(panelsim, tmp_path):
    work = tmp_path / "serve"
    capture = tmp_path / "session.pcap"
    size = "170x6"
    args = ["--protocol", "artnet", "--listen", "127.0.0.1:0", "--size", size, "--pcap", str(capture)]
    with harness.Serve(args, work) as serve:
        harness.run_panelsim(["send", "--protocol", "artnet", "--to", f"127.0.0.1:{serve.port('artnet')}",
                              "--pattern", "counter", "--size", size, "--frames", "12", "--fps", "30"])
        time.sleep(0.3)
        assert serve.stop() == 0, serve.diagnostics()
    served = harness.read_recording(work / "record", "artnet")
    assert len(served.written()) == 12

    config = _artnet_config(tmp_path, height=6)
    out = tmp_path / "replay"
    harness.run_panelsim(["replay", str(capture), "--config", str(config), "--out", str(out)])
    replayed = harness.read_recording(out, "artnet")
    assert len(replayed.written()) == len(served.written())
    for a, b in zip(served.written(), replayed.written()):
        assert a["universes"] == b["universes"]
        assert harness.read_png(served.folder / a["file"]) == harness.read_png(replayed.folder / b["file"]), a["file"]


def test_live_replay_into_serve_reproduces_the_frames(panelsim, tmp_path):
    size = "170x6"
    capture = tmp_path / "sent.pcap"
    harness.run_panelsim(["send", "--protocol", "artnet", "--to", "10.9.9.9", "--pattern", "counter", "--size", size,
                          "--frames", "30", "--fps", "40", "--sync", "--pcap", str(capture)])
    # Offline: what the capture shows.
    config = _artnet_config(tmp_path, height=6)
    offline = tmp_path / "offline"
    harness.run_panelsim(["replay", str(capture), "--config", str(config), "--out", str(offline)])
    expected = harness.read_recording(offline, "artnet")
    assert len(expected.written()) == 30
    streams = json.loads((offline / "report.json").read_text())["streams"]
    assert len(streams) == 6 and all(s["sync"]["sender-sends-sync"] for s in streams), streams
    # Live: the same capture into serve, with its timing.
    work = tmp_path / "serve"
    with harness.Serve(["--protocol", "artnet", "--listen", "127.0.0.1:0", "--size", size], work) as serve:
        r = harness.run_panelsim(["replay", str(capture), "--live", "--to", f"127.0.0.1:{serve.port('artnet')}",
                                  "--json", str(tmp_path / "live.json")])
        time.sleep(0.3)
        assert serve.stop() == 0, serve.diagnostics()
    live = json.loads((tmp_path / "live.json").read_text())
    assert live["datagrams"] == 30 * 7, live  # 6 universes and an ArtSync per frame
    served = harness.read_recording(work / "record", "artnet")
    assert len(served.written()) == len(expected.written()), r.stderr
    for a, b in zip(expected.written(), served.written()):
        assert harness.read_png(offline / "artnet" / a["file"]) == harness.read_png(served.folder / b["file"]), a["file"]
        assert b["sync"] == a["sync"], (a, b)


def test_live_replay_resends_a_captured_tcp_stream(panelsim, tshark, tmp_path):
    """The client side of the NovaStar TCP capture, reassembled and resent as a live client, is
    byte for byte what tshark's "Follow TCP stream" shows that client sending."""
    capture = harness.REPO_ROOT.parent / "shared" / "captures" / "public" / "novastar" / "DERIVED_baoerman_nova_frames_tcp5200.pcap"
    if not capture.is_file():
        pytest.skip(f"public capture {capture} not found")
    follow = subprocess.run(["tshark", "-n", "-r", str(capture), "-q", "-z", "follow,tcp,raw,0"],
                            capture_output=True, text=True, timeout=60, check=True).stdout
    lines = follow.split("=" * 67)[-2].splitlines()
    client_sent = bytes.fromhex("".join(l.strip() for l in lines if l and not l.startswith(("\t", "Follow", "Filter", "Node"))))
    assert len(client_sent) > 100

    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(30)
    received = bytearray()

    def serve():
        conn, _ = server.accept()
        with conn:
            conn.settimeout(30)
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                received.extend(chunk)

    t = threading.Thread(target=serve)
    t.start()
    r = harness.run_panelsim(["replay", str(capture), "--live", "--to", f"127.0.0.1:{server.getsockname()[1]}", "--topspeed",
                              "--json", str(tmp_path / "live.json")])
    t.join(30)
    server.close()
    assert bytes(received) == client_sent, (len(received), len(client_sent), r.stderr)
    sent = json.loads((tmp_path / "live.json").read_text())
    assert sent["tcp-connections"] == 1 and sent["tcp-bytes"] == len(client_sent), sent

