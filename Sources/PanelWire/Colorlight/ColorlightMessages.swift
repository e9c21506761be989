import CPixelKernels

/// Colorlight 5A receiving cards: raw Ethernet frames without IP, read from the destination
/// address. Byte 12 (where an EtherType would be) is the packet type; every offset below
/// counts from the start of the frame.
///
/// - 0x55 row data: 13–14 row, 15–16 first pixel offset, 17–18 pixel count (big-endian),
///   19–20 `08 88`, then the pixels as B, G, R; at most 497 pixels per packet.
/// - 0x01 display (latch): `01 07` at 12–13 (0x00 and 0x04 variants seen at 13), 112 bytes;
///   brightness at 35, 0x05 at 36, R, G, B brightness at 38–40.
/// - 0x0A brightness: `0A`, R, G, B, `FF`, zeros; 77 bytes.
/// - 0x07 detect (`07 00`, zeros) answered by 0x0805: byte 14 model (0x04 for a 5A),
///   15–16 firmware, 34–35 width, 36–37 height (big-endian).
public enum Colorlight {
    /// Where the sending card sends: every receiving card listens to it.
    public static let receiverMAC: [UInt8] = [0x11, 0x22, 0x33, 0x44, 0x55, 0x66]
    /// The sending card's own address.
    public static let senderMAC: [UInt8] = [0x22, 0x22, 0x33, 0x44, 0x55, 0x66]
    /// Pixels one row packet carries at most.
    public static let maxPixelsPerPacket = 497

    /// Canvas pixels to wire pixels and back: R, G, B ↔ B, G, R.
    private static let wireOrder: panelsim_pixel_copy = {
        var copy = panelsim_pixel_copy()
        let order: [UInt8] = [2, 1, 0]
        _ = panelsim_pixel_copy_prepare(&copy, 3, order, 0)
        return copy
    }()

    /// Copies `pixels` 3-byte pixels from `source` to `destination`, reversing the order of
    /// each one's bytes (R, G, B ↔ B, G, R: Colorlight's wire order). The buffers must not
    /// overlap and must hold `3 × pixels` bytes each (the caller checks). Five pixels at a time
    /// by one byte shuffle where the CPU has SSSE3 (`CPixelKernels`), else pixel by pixel.
    public static func swapRedAndBlue(from source: UnsafeRawPointer, to destination: UnsafeMutableRawPointer, pixels: Int) {
        guard pixels > 0 else { return }
        withUnsafePointer(to: wireOrder) { copy in
            panelsim_pixel_copy_run(copy, source.assumingMemoryBound(to: UInt8.self), destination.assumingMemoryBound(to: UInt8.self), pixels)
        }
    }
    public static let rowHeaderLength = 21
    public static let displayFrameLength = 112
    public static let brightnessFrameLength = 77
    public static let detectFrameLength = 112
    /// The detect reply PanelSim sends: long enough for every field (the real length varies).
    public static let detectReplyFrameLength = 112
    /// The model byte a 5A card reports in its detect reply.
    public static let model5A: UInt8 = 0x04

    /// Packet types (frame byte 12).
    public enum PacketType {
        public static let display: UInt8 = 0x01
        public static let detect: UInt8 = 0x07
        public static let detectReply: UInt8 = 0x08
        public static let brightness: UInt8 = 0x0A
        public static let row: UInt8 = 0x55
    }
}

/// One row packet: where its pixels go; `pixels` is a view of B, G, R triples into the
/// decoded frame, valid as long as it is.
public struct ColorlightRow {
    public var row: Int
    public var offset: Int
    public var count: Int
    public var pixels: UnsafeRawBufferPointer
}

/// The display (latch) packet: the variant byte (13) and the brightness it carries.
public struct ColorlightDisplay: Equatable, Sendable {
    public var variant: UInt8
    public var brightness: UInt8
    public var red: UInt8
    public var green: UInt8
    public var blue: UInt8
    public init(variant: UInt8 = 0x07, brightness: UInt8 = 0xFF, red: UInt8 = 0xFF, green: UInt8 = 0xFF, blue: UInt8 = 0xFF) {
        self.variant = variant; self.brightness = brightness; self.red = red; self.green = green; self.blue = blue
    }
}

/// The brightness (0x0A) packet's per-channel values (a non-linear scale).
public struct ColorlightBrightness: Equatable, Sendable {
    public var red: UInt8
    public var green: UInt8
    public var blue: UInt8
    public init(red: UInt8, green: UInt8, blue: UInt8) { self.red = red; self.green = green; self.blue = blue }
}

/// What a receiving card answers to detect.
public struct ColorlightDetectReply: Equatable, Sendable {
    public var model: UInt8
    public var firmware: UInt16
    public var width: UInt16
    public var height: UInt16
    public init(model: UInt8 = Colorlight.model5A, firmware: UInt16, width: UInt16, height: UInt16) {
        self.model = model; self.firmware = firmware; self.width = width; self.height = height
    }
}

/// A decoded Colorlight frame.
public enum ColorlightMessage {
    case row(ColorlightRow)
    case display(ColorlightDisplay)
    case brightness(ColorlightBrightness)
    case detect
    case detectReply(ColorlightDetectReply)
    /// A type PanelSim does not interpret (counted by the model).
    case other(type: UInt8)
}

/// A decoded frame and the spec rules it breaks.
public struct ColorlightPacket {
    public var message: ColorlightMessage
    public var violations: [RuleID]
}

/// Rule IDs of readable Colorlight frames that still differ from what senders send.
public enum ColorlightRule {
    /// Row bytes 19–20 are not `08 88`.
    public static let rowMarker = RuleID("colorlight.row-marker")
    /// More than 497 pixels in one row packet.
    public static let rowOver497 = RuleID("colorlight.row-over-497")
    /// Bytes after the row's pixels.
    public static let rowTrailingBytes = RuleID("colorlight.row-trailing-bytes")
    /// A display frame shorter than 112 bytes (but long enough for its brightness fields).
    public static let displayShort = RuleID("colorlight.display-short")
    /// A brightness frame shorter than 77 bytes.
    public static let brightnessShort = RuleID("colorlight.brightness-short")
}
