import PanelCore
import PanelWire
import XCTest

@testable import PanelDevice

/// The chain of Colorlight receiving cards: rows into the canvas, the display latch, brightness,
/// detect replies, firmware-13 duplicates and what is counted instead of trapping.
final class ColorlightReceiverTests: XCTestCase {
    let sender = PacketSource(address: "22:22:33:44:55:66", port: 0)

    func rowPacket(_ y: UInt16, offset: UInt16, _ rgb: [[UInt8]]) -> [UInt8] {
        let bgr = rgb.flatMap { [$0[2], $0[1], $0[0]] }
        var out: [UInt8] = []
        bgr.withUnsafeBytes { ColorlightEncoder.row(into: &out, row: y, offset: offset, pixels: $0) }
        return out
    }

    func displayPacket(brightness: UInt8 = 0xFF) -> [UInt8] {
        var out: [UInt8] = []
        ColorlightEncoder.display(into: &out, ColorlightDisplay(brightness: brightness))
        return out
    }

    func testRowsLandAtTheirOffsetAndTheDisplayPacketLatches() {
        let m = ColorlightReceiver(settings: ColorlightReceiverSettings(name: "c", width: 4, height: 2))
        m.feed(rowPacket(1, offset: 2, [[1, 2, 3], [4, 5, 6]]), from: sender, at: ms(0))
        m.feed(rowPacket(0, offset: 0, [[7, 8, 9]]), from: sender, at: ms(1))
        XCTAssertTrue(m.frames().isEmpty, "rows alone are not a frame")
        m.feed(displayPacket(), from: sender, at: ms(7))
        let f = m.frames()
        XCTAssertEqual(f.count, 1)
        XCTAssertEqual(f.first?.synchronized, true)
        XCTAssertEqual(f.first?.canvas.bytes, [7, 8, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                               0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6])
        XCTAssertEqual(f.first?.sources, [FrameSource(sender)])
    }

    func testRowsAndPixelsBeyondThePanelAreCountedNotDrawn() {
        let m = ColorlightReceiver(settings: ColorlightReceiverSettings(name: "c", width: 2, height: 1))
        m.feed(rowPacket(5, offset: 0, [[9, 9, 9]]), from: sender, at: ms(0))
        m.feed(rowPacket(0, offset: 1, [[1, 1, 1], [2, 2, 2], [3, 3, 3]]), from: sender, at: ms(1))
        m.feed(rowPacket(0, offset: 65535, [[4, 4, 4]]), from: sender, at: ms(2))
        m.feed(displayPacket(), from: sender, at: ms(8))
        XCTAssertEqual(m.frames().first?.canvas.bytes, [0, 0, 0, 1, 1, 1])
        XCTAssertEqual(m.counters["row-beyond-panel"], 1)
        XCTAssertEqual(m.counters["pixels-beyond-row"], 3)
        XCTAssertEqual(Set(m.findings.map(\.kind)), ["row-beyond-panel", "pixels-beyond-row"])
    }

    func testMalformedAndUnknownFramesAreCounted() {
        let m = ColorlightReceiver(settings: ColorlightReceiverSettings(name: "c", width: 2, height: 1))
        var cut = rowPacket(0, offset: 0, [[1, 1, 1], [2, 2, 2]])
        cut.removeLast(2)
        m.feed(cut, from: sender, at: ms(0))
        m.feed(Colorlight.receiverMAC + Colorlight.senderMAC + [0x33, 0], from: sender, at: ms(1))
        XCTAssertEqual(m.counters.malformed, ["length-past-end": 1])
        XCTAssertEqual(m.malformedPackets.first?.offset, 17)
        XCTAssertEqual(m.counters["type.0x33"], 1)
    }

    func testDetectIsAnsweredByEveryCardWithItsArea() {
        let m = ColorlightReceiver(settings: ColorlightReceiverSettings(name: "c", width: 256, height: 128, cardRows: [64, 64], firmware: 13))
        var probe: [UInt8] = []
        let requester: [UInt8] = [0x02, 0, 0, 0, 0, 7]
        ColorlightEncoder.detect(into: &probe, source: requester)
        m.feed(probe, from: sender, at: ms(0))
        let replies = m.takeOutput().replies
        XCTAssertEqual(replies.count, 2)
        var expected: [UInt8] = []
        ColorlightEncoder.detectReply(into: &expected, ColorlightDetectReply(firmware: 13, width: 256, height: 64),
                                      destination: requester, source: Colorlight.receiverMAC)
        XCTAssertEqual(replies.first?.bytes, expected)
        XCTAssertEqual(Array(expected[0..<6]), requester)
        XCTAssertEqual(replies.first?.destination.address, "02:00:00:00:00:07")
    }

    func testFirmware13DuplicatesAreNotASecondFrame() {
        let plain = ColorlightReceiver(settings: ColorlightReceiverSettings(name: "c", width: 1, height: 1))
        let fw13 = ColorlightReceiver(settings: ColorlightReceiverSettings(name: "c", width: 1, height: 1, duplicates: true))
        for m in [plain, fw13] {
            m.feed(rowPacket(0, offset: 0, [[1, 2, 3]]), from: sender, at: ms(0))
            m.feed(displayPacket(), from: sender, at: ms(6))
            m.feed(displayPacket(), from: sender, at: ms(6))
            m.feed(rowPacket(0, offset: 0, [[4, 5, 6]]), from: sender, at: ms(40))
            m.feed(displayPacket(), from: sender, at: ms(46))
            m.feed(rowPacket(0, offset: 0, [[7, 8, 9]]), from: sender, at: ms(80))
        }
        XCTAssertEqual(plain.frames().count, 3, "without the option every display packet latches")
        XCTAssertEqual(fw13.frames().map(\.canvas.bytes), [[1, 2, 3], [4, 5, 6]])
        XCTAssertEqual(fw13.counters["display-duplicate"], 1)
        XCTAssertEqual(fw13.counters["display-not-duplicated"], 1)
    }

    func testBrightnessIsRecordedAndUnlatchedRowsTearOnTimeout() {
        let m = ColorlightReceiver(settings: ColorlightReceiverSettings(name: "c", width: 1, height: 1))
        m.feed(displayPacket(brightness: 0x40), from: sender, at: ms(0))
        var b: [UInt8] = []
        ColorlightEncoder.brightness(into: &b, ColorlightBrightness(red: 10, green: 20, blue: 30))
        m.feed(b, from: sender, at: ms(1))
        XCTAssertEqual(m.brightness, [0x40, 10, 20, 30])
        XCTAssertEqual(m.findings.filter { $0.kind == "brightness" }.count, 2)
        _ = m.frames()
        m.feed(rowPacket(0, offset: 0, [[1, 2, 3]]), from: sender, at: ms(10))
        m.tick(at: ms(50))
        XCTAssertTrue(m.frames().isEmpty)
        m.tick(at: ms(200))
        let torn = m.frames()
        XCTAssertEqual(torn.map(\.torn), [true])
        XCTAssertEqual(torn.first?.canvas.bytes, [1, 2, 3])
    }

    func testFramesCarryTheBrightnessInForceWhenLatched() {
        let m = ColorlightReceiver(settings: ColorlightReceiverSettings(name: "c", width: 1, height: 1))
        func latch(_ display: [UInt8]) -> [String: Int]? {
            m.feed(rowPacket(0, offset: 0, [[1, 2, 3]]), from: sender, at: ms(0))
            m.feed(display, from: sender, at: ms(6))
            return m.frames().last?.extras
        }
        XCTAssertEqual(latch(displayPacket()), ["brightness": 255, "brightness-red": 255, "brightness-green": 255, "brightness-blue": 255])
        XCTAssertEqual(latch(displayPacket(brightness: 0x40))?["brightness"], 0x40, "the display packet's brightness applies to its own frame")
        var b: [UInt8] = []
        ColorlightEncoder.brightness(into: &b, ColorlightBrightness(red: 10, green: 20, blue: 30))
        m.feed(b, from: sender, at: ms(7))
        var display: [UInt8] = []
        ColorlightEncoder.display(into: &display, ColorlightDisplay(brightness: 0x40, red: 10, green: 20, blue: 30))
        XCTAssertEqual(latch(display), ["brightness": 0x40, "brightness-red": 10, "brightness-green": 20, "brightness-blue": 30])
    }

    /// `send --brightness 100 --rgb-brightness 200,150,100`: the display packet carries all four,
    /// the 0x0A packet after it R, G, B; without them, full brightness and no 0x0A packet.
    func testSenderSettingsCarryBrightness() throws {
        let map = try ChannelMap(width: 1, height: 1, format: .rgb, settings: MappingSettings(startUniverse: 0, channelsPerUniverse: 510))
        var settings = SenderSettings(map: map)
        settings.brightness = 100
        settings.rgbBrightness = ColorlightBrightness(red: 200, green: 150, blue: 100)
        var s = ColorlightSender(settings: settings)
        var packets: [[UInt8]] = []
        s.encode(Canvas(width: 1, height: 1, format: .rgb), emit: { b, _ in packets.append(Array(b)) })
        XCTAssertEqual(packets.map { $0[12] }, [0x55, 0x01, 0x0A])
        XCTAssertEqual(packets[1][35], 100)
        XCTAssertEqual(Array(packets[1][38...40]), [200, 150, 100])
        XCTAssertEqual(Array(packets[2][13...16]), [200, 150, 100, 0xFF])
        var plain = ProtocolPlugin.colorlight.makeSender(SenderSettings(map: map))
        packets = []
        plain.encode(Canvas(width: 1, height: 1, format: .rgb), emit: { b, _ in packets.append(Array(b)) })
        XCTAssertEqual(packets.map { $0[12] }, [0x55, 0x01])
        XCTAssertEqual([packets[1][35]] + Array(packets[1][38...40]), [0xFF, 0xFF, 0xFF, 0xFF])
    }

    func testPluginOptions() throws {
        let map = try ChannelMap(width: 256, height: 128, format: .rgb, settings: MappingSettings(startUniverse: 0, channelsPerUniverse: 510))
        func make(_ o: [String: String]) throws(OptionError) -> ColorlightReceiver? {
            try ProtocolPlugin.colorlight.makeDevice(ControllerSettings(name: "c", map: map, options: o)) as? ColorlightReceiver
        }
        XCTAssertEqual(try make([:])?.settings.cardRows, [128])
        XCTAssertEqual(try make(["cards": "3"])?.settings.cardRows, [43, 43, 42])
        XCTAssertEqual(try make(["card-rows": "100,28"])?.settings.cardRows, [100, 28])
        XCTAssertEqual(try make(["firmware13-duplicates": "on"])?.settings.firmware, 13)
        XCTAssertThrowsError(try make(["card-rows": "100,20"])) { XCTAssertEqual(($0 as? OptionError)?.key, "card-rows") }
        XCTAssertThrowsError(try make(["firmware": "x"])) { XCTAssertEqual(($0 as? OptionError)?.key, "firmware") }
        XCTAssertThrowsError(try make(["cards": "2", "card-rows": "128"])) { XCTAssertEqual(($0 as? OptionError)?.key, "cards") }
    }

    func testSenderSplitsRowsAt497AndItsFramesRebuildTheImage() {
        var canvas = Canvas(width: 600, height: 2, format: .rgb)
        for i in canvas.bytes.indices { canvas.bytes[i] = UInt8(truncatingIfNeeded: i &* 7) }
        var s = ColorlightSender(brightness: ColorlightBrightness(red: 1, green: 1, blue: 1), duplicates: true)
        var packets: [[UInt8]] = []
        s.encode(canvas, emit: { b, _ in packets.append(Array(b)) })
        XCTAssertEqual(packets.map { $0[12] }, [0x55, 0x55, 0x55, 0x55, 0x01, 0x01, 0x0A, 0x0A])
        XCTAssertEqual(packets.prefix(2).map { Int($0[15]) << 8 | Int($0[16]) }, [0, 497])
        let m = ColorlightReceiver(settings: ColorlightReceiverSettings(name: "c", width: 600, height: 2, duplicates: true))
        for p in packets { m.feed(p, from: sender, at: ms(0)) }
        XCTAssertEqual(m.frames().map(\.canvas), [canvas])
    }
}
