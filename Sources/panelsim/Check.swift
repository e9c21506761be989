import ArgumentParser
import Foundation
import PanelDevice
import PanelHarness
import PanelSession

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Lint a sender's traffic in a capture against the protocol specs and, with --profile, a controller's quirks.",
        discussion: """
        One line per rule hit on stdout: severity, rule ID, count, first record and time, sender, and the \
        rule's explanation with its spec section. Exit codes: 0 nothing at or above --fail-on; 1 findings \
        at or above it; 2 invalid arguments or an unknown profile; 3 the capture cannot be read, or is \
        damaged (what was read before the damage is still checked and reported).
        """)

    @Argument(help: "The capture file (pcap or pcapng).")
    var capture: String
    @Option(help: "Check against this quirk profile's expectations too (an unknown name lists the known ones).")
    var profile: String?
    @Option(help: "Write the findings as JSON here.")
    var json: String?
    @Option(help: "Write JUnit XML here: one test case per rule checked, failed when hit.")
    var junit: String?
    @Option(help: "Lowest severity that fails the run: error or warning (default warning).")
    var failOn: String = "warning"
    @Option(help: ArgumentHelp("Decode a port's traffic as a protocol: PORT=PROTOCOL, udp:PORT=… or tcp:PORT=… ('none' ignores the port). Repeatable.",
                               valueName: "port=protocol"))
    var decodeAs: [String] = []

    func run() throws {
        guard let level = CheckSeverity(rawValue: failOn), level != .info else {
            throw UsageError(message: "--fail-on: \"\(failOn)\" is not error or warning")
        }
        var quirks: QuirkProfile?
        if let name = profile {
            guard let p = QuirkProfile.named(name) else {
                throw UsageError(message: "--profile: unknown profile \"\(name)\" (known: \(QuirkProfile.all.map(\.name).joined(separator: ", ")))")
            }
            quirks = p
        }
        let overrides = try decodeAs.map { try ProtocolDetector.parseOverride($0, registry: .standard) }
        let result = CheckSession.run(capture: capture, profile: quirks, overrides: overrides)
        let code: Int32 = result.captureError != nil ? Exit.runFailed : result.failing(at: level).isEmpty ? Exit.ok : Exit.checkFailed
        FileHandle.standardOutput.write(Data(CheckReport.text(result).utf8))
        if let path = json { try FileText.write(CheckReport.json(result, failOn: level, exitCode: code).pretty, to: path) }
        if let path = junit { try FileText.write(CheckReport.junit(result).xml, to: path) }
        if let e = result.captureError { printError("capture read stopped: \(e)") }
        if code != Exit.ok { throw ExitCode(code) }
    }
}
