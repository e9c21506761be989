import PanelCore
import PanelDevice
import PanelWire

/// Every fuzz target, by name. A target must never crash, trap or grow memory without bound
/// whatever the bytes are.
enum FuzzTargets {
    static let all: [String: (UnsafeRawBufferPointer) -> Void] = [
        "artnet-decode": artNetDecode,
        "sacn-decode": e131Decode,
        "artnet-node": artNetNode,
        "sacn-receiver": e131Receiver,
        // The models of the protocols added since, each through its plugin: decoders, stream
        // framers and state machines at once (stream protocols get the pieces as reads).
        // DDP and TPM2.net write at any byte offset: on a serpentine, flipped, GRB panel that
        // crosses universes and cuts pixels in every way the channel map handles.
        "ddp-display": model(.ddp, map: twistedMap),
        "tpm2net-receiver": model(.tpm2net, map: twistedMap),
        "opc-server": model(.openPixelControl),
        "tpm2-receiver": model(.tpm2),
        "enttec-widget": model(.enttecPro),
        "novastar-card": model(.novaStar),
        "colorlight-receiver": model(.colorlight),
        // Codecs and stream framers on their own (see FramerTargets).
        "novastar-framer": FramerTargets.novaStarFramer,
        "opc-framer": FramerTargets.opcFramer,
        "enttec-framer": FramerTargets.enttecFramer,
        "tpm2-framer": FramerTargets.tpm2Framer,
        "ddp-decode": FramerTargets.ddpDecode,
        "tpm2net-decode": FramerTargets.tpm2NetDecode,
        "colorlight-decode": FramerTargets.colorlightDecode,
        "novastar-controller": ControllerTargets.novaStarController,
        // Files: captures as `replay` reads them, and serve configs.
        "capture-reader": FileTargets.captureReader,
        "config-loader": FileTargets.configLoader,
        "scenario-loader": FileTargets.scenarioLoader,
        "check-capture": FileTargets.checkCapture,
    ]

    /// A target feeding a small controller of `plugin`.
    static func model(_ plugin: ProtocolPlugin, map: ChannelMap? = smallMap) -> (UnsafeRawBufferPointer) -> Void {
        { b in
            guard let map, let device = try? plugin.makeDevice(ControllerSettings(name: "fuzz", map: map)) else { return }
            feed(b, into: device, endingStreams: plugin.carrier == .tcp || plugin.carrier == .serial)
        }
    }

    static func artNetDecode(_ b: UnsafeRawBufferPointer) {
        if case .dmx(let d)? = try? ArtNetDecoder.decode(b) { _ = d.data.reduce(0, &+) }
        _ = ArtNetDecoder.portAddress(b)
    }

    static func e131Decode(_ b: UnsafeRawBufferPointer) {
        if case .data(let d)? = try? E131Decoder.decode(b) { _ = d.data.reduce(0, &+); _ = d.sourceName }
        _ = E131Decoder.dataUniverse(b)
        _ = E131Decoder.syncAddress(b)
    }

    /// The input is split into datagrams by a 2-byte length prefix; each one is fed to a
    /// small node with the time advancing, so state machines are fuzzed, not only decoders.
    /// With `endingStreams`, an empty piece ends its source's stream instead.
    static func feed(_ b: UnsafeRawBufferPointer, into model: DeviceModel, endingStreams: Bool = false) {
        var offset = 0
        var t: Int64 = 0
        while offset + 2 <= b.count {
            let n = Int(b[offset]) << 8 | Int(b[offset + 1])
            let start = offset + 2
            let end = min(b.count, start + n)
            let port = UInt16(truncatingIfNeeded: n & 3)
            let source = PacketSource(address: "10.0.0.\(port)", port: 6454 + port)
            if endingStreams && n == 0 {
                model.streamEnded(from: source, at: Timestamp(nanoseconds: t))
            } else {
                model.receive(UnsafeRawBufferPointer(rebasing: b[start..<end]), from: source, at: Timestamp(nanoseconds: t))
            }
            t += Int64(n) * 1_000_000
            model.tick(at: Timestamp(nanoseconds: t))
            _ = model.takeOutput()
            offset = end
        }
        model.finish(at: Timestamp(nanoseconds: t + 1))
        _ = model.takeOutput()
    }

    static let smallMap: ChannelMap? = try? ChannelMap(width: 8, height: 4, format: .rgb, settings: MappingSettings(startUniverse: 0, channelsPerUniverse: 24))
    static let twistedMap: ChannelMap? = try? ChannelMap(
        width: 7, height: 5, format: .rgb, order: PixelOrder("grb", format: .rgb),
        settings: MappingSettings(startUniverse: 0, channelsPerUniverse: 21, layout: .serpentine, flipHorizontal: true))
    static let smallSACNMap: ChannelMap? = try? ChannelMap(width: 8, height: 4, format: .rgb, settings: MappingSettings(startUniverse: 1, channelsPerUniverse: 24))

    static func artNetNode(_ b: UnsafeRawBufferPointer) {
        guard let map = smallMap else { return }
        feed(b, into: ArtNetNode(settings: ArtNetNodeSettings(name: "fuzz", map: map)))
    }

    static func e131Receiver(_ b: UnsafeRawBufferPointer) {
        guard let map = smallSACNMap else { return }
        feed(b, into: E131Receiver(settings: E131ReceiverSettings(name: "fuzz", map: map)))
    }
}
