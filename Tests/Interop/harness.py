"""Helpers the interop tests share: the panelsim binary, `serve` sessions, network
namespaces, recordings, PNG files and tshark.

Everything here cleans up after itself: a Serve is stopped (SIGTERM, then SIGKILL)
and a Netns deleted even when the test fails.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
CLIENTS = HERE / "clients"
PYTHON = sys.executable  # the venv's python: the clients' libraries live there

READY_TIMEOUT = 20.0  # s for serve to write its ready file
STOP_TIMEOUT = 15.0  # s for serve to exit after SIGTERM


def panelsim_path() -> Path:
    env = os.environ.get("PANELSIM_BIN")
    if env:
        return Path(env)
    return REPO_ROOT / ".build" / "debug" / "panelsim"


def panelsim_missing_reason() -> Optional[str]:
    p = panelsim_path()
    if not p.exists():
        return (f"panelsim binary not found at {p} (build it with `swift build`, "
                f"or point PANELSIM_BIN at it)")
    if not os.access(p, os.X_OK):
        return f"panelsim binary at {p} is not executable"
    return None


def _tail(path: Path, n: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-n:]
    except OSError:
        return "<none>"


# ---------------------------------------------------------------- network namespaces

def netns_unavailable_reason() -> Optional[str]:
    if os.geteuid() != 0:
        return "needs root to create a network namespace (ip netns add)"
    if shutil.which("ip") is None:
        return "needs iproute2 (`ip`) for network namespaces"
    return None


class Netns:
    """A throw-away network namespace: only lo, up, with 224.0.0.0/4 routed to lo.

    Multicast sent inside it stays on its lo; nothing can leave it.
    """

    def __init__(self) -> None:
        self.name = f"psim-t{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.procs: List[subprocess.Popen] = []
        self.created = False

    def __enter__(self) -> "Netns":
        r = subprocess.run(["ip", "netns", "add", self.name], capture_output=True, text=True)
        if r.returncode != 0:
            raise NetnsError(f"ip netns add failed: {r.stderr.strip()}")
        self.created = True
        try:
            for cmd in (["ip", "-n", self.name, "link", "set", "lo", "up"],
                        ["ip", "-n", self.name, "route", "add", "224.0.0.0/4", "dev", "lo"]):
                r = subprocess.run(cmd, capture_output=True, text=True)
                if r.returncode != 0:
                    raise NetnsError(f"{' '.join(cmd)} failed: {r.stderr.strip()}")
            r = subprocess.run(self.prefix() + ["true"], capture_output=True, text=True)
            if r.returncode != 0:
                raise NetnsError(f"ip netns exec failed: {r.stderr.strip()}")
        except BaseException:
            self.close()
            raise
        return self

    def prefix(self) -> List[str]:
        return ["ip", "netns", "exec", self.name]

    def close(self) -> None:
        if not self.created:
            return
        # Only processes inside our own namespace: all of them were started by this test.
        r = subprocess.run(["ip", "netns", "pids", self.name], capture_output=True, text=True)
        for pid in r.stdout.split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ValueError, ProcessLookupError, PermissionError):
                pass
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)
        self.created = False

    def __exit__(self, *exc) -> None:
        self.close()


class NetnsError(RuntimeError):
    pass


# ---------------------------------------------------------------- serve

@dataclass
class Listening:
    controller: str
    protocol: str
    transport: str
    address: str
    port: int
    path: Optional[str] = None  # serial lines: the path a sender opens


class Serve:
    """`panelsim serve ...` with --record and --ready-file, stopped by SIGTERM.

    stop() returns the exit code; the context manager always stops (SIGKILL after
    STOP_TIMEOUT) and never leaves the process behind.
    """

    def __init__(self, args: Sequence[str], workdir: Path, prefix: Sequence[str] = (), record: Optional[Path] = None):
        self.workdir = Path(workdir)
        self.record = Path(record) if record is not None else self.workdir / "record"
        self.ready = self.workdir / "ready.json"
        self.stdout = self.workdir / "serve.stdout"
        self.stderr = self.workdir / "serve.stderr"
        self.cmd = [*prefix, str(panelsim_path()), "serve", *args,
                    "--record", str(self.record), "--ready-file", str(self.ready)]
        self.proc: Optional[subprocess.Popen] = None
        self.listening: List[Listening] = []
        self.returncode: Optional[int] = None

    def __enter__(self) -> "Serve":
        self.workdir.mkdir(parents=True, exist_ok=True)
        with open(self.stdout, "wb") as out, open(self.stderr, "wb") as err:
            self.proc = subprocess.Popen(self.cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        try:
            self._wait_ready()
        except BaseException:
            self.kill()
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"panelsim serve exited with {self.proc.returncode} before it was ready\n"
                    f"command: {' '.join(self.cmd)}\nstderr:\n{_tail(self.stderr)}")
            if self.ready.exists():
                try:
                    doc = json.loads(self.ready.read_text())
                except (OSError, ValueError):
                    doc = None  # written atomically by contract; tolerate a partial read once
                if doc is not None:
                    self.listening = [Listening(l["controller"], l["protocol"], l["transport"],
                                                l.get("address", ""), int(l.get("port", 0)), l.get("path"))
                                      for l in doc["listening"]]
                    return
            time.sleep(0.05)
        raise AssertionError(f"panelsim serve wrote no ready file in {READY_TIMEOUT} s\n"
                             f"command: {' '.join(self.cmd)}\nstderr:\n{_tail(self.stderr)}")

    def port(self, controller: str) -> int:
        for l in self.listening:
            if l.controller == controller:
                return l.port
        raise AssertionError(f"no listening entry for controller {controller!r}: {self.listening}")

    def path(self, controller: str) -> str:
        """The serial line a serial controller serves (a PTY's slave path or a tty)."""
        for l in self.listening:
            if l.controller == controller and l.path:
                return l.path
        raise AssertionError(f"no serial line for controller {controller!r}: {self.listening}")

    def stop(self) -> int:
        """SIGTERM, wait; returns the exit code (SIGKILL and an error if it hangs)."""
        if self.proc is None:
            return -1
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.kill()
                raise AssertionError(f"panelsim serve did not stop within {STOP_TIMEOUT} s of SIGTERM")
        self.returncode = self.proc.returncode
        return self.returncode

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def __exit__(self, *exc) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.stop()
            except AssertionError:
                pass
        self.kill()

    def diagnostics(self) -> str:
        return (f"command: {' '.join(self.cmd)}\nexit: {self.returncode}\n"
                f"stderr:\n{_tail(self.stderr)}\nstdout:\n{_tail(self.stdout, 2000)}")


def run_panelsim(args: Sequence[str], timeout: float = 60, prefix: Sequence[str] = (),
                 check: bool = True) -> subprocess.CompletedProcess:
    cmd = [*prefix, str(panelsim_path()), *args]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {r.returncode}\nstderr:\n{r.stderr[-4000:]}\n"
                             f"stdout:\n{r.stdout[-2000:]}")
    return r


def run_client(script: str, args: Sequence[str], timeout: float = 60,
               prefix: Sequence[str] = ()) -> subprocess.CompletedProcess:
    cmd = [*prefix, PYTHON, str(CLIENTS / script), *args]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    if r.returncode != 0:
        raise AssertionError(f"client {' '.join(cmd)} exited {r.returncode}\nstderr:\n{r.stderr[-4000:]}")
    return r


# ---------------------------------------------------------------- recordings

@dataclass
class Recording:
    folder: Path
    frames: List[dict]
    meta: dict

    def written(self) -> List[dict]:
        return [f for f in self.frames if f.get("file")]


def read_recording(record_dir: Path, controller: str) -> Recording:
    folder = Path(record_dir) / controller
    assert folder.is_dir(), f"no recording folder {folder} (found: {sorted(p.name for p in Path(record_dir).glob('*'))})"
    jl = folder / "frames.jsonl"
    assert jl.is_file(), f"missing {jl}"
    frames = []
    for n, line in enumerate(jl.read_text().splitlines(), 1):
        if line.strip():
            try:
                frames.append(json.loads(line))
            except ValueError as e:
                raise AssertionError(f"{jl}:{n}: not JSON: {e}: {line[:200]}")
    rj = folder / "recording.json"
    assert rj.is_file(), f"missing {rj} (it must be written at stop, also on SIGTERM)"
    meta = json.loads(rj.read_text())
    for f in frames:
        for key in ("index", "time", "file", "torn", "universes", "sources"):
            assert key in f, f"frames.jsonl entry without {key!r}: {f}"
    counters = meta.get("counters")
    assert isinstance(counters, dict), f"recording.json has no counters object: {meta}"
    for key in ("packets", "frames", "torn"):
        assert key in counters, f"recording.json counters lack {key!r}: {counters}"
    return Recording(folder, frames, meta)


# ---------------------------------------------------------------- PNG

def read_png(path) -> tuple:
    """(width, height, planes, rows as lists of ints); 8-bit only."""
    import png
    w, h, rows, info = png.Reader(filename=str(path)).asDirect()
    assert info["bitdepth"] == 8, f"{path}: bit depth {info['bitdepth']}"
    return w, h, info["planes"], [list(r) for r in rows]


def read_rgb_png(path) -> List[List[int]]:
    """Rows of R,G,B bytes; gray is expanded, alpha dropped."""
    w, h, planes, rows = read_png(path)
    out = []
    for r in rows:
        if planes == 3:
            out.append(r)
        elif planes == 4:
            out.append([v for i, v in enumerate(r) if i % 4 != 3])
        elif planes == 1:
            out.append([v for g in r for v in (g, g, g)])
        elif planes == 2:
            out.append([v for g in r[0::2] for v in (g, g, g)])
    return out


def write_png(path, width: int, height: int, rows: List[List[int]], rgb: bool) -> None:
    import png
    w = png.Writer(width, height, greyscale=not rgb, bitdepth=8)
    with open(path, "wb") as f:
        w.write(f, rows)


# ---------------------------------------------------------------- tshark

TSHARK_SACN = ["--enable-heuristic", "acn", "-o", "acn.dmx_enable:TRUE"]


def tshark_fields(pcap, fields: Sequence[str], extra: Sequence[str] = (),
                  display_filter: Optional[str] = None) -> List[Dict[str, str]]:
    cmd = ["tshark", "-n", "-r", str(pcap), *extra, "-T", "fields", "-E", "separator=\t",
           "-E", "occurrence=a", "-E", "aggregator=,"]
    if display_filter:
        cmd += ["-Y", display_filter]
    for f in fields:
        cmd += ["-e", f]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, f"{' '.join(cmd)} failed:\n{r.stderr[-2000:]}"
    rows = []
    for line in r.stdout.splitlines():
        parts = line.split("\t")
        parts += [""] * (len(fields) - len(parts))
        rows.append(dict(zip(fields, parts)))
    return rows


def to_int(s: str) -> int:
    return int(s, 0) if s else -1


def pattern_frames(rec: "Recording", start: int, universes: int) -> List[int]:
    """The pattern frame number k of every written frame, checking that each is a whole
    pattern frame (none torn or mis-mapped) made of universes start..start+universes-1 and
    naming its sources."""
    import pattern  # local: pattern imports nothing from here
    ks = []
    for f in rec.written():
        png_path = rec.folder / f["file"]
        assert png_path.is_file(), f"frames.jsonl names {f['file']} but it is missing"
        k = pattern.identify_png(png_path)
        assert k is not None, (f"frame {f['index']} ({f['file']}) is not a whole pattern frame "
                               f"(torn or mis-mapped): row 0 starts {pattern.read_gray_png(png_path)[0][:8]}")
        ks.append(k)
        assert sorted(f["universes"]) == list(range(start, start + universes)), \
            f"frame {f['index']}: universes {f['universes']}, expected {start}..{start + universes - 1}"
        assert f["sources"], f"frame {f['index']} has no sources"
        for src in f["sources"]:
            assert "address" in src and "port" in src, f"source without address/port: {src}"
    return ks
