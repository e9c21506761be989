#!/usr/bin/env python3
"""Turns the JMH export of the Benchmarks/ package (ordo-one/benchmark, `--format jmh`) into
one table: per protocol and panel size, time per frame of encode and decode, their ratio to a
memcpy of the same bytes, the receiver floor (those bytes copied one datagram at a time plus one
frame event per frame) and decode's ratio to it, allocations per packet; and PNG write through PanelImage against a
bare libpng call.

    bench-report.py RUN.jmh.json [RUN2.jmh.json ...] [--json bench.json] [--load "1.0 2.0 3.0"]

With several exports (repeated runs), each figure is the median over the runs of each run's
median (p50). Each benchmark records per iteration the custom metrics `frames`, `packets` and
`bytes` it handled, so per-frame and per-packet figures need nothing else.
"""
import argparse
import json
import re
import statistics
import sys

SIZES = ["600x400", "1920x1080", "3840x2160"]
PROTOCOLS = ["artnet", "sacn", "ddp", "opc", "tpm2net", "tpm2", "enttec-pro", "colorlight"]
# Targets of the stress/benchmark issue.
MAX_CODEC_RATIO = 2.0
MAX_PNG_RATIO = 1.1

NAME = re.compile(r"\.(encode|decode|memcpy|floor|png-panelsim|png-libpng)_([a-z0-9-]+)_(\d+x\d+)$")


def load(paths):
    """(kind, protocol, size) -> metric -> [p50 of each run]."""
    runs = {}
    for path in paths:
        with open(path) as f:
            for element in json.load(f):
                m = NAME.search(element["benchmark"])
                if not m:
                    continue
                metrics = {k: v["scorePercentiles"]["50.0"] for k, v in element["secondaryMetrics"].items()}
                entry = runs.setdefault(m.groups(), {})
                for k, v in metrics.items():
                    entry.setdefault(k, []).append(v)
    return runs


def median(values):
    return statistics.median(values) if values else None


def per_frame(runs, key):
    """Median µs per frame, packets per frame, bytes per frame, mallocs per iteration, per frame and per packet."""
    e = runs.get(key)
    if not e or not e.get("frames") or median(e["frames"]) == 0:
        return None
    frames = median(e["frames"])
    packets = median(e.get("packets", [0]))
    mallocs = median(e.get("Malloc (total)", [0]))
    return {
        "us_per_frame": median(e["Time (wall clock)"]) / frames,
        "packets_per_frame": packets / frames,
        "bytes_per_frame": median(e.get("bytes", [0])) / frames,
        "mallocs_per_frame": mallocs / frames,
        "mallocs_per_packet": mallocs / packets if packets else None,
    }


def fmt_time(us):
    if us is None:
        return "n/a"
    if us >= 1000:
        return f"{us / 1000:.2f} ms"
    return f"{us:.1f} µs" if us >= 10 else f"{us:.2f} µs"


def fmt_bytes(n):
    if n >= 1e6:
        return f"{n / 1e6:.1f} MB"
    if n >= 1e3:
        return f"{n / 1e3:.1f} kB"
    return f"{n:.0f} B"


def fmt_ratio(r, limit):
    if r is None:
        return "n/a"
    return f"{r:.1f}×{'' if r <= limit else ' ✗'}"


def fmt_allocs(r):
    """Allocations per frame / per packet; ✗ when there is at least one per packet."""
    if r is None or r["mallocs_per_packet"] is None:
        return "n/a"
    f, p = r["mallocs_per_frame"], r["mallocs_per_packet"]
    if f == 0:
        return "0"
    per_packet = "<0.001" if p < 0.001 else f"{p:.3f}" if p < 1 else f"{p:.1f}"
    return f"{f:.0f} / {per_packet}" + (" ✗" if p >= 1 else "")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("exports", nargs="+", help="JMH exports (Current_run.jmh.json) of one or more runs")
    ap.add_argument("--json", help="write the table as JSON to this file")
    ap.add_argument("--load", help="the machine's load average while the run ran, printed with the table")
    args = ap.parse_args()
    runs = load(args.exports)
    if not runs:
        sys.exit("bench-report: no PanelSim benchmarks in " + ", ".join(args.exports))

    rows, pngs = [], []
    header = ["protocol", "panel", "packets/frame", "bytes/frame", "encode", "decode", "memcpy",
              "encode/memcpy", "decode/memcpy", "floor/memcpy", "decode/floor", "enc allocs frame/pkt", "dec allocs frame/pkt"]
    lines = []
    for size in SIZES:
        for proto in PROTOCOLS:
            enc, dec, mem, flo = (per_frame(runs, (k, proto, size)) for k in ("encode", "decode", "memcpy", "floor"))
            if not enc and not dec and not mem:
                if any(k[2] == size for k in runs):
                    # Left out by the benchmark (the log says why: a panel the protocol cannot
                    # address, e.g. Art-Net at 4K) or by a --filter.
                    lines.append([proto, size, "—", "—", "not run"] + [""] * 8)
                continue
            base = mem["us_per_frame"] if mem else None
            floor = flo["us_per_frame"] if flo else None
            row = {
                "protocol": proto, "panel": size,
                "packets_per_frame": (enc or dec or mem)["packets_per_frame"],
                "bytes_per_frame": (enc or dec or mem)["bytes_per_frame"],
                "encode_us": enc and enc["us_per_frame"], "decode_us": dec and dec["us_per_frame"],
                "memcpy_us": base, "floor_us": floor,
                "encode_ratio": enc and base and enc["us_per_frame"] / base,
                "decode_ratio": dec and base and dec["us_per_frame"] / base,
                "floor_ratio": floor and base and floor / base,
                "decode_floor_ratio": dec and floor and dec["us_per_frame"] / floor,
                "encode_mallocs_per_packet": enc and enc["mallocs_per_packet"],
                "decode_mallocs_per_packet": dec and dec["mallocs_per_packet"],
                "encode_mallocs_per_frame": enc and enc["mallocs_per_frame"],
                "decode_mallocs_per_frame": dec and dec["mallocs_per_frame"],
            }
            rows.append(row)
            lines.append([proto, size, f"{row['packets_per_frame']:.0f}", fmt_bytes(row["bytes_per_frame"]),
                          fmt_time(row["encode_us"]), fmt_time(row["decode_us"]), fmt_time(base),
                          fmt_ratio(row["encode_ratio"], MAX_CODEC_RATIO), fmt_ratio(row["decode_ratio"], MAX_CODEC_RATIO),
                          fmt_ratio(row["floor_ratio"], MAX_CODEC_RATIO), fmt_ratio(row["decode_floor_ratio"], float("inf")),
                          fmt_allocs(enc), fmt_allocs(dec)])

    png_header = ["panel", "PNGFile.write", "bare libpng", "PNGFile/libpng", "PNGFile allocs", "libpng allocs"]
    png_lines = []
    for size in SIZES:
        ours, bare = per_frame(runs, ("png-panelsim", "png", size)), per_frame(runs, ("png-libpng", "png", size))
        if not ours or not bare:
            continue
        ratio = ours["us_per_frame"] / bare["us_per_frame"]
        pngs.append({"panel": size, "pngfile_us": ours["us_per_frame"], "libpng_us": bare["us_per_frame"], "ratio": ratio,
                     "pngfile_mallocs": ours["mallocs_per_frame"], "libpng_mallocs": bare["mallocs_per_frame"]})
        png_lines.append([size, fmt_time(ours["us_per_frame"]), fmt_time(bare["us_per_frame"]), fmt_ratio(ratio, MAX_PNG_RATIO),
                          f"{ours['mallocs_per_frame']:.0f}", f"{bare['mallocs_per_frame']:.0f}"])

    def table(head, body):
        widths = [max(len(str(r[i])) for r in [head] + body) for i in range(len(head))]
        out = ["  ".join(str(c).ljust(w) for c, w in zip(head, widths)).rstrip()]
        out.append("  ".join("-" * w for w in widths))
        out += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip() for r in body]
        return "\n".join(out)

    runs_note = f"{len(args.exports)} run(s); medians" + (f"; load average during the run: {args.load}" if args.load else "")
    print(f"Encoding core, per frame ({runs_note})")
    print(table(header, lines))
    print(f"\nTargets: encode and decode within {MAX_CODEC_RATIO:g}× of memcpy, 0 allocations per packet; ✗ marks a miss.")
    print("Times are medians per frame; memcpy copies the frame's bytes (all its packets, headers included) once.")
    print("floor: the same bytes copied one datagram (or message) at a time plus one frame event per frame, the least")
    print("any receiver of this device API pays; where floor/memcpy is over the target, decode cannot meet it.")
    print("Allocations (steady state, after warm-up): mallocs per frame / per packet; allocations made once per frame")
    print("(the decoder's frame event) count as a fraction per packet when a frame has many packets.")
    if png_lines:
        print(f"\nPNG write of the frame (PNGOptions.fast: zlib 1, SUB filter), to /dev/shm")
        print(table(png_header, png_lines))
        print(f"Target: PNGFile within {MAX_PNG_RATIO:g}× of bare libpng.")

    if args.json:
        with open(args.json, "w") as f:
            json.dump({"runs": len(args.exports), "load": args.load, "codec": rows, "png": pngs}, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
