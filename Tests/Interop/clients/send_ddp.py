#!/usr/bin/env python3
"""Send the test pattern with the `python-led-ddp` library (DDP, PUSH on each frame's last packet).

The panel is gray 512 x U in chain order, so frame k is the U rows of the pattern one
after the other: U x 512 bytes written from offset 0 with DDPConnection.write().

Library facts (python-led-ddp 1.0.1, INTEROP.md): write() cuts the data into packets of
1440 bytes, flags 0x40 and 0x41 (PUSH) on the last, sequence 1..15 per packet, data
type 0x0D (RGB, 24 bits per pixel, which a display reads in its own format), destination 1.
"""

from __future__ import annotations

import asyncio
import sys

from _common import Pacer, parse_args, pattern, require_loopback_target


async def send(a) -> None:
    from ddp import DDPConnection, ID, PixelConfig

    conn = await DDPConnection.create(f"{a.host}:{a.port}", PixelConfig.default(), ID.DEFAULT,
                                      local_addr="127.0.0.1:0")
    try:
        pacer = Pacer(a.fps)
        for k in range(a.frames):
            pacer.wait(k)  # blocks the loop: nothing else runs on it meanwhile
            await conn.write(b"".join(pattern.universe_data(k, u) for u in range(a.universes)))
    finally:
        await conn.close()


def main() -> int:
    a = parse_args(__doc__.splitlines()[0], 4048, 0)
    require_loopback_target(a.host)
    asyncio.run(send(a))
    return 0


if __name__ == "__main__":
    sys.exit(main())
