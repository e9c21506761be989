import Foundation
import PanelCapture
import PanelWire
import XCTest

/// The public captures in ../shared/captures/public decoded by PanelSim's own readers and
/// decoders; expected values come from tshark 4.0 (commands in each test).
final class PublicCaptureTests: XCTestCase {
    var captures: String {
        if let env = ProcessInfo.processInfo.environment["PANELSIM_CAPTURES"] { return env }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../shared/captures/public").standardized.path
    }

    func datagrams(_ file: String) throws -> [UDPDatagram] {
        let path = captures + "/" + file
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("captures not found at \(path); set PANELSIM_CAPTURES") }
        let reader = try CaptureReader(path: path)
        var out: [UDPDatagram] = []
        while let frame = try reader.next() {
            if case .udp(let d) = PacketParser.parse(frame) { out.append(d) }
        }
        return out
    }

    struct Decoded { var messages: [ArtNetMessage] = []; var errors: [WireError] = [] }

    func decodeArtNet(_ file: String) throws -> Decoded {
        var d = Decoded()
        for dg in try datagrams(file) where dg.source.port == 6454 || dg.destination.port == 6454 {
            Array(dg.payload).withUnsafeBytes { b in
                do throws(WireError) { d.messages.append(try ArtNetDecoder.decode(b)) } catch { d.errors.append(error) }
            }
        }
        return d
    }

    /// tshark -r FILE -Y 'artnet.header.opcode == 0x2100' -T fields -e artnet.poll_reply.short_name
    ///        -e artnet.poll_reply.long_name -e artnet.poll_reply.bind_index
    func testPollRepliesYieldTheNamesWiresharkShows() throws {
        let aio = try decodeArtNet("artnet/aioartnet_artnet-nodes.pcap")
        XCTAssertEqual(aio.errors, [])
        let aioNames = aio.messages.compactMap { m -> String? in
            if case .pollReply(let r) = m { return "\(r.shortName)|\(r.longName)|\(r.bindIndex)" } else { return nil }
        }
        XCTAssertEqual(aioNames.sorted(), ["DMX Monitor|DMX Monitor for iPhone 1.0|1", "QLC+|Q Light Controller Plus - ArtNet interface|0"])

        for (file, replies) in [("artnet/fughilli_device_discovery.pcapng", 36), ("artnet/fughilli_device_configuration.pcapng", 216)] {
            let d = try decodeArtNet(file)
            XCTAssertEqual(d.errors, [], file)
            let polls = d.messages.compactMap { m -> ArtPollReply? in if case .pollReply(let r) = m { return r } else { return nil } }
            XCTAssertEqual(polls.count, replies, file)
            // Wireshark shows the names with their trailing spaces, as the node sends them.
            XCTAssertEqual(Set(polls.map(\.shortName)), ["GICO-6612pro      "], file)
            XCTAssertEqual(Set(polls.map(\.longName)), ["GICO-6612PRO 12PORT DMX512&SPI" + String(repeating: " ", count: 34)], file)
            XCTAssertEqual(Set(polls.map(\.bindIndex)), Set(1...18), file)
        }
    }

    func testRealCapturesDecodeWithoutError() throws {
        let config = try decodeArtNet("artnet/fughilli_device_configuration.pcapng")
        XCTAssertEqual(config.errors, [])
        // tshark -r … -T fields -e artnet.header.opcode | sort | uniq -c → 13 × 0x00fd (bytes FD 00,
        // little-endian), 8 × 0x2000, 216 × 0x2100
        let vendor = config.messages.filter { if case .unsupported(0x00FD, nil) = $0 { return true } else { return false } }
        XCTAssertEqual(vendor.count, 13)
        let aio = try decodeArtNet("artnet/aioartnet_artnet-nodes.pcap")
        let dmx = aio.messages.filter { if case .dmx = $0 { return true } else { return false } }
        XCTAssertEqual(dmx.count, 6)
    }

    /// The synthetic liveshark fixtures: ArtDmx decodes; the invalid-length one is rejected
    /// at the Length field (tshark: artnet.output.length 512 in an 18-byte payload).
    func testLiveSharkArtNetFixtures() throws {
        for file in ["liveshark_artnet", "liveshark_artnet_burst", "liveshark_artnet_conflict", "liveshark_artnet_gap"] {
            let d = try decodeArtNet("artnet/\(file).pcapng")
            XCTAssertEqual(d.errors, [], file)
            XCTAssertFalse(d.messages.isEmpty, file)
        }
        let bad = try decodeArtNet("artnet/liveshark_artnet_invalid_length.pcapng")
        XCTAssertEqual(bad.errors.map(\.reason), [.lengthPastEnd])
        XCTAssertEqual(bad.errors.first?.offset, 16)
    }

    /// The liveshark sACN fixtures carry zero flags/length fields: PanelSim reads them and
    /// flags the rules (lenient decoding), except the packets it cannot interpret.
    func testLiveSharkSACNFixturesAreReadAndFlagged() throws {
        for file in ["liveshark_sacn", "liveshark_sacn_burst", "liveshark_sacn_conflict", "liveshark_sacn_dup_reorder", "liveshark_sacn_gap", "liveshark_sacn_invalid_start_code"] {
            for dg in try datagrams("sacn/\(file).pcapng") {
                try Array(dg.payload).withUnsafeBytes { b in
                    let m = try E131Decoder.decode(b)
                    guard case .data(let d) = m else { return XCTFail("\(file): not a data packet") }
                    XCTAssertTrue(d.violations.contains(.rootFlags) || d.violations.contains(.rootLength), "\(file): \(d.violations.ruleIDs)")
                    if file.hasSuffix("invalid_start_code") { XCTAssertNotEqual(d.startCode, 0) }
                }
            }
        }
    }
}
