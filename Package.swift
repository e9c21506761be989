// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "PanelSim",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "panelsim", targets: ["panelsim"]),
        .executable(name: "panelsim-fuzz", targets: ["PanelFuzz"]),
        .library(name: "PanelSession", targets: ["PanelSession"]),
        // For the benchmark package under Benchmarks/ (it depends on this one by path).
        .library(name: "PanelCore", targets: ["PanelCore"]),
        .library(name: "PanelDevice", targets: ["PanelDevice"]),
        .library(name: "PanelImage", targets: ["PanelImage"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", exact: "2.101.3"),
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", exact: "6.2.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", exact: "0.2.0"),
    ],
    targets: [
        // System libraries and the one C shim around libpng's setjmp error handling.
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CPCAP", pkgConfig: "libpcap", providers: [.apt(["libpcap-dev"])]),
        .target(name: "CPNGShim", dependencies: ["CPNG"]),
        // Byte shuffles chosen by what the CPU has (pixel copies in another component or pixel order).
        .target(name: "CPixelKernels"),

        // The layers, each depending only on those below it (see ../shared/DESIGN.md).
        .target(name: "PanelCore", dependencies: ["CPixelKernels"]),
        .target(name: "PanelWire", dependencies: ["PanelCore", "CPixelKernels"]),
        .target(name: "PanelDevice", dependencies: ["PanelCore", "PanelWire"], linkerSettings: [.linkedLibrary("m")]),
        .target(name: "PanelImage", dependencies: ["PanelCore", "CPNG", "CPNGShim"]),
        .target(name: "PanelCapture", dependencies: ["PanelCore", "CPCAP"]),
        .target(name: "PanelNet", dependencies: [
            "PanelCore", "CPCAP",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
        ]),
        .target(name: "PanelSession", dependencies: [
            "PanelCore", "PanelWire", "PanelDevice", "PanelImage", "PanelCapture", "PanelNet",
            .product(name: "Yams", package: "Yams"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "Histogram", package: "hdrhistogram-swift"),
        ]),
        .target(name: "PanelHarness", dependencies: [
            "PanelCore", "PanelWire", "PanelDevice", "PanelCapture", "PanelImage", "PanelSession",
            .product(name: "Histogram", package: "hdrhistogram-swift"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "panelsim", dependencies: [
            "PanelSession", "PanelHarness",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // libFuzzer entry point holding every fuzz target, chosen by name (see `make fuzz`).
        .executableTarget(name: "PanelFuzz", dependencies: ["PanelWire", "PanelDevice", "PanelCore", "PanelCapture", "PanelSession", "PanelHarness"]),

        .testTarget(name: "PanelCoreTests", dependencies: ["PanelCore"]),
        .testTarget(name: "PanelWireTests", dependencies: ["PanelWire", "PanelCore"]),
        .testTarget(name: "PanelDeviceTests", dependencies: ["PanelDevice", "PanelWire", "PanelCore"]),
        .testTarget(name: "PanelImageTests", dependencies: ["PanelImage", "PanelCore"]),
        .testTarget(name: "PanelCaptureTests", dependencies: ["PanelCapture", "PanelCore"]),
        .testTarget(name: "PanelSessionTests", dependencies: ["PanelSession", "PanelWire", "PanelDevice", "PanelImage", "PanelCapture"]),
        .testTarget(name: "PanelHarnessTests", dependencies: ["PanelHarness", "PanelSession", "PanelCapture", "PanelWire", "PanelDevice", "PanelCore"]),
        .testTarget(name: "EndToEndTests", dependencies: [
            "PanelSession", "PanelImage", "PanelWire", "PanelDevice", "PanelCore", "PanelHarness", "PanelCapture",
            "PanelNet", "CPCAP",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
    ],
    swiftLanguageModes: [.v5]
)
