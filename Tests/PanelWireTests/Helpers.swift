import PanelCore
import PanelWire
import XCTest

/// Asserts that `body` throws a `WireError` with this reason and offset.
func assertRejects(_ reason: WireError.Reason, at offset: Int, _ body: () throws(WireError) -> Void,
                   file: StaticString = #filePath, line: UInt = #line) {
    do {
        try body()
        XCTFail("decoded; expected \(reason.rawValue) at \(offset)", file: file, line: line)
    } catch {
        XCTAssertEqual(error.reason, reason, "\(error)", file: file, line: line)
        XCTAssertEqual(error.offset, offset, "\(error)", file: file, line: line)
        XCTAssertFalse(error.detail.isEmpty, file: file, line: line)
    }
}

/// Decodes an Art-Net packet and hands the message to `check` while the bytes are alive.
func withArtNet(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line, _ check: (ArtNetMessage) -> Void) {
    bytes.withUnsafeBytes { b in
        do {
            check(try ArtNetDecoder.decode(b))
        } catch {
            XCTFail("rejected: \(error)", file: file, line: line)
        }
    }
}

func withE131(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line, _ check: (E131Message) -> Void) {
    bytes.withUnsafeBytes { b in
        do {
            check(try E131Decoder.decode(b))
        } catch {
            XCTFail("rejected: \(error)", file: file, line: line)
        }
    }
}

func decodeArtNet(_ bytes: [UInt8]) throws(WireError) {
    var failure: WireError?
    bytes.withUnsafeBytes { b in
        do throws(WireError) { _ = try ArtNetDecoder.decode(b) } catch { failure = error }
    }
    if let failure { throw failure }
}

func decodeE131(_ bytes: [UInt8]) throws(WireError) {
    var failure: WireError?
    bytes.withUnsafeBytes { b in
        do throws(WireError) { _ = try E131Decoder.decode(b) } catch { failure = error }
    }
    if let failure { throw failure }
}

/// Sets the E1.31 flags+length fields at these offsets to 0x7 | (bytes from there to the end),
/// so a truncated or extended packet stays consistent at the layers named.
func fixPDULengths(_ b: inout [UInt8], at offsets: [Int]) {
    for o in offsets where o + 1 < b.count {
        let v = UInt16(0x7000 | ((b.count - o) & 0x0FFF))
        b[o] = UInt8(v >> 8)
        b[o + 1] = UInt8(v & 0xFF)
    }
}

func setU16BE(_ b: inout [UInt8], _ o: Int, _ v: UInt16) {
    b[o] = UInt8(v >> 8)
    b[o + 1] = UInt8(v & 0xFF)
}

func hexString(_ b: [UInt8]) -> String {
    b.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: " ")
}
