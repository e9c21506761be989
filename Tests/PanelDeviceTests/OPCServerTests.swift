import PanelCore
import PanelWire
import XCTest

@testable import PanelDevice

/// The OPC device model: chain order, short messages, channels, per-client framing, counters.
final class OPCServerTests: XCTestCase {
    let a = PacketSource(address: "127.0.0.1", port: 40001)
    let b = PacketSource(address: "127.0.0.1", port: 40002)

    func map(_ w: Int, _ h: Int, layout: ChainLayout = .rows) throws -> ChannelMap {
        try ChannelMap(width: w, height: h, format: .rgb, settings: MappingSettings(startUniverse: 0, channelsPerUniverse: 510, layout: layout))
    }

    func message(channel: UInt8 = 0, command: UInt8 = 0, _ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        data.withUnsafeBytes { OPCEncoder.message(into: &out, channel: channel, command: command, data: $0) }
        return out
    }

    func pixels(_ n: Int, seed: Int) -> [UInt8] { (0..<(n * 3)).map { UInt8((seed * 7 + $0) & 0xFF) } }

    /// The picture `data` makes, laid out along the chain of `map`.
    func expected(_ data: [UInt8], on map: ChannelMap, over base: Canvas? = nil) -> Canvas {
        var c = base ?? Canvas(width: map.width, height: map.height, format: .rgb)
        for i in 0..<min(data.count / 3, map.width * map.height) {
            guard let p = map.position(chain: i) else { continue }
            for k in 0..<3 { c.bytes[(p.y * map.width + p.x) * 3 + k] = data[i * 3 + k] }
        }
        return c
    }

    func testEachMessageIsAFrameInChainOrder() throws {
        let m = try map(4, 3, layout: .serpentine)
        let server = OPCServer(name: "t", map: m)
        let d = pixels(12, seed: 1)
        server.feed(message(d), from: a, at: ms(1))
        let frames = server.frames()
        XCTAssertEqual(frames.count, 1)
        XCTAssertEqual(frames.first?.canvas, expected(d, on: m))
        XCTAssertEqual(frames.first?.sources, [FrameSource(a)])
        XCTAssertEqual(server.counters.packets, 1)
        XCTAssertEqual(server.counters.bytes, 4 + 36)
    }

    func testShortMessageUpdatesOnlyItsPixels() throws {
        let m = try map(4, 2)
        let server = OPCServer(name: "t", map: m)
        let full = pixels(8, seed: 3)
        server.feed(message(full), from: a, at: ms(1))
        let short: [UInt8] = [9, 9, 9, 8, 8, 8, 7]  // two pixels and a partial third
        server.feed(message(short), from: a, at: ms(2))
        let frames = server.frames()
        XCTAssertEqual(frames.count, 2)
        XCTAssertEqual(frames.last?.canvas, expected(Array(short.prefix(6)), on: m, over: expected(full, on: m)))
        XCTAssertEqual(server.counters.violations["opc-partial-pixel"], 1)
        XCTAssertEqual(server.counters["short-messages"], 1)
    }

    func testTwoClientsInterleavedAndSplitIntoOneModel() throws {
        let m = try map(5, 2)
        let server = OPCServer(name: "t", map: m)
        let fromA = (0..<4).map { message(pixels(10, seed: $0)) }
        let fromB = (0..<4).map { message(pixels(10, seed: 100 + $0)) }
        var framesA: [Canvas] = []
        var framesB: [Canvas] = []
        for k in 0..<4 {
            // Each message arrives in two reads, the halves of the clients interleaved.
            let (ma, mb) = (fromA[k], fromB[k])
            let cutA = 1 + k * 5, cutB = 3 + k * 7
            server.feed(Array(ma[..<cutA]), from: a, at: ms(Int64(k * 10)))
            server.feed(Array(mb[..<cutB]), from: b, at: ms(Int64(k * 10 + 1)))
            server.feed(Array(ma[cutA...]), from: a, at: ms(Int64(k * 10 + 2)))
            server.feed(Array(mb[cutB...]), from: b, at: ms(Int64(k * 10 + 3)))
            for f in server.frames() {
                if f.sources == [FrameSource(a)] { framesA.append(f.canvas) } else { framesB.append(f.canvas) }
            }
        }
        XCTAssertEqual(framesA, (0..<4).map { expected(pixels(10, seed: $0), on: m) })
        XCTAssertEqual(framesB, (0..<4).map { expected(pixels(10, seed: 100 + $0), on: m) })
        XCTAssertTrue(server.counters.malformed.isEmpty)
    }

    func testLongAnnouncementThenCloseIsCountedWithoutAFrame() throws {
        let server = OPCServer(name: "t", map: try map(4, 1))
        server.feed([0x00, 0x00, 0xFF, 0xFF] + [UInt8](repeating: 1, count: 3000), from: a, at: ms(1))
        server.streamEnded(from: a, at: ms(2))
        XCTAssertTrue(server.frames().isEmpty)
        XCTAssertEqual(server.counters.malformed["length-past-end"], 1)
        XCTAssertEqual(server.malformedPackets.first?.offset, 3004)
        // The same address connecting again starts a fresh stream.
        server.feed(message(pixels(4, seed: 2)), from: a, at: ms(3))
        XCTAssertEqual(server.frames().count, 1)
    }

    func testChannelOptionSysexAndOtherCommands() throws {
        let server = try XCTUnwrap(ProtocolPlugin.openPixelControl.makeDevice(
            ControllerSettings(name: "t", map: try map(2, 1), options: ["channel": "3"])) as? OPCServer)
        server.feed(message(channel: 3, pixels(2, seed: 0)), from: a, at: ms(1))
        server.feed(message(channel: 0, pixels(2, seed: 1)), from: a, at: ms(2))
        server.feed(message(channel: 4, pixels(2, seed: 2)), from: a, at: ms(3))
        server.feed(message(command: 255, [0x00, 0x01, 0x02, 0x05]), from: a, at: ms(4))
        server.feed(message(command: 255, [0x12, 0x34]), from: a, at: ms(5))
        server.feed(message(command: 2, [1, 2, 3, 4]), from: a, at: ms(6))
        XCTAssertEqual(server.frames().count, 2)
        XCTAssertEqual(server.counters["other-channel"], 1)
        XCTAssertEqual(server.counters["sysex-0001"], 1)
        XCTAssertEqual(server.counters["sysex-1234"], 1)
        XCTAssertEqual(server.counters["command-2"], 1)
        XCTAssertThrowsError(try ProtocolPlugin.openPixelControl.makeDevice(ControllerSettings(name: "t", map: try map(2, 1), options: ["channel": "256"])))
    }

    func testSenderEncodesChainOrderTheModelDecodes() throws {
        let m = try map(3, 2, layout: .serpentine)
        let picture = Canvas(width: 3, height: 2, format: .rgb, bytes: (0..<18).map { UInt8($0 * 11) })
        var sender = OPCSender(settings: SenderSettings(map: m))
        var sent: [[UInt8]] = []
        try sender.encode(XCTUnwrap(picture)) { bytes, _ in sent.append(Array(bytes)) }
        XCTAssertEqual(sent.count, 1)
        XCTAssertEqual(Array(sent[0].prefix(4)), [0, 0, 0, 18])
        let server = OPCServer(name: "t", map: m)
        server.feed(sent[0], from: a, at: ms(1))
        XCTAssertEqual(server.frames().first?.canvas, picture)
    }

    /// Rows layout: the message is the canvas's first bytes, cut at 21,845 pixels.
    func testSenderSendsRowsAsTheyAreUpToOneMessage() throws {
        let m = try map(200, 120)
        let picture = try XCTUnwrap(Canvas(width: 200, height: 120, format: .rgb, bytes: (0..<72_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 9) }))
        var sender = OPCSender(settings: SenderSettings(map: m))
        var sent: [[UInt8]] = []
        sender.encode(picture) { bytes, _ in sent.append(Array(bytes)) }
        XCTAssertEqual(sent, [[0, 0, 0xFF, 0xFF] + picture.bytes.prefix(65535)])
    }
}
