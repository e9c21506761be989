import Foundation
import XCTest
@testable import PanelCapture
import PanelCore

/// Serial traffic captures (LINKTYPE_RTAC_SERIAL): what the writer writes is read back with its
/// direction and bytes, and tshark reads the same direction and bytes.
final class SerialCaptureTests: XCTestCase {
    func testSerialRecordsRoundTripWithTheirDirection() throws {
        let path = try temporaryDirectory(self).appendingPathComponent("serial.pcap").path
        let writer = try SerialCaptureWriter(path: path)
        let read: [UInt8] = [0x7E, 0x06, 0x00, 0x00, 0xE7]
        let written: [UInt8] = [0x7E, 0x03, 0x05, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0xE7]
        try read.withUnsafeBytes { try writer.write(time: Timestamp(nanoseconds: 1_700_000_000_250_000_000), direction: .received, bytes: $0) }
        try written.withUnsafeBytes { try writer.write(time: Timestamp(nanoseconds: 1_700_000_000_251_000_000), direction: .sent, bytes: $0) }
        try writer.close()

        let (events, summary) = try decodeAll(path)
        XCTAssertNil(summary.error)
        XCTAssertEqual(summary.linkTypes, [250])
        XCTAssertEqual(events.map(\.line), ["serial #1 received \(read)", "serial #2 sent \(written)"])

        // The record header carries the time too: seconds and microseconds, big-endian.
        let raw = try readFrames(path).frames
        XCTAssertEqual(Array(raw[0].bytes.prefix(12)), [0x65, 0x53, 0xF1, 0x00, 0x00, 0x03, 0xD0, 0x90, 0x02, 0, 0, 0])

        let decoded = try runTshark(["-r", path, "-T", "fields", "-e", "rtacser.eventtype", "-e", "data.data"])
        guard let decoded else { throw XCTSkip("tshark is not installed") }
        XCTAssertEqual(decoded.split(separator: "\n").map(String.init), [
            "0x02\t" + read.map { String(format: "%02x", $0) }.joined(),
            "0x01\t" + written.map { String(format: "%02x", $0) }.joined(),
        ])
    }

    func testAShortSerialRecordIsMalformedNotACrash() throws {
        let path = try temporaryDirectory(self).appendingPathComponent("short.pcap").path
        let writer = try PcapWriter(path: path, linkType: LinkLayer.rtacSerial.linkType)
        try writer.write(time: Timestamp(nanoseconds: 1_000_000_000), bytes: [0, 0, 0, 1, 0, 0])
        try writer.write(time: Timestamp(nanoseconds: 2_000_000_000), bytes: [0, 0, 0, 2, 0, 0, 0, 0, 0x05, 0, 0, 0])
        try writer.close()
        let (events, _) = try decodeAll(path)
        XCTAssertEqual(events.map(\.line), ["malformed #1 at 0: serial record of 6 bytes, shorter than its 12-byte header",
                                            "not decoded #2: serial-line event 0x5"])
    }
}
