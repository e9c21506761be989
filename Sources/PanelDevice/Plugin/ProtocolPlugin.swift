import PanelCore
import PanelWire

/// The settings every controller has, whatever its protocol (the config's common keys).
public struct ControllerSettings: Sendable {
    public var name: String
    public var map: ChannelMap
    public var frame: FrameSettings
    public var strict: Bool
    /// The `options:` map, protocol-specific; validated by the plugin.
    public var options: [String: String]
    /// The controller's own IPv4 address, for protocols that report it (ArtPollReply).
    public var localAddress: [UInt8]
    /// Ports of other controllers that answer on the same socket before this one, so that
    /// port numbers a protocol reports (Art-Net BindIndex) stay unique on one address.
    public var portBase: Int
    /// Pictures the options name (a plugin's `imageOptions` holding a `.png` path), loaded by
    /// the session and sized to the panel: option key → picture.
    public var images: [String: Canvas]

    public init(name: String, map: ChannelMap, frame: FrameSettings = FrameSettings(), strict: Bool = false,
                options: [String: String] = [:], localAddress: [UInt8] = [127, 0, 0, 1], portBase: Int = 0,
                images: [String: Canvas] = [:]) {
        self.name = name; self.map = map; self.frame = frame; self.strict = strict
        self.options = options; self.localAddress = localAddress; self.portBase = portBase; self.images = images
    }
}

/// An invalid protocol option, naming the key.
public struct OptionError: Error, Equatable, Sendable, CustomStringConvertible {
    public var key: String
    public var message: String
    public init(key: String, _ message: String) { self.key = key; self.message = message }
    public var description: String { "options.\(key): \(message)" }
}

/// How a sender transmits: what the send loop needs besides the bytes.
public struct SenderSettings: Sendable {
    public var map: ChannelMap
    /// Send the protocol's sync after each frame (ArtSync, E1.31 sync packet).
    public var sync: Bool
    public var sourceName: String
    public var priority: UInt8
    public var cid: CID
    /// sACN synchronization address.
    public var syncUniverse: UInt16
    /// Brightness the sender sets on the receiver, where the protocol carries one (Colorlight's
    /// display packet); nil leaves the protocol's default (full).
    public var brightness: UInt8? = nil
    /// Per-channel brightness, where the protocol carries one (Colorlight's display packet and
    /// 0x0A brightness packet); nil leaves them full and sends no brightness packet.
    public var rgbBrightness: ColorlightBrightness? = nil

    public init(map: ChannelMap, sync: Bool = false, sourceName: String = "PanelSim", priority: UInt8 = 100,
                cid: CID = CID(high: 0x5061_6E65_6C53_696D, low: 0x0000_0000_0000_0001), syncUniverse: UInt16 = 63999) {
        self.map = map; self.sync = sync; self.sourceName = sourceName; self.priority = priority
        self.cid = cid; self.syncUniverse = syncUniverse
    }
}

/// Receives each encoded datagram; `multicastGroup` is the group a multicast sender would
/// address (nil for protocols that are unicast or broadcast only).
public typealias DatagramEmitter = (_ datagram: UnsafeRawBufferPointer, _ multicastGroup: String?) -> Void

/// Turns pictures into a protocol's datagrams (the send half of the pipeline).
public protocol FrameSender {
    /// The datagrams of one frame, in sending order (data, then sync if enabled).
    mutating func encode(_ canvas: Canvas, emit: DatagramEmitter)
    /// Datagrams sent every `announcementInterval` (e.g. sACN universe discovery).
    mutating func encodeAnnouncements(emit: DatagramEmitter)
    var announcementInterval: Timestamp? { get }
    /// Datagrams that end a stream cleanly (e.g. sACN stream-terminated packets).
    mutating func encodeTermination(_ canvas: Canvas, emit: DatagramEmitter)
}

/// What a packet says about its stream, for traffic statistics (replay reports): read without
/// a device model, so every packet of a capture is counted whichever controller gets it.
public struct PacketSummary: Sendable, Equatable {
    public enum Kind: String, Sendable { case data, sync, poll, reply, discovery, other }
    public var kind: Kind
    /// The universe a data packet is for.
    public var universe: Int?
    /// The sequence number, nil where the packet has none or sequencing is off.
    public var sequence: UInt8?
    public var sequenceRule: SequenceRule?
    public var priority: UInt8?
    /// The synchronization address a data packet names (sACN), nil when it names none.
    public var syncAddress: Int?
    /// The sender's own identity where the protocol has one (sACN CID) and its name.
    public var senderID: String?
    public var senderName: String?
    /// Rule IDs the packet breaks.
    public var violations: [String]

    public init(kind: Kind, universe: Int? = nil, sequence: UInt8? = nil, sequenceRule: SequenceRule? = nil, priority: UInt8? = nil,
                syncAddress: Int? = nil, senderID: String? = nil, senderName: String? = nil, violations: [String] = []) {
        self.kind = kind; self.universe = universe; self.sequence = sequence; self.sequenceRule = sequenceRule
        self.priority = priority; self.syncAddress = syncAddress; self.senderID = senderID; self.senderName = senderName
        self.violations = violations
    }
}

/// Everything PanelSim knows about one protocol; serve, send, replay, check and stress
/// find protocols only through these values.
public final class ProtocolPlugin: Sendable {
    /// Config name: "artnet", "sacn", …
    public let name: String
    public let displayName: String
    public let defaultPort: UInt16
    public let defaultStartUniverse: Int
    /// Universe numbers the protocol can address (Art-Net Port-Address 0...32767, sACN 1...63999).
    public let universeRange: ClosedRange<Int>
    /// Option keys the config's `options:` may hold for this protocol, with a line of help each.
    public let options: [String: String]
    /// Content detection: true when a datagram looks like this protocol.
    public let detect: @Sendable (UnsafeRawBufferPointer) -> Bool
    /// The universe a datagram is for, to dispatch a shared port; nil: every controller on the port.
    public let universeOf: @Sendable (UnsafeRawBufferPointer) -> Int?
    public let makeDevice: @Sendable (ControllerSettings) throws(OptionError) -> DeviceModel
    public let makeSender: @Sendable (SenderSettings) -> FrameSender
    /// Reads a packet's stream facts; throws the decoder's rejection for a malformed packet.
    /// The flag asks for the sender's identity and name too (costlier: text is built), which a
    /// caller needs only for the first packet of a stream.
    public let summarize: @Sendable (UnsafeRawBufferPointer, _ identify: Bool) throws(WireError) -> PacketSummary
    /// Whether the transport should join multicast groups the model names.
    public let usesMulticast: Bool
    /// How the protocol's bytes travel by default; serve and replay route traffic to the plugin by it.
    public let carrier: Carrier
    /// Other carriers the same model serves (NovaStar: serial besides TCP).
    public let additionalCarriers: Set<Carrier>
    /// For protocols without universes: how many channel bytes from the panel's first channel
    /// a datagram reaches (DDP offset + length …), so replay can size a raw view without a
    /// config. Nil for a datagram that carries no pixel data, or a protocol with universes.
    public let channelExtent: @Sendable (UnsafeRawBufferPointer) -> Int?
    /// For protocols addressing pixels by row and column (Colorlight): the panel size a packet
    /// reaches (width, height), so replay can size a view without a config. Nil for a packet
    /// carrying no pixels.
    public let panelExtent: @Sendable (UnsafeRawBufferPointer) -> (width: Int, height: Int)?
    /// Option keys whose value may name a PNG file (ending `.png`), which the session loads
    /// into `ControllerSettings.images` (NovaStar: what each video input shows).
    public let imageOptions: Set<String>
    /// The UDP port a discovery service of the device answers on (NovaStar 3800), served
    /// next to the controller's own transport; nil: none.
    public let discoveryPort: UInt16?

    public init(name: String, displayName: String, defaultPort: UInt16, defaultStartUniverse: Int, universeRange: ClosedRange<Int>,
                options: [String: String], detect: @escaping @Sendable (UnsafeRawBufferPointer) -> Bool,
                universeOf: @escaping @Sendable (UnsafeRawBufferPointer) -> Int?,
                makeDevice: @escaping @Sendable (ControllerSettings) throws(OptionError) -> DeviceModel,
                makeSender: @escaping @Sendable (SenderSettings) -> FrameSender,
                summarize: @escaping @Sendable (UnsafeRawBufferPointer, Bool) throws(WireError) -> PacketSummary,
                usesMulticast: Bool, carrier: Carrier = .udp, additionalCarriers: Set<Carrier> = [],
                channelExtent: @escaping @Sendable (UnsafeRawBufferPointer) -> Int? = { _ in nil },
                panelExtent: @escaping @Sendable (UnsafeRawBufferPointer) -> (width: Int, height: Int)? = { _ in nil },
                imageOptions: Set<String> = [], discoveryPort: UInt16? = nil) {
        self.name = name; self.displayName = displayName; self.defaultPort = defaultPort
        self.defaultStartUniverse = defaultStartUniverse; self.universeRange = universeRange; self.options = options
        self.detect = detect; self.universeOf = universeOf; self.makeSender = makeSender
        // A controller that shows at most so many frames a second: the same model, rate-limited.
        self.makeDevice = { (settings: ControllerSettings) throws(OptionError) -> DeviceModel in
            let device = try makeDevice(settings)
            guard let rate = settings.frame.maxRate else { return device }
            return FrameRateLimitedDevice(device, maxRate: rate)
        }
        self.summarize = summarize; self.usesMulticast = usesMulticast; self.carrier = carrier
        self.additionalCarriers = additionalCarriers
        self.channelExtent = channelExtent
        self.panelExtent = panelExtent; self.imageOptions = imageOptions; self.discoveryPort = discoveryPort
    }
}

extension ProtocolPlugin {
    /// Whether the protocol's bytes can travel over `c` (its carrier or an additional one).
    public func travels(over c: Carrier) -> Bool { carrier == c || additionalCarriers.contains(c) }
}

/// How a protocol's bytes travel, and so what a model's `receive` is given: one datagram
/// (`udp`), the next bytes of a connection's stream in order (`tcp`, `serial`: the model
/// frames them per source), or one whole Ethernet frame from its destination address
/// (`ethernet`).
public enum Carrier: String, Sendable {
    case udp, tcp, serial, ethernet
}
