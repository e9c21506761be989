"""sACN multicast end to end, inside a network namespace of the test's own: `panelsim send
--interface lo` sends every universe to its group 239.255.(U>>8).(U&255) and the sync packet
to the sync address's group; `panelsim serve --interface lo` joins them all. 30 universes is
more than the 20 groups Linux lets one socket join (igmp_max_memberships), so this also covers
the extra membership sockets."""

from __future__ import annotations

import time

import harness

U = 30
FRAMES = 20


def test_multicast_30_universes_with_sync(panelsim, netns, tmp_path):
    size = f"170x{U}"
    args = ["--protocol", "sacn", "--interface", "lo", "--size", size]
    with harness.Serve(args, tmp_path, prefix=netns.prefix()) as serve:
        assert serve.port("sacn") == 5568, serve.listening
        time.sleep(0.3)  # the universes' groups are joined before the first frame
        harness.run_panelsim(["send", "--protocol", "sacn", "--interface", "lo", "--pattern", "counter",
                              "--size", size, "--frames", str(FRAMES), "--fps", "20", "--sync"],
                             prefix=netns.prefix(), timeout=30)
        time.sleep(0.5)
        assert serve.stop() == 0, serve.diagnostics()
    rec = harness.read_recording(serve.record, "sacn")
    counters = rec.meta["counters"]
    assert counters["torn"] == 0, counters
    # Every universe of every frame arrives, then three stream-terminated packets per universe.
    assert counters["events"].get("data", 0) == U * FRAMES + 3 * U, counters
    assert counters["events"].get("stream-terminated", 0) == 3 * U, counters
    assert counters["events"].get("sync", 0) >= FRAMES - 1, counters
    assert "multicast-join-failed" not in counters["events"], counters
    # Every frame is whole: all 30 universes, and the last frame is the last one sent.
    assert len(rec.frames) == FRAMES, [f["index"] for f in rec.frames]
    for f in rec.frames:
        assert f["universes"] == list(range(1, U + 1)), f
    assert rec.frames[-1]["sync"] is True
