import PanelCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a minimal little-endian pcapng file: one section header, one interface
/// description per link type given (nanosecond timestamps, `if_tsresol` 9), then enhanced
/// packet blocks. For captures whose interfaces have different link types, which the pcap
/// format (and libpcap's writer) cannot hold. Not thread-safe.
public final class PcapngWriter {
    /// The file being written.
    public let path: String
    /// The DLT link type of each interface, by interface number.
    public let interfaceLinkTypes: [Int32]
    /// Records written so far.
    public private(set) var recordsWritten = 0

    private var file: UnsafeMutablePointer<FILE>?

    /// Creates (or truncates) `path` and writes the section header and one interface
    /// description per entry of `interfaceLinkTypes` (DLT values as `LinkLayer.linkType`
    /// gives them; DLT_RAW is stored as LINKTYPE_RAW 101).
    public init(path: String, interfaceLinkTypes: [Int32]) throws(CaptureError) {
        self.path = path
        self.interfaceLinkTypes = interfaceLinkTypes
        guard !interfaceLinkTypes.isEmpty, interfaceLinkTypes.allSatisfy({ (0...0xFFFF).contains($0) }) else {
            throw CaptureError(kind: .invalidArgument, path: path, message: "interface link types must be 1 or more values 0…65535")
        }
        guard let file = fopen(path, "wb") else {
            throw CaptureError(kind: .open, path: path, message: String(cString: strerror(errno)))
        }
        self.file = file
        var header: [UInt8] = []
        // Section header: byte-order magic, version 1.0, section length unknown (-1).
        Self.appendBlock(&header, type: 0x0A0D_0D0A,
                         body: Self.le32(0x1A2B_3C4D) + [1, 0, 0, 0] + [UInt8](repeating: 0xFF, count: 8))
        for linkType in interfaceLinkTypes {
            let fileType = linkType == LinkLayer.rawIP.linkType ? 101 : linkType
            // Link type, reserved, snapshot length 0 (none); if_tsresol = 9, end of options.
            let body = Self.le16(UInt16(truncatingIfNeeded: fileType)) + [0, 0] + Self.le32(0)
                + Self.le16(9) + Self.le16(1) + [9, 0, 0, 0] + Self.le16(0) + Self.le16(0)
            Self.appendBlock(&header, type: 1, body: body)
        }
        try put(header, recordNumber: nil)
    }

    deinit {
        if let file { fclose(file) }
    }

    /// Appends an enhanced packet block for interface `interface` (an index into
    /// `interfaceLinkTypes`). `time` must not be before 1970.
    public func write(time: Timestamp, interface: Int, bytes: [UInt8]) throws(CaptureError) {
        let recordNumber = recordsWritten + 1
        guard interfaceLinkTypes.indices.contains(interface) else {
            throw CaptureError(kind: .invalidArgument, path: path, recordNumber: recordNumber,
                               message: "interface \(interface) does not exist (\(interfaceLinkTypes.count) described)")
        }
        guard time.nanoseconds >= 0 else {
            throw CaptureError(kind: .invalidArgument, path: path, recordNumber: recordNumber, message: "time \(time) is before 1970")
        }
        guard bytes.count <= PcapngBlockReader.maxBlockLength - 64 else {
            throw CaptureError(kind: .invalidArgument, path: path, recordNumber: recordNumber,
                               message: "record of \(bytes.count) bytes is too long")
        }
        let units = UInt64(time.nanoseconds)
        let padding = [UInt8](repeating: 0, count: (4 - bytes.count % 4) % 4)
        let length = Self.le32(UInt32(bytes.count))
        var block: [UInt8] = []
        Self.appendBlock(&block, type: 6, body: Self.le32(UInt32(interface))
            + Self.le32(UInt32(truncatingIfNeeded: units >> 32)) + Self.le32(UInt32(truncatingIfNeeded: units))
            + length + length + bytes + padding)
        try put(block, recordNumber: recordNumber)
        recordsWritten = recordNumber
    }

    /// Flushes and closes the file; calling it again does nothing.
    public func close() throws(CaptureError) {
        guard let file else { return }
        self.file = nil
        let failed = fflush(file) != 0 || ferror(file) != 0
        let reason = failed ? String(cString: strerror(errno)) : ""
        fclose(file)
        if failed { throw CaptureError(kind: .write, path: path, message: "flush failed: \(reason)") }
    }

    private func put(_ bytes: [UInt8], recordNumber: Int?) throws(CaptureError) {
        guard let file else {
            throw CaptureError(kind: .write, path: path, recordNumber: recordNumber, message: "writer is closed")
        }
        let written = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        guard written == bytes.count else {
            throw CaptureError(kind: .write, path: path, recordNumber: recordNumber,
                               message: "write failed: \(String(cString: strerror(errno)))")
        }
    }

    /// Type, total length, body (a multiple of 4 bytes), total length.
    private static func appendBlock(_ out: inout [UInt8], type: UInt32, body: [UInt8]) {
        let total = le32(UInt32(truncatingIfNeeded: 12 + body.count))
        out += le32(type) + total + body + total
    }

    private static func le16(_ value: UInt16) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8)] }
    private static func le32(_ value: UInt32) -> [UInt8] {
        [UInt8(value & 0xFF), UInt8((value >> 8) & 0xFF), UInt8((value >> 16) & 0xFF), UInt8(value >> 24)]
    }
}
