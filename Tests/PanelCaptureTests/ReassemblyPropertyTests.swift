import Foundation
import XCTest
@testable import PanelCapture
import PanelCore

/// Seeded random traffic through the reassemblers and the pcapng reader: what comes out
/// must be the bytes that went in, at the positions they came from, and damage never traps.
final class ReassemblyPropertyTests: XCTestCase {
    /// Random slices of a known stream (any order, duplicates, overlaps, sequence numbers
    /// crossing 2^32): every delivered byte equals the stream's byte at its position, counting
    /// `missingBefore`; when every byte was sent, the whole stream comes out with nothing missing.
    func testTCPDeliversTheStreamBytesAtTheirPositions() {
        var random = SeededGenerator(seed: 0x5EED_7C9)
        for round in 0..<200 {
            let stream = (0..<Int.random(in: 1...3000, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            let isn = UInt32.random(in: 0...UInt32.max, using: &random)
            var slices: [Range<Int>] = [0..<min(stream.count, Int.random(in: 1...200, using: &random))]
            for _ in 0..<Int.random(in: 1...60, using: &random) {
                let start = Int.random(in: 0..<stream.count, using: &random)
                slices.append(start..<min(stream.count, start + Int.random(in: 1...300, using: &random)))
            }
            let complete = round % 2 == 0
            if complete {  // cover every byte at least once
                var start = 0
                while start < stream.count {
                    let end = min(stream.count, start + Int.random(in: 1...500, using: &random))
                    slices.append(start..<end)
                    start = end
                }
            }
            let first = slices.removeFirst()
            slices.shuffle(using: &random)
            slices.insert(first, at: 0)  // the first segment seen starts the stream

            var reassembler = TCPReassembler()
            var position = 0
            var missing = 0
            let source = Endpoint(address: "10.0.0.1", port: 1), destination = Endpoint(address: "10.0.0.2", port: 2)
            func check(_ event: CaptureEvent) {
                guard case .tcpData(let data) = event else { return }
                position += data.missingBefore
                missing += data.missingBefore
                XCTAssertLessThanOrEqual(position + data.payload.count, stream.count, "round \(round)")
                guard position + data.payload.count <= stream.count else { return }
                XCTAssertEqual(Array(data.payload), Array(stream[position..<(position + data.payload.count)]), "round \(round)")
                position += data.payload.count
            }
            for (index, slice) in slices.enumerated() {
                let segment = TCPSegment(recordNumber: index + 1, time: .zero, source: source, destination: destination,
                                         sequenceNumber: isn &+ UInt32(slice.lowerBound), acknowledgementNumber: 0,
                                         flags: .ack, window: 0, headerLength: 20, payload: stream[slice])
                reassembler.add(segment, emit: check)
            }
            reassembler.finish(time: .zero, recordNumber: slices.count, emit: check)
            if complete {
                XCTAssertEqual(position, stream.count, "round \(round)")
                XCTAssertEqual(missing, 0, "round \(round)")
            }
        }
    }

    /// Random fragmentations (2 or more fragments) of random datagrams, shuffled, with a
    /// duplicate: each reassembles to exactly its payload, once.
    func testFragmentsReassembleToTheOriginalPayload() {
        var random = SeededGenerator(seed: 0xF7A9)
        for round in 0..<200 {
            let payload = (0..<Int.random(in: 9...4000, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            var cuts: [Int] = [0, 8 * Int.random(in: 1...min(100, (payload.count - 1) / 8), using: &random)]
            while let last = cuts.last, last < payload.count {
                cuts.append(min(payload.count, last + 8 * Int.random(in: 1...100, using: &random)))
            }
            var fragments: [Range<Int>] = zip(cuts, cuts.dropFirst()).map { $0..<$1 }
            if let duplicate = fragments.randomElement(using: &random) { fragments.append(duplicate) }
            fragments.shuffle(using: &random)
            var reassembler = IPReassembler()
            var results: [[UInt8]] = []
            for (index, range) in fragments.enumerated() {
                let fragment = IPFragment(recordNumber: index + 1, time: .zero, ipVersion: 4, sourceAddress: "10.0.0.1",
                                          destinationAddress: "10.0.0.2", identification: UInt32(round),
                                          fragmentOffset: range.lowerBound, moreFragments: range.upperBound < payload.count,
                                          protocolNumber: 17, payload: payload[range])
                let (completed, givenUp) = reassembler.add(fragment)
                XCTAssertEqual(givenUp.count, 0, "round \(round)")
                if let completed { results.append(completed.payload) }
            }
            XCTAssertEqual(results, [payload], "round \(round)")
            XCTAssertEqual(reassembler.overlappingFragments, 1, "round \(round)")
            XCTAssertEqual(reassembler.finish().count, 0, "round \(round)")
        }
    }

    /// Random damage to a mixed-link pcapng: every read ends normally or with a `CaptureError`
    /// naming a record, never traps, and the records before the damage read as written.
    func testDamagedPcapngNeverTraps() throws {
        let ip = Build.ipv4UDP("10.0.0.1", 1, "10.0.0.2", 2, [5, 5, 5])
        var good = Build.pcapngSectionHeader() + Build.pcapngInterface(linkType: 1) + Build.pcapngInterface(linkType: 101)
        for index in 0..<6 {
            good += Build.pcapngPacket(interface: UInt32(index % 2), microseconds: UInt64(index),
                                       data: index % 2 == 0 ? Build.ethernet(0x0800, ip) : ip)
        }
        let path = try temporaryDirectory(self).appendingPathComponent("fuzz.pcapng").path
        var random = SeededGenerator(seed: 42)
        for _ in 0..<300 {
            var bytes = good
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                let index = Int.random(in: 0..<bytes.count, using: &random)
                bytes[index] = UInt8.random(in: 0...255, using: &random)
            }
            if Bool.random(using: &random) { bytes.removeLast(Int.random(in: 0..<bytes.count, using: &random)) }
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            guard let reader = try? CaptureReader(path: path) else { continue }
            do {
                while let frame = try reader.next() {
                    _ = PacketParser.parse(frame)
                }
            } catch {
                XCTAssertNotNil(error.recordNumber)
            }
        }
    }
}
