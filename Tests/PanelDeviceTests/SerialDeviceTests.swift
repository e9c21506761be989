import PanelCore
import PanelWire
import XCTest

@testable import PanelDevice

/// The Enttec DMX USB Pro widget and the TPM2 serial receiver.
final class SerialDeviceTests: XCTestCase {
    let line = PacketSource(address: "serial", port: 0)

    func widget(_ options: [String: String] = [:], width: Int = 8, start: Int = 0) throws -> DeviceModel {
        try ProtocolPlugin.enttecPro.makeDevice(ControllerSettings(name: "w", map: rowMap(width: width, channels: 510, start: start), options: options))
    }

    func testWidgetAnswersParametersAndSerialByteExact() throws {
        let w = try widget(["serial-number": "12345678"])
        w.feed([0x7E, 0x03, 0x02, 0x00, 0x00, 0x00, 0xE7], from: line, at: ms(0))
        w.feed([0x7E, 0x0A, 0x00, 0x00, 0xE7], from: line, at: ms(1))
        let replies = w.takeOutput().replies
        XCTAssertEqual(replies.map(\.bytes), [[0x7E, 0x03, 0x05, 0x00, 0x44, 0x01, 0x09, 0x01, 0x28, 0xE7],
                                              [0x7E, 0x0A, 0x04, 0x00, 0x78, 0x56, 0x34, 0x12, 0xE7]])
        XCTAssertEqual(replies.map(\.destination), [line, line])
    }

    func testLabel4ChangesWhatLabel3Reports() throws {
        let w = try widget(["firmware": "516"])
        w.feed([0x7E, 0x04, 0x07, 0x00, 0x02, 0x00, 20, 3, 30, 0xAA, 0xBB, 0xE7], from: line, at: ms(0))
        XCTAssertTrue(w.takeOutput().replies.isEmpty)
        w.feed([0x7E, 0x03, 0x02, 0x00, 0x02, 0x00, 0xE7], from: line, at: ms(1))
        XCTAssertEqual(w.takeOutput().replies.map(\.bytes), [[0x7E, 0x03, 0x07, 0x00, 0x04, 0x02, 20, 3, 30, 0xAA, 0xBB, 0xE7]])
        XCTAssertEqual(w.counters["parameters-set"], 1)
    }

    func testProbes77And78AreNotAnswered() throws {
        let w = try widget()
        // OLA's probe sequence, byte for byte, then its Robe probe.
        w.feed([0x7E, 0x4D, 0x00, 0x00, 0xE7, 0x7E, 0x4E, 0x00, 0x00, 0xE7], from: line, at: ms(0))
        XCTAssertTrue(w.takeOutput().replies.isEmpty)
        XCTAssertEqual(w.counters["probe-label-77-unanswered"], 1)
        XCTAssertEqual(w.counters["probe-label-78-unanswered"], 1)
        w.feed([0xA5, 0x14, 0x00, 0x00, 0xB9, 0x72], from: line, at: ms(1))
        XCTAssertTrue(w.takeOutput().replies.isEmpty)
        XCTAssertEqual(w.counters["skipped-bytes"], 6)
        w.feed(EnttecPro.message(label: 11, data: []), from: line, at: ms(2))
        XCTAssertEqual(w.counters["label-11-ignored"], 1)
    }

    func testBadOptionsAreRejected() {
        XCTAssertThrowsError(try widget(["serial-number": "12x"])) { XCTAssertEqual(($0 as? OptionError)?.key, "serial-number") }
        XCTAssertThrowsError(try widget(["firmware": "70000"])) { XCTAssertEqual(($0 as? OptionError)?.key, "firmware") }
    }

    func testLabel6FramesPixelExact() throws {
        let w = try widget(width: 8, start: 3)
        let slots: [UInt8] = (0..<24).map { UInt8($0 * 10) }
        // Split across reads, with the parameters write pyenttec starts with.
        let stream = [0x7E, 0x04, 0x05, 0x00, 0x00, 0x00, 0x09, 0x01, 0x28, 0xE7] + EnttecPro.message(label: 6, data: [0] + slots)
        w.feed(Array(stream[..<13]), from: line, at: ms(0))
        w.feed(Array(stream[13...]), from: line, at: ms(1))
        let frames = w.frames()
        XCTAssertEqual(frames.count, 1)
        XCTAssertEqual(frames.first?.canvas.bytes, slots)
        XCTAssertEqual(frames.first?.universes, [3])
        XCTAssertEqual(frames.first?.index, 1)
        // A second message updates only the slots it carries: one frame per message.
        w.feed(EnttecPro.message(label: 6, data: [0] + [UInt8](repeating: 1, count: 3)), from: line, at: ms(2))
        let second = w.frames()
        XCTAssertEqual(second.first?.canvas.bytes, [1, 1, 1] + slots[3...])
        XCTAssertEqual(second.first?.index, 2)
        XCTAssertEqual(w.counters.frames, 2)
        XCTAssertEqual(w.counters["send-dmx-below-24-slots"], 1)
        // A non-zero START code is not level data.
        w.feed(EnttecPro.message(label: 6, data: [0xCC] + slots), from: line, at: ms(3))
        XCTAssertTrue(w.frames().isEmpty)
    }

    func testWidgetCountsMalformedAndStaysBounded() throws {
        let w = try widget()
        w.feed([0x7E, 0x06, 0xFF, 0x7F] + [UInt8](repeating: 0x11, count: 5000), from: line, at: ms(0))
        XCTAssertEqual(w.counters.malformed["length-past-end"], 1)
        XCTAssertEqual(w.counters["skipped-bytes"], 5004)
        XCTAssertEqual(w.malformedPackets.first?.offset, 2)
        w.feed([0x7E, 0x04, 0x01, 0x00, 0x00, 0xE7], from: line, at: ms(1))
        XCTAssertEqual(w.counters.malformed["too-short"], 1)
    }

    // MARK: TPM2

    func receiver(_ ack: String?, width: Int = 4, height: Int = 2) throws -> DeviceModel {
        let map = try ChannelMap(width: width, height: height, format: .rgb, settings: MappingSettings(startUniverse: 0, channelsPerUniverse: 6, layout: .serpentine))
        return try ProtocolPlugin.tpm2.makeDevice(ControllerSettings(name: "t", map: map, options: ack.map { ["ack": $0] } ?? [:]))
    }

    func testTPM2DataFrameInChainOrder() throws {
        let r = try receiver(nil)
        let data: [UInt8] = (0..<24).map { UInt8($0) }
        r.feed(TPM2Serial.packet(type: .data, data: data), from: line, at: ms(0))
        let frames = r.frames()
        XCTAssertEqual(frames.count, 1)
        // Serpentine: the second row runs right to left.
        var expected = Canvas(width: 4, height: 2, format: .rgb)
        for chain in 0..<8 {
            let (x, y) = chain < 4 ? (chain, 0) : (7 - chain, 1)
            expected.setPixel(x: x, y: y, Array(data[(chain * 3)..<(chain * 3 + 3)]))
        }
        XCTAssertEqual(frames.first?.canvas, expected)
    }

    func testTPM2AckProfiles() throws {
        let pingOnly = try receiver(nil)
        pingOnly.feed(TPM2Serial.packet(type: .data, data: [1, 2, 3]) + TPM2Serial.packet(type: .command, data: [0]), from: line, at: ms(0))
        XCTAssertTrue(pingOnly.takeOutput().replies.isEmpty)
        pingOnly.feed(TPM2Serial.packet(type: .ping, data: []), from: line, at: ms(1))
        XCTAssertEqual(pingOnly.takeOutput().replies.map(\.bytes), [[0xAC]])

        let every = try receiver("every-packet")
        every.feed(TPM2Serial.packet(type: .data, data: [1, 2, 3]) + TPM2Serial.packet(type: .command, data: [0])
                   + TPM2Serial.packet(type: .ping, data: []), from: line, at: ms(0))
        let out = every.takeOutput()
        XCTAssertEqual(out.replies.map(\.bytes), [[0xAC], [0xAC], [0xAC]])
        XCTAssertEqual(out.frames.count, 1)
        XCTAssertThrowsError(try receiver("sometimes")) { XCTAssertEqual(($0 as? OptionError)?.key, "ack") }
    }

    func testSendersEncodeWhatModelsDecode() throws {
        let map = rowMap(width: 8, channels: 510, start: 0)
        var canvas = Canvas(width: 8, height: 1, format: .rgb)
        for i in canvas.bytes.indices { canvas.bytes[i] = UInt8(i * 7 % 256) }
        for plugin in [ProtocolPlugin.enttecPro, .tpm2] {
            var sender = plugin.makeSender(SenderSettings(map: map))
            let model = try plugin.makeDevice(ControllerSettings(name: "m", map: map))
            sender.encode(canvas) { bytes, _ in model.receive(bytes, from: line, at: ms(0)) }
            XCTAssertEqual(model.frames().first?.canvas, canvas, plugin.name)
        }
    }

    func testTPM2SenderCarriesTheFirst65535BytesOfALargePanel() throws {
        // 200 × 120 RGB = 72,000 bytes in 142 universes: more than one packet holds.
        let map = try ChannelMap(width: 200, height: 120, format: .rgb, settings: MappingSettings(startUniverse: 0, channelsPerUniverse: 510))
        var canvas = Canvas(width: 200, height: 120, format: .rgb)
        for i in canvas.bytes.indices { canvas.bytes[i] = UInt8(truncatingIfNeeded: i &* 31 &+ i >> 8) }
        var sender = ProtocolPlugin.tpm2.makeSender(SenderSettings(map: map))
        var packets: [[UInt8]] = []
        sender.encode(canvas) { bytes, _ in packets.append(Array(bytes)) }
        XCTAssertEqual(packets, [TPM2Serial.packet(type: .data, data: Array(canvas.bytes.prefix(65535)))])
    }
}
