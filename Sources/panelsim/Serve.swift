import ArgumentParser
import Foundation
import Logging
import PanelDevice
import PanelHarness
import PanelImage
import PanelSession

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run emulated controllers and record every frame they show.",
        discussion: """
        Either --config FILE (several controllers) or the flags of one controller, which mirror the \
        config keys. Runs until SIGINT/SIGTERM or --duration; a clean stop finishes every file.
        """)

    @Option(help: "YAML config file with a controllers: list.")
    var config: String?
    @Option(help: "Protocol of the single controller: \(ProtocolRegistry.standard.names.joined(separator: ", ")).")
    var `protocol`: String?
    @Option(help: "Controller name (its folder under --record); default: the protocol's name.")
    var name: String?
    @Option(help: "UDP (or, for a TCP protocol, TCP) address to listen on, HOST:PORT (default 127.0.0.1 and the protocol's port; port 0 = any free port).")
    var listen: String?
    @Option(help: "Receive multicast on this interface (sACN: the universes', sync and discovery groups); without --listen, binds 0.0.0.0 and the protocol's port.")
    var interface: String?
    @Option(help: "Serial protocols (tpm2, enttec-pro): pty (a new pseudo-terminal, the default) or a tty device path.")
    var serial: String?
    @Option(help: "With --serial pty: make this path a symlink to the PTY's slave (removed at stop).")
    var link: String?
    @Option(help: "Baud rate of a --serial tty (any rate the device takes, e.g. 115200 or NovaStar MCTRL660 1048576).")
    var baud: Int?
    @OptionGroup var panel: PanelOptions
    @Option(help: "Frame sync: auto (hold for the sender's sync) or ignore.")
    var sync: String?
    @Option(help: "Timeout for an incomplete frame, e.g. 100ms (default: twice the frame interval, at least 100 ms).")
    var timeout: String?
    @Option(name: .customLong("option"), help: "Protocol option KEY=VALUE (repeatable), e.g. merge=ltp.")
    var protocolOptions: [String] = []
    @Option(help: "Quirk profile of a real controller to reproduce (panelsim profiles lists them); --option overrides its options.")
    var profile: String?

    @Option(help: "Record frames under this folder: <controller>/frame-NNNNNN.png, frames.jsonl, recording.json.")
    var record: String?
    @Option(help: "Stop after this many seconds.")
    var duration: Double?
    @Flag(help: "Drop packets that break a spec rule instead of acting on them.")
    var strict = false
    @OptionGroup var golden: GoldenFlags
    @Option(name: .customLong("ready-file"), help: "Write the bound addresses here (JSON) once listening.")
    var readyFile: String?
    @Flag(name: .customLong("skip-identical"), help: "Do not write PNGs for frames identical to the last one.")
    var skipIdentical = false
    @Option(help: "Also write every received datagram to this pcap file; serial traffic goes to FILE with -serial before the extension.")
    var pcap: String?
    @Flag(name: .customLong("allow-remote"), help: "Allow listening on an address other machines can reach (the default binds 127.0.0.1 only; a wildcard with --interface for multicast is allowed without it).")
    var allowRemote = false
    @Option(help: "Keep device state (NovaStar: every card's registers) in this JSON file: read at start if it exists, written at stop.")
    var state: String?
    @Option(name: .customLong("receive-buffer"), help: "Socket receive buffer in bytes.")
    var receiveBuffer: Int = 64 << 20
    @Option(help: "Write the session's result (counters, golden comparison) as JSON here.")
    var json: String?
    @Option(help: "Write JUnit XML here: with --expect one test case per compared frame, otherwise one per controller.")
    var junit: String?
    @Flag(help: "No live status line.")
    var quiet = false

    func run() async throws {
        if let d = duration, !(d.isFinite && d > 0 && d <= 1e9) { throw UsageError(message: "--duration must be a number of seconds above 0") }
        if receiveBuffer < 0 || receiveBuffer > Int(Int32.max) { throw UsageError(message: "--receive-buffer must be 0...\(Int32.max) bytes") }
        try golden.validate()
        let sessionConfig = try loadConfig()
        var options = ServeOptions()
        options.recordDirectory = record
        options.recording = RecordingOptions(png: .fast, skipIdentical: skipIdentical, maxBacklog: 256)
        options.expectDirectory = golden.expect
        options.tolerance = golden.tolerance
        options.goldenMatch = golden.match
        options.updateGolden = golden.updateGolden
        options.duration = duration
        options.readyFile = readyFile
        options.statusLine = !quiet && isTerminal()
        options.strict = strict
        options.receiveBufferBytes = receiveBuffer
        options.pcapPath = pcap
        options.stateFile = state
        options.allowRemote = allowRemote
        if golden.expect != nil && record == nil {
            throw UsageError(message: "--expect needs --record DIR (frames are compared as they are recorded)")
        }
        let logger = Logger(label: "panelsim.serve")
        let session = ServeSession(config: sessionConfig, options: options, logger: logger)
        let stopper = SignalStopper { session.stop() }
        let result: ServeResult
        do {
            result = try await session.run()
        } catch let e as ConfigError {
            throw e
        } catch let e as OutputError {
            throw e
        } catch let e as UsageError {
            throw e
        } catch {
            throw RunError(message: "\(error)")
        }
        _ = stopper
        for c in result.controllers {
            var line = "\(c.name): \(c.counters.packets) packets, \(c.counters.frames) frames, \(c.counters.torn) torn"
            let malformed = c.counters.malformed.values.reduce(0, +)
            if malformed > 0 { line += ", \(malformed) malformed" }
            if let r = record { line += " → \(r)/\(c.name)/" }
            if let stop = c.recordingStopped { line += " (recording stopped: \(stop))" }
            FileHandle.standardError.write(Data((line + "\n").utf8))
            if let g = c.golden { FileHandle.standardError.write(Data(("  " + GoldenFlags.verdict(g) + "\n").utf8)) }
        }
        if let path = json { try FileText.write(ServeReport.json(result).pretty, to: path) }
        if let path = junit { try FileText.write(ServeReport.junit(result).xml, to: path) }
        for e in result.outputErrors { printError("not written: \(e)") }
        if !result.outputErrors.isEmpty { throw ExitCode(Exit.runFailed) }
        if result.goldenFailed { throw ExitCode(Exit.checkFailed) }
    }

    /// The config file, or one controller built from the flags through the same validation.
    func loadConfig() throws -> SessionConfig {
        if let path = config {
            let given = [("--protocol", `protocol` != nil), ("--name", name != nil), ("--listen", listen != nil), ("--interface", interface != nil), ("--serial", serial != nil), ("--link", link != nil), ("--baud", baud != nil),
                         ("--size", panel.size != nil), ("--pixel", panel.pixel != "rgb"), ("--order", panel.order != nil),
                         ("--start-universe", panel.startUniverse != nil), ("--channels-per-universe", panel.channelsPerUniverse != nil),
                         ("--layout", panel.layout != "rows"), ("--flip", !panel.flip.isEmpty), ("--sync", sync != nil),
                         ("--timeout", timeout != nil), ("--option", !protocolOptions.isEmpty), ("--profile", profile != nil)].filter { $0.1 }.map { $0.0 }
            if !given.isEmpty {
                throw UsageError(message: "with --config, the controller flags \(given.joined(separator: ", ")) do nothing: put them in the config file")
            }
            return try SessionConfig.load(path: path)
        }
        guard let protoName = `protocol` else { throw UsageError(message: "give --config FILE, or --protocol and --size for one controller") }
        guard let plugin = ProtocolRegistry.standard.plugin(named: protoName) else {
            throw UsageError(message: "unknown protocol \"\(protoName)\" (known: \(ProtocolRegistry.standard.names.joined(separator: ", ")))")
        }
        // Multicast arrives only at a wildcard socket: --interface alone means 0.0.0.0.
        let carrier = plugin.carrier == .tcp ? "tcp" : "udp"  // --listen is the TCP address for a TCP protocol
        var transport = "\(carrier): \(quoted(listen ?? (interface == nil ? "127.0.0.1" : "0.0.0.0") + ":\(plugin.defaultPort)"))"
        if let i = interface { transport += ", interface: \(quoted(i)), multicast: true" }
        if plugin.carrier == .serial || serial != nil { transport = serialTransportYAML() }
        var yaml = "controllers:\n  - name: \(quoted(name ?? plugin.name))\n    protocol: \(quoted(plugin.name))\n    transport: { \(transport) }\n"
        if let p = profile { yaml += "    profile: \(quoted(p))\n" }
        yaml += try panel.yaml(plugin: plugin)
        var frame: [String] = []
        if let s = sync { frame.append("sync: \(quoted(s))") }
        if let t = timeout { frame.append("timeout: \(quoted(t))") }
        if !frame.isEmpty { yaml += "    frame: { \(frame.joined(separator: ", ")) }\n" }
        if !protocolOptions.isEmpty {
            var pairs: [String] = []
            for o in protocolOptions {
                guard let eq = o.firstIndex(of: "=") else { throw UsageError(message: "--option \"\(o)\" must be KEY=VALUE") }
                pairs.append("\(quoted(String(o[..<eq]))): \(quoted(String(o[o.index(after: eq)...])))")
            }
            yaml += "    options: { \(pairs.joined(separator: ", ")) }\n"
        }
        do {
            return try SessionConfig.parse(yaml: yaml, file: "flags")
        } catch {
            throw UsageError(message: FlagNames.explain(error))
        }
    }
}

/// Turns a config key path from the flag-built config back into the flag's name.
enum FlagNames {
    static let table: [(String, String)] = [
        ("panel.width", "--size"), ("panel.height", "--size"), ("panel.pixel", "--pixel"), ("panel.order", "--order"),
        ("mapping.start-universe", "--start-universe"), ("mapping.channels-per-universe", "--channels-per-universe"),
        ("mapping.layout", "--layout"), ("mapping.flip", "--flip"), ("mapping", "--size/--start-universe/--channels-per-universe"),
        ("transport.udp", "--listen"), ("transport.tcp", "--listen"), ("transport.serial", "--serial"), ("transport.baud", "--baud"), ("transport.link", "--link"), ("transport.multicast", "--interface"), ("frame.sync", "--sync"), ("frame.timeout", "--timeout"),
        ("options.", "--option "), ("profile", "--profile"), ("name", "--name"), ("protocol", "--protocol"),
    ]

    static func explain(_ e: ConfigError) -> String {
        let key = e.key.replacingOccurrences(of: "controllers[0].", with: "")
        for (k, flag) in table where key == k || (k.hasSuffix(".") && key.hasPrefix(k)) {
            return "\(flag)\(k.hasSuffix(".") ? String(key.dropFirst(k.count)) : ""): \(e.message)"
        }
        return "\(key): \(e.message)"
    }
}

extension Serve {
    /// The `transport:` keys of `--serial`, `--link` and `--baud`.
    func serialTransportYAML() -> String {
        var t = "serial: \(quoted(serial ?? "pty"))"
        if let l = link { t += ", link: \(quoted(l))" }
        if let b = baud { t += ", baud: \(b)" }
        return t
    }
}
