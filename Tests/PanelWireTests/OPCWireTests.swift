import PanelWire
import XCTest

/// OPC messages byte for byte, and the stream framer over every way a stream can be split.
final class OPCWireTests: XCTestCase {
    func encode(channel: UInt8, _ pixels: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        pixels.withUnsafeBytes { OPCEncoder.setPixels(into: &out, channel: channel, pixels: $0) }
        return out
    }

    func testSetPixelsBytes() {
        XCTAssertEqual(encode(channel: 0, [0xFF, 0x00, 0x10, 0x01, 0x02, 0x03]), [0x00, 0x00, 0x00, 0x06, 0xFF, 0x00, 0x10, 0x01, 0x02, 0x03])
        XCTAssertEqual(encode(channel: 7, []), [0x07, 0x00, 0x00, 0x00])
        // 300 data bytes: length 0x012C, big-endian.
        XCTAssertEqual(Array(encode(channel: 1, [UInt8](repeating: 9, count: 300)).prefix(4)), [0x01, 0x00, 0x01, 0x2C])
        // The length field cannot say more than 65,535: the data is cut there.
        let long = encode(channel: 0, [UInt8](repeating: 1, count: 70_000))
        XCTAssertEqual(long.count, 4 + 65_535)
        XCTAssertEqual(Array(long.prefix(4)), [0x00, 0x00, 0xFF, 0xFF])
    }

    func testDecode() throws {
        let sysex: [UInt8] = [0x00, 0xFF, 0x00, 0x04, 0x00, 0x01, 0x02, 0x03, 0xAA]  // trailing byte past the length is ignored
        try sysex.withUnsafeBytes { b in
            let m = try OPCDecoder.decode(b)
            XCTAssertEqual(m.channel, 0)
            XCTAssertEqual(m.command, 255)
            XCTAssertEqual(Array(m.data), [0x00, 0x01, 0x02, 0x03])
            XCTAssertEqual(m.systemID, OPC.SystemID.fadecandy)
        }
        XCTAssertThrowsError(try [UInt8]([0, 0, 0]).withUnsafeBytes { try OPCDecoder.decode($0) }) { e in
            XCTAssertEqual((e as? WireError)?.reason, .tooShort)
        }
        XCTAssertThrowsError(try [UInt8]([0, 0, 0, 4, 1, 2]).withUnsafeBytes { try OPCDecoder.decode($0) }) { e in
            XCTAssertEqual((e as? WireError)?.reason, .lengthPastEnd)
            XCTAssertEqual((e as? WireError)?.offset, 2)
        }
    }

    /// Runs `stream` through a framer in the given reads; the messages found, whole.
    func frame(_ reads: [[UInt8]]) -> [[UInt8]] {
        var framer = OPCFramer()
        var found: [[UInt8]] = []
        for r in reads { r.withUnsafeBytes { framer.feed($0) { found.append(Array($0)) } } }
        XCTAssertEqual(framer.pendingCount, 0)
        return found
    }

    func testFramerSplitAtEveryPosition() {
        let messages = [encode(channel: 0, []), encode(channel: 1, [1, 2, 3, 4, 5, 6]), encode(channel: 2, (0..<300).map { UInt8($0 & 0xFF) }),
                        [0x00, 0xFF, 0x00, 0x02, 0x00, 0x01]]
        let stream = messages.flatMap { $0 }
        XCTAssertEqual(frame([stream]), messages, "several messages in one read")
        for p in 0...stream.count {
            XCTAssertEqual(frame([Array(stream[..<p]), Array(stream[p...])]), messages, "split at \(p)")
        }
        for p in stride(from: 1, to: stream.count, by: 7) {
            for q in stride(from: p, to: stream.count, by: 13) {
                XCTAssertEqual(frame([Array(stream[..<p]), Array(stream[p..<q]), Array(stream[q...])]), messages, "split at \(p), \(q)")
            }
        }
        XCTAssertEqual(frame(stream.map { [$0] }), messages, "one byte per read")
    }

    func testFramerHoldsALongAnnouncementOnlyAsFarAsItArrived() {
        var framer = OPCFramer()
        var found = 0
        let header: [UInt8] = [0x00, 0x00, 0xFF, 0xFF]
        header.withUnsafeBytes { framer.feed($0) { _ in found += 1 } }
        XCTAssertEqual(framer.pendingMessageSize, 65_539)
        [UInt8](repeating: 0x55, count: 1000).withUnsafeBytes { framer.feed($0) { _ in found += 1 } }
        XCTAssertEqual(found, 0)
        XCTAssertEqual(framer.pendingCount, 1004)
        // The rest arrives, and one more message behind it in the same read.
        let rest = [UInt8](repeating: 0x55, count: 65_535 - 1000) + encode(channel: 0, [1, 2, 3])
        var sizes: [Int] = []
        rest.withUnsafeBytes { framer.feed($0) { sizes.append($0.count) } }
        XCTAssertEqual(sizes, [65_539, 7])
        XCTAssertEqual(framer.pendingCount, 0)
        XCTAssertNil(framer.pendingMessageSize)
    }
}
