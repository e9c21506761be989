#!/usr/bin/env python3
"""Send the test pattern with the `stupidartnet` library (Art-Net ArtDmx), frames
--first .. --first+N-1, with --artsync one ArtSync per frame.

One StupidArtnet object per universe (stupidartnet 1.6.0 takes a `port` argument),
512 channels each; frame k is every universe's show() in ascending order.  The
library's own timer thread (start()) is not used: frames are paced here.

Library facts (stupidartnet 1.6.0, see CLIENTS.md): the sequence byte is written into
the header once, when the header is built, so it is always 0 on the wire; universe
goes out "simplified" (port-address low byte in SubUni, high byte in Net); ArtSync,
when enabled with artsync=True, follows EVERY universe's ArtDmx, not each frame, so it
stays off and --artsync sends it here once per frame (the library's send_artsync() on
the first universe's object).
"""

from __future__ import annotations

import sys

from _common import Pacer, parse_args, pattern, require_loopback_target


def extra(p):
    p.add_argument("--first", type=int, default=0, help="pattern frame number of the first frame")
    p.add_argument("--artsync", action="store_true", help="send an ArtSync after each frame")


def main() -> int:
    a = parse_args(__doc__.splitlines()[0], 6454, 0, extra)
    from stupidArtnet import StupidArtnet

    require_loopback_target(a.host)
    nodes = [StupidArtnet(target_ip=a.host, universe=a.start_universe + u, packet_size=512,
                          fps=max(1, int(a.fps)), even_packet_size=True, broadcast=False,
                          port=a.port)
             for u in range(a.universes)]
    try:
        pacer = Pacer(a.fps)
        for k in range(a.frames):
            pacer.wait(k)
            for u, node in enumerate(nodes):
                node.set(bytearray(pattern.universe_data(a.first + k, u)))
                node.show()
            if a.artsync:
                nodes[0].send_artsync()
    finally:
        for node in nodes:
            node.stop()
            node.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
