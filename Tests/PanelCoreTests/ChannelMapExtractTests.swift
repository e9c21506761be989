import XCTest

@testable import PanelCore

/// Extraction straight into a caller's buffer (what senders write packets with): every
/// layout, flip, order and format against a byte-by-byte reference built from `position(chain:)`.
final class ChannelMapExtractTests: XCTestCase {
    struct Case {
        var format: PixelFormat
        var order: String?
        var cpu: Int
        var layout: ChainLayout
        var flipH: Bool
        var flipV: Bool
    }

    let cases: [Case] = [
        Case(format: .rgb, order: nil, cpu: 510, layout: .rows, flipH: false, flipV: false),
        Case(format: .rgb, order: nil, cpu: 512, layout: .rows, flipH: false, flipV: false),
        Case(format: .rgb, order: nil, cpu: 510, layout: .serpentine, flipH: false, flipV: false),
        Case(format: .rgb, order: nil, cpu: 300, layout: .rows, flipH: true, flipV: false),
        Case(format: .rgb, order: nil, cpu: 510, layout: .rows, flipH: false, flipV: true),
        Case(format: .rgb, order: "grb", cpu: 510, layout: .rows, flipH: false, flipV: false),
        Case(format: .rgbw, order: nil, cpu: 512, layout: .serpentine, flipH: true, flipV: true),
        Case(format: .rgbw, order: "bgrw", cpu: 100, layout: .rows, flipH: false, flipV: false),
        Case(format: .gray, order: nil, cpu: 7, layout: .serpentine, flipH: false, flipV: false),
        Case(format: .gray, order: nil, cpu: 100, layout: .rows, flipH: true, flipV: false),
        Case(format: .rgb, order: "bgr", cpu: 510, layout: .serpentine, flipH: true, flipV: false),
        Case(format: .rgb, order: "brg", cpu: 45, layout: .serpentine, flipH: false, flipV: true),
        Case(format: .rgbw, order: "wrgb", cpu: 512, layout: .serpentine, flipH: false, flipV: false),
        Case(format: .rgbw, order: nil, cpu: 40, layout: .rows, flipH: true, flipV: false),
    ]

    func make(_ c: Case, width: Int = 37, height: Int = 11) throws -> (ChannelMap, Canvas) {
        let map = try ChannelMap(width: width, height: height, format: c.format, order: c.order.flatMap { PixelOrder($0, format: c.format) },
                                 settings: MappingSettings(startUniverse: 3, channelsPerUniverse: c.cpu, layout: c.layout,
                                                           flipHorizontal: c.flipH, flipVertical: c.flipV))
        var canvas = Canvas(width: width, height: height, format: c.format)
        var g = SeededGenerator(seed: 42)
        for i in canvas.bytes.indices { canvas.bytes[i] = UInt8.random(in: 0...255, using: &g) }
        return (map, canvas)
    }

    /// The chain's bytes, one at a time from the map's own position and order tables.
    func reference(_ map: ChannelMap, _ canvas: Canvas) -> [UInt8] {
        let bpp = map.format.bytesPerPixel
        return (0..<map.chainByteCount).map { k in
            guard let (x, y) = map.position(chain: k / bpp), let o = canvas.offset(x: x, y: y) else { return 0 }
            return canvas.bytes[o + map.order.wireToCanvas[k % bpp]]
        }
    }

    func testUniverseExtractMatchesReferenceInEveryCase() throws {
        for c in cases {
            let (map, canvas) = try make(c)
            let chain = reference(map, canvas)
            let perUniverse = map.pixelsPerUniverse * map.format.bytesPerPixel
            for (i, u) in map.universes.enumerated() {
                var out = [UInt8](repeating: 0xEE, count: 600)
                let n = canvas.bytes.withUnsafeBytes { px in out.withUnsafeMutableBytes { map.extract(universe: u, from: px, to: $0) } }
                XCTAssertEqual(n, map.channelCount(universe: u), "\(c) universe \(u)")
                XCTAssertTrue(out[0..<n].elementsEqual(chain[(i * perUniverse)..<(i * perUniverse + n)]), "\(c) universe \(u)")
                XCTAssertEqual(out[n], 0xEE, "\(c) universe \(u): wrote past its channels")
                var legacy: [UInt8] = []
                map.extract(universe: u, from: canvas, into: &legacy)
                XCTAssertTrue(legacy.elementsEqual(out[0..<n]), "\(c) universe \(u)")
            }
        }
    }

    func testChainRangesMatchReferenceAndApplyBack() throws {
        var g = SeededGenerator(seed: 7)
        for c in cases {
            let (map, canvas) = try make(c)
            let chain = reference(map, canvas)
            for _ in 0..<40 {
                let lo = Int.random(in: 0..<chain.count, using: &g)
                let hi = Int.random(in: lo...(chain.count + 5), using: &g)
                var out = [UInt8](repeating: 0xEE, count: hi - lo + 1)
                let n = canvas.bytes.withUnsafeBytes { px in out.withUnsafeMutableBytes { map.extract(chainBytes: lo..<hi, from: px, to: $0) } }
                XCTAssertEqual(n, min(hi, chain.count) - lo, "\(c) \(lo)..<\(hi)")
                XCTAssertTrue(out[0..<n].elementsEqual(chain[lo..<(lo + n)]), "\(c) \(lo)..<\(hi)")
                XCTAssertEqual(out[n], 0xEE, "\(c) \(lo)..<\(hi): wrote past the range")
            }
            // The whole chain, applied to a black canvas, is the picture again.
            var whole = [UInt8](repeating: 0, count: chain.count)
            _ = canvas.bytes.withUnsafeBytes { px in whole.withUnsafeMutableBytes { map.extract(chainBytes: 0..<chain.count, from: px, to: $0) } }
            var back = Canvas(width: map.width, height: map.height, format: map.format)
            whole.withUnsafeBytes { map.apply(chainData: $0, to: &back) }
            XCTAssertTrue(back == canvas, "\(c): round trip")
        }
    }

    /// Slot data landing in the canvas (what receivers do), from any channel on and cut short
    /// anywhere, also mid-pixel, against the map's own `pixel(universe:channel:)`; and whole
    /// universes copied from one canvas to another.
    func testApplyAndCopyUniverseMatchReferenceInEveryCase() throws {
        var g = SeededGenerator(seed: 11)
        for c in cases {
            let (map, canvas) = try make(c)
            for _ in 0..<60 {
                let u = map.universes.randomElement(using: &g) ?? map.settings.startUniverse
                let channels = map.channelCount(universe: u)
                let offset = Int.random(in: 0..<channels, using: &g)
                let data = (0..<Int.random(in: 0...(channels - offset + 3), using: &g)).map { _ in UInt8.random(in: 0...255, using: &g) }
                var got = canvas
                data.withUnsafeBytes { map.apply(universeIndex: u - map.settings.startUniverse, channelOffset: offset, data: $0, to: &got) }
                var expected = canvas
                for (k, value) in data.enumerated() where offset + k < channels {
                    guard let (x, y, component) = map.pixel(universe: u, channel: offset + k), let o = expected.offset(x: x, y: y) else { continue }
                    expected.bytes[o + component] = value
                }
                XCTAssertTrue(got == expected, "\(c) universe \(u) channels from \(offset), \(data.count) bytes")
            }
            var other = Canvas(width: map.width, height: map.height, format: map.format)
            for i in other.bytes.indices { other.bytes[i] = UInt8.random(in: 0...255, using: &g) }
            for u in map.universes {
                var got = other
                map.copyUniverse(index: u - map.settings.startUniverse, from: canvas, to: &got)
                var expected = other
                for ch in 0..<map.channelCount(universe: u) {
                    guard let (x, y, component) = map.pixel(universe: u, channel: ch), let o = expected.offset(x: x, y: y) else { continue }
                    expected.bytes[o + component] = canvas.bytes[o + component]
                }
                XCTAssertTrue(got == expected, "\(c) universe \(u) copied")
            }
        }
    }

    func testRefusesWhatDoesNotFit() throws {
        let (map, canvas) = try make(cases[0])
        var small = [UInt8](repeating: 0, count: 10)
        var big = [UInt8](repeating: 0, count: 600)
        canvas.bytes.withUnsafeBytes { px in
            XCTAssertEqual(small.withUnsafeMutableBytes { map.extract(universe: 3, from: px, to: $0) }, 0, "destination too small")
            XCTAssertEqual(big.withUnsafeMutableBytes { map.extract(universe: 2, from: px, to: $0) }, 0, "universe before the map")
            XCTAssertEqual(big.withUnsafeMutableBytes { map.extract(universe: 3 + map.universeCount, from: px, to: $0) }, 0, "universe after the map")
            XCTAssertEqual(big.withUnsafeMutableBytes { map.extract(chainBytes: map.chainByteCount..<(map.chainByteCount + 3), from: px, to: $0) }, 0)
            XCTAssertEqual(small.withUnsafeMutableBytes { map.extract(chainBytes: 0..<100, from: px, to: $0) }, 10, "cut at the destination")
        }
        let wrong = [UInt8](repeating: 0, count: 12)
        wrong.withUnsafeBytes { px in
            XCTAssertEqual(big.withUnsafeMutableBytes { map.extract(universe: 3, from: px, to: $0) }, 0, "pixels not the panel's size")
        }
    }
}
