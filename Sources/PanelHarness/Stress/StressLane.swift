import PanelCore
import PanelDevice
import PanelSession

/// Hands a packet on with the time it arrives at the far end of the network.
typealias PacketDelivery = (UnsafeRawBufferPointer, Timestamp) -> Void

/// Where a sender's packets go on their way to the transport: straight on, or through the
/// scenario's `FaultStage`. Used on one thread.
protocol PacketPath: AnyObject {
    /// A packet leaves the sender at `time`; delivered at once when nothing holds it back.
    func offer(_ packet: UnsafeRawBufferPointer, at time: Timestamp, _ deliver: PacketDelivery)
    /// Delivers the packets due by `time`.
    func release(upTo time: Timestamp, _ deliver: PacketDelivery)
    /// When the next held packet is due (nil: none due).
    var nextDue: Timestamp? { get }
    /// Delivers everything still held (the end of a run).
    func flush(_ deliver: PacketDelivery)
    var counters: FaultCounters { get }
}

/// No faults: every packet goes on when it is sent.
final class DirectPath: PacketPath {
    private(set) var counters = FaultCounters()
    func offer(_ packet: UnsafeRawBufferPointer, at time: Timestamp, _ deliver: PacketDelivery) {
        counters.offered += 1
        counters.delivered += 1
        deliver(packet, time)
    }
    func release(upTo time: Timestamp, _ deliver: PacketDelivery) {}
    var nextDue: Timestamp? { nil }
    func flush(_ deliver: PacketDelivery) {}
}

/// The scenario's faults: packets pass a `FaultStage` (loss, delay, reordering …).
final class FaultPath: PacketPath {
    let stage: FaultStage
    init(_ settings: FaultSettings) { stage = FaultStage(settings: settings) }
    var counters: FaultCounters { stage.counters }
    func offer(_ packet: UnsafeRawBufferPointer, at time: Timestamp, _ deliver: PacketDelivery) {
        stage.offer(packet, at: time)
        stage.release(upTo: time, deliver)
    }
    func release(upTo time: Timestamp, _ deliver: PacketDelivery) { stage.release(upTo: time, deliver) }
    var nextDue: Timestamp? { stage.nextDue }
    func flush(_ deliver: PacketDelivery) { stage.flush(deliver) }
}

/// When each frame of a run is due. First `warmup` frames at the first rate, from the run's
/// start: they let the controller learn its universes and the sync, and are not measured.
/// Then, from the measured start (once the controller showed the last warm-up frame), frame
/// k of a step at `fps` at the step's start + k/fps (drift-free), steps one after the other.
/// Frame numbers count the warm-up frames.
struct FrameSchedule: Sendable {
    struct Step: Sendable {
        var fps: Double
        var firstFrame: Int
        var frames: Int
        /// From the measured start.
        var start: Timestamp
    }
    /// Frames sent before the measured ones.
    static let warmup = 3
    /// The longest wait for the controller to show the last warm-up frame.
    static let warmupLimit = Timestamp.milliseconds(5000)
    /// The measured steps.
    let steps: [Step]
    let warmupFPS: Double
    /// Frames in all, warm-up included.
    let count: Int

    init(scenario s: StressScenario) {
        var steps: [Step] = []
        var first = FrameSchedule.warmup
        var start = Timestamp.zero
        let rates = s.ramp?.rates ?? [s.fps]
        for rate in rates {
            let n = s.ramp.map { StressScenario.framesFor(seconds: $0.stepSeconds, fps: rate) } ?? s.frames
            steps.append(Step(fps: rate, firstFrame: first, frames: n, start: start))
            first += n
            start = start + Timestamp(nanoseconds: Int64((Double(n) / rate * 1e9).rounded()))
        }
        self.steps = steps
        warmupFPS = rates.first ?? s.fps
        count = first
    }

    /// The step frame `k` belongs to (nil: a warm-up frame).
    func step(of k: Int) -> Step? { steps.last { $0.firstFrame <= k } }

    /// When frame `k` is due: a warm-up frame from the run's start, a measured one from the measured start.
    func offset(_ k: Int) -> Timestamp {
        guard let s = step(of: k) else { return Timestamp(nanoseconds: Int64((Double(k) / warmupFPS * 1e9).rounded())) }
        return s.start + Timestamp(nanoseconds: Int64((Double(k - s.firstFrame) / s.fps * 1e9).rounded()))
    }
}

/// One sender of a stress run: renders and stamps frame after frame on schedule, encodes it
/// with the protocol's sender and passes the packets through its path. Confined to one thread.
final class StressLane: @unchecked Sendable {
    let controller: ControllerConfig
    let map: ChannelMap
    let tally: FrameTally
    let path: PacketPath
    let schedule: FrameSchedule
    private var sender: FrameSender
    private var canvas: Canvas
    private(set) var next = 0
    /// Packets and bytes sent, and how many of them were warm-up.
    private(set) var packets = 0
    private(set) var bytes = 0
    private(set) var warmupPackets = 0
    private(set) var warmupBytes = 0
    /// When the run starts (frame 0 is due) and when the last frame's encode ended.
    var start = Timestamp.zero
    /// When the first measured frame is due: set once the warm-up is over.
    private(set) var measuredStart: Timestamp?
    /// Repeats of the last warm-up frame while waiting for the controller to show it.
    private var warmupRepeats = 0
    private(set) var sendEnd = Timestamp.zero
    /// Why the transport refused packets, and how many it refused.
    private(set) var failure: String?
    private(set) var refused = 0

    init(controller: ControllerConfig, map: ChannelMap, scenario: StressScenario, path: PacketPath) {
        self.controller = controller
        self.map = map
        self.path = path
        schedule = FrameSchedule(scenario: scenario)
        tally = FrameTally(pictures: StressPictures(content: scenario.content, map: map), frames: schedule.count, warmup: FrameSchedule.warmup)
        sender = controller.plugin.makeSender(SenderSettings(map: map, sync: scenario.sync))
        canvas = Canvas(width: map.width, height: map.height, format: map.format)
    }

    /// Counts a packet the transport did not take.
    func refuse(_ reason: String) {
        refused += 1
        if failure == nil { failure = reason }
    }

    /// Sends what is due at `now` (held packets, then at most one frame) through `deliver`;
    /// returns when to be called again, nil when every frame is sent and no packet is held.
    func step(now: Timestamp, clock: () -> Timestamp, _ deliver: PacketDelivery) -> Timestamp? {
        path.release(upTo: now, deliver)
        if next == FrameSchedule.warmup && measuredStart == nil {
            // Measure from when the controller has caught up with the warm-up; until then the
            // last warm-up frame is sent again at the warm-up rate (it may have been lost).
            if tally.warmupShown || now - start >= FrameSchedule.warmupLimit {
                measuredStart = now
                (warmupPackets, warmupBytes) = (packets, bytes)
            } else {
                let again = due(next + warmupRepeats)
                if again <= now {
                    send(next - 1, clock: clock, deliver)
                    warmupRepeats += 1
                }
                let poll = min(now + Timestamp.milliseconds(1), due(next + warmupRepeats))
                return min(poll, path.nextDue ?? poll)
            }
        }
        if next < schedule.count, due(next) <= now {
            send(next, clock: clock, deliver)
            next += 1
            sendEnd = clock()
        }
        guard next < schedule.count else {
            if let due = path.nextDue { return due }
            path.flush(deliver)  // packets held back for later ones that never came
            return nil
        }
        let wake = next == FrameSchedule.warmup && measuredStart == nil ? now + Timestamp.milliseconds(1) : due(next)
        return min(wake, path.nextDue ?? wake)
    }

    /// Renders, stamps and encodes frame `k`; its packets go into the path.
    private func send(_ k: Int, clock: () -> Timestamp, _ deliver: PacketDelivery) {
        tally.pictures.render(k, into: &canvas)
        tally.sent(k, at: clock())
        sender.encode(canvas) { bytes, _ in
            packets += 1
            self.bytes += bytes.count
            path.offer(bytes, at: clock(), deliver)
        }
    }

    /// When frame `k` is due: warm-up frames (and their repeats, numbered on) from the start,
    /// measured frames from the measured start.
    private func due(_ k: Int) -> Timestamp {
        if let m = measuredStart { return m + schedule.offset(k) }
        return start + Timestamp(nanoseconds: Int64((Double(k) / schedule.warmupFPS * 1e9).rounded()))
    }
}
