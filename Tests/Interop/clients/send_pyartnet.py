#!/usr/bin/env python3
"""Send the test pattern with the `pyartnet` library in sACN mode, synchronised.

SacnNode.create(host, port) is unicast: data AND the E1.31 sync packet go to
host:port (pyartnet 2.0).  Sync is enabled with
node.set_synchronous_mode(True, sync_address).  Each universe holds one 512-wide
channel; setting all channels of frame k happens without an await, so pyartnet's
process task always sends a whole frame (every changed universe, then one sync).

pyartnet sends from an asyncio task every 1/max_fps s, only universes whose values
changed, so frames set faster than that merge (are skipped): frames are paced at
--fps and max_fps is set well above it.  Its refresh task also resends every
universe plus a sync every `refresh_every` s (default 2 s): that repeats the
current frame, which is harmless for the tests.
"""

from __future__ import annotations

import asyncio
import sys
import time

from _common import parse_args, pattern, require_loopback_target


def extra(p):
    p.add_argument("--sync-universe", type=int, default=63999,
                   help="E1.31 synchronization address (default 63999)")
    p.add_argument("--max-fps", type=int, default=0,
                   help="pyartnet's send rate (default: max(50, 4 x fps))")
    p.add_argument("--refresh-every", type=float, default=2.0)


async def run(a) -> None:
    from pyartnet import SacnNode

    max_fps = a.max_fps or max(50, int(4 * a.fps))
    node = SacnNode.create(a.host, a.port, source_ip="127.0.0.1", source_port=0,
                           max_fps=max_fps, refresh_every=a.refresh_every)
    node.set_synchronous_mode(True, a.sync_universe)
    async with node:
        # `async with` starts the refresh task; it first runs at our first await, by which
        # time the universes exist and hold frame 0 (no all-zero frame goes out).
        channels = []
        for u in range(a.universes):
            uni = node.add_universe(a.start_universe + u)
            channels.append(uni.add_channel(start=1, width=512))
        period = 1.0 / a.fps
        t0 = time.monotonic()
        for k in range(a.frames):
            delay = t0 + k * period - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            # no await between these: the process task sees the whole frame or none of it
            for u, ch in enumerate(channels):
                ch.set_values(pattern.universe_data(k, u))
        # let the process task send the last frame (it sleeps 10 ms, then 1/max_fps)
        await asyncio.sleep(max(0.1, 3.0 / max_fps))


def main() -> int:
    a = parse_args(__doc__.splitlines()[0], 5568, 1, extra)
    require_loopback_target(a.host)
    asyncio.run(run(a))
    return 0


if __name__ == "__main__":
    sys.exit(main())
