import PanelCore

/// A controller that shows at most `maxRate` frames a second (WLED redraws its LEDs only when
/// more than 15 ms passed since the last redraw; a DMX512 output sends at most about 44 frames
/// a second): any model, whose frame events closer than 1/`maxRate` to the last one shown are
/// not shown. Their pixels are not lost: the model's picture keeps them, so the next frame
/// shown carries them. Frames not shown are counted (`frames-over-rate`) and left out of the
/// frame and torn counts; frame events are numbered by what is shown.
public final class FrameRateLimitedDevice: DeviceModel {
    public let device: DeviceModel
    /// The shortest time between two frames shown.
    public let interval: Timestamp
    private var lastShown: Timestamp?
    private var notShown = 0
    private var tornNotShown = 0

    /// `maxRate` is clamped to 0.001...1,000,000 frames a second.
    public init(_ device: DeviceModel, maxRate: Double) {
        self.device = device
        let rate = min(max(maxRate.isFinite ? maxRate : 1_000_000, 0.001), 1_000_000)
        interval = Timestamp(nanoseconds: Int64((1e9 / rate).rounded()))
    }

    public func takeOutput() -> DeviceOutput {
        var output = device.takeOutput()
        guard !output.frames.isEmpty else { return output }
        var shown: [FrameEvent] = []
        shown.reserveCapacity(output.frames.count)
        for var frame in output.frames {
            if let last = lastShown, frame.time - last < interval {
                notShown += 1
                if frame.torn { tornNotShown += 1 }
                continue
            }
            lastShown = frame.time
            frame.index -= notShown
            shown.append(frame)
        }
        output.frames = shown
        return output
    }

    public var counters: DeviceCounters {
        var c = device.counters
        c.frames -= notShown
        c.torn -= tornNotShown
        if notShown > 0 { c.count("frames-over-rate", notShown) }
        return c
    }

    public var name: String { device.name }
    public func receive(_ datagram: UnsafeRawBufferPointer, from source: PacketSource, at time: Timestamp) {
        device.receive(datagram, from: source, at: time)
    }
    public func streamEnded(from source: PacketSource, at time: Timestamp) { device.streamEnded(from: source, at: time) }
    public func tick(at time: Timestamp) { device.tick(at: time) }
    public func finish(at time: Timestamp) { device.finish(at: time) }
    public var findings: [DeviceFinding] { device.findings }
    public var malformedPackets: [MalformedPacket] { device.malformedPackets }
    public var universes: [Int] { device.universes }
    public var multicastGroups: Set<String> { device.multicastGroups }
    public var dataMulticastGroups: Set<String> { device.dataMulticastGroups }
    public var multicastGeneration: Int { device.multicastGeneration }
    public var universesGeneration: Int { device.universesGeneration }
    public var reportedPortCount: Int { device.reportedPortCount }
    public var streamClientLimit: Int? { device.streamClientLimit }
    public func answerDiscovery(_ datagram: UnsafeRawBufferPointer, from source: PacketSource, at time: Timestamp) -> [UInt8]? {
        device.answerDiscovery(datagram, from: source, at: time)
    }
    public var persistentState: [String: [UInt8]] { device.persistentState }
    public func restoreState(_ state: [String: [UInt8]]) throws(StateError) { try device.restoreState(state) }
}
