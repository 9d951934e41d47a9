import ArgumentParser
import CalotypeApp
import CalotypeCore
import Foundation

/// The files a `process` run reads and where each result goes.
struct WorkList {
    struct Item: Sendable {
        let input: URL
        /// The output path, without extension when the output is a folder
        /// (the extension follows the format actually written).
        let outputBase: URL
        /// Whether `outputBase` is the exact output file the user named.
        let isExactFile: Bool
        /// Its size in bytes when listed (0 if unknown): what orders the starts.
        let bytes: Int
    }

    let items: [Item]

    init(inputs: [String], output: String) throws {
        let fileManager = FileManager.default
        var files: [(url: URL, relative: String)] = []
        for input in inputs {
            var isDirectory: ObjCBool = false
            guard fileManager.fileExists(atPath: input, isDirectory: &isDirectory) else {
                throw ValidationError("no such file or folder: \(input)")
            }
            let url = URL(fileURLWithPath: input)
            if isDirectory.boolValue {
                files += Self.files(under: url)
            } else {
                files.append((url, url.lastPathComponent))
            }
        }

        var outputIsFolder = true
        if files.count == 1, inputs.count == 1, !output.hasSuffix("/") {
            var isDirectory: ObjCBool = false
            let exists = fileManager.fileExists(atPath: output, isDirectory: &isDirectory)
            outputIsFolder = exists && isDirectory.boolValue
            if Self.isDirectory(inputs[0]) { outputIsFolder = true }
        }

        let outputURL = URL(fileURLWithPath: output)
        items = files.map { file in
            let bytes = (try? file.url.resourceValues(forKeys: [.fileSizeKey]))?.fileSize ?? 0
            if outputIsFolder {
                let base = outputURL.appendingPathComponent(file.relative).deletingPathExtension()
                return Item(input: file.url, outputBase: base, isExactFile: false, bytes: bytes)
            }
            return Item(input: file.url, outputBase: outputURL, isExactFile: true, bytes: bytes)
        }
    }

    private static func isDirectory(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
    }

    /// Regular, non-hidden files below `folder`, and symbolic links there
    /// to regular files (a folder of links to photos elsewhere is a folder
    /// of photos; links to folders are not followed, so no cycle is walked),
    /// sorted, with their paths relative to it.
    private static func files(under folder: URL) -> [(url: URL, relative: String)] {
        let root = folder.standardizedFileURL.path
        guard
            let enumerator = FileManager.default.enumerator(
                at: folder,
                includingPropertiesForKeys: [.isRegularFileKey, .isSymbolicLinkKey],
                options: [.skipsHiddenFiles]
            )
        else { return [] }
        var found: [(URL, String)] = []
        for case let url as URL in enumerator {
            guard isRegularFile(url) else { continue }
            let path = url.standardizedFileURL.path
            let relative = path.hasPrefix(root + "/") ? String(path.dropFirst(root.count + 1)) : url.lastPathComponent
            found.append((url, relative))
        }
        return found.sorted { $0.1 < $1.1 }
    }

    /// A regular file, or a symbolic link to one.
    private static func isRegularFile(_ url: URL) -> Bool {
        guard let values = try? url.resourceValues(forKeys: [.isRegularFileKey, .isSymbolicLinkKey]) else { return false }
        if values.isRegularFile == true { return true }
        guard values.isSymbolicLink == true else { return false }
        return (try? url.resolvingSymlinksInPath().resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true
    }
}
