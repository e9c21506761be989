import PanelCore
import PanelWire
import XCTest

@testable import PanelDevice

/// Models that emit a frame per packet reuse their outbox: each frame is taken exactly once,
/// and a frame still held by the caller keeps its picture while the next ones arrive.
final class OutboxReuseTests: XCTestCase {
    let a = PacketSource(address: "127.0.0.1", port: 40001)
    let b = PacketSource(address: "127.0.0.1", port: 40002)

    func map() throws -> ChannelMap {
        try ChannelMap(width: 4, height: 3, format: .rgb, settings: MappingSettings(startUniverse: 0, channelsPerUniverse: 510))
    }

    func picture(_ seed: UInt8) -> [UInt8] { (0..<36).map { UInt8(truncatingIfNeeded: Int($0) * 5) &+ seed } }

    /// Feeds three frames, holding the first frame event; checks every take and that the held
    /// frame still shows the first picture.
    func check(_ model: DeviceModel, message: ([UInt8]) -> [UInt8], file: StaticString = #filePath, line: UInt = #line) {
        message(picture(1)).withUnsafeBytes { model.receive($0, from: a, at: ms(1)) }
        let first = model.takeOutput()
        XCTAssertEqual(first.frames.count, 1, file: file, line: line)
        XCTAssertEqual(model.takeOutput().frames.count, 0, "a frame is taken once", file: file, line: line)
        message(picture(2)).withUnsafeBytes { model.receive($0, from: a, at: ms(2)) }
        message(picture(3)).withUnsafeBytes { model.receive($0, from: b, at: ms(3)) }
        let next = model.takeOutput()
        XCTAssertEqual(next.frames.map(\.index), [2, 3], file: file, line: line)
        XCTAssertEqual(next.frames.map { $0.sources.map(\.port) }, [[40001], [40002]], file: file, line: line)
        XCTAssertTrue(first.frames[0].canvas.bytes == picture(1), "the held frame keeps its picture", file: file, line: line)
        XCTAssertTrue(next.frames[0].canvas.bytes == picture(2), file: file, line: line)
        XCTAssertTrue(next.frames[1].canvas.bytes == picture(3), file: file, line: line)
        message(picture(4)).withUnsafeBytes { model.receive($0, from: a, at: ms(4)) }
        XCTAssertEqual(model.takeOutput().frames.map(\.index), [4], file: file, line: line)
        XCTAssertTrue(next.frames[1].canvas.bytes == picture(3), "taken frames are not disturbed by later ones", file: file, line: line)
    }

    func testOPC() throws {
        check(OPCServer(name: "t", map: try map())) { data in
            var out: [UInt8] = []
            data.withUnsafeBytes { OPCEncoder.message(into: &out, channel: 0, command: 0, data: $0) }
            return out
        }
    }

    func testTPM2() throws {
        check(TPM2Receiver(settings: TPM2ReceiverSettings(name: "t", map: try map()))) { TPM2Serial.packet(type: .data, data: $0) }
    }

    func testEnttecPro() throws {
        check(try EnttecProWidget(settings: EnttecProSettings(name: "t", map: try map()))) { EnttecPro.message(label: EnttecPro.Label.sendDMX, data: [0] + $0) }
    }
}
