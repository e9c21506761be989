import Foundation
import PanelCore

/// Applies `FaultSettings` to a stream of packets, sans-I/O: the caller offers packets with
/// their send time and asks for the packets due up to a time; nothing here reads a clock.
///
/// Deterministic: all randomness comes from one `SeededGenerator` seeded with
/// `settings.seed` and is drawn when a packet is offered, so the same offers (in
/// non-decreasing time, with `release` never asked past the next offer's time) give the
/// same output, byte for byte and time for time.
///
/// Per offered packet, in this order:
/// 1. burst loss (Gilbert–Elliott): the state steps (good → bad with `enterBad`,
///    bad → good with `exitBad`); while bad the packet is lost with `lossInBad`;
///    then independent `loss`. A lost packet is counted `lost` and draws nothing more.
/// 2. ready time = send time + a `delay` sample + a `jitter` sample, each sample cut at 0.
/// 3. bandwidth cap: the packet starts when it is ready and the previous one has
///    finished, and is due when its last bit is through (8 × payload bytes / rate after
///    it starts; duplicates and dropped packets take no link time).
/// 4. with probability `reorder` it is held back once due, until `reorderDistance`
///    packets offered after it have been delivered; it then follows the last of them
///    (at that packet's time). If fewer follow, `flush` releases it.
/// 5. with probability `duplicate` a second, identical copy follows it at the same time.
/// 6. if `queueLimit` packets are already held, it is dropped (`queueDrops`).
///
/// Delivery order is by due time, ties in offer order. Settings are clamped, never
/// trapped on: probabilities to 0...1 (NaN as 0), negative durations to 0,
/// `reorderDistance` to at least 1, `queueLimit` to at least 0; a bandwidth that is not
/// a positive number means no cap. Held payloads live in a pool of reused buffers, at
/// most `queueLimit` of them. The `deliver` closures must not call back into the stage.
public final class FaultStage {
    /// The settings as given (the stage uses clamped copies of them).
    public let settings: FaultSettings
    /// What the stage has done so far.
    @exclusivity(unchecked) public private(set) var counters = FaultCounters()

    /// A packet waiting in the heap or in the hold list.
    private struct Entry {
        var due: Int64
        var seq: UInt64
        var slot: Int
        /// Payload bytes at the start of `buffers[slot]` (a reused buffer may be longer).
        var length: Int
        var reorder: Bool
        var duplicate: Bool

        @inline(__always) func before(_ other: Entry) -> Bool {
            due < other.due || (due == other.due && seq < other.seq)
        }
    }

    /// A reordered packet that has become due and waits for `remaining` later packets.
    private struct Held {
        var entry: Entry
        var remaining: Int
    }

    private let transparent: Bool
    private let loss: Double
    private let duplicate: Double
    private let reorder: Double
    private let reorderDistance: Int
    private let queueLimit: Int
    private let enterBad: Double
    private let exitBad: Double
    private let lossInBad: Double
    private let hasBurstLoss: Bool
    /// Nanoseconds per bit, nil without a cap.
    private let nanosecondsPerBit: Double?

    // The mutable state skips the runtime's exclusivity checks (they were more than half of a
    // packet's cost): no access to it is held while a `deliver` closure runs, and the stage's
    // methods never re-enter one another.
    @exclusivity(unchecked) private var generator: SeededGenerator
    @exclusivity(unchecked) private var inBadState = false
    @exclusivity(unchecked) private var linkFreeAt = Int64.min
    @exclusivity(unchecked) private var nextSeq: UInt64 = 0
    /// Time of the latest delivery, for held-back packets released by `flush`.
    @exclusivity(unchecked) private var lastDelivery = Int64.min

    /// Min-heap on (due, seq).
    @exclusivity(unchecked) private var heap: [Entry] = []
    /// Reordered packets waiting for later ones, in the order they became due.
    @exclusivity(unchecked) private var held: [Held] = []
    /// Held packets whose wait is over, largest seq first (taken from the end).
    @exclusivity(unchecked) private var ready: [Entry] = []
    /// Payload storage, reused: `buffers[slot]`; free slots in `freeSlots`.
    @exclusivity(unchecked) private var buffers: [[UInt8]] = []
    @exclusivity(unchecked) private var freeSlots: [Int] = []

    /// A stage applying `settings`, starting from `settings.seed`.
    public init(settings: FaultSettings) {
        self.settings = settings
        generator = SeededGenerator(seed: settings.seed)
        transparent = settings.isTransparent
        loss = Self.probability(settings.loss)
        duplicate = Self.probability(settings.duplicate)
        reorder = Self.probability(settings.reorder)
        reorderDistance = max(1, settings.reorderDistance)
        queueLimit = max(0, settings.queueLimit)
        if let burst = settings.burstLoss {
            hasBurstLoss = true
            enterBad = Self.probability(burst.enterBad)
            exitBad = Self.probability(burst.exitBad)
            lossInBad = Self.probability(burst.lossInBad)
        } else {
            hasBurstLoss = false
            enterBad = 0; exitBad = 0; lossInBad = 0
        }
        if let rate = settings.bandwidthBitsPerSecond, rate > 0, rate.isFinite {
            nanosecondsPerBit = 1e9 / rate
        } else {
            nanosecondsPerBit = nil
        }
    }

    /// Offers a packet sent at `time` (the stage copies what it keeps). Offers are expected
    /// in non-decreasing time.
    public func offer(_ packet: UnsafeRawBufferPointer, at time: Timestamp) {
        counters.offered += 1
        var due = time.nanoseconds
        var reorderIt = false
        var duplicateIt = false
        if !transparent {
            if hasBurstLoss {
                inBadState = inBadState ? !(draw() < exitBad) : draw() < enterBad
                if inBadState && draw() < lossInBad {
                    counters.lost += 1
                    return
                }
            }
            if loss > 0 && draw() < loss {
                counters.lost += 1
                return
            }
            due = Self.add(due, sample(settings.delay))
            due = Self.add(due, sample(settings.jitter))
            reorderIt = reorder > 0 && draw() < reorder
            duplicateIt = duplicate > 0 && draw() < duplicate
        }
        guard heap.count + held.count < queueLimit else {
            counters.queueDrops += 1
            return
        }
        if let nanosecondsPerBit {
            let bits = Double(packet.count) * 8
            let start = max(due, linkFreeAt)
            due = Self.add(start, Self.nanoseconds((bits * nanosecondsPerBit).rounded(.up)))
            linkFreeAt = due
        }
        let slot = freeSlots.popLast() ?? newSlot()
        let shortBy = packet.count - buffers[slot].count
        if shortBy > 0 { buffers[slot].append(contentsOf: repeatElement(0, count: shortBy)) }
        buffers[slot].withUnsafeMutableBytes { $0.copyMemory(from: packet) }
        push(Entry(due: due, seq: nextSeq, slot: slot, length: packet.count, reorder: reorderIt, duplicate: duplicateIt))
        nextSeq &+= 1
    }

    /// Hands on, in delivery order, every packet due at or before `time`, with its delivery
    /// time. Held-back packets still waiting for later ones stay held.
    public func release(upTo time: Timestamp, _ deliver: (UnsafeRawBufferPointer, Timestamp) -> Void) {
        while let top = heap.first, top.due <= time.nanoseconds {
            popTop()
            arrive(top, deliver)
        }
    }

    /// When the next held packet is due (nil: none due; a held-back packet waiting for
    /// later packets has no due time of its own — `flush` hands it on).
    public var nextDue: Timestamp? {
        heap.first.map { Timestamp(nanoseconds: $0.due) }
    }

    /// Hands on everything still held, in delivery order (end of a run); held-back packets
    /// that fewer than `reorderDistance` packets followed come last, in offer order, each at
    /// its due time or the latest delivery time, whichever is later.
    public func flush(_ deliver: (UnsafeRawBufferPointer, Timestamp) -> Void) {
        release(upTo: Timestamp(nanoseconds: .max), deliver)
        held.sort { $0.entry.seq < $1.entry.seq }
        for waiting in held {
            emit(waiting.entry, at: max(waiting.entry.due, lastDelivery), deliver)
        }
        held.removeAll(keepingCapacity: true)
    }

    /// Payload buffers the pool holds (used or free): never more than `queueLimit`.
    var pooledBuffers: Int { buffers.count }

    /// A new, empty buffer for the pool (it only grows to the largest packet it held).
    private func newSlot() -> Int {
        buffers.append([])
        return buffers.count - 1
    }

    // MARK: - Delivery

    /// A packet from the heap has become due: delivered, or held back if it is to be reordered.
    private func arrive(_ entry: Entry, _ deliver: (UnsafeRawBufferPointer, Timestamp) -> Void) {
        if entry.reorder {
            counters.reordered += 1
            held.append(Held(entry: entry, remaining: reorderDistance))
            return
        }
        guard !held.isEmpty else {
            emit(entry, at: entry.due, deliver)
            return
        }
        let time = entry.due
        ready.append(entry)
        while let next = ready.popLast() {
            emit(next, at: time, deliver)
            countDelivery(of: next.seq)
        }
    }

    /// One more packet offered as `seq` was delivered: held packets offered before it come
    /// one closer to release; those whose wait is over go to `ready`, smallest seq last.
    private func countDelivery(of seq: UInt64) {
        var index = 0
        while index < held.count {
            if held[index].entry.seq < seq {
                held[index].remaining -= 1
                if held[index].remaining <= 0 {
                    let entry = held.remove(at: index).entry
                    let position = ready.firstIndex { $0.seq < entry.seq } ?? ready.endIndex
                    ready.insert(entry, at: position)
                    continue
                }
            }
            index += 1
        }
    }

    /// Hands a packet on (twice if duplicated) and returns its buffer to the pool.
    private func emit(_ entry: Entry, at time: Int64, _ deliver: (UnsafeRawBufferPointer, Timestamp) -> Void) {
        let bytes = buffers[entry.slot]
        let stamp = Timestamp(nanoseconds: time)
        bytes.withUnsafeBytes { deliver(UnsafeRawBufferPointer(rebasing: $0.prefix(entry.length)), stamp) }
        counters.delivered += 1
        if entry.duplicate {
            bytes.withUnsafeBytes { deliver(UnsafeRawBufferPointer(rebasing: $0.prefix(entry.length)), stamp) }
            counters.delivered += 1
            counters.duplicated += 1
        }
        lastDelivery = max(lastDelivery, time)
        freeSlots.append(entry.slot)
    }

    // MARK: - Heap

    private func push(_ entry: Entry) {
        heap.append(entry)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard entry.before(heap[parent]) else { break }
            heap[child] = heap[parent]
            child = parent
        }
        heap[child] = entry
    }

    private func popTop() {
        let last = heap.removeLast()
        guard !heap.isEmpty else { return }
        var parent = 0
        let count = heap.count
        while true {
            var child = 2 * parent + 1
            guard child < count else { break }
            if child + 1 < count && heap[child + 1].before(heap[child]) { child += 1 }
            guard heap[child].before(last) else { break }
            heap[parent] = heap[child]
            parent = child
        }
        heap[parent] = last
    }

    // MARK: - Randomness

    /// Uniform in 0..<1 with 53 random bits.
    @inline(__always) private func draw() -> Double {
        Double(generator.next() >> 11) * 0x1p-53
    }

    /// A duration from `distribution`, in nanoseconds, cut at 0.
    private func sample(_ distribution: FaultSettings.Distribution) -> Int64 {
        switch distribution {
        case .constant(let value):
            return max(0, value.nanoseconds)
        case .uniform(let a, let b):
            let low = Double(min(a.nanoseconds, b.nanoseconds))
            let high = Double(max(a.nanoseconds, b.nanoseconds))
            return Self.nanoseconds(low + draw() * (high - low))
        case .normal(let mean, let deviation):
            // Box–Muller; 1 - draw() is in 0<..1, so the logarithm is finite.
            let radius = (-2 * log(1 - draw())).squareRoot()
            let normal = radius * cos(2 * Double.pi * draw())
            return Self.nanoseconds(Double(mean.nanoseconds) + normal * Double(max(0, deviation.nanoseconds)))
        case .exponential(let mean):
            return Self.nanoseconds(-log(1 - draw()) * Double(max(0, mean.nanoseconds)))
        }
    }

    /// A probability clamped to 0...1, NaN as 0.
    private static func probability(_ p: Double) -> Double {
        p > 0 ? min(p, 1) : 0
    }

    /// Whole nanoseconds from a Double: negative and NaN as 0, saturating at `Int64.max`.
    private static func nanoseconds(_ value: Double) -> Int64 {
        guard value > 0 else { return 0 }
        return value < 9.2e18 ? Int64(value.rounded()) : .max
    }

    /// Saturating sum of a time and a non-negative duration.
    @inline(__always) private static func add(_ time: Int64, _ duration: Int64) -> Int64 {
        let (sum, overflow) = time.addingReportingOverflow(duration)
        return overflow ? .max : sum
    }
}
