import Foundation
import PanelCapture
import PanelCore
import PanelDevice

/// Options of `panelsim replay` (offline: a capture's traffic through the device models).
public struct ReplayOptions: Sendable {
    public var capturePath: String
    public var outputDirectory: String
    /// The controllers to replay into; nil shows each protocol and destination as a universe
    /// view (a gray 512-pixel row per universe, in universe order).
    public var config: SessionConfig?
    /// False records frames.jsonl only: decode and diagnose without writing images.
    public var writePNG: Bool
    /// Per-port protocol choices that win over content detection (`--decode-as`).
    public var overrides: [ProtocolDetector.Override]
    /// Golden frames to compare each controller's frames with (`--expect DIR`), as in serve.
    public var expectDirectory: String?
    public var tolerance = 0
    public var goldenMatch = GoldenMatch.index
    /// Write the frames into `expectDirectory` as the new golden set.
    public var updateGolden = false
    public init(capturePath: String, outputDirectory: String, config: SessionConfig?, writePNG: Bool = true,
                overrides: [ProtocolDetector.Override] = []) {
        self.capturePath = capturePath; self.outputDirectory = outputDirectory; self.config = config
        self.writePNG = writePNG; self.overrides = overrides
    }
}

/// A record PanelSim could not use, for reports (bounded lists).
public struct RecordProblem: Sendable {
    public var recordNumber: Int
    /// Seconds since the capture's first record, when known.
    public var time: Double?
    public var reason: String
}

/// A frame that was incomplete when its timeout ran out.
public struct TornFrame: Sendable {
    public var controller: String
    public var frame: Int
    /// Seconds since the capture's first record.
    public var time: Double
    public var universesPresent: [Int]
    public var universesMissing: [Int]
}

/// What a replay read and produced.
public struct ReplayResult: Sendable {
    public static let maxListed = 200

    public var controllers: [ControllerResult] = []
    public var records = 0
    public var datagrams = 0
    public var tcpConnections = 0
    public var tcpBytes = 0
    public var ethernetFrames = 0
    /// Bytes of serial-line records (both directions).
    public var serialBytes = 0
    /// Seconds from the first to the last record.
    public var duration = 0.0
    /// Traffic not fed to any controller, by reason ("not decoded: ICMP", "no controller" …).
    public var ignored: [String: Int] = [:]
    /// Records that could not be decoded and reassembly that gave up (first `maxListed` each).
    public var malformedRecords: [RecordProblem] = []
    public var reassemblyProblems: [RecordProblem] = []
    /// Torn frames of every controller (first `maxListed`).
    public var tornFrames: [TornFrame] = []
    /// TCP connections and layer-2 traffic no protocol claimed, in words, with their byte counts.
    public var unclaimed: [String: Int] = [:]
    /// The capture ended in an error (kept and recorded up to it).
    public var captureError: String?
    public var outputErrors: [String] = []
}

/// How far a replay has got, for a progress line.
public struct ReplayProgress: Sendable {
    public var events: Int
    /// Seconds of capture time covered so far.
    public var captureSeconds: Double
    /// How much of the file has been read (0...1), when known.
    public var fractionRead: Double?
}

/// Offline replay: capture time is the clock, the same device models and recorder as `serve`,
/// and no frame is ever skipped. Replies the models would send are dropped (nobody to answer).
/// Every protocol in the registry is served through its `carrier`: UDP datagrams, reassembled
/// TCP streams (client side of each connection) and layer-2 frames.
public final class ReplaySession {
    /// Device ticks (10 ms apart) run through a silence before the rest of it is skipped: 31 s,
    /// past the longest device timeout (sACN universe discovery, 30 s); a frame timeout set longer
    /// fires at the end of the silence instead.
    static let ticksThroughSilence = 3_100
    public let options: ReplayOptions
    public let registry: ProtocolRegistry
    public let detector: ProtocolDetector
    /// Sees every UDP datagram with the protocol detected in it (nil: none), in capture order,
    /// for reports. It runs on a thread of its own, at the same time as the models.
    public var observer: ((ProtocolPlugin?, UDPDatagram) -> Void)?
    /// Called about every 65,536 capture events.
    public var progress: ((ReplayProgress) -> Void)?

    public init(options: ReplayOptions, registry: ProtocolRegistry = .standard) {
        self.options = options
        self.registry = registry
        self.detector = ProtocolDetector(registry: registry, overrides: options.overrides)
    }

    final class Target {
        let config: ControllerConfig
        let model: DeviceModel
        let recorder: FrameRecorder
        let allUniverses: [Int]
        init(config: ControllerConfig, model: DeviceModel, recorder: FrameRecorder) {
            self.config = config; self.model = model; self.recorder = recorder
            allUniverses = model.universes.sorted()
        }
        var port: Int? {
            switch config.transport {
            case let .udp(_, port), let .tcp(_, port): return port == 0 ? nil : port
            case .serial, .interface: return nil
            }
        }
    }

    /// Where a TCP connection's client bytes go.
    final class StreamRoute {
        let client: TCPFlow
        var plugin: ProtocolPlugin?
        var targets: [Target] = []
        var decided = false
        init(client: TCPFlow) { self.client = client }
    }

    public func run() throws -> ReplayResult {
        var result = ReplayResult()
        do {
            try FileManager.default.createDirectory(atPath: options.outputDirectory, withIntermediateDirectories: true)
        } catch {
            throw OutputError(path: options.outputDirectory, reason: "cannot create the folder: \(error.localizedDescription)")
        }
        if let dir = options.expectDirectory { try GoldenOptions.checkFolder(dir, update: options.updateGolden) }
        let configs = try options.config?.controllers ?? viewWithoutConfig(&result)
        let targets = try configs.map { c -> Target in
            let map = try c.channelMap()
            let model = try c.plugin.makeDevice(ControllerSettings(name: c.name, map: map, frame: c.frame, options: c.options, images: c.images))
            let recording = RecordingOptions(png: .fast, skipIdentical: false, maxBacklog: nil, writePNG: options.writePNG)
            let golden = options.expectDirectory.map {
                GoldenOptions(directory: GoldenOptions.folder($0, controller: c.name, single: configs.count == 1),
                              tolerance: options.tolerance, match: options.goldenMatch, update: options.updateGolden)
            }
            let recorder = try FrameRecorder(directory: options.outputDirectory + "/" + c.name, options: recording, golden: golden)
            return Target(config: c, model: model, recorder: recorder)
        }
        let decoder: CaptureDecoder
        do { decoder = try CaptureDecoder(path: options.capturePath) } catch {
            result.captureError = "\(error)"
            let (controllers, errors) = finish(targets, at: .zero)
            result.controllers = controllers
            result.outputErrors += errors
            return result
        }

        var first: Timestamp?
        var last = Timestamp.zero
        var nextTick = Timestamp.zero
        let tickEvery = Timestamp(nanoseconds: 10_000_000)
        var events = 0
        var streams: [Int: StreamRoute] = [:]
        var serialRoute: [Target]?
        let udpTargets = targets.filter { $0.config.plugin.travels(over: .udp) }

        func drain(_ t: Target) {
            let out = t.model.takeOutput()
            for f in out.frames {
                let seconds = (f.time - (first ?? f.time)).seconds
                t.recorder.record(f, time: seconds)
                if f.torn, result.tornFrames.count < ReplayResult.maxListed {
                    let present = Set(f.universes)
                    result.tornFrames.append(TornFrame(controller: t.config.name, frame: f.index, time: seconds,
                                                       universesPresent: f.universes.sorted(),
                                                       universesMissing: t.allUniverses.filter { !present.contains($0) }))
                }
            }
        }
        func advance(to time: Timestamp) {
            if first == nil { first = time; nextTick = time + tickEvery }
            if time > last { last = time }
            var ticks = 0
            while time >= nextTick {
                for t in targets { t.model.tick(at: nextTick); drain(t) }
                nextTick = nextTick + tickEvery
                ticks += 1
                // A silence longer than every device timeout (a damaged timestamp can claim years):
                // the ticks so far have fired every timeout, so the rest of the grid is skipped.
                if ticks == Self.ticksThroughSilence, time >= nextTick {
                    nextTick = time + tickEvery
                    for t in targets { t.model.tick(at: time); drain(t) }
                }
            }
        }
        func note(_ list: inout [RecordProblem], _ record: Int, _ time: Timestamp?, _ reason: String) {
            guard list.count < ReplayResult.maxListed else { return }
            list.append(RecordProblem(recordNumber: record, time: time.map { ($0 - (first ?? $0)).seconds }, reason: reason))
        }

        func handleDatagram(_ d: UDPDatagram, _ plugin: ProtocolPlugin?) {
            advance(to: d.time)
            result.datagrams += 1
            guard let plugin else { result.ignored["UDP, no protocol", default: 0] += 1; return }
            d.payload.withUnsafeBytes { bytes in
                if !deliver(bytes, plugin: plugin, d, udpTargets, drain: drain) { result.ignored["no controller", default: 0] += 1 }
            }
        }
        func handle(_ event: CaptureEvent) {
            switch event {
            case .udp:
                break  // datagrams arrive as CapturePipeline items, already classified
            case .tcpOpen(let flow, let connection, let fromClient, let time, _):
                advance(to: time)
                if fromClient, streams[connection] == nil {
                    streams[connection] = StreamRoute(client: flow)
                    result.tcpConnections += 1
                }
            case .tcpData(let data):
                advance(to: data.time)
                result.tcpBytes += data.payload.count
                guard data.fromClient else { return }
                let route = streams[data.connection] ?? {
                    let r = StreamRoute(client: data.flow)
                    streams[data.connection] = r
                    result.tcpConnections += 1
                    return r
                }()
                data.payload.withUnsafeBytes { bytes in
                    if !route.decided {
                        route.decided = true
                        let serverPort = Int(data.flow.destination.port)
                        let listening = targets.filter { $0.config.plugin.travels(over: .tcp) && ($0.port == nil || $0.port == serverPort) }
                        // Content or port first; else the config's TCP controllers for this port name the
                        // protocol, when they agree (an OPC server on an ephemeral port has no other sign).
                        route.plugin = detector.protocolOf(stream: bytes, serverPort: data.flow.destination.port)
                            ?? (Set(listening.map(\.config.plugin.name)).count == 1 ? listening.first?.config.plugin : nil)
                        if let plugin = route.plugin {
                            route.targets = listening.filter { $0.config.plugin.name == plugin.name }
                        }
                    }
                    let source = PacketSource(address: data.flow.source.address, port: data.flow.source.port)
                    for t in route.targets {
                        t.model.receive(bytes, from: source, at: data.time)
                        drain(t)
                    }
                    if route.targets.isEmpty {
                        let what = route.plugin.map { "TCP \($0.displayName) to port \(data.flow.destination.port), no controller" }
                            ?? "TCP to port \(data.flow.destination.port), no protocol"
                        if result.unclaimed[what] != nil || result.unclaimed.count < ReplayResult.maxListed {
                            result.unclaimed[what, default: 0] += bytes.count
                        }
                    }
                }
            case .tcpClose(let flow, let connection, let time, _):
                advance(to: time)
                // The client's side ending ends the stream the model reads (the server's FIN or a
                // half-close does not).
                guard let route = streams[connection], flow == route.client else { return }
                let source = PacketSource(address: route.client.source.address, port: route.client.source.port)
                for t in route.targets { t.model.streamEnded(from: source, at: time); drain(t) }
                streams[connection] = nil
            case .ethernet(let frame):
                advance(to: frame.time)
                result.ethernetFrames += 1
                let bytes = frame.wireBytes
                bytes.withUnsafeBytes { raw in
                    guard let plugin = detector.protocolOf(ethernetFrame: raw) else {
                        result.ignored["layer 2, no protocol (EtherType 0x\(String(frame.etherTypeOrLength, radix: 16)))", default: 0] += 1
                        return
                    }
                    let chosen = targets.filter { $0.config.plugin.name == plugin.name }
                    let source = PacketSource(address: frame.source.description, port: 0)
                    for t in chosen { t.model.receive(raw, from: source, at: frame.time); drain(t) }
                    if chosen.isEmpty { result.ignored["\(plugin.displayName), no controller", default: 0] += 1 }
                }
            case .serial(let d):
                advance(to: d.time)
                result.serialBytes += d.payload.count
                guard d.direction == .received else { return }
                d.payload.withUnsafeBytes { raw in
                    if serialRoute == nil {
                        let serialTargets = targets.filter { $0.config.plugin.travels(over: .serial) }
                        let plugin = detector.protocolOf(serial: raw)
                        serialRoute = plugin.map { p in serialTargets.filter { $0.config.plugin.name == p.name } }
                            ?? (serialTargets.count == 1 ? serialTargets : [])
                    }
                    let chosen = serialRoute ?? []
                    for t in chosen { t.model.receive(raw, from: Self.serialSource, at: d.time); drain(t) }
                    if chosen.isEmpty { result.ignored["serial bytes, no controller", default: 0] += raw.count }
                }
            case .notDecoded(_, let reason):
                result.ignored["not decoded: \(reason)", default: 0] += 1
            case .malformed(let record, let time, let reason, let offset):
                advance(to: time)
                result.ignored["malformed record", default: 0] += 1
                note(&result.malformedRecords, record, time, "\(reason) (byte \(offset))")
            case .reassemblyProblem(let record, let time, let detail):
                advance(to: time)
                note(&result.reassemblyProblems, record, time, detail)
            }
        }
        let classify: (UDPDatagram) -> ProtocolPlugin? = { [detector] d in
            d.payload.withUnsafeBytes { detector.protocolOf(datagram: $0, sourcePort: d.source.port, destinationPort: d.destination.port) }
        }
        // The statistics observer sees every datagram on a thread of its own.
        let observe: ((CapturePipeline.Batch) -> Void)? = observer.map { observer in
            { batch in
                for item in batch.items {
                    if case .datagram(let header, let plugin, let range) = item { observer(plugin, header.datagram(payload: batch.bytes[range])) }
                }
            }
        }
        let summary = CapturePipeline().run(decoder, classify: classify, observe: observe) { batch in
            for item in batch.items {
                events &+= 1
                if events & 0xFFFF == 0, let report = progress {
                    report(ReplayProgress(events: events, captureSeconds: (last - (first ?? last)).seconds, fractionRead: batch.fractionRead))
                }
                switch item {
                case .datagram(let header, let plugin, let range):
                    handleDatagram(header.datagram(payload: batch.bytes[range]), plugin)
                case .other(let event):
                    handle(event)
                }
            }
        }
        result.records = summary.records
        result.duration = (last - (first ?? last)).seconds
        if result.captureError == nil, let e = summary.error { result.captureError = "\(e)" }
        let (controllers, errors) = finish(targets, at: last, drain: drain)
        result.controllers = controllers
        result.outputErrors += errors
        return result
    }

    /// The source a serial line's bytes are attributed to.
    static let serialSource = PacketSource(address: "serial", port: 0)

    /// Hands a datagram to the controllers of its protocol and port (on a shared port, to those
    /// listening to its universe); false when none takes it.
    private func deliver(_ bytes: UnsafeRawBufferPointer, plugin: ProtocolPlugin, _ d: UDPDatagram, _ targets: [Target],
                         drain: (Target) -> Void) -> Bool {
        let port = Int(d.destination.port)
        func listens(_ t: Target) -> Bool { t.config.plugin.name == plugin.name && (t.port == nil || t.port == port) }
        var matching = 0
        for t in targets where listens(t) { matching += 1 }
        guard matching > 0 else { return false }
        let universe = matching > 1 ? plugin.universeOf(bytes) : nil
        let source = PacketSource(address: d.source.address, port: d.source.port)
        for t in targets where listens(t) {
            if let u = universe, !t.model.universes.contains(u) { continue }
            t.model.receive(bytes, from: source, at: d.time)
            drain(t)
        }
        return true
    }

    /// Ends every model, waits for its recorder and writes recording.json; returns the results
    /// and what could not be written.
    private func finish(_ targets: [Target], at last: Timestamp, drain: ((Target) -> Void)? = nil) -> ([ControllerResult], [String]) {
        var controllers: [ControllerResult] = []
        var errors: [String] = []
        let start = Date()
        for t in targets {
            t.model.finish(at: last)
            drain?(t)
            let golden = t.recorder.finish()
            let counters = t.model.counters
            controllers.append(ControllerResult(name: t.config.name, counters: counters, golden: t.recorder.golden == nil ? nil : golden,
                                                recordingStopped: t.recorder.stopReason,
                                                       findings: t.model.findings, malformed: t.model.malformedPackets))
            if let stop = t.recorder.stopReason { errors.append("\(t.config.name): \(stop)") }
            let doc = RecordingDocument.make(controller: t.config, counters: counters, findings: t.model.findings,
                                             malformed: t.model.malformedPackets, recorder: t.recorder, golden: t.recorder.golden == nil ? nil : golden,
                                             kernelDrops: nil, start: start, stop: Date())
            do { try FileText.write(doc.pretty, to: options.outputDirectory + "/" + t.config.name + "/recording.json") } catch {
                errors.append("\(error)")
            }
        }
        return (controllers, errors)
    }

    /// Without a config: one controller per protocol and destination (at most 64). For a
    /// protocol with universes, a gray 512-pixel row per universe from the lowest to the highest
    /// seen; for one without (DDP, TPM2.net), its channels in rows of 170 RGB pixels (510
    /// channels, the width of a universe of RGB), as far as its datagrams reach; for one that
    /// addresses rows and columns (Colorlight), the panel its packets reach. At most 4096 rows.
    private func viewWithoutConfig(_ result: inout ReplayResult) throws -> [ControllerConfig] {
        struct Key: Hashable { var protocolName: String; var destination: Endpoint }
        struct Seen {
            var plugin: ProtocolPlugin; var low = Int.max; var high = Int.min; var extent = 0
            var width = 0, height = 0
        }
        var seen: [Key: Seen] = [:]
        var order: [Key] = []
        let decoder: CaptureDecoder
        do { decoder = try CaptureDecoder(path: options.capturePath) } catch { return [] }
        func entry(_ key: Key, _ plugin: ProtocolPlugin) -> Seen? {
            if let known = seen[key] { return known }
            guard seen.count < 64 else { return nil }
            order.append(key)
            return Seen(plugin: plugin)
        }
        _ = decoder.run { event in
            switch event {
            case .udp(let d):
                d.payload.withUnsafeBytes { bytes in
                    guard let plugin = detector.protocolOf(datagram: bytes, sourcePort: d.source.port, destinationPort: d.destination.port) else { return }
                    let universe = plugin.universeOf(bytes)
                    let extent = universe == nil ? plugin.channelExtent(bytes) : nil
                    guard universe != nil || extent != nil else { return }
                    let key = Key(protocolName: plugin.name, destination: d.destination)
                    guard var s = entry(key, plugin) else { return }
                    if let u = universe {
                        s.low = min(s.low, u)
                        s.high = max(s.high, u)
                    }
                    if let e = extent { s.extent = max(s.extent, e) }
                    seen[key] = s
                }
            case .ethernet(let frame):
                frame.wireBytes.withUnsafeBytes { bytes in
                    guard let plugin = detector.protocolOf(ethernetFrame: bytes), let size = plugin.panelExtent(bytes) else { return }
                    let key = Key(protocolName: plugin.name, destination: Endpoint(address: frame.destination.description, port: 0))
                    guard var s = entry(key, plugin) else { return }
                    s.width = max(s.width, size.width)
                    s.height = max(s.height, size.height)
                    seen[key] = s
                }
            default:
                return
            }
        }
        return order.compactMap { key in
            guard let s = seen[key] else { return nil }
            let width: Int, rows: Int, pixel: PixelFormat, mapping: MappingSettings
            var transport = TransportConfig.udp(host: "0.0.0.0", port: Int(key.destination.port))
            if s.width > 0 && s.height > 0 {
                (width, pixel) = (min(4096, s.width), .rgb)
                rows = min(4096, s.height)
                mapping = MappingSettings(startUniverse: s.plugin.defaultStartUniverse, channelsPerUniverse: 510)
                transport = .interface(key.destination.address)
            } else if s.low <= s.high {
                (width, pixel) = (512, .gray)
                rows = min(4096, s.high - s.low + 1)
                mapping = MappingSettings(startUniverse: s.low, channelsPerUniverse: 512)
            } else if s.extent > 0 {
                (width, pixel) = (170, .rgb)
                rows = min(4096, (s.extent + 509) / 510)
                mapping = MappingSettings(startUniverse: s.plugin.defaultStartUniverse, channelsPerUniverse: 510)
            } else {
                return nil
            }
            let label = s.plugin.carrier == .ethernet ? "\(key.protocolName)-\(key.destination.address)"
                : "\(key.protocolName)-\(key.destination.address)-\(key.destination.port)"
            let name = String(label.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." ? $0 : "_" })
            return ControllerConfig(name: name, plugin: s.plugin, transport: transport, multicast: false,
                                    interface: nil, width: width, height: rows, pixel: pixel, order: .natural(pixel),
                                    mapping: mapping, frame: FrameSettings(), options: [:], line: nil, file: options.capturePath, path: label)
        }
    }
}
