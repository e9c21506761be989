import ArgumentParser
import PanelDevice
import PanelSession
import PanelWire

/// Flags of `send` that set a controller's state rather than send pictures: the NovaStar
/// control plane (one request per flag), and brightness for Colorlight.
struct SendControlOptions: ParsableArguments {
    @Option(help: "novastar: global brightness of every receiving card; colorlight: the display packet's brightness (0-255).")
    var brightness: Int?
    @Option(name: .customLong("rgb-brightness"),
            help: "colorlight: R,G,B brightness (0-255 each), in the display packet and a 0x0A brightness packet after it.")
    var rgbBrightness: String?
    @Option(name: .customLong("test-pattern"),
            help: "novastar: test pattern of every receiving card: \(NovaStarNames.testPatterns.map(\.name).joined(separator: ", ")).")
    var testPattern: String?
    @Option(help: "novastar: kill mode of every receiving card: on (black) or off (normal).")
    var blackout: String?
    @Option(help: "novastar: the sending card's video input: \(NovaStarNames.inputs.map(\.name).joined(separator: ", ")).")
    var input: String?
    @Option(help: ArgumentHelp("novastar: read a register (repeatable): \(NovaStarRead.named.map(\.name).joined(separator: ", ")), or TYPE:0xADDRESS[:LENGTH] (TYPE sending, receiving or function).",
                               valueName: "register"))
    var read: [String] = []
    @Option(help: "novastar: output port of the receiving card --read addresses (default 0).")
    var port: Int?
    @Option(help: "novastar: index of the receiving card --read addresses (default 0).")
    var card: Int?
    @Option(help: "novastar: seconds to wait for each reply.")
    var timeout: Double = 2

    /// The NovaStar requests, in their fixed order: input, brightness, test pattern, blackout, then reads.
    func novaStarCommands() throws -> [NovaStarCommand] {
        if rgbBrightness != nil { throw UsageError(message: "--rgb-brightness is for colorlight; NovaStar's R/G/B brightness can be read (--read red-brightness …)") }
        guard timeout.isFinite, timeout > 0, timeout <= 3600 else { throw UsageError(message: "--timeout must be seconds above 0 (at most 3600)") }
        var commands: [NovaStarCommand] = []
        if let name = input {
            guard let code = NovaStarNames.input(named: name) else {
                throw UsageError(message: "--input must be one of \(NovaStarNames.inputs.map(\.name).joined(separator: ", ")), not \"\(name)\"")
            }
            commands.append(.input(code))
        }
        if let b = brightness { commands.append(.brightness(try Self.level(b, flag: "--brightness"))) }
        if let name = testPattern {
            guard let code = NovaStarNames.testPattern(named: name) else {
                throw UsageError(message: "--test-pattern must be one of \(NovaStarNames.testPatterns.map(\.name).joined(separator: ", ")), not \"\(name)\"")
            }
            commands.append(.testPattern(code))
        }
        if let b = blackout {
            guard b == "on" || b == "off" else { throw UsageError(message: "--blackout must be on or off, not \"\(b)\"") }
            commands.append(.blackout(b == "on"))
        }
        if (port != nil || card != nil) && read.isEmpty { throw UsageError(message: "--port and --card address the receiving card of --read") }
        guard let p = UInt8(exactly: port ?? 0) else { throw UsageError(message: "--port must be 0...255") }
        guard let c = UInt16(exactly: card ?? 0) else { throw UsageError(message: "--card must be 0...65535") }
        for text in read {
            do { commands.append(.read(try NovaStarRead.parse(text, port: p, card: c))) } catch { throw UsageError(message: "--read: \(error)") }
        }
        guard !commands.isEmpty else {
            throw UsageError(message: "novastar sends control requests: give --brightness, --test-pattern, --blackout, --input or --read")
        }
        return commands
    }

    /// Refuses the flags that mean nothing to `plugin`; applies --brightness and --rgb-brightness
    /// to `settings` for protocols that carry them (colorlight).
    func apply(to settings: inout SenderSettings, plugin: ProtocolPlugin) throws {
        let novaStarOnly: [(String, Bool)] = [("--test-pattern", testPattern != nil), ("--blackout", blackout != nil), ("--input", input != nil),
                                              ("--read", !read.isEmpty), ("--port", port != nil), ("--card", card != nil)]
        if let (flag, _) = novaStarOnly.first(where: { $0.1 }) { throw UsageError(message: "\(flag) is for novastar, not \(plugin.name)") }
        let brightnessFlags = brightness != nil ? "--brightness" : rgbBrightness != nil ? "--rgb-brightness" : nil
        guard let flag = brightnessFlags else { return }
        guard plugin.name == ProtocolPlugin.colorlight.name else { throw UsageError(message: "\(flag) is for colorlight and novastar, not \(plugin.name)") }
        if let b = brightness { settings.brightness = try Self.level(b, flag: "--brightness") }
        if let text = rgbBrightness {
            let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { Int($0.trimmingPrefix(" ")) }
            guard parts.count == 3, let r = parts[0].flatMap(UInt8.init(exactly:)), let g = parts[1].flatMap(UInt8.init(exactly:)),
                  let b = parts[2].flatMap(UInt8.init(exactly:)) else {
                throw UsageError(message: "--rgb-brightness must be R,G,B with each 0-255, not \"\(text)\"")
            }
            settings.rgbBrightness = ColorlightBrightness(red: r, green: g, blue: b)
        }
    }

    private static func level(_ v: Int, flag: String) throws -> UInt8 {
        guard let b = UInt8(exactly: v) else { throw UsageError(message: "\(flag) must be 0-255, not \(v)") }
        return b
    }
}
