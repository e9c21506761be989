import ArgumentParser
import PanelCore
import PanelDevice
import PanelSession

/// The panel and mapping flags shared by serve and send; they mirror the config keys.
struct PanelOptions: ParsableArguments {
    @Option(help: "Panel size in pixels, WIDTHxHEIGHT (send: defaults to the image's size).")
    var size: String?
    @Option(help: "Pixel format: gray, rgb or rgbw.")
    var pixel: String = "rgb"
    @Option(help: "Wire order of a pixel's components, e.g. rgb, grb, bgr, rgbw.")
    var order: String?
    @Option(name: .customLong("start-universe"), help: "First universe (default: Art-Net 0, sACN 1).")
    var startUniverse: Int?
    @Option(name: .customLong("channels-per-universe"), help: "Channels used per universe (default 510 for RGB, 512 for gray).")
    var channelsPerUniverse: Int?
    @Option(help: "Pixel chain layout: rows or serpentine.")
    var layout: String = "rows"
    @Option(help: "Flip the panel: horizontal or vertical (repeatable).")
    var flip: [String] = []

    func size(default fallback: (Int, Int)?) throws -> (Int, Int) {
        guard let s = size else {
            if let f = fallback { return f }
            throw UsageError(message: "--size WIDTHxHEIGHT is required")
        }
        let parts = s.lowercased().split(separator: "x")
        guard parts.count == 2, let w = Int(parts[0]), let h = Int(parts[1]), (1...16384).contains(w), (1...16384).contains(h) else {
            throw UsageError(message: "--size \"\(s)\" must be WIDTHxHEIGHT, each 1...16384")
        }
        return (w, h)
    }

    func format() throws -> PixelFormat {
        guard let f = PixelFormat(rawValue: pixel) else { throw UsageError(message: "--pixel must be gray, rgb or rgbw, not \"\(pixel)\"") }
        return f
    }

    /// The channel map these flags describe.
    func channelMap(plugin: ProtocolPlugin, size: (Int, Int)) throws -> ChannelMap {
        let f = try format()
        let o = order ?? PixelOrder.natural(f).description
        guard let po = PixelOrder(o, format: f) else { throw UsageError(message: "--order \"\(o)\" is not an order of \(f.rawValue) components") }
        guard let l = ChainLayout(rawValue: layout) else { throw UsageError(message: "--layout must be rows or serpentine, not \"\(layout)\"") }
        var settings = MappingSettings(startUniverse: startUniverse ?? plugin.defaultStartUniverse,
                                       channelsPerUniverse: channelsPerUniverse ?? f.defaultChannelsPerUniverse, layout: l)
        for x in flip {
            switch x {
            case "horizontal", "h": settings.flipHorizontal = true
            case "vertical", "v": settings.flipVertical = true
            default: throw UsageError(message: "--flip must be horizontal or vertical, not \"\(x)\"")
            }
        }
        do {
            return try ChannelMap(width: size.0, height: size.1, format: f, order: po, settings: settings, allowedUniverses: plugin.universeRange)
        } catch {
            throw UsageError(message: "\(plugin.displayName): \(error.description)")
        }
    }

    /// These flags as the `panel:` and `mapping:` keys of a config entry (YAML flow text).
    func yaml(plugin: ProtocolPlugin) throws -> String {
        let (w, h) = try size(default: nil)
        var mapping = ["layout: \(quoted(layout))"]
        if let s = startUniverse { mapping.append("start-universe: \(s)") }
        if let c = channelsPerUniverse { mapping.append("channels-per-universe: \(c)") }
        if !flip.isEmpty { mapping.append("flip: [\(flip.map(quoted).joined(separator: ", "))]") }
        var panel = ["width: \(w)", "height: \(h)", "pixel: \(quoted(pixel))"]
        if let o = order { panel.append("order: \(quoted(o))") }
        return "    panel: { \(panel.joined(separator: ", ")) }\n    mapping: { \(mapping.joined(separator: ", ")) }\n"
    }
}

/// A YAML double-quoted scalar (JSON string syntax is valid YAML).
func quoted(_ s: String) -> String { JSONValue.string(s).compact }

extension GoldenMatch: ExpressibleByArgument {}

/// `--expect DIR` and its companions, the same for serve and replay (README "Golden images in CI").
struct GoldenFlags: ParsableArguments {
    @Option(help: "Compare each frame with golden PNGs in this folder (DIR/<controller>/ with several controllers); exit 1 on a difference.")
    var expect: String?
    @Option(help: "Largest per-component difference that still matches a golden frame.")
    var tolerance: Int = 0
    @Option(help: "index: frame N against golden frame N; distinct: the sequence of distinct pictures (repeats skipped).")
    var match: GoldenMatch = .index
    @Flag(help: "Write the frames into --expect DIR as the new golden set instead of comparing (replaces its frame-*.png).")
    var updateGolden = false

    func validate() throws {
        if tolerance < 0 || tolerance > 255 { throw UsageError(message: "--tolerance must be 0...255") }
        if updateGolden && expect == nil { throw UsageError(message: "--update-golden needs --expect DIR (where the golden frames go)") }
    }

    /// One line on the outcome for the terminal, then the first differences.
    static func verdict(_ g: GoldenResult) -> String {
        if g.updated > 0 || (g.compared == 0 && g.mismatches.isEmpty && g.repeats == 0) {
            return "golden: \(g.updated) frames written as the new golden set"
        }
        var line = g.passed ? "golden: \(g.matched)/\(g.compared) frames match" : "golden: \(g.mismatches.count) of \(g.compared) frames differ"
        if g.repeats > 0 { line += " (\(g.repeats) repeats skipped)" }
        for m in g.mismatches.prefix(10) {
            line += "\n  frame \(m.frame): \(m.reason)" + (m.diffFile.map { " (diff: \($0))" } ?? "")
        }
        return line
    }
}
