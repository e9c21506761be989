"""Hostile files: captures, configs and stress scenarios built to break a reader, none of them
seen by the fuzzers' seeds — lengths that lie (a pcap record claiming 4 GB, pcapng blocks whose
lengths disagree, IP fragments claiming every offset, TCP sequence numbers a gigabyte apart),
captures cut short and bit-flipped, YAML alias bombs, nesting and lines no parser should hold.

Each file goes through the real binary (`replay` and `check` for captures, `serve` and `stress`
for YAML). Nothing may crash or hang:
the exit code is a documented one (0, or 2 for an invalid config/scenario, 3 for a damaged
capture) with a one-line message naming the file, a damaged capture still leaves its report,
and each run's peak resident memory stays under the documented cap (64 MB plus four times the
canvases' bytes; the universe view's canvases are a few KB).
"""

from __future__ import annotations

import os
import random
import re
import signal
import socket
import struct
import time
from pathlib import Path
from typing import List, Tuple

import pytest

import harness
import wire

pytestmark = pytest.mark.skipif(harness.panelsim_missing_reason() is not None,
                                reason=harness.panelsim_missing_reason() or "")

CAPTURES = Path(os.environ.get("PANELSIM_CAPTURES", Path(__file__).resolve().parents[3] / "shared" / "captures" / "public"))
CAP_KIB = 64 * 1024 + 4 * 512  # 64 MB + 4 × the canvases (README "Reliability")


def run_measured(args: List[str], workdir: Path, timeout: float = 60) -> Tuple[int, str, int]:
    """Runs panelsim; returns (exit code or -signal, stderr, peak resident KiB of that run)."""
    err = workdir / "stderr.txt"
    with open(err, "wb") as e:
        p = os.posix_spawn(str(harness.panelsim_path()), [str(harness.panelsim_path()), *args], dict(os.environ, CI="true"),
                           file_actions=[(os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
                                         (os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0),
                                         (os.POSIX_SPAWN_DUP2, e.fileno(), 2)])
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(p, os.WNOHANG)
        if pid == p:
            break
        if time.monotonic() > deadline:
            os.kill(p, signal.SIGKILL)
            os.wait4(p, 0)
            raise AssertionError(f"panelsim {' '.join(args)} still running after {timeout} s")
        time.sleep(0.02)
    code = os.waitstatus_to_exitcode(status)
    return code, err.read_text(errors="replace"), usage.ru_maxrss


# ---------------------------------------------------------------- hostile captures

def pcap_header(snaplen: int = 65535, linktype: int = 1) -> bytes:
    return struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, linktype)


def record(frame: bytes, incl: int = -1, orig: int = -1, t: int = 1) -> bytes:
    return struct.pack("<IIII", t, 0, len(frame) if incl < 0 else incl, len(frame) if orig < 0 else orig) + frame


def ipv4(src: str, dst: str, proto: int, payload: bytes, ident: int = 1, frag: int = 0x4000, total: int = -1) -> bytes:
    h = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(payload) if total < 0 else total, ident, frag, 64, proto, 0,
                    socket.inet_aton(src), socket.inet_aton(dst))
    return b"\x00" * 12 + b"\x08\x00" + h + payload


def udp(sport: int, dport: int, payload: bytes, length: int = -1) -> bytes:
    return struct.pack(">HHHH", sport, dport, 8 + len(payload) if length < 0 else length, 0) + payload


def tcp(sport: int, dport: int, seq: int, flags: int, payload: bytes) -> bytes:
    return struct.pack(">HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, 0, 5 << 4, flags, 65535, 0, 0) + payload


def pcapng_block(kind: int, body: bytes, length: int = -1) -> bytes:
    n = 12 + len(body) if length < 0 else length
    return struct.pack("<II", kind, n) + body + struct.pack("<I", n)


def pcapng_shb(length: int = -1) -> bytes:
    return pcapng_block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1), length)


def pcapng_idb(options: bytes = b"") -> bytes:
    return pcapng_block(1, struct.pack("<HHI", 1, 0, 65535) + options)


def pcapng_epb(frame: bytes, captured: int = -1) -> bytes:
    padded = frame + bytes(-len(frame) % 4)
    return pcapng_block(6, struct.pack("<IIIII", 0, 0, 1, len(frame) if captured < 0 else captured, len(frame)) + padded)


def artdmx_frame(u: int, seq: int = 0) -> bytes:
    return ipv4("10.0.0.1", "10.0.0.2", 17, udp(6454, 6454, wire.artdmx(u, bytes(range(256)) * 2, sequence=seq)))


def crafted_captures() -> List[Tuple[str, bytes]]:
    good = [record(artdmx_frame(u % 4, 1 + u % 255), t=1 + u) for u in range(8)]
    files = [
        ("empty.pcap", b""),
        ("three-bytes.pcap", b"\xd4\xc3\xb2"),
        ("random.bin", random.Random(1).randbytes(65536)),
        ("record-claims-4GB.pcap", pcap_header() + good[0] + struct.pack("<IIII", 2, 0, 0xFFFFFFFF, 0xFFFFFFFF) + bytes(100)),
        ("snaplen-4GB-record-200MB.pcap", pcap_header(snaplen=0xFFFFFFFF) + good[0] + struct.pack("<IIII", 2, 0, 200_000_000, 200_000_000) + bytes(64)),
        ("unknown-linktype.pcap", pcap_header(linktype=0xFFFF) + b"".join(good)),
        ("shb-claims-4GB.pcapng", pcapng_shb(0xFFFFFFF0) + bytes(64)),
        ("epb-captured-beyond-block.pcapng", pcapng_shb() + pcapng_idb() + pcapng_epb(artdmx_frame(0), captured=0x7FFFFFFF)),
        ("idb-option-65535.pcapng", pcapng_shb() + pcapng_block(1, struct.pack("<HHI", 1, 0, 65535) + struct.pack("<HH", 2, 0xFFFF) + bytes(8))),
        ("epb-unknown-interface.pcapng", pcapng_shb() + pcapng_block(6, struct.pack("<IIIII", 99, 0, 1, 4, 4) + bytes(4))),
        ("udp-length-lies.pcap", pcap_header() + b"".join(
            record(ipv4("10.0.0.1", "10.0.0.2", 17, udp(6454, 6454, wire.artdmx(0, bytes(512)), length=n)))
            for n in (0, 7, 9, 0xFFFF)) + b"".join(good)),
        ("ip-total-length-lies.pcap", pcap_header() + b"".join(
            record(ipv4("10.0.0.1", "10.0.0.2", 17, udp(6454, 6454, wire.artdmx(0, bytes(512))), total=n)) for n in (0, 19, 0xFFFF))
            + b"".join(good)),
    ]
    # IP fragments: 3000 datagrams, each only a fragment far into a 64 KB datagram (never completed),
    # then fragments whose offset plus length passes 65535.
    frags = [record(ipv4("10.0.0.1", "10.0.0.2", 17, bytes(64), ident=i & 0xFFFF, frag=0x2000 | 8000), t=1) for i in range(3000)]
    frags += [record(ipv4("10.0.0.3", "10.0.0.2", 17, bytes(1000), ident=7, frag=0x1FFF), t=2)]
    files.append(("fragments-never-completed.pcap", pcap_header() + b"".join(frags) + b"".join(good)))
    # TCP: one connection whose segments jump a gigabyte at a time, and 300 connections opened at once.
    seg = [record(ipv4("10.0.0.1", "10.0.0.2", 6, tcp(40000, 7890, 1, 0x02, b"")))]
    seg += [record(ipv4("10.0.0.1", "10.0.0.2", 6, tcp(40000, 7890, 2 + k * 1_000_000_000, 0x18, bytes([0, 0, 0xFF, 0xFF]) + bytes(1400))))
            for k in range(8)]
    seg += [record(ipv4("10.0.1.1", "10.0.0.2", 6, tcp(1024 + c, 7890, 5, 0x18, bytes([0, 0, 0xFF, 0xFF]) + bytes(100)))) for c in range(300)]
    files.append(("tcp-gigabyte-jumps.pcap", pcap_header() + b"".join(seg)))
    return files


def mutated_public_captures(rng: random.Random) -> List[Tuple[str, bytes]]:
    files = []
    for path in sorted(CAPTURES.rglob("*.pcap*")):
        data = path.read_bytes()[:200_000]
        for k in range(3):  # cut short at three places
            cut = rng.randint(1, max(1, len(data) - 1))
            files.append((f"{path.stem}-cut{cut}{path.suffix}", data[:cut]))
        for k in range(4):  # bytes overwritten, some with extreme values
            b = bytearray(data)
            for _ in range(rng.choice((1, 8, 64))):
                i = rng.randrange(len(b))
                b[i] = rng.choice((0, 0xFF, 0x7F, 0x80, rng.randrange(256)))
            files.append((f"{path.stem}-flip{k}{path.suffix}", bytes(b)))
    return files


def test_hostile_captures_crash_nothing_and_stay_under_the_cap(tmp_path: Path):
    files = crafted_captures()
    if CAPTURES.is_dir():
        files += mutated_public_captures(random.Random(7))
    assert len(files) > 40
    peaks, codes = [], {}
    for i, (name, data) in enumerate(files):
        path = tmp_path / f"{i:03d}-{name}"
        path.write_bytes(data)
        out = tmp_path / f"out-{i:03d}"
        code, err, peak = run_measured(["replay", str(path), "--out", str(out), "--no-png"], tmp_path)
        peaks.append((peak, name))
        codes[code] = codes.get(code, 0) + 1
        assert code in (0, 3), f"{name}: exit {code}\n{err[-2000:]}"
        if code == 3:
            lines = [l for l in err.splitlines() if l.startswith("panelsim:")]
            assert lines and path.name in lines[-1] and len(lines[-1]) < 400, f"{name}: unclear error: {err[-1000:]}"
        if code == 0 or "record" in err:
            # the capture opened: whatever was read before the damage is reported
            assert (out / "report.json").is_file(), f"{name}: no report.json (exit {code})\n{err[-1000:]}"
        # The linter reads the same file: findings (exit 1) are fine, a crash is not.
        report = tmp_path / f"check-{i:03d}.json"
        code, err, peak = run_measured(["check", str(path), "--profile", "artnet-legacy-4port", "--json", str(report)], tmp_path)
        peaks.append((peak, "check " + name))
        assert code in (0, 1, 3), f"check {name}: exit {code}\n{err[-2000:]}"
        assert report.is_file(), f"check {name}: no JSON report (exit {code})\n{err[-1000:]}"
    worst = max(peaks)
    assert worst[0] < CAP_KIB, f"peak resident memory {worst[0]} KiB on {worst[1]} over the cap {CAP_KIB} KiB"
    assert codes.get(3, 0) > 0 and codes.get(0, 0) > 0, codes  # both kinds were exercised


# ---------------------------------------------------------------- hostile configs and scenarios

def alias_bomb(top: str) -> str:
    lines = [f"{top}:", "  - name: a", "    protocol: artnet", "    options:", '      short-name: &a0 ["x","x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 9):
        lines.append(f"      k{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n"


def hostile_yaml(top: str) -> List[Tuple[str, bytes]]:
    ok = f"{top}:\n" if top == "controllers" else "name: x\n"
    return [
        ("alias-bomb.yaml", alias_bomb(top).encode()),
        ("alias-bomb-as-value.yaml", (alias_bomb(top) + "    panel: *a8\n").encode()),
        ("deep-nesting.yaml", b"[" * 100_000),
        ("long-line.yaml", (f"{top}: " + "x" * 5_000_000 + "\n").encode()),
        ("nul-and-invalid-utf8.yaml", ok.encode() + b"\x00\xff\xfe\xc3\x28 key: value\n"),
        ("huge-numbers.yaml", f"{top}:\n  - {{ name: a, protocol: ddp, transport: {{ udp: 127.0.0.1:0 }}, panel: {{ width: 99999999999999999999999, height: -1 }} }}\n".encode()),
        ("canvases-over-1GiB.yaml", (f"{top}:\n" + "".join(f"  - {{ name: c{i}, protocol: ddp, transport: {{ udp: 127.0.0.1:0 }}, panel: {{ width: 4096, height: 2048 }} }}\n"
                                                             for i in range(48))).encode()),
        ("path-escape.yaml", f"{top}:\n  - {{ name: ../../etc/x, protocol: ddp, transport: {{ udp: 127.0.0.1:0 }}, panel: {{ width: 8, height: 8 }} }}\n".encode()),
        ("ten-thousand-controllers.yaml", (f"{top}:\n" + "".join(f"  - {{ name: c{i}, protocol: ddp, transport: {{ udp: 127.0.0.1:0 }}, panel: {{ width: 1, height: 1 }} }}\n"
                                                                for i in range(10_000))).encode()),
        ("tag-and-merge.yaml", f"{top}: !!binary AAAA\n<<: *undefined\n".encode()),
    ]


@pytest.mark.parametrize("command", ["serve", "stress"])
def test_hostile_configs_and_scenarios_are_refused_clearly(tmp_path: Path, command: str):
    top = "controllers"
    for i, (name, data) in enumerate(hostile_yaml(top)):
        path = tmp_path / f"{i:02d}-{name}"
        path.write_bytes(data)
        args = ["serve", "--config", str(path), "--duration", "0.1", "--record", str(tmp_path / f"rec-{i}")] if command == "serve" \
            else ["stress", str(path), "--json", str(tmp_path / f"stress-{i}.json")]
        code, err, peak = run_measured(args, tmp_path, timeout=120)
        assert code == 2, f"{command} {name}: exit {code}\n{err[-2000:]}"
        last = [l for l in err.splitlines() if l.startswith("panelsim:")][-1:]
        assert last and path.name in last[0] and len(last[0]) < 400, f"{command} {name}: unclear error: {err[-1000:]}"
        # The cap scales with the canvases the file asks for (refused or not): 64 MB + 4 × their bytes.
        declared = sum(int(w) * int(h) * 3 for w, h in re.findall(rb"width: (\d{1,5}), height: (\d{1,5})", data))
        cap = CAP_KIB + 4 * declared // 1024
        assert peak < cap, f"{command} {name}: peak resident memory {peak} KiB over {cap} KiB"
