# ArtDmx burst from a tight socket loop (used by scripts/bench-burst.sh): PORT [PACKETS].
import socket, sys, time
port = int(sys.argv[1]); n = int(sys.argv[2]) if len(sys.argv) > 2 else 100000
def pkt(u, seq):
    data = bytes((i + seq) & 0xFF for i in range(512))
    return b"Art-Net\x00" + (0x5000).to_bytes(2, "little") + (14).to_bytes(2, "big") + bytes([seq, 0, u & 0xFF, (u >> 8) & 0x7F]) + (512).to_bytes(2, "big") + data
pkts = [pkt(u, s) for s in range(1, 256) for u in range(4)]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
def rcvbuf_errors():
    lines = [l.split() for l in open("/proc/net/snmp") if l.startswith("Udp:")]
    return int(lines[1][lines[0].index("RcvbufErrors")])
before = rcvbuf_errors()
t = time.perf_counter()
for i in range(n):
    s.sendto(pkts[i % len(pkts)], ("127.0.0.1", port))
dt = time.perf_counter() - t
time.sleep(1.0)
print(f"sent {n} in {dt:.3f}s = {n/dt:.0f} pkt/s; RcvbufErrors delta {rcvbuf_errors() - before}")
