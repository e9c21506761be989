/// NovaStar sending-card control protocol (serial 8N1 and TCP 5200): requests start `55 AA`,
/// replies `AA 55`; an 18-byte header, data, then a checksum u16 LE of
/// `0x5555 + sum of bytes 2 … n−3`. Layout in PROTOCOLS.md, "NovaStar sending card".
public enum NovaStar {
    /// Header length (through the length field); data follows.
    public static let headerLength = 18
    /// The shortest frame: header plus checksum.
    public static let minimumFrame = 20
    /// The longest data block PanelSim accepts in one frame. NovaLCT reads and writes at most
    /// a few hundred bytes at a time (256 in the public transcript); 4096 leaves room and
    /// keeps a framer's memory bounded. A frame claiming more is given up and the framer
    /// resynchronises.
    public static let maxDataLength = 4096
    /// The PC's source address in requests.
    public static let pcAddress: UInt8 = 0xFE
    /// Destination, output port and receiving-card index meaning "all".
    public static let broadcastDestination: UInt8 = 0xFF
    public static let allPorts: UInt8 = 0xFF
    public static let allCards: UInt16 = 0xFFFF

    /// Discovery on UDP 3800: NovaLCT broadcasts these 8 ASCII bytes …
    public static let discoveryRequest: [UInt8] = Array("rqProMI:".utf8)
    /// … and a card answers with these, followed by its identity text.
    public static let discoveryReply: [UInt8] = Array("rpProMI:".utf8)
    /// The UDP port of discovery.
    public static let discoveryPort: UInt16 = 3800

    /// ACK codes (byte 2 of a reply).
    public enum Ack {
        public static let ok: UInt8 = 0
        public static let timeout: UInt8 = 1
        public static let requestChecksum: UInt8 = 2
        public static let replyChecksum: UInt8 = 3
        public static let invalidCommand: UInt8 = 4
    }

    /// Device types (byte 6).
    public enum DeviceType {
        public static let sendingCard: UInt8 = 0
        public static let receivingCard: UInt8 = 1
        public static let functionCard: UInt8 = 2
    }

    /// Rules a frame can break while still decoding.
    public enum Rule {
        public static let checksum = RuleID("novastar-checksum")
        public static let operation = RuleID("novastar-operation")
        public static let ackInRequest = RuleID("novastar-ack-in-request")
        public static let deviceType = RuleID("novastar-device-type")
        public static let reserved = RuleID("novastar-reserved")
        public static let readLength = RuleID("novastar-read-length")
    }

    /// The checksum of `frame[2 ..< end]`: `(0x5555 + sum) & 0xFFFF`.
    public static func checksum(_ frame: UnsafeRawBufferPointer, end: Int) -> UInt16 {
        var sum: UInt32 = 0x5555
        var i = 2
        while i < end { sum &+= UInt32(frame[i]); i += 1 }
        return UInt16(truncatingIfNeeded: sum)
    }

    /// The total length of the frame whose first 18 bytes are `header`: a write request and
    /// every reply carry `length` data bytes, a read request none.
    public static func frameLength(header: UnsafeRawBufferPointer) -> (total: Int, dataLength: Int) {
        let length = Int(header.u16le(16))
        let carriesData = header[0] == 0xAA || header[10] != 0
        return (minimumFrame + (carriesData ? length : 0), length)
    }
}

/// One NovaStar frame, request or reply.
public struct NovaStarFrame: Equatable, Sendable {
    public enum Kind: Sendable { case request, reply }
    public var kind: Kind
    /// Byte 2: 0 in requests, the ACK code in replies.
    public var ack: UInt8
    /// Byte 3, echoed in the reply.
    public var serial: UInt8
    public var source: UInt8
    public var destination: UInt8
    public var deviceType: UInt8
    /// Sending-card output port (0xFF all).
    public var port: UInt8
    /// Receiving-card index (0xFFFF all).
    public var card: UInt16
    /// Byte 10: 0 read, 1 write.
    public var operation: UInt8
    public var reserved: UInt8
    public var address: UInt32
    /// Bytes to read, or bytes written / returned.
    public var length: UInt16
    /// Data of a write request or a reply.
    public var data: [UInt8]
    /// Whether the checksum on the wire matched (always true for frames built here).
    public var checksumValid: Bool
    /// Rules the frame breaks.
    public var violations: [RuleID]

    public var isWrite: Bool { operation == 1 }

    public init(kind: Kind, ack: UInt8 = 0, serial: UInt8, source: UInt8, destination: UInt8, deviceType: UInt8,
                port: UInt8 = 0, card: UInt16 = 0, operation: UInt8, reserved: UInt8 = 0, address: UInt32,
                length: UInt16, data: [UInt8] = [], checksumValid: Bool = true, violations: [RuleID] = []) {
        self.kind = kind; self.ack = ack; self.serial = serial; self.source = source; self.destination = destination
        self.deviceType = deviceType; self.port = port; self.card = card; self.operation = operation
        self.reserved = reserved; self.address = address; self.length = length; self.data = data
        self.checksumValid = checksumValid; self.violations = violations
    }

    /// A read request from the PC.
    public static func read(serial: UInt8, destination: UInt8 = 0, deviceType: UInt8, port: UInt8 = 0, card: UInt16 = 0,
                            address: UInt32, length: UInt16) -> NovaStarFrame {
        NovaStarFrame(kind: .request, serial: serial, source: NovaStar.pcAddress, destination: destination, deviceType: deviceType,
                      port: port, card: card, operation: 0, address: address, length: length)
    }

    /// A write request from the PC; `data` longer than `NovaStar.maxDataLength` is cut.
    public static func write(serial: UInt8, destination: UInt8 = 0, deviceType: UInt8, port: UInt8 = 0, card: UInt16 = 0,
                             address: UInt32, data: [UInt8]) -> NovaStarFrame {
        let d = Array(data.prefix(NovaStar.maxDataLength))
        return NovaStarFrame(kind: .request, serial: serial, source: NovaStar.pcAddress, destination: destination,
                             deviceType: deviceType, port: port, card: card, operation: 1, address: address,
                             length: UInt16(d.count), data: d)
    }

    /// The reply to this request: source and destination swapped, `data` as given (length
    /// follows it, cut at `NovaStar.maxDataLength`).
    public func reply(ack: UInt8, data: [UInt8]) -> NovaStarFrame {
        let d = Array(data.prefix(NovaStar.maxDataLength))
        return NovaStarFrame(kind: .reply, ack: ack, serial: serial, source: destination, destination: source,
                             deviceType: deviceType, port: port, card: card, operation: operation, reserved: reserved,
                             address: address, length: UInt16(d.count), data: d)
    }

    /// The frame's bytes with a correct checksum.
    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(NovaStar.minimumFrame + data.count)
        out += kind == .request ? [0x55, 0xAA] : [0xAA, 0x55]
        out += [ack, serial, source, destination, deviceType, port]
        out.appendU16LE(card)
        out += [operation, reserved]
        out.appendU32LE(address)
        out.appendU16LE(length)
        out += data
        let sum = out.withUnsafeBytes { NovaStar.checksum($0, end: out.count) }
        out.appendU16LE(sum)
        return out
    }

    /// Decodes exactly one frame. Rejects what cannot be read (too short, a bad start, data
    /// running past the end or beyond `NovaStar.maxDataLength`); a bad checksum and other
    /// broken rules decode, listed in `violations`.
    public static func decode(_ b: UnsafeRawBufferPointer) throws(WireError) -> NovaStarFrame {
        guard b.count >= NovaStar.minimumFrame else {
            throw WireError(.tooShort, at: b.count, "\(b.count) bytes, a NovaStar frame has at least \(NovaStar.minimumFrame)")
        }
        let kind: Kind
        switch (b[0], b[1]) {
        case (0x55, 0xAA): kind = .request
        case (0xAA, 0x55): kind = .reply
        default: throw WireError(.badIdentifier, at: 0, "start \(hex(b[0]))\(hex(b[1])), neither 55aa nor aa55")
        }
        let (total, dataLength) = NovaStar.frameLength(header: b)
        guard dataLength <= NovaStar.maxDataLength || total == NovaStar.minimumFrame else {
            throw WireError(.lengthPastEnd, at: 16, "data length \(dataLength) beyond \(NovaStar.maxDataLength)")
        }
        guard total <= b.count else {
            throw WireError(.lengthPastEnd, at: 16, "data length \(dataLength) needs \(total) bytes, \(b.count) present")
        }
        var violations: [RuleID] = []
        let sum = NovaStar.checksum(b, end: total - 2)
        let checksumValid = sum == b.u16le(total - 2)
        if !checksumValid { violations.append(NovaStar.Rule.checksum) }
        if b[10] > 1 { violations.append(NovaStar.Rule.operation) }
        if kind == .request && b[2] != 0 { violations.append(NovaStar.Rule.ackInRequest) }
        if b[6] > NovaStar.DeviceType.functionCard { violations.append(NovaStar.Rule.deviceType) }
        if b[11] != 0 { violations.append(NovaStar.Rule.reserved) }
        if kind == .request && b[10] == 0 && dataLength > NovaStar.maxDataLength { violations.append(NovaStar.Rule.readLength) }
        let dataEnd = total - 2
        return NovaStarFrame(kind: kind, ack: b[2], serial: b[3], source: b[4], destination: b[5], deviceType: b[6], port: b[7],
                             card: b.u16le(8), operation: b[10], reserved: b[11], address: b.u32le(12),
                             length: b.u16le(16), data: Array(b[NovaStar.headerLength..<dataEnd]),
                             checksumValid: checksumValid, violations: violations)
    }

    private static func hex(_ v: UInt8) -> String { v < 16 ? "0" + String(v, radix: 16) : String(v, radix: 16) }
}

/// Cuts a byte stream into NovaStar frames (requests and replies). Bytes outside frames are
/// skipped and counted; a header claiming more than `NovaStar.maxDataLength` data bytes is
/// given up: its first byte counts as skipped and the search for a start resumes at the
/// next byte. Memory is bounded by one frame (20 + 4096 bytes).
public struct NovaStarFramer {
    private var buffer: [UInt8] = []
    private var expected = 0
    /// Bytes seen outside any frame.
    public private(set) var skippedBytes = 0

    public init() { buffer.reserveCapacity(NovaStar.minimumFrame + NovaStar.maxDataLength) }

    /// Bytes held for a frame not yet complete.
    public var pendingBytes: Int { buffer.count }

    /// Feeds the next bytes; `frame` gets each complete frame (a view valid during the call),
    /// `dropped` each header given up (offset from that frame's start).
    public mutating func push(_ bytes: UnsafeRawBufferPointer, frame: (UnsafeRawBufferPointer) -> Void, dropped: (WireError) -> Void) {
        for b in bytes {
            buffer.append(b)
            settle(frame: frame, dropped: dropped)
        }
    }

    /// Consumes what the buffer allows: a wrong start byte is skipped, a complete frame handed on.
    private mutating func settle(frame: (UnsafeRawBufferPointer) -> Void, dropped: (WireError) -> Void) {
        while !buffer.isEmpty {
            if buffer[0] != 0x55 && buffer[0] != 0xAA { dropFirst(); continue }
            if buffer.count >= 2 && !((buffer[0] == 0x55 && buffer[1] == 0xAA) || (buffer[0] == 0xAA && buffer[1] == 0x55)) {
                dropFirst(); continue
            }
            if buffer.count < NovaStar.headerLength { return }
            if expected == 0 {
                let (total, dataLength) = buffer.withUnsafeBytes { NovaStar.frameLength(header: $0) }
                if total > NovaStar.minimumFrame + NovaStar.maxDataLength {
                    dropped(WireError(.lengthPastEnd, at: 16, "data length \(dataLength) beyond \(NovaStar.maxDataLength)"))
                    dropFirst(); continue
                }
                expected = total
            }
            guard buffer.count >= expected else { return }
            buffer.withUnsafeBytes { frame(UnsafeRawBufferPointer(rebasing: $0[0..<expected])) }
            buffer.removeFirst(expected)
            expected = 0
        }
    }

    private mutating func dropFirst() {
        buffer.removeFirst()
        skippedBytes += 1
        expected = 0
    }

    /// Forgets a partial frame (the stream ended); its bytes count as skipped.
    public mutating func reset() {
        skippedBytes += buffer.count
        buffer.removeAll(keepingCapacity: true)
        expected = 0
    }
}

extension UnsafeRawBufferPointer {
    fileprivate func u32le(_ o: Int) -> UInt32 {
        UInt32(self[o + 3]) << 24 | UInt32(self[o + 2]) << 16 | UInt32(self[o + 1]) << 8 | UInt32(self[o])
    }
}

extension Array where Element == UInt8 {
    fileprivate mutating func appendU32LE(_ v: UInt32) {
        append(UInt8(v & 0xFF)); append(UInt8((v >> 8) & 0xFF)); append(UInt8((v >> 16) & 0xFF)); append(UInt8(v >> 24))
    }
}
