import Foundation
import PanelCapture
import PanelCore
import PanelDevice
import PanelImage
@testable import PanelSession
import XCTest

/// A generated capture of a Colorlight sending card (a 256×128 picture per frame as row
/// packets, 3 frames, each latched by a display packet 6 ms after its last row) replays
/// through the standard registry into frames identical to the pictures.
final class ColorlightReplayTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "panelsim-colorlight-replay-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    /// Frame k's picture: every pixel different within a frame, frames different from each other.
    static func picture(_ k: Int) -> Canvas {
        var c = Canvas(width: 256, height: 128, format: .rgb)
        for y in 0..<128 {
            for x in 0..<256 {
                let o = (y * 256 + x) * 3
                c.bytes[o] = UInt8(x)
                c.bytes[o + 1] = UInt8(truncatingIfNeeded: y * 2 + k * 50)
                c.bytes[o + 2] = UInt8(truncatingIfNeeded: x ^ y ^ (k * 85))
            }
        }
        return c
    }

    func writeCapture(_ path: String) throws {
        let writer = try PcapWriter(path: path)
        var sender = ColorlightSender()
        var t = Timestamp(nanoseconds: 1_000_000_000)
        var failure: Error?
        for k in 0..<3 {
            sender.encodeData(Self.picture(k), emit: { b, _ in
                t = t + Timestamp(nanoseconds: 20_000)
                do { try writer.write(time: t, bytes: Array(b)) } catch { failure = error }
            })
            t = t + Timestamp(nanoseconds: 6_000_000)
            sender.encodeLatch(emit: { b, _ in
                do { try writer.write(time: t, bytes: Array(b)) } catch { failure = error }
            })
            t = t + Timestamp(nanoseconds: 33_000_000)
        }
        try writer.close()
        if let failure { throw failure }
    }

    func testReplayWithConfigGivesThePictures() throws {
        let path = dir + "/colorlight.pcap"
        try writeCapture(path)
        let yaml = """
        controllers:
          - { name: wall, protocol: colorlight, transport: { interface: eth0 }, panel: { width: 256, height: 128 } }
        """
        let config = try SessionConfig.parse(yaml: yaml, file: "t", registry: .standard)
        let result = try ReplaySession(options: ReplayOptions(capturePath: path, outputDirectory: dir + "/out", config: config)).run()
        XCTAssertNil(result.captureError)
        XCTAssertEqual(result.ethernetFrames, 3 * (128 + 1))
        let counters = result.controllers.first { $0.name == "wall" }?.counters
        XCTAssertEqual(counters?["row-packet"], 3 * 128)
        XCTAssertEqual(counters?["display-packet"], 3)
        XCTAssertEqual(counters?.torn, 0)
        let frames = try recorded("wall")
        XCTAssertEqual(frames.count, 3)
        for (k, f) in frames.enumerated() { XCTAssertTrue(f == Self.picture(k), "frame \(k + 1) differs from its picture") }
    }

    /// Without a config the view is the panel the row packets reach (256×128 here), one per
    /// destination address, and the frames are the pictures.
    func testReplayWithoutConfigSizesThePanelFromTheRows() throws {
        let path = dir + "/colorlight.pcap"
        try writeCapture(path)
        let result = try ReplaySession(options: ReplayOptions(capturePath: path, outputDirectory: dir + "/out", config: nil)).run()
        XCTAssertEqual(result.ethernetFrames, 3 * 129)
        XCTAssertEqual(result.controllers.map(\.name), ["colorlight-11_22_33_44_55_66"])
        let frames = try recorded("colorlight-11_22_33_44_55_66")
        XCTAssertEqual(frames.map(\.width), [256, 256, 256])
        XCTAssertEqual(frames.map(\.height), [128, 128, 128])
        for (k, f) in frames.enumerated() { XCTAssertTrue(f == Self.picture(k), "frame \(k + 1) differs from its picture") }
    }

    func recorded(_ controller: String) throws -> [Canvas] {
        let lines = (FileText.read(dir + "/out/\(controller)/frames.jsonl") ?? "").split(separator: "\n").compactMap { JSONValue.parse(String($0)) }
        return try lines.map { try PNGFile.read(path: dir + "/out/\(controller)/" + ($0["file"]?.stringValue ?? "")) }
    }
}
