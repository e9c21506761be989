/// Encodes TPM2.net packets into a caller-owned buffer (contents replaced, capacity reused).
public enum TPM2NetEncoder {
    /// One packet of `type` carrying at most 65535 bytes of `data`, numbered `number` of `count`.
    public static func packet(into out: inout [UInt8], type: TPM2Net.PacketType = .data, number: UInt8, count: UInt8,
                              data: UnsafeRawBufferPointer) {
        out.removeAll(keepingCapacity: true)
        let n = min(data.count, Int(UInt16.max))
        out.append(TPM2Net.startByte)
        out.append(type.rawValue)
        out.appendU16BE(UInt16(n))
        out.append(number)
        out.append(count)
        if n > 0 { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: data[0..<n])) }
        out.append(TPM2Net.endByte)
    }

    /// `packet(into:…)` written in place into `out`: `data` writes the data after the 6-byte
    /// header (at most 65535 bytes, leaving room for the end byte) and returns how many.
    /// Returns the packet's length (0 when `out` cannot hold header and end byte).
    public static func packet(in out: UnsafeMutableRawBufferPointer, type: TPM2Net.PacketType = .data, number: UInt8, count: UInt8,
                              data: (UnsafeMutableRawBufferPointer) -> Int) -> Int {
        guard out.count >= TPM2Net.headerLength + 1 else { return 0 }
        let n = out.fill(from: TPM2Net.headerLength, limit: min(Int(UInt16.max), out.count - TPM2Net.headerLength - 1), data)
        out[0] = TPM2Net.startByte
        out[1] = type.rawValue
        out.setU16BE(UInt16(n), at: 2)
        out[4] = number
        out[5] = count
        out[TPM2Net.headerLength + n] = TPM2Net.endByte
        return TPM2Net.headerLength + n + 1
    }

    /// A ping (0xAA) with no data, packet 1 of 1.
    public static func ping(into out: inout [UInt8]) {
        packet(into: &out, type: .ping, number: 1, count: 1, data: UnsafeRawBufferPointer(start: nil, count: 0))
    }
}
