import PanelCore

/// What a sender has written along the chain so far (DDP, TPM2.net: data addressed by byte
/// offset), and the showing of it on the canvas when a frame is complete.
///
/// When a frame rewrites the whole chain in order and the map is the identity (the chain is
/// the canvas's bytes), showing it swaps the buffer with the canvas instead of copying it. The
/// buffer then holds the picture before that frame; until the next frame has rewritten it from
/// its start, the bytes past what it rewrote are read from the canvas, which holds them.
struct ChainBuffer {
    private var bytes: [UInt8]
    /// The byte range written since the last frame (empty when lower >= upper).
    private var dirtyLower = Int.max
    private var dirtyUpper = 0
    /// Bytes 0..<writtenPrefix were all written since the last frame.
    private var writtenPrefix = 0
    /// `bytes` holds the picture before the last frame: only 0..<writtenPrefix is current,
    /// the canvas holds the rest.
    private var behind = false

    init(count: Int) { bytes = [UInt8](repeating: 0, count: count) }

    var count: Int { bytes.count }

    /// Writes `data` from byte `start` on; the caller has cut it to the buffer.
    mutating func write(_ data: UnsafeRawBufferPointer, at start: Int, canvas: Canvas) {
        let end = start + data.count
        guard start >= 0, start < end, end <= bytes.count, let src = data.baseAddress else { return }
        if behind && start > writtenPrefix { catchUp(from: canvas) }
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
        if map.isIdentity && writtenPrefix == bytes.count && canvas.bytes.count == bytes.count {
            // The whole chain was rewritten: it becomes the picture, the old picture the buffer.
            swap(&canvas.bytes, &bytes)
            behind = true
            return
        }
        if behind { catchUp(from: canvas) }
        bytes.withUnsafeBytes { all in
            map.apply(chainData: UnsafeRawBufferPointer(rebasing: all[dirtyLower..<dirtyUpper]), startingAt: dirtyLower, to: &canvas)
        }
    }

    /// Brings the bytes past the rewritten prefix up to date from the canvas (which holds them
    /// while `behind`: the map is the identity then).
    private mutating func catchUp(from canvas: Canvas) {
        behind = false
        let from = writtenPrefix, n = bytes.count - writtenPrefix
        guard n > 0, canvas.bytes.count == bytes.count else { return }
        canvas.bytes.withUnsafeBytes { src in
            bytes.withUnsafeMutableBytes { dst in
                guard let s = src.baseAddress, let d = dst.baseAddress else { return }
                (d + from).copyMemory(from: s + from, byteCount: n)
            }
        }
    }
}
