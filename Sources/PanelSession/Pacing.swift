import NIOCore
import PanelCore

/// Drift-free pacing, shared by `send` and live replay: every item has a fixed offset from one
/// anchor taken when the first item left, so a late send never delays the ones after it.
enum DriftFreePacing {
    /// Item `index` of a stream at `rate` items per second: `index / rate`, rounded to the
    /// nanosecond (saturating).
    static func offset(index: Int, rate: Double) -> Timestamp {
        Timestamp(nanoseconds: saturatingNanoseconds((Double(index) * 1e9 / rate).rounded()))
    }

    /// When an item `offset` after `anchor` is due (saturating at NIO's far future).
    static func deadline(anchor: NIODeadline, offset: Timestamp) -> NIODeadline {
        anchor + .nanoseconds(offset.nanoseconds)
    }

    /// A number of nanoseconds as Int64, clamped to Int64's range (NaN gives 0), so a scaled
    /// capture time can never trap.
    static func saturatingNanoseconds(_ value: Double) -> Int64 {
        guard !value.isNaN else { return 0 }
        if value >= 9.2e18 { return Int64.max }
        if value <= -9.2e18 { return Int64.min }
        return Int64(value)
    }
}
