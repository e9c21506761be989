import PanelDevice

/// Decides which protocol a datagram, a TCP stream or an Ethernet frame carries: an override
/// for its port first (`--decode-as`, like Wireshark's "Decode As"), then content (Art-Net and
/// ACN identifiers, magic bytes), then the protocol's registered port, so that a damaged
/// packet sent to a protocol's port still reaches that protocol and is counted as malformed.
public struct ProtocolDetector: Sendable {
    /// "Traffic to this port is this protocol (or nothing)".
    public struct Override: Hashable, Sendable, CustomStringConvertible {
        public var carrier: Carrier
        public var port: UInt16
        /// The protocol's config name; nil leaves the port's traffic undecoded.
        public var protocolName: String?
        public init(carrier: Carrier, port: UInt16, protocolName: String?) {
            self.carrier = carrier; self.port = port; self.protocolName = protocolName
        }
        public var description: String { "\(carrier.rawValue):\(port)=\(protocolName ?? "none")" }
    }

    public let registry: ProtocolRegistry
    private let overrides: [OverrideKey: Int?]
    private let byCarrier: [Carrier: [ProtocolPlugin]]
    /// The UDP protocols, looked up once (the per-datagram path).
    private let udp: [ProtocolPlugin]

    private struct OverrideKey: Hashable, Sendable { var carrier: Carrier; var port: UInt16 }

    public init(registry: ProtocolRegistry, overrides: [Override] = []) {
        self.registry = registry
        var table: [OverrideKey: Int?] = [:]
        for o in overrides {
            table[OverrideKey(carrier: o.carrier, port: o.port)] = o.protocolName.flatMap { name in
                registry.plugins.firstIndex { $0.name == registry.plugin(named: name)?.name }
            }
        }
        self.overrides = table
        var byCarrier: [Carrier: [ProtocolPlugin]] = [:]
        for p in registry.plugins {
            for c in [p.carrier] + p.additionalCarriers.sorted(by: { $0.rawValue < $1.rawValue }) { byCarrier[c, default: []].append(p) }
        }
        self.byCarrier = byCarrier
        self.udp = byCarrier[.udp] ?? []
    }

    /// Parses `PORT=PROTOCOL`, `udp:PORT=PROTOCOL` or `tcp:PORT=PROTOCOL` (`none` as the protocol
    /// ignores the port); the error names what is wrong.
    public static func parseOverride(_ text: String, registry: ProtocolRegistry) throws(ConfigError) -> Override {
        let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2 else {
            throw ConfigError(file: "--decode-as", line: nil, key: text, "expected PORT=PROTOCOL, e.g. 6455=artnet or tcp:5200=none")
        }
        var carrier = Carrier.udp
        var portText = parts[0]
        if let colon = portText.firstIndex(of: ":") {
            let name = String(portText[..<colon]).lowercased()
            guard let c = Carrier(rawValue: name), c == .udp || c == .tcp else {
                throw ConfigError(file: "--decode-as", line: nil, key: text, "\"\(name)\" is not udp or tcp")
            }
            carrier = c
            portText = String(portText[portText.index(after: colon)...])
        }
        guard let port = UInt16(portText), port > 0 else {
            throw ConfigError(file: "--decode-as", line: nil, key: text, "\"\(portText)\" is not a port number (1-65535)")
        }
        let name = parts[1].lowercased()
        if name == "none" { return Override(carrier: carrier, port: port, protocolName: nil) }
        guard let plugin = registry.plugin(named: name) else {
            throw ConfigError(file: "--decode-as", line: nil, key: text,
                              "unknown protocol \"\(parts[1])\" (known: \(registry.names.joined(separator: ", ")), none)")
        }
        guard plugin.travels(over: carrier) else {
            throw ConfigError(file: "--decode-as", line: nil, key: text, "\(plugin.name) travels over \(plugin.carrier.rawValue), not \(carrier.rawValue)")
        }
        return Override(carrier: carrier, port: port, protocolName: plugin.name)
    }

    /// The protocol of a UDP datagram, or nil when none claims it.
    public func protocolOf(datagram bytes: UnsafeRawBufferPointer, sourcePort: UInt16, destinationPort: UInt16) -> ProtocolPlugin? {
        classify(.udp, bytes, ports: (destinationPort, sourcePort))
    }

    /// The protocol of a TCP connection, from the first bytes its client sent and the server's port.
    public func protocolOf(stream firstBytes: UnsafeRawBufferPointer, serverPort: UInt16) -> ProtocolPlugin? {
        classify(.tcp, firstBytes, ports: (serverPort, serverPort))
    }

    /// The protocol of a serial line, from the first bytes read on it, by content only.
    public func protocolOf(serial firstBytes: UnsafeRawBufferPointer) -> ProtocolPlugin? {
        byCarrier[.serial]?.first { $0.detect(firstBytes) }
    }

    /// The protocol of a whole Ethernet frame (from its destination address), by content only.
    public func protocolOf(ethernetFrame bytes: UnsafeRawBufferPointer) -> ProtocolPlugin? {
        byCarrier[.ethernet]?.first { $0.detect(bytes) }
    }

    private func classify(_ carrier: Carrier, _ bytes: UnsafeRawBufferPointer, ports: (UInt16, UInt16)) -> ProtocolPlugin? {
        if !overrides.isEmpty {
            for port in [ports.0, ports.1] {
                if let chosen = overrides[OverrideKey(carrier: carrier, port: port)] {
                    return chosen.map { registry.plugins[$0] }
                }
            }
        }
        let plugins = carrier == .udp ? udp : byCarrier[carrier] ?? []
        for p in plugins where p.detect(bytes) { return p }
        return plugins.first { $0.defaultPort == ports.0 }
    }
}
