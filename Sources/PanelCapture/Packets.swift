import PanelCore

/// An IP address and a port. `address` is dotted IPv4 ("192.168.0.1") or RFC 5952
/// IPv6 text ("fe80::1").
public struct Endpoint: Hashable, Sendable, CustomStringConvertible {
    public var address: String
    public var port: UInt16

    public init(address: String, port: UInt16) {
        self.address = address
        self.port = port
    }

    /// `1.2.3.4:6454` or `[fe80::1]:6454`.
    public var description: String {
        address.contains(":") ? "[\(address)]:\(port)" : "\(address):\(port)"
    }
}

/// What the UDP length field said when it disagreed with the bytes around it.
public enum UDPLengthNote: Equatable, Sendable {
    /// The UDP length claims more bytes than the IP payload holds (or than were
    /// captured); `payload` holds only what is present.
    case exceedsPresentBytes(declared: Int, present: Int)
    /// The UDP length is shorter than the IP payload; the bytes after it were dropped.
    case shorterThanIPPayload(declared: Int, ipPayload: Int)
}

/// A UDP datagram found in a capture record.
public struct UDPDatagram: Sendable {
    public var recordNumber: Int
    public var time: Timestamp
    public var source: Endpoint
    public var destination: Endpoint
    /// The UDP payload, a view into the record's bytes: its indices are those of
    /// `CapturedFrame.bytes`, not 0-based. Use `withUnsafeBytes` or `Array(payload)`.
    public var payload: ArraySlice<UInt8>
    /// The UDP header's length field (header included).
    public var udpLength: Int
    /// Set when the UDP length disagrees with the bytes present; nil when they agree.
    public var lengthNote: UDPLengthNote?

    public init(recordNumber: Int, time: Timestamp, source: Endpoint, destination: Endpoint,
                payload: ArraySlice<UInt8>, udpLength: Int, lengthNote: UDPLengthNote? = nil) {
        self.recordNumber = recordNumber
        self.time = time
        self.source = source
        self.destination = destination
        self.payload = payload
        self.udpLength = udpLength
        self.lengthNote = lengthNote
    }
}

/// An Ethernet frame whose payload is not IPv4 or IPv6 (ARP, LLDP, vendor layer-2
/// protocols …), for the raw layer-2 protocols above.
public struct EthernetFrame: Sendable {
    public var recordNumber: Int
    public var time: Timestamp
    public var destination: MACAddress
    public var source: MACAddress
    /// The tag control information (PCP, DEI, VLAN id) of each 802.1Q/802.1ad tag,
    /// outermost first.
    public var vlanTags: [UInt16]
    /// The type/length field after the tags. Values ≤ 1500 are an 802.3 length by the
    /// standard, but some vendor protocols use such values as types, so the payload is
    /// not cut to it.
    public var etherTypeOrLength: UInt16
    /// Everything after the type/length field (including any padding or FCS captured),
    /// a view into the record's bytes.
    public var payload: ArraySlice<UInt8>

    public init(recordNumber: Int, time: Timestamp, destination: MACAddress, source: MACAddress,
                vlanTags: [UInt16] = [], etherTypeOrLength: UInt16, payload: ArraySlice<UInt8>) {
        self.recordNumber = recordNumber
        self.time = time
        self.destination = destination
        self.source = source
        self.vlanTags = vlanTags
        self.etherTypeOrLength = etherTypeOrLength
        self.payload = payload
    }

    /// True when `etherTypeOrLength` is an 802.3 length by the standard (≤ 1500).
    public var isLengthField: Bool { etherTypeOrLength <= 1500 }

    /// The frame as it was on the wire, from the destination address (no FCS unless the
    /// capture kept it in the payload), for layer-2 protocols and for resending. VLAN tags get
    /// TPID 0x8100, the outermost 0x88A8 when there are several (a capture record keeps only
    /// the tag control information).
    public var wireBytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(14 + 4 * vlanTags.count + payload.count)
        out.append(contentsOf: destination.octets)
        out.append(contentsOf: source.octets)
        for (i, tag) in vlanTags.enumerated() {
            let tpid: UInt16 = vlanTags.count > 1 && i == 0 ? 0x88A8 : 0x8100
            out += [UInt8(tpid >> 8), UInt8(tpid & 0xFF), UInt8(tag >> 8), UInt8(tag & 0xFF)]
        }
        out += [UInt8(etherTypeOrLength >> 8), UInt8(etherTypeOrLength & 0xFF)]
        out.append(contentsOf: payload)
        return out
    }
}

/// An IPv4 or IPv6 fragment. `CaptureDecoder` reassembles them, keyed by (source,
/// destination, protocol, identification), and hands the reassembled payload to
/// `PacketParser.parseIPPayload`.
public struct IPFragment: Sendable {
    public var recordNumber: Int
    public var time: Timestamp
    /// 4 or 6.
    public var ipVersion: Int
    public var sourceAddress: String
    public var destinationAddress: String
    /// IPv4: the 16-bit identification; IPv6: the fragment header's 32-bit identification.
    public var identification: UInt32
    /// Offset of this fragment's payload in the original payload, in bytes.
    public var fragmentOffset: Int
    /// More-fragments flag.
    public var moreFragments: Bool
    /// IPv4 protocol, or the next header after the IPv6 fragment header.
    public var protocolNumber: UInt8
    /// The fragment's payload (after the IP header / fragment header), a view into the
    /// record's bytes.
    public var payload: ArraySlice<UInt8>

    public init(recordNumber: Int, time: Timestamp, ipVersion: Int, sourceAddress: String,
                destinationAddress: String, identification: UInt32, fragmentOffset: Int,
                moreFragments: Bool, protocolNumber: UInt8, payload: ArraySlice<UInt8>) {
        self.recordNumber = recordNumber
        self.time = time
        self.ipVersion = ipVersion
        self.sourceAddress = sourceAddress
        self.destinationAddress = destinationAddress
        self.identification = identification
        self.fragmentOffset = fragmentOffset
        self.moreFragments = moreFragments
        self.protocolNumber = protocolNumber
        self.payload = payload
    }
}

/// The control bits of a TCP header.
public struct TCPFlags: OptionSet, Hashable, Sendable {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public static let fin = TCPFlags(rawValue: 0x001)
    public static let syn = TCPFlags(rawValue: 0x002)
    public static let rst = TCPFlags(rawValue: 0x004)
    public static let psh = TCPFlags(rawValue: 0x008)
    public static let ack = TCPFlags(rawValue: 0x010)
    public static let urg = TCPFlags(rawValue: 0x020)
    public static let ece = TCPFlags(rawValue: 0x040)
    public static let cwr = TCPFlags(rawValue: 0x080)
}

/// One TCP segment found in a capture record (not reassembled: see `CaptureDecoder`).
public struct TCPSegment: Sendable {
    public var recordNumber: Int
    public var time: Timestamp
    public var source: Endpoint
    public var destination: Endpoint
    public var sequenceNumber: UInt32
    public var acknowledgementNumber: UInt32
    public var flags: TCPFlags
    public var window: UInt16
    /// The header length from the data offset field, options included (20…60).
    public var headerLength: Int
    /// The segment's data, a view into the record's bytes (indices are the record's).
    public var payload: ArraySlice<UInt8>

    public init(recordNumber: Int, time: Timestamp, source: Endpoint, destination: Endpoint,
                sequenceNumber: UInt32, acknowledgementNumber: UInt32, flags: TCPFlags, window: UInt16,
                headerLength: Int, payload: ArraySlice<UInt8>) {
        self.recordNumber = recordNumber
        self.time = time
        self.source = source
        self.destination = destination
        self.sequenceNumber = sequenceNumber
        self.acknowledgementNumber = acknowledgementNumber
        self.flags = flags
        self.window = window
        self.headerLength = headerLength
        self.payload = payload
    }
}

/// The result of decoding one capture record down to UDP or TCP.
public enum ParsedPacket: Sendable {
    /// A UDP datagram (over IPv4 or IPv6).
    case udp(UDPDatagram)
    /// A TCP segment (over IPv4 or IPv6).
    case tcp(TCPSegment)
    /// An Ethernet frame that does not carry IP.
    case ethernet(EthernetFrame)
    /// An IP fragment, to be reassembled later.
    case ipFragment(IPFragment)
    /// Well formed, but not something PanelCapture decodes (ICMP, an unknown link
    /// type …). The reason says what it was.
    case other(reason: String)
    /// Could not be decoded: a header is cut short or a length field is impossible.
    /// `offset` is the byte offset in the record where the problem was found.
    case malformed(reason: String, offset: Int)
}
