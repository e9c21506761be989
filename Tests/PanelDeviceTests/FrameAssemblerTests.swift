import PanelCore
import XCTest

@testable import PanelDevice

/// The frame rule of DESIGN.md on the assembler alone: two universes of two RGB pixels each
/// (universe index 0 → pixels 0–1, index 1 → pixels 2–3).
final class FrameAssemblerTests: XCTestCase {
    let src = FrameSource(address: "10.0.0.1", port: 6454)
    let other = FrameSource(address: "10.0.0.2", port: 6454)

    func assembler(_ settings: FrameSettings = FrameSettings()) -> FrameAssembler {
        FrameAssembler(map: rowMap(width: 4, start: 0), settings: settings)
    }

    func stage(_ a: inout FrameAssembler, _ index: Int, _ data: [UInt8], at t: Int64, held: Bool = false, sources: [FrameSource]? = nil) {
        data.withUnsafeBytes { a.stage(index: index, data: $0, sources: sources ?? [src], at: ms(t), held: held) }
    }

    func take(_ a: inout FrameAssembler) -> [FrameEvent] {
        defer { a.events.removeAll() }
        return a.events
    }

    func testFrameWhenEveryUniverseOfTheCompletionSetArrived() {
        var a = assembler()
        stage(&a, 0, [1, 2, 3, 4, 5, 6], at: 0)
        XCTAssertTrue(take(&a).isEmpty)
        stage(&a, 1, [7, 8, 9, 10, 11, 12], at: 1, sources: [other])
        let f = take(&a)
        XCTAssertEqual(f.count, 1)
        XCTAssertEqual(f.first?.index, 1)
        XCTAssertEqual(f.first?.time, ms(1))
        XCTAssertEqual(f.first?.canvas.bytes, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
        XCTAssertEqual(f.first?.universes, [0, 1])
        XCTAssertEqual(f.first?.sources, [src, other])
        XCTAssertEqual(f.first?.torn, false)
        XCTAssertEqual(f.first?.synchronized, false)
        XCTAssertEqual(a.canvas.bytes, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
        // The next frame counts on, and carries only its own sources.
        stage(&a, 1, repeated(1), at: 40)
        stage(&a, 0, repeated(2), at: 41)
        let g = take(&a)
        XCTAssertEqual(g.map(\.index), [2])
        XCTAssertEqual(g.first?.sources, [src])
        XCTAssertEqual(g.first?.canvas.bytes, repeated(2) + repeated(1))
    }

    func testUniverseArrivingTwiceClosesThePendingFrame() {
        var a = assembler()
        stage(&a, 0, repeated(1), at: 0)
        stage(&a, 0, repeated(2), at: 1)
        let first = take(&a)
        XCTAssertEqual(first.count, 1)
        XCTAssertEqual(first.first?.time, ms(1))
        XCTAssertEqual(first.first?.canvas.bytes, repeated(1) + repeated(0))  // the first packet, not the second
        XCTAssertEqual(first.first?.universes, [0])
        XCTAssertEqual(first.first?.torn, false)
        stage(&a, 1, repeated(3), at: 2)
        let second = take(&a)
        XCTAssertEqual(second.count, 1)
        XCTAssertEqual(second.first?.canvas.bytes, repeated(2) + repeated(3))
        XCTAssertEqual(second.first?.universes, [0, 1])
    }

    func testSilentUniverseLeavesTheCompletionSetUntilItReturns() {
        var a = assembler(FrameSettings(timeout: ms(500)))
        stage(&a, 0, repeated(1), at: 0)
        stage(&a, 1, repeated(1), at: 0)
        XCTAssertEqual(take(&a).count, 1)
        // Universe 1 goes quiet. Within 2 s a frame with universe 0 only is incomplete (torn).
        stage(&a, 0, repeated(2), at: 1000)
        a.tick(at: ms(1100))
        XCTAssertTrue(take(&a).isEmpty)
        a.tick(at: ms(1600))
        let torn = take(&a)
        XCTAssertEqual(torn.map(\.torn), [true])
        XCTAssertEqual(torn.first?.universes, [0])
        // Once universe 0 has been heard 2 s after universe 1 went quiet, universe 1 leaves
        // the set: universe 0 alone completes a frame.
        stage(&a, 0, repeated(3), at: 2200)
        a.tick(at: ms(2201))
        let alone = take(&a)
        XCTAssertEqual(alone.count, 1)
        XCTAssertEqual(alone.first?.torn, false)
        XCTAssertEqual(alone.first?.time, ms(2201))
        XCTAssertEqual(alone.first?.universes, [0])
        XCTAssertEqual(alone.first?.canvas.bytes, repeated(3) + repeated(1))  // universe 1 keeps its last value
        // Universe 1 comes back: the set has two members again.
        stage(&a, 1, repeated(4), at: 2300)
        XCTAssertTrue(take(&a).isEmpty)
        stage(&a, 0, repeated(5), at: 2400)
        let both = take(&a)
        XCTAssertEqual(both.first?.universes, [0, 1])
        XCTAssertEqual(both.first?.canvas.bytes, repeated(5) + repeated(4))
    }

    /// A panel larger than what the sender sends: the universe never heard leaves the set once
    /// the others have been heard for 2 s, and frames of the rest complete on their own.
    func testUniverseNeverHeardLeavesTheSetAfterTwoSecondsOfTraffic() {
        var a = assembler(FrameSettings(timeout: ms(10_000)))
        for t in stride(from: Int64(0), through: 2000, by: 500) { stage(&a, 0, repeated(UInt8(t / 500)), at: t) }
        let repeats = take(&a)
        XCTAssertEqual(repeats.map(\.torn), [false, false, false, false], "closed by the repeat, never torn")
        a.tick(at: ms(2001))
        XCTAssertTrue(take(&a).isEmpty, "2 s of traffic have not passed yet")
        stage(&a, 0, repeated(9), at: 2100)  // closes the frame of t = 2000 by the repeat
        XCTAssertEqual(take(&a).count, 1)
        a.tick(at: ms(2101))  // universe 1 leaves; universe 0 is staged, so the frame is complete
        let f = take(&a)
        XCTAssertEqual(f.map(\.torn), [false])
        XCTAssertEqual(f.first?.universes, [0])
        stage(&a, 0, repeated(10), at: 2600)
        XCTAssertEqual(take(&a).map(\.universes), [[0]], "universe 0 alone now completes at once")
    }

    /// The sender paused: when the whole panel goes quiet the completion set stays, so the
    /// first frame after the pause is waited for whole (no universe completes a frame alone).
    func testAPauseKeepsTheCompletionSet() {
        var a = assembler()
        stage(&a, 0, repeated(1), at: 0)
        stage(&a, 1, repeated(1), at: 0)
        XCTAssertEqual(take(&a).count, 1)
        a.tick(at: ms(5000))
        stage(&a, 0, repeated(2), at: 5000)
        XCTAssertTrue(take(&a).isEmpty)
        stage(&a, 1, repeated(3), at: 5000)
        let f = take(&a)
        XCTAssertEqual(f.map(\.universes), [[0, 1]])
        XCTAssertEqual(f.first?.canvas.bytes, repeated(2) + repeated(3))
    }

    /// Serving starts in the middle of the sender's frame: the pause between its frames closes
    /// the partial first frame (not torn: the missing universe was never heard), and from then
    /// on every frame is one whole sender frame.
    func testAStreamJoinedMidFrameRealigns() {
        var a = assembler()
        stage(&a, 1, repeated(10), at: 0)  // universe 1 of sender frame 0
        for k in 1...4 {
            let t = Int64(k) * 33
            stage(&a, 0, repeated(UInt8(k)), at: t)
            stage(&a, 1, repeated(UInt8(10 + k)), at: t)
        }
        let f = take(&a)
        XCTAssertEqual(f.map(\.torn), [false, false, false, false, false])
        XCTAssertEqual(f.first?.universes, [1])
        XCTAssertEqual(Array(f.dropFirst()).map(\.canvas.bytes), (1...4).map { repeated(UInt8($0)) + repeated(UInt8(10 + $0)) })
    }

    /// A gap longer than three quarters of the sender's frame interval inside a frame means the
    /// sender moved on: the pending frame closes, torn when it lacks a universe heard before.
    func testAGapBetweenFramesClosesAnIncompleteFrame() {
        var a = assembler()
        for k in 0..<3 {
            stage(&a, 0, repeated(UInt8(k)), at: Int64(k) * 40)
            stage(&a, 1, repeated(UInt8(k)), at: Int64(k) * 40)
        }
        XCTAssertEqual(take(&a).count, 3)
        stage(&a, 0, repeated(7), at: 120)  // universe 1 of this frame is lost
        stage(&a, 1, repeated(8), at: 160)  // the next frame's first universe, 40 ms later
        let f = take(&a)
        XCTAssertEqual(f.map(\.torn), [true])
        XCTAssertEqual(f.first?.time, ms(120))
        XCTAssertEqual(f.first?.canvas.bytes, repeated(7) + repeated(2))
    }

    func testTornFrameAfterTheMinimumTimeout() {
        var a = assembler()
        XCTAssertEqual(a.timeout, ms(100))
        stage(&a, 0, repeated(1), at: 0)
        stage(&a, 1, repeated(0), at: 0)
        XCTAssertEqual(take(&a).count, 1)
        stage(&a, 0, repeated(9), at: 40)
        XCTAssertEqual(a.timeout, ms(100), "twice 40 ms is below the minimum")
        a.tick(at: ms(90))
        a.tick(at: ms(140))
        XCTAssertTrue(take(&a).isEmpty)
        a.tick(at: ms(141))
        let f = take(&a)
        XCTAssertEqual(f.count, 1)
        XCTAssertEqual(f.first?.torn, true)
        XCTAssertEqual(f.first?.time, ms(141))
        XCTAssertEqual(f.first?.universes, [0])
        XCTAssertEqual(f.first?.canvas.bytes, repeated(9) + repeated(0))
        a.tick(at: ms(500))
        XCTAssertTrue(take(&a).isEmpty)  // emitted once
    }

    func testTimeoutIsTwiceTheObservedFrameInterval() {
        var a = assembler()
        for t in stride(from: Int64(0), through: 600, by: 200) {
            stage(&a, 0, repeated(1), at: t)
            stage(&a, 1, repeated(1), at: t + 1)
        }
        XCTAssertEqual(take(&a).count, 4)
        XCTAssertEqual(a.timeout, ms(400))
        stage(&a, 0, repeated(2), at: 800)
        a.tick(at: ms(1100))
        XCTAssertTrue(take(&a).isEmpty)
        a.tick(at: ms(1201))
        XCTAssertEqual(take(&a).map(\.torn), [true])
    }

    func testSlotsNeverSentKeepTheirValue() {
        var a = assembler()
        stage(&a, 0, [1, 2, 3], at: 0)  // only pixel 0
        stage(&a, 1, [4, 5, 6, 7, 8, 9], at: 0)
        XCTAssertEqual(take(&a).first?.canvas.bytes, [1, 2, 3, 0, 0, 0, 4, 5, 6, 7, 8, 9])
        stage(&a, 0, [9, 9], at: 100)  // R and G of pixel 0
        stage(&a, 1, [], at: 100)  // nothing at all
        XCTAssertEqual(take(&a).first?.canvas.bytes, [9, 9, 3, 0, 0, 0, 4, 5, 6, 7, 8, 9])
    }

    func testHeldDataWaitsForTheSync() {
        var a = assembler()
        stage(&a, 0, [1, 2, 3, 4, 5, 6], at: 0, held: true)
        stage(&a, 1, repeated(7), at: 10, held: true)
        stage(&a, 0, [8, 8], at: 20, held: true)  // a repeat while held replaces only its slots
        XCTAssertTrue(a.isHolding)
        a.tick(at: ms(5000))  // held data is never torn
        XCTAssertTrue(take(&a).isEmpty)
        XCTAssertEqual(a.canvas.bytes, repeated(0, 12))
        a.sync(at: ms(5001))
        let f = take(&a)
        XCTAssertEqual(f.count, 1)
        XCTAssertEqual(f.first?.synchronized, true)
        XCTAssertEqual(f.first?.torn, false)
        XCTAssertEqual(f.first?.universes, [0, 1])
        XCTAssertEqual(f.first?.canvas.bytes, [8, 8, 3, 4, 5, 6] + repeated(7))
        XCTAssertFalse(a.isHolding)
        a.sync(at: ms(5002))  // nothing staged: no frame
        XCTAssertTrue(take(&a).isEmpty)
    }

    /// Two senders on one panel, one synchronising and one not: the unsynchronised universe's
    /// frames do not wait for the synchronised one, whose data waits for its own sync.
    func testSynchronisedAndUnsynchronisedUniversesOnOnePanel() {
        var a = assembler()
        a.sync(at: ms(0))  // nothing held: no frame
        data(&a, 0, repeated(5), at: 0, held: true, group: 7000, sources: [other])
        stage(&a, 1, repeated(6), at: 5)
        let immediate = take(&a)
        XCTAssertEqual(immediate.map(\.universes), [[1]], "universe 0 is synchronised, so universe 1 alone completes a frame")
        XCTAssertEqual(immediate.first?.canvas.bytes, repeated(0) + repeated(6))
        XCTAssertEqual(immediate.first?.sources, [src])
        XCTAssertTrue(a.isHolding)
        a.sync(at: ms(10), group: 7001)
        XCTAssertTrue(take(&a).isEmpty, "another group's sync releases nothing")
        a.sync(at: ms(12), group: 7000)
        let synced = take(&a)
        XCTAssertEqual(synced.map(\.universes), [[0]])
        XCTAssertEqual(synced.first?.synchronized, true)
        XCTAssertEqual(synced.first?.canvas.bytes, repeated(5) + repeated(6))
        XCTAssertEqual(synced.first?.sources, [other])
    }

    /// A synchronising sender that stops synchronising: what it held joins the pending frame,
    /// closed by the next repeat, and nothing is lost.
    func testSenderThatStopsSynchronisingLosesNothing() {
        var a = assembler()
        data(&a, 0, repeated(1), at: 0, held: true, group: 9)
        data(&a, 1, repeated(2), at: 1, held: true, group: 9)
        stage(&a, 0, repeated(3), at: 40)  // no sync address any more
        stage(&a, 1, repeated(4), at: 41)
        let f = take(&a)
        XCTAssertEqual(f.map(\.canvas.bytes), [repeated(1) + repeated(2), repeated(3) + repeated(4)])
        XCTAssertEqual(f.map(\.torn), [false, false])
        XCTAssertFalse(a.isHolding)
    }

    func data(_ a: inout FrameAssembler, _ index: Int, _ bytes: [UInt8], at t: Int64, held: Bool, group: Int, sources: [FrameSource]? = nil) {
        bytes.withUnsafeBytes { a.stage(index: index, data: $0, sources: sources ?? [src], at: ms(t), held: held, syncGroup: group) }
    }

    func testFinishEmitsAPendingFrameTornButNotHeldData() {
        var a = assembler()
        stage(&a, 0, repeated(1), at: 0)
        stage(&a, 1, repeated(1), at: 0)
        stage(&a, 0, repeated(2), at: 40)
        a.finish(at: ms(50))
        XCTAssertEqual(take(&a).map(\.torn), [false, true])
        var b = assembler()
        stage(&b, 0, repeated(1), at: 0, held: true)
        stage(&b, 1, repeated(1), at: 0, held: true)
        b.finish(at: ms(50))
        XCTAssertTrue(take(&b).isEmpty)
    }

    func testIndexOutsideTheMapIsIgnored() {
        var a = assembler()
        stage(&a, 2, repeated(1), at: 0)
        stage(&a, -1, repeated(1), at: 0)
        a.tick(at: ms(10_000))
        a.finish(at: ms(10_001))
        XCTAssertTrue(take(&a).isEmpty)
        XCTAssertEqual(a.canvas.bytes, repeated(0, 12))
    }
}
