import NIOCore
import NIOPosix
import PanelCore
import PanelDevice
import PanelNet

/// Where `send --protocol novastar` talks to a sending card.
public enum NovaStarSendTarget: Sendable {
    case tcp(host: String, port: Int)
    case serial(SerialSendTarget)

    var text: String {
        switch self {
        case .tcp(let host, let port): return "TCP \(host):\(port)"
        case .serial(let s): return "serial \(s.path) at \(s.baud) baud"
        }
    }
}

/// Options of `send --protocol novastar`: the requests, in order, and how long to wait for each reply.
public struct NovaStarSendOptions: Sendable {
    public var target: NovaStarSendTarget
    public var commands: [NovaStarCommand]
    /// Seconds to wait for each reply (a real card takes about 34 ms to answer ACK 1).
    public var timeout: Double

    public init(target: NovaStarSendTarget, commands: [NovaStarCommand], timeout: Double = 2) {
        self.target = target; self.commands = commands; self.timeout = timeout
    }
}

/// What a NovaStar send run did: every request and its reply.
public struct NovaStarSendResult: Sendable {
    public var target: String
    public var exchanges: [NovaStarExchange]
    /// Bytes read outside any frame, and frames that were not the awaited reply.
    public var skippedBytes: Int
    public var strayFrames: Int
    /// Why the run failed (a missing reply, a bad checksum, a non-zero ACK), nil when all went well.
    public var failure: String?

    /// The `--json` document: each request and reply (hex), ACK and its meaning, data and its decoding.
    public var json: JSONValue {
        let first = exchanges.compactMap(\.sentAt).first ?? .zero
        let requests = exchanges.map { e -> JSONValue in
            var o: [String: JSONValue] = [
                "what": .string(e.command.summary), "serial": .int(Int(e.request.serial)),
                "request": .string(Self.hex(e.request.encoded())), "result": .string(e.problem ?? "ok"),
            ]
            if let sent = e.sentAt { o["sent"] = .double((sent - first).seconds) }
            if let r = e.reply {
                o["reply"] = .string(Self.hex(e.replyBytes))
                o["ack"] = .int(Int(r.ack))
                o["ack-meaning"] = .string(NovaStarExchange.meaning(ofAck: r.ack))
                o["checksum-valid"] = .bool(r.checksumValid)
                o["data"] = .string(Self.hex(r.data))
                if let d = e.decoded { o["decoded"] = .string(d) }
            }
            if let sent = e.sentAt, let replied = e.repliedAt { o["milliseconds"] = .double((replied - sent).seconds * 1000) }
            return .object(o)
        }
        return .object(["target": .string(target), "requests": .array(requests), "skipped-bytes": .int(skippedBytes),
                        "stray-frames": .int(strayFrames), "failure": failure.map(JSONValue.string) ?? .null])
    }

    private static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}

extension SendSession {
    /// Sends NovaStar control requests one at a time over TCP or a serial line and waits for
    /// each reply (`NovaStarController` does the protocol; this is its I/O). A connection that
    /// cannot be made or a line that cannot be opened throws; missing or bad replies are in the
    /// result's `failure`.
    public static func runNovaStar(_ options: NovaStarSendOptions) async throws -> NovaStarSendResult {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let timeout = Timestamp(nanoseconds: DriftFreePacing.saturatingNanoseconds(options.timeout * 1e9))
        let driver = NovaStarDriver(loop: group.next(), controller: NovaStarController(commands: options.commands, timeout: timeout))
        do {
            switch options.target {
            case .tcp(let host, let port):
                let client = try await TCPClient.connect(group: group, host: host, port: port, timeout: .nanoseconds(timeout.nanoseconds),
                                                         onBytes: { driver.received($0) })
                driver.start(write: { bytes in
                    client.write(bytes)
                    client.flush()
                    return nil
                })
                client.channel.closeFuture.whenComplete { _ in driver.ended("the controller closed the connection") }
                try await driver.done.futureResult.get()
                await client.close()
            case .serial(let target):
                let line: SerialPort
                do { line = try SerialPort.openDevice(path: target.path, baud: target.baud) } catch { throw RunFailure("\(error)") }
                defer { line.close() }
                line.startReading(on: driver.loop, onBytes: { chunk, _ in chunk.withUnsafeBytes { driver.received($0) } },
                                  onEnd: { driver.ended("the serial line hung up") })
                driver.start(write: { bytes in
                    line.write(bytes, waitMilliseconds: serialWriteWaitMilliseconds)
                        ? nil : "\(target.path): the line took no more bytes for \(serialWriteWaitMilliseconds) ms"
                })
                try await driver.done.futureResult.get()
            }
        } catch {
            try? await driver.loop.submit { driver.abandon(error) }.get()
            try? await group.shutdownGracefully()
            throw error
        }
        let result = try await driver.loop.submit {
            NovaStarSendResult(target: options.target.text, exchanges: driver.controller.exchanges, skippedBytes: driver.controller.skippedBytes,
                               strayFrames: driver.controller.strayFrames, failure: driver.controller.failure)
        }.get()
        try? await group.shutdownGracefully()
        return result
    }
}

/// Runs a `NovaStarController` on one event loop: writes each request, feeds it what is read,
/// and wakes it at its deadline. Confined to `loop` once started.
final class NovaStarDriver: @unchecked Sendable {
    let loop: EventLoop
    var controller: NovaStarController
    let done: EventLoopPromise<Void>
    /// Writes one request; returns why it could not, nil when written.
    private var write: ((UnsafeRawBufferPointer) -> String?)?
    private var timer: Scheduled<Void>?
    private var finished = false

    init(loop: EventLoop, controller: NovaStarController) {
        self.loop = loop
        self.controller = controller
        done = loop.makePromise(of: Void.self)
    }

    /// Starts sending through `write` (called on the loop).
    func start(write: @escaping (UnsafeRawBufferPointer) -> String?) {
        loop.execute { [self] in
            self.write = write
            step()
        }
    }

    func received(_ bytes: UnsafeRawBufferPointer) {
        loop.preconditionInEventLoop()
        controller.receive(bytes, at: Self.now())
        step()
    }

    func ended(_ reason: String) {
        loop.execute { [self] in
            controller.ended(reason)
            step()
        }
    }

    /// Ends the run without a result (the connection or line could not be opened).
    func abandon(_ error: Error) {
        guard !finished else { return }
        finished = true
        timer?.cancel()
        done.fail(error)
    }

    private func step() {
        guard !finished, let write else { return }
        let now = Self.now()
        controller.tick(at: now)
        if let bytes = controller.nextRequest(at: now), let refused = bytes.withUnsafeBytes({ write($0) }) {
            controller.ended(refused)
        }
        timer?.cancel()
        timer = nil
        if controller.isDone {
            finished = true
            done.succeed(())
        } else if let d = controller.deadline {
            timer = loop.scheduleTask(in: .nanoseconds(max(0, (d - now).nanoseconds))) { [self] in step() }
        }
    }

    private static func now() -> Timestamp { Timestamp(nanoseconds: Int64(clamping: NIODeadline.now().uptimeNanoseconds)) }
}
