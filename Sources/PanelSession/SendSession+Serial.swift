import NIOCore
import PanelCore
import PanelDevice
import PanelNet

/// The serial line `send --serial` writes to: a tty, or the slave path of a PTY (e.g. one
/// `serve` made), opened raw 8N1 at `baud`.
public struct SerialSendTarget: Sendable {
    public var path: String
    public var baud: Int
    public init(path: String, baud: Int = 115200) { self.path = path; self.baud = baud }
}

extension SendSession {
    /// How long a frame's write may wait for room on the line before it counts as failed.
    static let serialWriteWaitMilliseconds: Int32 = 1000

    /// Writes the frames to a serial line, paced drift-free at `fps` (frame k at start + k/fps)
    /// or back to back: the sender's messages are written to the line in order.
    func runSerial(_ target: SerialSendTarget) async throws -> SendResult {
        let line: SerialPort
        do { line = try SerialPort.openDevice(path: target.path, baud: target.baud) } catch { throw RunFailure("\(error)") }
        defer { line.close() }
        let start = NIODeadline.now()
        let limit = frameLimit
        let deadline = options.seconds.map { start + .nanoseconds(DriftFreePacing.saturatingNanoseconds($0 * 1e9)) }
        var k = 0
        var last = frame(0)
        func emit(_ bytes: UnsafeRawBufferPointer, _ group: String?) {
            if line.write(bytes, waitMilliseconds: Self.serialWriteWaitMilliseconds) {
                result.packets += 1
                result.bytes += bytes.count
            } else {
                result.failedFrames += 1
                if result.firstError == nil { result.firstError = "\(target.path): the line took no more bytes for \(Self.serialWriteWaitMilliseconds) ms" }
            }
        }
        while true {
            if let l = limit, k >= l { break }
            if let d = deadline, NIODeadline.now() >= d { break }
            if stopRequested.withLockedValue({ $0 }) { break }
            last = frame(k)
            sender.encode(last, emit: emit)
            k += 1
            result.frames = k
            if let fps = options.fps {
                let wait = DriftFreePacing.deadline(anchor: start, offset: DriftFreePacing.offset(index: k, rate: fps)) - NIODeadline.now()
                if wait.nanoseconds > 0 { try await Task.sleep(nanoseconds: UInt64(wait.nanoseconds)) }
            }
        }
        sender.encodeTermination(last, emit: emit)
        result.elapsed = Double((NIODeadline.now() - start).nanoseconds) / 1e9
        return result
    }
}
