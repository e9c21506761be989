import Foundation

/// A JSON value written with keys in a stable (sorted) order, so outputs diff cleanly.
public indirect enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// Compact one-line JSON (for .jsonl).
    public var compact: String { var s = ""; write(&s, indent: nil, level: 0); return s }
    /// Indented JSON (for .json files).
    public var pretty: String { var s = ""; write(&s, indent: "  ", level: 0); s += "\n"; return s }

    func write(_ out: inout String, indent: String?, level: Int) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d):
            if d.isFinite {
                out += JSONValue.formatDouble(d)
            } else { out += "null" }
        case .string(let s): JSONValue.escape(s, into: &out)
        case .array(let a):
            if a.isEmpty { out += "[]"; return }
            out += "["
            for (i, v) in a.enumerated() {
                if i > 0 { out += "," }
                if let ind = indent { out += "\n" + String(repeating: ind, count: level + 1) }
                v.write(&out, indent: indent, level: level + 1)
            }
            if let ind = indent { out += "\n" + String(repeating: ind, count: level) }
            out += "]"
        case .object(let o):
            if o.isEmpty { out += "{}"; return }
            out += "{"
            for (i, k) in o.keys.sorted().enumerated() {
                if i > 0 { out += "," }
                if let ind = indent { out += "\n" + String(repeating: ind, count: level + 1) }
                JSONValue.escape(k, into: &out)
                out += indent == nil ? ":" : ": "
                o[k]?.write(&out, indent: indent, level: level + 1)
            }
            if let ind = indent { out += "\n" + String(repeating: ind, count: level) }
            out += "}"
        }
    }

    static func formatDouble(_ d: Double) -> String {
        // Fast path without Foundation formatting: whole millionths, trailing zeros trimmed.
        if abs(d) < 1e12 {
            let micro = Int64((abs(d) * 1e6).rounded())
            var text = (d < 0 && micro != 0 ? "-" : "") + String(micro / 1_000_000)
            var fraction = micro % 1_000_000
            if fraction != 0 {
                var digits = 6
                while fraction % 10 == 0 { fraction /= 10; digits -= 1 }
                let f = String(fraction)
                text += "." + String(repeating: "0", count: digits - f.utf8.count) + f
            }
            return text
        }
        var s = String(format: "%.6f", d)
        while s.hasSuffix("0") { s.removeLast() }
        if s.hasSuffix(".") { s.removeLast() }
        return s
    }

    static func escape(_ s: String, into out: inout String) {
        out += "\""
        if !s.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            out += s
            out += "\""
            return
        }
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
            }
        }
        out += "\""
    }

    /// Parses JSON text (for tests and for reading back ready files and golden results).
    public static func parse(_ text: String) -> JSONValue? {
        guard let data = text.data(using: .utf8), let any = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) else { return nil }
        return from(any)
    }

    static func from(_ any: Any) -> JSONValue {
        switch any {
        case let n as NSNumber:
            if String(cString: n.objCType) == "c" { return .bool(n.boolValue) }
            let d = n.doubleValue
            if d == d.rounded(), abs(d) < 9e15, !"\(n)".contains(".") { return .int(n.intValue) }
            return .double(d)
        case let s as String: return .string(s)
        case let a as [Any]: return .array(a.map(from))
        case let o as [String: Any]: return .object(o.mapValues(from))
        default: return .null
        }
    }

    public subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }
    public var intValue: Int? { if case .int(let i) = self { return i }; if case .double(let d) = self { return Int(exactly: d) }; return nil }
    public var stringValue: String? { if case .string(let s) = self { return s }; return nil }
    public var arrayValue: [JSONValue]? { if case .array(let a) = self { return a }; return nil }
    public var boolValue: Bool? { if case .bool(let b) = self { return b }; return nil }
}

/// Whole-file text I/O with errors that name the path.
public enum FileText {
    public static func read(_ path: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    /// Writes all of `bytes` to `fd` with write(2) in a loop (EINTR retried; when the disk is
    /// full, again as long as `retryWhenFull` frees space). Returns 0, or the errno that stopped it.
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, retryWhenFull: () -> Bool = { false }) -> Int32 {
        var done = 0
        while done < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress.map { $0 + done }, bytes.count - done)
            if n > 0 { done += n; continue }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && errno == ENOSPC && retryWhenFull() { continue }
            return n < 0 ? errno : EIO
        }
        return 0
    }

    /// Writes atomically (a temporary file beside it, renamed into place), so readers never see
    /// a partial file, even when the process is killed midway. No fsync: the files are reports,
    /// not a database, and a session writing hundreds of them must not wait on the disk for each.
    public static func write(_ text: String, to path: String) throws {
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw OutputError(path: path, reason: String(cString: strerror(errno))) }
        var utf8 = text
        var failure = utf8.withUTF8 { writeAll(fd, UnsafeRawBufferPointer($0)) }
        if close(fd) != 0, failure == 0 { failure = errno }
        if failure == 0, rename(temporary, path) != 0 { failure = errno }
        if failure != 0 {
            unlink(temporary)
            throw OutputError(path: path, reason: String(cString: strerror(failure)))
        }
    }
}

/// A file PanelSim could not write (exit code 3).
public struct OutputError: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var reason: String
    public init(path: String, reason: String) { self.path = path; self.reason = reason }
    public var description: String { "cannot write \(path): \(reason)" }
}

/// The run itself failed (a port in use, an interface missing): exit 3.
public struct RunFailure: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
