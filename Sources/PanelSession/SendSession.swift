import Foundation
import NIOCore
import NIOPosix
import NIOConcurrencyHelpers
import PanelCore
import PanelDevice
import PanelCapture
import PanelNet

/// What `panelsim send` plays.
public enum SendContent: Sendable {
    case image(Canvas)
    case pattern(TestPattern)
    /// `lead` first, one picture a frame (e.g. an announcement), then the pattern from its frame 0.
    case sequence(lead: [Canvas], then: TestPattern)
}

/// Options of `panelsim send`.
public struct SendOptions: Sendable {
    public var plugin: ProtocolPlugin
    /// Unicast destination; nil with `interface` set sends to the protocol's multicast groups.
    public var host: String?
    public var port: Int
    /// Interface for multicast (required for multicast; never the default route).
    public var interface: String?
    public var map: ChannelMap
    public var content: SendContent
    /// Frames per second; nil = as fast as the socket takes them.
    public var fps: Double?
    public var frames: Int?
    public var seconds: Double?
    public var sender: SenderSettings
    /// Write the datagrams to this pcap instead of the network (timestamps at the frame rate).
    public var pcapPath: String?
    /// Send the protocol's announcements (sACN universe discovery) every interval.
    public var announce: Bool
    /// Bind the sending socket here (default 127.0.0.1, port 0).
    public var bindHost: String
    /// Write to this serial line instead of a socket (SendSession+Serial.swift).
    public var serial: SerialSendTarget? = nil
    /// Send runs of equal-sized datagrams as UDP segmentation offload writes (UDPOptions).
    public var segmentationOffload = false

    public init(plugin: ProtocolPlugin, host: String?, port: Int, interface: String? = nil, map: ChannelMap, content: SendContent,
                fps: Double?, frames: Int?, seconds: Double?, sender: SenderSettings, pcapPath: String? = nil,
                announce: Bool = false, bindHost: String = "127.0.0.1") {
        self.plugin = plugin; self.host = host; self.port = port; self.interface = interface; self.map = map
        self.content = content; self.fps = fps; self.frames = frames; self.seconds = seconds; self.sender = sender
        self.pcapPath = pcapPath; self.announce = announce; self.bindHost = bindHost
    }
}

/// What a send run did, for the summary line and `--json`.
public struct SendResult: Sendable {
    public var frames = 0
    public var packets = 0
    public var bytes = 0
    public var elapsed = 0.0
    /// Frames whose first datagram the system refused, and the first such error.
    public var failedFrames = 0
    public var firstError: String?
    public var framesPerSecond: Double { elapsed > 0 ? Double(frames) / elapsed : 0 }
    public var packetsPerSecond: Double { elapsed > 0 ? Double(packets) / elapsed : 0 }
}

/// The send half of the pipeline: picture → channel map → encoder → socket or pcap.
public final class SendSession: @unchecked Sendable {
    public let options: SendOptions
    var sender: FrameSender
    var result = SendResult()
    private var staticFrame: Canvas?
    /// The lead pictures of a `.sequence`, fitted to the panel.
    private var leadFrames: [Canvas] = []
    let stopRequested = NIOLockedValueBox(false)

    /// Ends the run after the current frame (safe from any thread, e.g. on SIGINT): the
    /// stream still ends cleanly (sACN stream-terminated packets).
    public func stop() { stopRequested.withLockedValue { $0 = true } }

    public init(options: SendOptions) {
        self.options = options
        sender = options.plugin.makeSender(options.sender)
        if case .image(let c) = options.content {
            staticFrame = SendSession.fit(c, to: options.map)
        } else if case .pattern(let p) = options.content, p == .bars || p == .gradient {
            staticFrame = p.render(frame: 0, width: options.map.width, height: options.map.height, format: options.map.format)
        } else if case .sequence(let lead, _) = options.content {
            leadFrames = lead.map { SendSession.fit($0, to: options.map) }
        }
    }

    /// An image scaled to the panel and converted to its pixel format.
    public static func fit(_ image: Canvas, to map: ChannelMap) -> Canvas {
        image.resized(width: map.width, height: map.height).converted(to: map.format)
    }

    func frame(_ k: Int) -> Canvas {
        if let s = staticFrame { return s }
        if case .pattern(let p) = options.content { return p.render(frame: k, width: options.map.width, height: options.map.height, format: options.map.format) }
        if case .sequence(_, let p) = options.content {
            if k < leadFrames.count { return leadFrames[k] }
            return p.render(frame: k - leadFrames.count, width: options.map.width, height: options.map.height, format: options.map.format)
        }
        return Canvas(width: options.map.width, height: options.map.height, format: options.map.format)
    }

    var frameLimit: Int? {
        if let n = options.frames { return n }
        if let s = options.seconds, let fps = options.fps { return max(1, Int((s * fps).rounded())) }
        if options.seconds == nil && options.frames == nil { return options.fps == nil ? 1 : nil }
        return nil
    }

    /// Writes the frames into a pcap, timestamped at the frame rate (no sleeping).
    public func runToPcap(path: String) throws -> SendResult {
        let writer: PcapWriter
        do { writer = try PcapWriter(path: path) } catch { throw OutputError(path: path, reason: "\(error)") }
        let fps = options.fps ?? 30
        let limit = frameLimit ?? Int((options.seconds ?? 1) * fps)
        let src = Endpoint(address: options.bindHost, port: 50000)
        let base = Timestamp(nanoseconds: Int64(Date().timeIntervalSince1970 * 1e9))
        var failure: Error? = nil
        func emitAt(_ t: Timestamp) -> DatagramEmitter {
            return { [self] bytes, group in
                let dst = Endpoint(address: options.host ?? group ?? "127.0.0.1", port: UInt16(truncatingIfNeeded: options.port))
                do { try writer.writeUDP(time: t, source: src, destination: dst, payload: bytes) } catch { failure = error }
                result.packets += 1
                result.bytes += bytes.count
            }
        }
        if options.announce { sender.encodeAnnouncements(emit: emitAt(base)) }
        var last = frame(0)
        for k in 0..<limit {
            let t = base + Timestamp(nanoseconds: Int64(Double(k) / fps * 1e9))
            last = frame(k)
            sender.encode(last, emit: emitAt(t))
            result.frames += 1
        }
        sender.encodeTermination(last, emit: emitAt(base + Timestamp(nanoseconds: Int64(Double(limit) / fps * 1e9))))
        do { try writer.close() } catch { failure = error }
        if let f = failure { throw OutputError(path: path, reason: "\(f)") }
        result.elapsed = Double(limit) / fps
        return result
    }

    /// Sends over UDP, paced drift-free at `fps` (frame k leaves at start + k/fps) or at top speed.
    public func run() async throws -> SendResult {
        if options.plugin.carrier == .ethernet { return try await runEthernet() }
        if let path = options.pcapPath { return options.plugin.carrier == .tcp ? try runTCPToPcap(path: path) : try runToPcap(path: path) }
        if let target = options.serial { return try await runSerial(target) }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        do {
            let result = options.plugin.carrier == .tcp ? try await runTCP(group: group) : try await runLoop(group: group)
            try? await group.shutdownGracefully()
            return result
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    private func runLoop(group: EventLoopGroup) async throws -> SendResult {
        let endpoint = try await UDPEndpoint.bind(group: group, options: UDPOptions(host: options.bindHost, port: 0, receiveBufferBytes: 1 << 20,
                                                                                   multicastInterface: options.interface,
                                                                                   segmentationOffload: options.segmentationOffload),
                                                  onDatagram: { _, _ in })
        let pacer = Pacer(session: self, outlet: DatagramOutlet(endpoint: endpoint, options: options))
        pacer.loop.execute { pacer.step() }
        try await pacer.done.futureResult.get()
        // Let queued datagrams leave before closing.
        try await pacer.loop.submit {}.get()
        await endpoint.close()
        return result
    }

    /// The send loop: runs on the outlet's event loop, frame k at start + k/fps (drift-free),
    /// or back to back while the outlet takes more (top speed). Confined to that loop.
    final class Pacer: @unchecked Sendable {
        let session: SendSession
        let outlet: PacerOutlet
        let loop: EventLoop
        let done: EventLoopPromise<Void>
        let start = NIODeadline.now()
        let limit: Int?
        let deadline: NIODeadline?
        var lastAnnounce: NIODeadline? = nil
        var last: Canvas
        var k = 0

        init(session: SendSession, outlet: PacerOutlet) {
            self.session = session
            self.outlet = outlet
            loop = outlet.loop
            done = loop.makePromise(of: Void.self)
            limit = session.frameLimit
            deadline = session.options.seconds.map { NIODeadline.now() + .nanoseconds(Int64($0 * 1e9)) }
            last = session.frame(0)
        }

        /// The first write of each frame carries a promise, so refused sends are counted.
        var watchNext = true

        func fail(_ reason: String) {
            session.result.failedFrames += 1
            if session.result.firstError == nil { session.result.firstError = reason }
        }

        func emit(_ bytes: UnsafeRawBufferPointer, _ group: String?) {
            var promise: EventLoopPromise<Void>? = nil
            if watchNext {
                let p = loop.makePromise(of: Void.self)
                p.futureResult.whenFailure { [self] error in fail("\(error)") }
                promise = p
            }
            if let refused = outlet.write(bytes, group: group, promise: promise) {
                promise?.succeed(())  // nothing was written: the failure is counted here, once
                if watchNext { fail(refused) }
                watchNext = false
                return
            }
            watchNext = false
            session.result.packets += 1
            session.result.bytes += bytes.count
        }

        func step() {
            let now = NIODeadline.now()
            if let l = limit, k >= l { finish(); return }
            if let d = deadline, now >= d { finish(); return }
            if session.stopRequested.withLockedValue({ $0 }) { finish(); return }
            if let closed = outlet.closedReason { fail(closed); finish(); return }
            if session.options.announce, let interval = session.sender.announcementInterval,
               lastAnnounce.map({ now - $0 >= .nanoseconds(interval.nanoseconds) }) ?? true {
                session.sender.encodeAnnouncements(emit: emit)
                lastAnnounce = now
            }
            last = session.frame(k)
            watchNext = true
            session.sender.encode(last, emit: emit)
            outlet.flush()
            k += 1
            session.result.frames = k
            if let fps = session.options.fps {
                let next = DriftFreePacing.deadline(anchor: start, offset: DriftFreePacing.offset(index: k, rate: fps))
                loop.scheduleTask(deadline: next) { self.step() }
            } else {
                waitWritable()
            }
        }

        func waitWritable() {
            if outlet.isWritable || outlet.closedReason != nil { loop.execute { self.step() } } else {
                loop.scheduleTask(in: .microseconds(20)) { self.waitWritable() }
            }
        }

        func finish() {
            session.sender.encodeTermination(last, emit: emit)
            outlet.flush()
            session.result.elapsed = Double((NIODeadline.now() - start).nanoseconds) / 1e9
            done.succeed(())
        }
    }
}

/// Where the send loop's bytes go: a UDP socket or a TCP connection.
protocol PacerOutlet: AnyObject {
    var loop: EventLoop { get }
    /// Writes one datagram (or the next bytes of the stream); `group` is the multicast group a
    /// datagram sender names. Returns why nothing could be written, nil when it was.
    func write(_ bytes: UnsafeRawBufferPointer, group: String?, promise: EventLoopPromise<Void>?) -> String?
    func flush()
    var isWritable: Bool { get }
    /// Why sending cannot go on (a peer that closed the connection), nil while it can.
    var closedReason: String? { get }
}

/// A UDP socket, to the configured host or (multicast with an interface) the group each
/// datagram names. Used on the socket's event loop only.
final class DatagramOutlet: PacerOutlet {
    let endpoint: UDPEndpoint
    let options: SendOptions
    private var destinations: [String: SocketAddress] = [:]

    init(endpoint: UDPEndpoint, options: SendOptions) { self.endpoint = endpoint; self.options = options }

    var loop: EventLoop { endpoint.channel.eventLoop }
    var isWritable: Bool { endpoint.isWritable }
    var closedReason: String? { nil }
    func flush() { endpoint.flush() }

    func write(_ bytes: UnsafeRawBufferPointer, group: String?, promise: EventLoopPromise<Void>?) -> String? {
        let host = options.host ?? (options.interface != nil ? group : nil) ?? "127.0.0.1"
        let address: SocketAddress
        if let known = destinations[host] { address = known } else {
            guard let a = try? SocketAddress(ipAddress: host, port: options.port) else { return "no usable destination address" }
            destinations[host] = a
            address = a
        }
        endpoint.write(bytes, to: address, promise: promise)
        return nil
    }
}
