/// How many 8-bit components a pixel has and what they mean.
public enum PixelFormat: String, Sendable, CaseIterable, Codable {
    case gray, rgb, rgbw

    public var bytesPerPixel: Int {
        switch self {
        case .gray: return 1
        case .rgb: return 3
        case .rgbw: return 4
        }
    }

    /// Channels per universe a controller uses by default: whole pixels only
    /// (510 = 170 RGB pixels, 512 gray, 512 = 128 RGBW pixels).
    public var defaultChannelsPerUniverse: Int { (512 / bytesPerPixel) * bytesPerPixel }
}

/// The order in which a pixel's components travel on the wire, e.g. GRB for WS2812 strips.
/// `wireToCanvas[i]` is the canvas component (0 = R, 1 = G, 2 = B, 3 = W) carried by the
/// i-th byte of a pixel on the wire.
public struct PixelOrder: Hashable, Sendable, CustomStringConvertible {
    public let wireToCanvas: [Int]

    /// Parses "rgb", "grb", "bgr", "rgbw", "grbw", … Returns nil for anything that is not a
    /// permutation of the format's components.
    public init?(_ name: String, format: PixelFormat) {
        let letters = Array(name.lowercased())
        let components: [Character] = ["r", "g", "b", "w"]
        switch format {
        case .gray:
            guard ["gray", "w", ""].contains(name.lowercased()) else { return nil }
            wireToCanvas = [0]
            return
        case .rgb, .rgbw:
            guard letters.count == format.bytesPerPixel else { return nil }
            var mapping: [Int] = []
            for ch in letters {
                guard let idx = components.firstIndex(of: ch), idx < format.bytesPerPixel, !mapping.contains(idx) else { return nil }
                mapping.append(idx)
            }
            wireToCanvas = mapping
        }
    }

    /// The identity order for a format (RGB, RGBW, gray).
    public static func natural(_ format: PixelFormat) -> PixelOrder {
        switch format {
        case .gray: return PixelOrder(uncheckedMapping: [0])
        case .rgb: return PixelOrder(uncheckedMapping: [0, 1, 2])
        case .rgbw: return PixelOrder(uncheckedMapping: [0, 1, 2, 3])
        }
    }

    private init(uncheckedMapping: [Int]) { wireToCanvas = uncheckedMapping }

    public var description: String {
        if wireToCanvas.count == 1 { return "gray" }
        return String(wireToCanvas.map { ["r", "g", "b", "w"][$0] })
    }
}
