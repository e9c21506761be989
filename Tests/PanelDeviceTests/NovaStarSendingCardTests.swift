import Foundation
import PanelCore
import PanelWire
import XCTest

@testable import PanelDevice

private let pc = PacketSource(address: "127.0.0.1", port: 50000)

private func hexBytes(_ s: String) -> [UInt8] {
    var out: [UInt8] = []
    var i = s.startIndex
    while i < s.endIndex, let j = s.index(i, offsetBy: 2, limitedBy: s.endIndex), let v = UInt8(s[i..<j], radix: 16) {
        out.append(v); i = j
    }
    return out
}

/// The public transcript: $PANELSIM_CAPTURES, else ../shared/captures/public beside the package. Skips when absent.
private func transcriptLines() throws -> [(time: Int64, toDevice: Bool, bytes: [UInt8])] {
    let root = ProcessInfo.processInfo.environment["PANELSIM_CAPTURES"].map { URL(fileURLWithPath: $0) }
        ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("shared/captures")
    let candidates = [root.appendingPathComponent("public/novastar/baoerman_nova_probe_all_data.tsv"),
                      root.appendingPathComponent("novastar/baoerman_nova_probe_all_data.tsv")]
    guard let url = candidates.first(where: { FileManager.default.fileExists(atPath: $0.path) }) else {
        throw XCTSkip("transcript not found (looked in \(candidates.map(\.path)))")
    }
    return try String(contentsOf: url, encoding: .utf8).split(separator: "\n").compactMap { line in
        let f = line.split(separator: "\t")
        guard f.count == 3, let t = Int64(f[0]) else { return nil }
        return (t, f[1] == "H>D", hexBytes(String(f[2])))
    }
}

private func map(_ w: Int = 8, _ h: Int = 2) -> ChannelMap {
    do { return try ChannelMap(width: w, height: h, format: .rgb, settings: MappingSettings(startUniverse: 0, channelsPerUniverse: 510)) } catch { fatalError("\(error)") }
}

private func frames(_ bytes: [UInt8]) -> [[UInt8]] {
    var framer = NovaStarFramer()
    var out: [[UInt8]] = []
    bytes.withUnsafeBytes { framer.push($0, frame: { out.append(Array($0)) }, dropped: { _ in }) }
    return out
}

final class NovaStarSendingCardTests: XCTestCase {
    /// Feeds every H>D line of the real transcript at its time and checks the emulated card
    /// answers as the real one did: byte for byte (the profile holds its memory), the delayed
    /// ACK 1 of absent cards released only after the delay, the raw answer, and silence for
    /// the requests to device 1 of the cascade.
    func testTranscriptConformance() throws {
        let lines = try transcriptLines()
        let card = NovaStarSendingCard(settings: NovaStarSettings(name: "nova", map: map(), profile: .baoerman))
        var expected: [[UInt8]] = []
        var got: [[UInt8]] = []
        var requests = 0
        for (i, line) in lines.enumerated() {
            let t = Timestamp(nanoseconds: line.time * 1000)
            if line.toDevice {
                for f in frames(line.bytes) {
                    requests += 1
                    XCTAssertNoThrow(try f.withUnsafeBytes { b throws(WireError) in try NovaStarFrame.decode(b) }, "line \(i + 1)")
                }
                card.feed(line.bytes, from: pc, at: t)
                got += card.takeOutput().replies.map(\.bytes)
                // What the real card answered to this line: the D>H lines up to the next H>D.
                let answers = lines[(i + 1)...].prefix { !$0.toDevice }.map(\.bytes)
                let delayed = answers.first.map { $0.count > 2 && $0[0] == 0xAA && $0[2] == NovaStar.Ack.timeout } ?? false
                if delayed {
                    XCTAssertEqual(got, expected, "line \(i + 1): ACK 1 before the card's delay")
                    card.tick(at: t + .milliseconds(33))
                    XCTAssertEqual(card.takeOutput().replies.count, 0, "line \(i + 1): ACK 1 before 34 ms")
                    card.tick(at: t + .milliseconds(34))
                    got += card.takeOutput().replies.map(\.bytes)
                }
                expected += answers
                XCTAssertEqual(got.map(hex), expected.map(hex), "after line \(i + 1)")
            }
        }
        XCTAssertEqual(requests, 25)
        XCTAssertEqual(expected.count, 22)
        XCTAssertEqual(card.counters["other-device-unanswered"], 3)
        XCTAssertEqual(card.counters["absent-card"], 6)
        XCTAssertEqual(card.counters["raw-answers"], 1)
    }

    private func hex(_ b: [UInt8]) -> String { b.map { String(format: "%02x", $0) }.joined() }

    private func request(_ card: NovaStarSendingCard, _ f: NovaStarFrame, at t: Int64 = 0) throws -> NovaStarFrame {
        card.feed(f.encoded(), from: pc, at: ms(t))
        let replies = card.takeOutput().replies
        XCTAssertEqual(replies.count, 1)
        return try XCTUnwrap(replies.first).bytes.withUnsafeBytes { b throws(WireError) in try NovaStarFrame.decode(b) }
    }

    func testBroadcastBrightnessReachesEveryCardAndReadsBack() throws {
        let card = NovaStarSendingCard(settings: NovaStarSettings(name: "nova", map: map(), profile: .baoerman))
        let ack = try request(card, .write(serial: 1, deviceType: 1, port: 0xFF, card: 0xFFFF, address: 0x0200_0001, data: [0x80]))
        XCTAssertEqual(ack.ack, NovaStar.Ack.ok)
        XCTAssertEqual(ack.length, 0)
        for (port, index) in [(0, 0), (1, 0), (1, 1)] {
            let r = try request(card, .read(serial: 2, deviceType: 1, port: UInt8(port), card: UInt16(index), address: 0x0200_0001, length: 1))
            XCTAssertEqual(r.ack, NovaStar.Ack.ok)
            XCTAssertEqual(r.data, [0x80], "port \(port) card \(index)")
        }
        XCTAssertEqual(card.read(.brightness, port: 1, card: 1), [0x80])
    }

    func testBadChecksumGetsAck2AndChangesNothing() throws {
        let card = NovaStarSendingCard(settings: NovaStarSettings(name: "nova", map: map(), profile: .plain))
        var bytes = NovaStarFrame.write(serial: 7, deviceType: 1, address: 0x0200_0001, data: [0x10]).encoded()
        bytes[bytes.count - 1] ^= 0x01
        card.feed(bytes, from: pc, at: ms(0))
        let r = try XCTUnwrap(card.takeOutput().replies.first).bytes.withUnsafeBytes { b throws(WireError) in try NovaStarFrame.decode(b) }
        XCTAssertEqual(r.ack, NovaStar.Ack.requestChecksum)
        XCTAssertEqual(r.serial, 7)
        XCTAssertEqual(card.read(.brightness), [0xFF])
    }

    func testRepeatedWriteIsNoNewFrameAndKillShowsBlack() throws {
        let card = NovaStarSendingCard(settings: NovaStarSettings(name: "nova", map: map(4, 1), profile: .plain))
        card.feed(NovaStarFrame.write(serial: 1, deviceType: 1, address: 0x0200_0001, data: [0x80]).encoded(), from: pc, at: ms(0))
        XCTAssertEqual(card.takeOutput().frames.count, 2)  // the input at start, then brightness 0x80
        card.feed(NovaStarFrame.write(serial: 2, deviceType: 1, address: 0x0200_0001, data: [0x80]).encoded(), from: pc, at: ms(10))
        XCTAssertEqual(card.takeOutput().frames.count, 0, "an unchanged look is not a new frame")
        card.feed(NovaStarFrame.write(serial: 3, deviceType: 1, address: 0x0200_0100, data: [0xFF]).encoded(), from: pc, at: ms(20))
        let out = card.takeOutput()
        XCTAssertEqual(out.frames.count, 1)
        XCTAssertEqual(out.frames.first?.canvas.pixel(x: 0, y: 0), [0, 0, 0])
        XCTAssertEqual(out.frames.first?.extras["kill"], 1)
        XCTAssertEqual(out.frames.first?.extras["brightness"], 0x80)
    }

    func testRedPatternAtHalfBrightness() throws {
        let card = NovaStarSendingCard(settings: NovaStarSettings(name: "nova", map: map(4, 1), profile: .plain, applyBrightness: true))
        var frames: [FrameEvent] = []
        for (i, w) in [(0x0200_0101 as UInt32, UInt8(2)), (0x0200_0001, 0x80)].enumerated() {
            card.feed(NovaStarFrame.write(serial: UInt8(i), deviceType: 1, address: w.0, data: [w.1]).encoded(), from: pc, at: ms(Int64(i)))
            frames += card.takeOutput().frames
        }
        XCTAssertEqual(frames.map(\.index), [1, 2, 3])  // input at start, red, red at half brightness
        XCTAssertEqual(frames[0].canvas.pixel(x: 0, y: 0), [255, 255, 255])  // bars: white first
        XCTAssertEqual(frames[1].canvas.pixel(x: 3, y: 0), [255, 0, 0])
        XCTAssertEqual(frames[2].canvas.pixel(x: 3, y: 0), [128, 0, 0])
        XCTAssertEqual(frames[2].extras["brightness"], 0x80)
    }

    /// A locked card holds the input it showed; the other card follows the input switch, and
    /// after unlocking the held card shows the selected input too.
    func testLockedCardHoldsItsInputWhileTheOtherSwitches() throws {
        var profile = NovaStarProfile.plain
        profile.cardsPerPort = [2]
        let solid = { (v: UInt8) -> Canvas in
            var c = Canvas(width: 4, height: 1, format: .rgb)
            for i in 0..<c.bytes.count { c.bytes[i] = v }
            return c
        }
        let card = NovaStarSendingCard(settings: NovaStarSettings(name: "nova", map: map(4, 1), profile: profile,
                                                                  input: .image(solid(10)), inputs: [0x58: .image(solid(200))]))
        var frames: [FrameEvent] = []
        let writes: [(UInt8, UInt16, UInt32, UInt8)] = [
            (1, 0, 0x0200_0102, 1),      // lock card 0 (on HDMI)
            (0, 0, 0x0200_0023, 0x58),   // sending card: input DVI
            (1, 0, 0x0200_0102, 0),      // unlock card 0
        ]
        for (i, w) in writes.enumerated() {
            card.feed(NovaStarFrame.write(serial: UInt8(i), deviceType: w.0, card: w.1, address: w.2, data: [w.3]).encoded(), from: pc, at: ms(Int64(i)))
            frames += card.takeOutput().frames
        }
        XCTAssertEqual(frames.map { [$0.canvas.pixel(x: 0, y: 0)[0], $0.canvas.pixel(x: 3, y: 0)[0]] },
                       [[10, 10], [10, 200], [200, 200]])  // start; locking changes nothing shown; switched; unlocked
        XCTAssertEqual(frames.last?.extras["input"], 0x58)
    }
}
