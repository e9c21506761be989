#if canImport(Glibc)
import Glibc
#endif
import PanelCapture
import PanelCore
import PanelDevice
import PanelHarness
import PanelSession

/// Targets for what PanelSim reads from files: captures (`replay`, `check`), serve configs and
/// stress scenarios.
enum FileTargets {
    /// Where `capture-reader` writes each input: CaptureReader and libpcap open a path. A file
    /// per process in /dev/shm (memory) when there is one, so parallel fuzzers do not collide;
    /// removed when the process exits.
    static let capturePath: String = {
        var info = stat()
        let directory = stat("/dev/shm", &info) == 0 ? "/dev/shm" : "/tmp"
        atexit { unlink(FileTargets.capturePath) }
        return "\(directory)/panelsim-fuzz-\(getpid()).cap"
    }()

    static let detector = ProtocolDetector(registry: .standard)

    /// The input as a pcap or pcapng file, read the way `replay` reads it: CaptureDecoder (link
    /// layers, IP reassembly, TCP streams), each datagram, stream and layer-2 frame through
    /// protocol detection; then once more record by record through `CaptureReader.next()`,
    /// which must find the same number of good records.
    static func captureReader(_ b: UnsafeRawBufferPointer) {
        guard let f = fopen(capturePath, "wb") else { return }
        let written = fwrite(b.baseAddress, 1, b.count, f)
        fclose(f)
        guard written == b.count, let decoder = try? CaptureDecoder(path: capturePath) else { return }
        let summary = decoder.run { event in
            switch event {
            case .udp(let d):
                d.payload.withUnsafeBytes { bytes in
                    if let plugin = detector.protocolOf(datagram: bytes, sourcePort: d.source.port, destinationPort: d.destination.port) {
                        _ = try? plugin.summarize(bytes, true)
                    }
                }
            case .tcpData(let s):
                _ = s.payload.withUnsafeBytes { detector.protocolOf(stream: $0, serverPort: s.flow.destination.port) }
            case .ethernet(let e):
                e.wireBytes.withUnsafeBytes { bytes in
                    if let plugin = detector.protocolOf(ethernetFrame: bytes) { _ = try? plugin.summarize(bytes, true) }
                }
            case .serial(let s):
                _ = s.payload.withUnsafeBytes { detector.protocolOf(serial: $0) }
            case .tcpOpen, .tcpClose, .notDecoded, .malformed, .reassemblyProblem:
                break
            }
        }
        guard let reader = try? CaptureReader(path: capturePath) else { return }
        var records = 0
        while let frame = try? reader.next() {
            records += 1
            FramerTargets.expect(frame.capturedLength == frame.bytes.count && frame.originalLength >= frame.capturedLength,
                                 "record \(frame.recordNumber): lengths disagree")
        }
        FramerTargets.expect(records == summary.records, "CaptureReader read \(records) records, CaptureDecoder \(summary.records)")
    }

    /// The input as a capture linted by `panelsim check`: the last byte picks the quirk profile
    /// (or none), the rest is the pcap or pcapng file.
    static func checkCapture(_ b: UnsafeRawBufferPointer) {
        guard let last = b.last else { return }
        let profiles = QuirkProfile.all
        let pick = Int(last) % (profiles.count + 1)
        let file = UnsafeRawBufferPointer(rebasing: b[0..<(b.count - 1)])
        guard let f = fopen(capturePath, "wb") else { return }
        let written = fwrite(file.baseAddress, 1, file.count, f)
        fclose(f)
        guard written == file.count else { return }
        let result = CheckSession.run(capture: capturePath, profile: pick < profiles.count ? profiles[pick] : nil)
        _ = CheckReport.text(result)
    }

    /// The input as the text of a `serve` config. Errors are expected; crashes and traps are not.
    static func configLoader(_ b: UnsafeRawBufferPointer) {
        let text = String(decoding: b, as: UTF8.self)
        guard let config = try? SessionConfig.parse(yaml: text, file: "fuzz.yaml") else { return }
        for c in config.controllers { _ = c.summary }
    }

    /// A stress scenario's YAML. Scenarios name PNG files, read when the scenario loads; inputs
    /// naming device or process files are skipped, so that the fuzzer cannot block on a device.
    static func scenarioLoader(_ b: UnsafeRawBufferPointer) {
        let text = String(decoding: b, as: UTF8.self)
        guard !text.contains("/dev"), !text.contains("/proc"), !text.contains("/sys") else { return }
        _ = try? StressScenario.parse(yaml: text, file: "fuzz.yaml")
    }
}
