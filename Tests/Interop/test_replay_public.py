"""`panelsim replay` on every public capture, and the liveshark fault fixtures reported as what
they are: conflict, sequence gap, loss burst, duplicate/reorder, invalid packets. The numbers
asserted come from reading the fixtures' bytes (tshark -x), not from PanelSim's own output."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import harness

CAPTURES = Path(os.environ.get("PANELSIM_CAPTURES", harness.REPO_ROOT.parent / "shared" / "captures" / "public"))
ALL = sorted(p for p in CAPTURES.glob("*/*") if p.suffix in (".pcap", ".pcapng")) if CAPTURES.is_dir() else []


def _replay(tmp_path, capture: Path, *extra: str):
    out = tmp_path / "out"
    r = harness.run_panelsim(["replay", str(capture), "--out", str(out), *extra], check=False)
    assert r.returncode == 0, (r.returncode, r.stderr)
    return out, json.loads((out / "report.json").read_text()), r


def _fixture(name: str) -> Path:
    path = CAPTURES / name
    if not path.is_file():
        pytest.skip(f"public capture {path} not found (set PANELSIM_CAPTURES)")
    return path


def _one_stream(report):
    assert len(report["streams"]) == 1, report["streams"]
    return report["streams"][0]


@pytest.mark.parametrize("capture", ALL, ids=[f"{p.parent.name}/{p.name}" for p in ALL])
def test_every_public_capture_replays(panelsim, tmp_path, capture):
    out, report, _ = _replay(tmp_path, capture)
    assert report["capture-error"] is None
    assert report["records"] > 0
    html = (out / "report.html").read_text()
    assert "<html" in html
    # Nothing is loaded from outside (the SVG namespace URI is a name, not a fetch).
    for outside in ('src="http', "src='http", 'href="http', "url(http", "<link", "@import"):
        assert outside not in html, outside
    # Every controller folder holds the recording layout and one PNG per frame written.
    for c in report["controllers"]:
        rec = harness.read_recording(out, c["name"])
        assert len(rec.frames) == c["frames"]
        assert len(list(rec.folder.glob("frame-*.png"))) == len(rec.written())


@pytest.mark.parametrize("name,packets,missing,largest", [
    ("artnet/liveshark_artnet_gap.pcapng", 3, 7, 7),
    ("sacn/liveshark_sacn_gap.pcapng", 3, 7, 7),
    ("artnet/liveshark_artnet_burst.pcapng", 5, 5, 3),
    ("sacn/liveshark_sacn_burst.pcapng", 5, 5, 3),
])
def test_loss_is_counted_packet_for_packet(panelsim, tmp_path, name, packets, missing, largest):
    _, report, _ = _replay(tmp_path, _fixture(name))
    s = _one_stream(report)
    assert s["packets"] == packets
    assert s["sequence"]["missing"] == missing and s["sequence"]["largest-loss"] == largest, s
    assert any(f"{missing} packets lost" in f for f in report["findings"]), report["findings"]


def test_duplicate_and_reorder(panelsim, tmp_path):
    # Sequence numbers on the wire: 10, 10, 9, 10.
    _, report, _ = _replay(tmp_path, _fixture("sacn/liveshark_sacn_dup_reorder.pcapng"))
    s = _one_stream(report)
    assert s["sequence"]["reorders"] == 1 and s["sequence"]["duplicates"] == 2 and s["sequence"]["missing"] == 0, s
    assert any("1 out of order" in f for f in report["findings"]), report["findings"]


def test_artnet_conflict_two_sources_merge(panelsim, tmp_path):
    _, report, _ = _replay(tmp_path, _fixture("artnet/liveshark_artnet_conflict.pcapng"))
    assert {s["source"] for s in report["streams"]} == {"192.168.0.1:6454", "192.168.0.3:6454"}
    [conflict] = report["conflicts"]
    assert conflict["universe"] == 1 and conflict["kind"] == "merge"
    assert "192.168.0.1" in conflict["message"] and "192.168.0.3" in conflict["message"]


def test_sacn_conflict_equal_priority_flickers(panelsim, tmp_path):
    _, report, _ = _replay(tmp_path, _fixture("sacn/liveshark_sacn_conflict.pcapng"))
    [conflict] = report["conflicts"]
    assert conflict["kind"] == "conflict" and conflict["universe"] == 1
    assert conflict["time"] == pytest.approx(1.0)
    assert any("equal priority" in f and "flicker" in f for f in report["findings"]), report["findings"]


def test_artnet_invalid_length_names_the_packet(panelsim, tmp_path):
    _, report, _ = _replay(tmp_path, _fixture("artnet/liveshark_artnet_invalid_length.pcapng"))
    [bad] = report["malformed-packets"]
    assert bad["record"] == 1 and bad["protocol"] == "artnet" and bad["source"] == "192.168.0.10:6454"
    assert bad["reason"] == "length-past-end" and "513" in bad["detail"]
    assert report["controllers"][0]["frames"] == 0
    assert any("record 1" in f for f in report["findings"]), report["findings"]


def test_sacn_invalid_start_code_is_a_finding(panelsim, tmp_path):
    _, report, _ = _replay(tmp_path, _fixture("sacn/liveshark_sacn_invalid_start_code.pcapng"))
    assert report["controllers"][0]["frames"] == 0
    assert any("start code 0x01" in f for f in report["findings"]), report["findings"]


def test_decode_as_overrides_detection(panelsim, tmp_path):
    # Not Art-Net by content (10-byte payloads on ports 1000 → 2000): nothing decodes...
    capture = _fixture("udp-misc/liveshark_flow_peak_and_maxgap.pcapng")
    _, report, _ = _replay(tmp_path / "a", capture)
    assert report["controllers"] == [] and report["unknown-datagrams"] == 4
    # ...until port 2000 is declared Art-Net: the four datagrams are then rejected as too short.
    _, report, _ = _replay(tmp_path / "b", capture, "--decode-as", "2000=artnet")
    assert sum(report["malformed"].values()) == 4, report["malformed"]
    r = harness.run_panelsim(["replay", str(capture), "--out", str(tmp_path / "c"), "--decode-as", "2000=dmx"], check=False)
    assert r.returncode == 2 and "unknown protocol" in r.stderr, r.stderr


def test_no_png_writes_the_reports_and_no_images(panelsim, tmp_path):
    out, report, _ = _replay(tmp_path, _fixture("artnet/liveshark_artnet_gap.pcapng"), "--no-png")
    rec = harness.read_recording(out, "artnet-10.0.0.2-6454")
    assert len(rec.frames) == 3 and not rec.written()
    assert all(f["skipped"] == "no-png" for f in rec.frames)
    assert not list(rec.folder.glob("*.png"))
    assert "--no-png" in (out / "report.html").read_text()
