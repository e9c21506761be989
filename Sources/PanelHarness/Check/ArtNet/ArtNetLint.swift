import PanelCapture
import PanelCore
import PanelDevice
import PanelWire

/// Art-Net's stateful rules: sequence numbers per sender and universe, ArtPoll storms, ArtSync
/// from a non-sender, broadcast ArtDmx; with a profile, channels beyond what it reads.
final class ArtNetLint: ProtocolLint {
    private struct StreamKey: Hashable { var source: Endpoint; var universe: Int }
    private struct Stream { var sequence = SequenceCheck(); var sawNonZero = false }
    private var streams: [StreamKey: Stream] = [:]
    /// Addresses that sent ArtDmx.
    private var dmxSenders: Set<String> = []
    /// ArtSync per sending address: the first, and how many.
    private struct Sync { var first: (record: Int, time: Timestamp); var sender: String; var count = 0 }
    private var syncs: [String: Sync] = [:]
    /// Recent ArtPoll times per sender (the last `pollBurst`).
    private var polls: [String: [Timestamp]] = [:]
    static let pollBurst = 3
    static let pollWindow = Timestamp(nanoseconds: 2_500_000_000)
    private let expectations: SenderExpectations?

    init(expectations: SenderExpectations?) { self.expectations = expectations }

    func observe(_ e: TrafficEvent, log: FindingLog) {
        guard e.kind == .datagram else { return }
        let message: ArtNetMessage
        do throws(WireError) { message = try ArtNetDecoder.decode(e.payload) } catch { return }
        switch message {
        case .dmx(let d):
            let universe = Int(d.portAddress)
            if dmxSenders.count < Linter.maxStreams { dmxSenders.insert(e.source.address) }
            if Self.isBroadcast(e.destination.address) { log.hit("artnet.dmx.broadcast", e, universe: universe, "to \(e.destination.address)") }
            sequence(d.sequence, universe: universe, e, log)
            if let limit = expectations?.channelsPerUniverse, d.data.count > limit,
               d.data[limit...].contains(where: { $0 != 0 }) {
                log.hit("profile.pixel-split", e, universe: universe, "\(d.data.count) channels with data beyond channel \(limit)")
            }
        case .sync:
            // Judged at the end: the sender's own ArtDmx may start after its first ArtSync.
            if var s = syncs[e.source.address] ?? (syncs.count < Linter.maxStreams ? Sync(first: (e.recordNumber, e.time), sender: e.source.description) : nil) {
                s.count += 1
                syncs[e.source.address] = s
            }
        case .poll:
            var recent = polls[e.source.address] ?? []
            guard polls[e.source.address] != nil || polls.count < Linter.maxStreams else { return }
            recent.removeAll { e.time - $0 >= Self.pollWindow }
            if recent.count >= Self.pollBurst {
                log.hit("artnet.poll.storm", e, "\(recent.count + 1) ArtPoll within \(String(format: "%.2f", (e.time - recent[0]).seconds)) s")
            }
            recent.append(e.time)
            if recent.count > Self.pollBurst { recent.removeFirst(recent.count - Self.pollBurst) }
            polls[e.source.address] = recent
        case .nzs, .pollReply, .address, .unsupported:
            break
        }
    }

    private func sequence(_ value: UInt8, universe: Int, _ e: TrafficEvent, _ log: FindingLog) {
        let key = StreamKey(source: e.source, universe: universe)
        guard var s = streams[key] ?? (streams.count < Linter.maxStreams ? Stream() : nil) else { return }
        if value == 0 {
            if s.sawNonZero { log.hit("artnet.sequence.zero-mid-stream", e, universe: universe, "sequence 0 after \(s.sequence.last.map(String.init) ?? "-")") }
        } else {
            s.sawNonZero = true
            if let (what, detail) = s.sequence.judge(.artNet, value) { log.hit("artnet.sequence." + what, e, universe: universe, detail) }
        }
        streams[key] = s
    }

    /// The limited broadcast address, or one whose host part ends in all ones (x.x.x.255).
    static func isBroadcast(_ address: String) -> Bool {
        address == "255.255.255.255" || (address.split(separator: ".").count == 4 && address.hasSuffix(".255"))
    }

    func finish(log: FindingLog, end: Timestamp) {
        guard !dmxSenders.isEmpty else { return }
        for (address, s) in syncs.sorted(by: { $0.value.first.record < $1.value.first.record }) where !dmxSenders.contains(address) {
            log.hit("artnet.sync.not-sender", record: s.first.record, time: s.first.time, sender: s.sender, universe: nil,
                    "ArtDmx came from \(dmxSenders.sorted().prefix(3).joined(separator: ", "))", count: s.count)
        }
    }
}
