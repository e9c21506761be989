import PanelWire

/// A PanelWire stream framer: bytes pushed in, whole messages out, the bytes between messages
/// skipped and counted.
public protocol StreamFramer {
    init()
    var skippedBytes: Int { get }
    mutating func reset()
}

extension EnttecProFramer: StreamFramer {}
extension TPM2SerialFramer: StreamFramer {
    public init() { self.init(maxDataLength: Int(UInt16.max)) }
}
extension NovaStarFramer: StreamFramer {}

/// One framer per stream source (a serial line, a TCP client) for a stream protocol's model.
/// At most `limit` sources get their own; bytes of further ones go to the first source's framer,
/// so memory stays bounded. The bytes skipped by framers of ended streams stay counted.
struct StreamFramers<Framer: StreamFramer> {
    private var framers: [PacketSource: Framer] = [:]
    private var skippedBefore = 0
    let limit: Int

    init(limit: Int = 16) { self.limit = limit }

    /// Runs `body` with the framer of `source` (a new one for a new source) and the source
    /// its messages are to be attributed to.
    mutating func push(_ source: PacketSource, _ body: (inout Framer, PacketSource) -> Void) {
        let key = framers.count < limit || framers[source] != nil ? source : (framers.keys.first ?? source)
        // In place: one lookup, and the framer's buffer is neither moved nor copied.
        body(&framers[key, default: Framer()], key)
    }

    /// The stream of `source` ended: a message cut short by the end is dropped.
    mutating func end(_ source: PacketSource) {
        guard var framer = framers.removeValue(forKey: source) else { return }
        framer.reset()
        skippedBefore += framer.skippedBytes
    }

    /// Bytes skipped between messages, over every stream so far.
    var skippedBytes: Int { skippedBefore + framers.values.reduce(0) { $0 + $1.skippedBytes } }

    /// `counters` with the bytes skipped between messages added as `skipped-bytes` (when any).
    func adding(to counters: DeviceCounters) -> DeviceCounters {
        var c = counters
        let skipped = skippedBytes
        if skipped > 0 { c.count("skipped-bytes", skipped) }
        return c
    }
}
