import Foundation
import PanelSession

/// The reports of a stress run: a table for the terminal, JSON, JUnit XML (one test case per
/// threshold).
public enum StressReport {
    /// A plain-text table: one row per controller, the totals, the ramp and the thresholds.
    public static func table(_ r: StressResult) -> String {
        var out = "scenario \(r.scenario) (\(r.transport)): \(String(format: "%.2f", r.seconds)) s, CPU "
            + String(format: "%.2f s user + %.2f s system", r.cpu.user, r.cpu.system) + "\n"
        let header = ["controller", "protocol", "sent", "shown", "lost", "torn", "fps", "packets/s", "Mpx/s", "Gbit/s",
                      "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms"]
        var rows: [[String]] = [header]
        func ms(_ s: Double) -> String { String(format: "%.3f", s * 1e3) }
        for c in r.controllers {
            rows.append([c.name, c.protocolName, "\(c.framesSent)", "\(c.framesShown)", "\(c.framesLost)", "\(c.framesTorn)",
                         String(format: "%.2f", c.framesPerSecond), String(format: "%.0f", c.packetsPerSecond),
                         String(format: "%.2f", c.seconds > 0 ? Double(c.framesShown * c.pixels) / c.seconds / 1e6 : 0),
                         String(format: "%.3f", c.seconds > 0 ? Double(c.bytesSent) * 8 / c.seconds / 1e9 : 0),
                         ms(c.latency.p50), ms(c.latency.p90), ms(c.latency.p99), ms(c.latency.p999), ms(c.latency.max)])
        }
        if r.controllers.count > 1 {
            rows.append(["total", "", "\(r.framesSent)", "\(r.framesShown)", "\(r.framesLost)", "\(r.framesTorn)",
                         String(format: "%.2f", r.framesPerSecond), String(format: "%.0f", r.packetsPerSecond),
                         String(format: "%.2f", r.megapixelsPerSecond), String(format: "%.3f", r.gigabitsPerSecond),
                         ms(r.latency.p50), ms(r.latency.p90), ms(r.latency.p99), ms(r.latency.p999), ms(r.latency.max)])
        }
        let widths = header.indices.map { i in rows.map { $0[i].count }.max() ?? 0 }
        for row in rows {
            out += row.enumerated().map { i, cell in
                let pad = String(repeating: " ", count: widths[i] - cell.count)
                return i < 2 ? cell + pad : pad + cell
            }.joined(separator: "  ") + "\n"
        }
        for c in r.controllers where c.faults.lost + c.faults.duplicated + c.faults.reordered + c.faults.queueDrops > 0 {
            out += "faults \(c.name): \(c.faults.offered) packets offered, \(c.faults.lost) lost, \(c.faults.duplicated) duplicated, "
                + "\(c.faults.reordered) reordered, \(c.faults.queueDrops) dropped from the queue; \(c.packetsReceived) received\n"
        }
        for c in r.controllers where c.refused > 0 {
            out += "transport \(c.name): \(c.refused) packets refused (\(c.refusal ?? "?"))\n"
        }
        if !r.ramp.isEmpty {
            out += "ramp: " + r.ramp.map { s in
                "\(StressResult.number(s.fps)) fps " + (s.held ? "held" : "failed (\(s.lost) lost, reached \(StressResult.number(s.achievedFPS)))")
            }.joined(separator: "; ") + "\n"
            out += "sustained: " + (r.sustainedFPS.map { "\(StressResult.number($0)) fps without a lost frame" } ?? "no step held") + "\n"
        }
        if !r.universeRamp.isEmpty {
            out += "universe ramp: " + r.universeRamp.map { s in
                "\(s.universes) " + (s.held ? "held" : "failed (\(s.lost) lost, \(s.torn) torn, reached \(StressResult.number(s.achievedFPS)) fps, p99 \(StressResult.ms(s.p99)))")
            }.joined(separator: "; ") + "\n"
            out += "sustained: " + (r.sustainedUniverses.map { "\($0) universes at \(StressResult.number(r.universeRamp[0].fps)) fps without a lost frame" } ?? "no step held") + "\n"
        }
        for t in r.thresholds {
            out += (t.passed ? "PASS " : "FAIL ") + "\(t.name) \(t.limit): \(t.measured)\n"
        }
        return out
    }

    static func latency(_ l: LatencySummary) -> JSONValue {
        .object(["count": .int(l.count), "p50": .double(l.p50 * 1e3), "p90": .double(l.p90 * 1e3), "p99": .double(l.p99 * 1e3),
                 "p99.9": .double(l.p999 * 1e3), "max": .double(l.max * 1e3), "mean": .double(l.mean * 1e3)])
    }

    /// The whole result; latencies in milliseconds.
    public static func json(_ r: StressResult) -> JSONValue {
        var doc: [String: JSONValue] = [
            "scenario": .string(r.scenario), "file": .string(r.file), "transport": .string(r.transport),
            "passed": .bool(r.passed), "exit-code": .int(Int(r.exitCode)), "seconds": .double(r.seconds),
            "cpu-seconds": .object(["user": .double(r.cpu.user), "system": .double(r.cpu.system)]),
            "frames": .object(["sent": .int(r.framesSent), "shown": .int(r.framesShown), "lost": .int(r.framesLost), "torn": .int(r.framesTorn)]),
            "latency-ms": latency(r.latency),
            "throughput": .object(["frames-per-second": .double(r.framesPerSecond), "packets-per-second": .double(r.packetsPerSecond),
                                   "megapixels-per-second": .double(r.megapixelsPerSecond), "gigabits-per-second": .double(r.gigabitsPerSecond)]),
            "controllers": .array(r.controllers.map { c in
                .object([
                    "name": .string(c.name), "protocol": .string(c.protocolName), "pixels": .int(c.pixels), "seconds": .double(c.seconds),
                    "frames": .object(["sent": .int(c.framesSent), "shown": .int(c.framesShown), "lost": .int(c.framesLost),
                                       "torn": .int(c.framesTorn), "repeated": .int(c.framesRepeated)]),
                    "packets": .object(["sent": .int(c.packetsSent), "received": .int(c.packetsReceived), "bytes-sent": .int(c.bytesSent),
                                        "refused": .int(c.refused), "warm-up": .int(c.warmupPackets)]),
                    "faults": .object(["offered": .int(c.faults.offered), "delivered": .int(c.faults.delivered), "lost": .int(c.faults.lost),
                                       "duplicated": .int(c.faults.duplicated), "reordered": .int(c.faults.reordered),
                                       "queue-drops": .int(c.faults.queueDrops)]),
                    "frames-per-second": .double(c.framesPerSecond), "packets-per-second": .double(c.packetsPerSecond),
                    "latency-ms": latency(c.latency),
                ])
            }),
            "thresholds": .array(r.thresholds.map { t in
                .object(["name": .string(t.name), "limit": .string(t.limit), "measured": .string(t.measured), "passed": .bool(t.passed)])
            }),
        ]
        if !r.ramp.isEmpty {
            doc["ramp"] = .object([
                "steps": .array(r.ramp.map { s in
                    .object(["fps": .double(s.fps), "frames": .int(s.frames), "lost": .int(s.lost), "achieved-fps": .double(s.achievedFPS),
                             "p99-ms": .double(s.p99 * 1e3), "held": .bool(s.held)])
                }),
                "sustained-fps": r.sustainedFPS.map { .double($0) } ?? .null,
            ])
        }
        if !r.universeRamp.isEmpty {
            doc["universe-ramp"] = .object([
                "steps": .array(r.universeRamp.map { s in
                    .object(["universes": .int(s.universes), "rows": .int(s.rows), "fps": .double(s.fps), "frames": .int(s.frames), "lost": .int(s.lost),
                             "torn": .int(s.torn), "packets-per-second": .double(s.packetsPerSecond), "achieved-fps": .double(s.achievedFPS),
                             "p99-ms": .double(s.p99 * 1e3), "held": .bool(s.held)])
                }),
                "sustained-universes": r.sustainedUniverses.map { .int($0) } ?? .null,
            ])
        }
        return .object(doc)
    }

    /// One test case per threshold (a run without thresholds: one case, passed, with the table).
    public static func junit(_ r: StressResult) -> JUnitReport {
        let cases: [JUnitReport.Case] = r.thresholds.isEmpty
            ? [.init(name: "run", className: r.scenario, output: table(r), seconds: r.seconds)]
            : r.thresholds.map { t in
                .init(name: "\(t.name) \(t.limit)", className: r.scenario,
                      failure: t.passed ? nil : "\(t.name): measured \(t.measured), limit \(t.limit)", output: "measured \(t.measured)")
            }
        return JUnitReport(suites: [.init(name: "panelsim stress \(r.scenario)", cases: cases)])
    }
}
