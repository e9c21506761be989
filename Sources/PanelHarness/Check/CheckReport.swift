import PanelSession

/// The reports of `panelsim check`: a text summary (one line per rule hit), JSON and JUnit XML
/// (one test case per rule checked, failed when hit).
public enum CheckReport {
    public static let schemaVersion = 1

    /// One rule's hits summed over senders and universes, with its first hit.
    public struct RuleHit: Sendable {
        public var rule: CheckRule
        public var count: Int
        public var first: Finding
        /// Sender/universe pairs that hit it.
        public var places: Int
    }

    /// The hits per rule, most severe first, then by rule ID.
    public static func hits(_ result: CheckResult) -> [RuleHit] {
        var byRule: [String: RuleHit] = [:]
        for f in result.findings {
            if var h = byRule[f.rule.id] {
                h.count += f.count
                h.places += 1
                if (f.firstTime, f.firstRecord) < (h.first.firstTime, h.first.firstRecord) { h.first = f }
                byRule[f.rule.id] = h
            } else {
                byRule[f.rule.id] = RuleHit(rule: f.rule, count: f.count, first: f, places: 1)
            }
        }
        return byRule.values.sorted { ($0.rule.severity, $1.rule.id) > ($1.rule.severity, $0.rule.id) }
    }

    public static func text(_ result: CheckResult) -> String {
        let hits = hits(result)
        var lines: [String] = []
        func n(_ s: CheckSeverity) -> Int { hits.filter { $0.rule.severity == s }.count }
        lines.append("\(result.capture): \(result.records) records over \(seconds(result.duration)) s; \(result.rulesChecked.count) rules checked"
                     + (result.profile.map { " (profile \($0))" } ?? "")
                     + "; \(n(.error)) errors, \(n(.warning)) warnings, \(n(.info)) notes")
        for h in hits {
            let f = h.first
            let place = "from \(f.sender)" + (f.universe.map { " universe \($0)" } ?? "")
            let more = h.places > 1 ? " (+\(h.places - 1) more sender/universe)" : ""
            lines.append("\(h.rule.severity.rawValue.uppercased().padding(toLength: 7, withPad: " ", startingAt: 0)) \(h.rule.id) ×\(h.count): "
                         + "first record \(f.firstRecord) at \(seconds(f.firstTime)) s \(place)\(more): \(h.rule.explanation)"
                         + (f.detail.isEmpty ? "" : " [\(f.detail)]"))
        }
        if let e = result.captureError { lines.append("capture read stopped: \(e); everything before it was checked") }
        return lines.joined(separator: "\n") + "\n"
    }

    public static func json(_ result: CheckResult, failOn: CheckSeverity, exitCode: Int32) -> JSONValue {
        let hits = hits(result)
        return .object([
            "schema": .int(schemaVersion),
            "capture": .string(result.capture),
            "profile": result.profile.map { .string($0) } ?? .null,
            "records": .int(result.records),
            "duration": .double(result.duration),
            "datagrams": .int(result.datagrams),
            "tcp-connections": .int(result.tcpConnections),
            "layer2-frames": .int(result.layer2Frames),
            "serial-bytes": .int(result.serialBytes),
            "capture-error": result.captureError.map { .string($0) } ?? .null,
            "fail-on": .string(failOn.rawValue),
            "exit-code": .int(Int(exitCode)),
            "passed": .bool(result.failing(at: failOn).isEmpty && result.captureError == nil),
            "rules-checked": .int(result.rulesChecked.count),
            "hits": .array(hits.map { h in
                .object(["rule": .string(h.rule.id), "severity": .string(h.rule.severity.rawValue), "count": .int(h.count),
                         "explanation": .string(h.rule.explanation),
                         "first": .object(["record": .int(h.first.firstRecord), "time": .double(h.first.firstTime), "sender": .string(h.first.sender),
                                           "universe": h.first.universe.map { .int($0) } ?? .null, "detail": .string(h.first.detail)])])
            }),
            "findings": .array(result.findings.map { f in
                .object(["rule": .string(f.rule.id), "severity": .string(f.rule.severity.rawValue), "count": .int(f.count),
                         "record": .int(f.firstRecord), "time": .double(f.firstTime), "sender": .string(f.sender),
                         "universe": f.universe.map { .int($0) } ?? .null, "detail": .string(f.detail)])
            }),
        ])
    }

    public static func junit(_ result: CheckResult) -> JUnitReport {
        let byRule = Dictionary(grouping: result.findings, by: \.rule.id)
        var cases: [JUnitReport.Case] = result.rulesChecked.map { rule in
            guard let list = byRule[rule.id] else { return .init(name: rule.id, className: "check.\(rule.protocolName)") }
            let count = list.reduce(0) { $0 + $1.count }
            let firsts = list.sorted { $0.firstTime < $1.firstTime }.prefix(5).map { f in
                "record \(f.firstRecord) at \(seconds(f.firstTime)) s from \(f.sender)" + (f.universe.map { " universe \($0)" } ?? "")
                    + (f.detail.isEmpty ? "" : ": \(f.detail)")
            }
            return .init(name: rule.id, className: "check.\(rule.protocolName)",
                         failure: "\(rule.severity.rawValue): \(rule.explanation) (×\(count))", output: firsts.joined(separator: "\n"))
        }
        if let e = result.captureError {
            cases.append(.init(name: "capture readable", className: "check.capture", failure: e))
        }
        return JUnitReport(suites: [.init(name: "panelsim check \(result.capture)", cases: cases)])
    }

    static func seconds(_ s: Double) -> String {
        let ms = Int((s * 1000).rounded())
        let frac = String(abs(ms % 1000))
        return "\(ms / 1000)." + String(repeating: "0", count: 3 - frac.count) + frac
    }
}
