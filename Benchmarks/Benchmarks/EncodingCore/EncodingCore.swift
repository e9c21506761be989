// Benchmarks of the encoding core: for every protocol PanelSim can encode and three panel sizes,
// one frame image → packets (the plugin's FrameSender), packets → canvas (the plugin's device
// model), a memcpy of the same bytes as the baseline, and the receiver floor (the same bytes copied
// one datagram at a time, plus one frame event per frame); PNG write of the frame through
// PanelImage beside a bare libpng call with the same settings.
//
// Every benchmark records, besides wall clock and allocations per iteration, the custom metrics
// `frames`, `packets` and `bytes` it handled in one iteration, so that scripts/bench-report.py
// can turn the export into per-frame and per-packet figures without knowing how it was run.

import Benchmark
import CBarePNG
import PanelCore
import PanelDevice
import PanelImage

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Panel sizes benchmarked.
let panelSizes: [(width: Int, height: Int)] = [(600, 400), (1920, 1080), (3840, 2160)]

/// Protocols with a pixel stream (NovaStar is control plane only: no frame to encode).
let protocols: [ProtocolPlugin] = [.artNet, .e131, .ddp, .openPixelControl, .tpm2net, .tpm2, .enttecPro, .colorlight]

/// Frames whose bytes are fewer than this are handled several times per iteration (Enttec's
/// 518-byte frame would otherwise measure the timer).
let minimumBytesPerIteration = 256 * 1024

let framesMetric = BenchmarkMetric.custom("frames", useScalingFactor: false)
let packetsMetric = BenchmarkMetric.custom("packets", useScalingFactor: false)
let bytesMetric = BenchmarkMetric.custom("bytes", useScalingFactor: false)

/// All datagrams of one frame, back to back in one buffer that is reused from frame to frame.
struct PacketStore {
    private(set) var bytes: [UInt8] = []
    private(set) var ends: [Int] = []

    mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        ends.removeAll(keepingCapacity: true)
    }

    mutating func append(_ datagram: UnsafeRawBufferPointer) {
        bytes.append(contentsOf: datagram)
        ends.append(bytes.count)
    }

    var count: Int { ends.count }

    func forEach(_ body: (UnsafeRawBufferPointer) -> Void) {
        bytes.withUnsafeBytes { all in
            var start = 0
            for end in ends {
                body(UnsafeRawBufferPointer(rebasing: all[start..<end]))
                start = end
            }
        }
    }
}

/// One protocol at one panel size: the picture, a sender, a device and one frame's packets.
final class Workload {
    let plugin: ProtocolPlugin
    let map: ChannelMap
    let canvas: Canvas
    /// Protocols whose receivers judge sequence numbers drop a replayed frame as duplicates:
    /// their decode benchmark encodes a fresh frame before each (unmeasured) decode.
    let fresh: Bool
    private(set) var sender: FrameSender
    private(set) var device: DeviceModel
    private(set) var store = PacketStore()
    private(set) var time = Timestamp.zero
    let source = PacketSource(address: "192.0.2.10", port: 50000)
    /// Frames handled per iteration.
    let repeats: Int
    let packetsPerFrame: Int
    let bytesPerFrame: Int

    init(plugin: ProtocolPlugin, map: ChannelMap, canvas: Canvas) throws {
        self.plugin = plugin
        self.map = map
        self.canvas = canvas
        fresh = ["artnet", "sacn", "ddp"].contains(plugin.name)
        var sender = plugin.makeSender(SenderSettings(map: map))
        device = try plugin.makeDevice(ControllerSettings(name: plugin.name, map: map))
        var s = PacketStore()
        sender.encode(canvas) { d, _ in s.append(d) }
        self.sender = sender
        store = s
        packetsPerFrame = s.count
        bytesPerFrame = s.bytes.count
        repeats = fresh ? 1 : max(1, minimumBytesPerIteration / max(1, s.bytes.count))
    }

    /// Encodes the next frame into the store (the sender's counters move on).
    func refill() {
        store.removeAll()
        var s = store
        store = PacketStore()
        sender.encode(canvas) { d, _ in s.append(d) }
        store = s
    }

    /// Feeds the stored frame to the device and takes its output; returns the frames it emitted.
    func decode() -> Int {
        time = Timestamp(nanoseconds: time.nanoseconds + 20_000_000)
        let device = self.device, source = self.source, time = self.time
        store.forEach { device.receive($0, from: source, at: time) }
        return device.takeOutput().frames.count
    }

    /// The encoded bytes of one frame, summed (what a transport would send).
    func encode() -> Int {
        var total = 0
        sender.encode(canvas) { d, _ in total += d.count }
        return total
    }

    /// Checks once that a frame goes through: one frame event per decode, showing the picture
    /// where the protocol carries the whole panel.
    func check() -> String? {
        if fresh { refill() }
        let first = decode()
        if fresh { refill() }
        let second = decode()
        guard first == 1, second == 1 else { return "\(plugin.name): decode gave \(first), then \(second) frames, not 1 each" }
        return nil
    }
}

func makeCanvas(width: Int, height: Int) -> Canvas {
    TestPattern.gradient.render(frame: 0, width: width, height: height, format: .rgb)
}

let metrics: [BenchmarkMetric] = [.wallClock, .throughput, .mallocCountTotal, framesMetric, packetsMetric, bytesMetric]

func configuration(setup: @escaping Benchmark.BenchmarkSetupHook, teardown: @escaping Benchmark.BenchmarkTeardownHook) -> Benchmark.Configuration {
    .init(metrics: metrics, timeUnits: .nanoseconds, warmupIterations: 3, maxDuration: .seconds(2), maxIterations: 2000,
          setup: setup, teardown: teardown)
}

func record(_ benchmark: Benchmark, frames: Int, packets: Int, bytes: Int) {
    benchmark.measurement(framesMetric, frames)
    benchmark.measurement(packetsMetric, packets)
    benchmark.measurement(bytesMetric, bytes)
}

/// Holds the workload of the benchmarks being run (built in setup, dropped in teardown, so at
/// most one panel's buffers are alive at a time).
final class Slot<T> {
    var value: T?
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration.metrics = metrics

    for size in panelSizes {
        let label = "\(size.width)x\(size.height)"
        let canvasSlot = Slot<Canvas>()
        func canvas() -> Canvas {
            if let c = canvasSlot.value { return c }
            let c = makeCanvas(width: size.width, height: size.height)
            canvasSlot.value = c
            return c
        }

        for plugin in protocols {
            let settings = MappingSettings(startUniverse: plugin.defaultStartUniverse, channelsPerUniverse: 510)
            func makeMap() throws(ChannelMapError) -> ChannelMap {
                try ChannelMap(width: size.width, height: size.height, format: .rgb, settings: settings, allowedUniverses: plugin.universeRange)
            }
            // A panel the protocol cannot address (Art-Net at 4K: more than 32768 universes) is left
            // out; ChannelMap would refuse it the same way (this avoids building its tables here).
            let universes = (size.width * size.height + 169) / 170
            guard plugin.universeRange.contains(plugin.defaultStartUniverse + universes - 1) else {
                print("\(plugin.name) \(label): not benchmarked: needs \(universes) universes, the protocol addresses \(plugin.universeRange)")
                continue
            }
            let slot = Slot<Workload>()
            let setup: Benchmark.BenchmarkSetupHook = {
                let w = try Workload(plugin: plugin, map: makeMap(), canvas: canvas())
                if let problem = w.check() { print("warning: \(problem)") }
                slot.value = w
            }
            let teardown: Benchmark.BenchmarkTeardownHook = { slot.value = nil }

            Benchmark("encode \(plugin.name) \(label)", configuration: configuration(setup: setup, teardown: teardown)) { benchmark in
                guard let w = slot.value else { return }
                var bytes = 0
                for _ in 0..<w.repeats { bytes += w.encode() }
                blackHole(bytes)
                record(benchmark, frames: w.repeats, packets: w.repeats * w.packetsPerFrame, bytes: bytes)
            }

            Benchmark("decode \(plugin.name) \(label)", configuration: configuration(setup: setup, teardown: teardown)) { benchmark in
                guard let w = slot.value else { return }
                if w.fresh {
                    w.refill()
                    benchmark.startMeasurement()
                }
                var frames = 0
                for _ in 0..<w.repeats { frames += w.decode() }
                benchmark.stopMeasurement()
                if frames != w.repeats { benchmark.error("\(frames) frames decoded in \(w.repeats) passes") }
                record(benchmark, frames: w.repeats, packets: w.repeats * w.packetsPerFrame, bytes: w.repeats * w.bytesPerFrame)
            }

            // The baseline: one memcpy of the frame's bytes (all its datagrams), as often.
            let buffers = Slot<(UnsafeMutableRawPointer, UnsafeMutableRawPointer, Workload)>()
            Benchmark("memcpy \(plugin.name) \(label)", configuration: configuration(setup: {
                try await setup()
                guard let w = slot.value else { return }
                let n = max(1, w.bytesPerFrame)
                let src = UnsafeMutableRawPointer.allocate(byteCount: n, alignment: 64)
                let dst = UnsafeMutableRawPointer.allocate(byteCount: n, alignment: 64)
                src.initializeMemory(as: UInt8.self, repeating: 0x5A, count: n)
                dst.initializeMemory(as: UInt8.self, repeating: 0, count: n)
                buffers.value = (src, dst, w)
            }, teardown: {
                if let (src, dst, _) = buffers.value { src.deallocate(); dst.deallocate() }
                buffers.value = nil
                slot.value = nil
            })) { benchmark in
                guard let (src, dst, w) = buffers.value else { return }
                for _ in 0..<w.repeats { memcpy(dst, src, w.bytesPerFrame) }
                blackHole(dst.load(as: UInt8.self))
                record(benchmark, frames: w.repeats, packets: w.repeats * w.packetsPerFrame, bytes: w.repeats * w.bytesPerFrame)
            }

            // The receiver floor: what any receiver pays before doing protocol work, given that bytes
            // arrive as datagrams (or stream messages) and a device hands out a frame event per
            // frame: one memcpy per datagram of its bytes, into place in a frame-sized buffer, and one
            // `FrameEvent` per frame (per message for Enttec, whose every message is a frame).
            let floorBuffer = Slot<(UnsafeMutableRawPointer, Workload)>()
            Benchmark("floor \(plugin.name) \(label)", configuration: configuration(setup: {
                try await setup()
                guard let w = slot.value else { return }
                let dst = UnsafeMutableRawPointer.allocate(byteCount: max(1, w.bytesPerFrame), alignment: 64)
                dst.initializeMemory(as: UInt8.self, repeating: 0, count: max(1, w.bytesPerFrame))
                floorBuffer.value = (dst, w)
            }, teardown: {
                if let (dst, _) = floorBuffer.value { dst.deallocate() }
                floorBuffer.value = nil
                slot.value = nil
            })) { benchmark in
                guard let (dst, w) = floorBuffer.value else { return }
                var events: [FrameEvent] = []
                var handedOut = 0
                for i in 0..<w.repeats {
                    var offset = 0
                    w.store.forEach { datagram in
                        if let base = datagram.baseAddress { (dst + offset).copyMemory(from: base, byteCount: datagram.count) }
                        offset += datagram.count
                    }
                    events.append(FrameEvent(index: i + 1, time: w.time, canvas: w.canvas, universes: [], sources: [],
                                             torn: false, synchronized: true))
                    handedOut += events.count
                    events.removeAll(keepingCapacity: true)
                }
                blackHole(dst.load(as: UInt8.self))
                blackHole(handedOut)
                record(benchmark, frames: w.repeats, packets: w.repeats * w.packetsPerFrame, bytes: w.repeats * w.bytesPerFrame)
            }
        }

        // PNG write of the frame as serve records it (PNGOptions.fast), beside bare libpng.
        let path = "/dev/shm/panelsim-bench-\(getpid())-\(label).png"
        let pngSetup: Benchmark.BenchmarkSetupHook = { _ = canvas() }
        let pngTeardown: Benchmark.BenchmarkTeardownHook = { canvasSlot.value = nil; unlink(path) }
        Benchmark("png-panelsim png \(label)", configuration: configuration(setup: pngSetup, teardown: pngTeardown)) { benchmark in
            guard let c = canvasSlot.value else { return }
            do { try PNGFile.write(c, to: path, options: .fast) } catch { benchmark.error("\(error)") }
            record(benchmark, frames: 1, packets: 0, bytes: c.bytes.count)
        }
        Benchmark("png-libpng png \(label)", configuration: configuration(setup: pngSetup, teardown: pngTeardown)) { benchmark in
            guard let c = canvasSlot.value else { return }
            let level = Int32(PNGOptions.fast.compressionLevel)
            let rc = c.bytes.withUnsafeBufferPointer { px in
                bare_png_write_rgb(path, UInt32(c.width), UInt32(c.height), px.baseAddress, c.width * 3, level, bare_png_filter_sub())
            }
            if rc != 0 { benchmark.error("bare libpng write failed") }
            record(benchmark, frames: 1, packets: 0, bytes: c.bytes.count)
        }
    }
}
