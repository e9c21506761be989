"""Hostile traffic against `panelsim serve`:

- a flood: valid Art-Net frames (each closed by ArtSync, so a stall of the sender on a busy
  machine cannot split one) mixed with as many garbage datagrams, 100,000 datagrams/s in all,
  resent by `panelsim replay --live --pps`: no valid frame lost or torn, every garbage
  datagram counted as malformed;
- lying lengths and extreme fields for every UDP protocol, an OPC message announcing 65535
  bytes before its connection closes, NovaStar headers claiming more than any frame, then
  valid frames: each lie is a counted, typed rejection, the valid frames still arrive, and
  peak resident memory (VmHWM) stays under the documented cap of 64 MB plus four times the
  canvases' bytes.
"""

from __future__ import annotations

import random
import socket
import struct
import time
from pathlib import Path

import pytest

import harness
import pattern
import wire

pytestmark = pytest.mark.skipif(harness.panelsim_missing_reason() is not None,
                                reason=harness.panelsim_missing_reason() or "")

ROWS = 10  # 512×10 gray: ten universes a frame


def gray_panel(rows: int) -> list:
    return ["--size", f"512x{rows}", "--pixel", "gray", "--channels-per-universe", "512"]


def garbage(rng: random.Random) -> bytes:
    """Random bytes, sometimes starting like Art-Net so that the decoder looks further."""
    body = rng.randbytes(rng.randint(0, 600))
    kind = rng.randint(0, 3)
    if kind == 1:
        return b"Art-Net\x00" + body[:rng.randint(0, 20)]  # cut short
    if kind == 2:  # ArtDmx whose length field claims more than is there
        return wire.artdmx(rng.randint(0, 9), bytes(2))[:16] + struct.pack(">H", 512) + body[:rng.randint(0, 100)]
    return body


def send_stream(port: int, data: bytes) -> None:
    """One TCP connection: the bytes, then a close."""
    with socket.create_connection(("127.0.0.1", port), timeout=2) as c:
        c.sendall(data)


def novastar_read(address: int, length: int) -> bytes:
    body = struct.pack("<BBBBBBBBHBBIH", 0x55, 0xAA, 0, 1, 0xFE, 0, 1, 0, 0, 0, 0, address, length)
    return body + struct.pack("<H", (0x5555 + sum(body[2:])) & 0xFFFF)


def vmhwm_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM in /proc/PID/status")


def test_flood_of_garbage_loses_no_valid_frame(tmp_path: Path):
    rng = random.Random(11)
    frames = 2000
    datagrams = []
    garbage_count = 0
    for k in range(frames):
        valid = [wire.artdmx(u, pattern.universe_data(k % 256, u), sequence=(k % 255) + 1) for u in range(ROWS)]
        for p in valid + [wire.artsync()]:
            datagrams.append(wire.Datagram(len(datagrams) * 1e-5, "127.0.0.1", 40000, "127.0.0.1", 6454, p))
            datagrams.append(wire.Datagram(len(datagrams) * 1e-5, "127.0.0.1", 40000, "127.0.0.1", 6454, garbage(rng)))
            garbage_count += 1
    capture = tmp_path / "flood.pcap"
    wire.write_pcap(capture, datagrams)
    # A warm-up frame with its ArtSync first: from then on the node emits frames on the sync,
    # so the replayer stalling on a busy machine cannot split a frame of the flood.
    warm_up = tmp_path / "warm-up.pcap"
    wire.write_pcap(warm_up, [wire.Datagram(i * 1e-4, "127.0.0.1", 40000, "127.0.0.1", 6454, p)
                              for i, p in enumerate([wire.artdmx(u, bytes(512)) for u in range(ROWS)] + [wire.artsync()])])
    with harness.Serve(["--protocol", "artnet", "--listen", "127.0.0.1:0", *gray_panel(ROWS), "--quiet"], tmp_path) as serve:
        port = serve.port("artnet")
        harness.run_panelsim(["replay", str(warm_up), "--live", "--to", f"127.0.0.1:{port}"], timeout=60)
        time.sleep(0.3)
        r = harness.run_panelsim(["replay", str(capture), "--live", "--to", f"127.0.0.1:{port}", "--pps", "100000"], timeout=120)
        time.sleep(0.5)
        assert serve.stop() == 0, serve.diagnostics()
    rec = harness.read_recording(serve.record, "artnet")
    c = rec.meta["counters"]
    assert c.get("kernel-drops") in (0, None), f"the kernel dropped datagrams: {c.get('kernel-drops')} ({r.stderr[-500:]})"
    assert c["packets"] == len(datagrams) + ROWS + 1, (c["packets"], len(datagrams))
    assert c["torn"] == 0
    flood = rec.frames[-frames:]
    assert len(rec.frames) - frames <= 2, f"{len(rec.frames)} frames for 1 warm-up and {frames} flood frames"
    assert all(f["sync"] and f["universes"] == list(range(ROWS)) and not f["torn"] for f in flood), \
        [f for f in flood if not (f["sync"] and f["universes"] == list(range(ROWS)))][:3]
    # PNGs the recorder kept up with (the rest are counted as skipped: backlog) show their frame.
    shown = [(f, k) for f, k in zip(flood, range(frames)) if f.get("file")]
    assert shown and all(f.get("skipped") == "backlog" for f in flood if not f.get("file"))
    for f, k in shown[:5] + shown[-5:]:
        assert pattern.identify_png(rec.folder / f["file"]) == k % 256, f
    # Garbage is rejected as malformed, or (Art-Net's identifier with an opcode nobody defined) counted as unknown.
    counted = sum(c["malformed"].values()) + c["events"].get("unsupported.unknown-opcode", 0)
    assert counted == garbage_count, (c["malformed"], c["events"])
    assert c["events"]["artdmx"] == (frames + 1) * ROWS and c["events"]["artsync"] == frames + 1, c["events"]


def udp_hostile(rng: random.Random) -> list:
    """Lying lengths and fields at their extremes, for each UDP protocol (sent to each port)."""
    out = []
    for _ in range(200):
        out.append(garbage(rng))
    # Art-Net: universe 32767, length 0 and 0xFFFF, odd lengths, every opcode
    out += [wire.artdmx(32767, bytes(512)), wire.artdmx(0, b"")]
    out += [b"Art-Net\x00" + struct.pack("<H", op) + rng.randbytes(rng.randint(0, 40)) for op in range(0, 0x10000, 0x101)]
    # sACN: flags/length claiming far more than present, universe 0 and 65535, priority 255
    e = wire.e131_data(1, bytes(512))
    out += [e[:16] + b"\x7f\xff" + e[18:], e[:38] + b"\x7f\xff" + e[40:], wire.e131_data(65535, bytes(10)),
            wire.e131_data(0, bytes(10)), wire.e131_data(1, bytes(10), priority=255)]
    # DDP: offset 0xFFFFFFFF, length beyond the datagram, every flag
    out += [bytes([0x41, 0, 1, 1]) + struct.pack(">IH", 0xFFFFFFFF, 3) + b"abc",
            bytes([0x41, 0, 1, 1]) + struct.pack(">IH", 0, 0xFFFF) + b"abc",
            bytes([0xFF, 0xFF, 0xFF, 0xFF]) + struct.pack(">IH", 0xFFFFFFF0, 1440) + bytes(1440)]
    # TPM2.net: packet number beyond the count, size beyond the datagram
    out += [bytes([0x9C, 0xDA, 0xFF, 0xFF, 0xFF, 0x01]) + bytes(10) + b"\x36",
            bytes([0x9C, 0xDA, 0x00, 0x03, 0x00, 0x00]) + bytes(3) + b"\x36"]
    return out


def test_lying_lengths_leave_memory_under_the_cap(tmp_path: Path):
    rng = random.Random(5)
    width, rows = 512, ROWS
    # the canvases' bytes: four 512×rows gray panels, OPC 170×rows RGB, NovaStar 64×8 RGB
    canvas_bytes = 4 * width * rows + 170 * rows * 3 + 64 * 8 * 3
    config = tmp_path / "city.yaml"
    config.write_text(f"""controllers:
  - {{ name: artnet, protocol: artnet, transport: {{ udp: 127.0.0.1:0 }}, panel: {{ width: 512, height: {rows}, pixel: gray }},
      mapping: {{ channels-per-universe: 512 }} }}
  - {{ name: sacn, protocol: sacn, transport: {{ udp: 127.0.0.1:0 }}, panel: {{ width: 512, height: {rows}, pixel: gray }},
      mapping: {{ channels-per-universe: 512 }} }}
  - {{ name: ddp, protocol: ddp, transport: {{ udp: 127.0.0.1:0 }}, panel: {{ width: 512, height: {rows}, pixel: gray }} }}
  - {{ name: tpm2net, protocol: tpm2net, transport: {{ udp: 127.0.0.1:0 }}, panel: {{ width: 512, height: {rows}, pixel: gray }} }}
  - {{ name: opc, protocol: opc, transport: {{ tcp: 127.0.0.1:0 }}, panel: {{ width: 170, height: {rows}, pixel: rgb }} }}
  - {{ name: novastar, protocol: novastar, transport: {{ tcp: 127.0.0.1:0 }}, panel: {{ width: 64, height: 8, pixel: rgb }},
      options: {{ discovery: off, one-client: "false" }} }}
""")
    hostile = udp_hostile(rng)
    with harness.Serve(["--config", str(config), "--quiet"], tmp_path) as serve, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        ports = {l.controller: l.port for l in serve.listening if l.transport == "udp"}
        streams = {l.controller: l.port for l in serve.listening if l.transport == "tcp"}
        for _ in range(20):
            for p in hostile:
                for port in ports.values():
                    s.sendto(p, ("127.0.0.1", port))
            time.sleep(0.01)
        for _ in range(30):
            # OPC: a message announcing 65535 bytes, then the connection closes; one for a channel
            # nobody serves; a system-exclusive message with no system id.
            send_stream(streams["opc"], bytes([0, 0, 0xFF, 0xFF]) + rng.randbytes(1000))
            send_stream(streams["opc"], bytes([9, 0, 0, 3, 1, 2, 3]) + bytes([0, 0xFF, 0, 1, 7]))
            # NovaStar: garbage, a header claiming more data than any frame, a read of 65535 bytes.
            send_stream(streams["novastar"], rng.randbytes(300) + bytes([0x55, 0xAA]) + bytes(8) + b"\x01\x00"
                        + bytes(4) + b"\xff\xff" + rng.randbytes(50)
                        + novastar_read(0x0200_0001, 0xFFFF))
        for k in range(3):  # then valid Art-Net frames: they still arrive whole
            for u in range(rows):
                s.sendto(wire.artdmx(u, pattern.universe_data(k, u)), ("127.0.0.1", ports["artnet"]))
            time.sleep(0.05)
        time.sleep(0.5)
        peak = vmhwm_kib(serve.proc.pid)
        assert serve.stop() == 0, serve.diagnostics()
    cap_kib = 64 * 1024 + 4 * canvas_bytes // 1024  # 64 MB + 4 × the canvases' bytes (README)
    assert peak < cap_kib, f"peak resident memory {peak} KiB over the cap {cap_kib} KiB"
    # Each lie is a counted, typed rejection: the OPC message cut short by the close and the
    # NovaStar header claiming too much are malformed (length past end), the 65535-byte read is
    # answered ACK 4 (invalid command); the short OPC messages still drew (channel 0 takes all).
    opc = harness.read_recording(serve.record, "opc").meta["counters"]
    assert opc["malformed"] == {"length-past-end": 30} and opc["frames"] == 30, opc
    assert opc["events"]["short-messages"] == 30 and opc["events"]["sysex-without-system-id"] == 30, opc
    nova = harness.read_recording(serve.record, "novastar").meta["counters"]
    assert nova["malformed"] == {"length-past-end": 30} and nova["events"]["ack-4"] == 30, nova
    rec = harness.read_recording(serve.record, "artnet")
    last = [pattern.identify_png(rec.folder / f["file"]) for f in rec.written()[-3:]]
    assert last == [0, 1, 2], (last, serve.diagnostics())
    assert sum(rec.meta["counters"]["malformed"].values()) > 0
