import Foundation
import Glibc
import Logging
import PanelDevice
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

    func serve() async throws -> (ServeSession, Task<ServeResult, Error>, Int) {
        var options = ServeOptions()
        options.recordDirectory = dir + "/rec"
        options.recording = RecordingOptions(png: .fast, skipIdentical: false, maxBacklog: nil)
        options.readyFile = dir + "/ready.json"
        let config = try SessionConfig.parse(yaml: yaml, file: "test")
        let session = ServeSession(config: config, options: options, logger: Logger(label: "test"))
        let task = Task { try await session.run() }
        for _ in 0..<500 {
            if let text = FileText.read(dir + "/ready.json"), let j = JSONValue.parse(text), let e = j["listening"]?.arrayValue?.first,
               let port = e["port"]?.intValue {
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
}
