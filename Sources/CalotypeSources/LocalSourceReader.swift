import CalotypeCore
import Foundation
import NIOPosix

/// Reads `local:///path` sources: `path` is under `root`, and nothing
/// outside it is ever read, not through `..` (refused when the reference
/// is parsed) nor through a symbolic link (the real path must still be
/// under the root's real path).
public struct LocalSourceReader: Sendable {
    public let root: URL
    private let io: NIOThreadPool

    public init(root: URL, io: NIOThreadPool = .singleton) {
        self.root = root
        self.io = io
    }

    /// The file's bytes, refused past `maxBytes` from its size before a
    /// byte of it is read. File I/O runs on `io`, never on the caller's thread.
    public func read(_ path: String, maxBytes: Int) async throws(SourceError) -> [UInt8] {
        let root = self.root
        let outcome: Result<[UInt8], SourceError>
        do {
            outcome = try await io.runIfActive { Self.readBlocking(path, root: root, maxBytes: maxBytes) }
        } catch {
            throw .unreachable("local://\(path) could not be read: the server is stopping")
        }
        return try outcome.get()
    }

    private static func readBlocking(_ path: String, root: URL, maxBytes: Int) -> Result<[UInt8], SourceError> {
        let reference = "local://\(path)"
        let file = root.appendingPathComponent(String(path.drop { $0 == "/" }))
        guard let realRoot = realPath(root.path) else { return .failure(.notFound(reference)) }
        guard let real = realPath(file.path) else { return .failure(.notFound(reference)) }
        guard real.hasPrefix(realRoot.hasSuffix("/") ? realRoot : realRoot + "/") else {
            return .failure(.notAllowed("\(reference) leads outside the local sources' root (CALOTYPE_LOCAL_SOURCES_ROOT)"))
        }
        var status = stat()
        guard stat(real, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else { return .failure(.notFound(reference)) }
        guard Int(status.st_size) <= maxBytes else { return .failure(.tooLarge(reference, limit: maxBytes)) }
        guard let handle = FileHandle(forReadingAtPath: real) else { return .failure(.notFound(reference)) }
        defer { try? handle.close() }
        do {
            let data = try handle.read(upToCount: maxBytes + 1) ?? Data()
            guard data.count <= maxBytes else { return .failure(.tooLarge(reference, limit: maxBytes)) }
            return .success([UInt8](data))
        } catch {
            return .failure(.unreachable("\(reference) could not be read: \(error.localizedDescription)"))
        }
    }

    private static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
