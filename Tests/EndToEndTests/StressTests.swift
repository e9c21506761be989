import Foundation
import PanelCore
import PanelHarness
import PanelSession
import XCTest

/// `panelsim stress`: scenario validation, one small run per transport (every frame shown),
/// thresholds → exit codes, and measured loss against the fault settings. No timing asserts.
final class StressTests: XCTestCase {
    func parse(_ yaml: String) throws(ConfigError) -> StressScenario { try StressScenario.parse(yaml: yaml, file: "s.yaml") }

    static let strip = """
        controllers:
          - name: strip
            protocol: artnet
            panel: { width: 170, height: 2 }

        """

    /// Each bad scenario names the file, the line and the key.
    func testErrorsNameKeyAndLine() {
        let sender = "sender: { fps: 100, frames: 10 }\n"
        let cases: [(String, Int, String, String)] = [
            (Self.strip + "sender:\n  fps: 100\n  frames: 10\n  colour: red\n", 8, "sender.colour", "unknown key"),
            (Self.strip + sender + "speed: 3\n", 6, "speed", "unknown key"),
            (Self.strip + "sender:\n  fps: -1\n  frames: 10\n", 6, "sender.fps", "above 0"),
            (Self.strip + "sender:\n  fps: 60\n", 6, "sender.duration", "is missing"),
            (Self.strip + "sender:\n  fps: 60\n  frames: 10\n  duration: 1s\n", 7, "sender.frames", "not both"),
            (Self.strip + "sender:\n  pattern: plaid\n  fps: 60\n  frames: 1\n", 6, "sender.pattern", "moving-bar"),
            (Self.strip + "sender:\n  ramp: { fps: [100, 50, 10], step-seconds: 1 }\n", 6, "sender.ramp.fps", "[from, to, step]"),
            (Self.strip + "sender:\n  ramp: { fps: [10, 50, 10], step-seconds: 1 }\n  fps: 3\n", 7, "sender.fps", "ramp"),
            (Self.strip + sender + "transport: carrier-pigeon\n", 6, "transport", "memory, udp, tcp, pty"),
            (Self.strip + sender + "transport: tcp\n", 2, "controllers[0].protocol", "not the scenario's transport tcp"),
            (Self.strip.replacingOccurrences(of: "    panel:", with: "    transport: { udp: 10.0.0.1:6454 }\n    panel:") + sender + "transport: udp\n",
             2, "controllers[0].transport", "this machine only"),
            (Self.strip + sender + "faults:\n  loss: 150%\n", 7, "faults.loss", "probability"),
            (Self.strip + sender + "faults:\n  jitter: { normal: [2ms] }\n", 7, "faults.jitter.normal", "[mean, deviation]"),
            (Self.strip + sender + "faults:\n  jitter: { gamma: 2ms }\n", 7, "faults.jitter.gamma", "unknown key"),
            (Self.strip + sender + "faults:\n  bandwidth: fast\n", 7, "faults.bandwidth", "100Mbit"),
            (Self.strip + sender + "thresholds:\n  latency: { p95: 3ms }\n", 7, "thresholds.latency.p95", "unknown key"),
            (Self.strip + sender + "thresholds:\n  max-lost-frames: some\n", 7, "thresholds.max-lost-frames", "integer"),
            (Self.strip + sender + "thresholds:\n  min-sustained-fps: 100\n", 7, "thresholds.min-sustained-fps", "ramp"),
            (Self.strip + sender + "thresholds:\n  min-sustained-universes: 2\n", 7, "thresholds.min-sustained-universes", "ramp with universes"),
            (Self.strip + "sender:\n  fps: 60\n  ramp: { universes: [1, 3, 1], step-seconds: 1 }\n", 7, "sender.ramp.universes", "holds 2 universes"),
            (Self.strip + "sender:\n  ramp: { universes: [1, 2, 1], step-seconds: 1 }\n", 6, "sender.fps", "is missing"),
            (Self.strip + "sender:\n  fps: 60\n  frames: 10\n  ramp: { universes: [1, 2, 1], step-seconds: 1 }\n", 7, "sender.frames", "ramp"),
            (Self.strip + "  - { name: b, protocol: artnet, panel: { width: 170, height: 2 } }\nsender:\n  fps: 60\n  ramp: { universes: [1, 2, 1], step-seconds: 1 }\n",
             8, "sender.ramp", "one controller"),
            ("controllers:\n  - protocol: artnet\n    panel: { width: 1, height: 2 }\n" + sender, 2, "controllers[0].panel", "frame stamp"),
        ]
        for (yaml, line, key, text) in cases {
            do {
                _ = try parse(yaml)
                XCTFail("accepted: \(yaml)")
            } catch {
                XCTAssertEqual(error.file, "s.yaml")
                XCTAssertEqual(error.line, line, "\(error)")
                XCTAssertEqual(error.key, key, "\(error)")
                XCTAssertTrue(error.message.contains(text), "\(error) should mention \(text)")
            }
        }
    }

    /// Streams cannot lose, duplicate or reorder: such faults on tcp, pty (or a stream protocol
    /// in memory) are refused, and so are varying delays (bytes would overtake each other);
    /// a constant delay and bandwidth are fine.
    func testPacketFaultsRefusedOnStreams() throws {
        let opc = "controllers:\n  - protocol: opc\n    panel: { width: 8, height: 2 }\nsender: { fps: 100, frames: 10 }\n"
        let tpm2 = "controllers:\n  - protocol: tpm2\n    panel: { width: 8, height: 2 }\nsender: { fps: 100, frames: 10 }\n"
        for (head, transport) in [(opc, "tcp"), (tpm2, "pty"), (opc, "memory")] {
            for fault in ["loss: 1%", "duplicate: 1%", "reorder: 1%", "burst-loss: { enter: 1%, exit: 50% }"] {
                XCTAssertThrowsError(try parse(head + "transport: \(transport)\nfaults:\n  \(fault)\n")) { e in
                    let error = e as? ConfigError
                    XCTAssertEqual(error?.line, 7)
                    XCTAssertTrue(error?.message.contains("stream transport") == true, "\(e)")
                }
            }
            for fault in ["jitter: 1ms", "delay: { uniform: [0ms, 1ms] }"] {
                XCTAssertThrowsError(try parse(head + "transport: \(transport)\nfaults:\n  \(fault)\n")) { e in
                    XCTAssertTrue((e as? ConfigError)?.message.contains("in order") == true, "\(e)")
                }
            }
            let ok = try parse(head + "transport: \(transport)\nfaults:\n  delay: 1ms\n  bandwidth: 100Mbit\n")
            XCTAssertEqual(ok.faults.bandwidthBitsPerSecond, 100e6)
            XCTAssertEqual(ok.faults.delay, .constant(.milliseconds(1)))
        }
    }

    /// The schema's values arrive in the settings.
    func testScenarioValues() throws {
        let s = try parse(Self.strip + """
            sender:
              pattern: bars
              ramp: { fps: [60, 120, 30], step-seconds: 0.5 }
              sync: on
            transport: udp
            faults:
              loss: 1%
              burst-loss: { enter: 0.1%, exit: 30% }
              duplicate: 0.5
              reorder: 2%
              reorder-distance: 3
              delay: 1ms
              jitter: { normal: [2ms, 0.5ms] }
              bandwidth: 1Gbit/s
              seed: 42
            thresholds:
              latency: { p50: 1ms, p99.9: 5ms, max: 10ms }
              min-fps: 59
              max-lost-frames: 0
              min-sustained-fps: 90

            """)
        XCTAssertEqual(s.ramp?.rates, [60, 90, 120])
        XCTAssertEqual(s.ramp?.stepSeconds, 0.5)
        XCTAssertEqual(s.frames, 30 + 45 + 60)
        XCTAssertTrue(s.sync)
        XCTAssertEqual(s.transport, .udp)
        XCTAssertEqual(s.faults.loss, 0.01)
        XCTAssertEqual(s.faults.burstLoss, FaultSettings.BurstLoss(enterBad: 0.001, exitBad: 0.3))
        XCTAssertEqual(s.faults.duplicate, 0.5)
        XCTAssertEqual(s.faults.reorderDistance, 3)
        XCTAssertEqual(s.faults.delay, .constant(.milliseconds(1)))
        XCTAssertEqual(s.faults.jitter, .normal(mean: .milliseconds(2), deviation: Timestamp(nanoseconds: 500_000)))
        XCTAssertEqual(s.faults.bandwidthBitsPerSecond, 1e9)
        XCTAssertEqual(s.faults.seed, 42)
        XCTAssertEqual(s.thresholds.latency.map(\.name), ["p50", "p99.9", "max"])
        XCTAssertEqual(s.thresholds.minFPS, 59)
        XCTAssertEqual(s.thresholds.maxLostFrames, 0)
    }

    /// Every shipped scenario is valid.
    func testShippedScenariosAreValid() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let files = try FileManager.default.contentsOfDirectory(atPath: root + "/scenarios").filter { $0.hasSuffix(".yaml") }
        XCTAssertGreaterThanOrEqual(files.count, 10)
        for f in files { XCTAssertNoThrow(try StressScenario.load(path: root + "/scenarios/" + f), f) }
    }

    /// A small run over `transport`: every frame shown whole, once.
    func run(_ protocolName: String, _ transport: String, width: Int, height: Int, sync: Bool = false) async throws {
        let s = try parse("""
            controllers:
              - name: c
                protocol: \(protocolName)
                panel: { width: \(width), height: \(height) }
            sender: { fps: 100, frames: 40, sync: \(sync) }
            transport: \(transport)
            thresholds:
              max-lost-frames: 0
              max-torn-frames: 0

            """)
        let r = try await StressRunner.run(s)
        let c = try XCTUnwrap(r.controllers.first)
        XCTAssertEqual(c.framesSent, 40, transport)
        XCTAssertEqual(c.framesShown, 40, transport)
        XCTAssertEqual(c.framesLost, 0, transport)
        XCTAssertEqual(c.framesTorn, 0, transport)
        XCTAssertEqual(c.latency.count, 40, transport)
        XCTAssertGreaterThan(c.packetsSent, 0)
        XCTAssertEqual(r.exitCode, 0)
    }

    func testMemoryRunShowsEveryFrame() async throws { try await run("artnet", "memory", width: 170, height: 3, sync: true) }
    func testUDPRunShowsEveryFrame() async throws { try await run("sacn", "udp", width: 170, height: 3, sync: true) }
    func testTCPRunShowsEveryFrame() async throws { try await run("opc", "tcp", width: 64, height: 8) }
    func testPTYRunShowsEveryFrame() async throws { try await run("tpm2", "pty", width: 32, height: 8) }

    /// Faults on a live transport: packets held by the stage leave when due; nothing is lost,
    /// and no frame is shown before its delay.
    func testDelayedPacketsOverUDP() async throws {
        let s = try parse("""
            controllers:
              - { name: c, protocol: sacn, panel: { width: 170, height: 3 } }
            sender: { fps: 100, frames: 30 }
            transport: udp
            faults: { delay: 3ms, jitter: { uniform: [0ms, 1ms] }, seed: 5 }

            """)
        let r = try await StressRunner.run(s)
        let c = try XCTUnwrap(r.controllers.first)
        XCTAssertEqual(c.framesShown, 30)
        XCTAssertEqual(c.faults.lost, 0)
        XCTAssertEqual(c.faults.delivered, c.faults.offered)
        XCTAssertGreaterThanOrEqual(c.latency.p50, 0.003)
    }

    /// Several controllers of different protocols, one sender each, in one run.
    func testSeveralControllersInMemory() async throws {
        let s = try parse("""
            controllers:
              - { name: a, protocol: artnet, panel: { width: 170, height: 2 } }
              - { name: d, protocol: ddp, panel: { width: 64, height: 64 } }
              - { name: o, protocol: opc, panel: { width: 16, height: 16 } }
            sender: { fps: 200, frames: 20, sync: on }

            """)
        let r = try await StressRunner.run(s)
        XCTAssertEqual(r.controllers.map(\.name), ["a", "d", "o"])
        XCTAssertEqual(r.controllers.map(\.framesShown), [20, 20, 20])
        XCTAssertEqual(r.framesLost, 0)
    }

    /// A universe ramp runs one step per count on the panel's top rows: 170-pixel rows hold one
    /// universe each, so the steps drive 1, 3 and 5 universes; in memory every step holds.
    func testUniverseRampRunsEachStep() async throws {
        let s = try parse("""
            controllers:
              - { name: a, protocol: artnet, panel: { width: 170, height: 6 } }
            sender: { fps: 100, ramp: { universes: [1, 5, 2], step-seconds: 0.1 }, sync: on }
            thresholds: { min-sustained-universes: 5 }

            """)
        XCTAssertEqual(s.universeRamp?.counts, [1, 3, 5])
        XCTAssertEqual(s.universeRamp?.stepSeconds, 0.1)
        let r = try await StressRunner.run(s)
        XCTAssertEqual(r.universeRamp.map(\.universes), [1, 3, 5])
        XCTAssertEqual(r.universeRamp.map(\.rows), [1, 3, 5])
        XCTAssertEqual(r.universeRamp.map(\.frames), [10, 10, 10])
        XCTAssertEqual(r.universeRamp.map(\.lost), [0, 0, 0])
        XCTAssertEqual(r.controllers.first?.pixels, 170 * 5, "the result's body is the largest step that held")
        // The sender's achieved rate and latency depend on the machine; a step that held has neither loss nor tears.
        if r.universeRamp.allSatisfy(\.held) { XCTAssertEqual(r.sustainedUniverses, 5) }
        let json = StressReport.json(r)
        XCTAssertEqual(json["universe-ramp"]?["steps"]?.arrayValue?.count, 3)
        XCTAssertTrue(StressReport.table(r).contains("universe ramp: 1 "), StressReport.table(r))
    }

    /// A threshold that cannot hold fails the run (exit 1) and its JUnit case; the others pass.
    func testThresholdsDecideTheExitCode() async throws {
        let s = try parse(Self.strip + """
            sender: { fps: 200, frames: 20 }
            thresholds:
              latency: { p50: 1ns, max: 10s }
              max-lost-frames: 0
              max-torn-frames: 0
              min-fps: 1

            """)
        let r = try await StressRunner.run(s)
        XCTAssertEqual(r.thresholds.map(\.name), ["latency p50", "latency max", "min-fps", "max-lost-frames", "max-torn-frames"])
        XCTAssertEqual(r.thresholds.map(\.passed), [false, true, true, true, true])
        XCTAssertEqual(r.exitCode, 1)
        let xml = StressReport.junit(r).xml
        XCTAssertTrue(xml.contains("tests=\"5\" failures=\"1\""), xml)
        let json = StressReport.json(r)
        XCTAssertEqual(json["exit-code"], .int(1))
        XCTAssertEqual(json["frames"]?["shown"], .int(20))

        let passing = try parse(Self.strip + "sender: { fps: 200, frames: 20 }\nthresholds:\n  max-lost-frames: 0\n")
        let ok = try await StressRunner.run(passing)
        XCTAssertEqual(ok.exitCode, 0)
    }

    /// With a fixed seed, 5 % loss on a one-universe panel (a packet a frame): the measured
    /// packet loss lies inside the 99.9 % binomial interval, and each lost packet is a lost frame.
    func testFivePercentLossIsMeasured() async throws {
        let s = try parse("""
            controllers:
              - { name: one, protocol: artnet, panel: { width: 170, height: 1 } }
            sender: { fps: 4000, frames: 4000 }
            faults: { loss: 5%, seed: 11 }

            """)
        let r = try await StressRunner.run(s)
        let c = try XCTUnwrap(r.controllers.first)
        let n = Double(c.faults.offered), p = 0.05
        let half = 3.29 * (n * p * (1 - p)).squareRoot()
        XCTAssertEqual(Double(c.faults.lost), n * p, accuracy: half, "\(c.faults)")
        XCTAssertEqual(c.packetsReceived, c.faults.offered - c.faults.lost)
        XCTAssertEqual(Double(c.framesLost), Double(c.framesSent) * p, accuracy: 3.29 * (Double(c.framesSent) * p * (1 - p)).squareRoot())
        XCTAssertEqual(c.framesShown + c.framesLost, 4000)
    }

    /// The command line: exit 0 when the thresholds hold (JSON and JUnit written), 1 when one
    /// fails, 2 for an invalid scenario.
    func testCommandLineExitCodes() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let panelsim = root + "/.build/debug/panelsim"
        guard FileManager.default.isExecutableFile(atPath: panelsim) else { throw XCTSkip("build panelsim first (\(panelsim))") }
        let dir = NSTemporaryDirectory() + "panelsim-stress-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func run(_ yaml: String) throws -> (Int32, String) {
            try yaml.write(toFile: dir + "/s.yaml", atomically: true, encoding: .utf8)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: panelsim)
            p.arguments = ["stress", dir + "/s.yaml", "--json", dir + "/out.json", "--junit", dir + "/out.xml"]
            let err = Pipe()
            p.standardError = err
            try p.run()
            let e = err.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return (p.terminationStatus, String(decoding: e, as: UTF8.self))
        }
        let head = Self.strip + "sender: { fps: 200, frames: 10 }\n"
        let ok = try run(head + "thresholds: { max-lost-frames: 0 }\n")
        XCTAssertEqual(ok.0, 0, ok.1)
        XCTAssertTrue(ok.1.contains("PASS max-lost-frames <= 0: 0"), ok.1)
        XCTAssertEqual(JSONValue.parse(FileText.read(dir + "/out.json") ?? "")?["passed"], .bool(true))
        XCTAssertTrue(FileText.read(dir + "/out.xml")?.contains("<testcase") == true)
        let failed = try run(head + "thresholds: { latency: { p50: 1ns } }\n")
        XCTAssertEqual(failed.0, 1, failed.1)
        let invalid = try run(head + "thresholds: { latency: { p42: 1ms } }\n")
        XCTAssertEqual(invalid.0, 2, invalid.1)
        XCTAssertTrue(invalid.1.contains("thresholds.latency.p42"), invalid.1)
    }
}
