#!/usr/bin/env python3
"""Print what is in a capture of Art-Net / E1.31 traffic, one line per datagram,
naming the pattern frame k each data packet carries (see pattern.py).

    python3 decode.py CAPTURE.pcap [--start-universe N]

Classic pcap is read directly; pcapng is converted with tshark first.  Used to learn
the clients' wire behaviour recorded in CLIENTS.md.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pattern  # noqa: E402
import wire  # noqa: E402


def frames_of(data: bytes, u: int) -> list:
    return [k for k in range(pattern.PERIOD) if pattern.universe_data(k, u)[:len(data)] == data]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("capture")
    ap.add_argument("--start-universe", type=int, default=None,
                    help="universe offset 0 (default: 0 for Art-Net, 1 for sACN)")
    a = ap.parse_args()
    path = a.capture
    with open(path, "rb") as f:
        if f.read(4) == b"\x0a\x0d\x0d\x0a":
            tmp = tempfile.NamedTemporaryFile(suffix=".pcap", delete=False)
            subprocess.run(["tshark", "-r", path, "-F", "pcap", "-w", tmp.name], check=True,
                           stderr=subprocess.DEVNULL)
            path = tmp.name
    t0 = None
    for d in wire.read_pcap(path):
        t0 = d.time if t0 is None else t0
        art, acn = wire.parse_artnet(d.payload), wire.parse_e131(d.payload)
        desc = "?"
        if art:
            desc = f"artnet op={art.opcode:#06x}"
            if art.opcode == wire.OP_DMX:
                start = 0 if a.start_universe is None else a.start_universe
                desc += (f" seq={art.sequence} phys={art.physical} uni={art.universe} len={art.length}"
                         f" k={frames_of(art.data, art.universe - start)}")
        elif acn:
            desc = f"e131 {acn.kind} rootlen={acn.root_length}"
            if acn.kind == "data":
                start = 1 if a.start_universe is None else a.start_universe
                desc += (f" name={acn.source_name!r} prio={acn.priority} sync={acn.sync_address}"
                         f" seq={acn.sequence} opt={acn.options:#04x} uni={acn.universe}"
                         f" count={acn.property_count} sc={acn.start_code}"
                         f" k={frames_of(acn.data, acn.universe - start)}")
            elif acn.kind == "sync":
                desc += f" seq={acn.sequence} sync={acn.sync_address}"
        print(f"{d.time - t0:9.4f} {d.src}:{d.sport} -> {d.dst}:{d.dport} len={len(d.payload)} {desc}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:
        sys.exit(0)
