"""Shared bits of the sender scripts: arguments, pacing, and the network guard.

The guard enforces the test rules: traffic goes to 127.0.0.0/8 only, or, inside a
network namespace whose only interface is lo (a test namespace), to whatever that
namespace routes.  Multicast is allowed only inside such a namespace and only
when the kernel routes the group via lo.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import subprocess
import sys
import time
from typing import NoReturn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # Tests/Interop, for pattern.py

import pattern  # noqa: E402  (re-exported for the scripts)

__all__ = ["pattern", "parse_args", "Pacer", "require_loopback_target",
           "require_multicast_via_lo", "in_private_netns", "die"]


def die(msg: str, code: int = 2) -> NoReturn:
    print(f"{os.path.basename(sys.argv[0])}: {msg}", file=sys.stderr)
    sys.exit(code)


def parse_args(description: str, default_port: int, default_start: int,
               extra=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=default_port)
    p.add_argument("--start-universe", type=int, default=default_start)
    p.add_argument("--universes", type=int, default=4, help="U, one universe per row")
    p.add_argument("--frames", type=int, default=40, help="N, frames k = 0..N-1")
    p.add_argument("--fps", type=float, default=20.0)
    if extra:
        extra(p)
    a = p.parse_args()
    if a.universes < 1 or a.frames < 1 or a.fps <= 0:
        die("--universes, --frames and --fps must be positive")
    return a


class Pacer:
    """Absolute schedule t0 + k / fps (no drift)."""

    def __init__(self, fps: float):
        self.period = 1.0 / fps
        self.t0 = time.monotonic()

    def wait(self, k: int) -> None:
        delay = self.t0 + k * self.period - time.monotonic()
        if delay > 0:
            time.sleep(delay)


def in_private_netns() -> bool:
    """True when this process's network namespace has no interface but lo.

    That is what a test namespace looks like (ip netns add; only lo up), and it is
    the property that matters: nothing sent there can leave the machine.  The host's
    namespace always has another interface.
    """
    import socket
    try:
        names = {name for _, name in socket.if_nameindex()}
    except OSError:
        return False
    return names == {"lo"}


def require_loopback_target(host: str) -> None:
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        die(f"--host must be an IP address, got {host!r}")
    if ip.is_loopback:
        return
    if in_private_netns() and not ip.is_multicast:
        return
    die(f"refusing to send to {host}: only 127.0.0.0/8 (or unicast inside a test namespace)")


def require_multicast_via_lo(group: str) -> None:
    if not in_private_netns():
        die(f"refusing to send multicast ({group}) from the host's network namespace; "
            "run this inside a test namespace (ip netns exec ...)")
    try:
        out = subprocess.run(["ip", "-o", "route", "get", group], capture_output=True,
                             text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        die(f"cannot check the route to {group}: {e}")
    if " dev lo " not in out + " ":
        die(f"refusing to send multicast: {group} is not routed via lo ({out.strip()})")
