#!/usr/bin/env python3
"""Send the test pattern with `stupidartnet` (Art-Net ArtDmx), frames --first .. --first+N-1,
optionally with one ArtSync per frame (the library's send_artsync() after every
universe's show()).

stupidartnet's own artsync=True sends an ArtSync after EVERY universe's ArtDmx (see
send_stupidartnet.py), so it stays off and the sync is sent here once per frame, by
the first universe's object.  The sequence byte is always 0 (sequencing off).
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
        for n in range(a.frames):
            pacer.wait(n)
            for u, node in enumerate(nodes):
                node.set(bytearray(pattern.universe_data(a.first + n, u)))
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
