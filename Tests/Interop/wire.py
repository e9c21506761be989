"""Reference encoders/decoders for Art-Net and E1.31 and a tiny classic-pcap writer/reader.

Written from the specs (see shared/PROTOCOLS.md), independently of PanelSim, so the
tests can (1) check that tshark reads our reference bytes the way the tests expect
before they trust tshark's reading of PanelSim's bytes, and (2) decode what the
Python clients put on the wire.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Iterator, List, Optional

ARTNET_ID = b"Art-Net\x00"
OP_DMX = 0x5000
OP_SYNC = 0x5200
ACN_ID = b"ASC-E1.17\x00\x00\x00"
VECTOR_ROOT_DATA = 0x00000004
VECTOR_ROOT_EXTENDED = 0x00000008
VECTOR_FRAMING_DATA = 0x00000002
VECTOR_FRAMING_SYNC = 0x00000001
VECTOR_FRAMING_DISCOVERY = 0x00000002


# ---------------------------------------------------------------- Art-Net

def artdmx(universe: int, data: bytes, sequence: int = 0, physical: int = 0) -> bytes:
    """ArtDmx; universe is the 15-bit Port-Address (SubUni low byte, Net high byte)."""
    n = len(data)
    if n % 2:  # Art-Net wants an even length; pad with 0
        data = data + b"\x00"
        n += 1
    return (ARTNET_ID + struct.pack("<H", OP_DMX) + struct.pack(">H", 14)
            + bytes([sequence & 0xFF, physical & 0xFF, universe & 0xFF, (universe >> 8) & 0x7F])
            + struct.pack(">H", n) + data)


def artsync() -> bytes:
    return ARTNET_ID + struct.pack("<H", OP_SYNC) + struct.pack(">H", 14) + b"\x00\x00"


@dataclass
class ArtNetPacket:
    opcode: int
    sequence: Optional[int] = None
    physical: Optional[int] = None
    universe: Optional[int] = None
    length: Optional[int] = None
    data: bytes = b""


def parse_artnet(p: bytes) -> Optional[ArtNetPacket]:
    if len(p) < 10 or p[:8] != ARTNET_ID:
        return None
    op = struct.unpack_from("<H", p, 8)[0]
    if op == OP_DMX and len(p) >= 18:
        n = struct.unpack_from(">H", p, 16)[0]
        return ArtNetPacket(op, p[12], p[13], p[14] | (p[15] << 8), n, bytes(p[18:18 + n]))
    return ArtNetPacket(op)


# ---------------------------------------------------------------- E1.31

def _fl(length: int) -> bytes:
    return struct.pack(">H", 0x7000 | (length & 0x0FFF))


def e131_data(universe: int, data: bytes, sequence: int = 0, priority: int = 100,
              sync_address: int = 0, options: int = 0, cid: bytes = bytes(range(16)),
              source_name: str = "reference", start_code: int = 0) -> bytes:
    n = len(data)
    name = source_name.encode("utf-8")[:63].ljust(64, b"\x00")
    dmp = (_fl(10 + 1 + n) + b"\x02\xa1" + struct.pack(">HHH", 0, 1, n + 1)
           + bytes([start_code]) + data)
    framing = (_fl(77 + len(dmp)) + struct.pack(">I", VECTOR_FRAMING_DATA) + name
               + bytes([priority]) + struct.pack(">H", sync_address)
               + bytes([sequence & 0xFF, options]) + struct.pack(">H", universe) + dmp)
    root = _fl(22 + len(framing)) + struct.pack(">I", VECTOR_ROOT_DATA) + cid + framing
    return struct.pack(">HH", 0x0010, 0) + ACN_ID + root


def e131_sync(sync_address: int, sequence: int = 0, cid: bytes = bytes(range(16))) -> bytes:
    framing = (_fl(11) + struct.pack(">I", VECTOR_FRAMING_SYNC) + bytes([sequence & 0xFF])
               + struct.pack(">H", sync_address) + b"\x00\x00")
    root = _fl(22 + len(framing)) + struct.pack(">I", VECTOR_ROOT_EXTENDED) + cid + framing
    return struct.pack(">HH", 0x0010, 0) + ACN_ID + root


@dataclass
class E131Packet:
    kind: str  # "data" | "sync" | "discovery" | "other"
    cid: bytes = b""
    source_name: str = ""
    priority: Optional[int] = None
    sync_address: Optional[int] = None
    sequence: Optional[int] = None
    options: Optional[int] = None
    universe: Optional[int] = None
    property_count: Optional[int] = None
    start_code: Optional[int] = None
    data: bytes = b""
    root_length: int = 0
    framing_length: int = 0


def parse_e131(p: bytes) -> Optional[E131Packet]:
    if len(p) < 38 or p[4:16] != ACN_ID:
        return None
    root_len = struct.unpack_from(">H", p, 16)[0] & 0x0FFF
    root_vec = struct.unpack_from(">I", p, 18)[0]
    cid = bytes(p[22:38])
    if len(p) < 44:
        return E131Packet("other", cid, root_length=root_len)
    fr_len = struct.unpack_from(">H", p, 38)[0] & 0x0FFF
    fr_vec = struct.unpack_from(">I", p, 40)[0]
    if root_vec == VECTOR_ROOT_DATA and fr_vec == VECTOR_FRAMING_DATA and len(p) >= 126:
        name = bytes(p[44:108]).split(b"\x00", 1)[0].decode("utf-8", "replace")
        count = struct.unpack_from(">H", p, 123)[0]
        return E131Packet("data", cid, name, p[108], struct.unpack_from(">H", p, 109)[0],
                          p[111], p[112], struct.unpack_from(">H", p, 113)[0], count, p[125],
                          bytes(p[126:126 + max(0, count - 1)]), root_len, fr_len)
    if root_vec == VECTOR_ROOT_EXTENDED and fr_vec == VECTOR_FRAMING_SYNC and len(p) >= 47:
        return E131Packet("sync", cid, sequence=p[44], sync_address=struct.unpack_from(">H", p, 45)[0],
                          root_length=root_len, framing_length=fr_len)
    if root_vec == VECTOR_ROOT_EXTENDED and fr_vec == VECTOR_FRAMING_DISCOVERY:
        return E131Packet("discovery", cid, root_length=root_len, framing_length=fr_len)
    return E131Packet("other", cid, root_length=root_len, framing_length=fr_len)


# ---------------------------------------------------------------- pcap

@dataclass
class Datagram:
    time: float
    src: str
    sport: int
    dst: str
    dport: int
    payload: bytes


def _ip_checksum(h: bytes) -> int:
    s = sum(struct.unpack(f">{len(h) // 2}H", h))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def write_pcap(path, datagrams: List[Datagram]) -> None:
    """Classic pcap, LINKTYPE_ETHERNET, IPv4/UDP (UDP checksum 0)."""
    import socket
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, d in enumerate(datagrams):
            udp = struct.pack(">HHHH", d.sport, d.dport, 8 + len(d.payload), 0) + d.payload
            iph = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i & 0xFFFF, 0x4000, 64, 17, 0,
                              socket.inet_aton(d.src), socket.inet_aton(d.dst))
            iph = iph[:10] + struct.pack(">H", _ip_checksum(iph)) + iph[12:]
            dst = socket.inet_aton(d.dst)
            if dst[0] >= 224 and dst[0] <= 239:
                dmac = bytes([1, 0, 0x5E, dst[1] & 0x7F, dst[2], dst[3]])
            else:
                dmac = b"\x00" * 6
            frame = dmac + b"\x00" * 6 + b"\x08\x00" + iph + udp
            sec = int(d.time)
            usec = int(round((d.time - sec) * 1e6))
            f.write(struct.pack("<IIII", sec, usec, len(frame), len(frame)) + frame)


def read_pcap(path) -> Iterator[Datagram]:
    """IPv4/UDP datagrams of a classic pcap (Ethernet, Linux cooked or raw IP)."""
    import socket
    with open(path, "rb") as f:
        buf = f.read()
    magic = struct.unpack_from("<I", buf, 0)[0]
    if magic in (0xA1B2C3D4, 0xA1B23C4D):
        e = "<"
    elif magic in (0xD4C3B2A1, 0x4D3CB2A1):
        e = ">"
    else:
        raise ValueError(f"{path}: not a classic pcap (magic {magic:#x}); use tshark -F pcap")
    nano = magic in (0xA1B23C4D, 0x4D3CB2A1)
    linktype = struct.unpack_from(e + "I", buf, 20)[0]
    off = 24
    while off + 16 <= len(buf):
        sec, frac, incl, _orig = struct.unpack_from(e + "IIII", buf, off)
        off += 16
        frame = buf[off:off + incl]
        off += incl
        if linktype == 1:
            ethertype = struct.unpack_from(">H", frame, 12)[0]
            ip = frame[14:] if ethertype == 0x0800 else None
        elif linktype == 113:
            ip = frame[16:] if struct.unpack_from(">H", frame, 14)[0] == 0x0800 else None
        elif linktype in (101, 228):
            ip = frame
        else:
            raise ValueError(f"linktype {linktype} not handled")
        if not ip or ip[0] >> 4 != 4 or ip[9] != 17:
            continue
        ihl = (ip[0] & 0x0F) * 4
        sport, dport, ulen = struct.unpack_from(">HHH", ip, ihl)
        yield Datagram(sec + frac / (1e9 if nano else 1e6), socket.inet_ntoa(ip[12:16]), sport,
                       socket.inet_ntoa(ip[16:20]), dport, bytes(ip[ihl + 8:ihl + ulen]))
