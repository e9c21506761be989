"""Replays the UDP payloads of a pcap to HOST:PORT with the capture's own timing
(packet i leaves at start + (t_i - t_0) / speed; drift-free), as a technician's replay tool
or the project's acceptance check would. Only 127.0.0.0/8 destinations."""

from __future__ import annotations

import argparse
import ipaddress
import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import wire  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pcap", required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--speed", type=float, default=1.0)
    a = ap.parse_args()
    if not ipaddress.ip_address(a.host).is_loopback:
        sys.exit("replay_pcap.py sends only to loopback addresses")
    datagrams = list(wire.read_pcap(a.pcap))
    if not datagrams:
        sys.exit(f"{a.pcap}: no UDP datagrams")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    t0 = datagrams[0].time
    start = time.perf_counter()
    for d in datagrams:
        due = start + (d.time - t0) / a.speed
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        s.sendto(d.payload, (a.host, a.port))
    print(f"replayed {len(datagrams)} datagrams over {datagrams[-1].time - t0:.3f} s")


if __name__ == "__main__":
    main()
