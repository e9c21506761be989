import Foundation
import PanelCapture
import PanelCore
import PanelDevice

/// Options of `panelsim replay` (offline: a capture's datagrams through the device models).
public struct ReplayOptions: Sendable {
    public var capturePath: String
    public var outputDirectory: String
    /// The controllers to replay into; nil shows each protocol and destination as a universe
    /// view (a gray 512-pixel row per universe, in universe order).
    public var config: SessionConfig?
    public init(capturePath: String, outputDirectory: String, config: SessionConfig?) {
        self.capturePath = capturePath; self.outputDirectory = outputDirectory; self.config = config
    }
}

/// What a replay read and produced.
public struct ReplayResult: Sendable {
    public var controllers: [ControllerResult] = []
    public var records = 0
    public var datagrams = 0
    /// Records not fed to any controller, by reason ("not UDP", "IP fragment", "no controller" …).
    public var ignored: [String: Int] = [:]
    /// The capture ended in an error after `records` good records (kept and recorded).
    public var captureError: String?
    public var outputErrors: [String] = []
}

/// Offline replay: capture time is the clock, the same device models and recorder as `serve`,
/// and no frame is ever skipped. Replies the models would send are dropped (nobody to answer).
public final class ReplaySession {
    public let options: ReplayOptions
    public let registry: ProtocolRegistry
    /// Sees every UDP datagram with the protocol detected in it (nil: none), for reports.
    public var observer: ((ProtocolPlugin?, UDPDatagram) -> Void)?

    public init(options: ReplayOptions, registry: ProtocolRegistry = .standard) {
        self.options = options
        self.registry = registry
    }

    final class Target {
        let config: ControllerConfig
        let model: DeviceModel
        let recorder: FrameRecorder
        init(config: ControllerConfig, model: DeviceModel, recorder: FrameRecorder) {
            self.config = config; self.model = model; self.recorder = recorder
        }
    }

    public func run() throws -> ReplayResult {
        var result = ReplayResult()
        do {
            try FileManager.default.createDirectory(atPath: options.outputDirectory, withIntermediateDirectories: true)
        } catch {
            throw OutputError(path: options.outputDirectory, reason: "cannot create the folder: \(error.localizedDescription)")
        }
        let configs = try options.config?.controllers ?? universeView(&result)
        let targets = try configs.map { c -> Target in
            let map = try c.channelMap()
            let model = try c.plugin.makeDevice(ControllerSettings(name: c.name, map: map, frame: c.frame, options: c.options))
            let recorder = try FrameRecorder(directory: options.outputDirectory + "/" + c.name,
                                             options: RecordingOptions(png: .fast, skipIdentical: false, maxBacklog: nil), golden: nil)
            return Target(config: c, model: model, recorder: recorder)
        }
        var first: Timestamp?
        var last = Timestamp.zero
        var nextTick: Timestamp?
        let tickEvery = Timestamp(nanoseconds: 10_000_000)
        func drain(_ t: Target) {
            let out = t.model.takeOutput()
            for f in out.frames { t.recorder.record(f, time: (f.time - (first ?? f.time)).seconds) }
        }
        var unmatched = 0
        let reading = forEachDatagram { d in
            if let observe = observer { observe(d.payload.withUnsafeBytes { registry.detect($0) }, d) }
            if first == nil { first = d.time; nextTick = d.time + tickEvery }
            last = max(last, d.time)
            while let n = nextTick, d.time >= n {
                for t in targets { t.model.tick(at: n); drain(t) }
                nextTick = n + tickEvery
            }
            let matched = d.payload.withUnsafeBytes { bytes -> Bool in
                let candidates = targets.filter { t in
                    guard t.config.plugin.detect(bytes) else { return false }
                    if case let .udp(_, port) = t.config.transport, port != 0, port != Int(d.destination.port) { return false }
                    return true
                }
                guard !candidates.isEmpty else { return false }
                let chosen: [Target]
                if candidates.count > 1, let u = candidates[0].config.plugin.universeOf(bytes) {
                    chosen = candidates.filter { $0.model.universes.contains(u) }
                } else {
                    chosen = candidates
                }
                let source = PacketSource(address: d.source.address, port: d.source.port)
                for t in chosen {
                    t.model.receive(bytes, from: source, at: d.time)
                    drain(t)
                }
                return !chosen.isEmpty
            }
            if !matched { unmatched += 1 }
        }
        result.records = reading.records
        result.datagrams = reading.datagrams
        result.ignored = reading.ignored
        if unmatched > 0 { result.ignored["no controller"] = unmatched }
        if result.captureError == nil { result.captureError = reading.error }
        let start = Date()
        for t in targets {
            t.model.finish(at: last)
            drain(t)
            _ = t.recorder.finish()
            let counters = t.model.counters
            result.controllers.append(ControllerResult(name: t.config.name, counters: counters, golden: nil, recordingStopped: t.recorder.stopReason,
                                                       findings: t.model.findings, malformed: t.model.malformedPackets))
            if let stop = t.recorder.stopReason { result.outputErrors.append("\(t.config.name): \(stop)") }
            let doc = RecordingDocument.make(controller: t.config, counters: counters, findings: t.model.findings,
                                             malformed: t.model.malformedPackets, recorder: t.recorder, golden: nil,
                                             kernelDrops: nil, start: start, stop: Date())
            do { try FileText.write(doc.pretty, to: options.outputDirectory + "/" + t.config.name + "/recording.json") } catch {
                result.outputErrors.append("\(error)")
            }
        }
        return result
    }

    struct Reading {
        var records = 0
        var datagrams = 0
        var ignored: [String: Int] = [:]
        var error: String?
    }

    /// Reads every UDP datagram of the capture in order; a damaged capture ends with its error
    /// after everything before it was handed on.
    private func forEachDatagram(_ body: (UDPDatagram) -> Void) -> Reading {
        var r = Reading()
        let reader: CaptureReader
        do { reader = try CaptureReader(path: options.capturePath) } catch { r.error = "\(error)"; return r }
        while true {
            let frame: CapturedFrame?
            do { frame = try reader.next() } catch { r.error = "\(error)"; return r }
            guard let f = frame else { return r }
            r.records += 1
            switch PacketParser.parse(f) {
            case .udp(let d):
                r.datagrams += 1
                body(d)
            case .ipFragment:
                r.ignored["IP fragment", default: 0] += 1
            case .ethernet:
                r.ignored["not IP", default: 0] += 1
            case .other:
                r.ignored["not UDP", default: 0] += 1
            case .malformed:
                r.ignored["malformed frame", default: 0] += 1
            }
        }
    }

    /// Without a config: one gray controller per protocol and destination, a 512-pixel row per
    /// universe from the lowest to the highest seen (at most 4096 rows).
    private func universeView(_ result: inout ReplayResult) throws -> [ControllerConfig] {
        struct Seen { var plugin: ProtocolPlugin; var low = Int.max; var high = Int.min; var port: UInt16 }
        var seen: [String: Seen] = [:]
        var order: [String] = []
        let reading = forEachDatagram { d in
            d.payload.withUnsafeBytes { bytes in
                guard let plugin = registry.detect(bytes), let u = plugin.universeOf(bytes) else { return }
                let key = "\(plugin.name)-\(d.destination.address)-\(d.destination.port)"
                var entry = seen[key] ?? Seen(plugin: plugin, port: d.destination.port)
                if seen[key] == nil { order.append(key) }
                entry.low = min(entry.low, u)
                entry.high = max(entry.high, u)
                seen[key] = entry
            }
        }
        result.captureError = reading.error
        return order.compactMap { key in
            guard let s = seen[key], s.low <= s.high else { return nil }
            let rows = min(4096, s.high - s.low + 1)
            let name = String(key.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." ? $0 : "_" })
            return ControllerConfig(name: name, plugin: s.plugin, transport: .udp(host: "0.0.0.0", port: Int(s.port)), multicast: false,
                                    interface: nil, width: 512, height: rows, pixel: .gray, order: .natural(.gray),
                                    mapping: MappingSettings(startUniverse: s.low, channelsPerUniverse: 512),
                                    frame: FrameSettings(), options: [:], line: nil, file: options.capturePath, path: key)
        }
    }
}
