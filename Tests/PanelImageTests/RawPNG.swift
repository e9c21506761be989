// Builds PNG files by hand (stored deflate blocks, real CRCs), so tests can feed the reader
// colour types, bit depths and interlacing that PNGFile never writes. No binary fixtures.

enum RawPNG {
    enum ColorType: UInt8 {
        case gray = 0, rgb = 2, palette = 3, grayAlpha = 4, rgba = 6
    }

    /// A complete PNG. `rows` are the packed scanlines without filter bytes (bit-packed for
    /// depths below 8, big-endian for 16). With `interlaced`, `rows` hold the full image and
    /// are split into Adam7 passes (only for depths ≥ 8).
    static func make(width: Int, height: Int, bitDepth: UInt8, colorType: ColorType,
                     rows: [[UInt8]], interlaced: Bool = false,
                     extraChunks: [(String, [UInt8])] = []) -> [UInt8] {
        var raw: [UInt8] = []
        if interlaced {
            let bpp = bytesPerPixel(bitDepth: bitDepth, colorType: colorType)
            let passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
            for (x0, y0, dx, dy) in passes {
                let xs = Array(stride(from: x0, to: width, by: dx))
                let ys = Array(stride(from: y0, to: height, by: dy))
                if xs.isEmpty || ys.isEmpty { continue }
                for y in ys {
                    raw.append(0)
                    for x in xs { raw += rows[y][(x * bpp)..<(x * bpp + bpp)] }
                }
            }
        } else {
            for row in rows { raw.append(0); raw += row }
        }
        var out: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        out += chunk("IHDR", be32(UInt32(width)) + be32(UInt32(height))
                     + [bitDepth, colorType.rawValue, 0, 0, interlaced ? 1 : 0])
        for (type, data) in extraChunks { out += chunk(type, data) }
        out += chunk("IDAT", zlibStored(raw))
        out += chunk("IEND", [])
        return out
    }

    /// An 8-bit RGB PNG of the given size with (far too little) pixel data: enough for the
    /// reader to reach the size check, which happens when the first IDAT is seen.
    static func headerOnly(width: UInt32, height: UInt32) -> [UInt8] {
        [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
            + chunk("IHDR", be32(width) + be32(height) + [8, 2, 0, 0, 0])
            + chunk("IDAT", zlibStored([0, 1, 2, 3]))
            + chunk("IEND", [])
    }

    static func bytesPerPixel(bitDepth: UInt8, colorType: ColorType) -> Int {
        let samples: Int
        switch colorType {
        case .gray, .palette: samples = 1
        case .grayAlpha: samples = 2
        case .rgb: samples = 3
        case .rgba: samples = 4
        }
        return samples * Int(bitDepth) / 8
    }

    static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let body = Array(type.utf8) + data
        return be32(UInt32(data.count)) + body + be32(crc32(body))
    }

    static func be32(_ v: UInt32) -> [UInt8] {
        [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
    }

    static func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xFF)] }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            crc ^= UInt32(b)
            for _ in 0..<8 { crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return crc ^ 0xFFFF_FFFF
    }

    /// A zlib stream of stored (uncompressed) deflate blocks.
    static func zlibStored(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x78, 0x01]
        var i = 0
        repeat {
            let n = min(65535, data.count - i)
            let final: UInt8 = i + n == data.count ? 1 : 0
            out.append(final)
            out += [UInt8(n & 0xFF), UInt8(n >> 8), UInt8(~n & 0xFF), UInt8((~n >> 8) & 0xFF)]
            out += data[i..<(i + n)]
            i += n
        } while i < data.count
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in data {
            a = (a + UInt32(byte)) % 65521
            b = (b + a) % 65521
        }
        return out + be32((b << 16) | a)
    }
}
