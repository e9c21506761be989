import PanelCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A small pcapng reader for the one case libpcap refuses: interfaces of different link
/// types in one file. It reads section header (SHB), interface description (IDB, with the
/// `if_tsresol` option), enhanced packet (EPB) and simple packet (SPB) blocks, in either byte
/// order, and skips every other block. Each record carries its own interface's link type.
///
/// Every length is checked before use: a block is a multiple of 4 bytes, at least 12 and at
/// most `maxBlockLength`, and its trailing length equals its leading one. Damage throws a
/// `CaptureError` naming the record that could not be read; records before it stay valid.
final class PcapngBlockReader {
    static let sectionHeaderType: UInt32 = 0x0A0D_0D0A
    static let byteOrderMagic: UInt32 = 0x1A2B_3C4D
    static let maxBlockLength = 16 << 20
    /// More interfaces than this in one section are taken as damage.
    static let maxInterfaces = 4096

    struct Interface {
        var linkType: Int32
        var snapshotLength: Int
        /// Timestamp units: 10^-`exponent` s, or 2^-`exponent` s when `binary`.
        var exponent: Int = 6
        var binary = false
    }

    let path: String
    private let file: UnsafeMutablePointer<FILE>
    private var bigEndian = false
    private var interfaces: [Interface] = []
    /// The block being read (its first bytes; the buffer keeps the largest size seen).
    private var block: [UInt8] = []
    /// Byte offset of the next block in the file.
    /// Bytes of the file consumed so far.
    private(set) var offset = 0
    private var lastTime = Timestamp.zero

    /// Opens `path`; nil when it cannot be opened.
    init?(path: String) {
        guard let file = fopen(path, "rb") else { return nil }
        self.path = path
        self.file = file
        setvbuf(file, nil, _IOFBF, 1 << 20)
    }

    deinit { fclose(file) }

    /// The link types of every interface of a pcapng file, in the order their IDBs appear
    /// (each once), and the first interface's snapshot length, found by walking the block
    /// headers. Nil when the file is not pcapng. Stops at the first damaged block: the
    /// reader proper reports the damage.
    static func interfaceLinkTypes(path: String) -> (linkTypes: [Int32], snapshotLength: Int)? {
        guard let reader = PcapngBlockReader(path: path) else { return nil }
        var types: [Int32] = []
        var snapshotLength: Int?
        var head = [UInt8](repeating: 0, count: 16)
        var first = true
        while true {
            let got = head.withUnsafeMutableBytes { fread($0.baseAddress, 1, 16, reader.file) }
            if first {
                guard got == 16, reader.u32(head, 0) == sectionHeaderType else { return nil }
                first = false
            }
            guard got == 16 else { break }
            let type = reader.u32(head, 0)
            if type == sectionHeaderType {
                guard reader.setByteOrder(reader.u32(head, 8)) else { break }
            }
            let length = Int(reader.u32(head, 4))
            guard length >= 12, length % 4 == 0, length <= maxBlockLength else { break }
            if type == 1 {
                let linkType = linkType(fromFile: reader.u16(head, 8))
                if !types.contains(linkType) { types.append(linkType) }
                if snapshotLength == nil { snapshotLength = Int(reader.u32(head, 12)) }
            }
            guard fseeko(reader.file, off_t(length - 16), SEEK_CUR) == 0 else { break }
        }
        return (types, snapshotLength ?? 0)
    }

    /// Reads blocks up to the next packet; copies its bytes into `bytes`. Nil at the end.
    func nextRecord(into bytes: inout [UInt8], recordNumber: Int) throws(CaptureError) -> CaptureReader.RecordHeader? {
        while true {
            let blockStart = offset
            let got = fill(0..<8)
            if got == 0, feof(file) != 0 { return nil }
            guard got == 8 else { throw damage(recordNumber, blockStart, "file ends inside a block header") }
            let type = u32(block, 0)  // the SHB type reads the same in both byte orders
            var headLength = 8
            if type == Self.sectionHeaderType {
                guard fill(8..<12) == 4 else { throw damage(recordNumber, blockStart, "file ends inside a section header") }
                guard setByteOrder(u32(block, 8)) else {
                    throw damage(recordNumber, blockStart, "section header has no valid byte-order magic")
                }
                headLength = 12
            }
            let length = Int(u32(block, 4))
            guard length >= 12, length % 4 == 0, length <= Self.maxBlockLength else {
                throw damage(recordNumber, blockStart, "block length \(length) is not a multiple of 4 between 12 and \(Self.maxBlockLength)")
            }
            guard length - headLength >= 4 else {
                throw damage(recordNumber, blockStart, "block length \(length) is too short for its type")
            }
            guard fill(headLength..<length) == length - headLength else {
                throw damage(recordNumber, blockStart, "file ends inside a block of \(length) bytes")
            }
            guard Int(u32(block, length - 4)) == length else {
                throw damage(recordNumber, blockStart, "trailing block length \(u32(block, length - 4)) differs from \(length)")
            }
            offset = blockStart + length
            let bodyEnd = length - 4
            switch type {
            case Self.sectionHeaderType:
                guard length >= 28 else { throw damage(recordNumber, blockStart, "section header of \(length) bytes is below 28") }
                interfaces = []  // interface numbers restart in each section
            case 1:
                try readInterface(bodyEnd: bodyEnd, recordNumber: recordNumber, blockStart: blockStart)
            case 6:
                return try enhancedPacket(bodyEnd: bodyEnd, into: &bytes, recordNumber: recordNumber, blockStart: blockStart)
            case 3:
                return try simplePacket(bodyEnd: bodyEnd, into: &bytes, recordNumber: recordNumber, blockStart: blockStart)
            default:
                continue
            }
        }
    }

    // MARK: blocks

    private func readInterface(bodyEnd: Int, recordNumber: Int, blockStart: Int) throws(CaptureError) {
        guard bodyEnd >= 16 else { throw damage(recordNumber, blockStart, "interface description shorter than 20 bytes") }
        guard interfaces.count < Self.maxInterfaces else {
            throw damage(recordNumber, blockStart, "more than \(Self.maxInterfaces) interfaces in one section")
        }
        var interface = Interface(linkType: Self.linkType(fromFile: u16(block, 8)),
                                  snapshotLength: Int(u32(block, 12)))
        var option = 16
        while bodyEnd - option >= 4 {
            let code = u16(block, option)
            let length = Int(u16(block, option + 2))
            let value = option + 4
            guard length <= bodyEnd - value else {
                throw damage(recordNumber, blockStart, "interface option \(code) of \(length) bytes runs past the block")
            }
            if code == 0 { break }
            if code == 9, length >= 1 {  // if_tsresol
                interface.binary = block[value] & 0x80 != 0
                interface.exponent = Int(block[value] & 0x7F)
            }
            option = value + (length + 3) / 4 * 4
        }
        interfaces.append(interface)
    }

    private func enhancedPacket(bodyEnd: Int, into bytes: inout [UInt8], recordNumber: Int,
                                blockStart: Int) throws(CaptureError) -> CaptureReader.RecordHeader {
        guard bodyEnd >= 28 else { throw damage(recordNumber, blockStart, "enhanced packet block shorter than 32 bytes") }
        let id = Int(u32(block, 8))
        guard id < interfaces.count else {
            throw damage(recordNumber, blockStart, "packet of interface \(id), but the section describes \(interfaces.count)")
        }
        let captured = Int(u32(block, 20))
        let original = Int(u32(block, 24))
        guard captured <= bodyEnd - 28 else {
            throw damage(recordNumber, blockStart, "captured length \(captured) runs past the block")
        }
        let units = UInt64(u32(block, 12)) << 32 | UInt64(u32(block, 16))
        let time = Self.nanoseconds(units, interfaces[id])
        lastTime = time
        bytes.removeAll(keepingCapacity: true)
        bytes.append(contentsOf: block[28..<(28 + captured)])
        return CaptureReader.RecordHeader(recordNumber: recordNumber, time: time, linkType: interfaces[id].linkType,
                                          originalLength: max(original, captured))
    }

    /// A simple packet has no timestamp: it gets the time of the record before it.
    private func simplePacket(bodyEnd: Int, into bytes: inout [UInt8], recordNumber: Int,
                              blockStart: Int) throws(CaptureError) -> CaptureReader.RecordHeader {
        guard let interface = interfaces.first else {
            throw damage(recordNumber, blockStart, "simple packet block before any interface description")
        }
        guard bodyEnd >= 12 else { throw damage(recordNumber, blockStart, "simple packet block shorter than 16 bytes") }
        let original = Int(u32(block, 8))
        var captured = min(original, bodyEnd - 12)
        if interface.snapshotLength > 0 { captured = min(captured, interface.snapshotLength) }
        bytes.removeAll(keepingCapacity: true)
        bytes.append(contentsOf: block[12..<(12 + captured)])
        return CaptureReader.RecordHeader(recordNumber: recordNumber, time: lastTime, linkType: interface.linkType,
                                          originalLength: max(original, captured))
    }

    // MARK: helpers

    /// Reads `range.count` bytes of the file into `block[range]` (growing `block`, which
    /// never exceeds `maxBlockLength`); returns how many were read.
    private func fill(_ range: Range<Int>) -> Int {
        if block.count < range.upperBound {
            block += [UInt8](repeating: 0, count: range.upperBound - block.count)
        }
        return block.withUnsafeMutableBytes { buffer in
            fread(buffer.baseAddress.map { $0 + range.lowerBound }, 1, range.count, file)
        }
    }

    /// Timestamp units of an interface to nanoseconds since 1970, saturating.
    static func nanoseconds(_ units: UInt64, _ interface: Interface) -> Timestamp {
        let result: UInt64
        if interface.binary {
            guard interface.exponent < 64 else { return Timestamp(nanoseconds: 0) }
            let product = units.multipliedFullWidth(by: 1_000_000_000)
            let divisor = UInt64(1) << UInt64(interface.exponent)
            guard product.high < divisor else { return Timestamp(nanoseconds: .max) }
            result = divisor.dividingFullWidth((product.high, product.low)).quotient
        } else if interface.exponent <= 9 {
            var scale: UInt64 = 1
            for _ in interface.exponent..<9 { scale *= 10 }
            let (product, overflow) = units.multipliedReportingOverflow(by: scale)
            result = overflow ? .max : product
        } else {
            var value = units
            for _ in 9..<min(interface.exponent, 40) { value /= 10 }
            result = value
        }
        return Timestamp(nanoseconds: result > UInt64(Int64.max) ? .max : Int64(result))
    }

    /// The DLT value libpcap would report for a file's LINKTYPE value (only LINKTYPE_RAW
    /// differs among those PanelCapture decodes).
    static func linkType(fromFile value: UInt16) -> Int32 {
        value == 101 ? LinkLayer.rawIP.linkType : Int32(value)
    }

    private func setByteOrder(_ magic: UInt32) -> Bool {
        if magic == Self.byteOrderMagic { return true }
        if magic == Self.byteOrderMagic.byteSwapped { bigEndian.toggle(); return true }
        return false
    }

    private func u16(_ bytes: [UInt8], _ at: Int) -> UInt16 {
        let value = UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8
        return bigEndian ? value.byteSwapped : value
    }

    private func u32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
        let value = UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
        return bigEndian ? value.byteSwapped : value
    }

    private func damage(_ recordNumber: Int, _ blockStart: Int, _ message: String) -> CaptureError {
        CaptureError(kind: .read, path: path, recordNumber: recordNumber, message: "pcapng block at byte \(blockStart): \(message)")
    }
}
