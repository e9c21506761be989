import PanelDevice
import PanelWire

/// How bad a rule hit is; `panelsim check --fail-on` picks the level that fails the run.
public enum CheckSeverity: String, Sendable, Comparable, CaseIterable {
    case info, warning, error
    private var rank: Int { self == .info ? 0 : self == .warning ? 1 : 2 }
    public static func < (a: CheckSeverity, b: CheckSeverity) -> Bool { a.rank < b.rank }
}

/// One lint rule: a stable ID (`protocol.area.what`, the scheme of the decoders' rule IDs, so
/// that a violation counted in recording.json has the same name here), its severity and a
/// one-line explanation naming the spec section.
public struct CheckRule: Sendable, Equatable {
    public var id: String
    public var severity: CheckSeverity
    /// The protocol (`ProtocolPlugin.name`) whose traffic the rule reads; "profile" rules read
    /// any protocol against a quirk profile's `SenderExpectations`.
    public var protocolName: String
    public var explanation: String
    /// Checked only when a profile is given (and the expectation it reads is set).
    public var needsProfile: Bool

    init(_ id: String, _ severity: CheckSeverity, _ protocolName: String, _ explanation: String, needsProfile: Bool = false) {
        self.id = id; self.severity = severity; self.protocolName = protocolName; self.explanation = explanation
        self.needsProfile = needsProfile
    }
}

/// Every rule `panelsim check` knows, grouped by protocol. Rules whose ID comes from a PanelWire
/// decoder take that decoder's explanation, so both say the same.
public enum CheckRules {
    /// A rule whose ID and explanation are the decoder's.
    private static func wire(_ id: String, _ severity: CheckSeverity, _ protocolName: String, _ explain: (RuleID) -> String?) -> CheckRule {
        CheckRule(id, severity, protocolName, explain(RuleID(id)) ?? id)
    }

    public static let all: [CheckRule] = artNet + e131 + ddp + others + profile

    static let artNet: [CheckRule] = [
        wire("artnet.protocol-version", .info, "artnet", ArtNetViolations.explanation),
        wire("artnet.dmx.odd-length", .error, "artnet", ArtNetViolations.explanation),
        wire("artnet.dmx.length-range", .error, "artnet", ArtNetViolations.explanation),
        CheckRule("artnet.trailing-bytes", .warning, "artnet", "bytes after the data the packet announces (Art-Net 4, ArtDmx: Length)"),
        wire("artnet.dmx.net-high-bit", .error, "artnet", ArtNetViolations.explanation),
        wire("artnet.nzs.zero-start-code", .error, "artnet", ArtNetViolations.explanation),
        wire("artnet.pollreply.short", .warning, "artnet", ArtNetViolations.explanation),
        CheckRule("artnet.poll.short", .info, "artnet", "ArtPoll without Flags and DiagPriority, the pre-Art-Net 3 form (Art-Net 4, ArtPoll)"),
        CheckRule("artnet.malformed", .error, "artnet", "packet the Art-Net decoder rejects: too short, or a length past the end (Art-Net 4, packet header)"),
        CheckRule("artnet.sequence.repeated", .error, "artnet",
                  "ArtDmx Sequence repeated or going back on a universe: nodes drop it as out of order (Art-Net 4, ArtDmx: Sequence)"),
        CheckRule("artnet.sequence.gap", .warning, "artnet",
                  "ArtDmx Sequence skips values on a universe: packets lost or never sent (Art-Net 4, ArtDmx: Sequence)"),
        CheckRule("artnet.sequence.zero-mid-stream", .warning, "artnet",
                  "ArtDmx Sequence 0 (sequencing off) after non-zero values; it wraps 0xFF to 0x01 (Art-Net 4, ArtDmx: Sequence)"),
        CheckRule("artnet.poll.storm", .warning, "artnet",
                  "more than 3 ArtPoll from one controller within 2.5 s, each answered by every node (Art-Net 4, ArtPoll; the threshold is PanelSim's)"),
        CheckRule("artnet.sync.not-sender", .error, "artnet",
                  "ArtSync from an address that sent no ArtDmx: nodes ignore sync from other sources (Art-Net 4, ArtSync)"),
        CheckRule("artnet.dmx.broadcast", .info, "artnet",
                  "ArtDmx sent to a broadcast address; Art-Net 4 unicasts ArtDmx to the nodes of its universe (Art-Net 4, ArtDmx)"),
    ]

    static let e131: [CheckRule] = [
        wire("e131.root.preamble", .error, "sacn", E131Violations.explanation),
        wire("e131.root.flags", .error, "sacn", E131Violations.explanation),
        wire("e131.root.length", .error, "sacn", E131Violations.explanation),
        wire("e131.framing.flags", .error, "sacn", E131Violations.explanation),
        wire("e131.framing.length", .error, "sacn", E131Violations.explanation),
        wire("e131.dmp.flags", .error, "sacn", E131Violations.explanation),
        wire("e131.dmp.length", .error, "sacn", E131Violations.explanation),
        wire("e131.dmp.address-type", .error, "sacn", E131Violations.explanation),
        wire("e131.dmp.first-address", .error, "sacn", E131Violations.explanation),
        wire("e131.dmp.increment", .error, "sacn", E131Violations.explanation),
        wire("e131.dmp.property-count", .error, "sacn", E131Violations.explanation),
        wire("e131.priority-range", .error, "sacn", E131Violations.explanation),
        wire("e131.universe-range", .error, "sacn", E131Violations.explanation),
        wire("e131.sync-address-range", .error, "sacn", E131Violations.explanation),
        wire("e131.options-reserved", .warning, "sacn", E131Violations.explanation),
        CheckRule("e131.trailing-bytes", .warning, "sacn", "bytes after the last PDU its lengths announce (E1.31 5.4, 6.2.1, 7.1)"),
        wire("e131.discovery.universe", .error, "sacn", E131Violations.explanation),
        wire("e131.discovery.page", .error, "sacn", E131Violations.explanation),
        wire("e131.discovery.unsorted", .error, "sacn", E131Violations.explanation),
        wire("e131.source-name", .warning, "sacn", E131Violations.explanation),
        CheckRule("e131.malformed", .error, "sacn", "packet the E1.31 decoder rejects: too short, an unknown vector, or a length past the end (E1.31 4, 5)"),
        CheckRule("e131.sequence.repeated", .error, "sacn",
                  "sequence number not newer than the last on a universe: receivers discard the packet (E1.31 6.7.2)"),
        CheckRule("e131.sequence.gap", .warning, "sacn",
                  "sequence number skips values on a universe: packets lost or never sent (E1.31 6.2.5, 6.7.1)"),
        CheckRule("e131.priority.changed", .warning, "sacn",
                  "priority changes mid-stream on a universe: receivers re-arbitrate sources (E1.31 6.2.3)"),
        CheckRule("e131.stream-terminated.data-after", .warning, "sacn",
                  "data on a universe after its Stream_Terminated packets (E1.31 6.2.6, Stream_Terminated)"),
        CheckRule("e131.stream-terminated.count", .warning, "sacn",
                  "fewer than three Stream_Terminated packets end a universe (E1.31 6.2.6, Stream_Terminated)"),
        CheckRule("e131.sync.missing", .warning, "sacn",
                  "data names a synchronization address but no sync packet arrives on it (E1.31 6.2.4, 6.3)"),
        CheckRule("e131.discovery.missing", .warning, "sacn",
                  "a source sending data for over 12 s without universe discovery, due every 10 s (E1.31 4.3, E131_UNIVERSE_DISCOVERY_INTERVAL)"),
        CheckRule("e131.discovery.incomplete", .warning, "sacn",
                  "universe discovery does not list a universe the source sends data to (E1.31 8.5)"),
        CheckRule("e131.multicast.universe-mismatch", .error, "sacn",
                  "sent to the multicast group of another universe (E1.31 9.3.1: 239.255.hi.lo of the universe)"),
        CheckRule("e131.start-code.alternate", .info, "sacn",
                  "data with a non-zero START code other than 0xDD: not level data (E1.31 7.7, DMX512-A)"),
    ]

    static let ddp: [CheckRule] = [
        wire("ddp.version", .error, "ddp", DDPViolations.explanation),
        wire("ddp.reserved-flag", .warning, "ddp", DDPViolations.explanation),
        CheckRule("ddp.trailing-bytes", .warning, "ddp", "bytes after the data the length field announces (DDP, header bytes 8-9)"),
        wire("ddp.sequence-high-bits", .warning, "ddp", DDPViolations.explanation),
        wire("ddp.data-over-1440", .warning, "ddp", DDPViolations.explanation),
        CheckRule("ddp.malformed", .error, "ddp", "packet the DDP decoder rejects: header too short, or a length past the end (DDP, header)"),
        CheckRule("ddp.push.missing", .error, "ddp",
                  "a frame's data ends without a packet carrying PUSH: displays show a frame on PUSH (DDP, header byte 0 flags bit 0)"),
    ]

    static let others: [CheckRule] = [
        wire("tpm2net.packet-number", .error, "tpm2net", TPM2NetViolations.explanation),
        wire("tpm2net.packet-count", .error, "tpm2net", TPM2NetViolations.explanation),
        CheckRule("tpm2net.missing-end-byte", .warning, "tpm2net", "the datagram ends without the 0x36 end byte (TPM2.net, packet end)"),
        CheckRule("tpm2net.trailing-bytes", .warning, "tpm2net", "bytes after the 0x36 end byte (TPM2.net, packet end)"),
        wire("tpm2net.data-over-1490", .warning, "tpm2net", TPM2NetViolations.explanation),
        CheckRule("tpm2net.malformed", .error, "tpm2net", "packet the TPM2.net decoder rejects (TPM2.net header)"),
        CheckRule("colorlight.row-marker", .warning, "colorlight", "row packet bytes 19-20 are not 08 88 (Colorlight 5A row packet 0x55)"),
        CheckRule("colorlight.row-over-497", .error, "colorlight", "more than 497 pixels in one row packet (Colorlight 5A row packet 0x55)"),
        CheckRule("colorlight.row-trailing-bytes", .warning, "colorlight", "bytes after a row packet's pixels (Colorlight 5A row packet 0x55)"),
        CheckRule("colorlight.display-short", .warning, "colorlight", "display packet shorter than 112 bytes (Colorlight 5A display packet 0x01)"),
        CheckRule("colorlight.brightness-short", .warning, "colorlight", "brightness packet shorter than 77 bytes (Colorlight 5A brightness packet 0x0A)"),
        CheckRule("colorlight.malformed", .error, "colorlight", "frame the Colorlight decoder rejects (Colorlight 5A packet types)"),
        CheckRule("novastar-checksum", .error, "novastar",
                  "checksum is not (0x5555 + sum of bytes 2..n-3) & 0xFFFF: the card answers ACK 2 and ignores the request (NovaStar frame, last 2 bytes)"),
        CheckRule("novastar-operation", .error, "novastar", "byte 10 must be 0 (read) or 1 (write) (NovaStar frame, byte 10)"),
        CheckRule("novastar-ack-in-request", .warning, "novastar", "a request carries a non-zero ACK byte (NovaStar frame, byte 2)"),
        CheckRule("novastar-device-type", .error, "novastar", "device type must be 0, 1 or 2 (NovaStar frame, byte 6)"),
        CheckRule("novastar-reserved", .warning, "novastar", "reserved byte 11 must be 0 (NovaStar frame, byte 11)"),
        CheckRule("novastar-read-length", .error, "novastar", "a read asks for more than 4096 bytes (NovaStar frame, bytes 16-17)"),
        CheckRule("novastar.malformed", .error, "novastar", "frame the NovaStar decoder rejects or the framer gives up (NovaStar frame header)"),
    ]

    static let profile: [CheckRule] = [
        CheckRule("profile.universes-per-address", .error, "profile",
                  "more universes sent to one IP address than the controller serves there (profile maxUniversesPerAddress)", needsProfile: true),
        CheckRule("profile.frame-rate", .error, "profile",
                  "frames faster than the controller takes; the excess is dropped (profile maxFrameRate)", needsProfile: true),
        CheckRule("profile.sync-required", .error, "profile",
                  "data without ArtSync or E1.31 sync to a controller that shows data only on sync (profile requiresSync)", needsProfile: true),
        CheckRule("profile.preview-ignored", .error, "profile",
                  "Preview_Data packets to a receiver that ignores them (E1.31 6.2.6; profile ignoresPreview)", needsProfile: true),
        CheckRule("profile.pixel-split", .error, "profile",
                  "data in channels beyond those the controller reads per universe: a pixel split across universes (profile channelsPerUniverse)",
                  needsProfile: true),
        CheckRule("profile.per-address-priority", .warning, "profile",
                  "per-address priority (START code 0xDD, ETC's extension to E1.31) to a receiver without it (profile perAddressPriority)",
                  needsProfile: true),
        CheckRule("profile.second-tcp-client", .error, "profile",
                  "a second TCP connection while one holds the controller: it is reset (profile oneTCPClient)", needsProfile: true),
    ]

    /// The rule with this ID.
    public static func rule(_ id: String) -> CheckRule? { byID[id] }
    private static let byID: [String: CheckRule] = Dictionary(all.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })

    /// The rules a run checks: every protocol rule, and with a profile the profile rules its
    /// expectations switch on.
    public static func checked(profile: QuirkProfile?) -> [CheckRule] {
        all.filter { r in
            guard r.needsProfile else { return true }
            guard let e = profile?.expectations else { return false }
            switch r.id {
            case "profile.universes-per-address": return e.maxUniversesPerAddress != nil
            case "profile.frame-rate": return e.maxFrameRate != nil
            case "profile.sync-required": return e.requiresSync
            case "profile.preview-ignored": return e.ignoresPreview
            case "profile.pixel-split": return e.channelsPerUniverse != nil
            case "profile.per-address-priority": return profile?.protocolName == "sacn" && !e.perAddressPriority
            case "profile.second-tcp-client": return e.oneTCPClient
            default: return false
            }
        }
    }
}
