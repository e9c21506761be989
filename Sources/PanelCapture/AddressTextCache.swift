/// Remembers the text of the last few IP addresses seen, keyed by their raw bytes, so a
/// capture with a handful of hosts formats each address once instead of once per packet.
/// Fixed size (8 IPv4 and 4 IPv6 entries, replaced round-robin). One decoder's, not shared.
///
/// The entries live in fixed allocations reached through `let` pointers: the per-packet
/// lookup then needs no exclusivity check and no reference counting of arrays.
final class AddressTextCache {
    private static let v4Capacity = 8
    private static let v6Capacity = 4
    private let v4Keys: UnsafeMutablePointer<UInt32>
    private let v4Texts: UnsafeMutablePointer<String>
    /// Two words per entry: the address's high and low 64 bits.
    private let v6Keys: UnsafeMutablePointer<UInt64>
    private let v6Texts: UnsafeMutablePointer<String>
    /// Entries in use and next to replace: [v4 used, v4 next, v6 used, v6 next].
    private let counters: UnsafeMutablePointer<Int>

    init() {
        v4Keys = .allocate(capacity: Self.v4Capacity)
        v4Keys.initialize(repeating: 0, count: Self.v4Capacity)
        v4Texts = .allocate(capacity: Self.v4Capacity)
        v4Texts.initialize(repeating: "", count: Self.v4Capacity)
        v6Keys = .allocate(capacity: 2 * Self.v6Capacity)
        v6Keys.initialize(repeating: 0, count: 2 * Self.v6Capacity)
        v6Texts = .allocate(capacity: Self.v6Capacity)
        v6Texts.initialize(repeating: "", count: Self.v6Capacity)
        counters = .allocate(capacity: 4)
        counters.initialize(repeating: 0, count: 4)
    }

    deinit {
        v4Keys.deallocate()
        v4Texts.deinitialize(count: Self.v4Capacity)
        v4Texts.deallocate()
        v6Keys.deallocate()
        v6Texts.deinitialize(count: Self.v6Capacity)
        v6Texts.deallocate()
        counters.deallocate()
    }

    /// Text of the 4 bytes at `offset`. The caller has checked the bounds.
    func ipv4(_ bytes: [UInt8], at offset: Int) -> String {
        let key = UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16
            | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
        let used = counters[0]
        var index = 0
        while index < used {
            if v4Keys[index] == key { return v4Texts[index] }
            index += 1
        }
        let text = IPAddressText.ipv4(bytes, at: offset)
        let slot = counters[1]
        v4Keys[slot] = key
        v4Texts[slot] = text
        counters[0] = min(used + 1, Self.v4Capacity)
        counters[1] = (slot + 1) % Self.v4Capacity
        return text
    }

    /// Text of the 16 bytes at `offset`. The caller has checked the bounds.
    func ipv6(_ bytes: [UInt8], at offset: Int) -> String {
        var high: UInt64 = 0
        var low: UInt64 = 0
        for index in 0..<8 {
            high = high << 8 | UInt64(bytes[offset + index])
            low = low << 8 | UInt64(bytes[offset + 8 + index])
        }
        let used = counters[2]
        var index = 0
        while index < used {
            if v6Keys[2 * index] == high, v6Keys[2 * index + 1] == low { return v6Texts[index] }
            index += 1
        }
        let text = IPAddressText.ipv6(bytes, at: offset)
        let slot = counters[3]
        v6Keys[2 * slot] = high
        v6Keys[2 * slot + 1] = low
        v6Texts[slot] = text
        counters[2] = min(used + 1, Self.v6Capacity)
        counters[3] = (slot + 1) % Self.v6Capacity
        return text
    }
}
