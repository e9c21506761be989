#!/usr/bin/env python3
"""Send the test pattern with the `opclib` library (Open Pixel Control over TCP).

The pattern's universes are laid end to end as one RGB byte stream: frame k is one
set-pixels message (opclib.opc.Client.put_pixels) carrying universe_data(k, 0..U-1)
as (r, g, b) triplets, so U must be a multiple of 3.  Before the first frame the client
sends Fadecandy's interpolation setting (system exclusive, system id 0x0001).

Library facts (opclib 0.0.7): Client("host:port") connects lazily on the first
put_pixels, keeps one long connection, writes each message with socket.send (not
sendall) and returns False instead of raising when the connection fails.
"""

from __future__ import annotations

import sys

from _common import Pacer, die, parse_args, pattern, require_loopback_target


def main() -> int:
    a = parse_args(__doc__.splitlines()[0], 7890, 0)
    from opclib.opc import Client

    require_loopback_target(a.host)
    if a.universes % 3:
        die("--universes must be a multiple of 3 (whole RGB pixels)")
    client = Client(f"{a.host}:{a.port}", long_connection=True)
    if not client.can_connect():
        die(f"cannot connect to {a.host}:{a.port}", 1)
    client.set_interpolation(False)
    pacer = Pacer(a.fps)
    try:
        for k in range(a.frames):
            pacer.wait(k)
            data = b"".join(pattern.universe_data(k, u) for u in range(a.universes))
            pixels = [tuple(data[i:i + 3]) for i in range(0, len(data), 3)]
            if not client.put_pixels(pixels, channel=0):
                die(f"frame {k}: put_pixels failed", 1)
    finally:
        client.disconnect()
    return 0


if __name__ == "__main__":
    sys.exit(main())
