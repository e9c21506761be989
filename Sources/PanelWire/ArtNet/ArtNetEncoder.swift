/// Encodes Art-Net packets into a caller-owned buffer (its contents are replaced, its
/// capacity reused, so a sender allocates once).
public enum ArtNetEncoder {
    static func header(_ out: inout [UInt8], _ op: ArtNet.OpCode, version: Bool = true) {
        out.removeAll(keepingCapacity: true)
        out.append(contentsOf: ArtNet.identifier)
        out.appendU16LE(op.rawValue)
        if version { out.appendU16BE(ArtNet.protocolVersion) }
    }

    /// ArtDmx for a Port-Address. Odd lengths are padded with a zero to stay even; data
    /// beyond 512 bytes is not sent; empty data sends two zero slots (the minimum length).
    public static func dmx(into out: inout [UInt8], sequence: UInt8, physical: UInt8 = 0,
                           portAddress: UInt16, data: UnsafeRawBufferPointer) {
        header(&out, .dmx)
        out.append(sequence)
        out.append(physical)
        out.append(UInt8(portAddress & 0xFF))
        out.append(UInt8((portAddress >> 8) & 0x7F))
        let n = min(data.count, 512)
        let length = max(2, n + (n % 2))
        out.appendU16BE(UInt16(length))
        out.append(contentsOf: UnsafeRawBufferPointer(rebasing: data[0..<n]))
        out.append(contentsOf: repeatElement(0, count: length - n))
    }

    /// The longest ArtDmx: 18 header bytes and 512 slots.
    public static let dmxMaximumSize = 18 + 512

    /// `dmx(into:…)` written in place into `out` (at least `dmxMaximumSize` bytes; 0 is
    /// returned for a smaller one): `data` writes the slots at offset 18 (at most 512) and
    /// returns how many; the header and padding are written around them. Returns the packet's
    /// length; the bytes are those `dmx(into:…)` gives for the same slots.
    public static func dmx(in out: UnsafeMutableRawBufferPointer, sequence: UInt8, physical: UInt8 = 0,
                           portAddress: UInt16, data: (UnsafeMutableRawBufferPointer) -> Int) -> Int {
        guard out.count >= dmxMaximumSize else { return 0 }
        let n = out.fill(from: 18, limit: 512, data)
        let length = max(2, n + (n % 2))
        out.zero((18 + n)..<(18 + length))
        for i in 0..<8 { out[i] = ArtNet.identifier[i] }
        out.setU16LE(ArtNet.OpCode.dmx.rawValue, at: 8)
        out.setU16BE(ArtNet.protocolVersion, at: 10)
        out[12] = sequence
        out[13] = physical
        out[14] = UInt8(portAddress & 0xFF)
        out[15] = UInt8((portAddress >> 8) & 0x7F)
        out.setU16BE(UInt16(length), at: 16)
        return 18 + length
    }

    /// ArtNzs: non-zero START code data.
    public static func nzs(into out: inout [UInt8], sequence: UInt8, startCode: UInt8,
                           portAddress: UInt16, data: UnsafeRawBufferPointer) {
        dmx(into: &out, sequence: sequence, physical: startCode, portAddress: portAddress, data: data)
        out[8] = UInt8(ArtNet.OpCode.nzs.rawValue & 0xFF)
        out[9] = UInt8(ArtNet.OpCode.nzs.rawValue >> 8)
    }

    /// ArtSync (14 bytes, Aux1 and Aux2 zero).
    public static func sync(into out: inout [UInt8]) {
        header(&out, .sync)
        out.append(0)
        out.append(0)
    }

    /// ArtPoll; the long (Art-Net 4, 22-byte) form when targeted fields are given.
    public static func poll(into out: inout [UInt8], _ poll: ArtPoll) {
        header(&out, .poll)
        out.append(poll.flags)
        out.append(poll.diagPriority)
        if poll.targetPortAddressTop != nil || poll.targetPortAddressBottom != nil || poll.estaManufacturer != nil || poll.oem != nil {
            out.appendU16BE(poll.targetPortAddressTop ?? 0)
            out.appendU16BE(poll.targetPortAddressBottom ?? 0)
            out.appendU16BE(poll.estaManufacturer ?? 0)
            out.appendU16BE(poll.oem ?? 0)
        }
    }

    /// ArtPollReply, 239 bytes.
    public static func pollReply(into out: inout [UInt8], _ r: ArtPollReply) {
        header(&out, .pollReply, version: false)
        func four(_ a: [UInt8]) { for i in 0..<4 { out.append(i < a.count ? a[i] : 0) } }
        four(r.ipAddress)
        out.appendU16LE(r.port)
        out.appendU16BE(r.versionInfo)
        out.append(r.netSwitch)
        out.append(r.subSwitch)
        out.appendU16BE(r.oem)
        out.append(r.ubeaVersion)
        out.append(r.status1)
        out.appendU16LE(r.estaManufacturer)
        out.appendFixedString(r.shortName, size: 18)
        out.appendFixedString(r.longName, size: 64)
        out.appendFixedString(r.nodeReport, size: 64)
        out.appendU16BE(r.numPorts)
        four(r.portTypes)
        four(r.goodInput)
        four(r.goodOutputA)
        four(r.swIn)
        four(r.swOut)
        out.append(r.acnPriority)
        out.append(r.swMacro)
        out.append(r.swRemote)
        out.append(contentsOf: [0, 0, 0])  // spare
        out.append(r.style)
        for i in 0..<6 { out.append(i < r.mac.count ? r.mac[i] : 0) }
        four(r.bindIp)
        out.append(r.bindIndex)
        out.append(r.status2)
        four(r.goodOutputB)
        out.append(r.status3)
        out.append(contentsOf: repeatElement(0, count: 239 - out.count))  // DefaultRespUID, user, refresh rate, filler
    }

    /// ArtAddress, 107 bytes.
    public static func address(into out: inout [UInt8], _ a: ArtAddress) {
        header(&out, .address)
        out.append(a.netSwitch)
        out.append(a.bindIndex)
        out.appendFixedString(a.shortName, size: 18)
        out.appendFixedString(a.longName, size: 64)
        for i in 0..<4 { out.append(i < a.swIn.count ? a.swIn[i] : 0x7F) }
        for i in 0..<4 { out.append(i < a.swOut.count ? a.swOut[i] : 0x7F) }
        out.append(a.subSwitch)
        out.append(a.acnPriority)
        out.append(a.command)
    }
}
