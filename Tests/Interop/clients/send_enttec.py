"""Drives pyenttec (an Enttec DMX USB Pro host library) through a serial path (a PTY that
`panelsim serve --protocol enttec-pro` made): pyenttec first writes its parameters
(label 4), then one label-6 message per render(). Sends pattern frames k = 0..N-1,
universe offset 0 (512 slots), at --fps."""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import Pacer, pattern  # noqa: E402

import pyenttec  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--device", required=True, help="serial path (PTY slave or its symlink)")
    p.add_argument("--frames", type=int, default=20)
    p.add_argument("--fps", type=float, default=20)
    a = p.parse_args()
    port = pyenttec.DMXConnection(a.device)
    pacer = Pacer(a.fps)
    for k in range(a.frames):
        pacer.wait(k)
        for c, v in enumerate(pattern.universe_data(k, 0)):
            port.dmx_frame[c] = v
        port.render()
    port.com.flush()
    port.close()


if __name__ == "__main__":
    main()
