import CVips
import CalotypeCore
import NIOPosix

/// Runs one job's blocking work (libvips, OpenCL) on a pool thread, for
/// every backend alike: the input's bytes stay pinned for the whole job
/// (libvips reads them in place), libvips' per-thread state is released
/// afterwards, and cancelling the calling task trips the job's kill switch.
package enum BlockingJob {
    package static func run(
        on pool: NIOThreadPool,
        input: ImageInput,
        backend: String,
        _ body: @escaping @Sendable (UnsafeRawBufferPointer, KillSwitch) throws(ProcessingError) -> ProcessedImage
    ) async throws(ProcessingError) -> ProcessedImage {
        let killSwitch = KillSwitch()
        let outcome: Result<ProcessedImage, ProcessingError>
        do {
            outcome = try await withTaskCancellationHandler {
                try await pool.runIfActive {
                    defer { vips_thread_shutdown() }
                    LibvipsError.clear()
                    return input.bytes.withUnsafeBytes { buffer in
                        Result { () throws(ProcessingError) in
                            try killSwitch.running { () throws(ProcessingError) in try body(buffer, killSwitch) }
                        }
                    }
                }
            } onCancel: {
                killSwitch.cancel()
            }
        } catch is CancellationError {
            throw KillSwitch.cancelledError
        } catch {
            throw ProcessingError(.backendFault, "the \(backend) worker pool is not running", detail: "\(error)")
        }
        return try outcome.get()
    }
}

extension LibvipsSource {
    /// Sniffs and checks `buffer`, and resolves the format `recipe` writes,
    /// refusing one this libvips build cannot encode before any decoding;
    /// and the frames the output keeps (1 unless an animated GIF or WebP is
    /// written as GIF or WebP), refusing more than the limits allow.
    package static func open(
        _ buffer: UnsafeRawBufferPointer,
        name: String?,
        limits: ImageLimits,
        recipe: Recipe,
        writableFormats: Set<OutputFormat>
    ) throws(ProcessingError) -> (source: LibvipsSource, format: OutputFormat, frames: Int) {
        let label = name.map { "'\($0)'" } ?? "the input"
        // Counted from the block headers before libvips reads them (its GIF
        // loader walks every frame for the header, and calls more than 4,096
        // of them damage rather than too many).
        if recipe.output.mayKeepAnimation, limits.keepsAnimations, let size = ImageSize.sniff(buffer), size.frames > 1 {
            try limits.checkDeclared(width: size.width, height: size.height, frames: size.frames, label: label)
        }
        let source = try LibvipsSource(buffer, name: name, limits: limits, failOn: recipe.failOn)
        let format = recipe.output.resolvedFormat(for: source.format, writable: writableFormats)
        guard writableFormats.contains(format) else {
            throw ProcessingError(.unsupportedFormat, "\(format.rawValue) output is not available in this libvips build")
        }
        let animated = [.gif, .webp].contains(source.format) && format.animates && limits.keepsAnimations
        let frames = animated ? source.pageCount : 1
        if frames > 1 {
            try limits.checkDeclared(width: source.header.width, height: source.header.height, frames: frames, label: label)
        }
        return (source, format, frames)
    }
}
