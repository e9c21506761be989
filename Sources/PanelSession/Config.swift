import PanelCore
import PanelDevice
import PanelImage
import Yams
#if canImport(Glibc)
import Glibc
#endif

/// A bad config file or flag value: names the file, line, key and what is wrong.
public struct ConfigError: Error, CustomStringConvertible, Sendable {
    public var file: String
    public var line: Int?
    public var key: String
    public var message: String
    public init(file: String, line: Int?, key: String, _ message: String) {
        self.file = file; self.line = line; self.key = key; self.message = message
    }
    public var description: String {
        let place = line.map { "\(file):\($0)" } ?? file
        return key.isEmpty ? "\(place): \(message)" : "\(place): \(key): \(message)"
    }
}

/// Where a controller listens.
public enum TransportConfig: Equatable, Sendable {
    case udp(host: String, port: Int)
    case tcp(host: String, port: Int)
    /// A pseudo-terminal (`device` nil; its slave symlinked at `link` if given) or a tty `device`.
    case serial(link: String?, baud: Int, device: String? = nil)
    case interface(String)
}

/// One controller of the config file (DESIGN.md, "Configuration and recording").
public struct ControllerConfig: Sendable {
    public var name: String
    public var plugin: ProtocolPlugin
    public var transport: TransportConfig
    /// sACN: join the universes' multicast groups on `interface`.
    public var multicast: Bool
    public var interface: String?
    public var width: Int
    public var height: Int
    public var pixel: PixelFormat
    public var order: PixelOrder
    public var mapping: MappingSettings
    public var frame: FrameSettings
    public var options: [String: String]
    /// The quirk profile the controller reproduces (`profile:`); its options are in `options`.
    public var profile: QuirkProfile?
    /// Pictures named by options (the plugin's `imageOptions`), loaded and sized to the panel.
    public var images: [String: Canvas] = [:]
    /// Line of the controller's entry in the config file, for later error messages.
    public var line: Int?
    /// The config file (or "flags") and the entry's key path, for later error messages.
    public var file = "config"
    public var path = "controllers[0]"

    /// The channel map built from panel and mapping (validated when the config loads).
    public func channelMap() throws(ChannelMapError) -> ChannelMap {
        try ChannelMap(width: width, height: height, format: pixel, order: order, settings: mapping, allowedUniverses: plugin.universeRange)
    }

    /// A JSON-ready echo of this configuration, for recording.json.
    public var summary: [String: JSONValue] {
        var t: [String: JSONValue] = [:]
        switch transport {
        case let .udp(h, p): t["udp"] = .string("\(h):\(p)")
        case let .tcp(h, p): t["tcp"] = .string("\(h):\(p)")
        case let .serial(link, baud, device):
            t["serial"] = .string(device ?? "pty"); t["baud"] = .int(baud)
            if let l = link { t["link"] = .string(l) }
        case let .interface(i): t["interface"] = .string(i)
        }
        if multicast { t["multicast"] = .bool(true) }
        if let i = interface { t["interface"] = .string(i) }
        var flip: [JSONValue] = []
        if mapping.flipHorizontal { flip.append(.string("horizontal")) }
        if mapping.flipVertical { flip.append(.string("vertical")) }
        return [
            "name": .string(name), "protocol": .string(plugin.name), "transport": .object(t),
            "panel": .object(["width": .int(width), "height": .int(height), "pixel": .string(pixel.rawValue), "order": .string(order.description)]),
            "mapping": .object(["start-universe": .int(mapping.startUniverse), "channels-per-universe": .int(mapping.channelsPerUniverse),
                                "layout": .string(mapping.layout.rawValue), "flip": .array(flip)]),
            "frame": .object(["sync": .string(frame.sync.rawValue), "timeout": frame.timeout.map { .double($0.seconds) } ?? .string("auto"),
                              "max-rate": frame.maxRate.map { .double($0) } ?? .null]),
            "options": .object(options.mapValues { .string($0) }),
            "profile": profile.map { .string($0.name) } ?? .null,
        ]
    }
}

/// The whole config file.
public struct SessionConfig: Sendable {
    public var controllers: [ControllerConfig]
    public init(controllers: [ControllerConfig]) { self.controllers = controllers }

    /// Loads and validates a YAML config file.
    public static func load(path: String, registry: ProtocolRegistry = .standard) throws(ConfigError) -> SessionConfig {
        guard let text = FileText.read(path) else { throw ConfigError(file: path, line: nil, key: "", "cannot read the file") }
        return try parse(yaml: text, file: path, registry: registry)
    }

    /// Parses and validates config text; `file` names it in errors.
    public static func parse(yaml: String, file: String, registry: ProtocolRegistry = .standard) throws(ConfigError) -> SessionConfig {
        let top = try Fields.root(yaml: yaml, file: file)
        try top.allow(["controllers"])
        return SessionConfig(controllers: try parseControllers(in: top, registry: registry))
    }

    /// Controllers one session runs at most: each holds sockets, open files and a canvas.
    public static let maxControllers = 1024
    /// Canvas bytes of all panels together at most (a 3840×2160 RGB panel is 24 MiB), so that a
    /// config cannot ask for more memory than a billboard city needs.
    public static let maxCanvasBytes = 1 << 30

    /// Parses and validates the `controllers:` list of a file's top level (a serve config, a
    /// stress scenario): at least one controller, names unique.
    public static func parseControllers(in top: Fields, registry: ProtocolRegistry = .standard) throws(ConfigError) -> [ControllerConfig] {
        let file = top.file
        guard let list = top.node("controllers") else { throw ConfigError(file: file, line: top.line, key: top.key("controllers"), "is missing") }
        guard case .sequence(let seq) = list else { throw ConfigError(file: file, line: list.mark?.line, key: top.key("controllers"), "must be a list") }
        guard seq.count <= maxControllers else {
            throw ConfigError(file: file, line: list.mark?.line, key: top.key("controllers"), "\(seq.count) controllers; at most \(maxControllers) run in one session")
        }
        var controllers: [ControllerConfig] = []
        var names = Set<String>()
        var canvasBytes = 0
        for (i, entry) in seq.enumerated() {
            let c = try parseController(entry, path: top.key("controllers[\(i)]"), file: file, registry: registry)
            guard names.insert(c.name).inserted else { throw ConfigError(file: file, line: entry.mark?.line, key: top.key("controllers[\(i)].name"), "\"\(c.name)\" is used twice") }
            // width and height are at most 16384 each, so neither product overflows
            canvasBytes += c.width * c.height * c.pixel.bytesPerPixel
            guard canvasBytes <= maxCanvasBytes else {
                throw ConfigError(file: file, line: entry.mark?.line, key: top.key("controllers[\(i)].panel"),
                                  "the panels so far need \(canvasBytes / 1_048_576) MiB of canvas; at most \(maxCanvasBytes / 1_048_576) MiB in one session")
            }
            controllers.append(c)
        }
        guard !controllers.isEmpty else { throw ConfigError(file: file, line: list.mark?.line, key: top.key("controllers"), "is empty") }
        return controllers
    }

    static func yamlLine(_ error: Error) -> Int? {
        if let y = error as? YamlError, case let .parser(_, _, mark, _) = y { return mark.line }
        if let y = error as? YamlError, case let .scanner(_, _, mark, _) = y { return mark.line }
        if let y = error as? YamlError, case let .composer(_, _, mark, _) = y { return mark.line }
        return nil
    }

    /// What a YAML error says, without the echo of the offending line (a hostile file's line
    /// can be megabytes long).
    static func yamlProblem(_ error: Error) -> String {
        if let y = error as? YamlError {
            switch y {
            case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _), let .composer(context, problem, mark, _):
                return "column \(mark.column): \(problem)" + (context.map { " \($0.text)" } ?? "")
            default: break
            }
        }
        let text = "\(error)"
        return text.count > 300 ? String(text.prefix(300)) + "…" : text
    }

    static func parseController(_ node: Node, path: String, file: String, registry: ProtocolRegistry) throws(ConfigError) -> ControllerConfig {
        let f = try Fields(node, path: path, file: file)
        try f.allow(["name", "protocol", "transport", "panel", "mapping", "frame", "options", "profile"])
        let protoName = try f.requiredString("protocol")
        guard let plugin = registry.plugin(named: protoName) else {
            throw f.error("protocol", "unknown protocol \"\(protoName)\" (known: \(registry.names.joined(separator: ", ")))")
        }
        var profile: QuirkProfile? = nil
        if let p = try f.string("profile") {
            guard let found = QuirkProfile.named(p) else {
                throw f.error("profile", "unknown profile \"\(p)\" (known: \(QuirkProfile.all.map(\.name).joined(separator: ", ")))")
            }
            guard found.protocolName == plugin.name else {
                let mine = QuirkProfile.all.filter { $0.protocolName == plugin.name }.map(\.name)
                throw f.error("profile", "\"\(p)\" is a profile for \(found.protocolName), not \(plugin.name)"
                              + (mine.isEmpty ? " (\(plugin.name) has none)" : " (\(plugin.name) has: \(mine.joined(separator: ", ")))"))
            }
            profile = found
        }
        let name = try f.string("name") ?? plugin.name
        try validateName(name, f)

        // transport
        var transport: TransportConfig
        switch plugin.carrier {
        case .udp: transport = .udp(host: "127.0.0.1", port: Int(plugin.defaultPort))
        case .tcp: transport = .tcp(host: "127.0.0.1", port: Int(plugin.defaultPort))
        case .serial: transport = .serial(link: nil, baud: 115200)
        case .ethernet: transport = .interface("")  // required below
        }
        var multicast = false
        var interface: String? = nil
        if let t = try f.fields("transport") {
            try t.allow(["udp", "tcp", "serial", "link", "baud", "interface", "multicast"])
            if let s = try t.string("udp") {
                let (h, p) = try parseHostPort(s, defaultPort: Int(plugin.defaultPort), t, key: "udp")
                transport = .udp(host: h, port: p)
            } else if let s = try t.string("tcp") {
                let (h, p) = try parseHostPort(s, defaultPort: Int(plugin.defaultPort), t, key: "tcp")
                transport = .tcp(host: h, port: p)
            } else if let s = try t.string("serial") {
                let baud = try t.int("baud", in: 50...12_000_000) ?? 115200
                transport = s == "pty" ? .serial(link: try t.string("link"), baud: baud) : .serial(link: nil, baud: baud, device: s)
            }
            interface = try t.string("interface")
            if plugin.carrier == .ethernet, let name = interface { transport = .interface(name) }
            multicast = try t.bool("multicast") ?? false
            if multicast && interface == nil { throw t.error("multicast", "needs interface: (multicast goes only to an interface named explicitly)") }
            if interface != nil, case let .udp(host, _) = transport, host != "0.0.0.0" {
                throw t.error("udp", "multicast arrives only at a socket bound to 0.0.0.0; with interface: \(interface ?? "") use udp: 0.0.0.0:PORT")
            }
            if multicast && !plugin.usesMulticast { throw t.error("multicast", "\(plugin.name) does not use multicast") }
            if case .udp = transport {} else if multicast { throw t.error("multicast", "needs a udp transport") }
            // The transport must be the one the protocol's bytes travel on.
            let given: (key: String, carrier: Carrier)
            switch transport {
            case .udp: given = ("udp", .udp)
            case .tcp: given = ("tcp", .tcp)
            case .serial: given = ("serial", .serial)
            case .interface: given = ("interface", .ethernet)
            }
            if !plugin.travels(over: given.carrier) {
                throw t.error(given.key, "\(plugin.name) travels over \(plugin.carrier == .ethernet ? "raw Ethernet (give interface:)" : plugin.carrier.rawValue), not \(given.carrier == .ethernet ? "raw Ethernet" : given.carrier.rawValue)")
            }
        }

        if plugin.carrier == .ethernet, interface == nil {
            throw f.error("transport", "\(plugin.name) is raw Ethernet: give transport: { interface: NAME }")
        }

        // panel
        guard let p = try f.fields("panel") else { throw f.error("panel", "is missing (width, height, pixel)") }
        try p.allow(["width", "height", "pixel", "order"])
        guard let width = try p.int("width", in: 1...16384) else { throw p.error("width", "is missing") }
        guard let height = try p.int("height", in: 1...16384) else { throw p.error("height", "is missing") }
        let pixelName = try p.string("pixel") ?? "rgb"
        guard let pixel = PixelFormat(rawValue: pixelName) else { throw p.error("pixel", "must be gray, rgb or rgbw, not \"\(pixelName)\"") }
        let orderName = try p.string("order") ?? PixelOrder.natural(pixel).description
        guard let order = PixelOrder(orderName, format: pixel) else { throw p.error("order", "\"\(orderName)\" is not an order of \(pixel.rawValue) components (e.g. rgb, grb, bgr)") }

        // mapping
        var mapping = MappingSettings(startUniverse: plugin.defaultStartUniverse, channelsPerUniverse: pixel.defaultChannelsPerUniverse)
        // A profile that reads a fixed number of pixels per universe (WLED) forces the channels.
        var forcedChannels: Int? = nil
        if let prof = profile, !prof.pixelsPerUniverse.isEmpty {
            guard let pixels = prof.pixelsPerUniverse[pixel] else {
                let formats = prof.pixelsPerUniverse.keys.map(\.rawValue).sorted().joined(separator: " or ")
                throw p.error("pixel", "profile \(prof.name) drives \(formats) pixels, not \(pixel.rawValue)")
            }
            forcedChannels = pixels * pixel.bytesPerPixel
            mapping.channelsPerUniverse = pixels * pixel.bytesPerPixel
        }
        if let m = try f.fields("mapping") {
            try m.allow(["start-universe", "channels-per-universe", "layout", "flip"])
            mapping.startUniverse = try m.int("start-universe", in: 0...65535) ?? mapping.startUniverse
            mapping.channelsPerUniverse = try m.int("channels-per-universe", in: pixel.bytesPerPixel...512) ?? mapping.channelsPerUniverse
            if let forced = forcedChannels, mapping.channelsPerUniverse != forced, let prof = profile {
                throw m.error("channels-per-universe", "profile \(prof.name) reads \(forced) channels per universe (\(forced / pixel.bytesPerPixel) \(pixel.rawValue) pixels), not \(mapping.channelsPerUniverse)")
            }
            if let l = try m.string("layout") {
                guard let layout = ChainLayout(rawValue: l) else { throw m.error("layout", "must be rows or serpentine, not \"\(l)\"") }
                mapping.layout = layout
            }
            for flip in try m.stringList("flip") {
                switch flip {
                case "horizontal", "h", "x": mapping.flipHorizontal = true
                case "vertical", "v", "y": mapping.flipVertical = true
                default: throw m.error("flip", "items must be horizontal or vertical, not \"\(flip)\"")
                }
            }
        }

        // frame
        // A profile's highest frame rate is the controller's, unless the config sets its own.
        var frame = FrameSettings(maxRate: profile?.expectations.maxFrameRate)
        if let fr = try f.fields("frame") {
            try fr.allow(["sync", "timeout", "max-rate"])
            if let s = try fr.string("sync") {
                guard let policy = FrameSettings.SyncPolicy(rawValue: s) else { throw fr.error("sync", "must be auto or ignore, not \"\(s)\"") }
                frame.sync = policy
            }
            if let t = try fr.string("timeout"), t != "auto" {
                guard let d = parseDuration(t), d.nanoseconds > 0 else { throw fr.error("timeout", "must be a duration like 100ms or 0.5s, not \"\(t)\"") }
                frame.timeout = d
            }
            if let r = try fr.string("max-rate") {
                if r == "none" {
                    frame.maxRate = nil
                } else {
                    guard let rate = Double(r), rate.isFinite, rate > 0, rate <= 100_000 else {
                        throw fr.error("max-rate", "must be frames per second above 0 (at most 100000), or none, not \"\(r)\"")
                    }
                    frame.maxRate = rate
                }
            }
        }

        // options: the profile's, then the config's own over them
        var options: [String: String] = profile?.options ?? [:]
        var ownOptions = Set<String>()
        if let o = try f.fields("options") {
            try o.allow(Set(plugin.options.keys))
            for key in plugin.options.keys {
                if let v = try o.string(key) { options[key] = v; ownOptions.insert(key) }
            }
        }

        if plugin.discoveryPort != nil, let d = options["discovery"], d != "on", d != "off", HostPort.parse(d, defaultPort: 0) == nil {
            throw ConfigError(file: file, line: node.mark?.line, key: "\(path).options.discovery", "must be on, off or HOST:PORT, not \"\(d)\"")
        }
        var config = ControllerConfig(name: name, plugin: plugin, transport: transport, multicast: multicast, interface: interface,
                                      width: width, height: height, pixel: pixel, order: order, mapping: mapping, frame: frame,
                                      options: options, line: node.mark?.line, file: file, path: path)
        config.profile = profile
        config.images = try loadImages(plugin: plugin, options: options, width: width, height: height, file: file,
                                       line: node.mark?.line, path: path)
        let map: ChannelMap
        do { map = try config.channelMap() } catch { throw f.error("mapping", "\(plugin.displayName): " + error.description) }
        do {
            _ = try plugin.makeDevice(ControllerSettings(name: name, map: map, frame: frame, options: options, images: config.images))
        } catch {
            var from = ""
            if let prof = profile, prof.options[error.key] != nil, !ownOptions.contains(error.key) { from = " (set by profile \(prof.name))" }
            throw ConfigError(file: file, line: node.mark?.line, key: "\(path).options.\(error.key)", error.message + from)
        }
        return config
    }

    /// The PNG files the plugin's image options name (values ending `.png`), relative to the
    /// config file's folder (to the working directory for flags), scaled to the panel.
    static func loadImages(plugin: ProtocolPlugin, options: [String: String], width: Int, height: Int, file: String,
                           line: Int?, path: String) throws(ConfigError) -> [String: Canvas] {
        var images: [String: Canvas] = [:]
        for key in plugin.imageOptions.sorted() {
            guard let value = options[key], value.lowercased().hasSuffix(".png") else { continue }
            var full = value
            if !value.hasPrefix("/"), file != "flags" {
                if let slash = file.lastIndex(of: "/") { full = file[...slash] + value }
            }
            do {
                images[key] = try PNGFile.read(path: full).converted(to: .rgb).resized(width: width, height: height)
            } catch {
                throw ConfigError(file: file, line: line, key: "\(path).options.\(key)", "\(error)")
            }
        }
        return images
    }

    /// Controller names become folder names: keep them to a safe character set.
    static func validateName(_ name: String, _ f: Fields) throws(ConfigError) {
        let ok = !name.isEmpty && name.count <= 64 && name != "." && name != ".."
            && name.unicodeScalars.allSatisfy { ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) || "-_.".unicodeScalars.contains($0) }
        if !ok { throw f.error("name", "\"\(name)\" must be 1-64 letters, digits, '-', '_' or '.' (it names a folder)") }
    }

    static func parseHostPort(_ s: String, defaultPort: Int, _ f: Fields, key: String) throws(ConfigError) -> (String, Int) {
        guard let hp = HostPort.parse(s, defaultPort: defaultPort) else { throw f.error(key, "\"\(s)\" is not HOST:PORT (port 0-65535)") }
        return hp
    }
}

/// HOST:PORT parsing ("127.0.0.1:6454", "[::1]:5568", "0.0.0.0", ":6454").
public enum HostPort {
    public static func parse(_ s: String, defaultPort: Int) -> (String, Int)? {
        var host = s, portText: Substring? = nil
        if s.hasPrefix("[") {
            guard let close = s.firstIndex(of: "]") else { return nil }
            host = String(s[s.index(after: s.startIndex)..<close])
            let rest = s[s.index(after: close)...]
            if rest.hasPrefix(":") { portText = rest.dropFirst() } else if !rest.isEmpty { return nil }
        } else if let colon = s.lastIndex(of: ":"), s.filter({ $0 == ":" }).count == 1 {
            host = String(s[..<colon])
            portText = s[s.index(after: colon)...]
        }
        if host.isEmpty { host = "127.0.0.1" }
        var port = defaultPort
        if let pt = portText {
            guard let p = Int(pt), (0...65535).contains(p) else { return nil }
            port = p
        }
        return (host, port)
    }
}

extension HostPort {
    /// A numeric address as is; a name resolved to its first IPv4 (else IPv6) address.
    public static func resolve(_ host: String) -> String? {
        var v4 = in_addr(), v6 = in6_addr()
        if inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1 { return host }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &result) == 0, let first = result else { return nil }
        defer { freeaddrinfo(first) }
        var best: String? = nil
        var p: UnsafeMutablePointer<addrinfo>? = first
        while let info = p {
            var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            if getnameinfo(info.pointee.ai_addr, info.pointee.ai_addrlen, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST) == 0 {
                let text = String(cString: buffer)
                if info.pointee.ai_family == AF_INET { return text }
                if best == nil { best = text }
            }
            p = info.pointee.ai_next
        }
        return best
    }
}

/// "100ms", "2s", "1.5", "250us" → Timestamp.
public func parseDuration(_ s: String) -> Timestamp? {
    let t = s.trimmingCharacters(in: " ")
    let units: [(String, Double)] = [("ms", 1e6), ("us", 1e3), ("ns", 1), ("s", 1e9), ("m", 60e9)]
    for (suffix, scale) in units where t.hasSuffix(suffix) {
        guard let v = Double(t.dropLast(suffix.count)), v.isFinite, v >= 0, v * scale < 9e18 else { return nil }
        return Timestamp(nanoseconds: Int64(v * scale))
    }
    guard let v = Double(t), v.isFinite, v >= 0, v < 9e9 else { return nil }
    return Timestamp(nanoseconds: Int64(v * 1e9))
}

extension String {
    func trimmingCharacters(in set: Character) -> String {
        var s = Substring(self)
        while s.first == set { s = s.dropFirst() }
        while s.last == set { s = s.dropLast() }
        return String(s)
    }
}

/// A YAML mapping being validated: every accessor names file, line and key path on error.
/// Shared by every file PanelSim reads (serve configs, stress scenarios).
public struct Fields {
    let mapping: Node.Mapping
    /// The mapping's key path ("" at the top, "controllers[0].panel" …).
    public let path: String
    public let file: String
    /// The mapping's line in the file.
    public let line: Int?

    /// The top-level mapping of YAML text; `file` names it in errors.
    public static func root(yaml: String, file: String) throws(ConfigError) -> Fields {
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: yaml) else { throw ConfigError(file: file, line: nil, key: "", "the file is empty") }
            root = node
        } catch let e as ConfigError {
            throw e
        } catch {
            throw ConfigError(file: file, line: SessionConfig.yamlLine(error), key: "", "not valid YAML: \(SessionConfig.yamlProblem(error))")
        }
        return try Fields(root, path: "", file: file)
    }

    init(_ node: Node, path: String, file: String) throws(ConfigError) {
        guard case .mapping(let m) = node else {
            throw ConfigError(file: file, line: node.mark?.line, key: path, "must be a mapping of keys to values")
        }
        mapping = m; self.path = path; self.file = file; line = node.mark?.line
    }

    public func key(_ k: String) -> String { path.isEmpty ? k : "\(path).\(k)" }
    public func error(_ k: String, _ message: String) -> ConfigError {
        ConfigError(file: file, line: node(k)?.mark?.line ?? line, key: key(k), message)
    }

    public func allow(_ keys: Set<String>) throws(ConfigError) {
        for (k, _) in mapping {
            guard let name = k.string else { throw ConfigError(file: file, line: k.mark?.line, key: path, "keys must be strings") }
            if !keys.contains(name) {
                throw ConfigError(file: file, line: k.mark?.line, key: key(name), "unknown key (allowed here: \(keys.sorted().joined(separator: ", ")))")
            }
        }
    }

    /// Whether the mapping has the key.
    public func has(_ k: String) -> Bool { node(k) != nil }

    /// Whether the key's value is itself a mapping (read it with `fields`), not a single value.
    public func isMapping(_ k: String) -> Bool {
        if case .mapping? = node(k) { return true }
        return false
    }

    /// The mappings of a list under `k` (empty when the key is absent), each with its key path.
    public func items(_ k: String) throws(ConfigError) -> [Fields] {
        guard let n = node(k) else { return [] }
        guard case .sequence(let seq) = n else { throw error(k, "must be a list") }
        var out: [Fields] = []
        for (i, item) in seq.enumerated() { out.append(try Fields(item, path: key("\(k)[\(i)]"), file: file)) }
        return out
    }

    func node(_ k: String) -> Node? {
        for (key, value) in mapping where key.string == k { return value }
        return nil
    }

    public func fields(_ k: String) throws(ConfigError) -> Fields? {
        guard let n = node(k) else { return nil }
        if case .scalar(let s) = n, s.string.isEmpty || s.string == "~" || s.string == "null" { return nil }
        return try Fields(n, path: key(k), file: file)
    }

    public func string(_ k: String) throws(ConfigError) -> String? {
        guard let n = node(k) else { return nil }
        guard case .scalar(let s) = n else { throw error(k, "must be a single value") }
        return s.string
    }

    public func requiredString(_ k: String) throws(ConfigError) -> String {
        guard let s = try string(k) else { throw ConfigError(file: file, line: line, key: key(k), "is missing") }
        return s
    }

    public func int(_ k: String, in range: ClosedRange<Int>) throws(ConfigError) -> Int? {
        guard let s = try string(k) else { return nil }
        guard let v = Int(s), range.contains(v) else { throw error(k, "must be an integer in \(range.lowerBound)...\(range.upperBound), not \"\(s)\"") }
        return v
    }

    public func bool(_ k: String) throws(ConfigError) -> Bool? {
        guard let s = try string(k) else { return nil }
        switch s.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw error(k, "must be true or false, not \"\(s)\"")
        }
    }

    public func stringList(_ k: String) throws(ConfigError) -> [String] {
        guard let n = node(k) else { return [] }
        switch n {
        case .scalar(let s): return s.string.isEmpty ? [] : [s.string]
        case .sequence(let seq):
            var out: [String] = []
            for item in seq {
                guard case .scalar(let s) = item else { throw error(k, "items must be single values") }
                out.append(s.string)
            }
            return out
        default: throw error(k, "must be a list")
        }
    }
}
