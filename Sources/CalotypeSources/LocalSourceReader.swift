import CalotypeCore
import Foundation
import NIOPosix

/// Reads `local:///path` sources: `path` is under `root`, and nothing
/// outside it is ever read, not through `..` (refused when the reference
/// is parsed) nor through a symbolic link (the real path must still be
/// under the root's real path). A link is also held to the allow-list by
/// where it leads: `local:///in/link/secret.jpg`, allowed by
/// `local:///in/`, is refused when `in/link` leads to the root's
/// `private/`, which no prefix allows.
public struct LocalSourceReader: Sendable {
    public let root: URL
    /// The prefixes a file's real path (relative to the root) must be under.
    public let allowList: SourceAllowList
    private let io: NIOThreadPool

    /// Threads of their own for local reads (a slow disk must not hold up
    /// the parsing of uploads on NIO's shared pool).
    public static let files: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 2)
        pool.start()
        return pool
    }()

    public init(root: URL, allowList: SourceAllowList, io: NIOThreadPool = LocalSourceReader.files) {
        self.root = root
        self.allowList = allowList
        self.io = io
    }

    /// The file's bytes, refused past `maxBytes` from its size, and its
    /// size booked, before a byte of it is read. File I/O runs on `io`,
    /// never on the caller's thread.
    public func read(_ path: String, maxBytes: Int, booking: any FetchBooking = UnbookedFetch()) async throws(SourceError) -> [UInt8] {
        let root = self.root
        let allowList = self.allowList
        let reference = "local://\(path)"
        let opened = try await onPool(reference) { Self.openBlocking(path, root: root, allowList: allowList, maxBytes: maxBytes) }
        defer { try? opened.handle.close() }
        try await booking.book(atLeast: opened.size)
        return try await onPool(reference) { Self.readBlocking(opened, reference: reference) }
    }

    /// An open file and its size, checked.
    private struct Opened: @unchecked Sendable {  // The handle is used by one step at a time.
        let handle: FileHandle
        let size: Int
    }

    private func onPool<T: Sendable>(_ reference: String, _ work: @escaping @Sendable () -> Result<T, SourceError>) async throws(SourceError) -> T {
        let outcome: Result<T, SourceError>
        do {
            outcome = try await io.runIfActive(work)
        } catch {
            throw .unreachable("\(reference) could not be read: the server is stopping")
        }
        return try outcome.get()
    }

    private static func openBlocking(_ path: String, root: URL, allowList: SourceAllowList, maxBytes: Int) -> Result<Opened, SourceError> {
        let reference = "local://\(path)"
        do {
            try SourceReference.local(path: path).validate()
        } catch {
            return .failure(error)
        }
        let file = root.appendingPathComponent(String(path.drop { $0 == "/" }))
        guard let realRoot = realPath(root.path) else { return .failure(.notFound(reference)) }
        guard let real = realPath(file.path) else { return .failure(.notFound(reference)) }
        let rootFolder = realRoot.hasSuffix("/") ? realRoot : realRoot + "/"
        guard real.hasPrefix(rootFolder) else {
            return .failure(.notAllowed("\(reference) leads outside the local sources' root (CALOTYPE_LOCAL_SOURCES_ROOT)"))
        }
        // Where it really is, as a reference: a link may lead to a part of
        // the root that no prefix allows. (Where is not said: it is the
        // layout of the server's disk.)
        guard allowList.permits(.local(path: "/" + real.dropFirst(rootFolder.count))) else {
            return .failure(.notAllowed("\(reference) leads, through a symbolic link, outside the allowed sources (CALOTYPE_ALLOWED_SOURCES)"))
        }
        // The resolved path, opened without following a link put in its
        // place since it was resolved, and without blocking on a FIFO; what
        // is checked (a regular file, its size) is the open file itself.
        let descriptor = open(real, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else { return .failure(.notFound(reference)) }
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        var status = stat()
        guard fstat(descriptor, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else { return .failure(.notFound(reference)) }
        guard status.st_size >= 0, Int(status.st_size) <= maxBytes else { return .failure(.tooLarge(reference, limit: maxBytes)) }
        return .success(Opened(handle: handle, size: Int(status.st_size)))
    }

    /// Exactly the size that was checked and booked: a file that grew since
    /// is refused rather than read past what was booked.
    private static func readBlocking(_ opened: Opened, reference: String) -> Result<[UInt8], SourceError> {
        do {
            let data = try opened.handle.read(upToCount: opened.size + 1) ?? Data()
            guard data.count == opened.size else {
                return .failure(.unreachable("\(reference) changed while it was read; try again"))
            }
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
