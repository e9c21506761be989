import PanelCore
import PanelWire
import XCTest

@testable import PanelDevice

final class ArtNetNodeTests: XCTestCase {
    let a = PacketSource(address: "10.0.0.1", port: 6454)
    let b = PacketSource(address: "10.0.0.2", port: 6454)
    let c = PacketSource(address: "10.0.0.3", port: 6454)
    let controller = PacketSource(address: "10.0.0.50", port: 6454)

    /// Two universes (0, 1) of two RGB pixels each, unless told otherwise.
    func node(width: Int = 4, start: Int = 0, frame: FrameSettings = FrameSettings(), merge: MergeMode = .htp,
              strict: Bool = false) -> ArtNetNode {
        ArtNetNode(settings: ArtNetNodeSettings(name: "alun-alun", map: rowMap(width: width, start: start), frame: frame,
                                                shortName: "alun-alun", longName: "Alun-alun videotron west",
                                                merge: merge, strict: strict, nodeAddress: [192, 168, 1, 100]))
    }

    // MARK: Frames

    func testFrameWhenAllUniversesArrived() {
        let n = node()
        n.feed(artDmx(0, [1, 2, 3, 4, 5, 6]), from: a, at: ms(0))
        XCTAssertTrue(n.frames().isEmpty)
        n.feed(artDmx(1, [7, 8, 9, 10, 11, 12]), from: a, at: ms(1))
        let f = n.frames()
        XCTAssertEqual(f.count, 1)
        XCTAssertEqual(f.first?.canvas.bytes, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
        XCTAssertEqual(f.first?.universes, [0, 1])
        XCTAssertEqual(f.first?.sources, [FrameSource(address: "10.0.0.1", port: 6454)])
        XCTAssertEqual(f.first?.time, ms(1))
        XCTAssertEqual(f.first?.synchronized, false)
        XCTAssertEqual(n.canvas.bytes, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
        XCTAssertEqual(n.counters.frames, 1)
        XCTAssertEqual(n.counters.packets, 2)
        XCTAssertEqual(n.counters.bytes, 2 * 24)
        XCTAssertEqual(n.counters["artdmx"], 2)
        XCTAssertEqual(n.universes, [0, 1])
        XCTAssertEqual(n.multicastGroups, [])
    }

    func testUniverseTwiceClosesThePendingFrameAndTornAfterTimeout() {
        let n = node()
        n.feed(artDmx(0, repeated(1)), from: a, at: ms(0))
        n.feed(artDmx(1, repeated(1)), from: a, at: ms(0))
        XCTAssertEqual(n.frames().count, 1)
        n.feed(artDmx(0, repeated(2)), from: a, at: ms(20))
        n.feed(artDmx(0, repeated(3)), from: a, at: ms(21))
        let closed = n.frames()
        XCTAssertEqual(closed.count, 1)
        XCTAssertEqual(closed.first?.canvas.bytes, repeated(2) + repeated(1))
        XCTAssertEqual(closed.first?.torn, false, "closed by the repeat, not by the timeout")
        n.tick(at: ms(121))
        XCTAssertTrue(n.frames().isEmpty)
        n.tick(at: ms(122))
        let torn = n.frames()
        XCTAssertEqual(torn.map(\.torn), [true], "universe 1 was heard before and is missing")
        XCTAssertEqual(torn.first?.canvas.bytes, repeated(3) + repeated(1))
        XCTAssertEqual(n.counters.torn, 1)
        XCTAssertEqual(n.counters.frames, 3)
    }

    func testSilentUniverseLeavesTheCompletionSet() {
        let n = node(frame: FrameSettings(timeout: ms(500)))
        n.feed(artDmx(0, repeated(1)), from: a, at: ms(0))
        n.feed(artDmx(1, repeated(1)), from: a, at: ms(0))
        XCTAssertEqual(n.frames().count, 1)
        // Universe 0 keeps coming (each repeat closes the last frame); universe 1 is silent.
        for t in stride(from: Int64(400), through: 2000, by: 400) { n.feed(artDmx(0, repeated(1)), from: a, at: ms(t)) }
        n.feed(artDmx(0, repeated(5)), from: a, at: ms(2200))
        _ = n.frames()
        n.tick(at: ms(2201))  // universe 1 has been silent 2 s while universe 0 was heard
        let f = n.frames()
        XCTAssertEqual(f.count, 1)
        XCTAssertEqual(f.first?.torn, false)
        XCTAssertEqual(f.first?.universes, [0])
        XCTAssertEqual(f.first?.canvas.bytes, repeated(5) + repeated(1))
    }

    func testSlotsNeverSentKeepTheirValue() {
        let n = node()
        n.feed(artDmx(0, [1, 2, 3, 4, 5, 6]), from: a, at: ms(0))
        n.feed(artDmx(1, [7, 8, 9, 10, 11, 12]), from: a, at: ms(0))
        n.feed(artDmx(0, [20, 21]), from: a, at: ms(40))  // Length 2: R and G of pixel 0
        n.feed(artDmx(1, [30, 31, 32, 33]), from: a, at: ms(40))
        let f = n.frames()
        XCTAssertEqual(f.count, 2)
        XCTAssertEqual(f.last?.canvas.bytes, [20, 21, 3, 4, 5, 6, 30, 31, 32, 33, 11, 12])
    }

    func testMalformedAndUnmappedPacketsAreCounted() {
        let n = node()
        n.feed([0x41, 0x72, 0x74, 0x2D, 0x4E], from: a, at: ms(0))
        n.feed(artDmx(9, repeated(1)), from: a, at: ms(1))
        n.feed(artNzs(0, repeated(1), startCode: 0xCC), from: a, at: ms(2))
        XCTAssertEqual(n.counters.malformed, ["too-short": 1])
        XCTAssertEqual(n.malformedPackets.first?.reason, "too-short")
        XCTAssertEqual(n.malformedPackets.first?.offset, 5)
        XCTAssertEqual(n.malformedPackets.first?.source, "10.0.0.1:6454")
        XCTAssertEqual(n.counters["universe-not-mapped"], 1)
        XCTAssertEqual(n.counters["nzs-not-level-data"], 1)
        n.finish(at: ms(3))
        XCTAssertTrue(n.frames().isEmpty)
        XCTAssertEqual(n.canvas.bytes, repeated(0, 12))
    }

    func testStrictModeDropsViolationsLenientModeActsOnThem() {
        var odd = artDmx(0, [1, 2, 3])
        odd[17] = 3  // Length 3 (odd), the padding byte becomes trailing
        odd.removeLast()
        let lenient = node(width: 2)
        lenient.feed(odd, from: a, at: ms(0))
        XCTAssertEqual(lenient.frames().first?.canvas.bytes, [1, 2, 3, 0, 0, 0])
        XCTAssertEqual(lenient.counters.violations, ["artnet.dmx.odd-length": 1])
        let strict = node(width: 2, strict: true)
        strict.feed(odd, from: a, at: ms(0))
        XCTAssertTrue(strict.frames().isEmpty)
        XCTAssertEqual(strict.counters.violations, ["artnet.dmx.odd-length": 1])
        XCTAssertEqual(strict.counters["dropped-strict"], 1)
    }

    // MARK: ArtSync

    func testArtSyncHoldsDataUntilTheNextArtSync() {
        let n = node()
        n.feed(artDmx(0, repeated(1)), from: a, at: ms(0))
        n.feed(artDmx(1, repeated(1)), from: a, at: ms(0))
        XCTAssertEqual(n.frames().map(\.synchronized), [false])
        n.feed(artSync(), from: a, at: ms(10))
        XCTAssertTrue(n.frames().isEmpty)
        XCTAssertEqual(n.findings.last?.kind, "sync-start")
        n.feed(artDmx(0, repeated(2)), from: a, at: ms(20))
        n.feed(artDmx(1, repeated(3)), from: a, at: ms(30))
        n.tick(at: ms(1000))  // held, never torn
        XCTAssertTrue(n.frames().isEmpty)
        XCTAssertEqual(n.canvas.bytes, repeated(1, 12))
        n.feed(artSync(), from: a, at: ms(1010))
        let f = n.frames()
        XCTAssertEqual(f.count, 1)
        XCTAssertEqual(f.first?.synchronized, true)
        XCTAssertEqual(f.first?.time, ms(1010))
        XCTAssertEqual(f.first?.universes, [0, 1])
        XCTAssertEqual(f.first?.canvas.bytes, repeated(2) + repeated(3))
        XCTAssertEqual(n.counters["artsync"], 2)
    }

    func testBackToImmediateOutputAfterFourSecondsWithoutArtSync() {
        let n = node()
        n.feed(artDmx(0, repeated(1)), from: a, at: ms(0))
        n.feed(artDmx(1, repeated(1)), from: a, at: ms(0))
        n.feed(artSync(), from: a, at: ms(40))
        _ = n.frames()
        n.feed(artDmx(0, repeated(2)), from: a, at: ms(3000))  // within 4 s: held
        n.feed(artDmx(1, repeated(2)), from: a, at: ms(3000))
        XCTAssertTrue(n.frames().isEmpty)
        n.feed(artSync(), from: a, at: ms(3040))
        XCTAssertEqual(n.frames().map(\.synchronized), [true])
        // The sender keeps sending data but no more ArtSync: held until 4 s after the last one.
        for t in stride(from: Int64(4000), through: 7000, by: 1000) {
            n.feed(artDmx(0, repeated(3)), from: a, at: ms(t))
            n.feed(artDmx(1, repeated(3)), from: a, at: ms(t))
            n.tick(at: ms(t + 1))
        }
        XCTAssertTrue(n.frames().isEmpty)
        XCTAssertEqual(n.canvas.bytes, repeated(2, 12))
        XCTAssertEqual(n.counters["sync-lost"], 0)
        n.tick(at: ms(7041))
        XCTAssertEqual(n.counters["sync-lost"], 1)
        XCTAssertEqual(n.findings.last?.kind, "sync-lost")
        n.feed(artDmx(0, repeated(4)), from: a, at: ms(7100))
        n.feed(artDmx(1, repeated(5)), from: a, at: ms(7110))
        let f = n.frames()
        XCTAssertFalse(f.isEmpty)
        XCTAssertEqual(f.map(\.synchronized), [Bool](repeating: false, count: f.count))
        XCTAssertEqual(f.last?.time, ms(7110))
        XCTAssertEqual(f.last?.canvas.bytes, repeated(4) + repeated(5))
        n.feed(artDmx(0, repeated(6)), from: a, at: ms(7200))
        n.feed(artDmx(1, repeated(6)), from: a, at: ms(7210))
        XCTAssertEqual(n.frames().map(\.time), [ms(7210)])  // each frame at once now
    }

    func testArtSyncFromANonSenderIsIgnored() {
        let n = node()
        n.feed(artDmx(0, repeated(1)), from: a, at: ms(0))
        n.feed(artSync(), from: controller, at: ms(1))
        XCTAssertEqual(n.counters["artsync-ignored-not-sender"], 1)
        n.feed(artDmx(1, repeated(2)), from: a, at: ms(2))
        let f = n.frames()
        XCTAssertEqual(f.count, 1)  // still immediate
        XCTAssertEqual(f.first?.synchronized, false)
        XCTAssertEqual(f.first?.canvas.bytes, repeated(1) + repeated(2))
    }

    func testArtSyncWhileMergingIsIgnored() {
        let n = node(width: 2)  // one universe
        n.feed(artDmx(0, repeated(10)), from: a, at: ms(0))
        n.feed(artDmx(0, repeated(20)), from: b, at: ms(10))
        XCTAssertEqual(n.frames().count, 2)
        n.feed(artSync(), from: a, at: ms(20))
        XCTAssertEqual(n.counters["artsync-ignored-merging"], 1)
        n.feed(artDmx(0, repeated(30)), from: a, at: ms(30))
        let f = n.frames()
        XCTAssertEqual(f.count, 1)  // not held
        XCTAssertEqual(f.first?.canvas.bytes, repeated(30))
    }

    func testSyncIgnoredByConfiguration() {
        let n = node(frame: FrameSettings(sync: .ignore))
        n.feed(artDmx(0, repeated(1)), from: a, at: ms(0))
        n.feed(artSync(), from: a, at: ms(5))
        XCTAssertEqual(n.counters["artsync-ignored-by-config"], 1)
        n.feed(artDmx(1, repeated(1)), from: a, at: ms(10))
        n.feed(artDmx(0, repeated(2)), from: a, at: ms(20))
        n.feed(artDmx(1, repeated(2)), from: a, at: ms(30))
        XCTAssertEqual(n.frames().map(\.synchronized), [false, false])
    }

    // MARK: Merge

    func testHTPMergeOfTwoSources() {
        let n = node(width: 2)
        n.feed(artDmx(0, [10, 200, 0, 50, 50, 50]), from: a, at: ms(0))
        XCTAssertEqual(n.frames().last?.canvas.bytes, [10, 200, 0, 50, 50, 50])
        n.feed(artDmx(0, [100, 50, 0, 0, 60, 40]), from: b, at: ms(10))
        let f = n.frames()
        XCTAssertEqual(f.last?.canvas.bytes, [100, 200, 0, 50, 60, 50])
        XCTAssertEqual(f.last?.sources, [FrameSource(a), FrameSource(b)])
        XCTAssertEqual(n.counters["merge-started"], 1)
        XCTAssertEqual(n.findings.map(\.kind), ["merge"])
        XCTAssertEqual(n.findings.first?.universe, 0)
        // Each source's latest data takes part: A going dark leaves B's levels.
        n.feed(artDmx(0, repeated(0)), from: a, at: ms(20))
        XCTAssertEqual(n.frames().last?.canvas.bytes, [100, 50, 0, 0, 60, 40])
        // The poll reply says the port is merging.
        n.feed(artPoll(), from: controller, at: ms(30))
        let reply = n.takeOutput().replies.first.flatMap { decodePollReply($0.bytes) }
        XCTAssertEqual((reply?.goodOutputA[0] ?? 0) & 0x08, 0x08)
        XCTAssertEqual((reply?.goodOutputA[0] ?? 0) & 0x02, 0x00)  // HTP
    }

    func testLTPByArtAddressCommand() {
        let n = node(width: 2)
        n.feed(artDmx(0, [10, 200, 0, 50, 50, 50]), from: a, at: ms(0))
        n.feed(artDmx(0, [100, 50, 0, 0, 60, 40]), from: b, at: ms(10))
        _ = n.frames()
        var cmd = ArtAddress()
        cmd.bindIndex = 1
        cmd.command = 0x10  // AcMergeLtp0
        n.feed(artAddress(cmd), from: controller, at: ms(20))
        let out = n.takeOutput()
        XCTAssertEqual(out.replies.count, 1)
        XCTAssertEqual(out.replies.first?.destination, controller)
        let reply = out.replies.first.flatMap { decodePollReply($0.bytes) }
        XCTAssertEqual((reply?.goodOutputA[0] ?? 0) & 0x02, 0x02)  // LTP
        XCTAssertEqual(n.counters["merge-mode-ltp"], 1)
        n.feed(artDmx(0, repeated(1)), from: a, at: ms(30))
        XCTAssertEqual(n.frames().last?.canvas.bytes, repeated(1))  // latest wins, not highest
        n.feed(artDmx(0, [2, 2, 2, 2, 2, 0]), from: b, at: ms(40))
        XCTAssertEqual(n.frames().last?.canvas.bytes, [2, 2, 2, 2, 2, 0])
        // And back to HTP with AcMergeHtp0.
        cmd.command = 0x50
        n.feed(artAddress(cmd), from: controller, at: ms(50))
        n.feed(artDmx(0, [9, 0, 0, 0, 0, 9]), from: a, at: ms(60))
        XCTAssertEqual(n.frames().last?.canvas.bytes, [9, 2, 2, 2, 2, 9])
    }

    func testLTPFromSettings() {
        let n = node(width: 2, merge: .ltp)
        n.feed(artDmx(0, repeated(200)), from: a, at: ms(0))
        n.feed(artDmx(0, repeated(5)), from: b, at: ms(10))
        XCTAssertEqual(n.frames().last?.canvas.bytes, repeated(5))
    }

    func testThirdSourceIsIgnoredAndCounted() {
        let n = node(width: 2)
        n.feed(artDmx(0, repeated(10)), from: a, at: ms(0))
        n.feed(artDmx(0, repeated(20)), from: b, at: ms(10))
        _ = n.frames()
        n.feed(artDmx(0, repeated(255)), from: c, at: ms(20))
        n.feed(artDmx(0, repeated(255)), from: c, at: ms(30))
        XCTAssertTrue(n.frames().isEmpty)
        XCTAssertEqual(n.canvas.bytes, repeated(20))
        XCTAssertEqual(n.counters["third-source-ignored"], 2)
        XCTAssertEqual(n.findings.filter { $0.kind == "third-source" }.count, 1)
    }

    func testSourceLeavesTheMergeAfterTenSecondsOfSilence() {
        let n = node(width: 2)
        n.feed(artDmx(0, repeated(10)), from: a, at: ms(0))
        n.feed(artDmx(0, repeated(200)), from: b, at: ms(10))
        n.feed(artDmx(0, repeated(11)), from: a, at: ms(5000))
        n.feed(artDmx(0, repeated(12)), from: a, at: ms(10_010))  // B silent for exactly 10 s: still merged
        XCTAssertEqual(n.frames().last?.canvas.bytes, repeated(200))
        XCTAssertEqual(n.counters["source-timeout"], 0)
        n.feed(artDmx(0, repeated(13)), from: a, at: ms(10_011))
        XCTAssertEqual(n.counters["source-timeout"], 1)
        XCTAssertEqual(n.frames().last?.canvas.bytes, repeated(13))  // A alone
        // The freed place goes to a new source.
        n.feed(artDmx(0, [50, 0, 0, 0, 0, 0]), from: c, at: ms(10_020))
        XCTAssertEqual(n.counters["third-source-ignored"], 0)
        XCTAssertEqual(n.counters["merge-started"], 2)
        XCTAssertEqual(n.frames().last?.canvas.bytes, [50, 13, 13, 13, 13, 13])
    }

    /// A lone source's packets are not copied per packet; when a second source joins, the
    /// lone one's own latest slots take part in the merge, not what the panel showed before.
    func testLoneSourceDataMergesAfterShortPacketsAndAnEarlierMerge() {
        let n = node(width: 2)
        n.feed(artDmx(0, [10, 20, 30, 40, 50, 60]), from: a, at: ms(0))
        n.feed(artDmx(0, [5, 5, 99, 5, 99, 5]), from: b, at: ms(10))
        n.feed(artDmx(0, [10, 20, 30, 40, 50, 60]), from: a, at: ms(5000))
        XCTAssertEqual(n.frames().last?.canvas.bytes, [10, 20, 99, 40, 99, 60])
        // B goes silent; A alone sends two slots: the rest of the panel keeps the merged levels.
        n.feed(artDmx(0, [1, 2]), from: a, at: ms(10_011))
        XCTAssertEqual(n.counters["source-timeout"], 1)
        XCTAssertEqual(n.frames().last?.canvas.bytes, [1, 2, 99, 40, 99, 60])
        // C joins dark: the merge shows A's own slots (its latest two, its earlier four).
        n.feed(artDmx(0, repeated(0)), from: c, at: ms(10_020))
        XCTAssertEqual(n.frames().last?.canvas.bytes, [1, 2, 30, 40, 50, 60])
        // And a source that starts alone and then merges brings all it sent alone.
        let m = node(width: 2)
        m.feed(artDmx(0, [7, 7, 7, 7, 7, 7]), from: a, at: ms(0))
        m.feed(artDmx(0, [8, 9]), from: a, at: ms(20))
        m.feed(artDmx(0, [0, 0, 0, 0, 0, 0]), from: b, at: ms(40))
        XCTAssertEqual(m.frames().last?.canvas.bytes, [8, 9, 7, 7, 7, 7])
    }

    func testSourceTimeoutAlsoOnTick() {
        let n = node(width: 2)
        n.feed(artDmx(0, repeated(10)), from: a, at: ms(0))
        n.feed(artDmx(0, repeated(20)), from: b, at: ms(0))
        n.tick(at: ms(10_001))
        XCTAssertEqual(n.counters["source-timeout"], 2)
        n.feed(artDmx(0, repeated(3)), from: c, at: ms(10_002))
        XCTAssertEqual(n.frames().last?.canvas.bytes, repeated(3))
        XCTAssertEqual(n.counters["third-source-ignored"], 0)
    }

    // MARK: Sequence

    func testSequenceGapDuplicateOutOfOrderAndDisabled() {
        let n = node(width: 2)
        let packets: [(seq: UInt8, value: UInt8)] = [(1, 1), (2, 2), (4, 4), (4, 40), (3, 30), (0, 100), (5, 5)]
        for (i, p) in packets.enumerated() {
            n.feed(artDmx(0, repeated(p.value), seq: p.seq), from: a, at: ms(Int64(i) * 25))
        }
        let f = n.frames()
        XCTAssertEqual(f.map { $0.canvas.bytes[0] }, [1, 2, 4, 100, 5])  // duplicate and late packets dropped
        XCTAssertEqual(n.counters["sequence-gap"], 1)
        XCTAssertEqual(n.counters["sequence-missing"], 1)
        XCTAssertEqual(n.counters["sequence-duplicate"], 1)
        XCTAssertEqual(n.counters["sequence-out-of-order"], 1)
    }

    func testSequenceWrapsFrom255To1() {
        let n = node(width: 2)
        for (i, seq) in ([253, 254, 255, 1, 2] as [UInt8]).enumerated() {
            n.feed(artDmx(0, repeated(UInt8(i + 1)), seq: seq), from: a, at: ms(Int64(i)))
        }
        XCTAssertEqual(n.frames().count, 5)
        XCTAssertEqual(n.counters["sequence-gap"], 0)
        XCTAssertEqual(n.counters["sequence-out-of-order"], 0)
    }

    func testSequenceIsPerSource() {
        let n = node(width: 2)
        n.feed(artDmx(0, repeated(1), seq: 50), from: a, at: ms(0))
        n.feed(artDmx(0, repeated(2), seq: 10), from: b, at: ms(1))
        XCTAssertEqual(n.frames().count, 2)
        XCTAssertEqual(n.counters["sequence-out-of-order"], 0)
    }

    // MARK: ArtPoll and ArtAddress

    /// Three ports at Port-Addresses 0x123, 0x124, 0x125 (Net 1, Sub-Net 2).
    func threePortNode() -> ArtNetNode { node(width: 6, start: 0x123) }

    func testArtPollIsAnsweredWithOneReplyPerPort() {
        let n = threePortNode()
        n.feed(artDmx(0x123, repeated(1)), from: a, at: ms(0))
        _ = n.frames()
        n.feed(artPoll(), from: controller, at: ms(10))
        let out = n.takeOutput()
        XCTAssertEqual(out.replies.count, 3)
        for (i, reply) in out.replies.enumerated() {
            XCTAssertEqual(reply.destination, controller)
            XCTAssertEqual(reply.bytes.count, 239)
            guard let r = decodePollReply(reply.bytes) else { continue }
            XCTAssertEqual(r.bindIndex, UInt8(i + 1))
            XCTAssertEqual(r.shortName, "alun-alun")
            XCTAssertEqual(r.longName, "Alun-alun videotron west")
            XCTAssertEqual(r.ipAddress, [192, 168, 1, 100])
            XCTAssertEqual(r.bindIp, [192, 168, 1, 100])
            XCTAssertEqual(r.port, 6454)
            XCTAssertEqual(r.numPorts, 1)
            XCTAssertEqual(r.portTypes, [0x80, 0, 0, 0])
            XCTAssertEqual(r.netSwitch, 1)
            XCTAssertEqual(r.subSwitch, 2)
            XCTAssertEqual(r.swOut[0], UInt8(3 + i))
            XCTAssertEqual(r.outputPortAddress(0), UInt16(0x123 + i))
            XCTAssertEqual(r.goodOutputA[0] & 0x80, i == 0 ? 0x80 : 0)  // data received on port 1 only
            XCTAssertEqual(r.mac, [0x02, 0x50, 0x53, 0x00, 0x00, 0x01])
            XCTAssertEqual(r.violations, [])
        }
        XCTAssertEqual(n.counters["artpoll"], 1)
        XCTAssertEqual(n.counters["artpollreply-sent"], 3)
    }

    func testTargetedArtPollAnswersOnlyPortsInRange() {
        let n = threePortNode()
        n.feed(artPoll(ArtPoll(flags: 0x20, targetPortAddressTop: 0x125, targetPortAddressBottom: 0x124)), from: controller, at: ms(0))
        let replies = n.takeOutput().replies.compactMap { decodePollReply($0.bytes) }
        XCTAssertEqual(replies.map(\.bindIndex), [2, 3])
        XCTAssertEqual(replies.map { $0.outputPortAddress(0) }, [0x124, 0x125])
        n.feed(artPoll(ArtPoll(flags: 0x20, targetPortAddressTop: 0x200, targetPortAddressBottom: 0x1FF)), from: controller, at: ms(1))
        XCTAssertEqual(n.takeOutput().replies.count, 0)
        // The range fields without the targeted flag mean nothing.
        n.feed(artPoll(ArtPoll(flags: 0x00, targetPortAddressTop: 0x200, targetPortAddressBottom: 0x1FF)), from: controller, at: ms(2))
        XCTAssertEqual(n.takeOutput().replies.count, 3)
    }

    /// Each reply is counted once, however many polls come before the caller takes the output.
    func testPollReplyCounterCountsEachReplyOnce() {
        let n = threePortNode()
        n.feed(artPoll(), from: controller, at: ms(0))
        n.feed(artPoll(), from: controller, at: ms(1))
        XCTAssertEqual(n.takeOutput().replies.count, 6)
        XCTAssertEqual(n.counters["artpollreply-sent"], 6)
    }

    func testArtAddressRenamesAndReaddressesAPort() {
        let n = node()
        var a1 = ArtAddress()
        a1.bindIndex = 2
        a1.shortName = "Pole-7"
        a1.longName = "Alun-alun west face"
        a1.swOut = [0x85, 0x7F, 0x7F, 0x7F]  // program port 2 to universe 5
        n.feed(artAddress(a1), from: controller, at: ms(0))
        let out = n.takeOutput()
        XCTAssertEqual(out.replies.count, 1)
        let r = out.replies.first.flatMap { decodePollReply($0.bytes) }
        XCTAssertEqual(r?.shortName, "Pole-7")
        XCTAssertEqual(r?.longName, "Alun-alun west face")
        XCTAssertEqual(r?.bindIndex, 2)
        XCTAssertEqual(r?.outputPortAddress(0), 5)
        XCTAssertEqual(n.universes, [0, 5])
        XCTAssertEqual(n.counters["port-readdressed"], 1)
        XCTAssertEqual(n.findings.last?.kind, "readdressed")
        // Every later poll reply carries the new names.
        n.feed(artPoll(), from: controller, at: ms(1))
        let names = n.takeOutput().replies.compactMap { decodePollReply($0.bytes) }.map { [$0.shortName, $0.longName] }
        XCTAssertEqual(names, [["Pole-7", "Alun-alun west face"], ["Pole-7", "Alun-alun west face"]])
        // Data for universe 5 lands in the second port's pixels; universe 1 is no longer mapped.
        n.feed(artDmx(1, repeated(99)), from: a, at: ms(10))
        XCTAssertEqual(n.counters["universe-not-mapped"], 1)
        n.feed(artDmx(0, [1, 2, 3, 4, 5, 6]), from: a, at: ms(20))
        n.feed(artDmx(5, [7, 8, 9, 10, 11, 12]), from: a, at: ms(21))
        let f = n.frames()
        XCTAssertEqual(f.count, 1)
        XCTAssertEqual(f.first?.universes, [0, 5])
        XCTAssertEqual(f.first?.canvas.bytes, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
    }

    func testArtAddressProgramsNetAndSubNetAndResets() {
        let n = node()
        var a1 = ArtAddress()
        a1.bindIndex = 1
        a1.netSwitch = 0x81
        a1.subSwitch = 0x83
        a1.swOut = [0x85, 0x7F, 0x7F, 0x7F]
        n.feed(artAddress(a1), from: controller, at: ms(0))
        XCTAssertEqual(n.universes, [0x135, 1])
        let r = n.takeOutput().replies.first.flatMap { decodePollReply($0.bytes) }
        XCTAssertEqual(r?.netSwitch, 1)
        XCTAssertEqual(r?.subSwitch, 3)
        XCTAssertEqual(r?.outputPortAddress(0), 0x135)
        // 0x00 resets each field to the configured value.
        var reset = ArtAddress()
        reset.bindIndex = 1
        reset.netSwitch = 0
        reset.subSwitch = 0
        reset.swOut = [0, 0x7F, 0x7F, 0x7F]
        n.feed(artAddress(reset), from: controller, at: ms(1))
        XCTAssertEqual(n.universes, [0, 1])
        // 0x7F everywhere changes nothing.
        var none = ArtAddress()
        none.bindIndex = 2
        n.feed(artAddress(none), from: controller, at: ms(2))
        XCTAssertEqual(n.universes, [0, 1])
        XCTAssertEqual(n.counters["port-readdressed"], 2)
    }

    // MARK: Plugin

    func testPluginBuildsTheNodeFromOptions() throws {
        let map = rowMap(width: 2, start: 0)
        let model = try ProtocolPlugin.artNet.makeDevice(ControllerSettings(name: "pole", map: map,
            options: ["merge": "LTP", "short-name": "P7", "long-name": "Pole seven"], localAddress: [10, 1, 2, 3]))
        guard let n = model as? ArtNetNode else { return XCTFail("not an ArtNetNode") }
        XCTAssertEqual(n.settings.merge, .ltp)
        XCTAssertEqual(n.settings.shortName, "P7")
        XCTAssertEqual(n.settings.longName, "Pole seven")
        XCTAssertEqual(n.settings.nodeAddress, [10, 1, 2, 3])
        XCTAssertThrowsError(try ProtocolPlugin.artNet.makeDevice(ControllerSettings(name: "p", map: map, options: ["merge": "avg"]))) {
            XCTAssertEqual(($0 as? OptionError)?.key, "merge")
        }
        XCTAssertThrowsError(try ProtocolPlugin.artNet.makeDevice(ControllerSettings(name: "p", map: map,
            options: ["short-name": String(repeating: "s", count: 18)]))) {
            XCTAssertEqual(($0 as? OptionError)?.key, "short-name")
        }
        XCTAssertEqual(ProtocolPlugin.artNet.defaultPort, 6454)
        XCTAssertEqual(ProtocolPlugin.artNet.defaultStartUniverse, 0)
        artDmx(0x0123, [1, 2]).withUnsafeBytes {
            XCTAssertTrue(ProtocolPlugin.artNet.detect($0))
            XCTAssertEqual(ProtocolPlugin.artNet.universeOf($0), 0x0123)
        }
    }
}

/// Nodes with more ports than BindIndex can number (1...255) describe four ports per reply.
final class ArtNetLargeNodeTests: XCTestCase {
    func testMoreThan255PortsGroupFourPerReplyAndArtAddressFollowsTheGroups() throws {
        // 300 universes of one pixel each, Port-Addresses 0...299.
        let map = try ChannelMap(width: 300, height: 1, format: .rgb, settings: MappingSettings(startUniverse: 0, channelsPerUniverse: 3))
        let n = ArtNetNode(settings: ArtNetNodeSettings(name: "big", map: map))
        n.feed(artPoll(), from: PacketSource(address: "10.0.0.9", port: 6454), at: Timestamp(nanoseconds: 0))
        let replies = n.takeOutput().replies.compactMap { decodePollReply($0.bytes) }
        XCTAssertEqual(replies.count, 75, "300 ports, four per reply, groups sharing Net and Sub-Net")
        XCTAssertEqual(replies.map(\.bindIndex), (1...75).map { UInt8($0) })
        var covered: [UInt16] = []
        for r in replies {
            XCTAssertEqual(r.numPorts, 4)
            for k in 0..<Int(r.numPorts) { covered.append(r.outputPortAddress(k)) }
        }
        XCTAssertEqual(covered, (0..<300).map { UInt16($0) })
        XCTAssertEqual(n.reportedPortCount, 75)

        // BindIndex 2 is ports 4...7; SwOut[1] moves its second port (universe 5) to universe 14 of the same Sub-Net.
        var a = ArtAddress()
        a.bindIndex = 2
        a.swOut = [0x7F, 0x80 | 0x0E, 0x7F, 0x7F]
        n.feed(artAddress(a), from: PacketSource(address: "10.0.0.9", port: 6454), at: Timestamp(nanoseconds: 1))
        let reply = n.takeOutput().replies.compactMap { decodePollReply($0.bytes) }.first
        XCTAssertEqual(reply?.bindIndex, 2)
        XCTAssertEqual((0..<4).map { reply?.outputPortAddress($0) }, [4, 14, 6, 7])
        XCTAssertTrue(n.universes.contains(14))
        XCTAssertFalse(n.universes.contains(5))
    }

    func testBindIndexesStartAfterOtherNodesOnTheAddress() throws {
        let map = try ChannelMap(width: 2, height: 1, format: .rgb, settings: MappingSettings(startUniverse: 10, channelsPerUniverse: 3))
        let n = ArtNetNode(settings: ArtNetNodeSettings(name: "second", map: map, bindIndexBase: 3))
        n.feed(artPoll(), from: PacketSource(address: "10.0.0.9", port: 6454), at: Timestamp(nanoseconds: 0))
        XCTAssertEqual(n.takeOutput().replies.compactMap { decodePollReply($0.bytes) }.map(\.bindIndex), [4, 5])
        var a = ArtAddress()
        a.bindIndex = 2  // another node's port
        a.swOut = [0x80 | 1, 0x7F, 0x7F, 0x7F]
        n.feed(artAddress(a), from: PacketSource(address: "10.0.0.9", port: 6454), at: Timestamp(nanoseconds: 1))
        XCTAssertTrue(n.takeOutput().replies.isEmpty)
        XCTAssertEqual(n.counters["artaddress-for-another-node"], 1)
        XCTAssertEqual(n.universes, [10, 11])
    }
}
