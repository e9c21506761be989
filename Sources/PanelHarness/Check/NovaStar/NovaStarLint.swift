import PanelCapture
import PanelCore
import PanelDevice
import PanelWire

/// NovaStar travels as a byte stream (TCP 5200 or a serial line): the sender's side is cut into
/// frames with the wire framer, and each frame's rule IDs (checksum …) are counted. At most
/// `Linter.maxStreams` streams are followed at once; a closed connection frees its framers.
final class NovaStarLint: ProtocolLint {
    private struct StreamKey: Hashable { var connection: Int; var fromClient: Bool }
    private var framers: [StreamKey: NovaStarFramer] = [:]

    func observe(_ e: TrafficEvent, log: FindingLog) {
        switch e.kind {
        case .stream:
            // The sender's side only: the card's replies are not the sender's traffic (a real
            // card's stray bytes before a reply would read as a broken request).
            guard e.fromClient else { return }
            let key = StreamKey(connection: e.connection, fromClient: e.fromClient)
            guard var framer = framers[key] ?? (framers.count < Linter.maxStreams ? NovaStarFramer() : nil) else { return }
            framer.push(e.payload, frame: { frame in
                do throws(WireError) {
                    let f = try NovaStarFrame.decode(frame)
                    for v in f.violations {
                        log.hit(v.rawValue, e, "\(f.kind == .reply ? "reply" : "request") serial \(f.serial), register 0x\(String(f.address, radix: 16))")
                    }
                } catch {
                    log.hit("novastar.malformed", e, "\(error.reason.rawValue) at byte \(error.offset): \(error.detail)")
                }
            }, dropped: { error in
                log.hit("novastar.malformed", e, "\(error.reason.rawValue) at byte \(error.offset): \(error.detail)")
            })
            framers[key] = framer
        case .connectionClosed:
            framers[StreamKey(connection: e.connection, fromClient: true)] = nil
            framers[StreamKey(connection: e.connection, fromClient: false)] = nil
        case .datagram, .frame, .connectionOpened:
            break
        }
    }

    func finish(log: FindingLog, end: Timestamp) {}
}
