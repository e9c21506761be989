import PanelCapture
import PanelCore
import PanelDevice
import PanelSession

/// What `panelsim check` read and found.
public struct CheckResult: Sendable {
    public var capture: String
    public var profile: String?
    public var records = 0
    public var datagrams = 0
    public var tcpConnections = 0
    public var layer2Frames = 0
    public var serialBytes = 0
    /// Seconds from the first to the last record.
    public var duration = 0.0
    public var rulesChecked: [CheckRule] = []
    public var findings: [Finding] = []
    /// The capture could not be opened, or ended in damage (what came before was linted).
    public var captureError: String?

    /// The most severe finding's severity, nil when there is none.
    public var worst: CheckSeverity? { findings.map(\.rule.severity).max() }
    /// Findings at or above `level`.
    public func failing(at level: CheckSeverity) -> [Finding] { findings.filter { $0.rule.severity >= level } }
}

/// Reads a capture with replay's decoder and protocol detection (`CaptureDecoder`,
/// `ProtocolDetector`) and feeds every datagram, TCP stream, layer-2 frame and serial read to a
/// `Linter`.
public enum CheckSession {
    public static func run(capture path: String, profile: QuirkProfile?, overrides: [ProtocolDetector.Override] = [],
                           registry: ProtocolRegistry = .standard) -> CheckResult {
        var result = CheckResult(capture: path, profile: profile?.name)
        let linter = Linter(profile: profile)
        result.rulesChecked = linter.rulesChecked
        let detector = ProtocolDetector(registry: registry, overrides: overrides)
        let decoder: CaptureDecoder
        do { decoder = try CaptureDecoder(path: path) } catch {
            result.captureError = "\(error)"
            result.findings = linter.finish()
            return result
        }
        var first: Timestamp?
        var last = Timestamp.zero
        /// The protocol of each open TCP connection: by the server's port when it opens, then by
        /// the client's first bytes (`decided`).
        var connections: [Int: (plugin: ProtocolPlugin?, decided: Bool)] = [:]
        var serialPlugin: ProtocolPlugin??
        func seen(_ t: Timestamp) {
            if first == nil { first = t }
            if t > last { last = t }
            linter.recordRead(at: t)
        }
        let summary = decoder.run { event in
            switch event {
            case .udp(let d):
                seen(d.time)
                result.datagrams += 1
                d.payload.withUnsafeBytes { b in
                    let plugin = detector.protocolOf(datagram: b, sourcePort: d.source.port, destinationPort: d.destination.port)
                    linter.observe(TrafficEvent(kind: .datagram, recordNumber: d.recordNumber, time: d.time, source: d.source,
                                                destination: d.destination, plugin: plugin, payload: b))
                }
            case .tcpOpen(let flow, let connection, let fromClient, let time, let record):
                seen(time)
                guard fromClient else { return }
                result.tcpConnections += 1
                // The port names the protocol until the client's first bytes do.
                let plugin = detector.protocolOf(stream: UnsafeRawBufferPointer(start: nil, count: 0), serverPort: flow.destination.port)
                connections[connection] = (plugin, false)
                linter.observe(TrafficEvent(kind: .connectionOpened, recordNumber: record, time: time, source: flow.source,
                                            destination: flow.destination, plugin: plugin, connection: connection))
            case .tcpData(let data):
                seen(data.time)
                data.payload.withUnsafeBytes { b in
                    var route = connections[data.connection] ?? (nil, false)
                    if data.fromClient && !route.decided {
                        route = (detector.protocolOf(stream: b, serverPort: data.flow.destination.port), true)
                        connections[data.connection] = route
                    }
                    let plugin = route.plugin
                    linter.observe(TrafficEvent(kind: .stream, recordNumber: data.recordNumber, time: data.time, source: data.flow.source,
                                                destination: data.flow.destination, plugin: plugin, payload: b,
                                                connection: data.connection, fromClient: data.fromClient))
                }
            case .tcpClose(let flow, let connection, let time, _):
                seen(time)
                guard let route = connections.removeValue(forKey: connection) else { return }
                linter.observe(TrafficEvent(kind: .connectionClosed, recordNumber: 0, time: time, source: flow.source,
                                            destination: flow.destination, plugin: route.plugin, connection: connection))
            case .ethernet(let frame):
                seen(frame.time)
                result.layer2Frames += 1
                frame.wireBytes.withUnsafeBytes { b in
                    let plugin = detector.protocolOf(ethernetFrame: b)
                    linter.observe(TrafficEvent(kind: .frame, recordNumber: frame.recordNumber, time: frame.time,
                                                source: Endpoint(address: frame.source.description, port: 0),
                                                destination: Endpoint(address: frame.destination.description, port: 0), plugin: plugin, payload: b))
                }
            case .serial(let d):
                seen(d.time)
                result.serialBytes += d.payload.count
                d.payload.withUnsafeBytes { b in
                    if serialPlugin == nil { serialPlugin = .some(detector.protocolOf(serial: b)) }
                    let read = d.direction == .received
                    let pc = Endpoint(address: "serial-host", port: 0), device = Endpoint(address: "serial-device", port: 0)
                    linter.observe(TrafficEvent(kind: .stream, recordNumber: d.recordNumber, time: d.time, source: read ? pc : device,
                                                destination: read ? device : pc, plugin: serialPlugin ?? nil, payload: b,
                                                connection: -1, fromClient: read))
                }
            case .malformed(_, let time, _, _), .reassemblyProblem(_, let time, _):
                seen(time)
            case .notDecoded:
                break
            }
        }
        result.records = summary.records
        result.duration = (last - (first ?? last)).seconds
        if let e = summary.error { result.captureError = "\(e)" }
        result.findings = linter.finish()
        return result
    }
}
