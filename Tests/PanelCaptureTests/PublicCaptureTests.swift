import Foundation
import XCTest
import PanelCapture
import PanelCore

/// Reads every public capture and compares with what tshark (Wireshark 4.x, Debian 12)
/// reported. The numbers were computed once, by hand, with:
///
///     records:        tshark -r FILE | wc -l
///     udp datagrams:  tshark -r FILE -Y udp | wc -l
///     non-IP frames:  tshark -r FILE -Y '!ip && !ipv6' | wc -l
///     payload bytes:  tshark -r FILE -Y udp -T fields -e udp.length | awk '{s+=$1-8} END{print s+0}'
///     first UDP:      tshark -r FILE -Y udp -T fields -e frame.number -e ip.src -e udp.srcport \
///                         -e ip.dst -e udp.dstport | head -1
///     first/last time: tshark -r FILE -T fields -e frame.time_epoch | sed -n '1p;$p'
///
/// tshark is not needed to run the tests.
final class PublicCaptureTests: XCTestCase {
    struct Expected {
        var file: String
        var records: Int
        var udp: Int
        var nonIP: Int
        var udpPayloadBytes: Int
        /// Record number and endpoints of the first UDP datagram.
        var firstUDP: (record: Int, source: Endpoint, destination: Endpoint)?
        var firstTime: Int64
        var lastTime: Int64
    }

    static func ep(_ address: String, _ port: UInt16) -> Endpoint { Endpoint(address: address, port: port) }

    static let expected: [Expected] = [
        Expected(file: "artnet/aioartnet_artnet-nodes.pcap", records: 9, udp: 9, nonIP: 0, udpPayloadBytes: 2196,
                 firstUDP: (1, ep("192.168.1.222", 6454), ep("192.168.1.255", 6454)),
                 firstTime: 1_715_155_935_015_489_000, lastTime: 1_715_155_935_075_522_000),
        Expected(file: "artnet/fughilli_device_configuration.pcapng", records: 262, udp: 238, nonIP: 24, udpPayloadBytes: 53475,
                 firstUDP: (1, ep("192.168.0.1", 6454), ep("255.255.255.255", 6454)),
                 firstTime: 1_754_547_643_161_339_000, lastTime: 1_754_547_859_723_322_000),
        Expected(file: "artnet/fughilli_device_discovery.pcapng", records: 42, udp: 39, nonIP: 3, udpPayloadBytes: 9134,
                 firstUDP: (4, ep("169.254.248.152", 5353), ep("224.0.0.251", 5353)),
                 firstTime: 1_754_547_546_916_084_000, lastTime: 1_754_547_582_564_736_000),
        Expected(file: "artnet/liveshark_artnet.pcapng", records: 1, udp: 1, nonIP: 0, udpPayloadBytes: 20,
                 firstUDP: (1, ep("192.168.0.1", 6454), ep("192.168.0.2", 6454)),
                 firstTime: 1_000_000_000, lastTime: 1_000_000_000),
        Expected(file: "artnet/liveshark_artnet_burst.pcapng", records: 5, udp: 5, nonIP: 0, udpPayloadBytes: 100,
                 firstUDP: (1, ep("10.0.0.1", 6454), ep("10.0.0.2", 6454)),
                 firstTime: 0, lastTime: 4_000_000_000),
        Expected(file: "artnet/liveshark_artnet_conflict.pcapng", records: 4, udp: 4, nonIP: 0, udpPayloadBytes: 80,
                 firstUDP: (1, ep("192.168.0.1", 6454), ep("192.168.0.2", 6454)),
                 firstTime: 1_000_000_000, lastTime: 4_500_000_000),
        Expected(file: "artnet/liveshark_artnet_gap.pcapng", records: 3, udp: 3, nonIP: 0, udpPayloadBytes: 60,
                 firstUDP: (1, ep("10.0.0.1", 6454), ep("10.0.0.2", 6454)),
                 firstTime: 0, lastTime: 2_000_000_000),
        Expected(file: "artnet/liveshark_artnet_invalid_length.pcapng", records: 1, udp: 1, nonIP: 0, udpPayloadBytes: 18,
                 firstUDP: (1, ep("192.168.0.10", 6454), ep("192.168.0.20", 6454)),
                 firstTime: 0, lastTime: 0),
        Expected(file: "sacn/liveshark_sacn.pcapng", records: 1, udp: 1, nonIP: 0, udpPayloadBytes: 126,
                 firstUDP: (1, ep("10.0.0.1", 5568), ep("192.168.0.2", 5568)),
                 firstTime: 1_000_000_000, lastTime: 1_000_000_000),
        Expected(file: "sacn/liveshark_sacn_burst.pcapng", records: 5, udp: 5, nonIP: 0, udpPayloadBytes: 640,
                 firstUDP: (1, ep("10.0.0.1", 5568), ep("10.0.0.2", 5568)),
                 firstTime: 0, lastTime: 4_000_000_000),
        Expected(file: "sacn/liveshark_sacn_conflict.pcapng", records: 4, udp: 4, nonIP: 0, udpPayloadBytes: 504,
                 firstUDP: (1, ep("10.0.0.1", 5568), ep("239.255.0.1", 5568)),
                 firstTime: 1_000_000_000, lastTime: 4_500_000_000),
        Expected(file: "sacn/liveshark_sacn_dup_reorder.pcapng", records: 4, udp: 4, nonIP: 0, udpPayloadBytes: 512,
                 firstUDP: (1, ep("10.0.0.1", 5568), ep("10.0.0.2", 5568)),
                 firstTime: 0, lastTime: 3_000_000_000),
        Expected(file: "sacn/liveshark_sacn_gap.pcapng", records: 3, udp: 3, nonIP: 0, udpPayloadBytes: 384,
                 firstUDP: (1, ep("10.0.0.1", 5568), ep("10.0.0.2", 5568)),
                 firstTime: 0, lastTime: 2_000_000_000),
        Expected(file: "sacn/liveshark_sacn_invalid_start_code.pcapng", records: 1, udp: 1, nonIP: 0, udpPayloadBytes: 126,
                 firstUDP: (1, ep("192.168.1.10", 5568), ep("239.255.0.1", 5568)),
                 firstTime: 0, lastTime: 0),
        Expected(file: "udp-misc/liveshark_flow_only.pcapng", records: 2, udp: 2, nonIP: 0, udpPayloadBytes: 240,
                 firstUDP: (1, ep("10.0.0.1", 5000), ep("10.0.0.2", 6000)),
                 firstTime: 0, lastTime: 1_000_000_000),
        Expected(file: "udp-misc/liveshark_flow_peak_and_maxgap.pcapng", records: 4, udp: 4, nonIP: 0, udpPayloadBytes: 40,
                 firstUDP: (1, ep("10.0.0.1", 1000), ep("10.0.0.2", 2000)),
                 firstTime: 0, lastTime: 2_000_000_000),
        // Named .pcap, but text2pcap wrote pcapng. 47 TCP segments (50000 <-> 5200), no UDP.
        Expected(file: "novastar/DERIVED_baoerman_nova_frames_tcp5200.pcap", records: 47, udp: 0, nonIP: 0, udpPayloadBytes: 0,
                 firstUDP: nil, firstTime: 0, lastTime: 1_000_000_000),
    ]

    func testEveryPublicCaptureMatchesTshark() throws {
        let directory = try publicCapturesDirectory()
        for expected in Self.expected {
            let path = directory.appendingPathComponent(expected.file).path
            let (linkType, frames) = try readFrames(path)
            XCTAssertEqual(LinkLayer(linkType: linkType), .ethernet, expected.file)
            XCTAssertEqual(frames.count, expected.records, "records in \(expected.file)")
            XCTAssertEqual(frames.map(\.recordNumber), (0..<frames.count).map { $0 + 1 }, expected.file)
            XCTAssertEqual(frames.first?.time.nanoseconds, expected.firstTime, "first time in \(expected.file)")
            XCTAssertEqual(frames.last?.time.nanoseconds, expected.lastTime, "last time in \(expected.file)")

            var udp: [UDPDatagram] = []
            var nonIP = 0
            var tcp = 0
            for frame in frames {
                switch PacketParser.parse(frame) {
                case .udp(let datagram): udp.append(datagram)
                case .ethernet: nonIP += 1
                case .tcp: tcp += 1
                case .other: break
                case .ipFragment: XCTFail("\(expected.file) record \(frame.recordNumber): unexpected fragment")
                case .malformed(let reason, let offset):
                    XCTFail("\(expected.file) record \(frame.recordNumber): malformed at \(offset): \(reason)")
                }
            }
            XCTAssertEqual(udp.count, expected.udp, "UDP datagrams in \(expected.file)")
            XCTAssertEqual(nonIP, expected.nonIP, "non-IP Ethernet frames in \(expected.file)")
            XCTAssertEqual(udp.reduce(0) { $0 + $1.payload.count }, expected.udpPayloadBytes, "UDP payload bytes in \(expected.file)")
            XCTAssertTrue(udp.allSatisfy { $0.lengthNote == nil }, "no UDP length disagreements in \(expected.file)")
            XCTAssertTrue(udp.allSatisfy { $0.udpLength == $0.payload.count + 8 }, expected.file)
            if let first = expected.firstUDP {
                XCTAssertEqual(udp.first?.recordNumber, first.record, expected.file)
                XCTAssertEqual(udp.first?.source, first.source, expected.file)
                XCTAssertEqual(udp.first?.destination, first.destination, expected.file)
            }
            if expected.file.hasPrefix("novastar/") {
                XCTAssertEqual(tcp, 47, "TCP segments")
            }
        }
    }

    /// The 13 vendor frames in the configuration capture carry 0x00FF in the type/length
    /// field (tshark: `eth.len == 255`, frame length 500); the rest are ARP (0x0806) and LLDP.
    func testNonIPFramesKeepTypeAndAddresses() throws {
        let directory = try publicCapturesDirectory()
        let path = directory.appendingPathComponent("artnet/fughilli_device_configuration.pcapng").path
        let (_, frames) = try readFrames(path)
        let ethernet = frames.compactMap { PacketParser.parse($0).ethernetFrame }
        XCTAssertEqual(ethernet.count, 24)
        XCTAssertEqual(ethernet.filter { $0.etherTypeOrLength == 0x00FF }.count, 13)
        XCTAssertEqual(ethernet.filter { $0.etherTypeOrLength == 0x0806 }.count, 10)
        XCTAssertEqual(ethernet.filter { $0.etherTypeOrLength == 0x88CC }.count, 1)
        for frame in ethernet where frame.etherTypeOrLength == 0x00FF {
            XCTAssertTrue(frame.isLengthField)
            XCTAssertEqual(frame.payload.count, 500 - 14)  // not cut to the "length"
        }
    }

    /// The NovaStar TCP capture through `CaptureDecoder`: one connection, no handshake (the
    /// first segment, 50000 → 5200, makes that side the client), no retransmissions; tshark:
    /// `tshark -r FILE -T fields -e tcp.srcport -e tcp.len` sums 500 bytes from 50000 and 2237
    /// from 5200.
    func testNovaStarTCPCaptureReassembles() throws {
        let directory = try publicCapturesDirectory()
        let path = directory.appendingPathComponent("novastar/DERIVED_baoerman_nova_frames_tcp5200.pcap").path
        var bytes: [Bool: Int] = [:]
        var lines: [String] = []
        let summary = try CaptureDecoder(path: path).run { event in
            switch event {
            case .tcpData(let data):
                XCTAssertEqual(data.missingBefore, 0)
                XCTAssertEqual(data.connection, 1)
                bytes[data.fromClient, default: 0] += data.payload.count
            case .tcpOpen(let flow, let connection, let fromClient, _, let record):
                lines.append("open #\(record) c\(connection) \(fromClient) \(flow)")
            case .tcpClose(let flow, let connection, _, let reason):
                lines.append("close c\(connection) \(flow) \(reason.rawValue)")
            default:
                XCTFail("unexpected event \(event)")
            }
        }
        XCTAssertNil(summary.error)
        XCTAssertEqual(summary.records, 47)
        XCTAssertEqual(bytes[true], 500)
        XCTAssertEqual(bytes[false], 2237)
        XCTAssertEqual(lines, [
            "open #1 c1 true 192.168.0.2:50000 → 192.168.0.10:5200",
            "open #2 c1 false 192.168.0.10:5200 → 192.168.0.2:50000",
            "close c1 192.168.0.2:50000 → 192.168.0.10:5200 capture-ended",
            "close c1 192.168.0.10:5200 → 192.168.0.2:50000 capture-ended",
        ])
    }
}
