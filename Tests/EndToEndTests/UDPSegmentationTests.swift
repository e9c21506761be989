import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import PanelNet
import XCTest

/// With segmentation offload a sender hands runs of equal-sized datagrams to the kernel in one
/// write; the receiver must still get every datagram on its own, byte for byte and in order,
/// including a shorter one ending a run, runs longer than 64 and a change of size. Where Linux
/// has receive offload the receiver's kernel hands such runs over coalesced, and the endpoint
/// cuts them apart: the test checks that this happened. (SwiftNIO sends no empty datagrams,
/// with or without offload.)
final class UDPSegmentationTests: XCTestCase {
    func testRunsArriveAsTheSameDatagrams() async throws {
        guard System.supportsUDPSegmentationOffload else { throw XCTSkip("this system has no UDP segmentation offload") }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let received = NIOLockedValueBox<[[UInt8]]>([])
        let receiver = try await UDPEndpoint.bind(group: group, options: UDPOptions(host: "127.0.0.1", port: 0),
                                                  onDatagram: { buffer, _ in received.withLockedValue { $0.append(Array(buffer.readableBytesView)) } })
        let sender = try await UDPEndpoint.bind(group: group, options: UDPOptions(host: "127.0.0.1", port: 0, segmentationOffload: true),
                                                onDatagram: { _, _ in })
        var sent: [[UInt8]] = []
        for i in 0..<150 { sent.append((0..<528).map { UInt8(truncatingIfNeeded: i &* 31 &+ $0) }) }
        sent.append((0..<100).map { UInt8(truncatingIfNeeded: $0) })       // shorter: ends the run
        for i in 0..<5 { sent.append([UInt8](repeating: UInt8(i), count: 638)) }  // another size
        sent.append([1, 2, 3])
        let destination = try SocketAddress(ipAddress: "127.0.0.1", port: receiver.localPort)
        let all = sent
        try await sender.channel.eventLoop.submit {
            for (i, d) in all.enumerated() {
                let promise: EventLoopPromise<Void>? = i == 0 ? sender.channel.eventLoop.makePromise() : nil
                d.withUnsafeBytes { sender.write($0, to: destination, promise: promise) }
                promise?.futureResult.whenFailure { XCTFail("the first write failed: \($0)") }
            }
            sender.flush()
        }.get()
        for _ in 0..<200 where received.withLockedValue({ $0.count }) < sent.count { try await Task.sleep(nanoseconds: 10_000_000) }
        let got = received.withLockedValue { $0 }
        XCTAssertEqual(got.count, sent.count, "datagrams received")
        let firstDifference = zip(got, sent).enumerated().first { $0.element.0 != $0.element.1 }
        XCTAssertNil(firstDifference.map { "datagram \($0.offset): \($0.element.0.count) bytes, sent \($0.element.1.count)" })
        if System.supportsUDPReceiveOffload {
            XCTAssertGreaterThan(receiver.coalescedMessages, 0, "runs arrived coalesced and were cut apart")
        }
        await sender.close()
        await receiver.close()
        try await group.shutdownGracefully()
    }
}
