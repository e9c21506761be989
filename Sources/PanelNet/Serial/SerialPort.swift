import Dispatch
import Foundation
import NIOConcurrencyHelpers
import NIOCore
#if canImport(Glibc)
import Glibc
#endif

/// A serial line PanelSim serves or sends on: the master side of a pseudo-terminal
/// (`openPseudoTerminal`) or a real tty (`openDevice`), in raw 8N1.
///
/// Reading: a dedicated thread blocks in `poll` on the line and a wake-up pipe, reads up to
/// 4 KB at a time and hands each chunk to the caller's event loop. At most `maxChunksInFlight`
/// chunks wait on the loop; beyond that the thread stops reading, so the kernel's tty buffer
/// fills and the writer blocks: memory stays bounded and nothing is dropped. (A thread rather
/// than NIOPipeBootstrap: a PTY master is a character device whose EIO/hang-up semantics
/// NIO's pipe channel does not model, and a thread keeps that handling explicit.)
/// Writing: non-blocking; a reply that does not fit the tty buffer is dropped and counted.
public final class SerialPort: @unchecked Sendable {
    /// What a peer opens: the PTY's slave path, or the device itself.
    public let path: String
    /// The symlink made to the PTY's slave, removed at close.
    public let link: String?
    public let isPseudoTerminal: Bool
    public static let chunkSize = 4096
    public static let maxChunksInFlight = 64

    private let fd: Int32
    private let heldSlave: Int32?
    private let wakePipe: (read: Int32, write: Int32)
    private let credits = DispatchSemaphore(value: SerialPort.maxChunksInFlight)
    private let readerDone = DispatchSemaphore(value: 0)
    private let state = NIOLockedValueBox((closed: false, reading: false, droppedWrites: 0))

    private init(fd: Int32, heldSlave: Int32?, path: String, link: String?) throws(SerialError) {
        var p: [Int32] = [-1, -1]
        guard pipe(&p) == 0 else { throw SerialError("pipe", path: path) }
        self.fd = fd; self.heldSlave = heldSlave; self.path = path; self.link = link
        isPseudoTerminal = heldSlave != nil
        wakePipe = (p[0], p[1])
    }

    /// A new pseudo-terminal; its slave path is `path`, and `link` (if given) is made a symlink to it.
    public static func openPseudoTerminal(link: String?) throws(SerialError) -> SerialPort {
        let pair = try PseudoTerminal.open()
        do {
            if let l = link { try PseudoTerminal.link(l, to: pair.path) }
            return try SerialPort(fd: pair.master, heldSlave: pair.slave, path: pair.path, link: link)
        } catch {
            Glibc.close(pair.master); Glibc.close(pair.slave)
            if let l = link { PseudoTerminal.unlink(l, ifPointingAt: pair.path) }
            throw error
        }
    }

    /// A tty device (or a PTY's slave path) in raw 8N1 at `baud`.
    public static func openDevice(path: String, baud: Int) throws(SerialError) -> SerialPort {
        let fd = Glibc.open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw SerialError("open", path: path) }
        do {
            try Termios.makeRaw(fd, path: path, baud: baud)
            return try SerialPort(fd: fd, heldSlave: nil, path: path, link: nil)
        } catch {
            Glibc.close(fd)
            throw error
        }
    }

    /// Replies dropped because the line's buffer was full.
    public var droppedWrites: Int { state.withLockedValue { $0.droppedWrites } }

    /// Starts the reader thread: `onBytes` gets each chunk (and when it was read, in
    /// `NIODeadline` uptime) on `loop`; `onEnd` once if the line hangs up.
    public func startReading(on loop: EventLoop, onBytes: @escaping @Sendable ([UInt8], NIODeadline) -> Void,
                             onEnd: @escaping @Sendable () -> Void) {
        let start = state.withLockedValue { s -> Bool in
            guard !s.closed, !s.reading else { return false }
            s.reading = true
            return true
        }
        guard start else { return }
        let thread = Thread { [self] in
            readLoop(loop: loop, onBytes: onBytes, onEnd: onEnd)
            readerDone.signal()
        }
        thread.name = "panelsim.serial"
        thread.start()
    }

    private func readLoop(loop: EventLoop, onBytes: @escaping @Sendable ([UInt8], NIODeadline) -> Void, onEnd: @escaping @Sendable () -> Void) {
        var buffer = [UInt8](repeating: 0, count: Self.chunkSize)
        while true {
            if state.withLockedValue({ $0.closed }) { return }
            // Wait for room on the loop (re-checking for close now and then).
            guard credits.wait(timeout: .now() + .milliseconds(100)) == .success else { continue }
            var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0), pollfd(fd: wakePipe.read, events: Int16(POLLIN), revents: 0)]
            let rc = poll(&fds, 2, -1)
            if rc < 0 {
                credits.signal()
                if errno == EINTR { continue }
                loop.execute { onEnd() }
                return
            }
            if fds[1].revents != 0 { credits.signal(); return }
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                let chunk = Array(buffer[0..<n])
                let at = NIODeadline.now()
                loop.execute { [credits] in
                    onBytes(chunk, at)
                    credits.signal()
                }
                continue
            }
            credits.signal()
            if n < 0 && (errno == EAGAIN || errno == EINTR) { continue }
            // 0 or EIO: the line hung up (a tty's device went away).
            loop.execute { onEnd() }
            return
        }
    }

    /// Writes all of `bytes` or none: waits up to `waitMilliseconds` for room (0 for replies
    /// from an event loop); false (and counted) when the line did not take them in time.
    @discardableResult
    public func write(_ bytes: UnsafeRawBufferPointer, waitMilliseconds: Int32 = 0) -> Bool {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return true }
        var offset = 0
        while offset < bytes.count {
            if state.withLockedValue({ $0.closed }) { return false }
            let n = Glibc.write(fd, base + offset, bytes.count - offset)
            if n > 0 { offset += n; continue }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && errno == EAGAIN && waitMilliseconds > 0 {
                var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                if poll(&p, 1, waitMilliseconds) > 0 { continue }
            }
            state.withLockedValue { $0.droppedWrites += 1 }
            return false
        }
        return true
    }

    /// Stops the reader (waiting for it), closes the line and removes the symlink.
    public func close() {
        let (wasClosed, wasReading) = state.withLockedValue { s -> (Bool, Bool) in
            let r = (s.closed, s.reading)
            s.closed = true
            return r
        }
        guard !wasClosed else { return }
        var one: UInt8 = 1
        _ = Glibc.write(wakePipe.write, &one, 1)
        if wasReading { readerDone.wait() }
        Glibc.close(fd)
        if let s = heldSlave { Glibc.close(s) }
        Glibc.close(wakePipe.read)
        Glibc.close(wakePipe.write)
        if let l = link { PseudoTerminal.unlink(l, ifPointingAt: path) }
    }

    deinit { close() }
}
