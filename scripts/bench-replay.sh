#!/usr/bin/env bash
# Benchmark (not a test): offline replay speed on the Art-Net and sACN data paths, against
# tshark dissecting the same file and a bare libpcap pcap_next_ex loop.
# Usage: scripts/bench-replay.sh [FRAMES]   (run `make build` first; FRAMES of a 170x40 RGB
# panel, 40 universes each; default 25000 = 1,000,000 packets per protocol)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$PWD/.build/release/panelsim
frames=${1:-25000}
work=${BENCH_DIR:-$(mktemp -d)}
[ -n "${BENCH_DIR:-}" ] || trap 'rm -rf "$work"' EXIT
cc -O2 -o "$work/pcap-loop" scripts/pcap-loop.c -lpcap
seconds() {  # seconds COMMAND… → wall time of the command
  python3 -c 'import subprocess, sys, time; t = time.perf_counter(); subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); print(time.perf_counter() - t)' "$@"
}
for proto in artnet sacn; do
  pcap=$work/$proto.pcap
  "$bin" send --protocol "$proto" --to 10.0.0.2 --pattern moving-bar --size 170x40 --fps 40 --frames "$frames" --pcap "$pcap" >/dev/null 2>&1
  cat > "$work/$proto.yaml" <<YAML
controllers:
  - name: wall
    protocol: $proto
    transport: { udp: 0.0.0.0:0 }
    panel: { width: 170, height: 40, pixel: rgb }
YAML
  records=$("$work/pcap-loop" "$pcap" | awk '{ print $1 }')
  cat "$pcap" >/dev/null  # page cache warm for everyone
  loop=$("$work/pcap-loop" "$pcap" | awk '{ print $(NF-1) }')
  replay=$(seconds "$bin" replay "$pcap" --config "$work/$proto.yaml" --out "$work/out-$proto" --no-png)
  view=$(seconds "$bin" replay "$pcap" --out "$work/view-$proto" --no-png)
  if [ "$proto" = artnet ]; then
    tshark_args=(-T fields -e artnet.output.universe -e artnet.output.sequence)
  else
    tshark_args=(--enable-heuristic acn -o acn.dmx_enable:TRUE -T fields -e acn.dmx.universe -e acn.dmx.seq_number)
  fi
  ts=$(seconds tshark -n -r "$pcap" "${tshark_args[@]}")
  # tshark's one-line summaries (it dissects only what the Info column needs).
  if [ "$proto" = artnet ]; then summary_args=(); else summary_args=(--enable-heuristic acn -o acn.dmx_enable:TRUE); fi
  tsum=$(seconds tshark -n -r "$pcap" "${summary_args[@]}")
  python3 - "$proto" "$records" "$loop" "$replay" "$view" "$ts" "$tsum" <<'PY'
import sys
proto, n, loop, replay, view, ts, tsum = sys.argv[1], int(sys.argv[2]), *map(float, sys.argv[3:])
print(f"{proto}: {n} packets")
print(f"  pcap_next_ex loop        {loop:8.3f} s  {n / loop / 1e6:6.2f} M packets/s")
print(f"  panelsim replay --config {replay:8.3f} s  {n / replay / 1e6:6.2f} M packets/s  (whole command, reports included)")
print(f"  panelsim replay (view)   {view:8.3f} s  {n / view / 1e6:6.2f} M packets/s  (universe view: two passes)")
print(f"  tshark -T fields         {ts:8.3f} s  {n / ts / 1e6:6.2f} M packets/s  (universe and sequence of every packet) → PanelSim {ts / replay:.0f}x faster")
print(f"  tshark (summary lines)   {tsum:8.3f} s  {n / tsum / 1e6:6.2f} M packets/s  → PanelSim {tsum / replay:.1f}x faster")
PY
done
