import ArgumentParser
import Foundation
import PanelHarness
import PanelSession

struct Stress: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a latency/throughput scenario; thresholds decide the exit code.",
        discussion: """
        The scenario file (YAML) names the controllers, the sender, the transport (memory, udp, tcp, \
        pty), network faults and thresholds; README.md documents it. Exit 0 when every threshold \
        holds, 1 when one failed, 2 for an invalid scenario, 3 when the run itself failed.
        """)

    @Argument(help: "Scenario file (YAML).")
    var scenario: String
    @Option(help: "Write every measurement (frames, latency percentiles, throughput, CPU, thresholds) as JSON here.")
    var json: String?
    @Option(help: "Write JUnit XML here: one test case per threshold.")
    var junit: String?

    func run() async throws {
        let s = try StressScenario.load(path: scenario)
        let result: StressResult
        do {
            result = try await StressRunner.run(s)
        } catch let e as ConfigError {
            throw e
        } catch let e as RunFailure {
            throw e
        } catch {
            throw RunError(message: "\(error)")
        }
        FileHandle.standardError.write(Data(StressReport.table(result).utf8))
        if let path = json { try FileText.write(StressReport.json(result).pretty, to: path) }
        if let path = junit { try FileText.write(StressReport.junit(result).xml, to: path) }
        if result.exitCode != Exit.ok { throw ExitCode(result.exitCode) }
    }
}
