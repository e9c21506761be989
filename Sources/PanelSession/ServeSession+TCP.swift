import NIOCore
import PanelCore
import PanelDevice
import PanelNet

/// Serving controllers whose protocol travels over TCP (`carrier: .tcp`, e.g. OPC): one
/// listening socket per address, every client's stream handed to the models on the
/// session's event loop with the client as its source.
extension ServeSession {
    /// Listens for a TCP port's clients.
    func bindTCP(_ p: Port, host: String, port: Int) async throws {
        let handlers = TCPServerHandlers(
            onData: { [self] buffer, address in receive(buffer, from: address, port: p) },
            onReadComplete: { [self] in drain(p) },
            onClosed: { address, _ in
                let source = PacketSource(address: address.ipAddress ?? "?", port: UInt16(truncatingIfNeeded: address.port ?? 0))
                let now = ServeSession.now()
                for c in p.controllers { c.model.streamEnded(from: source, at: now) }
            })
        let server: TCPServer
        do {
            server = try await TCPServer.bind(group: group, options: TCPServerOptions(host: host, port: port), handlers: handlers)
        } catch {
            throw RunFailure("\(p.controllers[0].config.name): \(error)")
        }
        try await loop.submit { p.tcp = server }.get()
        if options.pcapPath != nil {
            logger.warning("\(p.controllers[0].config.name): --pcap records UDP datagrams only; TCP streams are not written to it yet")
        }
        logger.info("\(p.controllers.map(\.config.name).joined(separator: ", ")): \(p.plugin.displayName) on tcp \(server.localHost):\(server.localPort)")
    }

    /// Sends a model's replies to the clients they name; replies to clients that are gone are dropped.
    func writeTCP(_ replies: [DeviceReply], to server: TCPServer) {
        for r in replies {
            guard let address = try? SocketAddress(ipAddress: r.destination.address, port: Int(r.destination.port)) else { continue }
            server.write(r.bytes, to: address)
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
