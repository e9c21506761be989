import XCTest

import PanelCore
@testable import PanelWire

/// Bad input is data, not a crash: 200 000 random and mutated buffers (seeded) go through
/// both decoders. Besides not trapping, every outcome must be well-formed: a rejection's
/// offset lies within the packet, and a decoded message's views lie inside the buffer.
final class DecodeSafetyTests: XCTestCase {
    static let seeds: [[UInt8]] = [
        Vectors.artDmx, Vectors.artNzs, Vectors.artSync, Vectors.artPollShort, Vectors.artPollLong,
        Vectors.artPollReply, Vectors.artAddress, Vectors.artTimeCode, Vectors.artVendorFD00,
        Vectors.e131Data, Vectors.e131DataOptions, Vectors.e131Sync, Vectors.e131Discovery, Vectors.livesharkSacn,
        ArtNet.identifier + [0x00, 0x50, 0x00, 0x0E, 0, 0, 0, 0, 0x02, 0x00] + [UInt8](repeating: 0x55, count: 512),
    ]

    /// Offsets of length and count fields worth aiming mutations at.
    static let lengthFields = [16, 38, 112, 115, 123]

    static func mutate(_ seed: [UInt8], _ rng: inout SeededGenerator) -> [UInt8] {
        var b = seed
        switch Int.random(in: 0..<6, using: &rng) {
        case 0:  // flip a few bytes
            for _ in 0..<Int.random(in: 1...4, using: &rng) where !b.isEmpty {
                b[Int.random(in: 0..<b.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
        case 1:  // cut short
            b = Array(b.prefix(Int.random(in: 0...b.count, using: &rng)))
        case 2:  // grow
            b += (0..<Int.random(in: 1...700, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
        case 3:  // a length field set to anything
            let o = lengthFields.randomElement(using: &rng)!
            if o + 1 < b.count {
                b[o] = UInt8.random(in: 0...255, using: &rng)
                b[o + 1] = UInt8.random(in: 0...255, using: &rng)
            }
        case 4:  // consistent lengths for a random size (reaches the inner layers)
            let n = Int.random(in: 0...(b.count + 80), using: &rng)
            b = n <= b.count ? Array(b.prefix(n)) : b + [UInt8](repeating: 0, count: n - b.count)
            fixPDULengths(&b, at: [16, 38, 115])
            if b.count > 124 { setU16BE(&b, 123, UInt16.random(in: 0...600, using: &rng)) }
        default:  // swap the opcode / vectors
            if b.count > 10 { b[8] = 0; b[9] = [0x20, 0x21, 0x50, 0x51, 0x52, 0x60, 0x97, 0xFD].randomElement(using: &rng)! }
            if b.count > 21 { b[21] = [1, 2, 4, 8, 9].randomElement(using: &rng)! }
            if b.count > 43 { b[43] = [1, 2, 3].randomElement(using: &rng)! }
        }
        return b
    }

    func testTwoHundredThousandBuffersDecodeSafely() {
        var rng = SeededGenerator(seed: 0xDEC0DE)
        var artOK = 0, artRejected = 0, e131OK = 0, e131Rejected = 0
        var reasons = Set<WireError.Reason>()
        for i in 0..<200_000 {
            let b: [UInt8]
            if i % 4 == 0 {
                // Pure noise, often with a valid identifier in front so decoding gets further.
                var noise = (0..<Int.random(in: 0...700, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                if noise.count >= 16 && Bool.random(using: &rng) {
                    if Bool.random(using: &rng) {
                        noise.replaceSubrange(0..<8, with: ArtNet.identifier)
                    } else {
                        noise.replaceSubrange(4..<16, with: E131.acnIdentifier)
                    }
                }
                b = noise
            } else {
                b = DecodeSafetyTests.mutate(DecodeSafetyTests.seeds.randomElement(using: &rng)!, &rng)
            }
            b.withUnsafeBytes { buf in
                let range = buf.baseAddress.map { UInt(bitPattern: $0) }
                func inside(_ view: UnsafeRawBufferPointer) -> Bool {
                    guard view.count > 0 else { return true }
                    guard let lo = range, let p = view.baseAddress else { return false }
                    let start = UInt(bitPattern: p)
                    return start >= lo && start + UInt(view.count) <= lo + UInt(buf.count)
                }
                do throws(WireError) {
                    switch try ArtNetDecoder.decode(buf) {
                    case .dmx(let d), .nzs(let d):
                        XCTAssertTrue(inside(d.data), "ArtDmx view outside the buffer, case \(i)")
                        XCTAssertLessThanOrEqual(d.data.count, 512)
                        XCTAssertLessThanOrEqual(d.portAddress, 0x7FFF)
                    default: break
                    }
                    artOK += 1
                } catch {
                    XCTAssertTrue((0...buf.count).contains(error.offset), "Art-Net offset \(error.offset) of \(buf.count), case \(i)")
                    reasons.insert(error.reason)
                    artRejected += 1
                }
                do throws(WireError) {
                    switch try E131Decoder.decode(buf) {
                    case .data(let d):
                        XCTAssertTrue(inside(d.data), "E1.31 slots outside the buffer, case \(i)")
                        XCTAssertTrue(inside(d.sourceNameBytes), "E1.31 name outside the buffer, case \(i)")
                        XCTAssertLessThanOrEqual(d.data.count, 512)
                        _ = d.sourceName
                    case .discovery(let d):
                        XCTAssertLessThanOrEqual(d.universes.count, 512)
                    case .sync: break
                    }
                    e131OK += 1
                } catch {
                    XCTAssertTrue((0...buf.count).contains(error.offset), "E1.31 offset \(error.offset) of \(buf.count), case \(i)")
                    reasons.insert(error.reason)
                    e131Rejected += 1
                }
                _ = ArtNetDecoder.portAddress(buf)
                _ = E131Decoder.dataUniverse(buf)
                _ = E131Decoder.syncAddress(buf)
            }
        }
        // The run reached both outcomes of both decoders and every rejection reason they use.
        XCTAssertGreaterThan(artOK, 10_000)
        XCTAssertGreaterThan(artRejected, 10_000)
        XCTAssertGreaterThan(e131OK, 10_000)
        XCTAssertGreaterThan(e131Rejected, 10_000)
        XCTAssertEqual(reasons, [.tooShort, .badIdentifier, .lengthPastEnd, .badVector])
    }
}
