import PanelCore

/// Bytes PanelSim read from or wrote to a serial line, as one capture record holds them.
public struct SerialData: Sendable {
    public enum Direction: String, Sendable {
        /// Bytes PanelSim read (what the sender sent to the emulated device).
        case received
        /// Bytes PanelSim wrote (the emulated device's answers).
        case sent
    }
    public var recordNumber: Int
    public var time: Timestamp
    public var direction: Direction
    /// The bytes of one read or write; a view valid during the callback.
    public var payload: ArraySlice<UInt8>

    public init(recordNumber: Int, time: Timestamp, direction: Direction, payload: ArraySlice<UInt8>) {
        self.recordNumber = recordNumber; self.time = time; self.direction = direction; self.payload = payload
    }
}

/// Writes serial traffic to a pcap that Wireshark and tshark read, one record per read or
/// write, in the documented link type LINKTYPE_RTAC_SERIAL (250). Each record is a 12-byte
/// header, then the bytes:
///
/// | bytes | field |
/// | --- | --- |
/// | 0–3 | seconds of the time, big-endian |
/// | 4–7 | microseconds, big-endian |
/// | 8 | event type: 0x02 DATA_RX_START for bytes PanelSim read, 0x01 DATA_TX_START for bytes it wrote |
/// | 9 | control lines (0: not recorded) |
/// | 10–11 | footer (0) |
///
/// tshark shows the direction as `rtacser.eventtype` and in the Info column (`DATA_RX_START`,
/// `DATA_TX_START`), and the bytes as `data.data` (tshark 4.0); `panelsim replay` reads such captures back (`CaptureEvent.serial`).
public final class SerialCaptureWriter {
    public static let headerLength = 12
    static let eventSent: UInt8 = 0x01
    static let eventReceived: UInt8 = 0x02

    private let writer: PcapWriter
    public var path: String { writer.path }

    public init(path: String) throws(CaptureError) {
        writer = try PcapWriter(path: path, linkType: LinkLayer.rtacSerial.linkType)
    }

    /// Records one read or write.
    public func write(time: Timestamp, direction: SerialData.Direction, bytes: UnsafeRawBufferPointer) throws(CaptureError) {
        let nanos = time.nanoseconds
        let seconds = UInt32(clamping: nanos / 1_000_000_000)
        let micros = UInt32(clamping: (nanos % 1_000_000_000) / 1000)
        var record: [UInt8] = []
        record.reserveCapacity(Self.headerLength + bytes.count)
        for shift in stride(from: 24, through: 0, by: -8) { record.append(UInt8(truncatingIfNeeded: seconds >> UInt32(shift))) }
        for shift in stride(from: 24, through: 0, by: -8) { record.append(UInt8(truncatingIfNeeded: micros >> UInt32(shift))) }
        record += [direction == .sent ? Self.eventSent : Self.eventReceived, 0, 0, 0]
        record += bytes
        try writer.write(time: time, bytes: record)
    }

    public func close() throws(CaptureError) { try writer.close() }

    /// The event a serial-line record carries: its bytes and direction, or `.notDecoded` for
    /// the header-only event types (status changes, errors) and `.malformed` for a record
    /// shorter than the header.
    static func decode(_ frame: CapturedFrame) -> CaptureEvent {
        guard frame.bytes.count >= headerLength else {
            return .malformed(recordNumber: frame.recordNumber, time: frame.time,
                              reason: "serial record of \(frame.bytes.count) bytes, shorter than its 12-byte header", offset: 0)
        }
        let base = frame.bytes.startIndex
        let event = frame.bytes[base + 8]
        let payload = frame.bytes[(base + headerLength)...]
        switch event {
        case eventReceived: return .serial(SerialData(recordNumber: frame.recordNumber, time: frame.time, direction: .received, payload: payload))
        case eventSent: return .serial(SerialData(recordNumber: frame.recordNumber, time: frame.time, direction: .sent, payload: payload))
        default: return .notDecoded(recordNumber: frame.recordNumber, reason: "serial-line event 0x\(String(event, radix: 16))")
        }
    }
}
