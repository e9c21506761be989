import Foundation
import NIOConcurrencyHelpers
import NIOCore
import PanelCapture
import PanelCore
import PanelDevice
import PanelNet

/// Serving serial controllers: each gets a line of its own (a PTY or a tty), read on a
/// thread of the line's and handed to the session's event loop, where the model runs like
/// every other; replies are written back to the line. `--pcap FILE` records the line's
/// traffic with `SerialCaptureWriter` in a capture of its own (`serialCapturePath`).
extension ServeSession {
    /// `FILE.pcap` → `FILE-serial.pcap` (`FILE` → `FILE-serial`): where serve records serial traffic.
    public static func serialCapturePath(_ path: String) -> String {
        let url = URL(fileURLWithPath: path)
        let ext = url.pathExtension
        let base = ext.isEmpty ? path : String(path.dropLast(ext.count + 1))
        return base + "-serial" + (ext.isEmpty ? "" : "." + ext)
    }

    /// The serial capture shared by every line of the session, written under a lock (reads
    /// are recorded on the reader threads, writes on the event loop).
    final class SerialCapture: @unchecked Sendable {
        let writer: SerialCaptureWriter
        private let lock = NIOLock()
        private var errors = 0
        init(writer: SerialCaptureWriter) { self.writer = writer }

        func record(_ direction: SerialData.Direction, _ bytes: UnsafeRawBufferPointer) {
            let wall = Timestamp(nanoseconds: Int64(Date().timeIntervalSince1970 * 1e9))
            lock.withLock {
                do { try writer.write(time: wall, direction: direction, bytes: bytes) } catch { errors += 1 }
            }
        }

        func close() -> [String] {
            lock.withLock {
                var out: [String] = []
                do { try writer.close() } catch { out.append("\(writer.path): \(error)") }
                if errors > 0 { out.append("\(writer.path): \(errors) serial records could not be written") }
                return out
            }
        }
    }

    private static let serialSource = PacketSource(address: "serial", port: 0)

    /// Opens every serial controller's line and starts reading it.
    func openSerialLines() async throws {
        let serialPorts = ports.filter { if case .serial = $0.controllers[0].config.transport { return true } else { return false } }
        guard !serialPorts.isEmpty else { return }
        var capture: SerialCapture? = nil
        if let path = options.pcapPath.map(ServeSession.serialCapturePath) {
            do { capture = SerialCapture(writer: try SerialCaptureWriter(path: path)) } catch { throw OutputError(path: path, reason: "\(error)") }
        }
        try await loop.submit { self.serialCapture = capture }.get()
        for p in serialPorts {
            let c = p.controllers[0]
            guard case let .serial(link, baud, device) = c.config.transport else { continue }
            let line: SerialPort
            do {
                line = try device.map { d throws(SerialError) in try SerialPort.openDevice(path: d, baud: baud) }
                    ?? SerialPort.openPseudoTerminal(link: link)
            } catch {
                throw RunFailure("\(c.config.name): \(error)")
            }
            try await loop.submit { p.serial = line }.get()
            line.startReading(on: loop, onBytes: { [self] bytes, at in
                let now = Timestamp(nanoseconds: Int64(truncatingIfNeeded: at.uptimeNanoseconds))
                if epoch == nil { epoch = now }
                bytes.withUnsafeBytes { raw in
                    serialCapture?.record(.received, raw)
                    for c in p.controllers { c.model.receive(raw, from: Self.serialSource, at: now) }
                }
                drain(p)
            }, onEnd: { [self] in
                let now = ServeSession.now()
                for c in p.controllers { c.model.streamEnded(from: Self.serialSource, at: now) }
                drain(p)
            })
            let shown = line.link.map { "\(line.path) (link \($0))" } ?? line.path
            logger.info("\(c.config.name): \(p.plugin.displayName) on serial \(shown)")
            FileHandle.standardError.write(Data("\(c.config.name): serial \(line.link ?? line.path)\n".utf8))
        }
    }

    /// Writes a model's replies to its line (and to the serial capture).
    func writeSerialReplies(_ replies: [DeviceReply], port p: Port) {
        guard let line = p.serial else { return }
        for r in replies {
            r.bytes.withUnsafeBytes { raw in
                if line.write(raw) { serialCapture?.record(.sent, raw) }
            }
        }
    }

    /// The ready file's entries for a serial line: transport "serial", the path to open.
    func serialReadyEntries(_ p: Port, _ line: SerialPort) -> [JSONValue] {
        p.controllers.map { c in
            var o: [String: JSONValue] = ["controller": .string(c.config.name), "protocol": .string(c.config.plugin.name),
                                          "transport": .string("serial"), "path": .string(line.path)]
            o["link"] = line.link.map { .string($0) } ?? .null
            return .object(o)
        }
    }

    /// Closes every line (readers stopped, symlinks removed) and the serial capture; returns
    /// what could not be written. Replies dropped on a full line are logged.
    func closeSerialLines() async -> [String] {
        var lines: [(Port, SerialPort)] = []
        for p in ports { if let l = p.serial { lines.append((p, l)) } }
        for (_, l) in lines { l.close() }
        for (p, l) in lines where l.droppedWrites > 0 {
            logger.warning("\(p.controllers[0].config.name): \(l.droppedWrites) replies dropped (the line's buffer was full)")
        }
        let capture = try? await loop.submit { self.serialCapture }.get()
        return capture?.close() ?? []
    }
}
