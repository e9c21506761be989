import PanelCapture
import PanelCore

/// How live replay paces what it sends.
public enum LivePace: Sendable, Equatable {
    /// The capture's own timing, divided by a speed factor (1 = as captured, 2 = twice as fast).
    case capture(speed: Double)
    /// No waiting: each item as soon as the socket takes it.
    case topSpeed
    /// A fixed number of packets per second, the capture's timing ignored.
    case fixedRate(Double)
}

/// The part of a capture live replay sends: capture times from `start` (inclusive) to `stop`
/// (exclusive), both measured from the capture's first timed record; nil leaves a side open.
public struct LiveWindow: Sendable, Equatable {
    public var start: Timestamp?
    public var stop: Timestamp?

    public init(start: Timestamp? = nil, stop: Timestamp? = nil) { self.start = start; self.stop = stop }

    /// Whether an item with capture time `time` lies in the window.
    public func contains(_ time: Timestamp, firstRecord: Timestamp) -> Bool {
        let t = time - firstRecord
        if let s = start, t < s { return false }
        if let e = stop, t >= e { return false }
        return true
    }
}

/// When each item of a live replay is due, as an offset from the anchor (the moment the first
/// item left): a pure function of the pace and of what one pass over the capture sends, so the
/// error of one send never carries into the next, nor one pass into the next.
public struct LiveSchedule: Sendable, Equatable {
    public var pace: LivePace
    /// Capture time of the first item one pass sends.
    public var firstTime: Timestamp
    /// Latest capture time of an item one pass sends.
    public var lastTime: Timestamp
    /// Packets (datagrams, TCP writes, layer-2 frames) one pass sends: what `fixedRate` paces.
    public var packetsPerPass: Int

    public init(pace: LivePace, firstTime: Timestamp, lastTime: Timestamp, packetsPerPass: Int) {
        self.pace = pace; self.firstTime = firstTime; self.lastTime = lastTime; self.packetsPerPass = packetsPerPass
    }

    /// How long one pass lasts: the next pass is anchored this much after the previous one.
    /// With capture timing, (last − first) / speed, so pass n+1's first item leaves with pass
    /// n's last; at a fixed rate, one interval after pass n's last packet.
    public var passSpan: Timestamp {
        switch pace {
        case .capture(let speed): return LiveSchedule.scaled(lastTime - firstTime, by: speed)
        case .topSpeed: return .zero
        case .fixedRate(let rate): return DriftFreePacing.offset(index: packetsPerPass, rate: rate)
        }
    }

    /// The offset from the anchor at which an item of pass `pass` (from 0) with capture time
    /// `time` is due, `packetIndex` being the number of packets sent before it in that pass;
    /// nil at top speed (due at once). Items captured before `firstTime` are due at the pass's
    /// start. Saturating: no input can make it trap.
    public func offset(time: Timestamp, packetIndex: Int, pass: Int) -> Timestamp? {
        switch pace {
        case .topSpeed:
            return nil
        case .capture(let speed):
            let within = max(.zero, LiveSchedule.scaled(time - firstTime, by: speed))
            let (before, overflow) = passSpan.nanoseconds.multipliedReportingOverflow(by: Int64(pass))
            return within + Timestamp(nanoseconds: overflow ? Int64.max : before)
        case .fixedRate(let rate):
            let (before, o1) = pass.multipliedReportingOverflow(by: packetsPerPass)
            let (index, o2) = before.addingReportingOverflow(packetIndex)
            return o1 || o2 ? Timestamp(nanoseconds: Int64.max) : DriftFreePacing.offset(index: index, rate: rate)
        }
    }

    /// A capture-time span divided by a speed factor, rounded to the nanosecond.
    static func scaled(_ span: Timestamp, by speed: Double) -> Timestamp {
        speed == 1 ? span : Timestamp(nanoseconds: DriftFreePacing.saturatingNanoseconds((Double(span.nanoseconds) / speed).rounded()))
    }
}

/// Something that hands on capture events in capture order, all of them once per call: a
/// capture file (`CaptureDecoder`), or a list in tests. Live replay calls it once to plan and
/// once per pass.
public typealias CaptureEventSource = @Sendable (_ body: (CaptureEvent) -> Void) throws -> CaptureReadSummary

extension LiveReplaySession {
    /// The events of the capture file at `path`.
    public static func fileSource(path: String) -> CaptureEventSource {
        { body in try CaptureDecoder(path: path).run(body) }
    }
}

/// What live replay does for one capture event, with owned copies of the bytes.
enum LiveAction: Sendable {
    /// A UDP payload, sent from the socket standing in for `source`.
    case datagram(source: Endpoint, destinationPort: UInt16, payload: [UInt8])
    /// Open the client side of a captured connection.
    case connect(connection: Int, serverPort: UInt16)
    /// Bytes the client wrote (the connection is opened first if its start was not seen).
    case write(connection: Int, serverPort: UInt16, bytes: [UInt8])
    /// The client closed (or reset) the connection.
    case close(connection: Int)
    /// A whole Ethernet frame, for raw sending.
    case frame([UInt8])

    /// Whether it carries bytes (what a fixed rate paces and lateness measures).
    var isPacket: Bool {
        switch self {
        case .datagram, .write, .frame: return true
        case .connect, .close: return false
        }
    }

    var byteCount: Int {
        switch self {
        case .datagram(_, _, let p), .write(_, _, let p), .frame(let p): return p.count
        case .connect, .close: return 0
        }
    }
}

/// What one capture event becomes.
enum LiveStep {
    case send(time: Timestamp, action: LiveAction)
    /// Not sent, and counted under `reason`.
    case skip(reason: String, time: Timestamp?)
    /// Part of something sent elsewhere (the server side of a connection opening or closing).
    case none(time: Timestamp?)

    var time: Timestamp? {
        switch self {
        case .send(let t, _): return t
        case .skip(_, let t), .none(let t): return t
        }
    }
}

/// Turns capture events into live actions: UDP datagrams as they are, the client direction
/// of each TCP connection (bytes the capture lacks are not invented), Ethernet frames rebuilt
/// byte for byte when they are to be sent.
struct LiveClassifier {
    /// Whether layer-2 frames are sent (an interface was given); otherwise they are skipped.
    let sendsFrames: Bool
    /// False when only kinds and times matter (planning): payloads are left empty.
    let copiesPayloads: Bool
    /// The client direction of each open connection.
    private var clientFlows: [Int: TCPFlow] = [:]

    init(sendsFrames: Bool, copiesPayloads: Bool) {
        self.sendsFrames = sendsFrames
        self.copiesPayloads = copiesPayloads
    }

    static let noInterface = "layer-2 frame (no interface to send it on)"
    static let serverData = "TCP data from the server side (the live server answers for itself)"
    static let outsideWindow = "outside the time window"

    mutating func step(_ event: CaptureEvent) -> LiveStep {
        switch event {
        case .udp(let d):
            return .send(time: d.time, action: .datagram(source: d.source, destinationPort: d.destination.port,
                                                         payload: copiesPayloads ? Array(d.payload) : []))
        case .tcpOpen(let flow, let connection, let fromClient, let time, _):
            guard fromClient else { return .none(time: time) }
            clientFlows[connection] = flow
            return .send(time: time, action: .connect(connection: connection, serverPort: flow.destination.port))
        case .tcpData(let d):
            guard d.fromClient else { return .skip(reason: LiveClassifier.serverData, time: d.time) }
            if clientFlows[d.connection] == nil { clientFlows[d.connection] = d.flow }
            return .send(time: d.time, action: .write(connection: d.connection, serverPort: d.flow.destination.port,
                                                      bytes: copiesPayloads ? Array(d.payload) : []))
        case .tcpClose(let flow, let connection, let time, _):
            guard clientFlows[connection] == flow else { return .none(time: time) }
            clientFlows[connection] = nil
            return .send(time: time, action: .close(connection: connection))
        case .ethernet(let e):
            guard sendsFrames else { return .skip(reason: LiveClassifier.noInterface, time: e.time) }
            return .send(time: e.time, action: .frame(copiesPayloads ? e.wireBytes : []))
        case .serial(let d):
            return .skip(reason: "serial-line bytes (not resent over the network)", time: d.time)
        case .notDecoded(_, let reason):
            return .skip(reason: "not decoded: \(reason)", time: nil)
        case .malformed(_, let time, let reason, _):
            return .skip(reason: "malformed record: \(reason)", time: time)
        case .reassemblyProblem(_, let time, _):
            return .skip(reason: "reassembly problem", time: time)
        }
    }
}

/// What one pass over the capture will send, read before sending: the schedule's inputs and
/// the UDP sources that need a socket.
struct LivePlan: Sendable {
    /// Capture time of the first record that has one (the window's origin).
    var firstRecord: Timestamp?
    var firstTime: Timestamp?
    var lastTime: Timestamp?
    var packets = 0
    /// Captured UDP source endpoints in order of first use.
    var udpSources: [Endpoint] = []
    /// Set when the capture ended in damage (each pass sends what came before).
    var captureError: CaptureError?

    /// Pauses cut to the limit in one pass, and the capture time they lost.
    var pausesCut = 0
    var pauseTimeCut = Timestamp.zero

    static func scan(_ source: CaptureEventSource, sendsFrames: Bool, window: LiveWindow, maxPause: Timestamp? = nil) throws -> LivePlan {
        var plan = LivePlan()
        var classifier = LiveClassifier(sendsFrames: sendsFrames, copiesPayloads: false)
        var cutter = PauseCutter(limit: maxPause)
        var seen = Set<Endpoint>()
        plan.captureError = try source { event in
            let step = classifier.step(event)
            if plan.firstRecord == nil { plan.firstRecord = step.time }
            guard case .send(let captured, let action) = step, let origin = plan.firstRecord,
                  window.contains(captured, firstRecord: origin) else { return }
            // Times as the schedule sees them: with long pauses cut, as each pass will cut them.
            let time = cutter.time(captured)
            if plan.firstTime == nil { plan.firstTime = time }
            plan.lastTime = max(plan.lastTime ?? time, time)
            if action.isPacket { plan.packets += 1 }
            if case .datagram(let src, _, _) = action, seen.insert(src).inserted { plan.udpSources.append(src) }
        }.error
        plan.pausesCut = cutter.cuts
        plan.pauseTimeCut = cutter.removed
        return plan
    }
}

/// Cuts every pause of capture time between consecutive items of a pass to at most `limit`
/// (`replay --live --max-pause`): the items after a cut pause move earlier by what was cut.
/// Items come in capture order; one whose time goes back keeps its place against the latest.
struct PauseCutter {
    let limit: Timestamp?
    private var latest: Timestamp?
    /// Capture time removed so far, and the pauses cut.
    private(set) var removed = Timestamp.zero
    private(set) var cuts = 0

    init(limit: Timestamp?) { self.limit = limit }

    /// The time of the next item with the pauses before it cut.
    mutating func time(_ captured: Timestamp) -> Timestamp {
        if let limit, let previous = latest, captured - previous > limit {
            removed = removed + (captured - previous - limit)
            cuts += 1
        }
        latest = max(latest ?? captured, captured)
        return captured - removed
    }
}
