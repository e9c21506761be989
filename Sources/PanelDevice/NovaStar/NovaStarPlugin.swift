import PanelCore
import PanelWire

extension ProtocolPlugin {
    /// NovaStar sending card: the control plane over a TCP stream (port 5200) or a serial
    /// line, the same model for both (it sees a byte stream per source); discovery on UDP 3800.
    public static let novaStar = ProtocolPlugin(
        name: "novastar", displayName: "NovaStar sending card", defaultPort: 5200, defaultStartUniverse: 0, universeRange: 0...65535,
        options: ([
            "profile": "identity and configuration of a real card: baoerman (default, the public transcript's card) or plain",
            "model-id": "2-byte model id reported at 0x00000002, 0...65535 (default: the profile's, 0x0001)",
            "cards": "receiving cards per output port, comma-separated (default: the profile's; baoerman 1,2)",
            "input-pattern": "what every video input shows: bars, gradient, checkerboard, moving-bar, counter (default bars)",
            "input-image": "a PNG every video input shows instead (scaled to the panel)",
            "one-client": "true (default): one TCP client holds the card, the next is accepted and reset; false: any number",
            "discovery": "UDP discovery (rqProMI: → rpProMI:): on (default: port 3800 beside the TCP address, any free port when that one is 0), off, or HOST:PORT",
            "apply-brightness": "true: scale recorded pictures by brightness (default false)",
        ] as [String: String]).merging(
            NovaStarNames.inputs.map { ("input-" + $0.name, "what input \($0.name) (select code \($0.code)) shows: a pattern name or a PNG") },
            uniquingKeysWith: { a, _ in a }),
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
        usesMulticast: false, carrier: .tcp, additionalCarriers: [.serial],
        imageOptions: Set(["input-image"] + NovaStarNames.inputs.map { "input-" + $0.name }), discoveryPort: NovaStar.discoveryPort)

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
        if s.options["input-image"] != nil && s.options["input-pattern"] != nil {
            throw OptionError(key: "input-image", "give input-image or input-pattern, not both")
        }
        var input = NovaStarInputPicture.pattern(.bars)
        if let picture = try novaStarInput("input-image", s) { input = picture }
        if let picture = try novaStarInput("input-pattern", s) { input = picture }
        var inputs: [UInt8: NovaStarInputPicture] = [:]
        for (name, code) in NovaStarNames.inputs {
            if let picture = try novaStarInput("input-" + name, s) { inputs[code] = picture }
        }
        return NovaStarSettings(name: s.name, map: s.map, profile: profile, input: input, inputs: inputs,
                                applyBrightness: try flag("apply-brightness", s, default: false), strict: s.strict,
                                oneClient: try flag("one-client", s, default: true))
    }

    /// What option `key` says an input shows: a PNG the session loaded, or a pattern name.
    private static func novaStarInput(_ key: String, _ s: ControllerSettings) throws(OptionError) -> NovaStarInputPicture? {
        guard let text = s.options[key] else { return nil }
        if let image = s.images[key] { return .image(image) }
        guard key != "input-image", let p = TestPattern(rawValue: text) else {
            let patterns = TestPattern.allCases.map(\.rawValue).joined(separator: ", ")
            let wanted = key == "input-image" ? "a .png file" : key == "input-pattern" ? "a pattern (\(patterns))" : "a pattern (\(patterns)) or a .png file"
            throw OptionError(key: key, "must be \(wanted), not \"\(text)\"")
        }
        return .pattern(p)
    }

    private static func flag(_ key: String, _ s: ControllerSettings, default value: Bool) throws(OptionError) -> Bool {
        guard let text = s.options[key] else { return value }
        guard let v = Bool(text) else { throw OptionError(key: key, "must be true or false, not \"\(text)\"") }
        return v
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
