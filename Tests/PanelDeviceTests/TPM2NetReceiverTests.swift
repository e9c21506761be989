import PanelCore
import PanelWire
import XCTest

@testable import PanelDevice

/// The TPM2.net receiver: numbered packets, torn frames, pings.
final class TPM2NetReceiverTests: XCTestCase {
    let sender = PacketSource(address: "10.0.0.7", port: 40000)

    func receiver(width: Int = 6, height: Int = 1, options: [String: String] = [:]) throws -> DeviceModel {
        let map = try ChannelMap(width: width, height: height, format: .rgb, settings: MappingSettings(startUniverse: 0, channelsPerUniverse: 510))
        return try ProtocolPlugin.tpm2net.makeDevice(ControllerSettings(name: "t", map: map, options: options))
    }

    func packet(_ n: UInt8, of count: UInt8, _ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        data.withUnsafeBytes { TPM2NetEncoder.packet(into: &out, number: n, count: count, data: $0) }
        return out
    }

    /// 6 pixels as 6 + 6 + 6 bytes: the frame is emitted when the third arrives, pixel-exact.
    func testFrameCompleteWhenAllPacketsArrived() throws {
        let r = try receiver()
        let bytes = (0..<18).map { UInt8($0 + 1) }
        r.feed(packet(1, of: 3, Array(bytes[0..<6])), from: sender, at: ms(0))
        r.feed(packet(3, of: 3, Array(bytes[12..<18])), from: sender, at: ms(1))
        XCTAssertTrue(r.frames().isEmpty)
        r.feed(packet(2, of: 3, Array(bytes[6..<12])), from: sender, at: ms(2))
        let frames = r.frames()
        XCTAssertEqual(frames.count, 1)
        XCTAssertEqual(frames.first?.canvas.bytes, bytes)
        XCTAssertEqual(frames.first?.torn, false)
        XCTAssertEqual(frames.first?.sources, [FrameSource(sender)])
    }

    /// A shorter last packet lands after the equal parts.
    func testShorterLastPacket() throws {
        let r = try receiver()
        r.feed(packet(1, of: 2, [UInt8](repeating: 1, count: 12)), from: sender, at: ms(0))
        r.feed(packet(2, of: 2, [UInt8](repeating: 2, count: 6)), from: sender, at: ms(1))
        let f = try XCTUnwrap(r.frames().first)
        XCTAssertEqual(f.canvas.bytes, [UInt8](repeating: 1, count: 12) + [UInt8](repeating: 2, count: 6))
    }

    /// A missing packet: the next frame's packet 1 tears the incomplete one.
    func testMissingPacketTearsOnNextPacketOne() throws {
        let r = try receiver()
        r.feed(packet(1, of: 3, [UInt8](repeating: 1, count: 6)), from: sender, at: ms(0))
        r.feed(packet(3, of: 3, [UInt8](repeating: 3, count: 6)), from: sender, at: ms(1))
        r.feed(packet(1, of: 3, [UInt8](repeating: 4, count: 6)), from: sender, at: ms(40))
        let frames = r.frames()
        XCTAssertEqual(frames.count, 1)
        XCTAssertEqual(frames.first?.torn, true)
        XCTAssertEqual(frames.first?.canvas.bytes, [UInt8](repeating: 1, count: 6) + [UInt8](repeating: 0, count: 6) + [UInt8](repeating: 3, count: 6))
        XCTAssertEqual(r.counters.torn, 1)
        XCTAssertEqual(r.findings.first?.kind, "torn")
    }

    /// Out of order across the frame start (2 before 1): the packet 1 tears what came first.
    func testOutOfOrderPacketOneTears() throws {
        let r = try receiver()
        r.feed(packet(2, of: 2, [UInt8](repeating: 2, count: 9)), from: sender, at: ms(0))
        r.feed(packet(1, of: 2, [UInt8](repeating: 1, count: 9)), from: sender, at: ms(1))
        let frames = r.frames()
        XCTAssertEqual(frames.map(\.torn), [true])
        XCTAssertEqual(r.counters["last-packet-unplaced"], 1)
    }

    func testSilenceTearsAfterTimeout() throws {
        let r = try receiver()
        r.feed(packet(1, of: 2, [UInt8](repeating: 5, count: 9)), from: sender, at: ms(0))
        r.tick(at: ms(50))
        XCTAssertTrue(r.frames().isEmpty)
        r.tick(at: ms(150))
        XCTAssertEqual(r.frames().map(\.torn), [true])
        r.finish(at: ms(200))
        XCTAssertTrue(r.frames().isEmpty)
    }

    func testPastPanelCountedAndUnusableNumbersDropped() throws {
        let r = try receiver(width: 2)  // 6 bytes
        r.feed(packet(1, of: 1, [UInt8](repeating: 9, count: 1000)), from: sender, at: ms(0))
        XCTAssertEqual(r.frames().first?.canvas.bytes, [UInt8](repeating: 9, count: 6))
        XCTAssertEqual(r.counters["past-panel-bytes"], 994)
        r.feed(packet(255, of: 255, [UInt8](repeating: 9, count: 65535)), from: sender, at: ms(1))
        r.feed(packet(0, of: 1, [1, 2, 3]), from: sender, at: ms(2))
        XCTAssertEqual(r.counters["packet-number-unusable"], 1)
        XCTAssertEqual(r.counters.violations["tpm2net.packet-number"], 1)
    }

    func testPingAnsweredWithAC() throws {
        var ping: [UInt8] = []
        TPM2NetEncoder.ping(into: &ping)
        let wled = try receiver()
        wled.feed(ping, from: sender, at: ms(0))
        let out = wled.takeOutput()
        XCTAssertEqual(out.replies.map(\.bytes), [[0xAC]])
        XCTAssertEqual(out.replies.first?.destination, PacketSource(address: "10.0.0.7", port: 65442))
        let source = try receiver(options: ["ping-reply": "source"])
        source.feed(ping, from: sender, at: ms(0))
        XCTAssertEqual(source.takeOutput().replies.first?.destination, sender)
        let off = try receiver(options: ["ping-reply": "off"])
        off.feed(ping, from: sender, at: ms(0))
        XCTAssertTrue(off.takeOutput().replies.isEmpty)
        XCTAssertThrowsError(try receiver(options: ["ping-reply": "loud"]))
    }

    /// The sender's packets, fed back, make the frame it sent (including a frame over 255 × 1490 bytes is not needed here).
    func testSenderRoundTrip() throws {
        let map = try ChannelMap(width: 170, height: 10, format: .rgb, settings: MappingSettings(startUniverse: 0, channelsPerUniverse: 510, layout: .serpentine))
        let canvas = TestPattern.allCases[0].render(frame: 3, width: 170, height: 10, format: .rgb)
        var s = ProtocolPlugin.tpm2net.makeSender(SenderSettings(map: map))
        var packets: [[UInt8]] = []
        s.encode(canvas) { b, _ in packets.append(Array(b)) }
        XCTAssertEqual(packets.count, 4)  // 5100 bytes: 4 × 1275
        XCTAssertTrue(packets.allSatisfy { $0.count <= TPM2Net.maxDataPerPacket + 7 })
        XCTAssertEqual(packets.map { $0[4] }, [1, 2, 3, 4])
        let r = try ProtocolPlugin.tpm2net.makeDevice(ControllerSettings(name: "t", map: map))
        for p in packets { r.feed(p, from: sender, at: ms(0)) }
        XCTAssertEqual(r.frames().map(\.canvas), [canvas])
        XCTAssertEqual(TPM2NetSender.split(bytes: 3 * 170_000, bytesPerPixel: 3).count, 255)
    }

    /// Every oversized packet counts its violation, also when the rule list is reused.
    func testRepeatedViolationsCountedPerPacket() throws {
        let r = try receiver(width: 1000, height: 1)
        r.feed(packet(1, of: 2, [UInt8](repeating: 1, count: 1500)), from: sender, at: ms(0))
        r.feed(packet(2, of: 2, [UInt8](repeating: 2, count: 1500)), from: sender, at: ms(1))
        r.feed(packet(1, of: 1, [UInt8](repeating: 3, count: 30)), from: sender, at: ms(2))
        XCTAssertEqual(r.counters.violations, ["tpm2net.data-over-1490": 2])
        XCTAssertEqual(r.frames().count, 2)
    }
}
