#!/usr/bin/env bash
# Builds the fuzz seed corpora from the public captures and PanelSim's own sender output.
# Run once by hand when the seeds should change; the corpora are committed under Fuzz/corpus.
set -euo pipefail
cd "$(dirname "$0")/.."
captures="${PANELSIM_CAPTURES:-../shared/captures/public}"
bin=.build/debug/panelsim
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
$bin send --protocol artnet --pattern counter --size 170x2 --frames 2 --sync --pcap "$tmp/artnet.pcap" --to 127.0.0.1
$bin send --protocol sacn --pattern gradient --size 170x2 --frames 2 --sync --discovery --pcap "$tmp/sacn.pcap" --to 127.0.0.1
extract() {  # extract FILE... → hex payloads, one per line
  for f in "$@"; do tshark -r "$f" -Y udp -T fields -e udp.payload 2>/dev/null || true; done
}
save() {  # save TARGET < hex lines
  local dir="Fuzz/corpus/$1"; mkdir -p "$dir"
  while read -r hex; do
    [ -n "$hex" ] || continue
    local name; name=$(printf '%s' "$hex" | sha1sum | cut -c1-16)
    printf '%s' "$hex" | xxd -r -p > "$dir/$name"
  done
}
extract "$captures"/artnet/*.pcap* "$tmp/artnet.pcap" | sort -u | head -200 | save artnet-decode
extract "$captures"/sacn/*.pcap* "$tmp/sacn.pcap" | sort -u | head -200 | save sacn-decode
# State-machine targets take length-prefixed datagram sequences.
seq_of() { python3 -c '
import sys
out = b""
for line in sys.stdin:
    b = bytes.fromhex(line.strip())
    out += len(b).to_bytes(2, "big") + b
sys.stdout.buffer.write(out)'; }
mkdir -p Fuzz/corpus/artnet-node Fuzz/corpus/sacn-receiver
extract "$tmp/artnet.pcap" | seq_of > Fuzz/corpus/artnet-node/sender-two-frames
extract "$captures"/artnet/liveshark_artnet_conflict.pcapng | seq_of > Fuzz/corpus/artnet-node/liveshark-conflict
extract "$tmp/sacn.pcap" | seq_of > Fuzz/corpus/sacn-receiver/sender-two-frames
extract "$captures"/sacn/liveshark_sacn_dup_reorder.pcapng | seq_of > Fuzz/corpus/sacn-receiver/liveshark-dup-reorder
# The protocols added since: UDP payloads or TCP stream pieces, as length-prefixed sequences.
$bin send --protocol ddp --pattern counter --size 40x4 --frames 2 --pcap "$tmp/ddp.pcap" --to 127.0.0.1
$bin send --protocol tpm2net --pattern counter --size 40x4 --frames 2 --pcap "$tmp/tpm2net.pcap" --to 127.0.0.1
$bin send --protocol opc --pattern counter --size 8x4 --frames 2 --pcap "$tmp/opc.pcap" --to 127.0.0.1
mkdir -p Fuzz/corpus/ddp-display Fuzz/corpus/tpm2net-receiver Fuzz/corpus/opc-server Fuzz/corpus/tpm2-receiver Fuzz/corpus/enttec-widget
extract "$tmp/ddp.pcap" | seq_of > Fuzz/corpus/ddp-display/sender-two-frames
extract "$tmp/tpm2net.pcap" | seq_of > Fuzz/corpus/tpm2net-receiver/sender-two-frames
tshark -r "$tmp/opc.pcap" -Y tcp.payload -T fields -e tcp.payload 2>/dev/null | seq_of > Fuzz/corpus/opc-server/sender-two-frames
# Serial protocols: the exchanges of INTEROP.md and PROTOCOLS.md, written out.
printf '%s\n' c9da0006010203040506 36 c9aa000036 | seq_of > Fuzz/corpus/tpm2-receiver/frame-split-and-ping
printf '%s\n' 7e04050000000901 28e7 7e4d0000e7 7e4e0000e7 7e0a0000e7 7e0302000000e7 \
  7e06110000$(printf '10%.0s' $(seq 16))e7 | seq_of > Fuzz/corpus/enttec-widget/ola-and-pyenttec-probe
# NovaStar and Colorlight models, the codecs and framers on their own, captures and configs.
$bin send --protocol colorlight --pattern counter --size 8x4 --frames 2 --pcap "$tmp/colorlight.pcap" --interface lo
records() {  # records FILE… → hex of each record of classic pcap files, one per line
  python3 - "$@" <<'EOF_PY'
import struct, sys
for path in sys.argv[1:]:
    data = open(path, "rb").read()
    order = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    at = 24
    while at + 16 <= len(data):
        caplen = struct.unpack(order + "I", data[at + 8:at + 12])[0]
        print(data[at + 16:at + 16 + caplen].hex())
        at += 16 + caplen
EOF_PY
}
stream() { tr -d '\n' | xxd -r -p; }  # hex lines → one byte stream
novastar_tsv="$captures"/novastar/baoerman_nova_probe_all_data.tsv
novastar_pcap="$captures"/novastar/DERIVED_baoerman_nova_frames_tcp5200.pcap
for t in novastar-card novastar-framer novastar-controller colorlight-receiver colorlight-decode opc-framer enttec-framer tpm2-framer \
         ddp-decode tpm2net-decode capture-reader config-loader scenario-loader check-capture; do mkdir -p "Fuzz/corpus/$t"; done
# novastar-card: the requests of the public transcript, as TCP reads and as one read per frame.
tshark -r "$novastar_pcap" -Y 'tcp.dstport == 5200 && tcp.len > 0' -T fields -e tcp.payload 2>/dev/null | seq_of > Fuzz/corpus/novastar-card/transcript-tcp
awk -F'\t' '$2 == "H>D" { print $3 }' "$novastar_tsv" | seq_of > Fuzz/corpus/novastar-card/transcript-requests
# novastar-card: writes and reads of every register the model acts on (PROTOCOLS.md), to every
# card and to one, then the stream's end (an empty piece).
python3 > Fuzz/corpus/novastar-card/register-writes <<'EOF_PY'
import sys
def frame(serial, device, port, card, op, address, data, length=None):
    n = len(data) if length is None else length
    f = bytearray(b"\x55\xaa\x00") + bytes([serial & 0xFF, 0xFE, 0, device, port]) + card.to_bytes(2, "little") \
        + bytes([op, 0]) + address.to_bytes(4, "little") + n.to_bytes(2, "little") + bytes(data)
    return bytes(f) + ((0x5555 + sum(f[2:])) & 0xFFFF).to_bytes(2, "little")
sending = [(0x02000023, [0x05]), (0x02000022, [0x01]), (0x01000011, [0x01]), (0x00000002, [0x34, 0x12])]
receiving = [(0x02000001, [0x80]), (0x02000002, [0x40]), (0x02000003, [0xC0]), (0x02000004, [0x20]),
             (0x02000100, [0xFF]), (0x02000100, [0x00]), (0x02000101, [0x05]), (0x02000101, [0x09]),
             (0x02000101, [0x00]), (0x02000102, [0x01])]
frames = []
for i, (a, d) in enumerate(sending):
    frames += [frame(i, 0, 0, 0, 1, a, d), frame(i, 0, 0, 0, 0, a, [], len(d))]
for i, (a, d) in enumerate(receiving):
    frames += [frame(i, 1, 0xFF, 0xFFFF, 1, a, d), frame(i, 1, 0, 1, 1, a, d), frame(i, 1, 0, 0, 0, a, [], len(d))]
out = b"".join(len(f).to_bytes(2, "big") + f for f in frames) + b"\x00\x00"
sys.stdout.buffer.write(out)
EOF_PY
# novastar-framer: byte 0 is the read size − 1, then the stream: both directions of the
# transcript; a write with the largest data block (4096) and a header claiming one byte more.
{ printf '\x3f'; awk -F'\t' '{ print $3 }' "$novastar_tsv" | stream; } > Fuzz/corpus/novastar-framer/transcript-both-ways
python3 - Fuzz/corpus/novastar-framer <<'EOF_PY'
import sys
def frame(length, data):
    f = bytearray(b"\x55\xaa\x00\x01\xfe\x00\x01\x00\x00\x00\x01\x00\x00\x00\x00\x02") + length.to_bytes(2, "little") + data
    return bytes(f) + ((0x5555 + sum(f[2:])) & 0xFFFF).to_bytes(2, "little")
open(sys.argv[1] + "/largest-write", "wb").write(b"\xff" + frame(4096, bytes(range(256)) * 16))
open(sys.argv[1] + "/oversized-then-read", "wb").write(b"\x07" + frame(4097, b"")[:18] + frame(0, b"")[:16] + b"\x00\x00" + b"\x4a\x56")
EOF_PY
awk -F'\t' 'NR <= 6 { print $3 }' "$novastar_tsv" | while read -r hex; do printf '%s' "$hex" | xxd -r -p > "Fuzz/corpus/novastar-framer/frame-$(printf '%s' "$hex" | sha1sum | cut -c1-12)"; done
# novastar-controller: a card's replies to the controller's commands (ControllerTargets.commands,
# serials 1, 2, …), one piece each; then the same cut short by silence past the timeout.
mkdir -p Fuzz/corpus/novastar-controller
python3 - Fuzz/corpus/novastar-controller <<'EOF_PY'
import sys
def reply(serial, device, port, card, op, address, data):
    f = bytearray(b"\xaa\x55\x00") + bytes([serial, 0, 0xFE, device, port]) + card.to_bytes(2, "little") \
        + bytes([op, 0]) + address.to_bytes(4, "little") + len(data).to_bytes(2, "little") + bytes(data)
    return bytes(f) + ((0x5555 + sum(f[2:])) & 0xFFFF).to_bytes(2, "little")
R, S = 1, 0
commands = [(S, 0, 0, 1, 0x02000023, [0x05])] + [(R, 0xFF, 0xFFFF, 1, a, [v]) for a, v in
            [(0x02000001, 0x80), (0x02000101, 0x05), (0x02000100, 0xFF), (0x02000100, 0x00)]]
commands += [(S, 0, 0, 0, 0x00000002, [0x01, 0x00])] + [(R, 0, 0, 0, a, [0x1C]) for a in
             [0x02000001, 0x02000002, 0x02000003, 0x02000004, 0x02000100, 0x02000101, 0x02000102]]
commands += [(S, 0, 0, 0, 0x02000022, [0x5A]), (S, 0, 0, 0, 0x02000023, [0x05]), (R, 1, 2, 0, 0x02000000, [0x1C, 0xFF, 0xFF, 0xFF, 0xFF])]
replies = [reply(k + 1, *c) for k, c in enumerate(commands)]
piece = lambda b: len(b).to_bytes(2, "big") + b
open(sys.argv[1] + "/all-answered", "wb").write(b"".join(piece(r) for r in replies))
open(sys.argv[1] + "/timeout-after-three", "wb").write(b"".join(piece(r) for r in replies[:3]) + piece(bytes(60)))
EOF_PY
# Colorlight: PanelSim's own row and display frames, whole and as a model's frame sequence.
records "$tmp/colorlight.pcap" | save colorlight-decode
records "$tmp/colorlight.pcap" | seq_of > Fuzz/corpus/colorlight-receiver/sender-two-frames
printf '%s\n' 112233445566222233445566"07$(printf '00%.0s' $(seq 99))" | seq_of > Fuzz/corpus/colorlight-receiver/detect
# The stream framers: byte 0 is the read size − 1 (tpm2: the stream's first byte also sets its data limit).
{ printf '\x02'; tshark -r "$tmp/opc.pcap" -Y tcp.payload -T fields -e tcp.payload 2>/dev/null | stream; } > Fuzz/corpus/opc-framer/sender-two-frames
{ printf '\x00'; printf '%s\n' 7e04050000000901 28e7 7e4d0000e7 7e4e0000e7 7e0a0000e7 7e0302000000e7 \
  7e06110000$(printf '10%.0s' $(seq 16))e7 | stream; } > Fuzz/corpus/enttec-framer/ola-and-pyenttec-probe
{ printf '\x04'; printf '%s\n' 01c9da0006010203040506 36 c9aa000036 c9c00001ff36 | stream; } > Fuzz/corpus/tpm2-framer/frame-split-and-ping
# Datagram decoders: PanelSim's own packets.
extract "$tmp/ddp.pcap" | sort -u | save ddp-decode
extract "$tmp/tpm2net.pcap" | sort -u | save tpm2net-decode
# capture-reader: the small public captures (pcap and pcapng, one and several link types) and
# PanelSim's own (UDP, TCP, raw Ethernet).
for f in "$captures"/*/*.pcap* "$tmp"/{ddp,opc,colorlight}.pcap; do
  if [ "$(stat -c %s "$f")" -le 8192 ]; then cat "$f" > "Fuzz/corpus/capture-reader/$(basename "$f")"; fi
done
# check-capture: the same captures, each with a last byte picking a quirk profile (or none).
k=0
for f in Fuzz/corpus/capture-reader/*; do
  { cat "$f"; printf "\\x$(printf %02x $((k % 7)))"; } > "Fuzz/corpus/check-capture/$(basename "$f")"
  k=$((k + 1))
done
# scenario-loader: the shipped scenarios.
cp scenarios/*.yaml Fuzz/corpus/scenario-loader/

# config-loader: the config of DESIGN.md and one controller of every protocol.
cat > Fuzz/corpus/config-loader/design.yaml <<'EOF_YAML'
controllers:
  - name: alun-alun
    protocol: artnet
    transport: { udp: 127.0.0.1:6454 }
    panel: { width: 60, height: 40, pixel: rgb, order: rgb }
    mapping: { start-universe: 0, channels-per-universe: 510, layout: serpentine, flip: [] }
    frame: { sync: auto, timeout: 100ms }
    options: { }
EOF_YAML
cat > Fuzz/corpus/config-loader/every-protocol.yaml <<'EOF_YAML'
controllers:
  - { name: a, protocol: artnet, panel: { width: 8, height: 4 }, options: { short-name: "A", merge: ltp } }
  - { name: s, protocol: sacn, transport: { udp: 0.0.0.0:5568, multicast: true, interface: lo }, panel: { width: 8, height: 4, pixel: gray } }
  - { name: d, protocol: ddp, transport: { udp: "[::1]:4048" }, panel: { width: 8, height: 4, pixel: rgbw, order: grbw } }
  - { name: o, protocol: opc, transport: { tcp: ":7890" }, panel: { width: 8, height: 4 }, frame: { timeout: 0.5s } }
  - { name: t, protocol: tpm2net, panel: { width: 8, height: 4 }, mapping: { flip: [h, v] } }
  - { name: t2, protocol: tpm2, transport: { serial: pty, link: /tmp/x, baud: 115200 }, panel: { width: 8, height: 4 } }
  - { name: e, protocol: enttec-pro, transport: { serial: pty }, panel: { width: 8, height: 4 } }
  - { name: n, protocol: novastar, transport: { tcp: 127.0.0.1:5200 }, panel: { width: 8, height: 4 }, options: { cards: "1,2", model-id: "0x1234" } }
  - { name: c, protocol: colorlight, transport: { interface: lo }, panel: { width: 8, height: 4 }, options: { cards: "2", firmware13-duplicates: on } }
EOF_YAML
du -sh Fuzz/corpus/*
