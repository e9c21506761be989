import PanelCore

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
    /// Whole pixels the controller reads from each universe, by pixel format (WLED: 170 RGB,
    /// 128 RGBW): the config's `channels-per-universe` is forced to that many channels, and a
    /// format not listed is an error. Empty: the mapping is the config's.
    public let pixelsPerUniverse: [PixelFormat: Int]
    /// Where the behaviour is documented (a spec section, a source file), for README's table.
    public let source: String

    public init(name: String, protocolName: String, summary: String, details: String,
                options: [String: String] = [:], expectations: SenderExpectations = SenderExpectations(),
                pixelsPerUniverse: [PixelFormat: Int] = [:], source: String = "") {
        self.name = name; self.protocolName = protocolName; self.summary = summary; self.details = details
        self.options = options; self.expectations = expectations
        self.pixelsPerUniverse = pixelsPerUniverse; self.source = source
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
                     details: "Has 4 output ports on its IP address, all in one Net and Sub-Net: ArtPoll gets one ArtPollReply "
                        + "listing at most 4 ports (no further BindIndex pages). It shows the panel's first 4 universes (fewer if "
                        + "they cross a Sub-Net); ArtDmx for the others is counted universe-not-served and their pixels stay black, "
                        + "with a finding naming them. Each port is DMX512: a full 512-slot frame takes about 22.7 ms on the line "
                        + "(250 kbit/s, 11 bits a slot, plus break), so at most 44 frames/s reach the fixtures.",
                     options: ["max-ports": "4"],
                     expectations: SenderExpectations(maxFrameRate: 44, maxUniversesPerAddress: 4),
                     source: "Art-Net 4 spec (Artistic Licence), ArtPollReply: NumPorts, BindIndex; ANSI E1.11 (DMX512-A) timing"),
        QuirkProfile(name: "artnet-needs-sync", protocolName: "artnet",
                     summary: "Art-Net node that shows data only on ArtSync",
                     details: "Holds every ArtDmx until the next ArtSync from a sender, also while two sources merge, and never "
                        + "falls back to immediate output: a sender that never syncs shows nothing (counted artdmx-without-sync, "
                        + "and a no-sync finding after 4 s).",
                     options: ["sync": "required"],
                     expectations: SenderExpectations(requiresSync: true),
                     source: "Art-Net 4 spec, ArtSync (a node in synchronous mode outputs on ArtSync)"),
        QuirkProfile(name: "wled", protocolName: "sacn",
                     summary: "WLED over E1.31: 170 RGB pixels per universe, channels 511-512 unused",
                     details: "Reads 170 RGB pixels (510 channels) or 128 RGBW pixels from every universe, each universe from its "
                        + "first slot (handleDMXData, DMX mode Multi RGB); a sender packing 512 channels splits pixels across "
                        + "universes and shows a shifted, colour-rotated picture. Ignores preview data and non-zero start codes. "
                        + "Shows a new picture at most once per 16 ms (show when more than 15 ms passed): 62.5 frames/s.",
                     expectations: SenderExpectations(maxFrameRate: 62.5, channelsPerUniverse: 510),
                     pixelsPerUniverse: [.rgb: 170, .rgbw: 128],
                     source: "WLED wled00/e131.cpp (handleE131Packet, handleDMXData), wled00/udp.cpp (handleNotifications)"),
        QuirkProfile(name: "sacn-preview-priority", protocolName: "sacn",
                     summary: "sACN receiver that ignores preview data and honours per-address priority (0xDD)",
                     details: "Drops packets with the Preview_Data option bit (counted preview-ignored). Per-address priority "
                        + "(start code 0xDD) decides each slot: highest wins, equal ones merge HTP, 0 (or a slot past the 0xDD "
                        + "packet) means the source does not drive that slot, a source without 0xDD uses its packet priority, "
                        + "a slot nobody drives goes to 0; a source's 0xDD lapses after 2.5 s without one.",
                     options: ["per-address-priority": "on"],
                     expectations: SenderExpectations(ignoresPreview: true, perAddressPriority: true),
                     source: "ANSI E1.31-2018 6.2.6 (Preview_Data); ETC sACN library docs/pages/per_address_priority.md (0xDD)"),
        QuirkProfile(name: "novastar-one-client", protocolName: "novastar",
                     summary: "NovaStar sending card that one TCP client holds at a time",
                     details: "A second TCP connection is accepted and reset while the first holds the card.",
                     options: ["one-client": "true"],
                     expectations: SenderExpectations(oneTCPClient: true),
                     source: "field reports: content tools are reset while NovaLCT holds the TCP connection (observed, not documented)"),
        QuirkProfile(name: "colorlight-fw13", protocolName: "colorlight",
                     summary: "Colorlight 5A receiving card, firmware 13: display and brightness packets come twice",
                     details: "The repeated display packet is not a second frame.",
                     options: ["firmware13-duplicates": "on"],
                     expectations: SenderExpectations(duplicatesLatchPackets: true),
                     source: "FPP's Colorlight output sends display and brightness packets twice to firmware 13 and later"),
    ]

    /// The profile with this name, if any.
    public static func named(_ name: String) -> QuirkProfile? {
        all.first { $0.name == name }
    }
}
