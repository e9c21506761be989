import NIOCore
import NIOPosix
import PanelCore
import PanelDevice
import PanelCapture
import Foundation
import PanelNet

/// Sending to a controller whose protocol travels over TCP (`carrier: .tcp`, e.g. OPC): one
/// connection, each frame's bytes written in order, paced like the UDP path, closed cleanly.
extension SendSession {
    func runTCP(group: EventLoopGroup) async throws -> SendResult {
        let host = options.host ?? "127.0.0.1"
        let client = try await TCPClient.connect(group: group, host: host, port: options.port)
        let pacer = TCPPacer(session: self, client: client)
        pacer.loop.execute { pacer.step() }
        try await pacer.done.futureResult.get()
        await client.close()
        return result
    }

    /// Writes the frames as one TCP connection in a pcap (handshake, one segment run per frame,
    /// FIN), timestamped at the frame rate (no sleeping).
    func runTCPToPcap(path: String) throws -> SendResult {
        let writer: PcapWriter
        do { writer = try PcapWriter(path: path) } catch { throw OutputError(path: path, reason: "\(error)") }
        let fps = options.fps ?? 30
        let limit = frameLimit ?? Int((options.seconds ?? 1) * fps)
        let base = Timestamp(nanoseconds: Int64(Date().timeIntervalSince1970 * 1e9))
        let server = Endpoint(address: options.host ?? "127.0.0.1", port: UInt16(truncatingIfNeeded: options.port))
        do {
            let stream = TCPStreamWriter(writer: writer)
            let connection = try stream.open(client: Endpoint(address: options.bindHost, port: 50000), server: server, time: base)
            var failure: Error? = nil
            for k in 0..<limit {
                let t = base + DriftFreePacing.offset(index: k, rate: fps)
                sender.encode(frame(k), emit: { [self] bytes, _ in
                    do { try stream.write(connection: connection, fromClient: true, bytes: bytes, time: t) } catch { failure = error }
                    result.packets += 1
                    result.bytes += bytes.count
                })
                if let f = failure { throw f }
                result.frames += 1
            }
            try stream.close(connection: connection, byClient: true, time: base + DriftFreePacing.offset(index: limit, rate: fps))
            try writer.close()
        } catch {
            throw OutputError(path: path, reason: "\(error)")
        }
        result.elapsed = Double(limit) / fps
        return result
    }

    /// The send loop on the connection's event loop: frame k at start + k/fps (drift-free), or
    /// back to back while the socket takes more (top speed). Confined to that loop.
    final class TCPPacer: @unchecked Sendable {
        let session: SendSession
        let client: TCPClient
        let loop: EventLoop
        let done: EventLoopPromise<Void>
        let start = NIODeadline.now()
        let limit: Int?
        let deadline: NIODeadline?
        var last: Canvas
        var k = 0
        /// The first write of each frame carries a promise, so refused frames are counted.
        var watchNext = true

        init(session: SendSession, client: TCPClient) {
            self.session = session
            self.client = client
            loop = client.channel.eventLoop
            done = loop.makePromise(of: Void.self)
            limit = session.frameLimit
            deadline = session.options.seconds.map { NIODeadline.now() + .nanoseconds(Int64($0 * 1e9)) }
            last = session.frame(0)
        }

        func emit(_ bytes: UnsafeRawBufferPointer, _ group: String?) {
            var promise: EventLoopPromise<Void>? = nil
            if watchNext {
                let p = loop.makePromise(of: Void.self)
                p.futureResult.whenFailure { [self] error in
                    session.result.failedFrames += 1
                    if session.result.firstError == nil { session.result.firstError = "\(error)" }
                }
                promise = p
                watchNext = false
            }
            client.write(bytes, promise: promise)
            session.result.packets += 1
            session.result.bytes += bytes.count
        }

        func step() {
            let now = NIODeadline.now()
            if let l = limit, k >= l { finish(); return }
            if let d = deadline, now >= d { finish(); return }
            if session.stopRequested.withLockedValue({ $0 }) { finish(); return }
            guard client.channel.isActive else {
                session.result.failedFrames += 1
                if session.result.firstError == nil { session.result.firstError = "the controller closed the connection" }
                finish()
                return
            }
            last = session.frame(k)
            watchNext = true
            session.sender.encode(last, emit: emit)
            client.flush()
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
            if client.isWritable || !client.channel.isActive { loop.execute { self.step() } } else { loop.scheduleTask(in: .microseconds(20)) { self.waitWritable() } }
        }

        func finish() {
            session.sender.encodeTermination(last, emit: emit)
            client.flush()
            session.result.elapsed = Double((NIODeadline.now() - start).nanoseconds) / 1e9
            done.succeed(())
        }
    }
}
