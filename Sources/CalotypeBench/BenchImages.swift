import CalotypeCore
import CalotypeLibvips
import Foundation
import NIOPosix

/// The images a benchmark runs on, held in memory so that reading files is
/// no part of what is measured.
struct BenchImages: Sendable {
    struct Image: Sendable {
        var name: String
        var bytes: [UInt8]
        var width: Int
        var height: Int
        var megapixels: Double { Double(width * height) / 1_000_000 }
    }

    /// Where they came from, for the report.
    enum Origin: Sendable {
        case folder(String)
        case generated(count: Int, megapixels: Double)
    }

    var images: [Image]
    var origin: Origin
    /// Files in the folder that are not images Calotype accepts (left out).
    var skipped: [String] = []

    var totalMegapixels: Double { images.reduce(0) { $0 + $1.megapixels } }
    var totalBytes: Int { images.reduce(0) { $0 + $1.bytes.count } }

    /// Every image file directly in or below `folder` (hidden files skipped),
    /// sorted by path. Files that are not images in an accepted format are
    /// listed in `skipped`; a folder with no image at all is an error.
    /// Reading blocks, so it runs on NIO's blocking pool.
    static func load(folder: String) async throws -> BenchImages {
        let result = try await NIOThreadPool.singleton.runIfActive { () -> Result<BenchImages, BenchError> in
            let root = URL(fileURLWithPath: folder)
            let keys: [URLResourceKey] = [.isRegularFileKey]
            guard let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: keys, options: [.skipsHiddenFiles]) else {
                return .failure(.noImages(folder: folder, skipped: 0))
            }
            var urls: [URL] = []
            for case let url as URL in enumerator where (try? url.resourceValues(forKeys: Set(keys)))?.isRegularFile == true {
                urls.append(url)
            }
            urls.sort { $0.path < $1.path }
            var images: [Image] = []
            var skipped: [String] = []
            for url in urls {
                guard let data = try? Data(contentsOf: url) else {
                    skipped.append(url.lastPathComponent)
                    continue
                }
                let bytes = [UInt8](data)
                if let size = header(of: bytes, name: url.lastPathComponent) {
                    images.append(Image(name: url.lastPathComponent, bytes: bytes, width: size.width, height: size.height))
                } else {
                    skipped.append(url.lastPathComponent)
                }
            }
            guard !images.isEmpty else { return .failure(.noImages(folder: folder, skipped: skipped.count)) }
            return .success(BenchImages(images: images, origin: .folder(folder), skipped: skipped))
        }
        return try result.get()
    }

    /// `count` photo-like JPEGs (quality 90) of about `megapixels` each, 3:2,
    /// each with its own seed, made with libvips.
    static func generate(count: Int, megapixels: Double) async throws -> BenchImages {
        let width = max(16, Int((megapixels * 1_000_000 * 1.5).squareRoot().rounded()))
        let height = max(16, Int((Double(width) / 1.5).rounded()))
        let result = try await NIOThreadPool.singleton.runIfActive { () -> Result<BenchImages, BenchError> in
            var images: [Image] = []
            for index in 0..<count {
                do {
                    let bytes = try SyntheticImage.photo(width: width, height: height, seed: UInt64(index + 1))
                    images.append(Image(name: String(format: "synthetic-%03d.jpg", index + 1), bytes: bytes, width: width, height: height))
                } catch {
                    return .failure(.generation("\(error)"))
                }
            }
            return .success(BenchImages(images: images, origin: .generated(count: count, megapixels: megapixels)))
        }
        return try result.get()
    }

    /// The image's size from its header, or nil when it is not an image
    /// Calotype accepts. Blocking.
    private static func header(of bytes: [UInt8], name: String) -> (width: Int, height: Int)? {
        let result: Result<(width: Int, height: Int), ProcessingError> = bytes.withUnsafeBytes { buffer in
            Result { () throws(ProcessingError) in
                let source = try LibvipsSource(buffer, name: name, limits: ImageLimits())
                return source.displaySize(autorotate: true)
            }
        }
        return try? result.get()
    }
}
