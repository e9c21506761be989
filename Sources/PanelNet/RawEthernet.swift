import CPCAP

/// Why raw Ethernet could not be opened on an interface, or a frame could not be sent.
public struct RawEthernetError: Error, CustomStringConvertible, Sendable {
    public var interface: String
    public var reason: String
    public init(interface: String, reason: String) { self.interface = interface; self.reason = reason }
    public var description: String { "raw Ethernet on \(interface): \(reason)" }
}

/// Sends whole Ethernet frames (destination MAC first, no FCS) on one named interface through
/// libpcap (`pcap_open_live` + `pcap_inject`). Needs CAP_NET_RAW. Not thread-safe.
public final class RawEthernetPort {
    /// The interface frames leave through.
    public let interface: String
    private var handle: OpaquePointer?

    /// The shortest frame sent: two MAC addresses and the type/length field.
    public static let minimumFrameLength = 14

    /// Opens the interface for injection; throws when it does not exist, is down, or the
    /// process may not send raw frames.
    public init(interface: String) throws(RawEthernetError) {
        self.interface = interface
        var errorText = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        // A small snapshot and no promiscuous mode: the handle is only written to.
        guard let h = pcap_open_live(interface, 128, 0, 100, &errorText) else {
            throw RawEthernetError(interface: interface, reason: String(decoding: errorText.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        guard pcap_datalink(h) == DLT_EN10MB else {
            pcap_close(h)
            throw RawEthernetError(interface: interface, reason: "not an Ethernet interface")
        }
        handle = h
    }

    deinit { close() }

    /// Sends one frame as is; throws when it is shorter than 14 bytes or the system refuses it
    /// (longer than the interface's MTU, interface down …).
    public func send(_ frame: UnsafeRawBufferPointer) throws(RawEthernetError) {
        guard let h = handle else { throw RawEthernetError(interface: interface, reason: "port is closed") }
        guard frame.count >= RawEthernetPort.minimumFrameLength, let base = frame.baseAddress else {
            throw RawEthernetError(interface: interface, reason: "frame of \(frame.count) bytes is shorter than an Ethernet header")
        }
        let sent = pcap_inject(h, base, frame.count)
        guard sent == Int32(clamping: frame.count) else {
            throw RawEthernetError(interface: interface, reason: sent < 0 ? String(cString: pcap_geterr(h)) : "only \(sent) of \(frame.count) bytes sent")
        }
    }

    /// Releases the interface; `send` afterwards throws. Calling it again does nothing.
    public func close() {
        if let h = handle { pcap_close(h) }
        handle = nil
    }
}
