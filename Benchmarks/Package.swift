// swift-tools-version: 6.1
//
// Calotype's micro benchmarks (ordo-one's package-benchmark), kept out of the
// root package so that users, tests and CI never build them.
//
//   cd Benchmarks && swift package benchmark
//
// See README.md beside this file.
import PackageDescription

let package = Package(
    name: "CalotypeBenchmarks",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(name: "Calotype", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "Operations",
            dependencies: [
                .product(name: "CalotypeCore", package: "Calotype"),
                .product(name: "CalotypeLibvips", package: "Calotype"),
                .product(name: "CalotypeOpenCL", package: "Calotype"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/Operations",
            plugins: [
                .plugin(name: "BenchmarkPlugin", package: "benchmark")
            ]
        )
    ],
    swiftLanguageModes: [.v6]
)
