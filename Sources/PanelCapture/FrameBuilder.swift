/// Synthesizes link, IP and UDP headers for `PcapWriter.writeUDP` (and for tests).
enum FrameBuilder {
    /// Largest UDP payload in one IPv4 datagram: 65535 − 20 (IPv4) − 8 (UDP).
    static let maxIPv4UDPPayload = 65_507
    /// Largest UDP payload in one IPv6 packet without a jumbogram: 65535 − 8 (UDP).
    static let maxIPv6UDPPayload = 65_527

    /// IPv4 header (no options, DF clear, TTL 64, header checksum) + UDP header (with
    /// checksum) + payload. The caller has checked `payload.count <= maxIPv4UDPPayload`.
    static func ipv4UDP<C: Collection>(source: [UInt8], sourcePort: UInt16,
                                       destination: [UInt8], destinationPort: UInt16,
                                       identification: UInt16, payload: C) -> [UInt8] where C.Element == UInt8 {
        let udpLength = 8 + payload.count
        let totalLength = 20 + udpLength
        var packet: [UInt8] = []
        packet.reserveCapacity(totalLength)
        packet += [0x45, 0x00]
        append16(&packet, UInt16(truncatingIfNeeded: totalLength))
        append16(&packet, identification)
        packet += [0x00, 0x00, 64, 17, 0x00, 0x00]  // flags/offset 0, TTL 64, UDP, checksum
        packet += source
        packet += destination
        let headerChecksum = checksum(packet[0..<20])
        packet[10] = UInt8(headerChecksum >> 8)
        packet[11] = UInt8(headerChecksum & 0xFF)

        var pseudo = source + destination
        pseudo += [0, 17]
        append16(&pseudo, UInt16(truncatingIfNeeded: udpLength))
        appendUDP(&packet, sourcePort: sourcePort, destinationPort: destinationPort, payload: payload, pseudoHeader: pseudo)
        return packet
    }

    /// IPv6 header (hop limit 64) + UDP header (checksum, mandatory for IPv6) + payload.
    /// The caller has checked `payload.count <= maxIPv6UDPPayload`.
    static func ipv6UDP<C: Collection>(source: [UInt8], sourcePort: UInt16,
                                       destination: [UInt8], destinationPort: UInt16,
                                       payload: C) -> [UInt8] where C.Element == UInt8 {
        let udpLength = 8 + payload.count
        var packet: [UInt8] = [0x60, 0, 0, 0]
        packet.reserveCapacity(40 + udpLength)
        append16(&packet, UInt16(truncatingIfNeeded: udpLength))
        packet += [17, 64]
        packet += source
        packet += destination
        var pseudo = source + destination
        pseudo += [0, 0]
        append16(&pseudo, UInt16(truncatingIfNeeded: udpLength))
        pseudo += [0, 0, 0, 17]
        appendUDP(&packet, sourcePort: sourcePort, destinationPort: destinationPort, payload: payload, pseudoHeader: pseudo)
        return packet
    }

    /// UDP header + payload, with the checksum over the IP version's pseudo-header.
    static func appendUDP<C: Collection>(_ packet: inout [UInt8], sourcePort: UInt16, destinationPort: UInt16,
                                         payload: C, pseudoHeader: [UInt8]) where C.Element == UInt8 {
        let udpStart = packet.count
        append16(&packet, sourcePort)
        append16(&packet, destinationPort)
        append16(&packet, UInt16(truncatingIfNeeded: 8 + payload.count))
        append16(&packet, 0)
        packet.append(contentsOf: payload)
        let checksumValue = udpChecksum(packet[udpStart...], pseudoHeader: pseudoHeader)
        packet[udpStart + 6] = UInt8(checksumValue >> 8)
        packet[udpStart + 7] = UInt8(checksumValue & 0xFF)
    }

    /// IPv4 header + TCP header (20 bytes, no options, window 65535, checksum) + payload.
    /// The caller keeps `payload.count` within one segment.
    static func ipv4TCP<C: Collection>(source: [UInt8], sourcePort: UInt16, destination: [UInt8], destinationPort: UInt16,
                                       sequence: UInt32, acknowledgement: UInt32, flags: UInt8, identification: UInt16,
                                       payload: C) -> [UInt8] where C.Element == UInt8 {
        let tcpLength = 20 + payload.count
        var packet: [UInt8] = [0x45, 0x00]
        packet.reserveCapacity(20 + tcpLength)
        append16(&packet, UInt16(truncatingIfNeeded: 20 + tcpLength))
        append16(&packet, identification)
        packet += [0x40, 0x00, 64, 6, 0x00, 0x00]  // DF, TTL 64, TCP, checksum
        packet += source
        packet += destination
        let headerChecksum = checksum(packet[0..<20])
        packet[10] = UInt8(headerChecksum >> 8)
        packet[11] = UInt8(headerChecksum & 0xFF)
        let tcpStart = packet.count
        append16(&packet, sourcePort)
        append16(&packet, destinationPort)
        for value in [sequence, acknowledgement] {
            append16(&packet, UInt16(truncatingIfNeeded: value >> 16))
            append16(&packet, UInt16(truncatingIfNeeded: value))
        }
        packet += [0x50, flags, 0xFF, 0xFF, 0, 0, 0, 0]  // data offset 5, flags, window, checksum, urgent
        packet.append(contentsOf: payload)
        var pseudo = source + destination
        pseudo += [0, 6]
        append16(&pseudo, UInt16(truncatingIfNeeded: tcpLength))
        let tcpChecksum = checksum(packet[tcpStart...], seed: sum(pseudo[...]))
        packet[tcpStart + 16] = UInt8(tcpChecksum >> 8)
        packet[tcpStart + 17] = UInt8(tcpChecksum & 0xFF)
        return packet
    }

    /// Ethernet II header (with 802.1Q tags: one tag as 0x8100; two as 0x88A8 then 0x8100)
    /// + payload.
    static func ethernet(destination: MACAddress, source: MACAddress, vlanTags: [UInt16] = [],
                         etherType: UInt16, payload: [UInt8]) -> [UInt8] {
        var frame = destination.octets + source.octets
        frame.reserveCapacity(14 + 4 * vlanTags.count + payload.count)
        for (index, tag) in vlanTags.enumerated() {
            append16(&frame, index + 1 < vlanTags.count ? 0x88A8 : 0x8100)
            append16(&frame, tag)
        }
        append16(&frame, etherType)
        frame += payload
        return frame
    }

    /// Linux cooked v1 header: sent by us (4), ARPHRD_ETHER, 6-byte address padded to 8,
    /// protocol.
    static func linuxSLL(source: MACAddress, etherType: UInt16) -> [UInt8] {
        var header: [UInt8] = [0, 4, 0, 1, 0, 6]
        header += source.octets + [0, 0]
        append16(&header, etherType)
        return header
    }

    /// Linux cooked v2 header: protocol, reserved, interface index 1, ARPHRD_ETHER, sent by
    /// us (4), address length 6, address padded to 8.
    static func linuxSLL2(source: MACAddress, etherType: UInt16) -> [UInt8] {
        var header: [UInt8] = []
        append16(&header, etherType)
        header += [0, 0, 0, 0, 0, 1, 0, 1, 4, 6]
        return header + source.octets + [0, 0]
    }

    /// BSD loopback address family: AF_INET 2, AF_INET6 24 (the BSD value Wireshark
    /// reads everywhere); NULL in little-endian (the writing host's order), LOOP in network order.
    static func loopbackFamily(isIPv6: Bool, networkOrder: Bool) -> [UInt8] {
        let family: UInt8 = isIPv6 ? 24 : 2
        return networkOrder ? [0, 0, 0, family] : [family, 0, 0, 0]
    }

    /// A locally administered MAC for an IP address: multicast and broadcast addresses get
    /// their standard group MACs, unicast ones 02:00 followed by the address's last 4 bytes,
    /// so every host in a synthesized capture has its own MAC.
    static func mac(forIP address: [UInt8]) -> MACAddress {
        if address.count == 4 {
            if address == [255, 255, 255, 255] { return .broadcast }
            if address[0] & 0xF0 == 0xE0 {  // 224.0.0.0/4 → 01:00:5e + low 23 bits
                return MACAddress(octets: [0x01, 0x00, 0x5E, address[1] & 0x7F, address[2], address[3]]) ?? .broadcast
            }
        } else if address.count == 16, address[0] == 0xFF {  // ff00::/8 → 33:33 + low 32 bits
            return MACAddress(octets: [0x33, 0x33] + address.suffix(4)) ?? .broadcast
        }
        return MACAddress(octets: [0x02, 0x00] + address.suffix(4)) ?? .broadcast
    }

    static func append16(_ bytes: inout [UInt8], _ value: UInt16) {
        bytes.append(UInt8(value >> 8))
        bytes.append(UInt8(value & 0xFF))
    }

    /// One's-complement sum of 16-bit big-endian words (odd byte padded with zero). The
    /// inputs are at most 64 KiB, so a UInt64 accumulator cannot overflow.
    static func sum(_ bytes: ArraySlice<UInt8>) -> UInt64 {
        var total: UInt64 = 0
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let high = UInt64(bytes[index]) << 8
            let next = bytes.index(after: index)
            let low = next < bytes.endIndex ? UInt64(bytes[next]) : 0
            total += high | low
            index = next < bytes.endIndex ? bytes.index(after: next) : next
        }
        return total
    }

    /// The Internet checksum of `bytes` (plus a pre-summed pseudo-header).
    static func checksum(_ bytes: ArraySlice<UInt8>, seed: UInt64 = 0) -> UInt16 {
        var total = seed + sum(bytes)
        while total > 0xFFFF { total = (total & 0xFFFF) + (total >> 16) }
        return ~UInt16(truncatingIfNeeded: total)
    }

    /// The UDP checksum: a computed 0 is sent as 0xFFFF (0 means "no checksum", RFC 768).
    static func udpChecksum(_ bytes: ArraySlice<UInt8>, pseudoHeader: [UInt8]) -> UInt16 {
        let value = checksum(bytes, seed: sum(pseudoHeader[...]))
        return value == 0 ? 0xFFFF : value
    }
}
