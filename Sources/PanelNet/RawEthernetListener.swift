import CPCAP
import Dispatch
import Foundation
import Glibc
import NIOConcurrencyHelpers
import NIOCore

/// Receives whole Ethernet frames on one named interface through libpcap (immediate mode,
/// a BPF filter), and sends replies through a `RawEthernetPort` of its own. Needs root or
/// CAP_NET_RAW. Frames are read on a thread of the listener's and handed to an event loop;
/// at most `maxPending` wait there, beyond that the thread stops reading and the kernel's
/// ring drops (counted in `kernelDrops`): memory stays bounded.
public final class RawEthernetListener: @unchecked Sendable {
    public let interface: String
    public let filter: String
    /// Frames read but not yet handled on the loop, at most.
    public static let maxPending = 1024
    /// Bytes kept of each frame: a whole untagged or tagged standard frame.
    public static let snapshotLength = 2048
    private var handle: OpaquePointer?
    private let port: RawEthernetPort
    private let credits = DispatchSemaphore(value: RawEthernetListener.maxPending)
    private let readerDone = DispatchSemaphore(value: 0)
    private let state = NIOLockedValueBox((closed: false, reading: false))

    /// Opens the interface for capture with `filter` (BPF syntax) and for injection; throws
    /// naming the interface, and saying that root or CAP_NET_RAW is needed when permission is refused.
    public init(interface: String, filter: String) throws(RawEthernetError) {
        self.interface = interface
        self.filter = filter
        var errorText = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        guard let h = pcap_create(interface, &errorText) else {
            throw RawEthernetError(interface: interface, reason: Self.text(errorText))
        }
        // Ring slots are sized by the snapshot length: a small one and a large buffer keep
        // bursts of full-size frames (1514 bytes) from being dropped by the kernel.
        pcap_set_snaplen(h, Int32(RawEthernetListener.snapshotLength))
        pcap_set_buffer_size(h, 32 << 20)
        pcap_set_promisc(h, 0)
        pcap_set_timeout(h, 100)
        pcap_set_immediate_mode(h, 1)
        let rc = pcap_activate(h)
        if rc < 0 {
            let detail = String(cString: pcap_geterr(h))
            pcap_close(h)
            if rc == PCAP_ERROR_PERM_DENIED {
                throw RawEthernetError(interface: interface, reason: "capturing raw Ethernet needs root or CAP_NET_RAW (\(detail))")
            }
            throw RawEthernetError(interface: interface, reason: rc == PCAP_ERROR_NO_SUCH_DEVICE ? "no such interface (\(detail))" : detail)
        }
        guard pcap_datalink(h) == DLT_EN10MB else {
            pcap_close(h)
            throw RawEthernetError(interface: interface, reason: "not an Ethernet interface")
        }
        var program = bpf_program()
        guard pcap_compile(h, &program, filter, 1, PCAP_NETMASK_UNKNOWN) == 0 else {
            let detail = String(cString: pcap_geterr(h))
            pcap_close(h)
            throw RawEthernetError(interface: interface, reason: "capture filter \"\(filter)\": \(detail)")
        }
        let set = pcap_setfilter(h, &program)
        pcap_freecode(&program)
        guard set == 0, pcap_setnonblock(h, 1, &errorText) == 0 else {
            let detail = String(cString: pcap_geterr(h))
            pcap_close(h)
            throw RawEthernetError(interface: interface, reason: "capture filter \"\(filter)\": \(detail)")
        }
        do { port = try RawEthernetPort(interface: interface) } catch {
            pcap_close(h)
            throw error
        }
        handle = h
    }

    private static func text(_ chars: [CChar]) -> String {
        String(decoding: chars.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Starts the reader thread: `onFrame` gets each frame (from its destination address) and
    /// when it was read, on `loop`. Calling it again does nothing.
    public func startReading(on loop: EventLoop, onFrame: @escaping @Sendable ([UInt8], NIODeadline) -> Void) {
        let start = state.withLockedValue { s -> Bool in
            guard !s.closed, !s.reading, handle != nil else { return false }
            s.reading = true
            return true
        }
        guard start, let h = handle else { return }
        let fd = pcap_get_selectable_fd(h)
        let thread = Thread { [self] in
            readLoop(fd: fd, loop: loop, onFrame: onFrame)
            readerDone.signal()
        }
        thread.name = "panelsim.ethernet"
        thread.start()
    }

    private func readLoop(fd: Int32, loop: EventLoop, onFrame: @escaping @Sendable ([UInt8], NIODeadline) -> Void) {
        // `handle` stays set until `close` has waited for this thread.
        guard let h = handle else { return }
        while !state.withLockedValue({ $0.closed }) {
            var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0)]
            guard poll(&fds, 1, 100) > 0 else { continue }
            while !state.withLockedValue({ $0.closed }) {
                guard credits.wait(timeout: .now() + .milliseconds(100)) == .success else { continue }
                var header: UnsafeMutablePointer<pcap_pkthdr>?
                var data: UnsafePointer<UInt8>?
                let rc = pcap_next_ex(h, &header, &data)
                guard rc == 1, let hdr = header, let bytes = data else {
                    credits.signal()
                    break
                }
                let frame = Array(UnsafeBufferPointer(start: bytes, count: Int(hdr.pointee.caplen)))
                let at = NIODeadline.now()
                loop.execute { [credits] in
                    onFrame(frame, at)
                    credits.signal()
                }
            }
        }
    }

    /// Sends one whole frame on the interface.
    public func send(_ frame: UnsafeRawBufferPointer) throws(RawEthernetError) { try port.send(frame) }

    /// Frames the kernel dropped since the interface was opened, when libpcap knows.
    public func kernelDrops() -> Int? {
        guard let h = handle, !state.withLockedValue({ $0.closed }) else { return nil }
        var stats = pcap_stat()
        guard pcap_stats(h, &stats) == 0 else { return nil }
        return Int(stats.ps_drop)
    }

    /// Stops the reader (waiting for it) and releases the interface. Calling it again does nothing.
    public func close() {
        let (wasOpen, wasReading) = state.withLockedValue { s -> (Bool, Bool) in
            let r = (!s.closed, s.reading)
            s.closed = true
            return r
        }
        guard wasOpen else { return }
        if wasReading { readerDone.wait() }
        if let h = handle { pcap_close(h) }
        handle = nil
        port.close()
    }

    deinit { close() }
}
