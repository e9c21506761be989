"""`panelsim replay` on the public captures: frames, recording layout and report.json findings
a technician can read, and a clear error for a damaged capture (exit 3, nothing lost)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import harness

CAPTURES = Path(os.environ.get("PANELSIM_CAPTURES", Path(__file__).resolve().parents[3] / "shared" / "captures" / "public"))


def _capture(name: str) -> Path:
    path = CAPTURES / name
    if not path.is_file():
        pytest.skip(f"public capture {path} not found (set PANELSIM_CAPTURES)")
    return path


def _replay(tmp_path, capture: Path, expect_code: int = 0):
    out = tmp_path / "out"
    r = harness.run_panelsim(["replay", str(capture), "--out", str(out)], check=False)
    assert r.returncode == expect_code, (r.returncode, r.stderr)
    return out, json.loads((out / "report.json").read_text()), r


def test_artnet_sequence_gap_is_reported(panelsim, tmp_path):
    out, report, _ = _replay(tmp_path, _capture("artnet/liveshark_artnet_gap.pcapng"))
    assert any("packets lost" in f for f in report["findings"]), report["findings"]
    stream = report["streams"][0]
    assert stream["sequence"]["gaps"] == 1 and stream["sequence"]["missing"] > 0, stream
    folder = out / "artnet-10.0.0.2-6454"
    assert (folder / "frames.jsonl").is_file() and (folder / "recording.json").is_file()
    assert len(list(folder.glob("frame-*.png"))) == report["controllers"][0]["frames"]


def test_sacn_conflict_is_reported(panelsim, tmp_path):
    _, report, _ = _replay(tmp_path, _capture("sacn/liveshark_sacn_conflict.pcapng"))
    assert any("equal priority" in f and "flicker" in f for f in report["findings"]), report["findings"]
    sources = {s["source"] for s in report["streams"]}
    assert len(sources) == 2, report["streams"]


def test_damaged_capture_keeps_what_came_before(panelsim, tmp_path):
    whole = _capture("artnet/fughilli_device_discovery.pcapng").read_bytes()
    cut = tmp_path / "cut.pcapng"
    cut.write_bytes(whole[: len(whole) * 2 // 3])
    out, report, r = _replay(tmp_path, cut, expect_code=3)
    assert "record" in report["capture-error"], report["capture-error"]
    assert report["records"] > 0
    assert "everything before it was recorded" in r.stderr
