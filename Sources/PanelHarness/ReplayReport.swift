import PanelCore
import PanelSession

/// report.json of a replay: what was read, what went wrong in plain words (first), then the
/// per-stream statistics and each controller's counters.
public enum ReplayReport {
    public static let schemaVersion = 1

    public static func json(capture: String, result: ReplayResult, stats: TrafficStats) -> JSONValue {
        let (streams, streamFindings) = stats.json()
        var findings: [JSONValue] = []
        if let e = result.captureError { findings.append(.string("the capture is damaged: \(e); everything before it was read")) }
        var notes: [JSONValue] = []
        for c in result.controllers {
            // Same-kind findings beyond three are summarised in one line; what is normal
            // behaviour (a sender naming its sync address, ending its streams) goes to notes.
            let byKind = Dictionary(grouping: c.findings.sorted { $0.time < $1.time }, by: \.kind)
            for kind in byKind.keys.sorted() {
                guard let list = byKind[kind], let first = list.first, let last = list.last else { continue }
                let lines: [String]
                if list.count > 3 {
                    lines = ["\(c.name): \(list.count) × \(kind) from \(Self.seconds(first.time)) s to \(Self.seconds(last.time)) s, first: \(first.message)"]
                } else {
                    lines = list.map { "\(c.name) at \(Self.seconds($0.time)) s: \($0.message)" }
                }
                let informational = ["sync-address", "sync-start", "stream-terminated", "per-address-priority"].contains(kind)
                for l in lines { if informational { notes.append(.string(l)) } else { findings.append(.string(l)) } }
            }
            if c.counters.torn > 0 { findings.append(.string("\(c.name): \(c.counters.torn) of \(c.counters.frames) frames torn (a universe missing when the frame closed)")) }
        }
        for f in streamFindings { findings.append(.string(f)) }
        for (reason, n) in stats.malformed.sorted(by: { $0.key < $1.key }) {
            let first = stats.malformedPackets.first { "\($0.protocolName): \($0.reason)" == reason }
            findings.append(.string("\(n) \(n == 1 ? "packet" : "packets") rejected, \(reason)" + (first.map { " (first: record \($0.recordNumber) from \($0.source), byte \($0.offset): \($0.detail))" } ?? "")))
        }
        let violationCount = stats.violations.values.reduce(0, +)
        if violationCount > 0 {
            let rules = stats.violations.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
            let listed = rules.prefix(6).map { "\($0.key) ×\($0.value)" }.joined(separator: ", ")
            findings.append(.string("packets break \(rules.count) spec \(rules.count == 1 ? "rule" : "rules"): \(listed)\(rules.count > 6 ? ", …" : "") (decoded anyway; see violations)"))
        }
        if !result.malformedRecords.isEmpty {
            findings.append(.string("\(result.ignored["malformed record"] ?? result.malformedRecords.count) capture records could not be decoded below the protocol (first: record \(result.malformedRecords[0].recordNumber), \(result.malformedRecords[0].reason))"))
        }
        if !result.reassemblyProblems.isEmpty {
            findings.append(.string("reassembly gave up \(result.reassemblyProblems.count)\(result.reassemblyProblems.count >= ReplayResult.maxListed ? "+" : "") times (first: record \(result.reassemblyProblems[0].recordNumber), \(result.reassemblyProblems[0].reason))"))
        }
        for (what, bytes) in result.unclaimed.sorted(by: { $0.key < $1.key }) { notes.append(.string("\(what): \(bytes) bytes")) }
        let conflictKinds: Set<String> = ["conflict", "merge", "third-source"]
        var conflicts: [JSONValue] = []
        for c in result.controllers {
            for f in c.findings where conflictKinds.contains(f.kind) {
                conflicts.append(.object(["controller": .string(c.name), "kind": .string(f.kind), "time": .double(f.time),
                                          "universe": f.universe.map { .int($0) } ?? .null, "message": .string(f.message)]))
            }
        }
        func problems(_ list: [RecordProblem]) -> JSONValue {
            .array(list.map { p in .object(["record": .int(p.recordNumber), "time": p.time.map { .double($0) } ?? .null, "reason": .string(p.reason)]) })
        }
        let origin = stats.firstTime ?? .zero
        return .object([
            "schema": .int(schemaVersion),
            "capture": .string(capture),
            "records": .int(result.records),
            "duration": .double(result.duration),
            "datagrams": .int(result.datagrams),
            "tcp": .object(["connections": .int(result.tcpConnections), "bytes": .int(result.tcpBytes)]),
            "ethernet-frames": .int(result.ethernetFrames),
            "ignored": .object(result.ignored.mapValues { .int($0) }),
            "capture-error": result.captureError.map { .string($0) } ?? .null,
            "findings": .array(findings),
            "notes": .array(notes),
            "streams": streams,
            "streams-left-out": .int(stats.streamsLeftOut),
            "unknown-datagrams": .int(stats.unknownDatagrams),
            "malformed": .object(stats.malformed.mapValues { .int($0) }),
            "malformed-packets": .array(stats.malformedPackets.map { m in
                .object(["record": .int(m.recordNumber), "time": .double((m.time - origin).seconds), "protocol": .string(m.protocolName),
                         "source": .string(m.source.description), "reason": .string(m.reason), "offset": .int(m.offset), "detail": .string(m.detail)])
            }),
            "malformed-records": problems(result.malformedRecords),
            "reassembly-problems": problems(result.reassemblyProblems),
            "conflicts": .array(conflicts),
            "torn-frames": .array(result.tornFrames.map { t in
                .object(["controller": .string(t.controller), "frame": .int(t.frame), "time": .double(t.time),
                         "universes-present": .array(t.universesPresent.map { .int($0) }),
                         "universes-missing": .array(t.universesMissing.map { .int($0) })])
            }),
            "violations": .object(stats.violations.mapValues { .int($0) }),
            "controllers": .array(result.controllers.map { c in
                .object(["name": .string(c.name), "packets": .int(c.counters.packets), "frames": .int(c.counters.frames),
                         "torn": .int(c.counters.torn), "events": .object(c.counters.events.mapValues { .int($0) }),
                         "malformed": .array(c.malformed.map { m in
                             .object(["time": .double(m.time), "source": .string(m.source), "reason": .string(m.reason),
                                      "offset": .int(m.offset), "detail": .string(m.detail)])
                         })])
            }),
        ])
    }

    static func seconds(_ s: Double) -> String {
        let tenths = Int((s * 10).rounded())
        return "\(tenths / 10).\(abs(tenths % 10))"
    }
}
