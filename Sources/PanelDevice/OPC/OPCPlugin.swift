import PanelCore
import PanelWire

/// Sends each frame as one OPC set-pixels message on channel 0, pixels in chain order.
/// A message holds at most 21,845 RGB pixels (65,535 bytes); pixels past that are not sent.
public struct OPCSender: FrameSender {
    public let settings: SenderSettings
    /// The message: pixels are written from the canvas straight into it.
    private var message: [UInt8]
    /// Canvas byte offset of every pixel, in chain order.
    private let offsets: [Int]

    public init(settings: SenderSettings) {
        self.settings = settings
        let map = settings.map
        let bpp = map.format.bytesPerPixel
        let count = min(map.width * map.height, 0xFFFF / 3)
        let offsets = (0..<count).map { chain in
            guard let p = map.position(chain: chain) else { return 0 }
            return (p.y * map.width + p.x) * bpp
        }
        self.offsets = offsets
        message = [UInt8](repeating: 0, count: OPC.headerSize + count * 3)
    }

    public mutating func encode(_ canvas: Canvas, emit: DatagramEmitter) {
        let map = settings.map, offsets = offsets
        guard canvas.bytes.count == map.chainByteCount else { return }
        canvas.bytes.withUnsafeBytes { src in
            message.withUnsafeMutableBytes { out in
                let n = OPCEncoder.message(in: out, channel: 0, command: OPC.Command.setPixels) { dst in
                    // RGB: the pixels are the chain's bytes. Otherwise R, G, B of each (W dropped, gray repeated).
                    if map.format == .rgb { return map.extract(chainBytes: 0..<(offsets.count * 3), from: src, to: dst) }
                    guard dst.count >= offsets.count * 3 else { return 0 }
                    let wire = map.order.wireToCanvas
                    var o = 0
                    for base in offsets {
                        switch map.format {
                        case .rgb, .rgbw:
                            dst[o] = src[base + wire[0]]; dst[o + 1] = src[base + wire[1]]; dst[o + 2] = src[base + wire[2]]
                        case .gray:
                            let v = src[base]
                            dst[o] = v; dst[o + 1] = v; dst[o + 2] = v
                        }
                        o += 3
                    }
                    return o
                }
                emit(UnsafeRawBufferPointer(rebasing: out[0..<n]), nil)
            }
        }
    }

    public mutating func encodeAnnouncements(emit: DatagramEmitter) {}
    public var announcementInterval: Timestamp? { nil }
    public mutating func encodeTermination(_ canvas: Canvas, emit: DatagramEmitter) {}
}

extension ProtocolPlugin {
    /// Open Pixel Control on TCP 7890: PanelSim plays the server (a Fadecandy, an LED driver).
    public static let openPixelControl = ProtocolPlugin(
        name: "opc", displayName: "Open Pixel Control", defaultPort: OPC.port, defaultStartUniverse: 0, universeRange: 0...65535,
        options: ["channel": "OPC channel this controller shows, 1-255; 0 (default) accepts every channel"],
        // OPC has no magic bytes: only its port (or --decode-as) identifies it.
        detect: { _ in false },
        universeOf: { _ in nil },
        makeDevice: { (s: ControllerSettings) throws(OptionError) -> DeviceModel in
            var channel: UInt8 = 0
            if let c = s.options["channel"] {
                guard let parsed = UInt8(c) else { throw OptionError(key: "channel", "must be 0...255, not \"\(c)\"") }
                channel = parsed
            }
            return OPCServer(name: s.name, map: s.map, channel: channel, strict: s.strict)
        },
        makeSender: { OPCSender(settings: $0) },
        summarize: { (b: UnsafeRawBufferPointer, _: Bool) throws(WireError) -> PacketSummary in
            let m = try OPCDecoder.decode(b)
            let partial = m.command == OPC.Command.setPixels && m.data.count % 3 != 0
            return PacketSummary(kind: m.command == OPC.Command.setPixels ? .data : .other,
                                 violations: partial ? [OPCServer.partialPixel.rawValue] : [])
        },
        usesMulticast: false, carrier: .tcp)
}
