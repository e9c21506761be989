import Foundation
import PanelCapture
import PanelCore
import PanelDevice

/// Reads a capture on a thread of its own and hands its events over in batches to the device
/// models and, on a third thread, to the traffic statistics, so that decoding, statistics and
/// the models overlap. Order is kept for each. Memory is bounded: at most `depth` batches of at
/// most `batchSize` events and `batchBytes` payload bytes are in flight.
final class CapturePipeline {
    /// One capture event as the consumer sees it.
    enum Item {
        /// A UDP datagram and the protocol detected in it; its payload is `bytes[payload]` of
        /// the batch.
        case datagram(DatagramHeader, plugin: ProtocolPlugin?, payload: Range<Int>)
        /// Any other event (rare next to datagrams: kept as the decoder gave it).
        case other(CaptureEvent)
    }

    /// A UDP datagram without its payload.
    struct DatagramHeader {
        var recordNumber: Int
        var time: Timestamp
        var source: Endpoint
        var destination: Endpoint
        var udpLength: Int
        var lengthNote: UDPLengthNote?
        init(_ d: UDPDatagram) {
            recordNumber = d.recordNumber; time = d.time; source = d.source; destination = d.destination
            udpLength = d.udpLength; lengthNote = d.lengthNote
        }
        func datagram(payload: ArraySlice<UInt8>) -> UDPDatagram {
            UDPDatagram(recordNumber: recordNumber, time: time, source: source, destination: destination, payload: payload,
                        udpLength: udpLength, lengthNote: lengthNote)
        }
    }

    /// Filled by the reading thread, then handed to the consumer: never touched by both at once.
    final class Batch {
        @exclusivity(unchecked) var bytes: [UInt8] = []
        @exclusivity(unchecked) var items: [Item] = []
        /// How much of the capture file had been read when the batch was handed over.
        var fractionRead: Double?
        /// Consumers that have not finished with the batch (under the pipeline's lock).
        var pendingConsumers = 0
        init(capacity: Int, bytes: Int) {
            items.reserveCapacity(capacity)
            self.bytes.reserveCapacity(bytes)
        }
    }

    /// The batch the reading thread fills (a class, so the per-event closure does not pay for
    /// a boxed variable's exclusivity checks; only that thread touches it).
    private final class Filling {
        @exclusivity(unchecked) var batch: Batch
        init(_ batch: Batch) { self.batch = batch }
    }

    let batchSize = 2048
    let batchBytes = 2 << 20
    let depth = 4

    private let condition = NSCondition()
    /// Batches waiting for each consumer (index 0: `consume`, 1: `observe`).
    private var ready: [[Batch]] = [[], []]
    private var spare: [Batch] = []
    private var finished: CaptureReadSummary?
    private var consumers = 1
    private var observerDone = false

    /// Runs `decoder` on a new thread; `classify` runs there for each datagram (with its
    /// payload). `consume` runs on the calling thread for each batch, in order; `observe`, when
    /// given, on a thread of its own for each batch, in order, at the same time (both only read
    /// the batch). Returns when the capture is read and both have seen every batch.
    func run(_ decoder: CaptureDecoder, classify: @escaping (UDPDatagram) -> ProtocolPlugin?,
             observe: ((Batch) -> Void)? = nil, consume: (Batch) -> Void) -> CaptureReadSummary {
        consumers = observe == nil ? 1 : 2
        let producer = Thread { [self] in
            let filling = Filling(takeSpare())
            let summary = decoder.run { event in
                let batch = filling.batch
                if case .udp(let d) = event {
                    let plugin = classify(d)
                    let start = batch.bytes.count
                    batch.bytes.append(contentsOf: d.payload)
                    batch.items.append(.datagram(DatagramHeader(d), plugin: plugin, payload: start..<batch.bytes.count))
                } else {
                    batch.items.append(.other(event))
                }
                if batch.items.count >= batchSize || batch.bytes.count >= batchBytes {
                    batch.fractionRead = decoder.fractionRead
                    hand(batch)
                    filling.batch = takeSpare()
                }
            }
            if !filling.batch.items.isEmpty { hand(filling.batch) }
            condition.lock()
            finished = summary
            condition.broadcast()
            condition.unlock()
        }
        producer.name = "panelsim.capture-reader"
        producer.start()
        if let observe {
            let observer = Thread { [self] in
                while let batch = next(for: 1) {
                    observe(batch)
                    release(batch)
                }
                condition.lock()
                observerDone = true
                condition.broadcast()
                condition.unlock()
            }
            observer.name = "panelsim.capture-statistics"
            observer.start()
        }
        while let batch = next(for: 0) {
            consume(batch)
            release(batch)
        }
        condition.lock()
        defer { condition.unlock() }
        while consumers == 2 && !observerDone { condition.wait() }
        return finished ?? CaptureReadSummary()
    }

    /// The next batch for a consumer, or nil when the capture is read and it has seen them all.
    private func next(for consumer: Int) -> Batch? {
        condition.lock()
        defer { condition.unlock() }
        while ready[consumer].isEmpty && finished == nil { condition.wait() }
        return ready[consumer].isEmpty ? nil : ready[consumer].removeFirst()
    }

    /// A consumer is done with a batch; the last one recycles it.
    private func release(_ batch: Batch) {
        condition.lock()
        batch.pendingConsumers -= 1
        let last = batch.pendingConsumers == 0
        condition.unlock()
        guard last else { return }
        batch.items.removeAll(keepingCapacity: true)
        batch.bytes.removeAll(keepingCapacity: true)
        condition.lock()
        spare.append(batch)
        condition.broadcast()
        condition.unlock()
    }

    /// A batch to fill: a recycled one, or a new one while fewer than `depth` exist; waits for
    /// the consumers otherwise.
    private var created = 0
    private func takeSpare() -> Batch {
        condition.lock()
        defer { condition.unlock() }
        while spare.isEmpty && created >= depth { condition.wait() }
        if let b = spare.popLast() { return b }
        created += 1
        return Batch(capacity: batchSize, bytes: batchBytes)
    }

    private func hand(_ batch: Batch) {
        condition.lock()
        batch.pendingConsumers = consumers
        for c in 0..<consumers { ready[c].append(batch) }
        condition.broadcast()
        condition.unlock()
    }
}
