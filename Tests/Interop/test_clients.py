"""Real third-party senders against `panelsim serve`: every recorded frame must be a
whole frame of the known pattern, in order, ending with the last one sent.

Each live session is also captured (`serve --pcap`) and the capture replayed with its
original timing into a fresh `serve` configured as a gray 512xN panel with the default
start universe: the replayed frames must pass the same checks (the project's acceptance
procedure for held-back traffic).

- sacn (E1.31, unicast data + MULTICAST sync, to port 5568 only): inside a network
  namespace of the test's own, serve listening on 0.0.0.0:5568 with --interface lo;
- stupidartnet (Art-Net, no sync, one socket per universe) on 127.0.0.1;
- pyartnet in sACN mode with sync (unicast data and sync) on 127.0.0.1.
"""

from __future__ import annotations

import time

import pytest

import harness

U = 4  # universes = rows
N = 40  # frames
FPS = 20
SETTLE = 0.5  # s between the client's exit and SIGTERM


def _serve_args(protocol: str, listen: str, extra=()):
    return ["--protocol", protocol, "--listen", listen, "--size", f"512x{U}",
            "--pixel", "gray", "--channels-per-universe", "512", *extra]


def _client_args(port: int, start: int, extra=()):
    return ["--host", "127.0.0.1", "--port", str(port), "--start-universe", str(start),
            "--universes", str(U), "--frames", str(N), "--fps", str(FPS), *extra]


def replay_and_check(tmp_path, protocol: str, start: int, capture, source_name: str = None) -> None:
    """Replays a capture into a fresh gray 512xU panel with default start universes."""
    assert capture.is_file() and capture.stat().st_size > 24, f"serve --pcap wrote no capture at {capture}"
    work = tmp_path / "replay"
    work.mkdir()
    args = ["--protocol", protocol, "--listen", "127.0.0.1:0", "--size", f"512x{U}", "--pixel", "gray",
            "--channels-per-universe", "512"]
    with harness.Serve(args, work) as serve:
        harness.run_client("replay_pcap.py", ["--pcap", str(capture), "--host", "127.0.0.1",
                                              "--port", str(serve.port(protocol))])
        check_recording(serve, protocol, start, source_name=source_name)


def check_recording(serve: harness.Serve, controller: str, start: int,
                    source_name: str = None) -> None:
    time.sleep(SETTLE)  # the client has exited; let serve take in the last datagrams
    code = serve.stop()
    diag = serve.diagnostics()
    assert code == 0, f"serve did not stop cleanly on SIGTERM\n{diag}"
    rec = harness.read_recording(serve.record, controller)

    torn = [f for f in rec.frames if f["torn"]]
    assert not torn, f"{len(torn)} torn frame(s), first: {torn[0]}\n{diag}"

    written = rec.written()
    ks = harness.pattern_frames(rec, start, U)

    distinct = sorted(set(ks))
    assert len(distinct) >= N // 2, (f"only {len(distinct)} distinct frames of {N} recorded "
                                     f"({len(written)} written, {len(rec.frames)} events): {ks}")
    assert all(a <= b for a, b in zip(ks, ks[1:])), f"frames out of order: {ks}"
    assert ks[-1] == N - 1, f"last recorded frame is k={ks[-1]}, expected {N - 1}: {ks}"

    if source_name is not None:  # sACN: sources are named by CID and/or source name
        sources = [s for f in written for s in f["sources"]]
        assert all(s.get("cid") or s.get("name") for s in sources), \
            f"sACN sources need a cid or name: {sources[:3]}"
        names = {s.get("name") for s in sources if s.get("name")}
        assert not names or names == {source_name}, \
            f"source names {names}, expected only {source_name!r}"
        cids = {str(s.get("cid")) for s in sources if s.get("cid")}
        assert len(cids) <= 1, f"one sender, one CID: {cids}"

    counters = rec.meta["counters"]
    assert counters["torn"] == 0, counters
    assert counters["frames"] >= len(written), counters
    assert counters["packets"] >= U * len(distinct), counters


def test_stupidartnet(panelsim, tmp_path):
    pytest.importorskip("stupidArtnet")
    capture = tmp_path / "live.pcap"
    with harness.Serve(_serve_args("artnet", "127.0.0.1:0", ["--pcap", str(capture)]), tmp_path) as serve:
        harness.run_client("send_stupidartnet.py", _client_args(serve.port("artnet"), 0))
        check_recording(serve, "artnet", 0)
    replay_and_check(tmp_path, "artnet", 0, capture)


def test_pyartnet_sacn_sync(panelsim, tmp_path):
    pytest.importorskip("pyartnet")
    capture = tmp_path / "live.pcap"
    with harness.Serve(_serve_args("sacn", "127.0.0.1:0", ["--pcap", str(capture)]), tmp_path) as serve:
        harness.run_client("send_pyartnet.py", _client_args(serve.port("sacn"), 1))
        check_recording(serve, "sacn", 1, source_name="PyArtNet")
    replay_and_check(tmp_path, "sacn", 1, capture, source_name="PyArtNet")


def test_sacn_in_namespace(panelsim, netns, tmp_path):
    pytest.importorskip("sacn")
    # sacn sends every packet to port 5568 and its sync packet by multicast to
    # 239.255.249.255 (sync universe 63999): serve must listen on 5568 and join on lo.
    capture = tmp_path / "live.pcap"
    args = _serve_args("sacn", "0.0.0.0:5568", ["--interface", "lo", "--pcap", str(capture)])
    with harness.Serve(args, tmp_path, prefix=netns.prefix()) as serve:
        assert serve.port("sacn") == 5568, serve.listening
        harness.run_client("send_sacn.py", _client_args(5568, 1, ["--source-name", "interop-sacn"]),
                           prefix=netns.prefix())
        check_recording(serve, "sacn", 1, source_name="interop-sacn")
    # The replay goes unicast to 127.0.0.1 in the host namespace, sync packets included.
    replay_and_check(tmp_path, "sacn", 1, capture, source_name="interop-sacn")
