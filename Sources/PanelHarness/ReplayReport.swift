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
                let informational = ["sync-address", "sync-start", "stream-terminated"].contains(kind)
                for l in lines { if informational { notes.append(.string(l)) } else { findings.append(.string(l)) } }
            }
            if c.counters.torn > 0 { findings.append(.string("\(c.name): \(c.counters.torn) of \(c.counters.frames) frames torn (a universe missing when the frame closed)")) }
        }
        for f in streamFindings { findings.append(.string(f)) }
        let malformed = stats.malformed.values.reduce(0, +)
        if malformed > 0 { findings.append(.string("\(malformed) packets could not be read (see malformed)")) }
        return .object([
            "schema": .int(schemaVersion),
            "capture": .string(capture),
            "records": .int(result.records),
            "datagrams": .int(result.datagrams),
            "ignored": .object(result.ignored.mapValues { .int($0) }),
            "capture-error": result.captureError.map { .string($0) } ?? .null,
            "findings": .array(findings),
            "notes": .array(notes),
            "streams": streams,
            "streams-left-out": .int(stats.streamsLeftOut),
            "unknown-datagrams": .int(stats.unknownDatagrams),
            "malformed": .object(stats.malformed.mapValues { .int($0) }),
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
