import NIOCore
import NIOPosix
import PanelCore
import PanelNet

/// The transport `send` writes to (a UDP socket, a TCP connection or a serial line), opened for
/// a caller that encodes frames itself and paces them (`panelsim stress`). It has an event loop
/// of its own: `write`, `flush`, `isWritable` and `closedReason` are used on it only (through
/// `execute` and `schedule`).
public final class SendLink: @unchecked Sendable {
    private let group: MultiThreadedEventLoopGroup
    private let loop: EventLoop
    private let outlet: PacerOutlet?
    private let line: SerialPort?
    private let closeTransport: () async -> Void
    private let path: String

    init(group: MultiThreadedEventLoopGroup, loop: EventLoop, outlet: PacerOutlet?, line: SerialPort?, path: String,
         close: @escaping () async -> Void) {
        self.group = group; self.loop = loop; self.outlet = outlet; self.line = line; self.path = path
        closeTransport = close
    }

    /// Runs `body` on the link's event loop.
    public func execute(_ body: @escaping @Sendable () -> Void) { loop.execute(body) }

    /// Runs `body` on the link's event loop at `time` (the `ServeSession.now()` clock).
    public func schedule(at time: Timestamp, _ body: @escaping @Sendable () -> Void) {
        loop.scheduleTask(deadline: .uptimeNanoseconds(UInt64(max(0, time.nanoseconds)))) { body() }
    }

    /// Writes one datagram (or the next bytes of the stream); returns why nothing was written,
    /// nil when it was. A serial write waits up to a second for room on the line.
    public func write(_ bytes: UnsafeRawBufferPointer) -> String? {
        if let l = line {
            return l.write(bytes, waitMilliseconds: SendSession.serialWriteWaitMilliseconds)
                ? nil : "\(path): the line took no more bytes for \(SendSession.serialWriteWaitMilliseconds) ms"
        }
        return outlet?.write(bytes, group: nil, promise: nil)
    }

    /// Hands the written datagrams or bytes to the system.
    public func flush() { outlet?.flush() }

    /// False while the socket's buffer is full (write later).
    public var isWritable: Bool { outlet?.isWritable ?? true }

    /// Why sending cannot go on (the peer closed the connection), nil while it can.
    public var closedReason: String? { outlet?.closedReason }

    /// Closes the transport and stops the event loop.
    public func close() async {
        await closeTransport()
        try? await group.shutdownGracefully()
    }
}

extension SendSession {
    /// Opens the transport `options` names, as `run()` would: UDP to `host:port` from
    /// `bindHost`, TCP for a TCP protocol, or the serial line `options.serial`.
    public static func openLink(_ options: SendOptions) async throws -> SendLink {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        do {
            if let target = options.serial {
                let line: SerialPort
                do { line = try SerialPort.openDevice(path: target.path, baud: target.baud) } catch { throw RunFailure("\(error)") }
                return SendLink(group: group, loop: loop, outlet: nil, line: line, path: target.path, close: { line.close() })
            }
            if options.plugin.carrier == .tcp {
                let client = try await TCPClient.connect(group: group, host: options.host ?? "127.0.0.1", port: options.port)
                return SendLink(group: group, loop: client.channel.eventLoop, outlet: StreamOutlet(client: client), line: nil,
                                path: "tcp", close: { await client.close() })
            }
            let endpoint = try await UDPEndpoint.bind(group: group, options: UDPOptions(host: options.bindHost, port: 0, receiveBufferBytes: 1 << 20,
                                                                                       multicastInterface: options.interface,
                                                                                       segmentationOffload: options.segmentationOffload),
                                                      onDatagram: { _, _ in })
            return SendLink(group: group, loop: endpoint.channel.eventLoop, outlet: DatagramOutlet(endpoint: endpoint, options: options),
                            line: nil, path: "udp", close: {
                                // Let queued datagrams leave before closing.
                                try? await endpoint.channel.eventLoop.submit {}.get()
                                await endpoint.close()
                            })
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }
}
