/// The names PanelSim's flags and config use for NovaStar register values.
public enum NovaStarNames {
    /// Test patterns of receiving-card register 0x02000101, by name.
    public static let testPatterns: [(name: String, code: UInt8)] = [
        ("off", 0x00), ("red", 0x02), ("green", 0x03), ("blue", 0x04), ("white", 0x05),
        ("horizontal-lines", 0x06), ("vertical-lines", 0x07), ("diagonal-lines", 0x08),
        ("grayscale", 0x09), ("aging", 0x0A),
    ]

    /// Video inputs of sending-card register 0x02000023 (input select), by name.
    public static let inputs: [(name: String, code: UInt8)] = [
        ("sdi", 0x01), ("hdmi", 0x05), ("dvi", 0x58), ("hdmi-1.4", 0x5A), ("dp", 0x5F), ("dual-dvi", 0x61),
    ]

    /// The code of test pattern `name`, nil when unknown.
    public static func testPattern(named name: String) -> UInt8? { testPatterns.first { $0.name == name }?.code }
    /// The name of test pattern `code` (hex for codes without one).
    public static func testPatternName(_ code: UInt8) -> String { testPatterns.first { $0.code == code }?.name ?? hex(code) }
    /// The code of input `name`, nil when unknown.
    public static func input(named name: String) -> UInt8? { inputs.first { $0.name == name }?.code }
    /// The name of input `code` (hex for codes without one).
    public static func inputName(_ code: UInt8) -> String { inputs.first { $0.code == code }?.name ?? hex(code) }

    private static func hex(_ v: UInt8) -> String { "0x" + (v < 16 ? "0" : "") + String(v, radix: 16) }
}
