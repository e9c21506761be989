import ArgumentParser
import Foundation
import PanelCore
import PanelDevice
import PanelImage
import PanelSession

struct Send: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Encode a PNG or a test pattern and send it to a controller (real or emulated), or set a NovaStar sending card's state.",
        discussion: """
            Patterns: \(TestPattern.allCases.map(\.rawValue).joined(separator: ", ")). Multicast only with an explicit --interface.
            novastar sends one request per flag, in this order: --input, --brightness, --test-pattern, --blackout, then each --read; \
            it waits for each reply, prints one line per request and exits 3 if a reply is missing, damaged or not ACK 0.
            """)

    @Option(help: "Protocol: \(ProtocolRegistry.standard.names.joined(separator: ", ")).")
    var `protocol`: String
    @Option(help: "Destination HOST[:PORT] (default port: the protocol's). Omit with --interface to send to the multicast groups.")
    var to: String?
    @Option(help: "Send multicast through this interface only (e.g. lo); raw Ethernet protocols (colorlight) send their frames on it.")
    var interface: String?
    @Option(help: "Serial protocols (tpm2, enttec-pro, novastar): write to this tty or PTY path.")
    var serial: String?
    @Option(help: "Baud rate of --serial (any rate the device takes, e.g. 115200, or 1048576 for NovaStar MCTRL600/660).")
    var baud: Int = 115200
    @Option(help: "PNG to send (scaled to --size if given).")
    var image: String?
    @Option(help: "Test pattern to send.")
    var pattern: String?
    @OptionGroup var panel: PanelOptions
    @Option(help: "Frames per second.")
    var fps: Double?
    @Flag(help: "Send as fast as the socket takes it.")
    var topspeed = false
    @Flag(help: "Hand runs of equal-sized datagrams to the kernel as one UDP segmentation offload write (Linux): the same datagrams on the wire at a fraction of the cost; a capture on this host shows each run as one large packet.")
    var gso = false
    @Option(help: "Stop after this many seconds.")
    var seconds: Double?
    @Option(help: "Stop after this many frames.")
    var frames: Int?
    @Flag(help: "Send the protocol's sync after each frame (ArtSync, E1.31 sync).")
    var sync = false
    @Option(name: .customLong("sync-universe"), help: "sACN synchronization address.")
    var syncUniverse: Int = 63999
    @Option(help: "sACN priority (0-200).")
    var priority: Int = 100
    @Option(name: .customLong("source-name"), help: "sACN source name.")
    var sourceName: String = "PanelSim"
    @Flag(help: "Send sACN universe discovery every 10 s.")
    var discovery = false
    @Option(help: "Write the datagrams to this pcap instead of sending them.")
    var pcap: String?
    @Option(help: "Write a JSON summary (frames, packets, rates; novastar: every request and reply) here.")
    var json: String?
    @OptionGroup(title: "Controller state (NovaStar control plane; Colorlight brightness)") var control: SendControlOptions

    func run() async throws {
        guard let plugin = ProtocolRegistry.standard.plugin(named: `protocol`) else {
            throw UsageError(message: "unknown protocol \"\(`protocol`)\" (known: \(ProtocolRegistry.standard.names.joined(separator: ", ")))")
        }
        if plugin.name == ProtocolPlugin.novaStar.name { return try await runNovaStar() }
        if (image == nil) == (pattern == nil) { throw UsageError(message: "give exactly one of --image FILE.png or --pattern NAME") }
        if topspeed && fps != nil { throw UsageError(message: "give --fps or --topspeed, not both") }
        if !(0...200).contains(priority) { throw UsageError(message: "--priority must be 0...200") }
        if !(1...63999).contains(syncUniverse) { throw UsageError(message: "--sync-universe must be 1...63999") }
        if let f = fps, !(f.isFinite && f > 0 && f <= 100_000) { throw UsageError(message: "--fps must be above 0 (at most 100000)") }
        if let n = frames, n < 1 { throw UsageError(message: "--frames must be at least 1") }
        if let t = seconds, !(t.isFinite && t > 0 && t <= 1e9) { throw UsageError(message: "--seconds must be a number of seconds above 0") }
        var content: SendContent
        var imageSize: (Int, Int)? = nil
        if let path = image {
            do {
                let c = try PNGFile.read(path: path)
                imageSize = (c.width, c.height)
                content = .image(c)
            } catch {
                throw UsageError(message: "--image: \(error)")
            }
        } else {
            guard let p = TestPattern(rawValue: pattern ?? "") else {
                throw UsageError(message: "--pattern must be one of \(TestPattern.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            content = .pattern(p)
        }
        let size = try panel.size(default: imageSize)
        let map = try panel.channelMap(plugin: plugin, size: size)
        var host: String? = nil
        var port = Int(plugin.defaultPort)
        if let t = to {
            guard let hp = HostPort.parse(t, defaultPort: port) else { throw UsageError(message: "--to \"\(t)\" is not HOST[:PORT]") }
            (host, port) = hp
            guard let resolved = HostPort.resolve(hp.0) else { throw UsageError(message: "--to: cannot resolve \"\(hp.0)\" to an IPv4 or IPv6 address") }
            host = resolved
        } else if interface == nil && pcap == nil && serial == nil {
            throw UsageError(message: "give --to HOST[:PORT], or --interface IF to send multicast")
        }
        if plugin.carrier == .ethernet && interface == nil && pcap == nil {
            throw UsageError(message: "\(plugin.name) travels over raw Ethernet: give --interface IF")
        }
        if interface != nil && !plugin.usesMulticast && host == nil && plugin.carrier != .ethernet {
            throw UsageError(message: "\(plugin.name) is not a multicast protocol: give --to")
        }
        var sender = SenderSettings(map: map, sync: sync, sourceName: sourceName, priority: UInt8(priority), syncUniverse: UInt16(syncUniverse))
        try control.apply(to: &sender, plugin: plugin)
        if plugin.carrier == .serial && serial == nil { throw UsageError(message: "\(plugin.name) travels over a serial line: give --serial PATH") }
        if !plugin.travels(over: .serial) && serial != nil { throw UsageError(message: "--serial is for serial protocols, not \(plugin.name)") }
        var options = SendOptions(plugin: plugin, host: host, port: port, interface: interface, map: map, content: content,
                                  fps: topspeed ? nil : (fps ?? (frames == 1 && seconds == nil ? nil : 30)), frames: frames, seconds: seconds,
                                  sender: sender, pcapPath: pcap, announce: discovery,
                                  bindHost: Send.bindHost(for: host, interface: interface))
        options.serial = serial.map { SerialSendTarget(path: $0, baud: baud) }
        options.segmentationOffload = gso
        let session = SendSession(options: options)
        let stopper = SignalStopper { session.stop() }
        defer { _ = stopper }
        let result: SendResult
        do {
            result = try await session.run()
        } catch let e as OutputError {
            throw e
        } catch {
            throw RunError(message: "\(error)")
        }
        let summary = String(format: "sent %d frames, %d packets, %d bytes in %.3f s (%.1f frames/s, %.0f packets/s)",
                             result.frames, result.packets, result.bytes, result.elapsed, result.framesPerSecond, result.packetsPerSecond)
        FileHandle.standardError.write(Data((summary + "\n").utf8))
        if let path = json {
            let doc = JSONValue.object(["frames": .int(result.frames), "packets": .int(result.packets), "bytes": .int(result.bytes),
                                        "seconds": .double(result.elapsed), "frames-per-second": .double(result.framesPerSecond),
                                        "packets-per-second": .double(result.packetsPerSecond),
                                        "failed-frames": .int(result.failedFrames)])
            try FileText.write(doc.pretty, to: path)
        }
        if result.failedFrames > 0 {
            throw RunError(message: "\(result.failedFrames) frames could not be sent: \(result.firstError ?? "unknown error")")
        }
    }
}

extension Send {
    /// `send --protocol novastar`: the control requests of `control`, one at a time, to a
    /// sending card over TCP (--to) or a serial line (--serial).
    func runNovaStar() async throws {
        let pictureFlags = [("--image", image != nil), ("--pattern", pattern != nil), ("--fps", fps != nil), ("--frames", frames != nil),
                            ("--seconds", seconds != nil), ("--topspeed", topspeed), ("--sync", sync), ("--pcap", pcap != nil),
                            ("--interface", interface != nil)]
        if let (flag, _) = pictureFlags.first(where: { $0.1 }) {
            throw UsageError(message: "novastar has no pixel stream: \(flag) does not apply (give --brightness, --test-pattern, --blackout, --input or --read)")
        }
        let commands = try control.novaStarCommands()
        let target: NovaStarSendTarget
        switch (to, serial) {
        case (let t?, nil):
            guard let hp = HostPort.parse(t, defaultPort: Int(ProtocolPlugin.novaStar.defaultPort)) else {
                throw UsageError(message: "--to \"\(t)\" is not HOST[:PORT]")
            }
            guard let resolved = HostPort.resolve(hp.0) else { throw UsageError(message: "--to: cannot resolve \"\(hp.0)\" to an IPv4 or IPv6 address") }
            target = .tcp(host: resolved, port: hp.1)
        case (nil, let path?): target = .serial(SerialSendTarget(path: path, baud: baud))
        default: throw UsageError(message: "novastar: give --to HOST[:PORT] (TCP, default port 5200) or --serial PATH, one of them")
        }
        let result: NovaStarSendResult
        do {
            result = try await SendSession.runNovaStar(NovaStarSendOptions(target: target, commands: commands, timeout: control.timeout))
        } catch {
            throw RunError(message: "novastar: \(error)")
        }
        for e in result.exchanges { print(e.line) }
        if let path = json { try FileText.write(result.json.pretty, to: path) }
        if let failure = result.failure { throw RunError(message: "novastar: \(failure)") }
    }

    /// The local address to send from: loopback for loopback destinations (nothing leaves the
    /// host), the wildcard otherwise, so the kernel picks the route's address (a loopback
    /// source cannot reach another host, and multicast leaves by IP_MULTICAST_IF).
    static func bindHost(for host: String?, interface: String?) -> String {
        guard let h = host else { return "0.0.0.0" }
        if h.contains(":") { return h == "::1" ? "::1" : "::" }
        return h.hasPrefix("127.") ? "127.0.0.1" : "0.0.0.0"
    }
}

struct Protocols: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the protocols PanelSim speaks and their options.")
    func run() throws {
        for p in ProtocolRegistry.standard.plugins {
            func name(_ c: Carrier) -> String {
                switch c {
                case .udp: return "UDP \(p.defaultPort)"
                case .tcp: return "TCP \(p.defaultPort)"
                case .serial: return "serial (pseudo-terminal or tty)"
                case .ethernet: return "raw Ethernet"
                }
            }
            let transport = ([p.carrier] + p.additionalCarriers.sorted { $0.rawValue < $1.rawValue }).map(name).joined(separator: " or ")
            // Protocols without universes (DDP, OPC, TPM2, Enttec) leave the whole range to the channel map.
            let universes = p.universeRange == 0...65535 ? "" : ", first universe \(p.defaultStartUniverse)"
            print("\(p.name)\t\(p.displayName), \(transport)\(universes)")
            for (k, v) in p.options.sorted(by: { $0.key < $1.key }) { print("\toption \(k): \(v)") }
        }
    }
}
