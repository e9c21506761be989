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
/// At most `limit` sources get their own; bytes of further ones go to the framer of the source
/// heard last, so memory stays bounded. The bytes skipped by framers of ended streams stay counted.
/// The framer of the source heard last is kept outside the dictionary: a lone stream (one serial
/// line) costs no hashing per push.
struct StreamFramers<Framer: StreamFramer> {
    private var currentSource: PacketSource?
    private var current = Framer()
    private var others: [PacketSource: Framer] = [:]
    private var skippedBefore = 0
    let limit: Int

    init(limit: Int = 16) { self.limit = limit }

    /// Streams with a framer of their own.
    var count: Int { others.count + (currentSource == nil ? 0 : 1) }

    /// Runs `body` with the framer of `source` (a new one for a new source) and the source
    /// its messages are to be attributed to.
    mutating func push(_ source: PacketSource, _ body: (inout Framer, PacketSource) -> Void) {
        if currentSource != source { select(source) }
        // In place: the framer's buffer is neither moved nor copied.
        body(&current, currentSource ?? source)
    }

    /// Makes `source`'s framer the current one (beyond the limit, a new source keeps the current).
    private mutating func select(_ source: PacketSource) {
        guard count < limit || others[source] != nil || currentSource == nil else { return }
        if let previous = currentSource { others[previous] = current }
        current = others.removeValue(forKey: source) ?? Framer()
        currentSource = source
    }

    /// The stream of `source` ended: a message cut short by the end is dropped.
    mutating func end(_ source: PacketSource) {
        if source == currentSource {
            current.reset()
            skippedBefore += current.skippedBytes
            current = Framer()
            currentSource = nil
            return
        }
        guard var framer = others.removeValue(forKey: source) else { return }
        framer.reset()
        skippedBefore += framer.skippedBytes
    }

    /// Bytes skipped between messages, over every stream so far.
    var skippedBytes: Int {
        skippedBefore + others.values.reduce(0) { $0 + $1.skippedBytes } + (currentSource == nil ? 0 : current.skippedBytes)
    }

    /// `counters` with the bytes skipped between messages added as `skipped-bytes` (when any).
    func adding(to counters: DeviceCounters) -> DeviceCounters {
        var c = counters
        let skipped = skippedBytes
        if skipped > 0 { c.count("skipped-bytes", skipped) }
        return c
    }
}
