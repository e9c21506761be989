import PanelCore
import PanelWire
import XCTest

@testable import PanelDevice

/// The PC side of the NovaStar control protocol (`send --protocol novastar`), sans I/O: the
/// request bytes, byte for byte; replies matched by serial number; garbage, stray and late
/// replies skipped; timeouts, bad checksums and non-zero ACKs reported.
final class NovaStarControllerTests: XCTestCase {
    /// Requests with serial 1, computed by hand from the layout in PROTOCOLS.md: 55 AA, ACK 0,
    /// serial, source FE, destination 00, device type, port, card LE, operation, reserved,
    /// address LE, length LE, data, checksum LE = 0x5555 + sum of bytes 2 … n−3.
    func testRequestBytesMatchHandComputedVectors() {
        // Receiving cards (type 1), port FF, card FFFF, write, 0x02000001, length 1, data 0x80.
        // Sum: 01+FE+01+FF+FF+FF+01+01+02+01+80 = 0x482; 0x5555 + 0x482 = 0x59D7.
        XCTAssertEqual(NovaStarCommand.brightness(0x80).request(serial: 1).encoded(),
                       [0x55, 0xAA, 0x00, 0x01, 0xFE, 0x00, 0x01, 0xFF, 0xFF, 0xFF, 0x01, 0x00,
                        0x01, 0x00, 0x00, 0x02, 0x01, 0x00, 0x80, 0xD7, 0x59])
        // 0x02000101 (test pattern), data 0x02 (red). Sum: 0x482 + 1 (address) − 0x80 + 0x02 = 0x405 → 0x595A.
        XCTAssertEqual(NovaStarCommand.testPattern(0x02).request(serial: 1).encoded(),
                       [0x55, 0xAA, 0x00, 0x01, 0xFE, 0x00, 0x01, 0xFF, 0xFF, 0xFF, 0x01, 0x00,
                        0x01, 0x01, 0x00, 0x02, 0x01, 0x00, 0x02, 0x5A, 0x59])
        // 0x02000100 (kill), data 0xFF (black). Sum: 0x482 − 0x80 + 0xFF = 0x501 → 0x5A56.
        XCTAssertEqual(NovaStarCommand.blackout(true).request(serial: 1).encoded(),
                       [0x55, 0xAA, 0x00, 0x01, 0xFE, 0x00, 0x01, 0xFF, 0xFF, 0xFF, 0x01, 0x00,
                        0x00, 0x01, 0x00, 0x02, 0x01, 0x00, 0xFF, 0x56, 0x5A])
        // Kill off: data 0x00. Sum: 0x501 − 0xFF = 0x402 → 0x5957.
        XCTAssertEqual(NovaStarCommand.blackout(false).request(serial: 1).encoded(),
                       [0x55, 0xAA, 0x00, 0x01, 0xFE, 0x00, 0x01, 0xFF, 0xFF, 0xFF, 0x01, 0x00,
                        0x00, 0x01, 0x00, 0x02, 0x01, 0x00, 0x00, 0x57, 0x59])
        // Sending card (type 0), port 0, card 0, write 0x02000023, data 0x05 (HDMI).
        // Sum: 01+FE+01+23+02+01+05 = 0x12B → 0x5680.
        XCTAssertEqual(NovaStarCommand.input(0x05).request(serial: 1).encoded(),
                       [0x55, 0xAA, 0x00, 0x01, 0xFE, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,
                        0x23, 0x00, 0x00, 0x02, 0x01, 0x00, 0x05, 0x80, 0x56])
        // Read of receiving card port 1, card 2, 0x02000001, 1 byte (no data). Sum: 01+FE+01+01+02+01+02+01 = 0x107 → 0x565C.
        let read = NovaStarCommand.read(NovaStarRead(register: .brightness, length: 1, port: 1, card: 2))
        XCTAssertEqual(read.request(serial: 1).encoded(),
                       [0x55, 0xAA, 0x00, 0x01, 0xFE, 0x00, 0x01, 0x01, 0x02, 0x00, 0x00, 0x00,
                        0x01, 0x00, 0x00, 0x02, 0x01, 0x00, 0x5C, 0x56])
        // Model id: sending card 0x00000002, 2 bytes, serial 0x57 — the transcript's own request.
        XCTAssertEqual(NovaStarCommand.read(NovaStarRead(register: .modelID, length: 2)).request(serial: 0x57).encoded(),
                       [0x55, 0xAA, 0x00, 0x57, 0xFE, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                        0x02, 0x00, 0x00, 0x00, 0x02, 0x00, 0xAE, 0x56])
    }

    func testReadNamesAndRawRegistersParse() throws {
        let b = try NovaStarRead.parse("brightness", port: 1, card: 1)
        XCTAssertEqual(b, NovaStarRead(register: .brightness, length: 1, port: 1, card: 1, name: "brightness"))
        XCTAssertEqual(try NovaStarRead.parse("model-id", port: 1, card: 1),
                       NovaStarRead(register: .modelID, length: 2, name: "model-id"), "sending-card registers ignore port and card")
        XCTAssertEqual(try NovaStarRead.parse("receiving:0x02000001:4"), NovaStarRead(register: .brightness, length: 4))
        XCTAssertEqual(try NovaStarRead.parse("0:0x00000002"), NovaStarRead(register: .modelID, length: 1))
        for bad in ["bright", "3:0x1", "1:12", "1:0x1:0", "1:0x1:5000", "1:0x1:2:3", "1:0x100000000"] {
            XCTAssertThrowsError(try NovaStarRead.parse(bad), bad)
        }
        XCTAssertEqual(b.decode([0x80]), "128")
        XCTAssertEqual(NovaStarRead(register: .modelID, length: 2).decode([0x01, 0x00]), "0x0001")
        XCTAssertEqual(NovaStarRead(register: .testPattern, length: 1).decode([0x09]), "grayscale")
        XCTAssertEqual(NovaStarRead(register: .kill, length: 1).decode([0xFF]), "black")
        XCTAssertEqual(NovaStarRead(register: .inputSelect, length: 1).decode([0x5F]), "dp")
        XCTAssertNil(NovaStarRead(register: NovaStarRegister(1, 0x0300_0000), length: 1).decode([1]))
    }

    /// The controller against the emulated sending card, no I/O between them: every write is
    /// acknowledged, reads return what was written, and the lines say so.
    func testAgainstTheEmulatedCard() {
        let map: ChannelMap
        do { map = try ChannelMap(width: 8, height: 2, format: .rgb, settings: MappingSettings(startUniverse: 0, channelsPerUniverse: 510)) } catch {
            return XCTFail("\(error)")
        }
        let card = NovaStarSendingCard(settings: NovaStarSettings(name: "nova", map: map))
        let pc = PacketSource(address: "127.0.0.1", port: 50000)
        var c = NovaStarController(commands: [
            .input(0x5F), .brightness(0x80), .testPattern(0x02), .blackout(false),
            .read(NovaStarRead(register: .brightness, length: 1, port: 1, card: 1, name: "brightness")),
            .read(NovaStarRead(register: .testPattern, length: 1, name: "test-pattern")),
            .read(NovaStarRead(register: .inputSelect, length: 1, name: "input-select")),
        ], timeout: ms(2000))
        var t: Int64 = 0
        while let request = c.nextRequest(at: ms(t)) {
            card.feed(request, from: pc, at: ms(t))
            for r in card.takeOutput().replies { r.bytes.withUnsafeBytes { c.receive($0, at: ms(t + 1)) } }
            t += 2
        }
        XCTAssertTrue(c.isDone)
        XCTAssertNil(c.failure)
        XCTAssertEqual(c.exchanges.map(\.reply?.ack), Array(repeating: NovaStar.Ack.ok, count: 7))
        XCTAssertEqual(c.exchanges.map(\.line), [
            "input dp (sending card): ACK 0 (ok)",
            "brightness 128 (all receiving cards): ACK 0 (ok)",
            "test-pattern red (all receiving cards): ACK 0 (ok)",
            "blackout off (all receiving cards): ACK 0 (ok)",
            "read brightness (port 1 card 1): ACK 0 (ok), data 80 = 128",
            "read test-pattern (port 0 card 0): ACK 0 (ok), data 02 = red",
            "read input-select (sending card): ACK 0 (ok), data 5f = dp",
        ])
    }

    func testGarbageAndStrayRepliesAreSkippedAndSerialsMatched() {
        var c = NovaStarController(commands: [.brightness(1), .read(NovaStarRead(register: .brightness, length: 1))], timeout: ms(100))
        let first = c.nextRequest(at: ms(0)).map(frame)
        XCTAssertNil(c.nextRequest(at: ms(1)), "one request at a time")
        guard let request = first else { return XCTFail("no first request") }
        let stray = request.reply(ack: 0, data: [])
        var other = stray
        other.serial = 99
        let garbage: [UInt8] = [0x00, 0x13, 0x55, 0x37]
        let bytes = garbage + other.encoded() + request.encoded() + stray.encoded()
        // Fed in small pieces, as a serial line delivers them.
        for k in stride(from: 0, to: bytes.count, by: 5) {
            Array(bytes[k..<min(k + 5, bytes.count)]).withUnsafeBytes { c.receive($0, at: ms(2)) }
        }
        XCTAssertEqual(c.exchanges[0].outcome, .answered)
        XCTAssertEqual(c.exchanges[0].replyBytes, stray.encoded())
        XCTAssertEqual(c.skippedBytes, garbage.count)
        XCTAssertEqual(c.strayFrames, 2, "the reply with serial 99 and the echoed request")
        let second = c.nextRequest(at: ms(3)).map(frame)
        XCTAssertEqual(second?.serial, 2)
    }

    func testTimeoutStopsTheRestAndNamesTheRequest() {
        var c = NovaStarController(commands: [.brightness(1), .testPattern(2)], timeout: ms(250))
        XCTAssertNotNil(c.nextRequest(at: ms(0)))
        XCTAssertEqual(c.deadline, ms(250))
        c.tick(at: ms(249))
        XCTAssertFalse(c.isDone)
        c.tick(at: ms(250))
        XCTAssertTrue(c.isDone)
        XCTAssertNil(c.nextRequest(at: ms(251)))
        XCTAssertEqual(c.exchanges.map(\.outcome), [.noReply("no reply within 250 ms"), .notSent])
        XCTAssertEqual(c.failure, "2 of 2 requests failed; first: brightness 1 (all receiving cards): no reply within 250 ms")
    }

    func testNonZeroAckAndBadChecksumAreFailures() {
        var c = NovaStarController(commands: [.brightness(1), .read(NovaStarRead(register: .brightness, length: 1, name: "brightness")),
                                              .testPattern(2)], timeout: ms(2000))
        func answer(_ ack: UInt8, _ data: [UInt8], corrupt: Bool = false) {
            guard let r = c.nextRequest(at: ms(0)).map(frame) else { return XCTFail("no request") }
            var bytes = r.reply(ack: ack, data: data).encoded()
            if corrupt { bytes[bytes.count - 1] ^= 0xFF }
            bytes.withUnsafeBytes { c.receive($0, at: ms(1)) }
        }
        answer(NovaStar.Ack.timeout, [])
        answer(NovaStar.Ack.ok, [0x20], corrupt: true)
        answer(NovaStar.Ack.ok, [])
        XCTAssertTrue(c.isDone)
        XCTAssertEqual(c.exchanges.map(\.problem), ["ACK 1 (timeout: the receiving card did not answer)", "the reply's checksum is wrong", nil])
        XCTAssertEqual(c.exchanges[1].line, "read brightness (port 0 card 0): ACK 0 (ok), bad reply checksum, data 20")
        XCTAssertEqual(c.failure, "2 of 3 requests failed; first: brightness 1 (all receiving cards): ACK 1 (timeout: the receiving card did not answer)")
    }

    func testEndedLineFailsTheAwaitedRequest() {
        var c = NovaStarController(commands: [.brightness(1), .brightness(2)], timeout: ms(2000))
        _ = c.nextRequest(at: ms(0))
        c.ended("the controller closed the connection")
        XCTAssertEqual(c.exchanges.map(\.outcome), [.noReply("the controller closed the connection"), .notSent])
        XCTAssertNil(c.deadline)
    }

    private func frame(_ bytes: [UInt8]) -> NovaStarFrame {
        bytes.withUnsafeBytes { b in (try? NovaStarFrame.decode(b)) ?? NovaStarFrame.read(serial: 0, deviceType: 9, address: 0, length: 0) }
    }
}
