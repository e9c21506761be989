import PanelCore
import PanelWire
import XCTest

@testable import PanelDevice

/// `frame.max-rate`: a controller that shows at most so many frames a second (WLED's 62.5).
final class FrameRateLimitTests: XCTestCase {
    let client = PacketSource(address: "127.0.0.1", port: 40001)

    func opc(_ value: UInt8) -> [UInt8] {
        var out: [UInt8] = []
        [UInt8](repeating: value, count: 12).withUnsafeBytes { OPCEncoder.message(into: &out, channel: 0, command: 0, data: $0) }
        return out
    }

    func device(maxRate: Double?) throws -> DeviceModel {
        let map = try ChannelMap(width: 4, height: 1, format: .rgb, settings: MappingSettings(startUniverse: 0, channelsPerUniverse: 510))
        return try ProtocolPlugin.openPixelControl.makeDevice(ControllerSettings(name: "t", map: map, frame: FrameSettings(maxRate: maxRate)))
    }

    /// Frames every 10 ms against a 16 ms limit: every other one is shown, numbered 1, 2, 3 …,
    /// each showing its own picture; the others are counted, not shown.
    func testFramesCloserThanTheIntervalAreNotShown() throws {
        let d = try device(maxRate: 62.5)
        var shown: [FrameEvent] = []
        for k in 0..<100 {
            d.feed(opc(UInt8(k)), from: client, at: ms(Int64(k) * 10))
            shown += d.takeOutput().frames
        }
        XCTAssertEqual(shown.count, 50)
        XCTAssertEqual(shown.map(\.index), Array(1...50))
        XCTAssertEqual(shown.map(\.time), (0..<50).map { ms(Int64($0) * 20) })
        XCTAssertEqual(shown.map { $0.canvas.bytes[0] }, (0..<50).map { UInt8($0 * 2) })
        XCTAssertEqual(d.counters.frames, 50)
        XCTAssertEqual(d.counters["frames-over-rate"], 50)
        XCTAssertEqual(d.counters.packets, 100)
    }

    /// Frames at the limit or slower are all shown, and without a limit the model is not wrapped.
    func testFramesAtTheRateAreAllShownAndNoLimitMeansTheModelItself() throws {
        let limited = try device(maxRate: 50)
        for k in 0..<10 { limited.feed(opc(UInt8(k)), from: client, at: ms(Int64(k) * 20)) }
        XCTAssertEqual(limited.takeOutput().frames.map(\.index), Array(1...10))
        XCTAssertEqual(limited.counters["frames-over-rate"], 0)
        XCTAssertTrue(try device(maxRate: nil) is OPCServer)
        XCTAssertTrue(limited is FrameRateLimitedDevice)
    }
}
