/// Remembers the text of the last few IP addresses seen, keyed by their raw bytes, so a
/// capture with a handful of hosts formats each address once instead of once per packet.
/// Fixed size (8 IPv4 and 4 IPv6 entries, replaced round-robin). One decoder's, not shared.
final class AddressTextCache {
    private var v4Keys = [UInt32](repeating: 0, count: 8)
    private var v4Texts = [String](repeating: "", count: 8)
    private var v4Used = 0
    private var v4Next = 0
    private var v6Keys = [(UInt64, UInt64)](repeating: (0, 0), count: 4)
    private var v6Texts = [String](repeating: "", count: 4)
    private var v6Used = 0
    private var v6Next = 0

    /// Text of the 4 bytes at `offset`. The caller has checked the bounds.
    func ipv4(_ bytes: [UInt8], at offset: Int) -> String {
        let key = UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16
            | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
        var index = 0
        while index < v4Used {
            if v4Keys[index] == key { return v4Texts[index] }
            index += 1
        }
        let text = IPAddressText.ipv4(bytes, at: offset)
        v4Keys[v4Next] = key
        v4Texts[v4Next] = text
        v4Used = min(v4Used + 1, v4Keys.count)
        v4Next = (v4Next + 1) % v4Keys.count
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
        var index = 0
        while index < v6Used {
            if v6Keys[index] == (high, low) { return v6Texts[index] }
            index += 1
        }
        let text = IPAddressText.ipv6(bytes, at: offset)
        v6Keys[v6Next] = (high, low)
        v6Texts[v6Next] = text
        v6Used = min(v6Used + 1, v6Keys.count)
        v6Next = (v6Next + 1) % v6Keys.count
        return text
    }
}
