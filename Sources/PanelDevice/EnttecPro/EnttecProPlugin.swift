import PanelCore
import PanelWire

/// Sends each frame as one label-6 message: START code 0, then the map's start universe.
public struct EnttecProSender: FrameSender {
    public let settings: SenderSettings
    private var channels: [UInt8] = []
    private var data: [UInt8] = []
    private var message: [UInt8] = []

    public init(settings: SenderSettings) {
        self.settings = settings
        channels.reserveCapacity(512)
        data.reserveCapacity(513)
        message.reserveCapacity(518)
    }

    public mutating func encode(_ canvas: Canvas, emit: DatagramEmitter) {
        settings.map.extract(universe: settings.map.settings.startUniverse, from: canvas, into: &channels)
        data.removeAll(keepingCapacity: true)
        data.append(0)
        data += channels.prefix(512)
        // The widget API wants at least 24 slots.
        if data.count < 25 { data += repeatElement(0, count: 25 - data.count) }
        data.withUnsafeBytes { EnttecPro.message(into: &message, label: EnttecPro.Label.sendDMX, data: $0) }
        message.withUnsafeBytes { emit($0, nil) }
    }

    public mutating func encodeAnnouncements(emit: DatagramEmitter) {}
    public var announcementInterval: Timestamp? { nil }
    public mutating func encodeTermination(_ canvas: Canvas, emit: DatagramEmitter) {}
}

extension ProtocolPlugin {
    /// Enttec DMX USB Pro on a serial line (PTY or tty): PanelSim plays the widget.
    public static let enttecPro = ProtocolPlugin(
        name: "enttec-pro", displayName: "Enttec DMX USB Pro", defaultPort: 0, defaultStartUniverse: 0, universeRange: 0...65535,
        options: [
            "serial-number": "label-10 answer, 1 to 8 decimal digits (default 00000001)",
            "firmware": "label-3 firmware version, 0...65535 (default 324 = 0x0144)",
        ],
        detect: { b in b.count >= 4 && b[0] == EnttecPro.start && Int(b[3]) << 8 | Int(b[2]) <= EnttecPro.maxDataLength },
        universeOf: { _ in nil },
        makeDevice: { (s: ControllerSettings) throws(OptionError) -> DeviceModel in
            var parameters = EnttecPro.Parameters()
            if let f = s.options["firmware"] {
                guard let v = UInt16(f) else { throw OptionError(key: "firmware", "must be 0...65535, not \"\(f)\"") }
                parameters.firmware = v
            }
            return try EnttecProWidget(settings: EnttecProSettings(name: s.name, map: s.map, parameters: parameters,
                                                                    serialNumber: s.options["serial-number"] ?? "00000001"))
        },
        makeSender: { EnttecProSender(settings: $0) },
        summarize: { (b: UnsafeRawBufferPointer, _: Bool) throws(WireError) -> PacketSummary in
            guard b.count >= 2, b[0] == EnttecPro.start else { return PacketSummary(kind: .other) }
            switch b[1] {
            case EnttecPro.Label.sendDMX: return PacketSummary(kind: .data)
            case EnttecPro.Label.getParameters, EnttecPro.Label.getSerialNumber: return PacketSummary(kind: .poll)
            default: return PacketSummary(kind: .other)
            }
        },
        usesMulticast: false, carrier: .serial)
}
