import PanelCore

/// Writes one TCP connection into a pcap as IPv4 segments, as a capture of it would show:
/// the three-way handshake, the client's bytes in segments of at most `segmentSize` (each
/// acknowledged by the server), then FIN from both sides. Sequence numbers wrap as TCP's do.
public final class PcapTCPStream {
    public let writer: PcapWriter
    public let client: Endpoint
    public let server: Endpoint
    public let segmentSize: Int
    private let clientIP: [UInt8]
    private let serverIP: [UInt8]
    private var clientSeq: UInt32 = 0x1000_0000
    private var serverSeq: UInt32 = 0x2000_0000
    private var identification: UInt16 = 1

    /// TCP flag bits.
    enum Flag {
        static let fin: UInt8 = 0x01, syn: UInt8 = 0x02, psh: UInt8 = 0x08, ack: UInt8 = 0x10
    }

    public init(writer: PcapWriter, client: Endpoint, server: Endpoint, segmentSize: Int = 1460) throws(CaptureError) {
        guard let c = IPAddressText.parseIPv4(client.address), let s = IPAddressText.parseIPv4(server.address) else {
            throw CaptureError(kind: .invalidArgument, path: writer.path, message: "TCP streams are written for IPv4 endpoints only (\(client.address), \(server.address))")
        }
        self.writer = writer; self.client = client; self.server = server
        self.segmentSize = max(1, min(segmentSize, 65_495))
        clientIP = c; serverIP = s
    }

    /// SYN, SYN-ACK, ACK.
    public func open(time: Timestamp) throws(CaptureError) {
        try segment(time, fromClient: true, flags: Flag.syn, payload: [])
        clientSeq &+= 1
        try segment(time, fromClient: false, flags: Flag.syn | Flag.ack, payload: [])
        serverSeq &+= 1
        try segment(time, fromClient: true, flags: Flag.ack, payload: [])
    }

    /// The client's next bytes, split into segments, each acknowledged by the server.
    public func send(time: Timestamp, _ bytes: UnsafeRawBufferPointer) throws(CaptureError) {
        var i = 0
        while i < bytes.count {
            let n = min(segmentSize, bytes.count - i)
            try segment(time, fromClient: true, flags: Flag.psh | Flag.ack, payload: Array(bytes[i..<(i + n)]))
            clientSeq &+= UInt32(n)
            try segment(time, fromClient: false, flags: Flag.ack, payload: [])
            i += n
        }
    }

    /// FIN from the client, FIN-ACK from the server, the client's last ACK.
    public func close(time: Timestamp) throws(CaptureError) {
        try segment(time, fromClient: true, flags: Flag.fin | Flag.ack, payload: [])
        clientSeq &+= 1
        try segment(time, fromClient: false, flags: Flag.fin | Flag.ack, payload: [])
        serverSeq &+= 1
        try segment(time, fromClient: true, flags: Flag.ack, payload: [])
    }

    private func segment(_ time: Timestamp, fromClient: Bool, flags: UInt8, payload: [UInt8]) throws(CaptureError) {
        let (srcIP, dstIP) = fromClient ? (clientIP, serverIP) : (serverIP, clientIP)
        let (src, dst) = fromClient ? (client.port, server.port) : (server.port, client.port)
        let (seq, ack) = fromClient ? (clientSeq, serverSeq) : (serverSeq, clientSeq)
        let tcpLength = 20 + payload.count
        var packet: [UInt8] = [0x45, 0x00]
        packet.reserveCapacity(20 + tcpLength)
        FrameBuilder.append16(&packet, UInt16(truncatingIfNeeded: 20 + tcpLength))
        FrameBuilder.append16(&packet, identification)
        identification &+= 1
        packet += [0x40, 0x00, 64, 6, 0x00, 0x00]  // DF, TTL 64, TCP, checksum
        packet += srcIP
        packet += dstIP
        let headerChecksum = FrameBuilder.checksum(packet[0..<20])
        packet[10] = UInt8(headerChecksum >> 8)
        packet[11] = UInt8(headerChecksum & 0xFF)
        FrameBuilder.append16(&packet, src)
        FrameBuilder.append16(&packet, dst)
        FrameBuilder.append16(&packet, UInt16(truncatingIfNeeded: seq >> 16))
        FrameBuilder.append16(&packet, UInt16(truncatingIfNeeded: seq))
        let ackValue = flags == Flag.syn ? 0 : ack
        FrameBuilder.append16(&packet, UInt16(truncatingIfNeeded: ackValue >> 16))
        FrameBuilder.append16(&packet, UInt16(truncatingIfNeeded: ackValue))
        packet += [0x50, flags, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00]  // data offset 5, flags, window, checksum, urgent
        packet += payload
        var pseudo = srcIP + dstIP
        pseudo += [0, 6]
        FrameBuilder.append16(&pseudo, UInt16(truncatingIfNeeded: tcpLength))
        let tcpChecksum = FrameBuilder.checksum(packet[20...], seed: FrameBuilder.sum(pseudo[...]))
        packet[36] = UInt8(tcpChecksum >> 8)
        packet[37] = UInt8(tcpChecksum & 0xFF)
        try writer.writeIP(time: time, packet: packet)
    }
}
