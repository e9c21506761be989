import Foundation
import NIOCore
import PanelCapture
import PanelCore
import PanelDevice
import PanelNet

extension SendSession {
    /// Sends a raw Ethernet protocol's frames on `options.interface` (or into `options.pcapPath`
    /// as Ethernet records), frame k at start + k/fps. A sender with a latch
    /// (`LatchingFrameSender`) has it sent `latchDelay` after the frame's last data packet.
    func runEthernet() async throws -> SendResult {
        var port: RawEthernetPort? = nil
        var writer: PcapWriter? = nil
        if let path = options.pcapPath {
            do { writer = try PcapWriter(path: path) } catch { throw OutputError(path: path, reason: "\(error)") }
        } else {
            guard let name = options.interface else { throw RunFailure("\(options.plugin.name) needs --interface") }
            do { port = try RawEthernetPort(interface: name) } catch { throw RunFailure("\(error)") }
        }
        defer { port?.close() }
        let start = NIODeadline.now()
        let wallStart = Timestamp(nanoseconds: Int64(Date().timeIntervalSince1970 * 1e9))
        let limit = frameLimit
        let deadline = options.seconds.map { start + .nanoseconds(DriftFreePacing.saturatingNanoseconds($0 * 1e9)) }
        var k = 0
        var stamp = wallStart
        func emit(_ bytes: UnsafeRawBufferPointer, _ group: String?) {
            do {
                if let w = writer { try w.write(time: stamp, bytes: Array(bytes)) } else { try port?.send(bytes) }
                result.packets += 1
                result.bytes += bytes.count
            } catch {
                result.failedFrames += 1
                if result.firstError == nil { result.firstError = "\(error)" }
            }
        }
        while true {
            if let l = limit, k >= l { break }
            if writer == nil, let d = deadline, NIODeadline.now() >= d { break }
            if stopRequested.withLockedValue({ $0 }) { break }
            if let fps = options.fps { stamp = wallStart + Timestamp(nanoseconds: DriftFreePacing.offset(index: k, rate: fps).nanoseconds) }
            let canvas = frame(k)
            if var latching = sender as? LatchingFrameSender {
                latching.encodeData(canvas, emit: emit)
                stamp = stamp + latching.latchDelay
                if writer == nil { try await Task.sleep(nanoseconds: UInt64(max(0, latching.latchDelay.nanoseconds))) }
                latching.encodeLatch(emit: emit)
                sender = latching
            } else {
                sender.encode(canvas, emit: emit)
            }
            k += 1
            result.frames = k
            if writer == nil, let fps = options.fps {
                let wait = DriftFreePacing.deadline(anchor: start, offset: DriftFreePacing.offset(index: k, rate: fps)) - NIODeadline.now()
                if wait.nanoseconds > 0 { try await Task.sleep(nanoseconds: UInt64(wait.nanoseconds)) }
            }
        }
        if let w = writer {
            do { try w.close() } catch { throw OutputError(path: w.path, reason: "\(error)") }
        }
        result.elapsed = Double((NIODeadline.now() - start).nanoseconds) / 1e9
        return result
    }
}
