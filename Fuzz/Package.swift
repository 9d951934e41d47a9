// swift-tools-version: 6.1
//
// libFuzzer targets for the parsers that read untrusted bytes, kept out of
// the root package so that users, tests and CI's plain build never build them
// (docs/FUZZING.md). Each target is an executable that hands its one function
// to libFuzzer's driver:
//
//   swift build --package-path Fuzz --scratch-path Fuzz/.build -c debug \
//     -Xswiftc -sanitize=fuzzer,address
//   scripts/fuzz.sh 60     # builds, then runs every target for 60 s
//
// (Not `-parse-as-library` with libFuzzer's own main: SwiftPM links every
// executable with `main` renamed to `<target>_main`, which then is missing.)
//
// The parsers are internal (or `package`) to their modules: the targets reach
// them with `@testable import`, as the tests do, which a debug build allows.
import PackageDescription

let package = Package(
    name: "CalotypeFuzz",
    dependencies: [
        .package(name: "Calotype", path: ".."),
        .package(url: "https://github.com/apple/swift-nio", from: "2.81.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.24.0"),
    ],
    targets: [
        // libFuzzer's driver entry (LLVMFuzzerRunDriver), declared for Swift.
        .target(name: "CLibFuzzer", path: "Sources/CLibFuzzer"),
        // What every target shares: starting the driver, and the check that
        // turns a broken property into a crash libFuzzer reports.
        .target(name: "FuzzSupport", dependencies: ["CLibFuzzer"], path: "Sources/FuzzSupport"),

        // ImageSize.sniff and JPEGScans.count (CalotypeCore).
        .executableTarget(
            name: "FuzzImageHeaders",
            dependencies: ["FuzzSupport", .product(name: "CalotypeCore", package: "Calotype")],
            path: "Sources/FuzzImageHeaders"
        ),
        // The multipart/form-data parser (Server).
        .executableTarget(
            name: "FuzzMultipart",
            dependencies: [
                "FuzzSupport", .product(name: "Server", package: "Calotype"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Sources/FuzzMultipart"
        ),
        // Recipe(json:) and Recipe(shorthand:) (CalotypeCore).
        .executableTarget(
            name: "FuzzRecipe",
            dependencies: ["FuzzSupport", .product(name: "CalotypeCore", package: "Calotype")],
            path: "Sources/FuzzRecipe"
        ),
        // ImageURL(path:) and ImgproxyOptions, up to the recipe (CalotypeImageURL).
        .executableTarget(
            name: "FuzzImgproxy",
            dependencies: [
                "FuzzSupport", .product(name: "CalotypeImageURL", package: "Calotype"),
                .product(name: "CalotypeCore", package: "Calotype"),
            ],
            path: "Sources/FuzzImgproxy"
        ),
        // S3's XML answers (LIST pages, errors). CalotypeS3 is not a product
        // of the root package, so this package builds its sources again as a
        // module of its own: Sources/CalotypeS3UnderFuzz is a link to
        // ../../Sources/CalotypeS3, the same files.
        .target(
            name: "CalotypeS3UnderFuzz",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Sources/CalotypeS3UnderFuzz"
        ),
        .executableTarget(
            name: "FuzzS3XML",
            dependencies: ["FuzzSupport", "CalotypeS3UnderFuzz"],
            path: "Sources/FuzzS3XML"
        ),
    ],
    swiftLanguageModes: [.v6]
)
