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
/// - on the sender's sync (`sync(at:)`), for data staged as held;
/// - otherwise when every universe of the completion set was updated since the last frame;
///   a universe arriving a second time closes the pending frame first; a universe silent for
///   more than 2 s leaves the completion set until it returns; never-sent slots keep their value;
/// - an incomplete frame older than the timeout is emitted torn.
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

    private var staged: [UInt8]
    private var stagedLength: [Int]
    private var isStaged: [Bool]
    private var stagedList: [Int] = []
    private var lastHeard: [Timestamp?]
    private var active: [Bool]
    private var activeCount: Int
    private var firstPacket: Timestamp?
    private var pendingSince: Timestamp?
    private var held = false
    /// The sources of each staged universe; merged into the frame's list only at emit.
    private var stagedSources: [[FrameSource]]
    /// The sync group each staged universe waits for.
    private var stagedGroup: [Int]
    private var lastFrameStart: Timestamp?
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
        isStaged = [Bool](repeating: false, count: n)
        lastHeard = [Timestamp?](repeating: nil, count: n)
        active = [Bool](repeating: true, count: n)
        activeCount = n
        stagedSources = [[FrameSource]](repeating: [], count: n)
        stagedGroup = [Int](repeating: 0, count: n)
    }

    /// The timeout now in force for an incomplete frame.
    public var timeout: Timestamp {
        if let t = settings.timeout { return t }
        return max(FrameAssembler.minimumTimeout, Timestamp(nanoseconds: intervalEstimate.multipliedReportingOverflow(by: 2).partialValue))
    }

    /// True while staged data waits for the sender's sync.
    public var isHolding: Bool { held && !stagedList.isEmpty }

    /// Stages one universe's (already merged) slot data. `held`: the sender synchronises,
    /// so the data waits for `sync(at:group:)` of the same `syncGroup` (e.g. the sACN sync address).
    public mutating func stage(index i: Int, data: UnsafeRawBufferPointer, sources: [FrameSource], at now: Timestamp,
                               held holdForSync: Bool, syncGroup: Int = 0) {
        guard i >= 0, i < isStaged.count else { return }
        if firstPacket == nil { firstPacket = now }
        lastHeard[i] = now
        if !active[i] { active[i] = true; activeCount += 1 }
        if held && !holdForSync && !stagedList.isEmpty {
            // The sender stopped synchronising: held data becomes an ordinary pending frame.
            held = false
            pendingSince = now
        }
        if !holdForSync && isStaged[i] {
            emit(at: now, torn: false, synchronized: false)
        }
        let wasStaged = isStaged[i]
        stagedGroup[i] = syncGroup
        let n = min(data.count, 512)
        staged.withUnsafeMutableBytes { dst in
            if n > 0, let base = dst.baseAddress, let src = data.baseAddress {
                (base + i * 512).copyMemory(from: src, byteCount: n)
            }
        }
        // A shorter packet updates only the slots it carries.
        stagedLength[i] = isStaged[i] ? max(stagedLength[i], n) : n
        if !isStaged[i] {
            isStaged[i] = true
            stagedList.append(i)
        }
        if wasStaged && stagedSources[i] != sources {
            // Several senders updated this universe within one (held) frame.
            stagedSources[i] = Array(Set(stagedSources[i]).union(sources))
        } else {
            stagedSources[i] = sources
        }
        if stagedList.count == 1 {
            startFrame(at: now)
        }
        held = holdForSync
        if !holdForSync && stagedList.count >= activeCount {
            emit(at: now, torn: false, synchronized: false)
        }
    }

    /// The sender's sync arrived: output everything staged for this sync group; data
    /// staged for other groups keeps waiting.
    public mutating func sync(at now: Timestamp, group: Int = 0) {
        guard !stagedList.isEmpty else { return }
        let waiting = stagedList.filter { stagedGroup[$0] != group }
        guard waiting.count < stagedList.count else { return }
        stagedList.removeAll { stagedGroup[$0] != group }
        let since = pendingSince
        emit(at: now, torn: false, synchronized: true)
        if !waiting.isEmpty {
            stagedList = waiting
            held = true
            pendingSince = since
        }
    }

    /// Held data stops waiting for a sync (sync lost, or sync no longer honoured): it becomes
    /// an ordinary pending frame, closed by the completion rule or the timeout.
    public mutating func releaseHeld(at now: Timestamp? = nil) {
        guard held else { return }
        held = false
        if let t = now, !stagedList.isEmpty { pendingSince = t }
    }

    /// Ages the completion set and closes a frame whose timeout ran out.
    public mutating func tick(at now: Timestamp) {
        guard let first = firstPacket else { return }
        for i in 0..<active.count where active[i] {
            let since = lastHeard[i] ?? first
            if now - since > FrameAssembler.silenceLimit && !isStaged[i] {
                active[i] = false
                activeCount -= 1
            }
        }
        guard !held, !stagedList.isEmpty, let since = pendingSince else { return }
        if stagedList.count >= activeCount {
            emit(at: now, torn: false, synchronized: false)
        } else if now - since > timeout {
            emit(at: now, torn: true, synchronized: false)
        }
    }

    /// At stop: a pending incomplete frame is emitted torn; data held for a sync that never
    /// came is not shown (the panel never showed it).
    public mutating func finish(at now: Timestamp) {
        guard !stagedList.isEmpty, !held else { return }
        emit(at: now, torn: stagedList.count < activeCount, synchronized: false)
    }

    private mutating func startFrame(at now: Timestamp) {
        pendingSince = now
        if let last = lastFrameStart {
            let interval = (now - last).nanoseconds
            if interval > 0 {
                intervalEstimate = intervalEstimate == 0 ? interval : (intervalEstimate / 8) * 7 + interval / 8
            }
        }
        lastFrameStart = now
    }

    private mutating func emit(at now: Timestamp, torn incomplete: Bool, synchronized: Bool) {
        // An incomplete frame is torn only if it changes the picture: a keep-alive resend of
        // unchanged universes leaves no mix of old and new on the panel.
        let before = incomplete ? canvas : nil
        var numbers: [Int] = []
        numbers.reserveCapacity(stagedList.count)
        var frameSources: [FrameSource] = []
        staged.withUnsafeBytes { all in
            for i in stagedList {
                let view = UnsafeRawBufferPointer(rebasing: all[(i * 512)..<(i * 512 + stagedLength[i])])
                map.apply(universeIndex: i, data: view, to: &canvas)
                isStaged[i] = false
                numbers.append(universeNumbers[i])
                if frameSources != stagedSources[i] {
                    for src in stagedSources[i] where !frameSources.contains(src) { frameSources.append(src) }
                }
            }
        }
        stagedList.removeAll(keepingCapacity: true)
        numbers.sort()
        let torn = incomplete && before != canvas
        events.append(FrameEvent(index: nextIndex, time: now, canvas: canvas, universes: numbers,
                                 sources: frameSources.sorted(), torn: torn, synchronized: synchronized))
        nextIndex += 1
        pendingSince = nil
        held = false
    }
}
