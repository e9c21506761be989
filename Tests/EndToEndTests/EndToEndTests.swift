import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import PanelCore
import PanelDevice
import PanelImage
@testable import PanelSession
import PanelWire
import XCTest

/// The whole pipeline over real sockets on 127.0.0.1: `SendSession` → UDP → `ServeSession`
/// → device model → recorder → PNG, compared pixel by pixel.
final class EndToEndTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "panelsim-e2e-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// A serve session running in the background until `finish()`.
    final class Running {
        let session: ServeSession
        let task: Task<ServeResult, Error>
        let ports: [String: Int]
        init(session: ServeSession, task: Task<ServeResult, Error>, ports: [String: Int]) { self.session = session; self.task = task; self.ports = ports }
        func finish() async throws -> ServeResult {
            try await Task.sleep(nanoseconds: 150_000_000)
            session.stop()
            return try await task.value
        }
    }

    func serve(_ yaml: String, expect: String? = nil, tolerance: Int = 0) async throws -> Running {
        let config = try SessionConfig.parse(yaml: yaml, file: "test")
        var options = ServeOptions()
        options.recordDirectory = dir + "/rec"
        options.recording = RecordingOptions(png: .fast, skipIdentical: false, maxBacklog: nil)
        options.readyFile = dir + "/ready.json"
        options.expectDirectory = expect
        options.tolerance = tolerance
        let session = ServeSession(config: config, options: options, logger: Logger(label: "test"))
        let task = Task { try await session.run() }
        for _ in 0..<300 {
            if let text = FileText.read(dir + "/ready.json"), let j = JSONValue.parse(text), let list = j["listening"]?.arrayValue {
                var ports: [String: Int] = [:]
                for e in list { if let n = e["controller"]?.stringValue, let p = e["port"]?.intValue { ports[n] = p } }
                try? FileManager.default.removeItem(atPath: dir + "/ready.json")
                return Running(session: session, task: task, ports: ports)
            }
            try await Task.sleep(nanoseconds: 10_000_000)
        }
        session.stop()
        _ = try? await task.value
        throw XCTSkip("serve did not become ready")
    }

    func send(_ plugin: ProtocolPlugin, port: Int, map: ChannelMap, content: SendContent, frames: Int, sync: Bool, fps: Double = 100) async throws -> SendResult {
        let s = SendSession(options: SendOptions(plugin: plugin, host: "127.0.0.1", port: port, map: map, content: content,
                                                 fps: fps, frames: frames, seconds: nil, sender: SenderSettings(map: map, sync: sync)))
        return try await s.run()
    }

    func frames(_ controller: String) throws -> [JSONValue] {
        let text = FileText.read(dir + "/rec/\(controller)/frames.jsonl") ?? ""
        return text.split(separator: "\n").compactMap { JSONValue.parse(String($0)) }
    }

    func recorded(_ controller: String, _ frame: JSONValue) throws -> Canvas {
        guard let file = frame["file"]?.stringValue else { throw XCTSkip("frame not written") }
        return try PNGFile.read(path: dir + "/rec/\(controller)/\(file)")
    }

    func randomImage(width: Int, height: Int, seed: UInt64) -> Canvas {
        var c = Canvas(width: width, height: height, format: .rgb)
        var x = seed
        for i in c.bytes.indices { x = x &* 6364136223846793005 &+ 1442695040888963407; c.bytes[i] = UInt8(truncatingIfNeeded: x >> 33) }
        return c
    }

    /// send a PNG → serve records a pixel-identical PNG, for both protocols, with and without sync.
    func testImageArrivesPixelIdentical() async throws {
        let yaml = """
        controllers:
          - { name: node, protocol: artnet, transport: { udp: 127.0.0.1:0 }, panel: { width: 170, height: 3, pixel: rgb }, mapping: { layout: serpentine } }
          - { name: recv, protocol: sacn, transport: { udp: 127.0.0.1:0 }, panel: { width: 100, height: 7, pixel: rgb, order: grb } }
        """
        let running = try await serve(yaml)
        let config = try SessionConfig.parse(yaml: yaml, file: "test")
        let imageA = randomImage(width: 170, height: 3, seed: 1)
        let imageB = randomImage(width: 100, height: 7, seed: 2)
        let path = dir + "/in.png"
        try PNGFile.write(imageA, to: path)
        let fromDisk = try PNGFile.read(path: path)
        _ = try await send(.artNet, port: running.ports["node"] ?? 0, map: try config.controllers[0].channelMap(), content: .image(fromDisk), frames: 2, sync: true)
        _ = try await send(.e131, port: running.ports["recv"] ?? 0, map: try config.controllers[1].channelMap(), content: .image(imageB), frames: 2, sync: false)
        let result = try await running.finish()
        XCTAssertEqual(result.controllers.map(\.counters.torn), [0, 0])

        for (name, image) in [("node", imageA), ("recv", imageB)] {
            let f = try frames(name)
            XCTAssertGreaterThanOrEqual(f.count, 1, name)
            for frame in f {
                let got = try recorded(name, frame)
                XCTAssertEqual(got, image, "\(name) frame \(frame["index"]?.intValue ?? 0) differs")
            }
        }
        let recording = JSONValue.parse(FileText.read(dir + "/rec/node/recording.json") ?? "")
        XCTAssertEqual(recording?["schema"]?.intValue, 1)
        XCTAssertEqual(recording?["counters"]?["frames"]?.intValue, try frames("node").count)
        XCTAssertEqual(recording?["counters"]?["events"]?["artsync"]?.intValue, 2)
    }

    /// The counter pattern sent at 60 fps: every recorded frame is exactly one sent frame,
    /// in order, with none missing (checked through the stamped frame number).
    func testEveryFrameArrivesInOrder() async throws {
        let yaml = "controllers:\n  - { name: p, protocol: sacn, transport: { udp: 127.0.0.1:0 }, panel: { width: 60, height: 30, pixel: rgb } }\n"
        let running = try await serve(yaml)
        let map = try SessionConfig.parse(yaml: yaml, file: "t").controllers[0].channelMap()
        _ = try await send(.e131, port: running.ports["p"] ?? 0, map: map, content: .pattern(.counter), frames: 90, sync: true, fps: 60)
        _ = try await running.finish()
        let f = try frames("p")
        XCTAssertEqual(f.count, 90)
        for (i, frame) in f.enumerated() {
            let got = try recorded("p", frame)
            XCTAssertEqual(FrameStamp.read(got), UInt32(i))
            XCTAssertEqual(got, TestPattern.counter.render(frame: i, width: 60, height: 30, format: .rgb))
            // The first frame arrives before the first sync packet, so it is shown at once.
            XCTAssertEqual(frame["sync"]?.boolValue, i > 0)
        }
    }

    /// IPv6 loopback works end to end, and sources are recorded with their IPv6 address.
    func testIPv6Loopback() async throws {
        let yaml = "controllers:\n  - { name: v6, protocol: sacn, transport: { udp: \"[::1]:0\" }, panel: { width: 170, height: 2 } }\n"
        let running = try await serve(yaml)
        let map = try SessionConfig.parse(yaml: yaml, file: "t").controllers[0].channelMap()
        let image = randomImage(width: 170, height: 2, seed: 6)
        let s = SendSession(options: SendOptions(plugin: .e131, host: "::1", port: running.ports["v6"] ?? 0, map: map, content: .image(image),
                                                 fps: 50, frames: 2, seconds: nil, sender: SenderSettings(map: map), bindHost: "::1"))
        _ = try await s.run()
        _ = try await running.finish()
        let f = try frames("v6")
        XCTAssertEqual(f.count, 2)
        XCTAssertEqual(try recorded("v6", f[0]), image)
        XCTAssertEqual(f[0]["sources"]?.arrayValue?.first?["address"]?.stringValue, "::1")
    }

    /// Two Art-Net controllers on one port, told apart by universe.
    func testSharedPortDispatchesByUniverse() async throws {
        // A fixed free port: find one, then let both controllers share it.
        let probe = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let port = probe.localAddress?.port ?? 0
        try await probe.close().get()
        let yaml = """
        controllers:
          - { name: left, protocol: artnet, transport: { udp: 127.0.0.1:\(port) }, panel: { width: 170, height: 2 }, mapping: { start-universe: 0 } }
          - { name: right, protocol: artnet, transport: { udp: 127.0.0.1:\(port) }, panel: { width: 170, height: 2 }, mapping: { start-universe: 2 } }
        """
        let running = try await serve(yaml)
        XCTAssertEqual(running.ports["left"], port)
        XCTAssertEqual(running.ports["right"], port)
        let config = try SessionConfig.parse(yaml: yaml, file: "t")
        let left = randomImage(width: 170, height: 2, seed: 7), right = randomImage(width: 170, height: 2, seed: 8)
        _ = try await send(.artNet, port: port, map: try config.controllers[0].channelMap(), content: .image(left), frames: 1, sync: false)
        _ = try await send(.artNet, port: port, map: try config.controllers[1].channelMap(), content: .image(right), frames: 1, sync: false)
        _ = try await running.finish()
        XCTAssertEqual(try recorded("left", try frames("left")[0]), left)
        XCTAssertEqual(try recorded("right", try frames("right")[0]), right)
        XCTAssertEqual(try frames("left")[0]["universes"], .array([.int(0), .int(1)]))
        XCTAssertEqual(try frames("right")[0]["universes"], .array([.int(2), .int(3)]))
    }

    /// ArtPoll over a real socket is answered with one ArtPollReply per port, named as configured.
    func testArtPollIsAnsweredOverTheNetwork() async throws {
        let yaml = "controllers:\n  - { name: pole, protocol: artnet, transport: { udp: 127.0.0.1:0 }, panel: { width: 170, height: 3 }, options: { short-name: Tugu, long-name: \"Videotron Tugu\" } }\n"
        let running = try await serve(yaml)
        let replies = NIOLockedValueBox<[[UInt8]]>([])
        let channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { ch in ch.eventLoop.makeCompletedFuture { try ch.pipeline.syncOperations.addHandler(Collect(replies)) } }
            .bind(host: "127.0.0.1", port: 0).get()
        var poll: [UInt8] = []
        ArtNetEncoder.poll(into: &poll, ArtPoll())
        var buf = channel.allocator.buffer(capacity: poll.count)
        buf.writeBytes(poll)
        try await channel.writeAndFlush(AddressedEnvelope(remoteAddress: try SocketAddress(ipAddress: "127.0.0.1", port: running.ports["pole"] ?? 0), data: buf)).get()
        try await Task.sleep(nanoseconds: 300_000_000)
        try await channel.close().get()
        _ = try await running.finish()
        let decoded = replies.withLockedValue { $0 }.compactMap { bytes -> ArtPollReply? in
            bytes.withUnsafeBytes { b in if case .pollReply(let r)? = try? ArtNetDecoder.decode(b) { return r } else { return nil } }
        }
        XCTAssertEqual(decoded.count, 3)
        XCTAssertEqual(decoded.map(\.bindIndex).sorted(), [1, 2, 3])
        XCTAssertEqual(Set(decoded.map(\.shortName)), ["Tugu"])
        XCTAssertEqual(Set(decoded.map(\.longName)), ["Videotron Tugu"])
        XCTAssertEqual(decoded.map { $0.outputPortAddress(0) }.sorted(), [0, 1, 2])
    }

    /// Two nodes on one address answer one ArtPoll with distinct BindIndexes, and an
    /// ArtAddress re-addresses only the port whose BindIndex it names.
    func testSharedPortNodesHaveDistinctBindIndexes() async throws {
        let probe = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let port = probe.localAddress?.port ?? 0
        try await probe.close().get()
        let yaml = """
        controllers:
          - { name: a, protocol: artnet, transport: { udp: 127.0.0.1:\(port) }, panel: { width: 170, height: 2 } }
          - { name: b, protocol: artnet, transport: { udp: 127.0.0.1:\(port) }, panel: { width: 170, height: 2 }, mapping: { start-universe: 2 } }
        """
        let running = try await serve(yaml)
        let replies = NIOLockedValueBox<[[UInt8]]>([])
        let channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { ch in ch.eventLoop.makeCompletedFuture { try ch.pipeline.syncOperations.addHandler(Collect(replies)) } }
            .bind(host: "127.0.0.1", port: 0).get()
        let target = try SocketAddress(ipAddress: "127.0.0.1", port: port)
        func send(_ bytes: [UInt8]) async throws {
            var buf = channel.allocator.buffer(capacity: bytes.count)
            buf.writeBytes(bytes)
            try await channel.writeAndFlush(AddressedEnvelope(remoteAddress: target, data: buf)).get()
        }
        var packet: [UInt8] = []
        ArtNetEncoder.poll(into: &packet, ArtPoll())
        try await send(packet)
        try await Task.sleep(nanoseconds: 200_000_000)
        // Move BindIndex 3 (node b's first port, universe 2) to universe 9.
        var address = ArtAddress()
        address.bindIndex = 3
        address.swOut = [0x80 | 9, 0x7F, 0x7F, 0x7F]
        ArtNetEncoder.address(into: &packet, address)
        try await send(packet)
        try await Task.sleep(nanoseconds: 200_000_000)
        try await channel.close().get()
        _ = try await running.finish()
        let decoded = replies.withLockedValue { $0 }.compactMap { bytes -> ArtPollReply? in
            bytes.withUnsafeBytes { b in if case .pollReply(let r)? = try? ArtNetDecoder.decode(b) { return r } else { return nil } }
        }
        let polled = Array(decoded.prefix(4))
        XCTAssertEqual(polled.map(\.bindIndex).sorted(), [1, 2, 3, 4])
        XCTAssertEqual(polled.sorted { $0.bindIndex < $1.bindIndex }.map { $0.outputPortAddress(0) }, [0, 1, 2, 3])
        XCTAssertEqual(decoded.count, 5, "one reply to the ArtAddress, from the node that owns BindIndex 3")
        XCTAssertEqual(decoded.last?.bindIndex, 3)
        XCTAssertEqual(decoded.last?.outputPortAddress(0), 9)
    }

    final class Collect: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        let box: NIOLockedValueBox<[[UInt8]]>
        init(_ box: NIOLockedValueBox<[[UInt8]]>) { self.box = box }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let e = unwrapInboundIn(data)
            box.withLockedValue { $0.append(Array(e.data.readableBytesView)) }
        }
    }

    /// --expect: matching golden frames pass; a changed pixel fails with a diff image.
    func testGoldenComparison() async throws {
        let yaml = "controllers:\n  - { name: g, protocol: artnet, transport: { udp: 127.0.0.1:0 }, panel: { width: 20, height: 10 } }\n"
        let map = try SessionConfig.parse(yaml: yaml, file: "t").controllers[0].channelMap()
        let golden = dir + "/golden"
        try FileManager.default.createDirectory(atPath: golden, withIntermediateDirectories: true)
        for k in 0..<3 {
            try PNGFile.write(TestPattern.counter.render(frame: k, width: 20, height: 10, format: .rgb), to: golden + "/" + FrameRecorder.fileName(frame: k + 1))
        }
        var running = try await serve(yaml, expect: golden)
        _ = try await send(.artNet, port: running.ports["g"] ?? 0, map: map, content: .pattern(.counter), frames: 3, sync: true)
        var result = try await running.finish()
        XCTAssertFalse(result.goldenFailed, "\(result.controllers.first?.golden?.mismatches.map(\.reason) ?? [])")
        XCTAssertEqual(result.controllers.first?.golden?.matched, 3)

        // Change one pixel of golden frame 2: that frame, and only that one, fails.
        var changed = TestPattern.counter.render(frame: 1, width: 20, height: 10, format: .rgb)
        changed.setPixel(x: 19, y: 9, [255, 0, 255])
        try PNGFile.write(changed, to: golden + "/" + FrameRecorder.fileName(frame: 2))
        try FileManager.default.removeItem(atPath: dir + "/rec")
        running = try await serve(yaml, expect: golden)
        _ = try await send(.artNet, port: running.ports["g"] ?? 0, map: map, content: .pattern(.counter), frames: 3, sync: true)
        result = try await running.finish()
        XCTAssertTrue(result.goldenFailed)
        let mismatches = result.controllers.first?.golden?.mismatches ?? []
        XCTAssertEqual(mismatches.map(\.frame), [2])
        XCTAssertTrue(mismatches.first?.reason.contains("1 pixels differ") ?? false, "\(mismatches)")
        let diff = try PNGFile.read(path: dir + "/rec/g/" + (mismatches.first?.diffFile ?? "none"))
        XCTAssertEqual(diff.pixel(x: 19, y: 9), [255, 0, 0])
        XCTAssertNotEqual(diff.pixel(x: 0, y: 0), [255, 0, 0])
    }
}
