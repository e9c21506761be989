import PanelCapture
import PanelCore
@testable import PanelSession
import XCTest

/// Live replay's due times, classification and planning: pure functions, no sockets.
final class LiveScheduleTests: XCTestCase {
    func ms(_ v: Int64) -> Timestamp { .milliseconds(v) }

    func schedule(_ pace: LivePace, packets: Int = 5) -> LiveSchedule {
        LiveSchedule(pace: pace, firstTime: ms(10_000), lastTime: ms(10_500), packetsPerPass: packets)
    }

    func testCaptureTimingAtSpeedOneIsTheCaptureOffset() {
        let s = schedule(.capture(speed: 1))
        XCTAssertEqual(s.offset(time: ms(10_000), packetIndex: 0, pass: 0), .zero)
        XCTAssertEqual(s.offset(time: ms(10_250), packetIndex: 3, pass: 0), ms(250))
        XCTAssertEqual(s.offset(time: Timestamp(nanoseconds: 10_000_000_001), packetIndex: 1, pass: 0), Timestamp(nanoseconds: 1))
        XCTAssertEqual(s.passSpan, ms(500))
    }

    func testSpeedDividesOffsetsAndSpans() {
        let fast = schedule(.capture(speed: 2))
        XCTAssertEqual(fast.offset(time: ms(10_250), packetIndex: 0, pass: 0), ms(125))
        XCTAssertEqual(fast.passSpan, ms(250))
        let slow = schedule(.capture(speed: 0.5))
        XCTAssertEqual(slow.offset(time: ms(10_250), packetIndex: 0, pass: 0), ms(500))
        XCTAssertEqual(slow.passSpan, ms(1000))
        // Rounded to the nanosecond: 250 ms / 3.
        XCTAssertEqual(schedule(.capture(speed: 3)).offset(time: ms(10_250), packetIndex: 0, pass: 0), Timestamp(nanoseconds: 83_333_333))
    }

    func testEachLoopIsAnchoredOneSpanAfterThePrevious() {
        let s = schedule(.capture(speed: 2))
        XCTAssertEqual(s.offset(time: ms(10_000), packetIndex: 0, pass: 1), ms(250))
        XCTAssertEqual(s.offset(time: ms(10_250), packetIndex: 0, pass: 2), ms(625))
        XCTAssertEqual(s.offset(time: ms(10_500), packetIndex: 0, pass: 3), ms(1000))
        // Captured before the first item sent (a clock step back): due at the pass's start.
        XCTAssertEqual(s.offset(time: ms(9_000), packetIndex: 0, pass: 1), ms(250))
    }

    func testFixedRateCountsPacketsAcrossLoopsAndIgnoresCaptureTime() {
        let s = schedule(.fixedRate(100), packets: 5)
        XCTAssertEqual(s.offset(time: ms(99_999), packetIndex: 0, pass: 0), .zero)
        XCTAssertEqual(s.offset(time: ms(10_000), packetIndex: 3, pass: 0), ms(30))
        XCTAssertEqual(s.offset(time: ms(10_000), packetIndex: 0, pass: 1), ms(50))
        XCTAssertEqual(s.offset(time: ms(10_000), packetIndex: 4, pass: 2), ms(140))
        XCTAssertEqual(s.passSpan, ms(50))
        XCTAssertEqual(schedule(.fixedRate(3)).offset(time: .zero, packetIndex: 1, pass: 0), Timestamp(nanoseconds: 333_333_333))
    }

    func testTopSpeedHasNoDueTimes() {
        let s = schedule(.topSpeed)
        XCTAssertNil(s.offset(time: ms(10_250), packetIndex: 2, pass: 4))
        XCTAssertEqual(s.passSpan, .zero)
    }

    func testExtremeInputsSaturateInsteadOfTrapping() {
        let s = LiveSchedule(pace: .capture(speed: 1e-9), firstTime: Timestamp(nanoseconds: Int64.min),
                             lastTime: Timestamp(nanoseconds: Int64.max), packetsPerPass: Int.max)
        XCTAssertEqual(s.offset(time: Timestamp(nanoseconds: Int64.max), packetIndex: Int.max, pass: Int.max), Timestamp(nanoseconds: Int64.max))
        let r = LiveSchedule(pace: .fixedRate(1e-6), firstTime: .zero, lastTime: .zero, packetsPerPass: Int.max)
        XCTAssertEqual(r.offset(time: .zero, packetIndex: Int.max, pass: Int.max), Timestamp(nanoseconds: Int64.max))
    }

    func testWindowIsHalfOpenFromTheFirstRecord() {
        let w = LiveWindow(start: ms(1000), stop: ms(2000))
        let origin = ms(100_000)
        XCTAssertFalse(w.contains(ms(100_999), firstRecord: origin))
        XCTAssertTrue(w.contains(ms(101_000), firstRecord: origin))
        XCTAssertTrue(w.contains(ms(101_999), firstRecord: origin))
        XCTAssertFalse(w.contains(ms(102_000), firstRecord: origin))
        XCTAssertTrue(LiveWindow().contains(ms(-5), firstRecord: origin))
    }

    // MARK: events

    static let client = Endpoint(address: "10.0.0.2", port: 50000)
    static let server = Endpoint(address: "10.0.0.9", port: 7890)
    static let toServer = TCPFlow(source: client, destination: server)

    static func datagram(_ t: Int64, source: UInt16 = 40000, port: UInt16 = 6454, _ payload: [UInt8] = [1, 2, 3]) -> CaptureEvent {
        .udp(UDPDatagram(recordNumber: 1, time: .milliseconds(t), source: Endpoint(address: "10.0.0.1", port: source),
                         destination: Endpoint(address: "10.0.0.5", port: port), payload: ArraySlice(payload), udpLength: 8 + payload.count))
    }

    static func data(_ t: Int64, _ connection: Int, fromClient: Bool, _ bytes: [UInt8]) -> CaptureEvent {
        .tcpData(TCPStreamData(recordNumber: 1, time: .milliseconds(t), flow: fromClient ? toServer : toServer.reversed,
                               connection: connection, fromClient: fromClient, payload: ArraySlice(bytes)))
    }

    func testPausesLongerThanTheLimitAreCutAndLaterItemsMoveEarlier() {
        var cutter = PauseCutter(limit: ms(10_000))
        // 1 s apart, then a jump of ten years, a time that goes back, then 30 s more.
        let years = Int64(10 * 365 * 86_400) * 1000
        let captured: [Int64] = [0, 1000, years, years - 500, years + 1000, years + 31_000]
        let cut = captured.map { cutter.time(ms($0)) }
        XCTAssertEqual(cut, [0, 1000, 11_000, 10_500, 12_000, 22_000].map(ms))
        XCTAssertEqual(cutter.cuts, 2)
        XCTAssertEqual(cutter.removed, ms(years - 11_000 + 20_000))
        var unlimited = PauseCutter(limit: nil)
        XCTAssertEqual(captured.map { unlimited.time(ms($0)) }, captured.map(ms))
    }

    func testPlanningCutsLongPausesAsEachPassWill() throws {
        let events: [CaptureEvent] = [Self.datagram(0, source: 1), Self.datagram(500, source: 1),
                                      Self.datagram(90_000_000, source: 1), Self.datagram(90_000_250, source: 1)]
        let plan = try LivePlan.scan({ body in events.forEach(body); return CaptureReadSummary() }, sendsFrames: false,
                                     window: LiveWindow(), maxPause: ms(2000))
        XCTAssertEqual(plan.firstTime, ms(0))
        XCTAssertEqual(plan.lastTime, ms(2750), "0.5 s, the 25-hour pause cut to 2 s, then 0.25 s")
        XCTAssertEqual(plan.pausesCut, 1)
        XCTAssertEqual(plan.pauseTimeCut, ms(90_000_000 - 500 - 2000))
    }

    func testPlanningAppliesTheWindowAndCountsPackets() throws {
        let events: [CaptureEvent] = [
            .notDecoded(recordNumber: 1, reason: "ARP"),
            Self.datagram(1000, source: 1), Self.datagram(1400, source: 2),
            .tcpOpen(flow: Self.toServer, connection: 1, fromClient: true, time: .milliseconds(1500), recordNumber: 3),
            Self.data(1600, 1, fromClient: true, [9]), Self.data(1700, 1, fromClient: false, [8]),
            Self.datagram(2000, source: 3), Self.datagram(2600, source: 2),
        ]
        let plan = try LivePlan.scan({ body in events.forEach(body); return CaptureReadSummary() }, sendsFrames: false,
                                     window: LiveWindow(start: ms(400), stop: ms(1000)))
        XCTAssertEqual(plan.firstRecord, ms(1000))
        XCTAssertEqual(plan.firstTime, ms(1400))
        XCTAssertEqual(plan.lastTime, ms(1600))
        XCTAssertEqual(plan.packets, 2, "the datagram at 1.4 s and the client write; not the open nor the server's bytes")
        XCTAssertEqual(plan.udpSources.map(\.port), [2])
    }

    func testClassifierKeepsTheClientSideOfConnections() {
        var c = LiveClassifier(sendsFrames: false, copiesPayloads: true)
        guard case .none = c.step(.tcpOpen(flow: Self.toServer.reversed, connection: 1, fromClient: false, time: .zero, recordNumber: 1)) else {
            return XCTFail("the server side's opening is not an action")
        }
        guard case .send(_, .write(1, 7890, [1, 2])) = c.step(Self.data(1, 1, fromClient: true, [1, 2])) else {
            return XCTFail("client bytes are written, and open the connection when its start was not seen")
        }
        guard case .skip(LiveClassifier.serverData, _) = c.step(Self.data(2, 1, fromClient: false, [3])) else {
            return XCTFail("server bytes are skipped")
        }
        guard case .none = c.step(.tcpClose(flow: Self.toServer.reversed, connection: 1, time: .zero, reason: .fin)) else {
            return XCTFail("the server's close is not the client's")
        }
        guard case .send(_, .close(1)) = c.step(.tcpClose(flow: Self.toServer, connection: 1, time: .zero, reason: .fin)) else {
            return XCTFail("the client's close closes")
        }
    }

    func testEthernetFramesAreRebuiltByteForByteOrSkipped() {
        let frame = EthernetFrame(recordNumber: 1, time: .zero, destination: .broadcast, source: MACAddress(rawValue: 0x0203_0405_0607),
                                  vlanTags: [0x0064, 0x2005], etherTypeOrLength: 0x88B5, payload: [0xAA, 0xBB])
        XCTAssertEqual(frame.wireBytes, [
            0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
            0x88, 0xA8, 0x00, 0x64, 0x81, 0x00, 0x20, 0x05, 0x88, 0xB5, 0xAA, 0xBB,
        ])
        var off = LiveClassifier(sendsFrames: false, copiesPayloads: true)
        guard case .skip(LiveClassifier.noInterface, _) = off.step(.ethernet(frame)) else { return XCTFail("no interface: skipped") }
    }
}
