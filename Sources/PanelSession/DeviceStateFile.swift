import Foundation
import PanelDevice

/// `serve --state FILE`: what devices keep across restarts (NovaStar: every card's memory),
/// as JSON: `{"schema": 1, "controllers": {NAME: {"protocol": P, "blocks": {BLOCK: HEX}}}}`.
/// Read when the session starts (a missing file is a fresh start), written when it stops,
/// through a temporary file renamed into place, so a crash leaves the old state whole.
public enum DeviceStateFile {
    public static let schemaVersion = 1

    /// The saved state of each controller, by name; empty when the file does not exist.
    static func read(path: String) throws(ConfigError) -> [String: (protocol: String, blocks: [String: [UInt8]])] {
        guard FileManager.default.fileExists(atPath: path) else { return [:] }
        guard let text = FileText.read(path) else { throw ConfigError(file: path, line: nil, key: "", "cannot read the state file") }
        guard let root = JSONValue.parse(text), case .object(let top) = root else {
            throw ConfigError(file: path, line: nil, key: "", "not a JSON object")
        }
        guard top["schema"]?.intValue == schemaVersion else {
            throw ConfigError(file: path, line: nil, key: "schema", "must be \(schemaVersion)")
        }
        guard case .object(let controllers)? = top["controllers"] else {
            throw ConfigError(file: path, line: nil, key: "controllers", "must be an object of controllers by name")
        }
        var out: [String: (protocol: String, blocks: [String: [UInt8]])] = [:]
        for (name, value) in controllers {
            guard case .object(let entry) = value, case .string(let proto)? = entry["protocol"],
                  case .object(let blocks)? = entry["blocks"] else {
                throw ConfigError(file: path, line: nil, key: "controllers.\(name)", "needs protocol and blocks")
            }
            var decoded: [String: [UInt8]] = [:]
            for (key, hexValue) in blocks {
                guard case .string(let text) = hexValue, let bytes = hex(text) else {
                    throw ConfigError(file: path, line: nil, key: "controllers.\(name).blocks.\(key)", "must be a string of hex digits")
                }
                decoded[key] = bytes
            }
            out[name] = (proto, decoded)
        }
        return out
    }

    /// Writes every controller's state that has any.
    static func write(path: String, controllers: [(name: String, protocol: String, blocks: [String: [UInt8]])]) throws {
        var entries: [String: JSONValue] = [:]
        for c in controllers where !c.blocks.isEmpty {
            entries[c.name] = .object(["protocol": .string(c.protocol),
                                       "blocks": .object(c.blocks.mapValues { .string($0.map { String(format: "%02x", $0) }.joined()) })])
        }
        let doc = JSONValue.object(["schema": .int(schemaVersion), "controllers": .object(entries)])
        let temporary = path + ".tmp"
        try FileText.write(doc.pretty, to: temporary)
        guard rename(temporary, path) == 0 else { throw OutputError(path: path, reason: String(cString: strerror(errno))) }
    }

    private static func hex(_ s: String) -> [UInt8]? {
        let digits = Array(s.utf8)
        guard digits.count % 2 == 0, digits.count <= 1 << 20 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(digits.count / 2)
        var i = 0
        while i < digits.count {
            guard let hi = nibble(digits[i]), let lo = nibble(digits[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
