#!/usr/bin/env bash
# Benchmark (not a test): a burst of ArtDmx from a tight Python socket loop into `panelsim serve`
# (gray 512x4 panel), then `panelsim send --topspeed` into another serve. Prints the send rates,
# what serve received, and the change of the kernel's UDP RcvbufErrors.
# Usage: scripts/bench-burst.sh [PACKETS]   (run `make build` first)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$PWD/.build/release/panelsim
n=${1:-100000}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
rcvbuf_errors() { awk '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) if ($i == "RcvbufErrors") c = i; h = 1 } else print $c }' /proc/net/snmp; }
serve() {  # serve NAME → starts serve, sets PID and PORT
  "$bin" serve --protocol artnet --listen 127.0.0.1:0 --size 512x4 --pixel gray --channels-per-universe 512 \
    --record "$work/$1" --ready-file "$work/$1.json" --quiet --skip-identical &
  PID=$!
  for _ in $(seq 100); do [ -s "$work/$1.json" ] && break; sleep 0.05; done
  PORT=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['listening'][0]['port'])" "$work/$1.json")
}
report() {  # report NAME
  kill -TERM "$PID"; wait "$PID" 2>/dev/null || true
  python3 -c "
import json, sys
c = json.load(open(sys.argv[1]))['counters']
print(f\"serve received {c['packets']} packets, {c['frames']} frames, {c['torn']} torn, socket drops {c['kernel-drops']}\")" "$work/$1/artnet/recording.json"
}
serve python
before=$(rcvbuf_errors)
python3 scripts/artdmx-burst.py "$PORT" "$n"
echo "RcvbufErrors change: $(( $(rcvbuf_errors) - before ))"
report python
serve topspeed
before=$(rcvbuf_errors)
"$bin" send --protocol artnet --to "127.0.0.1:$PORT" --pattern gradient --size 512x4 --pixel gray --channels-per-universe 512 --topspeed --seconds 3
sleep 0.5
echo "RcvbufErrors change: $(( $(rcvbuf_errors) - before ))"
report topspeed
