// swift-tools-version: 6.1
//
// Calotype: a GPU-aware image-processing engine.
//
// Dependency arrows point one way (docs/ARCHITECTURE.md draws them):
//   calotype (CLI) -> CalotypeBench, CalotypeApp (the composition root)
//   CalotypeApp -> Server -> Scheduler -> CalotypeCore (the vocabulary)
//   CalotypeApp -> CalotypeOpenCL -> CalotypeLibvips -> CalotypeCore, CVips (+ CVipsFixes, CVipsOperations); COpenCL
// Nothing below imports anything above; the scheduler and the server know
// backends only through CalotypeCore's `ImageBackend`. The micro benchmarks live in
// Benchmarks/Package.swift so that users, tests and CI never build them.
import PackageDescription

let package = Package(
    name: "Calotype",
    products: [
        .executable(name: "calotype", targets: ["calotype"]),
        .library(name: "CalotypeCore", targets: ["CalotypeCore"]),
        .library(name: "CalotypeLibvips", targets: ["CalotypeLibvips"]),
        .library(name: "CalotypeOpenCL", targets: ["CalotypeOpenCL"]),
        .library(name: "Scheduler", targets: ["Scheduler"]),
        .library(name: "Server", targets: ["Server"]),
        .library(name: "CalotypeImageURL", targets: ["CalotypeImageURL"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.81.0"),
        // Already in the graph through Hummingbird; the server's connection
        // handlers speak its HTTP part types.
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.34.1"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.5.0"),
        // API keys: the authenticator and authorization-policy middleware,
        // and the request context's identity.
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.24.0"),
        // Cluster mode's queue, event log and coordinator: PostgreSQL.
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.0"),
        // Telemetry: swift-metrics is the API the scheduler and the server
        // record through; swift-prometheus renders /metrics; swift-log
        // writes the logs.
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        // Settings read once, from flags, the environment, .env, a config
        // file and a secrets folder (already in the graph through Hummingbird).
        .package(url: "https://github.com/apple/swift-configuration", from: "1.4.0", traits: []),
        // HMAC-SHA256 and SHA-256 for S3's Signature Version 4.
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
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
        // with the libvips backend.
        .target(name: "CVipsFixes", dependencies: ["CVips"]),

        // Operations Calotype adds to libvips, built as lazy libvips images:
        // the Lanczos steps of a resize with libvips' arithmetic, vectorised,
        // and the conversion to sRGB with each profile's lcms2 transform kept.
        .target(
            name: "CVipsOperations",
            dependencies: ["CVips"],
            linkerSettings: [.linkedLibrary("lcms2")]
        ),

        // The vocabulary every other module speaks: recipes and their
        // operations, the backend protocol, inputs, results, errors, limits.
        // Foundation only.
        .target(name: "CalotypeCore"),

        // The CPU backend: libvips.
        .target(
            name: "CalotypeLibvips",
            dependencies: [
                "CalotypeCore", "CVips", "CVipsFixes", "CVipsOperations",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),

        // The GPU backend: OpenCL kernels that reproduce libvips' arithmetic.
        // libvips still decodes and encodes on the host, hence its arrow to
        // the CPU backend's target.
        .target(
            name: "CalotypeOpenCL",
            dependencies: [
                "CalotypeCore", "CalotypeLibvips", "COpenCL", "CVips",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            // The OpenCL kernels, built per device at start.
            resources: [.copy("Kernels")]
        ),

        // A small S3 client (Signature Version 4 on AsyncHTTPClient): no AWS
        // SDK builds here.
        .target(
            name: "CalotypeS3",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),

        // Images by reference: source URLs, the allow-list and the address
        // guard that decide what may be fetched.
        .target(
            name: "CalotypeSources",
            dependencies: [
                "CalotypeCore",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),

        // Cluster mode: the shared queue of batch items (claims with lease
        // tokens), the batches' event log and the schema, in PostgreSQL.
        .target(
            name: "CalotypeCluster",
            dependencies: [
                "CalotypeCore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // Placement across backends (known only through `ImageBackend`),
        // per-lane concurrency, queues, fallback, the memory budget, the one
        // batch runner, statistics.
        .target(
            name: "Scheduler",
            dependencies: [
                "CalotypeCore",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),

        // imgproxy's URL format for `GET /img`: the path, its signatures and
        // its processing options as a recipe. No HTTP server: `calotype
        // sign` uses it without the server.
        .target(
            name: "CalotypeImageURL",
            dependencies: [
                "CalotypeCore",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),

        // HTTP + Server-Sent Events in front of the scheduler.
        .target(
            name: "Server",
            dependencies: [
                "CalotypeCore",
                "CalotypeImageURL",
                "Scheduler",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdAuth", package: "hummingbird-auth"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            // The console's page, style and script and the OpenAPI document:
            // real files, built into the binary by the EmbedAssets plugin.
            exclude: ["Assets"],
            plugins: ["EmbedAssets"]
        ),

        // Writes a target's Assets/ files into a Swift source at build time
        // (the tool, and the build plugin that runs it).
        .executableTarget(name: "AssetEmbedder"),
        .plugin(name: "EmbedAssets", capability: .buildTool(), dependencies: ["AssetEmbedder"]),

        // The composition root: reads the configuration once and builds the
        // backends, their threads, the scheduler and the server from it.
        // Nothing below it reads the environment.
        .target(
            name: "CalotypeApp",
            dependencies: [
                "CalotypeCore", "CalotypeLibvips", "CalotypeOpenCL", "CalotypeS3", "CalotypeSources", "CalotypeCluster", "Scheduler", "Server",
                "CalotypeImageURL",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),

        // `calotype bench`: in-process and HTTP measurements, reports.
        .target(
            name: "CalotypeBench",
            dependencies: [
                "CalotypeCore", "CalotypeLibvips", "Scheduler", "Server", "CalotypeApp",
                // The raw libvips baseline calls libvips directly.
                "CVips",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                // `calotype bench --url` drives a running server over HTTP.
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                // `calotype bench --cluster-sim` says to PostgreSQL what cluster nodes say.
                "CalotypeCluster",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // The command-line tool: argument parsing over the composition root.
        .executableTarget(
            name: "calotype",
            dependencies: [
                // No backend and no server: the composition root builds them.
                "CalotypeCore", "Scheduler", "CalotypeApp", "CalotypeBench", "CalotypeImageURL",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),

        // Helpers the test targets share (a raw TCP client, hostile inputs).
        .target(
            name: "TestSupport",
            dependencies: [
                "CalotypeSources", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            path: "Tests/TestSupport"
        ),
        // The committed fixtures (Tests/Fixtures) and libvips-based checks of
        // what a backend wrote, for the backends' tests.
        .target(
            name: "BackendTestSupport",
            dependencies: [
                "CalotypeCore", "CalotypeLibvips", "CalotypeOpenCL", "CVips",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            path: "Tests/BackendTestSupport"
        ),
        .testTarget(name: "CalotypeCoreTests", dependencies: ["CalotypeCore"]),
        .testTarget(
            name: "CalotypeLibvipsTests",
            dependencies: [
                "CalotypeCore", "CalotypeLibvips", "CVips", "CVipsOperations", "TestSupport", "BackendTestSupport",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "CalotypeOpenCLTests",
            dependencies: [
                "CalotypeCore", "CalotypeLibvips", "CalotypeOpenCL", "BackendTestSupport",
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "SchedulerTests",
            dependencies: ["Scheduler", "CalotypeCore", "TestSupport", .product(name: "NIOConcurrencyHelpers", package: "swift-nio")]
        ),
        .testTarget(
            name: "ServerTests",
            dependencies: [
                "Server", "Scheduler", "CalotypeCore", "CalotypeApp", "CalotypeLibvips", "CalotypeS3", "CalotypeSources", "CalotypeImageURL",
                "TestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "CalotypeAppTests",
            dependencies: [
                "CalotypeApp", "CalotypeCluster", "CalotypeCore", "CalotypeOpenCL", "Scheduler", "Server", "TestSupport",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "CalotypeSourcesTests",
            dependencies: [
                "CalotypeSources", "CalotypeCore", "TestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "CalotypeClusterTests",
            dependencies: [
                "CalotypeCluster", "CalotypeCore", "TestSupport", .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "CalotypeS3Tests",
            dependencies: ["CalotypeS3", "TestSupport", .product(name: "AsyncHTTPClient", package: "async-http-client")],
            exclude: ["sigv4-vectors.json"]
        ),
        .testTarget(
            name: "CalotypeBenchTests",
            dependencies: [
                "CalotypeBench", "CalotypeCore", "CalotypeLibvips", "TestSupport", "BackendTestSupport", "CalotypeCluster",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "calotypeTests",
            dependencies: [
                "calotype", "CalotypeCore", "CalotypeLibvips", "CalotypeS3", "TestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
