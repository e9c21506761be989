import Foundation
import PanelCore
@testable import PanelSession
import XCTest

/// FaultStage: determinism, the statistics of each fault against their settings, and byte
/// exactness. Statistical checks use a fixed seed and 99.9 % binomial (Wilson) intervals.
final class FaultStageTests: XCTestCase {
    struct Delivery: Equatable {
        var bytes: [UInt8]
        var time: Timestamp
        var index: Int { FaultStageTests.index(of: bytes) }
    }

    /// A packet whose first 8 bytes are `index` (little-endian), then `size - 8` bytes derived from it.
    static func packet(_ index: Int, size: Int = 16) -> [UInt8] {
        var bytes = withUnsafeBytes(of: UInt64(index).littleEndian) { Array($0) }
        for k in 8..<max(8, size) { bytes.append(UInt8(truncatingIfNeeded: index &* 31 &+ k)) }
        return bytes
    }

    static func index(of bytes: [UInt8]) -> Int {
        var value: UInt64 = 0
        for (k, byte) in bytes.prefix(8).enumerated() { value |= UInt64(byte) << (8 * UInt64(k)) }
        return Int(value)
    }

    /// Offers `count` packets `interval` apart (from time 0), releasing after each offer, then flushes.
    func run(_ settings: FaultSettings, count: Int, interval: Timestamp = .milliseconds(1), size: Int = 16)
        -> (deliveries: [Delivery], stage: FaultStage)
    {
        let stage = FaultStage(settings: settings)
        var deliveries: [Delivery] = []
        let collect = { (bytes: UnsafeRawBufferPointer, time: Timestamp) in deliveries.append(Delivery(bytes: Array(bytes), time: time)) }
        for i in 0..<count {
            let time = Timestamp(nanoseconds: Int64(i) * interval.nanoseconds)
            Self.packet(i, size: size).withUnsafeBytes { stage.offer($0, at: time) }
            stage.release(upTo: time, collect)
        }
        stage.flush(collect)
        return (deliveries, stage)
    }

    /// Wilson score interval at 99.9 % (z = 3.2905) for `successes` out of `trials`.
    func wilson(_ successes: Int, _ trials: Int) -> ClosedRange<Double> {
        let z = 3.2905, n = Double(trials), p = Double(successes) / n
        let denominator = 1 + z * z / n
        let centre = (p + z * z / (2 * n)) / denominator
        let half = z / denominator * (p * (1 - p) / n + z * z / (4 * n * n)).squareRoot()
        return (centre - half)...(centre + half)
    }

    func testTransparentStageDeliversEverythingInOrderUnchanged() {
        let stage = FaultStage(settings: FaultSettings())
        XCTAssertTrue(stage.settings.isTransparent)
        XCTAssertNil(stage.nextDue)
        var offered: [Delivery] = []
        var delivered: [Delivery] = []
        let collect = { (bytes: UnsafeRawBufferPointer, time: Timestamp) in delivered.append(Delivery(bytes: Array(bytes), time: time)) }
        for i in 0..<1000 {
            // Three packets share each time: ties come out in offer order.
            let time = Timestamp.milliseconds(Int64(i / 3))
            let bytes = Self.packet(i, size: 8 + i % 40)
            offered.append(Delivery(bytes: bytes, time: time))
            bytes.withUnsafeBytes { stage.offer($0, at: time) }
            XCTAssertEqual(stage.nextDue, offered[delivered.count].time)
            if i % 7 == 6 {
                stage.release(upTo: time - Timestamp(nanoseconds: 1), collect)
                XCTAssertEqual(delivered.count, (i / 3) * 3)
                stage.release(upTo: time, collect)
                XCTAssertEqual(delivered, Array(offered.prefix(i + 1)))
                XCTAssertNil(stage.nextDue)
            }
        }
        stage.flush(collect)
        XCTAssertEqual(delivered, offered)
        XCTAssertEqual(stage.counters.offered, 1000)
        XCTAssertEqual(stage.counters.delivered, 1000)
        // An empty packet passes too.
        [UInt8]().withUnsafeBytes { stage.offer($0, at: .seconds(5)) }
        stage.release(upTo: .seconds(5), collect)
        XCTAssertEqual(delivered.last, Delivery(bytes: [], time: .seconds(5)))
        XCTAssertEqual(stage.counters.lost + stage.counters.duplicated + stage.counters.reordered + stage.counters.queueDrops, 0)
    }

    func messySettings(seed: UInt64) -> FaultSettings {
        var settings = FaultSettings()
        settings.seed = seed
        settings.loss = 0.05
        settings.burstLoss = .init(enterBad: 0.01, exitBad: 0.3, lossInBad: 0.8)
        settings.duplicate = 0.03
        settings.reorder = 0.03
        settings.reorderDistance = 2
        settings.delay = .uniform(.milliseconds(5), .milliseconds(15))
        settings.jitter = .normal(mean: .milliseconds(1), deviation: .milliseconds(2))
        settings.bandwidthBitsPerSecond = 100_000_000
        return settings
    }

    func testSameSeedGivesIdenticalOutputAndAnotherSeedDiffers() {
        let first = run(messySettings(seed: 42), count: 5000)
        let again = run(messySettings(seed: 42), count: 5000)
        let other = run(messySettings(seed: 43), count: 5000)
        XCTAssertEqual(first.deliveries, again.deliveries)
        XCTAssertEqual(first.stage.counters, again.stage.counters)
        XCTAssertNotEqual(first.deliveries, other.deliveries)
        XCTAssertNotEqual(first.stage.counters, other.stage.counters)
        // Released in other slices (all due packets at once at the end): the same output.
        let stage = FaultStage(settings: messySettings(seed: 42))
        var deliveries: [Delivery] = []
        for i in 0..<5000 {
            Self.packet(i).withUnsafeBytes { stage.offer($0, at: .milliseconds(Int64(i))) }
        }
        stage.flush { deliveries.append(Delivery(bytes: Array($0), time: $1)) }
        XCTAssertEqual(deliveries, first.deliveries)
    }

    func testIndependentLossLiesInTheBinomialInterval() {
        for p in [0.01, 0.05] {
            var settings = FaultSettings()
            settings.loss = p
            settings.seed = 7
            let n = 200_000
            let (deliveries, stage) = run(settings, count: n, interval: Timestamp(nanoseconds: 1000))
            let lost = n - deliveries.count
            XCTAssertEqual(stage.counters.lost, lost)
            XCTAssertEqual(stage.counters.delivered, deliveries.count)
            XCTAssertTrue(wilson(lost, n).contains(p), "loss \(p): \(lost) of \(n), interval \(wilson(lost, n))")
            // What is left arrives in order, unchanged, at its send time.
            XCTAssertEqual(deliveries.map(\.index), deliveries.map(\.index).sorted())
            XCTAssertTrue(deliveries.allSatisfy { $0.time.nanoseconds == Int64($0.index) * 1000 && $0.bytes == Self.packet($0.index) })
        }
    }

    func testBurstLossHasMeanBurstLengthOneOverExitBad() {
        var settings = FaultSettings()
        settings.burstLoss = .init(enterBad: 0.005, exitBad: 0.2)
        settings.seed = 11
        let n = 200_000
        let (deliveries, stage) = run(settings, count: n, interval: Timestamp(nanoseconds: 1000))
        var arrived = [Bool](repeating: false, count: n)
        for delivery in deliveries { arrived[delivery.index] = true }
        var bursts: [Int] = []
        var length = 0
        for got in arrived {
            if got {
                if length > 0 { bursts.append(length) }
                length = 0
            } else {
                length += 1
            }
        }
        if length > 0 { bursts.append(length) }
        XCTAssertEqual(stage.counters.lost, n - deliveries.count)
        XCTAssertGreaterThan(bursts.count, 500)
        let mean = Double(bursts.reduce(0, +)) / Double(bursts.count)
        // 1 / exitBad = 5; about 950 bursts of standard deviation 4.5 give a standard error of 0.15.
        XCTAssertEqual(mean, 5, accuracy: 0.8, "mean burst \(mean) over \(bursts.count) bursts")
    }

    func testDuplicatesLieInTheBinomialIntervalAndAreByteIdentical() {
        var settings = FaultSettings()
        settings.duplicate = 0.05
        settings.seed = 3
        let n = 100_000
        let (deliveries, stage) = run(settings, count: n, interval: Timestamp(nanoseconds: 1000), size: 64)
        var copies = 0
        var position = 0
        var expected = 0
        while position < deliveries.count {
            let delivery = deliveries[position]
            XCTAssertEqual(delivery.index, expected)
            XCTAssertEqual(delivery.bytes, Self.packet(expected, size: 64))
            if position + 1 < deliveries.count, deliveries[position + 1].index == expected {
                XCTAssertEqual(deliveries[position + 1], delivery)
                copies += 1
                position += 1
            }
            position += 1
            expected += 1
        }
        XCTAssertEqual(expected, n)
        XCTAssertEqual(stage.counters.duplicated, copies)
        XCTAssertEqual(stage.counters.delivered, n + copies)
        XCTAssertTrue(wilson(copies, n).contains(0.05), "\(copies) copies of \(n), interval \(wilson(copies, n))")
    }

    func testReorderingHoldsPacketsBackByTheConfiguredDistance() {
        let distance = 3
        var settings = FaultSettings()
        settings.reorder = 0.01
        settings.reorderDistance = distance
        settings.seed = 5
        let n = 20_000
        let (deliveries, stage) = run(settings, count: n)
        let order = deliveries.map(\.index)
        XCTAssertEqual(order.sorted(), Array(0..<n), "every packet delivered once")
        XCTAssertEqual(stage.counters.lost, 0)
        var position = [Int](repeating: 0, count: n)
        for (p, index) in order.enumerated() { position[index] = p }
        // Overtaken: a later packet came first.
        var laterSeen = -1
        var overtaken: [Int] = []
        for index in order {
            if index < laterSeen { overtaken.append(index) }
            laterSeen = max(laterSeen, index)
        }
        XCTAssertGreaterThan(overtaken.count, 100)
        XCTAssertTrue((overtaken.count...(overtaken.count + distance)).contains(stage.counters.reordered))
        var isolated = 0
        for (k, index) in overtaken.enumerated() {
            let previous = k > 0 ? overtaken[k - 1] : Int.min / 2
            let next = k + 1 < overtaken.count ? overtaken[k + 1] : Int.max / 2
            guard index - previous > 2 * distance, next - index > 2 * distance, index + distance < n else { continue }
            isolated += 1
            XCTAssertEqual(position[index], index + distance, "packet \(index)")
            XCTAssertEqual(order[position[index] - 1], index + distance)
            XCTAssertEqual(deliveries[position[index]].time, deliveries[position[index] - 1].time)
        }
        XCTAssertGreaterThan(isolated, 100)
    }

    func testHeldBackPacketsWithoutEnoughFollowersComeOutOnFlush() {
        var settings = FaultSettings()
        settings.reorder = 1
        settings.reorderDistance = 2
        let stage = FaultStage(settings: settings)
        var order: [Int] = []
        for i in 0..<3 {
            Self.packet(i).withUnsafeBytes { stage.offer($0, at: .milliseconds(Int64(i))) }
        }
        stage.release(upTo: .seconds(10)) { bytes, _ in order.append(Self.index(of: Array(bytes))) }
        XCTAssertEqual(order, [])
        XCTAssertNil(stage.nextDue)
        stage.flush { bytes, time in
            let index = Self.index(of: Array(bytes))
            order.append(index)
            XCTAssertEqual(time, .milliseconds(Int64(index)), "at its own due time")
        }
        XCTAssertEqual(order, [0, 1, 2])
        XCTAssertEqual(stage.counters.reordered, 3)
        XCTAssertEqual(stage.counters.delivered, 3)
    }

    func testConstantDelayShiftsEveryTimeExactly() {
        var settings = FaultSettings()
        settings.delay = .constant(.milliseconds(25))
        let stage = FaultStage(settings: settings)
        var deliveries: [Delivery] = []
        var sendTimes: [Timestamp] = []
        var time = Timestamp.zero
        for i in 0..<2000 {
            time = time + Timestamp(nanoseconds: Int64(i % 13) * 777_777)
            sendTimes.append(time)
            Self.packet(i).withUnsafeBytes { stage.offer($0, at: time) }
            while let due = stage.nextDue, due <= time {
                let before = deliveries.count
                stage.release(upTo: due - Timestamp(nanoseconds: 1)) { deliveries.append(Delivery(bytes: Array($0), time: $1)) }
                XCTAssertEqual(deliveries.count, before, "nothing before it is due")
                stage.release(upTo: due) { deliveries.append(Delivery(bytes: Array($0), time: $1)) }
            }
        }
        stage.flush { deliveries.append(Delivery(bytes: Array($0), time: $1)) }
        XCTAssertEqual(deliveries.map(\.index), Array(0..<2000))
        for delivery in deliveries {
            XCTAssertEqual(delivery.time, sendTimes[delivery.index] + .milliseconds(25))
        }
    }

    func testJitterDistributionsHaveTheirMeansAndNeverGoNegative() {
        let ms = 1e6
        let cases: [(FaultSettings.Distribution, Double)] = [
            (.uniform(.zero, .milliseconds(10)), 5 * ms),
            (.normal(mean: .milliseconds(20), deviation: .milliseconds(4)), 20 * ms),
            (.exponential(mean: .milliseconds(5)), 5 * ms),
            // Cut at zero: the mean of max(0, N(0, σ²)) is σ / √(2π).
            (.normal(mean: .zero, deviation: .milliseconds(5)), 5 * ms / (2 * Double.pi).squareRoot()),
        ]
        let n = 50_000
        for (jitter, expected) in cases {
            var settings = FaultSettings()
            settings.jitter = jitter
            settings.seed = 9
            let (deliveries, _) = run(settings, count: n)
            XCTAssertEqual(deliveries.count, n)
            var total = 0.0
            for delivery in deliveries {
                let added = delivery.time.nanoseconds - Int64(delivery.index) * 1_000_000
                XCTAssertGreaterThanOrEqual(added, 0, "\(jitter)")
                total += Double(added)
            }
            let mean = total / Double(n)
            XCTAssertEqual(mean, expected, accuracy: expected * 0.03, "\(jitter)")
            let times = deliveries.map(\.time)
            XCTAssertEqual(times, times.sorted(), "delivered in time order")
        }
    }

    func testBandwidthCapSerialisesPackets() {
        var settings = FaultSettings()
        settings.bandwidthBitsPerSecond = 10_000_000
        let stage = FaultStage(settings: settings)
        var times: [Timestamp] = []
        let payload = [UInt8](repeating: 0xA5, count: 1250)
        for _ in 0..<1000 { payload.withUnsafeBytes { stage.offer($0, at: .zero) } }
        stage.flush { bytes, time in
            XCTAssertEqual(Array(bytes), payload)
            times.append(time)
        }
        XCTAssertEqual(times.count, 1000)
        XCTAssertEqual(times.first, .milliseconds(1))
        for k in 1..<times.count {
            XCTAssertGreaterThanOrEqual((times[k] - times[k - 1]).nanoseconds, 1_000_000)
        }
        XCTAssertEqual(times.last?.seconds ?? 0, 1, accuracy: 0.001)
    }

    func testQueueLimitDropsAreCountedAndMemoryIsBounded() {
        var settings = FaultSettings()
        settings.queueLimit = 100
        settings.delay = .constant(.seconds(1))
        let stage = FaultStage(settings: settings)
        for i in 0..<1000 { Self.packet(i, size: 1000).withUnsafeBytes { stage.offer($0, at: .zero) } }
        XCTAssertEqual(stage.counters.queueDrops, 900)
        XCTAssertEqual(stage.pooledBuffers, 100)
        var delivered: [Int] = []
        stage.release(upTo: .seconds(1)) { bytes, _ in delivered.append(Self.index(of: Array(bytes))) }
        XCTAssertEqual(delivered, Array(0..<100))
        // A steady stream 10 ms apart holds 100 packets in flight: none dropped, no new buffers.
        for i in 0..<5000 {
            let time = Timestamp.seconds(1) + .milliseconds(Int64(i) * 10)
            stage.release(upTo: time) { bytes, _ in delivered.append(Self.index(of: Array(bytes))) }
            Self.packet(1000 + i, size: 1000).withUnsafeBytes { stage.offer($0, at: time) }
        }
        stage.flush { bytes, _ in delivered.append(Self.index(of: Array(bytes))) }
        XCTAssertEqual(stage.counters.queueDrops, 900)
        XCTAssertEqual(stage.counters.delivered, 5100)
        XCTAssertEqual(delivered, Array(0..<100) + Array(1000..<6000))
        XCTAssertLessThanOrEqual(stage.pooledBuffers, 100)
    }

    func testDeliveredPayloadsEqualOfferedOnes() {
        var generator = SeededGenerator(seed: 99)
        var offered: [[UInt8]] = []
        for i in 0..<5000 {
            var bytes = Self.packet(i, size: 8)
            let extra = Int(generator.next() % 1500)
            for _ in 0..<extra { bytes.append(UInt8(truncatingIfNeeded: generator.next())) }
            offered.append(bytes)
        }
        let stage = FaultStage(settings: messySettings(seed: 1))
        var received = 0
        let check = { (bytes: UnsafeRawBufferPointer, _: Timestamp) in
            let copy = Array(bytes)
            XCTAssertEqual(copy, offered[Self.index(of: copy)])
            received += 1
        }
        for (i, bytes) in offered.enumerated() {
            let time = Timestamp.milliseconds(Int64(i))
            bytes.withUnsafeBytes { stage.offer($0, at: time) }
            stage.release(upTo: time, check)
        }
        stage.flush(check)
        XCTAssertEqual(received, stage.counters.delivered)
        XCTAssertGreaterThan(stage.counters.duplicated, 0)
        XCTAssertGreaterThan(stage.counters.reordered, 0)
        XCTAssertEqual(stage.counters.delivered - stage.counters.duplicated + stage.counters.lost, 5000)
    }

    func testOutOfRangeSettingsActClampedAndNeverTrap() {
        var settings = FaultSettings()
        settings.loss = .nan
        settings.duplicate = -1
        settings.reorder = .infinity
        settings.reorderDistance = -4
        settings.delay = .constant(Timestamp(nanoseconds: .max))
        settings.jitter = .normal(mean: Timestamp(nanoseconds: -5), deviation: Timestamp(nanoseconds: .min))
        settings.bandwidthBitsPerSecond = .nan
        settings.queueLimit = -3
        settings.burstLoss = .init(enterBad: .nan, exitBad: 7, lossInBad: -2)
        let (nothing, dropped) = run(settings, count: 10)
        XCTAssertEqual(nothing, [])
        XCTAssertEqual(dropped.counters.queueDrops, 10)

        settings.queueLimit = 10
        let (late, stage) = run(settings, count: 10)
        XCTAssertEqual(stage.counters.lost, 0)
        XCTAssertEqual(stage.counters.duplicated, 0)
        // Every packet held back (reorder as 1, distance as 1) and due at the end of time.
        XCTAssertEqual(stage.counters.reordered, 10)
        XCTAssertEqual(late.map(\.index), Array(0..<10))
        XCTAssertTrue(late.allSatisfy { $0.time.nanoseconds == .max })

        var lossy = FaultSettings()
        lossy.loss = 3
        lossy.bandwidthBitsPerSecond = -1
        lossy.jitter = .uniform(Timestamp(nanoseconds: .max), Timestamp(nanoseconds: .min))
        XCTAssertEqual(run(lossy, count: 10).stage.counters.lost, 10)
        lossy.loss = 0
        lossy.bandwidthBitsPerSecond = 0
        XCTAssertEqual(run(lossy, count: 10).deliveries.count, 10)
    }
}
