import PanelDevice

/// The protocols PanelSim speaks. Adding a protocol means adding its `ProtocolPlugin` here.
public struct ProtocolRegistry: Sendable {
    public let plugins: [ProtocolPlugin]
    public init(plugins: [ProtocolPlugin]) { self.plugins = plugins }

    public static let standard = ProtocolRegistry(plugins: [
        .artNet, .e131,
        .enttecPro, .tpm2,
        .openPixelControl,
        .ddp, .tpm2net,
        .novaStar, .colorlight,
    ])

    public var names: [String] { plugins.map(\.name) }
    public func plugin(named name: String) -> ProtocolPlugin? {
        let n = name.lowercased()
        let aliases = ["e131": "sacn", "e1.31": "sacn", "art-net": "artnet"]
        return plugins.first { $0.name == (aliases[n] ?? n) }
    }

    /// Content detection over the registered protocols.
    public func detect(_ datagram: UnsafeRawBufferPointer) -> ProtocolPlugin? {
        plugins.first { $0.detect(datagram) }
    }
}
