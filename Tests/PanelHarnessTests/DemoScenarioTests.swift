import Foundation
@testable import PanelHarness
import PanelImage
import XCTest

/// `panelsim demo` end to end on real sockets on 127.0.0.1: five panels, every recorded frame
/// identical to what was sent, the replay matching the live recording, the page written; and
/// a panel whose expectation is altered makes the demo fail.
final class DemoScenarioTests: XCTestCase {
    func folder(_ name: String) -> String {
        NSTemporaryDirectory() + "panelsim-demo-\(name)-\(ProcessInfo.processInfo.processIdentifier)"
    }

    func testTheCityPassesAndWritesThePage() async throws {
        let out = folder("pass")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let report = try await DemoScenario(outputDirectory: out).run()
        XCTAssertEqual(report.panels.map(\.name), ["alun-alun", "simpang-lima", "stasiun-tugu", "bundaran-hi", "pasar-baru"])
        XCTAssertEqual(Set(report.panels.map(\.protocolName)).count, 5)
        for p in report.panels {
            XCTAssertEqual(p.mismatches, 0, "\(p.name): \(p.notes)")
            XCTAssertGreaterThan(p.matched, 0, p.name)
            XCTAssertEqual(p.matched, p.shots.count, p.name)
        }
        // Pixel panels show the announcement and all 24 test frames; NovaStar the dimmed
        // picture, the blackout and its end; Colorlight the brightness change.
        for p in report.panels where p.name != "bundaran-hi" {
            let labels = Set(p.shots.map(\.label))
            XCTAssertTrue(labels.contains("announcement"), p.name)
            XCTAssertEqual(labels.filter { $0.hasPrefix("test ") }.count, DemoScenario.testFrames, p.name)
        }
        let nova = try XCTUnwrap(report.panels.first { $0.name == "bundaran-hi" })
        XCTAssertTrue(nova.shots.contains { $0.label == "blackout" })
        XCTAssertTrue(nova.shots.contains { $0.label == "blackout off · brightness 64" })
        let colorlight = try XCTUnwrap(report.panels.first { $0.name == "pasar-baru" })
        XCTAssertTrue(colorlight.shots.contains { $0.label == "announcement · brightness 64" })
        XCTAssertTrue(report.replayPassed)
        XCTAssertTrue(report.passed)
        let page = try String(contentsOfFile: out + "/index.html", encoding: .utf8)
        let sections = page.components(separatedBy: "<section class=\"panel\">").dropFirst()
        XCTAssertEqual(sections.count, 5)
        for s in sections { XCTAssertTrue(s.contains("src=\"data:image/png;base64,")) }
        XCTAssertFalse(page.contains("http://") || page.contains("https://"), "the page must not load anything")
        // The replay recorded the four network controllers' frames beside the live ones.
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/replay/alun-alun/frame-000001.png"))
    }

    func testACorruptedExpectationFails() async throws {
        let out = folder("fail")
        defer { try? FileManager.default.removeItem(atPath: out) }
        var demo = DemoScenario(outputDirectory: out)
        demo.corruptExpectationOf = "stasiun-tugu"
        let report = try await demo.run()
        XCTAssertFalse(report.passed)
        let ddp = try XCTUnwrap(report.panels.first { $0.name == "stasiun-tugu" })
        XCTAssertEqual(ddp.matched, 0)
        XCTAssertGreaterThan(ddp.mismatches, 0)
        for p in report.panels where p.name != "stasiun-tugu" { XCTAssertTrue(p.passed, "\(p.name): \(p.mismatches) differing, \(p.notes)") }
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/index.html"))
    }
}
