import PanelCore

/// Decodes a capture record through its link layer, IPv4/IPv6, UDP and TCP. Never traps:
/// every length read from the packet is checked against the bytes present, and what
/// cannot be decoded comes back as `.malformed` with the byte offset.
public enum PacketParser {
    static let etherTypeIPv4: UInt16 = 0x0800
    static let etherTypeIPv6: UInt16 = 0x86DD
    /// 802.1Q, 802.1ad, and the older QinQ 0x9100.
    static func isVLANTag(_ type: UInt16) -> Bool { type == 0x8100 || type == 0x88A8 || type == 0x9100 }
    static let maxVLANTags = 2

    /// Decodes one record according to its `linkType`.
    public static func parse(_ frame: CapturedFrame) -> ParsedPacket {
        parse(frame, cache: nil)
    }

    /// `parse`, formatting addresses through `cache` when given (the decoder's fast path).
    static func parse(_ frame: CapturedFrame, cache: AddressTextCache?) -> ParsedPacket {
        let reader = Reader(frame: frame, cache: cache)
        switch LinkLayer(linkType: frame.linkType) {
        case .ethernet:
            return reader.ethernet()
        case .linuxSLL:
            return reader.linuxSLL()
        case .linuxSLL2:
            return reader.linuxSLL2()
        case .bsdNull:
            return reader.bsdLoopback(networkOrder: false)
        case .bsdLoop:
            return reader.bsdLoopback(networkOrder: true)
        case .rawIP:
            return reader.ip(at: 0)
        case .rawIPv4:
            return reader.ipv4(at: 0)
        case .rawIPv6:
            return reader.ipv6(at: 0)
        case .rtacSerial:
            return .other(reason: "serial-line record (read it through CaptureDecoder)")
        case .unsupported(let linkType):
            return .other(reason: "link type \(linkType) (\(LinkLayer(linkType: linkType).name)) is not decoded")
        }
    }

    /// Decodes what an IP header carries (`protocolNumber` 17 = UDP, 6 = TCP; anything else
    /// is `.other`). This is the seam for IP reassembly: a reassembler calls it with the
    /// reassembled payload of an `IPFragment` series. `payload` may be any slice; offsets
    /// in `.malformed` are its indices.
    public static func parseIPPayload(protocolNumber: UInt8, payload: ArraySlice<UInt8>,
                                      sourceAddress: String, destinationAddress: String,
                                      ipVersion: Int, recordNumber: Int, time: Timestamp) -> ParsedPacket {
        let bytes = Array(payload)
        let reader = Reader(bytes: bytes, recordNumber: recordNumber, time: time, cache: nil)
        let parsed = reader.transport(protocolNumber: protocolNumber, start: 0, end: bytes.count,
                                      source: sourceAddress, destination: destinationAddress,
                                      isIPv6: ipVersion == 6)
        // Re-base slices and offsets onto the caller's indices.
        let base = payload.startIndex
        switch parsed {
        case .udp(var datagram):
            let lower = datagram.payload.startIndex + base
            let upper = datagram.payload.endIndex + base
            datagram.payload = payload[lower..<upper]
            return .udp(datagram)
        case .tcp(var segment):
            let lower = segment.payload.startIndex + base
            let upper = segment.payload.endIndex + base
            segment.payload = payload[lower..<upper]
            return .tcp(segment)
        case .malformed(let reason, let offset):
            return .malformed(reason: reason, offset: offset + base)
        default:
            return parsed
        }
    }

    static func protocolName(_ number: UInt8) -> String {
        switch number {
        case 1: return "ICMP"
        case 2: return "IGMP"
        case 6: return "TCP"
        case 17: return "UDP"
        case 47: return "GRE"
        case 50: return "ESP"
        case 58: return "ICMPv6"
        case 132: return "SCTP"
        default: return "protocol \(number)"
        }
    }

    static func hex16(_ value: UInt16) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}

/// Bounds-checked reading of one record.
private struct Reader {
    let bytes: [UInt8]
    let recordNumber: Int
    let time: Timestamp
    let cache: AddressTextCache?

    init(frame: CapturedFrame, cache: AddressTextCache?) {
        self.bytes = frame.bytes
        self.recordNumber = frame.recordNumber
        self.time = frame.time
        self.cache = cache
    }

    init(bytes: [UInt8], recordNumber: Int, time: Timestamp, cache: AddressTextCache?) {
        self.bytes = bytes
        self.recordNumber = recordNumber
        self.time = time
        self.cache = cache
    }

    /// Address text of the 4 bytes at `offset` (bounds checked by the caller).
    func ipv4Text(_ offset: Int) -> String {
        cache?.ipv4(bytes, at: offset) ?? IPAddressText.ipv4(bytes, at: offset)
    }

    /// Address text of the 16 bytes at `offset` (bounds checked by the caller).
    func ipv6Text(_ offset: Int) -> String {
        cache?.ipv6(bytes, at: offset) ?? IPAddressText.ipv6(bytes, at: offset)
    }

    /// True when `count` bytes starting at `offset` lie within `0..<end`.
    func has(_ offset: Int, _ count: Int, end: Int? = nil) -> Bool {
        let limit = min(end ?? bytes.count, bytes.count)
        guard offset >= 0, count >= 0, offset <= limit else { return false }
        return count <= limit - offset
    }

    /// Callers check bounds with `has` first.
    func u16(_ offset: Int) -> UInt16 {
        UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }

    func u32(_ offset: Int) -> UInt32 {
        UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16
            | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
    }

    func short(_ what: String, need: Int, at offset: Int, end: Int? = nil) -> ParsedPacket {
        let limit = min(end ?? bytes.count, bytes.count)
        let have = max(0, limit - offset)
        return .malformed(reason: "\(what) needs \(need) bytes, only \(have) present", offset: offset)
    }

    // MARK: link layers

    func ethernet() -> ParsedPacket {
        guard has(0, 14) else { return short("Ethernet header", need: 14, at: 0) }
        var type = u16(12)
        var offset = 14
        var tagCount = 0
        while PacketParser.isVLANTag(type) {
            guard tagCount < PacketParser.maxVLANTags else {
                return .other(reason: "more than \(PacketParser.maxVLANTags) VLAN tags")
            }
            guard has(offset, 4) else { return short("802.1Q tag", need: 4, at: offset) }
            type = u16(offset + 2)
            offset += 4
            tagCount += 1
        }
        switch type {
        case PacketParser.etherTypeIPv4: return ipv4(at: offset)
        case PacketParser.etherTypeIPv6: return ipv6(at: offset)
        default:
            // Addresses and tags are only built for the frames that hand them on.
            guard let destination = MACAddress(octets: bytes[0..<6]),
                  let source = MACAddress(octets: bytes[6..<12]) else {
                return .malformed(reason: "Ethernet addresses unreadable", offset: 0)
            }
            let tags = (0..<tagCount).map { u16(14 + 4 * $0) }
            return .ethernet(EthernetFrame(recordNumber: recordNumber, time: time,
                                           destination: destination, source: source,
                                           vlanTags: tags, etherTypeOrLength: type,
                                           payload: bytes[offset...]))
        }
    }

    /// Linux cooked v1: packet type(2) ARPHRD(2) address length(2) address(8) protocol(2).
    func linuxSLL() -> ParsedPacket {
        guard has(0, 16) else { return short("Linux cooked (SLL) header", need: 16, at: 0) }
        return cooked(arphrd: u16(2), protocolType: u16(14), payloadOffset: 16, protocolOffset: 14)
    }

    /// Linux cooked v2: protocol(2) reserved(2) ifindex(4) ARPHRD(2) packet type(1)
    /// address length(1) address(8).
    func linuxSLL2() -> ParsedPacket {
        guard has(0, 20) else { return short("Linux cooked (SLL2) header", need: 20, at: 0) }
        return cooked(arphrd: u16(8), protocolType: u16(0), payloadOffset: 20, protocolOffset: 0)
    }

    private func cooked(arphrd: UInt16, protocolType: UInt16, payloadOffset: Int, protocolOffset: Int) -> ParsedPacket {
        if arphrd == 824 {  // ARPHRD_NETLINK: the protocol field is a netlink family
            return .other(reason: "Linux cooked netlink message")
        }
        var type = protocolType
        var offset = payloadOffset
        var tags = 0
        while PacketParser.isVLANTag(type) {
            guard tags < PacketParser.maxVLANTags else {
                return .other(reason: "more than \(PacketParser.maxVLANTags) VLAN tags")
            }
            guard has(offset, 4) else { return short("802.1Q tag", need: 4, at: offset) }
            type = u16(offset + 2)
            offset += 4
            tags += 1
        }
        switch type {
        case PacketParser.etherTypeIPv4: return ipv4(at: offset)
        case PacketParser.etherTypeIPv6: return ipv6(at: offset)
        default:
            return .other(reason: "Linux cooked protocol \(PacketParser.hex16(type)) is not IP")
        }
    }

    /// BSD NULL/LOOP: a 4-byte address family. NULL is in the capturing host's byte
    /// order, so both orders are accepted (as Wireshark does).
    func bsdLoopback(networkOrder: Bool) -> ParsedPacket {
        guard has(0, 4) else { return short("loopback header", need: 4, at: 0) }
        var family = networkOrder ? u32(0) : u32(0).byteSwapped
        if family > 0xFFFF { family = family.byteSwapped }
        switch family {
        case 2:
            return ipv4(at: 4)
        case 10, 23, 24, 28, 30:  // AF_INET6: Linux, Windows, NetBSD/OpenBSD, FreeBSD, Darwin
            return ipv6(at: 4)
        default:
            return .other(reason: "loopback address family \(family) is not IP")
        }
    }

    // MARK: IP

    /// Raw IP: the version nibble decides.
    func ip(at offset: Int) -> ParsedPacket {
        guard has(offset, 1) else { return short("IP header", need: 20, at: offset) }
        switch bytes[offset] >> 4 {
        case 4: return ipv4(at: offset)
        case 6: return ipv6(at: offset)
        case let version: return .malformed(reason: "IP version \(version) is neither 4 nor 6", offset: offset)
        }
    }

    func ipv4(at ip: Int) -> ParsedPacket {
        guard has(ip, 20) else { return short("IPv4 header", need: 20, at: ip) }
        let version = bytes[ip] >> 4
        guard version == 4 else {
            return .malformed(reason: "IP version \(version) where IPv4 was expected", offset: ip)
        }
        let headerLength = Int(bytes[ip] & 0x0F) * 4
        guard headerLength >= 20 else {
            return .malformed(reason: "IPv4 header length \(headerLength) is below 20", offset: ip)
        }
        guard has(ip, headerLength) else { return short("IPv4 header with options", need: headerLength, at: ip) }
        let totalLength = Int(u16(ip + 2))
        let present = bytes.count - ip
        let end: Int
        if totalLength == 0 {
            end = bytes.count  // segmentation offload on the capturing host leaves 0
        } else {
            guard totalLength >= headerLength else {
                return .malformed(reason: "IPv4 total length \(totalLength) is below the header length \(headerLength)",
                                  offset: ip + 2)
            }
            end = ip + min(totalLength, present)  // trailing bytes are Ethernet padding
        }
        let flagsAndOffset = u16(ip + 6)
        let moreFragments = flagsAndOffset & 0x2000 != 0
        let fragmentOffset = Int(flagsAndOffset & 0x1FFF) * 8
        let protocolNumber = bytes[ip + 9]
        let source = ipv4Text(ip + 12)
        let destination = ipv4Text(ip + 16)
        let payloadStart = ip + headerLength
        if moreFragments || fragmentOffset != 0 {
            return .ipFragment(IPFragment(recordNumber: recordNumber, time: time, ipVersion: 4,
                                          sourceAddress: source, destinationAddress: destination,
                                          identification: UInt32(u16(ip + 4)),
                                          fragmentOffset: fragmentOffset, moreFragments: moreFragments,
                                          protocolNumber: protocolNumber,
                                          payload: bytes[payloadStart..<end]))
        }
        return transport(protocolNumber: protocolNumber, start: payloadStart, end: end,
                         source: source, destination: destination, isIPv6: false)
    }

    func ipv6(at ip: Int) -> ParsedPacket {
        guard has(ip, 40) else { return short("IPv6 header", need: 40, at: ip) }
        let version = bytes[ip] >> 4
        guard version == 6 else {
            return .malformed(reason: "IP version \(version) where IPv6 was expected", offset: ip)
        }
        let payloadLength = Int(u16(ip + 4))
        var next = bytes[ip + 6]
        let source = ipv6Text(ip + 8)
        let destination = ipv6Text(ip + 24)
        var offset = ip + 40
        let present = bytes.count - offset
        // Payload length 0 means a jumbogram (hop-by-hop option) or offload: use what is present.
        let end = payloadLength == 0 ? bytes.count : offset + min(payloadLength, present)
        while true {
            switch next {
            case 0, 43, 60:  // hop-by-hop, routing, destination options: (len + 1) * 8 bytes
                guard has(offset, 2, end: end) else { return short("IPv6 extension header", need: 8, at: offset, end: end) }
                let length = (Int(bytes[offset + 1]) + 1) * 8
                guard has(offset, length, end: end) else {
                    return short("IPv6 extension header \(next)", need: length, at: offset, end: end)
                }
                next = bytes[offset]
                offset += length
            case 51:  // authentication header: (len + 2) * 4 bytes
                guard has(offset, 2, end: end) else { return short("IPv6 authentication header", need: 12, at: offset, end: end) }
                let length = (Int(bytes[offset + 1]) + 2) * 4
                guard has(offset, length, end: end) else {
                    return short("IPv6 authentication header", need: length, at: offset, end: end)
                }
                next = bytes[offset]
                offset += length
            case 44:  // fragment header, 8 bytes
                guard has(offset, 8, end: end) else { return short("IPv6 fragment header", need: 8, at: offset, end: end) }
                let inner = bytes[offset]
                let offsetAndFlags = u16(offset + 2)
                let fragmentOffset = Int(offsetAndFlags >> 3) * 8
                let moreFragments = offsetAndFlags & 1 != 0
                let identification = u32(offset + 4)
                offset += 8
                if fragmentOffset == 0 && !moreFragments {  // atomic fragment (RFC 6946): a whole packet
                    next = inner
                    continue
                }
                return .ipFragment(IPFragment(recordNumber: recordNumber, time: time, ipVersion: 6,
                                              sourceAddress: source, destinationAddress: destination,
                                              identification: identification,
                                              fragmentOffset: fragmentOffset, moreFragments: moreFragments,
                                              protocolNumber: inner, payload: bytes[offset..<end]))
            case 59:
                return .other(reason: "IPv6 packet with no next header")
            default:
                return transport(protocolNumber: next, start: offset, end: end,
                                 source: source, destination: destination, isIPv6: true)
            }
        }
    }

    // MARK: transport

    func transport(protocolNumber: UInt8, start: Int, end: Int, source: String, destination: String,
                   isIPv6: Bool) -> ParsedPacket {
        switch protocolNumber {
        case 17:
            return udp(start: start, end: end, source: source, destination: destination, isIPv6: isIPv6)
        case 6:
            return tcp(start: start, end: end, source: source, destination: destination)
        default:
            let family = isIPv6 ? "IPv6" : "IPv4"
            return .other(reason: "\(family) \(PacketParser.protocolName(protocolNumber)) is not decoded")
        }
    }

    /// TCP header: ports, sequence, acknowledgement, data offset (header length in 32-bit
    /// words, 5…15) and flags, window; the data runs to the end of the IP payload.
    func tcp(start: Int, end: Int, source: String, destination: String) -> ParsedPacket {
        guard has(start, 20, end: end) else { return short("TCP header", need: 20, at: start, end: end) }
        let headerLength = Int(bytes[start + 12] >> 4) * 4
        guard headerLength >= 20 else {
            return .malformed(reason: "TCP data offset \(headerLength) is below the 20-byte header", offset: start + 12)
        }
        guard has(start, headerLength, end: end) else {
            return short("TCP header with options", need: headerLength, at: start, end: end)
        }
        let flags = TCPFlags(rawValue: u16(start + 12) & 0x01FF)
        return .tcp(TCPSegment(recordNumber: recordNumber, time: time,
                               source: Endpoint(address: source, port: u16(start)),
                               destination: Endpoint(address: destination, port: u16(start + 2)),
                               sequenceNumber: u32(start + 4), acknowledgementNumber: u32(start + 8),
                               flags: flags, window: u16(start + 14), headerLength: headerLength,
                               payload: bytes[(start + headerLength)..<end]))
    }

    func udp(start: Int, end: Int, source: String, destination: String, isIPv6: Bool) -> ParsedPacket {
        guard has(start, 8, end: end) else { return short("UDP header", need: 8, at: start, end: end) }
        let present = end - start
        let sourcePort = u16(start)
        let destinationPort = u16(start + 2)
        let declared = Int(u16(start + 4))
        var payloadEnd = end
        var note: UDPLengthNote?
        if declared == 0 && isIPv6 {
            // Jumbogram: the length lives in the hop-by-hop option; take what is present.
        } else if declared < 8 {
            return .malformed(reason: "UDP length \(declared) is below the 8-byte header", offset: start + 4)
        } else if declared > present {
            note = .exceedsPresentBytes(declared: declared, present: present)
        } else {
            payloadEnd = start + declared
            if declared < present { note = .shorterThanIPPayload(declared: declared, ipPayload: present) }
        }
        return .udp(UDPDatagram(recordNumber: recordNumber, time: time,
                                source: Endpoint(address: source, port: sourcePort),
                                destination: Endpoint(address: destination, port: destinationPort),
                                payload: bytes[(start + 8)..<payloadEnd],
                                udpLength: declared, lengthNote: note))
    }
}
