import XCTest

@testable import PanelCore

/// Concrete channel map cases: chain order, flips, pixel order, errors.
final class ChannelMapTests: XCTestCase {
    func map(_ w: Int, _ h: Int, _ format: PixelFormat = .rgb, order: String? = nil, cpu: Int = 510, start: Int = 0,
             layout: ChainLayout = .rows, flipH: Bool = false, flipV: Bool = false) throws -> ChannelMap {
        try ChannelMap(width: w, height: h, format: format, order: order.flatMap { PixelOrder($0, format: format) },
                       settings: MappingSettings(startUniverse: start, channelsPerUniverse: cpu, layout: layout,
                                                 flipHorizontal: flipH, flipVertical: flipV))
    }

    /// The (x, y) of every chain position, in chain order.
    func chain(_ m: ChannelMap) -> [[Int]] {
        (0..<(m.width * m.height)).map { i in m.position(chain: i).map { [$0.x, $0.y] } ?? [] }
    }

    func testRowsChainOrder() throws {
        XCTAssertEqual(chain(try map(4, 2)), [[0, 0], [1, 0], [2, 0], [3, 0], [0, 1], [1, 1], [2, 1], [3, 1]])
    }

    func testSerpentine4x2ChainOrder() throws {
        let m = try map(4, 2, layout: .serpentine)
        XCTAssertEqual(chain(m), [[0, 0], [1, 0], [2, 0], [3, 0], [3, 1], [2, 1], [1, 1], [0, 1]])
        // The second row runs right to left on the wire too.
        XCTAssertEqual(m.address(x: 3, y: 1)?.channel, 12)
        XCTAssertEqual(m.address(x: 0, y: 1)?.channel, 21)
        XCTAssertNil(m.position(chain: 8))
        XCTAssertNil(m.position(chain: -1))
    }

    func testSerpentine3x3ThirdRowRunsLeftToRightAgain() throws {
        XCTAssertEqual(chain(try map(3, 3, layout: .serpentine)),
                       [[0, 0], [1, 0], [2, 0], [2, 1], [1, 1], [0, 1], [0, 2], [1, 2], [2, 2]])
    }

    func testFlips() throws {
        XCTAssertEqual(chain(try map(4, 2, flipH: true)), [[3, 0], [2, 0], [1, 0], [0, 0], [3, 1], [2, 1], [1, 1], [0, 1]])
        XCTAssertEqual(chain(try map(4, 2, flipV: true)), [[0, 1], [1, 1], [2, 1], [3, 1], [0, 0], [1, 0], [2, 0], [3, 0]])
        XCTAssertEqual(chain(try map(4, 2, flipH: true, flipV: true)), [[3, 1], [2, 1], [1, 1], [0, 1], [3, 0], [2, 0], [1, 0], [0, 0]])
        // Serpentine starting at the bottom right (a panel mounted upside down).
        XCTAssertEqual(chain(try map(4, 2, layout: .serpentine, flipH: true, flipV: true)),
                       [[3, 1], [2, 1], [1, 1], [0, 1], [0, 0], [1, 0], [2, 0], [3, 0]])
        XCTAssertEqual(chain(try map(4, 2, layout: .serpentine, flipH: true)),
                       [[3, 0], [2, 0], [1, 0], [0, 0], [0, 1], [1, 1], [2, 1], [3, 1]])
    }

    func testFlipApplyLandsMirrored() throws {
        let m = try map(3, 1, flipH: true)
        var canvas = Canvas(width: 3, height: 1, format: .rgb)
        ([1, 2, 3, 4, 5, 6, 7, 8, 9] as [UInt8]).withUnsafeBytes { m.apply(universe: 0, data: $0, to: &canvas) }
        XCTAssertEqual(canvas.bytes, [7, 8, 9, 4, 5, 6, 1, 2, 3])
    }

    func testGRBOrderPutsWireByteZeroIntoGreen() throws {
        let m = try map(2, 1, order: "grb")
        XCTAssertEqual(m.order.wireToCanvas, [1, 0, 2])
        var canvas = Canvas(width: 2, height: 1, format: .rgb)
        ([10, 20, 30, 40, 50, 60] as [UInt8]).withUnsafeBytes { m.apply(universe: 0, data: $0, to: &canvas) }
        XCTAssertEqual(canvas.pixel(x: 0, y: 0), [20, 10, 30])  // R G B
        XCTAssertEqual(canvas.pixel(x: 1, y: 0), [50, 40, 60])
        XCTAssertEqual(m.pixel(universe: 0, channel: 0)?.component, 1)
        XCTAssertEqual(m.pixel(universe: 0, channel: 1)?.component, 0)
        var wire: [UInt8] = []
        m.extract(universe: 0, from: canvas, into: &wire)
        XCTAssertEqual(wire, [10, 20, 30, 40, 50, 60])
    }

    func testBGRWOrder() throws {
        let m = try map(1, 1, .rgbw, order: "wbgr", cpu: 512)
        var canvas = Canvas(width: 1, height: 1, format: .rgbw)
        ([4, 3, 2, 1] as [UInt8]).withUnsafeBytes { m.apply(universe: 0, data: $0, to: &canvas) }
        XCTAssertEqual(canvas.bytes, [1, 2, 3, 4])
    }

    func testShortPacketUpdatesOnlyItsChannels() throws {
        let m = try map(2, 1)
        var canvas = Canvas(width: 2, height: 1, format: .rgb, bytes: [9, 9, 9, 9, 9, 9])!
        ([1, 2, 3, 4] as [UInt8]).withUnsafeBytes { m.apply(universe: 0, data: $0, to: &canvas) }
        XCTAssertEqual(canvas.bytes, [1, 2, 3, 4, 9, 9])
        // A universe outside the map, or a canvas of the wrong size, changes nothing.
        ([7, 7, 7] as [UInt8]).withUnsafeBytes { m.apply(universe: 1, data: $0, to: &canvas) }
        XCTAssertEqual(canvas.bytes, [1, 2, 3, 4, 9, 9])
        var wrong = Canvas(width: 3, height: 1, format: .rgb)
        ([7, 7, 7] as [UInt8]).withUnsafeBytes { m.apply(universe: 0, data: $0, to: &wrong) }
        XCTAssertEqual(wrong.bytes, [UInt8](repeating: 0, count: 9))
    }

    func testStartUniverseOffsetsUniverses() throws {
        let m = try map(4, 1, cpu: 6, start: 7)
        XCTAssertEqual(m.universes, 7..<9)
        XCTAssertEqual(m.address(x: 2, y: 0)?.universe, 8)
        XCTAssertEqual(m.address(x: 2, y: 0)?.channel, 0)
        var canvas = Canvas(width: 4, height: 1, format: .rgb)
        ([1, 2, 3] as [UInt8]).withUnsafeBytes { m.apply(universeIndex: 1, data: $0, to: &canvas) }
        XCTAssertEqual(canvas.pixel(x: 2, y: 0), [1, 2, 3])
    }

    func testChannelsPerUniverseUsesWholePixelsOnly() throws {
        let m = try map(10, 1, cpu: 8)  // 2 RGB pixels, channels 6 and 7 unused
        XCTAssertEqual(m.pixelsPerUniverse, 2)
        XCTAssertEqual(m.universeCount, 5)
        XCTAssertNil(m.pixel(universe: 0, channel: 6))
        XCTAssertEqual(m.address(x: 2, y: 0)?.universe, 1)
    }

    func testErrors() {
        XCTAssertThrowsError(try map(0, 4)) { XCTAssertEqual($0 as? ChannelMapError, .emptyPanel(width: 0, height: 4)) }
        XCTAssertThrowsError(try map(4, -1)) { XCTAssertEqual($0 as? ChannelMapError, .emptyPanel(width: 4, height: -1)) }
        XCTAssertThrowsError(try map(16385, 1)) { XCTAssertEqual($0 as? ChannelMapError, .panelTooLarge(width: 16385, height: 1)) }
        XCTAssertThrowsError(try map(4, 4, cpu: 2)) { XCTAssertEqual($0 as? ChannelMapError, .channelsPerUniverse(2, bytesPerPixel: 3)) }
        XCTAssertThrowsError(try map(4, 4, .rgbw, cpu: 513)) { XCTAssertEqual($0 as? ChannelMapError, .channelsPerUniverse(513, bytesPerPixel: 4)) }
        XCTAssertThrowsError(try map(4, 4, start: -1)) { XCTAssertEqual($0 as? ChannelMapError, .startUniverse(-1)) }
        XCTAssertThrowsError(try map(4, 4, start: 65536)) { XCTAssertEqual($0 as? ChannelMapError, .startUniverse(65536)) }
        XCTAssertThrowsError(try map(4, 4, .gray, cpu: 1, start: 65535)) {
            XCTAssertEqual($0 as? ChannelMapError, .universesOutOfRange(first: 65535, last: 65550, allowed: 0...65535))
        }
        XCTAssertNoThrow(try map(4, 4, .gray, cpu: 16, start: 65535))
        XCTAssertEqual(ChannelMapError.channelsPerUniverse(2, bytesPerPixel: 3).description,
                       "channels-per-universe 2 must be between 3 and 512 (one pixel is 3 channels)")
    }
}

final class PixelOrderTests: XCTestCase {
    func testValidOrders() {
        XCTAssertEqual(PixelOrder("rgb", format: .rgb)?.wireToCanvas, [0, 1, 2])
        XCTAssertEqual(PixelOrder("grb", format: .rgb)?.wireToCanvas, [1, 0, 2])
        XCTAssertEqual(PixelOrder("bgr", format: .rgb)?.wireToCanvas, [2, 1, 0])
        XCTAssertEqual(PixelOrder("BRG", format: .rgb)?.wireToCanvas, [2, 0, 1])
        XCTAssertEqual(PixelOrder("rgbw", format: .rgbw)?.wireToCanvas, [0, 1, 2, 3])
        XCTAssertEqual(PixelOrder("grbw", format: .rgbw)?.wireToCanvas, [1, 0, 2, 3])
        XCTAssertEqual(PixelOrder("wrgb", format: .rgbw)?.wireToCanvas, [3, 0, 1, 2])
        XCTAssertEqual(PixelOrder("gray", format: .gray)?.wireToCanvas, [0])
        XCTAssertEqual(PixelOrder("w", format: .gray)?.wireToCanvas, [0])
        XCTAssertEqual(PixelOrder("", format: .gray)?.wireToCanvas, [0])
        XCTAssertEqual(PixelOrder("GRB", format: .rgb), PixelOrder("grb", format: .rgb))
    }

    func testInvalidOrders() {
        for name in ["", "rg", "rgbw", "rrg", "rgx", "rgw", "r g", "rgbb"] {
            XCTAssertNil(PixelOrder(name, format: .rgb), name)
        }
        for name in ["", "rgb", "rgbww", "rgbr", "rgbx", "wwgb"] {
            XCTAssertNil(PixelOrder(name, format: .rgbw), name)
        }
        for name in ["grb", "rgbw", "x", "ww"] {
            XCTAssertNil(PixelOrder(name, format: .gray), name)
        }
    }

    func testDescriptionAndNatural() {
        XCTAssertEqual(PixelOrder("GrB", format: .rgb)?.description, "grb")
        XCTAssertEqual(PixelOrder("wbgr", format: .rgbw)?.description, "wbgr")
        XCTAssertEqual(PixelOrder.natural(.gray).description, "gray")
        XCTAssertEqual(PixelOrder.natural(.rgb), PixelOrder("rgb", format: .rgb))
        XCTAssertEqual(PixelOrder.natural(.rgbw), PixelOrder("rgbw", format: .rgbw))
        XCTAssertEqual(PixelFormat.gray.bytesPerPixel, 1)
        XCTAssertEqual(PixelFormat.rgb.bytesPerPixel, 3)
        XCTAssertEqual(PixelFormat.rgbw.bytesPerPixel, 4)
    }
}

final class CanvasTests: XCTestCase {
    func testInitAndPixels() {
        var c = Canvas(width: 3, height: 2, format: .rgb)
        XCTAssertEqual(c.bytes.count, 18)
        XCTAssertEqual(c.pixelCount, 6)
        c.setPixel(x: 2, y: 1, [1, 2, 3])
        XCTAssertEqual(c.offset(x: 2, y: 1), 15)
        XCTAssertEqual(Array(c.bytes[15...]), [1, 2, 3])
        XCTAssertEqual(c.pixel(x: 2, y: 1), [1, 2, 3])
        XCTAssertEqual(c.pixel(x: 3, y: 0), [])
        XCTAssertNil(c.offset(x: -1, y: 0))
        c.setPixel(x: 5, y: 5, [9, 9, 9])  // outside: ignored
        c.setPixel(x: 0, y: 0, [7, 7, 7, 7, 7])  // extra components ignored
        XCTAssertEqual(c.bytes.filter { $0 != 0 }.count, 6)
        XCTAssertNil(Canvas(width: 2, height: 2, format: .rgb, bytes: [0, 0, 0]))
        XCTAssertNil(Canvas(width: -1, height: 2, format: .gray, bytes: []))
        XCTAssertNotNil(Canvas(width: 2, height: 2, format: .gray, bytes: [0, 0, 0, 0]))
        XCTAssertEqual(Canvas(width: -3, height: 2, format: .rgb).bytes.count, 0)
        XCTAssertEqual(Canvas(width: Int.max, height: 2, format: .rgb).bytes.count, 0)  // overflow: empty, no trap
    }

    func testGrayToRGBRepeatsTheValue() {
        let gray = Canvas(width: 2, height: 1, format: .gray, bytes: [0, 200])!
        XCTAssertEqual(gray.converted(to: .rgb).bytes, [0, 0, 0, 200, 200, 200])
        XCTAssertEqual(gray.converted(to: .gray), gray)
    }

    func testRGBToGrayUsesRec601Luma() {
        let rgb = Canvas(width: 5, height: 1, format: .rgb, bytes: [255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255, 10, 20, 30])!
        // (299 R + 587 G + 114 B + 500) / 1000
        XCTAssertEqual(rgb.converted(to: .gray).bytes, [76, 150, 29, 255, 18])
    }

    func testRGBWConversions() {
        let rgb = Canvas(width: 1, height: 1, format: .rgb, bytes: [1, 2, 3])!
        XCTAssertEqual(rgb.converted(to: .rgbw).bytes, [1, 2, 3, 0])
        let rgbw = Canvas(width: 1, height: 1, format: .rgbw, bytes: [1, 2, 3, 4])!
        XCTAssertEqual(rgbw.converted(to: .rgb).bytes, [1, 2, 3])
        XCTAssertEqual(rgbw.converted(to: .gray).bytes, [2])  // (299 + 1174 + 342 + 500) / 1000; W dropped
    }

    func testResizedNearestNeighbour() {
        let c = Canvas(width: 2, height: 2, format: .gray, bytes: [1, 2, 3, 4])!
        XCTAssertEqual(c.resized(width: 4, height: 4).bytes, [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4])
        let big = Canvas(width: 4, height: 4, format: .gray, bytes: (0..<16).map { UInt8($0) })!
        XCTAssertEqual(big.resized(width: 2, height: 2).bytes, [0, 2, 8, 10])
        XCTAssertEqual(c.resized(width: 2, height: 2), c)
        XCTAssertEqual(Canvas(width: 0, height: 0, format: .rgb).resized(width: 2, height: 1).bytes, [0, 0, 0, 0, 0, 0])
    }
}

final class TimestampTests: XCTestCase {
    func testArithmeticAndConversions() {
        XCTAssertEqual(Timestamp.milliseconds(1500).nanoseconds, 1_500_000_000)
        XCTAssertEqual(Timestamp.seconds(2.5).nanoseconds, 2_500_000_000)
        XCTAssertEqual(Timestamp(nanoseconds: 250_000_000).seconds, 0.25)
        XCTAssertEqual(Timestamp(nanoseconds: 5) - Timestamp(nanoseconds: 7), Timestamp(nanoseconds: -2))
        XCTAssertEqual(Timestamp(nanoseconds: 5) + Timestamp(nanoseconds: 7), Timestamp(nanoseconds: 12))
        XCTAssertLessThan(Timestamp(nanoseconds: 1), Timestamp(nanoseconds: 2))
        XCTAssertEqual(Timestamp.zero.nanoseconds, 0)
    }

    func testSaturatesInsteadOfTrapping() {
        let max = Timestamp(nanoseconds: .max), min = Timestamp(nanoseconds: .min)
        XCTAssertEqual((max + Timestamp(nanoseconds: 1)).nanoseconds, .max)
        XCTAssertEqual((min + Timestamp(nanoseconds: -1)).nanoseconds, .min)
        XCTAssertEqual((min - Timestamp(nanoseconds: 1)).nanoseconds, .min)
        XCTAssertEqual((max - Timestamp(nanoseconds: -1)).nanoseconds, .max)
        XCTAssertEqual((Timestamp(nanoseconds: 0) - min).nanoseconds, .max)
    }

    /// Chain-ordered bytes from any start (DDP offsets, TPM2 frames) land where the universe
    /// addressing of the same channels puts them, across universe boundaries, on a serpentine
    /// panel with a non-natural component order.
    func testChainDataLandsWhereItsUniverseChannelsDo() throws {
        let map = try ChannelMap(width: 7, height: 5, format: .rgb, order: PixelOrder("grb", format: .rgb),
                                 settings: MappingSettings(startUniverse: 3, channelsPerUniverse: 12, layout: .serpentine))
        let total = 7 * 5 * 3
        for (start, count) in [(0, total), (5, 20), (11, 2), (12, 12), (100, 50), (total - 1, 1)] {
            var canvas = Canvas(width: 7, height: 5, format: .rgb)
            let data = (0..<count).map { UInt8(truncatingIfNeeded: 1 + $0 &* 3) }
            data.withUnsafeBytes { map.apply(chainData: $0, startingAt: start, to: &canvas) }
            var expected = Canvas(width: 7, height: 5, format: .rgb)
            for (k, value) in data.enumerated() where start + k < total {
                let channel = start + k
                guard let (x, y, component) = map.pixel(universe: 3 + channel / 12, channel: channel % 12) else { return XCTFail("channel \(channel)") }
                expected.bytes[(y * 7 + x) * 3 + component] = value
            }
            XCTAssertEqual(canvas.bytes, expected.bytes, "start \(start), \(count) bytes")
        }
    }
}
