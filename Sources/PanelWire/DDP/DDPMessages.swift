import PanelCore

/// DDP, the Distributed Display Protocol (3waylabs): constants and the header layout.
///
/// Header, big-endian: 0 flags (bits 7–6 version = 01, bit 5 reserved, bit 4 timecode,
/// bit 3 storage, bit 2 reply, bit 1 query, bit 0 PUSH); 1 sequence (low 4 bits, 1...15,
/// 0 = unused); 2 data type; 3 destination id; 4 data offset u32 (bytes); 8 data length
/// u16; 10 timecode u32 when the timecode flag is set. Data follows the header.
public enum DDP {
    public static let port: UInt16 = 4048
    public static let headerLength = 10
    public static let timecodeHeaderLength = 14
    /// The payload senders put in one packet: 480 RGB pixels (python-led-ddp, WLED, xLights).
    public static let maxDataPerPacket = 1440

    /// Flag bits of header byte 0.
    public enum Flag {
        public static let versionMask: UInt8 = 0xC0
        /// Version bits 01.
        public static let version1: UInt8 = 0x40
        public static let reserved: UInt8 = 0x20
        public static let timecode: UInt8 = 0x10
        public static let storage: UInt8 = 0x08
        public static let reply: UInt8 = 0x04
        public static let query: UInt8 = 0x02
        public static let push: UInt8 = 0x01
    }

    /// Destination ids with a defined meaning.
    public enum Destination {
        public static let display: UInt8 = 1
        public static let control: UInt8 = 246
        public static let config: UInt8 = 250
        public static let status: UInt8 = 251
        public static let dmx: UInt8 = 254
        public static let all: UInt8 = 255
    }

    /// Data types PanelSim names. Bit 7 custom, bits 5–3 type (1 RGB, 2 HSL, 3 RGBW,
    /// 4 grayscale), bits 2–0 bits per element (3 = 8 bits).
    public enum DataType {
        /// "Undefined": the display's configured format applies (xLights, FPP).
        public static let undefined: UInt8 = 0x00
        /// WLED's legacy RGB 8-bit.
        public static let wledLegacy: UInt8 = 0x01
        public static let rgb8: UInt8 = 0x0B
        /// What python-led-ddp sends for RGB 8-bit.
        public static let pythonLedDDP: UInt8 = 0x0D
        public static let rgbw8: UInt8 = 0x1B
        public static let gray8: UInt8 = 0x23
        /// xLights' sync packet (custom bit, with PUSH and no data).
        public static let xLightsSync: UInt8 = 0x80

        /// The pixel format a data type names exactly, nil for the types a display does not
        /// recognise (they are read in the display's configured format).
        public static func pixelFormat(_ type: UInt8) -> PixelFormat? {
            switch type {
            case rgb8: return .rgb
            case rgbw8: return .rgbw
            case gray8: return .gray
            default: return nil
            }
        }

        /// The 8-bit data type of a pixel format.
        public static func of(_ format: PixelFormat) -> UInt8 {
            switch format {
            case .rgb: return rgb8
            case .rgbw: return rgbw8
            case .gray: return gray8
            }
        }
    }
}

/// The fixed fields of a DDP packet.
public struct DDPHeader: Equatable, Sendable {
    public var flags: UInt8
    /// Low 4 bits of byte 1: 1...15, 0 = unused.
    public var sequence: UInt8
    public var dataType: UInt8
    public var destination: UInt8
    /// Where the data starts in the display's buffer, in bytes.
    public var offset: UInt32
    /// Present when the timecode flag is set.
    public var timecode: UInt32?

    public init(flags: UInt8 = DDP.Flag.version1, sequence: UInt8 = 0, dataType: UInt8 = DDP.DataType.rgb8,
                destination: UInt8 = DDP.Destination.display, offset: UInt32 = 0, timecode: UInt32? = nil) {
        self.flags = flags; self.sequence = sequence; self.dataType = dataType
        self.destination = destination; self.offset = offset; self.timecode = timecode
    }

    public var version: UInt8 { flags >> 6 }
    public var push: Bool { flags & DDP.Flag.push != 0 }
    public var query: Bool { flags & DDP.Flag.query != 0 }
    public var reply: Bool { flags & DDP.Flag.reply != 0 }
    public var storage: Bool { flags & DDP.Flag.storage != 0 }
}

/// Spec rules a DDP packet can break while still being readable.
public struct DDPViolations: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// Version bits are not 01.
    public static let version = DDPViolations(rawValue: 1 << 0)
    /// The reserved flag bit 5 is set.
    public static let reservedFlag = DDPViolations(rawValue: 1 << 1)
    /// Bytes follow the data that the length announces.
    public static let trailingBytes = DDPViolations(rawValue: 1 << 2)
    /// Sequence byte has bits set above the low four.
    public static let sequenceHighBits = DDPViolations(rawValue: 1 << 3)
    /// More than 1440 data bytes in one packet (receivers size buffers for 1440).
    public static let oversizedData = DDPViolations(rawValue: 1 << 4)

    static let table: [(DDPViolations, RuleID, String)] = [
        (.version, RuleID("ddp.version"), "flags bits 7-6 must be 01 (DDP v1, header byte 0)"),
        (.reservedFlag, RuleID("ddp.reserved-flag"), "flags bit 5 is reserved and must be 0 (DDP, header byte 0)"),
        (.trailingBytes, RuleID("ddp.trailing-bytes"), "bytes after the data the length field announces"),
        (.sequenceHighBits, RuleID("ddp.sequence-high-bits"), "only the low 4 bits of the sequence byte are defined (DDP, header byte 1)"),
        (.oversizedData, RuleID("ddp.data-over-1440"), "more than 1440 data bytes in one packet (DDP: 480 RGB pixels per packet)"),
    ]

    /// The stable rule IDs, in a fixed order.
    public var ruleIDs: [RuleID] { DDPViolations.table.filter { contains($0.0) }.map { $0.1 } }
    /// One-line explanation of a rule.
    public static func explanation(_ id: RuleID) -> String? { table.first { $0.1 == id }?.2 }
}

/// A decoded DDP packet; `data` is a view into the decoded buffer, valid as long as it is.
public struct DDPPacket {
    public var header: DDPHeader
    public var data: UnsafeRawBufferPointer
    public var violations: DDPViolations
}
