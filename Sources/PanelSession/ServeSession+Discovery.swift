import NIOCore
import PanelDevice
import PanelNet

/// Discovery services of controllers whose plugin names a `discoveryPort` (NovaStar: UDP
/// 3800, "rqProMI:" answered "rpProMI:…"). Each such controller listens on a UDP socket of
/// its own beside its transport and answers only the sender of a request, never a broadcast.
/// Where: the `discovery` option's HOST:PORT; by default the TCP address's host on the
/// plugin's port (any free port when the TCP port is 0, as in tests); off for serial lines
/// unless HOST:PORT is given, and with `discovery: off`.
extension ServeSession {
    /// The address a controller's discovery listens on, nil when it has none.
    static func discoveryAddress(_ c: ControllerConfig) -> (host: String, port: Int)? {
        guard let standard = c.plugin.discoveryPort else { return nil }
        let option = c.options["discovery"] ?? "on"
        if option == "off" { return nil }
        if option != "on" { return HostPort.parse(option, defaultPort: Int(standard)) }
        guard case let .tcp(host, port) = c.transport else { return nil }
        return (host, port == 0 ? 0 : Int(standard))
    }

    /// Binds the discovery socket of every controller that has one.
    func bindDiscovery() async throws {
        for p in ports {
            for c in p.controllers {
                guard let (host, port) = ServeSession.discoveryAddress(c.config) else { continue }
                let endpoint: UDPEndpoint
                do {
                    endpoint = try await UDPEndpoint.bind(group: group, options: UDPOptions(host: host, port: port, receiveBufferBytes: 64 << 10),
                        onDatagram: { [self] buffer, address in answerDiscovery(buffer, from: address, controller: c) },
                        onBatchEnd: { [self] in discoveryEndpoints[ObjectIdentifier(c)]?.flush() })
                } catch {
                    throw RunFailure("\(c.config.name): discovery: \(error); set options.discovery to another HOST:PORT, or off")
                }
                try await loop.submit { [self] in discoveryEndpoints[ObjectIdentifier(c)] = endpoint }.get()
                logger.info("\(c.config.name): discovery on udp \(endpoint.localHost):\(endpoint.localPort)")
            }
        }
    }

    private func answerDiscovery(_ buffer: ByteBuffer, from address: SocketAddress, controller c: Controller) {
        let source = PacketSource(address: address.ipAddress ?? "?", port: UInt16(truncatingIfNeeded: address.port ?? 0))
        let answer = buffer.withUnsafeReadableBytes { c.model.answerDiscovery($0, from: source, at: ServeSession.now()) }
        guard let bytes = answer, let e = discoveryEndpoints[ObjectIdentifier(c)] else { return }
        bytes.withUnsafeBytes { e.write($0, to: address) }
    }

    /// Ready-file entries of the discovery sockets.
    func discoveryReadyEntries() -> [JSONValue] {
        ports.flatMap(\.controllers).compactMap { c in
            guard let e = discoveryEndpoints[ObjectIdentifier(c)] else { return nil }
            return .object(["controller": .string(c.config.name), "protocol": .string(c.config.plugin.name),
                            "transport": .string("udp-discovery"), "address": .string(e.localHost), "port": .int(e.localPort)])
        }
    }

    /// Closes the discovery sockets.
    func closeDiscovery() async {
        let endpoints = (try? await loop.submit { Array(self.discoveryEndpoints.values) }.get()) ?? []
        for e in endpoints { await e.close() }
    }
}
