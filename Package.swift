// swift-tools-version: 6.1
//
// Calotype: a GPU-aware image-processing engine.
//
// Dependency arrows point one way:
//   calotype (CLI) / Server -> Scheduler -> Backends -> CVips (+ CVipsFixes), COpenCL
// Nothing below imports anything above. The micro benchmarks live in
// Benchmarks/Package.swift so that users, tests and CI never build them.
import PackageDescription

let package = Package(
    name: "Calotype",
    products: [
        .executable(name: "calotype", targets: ["calotype"]),
        .library(name: "Backends", targets: ["Backends"]),
        .library(name: "Scheduler", targets: ["Scheduler"]),
        .library(name: "Server", targets: ["Server"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.81.0"),
        // Already in the graph through Hummingbird; the server's connection
        // handlers speak its HTTP part types.
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.34.1"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.24.0"),
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

        // Fixes for defects of the libvips versions Calotype runs on (an idle
        // worker thread's racy exit in 8.13-8.15.3), linked into every binary
        // with the backends.
        .target(name: "CVipsFixes", dependencies: ["CVips"]),

        // The pipeline vocabulary (Recipe and its operations) and the backends
        // that understand it.
        .target(
            name: "Backends",
            dependencies: [
                "CVips", "CVipsFixes", "COpenCL",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            // The OpenCL kernels, built per device at start.
            resources: [.copy("OpenCL/Kernels")]
        ),

        // Placement across backends, per-lane concurrency, queues, fallback, statistics.
        .target(
            name: "Scheduler",
            dependencies: [
                "Backends",
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),

        // HTTP + Server-Sent Events in front of the scheduler.
        .target(
            name: "Server",
            dependencies: [
                "Backends",
                "Scheduler",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),

        // The command-line tool.
        .executableTarget(
            name: "calotype",
            dependencies: [
                "Backends",
                "Scheduler",
                "Server",
                // `calotype bench`'s raw libvips baseline calls libvips directly.
                "CVips",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                // `calotype bench --url` drives a running server over HTTP.
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),

        .testTarget(
            name: "BackendsTests",
            dependencies: [
                "Backends", "CVips", "TestSupport",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            exclude: ["Fixtures/make-fixtures.sh"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "SchedulerTests",
            dependencies: ["Scheduler", "Backends", .product(name: "NIOConcurrencyHelpers", package: "swift-nio")]
        ),
        // Helpers the test targets share (a raw TCP client).
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(
            name: "ServerTests",
            dependencies: [
                "Server", "Scheduler", "Backends", "TestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "calotypeTests",
            dependencies: ["calotype", "Backends", "TestSupport", .product(name: "NIOConcurrencyHelpers", package: "swift-nio")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
