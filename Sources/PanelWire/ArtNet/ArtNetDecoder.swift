/// Decodes Art-Net packets. Strict about bytes (rejects what cannot be read), lenient
/// about rules (attaches `ArtNetViolations`). Does not allocate for ArtDmx or ArtSync.
public enum ArtNetDecoder {
    /// True when the buffer starts with the Art-Net identifier: cheap, for protocol detection.
    public static func isArtNet(_ b: UnsafeRawBufferPointer) -> Bool {
        guard b.count >= 10 else { return false }
        for i in 0..<8 where b[i] != ArtNet.identifier[i] { return false }
        return true
    }

    /// The opcode of an Art-Net packet, nil when the identifier is wrong.
    public static func opCode(_ b: UnsafeRawBufferPointer) -> UInt16? {
        isArtNet(b) ? b.u16le(8) : nil
    }

    /// The Port-Address an ArtDmx/ArtNzs packet is for, without decoding the rest
    /// (used to dispatch a shared socket's datagrams by universe).
    public static func portAddress(_ b: UnsafeRawBufferPointer) -> UInt16? {
        guard b.count >= 18, let op = opCode(b), op == ArtNet.OpCode.dmx.rawValue || op == ArtNet.OpCode.nzs.rawValue else { return nil }
        return UInt16(b[15] & 0x7F) << 8 | UInt16(b[14])
    }

    public static func decode(_ b: UnsafeRawBufferPointer) throws(WireError) -> ArtNetMessage {
        guard b.count >= 10 else { throw WireError(.tooShort, at: b.count, "Art-Net packet needs 10 bytes for identifier and opcode, got \(b.count)") }
        for i in 0..<8 where b[i] != ArtNet.identifier[i] {
            throw WireError(.badIdentifier, at: i, "not \"Art-Net\\0\"")
        }
        let op = b.u16le(8)
        switch ArtNet.OpCode(rawValue: op) {
        case .dmx?: return .dmx(try decodeDmx(b, nzs: false))
        case .nzs?: return .nzs(try decodeDmx(b, nzs: true))
        case .sync?: return .sync(try decodeSync(b))
        case .poll?: return .poll(try decodePoll(b))
        case .pollReply?: return .pollReply(try decodePollReply(b))
        case .address?: return .address(try decodeAddress(b))
        case let known?: return .unsupported(opCode: op, name: known.name)
        case nil: return .unsupported(opCode: op, name: nil)
        }
    }

    static func version(_ b: UnsafeRawBufferPointer, _ v: inout ArtNetViolations) -> UInt16 {
        let ver = b.u16be(10)
        if ver < ArtNet.protocolVersion { v.insert(.oldProtocolVersion) }
        return ver
    }

    @inline(__always)
    static func decodeDmx(_ b: UnsafeRawBufferPointer, nzs: Bool) throws(WireError) -> ArtDmx {
        guard b.count >= 18 else { throw WireError(.tooShort, at: b.count, "\(nzs ? "ArtNzs" : "ArtDmx") header is 18 bytes, got \(b.count)") }
        var v: ArtNetViolations = []
        let ver = version(b, &v)
        let length = Int(b.u16be(16))
        let available = b.count - 18
        guard length <= available else {
            throw WireError(.lengthPastEnd, at: 16, "Length \(length) runs past the end (\(available) data bytes present)")
        }
        if length % 2 == 1 { v.insert(.oddLength) }
        if length == 0 || length > 512 { v.insert(.lengthOutOfRange) }
        if available > length { v.insert(.trailingBytes) }
        if b[15] & 0x80 != 0 { v.insert(.netHighBit) }
        let startCode: UInt8 = nzs ? b[13] : 0
        if nzs && startCode == 0 { v.insert(.nzsZeroStartCode) }
        let used = min(length, 512)
        return ArtDmx(protocolVersion: ver, sequence: b[12], physical: nzs ? 0 : b[13], startCode: startCode,
                      portAddress: UInt16(b[15] & 0x7F) << 8 | UInt16(b[14]),
                      data: UnsafeRawBufferPointer(rebasing: b[18..<(18 + used)]), violations: v)
    }

    static func decodeSync(_ b: UnsafeRawBufferPointer) throws(WireError) -> ArtSync {
        guard b.count >= 12 else { throw WireError(.tooShort, at: b.count, "ArtSync needs ProtVer, got \(b.count) bytes") }
        var v: ArtNetViolations = []
        let ver = version(b, &v)
        if b.count > 14 { v.insert(.trailingBytes) }
        return ArtSync(protocolVersion: ver, aux1: b.count > 12 ? b[12] : 0, aux2: b.count > 13 ? b[13] : 0, violations: v)
    }

    static func decodePoll(_ b: UnsafeRawBufferPointer) throws(WireError) -> ArtPoll {
        guard b.count >= 12 else { throw WireError(.tooShort, at: b.count, "ArtPoll needs ProtVer, got \(b.count) bytes") }
        var v: ArtNetViolations = []
        var poll = ArtPoll(protocolVersion: version(b, &v))
        if b.count >= 14 {
            poll.flags = b[12]
            poll.diagPriority = b[13]
        } else {
            v.insert(.shortPoll)
        }
        if b.count >= 18 {
            poll.targetPortAddressTop = b.u16be(14)
            poll.targetPortAddressBottom = b.u16be(16)
        }
        if b.count >= 20 { poll.estaManufacturer = b.u16be(18) }
        if b.count >= 22 { poll.oem = b.u16be(20) }
        poll.violations = v
        return poll
    }

    static func decodePollReply(_ b: UnsafeRawBufferPointer) throws(WireError) -> ArtPollReply {
        // The short name is the least a reply must carry to mean anything.
        guard b.count >= 44 else { throw WireError(.tooShort, at: b.count, "ArtPollReply needs at least 44 bytes (through ShortName), got \(b.count)") }
        var r = ArtPollReply()
        func byte(_ o: Int) -> UInt8 { o < b.count ? b[o] : 0 }
        func bytes(_ o: Int, _ n: Int) -> [UInt8] { (o..<(o + n)).map { byte($0) } }
        r.ipAddress = bytes(10, 4)
        r.port = b.u16le(14)
        r.versionInfo = b.u16be(16)
        r.netSwitch = b[18]
        r.subSwitch = b[19]
        r.oem = b.u16be(20)
        r.ubeaVersion = b[22]
        r.status1 = b[23]
        r.estaManufacturer = b.u16le(24)
        r.shortName = b.cString(26, count: 18)
        r.longName = b.cString(44, count: 64)
        r.nodeReport = b.cString(108, count: 64)
        r.numPorts = UInt16(byte(172)) << 8 | UInt16(byte(173))
        r.portTypes = bytes(174, 4)
        r.goodInput = bytes(178, 4)
        r.goodOutputA = bytes(182, 4)
        r.swIn = bytes(186, 4)
        r.swOut = bytes(190, 4)
        r.acnPriority = byte(194)
        r.swMacro = byte(195)
        r.swRemote = byte(196)
        r.style = byte(200)
        r.mac = bytes(201, 6)
        r.bindIp = bytes(207, 4)
        r.bindIndex = byte(211)
        r.status2 = byte(212)
        r.goodOutputB = bytes(213, 4)
        r.status3 = byte(217)
        if b.count < 207 { r.violations.insert(.shortPollReply) }
        return r
    }

    static func decodeAddress(_ b: UnsafeRawBufferPointer) throws(WireError) -> ArtAddress {
        guard b.count >= 107 else { throw WireError(.tooShort, at: b.count, "ArtAddress is 107 bytes, got \(b.count)") }
        var a = ArtAddress()
        a.protocolVersion = version(b, &a.violations)
        a.netSwitch = b[12]
        a.bindIndex = b[13]
        a.shortName = b.cString(14, count: 18)
        a.longName = b.cString(32, count: 64)
        a.swIn = (96..<100).map { b[$0] }
        a.swOut = (100..<104).map { b[$0] }
        a.subSwitch = b[104]
        a.acnPriority = b[105]
        a.command = b[106]
        return a
    }
}
