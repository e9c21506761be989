import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// A TCP connection to a controller (send). What the controller sends back goes to the
/// caller's `onBytes`, or is read and discarded, so its replies can never fill our receive window.
public final class TCPClient: @unchecked Sendable {
    public let channel: Channel

    init(channel: Channel) { self.channel = channel }

    /// Connects; a refused or unreachable address is a `TransportError` naming it. `onBytes`
    /// gets what the peer sends, on the connection's event loop (nil: it is discarded).
    public static func connect(group: EventLoopGroup, host: String, port: Int, timeout: TimeAmount = .seconds(5),
                               onBytes: (@Sendable (UnsafeRawBufferPointer) -> Void)? = nil) async throws -> TCPClient {
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(timeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Reader(onBytes: onBytes)) }
            }
        do {
            return TCPClient(channel: try await bootstrap.connect(host: host, port: port).get())
        } catch let e as NIOConnectionError {
            let reasons = e.connectionErrors.map { failure -> String in
                if let io = failure.error as? IOError { return String(cString: strerror(io.errnoCode)).lowercased() }
                return "\(failure.error)"
            }
            throw TransportError("TCP \(host):\(port)", "cannot connect: " + (reasons.first ?? (e.dnsAAAAError ?? e.dnsAError).map { "\($0)" } ?? "no address"))
        } catch {
            throw TransportError("TCP \(host):\(port)", "cannot connect: \(error)")
        }
    }

    /// Queues bytes (sent on `flush`); `promise` fails when the connection cannot take them.
    public func write(_ bytes: UnsafeRawBufferPointer, promise: EventLoopPromise<Void>? = nil) {
        channel.write(channel.allocator.buffer(bytes: bytes), promise: promise)
    }

    public func flush() { channel.flush() }

    /// False while the socket's send buffer is full.
    public var isWritable: Bool { channel.isWritable }

    /// Sends what is queued, then closes the connection (FIN).
    public func close() async {
        try? await channel.close().get()
    }
}

/// Hands what the peer sends to `onBytes`, or drops it.
private final class Reader: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let onBytes: (@Sendable (UnsafeRawBufferPointer) -> Void)?
    init(onBytes: (@Sendable (UnsafeRawBufferPointer) -> Void)?) { self.onBytes = onBytes }
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let onBytes else { return }
        unwrapInboundIn(data).withUnsafeReadableBytes { onBytes($0) }
    }
}
