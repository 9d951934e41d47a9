import CVips
import CalotypeCore
import Foundation
import NIOConcurrencyHelpers

/// libvips, started once per process and configured for serving untrusted
/// images: operation cache off, loaders restricted to an allow-list.
///
/// `vips_init` must run once, before any worker thread uses libvips, and
/// never again; a lazily initialised global gives exactly that.
package struct LibvipsRuntime: Sendable {
    /// The libvips version, e.g. `8.14.1`.
    package let version: String
    /// The formats this build can encode (AVIF depends on libheif's encoders).
    package let writableFormats: Set<OutputFormat>
    /// Whether this libvips needs the fix for its worker threads' racy exit
    /// after an idle spell, and whether it is in force.
    package let idleThreadExitFix: IdleThreadExitFix

    /// The loader classes left open; every other loader is blocked.
    package static let allowedLoaders = [
        "VipsForeignLoadJpeg", "VipsForeignLoadPng", "VipsForeignLoadWebp",
        "VipsForeignLoadNsgif", "VipsForeignLoadTiff", "VipsForeignLoadHeif",
    ]

    /// Whether libvips' warnings (of damaged files it decodes anyway) reach
    /// standard error (`CALOTYPE_VIPS_WARNINGS=1`); off by default. libvips
    /// is one per process, so this is process-wide, and read when it starts:
    /// set it before the first backend.
    package static let warningsShown = NIOLockedValueBox(false)

    /// The process's libvips, or why it could not start.
    package static func shared() throws(ProcessingError) -> LibvipsRuntime {
        try started.get()
    }

    private static let started: Result<LibvipsRuntime, ProcessingError> = {
        guard cv_init("calotype") == 0 else {
            return .failure(ProcessingError(.internal, "libvips failed to start", detail: LibvipsError.take()))
        }
        cv_cache_off()
        if !warningsShown.withLockedValue({ $0 }) {
            cv_silence_warnings()
        }
        // Allow-list the loaders: block the whole class, then reopen the few
        // formats Calotype serves. Subclasses (file, buffer, source) follow.
        vips_operation_block_set("VipsForeignLoad", 1)
        for loader in allowedLoaders {
            vips_operation_block_set(loader, 0)
        }
        let writable = Set(OutputFormat.encoded.filter(encodes))
        _ = LibvipsError.take()
        let version = String(cString: vips_version_string())
        return .success(
            LibvipsRuntime(
                version: version,
                writableFormats: writable,
                idleThreadExitFix: IdleThreadExitFix.current
            )
        )
    }()

    /// Whether this build writes `format`: decided by encoding a tiny
    /// image, as each output is written. Asking which saver lists the
    /// suffix is wrong for AVIF: libvips 8.14's buffer saver lists only
    /// `.heic .heif`, yet writes AVIF with `compression=av1` where libheif
    /// has an AV1 encoder (and a listed saver may lack its encoder).
    private static func encodes(_ format: OutputFormat) -> Bool {
        let (width, height) = (16, 16)
        let pixels = (0..<(width * height * 3)).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let pointer = pixels.withUnsafeBytes {
            vips_image_new_from_memory_copy($0.baseAddress, $0.count, Int32(width), Int32(height), 3, VIPS_FORMAT_UCHAR)
        }
        guard let pointer else { return false }
        let image = VipsImageHandle(owning: pointer)
        var buffer: UnsafeMutableRawPointer?
        var length = 0
        guard cv_write_to_buffer(image.pointer, LibvipsEncoding.saverSuffix(format, quality: 80, strip: true), &buffer, &length) == 0, let buffer
        else {
            return false
        }
        g_free(buffer)
        return length > 0
    }

    /// Sets how many threads libvips uses for one image. Process-wide: a
    /// server running several jobs at once wants 1, so that jobs x threads
    /// matches the cores.
    package func setThreadsPerJob(_ threads: Int) {
        vips_concurrency_set(Int32(max(1, threads)))
    }
}

/// libvips' error buffer: one per process, shared by all threads.
package enum LibvipsError {
    /// Takes (copies and clears) the buffer's text; best-effort detail only,
    /// since another thread may have added to it.
    /// Empties the buffer: each job starts from nothing, so that text left by
    /// an earlier job (a failure taken late, a fallback that was ignored)
    /// never appears in this one's error. Text added by a job running at the
    /// same moment can still mingle: libvips 8.14 has one buffer for the
    /// process, written from its worker threads, so text cannot be traced to
    /// a job.
    package static func clear() {
        vips_error_clear()
    }

    package static func take() -> String? {
        guard let buffer = cv_error_take() else { return nil }
        defer { g_free(buffer) }
        let text = String(cString: buffer).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? nil : text
    }
}
