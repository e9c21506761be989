import Foundation
import PanelCore
import PanelDevice
import PanelImage
import PanelSession

/// A stress scenario (`panelsim stress FILE.yaml`): controllers as in a serve config, one
/// sender per controller, a transport, network faults and the thresholds that decide the exit
/// code. README.md documents the schema.
public struct StressScenario: Sendable {
    /// How the sender's packets reach the controllers.
    public enum Transport: String, Sendable, CaseIterable {
        /// In process, one thread: encode → fault stage → device model.
        case memory
        /// A real serve session on 127.0.0.1, over UDP, TCP or a pseudo-terminal.
        case udp, tcp, pty

        /// Byte streams: packets cannot be lost, duplicated or reordered on them.
        var isStream: Bool { self == .tcp || self == .pty }
    }

    /// What every frame shows before the stamp (`FrameStamp` plus the frame number's low bits).
    public enum Content: Sendable {
        /// A built-in pattern, its first frame.
        case pattern(TestPattern)
        /// Pictures shown in turn, one per frame.
        case images([Canvas])
    }

    /// Frame rates tried one after the other, each for `stepSeconds`.
    public struct Ramp: Sendable, Equatable {
        public var rates: [Double]
        public var stepSeconds: Double
    }

    /// Universe counts tried one after the other at the sender's fixed rate, each for
    /// `stepSeconds`: step k shows the panel's top rows holding `counts[k]` universes.
    public struct UniverseRamp: Sendable, Equatable {
        public var counts: [Int]
        public var stepSeconds: Double
    }

    /// The limits a run must keep; nil: not checked.
    public struct Thresholds: Sendable {
        /// Latency limits by name ("p50", "p90", "p99", "p99.9", "max"), in that order.
        public var latency: [(name: String, limit: Timestamp)] = []
        public var minFPS: Double?
        public var minPPS: Double?
        public var maxLostFrames: Int?
        public var maxTornFrames: Int?
        /// Ramps: the highest rate without a lost frame must reach this.
        public var minSustainedFPS: Double?
        /// Universe ramps: the most universes without a lost frame must reach this.
        public var minSustainedUniverses: Int?
        public init() {}

        /// The latency values a threshold may name (`LatencySummary.value`).
        static let latencyNames = ["p50", "p90", "p99", "p99.9", "max"]
    }

    /// The scenario's name: its file name without folder and extension.
    public var name: String
    public var file: String
    public var controllers: [ControllerConfig]
    /// Per controller: true when the file gave its `transport:` (kept on live transports), false
    /// when stress picks one (a free loopback port, a new PTY).
    public var transportGiven: [Bool]
    public var transport: Transport
    public var content: Content
    /// Frames per second (the first step's rate with a ramp).
    public var fps: Double
    /// Frames to send (with a ramp: all steps together).
    public var frames: Int
    public var ramp: Ramp?
    public var universeRamp: UniverseRamp?
    public var sync: Bool
    public var faults: FaultSettings
    public var thresholds: Thresholds

    /// Caps that keep a typo from asking for a run of days.
    static let lowestFPS = 0.01
    static let maxFPS = 100_000.0
    static let maxFrames = 10_000_000

    /// Loads and validates a scenario file.
    public static func load(path: String, registry: ProtocolRegistry = .standard) throws(ConfigError) -> StressScenario {
        guard let text = FileText.read(path) else { throw ConfigError(file: path, line: nil, key: "", "cannot read the file") }
        return try parse(yaml: text, file: path, registry: registry)
    }

    /// Parses and validates scenario text; `file` names it in errors and anchors image paths.
    public static func parse(yaml: String, file: String, registry: ProtocolRegistry = .standard) throws(ConfigError) -> StressScenario {
        let top = try Fields.root(yaml: yaml, file: file)
        try top.allow(["controllers", "sender", "transport", "faults", "thresholds"])
        let controllers = try SessionConfig.parseControllers(in: top, registry: registry)
        let given = try top.items("controllers").map { $0.has("transport") }

        let transportName = try top.string("transport") ?? "memory"
        guard let transport = Transport(rawValue: transportName) else {
            throw top.error("transport", "must be \(Transport.allCases.map(\.rawValue).joined(separator: ", ")), not \"\(transportName)\"")
        }
        for (i, c) in controllers.enumerated() {
            try checkController(c, index: i, given: given[i], transport: transport, top: top)
        }

        guard let s = try top.fields("sender") else { throw top.error("sender", "is missing (fps and duration or frames, or a ramp)") }
        try s.allow(["protocol", "pattern", "images", "fps", "duration", "frames", "ramp", "sync"])
        if let p = try s.string("protocol") {
            guard let plugin = registry.plugin(named: p) else { throw s.error("protocol", "unknown protocol \"\(p)\" (known: \(registry.names.joined(separator: ", ")))") }
            if let other = controllers.first(where: { $0.plugin !== plugin }) {
                throw s.error("protocol", "is \(plugin.name) but controller \(other.name) speaks \(other.plugin.name) (leave protocol out to send each controller its own)")
            }
        }
        let content = try parseContent(s)
        let sync = try s.bool("sync") ?? false

        var fps: Double, frames: Int, ramp: Ramp? = nil, universeRamp: UniverseRamp? = nil
        if let r = try s.fields("ramp"), r.has("universes") {
            for key in ["duration", "frames"] where s.has(key) { throw s.error(key, "cannot be given with ramp: (the ramp sets the length)") }
            guard controllers.count == 1 else { throw s.error("ramp", "a universe ramp drives one controller; this scenario has \(controllers.count)") }
            fps = try fixedRate(s)
            let ramped = try parseUniverseRamp(r, controller: controllers[0])
            universeRamp = ramped
            frames = ramped.counts.count * framesFor(seconds: ramped.stepSeconds, fps: fps)
            if frames > maxFrames { throw s.error("ramp", "asks for \(frames) frames, more than \(maxFrames)") }
        } else if let r = try s.fields("ramp") {
            for key in ["fps", "duration", "frames"] where s.has(key) { throw s.error(key, "cannot be given with ramp: (the ramp sets the rates and the length)") }
            ramp = try parseRamp(r)
            fps = ramp?.rates.first ?? 0
            var total = 0
            for rate in ramp?.rates ?? [] { total += framesFor(seconds: ramp?.stepSeconds ?? 0, fps: rate) }
            frames = total
            if frames > maxFrames { throw s.error("ramp", "asks for \(frames) frames, more than \(maxFrames)") }
        } else {
            fps = try fixedRate(s)
            let count = try s.int("frames", in: 1...maxFrames)
            let seconds = try s.string("duration")
            switch (count, seconds) {
            case (.some, .some): throw s.error("frames", "give frames or duration, not both")
            case (.none, .none): throw s.error("duration", "is missing (or give frames)")
            case let (.some(n), .none): frames = n
            case let (.none, .some(d)):
                guard let t = parseDuration(d), t.nanoseconds > 0 else { throw s.error("duration", "must be a duration like 5s or 500ms, not \"\(d)\"") }
                frames = framesFor(seconds: t.seconds, fps: fps)
                if frames > maxFrames { throw s.error("duration", "asks for \(frames) frames, more than \(maxFrames)") }
            }
        }

        let faults = try top.fields("faults").map { f throws(ConfigError) in try parseFaults(f, transport: transport, controllers: controllers) } ?? FaultSettings()
        let thresholds = try top.fields("thresholds").map { t throws(ConfigError) in
            try parseThresholds(t, ramp: ramp != nil, universeRamp: universeRamp != nil)
        } ?? Thresholds()
        return StressScenario(name: scenarioName(file), file: file, controllers: controllers, transportGiven: given, transport: transport,
                              content: content, fps: fps, frames: frames, ramp: ramp, universeRamp: universeRamp, sync: sync, faults: faults,
                              thresholds: thresholds)
    }

    /// Frames in `seconds` at `fps`, at least one.
    static func framesFor(seconds: Double, fps: Double) -> Int {
        let n = (seconds * fps).rounded()
        return n.isFinite && n < Double(maxFrames) * 2 ? max(1, Int(n)) : maxFrames * 2
    }

    static func scenarioName(_ file: String) -> String {
        let base = file.split(separator: "/").last.map(String.init) ?? file
        if let dot = base.lastIndex(of: "."), dot > base.startIndex { return String(base[..<dot]) }
        return base
    }

    /// The controller must fit the transport and have room for the frame stamp.
    static func checkController(_ c: ControllerConfig, index i: Int, given: Bool, transport: Transport, top: Fields) throws(ConfigError) {
        let key = top.key("controllers[\(i)]")
        let components = c.width * c.height * c.pixel.bytesPerPixel
        if components < FrameStamp.byteCount + 1 {
            throw ConfigError(file: top.file, line: c.line, key: key + ".panel",
                              "has \(components) components; the frame stamp needs at least \(FrameStamp.byteCount + 1)")
        }
        let fits: Bool
        switch transport {
        case .memory: fits = true  // the model is fed directly, whatever its carrier
        case .udp: fits = c.plugin.carrier == .udp
        case .tcp: fits = c.plugin.carrier == .tcp
        case .pty: fits = c.plugin.travels(over: .serial)
        }
        if !fits {
            throw ConfigError(file: top.file, line: c.line, key: key + ".protocol",
                              "\(c.plugin.name) travels over \(c.plugin.carrier.rawValue), not the scenario's transport \(transport.rawValue)")
        }
        guard given, transport != .memory else { return }
        let loopback: Bool
        switch (transport, c.transport) {
        case let (.udp, .udp(host, _)), let (.tcp, .tcp(host, _)): loopback = host == "127.0.0.1"
        case (.pty, .serial(_, _, nil)): loopback = true
        default: loopback = false
        }
        if !loopback {
            throw ConfigError(file: top.file, line: c.line, key: key + ".transport",
                              "stress runs \(transport.rawValue) on this machine only: give \(transport == .pty ? "{ serial: pty }" : "{ \(transport.rawValue): 127.0.0.1:PORT }") or leave transport out (a free port or a new PTY)")
        }
    }

    static func parseContent(_ s: Fields) throws(ConfigError) -> Content {
        let images = try s.stringList("images")
        if let p = try s.string("pattern") {
            if !images.isEmpty { throw s.error("images", "give pattern or images, not both") }
            guard let pattern = TestPattern(rawValue: p) else {
                throw s.error("pattern", "must be \(TestPattern.allCases.map(\.rawValue).joined(separator: ", ")), not \"\(p)\"")
            }
            return .pattern(pattern)
        }
        guard !images.isEmpty else { return .pattern(.gradient) }
        var canvases: [Canvas] = []
        for path in images {
            var full = path
            if !path.hasPrefix("/"), let slash = s.file.lastIndex(of: "/") { full = s.file[...slash] + path }
            do { canvases.append(try PNGFile.read(path: full).converted(to: .rgb)) } catch { throw s.error("images", "\(full): \(error)") }
        }
        return .images(canvases)
    }

    /// The sender's `fps:`.
    static func fixedRate(_ s: Fields) throws(ConfigError) -> Double {
        guard let text = try s.string("fps") else { throw s.error("fps", "is missing") }
        guard let v = Double(text), v.isFinite, v >= lowestFPS, v <= maxFPS else { throw s.error("fps", "must be a number from \(lowestFPS) (above 0) to \(Int(maxFPS)), not \"\(text)\"") }
        return v
    }

    /// `ramp: { universes: [from, to, step], step-seconds: S }`; the panel must hold `to` universes.
    static func parseUniverseRamp(_ r: Fields, controller c: ControllerConfig) throws(ConfigError) -> UniverseRamp {
        try r.allow(["universes", "step-seconds"])
        let parts = try r.stringList("universes")
        let numbers = parts.compactMap { Int($0) }
        guard parts.count == 3, numbers.count == 3, numbers[0] >= 1, numbers[0] <= numbers[1], numbers[2] >= 1 else {
            throw r.error("universes", "must be [from, to, step] with 1 <= from <= to and step >= 1")
        }
        let most: Int
        do { most = try c.channelMap().universeCount } catch { throw r.error("universes", "the panel cannot be mapped: \(error.description)") }
        guard numbers[1] <= most else { throw r.error("universes", "goes to \(numbers[1]) but the panel of \(c.name) holds \(most) universes (make it taller)") }
        let count = (numbers[1] - numbers[0]) / numbers[2] + 1
        guard count <= 1000 else { throw r.error("universes", "makes \(count) steps, more than 1000") }
        return UniverseRamp(counts: (0..<count).map { numbers[0] + $0 * numbers[2] }, stepSeconds: try stepSeconds(r))
    }

    static func stepSeconds(_ r: Fields) throws(ConfigError) -> Double {
        guard let text = try r.string("step-seconds") else { throw r.error("step-seconds", "is missing") }
        guard let seconds = Double(text) ?? parseDuration(text)?.seconds, seconds.isFinite, seconds > 0, seconds <= 3600 else {
            throw r.error("step-seconds", "must be seconds above 0 and at most 3600, not \"\(text)\"")
        }
        return seconds
    }

    static func parseRamp(_ r: Fields) throws(ConfigError) -> Ramp {
        try r.allow(["fps", "universes", "step-seconds"])
        let parts = try r.stringList("fps")
        let numbers = parts.compactMap { Double($0) }
        guard parts.count == 3, numbers.count == 3, numbers.allSatisfy({ $0.isFinite && $0 >= lowestFPS && $0 <= maxFPS }), numbers[0] <= numbers[1] else {
            throw r.error("fps", "must be [from, to, step] with \(lowestFPS) <= from <= to <= \(Int(maxFPS)) and step >= \(lowestFPS)")
        }
        let count = ((numbers[1] - numbers[0]) / numbers[2]).rounded(.down) + 1
        guard count <= 1000 else { throw r.error("fps", "makes \(Int(count)) steps, more than 1000") }
        let rates = (0..<Int(count)).map { numbers[0] + Double($0) * numbers[2] }
        return Ramp(rates: rates, stepSeconds: try stepSeconds(r))
    }

    static func parseFaults(_ f: Fields, transport: Transport, controllers: [ControllerConfig]) throws(ConfigError) -> FaultSettings {
        try f.allow(["loss", "burst-loss", "duplicate", "reorder", "reorder-distance", "delay", "jitter", "bandwidth", "queue-limit", "seed"])
        var s = FaultSettings()
        s.loss = try probability(f, "loss") ?? 0
        if let b = try f.fields("burst-loss") {
            try b.allow(["enter", "exit", "loss"])
            guard let enter = try probability(b, "enter") else { throw b.error("enter", "is missing (probability per packet of a burst starting)") }
            guard let exit = try probability(b, "exit"), exit > 0 else { throw b.error("exit", "is missing or 0 (probability per packet of a burst ending)") }
            s.burstLoss = FaultSettings.BurstLoss(enterBad: enter, exitBad: exit, lossInBad: try probability(b, "loss") ?? 1)
        }
        s.duplicate = try probability(f, "duplicate") ?? 0
        s.reorder = try probability(f, "reorder") ?? 0
        s.reorderDistance = try f.int("reorder-distance", in: 1...1000) ?? 1
        s.delay = try distribution(f, "delay") ?? .constant(.zero)
        s.jitter = try distribution(f, "jitter") ?? .constant(.zero)
        if let text = try f.string("bandwidth") {
            guard let bits = parseBandwidth(text) else { throw f.error("bandwidth", "must be a rate like 100Mbit, 1Gbit or 500kbit, not \"\(text)\"") }
            s.bandwidthBitsPerSecond = bits
        }
        s.queueLimit = try f.int("queue-limit", in: 1...(1 << 24)) ?? s.queueLimit
        if let text = try f.string("seed") {
            guard let seed = UInt64(text) else { throw f.error("seed", "must be an integer 0...\(UInt64.max), not \"\(text)\"") }
            s.seed = seed
        }
        // A byte stream neither loses, duplicates nor reorders: its packets are bytes in order.
        let stream = transport.isStream || controllers.contains { $0.plugin.carrier == .tcp || $0.plugin.carrier == .serial }
        if stream {
            for key in ["loss", "burst-loss", "duplicate", "reorder"] where f.has(key) {
                throw f.error(key, "a stream transport (tcp, pty, or a stream protocol in memory) cannot lose, duplicate or reorder packets; use delay or bandwidth")
            }
            // Varying delays would let bytes overtake each other; a stream keeps them in order.
            if s.jitter != .constant(.zero) { throw f.error("jitter", "a stream transport keeps its bytes in order: no jitter (use a constant delay or bandwidth)") }
            if case .constant = s.delay {} else { throw f.error("delay", "a stream transport keeps its bytes in order: the delay must be constant") }
        }
        return s
    }

    /// "1%", "0.01" → 0.01; 0...1.
    static func probability(_ f: Fields, _ key: String) throws(ConfigError) -> Double? {
        guard let text = try f.string(key) else { return nil }
        let t = text.trimmingCharacters(in: .whitespaces)
        let value = t.hasSuffix("%") ? Double(t.dropLast()).map { $0 / 100 } : Double(t)
        guard let v = value, v.isFinite, v >= 0, v <= 1 else { throw f.error(key, "must be a probability like 1% or 0.01 (0...100%), not \"\(text)\"") }
        return v
    }

    /// `2ms` (constant) or one of `{ uniform: [1ms, 3ms] }`, `{ normal: [mean, deviation] }`, `{ exponential: mean }`.
    static func distribution(_ f: Fields, _ key: String) throws(ConfigError) -> FaultSettings.Distribution? {
        guard f.has(key) else { return nil }
        func duration(_ g: Fields, _ k: String, _ text: String) throws(ConfigError) -> Timestamp {
            guard let t = parseDuration(text), t.nanoseconds <= 60_000_000_000 else { throw g.error(k, "\"\(text)\" is not a duration like 2ms or 0.5ms (at most 60s)") }
            return t
        }
        if f.isMapping(key), let d = try f.fields(key) {
            try d.allow(["uniform", "normal", "exponential"])
            if d.has("uniform") {
                let v = try d.stringList("uniform")
                guard v.count == 2 else { throw d.error("uniform", "must be [low, high]") }
                let lo = try duration(d, "uniform", v[0]), hi = try duration(d, "uniform", v[1])
                guard lo <= hi else { throw d.error("uniform", "low must not be above high") }
                return .uniform(lo, hi)
            }
            if d.has("normal") {
                let v = try d.stringList("normal")
                guard v.count == 2 else { throw d.error("normal", "must be [mean, deviation]") }
                return .normal(mean: try duration(d, "normal", v[0]), deviation: try duration(d, "normal", v[1]))
            }
            if let m = try d.string("exponential") { return .exponential(mean: try duration(d, "exponential", m)) }
            throw f.error(key, "must be a duration or one of uniform, normal, exponential")
        }
        guard let text = try f.string(key) else { return nil }
        return .constant(try duration(f, key, text))
    }

    /// "100Mbit", "1Gbit/s", "500kbit", "1e9" → bits per second.
    static func parseBandwidth(_ text: String) -> Double? {
        var t = text.trimmingCharacters(in: .whitespaces).lowercased()
        if t.hasSuffix("/s") { t = String(t.dropLast(2)) } else if t.hasSuffix("ps") { t = String(t.dropLast(2)) }
        if t.hasSuffix("bit") { t = String(t.dropLast(3)) } else if t.hasSuffix("b") { t = String(t.dropLast()) }
        var scale = 1.0
        if let last = t.last, let s = ["k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12][String(last)] { scale = s; t = String(t.dropLast()) }
        guard let v = Double(t.trimmingCharacters(in: .whitespaces)), v.isFinite, v > 0 else { return nil }
        let bits = v * scale
        return bits <= 1e15 ? bits : nil
    }

    static func parseThresholds(_ t: Fields, ramp: Bool, universeRamp: Bool) throws(ConfigError) -> Thresholds {
        try t.allow(["latency", "min-fps", "min-pps", "max-lost-frames", "max-torn-frames", "min-sustained-fps", "min-sustained-universes"])
        var out = Thresholds()
        if let l = try t.fields("latency") {
            try l.allow(Set(Thresholds.latencyNames))
            for name in Thresholds.latencyNames {
                guard let text = try l.string(name) else { continue }
                guard let limit = parseDuration(text), limit.nanoseconds > 0 else { throw l.error(name, "must be a duration like 5ms, not \"\(text)\"") }
                out.latency.append((name, limit))
            }
        }
        func rate(_ key: String) throws(ConfigError) -> Double? {
            guard let text = try t.string(key) else { return nil }
            guard let v = Double(text), v.isFinite, v >= 0 else { throw t.error(key, "must be a number, at least 0, not \"\(text)\"") }
            return v
        }
        out.minFPS = try rate("min-fps")
        out.minPPS = try rate("min-pps")
        out.maxLostFrames = try t.int("max-lost-frames", in: 0...maxFrames)
        out.maxTornFrames = try t.int("max-torn-frames", in: 0...maxFrames)
        out.minSustainedFPS = try rate("min-sustained-fps")
        if out.minSustainedFPS != nil && !ramp { throw t.error("min-sustained-fps", "needs sender.ramp with fps") }
        out.minSustainedUniverses = try t.int("min-sustained-universes", in: 1...Int(Int32.max))
        if out.minSustainedUniverses != nil && !universeRamp { throw t.error("min-sustained-universes", "needs sender.ramp with universes") }
        return out
    }
}
