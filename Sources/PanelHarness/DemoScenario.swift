import Foundation
import Logging
import PanelCore
import PanelDevice
import PanelImage
import PanelSession

/// The bundled default scenario: a small city of two videotrons, one Art-Net with ArtSync
/// and one sACN with E1.31 sync, each driven by the built-in sender with the frame-counter
/// pattern over loopback, recorded, and every recorded frame checked against what was sent.
public struct DemoScenario {
    public let outputDirectory: String
    public let progress: Bool
    public init(outputDirectory: String, progress: Bool) { self.outputDirectory = outputDirectory; self.progress = progress }

    public struct Report {
        public var summary: String
        public var passed: Bool
    }

    static let config = """
    controllers:
      - name: alun-alun
        protocol: artnet
        transport: { udp: 127.0.0.1:0 }
        panel: { width: 96, height: 48, pixel: rgb }
        mapping: { start-universe: 0, channels-per-universe: 510, layout: serpentine }
        options: { short-name: "Alun-Alun", long-name: "Videotron Alun-Alun (PanelSim demo)" }
      - name: simpang-lima
        protocol: sacn
        transport: { udp: 127.0.0.1:0 }
        panel: { width: 64, height: 32, pixel: rgb, order: grb }
        mapping: { start-universe: 1, channels-per-universe: 510 }
    """

    public func run() async throws -> Report {
        let config = try SessionConfig.parse(yaml: DemoScenario.config, file: "demo")
        try? FileManager.default.removeItem(atPath: outputDirectory)
        var options = ServeOptions()
        options.recordDirectory = outputDirectory
        options.recording = RecordingOptions(png: .fast, skipIdentical: false, maxBacklog: nil)
        options.readyFile = outputDirectory + ".ready.json"
        try FileManager.default.createDirectory(atPath: outputDirectory, withIntermediateDirectories: true)
        let logger = Logger(label: "panelsim.demo")
        let serve = ServeSession(config: config, options: options, logger: logger)
        let serveTask = Task { try await serve.run() }
        // Wait for the ready file, then drive each controller with the sender.
        var ready: JSONValue? = nil
        for _ in 0..<500 {
            if let text = FileText.read(options.readyFile ?? ""), let j = JSONValue.parse(text) { ready = j; break }
            try await Task.sleep(nanoseconds: 10_000_000)
        }
        guard let listening = ready?["listening"]?.arrayValue else { serve.stop(); _ = try await serveTask.value; throw OutputError(path: options.readyFile ?? "", reason: "the demo controllers did not start") }
        try? FileManager.default.removeItem(atPath: options.readyFile ?? "")
        let frames = 60
        var lines: [String] = []
        for entry in listening {
            guard let name = entry["controller"]?.stringValue, let port = entry["port"]?.intValue,
                  let c = config.controllers.first(where: { $0.name == name }) else { continue }
            let map = try c.channelMap()
            let sender = SenderSettings(map: map, sync: true, sourceName: "PanelSim demo", syncUniverse: 63999)
            let send = SendSession(options: SendOptions(plugin: c.plugin, host: "127.0.0.1", port: port, map: map,
                                                        content: .pattern(.counter), fps: 30, frames: frames, seconds: nil, sender: sender))
            if progress { FileHandle.standardError.write(Data("sending \(frames) frames to \(name) (\(c.plugin.displayName), 127.0.0.1:\(port))…\n".utf8)) }
            let r = try await send.run()
            lines.append("  \(name): sent \(r.frames) frames as \(r.packets) \(c.plugin.displayName) packets")
        }
        try await Task.sleep(nanoseconds: 200_000_000)
        serve.stop()
        let result = try await serveTask.value
        var passed = true
        for c in config.controllers {
            let verdict = try verify(controller: c, sent: frames)
            passed = passed && verdict.ok
            lines.append("  \(c.name): \(verdict.text)")
            _ = result
        }
        let header = passed ? "PanelSim demo passed." : "PanelSim demo FAILED."
        return Report(summary: ([header] + lines + ["Frames are in \(outputDirectory)/<controller>/ (frame-NNNNNN.png, frames.jsonl, recording.json)."]).joined(separator: "\n"), passed: passed)
    }

    /// Every recorded PNG must be exactly the counter frame whose number it carries.
    func verify(controller c: ControllerConfig, sent: Int) throws -> (ok: Bool, text: String) {
        let dir = outputDirectory + "/" + c.name
        guard let lines = FileText.read(dir + "/frames.jsonl")?.split(separator: "\n") else { return (false, "no frames.jsonl") }
        var exact = 0, torn = 0
        var seen = Set<UInt32>()
        for line in lines {
            guard let j = JSONValue.parse(String(line)), let file = j["file"]?.stringValue else { continue }
            if j["torn"]?.boolValue == true { torn += 1 }
            let canvas = try PNGFile.read(path: dir + "/" + file)
            guard let n = FrameStamp.read(canvas) else { continue }
            let expected = TestPattern.counter.render(frame: Int(n), width: c.width, height: c.height, format: c.pixel)
            if ImageDiff.compare(canvas, expected, tolerance: 0).matches { exact += 1; seen.insert(n) }
        }
        let ok = exact == lines.count && seen.count == sent && torn == 0
        return (ok, "\(lines.count) frames recorded, \(exact) pixel-identical to the frame sent, \(seen.count) of \(sent) distinct frames, \(torn) torn")
    }
}
