#if canImport(Glibc)
import Glibc
#endif

/// A failed system call on a serial line: which call, on which path, and errno's text.
public struct SerialError: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var operation: String
    public var code: Int32
    public var message: String

    init(_ operation: String, path: String, code: Int32 = errno, message: String? = nil) {
        self.operation = operation; self.path = path; self.code = code
        self.message = message ?? String(cString: strerror(code))
    }
    public var description: String { "\(path): \(operation): \(message)" }
}

/// The one pseudo-terminal module every serial protocol uses: a PTY whose slave side a
/// sender opens as if it were the controller's tty. Raw mode is set on the slave, and the
/// slave stays open here so that reads on the master do not fail with EIO while no peer has
/// it open. `openpty` is used because `posix_openpt`/`grantpt`/`unlockpt` do not import
/// from Glibc (and calling C through `@_silgen_name` is not a supported ABI); it does the
/// same steps.
enum PseudoTerminal {
    struct Pair {
        var master: Int32
        var slave: Int32
        /// The slave's path, e.g. /dev/pts/3.
        var path: String
    }

    static func open() throws(SerialError) -> Pair {
        var master: Int32 = -1
        var slave: Int32 = -1
        guard openpty(&master, &slave, nil, nil, nil) == 0 else { throw SerialError("openpty", path: "pty") }
        var name = [CChar](repeating: 0, count: 256)
        let rc = ttyname_r(slave, &name, name.count)
        guard rc == 0 else {
            Glibc.close(master); Glibc.close(slave)
            throw SerialError("ttyname_r", path: "pty", code: rc)
        }
        let path = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        do {
            try Termios.makeRaw(slave, path: path, baud: nil)
            try Termios.setNonBlocking(master, path: path)
        } catch {
            Glibc.close(master); Glibc.close(slave)
            throw error
        }
        return Pair(master: master, slave: slave, path: path)
    }

    /// Points `link` at `target`, replacing an older symlink there (never another kind of file).
    static func link(_ link: String, to target: String) throws(SerialError) {
        var st = stat()
        if lstat(link, &st) == 0 {
            guard st.st_mode & S_IFMT == S_IFLNK else {
                throw SerialError("symlink", path: link, code: EEXIST, message: "exists and is not a symbolic link")
            }
            guard Glibc.unlink(link) == 0 else { throw SerialError("unlink", path: link) }
        }
        guard symlink(target, link) == 0 else { throw SerialError("symlink", path: link) }
    }

    /// Removes `link` if it still points at `target`.
    static func unlink(_ link: String, ifPointingAt target: String) {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink(link, &buffer, buffer.count - 1)
        guard n > 0 else { return }
        let current = String(decoding: buffer.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if current == target { _ = Glibc.unlink(link) }
    }
}

/// termios settings shared by PTYs and real ttys.
enum Termios {
    /// Raw 8N1, receiver on, modem lines ignored, at `baud` if given.
    static func makeRaw(_ fd: Int32, path: String, baud: Int?) throws(SerialError) {
        var t = termios()
        guard tcgetattr(fd, &t) == 0 else { throw SerialError("tcgetattr", path: path) }
        cfmakeraw(&t)
        t.c_cflag |= tcflag_t(CLOCAL | CREAD)
        t.c_cflag &= ~tcflag_t(CSTOPB | PARENB)
        if let b = baud, let speed = speed(b) {
            guard cfsetispeed(&t, speed) == 0, cfsetospeed(&t, speed) == 0 else { throw SerialError("cfsetspeed", path: path) }
        }
        guard tcsetattr(fd, TCSANOW, &t) == 0 else { throw SerialError("tcsetattr", path: path) }
        if let b = baud, speed(b) == nil { try setCustomRate(fd, path: path, baud: b) }
    }

    /// A rate without a termios constant (NovaStar MCTRL600/660: 1048576), through Linux's
    /// termios2 and BOTHER. The struct is read and written as bytes at its fixed offsets
    /// (asm-generic/termbits.h: c_cflag at 8, c_ispeed at 36, c_ospeed at 40; 44 bytes).
    static func setCustomRate(_ fd: Int32, path: String, baud: Int) throws(SerialError) {
        guard let rate = UInt32(exactly: baud), rate > 0 else {
            throw SerialError("TCSETS2", path: path, code: EINVAL, message: "\(baud) baud is not a rate")
        }
        var t2 = [UInt8](repeating: 0, count: termios2Size)
        guard termios2(fd, tcgets2, &t2) == 0 else {
            throw SerialError("TCGETS2", path: path, code: errno, message: "\(baud) baud is not a standard rate and the device takes no custom rate")
        }
        t2.withUnsafeMutableBytes { b in
            let cflag = b.load(fromByteOffset: 8, as: UInt32.self) & ~cbaud | bother
            b.storeBytes(of: cflag, toByteOffset: 8, as: UInt32.self)
            b.storeBytes(of: rate, toByteOffset: 36, as: UInt32.self)
            b.storeBytes(of: rate, toByteOffset: 40, as: UInt32.self)
        }
        guard termios2(fd, tcsets2, &t2) == 0 else {
            throw SerialError("TCSETS2", path: path, code: errno, message: "cannot set \(baud) baud")
        }
    }

    /// The rate the line is set to (termios2's output speed), nil when unreadable.
    static func customRate(_ fd: Int32) -> Int? {
        var t2 = [UInt8](repeating: 0, count: termios2Size)
        guard termios2(fd, tcgets2, &t2) == 0 else { return nil }
        return Int(t2.withUnsafeBytes { $0.load(fromByteOffset: 40, as: UInt32.self) })
    }

    private static func termios2(_ fd: Int32, _ request: UInt, _ t2: inout [UInt8]) -> Int32 {
        t2.withUnsafeMutableBytes { b in b.baseAddress.map { ioctl(fd, request, $0) } ?? -1 }
    }

    private static let termios2Size = 44
    private static let tcgets2: UInt = 0x802C_542A  // _IOR('T', 0x2A, struct termios2)
    private static let tcsets2: UInt = 0x402C_542B  // _IOW('T', 0x2B, struct termios2)
    private static let cbaud: UInt32 = 0o010017
    private static let bother: UInt32 = 0o010000

    static func setNonBlocking(_ fd: Int32, path: String) throws(SerialError) {
        let flags = fcntl(fd, F_GETFL)
        guard flags >= 0, fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0 else { throw SerialError("fcntl O_NONBLOCK", path: path) }
    }

    /// The termios constant of a standard rate.
    static func speed(_ baud: Int) -> speed_t? {
        let table: [Int: Int32] = [
            50: B50, 75: B75, 110: B110, 134: B134, 150: B150, 200: B200, 300: B300, 600: B600, 1200: B1200, 1800: B1800,
            2400: B2400, 4800: B4800, 9600: B9600, 19200: B19200, 38400: B38400, 57600: B57600, 115200: B115200,
            230400: B230400, 460800: B460800, 500000: B500000, 576000: B576000, 921600: B921600, 1000000: B1000000,
            1152000: B1152000, 1500000: B1500000, 2000000: B2000000, 2500000: B2500000, 3000000: B3000000,
            3500000: B3500000, 4000000: B4000000,
        ]
        return table[baud].map { speed_t($0) }
    }
}
