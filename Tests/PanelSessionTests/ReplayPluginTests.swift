import Foundation
import PanelCapture
import PanelCore
import PanelDevice
import PanelImage
@testable import PanelSession
import XCTest

/// A protocol added later plugs into replay without changes there: two toy protocols, one on
/// TCP (lines "x y value", "show" ends a frame) and one on raw Ethernet (EtherType 0x88B5, the
/// payload is a row of gray pixels), are registered, and replay routes a reassembled TCP stream
/// (segments reordered and retransmitted in the capture) and layer-2 frames to their models.
final class ReplayPluginTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "panelsim-replay-plugin-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    /// A model that turns each carrier unit into pixels with `parse`, and emits a frame when
    /// `parse` says so. Stream bytes are framed per source, as a stream model must.
    final class ToyModel: DeviceModel {
        let name: String
        var canvas: Canvas
        var pending: [PacketSource: [UInt8]] = [:]
        var output = DeviceOutput()
        var counters = DeviceCounters()
        var frames = 0
        var ended: [PacketSource] = []
        let stream: Bool
        init(name: String, width: Int, height: Int, stream: Bool) {
            self.name = name; self.stream = stream
            canvas = Canvas(width: width, height: height, format: .gray)
        }
        func receive(_ datagram: UnsafeRawBufferPointer, from source: PacketSource, at time: Timestamp) {
            counters.packets += 1
            if !stream {
                // Layer 2: bytes 14... are row 0 of the panel.
                for x in 0..<min(canvas.width, max(0, datagram.count - 14)) { canvas.bytes[x] = datagram[14 + x] }
                emit(source, time)
                return
            }
            var buffer = pending[source, default: []] + Array(datagram)
            while let newline = buffer.firstIndex(of: 10) {
                let line = String(decoding: buffer[..<newline], as: UTF8.self)
                buffer.removeSubrange(...newline)
                if line == "show" { emit(source, time); continue }
                let parts = line.split(separator: " ").compactMap { Int($0) }
                if parts.count == 3, parts[0] < canvas.width, parts[1] < canvas.height {
                    canvas.bytes[parts[1] * canvas.width + parts[0]] = UInt8(clamping: parts[2])
                }
            }
            pending[source] = buffer
        }
        func emit(_ source: PacketSource, _ time: Timestamp) {
            frames += 1
            counters.frames += 1
            output.frames.append(FrameEvent(index: frames, time: time, canvas: canvas, universes: [], sources: [FrameSource(source)],
                                            torn: false, synchronized: false))
        }
        func streamEnded(from source: PacketSource, at time: Timestamp) {
            ended.append(source)
            counters.count("stream-ended \(source)")
            pending[source] = nil
        }
        func tick(at time: Timestamp) {}
        func finish(at time: Timestamp) {}
        func takeOutput() -> DeviceOutput { defer { output = DeviceOutput() }; return output }
        var findings: [DeviceFinding] { [] }
        var malformedPackets: [MalformedPacket] { [] }
        var universes: [Int] { [] }
        var multicastGroups: Set<String> { [] }
        var dataMulticastGroups: Set<String> { [] }
        var multicastGeneration: Int { 0 }
    }

    static func toy(_ name: String, carrier: Carrier, port: UInt16, detect: @escaping @Sendable (UnsafeRawBufferPointer) -> Bool) -> ProtocolPlugin {
        ProtocolPlugin(name: name, displayName: name, defaultPort: port, defaultStartUniverse: 0, universeRange: 0...0, options: [:],
                       detect: detect, universeOf: { _ in nil },
                       makeDevice: { s in ToyModel(name: s.name, width: s.map.width, height: s.map.height, stream: carrier == .tcp) },
                       makeSender: { _ in fatalError("toy protocols do not send") },
                       summarize: { _, _ in PacketSummary(kind: .other) }, usesMulticast: false, carrier: carrier)
    }

    let registry = ProtocolRegistry(plugins: [
        ProtocolPlugin.artNet,
        toy("lines", carrier: .tcp, port: 7777, detect: { _ in false }),
        toy("row", carrier: .ethernet, port: 0, detect: { $0.count >= 14 && $0[12] == 0x88 && $0[13] == 0xB5 }),
    ])

    /// IPv4 + TCP (no options); checksums are left zero (readers do not check them).
    func tcpPacket(from: UInt8, sport: UInt16, dport: UInt16, seq: UInt32, flags: UInt8, _ payload: String = "") -> [UInt8] {
        let data = Array(payload.utf8)
        let total = 40 + data.count
        var p: [UInt8] = [0x45, 0, UInt8(total >> 8), UInt8(total & 0xFF), 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, from, 10, 0, 0, from == 1 ? 2 : 1]
        p += [UInt8(sport >> 8), UInt8(sport & 0xFF), UInt8(dport >> 8), UInt8(dport & 0xFF)]
        p += [UInt8(seq >> 24), UInt8((seq >> 16) & 0xFF), UInt8((seq >> 8) & 0xFF), UInt8(seq & 0xFF), 0, 0, 0, 0, 0x50, flags, 0xFF, 0xFF, 0, 0, 0, 0]
        return p + data
    }

    func testTCPStreamsAndLayer2FramesReachTheirProtocols() throws {
        let path = dir + "/toy.pcap"
        let writer = try PcapWriter(path: path)
        var t = Timestamp(nanoseconds: 1_000_000_000)
        func ip(_ p: [UInt8]) throws { t = t + Timestamp(nanoseconds: 1_000_000); try writer.writeIP(time: t, packet: p) }
        let syn: UInt8 = 0x02, ack: UInt8 = 0x10, psh: UInt8 = 0x18, fin: UInt8 = 0x11
        // Client 10.0.0.1:40000 → server 10.0.0.2:7777, ISN 1000: "0 0 10\n1 0 20\nshow\n" then "2 1 30\nshow\n".
        let a = "0 0 10\n1 0 20\n", b = "show\n", c = "2 1 30\nshow\n"
        try ip(tcpPacket(from: 1, sport: 40000, dport: 7777, seq: 1000, flags: syn))
        try ip(tcpPacket(from: 2, sport: 7777, dport: 40000, seq: 5000, flags: syn | ack))
        try ip(tcpPacket(from: 1, sport: 40000, dport: 7777, seq: 1001 + UInt32(a.utf8.count), flags: psh, b))  // arrives early
        try ip(tcpPacket(from: 1, sport: 40000, dport: 7777, seq: 1001, flags: psh, a))
        try ip(tcpPacket(from: 1, sport: 40000, dport: 7777, seq: 1001, flags: psh, a))  // retransmitted
        try ip(tcpPacket(from: 2, sport: 7777, dport: 40000, seq: 5001, flags: psh, "ok\n"))  // the server's reply: not fed
        try ip(tcpPacket(from: 1, sport: 40000, dport: 7777, seq: 1001 + UInt32((a + b).utf8.count), flags: psh, c))
        try ip(tcpPacket(from: 1, sport: 40000, dport: 7777, seq: 1001 + UInt32((a + b + c).utf8.count), flags: fin))
        // Two layer-2 frames of the toy protocol and one of another EtherType.
        for (k, type) in [(0, UInt16(0x88B5)), (1, UInt16(0x88B5)), (2, UInt16(0x88B6))] {
            t = t + Timestamp(nanoseconds: 1_000_000)
            let header: [UInt8] = [0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x22, 0x22, 0x33, 0x44, 0x55, 0x66, UInt8(type >> 8), UInt8(type & 0xFF)]
            try writer.write(time: t, bytes: header + [UInt8(100 + k), UInt8(110 + k), UInt8(120 + k), 0])
        }
        try writer.close()

        let yaml = """
        controllers:
          - { name: tcp-panel, protocol: lines, transport: { tcp: 0.0.0.0:7777 }, panel: { width: 3, height: 2, pixel: gray } }
          - { name: l2-panel, protocol: row, transport: { interface: eth0 }, panel: { width: 3, height: 1, pixel: gray } }
        """
        let config = try SessionConfig.parse(yaml: yaml, file: "t", registry: registry)
        // Content does not say "lines": the port does (detection by port).
        let result = try ReplaySession(options: ReplayOptions(capturePath: path, outputDirectory: dir + "/out", config: config),
                                       registry: registry).run()
        XCTAssertNil(result.captureError)
        XCTAssertEqual(result.tcpConnections, 1)
        XCTAssertEqual(result.ethernetFrames, 3)
        XCTAssertEqual(result.ignored.first { $0.key.contains("layer 2, no protocol") }?.value, 1, "\(result.ignored)")
        // The client's FIN ends the stream once (the server never closed its side here).
        XCTAssertEqual(result.controllers.first { $0.name == "tcp-panel" }?.counters.events, ["stream-ended 10.0.0.1:40000": 1])
        let tcp = try frames("tcp-panel")
        XCTAssertEqual(tcp.map(\.bytes), [[10, 20, 0, 0, 0, 0], [10, 20, 0, 0, 0, 30]])
        let row = try frames("l2-panel")
        XCTAssertEqual(row.map(\.bytes), [[100, 110, 120], [101, 111, 121]])
    }

    func frames(_ controller: String) throws -> [Canvas] {
        let lines = (FileText.read(dir + "/out/\(controller)/frames.jsonl") ?? "").split(separator: "\n").compactMap { JSONValue.parse(String($0)) }
        return try lines.map { try PNGFile.read(path: dir + "/out/\(controller)/" + ($0["file"]?.stringValue ?? "")) }
    }
}
