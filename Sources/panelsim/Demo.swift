import ArgumentParser
import Foundation
import PanelHarness

struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The bundled city: five videotrons (Art-Net, sACN, DDP, NovaStar, Colorlight) driven end to end, checked, replayed, stressed; an HTML page of it all.")
    @Option(help: "Folder for the recording and the page (index.html).")
    var out: String = "demo-out"

    func run() async throws {
        let line = ProgressLine(label: "demo")
        let report = try await DemoScenario(outputDirectory: out, progress: { line.show($0) }).run()
        line.clear()
        print(report.summary)
        if !report.passed { throw ExitCode(Exit.checkFailed) }
    }
}
