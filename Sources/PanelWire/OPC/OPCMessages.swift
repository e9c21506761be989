/// Open Pixel Control (TCP 7890): `channel, command, length u16 BE, data`, messages back to
/// back on a stream. Channel 0 addresses every channel.
public enum OPC {
    public static let port: UInt16 = 7890
    public static let headerSize = 4
    /// The longest message: a header and 65,535 data bytes.
    public static let maximumMessageSize = headerSize + 0xFFFF

    public enum Command {
        /// 8-bit RGB triplets from pixel 0.
        public static let setPixels: UInt8 = 0
        /// System exclusive: a 2-byte system id, then that system's data.
        public static let systemExclusive: UInt8 = 255
    }

    /// System ids of command 255.
    public enum SystemID {
        public static let fadecandy: UInt16 = 0x0001
    }
}

/// One OPC message, a view into the bytes it was decoded from (valid as long as they are).
public struct OPCMessage {
    public var channel: UInt8
    public var command: UInt8
    public var data: UnsafeRawBufferPointer

    /// The system id of a system-exclusive message, nil when it is another command or too short.
    public var systemID: UInt16? {
        guard command == OPC.Command.systemExclusive, data.count >= 2 else { return nil }
        return data.u16be(0)
    }
}

public enum OPCDecoder {
    /// Decodes one whole message; bytes past the announced length are ignored.
    public static func decode(_ b: UnsafeRawBufferPointer) throws(WireError) -> OPCMessage {
        guard b.count >= OPC.headerSize else { throw WireError(.tooShort, at: b.count, "an OPC header is 4 bytes, have \(b.count)") }
        let length = Int(b.u16be(2))
        guard length <= b.count - OPC.headerSize else {
            throw WireError(.lengthPastEnd, at: 2, "length \(length) runs past the \(b.count - OPC.headerSize) data bytes present")
        }
        return OPCMessage(channel: b.u8(0), command: b.u8(1),
                          data: UnsafeRawBufferPointer(rebasing: b[OPC.headerSize..<(OPC.headerSize + length)]))
    }
}

public enum OPCEncoder {
    /// A set-pixels message (command 0) carrying `pixels` (RGB triplets, at most 65,535 bytes; more is cut).
    public static func setPixels(into out: inout [UInt8], channel: UInt8, pixels: UnsafeRawBufferPointer) {
        message(into: &out, channel: channel, command: OPC.Command.setPixels, data: pixels)
    }

    /// `message(into:…)` written in place into `out`: `data` writes the data after the 4-byte
    /// header (at most 65,535 bytes) and returns how many. Returns the message's length (0
    /// when `out` cannot hold the header).
    public static func message(in out: UnsafeMutableRawBufferPointer, channel: UInt8, command: UInt8,
                               data: (UnsafeMutableRawBufferPointer) -> Int) -> Int {
        guard out.count >= OPC.headerSize else { return 0 }
        let n = out.fill(from: OPC.headerSize, limit: 0xFFFF, data)
        out[0] = channel
        out[1] = command
        out.setU16BE(UInt16(n), at: 2)
        return OPC.headerSize + n
    }

    /// Any message; data beyond 65,535 bytes is cut (the length field cannot say more).
    public static func message(into out: inout [UInt8], channel: UInt8, command: UInt8, data: UnsafeRawBufferPointer) {
        let n = min(data.count, 0xFFFF)
        out.removeAll(keepingCapacity: true)
        out.append(channel)
        out.append(command)
        out.appendU16BE(UInt16(n))
        out.append(contentsOf: UnsafeRawBufferPointer(rebasing: data[0..<n]))
    }
}

/// Finds OPC messages in one connection's byte stream, however it is split into reads.
///
/// Whole messages inside a read are handed out in place (no copy); only a message split
/// across reads is gathered, and at most its announced length (≤ 65,539 bytes) is held.
/// OPC has no sync byte: a stream is trusted to start on a header, and bytes that are not
/// OPC are read as messages of whatever length they announce. Nothing inside a stream can
/// find the next real header, so a corrupted stream stays misaligned until the connection
/// ends; every connection starts with a fresh framer, so a client that reconnects is read
/// correctly again. Misread messages show up as unknown commands in the model's counters.
public struct OPCFramer {
    private var pending: [UInt8] = []
    /// Bytes the pending message still needs: a header first, then its data.
    private var wanted = OPC.headerSize

    public init() {}

    /// Bytes held of a message not yet complete.
    public var pendingCount: Int { pending.count }
    /// The announced size (header included) of the message being gathered, nil while its header is incomplete.
    public var pendingMessageSize: Int? {
        pending.count >= OPC.headerSize ? OPC.headerSize + Int(pending.withUnsafeBytes { $0.u16be(2) }) : nil
    }

    /// Feeds the next bytes of the stream; `message` gets each complete message's bytes (header included).
    public mutating func feed(_ bytes: UnsafeRawBufferPointer, message: (UnsafeRawBufferPointer) -> Void) {
        var i = 0
        let n = bytes.count
        while i < n {
            if pending.isEmpty {
                // Whole messages straight from the read.
                if n - i >= OPC.headerSize {
                    let size = OPC.headerSize + Int(bytes.u16be(i + 2))
                    if n - i >= size {
                        message(UnsafeRawBufferPointer(rebasing: bytes[i..<(i + size)]))
                        i += size
                        continue
                    }
                }
                wanted = OPC.headerSize
            }
            let take = min(wanted - pending.count, n - i)
            pending.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[i..<(i + take)]))
            i += take
            if pending.count == OPC.headerSize && wanted == OPC.headerSize {
                wanted = pendingMessageSize ?? OPC.headerSize
                pending.reserveCapacity(wanted)
            }
            if pending.count == wanted {
                pending.withUnsafeBytes { message($0) }
                pending.removeAll(keepingCapacity: true)
                wanted = OPC.headerSize
            }
        }
    }

    /// Forgets a partial message (the stream ended).
    public mutating func reset() {
        pending.removeAll(keepingCapacity: false)
        wanted = OPC.headerSize
    }
}
