import Foundation
import PanelCore
import PanelDevice
import PanelImage
@testable import PanelSession
import XCTest

/// Offline replay: a capture written by PanelSim's own sender, fed back through the device
/// models with capture time as the clock.
final class ReplayTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "panelsim-replay-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    let yaml = """
    controllers:
      - { name: pole, protocol: artnet, transport: { udp: 127.0.0.1:6454 }, panel: { width: 170, height: 3 }, mapping: { layout: serpentine } }
    """

    /// Ten counter frames sent to a pcap, with ArtSync: the capture PanelSim would read.
    func writeCapture(frames: Int = 10) throws -> (path: String, map: ChannelMap) {
        let map = try SessionConfig.parse(yaml: yaml, file: "t").controllers[0].channelMap()
        let path = dir + "/send.pcap"
        _ = try SendSession(options: SendOptions(plugin: .artNet, host: "127.0.0.1", port: 6454, map: map, content: .pattern(.counter),
                                                 fps: 30, frames: frames, seconds: nil, sender: SenderSettings(map: map, sync: true),
                                                 pcapPath: path)).runToPcap(path: path)
        return (path, map)
    }

    func lines(_ controller: String) -> [JSONValue] {
        (FileText.read(dir + "/out/\(controller)/frames.jsonl") ?? "").split(separator: "\n").compactMap { JSONValue.parse(String($0)) }
    }

    func testReplayWithConfigGivesTheFramesSent() throws {
        let (path, _) = try writeCapture()
        let config = try SessionConfig.parse(yaml: yaml, file: "t")
        let result = try ReplaySession(options: ReplayOptions(capturePath: path, outputDirectory: dir + "/out", config: config)).run()
        XCTAssertNil(result.captureError)
        XCTAssertEqual(result.datagrams, 10 * 4)
        let f = lines("pole")
        XCTAssertEqual(f.count, 10)
        for (k, frame) in f.enumerated() {
            let png = try PNGFile.read(path: dir + "/out/pole/" + (frame["file"]?.stringValue ?? ""))
            XCTAssertEqual(png, TestPattern.counter.render(frame: k, width: 170, height: 3, format: .rgb), "frame \(k)")
            XCTAssertEqual(frame["sync"]?.boolValue, k > 0, "frame \(k): ArtSync holds data from the first sync on")
            // Capture time is the clock: frames are 1/30 s apart.
            XCTAssertEqual(frame["time"].flatMap { if case .double(let d) = $0 { return d } else { return $0.intValue.map(Double.init) } } ?? -1,
                           Double(k) / 30, accuracy: 0.002)
        }
        XCTAssertNotNil(JSONValue.parse(FileText.read(dir + "/out/pole/recording.json") ?? ""))
    }

    /// `SendContent.sequence`: the lead pictures one a frame, then the pattern from its frame 0.
    func testASequenceSendsItsLeadThenThePattern() throws {
        let config = try SessionConfig.parse(yaml: yaml, file: "t")
        let map = try config.controllers[0].channelMap()
        var red = Canvas(width: 170, height: 3, format: .rgb), blue = red
        for o in stride(from: 0, to: red.bytes.count, by: 3) { red.bytes[o] = 200; blue.bytes[o + 2] = 150 }
        let path = dir + "/sequence.pcap"
        let sent = try SendSession(options: SendOptions(plugin: .artNet, host: "127.0.0.1", port: 6454, map: map,
                                                        content: .sequence(lead: [red, blue], then: .counter), fps: 30, frames: 5,
                                                        seconds: nil, sender: SenderSettings(map: map, sync: true), pcapPath: path)).runToPcap(path: path)
        XCTAssertEqual(sent.frames, 5)
        _ = try ReplaySession(options: ReplayOptions(capturePath: path, outputDirectory: dir + "/out", config: config)).run()
        let expected = [red, blue] + (0..<3).map { TestPattern.counter.render(frame: $0, width: 170, height: 3, format: .rgb) }
        let f = lines("pole")
        XCTAssertEqual(f.count, 5)
        for (k, frame) in f.enumerated() where k < expected.count {
            XCTAssertEqual(try PNGFile.read(path: dir + "/out/pole/" + (frame["file"]?.stringValue ?? "")), expected[k], "frame \(k)")
        }
    }

    /// Without a config, each protocol and destination is a universe view: row u of a gray
    /// 512-pixel-wide panel holds universe (lowest + u)'s channel values.
    func testReplayWithoutConfigShowsTheUniverseView() throws {
        let (path, map) = try writeCapture(frames: 3)
        let result = try ReplaySession(options: ReplayOptions(capturePath: path, outputDirectory: dir + "/out", config: nil)).run()
        XCTAssertEqual(result.controllers.map(\.name), ["artnet-127.0.0.1-6454"])
        let f = lines("artnet-127.0.0.1-6454")
        XCTAssertEqual(f.count, 3)
        let last = try PNGFile.read(path: dir + "/out/artnet-127.0.0.1-6454/" + (f.last?["file"]?.stringValue ?? ""))
        XCTAssertEqual(last.width, 512)
        XCTAssertEqual(last.height, 3)
        XCTAssertEqual(last.format, .gray)
        let sent = TestPattern.counter.render(frame: 2, width: 170, height: 3, format: .rgb)
        var channels: [UInt8] = []
        for u in 0..<3 {
            map.extract(universe: u, from: sent, into: &channels)
            XCTAssertEqual(Array(last.bytes[(u * 512)..<(u * 512 + 510)]), channels, "universe \(u)")
        }
    }

    /// A capture cut inside a record: everything before it is recorded, and the error names the record.
    func testATruncatedCaptureKeepsWhatCameBefore() throws {
        let (path, _) = try writeCapture()
        let data = try XCTUnwrap(FileManager.default.contents(atPath: path))
        let cut = dir + "/cut.pcap"
        XCTAssertTrue(FileManager.default.createFile(atPath: cut, contents: data.prefix(data.count - 300)))
        let config = try SessionConfig.parse(yaml: yaml, file: "t")
        let result = try ReplaySession(options: ReplayOptions(capturePath: cut, outputDirectory: dir + "/out", config: config)).run()
        let error = try XCTUnwrap(result.captureError)
        XCTAssertTrue(error.contains("record"), error)
        XCTAssertGreaterThanOrEqual(lines("pole").count, 8)
    }

    /// Regression (found by the hostile-file test: one flipped byte in a timestamp): a capture
    /// whose clock jumps two years ahead replays at once, the frames after the jump included,
    /// instead of ticking the device models through every 10 ms of the gap.
    func testATimestampYearsAheadDoesNotTickThroughTheGap() throws {
        let (path, _) = try writeCapture()
        var data = [UInt8](try XCTUnwrap(FileManager.default.contents(atPath: path)))
        let jump: UInt32 = 2 * 365 * 86_400
        var offset = 24, record = 0
        while offset + 16 <= data.count {
            let incl = Int(data[offset + 8]) | Int(data[offset + 9]) << 8 | Int(data[offset + 10]) << 16 | Int(data[offset + 11]) << 24
            if record >= 5 * 4 {  // frames 5...9 (three ArtDmx and one ArtSync each)
                let sec = (UInt32(data[offset]) | UInt32(data[offset + 1]) << 8 | UInt32(data[offset + 2]) << 16 | UInt32(data[offset + 3]) << 24) &+ jump
                for k in 0..<4 { data[offset + k] = UInt8(truncatingIfNeeded: sec >> (8 * UInt32(k))) }
            }
            offset += 16 + incl
            record += 1
        }
        XCTAssertEqual(record, 40)
        let jumped = dir + "/jumped.pcap"
        XCTAssertTrue(FileManager.default.createFile(atPath: jumped, contents: Data(data)))
        let config = try SessionConfig.parse(yaml: yaml, file: "t")
        let result = try ReplaySession(options: ReplayOptions(capturePath: jumped, outputDirectory: dir + "/out", config: config)).run()
        XCTAssertNil(result.captureError)
        let times = lines("pole").compactMap { $0["time"].flatMap { if case .double(let d) = $0 { return d } else { return $0.intValue.map(Double.init) } } }
        // Ten frames; after four seconds without ArtSync the node shows data at once again
        // (Art-Net 4), so the first frame after the jump may come in two steps.
        XCTAssertEqual(times.prefix(5).count, 5)
        XCTAssertEqual(times[4], 4.0 / 30, accuracy: 0.01)
        XCTAssertTrue((10...11).contains(times.count), "\(times)")
        XCTAssertEqual(times.last ?? 0, Double(jump) + 9.0 / 30, accuracy: 0.01)
    }

    /// Golden frames from a replay: `--update-golden` writes the set, the same capture then
    /// matches it frame by frame, a changed golden frame is a mismatch with a diff image; with
    /// `distinct` matching a capture whose every frame is sent twice matches the set of the
    /// capture without repeats.
    func testReplayGoldenUpdateCompareAndDistinct() throws {
        let (path, _) = try writeCapture(frames: 6)
        let config = try SessionConfig.parse(yaml: yaml, file: "t")
        func replay(_ capture: String, out: String, match: GoldenMatch = .index, update: Bool = false) throws -> GoldenResult? {
            var o = ReplayOptions(capturePath: capture, outputDirectory: dir + "/" + out, config: config)
            o.expectDirectory = dir + "/golden"
            o.goldenMatch = match
            o.updateGolden = update
            return try ReplaySession(options: o).run().controllers.first?.golden
        }
        let written = try XCTUnwrap(try replay(path, out: "a", update: true))
        XCTAssertEqual(written.updated, 6)
        XCTAssertEqual(try PNGFile.read(path: dir + "/golden/frame-000003.png"), TestPattern.counter.render(frame: 2, width: 170, height: 3, format: .rgb))
        let same = try XCTUnwrap(try replay(path, out: "b"))
        XCTAssertEqual(same.compared, 6)
        XCTAssertEqual(same.matched, 6)
        XCTAssertTrue(same.passed)

        var changed = TestPattern.counter.render(frame: 3, width: 170, height: 3, format: .rgb)
        changed.bytes[0] = changed.bytes[0] &+ 100
        try PNGFile.write(changed, to: dir + "/golden/frame-000004.png")
        let differs = try XCTUnwrap(try replay(path, out: "c"))
        XCTAssertEqual(differs.mismatches.map(\.frame), [4])
        XCTAssertEqual(differs.mismatches.first?.diffFile, "diff-000004.png")
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/c/pole/diff-000004.png"))

    }

    /// `distinct` matching: pictures shown A A B B B C match the golden set A B C (three
    /// repeats skipped); by index the same frames differ from frame 2 on; a missing last
    /// picture is a golden frame never received.
    func testDistinctGoldenMatchingSkipsRepeats() throws {
        let pictures = (0..<3).map { TestPattern.counter.render(frame: $0, width: 16, height: 4, format: .rgb) }
        try FileManager.default.createDirectory(atPath: dir + "/golden", withIntermediateDirectories: true)
        for (k, p) in pictures.enumerated() { try PNGFile.write(p, to: dir + "/golden/" + FrameRecorder.fileName(frame: k + 1)) }
        func record(_ order: [Int], match: GoldenMatch, out: String) throws -> GoldenResult {
            let recorder = try FrameRecorder(directory: dir + "/" + out, options: RecordingOptions(png: .fast, skipIdentical: false, maxBacklog: nil),
                                             golden: GoldenOptions(directory: dir + "/golden", tolerance: 0, match: match))
            for (i, k) in order.enumerated() {
                recorder.record(FrameEvent(index: i + 1, time: Timestamp(nanoseconds: Int64(i) * 1_000_000), canvas: pictures[k], universes: [],
                                           sources: [], torn: false, synchronized: false), time: Double(i))
            }
            return recorder.finish()
        }
        let distinct = try record([0, 0, 1, 1, 1, 2], match: .distinct, out: "a")
        XCTAssertEqual(distinct.compared, 3)
        XCTAssertEqual(distinct.matched, 3)
        XCTAssertEqual(distinct.repeats, 3)
        XCTAssertTrue(distinct.passed)
        let byIndex = try record([0, 0, 1, 1, 1, 2], match: .index, out: "b")
        XCTAssertEqual(byIndex.mismatches.map(\.frame), [2, 3, 4, 5, 6])
        let short = try record([0, 1, 1], match: .distinct, out: "c")
        XCTAssertEqual(short.mismatches.map(\.frame), [3])
        XCTAssertEqual(short.mismatches.first?.reason, "golden frame was never received")
    }

    /// frames.jsonl lines are written directly, without building JSON values: the text must be
    /// exactly what the generic JSON writer makes of the same line.
    func testFrameLinesAreTheJSONOfTheirObject() {
        let event = FrameEvent(index: 7, time: .zero, canvas: Canvas(width: 1, height: 1, format: .gray), universes: [3, 1, 2],
                               sources: [FrameSource(address: "10.0.0.1", port: 5568, name: "Desk \"A\"\n", cid: "0a-b"),
                                         FrameSource(address: "::1", port: 6454)],
                               torn: true, synchronized: false)
        for (file, skipped, time) in [("frame-000007.png", nil, 1.25), (nil, "no-png", 0.000_000_4), (nil, "backlog", 12345.5)] as [(String?, String?, Double)] {
            var line = FrameRecorder.FrameLine(event, time: time, extras: [:])
            line.file = file
            line.skipped = skipped
            var direct = ""
            line.write(into: &direct)
            XCTAssertEqual(direct, JSONValue.object(line.object).compact)
            XCTAssertNotNil(JSONValue.parse(direct))
        }
        var withExtras = FrameRecorder.FrameLine(event, time: 2, extras: ["brightness": .int(128)])
        withExtras.file = "f.png"
        var text = ""
        withExtras.write(into: &text)
        XCTAssertEqual(JSONValue.parse(text)?["brightness"]?.intValue, 128)
    }
}
