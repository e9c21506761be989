import PanelWire
import XCTest

/// Colorlight 5A frames, byte by byte as PROTOCOLS.md lays them out.
final class ColorlightWireTests: XCTestCase {
    let macs: [UInt8] = [0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x22, 0x22, 0x33, 0x44, 0x55, 0x66]

    func decode(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line, _ check: (ColorlightPacket) -> Void) {
        bytes.withUnsafeBytes { b in
            do { check(try ColorlightDecoder.decode(b)) } catch { XCTFail("rejected: \(error)", file: file, line: line) }
        }
    }

    func rejection(_ bytes: [UInt8]) throws(WireError) {
        let error: WireError? = bytes.withUnsafeBytes { b in
            do throws(WireError) { _ = try ColorlightDecoder.decode(b); return nil } catch { return error }
        }
        if let error { throw error }
    }

    func displayOf(_ p: ColorlightPacket) -> ColorlightDisplay? { if case .display(let d) = p.message { return d }; return nil }
    func brightnessOf(_ p: ColorlightPacket) -> ColorlightBrightness? { if case .brightness(let v) = p.message { return v }; return nil }
    func replyOf(_ p: ColorlightPacket) -> ColorlightDetectReply? { if case .detectReply(let r) = p.message { return r }; return nil }

    func testRowEncodesByteExactAndDecodesBack() {
        let bgr: [UInt8] = [1, 2, 3, 4, 5, 6]
        var out: [UInt8] = []
        bgr.withUnsafeBytes { ColorlightEncoder.row(into: &out, row: 0x0102, offset: 0x0304, pixels: $0) }
        XCTAssertEqual(out, macs + [0x55, 0x01, 0x02, 0x03, 0x04, 0x00, 0x02, 0x08, 0x88, 1, 2, 3, 4, 5, 6])
        decode(out) { p in
            guard case .row(let r) = p.message else { return XCTFail("\(p.message)") }
            XCTAssertEqual([r.row, r.offset, r.count], [0x0102, 0x0304, 2])
            XCTAssertEqual(Array(r.pixels), bgr)
            XCTAssertEqual(p.violations, [])
        }
    }

    func testRowTakesAtMost497Pixels() {
        let bgr = [UInt8](repeating: 7, count: 3 * 600)
        var out: [UInt8] = []
        bgr.withUnsafeBytes { ColorlightEncoder.row(into: &out, row: 0, offset: 0, pixels: $0) }
        XCTAssertEqual(out.count, 21 + 3 * 497)
        XCTAssertEqual(Array(out[17...18]), [0x01, 0xF1])
    }

    func testDisplayBrightnessAndDetectFrames() {
        var out: [UInt8] = []
        ColorlightEncoder.display(into: &out, ColorlightDisplay(brightness: 0x80, red: 0x10, green: 0x20, blue: 0x30))
        var expected = macs + [0x01, 0x07] + [UInt8](repeating: 0, count: 98)
        expected[35] = 0x80; expected[36] = 0x05; expected[38] = 0x10; expected[39] = 0x20; expected[40] = 0x30
        XCTAssertEqual(out, expected)
        decode(out) { XCTAssertEqual(self.displayOf($0),
                                     ColorlightDisplay(variant: 7, brightness: 0x80, red: 0x10, green: 0x20, blue: 0x30)) }

        ColorlightEncoder.brightness(into: &out, ColorlightBrightness(red: 1, green: 2, blue: 3))
        XCTAssertEqual(out, macs + [0x0A, 1, 2, 3, 0xFF] + [UInt8](repeating: 0, count: 60))
        decode(out) { XCTAssertEqual(self.brightnessOf($0),
                                     ColorlightBrightness(red: 1, green: 2, blue: 3)) }

        ColorlightEncoder.detect(into: &out)
        XCTAssertEqual(out, macs + [0x07] + [UInt8](repeating: 0, count: 99))
        decode(out) { if case .detect = $0.message {} else { XCTFail("\($0.message)") } }

        ColorlightEncoder.detectReply(into: &out, ColorlightDetectReply(firmware: 0x000D, width: 256, height: 128),
                                      destination: Colorlight.senderMAC, source: Colorlight.receiverMAC)
        var reply = Colorlight.senderMAC + Colorlight.receiverMAC + [0x08, 0x05, 0x04, 0x00, 0x0D] + [UInt8](repeating: 0, count: 95)
        reply[34] = 0x01; reply[35] = 0x00; reply[36] = 0x00; reply[37] = 0x80
        XCTAssertEqual(out, reply)
        decode(out) { XCTAssertEqual(self.replyOf($0),
                                     ColorlightDetectReply(model: 4, firmware: 13, width: 256, height: 128)) }
    }

    func testOtherTypesDecodeAsOther() {
        decode(macs + [0x33, 0]) { if case .other(type: 0x33) = $0.message {} else { XCTFail("\($0.message)") } }
    }

    func testRejectionsNameTheOffset() {
        assertRejects(.tooShort, at: 12) { () throws(WireError) in try rejection(macs) }
        let rowHead = macs + [0x55, 0, 0, 0, 0, 0, 2, 0x08]
        assertRejects(.tooShort, at: 20) { () throws(WireError) in try rejection(rowHead) }
        let cut = macs + [0x55, 0, 0, 0, 0, 0, 2, 0x08, 0x88, 1, 2, 3, 4]
        assertRejects(.lengthPastEnd, at: 17) { () throws(WireError) in try rejection(cut) }
        let display = macs + [0x01, 0x07] + [UInt8](repeating: 0, count: 20)
        assertRejects(.tooShort, at: 34) { () throws(WireError) in try rejection(display) }
    }

    func testReadableOddFramesCarryRules() {
        decode(macs + [0x55, 0, 0, 0, 0, 0, 1, 0x08, 0x80, 1, 2, 3]) { XCTAssertEqual($0.violations, [ColorlightRule.rowMarker]) }
        decode(macs + [0x0A, 1, 2, 3, 0xFF]) { XCTAssertEqual($0.violations, [ColorlightRule.brightnessShort]) }
    }

    func testDetectionNeedsTheAddressesAndAKnownType() {
        func looks(_ b: [UInt8]) -> Bool { b.withUnsafeBytes { ColorlightDecoder.looksLikeColorlight($0) } }
        XCTAssertTrue(looks(macs + [0x55, 0]))
        XCTAssertTrue(looks(macs + [0x07, 0]))
        XCTAssertFalse(looks(macs + [0x88, 0xB5]))
        XCTAssertFalse(looks([UInt8](repeating: 0xFF, count: 12) + [0x55, 0]))
        XCTAssertFalse(looks(Array(macs.prefix(10))))
    }
}
