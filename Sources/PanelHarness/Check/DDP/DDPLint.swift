import PanelCapture
import PanelCore
import PanelDevice
import PanelWire

/// DDP's stateful rule: a frame's data must end with a PUSH packet. A frame ends when a data
/// packet starts again at or before the previous packet's offset; one that had no PUSH is a
/// frame without PUSH. Data never followed by any PUSH counts once at the end.
final class DDPLint: ProtocolLint {
    private struct StreamKey: Hashable { var source: Endpoint; var destination: Endpoint }
    private struct Stream {
        var lastOffset: UInt32?
        /// Data arrived since the last PUSH (the first such packet).
        var pending: (record: Int, time: Timestamp)?
        var pushes = 0
        var reported = false
    }
    private var streams: [StreamKey: Stream] = [:]

    func observe(_ e: TrafficEvent, log: FindingLog) {
        guard e.kind == .datagram else { return }
        let packet: DDPPacket
        do throws(WireError) { packet = try DDPDecoder.decode(e.payload) } catch { return }
        let h = packet.header
        guard !h.query, !h.reply, h.destination != DDP.Destination.config, h.destination != DDP.Destination.status,
              h.destination != DDP.Destination.control else { return }
        let key = StreamKey(source: e.source, destination: e.destination)
        guard var s = streams[key] ?? (streams.count < Linter.maxStreams ? Stream() : nil) else { return }
        if !packet.data.isEmpty {
            if let pending = s.pending, let last = s.lastOffset, h.offset <= last {
                log.hit("ddp.push.missing", record: pending.record, time: pending.time, sender: e.source.description, universe: nil,
                        "a frame's data from offset \(h.offset) restarts without PUSH before it")
                s.reported = true
                s.pending = nil
            }
            if s.pending == nil { s.pending = (e.recordNumber, e.time) }
            s.lastOffset = h.offset
        }
        if h.push {
            s.pushes += 1
            s.pending = nil
            s.lastOffset = nil
        }
        streams[key] = s
    }

    func finish(log: FindingLog, end: Timestamp) {
        for (key, s) in streams where s.pushes == 0 && !s.reported {
            guard let pending = s.pending else { continue }
            log.hit("ddp.push.missing", record: pending.record, time: pending.time, sender: key.source.description, universe: nil,
                    "data to \(key.destination) and never a PUSH")
        }
    }
}
