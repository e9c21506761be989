import PanelCore
import PanelWire
import XCTest

@testable import PanelDevice

final class E131ReceiverTests: XCTestCase {
    let srcA = PacketSource(address: "10.0.0.1", port: 5568)
    let srcB = PacketSource(address: "10.0.0.2", port: 5568)

    /// Universes 1 and 2 of two RGB pixels each (width 4), or universe 1 alone (width 2).
    func receiver(width: Int = 4, frame: FrameSettings = FrameSettings(), merge: Bool = false, strict: Bool = false) -> E131Receiver {
        E131Receiver(settings: E131ReceiverSettings(name: "bundaran", map: rowMap(width: width, start: 1), frame: frame,
                                                    mergeEqualPriority: merge, strict: strict))
    }

    func frameSource(_ s: PacketSource, _ name: String, _ cid: CID) -> FrameSource {
        FrameSource(address: s.address, port: s.port, name: name, cid: cid.description)
    }

    // MARK: Frames

    func testFrameWhenAllUniversesArrived() {
        let r = receiver()
        r.feed(e131(1, [1, 2, 3, 4, 5, 6], seq: 1), from: srcA, at: ms(0))
        XCTAssertTrue(r.frames().isEmpty)
        r.feed(e131(2, [7, 8, 9, 10, 11, 12], seq: 1), from: srcA, at: ms(5))
        let f = r.frames()
        XCTAssertEqual(f.count, 1)
        XCTAssertEqual(f.first?.canvas.bytes, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
        XCTAssertEqual(f.first?.universes, [1, 2])
        XCTAssertEqual(f.first?.sources, [frameSource(srcA, "A", cidA)])
        XCTAssertEqual(f.first?.synchronized, false)
        XCTAssertEqual(r.counters["data"], 2)
        XCTAssertEqual(r.counters["source-added"], 2)  // one per universe
        XCTAssertEqual(r.universes, [1, 2])
    }

    func testMalformedAndUnmappedPackets() {
        let r = receiver()
        r.feed(Array(e131(1, repeated(1), seq: 1).prefix(30)), from: srcA, at: ms(0))
        r.feed(e131(9, repeated(1), seq: 1), from: srcA, at: ms(1))
        XCTAssertEqual(r.counters.malformed, ["too-short": 1])
        XCTAssertEqual(r.malformedPackets.first?.offset, 30)
        XCTAssertEqual(r.counters["universe-not-mapped"], 1)
    }

    func testStrictModeDropsViolations() {
        let bad = e131(1, repeated(9), seq: 1, priority: 201)
        let lenient = receiver(width: 2)
        lenient.feed(bad, from: srcA, at: ms(0))
        XCTAssertEqual(lenient.frames().first?.canvas.bytes, repeated(9))
        XCTAssertEqual(lenient.counters.violations, ["e131.priority-range": 1])
        let strict = receiver(width: 2, strict: true)
        strict.feed(bad, from: srcA, at: ms(0))
        XCTAssertTrue(strict.frames().isEmpty)
        XCTAssertEqual(strict.counters["dropped-strict"], 1)
    }

    // MARK: Priority and merge

    func testHighestPriorityWins() {
        let r = receiver(width: 2)
        r.feed(e131(1, repeated(10), cid: cidA, name: "A", seq: 1, priority: 100), from: srcA, at: ms(0))
        XCTAssertEqual(r.frames().last?.canvas.bytes, repeated(10))
        r.feed(e131(1, repeated(20), cid: cidB, name: "B", seq: 1, priority: 150), from: srcB, at: ms(10))
        let f = r.frames()
        XCTAssertEqual(f.last?.canvas.bytes, repeated(20))
        XCTAssertEqual(f.last?.sources, [frameSource(srcB, "B", cidB)])
        r.feed(e131(1, repeated(30), cid: cidA, name: "A", seq: 2, priority: 100), from: srcA, at: ms(20))
        XCTAssertTrue(r.frames().isEmpty)
        XCTAssertEqual(r.canvas.bytes, repeated(20))
        XCTAssertEqual(r.counters["lower-priority-ignored"], 1)
        XCTAssertEqual(r.counters["priority-conflict"], 0)
    }

    func testEqualPriorityIsAConflictCountedAndReported() {
        let r = receiver(width: 2)
        r.feed(e131(1, repeated(10), cid: cidA, name: "A", seq: 1), from: srcA, at: ms(0))
        r.feed(e131(1, repeated(20), cid: cidB, name: "B", seq: 1), from: srcB, at: ms(10))
        r.feed(e131(1, repeated(11), cid: cidA, name: "A", seq: 2), from: srcA, at: ms(20))
        r.feed(e131(1, repeated(21), cid: cidB, name: "B", seq: 2), from: srcB, at: ms(30))
        let f = r.frames()
        XCTAssertEqual(f.map { $0.canvas.bytes[0] }, [10, 11])  // the first source keeps the panel
        XCTAssertEqual(r.counters["priority-conflict"], 1)
        XCTAssertEqual(r.counters["conflict-data-ignored"], 2)
        let conflicts = r.findings.filter { $0.kind == "conflict" }
        XCTAssertEqual(conflicts.count, 1)
        XCTAssertEqual(conflicts.first?.universe, 1)
        XCTAssertTrue(conflicts.first?.message.contains("\"A\"") ?? false)
        XCTAssertTrue(conflicts.first?.message.contains("\"B\"") ?? false)
    }

    func testEqualPriorityMergesHTPWithTheMergeOption() throws {
        let model = try ProtocolPlugin.e131.makeDevice(ControllerSettings(name: "bundaran", map: rowMap(width: 2, start: 1),
                                                                          options: ["merge": "htp"]))
        guard let r = model as? E131Receiver else { return XCTFail("not an E131Receiver") }
        XCTAssertTrue(r.settings.mergeEqualPriority)
        r.feed(e131(1, [10, 200, 0, 50, 50, 50], cid: cidA, name: "A", seq: 1), from: srcA, at: ms(0))
        r.feed(e131(1, [100, 50, 0, 0, 60, 40], cid: cidB, name: "B", seq: 1), from: srcB, at: ms(10))
        let f = r.frames()
        XCTAssertEqual(f.last?.canvas.bytes, [100, 200, 0, 50, 60, 50])
        XCTAssertEqual(f.last?.sources, [frameSource(srcA, "A", cidA), frameSource(srcB, "B", cidB)])
        XCTAssertEqual(r.counters["priority-conflict"], 1)
        XCTAssertEqual(r.findings.filter { $0.kind == "conflict" }.count, 1)
        r.feed(e131(1, repeated(0), cid: cidA, name: "A", seq: 2), from: srcA, at: ms(20))
        XCTAssertEqual(r.frames().last?.canvas.bytes, [100, 50, 0, 0, 60, 40])
        XCTAssertThrowsError(try ProtocolPlugin.e131.makeDevice(ControllerSettings(name: "x", map: rowMap(width: 2, start: 1),
                                                                                   options: ["merge": "ltp"]))) {
            XCTAssertEqual(($0 as? OptionError)?.key, "merge")
        }
        let plain = try ProtocolPlugin.e131.makeDevice(ControllerSettings(name: "x", map: rowMap(width: 2, start: 1)))
        XCTAssertEqual((plain as? E131Receiver)?.settings.mergeEqualPriority, false)
    }

    // MARK: Sequence numbers

    func testSequenceWindow() {
        let r = receiver(width: 2)
        let packets: [(seq: UInt8, value: UInt8)] = [(100, 1), (99, 2), (81, 3), (75, 4), (75, 5), (76, 6)]
        for (i, p) in packets.enumerated() {
            r.feed(e131(1, repeated(p.value), seq: p.seq), from: srcA, at: ms(Int64(i)))
        }
        // 1 and 19 behind: dropped; 25 behind: taken as new; the same number again: dropped.
        XCTAssertEqual(r.frames().map { $0.canvas.bytes[0] }, [1, 4, 6])
        XCTAssertEqual(r.counters["sequence-out-of-order"], 2)
        XCTAssertEqual(r.counters["sequence-duplicate"], 1)
    }

    func testSequenceWrapsAndGapsAreCounted() {
        let r = receiver(width: 2)
        for (i, seq) in ([254, 255, 0, 3] as [UInt8]).enumerated() {
            r.feed(e131(1, repeated(UInt8(i + 1)), seq: seq), from: srcA, at: ms(Int64(i)))
        }
        XCTAssertEqual(r.frames().count, 4)
        XCTAssertEqual(r.counters["sequence-gap"], 1)
        XCTAssertEqual(r.counters["sequence-missing"], 2)
    }

    /// E1.31-2018 6.7.2: a packet is discarded when −20 < (new − last) ≤ 0; exactly 20 behind is new.
    func testPacketExactlyTwentyBehindIsAccepted() {
        XCTAssertNotEqual(SequenceRule.e131.judge(last: 100, new: 80), .outOfOrder)
        XCTAssertEqual(SequenceRule.e131.judge(last: 100, new: 81), .outOfOrder)
        let r = receiver(width: 2)
        r.feed(e131(1, repeated(1), seq: 100), from: srcA, at: ms(0))
        r.feed(e131(1, repeated(2), seq: 80), from: srcA, at: ms(1))
        XCTAssertEqual(r.frames().map { $0.canvas.bytes[0] }, [1, 2])
        XCTAssertEqual(r.counters["sequence-out-of-order"], 0)
    }

    func testSequenceRuleVerdicts() {
        XCTAssertEqual(SequenceRule.e131.judge(last: nil, new: 7), .first)
        XCTAssertEqual(SequenceRule.e131.judge(last: 10, new: 10), .duplicate)
        XCTAssertEqual(SequenceRule.e131.judge(last: 10, new: 11), .next)
        XCTAssertEqual(SequenceRule.e131.judge(last: 10, new: 13), .gap(missing: 2))
        XCTAssertEqual(SequenceRule.e131.judge(last: 255, new: 0), .next)
        XCTAssertEqual(SequenceRule.e131.judge(last: 5, new: 250), .outOfOrder)  // 11 behind across the wrap
        XCTAssertEqual(SequenceRule.e131.judge(last: 100, new: 75), .gap(missing: 230))
        XCTAssertEqual(SequenceRule.e131.judge(last: 0, new: 0), .duplicate)  // 0 is an ordinary number in sACN
        XCTAssertEqual(SequenceRule.artNet.judge(last: 4, new: 0), .disabled)
        XCTAssertEqual(SequenceRule.artNet.judge(last: 0, new: 9), .first)
        XCTAssertEqual(SequenceRule.artNet.judge(last: 255, new: 1), .next)
        XCTAssertEqual(SequenceRule.artNet.judge(last: 254, new: 2), .gap(missing: 2))  // 255, 1
        XCTAssertEqual(SequenceRule.artNet.judge(last: 2, new: 254), .outOfOrder)
    }

    // MARK: Sources coming and going

    func testSourceLostAfterTwoAndAHalfSeconds() {
        let r = receiver(width: 2)
        r.feed(e131(1, repeated(10), cid: cidA, name: "A", seq: 1, priority: 150), from: srcA, at: ms(0))
        r.feed(e131(1, repeated(20), cid: cidB, name: "B", seq: 1, priority: 100), from: srcB, at: ms(100))
        r.feed(e131(1, repeated(21), cid: cidB, name: "B", seq: 2, priority: 100), from: srcB, at: ms(2500))
        XCTAssertEqual(r.frames().map { $0.canvas.bytes[0] }, [10])
        XCTAssertEqual(r.counters["source-lost"], 0)
        r.feed(e131(1, repeated(22), cid: cidB, name: "B", seq: 3, priority: 100), from: srcB, at: ms(2501))
        XCTAssertEqual(r.counters["source-lost"], 1)
        XCTAssertEqual(r.findings.last?.kind, "source-lost")
        XCTAssertEqual(r.frames().last?.canvas.bytes, repeated(22))
    }

    func testSourceLostOnTick() {
        let r = receiver(width: 2)
        r.feed(e131(1, repeated(10), seq: 1), from: srcA, at: ms(0))
        r.tick(at: ms(2500))
        XCTAssertEqual(r.counters["source-lost"], 0)
        r.tick(at: ms(2501))
        XCTAssertEqual(r.counters["source-lost"], 1)
        r.tick(at: ms(9000))
        XCTAssertEqual(r.counters["source-lost"], 1)
    }

    func testFirstStreamTerminatedPacketEndsTheSourceAndItsDataIsIgnored() {
        let r = receiver(width: 2)
        r.feed(e131(1, repeated(10), cid: cidA, name: "A", seq: 1), from: srcA, at: ms(0))
        r.feed(e131(1, repeated(20), cid: cidB, name: "B", seq: 1), from: srcB, at: ms(10))  // conflict: A keeps the panel
        XCTAssertEqual(r.frames().map { $0.canvas.bytes[0] }, [10])
        for (i, seq) in ([2, 3, 4] as [UInt8]).enumerated() {
            r.feed(e131(1, repeated(99), cid: cidA, name: "A", seq: seq, options: .streamTerminated), from: srcA, at: ms(20 + Int64(i)))
        }
        XCTAssertTrue(r.frames().isEmpty)
        XCTAssertEqual(r.canvas.bytes, repeated(10))
        XCTAssertEqual(r.findings.filter { $0.kind == "stream-terminated" }.count, 1)
        // B is now alone: its next packet is shown.
        r.feed(e131(1, repeated(21), cid: cidB, name: "B", seq: 2), from: srcB, at: ms(30))
        let f = r.frames()
        XCTAssertEqual(f.last?.canvas.bytes, repeated(21))
        XCTAssertEqual(f.last?.sources, [frameSource(srcB, "B", cidB)])
    }

    func testPreviewDataIsIgnored() {
        let r = receiver(width: 2)
        r.feed(e131(1, repeated(10), seq: 1), from: srcA, at: ms(0))
        _ = r.frames()
        r.feed(e131(1, repeated(99), seq: 2, options: .preview), from: srcA, at: ms(10))
        XCTAssertTrue(r.frames().isEmpty)
        XCTAssertEqual(r.canvas.bytes, repeated(10))
        XCTAssertEqual(r.counters["preview-ignored"], 1)
    }

    func testNonZeroStartCodeIsNotLevelData() {
        let r = receiver(width: 2)
        r.feed(e131(1, repeated(200), seq: 1, startCode: 0xDD), from: srcA, at: ms(0))
        r.tick(at: ms(1000))
        XCTAssertTrue(r.frames().isEmpty)
        XCTAssertEqual(r.canvas.bytes, repeated(0))
        XCTAssertEqual(r.counters["start-code-0xDD-not-level-data"], 1)
        r.feed(e131(1, repeated(7), seq: 2), from: srcA, at: ms(1010))
        XCTAssertEqual(r.frames().last?.canvas.bytes, repeated(7))
    }

    // MARK: Synchronization

    /// Before any sync packet has arrived on an address, data naming it is shown at once
    /// (E1.31 6.2.4.1): the receiver is not yet synchronised there.
    func testDataBeforeTheFirstSyncPacketIsShownAtOnce() {
        let r = receiver()
        r.feed(e131(1, repeated(3), seq: 1, sync: 7000), from: srcA, at: ms(0))
        r.feed(e131(2, repeated(4), seq: 1, sync: 7000), from: srcA, at: ms(5))
        let f = r.frames()
        XCTAssertEqual(f.map(\.synchronized), [false])
        XCTAssertEqual(f.first?.canvas.bytes, repeated(3) + repeated(4))
        XCTAssertTrue(r.multicastGroups.contains("239.255.27.88"), "the sync address's group is joined once data names it")
        XCTAssertEqual(r.findings.map(\.kind), ["sync-address"])
    }

    func testDataWithASyncAddressIsHeldUntilTheSyncPacket() {
        let r = receiver()
        XCTAssertEqual(r.multicastGroups, ["239.255.250.214"], "universe discovery, joined even for unicast data")
        XCTAssertEqual(r.dataMulticastGroups, ["239.255.0.1", "239.255.0.2"])
        r.feed(e131Sync(7000, seq: 0), from: srcA, at: ms(0))
        r.feed(e131(1, [1, 2, 3, 4, 5, 6], seq: 1, sync: 7000), from: srcA, at: ms(0))
        r.feed(e131(2, [7, 8, 9, 10, 11, 12], seq: 1, sync: 7000), from: srcA, at: ms(5))
        r.tick(at: ms(1000))
        XCTAssertTrue(r.frames().isEmpty)
        XCTAssertEqual(r.canvas.bytes, repeated(0, 12))
        XCTAssertEqual(r.multicastGroups, ["239.255.250.214", "239.255.27.88"])
        r.feed(e131Sync(7000, seq: 1), from: srcA, at: ms(1010))
        let f = r.frames()
        XCTAssertEqual(f.count, 1)
        XCTAssertEqual(f.first?.synchronized, true)
        XCTAssertEqual(f.first?.time, ms(1010))
        XCTAssertEqual(f.first?.universes, [1, 2])
        XCTAssertEqual(f.first?.canvas.bytes, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
        XCTAssertEqual(r.counters["sync"], 2)
    }

    /// Only a sync packet on the data's synchronization address releases it.
    func testSyncPacketForAnotherAddressDoesNotReleaseHeldData() {
        let r = receiver()
        r.feed(e131Sync(7000, seq: 0), from: srcA, at: ms(0))
        r.feed(e131(1, repeated(1), seq: 1, sync: 7000), from: srcA, at: ms(0))
        r.feed(e131(2, repeated(2), seq: 1, sync: 7000), from: srcA, at: ms(5))
        r.feed(e131Sync(7001, seq: 1), from: srcA, at: ms(10))
        XCTAssertTrue(r.frames().isEmpty)
        r.feed(e131Sync(7000, seq: 2), from: srcA, at: ms(20))
        XCTAssertEqual(r.frames().map(\.synchronized), [true])
    }

    /// Two universes on different synchronization addresses: each sync releases its own.
    func testEachSyncAddressReleasesItsOwnUniverses() {
        let r = receiver()
        r.feed(e131Sync(7000, seq: 0), from: srcA, at: ms(0))
        r.feed(e131Sync(7001, seq: 0), from: srcA, at: ms(0))
        r.feed(e131(1, repeated(1), seq: 1, sync: 7000), from: srcA, at: ms(0))
        r.feed(e131(2, repeated(2), seq: 1, sync: 7001), from: srcA, at: ms(5))
        r.feed(e131Sync(7001, seq: 1), from: srcA, at: ms(10))
        let first = r.frames()
        XCTAssertEqual(first.map(\.universes), [[2]])
        XCTAssertEqual(first.first?.canvas.bytes, repeated(0) + repeated(2))
        r.feed(e131Sync(7000, seq: 1), from: srcA, at: ms(20))
        let second = r.frames()
        XCTAssertEqual(second.map(\.universes), [[1]])
        XCTAssertEqual(second.first?.synchronized, true)
        XCTAssertEqual(second.first?.canvas.bytes, repeated(1) + repeated(2))
        XCTAssertTrue(r.multicastGroups.isSuperset(of: ["239.255.27.88", "239.255.27.89"]))
    }

    func testSyncIgnoredByConfiguration() {
        let r = receiver(frame: FrameSettings(sync: .ignore))
        r.feed(e131(1, repeated(1), seq: 1, sync: 7000), from: srcA, at: ms(0))
        r.feed(e131(2, repeated(2), seq: 1, sync: 7000), from: srcA, at: ms(5))
        XCTAssertEqual(r.frames().map(\.synchronized), [false])
        r.feed(e131Sync(7000, seq: 1), from: srcA, at: ms(10))
        XCTAssertEqual(r.counters["sync-ignored-by-config"], 1)
    }

    /// Synchronized output, then the sync packets stop for more than 2.5 s while data goes on.
    func runSyncLoss(force: Bool) -> (E131Receiver, afterLoss: [FrameEvent]) {
        let r = receiver()
        let options: E131Options = force ? .forceSynchronization : []
        r.feed(e131Sync(7000, seq: 0), from: srcA, at: ms(0))
        r.feed(e131(1, repeated(1), seq: 1, options: options, sync: 7000), from: srcA, at: ms(0))
        r.feed(e131(2, repeated(1), seq: 1, options: options, sync: 7000), from: srcA, at: ms(5))
        r.feed(e131Sync(7000, seq: 1), from: srcA, at: ms(20))
        XCTAssertEqual(r.frames().map(\.synchronized), [true])
        r.feed(e131(1, repeated(2), seq: 2, options: options, sync: 7000), from: srcA, at: ms(1000))
        r.feed(e131(2, repeated(2), seq: 2, options: options, sync: 7000), from: srcA, at: ms(1005))
        XCTAssertTrue(r.frames().isEmpty)  // sync still expected
        r.feed(e131(1, repeated(3), seq: 3, options: options, sync: 7000), from: srcA, at: ms(2600))
        r.feed(e131(2, repeated(3), seq: 3, options: options, sync: 7000), from: srcA, at: ms(2605))
        XCTAssertEqual(r.counters["sync-lost"], 1)
        XCTAssertEqual(r.findings.last?.kind, "sync-lost")
        return (r, r.frames())
    }

    /// E1.31-2018 6.2.6: Force_Synchronization 0 — a receiver that was synchronized shall not
    /// update with new packets until synchronization resumes.
    func testSyncLossWithForceSynchronizationZeroKeepsHolding() {
        let (r, afterLoss) = runSyncLoss(force: false)
        XCTAssertEqual(afterLoss.count, 0, "frames emitted without a sync: \(afterLoss.map { $0.canvas.bytes[0] })")
        r.feed(e131Sync(7000, seq: 2), from: srcA, at: ms(2700))
        let resumed = r.frames()
        XCTAssertEqual(resumed.map(\.synchronized), [true])
        XCTAssertEqual(resumed.last?.canvas.bytes, repeated(3, 12))
    }

    /// E1.31-2018 6.2.6: Force_Synchronization 1 — once synchronization is lost the receiver
    /// need not wait for a sync packet: it goes back to immediate output.
    func testSyncLossWithForceSynchronizationOneRevertsToImmediateOutput() {
        let (_, afterLoss) = runSyncLoss(force: true)
        XCTAssertEqual(afterLoss.last?.synchronized, false)
        XCTAssertEqual(afterLoss.last?.canvas.bytes, repeated(3, 12))
    }

    // MARK: Universe discovery

    func testUniverseDiscoveryIsRecorded() {
        let r = receiver()
        r.feed(e131Discovery(cid: cidB, name: "Console B", lastPage: 1, [1, 2, 7000]), from: srcB, at: ms(0))
        r.feed(e131Discovery(cid: cidB, name: "Console B", page: 1, lastPage: 1, [8000]), from: srcB, at: ms(1))
        r.feed(e131Discovery(cid: cidC, name: "Laptop", [5]), from: srcA, at: ms(2))
        XCTAssertEqual(r.counters["discovery"], 3)
        XCTAssertEqual(r.discovered[cidB.description], E131Receiver.DiscoveredSource(name: "Console B", universes: [1, 2, 7000, 8000]))
        XCTAssertEqual(r.discovered[cidC.description], E131Receiver.DiscoveredSource(name: "Laptop", universes: [5]))
        XCTAssertEqual(r.discovered.count, 2)
        XCTAssertTrue(r.frames().isEmpty)
    }
}
