// swift-tools-version: 6.1
//
// Calotype: a GPU-aware image-processing engine.
//
// Dependency arrows point one way:
//   calotype (CLI) / Server -> Scheduler -> Backends -> CVips, COpenCL
// Nothing below imports anything above. The Scheduler and Server targets join
// this manifest with their issues; the micro benchmarks live in
// Benchmarks/Package.swift so that users, tests and CI never build them.
import PackageDescription

let package = Package(
    name: "Calotype",
    products: [
        .executable(name: "calotype", targets: ["calotype"]),
        .library(name: "Backends", targets: ["Backends"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.81.0"),
    ],
    targets: [
        // System libraries. Swift cannot call C variadic functions, so each
        // libvips call the backend needs has a fixed-signature wrapper in the
        // shim header.
        .systemLibrary(
            name: "CVips",
            pkgConfig: "vips",
            providers: [.apt(["libvips-dev"])]
        ),
        .systemLibrary(
            name: "COpenCL",
            providers: [.apt(["ocl-icd-opencl-dev", "opencl-headers"])]
        ),

        // The pipeline vocabulary (Recipe and its operations) and the backends
        // that understand it.
        .target(
            name: "Backends",
            dependencies: [
                "CVips", "COpenCL",
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            // The OpenCL kernels, built per device at start.
            resources: [.copy("OpenCL/Kernels")]
        ),

        // The command-line tool.
        .executableTarget(
            name: "calotype",
            dependencies: [
                "Backends",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),

        .testTarget(
            name: "BackendsTests",
            dependencies: [
                "Backends", "CVips",
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            exclude: ["Fixtures/make-fixtures.sh"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "calotypeTests",
            dependencies: ["calotype", "Backends"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
