/// Small text helpers for counters and findings (PanelDevice does not import Foundation).
enum Text {
    /// "0x0A"
    static func hexByte(_ b: UInt8) -> String {
        let s = String(b, radix: 16, uppercase: true)
        return "0x" + (s.count == 1 ? "0" + s : s)
    }

    /// Two lowercase hex digits, e.g. "0a" (data dumps).
    static func hexDigits(_ b: UInt8) -> String { (b < 16 ? "0" : "") + String(b, radix: 16) }

    /// "0x" and `digits` lowercase hex digits, e.g. hex(0x0200_0001, digits: 8) = "0x02000001".
    static func hex(_ v: UInt32, digits: Int) -> String {
        let s = String(v, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, digits - s.count)) + s
    }

    /// Seconds with one decimal, e.g. "12.4".
    static func seconds(_ s: Double) -> String {
        guard s.isFinite else { return "?" }
        let tenths = Int((s * 10).rounded())
        return "\(tenths / 10).\(abs(tenths % 10))"
    }
}
