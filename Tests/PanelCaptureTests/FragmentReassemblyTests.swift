import Foundation
import XCTest
@testable import PanelCapture
import PanelCore

/// IP fragment reassembly in `CaptureDecoder`, on captures written with `PcapWriter.writeIP`.
final class FragmentReassemblyTests: XCTestCase {
    let second: Int64 = 1_000_000_000
    let base: Int64 = 1_700_000_000_000_000_000

    func time(_ seconds: Int64) -> Timestamp { Timestamp(nanoseconds: base + seconds * second) }

    func write(_ packets: [(Int64, [UInt8])], linkType: Int32 = LinkLayer.ethernet.linkType) throws -> String {
        let path = try temporaryDirectory(self).appendingPathComponent("fragments.pcap").path
        let writer = try PcapWriter(path: path, linkType: linkType)
        for (seconds, packet) in packets { try writer.writeIP(time: time(seconds), packet: packet) }
        try writer.close()
        return path
    }

    /// 3000 bytes of UDP payload: IP payload 3008 bytes in fragments [0,1200) [1200,2400) [2400,3008),
    /// arriving last first, the last duplicated, and the middle one overlapping the first with
    /// other bytes (which must lose: first data wins).
    func testFragmentsOutOfOrderOverlappingAndDuplicatedReassembleByteExact() throws {
        let payload = (0..<3000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let udp = Build.udp(6454, 6454, payload)
        func fragment(_ range: Range<Int>, bytes: [UInt8]? = nil) -> [UInt8] {
            Build.ipv4("10.0.0.1", "10.0.0.2", protocolNumber: 17, identification: 0x4242,
                       fragmentOffset: range.lowerBound, moreFragments: range.upperBound < udp.count,
                       payload: bytes ?? Array(udp[range]))
        }
        let overlapping = [UInt8](repeating: 0xEE, count: 200) + Array(udp[1200..<2400])
        let plain = Build.ipv4UDP("10.0.0.3", 1, "10.0.0.4", 2, [1, 2, 3])
        let path = try write([
            (0, fragment(2400..<3008)),
            (0, fragment(0..<1200)),
            (0, plain),
            (0, fragment(2400..<3008)),                          // duplicate
            (1, fragment(1000..<2400, bytes: overlapping)),      // completes it; 200 bytes overlap
            (2, fragment(0..<1200)),                             // a duplicate after completion
        ])
        let (events, summary) = try decodeAll(path)
        XCTAssertEqual(events.map(\.line), [
            "udp #3 10.0.0.3:1 → 10.0.0.4:2 3 bytes",
            "udp #5 10.0.0.1:6454 → 10.0.0.2:6454 3000 bytes",
        ])
        guard case .udp(let datagram) = events.last else { return XCTFail("no datagram") }
        XCTAssertEqual(Array(datagram.payload), payload)
        XCTAssertEqual(datagram.time, time(1))
        XCTAssertEqual(datagram.udpLength, 3008)
        XCTAssertNil(datagram.lengthNote)
        XCTAssertEqual(summary.reassembledDatagrams, 1)
        XCTAssertEqual(summary.overlappingFragments, 3)
        XCTAssertEqual(summary.records, 6)
        XCTAssertNil(summary.error)
    }

    /// A datagram whose middle fragment never comes is given up 30 s after its first fragment,
    /// before the record that passes the deadline is handed on; one still pending at the end
    /// is given up then.
    func testFragmentsThatNeverCompleteAreGivenUpNamingTheirRecords() throws {
        let udp = Build.udp(1000, 2000, [UInt8](repeating: 9, count: 40))
        let first = Build.ipv4("10.0.0.1", "10.0.0.2", protocolNumber: 17, identification: 7,
                               fragmentOffset: 0, moreFragments: true, payload: Array(udp[0..<16]))
        let last = Build.ipv4("10.0.0.1", "10.0.0.2", protocolNumber: 17, identification: 7,
                              fragmentOffset: 32, moreFragments: false, payload: Array(udp[32...]))
        let lonely = Build.ipv4("10.0.0.5", "10.0.0.6", protocolNumber: 17, identification: 8,
                                fragmentOffset: 8, moreFragments: true, payload: Array(udp[8..<16]))
        let plain = Build.ipv4UDP("10.0.0.3", 1, "10.0.0.4", 2, [1])
        let path = try write([(0, first), (10, last), (30, plain), (31, plain), (32, lonely), (40, plain)])
        let (events, summary) = try decodeAll(path)
        XCTAssertEqual(events.map(\.line), [
            "udp #3 10.0.0.3:1 → 10.0.0.4:2 1 bytes",
            "problem #1: IPv4 UDP datagram 10.0.0.1 → 10.0.0.2 id 0x7: incomplete 30 s after its first fragment; given up with 32 of 48 bytes, from records 1, 2",
            "udp #4 10.0.0.3:1 → 10.0.0.4:2 1 bytes",
            "udp #6 10.0.0.3:1 → 10.0.0.4:2 1 bytes",
            "problem #5: IPv4 UDP datagram 10.0.0.5 → 10.0.0.6 id 0x8: incomplete when the capture ended; given up with 8 of ? bytes, from records 5",
        ])
        XCTAssertEqual(summary.reassembledDatagrams, 0)
    }

    /// IPv6 fragments (over Linux cooked v2) reassemble like IPv4 ones.
    func testIPv6FragmentsReassemble() throws {
        let payload = (0..<100).map { UInt8($0) }
        let udp = Build.udp(5568, 5568, payload)
        func fragment(_ range: Range<Int>) -> [UInt8] {
            Build.ipv6Fragment("2001:db8::1", "ff18::1", nextHeader: 17, identification: 0xDEAD_BEEF,
                               fragmentOffset: range.lowerBound, moreFragments: range.upperBound < udp.count,
                               payload: Array(udp[range]))
        }
        let path = try write([(0, fragment(56..<108)), (0, fragment(0..<56))], linkType: LinkLayer.linuxSLL2.linkType)
        let (events, summary) = try decodeAll(path)
        XCTAssertEqual(events.map(\.line), ["udp #2 [2001:db8::1]:5568 → [ff18::1]:5568 100 bytes"])
        guard case .udp(let datagram) = events.first else { return XCTFail("no datagram") }
        XCTAssertEqual(Array(datagram.payload), payload)
        XCTAssertEqual(summary.reassembledDatagrams, 1)
    }

    /// TCP carried in fragments goes on to stream reassembly.
    func testTCPInFragmentsReachesTheStream() throws {
        let segment = Build.tcp(40000, 7890, seq: 100, flags: [.ack, .psh], Array("fragmented stream bytes!".utf8))
        let first = Build.ipv4("10.0.0.1", "10.0.0.2", protocolNumber: 6, identification: 3,
                               fragmentOffset: 0, moreFragments: true, payload: Array(segment[0..<24]))
        let last = Build.ipv4("10.0.0.1", "10.0.0.2", protocolNumber: 6, identification: 3,
                              fragmentOffset: 24, moreFragments: false, payload: Array(segment[24...]))
        let (events, _) = try decodeAll(try write([(0, first), (0, last)], linkType: LinkLayer.rawIP.linkType))
        XCTAssertEqual(events.map(\.line), [
            "open #2 c1 client 10.0.0.1:40000 → 10.0.0.2:7890",
            "data #2 c1 client \"fragmented stream bytes!\"",
            "close c1 10.0.0.1:40000 → 10.0.0.2:7890 capture-ended",
        ])
    }

    /// More than 256 datagrams in flight: the oldest is given up to make room.
    func testDatagramsInFlightAreBounded() throws {
        var packets: [(Int64, [UInt8])] = []
        for id in 0...256 {
            packets.append((0, Build.ipv4("10.0.0.1", "10.0.0.2", protocolNumber: 17, identification: UInt16(id),
                                          fragmentOffset: 0, moreFragments: true, payload: [UInt8](repeating: 0, count: 8))))
        }
        let (events, _) = try decodeAll(try write(packets))
        let problems = events.map(\.line)
        XCTAssertEqual(problems.count, 257)
        XCTAssertEqual(problems.first, "problem #1: IPv4 UDP datagram 10.0.0.1 → 10.0.0.2 id 0x0: evicted: more than 256 datagrams in flight; given up with 8 of ? bytes, from records 1")
        XCTAssertTrue(problems.dropFirst().allSatisfy { $0.contains("incomplete when the capture ended") })
    }

    /// A fragment claiming bytes beyond 65,535 is refused, not allocated.
    func testFragmentBeyondTheLargestDatagramIsRefused() throws {
        let huge = Build.ipv4("10.0.0.1", "10.0.0.2", protocolNumber: 17, identification: 9,
                              fragmentOffset: 65_528, moreFragments: false, payload: [UInt8](repeating: 1, count: 16))
        let (events, _) = try decodeAll(try write([(0, huge)]))
        XCTAssertEqual(events.map(\.line), [
            "problem #1: IPv4 UDP datagram 10.0.0.1 → 10.0.0.2 id 0x9: fragment in record 1 reaches byte 65544, beyond 65535; dropped",
        ])
    }
}
