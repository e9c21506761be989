"""Quirk profiles (`serve --profile`) against real third-party senders on 127.0.0.1.

- artnet-needs-sync, stupidartnet: without ArtSync nothing is shown; with one ArtSync
  per frame every frame is;
- artnet-legacy-4port, stupidartnet sending 6 universes: the node shows 4, answers an
  ArtPoll with one ArtPollReply of 4 ports, and the other rows stay black;
- sacn-preview-priority, python sacn: preview data shows nothing; per-address priority
  (0xDD, sent by the library) decides which source drives each slot.
"""

from __future__ import annotations

import json
import socket
import time

import harness
import pattern

SETTLE = 0.3  # s for serve to take in the last datagrams


def _gray_args(protocol: str, profile: str, rows: int):
    return ["--protocol", protocol, "--listen", "127.0.0.1:0", "--size", f"512x{rows}", "--pixel", "gray",
            "--channels-per-universe", "512", "--profile", profile]


def _frames_so_far(serve: harness.Serve, controller: str) -> list:
    jl = serve.record / controller / "frames.jsonl"
    return [l for l in jl.read_text().splitlines() if l.strip()] if jl.exists() else []


def _stop(serve: harness.Serve, controller: str) -> harness.Recording:
    time.sleep(SETTLE)
    assert serve.stop() == 0, serve.diagnostics()
    return harness.read_recording(serve.record, controller)


def test_stupidartnet_shows_nothing_without_artsync_then_every_synced_frame(tmp_path, panelsim):
    with harness.Serve(_gray_args("artnet", "artnet-needs-sync", 2), tmp_path) as serve:
        ready = json.loads(serve.ready.read_text())
        assert ready["listening"][0].get("profile") == "artnet-needs-sync", ready
        port = serve.port("artnet")
        common = ["--port", str(port), "--universes", "2", "--fps", "20"]
        harness.run_client("send_stupidartnet.py", [*common, "--frames", "5", "--first", "0"])
        time.sleep(SETTLE)
        assert _frames_so_far(serve, "artnet") == [], "a frame was shown without ArtSync"
        harness.run_client("send_stupidartnet.py", [*common, "--frames", "20", "--first", "10", "--artsync"])
        rec = _stop(serve, "artnet")
    ks = harness.pattern_frames(rec, 0, 2)
    assert ks, f"no frame with ArtSync\n{serve.diagnostics()}"
    assert min(ks) >= 10, f"frames sent without ArtSync were shown: {ks}"
    assert ks[-1] == 29, f"the last synchronised frame is missing: {ks}"
    assert len(set(ks)) >= 10, f"too few synchronised frames shown: {ks}"
    events = rec.meta["counters"]["events"]
    assert events.get("artdmx-without-sync", 0) >= 10, events
    assert events.get("artsync") == 20, events


def test_legacy_node_shows_four_universes_and_answers_with_one_reply(tmp_path, panelsim):
    with harness.Serve(_gray_args("artnet", "artnet-legacy-4port", 6), tmp_path) as serve:
        port = serve.port("artnet")
        harness.run_client("send_stupidartnet.py", ["--port", str(port), "--universes", "6", "--fps", "20",
                                                         "--frames", "10"])
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            s.settimeout(0.5)
            s.sendto(b"Art-Net\x00\x00\x20\x00\x0e\x02\x10", ("127.0.0.1", port))  # ArtPoll
            replies = []
            try:
                while True:
                    replies.append(s.recvfrom(2048)[0])
                    s.settimeout(0.2)
            except socket.timeout:
                pass
        rec = _stop(serve, "artnet")
    assert len(replies) == 1, f"{len(replies)} ArtPollReplies"
    r = replies[0]
    assert r[8:10] == b"\x00\x21", "OpPollReply"
    assert r[172:174] == b"\x00\x04", f"NumPorts {r[172:174].hex()}"
    assert list(r[190:194]) == [0, 1, 2, 3], f"SwOut {list(r[190:194])}"
    written = rec.written()
    assert written, serve.diagnostics()
    for f in written:
        assert set(f["universes"]) <= {0, 1, 2, 3}, f
        rows = pattern.read_gray_png(rec.folder / f["file"])
        assert all(v == 0 for row in rows[4:] for v in row), f"frame {f['index']}: rows 4-5 are not black"
    # Without ArtSync, frames close by the completion rule (a sender's hiccup may split one, which
    # test_clients.py judges); the last one is the last frame sent, rows 0-3 whole.
    last = pattern.read_gray_png(rec.folder / written[-1]["file"])
    assert pattern.identify(last[:4]) == 9, f"the last frame's rows 0-3 are not pattern frame 9: {last[0][:4]}"
    assert rec.meta["counters"]["events"].get("universe-not-served") == 20, rec.meta["counters"]["events"]
    assert rec.meta["controller"]["profile"] == "artnet-legacy-4port"


def test_sacn_preview_data_shows_nothing(tmp_path, panelsim):
    with harness.Serve(_gray_args("sacn", "sacn-preview-priority", 1), tmp_path) as serve:
        common = ["--port", str(serve.port("sacn")), "--universes", "1", "--fps", "20", "--seconds", "0.6"]
        harness.run_client("send_sacn_profile.py", [*common, "--preview", "--level", "200"])
        time.sleep(SETTLE)
        assert _frames_so_far(serve, "sacn") == [], "preview data was shown"
        harness.run_client("send_sacn_profile.py", [*common, "--level", "50"])
        rec = _stop(serve, "sacn")
    written = rec.written()
    assert written, serve.diagnostics()
    for f in written:
        rows = pattern.read_gray_png(rec.folder / f["file"])
        assert rows == [[50] * 512], f"frame {f['index']} starts {rows[0][:4]}"
    assert rec.meta["counters"]["events"].get("preview-ignored", 0) >= 3, rec.meta["counters"]["events"]


def test_sacn_per_address_priority_decides_each_slot(tmp_path, panelsim):
    with harness.Serve(_gray_args("sacn", "sacn-preview-priority", 1), tmp_path) as serve:
        # Source A: level 200, 0xDD priority 150 on slots 1-256 and 0 on 257-512;
        # source B: level 60 at packet priority 100, no 0xDD.
        harness.run_client("send_sacn_profile.py", ["--port", str(serve.port("sacn")), "--universes", "1", "--fps", "20",
                                                    "--seconds", "1.5", "--level", "200", "--pap", "150x256,0x256",
                                                    "--second-level", "60", "--second-priority", "100"])
        rec = _stop(serve, "sacn")
    written = rec.written()
    assert written, serve.diagnostics()
    rows = pattern.read_gray_png(rec.folder / written[-1]["file"])
    assert rows[0][:256] == [200] * 256, f"slots 1-256 start {rows[0][:4]}: A's 0xDD 150 should beat B's 100"
    assert rows[0][256:] == [60] * 256, f"slots 257-512 start {rows[0][256:260]}: only B drives them"
    names = {s.get("name") for s in written[-1]["sources"]}
    assert names == {"profile-a", "profile-b"}, names
    assert rec.meta["counters"]["events"].get("per-address-priority", 0) >= 1, rec.meta["counters"]["events"]


def test_profiles_lists_every_profile_with_a_line_each(panelsim):
    lines = harness.run_panelsim(["profiles"]).stdout.splitlines()
    names = [l.split()[0] for l in lines]
    assert names == ["artnet-legacy-4port", "artnet-needs-sync", "wled", "sacn-preview-priority",
                     "novastar-one-client", "colorlight-fw13"], lines
    assert lines[2].split()[1] == "sacn" and "170 RGB pixels" in lines[2], lines[2]
    doc = json.loads(harness.run_panelsim(["profiles", "--json"]).stdout)
    assert [p["name"] for p in doc] == names
    legacy = doc[0]
    assert legacy["protocol"] == "artnet" and legacy["options"] == {"max-ports": "4"}, legacy
    assert legacy["expectations"]["max-universes-per-address"] == 4 and legacy["expectations"]["max-frame-rate"] == 44
    assert doc[2]["pixels-per-universe"] == {"rgb": 170, "rgbw": 128}, doc[2]


def test_unknown_profile_is_a_usage_error(panelsim):
    r = harness.run_panelsim(["serve", "--protocol", "sacn", "--size", "4x1", "--profile", "artnet-needs-sync",
                              "--duration", "0.1"], check=False)
    assert r.returncode == 2, r
    assert "--profile: \"artnet-needs-sync\" is a profile for artnet, not sacn" in r.stderr, r.stderr
