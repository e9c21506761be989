import PanelCore

/// How a controller decides when a picture is complete (`frame:` in the config).
public struct FrameSettings: Equatable, Sendable {
    public enum SyncPolicy: String, Sendable, CaseIterable {
        /// Follow the sender: hold data for its sync when it synchronises.
        case auto
        /// Ignore sync packets; frames close by the completion rule only.
        case ignore
    }
    public var sync: SyncPolicy
    /// Fixed timeout for incomplete frames; nil: twice the observed frame interval, at least 100 ms.
    public var timeout: Timestamp?
    /// The most frames a second the controller shows (`max-rate`; a profile's `maxFrameRate`):
    /// a frame completed sooner after the last one shown is not shown (`FrameRateLimitedDevice`).
    /// Nil: every frame.
    public var maxRate: Double?
    public init(sync: SyncPolicy = .auto, timeout: Timestamp? = nil, maxRate: Double? = nil) {
        self.sync = sync; self.timeout = timeout; self.maxRate = maxRate
    }
}

/// The frame rule of DESIGN.md, shared by every device model that carries universes.
///
/// Universes are addressed by index along the chain (0 ..< map.universeCount); the model
/// translates protocol universe numbers. Data is staged per universe and shown when a frame
/// is emitted:
/// - data staged as held waits for the sender's sync of its group (`sync(at:group:)`);
///   universes whose latest data was held are synchronised and not waited for below;
/// - other data forms the pending frame, emitted when every universe of the completion set
///   was updated since the last frame; a universe arriving a second time closes the pending
///   frame first; a universe silent for more than 2 s leaves the completion set until it
///   returns; never-sent slots keep their value;
/// - a pending frame older than the timeout is emitted, marked torn when it changes the picture.
///
/// Staged data is written once, straight into a second canvas (the back canvas) at its pixels.
/// A frame that carries everything staged makes the back canvas the shown one by a swap; only
/// a frame that leaves other staged data behind (another sync group, data held while a
/// pending frame closes) copies its universes across. After a swap the new back canvas lacks
/// the universes of the frame just shown: a packet covering a whole universe overwrites them
/// anyway, and the others are brought up to date from the shown canvas before they are used.
public struct FrameAssembler {
    public let map: ChannelMap
    public let settings: FrameSettings
    /// What the panel shows now.
    public private(set) var canvas: Canvas
    /// Protocol universe number of each index (changes when a port is re-addressed).
    public var universeNumbers: [Int]
    /// Frame events not yet taken.
    public var events: [FrameEvent] = []

    public static let silenceLimit = Timestamp(nanoseconds: 2_000_000_000)
    public static let minimumTimeout = Timestamp(nanoseconds: 100_000_000)

    /// How a universe's latest data waits: not staged, in the pending frame, or held for a sync.
    enum Slot: UInt8 {
        case empty
        case pending
        case held
    }

    /// How a universe's pixels in the back canvas stand against the shown canvas.
    enum Back: UInt8 {
        /// The same.
        case same
        /// Newer: the universe's staged data, not shown yet (its slot is pending or held).
        case ahead
        /// Older: the shown canvas took them from the back canvas at the last swap.
        case behind
    }

    /// What the assembler knows of one universe; every packet reads and writes one of these,
    /// so they are kept together.
    struct Universe {
        /// When the universe was last heard (nanoseconds); `never` before that.
        var lastHeard = Universe.never
        /// The sync group its held data waits for.
        var group = 0
        var slot = Slot.empty
        var back = Back.same
        /// In the completion set (heard within the silence limit).
        var active = true
        /// A universe the controller never shows (a port it does not have): never staged or waited for.
        var excluded = false
        /// Its latest data was held: it follows its sync, not the completion rule.
        var synchronised = false

        static let never = Int64.min
    }

    private var universe: [Universe]
    /// The picture being assembled: what is shown, plus the staged data (see the type's note).
    private var back: Canvas
    /// Universes whose back pixels are behind (set at the last swap; some may be up to date since).
    private var behindList: [Int] = []
    /// Universes whose back pixels are ahead.
    private var aheadCount = 0
    /// Indices in the pending frame, and held for a sync, in arrival order.
    private var pendingList: [Int] = []
    private var heldList: [Int] = []
    /// Active universes that are not synchronised: the completion set's size.
    private var completionCount: Int
    private var firstPacket: Timestamp?
    private var pendingSince: Timestamp?
    /// The sources of each staged universe; merged into the frame's list only at emit.
    private var stagedSources: [[FrameSource]]
    /// The latest packet of any universe, and of the pending frame.
    private var lastArrival: Timestamp?
    private var lastPendingArrival: Timestamp?
    private var intervalEstimate: Int64 = 0
    private var nextIndex = 1

    public init(map: ChannelMap, settings: FrameSettings) {
        self.map = map
        self.settings = settings
        canvas = Canvas(width: map.width, height: map.height, format: map.format)
        back = canvas
        let n = map.universeCount
        universeNumbers = Array(map.universes)
        universe = [Universe](repeating: Universe(), count: n)
        completionCount = n
        stagedSources = [[FrameSource]](repeating: [], count: n)
    }

    /// The timeout now in force for an incomplete frame.
    public var timeout: Timestamp {
        if let t = settings.timeout { return t }
        return max(FrameAssembler.minimumTimeout, Timestamp(nanoseconds: intervalEstimate.multipliedReportingOverflow(by: 2).partialValue))
    }

    /// True while staged data waits for the sender's sync.
    public var isHolding: Bool { !heldList.isEmpty }

    private mutating func setActive(_ i: Int, _ on: Bool) {
        guard universe[i].active != on else { return }
        universe[i].active = on
        if !universe[i].synchronised { completionCount += on ? 1 : -1 }
    }

    private mutating func setSynchronised(_ i: Int, _ on: Bool) {
        guard universe[i].synchronised != on else { return }
        universe[i].synchronised = on
        if universe[i].active { completionCount += on ? -1 : 1 }
    }

    /// Removes the universes held for `group` from the held list and returns them.
    private mutating func takeHeld(group: Int) -> [Int] {
        let state = universe
        let released = heldList.filter { state[$0].slot == .held && state[$0].group == group }
        if released.count == heldList.count {
            heldList.removeAll(keepingCapacity: true)
        } else if !released.isEmpty {
            heldList.removeAll { state[$0].slot == .held && state[$0].group == group }
        }
        return released
    }

    /// Stages one universe's (already merged) slot data. `held`: the sender synchronises,
    /// so the data waits for `sync(at:group:)` of the same `syncGroup` (e.g. the sACN sync address).
    public mutating func stage(index i: Int, data: UnsafeRawBufferPointer, sources: [FrameSource], at now: Timestamp,
                               held holdForSync: Bool, syncGroup: Int = 0) {
        guard i >= 0, i < universe.count, !universe[i].excluded else { return }
        if firstPacket == nil { firstPacket = now }
        // The sender's frame interval: how often the same universe comes back (pauses excluded).
        let previous = universe[i].lastHeard
        if previous != Universe.never {
            let interval = now.nanoseconds.subtractingReportingOverflow(previous)
            if !interval.overflow && interval.partialValue > 0 && interval.partialValue <= FrameAssembler.silenceLimit.nanoseconds {
                intervalEstimate = intervalEstimate == 0 ? interval.partialValue : (intervalEstimate / 8) * 7 + interval.partialValue / 8
            }
        }
        // Data staged before and now replaced without being shown: bytes this packet does not
        // carry must not keep it.
        var discarded = false
        if !holdForSync {
            if universe[i].slot == .held {
                // The sender stopped synchronising: the frame it held for that sync is shown as
                // it stood, without disturbing another sender's pending frame.
                let held = takeHeld(group: universe[i].group)
                for j in held { setSynchronised(j, false) }
                emit(held, at: now, timedOut: false, synchronized: false)
            }
            if universe[i].slot == .pending {
                // The universe arrives a second time: the pending frame closes first.
                emitPending(at: now, timedOut: false)
            } else if !pendingList.isEmpty, let last = lastPendingArrival, now - last > gapLimit {
                // A pause longer than the gap between the sender's frames: a new frame began.
                emitPending(at: last, timedOut: true)
            }
        } else if universe[i].slot == .pending {
            pendingList.removeAll { $0 == i }
            universe[i].slot = .empty
            discarded = true
        }
        // Only now is this universe heard: a frame closed above did not miss it.
        universe[i].lastHeard = now.nanoseconds
        lastArrival = now
        setActive(i, true)
        setSynchronised(i, holdForSync)
        let wasStaged = universe[i].slot != .empty
        write(data, universe: i, discarded: discarded)
        if stagedSources[i] != sources {
            // Staged already: several senders updated this universe within one held frame.
            stagedSources[i] = wasStaged ? Array(Set(stagedSources[i]).union(sources)) : sources
        }
        if holdForSync {
            if !wasStaged { heldList.append(i) }
            universe[i].slot = .held
            universe[i].group = syncGroup
        } else {
            universe[i].slot = .pending
            pendingList.append(i)
            lastPendingArrival = now
            if pendingList.count == 1 { pendingSince = now }
        }
        if !pendingList.isEmpty && pendingList.count >= completionCount {
            emitPending(at: now, timedOut: false)
        }
    }

    /// Writes staged data into the back canvas. A shorter packet updates only the slots it
    /// carries: the others keep what the panel shows, or what was staged before and is still
    /// to be shown.
    private mutating func write(_ data: UnsafeRawBufferPointer, universe i: Int, discarded: Bool) {
        let covers = data.count >= map.channelCount(universeIndex: i)
        switch universe[i].back {
        case .behind:
            if !covers { map.copyUniverse(index: i, from: canvas, to: &back) }
            aheadCount += 1
        case .same:
            aheadCount += 1
        case .ahead:
            if discarded && !covers { map.copyUniverse(index: i, from: canvas, to: &back) }
        }
        universe[i].back = .ahead
        map.apply(universeIndex: i, data: data, to: &back)
    }

    /// A universe the controller never shows (e.g. beyond a legacy node's ports): it leaves the
    /// completion set for good, data staged for it is dropped, and its pixels keep their value.
    public mutating func exclude(index i: Int) {
        guard i >= 0, i < universe.count, !universe[i].excluded else { return }
        setActive(i, false)
        universe[i].excluded = true
    }

    /// Copies the channels of index `i` last staged (or shown, when nothing is staged) into the
    /// start of `buffer`, at most `count` of them: channel k as the latest data that reached it
    /// left it (staging never clears a channel; slots past the map's channels are not kept). A
    /// model that stages a lone sender's packets as they are reads that sender's data back here
    /// instead of keeping its own copy of every packet.
    func copyStaged(index i: Int, count: Int, into buffer: inout [UInt8]) {
        guard i >= 0, i < universe.count, count > 0 else { return }
        let start = i * map.pixelsPerUniverse * map.format.bytesPerPixel
        let end = start + min(count, map.channelCount(universeIndex: i))
        let pixels = universe[i].back == .behind ? canvas : back
        pixels.bytes.withUnsafeBytes { px in
            buffer.withUnsafeMutableBytes { dst in _ = map.extract(chainBytes: start..<end, from: px, to: dst) }
        }
    }

    /// The longest pause inside one of the sender's frames: three quarters of its frame
    /// interval, and never less than 5 ms (senders send a frame's universes back to back; a
    /// shorter hiccup of a busy sender is not a new frame).
    var gapLimit: Timestamp {
        Timestamp(nanoseconds: max(5_000_000, intervalEstimate / 4 * 3))
    }

    /// The sender's sync arrived: output everything held for this sync group; data held for
    /// other groups keeps waiting.
    public mutating func sync(at now: Timestamp, group: Int = 0) {
        let released = takeHeld(group: group)
        guard !released.isEmpty else { return }
        emit(released, at: now, timedOut: false, synchronized: true)
    }

    /// Held data stops waiting for a sync (sync lost, or sync no longer honoured): the frame
    /// it makes is shown as it stood, and later data follows the completion rule.
    public mutating func releaseHeld(at now: Timestamp) {
        guard !heldList.isEmpty else { return }
        let held = heldList
        heldList.removeAll()
        for i in held { setSynchronised(i, false) }
        emit(held, at: now, timedOut: false, synchronized: false)
    }

    /// Ages the completion set and closes a frame whose timeout ran out. A universe leaves the
    /// set after 2 s of silence while others are still heard; when the whole panel goes quiet
    /// (the sender paused) the set stays, so the next frame is waited for whole.
    public mutating func tick(at now: Timestamp) {
        guard let first = firstPacket, let latest = lastArrival else { return }
        for i in universe.indices where universe[i].active && universe[i].slot == .empty {
            let heard = universe[i].lastHeard == Universe.never ? first : Timestamp(nanoseconds: universe[i].lastHeard)
            if latest - heard > FrameAssembler.silenceLimit { setActive(i, false) }
        }
        guard !pendingList.isEmpty, let since = pendingSince else { return }
        if pendingList.count >= completionCount {
            emitPending(at: now, timedOut: false)
        } else if now - since > timeout {
            emitPending(at: now, timedOut: true)
        }
    }

    /// At stop: a pending incomplete frame is emitted (torn if it changes the picture); data
    /// held for a sync that never came is not shown (the panel never showed it).
    public mutating func finish(at now: Timestamp) {
        guard !pendingList.isEmpty else { return }
        emitPending(at: now, timedOut: pendingList.count < completionCount)
    }

    private mutating func emitPending(at now: Timestamp, timedOut: Bool) {
        let list = pendingList
        pendingList.removeAll(keepingCapacity: true)
        pendingSince = nil
        emit(list, at: now, timedOut: timedOut, synchronized: false)
    }

    private mutating func emit(_ list: [Int], at now: Timestamp, timedOut: Bool, synchronized: Bool) {
        // An incomplete frame is torn when a universe the sender has sent before is missing and
        // the frame changes the picture: a mix of old and new on the panel. Universes never
        // heard (a capture that starts mid-frame, a panel larger than what is sent) and
        // keep-alive resends of unchanged universes tear nothing.
        var missing = false
        if timedOut {
            for u in universe where u.active && !u.synchronised && u.slot != .pending && u.lastHeard != Universe.never {
                missing = true
                break
            }
        }
        let torn: Bool
        if aheadCount == list.count {
            // Everything staged is in this frame: the back canvas, brought up to date where it
            // is behind, becomes the shown one.
            for j in behindList where universe[j].back == .behind {
                map.copyUniverse(index: j, from: canvas, to: &back)
                universe[j].back = .same
            }
            behindList.removeAll(keepingCapacity: true)
            torn = missing && back != canvas
            swap(&canvas, &back)
            for i in list { universe[i].back = .behind }
            behindList.append(contentsOf: list)
            aheadCount = 0
        } else {
            let before = missing ? canvas : nil
            for i in list {
                map.copyUniverse(index: i, from: back, to: &canvas)
                universe[i].back = .same
            }
            aheadCount -= list.count
            torn = missing && before != canvas
        }
        var numbers: [Int] = []
        numbers.reserveCapacity(list.count)
        var frameSources: [FrameSource] = []
        // Universes of one sender share one source list: merged once, then recognised by identity.
        var merged: [FrameSource] = []
        for i in list {
            universe[i].slot = .empty
            numbers.append(universeNumbers[i])
            if merged != stagedSources[i] {
                for src in stagedSources[i] where !frameSources.contains(src) { frameSources.append(src) }
                merged = stagedSources[i]
            }
        }
        numbers.sort()
        events.append(FrameEvent(index: nextIndex, time: now, canvas: canvas, universes: numbers,
                                 sources: frameSources.sorted(), torn: torn, synchronized: synchronized))
        nextIndex += 1
    }
}
