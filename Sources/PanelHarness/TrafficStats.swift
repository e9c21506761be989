import Histogram
import PanelCapture
import PanelCore
import PanelDevice
import PanelWire
import PanelSession

/// Per-stream statistics of a capture (a stream: one sender to one universe of one protocol):
/// packets, rate, interval percentiles (HdrHistogram), largest gap, sequence gaps, duplicates and
/// reorders, priorities. Protocol facts come from each plugin's `summarize`, so a new protocol
/// is counted without changes here. Memory is bounded: at most `maxStreams` streams.
public final class TrafficStats {
    public static let maxStreams = 1024
    /// Intervals are recorded in microseconds up to a minute (longer ones as a minute).
    static let maxInterval: UInt64 = 60_000_000

    public struct StreamKey: Hashable, Comparable, Sendable {
        public var protocolName: String
        public var source: Endpoint
        public var universe: Int
        public static func < (a: StreamKey, b: StreamKey) -> Bool {
            (a.protocolName, a.universe, a.source.address, a.source.port) < (b.protocolName, b.universe, b.source.address, b.source.port)
        }
    }

    /// A packet its protocol's decoder rejected.
    public struct Malformed: Sendable {
        public var recordNumber: Int
        public var time: Timestamp
        public var protocolName: String
        public var source: Endpoint
        public var reason: String
        public var offset: Int
        public var detail: String
    }
    public static let maxMalformedListed = 200

    public struct Stream {
        public var first: Timestamp
        public var last: Timestamp
        public var packets = 0
        public var intervals = Histogram<UInt64>(highestTrackableValue: TrafficStats.maxInterval, numberOfSignificantValueDigits: .two)
        public var largestGap = Timestamp.zero
        public var largestGapAt = Timestamp.zero
        public var firstSequence: UInt8?
        public var lastSequence: UInt8?
        public var sequenceGaps = 0
        public var missing = 0
        /// Packets lost in the largest single gap.
        public var largestLoss = 0
        public var duplicates = 0
        public var reorders = 0
        public var priorities: Set<UInt8> = []
        /// Synchronization addresses the stream's data packets named (sACN).
        public var syncAddresses: Set<Int> = []
        var lastPriority: UInt8?
        var lastSyncAddress: Int?
        public var senderID: String?
        public var senderName: String?
        /// (seconds since the capture's start, interval in ms), thinned to at most `maxTimeline`
        /// points by keeping every `timelineStride`-th interval.
        public var timeline: [(Double, Double)] = []
        var timelineStride = 1
        var timelineCount = 0
    }

    public static let maxTimeline = 2000

    /// The streams, in order of first packet; `index` finds one by key.
    // Updated on every datagram from one thread (replay's reading thread); the runtime's
    // exclusivity checks on these class properties are switched off for them alone.
    @exclusivity(unchecked) public private(set) var streamList: [Stream] = []
    @exclusivity(unchecked) public private(set) var streamKeys: [StreamKey] = []
    @exclusivity(unchecked) private var index: [StreamKey: Int] = [:]
    /// The stream last seen per universe (modulo `recentSlots`): most packets find theirs here
    /// without hashing the key.
    @exclusivity(unchecked) private var recent = [Int?](repeating: nil, count: TrafficStats.recentSlots)
    static let recentSlots = 1024
    public var streams: [StreamKey: Stream] { Dictionary(uniqueKeysWithValues: zip(streamKeys, streamList)) }
    /// Malformed packets with their record numbers (the first `maxMalformedListed`).
    public private(set) var malformedPackets: [Malformed] = []
    /// Senders (protocol and address) that sent the protocol's sync packets (ArtSync, E1.31 sync).
    public private(set) var syncSenders: Set<PacketKey> = []
    public struct PacketKey: Hashable, Sendable { public var protocolName: String; public var address: String }
    public private(set) var streamsLeftOut = 0
    public private(set) var malformed: [String: Int] = [:]
    @exclusivity(unchecked) public private(set) var violations: [String: Int] = [:]
    @exclusivity(unchecked) public private(set) var unknownDatagrams = 0
    @exclusivity(unchecked) public private(set) var firstTime: Timestamp?

    public init() {}

    /// Counts one datagram of a detected protocol.
    public func observe(_ plugin: ProtocolPlugin?, _ d: UDPDatagram) {
        if firstTime == nil { firstTime = d.time }
        guard let plugin = plugin else { unknownDatagrams += 1; return }
        d.payload.withUnsafeBytes { b in
            do throws(WireError) {
                var summary = try plugin.summarize(b, false)
                for v in summary.violations { violations[v, default: 0] += 1 }
                if summary.kind == .sync, syncSenders.count < TrafficStats.maxStreams { syncSenders.insert(PacketKey(protocolName: plugin.name, address: d.source.address)) }
                guard summary.kind == .data, let universe = summary.universe else { return }
                let key = StreamKey(protocolName: plugin.name, source: d.source, universe: universe)
                let i: Int
                let slot = universe & (TrafficStats.recentSlots - 1)
                if let r = recent[slot], streamKeys[r] == key {
                    i = r
                } else if let known = index[key] {
                    i = known
                    recent[slot] = known
                } else {
                    guard streamList.count < TrafficStats.maxStreams else { streamsLeftOut += 1; return }
                    i = streamList.count
                    index[key] = i
                    streamKeys.append(key)
                    streamList.append(Stream(first: d.time, last: d.time))
                    recent[slot] = i
                    // Identity (sACN CID and source name) is read once per stream: it costs text.
                    summary = try plugin.summarize(b, true)
                }
                update(&streamList[i], summary, at: d.time)
            } catch {
                malformed["\(plugin.name): \(error.reason.rawValue)", default: 0] += 1
                if malformedPackets.count < TrafficStats.maxMalformedListed {
                    malformedPackets.append(Malformed(recordNumber: d.recordNumber, time: d.time, protocolName: plugin.name, source: d.source,
                                                      reason: error.reason.rawValue, offset: error.offset, detail: error.detail))
                }
            }
        }
    }

    private func update(_ s: inout Stream, _ summary: PacketSummary, at time: Timestamp) {
        if s.packets > 0 {
            let interval = time - s.last
            if interval.nanoseconds >= 0 {
                _ = s.intervals.record(min(TrafficStats.maxInterval, UInt64(interval.nanoseconds / 1000)))
                if interval > s.largestGap { s.largestGap = interval; s.largestGapAt = s.last }
                if s.timelineCount % s.timelineStride == 0 {
                    s.timeline.append(((time - (firstTime ?? time)).seconds, Double(interval.nanoseconds) / 1e6))
                    if s.timeline.count >= TrafficStats.maxTimeline {
                        s.timeline = s.timeline.enumerated().filter { $0.offset % 2 == 0 }.map(\.element)
                        s.timelineStride *= 2
                    }
                }
                s.timelineCount += 1
            }
        }
        if let seq = summary.sequence, let rule = summary.sequenceRule {
            switch rule.judge(last: s.lastSequence, new: seq) {
            case .gap(let n): s.sequenceGaps += 1; s.missing += n; s.largestLoss = max(s.largestLoss, n); s.lastSequence = seq
            case .duplicate: s.duplicates += 1
            case .outOfOrder: s.reorders += 1
            case .first: s.firstSequence = seq; s.lastSequence = seq
            case .next: s.lastSequence = seq
            case .disabled: break
            }
        }
        // Sets are touched only when the value changes (hashing per packet is measurable).
        if let p = summary.priority, p != s.lastPriority { s.lastPriority = p; s.priorities.insert(p) }
        if let a = summary.syncAddress, a != s.lastSyncAddress, s.syncAddresses.count < 8 { s.lastSyncAddress = a; s.syncAddresses.insert(a) }
        if let id = summary.senderID, s.senderID != id { s.senderID = id }
        if let name = summary.senderName, s.senderName != name { s.senderName = name }
        s.packets += 1
        s.last = time
    }

    /// The statistics as report.json's `streams` list and findings in plain words.
    public func json() -> (streams: JSONValue, findings: [String]) {
        var list: [JSONValue] = []
        var findings: [String] = []
        let origin = firstTime ?? .zero
        for (key, s) in zip(streamKeys, streamList).sorted(by: { $0.0 < $1.0 }) {
            let duration = (s.last - s.first).seconds
            let rate = duration > 0 ? Double(s.packets - 1) / duration : 0
            func ms(_ p: Double) -> JSONValue { .double(Double(s.intervals.valueAtPercentile(p)) / 1000) }
            var o: [String: JSONValue] = [
                "protocol": .string(key.protocolName), "source": .string(key.source.description), "universe": .int(key.universe),
                "packets": .int(s.packets), "first": .double((s.first - origin).seconds), "last": .double((s.last - origin).seconds),
                "rate": .double(rate),
                "interval-ms": .object(["p50": ms(50), "p90": ms(90), "p99": ms(99), "max": .double(Double(s.intervals.maxRecorded) / 1000)]),
                "largest-gap-ms": .double(Double(s.largestGap.nanoseconds) / 1e6),
                "sequence": .object(["gaps": .int(s.sequenceGaps), "missing": .int(s.missing), "largest-loss": .int(s.largestLoss),
                                     "first": s.firstSequence.map { .int(Int($0)) } ?? .null, "last": s.lastSequence.map { .int(Int($0)) } ?? .null, "duplicates": .int(s.duplicates), "reorders": .int(s.reorders)]),
                "priorities": .array(s.priorities.sorted().map { .int(Int($0)) }),
                "sync": .object([
                    "addresses": .array(s.syncAddresses.sorted().map { .int($0) }),
                    "sender-sends-sync": .bool(syncSenders.contains(PacketKey(protocolName: key.protocolName, address: key.source.address))),
                ]),
            ]
            if let id = s.senderID { o["cid"] = .string(id) }
            if let n = s.senderName { o["name"] = .string(n) }
            list.append(.object(o))
            if s.missing > 0 {
                findings.append("\(key.protocolName) universe \(key.universe) from \(key.source): \(s.missing) \(s.missing == 1 ? "packet" : "packets") lost in \(s.sequenceGaps) \(s.sequenceGaps == 1 ? "gap" : "gaps") (largest: \(s.largestLoss) in a row)")
            }
            if s.reorders > 0 || s.duplicates > 0 {
                findings.append("\(key.protocolName) universe \(key.universe) from \(key.source): \(s.reorders) out of order, \(s.duplicates) duplicated")
            }
            if s.packets > 2, let p50 = Optional(s.intervals.valueAtPercentile(50)), p50 > 0, UInt64(s.largestGap.nanoseconds / 1000) > 4 * p50 {
                findings.append("\(key.protocolName) universe \(key.universe) from \(key.source): silent for \(Double(s.largestGap.nanoseconds / 1_000_000) / 1000) s from \(Double((s.largestGapAt - origin).nanoseconds / 1_000_000) / 1000) s")
            }
        }
        return (.array(list), findings)
    }
}
