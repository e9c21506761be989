import PanelCore

@testable import PanelDevice

// The frame assembler as it was before staged data went straight into a back canvas (commit
// e3edab3): every universe staged in a buffer of its own and copied onto the canvas at emit.
// FrameAssemblerEquivalenceTests replays random traffic through both and expects the same events.
struct StagingReference {
    let map: ChannelMap
    let settings: FrameSettings
    private(set) var canvas: Canvas
    var universeNumbers: [Int]
    var events: [FrameEvent] = []

    static let silenceLimit = Timestamp(nanoseconds: 2_000_000_000)
    static let minimumTimeout = Timestamp(nanoseconds: 100_000_000)

    enum Slot: Equatable {
        case empty
        case pending
        case held(group: Int)
    }

    private var staged: [UInt8]
    private var stagedLength: [Int]
    private var slot: [Slot]
    private var pendingList: [Int] = []
    private var heldList: [Int] = []
    private var lastHeard: [Timestamp?]
    private var active: [Bool]
    private var excluded: [Bool]
    private var synchronised: [Bool]
    private var completionCount: Int
    private var firstPacket: Timestamp?
    private var pendingSince: Timestamp?
    private var stagedSources: [[FrameSource]]
    private var lastArrival: Timestamp?
    private var lastPendingArrival: Timestamp?
    private var intervalEstimate: Int64 = 0
    private var nextIndex = 1

    init(map: ChannelMap, settings: FrameSettings) {
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

    var timeout: Timestamp {
        if let t = settings.timeout { return t }
        return max(StagingReference.minimumTimeout, Timestamp(nanoseconds: intervalEstimate.multipliedReportingOverflow(by: 2).partialValue))
    }

    var isHolding: Bool { !heldList.isEmpty }

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

    mutating func stage(index i: Int, data: UnsafeRawBufferPointer, sources: [FrameSource], at now: Timestamp,
                               held holdForSync: Bool, syncGroup: Int = 0) {
        guard i >= 0, i < slot.count, !excluded[i] else { return }
        if firstPacket == nil { firstPacket = now }
        // The sender's frame interval: how often the same universe comes back (pauses excluded).
        if let previous = lastHeard[i] {
            let interval = (now - previous).nanoseconds
            if interval > 0 && interval <= StagingReference.silenceLimit.nanoseconds {
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

    mutating func exclude(index i: Int) {
        guard i >= 0, i < slot.count, !excluded[i] else { return }
        setActive(i, false)
        excluded[i] = true
    }

    var gapLimit: Timestamp {
        Timestamp(nanoseconds: max(5_000_000, intervalEstimate / 4 * 3))
    }

    mutating func sync(at now: Timestamp, group: Int = 0) {
        let released = heldList.filter { slot[$0] == .held(group: group) }
        guard !released.isEmpty else { return }
        heldList.removeAll { slot[$0] == .held(group: group) }
        emit(released, at: now, timedOut: false, synchronized: true)
    }

    mutating func releaseHeld(at now: Timestamp) {
        guard !heldList.isEmpty else { return }
        let held = heldList
        heldList.removeAll()
        for i in held { setSynchronised(i, false) }
        emit(held, at: now, timedOut: false, synchronized: false)
    }

    mutating func tick(at now: Timestamp) {
        guard let first = firstPacket, let latest = lastArrival else { return }
        for i in 0..<active.count where active[i] && slot[i] == .empty {
            if latest - (lastHeard[i] ?? first) > StagingReference.silenceLimit { setActive(i, false) }
        }
        guard !pendingList.isEmpty, let since = pendingSince else { return }
        if pendingList.count >= completionCount {
            emitPending(at: now, timedOut: false)
        } else if now - since > timeout {
            emitPending(at: now, timedOut: true)
        }
    }

    mutating func finish(at now: Timestamp) {
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
