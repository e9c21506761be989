/// TPM2 over a serial line: `0xC9 type size(u16 BE) data 0x36`.
public enum TPM2Serial {
    public static let start: UInt8 = 0xC9
    public static let end: UInt8 = 0x36
    /// The acknowledgement byte a receiver answers with.
    public static let ack: UInt8 = 0xAC

    public enum PacketType: UInt8, Sendable {
        case data = 0xDA
        case command = 0xC0
        case ping = 0xAA
    }

    /// Encodes one packet into `out` (replacing its contents); data beyond 65535 bytes is cut.
    public static func packet(into out: inout [UInt8], type: PacketType, data: UnsafeRawBufferPointer) {
        let n = min(data.count, Int(UInt16.max))
        out.removeAll(keepingCapacity: true)
        out.append(start)
        out.append(type.rawValue)
        out.appendU16BE(UInt16(n))
        out.append(contentsOf: UnsafeRawBufferPointer(rebasing: data[0..<n]))
        out.append(end)
    }

    /// `packet(into:…)` written in place into `out`: `data` writes the data after the 4-byte
    /// header (at most 65535 bytes, leaving room for the end byte) and returns how many.
    /// Returns the packet's length (0 when `out` cannot hold header and end byte).
    public static func packet(in out: UnsafeMutableRawBufferPointer, type: PacketType, data: (UnsafeMutableRawBufferPointer) -> Int) -> Int {
        guard out.count >= 5 else { return 0 }
        let n = out.fill(from: 4, limit: min(Int(UInt16.max), out.count - 5), data)
        out[0] = start
        out[1] = type.rawValue
        out.setU16BE(UInt16(n), at: 2)
        out[4 + n] = end
        return 5 + n
    }

    /// A whole packet as an array.
    public static func packet(type: PacketType, data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        data.withUnsafeBytes { packet(into: &out, type: type, data: $0) }
        return out
    }
}

/// One framed TPM2 packet, a view valid only during the framer's callback.
public struct TPM2SerialPacket {
    public var type: TPM2Serial.PacketType
    public var data: UnsafeRawBufferPointer
}

/// Cuts a byte stream into TPM2 packets. Bytes outside packets are skipped and counted; an
/// unknown type, a size beyond `maxDataLength` or a missing end byte drops the packet and
/// resynchronises on the next start byte. Memory is bounded by `maxDataLength`.
public struct TPM2SerialFramer {
    private enum State { case idle, type, sizeHigh, sizeLow, data, end }
    private var state = State.idle
    private var type = TPM2Serial.PacketType.data
    private var size = 0
    private var buffer: [UInt8] = []
    public let maxDataLength: Int
    /// Bytes seen outside any packet (before a start byte, or of a dropped packet).
    public private(set) var skippedBytes = 0

    public init(maxDataLength: Int = Int(UInt16.max)) {
        self.maxDataLength = min(max(0, maxDataLength), Int(UInt16.max))
    }

    /// Feeds the next bytes of the stream; `packet` gets each complete packet, `dropped` each
    /// packet given up (offset counts from that packet's start byte).
    public mutating func push(_ bytes: UnsafeRawBufferPointer, packet: (TPM2SerialPacket) -> Void, dropped: (WireError) -> Void) {
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            i += 1
            switch state {
            case .idle:
                if b == TPM2Serial.start { state = .type } else { skippedBytes += 1 }
            case .type:
                if let t = TPM2Serial.PacketType(rawValue: b) {
                    type = t; state = .sizeHigh
                } else {
                    skippedBytes += 1
                    dropped(WireError(.badIdentifier, at: 1, "packet type 0x\(String(b, radix: 16)) (0xda, 0xc0 or 0xaa expected)"))
                    if b == TPM2Serial.start { state = .type } else { skippedBytes += 1; state = .idle }
                }
            case .sizeHigh:
                size = Int(b) << 8; state = .sizeLow
            case .sizeLow:
                size |= Int(b)
                if size > maxDataLength {
                    skippedBytes += 4
                    state = .idle
                    dropped(WireError(.lengthPastEnd, at: 2, "size \(size) beyond \(maxDataLength)"))
                } else if size > 0 && bytes.count - i > size && bytes[i + size] == TPM2Serial.end {
                    // The whole packet is in this read: handed out in place, without a copy.
                    state = .idle
                    packet(TPM2SerialPacket(type: type, data: UnsafeRawBufferPointer(rebasing: bytes[i..<(i + size)])))
                    i += size + 1
                } else {
                    buffer.removeAll(keepingCapacity: true)
                    state = size == 0 ? .end : .data
                }
            case .data:
                // This byte and as many of the next as the packet still needs, in one copy.
                let n = min(size - buffer.count, bytes.count - i + 1)
                buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[(i - 1)..<(i - 1 + n)]))
                i += n - 1
                if buffer.count == size { state = .end }
            case .end:
                if b == TPM2Serial.end {
                    state = .idle
                    buffer.withUnsafeBytes { packet(TPM2SerialPacket(type: type, data: $0)) }
                } else {
                    skippedBytes += 4 + size
                    dropped(WireError(.badIdentifier, at: 4 + size, "end byte 0x\(String(b, radix: 16)) instead of 0x36 (size \(size))"))
                    if b == TPM2Serial.start { state = .type } else { skippedBytes += 1; state = .idle }
                }
            }
        }
    }

    /// Forgets a partial packet (the line closed); its bytes count as skipped.
    public mutating func reset() {
        switch state {
        case .idle: break
        case .type: skippedBytes += 1
        case .sizeHigh: skippedBytes += 2
        case .sizeLow: skippedBytes += 3
        case .data, .end: skippedBytes += 4 + buffer.count
        }
        state = .idle
        buffer.removeAll(keepingCapacity: true)
    }
}
