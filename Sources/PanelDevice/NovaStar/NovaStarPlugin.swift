import PanelCore
import PanelWire

extension ProtocolPlugin {
    /// NovaStar sending card, control plane over a TCP stream (port 5200). The model only sees
    /// a byte stream per source, so the same model serves a serial line once a plugin can
    /// name a second carrier.
    public static let novaStar = ProtocolPlugin(
        name: "novastar", displayName: "NovaStar sending card", defaultPort: 5200, defaultStartUniverse: 0, universeRange: 0...65535,
        options: [
            "profile": "identity and configuration of a real card: baoerman (default, the public transcript's card) or plain",
            "model-id": "2-byte model id reported at 0x00000002, 0...65535 (default: the profile's, 0x0001)",
            "cards": "receiving cards per output port, comma-separated (default: the profile's; baoerman 1,2)",
            "input-pattern": "what the video input shows: bars, gradient, checkerboard, moving-bar, counter (default bars)",
            "apply-brightness": "true: scale recorded pictures by brightness (default false)",
        ],
        detect: { b in b.count >= 2 && b[0] == 0x55 && b[1] == 0xAA },
        universeOf: { _ in nil },
        makeDevice: { (s: ControllerSettings) throws(OptionError) -> DeviceModel in
            try NovaStarSendingCard(settings: novaStarSettings(s))
        },
        makeSender: { NovaStarSender(settings: $0) },
        summarize: { (b: UnsafeRawBufferPointer, _: Bool) throws(WireError) -> PacketSummary in
            let f = try NovaStarFrame.decode(b)
            let kind: PacketSummary.Kind = f.kind == .reply ? .reply : (f.isWrite ? .data : .poll)
            return PacketSummary(kind: kind, violations: f.violations.map(\.rawValue))
        },
        usesMulticast: false, carrier: .tcp, additionalCarriers: [.serial])

    static func novaStarSettings(_ s: ControllerSettings) throws(OptionError) -> NovaStarSettings {
        let profileName = s.options["profile"] ?? "baoerman"
        guard var profile = NovaStarProfile.named[profileName] else {
            throw OptionError(key: "profile", "unknown profile \"\(profileName)\" (\(NovaStarProfile.named.keys.sorted().joined(separator: ", ")))")
        }
        if let text = s.options["model-id"] {
            let v = text.hasPrefix("0x") ? UInt16(text.dropFirst(2), radix: 16) : UInt16(text)
            guard let id = v else { throw OptionError(key: "model-id", "must be 0...65535 (or 0x0000...0xffff), not \"\(text)\"") }
            profile.sendingCardMemory[NovaStarRegister.modelID.address] = [UInt8(id & 0xFF), UInt8(id >> 8)]
        }
        if let text = s.options["cards"] {
            let counts = text.split(separator: ",").map { Int($0.filter { $0 != " " }) }
            guard !counts.isEmpty, counts.count <= 64, counts.allSatisfy({ $0.map { (0...1024).contains($0) } ?? false }) else {
                throw OptionError(key: "cards", "must be 1 to 64 comma-separated counts of 0...1024, not \"\(text)\"")
            }
            profile.cardsPerPort = counts.map { $0 ?? 0 }
        }
        let patternName = s.options["input-pattern"] ?? "bars"
        guard let input = TestPattern(rawValue: patternName) else {
            throw OptionError(key: "input-pattern", "unknown pattern \"\(patternName)\" (\(TestPattern.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        var apply = false
        if let text = s.options["apply-brightness"] {
            guard let v = Bool(text) else { throw OptionError(key: "apply-brightness", "must be true or false, not \"\(text)\"") }
            apply = v
        }
        return NovaStarSettings(name: s.name, map: s.map, profile: profile, input: input, applyBrightness: apply, strict: s.strict)
    }
}

/// NovaStar has no pixel stream: a sender drives the control plane, so frames encode nothing.
public struct NovaStarSender: FrameSender {
    public let settings: SenderSettings
    public init(settings: SenderSettings) { self.settings = settings }
    public mutating func encode(_ canvas: Canvas, emit: DatagramEmitter) {}
    public mutating func encodeAnnouncements(emit: DatagramEmitter) {}
    public var announcementInterval: Timestamp? { nil }
    public mutating func encodeTermination(_ canvas: Canvas, emit: DatagramEmitter) {}
}
