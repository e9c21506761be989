/// A failure to open, read or write a capture file. It names the file and, for damage
/// inside the file, the 1-based number of the record that could not be read. Records
/// returned before the error stay valid.
public struct CaptureError: Error, CustomStringConvertible, Equatable, Sendable {
    /// What went wrong, coarsely.
    public enum Kind: Equatable, Sendable {
        /// The file could not be opened or is not a pcap/pcapng file.
        case open
        /// A record (or the block before it) is truncated or corrupt.
        case read
        /// Writing or flushing failed, or the writer is closed.
        case write
        /// The caller passed something the file format cannot hold (a payload too large
        /// for one datagram, a time before 1970, an address that does not parse …).
        case invalidArgument
    }

    public var kind: Kind
    /// The capture file concerned.
    public var path: String
    /// The 1-based record number at which reading or writing failed, if the error is
    /// about one record.
    public var recordNumber: Int?
    /// libpcap's message, or ours.
    public var message: String

    public init(kind: Kind, path: String, recordNumber: Int? = nil, message: String) {
        self.kind = kind
        self.path = path
        self.recordNumber = recordNumber
        self.message = message
    }

    /// `FILE: record N: message`, or `FILE: message`.
    public var description: String {
        if let recordNumber {
            return "\(path): record \(recordNumber): \(message)"
        }
        return "\(path): \(message)"
    }
}
