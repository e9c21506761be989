// swift-tools-version: 6.1
// Benchmarks of PanelSim's encoding core on ordo-one/benchmark (`make bench` at the root).
// A package of its own so that the main build and `make test` never pull the benchmark stack.
import PackageDescription

let package = Package(
    name: "PanelSimBenchmarks",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(name: "PanelSim", path: ".."),
        // Only the malloc interposer trait: allocation counts, without the 6.3 ARC runtime interposer.
        .package(url: "https://github.com/ordo-one/benchmark", exact: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // The baseline for PNGFile: the same libpng calls with the same settings, nothing around them.
        .target(name: "CBarePNG", linkerSettings: [.linkedLibrary("png16")]),
        .executableTarget(
            name: "EncodingCore",
            dependencies: [
                "CBarePNG",
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "PanelCore", package: "PanelSim"),
                .product(name: "PanelDevice", package: "PanelSim"),
                .product(name: "PanelImage", package: "PanelSim"),
            ],
            path: "Benchmarks/EncodingCore",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ],
    swiftLanguageModes: [.v5]
)
