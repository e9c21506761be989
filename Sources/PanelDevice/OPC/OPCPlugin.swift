import PanelCore
import PanelWire

/// Sends each frame as one OPC set-pixels message on channel 0, pixels in chain order.
/// A message holds at most 21,845 RGB pixels (65,535 bytes); pixels past that are not sent.
public struct OPCSender: FrameSender {
    public let settings: SenderSettings
    private var pixels: [UInt8] = []
    private var message: [UInt8] = []
    /// Canvas byte offset of every pixel, in chain order.
    private let offsets: [Int]
    /// The message's pixels are the canvas's first bytes as they are (RGB in natural order, rows
    /// left to right from the top): one block copy.
    private let contiguous: Bool

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
        contiguous = map.format == .rgb && map.order.wireToCanvas == [0, 1, 2]
            && offsets.indices.allSatisfy { offsets[$0] == $0 * 3 }
        pixels.reserveCapacity(count * 3)
        message.reserveCapacity(OPC.headerSize + count * 3)
    }

    public mutating func encode(_ canvas: Canvas, emit: DatagramEmitter) {
        pixels.removeAll(keepingCapacity: true)
        let map = settings.map
        guard canvas.bytes.count == map.width * map.height * map.format.bytesPerPixel else { return }
        if contiguous {
            pixels.append(contentsOf: canvas.bytes[0..<(offsets.count * 3)])
        } else {
            let wire = map.order.wireToCanvas
            for base in offsets {
                switch map.format {
                case .rgb, .rgbw:
                    pixels.append(canvas.bytes[base + wire[0]])
                    pixels.append(canvas.bytes[base + wire[1]])
                    pixels.append(canvas.bytes[base + wire[2]])
                case .gray:
                    let v = canvas.bytes[base]
                    pixels.append(v); pixels.append(v); pixels.append(v)
                }
            }
        }
        pixels.withUnsafeBytes { OPCEncoder.setPixels(into: &message, channel: 0, pixels: $0) }
        message.withUnsafeBytes { emit($0, nil) }
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
