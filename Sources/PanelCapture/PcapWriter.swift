import CPCAP
import PanelCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a pcap file (nanosecond timestamps) through libpcap, for `serve`'s session
/// capture and for synthesized traffic. Not thread-safe.
public final class PcapWriter {
    /// The file being written.
    public let path: String
    /// The DLT link type written into the file header.
    public let linkType: Int32
    /// Records longer than this are cut to it (the original length is kept).
    public let snapshotLength: Int
    /// Records written so far.
    public private(set) var recordsWritten: Int = 0

    private var pcap: OpaquePointer?
    private var dumper: OpaquePointer?
    private var nextIdentification: UInt16 = 1
    private let vlanTags: [UInt16]

    /// Creates (or truncates) `path`. `linkType` is a DLT value as `LinkLayer.linkType`
    /// gives it; the file value LINKTYPE_RAW (101) is accepted and written as raw IP.
    /// `vlanTags` (tag control information, outermost first, at most 2) are put in the
    /// Ethernet headers that `writeUDP` and `writeIP` synthesize: one tag as 802.1Q, two as
    /// 802.1ad + 802.1Q.
    public init(path: String, linkType: Int32 = LinkLayer.ethernet.linkType, snaplen: Int = 262_144,
                vlanTags: [UInt16] = []) throws(CaptureError) {
        self.path = path
        guard vlanTags.count <= PacketParser.maxVLANTags else {
            throw CaptureError(kind: .invalidArgument, path: path, message: "\(vlanTags.count) VLAN tags; at most \(PacketParser.maxVLANTags)")
        }
        self.vlanTags = vlanTags
        let dlt = linkType == 101 ? LinkLayer.rawIP.linkType : linkType
        self.linkType = dlt
        guard snaplen > 0, snaplen <= Int(Int32.max) else {
            throw CaptureError(kind: .invalidArgument, path: path, message: "snapshot length \(snaplen) out of range")
        }
        self.snapshotLength = snaplen
        guard let pcap = pcap_open_dead_with_tstamp_precision(dlt, Int32(snaplen), UInt32(PCAP_TSTAMP_PRECISION_NANO)) else {
            throw CaptureError(kind: .open, path: path, message: "libpcap cannot write link type \(linkType)")
        }
        guard let dumper = pcap_dump_open(pcap, path) else {
            let message = pcap_geterr(pcap).map { String(cString: $0) } ?? "cannot create file"
            pcap_close(pcap)
            throw CaptureError(kind: .open, path: path, message: message)
        }
        self.pcap = pcap
        self.dumper = dumper
    }

    deinit {
        if let dumper {
            pcap_dump_flush(dumper)
            pcap_dump_close(dumper)
        }
        if let pcap { pcap_close(pcap) }
    }

    /// Appends one record of raw link-layer bytes. Bytes beyond the snapshot length are
    /// not written; the record keeps the full length as its original length. `time`
    /// must lie in 1970…2106 (the pcap format's unsigned 32-bit seconds).
    public func write(time: Timestamp, bytes: [UInt8]) throws(CaptureError) {
        guard let dumper else {
            throw CaptureError(kind: .write, path: path, recordNumber: recordsWritten + 1, message: "writer is closed")
        }
        let recordNumber = recordsWritten + 1
        guard time.nanoseconds >= 0 else {
            throw CaptureError(kind: .invalidArgument, path: path, recordNumber: recordNumber,
                               message: "time \(time) is before 1970; pcap cannot store it")
        }
        let seconds = time.nanoseconds / 1_000_000_000
        let fraction = time.nanoseconds % 1_000_000_000
        guard seconds <= Int64(UInt32.max) else {
            throw CaptureError(kind: .invalidArgument, path: path, recordNumber: recordNumber,
                               message: "time \(time) is after 2106; pcap cannot store it")
        }
        guard bytes.count <= Int(UInt32.max) else {
            throw CaptureError(kind: .invalidArgument, path: path, recordNumber: recordNumber,
                               message: "record of \(bytes.count) bytes is too long")
        }
        var header = pcap_pkthdr()
        header.ts.tv_sec = time_t(seconds)
        header.ts.tv_usec = suseconds_t(fraction)  // nanoseconds: the dumper was opened with nano precision
        header.caplen = UInt32(min(bytes.count, snapshotLength))
        header.len = UInt32(bytes.count)
        bytes.withUnsafeBufferPointer { buffer in
            let user = UnsafeMutableRawPointer(dumper).assumingMemoryBound(to: UInt8.self)
            if let base = buffer.baseAddress {
                pcap_dump(user, &header, base)
            } else {
                var empty: UInt8 = 0
                pcap_dump(user, &header, &empty)
            }
        }
        if let file = pcap_dump_file(dumper), ferror(file) != 0 {
            throw CaptureError(kind: .write, path: path, recordNumber: recordNumber,
                               message: "write failed: \(String(cString: strerror(errno)))")
        }
        recordsWritten = recordNumber
    }

    /// Appends a UDP datagram, synthesizing the headers the file's link type needs (see
    /// `writeIP`). IPv4: no options, DF clear, TTL 64,
    /// correct header checksum. IPv6: hop limit 64. The UDP checksum is computed for both.
    /// Both endpoints must be of the same family. A payload larger than one datagram
    /// holds (65507 bytes over IPv4, 65527 over IPv6) is an error.
    public func writeUDP(time: Timestamp, source: Endpoint, destination: Endpoint, payload: [UInt8]) throws(CaptureError) {
        let frame = try udpFrame(source: source, destination: destination, payload: payload)
        try write(time: time, bytes: frame)
    }

    /// Appends a complete IPv4 or IPv6 packet (fragments and TCP included) with the link
    /// header the file's link type needs: Ethernet (locally administered MACs derived from
    /// the IP addresses, group MACs for multicast and broadcast, the writer's VLAN tags),
    /// Linux cooked v1 or v2, BSD NULL (little-endian) or LOOP, or none for raw IP. Other
    /// link types are an error: use `write(time:bytes:)`.
    public func writeIP(time: Timestamp, packet: [UInt8]) throws(CaptureError) {
        let frame = try linkFrame(packet)
        try write(time: time, bytes: frame)
    }

    /// `writeUDP` for a payload in raw memory.
    public func writeUDP(time: Timestamp, source: Endpoint, destination: Endpoint, payload: UnsafeRawBufferPointer) throws(CaptureError) {
        let frame = try udpFrame(source: source, destination: destination, payload: payload)
        try write(time: time, bytes: frame)
    }

    /// Flushes and closes the file. Throws when the flush fails (a full disk, …). Calling
    /// it again does nothing; `write` after `close` throws.
    public func close() throws(CaptureError) {
        guard let dumper else { return }
        let flushed = pcap_dump_flush(dumper)
        let file = pcap_dump_file(dumper)
        let failed = flushed != 0 || (file.map { ferror($0) != 0 } ?? false)
        let reason = failed ? String(cString: strerror(errno)) : ""
        pcap_dump_close(dumper)
        self.dumper = nil
        if let pcap { pcap_close(pcap) }
        self.pcap = nil
        if failed {
            throw CaptureError(kind: .write, path: path, message: "flush failed: \(reason)")
        }
    }

    private func udpFrame<C: Collection>(source: Endpoint, destination: Endpoint, payload: C) throws(CaptureError) -> [UInt8] where C.Element == UInt8 {
        let recordNumber = recordsWritten + 1
        let packet: [UInt8]
        if let sourceIP = IPAddressText.parseIPv4(source.address) {
            guard let destinationIP = IPAddressText.parseIPv4(destination.address) else {
                throw CaptureError(kind: .invalidArgument, path: path, recordNumber: recordNumber,
                                   message: "destination \(destination.address) is not an IPv4 address like the source")
            }
            guard payload.count <= FrameBuilder.maxIPv4UDPPayload else {
                throw CaptureError(kind: .invalidArgument, path: path, recordNumber: recordNumber,
                                   message: "UDP payload of \(payload.count) bytes exceeds \(FrameBuilder.maxIPv4UDPPayload), the most one IPv4 datagram holds")
            }
            packet = FrameBuilder.ipv4UDP(source: sourceIP, sourcePort: source.port,
                                          destination: destinationIP, destinationPort: destination.port,
                                          identification: nextIdentification, payload: payload)
            nextIdentification &+= 1  // a counter, wraps by design
        } else if let sourceIP = IPAddressText.parseIPv6(source.address) {
            guard let destinationIP = IPAddressText.parseIPv6(destination.address) else {
                throw CaptureError(kind: .invalidArgument, path: path, recordNumber: recordNumber,
                                   message: "destination \(destination.address) is not an IPv6 address like the source")
            }
            guard payload.count <= FrameBuilder.maxIPv6UDPPayload else {
                throw CaptureError(kind: .invalidArgument, path: path, recordNumber: recordNumber,
                                   message: "UDP payload of \(payload.count) bytes exceeds \(FrameBuilder.maxIPv6UDPPayload), the most one IPv6 packet holds")
            }
            packet = FrameBuilder.ipv6UDP(source: sourceIP, sourcePort: source.port,
                                          destination: destinationIP, destinationPort: destination.port,
                                          payload: payload)
        } else {
            throw CaptureError(kind: .invalidArgument, path: path, recordNumber: recordNumber,
                               message: "source \(source.address) is not an IP address")
        }

        return try linkFrame(packet)
    }

    /// The link header for an IP packet, by the file's link type.
    private func linkFrame(_ packet: [UInt8]) throws(CaptureError) -> [UInt8] {
        let recordNumber = recordsWritten + 1
        guard let version = packet.first.map({ $0 >> 4 }), version == 4 || version == 6,
              packet.count >= (version == 4 ? 20 : 40) else {
            throw CaptureError(kind: .invalidArgument, path: path, recordNumber: recordNumber,
                               message: "not an IPv4 or IPv6 packet")
        }
        let isIPv6 = version == 6
        let etherType = isIPv6 ? PacketParser.etherTypeIPv6 : PacketParser.etherTypeIPv4
        let sourceIP = Array(isIPv6 ? packet[8..<24] : packet[12..<16])
        let destinationIP = Array(isIPv6 ? packet[24..<40] : packet[16..<20])
        switch LinkLayer(linkType: linkType) {
        case .ethernet:
            return FrameBuilder.ethernet(destination: FrameBuilder.mac(forIP: destinationIP),
                                         source: FrameBuilder.mac(forIP: sourceIP),
                                         vlanTags: vlanTags, etherType: etherType, payload: packet)
        case .linuxSLL:
            return FrameBuilder.linuxSLL(source: FrameBuilder.mac(forIP: sourceIP), etherType: etherType) + packet
        case .linuxSLL2:
            return FrameBuilder.linuxSLL2(source: FrameBuilder.mac(forIP: sourceIP), etherType: etherType) + packet
        case .bsdNull:
            return FrameBuilder.loopbackFamily(isIPv6: isIPv6, networkOrder: false) + packet
        case .bsdLoop:
            return FrameBuilder.loopbackFamily(isIPv6: isIPv6, networkOrder: true) + packet
        case .rawIP:
            return packet
        case .rawIPv4 where !isIPv6, .rawIPv6 where isIPv6:
            return packet
        default:
            throw CaptureError(kind: .invalidArgument, path: path, recordNumber: recordNumber,
                               message: "cannot synthesize a link header for link type \(linkType) and IPv\(version); use write(time:bytes:)")
        }
    }
}
