import PanelCore
import PanelWire

/// One request PanelSim sends to a NovaStar sending card (`panelsim send --protocol novastar`).
public enum NovaStarCommand: Equatable, Sendable {
    /// Select the sending card's video input (sending-card register 0x02000023).
    case input(UInt8)
    /// Global brightness of every receiving card (0x02000001, port 0xFF, card 0xFFFF).
    case brightness(UInt8)
    /// Test pattern of every receiving card (0x02000101; codes in `NovaStarNames.testPatterns`).
    case testPattern(UInt8)
    /// Kill mode of every receiving card (0x02000100): true black (0xFF), false normal (0x00).
    case blackout(Bool)
    /// Read a register.
    case read(NovaStarRead)

    /// The request frame with serial number `serial`: writes go to destination 0 (the first
    /// device); receiving-card writes to every port and card.
    public func request(serial: UInt8) -> NovaStarFrame {
        let receiving = NovaStar.DeviceType.receivingCard
        func all(_ register: NovaStarRegister, _ value: UInt8) -> NovaStarFrame {
            NovaStarFrame.write(serial: serial, deviceType: receiving, port: NovaStar.allPorts, card: NovaStar.allCards,
                                address: register.address, data: [value])
        }
        switch self {
        case .input(let code):
            return NovaStarFrame.write(serial: serial, deviceType: NovaStarRegister.inputSelect.deviceType,
                                       address: NovaStarRegister.inputSelect.address, data: [code])
        case .brightness(let value): return all(.brightness, value)
        case .testPattern(let code): return all(.testPattern, code)
        case .blackout(let on): return all(.kill, on ? 0xFF : 0x00)
        case .read(let r):
            return NovaStarFrame.read(serial: serial, deviceType: r.register.deviceType, port: r.port, card: r.card,
                                      address: r.register.address, length: r.length)
        }
    }

    /// What the request does, in words (the start of its result line).
    public var summary: String {
        switch self {
        case .input(let code): return "input \(NovaStarNames.inputName(code)) (sending card)"
        case .brightness(let value): return "brightness \(value) (all receiving cards)"
        case .testPattern(let code): return "test-pattern \(NovaStarNames.testPatternName(code)) (all receiving cards)"
        case .blackout(let on): return "blackout \(on ? "on" : "off") (all receiving cards)"
        case .read(let r): return "read \(r.summary)"
        }
    }
}

/// A register read: which register, how many bytes, and (for receiving-card registers) which card.
public struct NovaStarRead: Equatable, Sendable {
    public var register: NovaStarRegister
    public var length: UInt16
    /// Sending-card output port and receiving-card index (0 for sending-card registers).
    public var port: UInt8
    public var card: UInt16
    /// The name the register was asked by, nil for a raw `TYPE:0xADDRESS[:LENGTH]`.
    public var name: String?

    public init(register: NovaStarRegister, length: UInt16, port: UInt8 = 0, card: UInt16 = 0, name: String? = nil) {
        self.register = register; self.length = length; self.port = port; self.card = card; self.name = name
    }

    /// Registers readable by name: the name, the register and the bytes read.
    public static let named: [(name: String, register: NovaStarRegister, length: UInt16)] = [
        ("model-id", .modelID, 2), ("brightness", .brightness, 1), ("red-brightness", .redBrightness, 1),
        ("green-brightness", .greenBrightness, 1), ("blue-brightness", .blueBrightness, 1), ("kill", .kill, 1),
        ("test-pattern", .testPattern, 1), ("lock", .lock, 1), ("input-mode", .inputMode, 1), ("input-select", .inputSelect, 1),
    ]

    /// Device types by the names a raw read may use (or their numbers 0, 1, 2).
    static let deviceTypes: [(name: String, type: UInt8)] = [
        ("sending", NovaStar.DeviceType.sendingCard), ("receiving", NovaStar.DeviceType.receivingCard),
        ("function", NovaStar.DeviceType.functionCard),
    ]

    /// Parses a register name (`NovaStarRead.named`) or `TYPE:0xADDRESS[:LENGTH]` (TYPE
    /// sending, receiving, function or 0, 1, 2; LENGTH 1…`NovaStar.maxDataLength`, default 1).
    /// `port` and `card` address receiving-card registers; sending-card reads use 0.
    public static func parse(_ text: String, port: UInt8 = 0, card: UInt16 = 0) throws(NovaStarCommandError) -> NovaStarRead {
        func at(_ register: NovaStarRegister, _ length: UInt16, _ name: String?) -> NovaStarRead {
            let receiving = register.deviceType != NovaStar.DeviceType.sendingCard
            return NovaStarRead(register: register, length: length, port: receiving ? port : 0, card: receiving ? card : 0, name: name)
        }
        if let known = named.first(where: { $0.name == text }) { return at(known.register, known.length, known.name) }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2 || parts.count == 3 else {
            throw NovaStarCommandError("\"\(text)\" is neither a register name (\(named.map(\.name).joined(separator: ", "))) nor TYPE:0xADDRESS[:LENGTH]")
        }
        guard let type = deviceTypes.first(where: { $0.name == parts[0] })?.type ?? UInt8(parts[0]).flatMap({ $0 <= 2 ? $0 : nil }) else {
            throw NovaStarCommandError("\"\(parts[0])\" in \"\(text)\" is not a device type (sending, receiving, function or 0, 1, 2)")
        }
        let addressText = parts[1].lowercased()
        guard addressText.hasPrefix("0x"), let address = UInt32(addressText.dropFirst(2), radix: 16) else {
            throw NovaStarCommandError("\"\(parts[1])\" in \"\(text)\" is not an address 0x00000000...0xffffffff")
        }
        var length: UInt16 = 1
        if parts.count == 3 {
            guard let n = UInt16(parts[2]), n >= 1, Int(n) <= NovaStar.maxDataLength else {
                throw NovaStarCommandError("\"\(parts[2])\" in \"\(text)\" is not a length 1...\(NovaStar.maxDataLength)")
            }
            length = n
        }
        return at(NovaStarRegister(type, address), length, nil)
    }

    /// The register and card, in words.
    public var summary: String {
        let what = name ?? "\(Self.deviceTypes.first { $0.type == register.deviceType }?.name ?? "\(register.deviceType)"):\(Text.hex(register.address, digits: 8)):\(length)"
        switch register.deviceType {
        case NovaStar.DeviceType.sendingCard: return "\(what) (sending card)"
        default: return "\(what) (port \(port) card \(card))"
        }
    }

    /// The value of `data` in words where the register is known (a named register, or a raw
    /// read of one from its first byte), nil otherwise.
    public func decode(_ data: [UInt8]) -> String? {
        guard let known = Self.named.first(where: { $0.register == register }), data.count >= Int(known.length) else { return nil }
        switch known.register {
        case .modelID: return Text.hex(UInt32(data[1]) << 8 | UInt32(data[0]), digits: 4)
        case .brightness, .redBrightness, .greenBrightness, .blueBrightness: return "\(data[0])"
        case .kill: return data[0] == 0xFF ? "black" : data[0] == 0 ? "normal" : Text.hex(UInt32(data[0]), digits: 2)
        case .testPattern: return NovaStarNames.testPatternName(data[0])
        case .lock: return data[0] == 0 ? "off" : "on"
        case .inputMode: return data[0] == 0x5A ? "manual" : Text.hex(UInt32(data[0]), digits: 2)
        case .inputSelect: return NovaStarNames.inputName(data[0])
        default: return nil
        }
    }
}

/// A flag or register text that does not name a NovaStar request.
public struct NovaStarCommandError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// One request and what came of it.
public struct NovaStarExchange: Sendable {
    /// How the request ended.
    public enum Outcome: Equatable, Sendable {
        /// Not sent yet, or sent and waiting.
        case pending
        /// A reply with the request's serial number arrived (its ACK and checksum are in `reply`).
        case answered
        /// No reply: the timeout passed, or the line or connection ended (the reason).
        case noReply(String)
        /// Never sent: an earlier request got no reply.
        case notSent
    }

    public var command: NovaStarCommand
    public var request: NovaStarFrame
    public var reply: NovaStarFrame?
    /// The reply's bytes as they arrived.
    public var replyBytes: [UInt8] = []
    public var outcome: Outcome = .pending
    /// When the request was written and when its reply arrived (the caller's clock).
    public var sentAt: Timestamp?
    public var repliedAt: Timestamp?

    /// What went wrong, nil when the reply came with a valid checksum and ACK 0.
    public var problem: String? {
        switch outcome {
        case .pending: return "not finished"
        case .notSent: return "not sent (an earlier request got no reply)"
        case .noReply(let reason): return reason
        case .answered:
            guard let r = reply else { return "not finished" }
            if !r.checksumValid { return "the reply's checksum is wrong" }
            if r.ack != NovaStar.Ack.ok { return "ACK \(r.ack) (\(NovaStarExchange.meaning(ofAck: r.ack)))" }
            return nil
        }
    }

    /// The decoded value of a read's reply, where the register is known.
    public var decoded: String? {
        guard case .read(let r) = command, let reply, reply.ack == NovaStar.Ack.ok, reply.checksumValid else { return nil }
        return r.decode(reply.data)
    }

    /// The result line: what was asked, the ACK with its meaning, and a read's data (hex, then
    /// decoded where the register is known).
    public var line: String {
        guard case .answered = outcome, let r = reply else { return "\(command.summary): \(problem ?? "")" }
        var text = "\(command.summary): ACK \(r.ack) (\(Self.meaning(ofAck: r.ack)))"
        if !r.checksumValid { text += ", bad reply checksum" }
        if case .read = command, r.ack == NovaStar.Ack.ok {
            text += ", data " + (r.data.isEmpty ? "none" : r.data.map(Text.hexDigits).joined(separator: " "))
            if let d = decoded { text += " = \(d)" }
        }
        return text
    }

    /// The meaning of an ACK code (PROTOCOLS.md, "NovaStar sending card").
    public static func meaning(ofAck ack: UInt8) -> String {
        switch ack {
        case NovaStar.Ack.ok: return "ok"
        case NovaStar.Ack.timeout: return "timeout: the receiving card did not answer"
        case NovaStar.Ack.requestChecksum: return "request checksum error"
        case NovaStar.Ack.replyChecksum: return "reply checksum error"
        case NovaStar.Ack.invalidCommand: return "invalid command"
        default: return "unknown ACK code"
        }
    }
}

/// The PC side of the NovaStar control protocol, sans I/O: sends its commands one at a time,
/// waits for each reply (matched by the echoed serial number, serials 1, 2, … wrapping), and
/// records what came back. The caller writes what `nextRequest` returns, feeds the bytes read
/// to `receive`, and calls `tick` when `deadline` passes. Bytes outside frames, requests
/// (an echoing line) and replies with another serial number (late answers to a timed-out
/// request) are skipped and counted. After a request gets no reply the rest are not sent:
/// the line is taken to be dead.
public struct NovaStarController {
    public private(set) var exchanges: [NovaStarExchange]
    /// How long to wait for each reply.
    public let timeout: Timestamp
    /// Replies ignored because their serial number was not the awaited one, and requests seen on the line.
    public private(set) var strayFrames = 0
    private var framer = NovaStarFramer()
    private var current = 0

    public init(commands: [NovaStarCommand], timeout: Timestamp) {
        self.timeout = timeout
        exchanges = commands.enumerated().map { k, c in
            NovaStarExchange(command: c, request: c.request(serial: UInt8(truncatingIfNeeded: k + 1)))
        }
    }

    /// Bytes read outside any frame (garbage before or between replies).
    public var skippedBytes: Int { framer.skippedBytes }

    /// True when every request has an outcome.
    public var isDone: Bool { current >= exchanges.count }

    /// The awaited reply's deadline; nil when no request is out.
    public var deadline: Timestamp? {
        guard current < exchanges.count, let sent = exchanges[current].sentAt else { return nil }
        return sent + timeout
    }

    /// The next request's bytes, to be written now; nil while a reply is awaited or when done.
    public mutating func nextRequest(at now: Timestamp) -> [UInt8]? {
        guard current < exchanges.count, exchanges[current].sentAt == nil else { return nil }
        exchanges[current].sentAt = now
        return exchanges[current].request.encoded()
    }

    /// Bytes read from the line or connection.
    public mutating func receive(_ bytes: UnsafeRawBufferPointer, at now: Timestamp) {
        var frames: [(NovaStarFrame, [UInt8])] = []
        framer.push(bytes, frame: { b in
            do throws(WireError) { frames.append((try NovaStarFrame.decode(b), Array(b))) } catch { strayFrames += 1 }
        }, dropped: { _ in })
        for (f, raw) in frames { accept(f, raw, at: now) }
    }

    private mutating func accept(_ f: NovaStarFrame, _ raw: [UInt8], at now: Timestamp) {
        guard f.kind == .reply, current < exchanges.count, exchanges[current].sentAt != nil,
              f.serial == exchanges[current].request.serial else {
            strayFrames += 1
            return
        }
        exchanges[current].reply = f
        exchanges[current].replyBytes = raw
        exchanges[current].repliedAt = now
        exchanges[current].outcome = .answered
        current += 1
    }

    /// Gives up on the awaited reply once its deadline has passed.
    public mutating func tick(at now: Timestamp) {
        guard let d = deadline, now >= d else { return }
        giveUp("no reply within \(Self.seconds(timeout))")
    }

    /// The line or connection ended, or a write failed (`reason`): the awaited reply and the
    /// rest will not come.
    public mutating func ended(_ reason: String) {
        guard current < exchanges.count else { return }
        giveUp(reason)
    }

    /// The current request gets `reason`, the rest are not sent.
    private mutating func giveUp(_ reason: String) {
        for k in current..<exchanges.count { exchanges[k].outcome = k == current ? .noReply(reason) : .notSent }
        current = exchanges.count
    }

    /// Why the session failed (the first problem and how many requests had one), nil when
    /// every request was answered with ACK 0 and a valid checksum.
    public var failure: String? {
        let failed = exchanges.filter { $0.problem != nil }
        guard let first = failed.first else { return nil }
        let count = failed.count == 1 ? "1 of \(exchanges.count) requests failed" : "\(failed.count) of \(exchanges.count) requests failed"
        return "\(count); first: \(first.command.summary): \(first.problem ?? "")"
    }

    private static func seconds(_ t: Timestamp) -> String {
        let ms = t.nanoseconds / 1_000_000
        return ms % 1000 == 0 ? "\(ms / 1000) s" : "\(ms) ms"
    }
}
