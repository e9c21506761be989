import PanelCore
import XCTest

@testable import PanelWire

/// Byte-exact TPM2.net vectors, every rejection, every rule.
final class TPM2NetWireTests: XCTestCase {

    /// Decodes and drops the result: for rejection checks.
    func rejection(_ bytes: [UInt8]) throws(WireError) {
        let error: WireError? = bytes.withUnsafeBytes { b in
            do throws(WireError) { _ = try TPM2NetDecoder.decode(b); return nil } catch { return error }
        }
        if let error { throw error }
    }

    func decode(_ bytes: [UInt8], _ check: (TPM2NetPacket) -> Void) {
        bytes.withUnsafeBytes { b in
            do throws(WireError) { check(try TPM2NetDecoder.decode(b)) } catch { XCTFail("\(error)") }
        }
    }

    func reject(_ bytes: [UInt8], _ reason: WireError.Reason, at offset: Int, file: StaticString = #filePath, line: UInt = #line) {
        assertRejects(reason, at: offset, { () throws(WireError) in
            try rejection(bytes)
        }, file: file, line: line)
    }

    func testDataPacket() {
        let bytes: [UInt8] = [0x9C, 0xDA, 0x00, 0x03, 0x02, 0x03, 0x10, 0x20, 0x30, 0x36]
        var out: [UInt8] = []
        ([0x10, 0x20, 0x30] as [UInt8]).withUnsafeBytes { TPM2NetEncoder.packet(into: &out, number: 2, count: 3, data: $0) }
        XCTAssertEqual(out, bytes)
        decode(bytes) { p in
            XCTAssertEqual(p.type, .data)
            XCTAssertEqual(p.packetNumber, 2)
            XCTAssertEqual(p.packetCount, 3)
            XCTAssertEqual(Array(p.data), [0x10, 0x20, 0x30])
            XCTAssertTrue(p.violations.isEmpty)
        }
        bytes.withUnsafeBytes { XCTAssertTrue(TPM2NetDecoder.looksLikeTPM2Net($0)) }
    }

    func testPing() {
        var out: [UInt8] = []
        TPM2NetEncoder.ping(into: &out)
        XCTAssertEqual(out, [0x9C, 0xAA, 0x00, 0x00, 0x01, 0x01, 0x36])
        decode(out) { XCTAssertEqual($0.type, .ping) }
        decode([0x9C, 0xC0, 0x00, 0x01, 0x01, 0x01, 0x05, 0x36]) { XCTAssertEqual($0.type, .command) }
    }

    func testRejections() {
        for n in 0..<6 { reject(Array([0x9C, 0xDA, 0, 0, 1, 1].prefix(n)), .tooShort, at: n) }
        reject([0x9D, 0xDA, 0, 0, 1, 1, 0x36], .badIdentifier, at: 0)
        reject([0x9C, 0x11, 0, 0, 1, 1, 0x36], .badIdentifier, at: 1)
        reject([0x9C, 0xDA, 0, 10, 1, 1, 1, 2, 3, 0x36], .lengthPastEnd, at: 2)
        reject([0x9C, 0xDA, 0xFF, 0xFF, 1, 1, 0x36], .lengthPastEnd, at: 2)
        reject([0x9C, 0xDA, 0, 3, 1, 1, 1, 2, 3, 0x37], .badIdentifier, at: 9)
    }

    func testViolations() {
        decode([0x9C, 0xDA, 0, 3, 1, 1, 1, 2, 3]) { XCTAssertEqual($0.violations.ruleIDs.map(\.rawValue), ["tpm2net.missing-end-byte"]) }
        decode([0x9C, 0xDA, 0, 0, 0, 0, 0x36, 0]) {
            XCTAssertEqual($0.violations.ruleIDs.map(\.rawValue), ["tpm2net.packet-number", "tpm2net.packet-count", "tpm2net.trailing-bytes"])
        }
        decode([0x9C, 0xDA, 0, 0, 4, 3, 0x36]) { XCTAssertEqual($0.violations.ruleIDs.map(\.rawValue), ["tpm2net.packet-number"]) }
        decode([0x9C, 0xDA, 0x05, 0xD3, 1, 1] + [UInt8](repeating: 0, count: 1491) + [0x36]) {
            XCTAssertEqual($0.violations.ruleIDs.map(\.rawValue), ["tpm2net.data-over-1490"])
        }
        for id in TPM2NetViolations.table.map(\.1) { XCTAssertNotNil(TPM2NetViolations.explanation(id)) }
    }

    func testDecodeSafety() {
        var rng = SeededGenerator(seed: 0x7E2)
        let seeds: [[UInt8]] = [[0x9C, 0xDA, 0, 3, 1, 2, 1, 2, 3, 0x36], [0x9C, 0xAA, 0, 0, 1, 1, 0x36]]
        for i in 0..<20000 {
            var b = seeds[i % seeds.count]
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                if Bool.random(using: &rng), !b.isEmpty { b[Int.random(in: 0..<b.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
                else if Bool.random(using: &rng) { b = Array(b.prefix(Int.random(in: 0...b.count, using: &rng))) }
                else { b.append(UInt8.random(in: 0...255, using: &rng)) }
            }
            b.withUnsafeBytes { buf in
                do throws(WireError) {
                    let p = try TPM2NetDecoder.decode(buf)
                    XCTAssertLessThanOrEqual(p.data.count + TPM2Net.headerLength, buf.count)
                } catch {
                    XCTAssertTrue((0...buf.count).contains(error.offset))
                }
            }
        }
    }
}
