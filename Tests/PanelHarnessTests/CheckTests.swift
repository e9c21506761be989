import Foundation
import PanelCapture
import PanelCore
import PanelDevice
import PanelHarness
import PanelSession
import PanelWire
import XCTest

/// `panelsim check` on captures of misbehaving senders written here (one per rule: exactly that
/// rule fires), on PanelSim's own sender output and on the public captures (nothing at warning
/// or above where they are clean).
final class CheckTests: XCTestCase {
    let sender = Endpoint(address: "10.0.0.5", port: 50000)
    let other = Endpoint(address: "10.0.0.6", port: 50001)
    let node = Endpoint(address: "10.0.0.50", port: 6454)
    let receiver = Endpoint(address: "10.0.0.60", port: 5568)
    let cid = CID(high: 1, low: 2)

    /// A capture of UDP datagrams: (time in ms, source, destination, payload).
    struct Packet { var ms: Int64; var from: Endpoint; var to: Endpoint; var bytes: [UInt8] }

    func capture(_ packets: [Packet], name: String = #function) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("check-\(UUID().uuidString).pcap").path
        let w = try PcapWriter(path: path)
        for p in packets { try w.writeUDP(time: Timestamp(nanoseconds: 1_700_000_000_000_000_000 + p.ms * 1_000_000), source: p.from, destination: p.to, payload: p.bytes) }
        try w.close()
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    /// The rule IDs that fired, optionally only those at or above a severity.
    func rules(_ path: String, profile: String? = nil, atLeast: CheckSeverity = .info) -> Set<String> {
        let result = CheckSession.run(capture: path, profile: profile.flatMap(QuirkProfile.named))
        XCTAssertNil(result.captureError)
        return Set(result.findings.filter { $0.rule.severity >= atLeast }.map(\.rule.id))
    }

    // MARK: packet builders

    func dmx(_ seq: UInt8, universe: UInt16 = 1, slots: [UInt8] = [UInt8](repeating: 9, count: 6)) -> [UInt8] {
        var out: [UInt8] = []
        slots.withUnsafeBytes { ArtNetEncoder.dmx(into: &out, sequence: seq, portAddress: universe, data: $0) }
        return out
    }
    func artSync() -> [UInt8] { var out: [UInt8] = []; ArtNetEncoder.sync(into: &out); return out }
    func artPoll() -> [UInt8] { var out: [UInt8] = []; ArtNetEncoder.poll(into: &out, ArtPoll()); return out }
    func sacn(_ seq: UInt8, universe: UInt16 = 1, priority: UInt8 = 100, sync: UInt16 = 0, options: E131Options = [],
              startCode: UInt8 = 0, slots: [UInt8] = [UInt8](repeating: 7, count: 510)) -> [UInt8] {
        var out: [UInt8] = []
        slots.withUnsafeBytes {
            E131Encoder.data(into: &out, cid: cid, sourceName: "test", priority: priority, syncAddress: sync, sequence: seq, options: options,
                             universe: universe, startCode: startCode, data: $0)
        }
        return out
    }
    func sacnSync(_ seq: UInt8, address: UInt16) -> [UInt8] { var out: [UInt8] = []; E131Encoder.sync(into: &out, cid: cid, sequence: seq, syncAddress: address); return out }
    func discovery(_ universes: [UInt16]) -> [UInt8] {
        var out: [UInt8] = []
        E131Encoder.discovery(into: &out, cid: cid, sourceName: "test", page: 0, lastPage: 0, universes: universes[...])
        return out
    }
    func ddp(offset: UInt32, push: Bool, seq: UInt8 = 0) -> [UInt8] {
        var out: [UInt8] = []
        let header = DDPHeader(flags: DDP.Flag.version1 | (push ? DDP.Flag.push : 0), sequence: seq, offset: offset)
        [UInt8](repeating: 5, count: 30).withUnsafeBytes { DDPEncoder.packet(into: &out, header, data: $0) }
        return out
    }
    /// An Art-Net stream of one universe: `count` packets at 25 ms, sequence 1, 2, …
    func artStream(_ count: Int, universe: UInt16 = 1, start: Int64 = 0) -> [Packet] {
        (0..<count).map { Packet(ms: start + Int64($0) * 25, from: sender, to: node, bytes: dmx(UInt8($0 % 255 + 1), universe: universe)) }
    }
    func sacnStream(_ count: Int, start: Int64 = 0, every: Int64 = 25, universe: UInt16 = 1, sync: UInt16 = 0) -> [Packet] {
        (0..<count).map { Packet(ms: start + Int64($0) * every, from: sender, to: receiver, bytes: sacn(UInt8(truncatingIfNeeded: $0), universe: universe, sync: sync)) }
    }

    // MARK: Art-Net

    func testCleanArtNetStreamHasNoFindings() throws {
        XCTAssertEqual(rules(try capture(artStream(300) + [Packet(ms: 10, from: sender, to: node, bytes: artPoll()),
                                                           Packet(ms: 3010, from: sender, to: node, bytes: artPoll())])), [])
    }

    func testOddArtDmxLength() throws {
        var odd = dmx(1)
        odd[16] = 0; odd[17] = 5   // Length 5 of the 6 slots present
        XCTAssertEqual(rules(try capture([Packet(ms: 0, from: sender, to: node, bytes: odd)])), ["artnet.dmx.odd-length", "artnet.trailing-bytes"])
    }

    func testArtDmxLengthPastTheEndIsMalformed() throws {
        var bad = dmx(1)
        bad[16] = 0x02; bad[17] = 0x00
        XCTAssertEqual(rules(try capture([Packet(ms: 0, from: sender, to: node, bytes: bad)])), ["artnet.malformed"])
    }

    func testArtNetSequenceRepeatedGapAndZero() throws {
        func seqs(_ s: [UInt8]) -> [Packet] { s.enumerated().map { Packet(ms: Int64($0.offset) * 25, from: sender, to: node, bytes: dmx($0.element)) } }
        XCTAssertEqual(rules(try capture(seqs([1, 2, 3, 3, 4]))), ["artnet.sequence.repeated"])
        XCTAssertEqual(rules(try capture(seqs([1, 2, 5, 6]))), ["artnet.sequence.gap"])
        XCTAssertEqual(rules(try capture(seqs([254, 255, 0, 1]))), ["artnet.sequence.zero-mid-stream"])
        XCTAssertEqual(rules(try capture(seqs([254, 255, 1, 2]))), [], "0xFF wraps to 0x01")
        XCTAssertEqual(rules(try capture(seqs([0, 0, 0]))), [], "sequence 0 throughout: sequencing off")
    }

    func testArtPollStorm() throws {
        let storm = (0..<6).map { Packet(ms: Int64($0) * 200, from: sender, to: node, bytes: artPoll()) }
        XCTAssertEqual(rules(try capture(storm)), ["artnet.poll.storm"])
        let regular = (0..<6).map { Packet(ms: Int64($0) * 2600, from: sender, to: node, bytes: artPoll()) }
        XCTAssertEqual(rules(try capture(regular)), [])
    }

    func testArtSyncFromANonSender() throws {
        let packets = artStream(3) + [Packet(ms: 80, from: other, to: node, bytes: artSync())]
        XCTAssertEqual(rules(try capture(packets)), ["artnet.sync.not-sender"])
        XCTAssertEqual(rules(try capture(artStream(3) + [Packet(ms: 80, from: sender, to: node, bytes: artSync())])), [])
        let syncFirst = [Packet(ms: 0, from: sender, to: node, bytes: artSync())] + artStream(3, start: 10)
        XCTAssertEqual(rules(try capture(syncFirst)), [], "the sender's ArtSync before its first ArtDmx")
    }

    func testBroadcastArtDmxIsANote() throws {
        let b = Endpoint(address: "10.255.255.255", port: 6454)
        let result = CheckSession.run(capture: try capture([Packet(ms: 0, from: sender, to: b, bytes: dmx(1))]), profile: nil)
        XCTAssertEqual(result.findings.map(\.rule.id), ["artnet.dmx.broadcast"])
        XCTAssertEqual(result.findings.first?.rule.severity, .info)
    }

    // MARK: sACN

    func testCleanSACNStreamWithSyncAndDiscoveryHasNoFindings() throws {
        var packets = sacnStream(600, sync: 7000)  // 15 s
        for i in 0..<600 { packets.append(Packet(ms: Int64(i) * 25 + 1, from: sender, to: receiver, bytes: sacnSync(UInt8(truncatingIfNeeded: i), address: 7000))) }
        for t in stride(from: Int64(0), to: 15_000, by: 10_000) { packets.append(Packet(ms: t + 2, from: sender, to: receiver, bytes: discovery([1]))) }
        for i in 0..<3 { packets.append(Packet(ms: 15_000 + Int64(i), from: sender, to: receiver, bytes: sacn(UInt8(88 + i), options: .streamTerminated))) }
        XCTAssertEqual(rules(try capture(packets.sorted { $0.ms < $1.ms })), [])
    }

    func testSACNSequence() throws {
        func seqs(_ s: [UInt8]) -> [Packet] { s.enumerated().map { Packet(ms: Int64($0.offset) * 25, from: sender, to: receiver, bytes: sacn($0.element)) } }
        XCTAssertEqual(rules(try capture(seqs([10, 11, 11, 12]))), ["e131.sequence.repeated"])
        XCTAssertEqual(rules(try capture(seqs([10, 11, 9]))), ["e131.sequence.repeated"])
        XCTAssertEqual(rules(try capture(seqs([10, 11, 14]))), ["e131.sequence.gap"])
        XCTAssertEqual(rules(try capture(seqs([254, 255, 0, 1]))), [], "255 wraps to 0")
    }

    func testSACNPriorityChangeMidStream() throws {
        let packets = [sacn(1), sacn(2), sacn(3, priority: 150)].enumerated().map { Packet(ms: Int64($0.offset) * 25, from: sender, to: receiver, bytes: $0.element) }
        XCTAssertEqual(rules(try capture(packets)), ["e131.priority.changed"])
    }

    func testSACNDataAfterStreamTerminated() throws {
        let packets = [sacn(1), sacn(2, options: .streamTerminated), sacn(3, options: .streamTerminated), sacn(4, options: .streamTerminated), sacn(5)]
            .enumerated().map { Packet(ms: Int64($0.offset) * 25, from: sender, to: receiver, bytes: $0.element) }
        XCTAssertEqual(rules(try capture(packets)), ["e131.stream-terminated.data-after"])
        let once = [sacn(1), sacn(2, options: .streamTerminated)].enumerated().map { Packet(ms: Int64($0.offset) * 25, from: sender, to: receiver, bytes: $0.element) }
        XCTAssertEqual(rules(try capture(once)), ["e131.stream-terminated.count"])
    }

    func testSACNSyncAddressWithoutSyncPackets() throws {
        XCTAssertEqual(rules(try capture(sacnStream(10, sync: 7000))), ["e131.sync.missing"])
    }

    func testSACNUniverseDiscovery() throws {
        XCTAssertEqual(rules(try capture(sacnStream(520))), ["e131.discovery.missing"], "13 s of data without discovery")
        XCTAssertEqual(rules(try capture(sacnStream(100))), [], "2.5 s: discovery not due yet")
        let wrong = sacnStream(10) + [Packet(ms: 300, from: sender, to: receiver, bytes: discovery([2, 3]))]
        XCTAssertEqual(rules(try capture(wrong)), ["e131.discovery.incomplete"])
    }

    func testSACNMulticastGroupOfAnotherUniverse() throws {
        let group = Endpoint(address: "239.255.0.2", port: 5568)
        XCTAssertEqual(rules(try capture([Packet(ms: 0, from: sender, to: group, bytes: sacn(1, universe: 1))])), ["e131.multicast.universe-mismatch"])
        let right = Endpoint(address: "239.255.0.1", port: 5568)
        XCTAssertEqual(rules(try capture([Packet(ms: 0, from: sender, to: right, bytes: sacn(1, universe: 1))])), [])
    }

    func testSACNAlternateStartCodeIsANote() throws {
        XCTAssertEqual(rules(try capture([Packet(ms: 0, from: sender, to: receiver, bytes: sacn(1, startCode: 0x17))])), ["e131.start-code.alternate"])
    }

    func testSACNDecoderRuleIDs() throws {
        var bad = sacn(1)
        bad[108] = 201   // priority above 200
        XCTAssertEqual(rules(try capture([Packet(ms: 0, from: sender, to: receiver, bytes: bad)])), ["e131.priority-range"])
    }

    // MARK: DDP

    func testDDPFramesWithoutPush() throws {
        let noPush = (0..<4).flatMap { f in [0, 30].map { Packet(ms: Int64(f) * 25 + Int64($0), from: sender, to: node, bytes: ddp(offset: UInt32($0), push: false)) } }
        let result = CheckSession.run(capture: try capture(noPush), profile: nil)
        XCTAssertEqual(Set(result.findings.map(\.rule.id)), ["ddp.push.missing"])
        XCTAssertEqual(result.findings.first?.count, 3, "three frames restarted without PUSH (the last one is cut by the capture's end)")
        let withPush = (0..<4).flatMap { f in [0, 30].map { Packet(ms: Int64(f) * 25 + Int64($0), from: sender, to: node, bytes: ddp(offset: UInt32($0), push: $0 == 30)) } }
        XCTAssertEqual(rules(try capture(withPush)), [])
        XCTAssertEqual(rules(try capture([Packet(ms: 0, from: sender, to: node, bytes: ddp(offset: 0, push: false))])), ["ddp.push.missing"],
                       "data and never a PUSH")
    }

    // MARK: NovaStar over TCP

    func novaStarCapture(_ requests: [[UInt8]], clients: Int = 1) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("check-\(UUID().uuidString).pcap").path
        let w = try PcapWriter(path: path)
        let tcp = TCPStreamWriter(writer: w)
        let card = Endpoint(address: "10.0.0.70", port: 5200)
        var t = Timestamp(nanoseconds: 1_700_000_000_000_000_000)
        let ms = Timestamp(nanoseconds: 1_000_000)
        var ids: [Int] = []
        for c in 0..<clients { ids.append(try tcp.open(client: Endpoint(address: "10.0.0.5", port: UInt16(40000 + c)), server: card, time: t)); t = t + ms }
        for r in requests {
            try r.withUnsafeBytes { try tcp.write(connection: ids[0], fromClient: true, bytes: $0, time: t) }
            t = t + ms
        }
        for id in ids { try tcp.close(connection: id, byClient: true, time: t) }
        try w.close()
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    func testNovaStarChecksumError() throws {
        let good = NovaStarFrame.write(serial: 1, deviceType: NovaStar.DeviceType.receivingCard, port: 0xFF, card: 0xFFFF,
                                       address: 0x0200_0001, data: [128]).encoded()
        var bad = good
        bad[bad.count - 1] ^= 0xFF
        XCTAssertEqual(rules(try novaStarCapture([good, good])), [])
        XCTAssertEqual(rules(try novaStarCapture([good, bad, good])), ["novastar-checksum"])
    }

    func testSecondTCPClientAgainstOneClientProfile() throws {
        let good = NovaStarFrame.read(serial: 1, deviceType: NovaStar.DeviceType.sendingCard, address: 2, length: 2).encoded()
        XCTAssertEqual(rules(try novaStarCapture([good], clients: 2), profile: "novastar-one-client"), ["profile.second-tcp-client"])
        XCTAssertEqual(rules(try novaStarCapture([good], clients: 1), profile: "novastar-one-client"), [])
        XCTAssertEqual(rules(try novaStarCapture([good], clients: 2)), [], "without the profile two clients are fine")
    }

    func testReconnectingTCPClientIsNotASecondClient() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("check-\(UUID().uuidString).pcap").path
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        let w = try PcapWriter(path: path)
        let tcp = TCPStreamWriter(writer: w)
        let card = Endpoint(address: "10.0.0.70", port: 5200)
        let ms = Timestamp(nanoseconds: 1_000_000)
        var t = Timestamp(nanoseconds: 1_700_000_000_000_000_000)
        let request = NovaStarFrame.read(serial: 1, deviceType: NovaStar.DeviceType.sendingCard, address: 2, length: 2).encoded()
        for c in 0..<3 {
            let id = try tcp.open(client: Endpoint(address: "10.0.0.5", port: UInt16(40000 + c)), server: card, time: t)
            t = t + ms
            if c > 0 { try request.withUnsafeBytes { try tcp.write(connection: id, fromClient: true, bytes: $0, time: t) } }  // the first sends nothing
            t = t + ms
            try tcp.close(connection: id, byClient: true, time: t)
            t = t + ms
        }
        try w.close()
        XCTAssertEqual(rules(path, profile: "novastar-one-client"), [])
    }

    func testNovaStarChecksumErrorOnASerialLine() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("check-\(UUID().uuidString).pcap").path
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        let w = try SerialCaptureWriter(path: path)
        let request = NovaStarFrame.read(serial: 3, deviceType: NovaStar.DeviceType.sendingCard, address: 2, length: 2)
        var bad = request.encoded()
        bad[bad.count - 2] ^= 0x01
        let reply = request.reply(ack: NovaStar.Ack.requestChecksum, data: []).encoded()
        let t = Timestamp(nanoseconds: 1_700_000_000_000_000_000)
        try request.encoded().withUnsafeBytes { try w.write(time: t, direction: .received, bytes: $0) }
        try bad.withUnsafeBytes { try w.write(time: t + Timestamp(nanoseconds: 1_000_000), direction: .received, bytes: $0) }
        try reply.withUnsafeBytes { try w.write(time: t + Timestamp(nanoseconds: 2_000_000), direction: .sent, bytes: $0) }
        try w.close()
        let result = CheckSession.run(capture: path, profile: nil)
        XCTAssertEqual(result.findings.map(\.rule.id), ["novastar-checksum"])
        XCTAssertEqual(result.findings.first?.firstRecord, 2)
    }

    // MARK: Colorlight (layer 2)

    func testColorlightRowOver497Pixels() throws {
        func row(_ pixels: Int) -> [UInt8] {
            var f: [UInt8] = [0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x22, 0x22, 0x33, 0x44, 0x55, 0x66, 0x55, 0, 0, 0, 0,
                              UInt8(pixels >> 8), UInt8(pixels & 0xFF), 0x08, 0x88]
            f += [UInt8](repeating: 0x40, count: pixels * 3)
            return f
        }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("check-\(UUID().uuidString).pcap").path
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        let w = try PcapWriter(path: path)
        try w.write(time: Timestamp(nanoseconds: 1_700_000_000_000_000_000), bytes: row(497))
        try w.write(time: Timestamp(nanoseconds: 1_700_000_000_010_000_000), bytes: row(498))
        try w.close()
        let result = CheckSession.run(capture: path, profile: nil)
        XCTAssertEqual(result.findings.map(\.rule.id), ["colorlight.row-over-497"])
        XCTAssertEqual(result.findings.first?.firstRecord, 2)
        XCTAssertEqual(result.findings.first?.sender, "22:22:33:44:55:66")
    }

    // MARK: profiles

    func testUniversesBeyondALegacyNode() throws {
        let packets = (0..<6).flatMap { u in artStream(4, universe: UInt16(u)) }.sorted { $0.ms < $1.ms }
        let result = CheckSession.run(capture: try capture(packets), profile: QuirkProfile.named("artnet-legacy-4port"))
        XCTAssertEqual(Set(result.findings.map(\.rule.id)), ["profile.universes-per-address"])
        XCTAssertEqual(Set(result.findings.compactMap(\.universe)), [4, 5])
        XCTAssertEqual(rules(try capture(packets)), [], "without the profile six universes are fine")
    }

    func testNoSyncToANodeThatNeedsIt() throws {
        XCTAssertEqual(rules(try capture(artStream(10)), profile: "artnet-needs-sync"), ["profile.sync-required"])
        let synced = artStream(10) + (0..<10).map { Packet(ms: Int64($0) * 25 + 1, from: sender, to: node, bytes: artSync()) }
        XCTAssertEqual(rules(try capture(synced.sorted { $0.ms < $1.ms }), profile: "artnet-needs-sync"), [])
    }

    func testFrameRateAboveWhatWLEDTakes() throws {
        XCTAssertEqual(rules(try capture(sacnStream(40, every: 10)), profile: "wled"), ["profile.frame-rate"], "100 frames/s to a 60 frames/s receiver")
        XCTAssertEqual(rules(try capture(sacnStream(40, every: 17)), profile: "wled"), [], "59 frames/s")
    }

    func testPixelSplitAcrossUniversesToWLED() throws {
        let full = [Packet(ms: 0, from: sender, to: receiver, bytes: sacn(1, slots: [UInt8](repeating: 3, count: 512)))]
        XCTAssertEqual(rules(try capture(full), profile: "wled"), ["profile.pixel-split"])
        let padded = [Packet(ms: 0, from: sender, to: receiver, bytes: sacn(1, slots: [UInt8](repeating: 3, count: 510) + [0, 0]))]
        XCTAssertEqual(rules(try capture(padded), profile: "wled"), [], "channels 511-512 sent as zero")
        XCTAssertEqual(rules(try capture(full)), [])
    }

    func testPreviewAndPerAddressPriority() throws {
        let preview = [Packet(ms: 0, from: sender, to: receiver, bytes: sacn(1, options: .preview))]
        XCTAssertEqual(rules(try capture(preview), profile: "sacn-preview-priority"), ["profile.preview-ignored"])
        XCTAssertEqual(rules(try capture(preview)), [])
        let dd = [Packet(ms: 0, from: sender, to: receiver, bytes: sacn(1, startCode: 0xDD))]
        XCTAssertEqual(rules(try capture(dd), profile: "wled"), ["profile.per-address-priority"])
        XCTAssertEqual(rules(try capture(dd), profile: "sacn-preview-priority"), [], "this receiver honours 0xDD")
    }

    func testProfileRulesApplyToTheirProtocolOnly() throws {
        XCTAssertEqual(rules(try capture(sacnStream(10)), profile: "artnet-needs-sync"), [])
    }

    // MARK: clean captures

    /// PanelSim's own sender (the frames `panelsim send --pcap` writes), 60 frames at 30 frames/s
    /// with sync, announcements and the clean ending.
    func testPanelSimSenderOutputIsClean() throws {
        for name in ["artnet", "sacn", "ddp", "tpm2net"] {
            let plugin = try XCTUnwrap(ProtocolRegistry.standard.plugin(named: name))
            let map = try ChannelMap(width: 170, height: 4, format: .rgb,
                                     settings: MappingSettings(startUniverse: plugin.defaultStartUniverse, channelsPerUniverse: 510))
            var s = plugin.makeSender(SenderSettings(map: map, sync: true))
            var packets: [Packet] = []
            let to = Endpoint(address: "10.0.0.50", port: plugin.defaultPort)
            func emit(_ ms: Int64) -> DatagramEmitter { { bytes, _ in packets.append(Packet(ms: ms, from: self.sender, to: to, bytes: Array(bytes))) } }
            let canvas = TestPattern.gradient.render(frame: 0, width: 170, height: 4, format: .rgb)
            s.encodeAnnouncements(emit: emit(0))
            for f in 0..<60 { s.encode(canvas, emit: emit(Int64(f) * 33)) }
            s.encodeTermination(canvas, emit: emit(2000))
            XCTAssertEqual(rules(try capture(packets)), [], name)
        }
    }

    var publicCaptures: String {
        ProcessInfo.processInfo.environment["PANELSIM_CAPTURES"]
            ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../shared/captures/public").standardized.path
    }

    func publicCapture(_ file: String) throws -> String {
        let path = publicCaptures + "/" + file
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("captures not found at \(path); set PANELSIM_CAPTURES") }
        return path
    }

    func testCleanPublicCapturesHaveNothingAtWarningOrAbove() throws {
        for file in ["artnet/aioartnet_artnet-nodes.pcap", "artnet/fughilli_device_discovery.pcapng", "artnet/fughilli_device_configuration.pcapng",
                     "artnet/liveshark_artnet.pcapng", "novastar/DERIVED_baoerman_nova_frames_tcp5200.pcap",
                     "udp-misc/liveshark_flow_only.pcapng", "udp-misc/liveshark_flow_peak_and_maxgap.pcapng"] {
            XCTAssertEqual(rules(try publicCapture(file), atLeast: .warning), [], file)
        }
    }

    func testFaultyPublicCapturesFireTheirRules() throws {
        XCTAssertEqual(rules(try publicCapture("artnet/liveshark_artnet_invalid_length.pcapng"), atLeast: .warning), ["artnet.malformed"])
        XCTAssertEqual(rules(try publicCapture("artnet/liveshark_artnet_gap.pcapng"), atLeast: .warning), ["artnet.sequence.gap"])
        XCTAssertTrue(rules(try publicCapture("sacn/liveshark_sacn_dup_reorder.pcapng")).contains("e131.sequence.repeated"))
        XCTAssertTrue(rules(try publicCapture("sacn/liveshark_sacn.pcapng")).contains("e131.root.flags"), "PDU flags 0 (see the captures' README)")
    }

    // MARK: reports

    func testReportsAndExitLevels() throws {
        var odd = dmx(1)
        odd[16] = 0; odd[17] = 5
        let result = CheckSession.run(capture: try capture([Packet(ms: 0, from: sender, to: node, bytes: odd)]), profile: nil)
        XCTAssertEqual(result.worst, .error)
        let text = CheckReport.text(result)
        XCTAssertTrue(text.contains("ERROR   artnet.dmx.odd-length ×1: first record 1 at 0.000 s from 10.0.0.5:50000 universe 1"), text)
        XCTAssertTrue(text.contains("WARNING artnet.trailing-bytes ×1"), text)
        let junit = CheckReport.junit(result)
        XCTAssertEqual(junit.suites.first?.cases.count, result.rulesChecked.count)
        XCTAssertEqual(junit.suites.first?.cases.filter { $0.failure != nil }.map(\.name).sorted(), ["artnet.dmx.odd-length", "artnet.trailing-bytes"])
        let json = CheckReport.json(result, failOn: .error, exitCode: 1)
        XCTAssertEqual(json["hits"]?.arrayValue?.count, 2)
        XCTAssertEqual(json["passed"], .bool(false))
    }

    func testDamagedCaptureIsCheckedUpToTheDamage() throws {
        let path = try capture(artStream(4) + [Packet(ms: 200, from: sender, to: node, bytes: dmx(9))])
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        try data.prefix(data.count - 10).write(to: URL(fileURLWithPath: path))
        let result = CheckSession.run(capture: path, profile: nil)
        XCTAssertNotNil(result.captureError)
        XCTAssertEqual(result.records, 4)
        XCTAssertEqual(result.findings.map(\.rule.id), [])
        let unreadable = CheckSession.run(capture: path + ".missing", profile: nil)
        XCTAssertNotNil(unreadable.captureError)
    }

    func testEveryRuleHasAnExplanationNamingItsSource() {
        for r in CheckRules.all {
            XCTAssertFalse(r.explanation.isEmpty, r.id)
            XCTAssertTrue(r.explanation.contains("("), "\(r.id): names no spec section")
        }
        XCTAssertEqual(Set(CheckRules.all.map(\.id)).count, CheckRules.all.count, "rule IDs are unique")
    }
}
