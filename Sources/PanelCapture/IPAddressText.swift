#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Text forms of IP addresses, and back.
enum IPAddressText {
    /// Dotted-quad text of the 4 bytes at `offset`. The caller has checked the bounds.
    static func ipv4(_ bytes: [UInt8], at offset: Int) -> String {
        "\(bytes[offset]).\(bytes[offset + 1]).\(bytes[offset + 2]).\(bytes[offset + 3])"
    }

    /// RFC 5952 text (via inet_ntop) of the 16 bytes at `offset`. The caller has checked
    /// the bounds.
    static func ipv6(_ bytes: [UInt8], at offset: Int) -> String {
        var raw = [UInt8](bytes[offset..<(offset + 16)])
        var text = [CChar](repeating: 0, count: 64)
        let ok = raw.withUnsafeMutableBytes { rawBuffer in
            text.withUnsafeMutableBufferPointer { textBuffer in
                inet_ntop(AF_INET6, rawBuffer.baseAddress, textBuffer.baseAddress, socklen_t(textBuffer.count)) != nil
            }
        }
        raw.removeAll()
        guard ok else { return "?" }
        return text.withUnsafeBufferPointer { buffer in
            buffer.baseAddress.map { String(cString: $0) } ?? "?"
        }
    }

    /// Parses dotted IPv4 text into 4 bytes.
    static func parseIPv4(_ text: String) -> [UInt8]? {
        var address = in_addr()
        guard inet_pton(AF_INET, text, &address) == 1 else { return nil }
        return withUnsafeBytes(of: &address) { Array($0) }
    }

    /// Parses IPv6 text into 16 bytes.
    static func parseIPv6(_ text: String) -> [UInt8]? {
        var address = in6_addr()
        guard inet_pton(AF_INET6, text, &address) == 1 else { return nil }
        return withUnsafeBytes(of: &address) { Array($0) }
    }
}
