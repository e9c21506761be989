import Foundation
import Logging
import PanelCore
import PanelDevice
import PanelImage
import PanelSession
import PanelWire

/// The bundled default scenario (`panelsim demo`): a city of five videotrons of five protocols
/// on 127.0.0.1, driven by the built-in sender, every recorded frame checked pixel by pixel
/// against what was sent, the session capture replayed against the live recording and linted,
/// a short stress run, and one self-contained HTML page (`OUT/index.html`) with all of it.
public struct DemoScenario {
    public let outputDirectory: String
    /// Called with a short status line at each step (nil: quiet).
    public let progress: ((String) -> Void)?
    /// Test hook: the expected pictures of the panel of this name get one pixel changed, so the
    /// demo must find every frame of it different from what was sent.
    var corruptExpectationOf: String? = nil

    public init(outputDirectory: String, progress: ((String) -> Void)? = nil) {
        self.outputDirectory = outputDirectory; self.progress = progress
    }

    /// One recorded frame of a panel: what it stood for and whether it is what was sent.
    public struct Shot: Sendable {
        public var index: Int
        public var file: String?
        public var label: String
        public var matches: Bool
    }

    /// One videotron's verdict.
    public struct Panel: Sendable {
        public var name: String
        public var protocolName: String
        public var width: Int
        public var height: Int
        /// What was sent, in words (frames, or control requests).
        public var sentText: String
        /// Frames (or control-plane changes) sent, and recorded frames identical to what was sent.
        public var sent: Int
        /// What `sent` counts: "frames", or "control requests" (NovaStar).
        public var sentUnit = "frames"
        public var matched: Int
        /// Recorded frames that differ from what was sent, plus sent pictures never recorded.
        public var mismatches: Int
        public var notes: [String]
        public var shots: [Shot]
        public var passed: Bool { mismatches == 0 && matched > 0 }
    }

    public struct Report {
        public var summary: String
        public var passed: Bool
        public var panels: [Panel]
        /// The session capture replayed against the live recording (match index).
        public var replayPassed: Bool
        public var page: String
    }

    /// Frames of the announcement and of the test sequence sent to each pixel panel.
    static let announcementFrames = 3
    static let testFrames = 24
    static let fps = 30.0
    /// The NovaStar brightness change and the Colorlight brightness packet.
    static let dimmed: UInt8 = 0x40

    /// The NovaStar panel's size: its input picture is written at this size.
    static let novaStarWidth = 128, novaStarHeight = 64

    /// The city; `%INPUT%` becomes the absolute path of the announcement PNG.
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
      - name: stasiun-tugu
        protocol: ddp
        transport: { udp: 127.0.0.1:0 }
        panel: { width: 120, height: 40, pixel: rgb }
      - name: bundaran-hi
        protocol: novastar
        transport: { tcp: 127.0.0.1:0 }
        panel: { width: \(novaStarWidth), height: \(novaStarHeight), pixel: rgb }
        options: { discovery: "off", input-hdmi: "%INPUT%", apply-brightness: "true" }
      - name: pasar-baru
        protocol: colorlight
        transport: { interface: lo }
        panel: { width: 80, height: 80, pixel: rgb }
    """

    /// The stress run: three of the city's protocols in process, 2 s at 30 fps.
    static let stress = """
    controllers:
      - name: alun-alun
        protocol: artnet
        panel: { width: 96, height: 48, pixel: rgb }
      - name: simpang-lima
        protocol: sacn
        panel: { width: 64, height: 32, pixel: rgb }
      - name: stasiun-tugu
        protocol: ddp
        panel: { width: 120, height: 40, pixel: rgb }
    sender:
      pattern: counter
      fps: 30
      duration: 2s
      sync: on
    transport: memory
    """

    /// The announcement: a banner of red and white bands (top and bottom), a dark blue field
    /// with a yellow arrow pointing right and a row of coloured tiles, drawn in pixels (RGB).
    public static func announcement(width: Int, height: Int) -> Canvas {
        var c = Canvas(width: width, height: height, format: .rgb)
        let band = max(1, height / 8)
        let tiles: [[UInt8]] = [[230, 40, 40], [250, 160, 20], [250, 220, 40], [40, 180, 80], [40, 120, 230], [150, 70, 200]]
        let midY = height / 2, arrowHalf = max(2, height / 5), shaft = max(1, height / 12)
        let arrowX0 = width / 5, arrowX1 = width * 4 / 5, headX = width * 3 / 5
        for y in 0..<height {
            for x in 0..<width {
                var rgb: [UInt8] = [16, 28, 72]
                if y < band { rgb = [206, 17, 38] } else if y >= height - band { rgb = [245, 245, 245] }
                if y >= height - 2 * band && y < height - band {
                    rgb = tiles[min(tiles.count - 1, x * tiles.count / max(1, width))]
                }
                let dy = abs(y - midY)
                if x >= arrowX0 && x < headX && dy <= shaft { rgb = [250, 210, 0] }
                if x >= headX && x < arrowX1 && dy <= arrowHalf * (arrowX1 - x) / max(1, arrowX1 - headX) { rgb = [250, 210, 0] }
                if let o = c.offset(x: x, y: y) { c.bytes[o] = rgb[0]; c.bytes[o + 1] = rgb[1]; c.bytes[o + 2] = rgb[2] }
            }
        }
        return c
    }

    func say(_ text: String) { progress?(text) }

    public func run() async throws -> Report {
        let out = outputDirectory
        try? FileManager.default.removeItem(atPath: out)
        do { try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true) } catch {
            throw OutputError(path: out, reason: "cannot create the folder: \(error.localizedDescription)")
        }
        let absolute = out.hasPrefix("/") ? out : FileManager.default.currentDirectoryPath + "/" + out
        let inputPath = absolute + "/announcement.png"
        // The NovaStar card's HDMI input shows the announcement at its panel's size.
        try PNGFile.write(DemoScenario.announcement(width: DemoScenario.novaStarWidth, height: DemoScenario.novaStarHeight), to: inputPath, options: .fast)
        let city = try SessionConfig.parse(yaml: DemoScenario.config.replacingOccurrences(of: "%INPUT%", with: inputPath), file: "demo")
        var served = city
        served.controllers.removeAll { $0.plugin.carrier == .ethernet }

        // Serve the four network controllers, with the session capture.
        var options = ServeOptions()
        options.recordDirectory = out
        options.recording = RecordingOptions(png: .fast, skipIdentical: false, maxBacklog: nil)
        options.readyFile = out + "/.ready.json"
        options.pcapPath = out + "/session.pcap"
        var logger = Logger(label: "panelsim.demo")
        logger.logLevel = .warning
        let serve = ServeSession(config: served, options: options, logger: logger)
        let serveTask = Task { try await serve.run() }
        var ready: JSONValue? = nil
        for _ in 0..<500 {
            if let text = FileText.read(out + "/.ready.json"), let j = JSONValue.parse(text) { ready = j; break }
            try await Task.sleep(nanoseconds: 10_000_000)
        }
        guard let listening = ready?["listening"]?.arrayValue else {
            serve.stop(); _ = try? await serveTask.value
            throw OutputError(path: out + "/.ready.json", reason: "the demo controllers did not start")
        }
        try? FileManager.default.removeItem(atPath: out + "/.ready.json")
        var ports: [String: Int] = [:]
        for entry in listening {
            if let name = entry["controller"]?.stringValue, let port = entry["port"]?.intValue, ports[name] == nil { ports[name] = port }
        }

        say("sending the announcement and the test sequence to \(served.controllers.count) controllers on 127.0.0.1…")
        var sentText: [String: String] = [:]
        do {
            try await withThrowingTaskGroup(of: (String, String).self) { group in
                for c in served.controllers {
                    guard let port = ports[c.name] else { throw OutputError(path: out, reason: "\(c.name) is not listening") }
                    if c.plugin.name == "novastar" {
                        group.addTask { (c.name, try await DemoScenario.driveNovaStar(port: port)) }
                    } else {
                        group.addTask { (c.name, try await DemoScenario.drivePixels(c, port: port)) }
                    }
                }
                for try await (name, text) in group { sentText[name] = text }
            }
        } catch {
            serve.stop()
            _ = try? await serveTask.value
            throw error
        }
        try await Task.sleep(nanoseconds: 200_000_000)
        serve.stop()
        _ = try await serveTask.value

        // Colorlight 5A needs raw Ethernet (root): its sender and card model run in process.
        var panels: [Panel] = []
        for c in city.controllers where c.plugin.carrier == .ethernet {
            say("driving \(c.name) (\(c.plugin.displayName)) in process…")
            sentText[c.name] = try DemoScenario.driveInProcess(c, directory: out + "/" + c.name)
        }
        for c in city.controllers {
            panels.append(try verify(c, sentText: sentText[c.name] ?? ""))
        }

        say("replaying the session capture against the live recording…")
        let replay = try DemoReplay.run(capture: options.pcapPath ?? "", config: served, live: out, into: out + "/replay")
        say("a short stress run in memory…")
        let stress = try await StressRunner.run(StressScenario.parse(yaml: DemoScenario.stress, file: "demo-stress"))

        let passed = panels.allSatisfy(\.passed) && replay.passed
        let page = out + "/index.html"
        try FileText.write(DemoPage.html(panels: panels, replay: replay, stress: stress, directory: out), to: page)
        var lines = [passed ? "PanelSim demo passed." : "PanelSim demo FAILED."]
        for p in panels {
            lines.append("  \(p.name) (\(p.protocolName), \(p.width)×\(p.height)): \(p.sentText); \(p.shots.count) frames recorded, "
                         + "\(p.matched) identical to what was sent, \(p.mismatches) differing" + (p.passed ? "" : " ← FAILED"))
            for n in p.notes { lines.append("    \(n)") }
        }
        lines.append("  replay of \(options.pcapPath ?? ""): " + replay.verdict)
        lines.append("  lint: " + (replay.lint.isEmpty ? "no rule hit" : replay.lint.map { "\($0.rule) ×\($0.count)" }.joined(separator: ", ")))
        lines.append("  stress (in memory, 2 s): " + String(format: "%.1f fps, %.0f packets/s, p99 %.3f ms",
                                                         stress.framesPerSecond, stress.packetsPerSecond, stress.latency.p99 * 1e3))
        lines.append("Page: \(absolute)/index.html")
        return Report(summary: lines.joined(separator: "\n"), passed: passed, panels: panels, replayPassed: replay.passed, page: absolute + "/index.html")
    }

    /// The announcement for a few frames, then the frame-counter test sequence, over UDP.
    static func drivePixels(_ c: ControllerConfig, port: Int) async throws -> String {
        let map = try c.channelMap()
        let sender = SenderSettings(map: map, sync: true, sourceName: "PanelSim demo", syncUniverse: 63999)
        // A black frame opens the stream: until a receiver has seen the sender's universes and
        // sync once, it may show a frame made of the first universes only (black is black either way).
        let lead = [Canvas(width: c.width, height: c.height, format: c.pixel)]
            + Array(repeating: announcement(width: c.width, height: c.height), count: announcementFrames)
        let send = SendSession(options: SendOptions(plugin: c.plugin, host: "127.0.0.1", port: port, map: map,
                                                    content: .sequence(lead: lead, then: .counter), fps: fps,
                                                    frames: lead.count + testFrames, seconds: nil, sender: sender))
        let packets = try await send.run().packets
        return "1 black + \(announcementFrames) announcement + \(testFrames) test frames as \(packets) packets"
    }

    /// NovaStar control requests sent to the card over TCP, one connection, in this order.
    static let novaStarCommands: [NovaStarCommand] = [.input(0x05), .brightness(0xFF), .brightness(dimmed), .blackout(true), .blackout(false)]

    static func driveNovaStar(port: Int) async throws -> String {
        let r = try await SendSession.runNovaStar(NovaStarSendOptions(target: .tcp(host: "127.0.0.1", port: port), commands: novaStarCommands))
        if let f = r.failure { throw RunFailure("NovaStar control plane: \(f)") }
        return "input HDMI (the announcement), brightness 255 → \(dimmed), blackout on, blackout off: \(r.exchanges.count) requests over TCP, all acknowledged"
    }

    /// Colorlight: sender → card model → recorder, in process, on a synthetic 30 fps clock.
    /// The announcement, the test sequence, then the announcement at a lower brightness (the
    /// 0x0A brightness packet).
    static func driveInProcess(_ c: ControllerConfig, directory: String) throws -> String {
        let map = try c.channelMap()
        let model: DeviceModel
        do { model = try c.plugin.makeDevice(ControllerSettings(name: c.name, map: map, frame: c.frame, options: c.options)) } catch {
            throw ConfigError(file: c.file, line: c.line, key: c.path + ".options." + error.key, error.message)
        }
        let recorder = try FrameRecorder(directory: directory, options: RecordingOptions(png: .fast, skipIdentical: false, maxBacklog: nil), golden: nil)
        let ann = announcement(width: c.width, height: c.height)
        var plain = SenderSettings(map: map)
        plain.brightness = 0xFF
        var dim = SenderSettings(map: map)
        dim.brightness = dimmed
        dim.rgbBrightness = ColorlightBrightness(red: dimmed, green: dimmed, blue: dimmed)
        var pictures: [(Canvas, SenderSettings)] = Array(repeating: (ann, plain), count: announcementFrames)
        for k in 0..<testFrames { pictures.append((TestPattern.counter.render(frame: k, width: c.width, height: c.height, format: c.pixel), plain)) }
        pictures += Array(repeating: (ann, dim), count: 2)
        let source = PacketSource(address: "02:00:00:00:00:01", port: 0)
        var packets = 0
        var t = Timestamp.zero
        let step = Timestamp(nanoseconds: Int64(1e9 / fps))
        for (picture, settings) in pictures {
            var sender = c.plugin.makeSender(settings)
            sender.encode(picture) { bytes, _ in
                packets += 1
                model.receive(bytes, from: source, at: t)
            }
            t = t + step
            model.tick(at: t)
            for f in model.takeOutput().frames { recorder.record(f, time: f.time.seconds) }
        }
        model.finish(at: t)
        for f in model.takeOutput().frames { recorder.record(f, time: f.time.seconds) }
        _ = recorder.finish()
        return "\(announcementFrames) announcement + \(testFrames) test frames + 2 at brightness \(dimmed) as \(packets) layer-2 frames, in process"
    }

    // MARK: verification

    func corrupted(_ c: Canvas, _ name: String) -> Canvas {
        guard corruptExpectationOf == name, !c.bytes.isEmpty else { return c }
        var x = c
        x.bytes[0] ^= 0xFF
        return x
    }

    /// Every recorded frame against what was sent; every sent picture must have been recorded.
    func verify(_ c: ControllerConfig, sentText: String) throws -> Panel {
        let dir = outputDirectory + "/" + c.name
        var panel = Panel(name: c.name, protocolName: c.plugin.displayName, width: c.width, height: c.height, sentText: sentText,
                          sent: 0, matched: 0, mismatches: 0, notes: [], shots: [])
        let lines = (FileText.read(dir + "/frames.jsonl") ?? "").split(separator: "\n").compactMap { JSONValue.parse(String($0)) }
        if c.plugin.name == "novastar" { return verifyNovaStar(c, lines, dir, panel) }
        let ann = corrupted(DemoScenario.announcement(width: c.width, height: c.height).converted(to: c.pixel), c.name)
        let inProcess = c.plugin.carrier == .ethernet
        let dimmedFrames = inProcess ? 2 : 0
        let black = corrupted(Canvas(width: c.width, height: c.height, format: c.pixel), c.name)
        panel.sent = (inProcess ? 0 : 1) + DemoScenario.announcementFrames + DemoScenario.testFrames + dimmedFrames
        var seenTest = Set<Int>()
        var seenAnnouncement = 0, seenDimmed = 0
        for j in lines {
            let index = j["index"]?.intValue ?? 0
            guard let file = j["file"]?.stringValue else {
                panel.shots.append(Shot(index: index, file: nil, label: "not written", matches: false))
                continue
            }
            let canvas = try PNGFile.read(path: dir + "/" + file)
            let brightness = j["brightness"]?.intValue
            var label = "unexpected picture"
            var ok = false
            if let n = FrameStamp.read(canvas), Int(n) < DemoScenario.testFrames,
               canvas == corrupted(TestPattern.counter.render(frame: Int(n), width: c.width, height: c.height, format: c.pixel), c.name) {
                label = "test \(n + 1)/\(DemoScenario.testFrames)"
                ok = true
                seenTest.insert(Int(n))
            } else if !inProcess && canvas == black {
                label = "black (stream start)"
                ok = true
            } else if canvas == ann {
                label = "announcement"
                ok = true
                if let b = brightness, b == Int(DemoScenario.dimmed) { label += " · brightness \(b)"; seenDimmed += 1 } else { seenAnnouncement += 1 }
            }
            if j["torn"]?.boolValue == true { label += " · torn"; ok = false }
            panel.shots.append(Shot(index: index, file: file, label: label, matches: ok))
        }
        panel.matched = panel.shots.filter(\.matches).count
        panel.mismatches = panel.shots.count - panel.matched
        let missingTests = DemoScenario.testFrames - seenTest.count
        if missingTests > 0 { panel.notes.append("\(missingTests) of \(DemoScenario.testFrames) test frames never shown"); panel.mismatches += missingTests }
        if seenAnnouncement == 0 { panel.notes.append("the announcement was never shown"); panel.mismatches += 1 }
        if dimmedFrames > 0 && seenDimmed == 0 { panel.notes.append("the brightness change (\(DemoScenario.dimmed)) never arrived"); panel.mismatches += 1 }
        return panel
    }

    /// NovaStar: each frame is the HDMI input (the announcement) at the frame's brightness,
    /// black in blackout; the dimmed picture, the blackout and its end must all have been shown.
    func verifyNovaStar(_ c: ControllerConfig, _ lines: [JSONValue], _ dir: String, _ start: Panel) -> Panel {
        var panel = start
        panel.sent = DemoScenario.novaStarCommands.count
        panel.sentUnit = "control requests"
        let input = DemoScenario.announcement(width: c.width, height: c.height)
        var sawDimmed = false, sawBlackout = false, sawBack = false
        for j in lines {
            let index = j["index"]?.intValue ?? 0
            guard let file = j["file"]?.stringValue, let canvas = try? PNGFile.read(path: dir + "/" + file) else {
                panel.shots.append(Shot(index: index, file: nil, label: "not written", matches: false))
                continue
            }
            let b = j["brightness"]?.intValue ?? 255, kill = j["kill"]?.intValue == 1
            let factors = ["brightness-red", "brightness-green", "brightness-blue"].map { j[$0]?.intValue ?? 255 }
            var expected = input
            if j["input"]?.intValue != 0x05 { expected = Canvas(width: 0, height: 0, format: .rgb) }
            for o in stride(from: 0, to: expected.bytes.count, by: 3) {
                for k in 0..<3 {
                    let v = kill ? 0 : Int(expected.bytes[o + k]) * min(255, max(0, b)) / 255 * min(255, max(0, factors[k])) / 255
                    expected.bytes[o + k] = UInt8(clamping: v)
                }
            }
            let ok = canvas == corrupted(expected.converted(to: c.pixel), c.name)
            var label: String
            if kill { label = "blackout"; sawBlackout = sawBlackout || sawDimmed }
            else if b == Int(DemoScenario.dimmed) { label = (sawBlackout ? "blackout off · " : "") + "brightness \(b)"; sawDimmed = true; sawBack = sawBack || sawBlackout }
            else { label = "announcement · brightness \(b)" }
            panel.shots.append(Shot(index: index, file: file, label: label, matches: ok))
        }
        panel.matched = panel.shots.filter(\.matches).count
        panel.mismatches = panel.shots.count - panel.matched
        for (seen, what) in [(sawDimmed, "the brightness change to \(DemoScenario.dimmed)"), (sawBlackout, "the blackout"), (sawBack, "the end of the blackout")] where !seen {
            panel.notes.append("\(what) was never shown")
            panel.mismatches += 1
        }
        return panel
    }
}
