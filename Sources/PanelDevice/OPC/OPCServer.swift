import PanelCore
import PanelWire

/// An Open Pixel Control server (what a Fadecandy or an OPC LED driver plays): every
/// set-pixels message is a frame. Each client's stream is framed on its own.
public final class OPCServer: DeviceModel {
    public let name: String
    public let map: ChannelMap
    /// The OPC channel shown; 0 accepts every channel.
    public let channel: UInt8
    public let strict: Bool
    /// Streams framed at once; bytes of further clients are counted and dropped (bounded memory).
    public static let maximumStreams = 256

    // The model is confined to one thread and its methods never re-enter one another, so the
    // runtime's exclusivity checks on the properties every packet touches are switched off for them.
    @exclusivity(unchecked) private var records = DeviceRecords(reusesOutbox: true)
    /// The sources of the latest frame event, reused while the same source sends.
    @exclusivity(unchecked) private var frameSources: [FrameSource] = []
    @exclusivity(unchecked) private var framers: [PacketSource: OPCFramer] = [:]
    @exclusivity(unchecked) private var canvas: Canvas
    /// Canvas byte offset of every pixel, in chain order.
    private let offsets: [Int]
    @exclusivity(unchecked) private var frameIndex = 0

    public init(name: String, map: ChannelMap, channel: UInt8 = 0, strict: Bool = false) {
        self.name = name; self.map = map; self.channel = channel; self.strict = strict
        canvas = Canvas(width: map.width, height: map.height, format: map.format)
        let bpp = map.format.bytesPerPixel
        offsets = (0..<(map.width * map.height)).map { chain in
            guard let p = map.position(chain: chain) else { return 0 }
            return (p.y * map.width + p.x) * bpp
        }
    }

    public func receive(_ bytes: UnsafeRawBufferPointer, from source: PacketSource, at time: Timestamp) {
        records.recycle()
        guard framers.count < OPCServer.maximumStreams || framers[source] != nil else {
            records.counters.count("streams-over-limit-bytes", bytes.count)
            return
        }
        // In place: one lookup, and the framer's buffer is neither moved nor copied.
        framers[source, default: OPCFramer()].feed(bytes) { handle($0, from: source, at: time) }
    }

    public func streamEnded(from source: PacketSource, at time: Timestamp) {
        guard let framer = framers.removeValue(forKey: source) else { return }
        guard framer.pendingCount > 0 else { return }
        let announced = framer.pendingMessageSize.map { "a \($0)-byte message" } ?? "a message header"
        records.reject(WireError(.lengthPastEnd, at: framer.pendingCount,
                                 "the stream ended \(framer.pendingCount) bytes into \(announced)"), from: source, at: time)
    }

    private func handle(_ bytes: UnsafeRawBufferPointer, from source: PacketSource, at time: Timestamp) {
        guard let m = records.decode(bytes, from: source, at: time, OPCDecoder.decode) else { return }
        switch m.command {
        case OPC.Command.setPixels:
            guard channel == 0 || m.channel == 0 || m.channel == channel else {
                records.counters.count("other-channel")
                return
            }
            if m.data.count % 3 != 0 {
                records.counters.countViolations([OPCServer.partialPixel])
                if strict { records.counters.count("dropped-strict"); return }
            }
            setPixels(m.data)
            frameIndex += 1
            records.counters.frames += 1
            let s = FrameSource(source)
            if frameSources.count != 1 || frameSources[0] != s { frameSources = [s] }
            records.output.frames.append(FrameEvent(index: frameIndex, time: time, canvas: canvas, universes: [],
                                                    sources: frameSources, torn: false, synchronized: false))
        case OPC.Command.systemExclusive:
            if let id = m.systemID {
                records.counters.count("sysex-" + OPCServer.hex4(id))
            } else {
                records.counters.count("sysex-without-system-id")
            }
        default:
            records.counters.count("command-\(m.command)")
        }
    }

    /// "Set-pixels data is whole RGB triplets": a trailing partial pixel is ignored.
    public static let partialPixel = RuleID("opc-partial-pixel")

    /// Writes RGB triplets from pixel 0 along the chain; pixels past the message keep their value.
    private func setPixels(_ data: UnsafeRawBufferPointer) {
        let count = min(data.count / 3, offsets.count)
        if count < offsets.count { records.counters.count("short-messages") }
        if data.count / 3 > offsets.count { records.counters.count("pixels-beyond-panel", data.count / 3 - offsets.count) }
        let format = map.format
        if format == .rgb {
            // RGB triplets are the chain's bytes: whole universes land in one copy each.
            map.apply(chainData: UnsafeRawBufferPointer(rebasing: data[0..<(count * 3)]), to: &canvas)
            return
        }
        let wire = map.order.wireToCanvas
        canvas.bytes.withUnsafeMutableBufferPointer { out in
            for p in 0..<count {
                let base = offsets[p]
                let r = data[p * 3], g = data[p * 3 + 1], b = data[p * 3 + 2]
                switch format {
                case .rgb:
                    out[base + wire[0]] = r; out[base + wire[1]] = g; out[base + wire[2]] = b
                case .rgbw:
                    // RGB triplets on the wire: the white channel stays off.
                    out[base + wire[0]] = r; out[base + wire[1]] = g; out[base + wire[2]] = b; out[base + wire[3]] = 0
                case .gray:
                    out[base] = UInt8((UInt32(r) * 77 + UInt32(g) * 150 + UInt32(b) * 29) >> 8)
                }
            }
        }
    }

    static func hex4(_ v: UInt16) -> String {
        let digits = Array("0123456789abcdef")
        return String([12, 8, 4, 0].map { digits[Int((v >> UInt16($0)) & 0xF)] })
    }

    public func tick(at time: Timestamp) {}
    public func finish(at time: Timestamp) {
        for source in Array(framers.keys) { streamEnded(from: source, at: time) }
    }
    public func takeOutput() -> DeviceOutput { records.take() }
    public var counters: DeviceCounters { records.counters }
    public var findings: [DeviceFinding] { records.findings.items }
    public var malformedPackets: [MalformedPacket] { records.malformed.items }
}
