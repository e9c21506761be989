import PanelCore
import PanelWire

/// What a video input of the sending card shows.
public enum NovaStarInputPicture: Sendable {
    case pattern(TestPattern)
    /// A picture the size of the panel.
    case image(Canvas)
}

/// Settings of an emulated NovaStar sending card.
public struct NovaStarSettings: Sendable {
    public var name: String
    public var map: ChannelMap
    public var profile: NovaStarProfile
    /// What a video input shows when `inputs` names nothing for it (test patterns of the
    /// control plane are drawn over it).
    public var input: NovaStarInputPicture
    /// What each input shows, by input-select code (NovaStarNames.inputs).
    public var inputs: [UInt8: NovaStarInputPicture]
    /// Scale the recorded picture by brightness (value × brightness / 255, R/G/B on top of global).
    public var applyBrightness: Bool
    /// Drop frames breaking a rule instead of acting on them (a bad checksum is still answered ACK 2).
    public var strict: Bool
    /// One TCP client at a time, as users of real cards report: the next is reset while one holds the card.
    public var oneClient: Bool

    public init(name: String, map: ChannelMap, profile: NovaStarProfile = .baoerman, input: NovaStarInputPicture = .pattern(.bars),
                inputs: [UInt8: NovaStarInputPicture] = [:], applyBrightness: Bool = false, strict: Bool = false, oneClient: Bool = true) {
        self.name = name; self.map = map; self.profile = profile; self.input = input; self.inputs = inputs
        self.applyBrightness = applyBrightness; self.strict = strict; self.oneClient = oneClient
    }
}

/// A NovaStar sending card with its receiving cards, answering the control protocol on a
/// stream (TCP or serial). Only device 0 of a cascade exists: requests for other destinations
/// get no answer, as from the real card. Reads return the memory of the addressed card,
/// writes change it and are acknowledged with length 0; port 0xFF and card 0xFFFF reach every
/// receiving card; a bad checksum is answered ACK 2; a request for an absent receiving (or
/// function) card is answered ACK 1 after the profile's delay, with the requested length
/// from the reply buffer. Replies leave in request order: one held back for its delay holds
/// the ones after it, released by `tick`. A frame is emitted whenever what the panel shows
/// (input, brightness, kill, test pattern per receiving card) changes. Discovery datagrams
/// "rqProMI:" are answered "rpProMI:" and the profile's identity; the memory of every card
/// is the state kept across restarts.
public final class NovaStarSendingCard: DeviceModel {
    struct CardID: Hashable, Comparable {
        var port: Int
        var index: Int
        static func < (a: CardID, b: CardID) -> Bool { (a.port, a.index) < (b.port, b.index) }
    }

    /// What one receiving card shows.
    struct Look: Equatable {
        var brightness: UInt8, red: UInt8, green: UInt8, blue: UInt8
        var kill: Bool
        var pattern: UInt8
        /// The input the card shows: the selected one, or while locked the one selected when
        /// the lock was set (the picture is held).
        var input: UInt8
    }

    public let settings: NovaStarSettings
    public var name: String { settings.name }
    private var records = DeviceRecords()
    /// A framer per line or client (at most NovaStarSendingCard.maxSources).
    private var framers = StreamFramers<NovaStarFramer>(limit: maxSources)
    private var sendingCard: NovaStarMemory
    private var cards: [CardID: NovaStarMemory] = [:]
    private let cardOrder: [CardID]
    private var replyBuffer: [UInt8]
    private var held: [(due: Timestamp, reply: DeviceReply)] = []
    private var shown: (input: UInt8, looks: [Look])?
    /// The input each locked card holds.
    private var heldInputs: [CardID: UInt8] = [:]
    private var frameIndex = 0
    /// Serial lines and TCP clients are few; more sources than this share one framer.
    static let maxSources = 16
    /// Replies waiting for their delay; more are dropped and counted.
    static let maxHeld = 256

    public init(settings: NovaStarSettings) {
        self.settings = settings
        sendingCard = NovaStarMemory(blocks: settings.profile.sendingCardMemory)
        var order: [CardID] = []
        for (port, count) in settings.profile.cardsPerPort.enumerated() {
            for index in 0..<max(0, count) {
                let id = CardID(port: port, index: index)
                order.append(id)
                cards[id] = NovaStarMemory(blocks: settings.profile.receivingCardMemory)
            }
        }
        cardOrder = order
        replyBuffer = settings.profile.replyBuffer
    }

    public var counters: DeviceCounters { framers.adding(to: records.counters) }
    public var findings: [DeviceFinding] { records.findings.items }
    public var malformedPackets: [MalformedPacket] { records.malformed.items }

    /// A register's bytes: of the sending card, or of receiving card `card` on `port`.
    public func read(_ register: NovaStarRegister, port: Int = 0, card: Int = 0, count: Int = 1) -> [UInt8]? {
        switch register.deviceType {
        case NovaStar.DeviceType.sendingCard: return sendingCard.read(register.address, count: count)
        case NovaStar.DeviceType.receivingCard: return cards[CardID(port: port, index: card)]?.read(register.address, count: count)
        default: return nil
        }
    }

    public func receive(_ bytes: UnsafeRawBufferPointer, from source: PacketSource, at time: Timestamp) {
        if shown == nil { show(at: time, source: source) }
        framers.push(source) { framer, key in
            framer.push(bytes, frame: { handle($0, from: key, at: time) }, dropped: { records.reject($0, from: key, at: time) })
        }
    }

    private func handle(_ bytes: UnsafeRawBufferPointer, from source: PacketSource, at time: Timestamp) {
        guard let f = records.decode(bytes, from: source, at: time, { (b) throws(WireError) in try NovaStarFrame.decode(b) }) else { return }
        guard f.kind == .request else { records.counters.count("reply-ignored"); return }
        guard f.destination == 0 || f.destination == NovaStar.broadcastDestination else {
            records.counters.count("other-device-unanswered")
            return
        }
        guard f.checksumValid else {
            records.counters.countViolations([NovaStar.Rule.checksum])
            send(f.reply(ack: NovaStar.Ack.requestChecksum, data: []), to: source, at: time)
            return
        }
        if records.violations(f.violations, strict: settings.strict) { return }
        guard f.operation <= 1, f.isWrite || Int(f.length) <= NovaStar.maxDataLength else {
            send(f.reply(ack: NovaStar.Ack.invalidCommand, data: []), to: source, at: time)
            return
        }
        switch f.deviceType {
        case NovaStar.DeviceType.sendingCard: sendingCardRequest(f, from: source, at: time)
        case NovaStar.DeviceType.receivingCard: receivingCardRequest(f, from: source, at: time)
        default: absent(f, from: source, at: time)
        }
    }

    private func sendingCardRequest(_ f: NovaStarFrame, from source: PacketSource, at time: Timestamp) {
        let register = NovaStarRegister(f.deviceType, f.address)
        if f.isWrite {
            guard register != .inputMode, sendingCard.write(f.address, f.data) else {
                send(f.reply(ack: NovaStar.Ack.invalidCommand, data: []), to: source, at: time)
                return
            }
            if register == .saveParameters { records.counters.count("parameters-saved") }
            send(f.reply(ack: NovaStar.Ack.ok, data: []), to: source, at: time)
            show(at: time, source: source)
        } else if let raw = settings.profile.rawAnswers[register] {
            records.counters.count("raw-answers")
            reply(raw, to: source, at: time)
        } else {
            answerRead(f, sendingCard.read(f.address, count: Int(f.length)), to: source, at: time)
        }
    }

    private func receivingCardRequest(_ f: NovaStarFrame, from source: PacketSource, at time: Timestamp) {
        let targets = cardOrder.filter {
            (f.port == NovaStar.allPorts || $0.port == Int(f.port)) && (f.card == NovaStar.allCards || $0.index == Int(f.card))
        }
        guard let first = targets.first else { return absent(f, from: source, at: time) }
        if f.isWrite {
            for id in targets {
                guard cards[id]?.write(f.address, f.data) == true else {
                    send(f.reply(ack: NovaStar.Ack.invalidCommand, data: []), to: source, at: time)
                    return
                }
            }
            send(f.reply(ack: NovaStar.Ack.ok, data: []), to: source, at: time)
            show(at: time, source: source)
        } else {
            answerRead(f, cards[first]?.read(f.address, count: Int(f.length)) ?? [], to: source, at: time)
        }
    }

    private func answerRead(_ f: NovaStarFrame, _ data: [UInt8], to source: PacketSource, at time: Timestamp) {
        replyBuffer.replaceSubrange(0..<min(replyBuffer.count, data.count), with: data)
        send(f.reply(ack: NovaStar.Ack.ok, data: data), to: source, at: time)
    }

    /// ACK 1 after the real card's delay; a read gets its length from the reply buffer.
    private func absent(_ f: NovaStarFrame, from source: PacketSource, at time: Timestamp) {
        records.counters.count("absent-card")
        var data: [UInt8] = []
        if !f.isWrite {
            let n = Int(f.length)
            data = Array(replyBuffer.prefix(n)) + [UInt8](repeating: 0, count: max(0, n - replyBuffer.count))
        }
        send(f.reply(ack: NovaStar.Ack.timeout, data: data), to: source, at: time, delay: settings.profile.absentCardDelay)
    }

    private func send(_ frame: NovaStarFrame, to source: PacketSource, at time: Timestamp, delay: Timestamp = .zero) {
        records.counters.count("ack-\(frame.ack)")
        reply(frame.encoded(), to: source, at: time, delay: delay)
    }

    private func reply(_ bytes: [UInt8], to source: PacketSource, at time: Timestamp, delay: Timestamp = .zero) {
        let r = DeviceReply(bytes: bytes, destination: source)
        if held.isEmpty && delay.nanoseconds <= 0 {
            records.output.replies.append(r)
            records.counters.count("replies")
            return
        }
        guard held.count < Self.maxHeld else { records.counters.count("held-replies-dropped"); return }
        let due = max(time + delay, held.last?.due ?? time)
        held.append((due, r))
    }

    public func tick(at time: Timestamp) {
        while let first = held.first, first.due <= time {
            held.removeFirst()
            records.output.replies.append(first.reply)
            records.counters.count("replies")
        }
    }

    public func streamEnded(from source: PacketSource, at time: Timestamp) {
        held.removeAll { $0.reply.destination == source }
        framers.end(source)
    }

    public func finish(at time: Timestamp) {
        for h in held { records.output.replies.append(h.reply) }
        held.removeAll()
    }

    public func takeOutput() -> DeviceOutput { records.take() }

    // MARK: Discovery, client limit, saved state

    public var streamClientLimit: Int? { settings.oneClient ? 1 : nil }

    public func answerDiscovery(_ datagram: UnsafeRawBufferPointer, from source: PacketSource, at time: Timestamp) -> [UInt8]? {
        guard datagram.starts(with: NovaStar.discoveryRequest) else {
            records.counters.count("discovery-ignored")
            return nil
        }
        records.counters.count("discovery-requests")
        return NovaStar.discoveryReply + settings.profile.discoveryIdentity
    }

    /// Every card's memory in 256-byte pages ("sending-card@0x02000000",
    /// "receiving-card/PORT/INDEX@0x02000000"), and the reply buffer.
    public var persistentState: [String: [UInt8]] {
        var state: [String: [UInt8]] = ["reply-buffer": replyBuffer]
        for (address, bytes) in sendingCard.pages { state["sending-card@" + Self.hex(address)] = bytes }
        for (id, memory) in cards {
            for (address, bytes) in memory.pages { state["receiving-card/\(id.port)/\(id.index)@" + Self.hex(address)] = bytes }
        }
        return state
    }

    public func restoreState(_ state: [String: [UInt8]]) throws(StateError) {
        var restoredSending = NovaStarMemory()
        var restoredCards = cards.mapValues { _ in NovaStarMemory() }
        var restoredBuffer = replyBuffer
        for (key, bytes) in state.sorted(by: { $0.key < $1.key }) {
            if key == "reply-buffer" {
                guard bytes.count <= NovaStar.maxDataLength else { throw StateError(block: key, "\(bytes.count) bytes, at most \(NovaStar.maxDataLength)") }
                restoredBuffer = bytes
                continue
            }
            let parts = key.split(separator: "@")
            guard parts.count == 2, parts[1].hasPrefix("0x"), let address = UInt32(parts[1].dropFirst(2), radix: 16),
                  address % NovaStarMemory.pageSize == 0 else {
                throw StateError(block: key, "not a card page (sending-card@0xADDRESS or receiving-card/PORT/INDEX@0xADDRESS)")
            }
            guard bytes.count == Int(NovaStarMemory.pageSize) else { throw StateError(block: key, "\(bytes.count) bytes, a page has \(NovaStarMemory.pageSize)") }
            if parts[0] == "sending-card" {
                guard restoredSending.write(address, bytes) else { throw StateError(block: key, "more pages than a card holds") }
                continue
            }
            let card = parts[0].split(separator: "/")
            guard card.count == 3, card[0] == "receiving-card", let port = Int(card[1]), let index = Int(card[2]),
                  restoredCards[CardID(port: port, index: index)] != nil else {
                throw StateError(block: key, "no such card in this configuration (ports and cards: \(settings.profile.cardsPerPort))")
            }
            guard restoredCards[CardID(port: port, index: index)]?.write(address, bytes) == true else {
                throw StateError(block: key, "more pages than a card holds")
            }
        }
        sendingCard = restoredSending
        cards = restoredCards
        replyBuffer = restoredBuffer
        shown = nil
        records.counters.count("state-restored")
    }

    private static func hex(_ v: UInt32) -> String {
        let digits = String(v, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }

    // MARK: What the panel shows

    /// The picture of input `code` at the panel's size.
    private func inputPicture(_ code: UInt8) -> Canvas {
        switch settings.inputs[code] ?? settings.input {
        case .pattern(let p): return p.render(frame: 0, width: settings.map.width, height: settings.map.height, format: .rgb)
        case .image(let c): return c.converted(to: .rgb).resized(width: settings.map.width, height: settings.map.height)
        }
    }

    private func look(_ id: CardID, input: UInt8) -> Look {
        let m = cards[id] ?? NovaStarMemory()
        if m.byte(NovaStarRegister.lock.address) != 0 {
            if heldInputs[id] == nil { heldInputs[id] = shown?.input ?? input }
        } else {
            heldInputs[id] = nil
        }
        return Look(brightness: m.byte(NovaStarRegister.brightness.address), red: m.byte(NovaStarRegister.redBrightness.address),
                    green: m.byte(NovaStarRegister.greenBrightness.address), blue: m.byte(NovaStarRegister.blueBrightness.address),
                    kill: m.byte(NovaStarRegister.kill.address) == 0xFF, pattern: m.byte(NovaStarRegister.testPattern.address),
                    input: heldInputs[id] ?? input)
    }

    /// Emits a frame when input or any card's look changed since the last one.
    private func show(at time: Timestamp, source: PacketSource) {
        let input = sendingCard.byte(NovaStarRegister.inputSelect.address)
        let looks = cardOrder.map { look($0, input: input) }
        if let s = shown, s.input == input, s.looks == looks { return }
        shown = (input, looks)
        var pictures: [UInt8: Canvas] = [:]
        for code in Set(looks.map(\.input) + [input]) { pictures[code] = inputPicture(code) }
        var canvas = NovaStarPicture.render(inputs: pictures, selected: input, looks: looks, applyBrightness: settings.applyBrightness)
        canvas = canvas.converted(to: settings.map.format)
        frameIndex += 1
        records.counters.frames += 1
        var event = FrameEvent(index: frameIndex, time: time, canvas: canvas, universes: [], sources: [FrameSource(source)],
                               torn: false, synchronized: false)
        let first = looks.first
        event.extras = [
            "input": Int(input),
            "brightness": Int(first?.brightness ?? 0xFF),
            "brightness-red": Int(first?.red ?? 0xFF),
            "brightness-green": Int(first?.green ?? 0xFF),
            "brightness-blue": Int(first?.blue ?? 0xFF),
            "kill": first?.kill == true ? 1 : 0,
            "test-pattern": Int(first?.pattern ?? 0),
        ]
        records.output.frames.append(event)
    }
}
