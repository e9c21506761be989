import ArgumentParser
import Foundation
import PanelHarness
import PanelSession

struct Replay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Turn a capture (pcap/pcapng) into frames: the same device models as serve, capture time as the clock.",
        discussion: """
        With --config the controllers are those of the file (datagrams go to the controller whose protocol \
        and UDP port match). Without it, each protocol and destination becomes a universe view: a gray \
        512-pixel row per universe, lowest universe on top. No frame is skipped. A damaged capture ends \
        with an error naming the record; everything before it is recorded (exit 3).
        """)

    @Argument(help: "The capture file.")
    var capture: String
    @Option(help: "YAML config of the controllers to replay into.")
    var config: String?
    @Option(help: "Record frames under this folder (the layout of serve --record); needed unless --live.")
    var out: String?
    @Option(help: "Write a JSON summary here.")
    var json: String?
    @Flag(help: "Decode and diagnose without writing PNGs (frames.jsonl and the reports are still written).")
    var noPng = false
    @OptionGroup var golden: GoldenFlags
    @Option(help: "Write JUnit XML here: with --expect one test case per golden frame, otherwise one per controller.")
    var junit: String?
    @Option(help: ArgumentHelp("Decode a port's traffic as a protocol, whatever its content: PORT=PROTOCOL, udp:PORT=… or tcp:PORT=… ('none' ignores the port). Repeatable.",
                               valueName: "port=protocol"))
    var decodeAs: [String] = []
    @Flag(help: "Resend the capture's payloads from sockets with its timing (to --to) instead of recording frames.")
    var live = false
    @Option(help: "Live: send everything to HOST, at PORT if given, else at each datagram's or connection's captured port.")
    var to: String?
    @Option(help: "Live: speed factor of the capture's timing (default 1).")
    var speed: Double?
    @Flag(help: "Live: send without waiting.")
    var topspeed = false
    @Option(help: "Live: packets per second, ignoring the capture's timing.")
    var pps: Double?
    @Option(help: "Live: send the capture this many times, each pass after the previous one's span (default 1).")
    var loop: Int?
    @Option(help: "Live: send from this many seconds after the capture's first record.")
    var start: Double?
    @Option(help: "Live: send up to this many seconds after the capture's first record.")
    var stop: Double?
    @Option(help: ArgumentHelp("Live: cut any pause of the capture's timing longer than this many seconds to it (default 3600).",
                               discussion: "A capture whose clock jumps (a damaged timestamp, a capture left running) would otherwise make the replay wait that long."))
    var maxPause: Double?
    @Option(help: "Live: send layer-2 frames raw on this interface (without it they are skipped).")
    var interface: String?

    func run() async throws {
        if live { try await runLive(); return }
        guard let out else { throw ValidationError("give --out DIR (or --live --to HOST)") }
        let sessionConfig = try config.map { try SessionConfig.load(path: $0) }
        let overrides = try decodeAs.map { try ProtocolDetector.parseOverride($0, registry: .standard) }
        var replayOptions = ReplayOptions(capturePath: capture, outputDirectory: out, config: sessionConfig, writePNG: !noPng, overrides: overrides)
        try golden.validate()
        replayOptions.expectDirectory = golden.expect
        replayOptions.tolerance = golden.tolerance
        replayOptions.goldenMatch = golden.match
        replayOptions.updateGolden = golden.updateGolden
        let session = ReplaySession(options: replayOptions)
        let stats = TrafficStats()
        session.observer = { plugin, datagram in stats.observe(plugin, datagram) }
        let progress = ProgressLine(label: "replay")
        session.progress = { p in
            progress.show((p.fractionRead.map { String(format: "%3.0f%% · ", $0 * 100) } ?? "")
                          + "\(p.events) packets, \(String(format: "%.1f", p.captureSeconds)) s of capture")
        }
        let result: ReplayResult
        do {
            result = try session.run()
            progress.clear()
        } catch let e as ConfigError {
            throw e
        } catch let e as OutputError {
            throw e
        } catch {
            throw RunError(message: "\(error)")
        }
        var lines = ["\(capture): \(result.records) records over \(String(format: "%.1f", result.duration)) s, \(result.datagrams) UDP datagrams"
                     + (result.tcpConnections > 0 ? ", \(result.tcpConnections) TCP connections (\(result.tcpBytes) bytes)" : "")
                     + (result.ethernetFrames > 0 ? ", \(result.ethernetFrames) layer-2 frames" : "")]
        for (reason, n) in result.ignored.sorted(by: { $0.key < $1.key }) { lines.append("  ignored \(n): \(reason)") }
        for c in result.controllers {
            lines.append("\(c.name): \(c.counters.packets) packets, \(c.counters.frames) frames, \(c.counters.torn) torn → \(out)/\(c.name)/")
            if let g = c.golden { lines.append("  " + GoldenFlags.verdict(g)) }
        }
        let report = ReplayReport.json(capture: capture, result: result, stats: stats)
        try FileText.write(report.pretty, to: out + "/report.json")
        try FileText.write(ReplayHTMLReport.html(report: report, stats: stats, outputDirectory: out), to: out + "/report.html")
        for f in (report["findings"]?.arrayValue ?? []).prefix(20) { lines.append("  finding: \(f.stringValue ?? "")") }
        lines.append("report: \(out)/report.html (and report.json)")
        FileHandle.standardError.write(Data((lines.joined(separator: "\n") + "\n").utf8))
        if let path = json {
            let doc = JSONValue.object([
                "records": .int(result.records), "datagrams": .int(result.datagrams),
                "ignored": .object(result.ignored.mapValues { .int($0) }),
                "capture-error": result.captureError.map { .string($0) } ?? .null,
                "controllers": .array(result.controllers.map { c in
                    var o: [String: JSONValue] = ["name": .string(c.name), "packets": .int(c.counters.packets), "frames": .int(c.counters.frames),
                                                  "torn": .int(c.counters.torn)]
                    if let g = c.golden { o["golden"] = g.json }
                    return .object(o)
                }),
                "passed": .bool(!result.controllers.contains { !($0.golden?.passed ?? true) }),
            ])
            try FileText.write(doc.pretty, to: path)
        }
        if let path = junit { try FileText.write(ServeReport.junit(result.controllers, command: "replay").xml, to: path) }
        for e in result.outputErrors { printError("not written: \(e)") }
        if let e = result.captureError { throw RunError(message: "capture read stopped: \(e) (everything before it was recorded)") }
        if !result.outputErrors.isEmpty { throw ExitCode(Exit.runFailed) }
        if result.controllers.contains(where: { !($0.golden?.passed ?? true) }) { throw ExitCode(Exit.checkFailed) }
    }
}
