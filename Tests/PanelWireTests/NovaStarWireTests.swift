import PanelWire
import XCTest

/// Frames from the public transcript (NovaLCT talking to a real sending card).
private enum Transcript {
    /// Read of receiving card 0 on port 0, register 0x02000000, 1 byte.
    static let readRequest = hexBytes("55aa004afe00010000000000000000020100a156")
    static let readReply = hexBytes("aa55004a00fe0100000000000000000201001cbd56")
    /// Read of the sending card's model id (0x00000002, 2 bytes) and its answer 0x0001.
    static let modelRequest = hexBytes("55aa0057fe00000000000000020000000200ae56")
    static let modelReply = hexBytes("aa55005700fe0000000000000200000002000100af56")
    /// An absent receiving card (port 0, card 1): ACK 1.
    static let timeoutReply = hexBytes("aa55014b00fe0100010000000000000201001cc056")
}

func hexBytes(_ s: String) -> [UInt8] {
    var out: [UInt8] = []
    var i = s.startIndex
    while i < s.endIndex, let j = s.index(i, offsetBy: 2, limitedBy: s.endIndex), let v = UInt8(s[i..<j], radix: 16) {
        out.append(v); i = j
    }
    return out
}

private func decoded(_ bytes: [UInt8]) -> Result<NovaStarFrame, WireError> {
    bytes.withUnsafeBytes { b in Result { () throws(WireError) in try NovaStarFrame.decode(b) } }
}

final class NovaStarWireTests: XCTestCase {
    private func decode(_ bytes: [UInt8]) throws -> NovaStarFrame {
        try bytes.withUnsafeBytes { b throws(WireError) in try NovaStarFrame.decode(b) }
    }

    func testDecodesTranscriptReadRequest() throws {
        let f = try decode(Transcript.readRequest)
        XCTAssertEqual(f.kind, .request)
        XCTAssertEqual(f.serial, 0x4A)
        XCTAssertEqual(f.source, 0xFE)
        XCTAssertEqual(f.destination, 0)
        XCTAssertEqual(f.deviceType, NovaStar.DeviceType.receivingCard)
        XCTAssertEqual(f.card, 0)
        XCTAssertFalse(f.isWrite)
        XCTAssertEqual(f.address, 0x0200_0000)
        XCTAssertEqual(f.length, 1)
        XCTAssertEqual(f.data, [])
        XCTAssertTrue(f.checksumValid)
        XCTAssertEqual(f.violations, [])
    }

    func testDecodesTranscriptReplies() throws {
        let r = try decode(Transcript.readReply)
        XCTAssertEqual(r.kind, .reply)
        XCTAssertEqual(r.ack, NovaStar.Ack.ok)
        XCTAssertEqual(r.data, [0x1C])
        let t = try decode(Transcript.timeoutReply)
        XCTAssertEqual(t.ack, NovaStar.Ack.timeout)
        XCTAssertEqual(t.card, 1)
        XCTAssertEqual(try decode(Transcript.modelReply).data, [0x01, 0x00])
    }

    func testEncoderReproducesTranscriptBytes() throws {
        let request = NovaStarFrame.read(serial: 0x57, deviceType: NovaStar.DeviceType.sendingCard, address: 2, length: 2)
        XCTAssertEqual(request.encoded(), Transcript.modelRequest)
        XCTAssertEqual(request.reply(ack: 0, data: [0x01, 0x00]).encoded(), Transcript.modelReply)
        let rc = try decode(Transcript.readRequest)
        XCTAssertEqual(rc.reply(ack: 0, data: [0x1C]).encoded(), Transcript.readReply)
        XCTAssertEqual(rc.encoded(), Transcript.readRequest)
    }

    func testChecksumIs5555PlusSumLittleEndian() {
        // 0x5555 + 0x4a + 0xfe + 0x01 + 0x02 + 0x01 = 0x56a1, sent as a1 56.
        let sum = Transcript.readRequest.withUnsafeBytes { NovaStar.checksum($0, end: 18) }
        XCTAssertEqual(sum, 0x56A1)
        XCTAssertEqual(UInt16(Transcript.readRequest[18]) | UInt16(Transcript.readRequest[19]) << 8, sum)
    }

    func testWriteRoundTrip() throws {
        let w = NovaStarFrame.write(serial: 9, deviceType: 1, port: 0xFF, card: 0xFFFF, address: 0x0200_0001, data: [0x80])
        let bytes = w.encoded()
        XCTAssertEqual(bytes.count, 21)
        XCTAssertEqual(Array(bytes[16...18]), [1, 0, 0x80])
        XCTAssertEqual(try decode(bytes), w)
        XCTAssertEqual(w.reply(ack: 0, data: []).encoded().count, 20)
    }

    func testBadChecksumDecodesWithRule() throws {
        var bytes = Transcript.readRequest
        bytes[19] ^= 0xFF
        let f = try decode(bytes)
        XCTAssertFalse(f.checksumValid)
        XCTAssertEqual(f.violations, [NovaStar.Rule.checksum])
    }

    func testRejectsWhatCannotBeRead() {
        assertRejects(.tooShort, at: 19) { () throws(WireError) in
            _ = try decoded(Array(Transcript.readRequest.prefix(19))).get()
        }
        var bad = Transcript.readRequest
        bad[1] = 0x55
        assertRejects(.badIdentifier, at: 0) { () throws(WireError) in
            _ = try decoded(bad).get()
        }
        // A reply announcing 1 data byte but cut before it.
        let cut = Array(Transcript.readReply.prefix(20))
        assertRejects(.lengthPastEnd, at: 16) { () throws(WireError) in
            _ = try decoded(cut).get()
        }
    }

    func testFramerFindsFramesAmidGarbageAndCountsSkipped() throws {
        // Two requests sent back to back (as in the transcript), garbage before, between and in the middle of a split.
        let stream = [0x00, 0x55, 0x13] + Transcript.readRequest + [0xAA, 0x13] + Transcript.modelRequest + Transcript.readReply
        var framer = NovaStarFramer()
        var frames: [[UInt8]] = []
        var drops: [WireError] = []
        stream.withUnsafeBytes { all in
            framer.push(UnsafeRawBufferPointer(rebasing: all[0..<10]), frame: { frames.append(Array($0)) }, dropped: { drops.append($0) })
            framer.push(UnsafeRawBufferPointer(rebasing: all[10...]), frame: { frames.append(Array($0)) }, dropped: { drops.append($0) })
        }
        XCTAssertEqual(frames, [Transcript.readRequest, Transcript.modelRequest, Transcript.readReply])
        XCTAssertEqual(framer.skippedBytes, 5)
        XCTAssertEqual(framer.pendingBytes, 0)
        XCTAssertEqual(drops, [])
    }

    func testFramerResynchronisesAfterAnOversizedLength() {
        // A write header claiming 0xFFFF data bytes, then a real request.
        var huge = NovaStarFrame.write(serial: 1, deviceType: 1, address: 0, data: []).encoded()
        huge[16] = 0xFF; huge[17] = 0xFF
        let stream = Array(huge.prefix(18)) + Transcript.readRequest
        var framer = NovaStarFramer()
        var frames: [[UInt8]] = []
        var drops: [WireError] = []
        stream.withUnsafeBytes { framer.push($0, frame: { frames.append(Array($0)) }, dropped: { drops.append($0) }) }
        XCTAssertEqual(frames, [Transcript.readRequest])
        XCTAssertEqual(drops.map(\.reason), [.lengthPastEnd])
        XCTAssertEqual(framer.skippedBytes, 18)
        XCTAssertLessThanOrEqual(framer.pendingBytes, NovaStar.minimumFrame + NovaStar.maxDataLength)
    }

    func testFramerMemoryStaysBoundedOnEndlessHeaders() {
        var framer = NovaStarFramer()
        var frameCount = 0
        let junk = [UInt8](repeating: 0x55, count: 10_000) + [UInt8](repeating: 0xAA, count: 10_000)
        junk.withUnsafeBytes { framer.push($0, frame: { _ in frameCount += 1 }, dropped: { _ in }) }
        XCTAssertEqual(frameCount, 0)
        XCTAssertLessThan(framer.pendingBytes, NovaStar.minimumFrame)
        framer.reset()
        XCTAssertEqual(framer.skippedBytes, junk.count)
    }
}
