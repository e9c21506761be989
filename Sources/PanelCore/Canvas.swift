/// A picture as the panel shows it: `width × height` pixels, row-major from the top left,
/// components in canonical order (gray; R G B; R G B W), 8 bits each.
public struct Canvas: Equatable, Sendable {
    public let width: Int
    public let height: Int
    public let format: PixelFormat
    /// `width * height * format.bytesPerPixel` bytes.
    public var bytes: [UInt8]

    /// A black canvas. Sizes are clamped at zero; callers validate sizes from config first.
    public init(width: Int, height: Int, format: PixelFormat) {
        self.width = max(0, width)
        self.height = max(0, height)
        self.format = format
        let (n, o) = self.width.multipliedReportingOverflow(by: self.height)
        let count = o ? 0 : n.multipliedReportingOverflow(by: format.bytesPerPixel).partialValue
        bytes = [UInt8](repeating: 0, count: count)
    }

    /// Wraps existing pixel bytes; nil if the count does not match the size.
    public init?(width: Int, height: Int, format: PixelFormat, bytes: [UInt8]) {
        guard width >= 0, height >= 0 else { return nil }
        let (n, o1) = width.multipliedReportingOverflow(by: height)
        let (count, o2) = n.multipliedReportingOverflow(by: format.bytesPerPixel)
        guard !o1, !o2, bytes.count == count else { return nil }
        self.width = width
        self.height = height
        self.format = format
        self.bytes = bytes
    }

    public var pixelCount: Int { width * height }

    /// The byte offset of pixel (x, y), or nil outside the canvas.
    @inlinable public func offset(x: Int, y: Int) -> Int? {
        guard x >= 0, y >= 0, x < width, y < height else { return nil }
        return (y * width + x) * format.bytesPerPixel
    }

    /// The components of pixel (x, y); empty outside the canvas.
    public func pixel(x: Int, y: Int) -> [UInt8] {
        guard let o = offset(x: x, y: y) else { return [] }
        return Array(bytes[o..<(o + format.bytesPerPixel)])
    }

    public mutating func setPixel(x: Int, y: Int, _ components: [UInt8]) {
        guard let o = offset(x: x, y: y) else { return }
        for (i, c) in components.prefix(format.bytesPerPixel).enumerated() { bytes[o + i] = c }
    }

    /// This canvas converted to another pixel format: gray → RGB repeats the value,
    /// RGB → gray uses the Rec. 601 luma, W is added or dropped (RGB → RGBW leaves W at 0).
    public func converted(to target: PixelFormat) -> Canvas {
        if target == format { return self }
        var out = Canvas(width: width, height: height, format: target)
        let sb = format.bytesPerPixel, tb = target.bytesPerPixel
        for p in 0..<pixelCount {
            let s = p * sb, t = p * tb
            let r, g, b: UInt8
            if format == .gray { r = bytes[s]; g = bytes[s]; b = bytes[s] } else { r = bytes[s]; g = bytes[s + 1]; b = bytes[s + 2] }
            switch target {
            case .gray:
                let luma: Int = 299 * Int(r) + 587 * Int(g) + 114 * Int(b)
                out.bytes[t] = UInt8((luma + 500) / 1000)
            case .rgb, .rgbw:
                out.bytes[t] = r; out.bytes[t + 1] = g; out.bytes[t + 2] = b
            }
        }
        return out
    }

    /// This canvas scaled to another size by nearest neighbour (for fitting an image to a panel).
    public func resized(width w: Int, height h: Int) -> Canvas {
        if w == width && h == height { return self }
        var out = Canvas(width: w, height: h, format: format)
        guard width > 0, height > 0 else { return out }
        let bpp = format.bytesPerPixel
        for y in 0..<out.height {
            let sy = y * height / max(1, out.height)
            for x in 0..<out.width {
                let sx = x * width / max(1, out.width)
                let s = (sy * width + sx) * bpp, t = (y * out.width + x) * bpp
                for c in 0..<bpp { out.bytes[t + c] = bytes[s + c] }
            }
        }
        return out
    }
}
