#if !FUZZING
#if canImport(Glibc)
import Glibc
#endif

/// Without libFuzzer (an ordinary build), `panelsim-fuzz TARGET FILE…` runs a target over
/// stored inputs: how `make test` replays the corpora and regression cases.
@main
enum ReplayMain {
    static func main() {
        let args = CommandLine.arguments
        guard args.count >= 2, let target = FuzzTargets.all[args[1]] else {
            print("usage: panelsim-fuzz TARGET FILE… (targets: \(FuzzTargets.all.keys.sorted().joined(separator: ", ")))")
            exit(2)
        }
        var count = 0
        for path in args.dropFirst(2) {
            guard let f = fopen(path, "rb") else { print("cannot open \(path)"); exit(2) }
            var bytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, 65536, f) }
                if n <= 0 { break }
                bytes.append(contentsOf: chunk[0..<n])
            }
            fclose(f)
            bytes.withUnsafeBytes { target($0) }
            count += 1
        }
        print("\(args[1]): \(count) inputs replayed without a crash")
    }
}
#endif
