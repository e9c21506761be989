import PanelCore
import PanelWire

/// How a node merges two sources on one port.
public enum MergeMode: String, Sendable, CaseIterable {
    /// Highest takes precedence, slot by slot (Art-Net's default).
    case htp
    /// Latest takes precedence: the last packet wins.
    case ltp
}

/// Settings of an emulated Art-Net node.
public struct ArtNetNodeSettings: Sendable {
    public var name: String
    public var map: ChannelMap
    public var frame: FrameSettings
    public var shortName: String
    public var longName: String
    public var merge: MergeMode
    /// Drop packets that break a spec rule instead of acting on them.
    public var strict: Bool
    /// The node's own IPv4 address, reported in ArtPollReply.
    public var nodeAddress: [UInt8]
    public var mac: [UInt8]
    /// BindIndexes used by other nodes on the same address: this node's ports start after them.
    public var bindIndexBase: Int
    /// Output ports the node has on its address (a legacy Art-Net 3 node: 4, sharing one Net and
    /// Sub-Net); nil: one port per universe of the map. Universes beyond them are not shown.
    public var maxPorts: Int?
    /// Show ArtDmx only on ArtSync: without ArtSync nothing is ever shown.
    public var syncRequired: Bool

    public init(name: String, map: ChannelMap, frame: FrameSettings = FrameSettings(), shortName: String? = nil,
                longName: String? = nil, merge: MergeMode = .htp, strict: Bool = false,
                nodeAddress: [UInt8] = [127, 0, 0, 1], mac: [UInt8] = [0x02, 0x50, 0x53, 0x00, 0x00, 0x01], bindIndexBase: Int = 0,
                maxPorts: Int? = nil, syncRequired: Bool = false) {
        self.name = name
        self.map = map
        self.frame = frame
        self.shortName = shortName ?? String(name.prefix(17))
        self.longName = longName ?? "PanelSim Art-Net node \(name)"
        self.merge = merge
        self.strict = strict
        self.nodeAddress = nodeAddress
        self.mac = mac
        self.bindIndexBase = max(0, bindIndexBase)
        self.maxPorts = maxPorts.map { max(1, $0) }
        self.syncRequired = syncRequired
    }
}

/// An emulated Art-Net 4 node: one output port per universe of its channel map.
///
/// - ArtDmx lands in the canvas by the frame rule; after an ArtSync the node holds data for
///   the next ArtSync, and returns to immediate output after 4 s without one. ArtSync from an
///   address that sends no ArtDmx, or while a port is merging, is ignored.
/// - Two sources per port merge (HTP by default, LTP on request or by ArtAddress); a third is
///   ignored and counted; a source silent for 10 s leaves.
/// - Sequence numbers are tracked per source and port (0 = disabled).
/// - ArtPoll gets one ArtPollReply per port (BindIndex 1, 2, …; past 255 ports, four ports
///   per reply); ArtAddress renames the node, re-addresses ports, switches merge mode,
///   cancels a merge and clears an output.
/// - Sources are told apart by IP address, as Art-Net merges by IP.
/// - With `maxPorts` (a legacy node) only the map's first universes that share the first
///   one's Net and Sub-Net, at most `maxPorts`, are ports: ArtPollReply lists them in one reply;
///   ArtDmx for the map's other universes is counted `universe-not-served` and those pixels stay
///   black, with one finding naming the universes not served.
/// - With `syncRequired` every ArtDmx is held for the next ArtSync, also while merging and
///   after any pause: without ArtSync nothing is shown (counted `artdmx-without-sync`, and a
///   `no-sync` finding once data has waited 4 s).
public final class ArtNetNode: DeviceModel {
    public static let syncTimeout = Timestamp(nanoseconds: 4_000_000_000)
    public static let sourceTimeout = Timestamp(nanoseconds: 10_000_000_000)

    public var name: String { settings.name }
    @exclusivity(unchecked) public private(set) var settings: ArtNetNodeSettings
    public var counters: DeviceCounters {
        var c = records.counters
        if dmxPackets > 0 { c.events["artdmx"] = dmxPackets }
        return c
    }
    @exclusivity(unchecked) private var records = DeviceRecords()
    @exclusivity(unchecked) private var dmxPackets = 0  // (see the note on `ports`)
    public var findings: [DeviceFinding] { records.findings.items }
    public var malformedPackets: [MalformedPacket] { records.malformed.items }
    public var multicastGroups: Set<String> { [] }
    public var dataMulticastGroups: Set<String> { [] }
    public var multicastGeneration: Int { 0 }
    public var universes: [Int] { ports.map { Int($0.portAddress) } }
    public private(set) var universesGeneration = 0
    public var reportedPortCount: Int { replyGroups().count }

    struct Source {
        var id: PacketSource
        /// The source's slots, for HTP merging. While it is a port's only source its packets go
        /// to the assembler as they are and are not copied here: the first `unsynced` bytes are
        /// then the assembler's (`syncData`), the rest are here. Empty (no allocation) until the
        /// port's first merge.
        var data: [UInt8]
        var unsynced = 0
        var length: Int
        var lastSeen: Timestamp
        var sequence: UInt8?
    }

    struct Port {
        var portAddress: UInt16
        var merge: MergeMode
        var sources: [Source] = []
        /// The sources as frame events name them; `refresh()` after `sources` changes membership.
        var frameSources: [FrameSource] = []
        mutating func refresh() { frameSources = sources.map { FrameSource($0.id) } }
        /// Gives every source its own `data` (a lone source has none until the port merges) and
        /// brings a lone source's up to date from what the assembler staged for the port.
        mutating func syncData(port pi: Int, from assembler: FrameAssembler) {
            for s in sources.indices {
                if sources[s].data.isEmpty { sources[s].data = [UInt8](repeating: 0, count: 512) }
                guard sources[s].unsynced > 0 else { continue }
                assembler.copyStaged(index: pi, count: sources[s].unsynced, into: &sources[s].data)
                sources[s].unsynced = 0
            }
        }
        /// The HTP merge of two sources (allocated on the first merge).
        var mergeBuffer: [UInt8] = []
        /// The source addresses and merging state this port last added to the node's totals
        /// (`senderCounts`, `mergingPorts`), so a change of one port updates them in O(1).
        var countedAddresses: [String] = []
        var countedMerging = false
        var receivedData = false
        var thirdSourceReported = false
        /// False for a universe of the map beyond the node's ports (`maxPorts`).
        var served = true
    }

    // The state below changes on every packet. The model is confined to one thread and its
    // methods never re-enter one another, so the runtime's exclusivity checks on these class
    // properties (measured at 10–17 % of offline replay) are switched off for them alone.
    @exclusivity(unchecked) private var ports: [Port]
    private var portIndex: [UInt16: Int] = [:]
    /// Port i has Port-Address `firstPortAddress + i` (as the map lays them out, until an
    /// ArtAddress moves one): a packet's port is found by subtraction, not a dictionary lookup.
    @exclusivity(unchecked) private var portsInOrder = false
    @exclusivity(unchecked) private var firstPortAddress = 0
    @exclusivity(unchecked) private var assembler: FrameAssembler
    @exclusivity(unchecked) private var lastArtSync: Timestamp?
    private var sharedFrameSources: [FrameSource] = []
    /// Source address → ports it sends to (the node's senders, for ArtSync).
    private var senderCounts: [String: Int] = [:]
    @exclusivity(unchecked) private var mergingPorts = 0
    @exclusivity(unchecked) private var cancelMergePending = false
    @exclusivity(unchecked) private var syncLossReported = true
    private var replyBuffer: [UInt8] = []
    /// `syncRequired`: when data began waiting for an ArtSync that has not come (nil: none waits).
    private var waitingSince: Timestamp?
    private var noSyncReported = false
    private var notServedReported = false

    public init(settings: ArtNetNodeSettings) {
        self.settings = settings
        assembler = FrameAssembler(map: settings.map, settings: settings.frame)
        ports = settings.map.universes.map { Port(portAddress: UInt16(truncatingIfNeeded: $0 & 0x7FFF), merge: settings.merge) }
        if let limit = settings.maxPorts, let first = ports.first {
            // A legacy node sets one Net and Sub-Net for all its ports (Port-Address bits 4-14).
            for i in ports.indices where i >= limit || ports[i].portAddress >> 4 != first.portAddress >> 4 {
                ports[i].served = false
                assembler.exclude(index: i)
            }
        }
        rebuildIndex()
    }

    /// The universes of the map the node has no port for (`maxPorts`).
    public var universesNotServed: [Int] { ports.filter { !$0.served }.map { Int($0.portAddress) } }

    /// The canvas as the panel shows it now.
    public var canvas: Canvas { assembler.canvas }

    /// Recomputes how frames name a port's sources, sharing one array among ports with the same
    /// sources: the assembler merges a frame's source lists by identity, not element by element.
    private func refreshFrameSources(_ pi: Int) {
        ports[pi].refresh()
        if ports[pi].frameSources == sharedFrameSources {
            ports[pi].frameSources = sharedFrameSources
        } else {
            sharedFrameSources = ports[pi].frameSources
        }
    }

    /// Keeps the sender set and merging count in step after sources join or leave a port.
    private func sourcesChanged(port pi: Int, at now: Timestamp) {
        refreshFrameSources(pi)
        for a in ports[pi].countedAddresses {
            let n = (senderCounts[a] ?? 0) - 1
            senderCounts[a] = n > 0 ? n : nil
        }
        ports[pi].countedAddresses = ports[pi].sources.map(\.id.address)
        for a in ports[pi].countedAddresses { senderCounts[a, default: 0] += 1 }
        let wasMerging = mergingPorts > 0
        let merging = ports[pi].sources.count > 1
        mergingPorts += (merging ? 1 : 0) - (ports[pi].countedMerging ? 1 : 0)
        ports[pi].countedMerging = merging
        if !wasMerging && mergingPorts > 0 && !settings.syncRequired {
            // Held data would wait for an ArtSync that is now ignored: show it by the frame rule.
            assembler.releaseHeld(at: now)
        }
    }

    private func rebuildIndex() {
        universesGeneration += 1
        portIndex = [:]
        // Served ports first: a port re-addressed onto a universe not served takes it.
        for (i, p) in ports.enumerated() where p.served && portIndex[p.portAddress] == nil { portIndex[p.portAddress] = i }
        for (i, p) in ports.enumerated() where !p.served && portIndex[p.portAddress] == nil { portIndex[p.portAddress] = i }
        firstPortAddress = ports.first.map { Int($0.portAddress) } ?? 0
        portsInOrder = ports.indices.allSatisfy { Int(ports[$0].portAddress) == firstPortAddress + $0 }
        assembler.universeNumbers = ports.map { Int($0.portAddress) }
    }

    public func receive(_ datagram: UnsafeRawBufferPointer, from source: PacketSource, at time: Timestamp) {
        guard let message = records.decode(datagram, from: source, at: time, ArtNetDecoder.decode) else { return }
        switch message {
        case .dmx(let dmx):
            dmxPackets += 1
            if noteViolations(dmx.violations) { return }
            handleDmx(dmx, from: source, at: time)
        case .nzs(let nzs):
            records.counters.count("artnzs")
            _ = noteViolations(nzs.violations)
            records.counters.count("nzs-not-level-data")
        case .sync(let sync):
            records.counters.count("artsync")
            if noteViolations(sync.violations) { return }
            handleSync(from: source, at: time)
        case .poll(let poll):
            records.counters.count("artpoll")
            if noteViolations(poll.violations) { return }
            answerPoll(poll, to: source, at: time)
        case .pollReply:
            records.counters.count("artpollreply")
        case .address(let address):
            records.counters.count("artaddress")
            if noteViolations(address.violations) { return }
            handleAddress(address, from: source, at: time)
        case .unsupported(let op, let name):
            _ = op
            records.counters.count(name.map { "unsupported." + $0 } ?? "unsupported.unknown-opcode")
        }
        collectFrames()
    }

    /// Counts violations; true when strict mode says to drop the packet.
    private func noteViolations(_ v: ArtNetViolations) -> Bool {
        v.isEmpty ? false : records.violations(v.ruleIDs, strict: settings.strict)
    }

    private func handleDmx(_ dmx: ArtDmx, from source: PacketSource, at now: Timestamp) {
        let inOrder = Int(dmx.portAddress) - firstPortAddress
        guard let pi = portsInOrder ? (inOrder >= 0 && inOrder < ports.count ? inOrder : nil) : portIndex[dmx.portAddress] else {
            records.counters.count("universe-not-mapped")
            return
        }
        guard ports[pi].served else {
            records.counters.count("universe-not-served")
            if !notServedReported {
                notServedReported = true
                let served = ports.filter(\.served).map { String($0.portAddress) }.joined(separator: ", ")
                let missing = universesNotServed.map(String.init).joined(separator: ", ")
                records.find("universe-not-served", universe: Int(dmx.portAddress), at: now,
                             "the node has \(settings.maxPorts ?? ports.count) ports on its address (universes \(served)); ArtDmx for universe \(dmx.portAddress) from \(source) is not shown, nor universes \(missing) of the panel: those pixels stay black")
            }
            return
        }
        let n = dmx.data.count
        if ports[pi].sources.count == 1 && ports[pi].sources[0].id == source && now - ports[pi].sources[0].lastSeen <= ArtNetNode.sourceTimeout {
            // The usual packet: the port's lone source again. Its state is updated in place
            // (its packet is staged as it is: the assembler keeps the copy).
            let accepted = ports[pi].sources.withUnsafeMutableBufferPointer { lone in
                guard records.countSequence(SequenceRule.artNet.judge(last: lone[0].sequence, new: dmx.sequence)) else { return false }
                if dmx.sequence != 0 { lone[0].sequence = dmx.sequence }
                lone[0].lastSeen = now
                lone[0].unsynced = max(lone[0].unsynced, n)
                lone[0].length = max(lone[0].length, n)
                return true
            }
            if accepted { output(dmx, port: pi, at: now) }
            return
        }
        expireSources(port: pi, at: now)
        // Mutate ports[pi] in place: a local copy would copy its buffers on every packet.
        let si: Int
        // Art-Net merges by source IP (a sender that reopens its socket is the same source).
        if let existing = ports[pi].sources.firstIndex(where: { $0.id.address == source.address }) {
            si = existing
            if ports[pi].sources[si].id.port != source.port {
                // Same source, new socket: only how frames name it changes.
                ports[pi].sources[si].id = source
                refreshFrameSources(pi)
            }
        } else if ports[pi].sources.count < 2 {
            // The port's lone source (if any) stops being lone: its data is needed for merging.
            ports[pi].syncData(port: pi, from: assembler)
            // A port's first source keeps no copy of its slots while it is alone (see `Source`).
            let data = ports[pi].sources.isEmpty ? [] : [UInt8](repeating: 0, count: 512)
            ports[pi].sources.append(Source(id: source, data: data, length: 0, lastSeen: now, sequence: nil))
            sourcesChanged(port: pi, at: now)
            si = ports[pi].sources.count - 1
            if ports[pi].sources.count == 2 {
                records.counters.count("merge-started")
                records.find("merge", universe: Int(dmx.portAddress), at: now, "Art-Net universe \(dmx.portAddress) merges two sources (\(ports[pi].sources[0].id), \(source)) in \(ports[pi].merge.rawValue.uppercased()) mode")
            }
        } else {
            records.counters.count("third-source-ignored")
            if !ports[pi].thirdSourceReported {
                ports[pi].thirdSourceReported = true
                records.find("third-source", universe: Int(dmx.portAddress), at: now, "Art-Net universe \(dmx.portAddress): a third source \(source) is ignored while two already merge")
            }
            return
        }
        guard records.countSequence(SequenceRule.artNet.judge(last: ports[pi].sources[si].sequence, new: dmx.sequence)) else { return }
        if dmx.sequence != 0 { ports[pi].sources[si].sequence = dmx.sequence }
        ports[pi].sources[si].lastSeen = now
        if ports[pi].sources.count == 1 {
            // A lone source's packet is staged below as it is: the assembler keeps the copy.
            ports[pi].sources[si].unsynced = max(ports[pi].sources[si].unsynced, n)
        } else {
            ports[pi].sources[si].data.withUnsafeMutableBytes { dst in
                if n > 0, let base = dst.baseAddress, let src = dmx.data.baseAddress { base.copyMemory(from: src, byteCount: n) }
            }
        }
        ports[pi].sources[si].length = max(ports[pi].sources[si].length, n)
        if cancelMergePending && ports[pi].sources.count == 2 {
            // AcCancelMerge: the next ArtDmx decides which source stays.
            ports[pi].sources.removeAll { $0.id.address != source.address }
            sourcesChanged(port: pi, at: now)
            cancelMergePending = false
        }
        output(dmx, port: pi, at: now)
    }

    /// Stages an accepted ArtDmx's port: its data, or with two sources their HTP merge.
    private func output(_ dmx: ArtDmx, port pi: Int, at now: Timestamp) {
        ports[pi].receivedData = true
        // ArtSync is ignored while merging, so merged data is never held for it (unless the node
        // shows nothing without ArtSync).
        let held = settings.syncRequired || (settings.frame.sync == .auto && isSyncMode(at: now) && mergingPorts == 0)
        if settings.syncRequired && !isSyncMode(at: now) {
            records.counters.count("artdmx-without-sync")
            if waitingSince == nil { waitingSince = now }
        }
        if ports[pi].sources.count == 2 && ports[pi].merge == .htp {
            let len = max(ports[pi].sources[0].length, ports[pi].sources[1].length)
            if ports[pi].mergeBuffer.isEmpty { ports[pi].mergeBuffer = [UInt8](repeating: 0, count: 512) }
            for k in 0..<len { ports[pi].mergeBuffer[k] = max(ports[pi].sources[0].data[k], ports[pi].sources[1].data[k]) }
            ports[pi].mergeBuffer.withUnsafeBytes { buf in
                assembler.stage(index: pi, data: UnsafeRawBufferPointer(rebasing: buf[0..<len]), sources: ports[pi].frameSources, at: now, held: held)
            }
        } else {
            // One source, or LTP: this packet's data is the output.
            assembler.stage(index: pi, data: dmx.data, sources: ports[pi].frameSources, at: now, held: held)
        }
    }

    private func isSyncMode(at now: Timestamp) -> Bool {
        guard let last = lastArtSync else { return false }
        return now - last <= ArtNetNode.syncTimeout
    }

    private func handleSync(from source: PacketSource, at now: Timestamp) {
        guard settings.frame.sync == .auto else {
            records.counters.count("artsync-ignored-by-config")
            return
        }
        guard senderCounts[source.address] != nil else {
            records.counters.count("artsync-ignored-not-sender")
            return
        }
        if mergingPorts > 0 && !settings.syncRequired {
            records.counters.count("artsync-ignored-merging")
            return
        }
        if lastArtSync == nil || !isSyncMode(at: now) {
            records.find("sync-start", universe: nil, at: now, "ArtSync from \(source): the node now holds ArtDmx until each ArtSync")
        }
        lastArtSync = now
        syncLossReported = false
        waitingSince = nil
        assembler.sync(at: now)
    }

    private func expireSources(port pi: Int, at now: Timestamp) {
        let before = ports[pi].sources.count
        guard ports[pi].sources.contains(where: { now - $0.lastSeen > ArtNetNode.sourceTimeout }) else { return }
        ports[pi].sources.removeAll { now - $0.lastSeen > ArtNetNode.sourceTimeout }
        if ports[pi].sources.count < before {
            sourcesChanged(port: pi, at: now)
            records.counters.count("source-timeout", before - ports[pi].sources.count)
            ports[pi].thirdSourceReported = false
        }
    }

    public func tick(at now: Timestamp) {
        if let since = waitingSince, !noSyncReported, now - since > ArtNetNode.syncTimeout {
            noSyncReported = true
            records.counters.count("no-sync")
            records.find("no-sync", universe: nil, at: now, "ArtDmx has waited 4 s for an ArtSync: this node shows nothing until the sender sends ArtSync")
        }
        if settings.syncRequired {
            // Held data keeps waiting: the node never returns to immediate output.
        } else if let last = lastArtSync, !syncLossReported, now - last > ArtNetNode.syncTimeout {
            syncLossReported = true
            records.counters.count("sync-lost")
            records.find("sync-lost", universe: nil, at: now, "no ArtSync for 4 s: the node went back to immediate output")
            assembler.releaseHeld(at: now)
        }
        for pi in ports.indices where !ports[pi].sources.isEmpty { expireSources(port: pi, at: now) }
        assembler.tick(at: now)
        collectFrames()
    }

    /// Ends the session: a pending incomplete frame is emitted torn.
    public func finish(at now: Timestamp) {
        assembler.finish(at: now)
        collectFrames()
    }

    private func collectFrames() { records.collect(&assembler) }

    public func takeOutput() -> DeviceOutput { records.take() }

    // MARK: ArtPoll and ArtAddress

    /// The ArtPollReply for port `i` (BindIndex i + 1), one port per reply as Art-Net 4 prefers.
    public func pollReply(port i: Int) -> ArtPollReply {
        pollReply(ports: [i], bindIndex: settings.bindIndexBase + i + 1)
    }

    /// One reply describing up to four ports that share Net and Sub-Net.
    func pollReply(ports group: [Int], bindIndex: Int) -> ArtPollReply {
        var r = ArtPollReply()
        let pa = group.first.map { ports[$0].portAddress } ?? 0
        r.ipAddress = settings.nodeAddress
        r.port = ArtNet.port
        r.versionInfo = 1
        r.netSwitch = UInt8((pa >> 8) & 0x7F)
        r.subSwitch = UInt8((pa >> 4) & 0x0F)
        r.oem = 0x00FF  // OemUnknown
        r.status1 = 0xE0  // indicators normal, port-address programmed by network
        r.estaManufacturer = 0x7FF0  // ESTA's prototype/experimental ID
        r.shortName = settings.shortName
        r.longName = settings.longName
        r.nodeReport = "#0001 [\(String(records.counters.packets % 10000))] PanelSim emulated node"
        r.numPorts = UInt16(group.count)
        for (k, i) in group.prefix(4).enumerated() {
            r.portTypes[k] = 0x80  // output, DMX512
            var good: UInt8 = ports[i].receivedData ? 0x80 : 0x00
            if ports[i].merge == .ltp { good |= 0x02 }
            if ports[i].sources.count > 1 { good |= 0x08 }
            r.goodOutputA[k] = good
            r.swOut[k] = UInt8(ports[i].portAddress & 0x0F)
        }
        r.style = 0  // StNode
        r.mac = settings.mac
        r.bindIp = settings.nodeAddress
        r.bindIndex = UInt8(clamping: bindIndex)
        r.status2 = 0x18  // 15-bit Port-Address (bit 3), switchable to sACN (bit 4)
        return r
    }

    /// The ports each ArtPollReply describes: one per reply while BindIndex (1...255) allows,
    /// otherwise up to four ports sharing Net and Sub-Net per reply.
    func replyGroups() -> [[Int]] {
        if settings.maxPorts != nil {
            // A legacy node: one reply for all its ports (at most four per reply, as Art-Net 3 had).
            let served = ports.indices.filter { ports[$0].served }
            return stride(from: 0, to: served.count, by: 4).map { Array(served[$0..<min(served.count, $0 + 4)]) }
        }
        if settings.bindIndexBase + ports.count <= 255 { return ports.indices.map { [$0] } }
        var groups: [[Int]] = []
        for i in ports.indices {
            if var last = groups.last, last.count < 4, let first = last.first, ports[first].portAddress >> 4 == ports[i].portAddress >> 4 {
                last.append(i)
                groups[groups.count - 1] = last
            } else {
                groups.append([i])
            }
        }
        return groups
    }

    private func answerPoll(_ poll: ArtPoll, to source: PacketSource, at now: Timestamp) {
        var answered = 0
        let groups = replyGroups()
        for (n, group) in groups.enumerated() {
            guard settings.bindIndexBase + n < 255 else {
                records.counters.count("artpollreply-bindindex-exhausted")
                break
            }
            if poll.isTargeted, let top = poll.targetPortAddressTop, let bottom = poll.targetPortAddressBottom,
               !group.contains(where: { (bottom...max(bottom, top)).contains(ports[$0].portAddress) }) { continue }
            ArtNetEncoder.pollReply(into: &replyBuffer, pollReply(ports: group, bindIndex: settings.bindIndexBase + n + 1))
            records.output.replies.append(DeviceReply(bytes: replyBuffer, destination: source))
            answered += 1
        }
        records.counters.count("artpollreply-sent", answered)
    }

    private func handleAddress(_ a: ArtAddress, from source: PacketSource, at now: Timestamp) {
        // BindIndex 0 and 1 address the root device; a BindIndex names one reply's ports
        // (one port, or up to four past 255 ports), numbered after other nodes on this address.
        let groups = replyGroups()
        let g = max(0, Int(a.bindIndex) - 1) - settings.bindIndexBase
        guard g >= 0, g < groups.count else {
            records.counters.count("artaddress-for-another-node")
            return
        }
        let group = groups[g]
        if !a.shortName.isEmpty { settings.shortName = a.shortName }
        if !a.longName.isEmpty { settings.longName = a.longName }
        var moved = false
        for (k, pi) in group.enumerated() {
            var pa = ports[pi].portAddress
            let original = UInt16(truncatingIfNeeded: settings.map.settings.startUniverse + pi)
            if a.netSwitch & 0x80 != 0 { pa = (pa & 0x00FF) | UInt16(a.netSwitch & 0x7F) << 8 } else if a.netSwitch == 0 { pa = (pa & 0x00FF) | (original & 0x7F00) }
            if a.subSwitch & 0x80 != 0 { pa = (pa & 0x7F0F) | UInt16(a.subSwitch & 0x0F) << 4 } else if a.subSwitch == 0 { pa = (pa & 0x7F0F) | (original & 0x00F0) }
            let out = k < a.swOut.count ? a.swOut[k] : 0x7F
            if out & 0x80 != 0 { pa = (pa & 0x7FF0) | UInt16(out & 0x0F) } else if out == 0 { pa = (pa & 0x7FF0) | (original & 0x000F) }
            if pa != ports[pi].portAddress {
                records.counters.count("port-readdressed")
                records.find("readdressed", universe: Int(pa), at: now, "ArtAddress from \(source) moved port \(pi + 1) from universe \(ports[pi].portAddress) to \(pa)")
                ports[pi].portAddress = pa
                moved = true
            }
        }
        if moved { rebuildIndex() }
        switch a.decodedCommand {
        case .mergeLTP(let p): if p < group.count { setMerge(.ltp, port: group[p]) }
        case .mergeHTP(let p): if p < group.count { setMerge(.htp, port: group[p]) }
        case .cancelMerge:
            cancelMergePending = true
        case .clearOutput(let p):
            if p < group.count {
                // AcClearOp: the output buffer goes to zero.
                let pi = group[p]
                ports[pi].sources.removeAll()
                sourcesChanged(port: pi, at: now)
                let zeros = [UInt8](repeating: 0, count: 512)
                zeros.withUnsafeBytes { assembler.stage(index: pi, data: $0, sources: [], at: now, held: false) }
            }
        case .none, .other:
            break
        }
        ArtNetEncoder.pollReply(into: &replyBuffer, pollReply(ports: group, bindIndex: settings.bindIndexBase + g + 1))
        records.output.replies.append(DeviceReply(bytes: replyBuffer, destination: source))
    }

    private func setMerge(_ mode: MergeMode, port: Int) {
        guard port >= 0, port < ports.count else { return }
        ports[port].merge = mode
        records.counters.count("merge-mode-\(mode.rawValue)")
    }
}
