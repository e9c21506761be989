/// Why a decoder refused a packet: it could not be interpreted at all.
/// Carries the byte offset where interpretation failed, for reports and `check`.
public struct WireError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A stable machine-readable reason, e.g. "too-short", "bad-identifier".
    public let reason: Reason
    /// The byte offset (from the start of the packet) where decoding failed.
    public let offset: Int
    /// Human-readable detail.
    public let detail: String

    public enum Reason: String, Sendable, CaseIterable {
        case tooShort = "too-short"
        case badIdentifier = "bad-identifier"
        case lengthPastEnd = "length-past-end"
        case badVector = "bad-vector"
        case unsupportedLayout = "unsupported-layout"
    }

    public init(_ reason: Reason, at offset: Int, _ detail: String) {
        self.reason = reason
        self.offset = offset
        self.detail = detail
    }

    public var description: String { "\(reason.rawValue) at byte \(offset): \(detail)" }
}

/// A spec rule a packet breaks while still being interpretable. The ID is stable and
/// is what `check` and reports print; the text says which rule and where it is written.
public struct RuleID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }
    public static func < (a: RuleID, b: RuleID) -> Bool { a.rawValue < b.rawValue }
}

/// Reading helpers over a raw buffer; every read is bounds-checked by its caller's guard.
extension UnsafeRawBufferPointer {
    @inlinable func u8(_ o: Int) -> UInt8 { self[o] }
    @inlinable func u16be(_ o: Int) -> UInt16 { UInt16(self[o]) << 8 | UInt16(self[o + 1]) }
    @inlinable func u16le(_ o: Int) -> UInt16 { UInt16(self[o + 1]) << 8 | UInt16(self[o]) }
    @inlinable func u32be(_ o: Int) -> UInt32 {
        UInt32(self[o]) << 24 | UInt32(self[o + 1]) << 16 | UInt32(self[o + 2]) << 8 | UInt32(self[o + 3])
    }
    /// A NUL-terminated (or field-filling) UTF-8 string of at most `count` bytes.
    func cString(_ o: Int, count: Int) -> String {
        let end = Swift.min(self.count, o + count)
        guard o < end else { return "" }
        var bytes: [UInt8] = []
        for i in o..<end {
            if self[i] == 0 { break }
            bytes.append(self[i])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Writing helpers for encoders: explicit byte order at every write.
extension Array where Element == UInt8 {
    @inlinable mutating func appendU16BE(_ v: UInt16) { append(UInt8(v >> 8)); append(UInt8(v & 0xFF)) }
    @inlinable mutating func appendU16LE(_ v: UInt16) { append(UInt8(v & 0xFF)); append(UInt8(v >> 8)) }
    @inlinable mutating func appendU32BE(_ v: UInt32) {
        append(UInt8(v >> 24)); append(UInt8((v >> 16) & 0xFF)); append(UInt8((v >> 8) & 0xFF)); append(UInt8(v & 0xFF))
    }
    /// A string in a fixed-size field, NUL-padded, truncated to leave a terminating NUL.
    mutating func appendFixedString(_ s: String, size: Int) {
        var n = 0
        for b in s.utf8.prefix(size - 1) { append(b); n += 1 }
        append(contentsOf: repeatElement(0, count: size - n))
    }
    mutating func setU16BE(_ v: UInt16, at o: Int) { self[o] = UInt8(v >> 8); self[o + 1] = UInt8(v & 0xFF) }
}

/// In-place writing helpers for encoders that fill a caller's packet buffer (senders that
/// extract pixels straight into the packet); callers check the buffer's size first.
extension UnsafeMutableRawBufferPointer {
    @inlinable func setU16BE(_ v: UInt16, at o: Int) { self[o] = UInt8(v >> 8); self[o + 1] = UInt8(truncatingIfNeeded: v) }
    @inlinable func setU16LE(_ v: UInt16, at o: Int) { self[o] = UInt8(truncatingIfNeeded: v); self[o + 1] = UInt8(v >> 8) }
    @inlinable func setU32BE(_ v: UInt32, at o: Int) {
        self[o] = UInt8(v >> 24); self[o + 1] = UInt8(truncatingIfNeeded: v >> 16)
        self[o + 2] = UInt8(truncatingIfNeeded: v >> 8); self[o + 3] = UInt8(truncatingIfNeeded: v)
    }

    /// Lets `fill` write at most `limit` bytes from offset `start` on (never past the end);
    /// returns what it says it wrote, clamped to that room.
    @inlinable func fill(from start: Int, limit: Int, _ fill: (UnsafeMutableRawBufferPointer) -> Int) -> Int {
        let room = Swift.max(0, Swift.min(limit, count - start))
        return Swift.max(0, Swift.min(room, fill(UnsafeMutableRawBufferPointer(rebasing: self[start..<(start + room)]))))
    }

    /// Zeroes bytes `range` (padding).
    @inlinable func zero(_ range: Range<Int>) {
        guard !range.isEmpty, let base = baseAddress else { return }
        (base + range.lowerBound).initializeMemory(as: UInt8.self, repeating: 0, count: range.count)
    }
}
