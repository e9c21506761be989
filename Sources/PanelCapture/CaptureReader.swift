import CPCAP
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import PanelCore

/// One record of a capture file, copied out of libpcap's buffer.
public struct CapturedFrame: Sendable {
    /// 1-based position of the record in the file.
    public var recordNumber: Int
    /// Capture time, nanoseconds since the Unix epoch.
    public var time: Timestamp
    /// The DLT link type of the record's interface (see `LinkLayer`): the file's, except in
    /// a pcapng file whose interfaces have different link types.
    public var linkType: Int32
    /// Bytes present in the file for this record (`bytes.count`).
    public var capturedLength: Int
    /// Length of the packet on the wire; larger than `capturedLength` when the snapshot
    /// length cut it.
    public var originalLength: Int
    /// The captured bytes, starting with the link-layer header.
    public var bytes: [UInt8]

    public init(recordNumber: Int, time: Timestamp, linkType: Int32, originalLength: Int? = nil, bytes: [UInt8]) {
        self.recordNumber = recordNumber
        self.time = time
        self.linkType = linkType
        self.capturedLength = bytes.count
        self.originalLength = originalLength ?? bytes.count
        self.bytes = bytes
    }

    /// True when the snapshot length cut the packet.
    public var isTruncated: Bool { capturedLength < originalLength }
}

/// Reads pcap and pcapng files with nanosecond timestamps, through libpcap.
///
/// Why there is a second reader: libpcap gives a pcapng file one link type, that of its
/// first interface, and refuses the first block of an interface with another link type
/// ("an interface has a type N different from the type of the first interface"). A
/// capture taken on "any" interface, or merged from several, has such interfaces. So
/// before opening a pcapng file, its block headers are walked for the interface
/// descriptions; when their link types differ, the file is read by `PcapngBlockReader`, a
/// small strictly bounds-checked reader of its own, and each record carries the link type
/// of its interface. Everything else (pcap, and pcapng with one link type) goes through
/// libpcap. The walk reads only block headers, but over the whole file.
///
/// Not thread-safe: use one reader from one thread at a time.
public final class CaptureReader {
    /// The file being read.
    public let path: String
    /// The DLT link type of the file (of its first interface for pcapng).
    public let linkType: Int32
    /// The link types of all the file's interfaces, each once, in the order they are
    /// described (one for pcap). Records carry their own in `CapturedFrame.linkType`.
    public let interfaceLinkTypes: [Int32]
    /// The file's snapshot length.
    public let snapshotLength: Int
    /// Records returned so far.
    public private(set) var recordsRead: Int = 0

    private var handle: OpaquePointer?
    private var blockReader: PcapngBlockReader?
    private var finished = false
    private var stickyError: CaptureError?

    /// Opens a pcap or pcapng file. Throws a `CaptureError` naming the file when it
    /// cannot be opened or is not a capture file.
    public init(path: String) throws(CaptureError) {
        self.path = path
        if let scan = PcapngBlockReader.interfaceLinkTypes(path: path), scan.linkTypes.count > 1,
           let reader = PcapngBlockReader(path: path) {
            blockReader = reader
            linkType = scan.linkTypes[0]
            interfaceLinkTypes = scan.linkTypes
            snapshotLength = scan.snapshotLength
            return
        }
        var errbuf = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        let opened = errbuf.withUnsafeMutableBufferPointer { buffer in
            pcap_open_offline_with_tstamp_precision(path, UInt32(PCAP_TSTAMP_PRECISION_NANO), buffer.baseAddress)
        }
        guard let opened else {
            let message = errbuf.withUnsafeBufferPointer { buffer in
                buffer.baseAddress.map { String(cString: $0) } ?? ""
            }
            throw CaptureError(kind: .open, path: path,
                               message: message.isEmpty ? "cannot open capture file" : message)
        }
        handle = opened
        linkType = pcap_datalink(opened)
        interfaceLinkTypes = [linkType]
        snapshotLength = Int(pcap_snapshot(opened))
    }

    deinit {
        if let handle { pcap_close(handle) }
    }

    /// How much of the file has been read, 0...1 (nil when unknown, e.g. a pipe), for progress.
    public var fractionRead: Double? {
        guard fileSize > 0 else { return nil }
        let position: Int
        if let blockReader {
            position = blockReader.offset
        } else if let handle, let file = pcap_file(handle) {
            position = ftell(file)
        } else {
            return nil
        }
        return position < 0 ? nil : min(1, Double(position) / Double(fileSize))
    }

    private lazy var fileSize: Int = {
        var info = stat()
        return stat(path, &info) == 0 ? Int(info.st_size) : 0
    }()

    /// The file's link layer as PanelCapture classifies it.
    public var linkLayer: LinkLayer { LinkLayer(linkType: linkType) }

    /// The next record, or nil at the end of the file. A truncated or corrupt record
    /// throws a `CaptureError` naming its record number; after that every call throws
    /// the same error (the file cannot be resynchronised).
    public func next() throws(CaptureError) -> CapturedFrame? {
        var bytes: [UInt8] = []
        guard let header = try nextRecord(into: &bytes) else { return nil }
        return CapturedFrame(recordNumber: header.recordNumber, time: header.time, linkType: header.linkType,
                             originalLength: header.originalLength, bytes: bytes)
    }

    /// What `nextRecord(into:)` says about the record whose bytes it copied.
    struct RecordHeader {
        var recordNumber: Int
        var time: Timestamp
        var linkType: Int32
        var originalLength: Int
    }

    /// The next record's bytes, copied into `bytes` (replacing its contents, reusing its
    /// storage when nothing else holds it), or nil at the end of the file. Errors as `next()`.
    func nextRecord(into bytes: inout [UInt8]) throws(CaptureError) -> RecordHeader? {
        if let stickyError { throw stickyError }
        guard !finished else { return nil }
        let recordNumber = recordsRead + 1
        if let blockReader {
            do {
                guard let header = try blockReader.nextRecord(into: &bytes, recordNumber: recordNumber) else {
                    finished = true
                    return nil
                }
                recordsRead = recordNumber
                return header
            } catch {
                stickyError = error
                throw error
            }
        }
        guard let handle else { return nil }
        switch Self.read(handle, into: &bytes) {
        case .record(let time, let originalLength):
            recordsRead = recordNumber
            return RecordHeader(recordNumber: recordNumber, time: time, linkType: linkType, originalLength: originalLength)
        case .end:
            finished = true
            return nil
        case .failed(let message):
            throw fail(recordNumber, message)
        }
    }

    /// Reads every remaining record into one reused buffer and calls `body` with its header
    /// and bytes; a slice of them that `body` keeps stays valid (the next record then copies
    /// on write). Throws at damage, after `body` saw every record before it. The libpcap
    /// loop keeps its state in locals: the per-record cost is libpcap's and the copy.
    func forEachRecord(_ body: (RecordHeader, [UInt8]) -> Void) throws(CaptureError) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(2048)
        guard blockReader == nil else {
            while let header = try nextRecord(into: &bytes) { body(header, bytes) }
            return
        }
        if let stickyError { throw stickyError }
        guard !finished, let handle else { return }
        let linkType = self.linkType
        var recordNumber = recordsRead
        defer { recordsRead = recordNumber }
        while true {
            switch Self.read(handle, into: &bytes) {
            case .record(let time, let originalLength):
                recordNumber += 1
                body(RecordHeader(recordNumber: recordNumber, time: time, linkType: linkType,
                                  originalLength: originalLength), bytes)
            case .end:
                finished = true
                return
            case .failed(let message):
                throw fail(recordNumber + 1, message)
            }
        }
    }

    private enum ReadResult {
        case record(time: Timestamp, originalLength: Int)
        case end
        case failed(String)
    }

    /// One `pcap_next_ex`, the record's bytes copied into `bytes`.
    private static func read(_ handle: OpaquePointer, into bytes: inout [UInt8]) -> ReadResult {
        var header: UnsafeMutablePointer<pcap_pkthdr>?
        var data: UnsafePointer<UInt8>?
        let status = pcap_next_ex(handle, &header, &data)
        switch status {
        case 1:
            guard let header, let data else { return .failed("libpcap returned a record without header or data") }
            let captured = Int(header.pointee.caplen)
            let original = Int(header.pointee.len)
            bytes.removeAll(keepingCapacity: true)
            bytes.append(contentsOf: UnsafeBufferPointer(start: data, count: captured))
            return .record(time: timestamp(header.pointee.ts), originalLength: max(original, captured))
        case PCAP_ERROR_BREAK:  // -2: end of file
            return .end
        default:
            let message = pcap_geterr(handle).map { String(cString: $0) } ?? ""
            return .failed(message.isEmpty ? "pcap_next_ex failed (\(status))" : message)
        }
    }

    /// Reads every remaining record. On damage, throws after handing over nothing; use
    /// `next()` in a loop to keep the records before the damage.
    public func readAll() throws(CaptureError) -> [CapturedFrame] {
        var frames: [CapturedFrame] = []
        while let frame = try next() { frames.append(frame) }
        return frames
    }

    private func fail(_ recordNumber: Int, _ message: String) -> CaptureError {
        let error = CaptureError(kind: .read, path: path, recordNumber: recordNumber, message: message)
        stickyError = error
        return error
    }

    /// With nanosecond precision libpcap puts nanoseconds in `tv_usec`. Saturates
    /// instead of trapping on absurd pcapng timestamps.
    static func timestamp(_ ts: timeval) -> Timestamp {
        let seconds = Int64(ts.tv_sec)
        let fraction = Int64(ts.tv_usec)
        let (scaled, overflow1) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow1 { return Timestamp(nanoseconds: seconds < 0 ? .min : .max) }
        let (sum, overflow2) = scaled.addingReportingOverflow(fraction)
        if overflow2 { return Timestamp(nanoseconds: fraction < 0 ? .min : .max) }
        return Timestamp(nanoseconds: sum)
    }
}
