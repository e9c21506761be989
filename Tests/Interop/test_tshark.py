"""tshark as the oracle for `panelsim send --pcap`.

Field names verified on Debian 12's tshark 4.0 (`tshark -G fields`):
- Art-Net (dissected by default on UDP 6454, `-d udp.port==P,artnet` elsewhere):
  artnet.header.opcode (printed 0x5000 / 0x5200), artnet.output.sequence,
  artnet.output.universe (the 15-bit Port-Address), artnet.output.length;
  ArtSync has no fields of its own: opcode 0x5200, UDP length 22 (14-byte payload).
- sACN data (`--enable-heuristic acn -o acn.dmx_enable:TRUE`, any port):
  acn.dmx.universe, acn.dmx.priority, acn.dmx.seq_number, acn.dmx.count (property
  value count = 1 + slots), acn.dmx.start_code2 (the START code byte),
  acn.dmx.reserved (4.0's name for the synchronization address), acn.dmx.options,
  acn.dmx.source_name, acn.cid.  4.0 does not decode the E1.31 sync packet (its
  frame.protocols ends in "udp:data"), so sync packets are checked with wire.py.

The first tests feed tshark reference packets built by wire.py (checked byte for
byte against the sacn and stupidartnet libraries) so the tshark commands themselves
are known good before they judge PanelSim.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Dict, List

import pytest

import harness
import pattern
import wire

ARTNET_FIELDS = ["frame.protocols", "ip.dst", "udp.dstport", "udp.length", "artnet.header.opcode",
                 "artnet.output.sequence", "artnet.output.universe", "artnet.output.length"]
SACN_FIELDS = ["frame.protocols", "ip.dst", "udp.dstport", "udp.length", "acn.dmx.universe",
               "acn.dmx.priority", "acn.dmx.seq_number", "acn.dmx.count", "acn.dmx.start_code2",
               "acn.dmx.reserved", "acn.dmx.options", "acn.dmx.source_name", "acn.cid"]


def artnet_rows(pcap: Path, port: int) -> List[Dict[str, str]]:
    return harness.tshark_fields(pcap, ARTNET_FIELDS, ["-d", f"udp.port=={port},artnet"])


def sacn_rows(pcap: Path) -> List[Dict[str, str]]:
    return harness.tshark_fields(pcap, SACN_FIELDS, harness.TSHARK_SACN)


I = harness.to_int


def assert_sequences(per_universe: Dict[int, List[int]], allow_zero: bool = False) -> None:
    """Each universe's sequence advances by 1..127 (mod 256) from frame to frame."""
    for uni, seqs in per_universe.items():
        if allow_zero and all(s == 0 for s in seqs):
            continue
        for a, b in zip(seqs, seqs[1:]):
            assert 0 < (b - a) % 256 < 128, f"universe {uni}: sequence {a} then {b} ({seqs})"


def check_artnet(rows, port, universes: List[int], frames: int, length: int, sync: bool,
                 host: str = "127.0.0.1", art_sequence_nonzero: bool = True) -> None:
    per_frame = len(universes) + (1 if sync else 0)
    assert len(rows) == frames * per_frame, \
        f"{len(rows)} packets, expected {frames} x {per_frame}: {[r['artnet.header.opcode'] for r in rows]}"
    seqs: Dict[int, List[int]] = {u: [] for u in universes}
    for f in range(frames):
        group = rows[f * per_frame:(f + 1) * per_frame]
        dmx = group[:len(universes)]
        for r in group:
            assert r["frame.protocols"].startswith("eth:ethertype:ip:udp:artnet"), r
            assert r["ip.dst"] == host and I(r["udp.dstport"]) == port, r
        for r in dmx:
            assert I(r["artnet.header.opcode"]) == wire.OP_DMX, f"frame {f}: expected ArtDmx, got {r}"
            assert I(r["artnet.output.length"]) == length, r
            assert I(r["udp.length"]) == 8 + 18 + length, r
            seq = I(r["artnet.output.sequence"])
            if art_sequence_nonzero:
                assert 1 <= seq <= 255, f"ArtDmx sequence {seq}: expected 1..255 (0 = disabled)"
            seqs[I(r["artnet.output.universe"])].append(seq)
        got = sorted(I(r["artnet.output.universe"]) for r in dmx)
        assert got == sorted(universes), f"frame {f}: universes {got}, expected {universes}"
        if sync:
            s = group[-1]
            assert I(s["artnet.header.opcode"]) == wire.OP_SYNC, f"frame {f}: expected ArtSync last, got {s}"
            assert I(s["udp.length"]) == 8 + 14, s
    assert_sequences(seqs, allow_zero=not art_sequence_nonzero)


def check_sacn(rows, datagrams, port, universes, frames, slots, sync: bool,
               host: str = "127.0.0.1", terminates: bool = True) -> None:
    """rows: tshark rows of every packet; datagrams: the same packets via wire.read_pcap.

    A source ends its stream with three stream-terminated packets per universe (E1.31 6.2.6):
    they must come last, carry options 0x40, and are then set aside."""
    assert len(rows) == len(datagrams)
    terminated = [r for r in rows if r["acn.dmx.options"] and I(r["acn.dmx.options"]) & 0x40]
    assert len(terminated) == (3 * len(universes) if terminates else 0), \
        f"{len(terminated)} stream-terminated packets, expected 3 per universe"
    assert not terminated or rows[-len(terminated):] == terminated, "stream-terminated packets must end the stream"
    for u in universes if terminates else []:
        assert sum(1 for r in terminated if I(r["acn.dmx.universe"]) == u) == 3, f"universe {u}: not terminated 3 times"
    if terminated:
        rows, datagrams = rows[:-len(terminated)], datagrams[:-len(terminated)]
    per_frame = len(universes) + (1 if sync else 0)
    assert len(rows) == frames * per_frame, \
        f"{len(rows)} packets, expected {frames} x {per_frame}: {[r['frame.protocols'] for r in rows]}"
    seqs: Dict[int, List[int]] = {u: [] for u in universes}
    sync_seqs = []
    sync_address = None
    cids = set()
    for f in range(frames):
        group = list(zip(rows, datagrams))[f * per_frame:(f + 1) * per_frame]
        for r, d in group[:len(universes)]:
            assert r["frame.protocols"].startswith("eth:ethertype:ip:udp:acn"), r
            assert r["ip.dst"] == host and I(r["udp.dstport"]) == port, r
            assert I(r["acn.dmx.priority"]) == 100, f"priority {r['acn.dmx.priority']} (default is 100)"
            assert I(r["acn.dmx.count"]) == slots + 1, r
            assert I(r["acn.dmx.start_code2"]) == 0, r
            assert I(r["acn.dmx.options"]) == 0, r
            assert I(r["udp.length"]) == 8 + 126 + slots, r
            assert r["acn.dmx.source_name"], "empty source name"
            cids.add(r["acn.cid"])
            addr = I(r["acn.dmx.reserved"])
            if sync:
                assert addr > 0, f"--sync: data packets must carry a synchronization address: {r}"
                sync_address = addr if sync_address is None else sync_address
                assert addr == sync_address, "synchronization address changed"
            else:
                assert addr == 0, f"no --sync, yet synchronization address {addr}"
            seqs[I(r["acn.dmx.universe"])].append(I(r["acn.dmx.seq_number"]))
        got = sorted(I(r["acn.dmx.universe"]) for r, _ in group[:len(universes)])
        assert got == sorted(universes), f"frame {f}: universes {got}, expected {universes}"
        if sync:
            r, d = group[-1]
            p = wire.parse_e131(d.payload)
            assert p is not None and p.kind == "sync", f"frame {f}: expected an E1.31 sync packet last, got {r}"
            assert len(d.payload) == 49, len(d.payload)
            assert p.sync_address == sync_address, (p.sync_address, sync_address)
            assert d.dport == port, d
            sync_seqs.append(p.sequence)
    assert len(cids) == 1, f"one sender, one CID: {cids}"
    assert_sequences(seqs)
    if sync:
        assert_sequences({"sync": sync_seqs})


def payloads(pcap: Path):
    return list(wire.read_pcap(pcap))


# ---------------------------------------------------------------- the oracle, checked

def test_reference_artnet_through_tshark(tshark, tmp_path):
    port = 46455
    ds, t = [], 1.0
    for k in range(3):
        for u in range(2):
            ds.append(wire.Datagram(t, "127.0.0.1", 40000, "127.0.0.1", port,
                                    wire.artdmx(300 + u, pattern.universe_data(k, u)[:510], sequence=k + 1)))
        ds.append(wire.Datagram(t, "127.0.0.1", 40000, "127.0.0.1", port, wire.artsync()))
        t += 0.05
    pcap = tmp_path / "ref.pcap"
    wire.write_pcap(pcap, ds)
    check_artnet(artnet_rows(pcap, port), port, [300, 301], 3, 510, sync=True)
    # and the default port needs no -d
    pcap2 = tmp_path / "ref6454.pcap"
    wire.write_pcap(pcap2, [wire.Datagram(1.0, "127.0.0.1", 40000, "127.0.0.1", 6454, ds[0].payload)])
    rows = harness.tshark_fields(pcap2, ARTNET_FIELDS)
    assert I(rows[0]["artnet.output.universe"]) == 300 and I(rows[0]["artnet.header.opcode"]) == 0x5000


def test_reference_sacn_through_tshark(tshark, tmp_path):
    port = 5568
    ds, t = [], 1.0
    for k in range(3):
        for u in range(4):
            ds.append(wire.Datagram(t, "127.0.0.1", 40000, "127.0.0.1", port,
                                    wire.e131_data(1 + u, pattern.universe_data(k, u), sequence=k,
                                                   sync_address=63999)))
        ds.append(wire.Datagram(t, "127.0.0.1", 40000, "127.0.0.1", port, wire.e131_sync(63999, k)))
        t += 0.05
    pcap = tmp_path / "ref.pcap"
    wire.write_pcap(pcap, ds)
    check_sacn(sacn_rows(pcap), payloads(pcap), port, [1, 2, 3, 4], 3, 512, sync=True, terminates=False)


# ---------------------------------------------------------------- panelsim send --pcap

def _pattern_png(path: Path, k: int, rows: int) -> None:
    harness.write_png(path, 512, rows, pattern.frame_rows(k, rows), rgb=False)


def _random_rgb_png(path: Path, w: int, h: int, seed: int) -> List[List[int]]:
    rnd = random.Random(seed)
    rows = [[rnd.randrange(256) for _ in range(3 * w)] for _ in range(h)]
    harness.write_png(path, w, h, rows, rgb=True)
    return rows


def _send(tmp_path: Path, protocol: str, port: int, args: List[str]) -> Path:
    pcap = tmp_path / f"{protocol}-{port}.pcap"
    harness.run_panelsim(["send", "--protocol", protocol, "--to", f"127.0.0.1:{port}",
                          *args, "--pcap", str(pcap)])
    assert pcap.is_file() and pcap.stat().st_size > 24, f"no packets in {pcap}"
    return pcap


@pytest.mark.parametrize("sync", [False, True], ids=["nosync", "sync"])
def test_send_artnet_gray_512x4(panelsim, tshark, tmp_path, sync):
    png_path = tmp_path / "k5.png"
    _pattern_png(png_path, 5, 4)
    port = 6454
    pcap = _send(tmp_path, "artnet", port,
                 ["--image", str(png_path), "--size", "512x4", "--pixel", "gray",
                  "--channels-per-universe", "512", "--fps", "40", "--frames", "3",
                  *(["--sync"] if sync else [])])
    check_artnet(artnet_rows(pcap, port), port, [0, 1, 2, 3], 3, 512, sync)
    for d in payloads(pcap):
        p = wire.parse_artnet(d.payload)
        if p.opcode == wire.OP_DMX:
            assert p.data == pattern.universe_data(5, p.universe), f"universe {p.universe}: wrong slots"


def test_send_artnet_rgb_170x2_510(panelsim, tshark, tmp_path):
    png_path = tmp_path / "rgb.png"
    rows = _random_rgb_png(png_path, 170, 2, seed=1)
    port = 46455
    pcap = _send(tmp_path, "artnet", port,
                 ["--image", str(png_path), "--size", "170x2", "--pixel", "rgb",
                  "--channels-per-universe", "510", "--start-universe", "16",
                  "--fps", "40", "--frames", "3"])
    check_artnet(artnet_rows(pcap, port), port, [16, 17], 3, 510, sync=False)
    for d in payloads(pcap):
        p = wire.parse_artnet(d.payload)
        assert p.data == bytes(rows[p.universe - 16]), f"universe {p.universe}: slots differ from row"


@pytest.mark.parametrize("sync", [False, True], ids=["nosync", "sync"])
def test_send_sacn_gray_512x4(panelsim, tshark, tmp_path, sync):
    png_path = tmp_path / "k9.png"
    _pattern_png(png_path, 9, 4)
    port = 5568
    pcap = _send(tmp_path, "sacn", port,
                 ["--image", str(png_path), "--size", "512x4", "--pixel", "gray",
                  "--channels-per-universe", "512", "--fps", "40", "--frames", "3",
                  *(["--sync"] if sync else [])])
    check_sacn(sacn_rows(pcap), payloads(pcap), port, [1, 2, 3, 4], 3, 512, sync)
    for d in payloads(pcap):
        p = wire.parse_e131(d.payload)
        if p.kind == "data":
            assert p.data == pattern.universe_data(9, p.universe - 1), f"universe {p.universe}: wrong slots"


def test_send_sacn_rgb_170x2_510(panelsim, tshark, tmp_path):
    png_path = tmp_path / "rgb.png"
    rows = _random_rgb_png(png_path, 170, 2, seed=2)
    port = 45568
    pcap = _send(tmp_path, "sacn", port,
                 ["--image", str(png_path), "--size", "170x2", "--pixel", "rgb",
                  "--channels-per-universe", "510", "--fps", "40", "--frames", "3"])
    check_sacn(sacn_rows(pcap), payloads(pcap), port, [1, 2], 3, 510, sync=False)
    for d in payloads(pcap):
        p = wire.parse_e131(d.payload)
        assert p.data == bytes(rows[p.universe - 1]), f"universe {p.universe}: slots differ from row"


@pytest.mark.parametrize("name", ["bars", "gradient", "checkerboard", "moving-bar", "counter"])
@pytest.mark.parametrize("protocol", ["artnet", "sacn"])
def test_send_patterns(panelsim, tshark, tmp_path, protocol, name):
    port = 6454 if protocol == "artnet" else 5568
    pcap = _send(tmp_path, protocol, port,
                 ["--pattern", name, "--size", "170x2", "--pixel", "rgb",
                  "--channels-per-universe", "510", "--fps", "40", "--frames", "2"])
    if protocol == "artnet":
        check_artnet(artnet_rows(pcap, port), port, [0, 1], 2, 510, sync=False)
    else:
        check_sacn(sacn_rows(pcap), payloads(pcap), port, [1, 2], 2, 510, sync=False)
