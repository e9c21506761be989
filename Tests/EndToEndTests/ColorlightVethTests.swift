import Foundation
import Logging
import NIOCore
import NIOPosix
import PanelCore
import PanelDevice
import PanelImage
import PanelNet
import PanelWire
@testable import PanelSession
import XCTest

/// Colorlight over a veth pair this test creates (root only): `serve` on one end, `panelsim
/// send` of a 256×128 image from the other; the recorded frame is the image, pixel for pixel,
/// frames.jsonl carries the brightness sent, and a detect probe is answered with 256×128. Nothing is sent on any other interface.
final class ColorlightVethTests: XCTestCase {
    func testImageSentOverAVethPairIsRecordedPixelIdenticalAndDetectIsAnswered() async throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let panelsim = root + "/.build/debug/panelsim"
        guard FileManager.default.isExecutableFile(atPath: panelsim) else { throw XCTSkip("build panelsim first (\(panelsim))") }
        let (a, b) = try VethPair.make(for: self, prefix: "pcl")

        let dir = NSTemporaryDirectory() + "panelsim-colorlight-veth-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        var image = Canvas(width: 256, height: 128, format: .rgb)
        for i in image.bytes.indices { image.bytes[i] = UInt8(truncatingIfNeeded: (i &* 2654435761) >> 7) }
        try PNGFile.write(image, to: dir + "/image.png")

        let yaml = """
        controllers:
          - { name: wall, protocol: colorlight, transport: { interface: \(a) }, panel: { width: 256, height: 128 } }
        """
        let config = try SessionConfig.parse(yaml: yaml, file: "t", registry: .standard)
        var options = ServeOptions()
        options.recordDirectory = dir + "/rec"
        options.recording.skipIdentical = false
        let serve = ServeSession(config: config, options: options, logger: Logger(label: "test"))
        let running = Task { try await serve.run() }
        try await Task.sleep(nanoseconds: 500_000_000)

        // The detect probe, from the sender's end; the reply is captured there.
        let probe = try RawEthernetListener(interface: b, filter: "ether src 11:22:33:44:55:66")
        let replies = FrameCollector()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        probe.startReading(on: group.next()) { frame, _ in replies.append(frame) }
        var request: [UInt8] = []
        ColorlightEncoder.detect(into: &request)
        request.withUnsafeBytes { raw in
            do throws(RawEthernetError) { try probe.send(raw) } catch { XCTFail("\(error)") }
        }

        let send = Process()
        send.executableURL = URL(fileURLWithPath: panelsim)
        send.arguments = ["send", "--protocol", "colorlight", "--interface", b, "--image", dir + "/image.png", "--frames", "2", "--fps", "10",
                          "--brightness", "100", "--rgb-brightness", "200,150,100"]
        try send.run()
        send.waitUntilExit()
        XCTAssertEqual(send.terminationStatus, 0)
        try await Task.sleep(nanoseconds: 500_000_000)
        serve.stop()
        let result = try await running.value
        probe.close()
        try? await group.shutdownGracefully()

        let reply = replies.frames.first { $0.count > 12 && $0[12] == 0x08 }
        let decoded = try XCTUnwrap(reply).withUnsafeBytes { raw -> ColorlightDetectReply? in
            guard let p = try? ColorlightDecoder.decode(raw), case .detectReply(let r) = p.message else { return nil }
            return r
        }
        XCTAssertEqual(decoded?.width, 256)
        XCTAssertEqual(decoded?.height, 128)
        XCTAssertEqual(result.controllers.first?.counters.frames, 2, "\(String(describing: result.controllers.first?.counters))")
        XCTAssertEqual(result.controllers.first?.counters["row-packet"], 2 * 128, "no row lost on the way")
        let lines = (FileText.read(dir + "/rec/wall/frames.jsonl") ?? "").split(separator: "\n").compactMap { JSONValue.parse(String($0)) }
        XCTAssertEqual(lines.count, 2)
        for line in lines {
            let frame = try PNGFile.read(path: dir + "/rec/wall/" + (line["file"]?.stringValue ?? ""))
            XCTAssertTrue(frame == image, "the recorded frame differs from the image sent: \(String(describing: result.controllers.first?.counters))")
            XCTAssertEqual(["brightness", "brightness-red", "brightness-green", "brightness-blue"].map { line[$0]?.intValue }, [100, 200, 150, 100])
        }
    }

    /// Regression (no root needed): `send --protocol colorlight --image … --brightness
    /// --rgb-brightness` crashed the debug binary in 5–7 of 10 runs on a loaded machine (a
    /// garbage pointer copying the send options, while `rgbBrightness` was an optional tuple).
    /// Ten runs to a pcap: each exits 0 and the capture ends with the 0x0A brightness packet.
    func testColorlightSendWithBothBrightnessesRunsCleanly() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let panelsim = root + "/.build/debug/panelsim"
        guard FileManager.default.isExecutableFile(atPath: panelsim) else { throw XCTSkip("build panelsim first (\(panelsim))") }
        let dir = NSTemporaryDirectory() + "panelsim-colorlight-send-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        var image = Canvas(width: 256, height: 128, format: .rgb)
        for i in image.bytes.indices { image.bytes[i] = UInt8(truncatingIfNeeded: (i &* 2654435761) >> 7) }
        try PNGFile.write(image, to: dir + "/image.png")
        for run in 0..<10 {
            let send = Process()
            send.executableURL = URL(fileURLWithPath: panelsim)
            send.arguments = ["send", "--protocol", "colorlight", "--pcap", dir + "/s.pcap", "--image", dir + "/image.png", "--frames", "2",
                              "--fps", "50", "--brightness", "100", "--rgb-brightness", "200,150,100"]
            send.standardOutput = FileHandle.nullDevice
            send.standardError = FileHandle.nullDevice
            try send.run()
            send.waitUntilExit()
            XCTAssertEqual(send.terminationReason, .exit, "run \(run) was killed by signal \(send.terminationStatus)")
            XCTAssertEqual(send.terminationStatus, 0, "run \(run)")
        }
        let bytes = try XCTUnwrap(FileManager.default.contents(atPath: dir + "/s.pcap"))
        // The last record: a 77-byte brightness frame (type 0x0A) carrying 200, 150, 100.
        let tail = [UInt8](bytes.suffix(77))
        XCTAssertEqual(tail.count, 77)
        XCTAssertEqual(tail[12], 0x0A)
        XCTAssertTrue(tail.starts(with: Colorlight.receiverMAC))
    }
}

/// Frames collected on another thread.
final class FrameCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [[UInt8]] = []
    func append(_ f: [UInt8]) { lock.lock(); items.append(f); lock.unlock() }
    var frames: [[UInt8]] { lock.lock(); defer { lock.unlock() }; return items }
}
