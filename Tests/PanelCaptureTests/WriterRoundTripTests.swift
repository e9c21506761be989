import Foundation
import XCTest
@testable import PanelCapture
import PanelCore

final class WriterRoundTripTests: XCTestCase {
    func testWriteUDPReadsBackByteExactWithNanosecondTimes() throws {
        let directory = try temporaryDirectory(self)
        let path = directory.appendingPathComponent("roundtrip.pcap").path
        let datagrams: [(Timestamp, Endpoint, Endpoint, [UInt8])] = [
            (Timestamp(nanoseconds: 1_700_000_000_123_456_789),
             Endpoint(address: "192.168.1.10", port: 50_000), Endpoint(address: "192.168.1.20", port: 6454),
             Array("Art-Net\u{0}".utf8) + [0x00, 0x50] + (0..<200).map { UInt8($0 & 0xFF) }),
            (Timestamp(nanoseconds: 1_700_000_000_123_456_790),
             Endpoint(address: "10.0.0.1", port: 5568), Endpoint(address: "239.255.0.1", port: 5568),
             [UInt8](repeating: 0xAB, count: 638)),
            (Timestamp(nanoseconds: 1_700_000_001_000_000_001),
             Endpoint(address: "10.0.0.1", port: 4048), Endpoint(address: "255.255.255.255", port: 4048),
             []),  // empty payload
            (Timestamp(nanoseconds: 5),
             Endpoint(address: "10.0.0.2", port: 1), Endpoint(address: "10.0.0.3", port: 65_535),
             [UInt8](repeating: 0x5A, count: FrameBuilder.maxIPv4UDPPayload)),  // the largest datagram
            (Timestamp(nanoseconds: 1_700_000_002_999_999_999),
             Endpoint(address: "fe80::1", port: 6454), Endpoint(address: "ff02::1", port: 6454),
             [1, 2, 3]),
        ]

        let writer = try PcapWriter(path: path)
        for (time, source, destination, payload) in datagrams {
            try writer.writeUDP(time: time, source: source, destination: destination, payload: payload)
        }
        // The raw-memory overload.
        let rawPayload: [UInt8] = [9, 8, 7]
        let rawTime = Timestamp(nanoseconds: 1_800_000_000_000_000_000)
        let raw = rawPayload.withUnsafeBytes { buffer -> CaptureError? in
            do { try writer.writeUDP(time: rawTime, source: Endpoint(address: "1.2.3.4", port: 10),
                                     destination: Endpoint(address: "5.6.7.8", port: 20), payload: buffer)
                return nil
            } catch let error as CaptureError { return error } catch { return nil }
        }
        XCTAssertNil(raw)
        XCTAssertEqual(writer.recordsWritten, datagrams.count + 1)
        try writer.close()
        try writer.close()  // idempotent

        let reader = try CaptureReader(path: path)
        XCTAssertEqual(reader.linkLayer, .ethernet)
        var parsed: [UDPDatagram] = []
        while let frame = try reader.next() {
            guard let datagram = PacketParser.parse(frame).udpDatagram else {
                XCTFail("record \(frame.recordNumber) is not UDP: \(PacketParser.parse(frame))")
                continue
            }
            parsed.append(datagram)
        }
        XCTAssertEqual(parsed.count, datagrams.count + 1)
        for (index, (time, source, destination, payload)) in datagrams.enumerated() where index < parsed.count {
            let datagram = parsed[index]
            XCTAssertEqual(datagram.recordNumber, index + 1)
            XCTAssertEqual(datagram.time, time, "record \(index + 1)")
            XCTAssertEqual(datagram.source, source)
            XCTAssertEqual(datagram.destination, destination)
            XCTAssertEqual(Array(datagram.payload), payload, "payload of record \(index + 1)")
            XCTAssertNil(datagram.lengthNote)
        }
        XCTAssertEqual(parsed.last.map { Array($0.payload) }, rawPayload)
        XCTAssertEqual(parsed.last?.time, rawTime)
    }

    func testSynthesizedHeadersAreValid() throws {
        let directory = try temporaryDirectory(self)
        let path = directory.appendingPathComponent("headers.pcap").path
        let writer = try PcapWriter(path: path)
        try writer.writeUDP(time: Timestamp(nanoseconds: 1), source: Endpoint(address: "192.168.0.1", port: 6454),
                            destination: Endpoint(address: "239.255.0.7", port: 5568), payload: [1, 2, 3, 4, 5])
        try writer.close()
        let (_, frames) = try readFrames(path)
        let bytes = try XCTUnwrap(frames.first?.bytes)
        XCTAssertEqual(bytes.count, 14 + 20 + 8 + 5)
        XCTAssertEqual(Array(bytes[0..<6]), [0x01, 0x00, 0x5E, 0x7F, 0x00, 0x07])  // multicast MAC
        XCTAssertEqual(Array(bytes[6..<12]), [0x02, 0x00, 192, 168, 0, 1])         // locally administered
        XCTAssertEqual(Array(bytes[12..<14]), [0x08, 0x00])
        let ip = Array(bytes[14..<34])
        XCTAssertEqual(ip[0], 0x45)
        XCTAssertEqual(ip[6] & 0x40, 0, "DF clear")
        XCTAssertEqual(ip[8], 64, "TTL")
        XCTAssertEqual(FrameBuilder.checksum(ip[...]), 0, "IPv4 header checksum verifies")
        // UDP checksum verifies over the pseudo-header.
        let udp = Array(bytes[34...])
        let pseudo = Array(ip[12..<20]) + [0, 17] + Build.be16(UInt16(udp.count))
        XCTAssertEqual(FrameBuilder.checksum(udp[...], seed: FrameBuilder.sum(pseudo[...])), 0)
        XCTAssertNotEqual(Array(udp[6..<8]), [0, 0])
    }

    func testTooLargePayloadIsAnError() throws {
        let directory = try temporaryDirectory(self)
        let path = directory.appendingPathComponent("large.pcap").path
        let writer = try PcapWriter(path: path)
        let payload = [UInt8](repeating: 0, count: FrameBuilder.maxIPv4UDPPayload + 1)
        XCTAssertThrowsError(try writer.writeUDP(time: .zero, source: Endpoint(address: "10.0.0.1", port: 1),
                                                 destination: Endpoint(address: "10.0.0.2", port: 2), payload: payload)) { error in
            let captureError = error as? CaptureError
            XCTAssertEqual(captureError?.kind, .invalidArgument)
            XCTAssertEqual(captureError?.path, path)
            XCTAssertTrue(captureError?.message.contains("65508") ?? false, "\(error)")
        }
        XCTAssertThrowsError(try writer.writeUDP(time: .zero, source: Endpoint(address: "10.0.0.1", port: 1),
                                                 destination: Endpoint(address: "fe80::2", port: 2), payload: [1]))
        XCTAssertThrowsError(try writer.writeUDP(time: .zero, source: Endpoint(address: "not-an-ip", port: 1),
                                                 destination: Endpoint(address: "10.0.0.2", port: 2), payload: [1]))
        XCTAssertThrowsError(try writer.write(time: Timestamp(nanoseconds: -1), bytes: [1]))
        XCTAssertEqual(writer.recordsWritten, 0)
        try writer.close()
        XCTAssertThrowsError(try writer.write(time: .zero, bytes: [1])) { error in
            XCTAssertEqual((error as? CaptureError)?.kind, .write)
        }
        let (_, frames) = try readFrames(path)
        XCTAssertEqual(frames.count, 0)
    }

    func testSnapshotLengthCutsLongRecords() throws {
        let directory = try temporaryDirectory(self)
        let path = directory.appendingPathComponent("snap.pcap").path
        let writer = try PcapWriter(path: path, snaplen: 60)
        try writer.writeUDP(time: .zero, source: Endpoint(address: "10.0.0.1", port: 1),
                            destination: Endpoint(address: "10.0.0.2", port: 2),
                            payload: [UInt8](repeating: 7, count: 100))
        try writer.close()
        let (_, frames) = try readFrames(path)
        let frame = try XCTUnwrap(frames.first)
        XCTAssertEqual(frame.capturedLength, 60)
        XCTAssertEqual(frame.originalLength, 14 + 20 + 8 + 100)
        XCTAssertTrue(frame.isTruncated)
        let datagram = try XCTUnwrap(PacketParser.parse(frame).udpDatagram)
        XCTAssertEqual(datagram.payload.count, 60 - 42)
        XCTAssertEqual(datagram.lengthNote, .exceedsPresentBytes(declared: 108, present: 26))
    }

    func testUnwritablePathIsAnErrorNamingTheFile() {
        let path = "/nonexistent-dir-\(UUID().uuidString)/x.pcap"
        XCTAssertThrowsError(try PcapWriter(path: path)) { error in
            XCTAssertEqual((error as? CaptureError)?.kind, .open)
            XCTAssertTrue("\(error)".hasPrefix(path), "\(error)")
        }
    }
}
