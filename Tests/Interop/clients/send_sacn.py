#!/usr/bin/env python3
"""Send the test pattern with the `sacn` library (E1.31 sender), synchronised.

Data goes unicast to --host; `flush()` sends every universe and then an E1.31
sync packet, which sacn 1.11.0 always sends by MULTICAST to the sync universe's
group 239.255.(S >> 8).(S & 0xFF) (TTL 255): so this script refuses to run outside a
network namespace of the test's own whose multicast route is lo.

Library facts this relies on (sacn 1.11.0, see CLIENTS.md):
- the sender socket binds (bind_address, bind_port); we bind 127.0.0.1:0 so it never
  takes 5568 from a receiver on the same host;
- the destination port is the module constant DEFAULT_PORT (5568) for every packet;
  --port other than 5568 patches that constant (the only way the library offers);
- manual_flush = True stops the sender thread from sending anything by itself;
- deactivate_output() sends three "stream terminated" packets per universe.
"""

from __future__ import annotations

import sys

from _common import (Pacer, die, parse_args, pattern, require_loopback_target,
                     require_multicast_via_lo)


def extra(p):
    p.add_argument("--sync-universe", type=int, default=63999,
                   help="E1.31 synchronization address (default 63999)")
    p.add_argument("--bind", default="127.0.0.1", help="source address (port is always 0)")
    p.add_argument("--source-name", default="panelsim-interop-sacn")
    p.add_argument("--multicast-data", action="store_true",
                   help="send data to the universes' groups instead of unicast to --host")
    p.add_argument("--no-terminate", action="store_true",
                   help="skip the three stream-terminated packets at the end")


def sync_group(universe: int) -> str:
    return f"239.255.{(universe >> 8) & 0xFF}.{universe & 0xFF}"


def main() -> int:
    a = parse_args(__doc__.splitlines()[0], 5568, 1, extra)
    import sacn
    import sacn.sending.sender_socket_udp as udp_mod

    if not (1 <= a.start_universe and a.start_universe + a.universes - 1 <= 63999):
        die("universes must lie in 1..63999")
    require_loopback_target(a.host)
    # flush() always multicasts the sync packet: allowed only inside a test namespace.
    require_multicast_via_lo(sync_group(a.sync_universe))
    if a.multicast_data:
        for u in range(a.universes):
            require_multicast_via_lo(sync_group(a.start_universe + u))

    if a.port != udp_mod.DEFAULT_PORT:
        udp_mod.DEFAULT_PORT = a.port  # read by SenderSocketUDP.send_packet at call time

    sender = sacn.sACNsender(bind_address=a.bind, bind_port=0,
                             source_name=a.source_name, fps=max(1, int(a.fps)),
                             universeDiscovery=False, sync_universe=a.sync_universe)
    sender.manual_flush = True  # before start(): the thread then never sends on its own
    sender.universeDiscovery = False
    universes = [a.start_universe + u for u in range(a.universes)]
    for uni in universes:
        sender.activate_output(uni)
        out = sender[uni]
        if a.multicast_data:
            out.multicast = True
            out.ttl = 1
        else:
            out.multicast = False
            out.destination = a.host
    sender.start()
    try:
        pacer = Pacer(a.fps)
        for k in range(a.frames):
            pacer.wait(k)
            for u, uni in enumerate(universes):
                sender[uni].dmx_data = tuple(pattern.universe_data(k, u))
            sender.flush()  # every universe (with the sync address), then the sync packet
    finally:
        if not a.no_terminate:
            for uni in universes:
                sender.deactivate_output(uni)  # three stream-terminated packets each
        sender.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
