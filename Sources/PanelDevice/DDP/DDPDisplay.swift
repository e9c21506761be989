import PanelCore
import PanelWire

/// Settings of an emulated DDP display.
public struct DDPDisplaySettings: Sendable {
    public var name: String
    public var map: ChannelMap
    public var frame: FrameSettings
    /// Drop packets that break a spec rule instead of acting on them.
    public var strict: Bool
    /// Answer status (251) and config (250) queries.
    public var replyToQueries: Bool
    /// The display's own IPv4 address, reported in the config JSON.
    public var address: [UInt8]

    public init(name: String, map: ChannelMap, frame: FrameSettings = FrameSettings(), strict: Bool = false,
                replyToQueries: Bool = true, address: [UInt8] = [127, 0, 0, 1]) {
        self.name = name; self.map = map; self.frame = frame; self.strict = strict
        self.replyToQueries = replyToQueries; self.address = address
    }
}

/// An emulated DDP display (WLED, ESPixelStick and FPP play this part).
///
/// - Data to destination 1 (display) or 255 (all) lands in a pixel buffer at its byte
///   offset, in chain order through the panel's channel map; bytes past the panel are
///   counted (`offset-past-panel-bytes`) and dropped, so memory stays the panel's size
///   whatever a packet claims.
/// - Data is read in the panel's configured pixel format. Every data type is counted
///   (`data-type.0x0B` …); types a display does not name exactly (0x00 xLights/FPP, 0x01
///   WLED legacy, 0x0D python-led-ddp …) are also counted as `data-type-unrecognised`, and a
///   named type of another format (RGBW data on an RGB panel) as `data-type-format-mismatch`.
/// - A frame is emitted on PUSH (`synchronized`); data followed by more than the frame
///   timeout of silence without a PUSH is emitted as a torn frame.
/// - Sequence numbers (1...15, 0 = unused) are judged per source; gaps, duplicates and late
///   packets are counted, and the data is still shown (as WLED does).
/// - A query (flag bit 1) to 251 or 250 is answered, to the querying address and port, with
///   one DDP packet: flags 0x45 (version 1, reply, PUSH), the query's sequence, data type
///   0, the same destination id, offset 0, and a JSON object:
///   - status (251): `{"status":{"man":"PanelSim","mod":"DDP display","ver":"1.0",
///     "name":"<controller>","push":true,"pixels":1700,"format":"rgb"}}`
///   - config (250): `{"config":{"ip":"127.0.0.1","name":"<controller>","pixels":1700,
///     "format":"rgb","order":"rgb","width":170,"height":10,
///     "ports":[{"port":1,"ts":0,"l":1700,"ss":0}]}}`
public final class DDPDisplay: DeviceModel {
    public var name: String { settings.name }
    public let settings: DDPDisplaySettings
    public var counters: DeviceCounters {
        var c = records.counters
        for (t, n) in dataTypePackets.enumerated() where n > 0 { c.count("data-type." + Text.hexByte(UInt8(truncatingIfNeeded: t)), n) }
        if mismatchPackets > 0 { c.count("data-type-format-mismatch", mismatchPackets) }
        if unrecognisedPackets > 0 { c.count("data-type-unrecognised", unrecognisedPackets) }
        if pushes > 0 { c.count("push", pushes) }
        return c
    }
    // The model is confined to one thread and its methods never re-enter one another, so the
    // runtime's exclusivity checks on the properties every packet touches are switched off for them.
    /// Counted per packet as plain integers (no event name built or hashed per packet) and
    /// reported in `counters`: data packets by data type, their format checks, PUSHes.
    @exclusivity(unchecked) private var dataTypePackets = [Int](repeating: 0, count: 256)
    @exclusivity(unchecked) private var mismatchPackets = 0
    @exclusivity(unchecked) private var unrecognisedPackets = 0
    @exclusivity(unchecked) private var pushes = 0
    public var findings: [DeviceFinding] { records.findings.items }
    public var malformedPackets: [MalformedPacket] { records.malformed.items }

    /// What the panel shows now.
    @exclusivity(unchecked) public private(set) var canvas: Canvas

    @exclusivity(unchecked) private var records = DeviceRecords()
    /// Sources, timing and numbering of the frame being written.
    @exclusivity(unchecked) private var latch = FrameLatch()
    /// What the sender has written along the chain so far.
    @exclusivity(unchecked) private var wire: ChainBuffer
    /// The last sequence number of each source; that of the source heard last is kept apart
    /// (`sequenceSource`, `lastSequence`), so a steady sender costs no dictionary lookup.
    @exclusivity(unchecked) private var sequences: [PacketSource: UInt8] = [:]
    @exclusivity(unchecked) private var sequenceSource: PacketSource?
    @exclusivity(unchecked) private var lastSequence: UInt8?
    private var replyBuffer: [UInt8] = []
    private var reportedMismatch = false
    private var reportedPastPanel = false

    public init(settings: DDPDisplaySettings) {
        self.settings = settings
        let map = settings.map
        canvas = Canvas(width: map.width, height: map.height, format: map.format)
        wire = ChainBuffer(count: map.chainByteCount)
    }

    /// The timeout for data never pushed: the configured one, else twice the interval
    /// between PUSHes, at least 100 ms.
    public var timeout: Timestamp {
        latch.timeout(configured: settings.frame.timeout)
    }

    public func receive(_ datagram: UnsafeRawBufferPointer, from source: PacketSource, at time: Timestamp) {
        guard let packet = records.decode(datagram, from: source, at: time, DDPDecoder.decode) else { return }
        if !packet.violations.isEmpty, records.violations(packet.violations.ruleIDs, strict: settings.strict) { return }
        let h = packet.header
        if h.reply {
            records.counters.count("reply-ignored")
            return
        }
        if h.query {
            answerQuery(h, to: source, at: time)
            return
        }
        if h.timecode != nil { records.counters.count("timecode") }
        if h.storage { records.counters.count("storage-flag") }
        judgeSequence(h.sequence, from: source, at: time)
        switch h.destination {
        case DDP.Destination.display, DDP.Destination.all:
            if !packet.data.isEmpty { write(packet.data, header: h, from: source, at: time) }
            if h.push { push(at: time) }
        case DDP.Destination.control, DDP.Destination.config, DDP.Destination.status:
            records.counters.count("json-write-ignored")
        default:
            records.counters.count("destination-ignored")
        }
        if h.push { pushes += 1 }
    }

    private func judgeSequence(_ sequence: UInt8, from source: PacketSource, at now: Timestamp) {
        if sequenceSource != source {
            if let previous = sequenceSource { sequences[previous] = lastSequence }
            sequenceSource = source
            lastSequence = sequences[source]
        }
        // Counted only: a DDP display shows a duplicate or late packet all the same.
        _ = records.countSequence(SequenceRule.ddp.judge(last: lastSequence, new: sequence))
        if sequence != 0 { lastSequence = sequence }
    }

    private func write(_ data: UnsafeRawBufferPointer, header h: DDPHeader, from source: PacketSource, at now: Timestamp) {
        dataTypePackets[Int(h.dataType)] += 1
        if let format = DDP.DataType.pixelFormat(h.dataType) {
            if format != settings.map.format {
                mismatchPackets += 1
                if !reportedMismatch {
                    reportedMismatch = true
                    records.find("data-type", universe: nil, at: now, "\(source) sends \(format.rawValue) pixels (data type \(Text.hexByte(h.dataType))) to a \(settings.map.format.rawValue) panel: the bytes are read as \(settings.map.format.rawValue)")
                }
            }
        } else {
            unrecognisedPackets += 1
        }
        // Offsets and lengths are at most 2^32 and 2^16: no overflow in Int.
        let start = Int(h.offset)
        let end = start + data.count
        let inside = min(end, wire.count)
        if end > wire.count {
            records.counters.count("offset-past-panel-bytes", end - max(start, wire.count))
            if !reportedPastPanel {
                reportedPastPanel = true
                records.find("offset-past-panel", universe: nil, at: now, "\(source) writes bytes \(start)..<\(end), past the panel's \(wire.count) bytes: the excess is dropped")
            }
        }
        if start < inside {
            wire.write(UnsafeRawBufferPointer(rebasing: data[0..<(inside - start)]), at: start, canvas: { canvas })
        }
        latch.arrived(from: source, at: now)
    }

    private func push(at now: Timestamp) {
        guard settings.frame.sync == .auto else {
            records.counters.count("push-ignored-by-config")
            return
        }
        latch.latched(at: now)
        emit(at: now, torn: false, synchronized: true)
    }

    /// Applies the written range to the canvas and records a frame event.
    private func emit(at now: Timestamp, torn: Bool, synchronized: Bool) {
        wire.show(on: &canvas, map: settings.map)
        records.counters.frames += 1
        if torn { records.counters.torn += 1 }
        records.output.frames.append(latch.frame(canvas, at: now, torn: torn, synchronized: synchronized))
    }

    public func tick(at now: Timestamp) {
        guard latch.expired(at: now, configured: settings.frame.timeout) else { return }
        records.counters.count("no-push-timeout")
        emit(at: now, torn: true, synchronized: false)
    }

    /// Ends the session: data never pushed is emitted as a torn frame.
    public func finish(at now: Timestamp) {
        guard latch.isPending else { return }
        emit(at: now, torn: true, synchronized: false)
    }

    public func takeOutput() -> DeviceOutput { records.take() }

    // MARK: Queries

    private func answerQuery(_ h: DDPHeader, to source: PacketSource, at now: Timestamp) {
        records.counters.count("query")
        guard settings.replyToQueries else {
            records.counters.count("query-unanswered-by-config")
            return
        }
        let json: String
        switch h.destination {
        case DDP.Destination.status: json = statusJSON()
        case DDP.Destination.config: json = configJSON()
        default:
            records.counters.count("query-unanswered")
            return
        }
        let reply = DDPHeader(flags: DDP.Flag.version1 | DDP.Flag.reply | DDP.Flag.push, sequence: h.sequence,
                              dataType: DDP.DataType.undefined, destination: h.destination)
        Array(json.utf8).withUnsafeBytes { DDPEncoder.packet(into: &replyBuffer, reply, data: $0) }
        records.output.replies.append(DeviceReply(bytes: replyBuffer, destination: source))
        records.counters.count(h.destination == DDP.Destination.status ? "status-reply-sent" : "config-reply-sent")
    }

    /// The status JSON (see the type's documentation).
    public func statusJSON() -> String {
        let map = settings.map
        return "{\"status\":{\"man\":\"PanelSim\",\"mod\":\"DDP display\",\"ver\":\"1.0\",\"name\":\(JSONText.quoted(settings.name)),"
            + "\"push\":true,\"pixels\":\(map.width * map.height),\"format\":\"\(map.format.rawValue)\"}}"
    }

    /// The config JSON (see the type's documentation).
    public func configJSON() -> String {
        let map = settings.map
        let ip = settings.address.map(String.init).joined(separator: ".")
        let pixels = map.width * map.height
        return "{\"config\":{\"ip\":\"\(ip)\",\"name\":\(JSONText.quoted(settings.name)),\"pixels\":\(pixels),"
            + "\"format\":\"\(map.format.rawValue)\",\"order\":\"\(map.order.description)\",\"width\":\(map.width),\"height\":\(map.height),"
            + "\"ports\":[{\"port\":1,\"ts\":0,\"l\":\(pixels),\"ss\":0}]}}"
    }
}

/// JSON string quoting for the few texts device models write (PanelDevice has no Foundation).
enum JSONText {
    static func quoted(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }
}
