import PanelCore

/// What a network between a sender and a controller does to packets (stress scenarios'
/// `faults:`). Applied by `FaultStage`, a sans-I/O stage: the same settings and seed give
/// the same drops, duplicates, order and delays, so a run can be repeated exactly.
public struct FaultSettings: Sendable, Equatable {
    /// Independent loss: each packet is dropped with this probability, 0...1.
    public var loss: Double = 0
    /// Loss in bursts (Gilbert–Elliott); applied on top of `loss`.
    public var burstLoss: BurstLoss?
    /// Each delivered packet is delivered twice with this probability, 0...1.
    public var duplicate: Double = 0
    /// Each packet is held back with this probability, 0...1, so that later ones overtake it.
    public var reorder: Double = 0
    /// How far a reordered packet falls back: delivered after this many later packets (at least 1).
    public var reorderDistance: Int = 1
    /// One-way delay of every packet.
    public var delay: Distribution = .constant(.zero)
    /// Extra delay per packet on top of `delay` (never makes a packet arrive before it was sent).
    public var jitter: Distribution = .constant(.zero)
    /// The link's capacity in bits per second; packets queue behind each other (nil: unlimited).
    public var bandwidthBitsPerSecond: Double?
    /// Packets waiting in the stage at most; beyond this they are dropped and counted (`queueDrops`).
    public var queueLimit: Int = 1 << 16
    /// Seed of the stage's random generator (SeededGenerator).
    public var seed: UInt64 = 1

    public init() {}

    /// True when the settings change nothing (the stage can be skipped).
    public var isTransparent: Bool {
        loss == 0 && burstLoss == nil && duplicate == 0 && reorder == 0 && delay == .constant(.zero)
            && jitter == .constant(.zero) && bandwidthBitsPerSecond == nil
    }

    /// Gilbert–Elliott two-state loss: in the good state packets pass (subject to `loss`),
    /// in the bad state each is lost with `lossInBad`.
    public struct BurstLoss: Sendable, Equatable {
        /// Probability per packet of going from good to bad.
        public var enterBad: Double
        /// Probability per packet of going from bad back to good (mean burst length 1 / exitBad).
        public var exitBad: Double
        /// Loss probability while bad (1: every packet of a burst is lost).
        public var lossInBad: Double
        public init(enterBad: Double, exitBad: Double, lossInBad: Double = 1) {
            self.enterBad = enterBad; self.exitBad = exitBad; self.lossInBad = lossInBad
        }
    }

    /// A distribution of durations.
    public enum Distribution: Sendable, Equatable {
        case constant(Timestamp)
        /// Uniform between the two bounds.
        case uniform(Timestamp, Timestamp)
        /// Normal with mean and standard deviation, cut at zero.
        case normal(mean: Timestamp, deviation: Timestamp)
        /// Exponential with this mean.
        case exponential(mean: Timestamp)
    }
}

/// What a `FaultStage` did, for reports.
public struct FaultCounters: Sendable, Equatable {
    public var offered = 0
    public var delivered = 0
    /// Dropped by `loss` or `burstLoss`.
    public var lost = 0
    /// Extra copies delivered.
    public var duplicated = 0
    /// Packets held back so that later ones overtook them.
    public var reordered = 0
    /// Dropped because `queueLimit` packets were already waiting.
    public var queueDrops = 0
    public init() {}
}
