import Foundation
import Logging
import PanelCore
import PanelDevice
import PanelSession
#if canImport(Glibc)
import Glibc
#endif

/// Runs a stress scenario: one sender per controller, every frame stamped, latency from the
/// start of a frame's encode to the frame event that shows it, on the session's clock.
public enum StressRunner {
    /// The clock of encode starts and frame events (`ServeSession.now()`, monotonic).
    static func now() -> Timestamp { ServeSession.now() }

    /// Runs the scenario to the end. Throws `RunFailure` when the run itself fails (a port,
    /// a PTY, a transport that closed).
    public static func run(_ scenario: StressScenario) async throws -> StressResult {
        if let ramp = scenario.universeRamp { return try await runUniverseRamp(scenario, ramp) }
        let cpuBefore = CPUTime.now()
        var lanes: [StressLane] = []
        for (i, c) in scenario.controllers.enumerated() {
            let map: ChannelMap
            do { map = try c.channelMap() } catch { throw ConfigError(file: c.file, line: c.line, key: c.path + ".mapping", error.description) }
            var faults = scenario.faults
            faults.seed = faults.seed &+ UInt64(i)  // independent faults per controller, repeatable
            lanes.append(StressLane(controller: c, map: map, scenario: scenario, path: makePath(faults)))
        }
        let received: [Int]
        switch scenario.transport {
        case .memory: received = try runInMemory(scenario, lanes: lanes)
        case .udp, .tcp, .pty: received = try await runLive(scenario, lanes: lanes)
        }
        let cpu = CPUTime.now() - cpuBefore
        return StressResult(scenario: scenario, lanes: lanes, received: received, cpu: cpu)
    }

    /// A universe ramp: one whole run per step, the controller's panel cut to the rows that
    /// hold the step's universes, at the sender's fixed rate.
    static func runUniverseRamp(_ s: StressScenario, _ ramp: StressScenario.UniverseRamp) async throws -> StressResult {
        let c = s.controllers[0]
        let perUniverse: Int
        do { perUniverse = try c.channelMap().pixelsPerUniverse } catch { throw ConfigError(file: c.file, line: c.line, key: c.path + ".mapping", error.description) }
        var steps: [UniverseStep] = []
        var runs: [StressResult] = []
        for count in ramp.counts {
            var step = s
            step.universeRamp = nil
            step.frames = StressScenario.framesFor(seconds: ramp.stepSeconds, fps: s.fps)
            step.controllers[0].height = max(1, min(c.height, count.multipliedReportingOverflow(by: perUniverse).partialValue / max(1, c.width)))
            let universes: Int
            do { universes = try step.controllers[0].channelMap().universeCount } catch { throw ConfigError(file: c.file, line: c.line, key: c.path + ".mapping", error.description) }
            let r = try await run(step)
            let lane = r.controllers.first
            steps.append(UniverseStep(universes: universes, rows: step.controllers[0].height, fps: s.fps, frames: lane?.framesSent ?? 0,
                                      lost: r.framesLost, torn: r.framesTorn, packetsPerSecond: r.packetsPerSecond,
                                      achievedFPS: lane.map { $0.seconds > 0 ? Double($0.framesSent) / $0.seconds : 0 } ?? 0, p99: r.latency.p99))
            runs.append(r)
        }
        let held = steps.prefix { $0.held }
        var result = runs[max(0, held.count - 1)]
        result.universeRamp = steps
        result.sustainedUniverses = held.last?.universes
        result.thresholds = result.evaluate(s.thresholds)
        return result
    }

    /// The packet path for the scenario's faults.
    static func makePath(_ faults: FaultSettings) -> PacketPath {
        faults.isTransparent ? DirectPath() : FaultPath(faults)
    }

    // MARK: memory

    /// In process, on this thread: encode → path → model.receive (the real clock) → frame
    /// events. Returns the packets each model received.
    static func runInMemory(_ s: StressScenario, lanes: [StressLane]) throws -> [Int] {
        var models: [DeviceModel] = []
        for lane in lanes {
            let c = lane.controller
            do {
                models.append(try c.plugin.makeDevice(ControllerSettings(name: c.name, map: lane.map, frame: c.frame, options: c.options, images: c.images)))
            } catch {
                throw ConfigError(file: c.file, line: c.line, key: c.path + ".options." + error.key, error.message)
            }
        }
        let source = PacketSource(address: "127.0.0.1", port: 50000)
        let start = now() + Timestamp.milliseconds(1)
        for lane in lanes { lane.start = start }
        var active = Array(repeating: true, count: lanes.count)
        var lastTick = start
        let tickInterval = Timestamp.milliseconds(10)
        while active.contains(true) {
            var wake: Timestamp? = nil
            for (i, lane) in lanes.enumerated() where active[i] {
                let model = models[i]
                let next = lane.step(now: now(), clock: now) { bytes, _ in model.receive(bytes, from: source, at: now()) }
                for f in model.takeOutput().frames { lane.tally.show(f) }
                if let w = next { wake = min(wake ?? w, w) } else { active[i] = false }
            }
            let t = now()
            if t - lastTick >= tickInterval {
                for (i, m) in models.enumerated() {
                    m.tick(at: t)
                    for f in m.takeOutput().frames { lanes[i].tally.show(f) }
                }
                lastTick = t
            }
            if let w = wake { sleep(until: min(w, lastTick + tickInterval)) }
        }
        let end = now()
        for (i, m) in models.enumerated() {
            m.finish(at: end)
            for f in m.takeOutput().frames { lanes[i].tally.show(f) }
        }
        return models.map(\.counters.packets)
    }

    static func sleep(until t: Timestamp) {
        let d = t - now()
        guard d.nanoseconds > 0 else { return }
        var ts = timespec(tv_sec: Int(d.nanoseconds / 1_000_000_000), tv_nsec: Int(d.nanoseconds % 1_000_000_000))
        nanosleep(&ts, nil)
    }

    // MARK: live transports

    /// A serve session on loopback (UDP, TCP or PTYs) receives; each sender runs on the event
    /// loop of its own `SendLink`. Returns the packets each controller received.
    static func runLive(_ s: StressScenario, lanes: [StressLane]) async throws -> [Int] {
        var controllers = s.controllers
        for i in controllers.indices where !s.transportGiven[i] {
            switch s.transport {
            case .udp: controllers[i].transport = .udp(host: "127.0.0.1", port: 0)
            case .tcp: controllers[i].transport = .tcp(host: "127.0.0.1", port: 0)
            case .pty, .memory: controllers[i].transport = .serial(link: nil, baud: 115200)
            }
        }
        let tallies = Dictionary(uniqueKeysWithValues: lanes.map { ($0.controller.name, $0.tally) })
        let checks = DispatchQueue(label: "panelsim.stress.check")
        let ready = FileManager.default.temporaryDirectory.appendingPathComponent("panelsim-stress-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).json").path
        defer { try? FileManager.default.removeItem(atPath: ready) }
        var options = ServeOptions()
        options.readyFile = ready
        options.onFrame = { name, event in checks.async { tallies[name]?.show(event) } }
        let session = ServeSession(config: SessionConfig(controllers: controllers), options: options, logger: Logger(label: "panelsim.stress"))
        let startFailure = FailureBox()
        let serving = Task {
            do { return try await session.run() } catch { startFailure.set(error); throw error }
        }

        let listening: [String: [String: Any]]
        do {
            listening = try await waitUntilListening(ready, failure: startFailure)
        } catch {
            session.stop()
            _ = try? await serving.value
            throw error
        }
        var links: [SendLink] = []
        do {
            for lane in lanes {
                let c = lane.controller
                guard let entry = listening[c.name] else { throw RunFailure("\(c.name): the serve session did not report where it listens") }
                var target = SendOptions(plugin: c.plugin, host: "127.0.0.1", port: entry["port"] as? Int ?? 0, map: lane.map,
                                         content: .pattern(.bars), fps: nil, frames: nil, seconds: nil, sender: SenderSettings(map: lane.map, sync: s.sync))
                // The load generator is not what is measured: let the kernel take a frame's datagrams in runs.
                target.segmentationOffload = true
                if s.transport == .pty {
                    guard let path = entry["path"] as? String else { throw RunFailure("\(c.name): the serve session reported no serial path") }
                    target.serial = SerialSendTarget(path: path, baud: 115200)
                }
                links.append(try await SendSession.openLink(target))
            }
        } catch {
            for l in links { await l.close() }
            session.stop()
            _ = try? await serving.value
            throw error
        }

        let start = now() + Timestamp.milliseconds(20)
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            let remaining = Countdown(lanes.count) { done.resume() }
            for (lane, link) in zip(lanes, links) {
                lane.start = start
                let pump = LivePump(lane: lane, link: link, finished: { remaining.tick() })
                link.schedule(at: start) { pump.pump() }
            }
        }
        // Frames still on their way: wait a little, then stop the session (pending frames end torn).
        let interval = 1 / (s.ramp?.rates.last ?? s.fps)
        try? await Task.sleep(nanoseconds: UInt64(max(0.2, 3 * interval) * 1e9))
        for l in links { await l.close() }
        session.stop()
        let result: ServeResult
        do { result = try await serving.value } catch { throw RunFailure("the serve session failed: \(error)") }
        checks.sync {}
        if let e = result.outputErrors.first { throw RunFailure(e) }
        return lanes.map { lane in result.controllers.first { $0.name == lane.controller.name }?.counters.packets ?? 0 }
    }

    /// Waits for the serve session's ready file (at most 10 s) and reads it: controller → entry.
    static func waitUntilListening(_ path: String, failure: FailureBox) async throws -> [String: [String: Any]] {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if let e = failure.error { throw e is ConfigError ? e : RunFailure("\(e)") }
            if let data = FileManager.default.contents(atPath: path), !data.isEmpty,
               let doc = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
               let list = doc["listening"] as? [[String: Any]] {
                var out: [String: [String: Any]] = [:]
                for entry in list { if let name = entry["controller"] as? String { out[name] = entry } }
                return out
            }
            try await Task.sleep(nanoseconds: 5_000_000)
        }
        throw RunFailure("the serve session did not start listening within 10 s")
    }
}

/// Runs one lane on its link's event loop: steps whenever something is due, waits while the
/// socket's buffer is full, stops on a closed connection.
final class LivePump: @unchecked Sendable {
    let lane: StressLane
    let link: SendLink
    let finished: () -> Void

    init(lane: StressLane, link: SendLink, finished: @escaping () -> Void) {
        self.lane = lane; self.link = link; self.finished = finished
    }

    func pump() {
        if let closed = link.closedReason { lane.refuse(closed); finished(); return }
        guard link.isWritable else {
            link.schedule(at: StressRunner.now() + Timestamp(nanoseconds: 20_000)) { self.pump() }
            return
        }
        let wake = lane.step(now: StressRunner.now(), clock: StressRunner.now) { bytes, _ in
            if let refused = link.write(bytes) { lane.refuse(refused) }
        }
        link.flush()
        guard let w = wake else { finished(); return }
        if w <= StressRunner.now() { link.execute { self.pump() } } else { link.schedule(at: w) { self.pump() } }
    }
}

/// The error a task ended with, readable from another task.
final class FailureBox: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Error?
    func set(_ e: Error) { lock.lock(); stored = e; lock.unlock() }
    var error: Error? { lock.lock(); defer { lock.unlock() }; return stored }
}

/// Calls `action` once `count` ticks have arrived (from any thread).
final class Countdown: @unchecked Sendable {
    private let lock = NSLock()
    private var remaining: Int
    private let action: () -> Void
    init(_ count: Int, _ action: @escaping () -> Void) { remaining = count; self.action = action }
    func tick() {
        lock.lock()
        remaining -= 1
        let fire = remaining == 0
        lock.unlock()
        if fire { action() }
    }
}

/// CPU time this process used (getrusage), in seconds.
public struct CPUTime: Sendable, Equatable {
    public var user: Double
    public var system: Double

    static func now() -> CPUTime {
        var u = rusage()
        getrusage(RUSAGE_SELF.rawValue, &u)
        func s(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return CPUTime(user: s(u.ru_utime), system: s(u.ru_stime))
    }

    static func - (a: CPUTime, b: CPUTime) -> CPUTime { CPUTime(user: a.user - b.user, system: a.system - b.system) }
}
