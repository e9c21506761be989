import PanelCore
import PanelWire

/// When a TPM2 receiver answers with 0xAC.
public enum TPM2AckProfile: String, Sendable, CaseIterable {
    /// hyperion.ng's firmware: after every packet.
    case everyPacket = "every-packet"
    /// WLED: only to a 0xAA ping.
    case pingOnly = "ping-only"
}

/// Settings of an emulated TPM2 serial receiver.
public struct TPM2ReceiverSettings: Sendable {
    public var name: String
    public var map: ChannelMap
    public var ack: TPM2AckProfile
    public init(name: String, map: ChannelMap, ack: TPM2AckProfile = .pingOnly) { self.name = name; self.map = map; self.ack = ack }
}

/// A TPM2 receiver on a serial line: each 0xDA data packet carries the pixels in chain
/// order and is one frame; 0xC0 commands are counted; acknowledgements follow the profile.
public final class TPM2Receiver: DeviceModel {
    public let settings: TPM2ReceiverSettings
    public var name: String { settings.name }
    // The model is confined to one thread and its methods never re-enter one another, so the
    // runtime's exclusivity checks on the properties every packet touches are switched off for them.
    @exclusivity(unchecked) private var records = DeviceRecords(reusesOutbox: true)
    /// The sources of the latest frame event, reused while the same source sends.
    @exclusivity(unchecked) private var frameSources: [FrameSource] = []
    /// A framer per line or client (at most TPM2Receiver.maxSources).
    @exclusivity(unchecked) private var framers = StreamFramers<TPM2SerialFramer>(limit: maxSources)
    @exclusivity(unchecked) private var canvas: Canvas
    @exclusivity(unchecked) private var frameIndex = 0
    static let maxSources = 16
    private static let ackBytes: [UInt8] = [TPM2Serial.ack]

    public init(settings: TPM2ReceiverSettings) {
        self.settings = settings
        canvas = Canvas(width: settings.map.width, height: settings.map.height, format: settings.map.format)
    }

    public var counters: DeviceCounters { framers.adding(to: records.counters) }
    public var findings: [DeviceFinding] { records.findings.items }
    public var malformedPackets: [MalformedPacket] { records.malformed.items }

    public func receive(_ bytes: UnsafeRawBufferPointer, from source: PacketSource, at time: Timestamp) {
        records.recycle()
        framers.push(source) { framer, key in
            framer.push(bytes, packet: { handle($0, from: key, at: time) }, dropped: { records.reject($0, from: key, at: time) })
        }
    }

    private func handle(_ p: TPM2SerialPacket, from source: PacketSource, at time: Timestamp) {
        records.counters.bytes += 5  // start, type, size, end
        guard let data = records.decode(p.data, from: source, at: time, { (d) throws(WireError) in d }) else { return }
        switch p.type {
        case .data:
            settings.map.apply(chainData: data, to: &canvas)
            if data.count > canvas.bytes.count { records.counters.count("data-beyond-panel") }
            frameIndex += 1
            records.counters.frames += 1
            let s = FrameSource(source)
            if frameSources.count != 1 || frameSources[0] != s { frameSources = [s] }
            records.output.frames.append(FrameEvent(index: frameIndex, time: time, canvas: canvas, universes: [],
                                                    sources: frameSources, torn: false, synchronized: false))
        case .command: records.counters.count("commands")
        case .ping: records.counters.count("pings")
        }
        if p.type == .ping || settings.ack == .everyPacket {
            records.output.replies.append(DeviceReply(bytes: Self.ackBytes, destination: source))
            records.counters.count("acks")
        }
    }

    public func streamEnded(from source: PacketSource, at time: Timestamp) {
        framers.end(source)
    }

    public func tick(at time: Timestamp) {}
    public func finish(at time: Timestamp) {}
    public func takeOutput() -> DeviceOutput { records.take() }
}

/// Sends each frame as one 0xDA packet holding the pixels in chain order (at most 65535
/// bytes: a larger panel's tail is left out).
public struct TPM2SerialSender: FrameSender {
    public let settings: SenderSettings
    /// The packet: the chain's bytes are extracted from the canvas straight into it.
    private var packet: [UInt8]

    public init(settings: SenderSettings) {
        self.settings = settings
        packet = [UInt8](repeating: 0, count: 5 + min(Int(UInt16.max), settings.map.chainByteCount))
    }

    public mutating func encode(_ canvas: Canvas, emit: DatagramEmitter) {
        let map = settings.map
        canvas.bytes.withUnsafeBytes { pixels in
            packet.withUnsafeMutableBytes { out in
                // The packet carries at most 65535 bytes: the rest of the panel is not read.
                let n = TPM2Serial.packet(in: out, type: .data) { map.extract(chainBytes: 0..<Int(UInt16.max), from: pixels, to: $0) }
                emit(UnsafeRawBufferPointer(rebasing: out[0..<n]), nil)
            }
        }
    }

    public mutating func encodeAnnouncements(emit: DatagramEmitter) {}
    public var announcementInterval: Timestamp? { nil }
    public mutating func encodeTermination(_ canvas: Canvas, emit: DatagramEmitter) {}
}

extension ProtocolPlugin {
    /// TPM2 on a serial line (PTY or tty): PanelSim plays the receiver.
    public static let tpm2 = ProtocolPlugin(
        name: "tpm2", displayName: "TPM2 (serial)", defaultPort: 0, defaultStartUniverse: 0, universeRange: 0...65535,
        options: ["ack": "every-packet (hyperion.ng: 0xAC after each packet) or ping-only (WLED, default: only a 0xAA ping)"],
        detect: { b in b.count >= 2 && b[0] == TPM2Serial.start && TPM2Serial.PacketType(rawValue: b[1]) != nil },
        universeOf: { _ in nil },
        makeDevice: { (s: ControllerSettings) throws(OptionError) -> DeviceModel in
            var ack = TPM2AckProfile.pingOnly
            if let a = s.options["ack"] {
                guard let parsed = TPM2AckProfile(rawValue: a) else { throw OptionError(key: "ack", "must be every-packet or ping-only, not \"\(a)\"") }
                ack = parsed
            }
            return TPM2Receiver(settings: TPM2ReceiverSettings(name: s.name, map: s.map, ack: ack))
        },
        makeSender: { TPM2SerialSender(settings: $0) },
        summarize: { (b: UnsafeRawBufferPointer, _: Bool) throws(WireError) -> PacketSummary in
            guard b.count >= 2, b[0] == TPM2Serial.start else { return PacketSummary(kind: .other) }
            switch TPM2Serial.PacketType(rawValue: b[1]) {
            case .data: return PacketSummary(kind: .data)
            case .ping: return PacketSummary(kind: .poll)
            default: return PacketSummary(kind: .other)
            }
        },
        usesMulticast: false, carrier: .serial)
}
