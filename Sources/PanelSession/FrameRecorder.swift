import Foundation
import PanelCore
import PanelDevice
import PanelImage

/// How the recorder writes frames.
public struct RecordingOptions: Sendable {
    public var png: PNGOptions
    /// Leave out frames identical to the last one written (`skipped: "identical"`).
    public var skipIdentical: Bool
    /// Frames waiting to be written beyond which new ones are skipped (`skipped: "backlog"`);
    /// nil never skips (replay).
    public var maxBacklog: Int?
    /// False writes frames.jsonl only (`skipped: "no-png"`): decoding and diagnosis at full speed.
    public var writePNG: Bool
    public init(png: PNGOptions = .fast, skipIdentical: Bool = false, maxBacklog: Int? = 256, writePNG: Bool = true) {
        self.png = png; self.skipIdentical = skipIdentical; self.maxBacklog = maxBacklog; self.writePNG = writePNG
    }
}

/// Which recorded frame a golden frame stands for.
public enum GoldenMatch: String, Sendable, CaseIterable {
    /// Recorded frame N against golden `frame-N.png`: the sender's timing must be the same.
    case index
    /// The sequence of distinct pictures: a frame equal to the one before it is a repeat, not a
    /// new golden frame, so pacing and repeated frames do not matter, only what was shown in
    /// which order.
    case distinct
}

/// Golden comparison settings (`--expect DIR`).
public struct GoldenOptions: Sendable {
    /// Folder holding `frame-000001.png`, … for this controller.
    public var directory: String
    /// Largest per-component difference still counted as equal.
    public var tolerance: Int
    public var match: GoldenMatch
    /// Write the recorded frames as the new golden set (replacing the folder's frames) instead
    /// of comparing (`--update-golden`).
    public var update: Bool
    public init(directory: String, tolerance: Int, match: GoldenMatch = .index, update: Bool = false) {
        self.directory = directory; self.tolerance = tolerance; self.match = match; self.update = update
    }

    /// A controller's golden folder under `--expect DIR`: `DIR/<controller>/`, or `DIR` itself
    /// when the session has a single controller and `DIR` has no subfolder of its name.
    public static func folder(_ dir: String, controller: String, single: Bool) -> String {
        let sub = dir + "/" + controller
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: sub, isDirectory: &isDir), isDir.boolValue { return sub }
        return single ? dir : sub
    }

    /// `--expect DIR` must be a folder, unless `--update-golden` is about to make it.
    public static func checkFolder(_ dir: String, update: Bool) throws(ConfigError) {
        var isDir: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: dir, isDirectory: &isDir)
        if exists && isDir.boolValue || !exists && update { return }
        throw ConfigError(file: "--expect", line: nil, key: "", "\(dir) is not a folder of golden frames")
    }
}

/// The outcome of comparing a recording with golden frames.
public struct GoldenResult: Sendable {
    public struct Mismatch: Sendable {
        public var frame: Int
        public var reason: String
        public var diffFile: String?
    }
    public var compared = 0
    public var matched = 0
    public var mismatches: [Mismatch] = []
    /// Frames equal to the one before them (`distinct` matching), not compared.
    public var repeats = 0
    /// Golden frames written (`--update-golden`).
    public var updated = 0
    public var passed: Bool { mismatches.isEmpty }

    /// As recording.json and `--json` show it.
    public var json: JSONValue {
        .object([
            "compared": .int(compared), "matched": .int(matched), "passed": .bool(passed), "repeats": .int(repeats), "updated": .int(updated),
            "mismatches": .array(mismatches.map { m in
                .object(["frame": .int(m.frame), "reason": .string(m.reason), "diff": m.diffFile.map { .string($0) } ?? .null])
            }),
        ])
    }
}

/// Writes one controller's frames: PNG files and frames.jsonl, in order, on a background
/// queue so the receive path never waits for libpng. Disk errors stop PNG writing with a
/// clear message and serving goes on; every frame event still gets its frames.jsonl line.
public final class FrameRecorder: @unchecked Sendable {
    public let directory: String
    public let options: RecordingOptions
    public let golden: GoldenOptions?
    private let queue: DispatchQueue
    private let lock = NSLock()
    private var pending = 0
    /// Jobs waiting for the queue, and whether a drain of them is scheduled (under `lock`).
    private var jobs: [() -> Void] = []
    /// frames.jsonl text not yet written (on the queue only).
    private var unwrittenLines = ""
    private var drainScheduled = false
    private var jsonl: FileHandle?
    private var lastWritten: Canvas?
    private var stoppedReason: String?
    private var goldenResult = GoldenResult()
    /// The golden frame number the last compared frame stood for, and its picture (`distinct`).
    private var lastGoldenIndex = 0
    private var lastGoldenCanvas: Canvas?
    /// Frames not written as PNG, by reason ("identical", "backlog", "error").
    public private(set) var notWritten: [String: Int] = [:]
    public private(set) var written = 0
    /// Called once with a message when writing stops (e.g. disk full).
    public var onError: ((String) -> Void)?

    public init(directory: String, options: RecordingOptions, golden: GoldenOptions?) throws {
        self.directory = directory
        self.options = options
        self.golden = golden
        queue = DispatchQueue(label: "panelsim.recorder.\((directory as NSString).lastPathComponent)")
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw OutputError(path: directory, reason: "cannot create the folder: \(error.localizedDescription)")
        }
        let path = directory + "/frames.jsonl"
        guard FileManager.default.createFile(atPath: path, contents: nil), let h = FileHandle(forWritingAtPath: path) else {
            throw OutputError(path: path, reason: "cannot create the file")
        }
        jsonl = h
        if let g = golden, g.update { try FrameRecorder.clearGolden(g.directory) }
        let reserve = directory + "/" + FrameRecorder.reserveName
        reservePath = FrameRecorder.reserve(reserve, bytes: FrameRecorder.reserveBytes) ? reserve : nil
    }

    /// `--update-golden`: the folder exists and holds no frame-*.png of an older set.
    private static func clearGolden(_ dir: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            for name in try FileManager.default.contentsOfDirectory(atPath: dir) where name.hasPrefix("frame-") && name.hasSuffix(".png") {
                try FileManager.default.removeItem(atPath: dir + "/" + name)
            }
        } catch {
            throw OutputError(path: dir, reason: "cannot prepare the golden folder: \(error.localizedDescription)")
        }
    }

    /// Space held on the recording's disk from the start (a hidden file), given back when the
    /// disk fills up or the recording ends, so that frames.jsonl lines (about 1,300 of them)
    /// and recording.json can still be written when PNGs no longer fit.
    static let reserveName = ".panelsim-reserve"
    static let reserveBytes = 256 << 10
    /// The reserve file while it holds space (on the queue only).
    private var reservePath: String?

    /// Creates `path` with `bytes` allocated on disk; false (and no file) when that fails.
    private static func reserve(_ path: String, bytes: Int) -> Bool {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return false }
        let ok = posix_fallocate(fd, 0, off_t(bytes)) == 0
        close(fd)
        if !ok { unlink(path) }
        return ok
    }

    /// Gives the reserved space back to the disk.
    private func releaseReserve() {
        guard let path = reservePath else { return }
        unlink(path)
        reservePath = nil
    }

    public static func fileName(frame: Int) -> String {
        let digits = String(frame)
        return "frame-" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits + ".png"
    }

    /// Queues a frame event; `time` is seconds since the session's first packet.
    public func record(_ event: FrameEvent, time: Double, extras: [String: JSONValue] = [:]) {
        var skipBacklog = false
        lock.lock()
        if let max = options.maxBacklog, pending >= max { skipBacklog = true } else { pending += 1 }
        lock.unlock()
        let base = FrameLine(event, time: time, extras: extras)
        if skipBacklog {
            enqueue { [self] in
                var line = base
                line.skipped = "backlog"
                notWritten["backlog", default: 0] += 1
                append(line)
                if let g = golden, !g.update {
                    lastGoldenIndex += 1
                    goldenResult.compared += 1
                    goldenResult.mismatches.append(.init(frame: lastGoldenIndex, reason: "frame \(event.index) not recorded (backlog)", diffFile: nil))
                }
            }
            return
        }
        let canvas = event.canvas
        enqueue { [self] in
            var line = base
            defer { lock.lock(); pending -= 1; lock.unlock() }
            let name = FrameRecorder.fileName(frame: event.index)
            if let g = golden { checkGolden(canvas, g) }
            if !options.writePNG {
                line.skipped = "no-png"
                notWritten["no-png", default: 0] += 1
            } else if options.skipIdentical, let last = lastWritten, last == canvas {
                line.skipped = "identical"
                notWritten["identical", default: 0] += 1
            } else if stoppedReason != nil {
                line.skipped = "error"
                notWritten["error", default: 0] += 1
            } else {
                do {
                    try PNGFile.write(canvas, to: directory + "/" + name, options: options.png)
                    line.file = name
                    written += 1
                    lastWritten = canvas
                } catch {
                    stoppedReason = "\(error)"
                    releaseReserve()
                    line.skipped = "error"
                    notWritten["error", default: 0] += 1
                    onError?("recording to \(directory) stopped: \(error); serving goes on, later frames are counted as not written")
                }
            }
            append(line)
        }
    }

    /// Runs `job` on the recorder's queue after the jobs before it. The queue runs the jobs in
    /// batches a few milliseconds after the first of them, so a fast replay does not wake the
    /// writer thread once per frame (`finish` runs whatever is still waiting).
    private func enqueue(_ job: @escaping () -> Void) {
        lock.lock()
        jobs.append(job)
        let schedule = !drainScheduled
        drainScheduled = true
        lock.unlock()
        guard schedule else { return }
        queue.asyncAfter(deadline: .now() + FrameRecorder.batchDelay) { [self] in runJobs() }
    }

    static let batchDelay = DispatchTimeInterval.milliseconds(5)

    /// Runs every waiting job, then writes the lines they made (on the queue).
    private func runJobs() {
        while true {
            lock.lock()
            let batch = jobs
            jobs.removeAll(keepingCapacity: true)
            if batch.isEmpty { drainScheduled = false }
            lock.unlock()
            if batch.isEmpty { flushLines(); return }
            for j in batch { j() }
        }
    }

    /// A frames.jsonl line: the frame event's facts, then what became of its PNG.
    struct FrameLine {
        var index: Int
        var time: Double
        var torn: Bool
        var universes: [Int]
        var sources: [FrameSource]
        var sync: Bool
        var extras: [String: JSONValue]
        /// The PNG written, or nil with the reason in `skipped`.
        var file: String?
        var skipped: String?

        init(_ event: FrameEvent, time: Double, extras: [String: JSONValue]) {
            index = event.index; self.time = time; torn = event.torn; universes = event.universes
            sources = event.sources; sync = event.synchronized
            // The model's own facts (FrameEvent.extras), then the caller's.
            self.extras = event.extras.mapValues { JSONValue.int($0) }.merging(extras) { _, caller in caller }
        }

        /// Compact JSON with sorted keys; written directly (a replay writes hundreds of
        /// thousands of these), through `JSONValue` only when there are extras to merge.
        func write(into out: inout String) {
            guard extras.isEmpty else {
                JSONValue.object(object).write(&out, indent: nil, level: 0)
                return
            }
            out += "{\"file\":"
            if let file { JSONValue.escape(file, into: &out) } else { out += "null" }
            out += ",\"index\":" + String(index)
            if let skipped { out += ",\"skipped\":"; JSONValue.escape(skipped, into: &out) }
            out += ",\"sources\":["
            for (k, s) in sources.enumerated() {
                out += k == 0 ? "{\"address\":" : ",{\"address\":"
                JSONValue.escape(s.address, into: &out)
                if let c = s.cid { out += ",\"cid\":"; JSONValue.escape(c, into: &out) }
                if let n = s.name { out += ",\"name\":"; JSONValue.escape(n, into: &out) }
                out += ",\"port\":" + String(s.port) + "}"
            }
            out += "],\"sync\":" + (sync ? "true" : "false")
            out += ",\"time\":" + (time.isFinite ? JSONValue.formatDouble(time) : "null")
            out += ",\"torn\":" + (torn ? "true" : "false") + ",\"universes\":["
            for (k, u) in universes.enumerated() { out += k == 0 ? String(u) : "," + String(u) }
            out += "]}"
        }

        /// The same line as a JSON object.
        var object: [String: JSONValue] {
            var line: [String: JSONValue] = [
                "index": .int(index), "time": .double(time), "torn": .bool(torn),
                "universes": .array(universes.map { .int($0) }),
                "sources": .array(sources.map { s in
                    var o: [String: JSONValue] = ["address": .string(s.address), "port": .int(Int(s.port))]
                    if let n = s.name { o["name"] = .string(n) }
                    if let c = s.cid { o["cid"] = .string(c) }
                    return .object(o)
                }),
                "sync": .bool(sync), "file": file.map { .string($0) } ?? .null,
            ]
            if let skipped { line["skipped"] = .string(skipped) }
            for (k, v) in extras { line[k] = v }
            return line
        }
    }

    /// Adds a frames.jsonl line; lines are written when the queue runs dry (at once while
    /// serving at frame rate, in large writes during a fast replay) or past 256 KiB.
    private func append(_ line: FrameLine) {
        guard jsonl != nil else { return }
        line.write(into: &unwrittenLines)
        unwrittenLines += "\n"
        if unwrittenLines.utf8.count >= 256 << 10 { flushLines() }
    }

    private func flushLines() {
        guard !unwrittenLines.isEmpty else { return }
        defer { unwrittenLines.removeAll(keepingCapacity: true) }
        guard let h = jsonl else { return }
        // write(2) in a loop, so that a full disk never leaves half a line: the reserve is
        // given back and the rest of the text written after the part that went out.
        var utf8 = unwrittenLines
        let failure = utf8.withUTF8 { text in
            FileText.writeAll(h.fileDescriptor, UnsafeRawBufferPointer(text)) { [self] in
                guard reservePath != nil else { return false }
                releaseReserve()
                return true
            }
        }
        guard failure != 0 else { return }
        let reason = String(cString: strerror(failure))
        if stoppedReason == nil {
            stoppedReason = "frames.jsonl: \(reason)"
            onError?("recording to \(directory) stopped: cannot append to frames.jsonl (\(reason))")
        }
        try? h.close()
        jsonl = nil
    }

    /// The frame against (or, updating, into) the golden frame it stands for: the next one, or
    /// none when it repeats the last picture under `distinct` matching.
    private func checkGolden(_ canvas: Canvas, _ g: GoldenOptions) {
        if g.match == .distinct, let last = lastGoldenCanvas, last == canvas {
            goldenResult.repeats += 1
            return
        }
        lastGoldenIndex += 1
        if g.match == .distinct { lastGoldenCanvas = canvas }
        if g.update {
            let path = g.directory + "/" + FrameRecorder.fileName(frame: lastGoldenIndex)
            do {
                try PNGFile.write(canvas, to: path, options: options.png)
                goldenResult.updated += 1
            } catch {
                goldenResult.mismatches.append(.init(frame: lastGoldenIndex, reason: "cannot write golden frame: \(error)", diffFile: nil))
            }
            return
        }
        compare(canvas, frame: lastGoldenIndex, golden: g)
    }

    private func compare(_ canvas: Canvas, frame: Int, golden g: GoldenOptions) {
        goldenResult.compared += 1
        let path = g.directory + "/" + FrameRecorder.fileName(frame: frame)
        guard FileManager.default.fileExists(atPath: path) else {
            goldenResult.mismatches.append(.init(frame: frame, reason: "no golden frame \(path)", diffFile: nil))
            return
        }
        let expected: Canvas
        do { expected = try PNGFile.read(path: path) } catch {
            goldenResult.mismatches.append(.init(frame: frame, reason: "cannot read golden frame: \(error)", diffFile: nil))
            return
        }
        // ImageDiff folds RGBW the way the PNG writer does, so a recording matches its own PNGs.
        let actual = canvas
        let result = ImageDiff.compare(actual, expected, tolerance: g.tolerance)
        if result.matches {
            goldenResult.matched += 1
            return
        }
        let diffName = "diff-" + FrameRecorder.fileName(frame: frame).dropFirst("frame-".count)
        let diffPath = directory + "/" + diffName
        let wrote = (try? PNGFile.write(ImageDiff.diffImage(actual, expected, tolerance: g.tolerance), to: diffPath, options: options.png)) != nil
        let reason = result.sizeMatches
            ? "\(result.differingPixels) pixels differ (largest difference \(result.maxDelta)" + (result.firstDifference.map { ", first at \($0.x),\($0.y)" } ?? "") + ")"
            : "size \(actual.width)x\(actual.height) differs from golden \(expected.width)x\(expected.height)"
        goldenResult.mismatches.append(.init(frame: frame, reason: reason, diffFile: wrote ? String(diffName) : nil))
    }

    /// Waits for every queued frame, closes frames.jsonl and returns the golden result
    /// (golden frames beyond the last recorded one count as missing).
    public func finish() -> GoldenResult {
        queue.sync {
            runJobs()
            try? jsonl?.synchronize()
            try? jsonl?.close()
            jsonl = nil
            releaseReserve()
            if let g = golden, !g.update {
                var next = lastGoldenIndex + 1
                while FileManager.default.fileExists(atPath: g.directory + "/" + FrameRecorder.fileName(frame: next)) {
                    goldenResult.compared += 1
                    goldenResult.mismatches.append(.init(frame: next, reason: "golden frame was never received", diffFile: nil))
                    next += 1
                }
            }
        }
        return queue.sync { goldenResult }
    }

    /// Why PNG writing stopped, if it did.
    public var stopReason: String? { queue.sync { stoppedReason } }
}
