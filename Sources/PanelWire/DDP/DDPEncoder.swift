/// Encodes DDP packets into a caller-owned buffer (contents replaced, capacity reused).
public enum DDPEncoder {
    /// One packet: the header (14 bytes when `header.timecode` is set, which also sets the
    /// timecode flag) and at most 65535 bytes of `data`.
    public static func packet(into out: inout [UInt8], _ header: DDPHeader, data: UnsafeRawBufferPointer) {
        out.removeAll(keepingCapacity: true)
        let n = min(data.count, Int(UInt16.max))
        out.append(header.timecode == nil ? header.flags & ~DDP.Flag.timecode : header.flags | DDP.Flag.timecode)
        out.append(header.sequence & 0x0F)
        out.append(header.dataType)
        out.append(header.destination)
        out.appendU32BE(header.offset)
        out.appendU16BE(UInt16(n))
        if let tc = header.timecode { out.appendU32BE(tc) }
        if n > 0 { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: data[0..<n])) }
    }

    /// `packet(into:…)` written in place into `out`: `data` writes the data after the header
    /// (at most 65535 bytes, and no further than `out` reaches) and returns how many. Returns
    /// the packet's length (0 when `out` cannot hold the header).
    public static func packet(in out: UnsafeMutableRawBufferPointer, _ header: DDPHeader, data: (UnsafeMutableRawBufferPointer) -> Int) -> Int {
        let h = header.timecode == nil ? DDP.headerLength : DDP.timecodeHeaderLength
        guard out.count >= h else { return 0 }
        let n = out.fill(from: h, limit: Int(UInt16.max), data)
        out[0] = header.timecode == nil ? header.flags & ~DDP.Flag.timecode : header.flags | DDP.Flag.timecode
        out[1] = header.sequence & 0x0F
        out[2] = header.dataType
        out[3] = header.destination
        out.setU32BE(header.offset, at: 4)
        out.setU16BE(UInt16(n), at: 8)
        if let tc = header.timecode { out.setU32BE(tc, at: 10) }
        return h + n
    }

    /// A query (status or config) to `destination`: no data, the query flag set.
    public static func query(into out: inout [UInt8], destination: UInt8, sequence: UInt8 = 0) {
        let none = UnsafeRawBufferPointer(start: nil, count: 0)
        packet(into: &out, DDPHeader(flags: DDP.Flag.version1 | DDP.Flag.query, sequence: sequence,
                                      dataType: DDP.DataType.undefined, destination: destination), data: none)
    }
}
