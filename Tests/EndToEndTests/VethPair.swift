import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// A veth pair a test creates for itself (root only) and deletes in its teardown, even when
/// the test fails; nothing leaves the pair.
enum VethPair {
    /// Runs `/usr/sbin/ip` with `args`; its exit status, -1 when it could not run.
    @discardableResult
    static func ip(_ args: String...) -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        p.arguments = args
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return -1 }
        p.waitUntilExit()
        return p.terminationStatus
    }

    /// Creates `<prefix><tag>a` and `<prefix><tag>b`, both up; skips (saying why) where a pair
    /// cannot be made.
    static func make(for test: XCTestCase, prefix: String) throws -> (a: String, b: String) {
        guard getuid() == 0 else { throw XCTSkip("needs root to create a veth pair and use raw Ethernet") }
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip") else { throw XCTSkip("no /usr/sbin/ip to create a veth pair") }
        let tag = String(UInt32.random(in: 0...0xFFFFF), radix: 16)
        let a = "\(prefix)\(tag)a", b = "\(prefix)\(tag)b"
        guard ip("link", "add", a, "type", "veth", "peer", "name", b) == 0 else { throw XCTSkip("cannot create a veth pair here") }
        test.addTeardownBlock { ip("link", "del", a) }
        XCTAssertEqual(ip("link", "set", a, "up"), 0)
        XCTAssertEqual(ip("link", "set", b, "up"), 0)
        return (a, b)
    }
}
