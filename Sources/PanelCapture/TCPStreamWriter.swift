import PanelCore

/// Writes TCP conversations into a capture as the segments a real exchange would have put on
/// the wire: a handshake when a connection opens, data in segments of at most 1,460 bytes with
/// running sequence and acknowledgement numbers, FIN (or RST) when it closes. Wireshark's
/// "Follow TCP Stream" and PanelSim's own reassembly read back the bytes written. IPv4 only.
/// Used by `serve --pcap` and `send --pcap` for stream protocols.
public final class TCPStreamWriter {
    /// Bytes of one segment at most (an Ethernet MTU's worth).
    public static let segmentSize = 1460

    struct Connection {
        var client: Endpoint
        var server: Endpoint
        var clientIP: [UInt8]
        var serverIP: [UInt8]
        /// Next sequence number of each side.
        var clientNext: UInt32
        var serverNext: UInt32
    }

    private let writer: PcapWriter
    private var connections: [Int: Connection] = [:]
    private var nextID = 1
    private var identification: UInt16 = 1

    /// Writes into `writer`, which must have a link type `PcapWriter.writeIP` supports.
    public init(writer: PcapWriter) { self.writer = writer }

    /// Starts a connection (SYN, SYN-ACK, ACK at `time`) and returns its number. Both
    /// endpoints must be IPv4 addresses.
    public func open(client: Endpoint, server: Endpoint, time: Timestamp) throws(CaptureError) -> Int {
        guard let clientIP = IPAddressText.parseIPv4(client.address), let serverIP = IPAddressText.parseIPv4(server.address) else {
            throw CaptureError(kind: .invalidArgument, path: writer.path, message: "TCP in a capture needs IPv4 endpoints, not \(client) → \(server)")
        }
        // Initial sequence numbers derived from the ports, so a capture is reproducible.
        var c = Connection(client: client, server: server, clientIP: clientIP, serverIP: serverIP,
                           clientNext: 1_000_000 &+ UInt32(client.port) &* 7, serverNext: 2_000_000 &+ UInt32(server.port) &* 13)
        let id = nextID
        nextID += 1
        try segment(&c, fromClient: true, flags: Flags.syn, payload: [], time: time)
        try segment(&c, fromClient: false, flags: Flags.syn | Flags.ack, payload: [], time: time)
        try segment(&c, fromClient: true, flags: Flags.ack, payload: [], time: time)
        connections[id] = c
        return id
    }

    /// Bytes one side sent, split into segments. Unknown connection numbers are an error.
    public func write(connection id: Int, fromClient: Bool, bytes: UnsafeRawBufferPointer, time: Timestamp) throws(CaptureError) {
        guard var c = connections[id] else {
            throw CaptureError(kind: .invalidArgument, path: writer.path, message: "no open TCP connection \(id)")
        }
        var start = 0
        while start < bytes.count {
            let end = min(bytes.count, start + Self.segmentSize)
            try segment(&c, fromClient: fromClient, flags: Flags.ack | Flags.push, payload: Array(bytes[start..<end]), time: time)
            start = end
        }
        connections[id] = c
    }

    /// Ends a connection: FIN from the closing side answered by the other's FIN (or one RST).
    public func close(connection id: Int, byClient: Bool, reset: Bool = false, time: Timestamp) throws(CaptureError) {
        guard var c = connections.removeValue(forKey: id) else { return }
        if reset {
            try segment(&c, fromClient: byClient, flags: Flags.rst | Flags.ack, payload: [], time: time)
            return
        }
        try segment(&c, fromClient: byClient, flags: Flags.fin | Flags.ack, payload: [], time: time)
        try segment(&c, fromClient: !byClient, flags: Flags.fin | Flags.ack, payload: [], time: time)
        try segment(&c, fromClient: byClient, flags: Flags.ack, payload: [], time: time)
    }

    enum Flags {
        static let fin: UInt8 = 0x01, syn: UInt8 = 0x02, rst: UInt8 = 0x04, push: UInt8 = 0x08, ack: UInt8 = 0x10
    }

    private func segment(_ c: inout Connection, fromClient: Bool, flags: UInt8, payload: [UInt8], time: Timestamp) throws(CaptureError) {
        let sequence = fromClient ? c.clientNext : c.serverNext
        let acknowledgement = flags & Flags.ack != 0 ? (fromClient ? c.serverNext : c.clientNext) : 0
        let packet = FrameBuilder.ipv4TCP(source: fromClient ? c.clientIP : c.serverIP, sourcePort: fromClient ? c.client.port : c.server.port,
                                          destination: fromClient ? c.serverIP : c.clientIP,
                                          destinationPort: fromClient ? c.server.port : c.client.port,
                                          sequence: sequence, acknowledgement: acknowledgement, flags: flags,
                                          identification: identification, payload: payload)
        identification &+= 1
        // SYN and FIN take one sequence number each.
        let advance = UInt32(payload.count) &+ (flags & (Flags.syn | Flags.fin) != 0 ? 1 : 0)
        if fromClient { c.clientNext &+= advance } else { c.serverNext &+= advance }
        try writer.writeIP(time: time, packet: packet)
    }
}
