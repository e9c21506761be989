import PanelCore
import PanelWire

/// Where a packet came from (or a reply goes to) on the network.
public struct PacketSource: Hashable, Sendable, CustomStringConvertible {
    public var address: String
    public var port: UInt16
    public init(address: String, port: UInt16) { self.address = address; self.port = port }
    public var description: String { address.contains(":") ? "[\(address)]:\(port)" : "\(address):\(port)" }
}

/// A sender that contributed to a frame, as recorded in frames.jsonl.
public struct FrameSource: Hashable, Sendable, Codable, Comparable {
    public var address: String
    public var port: UInt16
    public var name: String?
    public var cid: String?
    public init(address: String, port: UInt16, name: String? = nil, cid: String? = nil) {
        self.address = address; self.port = port; self.name = name; self.cid = cid
    }
    public init(_ s: PacketSource) { self.init(address: s.address, port: s.port) }
    public static func < (a: FrameSource, b: FrameSource) -> Bool { (a.address, a.port) < (b.address, b.port) }
}

/// What the panel showed at one moment: emitted by a device model per the frame rule.
public struct FrameEvent: Sendable {
    /// 1-based, counting every frame event of this controller.
    public var index: Int
    public var time: Timestamp
    public var canvas: Canvas
    /// Protocol universe numbers (Art-Net Port-Address, sACN universe) that made the frame.
    public var universes: [Int]
    public var sources: [FrameSource]
    /// The frame was incomplete when its timeout ran out.
    public var torn: Bool
    /// The frame was emitted on the sender's sync (ArtSync, E1.31 sync, DDP PUSH …).
    public var synchronized: Bool
    /// Protocol facts recorded with the frame in frames.jsonl (NovaStar: brightness, kill …).
    public var extras: [String: Int] = [:]

    public init(index: Int, time: Timestamp, canvas: Canvas, universes: [Int], sources: [FrameSource], torn: Bool, synchronized: Bool) {
        self.index = index; self.time = time; self.canvas = canvas; self.universes = universes
        self.sources = sources; self.torn = torn; self.synchronized = synchronized
    }
}

/// A datagram a device model wants sent (e.g. ArtPollReply to a poller).
public struct DeviceReply: Sendable {
    public var bytes: [UInt8]
    public var destination: PacketSource
}

/// Counters every device model keeps; written to recording.json and reports.
public struct DeviceCounters: Sendable, Codable, Equatable {
    public var packets = 0
    public var bytes = 0
    public var frames = 0
    public var torn = 0
    /// Packets rejected by the decoder, by reason ("too-short", …).
    public var malformed: [String: Int] = [:]
    /// Spec rules broken by packets that still decoded, by rule ID.
    public var violations: [String: Int] = [:]
    /// Everything else worth counting, by name ("sequence-gap", "third-source-ignored" …).
    public var events: [String: Int] = [:]

    public init() {}
    public mutating func count(_ event: String, _ n: Int = 1) { events[event, default: 0] += n }
    public mutating func countMalformed(_ reason: String) { malformed[reason, default: 0] += 1 }
    /// Counts `n` packets that each broke the rules `ids`.
    public mutating func countViolations(_ ids: [RuleID], times n: Int = 1) {
        guard n > 0 else { return }
        for id in ids { violations[id.rawValue, default: 0] += n }
    }
    public subscript(event: String) -> Int { events[event] ?? 0 }
}

/// A malformed packet kept for reports: which one, why, where.
public struct MalformedPacket: Sendable, Codable, Equatable {
    /// Seconds since the session's first packet.
    public var time: Double
    public var source: String
    public var reason: String
    public var offset: Int
    public var detail: String
}

/// A noteworthy situation for a technician: two senders on one universe, lost sync …
public struct DeviceFinding: Sendable, Codable, Equatable {
    public var time: Double
    public var kind: String
    public var universe: Int?
    public var message: String
}

/// An emulated controller: a sans-I/O state machine. Callers pass datagrams and the time;
/// the model updates its state and collects frame events and replies in its outbox.
/// It never reads a clock, opens a socket or touches a file.
public protocol DeviceModel: AnyObject {
    /// The controller's name (folder under the record directory).
    var name: String { get }
    /// Feed one datagram received at `time` (for a stream carrier: the next bytes of `source`'s stream).
    func receive(_ datagram: UnsafeRawBufferPointer, from source: PacketSource, at time: Timestamp)
    /// A stream source (TCP connection, serial link) ended (default: nothing to do).
    func streamEnded(from source: PacketSource, at time: Timestamp)
    /// Let time pass: timeouts (torn frames, lost sources, sync loss) are checked here.
    func tick(at time: Timestamp)
    /// The session ends: a pending incomplete frame is emitted torn.
    func finish(at time: Timestamp)
    /// Frame events and replies produced since the last call.
    func takeOutput() -> DeviceOutput
    var counters: DeviceCounters { get }
    /// Bounded lists for reports.
    var findings: [DeviceFinding] { get }
    var malformedPackets: [MalformedPacket] { get }
    /// Universes (protocol numbering) this model listens to, for dispatch on a shared port.
    var universes: [Int] { get }
    /// Multicast groups to join whenever the controller has an interface, even when data
    /// arrives unicast (e.g. sACN sync addresses and universe discovery).
    var multicastGroups: Set<String> { get }
    /// Multicast groups that carry data, joined when the controller receives multicast data.
    var dataMulticastGroups: Set<String> { get }
    /// Changes whenever `multicastGroups` changes, so transports can check cheaply.
    var multicastGeneration: Int { get }
    /// Changes whenever `universes` changes (e.g. a port re-addressed), so dispatch can follow.
    var universesGeneration: Int { get }
    /// Port numbers the controller reports to pollers (Art-Net BindIndexes), so controllers
    /// sharing an address can number theirs after it.
    var reportedPortCount: Int { get }
    /// Stream clients (TCP connections) the device lets in at once; nil: no limit of its own.
    var streamClientLimit: Int? { get }
    /// The answer to a datagram on the plugin's `discoveryPort` (nil: none, e.g. not a
    /// discovery request). Counted by the model like any request.
    func answerDiscovery(_ datagram: UnsafeRawBufferPointer, from source: PacketSource, at time: Timestamp) -> [UInt8]?
    /// The state that outlives a restart (`serve --state FILE`): named blocks of bytes. Empty
    /// for devices that keep none.
    var persistentState: [String: [UInt8]] { get }
    /// Restores what `persistentState` gave; throws naming the block that does not fit.
    func restoreState(_ state: [String: [UInt8]]) throws(StateError)
}

extension DeviceModel {
    // Defaults for models without universes or multicast (DDP, OPC, TPM2, Enttec …).
    public var universes: [Int] { [] }
    public var multicastGroups: Set<String> { [] }
    public var dataMulticastGroups: Set<String> { [] }
    public var multicastGeneration: Int { 0 }
    public func streamEnded(from source: PacketSource, at time: Timestamp) {}
    public var universesGeneration: Int { 0 }
    public var reportedPortCount: Int { 0 }
    public var streamClientLimit: Int? { nil }
    public func answerDiscovery(_ datagram: UnsafeRawBufferPointer, from source: PacketSource, at time: Timestamp) -> [UInt8]? { nil }
    public var persistentState: [String: [UInt8]] { [:] }
    public func restoreState(_ state: [String: [UInt8]]) throws(StateError) {}
}

/// A block of saved device state that does not fit the device (`serve --state FILE`).
public struct StateError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The block's name, as in `DeviceModel.persistentState`.
    public var block: String
    public var message: String
    public init(block: String, _ message: String) { self.block = block; self.message = message }
    public var description: String { "\(block): \(message)" }
}

/// What a model produced: frames to record and datagrams to send.
public struct DeviceOutput: Sendable {
    public var frames: [FrameEvent] = []
    public var replies: [DeviceReply] = []
    public init() {}
    public var isEmpty: Bool { frames.isEmpty && replies.isEmpty }
}

/// Keeps at most `limit` items, counting the ones dropped: report lists stay bounded.
public struct BoundedLog<Element: Sendable>: Sendable {
    public private(set) var items: [Element] = []
    public private(set) var dropped = 0
    public let limit: Int
    public init(limit: Int) { self.limit = limit }
    public mutating func append(_ e: Element) {
        if items.count < limit { items.append(e) } else { dropped += 1 }
    }
}
