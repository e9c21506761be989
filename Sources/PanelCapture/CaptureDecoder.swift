import PanelCore

/// One direction of a TCP connection: bytes flowing from `source` to `destination`.
public struct TCPFlow: Hashable, Sendable, CustomStringConvertible {
    public var source: Endpoint
    public var destination: Endpoint
    public init(source: Endpoint, destination: Endpoint) { self.source = source; self.destination = destination }
    /// The other direction of the same connection.
    public var reversed: TCPFlow { TCPFlow(source: destination, destination: source) }
    public var description: String { "\(source) → \(destination)" }
}

/// In-order bytes of one direction of a TCP connection, as the receiving application read them.
public struct TCPStreamData: Sendable {
    /// The record whose segment completed these bytes.
    public var recordNumber: Int
    public var time: Timestamp
    public var flow: TCPFlow
    /// Numbers connections in the order they were first seen (1, 2, …); both directions of a
    /// connection share it.
    public var connection: Int
    /// True for the direction of the side that opened the connection (sent the SYN), or, when
    /// the handshake was not captured, of the side that sent the first segment seen.
    public var fromClient: Bool
    /// Bytes the capture lacks just before these (segments never captured); 0 normally.
    public var missingBefore: Int
    /// The bytes; a view that is valid for the duration of the callback.
    public var payload: ArraySlice<UInt8>

    public init(recordNumber: Int, time: Timestamp, flow: TCPFlow, connection: Int, fromClient: Bool,
                missingBefore: Int = 0, payload: ArraySlice<UInt8>) {
        self.recordNumber = recordNumber; self.time = time; self.flow = flow; self.connection = connection
        self.fromClient = fromClient; self.missingBefore = missingBefore; self.payload = payload
    }
}

/// Why a direction of a TCP connection ended.
public enum TCPStreamEnd: String, Sendable {
    case fin, reset
    /// The capture ended with the connection still open.
    case captureEnded = "capture-ended"
    /// Dropped to keep memory bounded (too many connections at once).
    case evicted
}

/// What a capture record turned into after link layer, IP (with fragment reassembly), UDP and
/// TCP (with stream reassembly). Views (`payload`) are valid only during the callback.
public enum CaptureEvent: Sendable {
    /// A UDP datagram; for a reassembled datagram, `recordNumber` is the record of its last
    /// fragment.
    case udp(UDPDatagram)
    /// A TCP connection direction was seen for the first time.
    case tcpOpen(flow: TCPFlow, connection: Int, fromClient: Bool, time: Timestamp, recordNumber: Int)
    /// Bytes of a TCP stream, in order, retransmissions removed.
    case tcpData(TCPStreamData)
    /// A TCP connection direction ended.
    case tcpClose(flow: TCPFlow, connection: Int, time: Timestamp, reason: TCPStreamEnd)
    /// An Ethernet frame that does not carry IP, for layer-2 protocols.
    case ethernet(EthernetFrame)
    /// Bytes read from or written to a serial line (a `SerialCaptureWriter` capture).
    case serial(SerialData)
    /// Well formed but not decoded further (ICMP, ARP on a non-Ethernet link, an unknown link
    /// type …); `reason` says what it was.
    case notDecoded(recordNumber: Int, reason: String)
    /// A record that could not be decoded; `offset` is the byte offset in the record.
    case malformed(recordNumber: Int, time: Timestamp, reason: String, offset: Int)
    /// Reassembly had to give up on something (fragments that never completed, a hole in a
    /// TCP stream, a limit reached); `detail` says what, in words.
    case reassemblyProblem(recordNumber: Int, time: Timestamp, detail: String)
}

/// What `CaptureDecoder.run` read.
public struct CaptureReadSummary: Sendable {
    /// Records read (good ones; the damaged record is not counted).
    public var records = 0
    /// Link types of the capture's interfaces, each once, in the order the file describes
    /// them (one for pcap); a pcapng file may mix several.
    public var linkTypes: [Int32] = []
    /// Set when the capture ended in damage; everything before it was handed on.
    public var error: CaptureError?
    /// IP datagrams put back together from fragments.
    public var reassembledDatagrams = 0
    /// IP fragments that overlapped bytes already received (duplicates included); the bytes
    /// that arrived first were kept.
    public var overlappingFragments = 0
    public init() {}
}

/// Reads a capture and hands on what its records carry, in capture order: the one place where
/// records become datagrams, stream bytes and layer-2 frames, for replay and live resend alike.
///
/// Memory is bounded whatever the capture claims: reassembly keeps a bounded number of
/// datagrams and connections in flight, and gives up with `.reassemblyProblem` past the limits.
/// IP fragments: at most 256 datagrams in flight, each at most 65,535 bytes, given up 30 s
/// (capture time) after their first fragment. TCP: per direction at most 1 MiB in 256
/// out-of-order segments, 64 MiB over all, 1024 connections.
public final class CaptureDecoder {
    public let path: String

    /// Opens the capture; throws a `CaptureError` when it cannot be opened or is not a capture.
    public init(path: String) throws(CaptureError) {
        self.path = path
        self.reader = try CaptureReader(path: path)
    }

    private let reader: CaptureReader

    /// How much of the file has been read, 0...1 (nil when unknown). Call it from the thread
    /// running `run` (e.g. inside its callback).
    public var fractionRead: Double? { reader.fractionRead }

    /// Reads to the end (or the first damage), calling `body` for each event. Never throws: a
    /// damaged capture sets `error` in the summary after every earlier event was delivered.
    /// At the end (or the damage) fragments still pending are given up and open TCP directions
    /// end with `.captureEnded`.
    public func run(_ body: (CaptureEvent) -> Void) -> CaptureReadSummary {
        var summary = CaptureReadSummary()
        summary.linkTypes = reader.interfaceLinkTypes
        var state = DecodeState()
        var lastTime = Timestamp.zero
        do {
            try reader.forEachRecord { header, bytes in
                summary.records += 1
                lastTime = header.time
                if header.time >= state.fragments.nextExpiry {
                    report(state.fragments.expire(now: header.time), time: header.time, body)
                }
                let frame = CapturedFrame(recordNumber: header.recordNumber, time: header.time, linkType: header.linkType,
                                          originalLength: header.originalLength, bytes: bytes)
                if header.linkType == LinkLayer.rtacSerial.linkType {
                    body(SerialCaptureWriter.decode(frame))
                    return
                }
                switch PacketParser.parse(frame, cache: state.addresses) {
                case .udp(let datagram):
                    body(.udp(datagram))
                case .tcp(let segment):
                    state.tcp.add(segment, emit: body)
                case .ethernet(let ethernet):
                    body(.ethernet(ethernet))
                case .ipFragment(let fragment):
                    reassemble(fragment, &state, &summary, body)
                case .other(let reason):
                    body(.notDecoded(recordNumber: header.recordNumber, reason: reason))
                case .malformed(let reason, let offset):
                    body(.malformed(recordNumber: header.recordNumber, time: header.time, reason: reason, offset: offset))
                }
            }
        } catch {
            summary.error = error
        }
        report(state.fragments.finish(), time: lastTime, body)
        state.tcp.finish(time: lastTime, recordNumber: summary.records, emit: body)
        summary.overlappingFragments = state.fragments.overlappingFragments
        return summary
    }

    /// What one `run` keeps between records.
    private struct DecodeState {
        var fragments = IPReassembler()
        var tcp = TCPReassembler()
        let addresses = AddressTextCache()
    }

    private func reassemble(_ fragment: IPFragment, _ state: inout DecodeState, _ summary: inout CaptureReadSummary,
                            _ body: (CaptureEvent) -> Void) {
        let (completed, givenUp) = state.fragments.add(fragment)
        report(givenUp, time: fragment.time, body)
        guard let completed else { return }
        summary.reassembledDatagrams += 1
        let parsed = PacketParser.parseIPPayload(protocolNumber: completed.key.protocolNumber, payload: completed.payload[...],
                                                 sourceAddress: completed.key.source,
                                                 destinationAddress: completed.key.destination,
                                                 ipVersion: completed.key.ipVersion,
                                                 recordNumber: fragment.recordNumber, time: fragment.time)
        switch parsed {
        case .udp(let datagram):
            body(.udp(datagram))
        case .tcp(let segment):
            state.tcp.add(segment, emit: body)
        case .other(let reason):
            body(.notDecoded(recordNumber: fragment.recordNumber, reason: "reassembled: " + reason))
        case .malformed(let reason, let offset):
            body(.malformed(recordNumber: fragment.recordNumber, time: fragment.time,
                            reason: "reassembled datagram: " + reason, offset: offset))
        case .ethernet, .ipFragment:
            break  // parseIPPayload returns neither
        }
    }

    private func report(_ givenUp: [IPReassembler.GivenUp], time: Timestamp, _ body: (CaptureEvent) -> Void) {
        for problem in givenUp {
            body(.reassemblyProblem(recordNumber: problem.firstRecord, time: time, detail: problem.detail))
        }
    }
}
