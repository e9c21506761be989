"""NovaStar sending card against a client written here from the wire facts (PROTOCOLS.md),
over the pseudo-terminal `serve` makes (pyserial at 115200 8N1) and over TCP:

- global brightness 0x80 on every receiving card (port 0xFF, card 0xFFFF), read back from
  each card, ACK 0; a corrupted checksum gets ACK 2;
- over TCP a second client is reset while the first holds the card;
- a control sequence (brightness ramp, test pattern, blackout, input switching) with
  malformed frames mixed in (garbage, a bad checksum, a length beyond any frame, a request
  for an absent card) gets well-formed replies with the right ACK codes, reads return what
  was written, and the recorded frames show what was asked;
- discovery on UDP: "rqProMI:" is answered "rpProMI:".

The frames are built and checked here, independently of PanelSim's codec.
"""

from __future__ import annotations

import socket
import struct
import time
from pathlib import Path

import pytest
import serial

import harness

pytestmark = pytest.mark.skipif(harness.panelsim_missing_reason() is not None,
                                reason=harness.panelsim_missing_reason() or "")

SENDING, RECEIVING = 0, 1
BRIGHTNESS, KILL, TEST_PATTERN = 0x02000001, 0x02000100, 0x02000101
INPUT_SELECT = 0x02000023
# The bundled baoerman profile: port 0 with one receiving card, port 1 with two.
CARDS = [(0, 0), (1, 0), (1, 1)]
PANEL = ["--size", "24x4"]


def checksum(body: bytes) -> int:
    """(0x5555 + sum of bytes 2 … n-3) & 0xFFFF, over the frame without its checksum."""
    return (0x5555 + sum(body[2:])) & 0xFFFF


def request(serial_no: int, device_type: int, address: int, *, write: bytes | None = None, length: int = 1,
            port: int = 0, card: int = 0, destination: int = 0) -> bytes:
    data = write or b""
    body = struct.pack("<BBBBBBBBHBBIH", 0x55, 0xAA, 0, serial_no, 0xFE, destination, device_type, port, card,
                       1 if write is not None else 0, 0, address, len(data) if write is not None else length) + data
    return body + struct.pack("<H", checksum(body))


class Reply:
    def __init__(self, raw: bytes):
        (self.start, self.ack, self.serial, self.source, self.destination, self.device_type, self.port, self.card,
         self.operation, self.reserved, self.address, self.length) = struct.unpack("<HBBBBBBHBBIH", raw[:18])
        self.data = raw[18:-2]
        self.checksum_ok = struct.unpack("<H", raw[-2:])[0] == checksum(raw[:-2])
        self.raw = raw


class Stream:
    """Reads reply frames from a byte stream (`read(n)` returns what is there, b"" if nothing)."""

    def __init__(self, read):
        self.read = read
        self.buffer = b""

    def reply(self, timeout: float = 2.0) -> Reply:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            start = self.buffer.find(b"\xaa\x55")
            if start >= 0 and len(self.buffer) >= start + 18:
                length = struct.unpack("<H", self.buffer[start + 16:start + 18])[0]
                end = start + 20 + length
                if len(self.buffer) >= end:
                    raw, self.buffer = self.buffer[start:end], self.buffer[end:]
                    assert start == 0, f"bytes before a reply: {self.buffer[:start].hex()}"
                    return Reply(raw)
            self.buffer += self.read(4096)
        raise AssertionError(f"no reply within {timeout} s (have {self.buffer.hex()})")


def check_ok(stream: Stream, write, serial_no: int, frame: bytes, data: bytes | None = None) -> Reply:
    write(frame)
    r = stream.reply()
    assert r.checksum_ok, r.raw.hex()
    assert (r.start, r.serial, r.ack) == (0x55AA, serial_no, 0), r.raw.hex()  # AA 55 read little-endian
    assert r.source == 0 and r.destination == 0xFE
    if data is not None:
        assert r.data == data and r.length == len(data), r.raw.hex()
    else:
        assert r.length == 0 and r.data == b"", r.raw.hex()
    return r


def brightness_every_card(stream: Stream, write):
    """Broadcast brightness 0x80, read it back from every card; a corrupted checksum gets ACK 2."""
    check_ok(stream, write, 1, request(1, RECEIVING, BRIGHTNESS, write=b"\x80", port=0xFF, card=0xFFFF))
    for i, (port, card) in enumerate(CARDS):
        check_ok(stream, write, 2 + i, request(2 + i, RECEIVING, BRIGHTNESS, port=port, card=card), data=b"\x80")
    bad = bytearray(request(9, RECEIVING, BRIGHTNESS, write=b"\x10", port=0xFF, card=0xFFFF))
    bad[-1] ^= 0x5A
    write(bytes(bad))
    r = stream.reply()
    assert (r.serial, r.ack, r.length) == (9, 2, 0) and r.checksum_ok, r.raw.hex()
    check_ok(stream, write, 10, request(10, RECEIVING, BRIGHTNESS, port=1, card=1), data=b"\x80")


# The control sequence: (what it sets, the request). Each valid write is one new frame.
SEQUENCE = [
    ("brightness", 0x40), ("brightness", 0x80), ("brightness", 0xC0), ("brightness", 0x80),
    ("test-pattern", 2), ("test-pattern", 0), ("kill", 0xFF), ("kill", 0), ("input", 0x58), ("input", 0x05),
]


def control_sequence(stream: Stream, write):
    """Runs SEQUENCE with malformed frames mixed in; returns nothing, asserts every reply."""
    registers = {"brightness": (RECEIVING, BRIGHTNESS), "test-pattern": (RECEIVING, TEST_PATTERN),
                 "kill": (RECEIVING, KILL), "input": (SENDING, INPUT_SELECT)}
    serial_no = 0
    for i, (what, value) in enumerate(SEQUENCE):
        serial_no += 1
        device_type, address = registers[what]
        everywhere = dict(port=0xFF, card=0xFFFF) if device_type == RECEIVING else {}
        frame = request(serial_no, device_type, address, write=bytes([value]), **everywhere)
        if i == 1:
            write(b"\x00\x13garbage\x55")  # skipped by the card's framer (a lone 55 resynchronises)
        if i == 2:
            bad = bytearray(frame)
            bad[-2] ^= 0xFF
            write(bytes(bad))
            r = stream.reply()
            assert (r.serial, r.ack) == (serial_no, 2), r.raw.hex()
        if i == 3:
            # A header claiming 5000 data bytes: no frame is that long; the card resynchronises.
            write(request(0x77, RECEIVING, BRIGHTNESS, write=b"\x00")[:16] + struct.pack("<H", 5000))
        if i == 4:
            r = None
            write(request(0x78, RECEIVING, BRIGHTNESS, port=7, card=0, length=4))
            r = stream.reply()
            assert (r.serial, r.ack, r.length) == (0x78, 1, 4), r.raw.hex()  # absent card: ACK 1, the length asked
        check_ok(stream, write, serial_no, frame)
        serial_no += 1
        check_ok(stream, write, serial_no, request(serial_no, device_type, address, port=1, card=1)
                 if device_type == RECEIVING else request(serial_no, device_type, address), data=bytes([value]))


def expected_extras():
    """frames.jsonl extras after control_sequence: the first request shows the start, then one per write."""
    state = {"brightness": 0xFF, "test-pattern": 0, "kill": 0, "input": 0x05}
    out = [dict(state)]
    for what, value in SEQUENCE:
        state[what] = 1 if what == "kill" and value == 0xFF else value
        out.append(dict(state))
    return out


def check_recording(record: Path, controller: str):
    rec = harness.read_recording(record, controller)
    got = [{k: f[k] for k in ("brightness", "test-pattern", "kill", "input")} for f in rec.frames]
    assert got == expected_extras()
    rows = {i: harness.read_rgb_png(rec.folder / f["file"]) for i, f in enumerate(rec.frames, start=1)}
    # Frame 6: red test pattern at brightness 0x80, applied: every pixel (128, 0, 0).
    assert all(row == [128, 0, 0] * 24 for row in rows[6]), rows[6][0][:6]
    # Frame 8: kill shows black.
    assert all(v == 0 for row in rows[8] for v in row)
    # Frame 10: input dvi shows its own picture (checkerboard); frame 11, back on hdmi, the bars again.
    assert rows[10] != rows[9] and rows[11] == rows[9]
    events = rec.meta["counters"]["events"]
    assert events.get("absent-card") == 1 and events.get("ack-2") == 2, events  # one in each sequence
    assert events.get("skipped-bytes", 0) > 0, events


OPTIONS = ["--option", "apply-brightness=true", "--option", "input-dvi=checkerboard"]


def test_pyserial_over_pty(tmp_path: Path):
    link = tmp_path / "ttyNova"
    with harness.Serve(["--protocol", "novastar", *PANEL, *OPTIONS, "--serial", "pty", "--link", str(link), "--quiet"],
                       tmp_path) as serve:
        with serial.Serial(str(link), 115200, bytesize=8, parity="N", stopbits=1, timeout=0.05) as line:
            stream = Stream(lambda n: line.read(n))
            control_sequence(stream, line.write)
            brightness_every_card(stream, line.write)
        time.sleep(0.3)
        assert serve.stop() == 0, serve.diagnostics()
    check_recording(serve.record, "novastar")


def connect(port: int) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=2)
    s.settimeout(0.05)
    return s


def tcp_reader(s: socket.socket):
    def read(n):
        try:
            return s.recv(n)
        except socket.timeout:
            return b""
    return read


def test_tcp_with_one_client_holding_the_card(tmp_path: Path):
    with harness.Serve(["--protocol", "novastar", *PANEL, *OPTIONS, "--listen", "127.0.0.1:0", "--quiet"], tmp_path) as serve:
        port = next(l.port for l in serve.listening if l.transport == "tcp")
        first = connect(port)
        stream = Stream(tcp_reader(first))
        control_sequence(stream, first.sendall)
        # While the first client holds the card, a second is accepted and reset at once: the
        # reset reaches it in connect() or at its first read, as the scheduler has it.
        with pytest.raises(ConnectionResetError):
            second = socket.create_connection(("127.0.0.1", port), timeout=2)
            with second:
                second.sendall(request(1, RECEIVING, BRIGHTNESS))
                if second.recv(64) == b"":
                    raise AssertionError("the second client got a clean close, not a reset")
        brightness_every_card(stream, first.sendall)
        first.close()
        time.sleep(0.2)
        again = connect(port)  # the card is free again
        check_ok(Stream(tcp_reader(again)), again.sendall, 20, request(20, RECEIVING, BRIGHTNESS), data=b"\x80")
        again.close()
        time.sleep(0.3)
        assert serve.stop() == 0, serve.diagnostics()
    check_recording(serve.record, "novastar")
    events = harness.read_recording(serve.record, "novastar").meta["counters"]["events"]
    assert events.get("tcp-connections-refused") == 1, events


def test_discovery_over_udp(tmp_path: Path):
    with harness.Serve(["--protocol", "novastar", *PANEL, "--listen", "127.0.0.1:0", "--quiet"], tmp_path) as serve:
        port = next(l.port for l in serve.listening if l.transport == "udp-discovery")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(2)
            s.sendto(b"rqProMI:", ("127.0.0.1", port))
            answer, _ = s.recvfrom(256)
        assert answer.startswith(b"rpProMI:"), answer
        assert serve.stop() == 0, serve.diagnostics()
