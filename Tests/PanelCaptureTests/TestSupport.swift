import Foundation
import XCTest
@testable import PanelCapture
import PanelCore

/// The public captures: $PANELSIM_CAPTURES (the `captures/public` directory, or its
/// parent), else ../../../shared/captures/public from this source file. Skips when absent.
func publicCapturesDirectory() throws -> URL {
    let fileManager = FileManager.default
    var candidates: [URL] = []
    if let env = ProcessInfo.processInfo.environment["PANELSIM_CAPTURES"], !env.isEmpty {
        let root = URL(fileURLWithPath: env)
        candidates = [root.appendingPathComponent("public"), root]
    } else {
        let here = URL(fileURLWithPath: #filePath)  // …/Tests/PanelCaptureTests/TestSupport.swift
        candidates = [here.deletingLastPathComponent()  // PanelCaptureTests
            .deletingLastPathComponent()                // Tests
            .deletingLastPathComponent()                // package root
            .deletingLastPathComponent()                // its parent
            .appendingPathComponent("shared/captures/public")]
    }
    for candidate in candidates {
        var isDirectory: ObjCBool = false
        if fileManager.fileExists(atPath: candidate.appendingPathComponent("artnet").path, isDirectory: &isDirectory),
           isDirectory.boolValue {
            return candidate
        }
    }
    throw XCTSkip("public captures not found (looked in \(candidates.map(\.path).joined(separator: ", "))); set PANELSIM_CAPTURES to the captures/public directory")
}

/// A fresh temporary directory, removed at the end of the test.
func temporaryDirectory(_ testCase: XCTestCase) throws -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("PanelCaptureTests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    testCase.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url
}

/// Reads every record of a file (throws at damage).
func readFrames(_ path: String) throws -> (linkType: Int32, frames: [CapturedFrame]) {
    let reader = try CaptureReader(path: path)
    return (reader.linkType, try reader.readAll())
}

extension ParsedPacket {
    var udpDatagram: UDPDatagram? {
        if case .udp(let datagram) = self { return datagram }
        return nil
    }
    var ethernetFrame: EthernetFrame? {
        if case .ethernet(let frame) = self { return frame }
        return nil
    }
    var fragment: IPFragment? {
        if case .ipFragment(let fragment) = self { return fragment }
        return nil
    }
    var malformedReason: (reason: String, offset: Int)? {
        if case .malformed(let reason, let offset) = self { return (reason, offset) }
        return nil
    }
    var otherReason: String? {
        if case .other(let reason) = self { return reason }
        return nil
    }
}

/// Little helpers to build test packets.
enum Build {
    static func be16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }
    static func be32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * UInt32($0))) } }
    static func le16(_ value: UInt16) -> [UInt8] { be16(value).reversed() }
    static func le32(_ value: UInt32) -> [UInt8] { be32(value).reversed() }

    /// IPv4 + UDP with a correct checksum, from the production builder.
    static func ipv4UDP(_ source: String, _ sourcePort: UInt16, _ destination: String, _ destinationPort: UInt16,
                        _ payload: [UInt8]) -> [UInt8] {
        FrameBuilder.ipv4UDP(source: IPAddressText.parseIPv4(source) ?? [], sourcePort: sourcePort,
                             destination: IPAddressText.parseIPv4(destination) ?? [], destinationPort: destinationPort,
                             identification: 7, payload: payload)
    }

    static func ipv6UDP(_ source: String, _ sourcePort: UInt16, _ destination: String, _ destinationPort: UInt16,
                        _ payload: [UInt8]) -> [UInt8] {
        FrameBuilder.ipv6UDP(source: IPAddressText.parseIPv6(source) ?? [], sourcePort: sourcePort,
                             destination: IPAddressText.parseIPv6(destination) ?? [], destinationPort: destinationPort,
                             payload: payload)
    }

    static let macA: [UInt8] = [0x02, 0, 0, 0, 0, 0x0A]
    static let macB: [UInt8] = [0x02, 0, 0, 0, 0, 0x0B]

    static func ethernet(_ etherType: UInt16, _ payload: [UInt8], tags: [(tpid: UInt16, tci: UInt16)] = []) -> [UInt8] {
        var frame = macB + macA
        for tag in tags { frame += be16(tag.tpid) + be16(tag.tci) }
        return frame + be16(etherType) + payload
    }

    /// pcapng section header block (little-endian).
    static func pcapngSectionHeader() -> [UInt8] {
        le32(0x0A0D_0D0A) + le32(28) + le32(0x1A2B_3C4D) + le16(1) + le16(0)
            + [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF] + le32(28)
    }

    /// pcapng interface description block (microsecond timestamps by default).
    static func pcapngInterface(linkType: UInt16) -> [UInt8] {
        le32(1) + le32(20) + le16(linkType) + le16(0) + le32(262_144) + le32(20)
    }

    /// pcapng enhanced packet block.
    static func pcapngPacket(interface: UInt32, microseconds: UInt64, data: [UInt8]) -> [UInt8] {
        let padded = data + [UInt8](repeating: 0, count: (4 - data.count % 4) % 4)
        let total = UInt32(32 + padded.count)
        return le32(6) + le32(total) + le32(interface)
            + le32(UInt32(truncatingIfNeeded: microseconds >> 32)) + le32(UInt32(truncatingIfNeeded: microseconds))
            + le32(UInt32(data.count)) + le32(UInt32(data.count)) + padded + le32(total)
    }
}

extension Build {
    /// An IPv4 header (correct checksum) + payload; `fragmentOffset` in bytes (a multiple of 8).
    static func ipv4(_ source: String, _ destination: String, protocolNumber: UInt8, identification: UInt16 = 1,
                     fragmentOffset: Int = 0, moreFragments: Bool = false, payload: [UInt8]) -> [UInt8] {
        var header: [UInt8] = [0x45, 0] + be16(UInt16(20 + payload.count)) + be16(identification)
        header += be16(UInt16(fragmentOffset / 8) | (moreFragments ? 0x2000 : 0))
        header += [64, protocolNumber, 0, 0]
        header += (IPAddressText.parseIPv4(source) ?? []) + (IPAddressText.parseIPv4(destination) ?? [])
        let checksum = FrameBuilder.checksum(header[...])
        header[10] = UInt8(checksum >> 8)
        header[11] = UInt8(checksum & 0xFF)
        return header + payload
    }

    /// An IPv6 header with a fragment header + fragment payload.
    static func ipv6Fragment(_ source: String, _ destination: String, nextHeader: UInt8, identification: UInt32,
                             fragmentOffset: Int, moreFragments: Bool, payload: [UInt8]) -> [UInt8] {
        let fragmentHeader = [nextHeader, 0] + be16(UInt16(fragmentOffset / 8) << 3 | (moreFragments ? 1 : 0)) + be32(identification)
        return [0x60, 0, 0, 0] + be16(UInt16(8 + payload.count)) + [44, 64]
            + (IPAddressText.parseIPv6(source) ?? []) + (IPAddressText.parseIPv6(destination) ?? [])
            + fragmentHeader + payload
    }

    /// A UDP header (checksum 0: none) + payload, to be fragmented.
    static func udp(_ sourcePort: UInt16, _ destinationPort: UInt16, _ payload: [UInt8]) -> [UInt8] {
        be16(sourcePort) + be16(destinationPort) + be16(UInt16(8 + payload.count)) + [0, 0] + payload
    }

    /// A TCP header (no options, checksum 0) + payload.
    static func tcp(_ sourcePort: UInt16, _ destinationPort: UInt16, seq: UInt32, ack: UInt32 = 0,
                    flags: TCPFlags, _ payload: [UInt8] = []) -> [UInt8] {
        be16(sourcePort) + be16(destinationPort) + be32(seq) + be32(ack)
            + [0x50, UInt8(flags.rawValue & 0xFF)] + be16(65_535) + [0, 0, 0, 0] + payload
    }
}

/// Runs a `CaptureDecoder` over `path` and keeps every event.
func decodeAll(_ path: String) throws -> (events: [CaptureEvent], summary: CaptureReadSummary) {
    var events: [CaptureEvent] = []
    let summary = try CaptureDecoder(path: path).run { events.append($0) }
    return (events, summary)
}

extension CaptureEvent {
    /// A one-line description for comparing event sequences in tests.
    var line: String {
        switch self {
        case .udp(let d):
            return "udp #\(d.recordNumber) \(d.source) → \(d.destination) \(d.payload.count) bytes"
        case .tcpOpen(let flow, let connection, let fromClient, _, let record):
            return "open #\(record) c\(connection) \(fromClient ? "client" : "server") \(flow)"
        case .tcpData(let data):
            let text = String(decoding: data.payload, as: UTF8.self)
            let missing = data.missingBefore > 0 ? " missing \(data.missingBefore)" : ""
            return "data #\(data.recordNumber) c\(data.connection) \(data.fromClient ? "client" : "server")\(missing) \"\(text)\""
        case .tcpClose(let flow, let connection, _, let reason):
            return "close c\(connection) \(flow) \(reason.rawValue)"
        case .ethernet(let frame):
            return "ethernet #\(frame.recordNumber)"
        case .serial(let d):
            return "serial #\(d.recordNumber) \(d.direction.rawValue) \(Array(d.payload))"
        case .notDecoded(let record, let reason):
            return "not decoded #\(record): \(reason)"
        case .malformed(let record, _, let reason, let offset):
            return "malformed #\(record) at \(offset): \(reason)"
        case .reassemblyProblem(let record, _, let detail):
            return "problem #\(record): \(detail)"
        }
    }
}

/// tshark, when installed (the oracle for what PanelCapture writes).
let tsharkPath = ["/usr/bin/tshark", "/usr/local/bin/tshark"].first { FileManager.default.isExecutableFile(atPath: $0) }

/// Runs tshark and returns what it printed; nil when tshark is not installed.
func runTshark(_ arguments: [String]) throws -> String? {
    guard let tshark = tsharkPath else { return nil }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: tshark)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    var environment = ProcessInfo.processInfo.environment
    environment["HOME"] = FileManager.default.temporaryDirectory.path  // no profile writes in $HOME
    process.environment = environment
    try process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    XCTAssertEqual(process.terminationStatus, 0, "tshark \(arguments.joined(separator: " "))")
    return String(decoding: output, as: UTF8.self)
}
