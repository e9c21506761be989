#if FUZZING
#if canImport(Glibc)
import Glibc
#endif

/// libFuzzer's entry point; the target is chosen by PANELSIM_FUZZ_TARGET.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let run = FuzzSelection.target else { return -1 }
    run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

enum FuzzSelection {
    static let target: ((UnsafeRawBufferPointer) -> Void)? = {
        let name = getenv("PANELSIM_FUZZ_TARGET").map { String(cString: $0) } ?? ""
        guard let t = FuzzTargets.all[name] else {
            fputs("PANELSIM_FUZZ_TARGET must be one of: \(FuzzTargets.all.keys.sorted().joined(separator: ", "))\n", stderr)
            exit(2)
        }
        return t
    }()
}
#endif
