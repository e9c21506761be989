import Foundation
import NIOCore
import PanelCapture
import PanelCore
import PanelDevice
import PanelNet

/// Serving controllers whose protocol travels over TCP (`carrier: .tcp`, e.g. OPC): one
/// listening socket per address, every client's stream handed to the models on the
/// session's event loop with the client as its source. A model's `streamClientLimit`
/// (NovaStar: one client holds the card) caps the clients; the next one is reset.
extension ServeSession {
    /// Listens for a TCP port's clients.
    func bindTCP(_ p: Port, host: String, port: Int) async throws {
        let handlers = TCPServerHandlers(
            onData: { [self] buffer, address in
                if let capture = tcpCapture {
                    let bytes = Array(buffer.readableBytesView)
                    pcapQueue.async { [self] in if !capture.write(bytes, client: address, fromClient: true) { pcapErrors += 1 } }
                }
                receive(buffer, from: address, port: p)
            },
            onReadComplete: { [self] in drain(p) },
            onClosed: { [self] address, reset in
                let source = PacketSource(address: address.ipAddress ?? "?", port: UInt16(truncatingIfNeeded: address.port ?? 0))
                let now = ServeSession.now()
                for c in p.controllers { c.model.streamEnded(from: source, at: now) }
                if let capture = tcpCapture { pcapQueue.async { [self] in if !capture.close(client: address, reset: reset) { pcapErrors += 1 } } }
            })
        let server: TCPServer
        do {
            var options = TCPServerOptions(host: host, port: port)
            if let limit = p.controllers.compactMap({ $0.model.streamClientLimit }).min() { options.maximumConnections = limit }
            server = try await TCPServer.bind(group: group, options: options, handlers: handlers)
        } catch {
            throw RunFailure("\(p.controllers[0].config.name): \(error)")
        }
        try await loop.submit { p.tcp = server }.get()
        if let w = pcap, tcpCapture == nil {
            tcpCapture = TCPCapture(writer: w, server: Endpoint(address: server.localHost, port: UInt16(truncatingIfNeeded: server.localPort)))
        }
        logger.info("\(p.controllers.map(\.config.name).joined(separator: ", ")): \(p.plugin.displayName) on tcp \(server.localHost):\(server.localPort)")
    }

    /// Sends a model's replies to the clients they name; replies to clients that are gone are dropped.
    func writeTCP(_ replies: [DeviceReply], to server: TCPServer) {
        for r in replies {
            guard let address = try? SocketAddress(ipAddress: r.destination.address, port: Int(r.destination.port)) else { continue }
            server.write(r.bytes, to: address)
            if let capture = tcpCapture {
                pcapQueue.async { [self] in if !capture.write(r.bytes, client: address, fromClient: false) { pcapErrors += 1 } }
            }
        }
    }

    /// Ready-file entries of a TCP port.
    func tcpListening(_ p: Port, _ server: TCPServer) -> [JSONValue] {
        p.controllers.map { c in
            .object(["controller": .string(c.config.name), "protocol": .string(c.config.plugin.name),
                     "transport": .string("tcp"), "address": .string(server.localHost), "port": .int(server.localPort)])
        }
    }

    /// Stops listening and closes every client (their streams end in the models); the
    /// connection counts of each TCP port.
    func closeTCP() async -> [ObjectIdentifier: TCPConnectionCounts] {
        var counts: [ObjectIdentifier: TCPConnectionCounts] = [:]
        let servers = (try? await loop.submit { self.ports.compactMap { p in p.tcp.map { (p, $0) } } }.get()) ?? []
        for (p, server) in servers {
            await server.close()
            counts[ObjectIdentifier(p)] = await server.counts()
        }
        return counts
    }

    /// recording.json counters: connections opened, closed, reset and refused.
    static func count(_ k: TCPConnectionCounts, into counters: inout DeviceCounters) {
        counters.count("tcp-connections-opened", k.opened)
        counters.count("tcp-connections-closed", k.closed)
        counters.count("tcp-connections-reset", k.reset)
        if k.refused > 0 { counters.count("tcp-connections-refused", k.refused) }
    }
}

/// `serve --pcap` for TCP controllers: each client's conversation as TCP segments in the
/// session's capture (handshake at its first bytes, FIN or RST at its end), so Wireshark and
/// `panelsim replay` read the streams back. Used on the pcap queue only.
final class TCPCapture {
    private let streams: TCPStreamWriter
    private let server: Endpoint
    private var connections: [SocketAddress: Int] = [:]

    init(writer: PcapWriter, server: Endpoint) {
        streams = TCPStreamWriter(writer: writer)
        self.server = server
    }

    private static func now() -> Timestamp { Timestamp(nanoseconds: Int64(Date().timeIntervalSince1970 * 1e9)) }

    /// False when the bytes could not be written (counted by the caller).
    func write(_ bytes: [UInt8], client: SocketAddress, fromClient: Bool) -> Bool {
        let time = TCPCapture.now()
        do {
            let id: Int
            if let known = connections[client] { id = known } else {
                id = try streams.open(client: Endpoint(address: client.ipAddress ?? "0.0.0.0", port: UInt16(truncatingIfNeeded: client.port ?? 0)),
                                      server: server, time: time)
                connections[client] = id
            }
            try bytes.withUnsafeBytes { try streams.write(connection: id, fromClient: fromClient, bytes: $0, time: time) }
            return true
        } catch {
            return false
        }
    }

    /// False when the end could not be written.
    func close(client: SocketAddress, reset: Bool) -> Bool {
        guard let id = connections.removeValue(forKey: client) else { return true }
        do { try streams.close(connection: id, byClient: true, reset: reset, time: TCPCapture.now()) } catch { return false }
        return true
    }
}
