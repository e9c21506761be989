import PanelCapture
import PanelCore
import PanelDevice

/// The rules a quirk profile's `SenderExpectations` switch on that read any protocol's stream
/// facts: universes per address, frame rate and sync (from replay's `TrafficStats`: per-stream
/// intervals and the senders of sync packets), TCP clients. Rules that need the packet's slots
/// (preview, pixel split, per-address priority) live with their protocol's lint. Only traffic
/// of the profile's protocol is judged.
final class ProfileLint {
    let profile: QuirkProfile
    private var expectations: SenderExpectations { profile.expectations }
    private let stats = TrafficStats()
    /// The first record of each stream (sender and universe), for findings.
    private struct StreamKey: Hashable { var source: Endpoint; var universe: Int }
    private var firstRecord: [StreamKey: (record: Int, destination: String)] = [:]
    private var universesByAddress: [String: Set<Int>] = [:]
    /// Open TCP connections per server address.
    private var connections: [Endpoint: Set<Int>] = [:]
    /// Rates within 5 % of the limit pass (capture timestamps jitter).
    static let rateTolerance = 1.05

    init(profile: QuirkProfile) { self.profile = profile }

    func observe(_ e: TrafficEvent, _ summary: PacketSummary?, log: FindingLog) {
        guard let plugin = e.plugin, plugin.name == profile.protocolName else { return }
        switch e.kind {
        case .connectionOpened:
            guard expectations.oneTCPClient else { return }
            var open = connections[e.destination] ?? []
            if !open.isEmpty {
                log.hit("profile.second-tcp-client", e, "connection while \(open.count) other\(open.count == 1 ? " holds" : "s hold") \(e.destination)")
            }
            if open.count < 64, connections[e.destination] != nil || connections.count < Linter.maxStreams {
                open.insert(e.connection)
                connections[e.destination] = open
            }
        case .connectionClosed:
            for (server, open) in connections where open.contains(e.connection) {
                connections[server] = open.subtracting([e.connection])
            }
        case .datagram:
            stats.observe(plugin, UDPDatagram(recordNumber: e.recordNumber, time: e.time, source: e.source, destination: e.destination,
                                              payload: ArraySlice(e.payload), udpLength: e.payload.count + 8))
            guard let summary, summary.kind == .data, let universe = summary.universe else { return }
            let key = StreamKey(source: e.source, universe: universe)
            if firstRecord[key] == nil, firstRecord.count < Linter.maxStreams { firstRecord[key] = (e.recordNumber, e.destination.address) }
            universes(universe, e, log)
        case .frame, .stream:
            return
        }
    }

    private func universes(_ universe: Int, _ e: TrafficEvent, _ log: FindingLog) {
        guard let limit = expectations.maxUniversesPerAddress else { return }
        var set = universesByAddress[e.destination.address] ?? []
        guard !set.contains(universe), set.count < 65536,
              universesByAddress[e.destination.address] != nil || universesByAddress.count < Linter.maxStreams else { return }
        set.insert(universe)
        universesByAddress[e.destination.address] = set
        if set.count > limit {
            log.hit("profile.universes-per-address", e, universe: universe,
                    "universe \(universe) is the \(set.count)th to \(e.destination.address); the controller serves \(limit)")
        }
    }

    func finish(log: FindingLog, end: Timestamp) {
        for (key, s) in zip(stats.streamKeys, stats.streamList) {
            let sender = key.source.description
            let first = firstRecord[StreamKey(source: key.source, universe: key.universe)]
            let record = first?.record ?? 0
            if expectations.requiresSync,
               !stats.syncSenders.contains(TrafficStats.PacketKey(protocolName: key.protocolName, address: key.source.address)) {
                log.hit("profile.sync-required", record: record, time: s.first, sender: sender, universe: key.universe,
                        "data to \(first?.destination ?? "?") and no sync from \(key.source.address)")
            }
            // A frame per data packet of a universe (a sender that syncs sends each universe once per frame).
            if let limit = expectations.maxFrameRate, limit > 0, s.packets >= 4 {
                let median = s.intervals.valueAtPercentile(50)
                let rate = median > 0 ? 1e6 / Double(median) : 0
                if rate > limit * Self.rateTolerance {
                    log.hit("profile.frame-rate", record: record, time: s.first, sender: sender, universe: key.universe,
                            String(format: "%.1f frames/s (median interval); the controller takes %.0f", rate, limit))
                }
            }
        }
    }
}
