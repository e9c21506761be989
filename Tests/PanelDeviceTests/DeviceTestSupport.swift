import PanelCore
import PanelWire
import XCTest

@testable import PanelDevice

/// Time in milliseconds since the start of a test (device models only ever see passed-in time).
func ms(_ v: Int64) -> Timestamp { Timestamp(nanoseconds: v * 1_000_000) }

/// A panel one pixel high, `width` RGB pixels, `channels` channels per universe.
func rowMap(width: Int, channels: Int = 6, start: Int) -> ChannelMap {
    do {
        return try ChannelMap(width: width, height: 1, format: .rgb,
                              settings: MappingSettings(startUniverse: start, channelsPerUniverse: channels))
    } catch {
        fatalError("\(error)")
    }
}

func repeated(_ v: UInt8, _ n: Int = 6) -> [UInt8] { [UInt8](repeating: v, count: n) }

extension DeviceModel {
    func feed(_ bytes: [UInt8], from source: PacketSource, at t: Timestamp) {
        bytes.withUnsafeBytes { receive($0, from: source, at: t) }
    }
    /// Frames produced since the last call (replies are dropped).
    func frames() -> [FrameEvent] { takeOutput().frames }
}

// MARK: Art-Net packets, built with the PanelWire encoders

func artDmx(_ portAddress: UInt16, _ data: [UInt8], seq: UInt8 = 0) -> [UInt8] {
    var out: [UInt8] = []
    data.withUnsafeBytes { ArtNetEncoder.dmx(into: &out, sequence: seq, portAddress: portAddress, data: $0) }
    return out
}

func artNzs(_ portAddress: UInt16, _ data: [UInt8], startCode: UInt8) -> [UInt8] {
    var out: [UInt8] = []
    data.withUnsafeBytes { ArtNetEncoder.nzs(into: &out, sequence: 0, startCode: startCode, portAddress: portAddress, data: $0) }
    return out
}

func artSync() -> [UInt8] {
    var out: [UInt8] = []
    ArtNetEncoder.sync(into: &out)
    return out
}

func artPoll(_ poll: ArtPoll = ArtPoll(flags: 0x02, diagPriority: 0x10)) -> [UInt8] {
    var out: [UInt8] = []
    ArtNetEncoder.poll(into: &out, poll)
    return out
}

func artAddress(_ a: ArtAddress) -> [UInt8] {
    var out: [UInt8] = []
    ArtNetEncoder.address(into: &out, a)
    return out
}

/// Decodes a reply the node sent; fails the test if it is not an ArtPollReply.
func decodePollReply(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) -> ArtPollReply? {
    bytes.withUnsafeBytes { b -> ArtPollReply? in
        guard let m = try? ArtNetDecoder.decode(b), case .pollReply(let r) = m else {
            XCTFail("not an ArtPollReply", file: file, line: line)
            return nil
        }
        return r
    }
}

// MARK: sACN packets

let cidA = CID(high: 0xAAAA_0000_0000_0000, low: 1)
let cidB = CID(high: 0xBBBB_0000_0000_0000, low: 2)
let cidC = CID(high: 0xCCCC_0000_0000_0000, low: 3)

func e131(_ universe: UInt16, _ data: [UInt8], cid: CID = cidA, name: String = "A", seq: UInt8, priority: UInt8 = 100,
          options: E131Options = [], sync: UInt16 = 0, startCode: UInt8 = 0) -> [UInt8] {
    var out: [UInt8] = []
    data.withUnsafeBytes {
        E131Encoder.data(into: &out, cid: cid, sourceName: name, priority: priority, syncAddress: sync, sequence: seq,
                         options: options, universe: universe, startCode: startCode, data: $0)
    }
    return out
}

func e131Sync(_ address: UInt16, cid: CID = cidA, seq: UInt8) -> [UInt8] {
    var out: [UInt8] = []
    E131Encoder.sync(into: &out, cid: cid, sequence: seq, syncAddress: address)
    return out
}

func e131Discovery(cid: CID, name: String, page: UInt8 = 0, lastPage: UInt8 = 0, _ universes: [UInt16]) -> [UInt8] {
    var out: [UInt8] = []
    E131Encoder.discovery(into: &out, cid: cid, sourceName: name, page: page, lastPage: lastPage, universes: universes[...])
    return out
}
