import Foundation
import Glibc
import PanelDevice
import PanelNet
@testable import PanelSession
import XCTest

/// `send --protocol novastar` against the emulated sending card over TCP (here) and a
/// pseudo-terminal (below): every request is answered ACK 0, reads return what was written,
/// and frames.jsonl records brightness 128 and the test pattern; a controller that is not
/// there, or does not answer, gives a clear error within the timeout.
extension NovaStarEndToEndTests {
    static let sendCommands: [NovaStarCommand] = [
        .brightness(0x80), .testPattern(0x02),
        .read(NovaStarRead(register: .brightness, length: 1, port: 1, card: 1, name: "brightness")),
        .read(NovaStarRead(register: .testPattern, length: 1, name: "test-pattern")),
    ]

    /// Checks a run of `sendCommands` and the frames it made.
    static func checkSent(_ result: NovaStarSendResult, frames: [JSONValue]) {
        XCTAssertNil(result.failure)
        XCTAssertEqual(result.exchanges.map { $0.reply?.ack }, [0, 0, 0, 0])
        XCTAssertEqual(result.exchanges.map { $0.reply?.serial }, [1, 2, 3, 4])
        XCTAssertEqual(result.exchanges[2].reply?.data, [0x80])
        XCTAssertEqual(result.exchanges[3].reply?.data, [0x02])
        XCTAssertEqual(result.exchanges[3].line, "read test-pattern (port 0 card 0): ACK 0 (ok), data 02 = red")
        let requests = result.json["requests"]?.arrayValue ?? []
        XCTAssertEqual(requests.map { $0["ack"]?.intValue }, [0, 0, 0, 0])
        XCTAssertEqual(requests.map { $0["data"]?.stringValue }, ["", "", "80", "02"])
        XCTAssertEqual(requests.first?["request"]?.stringValue, "55aa0001fe0001ffffff010001000002010080d759")
        XCTAssertEqual(frames.last?["brightness"]?.intValue, 128)
        XCTAssertEqual(frames.last?["test-pattern"]?.intValue, 2)
        XCTAssertTrue(frames.contains { $0["brightness"]?.intValue == 128 && $0["test-pattern"]?.intValue == 0 }, "the brightness change is a frame of its own")
    }

    func testSenderSetsBrightnessAndTestPatternOverTCP() async throws {
        let (session, task, port) = try await serve()
        let result = try await SendSession.runNovaStar(NovaStarSendOptions(target: .tcp(host: "127.0.0.1", port: port), commands: Self.sendCommands))
        try await Task.sleep(nanoseconds: 100_000_000)
        session.stop()
        _ = try await task.value
        let frames = (FileText.read(dir + "/rec/nova/frames.jsonl") ?? "").split(separator: "\n").compactMap { JSONValue.parse(String($0)) }
        Self.checkSent(result, frames: frames)
    }

    func testSenderReportsAPortNobodyListensOn() async throws {
        let port = try Self.freePort()
        let start = Date()
        do {
            let result = try await SendSession.runNovaStar(NovaStarSendOptions(target: .tcp(host: "127.0.0.1", port: port), commands: [.brightness(1)], timeout: 0.5))
            XCTFail("connected to a closed port: \(result.exchanges.map(\.line))")
        } catch {
            XCTAssertTrue("\(error)".contains("cannot connect"), "\(error)")
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 2)
    }

    func testSenderGivesUpOnASilentController() async throws {
        // Listening (the kernel completes the handshake) but never reading or answering.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = Self.loopback(port: 0)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        XCTAssertEqual(bound, 0)
        XCTAssertEqual(listen(fd, 4), 0)
        let port = Self.port(of: fd)
        let start = Date()
        let result = try await SendSession.runNovaStar(NovaStarSendOptions(target: .tcp(host: "127.0.0.1", port: port),
                                                                           commands: [.brightness(1), .testPattern(2)], timeout: 0.3))
        XCTAssertLessThan(Date().timeIntervalSince(start), 2)
        XCTAssertEqual(result.failure, "2 of 2 requests failed; first: brightness 1 (all receiving cards): no reply within 300 ms")
        XCTAssertEqual(result.exchanges.map(\.outcome), [.noReply("no reply within 300 ms"), .notSent])
    }

    /// The command line: lines on stdout, --json, exit 0; --image refused with exit 2; a
    /// missing receiving card (ACK 1) exits 3 naming it.
    func testSendCommandLine() async throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let panelsim = root + "/.build/debug/panelsim"
        guard FileManager.default.isExecutableFile(atPath: panelsim) else { throw XCTSkip("build panelsim first (\(panelsim))") }
        let (session, task, port) = try await serve()
        func run(_ args: [String]) throws -> (Int32, String, String) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: panelsim)
            p.arguments = ["send", "--protocol", "novastar"] + args
            let out = Pipe(), err = Pipe()
            p.standardOutput = out
            p.standardError = err
            try p.run()
            let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
        }
        let ok = try run(["--to", "127.0.0.1:\(port)", "--read", "brightness", "--test-pattern", "grayscale", "--brightness", "64",
                          "--json", dir + "/send.json"])
        XCTAssertEqual(ok.0, 0, ok.2)
        XCTAssertEqual(ok.1, """
            brightness 64 (all receiving cards): ACK 0 (ok)
            test-pattern grayscale (all receiving cards): ACK 0 (ok)
            read brightness (port 0 card 0): ACK 0 (ok), data 40 = 64

            """)
        XCTAssertEqual(JSONValue.parse(FileText.read(dir + "/send.json") ?? "")?["requests"]?.arrayValue?.count, 3)
        let image = try run(["--to", "127.0.0.1:\(port)", "--brightness", "1", "--image", "x.png"])
        XCTAssertEqual(image.0, 2)
        XCTAssertTrue(image.2.contains("novastar has no pixel stream: --image does not apply"), image.2)
        let absent = try run(["--to", "127.0.0.1:\(port)", "--read", "brightness", "--port", "3"])
        XCTAssertEqual(absent.0, 3)
        XCTAssertTrue(absent.2.contains("ACK 1 (timeout: the receiving card did not answer)"), absent.2)
        session.stop()
        _ = try await task.value
    }

    static func loopback(port: UInt16) -> sockaddr_in {
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = port.bigEndian
        a.sin_addr.s_addr = inet_addr("127.0.0.1")
        return a
    }

    static func port(of fd: Int32) -> Int {
        var a = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: a.sin_port))
    }

    /// A loopback port that was free a moment ago (bound, then closed).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = loopback(port: 0)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0 else { throw EndToEndFailure("cannot bind a loopback port") }
        return port(of: fd)
    }
}

extension SerialEndToEndTests {
    func testNovaStarSenderOnPTY() async throws {
        let (session, task, path) = try await serve("""
            controllers:
              - name: nova
                protocol: novastar
                transport: { serial: pty }
                panel: { width: 8, height: 2, pixel: rgb }
            """)
        let result = try await SendSession.runNovaStar(NovaStarSendOptions(target: .serial(SerialSendTarget(path: path)),
                                                                           commands: NovaStarEndToEndTests.sendCommands))
        try await Task.sleep(nanoseconds: 100_000_000)
        session.stop()
        _ = try await task.value
        NovaStarEndToEndTests.checkSent(result, frames: frames("nova"))
    }

    func testNovaStarSenderOnASilentPTY() async throws {
        let line = try SerialPort.openPseudoTerminal(link: nil)
        defer { line.close() }
        let start = Date()
        let result = try await SendSession.runNovaStar(NovaStarSendOptions(target: .serial(SerialSendTarget(path: line.path)),
                                                                           commands: [.read(NovaStarRead(register: .modelID, length: 2))], timeout: 0.3))
        XCTAssertLessThan(Date().timeIntervalSince(start), 2)
        XCTAssertEqual(result.failure, "1 of 1 requests failed; first: read sending:0x00000002:2 (sending card): no reply within 300 ms")
    }
}
