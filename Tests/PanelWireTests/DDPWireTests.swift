import PanelCore
import XCTest

@testable import PanelWire

/// Byte-exact DDP vectors (python-led-ddp, xLights, timecode), every rejection, every rule.
final class DDPWireTests: XCTestCase {

    /// Decodes and drops the result: for rejection checks.
    func rejection(_ bytes: [UInt8]) throws(WireError) {
        let error: WireError? = bytes.withUnsafeBytes { b in
            do throws(WireError) { _ = try DDPDecoder.decode(b); return nil } catch { return error }
        }
        if let error { throw error }
    }

    func encode(_ h: DDPHeader, _ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        data.withUnsafeBytes { DDPEncoder.packet(into: &out, h, data: $0) }
        return out
    }

    func decode(_ bytes: [UInt8], _ check: (DDPPacket) -> Void) {
        bytes.withUnsafeBytes { b in
            do throws(WireError) { check(try DDPDecoder.decode(b)) } catch { XCTFail("\(error)") }
        }
    }

    /// python-led-ddp sends a 3000-byte frame as 1440 + 1440 + 120, flags 0x40/0x41,
    /// sequence 1...3, data type 0x0D, destination 1 (INTEROP.md).
    func testPythonLedDDPFrameShape() {
        let frame = (0..<3000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        let expectedHeaders: [[UInt8]] = [
            [0x40, 0x01, 0x0D, 0x01, 0x00, 0x00, 0x00, 0x00, 0x05, 0xA0],
            [0x40, 0x02, 0x0D, 0x01, 0x00, 0x00, 0x05, 0xA0, 0x05, 0xA0],
            [0x41, 0x03, 0x0D, 0x01, 0x00, 0x00, 0x0B, 0x40, 0x00, 0x78],
        ]
        for (i, (offset, n)) in [(0, 1440), (1440, 1440), (2880, 120)].enumerated() {
            let h = DDPHeader(flags: i == 2 ? 0x41 : 0x40, sequence: UInt8(i + 1), dataType: DDP.DataType.pythonLedDDP,
                              destination: 1, offset: UInt32(offset))
            let bytes = encode(h, Array(frame[offset..<(offset + n)]))
            XCTAssertEqual(Array(bytes.prefix(10)), expectedHeaders[i])
            XCTAssertEqual(bytes.count, 10 + n)
            decode(bytes) { p in
                XCTAssertEqual(p.header, h)
                XCTAssertEqual(p.header.push, i == 2)
                XCTAssertEqual(Array(p.data), Array(frame[offset..<(offset + n)]))
                XCTAssertTrue(p.violations.isEmpty)
                XCTAssertNil(DDP.DataType.pixelFormat(p.header.dataType))
            }
            bytes.withUnsafeBytes { XCTAssertTrue(DDPDecoder.looksLikeDDP($0)) }
        }
    }

    /// xLights' sync: type 0x80, PUSH, destination 1, length 0.
    func testXLightsSyncPacket() {
        let bytes: [UInt8] = [0x41, 0x07, 0x80, 0x01, 0, 0, 0, 0, 0, 0]
        XCTAssertEqual(encode(DDPHeader(flags: 0x41, sequence: 7, dataType: 0x80, destination: 1), []), bytes)
        decode(bytes) { p in
            XCTAssertTrue(p.header.push)
            XCTAssertEqual(p.header.dataType, DDP.DataType.xLightsSync)
            XCTAssertEqual(p.data.count, 0)
            XCTAssertTrue(p.violations.isEmpty)
        }
    }

    func testTimecodeHeader() {
        let bytes: [UInt8] = [0x51, 0x05, 0x0B, 0x01, 0x00, 0x00, 0x00, 0x03, 0x00, 0x03, 0x12, 0x34, 0x56, 0x78, 0xAA, 0xBB, 0xCC]
        let h = DDPHeader(flags: 0x41, sequence: 5, dataType: 0x0B, destination: 1, offset: 3, timecode: 0x1234_5678)
        XCTAssertEqual(encode(h, [0xAA, 0xBB, 0xCC]), bytes)
        decode(bytes) { p in
            XCTAssertEqual(p.header.timecode, 0x1234_5678)
            XCTAssertEqual(p.header.offset, 3)
            XCTAssertEqual(Array(p.data), [0xAA, 0xBB, 0xCC])
        }
    }

    func testQueryEncoding() {
        var out: [UInt8] = []
        DDPEncoder.query(into: &out, destination: DDP.Destination.status, sequence: 2)
        XCTAssertEqual(out, [0x42, 0x02, 0x00, 0xFB, 0, 0, 0, 0, 0, 0])
    }

    func testRejections() {
        for n in 0..<10 {
            let bytes = [UInt8](repeating: 0x41, count: n)
            assertRejects(.tooShort, at: n) { () throws(WireError) in try rejection(bytes) }
        }
        let timecodeShort: [UInt8] = [0x50, 0, 0x0B, 1, 0, 0, 0, 0, 0, 0, 0x12, 0x34]
        assertRejects(.tooShort, at: 12) { () throws(WireError) in try rejection(timecodeShort) }
        let pastEnd: [UInt8] = [0x41, 1, 0x0B, 1, 0, 0, 0, 0, 0x00, 0x0A, 1, 2, 3, 4, 5]
        assertRejects(.lengthPastEnd, at: 8) { () throws(WireError) in try rejection(pastEnd) }
        let pastEndHuge: [UInt8] = [0x41, 1, 0x0B, 1, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
        assertRejects(.lengthPastEnd, at: 8) { () throws(WireError) in try rejection(pastEndHuge) }
    }

    func testViolations() {
        decode([0x81, 0x13, 0x0B, 1, 0, 0, 0, 0, 0, 1, 9, 9]) { p in
            XCTAssertEqual(p.violations.ruleIDs.map(\.rawValue), ["ddp.version", "ddp.trailing-bytes", "ddp.sequence-high-bits"])
            XCTAssertEqual(p.header.sequence, 3)
            XCTAssertEqual(Array(p.data), [9])
        }
        decode([0x61, 0, 0x0B, 1, 0, 0, 0, 0, 0, 0]) { XCTAssertEqual($0.violations.ruleIDs.map(\.rawValue), ["ddp.reserved-flag"]) }
        decode([0x41, 0, 0x0B, 1, 0, 0, 0, 0, 0x05, 0xA1] + [UInt8](repeating: 0, count: 1441)) {
            XCTAssertEqual($0.violations.ruleIDs.map(\.rawValue), ["ddp.data-over-1440"])
        }
        for id in DDPViolations.table.map(\.1) { XCTAssertNotNil(DDPViolations.explanation(id)) }
    }

    /// Detection wants DDP's exact shape: Art-Net and TPM2.net datagrams are not DDP.
    func testDetection() {
        let artDmx = ArtNet.identifier + [0x00, 0x50, 0x00, 0x0E, 0, 0, 0, 0, 0x00, 0x02, 1, 2]
        artDmx.withUnsafeBytes { XCTAssertFalse(DDPDecoder.looksLikeDDP($0)) }
        ([0x9C, 0xDA, 0, 3, 1, 1, 1, 2, 3, 0x36] as [UInt8]).withUnsafeBytes { XCTAssertFalse(DDPDecoder.looksLikeDDP($0)) }
        ([0x41, 0, 0x0B, 7, 0, 0, 0, 0, 0, 0] as [UInt8]).withUnsafeBytes { XCTAssertFalse(DDPDecoder.looksLikeDDP($0)) }
    }

    /// Random and mutated buffers: no trap, and every outcome well-formed.
    func testDecodeSafety() {
        var rng = SeededGenerator(seed: 0xDD9)
        let seeds: [[UInt8]] = [[0x41, 1, 0x0B, 1, 0, 0, 0, 0, 0, 3, 1, 2, 3],
                                [0x51, 1, 0x0D, 1, 0, 0, 0, 9, 0, 3, 1, 2, 3, 4, 5, 6, 7], [0x42, 0, 0, 0xFB, 0, 0, 0, 0, 0, 0]]
        for i in 0..<20000 {
            var b = seeds[i % seeds.count]
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                if Bool.random(using: &rng), !b.isEmpty { b[Int.random(in: 0..<b.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
                else if Bool.random(using: &rng) { b = Array(b.prefix(Int.random(in: 0...b.count, using: &rng))) }
                else { b.append(UInt8.random(in: 0...255, using: &rng)) }
            }
            b.withUnsafeBytes { buf in
                do throws(WireError) {
                    let p = try DDPDecoder.decode(buf)
                    XCTAssertLessThanOrEqual(p.data.count + DDP.headerLength, buf.count)
                    if let base = p.data.baseAddress, let start = buf.baseAddress {
                        XCTAssertGreaterThanOrEqual(base, start)
                        XCTAssertLessThanOrEqual(base + p.data.count, start + buf.count)
                    }
                } catch {
                    XCTAssertTrue((0...buf.count).contains(error.offset))
                }
            }
        }
    }
}
