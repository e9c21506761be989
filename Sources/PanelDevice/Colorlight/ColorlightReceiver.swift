import PanelCore
import PanelWire

/// Settings of an emulated chain of Colorlight receiving cards.
public struct ColorlightReceiverSettings: Sendable {
    public var name: String
    public var width: Int
    public var height: Int
    public var frame: FrameSettings
    public var strict: Bool
    /// Rows each card owns, top to bottom (they add up to the panel's height).
    public var cardRows: [Int]
    /// The firmware version the cards report when detected.
    public var firmware: UInt16
    /// Firmware 13 and later: display and brightness packets come twice; the second is a duplicate.
    public var duplicates: Bool

    public init(name: String, width: Int, height: Int, frame: FrameSettings = FrameSettings(), strict: Bool = false,
                cardRows: [Int]? = nil, firmware: UInt16 = 12, duplicates: Bool = false) {
        self.name = name; self.width = width; self.height = height; self.frame = frame; self.strict = strict
        self.cardRows = cardRows ?? [height]; self.firmware = firmware; self.duplicates = duplicates
    }
}

/// An emulated chain of Colorlight 5A receiving cards behind one sending card.
///
/// - Row packets (0x55) land in the canvas at their row and first pixel offset (B, G, R on
///   the wire; the canvas is RGB whatever the panel's pixel setting). Rows past the panel
///   (`row-beyond-panel`) and pixels past a row's end (`pixels-beyond-row`) are counted and
///   dropped, with one finding each; the panel's mapping settings do not apply (rows are
///   addressed directly).
/// - The display packet (0x01) latches a frame (`synchronized`). Rows followed by more than
///   the frame timeout of silence without one give a torn frame.
/// - Brightness, from the display packet (byte 35, R/G/B 38–40) and from 0x0A packets, is
///   counted, reported as a `brightness` finding whenever it changes, and carried by every
///   frame (`brightness`, `brightness-red`, `-green`, `-blue` in frames.jsonl): a display
///   packet's values apply to the frame it latches, a 0x0A packet's to the frames after it.
/// - With `duplicates` (firmware 13 and later), a display or brightness packet repeated
///   with no row between is the expected duplicate: counted (`display-duplicate`,
///   `brightness-duplicate`), never a second frame; a display that was not repeated before
///   the next rows is counted as `display-not-duplicated`.
/// - Detect (0x07) is answered by every card, in chain order, with a 0x0805 reply frame:
///   destination the requester's source address, source 11:22:33:44:55:66 (the address the
///   cards listen on), model 0x04 (5A), the firmware, the panel's width and the card's rows.
/// - Other packet types are counted as `type.0xNN`.
public final class ColorlightReceiver: DeviceModel {
    public var name: String { settings.name }
    public let settings: ColorlightReceiverSettings
    public var counters: DeviceCounters {
        var c = records.counters
        if rowPackets > 0 { c.count("row-packet", rowPackets) }
        return c
    }
    // The model is confined to one thread and its methods never re-enter one another, so the
    // runtime's exclusivity checks on the properties every packet touches are switched off for them.
    /// Row packets, counted as an integer per packet and reported in `counters`.
    @exclusivity(unchecked) private var rowPackets = 0
    public var findings: [DeviceFinding] { records.findings.items }
    public var malformedPackets: [MalformedPacket] { records.malformed.items }

    /// What the panel shows now (the rows received so far).
    @exclusivity(unchecked) public private(set) var canvas: Canvas
    /// The last brightness received: the display packet's global value and R, G, B.
    public private(set) var brightness: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF]

    @exclusivity(unchecked) private var records = DeviceRecords()
    /// Sources, timing and numbering of the frame being written.
    @exclusivity(unchecked) private var latch = FrameLatch()
    /// Display (latch) and brightness packets since the last row, for duplicate handling.
    @exclusivity(unchecked) private var displaysSinceRows = 0
    @exclusivity(unchecked) private var brightnessSinceRows = 0
    private var reportedBeyondPanel = false
    private var reportedBeyondRow = false
    private var replyBuffer: [UInt8] = []

    public init(settings: ColorlightReceiverSettings) {
        self.settings = settings
        canvas = Canvas(width: settings.width, height: settings.height, format: .rgb)
    }

    /// The timeout for rows never latched: the configured one, else twice the interval
    /// between display packets, at least 100 ms.
    public var timeout: Timestamp {
        latch.timeout(configured: settings.frame.timeout)
    }

    public func receive(_ datagram: UnsafeRawBufferPointer, from source: PacketSource, at time: Timestamp) {
        guard let packet = records.decode(datagram, from: source, at: time, ColorlightDecoder.decode) else { return }
        if !packet.violations.isEmpty, records.violations(packet.violations, strict: settings.strict) { return }
        switch packet.message {
        case .row(let r): row(r, from: source, at: time)
        case .display(let d): display(d, at: time)
        case .brightness(let b):
            records.counters.count("brightness-packet")
            brightnessSinceRows += 1
            if settings.duplicates, brightnessSinceRows % 2 == 0 {
                records.counters.count("brightness-duplicate")
                return
            }
            setBrightness([brightness[0], b.red, b.green, b.blue], at: time)
        case .detect: answerDetect(datagram, at: time)
        case .detectReply: records.counters.count("detect-reply-ignored")
        case .other(let type): records.counters.count("type." + Text.hexByte(type))
        }
    }

    private func row(_ r: ColorlightRow, from source: PacketSource, at now: Timestamp) {
        rowPackets += 1
        if settings.duplicates, displaysSinceRows == 1 { records.counters.count("display-not-duplicated") }
        displaysSinceRows = 0
        brightnessSinceRows = 0
        guard r.row < canvas.height else {
            records.counters.count("row-beyond-panel")
            if !reportedBeyondPanel {
                reportedBeyondPanel = true
                records.find("row-beyond-panel", universe: nil, at: now, "\(source) sends row \(r.row), beyond the panel's \(canvas.height) rows: dropped")
            }
            return
        }
        // Offsets and counts are at most 65535: no overflow in Int.
        let end = r.offset + r.count
        let inside = min(end, canvas.width)
        if end > canvas.width {
            records.counters.count("pixels-beyond-row", end - max(r.offset, canvas.width))
            if !reportedBeyondRow {
                reportedBeyondRow = true
                records.find("pixels-beyond-row", universe: nil, at: now, "\(source) sends pixels \(r.offset)..<\(end) of row \(r.row), past the panel's \(canvas.width) pixels: the excess is dropped")
            }
        }
        if r.offset < inside {
            let base = (r.row * canvas.width + r.offset) * 3
            let n = inside - r.offset
            canvas.bytes.withUnsafeMutableBytes { dst in
                guard base + 3 * n <= dst.count, 3 * n <= r.pixels.count, let d = dst.baseAddress, let s = r.pixels.baseAddress else { return }
                Colorlight.swapRedAndBlue(from: s, to: d + base, pixels: n)
            }
        }
        latch.arrived(from: source, at: now)
    }

    private func display(_ d: ColorlightDisplay, at now: Timestamp) {
        records.counters.count("display-packet")
        if d.variant != 0x07 { records.counters.count("display-variant." + Text.hexByte(d.variant)) }
        displaysSinceRows += 1
        if settings.duplicates, displaysSinceRows % 2 == 0 {
            records.counters.count("display-duplicate")
            return
        }
        setBrightness([d.brightness, d.red, d.green, d.blue], at: now)
        guard settings.frame.sync == .auto else {
            records.counters.count("display-ignored-by-config")
            return
        }
        latch.latched(at: now)
        emit(at: now, torn: false, synchronized: true)
    }

    private func setBrightness(_ value: [UInt8], at now: Timestamp) {
        guard value != brightness else { return }
        brightness = value
        records.find("brightness", universe: nil, at: now, "brightness \(value[0]), R \(value[1]) G \(value[2]) B \(value[3])")
    }

    private func emit(at now: Timestamp, torn: Bool, synchronized: Bool) {
        records.counters.frames += 1
        if torn { records.counters.torn += 1 }
        var event = latch.frame(canvas, at: now, torn: torn, synchronized: synchronized)
        event.extras = ["brightness": Int(brightness[0]), "brightness-red": Int(brightness[1]),
                        "brightness-green": Int(brightness[2]), "brightness-blue": Int(brightness[3])]
        records.output.frames.append(event)
    }

    public func tick(at now: Timestamp) {
        guard latch.expired(at: now, configured: settings.frame.timeout) else { return }
        records.counters.count("no-display-timeout")
        emit(at: now, torn: true, synchronized: false)
    }

    /// Ends the session: rows never latched are emitted as a torn frame.
    public func finish(at now: Timestamp) {
        guard latch.isPending else { return }
        emit(at: now, torn: true, synchronized: false)
    }

    public func takeOutput() -> DeviceOutput { records.take() }

    private func answerDetect(_ request: UnsafeRawBufferPointer, at now: Timestamp) {
        records.counters.count("detect")
        // The decoder has read byte 12, so the source address (6–11) is present.
        let requester = Array(request[6..<12])
        let width = UInt16(clamping: settings.width)
        for rows in settings.cardRows {
            ColorlightEncoder.detectReply(into: &replyBuffer, ColorlightDetectReply(firmware: settings.firmware, width: width, height: UInt16(clamping: rows)),
                                          destination: requester, source: Colorlight.receiverMAC)
            records.output.replies.append(DeviceReply(bytes: replyBuffer, destination: PacketSource(address: MACText.format(requester), port: 0)))
            records.counters.count("detect-reply-sent")
        }
    }
}

/// MAC addresses as text ("22:22:33:44:55:66").
enum MACText {
    static func format(_ octets: [UInt8]) -> String {
        octets.map { Text.hexByte($0).dropFirst(2).lowercased() }.joined(separator: ":")
    }
}
