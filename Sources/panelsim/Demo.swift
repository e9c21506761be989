import ArgumentParser
import Foundation
import PanelHarness

struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The bundled default scenario: emulated Art-Net and sACN controllers driven end to end, frames recorded and checked.")
    @Option(help: "Folder for the recording.")
    var out: String = "demo-out"

    func run() async throws {
        let report = try await DemoScenario(outputDirectory: out, progress: isTerminal()).run()
        print(report.summary)
        if !report.passed { throw ExitCode(Exit.checkFailed) }
    }
}
