"""`panelsim check` on real clients' traffic: each live session is captured by `serve --pcap`
(no root needed) and the capture linted. Clean senders must give no finding at warning or
above (exit 0); misconfigured ones, and clean ones against a quirk profile they do not suit,
must give exactly the expected rule IDs (exit 1).

- stupidartnet (Art-Net, sequence always 0, no sync) on 127.0.0.1: clean; against
  `artnet-needs-sync` (no ArtSync) and `artnet-legacy-4port` (6 universes to one address);
  with `even_packet_size=False` and 511 channels it sends an odd ArtDmx Length;
- pyartnet in sACN mode with sync, unicast, on 127.0.0.1: clean; against `wled`, whose
  receiver reads 510 channels, its 512-channel universes split pixels;
- sacn (unicast data, multicast sync) inside a network namespace of the test's own (root).
"""

from __future__ import annotations

import json
import textwrap
import time
import xml.etree.ElementTree as ET

import pytest

import harness

N = 30  # frames
FPS = 20
SETTLE = 0.5  # s between the client's exit and SIGTERM


def _serve(tmp_path, protocol: str, listen: str, universes: int, extra=(), prefix=()):
    capture = tmp_path / "live.pcap"
    args = ["--protocol", protocol, "--listen", listen, "--size", f"512x{universes}", "--pixel", "gray",
            "--channels-per-universe", "512", "--pcap", str(capture), *extra]
    return harness.Serve(args, tmp_path, prefix=prefix), capture


def _client_args(port: int, start: int, universes: int, extra=()):
    return ["--host", "127.0.0.1", "--port", str(port), "--start-universe", str(start),
            "--universes", str(universes), "--frames", str(N), "--fps", str(FPS), *extra]


def _stop(serve: harness.Serve) -> None:
    time.sleep(SETTLE)
    assert serve.stop() == 0, serve.diagnostics()


def check(tmp_path, capture, *args, expect_exit: int):
    """Runs `panelsim check`; returns (rule IDs hit at warning or above, all hits, JSON)."""
    assert capture.is_file() and capture.stat().st_size > 24, f"serve --pcap wrote no capture at {capture}"
    out = tmp_path / f"check-{len(list(tmp_path.glob('check-*.json')))}.json"
    junit = out.with_suffix(".xml")
    r = harness.run_panelsim(["check", str(capture), "--json", str(out), "--junit", str(junit), *args], check=False)
    assert r.returncode == expect_exit, f"exit {r.returncode}, expected {expect_exit}\n{r.stdout}\n{r.stderr}"
    doc = json.loads(out.read_text())
    hits = {h["rule"]: h for h in doc["hits"]}
    serious = {rule for rule, h in hits.items() if h["severity"] in ("warning", "error")}
    # JUnit: one case per rule checked, failed exactly when hit.
    cases = ET.parse(junit).getroot().findall(".//testcase")
    assert len(cases) == doc["rules-checked"], (len(cases), doc["rules-checked"])
    failed = {c.get("name") for c in cases if c.find("failure") is not None}
    assert failed == set(hits), (failed, set(hits))
    return serious, hits, r.stdout


def test_stupidartnet(panelsim, tmp_path):
    pytest.importorskip("stupidArtnet")
    universes = 6
    serve, capture = _serve(tmp_path, "artnet", "127.0.0.1:0", universes)
    with serve:
        harness.run_client("send_stupidartnet.py", _client_args(serve.port("artnet"), 0, universes))
        _stop(serve)
    serious, hits, out = check(tmp_path, capture, expect_exit=0)
    assert serious == set(), out
    serious, hits, out = check(tmp_path, capture, "--profile", "artnet-needs-sync", expect_exit=1)
    assert serious == {"profile.sync-required"}, out
    assert hits["profile.sync-required"]["count"] == universes, out
    serious, hits, out = check(tmp_path, capture, "--profile", "artnet-legacy-4port", expect_exit=1)
    assert serious == {"profile.universes-per-address"}, out
    assert hits["profile.universes-per-address"]["count"] == universes - 4, out
    # --fail-on error: the profile's finding is an error, so still 1; a clean run stays 0.
    check(tmp_path, capture, "--fail-on", "error", expect_exit=0)


ODD_STUPIDARTNET = textwrap.dedent("""
    import sys, time
    from stupidArtnet import StupidArtnet
    host, port = sys.argv[1], int(sys.argv[2])
    assert host.startswith("127."), host
    node = StupidArtnet(target_ip=host, universe=0, packet_size=511, fps=20,
                        even_packet_size=False, broadcast=False, port=port)
    for k in range(10):
        node.set(bytearray((k + c) & 0xFF for c in range(511)))
        node.show()
        time.sleep(0.05)
    node.stop()
    node.close()
""")


def test_stupidartnet_odd_length(panelsim, tmp_path):
    pytest.importorskip("stupidArtnet")
    script = tmp_path / "odd.py"
    script.write_text(ODD_STUPIDARTNET)
    serve, capture = _serve(tmp_path, "artnet", "127.0.0.1:0", 1)
    with serve:
        harness.run_client(str(script), ["127.0.0.1", str(serve.port("artnet"))])
        _stop(serve)
    serious, hits, out = check(tmp_path, capture, expect_exit=1)
    assert serious == {"artnet.dmx.odd-length"}, out
    assert hits["artnet.dmx.odd-length"]["count"] == 10, out
    assert "ERROR   artnet.dmx.odd-length ×10: first record 1" in out, out


def test_pyartnet_sacn_sync(panelsim, tmp_path):
    pytest.importorskip("pyartnet")
    universes = 2
    serve, capture = _serve(tmp_path, "sacn", "127.0.0.1:0", universes)
    with serve:
        harness.run_client("send_pyartnet.py", _client_args(serve.port("sacn"), 1, universes))
        _stop(serve)
    serious, hits, out = check(tmp_path, capture, expect_exit=0)
    assert serious == set(), out
    serious, hits, out = check(tmp_path, capture, "--profile", "wled", expect_exit=1)
    assert serious == {"profile.pixel-split"}, out


def test_sacn_in_namespace(panelsim, netns, tmp_path):
    pytest.importorskip("sacn")
    universes = 2
    serve, capture = _serve(tmp_path, "sacn", "0.0.0.0:5568", universes, ["--interface", "lo"], prefix=netns.prefix())
    with serve:
        harness.run_client("send_sacn.py", _client_args(5568, 1, universes, ["--source-name", "interop-sacn"]),
                           prefix=netns.prefix())
        _stop(serve)
    serious, hits, out = check(tmp_path, capture, expect_exit=0)
    assert serious == set(), out
    serious, hits, out = check(tmp_path, capture, "--profile", "artnet-needs-sync", expect_exit=0)
    assert serious == set(), "an Art-Net profile says nothing about sACN traffic\n" + out
