import PanelCore
import PanelWire

/// Sends frames as ArtDmx (a sequence counter per universe, 1...255) and optionally ArtSync.
public struct ArtNetSender: FrameSender {
    public let settings: SenderSettings
    private var sequences: [UInt8]
    /// One ArtDmx at a time: the channels are extracted from the canvas straight into it.
    private var packet = [UInt8](repeating: 0, count: ArtNetEncoder.dmxMaximumSize)
    private var syncPacket: [UInt8] = []

    public init(settings: SenderSettings) {
        self.settings = settings
        sequences = Array(repeating: 0, count: settings.map.universeCount)
    }

    public mutating func encode(_ canvas: Canvas, emit: DatagramEmitter) {
        let map = settings.map
        canvas.bytes.withUnsafeBytes { pixels in
            packet.withUnsafeMutableBytes { out in
                sequences.withUnsafeMutableBufferPointer { sequences in
                    for (i, universe) in map.universes.enumerated() {
                        sequences[i] = sequences[i] == 255 ? 1 : sequences[i] + 1
                        let n = ArtNetEncoder.dmx(in: out, sequence: sequences[i], portAddress: UInt16(truncatingIfNeeded: universe & 0x7FFF)) {
                            map.extract(universe: universe, from: pixels, to: $0)
                        }
                        emit(UnsafeRawBufferPointer(rebasing: out[0..<n]), nil)
                    }
                }
            }
        }
        if settings.sync {
            ArtNetEncoder.sync(into: &syncPacket)
            syncPacket.withUnsafeBytes { emit($0, nil) }
        }
    }

    public mutating func encodeAnnouncements(emit: DatagramEmitter) {}
    public var announcementInterval: Timestamp? { nil }
    public mutating func encodeTermination(_ canvas: Canvas, emit: DatagramEmitter) {}
}

extension ProtocolPlugin {
    /// Art-Net 4 on UDP 6454: PanelSim plays a node.
    public static let artNet = ProtocolPlugin(
        name: "artnet", displayName: "Art-Net 4", defaultPort: ArtNet.port, defaultStartUniverse: 0, universeRange: 0...32767,
        options: [
            "short-name": "ArtPollReply ShortName (17 characters)",
            "long-name": "ArtPollReply LongName (63 characters)",
            "merge": "htp (default) or ltp: how two sources on one port merge",
            "max-ports": "ports on the node's address, 1...255 (a legacy node: 4, one Net and Sub-Net); other universes are not shown",
            "sync": "auto (default: follow the sender's ArtSync) or required: ArtDmx is shown only on ArtSync, never without",
        ],
        detect: { ArtNetDecoder.isArtNet($0) },
        universeOf: { ArtNetDecoder.portAddress($0).map { Int($0) } },
        makeDevice: { (s: ControllerSettings) throws(OptionError) -> DeviceModel in
            var merge = MergeMode.htp
            if let m = s.options["merge"] {
                guard let parsed = MergeMode(rawValue: m.lowercased()) else { throw OptionError(key: "merge", "must be htp or ltp, not \"\(m)\"") }
                merge = parsed
            }
            var maxPorts: Int? = nil
            if let m = s.options["max-ports"] {
                guard let v = Int(m), (1...255).contains(v) else { throw OptionError(key: "max-ports", "must be an integer in 1...255, not \"\(m)\"") }
                maxPorts = v
            }
            var syncRequired = false
            if let m = s.options["sync"] {
                switch m.lowercased() {
                case "auto": syncRequired = false
                case "required": syncRequired = true
                default: throw OptionError(key: "sync", "must be auto or required, not \"\(m)\"")
                }
                if syncRequired && s.frame.sync == .ignore {
                    throw OptionError(key: "sync", "required contradicts frame sync: ignore (the node would never show a frame)")
                }
            }
            if let n = s.options["short-name"], n.utf8.count > 17 { throw OptionError(key: "short-name", "at most 17 bytes") }
            if let n = s.options["long-name"], n.utf8.count > 63 { throw OptionError(key: "long-name", "at most 63 bytes") }
            return ArtNetNode(settings: ArtNetNodeSettings(name: s.name, map: s.map, frame: s.frame, shortName: s.options["short-name"],
                                                            longName: s.options["long-name"], merge: merge, strict: s.strict,
                                                            nodeAddress: s.localAddress, bindIndexBase: s.portBase,
                                                            maxPorts: maxPorts, syncRequired: syncRequired))
        },
        makeSender: { ArtNetSender(settings: $0) },
        summarize: { (b: UnsafeRawBufferPointer, identify: Bool) throws(WireError) -> PacketSummary in
            switch try ArtNetDecoder.decode(b) {
            case .dmx(let d):
                return PacketSummary(kind: .data, universe: Int(d.portAddress), sequence: d.sequence == 0 ? nil : d.sequence,
                                     sequenceRule: .artNet, violations: d.violations.ruleIDs.map(\.rawValue))
            case .nzs(let d): return PacketSummary(kind: .other, universe: Int(d.portAddress), violations: d.violations.ruleIDs.map(\.rawValue))
            case .sync(let s): return PacketSummary(kind: .sync, violations: s.violations.ruleIDs.map(\.rawValue))
            case .poll(let p): return PacketSummary(kind: .poll, violations: p.violations.ruleIDs.map(\.rawValue))
            case .pollReply(let r): return PacketSummary(kind: .reply, senderName: identify ? r.shortName : nil, violations: r.violations.ruleIDs.map(\.rawValue))
            case .address, .unsupported: return PacketSummary(kind: .other)
            }
        },
        usesMulticast: false)
}
