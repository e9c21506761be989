import XCTest

@testable import PanelWire

/// Art-Net 4: byte-exact vectors (Vectors.swift, checked with tshark) both ways,
/// rejections with reason and offset, and rule violations.
final class ArtNetVectorTests: XCTestCase {
    var out: [UInt8] = []

    // MARK: ArtDmx / ArtNzs

    func testArtDmxEncode() {
        ([1, 2, 3, 4, 5, 6] as [UInt8]).withUnsafeBytes { ArtNetEncoder.dmx(into: &out, sequence: 42, physical: 1, portAddress: 0x1234, data: $0) }
        XCTAssertEqual(hexString(out), hexString(Vectors.artDmx))
    }

    func testArtDmxDecode() {
        withArtNet(Vectors.artDmx) { m in
            guard case .dmx(let d) = m else { return XCTFail("\(m)") }
            XCTAssertEqual(d.protocolVersion, 14)
            XCTAssertEqual(d.sequence, 42)
            XCTAssertEqual(d.physical, 1)
            XCTAssertEqual(d.startCode, 0)
            XCTAssertEqual(d.portAddress, 0x1234)
            XCTAssertEqual(Array(d.data), [1, 2, 3, 4, 5, 6])
            XCTAssertEqual(d.violations, [])
        }
        Vectors.artDmx.withUnsafeBytes { b in
            XCTAssertTrue(ArtNetDecoder.isArtNet(b))
            XCTAssertEqual(ArtNetDecoder.opCode(b), 0x5000)
            XCTAssertEqual(ArtNetDecoder.portAddress(b), 0x1234)
        }
    }

    func testArtDmxEncoderKeepsLengthEvenAndInRange() {
        ([7, 8, 9] as [UInt8]).withUnsafeBytes { ArtNetEncoder.dmx(into: &out, sequence: 0, portAddress: 1, data: $0) }
        XCTAssertEqual(Array(out[16...]), [0x00, 0x04, 7, 8, 9, 0])
        [UInt8]().withUnsafeBytes { ArtNetEncoder.dmx(into: &out, sequence: 0, portAddress: 1, data: $0) }
        XCTAssertEqual(Array(out[16...]), [0x00, 0x02, 0, 0])
        [UInt8](repeating: 0xAB, count: 600).withUnsafeBytes { ArtNetEncoder.dmx(into: &out, sequence: 0, portAddress: 0xFFFF, data: $0) }
        XCTAssertEqual(out.count, 18 + 512)
        XCTAssertEqual(Array(out[14...17]), [0xFF, 0x7F, 0x02, 0x00])  // Port-Address masked to 15 bits; Length 512
    }

    func testArtNzsEncodeDecode() {
        ([0xFF, 0x80] as [UInt8]).withUnsafeBytes { ArtNetEncoder.nzs(into: &out, sequence: 5, startCode: 0xCC, portAddress: 1, data: $0) }
        XCTAssertEqual(hexString(out), hexString(Vectors.artNzs))
        withArtNet(Vectors.artNzs) { m in
            guard case .nzs(let d) = m else { return XCTFail("\(m)") }
            XCTAssertEqual(d.sequence, 5)
            XCTAssertEqual(d.startCode, 0xCC)
            XCTAssertEqual(d.physical, 0)
            XCTAssertEqual(d.portAddress, 1)
            XCTAssertEqual(Array(d.data), [0xFF, 0x80])
            XCTAssertEqual(d.violations, [])
        }
    }

    // MARK: ArtSync, ArtPoll

    func testArtSyncEncodeDecode() {
        ArtNetEncoder.sync(into: &out)
        XCTAssertEqual(hexString(out), hexString(Vectors.artSync))
        withArtNet(Vectors.artSync) { m in
            guard case .sync(let s) = m else { return XCTFail("\(m)") }
            XCTAssertEqual(s, ArtSync(protocolVersion: 14, aux1: 0, aux2: 0, violations: []))
        }
    }

    func testArtPollShortEncodeDecode() {
        ArtNetEncoder.poll(into: &out, ArtPoll(flags: 0x06, diagPriority: 0x10))
        XCTAssertEqual(out.count, 14)
        XCTAssertEqual(hexString(out), hexString(Vectors.artPollShort))
        withArtNet(Vectors.artPollShort) { m in
            guard case .poll(let p) = m else { return XCTFail("\(m)") }
            XCTAssertEqual(p, ArtPoll(protocolVersion: 14, flags: 0x06, diagPriority: 0x10))
            XCTAssertFalse(p.isTargeted)
        }
    }

    func testArtPollLongEncodeDecode() {
        let poll = ArtPoll(flags: 0x20, diagPriority: 0x10, targetPortAddressTop: 3, targetPortAddressBottom: 1,
                           estaManufacturer: 0x7FF0, oem: 0x00FF)
        ArtNetEncoder.poll(into: &out, poll)
        XCTAssertEqual(out.count, 22)
        XCTAssertEqual(hexString(out), hexString(Vectors.artPollLong))
        withArtNet(Vectors.artPollLong) { m in
            guard case .poll(let p) = m else { return XCTFail("\(m)") }
            XCTAssertEqual(p, poll)
            XCTAssertTrue(p.isTargeted)
        }
    }

    func testArtPollOlderFormsStillDecode() {
        // 12 bytes: no Flags or DiagPriority (pre-Art-Net 3).
        withArtNet(Array(Vectors.artPollShort[0..<12])) { m in
            guard case .poll(let p) = m else { return XCTFail("\(m)") }
            XCTAssertEqual(p.flags, 0)
            XCTAssertEqual(p.violations, .shortPoll)
            XCTAssertEqual(p.violations.ruleIDs, [RuleID("artnet.poll.short")])
        }
        // 18 bytes: targeted port range but no EstaMan/Oem.
        withArtNet(Array(Vectors.artPollLong[0..<18])) { m in
            guard case .poll(let p) = m else { return XCTFail("\(m)") }
            XCTAssertEqual(p.targetPortAddressTop, 3)
            XCTAssertEqual(p.targetPortAddressBottom, 1)
            XCTAssertNil(p.estaManufacturer)
            XCTAssertNil(p.oem)
            XCTAssertEqual(p.violations, [])
        }
    }

    // MARK: ArtPollReply

    static var replyOfVector: ArtPollReply {
        var r = ArtPollReply()
        r.ipAddress = [192, 168, 1, 100]
        r.port = 0x1936
        r.versionInfo = 1
        r.netSwitch = 1
        r.subSwitch = 2
        r.oem = 0x00FF
        r.status1 = 0xE0
        r.estaManufacturer = 0x7FF0
        r.shortName = "alun-alun"
        r.longName = "PanelSim Art-Net node alun-alun"
        r.nodeReport = "#0001 [0] OK"
        r.numPorts = 1
        r.portTypes = [0x80, 0, 0, 0]
        r.goodOutputA = [0x80, 0, 0, 0]
        r.swOut = [3, 0, 0, 0]
        r.acnPriority = 100
        r.mac = [0x02, 0x50, 0x53, 0x00, 0x00, 0x01]
        r.bindIp = [192, 168, 1, 100]
        r.bindIndex = 1
        r.status2 = 0x0E
        return r
    }

    func testArtPollReplyEncodeDecode() {
        XCTAssertEqual(Vectors.artPollReply.count, 239)
        ArtNetEncoder.pollReply(into: &out, ArtNetVectorTests.replyOfVector)
        XCTAssertEqual(out.count, 239)
        XCTAssertEqual(hexString(out), hexString(Vectors.artPollReply))
        withArtNet(Vectors.artPollReply) { m in
            guard case .pollReply(let r) = m else { return XCTFail("\(m)") }
            XCTAssertEqual(r, ArtNetVectorTests.replyOfVector)
            XCTAssertEqual(r.outputPortAddress(0), 0x0123)
        }
    }

    /// Every field at the offset PROTOCOLS.md gives, with a distinct value per field.
    func testArtPollReplyOffsets() {
        var r = ArtPollReply()
        r.ipAddress = [0xA0, 0xA1, 0xA2, 0xA3]
        r.port = 0x1936
        r.versionInfo = 0x0B0C
        r.netSwitch = 0x12
        r.subSwitch = 0x13
        r.oem = 0x2021
        r.ubeaVersion = 0x22
        r.status1 = 0x23
        r.estaManufacturer = 0x2425
        r.shortName = "S"
        r.longName = "L"
        r.nodeReport = "N"
        r.numPorts = 0x0004
        r.portTypes = [0x31, 0x32, 0x33, 0x34]
        r.goodInput = [0x41, 0x42, 0x43, 0x44]
        r.goodOutputA = [0x51, 0x52, 0x53, 0x54]
        r.swIn = [0x61, 0x62, 0x63, 0x64]
        r.swOut = [0x71, 0x72, 0x73, 0x74]
        r.acnPriority = 0x81
        r.swMacro = 0x82
        r.swRemote = 0x83
        r.style = 0x84
        r.mac = [0x91, 0x92, 0x93, 0x94, 0x95, 0x96]
        r.bindIp = [0xB1, 0xB2, 0xB3, 0xB4]
        r.bindIndex = 0xB5
        r.status2 = 0xB6
        r.goodOutputB = [0xC1, 0xC2, 0xC3, 0xC4]
        r.status3 = 0xC5
        ArtNetEncoder.pollReply(into: &out, r)
        let expected: [(Int, [UInt8])] = [
            (8, [0x00, 0x21]), (10, [0xA0, 0xA1, 0xA2, 0xA3]), (14, [0x36, 0x19]), (16, [0x0B, 0x0C]),
            (18, [0x12]), (19, [0x13]), (20, [0x20, 0x21]), (22, [0x22]), (23, [0x23]), (24, [0x25, 0x24]),
            (26, [0x53, 0x00]), (44, [0x4C, 0x00]), (108, [0x4E, 0x00]), (172, [0x00, 0x04]),
            (174, [0x31, 0x32, 0x33, 0x34]), (178, [0x41, 0x42, 0x43, 0x44]), (182, [0x51, 0x52, 0x53, 0x54]),
            (186, [0x61, 0x62, 0x63, 0x64]), (190, [0x71, 0x72, 0x73, 0x74]), (194, [0x81]), (195, [0x82]),
            (196, [0x83]), (197, [0, 0, 0]), (200, [0x84]), (201, [0x91, 0x92, 0x93, 0x94, 0x95, 0x96]),
            (207, [0xB1, 0xB2, 0xB3, 0xB4]), (211, [0xB5]), (212, [0xB6]), (213, [0xC1, 0xC2, 0xC3, 0xC4]),
            (217, [0xC5]), (218, [UInt8](repeating: 0, count: 21)),
        ]
        XCTAssertEqual(out.count, 239)
        for (offset, bytes) in expected {
            XCTAssertEqual(Array(out[offset..<(offset + bytes.count)]), bytes, "offset \(offset)")
        }
        withArtNet(out) { m in
            guard case .pollReply(let d) = m else { return XCTFail("\(m)") }
            XCTAssertEqual(d, r)
        }
    }

    func testArtPollReplyShortFormsAccepted() {
        // Receivers must accept 207 bytes or more; shorter (down to the short name) decodes flagged.
        withArtNet(Array(Vectors.artPollReply[0..<207])) { m in
            guard case .pollReply(let r) = m else { return XCTFail("\(m)") }
            XCTAssertEqual(r.violations, [])
            XCTAssertEqual(r.mac, [0x02, 0x50, 0x53, 0x00, 0x00, 0x01])
            XCTAssertEqual(r.bindIndex, 0)
        }
        withArtNet(Array(Vectors.artPollReply[0..<206])) { m in
            guard case .pollReply(let r) = m else { return XCTFail("\(m)") }
            XCTAssertEqual(r.violations, .shortPollReply)
            XCTAssertEqual(r.longName, "PanelSim Art-Net node alun-alun")
        }
        withArtNet(Array(Vectors.artPollReply[0..<44])) { m in
            guard case .pollReply(let r) = m else { return XCTFail("\(m)") }
            XCTAssertEqual(r.shortName, "alun-alun")
            XCTAssertEqual(r.longName, "")
        }
    }

    // MARK: ArtAddress

    static var addressOfVector: ArtAddress {
        var a = ArtAddress()
        a.netSwitch = 0x81
        a.bindIndex = 2
        a.shortName = "Pole-7"
        a.longName = "Alun-alun west face"
        a.swOut = [0x85, 0x7F, 0x7F, 0x7F]
        a.subSwitch = 0x83
        a.acnPriority = 0xFF
        a.command = 0x10
        return a
    }

    func testArtAddressEncodeDecode() {
        ArtNetEncoder.address(into: &out, ArtNetVectorTests.addressOfVector)
        XCTAssertEqual(out.count, 107)
        XCTAssertEqual(hexString(out), hexString(Vectors.artAddress))
        withArtNet(Vectors.artAddress) { m in
            guard case .address(let a) = m else { return XCTFail("\(m)") }
            XCTAssertEqual(a, ArtNetVectorTests.addressOfVector)
            XCTAssertEqual(a.decodedCommand, .mergeLTP(port: 0))
        }
    }

    func testArtAddressCommands() {
        var a = ArtAddress()
        let cases: [(UInt8, ArtAddress.Command)] = [
            (0x00, .none), (0x01, .cancelMerge), (0x10, .mergeLTP(port: 0)), (0x13, .mergeLTP(port: 3)),
            (0x50, .mergeHTP(port: 0)), (0x53, .mergeHTP(port: 3)), (0x90, .clearOutput(port: 0)), (0x93, .clearOutput(port: 3)),
            (0x14, .other(0x14)), (0x02, .other(0x02)), (0xFF, .other(0xFF)),
        ]
        for (byte, command) in cases {
            a.command = byte
            XCTAssertEqual(a.decodedCommand, command, "0x\(String(byte, radix: 16))")
        }
    }

    // MARK: Opcodes PanelSim does not act on

    func testUnsupportedOpcodes() {
        withArtNet(Vectors.artTimeCode) { m in
            guard case .unsupported(let op, let name) = m else { return XCTFail("\(m)") }
            XCTAssertEqual(op, 0x9700)
            XCTAssertEqual(name, "ArtTimeCode")
        }
        withArtNet(Vectors.artVendorFD00) { m in
            guard case .unsupported(let op, let name) = m else { return XCTFail("\(m)") }
            XCTAssertEqual(op, 0xFD00)
            XCTAssertNil(name)
        }
        // Every named opcode without a decoder comes back by name, even with nothing after it.
        let acted: Set<ArtNet.OpCode> = [.dmx, .nzs, .sync, .poll, .pollReply, .address]
        for op in ArtNet.OpCode.allCases where !acted.contains(op) {
            let packet = ArtNet.identifier + [UInt8(op.rawValue & 0xFF), UInt8(op.rawValue >> 8)]
            withArtNet(packet) { m in
                guard case .unsupported(let code, let name) = m else { return XCTFail("\(op): \(m)") }
                XCTAssertEqual(code, op.rawValue)
                XCTAssertEqual(name, op.name)
                XCTAssertTrue(name?.hasPrefix("Art") ?? false)
            }
        }
    }
}

final class ArtNetRejectionTests: XCTestCase {
    func testTooShortForTheHeader() {
        for n in 0..<10 {
            assertRejects(.tooShort, at: n) { () throws(WireError) in try decodeArtNet(Array(Vectors.artDmx.prefix(n))) }
        }
        Array(Vectors.artDmx.prefix(9)).withUnsafeBytes { XCTAssertFalse(ArtNetDecoder.isArtNet($0)) }
    }

    func testBadIdentifier() {
        for i in 0..<8 {
            var b = Vectors.artDmx
            b[i] ^= 0x20
            assertRejects(.badIdentifier, at: i) { () throws(WireError) in try decodeArtNet(b) }
            b.withUnsafeBytes {
                XCTAssertFalse(ArtNetDecoder.isArtNet($0))
                XCTAssertNil(ArtNetDecoder.opCode($0))
                XCTAssertNil(ArtNetDecoder.portAddress($0))
            }
        }
    }

    func testTooShortPerOpcode() {
        assertRejects(.tooShort, at: 17) { () throws(WireError) in try decodeArtNet(Array(Vectors.artDmx.prefix(17))) }
        assertRejects(.tooShort, at: 12) { () throws(WireError) in try decodeArtNet(Array(Vectors.artNzs.prefix(12))) }
        assertRejects(.tooShort, at: 11) { () throws(WireError) in try decodeArtNet(Array(Vectors.artSync.prefix(11))) }
        assertRejects(.tooShort, at: 10) { () throws(WireError) in try decodeArtNet(Array(Vectors.artPollShort.prefix(10))) }
        assertRejects(.tooShort, at: 11) { () throws(WireError) in try decodeArtNet(Array(Vectors.artPollShort.prefix(11))) }
        assertRejects(.tooShort, at: 43) { () throws(WireError) in try decodeArtNet(Array(Vectors.artPollReply.prefix(43))) }
        assertRejects(.tooShort, at: 106) { () throws(WireError) in try decodeArtNet(Array(Vectors.artAddress.prefix(106))) }
        Array(Vectors.artDmx.prefix(17)).withUnsafeBytes { XCTAssertNil(ArtNetDecoder.portAddress($0)) }
    }

    func testLengthPastTheEnd() {
        var b = Vectors.artDmx
        b[17] = 8  // Length 8, six data bytes present
        assertRejects(.lengthPastEnd, at: 16) { () throws(WireError) in try decodeArtNet(b) }
        var nzs = Vectors.artNzs
        nzs.removeLast()
        assertRejects(.lengthPastEnd, at: 16) { () throws(WireError) in try decodeArtNet(nzs) }
        assertRejects(.lengthPastEnd, at: 16) { () throws(WireError) in try decodeArtNet(Array(Vectors.artDmx.prefix(18))) }
    }
}

final class ArtNetViolationTests: XCTestCase {
    func dmx(_ edit: (inout [UInt8]) -> Void, _ check: (ArtDmx) -> Void) {
        var b = Vectors.artDmx
        edit(&b)
        withArtNet(b) { m in
            guard case .dmx(let d) = m else { return XCTFail("\(m)") }
            check(d)
        }
    }

    func testOddLength() {
        dmx({ $0[17] = 5; $0.removeLast() }) { d in
            XCTAssertEqual(d.violations, .oddLength)
            XCTAssertEqual(d.violations.ruleIDs, [RuleID("artnet.dmx.odd-length")])
            XCTAssertEqual(Array(d.data), [1, 2, 3, 4, 5])
        }
    }

    func testOldProtocolVersion() {
        dmx({ $0[11] = 13 }) { d in
            XCTAssertEqual(d.protocolVersion, 13)
            XCTAssertEqual(d.violations, .oldProtocolVersion)
            XCTAssertEqual(d.violations.ruleIDs, [RuleID("artnet.protocol-version")])
        }
        for vector in [Vectors.artSync, Vectors.artPollShort, Vectors.artAddress] {
            var b = vector
            b[11] = 0
            withArtNet(b) { m in
                switch m {
                case .sync(let s): XCTAssertTrue(s.violations.contains(.oldProtocolVersion))
                case .poll(let p): XCTAssertTrue(p.violations.contains(.oldProtocolVersion))
                case .address(let a): XCTAssertTrue(a.violations.contains(.oldProtocolVersion))
                default: XCTFail("\(m)")
                }
            }
        }
        // A newer version is no violation.
        dmx({ $0[11] = 15 }) { XCTAssertEqual($0.violations, []) }
    }

    func testLengthOutOfRangeAndTrailingBytes() {
        dmx({ $0[17] = 0 }) { d in
            XCTAssertEqual(d.violations, [.lengthOutOfRange, .trailingBytes])
            XCTAssertEqual(d.data.count, 0)
        }
        dmx({ $0[16] = 0x02; $0[17] = 0x02; $0 += [UInt8](repeating: 9, count: 514 - 6) }) { d in
            XCTAssertEqual(d.violations, .lengthOutOfRange)
            XCTAssertEqual(d.data.count, 512)  // only a universe's worth is used
        }
        dmx({ $0 += [0, 0] }) { d in
            XCTAssertEqual(d.violations, .trailingBytes)
            XCTAssertEqual(Array(d.data), [1, 2, 3, 4, 5, 6])
        }
    }

    func testNetHighBitAndNzsStartCodeZero() {
        dmx({ $0[15] = 0x92 }) { d in
            XCTAssertEqual(d.violations, .netHighBit)
            XCTAssertEqual(d.portAddress, 0x1234)
        }
        var nzs = Vectors.artNzs
        nzs[13] = 0
        withArtNet(nzs) { m in
            guard case .nzs(let d) = m else { return XCTFail("\(m)") }
            XCTAssertEqual(d.violations, .nzsZeroStartCode)
        }
    }

    func testEveryRuleHasAnExplanation() {
        let all = ArtNetViolations(rawValue: 0xFF)
        XCTAssertEqual(all.ruleIDs.count, 8)
        XCTAssertEqual(Set(all.ruleIDs).count, 8)
        for id in all.ruleIDs {
            XCTAssertNotNil(ArtNetViolations.explanation(id), id.rawValue)
            XCTAssertTrue(id.rawValue.hasPrefix("artnet."))
        }
        XCTAssertNil(ArtNetViolations.explanation(RuleID("artnet.nope")))
    }
}
