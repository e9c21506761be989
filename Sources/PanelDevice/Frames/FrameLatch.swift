import PanelCore

/// The frame bookkeeping of protocols whose sender marks the end of each frame (DDP's PUSH,
/// Colorlight's display packet, TPM2.net's last packet): the sources that contributed, when the
/// pending data began and last came, the sender's interval between frames (for the timeout of
/// data never latched) and the frame numbers. `FrameAssembler` does this for universe protocols.
struct FrameLatch {
    private(set) var pendingSince: Timestamp?
    private(set) var lastData: Timestamp?
    private var sources: [FrameSource] = []
    /// The source of the latest data, already in `sources` (a steady sender is not looked up per packet).
    private var lastSource: PacketSource?
    private var nextIndex = 1
    private var lastLatch: Timestamp?
    /// Smoothed nanoseconds between latches (0 until two have been seen).
    private var interval: Int64 = 0

    /// Data has arrived since the last frame.
    var isPending: Bool { pendingSince != nil }

    /// Data from `source` arrived at `now`.
    mutating func arrived(from source: PacketSource, at now: Timestamp) {
        if source != lastSource {
            let s = FrameSource(source)
            if !sources.contains(s) { sources.append(s) }
            lastSource = source
        }
        if pendingSince == nil { pendingSince = now }
        lastData = now
    }

    /// The configured timeout, else twice the interval between latches, at least
    /// `FrameAssembler.minimumTimeout`.
    func timeout(configured: Timestamp?) -> Timestamp {
        if let t = configured { return t }
        return max(FrameAssembler.minimumTimeout, Timestamp(nanoseconds: interval.multipliedReportingOverflow(by: 2).partialValue))
    }

    /// Pending data has been silent for longer than the timeout.
    func expired(at now: Timestamp, configured: Timestamp?) -> Bool {
        guard isPending, let last = lastData else { return false }
        return now - last > timeout(configured: configured)
    }

    /// The sender latched a frame at `now` (pauses longer than `FrameAssembler.silenceLimit`
    /// do not count as an interval).
    mutating func latched(at now: Timestamp) {
        if let last = lastLatch {
            let gap = (now - last).nanoseconds
            if gap > 0 && gap <= FrameAssembler.silenceLimit.nanoseconds {
                interval = interval == 0 ? gap : (interval / 8) * 7 + gap / 8
            }
        }
        lastLatch = now
    }

    /// The frame event of what is pending, showing `canvas`; the pending state starts over.
    mutating func frame(_ canvas: Canvas, at now: Timestamp, torn: Bool, synchronized: Bool) -> FrameEvent {
        let event = FrameEvent(index: nextIndex, time: now, canvas: canvas, universes: [], sources: sources.sorted(),
                               torn: torn, synchronized: synchronized)
        nextIndex += 1
        sources.removeAll(keepingCapacity: true)
        lastSource = nil
        pendingSince = nil
        return event
    }
}
