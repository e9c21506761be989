/// A point in time or a duration, in nanoseconds. Device models never read a clock:
/// the caller passes the time in (wall clock when serving, capture time in replay).
public struct Timestamp: Comparable, Hashable, Sendable, CustomStringConvertible {
    public var nanoseconds: Int64

    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }
    public static func seconds(_ s: Double) -> Timestamp { Timestamp(nanoseconds: Int64(s * 1e9)) }
    /// Saturates instead of wrapping, like `+` and `-`.
    public static func milliseconds(_ ms: Int64) -> Timestamp {
        let (v, o) = ms.multipliedReportingOverflow(by: 1_000_000)
        return Timestamp(nanoseconds: o ? (ms > 0 ? Int64.max : Int64.min) : v)
    }
    public static let zero = Timestamp(nanoseconds: 0)

    public var seconds: Double { Double(nanoseconds) / 1e9 }

    public static func < (a: Timestamp, b: Timestamp) -> Bool { a.nanoseconds < b.nanoseconds }
    /// Saturating difference, so a capture whose clock jumps cannot trap.
    public static func - (a: Timestamp, b: Timestamp) -> Timestamp {
        let (v, o) = a.nanoseconds.subtractingReportingOverflow(b.nanoseconds)
        return Timestamp(nanoseconds: o ? (b.nanoseconds > 0 ? Int64.min : Int64.max) : v)
    }
    public static func + (a: Timestamp, b: Timestamp) -> Timestamp {
        let (v, o) = a.nanoseconds.addingReportingOverflow(b.nanoseconds)
        return Timestamp(nanoseconds: o ? (b.nanoseconds > 0 ? Int64.max : Int64.min) : v)
    }
    public var description: String { "\(seconds)s" }
}
