"""The real OLA daemon (Debian `ola`, olad 0.10.9) against `panelsim serve`: every
frame sent through OLA must be recorded whole, in order, ending with the last one sent.

olad's network plugins pick the first non-loopback interface and broadcast there, so
each test builds a world of its own: two network namespaces joined by a veth pair
(10.213.7.1/24 for olad, 10.213.7.2/24 for serve, broadcast address set, 224.0.0.0/4
routed over the veth, no default route). Nothing leaves them.

- Art-Net: olad broadcasts ArtPoll; serve (0.0.0.0:6454 in the other namespace) must
  answer with ArtPollReplies naming its universes, or OLA sends it no ArtDmx at all
  (unicast mode).
- E1.31: olad multicasts to 239.255.0.U; serve (0.0.0.0:5568) joins the groups on its
  veth. On SIGTERM olad ends each universe with three stream-terminated packets.

Frames go in as lines of 512 slots on the stdin of one `ola_streaming_client` per
universe (20 frames at 10 fps). olad runs as the `olad` user (it refuses root) with a
config directory of the test's own where every plugin but the one under test is
disabled (templates in ola/). Wire behaviour is written up in CLIENTS.md.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import string
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Dict, List, Optional

import pytest

import harness
import pattern

U = 4  # universes = rows
N = 20  # frames
FPS = 10
SETTLE = 0.5  # s between steps at the end: last frame -> stop olad -> stop serve
SUBSCRIBE_WAIT = 1.0  # s after patching for OLA's ArtPoll and serve's ArtPollReply
OLAD_READY_TIMEOUT = 15.0
OLAD_STOP_TIMEOUT = 10.0
OLA_TEMPLATES = harness.HERE / "ola"

ADDR_A = "10.213.7.1"  # olad's side
ADDR_B = "10.213.7.2"  # serve's side
PREFIX_LEN = 24

# Config names of every olad 0.10.9 plugin: all are written `enabled = false` except the
# one under test, so no plugin probes serial ports or USB devices of the host.
OLA_PLUGINS = ("artnet", "dummy", "e131", "espnet", "ftdidmx", "gpio", "karate", "kinet",
               "milinst", "opendmx", "openpixelcontrol", "osc", "pathport", "renard",
               "sandnet", "shownet", "spi", "stageprofi", "uartdmx", "usbdmx", "usbserial")
OLA_TOOLS = ("olad", "ola_dev_info", "ola_patch", "ola_streaming_client")


def ola_unavailable_reason() -> Optional[str]:
    reason = harness.netns_unavailable_reason()
    if reason:
        return reason
    for tool in OLA_TOOLS:
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install ola)"
    if shutil.which("setpriv") is None:
        return "needs setpriv (util-linux) to run olad as the olad user"
    try:
        pwd.getpwnam("olad")
    except KeyError:
        return "no `olad` user (the Debian ola package creates it); olad refuses to run as root"
    return None


def _run(cmd: List[str], timeout: float = 10) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def _must(cmd: List[str]) -> str:
    r = _run(cmd)
    if r.returncode != 0:
        raise harness.NetnsError(f"{' '.join(cmd)} failed: {r.stderr.strip()}")
    return r.stdout


# ---------------------------------------------------------------- two namespaces, one veth

class VethPair:
    """Namespaces A (olad) and B (serve), joined by a veth pair created inside them.

    Like harness.Netns, close() kills what runs in them (all of it started by the
    test) and deletes them, which also deletes the veth pair.
    """

    def __init__(self) -> None:
        tag = uuid.uuid4().hex[:6]
        self.ns_a = f"ps-ola-{os.getpid()}-{tag}-a"
        self.ns_b = f"ps-ola-{os.getpid()}-{tag}-b"
        self.if_a = f"vo{tag}a"  # interface names: 15 characters at most
        self.if_b = f"vo{tag}b"
        self.created: List[str] = []

    def __enter__(self) -> "VethPair":
        try:
            for ns in (self.ns_a, self.ns_b):
                _must(["ip", "netns", "add", ns])
                self.created.append(ns)
                # No IPv6 chatter (router solicitations, MLD) on the link; best effort.
                _run(["ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
                      "net.ipv6.conf.default.disable_ipv6=1"])
                _must(["ip", "-n", ns, "link", "set", "lo", "up"])
            # Both ends are born inside the namespaces: the host never sees them.
            _must(["ip", "link", "add", self.if_a, "netns", self.ns_a, "type", "veth",
                   "peer", "name", self.if_b, "netns", self.ns_b])
            for ns, ifname, addr in ((self.ns_a, self.if_a, ADDR_A), (self.ns_b, self.if_b, ADDR_B)):
                # `brd +` matters: without a broadcast address OLA's interface picker reads
                # 0.0.0.0 and its "broadcasts" (ArtPoll) go to the local host only.
                _must(["ip", "-n", ns, "addr", "add", f"{addr}/{PREFIX_LEN}", "brd", "+", "dev", ifname])
                _must(["ip", "-n", ns, "link", "set", ifname, "up"])
                _must(["ip", "-n", ns, "route", "add", "224.0.0.0/4", "dev", ifname])
        except BaseException:
            self.close()
            raise
        return self

    def prefix_a(self) -> List[str]:
        return ["ip", "netns", "exec", self.ns_a]

    def prefix_b(self) -> List[str]:
        return ["ip", "netns", "exec", self.ns_b]

    def close(self) -> None:
        for ns in self.created:
            r = _run(["ip", "netns", "pids", ns])
            for pid in r.stdout.split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ValueError, ProcessLookupError, PermissionError):
                    pass
        for ns in self.created:
            _run(["ip", "netns", "del", ns])
        self.created = []

    def __exit__(self, *exc) -> None:
        self.close()


@pytest.fixture
def ola_link():
    reason = ola_unavailable_reason()
    if reason:
        pytest.skip(reason)
    link = VethPair()
    try:
        link.__enter__()
    except harness.NetnsError as e:
        pytest.skip(f"cannot create network namespaces and a veth pair here: {e}")
    try:
        yield link
    finally:
        link.close()


# ---------------------------------------------------------------- olad

class Olad:
    """olad in namespace A as the olad user, with only `plugin` enabled.

    The config directory lives under /tmp (pytest's tmp_path is root-only) and belongs
    to olad; it is copied to workdir/ola-config at the end and removed.
    """

    def __init__(self, link: VethPair, plugin: str, values: Dict[str, str], workdir: Path):
        self.link = link
        self.plugin = plugin
        self.values = values
        self.workdir = Path(workdir)
        self.log = self.workdir / "olad.log"
        self.config: Optional[Path] = None
        self.proc: Optional[subprocess.Popen] = None
        self.device: Optional[int] = None
        self.returncode: Optional[int] = None

    def __enter__(self) -> "Olad":
        self.workdir.mkdir(parents=True, exist_ok=True)
        user = pwd.getpwnam("olad")
        self.config = Path(tempfile.mkdtemp(prefix="ps-ola-config-"))
        try:
            for p in OLA_PLUGINS:
                (self.config / f"ola-{p}.conf").write_text("enabled = false\n")
            template = (OLA_TEMPLATES / f"ola-{self.plugin}.conf").read_text()
            (self.config / f"ola-{self.plugin}.conf").write_text(
                string.Template(template).substitute(self.values))
            for path in (self.config, *self.config.iterdir()):
                os.chown(path, user.pw_uid, user.pw_gid)
            cmd = [*self.link.prefix_a(), "setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}",
                   "--clear-groups", "--", "olad", "-c", str(self.config), "--no-http",
                   "--no-register-with-dns-sd", "-l", "3"]
            with open(self.log, "wb") as out:
                self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                             stdin=subprocess.DEVNULL)
            self.device = self._wait_device()
        except BaseException:
            self.__exit__()
            raise
        return self

    def ola(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """An OLA client tool in namespace A (it talks to olad on 127.0.0.1:9010 there)."""
        r = _run([*self.link.prefix_a(), *args])
        if check and r.returncode != 0:
            raise AssertionError(f"{' '.join(args)} exited {r.returncode}: {r.stderr.strip()}\n"
                                 f"{self.diagnostics()}")
        return r

    def devices(self) -> Dict[int, str]:
        r = self.ola("ola_dev_info", check=False)
        if r.returncode != 0:
            return {}
        return {int(m.group(1)): m.group(2)
                for m in re.finditer(r"^Device (\d+): (.*)$", r.stdout, re.MULTILINE)}

    def _wait_device(self) -> int:
        names = {"artnet": "ArtNet", "e131": "E1.31"}
        deadline = time.monotonic() + OLAD_READY_TIMEOUT
        devices: Dict[int, str] = {}
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"olad exited with {self.proc.returncode} at start\n{self.diagnostics()}")
            devices = self.devices()
            if devices:
                break
            time.sleep(0.2)
        assert devices, f"olad showed no device within {OLAD_READY_TIMEOUT} s\n{self.diagnostics()}"
        # Exactly one device: every other plugin is off, and this one found its interface.
        assert len(devices) == 1 and names[self.plugin] in next(iter(devices.values())), \
            f"olad devices {devices}, expected only the {names[self.plugin]} device\n{self.diagnostics()}"
        return next(iter(devices))

    def patch(self, universes: List[int]) -> None:
        """Output port i of the device -> OLA universe universes[i]."""
        for port, u in enumerate(universes):
            self.ola("ola_patch", "-d", str(self.device), "-p", str(port), "-u", str(u))
        info = self.ola("ola_dev_info").stdout
        for port, u in enumerate(universes):
            assert re.search(rf"port {port}, OUT.*patched to universe {u}\b", info), \
                f"output port {port} not patched to universe {u}:\n{info}"

    def stop(self) -> Optional[int]:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(OLAD_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc is not None:
            self.returncode = self.proc.returncode
        return self.returncode

    def diagnostics(self) -> str:
        return f"olad exit: {self.returncode}\nolad log ({self.log}):\n{harness._tail(self.log, 3000)}"

    def __exit__(self, *exc) -> None:
        self.stop()
        if self.config is not None:
            shutil.copytree(self.config, self.workdir / "ola-config", dirs_exist_ok=True)
            shutil.rmtree(self.config, ignore_errors=True)
            self.config = None


# ---------------------------------------------------------------- sending through OLA

def send_frames(olad: Olad, universes: List[int]) -> None:
    """Pattern frames 0..N-1 at FPS: one ola_streaming_client per universe, fed on stdin
    (one line of 512 comma-separated slots = one DmxBuffer for its universe)."""
    logs = [olad.workdir / f"streaming-client-{u}.log" for u in universes]
    procs: List[subprocess.Popen] = []
    try:
        for u, log in zip(universes, logs):
            with open(log, "wb") as out:
                procs.append(subprocess.Popen([*olad.link.prefix_a(), "ola_streaming_client", "-u", str(u)],
                                              stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT))
        time.sleep(0.3)  # let them connect to olad
        for u, p in zip(universes, procs):
            assert p.poll() is None, (f"ola_streaming_client -u {u} exited {p.returncode}: "
                                      f"{harness._tail(logs[universes.index(u)])}")
        t0 = time.monotonic()
        for k in range(N):
            for off, p in enumerate(procs):
                p.stdin.write((",".join(map(str, pattern.universe_data(k, off))) + "\n").encode())
                p.stdin.flush()
            time.sleep(max(0.0, t0 + (k + 1) / FPS - time.monotonic()))
        for p in procs:
            p.stdin.close()
        for u, p, log in zip(universes, procs, logs):
            code = p.wait(10)
            assert code == 0, f"ola_streaming_client -u {u} exited {code}: {harness._tail(log)}"
    except BrokenPipeError:
        raise AssertionError("an ola_streaming_client went away while sending: "
                             + " | ".join(harness._tail(l, 500) for l in logs))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(5)


# ---------------------------------------------------------------- checks

def check_recording(serve: harness.Serve, olad: Olad, controller: str, start: int) -> harness.Recording:
    """Stops olad, then serve; every frame sent through OLA must be recorded, whole and
    once, in order. Returns the recording for protocol-specific checks."""
    time.sleep(SETTLE)  # the last frame is on the wire; let serve take it in
    olad.stop()  # E1.31: olad now sends stream-terminated packets, which serve must take calmly
    time.sleep(SETTLE)
    code = serve.stop()
    diag = serve.diagnostics() + "\n" + olad.diagnostics()
    assert code == 0, f"serve did not stop cleanly on SIGTERM\n{diag}"
    rec = harness.read_recording(serve.record, controller)
    counters = rec.meta["counters"]

    torn = [f for f in rec.frames if f["torn"]]
    assert not torn, f"{len(torn)} torn frame(s), first: {torn[0]}\n{diag}"
    assert counters["torn"] == 0, counters
    assert not counters.get("malformed"), f"OLA's packets counted malformed: {counters['malformed']}\n" \
                                          f"{rec.meta.get('malformed')}"
    assert not counters.get("violations"), f"spec violations reported for OLA: {counters['violations']}\n" \
                                           f"{rec.meta.get('findings')}"

    written = rec.written()
    assert len(written) == len(rec.frames), \
        f"frames not written: {[f for f in rec.frames if not f.get('file')][:3]}"
    ks = harness.pattern_frames(rec, start, U)
    for f in written:
        assert all(s.get("address") == ADDR_A for s in f["sources"]), \
            f"frame {f['index']}: sources {f['sources']}, expected olad at {ADDR_A}"

    assert ks, f"no frames recorded; counters {counters}\n{diag}"
    assert all(a < b for a, b in zip(ks, ks[1:])), f"frames out of order or repeated: {ks}"
    assert ks[-1] == N - 1, f"last recorded frame is k={ks[-1]}, expected {N - 1}: {ks}"
    assert ks == list(range(N)), f"frames sent through OLA missing from the recording: {ks}\n" \
                                 f"counters {counters}\n{diag}"
    assert counters["frames"] == N, counters
    return rec


def replay_capture(tmp_path, capture, protocol: str, start: int) -> None:
    """OLA's traffic as serve captured it, replayed with its original timing into a fresh serve
    on 127.0.0.1 (gray 512xU, default start universe): the same frames, whole and in order."""
    assert capture.is_file() and capture.stat().st_size > 24, f"serve --pcap wrote no capture at {capture}"
    args = ["--protocol", protocol, "--listen", "127.0.0.1:0", "--size", f"512x{U}", "--pixel", "gray",
            "--channels-per-universe", "512"]
    with harness.Serve(args, tmp_path / "replay") as serve:
        harness.run_client("replay_pcap.py", ["--pcap", str(capture), "--host", "127.0.0.1",
                                              "--port", str(serve.port(protocol))])
        time.sleep(SETTLE)
        assert serve.stop() == 0, serve.diagnostics()
    rec = harness.read_recording(serve.record, protocol)
    assert not [f for f in rec.frames if f["torn"]], [f for f in rec.frames if f["torn"]][:2]
    ks = harness.pattern_frames(rec, start, U)
    assert ks == list(range(N)), f"replayed OLA traffic: frames {ks}"


# ---------------------------------------------------------------- tests

def _serve_args(protocol: str, listen: str, extra=()):
    return ["--protocol", protocol, "--listen", listen, "--size", f"512x{U}", "--pixel", "gray",
            "--channels-per-universe", "512", *extra]


def test_ola_artnet(panelsim, ola_link, tmp_path):
    # serve must listen on 0.0.0.0: bound to 10.213.7.2 it never sees OLA's broadcast
    # ArtPoll, never answers, and OLA sends it no ArtDmx (measured; see CLIENTS.md).
    start = 0
    capture = tmp_path / "ola-artnet.pcap"
    with harness.Serve(_serve_args("artnet", "0.0.0.0:6454", ["--pcap", str(capture), "--allow-remote"]), tmp_path / "serve",
                       prefix=ola_link.prefix_b()) as serve, \
            Olad(ola_link, "artnet", {"ip": ADDR_A}, tmp_path / "olad") as olad:
        # Patching ports 1..3 makes olad broadcast an ArtPoll; serve answers with one
        # ArtPollReply per universe, and OLA subscribes serve's address to each universe.
        olad.patch(list(range(start, start + U)))
        time.sleep(SUBSCRIBE_WAIT)
        send_frames(olad, list(range(start, start + U)))
        rec = check_recording(serve, olad, "artnet", start)
    events = rec.meta["counters"].get("events", {})
    assert events.get("artpoll", 0) > 0, f"serve counted no ArtPoll from OLA: {events}"
    assert events.get("artpollreply-sent", 0) > 0, f"serve sent no ArtPollReply: {events}"
    assert events.get("artdmx", 0) >= U * N, f"fewer ArtDmx than {U} x {N}: {events}"
    for f in rec.written():
        assert all(s.get("port") == 6454 for s in f["sources"]), f"OLA sends from port 6454: {f['sources']}"
    replay_capture(tmp_path, capture, "artnet", start)


def test_ola_e131(panelsim, ola_link, tmp_path):
    start = 1
    cid = str(uuid.uuid4())
    capture = tmp_path / "ola-e131.pcap"
    args = _serve_args("sacn", "0.0.0.0:5568", ["--interface", ola_link.if_b, "--pcap", str(capture)])
    with harness.Serve(args, tmp_path / "serve", prefix=ola_link.prefix_b()) as serve, \
            Olad(ola_link, "e131", {"ip": ADDR_A, "cid": cid}, tmp_path / "olad") as olad:
        assert serve.port("sacn") == 5568, serve.listening
        olad.patch(list(range(start, start + U)))  # E1.31 universe = OLA universe
        send_frames(olad, list(range(start, start + U)))
        rec = check_recording(serve, olad, "sacn", start)
    sources = [s for f in rec.written() for s in f["sources"]]
    assert {s.get("cid") for s in sources} == {cid}, f"expected only olad's CID {cid}: {sources[:3]}"
    assert {s.get("name") for s in sources} == {"OLA Server"}, f"source names: {sources[:3]}"
    events = rec.meta["counters"].get("events", {})
    # olad 0.10.9 ends every universe with three stream-terminated packets (no slots) on
    # SIGTERM; they must be recognised, and they make no frame (checked above).
    assert events.get("stream-terminated", 0) >= U, f"OLA's stream-terminated packets not seen: {events}"
    replay_capture(tmp_path, capture, "sacn", start)
