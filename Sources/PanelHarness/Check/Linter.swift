import PanelCapture
import PanelCore
import PanelDevice
import PanelWire

/// One piece of decoded traffic, as the linter sees it. `payload` is valid only during the call.
public struct TrafficEvent {
    public enum Kind: Sendable {
        /// One UDP datagram.
        case datagram
        /// The next bytes of a TCP connection or serial line, in order (`connection` tells streams apart).
        case stream
        /// One whole layer-2 frame (no IP).
        case frame
        /// A TCP client connected to `destination`.
        case connectionOpened
        /// A TCP connection ended.
        case connectionClosed
    }
    public var kind: Kind
    public var recordNumber: Int
    public var time: Timestamp
    public var source: Endpoint
    public var destination: Endpoint
    /// The protocol detected in it; nil when none claims it.
    public var plugin: ProtocolPlugin?
    public var payload: UnsafeRawBufferPointer
    /// TCP connection number, or 0.
    public var connection: Int
    /// Stream bytes from the side that opened the connection (or read by the controller on a serial line).
    public var fromClient: Bool

    public init(kind: Kind, recordNumber: Int, time: Timestamp, source: Endpoint, destination: Endpoint, plugin: ProtocolPlugin?,
                payload: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0), connection: Int = 0, fromClient: Bool = true) {
        self.kind = kind; self.recordNumber = recordNumber; self.time = time; self.source = source; self.destination = destination
        self.plugin = plugin; self.payload = payload; self.connection = connection; self.fromClient = fromClient
    }
}

/// Hits of one rule from one sender on one universe: how many, and the first.
public struct Finding: Sendable {
    public var rule: CheckRule
    public var count: Int
    public var firstRecord: Int
    /// Seconds since the capture's first record.
    public var firstTime: Double
    public var sender: String
    public var universe: Int?
    /// What the first hit looked like, in words ("sequence 7 after 7").
    public var detail: String
}

/// Collects findings, one per rule, sender and universe; at most `maxKeys` of them (later hits
/// of other senders count on the rule's first finding).
final class FindingLog {
    static let maxKeys = 4096
    private struct Key: Hashable { var rule: String; var sender: String; var universe: Int? }
    private var index: [Key: Int] = [:]
    private(set) var findings: [Finding] = []
    var origin: Timestamp?

    func hit(_ id: String, _ e: TrafficEvent, universe: Int? = nil, sender: String? = nil, _ detail: @autoclosure () -> String = "") {
        // Layer-2 frames and serial lines have no port: their sender is the address alone.
        let who = sender ?? (e.source.port == 0 ? e.source.address : e.source.description)
        hit(id, record: e.recordNumber, time: e.time, sender: who, universe: universe, detail())
    }

    func hit(_ id: String, record: Int, time: Timestamp, sender: String, universe: Int?, _ detail: @autoclosure () -> String = "", count: Int = 1) {
        guard let rule = CheckRules.rule(id) else { return }
        let key = Key(rule: id, sender: sender, universe: universe)
        if let i = index[key] { findings[i].count += count; return }
        if findings.count >= FindingLog.maxKeys, let i = findings.firstIndex(where: { $0.rule.id == id }) {
            findings[i].count += count
            return
        }
        index[key] = findings.count
        let seconds = (time - (origin ?? time)).seconds
        findings.append(Finding(rule: rule, count: count, firstRecord: record, firstTime: seconds, sender: sender, universe: universe, detail: detail()))
    }
}

/// The state of one protocol's rules over a capture.
protocol ProtocolLint: AnyObject {
    /// Sees every event of its protocol, after the decoder's own rule IDs were counted.
    func observe(_ e: TrafficEvent, log: FindingLog)
    /// The capture is over: rules judged on the whole traffic report here.
    func finish(log: FindingLog, end: Timestamp)
}

/// Lints a sender's traffic (sans-I/O): fed decoded traffic events in capture order, it applies
/// the decoders' rule IDs, each protocol's stateful rules and a quirk profile's expectations,
/// and emits `Finding`s. Memory is bounded: per-stream state is kept for at most
/// `Linter.maxStreams` streams of each kind.
public final class Linter {
    static let maxStreams = 4096
    public let profile: QuirkProfile?
    private let log = FindingLog()
    private let lints: [String: ProtocolLint]
    private let profileLint: ProfileLint?
    private var last = Timestamp.zero

    public init(profile: QuirkProfile?) {
        self.profile = profile
        // A profile's expectations apply to the traffic of its own protocol only.
        func expectations(_ name: String) -> SenderExpectations? { profile?.protocolName == name ? profile?.expectations : nil }
        profileLint = profile.map { ProfileLint(profile: $0) }
        lints = ["artnet": ArtNetLint(expectations: expectations("artnet")), "sacn": E131Lint(expectations: expectations("sacn")),
                 "ddp": DDPLint(), "novastar": NovaStarLint()]
    }

    /// The rules this linter checks (the JUnit test cases).
    public var rulesChecked: [CheckRule] { CheckRules.checked(profile: profile) }

    /// A capture record was read at `time` (whether or not it carries traffic): finding times
    /// count from the first one.
    public func recordRead(at time: Timestamp) {
        if log.origin == nil { log.origin = time }
        if time > last { last = time }
    }

    public func observe(_ e: TrafficEvent) {
        recordRead(at: e.time)
        let summary = e.plugin.flatMap { p in e.kind == .datagram || e.kind == .frame ? summarize(p, e) : nil }
        profileLint?.observe(e, summary, log: log)
        guard let plugin = e.plugin else { return }
        lints[plugin.name]?.observe(e, log: log)
    }

    /// Counts the decoder's rule IDs of one packet, or its rejection; the packet's stream facts.
    func summarize(_ plugin: ProtocolPlugin, _ e: TrafficEvent) -> PacketSummary? {
        do throws(WireError) {
            let summary = try plugin.summarize(e.payload, false)
            for v in summary.violations { log.hit(v, e, universe: summary.universe, "record \(e.recordNumber)") }
            return summary
        } catch {
            log.hit("\(plugin.name).malformed", e, "\(error.reason.rawValue) at byte \(error.offset): \(error.detail)")
            return nil
        }
    }

    /// Judges what needs the whole capture and returns every finding, most severe first, then by rule.
    public func finish() -> [Finding] {
        for (_, l) in lints.sorted(by: { $0.key < $1.key }) { l.finish(log: log, end: last) }
        profileLint?.finish(log: log, end: last)
        return log.findings.sorted {
            ($0.rule.severity, $1.rule.id, $1.firstTime) > ($1.rule.severity, $0.rule.id, $0.firstTime)
        }
    }
}

/// Per-stream sequence bookkeeping shared by the protocols that number their packets, on the
/// receivers' own rule (`SequenceRule`, as replay's statistics judge them).
struct SequenceCheck {
    var last: UInt8?
    /// Returns the finding's rule suffix ("repeated", "gap") and a detail, or nil.
    mutating func judge(_ rule: SequenceRule, _ new: UInt8) -> (String, String)? {
        let before = last
        switch rule.judge(last: last, new: new) {
        case .first, .next: last = new; return nil
        case .gap(let n): last = new; return ("gap", "sequence \(new) after \(before.map(String.init) ?? "-"): \(n) missing")
        case .duplicate, .outOfOrder: return ("repeated", "sequence \(new) after \(before.map(String.init) ?? "-")")
        case .disabled: return nil
        }
    }
}
