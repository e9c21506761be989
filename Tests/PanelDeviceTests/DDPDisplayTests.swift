import Foundation
import PanelCore
import PanelWire
import XCTest

@testable import PanelDevice

/// The DDP display: PUSH frames, offsets, sequence, data types, queries, torn frames.
final class DDPDisplayTests: XCTestCase {
    let sender = PacketSource(address: "10.0.0.5", port: 50000)

    func display(width: Int = 4, height: Int = 2, format: PixelFormat = .rgb, layout: ChainLayout = .rows,
                 options: [String: String] = [:]) throws -> DeviceModel {
        let map = try ChannelMap(width: width, height: height, format: format,
                                 settings: MappingSettings(startUniverse: 0, channelsPerUniverse: format.defaultChannelsPerUniverse, layout: layout))
        return try ProtocolPlugin.ddp.makeDevice(ControllerSettings(name: "wall \"A\"", map: map, options: options))
    }

    func ddp(_ data: [UInt8], offset: UInt32 = 0, push: Bool = false, seq: UInt8 = 0, type: UInt8 = 0x0B,
             destination: UInt8 = 1, timecode: UInt32? = nil, flags: UInt8 = 0x40) -> [UInt8] {
        var out: [UInt8] = []
        let h = DDPHeader(flags: flags | (push ? 0x01 : 0), sequence: seq, dataType: type, destination: destination, offset: offset, timecode: timecode)
        data.withUnsafeBytes { DDPEncoder.packet(into: &out, h, data: $0) }
        return out
    }

    /// Two packets of a serpentine 4x2 panel; only the PUSH makes a frame, pixel-exact in chain order.
    func testPushFrameIsPixelExactInChainOrder() throws {
        let d = try display(layout: .serpentine)
        var pixels: [UInt8] = []
        for k in 0..<8 { pixels += [UInt8(k * 10), UInt8(k * 10 + 1), UInt8(k * 10 + 2)] }
        d.feed(ddp(Array(pixels[0..<12]), seq: 1), from: sender, at: ms(0))
        XCTAssertTrue(d.frames().isEmpty)
        d.feed(ddp(Array(pixels[12..<24]), offset: 12, push: true, seq: 2), from: sender, at: ms(1))
        let frames = d.frames()
        XCTAssertEqual(frames.count, 1)
        let f = try XCTUnwrap(frames.first)
        XCTAssertTrue(f.synchronized)
        XCTAssertFalse(f.torn)
        XCTAssertEqual(f.universes, [])
        XCTAssertEqual(f.sources, [FrameSource(sender)])
        // Chain 0...3 is row 0 left to right; chain 4...7 is row 1 right to left.
        for k in 0..<8 {
            let (x, y) = k < 4 ? (k, 0) : (7 - k, 1)
            XCTAssertEqual(f.canvas.pixel(x: x, y: y), [UInt8(k * 10), UInt8(k * 10 + 1), UInt8(k * 10 + 2)], "chain \(k)")
        }
        XCTAssertEqual(d.counters["push"], 1)
        XCTAssertEqual(d.counters["data-type.0x0B"], 2)
        XCTAssertEqual(d.counters["sequence-gap"], 0)
    }

    /// python-led-ddp's shape (0x0D, 1440 + 1440 + 120) into a 1000-pixel panel.
    func testPythonLedDDPFrame() throws {
        let d = try display(width: 100, height: 10)
        let frame = (0..<3000).map { UInt8(truncatingIfNeeded: $0 * 13 + 1) }
        for (i, (offset, n)) in [(0, 1440), (1440, 1440), (2880, 120)].enumerated() {
            d.feed(ddp(Array(frame[offset..<(offset + n)]), offset: UInt32(offset), push: i == 2, seq: UInt8(i + 1), type: 0x0D),
                   from: sender, at: ms(Int64(i)))
        }
        let frames = d.frames()
        XCTAssertEqual(frames.count, 1)
        XCTAssertEqual(frames.first?.canvas.bytes, frame)
        XCTAssertEqual(d.counters["data-type.0x0D"], 3)
        XCTAssertEqual(d.counters["data-type-unrecognised"], 3)
    }

    /// Offsets past the panel are counted, never written; a 4 GB offset costs nothing.
    func testOffsetsPastThePanel() throws {
        let d = try display()  // 24 bytes
        d.feed(ddp([UInt8](repeating: 9, count: 12), offset: 20, push: true), from: sender, at: ms(0))
        let f = try XCTUnwrap(d.frames().first)
        XCTAssertEqual(f.canvas.pixel(x: 2, y: 1), [0, 0, 9])
        XCTAssertEqual(f.canvas.pixel(x: 3, y: 1), [9, 9, 9])
        XCTAssertEqual(d.counters["offset-past-panel-bytes"], 8)
        d.feed(ddp([UInt8](repeating: 7, count: 1440), offset: 0xFFFF_FFF0, push: true), from: sender, at: ms(10))
        XCTAssertEqual(d.frames().first?.canvas, f.canvas)
        XCTAssertEqual(d.counters["offset-past-panel-bytes"], 8 + 1440)
        XCTAssertEqual(d.findings.filter { $0.kind == "offset-past-panel" }.count, 1)
    }

    func testSequenceGapsAndDuplicates() throws {
        let d = try display()
        for s: UInt8 in [1, 2, 5, 5, 6, 0, 7, 4] { d.feed(ddp([1, 2, 3], seq: s), from: sender, at: ms(0)) }
        XCTAssertEqual(d.counters["sequence-gap"], 1)
        XCTAssertEqual(d.counters["sequence-missing"], 2)
        XCTAssertEqual(d.counters["sequence-duplicate"], 1)
        XCTAssertEqual(d.counters["sequence-out-of-order"], 1)
        // 15 wraps to 1.
        let e = try display()
        for s: UInt8 in [14, 15, 1, 2] { e.feed(ddp([1], seq: s), from: sender, at: ms(0)) }
        XCTAssertEqual(e.counters["sequence-gap"], 0)
    }

    func testTimecodeAndXLightsSync() throws {
        let d = try display()
        d.feed(ddp([5, 6, 7], timecode: 0xABCD_0123), from: sender, at: ms(0))
        XCTAssertTrue(d.frames().isEmpty)
        d.feed(ddp([], push: true, seq: 3, type: 0x80), from: sender, at: ms(1))
        let f = try XCTUnwrap(d.frames().first)
        XCTAssertEqual(f.canvas.pixel(x: 0, y: 0), [5, 6, 7])
        XCTAssertTrue(f.synchronized)
        XCTAssertEqual(d.counters["timecode"], 1)
    }

    /// Data never pushed: a torn frame after the timeout (100 ms at least), not before.
    func testDataWithoutPushTearsAfterTimeout() throws {
        let d = try display()
        d.feed(ddp([1, 2, 3]), from: sender, at: ms(0))
        d.tick(at: ms(90))
        XCTAssertTrue(d.frames().isEmpty)
        d.tick(at: ms(150))
        let f = try XCTUnwrap(d.frames().first)
        XCTAssertTrue(f.torn)
        XCTAssertFalse(f.synchronized)
        XCTAssertEqual(f.canvas.pixel(x: 0, y: 0), [1, 2, 3])
        XCTAssertEqual(d.counters.torn, 1)
        d.tick(at: ms(400))
        XCTAssertTrue(d.frames().isEmpty)
    }

    func testFormatMismatchIsCountedAndReadInPanelFormat() throws {
        let d = try display()
        d.feed(ddp([1, 2, 3, 4], push: true, type: 0x1B), from: sender, at: ms(0))
        let f = try XCTUnwrap(d.frames().first)
        XCTAssertEqual(f.canvas.pixel(x: 0, y: 0), [1, 2, 3])
        XCTAssertEqual(f.canvas.pixel(x: 1, y: 0), [4, 0, 0])
        XCTAssertEqual(d.counters["data-type-format-mismatch"], 1)
    }

    /// Format checks follow each packet's data type, however the types alternate; the finding
    /// is made once.
    func testMixedDataTypesAreCountedPerPacket() throws {
        let d = try display()
        for type: UInt8 in [0x0B, 0x00, 0x1B, 0x1B, 0x0B, 0x00, 0x0D, 0x1B] {
            d.feed(ddp([1, 2, 3], push: true, type: type), from: sender, at: ms(0))
        }
        XCTAssertEqual(d.counters["data-type.0x0B"], 2)
        XCTAssertEqual(d.counters["data-type.0x1B"], 3)
        XCTAssertEqual(d.counters["data-type-format-mismatch"], 3)
        XCTAssertEqual(d.counters["data-type-unrecognised"], 3)
        XCTAssertEqual(d.findings.filter { $0.kind == "data-type" }.count, 1)
    }

    func testMalformedIsKept() throws {
        let d = try display()
        d.feed([0x41, 1, 0x0B, 1, 0, 0, 0, 0, 0, 10, 1], from: sender, at: ms(0))
        d.feed([0x41], from: sender, at: ms(1))
        XCTAssertEqual(d.counters.malformed, ["length-past-end": 1, "too-short": 1])
        XCTAssertEqual(d.malformedPackets.map(\.offset), [8, 1])
    }

    func testStrictDropsViolations() throws {
        let map = try ChannelMap(width: 4, height: 2, format: .rgb, settings: MappingSettings(startUniverse: 0, channelsPerUniverse: 510))
        let d = try ProtocolPlugin.ddp.makeDevice(ControllerSettings(name: "s", map: map, strict: true))
        d.feed(ddp([1, 2, 3], push: true, flags: 0x80), from: sender, at: ms(0))
        XCTAssertTrue(d.frames().isEmpty)
        XCTAssertEqual(d.counters.violations["ddp.version"], 1)
    }

    /// Packets repeating the same broken rules are tallied as a run: the counts stay per packet
    /// when the rules change, come back, and when counters are read in the middle of a run.
    func testRepeatedViolationsAreCountedPerPacket() throws {
        let d = try display()
        for _ in 0..<3 { d.feed(ddp([1, 2, 3], flags: 0x80), from: sender, at: ms(0)) }
        XCTAssertEqual(d.counters.violations, ["ddp.version": 3])
        d.feed(ddp([1, 2, 3], flags: 0x80), from: sender, at: ms(1))
        for _ in 0..<2 { d.feed(ddp([1, 2, 3], flags: 0x60), from: sender, at: ms(2)) }
        d.feed(ddp([1, 2, 3], flags: 0xA0), from: sender, at: ms(3))
        d.feed(ddp([1, 2, 3]), from: sender, at: ms(4))
        d.feed(ddp([1, 2, 3], flags: 0x80), from: sender, at: ms(5))
        XCTAssertEqual(d.counters.violations, ["ddp.version": 6, "ddp.reserved-flag": 3])
    }

    func reply(to destination: UInt8, _ d: DeviceModel) throws -> (DeviceReply, [String: Any]) {
        var q: [UInt8] = []
        DDPEncoder.query(into: &q, destination: destination, sequence: 4)
        let asker = PacketSource(address: "10.0.0.9", port: 41000)
        d.feed(q, from: asker, at: ms(0))
        let out = d.takeOutput()
        XCTAssertTrue(out.frames.isEmpty)
        let r = try XCTUnwrap(out.replies.first)
        XCTAssertEqual(out.replies.count, 1)
        XCTAssertEqual(r.destination, asker)
        let json: [String: Any] = try r.bytes.withUnsafeBytes { b in
            let p = try DDPDecoder.decode(b)
            XCTAssertEqual(p.header.flags, 0x45)
            XCTAssertEqual(p.header.sequence, 4)
            XCTAssertEqual(p.header.destination, destination)
            let object = try JSONSerialization.jsonObject(with: Data(p.data))
            return try XCTUnwrap(object as? [String: Any])
        }
        return (r, json)
    }

    func testStatusAndConfigQueries() throws {
        let d = try display(width: 170, height: 10)
        let status = try XCTUnwrap(try reply(to: 251, d).1["status"] as? [String: Any])
        XCTAssertEqual(status["name"] as? String, "wall \"A\"")
        XCTAssertEqual(status["pixels"] as? Int, 1700)
        XCTAssertEqual(status["format"] as? String, "rgb")
        XCTAssertEqual(status["man"] as? String, "PanelSim")
        let config = try XCTUnwrap(try reply(to: 250, d).1["config"] as? [String: Any])
        XCTAssertEqual(config["width"] as? Int, 170)
        XCTAssertEqual(config["height"] as? Int, 10)
        XCTAssertEqual(config["ip"] as? String, "127.0.0.1")
        XCTAssertEqual((config["ports"] as? [[String: Any]])?.first?["l"] as? Int, 1700)
        XCTAssertEqual(d.counters["status-reply-sent"], 1)
        XCTAssertEqual(d.counters["config-reply-sent"], 1)
    }

    func testRepliesOff() throws {
        let d = try display(options: ["reply-status": "off"])
        var q: [UInt8] = []
        DDPEncoder.query(into: &q, destination: 251)
        d.feed(q, from: sender, at: ms(0))
        XCTAssertTrue(d.takeOutput().replies.isEmpty)
        XCTAssertThrowsError(try display(options: ["reply-status": "maybe"]))
    }

    /// Random datagrams into a small display: no trap, and every packet counted.
    func testRandomInputNeverTraps() throws {
        let d = try display()
        var rng = SeededGenerator(seed: 42)
        for i in 0..<5000 {
            var b = ddp([UInt8](repeating: 1, count: Int.random(in: 0...40, using: &rng)), offset: UInt32.random(in: 0...UInt32.max, using: &rng),
                        push: Bool.random(using: &rng), seq: UInt8.random(in: 0...15, using: &rng))
            if i % 2 == 0, !b.isEmpty { b[Int.random(in: 0..<b.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
            d.feed(b, from: sender, at: ms(Int64(i)))
            d.tick(at: ms(Int64(i)))
        }
        _ = d.takeOutput()
        XCTAssertEqual(d.counters.packets, 5000)
    }
}

/// The DDP sender: packet shape, and its frames round-trip through the display.
final class DDPSenderTests: XCTestCase {
    func testSenderPacketsAndRoundTrip() throws {
        let map = try ChannelMap(width: 170, height: 10, format: .rgb, settings: MappingSettings(startUniverse: 0, channelsPerUniverse: 510, layout: .serpentine))
        var s = ProtocolPlugin.ddp.makeSender(SenderSettings(map: map))
        let d = try ProtocolPlugin.ddp.makeDevice(ControllerSettings(name: "d", map: map))
        for k in 0..<6 {
            let canvas = TestPattern.allCases[k % TestPattern.allCases.count].render(frame: k, width: 170, height: 10, format: .rgb)
            var packets: [[UInt8]] = []
            s.encode(canvas) { b, _ in packets.append(Array(b)) }
            XCTAssertEqual(packets.map(\.count), [1450, 1450, 1450, 790])
            XCTAssertEqual(packets.map { $0[0] }, [0x40, 0x40, 0x40, 0x41])
            XCTAssertEqual(packets.map { $0[1] }, (0..<4).map { UInt8((k * 4 + $0) % 15 + 1) })
            XCTAssertEqual(packets.map { $0[2] }, [0x0B, 0x0B, 0x0B, 0x0B])
            XCTAssertEqual(packets.map { Array($0[4..<8]) }, [[0, 0, 0, 0], [0, 0, 0x05, 0xA0], [0, 0, 0x0B, 0x40], [0, 0, 0x10, 0xE0]])
            for p in packets { d.feed(p, from: PacketSource(address: "127.0.0.1", port: 1), at: ms(Int64(k * 40))) }
            XCTAssertEqual(d.frames().map(\.canvas), [canvas])
        }
        XCTAssertEqual(d.counters["sequence-gap"], 0)
        let undefined = DDPSender(settings: SenderSettings(map: map), dataType: DDP.DataType.undefined)
        XCTAssertEqual(undefined.dataType, 0x00)
    }
}
