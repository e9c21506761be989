import PanelCore
import PanelWire

/// Sends each frame as one label-6 message: START code 0, then the map's start universe.
public struct EnttecProSender: FrameSender {
    public let settings: SenderSettings
    /// The message (START code and 512 slots at most): channels are extracted straight into it.
    private var message = [UInt8](repeating: 0, count: 5 + 513)

    public init(settings: SenderSettings) {
        self.settings = settings
    }

    public mutating func encode(_ canvas: Canvas, emit: DatagramEmitter) {
        let map = settings.map
        canvas.bytes.withUnsafeBytes { pixels in
            message.withUnsafeMutableBytes { out in
                let n = EnttecPro.message(in: out, label: EnttecPro.Label.sendDMX) { data in
                    guard data.count >= 513 else { return 0 }
                    data[0] = 0  // START code
                    let slots = map.extract(universe: map.settings.startUniverse, from: pixels, to: UnsafeMutableRawBufferPointer(rebasing: data[1..<513]))
                    // The widget API wants at least 24 slots.
                    let used = max(25, 1 + slots)
                    for k in (1 + slots)..<used { data[k] = 0 }
                    return used
                }
                emit(UnsafeRawBufferPointer(rebasing: out[0..<n]), nil)
            }
        }
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
