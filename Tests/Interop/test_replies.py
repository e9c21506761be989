"""tshark as the oracle for what `panelsim serve` answers: an ArtPoll sent over a real socket
gets one ArtPollReply per port, captured by serve's own `--pcap` and by this test, and tshark
reads the names, BindIndexes and Port-Addresses we configured."""

from __future__ import annotations

import socket
import struct
import time

import harness
import wire


def _artpoll() -> bytes:
    return b"Art-Net\x00" + struct.pack("<H", 0x2000) + struct.pack(">H", 14) + bytes([0x02, 0x10])


def test_artpoll_replies_decode_in_tshark(panelsim, tmp_path):
    args = ["--protocol", "artnet", "--listen", "127.0.0.1:0", "--size", "170x3", "--start-universe", "17",
            "--option", "short-name=Tugu Pal", "--option", "long-name=Videotron Tugu Pal (PanelSim)"]
    with harness.Serve(args, tmp_path) as serve:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        s.settimeout(2)
        s.sendto(_artpoll(), ("127.0.0.1", serve.port("artnet")))
        replies = []
        try:
            while len(replies) < 3:
                data, _ = s.recvfrom(2048)
                replies.append(data)
        except socket.timeout:
            pass
        s.close()
        time.sleep(0.2)
        assert serve.stop() == 0, serve.diagnostics()
    assert len(replies) == 3, f"{len(replies)} ArtPollReplies for a 3-universe panel"
    assert all(len(r) == 239 for r in replies), [len(r) for r in replies]

    pcap = tmp_path / "replies.pcap"
    wire.write_pcap(pcap, [wire.Datagram(time=0.001 * i, src="127.0.0.1", sport=6454, dst="127.0.0.1", dport=6454,
                                         payload=r) for i, r in enumerate(replies)])
    rows = harness.tshark_fields(pcap, ["artnet.header.opcode", "artnet.poll_reply.short_name", "artnet.poll_reply.long_name",
                                        "artnet.poll_reply.bind_index", "artnet.poll_reply.num_ports",
                                        "artnet.poll_reply.swout_1_universe", "artnet.poll_reply.ip_address",
                                        "artnet.poll_reply.port_nr", "artnet.poll_reply.status2"])
    assert len(rows) == 3
    assert {harness.to_int(r["artnet.header.opcode"]) for r in rows} == {0x2100}
    assert {r["artnet.poll_reply.short_name"] for r in rows} == {"Tugu Pal"}
    assert {r["artnet.poll_reply.long_name"] for r in rows} == {"Videotron Tugu Pal (PanelSim)"}
    assert sorted(harness.to_int(r["artnet.poll_reply.bind_index"]) for r in rows) == [1, 2, 3]
    assert {harness.to_int(r["artnet.poll_reply.num_ports"]) for r in rows} == {1}
    assert sorted(harness.to_int(r["artnet.poll_reply.swout_1_universe"]) for r in rows) == [17, 18, 19]
    assert {r["artnet.poll_reply.ip_address"] for r in rows} == {"127.0.0.1"}
    assert {harness.to_int(r["artnet.poll_reply.port_nr"]) for r in rows} == {6454}
