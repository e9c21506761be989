import PanelCore
import PanelWire

/// Settings of an emulated sACN (E1.31) receiver.
public struct E131ReceiverSettings: Sendable {
    public var name: String
    public var map: ChannelMap
    public var frame: FrameSettings
    /// Merge equal-priority sources HTP instead of reporting them as a conflict only.
    public var mergeEqualPriority: Bool
    public var strict: Bool
    /// Per-address priority (start code 0xDD) decides which source drives each slot.
    public var perAddressPriority: Bool

    public init(name: String, map: ChannelMap, frame: FrameSettings = FrameSettings(), mergeEqualPriority: Bool = false, strict: Bool = false,
                perAddressPriority: Bool = false) {
        self.name = name
        self.map = map
        self.frame = frame
        self.mergeEqualPriority = mergeEqualPriority
        self.strict = strict
        self.perAddressPriority = perAddressPriority
    }
}

/// An emulated E1.31-2018 receiver.
///
/// Highest priority wins; equal priority from two sources is a conflict (counted and
/// reported; the first source keeps the panel unless HTP merge is on). Packets not newer
/// than the last (window −20) are dropped; a source is lost after 2.5 s; the first
/// stream-terminated packet ends the source and its data is ignored; preview data is
/// ignored; non-zero START codes are not level data. Once a sync packet has arrived on an
/// address, data naming that address is held for the next sync packet there (before that it
/// is shown at once); when sync stops for 2.5 s, Force_Synchronization 0 keeps holding and 1
/// reverts to immediate output. Universe discovery is listened to (bounded).
///
/// With `perAddressPriority`, a source's 0xDD packets give each slot its own priority, as
/// ETC's sACN library and OLA merge them: per slot, the highest priority among the sources
/// driving it wins (equal priorities merge HTP); 0xDD priority 0, or a slot beyond the 0xDD
/// packet, means the source does not drive that slot; a source without 0xDD drives its slots at
/// its packet priority; a slot no source drives goes to 0. A source's 0xDD lapses after 2.5 s
/// without one (its packet priority applies again). Priorities take effect with the next
/// level data of the universe.
public final class E131Receiver: DeviceModel {
    public static let sourceTimeout = Timestamp(nanoseconds: 2_500_000_000)
    public static let maxSourcesPerUniverse = 16
    /// Alternate start codes already reported as a finding (once each).
    private var startCodesReported: Set<UInt8> = []
    /// Sources whose per-address priority lapsed, already reported (bounded).
    private var papLapseReported: Set<CID> = []
    static let startCodeEvents = (0...255).map { "start-code-\(Text.hexByte(UInt8($0)))-not-level-data" }
    /// Sync addresses tracked at most.
    public static let maxSyncAddresses = 64
    /// Discovery: sources and pages per source kept at most.
    public static let maxDiscoveredSources = 64
    public static let maxDiscoveryPages = 16
    public static let discoveryTimeout = Timestamp(nanoseconds: 30_000_000_000)

    public var name: String { settings.name }
    public let settings: E131ReceiverSettings
    public var counters: DeviceCounters {
        var c = records.counters
        if dataPackets > 0 { c.events["data"] = dataPackets }
        return c
    }
    @exclusivity(unchecked) private var records = DeviceRecords()
    @exclusivity(unchecked) private var dataPackets = 0  // (see the note on `universeState`)
    public var findings: [DeviceFinding] { records.findings.items }
    public var malformedPackets: [MalformedPacket] { records.malformed.items }
    public var universes: [Int] { Array(settings.map.universes) }
    /// Sync addresses in use and the universe discovery group: joined even when data arrives unicast.
    public var multicastGroups: Set<String> {
        var groups: Set<String> = [E131.multicastGroup(universe: E131.discoveryUniverse)]
        for a in syncState.keys { groups.insert(E131.multicastGroup(universe: a)) }
        return groups
    }
    /// The universes' own groups, joined when the controller receives multicast data.
    public var dataMulticastGroups: Set<String> {
        Set(settings.map.universes.compactMap { u in UInt16(exactly: u).map { E131.multicastGroup(universe: $0) } })
    }
    public private(set) var multicastGeneration = 0
    /// Sources heard in universe discovery: CID → (name, universes).
    public var discovered: [String: DiscoveredSource] {
        discoveryPages.reduce(into: [:]) { out, entry in
            let universes = Set(entry.value.values.joined()).sorted()
            out[entry.key] = DiscoveredSource(name: discoveryNames[entry.key] ?? "", universes: universes)
        }
    }
    private var discoveryPages: [String: [UInt8: [Int]]] = [:]
    private var discoveryNames: [String: String] = [:]
    private var discoverySeen: [String: Timestamp] = [:]

    public struct DiscoveredSource: Sendable, Codable, Equatable {
        public var name: String
        public var universes: [Int]
    }

    struct Source {
        var cid: CID
        var address: PacketSource
        var name: String
        var priority: UInt8
        var lastSeen: Timestamp
        var sequence: UInt8?
        /// The source's slots, for HTP merging. While it is a universe's only source its packets
        /// go to the assembler as they are and are not copied here: the first `unsynced` bytes
        /// are then the assembler's; empty (no allocation) until a second source joins, unless
        /// per-address priority is on.
        var data: [UInt8]
        var unsynced = 0
        var length: Int
        /// Per-address priorities (start code 0xDD): allocated on the first one, `papLength` slots.
        var pap: [UInt8] = []
        var papLength = 0
        var papSeen: Timestamp?
        /// How frame events name this source (refreshed when its name or address changes).
        var frameSource: FrameSource { didSet { alone = [frameSource] } }
        /// `[frameSource]`, kept so that a packet does not allocate it.
        private(set) var alone: [FrameSource]

        /// Takes `list` as `alone` when it names this source the same way: the universes of one
        /// sender then share one array, which the assembler recognises by identity when it
        /// gathers a frame's sources (instead of comparing CIDs and names universe by universe).
        mutating func share(_ list: [FrameSource]) {
            if list == alone { alone = list }
        }

        init(cid: CID, address: PacketSource, name: String, priority: UInt8, lastSeen: Timestamp, sequence: UInt8?,
             data: [UInt8], length: Int, frameSource: FrameSource) {
            self.cid = cid; self.address = address; self.name = name; self.priority = priority; self.lastSeen = lastSeen
            self.sequence = sequence; self.data = data; self.length = length; self.frameSource = frameSource
            alone = [frameSource]
        }
    }

    struct Universe {
        var sources: [Source] = []
        var winner: CID?
        var inConflict = false
        /// Allocated on the first HTP merge.
        var mergeBuffer: [UInt8] = []
    }

    struct SyncState {
        var lastSync: Timestamp?
        var firstUse: Timestamp
        var lossReported = false
    }

    // The state below changes on every packet. The model is confined to one thread and its
    // methods never re-enter one another, so the runtime's exclusivity checks on these class
    // properties (measured at 10–17 % of offline replay) are switched off for them alone.
    @exclusivity(unchecked) private var universeState: [Universe]
    @exclusivity(unchecked) private var syncState: [UInt16: SyncState] = [:]
    @exclusivity(unchecked) private var assembler: FrameAssembler
    /// The list a source added or moved last was given as `alone` (see `shareFrameSources`).
    private var lastAlone: [FrameSource] = []

    public init(settings: E131ReceiverSettings) {
        self.settings = settings
        assembler = FrameAssembler(map: settings.map, settings: settings.frame)
        universeState = Array(repeating: Universe(), count: settings.map.universeCount)
    }

    public var canvas: Canvas { assembler.canvas }

    public func receive(_ datagram: UnsafeRawBufferPointer, from source: PacketSource, at time: Timestamp) {
        guard let message = records.decode(datagram, from: source, at: time, E131Decoder.decode) else { return }
        switch message {
        case .data(let d):
            dataPackets += 1
            if noteViolations(d.violations) { return }
            handleData(d, from: source, at: time)
        case .sync(let s):
            records.counters.count("sync")
            if noteViolations(s.violations) { return }
            handleSync(s, at: time)
        case .discovery(let d):
            records.counters.count("discovery")
            _ = noteViolations(d.violations)
            if settings.strict && !d.violations.isEmpty { break }
            let key = d.cid.description
            // Sources announce every 10 s: one silent for 30 s has gone.
            for (k, seen) in discoverySeen where time - seen > E131Receiver.discoveryTimeout {
                discoveryPages[k] = nil
                discoveryNames[k] = nil
                discoverySeen[k] = nil
            }
            if discoveryPages[key] == nil && discoveryPages.count >= E131Receiver.maxDiscoveredSources {
                records.counters.count("discovery-source-limit")
            } else if d.page >= E131Receiver.maxDiscoveryPages {
                records.counters.count("discovery-page-limit")
            } else {
                // Each page replaces what that page said before; pages past the last are gone.
                var pages = discoveryPages[key, default: [:]]
                pages[d.page] = d.universes.map { Int($0) }
                pages = pages.filter { $0.key <= d.lastPage }
                discoveryPages[key] = pages
                discoveryNames[key] = d.sourceName
                discoverySeen[key] = time
            }
        }
        collectFrames()
    }

    private func noteViolations(_ v: E131Violations) -> Bool {
        v.isEmpty ? false : records.violations(v.ruleIDs, strict: settings.strict)
    }

    private func handleData(_ d: E131Data, from address: PacketSource, at now: Timestamp) {
        if d.options.contains(.preview) {
            records.counters.count("preview-ignored")
            return
        }
        // The map's universes are consecutive from its start universe.
        let ui = Int(d.universe) - settings.map.settings.startUniverse
        guard ui >= 0, ui < universeState.count else {
            records.counters.count("universe-not-mapped")
            return
        }
        if universeState[ui].sources.count == 1 && !settings.perAddressPriority && d.startCode == 0 && !d.options.contains(.streamTerminated) {
            if universeState[ui].sources[0].cid == d.cid && universeState[ui].sources[0].address == address
                && now - universeState[ui].sources[0].lastSeen <= E131Receiver.sourceTimeout {
                handleLoneSource(d, universe: ui, at: now)
                return
            }
        }
        expireSources(ui, at: now)
        // Take the universe out while working on it, so its buffers are not copied per packet.
        var u = universeState[ui]
        universeState[ui] = Universe()
        defer { universeState[ui] = u }
        var si = u.sources.firstIndex { $0.cid == d.cid }
        if let i = si {
            guard records.countSequence(SequenceRule.e131.judge(last: u.sources[i].sequence, new: d.sequence)) else { return }
        }
        if d.options.contains(.streamTerminated) {
            records.counters.count("stream-terminated")
            if let i = si {
                records.find("stream-terminated", universe: Int(d.universe), at: now, "sACN source \"\(u.sources[i].name)\" (\(address)) ended universe \(d.universe) (stream terminated)")
                u.sources.remove(at: i)
                if u.winner == d.cid { u.winner = nil }
                updateConflict(&u, universe: d.universe, at: now)
            }
            return
        }
        if si == nil {
            guard u.sources.count < E131Receiver.maxSourcesPerUniverse else {
                records.counters.count("too-many-sources")
                return
            }
            let name = d.sourceName
            // The universe's lone source (if any) stops being lone: its data is needed for merging.
            for s in u.sources.indices {
                if u.sources[s].data.isEmpty { u.sources[s].data = [UInt8](repeating: 0, count: 512) }
                guard u.sources[s].unsynced > 0 else { continue }
                assembler.copyStaged(index: ui, count: u.sources[s].unsynced, into: &u.sources[s].data)
                u.sources[s].unsynced = 0
            }
            // A lone source keeps no copy of its slots unless per-address priority merges them.
            let data = u.sources.isEmpty && !settings.perAddressPriority ? [] : [UInt8](repeating: 0, count: 512)
            u.sources.append(Source(cid: d.cid, address: address, name: name, priority: d.priority, lastSeen: now,
                                    sequence: nil, data: data, length: 0,
                                    frameSource: FrameSource(address: address.address, port: address.port, name: name, cid: d.cid.description)))
            si = u.sources.count - 1
            shareFrameSources(&u.sources[u.sources.count - 1])
            records.counters.count("source-added")
        }
        guard let i = si else { return }
        u.sources[i].sequence = d.sequence
        u.sources[i].lastSeen = now
        if u.sources[i].address != address {
            u.sources[i].address = address
            u.sources[i].frameSource = FrameSource(address: address.address, port: address.port, name: u.sources[i].name, cid: d.cid.description)
            shareFrameSources(&u.sources[i])
        }
        if d.startCode == 0xDD && settings.perAddressPriority {
            records.counters.count("per-address-priority")
            if u.sources[i].pap.isEmpty { u.sources[i].pap = [UInt8](repeating: 0, count: 512) }
            if !startCodesReported.contains(0xDD) {
                startCodesReported.insert(0xDD)
                records.find("per-address-priority", universe: Int(d.universe), at: now,
                             "universe \(d.universe) receives per-address priority (start code 0xDD) from \"\(u.sources[i].name)\" (\(address)): it decides which source drives each slot")
            }
            // One priority per slot, after the start code (at most 512: the decoder caps it).
            let n = min(512, d.data.count)
            u.sources[i].pap.withUnsafeMutableBytes { dst in
                if n > 0, let base = dst.baseAddress, let src = d.data.baseAddress { base.copyMemory(from: src, byteCount: n) }
            }
            u.sources[i].papLength = n
            u.sources[i].papSeen = now
            return
        }
        if d.startCode != 0 {
            records.counters.count(E131Receiver.startCodeEvents[Int(d.startCode)])
            if !startCodesReported.contains(d.startCode) {
                startCodesReported.insert(d.startCode)
                if d.startCode == 0xDD {
                    records.find("per-address-priority", universe: Int(d.universe), at: now,
                                 "universe \(d.universe) receives per-address priority (start code 0xDD) from \(address); only the packet priority is applied")
                } else {
                    records.find("start-code", universe: Int(d.universe), at: now,
                                 "universe \(d.universe) receives start code \(Text.hexByte(d.startCode)) from \(address) (not level data, so the panel ignores it)")
                }
            }
            return
        }
        if u.sources[i].priority != d.priority {
            records.counters.count("priority-change")
            u.sources[i].priority = d.priority
        }
        let n = d.data.count
        if u.sources.count == 1 && !settings.perAddressPriority {
            // A lone source's packet is staged below as it is: the assembler keeps the copy
            // (per-address priority merges from every source's own copy, even a lone one's).
            u.sources[i].unsynced = max(u.sources[i].unsynced, n)
        } else {
            u.sources[i].data.withUnsafeMutableBytes { dst in
                if n > 0, let base = dst.baseAddress, let src = d.data.baseAddress { base.copyMemory(from: src, byteCount: n) }
            }
        }
        u.sources[i].length = n
        updateConflict(&u, universe: d.universe, at: now)
        if settings.perAddressPriority {
            stagePerAddress(&u, index: ui, source: i, d, at: now)
            return
        }

        let (top, topCount) = E131Receiver.topPriority(u.sources)
        guard d.priority == top else {
            records.counters.count("lower-priority-ignored")
            return
        }
        if topCount > 1 && settings.mergeEqualPriority {
            let held = isHeld(d, at: now)
            if u.mergeBuffer.isEmpty { u.mergeBuffer = [UInt8](repeating: 0, count: 512) }
            var len = 0
            for k in 0..<512 { u.mergeBuffer[k] = 0 }
            var tops: [FrameSource] = []
            for src in u.sources where src.priority == top {
                len = max(len, src.length)
                tops.append(src.frameSource)
                for k in 0..<src.length { u.mergeBuffer[k] = max(u.mergeBuffer[k], src.data[k]) }
            }
            u.mergeBuffer.withUnsafeBytes { buf in
                assembler.stage(index: ui, data: UnsafeRawBufferPointer(rebasing: buf[0..<len]), sources: tops, at: now, held: held, syncGroup: Int(d.syncAddress))
            }
            return
        }
        if let w = u.winner, w != d.cid, u.sources.contains(where: { $0.cid == w && $0.priority == top }) {
            records.counters.count("conflict-data-ignored")
            return
        }
        u.winner = d.cid
        let held = isHeld(d, at: now)
        assembler.stage(index: ui, data: d.data, sources: u.sources[i].alone, at: now, held: held, syncGroup: Int(d.syncAddress))
    }

    /// Lets the sources of one sender share their `alone` list across universes.
    private func shareFrameSources(_ source: inout Source) {
        source.share(lastAlone)
        lastAlone = source.alone
    }

    /// The usual packet: level data from the universe's lone source, at the address it last
    /// used, without per-address priority. Its state is updated in place, and the packet staged
    /// as it is (the assembler keeps the copy); with one source there is no conflict, and it wins.
    private func handleLoneSource(_ d: E131Data, universe ui: Int, at now: Timestamp) {
        let n = d.data.count
        let accepted = universeState[ui].sources.withUnsafeMutableBufferPointer { lone in
            guard records.countSequence(SequenceRule.e131.judge(last: lone[0].sequence, new: d.sequence)) else { return false }
            lone[0].sequence = d.sequence
            lone[0].lastSeen = now
            if lone[0].priority != d.priority {
                records.counters.count("priority-change")
                lone[0].priority = d.priority
            }
            lone[0].unsynced = max(lone[0].unsynced, n)
            lone[0].length = n
            return true
        }
        guard accepted else { return }
        universeState[ui].inConflict = false
        universeState[ui].winner = d.cid
        let held = isHeld(d, at: now)
        assembler.stage(index: ui, data: d.data, sources: universeState[ui].sources[0].alone, at: now, held: held, syncGroup: Int(d.syncAddress))
    }

    /// Merges the universe slot by slot by per-address priority and stages the result when the
    /// packet's source drives at least one slot.
    private func stagePerAddress(_ u: inout Universe, index ui: Int, source si: Int, _ d: E131Data, at now: Timestamp) {
        for j in u.sources.indices where u.sources[j].papSeen.map({ now - $0 > E131Receiver.sourceTimeout }) ?? false {
            u.sources[j].papSeen = nil
            u.sources[j].papLength = 0
            records.counters.count("per-address-priority-lapsed")
            // Reported once per source, not for each of its universes.
            guard papLapseReported.count < E131Receiver.maxDiscoveredSources, papLapseReported.insert(u.sources[j].cid).inserted else { continue }
            records.find("per-address-priority-lapsed", universe: Int(d.universe), at: now,
                         "sACN source \"\(u.sources[j].name)\" sent no per-address priority on universe \(d.universe) for 2.5 s: its packet priority \(u.sources[j].priority) applies again")
        }
        if u.mergeBuffer.isEmpty { u.mergeBuffer = [UInt8](repeating: 0, count: 512) }
        var len = 0
        for src in u.sources { len = max(len, src.length) }
        // Sources are at most `maxSourcesPerUniverse` (16): one bit each.
        var drives: UInt32 = 0
        for k in 0..<len {
            var best = -1
            var level: UInt8 = 0
            var owners: UInt32 = 0
            for j in u.sources.indices where k < u.sources[j].length {
                let p: Int
                if u.sources[j].papSeen != nil {
                    let v = k < u.sources[j].papLength ? Int(u.sources[j].pap[k]) : 0
                    p = v == 0 ? -1 : v  // 0: the source does not drive this slot
                } else {
                    p = Int(u.sources[j].priority)
                }
                guard p >= 0 else { continue }
                if p > best {
                    best = p; level = u.sources[j].data[k]; owners = 1 << UInt32(j)
                } else if p == best {
                    level = max(level, u.sources[j].data[k]); owners |= 1 << UInt32(j)
                }
            }
            u.mergeBuffer[k] = best >= 0 ? level : 0
            drives |= owners
        }
        guard drives & (1 << UInt32(si)) != 0 else {
            records.counters.count("lower-priority-ignored")
            return
        }
        var winners: [FrameSource] = []
        for j in u.sources.indices where drives & (1 << UInt32(j)) != 0 { winners.append(u.sources[j].frameSource) }
        let held = isHeld(d, at: now)
        u.mergeBuffer.withUnsafeBytes { buf in
            assembler.stage(index: ui, data: UnsafeRawBufferPointer(rebasing: buf[0..<len]), sources: winners, at: now, held: held, syncGroup: Int(d.syncAddress))
        }
    }

    /// Whether this packet's data waits for a sync packet. A receiver synchronises on an
    /// address only once a sync packet has arrived there (E1.31 6.2.4.1); before that, data
    /// naming the address is shown at once. When sync stops for 2.5 s, Force_Synchronization
    /// 1 lets data through again and 0 keeps holding until sync resumes (6.2.6).
    private func isHeld(_ d: E131Data, at now: Timestamp) -> Bool {
        guard settings.frame.sync == .auto, d.syncAddress != 0 else { return false }
        guard var state = syncState[d.syncAddress] else {
            noteSyncAddress(d.syncAddress, universe: Int(d.universe), at: now)
            return false
        }
        guard let last = state.lastSync else { return false }
        let lost = now - last > E131Receiver.sourceTimeout
        if lost && !state.lossReported {
            state.lossReported = true
            syncState[d.syncAddress] = state
            records.counters.count("sync-lost")
            records.find("sync-lost", universe: Int(d.universe), at: now, "no sync packet on sync address \(d.syncAddress) for 2.5 s: " + (d.options.contains(.forceSynchronization)
                    ? "Force_Synchronization is 1, the receiver reverts to immediate output"
                    : "Force_Synchronization is 0, the receiver holds its output until sync resumes (the panel freezes)"))
        }
        if lost && d.options.contains(.forceSynchronization) { return false }
        return true
    }

    /// Starts tracking a sync address named by data for a mapped universe (bounded, so a
    /// sender cannot make the receiver track or join thousands of groups).
    private func noteSyncAddress(_ address: UInt16, universe: Int, at now: Timestamp) {
        guard E131.validUniverses.contains(address) else { return }
        guard syncState.count < E131Receiver.maxSyncAddresses else {
            records.counters.count("sync-address-limit")
            return
        }
        syncState[address] = SyncState(lastSync: nil, firstUse: now)
        multicastGeneration += 1
        records.find("sync-address", universe: universe, at: now,
                     "universe \(universe) names sync address \(address): frames wait for its sync packets once the first one arrives")
    }

    private func handleSync(_ s: E131Sync, at now: Timestamp) {
        guard settings.frame.sync == .auto else {
            records.counters.count("sync-ignored-by-config")
            return
        }
        if syncState[s.syncAddress] == nil {
            guard E131.validUniverses.contains(s.syncAddress), syncState.count < E131Receiver.maxSyncAddresses else {
                records.counters.count("sync-address-limit")
                return
            }
            multicastGeneration += 1
        }
        var state = syncState[s.syncAddress] ?? SyncState(lastSync: nil, firstUse: now)
        state.lastSync = now
        state.lossReported = false
        syncState[s.syncAddress] = state
        assembler.sync(at: now, group: Int(s.syncAddress))
    }

    /// The highest priority among sources and how many sources have it.
    static func topPriority(_ sources: [Source]) -> (UInt8, Int) {
        var top: UInt8 = 0, count = 0
        for s in sources {
            if s.priority > top || count == 0 { top = s.priority; count = 1 } else if s.priority == top { count += 1 }
        }
        return (top, count)
    }

    private func updateConflict(_ u: inout Universe, universe: UInt16, at now: Timestamp) {
        let (top, topCount) = E131Receiver.topPriority(u.sources)
        let conflict = topCount > 1
        if conflict && !u.inConflict {
            let tops = u.sources.filter { $0.priority == top }
            records.counters.count("priority-conflict")
            let names = tops.map { "\"\($0.name)\" (\($0.address))" }.joined(separator: ", ")
            records.find("conflict", universe: Int(universe), at: now, "universe \(universe) receives from \(tops.count) sources at equal priority \(top) from \(Text.seconds(records.seconds(now))) s: \(names)"
                    + (settings.perAddressPriority ? "; per-address priority decides each slot, equal ones merged HTP"
                        : settings.mergeEqualPriority ? "; merged HTP" : ": the panel will flicker"))
        }
        u.inConflict = conflict
    }

    private func expireSources(_ ui: Int, at now: Timestamp) {
        guard universeState[ui].sources.contains(where: { now - $0.lastSeen > E131Receiver.sourceTimeout }) else { return }
        var u = universeState[ui]
        let lost = u.sources.filter { now - $0.lastSeen > E131Receiver.sourceTimeout }
        guard !lost.isEmpty else { return }
        for s in lost {
            records.counters.count("source-lost")
            records.find("source-lost", universe: settings.map.settings.startUniverse + ui, at: now, "sACN source \(s.name.isEmpty ? "(no name)" : "\"\(s.name)\"") (\(s.address)) went silent on universe \(settings.map.settings.startUniverse + ui) for 2.5 s")
        }
        u.sources.removeAll { now - $0.lastSeen > E131Receiver.sourceTimeout }
        if let w = u.winner, !u.sources.contains(where: { $0.cid == w }) { u.winner = nil }
        updateConflict(&u, universe: UInt16(truncatingIfNeeded: settings.map.settings.startUniverse + ui), at: now)
        universeState[ui] = u
    }

    public func tick(at now: Timestamp) {
        for ui in universeState.indices where !universeState[ui].sources.isEmpty { expireSources(ui, at: now) }
        assembler.tick(at: now)
        collectFrames()
    }

    public func finish(at now: Timestamp) {
        assembler.finish(at: now)
        collectFrames()
    }

    private func collectFrames() { records.collect(&assembler) }

    public func takeOutput() -> DeviceOutput { records.take() }
}
