/// ANSI E1.31-2018 (Streaming ACN) constants.
public enum E131 {
    public static let port: UInt16 = 5568
    /// "ASC-E1.17\0\0\0"
    public static let acnIdentifier: [UInt8] = [0x41, 0x53, 0x43, 0x2D, 0x45, 0x31, 0x2E, 0x31, 0x37, 0x00, 0x00, 0x00]
    public static let rootVectorData: UInt32 = 0x0000_0004
    public static let rootVectorExtended: UInt32 = 0x0000_0008
    public static let framingVectorData: UInt32 = 0x0000_0002
    public static let framingVectorSync: UInt32 = 0x0000_0001
    public static let framingVectorDiscovery: UInt32 = 0x0000_0002
    public static let discoveryVectorUniverseList: UInt32 = 0x0000_0001
    public static let discoveryUniverse: UInt16 = 64214
    public static let defaultPriority: UInt8 = 100
    public static let validUniverses: ClosedRange<UInt16> = 1...63999

    /// The multicast group of a universe: 239.255.(U >> 8).(U & 0xFF).
    public static func multicastGroup(universe: UInt16) -> String {
        "239.255.\(universe >> 8).\(universe & 0xFF)"
    }
}

/// A sender's 16-byte Component Identifier (UUID), stored without allocation.
public struct CID: Hashable, Sendable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) { self.high = high; self.low = low }

    public init(bytes: UnsafeRawBufferPointer, at o: Int) {
        var h: UInt64 = 0, l: UInt64 = 0
        for i in 0..<8 { h = h << 8 | UInt64(bytes[o + i]) }
        for i in 8..<16 { l = l << 8 | UInt64(bytes[o + i]) }
        high = h; low = l
    }

    /// Parses "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (dashes optional).
    public init?(string: String) {
        let hex = string.filter { $0 != "-" }
        guard hex.count == 32, let h = UInt64(hex.prefix(16), radix: 16), let l = UInt64(hex.suffix(16), radix: 16) else { return nil }
        high = h; low = l
    }

    public var bytes: [UInt8] {
        (0..<8).map { UInt8((high >> (56 - 8 * UInt64($0))) & 0xFF) } + (0..<8).map { UInt8((low >> (56 - 8 * UInt64($0))) & 0xFF) }
    }

    public var description: String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(36)
        for (i, b) in bytes.enumerated() {
            if i == 4 || i == 6 || i == 8 || i == 10 { text.append(UInt8(ascii: "-")) }
            text.append(digits[Int(b >> 4)])
            text.append(digits[Int(b & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}

/// Spec rules an E1.31 packet can break while still being interpretable.
public struct E131Violations: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let preamble = E131Violations(rawValue: 1 << 0)
    public static let rootFlags = E131Violations(rawValue: 1 << 1)
    public static let rootLength = E131Violations(rawValue: 1 << 2)
    public static let framingFlags = E131Violations(rawValue: 1 << 3)
    public static let framingLength = E131Violations(rawValue: 1 << 4)
    public static let dmpFlags = E131Violations(rawValue: 1 << 5)
    public static let dmpLength = E131Violations(rawValue: 1 << 6)
    public static let dmpAddressType = E131Violations(rawValue: 1 << 7)
    public static let dmpFirstAddress = E131Violations(rawValue: 1 << 8)
    public static let dmpIncrement = E131Violations(rawValue: 1 << 9)
    public static let priorityRange = E131Violations(rawValue: 1 << 10)
    public static let universeRange = E131Violations(rawValue: 1 << 11)
    public static let syncAddressRange = E131Violations(rawValue: 1 << 12)
    public static let optionsReserved = E131Violations(rawValue: 1 << 13)
    public static let trailingBytes = E131Violations(rawValue: 1 << 14)
    public static let propertyCount = E131Violations(rawValue: 1 << 15)
    public static let discoveryUniverse = E131Violations(rawValue: 1 << 16)
    public static let discoveryPage = E131Violations(rawValue: 1 << 17)
    public static let discoveryUnsorted = E131Violations(rawValue: 1 << 18)
    public static let sourceNameUnterminated = E131Violations(rawValue: 1 << 19)

    static let table: [(E131Violations, RuleID, String)] = [
        (.preamble, RuleID("e131.root.preamble"), "preamble size must be 0x0010 and post-amble 0 (E1.31 5.1, 5.2)"),
        (.rootFlags, RuleID("e131.root.flags"), "root layer flags must be 0x7 (E1.31 5.4)"),
        (.rootLength, RuleID("e131.root.length"), "root layer PDU length does not match the packet (E1.31 5.4)"),
        (.framingFlags, RuleID("e131.framing.flags"), "framing layer flags must be 0x7 (E1.31 6.2.1)"),
        (.framingLength, RuleID("e131.framing.length"), "framing layer PDU length does not match the packet (E1.31 6.2.1)"),
        (.dmpFlags, RuleID("e131.dmp.flags"), "DMP layer flags must be 0x7 (E1.31 7.1)"),
        (.dmpLength, RuleID("e131.dmp.length"), "DMP layer PDU length does not match the packet (E1.31 7.1)"),
        (.dmpAddressType, RuleID("e131.dmp.address-type"), "DMP address and data type must be 0xA1 (E1.31 7.3)"),
        (.dmpFirstAddress, RuleID("e131.dmp.first-address"), "DMP first property address must be 0 (E1.31 7.4)"),
        (.dmpIncrement, RuleID("e131.dmp.increment"), "DMP address increment must be 1 (E1.31 7.5)"),
        (.priorityRange, RuleID("e131.priority-range"), "priority must be 0..200 (E1.31 6.2.3)"),
        (.universeRange, RuleID("e131.universe-range"), "universe must be 1..63999 (E1.31 6.2.7)"),
        (.syncAddressRange, RuleID("e131.sync-address-range"), "synchronization address must be 0..63999 (E1.31 6.2.4)"),
        (.optionsReserved, RuleID("e131.options-reserved"), "reserved option bits must be 0 (E1.31 6.2.6)"),
        (.trailingBytes, RuleID("e131.trailing-bytes"), "bytes after the last PDU"),
        (.propertyCount, RuleID("e131.dmp.property-count"), "property value count must be 1..513 (E1.31 7.6)"),
        (.discoveryUniverse, RuleID("e131.discovery.universe"), "universe discovery must go to universe 64214 (E1.31 9.3.1)"),
        (.discoveryPage, RuleID("e131.discovery.page"), "discovery page is beyond the last page (E1.31 8.5)"),
        (.discoveryUnsorted, RuleID("e131.discovery.unsorted"), "discovery universe list must be sorted ascending (E1.31 8.5)"),
        (.sourceNameUnterminated, RuleID("e131.source-name"), "source name must be NUL-terminated UTF-8 (E1.31 6.2.2)"),
    ]

    public var ruleIDs: [RuleID] { E131Violations.table.filter { contains($0.0) }.map { $0.1 } }
    public static func explanation(_ id: RuleID) -> String? { table.first { $0.1 == id }?.2 }
}

/// Framing-layer option bits.
public struct E131Options: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let preview = E131Options(rawValue: 0x80)
    public static let streamTerminated = E131Options(rawValue: 0x40)
    public static let forceSynchronization = E131Options(rawValue: 0x20)
}

/// An E1.31 data packet. `data` (the slots after the START code) and `sourceNameBytes`
/// are views into the decoded packet, valid as long as that buffer is.
public struct E131Data {
    public var cid: CID
    public var sourceNameBytes: UnsafeRawBufferPointer
    public var priority: UInt8
    public var syncAddress: UInt16
    public var sequence: UInt8
    public var options: E131Options
    public var universe: UInt16
    public var startCode: UInt8
    public var data: UnsafeRawBufferPointer
    public var violations: E131Violations

    public var sourceName: String { String(decoding: sourceNameBytes, as: UTF8.self) }
}

/// An E1.31 synchronization packet.
public struct E131Sync: Equatable, Sendable {
    public var cid: CID
    public var sequence: UInt8
    public var syncAddress: UInt16
    public var violations: E131Violations
}

/// One page of an E1.31 universe discovery packet.
public struct E131Discovery: Equatable, Sendable {
    public var cid: CID
    public var sourceName: String
    public var page: UInt8
    public var lastPage: UInt8
    public var universes: [UInt16]
    public var violations: E131Violations
}

/// A decoded E1.31 packet.
public enum E131Message {
    case data(E131Data)
    case sync(E131Sync)
    case discovery(E131Discovery)
}
