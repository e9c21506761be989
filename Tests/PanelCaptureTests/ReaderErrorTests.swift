import Foundation
import XCTest
@testable import PanelCapture
import PanelCore

final class ReaderErrorTests: XCTestCase {
    func writeThreeRecords(_ path: String) throws -> [[UInt8]] {
        let writer = try PcapWriter(path: path)
        for index in 0..<3 {
            try writer.writeUDP(time: Timestamp(nanoseconds: Int64(index) * 1_000_000_007),
                                source: Endpoint(address: "10.0.0.1", port: 6454),
                                destination: Endpoint(address: "10.0.0.2", port: 6454),
                                payload: [UInt8](repeating: UInt8(index), count: 100))
        }
        try writer.close()
        return try readFrames(path).frames.map(\.bytes)
    }

    func testTruncatedFileGivesTheGoodRecordsThenAnErrorNamingRecord3() throws {
        let directory = try temporaryDirectory(self)
        let path = directory.appendingPathComponent("truncated.pcap").path
        let records = try writeThreeRecords(path)
        XCTAssertEqual(records.count, 3)
        // Cut the last record (16-byte record header + 142 bytes) in half.
        var data = try Data(contentsOf: URL(fileURLWithPath: path))
        data.removeLast((16 + 142) / 2)
        try data.write(to: URL(fileURLWithPath: path))

        let reader = try CaptureReader(path: path)
        var good: [CapturedFrame] = []
        var failure: CaptureError?
        do {
            while let frame = try reader.next() { good.append(frame) }
        } catch {
            failure = error
        }
        XCTAssertEqual(good.map(\.recordNumber), [1, 2])
        XCTAssertEqual(good.map(\.bytes), Array(records[0..<2]))
        let error = try XCTUnwrap(failure, "a truncated file must end with an error")
        XCTAssertEqual(error.kind, .read)
        XCTAssertEqual(error.recordNumber, 3)
        XCTAssertEqual(error.path, path)
        XCTAssertTrue(error.description.hasPrefix("\(path): record 3: "), error.description)
        XCTAssertTrue(error.message.contains("truncated"), error.message)
        // The error is sticky.
        XCTAssertThrowsError(try reader.next()) { XCTAssertEqual(($0 as? CaptureError)?.recordNumber, 3) }
    }

    func testFileCutInsideARecordHeader() throws {
        let directory = try temporaryDirectory(self)
        let path = directory.appendingPathComponent("cut-header.pcap").path
        _ = try writeThreeRecords(path)
        var data = try Data(contentsOf: URL(fileURLWithPath: path))
        data.removeLast(142 + 8)  // keep half of record 3's header
        try data.write(to: URL(fileURLWithPath: path))
        let reader = try CaptureReader(path: path)
        XCTAssertNotNil(try reader.next())
        XCTAssertNotNil(try reader.next())
        XCTAssertThrowsError(try reader.next()) { XCTAssertEqual(($0 as? CaptureError)?.recordNumber, 3) }
    }

    func testNonPcapFileIsAnErrorNamingTheFile() throws {
        let directory = try temporaryDirectory(self)
        let path = directory.appendingPathComponent("notes.txt").path
        try Data("this is not a capture file, just some text\n".utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try CaptureReader(path: path)) { error in
            let captureError = error as? CaptureError
            XCTAssertEqual(captureError?.kind, .open)
            XCTAssertEqual(captureError?.path, path)
            XCTAssertNil(captureError?.recordNumber)
            XCTAssertTrue("\(error)".hasPrefix(path), "\(error)")
        }
        XCTAssertThrowsError(try CaptureReader(path: directory.appendingPathComponent("missing.pcap").path)) { error in
            XCTAssertTrue("\(error)".contains("missing.pcap"), "\(error)")
        }
    }

    func testEmptyFileIsAnError() throws {
        let directory = try temporaryDirectory(self)
        let path = directory.appendingPathComponent("empty.pcap").path
        try Data().write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try CaptureReader(path: path)) { XCTAssertEqual(($0 as? CaptureError)?.path, path) }
    }

    /// pcapng, two interfaces of the same link type: libpcap reads both.
    func testPcapngTwoInterfacesSameLinkType() throws {
        let directory = try temporaryDirectory(self)
        let path = directory.appendingPathComponent("two-if.pcapng").path
        let ip = Build.ipv4UDP("10.0.0.1", 1, "10.0.0.2", 2, [5, 5])
        let file = Build.pcapngSectionHeader() + Build.pcapngInterface(linkType: 1) + Build.pcapngInterface(linkType: 1)
            + Build.pcapngPacket(interface: 0, microseconds: 1_500_000, data: Build.ethernet(0x0800, ip))
            + Build.pcapngPacket(interface: 1, microseconds: 2_500_001, data: Build.ethernet(0x0800, ip))
        try Data(file).write(to: URL(fileURLWithPath: path))
        let (linkType, frames) = try readFrames(path)
        XCTAssertEqual(linkType, 1)
        XCTAssertEqual(frames.map(\.time.nanoseconds), [1_500_000_000, 2_500_001_000])
        XCTAssertEqual(frames.compactMap { PacketParser.parse($0).udpDatagram }.count, 2)
    }

    /// pcapng whose second interface has another link type: libpcap refuses the block that
    /// introduces it, so such a file is read by PanelCapture's own block reader, and each
    /// record carries its interface's link type (LINKTYPE_RAW 101 read as DLT_RAW like libpcap).
    func testPcapngSecondInterfaceWithOtherLinkTypeIsReadWithEachRecordsLinkType() throws {
        let directory = try temporaryDirectory(self)
        let path = directory.appendingPathComponent("mixed.pcapng").path
        let ip = Build.ipv4UDP("10.0.0.1", 1, "10.0.0.2", 2, [5, 5])
        let file = Build.pcapngSectionHeader()
            + Build.pcapngInterface(linkType: 1)
            + Build.pcapngPacket(interface: 0, microseconds: 1, data: Build.ethernet(0x0800, ip))
            + Build.pcapngInterface(linkType: 101)
            + Build.pcapngPacket(interface: 1, microseconds: 2, data: ip)
        try Data(file).write(to: URL(fileURLWithPath: path))
        let reader = try CaptureReader(path: path)
        XCTAssertEqual(reader.linkLayer, .ethernet)
        XCTAssertEqual(reader.interfaceLinkTypes, [1, LinkLayer.rawIP.linkType])
        let frames = try reader.readAll()
        XCTAssertEqual(frames.map(\.linkType), [1, LinkLayer.rawIP.linkType])
        XCTAssertEqual(frames.map(\.time.nanoseconds), [1_000, 2_000])
        XCTAssertEqual(frames.map(\.recordNumber), [1, 2])
        XCTAssertEqual(frames.compactMap { PacketParser.parse($0).udpDatagram }.map { Array($0.payload) }, [[5, 5], [5, 5]])
    }

    /// A pcap record header claiming 4 GB of captured bytes is damage, not an allocation.
    func testPcapRecordClaiming4GBIsRejected() throws {
        let directory = try temporaryDirectory(self)
        let path = directory.appendingPathComponent("claims-4gb.pcap").path
        let header = Build.le32(0xA1B2_C3D4) + Build.le16(2) + Build.le16(4) + Build.le32(0) + Build.le32(0)
            + Build.le32(65535) + Build.le32(1)
        let record = Build.le32(1) + Build.le32(0) + Build.le32(0xFFFF_FFFF) + Build.le32(0xFFFF_FFFF) + [UInt8](repeating: 0, count: 64)
        try Data(header + record).write(to: URL(fileURLWithPath: path))
        let reader = try CaptureReader(path: path)
        XCTAssertThrowsError(try reader.next()) { XCTAssertEqual(($0 as? CaptureError)?.recordNumber, 1) }
        XCTAssertEqual(try decodeAll(path).summary.error?.recordNumber, 1)
    }

    /// pcapng blocks claiming 4 GB, read by libpcap (one link type) and by PanelCapture's own
    /// block reader (two link types): both reject them without allocating.
    func testPcapngBlockClaiming4GBIsRejectedByBothReaders() throws {
        let directory = try temporaryDirectory(self)
        let hugeBlock = Build.le32(6) + Build.le32(0xFFFF_FFFC) + Build.le32(0) + [UInt8](repeating: 0, count: 52)
        // A block of a sane length whose captured length claims 4 GB.
        let hugeCapture = Build.le32(6) + Build.le32(64) + Build.le32(0) + Build.le32(0) + Build.le32(0)
            + Build.le32(0xFFFF_FFFF) + Build.le32(0xFFFF_FFFF) + [UInt8](repeating: 0, count: 32) + Build.le32(64)
        for (name, interfaces) in [("one", Build.pcapngInterface(linkType: 1)),
                                   ("mixed", Build.pcapngInterface(linkType: 1) + Build.pcapngInterface(linkType: 101))] {
            for (kind, packet) in [("block", hugeBlock), ("capture", hugeCapture)] {
                let path = directory.appendingPathComponent("\(name)-\(kind).pcapng").path
                try Data(Build.pcapngSectionHeader() + interfaces + packet).write(to: URL(fileURLWithPath: path))
                let reader = try CaptureReader(path: path)
                XCTAssertThrowsError(try reader.next(), "\(name) \(kind)") { XCTAssertEqual(($0 as? CaptureError)?.recordNumber, 1) }
                XCTAssertNotNil(try decodeAll(path).summary.error, "\(name) \(kind)")
            }
        }
    }
}
