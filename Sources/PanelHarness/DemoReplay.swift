import Foundation
import PanelSession

/// The demo's second look at its own traffic: the session capture replayed with the city's
/// config, each controller's frames compared with the live recording (match index), and the
/// capture linted.
struct DemoReplay {
    /// One rule hit by the lint.
    struct Hit { var rule: String; var severity: String; var count: Int; var detail: String }
    /// One replayed controller against its live recording.
    struct Golden { var controller: String; var compared: Int; var matched: Int; var problems: [String] }

    var capture: String
    var records = 0
    var datagrams = 0
    var tcpConnections = 0
    var goldens: [Golden] = []
    var findings: [String] = []
    var lint: [Hit] = []
    var rulesChecked = 0
    var captureError: String?

    var passed: Bool {
        captureError == nil && !goldens.isEmpty && goldens.allSatisfy { $0.problems.isEmpty && $0.compared > 0 && $0.matched == $0.compared }
    }

    var verdict: String {
        if let e = captureError { return "cannot read it: \(e)" }
        let frames = goldens.reduce(0) { $0 + $1.compared }, matched = goldens.reduce(0) { $0 + $1.matched }
        return "\(records) records, \(goldens.count) controllers, \(matched) of \(frames) replayed frames identical to the live recording"
            + (passed ? "" : " ← FAILED")
    }

    static func run(capture: String, config: SessionConfig, live: String, into directory: String) throws -> DemoReplay {
        var options = ReplayOptions(capturePath: capture, outputDirectory: directory, config: config)
        options.expectDirectory = live
        options.goldenMatch = .index
        let session = ReplaySession(options: options)
        let stats = TrafficStats()
        session.observer = { plugin, datagram in stats.observe(plugin, datagram) }
        let result = try session.run()
        let report = ReplayReport.json(capture: capture, result: result, stats: stats)
        try FileText.write(report.pretty, to: directory + "/report.json")
        var r = DemoReplay(capture: capture)
        r.records = result.records
        r.datagrams = result.datagrams
        r.tcpConnections = result.tcpConnections
        r.captureError = result.captureError
        r.findings = report["findings"]?.arrayValue?.compactMap(\.stringValue) ?? []
        r.goldens = result.controllers.map { c in
            Golden(controller: c.name, compared: c.golden?.compared ?? 0, matched: c.golden?.matched ?? 0,
                   problems: (c.golden?.mismatches ?? []).prefix(5).map { "frame \($0.frame): \($0.reason)" })
        }
        let check = CheckSession.run(capture: capture, profile: nil)
        r.rulesChecked = check.rulesChecked.count
        r.lint = CheckReport.hits(check).map { Hit(rule: $0.rule.id, severity: $0.rule.severity.rawValue, count: $0.count, detail: $0.first.detail) }
        return r
    }
}
