import PanelCore
import PanelWire

/// Sends frames as E1.31 data packets (sequence per universe), optionally followed by a
/// sync packet; universe discovery every 10 s; three stream-terminated packets at the end.
public struct E131Sender: FrameSender {
    public let settings: SenderSettings
    private var sequences: [UInt8]
    private var syncSequence: UInt8 = 0
    /// The data packets' constant fields, and one packet the channels are extracted into.
    private let template: E131Encoder.DataTemplate
    private var dataPacket = [UInt8](repeating: 0, count: E131Encoder.dataMaximumSize)
    private var packet: [UInt8] = []
    /// The multicast group of each universe, in map order (formatted once, not per packet).
    private let groups: [String]

    public init(settings: SenderSettings) {
        self.settings = settings
        sequences = Array(repeating: 0, count: settings.map.universeCount)
        groups = settings.map.universes.map { E131.multicastGroup(universe: UInt16(truncatingIfNeeded: $0)) }
        template = E131Encoder.DataTemplate(cid: settings.cid, sourceName: settings.sourceName, priority: settings.priority,
                                            syncAddress: settings.sync ? settings.syncUniverse : 0)
    }

    private mutating func data(_ canvas: Canvas, options: E131Options, emit: DatagramEmitter) {
        let map = settings.map, template = template
        canvas.bytes.withUnsafeBytes { pixels in
            dataPacket.withUnsafeMutableBytes { out in
                sequences.withUnsafeMutableBufferPointer { sequences in
                    groups.withUnsafeBufferPointer { groups in
                        for (i, universe) in map.universes.enumerated() {
                            sequences[i] &+= 1
                            let n = template.write(in: out, sequence: sequences[i], options: options, universe: UInt16(truncatingIfNeeded: universe)) {
                                map.extract(universe: universe, from: pixels, to: $0)
                            }
                            emit(UnsafeRawBufferPointer(rebasing: out[0..<n]), groups[i])
                        }
                    }
                }
            }
        }
    }

    public mutating func encode(_ canvas: Canvas, emit: DatagramEmitter) {
        data(canvas, options: [], emit: emit)
        if settings.sync {
            syncSequence &+= 1
            E131Encoder.sync(into: &packet, cid: settings.cid, sequence: syncSequence, syncAddress: settings.syncUniverse)
            packet.withUnsafeBytes { emit($0, E131.multicastGroup(universe: settings.syncUniverse)) }
        }
    }

    public mutating func encodeAnnouncements(emit: DatagramEmitter) {
        let all = settings.map.universes.compactMap { UInt16(exactly: $0) }.sorted()
        let pages = max(1, (all.count + 511) / 512)
        for p in 0..<pages {
            let slice = all[min(all.count, p * 512)..<min(all.count, (p + 1) * 512)]
            E131Encoder.discovery(into: &packet, cid: settings.cid, sourceName: settings.sourceName,
                                  page: UInt8(truncatingIfNeeded: p), lastPage: UInt8(truncatingIfNeeded: pages - 1), universes: slice)
            packet.withUnsafeBytes { emit($0, E131.multicastGroup(universe: E131.discoveryUniverse)) }
        }
    }

    public var announcementInterval: Timestamp? { Timestamp(nanoseconds: 10_000_000_000) }

    public mutating func encodeTermination(_ canvas: Canvas, emit: DatagramEmitter) {
        for _ in 0..<3 { data(canvas, options: .streamTerminated, emit: emit) }
    }
}

extension ProtocolPlugin {
    /// sACN (ANSI E1.31-2018) on UDP 5568, unicast and multicast: PanelSim plays a receiver.
    public static let e131 = ProtocolPlugin(
        name: "sacn", displayName: "sACN (E1.31)", defaultPort: E131.port, defaultStartUniverse: 1, universeRange: 1...63999,
        options: ["merge": "conflict (default: report equal-priority sources, keep the first) or htp (merge them)",
                  "per-address-priority": "on or off (default): per-address priority (start code 0xDD) decides which source drives each slot"],
        detect: { E131Decoder.isE131($0) },
        universeOf: { E131Decoder.dataUniverse($0).map { Int($0) } },
        makeDevice: { (s: ControllerSettings) throws(OptionError) -> DeviceModel in
            var merge = false
            if let m = s.options["merge"] {
                switch m.lowercased() {
                case "htp": merge = true
                case "conflict", "none": merge = false
                default: throw OptionError(key: "merge", "must be conflict or htp, not \"\(m)\"")
                }
            }
            var pap = false
            if let m = s.options["per-address-priority"] {
                switch m.lowercased() {
                case "on", "true", "yes": pap = true
                case "off", "false", "no": pap = false
                default: throw OptionError(key: "per-address-priority", "must be on or off, not \"\(m)\"")
                }
            }
            return E131Receiver(settings: E131ReceiverSettings(name: s.name, map: s.map, frame: s.frame, mergeEqualPriority: merge,
                                                               strict: s.strict, perAddressPriority: pap))
        },
        makeSender: { E131Sender(settings: $0) },
        summarize: { (b: UnsafeRawBufferPointer, identify: Bool) throws(WireError) -> PacketSummary in
            switch try E131Decoder.decode(b) {
            case .data(let d):
                return PacketSummary(kind: d.startCode == 0 && !d.options.contains(.preview) ? .data : .other, universe: Int(d.universe),
                                     sequence: d.sequence, sequenceRule: .e131, priority: d.priority,
                                     syncAddress: d.syncAddress == 0 ? nil : Int(d.syncAddress), senderID: identify ? d.cid.description : nil,
                                     senderName: identify ? d.sourceName : nil, violations: d.violations.ruleIDs.map(\.rawValue))
            case .sync(let s):
                return PacketSummary(kind: .sync, senderID: identify ? s.cid.description : nil, violations: s.violations.ruleIDs.map(\.rawValue))
            case .discovery(let d):
                return PacketSummary(kind: .discovery, senderID: identify ? d.cid.description : nil, senderName: identify ? d.sourceName : nil, violations: d.violations.ruleIDs.map(\.rawValue))
            }
        },
        usesMulticast: true)
}
