/// Small text helpers for counters and findings (PanelDevice does not import Foundation).
enum Text {
    /// "0x0A"
    static func hexByte(_ b: UInt8) -> String {
        let s = String(b, radix: 16, uppercase: true)
        return "0x" + (s.count == 1 ? "0" + s : s)
    }

    /// Seconds with one decimal, e.g. "12.4".
    static func seconds(_ s: Double) -> String {
        guard s.isFinite else { return "?" }
        let tenths = Int((s * 10).rounded())
        return "\(tenths / 10).\(abs(tenths % 10))"
    }
}
