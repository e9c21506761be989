import PanelCapture
import PanelCore
import PanelDevice

/// The rules a quirk profile's `SenderExpectations` switch on that read any protocol's stream
/// facts (`ProtocolPlugin.summarize`): universes per address, frame rate, sync, TCP clients.
/// Rules that need the packet's slots (preview, pixel split, per-address priority) live with
/// their protocol's lint. Only traffic of the profile's protocol is judged.
final class ProfileLint {
    let profile: QuirkProfile
    private var expectations: SenderExpectations { profile.expectations }
    private struct StreamKey: Hashable { var source: Endpoint; var destination: String; var universe: Int }
    private struct Stream {
        var first: (record: Int, time: Timestamp)
        var last: Timestamp
        /// Intervals between data packets (the first `maxIntervals`), in nanoseconds.
        var intervals: [Int64] = []
    }
    private var streams: [StreamKey: Stream] = [:]
    private var universesByAddress: [String: Set<Int>] = [:]
    private var syncSenders: [String: (last: Timestamp?, intervals: [Int64])] = [:]
    /// Open TCP connections per server address.
    private var connections: [Endpoint: Set<Int>] = [:]
    static let maxIntervals = 4096
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
        case .datagram, .frame:
            guard let summary else { return }
            switch summary.kind {
            case .data:
                guard let universe = summary.universe else { return }
                data(universe, e, log)
            case .sync:
                guard syncSenders[e.source.address] != nil || syncSenders.count < Linter.maxStreams else { return }
                var s = syncSenders[e.source.address] ?? (nil, [])
                if let last = s.last, s.intervals.count < Self.maxIntervals { s.intervals.append((e.time - last).nanoseconds) }
                s.last = e.time
                syncSenders[e.source.address] = s
            case .poll, .reply, .discovery, .other:
                return
            }
        case .stream:
            return
        }
    }

    private func data(_ universe: Int, _ e: TrafficEvent, _ log: FindingLog) {
        if let limit = expectations.maxUniversesPerAddress {
            var set = universesByAddress[e.destination.address] ?? []
            if !set.contains(universe), set.count < 65536, universesByAddress[e.destination.address] != nil || universesByAddress.count < Linter.maxStreams {
                set.insert(universe)
                universesByAddress[e.destination.address] = set
                if set.count > limit {
                    log.hit("profile.universes-per-address", e, universe: universe,
                            "universe \(universe) is the \(set.count)th to \(e.destination.address); the controller serves \(limit)")
                }
            }
        }
        let key = StreamKey(source: e.source, destination: e.destination.address, universe: universe)
        guard var s = streams[key] ?? (streams.count < Linter.maxStreams ? Stream(first: (e.recordNumber, e.time), last: e.time) : nil) else { return }
        if s.last < e.time, s.intervals.count < Self.maxIntervals { s.intervals.append((e.time - s.last).nanoseconds) }
        s.last = e.time
        streams[key] = s
    }

    func finish(log: FindingLog, end: Timestamp) {
        for (key, s) in streams.sorted(by: { $0.value.first.record < $1.value.first.record }) {
            let sync = syncSenders[key.source.address]
            if expectations.requiresSync && sync == nil {
                log.hit("profile.sync-required", record: s.first.record, time: s.first.time, sender: key.source.description, universe: key.universe,
                        "data to \(key.destination) and no sync from \(key.source.address)")
            }
            if let limit = expectations.maxFrameRate, limit > 0 {
                // A sender that syncs shows a frame per sync; otherwise per data packet of a universe.
                let intervals = sync.map { $0.intervals.isEmpty ? s.intervals : $0.intervals } ?? s.intervals
                if let rate = Self.rate(intervals), rate > limit * Self.rateTolerance {
                    log.hit("profile.frame-rate", record: s.first.record, time: s.first.time, sender: key.source.description, universe: key.universe,
                            String(format: "%.1f frames/s (median interval); the controller takes %.0f", rate, limit))
                }
            }
        }
    }

    /// Frames per second from the median interval, when there are enough intervals to judge.
    static func rate(_ intervals: [Int64]) -> Double? {
        guard intervals.count >= 3 else { return nil }
        let sorted = intervals.sorted()
        let median = sorted[sorted.count / 2]
        return median > 0 ? 1e9 / Double(median) : nil
    }
}
