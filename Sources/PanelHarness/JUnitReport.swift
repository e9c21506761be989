import Foundation
import PanelSession

/// JUnit XML, the format CI systems show as test results: suites of test cases, each passed,
/// failed (with a message) or skipped.
public struct JUnitReport {
    public struct Case {
        public var name: String
        public var className: String
        public var failure: String?
        public var output: String?
        public var seconds: Double
        public init(name: String, className: String, failure: String? = nil, output: String? = nil, seconds: Double = 0) {
            self.name = name; self.className = className; self.failure = failure; self.output = output; self.seconds = seconds
        }
    }

    public struct Suite {
        public var name: String
        public var cases: [Case]
        public init(name: String, cases: [Case]) { self.name = name; self.cases = cases }
    }

    public var suites: [Suite]
    public init(suites: [Suite]) { self.suites = suites }

    public var xml: String {
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        let tests = suites.reduce(0) { $0 + $1.cases.count }
        let failures = suites.reduce(0) { $0 + $1.cases.filter { $0.failure != nil }.count }
        out += "<testsuites name=\"panelsim\" tests=\"\(tests)\" failures=\"\(failures)\">\n"
        for s in suites {
            let f = s.cases.filter { $0.failure != nil }.count
            out += "  <testsuite name=\"\(escape(s.name))\" tests=\"\(s.cases.count)\" failures=\"\(f)\" errors=\"0\" skipped=\"0\">\n"
            for c in s.cases {
                out += "    <testcase classname=\"\(escape(c.className))\" name=\"\(escape(c.name))\" time=\"\(String(format: "%.3f", c.seconds))\""
                if c.failure == nil && c.output == nil { out += "/>\n"; continue }
                out += ">\n"
                if let m = c.failure { out += "      <failure message=\"\(escape(m))\">\(escape(m))</failure>\n" }
                if let o = c.output { out += "      <system-out>\(escape(o))</system-out>\n" }
                out += "    </testcase>\n"
            }
            out += "  </testsuite>\n"
        }
        out += "</testsuites>\n"
        return out
    }

    func escape(_ s: String) -> String {
        var out = ""
        for u in s.unicodeScalars {
            switch u {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default:
                // XML 1.0 forbids most control characters, even escaped.
                if u.value < 0x20 && u != "\n" && u != "\t" && u != "\r" { out += "?" } else { out.unicodeScalars.append(u) }
            }
        }
        return out
    }
}

/// The reports of a serve session: JSON (counters and golden results per controller) and
/// JUnit XML (with --expect, one test case per compared frame; otherwise one per controller).
public enum ServeReport {
    public static func json(_ result: ServeResult) -> JSONValue {
        .object([
            "passed": .bool(!result.goldenFailed && result.outputErrors.isEmpty),
            "output-errors": .array(result.outputErrors.map { .string($0) }),
            "controllers": .array(result.controllers.map { c in
                var o: [String: JSONValue] = [
                    "name": .string(c.name), "packets": .int(c.counters.packets), "frames": .int(c.counters.frames),
                    "torn": .int(c.counters.torn), "malformed": .int(c.counters.malformed.values.reduce(0, +)),
                ]
                if let g = c.golden { o["golden"] = g.json }
                return .object(o)
            }),
        ])
    }

    public static func junit(_ result: ServeResult) -> JUnitReport { junit(result.controllers, command: "serve") }

    /// One suite per controller: its golden frames (one case each), or one case for the recording.
    public static func junit(_ controllers: [ControllerResult], command: String) -> JUnitReport {
        JUnitReport(suites: controllers.map { c in
            let summary = "\(c.counters.packets) packets, \(c.counters.frames) frames, \(c.counters.torn) torn"
            guard let g = c.golden else {
                return .init(name: "panelsim \(command) \(c.name)", cases: [
                    .init(name: "recording", className: c.name, failure: c.recordingStopped.map { "recording stopped: \($0)" }, output: summary),
                ])
            }
            let failed = Dictionary(g.mismatches.map { ($0.frame, $0) }, uniquingKeysWith: { a, _ in a })
            let last = max(g.compared, g.mismatches.map(\.frame).max() ?? 0)
            let cases: [JUnitReport.Case] = (0..<last).map { i in
                let frame = i + 1
                let name = FrameRecorder.fileName(frame: frame)
                guard let m = failed[frame] else { return .init(name: name, className: c.name) }
                return .init(name: name, className: c.name, failure: m.reason + (m.diffFile.map { " (diff: \($0))" } ?? ""))
            }
            return .init(name: "panelsim \(command) \(c.name) golden frames", cases: cases)
        })
    }
}
