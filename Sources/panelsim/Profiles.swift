import ArgumentParser
import Foundation
import PanelDevice
import PanelSession

struct Profiles: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the quirk profiles of real controllers that serve reproduces (config key profile:).")

    @Flag(help: "Print JSON: name, protocol, summary, details, source, options and sender expectations of each profile.")
    var json = false

    func run() throws {
        guard json else {
            let width = QuirkProfile.all.map(\.name.count).max() ?? 0
            let protoWidth = QuirkProfile.all.map(\.protocolName.count).max() ?? 0
            for p in QuirkProfile.all {
                let name = p.name.padding(toLength: width, withPad: " ", startingAt: 0)
                let proto = p.protocolName.padding(toLength: protoWidth, withPad: " ", startingAt: 0)
                print("\(name)  \(proto)  \(p.summary)")
            }
            return
        }
        print(JSONValue.array(QuirkProfile.all.map(Profiles.json)).pretty)
    }

    static func json(_ p: QuirkProfile) -> JSONValue {
        let e = p.expectations
        var x: [String: JSONValue] = [
            "requires-sync": .bool(e.requiresSync), "ignores-preview": .bool(e.ignoresPreview),
            "per-address-priority": .bool(e.perAddressPriority), "one-tcp-client": .bool(e.oneTCPClient),
            "duplicates-latch-packets": .bool(e.duplicatesLatchPackets),
        ]
        if let v = e.maxFrameRate { x["max-frame-rate"] = .double(v) }
        if let v = e.channelsPerUniverse { x["channels-per-universe"] = .int(v) }
        if let v = e.maxUniversesPerAddress { x["max-universes-per-address"] = .int(v) }
        return .object([
            "name": .string(p.name), "protocol": .string(p.protocolName), "summary": .string(p.summary),
            "details": .string(p.details), "source": .string(p.source),
            "options": .object(p.options.mapValues { .string($0) }),
            "pixels-per-universe": .object(Dictionary(uniqueKeysWithValues: p.pixelsPerUniverse.map { ($0.key.rawValue, JSONValue.int($0.value)) })),
            "expectations": .object(x),
        ])
    }
}
