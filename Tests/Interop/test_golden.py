"""The one-line CI assertion: `panelsim serve --expect GOLDEN` compares every recorded frame
with the golden PNG of the same index, writes a diff image for each mismatch, exits 1 on any
difference, and reports per frame in JUnit XML (and JSON)."""

from __future__ import annotations

import json
import shutil
import time
import xml.etree.ElementTree as ET

import harness

SIZE = "170x3"
FRAMES = 5


def _session(tmp_path, name, extra=()):
    work = tmp_path / name
    args = ["--protocol", "artnet", "--listen", "127.0.0.1:0", "--size", SIZE,
            "--junit", str(work / "result.xml"), "--json", str(work / "result.json"), *extra]
    with harness.Serve(args, work) as serve:
        harness.run_panelsim(["send", "--protocol", "artnet", "--to", f"127.0.0.1:{serve.port('artnet')}",
                              "--pattern", "counter", "--size", SIZE, "--frames", str(FRAMES), "--fps", "30", "--sync"])
        time.sleep(0.3)
        code = serve.stop()
    return work, code, serve


def _junit(path):
    root = ET.parse(path).getroot()
    cases = root.findall(".//testcase")
    return cases, [c for c in cases if c.find("failure") is not None]


def test_expect_passes_then_fails_on_one_changed_pixel(tmp_path):
    # 1. A reference run: its recording becomes the golden set.
    work, code, serve = _session(tmp_path, "reference")
    assert code == 0, serve.diagnostics()
    golden = tmp_path / "golden"
    shutil.copytree(work / "record" / "artnet", golden)
    assert len(list(golden.glob("frame-*.png"))) == FRAMES

    # 2. The same traffic against the golden set passes: exit 0, every frame a passing case.
    work, code, serve = _session(tmp_path, "same", ["--expect", str(golden)])
    assert code == 0, serve.diagnostics()
    cases, failures = _junit(work / "result.xml")
    assert len(cases) == FRAMES and not failures
    result = json.loads((work / "result.json").read_text())
    assert result["passed"] is True
    assert result["controllers"][0]["golden"]["matched"] == FRAMES

    # 3. One golden pixel changed: exit 1, that frame (and only it) fails, with a diff image.
    rows = harness.read_rgb_png(golden / "frame-000003.png")
    rows[2][-3:] = [255 - v for v in rows[2][-3:]]
    harness.write_png(golden / "frame-000003.png", 170, 3, rows, rgb=True)
    work, code, serve = _session(tmp_path, "changed", ["--expect", str(golden)])
    assert code == 1, serve.diagnostics()
    cases, failures = _junit(work / "result.xml")
    assert [c.get("name") for c in failures] == ["frame-000003.png"], [c.get("name") for c in failures]
    assert "1 pixels differ" in failures[0].find("failure").get("message")
    assert (work / "record" / "artnet" / "diff-000003.png").is_file()
    recording = json.loads((work / "record" / "artnet" / "recording.json").read_text())
    assert recording["golden"]["passed"] is False


def test_expect_missing_folder_is_a_usage_error(tmp_path):
    r = harness.run_panelsim(["serve", "--protocol", "artnet", "--size", SIZE, "--record", str(tmp_path / "r"),
                              "--expect", str(tmp_path / "nowhere"), "--duration", "1"], check=False)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "nowhere" in r.stderr


def test_replay_golden_workflow(tmp_path):
    """The CI recipe on a capture: `replay --update-golden` makes the set, `replay --expect`
    passes on the same capture, a changed golden frame fails it (exit 1, one failed JUnit case,
    a diff image)."""
    capture = tmp_path / "send.pcap"
    harness.run_panelsim(["send", "--protocol", "artnet", "--to", "127.0.0.1", "--pattern", "counter", "--size", SIZE,
                          "--frames", str(FRAMES), "--fps", "30", "--sync", "--pcap", str(capture)])
    golden = tmp_path / "golden"
    r = harness.run_panelsim(["replay", str(capture), "--out", str(tmp_path / "a"), "--expect", str(golden), "--update-golden"])
    assert "5 frames written as the new golden set" in r.stderr, r.stderr
    assert sorted(p.name for p in golden.glob("frame-*.png")) == [f"frame-00000{k}.png" for k in range(1, 6)]

    r = harness.run_panelsim(["replay", str(capture), "--out", str(tmp_path / "b"), "--expect", str(golden),
                              "--junit", str(tmp_path / "b.xml")])
    cases, failed = _junit(tmp_path / "b.xml")
    assert len(cases) == FRAMES and not failed

    w, h, planes, rows = harness.read_png(golden / "frame-000003.png")  # the universe view: gray
    rows[0][0] = (rows[0][0] + 50) % 256
    harness.write_png(golden / "frame-000003.png", w, h, rows, rgb=planes == 3)
    r = harness.run_panelsim(["replay", str(capture), "--out", str(tmp_path / "c"), "--expect", str(golden),
                              "--junit", str(tmp_path / "c.xml")], check=False)
    assert r.returncode == 1, r.stderr
    cases, failed = _junit(tmp_path / "c.xml")
    assert len(cases) == FRAMES and [c.get("name") for c in failed] == ["frame-000003.png"]
    assert (tmp_path / "c" / "artnet-127.0.0.1-6454" / "diff-000003.png").is_file()  # the universe view's folder
