import PanelCore

/// The outcome of comparing an image with the one it was expected to be.
public struct ImageComparison: Sendable, Equatable {
    /// Whether both images have the same width and height.
    public let sizeMatches: Bool
    /// Pixels that differ by more than the tolerance in some component, plus, when the sizes
    /// differ, the pixels of the bounding box that lie outside either image.
    public let differingPixels: Int
    /// The largest per-component difference among pixels present in both images (0…255).
    public let maxDelta: Int
    /// The first differing pixel in row-major order, nil if none.
    public let firstDifference: (x: Int, y: Int)?

    public init(sizeMatches: Bool, differingPixels: Int, maxDelta: Int, firstDifference: (x: Int, y: Int)?) {
        self.sizeMatches = sizeMatches
        self.differingPixels = differingPixels
        self.maxDelta = maxDelta
        self.firstDifference = firstDifference
    }

    /// Same size and no pixel beyond the tolerance.
    public var matches: Bool { sizeMatches && differingPixels == 0 }

    public static func == (a: ImageComparison, b: ImageComparison) -> Bool {
        a.sizeMatches == b.sizeMatches && a.differingPixels == b.differingPixels && a.maxDelta == b.maxDelta
            && a.firstDifference?.x == b.firstDifference?.x && a.firstDifference?.y == b.firstDifference?.y
    }
}

/// Compares canvases component by component, with a tolerance, e.g. a recorded frame with a golden PNG.
///
/// Both canvases are first brought to a common format: the same format stays as it is;
/// otherwise both become RGB (gray repeated into R, G, B; RGBW with W folded in as white,
/// `min(255, c + w)`, the way `PNGFile` stores it). The comparison covers the bounding box of
/// both images, top left aligned.
public enum ImageDiff {
    /// Counts the pixels where some component differs by more than `tolerance` (negative counts as 0).
    public static func compare(_ actual: Canvas, _ expected: Canvas, tolerance: Int) -> ImageComparison {
        let pair = AlignedPair(actual, expected)
        let tol = max(0, tolerance)
        var differing = 0, maxDelta = 0
        var first: (x: Int, y: Int)? = nil
        for y in 0..<pair.height {
            for x in 0..<pair.width {
                let differs: Bool
                if let d = pair.delta(x: x, y: y) {
                    maxDelta = max(maxDelta, d)
                    differs = d > tol
                } else {
                    differs = true
                }
                if differs {
                    differing += 1
                    if first == nil { first = (x, y) }
                }
            }
        }
        return ImageComparison(sizeMatches: actual.width == expected.width && actual.height == expected.height,
                               differingPixels: differing, maxDelta: maxDelta, firstDifference: first)
    }

    /// An RGB picture of the differences, the size of the bounding box of both images:
    /// differing pixels pure red (255, 0, 0), matching pixels the expected image's luma at 1/3
    /// as gray, and pixels outside either image magenta (255, 0, 255).
    public static func diffImage(_ actual: Canvas, _ expected: Canvas, tolerance: Int) -> Canvas {
        let pair = AlignedPair(actual, expected)
        let tol = max(0, tolerance)
        var out = Canvas(width: pair.width, height: pair.height, format: .rgb)
        for y in 0..<pair.height {
            for x in 0..<pair.width {
                let o = (y * pair.width + x) * 3
                let rgb: (UInt8, UInt8, UInt8)
                if let d = pair.delta(x: x, y: y) {
                    if d > tol {
                        rgb = (255, 0, 0)
                    } else {
                        let v = UInt8(pair.expectedLuma(x: x, y: y) / 3)
                        rgb = (v, v, v)
                    }
                } else {
                    rgb = (255, 0, 255)
                }
                out.bytes[o] = rgb.0
                out.bytes[o + 1] = rgb.1
                out.bytes[o + 2] = rgb.2
            }
        }
        return out
    }
}

/// Two canvases in a common format, with byte counts guaranteed to match their sizes.
private struct AlignedPair {
    let a: Canvas
    let b: Canvas
    let bpp: Int
    let width: Int
    let height: Int

    init(_ actual: Canvas, _ expected: Canvas) {
        let format: PixelFormat = actual.format == expected.format ? actual.format : .rgb
        a = AlignedPair.normalised(actual, to: format)
        b = AlignedPair.normalised(expected, to: format)
        bpp = format.bytesPerPixel
        let w = max(a.width, b.width), h = max(a.height, b.height)
        let (area, o1) = w.multipliedReportingOverflow(by: h)
        let (_, o2) = area.multipliedReportingOverflow(by: 4)
        // A bounding box that cannot exist in memory is compared as empty (sizes still differ).
        width = o1 || o2 ? 0 : w
        height = o1 || o2 ? 0 : h
    }

    /// The largest component difference at (x, y), nil when the pixel is outside either image.
    func delta(x: Int, y: Int) -> Int? {
        guard let oa = a.offset(x: x, y: y), let ob = b.offset(x: x, y: y) else { return nil }
        var d = 0
        for c in 0..<bpp { d = max(d, abs(Int(a.bytes[oa + c]) - Int(b.bytes[ob + c]))) }
        return d
    }

    /// Rec. 601 luma (0…255) of the expected pixel at (x, y), RGBW with W folded in.
    func expectedLuma(x: Int, y: Int) -> Int {
        guard let o = b.offset(x: x, y: y) else { return 0 }
        if bpp == 1 { return Int(b.bytes[o]) }
        let w = bpp == 4 ? Int(b.bytes[o + 3]) : 0
        let r = min(255, Int(b.bytes[o]) + w), g = min(255, Int(b.bytes[o + 1]) + w), bl = min(255, Int(b.bytes[o + 2]) + w)
        return (299 * r + 587 * g + 114 * bl + 500) / 1000
    }

    /// `canvas` in `format`, its bytes first padded or cut to its size (`bytes` is public and
    /// can disagree with width × height).
    static func normalised(_ canvas: Canvas, to format: PixelFormat) -> Canvas {
        let (n, o1) = canvas.width.multipliedReportingOverflow(by: canvas.height)
        let (_, o2) = n.multipliedReportingOverflow(by: 4)
        if o1 || o2 { return Canvas(width: 0, height: 0, format: format) }
        var c = canvas
        let expected = Canvas(width: canvas.width, height: canvas.height, format: canvas.format)
        if c.bytes.count != expected.bytes.count {
            var fixed = expected
            let n = min(c.bytes.count, fixed.bytes.count)
            fixed.bytes.replaceSubrange(0..<n, with: c.bytes[0..<n])
            c = fixed
        }
        if c.format == format { return c }
        if c.format == .rgbw {
            let rgb = foldWhite(c.bytes, pixelCount: c.pixelCount)
            if let folded = Canvas(width: c.width, height: c.height, format: .rgb, bytes: rgb) {
                return folded.converted(to: format)
            }
        }
        return c.converted(to: format)
    }
}
