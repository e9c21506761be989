/// Enttec DMX USB Pro (serial): `0x7E label length(u16 LE) data 0xE7`.
public enum EnttecPro {
    public static let start: UInt8 = 0x7E
    public static let end: UInt8 = 0xE7
    /// The longest data block the widget API allows.
    public static let maxDataLength = 600

    /// Labels of the widget API (and the two OLA probes of other makers' widgets).
    public enum Label {
        public static let getParameters: UInt8 = 3
        public static let setParameters: UInt8 = 4
        public static let receivedDMX: UInt8 = 5
        public static let sendDMX: UInt8 = 6
        public static let getSerialNumber: UInt8 = 10
        public static let manufacturer: UInt8 = 77
        public static let deviceName: UInt8 = 78
    }

    /// Output parameters a widget reports for label 3 and takes from label 4.
    public struct Parameters: Equatable, Sendable {
        public var firmware: UInt16
        /// Break time in units of 10.67 µs (9...127).
        public var breakTime: UInt8
        /// Mark-after-break time in units of 10.67 µs (1...127).
        public var markAfterBreak: UInt8
        /// Output rate in packets per second (0 = as fast as possible).
        public var rate: UInt8
        /// User configuration bytes stored in the widget (at most 508).
        public var userConfig: [UInt8]

        public init(firmware: UInt16 = 0x0144, breakTime: UInt8 = 9, markAfterBreak: UInt8 = 1, rate: UInt8 = 40, userConfig: [UInt8] = []) {
            self.firmware = firmware; self.breakTime = breakTime; self.markAfterBreak = markAfterBreak
            self.rate = rate; self.userConfig = userConfig
        }

        /// The longest user configuration a label 4 may store.
        public static let maxUserConfig = 508

        /// Decodes a label-4 data block: user-config length (u16 LE), break, MAB, rate, user config.
        public static func decodeSet(_ data: UnsafeRawBufferPointer, firmware: UInt16) throws(WireError) -> Parameters {
            guard data.count >= 5 else { throw WireError(.tooShort, at: 4, "set-parameters data of \(data.count) bytes, needs 5") }
            let size = Int(data.u16le(0))
            guard size <= maxUserConfig else { throw WireError(.lengthPastEnd, at: 4, "user configuration of \(size) bytes, at most \(maxUserConfig)") }
            guard 5 + size <= data.count else { throw WireError(.lengthPastEnd, at: 9, "user configuration of \(size) bytes, \(data.count - 5) present") }
            return Parameters(firmware: firmware, breakTime: data[2], markAfterBreak: data[3], rate: data[4], userConfig: Array(data[5..<(5 + size)]))
        }
    }

    /// Encodes one message into `out` (replacing its contents); data beyond `maxDataLength` is cut.
    public static func message(into out: inout [UInt8], label: UInt8, data: UnsafeRawBufferPointer) {
        let n = min(data.count, maxDataLength)
        out.removeAll(keepingCapacity: true)
        out.append(start)
        out.append(label)
        out.appendU16LE(UInt16(n))
        out.append(contentsOf: UnsafeRawBufferPointer(rebasing: data[0..<n]))
        out.append(end)
    }

    /// `message(into:…)` written in place into `out`: `data` writes the data after the 4-byte
    /// header (at most `maxDataLength`, leaving room for the end byte) and returns how many.
    /// Returns the message's length (0 when `out` cannot hold header and end byte).
    public static func message(in out: UnsafeMutableRawBufferPointer, label: UInt8, data: (UnsafeMutableRawBufferPointer) -> Int) -> Int {
        guard out.count >= 5 else { return 0 }
        let n = out.fill(from: 4, limit: min(maxDataLength, out.count - 5), data)
        out[0] = start
        out[1] = label
        out.setU16LE(UInt16(n), at: 2)
        out[4 + n] = end
        return 5 + n
    }

    /// A whole message as an array.
    public static func message(label: UInt8, data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        data.withUnsafeBytes { message(into: &out, label: label, data: $0) }
        return out
    }

    /// The label-3 reply: firmware LE, break, MAB, rate, then as much user config as asked for.
    public static func parametersReply(_ p: Parameters, userConfigRequested: Int) -> [UInt8] {
        var data: [UInt8] = []
        data.appendU16LE(p.firmware)
        data += [p.breakTime, p.markAfterBreak, p.rate]
        data += p.userConfig.prefix(max(0, userConfigRequested))
        return message(label: Label.getParameters, data: data)
    }

    /// The label-10 reply: the serial number as 4 BCD bytes, least significant first.
    /// Nil when `serial` is not 1 to 8 decimal digits.
    public static func serialNumberReply(_ serial: String) -> [UInt8]? {
        guard let bcd = serialBCD(serial) else { return nil }
        return message(label: Label.getSerialNumber, data: bcd)
    }

    /// "12345678" → `78 56 34 12`.
    public static func serialBCD(_ serial: String) -> [UInt8]? {
        let digits = Array(serial.utf8)
        guard (1...8).contains(digits.count), digits.allSatisfy({ (48...57).contains($0) }) else { return nil }
        let padded = Array(repeating: UInt8(48), count: 8 - digits.count) + digits
        var out: [UInt8] = []
        for i in stride(from: 6, through: 0, by: -2) { out.append((padded[i] - 48) << 4 | (padded[i + 1] - 48)) }
        return out
    }
}

/// One framed message, a view valid only during the framer's callback.
public struct EnttecProMessage {
    public var label: UInt8
    public var data: UnsafeRawBufferPointer
}

/// Cuts a byte stream into Enttec Pro messages. Bytes outside messages are skipped and
/// counted; a length beyond 600 or a missing end byte drops the message and resynchronises
/// on the next start byte. Memory is bounded by one message.
public struct EnttecProFramer {
    private enum State { case idle, label, lengthLow, lengthHigh, data, end }
    private var state = State.idle
    private var label: UInt8 = 0
    private var length = 0
    private var buffer: [UInt8] = []
    /// Bytes seen outside any message (before a start byte, or of a dropped message).
    public private(set) var skippedBytes = 0
    public init() { buffer.reserveCapacity(EnttecPro.maxDataLength) }

    /// Bytes held for a message not yet complete.
    public var pendingBytes: Int {
        switch state {
        case .idle: return 0
        case .label: return 1
        case .lengthLow: return 2
        case .lengthHigh: return 3
        case .data, .end: return 4 + buffer.count
        }
    }

    /// Feeds the next bytes of the stream; `message` gets each complete message, `dropped`
    /// each message given up (offset counts from that message's start byte).
    public mutating func push(_ bytes: UnsafeRawBufferPointer, message: (EnttecProMessage) -> Void, dropped: (WireError) -> Void) {
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            i += 1
            switch state {
            case .idle:
                if b == EnttecPro.start { state = .label } else { skippedBytes += 1 }
            case .label:
                label = b; state = .lengthLow
            case .lengthLow:
                length = Int(b); state = .lengthHigh
            case .lengthHigh:
                length |= Int(b) << 8
                if length > EnttecPro.maxDataLength {
                    skippedBytes += 4
                    state = .idle
                    dropped(WireError(.lengthPastEnd, at: 2, "length \(length) beyond \(EnttecPro.maxDataLength) (label \(label))"))
                } else {
                    buffer.removeAll(keepingCapacity: true)
                    state = length == 0 ? .end : .data
                }
            case .data:
                // The whole message and its end byte in this push (the usual case): handed out
                // in place, without the copy into `buffer`.
                let first = i - 1
                if buffer.isEmpty, length < bytes.count - first, bytes[first + length] == EnttecPro.end {
                    i = first + length + 1
                    state = .idle
                    message(EnttecProMessage(label: label, data: UnsafeRawBufferPointer(rebasing: bytes[first..<(first + length)])))
                    continue
                }
                // This byte and as many of the next as the message still needs, in one copy.
                let n = min(length - buffer.count, bytes.count - i + 1)
                buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[(i - 1)..<(i - 1 + n)]))
                i += n - 1
                if buffer.count == length { state = .end }
            case .end:
                if b == EnttecPro.end {
                    state = .idle
                    buffer.withUnsafeBytes { message(EnttecProMessage(label: label, data: $0)) }
                } else {
                    skippedBytes += 4 + length
                    dropped(WireError(.badIdentifier, at: 4 + length, "end byte 0x\(String(b, radix: 16)) instead of 0xe7 (label \(label), length \(length))"))
                    // The stray byte may open the next message.
                    if b == EnttecPro.start { state = .label } else { skippedBytes += 1; state = .idle }
                }
            }
        }
    }

    /// Forgets a partial message (the line closed); its bytes count as skipped.
    public mutating func reset() {
        skippedBytes += pendingBytes
        state = .idle
        buffer.removeAll(keepingCapacity: true)
    }
}
