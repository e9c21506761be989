import PanelCore
import PanelWire

/// Sends frames as a Colorlight sending card does: each row as B, G, R in packets of at
/// most 497 pixels (split by offset), then the display packet, and the brightness packet
/// when one is set; both twice for firmware 13 and later (`duplicates`).
public struct ColorlightSender: LatchingFrameSender {
    /// The 0x0A brightness sent after the display packet (nil: none).
    public var brightness: ColorlightBrightness?
    /// The display packet's brightness (byte 35 and R, G, B at 38–40).
    public var display: ColorlightDisplay
    public var duplicates: Bool
    public var latchDelay: Timestamp { Timestamp(nanoseconds: 5_000_000) }
    /// One row packet at a time: pixels are swapped from the canvas straight into it.
    private var rowPacket = [UInt8](repeating: 0, count: Colorlight.rowHeaderLength + 3 * Colorlight.maxPixelsPerPacket)
    private var packet: [UInt8] = []

    public init(brightness: ColorlightBrightness? = nil, display: ColorlightDisplay = ColorlightDisplay(), duplicates: Bool = false) {
        self.brightness = brightness; self.display = display; self.duplicates = duplicates
    }

    /// The sender `send` uses: the display packet carries `settings.brightness` (default 255)
    /// and `settings.rgbBrightness` (default 255 each); with `rgbBrightness` the 0x0A packet
    /// carries the same R, G, B.
    public init(settings: SenderSettings) {
        let rgb = settings.rgbBrightness
        self.init(brightness: rgb,
                  display: ColorlightDisplay(brightness: settings.brightness ?? 0xFF, red: rgb?.red ?? 0xFF,
                                             green: rgb?.green ?? 0xFF, blue: rgb?.blue ?? 0xFF))
    }

    public mutating func encode(_ canvas: Canvas, emit: DatagramEmitter) {
        encodeData(canvas, emit: emit)
        encodeLatch(emit: emit)
    }

    public mutating func encodeData(_ canvas: Canvas, emit: DatagramEmitter) {
        let c = canvas.format == .rgb ? canvas : canvas.converted(to: .rgb)
        let rows = min(c.height, Int(UInt16.max))
        let width = min(c.width, Int(UInt16.max))
        guard c.bytes.count == c.width * c.height * 3 else { return }
        c.bytes.withUnsafeBufferPointer { src in
            rowPacket.withUnsafeMutableBytes { out in
                for y in 0..<rows {
                    var offset = 0
                    while offset < width {
                        let n = min(Colorlight.maxPixelsPerPacket, width - offset)
                        let first = (y * c.width + offset) * 3
                        let size = ColorlightEncoder.row(in: out, row: UInt16(y), offset: UInt16(offset)) { dst in
                            // R, G, B on the canvas; B, G, R on the wire.
                            guard dst.count >= 3 * n, first + 3 * n <= src.count, let s = src.baseAddress, let d = dst.baseAddress else { return 0 }
                            Colorlight.swapRedAndBlue(from: UnsafeRawPointer(s + first), to: d, pixels: n)
                            return 3 * n
                        }
                        emit(UnsafeRawBufferPointer(rebasing: out[0..<size]), nil)
                        offset += n
                    }
                }
            }
        }
    }

    public mutating func encodeLatch(emit: DatagramEmitter) {
        let times = duplicates ? 2 : 1
        ColorlightEncoder.display(into: &packet, display)
        for _ in 0..<times { packet.withUnsafeBytes { emit($0, nil) } }
        if let b = brightness {
            ColorlightEncoder.brightness(into: &packet, b)
            for _ in 0..<times { packet.withUnsafeBytes { emit($0, nil) } }
        }
    }

    public mutating func encodeAnnouncements(emit: DatagramEmitter) {}
    public var announcementInterval: Timestamp? { nil }
    public mutating func encodeTermination(_ canvas: Canvas, emit: DatagramEmitter) {}
}

extension ProtocolPlugin {
    /// Colorlight 5A receiving cards on raw Ethernet: PanelSim plays the chain of cards.
    public static let colorlight = ProtocolPlugin(
        name: "colorlight", displayName: "Colorlight 5A", defaultPort: 0, defaultStartUniverse: 0, universeRange: 0...65535,
        options: [
            "firmware": "firmware version the cards report to detect (0...65535; default 12, 13 with firmware13-duplicates)",
            "firmware13-duplicates": "on or off (default): display and brightness packets come twice (firmware 13 and later); the repeat is not a frame",
            "cards": "number of receiving cards in the chain (default 1); without card-rows they share the rows equally",
            "card-rows": "rows of each card, top to bottom, comma-separated (e.g. 64,64); they add up to the panel's height",
        ],
        detect: { ColorlightDecoder.looksLikeColorlight($0) },
        universeOf: { _ in nil },
        makeDevice: { (s: ControllerSettings) throws(OptionError) -> DeviceModel in
            var duplicates = false
            if let d = s.options["firmware13-duplicates"] {
                switch d.lowercased() {
                case "on": duplicates = true
                case "off": duplicates = false
                default: throw OptionError(key: "firmware13-duplicates", "must be on or off, not \"\(d)\"")
                }
            }
            var firmware: UInt16 = duplicates ? 13 : 12
            if let f = s.options["firmware"] {
                guard let v = UInt16(f) else { throw OptionError(key: "firmware", "must be a number 0...65535, not \"\(f)\"") }
                firmware = v
            }
            let height = s.map.height
            var rows: [Int]
            if let text = s.options["card-rows"] {
                let parts = text.split(separator: ",").map { Int($0.trimmingPrefix(" ")) }
                guard !parts.isEmpty, parts.allSatisfy({ ($0 ?? 0) > 0 }) else {
                    throw OptionError(key: "card-rows", "must be positive row counts separated by commas, not \"\(text)\"")
                }
                rows = parts.compactMap { $0 }
                guard rows.reduce(0, { $0 + min($1, 65536) }) == height else {
                    throw OptionError(key: "card-rows", "rows \(text) do not add up to the panel's height \(height)")
                }
            } else {
                rows = [height]
            }
            if let c = s.options["cards"] {
                guard let n = Int(c), n >= 1, n <= height else { throw OptionError(key: "cards", "must be 1...\(height) (the panel's rows), not \"\(c)\"") }
                if s.options["card-rows"] == nil {
                    rows = (0..<n).map { k in height / n + (k < height % n ? 1 : 0) }
                } else if rows.count != n {
                    throw OptionError(key: "cards", "\(n) cards, but card-rows names \(rows.count)")
                }
            }
            return ColorlightReceiver(settings: ColorlightReceiverSettings(name: s.name, width: s.map.width, height: height, frame: s.frame,
                                                                           strict: s.strict, cardRows: rows, firmware: firmware, duplicates: duplicates))
        },
        makeSender: { ColorlightSender(settings: $0) },
        summarize: { (b: UnsafeRawBufferPointer, _: Bool) throws(WireError) -> PacketSummary in
            let p = try ColorlightDecoder.decode(b)
            let violations = p.violations.map(\.rawValue)
            switch p.message {
            case .row: return PacketSummary(kind: .data, violations: violations)
            case .display: return PacketSummary(kind: .sync, violations: violations)
            case .detect: return PacketSummary(kind: .poll, violations: violations)
            case .detectReply: return PacketSummary(kind: .reply, violations: violations)
            case .brightness, .other: return PacketSummary(kind: .other, violations: violations)
            }
        },
        usesMulticast: false, carrier: .ethernet,
        panelExtent: { b in
            guard case .row(let r)? = try? ColorlightDecoder.decode(b).message else { return nil }
            return (r.offset + r.count, r.row + 1)
        })
}
