/// TPM2.net (UDP 65506): the serial TPM2 framing with a packet number and count, so a
/// frame can span several datagrams.
///
/// Layout: 0 start byte 0x9C; 1 packet type (0xDA data, 0xC0 command, 0xAA ping); 2 size
/// u16 BE (this packet's data length); 4 packet number (1-based); 5 packet count; 6 data;
/// then the end byte 0x36.
public enum TPM2Net {
    public static let port: UInt16 = 65506
    public static let startByte: UInt8 = 0x9C
    public static let endByte: UInt8 = 0x36
    public static let headerLength = 6
    /// The acknowledgement byte a receiver answers a ping with.
    public static let acknowledgement: UInt8 = 0xAC
    /// The port WLED sends its 0xAC answer to, on the pinging host.
    public static let replyPort: UInt16 = 65442
    /// Data bytes per packet: the TPM2.net description allows 1490 (a 1500-byte packet
    /// less header and end byte); note that IPv4 over a 1500-byte MTU fragments UDP payloads
    /// above 1472 bytes, so senders that avoid fragments use less.
    public static let maxDataPerPacket = 1490

    /// Packet types (byte 1).
    public enum PacketType: UInt8, Sendable {
        case data = 0xDA
        case command = 0xC0
        case ping = 0xAA
    }
}

/// Spec rules a TPM2.net packet can break while still being readable.
public struct TPM2NetViolations: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// Packet number 0, or above the packet count.
    public static let packetNumber = TPM2NetViolations(rawValue: 1 << 0)
    /// Packet count 0.
    public static let packetCount = TPM2NetViolations(rawValue: 1 << 1)
    /// No end byte after the data (the datagram ends there).
    public static let missingEndByte = TPM2NetViolations(rawValue: 1 << 2)
    /// Bytes after the end byte.
    public static let trailingBytes = TPM2NetViolations(rawValue: 1 << 3)
    /// More than 1490 data bytes.
    public static let oversizedData = TPM2NetViolations(rawValue: 1 << 4)

    static let table: [(TPM2NetViolations, RuleID, String)] = [
        (.packetNumber, RuleID("tpm2net.packet-number"), "packet number must be 1...packet count (TPM2.net, byte 4)"),
        (.packetCount, RuleID("tpm2net.packet-count"), "packet count must be at least 1 (TPM2.net, byte 5)"),
        (.missingEndByte, RuleID("tpm2net.missing-end-byte"), "the datagram ends without the 0x36 end byte"),
        (.trailingBytes, RuleID("tpm2net.trailing-bytes"), "bytes after the 0x36 end byte"),
        (.oversizedData, RuleID("tpm2net.data-over-1490"), "more than 1490 data bytes in one packet (TPM2.net)"),
    ]

    /// The stable rule IDs, in a fixed order.
    public var ruleIDs: [RuleID] { TPM2NetViolations.table.filter { contains($0.0) }.map { $0.1 } }
    /// One-line explanation of a rule.
    public static func explanation(_ id: RuleID) -> String? { table.first { $0.1 == id }?.2 }
}

/// A decoded TPM2.net packet; `data` is a view into the decoded buffer, valid as long as it is.
public struct TPM2NetPacket {
    public var type: TPM2Net.PacketType
    public var packetNumber: UInt8
    public var packetCount: UInt8
    public var data: UnsafeRawBufferPointer
    public var violations: TPM2NetViolations
}
