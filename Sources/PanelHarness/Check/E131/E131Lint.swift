import PanelCapture
import PanelCore
import PanelDevice
import PanelWire

/// sACN's stateful rules: sequence numbers, priority changes and stream termination per source
/// and universe, sync addresses without sync packets, universe discovery, multicast groups;
/// with a profile, preview data, per-address priority and channels beyond what it reads.
final class E131Lint: ProtocolLint {
    private struct StreamKey: Hashable { var cid: CID; var universe: Int }
    private struct Stream {
        var sequence = SequenceCheck()
        var priority: UInt8?
        /// Stream_Terminated packets in the current run of them, and the data after it was reported.
        var terminated = 0
        var terminatedAt: (record: Int, time: Timestamp)?
        var sender: String
    }
    private struct Source {
        var sender: String
        var firstData: (record: Int, time: Timestamp)
        var lastData: Timestamp
        var universes: Set<Int> = []
        var discovered: Set<Int> = []
        var sentDiscovery = false
    }
    private struct SyncUse { var sender: String; var record: Int; var time: Timestamp; var cid: CID; var universe: Int }
    private var streams: [StreamKey: Stream] = [:]
    private var sources: [CID: Source] = [:]
    /// Sync addresses data named (first use of each by each source) and those sync packets went to.
    private var syncNamed: [Int: [SyncUse]] = [:]
    private var syncSeen: Set<Int> = []
    private let expectations: SenderExpectations?
    static let discoveryDue = Timestamp(nanoseconds: 12_000_000_000)
    static let perAddressPriority: UInt8 = 0xDD

    init(expectations: SenderExpectations?) { self.expectations = expectations }

    func observe(_ e: TrafficEvent, log: FindingLog) {
        guard e.kind == .datagram else { return }
        let message: E131Message
        do throws(WireError) { message = try E131Decoder.decode(e.payload) } catch { return }
        switch message {
        case .data(let d):
            data(d, e, log)
        case .sync(let s):
            if syncSeen.count < Linter.maxStreams { syncSeen.insert(Int(s.syncAddress)) }
            multicast(Int(s.syncAddress), e, log)
        case .discovery(let d):
            guard var source = sources[d.cid] ?? (sources.count < Linter.maxStreams ? Source(sender: e.source.description, firstData: (e.recordNumber, e.time), lastData: e.time) : nil) else { return }
            source.sentDiscovery = true
            if source.discovered.count < 65536 { source.discovered.formUnion(d.universes.map(Int.init)) }
            sources[d.cid] = source
        }
    }

    private func data(_ d: E131Data, _ e: TrafficEvent, _ log: FindingLog) {
        let universe = Int(d.universe)
        multicast(universe, e, log)
        let key = StreamKey(cid: d.cid, universe: universe)
        guard var s = streams[key] ?? (streams.count < Linter.maxStreams ? Stream(sender: e.source.description) : nil) else { return }
        if let (what, detail) = s.sequence.judge(.e131, d.sequence) { log.hit("e131.sequence." + what, e, universe: universe, detail) }
        if d.options.contains(.streamTerminated) {
            if s.terminated == 0 { s.terminatedAt = (e.recordNumber, e.time) }
            s.terminated += 1
        } else {
            if s.terminated > 0 {
                log.hit("e131.stream-terminated.data-after", e, universe: universe, "data after \(s.terminated) Stream_Terminated packets")
                if s.terminated < 3 { shortTermination(s, universe, log) }
                s.terminated = 0
                s.terminatedAt = nil
            }
            if let p = s.priority, p != d.priority {
                log.hit("e131.priority.changed", e, universe: universe, "priority \(d.priority) after \(p)")
            }
            s.priority = d.priority
        }
        streams[key] = s
        if var source = sources[d.cid] ?? (sources.count < Linter.maxStreams ? Source(sender: e.source.description, firstData: (e.recordNumber, e.time), lastData: e.time) : nil) {
            if source.universes.isEmpty { source.firstData = (e.recordNumber, e.time) }
            source.lastData = e.time
            if source.universes.count < 65536 { source.universes.insert(universe) }
            sources[d.cid] = source
        }
        if d.syncAddress != 0 {
            let address = Int(d.syncAddress)
            var uses = syncNamed[address] ?? []
            if !uses.contains(where: { $0.cid == d.cid }), uses.count < 64, syncNamed.count < Linter.maxStreams {
                uses.append(SyncUse(sender: e.source.description, record: e.recordNumber, time: e.time, cid: d.cid, universe: universe))
                syncNamed[address] = uses
            }
        }
        if d.startCode == Self.perAddressPriority, let x = expectations, !x.perAddressPriority {
            log.hit("profile.per-address-priority", e, universe: universe)
        } else if d.startCode != 0 && d.startCode != Self.perAddressPriority {
            log.hit("e131.start-code.alternate", e, universe: universe, "START code 0x\(String(d.startCode, radix: 16))")
        }
        if d.options.contains(.preview), expectations?.ignoresPreview == true { log.hit("profile.preview-ignored", e, universe: universe) }
        if d.startCode == 0, let limit = expectations?.channelsPerUniverse, d.data.count > limit, d.data[limit...].contains(where: { $0 != 0 }) {
            log.hit("profile.pixel-split", e, universe: universe, "\(d.data.count) channels with data beyond channel \(limit)")
        }
    }

    /// A packet sent to a 239.255.x.y group must be for universe x·256 + y (E1.31 9.3.1).
    private func multicast(_ universe: Int, _ e: TrafficEvent, _ log: FindingLog) {
        let parts = e.destination.address.split(separator: ".")
        guard parts.count == 4, parts[0] == "239", parts[1] == "255", let hi = UInt8(parts[2]), let lo = UInt8(parts[3]) else { return }
        let group = Int(hi) << 8 | Int(lo)
        if group != universe {
            log.hit("e131.multicast.universe-mismatch", e, universe: universe, "universe \(universe) sent to \(e.destination.address) (universe \(group)'s group)")
        }
    }

    private func shortTermination(_ s: Stream, _ universe: Int, _ log: FindingLog) {
        guard let at = s.terminatedAt else { return }
        log.hit("e131.stream-terminated.count", record: at.record, time: at.time, sender: s.sender, universe: universe,
                "\(s.terminated) Stream_Terminated \(s.terminated == 1 ? "packet" : "packets")")
    }

    func finish(log: FindingLog, end: Timestamp) {
        for (key, s) in streams where s.terminated > 0 && s.terminated < 3 { shortTermination(s, key.universe, log) }
        for (address, uses) in syncNamed.sorted(by: { $0.key < $1.key }) where !syncSeen.contains(address) {
            for u in uses {
                log.hit("e131.sync.missing", record: u.record, time: u.time, sender: u.sender, universe: u.universe,
                        "synchronization address \(address), no sync packet on it")
            }
        }
        for (_, source) in sources.sorted(by: { $0.value.firstData.record < $1.value.firstData.record }) where !source.universes.isEmpty {
            if !source.sentDiscovery {
                if source.lastData - source.firstData.time > Self.discoveryDue {
                    log.hit("e131.discovery.missing", record: source.firstData.record, time: source.firstData.time, sender: source.sender,
                            universe: nil, "data for \(String(format: "%.1f", (source.lastData - source.firstData.time).seconds)) s, no universe discovery")
                }
            } else {
                let missing = source.universes.subtracting(source.discovered).sorted()
                if let first = missing.first {
                    log.hit("e131.discovery.incomplete", record: source.firstData.record, time: source.firstData.time, sender: source.sender,
                            universe: first, "universes not listed: \(missing.prefix(8).map(String.init).joined(separator: ", "))\(missing.count > 8 ? ", …" : "")")
                }
            }
        }
    }
}
