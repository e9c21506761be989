import PanelCore
import PanelWire

/// Settings of an emulated TPM2.net receiver.
public struct TPM2NetReceiverSettings: Sendable {
    /// Where the 0xAC answer to a ping goes.
    public enum PingReply: String, Sendable, CaseIterable {
        /// To the pinging host's UDP port 65442, as WLED does.
        case wled
        /// Back to the pinging address and port.
        case source
        /// Pings are counted, not answered.
        case off
    }

    public var name: String
    public var map: ChannelMap
    public var frame: FrameSettings
    /// Drop packets that break a spec rule instead of acting on them.
    public var strict: Bool
    public var pingReply: PingReply

    public init(name: String, map: ChannelMap, frame: FrameSettings = FrameSettings(), strict: Bool = false, pingReply: PingReply = .wled) {
        self.name = name; self.map = map; self.frame = frame; self.strict = strict; self.pingReply = pingReply
    }
}

/// An emulated TPM2.net receiver (WLED's, Jinx!'s peers).
///
/// - A frame is split over packets numbered 1...count. Packet n's data lands in the panel's
///   buffer (chain order through the channel map) at (n − 1) × the size of the frame's other
///   packets: senders cut a frame into equal parts and only the last may be shorter. A last
///   packet that arrives before any other cannot be placed and is counted
///   (`last-packet-unplaced`).
/// - The frame is complete, and emitted, when all `count` packets have arrived. It is emitted
///   torn when a new packet 1, a packet number already received or another count arrives
///   first (the next frame began), or when the frame timeout passes in silence.
/// - Bytes past the panel are counted and dropped: memory stays the panel's size.
/// - A ping (0xAA) is answered with the single byte 0xAC, by default to the pinging host's UDP
///   port 65442 (WLED), optionally to the pinging port, or not at all (`ping-reply`).
public final class TPM2NetReceiver: DeviceModel {
    public var name: String { settings.name }
    public let settings: TPM2NetReceiverSettings
    public var counters: DeviceCounters {
        var c = records.counters
        if dataPackets > 0 { c.count("data", dataPackets) }
        return c
    }
    public var findings: [DeviceFinding] { records.findings.items }
    public var malformedPackets: [MalformedPacket] { records.malformed.items }

    // The model is confined to one thread and its methods never re-enter one another, so the
    // runtime's exclusivity checks on the properties every packet touches are switched off for them.
    /// What the panel shows now.
    @exclusivity(unchecked) public private(set) var canvas: Canvas

    @exclusivity(unchecked) private var records = DeviceRecords()
    /// Sources, timing and numbering of the frame being received.
    @exclusivity(unchecked) private var latch = FrameLatch()
    /// Data packets, counted as an integer per packet and reported in `counters`.
    @exclusivity(unchecked) private var dataPackets = 0
    /// What the sender has written along the chain so far.
    @exclusivity(unchecked) private var wire: ChainBuffer
    /// The frame being received: its packet count, which packets are in, and their size.
    @exclusivity(unchecked) private var frameCount: Int?
    @exclusivity(unchecked) private var received = [Bool](repeating: false, count: 256)
    @exclusivity(unchecked) private var receivedCount = 0
    /// The rule IDs of the last violations seen: a sender repeats its own on every packet (all
    /// of a large panel's packets are over 1490 bytes), so they are listed once, not per packet.
    @exclusivity(unchecked) private var lastViolations = TPM2NetViolations()
    @exclusivity(unchecked) private var lastRuleIDs: [RuleID] = []
    @exclusivity(unchecked) private var stride: Int?
    private var reportedPastPanel = false

    public init(settings: TPM2NetReceiverSettings) {
        self.settings = settings
        let map = settings.map
        canvas = Canvas(width: map.width, height: map.height, format: map.format)
        wire = ChainBuffer(count: map.chainByteCount)
    }

    /// The timeout for an incomplete frame: the configured one, else twice the interval
    /// between complete frames, at least 100 ms.
    public var timeout: Timestamp {
        latch.timeout(configured: settings.frame.timeout)
    }

    public func receive(_ datagram: UnsafeRawBufferPointer, from source: PacketSource, at time: Timestamp) {
        guard let packet = records.decode(datagram, from: source, at: time, TPM2NetDecoder.decode) else { return }
        if !packet.violations.isEmpty, records.violations(ruleIDs(packet.violations), strict: settings.strict) { return }
        switch packet.type {
        case .ping:
            records.counters.count("ping")
            answerPing(from: source)
        case .command:
            records.counters.count("command-ignored")
        case .data:
            dataPackets += 1
            handleData(packet, from: source, at: time)
        }
    }

    private func ruleIDs(_ v: TPM2NetViolations) -> [RuleID] {
        if v != lastViolations {
            lastViolations = v
            lastRuleIDs = v.ruleIDs
        }
        return lastRuleIDs
    }

    private func answerPing(from source: PacketSource) {
        let destination: PacketSource
        switch settings.pingReply {
        case .off:
            records.counters.count("ping-unanswered-by-config")
            return
        case .wled: destination = PacketSource(address: source.address, port: TPM2Net.replyPort)
        case .source: destination = source
        }
        records.output.replies.append(DeviceReply(bytes: [TPM2Net.acknowledgement], destination: destination))
        records.counters.count("ping-answered")
    }

    private func handleData(_ p: TPM2NetPacket, from source: PacketSource, at now: Timestamp) {
        let n = Int(p.packetNumber), count = Int(p.packetCount)
        guard n >= 1, n <= count else {
            records.counters.count("packet-number-unusable")
            return
        }
        if let c = frameCount, n == 1 || received[n] || c != count {
            // The next frame began before this one was complete.
            records.find("torn", universe: nil, at: now, "TPM2.net frame torn: \(receivedCount) of \(c) packets had arrived when packet \(n) of \(count) from \(source) began the next")
            emit(at: now, torn: true)
        }
        if frameCount == nil {
            frameCount = count
        }
        received[n] = true
        receivedCount += 1
        latch.arrived(from: source, at: now)
        let size = p.data.count
        if n < count {
            if let known = stride, known != size { records.counters.count("unequal-packet-sizes") }
            if stride == nil { stride = size }
            place(p.data, at: (n - 1) * size, from: source, at: now)
        } else if count == 1 {
            place(p.data, at: 0, from: source, at: now)
        } else if let st = stride {
            place(p.data, at: (n - 1) * st, from: source, at: now)
        } else {
            // Packet 1 starts every frame, so no other packet told the size: nowhere to put it.
            records.counters.count("last-packet-unplaced")
        }
        if receivedCount == count {
            latch.latched(at: now)
            emit(at: now, torn: false)
        }
    }

    /// Writes data at a byte offset of the panel's chain-ordered buffer; the excess is counted.
    private func place(_ data: UnsafeRawBufferPointer, at start: Int, from source: PacketSource, at now: Timestamp) {
        // start is at most 254 × 65535 and data at most 65535 bytes: no overflow in Int.
        let end = start + data.count
        let inside = min(end, wire.count)
        if end > wire.count {
            records.counters.count("past-panel-bytes", end - max(start, wire.count))
            if !reportedPastPanel {
                reportedPastPanel = true
                records.find("past-panel", universe: nil, at: now, "\(source) sends bytes \(start)..<\(end), past the panel's \(wire.count) bytes: the excess is dropped")
            }
        }
        guard start < inside else { return }
        wire.write(UnsafeRawBufferPointer(rebasing: data[0..<(inside - start)]), at: start, canvas: { canvas })
    }

    private func emit(at now: Timestamp, torn: Bool) {
        wire.show(on: &canvas, map: settings.map)
        records.counters.frames += 1
        if torn { records.counters.torn += 1 }
        records.output.frames.append(latch.frame(canvas, at: now, torn: torn, synchronized: false))
        frameCount = nil
        for i in received.indices { received[i] = false }
        receivedCount = 0
        stride = nil
    }

    public func tick(at now: Timestamp) {
        guard frameCount != nil, latch.expired(at: now, configured: settings.frame.timeout) else { return }
        records.counters.count("incomplete-frame-timeout")
        emit(at: now, torn: true)
    }

    /// Ends the session: an incomplete frame is emitted torn.
    public func finish(at now: Timestamp) {
        guard frameCount != nil else { return }
        emit(at: now, torn: true)
    }

    public func takeOutput() -> DeviceOutput { records.take() }
}
