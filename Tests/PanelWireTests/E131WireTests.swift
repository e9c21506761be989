import XCTest

@testable import PanelWire

let vectorCID = CID(high: 0x5061_6E65_6C53_696D, low: 0x0000_0000_0000_0001)

/// sACN (E1.31-2018): byte-exact vectors both ways, rejections and violations.
final class E131VectorTests: XCTestCase {
    var out: [UInt8] = []

    func testCID() {
        XCTAssertEqual(CID(string: "50616e65-6c53-696d-0000-000000000001"), vectorCID)
        XCTAssertEqual(CID(string: "50616e656c53696d0000000000000001"), vectorCID)
        XCTAssertEqual(vectorCID.description, "50616e65-6c53-696d-0000-000000000001")
        XCTAssertEqual(vectorCID.bytes, hex(Vectors.cidHex))
        XCTAssertNil(CID(string: "50616e65-6c53-696d-0000-00000000001"))
        XCTAssertNil(CID(string: "zz616e65-6c53-696d-0000-000000000001"))
        hex(Vectors.cidHex).withUnsafeBytes { XCTAssertEqual(CID(bytes: $0, at: 0), vectorCID) }
    }

    func testMulticastGroups() {
        XCTAssertEqual(E131.multicastGroup(universe: 1), "239.255.0.1")
        XCTAssertEqual(E131.multicastGroup(universe: 7000), "239.255.27.88")
        XCTAssertEqual(E131.multicastGroup(universe: 63999), "239.255.249.255")
        XCTAssertEqual(E131.multicastGroup(universe: E131.discoveryUniverse), "239.255.250.214")
    }

    func testDataEncode() {
        ([0xFF, 0x00, 0x80, 0x01, 0x7F, 0x40] as [UInt8]).withUnsafeBytes {
            E131Encoder.data(into: &out, cid: vectorCID, sourceName: "PanelSim test", priority: 100, syncAddress: 0,
                             sequence: 0x11, options: [], universe: 1, startCode: 0, data: $0)
        }
        XCTAssertEqual(hexString(out), hexString(Vectors.e131Data))
    }

    func testDataDecode() {
        withE131(Vectors.e131Data) { m in
            guard case .data(let d) = m else { return XCTFail("\(m)") }
            XCTAssertEqual(d.cid, vectorCID)
            XCTAssertEqual(d.sourceName, "PanelSim test")
            XCTAssertEqual(d.priority, 100)
            XCTAssertEqual(d.syncAddress, 0)
            XCTAssertEqual(d.sequence, 0x11)
            XCTAssertEqual(d.options, [])
            XCTAssertEqual(d.universe, 1)
            XCTAssertEqual(d.startCode, 0)
            XCTAssertEqual(Array(d.data), [0xFF, 0x00, 0x80, 0x01, 0x7F, 0x40])
            XCTAssertEqual(d.violations, [])
        }
        Vectors.e131Data.withUnsafeBytes { b in
            XCTAssertTrue(E131Decoder.isE131(b))
            XCTAssertEqual(E131Decoder.dataUniverse(b), 1)
            XCTAssertNil(E131Decoder.syncAddress(b))
        }
    }

    func testDataWithOptionsEncodeDecode() {
        [UInt8](repeating: 100, count: 6).withUnsafeBytes {
            E131Encoder.data(into: &out, cid: vectorCID, sourceName: "PanelSim test", priority: 200, syncAddress: 7000,
                             sequence: 254, options: [.preview, .forceSynchronization], universe: 4660, startCode: 0xDD, data: $0)
        }
        XCTAssertEqual(hexString(out), hexString(Vectors.e131DataOptions))
        withE131(Vectors.e131DataOptions) { m in
            guard case .data(let d) = m else { return XCTFail("\(m)") }
            XCTAssertEqual(d.priority, 200)
            XCTAssertEqual(d.syncAddress, 7000)
            XCTAssertEqual(d.sequence, 254)
            XCTAssertEqual(d.options, [.preview, .forceSynchronization])
            XCTAssertFalse(d.options.contains(.streamTerminated))
            XCTAssertEqual(d.universe, 4660)
            XCTAssertEqual(d.startCode, 0xDD)
            XCTAssertEqual(Array(d.data), [100, 100, 100, 100, 100, 100])
            XCTAssertEqual(d.violations, [])
        }
    }

    func testDataEncoderLimitsAndFullUniverse() {
        let slots = (0..<600).map { UInt8(truncatingIfNeeded: $0) }
        slots.withUnsafeBytes {
            E131Encoder.data(into: &out, cid: vectorCID, sourceName: "", sequence: 0, universe: 63999, data: $0)
        }
        XCTAssertEqual(out.count, 638)
        XCTAssertEqual(Array(out[16...17]), [0x72, 0x6E])  // 638 − 16 = 622
        XCTAssertEqual(Array(out[38...39]), [0x72, 0x58])  // 600
        XCTAssertEqual(Array(out[115...116]), [0x72, 0x0B])  // 523
        XCTAssertEqual(Array(out[123...124]), [0x02, 0x01])  // 513
        withE131(out) { m in
            guard case .data(let d) = m else { return XCTFail("\(m)") }
            XCTAssertEqual(Array(d.data), Array(slots[0..<512]))
            XCTAssertEqual(d.priority, E131.defaultPriority)
            XCTAssertEqual(d.sourceName, "")
            XCTAssertEqual(d.violations, [])
        }
        // A name of 64 bytes or more is cut to 63 and stays NUL-terminated.
        [UInt8]().withUnsafeBytes {
            E131Encoder.data(into: &out, cid: vectorCID, sourceName: String(repeating: "x", count: 80), sequence: 0, universe: 1, data: $0)
        }
        XCTAssertEqual(out[44 + 62], UInt8(ascii: "x"))
        XCTAssertEqual(out[44 + 63], 0)
        withE131(out) { m in
            guard case .data(let d) = m else { return XCTFail("\(m)") }
            XCTAssertEqual(d.sourceName, String(repeating: "x", count: 63))
            XCTAssertEqual(d.data.count, 0)
        }
    }

    func testSyncEncodeDecode() {
        E131Encoder.sync(into: &out, cid: vectorCID, sequence: 7, syncAddress: 7000)
        XCTAssertEqual(out.count, 49)
        XCTAssertEqual(hexString(out), hexString(Vectors.e131Sync))
        withE131(Vectors.e131Sync) { m in
            guard case .sync(let s) = m else { return XCTFail("\(m)") }
            XCTAssertEqual(s, E131Sync(cid: vectorCID, sequence: 7, syncAddress: 7000, violations: []))
        }
        Vectors.e131Sync.withUnsafeBytes { b in
            XCTAssertEqual(E131Decoder.syncAddress(b), 7000)
            XCTAssertNil(E131Decoder.dataUniverse(b))
        }
    }

    func testDiscoveryEncodeDecode() {
        E131Encoder.discovery(into: &out, cid: vectorCID, sourceName: "PanelSim test", page: 0, lastPage: 0, universes: [1, 2, 7000][...])
        XCTAssertEqual(hexString(out), hexString(Vectors.e131Discovery))
        withE131(Vectors.e131Discovery) { m in
            guard case .discovery(let d) = m else { return XCTFail("\(m)") }
            XCTAssertEqual(d, E131Discovery(cid: vectorCID, sourceName: "PanelSim test", page: 0, lastPage: 0, universes: [1, 2, 7000], violations: []))
        }
        // A full page carries 512 universes (1144 bytes); more are not written.
        let many = (1...600).map { UInt16($0) }
        E131Encoder.discovery(into: &out, cid: vectorCID, sourceName: "s", page: 1, lastPage: 1, universes: many[...])
        XCTAssertEqual(out.count, 120 + 1024)
        withE131(out) { m in
            guard case .discovery(let d) = m else { return XCTFail("\(m)") }
            XCTAssertEqual(d.universes, Array(many[0..<512]))
            XCTAssertEqual(d.page, 1)
            XCTAssertEqual(d.violations, [])
        }
    }
}

final class E131RejectionTests: XCTestCase {
    func truncated(_ v: [UInt8], to n: Int, fixing offsets: [Int]) -> [UInt8] {
        var b = Array(v.prefix(n))
        fixPDULengths(&b, at: offsets)
        return b
    }

    func testTooShortForTheRootLayer() {
        for n in 0..<38 {
            assertRejects(.tooShort, at: n) { () throws(WireError) in try decodeE131(Array(Vectors.e131Data.prefix(n))) }
        }
    }

    func testBadIdentifier() {
        for i in 4..<16 {
            var b = Vectors.e131Data
            b[i] ^= 0x01
            assertRejects(.badIdentifier, at: i) { () throws(WireError) in try decodeE131(b) }
            b.withUnsafeBytes { XCTAssertFalse(E131Decoder.isE131($0)) }
        }
    }

    func testDataTooShort() {
        let b = truncated(Vectors.e131Data, to: 125, fixing: [16])
        assertRejects(.tooShort, at: 125) { () throws(WireError) in try decodeE131(b) }
        let header = truncated(Vectors.e131Data, to: 60, fixing: [16, 38])
        assertRejects(.tooShort, at: 60) { () throws(WireError) in try decodeE131(header) }
    }

    func testLengthPastTheEnd() {
        // Each layer's flags+length one byte longer than the packet.
        for o in [16, 38, 115] {
            var b = Vectors.e131Data
            setU16BE(&b, o, UInt16(0x7000 | (b.count - o + 1)))
            assertRejects(.lengthPastEnd, at: o) { () throws(WireError) in try decodeE131(b) }
        }
        // The root layer checks its length first: a packet cut short fails there.
        assertRejects(.lengthPastEnd, at: 16) { () throws(WireError) in try decodeE131(Array(Vectors.e131Data.prefix(100))) }
        // Property value count past the slots present.
        var b = Vectors.e131Data
        setU16BE(&b, 123, 8)
        assertRejects(.lengthPastEnd, at: 123) { () throws(WireError) in try decodeE131(b) }
        // Discovery layer length past the end.
        var d = Vectors.e131Discovery
        setU16BE(&d, 112, UInt16(0x7000 | (d.count - 112 + 2)))
        assertRejects(.lengthPastEnd, at: 112) { () throws(WireError) in try decodeE131(d) }
    }

    func testUnknownVectors() {
        var root = Vectors.e131Data
        root[21] = 0x05
        assertRejects(.badVector, at: 18) { () throws(WireError) in try decodeE131(root) }
        var framing = Vectors.e131Data
        framing[43] = 0x03
        assertRejects(.badVector, at: 40) { () throws(WireError) in try decodeE131(framing) }
        var dmp = Vectors.e131Data
        dmp[117] = 0x03
        assertRejects(.badVector, at: 117) { () throws(WireError) in try decodeE131(dmp) }
        var extended = Vectors.e131Sync
        extended[43] = 0x03
        assertRejects(.badVector, at: 40) { () throws(WireError) in try decodeE131(extended) }
        var list = Vectors.e131Discovery
        list[117] = 0x02
        assertRejects(.badVector, at: 114) { () throws(WireError) in try decodeE131(list) }
    }

    func testExtendedPacketsTooShort() {
        assertRejects(.tooShort, at: 43) { () throws(WireError) in try decodeE131(self.truncated(Vectors.e131Sync, to: 43, fixing: [16])) }
        assertRejects(.tooShort, at: 46) { () throws(WireError) in try decodeE131(self.truncated(Vectors.e131Sync, to: 46, fixing: [16, 38])) }
        assertRejects(.tooShort, at: 119) { () throws(WireError) in try decodeE131(self.truncated(Vectors.e131Discovery, to: 119, fixing: [16, 38])) }
        Array(Vectors.e131Sync.prefix(46)).withUnsafeBytes { XCTAssertNil(E131Decoder.syncAddress($0)) }
        Array(Vectors.e131Data.prefix(114)).withUnsafeBytes { XCTAssertNil(E131Decoder.dataUniverse($0)) }
    }
}

final class E131ViolationTests: XCTestCase {
    func data(_ edit: (inout [UInt8]) -> Void, _ check: (E131Data) -> Void) {
        var b = Vectors.e131Data
        edit(&b)
        withE131(b) { m in
            guard case .data(let d) = m else { return XCTFail("\(m)") }
            check(d)
        }
    }

    /// The liveshark fixtures carry 0x0000 in every flags+length field: lenient decoding reads
    /// them and names every rule they break.
    func testLivesharkZeroFlagsAndLengths() {
        withE131(Vectors.livesharkSacn) { m in
            guard case .data(let d) = m else { return XCTFail("\(m)") }
            XCTAssertEqual(d.universe, 1)
            XCTAssertEqual(d.sourceName, "Test Source")
            XCTAssertEqual(d.cid.description, "01020304-0506-0708-090a-0b0c0d0e0f10")
            XCTAssertEqual(d.data.count, 0)
            XCTAssertEqual(d.violations, [.rootFlags, .rootLength, .framingFlags, .framingLength, .dmpFlags, .dmpLength,
                                          .dmpAddressType, .dmpIncrement, .propertyCount, .trailingBytes])
            XCTAssertEqual(Set(d.violations.ruleIDs.map(\.rawValue)),
                           ["e131.root.flags", "e131.root.length", "e131.framing.flags", "e131.framing.length", "e131.dmp.flags",
                            "e131.dmp.length", "e131.dmp.address-type", "e131.dmp.increment", "e131.dmp.property-count",
                            "e131.trailing-bytes"])
        }
        // Flags and lengths zeroed in our own vector: the slots still come through.
        data({ b in for o in [16, 38, 115] { setU16BE(&b, o, 0) } }) { d in
            XCTAssertEqual(d.violations, [.rootFlags, .rootLength, .framingFlags, .framingLength, .dmpFlags, .dmpLength])
            XCTAssertEqual(Array(d.data), [0xFF, 0x00, 0x80, 0x01, 0x7F, 0x40])
        }
    }

    func testPriorityAbove200() {
        data({ $0[108] = 201 }) { d in
            XCTAssertEqual(d.violations, .priorityRange)
            XCTAssertEqual(d.violations.ruleIDs, [RuleID("e131.priority-range")])
            XCTAssertEqual(d.priority, 201)
        }
        data({ $0[108] = 200 }) { XCTAssertEqual($0.violations, []) }
    }

    func testReservedOptionBits() {
        for bit in 0..<5 {
            data({ $0[112] = 1 << UInt8(bit) }) { XCTAssertEqual($0.violations, .optionsReserved, "bit \(bit)") }
        }
        data({ $0[112] = 0xE0 }) { d in
            XCTAssertEqual(d.violations, [])
            XCTAssertEqual(d.options, [.preview, .streamTerminated, .forceSynchronization])
        }
    }

    func testUniverseAndSyncAddressRange() {
        data({ setU16BE(&$0, 113, 0) }) { d in
            XCTAssertEqual(d.violations, .universeRange)
            XCTAssertEqual(d.violations.ruleIDs, [RuleID("e131.universe-range")])
        }
        data({ setU16BE(&$0, 113, 64000) }) { XCTAssertEqual($0.violations, .universeRange) }
        data({ setU16BE(&$0, 113, 63999) }) { XCTAssertEqual($0.violations, []) }
        data({ setU16BE(&$0, 109, 64000) }) { XCTAssertEqual($0.violations, .syncAddressRange) }
        var sync = Vectors.e131Sync
        setU16BE(&sync, 45, 0)
        withE131(sync) { m in
            guard case .sync(let s) = m else { return XCTFail("\(m)") }
            XCTAssertEqual(s.violations, .syncAddressRange)
        }
    }

    func testOtherDataRules() {
        data({ $0[1] = 0x11 }) { XCTAssertEqual($0.violations, .preamble) }
        data({ $0[118] = 0xA2 }) { XCTAssertEqual($0.violations, .dmpAddressType) }
        data({ setU16BE(&$0, 119, 1) }) { XCTAssertEqual($0.violations, .dmpFirstAddress) }
        data({ setU16BE(&$0, 121, 2) }) { XCTAssertEqual($0.violations, .dmpIncrement) }
        data({ for i in 44..<108 { $0[i] = 0x41 } }) { d in
            XCTAssertEqual(d.violations, .sourceNameUnterminated)
            XCTAssertEqual(d.sourceName.utf8.count, 64)
        }
        // Bytes after the last property value: each layer length covers them, the count does not.
        data({ $0 += [0, 0]; fixPDULengths(&$0, at: [16, 38, 115]) }) { d in
            XCTAssertEqual(d.violations, .trailingBytes)
            XCTAssertEqual(d.data.count, 6)
        }
        // A PDU length shorter than the packet: the length disagrees.
        data({ setU16BE(&$0, 38, 0x7000 | 90) }) { XCTAssertEqual($0.violations, .framingLength) }
    }

    func testDiscoveryRules() {
        var unsorted = Vectors.e131Discovery
        setU16BE(&unsorted, 120, 3)  // 3, 2, 7000
        withE131(unsorted) { m in
            guard case .discovery(let d) = m else { return XCTFail("\(m)") }
            XCTAssertEqual(d.violations, .discoveryUnsorted)
            XCTAssertEqual(d.universes, [3, 2, 7000])
        }
        var page = Vectors.e131Discovery
        page[118] = 2
        withE131(page) { m in
            guard case .discovery(let d) = m else { return XCTFail("\(m)") }
            XCTAssertEqual(d.violations, .discoveryPage)
        }
        var odd = Vectors.e131Discovery + [0x00]
        fixPDULengths(&odd, at: [16, 38, 112])
        withE131(odd) { m in
            guard case .discovery(let d) = m else { return XCTFail("\(m)") }
            XCTAssertEqual(d.violations, .trailingBytes)
            XCTAssertEqual(d.universes, [1, 2, 7000])
        }
    }

    func testEveryRuleHasAnExplanation() {
        let all = E131Violations(rawValue: (1 << 20) - 1)
        XCTAssertEqual(all.ruleIDs.count, 20)
        XCTAssertEqual(Set(all.ruleIDs).count, 20)
        for id in all.ruleIDs {
            XCTAssertNotNil(E131Violations.explanation(id), id.rawValue)
            XCTAssertTrue(id.rawValue.hasPrefix("e131."))
        }
    }
}
