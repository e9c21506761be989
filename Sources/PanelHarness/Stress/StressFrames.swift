import Foundation
import Histogram
import PanelCore
import PanelDevice

/// The pictures of one stress sender, each stamped with its frame number so a controller's
/// frame event tells which frame it shows and whether it shows all of it:
/// - `FrameStamp` (the number and two check bytes) in the first six component bytes;
/// - the number's three low bits in the three low bits of every other component byte.
/// Both live in the canvas, which every protocol's channel map carries unchanged, so the
/// stamp survives any mapping. A frame event matches frame k only when every byte is frame
/// k's; a frame mixing two frames (torn) differs in the low bits of the other frame's bytes,
/// unless the two numbers are a multiple of 8 apart and the stamp's bytes came from frame k.
struct StressPictures {
    let bases: [Canvas]

    /// The content fitted to the panel (scaled, converted to its pixel format).
    init(content: StressScenario.Content, map: ChannelMap) {
        switch content {
        case .pattern(let p):
            bases = [p.render(frame: 0, width: map.width, height: map.height, format: map.format)]
        case .images(let images):
            bases = images.map { $0.resized(width: map.width, height: map.height).converted(to: map.format) }
        }
    }

    static let lowBits: UInt8 = 0x07

    private func base(_ k: Int) -> Canvas { bases[k % max(1, bases.count)] }

    /// Writes frame `k`'s picture into `canvas` (which has the panel's size and format).
    func render(_ k: Int, into canvas: inout Canvas) {
        let b = base(k)
        let low = UInt8(truncatingIfNeeded: k) & Self.lowBits
        let keep = ~Self.lowBits
        b.bytes.withUnsafeBufferPointer { src in
            canvas.bytes.withUnsafeMutableBufferPointer { dst in
                let n = min(src.count, dst.count)
                for i in 0..<n { dst[i] = (src[i] & keep) | low }
            }
        }
        FrameStamp.write(UInt32(truncatingIfNeeded: k), into: &canvas)
    }

    /// The frame number a shown picture is stamped with (nil: no intact stamp).
    static func frameNumber(_ shown: Canvas) -> Int? { FrameStamp.read(shown).map { Int($0) } }

    /// True when `shown` is exactly frame `k`'s picture.
    func matches(_ shown: Canvas, frame k: Int) -> Bool {
        let b = base(k)
        guard shown.width == b.width, shown.height == b.height, shown.format == b.format else { return false }
        let low = UInt8(truncatingIfNeeded: k) & Self.lowBits
        let keep = ~Self.lowBits
        return b.bytes.withUnsafeBufferPointer { src in
            shown.bytes.withUnsafeBufferPointer { got in
                var diff: UInt8 = 0
                for i in FrameStamp.byteCount..<src.count { diff |= got[i] ^ ((src[i] & keep) | low) }
                return diff == 0
            }
        }
    }
}

/// What one controller showed of the frames sent to it: shown intact (with latency), torn,
/// repeated, never shown. Fed from the sender (`sent`) and the controller (`show`), possibly
/// on different threads.
final class FrameTally: @unchecked Sendable {
    let pictures: StressPictures
    private let lock = NSLock()
    /// By frame number: when its encode started (ns, the session clock).
    private var encodeStart: [Int64] = []
    /// By frame number: latency in ns of its first intact showing, -1 while not shown.
    private(set) var latency: [Int64] = []
    private(set) var torn = 0
    /// Intact showings of a frame shown before.
    private(set) var repeated = 0

    /// Frames numbered below this are warm-up: their frame events are not counted.
    let warmup: Int

    init(pictures: StressPictures, frames: Int, warmup: Int) {
        self.pictures = pictures
        self.warmup = warmup
        encodeStart.reserveCapacity(frames)
        latency.reserveCapacity(frames)
    }

    /// Frame `k` (the next one, counting from 0) starts encoding at `time`.
    func sent(_ k: Int, at time: Timestamp) {
        lock.lock(); defer { lock.unlock() }
        guard k == encodeStart.count else { return }
        encodeStart.append(time.nanoseconds)
        latency.append(-1)
    }

    /// A frame event of the controller.
    func show(_ event: FrameEvent) {
        let number = StressPictures.frameNumber(event.canvas)
        let intact = !event.torn && number.map { pictures.matches(event.canvas, frame: $0) } == true
        lock.lock(); defer { lock.unlock() }
        // Warm-up: the controller is still learning the universes and the sync.
        if let k = number, k < warmup {
            if k == warmup - 1 { shownWarmup = true }
            return
        }
        if number == nil && encodeStart.count <= warmup { return }
        guard intact, let k = number else { torn += 1; return }
        guard k < encodeStart.count else { torn += 1; return }  // a stamp naming no frame sent: damaged
        if latency[k] >= 0 { repeated += 1; return }
        let (d, overflow) = event.time.nanoseconds.subtractingReportingOverflow(encodeStart[k])
        latency[k] = overflow ? Int64.max : max(0, d)
    }

    /// The controller showed the last warm-up frame (in whole or in part).
    var warmupShown: Bool { lock.lock(); defer { lock.unlock() }; return shownWarmup }
    private var shownWarmup = false

    /// Frames sent so far, warm-up included.
    var sentCount: Int { lock.lock(); defer { lock.unlock() }; return encodeStart.count }

    /// When frame `k` started encoding (nil: not sent).
    func encodeTime(_ k: Int) -> Timestamp? {
        lock.lock(); defer { lock.unlock() }
        return k < encodeStart.count ? Timestamp(nanoseconds: encodeStart[k]) : nil
    }

    /// The latencies of frames `range` shown intact, and how many of them were never shown.
    func summary(_ range: Range<Int>) -> (histogram: Histogram<UInt64>, shown: Int, lost: Int) {
        lock.lock(); defer { lock.unlock() }
        var h = LatencySummary.makeHistogram()
        var shown = 0, lost = 0
        for k in range.clamped(to: 0..<latency.count) {
            if latency[k] < 0 { lost += 1 } else {
                shown += 1
                h.record(UInt64(min(latency[k], LatencySummary.highest)))
            }
        }
        return (h, shown, lost)
    }
}

/// Latency percentiles of a set of frames, in seconds.
public struct LatencySummary: Sendable, Equatable {
    public var count: Int
    public var p50: Double
    public var p90: Double
    public var p99: Double
    public var p999: Double
    public var max: Double
    public var mean: Double

    /// The longest latency recorded as such (10 minutes, ns); longer ones are recorded as it.
    static let highest: Int64 = 600_000_000_000

    /// Nanoseconds from 1 µs to `highest`, three significant digits.
    static func makeHistogram() -> Histogram<UInt64> {
        Histogram<UInt64>(lowestDiscernibleValue: 1000, highestTrackableValue: UInt64(highest), numberOfSignificantValueDigits: .three)
    }

    init(_ h: Histogram<UInt64>) {
        count = Int(clamping: h.totalCount)
        let s = { (v: UInt64) in Double(v) / 1e9 }
        p50 = count > 0 ? s(h.valueAtPercentile(50)) : 0
        p90 = count > 0 ? s(h.valueAtPercentile(90)) : 0
        p99 = count > 0 ? s(h.valueAtPercentile(99)) : 0
        p999 = count > 0 ? s(h.valueAtPercentile(99.9)) : 0
        max = count > 0 ? s(h.max) : 0
        mean = count > 0 ? h.mean / 1e9 : 0
    }

    /// The value a threshold names ("p50", "p90", "p99", "p99.9", "max").
    func value(_ name: String) -> Double? {
        switch name {
        case "p50": return p50
        case "p90": return p90
        case "p99": return p99
        case "p99.9": return p999
        case "max": return max
        default: return nil
        }
    }
}
