import CPCAP
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import PanelCapture
import PanelCore
import PanelNet
import PanelSession
import PanelWire
import XCTest

/// `replay --live` over real sockets on 127.0.0.1 (and a veth pair the test makes, as root).
final class LiveReplayTests: XCTestCase {
    var dir = ""
    var group: MultiThreadedEventLoopGroup?

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "panelsim-live-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    }

    override func tearDown() async throws {
        try? FileManager.default.removeItem(atPath: dir)
        try? await group?.shutdownGracefully()
    }

    /// Waits up to 5 s for `condition`.
    func eventually(_ condition: () -> Bool) async throws {
        for _ in 0..<500 where !condition() { try await Task.sleep(nanoseconds: 10_000_000) }
    }

    // MARK: UDP

    func testArtNetCaptureArrivesWholeAndInOrderAtTheCapturedPort() async throws {
        let received = NIOLockedValueBox<[[UInt8]]>([])
        let receiver = try await UDPEndpoint.bind(group: try XCTUnwrap(group), options: UDPOptions(host: "127.0.0.1", port: 0),
                                                  onDatagram: { buffer, _ in received.withLockedValue { $0.append(Array(buffer.readableBytesView)) } })
        // 3 universes × 20 frames at 40 fps, from two sender ports, to the receiver's port.
        let path = dir + "/artnet.pcap"
        let writer = try PcapWriter(path: path)
        var sent: [[UInt8]] = []
        var packet: [UInt8] = []
        for k in 0..<20 {
            for u in 0..<3 {
                let dmx = (0..<510).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ k &* 13 &+ u) }
                dmx.withUnsafeBytes { ArtNetEncoder.dmx(into: &packet, sequence: UInt8(k + 1), portAddress: UInt16(u), data: $0) }
                let time = Timestamp.seconds(1_700_000_000) + .milliseconds(Int64(k) * 25) + Timestamp(nanoseconds: Int64(u) * 200_000)
                try writer.writeUDP(time: time, source: Endpoint(address: "192.168.1.10", port: u == 2 ? 6455 : 6454),
                                    destination: Endpoint(address: "192.168.1.20", port: UInt16(receiver.localPort)), payload: packet)
                sent.append(packet)
            }
        }
        try writer.close()

        let session = LiveReplaySession(options: LiveReplayOptions(host: "127.0.0.1", pace: .capture(speed: 2)),
                                        source: LiveReplaySession.fileSource(path: path))
        let result = try await session.run()
        try await eventually { received.withLockedValue { $0.count } >= sent.count }
        await receiver.close()

        XCTAssertEqual(result.datagrams, 60)
        XCTAssertEqual(result.datagramBytes, sent.reduce(0) { $0 + $1.count })
        XCTAssertEqual(result.errors, 0, "\(result.firstErrors)")
        XCTAssertEqual(result.skipped, [:])
        XCTAssertNil(result.captureError)
        XCTAssertEqual(received.withLockedValue { $0 }, sent, "every payload, byte-identical and in order")
        let lateness = try XCTUnwrap(result.lateness)
        XCTAssertEqual(lateness.sends, 60)
        XCTAssertGreaterThanOrEqual(Double(lateness.maxNanoseconds), lateness.meanNanoseconds)
        XCTAssertGreaterThan(result.elapsed, 0.2, "19 frame intervals of 25 ms at speed 2 take about 0.24 s")
    }

    func testADamagedCaptureSendsWhatCameBeforeTheDamage() async throws {
        let received = NIOLockedValueBox(0)
        let receiver = try await UDPEndpoint.bind(group: try XCTUnwrap(group), options: UDPOptions(host: "127.0.0.1", port: 0),
                                                  onDatagram: { _, _ in received.withLockedValue { $0 += 1 } })
        let path = dir + "/cut.pcap"
        let writer = try PcapWriter(path: path)
        for k in 0..<3 {
            try writer.writeUDP(time: .milliseconds(Int64(k)), source: Endpoint(address: "10.0.0.1", port: 1000),
                                destination: Endpoint(address: "10.0.0.2", port: 6454), payload: [UInt8](repeating: UInt8(k), count: 100))
        }
        try writer.close()
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        try handle.truncate(atOffset: try handle.seekToEnd() - 50)
        try handle.close()

        let result = try await LiveReplaySession(options: LiveReplayOptions(host: "127.0.0.1", port: receiver.localPort, passes: 2),
                                                 source: LiveReplaySession.fileSource(path: path)).run()
        try await eventually { received.withLockedValue { $0 } >= 4 }
        await receiver.close()
        XCTAssertEqual(result.datagrams, 4, "two records per pass came before the damage")
        XCTAssertEqual(result.passes, 2)
        XCTAssertEqual(received.withLockedValue { $0 }, 4)
        XCTAssertNotNil(result.captureError)
    }

    func testStopEndsAWaitingRunAtOnce() async throws {
        let events: [CaptureEvent] = [Self.datagram(at: 0, port: 9), Self.datagram(at: 60_000, port: 9)]
        let session = LiveReplaySession(options: LiveReplayOptions(host: "127.0.0.1", port: 9),
                                        source: { body in events.forEach(body); return CaptureReadSummary() })
        let started = Date()
        async let run = session.run()
        try await Task.sleep(nanoseconds: 200_000_000)
        session.stop()
        let result = try await run
        XCTAssertTrue(result.stoppedEarly)
        XCTAssertEqual(result.datagrams, 1)
        XCTAssertLessThan(Date().timeIntervalSince(started), 5)
    }

    /// A capture whose clock jumps two years between two datagrams is replayed at once with
    /// the pause cut, and every datagram arrives.
    func testAPauseOfYearsIsCutToTheLimit() async throws {
        let received = NIOLockedValueBox(0)
        let receiver = try await UDPEndpoint.bind(group: try XCTUnwrap(group), options: UDPOptions(host: "127.0.0.1", port: 0),
                                                  onDatagram: { _, _ in received.withLockedValue { $0 += 1 } })
        let years = Int64(2 * 365 * 86_400) * 1000
        let port = UInt16(receiver.localPort)
        let events: [CaptureEvent] = [Self.datagram(at: 0, port: port), Self.datagram(at: 10, port: port),
                                      Self.datagram(at: years, port: port), Self.datagram(at: years + 10, port: port)]
        let started = Date()
        let result = try await LiveReplaySession(options: LiveReplayOptions(host: "127.0.0.1", passes: 2, maxPause: .milliseconds(100)),
                                                 source: { body in events.forEach(body); return CaptureReadSummary() }).run()
        try await eventually { received.withLockedValue { $0 } >= 8 }
        await receiver.close()
        XCTAssertEqual(result.datagrams, 8)
        XCTAssertEqual(received.withLockedValue { $0 }, 8)
        XCTAssertEqual(result.pausesCut, 1)
        XCTAssertEqual(result.pauseTimeCut, .milliseconds(years - 10 - 100))
        XCTAssertGreaterThan(result.elapsed, 0.2, "each pass still waits the 100 ms the pause was cut to")
        XCTAssertLessThan(Date().timeIntervalSince(started), 30)
    }

    static func datagram(at ms: Int64, port: UInt16) -> CaptureEvent {
        .udp(UDPDatagram(recordNumber: 1, time: .milliseconds(ms), source: Endpoint(address: "10.0.0.1", port: 1000),
                         destination: Endpoint(address: "10.0.0.2", port: port), payload: [1, 2, 3], udpLength: 11))
    }

    // MARK: TCP

    /// Keeps what each accepted connection received, answers "ok" to its first bytes.
    final class Recorder: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let streams: NIOLockedValueBox<[[UInt8]]>
        let closed: NIOLockedValueBox<Int>
        var index = -1

        init(streams: NIOLockedValueBox<[[UInt8]]>, closed: NIOLockedValueBox<Int>) { self.streams = streams; self.closed = closed }

        func channelActive(context: ChannelHandlerContext) {
            index = streams.withLockedValue { $0.append([]); return $0.count - 1 }
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let bytes = Array(unwrapInboundIn(data).readableBytesView)
            let first = streams.withLockedValue { s in
                defer { s[index].append(contentsOf: bytes) }
                return s[index].isEmpty
            }
            if first { context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: "ok")), promise: nil) }
        }

        func channelInactive(context: ChannelHandlerContext) { closed.withLockedValue { $0 += 1 } }
    }

    func testClientSidesOfTwoConnectionsReachTheServerExactly() async throws {
        let streams = NIOLockedValueBox<[[UInt8]]>([]), closed = NIOLockedValueBox(0)
        let server = try await ServerBootstrap(group: try XCTUnwrap(group))
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Recorder(streams: streams, closed: closed))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try XCTUnwrap(server.localAddress?.port)

        let client1 = Endpoint(address: "10.0.0.2", port: 50001), client2 = Endpoint(address: "10.0.0.3", port: 50002)
        let opc = Endpoint(address: "10.0.0.9", port: 7890)
        let flow1 = TCPFlow(source: client1, destination: opc), flow2 = TCPFlow(source: client2, destination: opc)
        func data(_ ms: Int64, _ flow: TCPFlow, _ connection: Int, fromClient: Bool, _ bytes: [UInt8]) -> CaptureEvent {
            .tcpData(TCPStreamData(recordNumber: 1, time: .milliseconds(ms), flow: flow, connection: connection,
                                   fromClient: fromClient, payload: ArraySlice(bytes)))
        }
        let stream1: [UInt8] = [0, 0, 0, 6, 1, 2, 3, 4, 5, 6] + Array(repeating: 0x11, count: 3000)
        let stream2: [UInt8] = Array(0..<200)
        let events: [CaptureEvent] = [
            .tcpOpen(flow: flow1, connection: 1, fromClient: true, time: .milliseconds(0), recordNumber: 1),
            .tcpOpen(flow: flow1.reversed, connection: 1, fromClient: false, time: .milliseconds(1), recordNumber: 2),
            data(5, flow1, 1, fromClient: true, Array(stream1[0..<4])),
            .tcpOpen(flow: flow2, connection: 2, fromClient: true, time: .milliseconds(6), recordNumber: 4),
            data(8, flow2, 2, fromClient: true, Array(stream2[0..<150])),
            data(9, flow1, 1, fromClient: true, Array(stream1[4...])),
            data(10, flow1.reversed, 1, fromClient: false, [9, 9, 9]),
            data(12, flow2, 2, fromClient: true, Array(stream2[150...])),
            .tcpClose(flow: flow2, connection: 2, time: .milliseconds(14), reason: .fin),
            .tcpClose(flow: flow1.reversed, connection: 1, time: .milliseconds(15), reason: .fin),
            .tcpClose(flow: flow1, connection: 1, time: .milliseconds(16), reason: .fin),
        ]
        let session = LiveReplaySession(options: LiveReplayOptions(host: "127.0.0.1", port: port),
                                        source: { body in events.forEach(body); return CaptureReadSummary() })
        let result = try await session.run()
        try await eventually { closed.withLockedValue { $0 } == 2 }
        try await server.close()

        XCTAssertEqual(closed.withLockedValue { $0 }, 2, "both connections were closed")
        XCTAssertEqual(Set(streams.withLockedValue { $0 }), [stream1, stream2], "each connection carried its client's exact bytes")
        XCTAssertEqual(result.tcpConnections, 2)
        XCTAssertEqual(result.tcpBytes, stream1.count + stream2.count)
        XCTAssertEqual(result.skipped, [LiveReplayTests.serverData: 1])
        XCTAssertEqual(result.errors, 0, "\(result.firstErrors)")
        XCTAssertEqual(result.lateness?.sends, 4)
    }

    static let serverData = "TCP data from the server side (the live server answers for itself)"

    func testARefusedConnectionIsCountedNotFatal() async throws {
        // Bind and close a listener to get a port nobody listens on.
        let probe = try await ServerBootstrap(group: try XCTUnwrap(group)).bind(host: "127.0.0.1", port: 0).get()
        let port = try XCTUnwrap(probe.localAddress?.port)
        try await probe.close()
        let flow = TCPFlow(source: Endpoint(address: "10.0.0.2", port: 5), destination: Endpoint(address: "10.0.0.9", port: 7890))
        let events: [CaptureEvent] = [
            .tcpData(TCPStreamData(recordNumber: 1, time: .zero, flow: flow, connection: 1, fromClient: true, payload: [1, 2])),
            .tcpData(TCPStreamData(recordNumber: 2, time: .milliseconds(50), flow: flow, connection: 1, fromClient: true, payload: [3])),
        ]
        let result = try await LiveReplaySession(options: LiveReplayOptions(host: "127.0.0.1", port: port),
                                                 source: { body in events.forEach(body); return CaptureReadSummary() }).run()
        XCTAssertEqual(result.errors, 1, "\(result.firstErrors)")
        XCTAssertEqual(result.tcpConnections, 0)
        XCTAssertEqual(result.tcpBytes, 0)
        XCTAssertEqual(result.skipped.values.reduce(0, +), 2, "\(result.skipped)")
    }

    // MARK: layer 2

    func testUnknownInterfaceIsATypedError() {
        XCTAssertThrowsError(try RawEthernetPort(interface: "nosuch\(UInt16.random(in: 0...9999))")) { error in
            XCTAssertTrue(error is RawEthernetError, "\(error)")
        }
    }

    func testEthernetFrameIsInjectedOnAVethPair() async throws {
        let (a, b) = try VethPair.make(for: self, prefix: "psl")

        var errorText = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        let capture = try XCTUnwrap(pcap_create(b, &errorText), String(cString: errorText))
        defer { pcap_close(capture) }
        XCTAssertEqual(pcap_set_immediate_mode(capture, 1), 0)
        XCTAssertEqual(pcap_set_timeout(capture, 50), 0)
        XCTAssertEqual(pcap_activate(capture), 0, String(cString: pcap_geterr(capture)))

        let payload: [UInt8] = (0..<60).map { UInt8($0) }
        let frame = EthernetFrame(recordNumber: 1, time: .seconds(5), destination: .broadcast,
                                  source: MACAddress(rawValue: 0x0250_5345_4D01), etherTypeOrLength: 0x88B5, payload: ArraySlice(payload))
        let expected: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02, 0x50, 0x53, 0x45, 0x4D, 0x01, 0x88, 0xB5] + payload
        let events: [CaptureEvent] = [.ethernet(frame), Self.datagram(at: 5_000, port: 9)]
        let source: CaptureEventSource = { body in events.forEach(body); return CaptureReadSummary() }

        let skipped = try await LiveReplaySession(options: LiveReplayOptions(host: "127.0.0.1"), source: source).run()
        XCTAssertEqual(skipped.frames, 0)
        XCTAssertEqual(skipped.skipped, ["layer-2 frame (no interface to send it on)": 1])

        let result = try await LiveReplaySession(options: LiveReplayOptions(host: "127.0.0.1", interface: a), source: source).run()
        XCTAssertEqual(result.frames, 1)
        XCTAssertEqual(result.frameBytes, expected.count)
        XCTAssertEqual(result.errors, 0, "\(result.firstErrors)")

        var seen = false
        let deadline = Date().addingTimeInterval(3)
        while !seen && Date() < deadline {
            var header: UnsafeMutablePointer<pcap_pkthdr>?
            var data: UnsafePointer<UInt8>?
            let r = pcap_next_ex(capture, &header, &data)
            guard r == 1, let h = header, let d = data else { XCTAssertGreaterThanOrEqual(r, 0); continue }
            seen = Array(UnsafeBufferPointer(start: d, count: Int(h.pointee.caplen))) == expected
        }
        XCTAssertTrue(seen, "the frame arrived on \(b) byte for byte")
    }
}
