import Foundation
import XCTest
@testable import PanelCapture
import PanelCore

/// Small captures written with PcapWriter for each link type, read back through libpcap.
final class LinkLayerTests: XCTestCase {
    let payload: [UInt8] = Array("PanelSim".utf8) + [0, 1, 2, 0xFF]
    let time = Timestamp(nanoseconds: 1_600_000_000_000_000_001)

    /// Writes one frame with the given link type, reads it back and parses it.
    func roundTrip(_ linkType: Int32, _ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) throws -> (Int32, ParsedPacket) {
        let directory = try temporaryDirectory(self)
        let path = directory.appendingPathComponent("link-\(linkType).pcap").path
        let writer = try PcapWriter(path: path, linkType: linkType)
        try writer.write(time: time, bytes: bytes)
        try writer.close()
        let (readLinkType, frames) = try readFrames(path)
        XCTAssertEqual(frames.count, 1, file: file, line: line)
        let frame = try XCTUnwrap(frames.first, file: file, line: line)
        XCTAssertEqual(frame.time, time, file: file, line: line)
        XCTAssertEqual(frame.bytes, bytes, file: file, line: line)
        return (readLinkType, PacketParser.parse(frame))
    }

    func assertUDP(_ parsed: ParsedPacket, _ source: Endpoint, _ destination: Endpoint,
                   file: StaticString = #filePath, line: UInt = #line) {
        guard let datagram = parsed.udpDatagram else {
            return XCTFail("expected UDP, got \(parsed)", file: file, line: line)
        }
        XCTAssertEqual(datagram.source, source, file: file, line: line)
        XCTAssertEqual(datagram.destination, destination, file: file, line: line)
        XCTAssertEqual(Array(datagram.payload), payload, file: file, line: line)
        XCTAssertNil(datagram.lengthNote, file: file, line: line)
        XCTAssertEqual(datagram.time, time, file: file, line: line)
    }

    let v4a = Endpoint(address: "192.168.10.1", port: 6454)
    let v4b = Endpoint(address: "192.168.10.2", port: 6455)
    let v6a = Endpoint(address: "2001:db8::1", port: 5568)
    let v6b = Endpoint(address: "ff18::83:0:1", port: 5568)

    var udp4: [UInt8] { Build.ipv4UDP(v4a.address, v4a.port, v4b.address, v4b.port, payload) }
    var udp6: [UInt8] { Build.ipv6UDP(v6a.address, v6a.port, v6b.address, v6b.port, payload) }

    func testEthernetWithOneVLANTag() throws {
        let (linkType, parsed) = try roundTrip(LinkLayer.ethernet.linkType,
                                               Build.ethernet(0x0800, udp4, tags: [(0x8100, 0x2064)]))
        XCTAssertEqual(linkType, 1)
        assertUDP(parsed, v4a, v4b)
    }

    func testEthernetWithTwoVLANTags() throws {
        let (_, parsed) = try roundTrip(LinkLayer.ethernet.linkType,
                                        Build.ethernet(0x86DD, udp6, tags: [(0x88A8, 0x0005), (0x8100, 0x0064)]))
        assertUDP(parsed, v6a, v6b)
    }

    func testEthernetWithThreeVLANTagsIsReportedNotTrapped() {
        let frame = CapturedFrame(recordNumber: 1, time: time, linkType: 1,
                                  bytes: Build.ethernet(0x0800, udp4, tags: [(0x88A8, 1), (0x8100, 2), (0x8100, 3)]))
        XCTAssertNotNil(PacketParser.parse(frame).otherReason)
    }

    func testIPv6OverEthernet() throws {
        let (_, parsed) = try roundTrip(LinkLayer.ethernet.linkType, Build.ethernet(0x86DD, udp6))
        assertUDP(parsed, v6a, v6b)
    }

    func testLinuxCookedSLL() throws {
        // packet type 0 (to us), ARPHRD_ETHER, address length 6, address (8 bytes), protocol.
        let header = Build.be16(0) + Build.be16(1) + Build.be16(6) + Build.macA + [0, 0] + Build.be16(0x0800)
        let (linkType, parsed) = try roundTrip(LinkLayer.linuxSLL.linkType, header + udp4)
        XCTAssertEqual(LinkLayer(linkType: linkType), .linuxSLL)
        assertUDP(parsed, v4a, v4b)
    }

    func testLinuxCookedSLL2() throws {
        // protocol, reserved, interface index, ARPHRD_ETHER, packet type, address length, address.
        let header = Build.be16(0x86DD) + [0, 0] + Build.be32(3) + Build.be16(1) + [4, 6] + Build.macA + [0, 0]
        let (linkType, parsed) = try roundTrip(LinkLayer.linuxSLL2.linkType, header + udp6)
        XCTAssertEqual(linkType, 276)
        assertUDP(parsed, v6a, v6b)
    }

    func testBSDNullInBothByteOrders() throws {
        let (linkType, parsed) = try roundTrip(LinkLayer.bsdNull.linkType, Build.le32(2) + udp4)
        XCTAssertEqual(linkType, 0)
        assertUDP(parsed, v4a, v4b)
        // A capture from a big-endian host, and Darwin's AF_INET6 (30).
        let (_, parsedBig) = try roundTrip(LinkLayer.bsdNull.linkType, Build.be32(30) + udp6)
        assertUDP(parsedBig, v6a, v6b)
    }

    func testBSDLoop() throws {
        let (linkType, parsed) = try roundTrip(LinkLayer.bsdLoop.linkType, Build.be32(2) + udp4)
        XCTAssertEqual(linkType, 108)
        assertUDP(parsed, v4a, v4b)
    }

    /// Written as DLT_RAW (12), stored as LINKTYPE_RAW (101), read back by libpcap as 12.
    func testRawIPv4AndIPv6() throws {
        let (linkType, parsed) = try roundTrip(LinkLayer.rawIP.linkType, udp4)
        XCTAssertEqual(linkType, 12)
        assertUDP(parsed, v4a, v4b)
        let (_, parsed6) = try roundTrip(101, udp6)  // LINKTYPE_RAW is accepted by PcapWriter
        assertUDP(parsed6, v6a, v6b)
        let (linkType4, parsedV4) = try roundTrip(LinkLayer.rawIPv4.linkType, udp4)
        XCTAssertEqual(linkType4, 228)
        assertUDP(parsedV4, v4a, v4b)
    }

    func testRawIPFileBytesSayLinktypeRaw101() throws {
        let directory = try temporaryDirectory(self)
        let path = directory.appendingPathComponent("raw.pcap").path
        let writer = try PcapWriter(path: path, linkType: LinkLayer.rawIP.linkType)
        try writer.close()
        let header = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        XCTAssertEqual(Array(header.prefix(4)), [0x4D, 0x3C, 0xB2, 0xA1], "nanosecond pcap magic")
        XCTAssertEqual(Array(header[20..<24]), Build.le32(101))
    }

    func testWriteUDPOnRawIPLinkType() throws {
        let directory = try temporaryDirectory(self)
        let path = directory.appendingPathComponent("rawudp.pcap").path
        let writer = try PcapWriter(path: path, linkType: LinkLayer.rawIP.linkType)
        try writer.writeUDP(time: time, source: v4a, destination: v4b, payload: payload)
        try writer.writeUDP(time: time, source: v6a, destination: v6b, payload: payload)
        try writer.close()
        let (_, frames) = try readFrames(path)
        XCTAssertEqual(frames.count, 2)
        assertUDP(PacketParser.parse(frames[0]), v4a, v4b)
        assertUDP(PacketParser.parse(frames[1]), v6a, v6b)
    }

    func testWriteUDPRefusesLinkTypesItCannotSynthesize() throws {
        let directory = try temporaryDirectory(self)
        let writer = try PcapWriter(path: directory.appendingPathComponent("user0.pcap").path, linkType: 147)
        XCTAssertThrowsError(try writer.writeUDP(time: time, source: v4a, destination: v4b, payload: payload))
        let v4Only = try PcapWriter(path: directory.appendingPathComponent("ipv4.pcap").path,
                                    linkType: LinkLayer.rawIPv4.linkType)
        XCTAssertThrowsError(try v4Only.writeUDP(time: time, source: v6a, destination: v6b, payload: payload))
        XCTAssertThrowsError(try PcapWriter(path: directory.appendingPathComponent("q.pcap").path, vlanTags: [1, 2, 3]))
    }
}

/// Parser behaviour on hand-made frames (no file involved).
final class PacketParserTests: XCTestCase {
    let time = Timestamp(nanoseconds: 42)

    func parse(_ bytes: [UInt8], linkType: Int32 = 1) -> ParsedPacket {
        PacketParser.parse(CapturedFrame(recordNumber: 7, time: time, linkType: linkType, bytes: bytes))
    }

    func testEthernetPaddingIsNotPayload() throws {
        let ip = Build.ipv4UDP("10.0.0.1", 1, "10.0.0.2", 2, [0x42])
        let frame = Build.ethernet(0x0800, ip) + [UInt8](repeating: 0, count: 60 - 14 - ip.count)
        let datagram = try XCTUnwrap(parse(frame).udpDatagram)
        XCTAssertEqual(Array(datagram.payload), [0x42])
        XCTAssertNil(datagram.lengthNote)
        XCTAssertEqual(datagram.recordNumber, 7)
    }

    func testUDPLengthLongerThanIPPayloadIsClampedAndFlagged() throws {
        var ip = Build.ipv4UDP("10.0.0.1", 1, "10.0.0.2", 2, [1, 2, 3, 4])
        ip[20 + 4] = 0; ip[20 + 5] = 100
        let datagram = try XCTUnwrap(parse(Build.ethernet(0x0800, ip)).udpDatagram)
        XCTAssertEqual(Array(datagram.payload), [1, 2, 3, 4])
        XCTAssertEqual(datagram.udpLength, 100)
        XCTAssertEqual(datagram.lengthNote, .exceedsPresentBytes(declared: 100, present: 12))
    }

    func testUDPLengthShorterThanIPPayloadIsFlagged() throws {
        var ip = Build.ipv4UDP("10.0.0.1", 1, "10.0.0.2", 2, [1, 2, 3, 4])
        ip[20 + 5] = 10
        let datagram = try XCTUnwrap(parse(Build.ethernet(0x0800, ip)).udpDatagram)
        XCTAssertEqual(Array(datagram.payload), [1, 2])
        XCTAssertEqual(datagram.lengthNote, .shorterThanIPPayload(declared: 10, ipPayload: 12))
    }

    func testUDPLengthBelowHeaderIsMalformed() throws {
        var ip = Build.ipv4UDP("10.0.0.1", 1, "10.0.0.2", 2, [1, 2, 3, 4])
        ip[20 + 5] = 7
        let malformed = try XCTUnwrap(parse(Build.ethernet(0x0800, ip)).malformedReason)
        XCTAssertEqual(malformed.offset, 14 + 20 + 4)
    }

    func testIPv4FragmentsAreReported() throws {
        var ip = Build.ipv4UDP("10.0.0.1", 1, "10.0.0.2", 2, [UInt8](repeating: 9, count: 16))
        ip[6] = 0x20  // MF
        ip[4] = 0x12; ip[5] = 0x34
        let first = try XCTUnwrap(parse(Build.ethernet(0x0800, ip)).fragment)
        XCTAssertEqual(first.ipVersion, 4)
        XCTAssertEqual(first.identification, 0x1234)
        XCTAssertTrue(first.moreFragments)
        XCTAssertEqual(first.fragmentOffset, 0)
        XCTAssertEqual(first.protocolNumber, 17)
        XCTAssertEqual(first.payload.count, 8 + 16)
        ip[6] = 0x00; ip[7] = 0x03  // last fragment at offset 24
        let last = try XCTUnwrap(parse(Build.ethernet(0x0800, ip)).fragment)
        XCTAssertFalse(last.moreFragments)
        XCTAssertEqual(last.fragmentOffset, 24)

        // The reassembly seam: feeding the (here: whole) payload back decodes UDP.
        let reassembled = PacketParser.parseIPPayload(protocolNumber: first.protocolNumber, payload: first.payload,
                                                      sourceAddress: first.sourceAddress,
                                                      destinationAddress: first.destinationAddress,
                                                      ipVersion: 4, recordNumber: first.recordNumber, time: first.time)
        let datagram = try XCTUnwrap(reassembled.udpDatagram)
        XCTAssertEqual(Array(datagram.payload), [UInt8](repeating: 9, count: 16))
        XCTAssertEqual(datagram.payload.startIndex, first.payload.startIndex + 8)
    }

    /// IPv6 with hop-by-hop, routing and destination-options headers before UDP.
    func testIPv6ExtensionHeadersAreSkipped() throws {
        let plain = Build.ipv6UDP("fe80::a", 1000, "fe80::b", 2000, [7, 7, 7])
        let udp = Array(plain[40...])
        let hopByHop: [UInt8] = [43, 0, 1, 4, 0, 0, 0, 0]                       // next: routing, PadN
        let routing: [UInt8] = [60, 0, 4, 0, 0, 0, 0, 0]                        // next: dest options
        let destOptions: [UInt8] = [17, 1] + [UInt8](repeating: 0, count: 14)  // next: UDP, 16 bytes
        let extensions = hopByHop + routing + destOptions
        var header = Array(plain[0..<40])
        header[6] = 0  // next header: hop-by-hop
        let length = UInt16(extensions.count + udp.count)
        header[4] = UInt8(length >> 8); header[5] = UInt8(length & 0xFF)
        let datagram = try XCTUnwrap(parse(Build.ethernet(0x86DD, header + extensions + udp)).udpDatagram)
        XCTAssertEqual(datagram.source, Endpoint(address: "fe80::a", port: 1000))
        XCTAssertEqual(datagram.destination, Endpoint(address: "fe80::b", port: 2000))
        XCTAssertEqual(Array(datagram.payload), [7, 7, 7])
    }

    func testIPv6FragmentHeaderIsReportedAsFragment() throws {
        let plain = Build.ipv6UDP("2001:db8::1", 1, "2001:db8::2", 2, [1, 2, 3, 4, 5, 6, 7, 8])
        var header = Array(plain[0..<40])
        header[6] = 44
        let fragmentHeader: [UInt8] = [17, 0] + Build.be16(0x0001) + Build.be32(0xDEAD_BEEF)  // offset 0, M set
        let rest = Array(plain[40...])
        let length = UInt16(fragmentHeader.count + rest.count)
        header[4] = UInt8(length >> 8); header[5] = UInt8(length & 0xFF)
        let fragment = try XCTUnwrap(parse(header + fragmentHeader + rest, linkType: 12).fragment)
        XCTAssertEqual(fragment.ipVersion, 6)
        XCTAssertEqual(fragment.identification, 0xDEAD_BEEF)
        XCTAssertTrue(fragment.moreFragments)
        XCTAssertEqual(fragment.protocolNumber, 17)
        XCTAssertEqual(fragment.payload.count, rest.count)

        // An atomic fragment (offset 0, M clear) is a whole packet.
        let atomic: [UInt8] = [17, 0, 0, 0] + Build.be32(1)
        let datagram = try XCTUnwrap(parse(header + atomic + rest, linkType: 12).udpDatagram)
        XCTAssertEqual(Array(datagram.payload), [1, 2, 3, 4, 5, 6, 7, 8])
    }

    func testNonIPEthernetKeepsAddressesAndType() throws {
        let frame = try XCTUnwrap(parse(Build.ethernet(0x0806, [1, 2, 3], tags: [(0x8100, 0x0123)])).ethernetFrame)
        XCTAssertEqual(frame.destination.description, "02:00:00:00:00:0b")
        XCTAssertEqual(frame.source.octets, Build.macA)
        XCTAssertEqual(frame.vlanTags, [0x0123])
        XCTAssertEqual(frame.etherTypeOrLength, 0x0806)
        XCTAssertFalse(frame.isLengthField)
        XCTAssertEqual(Array(frame.payload), [1, 2, 3])
    }

    func testICMPAndUnknownLinkTypesAreOther() throws {
        var ip = Build.ipv4UDP("10.0.0.1", 1, "10.0.0.2", 2, [])
        ip[9] = 1
        XCTAssertEqual(parse(Build.ethernet(0x0800, ip)).otherReason, "IPv4 ICMP is not decoded")
        XCTAssertNotNil(parse([1, 2, 3], linkType: 147).otherReason)
    }

    /// Every prefix of a valid frame, for every link type, decodes or reports; none traps.
    func testEveryTruncationIsMalformedNotATrap() {
        let udp4 = Build.ipv4UDP("10.0.0.1", 1, "10.0.0.2", 2, [1, 2, 3])
        let udp6 = Build.ipv6UDP("::1", 1, "::2", 2, [1, 2, 3])
        let sll = Build.be16(0) + Build.be16(1) + Build.be16(6) + [UInt8](repeating: 0, count: 8) + Build.be16(0x0800)
        let sll2 = Build.be16(0x86DD) + [UInt8](repeating: 0, count: 18)
        let cases: [(Int32, [UInt8])] = [
            (1, Build.ethernet(0x0800, udp4, tags: [(0x8100, 1), (0x8100, 2)])),
            (1, Build.ethernet(0x86DD, udp6)),
            (113, sll + udp4), (276, sll2 + udp6), (0, Build.le32(2) + udp4), (108, Build.be32(24) + udp6),
            (12, udp4), (101, udp6), (228, udp4), (229, udp6),
        ]
        for (linkType, full) in cases {
            for cut in 0..<full.count {
                let parsed = parse(Array(full[0..<cut]), linkType: linkType)
                switch parsed {
                case .malformed(_, let offset):
                    XCTAssertLessThanOrEqual(offset, cut, "link \(linkType) cut \(cut)")
                case .udp(let datagram):
                    // Only once the UDP header is present; the payload is then clamped and flagged.
                    XCTAssertNotNil(datagram.lengthNote, "link \(linkType) cut \(cut)")
                default:
                    XCTFail("link \(linkType) cut \(cut): \(parsed)")
                }
            }
            XCTAssertNotNil(parse(full, linkType: linkType).udpDatagram, "link \(linkType) whole")
        }
    }

    func testRandomBytesNeverTrap() {
        var generator = SystemRandomNumberGenerator()
        for linkType: Int32 in [0, 1, 12, 101, 108, 113, 228, 229, 276] {
            for _ in 0..<2000 {
                let count = Int.random(in: 0..<120, using: &generator)
                var bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
                // Steer towards deeper layers now and then.
                if linkType == 1, bytes.count > 14, Bool.random(using: &generator) { bytes[12] = 0x08; bytes[13] = 0 ; bytes[14] = 0x45 }
                _ = parse(bytes, linkType: linkType)
            }
        }
    }
}
