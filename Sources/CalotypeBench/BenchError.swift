/// Why a benchmark could not run, worded for the person who started it.
/// Usage mistakes (a missing folder, `--rounds 0`) are caught earlier as
/// validation errors; these are the failures found while preparing or running.
package enum BenchError: Error, CustomStringConvertible {
    /// `--images` names a folder with no readable image in it.
    case noImages(folder: String, skipped: Int)
    /// The server at `--url` did not answer.
    case unreachable(url: String, reason: String)
    /// The server answered something other than what the API documents.
    case badResponse(endpoint: String, status: Int, body: String)
    /// Generating the synthetic set failed (libvips could not start or encode).
    case generation(String)
    /// The engine could not start.
    case engine(String)
    /// A mode failed on every image of a round: its figures would be meaningless.
    case everyImageFailed(mode: String, firstError: String)
    /// The report could not be written.
    case cannotWrite(path: String, reason: String)
    /// A report to compare with (`--against`) could not be read.
    case cannotRead(path: String, reason: String)

    package var description: String {
        switch self {
        case .noImages(let folder, let skipped):
            return skipped > 0
                ? "no images in \(folder) (\(skipped == 1 ? "1 file that is not an image" : "\(skipped) files that are not images") in an accepted format)"
                : "no images in \(folder) (the folder is empty)"
        case .unreachable(let url, let reason):
            return "cannot reach the server at \(url): \(reason) (start one with `calotype serve`)"
        case .badResponse(let endpoint, let status, let body):
            return "\(endpoint) answered HTTP \(status): \(body.prefix(300))"
        case .generation(let reason):
            return "generating the synthetic images failed: \(reason)"
        case .engine(let reason):
            return "the engine did not start: \(reason)"
        case .everyImageFailed(let mode, let firstError):
            return "every image failed in mode '\(mode)', e.g. \(firstError)"
        case .cannotWrite(let path, let reason):
            return "cannot write \(path): \(reason)"
        case .cannotRead(let path, let reason):
            return "cannot read the report \(path): \(reason)"
        }
    }
}
