import PanelCore
import PanelWire
import XCTest

/// The in-place encoders (senders write the data straight into the packet) give exactly the
/// bytes of the array encoders, for every data length that matters (empty, odd, full, too long).
final class InPlaceEncoderTests: XCTestCase {
    /// Data of `n` bytes, distinct from one packet to the next.
    func data(_ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ n) } }

    /// Runs the in-place encoder on a buffer of `size` bytes (filled with 0xEE first) whose
    /// `fill` copies `d`, and returns the packet it reports.
    func inPlace(size: Int, _ d: [UInt8], _ encode: (UnsafeMutableRawBufferPointer, (UnsafeMutableRawBufferPointer) -> Int) -> Int) -> [UInt8] {
        var buffer = [UInt8](repeating: 0xEE, count: size)
        let n = buffer.withUnsafeMutableBytes { out in
            encode(out) { dst in
                let k = min(dst.count, d.count)
                for i in 0..<k { dst[i] = d[i] }
                return k
            }
        }
        return Array(buffer[0..<n])
    }

    func testArtDmx() {
        for n in [0, 1, 2, 3, 170, 509, 510, 511, 512, 600] {
            let d = data(n)
            var expected: [UInt8] = []
            d.withUnsafeBytes { ArtNetEncoder.dmx(into: &expected, sequence: 9, physical: 2, portAddress: 0x7ABC, data: $0) }
            let got = inPlace(size: ArtNetEncoder.dmxMaximumSize, d) { out, fill in
                ArtNetEncoder.dmx(in: out, sequence: 9, physical: 2, portAddress: 0x7ABC, data: fill)
            }
            XCTAssertEqual(got, expected, "\(n) slots")
        }
        XCTAssertEqual(inPlace(size: 100, data(10)) { ArtNetEncoder.dmx(in: $0, sequence: 1, portAddress: 0, data: $1) }, [], "buffer too small")
    }

    func testE131DataTemplate() {
        let cid = CID(high: 0x0102_0304_0506_0708, low: 0x090A_0B0C_0D0E_0F10)
        let template = E131Encoder.DataTemplate(cid: cid, sourceName: "template test", priority: 150, syncAddress: 7)
        for n in [0, 1, 2, 170, 510, 512, 600] {
            let d = data(n)
            var expected: [UInt8] = []
            d.withUnsafeBytes {
                E131Encoder.data(into: &expected, cid: cid, sourceName: "template test", priority: 150, syncAddress: 7, sequence: 200,
                                 options: .streamTerminated, universe: 63999, startCode: 0xDD, data: $0)
            }
            let got = inPlace(size: E131Encoder.dataMaximumSize, d) { out, fill in
                template.write(in: out, sequence: 200, options: .streamTerminated, universe: 63999, startCode: 0xDD, data: fill)
            }
            XCTAssertEqual(got, expected, "\(n) slots")
        }
        XCTAssertEqual(inPlace(size: 600, data(10)) { template.write(in: $0, sequence: 1, universe: 1, data: $1) }, [], "buffer too small")
    }

    func testDDP() {
        for timecode in [nil, UInt32(0xDEAD_BEEF)] as [UInt32?] {
            for n in [0, 3, 1440, 1500] {
                let d = data(n)
                let h = DDPHeader(flags: DDP.Flag.version1 | DDP.Flag.push, sequence: 12, dataType: 0x0B, destination: 1, offset: 123_456, timecode: timecode)
                var expected: [UInt8] = []
                d.withUnsafeBytes { DDPEncoder.packet(into: &expected, h, data: $0) }
                let got = inPlace(size: DDP.timecodeHeaderLength + 1500, d) { DDPEncoder.packet(in: $0, h, data: $1) }
                XCTAssertEqual(got, expected, "\(n) bytes, timecode \(String(describing: timecode))")
            }
        }
    }

    func testTPM2NetAndTPM2Serial() {
        for n in [0, 1, 1490] {
            let d = data(n)
            var expected: [UInt8] = []
            d.withUnsafeBytes { TPM2NetEncoder.packet(into: &expected, number: 3, count: 4, data: $0) }
            XCTAssertEqual(inPlace(size: 7 + n, d) { TPM2NetEncoder.packet(in: $0, number: 3, count: 4, data: $1) }, expected, "TPM2.net \(n)")
            d.withUnsafeBytes { TPM2Serial.packet(into: &expected, type: .data, data: $0) }
            XCTAssertEqual(inPlace(size: 5 + n, d) { TPM2Serial.packet(in: $0, type: .data, data: $1) }, expected, "TPM2 \(n)")
        }
        // A buffer shorter than the data cuts it, keeping room for the end byte.
        let d = data(20)
        var expected: [UInt8] = []
        d.prefix(10).withUnsafeBytes { TPM2NetEncoder.packet(into: &expected, number: 1, count: 1, data: $0) }
        XCTAssertEqual(inPlace(size: 17, d) { TPM2NetEncoder.packet(in: $0, number: 1, count: 1, data: $1) }, expected)
    }

    func testOPCAndEnttec() {
        for n in [0, 3, 512, 513] {
            let d = data(n)
            var expected: [UInt8] = []
            d.withUnsafeBytes { OPCEncoder.message(into: &expected, channel: 5, command: 0, data: $0) }
            XCTAssertEqual(inPlace(size: 4 + n, d) { OPCEncoder.message(in: $0, channel: 5, command: 0, data: $1) }, expected, "OPC \(n)")
            d.withUnsafeBytes { EnttecPro.message(into: &expected, label: EnttecPro.Label.sendDMX, data: $0) }
            XCTAssertEqual(inPlace(size: 5 + 600, d) { EnttecPro.message(in: $0, label: EnttecPro.Label.sendDMX, data: $1) }, expected, "Enttec \(n)")
        }
    }

    func testColorlightRow() {
        for n in [0, 3, 4, 1491, 1494] {
            let d = data(n)
            var expected: [UInt8] = []
            d.withUnsafeBytes { ColorlightEncoder.row(into: &expected, row: 300, offset: 497, pixels: $0) }
            let got = inPlace(size: Colorlight.rowHeaderLength + 1494, d) { ColorlightEncoder.row(in: $0, row: 300, offset: 497, pixels: $1) }
            XCTAssertEqual(got, expected, "\(n) bytes")
        }
    }

    func testSwapRedAndBlueReversesEveryPixelAndWritesNothingElse() {
        // Every count around the shuffle loops' steps (5 and 10 pixels) and the plain tail.
        for n in Array(0...41) + [497, 1001] {
            let source = data(3 * n)
            var out = [UInt8](repeating: 0xEE, count: 3 * n + 4)
            source.withUnsafeBytes { s in
                out.withUnsafeMutableBytes { d in
                    guard let sp = s.baseAddress, let dp = d.baseAddress else { return }
                    Colorlight.swapRedAndBlue(from: sp, to: dp + 1, pixels: n)
                }
            }
            var expected: [UInt8] = [0xEE]
            for p in 0..<n { expected += [source[3 * p + 2], source[3 * p + 1], source[3 * p]] }
            expected += [0xEE, 0xEE, 0xEE]
            XCTAssertEqual(out, expected, "\(n) pixels")
        }
    }
}
