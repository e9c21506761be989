import PanelCore
import PanelWire

/// Settings of an emulated Enttec DMX USB Pro.
public struct EnttecProSettings: Sendable {
    public var name: String
    public var map: ChannelMap
    /// What label 3 reports until a label 4 changes it.
    public var parameters: EnttecPro.Parameters
    /// The label-10 answer: 1 to 8 decimal digits, sent as BCD.
    public var serialNumber: String

    public init(name: String, map: ChannelMap, parameters: EnttecPro.Parameters = EnttecPro.Parameters(), serialNumber: String = "00000001") {
        self.name = name; self.map = map; self.parameters = parameters; self.serialNumber = serialNumber
    }
}

/// An Enttec DMX USB Pro widget on a serial line: each label-6 message (START code plus
/// 24...512 slots) is one universe of channels, the map's start universe, and one frame.
/// Label 3 is answered with the parameters, label 4 changes them, label 10 is answered with
/// the serial number; labels 77 and 78 (other makers' probes) get no answer, as from a
/// genuine widget. Other labels are counted.
public final class EnttecProWidget: DeviceModel {
    public let settings: EnttecProSettings
    public var name: String { settings.name }
    public private(set) var parameters: EnttecPro.Parameters
    private let serialReply: [UInt8]
    // The model is confined to one thread and its methods never re-enter one another, so the
    // runtime's exclusivity checks on the properties every packet touches are switched off for them.
    @exclusivity(unchecked) private var records = DeviceRecords(reusesOutbox: true)
    /// A framer per line or client (at most EnttecProWidget.maxSources).
    @exclusivity(unchecked) private var framers = StreamFramers<EnttecProFramer>(limit: maxSources)
    /// The universe list and sources of the latest frame event, reused while the same source sends.
    @exclusivity(unchecked) private var frameUniverses: [Int] = []
    @exclusivity(unchecked) private var frameSources: [FrameSource] = []
    @exclusivity(unchecked) private var canvas: Canvas
    @exclusivity(unchecked) private var frameIndex = 0
    /// Serial lines are one peer each; more sources than this are merged into one framer.
    static let maxSources = 16

    public init(settings: EnttecProSettings) throws(OptionError) {
        guard let reply = EnttecPro.serialNumberReply(settings.serialNumber) else {
            throw OptionError(key: "serial-number", "must be 1 to 8 decimal digits, not \"\(settings.serialNumber)\"")
        }
        self.settings = settings
        parameters = settings.parameters
        serialReply = reply
        canvas = Canvas(width: settings.map.width, height: settings.map.height, format: settings.map.format)
    }

    public var counters: DeviceCounters { framers.adding(to: records.counters) }
    public var findings: [DeviceFinding] { records.findings.items }
    public var malformedPackets: [MalformedPacket] { records.malformed.items }
    public var universes: [Int] { [settings.map.settings.startUniverse] }

    public func receive(_ bytes: UnsafeRawBufferPointer, from source: PacketSource, at time: Timestamp) {
        records.recycle()
        framers.push(source) { framer, key in
            framer.push(bytes, message: { handle($0, from: key, at: time) },
                        dropped: { records.reject($0, from: key, at: time) })
        }
    }

    private func handle(_ m: EnttecProMessage, from source: PacketSource, at time: Timestamp) {
        records.counters.bytes += 5  // start, label, length, end
        // Counts the message (and the time of the first one, for findings).
        guard let data = records.decode(m.data, from: source, at: time, { (d) throws(WireError) in d }) else { return }
        do {
            try act(label: m.label, data: data, from: source, at: time)
        } catch {
            records.reject(error, from: source, at: time)
        }
    }

    private func act(label: UInt8, data: UnsafeRawBufferPointer, from source: PacketSource, at time: Timestamp) throws(WireError) {
        switch label {
        case EnttecPro.Label.sendDMX:
            guard data.count >= 1 else { throw WireError(.tooShort, at: 4, "send-DMX without a START code") }
            if data[0] != 0 {
                records.counters.count("start-code-\(Text.hexByte(data[0]))-ignored")
                return
            }
            let slots = UnsafeRawBufferPointer(rebasing: data[1...])
            if slots.count < 24 { records.counters.count("send-dmx-below-24-slots") }
            settings.map.apply(universe: settings.map.settings.startUniverse, data: slots, to: &canvas)
            frameIndex += 1
            records.counters.frames += 1
            let s = FrameSource(source)
            if frameSources.count != 1 || frameSources[0] != s { frameSources = [s] }
            if frameUniverses.isEmpty { frameUniverses = [settings.map.settings.startUniverse] }
            records.output.frames.append(FrameEvent(index: frameIndex, time: time, canvas: canvas, universes: frameUniverses,
                                                    sources: frameSources, torn: false, synchronized: false))
        case EnttecPro.Label.getParameters:
            let requested = data.count >= 2 ? Int(data[1]) << 8 | Int(data[0]) : 0
            reply(EnttecPro.parametersReply(parameters, userConfigRequested: requested), to: source)
        case EnttecPro.Label.setParameters:
            parameters = try EnttecPro.Parameters.decodeSet(data, firmware: parameters.firmware)
            records.counters.count("parameters-set")
        case EnttecPro.Label.getSerialNumber:
            reply(serialReply, to: source)
        case EnttecPro.Label.manufacturer, EnttecPro.Label.deviceName:
            records.counters.count("probe-label-\(label)-unanswered")
        default:
            records.counters.count("label-\(label)-ignored")
        }
    }

    private func reply(_ bytes: [UInt8], to source: PacketSource) {
        records.output.replies.append(DeviceReply(bytes: bytes, destination: source))
        records.counters.count("replies")
    }

    public func streamEnded(from source: PacketSource, at time: Timestamp) {
        framers.end(source)
    }

    public func tick(at time: Timestamp) {}
    public func finish(at time: Timestamp) {}
    public func takeOutput() -> DeviceOutput { records.take() }
}
