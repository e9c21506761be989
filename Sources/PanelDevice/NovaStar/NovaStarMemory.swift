/// Sparse byte-addressed register memory of one card: 256-byte pages created on first write,
/// unwritten bytes read as 0. At most `maxPages` pages, so memory stays bounded whatever is written.
struct NovaStarMemory: Sendable {
    static let pageSize: UInt32 = 256
    static let maxPages = 1024
    private var storage: [UInt32: [UInt8]] = [:]

    init(blocks: [UInt32: [UInt8]] = [:]) {
        for (address, bytes) in blocks { _ = write(address, bytes) }
    }

    func read(_ address: UInt32, count: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(count)
        var a = address
        for _ in 0..<count {
            out.append(storage[a / Self.pageSize]?[Int(a % Self.pageSize)] ?? 0)
            a &+= 1
        }
        return out
    }

    /// The pages written so far, by start address.
    var pages: [UInt32: [UInt8]] {
        var out: [UInt32: [UInt8]] = [:]
        for (page, bytes) in storage { out[page &* Self.pageSize] = bytes }
        return out
    }

    func byte(_ address: UInt32) -> UInt8 { storage[address / Self.pageSize]?[Int(address % Self.pageSize)] ?? 0 }

    /// Stores `bytes` from `address` (wrapping at 2³²); false when a page was needed beyond the cap.
    mutating func write(_ address: UInt32, _ bytes: [UInt8]) -> Bool {
        var a = address
        for b in bytes {
            let page = a / Self.pageSize
            if storage[page] == nil {
                guard storage.count < Self.maxPages else { return false }
                storage[page] = [UInt8](repeating: 0, count: Int(Self.pageSize))
            }
            storage[page]?[Int(a % Self.pageSize)] = b
            a &+= 1
        }
        return true
    }
}
