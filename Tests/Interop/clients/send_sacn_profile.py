#!/usr/bin/env python3
"""Send constant levels with the `sacn` library (E1.31), unicast, no sync: optionally as
preview data, optionally with per-address priority (start code 0xDD), and optionally a
second source at once, for the quirk-profile tests.

The library's own sender thread sends each universe when its data changes and every
second (manual_flush stays off), so no sync packet and nothing multicast is ever sent;
per-address priority, when set, goes out as a 0xDD packet before every data packet
(sacn 1.11.0, sending/sender_handler.py).  No stream-terminated packets at the end:
the receiver keeps the last picture.

Levels: --level V for every slot; --pap SPEC gives the 0xDD priorities as
comma-separated VALUExCOUNT runs that add up to 512 (e.g. 150x256,0x256).
--second-level/--second-priority add a second source (its own CID) without 0xDD.
"""

from __future__ import annotations

import sys
import time

from _common import die, parse_args, require_loopback_target


def extra(p):
    p.add_argument("--level", type=int, default=128)
    p.add_argument("--priority", type=int, default=100)
    p.add_argument("--preview", action="store_true", help="set the Preview_Data option bit")
    p.add_argument("--pap", default="", help="per-address priorities, VALUExCOUNT runs adding up to 512")
    p.add_argument("--second-level", type=int, default=-1, help="also send from a second source at this level")
    p.add_argument("--second-priority", type=int, default=100)
    p.add_argument("--seconds", type=float, default=1.0)


def runs(spec: str) -> tuple:
    out = []
    for part in spec.split(","):
        value, _, count = part.partition("x")
        out += [int(value)] * int(count)
    if len(out) != 512:
        die(f"--pap must give 512 priorities, gave {len(out)}")
    return tuple(out)


def main() -> int:
    a = parse_args(__doc__.splitlines()[0], 5568, 1, extra)
    import sacn
    import sacn.sending.sender_socket_udp as udp_mod

    require_loopback_target(a.host)
    if a.port != udp_mod.DEFAULT_PORT:
        udp_mod.DEFAULT_PORT = a.port  # read by SenderSocketUDP.send_packet at call time
    universes = [a.start_universe + u for u in range(a.universes)]

    def source(name: str, level: int, priority: int, pap: tuple, cid: tuple):
        s = sacn.sACNsender(bind_address="127.0.0.1", bind_port=0, source_name=name, cid=cid,
                            fps=max(1, int(a.fps)), universeDiscovery=False)
        for uni in universes:
            s.activate_output(uni)
            out = s[uni]
            out.multicast = False
            out.destination = a.host
            out.priority = priority
            out.preview_data = a.preview
            if pap:
                out.per_address_priority = pap
            out.dmx_data = tuple([level] * 512)
        return s

    senders = [source("profile-a", a.level, a.priority, runs(a.pap) if a.pap else (), tuple(range(16)))]
    if a.second_level >= 0:
        senders.append(source("profile-b", a.second_level, a.second_priority, (), tuple(range(16, 32))))
    for s in senders:
        s.start()
    try:
        end = time.monotonic() + a.seconds
        while time.monotonic() < end:
            # Setting the data marks it changed, so every source sends at --fps, not once a second.
            for s in senders:
                for uni in universes:
                    s[uni].dmx_data = tuple(s[uni].dmx_data)
            time.sleep(1.0 / a.fps)
    finally:
        for s in senders:
            s.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
