/// Decodes TPM2.net packets without allocating. Rejects a wrong start byte or packet type,
/// a size running past the end and a wrong end byte; attaches `TPM2NetViolations` for the rest.
public enum TPM2NetDecoder {
    /// True when a datagram is exactly one well-framed TPM2.net packet (for detection).
    public static func looksLikeTPM2Net(_ b: UnsafeRawBufferPointer) -> Bool {
        guard b.count >= TPM2Net.headerLength + 1, b[0] == TPM2Net.startByte, TPM2Net.PacketType(rawValue: b[1]) != nil else { return false }
        return b.count == TPM2Net.headerLength + Int(b.u16be(2)) + 1 && b[b.count - 1] == TPM2Net.endByte
    }

    public static func decode(_ b: UnsafeRawBufferPointer) throws(WireError) -> TPM2NetPacket {
        guard b.count >= TPM2Net.headerLength else {
            throw WireError(.tooShort, at: b.count, "TPM2.net header is 6 bytes, got \(b.count)")
        }
        guard b[0] == TPM2Net.startByte else { throw WireError(.badIdentifier, at: 0, "start byte is not 0x9C") }
        guard let type = TPM2Net.PacketType(rawValue: b[1]) else {
            throw WireError(.badIdentifier, at: 1, "packet type is not 0xDA, 0xC0 or 0xAA")
        }
        let size = Int(b.u16be(2))
        let available = b.count - TPM2Net.headerLength
        guard size <= available else {
            throw WireError(.lengthPastEnd, at: 2, "size \(size) runs past the end (\(available) data bytes present)")
        }
        let end = TPM2Net.headerLength + size
        var v: TPM2NetViolations = []
        if end == b.count {
            v.insert(.missingEndByte)
        } else {
            guard b[end] == TPM2Net.endByte else { throw WireError(.badIdentifier, at: end, "end byte is not 0x36") }
            if b.count > end + 1 { v.insert(.trailingBytes) }
        }
        let number = b[4], count = b[5]
        if count == 0 { v.insert(.packetCount) }
        if number == 0 || number > count { v.insert(.packetNumber) }
        if size > TPM2Net.maxDataPerPacket { v.insert(.oversizedData) }
        return TPM2NetPacket(type: type, packetNumber: number, packetCount: count,
                             data: UnsafeRawBufferPointer(rebasing: b[TPM2Net.headerLength..<end]), violations: v)
    }
}
