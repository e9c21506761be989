import Foundation
import XCTest
@testable import PanelCapture
import PanelCore

/// `CaptureDecoder` over generated captures of every link type, pcapng with mixed link
/// types, damaged files, and tshark's reading of what `PcapWriter` writes.
final class DecoderCaptureTests: XCTestCase {
    /// Every link type `PcapWriter` can synthesize, with the IP versions it can carry.
    static let variants: [(name: String, linkType: Int32, vlanTags: [UInt16], ipv6: Bool)] = [
        ("ethernet", LinkLayer.ethernet.linkType, [], true),
        ("ethernet-1-tag", LinkLayer.ethernet.linkType, [0x0064], true),
        ("ethernet-2-tags", LinkLayer.ethernet.linkType, [0x0005, 0x2064], true),
        ("sll", LinkLayer.linuxSLL.linkType, [], true),
        ("sll2", LinkLayer.linuxSLL2.linkType, [], true),
        ("null", LinkLayer.bsdNull.linkType, [], true),
        ("loop", LinkLayer.bsdLoop.linkType, [], true),
        ("raw", LinkLayer.rawIP.linkType, [], true),
        ("raw-ipv4", LinkLayer.rawIPv4.linkType, [], false),
        ("raw-ipv6", LinkLayer.rawIPv6.linkType, [], true),
    ]

    struct Sent {
        var time: Timestamp
        var source: Endpoint
        var destination: Endpoint
        var payload: [UInt8]
    }

    static func datagrams(ipv4: Bool, ipv6: Bool) -> [Sent] {
        var sent: [Sent] = []
        if ipv4 {
            sent.append(Sent(time: Timestamp(nanoseconds: 1_700_000_000_000_000_001),
                             source: Endpoint(address: "192.168.1.10", port: 50_000),
                             destination: Endpoint(address: "192.168.1.20", port: 6454),
                             payload: Array("Art-Net\u{0}".utf8) + (0..<64).map { UInt8($0) }))
            sent.append(Sent(time: Timestamp(nanoseconds: 1_700_000_000_500_000_000),
                             source: Endpoint(address: "10.0.0.1", port: 5568),
                             destination: Endpoint(address: "239.255.0.1", port: 5568),
                             payload: [UInt8](repeating: 0xA5, count: 126)))
        }
        if ipv6 {
            sent.append(Sent(time: Timestamp(nanoseconds: 1_700_000_001_000_000_000),
                             source: Endpoint(address: "2001:db8::7", port: 4048),
                             destination: Endpoint(address: "ff18::83:0:1", port: 4049),
                             payload: [1, 2, 3, 4, 5]))
        }
        return sent
    }

    func writeVariant(_ variant: (name: String, linkType: Int32, vlanTags: [UInt16], ipv6: Bool),
                      in directory: URL) throws -> (path: String, sent: [Sent]) {
        let path = directory.appendingPathComponent("\(variant.name).pcap").path
        let sent = Self.datagrams(ipv4: variant.linkType != LinkLayer.rawIPv6.linkType, ipv6: variant.ipv6)
        let writer = try PcapWriter(path: path, linkType: variant.linkType, vlanTags: variant.vlanTags)
        for datagram in sent {
            try writer.writeUDP(time: datagram.time, source: datagram.source, destination: datagram.destination,
                                payload: datagram.payload)
        }
        try writer.close()
        return (path, sent)
    }

    func testEveryLinkTypeDecodesToTheSameDatagrams() throws {
        let directory = try temporaryDirectory(self)
        for variant in Self.variants {
            let (path, sent) = try writeVariant(variant, in: directory)
            let (events, summary) = try decodeAll(path)
            XCTAssertNil(summary.error, variant.name)
            XCTAssertEqual(summary.linkTypes, [variant.linkType], variant.name)
            let received = events.compactMap { event -> UDPDatagram? in
                if case .udp(let datagram) = event { return datagram }
                return nil
            }
            XCTAssertEqual(events.count, sent.count, "\(variant.name): \(events.map(\.line))")
            XCTAssertEqual(received.map(\.recordNumber), Array(1...sent.count), variant.name)
            XCTAssertEqual(received.map(\.time), sent.map(\.time), variant.name)
            XCTAssertEqual(received.map(\.source), sent.map(\.source), variant.name)
            XCTAssertEqual(received.map(\.destination), sent.map(\.destination), variant.name)
            XCTAssertEqual(received.map { Array($0.payload) }, sent.map(\.payload), variant.name)
        }
    }

    /// The link headers are byte-exact: two tags are 802.1ad then 802.1Q; SLL says "sent by us".
    func testSynthesizedLinkHeadersByteExact() throws {
        let directory = try temporaryDirectory(self)
        let expectedPrefix: [String: [UInt8]] = [
            "ethernet-2-tags": [0x02, 0, 192, 168, 1, 20, 0x02, 0, 192, 168, 1, 10, 0x88, 0xA8, 0x00, 0x05, 0x81, 0x00, 0x20, 0x64, 0x08, 0x00],
            "sll": [0, 4, 0, 1, 0, 6, 0x02, 0, 192, 168, 1, 10, 0, 0, 0x08, 0x00],
            "sll2": [0x08, 0x00, 0, 0, 0, 0, 0, 1, 0, 1, 4, 6, 0x02, 0, 192, 168, 1, 10, 0, 0],
            "null": [2, 0, 0, 0],
            "loop": [0, 0, 0, 2],
            "raw": [0x45],
        ]
        for variant in Self.variants {
            guard let prefix = expectedPrefix[variant.name] else { continue }
            let (path, _) = try writeVariant(variant, in: directory)
            let first = try XCTUnwrap(try readFrames(path).frames.first)
            XCTAssertEqual(Array(first.bytes.prefix(prefix.count)), prefix, variant.name)
        }
    }

    /// A pcapng with Ethernet, raw IP and Linux cooked interfaces, written by `PcapngWriter`.
    func testPcapngWithEthernetRawIPAndSLLInterfaces() throws {
        let directory = try temporaryDirectory(self)
        let path = directory.appendingPathComponent("multi.pcapng").path
        let linkTypes = [LinkLayer.ethernet.linkType, LinkLayer.rawIP.linkType, LinkLayer.linuxSLL.linkType]
        let sent = Self.datagrams(ipv4: true, ipv6: true)
        // Frame each datagram for each interface by writing it through a PcapWriter of that link type.
        var frames: [[UInt8]] = []
        for (index, linkType) in linkTypes.enumerated() {
            let scratch = directory.appendingPathComponent("scratch-\(index).pcap").path
            let writer = try PcapWriter(path: scratch, linkType: linkType)
            for datagram in sent {
                try writer.writeUDP(time: datagram.time, source: datagram.source, destination: datagram.destination,
                                    payload: datagram.payload)
            }
            try writer.close()
            frames += try readFrames(scratch).frames.map(\.bytes)
        }
        let writer = try PcapngWriter(path: path, interfaceLinkTypes: linkTypes)
        for (index, bytes) in frames.enumerated() {
            try writer.write(time: sent[index % sent.count].time, interface: index / sent.count, bytes: bytes)
        }
        try writer.close()

        let reader = try CaptureReader(path: path)
        XCTAssertEqual(reader.interfaceLinkTypes, linkTypes)
        let read = try reader.readAll()
        XCTAssertEqual(read.map(\.bytes), frames)
        XCTAssertEqual(read.map(\.linkType), linkTypes.flatMap { [$0, $0, $0] })
        XCTAssertEqual(read.map(\.time), sent.map(\.time) + sent.map(\.time) + sent.map(\.time))

        let (events, summary) = try decodeAll(path)
        XCTAssertNil(summary.error)
        XCTAssertEqual(summary.records, 9)
        XCTAssertEqual(summary.linkTypes, linkTypes)
        let received = events.compactMap { event -> UDPDatagram? in
            if case .udp(let datagram) = event { return datagram }
            return nil
        }
        XCTAssertEqual(received.map(\.recordNumber), Array(1...9))
        XCTAssertEqual(received.map { Array($0.payload) }, (0..<3).flatMap { _ in sent.map(\.payload) })
        XCTAssertEqual(received.map(\.destination), (0..<3).flatMap { _ in sent.map(\.destination) })

        // tshark reads the same file: three interfaces, nine UDP datagrams.
        if let output = try runTshark(["-r", path, "-T", "fields", "-e", "frame.interface_id", "-e", "udp.dstport"]) {
            let rows = output.split(separator: "\n").map(String.init)
            XCTAssertEqual(rows, ["0\t6454", "0\t5568", "0\t4049", "1\t6454", "1\t5568", "1\t4049", "2\t6454", "2\t5568", "2\t4049"])
        }
    }

    /// Big-endian pcapng, microsecond and binary (2^-10) timestamp resolutions, an unknown
    /// block skipped, a simple packet block.
    func testPcapngBigEndianResolutionsAndSimplePackets() throws {
        func be16(_ v: UInt16) -> [UInt8] { Build.be16(v) }
        func be32(_ v: UInt32) -> [UInt8] { Build.be32(v) }
        func block(_ type: UInt32, _ body: [UInt8]) -> [UInt8] {
            let total = be32(UInt32(12 + body.count))
            return be32(type) + total + body + total
        }
        let ip = Build.ipv4UDP("10.0.0.1", 1, "10.0.0.2", 2, [7, 7, 7, 7])
        let padded = ip + [UInt8](repeating: 0, count: (4 - ip.count % 4) % 4)
        let shb = block(0x0A0D_0D0A, be32(0x1A2B_3C4D) + [0, 1, 0, 0] + [UInt8](repeating: 0xFF, count: 8))
        let idb0 = block(1, be16(101) + [0, 0] + be32(0) + be16(9) + be16(1) + [0x8A, 0, 0, 0] + be32(0))  // 2^-10 s
        let idb1 = block(1, be16(1) + [0, 0] + be32(0))  // microseconds by default
        let epb0 = block(6, be32(0) + be32(0) + be32(3 * 1024 + 512) + be32(UInt32(ip.count)) + be32(UInt32(ip.count)) + padded)
        let unknown = block(0x0BAD, [1, 2, 3, 4])
        let frame = Build.ethernet(0x0800, ip)
        let framePadded = frame + [UInt8](repeating: 0, count: (4 - frame.count % 4) % 4)
        let epb1 = block(6, be32(1) + be32(0) + be32(2_000_001) + be32(UInt32(frame.count)) + be32(UInt32(frame.count)) + framePadded)
        let spb = block(3, be32(UInt32(ip.count)) + padded)  // interface 0: raw IP
        let path = try temporaryDirectory(self).appendingPathComponent("be.pcapng").path
        try Data(shb + idb0 + idb1 + epb0 + unknown + epb1 + spb).write(to: URL(fileURLWithPath: path))

        let reader = try CaptureReader(path: path)
        let frames = try reader.readAll()
        XCTAssertEqual(frames.map(\.time.nanoseconds), [3_500_000_000, 2_000_001_000, 2_000_001_000])
        XCTAssertEqual(frames.map(\.linkType), [LinkLayer.rawIP.linkType, 1, LinkLayer.rawIP.linkType])
        XCTAssertEqual(frames.map(\.bytes), [ip, frame, ip])
    }

    /// Damage in a mixed pcapng ends the reading with an error naming the record; the
    /// records before it are handed on.
    func testPcapngDamageNamesTheRecordAndKeepsEverythingBefore() throws {
        let ip = Build.ipv4UDP("10.0.0.1", 1, "10.0.0.2", 2, [5, 5])
        let good = Build.pcapngSectionHeader() + Build.pcapngInterface(linkType: 1) + Build.pcapngInterface(linkType: 101)
            + Build.pcapngPacket(interface: 0, microseconds: 1, data: Build.ethernet(0x0800, ip))
            + Build.pcapngPacket(interface: 1, microseconds: 2, data: ip)
        let third = Build.pcapngPacket(interface: 1, microseconds: 3, data: ip)
        var badTrailer = third
        badTrailer[badTrailer.count - 4] ^= 0x04
        var badInterface = third
        badInterface[8] = 7
        var hugeCaptured = third
        hugeCaptured[20] = 0xFF; hugeCaptured[21] = 0xFF
        let cases: [(String, [UInt8], String)] = [
            ("truncated", Array(third.prefix(third.count - 10)), "file ends inside a block"),
            ("trailer", badTrailer, "trailing block length"),
            ("interface", badInterface, "packet of interface 7"),
            ("captured", hugeCaptured, "captured length 65535 runs past the block"),
            ("length", Array(third.prefix(4)) + Build.le32(0x7FFF_FFF0) + Array(third.dropFirst(8)), "block length"),
        ]
        let directory = try temporaryDirectory(self)
        for (name, tail, message) in cases {
            let path = directory.appendingPathComponent("\(name).pcapng").path
            try Data(good + tail).write(to: URL(fileURLWithPath: path))
            let (events, summary) = try decodeAll(path)
            XCTAssertEqual(events.map(\.line), ["udp #1 10.0.0.1:1 → 10.0.0.2:2 2 bytes", "udp #2 10.0.0.1:1 → 10.0.0.2:2 2 bytes"], name)
            XCTAssertEqual(summary.records, 2, name)
            let error = try XCTUnwrap(summary.error, name)
            XCTAssertEqual(error.recordNumber, 3, name)
            XCTAssertEqual(error.kind, .read, name)
            XCTAssertTrue(error.message.contains(message), "\(name): \(error.message)")
        }
    }

    /// A pcap whose last record is cut: the decoder hands on everything before, names record
    /// 3 in the summary, and still ends the open TCP stream.
    func testTruncatedLastRecordKeepsEverythingBefore() throws {
        let directory = try temporaryDirectory(self)
        let path = directory.appendingPathComponent("cut.pcap").path
        let writer = try PcapWriter(path: path)
        try writer.writeUDP(time: Timestamp(nanoseconds: 1), source: Endpoint(address: "10.0.0.1", port: 1),
                            destination: Endpoint(address: "10.0.0.2", port: 2), payload: [1, 2, 3])
        try writer.writeIP(time: Timestamp(nanoseconds: 2),
                           packet: Build.ipv4("10.0.0.1", "10.0.0.2", protocolNumber: 6,
                                              payload: Build.tcp(3, 4, seq: 10, flags: .ack, Array("abc".utf8))))
        try writer.writeUDP(time: Timestamp(nanoseconds: 3), source: Endpoint(address: "10.0.0.1", port: 1),
                            destination: Endpoint(address: "10.0.0.2", port: 2), payload: [UInt8](repeating: 0, count: 100))
        try writer.close()
        var data = try Data(contentsOf: URL(fileURLWithPath: path))
        data.removeLast(50)
        try data.write(to: URL(fileURLWithPath: path))
        let (events, summary) = try decodeAll(path)
        XCTAssertEqual(events.map(\.line), [
            "udp #1 10.0.0.1:1 → 10.0.0.2:2 3 bytes",
            "open #2 c1 client 10.0.0.1:3 → 10.0.0.2:4",
            "data #2 c1 client \"abc\"",
            "close c1 10.0.0.1:3 → 10.0.0.2:4 capture-ended",
        ])
        XCTAssertEqual(summary.records, 2)
        XCTAssertEqual(summary.error?.recordNumber, 3)
        XCTAssertTrue(summary.error?.description.hasPrefix("\(path): record 3: ") ?? false, "\(String(describing: summary.error))")
    }

    /// tshark (the oracle) reads each generated capture and finds the same UDP datagrams.
    func testTsharkReadsEveryGeneratedLinkType() throws {
        guard tsharkPath != nil else { throw XCTSkip("tshark is not installed; skipping the comparison with Wireshark") }
        let directory = try temporaryDirectory(self)
        for variant in Self.variants {
            let (path, sent) = try writeVariant(variant, in: directory)
            guard let output = try runTshark(["-r", path, "-Y", "udp", "-T", "fields",
                                              "-e", "udp.srcport", "-e", "udp.dstport", "-e", "udp.length"]) else { return }
            let rows = output.split(separator: "\n").map(String.init)
            XCTAssertEqual(rows, sent.map { "\($0.source.port)\t\($0.destination.port)\t\($0.payload.count + 8)" }, variant.name)
        }
    }
}
