import Foundation
import Glibc
import Logging
import PanelCore
import PanelDevice
import PanelImage
@testable import PanelSession
import PanelWire
import XCTest

/// NovaStar over real TCP on 127.0.0.1: a client sets global brightness on every receiving
/// card, reads it back from each, and gets ACK 2 for a corrupted checksum; frames.jsonl
/// records the brightness.
final class NovaStarEndToEndTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "panelsim-novastar-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    let yaml = """
    controllers:
      - name: nova
        protocol: novastar
        transport: { tcp: 127.0.0.1:0 }
        panel: { width: 8, height: 2, pixel: rgb }
        options: { profile: baoerman, apply-brightness: true }
    """

    /// Starts serve on `yaml` (the test's config file is `dir/config.yaml`); returns the TCP
    /// port and, when the ready file lists one, the discovery port.
    func serve(_ yaml: String? = nil, state: String? = nil, record: String = "rec") async throws
        -> (ServeSession, Task<ServeResult, Error>, Int) {
        var options = ServeOptions()
        options.recordDirectory = dir + "/" + record
        options.recording = RecordingOptions(png: .fast, skipIdentical: false, maxBacklog: nil)
        options.readyFile = dir + "/ready.json"
        options.stateFile = state
        try? FileManager.default.removeItem(atPath: dir + "/ready.json")
        let config = try SessionConfig.parse(yaml: yaml ?? self.yaml, file: dir + "/config.yaml")
        let session = ServeSession(config: config, options: options, logger: Logger(label: "test"))
        let task = Task { try await session.run() }
        for _ in 0..<500 {
            if let text = FileText.read(dir + "/ready.json"), let j = JSONValue.parse(text),
               let e = j["listening"]?.arrayValue?.first(where: { $0["transport"]?.stringValue == "tcp" }), let port = e["port"]?.intValue {
                return (session, task, port)
            }
            try await Task.sleep(nanoseconds: 10_000_000)
        }
        session.stop()
        _ = try? await task.value
        throw EndToEndFailure("serve did not become ready within 5 s")
    }

    /// Reads one reply frame (waiting up to 2 s).
    func reply(_ c: OPCEndToEndTests.Client, _ framer: inout NovaStarFramer) throws -> NovaStarFrame {
        var buf = [UInt8](repeating: 0, count: 512)
        let deadline = Date().addingTimeInterval(2)
        while Date() < deadline {
            var pfd = pollfd(fd: c.fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 100) > 0 else { continue }
            let n = buf.withUnsafeMutableBytes { recv(c.fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { break }
            var got: [[UInt8]] = []
            buf.withUnsafeBytes { framer.push(UnsafeRawBufferPointer(rebasing: $0[0..<n]), frame: { got.append(Array($0)) }, dropped: { _ in }) }
            if let f = got.first {
                XCTAssertEqual(got.count, 1)
                return try f.withUnsafeBytes { b throws(WireError) in try NovaStarFrame.decode(b) }
            }
        }
        throw EndToEndFailure("no reply within 2 s")
    }

    func testBrightnessOverTCP() async throws {
        let (session, task, port) = try await serve()
        let c = try OPCEndToEndTests.Client(port: port)
        var framer = NovaStarFramer()
        c.send(NovaStarFrame.write(serial: 1, deviceType: 1, port: 0xFF, card: 0xFFFF, address: 0x0200_0001, data: [0x80]).encoded())
        let ack = try reply(c, &framer)
        XCTAssertEqual(ack.ack, NovaStar.Ack.ok)
        XCTAssertEqual(ack.serial, 1)
        XCTAssertEqual(ack.length, 0)
        for (i, (p, card)) in [(0, 0), (1, 0), (1, 1)].enumerated() {
            c.send(NovaStarFrame.read(serial: UInt8(2 + i), deviceType: 1, port: UInt8(p), card: UInt16(card), address: 0x0200_0001, length: 1).encoded())
            let r = try reply(c, &framer)
            XCTAssertEqual(r.ack, NovaStar.Ack.ok)
            XCTAssertEqual(r.serial, UInt8(2 + i))
            XCTAssertEqual(r.data, [0x80])
        }
        var bad = NovaStarFrame.read(serial: 9, deviceType: 1, address: 0x0200_0001, length: 1).encoded()
        bad[bad.count - 2] ^= 0x5A
        c.send(bad)
        let nak = try reply(c, &framer)
        XCTAssertEqual(nak.ack, NovaStar.Ack.requestChecksum)
        XCTAssertEqual(nak.serial, 9)
        c.close()
        try await Task.sleep(nanoseconds: 100_000_000)
        session.stop()
        _ = try await task.value
        let lines = try String(contentsOfFile: dir + "/rec/nova/frames.jsonl", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 2)  // the input at the first request, then brightness 0x80
        XCTAssertEqual(lines.last.flatMap { JSONValue.parse(String($0)) }?["brightness"]?.intValue, 0x80)
    }

    /// The port of a ready-file entry of `transport`.
    func readyPort(_ transport: String) -> Int? {
        guard let text = FileText.read(dir + "/ready.json"), let j = JSONValue.parse(text) else { return nil }
        return j["listening"]?.arrayValue?.first(where: { $0["transport"]?.stringValue == transport })?["port"]?.intValue
    }

    /// Waits up to 2 s for the server's answer to the client: the bytes, or the errno of the
    /// failed read (ECONNRESET for a reset), or 0 for a clean end of stream.
    func readOrError(_ c: OPCEndToEndTests.Client) -> (bytes: [UInt8], errno: Int32) {
        var buf = [UInt8](repeating: 0, count: 512)
        var pfd = pollfd(fd: c.fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, 2000) > 0 else { return ([], ETIMEDOUT) }
        let n = buf.withUnsafeMutableBytes { recv(c.fd, $0.baseAddress, $0.count, 0) }
        if n < 0 { return ([], errno) }
        return (Array(buf.prefix(n)), 0)
    }

    func brightnessRead(_ serial: UInt8) -> [UInt8] {
        NovaStarFrame.read(serial: serial, deviceType: 1, address: 0x0200_0001, length: 1).encoded()
    }

    /// As real cards do, a second TCP client is accepted and reset at once while the first
    /// holds the card; the first goes on, and once it leaves the next client gets in.
    func testSecondClientIsResetWhileTheFirstHoldsTheCard() async throws {
        let (session, task, port) = try await serve()
        let first = try OPCEndToEndTests.Client(port: port)
        var framer = NovaStarFramer()
        first.send(brightnessRead(1))
        XCTAssertEqual(try reply(first, &framer).ack, NovaStar.Ack.ok)
        // The reset reaches the second client in connect() or at its first read, as the scheduler has it.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = in_port_t(UInt16(port).bigEndian)
        a.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if connected == 0 {
            // The error is reported once: by the write if the reset came first, else by the read.
            let request = brightnessRead(2)
            let sent = request.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent < 0 {
                XCTAssertEqual(errno, ECONNRESET)
            } else {
                let refused = readOrError(OPCEndToEndTests.Client(fd: fd))
                XCTAssertEqual(refused.errno, ECONNRESET, "the second client should see a reset, got \(refused)")
            }
        } else {
            XCTAssertEqual(errno, ECONNRESET)
        }
        Glibc.close(fd)
        first.send(brightnessRead(3))
        XCTAssertEqual(try reply(first, &framer).serial, 3)
        first.close()
        try await Task.sleep(nanoseconds: 200_000_000)
        let third = try OPCEndToEndTests.Client(port: port)
        var framer3 = NovaStarFramer()
        third.send(brightnessRead(4))
        XCTAssertEqual(try reply(third, &framer3).serial, 4)
        third.close()
        try await Task.sleep(nanoseconds: 100_000_000)
        session.stop()
        let result = try await task.value
        XCTAssertEqual(result.controllers.first?.counters.events["tcp-connections-refused"], 1)
    }

    /// A client that closes and reconnects at once is let in, however the server orders the
    /// old connection's end and the new one's start.
    func testReconnectingAtOnceIsNotRefused() async throws {
        let (session, task, port) = try await serve()
        for i in 0..<20 {
            let c = try OPCEndToEndTests.Client(port: port)
            var framer = NovaStarFramer()
            c.send(brightnessRead(UInt8(i)))
            XCTAssertEqual(try reply(c, &framer).serial, UInt8(i))
            c.close()
        }
        session.stop()
        let result = try await task.value
        XCTAssertNil(result.controllers.first?.counters.events["tcp-connections-refused"])
        XCTAssertEqual(result.controllers.first?.counters.events["tcp-connections-opened"], 20)
    }

    /// With one-client: false two clients share the card.
    func testOneClientLockCanBeLifted() async throws {
        let (session, task, port) = try await serve(yaml.replacingOccurrences(of: "apply-brightness: true", with: "one-client: false"))
        let a = try OPCEndToEndTests.Client(port: port), b = try OPCEndToEndTests.Client(port: port)
        var fa = NovaStarFramer(), fb = NovaStarFramer()
        a.send(brightnessRead(1))
        b.send(brightnessRead(2))
        XCTAssertEqual(try reply(a, &fa).serial, 1)
        XCTAssertEqual(try reply(b, &fb).serial, 2)
        a.close(); b.close()
        session.stop()
        _ = try await task.value
    }

    /// "rqProMI:" on the discovery port is answered "rpProMI:" and the profile's identity,
    /// to the asking socket only; anything else gets no answer.
    func testDiscoveryIsAnswered() async throws {
        let (session, task, _) = try await serve()
        let port = try XCTUnwrap(readyPort("udp-discovery"))
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { Glibc.close(fd) }
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = in_port_t(UInt16(port).bigEndian)
        a.sin_addr.s_addr = inet_addr("127.0.0.1")
        func ask(_ text: String) -> String? {
            let bytes = Array(text.utf8)
            _ = bytes.withUnsafeBytes { b in
                withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, b.baseAddress, b.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 500) > 0 else { return nil }
            var buf = [UInt8](repeating: 0, count: 256)
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            return n > 0 ? String(decoding: buf.prefix(n), as: UTF8.self) : nil
        }
        XCTAssertNil(ask("hello"))
        XCTAssertEqual(ask("rqProMI:"), "rpProMI:App,0161")
        session.stop()
        let result = try await task.value
        XCTAssertEqual(result.controllers.first?.counters.events["discovery-requests"], 1)
        XCTAssertEqual(result.controllers.first?.counters.events["discovery-ignored"], 1)
    }

    /// With --state FILE, what was written survives a restart of serve.
    func testStateSurvivesARestart() async throws {
        let state = dir + "/state.json"
        do {
            let (session, task, port) = try await serve(state: state)
            let c = try OPCEndToEndTests.Client(port: port)
            var framer = NovaStarFramer()
            c.send(NovaStarFrame.write(serial: 1, deviceType: 1, port: 1, card: 1, address: 0x0200_0001, data: [0x40]).encoded())
            XCTAssertEqual(try reply(c, &framer).ack, NovaStar.Ack.ok)
            c.close()
            session.stop()
            _ = try await task.value
        }
        let (session, task, port) = try await serve(state: state, record: "rec2")
        let c = try OPCEndToEndTests.Client(port: port)
        var framer = NovaStarFramer()
        c.send(NovaStarFrame.read(serial: 2, deviceType: 1, port: 1, card: 1, address: 0x0200_0001, length: 1).encoded())
        XCTAssertEqual(try reply(c, &framer).data, [0x40])
        c.send(NovaStarFrame.read(serial: 3, deviceType: 1, port: 0, card: 0, address: 0x0200_0001, length: 1).encoded())
        XCTAssertEqual(try reply(c, &framer).data, [0xFF])
        c.close()
        session.stop()
        _ = try await task.value
        try FileText.write("{\"schema\": 1, \"controllers\": {\"nova\": {\"protocol\": \"novastar\", \"blocks\": {\"receiving-card/7/0@0x02000000\": \"00\"}}}}", to: state)
        let broken = ServeSession(config: try SessionConfig.parse(yaml: yaml, file: "t"),
                                  options: { var o = ServeOptions(); o.stateFile = state; return o }(), logger: Logger(label: "test"))
        do {
            _ = try await broken.run()
            XCTFail("a state block for an absent card must be refused")
        } catch let e as ConfigError {
            XCTAssertTrue(e.description.contains("receiving-card/7/0@0x02000000"), e.description)
        }
    }

    /// Switching input switches the picture: input dvi shows the PNG the config names for it,
    /// pixel for pixel; the other inputs show the pattern.
    func testSwitchingInputShowsThatInputsPicture() async throws {
        var image = Canvas(width: 8, height: 2, format: .rgb)
        for i in 0..<image.bytes.count { image.bytes[i] = UInt8((i * 37) & 0xFF) }
        try PNGFile.write(image, to: dir + "/dvi.png")
        let (session, task, port) = try await serve(yaml.replacingOccurrences(of: "apply-brightness: true", with: "input-dvi: dvi.png, input-pattern: gradient"))
        let c = try OPCEndToEndTests.Client(port: port)
        var framer = NovaStarFramer()
        c.send(NovaStarFrame.write(serial: 1, deviceType: 0, address: 0x0200_0023, data: [0x58]).encoded())
        XCTAssertEqual(try reply(c, &framer).ack, NovaStar.Ack.ok)
        c.close()
        try await Task.sleep(nanoseconds: 100_000_000)
        session.stop()
        _ = try await task.value
        let lines = try String(contentsOfFile: dir + "/rec/nova/frames.jsonl", encoding: .utf8).split(separator: "\n")
            .compactMap { JSONValue.parse(String($0)) }
        XCTAssertEqual(lines.map { $0["input"]?.intValue }, [0x05, 0x58])
        let first = try PNGFile.read(path: dir + "/rec/nova/frame-000001.png")
        XCTAssertEqual(first.bytes, TestPattern.gradient.render(frame: 0, width: 8, height: 2, format: .rgb).bytes)
        let second = try PNGFile.read(path: dir + "/rec/nova/frame-000002.png")
        XCTAssertEqual(second.bytes, image.bytes)
    }
}
