import Foundation
import Glibc
import Logging
import PanelCore
import PanelDevice
import PanelImage
@testable import PanelSession
import PanelWire
import XCTest

/// OPC over real TCP on 127.0.0.1: two POSIX clients into one served controller, a client
/// reset mid-message, and `SendSession` over TCP; recorded PNGs compared pixel by pixel.
final class OPCEndToEndTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "panelsim-opc-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    let yaml = """
    controllers:
      - name: wall
        protocol: opc
        transport: { tcp: 127.0.0.1:0 }
        panel: { width: 6, height: 3, pixel: rgb }
        mapping: { layout: serpentine }
    """

    /// Starts serve; the session, its task and the bound port.
    func serve() async throws -> (ServeSession, Task<ServeResult, Error>, Int) {
        var options = ServeOptions()
        options.recordDirectory = dir + "/rec"
        options.recording = RecordingOptions(png: .fast, skipIdentical: false, maxBacklog: nil)
        options.readyFile = dir + "/ready.json"
        let session = ServeSession(config: try SessionConfig.parse(yaml: yaml, file: "test"), options: options, logger: Logger(label: "test"))
        let task = Task { try await session.run() }
        for _ in 0..<500 {
            if let text = FileText.read(dir + "/ready.json"), let j = JSONValue.parse(text), let e = j["listening"]?.arrayValue?.first,
               let port = e["port"]?.intValue {
                XCTAssertEqual(e["transport"]?.stringValue, "tcp")
                return (session, task, port)
            }
            try await Task.sleep(nanoseconds: 10_000_000)
        }
        session.stop()
        _ = try? await task.value
        throw XCTSkip("serve did not become ready")
    }

    /// A blocking loopback TCP client.
    final class Client {
        let fd: Int32
        init(port: Int) throws {
            fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET)
            a.sin_port = in_port_t(UInt16(port).bigEndian)
            a.sin_addr.s_addr = inet_addr("127.0.0.1")
            let r = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            guard r == 0 else { Glibc.close(fd); throw XCTSkip("cannot connect to 127.0.0.1:\(port)") }
        }
        /// A client on a socket connected elsewhere.
        init(fd: Int32) { self.fd = fd }
        var localPort: UInt16 {
            var a = sockaddr_in()
            var len = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
            return UInt16(bigEndian: a.sin_port)
        }
        func send(_ bytes: [UInt8]) {
            var sent = 0
            while sent < bytes.count {
                let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress.map { $0 + sent }, bytes.count - sent, 0) }
                guard n > 0 else { return }
                sent += n
            }
        }
        func close() { Glibc.close(fd) }
        /// Closes with a reset (SO_LINGER 0) instead of a FIN.
        func reset() {
            var l = linger(l_onoff: 1, l_linger: 0)
            setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, socklen_t(MemoryLayout<linger>.size))
            Glibc.close(fd)
        }
    }

    func map() throws -> ChannelMap {
        try ChannelMap(width: 6, height: 3, format: .rgb, settings: MappingSettings(startUniverse: 0, channelsPerUniverse: 510, layout: .serpentine))
    }

    func pixels(_ seed: Int) -> [UInt8] { (0..<54).map { UInt8((seed * 29 + $0 * 3) & 0xFF) } }

    func message(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        data.withUnsafeBytes { OPCEncoder.setPixels(into: &out, channel: 0, pixels: $0) }
        return out
    }

    func picture(_ data: [UInt8], _ m: ChannelMap) -> Canvas {
        var c = Canvas(width: m.width, height: m.height, format: .rgb)
        for i in 0..<(m.width * m.height) {
            guard let p = m.position(chain: i) else { continue }
            for k in 0..<3 { c.bytes[(p.y * m.width + p.x) * 3 + k] = data[i * 3 + k] }
        }
        return c
    }

    /// Recorded pictures by source port, in order.
    func recorded() throws -> [UInt16: [Canvas]] {
        var out: [UInt16: [Canvas]] = [:]
        for line in (FileText.read(dir + "/rec/wall/frames.jsonl") ?? "").split(separator: "\n") {
            guard let f = JSONValue.parse(String(line)), let file = f["file"]?.stringValue,
                  let port = f["sources"]?.arrayValue?.first?["port"]?.intValue else { continue }
            out[UInt16(port), default: []].append(try PNGFile.read(path: dir + "/rec/wall/" + file))
        }
        return out
    }

    func testTwoClientsInterleavedAndAResetMidMessage() async throws {
        let (session, task, port) = try await serve()
        let m = try map()
        let a = try Client(port: port), b = try Client(port: port), c = try Client(port: port)
        for k in 0..<10 {
            let ma = message(pixels(k)), mb = message(pixels(100 + k))
            a.send(Array(ma[..<(k + 1)])); b.send(mb); a.send(Array(ma[(k + 1)...]))
            try await Task.sleep(nanoseconds: 5_000_000)
        }
        c.send(message(pixels(200)) + message(pixels(201)))
        try await Task.sleep(nanoseconds: 50_000_000)
        c.send(Array(message(pixels(202)).prefix(30)))  // cut mid-message, then reset
        try await Task.sleep(nanoseconds: 50_000_000)
        let (pa, pb, pc) = (a.localPort, b.localPort, c.localPort)
        c.reset()
        a.close(); b.close()
        try await Task.sleep(nanoseconds: 200_000_000)
        session.stop()
        let result = try await task.value
        let frames = try recorded()
        XCTAssertEqual(frames[pa], (0..<10).map { picture(pixels($0), m) })
        XCTAssertEqual(frames[pb], (0..<10).map { picture(pixels(100 + $0), m) })
        XCTAssertEqual(frames[pc], [picture(pixels(200), m), picture(pixels(201), m)])
        let counters = try XCTUnwrap(result.controllers.first?.counters)
        XCTAssertEqual(counters.frames, 22)
        XCTAssertEqual(counters.malformed["length-past-end"], 1, "the message cut by the reset")
        XCTAssertEqual(counters["tcp-connections-opened"], 3)
        XCTAssertEqual(counters["tcp-connections-closed"] + counters["tcp-connections-reset"], 3)
        XCTAssertEqual(counters["tcp-connections-reset"], 1)
        let doc = FileText.read(dir + "/rec/wall/recording.json").flatMap { JSONValue.parse($0) }
        XCTAssertEqual(doc?["counters"]?["events"]?["tcp-connections-opened"]?.intValue, 3)
    }

    func testSendSessionOverTCP() async throws {
        let (session, task, port) = try await serve()
        let m = try map()
        let sender = SendSession(options: SendOptions(plugin: .openPixelControl, host: "127.0.0.1", port: port, map: m,
                                                      content: .pattern(.movingBar), fps: 100, frames: 8, seconds: nil,
                                                      sender: SenderSettings(map: m)))
        let sent = try await sender.run()
        XCTAssertEqual(sent.frames, 8)
        XCTAssertEqual(sent.bytes, 8 * (4 + 54))
        try await Task.sleep(nanoseconds: 200_000_000)
        session.stop()
        _ = try await task.value
        let frames = try recorded().values.flatMap { $0 }
        XCTAssertEqual(frames, (0..<8).map { TestPattern.movingBar.render(frame: $0, width: 6, height: 3, format: .rgb) })
    }

    func testSendToAClosedPortIsAClearError() async throws {
        let m = try map()
        let sender = SendSession(options: SendOptions(plugin: .openPixelControl, host: "127.0.0.1", port: 1, map: m,
                                                      content: .pattern(.bars), fps: nil, frames: 1, seconds: nil, sender: SenderSettings(map: m)))
        do {
            _ = try await sender.run()
            XCTFail("connected to port 1")
        } catch {
            XCTAssertTrue("\(error)".contains("TCP 127.0.0.1:1: cannot connect: connection refused"), "\(error)")
        }
    }
}
