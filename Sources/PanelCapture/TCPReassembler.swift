import PanelCore

/// Turns TCP segments into the in-order byte stream of each direction of each connection,
/// as the receiving application read it: retransmitted bytes dropped (partial overlaps
/// trimmed), out-of-order segments held until the gap before them fills. Sequence numbers
/// are compared modulo 2^32.
///
/// Bounded whatever the capture claims: per direction at most `maxBufferedBytes` in at most
/// `maxBufferedSegments` held segments, `maxTotalBufferedBytes` over all connections, and
/// at most `maxConnections` connections (the least recently used is evicted, closed ones
/// first). Past a limit the oldest hole is skipped: what follows it is delivered with
/// `missingBefore` set, and a `.reassemblyProblem` says so.
struct TCPReassembler {
    static let maxConnections = 1024
    static let maxBufferedBytes = 1 << 20
    static let maxBufferedSegments = 256
    static let maxTotalBufferedBytes = 64 << 20

    /// The two endpoints of a connection, in a fixed order whichever side sent.
    struct ConnectionKey: Hashable {
        var low: Endpoint
        var high: Endpoint
        init(_ flow: TCPFlow) {
            let sourceFirst = (flow.source.address, flow.source.port) < (flow.destination.address, flow.destination.port)
            low = sourceFirst ? flow.source : flow.destination
            high = sourceFirst ? flow.destination : flow.source
        }
    }

    /// A segment that arrived ahead of the bytes before it.
    struct Held {
        var sequence: UInt32
        var bytes: [UInt8]
    }

    struct Direction {
        var flow: TCPFlow
        var fromClient: Bool
        /// The sequence number of the next byte to deliver.
        var next: UInt32
        /// Held segments, ordered by their distance ahead of `next`.
        var held: [Held] = []
        var heldBytes = 0
        /// The sequence number the FIN occupies, once a FIN was seen.
        var finSequence: UInt32?
        var closed = false
    }

    final class Connection {
        let number: Int
        /// The direction of the side that opened the connection.
        let client: TCPFlow
        /// Index 0: from the client; 1: to it.
        var directions: [Direction?] = [nil, nil]
        var lastUse: Int
        init(number: Int, client: TCPFlow, lastUse: Int) {
            self.number = number
            self.client = client
            self.lastUse = lastUse
        }
        var isClosed: Bool { directions.allSatisfy { $0?.closed ?? true } }
    }

    /// Where the current segment came from, for the events it causes.
    struct Context {
        var recordNumber: Int
        var time: Timestamp
    }

    private var connections: [ConnectionKey: Connection] = [:]
    private var nextConnectionNumber = 1
    private var totalHeldBytes = 0

    /// Feeds one segment; `emit` receives the events it causes, in order.
    mutating func add(_ segment: TCPSegment, emit: (CaptureEvent) -> Void) {
        let context = Context(recordNumber: segment.recordNumber, time: segment.time)
        let flow = TCPFlow(source: segment.source, destination: segment.destination)
        let key = ConnectionKey(flow)
        let flags = segment.flags
        let isOpeningSYN = flags.contains(.syn) && !flags.contains(.ack)

        var found = connections[key]
        if let old = found, isOpeningSYN, old.directions[index(of: flow, in: old)]?.closed ?? false {
            // The 4-tuple is reused: the old connection is over.
            if !old.isClosed {
                emit(.reassemblyProblem(recordNumber: context.recordNumber, time: context.time,
                                        detail: "TCP connection \(old.number) (\(old.client)): a new SYN arrived while it was half-open; the open direction is ended"))
            }
            end(old, reason: .evicted, context: context, emit: emit)
            connections[key] = nil
            found = nil
        }
        let connection: Connection
        if let found {
            connection = found
        } else {
            if connections.count >= Self.maxConnections { evictOne(context: context, emit: emit) }
            // A SYN-ACK seen first comes from the server: the client is the other side.
            let client = flags.contains(.syn) && flags.contains(.ack) ? flow.reversed : flow
            connection = Connection(number: nextConnectionNumber, client: client, lastUse: context.recordNumber)
            nextConnectionNumber += 1
            connections[key] = connection
        }
        connection.lastUse = context.recordNumber

        let side = index(of: flow, in: connection)
        let dataStart = flags.contains(.syn) ? segment.sequenceNumber &+ 1 : segment.sequenceNumber
        if connection.directions[side] == nil {
            connection.directions[side] = Direction(flow: flow, fromClient: side == 0, next: dataStart)
            emit(.tcpOpen(flow: flow, connection: connection.number, fromClient: side == 0,
                          time: context.time, recordNumber: context.recordNumber))
        }
        guard var direction = connection.directions[side], !direction.closed else { return }
        connection.directions[side] = nil  // keep the held buffers uniquely referenced while editing
        accept(segment.payload, at: dataStart, into: &direction, connection: connection, context: context, emit: emit)
        if flags.contains(.fin), direction.finSequence == nil {
            direction.finSequence = dataStart &+ UInt32(truncatingIfNeeded: segment.payload.count)
        }
        if flags.contains(.rst) {
            connection.directions[side] = direction
            end(connection, reason: .reset, context: context, emit: emit)
            return
        }
        closeIfFinReached(&direction, connection: connection, context: context, emit: emit)
        connection.directions[side] = direction
    }

    /// At the end of the capture: delivers what is held (skipping holes) and ends every open
    /// direction, connections in the order they were first seen.
    mutating func finish(time: Timestamp, recordNumber: Int, emit: (CaptureEvent) -> Void) {
        let context = Context(recordNumber: recordNumber, time: time)
        for connection in connections.values.sorted(by: { $0.number < $1.number }) {
            end(connection, reason: .captureEnded, context: context, emit: emit)
        }
        connections = [:]
    }

    private func index(of flow: TCPFlow, in connection: Connection) -> Int {
        flow == connection.client ? 0 : 1
    }

    /// Takes the segment's bytes that start at `start`: delivers them when they are next,
    /// drops what was already delivered, holds what is ahead.
    private mutating func accept(_ bytes: ArraySlice<UInt8>, at start: UInt32, into direction: inout Direction,
                                 connection: Connection, context: Context, emit: (CaptureEvent) -> Void) {
        guard !bytes.isEmpty else { return }
        var distance = Int(Int32(bitPattern: start &- direction.next))
        if distance > 0 {
            if direction.held.contains(where: { $0.sequence == start && $0.bytes.count >= bytes.count }) { return }
            while !direction.held.isEmpty, !fits(bytes.count, in: direction) {
                skipHole(&direction, connection: connection, context: context, emit: emit)
            }
            distance = Int(Int32(bitPattern: start &- direction.next))
            if distance > 0 {
                if fits(bytes.count, in: direction) {
                    hold(Held(sequence: start, bytes: Array(bytes)), distance: distance, in: &direction)
                    return
                }
                // Nothing held here, but the buffers of all connections together are full.
                emit(.reassemblyProblem(recordNumber: context.recordNumber, time: context.time,
                                        detail: "TCP \(direction.flow) (connection \(connection.number)): \(distance) bytes missing before sequence \(start) and the reassembly buffers are full; skipped"))
                direction.next = start
                deliver(bytes, missingBefore: distance, direction: &direction, connection: connection, context: context, emit: emit)
                drain(&direction, connection: connection, context: context, emit: emit)
                return
            }
        }
        let trim = -distance
        guard trim < bytes.count else { return }  // a retransmission of delivered bytes
        deliver(bytes.dropFirst(trim), missingBefore: 0, direction: &direction, connection: connection, context: context, emit: emit)
        drain(&direction, connection: connection, context: context, emit: emit)
    }

    private func fits(_ count: Int, in direction: Direction) -> Bool {
        direction.held.count < Self.maxBufferedSegments
            && direction.heldBytes + count <= Self.maxBufferedBytes
            && totalHeldBytes + count <= Self.maxTotalBufferedBytes
    }

    private mutating func hold(_ held: Held, distance: Int, in direction: inout Direction) {
        let next = direction.next
        let position = direction.held.firstIndex { Int(Int32(bitPattern: $0.sequence &- next)) > distance }
        direction.held.insert(held, at: position ?? direction.held.endIndex)
        direction.heldBytes += held.bytes.count
        totalHeldBytes += held.bytes.count
    }

    /// Delivers held segments that are now next (trimming what was already delivered).
    private mutating func drain(_ direction: inout Direction, connection: Connection, context: Context,
                                emit: (CaptureEvent) -> Void) {
        while let first = direction.held.first {
            let distance = Int(Int32(bitPattern: first.sequence &- direction.next))
            if distance > 0 { return }
            direction.held.removeFirst()
            direction.heldBytes -= first.bytes.count
            totalHeldBytes -= first.bytes.count
            if -distance < first.bytes.count {
                deliver(first.bytes.dropFirst(-distance), missingBefore: 0, direction: &direction,
                        connection: connection, context: context, emit: emit)
            }
        }
    }

    /// Gives up waiting for the bytes before the first held segment.
    private mutating func skipHole(_ direction: inout Direction, connection: Connection, context: Context,
                                   emit: (CaptureEvent) -> Void) {
        guard let first = direction.held.first else { return }
        let missing = Int(Int32(bitPattern: first.sequence &- direction.next))
        emit(.reassemblyProblem(recordNumber: context.recordNumber, time: context.time,
                                detail: "TCP \(direction.flow) (connection \(connection.number)): \(missing) bytes before sequence \(first.sequence) were never captured; skipped"))
        direction.held.removeFirst()
        direction.heldBytes -= first.bytes.count
        totalHeldBytes -= first.bytes.count
        direction.next = first.sequence
        deliver(first.bytes[...], missingBefore: missing, direction: &direction, connection: connection, context: context, emit: emit)
        drain(&direction, connection: connection, context: context, emit: emit)
    }

    private func deliver(_ bytes: ArraySlice<UInt8>, missingBefore: Int, direction: inout Direction,
                         connection: Connection, context: Context, emit: (CaptureEvent) -> Void) {
        direction.next = direction.next &+ UInt32(truncatingIfNeeded: bytes.count)
        emit(.tcpData(TCPStreamData(recordNumber: context.recordNumber, time: context.time, flow: direction.flow,
                                    connection: connection.number, fromClient: direction.fromClient,
                                    missingBefore: missingBefore, payload: bytes)))
    }

    private mutating func closeIfFinReached(_ direction: inout Direction, connection: Connection, context: Context,
                                            emit: (CaptureEvent) -> Void) {
        guard let fin = direction.finSequence, Int32(bitPattern: fin &- direction.next) <= 0 else { return }
        close(&direction, reason: .fin, connection: connection, context: context, emit: emit)
    }

    private mutating func close(_ direction: inout Direction, reason: TCPStreamEnd, connection: Connection,
                                context: Context, emit: (CaptureEvent) -> Void) {
        totalHeldBytes -= direction.heldBytes
        direction.held = []
        direction.heldBytes = 0
        direction.closed = true
        emit(.tcpClose(flow: direction.flow, connection: connection.number, time: context.time, reason: reason))
    }

    /// Ends every open direction of `connection`: delivers what is held, skipping holes, then
    /// closes with `reason` (or `.fin` where the FIN was reached on the way).
    private mutating func end(_ connection: Connection, reason: TCPStreamEnd, context: Context,
                              emit: (CaptureEvent) -> Void) {
        for side in 0..<2 {
            guard var direction = connection.directions[side], !direction.closed else { continue }
            connection.directions[side] = nil
            while !direction.held.isEmpty, !finReached(direction) {
                skipHole(&direction, connection: connection, context: context, emit: emit)
            }
            let final: TCPStreamEnd = finReached(direction) ? .fin : reason
            close(&direction, reason: final, connection: connection, context: context, emit: emit)
            connection.directions[side] = direction
        }
    }

    private func finReached(_ direction: Direction) -> Bool {
        guard let fin = direction.finSequence else { return false }
        return Int32(bitPattern: fin &- direction.next) <= 0
    }

    /// Makes room for a new connection: the least recently used closed one goes silently;
    /// failing that, the least recently used open one is ended as `.evicted`.
    private mutating func evictOne(context: Context, emit: (CaptureEvent) -> Void) {
        var victim: (key: ConnectionKey, connection: Connection)?
        var victimClosed = false
        for (key, connection) in connections {
            let closed = connection.isClosed
            if victim == nil || (closed && !victimClosed)
                || (closed == victimClosed && connection.lastUse < (victim?.connection.lastUse ?? .max)) {
                victim = (key, connection)
                victimClosed = closed
            }
        }
        guard let victim else { return }
        if !victimClosed {
            emit(.reassemblyProblem(recordNumber: context.recordNumber, time: context.time,
                                    detail: "TCP connection \(victim.connection.number) (\(victim.connection.client)) evicted: more than \(Self.maxConnections) connections at once"))
            end(victim.connection, reason: .evicted, context: context, emit: emit)
        }
        connections[victim.key] = nil
    }
}
