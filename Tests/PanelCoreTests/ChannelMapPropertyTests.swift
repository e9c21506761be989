import XCTest

@testable import PanelCore

/// Property-style tests of `ChannelMap`: random panels, formats, orders, universe sizes,
/// layouts and flips, from a fixed seed (the failing case's parameters are printed).
final class ChannelMapPropertyTests: XCTestCase {
    struct Case: CustomStringConvertible {
        var width: Int
        var height: Int
        var format: PixelFormat
        var order: PixelOrder
        var settings: MappingSettings
        var description: String {
            "\(width)x\(height) \(format.rawValue) order \(order) start \(settings.startUniverse) cpu \(settings.channelsPerUniverse) "
                + "\(settings.layout.rawValue) flipH \(settings.flipHorizontal) flipV \(settings.flipVertical)"
        }
    }

    static let orderNames: [PixelFormat: [String]] = [
        .gray: ["gray"],
        .rgb: ["rgb", "rbg", "grb", "gbr", "brg", "bgr"],
        .rgbw: ["rgbw", "grbw", "wrgb", "bgrw", "wbgr", "gwbr", "rwgb", "brwg"],
    ]

    static func randomCase(_ rng: inout SeededGenerator) -> Case {
        let format = PixelFormat.allCases.randomElement(using: &rng)!
        let name = orderNames[format]!.randomElement(using: &rng)!
        let bpp = format.bytesPerPixel
        let cpu: Int
        switch Int.random(in: 0..<4, using: &rng) {
        case 0: cpu = format.defaultChannelsPerUniverse
        case 1: cpu = bpp  // one pixel per universe
        case 2: cpu = Int.random(in: bpp...24, using: &rng)  // small universes: many of them
        default: cpu = Int.random(in: bpp...512, using: &rng)
        }
        let settings = MappingSettings(startUniverse: Int.random(in: 0...2000, using: &rng), channelsPerUniverse: cpu,
                                       layout: ChainLayout.allCases.randomElement(using: &rng)!,
                                       flipHorizontal: Bool.random(using: &rng), flipVertical: Bool.random(using: &rng))
        return Case(width: Int.random(in: 1...40, using: &rng), height: Int.random(in: 1...40, using: &rng),
                    format: format, order: PixelOrder(name, format: format)!, settings: settings)
    }

    static func makeMap(_ c: Case) throws -> ChannelMap {
        try ChannelMap(width: c.width, height: c.height, format: c.format, order: c.order, settings: c.settings)
    }

    func forEachCase(count: Int, seed: UInt64, _ body: (Case, ChannelMap) throws -> Void) throws {
        var rng = SeededGenerator(seed: seed)
        for _ in 0..<count {
            let c = ChannelMapPropertyTests.randomCase(&rng)
            let map = try ChannelMapPropertyTests.makeMap(c)
            try body(c, map)
        }
    }

    /// (a) Every pixel has its own (universe, channel) and the map is a bijection both ways.
    func testEveryPixelMapsToADistinctAddressAndBack() throws {
        try forEachCase(count: 250, seed: 0x5EED_0001) { c, map in
            let bpp = c.format.bytesPerPixel
            var seen = Set<Int>()
            for y in 0..<c.height {
                for x in 0..<c.width {
                    guard let a = map.address(x: x, y: y) else { return XCTFail("\(c): no address for (\(x), \(y))") }
                    XCTAssertTrue(seen.insert(a.universe * 1024 + a.channel).inserted, "\(c): (\(x), \(y)) shares \(a)")
                    XCTAssertEqual(a.channel % bpp, 0, "\(c): pixel does not start on a pixel boundary")
                    for k in 0..<bpp {
                        guard let p = map.pixel(universe: a.universe, channel: a.channel + k) else {
                            return XCTFail("\(c): channel \(a.channel + k) of universe \(a.universe) maps to nothing")
                        }
                        XCTAssertEqual(p.x, x, "\(c)")
                        XCTAssertEqual(p.y, y, "\(c)")
                        XCTAssertEqual(p.component, c.order.wireToCanvas[k], "\(c)")
                    }
                    XCTAssertEqual(map.chainIndex(x: x, y: y).flatMap { map.position(chain: $0) }.map { [$0.x, $0.y] }, [x, y], "\(c)")
                }
            }
            XCTAssertEqual(seen.count, c.width * c.height)
            // The other direction: every used channel of every universe lands on a pixel whose
            // address is that channel; channels past the used ones land nowhere.
            var covered = 0
            for u in map.universes {
                let used = map.channelCount(universe: u)
                for ch in stride(from: 0, to: used, by: bpp) {
                    guard let p = map.pixel(universe: u, channel: ch) else { return XCTFail("\(c): (\(u), \(ch)) maps to nothing") }
                    let back = map.address(x: p.x, y: p.y)
                    XCTAssertEqual(back?.universe, u, "\(c)")
                    XCTAssertEqual(back?.channel, ch, "\(c)")
                    covered += 1
                }
                for ch in Set([used, used + 1, used + bpp, 511, 512, 600]) where ch >= used {
                    XCTAssertNil(map.pixel(universe: u, channel: ch), "\(c): unused channel \(ch) of universe \(u) maps to a pixel")
                }
                XCTAssertNil(map.pixel(universe: u, channel: -1))
            }
            XCTAssertEqual(covered, c.width * c.height, "\(c)")
            XCTAssertNil(map.pixel(universe: c.settings.startUniverse - 1, channel: 0))
            XCTAssertNil(map.pixel(universe: c.settings.startUniverse + map.universeCount, channel: 0))
            XCTAssertNil(map.address(x: c.width, y: 0))
            XCTAssertNil(map.address(x: 0, y: c.height))
            XCTAssertNil(map.address(x: -1, y: 0))
        }
    }

    /// (b) A pixel's channels all travel in one universe, within the channels that universe uses.
    func testNoPixelIsSplitAcrossUniverses() throws {
        try forEachCase(count: 250, seed: 0x5EED_0002) { c, map in
            let bpp = c.format.bytesPerPixel
            for y in 0..<c.height {
                for x in 0..<c.width {
                    guard let a = map.address(x: x, y: y) else { return XCTFail("\(c)") }
                    XCTAssertLessThanOrEqual(a.channel + bpp, c.settings.channelsPerUniverse, "\(c): (\(x), \(y)) split")
                    XCTAssertLessThanOrEqual(a.channel + bpp, map.channelCount(universe: a.universe), "\(c): (\(x), \(y)) split")
                    XCTAssertTrue(map.universes.contains(a.universe), "\(c)")
                }
            }
        }
    }

    /// (c) `apply` of `extract` for every universe reproduces a random canvas exactly, and each
    /// byte `apply` writes lands where `pixel(universe:channel:)` says.
    func testApplyOfExtractReproducesTheCanvas() throws {
        var fill = SeededGenerator(seed: 0xCA4_7A5)
        try forEachCase(count: 250, seed: 0x5EED_0003) { c, map in
            var original = Canvas(width: c.width, height: c.height, format: c.format)
            for i in original.bytes.indices { original.bytes[i] = UInt8.random(in: 0...255, using: &fill) }
            var rebuilt = Canvas(width: c.width, height: c.height, format: c.format)
            var buffer: [UInt8] = []
            var total = 0
            for u in map.universes {
                map.extract(universe: u, from: original, into: &buffer)
                XCTAssertEqual(buffer.count, map.channelCount(universe: u), "\(c)")
                total += buffer.count
                for ch in buffer.indices {
                    guard let p = map.pixel(universe: u, channel: ch) else { return XCTFail("\(c)") }
                    XCTAssertEqual(buffer[ch], original.pixel(x: p.x, y: p.y)[p.component], "\(c): extract (\(u), \(ch))")
                }
                buffer.withUnsafeBytes { map.apply(universe: u, data: $0, to: &rebuilt) }
            }
            XCTAssertEqual(total, c.width * c.height * c.format.bytesPerPixel, "\(c)")
            XCTAssertEqual(rebuilt, original, "\(c)")

            // apply alone, with random universe data (longer than needed: the excess is ignored).
            var target = Canvas(width: c.width, height: c.height, format: c.format)
            for u in map.universes {
                let data = (0..<512).map { _ in UInt8.random(in: 0...255, using: &fill) }
                data.withUnsafeBytes { map.apply(universe: u, data: $0, to: &target) }
                for ch in 0..<map.channelCount(universe: u) {
                    guard let p = map.pixel(universe: u, channel: ch) else { return XCTFail("\(c)") }
                    XCTAssertEqual(target.pixel(x: p.x, y: p.y)[p.component], data[ch], "\(c): apply (\(u), \(ch))")
                }
            }
        }
    }

    /// (d) universeCount = ceil(pixels / pixelsPerUniverse), pixelsPerUniverse = ⌊channels / bpp⌋.
    func testUniverseCount() throws {
        try forEachCase(count: 500, seed: 0x5EED_0004) { c, map in
            let pixels = c.width * c.height
            let ppu = c.settings.channelsPerUniverse / c.format.bytesPerPixel
            XCTAssertEqual(map.pixelsPerUniverse, ppu, "\(c)")
            XCTAssertEqual(map.universeCount, Int((Double(pixels) / Double(ppu)).rounded(.up)), "\(c)")
            XCTAssertEqual(map.universes, c.settings.startUniverse..<(c.settings.startUniverse + map.universeCount), "\(c)")
            let last = map.universes.upperBound - 1
            XCTAssertEqual(map.channelCount(universe: last), (pixels - (map.universeCount - 1) * ppu) * c.format.bytesPerPixel, "\(c)")
            XCTAssertEqual(map.channelCount(universe: last + 1), 0)
            XCTAssertEqual(map.channelCount(universe: c.settings.startUniverse - 1), 0)
        }
    }

    func testDefaultChannelsPerUniverse() throws {
        XCTAssertEqual(PixelFormat.rgb.defaultChannelsPerUniverse, 510)
        XCTAssertEqual(PixelFormat.gray.defaultChannelsPerUniverse, 512)
        XCTAssertEqual(PixelFormat.rgbw.defaultChannelsPerUniverse, 512)
        let rgb = try ChannelMap(width: 600, height: 400, format: .rgb,
                                 settings: MappingSettings(startUniverse: 0, channelsPerUniverse: PixelFormat.rgb.defaultChannelsPerUniverse))
        XCTAssertEqual(rgb.pixelsPerUniverse, 170)
        XCTAssertEqual(rgb.universeCount, 1412)  // 240 000 / 170 = 1411.8
        XCTAssertEqual(rgb.channelCount(universe: 0), 510)
        XCTAssertEqual(rgb.channelCount(universe: 1411), (240_000 - 1411 * 170) * 3)
        XCTAssertNil(rgb.pixel(universe: 0, channel: 510))  // slots 511 and 512 are not used
        XCTAssertNil(rgb.pixel(universe: 0, channel: 511))
        XCTAssertEqual(rgb.address(x: 170, y: 0)?.universe, 1)
        XCTAssertEqual(rgb.address(x: 170, y: 0)?.channel, 0)
        let rgbw = try ChannelMap(width: 129, height: 1, format: .rgbw, settings: MappingSettings(startUniverse: 1, channelsPerUniverse: 512))
        XCTAssertEqual(rgbw.pixelsPerUniverse, 128)
        XCTAssertEqual(rgbw.universes, 1..<3)
    }
}
