import Foundation
import NIOCore
import NIOPosix
import NIOConcurrencyHelpers
import PanelCore
import PanelDevice
import PanelImage
import PanelNet
import PanelCapture
import Logging

/// Options of `panelsim serve` beyond the controllers themselves.
public struct ServeOptions: Sendable {
    public var recordDirectory: String?
    public var recording = RecordingOptions()
    public var expectDirectory: String?
    public var tolerance = 0
    public var goldenMatch = GoldenMatch.index
    /// Write the recorded frames into `expectDirectory` as the new golden set.
    public var updateGolden = false
    public var duration: Double?
    public var readyFile: String?
    public var statusLine = false
    public var strict = false
    public var receiveBufferBytes = 64 << 20
    /// Write every datagram received to this pcap file.
    public var pcapPath: String?
    /// Device state kept across restarts (DeviceStateFile): read at start, written at stop.
    public var stateFile: String?
    /// Allow listening on addresses other machines can reach. Without it only loopback
    /// addresses are bound, and the wildcard only where an interface is named (multicast).
    public var allowRemote = false
    /// Called with the controller's name for every frame event, on the session's event loop
    /// (stress measures frames here instead of recording them); keep it short.
    public var onFrame: (@Sendable (String, FrameEvent) -> Void)?
    public init() {}
}

/// What a serve session ended with.
public struct ServeResult: Sendable {
    public var controllers: [ControllerResult]
    /// Files that could not be written (PNG, frames.jsonl, recording.json, pcap): exit 3.
    public var outputErrors: [String] = []
    /// True when `--expect` was given and some frame differed.
    public var goldenFailed: Bool { controllers.contains { !($0.golden?.passed ?? true) } }
}

public struct ControllerResult: Sendable {
    public var name: String
    public var counters: DeviceCounters
    public var golden: GoldenResult?
    public var recordingStopped: String?
    /// What the model noticed, in plain words, and the packets it rejected.
    public var findings: [DeviceFinding] = []
    public var malformed: [MalformedPacket] = []
}

/// Runs emulated controllers on live transports: transport → device model → recorder.
/// Everything a model sees happens on one event loop, so models need no locks.
public final class ServeSession: @unchecked Sendable {
    public let config: SessionConfig
    public let options: ServeOptions
    let logger: Logger
    let group: MultiThreadedEventLoopGroup
    let loop: EventLoop

    /// Confined to the session's event loop (hence unchecked).
    final class Controller: @unchecked Sendable {
        let config: ControllerConfig
        let model: DeviceModel
        let recorder: FrameRecorder?
        var joined: Set<String> = []
        var joinedGeneration = -1
        var joinFailures = 0
        var joinAttempts: [String: Int] = [:]
        init(config: ControllerConfig, model: DeviceModel, recorder: FrameRecorder?) {
            self.config = config; self.model = model; self.recorder = recorder
        }
    }

    /// Confined to the session's event loop (hence unchecked).
    final class Port: @unchecked Sendable {
        let plugin: ProtocolPlugin
        var controllers: [Controller]
        var endpoint: UDPEndpoint?
        /// The serial line of a serial controller (ServeSession+Serial.swift).
        var serial: SerialPort?
        /// The listening socket of a TCP controller (ServeSession+TCP.swift).
        var tcp: TCPServer?
        /// The capture of a raw Ethernet controller (ServeSession+Ethernet.swift).
        var ethernet: RawEthernetListener?
        var byUniverse: [Int: Controller] = [:]
        var joining = false
        var universesGeneration = 0
        func rebuildUniverses() {
            byUniverse = [:]
            for c in controllers { for u in c.model.universes where byUniverse[u] == nil { byUniverse[u] = c } }
        }
        init(plugin: ProtocolPlugin, controllers: [Controller]) { self.plugin = plugin; self.controllers = controllers }
    }

    var ports: [Port] = []
    var epoch: Timestamp?
    private var startWall = Date()
    private var stopPromise: EventLoopPromise<Void>
    private var stopped = false
    private let shutDown = NIOLockedValueBox(false)
    var pcap: PcapWriter?
    private var dropsAtStart: [String: Int] = [:]
    private var sourceCache: [SocketAddress: PacketSource] = [:]
    private var tickCount = 0
    let pcapQueue = DispatchQueue(label: "panelsim.serve.pcap")
    /// TCP conversations for `--pcap` (ServeSession+TCP.swift); used on `pcapQueue` only.
    var tcpCapture: TCPCapture?
    var pcapErrors = 0
    private var pcapDropped = 0
    private let pcapBacklog = NIOLockedValueBox(0)
    /// Serial traffic for `--pcap` (ServeSession+Serial.swift); confined to the event loop.
    var serialCapture: SerialCapture?
    /// Discovery sockets by controller (ServeSession+Discovery.swift); confined to the event loop.
    var discoveryEndpoints: [ObjectIdentifier: UDPEndpoint] = [:]

    public init(config: SessionConfig, options: ServeOptions, logger: Logger) {
        self.config = config
        self.options = options
        self.logger = logger
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        loop = group.next()
        stopPromise = loop.makePromise(of: Void.self)
    }

    /// The session's clock: monotonic, the time every frame event carries.
    public static func now() -> Timestamp { Timestamp(nanoseconds: Int64(truncatingIfNeeded: NIODeadline.now().uptimeNanoseconds)) }

    /// Seconds since the session's first packet.
    private func sessionTime(_ t: Timestamp) -> Double {
        guard let e = epoch else { return 0 }
        return (t - e).seconds
    }

    /// Asks the session to stop (safe from any thread, e.g. a signal handler).
    public func stop() {
        guard !shutDown.withLockedValue({ $0 }) else { return }
        loop.execute { [self] in
            guard !stopped else { return }
            stopped = true
            stopPromise.succeed(())
        }
    }

    /// Binds every transport, serves until `stop()` or the duration, then finishes every file.
    public func run() async throws -> ServeResult {
        do {
            let result = try await serve()
            shutDown.withLockedValue { $0 = true }
            try? await group.shutdownGracefully()
            return result
        } catch {
            // A session that failed to start still owns its stop promise: complete it.
            try? await loop.submit { [self] in
                if !stopped { stopped = true; stopPromise.succeed(()) }
            }.get()
            shutDown.withLockedValue { $0 = true }
            try? await group.shutdownGracefully()
            throw error
        }
    }

    private func serve() async throws -> ServeResult {
        try buildControllers()
        try restoreState()
        if let path = options.pcapPath {
            do { pcap = try PcapWriter(path: path) } catch { throw OutputError(path: path, reason: "\(error)") }
        }
        try await bindAll()
        try writeReadyFile()
        startWall = Date()
        let tick = loop.scheduleRepeatedTask(initialDelay: .milliseconds(10), delay: .milliseconds(10)) { [self] _ in tickAll() }
        var status: RepeatedTask? = nil
        if options.statusLine {
            status = loop.scheduleRepeatedTask(initialDelay: .milliseconds(500), delay: .milliseconds(500)) { [self] _ in printStatus() }
        }
        if let d = options.duration {
            loop.scheduleTask(in: .nanoseconds(Int64(d * 1e9))) { [self] in stop() }
        }
        try await stopPromise.futureResult.get()
        tick.cancel()
        status?.cancel()
        if options.statusLine { FileHandle.standardError.write(Data("\n".utf8)) }
        return try await finishAll()
    }

    private func buildControllers() throws {
        if let dir = options.expectDirectory { try GoldenOptions.checkFolder(dir, update: options.updateGolden) }
        var byAddress: [String: Port] = [:]
        var order: [String] = []
        for c in config.controllers {
            try ServeSession.checkReach(c, allowRemote: options.allowRemote)
            let map = try c.channelMap()
            let host: String, port: Int, key: String
            switch c.transport {
            case let .udp(h, n): (host, port, key) = (h, n, "\(h):\(n)")
            case let .tcp(h, n): (host, port, key) = (h, n, "tcp:\(h):\(n)")
            case .serial: (host, port, key) = ("serial", 0, "serial")  // port 0: a line of its own
            case .interface: (host, port, key) = ("0.0.0.0", 0, "interface")  // port 0: a capture of its own (ServeSession+Ethernet.swift)
            }
            let portBase = port == 0 ? 0 : (byAddress[key]?.controllers.reduce(0) { $0 + $1.model.reportedPortCount } ?? 0)
            let settings = ControllerSettings(name: c.name, map: map, frame: c.frame, strict: options.strict, options: c.options,
                                              localAddress: LocalAddresses.reported(forBind: host, interface: c.interface),
                                              portBase: portBase, images: c.images)
            let model: DeviceModel
            do { model = try c.plugin.makeDevice(settings) } catch {
                throw ConfigError(file: c.file, line: c.line, key: c.path + ".options." + error.key, error.message)
            }
            var recorder: FrameRecorder? = nil
            if let dir = options.recordDirectory {
                let golden = options.expectDirectory.map {
                    GoldenOptions(directory: GoldenOptions.folder($0, controller: c.name, single: config.controllers.count == 1),
                                  tolerance: options.tolerance, match: options.goldenMatch, update: options.updateGolden)
                }
                var recording = options.recording
                if let frames = recording.maxBacklog {
                    // At most 256 MB of frames wait for the PNG writer, whatever the panel size.
                    let bytes = max(1, map.width * map.height * map.format.bytesPerPixel)
                    recording.maxBacklog = max(2, min(frames, (256 << 20) / bytes))
                }
                recorder = try FrameRecorder(directory: dir + "/" + c.name, options: recording, golden: golden)
                recorder?.onError = { [logger] message in logger.error("\(message)") }
            }
            let controller = Controller(config: c, model: model, recorder: recorder)
            if port != 0, let existing = byAddress[key] {
                guard existing.plugin.name == c.plugin.name else {
                    throw ConfigError(file: c.file, line: c.line, key: c.path + ".transport.udp", "shares \(key) with a controller of another protocol")
                }
                for u in model.universes {
                    if let other = existing.byUniverse[u] {
                        throw ConfigError(file: c.file, line: c.line, key: c.path + ".mapping", "universe \(u) on \(key) is already served by \(other.config.name)")
                    }
                }
                guard existing.controllers[0].config.interface == c.interface else {
                    throw ConfigError(file: c.file, line: c.line, key: c.path + ".transport.interface",
                                      "shares \(key) with \(existing.controllers[0].config.name), which names another interface")
                }
                existing.controllers.append(controller)
                for u in model.universes { existing.byUniverse[u] = controller }
            } else {
                let p = Port(plugin: c.plugin, controllers: [controller])
                for u in model.universes { p.byUniverse[u] = controller }
                let k = port == 0 ? "\(key)#\(order.count)" : key
                byAddress[k] = p
                order.append(k)
            }
        }
        ports = order.compactMap { byAddress[$0] }
    }

    /// Refuses to listen where other machines can reach unless `allowRemote`: loopback
    /// addresses always pass, the wildcard with an interface named (multicast arrives only
    /// there), anything else names the flag.
    static func checkReach(_ c: ControllerConfig, allowRemote: Bool) throws {
        guard !allowRemote else { return }
        var hosts: [(String, String)] = []
        switch c.transport {
        case let .udp(h, _): hosts.append((h, c.path + ".transport.udp"))
        case let .tcp(h, _): hosts.append((h, c.path + ".transport.tcp"))
        case .serial, .interface: break
        }
        if let d = ServeSession.discoveryAddress(c) { hosts.append((d.host, c.path + ".options.discovery")) }
        for (host, key) in hosts {
            if ServeSession.isLoopback(host) { continue }
            if (host == "0.0.0.0" || host == "::") && c.interface != nil { continue }
            throw ConfigError(file: c.file, line: c.line, key: key,
                              "\(host) can be reached from other machines; pass --allow-remote to listen there (the default is 127.0.0.1)")
        }
    }

    /// 127.0.0.0/8, ::1 and localhost.
    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }


    private func bindAll() async throws {
        for p in ports {
            let first = p.controllers[0].config
            if case let .tcp(host, port) = first.transport { try await bindTCP(p, host: host, port: port); continue }
            guard case let .udp(host, port) = first.transport else { continue }
            let interface = p.controllers.compactMap { $0.config.interface }.first
            let udp = UDPOptions(host: host, port: port, receiveBufferBytes: options.receiveBufferBytes, multicastInterface: interface)
            let endpoint: UDPEndpoint
            do {
                endpoint = try await UDPEndpoint.bind(group: group, options: udp,
                    onDatagram: { [self] buffer, address in receive(buffer, from: address, port: p) },
                    onBatchEnd: { [self] in drain(p) })
            } catch {
                throw RunFailure("\(first.name): \(error)")
            }
            // The endpoint is read on the event loop by receive and drain: set it there.
            try await loop.submit { p.endpoint = endpoint }.get()
            if interface != nil { await joinGroups(p) }
            logger.info("\(p.controllers.map(\.config.name).joined(separator: ", ")): \(p.plugin.displayName) on udp \(endpoint.localHost):\(endpoint.localPort), receive buffer \(endpoint.receiveBufferBytes) bytes")
        }
        // Kernel drops counted before the run, for every socket in one read of /proc.
        let atStart = KernelCounters.socketDrops(localPorts: Set(ports.compactMap { $0.endpoint?.localPort }))
        try await loop.submit { [self] in
            for (port, drops) in atStart { dropsAtStart["\(port)"] = drops }
        }.get()
        try await openSerialLines()
        try await openEthernetPorts()
        try await bindDiscovery()
    }

    /// Gives each controller the state `--state FILE` saved for it.
    private func restoreState() throws {
        guard let path = options.stateFile else { return }
        let saved = try DeviceStateFile.read(path: path)
        for c in ports.flatMap(\.controllers) {
            guard let entry = saved[c.config.name] else { continue }
            let key = "controllers.\(c.config.name)"
            guard entry.protocol == c.config.plugin.name else {
                throw ConfigError(file: path, line: nil, key: key, "saved for \(entry.protocol), the controller is \(c.config.plugin.name)")
            }
            do { try c.model.restoreState(entry.blocks) } catch {
                throw ConfigError(file: path, line: nil, key: "\(key).blocks.\(error.block)", error.message)
            }
        }
    }

    /// Writes every controller's state to `--state FILE`; the error, if any.
    private func saveState() async -> String? {
        guard let path = options.stateFile else { return nil }
        let states = (try? await loop.submit { [self] in
            ports.flatMap(\.controllers).map { (name: $0.config.name, protocol: $0.config.plugin.name, blocks: $0.model.persistentState) }
        }.get()) ?? []
        do { try DeviceStateFile.write(path: path, controllers: states) } catch { return "\(path): \(error)" }
        return nil
    }

    /// Joins the groups the models name (sync addresses, discovery; the universes' own groups
    /// for controllers receiving multicast data). One join pass per port at a time.
    private func joinGroups(_ p: Port) async {
        guard let e = try? await loop.submit({ () -> UDPEndpoint? in
            guard !p.joining, let e = p.endpoint else { return nil }
            p.joining = true
            return e
        }).get() else { return }
        var again = true
        while again {
            let wanted = (try? await loop.submit { () -> [(Controller, String)] in
                var out: [(Controller, String)] = []
                for c in p.controllers where c.config.interface != nil {
                    c.joinedGeneration = c.model.multicastGeneration
                    var groups = c.model.multicastGroups
                    if c.config.multicast { groups.formUnion(c.model.dataMulticastGroups) }
                    for g in groups.subtracting(c.joined).sorted() { out.append((c, g)) }
                }
                return out
            }.get()) ?? []
            for (c, g) in wanted {
                if (try? await loop.submit { self.stopped }.get()) ?? true { break }
                do {
                    try await e.join(group: g)
                    _ = try? await loop.submit { c.joined.insert(g) }.get()
                } catch {
                    // Counted and retried on later ticks, a few times at most.
                    let attempts = (try? await loop.submit { () -> Int in
                        c.joinAttempts[g, default: 0] += 1
                        return c.joinAttempts[g, default: 0]
                    }.get()) ?? 0
                    if attempts >= 3 {
                        logger.warning("\(c.config.name): cannot join multicast group \(g): \(error)")
                        _ = try? await loop.submit { c.joinFailures += 1; c.joined.insert(g) }.get()
                    }
                }
            }
            again = (try? await loop.submit { () -> Bool in
                let more = !self.stopped && p.controllers.contains { $0.config.interface != nil && $0.model.multicastGeneration != $0.joinedGeneration }
                if !more { p.joining = false }
                return more
            }.get()) ?? false
        }
    }

    func receive(_ buffer: ByteBuffer, from address: SocketAddress, port p: Port) {
        let now = ServeSession.now()
        if epoch == nil { epoch = now }
        // Formatting an address costs more than decoding a packet: reuse it per sender.
        let source: PacketSource
        if let known = sourceCache[address] {
            source = known
        } else {
            source = PacketSource(address: address.ipAddress ?? "?", port: UInt16(truncatingIfNeeded: address.port ?? 0))
            if sourceCache.count >= 1024 { sourceCache.removeAll(keepingCapacity: true) }
            sourceCache[address] = source
        }
        buffer.withUnsafeReadableBytes { bytes in
            if let w = pcap, let e = p.endpoint {
                if pcapBacklog.withLockedValue({ $0 }) >= 100_000 {
                    pcapDropped += 1  // the disk is falling behind: bounded memory, counted loss
                } else {
                    pcapBacklog.withLockedValue { $0 += 1 }
                    let copy = Array(bytes)
                    let wall = Timestamp(nanoseconds: Int64(Date().timeIntervalSince1970 * 1e9))
                    let src = Endpoint(address: source.address, port: source.port)
                    let dst = Endpoint(address: e.localHost, port: UInt16(truncatingIfNeeded: e.localPort))
                    pcapQueue.async { [self] in
                        do { try w.writeUDP(time: wall, source: src, destination: dst, payload: copy) } catch { pcapErrors += 1 }
                        pcapBacklog.withLockedValue { $0 -= 1 }
                    }
                }
            }
            if p.controllers.count == 1 {
                p.controllers[0].model.receive(bytes, from: source, at: now)
            } else if let u = p.plugin.universeOf(bytes) {
                if let c = p.byUniverse[u] {
                    c.model.receive(bytes, from: source, at: now)
                } else {
                    p.controllers[0].model.receive(bytes, from: source, at: now)
                }
            } else {
                for c in p.controllers { c.model.receive(bytes, from: source, at: now) }
                // Polls and re-addressing reach every controller: keep universe dispatch current.
                if p.controllers.count > 1 {
                    let generation = p.controllers.reduce(0) { $0 &+ $1.model.universesGeneration }
                    if generation != p.universesGeneration {
                        p.universesGeneration = generation
                        p.rebuildUniverses()
                    }
                }
            }
        }
    }

    func drain(_ p: Port) {
        var wrote = false
        for c in p.controllers {
            let out = c.model.takeOutput()
            if out.isEmpty { continue }
            for f in out.frames {
                c.recorder?.record(f, time: sessionTime(f.time))
                options.onFrame?(c.config.name, f)
            }
            if p.serial != nil {
                writeSerialReplies(out.replies, port: p)
            } else if p.ethernet != nil {
                writeEthernetReplies(out.replies, port: p)
            } else if let e = p.endpoint {
                for r in out.replies {
                    guard let address = try? SocketAddress(ipAddress: r.destination.address, port: Int(r.destination.port)) else { continue }
                    r.bytes.withUnsafeBytes { e.write($0, to: address) }
                    wrote = true
                }
            } else if let t = p.tcp {
                writeTCP(out.replies, to: t)
            }
        }
        if wrote { p.endpoint?.flush() }
    }

    private func tickAll() {
        let now = ServeSession.now()
        for p in ports {
            for c in p.controllers { c.model.tick(at: now) }
            drain(p)
            tickCount &+= 1
            let retry = tickCount % 100 == 0 && p.controllers.contains { !$0.joinAttempts.isEmpty && $0.joinAttempts.count > $0.joinFailures }
            if !p.joining, !stopped, retry || p.controllers.contains(where: { $0.config.interface != nil && $0.model.multicastGeneration != $0.joinedGeneration }) {
                if retry { for c in p.controllers { c.joinedGeneration = -1 } }
                let port = p
                Task { await self.joinGroups(port) }
            }
        }
    }

    private func printStatus() {
        let parts = ports.flatMap { $0.controllers }.map { c -> String in
            let k = c.model.counters
            return "\(c.config.name): \(k.packets) pkts, \(k.frames) frames" + (k.torn > 0 ? " (\(k.torn) torn)" : "") + (k.malformed.isEmpty ? "" : ", \(k.malformed.values.reduce(0, +)) malformed")
        }
        let line = "\r\u{1B}[K" + String(format: "%.1fs ", Date().timeIntervalSince(startWall)) + parts.joined(separator: " | ")
        FileHandle.standardError.write(Data(line.utf8))
    }

    private func writeReadyFile() throws {
        guard let path = options.readyFile else { return }
        var listening: [JSONValue] = []
        for p in ports {
            if let line = p.serial { listening += serialReadyEntries(p, line); continue }
            if let t = p.tcp { listening += tcpListening(p, t); continue }
            if let l = p.ethernet { listening += ethernetReadyEntries(p, l); continue }
            guard let e = p.endpoint else { continue }
            for c in p.controllers {
                listening.append(.object(["controller": .string(c.config.name), "protocol": .string(c.config.plugin.name),
                                          "transport": .string("udp"), "address": .string(e.localHost), "port": .int(e.localPort)]))
            }
        }
        listening += discoveryReadyEntries()
        // Name each controller's quirk profile beside its addresses.
        var profiles: [String: String] = [:]
        for c in config.controllers { if let prof = c.profile { profiles[c.name] = prof.name } }
        listening = listening.map { entry in
            guard case .object(var o) = entry, case .string(let name)? = o["controller"], let prof = profiles[name] else { return entry }
            o["profile"] = .string(prof)
            return .object(o)
        }
        try FileText.write(JSONValue.object(["listening": .array(listening), "pid": .int(Int(getpid()))]).pretty, to: path)
    }

    private func finishAll() async throws -> ServeResult {
        // Close the sockets first, so nothing arrives after the models have finished.
        var drops: [String: Int] = [:]
        let connections = await closeTCP()
        await closeDiscovery()
        let endpoints = ports.compactMap(\.endpoint)
        for (port, d) in KernelCounters.socketDrops(localPorts: Set(endpoints.map(\.localPort))) {
            drops["\(port)"] = d - (dropsAtStart["\(port)"] ?? 0)
        }
        for e in endpoints { await e.close() }
        var outputErrors = await closeSerialLines()
        let ethernetDrops = await closeEthernetPorts()
        let now = ServeSession.now()
        try await loop.submit { [self] in
            for p in ports {
                for c in p.controllers { c.model.finish(at: now) }
                drain(p)
            }
        }.get()
        pcapQueue.sync {}
        if let e = await saveState() { outputErrors.append(e) }
        if let w = pcap {
            do { try w.close() } catch { outputErrors.append("\(w.path): \(error)") }
            if pcapErrors > 0 { outputErrors.append("\(w.path): \(pcapErrors) datagrams could not be written") }
            if pcapDropped > 0 { outputErrors.append("\(w.path): \(pcapDropped) datagrams left out while the disk fell behind") }
        }
        var results: [ControllerResult] = []
        let stopWall = Date()
        for p in ports {
            for c in p.controllers {
                let golden = c.recorder?.finish()
                let (counters, findings, malformed, joinFailures) = try await loop.submit {
                    (c.model.counters, c.model.findings, c.model.malformedPackets, c.joinFailures)
                }.get()
                var counted = counters
                if joinFailures > 0 { counted.count("multicast-join-failed", joinFailures) }
                if let k = connections[ObjectIdentifier(p)] { ServeSession.count(k, into: &counted) }
                let result = ControllerResult(name: c.config.name, counters: counted, golden: c.recorder?.golden == nil ? nil : golden,
                                              recordingStopped: c.recorder?.stopReason, findings: findings, malformed: malformed)
                if let stop = result.recordingStopped { outputErrors.append("\(c.config.name): \(stop)") }
                results.append(result)
                if let dir = options.recordDirectory, let rec = c.recorder {
                    let port = p.endpoint.map { "\($0.localPort)" } ?? p.ethernet?.interface ?? ""
                    let doc = RecordingDocument.make(controller: c.config, counters: counted, findings: findings, malformed: malformed,
                                                     recorder: rec, golden: result.golden, kernelDrops: drops[port] ?? ethernetDrops[port],
                                                     start: startWall, stop: stopWall)
                    do { try FileText.write(doc.pretty, to: dir + "/" + c.config.name + "/recording.json") } catch {
                        outputErrors.append("\(error)")
                    }
                }
            }
        }
        return ServeResult(controllers: results, outputErrors: outputErrors)
    }

}

/// recording.json: the contract other tools read (DESIGN.md).
public enum RecordingDocument {
    public static let schemaVersion = 1

    public static func make(controller: ControllerConfig, counters: DeviceCounters, findings: [DeviceFinding], malformed: [MalformedPacket],
                            recorder: FrameRecorder, golden: GoldenResult?, kernelDrops: Int?, start: Date, stop: Date) -> JSONValue {
        let iso = ISO8601DateFormatter()
        iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        var c: [String: JSONValue] = [
            "packets": .int(counters.packets), "bytes": .int(counters.bytes), "frames": .int(counters.frames), "torn": .int(counters.torn),
            "malformed": .object(counters.malformed.mapValues { .int($0) }),
            "violations": .object(counters.violations.mapValues { .int($0) }),
            "events": .object(counters.events.mapValues { .int($0) }),
            "frames-written": .int(recorder.written),
            "frames-not-written": .object(recorder.notWritten.mapValues { .int($0) }),
        ]
        c["kernel-drops"] = kernelDrops.map { .int($0) } ?? .null
        var doc: [String: JSONValue] = [
            "schema": .int(schemaVersion),
            "controller": .object(controller.summary),
            "start": .string(iso.string(from: start)),
            "stop": .string(iso.string(from: stop)),
            "counters": .object(c),
            "findings": .array(findings.map { f in
                var o: [String: JSONValue] = ["time": .double(f.time), "kind": .string(f.kind), "message": .string(f.message)]
                if let u = f.universe { o["universe"] = .int(u) }
                return .object(o)
            }),
            "malformed": .array(malformed.map { m in
                .object(["time": .double(m.time), "source": .string(m.source), "reason": .string(m.reason), "offset": .int(m.offset), "detail": .string(m.detail)])
            }),
        ]
        if let reason = recorder.stopReason { doc["recording-stopped"] = .string(reason) }
        if let g = golden { doc["golden"] = g.json }
        return .object(doc)
    }
}
