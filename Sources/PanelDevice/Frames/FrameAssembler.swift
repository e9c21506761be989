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
    public init(sync: SyncPolicy = .auto, timeout: Timestamp? = nil) { self.sync = sync; self.timeout = timeout }
}

/// The frame rule of DESIGN.md, shared by every device model that carries universes.
///
/// Universes are addressed by index along the chain (0 ..< map.universeCount); the model
/// translates protocol universe numbers. Data is staged per universe and applied to the
/// canvas when a frame is emitted:
/// - data staged as held waits for the sender's sync of its group (`sync(at:group:)`);
///   universes whose latest data was held are synchronised and not waited for below;
/// - other data forms the pending frame, emitted when every universe of the completion set
///   was updated since the last frame; a universe arriving a second time closes the pending
///   frame first; a universe silent for more than 2 s leaves the completion set until it
///   returns; never-sent slots keep their value;
/// - a pending frame older than the timeout is emitted, marked torn when it changes the picture.
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
    enum Slot: Equatable {
        case empty
        case pending
        case held(group: Int)
    }

    private var staged: [UInt8]
    private var stagedLength: [Int]
    private var slot: [Slot]
    /// Indices in the pending frame, and held for a sync, in arrival order.
    private var pendingList: [Int] = []
    private var heldList: [Int] = []
    private var lastHeard: [Timestamp?]
    private var active: [Bool]
    /// Universes the controller never shows (a port it does not have): never staged or waited for.
    private var excluded: [Bool]
    /// The latest data of the universe was held: it follows its sync, not the completion rule.
    private var synchronised: [Bool]
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
        let n = map.universeCount
        universeNumbers = Array(map.universes)
        staged = [UInt8](repeating: 0, count: n * 512)
        stagedLength = [Int](repeating: 0, count: n)
        slot = [Slot](repeating: .empty, count: n)
        lastHeard = [Timestamp?](repeating: nil, count: n)
        active = [Bool](repeating: true, count: n)
        excluded = [Bool](repeating: false, count: n)
        synchronised = [Bool](repeating: false, count: n)
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
        guard active[i] != on else { return }
        active[i] = on
        if !synchronised[i] { completionCount += on ? 1 : -1 }
    }

    private mutating func setSynchronised(_ i: Int, _ on: Bool) {
        guard synchronised[i] != on else { return }
        synchronised[i] = on
        if active[i] { completionCount += on ? -1 : 1 }
    }

    /// Stages one universe's (already merged) slot data. `held`: the sender synchronises,
    /// so the data waits for `sync(at:group:)` of the same `syncGroup` (e.g. the sACN sync address).
    public mutating func stage(index i: Int, data: UnsafeRawBufferPointer, sources: [FrameSource], at now: Timestamp,
                               held holdForSync: Bool, syncGroup: Int = 0) {
        guard i >= 0, i < slot.count, !excluded[i] else { return }
        if firstPacket == nil { firstPacket = now }
        // The sender's frame interval: how often the same universe comes back (pauses excluded).
        if let previous = lastHeard[i] {
            let interval = (now - previous).nanoseconds
            if interval > 0 && interval <= FrameAssembler.silenceLimit.nanoseconds {
                intervalEstimate = intervalEstimate == 0 ? interval : (intervalEstimate / 8) * 7 + interval / 8
            }
        }
        if !holdForSync {
            if case .held(let group) = slot[i] {
                // The sender stopped synchronising: the frame it held for that sync is shown as
                // it stood, without disturbing another sender's pending frame.
                let held = heldList.filter { slot[$0] == .held(group: group) }
                heldList.removeAll { slot[$0] == .held(group: group) }
                for j in held { setSynchronised(j, false) }
                emit(held, at: now, timedOut: false, synchronized: false)
            }
            if slot[i] == .pending {
                // The universe arrives a second time: the pending frame closes first.
                emitPending(at: now, timedOut: false)
            } else if !pendingList.isEmpty, let last = lastPendingArrival, now - last > gapLimit {
                // A pause longer than the gap between the sender's frames: a new frame began.
                emitPending(at: last, timedOut: true)
            }
        } else if slot[i] == .pending {
            pendingList.removeAll { $0 == i }
            slot[i] = .empty
        }
        // Only now is this universe heard: a frame closed above did not miss it.
        lastHeard[i] = now
        lastArrival = now
        setActive(i, true)
        setSynchronised(i, holdForSync)
        let wasStaged = slot[i] != .empty
        let n = min(data.count, 512)
        staged.withUnsafeMutableBytes { dst in
            if n > 0, let base = dst.baseAddress, let src = data.baseAddress {
                (base + i * 512).copyMemory(from: src, byteCount: n)
            }
        }
        // A shorter packet updates only the slots it carries.
        stagedLength[i] = wasStaged ? max(stagedLength[i], n) : n
        if wasStaged && stagedSources[i] != sources {
            // Several senders updated this universe within one held frame.
            stagedSources[i] = Array(Set(stagedSources[i]).union(sources))
        } else if !wasStaged || stagedSources[i] != sources {
            stagedSources[i] = sources
        }
        if holdForSync {
            if !wasStaged { heldList.append(i) }
            slot[i] = .held(group: syncGroup)
        } else {
            slot[i] = .pending
            pendingList.append(i)
            lastPendingArrival = now
            if pendingList.count == 1 { pendingSince = now }
        }
        if !pendingList.isEmpty && pendingList.count >= completionCount {
            emitPending(at: now, timedOut: false)
        }
    }

    /// A universe the controller never shows (e.g. beyond a legacy node's ports): it leaves the
    /// completion set for good, data staged for it is dropped, and its pixels keep their value.
    public mutating func exclude(index i: Int) {
        guard i >= 0, i < slot.count, !excluded[i] else { return }
        setActive(i, false)
        excluded[i] = true
    }

    /// Copies the first `count` bytes last staged for index `i` into the start of `buffer`:
    /// each byte as the latest data that reached it left it (staging never clears a byte). A
    /// model that stages a lone sender's packets as they are reads that sender's data back
    /// here instead of keeping its own copy of every packet.
    func copyStaged(index i: Int, count: Int, into buffer: inout [UInt8]) {
        let n = min(count, 512, buffer.count)
        guard i >= 0, i < slot.count, n > 0 else { return }
        staged.withUnsafeBytes { src in
            buffer.withUnsafeMutableBytes { dst in
                guard let s = src.baseAddress, let d = dst.baseAddress else { return }
                d.copyMemory(from: s + i * 512, byteCount: n)
            }
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
        let released = heldList.filter { slot[$0] == .held(group: group) }
        guard !released.isEmpty else { return }
        heldList.removeAll { slot[$0] == .held(group: group) }
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
        for i in 0..<active.count where active[i] && slot[i] == .empty {
            if latest - (lastHeard[i] ?? first) > FrameAssembler.silenceLimit { setActive(i, false) }
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
            for i in 0..<active.count where active[i] && !synchronised[i] && slot[i] != .pending && lastHeard[i] != nil {
                missing = true
                break
            }
        }
        let before = missing ? canvas : nil
        var numbers: [Int] = []
        numbers.reserveCapacity(list.count)
        var frameSources: [FrameSource] = []
        // Universes of one sender share one source list: merged once, then recognised by identity.
        var merged: [FrameSource] = []
        staged.withUnsafeBytes { all in
            for i in list {
                let view = UnsafeRawBufferPointer(rebasing: all[(i * 512)..<(i * 512 + stagedLength[i])])
                map.apply(universeIndex: i, data: view, to: &canvas)
                slot[i] = .empty
                numbers.append(universeNumbers[i])
                if merged != stagedSources[i] {
                    for src in stagedSources[i] where !frameSources.contains(src) { frameSources.append(src) }
                    merged = stagedSources[i]
                }
            }
        }
        numbers.sort()
        let torn = missing && before != canvas
        events.append(FrameEvent(index: nextIndex, time: now, canvas: canvas, universes: numbers,
                                 sources: frameSources.sorted(), torn: torn, synchronized: synchronized))
        nextIndex += 1
    }
}
