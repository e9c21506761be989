import PanelCore
import PanelDevice
@testable import PanelSession
import XCTest

final class ConfigTests: XCTestCase {
    let full = """
    controllers:
      - name: alun-alun
        protocol: artnet
        transport: { udp: 127.0.0.1:6454 }
        panel: { width: 600, height: 400, pixel: rgb, order: grb }
        mapping: { start-universe: 0, channels-per-universe: 510, layout: serpentine, flip: [horizontal] }
        frame: { sync: auto, timeout: 100ms }
        options: { short-name: "Alun", merge: ltp }
      - name: simpang
        protocol: sacn
        transport: { udp: 0.0.0.0:5568, multicast: true, interface: lo }
        panel: { width: 512, height: 8, pixel: gray }
        mapping: { channels-per-universe: 512 }
    """

    func testFullConfigParses() throws {
        let c = try SessionConfig.parse(yaml: full, file: "city.yaml")
        XCTAssertEqual(c.controllers.count, 2)
        let a = c.controllers[0]
        XCTAssertEqual(a.name, "alun-alun")
        XCTAssertEqual(a.plugin.name, "artnet")
        XCTAssertEqual(a.transport, .udp(host: "127.0.0.1", port: 6454))
        XCTAssertEqual(a.width, 600)
        XCTAssertEqual(a.order.description, "grb")
        XCTAssertEqual(a.mapping.layout, .serpentine)
        XCTAssertTrue(a.mapping.flipHorizontal)
        XCTAssertFalse(a.mapping.flipVertical)
        XCTAssertEqual(a.frame.timeout, Timestamp(nanoseconds: 100_000_000))
        XCTAssertEqual(a.options["merge"], "ltp")
        XCTAssertEqual(try a.channelMap().universeCount, 600 * 400 / 170 + 1)
        let s = c.controllers[1]
        XCTAssertTrue(s.multicast)
        XCTAssertEqual(s.interface, "lo")
        XCTAssertEqual(s.mapping.startUniverse, 1, "sACN's default start universe")
        XCTAssertEqual(s.mapping.channelsPerUniverse, 512)
        XCTAssertEqual(s.pixel, .gray)
    }

    func testDefaultsFollowTheProtocol() throws {
        let c = try SessionConfig.parse(yaml: "controllers:\n  - protocol: artnet\n    panel: { width: 10, height: 2 }\n", file: "f")
        XCTAssertEqual(c.controllers[0].name, "artnet")
        XCTAssertEqual(c.controllers[0].mapping.startUniverse, 0)
        XCTAssertEqual(c.controllers[0].mapping.channelsPerUniverse, 510)
        XCTAssertEqual(c.controllers[0].transport, .udp(host: "127.0.0.1", port: 6454), "binds loopback by default")
    }

    /// Each bad config names the file, the line and the key.
    func testErrorsNameKeyAndLine() {
        let cases: [(String, Int, String, String)] = [
            ("controllers:\n  - protocol: artnet\n    panel: { width: 10, height: 2 }\n    colour: red\n", 4, "controllers[0].colour", "unknown key"),
            ("controllers:\n  - protocol: artnet\n    panel: { width: 0, height: 2 }\n", 3, "controllers[0].panel.width", "integer in 1...16384"),
            ("controllers:\n  - protocol: dmx-over-carrier-pigeon\n    panel: { width: 1, height: 1 }\n", 2, "controllers[0].protocol", "unknown protocol"),
            ("controllers:\n  - protocol: artnet\n    panel: { width: 4, height: 4, pixel: cmyk }\n", 3, "controllers[0].panel.pixel", "gray, rgb or rgbw"),
            ("controllers:\n  - protocol: artnet\n    panel: { width: 4, height: 4 }\n    mapping: { layout: zigzag }\n", 4, "controllers[0].mapping.layout", "rows or serpentine"),
            ("controllers:\n  - protocol: artnet\n    panel: { width: 4, height: 4 }\n    options: { merge: loudest }\n", 2, "controllers[0].options.merge", "htp or ltp"),
            ("controllers:\n  - protocol: artnet\n    panel: { width: 4, height: 4 }\n    options: { flavour: x }\n", 4, "controllers[0].options.flavour", "unknown key"),
            ("controllers:\n  - protocol: sacn\n    transport: { udp: 0.0.0.0:5568, multicast: true }\n    panel: { width: 4, height: 4 }\n", 3, "controllers[0].transport.multicast", "interface"),
            ("controllers:\n  - protocol: artnet\n    name: ../escape\n    panel: { width: 4, height: 4 }\n", 3, "controllers[0].name", "folder"),
            ("controllers:\n  - protocol: artnet\n    transport: { udp: 127.0.0.1:99999 }\n    panel: { width: 4, height: 4 }\n", 3, "controllers[0].transport.udp", "HOST:PORT"),
            ("controllers:\n  - protocol: artnet\n    panel: { width: 4, height: 4 }\n    frame: { timeout: soon }\n", 4, "controllers[0].frame.timeout", "duration"),
            ("controllers:\n  - protocol: sacn\n    panel: { width: 4, height: 4 }\n    mapping: { start-universe: 0 }\n", 4, "controllers[0].mapping", "allows 1...63999"),
            ("controllers:\n  - protocol: artnet\n    panel: { width: 4, height: 4 }\n  - protocol: artnet\n    panel: { width: 4, height: 4 }\n", 4, "controllers[1].name", "used twice"),
            ("controllers: [\n", 2, "", "not valid YAML"),
            ("controllers:\n" + String(repeating: "  - { protocol: ddp, panel: { width: 1, height: 1 } }\n", count: 1025), 2, "controllers", "at most 1024"),
            (String(repeating: "[", count: 50_000), 1, "", "nesting"),
        ]
        for (yaml, line, key, text) in cases {
            do {
                _ = try SessionConfig.parse(yaml: yaml, file: "bad.yaml")
                XCTFail("accepted: \(yaml)")
            } catch {
                XCTAssertEqual(error.file, "bad.yaml")
                XCTAssertEqual(error.line, line, "\(error)")
                XCTAssertEqual(error.key, key, "\(error)")
                XCTAssertTrue(error.message.contains(text), "\(error) should mention \(text)")
            }
        }
    }

    func testDurationsAndHostPorts() {
        XCTAssertEqual(parseDuration("100ms"), Timestamp(nanoseconds: 100_000_000))
        XCTAssertEqual(parseDuration("1.5s"), Timestamp(nanoseconds: 1_500_000_000))
        XCTAssertEqual(parseDuration("2"), Timestamp(nanoseconds: 2_000_000_000))
        XCTAssertNil(parseDuration("-1s"))
        XCTAssertNil(parseDuration("1e300s"))
        XCTAssertTrue(HostPort.parse("127.0.0.1:6454", defaultPort: 1)! == ("127.0.0.1", 6454))
        XCTAssertTrue(HostPort.parse("[::1]:5568", defaultPort: 1)! == ("::1", 5568))
        XCTAssertTrue(HostPort.parse("10.1.2.3", defaultPort: 4048)! == ("10.1.2.3", 4048))
        XCTAssertNil(HostPort.parse("host:70000", defaultPort: 1))
    }
}

/// `profile:` applies a quirk profile's options under the config's own.
final class ProfileConfigTests: XCTestCase {
    func controller(_ entry: String) throws -> ControllerConfig {
        let c = try SessionConfig.parse(yaml: "controllers:\n  - name: c\n" + entry, file: "p.yaml")
        return c.controllers[0]
    }

    func error(_ entry: String) -> ConfigError? {
        do { _ = try controller(entry) } catch let e as ConfigError { return e } catch { XCTFail("\(error)") }
        return nil
    }

    func testProfileOptionsAreApplied() throws {
        let c = try controller("    protocol: artnet\n    profile: artnet-legacy-4port\n    panel: { width: 10, height: 2 }\n")
        XCTAssertEqual(c.profile?.name, "artnet-legacy-4port")
        XCTAssertEqual(c.options, ["max-ports": "4"])
        XCTAssertEqual(c.summary["profile"], .string("artnet-legacy-4port"))
        let plain = try controller("    protocol: artnet\n    panel: { width: 10, height: 2 }\n")
        XCTAssertNil(plain.profile)
        XCTAssertEqual(plain.summary["profile"], .null)
    }

    func testConfigOptionsOverrideTheProfile() throws {
        let c = try controller("    protocol: artnet\n    profile: artnet-legacy-4port\n    panel: { width: 10, height: 2 }\n    options: { max-ports: 2, merge: ltp }\n")
        XCTAssertEqual(c.options, ["max-ports": "2", "merge": "ltp"])
        let s = try controller("    protocol: sacn\n    profile: sacn-preview-priority\n    panel: { width: 4, height: 1 }\n    options: { per-address-priority: off }\n")
        XCTAssertEqual(s.options["per-address-priority"], "off")
    }

    /// A profile's frame rate limit applies unless the config's `frame.max-rate` says otherwise.
    func testProfileFrameRateAndMaxRateKey() throws {
        let wled = try controller("    protocol: sacn\n    profile: wled\n    panel: { width: 170, height: 1 }\n")
        XCTAssertEqual(wled.frame.maxRate, 62.5)
        XCTAssertEqual(wled.summary["frame"]?["max-rate"], .double(62.5))
        let own = try controller("    protocol: sacn\n    profile: wled\n    panel: { width: 170, height: 1 }\n    frame: { max-rate: 30 }\n")
        XCTAssertEqual(own.frame.maxRate, 30)
        let none = try controller("    protocol: sacn\n    profile: wled\n    panel: { width: 170, height: 1 }\n    frame: { max-rate: none }\n")
        XCTAssertNil(none.frame.maxRate)
        XCTAssertNil(try controller("    protocol: ddp\n    panel: { width: 4, height: 1 }\n").frame.maxRate)
        let e = error("    protocol: ddp\n    panel: { width: 4, height: 1 }\n    frame: { max-rate: -3 }\n")
        XCTAssertEqual(e?.key, "controllers[0].frame.max-rate")
        XCTAssertEqual(e?.message, "must be frames per second above 0 (at most 100000), or none, not \"-3\"")
    }

    func testUnknownProfileNamesKeyLineAndTheKnownOnes() {
        let e = error("    protocol: artnet\n    panel: { width: 10, height: 2 }\n    profile: artnet-telepathic\n")
        XCTAssertEqual(e?.key, "controllers[0].profile")
        XCTAssertEqual(e?.line, 5)
        XCTAssertTrue(e?.message.contains("unknown profile \"artnet-telepathic\"") ?? false, e?.message ?? "")
        for p in QuirkProfile.all { XCTAssertTrue(e?.message.contains(p.name) ?? false, p.name) }
    }

    func testProfileOfAnotherProtocolIsAnError() {
        let e = error("    protocol: sacn\n    profile: artnet-needs-sync\n    panel: { width: 10, height: 2 }\n")
        XCTAssertEqual(e?.key, "controllers[0].profile")
        XCTAssertEqual(e?.line, 4)
        XCTAssertEqual(e?.message, "\"artnet-needs-sync\" is a profile for artnet, not sacn (sacn has: wled, sacn-preview-priority)")
        let none = error("    protocol: ddp\n    profile: wled\n    panel: { width: 10, height: 2 }\n")
        XCTAssertEqual(none?.message, "\"wled\" is a profile for sacn, not ddp (ddp has none)")
    }

    func testWLEDForcesItsChannelsPerUniverse() throws {
        let rgb = try controller("    protocol: sacn\n    profile: wled\n    panel: { width: 200, height: 1 }\n")
        XCTAssertEqual(rgb.mapping.channelsPerUniverse, 510)
        XCTAssertEqual(try rgb.channelMap().universeCount, 2)
        let same = try controller("    protocol: sacn\n    profile: wled\n    panel: { width: 200, height: 1 }\n    mapping: { channels-per-universe: 510 }\n")
        XCTAssertEqual(same.mapping.channelsPerUniverse, 510)
        let rgbw = try controller("    protocol: sacn\n    profile: wled\n    panel: { width: 200, height: 1, pixel: rgbw }\n")
        XCTAssertEqual(rgbw.mapping.channelsPerUniverse, 512, "128 RGBW pixels")
        let packed = error("    protocol: sacn\n    profile: wled\n    panel: { width: 200, height: 1 }\n    mapping: { channels-per-universe: 512 }\n")
        XCTAssertEqual(packed?.key, "controllers[0].mapping.channels-per-universe")
        XCTAssertEqual(packed?.line, 6)
        XCTAssertEqual(packed?.message, "profile wled reads 510 channels per universe (170 rgb pixels), not 512")
        let gray = error("    protocol: sacn\n    profile: wled\n    panel: { width: 200, height: 1, pixel: gray }\n")
        XCTAssertEqual(gray?.key, "controllers[0].panel.pixel")
        XCTAssertEqual(gray?.message, "profile wled drives rgb or rgbw pixels, not gray")
    }

    func testAProfileOptionThatCannotWorkNamesTheProfile() {
        let e = error("    protocol: artnet\n    profile: artnet-needs-sync\n    panel: { width: 10, height: 2 }\n    frame: { sync: ignore }\n")
        XCTAssertEqual(e?.key, "controllers[0].options.sync")
        XCTAssertTrue(e?.message.hasSuffix("(set by profile artnet-needs-sync)") ?? false, e?.message ?? "")
    }

    func testEveryProfileLoads() throws {
        for p in QuirkProfile.all {
            var transport = ""
            if p.protocolName == "colorlight" { transport = "    transport: { interface: lo }\n" }
            let c = try controller("    protocol: \(p.protocolName)\n    profile: \(p.name)\n\(transport)    panel: { width: 8, height: 2 }\n")
            XCTAssertEqual(c.profile?.name, p.name)
            for (k, v) in p.options { XCTAssertEqual(c.options[k], v, "\(p.name).\(k)") }
        }
    }
}
