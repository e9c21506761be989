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
        let pacer = Pacer(session: self, outlet: StreamOutlet(client: client))
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
}

/// A TCP connection: each frame's bytes written in order. Used on the connection's event loop.
final class StreamOutlet: PacerOutlet {
    let client: TCPClient
    init(client: TCPClient) { self.client = client }

    var loop: EventLoop { client.channel.eventLoop }
    var isWritable: Bool { client.isWritable }
    var closedReason: String? { client.channel.isActive ? nil : "the controller closed the connection" }
    func flush() { client.flush() }

    func write(_ bytes: UnsafeRawBufferPointer, group: String?, promise: EventLoopPromise<Void>?) -> String? {
        client.write(bytes, promise: promise)
        return nil
    }
}
