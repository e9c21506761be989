import NIOCore
import NIOPosix
import NIOConcurrencyHelpers
#if canImport(Glibc)
import Glibc
#endif

/// How to open a UDP socket for a controller (serve) or a sender (send).
public struct UDPOptions: Sendable {
    public var host: String
    public var port: Int
    /// Socket receive buffer to ask for; as root SO_RCVBUFFORCE passes net.core.rmem_max.
    public var receiveBufferBytes: Int
    /// Interface to join multicast groups on and to send multicast from (never the default route).
    public var multicastInterface: String?
    /// Datagrams read per system call (recvmmsg).
    public var vectorReadCount: Int
    /// Send runs of equal-sized datagrams to one destination as one UDP segmentation offload
    /// (GSO) write of up to 64 segments, where Linux offers it: the datagrams on the wire are
    /// the same, the kernel's cost per datagram falls several times (a loopback frame of 1,412
    /// Art-Net datagrams: 6.7 ms with sendmmsg, 1.0 ms with GSO, measured here). A capture taken
    /// on the sending host shows each run as one large packet, so plain `send` leaves it off.
    public var segmentationOffload: Bool

    public init(host: String, port: Int, receiveBufferBytes: Int = 16 << 20, multicastInterface: String? = nil, vectorReadCount: Int = 64,
                segmentationOffload: Bool = false) {
        self.host = host; self.port = port; self.receiveBufferBytes = receiveBufferBytes
        self.multicastInterface = multicastInterface; self.vectorReadCount = vectorReadCount
        self.segmentationOffload = segmentationOffload && System.supportsUDPSegmentationOffload
    }
}

/// Why a transport could not start: names the address and the system's reason.
public struct TransportError: Error, CustomStringConvertible, Sendable {
    public var what: String
    public var reason: String
    public init(_ what: String, _ reason: String) { self.what = what; self.reason = reason }
    public var description: String { "\(what): \(reason)" }
}

/// The largest datagram PanelSim reads whole; longer ones are cut (and the protocol's
/// decoder rejects them by their own length fields).
public let maximumDatagramSize = 9216

/// A bound UDP socket on SwiftNIO. Received datagrams go to the handler given at bind time,
/// on the socket's event loop; `onBatchEnd` runs after each read burst, which is where the
/// caller flushes replies and frame events.
public final class UDPEndpoint: @unchecked Sendable {
    public let channel: Channel
    public let options: UDPOptions
    /// The receive buffer the kernel granted (bytes).
    public let receiveBufferBytes: Int
    private let interface: NIONetworkDevice?

    /// Messages that arrived as several datagrams coalesced by receive offload (and were cut apart).
    public var coalescedMessages: Int { handler.coalescedMessages.withLockedValue { $0 } }
    private let handler: DatagramHandler

    init(channel: Channel, options: UDPOptions, receiveBufferBytes: Int, interface: NIONetworkDevice?, handler: DatagramHandler) {
        self.handler = handler
        self.channel = channel
        self.options = options
        self.receiveBufferBytes = receiveBufferBytes
        self.interface = interface
        localHost = channel.localAddress?.ipAddress ?? options.host
        localPort = channel.localAddress?.port ?? options.port
    }

    /// The address the socket is bound to (port 0 resolved to the real port); kept after close.
    public let localHost: String
    public let localPort: Int

    /// Opens and binds the socket.
    public static func bind(group: EventLoopGroup, options: UDPOptions,
                            onDatagram: @escaping (ByteBuffer, SocketAddress) -> Void,
                            onBatchEnd: @escaping () -> Void = {}) async throws -> UDPEndpoint {
        var device: NIONetworkDevice? = nil
        if let name = options.multicastInterface {
            let devices = try System.enumerateDevices()
            guard let d = devices.first(where: { $0.name == name && $0.address?.protocol == .inet }) ?? devices.first(where: { $0.name == name }) else {
                throw TransportError("interface \(name)", "no such network interface (have: \(Set(devices.map(\.name)).sorted().joined(separator: ", ")))")
            }
            device = d
        }
        let handler = DatagramHandler(onDatagram: onDatagram, onBatchEnd: onBatchEnd)
        // With receive offload (UDP_GRO) the kernel hands over a run of equal-sized datagrams
        // of one sender's segmentation-offload write as one message of up to 64 KiB, which the
        // handler cuts back into its datagrams: one copy to user space per run instead of per
        // datagram. Each message then needs room for 64 KiB, so fewer are read per call.
        let offload = System.supportsUDPReceiveOffload
        let messageSize = offload ? 65_536 : maximumDatagramSize
        let count = max(1, offload ? (options.vectorReadCount + 7) / 8 : options.vectorReadCount)
        // Address reuse only for multicast receivers (several may share a group's port); a
        // unicast bind must fail when the port is taken, not silently share it.
        let bootstrap = DatagramBootstrap(group: group)
            .channelOption(.socketOption(.so_reuseaddr), value: options.multicastInterface == nil ? 0 : 1)
            .channelOption(.datagramVectorReadMessageCount, value: count)
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: count * messageSize))
            .channelOption(.maxMessagesPerRead, value: 16)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(handler) }
            }
        let channel: Channel
        do {
            channel = try await bootstrap.bind(host: options.host, port: options.port).get()
        } catch {
            throw TransportError("UDP \(options.host):\(options.port)", "cannot bind: \(error)")
        }
        if offload {
            // Offload only with the segment size reported, so that coalesced datagrams can be
            // cut apart; a system refusing either keeps datagrams one by one.
            let on: Void? = try? await channel.setOption(.datagramReceiveOffload, value: true).get()
            if on != nil, (try? await channel.setOption(.datagramReceiveSegmentSize, value: true).get()) == nil {
                _ = try? await channel.setOption(.datagramReceiveOffload, value: false).get()
            }
        }
        // SO_RCVBUFFORCE (Linux, needs CAP_NET_ADMIN) first, then the capped SO_RCVBUF.
        let forced: Void? = try? await channel.setOption(.socket(SocketOptionLevel(SOL_SOCKET), SocketOptionName(33)), value: SocketOptionValue(options.receiveBufferBytes)).get()
        if forced == nil {
            _ = try? await channel.setOption(.socketOption(.so_rcvbuf), value: SocketOptionValue(options.receiveBufferBytes)).get()
        }
        let granted = (try? await channel.getOption(.socketOption(.so_rcvbuf)).get()).map { Int($0) } ?? 0
        if let d = device, case .v4(let v4)? = d.address, let provider = channel as? SocketOptionProvider {
            // Multicast we send leaves only through the named interface.
            try? await provider.setIPMulticastIF(v4.address.sin_addr).get()
            try? await provider.setIPMulticastLoop(1).get()
        }
        return UDPEndpoint(channel: channel, options: options, receiveBufferBytes: granted, interface: device, handler: handler)
    }

    /// Joins a multicast group on the configured interface (no-op without one), with
    /// IP_ADD_MEMBERSHIP by interface index, which also works on `lo` (no MULTICAST flag there,
    /// so NIO's own joinGroup refuses it). Linux allows `igmp_max_memberships` (20) groups per
    /// socket; further groups are joined by extra membership-only sockets: the kernel then
    /// delivers those groups' datagrams to this socket too (IP_MULTICAST_ALL).
    public func join(group: String) async throws {
        guard let device = interface else { return }
        guard let provider = channel as? SocketOptionProvider else { throw TransportError("multicast \(group)", "socket cannot join groups") }
        var groupAddress = in_addr()
        guard inet_pton(AF_INET, group, &groupAddress) == 1 else { throw TransportError("multicast \(group)", "not an IPv4 group address") }
        var request = ip_mreqn()
        request.imr_multiaddr = groupAddress
        request.imr_ifindex = CInt(device.interfaceIndex)
        do {
            try await provider.unsafeSetSocketOption(level: SocketOptionLevel(IPPROTO_IP), name: SocketOptionName(IP_ADD_MEMBERSHIP), value: request).get()
            return
        } catch let e as IOError where e.errnoCode == ENOBUFS {
            // This socket holds all the memberships it may: use a membership socket.
        } catch {
            throw TransportError("multicast \(group) on \(device.name)", "\(error)")
        }
        try memberships.withLockedValue { holders in
            if let last = holders.last, last.count < 20, setsockopt(last.fd, CInt(IPPROTO_IP), IP_ADD_MEMBERSHIP, &request, socklen_t(MemoryLayout<ip_mreqn>.size)) == 0 {
                holders[holders.count - 1].count += 1
                return
            }
            let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            guard fd >= 0 else { throw TransportError("multicast \(group)", "cannot open a membership socket: errno \(errno)") }
            guard setsockopt(fd, CInt(IPPROTO_IP), IP_ADD_MEMBERSHIP, &request, socklen_t(MemoryLayout<ip_mreqn>.size)) == 0 else {
                let err = errno
                _ = Glibc.close(fd)
                throw TransportError("multicast \(group) on \(device.name)", "IP_ADD_MEMBERSHIP failed: errno \(err)")
            }
            holders.append(MembershipSocket(fd: fd, count: 1))
        }
    }

    struct MembershipSocket { var fd: CInt; var count: Int }
    private let memberships = NIOLockedValueBox<[MembershipSocket]>([])

    /// Queues a datagram; call on the event loop. `flush()` sends queued datagrams (sendmmsg).
    /// With `segmentationOffload`, equal-sized datagrams to one destination are gathered into
    /// one GSO write (a shorter one may end a run); the promise covers the run it starts.
    public func write(_ bytes: UnsafeRawBufferPointer, to destination: SocketAddress, promise: EventLoopPromise<Void>? = nil) {
        guard options.segmentationOffload else {
            var buffer = channel.allocator.buffer(capacity: bytes.count)
            buffer.writeBytes(bytes)
            channel.write(AddressedEnvelope(remoteAddress: destination, data: buffer), promise: promise)
            return
        }
        if var run = pendingRun, run.destination == destination, promise == nil, bytes.count <= run.segmentSize,
           run.count < UDPEndpoint.maxSegments, run.buffer.readableBytes + bytes.count <= UDPEndpoint.maxRunBytes {
            pendingRun = nil  // the run's buffer has one owner while it grows (no copy on write)
            run.buffer.writeBytes(bytes)
            run.count += 1
            pendingRun = run
            if bytes.count < run.segmentSize { sendPendingRun() }  // a shorter datagram ends the run
            return
        }
        sendPendingRun()
        guard bytes.count > 0 else {
            channel.write(AddressedEnvelope(remoteAddress: destination, data: channel.allocator.buffer(capacity: 0)), promise: promise)
            return
        }
        var buffer = channel.allocator.buffer(capacity: min(UDPEndpoint.maxRunBytes, bytes.count * UDPEndpoint.maxSegments))
        buffer.writeBytes(bytes)
        pendingRun = PendingRun(destination: destination, buffer: buffer, segmentSize: bytes.count, count: 1, promise: promise)
    }

    public func flush() {
        sendPendingRun()
        channel.flush()
    }

    /// Datagrams gathered for one GSO write (event loop only).
    private struct PendingRun {
        var destination: SocketAddress
        var buffer: ByteBuffer
        var segmentSize: Int
        var count: Int
        var promise: EventLoopPromise<Void>?
    }
    private var pendingRun: PendingRun?
    /// The kernel takes at most 64 segments (UDP_MAX_SEGMENTS on older kernels) and 64 KiB per write.
    static let maxSegments = 64
    static let maxRunBytes = 65_000

    private func sendPendingRun() {
        guard let run = pendingRun else { return }
        pendingRun = nil
        let metadata = AddressedEnvelope<ByteBuffer>.Metadata(ecnState: .transportNotCapable, packetInfo: nil,
                                                              segmentSize: run.count > 1 ? run.segmentSize : nil)
        channel.write(AddressedEnvelope(remoteAddress: run.destination, data: run.buffer, metadata: metadata), promise: run.promise)
    }

    public var isWritable: Bool { channel.isWritable }

    public func close() async {
        try? await channel.close().get()
        memberships.withLockedValue { holders in
            for h in holders { _ = Glibc.close(h.fd) }
            holders.removeAll()
        }
    }

    /// Datagrams the kernel dropped on this socket for lack of buffer space, from
    /// /proc/net/udp (nil where unavailable).
    public func kernelDrops() -> Int? {
        KernelCounters.socketDrops(localPort: localPort)
    }
}

/// Kernel statistics read from /proc (Linux).
public enum KernelCounters {
    /// The `drops` column of /proc/net/udp and /proc/net/udp6 for sockets on a local port.
    public static func socketDrops(localPort: Int) -> Int? {
        socketDrops(localPorts: [localPort])[localPort]
    }

    /// The same for several local ports, reading /proc once: port → drops (ports with no
    /// socket, or no /proc, are absent).
    public static func socketDrops(localPorts: Set<Int>) -> [Int: Int] {
        var totals: [Int: Int] = [:]
        guard !localPorts.isEmpty else { return totals }
        for path in ["/proc/net/udp", "/proc/net/udp6"] {
            guard let text = readFile(path) else { continue }
            for line in text.split(separator: "\n").dropFirst() {
                let cols = line.split(separator: " ", omittingEmptySubsequences: true)
                guard cols.count >= 13, let colon = cols[1].lastIndex(of: ":"),
                      let port = Int(cols[1][cols[1].index(after: colon)...], radix: 16), localPorts.contains(port),
                      let drops = Int(cols[cols.count - 1]) else { continue }
                totals[port, default: 0] += drops
            }
        }
        return totals
    }

    /// UDP RcvbufErrors from /proc/net/snmp (system-wide).
    public static func udpReceiveBufferErrors() -> Int? {
        guard let text = readFile("/proc/net/snmp") else { return nil }
        let lines = text.split(separator: "\n").filter { $0.hasPrefix("Udp:") }
        guard lines.count >= 2 else { return nil }
        let names = lines[0].split(separator: " "), values = lines[1].split(separator: " ")
        guard let i = names.firstIndex(of: "RcvbufErrors"), i < values.count else { return nil }
        return Int(values[i])
    }

    static func readFile(_ path: String) -> String? {
        guard let f = fopen(path, "r") else { return nil }
        defer { fclose(f) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, 65536, f) }
            if n <= 0 { break }
            out.append(contentsOf: chunk[0..<n])
            if out.count > 64 << 20 { break }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

final class DatagramHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    let onDatagram: (ByteBuffer, SocketAddress) -> Void
    let onBatchEnd: () -> Void
    let coalescedMessages = NIOLockedValueBox(0)

    init(onDatagram: @escaping (ByteBuffer, SocketAddress) -> Void, onBatchEnd: @escaping () -> Void) {
        self.onDatagram = onDatagram
        self.onBatchEnd = onBatchEnd
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        guard let size = envelope.metadata?.segmentSize, size > 0, envelope.data.readableBytes > size else {
            onDatagram(envelope.data, envelope.remoteAddress)
            return
        }
        // Datagrams the kernel coalesced (receive offload): every one `size` bytes, the last shorter.
        coalescedMessages.withLockedValue { $0 += 1 }
        var rest = envelope.data
        while rest.readableBytes > 0, let datagram = rest.readSlice(length: min(size, rest.readableBytes)) {
            onDatagram(datagram, envelope.remoteAddress)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        onBatchEnd()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // A datagram socket error (e.g. ICMP port unreachable on a reply) is not fatal.
    }
}

/// This host's IPv4 addresses, for protocols that report their own address (ArtPollReply).
public enum LocalAddresses {
    /// The IPv4 address a node bound to `host` should report: `host` itself when it is a
    /// unicast address; for a wildcard bind, the named interface's address, else the first
    /// non-loopback interface's, else 127.0.0.1.
    public static func reported(forBind host: String, interface: String?) -> [UInt8] {
        if let bytes = dotted(host), bytes != [0, 0, 0, 0] { return bytes }
        let devices = (try? System.enumerateDevices()) ?? []
        let v4 = devices.compactMap { d -> (String, [UInt8])? in
            guard case .v4(let a)? = d.address, let bytes = dotted(a.host) else { return nil }
            return (d.name, bytes)
        }
        if let name = interface, let match = v4.first(where: { $0.0 == name }) { return match.1 }
        if let other = v4.first(where: { $0.1.first != 127 }) { return other.1 }
        return [127, 0, 0, 1]
    }

    static func dotted(_ s: String) -> [UInt8]? {
        let parts = s.split(separator: ".").compactMap { UInt8($0) }
        return parts.count == 4 && s.split(separator: ".").count == 4 ? parts : nil
    }
}
