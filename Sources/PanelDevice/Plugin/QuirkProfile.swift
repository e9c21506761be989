/// A named set of behaviours of a real controller model: what `serve` reproduces when a
/// controller names it (`profile:` in the config) and what `panelsim check --profile` tests a
/// sender's traffic against. `panelsim profiles` lists them, one line each.
public struct QuirkProfile: Sendable {
    /// Stable name, used in configs and on the command line.
    public let name: String
    /// The protocol plugin it applies to (`ProtocolPlugin.name`).
    public let protocolName: String
    /// One line for `panelsim profiles`.
    public let summary: String
    /// What a real controller of this kind does, and where that is documented (README's profile table).
    public let details: String
    /// Controller options the profile sets; options in the config override them.
    public let options: [String: String]
    /// What a sender must do for this controller to show its frames.
    public let expectations: SenderExpectations

    public init(name: String, protocolName: String, summary: String, details: String,
                options: [String: String] = [:], expectations: SenderExpectations = SenderExpectations()) {
        self.name = name; self.protocolName = protocolName; self.summary = summary; self.details = details
        self.options = options; self.expectations = expectations
    }
}

/// What a profile's controller needs from a sender; `check` turns each into rules.
public struct SenderExpectations: Sendable, Equatable {
    /// Highest frame rate the controller takes (frames per second); faster frames are dropped.
    public var maxFrameRate: Double?
    /// Data is shown only when an ArtSync (or sACN sync) follows it.
    public var requiresSync: Bool = false
    /// Channels the controller reads from each universe (WLED: 510, three per pixel, no pixel split).
    public var channelsPerUniverse: Int?
    /// Universes (ports) one IP address of the controller serves (a legacy Art-Net node: 4).
    public var maxUniversesPerAddress: Int?
    /// Preview data (E1.31 option bit) is ignored.
    public var ignoresPreview: Bool = false
    /// Per-address priority (start code 0xDD) decides which source wins each channel.
    public var perAddressPriority: Bool = false
    /// One TCP client at a time holds the controller; a second is reset.
    public var oneTCPClient: Bool = false
    /// The controller repeats display and brightness packets (Colorlight firmware 13 and later).
    public var duplicatesLatchPackets: Bool = false

    public init(maxFrameRate: Double? = nil, requiresSync: Bool = false, channelsPerUniverse: Int? = nil,
                maxUniversesPerAddress: Int? = nil, ignoresPreview: Bool = false, perAddressPriority: Bool = false,
                oneTCPClient: Bool = false, duplicatesLatchPackets: Bool = false) {
        self.maxFrameRate = maxFrameRate; self.requiresSync = requiresSync; self.channelsPerUniverse = channelsPerUniverse
        self.maxUniversesPerAddress = maxUniversesPerAddress; self.ignoresPreview = ignoresPreview
        self.perAddressPriority = perAddressPriority; self.oneTCPClient = oneTCPClient
        self.duplicatesLatchPackets = duplicatesLatchPackets
    }
}

extension QuirkProfile {
    /// Every profile PanelSim knows, in the order `panelsim profiles` lists them.
    public static let all: [QuirkProfile] = [
        QuirkProfile(name: "artnet-legacy-4port", protocolName: "artnet",
                     summary: "Art-Net node with 4 ports per IP address (Art-Net 3 and older gear)",
                     details: "Answers ArtPoll with one ArtPollReply of at most 4 ports per IP; universes beyond its 4 are not shown.",
                     expectations: SenderExpectations(maxUniversesPerAddress: 4)),
        QuirkProfile(name: "artnet-needs-sync", protocolName: "artnet",
                     summary: "Art-Net node that shows data only on ArtSync",
                     details: "Holds ArtDmx until an ArtSync arrives; a sender that never syncs shows nothing.",
                     expectations: SenderExpectations(requiresSync: true)),
        QuirkProfile(name: "wled", protocolName: "sacn",
                     summary: "WLED over E1.31: 170 RGB pixels per universe, channels 511-512 unused",
                     details: "Reads 510 channels of each universe; a pixel split across two universes is not shown.",
                     expectations: SenderExpectations(maxFrameRate: 60, channelsPerUniverse: 510)),
        QuirkProfile(name: "sacn-preview-priority", protocolName: "sacn",
                     summary: "sACN receiver that ignores preview data and honours per-address priority (0xDD)",
                     details: "Drops packets with the preview option bit; per-address priority decides each channel's source.",
                     expectations: SenderExpectations(ignoresPreview: true, perAddressPriority: true)),
        QuirkProfile(name: "novastar-one-client", protocolName: "novastar",
                     summary: "NovaStar sending card that one TCP client holds at a time",
                     details: "A second TCP connection is accepted and reset while the first holds the card.",
                     options: ["one-client": "true"],
                     expectations: SenderExpectations(oneTCPClient: true)),
        QuirkProfile(name: "colorlight-fw13", protocolName: "colorlight",
                     summary: "Colorlight 5A receiving card, firmware 13: display and brightness packets come twice",
                     details: "The repeated display packet is not a second frame.",
                     options: ["firmware13-duplicates": "on"],
                     expectations: SenderExpectations(duplicatesLatchPackets: true)),
    ]

    /// The profile with this name, if any.
    public static func named(_ name: String) -> QuirkProfile? {
        all.first { $0.name == name }
    }
}
