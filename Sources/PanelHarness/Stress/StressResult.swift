import Foundation
import Histogram
import PanelCore
import PanelSession

/// What one controller showed of its sender's frames.
public struct StressControllerResult: Sendable {
    public var name: String
    public var protocolName: String
    public var pixels: Int
    public var framesSent: Int
    /// Frames shown intact at least once.
    public var framesShown: Int
    /// Frames sent but never shown intact.
    public var framesLost: Int
    /// Frame events that were not one whole frame (mixed content, flagged torn, stamp damaged).
    public var framesTorn: Int
    /// Intact showings of a frame already shown.
    public var framesRepeated: Int
    public var packetsSent: Int
    public var bytesSent: Int
    /// Packets of the warm-up frames (not in `packetsSent`; in `packetsReceived` and `faults`).
    public var warmupPackets: Int
    /// Packets the device model counted, warm-up included.
    public var packetsReceived: Int
    /// What the fault stage did, warm-up included.
    public var faults: FaultCounters
    public var latency: LatencySummary
    /// From the run's start to the end of the last frame's interval.
    public var seconds: Double
    /// Packets the transport refused, and why (the first reason).
    public var refused: Int
    public var refusal: String?

    public var framesPerSecond: Double { seconds > 0 ? Double(framesShown) / seconds : 0 }
    public var packetsPerSecond: Double { seconds > 0 ? Double(packetsSent) / seconds : 0 }
}

/// One step of a ramp: its rate and whether the controllers kept up with it.
public struct RampStep: Sendable {
    public var fps: Double
    public var frames: Int
    public var lost: Int
    /// Frames per second the sender reached in the step.
    public var achievedFPS: Double
    public var p99: Double
    /// No frame lost and the sender within 5 % of the rate.
    public var held: Bool { lost == 0 && achievedFPS >= 0.95 * fps }
}

/// One step of a universe ramp: a whole run at the sender's rate on the panel's top rows.
public struct UniverseStep: Sendable {
    public var universes: Int
    public var rows: Int
    public var fps: Double
    public var frames: Int
    public var lost: Int
    public var torn: Int
    public var packetsPerSecond: Double
    /// Frames per second the sender reached in the step.
    public var achievedFPS: Double
    public var p99: Double
    /// No frame lost or torn, the sender within 5 % of the rate, and p99 latency within two
    /// frame intervals (later means the controller is falling behind and would lose frames in a
    /// longer step).
    public var held: Bool { lost == 0 && torn == 0 && achievedFPS >= 0.95 * fps && p99 <= 2 / fps }
}

/// One threshold of the scenario and how the run compares.
public struct ThresholdOutcome: Sendable {
    public var name: String
    /// The limit and the measured value, as people read them ("< 5 ms", "1.2 ms").
    public var limit: String
    public var measured: String
    public var passed: Bool
}

/// Everything a stress run measured, and the thresholds' verdicts.
public struct StressResult: Sendable {
    public var scenario: String
    public var file: String
    public var transport: String
    public var controllers: [StressControllerResult]
    public var latency: LatencySummary
    public var cpu: CPUTime
    public var seconds: Double
    public var ramp: [RampStep]
    /// The highest ramp rate up to which every step held (nil without a ramp or when none held).
    public var sustainedFPS: Double?
    /// Universe ramps: every step; the rest of the result is the run of the largest step that
    /// held (the first step when none held).
    public var universeRamp: [UniverseStep] = []
    /// The most universes up to which every step held (nil without a universe ramp or when none held).
    public var sustainedUniverses: Int?
    public var thresholds: [ThresholdOutcome]

    public var framesSent: Int { controllers.reduce(0) { $0 + $1.framesSent } }
    public var framesShown: Int { controllers.reduce(0) { $0 + $1.framesShown } }
    public var framesLost: Int { controllers.reduce(0) { $0 + $1.framesLost } }
    public var framesTorn: Int { controllers.reduce(0) { $0 + $1.framesTorn } }
    public var packetsSent: Int { controllers.reduce(0) { $0 + $1.packetsSent } }
    public var framesPerSecond: Double { controllers.reduce(0) { $0 + $1.framesPerSecond } }
    public var packetsPerSecond: Double { controllers.reduce(0) { $0 + $1.packetsPerSecond } }
    public var megapixelsPerSecond: Double {
        controllers.reduce(0) { $0 + ($1.seconds > 0 ? Double($1.framesShown) * Double($1.pixels) / $1.seconds : 0) } / 1e6
    }
    /// Payload (the protocol's datagrams or stream bytes) sent, in Gbit/s.
    public var gigabitsPerSecond: Double { controllers.reduce(0) { $0 + ($1.seconds > 0 ? Double($1.bytesSent) * 8 / $1.seconds : 0) } / 1e9 }

    /// True when every threshold holds.
    public var passed: Bool { thresholds.allSatisfy(\.passed) }
    /// 0 when every threshold holds, 1 when one failed (2 and 3 come from errors: README's table).
    public var exitCode: Int32 { passed ? 0 : 1 }

    init(scenario s: StressScenario, lanes: [StressLane], received: [Int], cpu: CPUTime) {
        scenario = s.name
        file = s.file
        transport = s.transport.rawValue
        self.cpu = cpu
        var all = LatencySummary.makeHistogram()
        var results: [StressControllerResult] = []
        for (lane, got) in zip(lanes, received) {
            let sent = max(0, lane.tally.sentCount - FrameSchedule.warmup)
            let (h, shown, lost) = lane.tally.summary(FrameSchedule.warmup..<lane.tally.sentCount)
            all.add(h)
            let lastRate = lane.schedule.steps.last?.fps ?? s.fps
            let end = lane.sendEnd + Timestamp(nanoseconds: Int64(1e9 / lastRate))
            results.append(StressControllerResult(
                name: lane.controller.name, protocolName: lane.controller.plugin.name, pixels: lane.map.width * lane.map.height,
                framesSent: sent, framesShown: shown, framesLost: lost, framesTorn: lane.tally.torn, framesRepeated: lane.tally.repeated,
                packetsSent: lane.packets - lane.warmupPackets, bytesSent: lane.bytes - lane.warmupBytes, warmupPackets: lane.warmupPackets, packetsReceived: got, faults: lane.path.counters,
                latency: LatencySummary(h), seconds: max(0, (end - (lane.measuredStart ?? lane.start)).seconds), refused: lane.refused, refusal: lane.failure))
        }
        controllers = results
        latency = LatencySummary(all)
        seconds = results.map(\.seconds).max() ?? 0
        ramp = []
        if s.ramp != nil, let schedule = lanes.first?.schedule {
            let steps = schedule.steps
            for (i, step) in steps.enumerated() {
                let range = step.firstFrame..<(step.firstFrame + step.frames)
                var h = LatencySummary.makeHistogram()
                var lost = 0
                var slowest = Double.infinity
                for lane in lanes {
                    let part = lane.tally.summary(range)
                    h.add(part.histogram)
                    lost += part.lost
                    // The step's span: its first frame's encode to the next step's first (or the end).
                    let first = lane.tally.encodeTime(step.firstFrame)
                    let last = i + 1 < steps.count ? lane.tally.encodeTime(range.upperBound) : lane.sendEnd + Timestamp(nanoseconds: Int64(1e9 / step.fps))
                    if let a = first, let b = last, b > a { slowest = min(slowest, Double(step.frames) / (b - a).seconds) } else { slowest = 0 }
                }
                ramp.append(RampStep(fps: step.fps, frames: step.frames, lost: lost, achievedFPS: slowest.isFinite ? slowest : 0, p99: LatencySummary(h).p99))
            }
            sustainedFPS = ramp.prefix { $0.held }.last?.fps
        }
        thresholds = []
        thresholds = evaluate(s.thresholds)
    }

    /// The verdict of each threshold, in a fixed order.
    func evaluate(_ t: StressScenario.Thresholds) -> [ThresholdOutcome] {
        var out: [ThresholdOutcome] = []
        for (name, limit) in t.latency {
            let measured = latency.count > 0 ? latency.value(name) : nil
            out.append(ThresholdOutcome(name: "latency \(name)", limit: "< \(Self.ms(limit.seconds))",
                                        measured: measured.map(Self.ms) ?? "no frame shown", passed: measured.map { $0 < limit.seconds } ?? false))
        }
        if let v = t.minFPS {
            let worst = controllers.min { $0.framesPerSecond < $1.framesPerSecond }
            out.append(ThresholdOutcome(name: "min-fps", limit: ">= \(Self.number(v))",
                                        measured: worst.map { "\(Self.number($0.framesPerSecond)) (\($0.name))" } ?? "-", passed: (worst?.framesPerSecond ?? 0) >= v))
        }
        if let v = t.minPPS {
            out.append(ThresholdOutcome(name: "min-pps", limit: ">= \(Self.number(v))", measured: Self.number(packetsPerSecond), passed: packetsPerSecond >= v))
        }
        if let v = t.maxLostFrames {
            out.append(ThresholdOutcome(name: "max-lost-frames", limit: "<= \(v)", measured: "\(framesLost)", passed: framesLost <= v))
        }
        if let v = t.maxTornFrames {
            out.append(ThresholdOutcome(name: "max-torn-frames", limit: "<= \(v)", measured: "\(framesTorn)", passed: framesTorn <= v))
        }
        if let v = t.minSustainedFPS {
            out.append(ThresholdOutcome(name: "min-sustained-fps", limit: ">= \(Self.number(v))",
                                        measured: sustainedFPS.map(Self.number) ?? "none held", passed: (sustainedFPS ?? 0) >= v))
        }
        if let v = t.minSustainedUniverses {
            out.append(ThresholdOutcome(name: "min-sustained-universes", limit: ">= \(v)",
                                        measured: sustainedUniverses.map { "\($0)" } ?? "none held", passed: (sustainedUniverses ?? 0) >= v))
        }
        return out
    }

    static func ms(_ seconds: Double) -> String { String(format: "%.3f ms", seconds * 1e3) }
    static func number(_ v: Double) -> String { v >= 100 ? String(format: "%.0f", v) : String(format: "%.2f", v) }
}
