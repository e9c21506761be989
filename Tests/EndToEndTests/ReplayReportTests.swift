import Foundation
import PanelCapture
import PanelCore
import PanelDevice
import PanelHarness
import PanelImage
import PanelSession
import PanelWire
import XCTest

/// The technician's report of a replay: per-stream statistics from each protocol's own
/// packet summaries, and findings in plain words.
final class ReplayReportTests: XCTestCase {
    /// Art-Net universe 0, sequence 1 2 3 5 5 4, 10 ms apart: one gap of one packet, one
    /// duplicate, one reorder; then a 500 ms silence.
    func testStreamStatisticsAndFindings() throws {
        let dir = NSTemporaryDirectory() + "panelsim-report-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/gap.pcap"
        let writer = try PcapWriter(path: path)
        var packet: [UInt8] = []
        let data = [UInt8](repeating: 7, count: 510)
        var t: Int64 = 1_700_000_000_000_000_000
        for seq: UInt8 in [1, 2, 3, 5, 5, 4, 6] {
            data.withUnsafeBytes { ArtNetEncoder.dmx(into: &packet, sequence: seq, portAddress: 0, data: $0) }
            try writer.writeUDP(time: Timestamp(nanoseconds: t), source: Endpoint(address: "10.1.1.1", port: 6454),
                                destination: Endpoint(address: "10.1.1.2", port: 6454), payload: packet)
            t += seq == 4 ? 500_000_000 : 10_000_000
        }
        try writer.close()

        let session = ReplaySession(options: ReplayOptions(capturePath: path, outputDirectory: dir + "/out", config: nil))
        let stats = TrafficStats()
        session.observer = { plugin, d in stats.observe(plugin, d) }
        let result = try session.run()
        let report = ReplayReport.json(capture: path, result: result, stats: stats)
        let stream = try XCTUnwrap(report["streams"]?.arrayValue?.first)
        XCTAssertEqual(stream["universe"]?.intValue, 0)
        XCTAssertEqual(stream["source"]?.stringValue, "10.1.1.1:6454")
        XCTAssertEqual(stream["packets"]?.intValue, 7)
        XCTAssertEqual(stream["sequence"]?["gaps"]?.intValue, 1)
        XCTAssertEqual(stream["sequence"]?["missing"]?.intValue, 1)
        XCTAssertEqual(stream["sequence"]?["duplicates"]?.intValue, 1)
        XCTAssertEqual(stream["sequence"]?["reorders"]?.intValue, 1)
        if case .double(let p50)? = stream["interval-ms"]?["p50"] { XCTAssertEqual(p50, 10, accuracy: 0.2) } else { XCTFail("no p50") }
        if case .double(let gap)? = stream["largest-gap-ms"] { XCTAssertEqual(gap, 500, accuracy: 0.01) } else { XCTFail("no gap") }
        let findings = report["findings"]?.arrayValue?.compactMap(\.stringValue) ?? []
        XCTAssertTrue(findings.contains { $0.contains("1 packet lost in 1 gap (largest: 1 in a row)") }, "\(findings)")
        XCTAssertTrue(findings.contains { $0.contains("1 out of order, 1 duplicated") }, "\(findings)")
        XCTAssertTrue(findings.contains { $0.contains("silent for 0.5 s") }, "\(findings)")
    }
}

/// report.html is one self-contained file: findings first, frames inline, no external assets.
final class ReplayHTMLReportTests: XCTestCase {
    func testSelfContainedReport() throws {
        let dir = NSTemporaryDirectory() + "panelsim-html-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let map = try ChannelMap(width: 40, height: 12, format: .rgb, settings: MappingSettings(startUniverse: 1, channelsPerUniverse: 510))
        let path = dir + "/bar.pcap"
        _ = try SendSession(options: SendOptions(plugin: .e131, host: "127.0.0.1", port: 5568, map: map, content: .pattern(.movingBar),
                                                 fps: 30, frames: 30, seconds: nil, sender: SenderSettings(map: map, sync: true),
                                                 pcapPath: path)).runToPcap(path: path)
        let config = try SessionConfig.parse(yaml: "controllers:\n  - { name: bar, protocol: sacn, panel: { width: 40, height: 12 } }\n", file: "t")
        let session = ReplaySession(options: ReplayOptions(capturePath: path, outputDirectory: dir + "/out", config: config))
        let stats = TrafficStats()
        session.observer = { plugin, d in stats.observe(plugin, d) }
        let result = try session.run()
        let report = ReplayReport.json(capture: path, result: result, stats: stats)
        let html = ReplayHTMLReport.html(report: report, stats: stats, outputDirectory: dir + "/out")
        XCTAssertTrue(html.hasPrefix("<!DOCTYPE html>"))
        let findings = try XCTUnwrap(html.range(of: "<h2>Findings</h2>"))
        let frames = try XCTUnwrap(html.range(of: "<h2>Frames</h2>"))
        XCTAssertLessThan(findings.lowerBound, frames.lowerBound, "findings come first")
        XCTAssertEqual(html.components(separatedBy: "data:image/png;base64,").count - 1, 15, "30 frames, every second one in the sheet")
        XCTAssertEqual(html.components(separatedBy: "<polyline").count - 1, 3, "three universes, three lines")
        XCTAssertFalse(html.contains("src=\"http"), "no external assets")
        XCTAssertFalse(html.contains("<link"), "no external stylesheets")
        // The first thumbnail decodes to the first frame, scaled to the thumbnail size.
        let first = try XCTUnwrap(html.components(separatedBy: "data:image/png;base64,").dropFirst().first?.split(separator: "\"").first)
        let thumb = try PNGFile.decode(Array(try XCTUnwrap(Data(base64Encoded: String(first)))))
        XCTAssertEqual(thumb.width, 40)
        XCTAssertEqual(thumb.converted(to: .rgb), TestPattern.movingBar.render(frame: 0, width: 40, height: 12, format: .rgb))
    }
}
