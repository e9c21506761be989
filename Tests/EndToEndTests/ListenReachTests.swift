@testable import PanelSession
import XCTest

/// serve listens only where the user meant: loopback by default, other addresses with
/// --allow-remote, the wildcard without it only where an interface is named (multicast).
final class ListenReachTests: XCTestCase {
    func controller(_ transport: String, options: String = "") throws -> ControllerConfig {
        let yaml = "controllers:\n  - { name: a, protocol: \(options.isEmpty ? "artnet" : "novastar"), transport: \(transport), panel: { width: 4, height: 1 }\(options) }\n"
        return try SessionConfig.parse(yaml: yaml, file: "t.yaml").controllers[0]
    }

    func refusal(_ transport: String, options: String = "") throws -> String? {
        do { try ServeSession.checkReach(try controller(transport, options: options), allowRemote: false) } catch let e as ConfigError {
            return e.description
        }
        return nil
    }

    func testLoopbackPassesAndOtherAddressesNeedTheFlag() throws {
        XCTAssertNil(try refusal("{ udp: 127.0.0.1:0 }"))
        XCTAssertNil(try refusal("{ udp: '[::1]:0' }"))
        XCTAssertNil(try refusal("{ udp: 0.0.0.0:0, interface: lo }"))
        let wildcard = try XCTUnwrap(try refusal("{ udp: 0.0.0.0:6454 }"))
        XCTAssertTrue(wildcard.contains("controllers[0].transport.udp") && wildcard.contains("--allow-remote"), wildcard)
        XCTAssertNotNil(try refusal("{ udp: 10.1.2.3:6454 }"))
        XCTAssertNotNil(try refusal("{ tcp: 0.0.0.0:5200 }", options: ", options: { discovery: off }"))
        let discovery = try XCTUnwrap(try refusal("{ tcp: 127.0.0.1:0 }", options: ", options: { discovery: '0.0.0.0:3800' }"))
        XCTAssertTrue(discovery.contains("options.discovery"), discovery)
        XCTAssertNoThrow(try ServeSession.checkReach(try controller("{ udp: 0.0.0.0:6454 }"), allowRemote: true))
    }
}
