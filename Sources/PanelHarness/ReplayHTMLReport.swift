import Foundation
import PanelCore
import PanelImage
import PanelSession

/// report.html of a replay: one self-contained file (images inline as data: URLs, the plot as
/// inline SVG, no external assets). Findings first, then a contact sheet of frames per
/// controller, a timeline of packet intervals per universe, and the tables.
public enum ReplayHTMLReport {
    /// Frames shown per controller in the contact sheet, and the thumbnails' largest side.
    public static let contactFrames = 24
    public static let thumbnailSide = 192

    public static func html(report: JSONValue, stats: TrafficStats, outputDirectory: String) -> String {
        var h = """
        <!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>PanelSim replay report</title>
        <style>
        body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1200px}
        h1{font-size:1.5em} h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}
        ul.findings li{margin:.3em 0} .ok{color:#2a7} .bad{color:#c33}
        table{border-collapse:collapse;font-size:.85em} td,th{border:1px solid #ccc;padding:.2em .5em;text-align:right}
        th{background:#f3f3f3} td.l,th.l{text-align:left}
        .sheet{display:flex;flex-wrap:wrap;gap:.5em} .sheet figure{margin:0;font-size:.75em;text-align:center}
        .sheet img{image-rendering:pixelated;border:1px solid #999;background:#000;max-width:\(thumbnailSide)px}
        .torn img{border:2px solid #c33}
        </style></head><body>
        <h1>PanelSim replay report</h1>
        <p>\(escape(report["capture"]?.stringValue ?? "")): \(report["records"]?.intValue ?? 0) records, \(report["datagrams"]?.intValue ?? 0) UDP datagrams.</p>

        """
        let findings = report["findings"]?.arrayValue?.compactMap(\.stringValue) ?? []
        h += "<h2>Findings</h2>\n"
        if findings.isEmpty {
            h += "<p class=\"ok\">Nothing went wrong that PanelSim can see.</p>\n"
        } else {
            h += "<ul class=\"findings\">" + findings.map { "<li class=\"bad\">\(escape($0))</li>" }.joined() + "</ul>\n"
        }
        let notes = report["notes"]?.arrayValue?.compactMap(\.stringValue) ?? []
        if !notes.isEmpty {
            h += "<ul class=\"findings\">" + notes.map { "<li style=\"color:#666\">\(escape($0))</li>" }.joined() + "</ul>\n"
        }
        h += "<h2>Frames</h2>\n"
        for c in report["controllers"]?.arrayValue ?? [] {
            guard let name = c["name"]?.stringValue else { continue }
            h += "<h3>\(escape(name))</h3>\n" + contactSheet(directory: outputDirectory + "/" + name)
        }
        h += "<h2>Packet intervals per universe</h2>\n" + timeline(stats)
        h += "<h2>Streams</h2>\n" + streamTable(report["streams"]?.arrayValue ?? [])
        h += "<h2>Controllers</h2>\n<table><tr><th class=\"l\">controller</th><th>packets</th><th>frames</th><th>torn</th><th>malformed</th></tr>"
        for c in report["controllers"]?.arrayValue ?? [] {
            h += "<tr><td class=\"l\">\(escape(c["name"]?.stringValue ?? ""))</td><td>\(c["packets"]?.intValue ?? 0)</td><td>\(c["frames"]?.intValue ?? 0)</td>"
            h += "<td>\(c["torn"]?.intValue ?? 0)</td><td>\(c["malformed"]?.arrayValue?.count ?? 0)</td></tr>"
        }
        h += "</table>\n"
        if let ignored = report["ignored"], case .object(let o) = ignored, !o.isEmpty {
            h += "<h2>Records not used</h2>\n<table>" + o.keys.sorted().map { "<tr><td class=\"l\">\(escape($0))</td><td>\(o[$0]?.intValue ?? 0)</td></tr>" }.joined() + "</table>\n"
        }
        h += "</body></html>\n"
        return h
    }

    /// Up to `contactFrames` frames spread over the recording, as inline thumbnails.
    static func contactSheet(directory: String) -> String {
        // Only the sampled lines are parsed: a long replay has hundreds of thousands.
        let text = FileText.read(directory + "/frames.jsonl") ?? ""
        let written = text.utf8.split(separator: UInt8(ascii: "\n")).filter { contains($0, Array("\"file\":\"".utf8)) }
        guard !written.isEmpty else {
            return text.isEmpty ? "<p>No frames.</p>\n" : "<p>No images were written (--no-png).</p>\n"
        }
        let step = max(1, (written.count + contactFrames - 1) / contactFrames)
        var out = "<div class=\"sheet\">"
        for frame in stride(from: 0, to: written.count, by: step).compactMap({ JSONValue.parse(String(decoding: written[$0], as: UTF8.self)) }) {
            guard let file = frame["file"]?.stringValue, let canvas = try? PNGFile.read(path: directory + "/" + file),
                  let src = dataURL(canvas, maxSide: thumbnailSide) else { continue }
            let torn = frame["torn"]?.boolValue == true
            let time = frame["time"].flatMap { v -> Double? in if case .double(let d) = v { return d }; return v.intValue.map(Double.init) } ?? 0
            out += "<figure class=\"\(torn ? "torn" : "")\"><img alt=\"\(escape(file))\" src=\"\(src)\">"
            out += "<figcaption>#\(frame["index"]?.intValue ?? 0) · \(String(format: "%.3f", time)) s\(torn ? " · torn" : "")</figcaption></figure>"
        }
        return out + "</div>\n"
    }

    /// A picture as an inline `data:image/png;base64,…` URL, shrunk by a whole factor so its
    /// largest side is at most about `maxSide`; nil when it cannot be encoded.
    static func dataURL(_ canvas: Canvas, maxSide: Int) -> String? {
        let scale = max(1, max(canvas.width, canvas.height) / max(1, maxSide))
        let thumb = scale == 1 ? canvas : canvas.resized(width: max(1, canvas.width / scale), height: max(1, canvas.height / scale))
        guard let png = try? PNGFile.encode(thumb) else { return nil }
        return "data:image/png;base64," + Data(png).base64EncodedString()
    }

    static func contains<S: Sequence<UInt8>>(_ haystack: S, _ needle: [UInt8]) -> Bool {
        var matched = 0
        for b in haystack {
            matched = b == needle[matched] ? matched + 1 : (b == needle[0] ? 1 : 0)
            if matched == needle.count { return true }
        }
        return false
    }

    /// Inline SVG: interval (ms) over capture time, one line per stream (at most 12).
    static func timeline(_ stats: TrafficStats) -> String {
        let keys = stats.streams.keys.sorted().prefix(12)
        let series = keys.compactMap { k in stats.streams[k].map { (k, $0.timeline) } }.filter { !$0.1.isEmpty }
        guard !series.isEmpty else { return "<p>Not enough packets for a timeline.</p>\n" }
        let maxT = max(0.001, series.flatMap { $0.1.map(\.0) }.max() ?? 1)
        let maxI = max(0.001, series.flatMap { $0.1.map(\.1) }.max() ?? 1)
        let w = 1000.0, hgt = 320.0, left = 60.0, bottom = 30.0
        let colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939"]
        let legendRows = (series.count + 3) / 4
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w))\" height=\"\(Int(hgt) + 16 * legendRows)\" font-size=\"11\">"
        svg += "<line x1=\"\(left)\" y1=\"\(hgt - bottom)\" x2=\"\(w)\" y2=\"\(hgt - bottom)\" stroke=\"#333\"/><line x1=\"\(left)\" y1=\"0\" x2=\"\(left)\" y2=\"\(hgt - bottom)\" stroke=\"#333\"/>"
        svg += "<text x=\"\(left + 4)\" y=\"12\">\(String(format: "%.1f", maxI)) ms</text><text x=\"\(w - 80)\" y=\"\(hgt - 10)\">\(String(format: "%.2f", maxT)) s</text>"
        for (n, (key, points)) in series.enumerated() {
            let coords = points.map { p in
                String(format: "%.1f,%.1f", left + p.0 / maxT * (w - left - 10), (hgt - bottom) - p.1 / maxI * (hgt - bottom - 20))
            }.joined(separator: " ")
            svg += "<polyline fill=\"none\" stroke=\"\(colors[n % colors.count])\" stroke-width=\"1\" points=\"\(coords)\"/>"
            svg += "<text x=\"\(left + 10 + Double(n % 4) * 230)\" y=\"\(hgt + 4 + Double(n / 4) * 16)\" fill=\"\(colors[n % colors.count])\">\(escape("\(key.protocolName) u\(key.universe) \(key.source)"))</text>"
        }
        return svg + "</svg>\n"
    }

    static func streamTable(_ streams: [JSONValue]) -> String {
        var t = "<table><tr><th class=\"l\">protocol</th><th>universe</th><th class=\"l\">source</th><th>packets</th><th>rate /s</th>"
        t += "<th>p50 ms</th><th>p99 ms</th><th>largest gap ms</th><th>lost</th><th>dup</th><th>reorder</th><th class=\"l\">priority</th></tr>"
        func num(_ v: JSONValue?) -> String {
            guard let v = v else { return "" }
            if case .double(let d) = v { return String(format: "%.2f", d) }
            return v.intValue.map(String.init) ?? ""
        }
        for s in streams {
            t += "<tr><td class=\"l\">\(escape(s["protocol"]?.stringValue ?? ""))</td><td>\(num(s["universe"]))</td>"
            t += "<td class=\"l\">\(escape(s["source"]?.stringValue ?? ""))\(s["name"]?.stringValue.map { " (" + escape($0) + ")" } ?? "")</td>"
            t += "<td>\(num(s["packets"]))</td><td>\(num(s["rate"]))</td><td>\(num(s["interval-ms"]?["p50"]))</td><td>\(num(s["interval-ms"]?["p99"]))</td>"
            t += "<td>\(num(s["largest-gap-ms"]))</td><td>\(num(s["sequence"]?["missing"]))</td><td>\(num(s["sequence"]?["duplicates"]))</td>"
            t += "<td>\(num(s["sequence"]?["reorders"]))</td><td class=\"l\">\((s["priorities"]?.arrayValue ?? []).compactMap(\.intValue).map(String.init).joined(separator: ", "))</td></tr>"
        }
        return t + "</table>\n"
    }

    static func escape(_ s: String) -> String {
        var out = ""
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }
}
