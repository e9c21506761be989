import Foundation
import PanelCore
import PanelImage
import PanelSession

/// The demo's page (`OUT/index.html`): one self-contained file (frames inline as data: URLs,
/// no external assets) with each panel's frames and verdict, the findings, and the numbers.
enum DemoPage {
    static func html(panels: [DemoScenario.Panel], replay: DemoReplay, stress: StressResult, directory: String) -> String {
        let esc = ReplayHTMLReport.escape
        let passed = panels.allSatisfy(\.passed) && replay.passed
        var h = """
        <!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>PanelSim city demo</title>
        <style>
        body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1300px}
        h1{font-size:1.5em} h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc} h3{margin:.2em 0}
        .ok{color:#2a7} .bad{color:#c33} section.panel{border:1px solid #ddd;border-radius:6px;padding:.8em;margin:1em 0}
        table{border-collapse:collapse;font-size:.85em} td,th{border:1px solid #ccc;padding:.2em .5em;text-align:right}
        th{background:#f3f3f3} td.l,th.l{text-align:left}
        .strip{display:flex;flex-wrap:wrap;gap:.4em} .strip figure{margin:0;font-size:.7em;text-align:center;max-width:140px}
        .strip img{image-rendering:pixelated;border:2px solid #2a7;background:#000;width:128px}
        .strip figure.bad img{border-color:#c33}
        </style></head><body>
        <h1>PanelSim city demo: <span class="\(passed ? "ok" : "bad")">\(passed ? "every panel shows what was sent" : "FAILED")</span></h1>
        <p>Five emulated videotrons on 127.0.0.1, driven by PanelSim's own sender; every recorded frame compared pixel by pixel with what was sent.</p>

        """
        h += "<h2>Panels</h2>\n"
        for p in panels {
            h += "<section class=\"panel\"><h3>\(esc(p.name)) — \(esc(p.protocolName)), \(p.width)×\(p.height)</h3>\n"
            h += "<p>Sent: \(esc(p.sentText)).<br>Verdict: <b class=\"\(p.passed ? "ok" : "bad")\">\(p.shots.count) frames recorded, "
                + "\(p.matched) identical to what was sent, \(p.mismatches) differing</b> (\(p.sent) \(p.sentUnit) sent).</p>\n"
            if !p.notes.isEmpty { h += "<ul>" + p.notes.map { "<li class=\"bad\">\(esc($0))</li>" }.joined() + "</ul>\n" }
            h += "<div class=\"strip\">"
            let dir = directory + "/" + p.name
            for s in p.shots {
                let img = s.file.flatMap { try? PNGFile.read(path: dir + "/" + $0) }.flatMap { ReplayHTMLReport.dataURL($0, maxSide: 256) }
                h += "<figure class=\"\(s.matches ? "" : "bad")\">"
                if let src = img { h += "<img alt=\"frame \(s.index)\" src=\"\(src)\">" }
                h += "<figcaption>#\(s.index) \(esc(s.label))\(s.matches ? "" : " ✗")</figcaption></figure>"
            }
            h += "</div></section>\n"
        }

        h += "<h2>Findings</h2>\n<h3>Lint of the session capture (panelsim check)</h3>\n"
        if replay.lint.isEmpty {
            h += "<p class=\"ok\">\(replay.rulesChecked) rules checked, none hit.</p>\n"
        } else {
            h += "<table><tr><th class=\"l\">rule</th><th class=\"l\">severity</th><th>hits</th><th class=\"l\">first</th></tr>"
            for hit in replay.lint {
                h += "<tr><td class=\"l\">\(esc(hit.rule))</td><td class=\"l\">\(esc(hit.severity))</td><td>\(hit.count)</td><td class=\"l\">\(esc(hit.detail))</td></tr>"
            }
            h += "</table>\n"
        }
        h += "<h3>Replay of the session capture (panelsim replay)</h3>\n"
        h += replay.findings.isEmpty ? "<p class=\"ok\">No replay findings.</p>\n"
            : "<ul>" + replay.findings.map { "<li>\(esc($0))</li>" }.joined() + "</ul>\n"

        h += "<h2>Numbers</h2>\n<h3>Replay against the live recording (golden, match index)</h3>\n"
        h += "<p class=\"\(replay.passed ? "ok" : "bad")\">\(esc(replay.verdict))</p>\n"
        h += "<table><tr><th class=\"l\">controller</th><th>frames compared</th><th>identical</th><th class=\"l\">problems</th></tr>"
        for g in replay.goldens {
            h += "<tr><td class=\"l\">\(esc(g.controller))</td><td>\(g.compared)</td><td>\(g.matched)</td><td class=\"l\">\(esc(g.problems.joined(separator: "; ")))</td></tr>"
        }
        h += "</table>\n"
        h += "<h3>Stress run (in memory, \(String(format: "%.1f", stress.seconds)) s)</h3>\n"
        h += "<table><tr><th class=\"l\">controller</th><th class=\"l\">protocol</th><th>frames sent</th><th>shown</th><th>lost</th>"
            + "<th>fps</th><th>packets/s</th><th>p50 ms</th><th>p99 ms</th></tr>"
        for c in stress.controllers {
            h += "<tr><td class=\"l\">\(esc(c.name))</td><td class=\"l\">\(esc(c.protocolName))</td><td>\(c.framesSent)</td><td>\(c.framesShown)</td>"
                + "<td>\(c.framesLost)</td><td>\(String(format: "%.1f", c.framesPerSecond))</td><td>\(String(format: "%.0f", c.packetsPerSecond))</td>"
                + "<td>\(String(format: "%.3f", c.latency.p50 * 1e3))</td><td>\(String(format: "%.3f", c.latency.p99 * 1e3))</td></tr>"
        }
        h += "</table>\n</body></html>\n"
        return h
    }
}
