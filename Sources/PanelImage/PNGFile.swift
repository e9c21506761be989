import CPNG
import CPNGShim
import PanelCore

/// The row filter libpng applies before zlib compression.
public enum PNGFilter: Sendable, CaseIterable {
    case none, sub, up, average, paeth
    /// Let libpng choose per row among all five (smallest files on noisy content, slowest).
    case all

    /// The PNG_FILTER_* bitmask (`PNG_ALL_FILTERS` does not import into Swift).
    var libpngMask: Int32 {
        switch self {
        case .none: return PNG_FILTER_NONE
        case .sub: return PNG_FILTER_SUB
        case .up: return PNG_FILTER_UP
        case .average: return PNG_FILTER_AVG
        case .paeth: return PNG_FILTER_PAETH
        case .all: return PNG_FILTER_NONE | PNG_FILTER_SUB | PNG_FILTER_UP | PNG_FILTER_AVG | PNG_FILTER_PAETH
        }
    }
}

/// How hard to compress when writing a PNG.
public struct PNGOptions: Sendable, Equatable {
    /// zlib level, 0 (store) … 9 (smallest); values outside are clamped.
    public var compressionLevel: Int
    public var filter: PNGFilter

    public init(compressionLevel: Int, filter: PNGFilter) {
        self.compressionLevel = compressionLevel
        self.filter = filter
    }

    /// zlib 1 with the SUB filter: the default, for recording frames at speed.
    public static let fast = PNGOptions(compressionLevel: 1, filter: .sub)
    /// zlib 6 with the PAETH filter: smaller files (golden images, reports) at a few times the cost.
    public static let small = PNGOptions(compressionLevel: 6, filter: .paeth)
}

/// Why a PNG could not be written or read. `path` is nil for in-memory encoding and decoding.
public enum PNGError: Error, CustomStringConvertible, Equatable, Sendable {
    /// Writing or encoding failed; `message` is libpng's or the OS's reason.
    case write(path: String?, message: String)
    /// Reading or decoding failed (missing file, not a PNG, truncated, corrupt…).
    case read(path: String?, message: String)
    /// The image is wider or taller than `limit` (`PNGFile.maxDimension`); nothing was decoded.
    case tooLarge(path: String?, width: Int, height: Int, limit: Int)

    /// The file the error is about, nil for in-memory data.
    public var path: String? {
        switch self {
        case .write(let path, _), .read(let path, _), .tooLarge(let path, _, _, _): return path
        }
    }

    public var description: String {
        switch self {
        case .write(let path, let message):
            if let path { return "cannot write PNG '\(path)': \(message)" }
            return "cannot encode PNG: \(message)"
        case .read(let path, let message):
            if let path { return "cannot read PNG '\(path)': \(message)" }
            return "cannot decode PNG: \(message)"
        case .tooLarge(let path, let width, let height, let limit):
            let what = path.map { "PNG '\($0)'" } ?? "PNG data"
            return "\(what) is \(width)x\(height) pixels, larger than the limit of \(limit)x\(limit)"
        }
    }
}

/// PNG files and in-memory PNGs for canvases, via libpng.
///
/// Gray canvases are stored as 8-bit gray PNGs, RGB canvases as 8-bit RGB. RGBW canvases are
/// stored as RGB with W folded in as white: each of R, G, B becomes `min(255, c + w)`
/// (what the panel looks like; W itself is not recoverable). Reading accepts any PNG
/// (palette, gray, gray+alpha, 1–16 bits, RGBA, interlaced) and yields a `.gray` canvas for
/// gray and gray+alpha images and an `.rgb` canvas for everything else; alpha is dropped
/// (not composited), 16-bit samples are scaled to 8 bits. Reading never yields `.rgbw`.
public enum PNGFile {
    /// The largest width or height `read` and `decode` accept; larger images are refused with
    /// `PNGError.tooLarge` before pixel memory is allocated (at most 16384² × 3 bytes = 768 MiB).
    public static let maxDimension = 16384

    /// Writes `canvas` to `path`, replacing any file there. On failure the partly written file
    /// is removed (so a failed overwrite also removes the old file; devices and FIFOs are kept).
    /// RGBW canvases are written as RGB with W folded in (see `PNGFile`).
    public static func write(_ canvas: Canvas, to path: String, options: PNGOptions = .fast) throws(PNGError) {
        guard !path.utf8.contains(0) else { throw .write(path: path, message: "path contains a NUL byte") }
        let image: Prepared
        switch prepare(canvas) {
        case .success(let p): image = p
        case .failure(let reason): throw .write(path: path, message: reason.message)
        }
        var err = [CChar](repeating: 0, count: errorCapacity)
        let rc = path.withCString { cPath in
            image.pixels.withUnsafeBufferPointer { px in
                err.withUnsafeMutableBufferPointer { e in
                    panelsim_png_write_file(cPath, image.width, image.height, image.channels, px.baseAddress,
                                            image.stride, options.zlibLevel, options.filter.libpngMask,
                                            e.baseAddress, e.count)
                }
            }
        }
        guard rc == PANELSIM_PNG_OK else { throw .write(path: path, message: message(err)) }
    }

    /// The PNG file bytes for `canvas` (e.g. to inline into an HTML report).
    /// RGBW canvases are encoded as RGB with W folded in (see `PNGFile`).
    public static func encode(_ canvas: Canvas, options: PNGOptions = .fast) throws(PNGError) -> [UInt8] {
        let image: Prepared
        switch prepare(canvas) {
        case .success(let p): image = p
        case .failure(let reason): throw .write(path: nil, message: reason.message)
        }
        var err = [CChar](repeating: 0, count: errorCapacity)
        var out: UnsafeMutablePointer<UInt8>? = nil
        var count = 0
        let rc = image.pixels.withUnsafeBufferPointer { px in
            err.withUnsafeMutableBufferPointer { e in
                panelsim_png_encode_memory(image.width, image.height, image.channels, px.baseAddress, image.stride,
                                           options.zlibLevel, options.filter.libpngMask, &out, &count,
                                           e.baseAddress, e.count)
            }
        }
        defer { panelsim_png_free(out) }
        guard rc == PANELSIM_PNG_OK, let out else { throw .write(path: nil, message: message(err)) }
        return Array(UnsafeBufferPointer(start: out, count: count))
    }

    /// Reads the PNG at `path` as a `.gray` or `.rgb` canvas (see `PNGFile` for the conversions).
    public static func read(path: String) throws(PNGError) -> Canvas {
        guard !path.utf8.contains(0) else { throw .read(path: path, message: "path contains a NUL byte") }
        var out: Decoded = Decoded()
        var err = [CChar](repeating: 0, count: errorCapacity)
        let rc = path.withCString { cPath in
            err.withUnsafeMutableBufferPointer { e in
                panelsim_png_read_file(cPath, UInt32(maxDimension), &out.pixels, &out.width, &out.height,
                                       &out.channels, e.baseAddress, e.count)
            }
        }
        defer { panelsim_png_free(out.pixels) }
        return try canvas(from: out, rc: rc, err: err, path: path)
    }

    /// Decodes PNG file bytes held in memory as a `.gray` or `.rgb` canvas.
    public static func decode(_ bytes: [UInt8]) throws(PNGError) -> Canvas {
        var out: Decoded = Decoded()
        var err = [CChar](repeating: 0, count: errorCapacity)
        let rc = bytes.withUnsafeBufferPointer { data in
            err.withUnsafeMutableBufferPointer { e in
                panelsim_png_decode_memory(data.baseAddress, data.count, UInt32(maxDimension), &out.pixels,
                                           &out.width, &out.height, &out.channels, e.baseAddress, e.count)
            }
        }
        defer { panelsim_png_free(out.pixels) }
        return try canvas(from: out, rc: rc, err: err, path: nil)
    }

    // MARK: - Internals

    private static let errorCapacity = 256

    private struct Prepared {
        let width: UInt32
        let height: UInt32
        let channels: Int32
        let stride: Int
        let pixels: [UInt8]
    }

    private struct Reason: Error { let message: String }

    private struct Decoded {
        var pixels: UnsafeMutablePointer<UInt8>? = nil
        var width: UInt32 = 0
        var height: UInt32 = 0
        var channels: Int32 = 0
    }

    /// Validates the canvas (its `bytes` are public and may not match its size) and picks the
    /// PNG layout; RGBW is folded to RGB.
    private static func prepare(_ canvas: Canvas) -> Result<Prepared, Reason> {
        guard canvas.width > 0, canvas.height > 0 else {
            return .failure(Reason(message: "cannot store an empty \(canvas.width)x\(canvas.height) canvas"))
        }
        guard let w = UInt32(exactly: canvas.width), let h = UInt32(exactly: canvas.height) else {
            return .failure(Reason(message: "canvas \(canvas.width)x\(canvas.height) is too large for PNG"))
        }
        let bpp = canvas.format.bytesPerPixel
        let (pixelCount, o1) = canvas.width.multipliedReportingOverflow(by: canvas.height)
        let (expected, o2) = pixelCount.multipliedReportingOverflow(by: bpp)
        guard !o1, !o2, canvas.bytes.count == expected else {
            return .failure(Reason(message: "canvas has \(canvas.bytes.count) bytes, expected \(canvas.width)x\(canvas.height)x\(bpp)"))
        }
        switch canvas.format {
        case .gray:
            return .success(Prepared(width: w, height: h, channels: 1, stride: canvas.width, pixels: canvas.bytes))
        case .rgb:
            return .success(Prepared(width: w, height: h, channels: 3, stride: canvas.width * 3, pixels: canvas.bytes))
        case .rgbw:
            return .success(Prepared(width: w, height: h, channels: 3, stride: canvas.width * 3,
                                     pixels: foldWhite(canvas.bytes, pixelCount: pixelCount)))
        }
    }

    private static func canvas(from d: Decoded, rc: Int32, err: [CChar], path: String?) throws(PNGError) -> Canvas {
        if rc == PANELSIM_PNG_TOO_LARGE {
            throw .tooLarge(path: path, width: Int(exactly: d.width) ?? Int.max, height: Int(exactly: d.height) ?? Int.max,
                            limit: maxDimension)
        }
        guard rc == PANELSIM_PNG_OK, let pixels = d.pixels else { throw .read(path: path, message: message(err)) }
        let format: PixelFormat = d.channels == 1 ? .gray : .rgb
        guard d.channels == 1 || d.channels == 3,
              let w = Int(exactly: d.width), let h = Int(exactly: d.height) else {
            throw .read(path: path, message: "unexpected decoder output (\(d.channels) channels)")
        }
        let (n, o1) = w.multipliedReportingOverflow(by: h)
        let (count, o2) = n.multipliedReportingOverflow(by: format.bytesPerPixel)
        guard !o1, !o2,
              let canvas = Canvas(width: w, height: h, format: format,
                                  bytes: Array(UnsafeBufferPointer(start: pixels, count: count))) else {
            throw .read(path: path, message: "image size \(w)x\(h) does not fit in memory")
        }
        return canvas
    }

    private static func message(_ err: [CChar]) -> String {
        let bytes = err.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return bytes.isEmpty ? "unknown error" : String(decoding: bytes, as: UTF8.self)
    }
}

extension PNGOptions {
    var zlibLevel: Int32 { Int32(min(9, max(0, compressionLevel))) }
}

/// RGBW bytes (validated count `pixelCount * 4`) to RGB with W added to each of R, G, B, capped at 255.
func foldWhite(_ rgbw: [UInt8], pixelCount: Int) -> [UInt8] {
    [UInt8](unsafeUninitializedCapacity: pixelCount * 3) { out, initialized in
        rgbw.withUnsafeBufferPointer { src in
            for p in 0..<pixelCount {
                let w = Int(src[p * 4 + 3])
                for c in 0..<3 { out[p * 3 + c] = UInt8(min(255, Int(src[p * 4 + c]) + w)) }
            }
        }
        initialized = pixelCount * 3
    }
}
