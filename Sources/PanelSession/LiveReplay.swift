import Foundation
import Histogram
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import PanelCapture
import PanelCore
import PanelNet

/// Options of `panelsim replay --live`.
public struct LiveReplayOptions: Sendable {
    /// The one address everything is sent to (numeric IPv4 or IPv6).
    public var host: String
    /// Port for every datagram and connection; nil keeps each one's captured destination port.
    public var port: Int?
    /// Local address the UDP sockets bind to.
    public var bindHost: String
    /// Send layer-2 frames raw on this interface; nil skips them.
    public var interface: String?
    /// Capture timing (with a speed factor), top speed or a fixed packet rate.
    public var pace: LivePace
    /// How many times the capture is sent (at least 1).
    public var passes: Int
    /// The part of the capture sent.
    public var window: LiveWindow
    /// UDP sockets opened, one per captured source endpoint; further sources share them.
    public var maxUDPSockets: Int
    /// TCP connections open at once; data of further ones is skipped.
    public var maxTCPConnections: Int
    /// The longest pause of capture time between two items sent; a longer one (a damaged
    /// timestamp, a capture left running overnight) is cut to this. Nil: no limit.
    public var maxPause: Timestamp?

    public init(host: String, port: Int? = nil, bindHost: String = "127.0.0.1", interface: String? = nil,
                pace: LivePace = .capture(speed: 1), passes: Int = 1, window: LiveWindow = LiveWindow(),
                maxUDPSockets: Int = 256, maxTCPConnections: Int = 1024, maxPause: Timestamp? = nil) {
        self.host = host; self.port = port; self.bindHost = bindHost; self.interface = interface; self.pace = pace
        self.passes = passes; self.window = window; self.maxUDPSockets = maxUDPSockets; self.maxTCPConnections = maxTCPConnections
        self.maxPause = maxPause
    }
}

/// Timing error of the sends: actual send time (after the system call returned) − due time.
public struct LatenessSummary: Sendable, Equatable {
    /// Sends measured.
    public var sends: Int
    public var meanNanoseconds: Double
    public var maxNanoseconds: Int64
    /// 99th percentile (HdrHistogram, 3 significant digits).
    public var p99Nanoseconds: Int64
}

/// What a live replay sent, for the summary line and `--json`.
public struct LiveReplayResult: Sendable {
    public var datagrams = 0
    public var datagramBytes = 0
    /// Datagrams that came back to the sending sockets (read and discarded).
    public var datagramsReceived = 0
    /// Connections made (the client side of each captured connection, per pass).
    public var tcpConnections = 0
    public var tcpBytes = 0
    /// Bytes the servers sent back (read and discarded).
    public var tcpBytesReceived = 0
    public var frames = 0
    public var frameBytes = 0
    /// Capture events not sent, by reason.
    public var skipped: [String: Int] = [:]
    /// Sends or connections the system refused, and the first few reasons.
    public var errors = 0
    public var firstErrors: [String] = []
    /// Passes started (the last one may have been cut short by `stop()`).
    public var passes = 0
    /// Seconds from the first send to the end.
    public var elapsed = 0.0
    public var stoppedEarly = false
    /// Set when the capture ended in damage; what came before was sent.
    public var captureError: String?
    /// Nil at top speed or when nothing was sent.
    public var lateness: LatenessSummary?
    /// Pauses of one pass cut to `maxPause`, and the capture time they lost together.
    public var pausesCut = 0
    public var pauseTimeCut = Timestamp.zero

    mutating func error(_ message: String) {
        errors += 1
        if firstErrors.count < 5 { firstErrors.append(message) }
    }
}

/// Resends a capture's payloads from sockets with its timing: UDP datagrams to one host,
/// the client side of each TCP connection as a live client, layer-2 frames raw on an interface.
/// Item k is due at anchor + its schedule offset (`LiveSchedule`), the anchor being the
/// moment the first item left, so timing error never accumulates.
public final class LiveReplaySession: @unchecked Sendable {
    public let options: LiveReplayOptions
    private let source: CaptureEventSource
    private let stopRequested = NIOLockedValueBox(false)

    /// `source` is called once to plan and once per pass.
    public init(options: LiveReplayOptions, source: @escaping CaptureEventSource) {
        self.options = options
        self.source = source
    }

    /// Ends the run soon (within about 50 ms; safe from any thread, e.g. on SIGINT): open
    /// connections are closed and the result says `stoppedEarly`.
    public func stop() { stopRequested.withLockedValue { $0 = true } }

    var isStopped: Bool { stopRequested.withLockedValue { $0 } }

    /// Plans, then sends. Throws `TransportError`, `RawEthernetError` or the source's error
    /// (`CaptureError` for a file) when it cannot start; refused sends are counted instead.
    public func run() async throws -> LiveReplayResult {
        guard options.passes >= 1 else { throw TransportError("live replay", "passes must be at least 1") }
        if let p = options.port, !(1...65535).contains(p) { throw TransportError("destination port \(p)", "not 1...65535") }
        guard (try? SocketAddress(ipAddress: options.host, port: 0)) != nil else {
            throw TransportError("destination \(options.host)", "not a numeric IPv4 or IPv6 address")
        }
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        do {
            let result = try await run(pool: pool, loop: group.next())
            try? await group.shutdownGracefully()
            try? await pool.shutdownGracefully()
            return result
        } catch {
            try? await group.shutdownGracefully()
            try? await pool.shutdownGracefully()
            throw error
        }
    }

    private func run(pool: NIOThreadPool, loop: EventLoop) async throws -> LiveReplayResult {
        let options = self.options, source = self.source
        let plan = try await pool.runIfActive {
            try LivePlan.scan(source, sendsFrames: options.interface != nil, window: options.window, maxPause: options.maxPause)
        }
        let raw: RawEthernetPort? = try options.interface.map { try RawEthernetPort(interface: $0) }
        defer { raw?.close() }
        let replies = ReplyCounts()
        var endpoints: [UDPEndpoint] = []
        do {
            for _ in plan.udpSources.prefix(max(1, options.maxUDPSockets)) {
                endpoints.append(try await UDPEndpoint.bind(
                    group: loop, options: UDPOptions(host: options.bindHost, port: 0, receiveBufferBytes: 1 << 20, vectorReadCount: 1),
                    onDatagram: { _, _ in replies.datagrams += 1 }))
            }
        } catch {
            for e in endpoints { await e.close() }
            throw error
        }
        let schedule = LiveSchedule(pace: options.pace, firstTime: plan.firstTime ?? .zero, lastTime: plan.lastTime ?? .zero,
                                    packetsPerPass: plan.packets)
        let queue = LiveQueue()
        let pacer = LivePacer(session: self, loop: loop, queue: queue, endpoints: endpoints, sources: plan.udpSources,
                              raw: raw, replies: replies)
        loop.execute { pacer.pump() }
        let produced = pool.runIfActive(eventLoop: loop) { [self] in
            defer { queue.finish() }
            return try produce(plan: plan, schedule: schedule, queue: queue)
        }
        var result = try await pacer.done.futureResult.get()
        for e in endpoints { await e.close() }
        let production = try await produced.get()
        result.skipped.merge(production.skipped, uniquingKeysWith: +)
        result.passes = production.passes
        result.captureError = plan.captureError.map { "\($0)" }
        result.pausesCut = plan.pausesCut
        result.pauseTimeCut = plan.pauseTimeCut
        result.datagramsReceived = try await loop.submit { replies.datagrams }.get()
        return result
    }

    private struct Production: Sendable {
        var skipped: [String: Int] = [:]
        var passes = 0
    }

    /// Reads the source once per pass on the thread pool and queues each item with its due
    /// offset; blocks while the queue is full.
    private func produce(plan: LivePlan, schedule: LiveSchedule, queue: LiveQueue) throws -> Production {
        var production = Production()
        guard let origin = plan.firstRecord else { return production }
        for pass in 0..<options.passes {
            if isStopped { break }
            production.passes = pass + 1
            var classifier = LiveClassifier(sendsFrames: options.interface != nil, copiesPayloads: true)
            var cutter = PauseCutter(limit: options.maxPause)
            var packetIndex = 0
            _ = try source { event in
                if isStopped { return }
                switch classifier.step(event) {
                case .send(let time, let action):
                    guard options.window.contains(time, firstRecord: origin) else {
                        production.skipped[LiveClassifier.outsideWindow, default: 0] += 1
                        return
                    }
                    let offset = schedule.offset(time: cutter.time(time), packetIndex: packetIndex, pass: pass)
                    if action.isPacket { packetIndex += 1 }
                    _ = queue.push(LiveItem(pass: pass, offset: offset, action: action), abandon: { self.isStopped })
                case .skip(let reason, _):
                    production.skipped[reason, default: 0] += 1
                case .none:
                    break
                }
            }
        }
        return production
    }
}

/// Replies read on the sending sockets; confined to the event loop.
private final class ReplyCounts: @unchecked Sendable {
    var datagrams = 0
}

/// One queued action and when it is due.
struct LiveItem: Sendable {
    var pass: Int
    /// Offset from the anchor; nil: at once (top speed).
    var offset: Timestamp?
    var action: LiveAction
}

/// The bounded hand-over from the reading thread to the event loop: the reader waits while it
/// holds `maxItems` items or `maxBytes` bytes (one item of any size is always accepted).
final class LiveQueue: @unchecked Sendable {
    private struct State {
        var items = CircularBuffer<LiveItem>()
        var bytes = 0
        var finished = false
    }

    private let state = NIOLockedValueBox(State())
    let maxItems: Int
    let maxBytes: Int

    init(maxItems: Int = 8192, maxBytes: Int = 16 << 20) {
        self.maxItems = maxItems
        self.maxBytes = maxBytes
    }

    /// Appends, waiting while full; gives up (false) once `abandon` says so.
    func push(_ item: LiveItem, abandon: () -> Bool) -> Bool {
        let size = item.action.byteCount
        while true {
            let taken = state.withLockedValue { s -> Bool in
                guard s.items.isEmpty || (s.items.count < maxItems && s.bytes + size <= maxBytes) else { return false }
                s.items.append(item)
                s.bytes += size
                return true
            }
            if taken { return true }
            if abandon() { return false }
            usleep(200)
        }
    }

    /// The first item, or whether nothing more will come.
    func peek() -> (item: LiveItem?, finished: Bool) {
        state.withLockedValue { s in (s.items.first, s.finished) }
    }

    func removeFirst() {
        state.withLockedValue { s in
            guard let first = s.items.popFirst() else { return }
            s.bytes -= first.action.byteCount
        }
    }

    /// No more items will be pushed.
    func finish() { state.withLockedValue { $0.finished = true } }
}

/// Lateness of each send: exact mean and maximum, the 99th percentile from a histogram.
struct LatenessRecorder {
    private var histogram = Histogram<UInt64>(highestTrackableValue: LatenessRecorder.highest, numberOfSignificantValueDigits: .three)
    private var count = 0
    private var sum = 0.0
    private var largest: Int64 = 0
    static let highest: UInt64 = 3_600_000_000_000

    mutating func record(_ nanoseconds: Int64) {
        let v = max(0, nanoseconds)
        count += 1
        sum += Double(v)
        largest = max(largest, v)
        _ = histogram.record(min(UInt64(v), LatenessRecorder.highest))
    }

    var summary: LatenessSummary? {
        guard count > 0 else { return nil }
        return LatenessSummary(sends: count, meanNanoseconds: sum / Double(count), maxNanoseconds: largest,
                               p99Nanoseconds: Int64(clamping: histogram.valueAtPercentile(99)))
    }
}

/// The send loop, confined to the event loop: waits for each item's due time (a timer until
/// `spinWindow` before it, then yielding turns of the loop, so sockets are still served), sends
/// it and measures how late it left.
private final class LivePacer: @unchecked Sendable {
    let session: LiveReplaySession
    let loop: EventLoop
    let queue: LiveQueue
    let endpoints: [UDPEndpoint]
    let socketIndex: [Endpoint: Int]
    let raw: RawEthernetPort?
    let replies: ReplyCounts
    let done: EventLoopPromise<LiveReplayResult>
    var result = LiveReplayResult()
    var lateness = LatenessRecorder()
    var anchor: NIODeadline?
    var firstSend: NIODeadline?
    var finished = false
    var destinations: [Int: SocketAddress] = [:]
    var connections: [ConnectionKey: LiveConnection] = [:]
    /// Connections closing (or connecting to be closed): the run ends when these complete.
    var closing: [EventLoopFuture<Void>] = []

    /// How long before a due time the timer wakes; the rest is spent yielding.
    static let spinWindow = TimeAmount.milliseconds(1)
    /// The longest single sleep, so `stop()` is seen soon.
    static let longestSleep = TimeAmount.milliseconds(50)
    /// Items sent per turn of the loop before other work gets a turn.
    static let itemsPerTurn = 64
    static let unconnected = "TCP data of a connection that could not be made"

    init(session: LiveReplaySession, loop: EventLoop, queue: LiveQueue, endpoints: [UDPEndpoint], sources: [Endpoint],
         raw: RawEthernetPort?, replies: ReplyCounts) {
        self.session = session; self.loop = loop; self.queue = queue; self.endpoints = endpoints; self.raw = raw
        self.replies = replies
        var index: [Endpoint: Int] = [:]
        for (i, s) in sources.enumerated() where !endpoints.isEmpty { index[s] = i % endpoints.count }
        socketIndex = index
        done = loop.makePromise(of: LiveReplayResult.self)
    }

    func pump() {
        guard !finished else { return }
        if session.isStopped { result.stoppedEarly = true; finish(); return }
        for _ in 0..<LivePacer.itemsPerTurn {
            let (next, ended) = queue.peek()
            guard let item = next else {
                if ended { finish() } else { loop.scheduleTask(in: .microseconds(100)) { self.pump() } }
                return
            }
            var due: NIODeadline? = nil
            if let offset = item.offset {
                let now = NIODeadline.now()
                let start = anchor ?? now
                anchor = start
                let target = DriftFreePacing.deadline(anchor: start, offset: offset)
                if target > now {
                    let wake = target - LivePacer.spinWindow
                    if wake > now {
                        loop.scheduleTask(deadline: min(wake, now + LivePacer.longestSleep)) { self.pump() }
                    } else {
                        loop.execute { self.pump() }
                    }
                    return
                }
                due = target
            } else if !canTakeMore(item) {
                loop.scheduleTask(in: .microseconds(20)) { self.pump() }
                return
            }
            queue.removeFirst()
            if firstSend == nil { firstSend = NIODeadline.now() }
            perform(item, due: due)
        }
        loop.execute { self.pump() }
    }

    /// At top speed, whether the item's socket has room (waiting otherwise keeps memory bounded).
    func canTakeMore(_ item: LiveItem) -> Bool {
        switch item.action {
        case .datagram(let source, _, _): return endpoint(for: source)?.isWritable ?? true
        case .write(let number, _, _): return connections[ConnectionKey(pass: item.pass, number: number)]?.channel?.isWritable ?? true
        case .connect, .close, .frame: return true
        }
    }

    func endpoint(for source: Endpoint) -> UDPEndpoint? {
        socketIndex[source].map { endpoints[$0] } ?? endpoints.first
    }

    func destination(_ capturedPort: UInt16) -> SocketAddress? {
        let port = session.options.port ?? Int(capturedPort)
        if let a = destinations[port] { return a }
        let a = try? SocketAddress(ipAddress: session.options.host, port: port)
        destinations[port] = a
        return a
    }

    func measure(_ due: NIODeadline?) {
        guard let d = due else { return }
        lateness.record((NIODeadline.now() - d).nanoseconds)
    }

    func perform(_ item: LiveItem, due: NIODeadline?) {
        switch item.action {
        case .datagram(let source, let port, let payload):
            guard let socket = endpoint(for: source), let address = destination(port) else {
                result.error("no socket or address for a datagram to port \(port)")
                return
            }
            let promise = loop.makePromise(of: Void.self)
            promise.futureResult.whenFailure { self.result.error("UDP to \(address): \($0)") }
            payload.withUnsafeBytes { socket.write($0, to: address, promise: promise) }
            socket.flush()
            measure(due)
            result.datagrams += 1
            result.datagramBytes += payload.count
        case .connect(let number, let port):
            _ = connection(ConnectionKey(pass: item.pass, number: number), port: port)
        case .write(let number, let port, let bytes):
            guard let c = connection(ConnectionKey(pass: item.pass, number: number), port: port) else { return }
            if c.failed {
                result.skipped[LivePacer.unconnected, default: 0] += 1
            } else if let channel = c.channel {
                write(bytes, to: channel, of: c)
                measure(due)
            } else {
                c.pending.append((bytes, due))
            }
        case .close(let number):
            let key = ConnectionKey(pass: item.pass, number: number)
            guard let c = connections.removeValue(forKey: key) else { return }
            closing.append(close(c))
        case .frame(let bytes):
            guard let port = raw else { return }
            let refusal: String? = bytes.withUnsafeBytes { b in
                do { try port.send(b) } catch { return "\(error)" }
                return nil
            }
            if let reason = refusal {
                result.error(reason)
            } else {
                measure(due)
                result.frames += 1
                result.frameBytes += bytes.count
            }
        }
    }

    /// The connection for a captured one, connecting it when it is new (nil past the limit).
    func connection(_ key: ConnectionKey, port: UInt16) -> LiveConnection? {
        if let c = connections[key] { return c }
        guard connections.count < session.options.maxTCPConnections else {
            result.skipped["TCP connection beyond the limit of open connections", default: 0] += 1
            return nil
        }
        let serverPort = session.options.port ?? Int(port)
        guard let address = destination(port) else {
            result.error("no address for a connection to port \(serverPort)")
            return nil
        }
        let connected = loop.makePromise(of: Void.self)
        let c = LiveConnection(connected: connected.futureResult)
        connections[key] = c
        let counter = ReplyByteCounter { [self] n in result.tcpBytesReceived += n }
        ClientBootstrap(group: loop)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(5))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(counter) }
            }
            .connect(to: address)
            .whenComplete { outcome in
                switch outcome {
                case .success(let channel):
                    self.result.tcpConnections += 1
                    c.channel = channel
                    for (bytes, due) in c.pending {
                        self.write(bytes, to: channel, of: c)
                        self.measure(due)
                    }
                    c.pending = []
                    connected.succeed(())
                case .failure(let error):
                    c.failed = true
                    self.result.error("TCP \(address): \(error)")
                    if !c.pending.isEmpty {
                        self.result.skipped[LivePacer.unconnected, default: 0] += c.pending.count
                    }
                    c.pending = []
                    connected.fail(error)
                }
            }
        return c
    }

    func write(_ bytes: [UInt8], to channel: Channel, of c: LiveConnection) {
        var buffer = channel.allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        let written = channel.writeAndFlush(buffer)
        written.whenFailure { self.result.error("TCP write: \($0)") }
        c.lastWrite = written
        result.tcpBytes += bytes.count
    }

    /// Closes once connected and every write has gone out; never fails.
    func close(_ c: LiveConnection) -> EventLoopFuture<Void> {
        c.connected.flatMap { () -> EventLoopFuture<Void> in
            let written = c.lastWrite ?? self.loop.makeSucceededVoidFuture()
            return written.flatMapResult { _ in Result<Void, Error>.success(()) }.flatMap {
                c.channel.map { $0.close() } ?? self.loop.makeSucceededVoidFuture()
            }
        }.recover { _ in }
    }

    func finish() {
        finished = true
        for c in connections.values { closing.append(close(c)) }
        connections = [:]
        EventLoopFuture.andAllComplete(closing, on: loop).whenComplete { _ in
            self.result.elapsed = self.firstSend.map { Double((NIODeadline.now() - $0).nanoseconds) / 1e9 } ?? 0
            self.result.lateness = self.lateness.summary
            self.done.succeed(self.result)
        }
    }
}

/// A captured connection within one pass.
private struct ConnectionKey: Hashable {
    var pass: Int
    var number: Int
}

/// The live client standing in for one captured connection; confined to the event loop.
private final class LiveConnection {
    var channel: Channel?
    /// Fails when the connection could not be made.
    let connected: EventLoopFuture<Void>
    var failed = false
    /// Bytes due before the connection was up, with their due times.
    var pending: [([UInt8], NIODeadline?)] = []
    var lastWrite: EventLoopFuture<Void>?

    init(connected: EventLoopFuture<Void>) { self.connected = connected }
}

/// Counts and drops what a server sends back.
private final class ReplyByteCounter: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    let count: (Int) -> Void
    init(count: @escaping (Int) -> Void) { self.count = count }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        count(unwrapInboundIn(data).readableBytes)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
