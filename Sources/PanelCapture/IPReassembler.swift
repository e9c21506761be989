import PanelCore

/// Puts IPv4 and IPv6 fragments back together, in any order, keyed by (version, source,
/// destination, protocol, identification).
///
/// Bounded whatever the capture claims: at most `maxDatagrams` datagrams in flight (the
/// oldest is given up to make room), each at most `maxDatagramBytes` of payload, and a
/// datagram not complete within `timeout` of capture time after its first fragment is
/// given up. Overlapping fragments keep the bytes that arrived first; each fragment that
/// overlaps is counted. A fragment of one of the last `maxRemembered` datagrams completed
/// (within `timeout`) that lies inside it is a duplicate (a mirror port often sends every
/// packet twice): it is counted as overlapping, not taken for the start of a new datagram.
struct IPReassembler {
    static let maxDatagrams = 256
    static let maxDatagramBytes = 65_535
    static let timeout: Int64 = 30_000_000_000
    /// Record numbers kept per datagram to name in a problem; more are only counted.
    static let maxNamedRecords = 16
    static let maxRemembered = 256

    struct Key: Hashable {
        var ipVersion: Int
        var source: String
        var destination: String
        var protocolNumber: UInt8
        var identification: UInt32
    }

    /// A datagram whose fragments are still arriving.
    struct Pending {
        var firstTime: Timestamp
        /// Reassembled payload so far; grows to the end of the furthest fragment.
        var bytes: [UInt8] = []
        /// Byte ranges received, sorted and merged.
        var covered: [Range<Int>] = []
        /// Payload length, known once the last fragment (more-fragments clear) arrived.
        var total: Int?
        var records: [Int] = []
        var fragments = 0
    }

    /// A datagram put back together.
    struct Completed {
        var key: Key
        var payload: [UInt8]
    }

    /// A datagram given up, described for `.reassemblyProblem`.
    struct GivenUp {
        var firstRecord: Int
        var detail: String
    }

    private(set) var pending: [Key: Pending] = [:]
    /// Keys in order of first fragment (oldest first), for eviction.
    private var order: [Key] = []
    /// The earliest capture time at which some pending datagram times out.
    private(set) var nextExpiry = Timestamp(nanoseconds: .max)
    /// Fragments that overlapped bytes already received (duplicates included).
    private(set) var overlappingFragments = 0
    /// Recently completed datagrams: when, and their payload length.
    private var completed: [Key: (time: Timestamp, total: Int)] = [:]
    /// Keys of `completed`, oldest first.
    private var completedOrder: [Key] = []

    /// Adds a fragment. Returns the datagram if this fragment completed it, and the
    /// datagrams given up on the way (evicted, or a fragment that cannot belong).
    mutating func add(_ fragment: IPFragment) -> (completed: Completed?, givenUp: [GivenUp]) {
        var givenUp: [GivenUp] = []
        let key = Key(ipVersion: fragment.ipVersion, source: fragment.sourceAddress,
                      destination: fragment.destinationAddress, protocolNumber: fragment.protocolNumber,
                      identification: fragment.identification)
        let start = fragment.fragmentOffset
        let (end, overflow) = start.addingReportingOverflow(fragment.payload.count)
        if overflow || end > Self.maxDatagramBytes {
            let detail = "\(describe(key)): fragment in record \(fragment.recordNumber) reaches byte \(overflow ? Int.max : end), beyond \(Self.maxDatagramBytes); dropped"
            return (nil, [GivenUp(firstRecord: fragment.recordNumber, detail: detail)])
        }
        var entry: Pending
        if let existing = pending[key] {
            entry = existing
        } else if let done = completed[key], end <= done.total, !Self.isLate(fragment.time, after: done.time) {
            overlappingFragments += 1  // a duplicate of a datagram already delivered
            return (nil, [])
        } else {
            if pending.count >= Self.maxDatagrams, let oldest = order.first {
                givenUp.append(giveUp(oldest, because: "evicted: more than \(Self.maxDatagrams) datagrams in flight"))
            }
            entry = Pending(firstTime: fragment.time)
            order.append(key)
            let (expiry, late) = fragment.time.nanoseconds.addingReportingOverflow(Self.timeout)
            nextExpiry = min(nextExpiry, Timestamp(nanoseconds: late ? .max : expiry))
        }
        entry.fragments += 1
        if entry.records.count < Self.maxNamedRecords { entry.records.append(fragment.recordNumber) }
        if !fragment.moreFragments, entry.total == nil { entry.total = end }
        if end > entry.bytes.count {
            entry.bytes.append(contentsOf: repeatElement(0, count: end - entry.bytes.count))
        }
        if insert(fragment.payload, at: start, into: &entry) { overlappingFragments += 1 }
        if let total = entry.total, let first = entry.covered.first, first.lowerBound == 0, first.upperBound >= total {
            pending[key] = nil
            order.removeAll { $0 == key }
            recomputeExpiry()
            remember(key, time: fragment.time, total: total)
            entry.bytes.removeLast(entry.bytes.count - total)  // bytes past a last fragment's end
            return (Completed(key: key, payload: entry.bytes), givenUp)
        }
        pending[key] = entry
        return (nil, givenUp)
    }

    /// True when `time` is more than `timeout` after `start`.
    private static func isLate(_ time: Timestamp, after start: Timestamp) -> Bool {
        let (age, overflow) = time.nanoseconds.subtractingReportingOverflow(start.nanoseconds)
        return overflow || age > timeout
    }

    private mutating func remember(_ key: Key, time: Timestamp, total: Int) {
        if completed.updateValue((time, total), forKey: key) == nil {
            completedOrder.append(key)
            if completedOrder.count > Self.maxRemembered {
                completed[completedOrder.removeFirst()] = nil
            }
        }
    }

    /// Gives up every datagram whose first fragment is more than `timeout` before `now`.
    mutating func expire(now: Timestamp) -> [GivenUp] {
        guard now >= nextExpiry else { return [] }
        var givenUp: [GivenUp] = []
        for key in order {
            guard let entry = pending[key] else { continue }
            if Self.isLate(now, after: entry.firstTime) {
                givenUp.append(giveUp(key, because: "incomplete \(Self.timeout / 1_000_000_000) s after its first fragment"))
            }
        }
        recomputeExpiry()
        return givenUp
    }

    /// Gives up everything still pending (the capture ended).
    mutating func finish() -> [GivenUp] {
        let keys = order
        return keys.map { giveUp($0, because: "incomplete when the capture ended") }
    }

    /// Copies the bytes of `payload` not yet covered (first data wins) and merges the range.
    /// Returns true when some of it was already covered.
    private func insert(_ payload: ArraySlice<UInt8>, at start: Int, into entry: inout Pending) -> Bool {
        let end = start + payload.count
        guard start < end else { return false }
        var overlapped = false
        var cursor = start
        for range in entry.covered where range.upperBound > start && range.lowerBound < end {
            overlapped = true
            if range.lowerBound > cursor { copy(payload, from: start, cursor..<range.lowerBound, into: &entry.bytes) }
            cursor = max(cursor, range.upperBound)
        }
        if cursor < end { copy(payload, from: start, cursor..<end, into: &entry.bytes) }
        // Merge start..<end into the sorted, disjoint, non-adjacent ranges.
        var merged = start..<end
        var result: [Range<Int>] = []
        result.reserveCapacity(entry.covered.count + 1)
        var placed = false
        for range in entry.covered {
            if range.upperBound < merged.lowerBound {
                result.append(range)
            } else if range.lowerBound > merged.upperBound {
                if !placed { result.append(merged); placed = true }
                result.append(range)
            } else {
                merged = min(range.lowerBound, merged.lowerBound)..<max(range.upperBound, merged.upperBound)
            }
        }
        if !placed { result.append(merged) }
        entry.covered = result
        return overlapped
    }

    private func copy(_ payload: ArraySlice<UInt8>, from start: Int, _ range: Range<Int>, into bytes: inout [UInt8]) {
        let base = payload.startIndex - start
        bytes.replaceSubrange(range, with: payload[(range.lowerBound + base)..<(range.upperBound + base)])
    }

    private mutating func giveUp(_ key: Key, because reason: String) -> GivenUp {
        let entry = pending.removeValue(forKey: key)
        order.removeAll { $0 == key }
        guard let entry else { return GivenUp(firstRecord: 0, detail: "\(describe(key)): \(reason)") }
        let have = entry.covered.reduce(0) { $0 + $1.count }
        let of = entry.total.map { "\($0)" } ?? "?"
        var records = entry.records.map(String.init).joined(separator: ", ")
        if entry.fragments > entry.records.count { records += " … (\(entry.fragments) fragments)" }
        let detail = "\(describe(key)): \(reason); given up with \(have) of \(of) bytes, from records \(records)"
        return GivenUp(firstRecord: entry.records.first ?? 0, detail: detail)
    }

    private mutating func recomputeExpiry() {
        var earliest = Int64.max
        for entry in pending.values {
            let (expiry, overflow) = entry.firstTime.nanoseconds.addingReportingOverflow(Self.timeout)
            earliest = min(earliest, overflow ? .max : expiry)
        }
        nextExpiry = Timestamp(nanoseconds: earliest)
    }

    private func describe(_ key: Key) -> String {
        let family = key.ipVersion == 6 ? "IPv6" : "IPv4"
        let identification = String(key.identification, radix: 16)
        return "\(family) \(PacketParser.protocolName(key.protocolNumber)) datagram \(key.source) → \(key.destination) id 0x\(identification)"
    }
}
