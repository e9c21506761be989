import PanelCore
import PanelWire
import XCTest

@testable import PanelDevice

/// The behaviours quirk profiles switch on, each through its own option (QuirkProfile.swift).
final class QuirkBehaviourTests: XCTestCase {
    let a = PacketSource(address: "10.0.0.1", port: 6454)
    let b = PacketSource(address: "10.0.0.2", port: 6454)
    let controller = PacketSource(address: "10.0.0.50", port: 6454)

    // MARK: Art-Net: a legacy node with 4 ports (max-ports)

    /// Six universes (start `start`) of two RGB pixels each; the node has `maxPorts` ports.
    func legacyNode(start: Int = 0, maxPorts: Int = 4) -> ArtNetNode {
        ArtNetNode(settings: ArtNetNodeSettings(name: "legacy", map: rowMap(width: 12, start: start), nodeAddress: [192, 168, 1, 100],
                                                maxPorts: maxPorts))
    }

    func testLegacyNodeAnswersArtPollWithOneReplyOfFourPorts() {
        let n = legacyNode()
        n.feed(artPoll(), from: controller, at: ms(0))
        let replies = n.takeOutput().replies
        XCTAssertEqual(replies.count, 1, "one ArtPollReply, no further BindIndex pages")
        guard let bytes = replies.first?.bytes, bytes.count > 211 else { return XCTFail("no reply") }
        XCTAssertEqual(Array(bytes[172...173]), [0, 4], "NumPorts (big-endian) is 4")
        XCTAssertEqual(Array(bytes[174...177]), [0x80, 0x80, 0x80, 0x80], "four DMX512 output ports")
        XCTAssertEqual(Array(bytes[190...193]), [0, 1, 2, 3], "SwOut: universes 0-3")
        XCTAssertEqual(bytes[18], 0, "NetSwitch")
        XCTAssertEqual(bytes[19], 0, "SubSwitch")
        XCTAssertEqual(bytes[211], 1, "BindIndex of the only reply")
        XCTAssertEqual(n.reportedPortCount, 1)
        XCTAssertEqual(n.universesNotServed, [4, 5])
    }

    func testLegacyNodeShowsItsFourUniversesAndTheRestStaysBlack() {
        let n = legacyNode()
        for u in 0..<6 { n.feed(artDmx(UInt16(u), repeated(UInt8(10 + u))), from: a, at: ms(Int64(u))) }
        let f = n.frames()
        XCTAssertEqual(f.count, 1, "the frame completes with the node's 4 universes")
        XCTAssertEqual(f.first?.universes, [0, 1, 2, 3])
        XCTAssertEqual(f.first?.torn, false)
        let expected = repeated(10) + repeated(11) + repeated(12) + repeated(13) + repeated(0, 12)
        XCTAssertEqual(n.canvas.bytes, expected)
        XCTAssertEqual(n.counters["universe-not-served"], 2)
        XCTAssertEqual(n.findings.filter { $0.kind == "universe-not-served" }.count, 1, "reported once")
        let message = n.findings.first { $0.kind == "universe-not-served" }?.message ?? ""
        XCTAssertTrue(message.contains("universes 0, 1, 2, 3"), message)
        XCTAssertTrue(message.contains("universes 4, 5 of the panel"), message)
        // The next frame again needs only the four served universes.
        for u in 0..<4 { n.feed(artDmx(UInt16(u), repeated(20)), from: a, at: ms(40 + Int64(u))) }
        XCTAssertEqual(n.frames().count, 1)
    }

    func testLegacyNodePortsShareOneSubNet() {
        // Universes 14...19: a legacy node's Sub-Net switch covers 0...15, so only 14 and 15 are ports.
        let n = legacyNode(start: 14)
        XCTAssertEqual(n.universesNotServed, [16, 17, 18, 19])
        n.feed(artPoll(), from: controller, at: ms(0))
        guard let bytes = n.takeOutput().replies.first?.bytes, bytes.count > 193 else { return XCTFail("no reply") }
        XCTAssertEqual(Array(bytes[172...173]), [0, 2])
        XCTAssertEqual(Array(bytes[190...191]), [14, 15])
    }

    func testWithoutMaxPortsEveryUniverseIsAPort() {
        let n = ArtNetNode(settings: ArtNetNodeSettings(name: "modern", map: rowMap(width: 12, start: 0)))
        n.feed(artPoll(), from: controller, at: ms(0))
        XCTAssertEqual(n.takeOutput().replies.count, 6, "one reply per port (Art-Net 4)")
        XCTAssertEqual(n.universesNotServed, [])
    }

    // MARK: Art-Net: a node that shows data only on ArtSync (sync: required)

    func syncNode() -> ArtNetNode {
        ArtNetNode(settings: ArtNetNodeSettings(name: "sync", map: rowMap(width: 4, start: 0), syncRequired: true))
    }

    /// ArtDmx for Port-Address 1, sequence 0, slots 1-6 (bytes as on the wire).
    let rawArtDmxUniverse1: [UInt8] = [0x41, 0x72, 0x74, 0x2D, 0x4E, 0x65, 0x74, 0x00, 0x00, 0x50, 0x00, 0x0E,
                                       0x00, 0x00, 0x01, 0x00, 0x00, 0x06, 7, 8, 9, 10, 11, 12]
    /// ArtSync (OpSync 0x5200), as on the wire.
    let rawArtSync: [UInt8] = [0x41, 0x72, 0x74, 0x2D, 0x4E, 0x65, 0x74, 0x00, 0x00, 0x52, 0x00, 0x0E, 0x00, 0x00]

    func testSyncRequiredShowsNothingUntilArtSync() {
        let n = syncNode()
        n.feed(artDmx(0, [1, 2, 3, 4, 5, 6]), from: a, at: ms(0))
        n.feed(rawArtDmxUniverse1, from: a, at: ms(1))
        XCTAssertTrue(n.frames().isEmpty, "no frame without ArtSync, though every universe arrived")
        XCTAssertEqual(n.counters["artdmx-without-sync"], 2)
        n.tick(at: ms(3000))
        XCTAssertTrue(n.frames().isEmpty)
        XCTAssertEqual(n.counters["no-sync"], 0)
        n.tick(at: ms(4100))
        XCTAssertTrue(n.frames().isEmpty, "unlike a plain node, it never falls back to immediate output")
        XCTAssertEqual(n.counters["no-sync"], 1)
        XCTAssertEqual(n.findings.map(\.kind), ["no-sync"])
        XCTAssertEqual(n.canvas.bytes, repeated(0, 12))
        n.feed(rawArtSync, from: a, at: ms(4200))
        let f = n.frames()
        XCTAssertEqual(f.count, 1)
        XCTAssertEqual(f.first?.canvas.bytes, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
        XCTAssertEqual(f.first?.synchronized, true)
        XCTAssertEqual(f.first?.universes, [0, 1])
    }

    func testSyncRequiredKeepsHoldingAfterArtSyncStops() {
        let n = syncNode()
        n.feed(artDmx(0, repeated(1)), from: a, at: ms(0))
        n.feed(artDmx(1, repeated(2)), from: a, at: ms(1))
        n.feed(artSync(), from: a, at: ms(2))
        XCTAssertEqual(n.frames().count, 1)
        // Ten seconds later, data without ArtSync: still held, not shown.
        n.feed(artDmx(0, repeated(3)), from: a, at: ms(10_000))
        n.feed(artDmx(1, repeated(4)), from: a, at: ms(10_001))
        n.tick(at: ms(10_100))
        XCTAssertTrue(n.frames().isEmpty)
        XCTAssertEqual(n.counters["sync-lost"], 0)
        XCTAssertEqual(n.canvas.bytes, repeated(1) + repeated(2))
        n.feed(artSync(), from: a, at: ms(10_200))
        XCTAssertEqual(n.frames().first?.canvas.bytes, repeated(3) + repeated(4))
    }

    func testSyncRequiredHonoursArtSyncWhileMerging() {
        let n = syncNode()
        n.feed(artDmx(0, repeated(5)), from: a, at: ms(0))
        n.feed(artDmx(0, repeated(9)), from: b, at: ms(1))
        n.feed(artDmx(1, repeated(7)), from: a, at: ms(2))
        XCTAssertTrue(n.frames().isEmpty, "merged data is held too")
        n.feed(artSync(), from: a, at: ms(3))
        XCTAssertEqual(n.frames().first?.canvas.bytes, repeated(9) + repeated(7), "HTP merge, shown on ArtSync")
        XCTAssertEqual(n.counters["artsync-ignored-merging"], 0)
    }

    func testArtNetOptionsOfTheProfiles() throws {
        let map = rowMap(width: 12, start: 0)
        let legacy = try ProtocolPlugin.artNet.makeDevice(ControllerSettings(name: "x", map: map, options: ["max-ports": "4"]))
        XCTAssertEqual((legacy as? ArtNetNode)?.universesNotServed, [4, 5])
        let sync = try ProtocolPlugin.artNet.makeDevice(ControllerSettings(name: "x", map: map, options: ["sync": "required"]))
        XCTAssertEqual((sync as? ArtNetNode)?.settings.syncRequired, true)
        XCTAssertThrowsError(try ProtocolPlugin.artNet.makeDevice(ControllerSettings(name: "x", map: map, options: ["max-ports": "0"])))
        XCTAssertThrowsError(try ProtocolPlugin.artNet.makeDevice(ControllerSettings(name: "x", map: map, options: ["sync": "sometimes"])))
        XCTAssertThrowsError(try ProtocolPlugin.artNet.makeDevice(ControllerSettings(name: "x", map: map, frame: FrameSettings(sync: .ignore),
                                                                                     options: ["sync": "required"]))) { e in
            XCTAssertEqual((e as? OptionError)?.key, "sync")
        }
    }

    // MARK: sACN: per-address priority (per-address-priority: on)

    let srcA = PacketSource(address: "10.0.0.1", port: 5568)
    let srcB = PacketSource(address: "10.0.0.2", port: 5568)

    /// Universe 1 alone: two RGB pixels.
    func papReceiver(on: Bool = true) -> E131Receiver {
        E131Receiver(settings: E131ReceiverSettings(name: "pap", map: rowMap(width: 2, start: 1), perAddressPriority: on))
    }

    func fs(_ s: PacketSource, _ name: String, _ cid: CID) -> FrameSource {
        FrameSource(address: s.address, port: s.port, name: name, cid: cid.description)
    }

    func testPerAddressPriorityDecidesEachSlot() {
        let r = papReceiver()
        // A drives pixel 0 at priority 200 and gives up pixel 1 (priority 0); B sends no 0xDD.
        r.feed(e131(1, [200, 200, 200, 0, 0, 0], cid: cidA, name: "A", seq: 1, startCode: 0xDD), from: srcA, at: ms(0))
        XCTAssertTrue(r.frames().isEmpty, "0xDD is not level data")
        r.feed(e131(1, repeated(10), cid: cidA, name: "A", seq: 2), from: srcA, at: ms(1))
        let first = r.frames()
        XCTAssertEqual(first.first?.canvas.bytes, [10, 10, 10, 0, 0, 0], "a slot nobody drives is 0")
        r.feed(e131(1, repeated(50), cid: cidB, name: "B", seq: 1, priority: 100), from: srcB, at: ms(2))
        let f = r.frames()
        XCTAssertEqual(f.count, 1)
        XCTAssertEqual(f.first?.canvas.bytes, [10, 10, 10, 50, 50, 50], "A wins pixel 0 (200 > 100), B drives pixel 1")
        XCTAssertEqual(f.first?.sources, [fs(srcA, "A", cidA), fs(srcB, "B", cidB)].sorted())
        XCTAssertEqual(r.counters["per-address-priority"], 1)
        XCTAssertEqual(r.findings.filter { $0.kind == "per-address-priority" }.count, 1)
    }

    func testShortPerAddressPriorityPacketLeavesTheRestUndriven() {
        let r = papReceiver()
        r.feed(e131(1, [100, 100, 100], cid: cidA, name: "A", seq: 1, startCode: 0xDD), from: srcA, at: ms(0))
        r.feed(e131(1, repeated(30), cid: cidA, name: "A", seq: 2), from: srcA, at: ms(1))
        XCTAssertEqual(r.frames().last?.canvas.bytes, [30, 30, 30, 0, 0, 0])
    }

    func testEqualPerAddressPrioritiesMergeHTP() {
        let r = papReceiver()
        r.feed(e131(1, repeated(150), cid: cidA, name: "A", seq: 1, startCode: 0xDD), from: srcA, at: ms(0))
        r.feed(e131(1, repeated(150), cid: cidB, name: "B", seq: 1, startCode: 0xDD), from: srcB, at: ms(1))
        r.feed(e131(1, [90, 10, 90, 10, 90, 10], cid: cidA, name: "A", seq: 2), from: srcA, at: ms(2))
        r.feed(e131(1, [20, 80, 20, 80, 20, 80], cid: cidB, name: "B", seq: 2), from: srcB, at: ms(3))
        XCTAssertEqual(r.frames().last?.canvas.bytes, [90, 80, 90, 80, 90, 80])
    }

    func testLowerPrioritySourceDrivingNoSlotMakesNoFrame() {
        let r = papReceiver()
        r.feed(e131(1, repeated(200), cid: cidA, name: "A", seq: 1, startCode: 0xDD), from: srcA, at: ms(0))
        r.feed(e131(1, repeated(10), cid: cidA, name: "A", seq: 2), from: srcA, at: ms(1))
        XCTAssertEqual(r.frames().count, 1)
        r.feed(e131(1, repeated(99), cid: cidB, name: "B", seq: 1, priority: 150), from: srcB, at: ms(2))
        XCTAssertTrue(r.frames().isEmpty, "B's packet priority 150 loses every slot to A's 200")
        XCTAssertEqual(r.counters["lower-priority-ignored"], 1)
        XCTAssertEqual(r.canvas.bytes, repeated(10))
    }

    func testPerAddressPriorityLapsesAfterTwoAndAHalfSeconds() {
        let r = papReceiver()
        r.feed(e131(1, [200, 200, 200, 200, 200, 200], cid: cidA, name: "A", seq: 1, startCode: 0xDD), from: srcA, at: ms(0))
        r.feed(e131(1, repeated(10), cid: cidA, name: "A", seq: 2), from: srcA, at: ms(1))
        r.feed(e131(1, repeated(10), cid: cidA, name: "A", seq: 3), from: srcA, at: ms(1200))
        r.feed(e131(1, repeated(50), cid: cidB, name: "B", seq: 1, priority: 120), from: srcB, at: ms(2000))
        XCTAssertEqual(r.canvas.bytes, repeated(10), "A's 0xDD 200 beats B's 120")
        XCTAssertEqual(r.counters["lower-priority-ignored"], 1)
        _ = r.frames()
        // No 0xDD from A for 2.5 s: its packet priority (100) applies, and B (120) takes over.
        r.feed(e131(1, repeated(10), cid: cidA, name: "A", seq: 4), from: srcA, at: ms(2600))
        XCTAssertEqual(r.counters["lower-priority-ignored"], 2, "A's packet at 2.6 s drives nothing")
        r.feed(e131(1, repeated(50), cid: cidB, name: "B", seq: 2, priority: 120), from: srcB, at: ms(2700))
        XCTAssertEqual(r.canvas.bytes, repeated(50))
        XCTAssertEqual(r.counters["per-address-priority-lapsed"], 1)
    }

    func testWithoutTheOptionPerAddressPriorityIsOnlyReported() {
        let r = papReceiver(on: false)
        r.feed(e131(1, [0, 0, 0, 0, 0, 0], cid: cidA, name: "A", seq: 1, startCode: 0xDD), from: srcA, at: ms(0))
        r.feed(e131(1, repeated(10), cid: cidA, name: "A", seq: 2), from: srcA, at: ms(1))
        XCTAssertEqual(r.canvas.bytes, repeated(10), "priority 0 ignored: the packet priority applies")
        XCTAssertEqual(r.counters["start-code-0xDD-not-level-data"], 1)
        XCTAssertEqual(r.findings.map(\.kind), ["per-address-priority"])
    }

    func testPreviewDataIsIgnored() {
        let r = papReceiver()
        r.feed(e131(1, repeated(77), cid: cidA, name: "A", seq: 1, options: .preview), from: srcA, at: ms(0))
        XCTAssertTrue(r.frames().isEmpty)
        XCTAssertEqual(r.counters["preview-ignored"], 1)
        XCTAssertEqual(r.canvas.bytes, repeated(0))
    }

    func testSACNOptionOfTheProfile() throws {
        let on = try ProtocolPlugin.e131.makeDevice(ControllerSettings(name: "x", map: rowMap(width: 2, start: 1), options: ["per-address-priority": "on"]))
        XCTAssertEqual((on as? E131Receiver)?.settings.perAddressPriority, true)
        XCTAssertThrowsError(try ProtocolPlugin.e131.makeDevice(ControllerSettings(name: "x", map: rowMap(width: 2, start: 1),
                                                                                   options: ["per-address-priority": "maybe"])))
    }

    // MARK: WLED: 170 RGB pixels from every universe

    /// A sender packing 512 channels per universe splits pixel 170 across universes 1 and 2;
    /// WLED reads 510 channels of each universe, from its first slot (wled00/e131.cpp).
    func testWLEDReadsA512ChannelPackingShifted() throws {
        let map = try ChannelMap(width: 172, height: 1, format: .rgb, settings: MappingSettings(startUniverse: 1, channelsPerUniverse: 510))
        XCTAssertEqual(map.universeCount, 2)
        let r = try ProtocolPlugin.e131.makeDevice(ControllerSettings(name: "wled", map: map))
        // Pixels 0...169 are (1, 2, 3), pixel 170 (4, 5, 6), pixel 171 (7, 8, 9), packed 512 to a universe.
        var stream: [UInt8] = []
        for _ in 0..<170 { stream += [1, 2, 3] }
        stream += [4, 5, 6, 7, 8, 9]
        r.feed(e131(1, Array(stream[0..<512]), seq: 1), from: srcA, at: ms(0))
        r.feed(e131(2, Array(stream[512...]), seq: 1), from: srcA, at: ms(1))
        let frames = r.takeOutput().frames
        XCTAssertEqual(frames.count, 1)
        let shown = frames.first?.canvas.bytes ?? []
        var expected: [UInt8] = []
        for _ in 0..<170 { expected += [1, 2, 3] }
        expected += [6, 7, 8, 9, 0, 0]  // universe 2 read from slot 1: colours rotated, the last pixel short
        XCTAssertEqual(shown.count, expected.count)
        XCTAssertTrue(shown == expected, "pixels 170 and 171 differ: \(Array(shown.suffix(6)))")
    }

    // MARK: The profiles themselves

    func testEveryProfileNamesAKnownProtocolAndOnlyItsOptions() {
        let plugins: [String: ProtocolPlugin] = ["artnet": .artNet, "sacn": .e131, "novastar": .novaStar, "colorlight": .colorlight]
        XCTAssertEqual(Set(QuirkProfile.all.map(\.name)).count, QuirkProfile.all.count, "names are unique")
        for p in QuirkProfile.all {
            guard let plugin = plugins[p.protocolName] else { XCTFail("\(p.name): protocol \(p.protocolName)"); continue }
            XCTAssertEqual(plugin.name, p.protocolName)
            for key in p.options.keys { XCTAssertNotNil(plugin.options[key], "\(p.name) sets \(key), not an option of \(plugin.name)") }
            XCTAssertFalse(p.source.isEmpty, p.name)
            XCTAssertTrue(QuirkProfile.named(p.name)?.name == p.name)
        }
        XCTAssertNil(QuirkProfile.named("no-such-controller"))
    }
}
