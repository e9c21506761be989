/// Decodes DDP packets without allocating. Rejects what cannot be read (a header cut
/// short, a length running past the end); attaches `DDPViolations` for the rest.
public enum DDPDecoder {
    /// True when a datagram has DDP's shape: version 01, reserved bit clear, a length that
    /// matches the datagram exactly, and a destination id with a defined meaning. Cheap,
    /// for protocol detection (DDP has no identifier; the port decides the rest).
    public static func looksLikeDDP(_ b: UnsafeRawBufferPointer) -> Bool {
        guard b.count >= DDP.headerLength, b[0] & (DDP.Flag.versionMask | DDP.Flag.reserved) == DDP.Flag.version1 else { return false }
        let header = b[0] & DDP.Flag.timecode != 0 ? DDP.timecodeHeaderLength : DDP.headerLength
        guard b.count == header + Int(b.u16be(8)) else { return false }
        switch b[3] {
        case DDP.Destination.display, DDP.Destination.control, DDP.Destination.config, DDP.Destination.status,
             DDP.Destination.dmx, DDP.Destination.all:
            return true
        default:
            return false
        }
    }

    public static func decode(_ b: UnsafeRawBufferPointer) throws(WireError) -> DDPPacket {
        guard b.count >= DDP.headerLength else {
            throw WireError(.tooShort, at: b.count, "DDP header is 10 bytes, got \(b.count)")
        }
        let flags = b[0]
        var v: DDPViolations = []
        if flags & DDP.Flag.versionMask != DDP.Flag.version1 { v.insert(.version) }
        if flags & DDP.Flag.reserved != 0 { v.insert(.reservedFlag) }
        if b[1] & 0xF0 != 0 { v.insert(.sequenceHighBits) }
        var header = DDPHeader(flags: flags, sequence: b[1] & 0x0F, dataType: b[2], destination: b[3], offset: b.u32be(4))
        var start = DDP.headerLength
        if flags & DDP.Flag.timecode != 0 {
            guard b.count >= DDP.timecodeHeaderLength else {
                throw WireError(.tooShort, at: b.count, "DDP header with the timecode flag is 14 bytes, got \(b.count)")
            }
            header.timecode = b.u32be(10)
            start = DDP.timecodeHeaderLength
        }
        let length = Int(b.u16be(8))
        let available = b.count - start
        guard length <= available else {
            throw WireError(.lengthPastEnd, at: 8, "data length \(length) runs past the end (\(available) data bytes present)")
        }
        if available > length { v.insert(.trailingBytes) }
        if length > DDP.maxDataPerPacket { v.insert(.oversizedData) }
        return DDPPacket(header: header, data: UnsafeRawBufferPointer(rebasing: b[start..<(start + length)]), violations: v)
    }
}
