#!/usr/bin/env bash
# Benchmark (not a test): makes an Art-Net capture (170x8 moving bar at 40 fps, 8 universes, by
# `panelsim send --pcap`), replays it with `replay --live` into `panelsim serve` listening on a free
# high port of 127.0.0.1, and prints the lateness of the sends (send time − due time) and what
# serve received.
# Usage: scripts/bench-live-replay.sh [SECONDS]   (default 60; run `swift build -c release --product panelsim`
# first, or set PANELSIM_BIN)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${PANELSIM_BIN:-$PWD/.build/release/panelsim}
seconds=${1:-60}
work=$(mktemp -d)
serve_pid=""
cleanup() { [ -n "$serve_pid" ] && kill -TERM "$serve_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

"$bin" send --protocol artnet --to 127.0.0.1 --pattern moving-bar --size 170x8 --fps 40 --seconds "$seconds" \
  --pcap "$work/capture.pcap"
"$bin" serve --protocol artnet --listen 127.0.0.1:0 --size 170x8 --record "$work/serve" \
  --ready-file "$work/ready.json" --quiet &
serve_pid=$!
for _ in $(seq 100); do [ -s "$work/ready.json" ] && break; sleep 0.05; done
port=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['listening'][0]['port'])" "$work/ready.json")

echo "replaying $seconds s live into 127.0.0.1:$port"
"$bin" replay "$work/capture.pcap" --live --to "127.0.0.1:$port" --json "$work/live.json"
sleep 0.5
kill -TERM "$serve_pid"; wait "$serve_pid" 2>/dev/null || true
serve_pid=""
python3 - "$work/live.json" "$work/serve/artnet/recording.json" <<'PY'
import json, sys
live = json.load(open(sys.argv[1]))
c = json.load(open(sys.argv[2]))["counters"]
l = live["lateness"]
print(f"sent {live['datagrams']} datagrams in {live['seconds']:.3f} s, {live['errors']} errors")
print(f"lateness over {l['sends']} sends: mean {l['mean-us']:.1f} us, p99 {l['p99-us']:.1f} us, largest {l['max-us']:.1f} us")
print(f"serve received {c['packets']} packets, {c['frames']} frames, {c['torn']} torn")
PY
