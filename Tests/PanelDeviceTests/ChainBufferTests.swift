import PanelCore
import XCTest

@testable import PanelDevice

/// The chain buffer of DDP and TPM2.net: after every frame the canvas shows the latest byte
/// written at every chain position, whether a frame is written whole (swapped in), in part
/// from the start, with gaps or out of order.
final class ChainBufferTests: XCTestCase {
    func check(layout: ChainLayout, seed: UInt64) throws {
        let map = try ChannelMap(width: 8, height: 5, format: .rgb, settings: MappingSettings(startUniverse: 0, channelsPerUniverse: 30, layout: layout))
        var g = SeededGenerator(seed: seed)
        var buffer = ChainBuffer(count: map.chainByteCount)
        var canvas = Canvas(width: 8, height: 5, format: .rgb)
        var reference = [UInt8](repeating: 0, count: map.chainByteCount)
        for frame in 0..<300 {
            // Whole frames in order (as senders do), a part from the chain's start in order (a
            // sender whose packets cannot carry the whole panel), or a few writes anywhere.
            let kind = Int.random(in: 0..<4, using: &g)
            var writes: [Range<Int>] = []
            if kind < 3 {
                let length = kind < 2 ? reference.count : Int.random(in: 1...reference.count, using: &g)
                var o = 0
                while o < length {
                    let n = min(length - o, Int.random(in: 1...40, using: &g))
                    writes.append(o..<(o + n))
                    o += n
                }
            } else {
                for _ in 0..<Int.random(in: 0...4, using: &g) {
                    let lo = Int.random(in: 0..<reference.count, using: &g)
                    writes.append(lo..<Int.random(in: (lo + 1)...reference.count, using: &g))
                }
            }
            for r in writes {
                let data = (0..<r.count).map { _ in UInt8.random(in: 0...255, using: &g) }
                reference.replaceSubrange(r, with: data)
                data.withUnsafeBytes { buffer.write($0, at: r.lowerBound, canvas: { canvas }) }
            }
            buffer.show(on: &canvas, map: map)
            var expected = Canvas(width: 8, height: 5, format: .rgb)
            reference.withUnsafeBytes { map.apply(chainData: $0, to: &expected) }
            XCTAssertTrue(canvas == expected, "\(layout) frame \(frame): the canvas is not the latest bytes written")
            if canvas != expected { return }
        }
    }

    func testIdentityMapSwapsWholeFramesAndKeepsPartialOnesExact() throws {
        for seed in 1...8 { try check(layout: .rows, seed: UInt64(seed)) }
    }

    func testOtherMapsCopy() throws {
        try check(layout: .serpentine, seed: 9)
    }
}
