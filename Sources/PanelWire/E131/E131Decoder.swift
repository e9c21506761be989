/// Decodes E1.31 packets: every root, framing and DMP field checked; only what cannot be
/// read is rejected, the rest carries `E131Violations`. Data packets decode without
/// allocating.
public enum E131Decoder {
    /// True when the buffer carries the ACN packet identifier (cheap, for detection).
    public static func isE131(_ b: UnsafeRawBufferPointer) -> Bool {
        guard b.count >= 16 else { return false }
        for i in 0..<12 where b[4 + i] != E131.acnIdentifier[i] { return false }
        return true
    }

    /// The universe of a data packet without decoding the rest (for dispatch by universe).
    public static func dataUniverse(_ b: UnsafeRawBufferPointer) -> UInt16? {
        guard b.count >= 115, isE131(b), b.u32be(18) == E131.rootVectorData else { return nil }
        return b.u16be(113)
    }

    /// The sync address of a sync packet without decoding the rest.
    public static func syncAddress(_ b: UnsafeRawBufferPointer) -> UInt16? {
        guard b.count >= 47, isE131(b), b.u32be(18) == E131.rootVectorExtended, b.u32be(40) == E131.framingVectorSync else { return nil }
        return b.u16be(45)
    }

    /// Checks a flags+length field: flags must be 0x7; the length must not run past the
    /// end (a rejection); a length of zero or one that disagrees is a violation.
    static func pdu(_ b: UnsafeRawBufferPointer, at o: Int, layer: String,
                    flags: E131Violations, length: E131Violations, _ v: inout E131Violations) throws(WireError) {
        let field = b.u16be(o)
        if field >> 12 != 0x7 { v.insert(flags) }
        let len = Int(field & 0x0FFF)
        let available = b.count - o
        if len > available {
            throw WireError(.lengthPastEnd, at: o, "\(layer) PDU length \(len) runs past the end (\(available) bytes from offset \(o))")
        }
        if len != available { v.insert(length) }
    }

    public static func decode(_ b: UnsafeRawBufferPointer) throws(WireError) -> E131Message {
        guard b.count >= 38 else { throw WireError(.tooShort, at: b.count, "E1.31 root layer is 38 bytes, got \(b.count)") }
        for i in 0..<12 where b[4 + i] != E131.acnIdentifier[i] {
            throw WireError(.badIdentifier, at: 4 + i, "ACN packet identifier is not \"ASC-E1.17\"")
        }
        var v: E131Violations = []
        if b.u16be(0) != 0x0010 || b.u16be(2) != 0 { v.insert(.preamble) }
        try pdu(b, at: 16, layer: "root", flags: .rootFlags, length: .rootLength, &v)
        let cid = CID(bytes: b, at: 22)
        let rootVector = b.u32be(18)
        switch rootVector {
        case E131.rootVectorData:
            return .data(try decodeData(b, cid: cid, v))
        case E131.rootVectorExtended:
            guard b.count >= 44 else { throw WireError(.tooShort, at: b.count, "E1.31 extended framing layer needs 44 bytes, got \(b.count)") }
            let framingVector = b.u32be(40)
            switch framingVector {
            case E131.framingVectorSync: return .sync(try decodeSync(b, cid: cid, v))
            case E131.framingVectorDiscovery: return .discovery(try decodeDiscovery(b, cid: cid, v))
            default: throw WireError(.badVector, at: 40, "unknown extended framing vector 0x\(String(framingVector, radix: 16))")
            }
        default:
            throw WireError(.badVector, at: 18, "unknown root vector 0x\(String(rootVector, radix: 16))")
        }
    }

    @inline(__always)
    static func decodeData(_ b: UnsafeRawBufferPointer, cid: CID, _ v0: E131Violations) throws(WireError) -> E131Data {
        var v = v0
        guard b.count >= 126 else { throw WireError(.tooShort, at: b.count, "E1.31 data packet header is 126 bytes, got \(b.count)") }
        try pdu(b, at: 38, layer: "framing", flags: .framingFlags, length: .framingLength, &v)
        let framingVector = b.u32be(40)
        guard framingVector == E131.framingVectorData else {
            throw WireError(.badVector, at: 40, "framing vector 0x\(String(framingVector, radix: 16)) is not E1.31 data (0x2)")
        }
        var nameEnd = 44
        while nameEnd < 108 && b[nameEnd] != 0 { nameEnd += 1 }
        if nameEnd == 108 { v.insert(.sourceNameUnterminated) }
        let priority = b[108]
        if priority > 200 { v.insert(.priorityRange) }
        let syncAddress = b.u16be(109)
        if syncAddress > 63999 { v.insert(.syncAddressRange) }
        let options = E131Options(rawValue: b[112])
        if b[112] & 0x1F != 0 { v.insert(.optionsReserved) }
        let universe = b.u16be(113)
        if !E131.validUniverses.contains(universe) { v.insert(.universeRange) }
        try pdu(b, at: 115, layer: "DMP", flags: .dmpFlags, length: .dmpLength, &v)
        guard b[117] == 0x02 else { throw WireError(.badVector, at: 117, "DMP vector 0x\(String(b[117], radix: 16)) is not SET PROPERTY (0x02)") }
        if b[118] != 0xA1 { v.insert(.dmpAddressType) }
        if b.u16be(119) != 0 { v.insert(.dmpFirstAddress) }
        if b.u16be(121) != 1 { v.insert(.dmpIncrement) }
        let count = Int(b.u16be(123))
        let available = b.count - 125
        guard count <= available else {
            throw WireError(.lengthPastEnd, at: 123, "property value count \(count) runs past the end (\(available) values present)")
        }
        if count == 0 || count > 513 { v.insert(.propertyCount) }
        if available > count { v.insert(.trailingBytes) }
        let slots = max(0, min(count, 513) - 1)
        return E131Data(cid: cid, sourceNameBytes: UnsafeRawBufferPointer(rebasing: b[44..<nameEnd]),
                        priority: priority, syncAddress: syncAddress, sequence: b[111], options: options,
                        universe: universe, startCode: count > 0 ? b[125] : 0,
                        data: UnsafeRawBufferPointer(rebasing: b[126..<(126 + slots)]), violations: v)
    }

    static func decodeSync(_ b: UnsafeRawBufferPointer, cid: CID, _ v0: E131Violations) throws(WireError) -> E131Sync {
        var v = v0
        guard b.count >= 47 else { throw WireError(.tooShort, at: b.count, "E1.31 sync packet needs 47 bytes through its sync address (49 with the reserved field), got \(b.count)") }
        try pdu(b, at: 38, layer: "framing", flags: .framingFlags, length: .framingLength, &v)
        let address = b.u16be(45)
        if !E131.validUniverses.contains(address) { v.insert(.syncAddressRange) }
        if b.count > 49 { v.insert(.trailingBytes) }
        return E131Sync(cid: cid, sequence: b[44], syncAddress: address, violations: v)
    }

    static func decodeDiscovery(_ b: UnsafeRawBufferPointer, cid: CID, _ v0: E131Violations) throws(WireError) -> E131Discovery {
        var v = v0
        guard b.count >= 120 else { throw WireError(.tooShort, at: b.count, "E1.31 universe discovery packet needs 120 bytes, got \(b.count)") }
        try pdu(b, at: 38, layer: "framing", flags: .framingFlags, length: .framingLength, &v)
        try pdu(b, at: 112, layer: "universe discovery", flags: .dmpFlags, length: .dmpLength, &v)
        let vector = b.u32be(114)
        guard vector == E131.discoveryVectorUniverseList else {
            throw WireError(.badVector, at: 114, "universe discovery vector 0x\(String(vector, radix: 16)) is not UNIVERSE_LIST (0x1)")
        }
        let page = b[118], last = b[119]
        if page > last { v.insert(.discoveryPage) }
        let n = min((b.count - 120) / 2, 512)
        if (b.count - 120) % 2 != 0 || (b.count - 120) / 2 > 512 { v.insert(.trailingBytes) }
        var universes: [UInt16] = []
        universes.reserveCapacity(n)
        for i in 0..<n { universes.append(b.u16be(120 + 2 * i)) }
        if zip(universes, universes.dropFirst()).contains(where: { $0 >= $1 }) { v.insert(.discoveryUnsorted) }
        return E131Discovery(cid: cid, sourceName: b.cString(44, count: 64), page: page, lastPage: last, universes: universes, violations: v)
    }
}
