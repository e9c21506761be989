import CPCAP

/// The link layers PanelCapture decodes, told apart by the link type libpcap reports
/// (`pcap_datalink`, a DLT_ value).
///
/// On Linux libpcap maps the file's LINKTYPE_RAW (101) to DLT_RAW = 12 when reading, and
/// refuses 101 when writing; 14 is OpenBSD's DLT_RAW. All three are read as raw IP.
public enum LinkLayer: Hashable, Sendable {
    /// DLT_EN10MB (1): Ethernet II or 802.3, with up to two 802.1Q/802.1ad tags.
    case ethernet
    /// DLT_NULL (0): BSD loopback, a 4-byte address family in the capturing host's byte order.
    case bsdNull
    /// DLT_LOOP (108 on Linux): like NULL, address family in network byte order.
    case bsdLoop
    /// DLT_LINUX_SLL (113): Linux "cooked" capture v1 (16-byte header).
    case linuxSLL
    /// DLT_LINUX_SLL2 (276): Linux "cooked" capture v2 (20-byte header).
    case linuxSLL2
    /// DLT_RAW (12 on Linux; also 14 and 101 as found in files): IPv4 or IPv6, no link header.
    case rawIP
    /// DLT_IPV4 (228): raw IPv4.
    case rawIPv4
    /// DLT_IPV6 (229): raw IPv6.
    case rawIPv6
    /// LINKTYPE_RTAC_SERIAL (250): serial-line bytes after a 12-byte header with the direction
    /// (see `SerialCaptureWriter`); how PanelSim records serial traffic.
    case rtacSerial
    /// Any other link type; frames are reported as `.other`.
    case unsupported(Int32)

    /// Classifies a DLT value as reported by libpcap.
    public init(linkType: Int32) {
        switch linkType {
        case Int32(DLT_EN10MB): self = .ethernet
        case Int32(DLT_NULL): self = .bsdNull
        case 108: self = .bsdLoop
        case 113: self = .linuxSLL
        case 276: self = .linuxSLL2
        case 12, 14, 101: self = .rawIP
        case 228: self = .rawIPv4
        case 229: self = .rawIPv6
        case 250: self = .rtacSerial
        default: self = .unsupported(linkType)
        }
    }

    /// The DLT value to hand to libpcap (e.g. `PcapWriter(linkType:)`) on this platform.
    public var linkType: Int32 {
        switch self {
        case .ethernet: return Int32(DLT_EN10MB)
        case .bsdNull: return Int32(DLT_NULL)
        case .bsdLoop: return Int32(DLT_LOOP)
        case .linuxSLL: return Int32(DLT_LINUX_SLL)
        case .linuxSLL2: return Int32(DLT_LINUX_SLL2)
        case .rawIP: return Int32(DLT_RAW)
        case .rawIPv4: return Int32(DLT_IPV4)
        case .rawIPv6: return Int32(DLT_IPV6)
        case .rtacSerial: return 250
        case .unsupported(let value): return value
        }
    }

    /// libpcap's short name for the link type ("EN10MB", "LINUX_SLL2", …).
    public var name: String {
        guard let cName = pcap_datalink_val_to_name(linkType) else { return "DLT \(linkType)" }
        return String(cString: cName)
    }
}

/// A 48-bit MAC address, kept in the low 48 bits of `rawValue` (first octet highest).
public struct MACAddress: Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64

    public init(rawValue: UInt64) { self.rawValue = rawValue & 0xFFFF_FFFF_FFFF }

    /// Builds an address from six octets; returns nil for any other count.
    public init?<C: Collection>(octets: C) where C.Element == UInt8 {
        guard octets.count == 6 else { return nil }
        var value: UInt64 = 0
        for octet in octets { value = (value << 8) | UInt64(octet) }
        self.rawValue = value
    }

    /// The six octets, first on the wire first.
    public var octets: [UInt8] {
        (0..<6).map { UInt8(truncatingIfNeeded: rawValue >> (40 - 8 * UInt64($0))) }
    }

    public static let broadcast = MACAddress(rawValue: 0xFFFF_FFFF_FFFF)

    /// `aa:bb:cc:dd:ee:ff`.
    public var description: String {
        octets.map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined(separator: ":")
    }
}
