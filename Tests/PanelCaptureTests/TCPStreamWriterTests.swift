import Foundation
import XCTest
@testable import PanelCapture
import PanelCore

/// TCP conversations written into a capture read back as the same byte streams, through
/// PanelSim's reassembly and through tshark's "Follow TCP Stream".
final class TCPStreamWriterTests: XCTestCase {
    func testConversationsReadBackByteForByte() throws {
        let path = try temporaryDirectory(self).appendingPathComponent("tcp.pcap").path
        let pcap = try PcapWriter(path: path)
        let writer = TCPStreamWriter(writer: pcap)
        let client = Endpoint(address: "10.0.0.1", port: 40001), server = Endpoint(address: "10.0.0.2", port: 7890)
        let big = (0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 7) }  // four segments
        let hello: [UInt8] = Array("hello".utf8), reply: [UInt8] = Array("ok".utf8)
        var t = Timestamp(nanoseconds: 1_000_000_000)
        let a = try writer.open(client: client, server: server, time: t)
        t = t + Timestamp(nanoseconds: 1_000_000)
        try hello.withUnsafeBytes { try writer.write(connection: a, fromClient: true, bytes: $0, time: t) }
        try reply.withUnsafeBytes { try writer.write(connection: a, fromClient: false, bytes: $0, time: t) }
        try big.withUnsafeBytes { try writer.write(connection: a, fromClient: true, bytes: $0, time: t) }
        let b = try writer.open(client: Endpoint(address: "10.0.0.3", port: 40002), server: server, time: t)
        try hello.withUnsafeBytes { try writer.write(connection: b, fromClient: true, bytes: $0, time: t) }
        try writer.close(connection: a, byClient: true, time: t)
        try writer.close(connection: b, byClient: true, reset: true, time: t)
        try pcap.close()

        let (events, summary) = try decodeAll(path)
        XCTAssertNil(summary.error)
        var streams: [String: [UInt8]] = [:]
        var closes: [String] = []
        for e in events {
            if case .tcpData(let d) = e { streams["c\(d.connection) \(d.fromClient ? "client" : "server")", default: []] += d.payload }
            if case .tcpClose(let flow, let connection, _, let reason) = e { closes.append("c\(connection) \(flow.source.port) \(reason.rawValue)") }
        }
        XCTAssertEqual(streams["c1 client"], hello + big)
        XCTAssertEqual(streams["c1 server"], reply)
        XCTAssertEqual(streams["c2 client"], hello)
        XCTAssertEqual(Set(closes), ["c1 40001 fin", "c1 7890 fin", "c2 40002 reset", "c2 7890 reset"])

        guard let follow = try runTshark(["-n", "-r", path, "-q", "-z", "follow,tcp,raw,0"]) else { throw XCTSkip("tshark is not installed") }
        let lines = follow.split(separator: "\n").map(String.init)
        let clientHex = lines.filter { $0.first?.isHexDigit == true && !$0.hasPrefix("Filter") && !$0.hasPrefix("Follow") }.joined()
        let serverHex = lines.filter { $0.hasPrefix("\t") }.map { $0.trimmingCharacters(in: .whitespaces) }.joined()
        XCTAssertEqual(clientHex, (hello + big).map { String(format: "%02x", $0) }.joined())
        XCTAssertEqual(serverHex, reply.map { String(format: "%02x", $0) }.joined())
        // tshark checks our checksums too: every IP and TCP checksum is good (status 1).
        let statuses = try runTshark(["-n", "-r", path, "-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
                                      "-T", "fields", "-e", "ip.checksum.status", "-e", "tcp.checksum.status"])
        let rows = (statuses ?? "").split(separator: "\n")
        XCTAssertEqual(rows.count, 3 + 1 + 1 + 4 + 3 + 1 + 3 + 1, "\(rows)")
        XCTAssertTrue(rows.allSatisfy { $0 == "1\t1" }, "\(rows)")
    }

    func testIPv6EndpointsAreRefusedWithAClearError() throws {
        let path = try temporaryDirectory(self).appendingPathComponent("v6.pcap").path
        let writer = TCPStreamWriter(writer: try PcapWriter(path: path))
        XCTAssertThrowsError(try writer.open(client: Endpoint(address: "::1", port: 1), server: Endpoint(address: "::1", port: 2), time: .zero)) {
            XCTAssertTrue("\($0)".contains("IPv4"), "\($0)")
        }
    }
}
