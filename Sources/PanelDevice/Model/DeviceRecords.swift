import PanelCore
import PanelWire

/// What every device model keeps besides its protocol state: counters, the outbox, and the
/// bounded lists of findings and malformed packets. Models hold one and share its logic.
struct DeviceRecords {
    /// The model's counters. Broken rules are tallied as a run while packet after packet breaks
    /// the same ones (a sender repeats its own), and added to the counters when they are read:
    /// a repeated violation costs no hashing per packet.
    var counters: DeviceCounters {
        get {
            var c = tallied
            c.countViolations(violationRun, times: violationRepeats)
            return c
        }
        _modify { yield &tallied }
    }
    private var tallied = DeviceCounters()
    /// The rules the latest packet with violations broke, and how many packets in a row broke
    /// exactly these (not yet in `tallied`).
    private var violationRun: [RuleID] = []
    private var violationRepeats = 0
    /// Frame events and replies not yet taken.
    var output: DeviceOutput {
        get { handedOut ? DeviceOutput() : outbox }
        _modify {
            recycle()
            yield &outbox
        }
    }
    private var outbox = DeviceOutput()
    /// With `reusesOutbox`, `take()` hands out the outbox itself and it is emptied at its next
    /// use (`recycle()`), keeping its arrays' storage once the taker has let go of them: a model
    /// emitting a frame per packet then allocates nothing per packet in steady state.
    private var handedOut = false
    let reusesOutbox: Bool

    init(reusesOutbox: Bool = false) { self.reusesOutbox = reusesOutbox }
    var findings = BoundedLog<DeviceFinding>(limit: 1000)
    var malformed = BoundedLog<MalformedPacket>(limit: 1000)
    private var firstPacket: Timestamp?

    /// Counts a datagram of `size` bytes arriving at `time`.
    private mutating func arrived(size: Int, at time: Timestamp) {
        if firstPacket == nil { firstPacket = time }
        counters.packets += 1
        counters.bytes += size
    }

    /// Seconds since the first packet, for findings.
    func seconds(_ t: Timestamp) -> Double { (t - (firstPacket ?? t)).seconds }

    /// Counts a datagram and decodes it; a rejection is counted and kept, and gives nil.
    mutating func decode<Message>(_ datagram: UnsafeRawBufferPointer, from source: PacketSource, at time: Timestamp,
                                  _ decoder: (UnsafeRawBufferPointer) throws(WireError) -> Message) -> Message? {
        arrived(size: datagram.count, at: time)
        do {
            return try decoder(datagram)
        } catch {
            reject(error, from: source, at: time)
            return nil
        }
    }

    mutating func reject(_ error: WireError, from source: PacketSource, at time: Timestamp) {
        counters.countMalformed(error.reason.rawValue)
        malformed.append(MalformedPacket(time: seconds(time), source: source.description, reason: error.reason.rawValue,
                                         offset: error.offset, detail: error.detail))
    }

    /// Counts broken rules; true when strict mode says to drop the packet.
    mutating func violations(_ ids: [RuleID], strict: Bool) -> Bool {
        guard !ids.isEmpty else { return false }
        if ids == violationRun {
            violationRepeats += 1
        } else {
            tallied.countViolations(violationRun, times: violationRepeats)
            violationRun = ids
            violationRepeats = 1
        }
        if strict { counters.count("dropped-strict") }
        return strict
    }

    /// Counts what a sequence verdict says (gaps, missing packets, duplicates, late packets);
    /// true when the packet is new, false for a duplicate or a late one.
    mutating func countSequence(_ verdict: SequenceVerdict) -> Bool {
        switch verdict {
        case .duplicate:
            counters.count("sequence-duplicate")
            return false
        case .outOfOrder:
            counters.count("sequence-out-of-order")
            return false
        case .gap(let missing):
            counters.count("sequence-gap")
            counters.count("sequence-missing", missing)
            return true
        case .first, .next, .disabled:
            return true
        }
    }

    mutating func find(_ kind: String, universe: Int?, at time: Timestamp, _ message: String) {
        findings.append(DeviceFinding(time: seconds(time), kind: kind, universe: universe, message: message))
    }

    /// Moves the assembler's frame events into the outbox.
    mutating func collect(_ assembler: inout FrameAssembler) {
        guard !assembler.events.isEmpty else { return }
        for e in assembler.events {
            counters.frames += 1
            if e.torn { counters.torn += 1 }
            output.frames.append(e)
        }
        assembler.events.removeAll(keepingCapacity: true)
    }

    mutating func take() -> DeviceOutput {
        guard reusesOutbox else {
            defer { outbox = DeviceOutput() }
            return outbox
        }
        guard !handedOut else { return DeviceOutput() }
        handedOut = true
        return outbox
    }

    /// Empties an outbox handed out by `take()`. A model reusing its outbox calls this before
    /// changing its picture, so that frame events still held here do not make that change copy it.
    mutating func recycle() {
        guard handedOut else { return }
        handedOut = false
        outbox.frames.removeAll(keepingCapacity: true)
        outbox.replies.removeAll(keepingCapacity: true)
    }
}
