import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// How to listen for TCP clients of a controller (serve).
public struct TCPServerOptions: Sendable {
    public var host: String
    public var port: Int
    /// Clients served at once; a further connection is accepted and, unless a place comes free
    /// within `TCPServer.overLimitGrace` (50 ms), reset (the client sees ECONNRESET, as from a
    /// controller that lets one client hold it) and counted.
    public var maximumConnections: Int
    /// The largest single read; the caller consumes each read before the next is taken, so
    /// this bounds what a connection holds in memory (the kernel's window does the rest).
    public var maximumReadBytes: Int

    public init(host: String, port: Int, maximumConnections: Int = 64, maximumReadBytes: Int = 64 << 10) {
        self.host = host; self.port = port; self.maximumConnections = maximumConnections; self.maximumReadBytes = maximumReadBytes
    }
}

/// What a TCP server saw of its connections.
public struct TCPConnectionCounts: Sendable, Equatable {
    public var opened = 0
    /// Ended by the client's FIN or by the server.
    public var closed = 0
    /// Ended by a reset or another socket error.
    public var reset = 0
    /// Turned away over `maximumConnections`.
    public var refused = 0
    public init() {}
}

/// The callbacks of a TCP server; all run on the server's event loop, one connection's in
/// order (hence unchecked: they are never called from elsewhere).
public struct TCPServerHandlers: @unchecked Sendable {
    /// The next bytes of a client's stream.
    public var onData: (ByteBuffer, SocketAddress) -> Void
    /// After each read burst: where the caller flushes replies.
    public var onReadComplete: () -> Void
    /// The client's stream ended (`reset`: by an error rather than a clean close).
    public var onClosed: (SocketAddress, _ reset: Bool) -> Void

    public init(onData: @escaping (ByteBuffer, SocketAddress) -> Void, onReadComplete: @escaping () -> Void,
                onClosed: @escaping (SocketAddress, Bool) -> Void) {
        self.onData = onData; self.onReadComplete = onReadComplete; self.onClosed = onClosed
    }
}

/// A listening TCP socket on SwiftNIO serving several clients at once. Reads are handed to
/// the caller synchronously, so a slow consumer slows the client (back-pressure) instead
/// of growing a buffer. Confined to its event loop (hence unchecked).
public final class TCPServer: @unchecked Sendable {
    public let channel: Channel
    public let localHost: String
    public let localPort: Int
    let options: TCPServerOptions
    /// Open connections by client address (event loop only).
    var connections: [SocketAddress: Channel] = [:]
    /// Event loop only; read it with `counts()`.
    var tally = TCPConnectionCounts()

    init(channel: Channel, options: TCPServerOptions) {
        self.channel = channel
        self.options = options
        localHost = channel.localAddress?.ipAddress ?? options.host
        localPort = channel.localAddress?.port ?? options.port
    }

    /// Binds and listens. `group` should have one event loop, the caller's, so that the handlers
    /// run where the caller's state lives.
    public static func bind(group: EventLoopGroup, options: TCPServerOptions, handlers: TCPServerHandlers) async throws -> TCPServer {
        let box = ServerBox()
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 64)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 2048,
                                                                                       maximum: max(64, options.maximumReadBytes)))
            .childChannelOption(.maxMessagesPerRead, value: 4)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    guard let server = box.server, let remote = child.remoteAddress else {
                        child.close(promise: nil)
                        return
                    }
                    guard server.connections.count < server.options.maximumConnections else {
                        // Reads wait until the connection is admitted (TCPServer.admitLate).
                        try child.syncOptions?.setOption(.autoRead, value: false)
                        try child.pipeline.syncOperations.addHandler(OverLimitHandler(server: server, remote: remote, handlers: handlers))
                        return
                    }
                    try server.admit(child, remote: remote, handlers: handlers)
                }
            }
        let channel: Channel
        do {
            channel = try await bootstrap.bind(host: options.host, port: options.port).get()
        } catch {
            throw TransportError("TCP \(options.host):\(options.port)", "cannot listen: \(error)")
        }
        let server = TCPServer(channel: channel, options: options)
        try await channel.eventLoop.submit { box.server = server }.get()
        return server
    }

    /// How long a connection over the limit waits before it is reset: a client that closes and
    /// reconnects at once must not be turned away because its FIN is read after the new SYN.
    static let overLimitGrace = TimeAmount.milliseconds(50)

    /// Serves `child` from now on. Event loop only.
    func admit(_ child: Channel, remote: SocketAddress, handlers: TCPServerHandlers) throws {
        connections[remote] = child
        tally.opened += 1
        try child.pipeline.syncOperations.addHandler(ConnectionHandler(server: self, remote: remote, handlers: handlers))
    }

    /// Connections so far (safe from any thread).
    public func counts() async -> TCPConnectionCounts {
        (try? await channel.eventLoop.submit { self.tally }.get()) ?? tally
    }

    /// Writes to a connected client; false when it is gone or not taking data (the reply is dropped,
    /// so a client that never reads cannot make the server queue without bound). Event loop only.
    @discardableResult
    public func write(_ bytes: [UInt8], to client: SocketAddress) -> Bool {
        guard let c = connections[client], c.isActive, c.isWritable else { return false }
        c.writeAndFlush(c.allocator.buffer(bytes: bytes), promise: nil)
        return true
    }

    /// Stops listening and closes every connection (their `onClosed` handlers run).
    public func close() async {
        try? await channel.close().get()
        let open = (try? await channel.eventLoop.submit { Array(self.connections.values) }.get()) ?? []
        for c in open { try? await c.close().get() }
    }
}

/// Set once the listening socket exists; read by connections accepted later.
private final class ServerBox: @unchecked Sendable {
    var server: TCPServer?
}

/// A connection over the limit. After `TCPServer.overLimitGrace` it is admitted if a place
/// has come free meanwhile, else closed with a reset rather than a FIN (SO_LINGER on with a
/// zero timeout), so the client sees ECONNRESET, as from a controller one client holds.
private final class OverLimitHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    let server: TCPServer
    let remote: SocketAddress
    let handlers: TCPServerHandlers

    init(server: TCPServer, remote: SocketAddress, handlers: TCPServerHandlers) {
        self.server = server; self.remote = remote; self.handlers = handlers
    }

    func channelActive(context: ChannelHandlerContext) {
        let channel = context.channel
        let (server, remote, handlers) = (server, remote, handlers)
        context.eventLoop.scheduleTask(in: TCPServer.overLimitGrace) { [self] in
            guard channel.isActive else { return }
            if server.connections.count < server.options.maximumConnections {
                do {
                    try server.admit(channel, remote: remote, handlers: handlers)
                    channel.pipeline.syncOperations.removeHandler(self, promise: nil)
                    try channel.syncOptions?.setOption(.autoRead, value: true)
                    channel.read()
                } catch {
                    channel.close(promise: nil)
                }
                return
            }
            server.tally.refused += 1
            guard let provider = channel as? SocketOptionProvider else { channel.close(promise: nil); return }
            provider.setSoLinger(linger(l_onoff: 1, l_linger: 0)).whenComplete { _ in channel.close(promise: nil) }
        }
    }
}

/// One client connection: reads go straight to the caller; errors end the stream as a reset.
private final class ConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let server: TCPServer
    let remote: SocketAddress
    let handlers: TCPServerHandlers
    var failed = false

    init(server: TCPServer, remote: SocketAddress, handlers: TCPServerHandlers) {
        self.server = server; self.remote = remote; self.handlers = handlers
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        handlers.onData(unwrapInboundIn(data), remote)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        handlers.onReadComplete()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        failed = true
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        server.connections[remote] = nil
        if failed { server.tally.reset += 1 } else { server.tally.closed += 1 }
        handlers.onClosed(remote, failed)
        handlers.onReadComplete()
    }
}
