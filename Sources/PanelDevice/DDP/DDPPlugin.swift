import PanelCore
import PanelWire

/// Sends frames as DDP to destination 1: the panel's bytes in chain order, at most 1440 data
/// bytes (whole pixels) per packet, byte offsets, sequence 1...15 per packet, PUSH on the
/// frame's last packet.
public struct DDPSender: FrameSender {
    public let settings: SenderSettings
    /// The data type sent: the panel format's 8-bit type (0x0B for RGB) or 0x00 ("undefined",
    /// as xLights and FPP send).
    public let dataType: UInt8
    private var sequence: UInt8 = 0
    /// One packet at a time: the chain's bytes are extracted from the canvas straight into it.
    private var packet = [UInt8](repeating: 0, count: DDP.headerLength + DDP.maxDataPerPacket)

    public init(settings: SenderSettings, dataType: UInt8? = nil) {
        self.settings = settings
        self.dataType = dataType ?? DDP.DataType.of(settings.map.format)
    }

    public mutating func encode(_ canvas: Canvas, emit: DatagramEmitter) {
        let map = settings.map, dataType = dataType
        // The panel's bytes, or none when the canvas is not the panel's size (one empty PUSH).
        let total = canvas.bytes.count == map.chainByteCount ? map.chainByteCount : 0
        canvas.bytes.withUnsafeBytes { pixels in
            packet.withUnsafeMutableBytes { out in
                var offset = 0
                repeat {
                    let n = min(DDP.maxDataPerPacket, total - offset)
                    let last = offset + n >= total
                    sequence = sequence >= 15 ? 1 : sequence + 1
                    let header = DDPHeader(flags: DDP.Flag.version1 | (last ? DDP.Flag.push : 0), sequence: sequence,
                                           dataType: dataType, destination: DDP.Destination.display, offset: UInt32(truncatingIfNeeded: offset))
                    let size = DDPEncoder.packet(in: out, header) { map.extract(chainBytes: offset..<(offset + n), from: pixels, to: $0) }
                    emit(UnsafeRawBufferPointer(rebasing: out[0..<size]), nil)
                    offset += n
                } while offset < total
            }
        }
    }

    public mutating func encodeAnnouncements(emit: DatagramEmitter) {}
    public var announcementInterval: Timestamp? { nil }
    public mutating func encodeTermination(_ canvas: Canvas, emit: DatagramEmitter) {}
}

extension ProtocolPlugin {
    /// DDP on UDP 4048: PanelSim plays a display.
    public static let ddp = ProtocolPlugin(
        name: "ddp", displayName: "DDP", defaultPort: DDP.port, defaultStartUniverse: 0, universeRange: 0...65535,
        options: [
            "reply-status": "on (default) or off: answer status (251) and config (250) queries with JSON",
        ],
        detect: { DDPDecoder.looksLikeDDP($0) },
        universeOf: { _ in nil },
        makeDevice: { (s: ControllerSettings) throws(OptionError) -> DeviceModel in
            var reply = true
            if let r = s.options["reply-status"] {
                switch r.lowercased() {
                case "on": reply = true
                case "off": reply = false
                default: throw OptionError(key: "reply-status", "must be on or off, not \"\(r)\"")
                }
            }
            return DDPDisplay(settings: DDPDisplaySettings(name: s.name, map: s.map, frame: s.frame, strict: s.strict,
                                                           replyToQueries: reply, address: s.localAddress))
        },
        makeSender: { DDPSender(settings: $0) },
        summarize: { (b: UnsafeRawBufferPointer, identify: Bool) throws(WireError) -> PacketSummary in
            let p = try DDPDecoder.decode(b)
            let violations = p.violations.ruleIDs.map(\.rawValue)
            let h = p.header
            if h.reply { return PacketSummary(kind: .reply, violations: violations) }
            if h.query { return PacketSummary(kind: .poll, violations: violations) }
            guard h.destination == DDP.Destination.display || h.destination == DDP.Destination.all else {
                return PacketSummary(kind: .other, violations: violations)
            }
            return PacketSummary(kind: p.data.isEmpty && h.push ? .sync : .data, sequence: h.sequence == 0 ? nil : h.sequence,
                                 sequenceRule: .ddp, violations: violations)
        },
        usesMulticast: false,
        channelExtent: { b in
            guard let p = try? DDPDecoder.decode(b), !p.header.query, !p.header.reply,
                  p.header.destination == DDP.Destination.display || p.header.destination == DDP.Destination.all else { return nil }
            let (end, overflow) = Int(p.header.offset).addingReportingOverflow(p.data.count)
            return overflow ? nil : end
        })
}
