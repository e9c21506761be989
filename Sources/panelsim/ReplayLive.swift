import ArgumentParser
import Foundation
import PanelCore
import PanelSession

extension Replay {
    /// Checks the live options (and that none is given without --live).
    func validate() throws {
        guard live else {
            let given = [("--to", to != nil), ("--speed", speed != nil), ("--topspeed", topspeed), ("--pps", pps != nil),
                         ("--loop", loop != nil), ("--start", start != nil), ("--stop", stop != nil), ("--interface", interface != nil),
                         ("--max-pause", maxPause != nil)]
            if let name = given.first(where: { $0.1 })?.0 { throw ValidationError("\(name) needs --live") }
            return
        }
        if to == nil { throw ValidationError("--live needs --to HOST[:PORT]") }
        if config != nil || out != nil || noPng || !decodeAs.isEmpty {
            throw ValidationError("--live sends, it records nothing: drop --config, --out, --no-png and --decode-as")
        }
        if [speed != nil, topspeed, pps != nil].filter({ $0 }).count > 1 { throw ValidationError("give at most one of --speed, --topspeed, --pps") }
        if let s = speed, !(s.isFinite && s > 0 && s <= 1_000_000) { throw ValidationError("--speed must be above 0 (at most 1000000)") }
        if let r = pps, !(r.isFinite && r > 0 && r <= 10_000_000) { throw ValidationError("--pps must be above 0 (at most 10000000)") }
        if let n = loop, !(1...1_000_000).contains(n) { throw ValidationError("--loop must be 1...1000000") }
        for (name, value) in [("--start", start), ("--stop", stop)] {
            if let v = value, !(v.isFinite && v >= 0 && v <= 1e9) { throw ValidationError("\(name) must be a number of seconds, 0 or more") }
        }
        if let a = start, let b = stop, b <= a { throw ValidationError("--stop must be after --start") }
        if let p = maxPause, !(p.isFinite && p > 0 && p <= 1e9) { throw ValidationError("--max-pause must be a number of seconds above 0 (at most 1000000000)") }
    }

    /// `replay --live`: resends the capture to --to with its timing and prints what was sent.
    func runLive() async throws {
        guard let target = to, let (name, port) = HostPort.parse(target, defaultPort: -1) else {
            throw UsageError(message: "--to \"\(to ?? "")\" is not HOST[:PORT]")
        }
        if port == 0 { throw UsageError(message: "--to: port 0 is not a destination") }
        guard let host = HostPort.resolve(name) else { throw UsageError(message: "--to: cannot resolve \"\(name)\" to an IPv4 or IPv6 address") }
        let pace: LivePace = topspeed ? .topSpeed : pps.map { .fixedRate($0) } ?? .capture(speed: speed ?? 1)
        let options = LiveReplayOptions(host: host, port: port < 0 ? nil : port, bindHost: Send.bindHost(for: host, interface: nil),
                                        interface: interface, pace: pace, passes: loop ?? 1,
                                        window: LiveWindow(start: start.map { .seconds($0) }, stop: stop.map { .seconds($0) }),
                                        maxPause: .seconds(maxPause ?? Replay.defaultMaxPause))
        let session = LiveReplaySession(options: options, source: LiveReplaySession.fileSource(path: capture))
        let stopper = SignalStopper { session.stop() }
        defer { _ = stopper }
        let result: LiveReplayResult
        do {
            result = try await session.run()
        } catch {
            throw RunError(message: "\(error)")
        }
        FileHandle.standardError.write(Data((Replay.liveSummary(result, capture: capture, to: target).joined(separator: "\n") + "\n").utf8))
        if let path = json { try FileText.write(Replay.liveJSON(result).pretty, to: path) }
        if let e = result.captureError { throw RunError(message: "capture read stopped: \(e) (everything before it was sent)") }
        if result.errors > 0 { throw RunError(message: "\(result.errors) sends failed, first: \(result.firstErrors.first ?? "unknown")") }
    }

    /// Seconds a pause of the capture's timing lasts at most in live replay, unless --max-pause says otherwise.
    static let defaultMaxPause = 3600.0

    static func liveSummary(_ r: LiveReplayResult, capture: String, to: String) -> [String] {
        var lines = [
            "\(capture) → \(to): \(r.datagrams) UDP datagrams (\(r.datagramBytes) bytes), \(r.tcpConnections) TCP connections "
                + "(\(r.tcpBytes) bytes sent, \(r.tcpBytesReceived) received), \(r.frames) layer-2 frames (\(r.frameBytes) bytes) "
                + "in \(String(format: "%.3f", r.elapsed)) s, \(r.passes) pass\(r.passes == 1 ? "" : "es")\(r.stoppedEarly ? ", stopped early" : "")",
            "skipped \(r.skipped.values.reduce(0, +)), errors \(r.errors), datagrams received back \(r.datagramsReceived)",
        ]
        for (reason, n) in r.skipped.sorted(by: { $0.key < $1.key }) { lines.append("  skipped \(n): \(reason)") }
        for e in r.firstErrors { lines.append("  error: \(e)") }
        if r.pausesCut > 0 {
            lines.append(String(format: "pauses cut (--max-pause): %d a pass, %.3f s of capture time skipped", r.pausesCut, r.pauseTimeCut.seconds))
        }
        if let l = r.lateness {
            lines.append(String(format: "lateness (send time − due time) over %d sends: mean %.1f µs, p99 %.1f µs, largest %.1f µs",
                                l.sends, l.meanNanoseconds / 1e3, Double(l.p99Nanoseconds) / 1e3, Double(l.maxNanoseconds) / 1e3))
        } else {
            lines.append("lateness: not measured (top speed or nothing sent)")
        }
        return lines
    }

    static func liveJSON(_ r: LiveReplayResult) -> JSONValue {
        .object([
            "datagrams": .int(r.datagrams), "datagram-bytes": .int(r.datagramBytes), "datagrams-received": .int(r.datagramsReceived),
            "tcp-connections": .int(r.tcpConnections), "tcp-bytes": .int(r.tcpBytes), "tcp-bytes-received": .int(r.tcpBytesReceived),
            "layer2-frames": .int(r.frames), "layer2-bytes": .int(r.frameBytes),
            "skipped": .object(r.skipped.mapValues { .int($0) }), "errors": .int(r.errors),
            "first-errors": .array(r.firstErrors.map { .string($0) }),
            "passes": .int(r.passes), "seconds": .double(r.elapsed), "stopped-early": .bool(r.stoppedEarly),
            "capture-error": r.captureError.map { .string($0) } ?? .null,
            "pauses-cut": .int(r.pausesCut), "pause-seconds-cut": .double(r.pauseTimeCut.seconds),
            "lateness": r.lateness.map { l in
                .object(["sends": .int(l.sends), "mean-us": .double(l.meanNanoseconds / 1e3),
                         "p99-us": .double(Double(l.p99Nanoseconds) / 1e3), "max-us": .double(Double(l.maxNanoseconds) / 1e3)])
            } ?? .null,
        ])
    }
}
