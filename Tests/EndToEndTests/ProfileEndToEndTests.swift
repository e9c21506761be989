import Foundation
import Glibc
import Logging
import PanelCore
import PanelDevice
import PanelImage
@testable import PanelSession
import PanelWire
import XCTest

/// Each quirk profile's behaviour through `serve` over real sockets on 127.0.0.1: packets in,
/// recorded PNGs and counters out.
final class ProfileEndToEndTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "panelsim-profiles-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: dir)
    }

    struct Running {
        let session: ServeSession
        let task: Task<ServeResult, Error>
        let port: Int
        let ready: JSONValue
        func finish() async throws -> ServeResult {
            try await Task.sleep(nanoseconds: 150_000_000)
            session.stop()
            return try await task.value
        }
    }

    /// Serves one controller named "c" and waits for its ready file.
    func serve(_ entry: String) async throws -> (Running, ControllerConfig) {
        let config = try SessionConfig.parse(yaml: "controllers:\n  - name: c\n    transport: { udp: 127.0.0.1:0 }\n" + entry, file: "test")
        var options = ServeOptions()
        options.recordDirectory = dir + "/rec"
        options.recording = RecordingOptions(png: .fast, skipIdentical: false, maxBacklog: nil)
        options.readyFile = dir + "/ready.json"
        let session = ServeSession(config: config, options: options, logger: Logger(label: "test"))
        let task = Task { try await session.run() }
        for _ in 0..<300 {
            if let text = FileText.read(dir + "/ready.json"), let j = JSONValue.parse(text),
               let first = j["listening"]?.arrayValue?.first, let port = first["port"]?.intValue {
                return (Running(session: session, task: task, port: port, ready: first), config.controllers[0])
            }
            try await Task.sleep(nanoseconds: 10_000_000)
        }
        session.stop()
        _ = try? await task.value
        throw XCTSkip("serve did not become ready")
    }

    func send(_ plugin: ProtocolPlugin, port: Int, map: ChannelMap, image: Canvas, frames: Int, sync: Bool) async throws {
        let s = SendSession(options: SendOptions(plugin: plugin, host: "127.0.0.1", port: port, map: map, content: .image(image),
                                                 fps: 50, frames: frames, seconds: nil, sender: SenderSettings(map: map, sync: sync)))
        _ = try await s.run()
    }

    func frames() -> [JSONValue] {
        (FileText.read(dir + "/rec/c/frames.jsonl") ?? "").split(separator: "\n").compactMap { JSONValue.parse(String($0)) }
    }

    func recorded(_ frame: JSONValue) throws -> Canvas {
        guard let file = frame["file"]?.stringValue else { throw XCTSkip("frame not written") }
        return try PNGFile.read(path: dir + "/rec/c/\(file)")
    }

    func recording() -> JSONValue? { JSONValue.parse(FileText.read(dir + "/rec/c/recording.json") ?? "") }

    func image(width: Int, height: Int, seed: UInt64) -> Canvas {
        var c = Canvas(width: width, height: height, format: .rgb)
        var x = seed
        for i in c.bytes.indices { x = x &* 6364136223846793005 &+ 1442695040888963407; c.bytes[i] = UInt8(truncatingIfNeeded: x >> 33) | 1 }
        return c
    }

    /// A UDP socket on 127.0.0.1 sending to `port`; `ask` waits up to 500 ms for answers.
    final class UDPClient {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        var to = sockaddr_in()
        init(port: Int) {
            to.sin_family = sa_family_t(AF_INET)
            to.sin_port = in_port_t(UInt16(truncatingIfNeeded: port).bigEndian)
            to.sin_addr.s_addr = inet_addr("127.0.0.1")
        }
        deinit { Glibc.close(fd) }
        func send(_ bytes: [UInt8]) {
            _ = bytes.withUnsafeBytes { b in
                withUnsafePointer(to: &to) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, b.baseAddress, b.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            }
        }
        func receiveAll() -> [[UInt8]] {
            var out: [[UInt8]] = []
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            while poll(&pfd, 1, out.isEmpty ? 500 : 100) > 0 {
                var buf = [UInt8](repeating: 0, count: 2048)
                let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                guard n > 0 else { break }
                out.append(Array(buf.prefix(n)))
            }
            return out
        }
    }

    // MARK: artnet-legacy-4port

    func testLegacyNodeShowsFourUniversesAndAnswersWithOnePollReply() async throws {
        let (running, config) = try await serve("    protocol: artnet\n    profile: artnet-legacy-4port\n    panel: { width: 170, height: 6 }\n")
        XCTAssertEqual(running.ready["profile"]?.stringValue, "artnet-legacy-4port")
        let map = try config.channelMap()
        XCTAssertEqual(map.universeCount, 6)
        let picture = image(width: 170, height: 6, seed: 4)
        try await send(.artNet, port: running.port, map: map, image: picture, frames: 2, sync: false)
        let client = UDPClient(port: running.port)
        var poll: [UInt8] = []
        ArtNetEncoder.poll(into: &poll, ArtPoll(flags: 0x02, diagPriority: 0x10))
        client.send(poll)
        let replies = client.receiveAll()
        let result = try await running.finish()

        XCTAssertEqual(replies.count, 1, "one ArtPollReply")
        if let r = replies.first, r.count > 193 {
            XCTAssertEqual(Array(r[172...173]), [0, 4], "NumPorts 4")
            XCTAssertEqual(Array(r[190...193]), [0, 1, 2, 3])
        }
        // Rows 0-3 (universes 0-3) as sent; rows 4 and 5 black.
        var expected = picture
        for i in (170 * 4 * 3)..<expected.bytes.count { expected.bytes[i] = 0 }
        let f = frames()
        XCTAssertGreaterThanOrEqual(f.count, 1)
        for frame in f {
            XCTAssertEqual(frame["universes"], .array([.int(0), .int(1), .int(2), .int(3)]))
            XCTAssertTrue(try recorded(frame) == expected, "frame \(frame["index"]?.intValue ?? 0) differs")
        }
        XCTAssertEqual(result.controllers.first?.counters.events["universe-not-served"], 4, "universes 4 and 5, two frames")
        XCTAssertEqual(recording()?["controller"]?["profile"]?.stringValue, "artnet-legacy-4port")
        XCTAssertEqual(recording()?["controller"]?["options"]?["max-ports"]?.stringValue, "4")
    }

    // MARK: artnet-needs-sync

    func testNodeNeedingSyncShowsNothingWithoutArtSyncThenTheFrame() async throws {
        let (running, config) = try await serve("    protocol: artnet\n    profile: artnet-needs-sync\n    panel: { width: 170, height: 2 }\n")
        let map = try config.channelMap()
        let picture = image(width: 170, height: 2, seed: 5)
        // Three frames of ArtDmx without ArtSync (sequence 0: sequencing off, so the synchronised
        // sender below starts afresh).
        let client = UDPClient(port: running.port)
        var channels: [UInt8] = []
        var packet: [UInt8] = []
        for _ in 0..<3 {
            for u in map.universes {
                map.extract(universe: u, from: picture, into: &channels)
                channels.withUnsafeBytes { ArtNetEncoder.dmx(into: &packet, sequence: 0, portAddress: UInt16(u), data: $0) }
                client.send(packet)
            }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        try await Task.sleep(nanoseconds: 200_000_000)
        XCTAssertEqual(frames().count, 0, "no frame without ArtSync")
        try await send(.artNet, port: running.port, map: map, image: picture, frames: 2, sync: true)
        let result = try await running.finish()
        let f = frames()
        XCTAssertEqual(f.count, 2, "one frame per ArtSync")
        for frame in f {
            XCTAssertTrue(try recorded(frame) == picture, "frame \(frame["index"]?.intValue ?? 0) differs")
            XCTAssertEqual(frame["torn"], .bool(false))
        }
        XCTAssertEqual(result.controllers.first?.counters.events["artdmx-without-sync"], 8, "3 frames of 2 universes, and the first synchronised one, before any ArtSync")
        XCTAssertEqual(result.controllers.first?.counters.events["artsync"], 2)
    }

    // MARK: wled

    func testWLEDShowsA512ChannelSenderShifted() async throws {
        let (running, config) = try await serve("    protocol: sacn\n    profile: wled\n    panel: { width: 200, height: 1 }\n")
        let wledMap = try config.channelMap()
        XCTAssertEqual(wledMap.settings.channelsPerUniverse, 510)
        let picture = image(width: 200, height: 1, seed: 6)
        // A sender packing 512 channels to a universe: pixel 170 is split between universes 1 and 2.
        let client = UDPClient(port: running.port)
        var packet: [UInt8] = []
        for seq in 1...2 {
            for (u, range) in [(UInt16(1), 0..<512), (UInt16(2), 512..<600)] {
                picture.bytes[range].withUnsafeBytes {
                    E131Encoder.data(into: &packet, cid: cidA, sourceName: "packer", priority: 100, syncAddress: 0, sequence: UInt8(seq),
                                     options: [], universe: u, data: $0)
                }
                client.send(packet)
            }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        _ = try await running.finish()
        // WLED reads universe 2 from its first slot as pixel 170: the sender's pixel 170 B, pixel 171 R, G.
        let p = picture.bytes
        var expected = Array(p[0..<510])
        let second = Array(p[512...])  // universe 2 of the 512-channel packing: 88 channels
        expected += second
        expected += [UInt8](repeating: 0, count: 600 - expected.count)
        XCTAssertEqual(Array(expected[510..<513]), [p[512], p[513], p[514]])
        let f = frames()
        XCTAssertGreaterThanOrEqual(f.count, 1)
        for frame in f {
            let got = try recorded(frame)
            XCTAssertTrue(got.bytes == expected, "frame \(frame["index"]?.intValue ?? 0): pixel 170 is \(Array(got.bytes[510..<513]))")
        }
    }

    // MARK: sacn-preview-priority

    func testPreviewIgnoredAndPerAddressPriorityDecidesEachSlot() async throws {
        let (running, _) = try await serve("    protocol: sacn\n    profile: sacn-preview-priority\n    panel: { width: 2, height: 1 }\n")
        let client = UDPClient(port: running.port)
        func packet(_ data: [UInt8], cid: CID, seq: UInt8, priority: UInt8 = 100, options: E131Options = [], startCode: UInt8 = 0) -> [UInt8] {
            var out: [UInt8] = []
            data.withUnsafeBytes {
                E131Encoder.data(into: &out, cid: cid, sourceName: cid == cidA ? "A" : "B", priority: priority, syncAddress: 0, sequence: seq,
                                 options: options, universe: 1, startCode: startCode, data: $0)
            }
            return out
        }
        client.send(packet([255, 255, 255, 255, 255, 255], cid: cidA, seq: 1, options: .preview))
        client.send(packet([200, 200, 200, 0, 0, 0], cid: cidA, seq: 2, startCode: 0xDD))
        client.send(packet([10, 20, 30, 40, 50, 60], cid: cidA, seq: 3))
        try await Task.sleep(nanoseconds: 50_000_000)
        client.send(packet([70, 80, 90, 100, 110, 120], cid: cidB, seq: 1, priority: 150))
        let result = try await running.finish()
        let f = frames()
        XCTAssertEqual(f.count, 2)
        if f.count == 2 {
            XCTAssertEqual(try recorded(f[0]).bytes, [10, 20, 30, 0, 0, 0], "A drives pixel 0 only; nobody drives pixel 1")
            XCTAssertEqual(try recorded(f[1]).bytes, [10, 20, 30, 100, 110, 120], "A's 200 beats B's 150 on pixel 0; B drives pixel 1")
        }
        let events = result.controllers.first?.counters.events ?? [:]
        XCTAssertEqual(events["preview-ignored"], 1)
        XCTAssertEqual(events["per-address-priority"], 1)
    }

    let cidA = CID(high: 0xAAAA_0000_0000_0000, low: 1)
    let cidB = CID(high: 0xBBBB_0000_0000_0000, low: 2)
}
