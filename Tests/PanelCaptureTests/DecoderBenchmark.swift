import Foundation
import XCTest
import PanelCapture

/// Not a test: times `CaptureDecoder.run` over a large capture. Runs only with
/// PANELSIM_BENCH=1 (and PANELSIM_BENCH_CAPTURE=FILE, default /tmp/bench/artnet-1m.pcap);
/// meaningful only in a release build (other files of this target use `@testable`, hence
/// `-enable-testing`):
///
///     swift build -c release --build-tests -Xswiftc -enable-testing --scratch-path /tmp/capbench
///     PANELSIM_BENCH=1 swift test -c release --skip-build --scratch-path /tmp/capbench \
///         --disable-swift-testing --filter DecoderBenchmark
final class DecoderBenchmark: XCTestCase {
    func testDecodeLargeCapture() throws {
        let environment = ProcessInfo.processInfo.environment
        guard environment["PANELSIM_BENCH"] == "1" else { throw XCTSkip("benchmark: set PANELSIM_BENCH=1") }
        let path = environment["PANELSIM_BENCH_CAPTURE"] ?? "/tmp/bench/artnet-1m.pcap"
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("\(path) not found") }
        var best = Double.infinity
        for round in 1...3 {
            var datagrams = 0
            var bytes = 0
            let start = DispatchTime.now().uptimeNanoseconds
            let summary = try CaptureDecoder(path: path).run { event in
                if case .udp(let datagram) = event {
                    datagrams += 1
                    bytes &+= datagram.payload.count
                }
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            best = min(best, seconds)
            print("round \(round): \(summary.records) records, \(datagrams) UDP datagrams, \(bytes) payload bytes in \(String(format: "%.3f", seconds)) s")
            XCTAssertNil(summary.error)
        }
        print("best: \(String(format: "%.3f", best)) s")
    }
}
