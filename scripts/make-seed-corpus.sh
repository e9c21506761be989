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
ls Fuzz/corpus/* | head -80
