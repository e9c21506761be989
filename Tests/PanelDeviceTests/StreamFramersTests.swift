import PanelWire
import XCTest

@testable import PanelDevice

/// One framer per stream: interleaved streams keep their partial messages apart, the number of
/// framers stays bounded, and bytes cut short by a stream's end are counted.
final class StreamFramersTests: XCTestCase {
    func source(_ n: Int) -> PacketSource { PacketSource(address: "pty\(n)", port: 0) }

    func push(_ framers: inout StreamFramers<EnttecProFramer>, _ bytes: [UInt8], from source: PacketSource,
              into out: inout [(PacketSource, [UInt8])]) {
        bytes.withUnsafeBytes { raw in
            framers.push(source) { framer, key in
                framer.push(raw, message: { out.append((key, Array($0.data))) }, dropped: { _ in })
            }
        }
    }

    func testInterleavedStreamsKeepTheirHalfMessagesApart() {
        var framers = StreamFramers<EnttecProFramer>(limit: 4)
        var out: [(PacketSource, [UInt8])] = []
        let a = EnttecPro.message(label: 6, data: [0, 1, 1, 1]), b = EnttecPro.message(label: 6, data: [0, 2, 2])
        push(&framers, Array(a[..<3]), from: source(1), into: &out)
        push(&framers, Array(b[..<5]), from: source(2), into: &out)
        push(&framers, Array(a[3...]), from: source(1), into: &out)
        push(&framers, Array(b[5...]), from: source(2), into: &out)
        XCTAssertEqual(out.map(\.0), [source(1), source(2)])
        XCTAssertEqual(out.map(\.1), [[0, 1, 1, 1], [0, 2, 2]])
        XCTAssertEqual(framers.count, 2)
        XCTAssertEqual(framers.skippedBytes, 0)
    }

    func testSourcesBeyondTheLimitShareTheLastFramerAndEndsCountCutBytes() {
        var framers = StreamFramers<EnttecProFramer>(limit: 3)
        var out: [(PacketSource, [UInt8])] = []
        let m = EnttecPro.message(label: 6, data: [0, 9])
        for n in 1...3 { push(&framers, m, from: source(n), into: &out) }
        push(&framers, m, from: source(4), into: &out)  // a fourth stream: no framer of its own
        XCTAssertEqual(framers.count, 3)
        XCTAssertEqual(out.map(\.0), [source(1), source(2), source(3), source(3)], "attributed to the framer it went through")
        // A message cut short by the end of its stream: its bytes are counted as skipped.
        push(&framers, Array(m.prefix(4)), from: source(2), into: &out)
        framers.end(source(2))
        XCTAssertEqual(framers.count, 2)
        XCTAssertEqual(framers.skippedBytes, 4)
        push(&framers, Array(m.prefix(3)), from: source(1), into: &out)
        framers.end(source(3))
        framers.end(source(1))
        XCTAssertEqual(framers.skippedBytes, 7)
        XCTAssertEqual(framers.count, 0)
        push(&framers, m, from: source(5), into: &out)
        XCTAssertEqual(out.last?.0, source(5), "a new stream gets a framer again")
    }
}
