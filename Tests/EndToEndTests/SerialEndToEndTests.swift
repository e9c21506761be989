import Foundation
import Logging
import PanelCore
import PanelDevice
import PanelImage
@testable import PanelNet
@testable import PanelSession
import PanelWire
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Serial controllers served on a real pseudo-terminal: bytes written to the PTY's slave
/// path (as a sender would) come out as recorded frames, and replies come back on the line.
final class SerialEndToEndTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "panelsim-serial-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    /// Starts serving `yaml` and waits for the ready file; returns the session, its task and the line's path.
    func serve(_ yaml: String, pcap: String? = nil) async throws -> (ServeSession, Task<ServeResult, Error>, String) {
        var options = ServeOptions()
        options.recordDirectory = dir + "/rec"
        options.recording = RecordingOptions(png: .fast, skipIdentical: false, maxBacklog: nil)
        options.readyFile = dir + "/ready.json"
        options.pcapPath = pcap
        let session = ServeSession(config: try SessionConfig.parse(yaml: yaml, file: "test"), options: options, logger: Logger(label: "test"))
        let task = Task { try await session.run() }
        for _ in 0..<500 {
            if let text = FileText.read(dir + "/ready.json"), let j = JSONValue.parse(text), let e = j["listening"]?.arrayValue?.first,
               e["transport"]?.stringValue == "serial", let path = e["path"]?.stringValue {
                return (session, task, path)
            }
            try await Task.sleep(nanoseconds: 10_000_000)
        }
        session.stop()
        _ = try? await task.value
        throw EndToEndFailure("serve did not become ready within 5 s")
    }

    func frames(_ controller: String) -> [JSONValue] {
        (FileText.read(dir + "/rec/\(controller)/frames.jsonl") ?? "").split(separator: "\n").compactMap { JSONValue.parse(String($0)) }
    }

    /// NovaStar MCTRL600/660 talk at 1048576 baud, a rate without a termios constant: a line
    /// opened at it is set through termios2 and reads the rate back.
    func testLineOpensAtACustomRate() throws {
        let pair = try PseudoTerminal.open()
        defer { Glibc.close(pair.master); Glibc.close(pair.slave) }
        let fd = Glibc.open(pair.path, O_RDWR | O_NOCTTY)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { Glibc.close(fd) }
        try Termios.makeRaw(fd, path: pair.path, baud: 1_048_576)
        XCTAssertEqual(Termios.customRate(fd), 1_048_576)
        try Termios.makeRaw(fd, path: pair.path, baud: 115_200)
        XCTAssertEqual(Termios.customRate(fd), 115_200)
    }

    func testEnttecProOnPTY() async throws {
        let link = dir + "/ttyUSB0"
        let (session, task, path) = try await serve("""
            controllers:
              - name: widget
                protocol: enttec-pro
                transport: { serial: pty, link: \(link) }
                panel: { width: 8, height: 2, pixel: rgb }
            """, pcap: dir + "/cap.pcap")
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: link), path)
        let fd = open(link, O_RDWR | O_NOCTTY)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        func write(_ bytes: [UInt8]) { bytes.withUnsafeBytes { _ = Glibc.write(fd, $0.baseAddress, $0.count) } }
        // The parameters request is answered on the line.
        write([0x7E, 0x03, 0x02, 0x00, 0x00, 0x00, 0xE7])
        var reply = [UInt8](repeating: 0, count: 64)
        var got: [UInt8] = []
        for _ in 0..<100 where got.count < 10 {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&p, 1, 20) > 0 {
                let n = reply.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
                if n > 0 { got += reply[0..<n] }
            }
        }
        XCTAssertEqual(got, [0x7E, 0x03, 0x05, 0x00, 0x44, 0x01, 0x09, 0x01, 0x28, 0xE7])
        // Three pattern frames, one label-6 message each.
        let map = try ChannelMap(width: 8, height: 2, format: .rgb, settings: MappingSettings(startUniverse: 0, channelsPerUniverse: 510))
        var sender = ProtocolPlugin.enttecPro.makeSender(SenderSettings(map: map))
        var sent: [Canvas] = []
        for k in 0..<3 {
            let c = TestPattern.counter.render(frame: k, width: 8, height: 2, format: .rgb)
            sent.append(c)
            sender.encode(c) { bytes, _ in _ = Glibc.write(fd, bytes.baseAddress, bytes.count) }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        try await Task.sleep(nanoseconds: 200_000_000)
        session.stop()
        let result = try await task.value
        XCTAssertEqual(result.controllers.first?.counters.frames, 3)
        let recorded = frames("widget")
        XCTAssertEqual(recorded.count, 3)
        for (k, f) in recorded.enumerated() {
            let file = try XCTUnwrap(f["file"]?.stringValue)
            XCTAssertEqual(try PNGFile.read(path: dir + "/rec/widget/" + file), sent[k], "frame \(k + 1)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: link), "the symlink is removed at stop")
        // The serial capture holds the request (received) and the reply (sent).
        let capture = try XCTUnwrap(FileManager.default.contents(atPath: dir + "/cap-serial.pcap"))
        XCTAssertGreaterThan(capture.count, 24 + 2 * (16 + 12))
    }

    func testTPM2SendIntoServe() async throws {
        let (session, task, path) = try await serve("""
            controllers:
              - name: strip
                protocol: tpm2
                transport: { serial: pty }
                panel: { width: 6, height: 3, pixel: rgb }
                mapping: { layout: serpentine }
            """)
        let map = try ChannelMap(width: 6, height: 3, format: .rgb, settings: MappingSettings(startUniverse: 0, channelsPerUniverse: 510, layout: .serpentine))
        var options = SendOptions(plugin: .tpm2, host: nil, port: 0, map: map, content: .pattern(.counter), fps: 50, frames: 4, seconds: nil,
                                  sender: SenderSettings(map: map))
        options.serial = SerialSendTarget(path: path)
        let result = try await SendSession(options: options).run()
        XCTAssertEqual(result.frames, 4)
        XCTAssertEqual(result.failedFrames, 0)
        try await Task.sleep(nanoseconds: 200_000_000)
        session.stop()
        _ = try await task.value
        let recorded = frames("strip")
        XCTAssertEqual(recorded.count, 4)
        for (k, f) in recorded.enumerated() {
            let file = try XCTUnwrap(f["file"]?.stringValue)
            XCTAssertEqual(try PNGFile.read(path: dir + "/rec/strip/" + file), TestPattern.counter.render(frame: k, width: 6, height: 3, format: .rgb))
        }
    }

    /// NovaStar's control plane over a pseudo-terminal, as over RS-232: a broadcast brightness
    /// write is acknowledged, read back from a card, and a corrupted checksum gets ACK 2.
    func testNovaStarOnPTY() async throws {
        let (session, task, path) = try await serve("""
            controllers:
              - name: nova
                protocol: novastar
                transport: { serial: pty }
                panel: { width: 8, height: 2, pixel: rgb }
            """)
        let fd = open(path, O_RDWR | O_NOCTTY)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        var framer = NovaStarFramer()
        func exchange(_ bytes: [UInt8]) throws -> NovaStarFrame {
            bytes.withUnsafeBytes { _ = Glibc.write(fd, $0.baseAddress, $0.count) }
            var buffer = [UInt8](repeating: 0, count: 256)
            for _ in 0..<100 {
                var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                guard poll(&p, 1, 20) > 0 else { continue }
                let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
                guard n > 0 else { continue }
                var got: [[UInt8]] = []
                buffer.withUnsafeBytes { framer.push(UnsafeRawBufferPointer(rebasing: $0[0..<n]), frame: { got.append(Array($0)) }, dropped: { _ in }) }
                if let f = got.first { return try f.withUnsafeBytes { b throws(WireError) in try NovaStarFrame.decode(b) } }
            }
            throw EndToEndFailure("no reply on the line within 2 s")
        }
        let ack = try exchange(NovaStarFrame.write(serial: 7, deviceType: 1, port: 0xFF, card: 0xFFFF, address: 0x0200_0001, data: [0x80]).encoded())
        XCTAssertEqual(ack.ack, NovaStar.Ack.ok)
        XCTAssertEqual(ack.serial, 7)
        let read = try exchange(NovaStarFrame.read(serial: 8, deviceType: 1, port: 1, card: 1, address: 0x0200_0001, length: 1).encoded())
        XCTAssertEqual(read.ack, NovaStar.Ack.ok)
        XCTAssertEqual(read.data, [0x80])
        var bad = NovaStarFrame.read(serial: 9, deviceType: 1, port: 0, card: 0, address: 0x0200_0001, length: 1).encoded()
        bad[bad.count - 1] ^= 0xFF
        XCTAssertEqual(try exchange(bad).ack, NovaStar.Ack.requestChecksum)
        session.stop()
        _ = try await task.value
    }
}

/// A step of an end-to-end test that did not happen (a failure, never a skip).
struct EndToEndFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
