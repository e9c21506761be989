/// Built-in test pictures a sender can play (`panelsim send --pattern NAME`).
public enum TestPattern: String, CaseIterable, Sendable {
    /// Eight vertical colour bars: white, yellow, cyan, green, magenta, red, blue, black.
    case bars
    /// Red rising left to right, green rising top to bottom, blue falling left to right.
    case gradient
    /// 8×8-pixel black and white squares, inverted every frame.
    case checkerboard
    /// A white vertical bar, 1/8 of the width, moving one pixel per frame.
    case movingBar = "moving-bar"
    /// The frame number stamped machine-readably (see `FrameStamp`) and drawn in digits.
    case counter

    /// The picture for frame `frame` (0-based) on a panel of this size and format.
    public func render(frame: Int, width: Int, height: Int, format: PixelFormat) -> Canvas {
        var c = Canvas(width: width, height: height, format: .rgb)
        guard width > 0, height > 0 else { return c.converted(to: format) }
        switch self {
        case .bars:
            let colors: [[UInt8]] = [[255, 255, 255], [255, 255, 0], [0, 255, 255], [0, 255, 0], [255, 0, 255], [255, 0, 0], [0, 0, 255], [0, 0, 0]]
            for y in 0..<height { for x in 0..<width { c.setPixel(x: x, y: y, colors[min(7, x * 8 / width)]) } }
        case .gradient:
            for y in 0..<height {
                for x in 0..<width {
                    let r = UInt8(x * 255 / max(1, width - 1)), g = UInt8(y * 255 / max(1, height - 1))
                    c.setPixel(x: x, y: y, [r, g, 255 - r])
                }
            }
        case .checkerboard:
            for y in 0..<height {
                for x in 0..<width {
                    let on = ((x / 8) + (y / 8) + frame) % 2 == 0
                    c.setPixel(x: x, y: y, on ? [255, 255, 255] : [0, 0, 0])
                }
            }
        case .movingBar:
            let barWidth = max(1, width / 8)
            let start = frame % width
            for y in 0..<height {
                for x in 0..<width {
                    let inBar = (x - start + width) % width < barWidth
                    c.setPixel(x: x, y: y, inBar ? [255, 255, 255] : [16, 16, 48])
                }
            }
        case .counter:
            for i in stride(from: 0, to: c.bytes.count, by: 3) { c.bytes[i + 2] = 40 }
            Digits.draw(String(frame), into: &c, color: [255, 255, 255])
        }
        var out = c.converted(to: format)
        if self == .counter { FrameStamp.write(UInt32(truncatingIfNeeded: frame), into: &out) }
        return out
    }
}

/// A frame number stamped into the first component bytes of a canvas: 4 bytes big-endian
/// then 2 check bytes (the number's bytes XOR 0xA5 summed, and its complement), so a
/// receiver can tell which frame arrived and whether the stamp is intact.
public enum FrameStamp {
    public static let byteCount = 6

    public static func write(_ n: UInt32, into canvas: inout Canvas) {
        guard canvas.bytes.count >= byteCount else { return }
        let b = [UInt8(n >> 24), UInt8((n >> 16) & 0xFF), UInt8((n >> 8) & 0xFF), UInt8(n & 0xFF)]
        let check = b.reduce(UInt8(0)) { $0 &+ ($1 ^ 0xA5) }
        for i in 0..<4 { canvas.bytes[i] = b[i] }
        canvas.bytes[4] = check
        canvas.bytes[5] = ~check
    }

    /// The stamped number, or nil when the stamp is damaged or absent.
    public static func read(_ canvas: Canvas) -> UInt32? {
        guard canvas.bytes.count >= byteCount else { return nil }
        let b = Array(canvas.bytes[0..<4])
        let check = b.reduce(UInt8(0)) { $0 &+ ($1 ^ 0xA5) }
        guard canvas.bytes[4] == check, canvas.bytes[5] == ~check else { return nil }
        return b.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
    }
}

/// A 3×5 pixel font for digits, scaled to the canvas.
enum Digits {
    static let glyphs: [[UInt8]] = [
        [7, 5, 5, 5, 7], [2, 6, 2, 2, 7], [7, 1, 7, 4, 7], [7, 1, 7, 1, 7], [5, 5, 7, 1, 1],
        [7, 4, 7, 1, 7], [7, 4, 7, 5, 7], [7, 1, 1, 1, 1], [7, 5, 7, 5, 7], [7, 5, 7, 1, 7],
    ]

    static func draw(_ text: String, into c: inout Canvas, color: [UInt8]) {
        let digits = text.compactMap { $0.wholeNumberValue }
        guard !digits.isEmpty else { return }
        let cellWidth = 4 * digits.count
        let scale = max(1, min(c.width / max(1, cellWidth + 1), (c.height - 1) / 6))
        let top = max(1, (c.height - 5 * scale) / 2)
        let left = max(0, (c.width - cellWidth * scale) / 2)
        for (i, d) in digits.enumerated() {
            for row in 0..<5 {
                for col in 0..<3 where glyphs[d][row] & (4 >> col) != 0 {
                    for dy in 0..<scale { for dx in 0..<scale {
                        c.setPixel(x: left + (i * 4 + col) * scale + dx, y: top + row * scale + dy, color)
                    } }
                }
            }
        }
    }
}
