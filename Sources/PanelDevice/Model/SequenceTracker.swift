/// What a packet's sequence number says relative to the last one from the same source.
public enum SequenceVerdict: Equatable, Sendable {
    case first, next, disabled
    /// `missing` packets were skipped.
    case gap(missing: Int)
    case duplicate
    /// Older than the last one accepted: a receiver drops it.
    case outOfOrder
}

/// Sequence judgement with the receive window of E1.31 (a packet 1 to 19 behind the last
/// is late, anything else is taken as new). Art-Net counts 1...255 and skips 0 (0 means
/// sequencing is off); sACN counts 0...255. DDP counts 1...15 and skips 0 (0 = unused); with
/// only 15 values, a packet 1 to 3 behind the last is taken as late, anything else as new.
public enum SequenceRule: Sendable, Equatable {
    case artNet, e131, ddp

    @inline(__always)
    public func judge(last: UInt8?, new: UInt8) -> SequenceVerdict {
        // The usual case, the next number, without the general arithmetic below.
        if let last {
            switch self {
            case .e131: if new == last &+ 1 { return .next }
            case .artNet: if last != 0 && new == (last == 255 ? 1 : last + 1) { return .next }
            case .ddp: break
            }
        }
        return judgeInGeneral(last: last, new: new)
    }

    private func judgeInGeneral(last: UInt8?, new: UInt8) -> SequenceVerdict {
        let skipsZero = self != .e131
        if skipsZero && new == 0 { return .disabled }
        guard let last = last, !(skipsZero && last == 0) else { return .first }
        let modulus: Int, window: Int
        switch self {
        case .artNet: modulus = 255; window = 20
        case .e131: modulus = 256; window = 20
        case .ddp: modulus = 15; window = 4
        }
        let base = skipsZero ? 1 : 0
        let d = ((Int(new) - base) - (Int(last) - base) + modulus) % modulus
        if d == 0 { return .duplicate }
        // E1.31 6.7.2: a difference in (-20, 0] is not newer; exactly -20 is taken as new.
        if d > modulus - window { return .outOfOrder }
        return d == 1 ? .next : .gap(missing: d - 1)
    }
}
