import PanelCore
import XCTest

@testable import PanelDevice

/// The assembler writes staged data straight into a back canvas and swaps it in; the staging
/// assembler it replaced (`StagingReference`) is the oracle: random traffic of short and full
/// packets, held and pending data of two sync groups, syncs, releases, pauses and ticks must
/// give the same frame events, pixel for pixel, and the same shown canvas after every step.
final class FrameAssemblerEquivalenceTests: XCTestCase {
    let sources = [FrameSource(address: "10.0.0.1", port: 6454), FrameSource(address: "10.0.0.2", port: 6454)]

    func maps() throws -> [(String, ChannelMap)] {
        [
            ("rows", try ChannelMap(width: 4, height: 1, format: .rgb, settings: MappingSettings(startUniverse: 0, channelsPerUniverse: 6))),
            // Universes not lying in one run of the canvas: serpentine, flipped, BGR, the last one short.
            ("serpentine", try ChannelMap(width: 5, height: 3, format: .rgb, order: PixelOrder("bgr", format: .rgb),
                                          settings: MappingSettings(startUniverse: 1, channelsPerUniverse: 9, layout: .serpentine, flipHorizontal: true))),
            ("rgbw", try ChannelMap(width: 3, height: 2, format: .rgbw, settings: MappingSettings(startUniverse: 0, channelsPerUniverse: 8))),
        ]
    }

    func testRandomTrafficGivesTheSameFramesAsStaging() throws {
        for (name, map) in try maps() {
            for seed in UInt64(1)...UInt64(40) {
                run(map: map, seed: seed, label: "\(name) seed \(seed)")
            }
        }
    }

    private func run(map: ChannelMap, seed: UInt64, label: String) {
        var random = SeededGenerator(seed: seed)
        let settings = FrameSettings(sync: .auto, timeout: seed % 2 == 0 ? nil : Timestamp(nanoseconds: 50_000_000))
        var assembler = FrameAssembler(map: map, settings: settings)
        var reference = StagingReference(map: map, settings: settings)
        var now: Int64 = 0
        let universes = map.universeCount
        let perUniverse = map.channelCount(universeIndex: 0)
        for step in 0..<400 {
            // Mostly back-to-back packets, sometimes a frame gap, a pause or a long silence.
            switch Int.random(in: 0..<100, using: &random) {
            case 0..<70: now += Int64.random(in: 0...2, using: &random)
            case 70..<95: now += Int64.random(in: 10...40, using: &random)
            case 95..<98: now += 300
            default: now += 2500
            }
            let t = Timestamp(nanoseconds: now * 1_000_000)
            let action = Int.random(in: 0..<100, using: &random)
            if action < 80 {
                let index = Int.random(in: -1...universes, using: &random)
                // Full universes most of the time; short, empty and overlong packets too.
                let length = Int.random(in: 0..<4, using: &random) == 0 ? Int.random(in: 0...(perUniverse + 3), using: &random) : perUniverse
                let data = (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
                let held = Int.random(in: 0..<3, using: &random) == 0
                let group = Int.random(in: 0...1, using: &random)
                let from = [sources[Int.random(in: 0...1, using: &random)]]
                data.withUnsafeBytes { bytes in
                    assembler.stage(index: index, data: bytes, sources: from, at: t, held: held, syncGroup: group)
                    reference.stage(index: index, data: bytes, sources: from, at: t, held: held, syncGroup: group)
                }
            } else if action < 90 {
                let group = Int.random(in: 0...1, using: &random)
                assembler.sync(at: t, group: group)
                reference.sync(at: t, group: group)
            } else if action < 93 {
                assembler.releaseHeld(at: t)
                reference.releaseHeld(at: t)
            } else {
                assembler.tick(at: t)
                reference.tick(at: t)
            }
            // Stop at the first difference: the rest would only repeat it.
            guard compare(&assembler, &reference, "\(label) step \(step)") else { return }
        }
        let end = Timestamp(nanoseconds: (now + 1) * 1_000_000)
        assembler.finish(at: end)
        reference.finish(at: end)
        _ = compare(&assembler, &reference, "\(label) finish")
    }

    /// Asserts that both gave the same events and show the same canvas; false when they differ.
    private func compare(_ a: inout FrameAssembler, _ r: inout StagingReference, _ label: String) -> Bool {
        XCTAssertEqual(a.events.count, r.events.count, label)
        for (x, y) in zip(a.events, r.events) {
            XCTAssertEqual(x.index, y.index, label)
            XCTAssertEqual(x.time, y.time, label)
            XCTAssertEqual(x.universes, y.universes, label)
            XCTAssertEqual(x.sources, y.sources, label)
            XCTAssertEqual(x.torn, y.torn, label)
            XCTAssertEqual(x.synchronized, y.synchronized, label)
            XCTAssertEqual(x.canvas.bytes, y.canvas.bytes, "\(label): frame \(x.index)")
        }
        XCTAssertEqual(a.canvas.bytes, r.canvas.bytes, label)
        XCTAssertEqual(a.isHolding, r.isHolding, label)
        let same = a.events.count == r.events.count && a.canvas.bytes == r.canvas.bytes
            && zip(a.events, r.events).allSatisfy { $0.canvas.bytes == $1.canvas.bytes && $0.universes == $1.universes }
        a.events.removeAll()
        r.events.removeAll()
        return same
    }
}
