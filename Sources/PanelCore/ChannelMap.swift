import CPixelKernels

/// How the pixels of a panel are chained: the order in which the controller walks them.
public enum ChainLayout: String, Sendable, CaseIterable, Codable {
    /// Every row left to right, top to bottom.
    case rows
    /// Rows alternate direction: the first left to right, the second right to left, …
    case serpentine
}

/// The mapping keys of a controller's configuration (`mapping:` in the config file).
public struct MappingSettings: Equatable, Sendable {
    public var startUniverse: Int
    /// DMX channels used per universe; only whole pixels are used (no pixel is split).
    public var channelsPerUniverse: Int
    public var layout: ChainLayout
    public var flipHorizontal: Bool
    public var flipVertical: Bool

    public init(startUniverse: Int, channelsPerUniverse: Int, layout: ChainLayout = .rows,
                flipHorizontal: Bool = false, flipVertical: Bool = false) {
        self.startUniverse = startUniverse
        self.channelsPerUniverse = channelsPerUniverse
        self.layout = layout
        self.flipHorizontal = flipHorizontal
        self.flipVertical = flipVertical
    }
}

/// Why a channel map cannot be built.
public enum ChannelMapError: Error, Equatable, Sendable, CustomStringConvertible {
    case emptyPanel(width: Int, height: Int)
    case panelTooLarge(width: Int, height: Int)
    case channelsPerUniverse(Int, bytesPerPixel: Int)
    case startUniverse(Int)
    case universesOutOfRange(first: Int, last: Int, allowed: ClosedRange<Int>)

    public var description: String {
        switch self {
        case let .emptyPanel(w, h): return "panel size \(w)x\(h) has no pixels"
        case let .panelTooLarge(w, h): return "panel size \(w)x\(h) is larger than 16384x16384"
        case let .channelsPerUniverse(c, bpp): return "channels-per-universe \(c) must be between \(bpp) and 512 (one pixel is \(bpp) channels)"
        case let .startUniverse(u): return "start-universe \(u) is out of range"
        case let .universesOutOfRange(first, last, allowed):
            return "this panel needs universes \(first)...\(last); the protocol allows \(allowed.lowerBound)...\(allowed.upperBound)"
        }
    }
}

/// The two-way map between (universe, channel) and panel pixels.
///
/// Channels are 0-based offsets into a universe's slot data (DMX slot 1 is channel 0).
/// Universe numbers are the protocol's own (Art-Net Port-Address, sACN universe).
public struct ChannelMap: Sendable {
    public let width: Int
    public let height: Int
    public let format: PixelFormat
    public let order: PixelOrder
    public let settings: MappingSettings
    /// Whole pixels carried by one universe.
    public let pixelsPerUniverse: Int
    /// Universes needed to carry every pixel.
    public let universeCount: Int
    /// Canvas byte offset of every pixel, in chain order.
    private let chainToCanvasOffset: [Int32]
    /// Per universe: its pixels lie one after the other in the canvas in wire order, so its
    /// data is one block copy (rows layout, no horizontal flip, natural component order).
    private let contiguous: [Bool]
    /// The chain is the canvas as it is (rows layout, no flips, natural component order):
    /// chain byte k is canvas byte k.
    public let isIdentity: Bool
    /// Every universe cut into stretches of pixels that lie one after another on the canvas,
    /// forward or backward (a serpentine row, a flipped one): universe u's are
    /// `runs[runStart[u] ..< runStart[u + 1]]`. Universes not in one natural-order block are
    /// copied a stretch at a time (`CPixelKernels`), not byte by byte.
    private let runs: [PixelRun]
    private let runStart: [Int]
    /// The pixel copies of those stretches, prepared once: wire to canvas (`order`'s
    /// inverse) and canvas to wire, each forward and backward.
    private let toCanvas: (forward: panelsim_pixel_copy, backward: panelsim_pixel_copy)
    private let toWire: (forward: panelsim_pixel_copy, backward: panelsim_pixel_copy)

    /// Pixels `first ..< first + count` of the chain, lying at canvas byte `lowest` upward
    /// (`reverse` false) or downward from the last one (`reverse` true: the chain's first
    /// pixel of the stretch is the highest on the canvas).
    private struct PixelRun {
        var first: Int
        var count: Int
        var lowest: Int
        var reverse: Bool
    }

    /// Builds the map; throws when the panel or mapping cannot work.
    /// `allowedUniverses` is checked before any table is built, so an impossible panel costs nothing.
    public init(width: Int, height: Int, format: PixelFormat, order: PixelOrder? = nil,
                settings: MappingSettings, allowedUniverses: ClosedRange<Int> = 0...65535) throws(ChannelMapError) {
        guard width > 0, height > 0 else { throw .emptyPanel(width: width, height: height) }
        guard width <= 16384, height <= 16384 else { throw .panelTooLarge(width: width, height: height) }
        let bpp = format.bytesPerPixel
        guard settings.channelsPerUniverse >= bpp, settings.channelsPerUniverse <= 512 else {
            throw .channelsPerUniverse(settings.channelsPerUniverse, bytesPerPixel: bpp)
        }
        guard settings.startUniverse >= 0, settings.startUniverse <= 65535 else { throw .startUniverse(settings.startUniverse) }
        let needed = (width * height + settings.channelsPerUniverse / bpp - 1) / (settings.channelsPerUniverse / bpp)
        let last = settings.startUniverse + needed - 1
        guard allowedUniverses.contains(settings.startUniverse), allowedUniverses.contains(last) else {
            throw .universesOutOfRange(first: settings.startUniverse, last: last, allowed: allowedUniverses)
        }
        self.width = width
        self.height = height
        self.format = format
        self.order = order ?? .natural(format)
        self.settings = settings
        pixelsPerUniverse = settings.channelsPerUniverse / bpp
        let pixels = width * height
        universeCount = (pixels + pixelsPerUniverse - 1) / pixelsPerUniverse
        var offsets = [Int32](repeating: 0, count: pixels)
        for chain in 0..<pixels {
            let (x, y) = ChannelMap.position(chain: chain, width: width, height: height, settings: settings)
            offsets[chain] = Int32((y * width + x) * bpp)
        }
        chainToCanvasOffset = offsets
        let natural = self.order.wireToCanvas == Array(0..<bpp)
        let perUniverse = pixelsPerUniverse
        contiguous = (0..<universeCount).map { u in
            guard natural else { return false }
            let first = u * perUniverse
            let end = min(pixels, first + perUniverse)
            for chain in first..<end where offsets[chain] != offsets[first] + Int32((chain - first) * bpp) { return false }
            return true
        }
        isIdentity = natural && offsets.indices.allSatisfy { offsets[$0] == Int32($0 * bpp) }
        var runs: [PixelRun] = []
        var runStart = [0]
        for u in 0..<universeCount {
            let end = min(pixels, (u + 1) * perUniverse)
            var chain = u * perUniverse
            while chain < end {
                let o = Int(offsets[chain])
                var step = 0
                if chain + 1 < end, abs(Int(offsets[chain + 1]) - o) == bpp { step = Int(offsets[chain + 1]) - o }
                var n = 1
                if step != 0 {
                    while chain + n < end && Int(offsets[chain + n]) == o + n * step { n += 1 }
                }
                runs.append(PixelRun(first: chain, count: n, lowest: step < 0 ? o + (n - 1) * step : o, reverse: step < 0))
                chain += n
            }
            runStart.append(runs.count)
        }
        self.runs = runs
        self.runStart = runStart
        let wire = self.order.wireToCanvas
        let wireFromCanvas = wire.map { UInt8(truncatingIfNeeded: $0) }
        let canvasFromWire = (0..<bpp).map { k in UInt8(truncatingIfNeeded: wire.firstIndex(of: k) ?? k) }
        func prepared(_ order: [UInt8], reverse: Bool) -> panelsim_pixel_copy {
            var copy = panelsim_pixel_copy()
            _ = panelsim_pixel_copy_prepare(&copy, Int32(bpp), order, reverse ? 1 : 0)
            return copy
        }
        toCanvas = (prepared(canvasFromWire, reverse: false), prepared(canvasFromWire, reverse: true))
        toWire = (prepared(wireFromCanvas, reverse: false), prepared(wireFromCanvas, reverse: true))
    }

    /// Splits channels `channels` of universe index `u` into stretches of whole pixels that lie
    /// in one run (`pixels`: the first channel, the pixel count, the canvas byte of the lowest
    /// one, and whether they run backward) and the single channels of pixels cut at either end
    /// (`channel`: the channel and its canvas byte).
    private func walk(universeIndex u: Int, channels: Range<Int>,
                      pixels: (_ firstChannel: Int, _ count: Int, _ lowest: Int, _ reverse: Bool) -> Void,
                      channel: (_ channel: Int, _ canvasByte: Int) -> Void) {
        let bpp = format.bytesPerPixel
        let firstChain = u * pixelsPerUniverse
        let wire = order.wireToCanvas
        func byte(_ ch: Int) -> Int { Int(chainToCanvasOffset[firstChain + ch / bpp]) + wire[ch % bpp] }
        var ch = channels.lowerBound
        while ch < channels.upperBound && ch % bpp != 0 {
            channel(ch, byte(ch))
            ch += 1
        }
        let wholeEnd = channels.upperBound - channels.upperBound % bpp
        if ch < wholeEnd {
            let first = ch / bpp, end = wholeEnd / bpp
            for r in runs[runStart[u]..<runStart[u + 1]] {
                let runFirst = r.first - firstChain, runEnd = runFirst + r.count
                let a = max(first, runFirst), b = min(end, runEnd)
                guard a < b else { continue }
                pixels(a * bpp, b - a, r.lowest + (r.reverse ? runEnd - b : a - runFirst) * bpp, r.reverse)
            }
            ch = wholeEnd
        }
        while ch < channels.upperBound {
            channel(ch, byte(ch))
            ch += 1
        }
    }

    /// The universes this map covers, in order.
    public var universes: Range<Int> { settings.startUniverse..<(settings.startUniverse + universeCount) }

    /// The pixel at a position along the chain.
    public func position(chain: Int) -> (x: Int, y: Int)? {
        guard chain >= 0, chain < width * height else { return nil }
        return ChannelMap.position(chain: chain, width: width, height: height, settings: settings)
    }

    /// The position along the chain of pixel (x, y).
    public func chainIndex(x: Int, y: Int) -> Int? {
        guard x >= 0, y >= 0, x < width, y < height else { return nil }
        let row = settings.flipVertical ? height - 1 - y : y
        var col = settings.flipHorizontal ? width - 1 - x : x
        if settings.layout == .serpentine && row % 2 == 1 { col = width - 1 - col }
        return row * width + col
    }

    /// Where the first channel of pixel (x, y) travels.
    public func address(x: Int, y: Int) -> (universe: Int, channel: Int)? {
        guard let chain = chainIndex(x: x, y: y) else { return nil }
        return (settings.startUniverse + chain / pixelsPerUniverse, (chain % pixelsPerUniverse) * format.bytesPerPixel)
    }

    /// The pixel and canvas component a (universe, channel) lands on; nil for channels
    /// beyond the used ones or universes outside the map.
    public func pixel(universe: Int, channel: Int) -> (x: Int, y: Int, component: Int)? {
        let u = universe - settings.startUniverse
        guard u >= 0, u < universeCount, channel >= 0 else { return nil }
        let bpp = format.bytesPerPixel
        let inUniverse = channel / bpp
        guard inUniverse < pixelsPerUniverse else { return nil }
        let chain = u * pixelsPerUniverse + inUniverse
        guard let (x, y) = position(chain: chain) else { return nil }
        return (x, y, order.wireToCanvas[channel % bpp])
    }

    /// Channels a universe carries (whole pixels; the last universe may carry fewer).
    public func channelCount(universe: Int) -> Int {
        let u = universe - settings.startUniverse
        guard u >= 0, u < universeCount else { return 0 }
        let first = u * pixelsPerUniverse
        return min(pixelsPerUniverse, width * height - first) * format.bytesPerPixel
    }

    /// `channelCount(universe:)` with the universe counted from 0 along the chain.
    public func channelCount(universeIndex u: Int) -> Int {
        guard u >= 0, u < universeCount else { return 0 }
        return min(pixelsPerUniverse, width * height - u * pixelsPerUniverse) * format.bytesPerPixel
    }

    /// Copies the pixels of one universe (counted from 0 along the chain) from one canvas of
    /// the panel's size to another: one block copy when they lie in one run of the canvas.
    public func copyUniverse(index u: Int, from source: Canvas, to destination: inout Canvas) {
        let total = chainByteCount
        guard u >= 0, u < universeCount, source.bytes.count == total, destination.bytes.count == total else { return }
        let bpp = format.bytesPerPixel
        let firstChain = u * pixelsPerUniverse
        let pixels = min(pixelsPerUniverse, width * height - firstChain)
        source.bytes.withUnsafeBytes { src in
            destination.bytes.withUnsafeMutableBytes { dst in
                guard let s = src.baseAddress, let d = dst.baseAddress else { return }
                if contiguous[u] {
                    let start = Int(chainToCanvasOffset[firstChain])
                    (d + start).copyMemory(from: s + start, byteCount: pixels * bpp)
                    return
                }
                for r in runs[runStart[u]..<runStart[u + 1]] {
                    (d + r.lowest).copyMemory(from: s + r.lowest, byteCount: r.count * bpp)
                }
            }
        }
    }

    /// Writes a universe's slot data into the canvas. Bytes past the used channels are
    /// ignored; a short packet updates only the channels it carries.
    public func apply(universe: Int, data: UnsafeRawBufferPointer, to canvas: inout Canvas) {
        apply(universeIndex: universe - settings.startUniverse, data: data, to: &canvas)
    }

    /// Like `apply(universe:data:to:)`, with the universe counted from 0 along the chain
    /// (for controllers whose ports were re-addressed at run time), and `data` landing from
    /// channel `channelOffset` of the universe on.
    public func apply(universeIndex u: Int, channelOffset: Int = 0, data: UnsafeRawBufferPointer, to canvas: inout Canvas) {
        guard u >= 0, u < universeCount, channelOffset >= 0, canvas.bytes.count == width * height * format.bytesPerPixel else { return }
        let firstChain = u * pixelsPerUniverse
        let count = min(data.count, channelCount(universe: u + settings.startUniverse) - channelOffset)
        guard count > 0 else { return }
        if contiguous[u] {
            let start = Int(chainToCanvasOffset[firstChain]) + channelOffset
            canvas.bytes.withUnsafeMutableBytes { out in
                guard start + count <= out.count, let dst = out.baseAddress, let src = data.baseAddress else { return }
                (dst + start).copyMemory(from: src, byteCount: count)
            }
            return
        }
        guard let src = data.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
        canvas.bytes.withUnsafeMutableBufferPointer { out in
            guard let dst = out.baseAddress else { return }
            walk(universeIndex: u, channels: channelOffset..<(channelOffset + count), pixels: { first, n, lowest, reverse in
                withUnsafePointer(to: reverse ? toCanvas.backward : toCanvas.forward) {
                    panelsim_pixel_copy_run($0, src + (first - channelOffset), dst + lowest, n)
                }
            }, channel: { ch, at in
                dst[at] = src[ch - channelOffset]
            })
        }
    }

    /// Writes channel bytes laid out along the whole chain — pixel 0's components first, in
    /// wire order, with no gaps between universes (DDP, TPM2, TPM2.net) — from chain byte
    /// `start` on. Bytes past the panel are ignored.
    public func apply(chainData data: UnsafeRawBufferPointer, startingAt start: Int = 0, to canvas: inout Canvas) {
        let perUniverse = pixelsPerUniverse * format.bytesPerPixel
        guard start >= 0, perUniverse > 0 else { return }
        if isIdentity {
            // Chain byte k is canvas byte k: one copy of what lies on the panel.
            let n = min(data.count, chainByteCount - start)
            guard n > 0, canvas.bytes.count == chainByteCount, let src = data.baseAddress else { return }
            canvas.bytes.withUnsafeMutableBytes { out in
                if let dst = out.baseAddress { (dst + start).copyMemory(from: src, byteCount: n) }
            }
            return
        }
        var position = start
        var consumed = 0
        while consumed < data.count {
            let u = position / perUniverse
            guard u < universeCount else { return }
            let within = position - u * perUniverse
            let n = min(perUniverse - within, data.count - consumed)
            apply(universeIndex: u, channelOffset: within, data: UnsafeRawBufferPointer(rebasing: data[consumed..<(consumed + n)]), to: &canvas)
            consumed += n
            position += n
        }
    }

    /// Writes a universe's channel data taken from the canvas into `buffer` (replacing its
    /// contents): `channelCount(universe:)` bytes. A universe lying in one run of the canvas
    /// in natural order is one copy; others go pixel by pixel through the chain's offsets.
    /// `buffer` keeps its capacity, so a reused buffer allocates nothing.
    public func extract(universe: Int, from canvas: Canvas, into buffer: inout [UInt8]) {
        buffer.removeAll(keepingCapacity: true)
        let n = channelCount(universe: universe)
        guard n > 0, canvas.bytes.count == chainByteCount else { return }
        buffer.append(contentsOf: repeatElement(0, count: n))
        canvas.bytes.withUnsafeBytes { pixels in
            buffer.withUnsafeMutableBytes { out in _ = extract(universe: universe, from: pixels, to: out) }
        }
    }

    /// Channel bytes along the whole chain: every pixel's components (`width × height ×
    /// bytesPerPixel`), the size of the canvas too.
    public var chainByteCount: Int { width * height * format.bytesPerPixel }

    /// Writes a universe's channel data, taken from `pixels` (a canvas's bytes, `chainByteCount`
    /// of them), to the start of `destination`, with no intermediate buffer (senders extract
    /// straight into their packet). Returns the bytes written: `channelCount(universe:)`, or 0
    /// when the universe is outside the map, `pixels` is not the panel's size or `destination`
    /// is too small.
    public func extract(universe: Int, from pixels: UnsafeRawBufferPointer, to destination: UnsafeMutableRawBufferPointer) -> Int {
        let n = channelCount(universe: universe)
        guard n > 0, n <= destination.count else { return 0 }
        let start = (universe - settings.startUniverse) * pixelsPerUniverse * format.bytesPerPixel
        return extract(chainBytes: start..<(start + n), from: pixels, to: destination)
    }

    /// Writes channel bytes `chainBytes` of the chain laid out as `apply(chainData:)` reads
    /// them (pixel 0's components first, in wire order, no gaps between universes), taken
    /// from `pixels` (a canvas's bytes, `chainByteCount` of them), to the start of
    /// `destination`. The range is cut at the panel's end and at `destination`'s size; returns
    /// the bytes written (0 when `pixels` is not the panel's size).
    public func extract(chainBytes: Range<Int>, from pixels: UnsafeRawBufferPointer, to destination: UnsafeMutableRawBufferPointer) -> Int {
        let total = chainByteCount
        guard pixels.count == total, chainBytes.lowerBound >= 0, chainBytes.lowerBound < total,
              let src = pixels.baseAddress?.assumingMemoryBound(to: UInt8.self),
              let dst = destination.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return 0 }
        let count = min(chainBytes.upperBound, total, chainBytes.lowerBound + destination.count) - chainBytes.lowerBound
        guard count > 0 else { return 0 }
        if isIdentity {
            dst.update(from: src + chainBytes.lowerBound, count: count)
            return count
        }
        let perUniverse = pixelsPerUniverse * format.bytesPerPixel
        var position = chainBytes.lowerBound
        var written = 0
        while written < count {
            let u = position / perUniverse
            let within = position - u * perUniverse
            let n = min(perUniverse - within, count - written)
            let out = dst + written
            if contiguous[u] {
                out.update(from: src + Int(chainToCanvasOffset[u * pixelsPerUniverse]) + within, count: n)
            } else {
                walk(universeIndex: u, channels: within..<(within + n), pixels: { first, pixels, lowest, reverse in
                    withUnsafePointer(to: reverse ? toWire.backward : toWire.forward) {
                        panelsim_pixel_copy_run($0, src + lowest, out + (first - within), pixels)
                    }
                }, channel: { ch, at in
                    out[ch - within] = src[at]
                })
            }
            written += n
            position += n
        }
        return count
    }

    static func position(chain: Int, width: Int, height: Int, settings: MappingSettings) -> (x: Int, y: Int) {
        let row = chain / width
        var col = chain % width
        if settings.layout == .serpentine && row % 2 == 1 { col = width - 1 - col }
        let x = settings.flipHorizontal ? width - 1 - col : col
        let y = settings.flipVertical ? height - 1 - row : row
        return (x, y)
    }
}
