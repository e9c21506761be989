import PanelCore

/// What a sender has written along the chain so far (DDP, TPM2.net: data addressed by byte
/// offset), and the showing of it on the canvas when a frame is complete.
///
/// When the map is the identity (the chain is the canvas's bytes), showing a frame swaps the
/// buffer with the canvas instead of copying what changed into it. The buffer then holds the
/// picture before that frame, older than the canvas in the range that frame changed (its stale
/// range). The next frame's writes from the start of the chain on make it current again; stale
/// bytes it does not rewrite are copied from the canvas before the next swap, or before a
/// write leaves a gap past what was rewritten. A frame that changes fewer bytes than that copy
/// would move is copied onto the canvas instead, as with any other map.
struct ChainBuffer {
    private var bytes: [UInt8]
    /// The byte range written since the last frame (empty when lower >= upper).
    private var dirtyLower = Int.max
    private var dirtyUpper = 0
    /// Bytes 0..<writtenPrefix were all written since the last frame.
    private var writtenPrefix = 0
    /// Bytes of `bytes` older than the canvas, which holds them (empty when lower >= upper).
    /// While part of this range lies past `writtenPrefix`, everything written since the last
    /// frame lies inside 0..<writtenPrefix.
    private var staleLower = 0
    private var staleUpper = 0

    init(count: Int) { bytes = [UInt8](repeating: 0, count: count) }

    var count: Int { bytes.count }

    /// The stale bytes not rewritten since the last frame.
    private var staleRest: Range<Int>? {
        let lower = max(staleLower, writtenPrefix)
        return lower < staleUpper ? lower..<staleUpper : nil
    }

    /// Writes `data` from byte `start` on; the caller has cut it to the buffer. `canvas` gives
    /// the picture shown, read only when stale bytes must come from it (a steady sender's
    /// packets do not touch the canvas).
    mutating func write(_ data: UnsafeRawBufferPointer, at start: Int, canvas: () -> Canvas) {
        let end = start + data.count
        guard start >= 0, start < end, end <= bytes.count, let src = data.baseAddress else { return }
        // A gap past the rewritten prefix: the stale bytes come from the canvas first.
        if start > writtenPrefix && staleRest != nil { catchUp(from: canvas()) }
        bytes.withUnsafeMutableBytes { dst in
            if let base = dst.baseAddress { (base + start).copyMemory(from: src, byteCount: data.count) }
        }
        if start <= writtenPrefix { writtenPrefix = max(writtenPrefix, end) }
        dirtyLower = min(dirtyLower, start)
        dirtyUpper = max(dirtyUpper, end)
    }

    /// Shows what was written since the last frame on `canvas`.
    mutating func show(on canvas: inout Canvas, map: ChannelMap) {
        defer {
            dirtyLower = Int.max
            dirtyUpper = 0
            writtenPrefix = 0
        }
        guard dirtyLower < dirtyUpper else { return }
        if map.isIdentity && canvas.bytes.count == bytes.count {
            let rest = staleRest
            if (rest?.count ?? 0) <= dirtyUpper - dirtyLower {
                // The buffer, brought up to date, becomes the picture; the old picture the
                // buffer, stale where this frame changed it.
                if rest != nil { catchUp(from: canvas) }
                swap(&canvas.bytes, &bytes)
                staleLower = dirtyLower
                staleUpper = dirtyUpper
                return
            }
            // Copying what changed is cheaper. Everything written lies in the rewritten prefix
            // (see `staleLower`), which is current now; the rest stays stale.
            if let rest {
                staleLower = rest.lowerBound
                staleUpper = rest.upperBound
            }
        }
        bytes.withUnsafeBytes { all in
            map.apply(chainData: UnsafeRawBufferPointer(rebasing: all[dirtyLower..<dirtyUpper]), startingAt: dirtyLower, to: &canvas)
        }
    }

    /// Copies the stale bytes not rewritten since the last frame from the canvas (which holds
    /// them: the map is the identity while anything is stale).
    private mutating func catchUp(from canvas: Canvas) {
        defer {
            staleLower = 0
            staleUpper = 0
        }
        guard let rest = staleRest, canvas.bytes.count == bytes.count else { return }
        canvas.bytes.withUnsafeBytes { src in
            bytes.withUnsafeMutableBytes { dst in
                guard let s = src.baseAddress, let d = dst.baseAddress else { return }
                (d + rest.lowerBound).copyMemory(from: s + rest.lowerBound, byteCount: rest.count)
            }
        }
    }
}
