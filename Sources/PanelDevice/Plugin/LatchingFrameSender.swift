import PanelCore

/// A sender whose frame ends with a latch packet that must follow the data after a pause
/// (the Colorlight display packet, ≥ 5 ms after the last row). `encode` emits both halves
/// back to back (for pcap output); live senders call the halves and wait `latchDelay` between.
public protocol LatchingFrameSender: FrameSender {
    /// The frame's data packets.
    mutating func encodeData(_ canvas: Canvas, emit: DatagramEmitter)
    /// The packets that show the frame.
    mutating func encodeLatch(emit: DatagramEmitter)
    /// The least time between the last data packet and the latch.
    var latchDelay: Timestamp { get }
}
