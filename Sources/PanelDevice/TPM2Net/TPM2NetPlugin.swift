import PanelCore
import PanelWire

/// Sends frames as TPM2.net data packets: the panel's bytes in chain order, cut into equal
/// parts of whole pixels (the last may be shorter) of at most 1490 data bytes, numbered
/// 1...count. A frame needs at most 255 packets; a larger panel gets larger packets (up to
/// 65535 bytes, past which the rest of the panel is not sent).
public struct TPM2NetSender: FrameSender {
    public let settings: SenderSettings
    /// One packet at a time: the chain's bytes are extracted from the canvas straight into it.
    private var packet: [UInt8]

    public init(settings: SenderSettings) {
        self.settings = settings
        let map = settings.map
        let (part, _) = TPM2NetSender.split(bytes: map.chainByteCount, bytesPerPixel: map.format.bytesPerPixel)
        packet = [UInt8](repeating: 0, count: TPM2Net.headerLength + max(part, TPM2Net.maxDataPerPacket) + 1)
    }

    /// The data bytes of each packet but the last, and the packet count, for a frame of `bytes`.
    public static func split(bytes: Int, bytesPerPixel bpp: Int) -> (part: Int, count: Int) {
        let pixels = (bytes + bpp - 1) / bpp
        let perPacket = max(1, TPM2Net.maxDataPerPacket / bpp)
        let count = max(1, min(255, (pixels + perPacket - 1) / perPacket))
        let part = min((Int(UInt16.max) / bpp) * bpp, ((pixels + count - 1) / count) * bpp)
        return (part, count)
    }

    public mutating func encode(_ canvas: Canvas, emit: DatagramEmitter) {
        let map = settings.map
        // The panel's bytes, or none when the canvas is not the panel's size (one empty packet).
        let total = canvas.bytes.count == map.chainByteCount ? map.chainByteCount : 0
        let (part, count) = TPM2NetSender.split(bytes: total, bytesPerPixel: map.format.bytesPerPixel)
        canvas.bytes.withUnsafeBytes { pixels in
            packet.withUnsafeMutableBytes { out in
                for i in 0..<count {
                    let lo = min(total, i * part)
                    let hi = min(total, lo + part)
                    let size = TPM2NetEncoder.packet(in: out, number: UInt8(i + 1), count: UInt8(count)) { dst in
                        hi > lo ? map.extract(chainBytes: lo..<hi, from: pixels, to: dst) : 0
                    }
                    emit(UnsafeRawBufferPointer(rebasing: out[0..<size]), nil)
                }
            }
        }
    }

    public mutating func encodeAnnouncements(emit: DatagramEmitter) {}
    public var announcementInterval: Timestamp? { nil }
    public mutating func encodeTermination(_ canvas: Canvas, emit: DatagramEmitter) {}
}

extension ProtocolPlugin {
    /// TPM2.net on UDP 65506: PanelSim plays a receiver.
    public static let tpm2net = ProtocolPlugin(
        name: "tpm2net", displayName: "TPM2.net", defaultPort: TPM2Net.port, defaultStartUniverse: 0, universeRange: 0...65535,
        options: [
            "ping-reply": "wled (default: 0xAC to the pinging host's UDP port 65442), source (to the pinging port) or off",
        ],
        detect: { TPM2NetDecoder.looksLikeTPM2Net($0) },
        universeOf: { _ in nil },
        makeDevice: { (s: ControllerSettings) throws(OptionError) -> DeviceModel in
            var ping = TPM2NetReceiverSettings.PingReply.wled
            if let r = s.options["ping-reply"] {
                guard let parsed = TPM2NetReceiverSettings.PingReply(rawValue: r.lowercased()) else {
                    throw OptionError(key: "ping-reply", "must be wled, source or off, not \"\(r)\"")
                }
                ping = parsed
            }
            return TPM2NetReceiver(settings: TPM2NetReceiverSettings(name: s.name, map: s.map, frame: s.frame, strict: s.strict, pingReply: ping))
        },
        makeSender: { TPM2NetSender(settings: $0) },
        summarize: { (b: UnsafeRawBufferPointer, identify: Bool) throws(WireError) -> PacketSummary in
            let p = try TPM2NetDecoder.decode(b)
            let violations = p.violations.ruleIDs.map(\.rawValue)
            switch p.type {
            case .data: return PacketSummary(kind: .data, violations: violations)
            case .ping: return PacketSummary(kind: .poll, violations: violations)
            case .command: return PacketSummary(kind: .other, violations: violations)
            }
        },
        usesMulticast: false,
        channelExtent: { b in
            // Packets of one frame are equally long but the last: count × this size bounds the frame.
            guard let p = try? TPM2NetDecoder.decode(b), p.type == .data else { return nil }
            return Int(p.packetCount) * p.data.count
        })
}
