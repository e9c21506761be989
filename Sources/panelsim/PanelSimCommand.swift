import ArgumentParser
import Foundation
import Logging
import PanelCore
import PanelDevice
import PanelHarness
import PanelImage
import PanelSession

/// Exit codes (README.md keeps this table).
enum Exit {
    static let ok: Int32 = 0
    static let checkFailed: Int32 = 1
    static let usage: Int32 = 2
    static let runFailed: Int32 = 3
}

struct PanelSim: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "panelsim",
        abstract: "Emulated LED controllers for videotron (LED billboard) software: serve, send, record, compare.",
        discussion: """
        Exit codes: 0 all is well; 1 a check, threshold or golden comparison failed; \
        2 bad usage or an invalid config; 3 the run itself failed (port in use, unwritable file).
        """,
        version: "0.1.0",
        subcommands: [Serve.self, Send.self, Replay.self, Check.self, Stress.self, Demo.self, Protocols.self, Profiles.self])
}

@main
enum Main {
    static func main() async {
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = ProcessInfo.processInfo.environment["PANELSIM_LOG"].flatMap { Logger.Level(rawValue: $0) } ?? .notice
            return h
        }
        do {
            var command = try PanelSim.parseAsRoot()
            if var async = command as? AsyncParsableCommand {
                try await async.run()
            } else {
                try command.run()
            }
            exit(Exit.ok)
        } catch let e as ExitCode {
            exit(e.rawValue)
        } catch let e as ConfigError {
            printError("invalid configuration: \(e)")
            exit(Exit.usage)
        } catch let e as UsageError {
            printError(e.message)
            exit(Exit.usage)
        } catch let e as OutputError {
            printError(e.description)
            exit(Exit.runFailed)
        } catch let e as RunError {
            printError(e.message)
            exit(Exit.runFailed)
        } catch let e as RunFailure {
            printError(e.message)
            exit(Exit.runFailed)
        } catch {
            let code = PanelSim.exitCode(for: error)
            if code == .success {
                print(PanelSim.fullMessage(for: error))
                exit(Exit.ok)
            }
            if isArgumentParserError(error) {
                printError(PanelSim.fullMessage(for: error))
                exit(Exit.usage)
            }
            printError("\(error)")
            exit(Exit.runFailed)
        }
    }

    static func isArgumentParserError(_ error: Error) -> Bool {
        let type = String(reflecting: Swift.type(of: error))
        return type.hasPrefix("ArgumentParser.") || error is ValidationError || error is CleanExit
    }
}

/// Bad flags found after parsing (exit 2).
struct UsageError: Error { var message: String }
/// The run failed (exit 3).
struct RunError: Error { var message: String }

func printError(_ message: String) {
    FileHandle.standardError.write(Data(("panelsim: " + message + "\n").utf8))
}

func isTerminal() -> Bool { isatty(STDERR_FILENO) == 1 && ProcessInfo.processInfo.environment["CI"] == nil }

/// Stops a session on SIGINT or SIGTERM (the first one; a second one exits at once).
final class SignalStopper: @unchecked Sendable {
    private var sources: [DispatchSourceSignal] = []
    private var fired = false
    init(_ action: @escaping @Sendable () -> Void) {
        // One serial queue for both signals, so `fired` needs no lock.
        let queue = DispatchQueue(label: "panelsim.signals")
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let s = DispatchSource.makeSignalSource(signal: sig, queue: queue)
            s.setEventHandler { [self] in
                if fired { exit(Exit.runFailed) }
                fired = true
                action()
            }
            s.resume()
            sources.append(s)
        }
    }
}

/// A one-line progress display on stderr, rewritten in place and at most a few times a second;
/// silent when stderr is not a terminal or in CI.
final class ProgressLine {
    private let label: String
    private let enabled = isTerminal()
    private var lastShown = Date.distantPast
    private var shown = false
    init(label: String) { self.label = label }

    func show(_ text: String) {
        guard enabled, Date().timeIntervalSince(lastShown) >= 0.25 else { return }
        lastShown = Date()
        shown = true
        FileHandle.standardError.write(Data("\r\u{1B}[K\(label): \(text)".utf8))
    }

    /// Erases the line (before the final summary is printed).
    func clear() {
        guard shown else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
        shown = false
    }
}
