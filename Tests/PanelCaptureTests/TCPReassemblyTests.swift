import Foundation
import XCTest
@testable import PanelCapture
import PanelCore

/// TCP stream reassembly in `CaptureDecoder`, on captures written with `PcapWriter.writeIP`.
final class TCPReassemblyTests: XCTestCase {
    struct Segment {
        var from: (String, UInt16)
        var to: (String, UInt16)
        var seq: UInt32
        var flags: TCPFlags
        var data: String = ""
    }

    func write(_ segments: [Segment], linkType: Int32 = LinkLayer.ethernet.linkType) throws -> String {
        let path = try temporaryDirectory(self).appendingPathComponent("tcp.pcap").path
        let writer = try PcapWriter(path: path, linkType: linkType)
        for (index, segment) in segments.enumerated() {
            let tcp = Build.tcp(segment.from.1, segment.to.1, seq: segment.seq, flags: segment.flags, Array(segment.data.utf8))
            let packet = Build.ipv4(segment.from.0, segment.to.0, protocolNumber: 6, payload: tcp)
            try writer.writeIP(time: Timestamp(nanoseconds: 1_000_000_000 + Int64(index) * 1_000_000), packet: packet)
        }
        try writer.close()
        return path
    }

    let client = ("10.0.0.1", UInt16(40000))
    let server = ("10.0.0.2", UInt16(7890))

    func testHandshakeRetransmissionReorderingOverlapAndFin() throws {
        let path = try write([
            Segment(from: client, to: server, seq: 1000, flags: .syn),                         // 1
            Segment(from: server, to: client, seq: 5000, flags: [.syn, .ack]),                 // 2
            Segment(from: client, to: server, seq: 1001, flags: .ack),                         // 3: pure ACK
            Segment(from: client, to: server, seq: 1001, flags: [.ack, .psh], data: "hello "), // 4
            Segment(from: client, to: server, seq: 1013, flags: .ack, data: "world"),          // 5: ahead
            Segment(from: client, to: server, seq: 1007, flags: .ack, data: "brave "),         // 6: fills the gap
            Segment(from: client, to: server, seq: 1001, flags: .ack, data: "hello brave"),    // 7: retransmission
            Segment(from: client, to: server, seq: 1016, flags: .ack, data: "ld!!"),           // 8: overlaps 2 bytes
            Segment(from: server, to: client, seq: 5001, flags: .ack, data: "ok"),             // 9
            Segment(from: client, to: server, seq: 1020, flags: [.fin, .ack]),                 // 10
            Segment(from: server, to: client, seq: 5003, flags: [.fin, .ack]),                 // 11
            Segment(from: client, to: server, seq: 1021, flags: .ack),                         // 12: last ACK
        ])
        let (events, summary) = try decodeAll(path)
        XCTAssertEqual(events.map(\.line), [
            "open #1 c1 client 10.0.0.1:40000 → 10.0.0.2:7890",
            "open #2 c1 server 10.0.0.2:7890 → 10.0.0.1:40000",
            "data #4 c1 client \"hello \"",
            "data #6 c1 client \"brave \"",
            "data #6 c1 client \"world\"",
            "data #8 c1 client \"!!\"",
            "data #9 c1 server \"ok\"",
            "close c1 10.0.0.1:40000 → 10.0.0.2:7890 fin",
            "close c1 10.0.0.2:7890 → 10.0.0.1:40000 fin",
        ])
        XCTAssertEqual(summary.records, 12)
    }

    /// A segment that was never captured: at the end the hole is skipped, what follows is
    /// delivered with `missingBefore`, and the FIN behind it is then reached.
    func testMissingSegmentIsSkippedAtTheEndAndNamed() throws {
        let a = ("10.0.0.1", UInt16(1)), b = ("10.0.0.2", UInt16(2))
        let path = try write([
            Segment(from: a, to: b, seq: 1, flags: .ack, data: "aaaa"),
            Segment(from: a, to: b, seq: 9, flags: .ack, data: "cccc"),
            Segment(from: a, to: b, seq: 13, flags: [.fin, .ack]),
        ], linkType: LinkLayer.rawIP.linkType)
        let (events, _) = try decodeAll(path)
        XCTAssertEqual(events.map(\.line), [
            "open #1 c1 client 10.0.0.1:1 → 10.0.0.2:2",
            "data #1 c1 client \"aaaa\"",
            "problem #3: TCP 10.0.0.1:1 → 10.0.0.2:2 (connection 1): 4 bytes before sequence 9 were never captured; skipped",
            "data #3 c1 client missing 4 \"cccc\"",
            "close c1 10.0.0.1:1 → 10.0.0.2:2 fin",
        ])
    }

    /// Handshake missing (the first segment seen decides who is the client), RST ending both
    /// directions, a second connection, and a new SYN on a closed 4-tuple starting a third.
    func testResetTwoConnectionsMissingHandshakeAndReuse() throws {
        let web = ("10.0.0.2", UInt16(80)), browser = ("10.0.0.1", UInt16(50000))
        let c = ("10.0.0.3", UInt16(40001)), s = ("10.0.0.4", UInt16(5200))
        let path = try write([
            Segment(from: web, to: browser, seq: 7000, flags: .ack, data: "resp"),  // 1
            Segment(from: c, to: s, seq: 0, flags: .syn),                            // 2
            Segment(from: browser, to: web, seq: 300, flags: .rst),                  // 3
            Segment(from: c, to: s, seq: 1, flags: .ack, data: "x"),                 // 4
            Segment(from: c, to: s, seq: 2, flags: [.fin, .ack]),                    // 5
            Segment(from: s, to: c, seq: 900, flags: [.fin, .ack]),                  // 6
            Segment(from: c, to: s, seq: 5000, flags: .syn),                         // 7: reuse
            Segment(from: c, to: s, seq: 5001, flags: .ack, data: "again"),          // 8
            Segment(from: web, to: browser, seq: 7004, flags: .ack, data: "late"),   // 9: after the RST
        ])
        let (events, _) = try decodeAll(path)
        XCTAssertEqual(events.map(\.line), [
            "open #1 c1 client 10.0.0.2:80 → 10.0.0.1:50000",
            "data #1 c1 client \"resp\"",
            "open #2 c2 client 10.0.0.3:40001 → 10.0.0.4:5200",
            "open #3 c1 server 10.0.0.1:50000 → 10.0.0.2:80",
            "close c1 10.0.0.2:80 → 10.0.0.1:50000 reset",
            "close c1 10.0.0.1:50000 → 10.0.0.2:80 reset",
            "data #4 c2 client \"x\"",
            "close c2 10.0.0.3:40001 → 10.0.0.4:5200 fin",
            "open #6 c2 server 10.0.0.4:5200 → 10.0.0.3:40001",
            "close c2 10.0.0.4:5200 → 10.0.0.3:40001 fin",
            "open #7 c3 client 10.0.0.3:40001 → 10.0.0.4:5200",
            "data #8 c3 client \"again\"",
            "close c3 10.0.0.3:40001 → 10.0.0.4:5200 capture-ended",
        ])
    }

    /// Segments held behind a hole are bounded (256 per direction): the 257th makes the
    /// reassembler skip the oldest hole instead of holding more.
    func testHeldSegmentsAreBoundedAndTheHoleIsSkipped() throws {
        let a = ("10.0.0.1", UInt16(1)), b = ("10.0.0.2", UInt16(2))
        var segments = [Segment(from: a, to: b, seq: 1, flags: .ack, data: "a")]
        for index in 0..<257 {  // one byte every other sequence number: a hole before each
            segments.append(Segment(from: a, to: b, seq: UInt32(3 + 2 * index), flags: .ack, data: "b"))
        }
        let (events, _) = try decodeAll(try write(segments))
        let lines = events.map(\.line)
        let problems = lines.filter { $0.hasPrefix("problem") }
        XCTAssertEqual(problems.count, 257)
        XCTAssertEqual(problems.first, "problem #258: TCP 10.0.0.1:1 → 10.0.0.2:2 (connection 1): 1 bytes before sequence 3 were never captured; skipped")
        // The first skip happens while reading record 258, before the end of the capture.
        XCTAssertEqual(lines[2], problems.first)
        XCTAssertEqual(lines[3], "data #258 c1 client missing 1 \"b\"")
        var delivered = 0
        for event in events {
            if case .tcpData(let data) = event {
                delivered += data.payload.count
                XCTAssertEqual(data.missingBefore, delivered == 1 ? 0 : 1)
            }
        }
        XCTAssertEqual(delivered, 258)
        XCTAssertEqual(lines.last, "close c1 10.0.0.1:1 → 10.0.0.2:2 capture-ended")
    }

    /// Sequence numbers wrap modulo 2^32.
    func testSequenceNumbersWrap() throws {
        let path = try write([
            Segment(from: client, to: server, seq: 0xFFFF_FFFC, flags: .ack, data: "abcd"),
            Segment(from: client, to: server, seq: 2, flags: .ack, data: "gh"),
            Segment(from: client, to: server, seq: 0, flags: .ack, data: "ef"),
        ])
        let (events, _) = try decodeAll(path)
        let data = events.compactMap { event -> String? in
            guard case .tcpData(let d) = event else { return nil }
            return String(decoding: d.payload, as: UTF8.self)
        }
        XCTAssertEqual(data, ["abcd", "ef", "gh"])
    }

    /// TCP headers: data offset checked against the bytes present.
    func testTCPHeaderDecodingAndBounds() throws {
        var tcp = Build.tcp(1234, 80, seq: 0x0102_0304, ack: 0x0A0B_0C0D, flags: [.syn, .ack], [9, 9])
        let packet = Build.ipv4("10.0.0.1", "10.0.0.2", protocolNumber: 6, payload: tcp)
        let frame = CapturedFrame(recordNumber: 4, time: .zero, linkType: 12, bytes: packet)
        guard case .tcp(let segment) = PacketParser.parse(frame) else { return XCTFail("not TCP") }
        XCTAssertEqual(segment.source, Endpoint(address: "10.0.0.1", port: 1234))
        XCTAssertEqual(segment.destination, Endpoint(address: "10.0.0.2", port: 80))
        XCTAssertEqual(segment.sequenceNumber, 0x0102_0304)
        XCTAssertEqual(segment.acknowledgementNumber, 0x0A0B_0C0D)
        XCTAssertEqual(segment.flags, [.syn, .ack])
        XCTAssertEqual(segment.headerLength, 20)
        XCTAssertEqual(Array(segment.payload), [9, 9])
        XCTAssertEqual(segment.recordNumber, 4)
        tcp[12] = 0xF0  // data offset 60 bytes, only 22 present
        let long = CapturedFrame(recordNumber: 1, time: .zero, linkType: 12,
                                 bytes: Build.ipv4("10.0.0.1", "10.0.0.2", protocolNumber: 6, payload: tcp))
        XCTAssertEqual(PacketParser.parse(long).malformedReason?.reason, "TCP header with options needs 60 bytes, only 22 present")
        tcp[12] = 0x40  // data offset 16 bytes: below the header
        let short = CapturedFrame(recordNumber: 1, time: .zero, linkType: 12,
                                  bytes: Build.ipv4("10.0.0.1", "10.0.0.2", protocolNumber: 6, payload: tcp))
        XCTAssertEqual(PacketParser.parse(short).malformedReason?.offset, 20 + 12)
    }
}
