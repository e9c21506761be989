import Foundation
import PanelCore
import XCTest

@testable import PanelImage

/// A deterministic pseudo-random canvas (noise is the hardest case for the filters).
func noiseCanvas(width: Int, height: Int, format: PixelFormat, seed: UInt64 = 1) -> Canvas {
    var c = Canvas(width: width, height: height, format: format)
    var s = seed &* 0x9E37_79B9_7F4A_7C15 | 1
    for i in c.bytes.indices {
        s ^= s << 13; s ^= s >> 7; s ^= s << 17
        c.bytes[i] = UInt8(truncatingIfNeeded: s >> 32)
    }
    return c
}

/// A smooth RGB gradient, like most content a panel shows.
func gradientCanvas(width: Int, height: Int) -> Canvas {
    var c = Canvas(width: width, height: height, format: .rgb)
    for y in 0..<height {
        for x in 0..<width {
            let o = (y * width + x) * 3
            c.bytes[o] = UInt8(x * 255 / max(1, width - 1))
            c.bytes[o + 1] = UInt8(y * 255 / max(1, height - 1))
            c.bytes[o + 2] = UInt8((x + y) * 255 / max(1, width + height - 2))
        }
    }
    return c
}

final class PNGFileTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("panelimage-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    // MARK: Round trips

    func testRoundTripGrayAndRGBOddSizes() throws {
        for (w, h) in [(1, 1), (3, 5), (600, 400)] {
            for format in [PixelFormat.gray, .rgb] {
                let canvas = noiseCanvas(width: w, height: h, format: format, seed: UInt64(w * 7 + h))
                let p = path("rt-\(w)x\(h)-\(format).png")
                try PNGFile.write(canvas, to: p)
                XCTAssertEqual(try PNGFile.read(path: p), canvas, "\(w)x\(h) \(format) file")
                XCTAssertEqual(try PNGFile.decode(try PNGFile.encode(canvas)), canvas, "\(w)x\(h) \(format) memory")
            }
        }
    }

    func testEncodeMatchesWrittenFile() throws {
        let canvas = gradientCanvas(width: 40, height: 30)
        let p = path("same.png")
        try PNGFile.write(canvas, to: p, options: .small)
        let fileBytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: p)))
        XCTAssertEqual(try PNGFile.encode(canvas, options: .small), fileBytes)
        XCTAssertEqual(Array(fileBytes.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
    }

    func testAllFiltersAndLevels() throws {
        let canvas = noiseCanvas(width: 37, height: 23, format: .rgb, seed: 5)
        let gray = gradientCanvas(width: 37, height: 23).converted(to: .gray)
        for filter in PNGFilter.allCases {
            for level in [-3, 0, 1, 6, 9, 42] {  // out-of-range levels are clamped
                let options = PNGOptions(compressionLevel: level, filter: filter)
                XCTAssertEqual(try PNGFile.decode(try PNGFile.encode(canvas, options: options)), canvas, "\(filter) \(level)")
                XCTAssertEqual(try PNGFile.decode(try PNGFile.encode(gray, options: options)), gray, "\(filter) \(level) gray")
            }
            let p = path("filter-\(filter).png")
            try PNGFile.write(canvas, to: p, options: PNGOptions(compressionLevel: 6, filter: filter))
            XCTAssertEqual(try PNGFile.read(path: p), canvas)
        }
        for options in [PNGOptions.fast, .small] {
            XCTAssertEqual(try PNGFile.decode(try PNGFile.encode(canvas, options: options)), canvas)
        }
        XCTAssertEqual(PNGOptions.fast, PNGOptions(compressionLevel: 1, filter: .sub))
        XCTAssertEqual(PNGOptions.small, PNGOptions(compressionLevel: 6, filter: .paeth))
    }

    func testLevelZeroIsLargerThanLevelSix() throws {
        let canvas = gradientCanvas(width: 64, height: 64)
        let stored = try PNGFile.encode(canvas, options: PNGOptions(compressionLevel: 0, filter: .none))
        let small = try PNGFile.encode(canvas, options: .small)
        XCTAssertGreaterThan(stored.count, 64 * 64 * 3)
        XCTAssertLessThan(small.count, stored.count / 4)
    }

    func testRGBWIsWrittenAsRGBWithWhiteFolded() throws {
        var canvas = Canvas(width: 4, height: 1, format: .rgbw)
        canvas.setPixel(x: 0, y: 0, [10, 20, 30, 0])
        canvas.setPixel(x: 1, y: 0, [200, 100, 50, 100])
        canvas.setPixel(x: 2, y: 0, [255, 255, 255, 255])
        canvas.setPixel(x: 3, y: 0, [0, 0, 0, 7])
        let p = path("rgbw.png")
        try PNGFile.write(canvas, to: p)
        let back = try PNGFile.read(path: p)
        XCTAssertEqual(back.format, .rgb)
        XCTAssertEqual(back.bytes, [10, 20, 30, 255, 200, 150, 255, 255, 255, 7, 7, 7])
        XCTAssertEqual(try PNGFile.decode(try PNGFile.encode(canvas)), back)
        // The comparison folds the same way, so the original matches its own PNG.
        XCTAssertTrue(ImageDiff.compare(canvas, back, tolerance: 0).matches)
    }

    // MARK: Reading other kinds of PNG

    func testReadPalette8BitAndPacked() throws {
        let palette: [UInt8] = [0, 0, 0, 255, 0, 0, 0, 255, 0, 10, 20, 30]
        let png8 = RawPNG.make(width: 3, height: 2, bitDepth: 8, colorType: .palette,
                               rows: [[0, 1, 2], [3, 2, 1]], extraChunks: [("PLTE", palette)])
        let c8 = try PNGFile.decode(png8)
        XCTAssertEqual(c8.format, .rgb)
        XCTAssertEqual(c8.bytes, [0, 0, 0, 255, 0, 0, 0, 255, 0, 10, 20, 30, 0, 255, 0, 255, 0, 0])

        // 2 bits per index: 5 pixels 3,2,1,0,3 → 0b11100100 0b11000000.
        let png2 = RawPNG.make(width: 5, height: 1, bitDepth: 2, colorType: .palette,
                               rows: [[0b1110_0100, 0b1100_0000]], extraChunks: [("PLTE", palette)])
        XCTAssertEqual(try PNGFile.decode(png2).bytes, [10, 20, 30, 0, 255, 0, 255, 0, 0, 0, 0, 0, 10, 20, 30])
    }

    func testReadPaletteWithTransparencyDropsAlpha() throws {
        let palette: [UInt8] = [1, 2, 3, 4, 5, 6]
        let png = RawPNG.make(width: 2, height: 1, bitDepth: 8, colorType: .palette, rows: [[0, 1]],
                              extraChunks: [("PLTE", palette), ("tRNS", [0, 128])])
        let c = try PNGFile.decode(png)
        XCTAssertEqual(c.format, .rgb)
        XCTAssertEqual(c.bytes, [1, 2, 3, 4, 5, 6])
    }

    func testRead16BitRGBAndGray() throws {
        // Samples 0x1212 → 0x12 exactly; 0xABCD → round(43981 * 255 / 65535) = 171.
        let rgb16 = RawPNG.make(width: 2, height: 1, bitDepth: 16, colorType: .rgb,
                                rows: [[0x12, 0x12, 0xFF, 0xFF, 0x00, 0x00, 0xAB, 0xCD, 0x80, 0x80, 0x01, 0x01]])
        let c = try PNGFile.decode(rgb16)
        XCTAssertEqual(c.format, .rgb)
        XCTAssertEqual(c.bytes, [0x12, 0xFF, 0x00, 171, 0x80, 0x01])

        let gray16 = RawPNG.make(width: 3, height: 1, bitDepth: 16, colorType: .gray,
                                 rows: [[0x00, 0x00, 0x7F, 0x7F, 0xFF, 0xFF]])
        let g = try PNGFile.decode(gray16)
        XCTAssertEqual(g.format, .gray)
        XCTAssertEqual(g.bytes, [0, 0x7F, 0xFF])
    }

    func testReadAlphaIsDropped() throws {
        let rgba = RawPNG.make(width: 2, height: 1, bitDepth: 8, colorType: .rgba,
                               rows: [[10, 20, 30, 0, 40, 50, 60, 255]])
        let c = try PNGFile.decode(rgba)
        XCTAssertEqual(c.format, .rgb)
        XCTAssertEqual(c.bytes, [10, 20, 30, 40, 50, 60])

        let grayAlpha = RawPNG.make(width: 3, height: 1, bitDepth: 8, colorType: .grayAlpha,
                                    rows: [[7, 0, 8, 128, 9, 255]])
        let g = try PNGFile.decode(grayAlpha)
        XCTAssertEqual(g.format, .gray)
        XCTAssertEqual(g.bytes, [7, 8, 9])

        let rgba16 = RawPNG.make(width: 1, height: 1, bitDepth: 16, colorType: .rgba,
                                 rows: [[0x20, 0x20, 0x40, 0x40, 0x60, 0x60, 0x00, 0x00]])
        XCTAssertEqual(try PNGFile.decode(rgba16).bytes, [0x20, 0x40, 0x60])

        // Gray with a tRNS colour key stays gray.
        let grayKey = RawPNG.make(width: 2, height: 1, bitDepth: 8, colorType: .gray, rows: [[5, 6]],
                                  extraChunks: [("tRNS", RawPNG.be16(5))])
        let k = try PNGFile.decode(grayKey)
        XCTAssertEqual(k.format, .gray)
        XCTAssertEqual(k.bytes, [5, 6])
    }

    func testReadLowBitGray() throws {
        // 1-bit: 1,0,1,1,0,0,0,1,1 → 0b10110001 0b10000000; expands to 0/255.
        let png1 = RawPNG.make(width: 9, height: 1, bitDepth: 1, colorType: .gray, rows: [[0b1011_0001, 0b1000_0000]])
        XCTAssertEqual(try PNGFile.decode(png1).bytes, [255, 0, 255, 255, 0, 0, 0, 255, 255])
        // 4-bit: 0x0, 0xF, 0x8 → 0, 255, 136.
        let png4 = RawPNG.make(width: 3, height: 1, bitDepth: 4, colorType: .gray, rows: [[0x0F, 0x80]])
        XCTAssertEqual(try PNGFile.decode(png4).bytes, [0, 255, 136])
    }

    func testReadInterlaced() throws {
        for (w, h) in [(1, 1), (3, 2), (13, 11)] {
            let rgb = noiseCanvas(width: w, height: h, format: .rgb, seed: UInt64(w))
            let rows = (0..<h).map { Array(rgb.bytes[($0 * w * 3)..<(($0 + 1) * w * 3)]) }
            let png = RawPNG.make(width: w, height: h, bitDepth: 8, colorType: .rgb, rows: rows, interlaced: true)
            XCTAssertEqual(try PNGFile.decode(png), rgb, "\(w)x\(h) interlaced RGB")
            let p = path("interlaced-\(w)x\(h).png")
            try Data(png).write(to: URL(fileURLWithPath: p))
            XCTAssertEqual(try PNGFile.read(path: p), rgb)

            let gray = noiseCanvas(width: w, height: h, format: .gray, seed: UInt64(h))
            let grayRows = (0..<h).map { Array(gray.bytes[($0 * w)..<(($0 + 1) * w)]) }
            let gpng = RawPNG.make(width: w, height: h, bitDepth: 8, colorType: .gray, rows: grayRows, interlaced: true)
            XCTAssertEqual(try PNGFile.decode(gpng), gray, "\(w)x\(h) interlaced gray")
        }
    }

    func testHandMadePNGMatchesLibpngOutput() throws {
        let canvas = noiseCanvas(width: 5, height: 4, format: .rgb)
        let rows = (0..<4).map { Array(canvas.bytes[($0 * 15)..<(($0 + 1) * 15)]) }
        XCTAssertEqual(try PNGFile.decode(RawPNG.make(width: 5, height: 4, bitDepth: 8, colorType: .rgb, rows: rows)), canvas)
    }

    // MARK: Errors

    func testWriteIntoMissingDirectoryNamesPathAndLeavesNoFile() {
        let p = path("no-such-dir/frame.png")
        XCTAssertThrowsError(try PNGFile.write(Canvas(width: 2, height: 2, format: .rgb), to: p)) { error in
            guard let e = error as? PNGError, case .write(let ep, let message) = e else {
                return XCTFail("unexpected \(error)")
            }
            XCTAssertEqual(ep, p)
            XCTAssertEqual(message, "No such file or directory")
            XCTAssertTrue(e.description.contains(p), e.description)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: p))
    }

    func testTypedThrows() {
        do throws(PNGError) {
            _ = try PNGFile.read(path: path("missing.png"))
            XCTFail("read of a missing file succeeded")
        } catch {
            // `error` is PNGError here, statically (typed throws).
            XCTAssertEqual(error, .read(path: path("missing.png"), message: "No such file or directory"))
            XCTAssertEqual(error.path, path("missing.png"))
        }
    }

    /// A write that fails half way (file size limit) reports the OS error and removes the partial file.
    func testFailedWriteMidwayRemovesPartialFile() throws {
        var old = rlimit()
        XCTAssertEqual(getrlimit(Int32(RLIMIT_FSIZE.rawValue), &old), 0)
        let oldHandler = signal(SIGXFSZ, SIG_IGN)
        var limit = old
        limit.rlim_cur = 4096
        XCTAssertEqual(setrlimit(Int32(RLIMIT_FSIZE.rawValue), &limit), 0)
        defer {
            setrlimit(Int32(RLIMIT_FSIZE.rawValue), &old)
            signal(SIGXFSZ, oldHandler)
        }
        let p = path("too-big.png")
        let canvas = noiseCanvas(width: 200, height: 100, format: .rgb)  // ~60 KB of noise
        XCTAssertThrowsError(try PNGFile.write(canvas, to: p, options: .fast)) { error in
            XCTAssertEqual(error as? PNGError, .write(path: p, message: "File too large"))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: p))
    }

    /// A failed write to a device (its own copy of /dev/full) reports ENOSPC and keeps the node.
    func testFailedWriteToDeviceKeepsTheDevice() throws {
        let p = path("full")
        // makedev(1, 7) is a macro that does not import; on Linux it is (1 << 8) | 7 for small numbers.
        guard mknod(p, S_IFCHR | 0o644, (1 << 8) | 7) == 0 else {
            throw XCTSkip("cannot create a device node here (needs root / CAP_MKNOD)")
        }
        XCTAssertThrowsError(try PNGFile.write(noiseCanvas(width: 100, height: 100, format: .rgb), to: p)) { error in
            XCTAssertEqual(error as? PNGError, .write(path: p, message: "No space left on device"))
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: p))
    }

    func testTruncatedFileThrows() throws {
        let p = path("whole.png")
        try PNGFile.write(noiseCanvas(width: 64, height: 64, format: .rgb), to: p)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: p))
        let cut = path("half.png")
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: cut))
        XCTAssertThrowsError(try PNGFile.read(path: cut)) { error in
            guard case .read(let ep, let message)? = error as? PNGError else { return XCTFail("unexpected \(error)") }
            XCTAssertEqual(ep, cut)
            XCTAssertTrue(message.contains("truncated"), message)
        }
    }

    func testEveryPrefixOfASmallPNGThrows() throws {
        let whole = try PNGFile.encode(noiseCanvas(width: 7, height: 5, format: .rgb), options: .small)
        XCTAssertNoThrow(try PNGFile.decode(whole))
        for n in 0..<whole.count {
            XCTAssertThrowsError(try PNGFile.decode(Array(whole.prefix(n))), "prefix \(n) of \(whole.count)") { error in
                guard case .read(nil, _)? = error as? PNGError else { return XCTFail("unexpected \(error)") }
            }
        }
    }

    func testCorruptedDataThrows() throws {
        let good = try PNGFile.encode(noiseCanvas(width: 16, height: 16, format: .rgb))
        let idat = try XCTUnwrap(indexOf(Array("IDAT".utf8), in: good))
        let length = good[(idat - 4)..<idat].reduce(0) { $0 << 8 | Int($1) }

        var badCRC = good
        badCRC[idat + 4 + length] ^= 0xFF
        XCTAssertThrowsError(try PNGFile.decode(badCRC)) { error in
            guard case .read(nil, let message)? = error as? PNGError else { return XCTFail("unexpected \(error)") }
            XCTAssertTrue(message.contains("CRC"), message)
        }
        // Corrupt compressed data: zlib notices before the chunk's CRC is checked.
        var badData = good
        badData[idat + 6] ^= 0xFF
        XCTAssertThrowsError(try PNGFile.decode(badData)) { error in
            guard case .read(nil, _)? = error as? PNGError else { return XCTFail("unexpected \(error)") }
        }
    }

    func testNonPNGFileThrows() throws {
        let p = path("notes.txt")
        try Data("this is not a PNG\n".utf8).write(to: URL(fileURLWithPath: p))
        XCTAssertThrowsError(try PNGFile.read(path: p)) { error in
            guard case .read(let ep, let message)? = error as? PNGError else { return XCTFail("unexpected \(error)") }
            XCTAssertEqual(ep, p)
            XCTAssertFalse(message.isEmpty)
            print("non-PNG message: \(message)")
        }
        XCTAssertThrowsError(try PNGFile.read(path: dir.path))  // a directory
        XCTAssertThrowsError(try PNGFile.decode([]))
        XCTAssertThrowsError(try PNGFile.read(path: path("empty.png"))) // does not exist
        XCTAssertTrue(FileManager.default.createFile(atPath: path("empty.png"), contents: Data()))
        XCTAssertThrowsError(try PNGFile.read(path: path("empty.png")))
    }

    func testTooLargeIsRefusedFromTheHeader() throws {
        let header = RawPNG.headerOnly(width: 20000, height: 1)
        XCTAssertThrowsError(try PNGFile.decode(header)) { error in
            XCTAssertEqual(error as? PNGError, .tooLarge(path: nil, width: 20000, height: 1, limit: 16384))
        }
        let p = path("huge.png")
        try Data(RawPNG.headerOnly(width: 16, height: 2_000_000)).write(to: URL(fileURLWithPath: p))
        XCTAssertThrowsError(try PNGFile.read(path: p)) { error in
            XCTAssertEqual(error as? PNGError, .tooLarge(path: p, width: 16, height: 2_000_000, limit: 16384))
            print("too large: \(error)")
        }
        // At the limit the header passes the size check (and fails later for lack of data).
        XCTAssertThrowsError(try PNGFile.decode(RawPNG.headerOnly(width: 16384, height: 2))) { error in
            guard case .read? = error as? PNGError else { return XCTFail("unexpected \(error)") }
        }
    }

    func testInvalidCanvasesAreRejected() {
        XCTAssertThrowsError(try PNGFile.encode(Canvas(width: 0, height: 3, format: .rgb))) { error in
            guard case .write(nil, _)? = error as? PNGError else { return XCTFail("unexpected \(error)") }
        }
        var bad = Canvas(width: 4, height: 4, format: .rgb)
        bad.bytes.removeLast(5)  // `bytes` is public: its count can disagree with the size
        XCTAssertThrowsError(try PNGFile.encode(bad))
        let p = path("bad.png")
        XCTAssertThrowsError(try PNGFile.write(bad, to: p))
        XCTAssertFalse(FileManager.default.fileExists(atPath: p))
        XCTAssertThrowsError(try PNGFile.write(Canvas(width: 1, height: 1, format: .gray), to: p + "\0x"))
    }

    // MARK: Speed (printed, not asserted)

    func testWriteSpeed1080p() throws {
        let canvas = gradientCanvas(width: 1920, height: 1080)
        for (name, options) in [("fast", PNGOptions.fast), ("small", .small), ("zlib6+all", PNGOptions(compressionLevel: 6, filter: .all))] {
            let p = path("speed-\(name).png")
            var best = Double.infinity
            for _ in 0..<5 {
                let t0 = DispatchTime.now().uptimeNanoseconds
                try PNGFile.write(canvas, to: p, options: options)
                best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
            }
            let size = try FileManager.default.attributesOfItem(atPath: p)[.size] as? Int ?? -1
            print(String(format: "PNG write 1920x1080 RGB gradient, %@: best of 5 %.1f ms, %d bytes", name, best, size))
        }
        let noise = noiseCanvas(width: 1920, height: 1080, format: .rgb)
        let t0 = DispatchTime.now().uptimeNanoseconds
        try PNGFile.write(noise, to: path("speed-noise.png"), options: .fast)
        print(String(format: "PNG write 1920x1080 RGB noise, fast: %.1f ms", Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6))
    }
}

func indexOf(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
    guard needle.count <= haystack.count else { return nil }
    for i in 0...(haystack.count - needle.count) where Array(haystack[i..<(i + needle.count)]) == needle { return i }
    return nil
}
