import PanelWire
import XCTest

/// Enttec DMX USB Pro and TPM2 serial: byte-exact encodings and stream framing.
final class SerialFramingTests: XCTestCase {
    // MARK: Enttec DMX USB Pro

    struct EnttecCollected {
        var messages: [(UInt8, [UInt8])] = []
        var dropped: [WireError] = []
        var skipped = 0
    }

    /// Feeds `chunks` through one framer and collects what comes out.
    func enttec(_ chunks: [[UInt8]]) -> EnttecCollected {
        var framer = EnttecProFramer()
        var out = EnttecCollected()
        for c in chunks {
            c.withUnsafeBytes { raw in
                framer.push(raw, message: { out.messages.append(($0.label, Array($0.data))) }, dropped: { out.dropped.append($0) })
            }
        }
        out.skipped = framer.skippedBytes
        return out
    }

    func testEnttecMessageBytes() {
        XCTAssertEqual(EnttecPro.message(label: 6, data: [0, 1, 2, 3]), [0x7E, 0x06, 0x04, 0x00, 0, 1, 2, 3, 0xE7])
        XCTAssertEqual(EnttecPro.message(label: 10, data: []), [0x7E, 0x0A, 0x00, 0x00, 0xE7])
        // Length little-endian: 513 = 0x0201.
        let dmx = EnttecPro.message(label: 6, data: [UInt8](repeating: 7, count: 513))
        XCTAssertEqual(Array(dmx.prefix(4)), [0x7E, 0x06, 0x01, 0x02])
        XCTAssertEqual(dmx.count, 518)
        XCTAssertEqual(dmx.last, 0xE7)
    }

    func testEnttecRepliesByteExact() {
        let p = EnttecPro.Parameters(firmware: 0x0144, breakTime: 9, markAfterBreak: 1, rate: 40)
        XCTAssertEqual(EnttecPro.parametersReply(p, userConfigRequested: 0), [0x7E, 0x03, 0x05, 0x00, 0x44, 0x01, 0x09, 0x01, 0x28, 0xE7])
        XCTAssertEqual(EnttecPro.serialNumberReply("12345678"), [0x7E, 0x0A, 0x04, 0x00, 0x78, 0x56, 0x34, 0x12, 0xE7])
        XCTAssertEqual(EnttecPro.serialNumberReply("1"), [0x7E, 0x0A, 0x04, 0x00, 0x01, 0x00, 0x00, 0x00, 0xE7])
        XCTAssertNil(EnttecPro.serialNumberReply("123456789"))
        XCTAssertNil(EnttecPro.serialNumberReply("12a4"))
        XCTAssertNil(EnttecPro.serialNumberReply(""))
    }

    func testEnttecSetParametersDecodes() throws {
        // pyenttec's first write: 7E 04 05 00 | 00 00 09 01 28 | E7
        let data: [UInt8] = [0x00, 0x00, 0x09, 0x01, 0x28]
        let p = try data.withUnsafeBytes { raw throws(WireError) in try EnttecPro.Parameters.decodeSet(raw, firmware: 0x0144) }
        XCTAssertEqual(p, EnttecPro.Parameters(firmware: 0x0144, breakTime: 9, markAfterBreak: 1, rate: 40, userConfig: []))
        let withConfig: [UInt8] = [0x02, 0x00, 20, 2, 30, 0xAB, 0xCD]
        let q = try withConfig.withUnsafeBytes { raw throws(WireError) in try EnttecPro.Parameters.decodeSet(raw, firmware: 1) }
        XCTAssertEqual(q.userConfig, [0xAB, 0xCD])
        let short: [UInt8] = [0x03, 0x00, 20, 2, 30, 0xAB]
        XCTAssertThrowsError(try short.withUnsafeBytes { raw throws(WireError) in try EnttecPro.Parameters.decodeSet(raw, firmware: 1) }) {
            XCTAssertEqual(($0 as? WireError)?.reason, .lengthPastEnd)
        }
    }

    func testEnttecFramerSplitAtEveryPosition() {
        let stream = EnttecPro.message(label: 6, data: [0, 10, 20, 30]) + EnttecPro.message(label: 10, data: [])
            + EnttecPro.message(label: 3, data: [0, 0])
        for cut in 0...stream.count {
            for cut2 in cut...stream.count {
                let out = enttec([Array(stream[..<cut]), Array(stream[cut..<cut2]), Array(stream[cut2...])])
                XCTAssertEqual(out.messages.map(\.0), [6, 10, 3], "cut at \(cut), \(cut2)")
                XCTAssertEqual(out.messages.first?.1, [0, 10, 20, 30])
                XCTAssertEqual(out.skipped, 0)
                XCTAssertTrue(out.dropped.isEmpty)
            }
        }
    }

    func testEnttecGarbageBetweenMessagesIsCounted() {
        let m = EnttecPro.message(label: 6, data: [0, 1, 2])
        let out = enttec([[0x00, 0xFF, 0x12] + m + [0xE7, 0x55] + m])
        XCTAssertEqual(out.messages.count, 2)
        XCTAssertEqual(out.skipped, 5)
        XCTAssertTrue(out.dropped.isEmpty)
    }

    func testEnttecResyncAfterBadLengthAndMissingEnd() {
        let good = EnttecPro.message(label: 6, data: [0, 9, 9, 9])
        // Length 0xFFFF: beyond 600, dropped at once (not waited for).
        let bad = enttec([[0x7E, 0x06, 0xFF, 0xFF] + good])
        XCTAssertEqual(bad.messages.map(\.1), [[0, 9, 9, 9]])
        XCTAssertEqual(bad.dropped.map(\.reason), [.lengthPastEnd])
        XCTAssertEqual(bad.skipped, 4)
        // 601 is one too many, 600 is fine.
        XCTAssertEqual(enttec([[0x7E, 0x06, 0x59, 0x02]]).dropped.count, 1)
        XCTAssertEqual(enttec([EnttecPro.message(label: 6, data: [UInt8](repeating: 1, count: 600))]).messages.count, 1)
        // A message whose end byte is missing: dropped, and the next start byte opens the next one.
        let noEnd: [UInt8] = [0x7E, 0x06, 0x02, 0x00, 0, 1]
        let out = enttec([noEnd + good])
        XCTAssertEqual(out.messages.map(\.1), [[0, 9, 9, 9]])
        XCTAssertEqual(out.dropped.map(\.reason), [.badIdentifier])
        XCTAssertEqual(out.dropped.first?.offset, 6)
        XCTAssertEqual(out.skipped, 6)
    }

    // MARK: TPM2 serial

    struct TPM2Collected {
        var packets: [(TPM2Serial.PacketType, [UInt8])] = []
        var dropped: [WireError] = []
        var skipped = 0
    }

    func tpm2(_ chunks: [[UInt8]], max: Int = 65535) -> TPM2Collected {
        var framer = TPM2SerialFramer(maxDataLength: max)
        var out = TPM2Collected()
        for c in chunks {
            c.withUnsafeBytes { raw in
                framer.push(raw, packet: { out.packets.append(($0.type, Array($0.data))) }, dropped: { out.dropped.append($0) })
            }
        }
        out.skipped = framer.skippedBytes
        return out
    }

    func testTPM2PacketBytes() {
        XCTAssertEqual(TPM2Serial.packet(type: .data, data: [1, 2, 3]), [0xC9, 0xDA, 0x00, 0x03, 1, 2, 3, 0x36])
        XCTAssertEqual(TPM2Serial.packet(type: .ping, data: []), [0xC9, 0xAA, 0x00, 0x00, 0x36])
        // Size big-endian: 300 = 0x012C.
        XCTAssertEqual(Array(TPM2Serial.packet(type: .data, data: [UInt8](repeating: 0, count: 300)).prefix(4)), [0xC9, 0xDA, 0x01, 0x2C])
    }

    func testTPM2FramerSplitAtEveryPosition() {
        let stream = TPM2Serial.packet(type: .data, data: [1, 2, 3, 4, 5, 6]) + TPM2Serial.packet(type: .ping, data: [])
            + TPM2Serial.packet(type: .command, data: [7])
        for cut in 0...stream.count {
            for cut2 in cut...stream.count {
                let out = tpm2([Array(stream[..<cut]), Array(stream[cut..<cut2]), Array(stream[cut2...])])
                XCTAssertEqual(out.packets.map(\.0), [.data, .ping, .command], "cut at \(cut), \(cut2)")
                XCTAssertEqual(out.packets.first?.1, [1, 2, 3, 4, 5, 6])
                XCTAssertEqual(out.skipped, 0)
            }
        }
    }

    func testTPM2GarbageAndResync() {
        let good = TPM2Serial.packet(type: .data, data: [4, 5, 6])
        let garbage = tpm2([[0x01, 0x36] + good + [0xAC] + good])
        XCTAssertEqual(garbage.packets.count, 2)
        XCTAssertEqual(garbage.skipped, 3)
        // An unknown type.
        let unknown = tpm2([[0xC9, 0x11] + good])
        XCTAssertEqual(unknown.packets.map(\.1), [[4, 5, 6]])
        XCTAssertEqual(unknown.dropped.map(\.reason), [.badIdentifier])
        XCTAssertEqual(unknown.skipped, 2)
        // A size beyond the bound.
        let big = tpm2([[0xC9, 0xDA, 0x01, 0x00] + good], max: 255)
        XCTAssertEqual(big.packets.map(\.1), [[4, 5, 6]])
        XCTAssertEqual(big.dropped.map(\.reason), [.lengthPastEnd])
        XCTAssertEqual(big.skipped, 4)
        // A missing end byte.
        let noEnd = tpm2([[0xC9, 0xDA, 0x00, 0x01, 9] + good])
        XCTAssertEqual(noEnd.packets.map(\.1), [[4, 5, 6]])
        XCTAssertEqual(noEnd.dropped.map(\.offset), [5])
        XCTAssertEqual(noEnd.skipped, 5)
    }
}
